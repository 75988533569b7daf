//! Result rows and their two files: `results.csv` and `results.json`.
//!
//! `results.json` is **JSON Lines**: one JSON object per line, one line per point (a
//! [`ResultRow`]: `index`, `id`, `label`, `config` with the axis values, and `outcome`, either
//! `{"done": {metrics}}` or `{"skipped": "reason"}`). Both files grow a line at a time while a
//! sweep runs, so an interrupted sweep leaves every finished point on disk (a torn last line is
//! ignored when resuming); when the sweep ends both are rewritten atomically in grid order.
//!
//! `results.csv` has a header line and the columns [`CSV_COLUMNS`]; metric cells are empty for
//! skipped points. `layer_overrides` reads `L0:W8A8 L2:W2`; `layer_areas` holds the per-layer
//! breakdown as `name:luts/ffs/carries/dsps/bram_bits` entries joined by `;`. Plots are drawn
//! from this file alone ([`read_csv`]).
//!
//! ```
//! use qforge::explore::results::{csv_line, parse_csv_line};
//! let line = csv_line(&["a", "b,c", "say \"hi\""]);
//! assert_eq!(line, "a,\"b,c\",\"say \"\"hi\"\"\"");
//! assert_eq!(parse_csv_line(&line).unwrap(), vec!["a", "b,c", "say \"hi\""]);
//! ```

use crate::explore::error::{ExploreError, Result};
use crate::explore::evaluator::{AreaSource, LayerArea, Metrics, Outcome};
use crate::explore::grid::{Point, PointConfig};
use crate::explore::sweep_file::WeightFamily;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The columns of `results.csv`, in order.
pub const CSV_COLUMNS: [&str; 28] = [
    "index",
    "id",
    "label",
    "status",
    "skip_reason",
    "weight_scheme",
    "weight_bits",
    "activation_bits",
    "layer_overrides",
    "training",
    "calibration",
    "scale_bits",
    "bias_bits",
    "accumulator",
    "folding",
    "fpga",
    "accuracy",
    "weight_memory_bits",
    "cycles_per_image",
    "throughput_images_per_s",
    "clock_mhz",
    "luts",
    "ffs",
    "carries",
    "dsps",
    "bram_bits",
    "area_source",
    "layer_areas",
];

/// File name of the CSV results.
pub const CSV_FILE: &str = "results.csv";
/// File name of the JSON Lines results.
pub const JSON_FILE: &str = "results.json";

/// One evaluated point: the point and its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    /// Grid index.
    pub index: usize,
    /// Stable point id.
    pub id: String,
    /// Readable label.
    pub label: String,
    /// Axis values.
    pub config: PointConfig,
    /// Metrics or the reason the point was skipped.
    pub outcome: Outcome,
}

impl ResultRow {
    /// Pairs a point with its outcome.
    pub fn new(point: &Point, outcome: Outcome) -> ResultRow {
        ResultRow {
            index: point.index,
            id: point.id.clone(),
            label: point.label.clone(),
            config: point.config.clone(),
            outcome,
        }
    }

    /// The CSV cells, in [`CSV_COLUMNS`] order.
    pub fn csv_cells(&self) -> Vec<String> {
        let c = &self.config;
        let mut cells = vec![self.index.to_string(), self.id.clone(), self.label.clone()];
        match &self.outcome {
            Outcome::Done(_) => cells.extend(["ok".to_string(), String::new()]),
            // One CSV record per line: a reason with line breaks is flattened here (the JSON
            // keeps it as given).
            Outcome::Skipped(reason) => cells.extend([
                "skipped".to_string(),
                reason.to_string().replace(['\r', '\n'], " "),
            ]),
        }
        cells.extend([
            c.weight_scheme.name().to_string(),
            c.weight_bits.to_string(),
            c.activation_bits.to_string(),
            c.overrides_text(),
            c.training.to_string(),
            c.calibration.name().to_string(),
            c.scale_bits.to_string(),
            c.bias_bits.map_or(String::new(), |b| b.to_string()),
            c.accumulator.to_string(),
            c.folding.to_string(),
            c.fpga.name().to_string(),
        ]);
        match &self.outcome {
            Outcome::Done(m) => cells.extend([
                m.accuracy.to_string(),
                m.weight_memory_bits.to_string(),
                m.cycles_per_image.to_string(),
                m.throughput_images_per_s.to_string(),
                m.clock_mhz.to_string(),
                m.luts.to_string(),
                m.ffs.to_string(),
                m.carries.to_string(),
                m.dsps.to_string(),
                m.bram_bits.to_string(),
                m.area_source.name().to_string(),
                layers_cell(&m.layers),
            ]),
            Outcome::Skipped(_) => cells.extend(std::iter::repeat_n(String::new(), 12)),
        }
        cells
    }

