//! `qforge train --qat QUANT.ron`: quantization-aware training into an integer network.

use super::eval::calibration;
use super::train::{architecture, widened, TrainArgs};
use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use qforge::nn::{Dataset, Model};
use qforge::qat::{agreement, train_qat, QatError, QatNet};
use qforge::qnn::eval::eval_integer;
use qforge::qnn::quantize::QuantSpec;
use qforge::qnn::{Layer, QNet};
use std::io::IsTerminal;
use std::path::Path;

/// Runs quantization-aware training for `train --qat`.
pub(super) fn run(
    args: &TrainArgs,
    spec_path: &Path,
    train: Dataset,
    test: Dataset,
) -> anyhow::Result<()> {
    if args.optimizer != "adam" {
        bail!(
            "--optimizer {} is not available with --qat (quantization-aware training uses Adam)",
            args.optimizer
        );
    }
    let mut spec = QuantSpec::load(spec_path)?;
    let mut training = spec.training.clone();
    if let Some(lr) = args.lr {
        training.lr = lr;
    }
    if let Some(b) = args.batch_size {
        training.batch_size = b;
    }
    if let Err((_, e)) = training.check() {
        bail!("{e} (from {} and the command line)", spec_path.display());
    }
    spec.training = training;
    let model = match &args.init {
        Some(path) => Model::load(path)?,
        None => {
            let (arch, shape) = architecture(&args.arch, &train)?;
            widened(arch, args.width)?
                .build(&shape, args.seed)
                .context("cannot build the architecture")?
        }
    };
    if model.input_size() != train.sample_size() {
        bail!(
            "the model takes {} inputs, but {} samples have {} values",
            model.input_size(),
            args.data,
            train.sample_size()
        );
    }
    let calibration = calibration(&spec, &train);
    let mut net = QatNet::new(&model, &spec, calibration)
        .with_context(|| format!("cannot train {} for {}", model.name, spec_path.display()))?;
    let code = spec.describe()?;
    println!(
        "quantization-aware training of {} for {code} on {} ({} train, {} test samples), {} epochs",
        model.name,
        args.data,
        train.len(),
        test.len(),
        args.epochs
    );
    let before = eval_integer(&net.export(calibration)?, &test, 1)?
        .0
        .accuracy;
    println!("epoch   0  integer test acc {before:.4} (post-training quantization)");
    let bar = progress_bar(args.epochs as u64);
    let start = std::time::Instant::now();
    let mut last = before;
    train_qat(&mut net, &train, args.epochs, args.seed, |report, net| {
        let acc = eval_integer(&net.export(calibration)?, &test, 1)?
            .0
            .accuracy;
        last = acc;
        // with channel pruning, the open channels of each hidden layer
        let channels = if net.training.channels.is_some() {
            let p = net.pruning();
            let open: Vec<String> = p[..p.len() - 1]
                .iter()
                .map(|l| format!("{}/{}", l.kept, l.channels))
                .collect();
            format!("  channels {}", open.join(" "))
        } else {
            String::new()
        };
        bar.suspend(|| {
            println!(
                "epoch {:>3}  loss {:.4}  fake-quant train acc {:.4}  integer test acc {acc:.4}{channels}  ({:.1} s)",
                report.epoch,
                report.loss,
                report.train_accuracy,
                start.elapsed().as_secs_f64()
            )
        });
        bar.set_message(format!("loss {:.4}  test acc {acc:.4}", report.loss));
        bar.inc(1);
        Ok::<(), QatError>(())
    })?;
    bar.finish_and_clear();
    let mut qnet = net.export(calibration)?;
    qnet.name = format!("{} {code} qat", model.name);
    let a = agreement(&net, &qnet, &test)?;
    println!(
        "integer test acc {last:.4} (from {before:.4}); fake-quant agrees on {}/{} classes ({:.4}) and {}/{} activation codes ({:.4})",
        a.same_class,
        a.samples,
        a.class_fraction(),
        a.same_codes,
        a.codes,
        a.code_fraction()
    );
    print_pruning(&net, &qnet);
    qnet.save(&args.output)?;
    println!("wrote {}", args.output.display());
    if let Some(path) = &args.float_out {
        let command = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
        let header = [
            format!("float shadow weights of quantization-aware training: qforge {command}"),
            format!("integer test accuracy {last:.4} on {}", args.data),
        ];
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        net.model.save(path, &header)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// One line per layer that pruning touched: its pruned weights (and how many of them were
/// already at level 0), the zero weights of the integer layer, its kept channels.
fn print_pruning(net: &QatNet, qnet: &QNet) {
    let t = &net.training;
    if t.prune.is_none() && t.channels.is_none() {
        return;
    }
    let zeros: Vec<(usize, usize)> = qnet
        .layers
        .iter()
        .filter_map(|l| match l {
            Layer::Dense(d) => Some(d.levels()),
            Layer::Conv2d(c) => Some(c.levels()),
            _ => None,
        })
        .map(|levels| (levels.iter().filter(|&&v| v == 0).count(), levels.len()))
        .collect();
    let percent = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    for (p, &(zero, total)) in net.pruning().iter().zip(&zeros) {
        let mut line = format!("layer {}:", p.layer);
        if t.prune.is_some() {
            line += &format!(
                " {}/{} weights pruned ({:.1}%, {:.1}% of them already at level 0);",
                p.pruned,
                p.weights,
                percent(p.pruned, p.weights),
                percent(p.pruned_at_zero, p.pruned)
            );
        }
        if let Some(c) = t
            .channels
            .filter(|_| p.kept < p.channels || p.layer + 1 < zeros.len())
        {
            line += &format!(
                " {}/{} channels kept ({});",
                p.kept,
                p.channels,
                c.method.name()
            );
        }
        line += &format!(
            " {zero}/{total} integer weights zero ({:.1}%)",
            percent(zero, total)
        );
        println!("{line}");
    }
}

fn progress_bar(len: u64) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} epoch {pos}/{len}  {msg}  ETA {eta}")
    {
        bar.set_style(style);
    }
    bar
}
