//! `qforge eval`: accuracy, MACs and throughput of a float or integer model on a data set.

use anyhow::{bail, Context};
use clap::Args;
use qforge::nn::data::source::DataSource;
use qforge::nn::Dataset;
use qforge::qnn::eval::{eval_float, eval_integer, load_any, AnyModel};
use qforge::qnn::quantize::{quantize_model, QuantSpec};
use std::path::PathBuf;

/// Arguments of `qforge eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A float model (`Model(...)`), an integer model file, a QONNX model (`.onnx`) or an hls4ml
    /// project (`hls4ml:DIR`).
    #[arg(long)]
    model: PathBuf,
    /// Quantize a float model on the fly with this spec (calibrated on the training set).
    #[arg(long)]
    quant: Option<PathBuf>,
    /// Data set: `digits` (bundled, fixed split; the test part is evaluated) or `mnist:DIR`.
    #[arg(long, default_value = "digits")]
    data: String,
    /// Print one JSON object on the last line.
    #[arg(long)]
    json: bool,
    /// Run inference this many times and report the fastest pass.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Write the outputs (one sample per line, tab-separated; raw integers for integer models).
    #[arg(long)]
    dump_logits: Option<PathBuf>,
}

/// The (train, test) parts of `digits` or `mnist:DIR`.
pub fn load_data(spec: &str) -> anyhow::Result<(Dataset, Dataset)> {
    Ok(spec.parse::<DataSource>()?.load()?)
}

/// Refuses a model whose input size differs from the data set's samples, or that has fewer
/// outputs than the data set has classes: evaluating it would read the data in the wrong
/// chunks and report a meaningless accuracy.
pub fn check_fits(
    model: &std::path::Path,
    (inputs, outputs): (usize, usize),
    data_name: &str,
    data: &Dataset,
) -> anyhow::Result<()> {
    let shape = |s: &[usize]| s.iter().map(usize::to_string).collect::<Vec<_>>().join("x");
    if inputs != data.sample_size() {
        bail!(
            "{}: the model takes {inputs} inputs per sample, but {data_name} samples have {} ({})",
            model.display(),
            data.sample_size(),
            shape(&data.shape)
        );
    }
    let classes = data.labels.iter().max().map_or(0, |&m| usize::from(m) + 1);
    if outputs < classes {
        bail!(
            "{}: the model has {outputs} outputs, but {data_name} has {classes} classes",
            model.display()
        );
    }
    Ok(())
}

/// The input and output sizes of a float model.
pub fn float_sizes(model: &qforge::nn::Model) -> anyhow::Result<(usize, usize)> {
    let out = model.output_shape()?;
    Ok((model.input_size(), out.iter().product()))
}

/// The first `spec.calibration_samples` training inputs.
pub fn calibration<'a>(spec: &QuantSpec, train: &'a Dataset) -> &'a [f32] {
    let n = spec.calibration_samples.clamp(1, train.len().max(1));
    &train.inputs[..(n * train.sample_size()).min(train.inputs.len())]
}

/// A quantization error as it is when it names its file and position, else with the model
/// file it is about.
pub fn located_or(e: qforge::qnn::QnnError, model: &std::path::Path) -> anyhow::Error {
    match e {
        qforge::qnn::QnnError::Invalid { .. } | qforge::qnn::QnnError::Parse { .. } => e.into(),
        e => anyhow::Error::new(e).context(format!("cannot quantize {}", model.display())),
    }
}

/// Runs `qforge eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    if args.repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    if let Some(path) = &args.dump_logits {
        qforge::flow::check_parent(path)?;
    }
    let (train, test) = load_data(&args.data)?;
    let model = load_any(&args.model)?;
    let sizes = match &model {
        AnyModel::Float(m) => float_sizes(m)?,
        AnyModel::Integer(n) => (n.in_features(), n.out_features()),
    };
    check_fits(&args.model, sizes, &args.data, &test)?;
    let model = match (model, &args.quant) {
        (AnyModel::Float(m), Some(q)) => {
            let (spec, source) = QuantSpec::load_source(q)?;
            let net = quantize_model(&m, &spec, calibration(&spec, &train))
                .map_err(|e| located_or(e.in_file(&source), &args.model))?;
            AnyModel::Integer(net)
        }
        (AnyModel::Integer(_), Some(_)) => bail!(
            "--quant applies to float models; {} is already an integer model",
            args.model.display()
        ),
        (m, None) => m,
    };
    let (report, dump) = match &model {
        AnyModel::Integer(net) => {
            let (r, out) = eval_integer(net, &test, args.repeat)?;
            let n = net.out_features();
            let text: String = out
                .chunks_exact(n)
                .map(|row| {
                    row.iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join("\t")
                        + "\n"
                })
                .collect();
            (r, text)
        }
        AnyModel::Float(m) => {
            let (r, out) = eval_float(m, &test, args.repeat)?;
            let n = out.len() / test.len().max(1);
            let text: String = out
                .chunks_exact(n.max(1))
                .map(|row| {
                    row.iter()
                        .map(f32::to_string)
                        .collect::<Vec<_>>()
                        .join("\t")
                        + "\n"
                })
                .collect();
            (r, text)
        }
    };
    if let Some(path) = &args.dump_logits {
        qforge::outdir::write_file(path, dump.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("model       {} ({})", args.model.display(), report.kind);
    println!(
        "data        {} test split, {} samples",
        args.data, report.samples
    );
    println!("accuracy    {:.4}", report.accuracy);
    println!(
        "MACs        {} per sample, {} per pass",
        report.macs_per_sample, report.macs
    );
    println!("weights     {} bits", report.weight_bits);
    println!(
        "throughput  {:.3e} MAC/s ({:.3} ms per pass, best of {})",
        report.mac_per_s,
        report.seconds * 1e3,
        args.repeat
    );
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}
