//! `qforge demo`: the main job on the bundled digits MLP. It quantizes the model three ways
//! (accuracy and weight memory), plans and simulates the 4-bit PoT accelerator cycle by cycle,
//! writes its Verilog, proves it equal to the simulator in Verilator on every test image (when
//! Verilator is installed), and ends with a small bit-width sweep and its plots.

use super::eval::load_data;
use anyhow::Context;
use clap::{Args, Parser};
use qforge::explore::grid::Grid;
use qforge::explore::meta::Meta;
use qforge::explore::sweep_file::SweepFile;
use qforge::nn::{self, Architecture, Model, Optimizer, TrainConfig};
use qforge::outdir::{check, Existing, OutputKind};
use qforge::qnn::eval::{eval_float, eval_integer};
use qforge::qnn::quantize::{quantize_model, QuantSpec};
use qforge::verify::manifest::Manifest;
use qforge::verify::tools::{locate, Tool};
use std::path::PathBuf;

/// The example specs, embedded so the demo runs outside the source tree.
const SPECS: [(&str, &str, &str); 3] = [
    (
        "uniform",
        "w8 a8",
        include_str!("../../models/quant_uniform8.ron"),
    ),
    (
        "pot",
        "w4 a4",
        include_str!("../../models/quant_pot4_a4.ron"),
    ),
    (
        "uniform",
        "w4 a4",
        include_str!("../../models/quant_uniform4.ron"),
    ),
];

/// Arguments of `qforge demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// The float model; trained (40 epochs, seed 1) and written here if missing.
    #[arg(long, default_value = "models/digits_mlp.ron")]
    model: PathBuf,
    /// Where the accelerator design and the sweep results go.
    #[arg(short = 'o', long = "out", default_value = "out/demo")]
    out: PathBuf,
    /// The sweep run at the end.
    #[arg(long, default_value = "models/sweep_default.ron")]
    sweep: PathBuf,
}

/// Runs `qforge demo`.
pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let (train, test) = load_data("digits")?;
    let model = if args.model.exists() {
        Model::load(&args.model)?
    } else {
        println!(
            "{} is missing: training it (40 epochs)",
            args.model.display()
        );
        let mut m = Architecture::mlp(&[64, 32, 10], &train.shape)?.build(&train.shape, 1)?;
        let config = TrainConfig {
            epochs: 40,
            batch_size: 32,
            optimizer: Optimizer::adam(0.001),
            seed: 1,
        };
        nn::train(&mut m, &train, &config, |_, _| {})?;
        if let Some(dir) = args.model.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        m.save(
            &args.model,
            &["trained by: qforge demo (mlp:64-32-10, 40 epochs, seed 1)"],
        )?;
        m
    };
    let (float, _) = eval_float(&model, &test, 1)?;
    println!("digits MLP {} on {} test samples", model.name, test.len());
    println!(
        "{:<10} {:<7} {:>9} {:>14} {:>12}",
        "scheme", "bits", "accuracy", "weight bits", "accumulator"
    );
    println!(
        "{:<10} {:<7} {:>9.4} {:>14} {:>12}",
        "float32", "w32 a32", float.accuracy, float.weight_bits, "-"
    );
    for (scheme, bits, text) in SPECS {
        let spec = QuantSpec::from_ron_str(text, scheme)?;
        let n = spec.calibration_samples.min(train.len());
        let net = quantize_model(&model, &spec, &train.inputs[..n * train.sample_size()])
            .with_context(|| format!("cannot quantize to {scheme} {bits}"))?;
        let (r, _) = eval_integer(&net, &test, 1)?;
        let acc: Vec<String> = net
            .certificates()
            .iter()
            .map(|c| c.bits.to_string())
            .collect();
        println!(
            "{:<10} {:<7} {:>9.4} {:>14} {:>12}",
            scheme,
            bits,
            r.accuracy,
            r.weight_bits,
            acc.join("/")
        );
    }
    println!();
    accelerator(&args)?;
    println!();
    sweep(&args)
}

/// Runs one qforge command line, as a user would type it after `qforge`.
fn qforge(words: &[&str]) -> anyhow::Result<()> {
    let args = super::Args::try_parse_from(std::iter::once("qforge").chain(words.iter().copied()))?;
    super::run(args)
}

/// The default accelerator (4-bit PoT weights, 4-bit activations, balanced folding) for the
/// bundled model: its plan and cycle table, its Verilog, and the Verilator proof on the test set.
fn accelerator(args: &DemoArgs) -> anyhow::Result<()> {
    let dir = args.out.join("pot4_net");
    let (model, dir_s) = (args.model.to_string_lossy(), dir.to_string_lossy());
    println!(
        "== the accelerator for 4-bit PoT weights and 4-bit activations (cycle-exact simulation)"
    );
    qforge(&["hdl", "net", "--model", &model, "-o", &dir_s])?;
    if let Err(e) = locate(Tool::Verilator) {
        println!("proof skipped: {e}");
        return Ok(());
    }
    println!("== proof: the Verilog against the simulator on every test image, every cycle");
    qforge(&["verify", &dir_s])?;
    let manifest = Manifest::load(&dir)?;
    let images = manifest
        .parameters
        .get("images")
        .map_or("?", String::as_str);
    println!(
        "proof: {images} images, 0 mismatches, cycles equal ({} cycles in RTL and model)",
        manifest.cycles
    );
    Ok(())
}

/// A small default sweep of the bundled model, with the plots it draws.
///
/// A rerun resumes the demo's own folder; when the folder holds another sweep's results (the
/// sweep file changed, or an older qforge wrote it), that folder, which qforge wrote, is
/// replaced.
fn sweep(args: &DemoArgs) -> anyhow::Result<()> {
    let dir = args.out.join("sweep");
    println!("== sweep: {} (model area)", args.sweep.display());
    let file = args.sweep.display().to_string();
    let grid = Grid::new(&SweepFile::load(&args.sweep)?, &file)?;
    let ours = matches!(check(&dir, OutputKind::Sweep, false), Ok(Existing::Ours(_)));
    if ours && Meta::read(&dir)?.is_some_and(|m| m.sweep_hash != grid.hash()) {
        println!(
            "(replacing {}: it holds an older sweep's results)",
            dir.display()
        );
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    qforge(&[
        "sweep",
        &args.sweep.to_string_lossy(),
        "-o",
        &dir.to_string_lossy(),
        "--resume",
    ])?;
    println!(
        "plots: {} (open it in a browser; the PNG/SVG plots and results.csv are beside it)",
        dir.join("index.html").display()
    );
    Ok(())
}
