//! `qforge sweep`: run a sweep file, merge shards, redraw plots.
//!
//! ```text
//! qforge sweep FILE -o DIR [--resume] [--shard i/n] [--jobs N] [--limit N]
//! qforge sweep FILE --list
//! qforge sweep merge DIR1 DIR2 ... -o OUT
//! qforge sweep plot DIR [--point ID]
//! ```

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use qforge::explore::{
    grid::{Grid, Shard},
    merge::merge_results,
    plot::draw_all,
    runner::{run_sweep, RunOptions},
    sweep_file::SweepFile,
    wiring::evaluator_for_sweep,
};
use std::path::{Path, PathBuf};

/// Run a bit-width sweep, merge shards or redraw its plots.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SweepArgs {
    #[command(subcommand)]
    action: Option<SweepAction>,
    /// The sweep file (RON).
    file: Option<PathBuf>,
    /// Results folder.
    #[arg(short = 'o', long = "out")]
    out: Option<PathBuf>,
    /// Keep the results already in the folder and evaluate only the missing points.
    #[arg(long)]
    resume: bool,
    /// Run only the points whose grid index is i modulo n.
    #[arg(long, value_name = "i/n")]
    shard: Option<String>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Evaluate at most N points, then stop (resume later with --resume).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Print the grid (index, id, label) and exit.
    #[arg(long)]
    list: bool,
}

#[derive(Subcommand, Debug)]
enum SweepAction {
    /// Join the results folders of shards of one sweep.
    Merge {
        /// Results folders of the shards.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output folder.
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
    },
    /// Redraw the plots and index.html of a results folder from its results.csv.
    Plot {
        /// Results folder.
        dir: PathBuf,
        /// Point id whose per-layer area breakdown is drawn (default: the most accurate point
        /// on the accuracy/LUT front that has a breakdown).
        #[arg(long)]
        point: Option<String>,
    },
}

/// Runs `qforge sweep ...`.
pub fn run(args: SweepArgs) -> anyhow::Result<()> {
    match args.action {
        Some(SweepAction::Merge { dirs, out }) => {
            let dirs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
            let meta = merge_results(&dirs, &out)
                .with_context(|| format!("merging into {}", out.display()))?;
            println!(
                "merged {} folders: {}/{} points{}",
                dirs.len(),
                meta.points_done,
                meta.points_total,
                if meta.complete { "" } else { " (incomplete)" }
            );
            redraw(&out, None)
        }
        Some(SweepAction::Plot { dir, point }) => redraw(&dir, point.as_deref()),
        None => run_file(args),
    }
}

fn run_file(args: SweepArgs) -> anyhow::Result<()> {
    let Some(file) = args.file else {
        bail!("give a sweep file (qforge sweep FILE -o DIR), or `merge` / `plot`");
    };
    let name = file.display().to_string();
    let sweep = SweepFile::load(&file)?;
    let grid = Grid::new(&sweep, &name)?;
    if args.list {
        for p in grid.points() {
            println!("{}\t{}\t{}", p.index, p.id, p.label);
        }
        println!("{} points, sweep hash {}", grid.points().len(), grid.hash());
        return Ok(());
    }
    let Some(out) = args.out else {
        bail!("give a results folder with -o DIR");
    };
    let options = RunOptions {
        resume: args.resume,
        shard: args.shard.as_deref().map(Shard::parse).transpose()?,
        limit: args.limit,
        jobs: args.jobs,
        progress: true,
    };
    let evaluator = evaluator_for_sweep(&sweep, &file)?;
    let summary = run_sweep(&sweep, &name, &grid, evaluator.as_ref(), &out, &options)
        .with_context(|| format!("running {name} into {}", out.display()))?;
    println!(
        "{} points: {} resumed, {} evaluated ({} skipped in all), {} remaining",
        summary.points_in_run,
        summary.resumed,
        summary.evaluated,
        summary.skipped,
        summary.remaining
    );
    redraw(&out, None)
}

fn redraw(dir: &Path, point: Option<&str>) -> anyhow::Result<()> {
    let drawn = draw_all(dir, point).with_context(|| format!("plotting {}", dir.display()))?;
    for file in drawn {
        println!("wrote {}", file.display());
    }
    Ok(())
}
