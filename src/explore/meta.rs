//! `meta.json`: what produced a results folder; `timing.json`: how long its last run took.
//!
//! `meta.json` records the qforge version, the git revision of the source (from the
//! `QFORGE_GIT_REVISION` variable at build time, else `git rev-parse HEAD` run in the source
//! folder at run time, else `null`), the tool versions the evaluator reports, the sweep's name,
//! file and hash, the shard, and how many points are done. It holds nothing measured, so a
//! resumed or merged sweep writes the `meta.json` an uninterrupted one writes.
//!
//! The measured figures of the last run (wall time, points evaluated, points per second) and, for
//! a merge, the folders it joined go to [`TIMING_FILE`] ([`Timing`]): the one file of a sweep
//! folder that differs between identical runs.
//!
//! ```
//! use qforge::explore::meta::Meta;
//! let meta = Meta::new("demo", "sweep.ron", "0123456789abcdef", 12);
//! assert_eq!(meta.qforge_version, qforge::VERSION);
//! assert!(!meta.complete);
//! ```

use crate::explore::error::{ExploreError, Result};
use crate::explore::grid::Shard;
use crate::explore::results::write_atomic;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// File name of the metadata.
pub const META_FILE: &str = "meta.json";

/// The contents of `meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// [`crate::VERSION`].
    pub qforge_version: String,
    /// Git revision of the source, when known.
    pub git_revision: Option<String>,
    /// Tool name → version, as the evaluator reports them.
    pub tool_versions: BTreeMap<String, String>,
    /// The sweep's name.
    pub sweep_name: String,
    /// The sweep file as given on the command line.
    pub sweep_file: String,
    /// The grid hash ([`crate::explore::grid::Grid::hash`]).
    pub sweep_hash: String,
    /// Points in the whole grid.
    pub points_total: usize,
    /// The shard this folder holds (`None`: the whole grid, or a merge).
    pub shard: Option<Shard>,
    /// Rows in the results files.
    pub points_done: usize,
    /// Of those, skipped points.
    pub points_skipped: usize,
    /// Whether every point of the shard (or grid) has a row.
    pub complete: bool,
}

impl Meta {
    /// Metadata of a run that has not done anything yet.
    pub fn new(sweep_name: &str, sweep_file: &str, sweep_hash: &str, points_total: usize) -> Meta {
        Meta {
            qforge_version: crate::VERSION.to_string(),
            git_revision: git_revision(),
            tool_versions: BTreeMap::new(),
            sweep_name: sweep_name.to_string(),
            sweep_file: sweep_file.to_string(),
            sweep_hash: sweep_hash.to_string(),
            points_total,
            shard: None,
            points_done: 0,
            points_skipped: 0,
            complete: false,
        }
    }

    /// Writes `dir/meta.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).unwrap_or_default() + "\n";
        write_atomic(&dir.join(META_FILE), text.as_bytes())
    }

    /// Reads `dir/meta.json`; `Ok(None)` when there is none.
    pub fn read(dir: &Path) -> Result<Option<Meta>> {
        read_json_file(&dir.join(META_FILE))
    }
}

/// File name of the measured figures of a sweep folder (the name design folders use too).
pub const TIMING_FILE: &str = crate::flow::TIMING_FILE;

/// The contents of [`TIMING_FILE`]: how the run that last wrote the folder went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Wall time of the run, in seconds (a merge: summed over the folders it joined).
    pub wall_time_s: f64,
    /// Points the run evaluated (a merge: summed over the folders it joined).
    pub points_evaluated: usize,
    /// `points_evaluated / wall_time_s`.
    pub points_per_s: f64,
    /// The folders a merge joined, as given (empty unless merged).
    pub merged_from: Vec<String>,
}

impl Timing {
    /// The figures of a run that evaluated `points_evaluated` points in `wall_time_s` seconds.
    pub fn new(wall_time_s: f64, points_evaluated: usize) -> Timing {
        Timing {
            wall_time_s,
            points_evaluated,
            points_per_s: points_evaluated as f64 / wall_time_s.max(1e-9),
            merged_from: Vec::new(),
        }
    }

    /// Writes `dir/timing.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).unwrap_or_default() + "\n";
        write_atomic(&dir.join(TIMING_FILE), text.as_bytes())
    }

    /// Reads `dir/timing.json`; `Ok(None)` when there is none (a folder whose first run was
    /// interrupted, or one written before the figures moved out of `meta.json`).
    pub fn read(dir: &Path) -> Result<Option<Timing>> {
        read_json_file(&dir.join(TIMING_FILE))
    }
}

fn read_json_file<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| ExploreError::Results {
                path: path.to_path_buf(),
                line: e.line(),
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ExploreError::io(path, e)),
    }
}

/// The git revision of the qforge source, when it can be found.
pub fn git_revision() -> Option<String> {
    if let Some(rev) = option_env!("QFORGE_GIT_REVISION") {
        return Some(rev.to_string());
    }
    let out = std::process::Command::new("git")
        .args(["-C", env!("CARGO_MANIFEST_DIR"), "rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let rev = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!rev.is_empty()).then_some(rev)
}
