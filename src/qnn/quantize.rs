//! Post-training quantization of a float [`Model`] into a [`QNet`].
//!
//! The float model is read as a chain of Dense layers (BatchNorm folded into the Dense before
//! it, ReLU fused into the requantization, Flatten ignored). Weights are quantized by the spec's
//! [`TensorQuantizer`] (per tensor or per output channel, zero point 0); activation ranges are
//! calibrated on sample inputs run through the float layers; biases become accumulator units
//! (`round_half_even(b / (s_in · s_w))`); requantization gets `M / 2^S ≈ s_in · s_w / s_out`
//! with `M` of `scale_bits` bits (`M = 1` when the ratio is a power of two). The last layer
//! emits raw accumulators (logits, dequantized by `s_in · s_w`).

use super::accum::{AccOverflow, Accumulator};
use super::dense::{Dense, LayerOutput};
use super::error::QnnError;
use super::format::IntFormat;
use super::net::{round_f64, InputQuant, Layer, QNet};
use super::requant::Requant;
use super::weights::WeightScheme;
use crate::nn::{self, Model};
use crate::num::rounding::RoundingMode;
use crate::quant::calibrate::Clipping;
use crate::quant::quantizer::{ChannelQuantizer, Scheme, TensorQuantizer};
use crate::quant::tensor::{CodeKind, TensorRef};
use crate::quant::uniform::{ScaleConstraint, UniformConfig};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How activations (or inputs) are coded: unsigned after a ReLU (and for non-negative inputs),
/// else signed; zero point 0; the scale from a calibrated clipping range.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActSpec {
    /// Code width, 2..=16.
    pub bits: u32,
    /// How the clipping range is chosen from calibration data.
    pub clipping: Clipping,
    /// Round scales up to powers of two (requantization becomes a pure shift).
    #[serde(default)]
    pub power_of_two: bool,
}

/// The accumulator width to write into the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AccPolicy {
    /// The width proven from the quantized weights, bias and input ranges (never overflows).
    #[default]
    Proven,
    /// A fixed width for every layer; narrower than proven means the model wraps or saturates.
    Bits {
        /// Width.
        bits: u32,
        /// Overflow behaviour.
        overflow: AccOverflow,
    },
}

/// Overrides for one Dense layer (0-based among the Dense layers).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerOverride {
    /// Which Dense layer.
    pub index: usize,
    /// Its weight quantizer.
    #[serde(default)]
    pub weights: Option<TensorQuantizer>,
    /// Its output activation coding.
    #[serde(default)]
    pub activations: Option<ActSpec>,
}

/// A quantization spec (RON): schemes and bits for weights and activations, calibration,
/// requantization and accumulator policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantSpec {
    /// Weight quantizer for every layer (unless overridden).
    pub weights: TensorQuantizer,
    /// Activation coding of every hidden layer's output (unless overridden).
    pub activations: ActSpec,
    /// Input coding.
    pub input: ActSpec,
    /// Per-layer overrides (mixed precision).
    #[serde(default)]
    pub layers: Vec<LayerOverride>,
    /// Rounding of requantization.
    pub rounding: RoundingMode,
    /// Width of the requantization multiplier `M`.
    pub scale_bits: u32,
    /// Accumulator widths.
    #[serde(default)]
    pub accumulator: AccPolicy,
    /// Number of training samples used for calibration (the first ones).
    #[serde(default = "default_calibration")]
    pub calibration_samples: usize,
}

fn default_calibration() -> usize {
    512
}

impl QuantSpec {
    /// Parses a spec's text; `path` names it in `path:line:col` messages.
    pub fn from_ron_str(text: &str, path: &str) -> Result<QuantSpec, QnnError> {
        ron::from_str(text).map_err(|e| QnnError::Parse {
            path: path.to_string(),
            line: e.span.start.line,
            col: e.span.start.col,
            message: e.code.to_string(),
        })
    }

    /// Reads a spec file.
    pub fn load(path: &Path) -> Result<QuantSpec, QnnError> {
        let text = std::fs::read_to_string(path).map_err(|source| QnnError::Io {
            path: path.display().to_string(),
            source,
        })?;
        QuantSpec::from_ron_str(&text, &path.display().to_string())
    }

    /// A short description, e.g. `w:uniform8 a:8`.
    pub fn describe(&self) -> String {
        format!(
            "w:{} a:{}",
            scheme_name(&self.weights.scheme),
            self.activations.bits
        )
    }
}

/// `uniform8`, `pot4`, `apot5`, `binary`, `ternary`.
pub fn scheme_name(s: &Scheme) -> String {
    match s {
        Scheme::Uniform(c) => format!("uniform{}", c.bits),
        Scheme::Pot(c) => format!("pot{}", c.format.width()),
        Scheme::Apot(c) => format!("apot{}", c.term_bits * c.terms + u32::from(c.signed)),
        Scheme::Binary => "binary".into(),
        Scheme::Ternary(_) => "ternary".into(),
    }
}

