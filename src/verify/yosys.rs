//! The Yosys driver: synthesis for iCE40, Xilinx 7-series or ECP5, with cell statistics, and
//! rejection of designs that infer latches or leave nets undriven (rung 5 of the ladder).
//!
//! ```no_run
//! use qforge::verify::yosys::{synth, SynthOptions, Target};
//! let report = synth(&["rtl/pe.v".into()], "qf_pe", Target::Ice40, &SynthOptions::default())?;
//! println!("{} LUT4, {} FF, {} carry", report.luts, report.ffs, report.carries);
//! # Ok::<(), qforge::verify::Error>(())
//! ```

use super::error::{Error, Result};
use super::tools::{locate, run, Tool};
use super::verilator::{tail, ScratchDir};
use crate::hdl::{Port, Ty};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// The FPGA family to synthesize for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// Lattice iCE40 (`synth_ice40`): SB_LUT4, SB_CARRY; no DSPs (HX parts have none).
    Ice40,
    /// Xilinx 7-series (`synth_xilinx`): LUT1..LUT6, CARRY4, DSP48E1.
    Xilinx,
    /// Lattice ECP5 (`synth_ecp5`): LUT4, CCU2C, MULT18X18D.
    Ecp5,
}

impl Target {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Target::Ice40 => "ice40",
            Target::Xilinx => "xilinx",
            Target::Ecp5 => "ecp5",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Target {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ice40" => Ok(Target::Ice40),
            "xilinx" => Ok(Target::Xilinx),
            "ecp5" => Ok(Target::Ecp5),
            _ => Err(Error::Invalid(format!(
                "target ({s}) must be one of ice40, xilinx, ecp5"
            ))),
        }
    }
}

/// Synthesis choices.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    /// Keep multipliers out of DSP blocks (`-nodsp`; Xilinx and ECP5; iCE40 never uses DSPs here).
    pub nodsp: bool,
    /// Flatten the hierarchy (Xilinx needs `-flatten`; iCE40 and ECP5 flatten unless this is
    /// off, which passes `-noflatten`).
    pub flatten: bool,
    /// Also write the synthesized netlist as JSON (the input of nextpnr) to this file.
    pub netlist_json: Option<PathBuf>,
    /// Time limit; large designs take minutes, a hang is stopped.
    pub timeout: Duration,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            nodsp: false,
            flatten: true,
            netlist_json: None,
            timeout: Duration::from_secs(3600),
        }
    }
}

/// Cell counts after synthesis.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthReport {
    /// The family synthesized for.
    pub target: Target,
    /// Logic LUTs: SB_LUT4 (iCE40), LUT1..LUT6 (Xilinx), LUT4 (ECP5). ECP5 carry cells (CCU2C)
    /// hold two LUT4s each and are counted in `carries` only.
    pub luts: u64,
    /// Flip-flops of every kind of the family.
    pub ffs: u64,
    /// Carry cells: SB_CARRY, CARRY4/CARRY8, CCU2C.
    pub carries: u64,
    /// DSP blocks: SB_MAC16, DSP48E1/E2, MULT18X18D/MULT9X9D/ALU54B.
    pub dsps: u64,
    /// Block RAMs: SB_RAM40_4K, RAMB18/RAMB36, DP16KD/PDPW16KD.
    pub brams: u64,
    /// Every cell type and its count, as `stat` gave it.
    pub cells: BTreeMap<String, u64>,
    /// Wall-clock synthesis time.
    pub seconds: f64,
}

/// Which counter a cell type adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Lut,
    Ff,
    Carry,
    Dsp,
    Bram,
    Latch,
    Other,
}

