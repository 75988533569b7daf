//! `qforge synth DIR --target ...`: synthesize a generated design with Yosys and, for iCE40,
//! place and route it with nextpnr for its Fmax. Area figures are the bare design's; the Fmax is
//! measured on its registered timing harness (`qforge::verify::harness`), which needs four pins
//! whatever the design's port count.

use anyhow::Context;
use clap::{Args, ValueEnum};
use qforge::explore::evaluate::CLOCK_MHZ as NOMINAL_CLOCK_MHZ;
use qforge::verify::harness::fmax_ice40_registered;
use qforge::verify::manifest::{DesignKind, Manifest};
use qforge::verify::parts::Part;
use qforge::verify::tools::{locate, Tool};
use qforge::verify::yosys::{synth, SynthOptions, Target};
use qforge::verify::Error;
use std::path::PathBuf;

/// FPGA family.
#[derive(ValueEnum, Clone, Copy, Debug)]
enum TargetArg {
    /// Lattice iCE40 (Fmax on HX8K via nextpnr-ice40, design inside a registered harness).
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
    /// iCE40 device for place and route, and whose capacity the design is checked against
    /// (hx1k, hx4k, hx8k, up5k, ...); 7-series designs are checked against the xc7z020, ECP5
    /// designs against the LFE5U-25F.
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
    let sources = manifest.design_sources(&args.dir);
    let options = SynthOptions {
        nodsp: args.nodsp,
        ..SynthOptions::default()
    };
    // Area is that of the bare design; the harness below only serves timing.
    let report = synth(&sources, &manifest.top, target, &options)?;

    // The part the design is meant for: an iCE40 design that exceeds it is not placed (nextpnr
    // would only say it ran out of cells); its area is still reported.
    let fit = Part::for_target(target, &args.device).map(|p| p.fit(&report));
    let mut fmax = None;
    let mut fmax_note = String::from("n/a (no place and route for this target)");
    let mut pnr_seconds = 0.0;
    if let Some(f) = fit
        .as_ref()
        .filter(|f| target == Target::Ice40 && !f.fits())
    {
        fmax_note = format!(
            "n/a (does not fit {}: {}; a deeper folding, or `memory: bram` for LUT-built weight ROMs, needs less)",
            f.part.name,
            f.over.join(", ")
        );
    } else if target == Target::Ice40 {
        // Always on the harness, whether or not the ports would fit the package: one method
        // for every design keeps figures comparable across a sweep, and pad placement never
        // stretches the design's paths.
        let result = fmax_ice40_registered(
            &sources,
            &manifest.top,
            &args.device,
            &args.package,
            args.seeds,
        );
        match result {
            Ok(measured) => {
                pnr_seconds = measured.seconds;
                fmax = Some(measured.mhz);
                fmax_note = format!(
                    "{:.1} MHz (registered harness over {} port bits, {} {}, median of {} seed{})",
                    measured.mhz,
                    measured.port_bits,
                    args.device,
                    args.package,
                    measured.seeds,
                    if measured.seeds == 1 { "" } else { "s" }
                );
            }
            Err(e @ Error::NoTimedPath { .. }) => fmax_note = format!("n/a ({e})"),
            Err(e) => return Err(e).context("timing harness place and route"),
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
    match &fit {
        Some(f) => println!("part     {}", f.describe()),
        None => println!(
            "part     n/a (no capacity table for device {})",
            args.device
        ),
    }
    println!("Fmax     {fmax_note}");
    // A whole network: images per second at the clock the design reaches (nextpnr's Fmax), or at
    // the sweep's nominal 100 MHz where no place and route measured one, saying which.
    let interval: Option<u64> = (manifest.kind == DesignKind::Net)
        .then(|| manifest.parameters.get("initiation_interval"))
        .flatten()
        .and_then(|v| v.parse().ok())
        .filter(|&ii| ii > 0);
    let throughput = interval.map(|ii| {
        let (mhz, clock) = match fmax {
            Some(f) => (f, "nextpnr"),
            None => (NOMINAL_CLOCK_MHZ, "nominal"),
        };
        (mhz * 1e6 / ii as f64, mhz, clock, ii)
    });
    if let Some((images, mhz, clock, ii)) = throughput {
        println!(
            "speed    {:.0} images/s: {ii} cycles per image at {mhz:.1} MHz ({})",
            images,
            if clock == "nextpnr" {
                "the Fmax above"
            } else {
                "nominal, no Fmax measured for this target"
            }
        );
    }
    println!(
        "time     synth {:.2} s, harness synth, place and route {:.2} s",
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
            "part": fit.as_ref().map(|f| f.part.name),
            "fits": fit.as_ref().map(|f| f.fits()),
            "over": fit.as_ref().map(|f| f.over.clone()),
            "fmax_mhz": fmax,
            "fmax_method": fmax.map(|_| "registered_harness"),
            "images_per_second": throughput.map(|t| t.0),
            "throughput_clock_mhz": throughput.map(|t| t.1),
            "throughput_clock": throughput.map(|t| t.2),
            "cells": report.cells,
            "synth_seconds": report.seconds,
        });
        println!("{summary}");
    }
    Ok(())
}