struct Block {
    w: Vec<f32>,
    b: Vec<f32>,
    in_f: usize,
    out_f: usize,
    relu: bool,
}

fn q_err(message: impl Into<String>) -> QnnError {
    QnnError::Net(message.into())
}

/// The model as Dense blocks with folded BatchNorms and fused ReLUs.
fn blocks(model: &Model) -> Result<Vec<Block>, QnnError> {
    let mut out: Vec<Block> = Vec::new();
    let mut last_dense: Option<nn::Layer> = None;
    for (k, layer) in model.layers.iter().enumerate() {
        match layer {
            nn::Layer::Dense {
                in_features,
                out_features,
                weights,
                bias,
            } => {
                last_dense = Some(layer.clone());
                out.push(Block {
                    w: weights.clone(),
                    b: bias.clone(),
                    in_f: *in_features,
                    out_f: *out_features,
                    relu: false,
                });
            }
            nn::Layer::BatchNorm { .. } => {
                let (Some(prev), Some(blk)) = (&last_dense, out.last_mut()) else {
                    return Err(q_err(format!(
                        "layer {k}: a BatchNorm must follow a Dense layer"
                    )));
                };
                if blk.relu {
                    return Err(q_err(format!(
                        "layer {k}: a BatchNorm after a ReLU cannot be folded"
                    )));
                }
                let folded = nn::fold_batchnorm(prev, layer)
                    .map_err(|e| q_err(format!("layer {k}: {e}")))?;
                if let nn::Layer::Dense { weights, bias, .. } = &folded {
                    blk.w = weights.clone();
                    blk.b = bias.clone();
                }
                last_dense = Some(folded);
            }
            nn::Layer::Relu => match out.last_mut() {
                Some(blk) => blk.relu = true,
                None => return Err(q_err(format!("layer {k}: a ReLU before any Dense layer"))),
            },
            nn::Layer::Flatten => {}
            other => {
                return Err(q_err(format!(
                    "layer {k}: {} is not supported by the integer network yet",
                    other.kind()
                )))
            }
        }
    }
    if out.is_empty() {
        return Err(q_err("the model has no Dense layer"));
    }
    Ok(out)
}

/// Float forward of one block over a batch (f64 accumulation).
fn forward(b: &Block, x: &[f64]) -> Vec<f64> {
    x.chunks_exact(b.in_f)
        .flat_map(|xs| {
            (0..b.out_f).map(move |j| {
                let row = &b.w[j * b.in_f..(j + 1) * b.in_f];
                let v = f64::from(b.b[j])
                    + row
                        .iter()
                        .zip(xs)
                        .map(|(&w, &v)| f64::from(w) * v)
                        .sum::<f64>();
                if b.relu {
                    v.max(0.0)
                } else {
                    v
                }
            })
        })
        .collect()
}

/// The code format and scale for values calibrated from `values`.
fn act_scale(spec: &ActSpec, values: &[f64], signed: bool) -> Result<(IntFormat, f64), QnnError> {
    let fmt = IntFormat::new(spec.bits, signed).map_err(q_err)?;
    if !(2..=16).contains(&spec.bits) {
        return Err(q_err(format!(
            "activation bits ({}) must be between 2 and 16",
            spec.bits
        )));
    }
    let cfg = UniformConfig::new(
        spec.bits,
        signed,
        false,
        true,
        RoundingMode::HalfEven,
        if spec.power_of_two {
            ScaleConstraint::PowerOfTwo
        } else {
            ScaleConstraint::Float
        },
    )
    .map_err(|e| q_err(e.to_string()))?;
    let (_, params) = spec
        .clipping
        .choose(values, &cfg)
        .map_err(|e| q_err(format!("calibration: {e}")))?;
    Ok((fmt, cfg.channel_params(&params).scale))
}