    /// The JSON Lines line (without the newline).
    pub fn json_line(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn layers_cell(layers: &[LayerArea]) -> String {
    let parts: Vec<String> = layers
        .iter()
        .map(|l| {
            format!(
                "{}:{}/{}/{}/{}/{}",
                // `;` separates entries; the counts follow the last `:`, so only `;` is replaced.
                l.name.replace(';', "_"),
                l.luts,
                l.ffs,
                l.carries,
                l.dsps,
                l.bram_bits
            )
        })
        .collect();
    parts.join(";")
}

fn parse_layers_cell(cell: &str) -> std::result::Result<Vec<LayerArea>, String> {
    if cell.is_empty() {
        return Ok(Vec::new());
    }
    cell.split(';')
        .map(|entry| {
            let (name, nums) = entry
                .rsplit_once(':')
                .ok_or_else(|| format!("layer entry `{entry}` is not name:l/f/c/d/b"))?;
            let n: Vec<u64> = nums
                .split('/')
                .map(|x| x.parse::<u64>())
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| format!("layer entry `{entry}` has a non-integer count"))?;
            if n.len() != 5 {
                return Err(format!("layer entry `{entry}` needs 5 counts"));
            }
            Ok(LayerArea {
                name: name.to_string(),
                luts: n[0],
                ffs: n[1],
                carries: n[2],
                dsps: n[3],
                bram_bits: n[4],
            })
        })
        .collect()
}

/// Joins cells into one CSV line (RFC 4180 quoting: cells with `,`, `"`, or a line break are
/// quoted, quotes doubled). [`ResultRow::csv_cells`] never holds a line break, so every record
/// is one line.
pub fn csv_line<S: AsRef<str>>(cells: &[S]) -> String {
    let quoted: Vec<String> = cells
        .iter()
        .map(|c| {
            let c = c.as_ref();
            if c.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c.to_string()
            }
        })
        .collect();
    quoted.join(",")
}

/// Splits one CSV line written by [`csv_line`] into cells.
pub fn parse_csv_line(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(ch) = chars.next() {
        if quoted {
            if ch == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cell.push('"');
                } else {
                    quoted = false;
                    if !matches!(chars.peek(), None | Some(',')) {
                        return Err("text after a closing quote".into());
                    }
                }
            } else {
                cell.push(ch);
            }
        } else if ch == ',' {
            cells.push(std::mem::take(&mut cell));
            at_start = true;
            continue;
        } else if ch == '"' && at_start {
            quoted = true;
        } else if ch == '"' {
            return Err("a quote inside an unquoted cell".into());
        } else {
            cell.push(ch);
        }
        at_start = false;
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    cells.push(cell);
    Ok(cells)
}

/// The CSV text of rows (header included), rows in the order given.
pub fn csv_text(rows: &[ResultRow]) -> String {
    let mut text = csv_line(&CSV_COLUMNS);
    text.push('\n');
    for row in rows {
        text.push_str(&csv_line(&row.csv_cells()));
        text.push('\n');
    }
    text
}