fn classify(target: Target, cell: &str) -> Class {
    let upper = cell.to_ascii_uppercase();
    if upper.contains("LATCH") || cell.starts_with("LDCE") || cell.starts_with("LDPE") {
        return Class::Latch;
    }
    match target {
        Target::Ice40 => match cell {
            "SB_LUT4" => Class::Lut,
            "SB_CARRY" => Class::Carry,
            "SB_MAC16" => Class::Dsp,
            c if c.starts_with("SB_DFF") => Class::Ff,
            c if c.starts_with("SB_RAM40_4K") || c == "SB_SPRAM256KA" => Class::Bram,
            _ => Class::Other,
        },
        Target::Xilinx => match cell {
            "LUT1" | "LUT2" | "LUT3" | "LUT4" | "LUT5" | "LUT6" | "LUT6_2" => Class::Lut,
            "CARRY4" | "CARRY8" => Class::Carry,
            c if c.starts_with("FDRE") || c.starts_with("FDSE") => Class::Ff,
            c if c.starts_with("FDCE") || c.starts_with("FDPE") => Class::Ff,
            c if c.starts_with("DSP48") => Class::Dsp,
            c if c.starts_with("RAMB18") || c.starts_with("RAMB36") => Class::Bram,
            _ => Class::Other,
        },
        Target::Ecp5 => match cell {
            "LUT4" => Class::Lut,
            "TRELLIS_FF" => Class::Ff,
            "CCU2C" => Class::Carry,
            "MULT18X18D" | "MULT9X9D" | "ALU54B" | "ALU24B" => Class::Dsp,
            "DP16KD" | "PDPW16KD" => Class::Bram,
            _ => Class::Other,
        },
    }
}

impl SynthReport {
    fn from_cells(target: Target, cells: BTreeMap<String, u64>, seconds: f64) -> Self {
        let mut r = SynthReport {
            target,
            luts: 0,
            ffs: 0,
            carries: 0,
            dsps: 0,
            brams: 0,
            cells,
            seconds,
        };
        for (cell, &n) in &r.cells {
            match classify(target, cell) {
                Class::Lut => r.luts += n,
                Class::Ff => r.ffs += n,
                Class::Carry => r.carries += n,
                Class::Dsp => r.dsps += n,
                Class::Bram => r.brams += n,
                Class::Latch | Class::Other => {}
            }
        }
        r
    }
}

/// The script lines reading every file of `sources` (`read_verilog -sv "<absolute path>"`).
pub(super) fn read_sources<'a>(sources: impl IntoIterator<Item = &'a PathBuf>) -> Result<String> {
    let mut script = String::new();
    for s in sources {
        script += &format!("read_verilog -sv {}\n", quote(s)?);
    }
    Ok(script)
}

fn quote(path: &Path) -> Result<String> {
    let text = std::path::absolute(path)
        .map_err(|e| Error::io(path, e))?
        .to_string_lossy()
        .into_owned();
    if text.contains('"') || text.contains('\n') {
        return Err(Error::Invalid(format!(
            "path {text} must not contain quotes or newlines"
        )));
    }
    Ok(format!("\"{text}\""))
}

/// Synthesizes `top` from `sources` for `target` and returns its cell counts. Fails with
/// [`Error::Latch`] when a latch is inferred and [`Error::Undriven`] when a net has no driver.
pub fn synth(
    sources: &[PathBuf],
    top: &str,
    target: Target,
    options: &SynthOptions,
) -> Result<SynthReport> {
    check_top(top)?;
    let yosys = locate(Tool::Yosys)?;
    let dir = ScratchDir::new("synth")?;
    let rtl_check = dir.path.join("check_rtl.txt");
    let net_check = dir.path.join("check_netlist.txt");
    let stat = dir.path.join("stat.json");
    let log = dir.path.join("yosys.log");

    let mut script = read_sources(sources)?;
    script += &format!("hierarchy -check -top {top}\nproc\n");
    // `tee -o` takes its file name literally (quotes included), so the outputs are named
    // relative to the scratch folder Yosys runs in.
    script += "tee -q -o check_rtl.txt check\n";
    let mut synth = match target {
        Target::Ice40 => format!("synth_ice40 -top {top}"),
        Target::Xilinx => format!("synth_xilinx -top {top}"),
        Target::Ecp5 => format!("synth_ecp5 -top {top}"),
    };
    match target {
        Target::Xilinx if options.flatten => synth += " -flatten",
        Target::Ice40 | Target::Ecp5 if !options.flatten => synth += " -noflatten",
        _ => {}
    }
    if options.nodsp && target != Target::Ice40 {
        synth += " -nodsp";
    }
    script += &synth;
    script += "\n";
    script += "tee -q -o check_netlist.txt check\ntee -q -o stat.json stat -json\n";
    if options.netlist_json.is_some() {
        script += "write_json netlist.json\n";
    }
    let script_path = dir.path.join("synth.ys");
    std::fs::write(&script_path, &script).map_err(|e| Error::io(&script_path, e))?;

    let (log_text, out) = run_script(&yosys, &dir.path, &script_path, &log, options.timeout)?;

    let latches: Vec<String> = log_text
        .lines()
        .filter_map(|l| l.strip_prefix("Latch inferred for signal "))
        .map(|l| l.split(" from ").next().unwrap_or(l).to_string())
        .collect();
    if !latches.is_empty() {
        return Err(Error::Latch(latches.join(", ")));
    }
    for check in [&rtl_check, &net_check] {
        let text = std::fs::read_to_string(check).map_err(|e| Error::io(check, e))?;
        check_problems(&text)?;
    }

    let stat_text = std::fs::read_to_string(&stat).map_err(|e| Error::io(&stat, e))?;
    let cells = parse_stat(&stat_text, top).map_err(|message| Error::ToolFailed {
        tool: Tool::Yosys.name(),
        message: format!("cannot read `stat -json`: {message}"),
    })?;
    let latch_cells: Vec<String> = cells
        .iter()
        .filter(|(c, _)| classify(target, c) == Class::Latch)
        .map(|(c, n)| format!("{n} x {c}"))
        .collect();
    if !latch_cells.is_empty() {
        return Err(Error::Latch(latch_cells.join(", ")));
    }
    if let Some(json) = &options.netlist_json {
        let made = dir.path.join("netlist.json");
        std::fs::copy(&made, json).map_err(|e| Error::io(json, e))?;
    }
    Ok(SynthReport::from_cells(target, cells, out.seconds))
}

