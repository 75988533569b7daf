//! Evaluation of float or integer models on a labelled data set: accuracy and throughput.

use super::engine::Engine;
use super::error::QnnError;
use super::net::QNet;
use crate::nn::{self, Dataset, Model};
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// A model file of either kind.
#[derive(Clone, Debug)]
pub enum AnyModel {
    /// A float model (`Model(...)`).
    Float(Model),
    /// An integer model file.
    Integer(QNet),
}

/// A model made by another tool: an hls4ml project (`hls4ml:DIR`, [`super::hls4ml`]) or a
/// QONNX file (`.onnx`, [`super::qonnx`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Imported {
    /// An hls4ml project folder.
    Hls4ml(std::path::PathBuf),
    /// A QONNX file.
    Qonnx,
}

impl Imported {
    /// What `path` names, if it is another tool's model (nothing is read).
    pub fn of(path: &Path) -> Option<Imported> {
        if let Some(dir) = super::hls4ml::project_dir(path) {
            return Some(Imported::Hls4ml(dir));
        }
        super::qonnx::is_onnx(path).then_some(Imported::Qonnx)
    }

    /// The kind, for messages: "an hls4ml project", "a QONNX model".
    pub fn kind(&self) -> &'static str {
        match self {
            Imported::Hls4ml(_) => "an hls4ml project",
            Imported::Qonnx => "a QONNX model",
        }
    }

    /// Reads it (`path` as given to [`Imported::of`]) into the integer network.
    pub fn load(&self, path: &Path) -> Result<QNet, QnnError> {
        match self {
            Imported::Hls4ml(dir) => super::hls4ml::load_dir(dir),
            Imported::Qonnx => super::qonnx::load(path).map(|(net, _)| net),
        }
    }
}

/// Reads a model file, telling float (`Model(`) from integer models by their first token; a
/// `.onnx` file is imported as QONNX ([`super::qonnx`]), `hls4ml:DIR` read as an hls4ml project
/// ([`super::hls4ml`]).
pub fn load_any(path: &Path) -> Result<AnyModel, QnnError> {
    if let Some(imported) = Imported::of(path) {
        return imported.load(path).map(AnyModel::Integer);
    }
    let text = std::fs::read_to_string(path).map_err(|source| QnnError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("//"))
        .unwrap_or("");
    // A file of another kind (a quantization spec, an architecture) starts with its own name.
    let word: String = first
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if !word.is_empty() && word != "Model" && word != "QNet" {
        let line = text.lines().position(|l| l.trim() == first).unwrap_or(0) + 1;
        let col = text
            .lines()
            .nth(line - 1)
            .map_or(0, |l| l.len() - l.trim_start().len())
            + 1;
        return Err(QnnError::Parse {
            path: path.display().to_string(),
            line,
            col,
            message: format!(
                "expected a float model `Model(...)` or an integer model `(...)`, found `{word}(`"
            ),
        });
    }
    if first.starts_with("Model(") || first.starts_with("Model (") {
        Model::from_ron_str(&text, &path.display().to_string())
            .map(AnyModel::Float)
            .map_err(|e| match e {
                // The message names the file and position already.
                nn::NnError::Syntax {
                    origin,
                    line,
                    col,
                    message,
                } => QnnError::Parse {
                    path: origin,
                    line,
                    col,
                    message,
                },
                e => QnnError::Import {
                    path: path.display().to_string(),
                    message: e.to_string(),
                },
            })
    } else {
        QNet::from_ron_str(&text, &path.display().to_string()).map(AnyModel::Integer)
    }
}

/// Accuracy and speed of one evaluation.
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    /// `float` or `integer`.
    pub kind: &'static str,
    /// Fraction of samples classified correctly.
    pub accuracy: f64,
    /// Number of samples.
    pub samples: usize,
    /// Multiply-accumulates per sample.
    pub macs_per_sample: u64,
    /// Multiply-accumulates of one pass over the data.
    pub macs: u64,
    /// Seconds per pass (the fastest of the repeats).
    pub seconds: f64,
    /// MACs per second of the fastest pass.
    pub mac_per_s: f64,
    /// Weight memory in bits (32 per float weight).
    pub weight_bits: u64,
}

/// Multiply-accumulates per sample of a float model (Dense and Conv2d layers).
pub fn float_macs(model: &Model) -> u64 {
    let Ok(shapes) = model.shapes() else { return 0 };
    model
        .layers
        .iter()
        .zip(shapes.iter().skip(1))
        .map(|(l, out)| match l {
            nn::Layer::Dense {
                in_features,
                out_features,
                ..
            } => (in_features * out_features) as u64,
            nn::Layer::Conv2d {
                in_channels,
                kernel_h,
                kernel_w,
                ..
            } => (out.iter().product::<usize>() * in_channels * kernel_h * kernel_w) as u64,
            _ => 0,
        })
        .sum()
}

fn correct(pred: impl Iterator<Item = usize>, labels: &[u8]) -> f64 {
    let hits = pred.zip(labels).filter(|(p, l)| *p == **l as usize).count();
    hits as f64 / labels.len().max(1) as f64
}

/// Evaluates an integer model `repeat` times (at least once); returns the report and the raw
/// outputs (accumulators or codes) of the last pass.
pub fn eval_integer(
    net: &QNet,
    data: &Dataset,
    repeat: usize,
) -> Result<(EvalReport, Vec<i64>), QnnError> {
    let engine = Engine::new(net)?;
    let codes = net.quantize_inputs(&data.inputs);
    let mut best = f64::INFINITY;
    let mut out = Vec::new();
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        out = engine.infer(&codes)?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    let n = net.out_features();
    let accuracy = correct(out.chunks_exact(n).map(|r| net.class_of(r)), &data.labels);
    let macs = net.macs() * data.len() as u64;
    Ok((
        EvalReport {
            kind: "integer",
            accuracy,
            samples: data.len(),
            macs_per_sample: net.macs(),
            macs,
            seconds: best,
            mac_per_s: macs as f64 / best.max(1e-12),
            weight_bits: net.weight_bits(),
        },
        out,
    ))
}

/// Evaluates a float model `repeat` times; returns the report and the logits of the last pass.
pub fn eval_float(
    model: &Model,
    data: &Dataset,
    repeat: usize,
) -> Result<(EvalReport, Vec<f32>), QnnError> {
    let err = |e: nn::NnError| QnnError::Net(e.to_string());
    let mut best = f64::INFINITY;
    let mut out = Vec::new();
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        out = model.forward(&data.inputs).map_err(err)?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    let n = out.len() / data.len().max(1);
    let accuracy = correct(out.chunks_exact(n.max(1)).map(nn::argmax), &data.labels);
    let per = float_macs(model);
    let params: usize = model.layers.iter().map(|l| l.param_count()).sum();
    Ok((
        EvalReport {
            kind: "float",
            accuracy,
            samples: data.len(),
            macs_per_sample: per,
            macs: per * data.len() as u64,
            seconds: best,
            mac_per_s: (per * data.len() as u64) as f64 / best.max(1e-12),
            weight_bits: 32 * params as u64,
        },
        out,
    ))
}