/// The JSON Lines text of rows.
pub fn json_text(rows: &[ResultRow]) -> String {
    rows.iter().map(|r| r.json_line() + "\n").collect()
}

/// Writes a file atomically ([`crate::outdir::write_file`]: a flushed temp file in the same
/// folder renamed over the path; a folder, symbolic link or device at the path is refused).
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    crate::outdir::write_file(path, contents).map_err(|e| ExploreError::io(path, e))
}

/// Rewrites `dir/results.csv` and `dir/results.json` atomically from rows sorted by grid index.
pub fn write_results(dir: &Path, rows: &mut [ResultRow]) -> Result<()> {
    rows.sort_by_key(|r| r.index);
    write_atomic(&dir.join(CSV_FILE), csv_text(rows).as_bytes())?;
    write_atomic(&dir.join(JSON_FILE), json_text(rows).as_bytes())
}

/// Reads `dir/results.json`. A missing file is no rows. A last line that does not parse (a write
/// cut short by an interruption) is dropped; a bad line anywhere else is an error.
pub fn read_json(dir: &Path) -> Result<Vec<ResultRow>> {
    let path = dir.join(JSON_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ExploreError::io(&path, e)),
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut rows = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<ResultRow>(line) {
            Ok(row) => rows.push(row),
            Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => {}
            Err(e) => {
                return Err(ExploreError::Results {
                    path,
                    line: i + 1,
                    message: e.to_string(),
                })
            }
        }
    }
    Ok(rows)
}

/// Appends rows to both results files as points finish, flushing each line.
pub struct ResultsAppender {
    dir: PathBuf,
    csv: File,
    json: File,
}

impl ResultsAppender {
    /// Rewrites both files with `kept` rows (sorted), then opens them for appending.
    pub fn start(dir: &Path, kept: &mut [ResultRow]) -> Result<ResultsAppender> {
        write_results(dir, kept)?;
        let open = |name: &str| {
            let path = dir.join(name);
            OpenOptions::new()
                .append(true)
                .open(&path)
                .map_err(|e| ExploreError::io(path, e))
        };
        Ok(ResultsAppender {
            dir: dir.to_path_buf(),
            csv: open(CSV_FILE)?,
            json: open(JSON_FILE)?,
        })
    }

    /// Appends one row to both files.
    pub fn append(&mut self, row: &ResultRow) -> Result<()> {
        let csv = csv_line(&row.csv_cells()) + "\n";
        self.csv
            .write_all(csv.as_bytes())
            .and_then(|_| self.csv.flush())
            .map_err(|e| ExploreError::io(self.dir.join(CSV_FILE), e))?;
        let json = row.json_line() + "\n";
        self.json
            .write_all(json.as_bytes())
            .and_then(|_| self.json.flush())
            .map_err(|e| ExploreError::io(self.dir.join(JSON_FILE), e))
    }
}

/// A row of `results.csv` as plots read it.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvRecord {
    /// Grid index.
    pub index: usize,
    /// Point id.
    pub id: String,
    /// Point label.
    pub label: String,
    /// Weight scheme.
    pub weight_scheme: WeightFamily,
    /// Global weight width.
    pub weight_bits: u32,
    /// Global activation width.
    pub activation_bits: u32,
    /// How the network was obtained: `ptq` or `qat(..)` as the sweep file writes it.
    pub training: String,
    /// FPGA family name.
    pub fpga: String,
    /// Width of the stored biases (`None`: every bit, also for files before the column).
    pub bias_bits: Option<u32>,
    /// Whether some layer has its own weight width (mixed precision).
    pub mixed_weights: bool,
    /// The reason, for a skipped point.
    pub skip_reason: Option<String>,
    /// The metrics, for an evaluated point.
    pub metrics: Option<Metrics>,
}

