//! `qforge synth DIR --target ...`: synthesize a generated design with Yosys and, for iCE40,
//! place and route it with nextpnr for its Fmax.

use anyhow::Context;
use clap::{Args, ValueEnum};
use qforge::verify::manifest::Manifest;
use qforge::verify::nextpnr::fmax_ice40_median;
use qforge::verify::tools::{locate, Tool};
use qforge::verify::yosys::{synth, SynthOptions, Target};
use qforge::verify::Error;
use std::path::PathBuf;

/// FPGA family.
#[derive(ValueEnum, Clone, Copy, Debug)]
enum TargetArg {
    /// Lattice iCE40 (Fmax on HX8K via nextpnr-ice40).
    Ice40,
    /// Xilinx 7-series.
    Xilinx,
    /// Lattice ECP5.
    Ecp5,
}

/// Arguments of `qforge synth`.
#[derive(Args, Debug)]
pub struct SynthArgs {
    /// Design folder holding `qforge.json`.
    dir: PathBuf,
    /// FPGA family to synthesize for.
    #[arg(long, value_enum)]
    target: TargetArg,
    /// Keep multipliers out of DSP blocks.
    #[arg(long)]
    nodsp: bool,
    /// Print one JSON object with the results as the last line.
    #[arg(long)]
    json: bool,
    /// Place-and-route seeds for the Fmax median (iCE40 only).
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    /// iCE40 device for place and route.
    #[arg(long, default_value = "hx8k")]
    device: String,
    /// iCE40 package for place and route.
    #[arg(long, default_value = "ct256")]
    package: String,
}

/// Runs `qforge synth`.
pub fn run(args: SynthArgs) -> anyhow::Result<()> {
    let target = match args.target {
        TargetArg::Ice40 => Target::Ice40,
        TargetArg::Xilinx => Target::Xilinx,
        TargetArg::Ecp5 => Target::Ecp5,
    };
    // The missing-tool messages come first: nothing below can work without the tools.
    locate(Tool::Yosys)?;
    if target == Target::Ice40 {
        locate(Tool::NextpnrIce40)?;
    }
    if args.seeds == 0 {
        anyhow::bail!("seeds (0) must be at least 1");
    }
    let manifest = Manifest::load(&args.dir)?;
    let netlist = std::env::temp_dir().join(format!(
        "qforge-netlist-{}-{}.json",
        std::process::id(),
        manifest.top
    ));
    let options = SynthOptions {
        nodsp: args.nodsp,
        netlist_json: (target == Target::Ice40).then(|| netlist.clone()),
        ..SynthOptions::default()
    };
    let report = synth(
        &manifest.design_sources(&args.dir),
        &manifest.top,
        target,
        &options,
    );
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&netlist);
            return Err(e.into());
        }
    };

    let mut fmax = None;
    let mut fmax_note = String::from("n/a (no place and route for this target)");
    let mut pnr_seconds = 0.0;
    if target == Target::Ice40 {
        let start = std::time::Instant::now();
        let result = fmax_ice40_median(&netlist, &args.device, &args.package, args.seeds);
        pnr_seconds = start.elapsed().as_secs_f64();
        let _ = std::fs::remove_file(&netlist);
        match result {
            Ok(mhz) => {
                fmax = Some(mhz);
                fmax_note = format!(
                    "{mhz:.1} MHz ({} {}, median of {} seed{})",
                    args.device,
                    args.package,
                    args.seeds,
                    if args.seeds == 1 { "" } else { "s" }
                );
            }
            Err(e @ Error::NoTimedPath { .. }) => fmax_note = format!("n/a ({e})"),
            Err(e) => return Err(e).context("place and route"),
        }
    }

    println!(
        "design   {} ({}) for {}",
        manifest.top,
        manifest.kind.name(),
        target
    );
    println!("LUTs     {}", report.luts);
    println!("FFs      {}", report.ffs);
    println!("carries  {}", report.carries);
    println!("DSPs     {}", report.dsps);
    println!("BRAMs    {}", report.brams);
    println!("Fmax     {fmax_note}");
    println!(
        "time     synth {:.2} s, place and route {:.2} s",
        report.seconds, pnr_seconds
    );
    if args.json {
        let summary = serde_json::json!({
            "top": manifest.top,
            "target": target.name(),
            "luts": report.luts,
            "ffs": report.ffs,
            "carries": report.carries,
            "dsps": report.dsps,
            "brams": report.brams,
            "fmax_mhz": fmax,
            "cells": report.cells,
            "synth_seconds": report.seconds,
        });
        println!("{summary}");
    }
    Ok(())
}
