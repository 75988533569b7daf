//! The one error type of the verification layer.

use std::path::PathBuf;

/// Everything that can go wrong while writing vectors, reading manifests or driving the external
/// tools. Messages are one line (multi-line tool output is reduced to its first relevant lines).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An external tool could not be found.
    #[error("{tool} not found{detail}: install it ({install}) or set {env_var}")]
    ToolMissing {
        /// The tool's command name, e.g. `verilator`.
        tool: &'static str,
        /// The install command, e.g. `apt-get install verilator`.
        install: &'static str,
        /// The environment variable that points at the tool, e.g. `QFORGE_VERILATOR`.
        env_var: &'static str,
        /// Extra context, e.g. ` (QFORGE_VERILATOR=/x does not exist)`; may be empty.
        detail: String,
    },
    /// Reading or writing a file (or folder) failed.
    #[error("{path}: {error}")]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying error (part of the message, so not chained as a source).
        error: std::io::Error,
    },
    /// A tool could not be started or waited for.
    #[error("cannot run {tool}: {error}")]
    Spawn {
        /// The tool's command name.
        tool: &'static str,
        /// The underlying error (part of the message, so not chained as a source).
        error: std::io::Error,
    },
    /// A tool ran longer than allowed and was stopped.
    #[error("{tool} timed out after {seconds} s and was stopped")]
    Timeout {
        /// The tool's command name.
        tool: &'static str,
        /// The time limit, in seconds.
        seconds: u64,
    },
    /// A tool failed; `message` holds its first error lines, joined with ` | `.
    #[error("{tool} failed: {message}")]
    ToolFailed {
        /// The tool's command name.
        tool: &'static str,
        /// The first relevant lines of its output.
        message: String,
    },
    /// The manifest (or another JSON file) is not valid.
    #[error("{}{}: {message}", path.display(), position(*line, *column))]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error (0 when unknown).
        line: usize,
        /// 1-based column of the error (0 when unknown).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A vector file line is not valid hex of the expected width.
    #[error("{path}:{line}: {message}")]
    VectorFile {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A value or field does not fit the rule it must follow.
    #[error("{0}")]
    Invalid(String),
    /// A bit-vector value or field that does not fit (see [`crate::hdl::Bits`]).
    #[error(transparent)]
    Bits(#[from] crate::hdl::HdlError),
    /// Place and route found no register-to-register path, so there is no Fmax to report.
    #[error("{tool} reports no Fmax: the design has no register-to-register path")]
    NoTimedPath {
        /// The tool's command name.
        tool: &'static str,
    },
    /// Synthesis inferred latches.
    #[error("design infers latches: {0}")]
    Latch(String),
    /// Synthesis found undriven nets or other netlist problems.
    #[error("design has undriven nets: {0}")]
    Undriven(String),
}

/// Result type of the verification layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            error,
        }
    }
}

/// `:line:col`, or nothing when the position is unknown (0): a location only when it is real.
fn position(line: usize, column: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}:{column}")
    }
}
