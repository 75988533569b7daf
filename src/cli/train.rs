//! `qforge train`: trains a float network on digits or MNIST and writes it as a RON model file.

use super::eval::load_data;
use anyhow::{bail, Context};
use clap::Args;
use qforge::nn::{self, Architecture, Dataset, Optimizer, TrainConfig};
use std::path::PathBuf;

/// Arguments of `qforge train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Data set: `digits` (bundled, fixed split) or `mnist:DIR` (a folder with the four IDX files, gz or raw).
    #[arg(long, default_value = "digits")]
    pub(super) data: String,
    /// Architecture: `mlp:64-32-10`, `cnn` (conv 8@3x3, relu, maxpool 2, conv 16@3x3, relu, maxpool 2,
    /// flatten, dense 10) or a RON file `Architecture(name: .., layers: [Dense(out_features: 10), ..])`.
    #[arg(long, default_value = "mlp:64-32-10")]
    pub(super) arch: String,
    /// Widening: every hidden layer of --arch gets W times its outputs (rounded, at least 1;
    /// the last layer keeps its classes), trained from fresh weights.
    #[arg(long, value_name = "W", conflicts_with = "init")]
    pub(super) width: Option<f64>,
    /// Passes over the training set.
    #[arg(long, default_value_t = 40)]
    pub(super) epochs: usize,
    /// Seed of the initial weights and the shuffles.
    #[arg(long, default_value_t = 1)]
    pub(super) seed: u64,
    /// Samples per update [default: 32, or the --qat spec's training batch_size].
    #[arg(long)]
    pub(super) batch_size: Option<usize>,
    /// Optimizer: `adam` or `sgd` (with --momentum).
    #[arg(long, default_value = "adam")]
    pub(super) optimizer: String,
    /// Learning rate [default: 0.001, or the --qat spec's training lr].
    #[arg(long)]
    pub(super) lr: Option<f32>,
    /// Momentum for `sgd`.
    #[arg(long, default_value_t = 0.9)]
    pub(super) momentum: f32,
    /// Use only the first N training samples.
    #[arg(long)]
    pub(super) limit: Option<usize>,
    /// Quantization-aware training: the quantization spec (RON) to train for, whose optional
    /// `training: (..)` section holds the training knobs; writes the integer network.
    #[arg(long, value_name = "QUANT.ron")]
    pub(super) qat: Option<PathBuf>,
    /// With --qat: start from this float model (fine-tuning) instead of fresh weights of --arch.
    #[arg(long, value_name = "FLOAT.ron", requires = "qat")]
    pub(super) init: Option<PathBuf>,
    /// With --qat: also write the float shadow weights here.
    #[arg(long, value_name = "FLOAT.ron", requires = "qat")]
    pub(super) float_out: Option<PathBuf>,
    /// Output model file (the integer network with --qat).
    #[arg(short, long)]
    pub(super) output: PathBuf,
}

/// Runs `qforge train`.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    for (flag, value) in [
        ("--epochs", Some(args.epochs)),
        ("--batch-size", args.batch_size),
        ("--limit", args.limit),
    ] {
        if value == Some(0) {
            bail!("{flag} (0) must be at least 1");
        }
    }
    check_rates(args.lr.unwrap_or(0.001), args.momentum)?;
    // Refused before the training, not after it.
    qforge::flow::check_parent(&args.output)?;
    let (mut train_set, test_set) = load_data(&args.data)?;
    if let Some(n) = args.limit {
        train_set = train_set.truncated(n);
    }
    if let Some(spec) = &args.qat {
        return super::qat::run(&args, spec, train_set, test_set);
    }
    let (arch, shape) = architecture(&args.arch, &train_set)?;
    let arch = widened(arch, args.width)?;
    let train_set = train_set.reshaped(shape.clone())?;
    let test_set = test_set.reshaped(shape.clone())?;
    let mut model = arch
        .build(&shape, args.seed)
        .context("cannot build the architecture")?;
    let lr = args.lr.unwrap_or(0.001);
    let optimizer = match args.optimizer.as_str() {
        "adam" => Optimizer::adam(lr),
        "sgd" => Optimizer::Sgd {
            lr,
            momentum: args.momentum,
        },
        other => bail!("unknown optimizer `{other}` (expected adam or sgd)"),
    };
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size.unwrap_or(32),
        optimizer,
        seed: args.seed,
    };
    println!(
        "training {} on {} ({} train, {} test samples), {} parameters",
        model.name,
        args.data,
        train_set.len(),
        test_set.len(),
        model.layers.iter().map(|l| l.param_count()).sum::<usize>()
    );
    let start = std::time::Instant::now();
    let mut last_acc = 0.0;
    let mut eval_err = None;
    nn::train(&mut model, &train_set, &config, |report, model| match model
        .accuracy(&test_set.inputs, &test_set.labels)
    {
        Ok(acc) => {
            last_acc = acc;
            println!(
                "epoch {:>3}  loss {:.4}  train acc {:.4}  test acc {:.4}  ({:.1} s)",
                report.epoch,
                report.loss,
                report.train_accuracy,
                acc,
                start.elapsed().as_secs_f64()
            );
        }
        Err(e) => eval_err = Some(e),
    })?;
    if let Some(e) = eval_err {
        return Err(e.into());
    }
    if let Err(e) = model.check_finite() {
        bail!("training diverged ({e}); try a smaller --lr");
    }
    let command = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let header = [
        format!("trained by: qforge {command}"),
        format!("test accuracy {last_acc:.4} on {}", args.data),
    ];
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    model.save(&args.output, &header)?;
    println!("wrote {}", args.output.display());
    Ok(())
}

