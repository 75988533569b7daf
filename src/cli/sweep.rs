//! `qforge sweep`: run a sweep file, merge shards, redraw plots.
//!
//! ```text
//! qforge sweep FILE -o DIR [--area model|yosys] [--cache DIR] [--coefficients DIR]
//!              [--resume] [--shard i/n] [--jobs N] [--limit N] [--force]
//! qforge sweep FILE --list
//! qforge sweep merge DIR1 DIR2 ... -o OUT [--force]
//! qforge sweep plot DIR [--point ID]
//! ```

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use qforge::explore::{
    area_model::{finn_r_report, model_report, Resource},
    calibrate::finn_r_pe_report,
    evaluate::{AreaMode, EvaluatorOptions, CLOCK_MHZ},
    grid::{Grid, Shard},
    merge::merge_results,
    plot::draw_all,
    runner::{run_sweep, RunOptions},
    sweep_file::SweepFile,
    wiring::evaluator_for_sweep,
};
use qforge::nn::data::source::DataSource;
use qforge::outdir::{check, prepare_in_place, Existing, OutputKind};
use std::path::{Path, PathBuf};

/// Run a bit-width sweep, merge shards or redraw its plots.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SweepArgs {
    #[command(subcommand)]
    action: Option<SweepAction>,
    /// The sweep file (RON).
    file: Option<PathBuf>,
    /// Results folder: absent, empty, or a sweep folder qforge wrote (written in place).
    #[arg(short = 'o', long = "out")]
    out: Option<PathBuf>,
    /// Also replace a qforge output folder of another kind (never anything qforge did not make).
    #[arg(long)]
    force: bool,
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
    /// Where area figures come from: the per-unit cost model, or Yosys synthesis (cached).
    #[arg(long, value_enum, default_value_t = AreaArg::Model)]
    area: AreaArg,
    /// Cache folder of Yosys results (with --area yosys).
    #[arg(long, value_name = "DIR", default_value = "target/qforge-synth-cache")]
    cache: PathBuf,
    /// Folder of the area_<fpga>.ron coefficients files (default: the sweep file's folder).
    #[arg(long, value_name = "DIR")]
    coefficients: Option<PathBuf>,
    /// Data set, in place of the sweep file's `data`: `digits` or `mnist:DIR` (DIR relative to
    /// the current folder).
    #[arg(long, value_name = "SET")]
    data: Option<DataSource>,
    /// Test images that measure accuracy, in place of the sweep file's `images` [default: all].
    #[arg(long, value_name = "N")]
    images: Option<usize>,
}

/// The area source on the command line (`sweep` and `search`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum AreaArg {
    /// The per-unit cost model (fitted coefficients where a file exists).
    Model,
    /// Yosys synthesis of each point's network, cached by design hash.
    Yosys,
}

impl AreaArg {
    /// The evaluator's area mode.
    pub(super) fn mode(self) -> AreaMode {
        match self {
            AreaArg::Model => AreaMode::Model,
            AreaArg::Yosys => AreaMode::Yosys,
        }
    }
}

