//! `qforge import`: reads a QONNX model into the integer network, says how, and writes it as RON.

use clap::Args;
use qforge::qnn::qonnx;
use std::path::PathBuf;

/// Arguments of `qforge import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The QONNX file (`.onnx`): a quantized MLP as Brevitas, QKeras (via qonnx) or FINN export it.
    model: PathBuf,
    /// Output integer model file (RON), which every command that takes a model reads.
    #[arg(short, long)]
    output: PathBuf,
}

/// Runs `qforge import`.
pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    qforge::flow::check_parent(&args.output)?;
    let (net, report) = qonnx::load(&args.model)?;
    println!("model        {}", args.model.display());
    for line in &report.lines {
        println!("{line}");
    }
    println!(
        "network      {} layers, {} MACs per sample, {} weight bits",
        net.layers.len(),
        net.macs(),
        net.weight_bits()
    );
    net.save(&args.output)?;
    println!("wrote {}", args.output.display());
    Ok(())
}
