//! Running a sweep: every point of a grid (or of one shard) through an [`Evaluator`], in
//! parallel, streaming rows into the results files.
//!
//! Points are evaluated on a rayon pool (one thread per core unless `jobs` says otherwise). Each
//! finished point is appended at once to `results.csv` and `results.json`, so an interrupted
//! sweep loses only the points in flight. With `resume`, the rows already in the folder (by id)
//! are kept and only the missing points run; at the end both files are rewritten in grid order,
//! so a resumed sweep's folder equals an uninterrupted one's byte for byte, apart from the
//! measured figures in `timing.json` ([`crate::explore::meta::Timing`]). A progress bar (points
//! done / total, rate, ETA) is drawn on stderr when it is a terminal.
//!
//! ```no_run
//! # use qforge::explore::{evaluator::Evaluator, grid::Grid, runner::{run_sweep, RunOptions},
//! #     sweep_file::SweepFile};
//! # fn demo(evaluator: &dyn Evaluator) -> qforge::explore::error::Result<()> {
//! let sweep = SweepFile::load("models/sweep_default.ron".as_ref())?;
//! let grid = Grid::new(&sweep, "models/sweep_default.ron")?;
//! let options = RunOptions { resume: true, ..RunOptions::default() };
//! let summary = run_sweep(&sweep, "models/sweep_default.ron", &grid, evaluator,
//!     "out/sweep".as_ref(), &options)?;
//! println!("{} evaluated, {} remaining", summary.evaluated, summary.remaining);
//! # Ok(()) }
//! ```

use crate::explore::error::{EvalError, ExploreError, Result};
use crate::explore::evaluator::{Evaluator, Outcome};
use crate::explore::grid::{Grid, Point, Shard};
use crate::explore::meta::{Meta, Timing};
use crate::explore::results::{read_json, write_results, ResultRow, ResultsAppender};
use crate::explore::sweep_file::SweepFile;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

/// How to run a sweep.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Keep the rows already in the folder and evaluate only the missing points.
    pub resume: bool,
    /// Run only this slice of the grid.
    pub shard: Option<Shard>,
    /// Evaluate at most this many pending points (in grid order) and stop.
    pub limit: Option<usize>,
    /// Worker threads (default: one per core).
    pub jobs: Option<usize>,
    /// Draw a progress bar (only ever on a terminal).
    pub progress: bool,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// Points in this run's slice of the grid.
    pub points_in_run: usize,
    /// Rows kept from an earlier run.
    pub resumed: usize,
    /// Points evaluated now.
    pub evaluated: usize,
    /// Of all rows, skipped points.
    pub skipped: usize,
    /// Points of the slice still without a row.
    pub remaining: usize,
}

