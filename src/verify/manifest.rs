//! The design-folder manifest `qforge.json` of the replay contract (`sim/README.md`).
//!
//! ```no_run
//! use qforge::verify::manifest::Manifest;
//! let manifest = Manifest::load("out/pe".as_ref())?; // reads out/pe/qforge.json
//! println!("{}: {} cycles", manifest.top, manifest.cycles);
//! # Ok::<(), qforge::verify::Error>(())
//! ```

use super::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The manifest's file name inside a design folder.
pub const FILE_NAME: &str = "qforge.json";

/// What kind of design a folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DesignKind {
    /// One processing element.
    Pe,
    /// A grid of processing elements.
    PeGrid,
    /// A whole network.
    Net,
}

impl DesignKind {
    /// The name used in the manifest (`pe`, `pe_grid`, `net`).
    pub fn name(self) -> &'static str {
        match self {
            DesignKind::Pe => "pe",
            DesignKind::PeGrid => "pe_grid",
            DesignKind::Net => "net",
        }
    }
}

/// `DIR/qforge.json`: what a generator wrote and how to replay it. Paths are relative to `DIR`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// What kind of design this is.
    pub kind: DesignKind,
    /// Module name of the design (not the wrapper).
    pub top: String,
    /// Verilog sources, the wrapper included.
    pub sources: Vec<PathBuf>,
    /// The `qf_tb_dut` wrapper source (also listed in `sources`).
    pub wrapper: PathBuf,
    /// `IN_W`: width of `tb_in`.
    pub in_width: u32,
    /// `OUT_W`: width of `tb_out`.
    pub out_width: u32,
    /// Number of cycles in the vector files.
    pub cycles: u64,
    /// The `+stim` file.
    pub stimulus: PathBuf,
    /// The `+expect` file.
    pub expected: PathBuf,
    /// Free-form description of the configuration.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
}

/// `path` itself when it names a file, else `path/qforge.json`.
pub fn manifest_path(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join(FILE_NAME)
    } else {
        path.to_path_buf()
    }
}

impl Manifest {
    /// Reads and validates a manifest from a design folder (or the manifest file itself).
    pub fn load(path: &Path) -> Result<Self> {
        let file = manifest_path(path);
        let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| Error::Json {
            path: file.clone(),
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        })?;
        manifest.validate().map_err(|e| Error::Json {
            path: file,
            line: 0,
            column: 0,
            message: e.to_string(),
        })?;
        Ok(manifest)
    }

    /// Writes the manifest as `dir/qforge.json` (pretty-printed, trailing newline).
    pub fn save(&self, dir: &Path) -> Result<()> {
        self.validate()?;
        let file = dir.join(FILE_NAME);
        let mut text = serde_json::to_string_pretty(self).map_err(|e| Error::Json {
            path: file.clone(),
            line: 0,
            column: 0,
            message: e.to_string(),
        })?;
        text.push('\n');
        std::fs::write(&file, text).map_err(|e| Error::io(&file, e))
    }

    /// Checks the rules the replay needs: widths at least 1, a non-empty top name, the wrapper
    /// listed among the sources, relative paths.
    pub fn validate(&self) -> Result<()> {
        if self.in_width == 0 || self.out_width == 0 {
            return Err(Error::Invalid(format!(
                "in_width ({}) and out_width ({}) must be at least 1",
                self.in_width, self.out_width
            )));
        }
        if self.top.is_empty() {
            return Err(Error::Invalid("top must name the design's module".into()));
        }
        if !self.sources.contains(&self.wrapper) {
            return Err(Error::Invalid(format!(
                "wrapper ({}) must be listed in sources",
                self.wrapper.display()
            )));
        }
        let all = self.sources.iter().chain([&self.stimulus, &self.expected]);
        for p in all {
            if p.is_absolute() {
                return Err(Error::Invalid(format!(
                    "path {} must be relative to the design folder",
                    p.display()
                )));
            }
        }
        Ok(())
    }

    /// The design's own sources (the wrapper left out), resolved against `dir`: what lint and
    /// synthesis read.
    pub fn design_sources(&self, dir: &Path) -> Vec<PathBuf> {
        self.sources
            .iter()
            .filter(|s| **s != self.wrapper)
            .map(|s| dir.join(s))
            .collect()
    }

    /// Every source (wrapper included) resolved against `dir`: what the replay builds.
    pub fn all_sources(&self, dir: &Path) -> Vec<PathBuf> {
        self.sources.iter().map(|s| dir.join(s)).collect()
    }
}

/// serde_json appends " at line L column C"; the position is reported separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Manifest {
        Manifest {
            kind: DesignKind::PeGrid,
            top: "qf_pe_grid".into(),
            sources: vec!["rtl/a.v".into(), "rtl/qf_tb_dut.v".into()],
            wrapper: "rtl/qf_tb_dut.v".into(),
            in_width: 33,
            out_width: 20,
            cycles: 12,
            stimulus: "vectors/stimulus.hex".into(),
            expected: "vectors/expected.hex".into(),
            parameters: BTreeMap::from([("pe".into(), "4".into())]),
        }
    }

    #[test]
    fn json_field_names_follow_the_contract() {
        let json = serde_json::to_value(example()).unwrap();
        assert_eq!(json["kind"], "pe_grid");
        for key in [
            "top",
            "sources",
            "wrapper",
            "in_width",
            "out_width",
            "cycles",
            "stimulus",
            "expected",
            "parameters",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
        let back: Manifest = serde_json::from_value(json).unwrap();
        assert_eq!(back, example());
    }

    #[test]
    fn design_sources_leave_the_wrapper_out() {
        let dir = Path::new("d");
        assert_eq!(example().design_sources(dir), vec![dir.join("rtl/a.v")]);
        assert_eq!(example().all_sources(dir).len(), 2);
    }

    #[test]
    fn wrapper_must_be_among_sources() {
        let mut m = example();
        m.sources.pop();
        assert!(m.validate().unwrap_err().to_string().contains("wrapper"));
    }
}
