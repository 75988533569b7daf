//! `qforge verify DIR`: lint a generated design and replay its vectors under Verilator.

use anyhow::{bail, Context};
use clap::Args;
use qforge::flow::TIMING_FILE;
use qforge::verify::manifest::{DesignKind, Manifest};
use qforge::verify::tools::{locate, Tool};
use qforge::verify::vectors::VectorScan;
use qforge::verify::verilator::{self, ReplayInput, ReplayOptions};
use std::path::{Path, PathBuf};

/// Arguments of `qforge verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Design folder holding `qforge.json` (as written by `qforge hdl ... -o DIR`).
    dir: PathBuf,
    /// Print one JSON object with the results as the last line.
    #[arg(long)]
    json: bool,
    /// Dump a VCD of the replay to this file (rebuilds the simulator with tracing).
    #[arg(long, value_name = "FILE")]
    vcd: Option<PathBuf>,
    /// Where built simulators are cached [default: the system temp folder].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Parallel C++ compile jobs (0 = number of CPUs).
    #[arg(long, default_value_t = 0)]
    jobs: usize,
}

/// Runs `qforge verify`.
pub fn run(args: VerifyArgs) -> anyhow::Result<()> {
    // The missing-tool message comes first: nothing below can work without Verilator.
    locate(Tool::Verilator)?;
    let dir = &args.dir;
    let manifest = Manifest::load(dir)?;
    if let Some(vcd) = &args.vcd {
        qforge::flow::check_parent(vcd)?;
    }
    let stimulus = dir.join(&manifest.stimulus);
    let expected = dir.join(&manifest.expected);
    let vectors = VectorScan::read(&stimulus, &expected, manifest.in_width, manifest.out_width)?;
    if vectors.checked.len() as u64 != manifest.cycles {
        bail!(
            "{} holds {} cycles but the manifest says {}",
            stimulus.display(),
            vectors.checked.len(),
            manifest.cycles
        );
    }

    let design = verilator::lint(&manifest.design_sources(dir), &manifest.top)?;
    let wrapper = verilator::lint(&manifest.all_sources(dir), "qf_tb_dut")?;
    // The wrapper lint reads the design too: report each warning once.
    let mut warnings: Vec<String> = design.warnings;
    for w in wrapper.warnings {
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    }

    let input = ReplayInput {
        sources: manifest.all_sources(dir),
        in_width: manifest.in_width,
        out_width: manifest.out_width,
        cycles: manifest.cycles,
        stimulus,
        expected,
    };
    let options = ReplayOptions {
        cache_dir: Some(
            args.cache_dir
                .clone()
                .unwrap_or_else(|| std::env::temp_dir().join("qforge-verilator-cache")),
        ),
        vcd: args.vcd.clone(),
        jobs: args.jobs,
        ..ReplayOptions::default()
    };
    let mut replay = verilator::replay(&input, &options).context("replay")?;
    replay.count_checked_of(&vectors.checked);

    println!(
        "design   {} ({}), {} sources, IN_W={} OUT_W={}",
        manifest.top,
        manifest.kind.name(),
        manifest.sources.len(),
        manifest.in_width,
        manifest.out_width
    );
    println!(
        "lint     {} warnings (verilator --lint-only -Wall)",
        warnings.len()
    );
    for w in &warnings {
        println!("         {w}");
    }
    println!(
        "replay   {} vectors, {} cycles simulated, {} checked, {} mismatches",
        vectors.checked.len(),
        replay.cycles,
        replay.checked,
        replay.mismatches
    );
    if let Some(f) = &replay.failure {
        println!(
            "         first mismatch at cycle {}: in={} got={} expected={}",
            f.cycle, f.input_hex, f.got_hex, f.expected_hex
        );
    }
    println!(
        "time     build {:.2} s{}, run {:.3} s, {}",
        replay.build_seconds,
        if replay.cached { " (cached)" } else { "" },
        replay.run_seconds,
        rate(replay.cycles_per_second())
    );
    if let Some(vcd) = &args.vcd {
        println!("vcd      {}", vcd.display());
    }
    // A whole network: the images streamed and the simulator's own figures, from the manifest.
    let net = (manifest.kind == DesignKind::Net).then(|| NetFigures::read(&manifest, dir));
    if let Some(n) = &net {
        println!(
            "network  {} images{}, {} mismatches, rtl {} cycles at {}, model {} cycles at {}",
            n.images.map_or("?".to_string(), |i| i.to_string()),
            if n.data == "digits" {
                String::new()
            } else {
                format!(" of {}", n.data)
            },
            replay.mismatches,
            replay.cycles,
            rate(replay.cycles_per_second()),
            n.model_cycles.map_or("?".to_string(), |c| c.to_string()),
            rate(n.model_cycles_per_second.unwrap_or(0.0)),
        );
    }
    if args.json {
        let failure = replay.failure.as_ref().map(|f| {
            serde_json::json!({
                "cycle": f.cycle, "in": f.input_hex, "got": f.got_hex, "expected": f.expected_hex,
            })
        });
        let mut summary = serde_json::json!({
            "top": manifest.top,
            "vectors": vectors.checked.len(),
            "cycles": replay.cycles,
            "checked": replay.checked,
            "mismatches": replay.mismatches,
            "lint_warnings": warnings.len(),
            "failure": failure,
            "build_seconds": replay.build_seconds,
            "run_seconds": replay.run_seconds,
            "cycles_per_second": replay.cycles_per_second(),
            "cached": replay.cached,
        });
        if let (Some(n), Some(obj)) = (&net, summary.as_object_mut()) {
            obj.insert("images".into(), serde_json::json!(n.images));
            obj.insert("data".into(), serde_json::json!(n.data));
            obj.insert("rtl_cycles".into(), serde_json::json!(replay.cycles));
            obj.insert("model_cycles".into(), serde_json::json!(n.model_cycles));
            obj.insert(
                "rtl_cycles_per_second".into(),
                serde_json::json!(replay.cycles_per_second()),
            );
            obj.insert(
                "model_cycles_per_second".into(),
                serde_json::json!(n.model_cycles_per_second),
            );
        }
        println!("{summary}");
    }

    let mut problems = Vec::new();
    if !warnings.is_empty() {
        problems.push(format!("lint found {} warnings", warnings.len()));
    }
    if let Some(f) = &replay.failure {
        problems.push(format!(
            "replay found a mismatch at cycle {} (got {}, expected {})",
            f.cycle, f.got_hex, f.expected_hex
        ));
    }
    if !problems.is_empty() {
        bail!("{}", problems.join(" and "));
    }
    Ok(())
}