pub(super) fn check_top(top: &str) -> Result<()> {
    if top.is_empty()
        || !top
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    {
        return Err(Error::Invalid(format!(
            "top ({top}) must be a plain Verilog identifier"
        )));
    }
    Ok(())
}

/// The ports of `top` (names, directions, widths, signedness) as Yosys elaborates them from
/// `sources`, sorted by name. Read from the design itself, so this works for hand-written
/// Verilog as well as for generated modules. An `inout` port is [`Error::Invalid`]: the
/// generators never make one and a timing harness could not drive it.
pub fn ports(sources: &[PathBuf], top: &str) -> Result<Vec<Port>> {
    check_top(top)?;
    let yosys = locate(Tool::Yosys)?;
    let dir = ScratchDir::new("ports")?;
    let log = dir.path.join("yosys.log");
    let mut script = read_sources(sources)?;
    // `proc` because the JSON back end refuses processes; nothing is optimised, so every
    // port is kept even when nothing reads it.
    script += &format!("hierarchy -check -top {top}\nproc\nwrite_json ports.json\n");
    let script_path = dir.path.join("ports.ys");
    std::fs::write(&script_path, &script).map_err(|e| Error::io(&script_path, e))?;
    run_script(
        &yosys,
        &dir.path,
        &script_path,
        &log,
        Duration::from_secs(600),
    )?;
    let json = dir.path.join("ports.json");
    let text = std::fs::read_to_string(&json).map_err(|e| Error::io(&json, e))?;
    parse_ports(&text, top)
}