#[derive(Subcommand, Debug)]
enum SweepAction {
    /// Join the results folders of shards of one sweep.
    Merge {
        /// Results folders of the shards.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output folder: absent, empty, or a sweep folder qforge wrote.
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
        /// Also replace a qforge output folder of another kind.
        #[arg(long)]
        force: bool,
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
        Some(SweepAction::Merge { dirs, out, force }) => {
            prepare_in_place(&out, OutputKind::Sweep, force)?;
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
        Some(SweepAction::Plot { dir, point }) => {
            // Plots are written into the folder: only into a sweep folder qforge wrote.
            if let Existing::Ours(kind) = check(&dir, OutputKind::Sweep, true)? {
                if kind != OutputKind::Sweep.name() {
                    bail!(
                        "{} holds a qforge {kind} output, not sweep results",
                        dir.display()
                    );
                }
            }
            redraw(&dir, point.as_deref())
        }
        None => run_file(args),
    }
}

fn run_file(args: SweepArgs) -> anyhow::Result<()> {
    let Some(file) = args.file else {
        bail!("give a sweep file (qforge sweep FILE -o DIR), or `merge` / `plot`");
    };
    for (flag, value) in [("--jobs", args.jobs), ("--limit", args.limit)] {
        if value == Some(0) {
            bail!("{flag} (0) must be at least 1");
        }
    }
    let name = file.display().to_string();
    let mut sweep = SweepFile::load(&file)?;
    if let Some(data) = &args.data {
        sweep.data = Some(match data {
            // The file's `data` is relative to its folder; the flag's, to the current one.
            DataSource::Mnist(dir) if dir.is_relative() => {
                let here = std::env::current_dir().context("reading the current folder")?;
                DataSource::Mnist(here.join(dir)).to_string()
            }
            d => d.to_string(),
        })
        .filter(|d| d.as_str() != "digits");
    }
    if let Some(n) = args.images {
        if n == 0 {
            bail!("--images (0) must be at least 1");
        }
        sweep.images = Some(n);
    }
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
    // Refuse a bad folder before the model is read (the folder is made just before the run).
    check(&out, OutputKind::Sweep, args.force)?;
    let options = RunOptions {
        resume: args.resume,
        shard: args.shard.as_deref().map(Shard::parse).transpose()?,
        limit: args.limit,
        jobs: args.jobs,
        progress: true,
    };
    let area = args.area.mode();
    let evaluator = evaluator_for_sweep(
        &sweep,
        &file,
        EvaluatorOptions {
            area,
            coefficients_dir: args.coefficients,
            cache_dir: args.cache,
        },
    )?;
    prepare_in_place(&out, OutputKind::Sweep, args.force)?;
    let started = std::time::Instant::now();
    let summary = run_sweep(&sweep, &name, &grid, &evaluator, &out, &options)
        .with_context(|| format!("running {name} into {}", out.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{} points: {} resumed, {} evaluated ({} skipped in all), {} remaining",
        summary.points_in_run,
        summary.resumed,
        summary.evaluated,
        summary.skipped,
        summary.remaining
    );
    println!(
        "wall time {seconds:.1} s, {:.2} points/s; throughput at a fixed {CLOCK_MHZ} MHz clock",
        summary.evaluated as f64 / seconds.max(1e-9)
    );
    if evaluator.models_trained() > 0 {
        println!(
            "quantization-aware training: {} models trained on the {} training images, \
             each shared by the points that differ only in export or hardware",
            evaluator.models_trained(),
            evaluator.data()
        );
    }
    if let Some(cache) = evaluator.synth_cache() {
        println!(
            "yosys cache {}: {} hits, {} misses (hit rate {:.0}%), {:.1} s in yosys",
            evaluator.cache_dir().display(),
            cache.hits(),
            cache.misses(),
            100.0 * cache.hit_rate(),
            cache.synth_seconds()
        );
    }
    let model_fpgas = match area {
        AreaMode::Model => sweep.axes.fpga.values().to_vec(),
        AreaMode::Yosys => Vec::new(),
    };
    for fpga in model_fpgas {
        match evaluator.coefficients(fpga) {
            Some((path, model)) if !model.measurements.is_empty() => {
                println!(
                    "area model for {}: {} ({}); LUT error on its {} Yosys measurements:",
                    fpga.name(),
                    path.display(),
                    model.source,
                    model.measurements.len()
                );
                print_lut_errors(model)?;
            }
            Some((path, model)) => println!(
                "area model for {}: {} ({}), no measurements recorded",
                fpga.name(),
                path.display(),
                model.source
            ),
            None => println!(
                "area model for {}: the units' analytic cost() (no area_{}.ron; run qforge calibrate --target {})",
                fpga.name(),
                fpga.name(),
                fpga.name()
            ),
        }
    }
    redraw(&out, None)
}

/// Median and worst LUT error per unit kind, fitted model next to FINN-R, on the measurements
/// a coefficients file records.
fn print_lut_errors(model: &qforge::explore::area_model::AreaModel) -> anyhow::Result<()> {
    let fitted = model_report(model, &model.measurements)?;
    let finn = finn_r_report(&model.measurements)?;
    let finn_pe = finn_r_pe_report(&model.measurements)?;
    println!(
        "  {:<12} {:>7} {:>14} {:>13} {:>14} {:>13} {:>14}",
        "kind",
        "samples",
        "model median",
        "model worst",
        "FINN-R median",
        "FINN-R worst",
        "no-c0 median"
    );
    for l in fitted.lines.iter().filter(|l| l.resource == Resource::Luts) {
        let f = finn.lines.iter().find(|f| f.kind == l.kind);
        let g = finn_pe.lines.iter().find(|f| f.kind == l.kind);
        let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.1}%", 100.0 * v));
        println!(
            "  {:<12} {:>7} {:>14} {:>13} {:>14} {:>13} {:>14}",
            l.kind,
            l.samples,
            pct(Some(l.median_relative)),
            pct(Some(l.worst_relative)),
            pct(f.map(|f| f.median_relative)),
            pct(f.map(|f| f.worst_relative)),
            pct(g.map(|f| f.median_relative))
        );
    }
    Ok(())
}

fn redraw(dir: &Path, point: Option<&str>) -> anyhow::Result<()> {
    let drawn = draw_all(dir, point).with_context(|| format!("plotting {}", dir.display()))?;
    for file in drawn {
        println!("wrote {}", file.display());
    }
    Ok(())
}