/// What a network design's manifest (and its measured figures beside it) says about the
/// simulation that made its vectors.
struct NetFigures {
    images: Option<u64>,
    /// The data set the images come from (digits when the manifest names none).
    data: String,
    model_cycles: Option<u64>,
    model_cycles_per_second: Option<f64>,
}

impl NetFigures {
    fn read(m: &Manifest, dir: &Path) -> Self {
        let get = |k: &str| m.parameters.get(k);
        // Measured speeds live in timing.json, not in the manifest; a missing file means unknown.
        let timing: Option<serde_json::Value> = std::fs::read_to_string(dir.join(TIMING_FILE))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        NetFigures {
            images: get("images").and_then(|v| v.parse().ok()),
            data: get("data").cloned().unwrap_or_else(|| "digits".to_string()),
            model_cycles: get("model_cycles").and_then(|v| v.parse().ok()),
            model_cycles_per_second: timing
                .as_ref()
                .and_then(|t| t["model_cycles_per_second"].as_f64()),
        }
    }
}

/// A simulation speed with three significant digits: `12.3 M cycles/s`, `5.41 k cycles/s`.
fn rate(cycles_per_second: f64) -> String {
    let (value, unit) = if cycles_per_second >= 1e6 {
        (cycles_per_second / 1e6, "M ")
    } else if cycles_per_second >= 1e3 {
        (cycles_per_second / 1e3, "k ")
    } else {
        (cycles_per_second, "")
    };
    let decimals = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.decimals$} {unit}cycles/s")
}