/// Runs `grid` through `evaluator` into `dir` (created if missing).
///
/// `dir` must be absent, empty or a sweep folder qforge wrote (see [`crate::outdir`]); it is
/// written in place, so an interrupted run leaves a partial folder that `resume` continues, not
/// an atomic one. A folder that already holds results is refused unless `resume` is set;
/// resuming checks that the folder holds the same sweep (same grid hash) and shard.
pub fn run_sweep(
    sweep: &SweepFile,
    sweep_file: &str,
    grid: &Grid,
    evaluator: &dyn Evaluator,
    dir: &Path,
    options: &RunOptions,
) -> Result<RunSummary> {
    let started = Instant::now();
    crate::outdir::prepare_in_place(dir, crate::outdir::OutputKind::Sweep, false)?;
    let in_run: Vec<&Point> = grid
        .points()
        .iter()
        .filter(|p| options.shard.is_none_or(|s| s.contains(p.index)))
        .collect();

    let mut kept = previous_rows(grid, dir, options)?;
    let done: HashSet<&str> = kept.iter().map(|r| r.id.as_str()).collect();
    let mut todo: Vec<&Point> = in_run
        .iter()
        .copied()
        .filter(|p| !done.contains(p.id.as_str()))
        .collect();
    let pending_before_limit = todo.len();
    if let Some(limit) = options.limit {
        todo.truncate(limit);
    }
    let resumed = kept.len();

    let mut meta = Meta::new(&sweep.name, sweep_file, grid.hash(), grid.points().len());
    meta.tool_versions = evaluator.tool_versions().into_iter().collect();
    meta.shard = options.shard;
    meta.points_done = kept.len();
    meta.write(dir)?;

    let appender = Mutex::new(ResultsAppender::start(dir, &mut kept)?);
    let rows = Mutex::new(kept);
    // The bar counts the whole slice, starting at the rows a resumed run already has.
    let bar = progress_bar(in_run.len() as u64, options.progress);
    bar.set_position((in_run.len() - pending_before_limit) as u64);
    bar.reset_eta();
    let work = || -> Result<()> {
        todo.par_iter().try_for_each(|point| {
            let failed = |error| ExploreError::Evaluation {
                id: point.id.clone(),
                label: point.label.clone(),
                error: Box::new(error),
            };
            let outcome = evaluator.evaluate(&point.config).map_err(failed)?;
            if let Outcome::Done(m) = &outcome {
                if !m.accuracy.is_finite() || !m.throughput_images_per_s.is_finite() {
                    return Err(failed(EvalError::NotFinite {
                        accuracy: m.accuracy,
                        throughput: m.throughput_images_per_s,
                    }));
                }
            }
            let row = ResultRow::new(point, outcome);
            lock(&appender).append(&row)?;
            lock(&rows).push(row);
            bar.inc(1);
            Ok(())
        })
    };
    let outcome = match options.jobs {
        Some(jobs) => match rayon::ThreadPoolBuilder::new().num_threads(jobs).build() {
            Ok(pool) => pool.install(work),
            Err(error) => Err(ExploreError::Evaluation {
                id: "-".into(),
                label: "-".into(),
                error: Box::new(EvalError::Threads { jobs, error }),
            }),
        },
        None => work(),
    };
    bar.finish_and_clear();
    drop(appender);

    let mut rows = rows.into_inner().unwrap_or_else(|e| e.into_inner());
    write_results(dir, &mut rows)?;
    let in_run_ids: HashSet<&str> = in_run.iter().map(|p| p.id.as_str()).collect();
    let covered = rows
        .iter()
        .filter(|r| in_run_ids.contains(r.id.as_str()))
        .count();
    meta.points_done = rows.len();
    meta.points_skipped = rows
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Skipped(_)))
        .count();
    meta.complete = covered == in_run.len();
    meta.write(dir)?;
    Timing::new(started.elapsed().as_secs_f64(), rows.len() - resumed).write(dir)?;
    outcome?;
    Ok(RunSummary {
        points_in_run: in_run.len(),
        resumed,
        evaluated: rows.len() - resumed,
        skipped: meta.points_skipped,
        remaining: in_run.len() - covered,
    })
}

/// The rows to keep: none for a fresh run (refusing to overwrite results), the folder's rows
/// when resuming.
fn previous_rows(grid: &Grid, dir: &Path, options: &RunOptions) -> Result<Vec<ResultRow>> {
    let rows = read_json(dir)?;
    let meta = Meta::read(dir)?;
    if !options.resume {
        if !rows.is_empty() {
            return Err(ExploreError::Results {
                path: dir.to_path_buf(),
                line: 0,
                message: "already holds results: pass --resume to continue them, or choose an empty folder".into(),
            });
        }
        return Ok(Vec::new());
    }
    if let Some(meta) = &meta {
        if meta.sweep_hash != grid.hash() {
            return Err(ExploreError::Results {
                path: dir.to_path_buf(),
                line: 0,
                message: format!(
                    "holds results of sweep {} but this sweep is {}: cannot resume",
                    meta.sweep_hash,
                    grid.hash()
                ),
            });
        }
        if meta.shard != options.shard {
            return Err(ExploreError::Results {
                path: dir.to_path_buf(),
                line: 0,
                message: format!(
                    "holds shard {} but this run is shard {}: cannot resume",
                    shard_text(meta.shard),
                    shard_text(options.shard)
                ),
            });
        }
    }
    let ids: HashSet<&str> = grid.points().iter().map(|p| p.id.as_str()).collect();
    let mut seen = HashSet::new();
    let mut kept = Vec::with_capacity(rows.len());
    for row in rows {
        if !ids.contains(row.id.as_str()) {
            return Err(ExploreError::Results {
                path: dir.to_path_buf(),
                line: 0,
                message: format!(
                    "holds point {} ({}), which is not in this sweep",
                    row.id, row.label
                ),
            });
        }
        // A point appended twice (a crash between append and rewrite) counts once.
        if seen.insert(row.id.clone()) {
            kept.push(row);
        }
    }
    Ok(kept)
}

fn shard_text(shard: Option<Shard>) -> String {
    shard.map_or_else(|| "none".to_string(), |s| s.to_string())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn progress_bar(len: u64, wanted: bool) -> ProgressBar {
    let target = if wanted && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:40} {pos}/{len} points  {per_sec}  elapsed {elapsed}  ETA {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}
