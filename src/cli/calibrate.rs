//! `qforge calibrate`: fit the area model's coefficients to Yosys and report its error.
//!
//! ```text
//! qforge calibrate --target ice40|xilinx|ecp5 [-o FILE] [--grid full|tiny] [--jobs N] [--cache DIR]
//! ```
//!
//! Synthesizes a grid of PEs (every kind the planner builds, over activation and weight widths
//! and SIMD lanes), fits the per-kind coefficients and writes the versioned coefficients file
//! (default `models/area_<target>.ron`, where `qforge sweep` looks for it), then prints the
//! median and worst relative error per unit kind for the fitted model and for the FINN-R
//! baseline on the same samples.

use anyhow::Context;
use clap::{Args, ValueEnum};
use qforge::explore::area_model::Resource;
use qforge::explore::calibrate::{calibrate, pe_grid, GridSize};
use qforge::explore::sweep_file::FpgaTarget;
use qforge::explore::synth_cache::SynthCache;
use std::path::PathBuf;

/// Arguments of `qforge calibrate`.
#[derive(Args, Debug)]
pub struct CalibrateArgs {
    /// FPGA family whose Yosys flow is measured.
    #[arg(long, value_enum)]
    target: TargetArg,
    /// Coefficients file to write (default models/area_<target>.ron).
    #[arg(short = 'o', long = "out")]
    out: Option<PathBuf>,
    /// Design grid: full (62 PEs) or tiny (4 uniform PEs, for a quick check).
    #[arg(long, value_enum, default_value_t = GridArg::Full)]
    grid: GridArg,
    /// Parallel Yosys runs.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Cache folder of Yosys results.
    #[arg(long, value_name = "DIR", default_value = "target/qforge-synth-cache")]
    cache: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum TargetArg {
    Ice40,
    Xilinx,
    Ecp5,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum GridArg {
    Full,
    Tiny,
}

/// Runs `qforge calibrate`.
pub fn run(args: CalibrateArgs) -> anyhow::Result<()> {
    if args.jobs == 0 {
        anyhow::bail!("--jobs (0) must be at least 1");
    }
    let fpga = match args.target {
        TargetArg::Ice40 => FpgaTarget::Ice40,
        TargetArg::Xilinx => FpgaTarget::Xilinx,
        TargetArg::Ecp5 => FpgaTarget::Ecp5,
    };
    let size = match args.grid {
        GridArg::Full => GridSize::Full,
        GridArg::Tiny => GridSize::Tiny,
    };
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("models/area_{}.ron", fpga.name())));
    // Refused before the synthesis runs, not after them.
    qforge::flow::check_parent(&out)?;
    let cache = SynthCache::open(&args.cache)?;
    let designs = pe_grid(size)?;
    println!(
        "synthesizing {} PEs for {} with {} ({} at a time)",
        designs.len(),
        fpga.name(),
        cache.yosys_version(),
        args.jobs
    );
    let started = std::time::Instant::now();
    let result = calibrate(&designs, fpga, &cache, args.jobs)?;
    println!(
        "{:.1} s: {} synthesized, {} from the cache {}",
        started.elapsed().as_secs_f64(),
        cache.misses(),
        cache.hits(),
        args.cache.display()
    );
    result
        .model
        .save(&out)
        .with_context(|| format!("writing {}", out.display()))?;
    println!("wrote {}", out.display());
    print!("{}", result.model_report);
    print!("{}", result.finn_r_report);
    print!("{}", result.finn_r_pe_report);
    println!("LUT error per unit kind (median / worst): fitted model, FINN-R, FINN-R without c0");
    for l in result
        .model_report
        .lines
        .iter()
        .filter(|l| l.resource == Resource::Luts)
    {
        let f = result.finn_r_report.lines.iter().find(|f| f.kind == l.kind);
        let g = result
            .finn_r_pe_report
            .lines
            .iter()
            .find(|f| f.kind == l.kind);
        println!(
            "  {:<12} model {:>6.1}% / {:>6.1}%   FINN-R {:>7.1}% / {:>7.1}%   no c0 {:>6.1}% / {:>6.1}%",
            l.kind,
            100.0 * l.median_relative,
            100.0 * l.worst_relative,
            100.0 * f.map_or(f64::NAN, |f| f.median_relative),
            100.0 * f.map_or(f64::NAN, |f| f.worst_relative),
            100.0 * g.map_or(f64::NAN, |f| f.median_relative),
            100.0 * g.map_or(f64::NAN, |f| f.worst_relative)
        );
    }
    Ok(())
}