/// `arch` widened by `width` (`--width`), or as it is.
pub(super) fn widened(arch: Architecture, width: Option<f64>) -> anyhow::Result<Architecture> {
    match width {
        Some(w) => arch
            .widened(w)
            .map_err(|_| anyhow::anyhow!("--width ({w}) must be a number above 0")),
        None => Ok(arch),
    }
}

/// The largest learning rate accepted: far above any rate that trains, far below one that
/// overflows the weights in the first step.
const MAX_LR: f32 = 10.0;

/// Refuses a learning rate that is not finite, not positive or absurdly large, and a momentum
/// outside [0, 1).
fn check_rates(lr: f32, momentum: f32) -> anyhow::Result<()> {
    if !(lr.is_finite() && lr > 0.0 && lr <= MAX_LR) {
        bail!("--lr ({lr}) must be a number above 0 and at most {MAX_LR}");
    }
    if !(momentum.is_finite() && (0.0..1.0).contains(&momentum)) {
        bail!("--momentum ({momentum}) must be at least 0 and below 1");
    }
    Ok(())
}

/// The architecture and the sample shape it trains on (`[64]` digits become `[1, 8, 8]` for convolutions).
pub(super) fn architecture(
    spec: &str,
    data: &Dataset,
) -> anyhow::Result<(Architecture, Vec<usize>)> {
    let classes = data
        .labels
        .iter()
        .max()
        .map_or(0, |&m| m as usize + 1)
        .max(10);
    let image_shape = if data.shape == [64] {
        vec![1, 8, 8]
    } else {
        data.shape.clone()
    };
    if let Some(sizes) = spec.strip_prefix("mlp:") {
        let sizes: Vec<usize> = sizes
            .split('-')
            .map(|s| match s.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(anyhow::anyhow!(
                    "layer size `{s}` in `{spec}` must be a whole number of at least 1"
                )),
            })
            .collect::<anyhow::Result<_>>()?;
        return Ok((Architecture::mlp(&sizes, &data.shape)?, data.shape.clone()));
    }
    if spec == "cnn" {
        return Ok((Architecture::small_cnn(classes, &image_shape), image_shape));
    }
    let text = std::fs::read_to_string(spec).map_err(|e| {
        anyhow::anyhow!("`{spec}` is neither mlp:SIZES, cnn nor a readable architecture file ({e})")
    })?;
    let arch: Architecture = ron::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{spec}:{}:{}: {}",
            e.span.start.line,
            e.span.start.col,
            e.code
        )
    })?;
    let shape = match arch.layers.first() {
        Some(nn::LayerSpec::Conv2d { .. } | nn::LayerSpec::MaxPool2d { .. }) => image_shape,
        _ => data.shape.clone(),
    };
    Ok((arch, shape))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learning_rates_must_be_finite_positive_and_sane() {
        assert!(check_rates(0.001, 0.9).is_ok());
        assert!(check_rates(MAX_LR, 0.0).is_ok());
        for lr in [f32::NAN, f32::INFINITY, 0.0, -0.1, 1e30, 10.5] {
            let e = check_rates(lr, 0.9).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--lr ({lr})")), "{e}");
        }
        for m in [f32::NAN, -0.1, 1.0, 2.0] {
            let e = check_rates(0.001, m).unwrap_err().to_string();
            assert!(e.starts_with("--momentum"), "{e}");
        }
    }
}
