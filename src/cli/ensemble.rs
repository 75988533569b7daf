//! `qforge ensemble`: the accuracy of several integer networks combined by vote or by summed
//! logits ([`qforge::qnn::ensemble`]), beside each member's own.

use super::eval::load_data;
use anyhow::{bail, Context};
use clap::Args;
use qforge::accel::combine::CombineParams;
use qforge::accel::Unit;
use qforge::hdl::print_module;
use qforge::outdir::{check, OutputError, OutputKind, Staging};
use qforge::qnn::ensemble::{Combine, Ensemble};
use qforge::qnn::{Engine, Layer, QNet};
use std::path::PathBuf;

/// Arguments of `qforge ensemble`.
#[derive(Args, Debug)]
pub struct EnsembleArgs {
    /// A member: an integer network (RON, as `quantize`, `train --qat` or `search` write it);
    /// give two or more.
    #[arg(long = "model", required = true, value_name = "NET.ron")]
    models: Vec<PathBuf>,
    /// Data set: `digits` (bundled) or `mnist:DIR`.
    #[arg(long, default_value = "digits")]
    data: String,
    /// Width of the multipliers that bring the members' class scales to one scale.
    #[arg(long, default_value_t = 16)]
    scale_bits: u32,
    /// Also write the combine unit's Verilog (for --combine) into this folder: absent, empty,
    /// or one qforge wrote.
    #[arg(long, value_name = "DIR")]
    verilog: Option<PathBuf>,
    /// The combine unit --verilog writes.
    #[arg(long, value_enum, default_value_t = CombineArg::Sum)]
    combine: CombineArg,
    /// Replace a qforge output folder of another kind at --verilog.
    #[arg(long)]
    force: bool,
}

/// The combine rule on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum CombineArg {
    /// Summed scaled logits.
    Sum,
    /// Majority vote.
    Vote,
}

/// Runs `qforge ensemble`.
pub fn run(args: EnsembleArgs) -> anyhow::Result<()> {
    if args.models.len() < 2 {
        bail!(
            "give at least two --model networks (an ensemble of {} is the network itself)",
            args.models.len()
        );
    }
    if !(1..=32).contains(&args.scale_bits) {
        bail!("--scale-bits ({}) must be 1 to 32", args.scale_bits);
    }
    if let Some(dir) = &args.verilog {
        // Refused before anything is read.
        check(dir, OutputKind::Ensemble, args.force)?;
    }
    let members = args
        .models
        .iter()
        .map(|p| QNet::load(p).with_context(|| format!("reading the member {}", p.display())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (_, test) = load_data(&args.data)?;
    for (m, path) in members.iter().zip(&args.models) {
        super::eval::check_fits(path, (m.in_features(), m.out_features()), &args.data, &test)?;
    }
    let ensemble = Ensemble::new(members, args.scale_bits)?;
    let codes = ensemble.members()[0].quantize_inputs(&test.inputs);
    let mut outputs = Vec::new();
    for (m, path) in ensemble.members().iter().zip(&args.models) {
        let engine = Engine::new(m).with_context(|| format!("member {}", path.display()))?;
        outputs.push(engine.infer(&codes)?);
    }
    let classes = ensemble.members()[0].out_features();
    let n = test.labels.len();
    let accuracy = |hits: usize| hits as f64 / n.max(1) as f64;
    for ((m, out), path) in ensemble.members().iter().zip(&outputs).zip(&args.models) {
        let hits = out
            .chunks_exact(classes)
            .zip(&test.labels)
            .filter(|(o, &l)| m.class_of(o) == usize::from(l))
            .count();
        println!(
            "member   {}  accuracy {:.4}",
            path.display(),
            accuracy(hits)
        );
    }
    for combine in [Combine::Vote, Combine::Sum] {
        let hits = (0..n)
            .filter(|&i| {
                let rows: Vec<&[i64]> = outputs
                    .iter()
                    .map(|o| &o[i * classes..(i + 1) * classes])
                    .collect();
                ensemble.class_of(&rows, combine) == usize::from(test.labels[i])
            })
            .count();
        println!(
            "ensemble {:<4} of {}  accuracy {:.4}  ({n} test images of {}){}",
            combine.name(),
            args.models.len(),
            accuracy(hits),
            args.data,
            unit_cost(&ensemble, combine)
        );
    }
    if let Some(dir) = &args.verilog {
        let combine = match args.combine {
            CombineArg::Sum => Combine::Sum,
            CombineArg::Vote => Combine::Vote,
        };
        let bits = code_bits(&ensemble).context(
            "the members' output code widths are not known (a last layer that is not dense, or an accumulator without a width)",
        )?;
        let unit = CombineParams::new(combine, bits, ensemble.constants().to_vec())?;
        let staging = Staging::begin(dir, OutputKind::Ensemble, args.force)?;
        for m in unit.verilog()? {
            let path = staging.path().join(format!("{}.v", m.name));
            std::fs::write(&path, print_module(&m))
                .map_err(|e| OutputError::io("writing", &path, e))?;
        }
        staging.commit()?;
        println!(
            "wrote {}/{}.v (synthesize with: yosys -p \"read_verilog {}/{}.v; synth_ice40 -top {}; stat\")",
            dir.display(),
            unit.name(),
            dir.display(),
            unit.name(),
            unit.name()
        );
    }
    Ok(())
}

/// The widest last-layer accumulator of the members: the width of their output codes.
fn code_bits(ensemble: &Ensemble) -> Option<u32> {
    let widths: Option<Vec<u32>> = ensemble
        .members()
        .iter()
        .map(|m| match m.layers.last() {
            Some(Layer::Dense(d)) => d.accumulator.bits,
            _ => None,
        })
        .collect();
    widths.and_then(|w| w.into_iter().max())
}

/// The combine unit's estimated cost, when the members' output code widths are known (the
/// last layer's accumulator width) and the unit can be built for them.
fn unit_cost(ensemble: &Ensemble, combine: Combine) -> String {
    let Some(bits) = code_bits(ensemble) else {
        return String::new();
    };
    match CombineParams::new(combine, bits, ensemble.constants().to_vec()) {
        Ok(unit) => {
            let c = unit.cost();
            format!(
                "; combine unit ({bits}-bit codes): about {} LUT4, {} FF",
                c.lut, c.ff
            )
        }
        Err(_) => String::new(),
    }
}
