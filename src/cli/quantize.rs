//! `qforge quantize`: turns a float model and a quantization spec into an integer model file.

use super::eval::{calibration, check_fits, float_sizes, load_data, located_or};
use clap::Args;
use qforge::nn::Model;
use qforge::qnn::quantize::{quantize_model, QuantSpec};
use std::path::PathBuf;

/// Arguments of `qforge quantize`.
#[derive(Args, Debug)]
pub struct QuantizeArgs {
    /// The float model (RON).
    #[arg(long)]
    model: PathBuf,
    /// The quantization spec (RON), e.g. models/quant_uniform8.ron.
    #[arg(long)]
    spec: PathBuf,
    /// Data set whose training part calibrates the activation ranges: `digits` or `mnist:DIR`.
    #[arg(long, default_value = "digits")]
    data: String,
    /// Print each layer's accumulator certificate.
    #[arg(long)]
    certificates: bool,
    /// Output integer model file.
    #[arg(short, long)]
    output: PathBuf,
}

/// Runs `qforge quantize`.
pub fn run(args: QuantizeArgs) -> anyhow::Result<()> {
    qforge::flow::check_parent(&args.output)?;
    let model = Model::load(&args.model)?;
    let (spec, source) = QuantSpec::load_source(&args.spec)?;
    let (train, _) = load_data(&args.data)?;
    check_fits(&args.model, float_sizes(&model)?, &args.data, &train)?;
    let net = quantize_model(&model, &spec, calibration(&spec, &train))
        .map_err(|e| located_or(e.in_file(&source), &args.model))?;
    net.save(&args.output)?;
    println!(
        "{}: {} layers, {} MACs per sample, {} weight bits",
        net.name,
        net.layers.len(),
        net.macs(),
        net.weight_bits()
    );
    if args.certificates {
        for c in net.certificates() {
            println!("{c}");
        }
    }
    println!("wrote {}", args.output.display());
    Ok(())
}