/// Reads a `results.csv` written by this module (columns checked by name). A file written
/// before the `bias_bits` column existed reads as full-width biases, and one written before
/// the `training` column too as `ptq` rows.
pub fn read_csv(path: &Path) -> Result<Vec<CsvRecord>> {
    let text = std::fs::read_to_string(path).map_err(|e| ExploreError::io(path, e))?;
    let err = |line: usize, message: String| ExploreError::Results {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut lines = text.lines().enumerate();
    let header = match lines.next() {
        Some((_, h)) => parse_csv_line(h).map_err(|m| err(1, m))?,
        None => return Err(err(0, "empty file: expected a header line".into())),
    };
    let without = |missing: &[&str]| -> Vec<&str> {
        CSV_COLUMNS
            .iter()
            .copied()
            .filter(|c| !missing.contains(c))
            .collect()
    };
    if header != CSV_COLUMNS
        && header != without(&["bias_bits"])
        && header != without(&["training", "bias_bits"])
    {
        return Err(err(1, format!("header is not `{}`", CSV_COLUMNS.join(","))));
    }
    let mut records = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        if line.is_empty() {
            continue;
        }
        let cells = parse_csv_line(line).map_err(|m| err(n, m))?;
        if cells.len() != header.len() {
            return Err(err(
                n,
                format!("{} cells, expected {}", cells.len(), header.len()),
            ));
        }
        let cell = |name: &str| -> &str {
            header
                .iter()
                .position(|c| *c == name)
                .map_or("ptq", |k| &cells[k])
        };
        let int = |name: &str| -> Result<u64> {
            cell(name)
                .parse::<u64>()
                .map_err(|_| err(n, format!("{name} `{}` is not an integer", cell(name))))
        };
        let float = |name: &str| -> Result<f64> {
            cell(name)
                .parse::<f64>()
                .map_err(|_| err(n, format!("{name} `{}` is not a number", cell(name))))
        };
        let weight_scheme = WeightFamily::from_name(cell("weight_scheme")).ok_or_else(|| {
            err(
                n,
                format!("unknown weight_scheme `{}`", cell("weight_scheme")),
            )
        })?;
        let (skip_reason, metrics) = match cell("status") {
            "skipped" => (Some(cell("skip_reason").to_string()), None),
            "ok" => {
                let area_source = AreaSource::from_name(cell("area_source")).ok_or_else(|| {
                    err(n, format!("unknown area_source `{}`", cell("area_source")))
                })?;
                let layers = parse_layers_cell(cell("layer_areas")).map_err(|m| err(n, m))?;
                let metrics = Metrics {
                    accuracy: float("accuracy")?,
                    weight_memory_bits: int("weight_memory_bits")?,
                    cycles_per_image: int("cycles_per_image")?,
                    throughput_images_per_s: float("throughput_images_per_s")?,
                    clock_mhz: float("clock_mhz")?,
                    luts: int("luts")?,
                    ffs: int("ffs")?,
                    carries: int("carries")?,
                    dsps: int("dsps")?,
                    bram_bits: int("bram_bits")?,
                    area_source,
                    layers,
                };
                (None, Some(metrics))
            }
            other => {
                return Err(err(
                    n,
                    format!("status `{other}` is neither ok nor skipped"),
                ))
            }
        };
        records.push(CsvRecord {
            index: int("index")? as usize,
            id: cell("id").to_string(),
            label: cell("label").to_string(),
            weight_scheme,
            weight_bits: int("weight_bits")? as u32,
            activation_bits: int("activation_bits")? as u32,
            training: cell("training").to_string(),
            bias_bits: match header.iter().position(|c| c == "bias_bits") {
                Some(k) if !cells[k].is_empty() => {
                    Some(cells[k].parse::<u32>().map_err(|_| {
                        err(n, format!("bias_bits `{}` is not an integer", cells[k]))
                    })?)
                }
                _ => None,
            },
            fpga: cell("fpga").to_string(),
            mixed_weights: cell("layer_overrides").contains('W'),
            skip_reason,
            metrics,
        });
    }
    Ok(records)
}