/// Reads the ports of `top` from Yosys `write_json` output.
fn parse_ports(text: &str, top: &str) -> Result<Vec<Port>> {
    let bad = |message: String| Error::ToolFailed {
        tool: Tool::Yosys.name(),
        message: format!("cannot read the ports from `write_json`: {message}"),
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let ports = value
        .get("modules")
        .and_then(|m| m.get(top))
        .and_then(|m| m.get("ports"))
        .and_then(|p| p.as_object())
        .ok_or_else(|| bad(format!("no module {top} with ports")))?;
    let mut out = Vec::new();
    for (name, port) in ports {
        let width = port
            .get("bits")
            .and_then(|b| b.as_array())
            .map(|b| b.len())
            .ok_or_else(|| bad(format!("port {name} has no bits")))?;
        let width = u32::try_from(width)
            .ok()
            .filter(|&w| w >= 1)
            .ok_or_else(|| bad(format!("port {name} has {width} bits")))?;
        let signed = port.get("signed").and_then(|s| s.as_u64()) == Some(1);
        let ty = if signed {
            Ty::signed(width)
        } else {
            Ty::unsigned(width)
        };
        match port.get("direction").and_then(|d| d.as_str()) {
            Some("input") => out.push(Port::input(name, ty)),
            Some("output") => out.push(Port::output(name, ty)),
            Some(other) => {
                return Err(Error::Invalid(format!(
                    "port {name} of {top} is {other}: only input and output ports are supported"
                )))
            }
            None => return Err(bad(format!("port {name} has no direction"))),
        }
    }
    Ok(out)
}

/// Turns the problems Yosys `check` reports into errors.
fn check_problems(text: &str) -> Result<()> {
    let warnings: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Warning:"))
        .collect();
    if warnings.is_empty() {
        return Ok(());
    }
    let undriven: Vec<&str> = warnings
        .iter()
        .copied()
        .filter(|w| w.contains("no driver"))
        .collect();
    let shown = |list: &[&str]| {
        let mut s = list
            .iter()
            .take(4)
            .map(|w| w.trim_start_matches("Warning: "))
            .collect::<Vec<_>>()
            .join("; ");
        if list.len() > 4 {
            s += &format!("; and {} more", list.len() - 4);
        }
        s
    };
    if !undriven.is_empty() {
        return Err(Error::Undriven(shown(&undriven)));
    }
    Err(Error::ToolFailed {
        tool: Tool::Yosys.name(),
        message: format!("check found problems: {}", shown(&warnings)),
    })
}

/// Reads the cell counts of `top` from Yosys `stat -json`.
fn parse_stat(text: &str, top: &str) -> std::result::Result<BTreeMap<String, u64>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let module = value
        .get("modules")
        .and_then(|m| m.get(format!("\\{top}")).or_else(|| m.get(top)))
        .or_else(|| value.get("design"))
        .ok_or("no statistics for the top module")?;
    let by_type = module
        .get("num_cells_by_type")
        .and_then(|c| c.as_object())
        .ok_or("no num_cells_by_type")?;
    by_type
        .iter()
        .map(|(k, v)| {
            v.as_u64()
                .map(|n| (k.trim_start_matches('\\').to_string(), n))
                .ok_or_else(|| format!("count of {k} is not a number"))
        })
        .collect()
}

/// Runs a Yosys script in `dir`, logging to `log`, and returns the log's text with the run's
/// output. A failed run is a
/// [`Error::ToolFailed`] carrying Yosys's first `ERROR` lines (or the tail of its output).
pub(super) fn run_script(
    yosys: &super::tools::ToolPath,
    dir: &Path,
    script: &Path,
    log: &Path,
    timeout: Duration,
) -> Result<(String, super::tools::Output)> {
    let mut cmd = yosys.command();
    cmd.current_dir(dir)
        .arg("-q")
        .arg("-l")
        .arg(log)
        .arg("-s")
        .arg(script);
    let out = run(Tool::Yosys, cmd, timeout)?;
    let log_text = std::fs::read_to_string(log).unwrap_or_default();
    if !out.success {
        let errors: Vec<&str> = log_text
            .lines()
            .chain(out.stderr.lines())
            .filter(|l| l.starts_with("ERROR"))
            .take(3)
            .collect();
        return Err(Error::ToolFailed {
            tool: Tool::Yosys.name(),
            message: if errors.is_empty() {
                tail(&format!("{}{}", out.stdout, out.stderr))
            } else {
                errors.join(" | ")
            },
        });
    }
    Ok((log_text, out))
}

#[cfg(test)]
mod tests {
    use super::parse_ports;
    use crate::hdl::{Port, Ty};

    #[test]
    fn ports_are_read_with_widths_and_signedness() {
        let json = r#"{"modules": {"t": {"ports": {
            "a": {"direction": "input", "bits": [2, 3, 4]},
            "clk": {"direction": "input", "bits": [5]},
            "y": {"direction": "output", "signed": 1, "bits": [6, 7]}}}}}"#;
        assert_eq!(
            parse_ports(json, "t").unwrap(),
            vec![
                Port::input("a", Ty::unsigned(3)),
                Port::input("clk", Ty::bit()),
                Port::output("y", Ty::signed(2)),
            ]
        );
        let inout = r#"{"modules": {"t": {"ports": {"p": {"direction": "inout", "bits": [2]}}}}}"#;
        assert!(parse_ports(inout, "t")
            .unwrap_err()
            .to_string()
            .contains("inout"));
        assert!(parse_ports(json, "other").is_err());
    }
}