/// The qnn weight scheme and codes of a quantized tensor.
fn weight_codes(
    q: &TensorQuantizer,
    kind: &CodeKind,
    codes: &[i64],
) -> Result<(WeightScheme, Vec<u64>), QnnError> {
    let scheme = match (kind, &q.scheme) {
        (CodeKind::Integer, Scheme::Uniform(c)) => {
            if !c.signed || !c.symmetric {
                return Err(q_err(
                    "uniform weights must be signed and symmetric (zero point 0)",
                ));
            }
            WeightScheme::Uniform {
                bits: c.bits.max(2),
            }
        }
        (CodeKind::Pot(f), _) => WeightScheme::Pot(*f),
        (CodeKind::Apot(f), _) => WeightScheme::Apot(f.clone()),
        (CodeKind::Binary, _) => WeightScheme::Binary,
        (CodeKind::Ternary, _) => WeightScheme::Ternary,
        (k, _) => {
            return Err(q_err(format!(
                "weights coded as {} are not supported",
                k.name()
            )))
        }
    };
    let codes = codes
        .iter()
        .map(|&c| match kind {
            CodeKind::Integer => scheme
                .encode(c)
                .ok_or_else(|| q_err(format!("level {c} does not fit the weight scheme"))),
            _ => Ok(c as u64),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((scheme, codes))
}

/// Quantizes a float model; `calibration` holds sample inputs (`input_size` values each).
pub fn quantize_model(
    model: &Model,
    spec: &QuantSpec,
    calibration: &[f32],
) -> Result<QNet, QnnError> {
    let blocks = blocks(model)?;
    if !(1..=32).contains(&spec.scale_bits) {
        return Err(q_err(format!(
            "scale_bits ({}) must be between 1 and 32",
            spec.scale_bits
        )));
    }
    let in_f = blocks[0].in_f;
    if calibration.is_empty() || calibration.len() % in_f != 0 {
        return Err(q_err(format!(
            "calibration data has {} values, expected a positive multiple of {in_f}",
            calibration.len()
        )));
    }
    let mut x: Vec<f64> = calibration.iter().map(|&v| f64::from(v)).collect();
    let signed_in = x.iter().any(|&v| v < 0.0);
    let (in_fmt, in_scale) = act_scale(&spec.input, &x, signed_in)?;
    let mut s_in = in_scale;
    let mut layers = Vec::new();
    for (k, b) in blocks.iter().enumerate() {
        let ov = spec.layers.iter().find(|o| o.index == k);
        let wq = ov
            .and_then(|o| o.weights.clone())
            .unwrap_or_else(|| spec.weights.clone());
        let aq = ov.and_then(|o| o.activations).unwrap_or(spec.activations);
        let shape = [b.out_f, b.in_f];
        let t = wq
            .quantize(TensorRef::new(&b.w, &shape).map_err(|e| q_err(e.to_string()))?)
            .map_err(|e| q_err(format!("layer {k} weights: {e}")))?;
        if t.channels().iter().any(|c| c.zero_point != 0) {
            return Err(q_err(format!(
                "layer {k}: weights need zero point 0 (symmetric)"
            )));
        }
        let (scheme, codes) = weight_codes(&wq, t.kind(), t.codes())?;
        let w_scales: Vec<f64> = t.channels().iter().map(|c| c.scale).collect();
        let w_scale = |j: usize| {
            if w_scales.len() == 1 {
                w_scales[0]
            } else {
                w_scales[j]
            }
        };
        let acc_scale: Vec<f64> = w_scales.iter().map(|s| s_in * s).collect();
        let bias = (0..b.out_f)
            .map(|j| {
                let v = round_f64(
                    f64::from(b.b[j]) / (s_in * w_scale(j)),
                    RoundingMode::HalfEven,
                );
                v.clamp(-(2f64.powi(47)), 2f64.powi(47)) as i64
            })
            .collect();
        let last = k + 1 == blocks.len();
        x = forward(b, &x);
        let output = if last {
            LayerOutput::Accumulator
        } else {
            let (fmt, s_out) = act_scale(&aq, &x, !b.relu)?;
            let per_channel: Vec<(i64, i32)> = (0..acc_scale.len())
                .map(|j| Requant::multiplier_for(acc_scale[j] / s_out, spec.scale_bits))
                .collect();
            let same = per_channel.iter().all(|p| *p == per_channel[0]);
            let params = if same {
                vec![per_channel[0]]
            } else {
                per_channel
            };
            s_in = s_out;
            LayerOutput::Requant(Requant {
                multiplier: params.iter().map(|p| p.0).collect(),
                shift: params.iter().map(|p| p.1).collect(),
                scale_bits: spec.scale_bits,
                rounding: spec.rounding,
                relu: b.relu,
                output: fmt,
                output_scale: s_out,
            })
        };
        let accumulator = match spec.accumulator {
            AccPolicy::Proven => Accumulator::default(),
            AccPolicy::Bits { bits, overflow } => Accumulator {
                bits: Some(bits),
                overflow,
            },
        };
        layers.push(Layer::Dense(Dense {
            in_features: b.in_f,
            out_features: b.out_f,
            weights: scheme,
            codes,
            bias,
            accumulator,
            output,
            acc_scale,
        }));
    }
    let mut net = QNet {
        name: format!("{} {}", model.name, spec.describe()),
        input: InputQuant {
            format: in_fmt,
            scale: in_scale,
            rounding: RoundingMode::HalfEven,
            fixed: None,
        },
        layers,
    };
    net.pin_accumulator_widths();
    net.validate()?;
    Ok(net)
}
