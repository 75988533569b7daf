//! The error types of the `explore` module area: [`ExploreError`] for everything a sweep, merge,
//! plot or fit can run into, and [`EvalError`] for an evaluator's failure on one point. (A point
//! that cannot be built is not an error: it is skipped with a
//! [`SkipReason`](crate::explore::evaluator::SkipReason).)

use crate::accel::sim::SimError;
use crate::accel::unit::UnitError;
use std::path::PathBuf;

/// Everything that can go wrong while reading a sweep, running it, merging, plotting or fitting.
///
/// Messages are lowercase and one line; errors about a user's file name the file and, where the
/// file has one, the `line:col` position.
#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    /// A sweep file that does not parse or means nothing: `file:line:col: message`.
    #[error("{file}:{line}:{col}: {message}")]
    SweepFile {
        /// The sweep file as given.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What is wrong, naming the bad value and the rule.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A results file (`results.csv`, `results.json`, `meta.json`) that does not parse.
    #[error("{}{}: {message}", path.display(), if *line == 0 { String::new() } else { format!(":{line}") })]
    Results {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when the whole file is at fault).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A `--shard` argument that is not `i/n` with `i < n`.
    #[error("invalid shard `{0}`: expected i/n with n >= 1 and 0 <= i < n")]
    BadShard(String),
    /// Results folders of different sweeps were given to `merge`.
    #[error("{} holds sweep {found}, but {} holds sweep {expected}: shards of different sweeps cannot be merged", other.display(), first.display())]
    ShardMismatch {
        /// The first folder.
        first: PathBuf,
        /// Its sweep hash.
        expected: String,
        /// The folder that differs.
        other: PathBuf,
        /// Its sweep hash.
        found: String,
    },
    /// Two shards hold different results for the same point.
    #[error("point {id} has different results in {} and {}", a.display(), b.display())]
    ConflictingRows {
        /// The point id.
        id: String,
        /// One folder.
        a: PathBuf,
        /// The other folder.
        b: PathBuf,
    },
    /// An evaluator failed in a way that stops the sweep (rows written so far are kept; `--resume`
    /// continues from them).
    #[error("evaluating point {id} ({label}): {error}")]
    Evaluation {
        /// The point id (for a design synthesized on its own, its cache key or `-`).
        id: String,
        /// The point label (or the design's top module).
        label: String,
        /// What failed.
        error: Box<EvalError>,
    },
    /// No evaluator is wired into the sweep command.
    #[error("{0}")]
    NoEvaluator(String),
    /// Drawing a plot failed.
    #[error("plot {name}: {message}")]
    Plot {
        /// The plot's file stem.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// A least-squares fit or an area-model evaluation that cannot be done.
    #[error("area model: {0}")]
    Fit(String),
    /// A results folder that cannot be written (not one qforge made, or of another kind).
    #[error(transparent)]
    Output(#[from] crate::outdir::OutputError),
}

/// A failure of the machinery while evaluating a point (a simulation that cannot complete, Yosys
/// failing, a cache that cannot be written): it stops the sweep.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The cycle simulation failed.
    #[error("cycle simulation: {0}")]
    Simulation(SimError),
    /// The network's Verilog could not be generated.
    #[error("verilog generation: {0}")]
    Verilog(UnitError),
    /// Yosys failed.
    #[error("yosys: {0}")]
    Yosys(crate::verify::Error),
    /// A synthesis result could not be encoded for the cache.
    #[error("cannot encode the cache entry: {0}")]
    CacheEntry(serde_json::Error),
    /// Yosys area was asked for without a cache.
    #[error("yosys area without a cache")]
    NoSynthCache,
    /// Costing the point failed (the area model, or a synthesis run and its cache).
    #[error("{0}")]
    Area(Box<ExploreError>),
    /// The evaluator returned figures that are not finite.
    #[error(
        "evaluator returned accuracy {accuracy} and throughput {throughput}: both must be finite"
    )]
    NotFinite {
        /// The accuracy returned.
        accuracy: f64,
        /// The throughput returned.
        throughput: f64,
    },
    /// The worker threads could not be started.
    #[error("cannot start {jobs} worker threads: {error}")]
    Threads {
        /// Threads asked for.
        jobs: usize,
        /// The thread pool's error.
        error: rayon::ThreadPoolBuildError,
    },
    /// An evaluator's own message: one outside this crate with nothing more to say.
    #[error("{0}")]
    Message(String),
}

impl From<&str> for EvalError {
    fn from(message: &str) -> EvalError {
        EvalError::Message(message.to_string())
    }
}

impl From<String> for EvalError {
    fn from(message: String) -> EvalError {
        EvalError::Message(message)
    }
}

impl ExploreError {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ExploreError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result with [`ExploreError`].
pub type Result<T, E = ExploreError> = std::result::Result<T, E>;
