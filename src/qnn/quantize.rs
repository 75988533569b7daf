//! Post-training quantization of a float [`Model`] into a [`QNet`].
//!
//! The float model is read as a chain of Dense and Conv2d layers (BatchNorm folded into the layer
//! before it, ReLU fused into the requantization, Flatten ignored) and max pools. Weights are quantized by the spec's
//! [`TensorQuantizer`] (per tensor or per output channel, zero point 0); activation ranges are
//! calibrated on sample inputs run through the float layers; biases become accumulator units
//! (`round_half_even(b / (s_in · s_w))`); requantization gets `M / 2^S ≈ s_in · s_w / s_out`
//! with `M` of `scale_bits` bits (`M = 1` when the ratio is a power of two). The last layer
//! emits raw accumulators (logits, dequantized by `s_in · s_w`).
//!
//! **Bipolar activations** (`activations: (bits: 1, bipolar: true, clipping: ...)`, for every
//! hidden layer or one layer's override): the layer emits the sign of its pre-activation,
//! codes ±1 standing for `±s` ([`LayerOutput::Sign`]); a ReLU after the layer is replaced by
//! the sign. With positive scales the sign of the real pre-activation is the sign of the integer
//! accumulator with its bias code, so the layer needs no requantization: `acc + bias ≥ 0 → +1`,
//! else −1 (a tie gives +1, as the sign quantizers of FINN and Brevitas). The scale `s` comes
//! from the layer's float pre-activations `z` on the calibration data: `min_max` takes
//! `max |z|`, `percentile(p)` the `p`-th percentile of `|z|`, `mse_optimal` the mean `|z|`
//! (the exact minimiser of the mean of `(z − s·sign z)²`, so no grid search); `power_of_two`
//! raises it to the next power of two. The input cannot be bipolar: the first layer takes the
//! integer input codes (binary weights on them map to the ternary add/subtract PE).

use super::accum::{AccOverflow, Accumulator};
use super::conv::{Conv2d, MaxPool2d};
use super::dense::{Dense, LayerOutput, SignOutput};
use super::error::QnnError;
use super::format::IntFormat;
use super::net::{round_f64, InputQuant, Layer, QNet};
use super::requant::Requant;
use crate::nn::{self, Model};
use crate::num::rounding::RoundingMode;
use crate::num::weights::WeightCode;
use crate::position::{Source, ValuePath};
use crate::quant::calibrate::{ClipRange, Clipping};
use crate::quant::quantizer::{ChannelQuantizer, TensorQuantizer};
use crate::quant::tensor::{CodeKind, QuantizedTensor, TensorRef};
use crate::quant::training::{ActClipping, TrainingSpec};
use crate::quant::uniform::{ScaleConstraint, UniformConfig};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How activations (or inputs) are coded: unsigned after a ReLU (and for non-negative inputs),
/// else signed; zero point 0; the scale from a calibrated clipping range. Or bipolar (±1, the
/// sign; see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActSpec {
    /// Code width, 2..=16 (1 for bipolar activations).
    pub bits: u32,
    /// Bipolar codes ±1, the sign of the pre-activation (`bits` must be 1); hidden layers only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bipolar: bool,
    /// How the clipping range is chosen from calibration data.
    pub clipping: Clipping,
    /// Round scales up to powers of two (requantization becomes a pure shift).
    #[serde(default)]
    pub power_of_two: bool,
}

/// The accumulator width to write into the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
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

/// Overrides for one layer with weights (0-based among the Dense and Conv2d layers; pooling,
/// ReLU, flatten and batch-norm layers are not counted).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerOverride {
    /// Which layer with weights.
    pub index: usize,
    /// Its weight quantizer.
    #[serde(default)]
    pub weights: Option<TensorQuantizer>,
    /// Its output activation coding.
    #[serde(default)]
    pub activations: Option<ActSpec>,
}

/// The widths a stored bias may have ([`QuantSpec::bias_bits`]).
pub const BIAS_BITS: std::ops::RangeInclusive<u32> = 2..=48;

/// A quantization spec (RON): schemes and bits for weights and activations, calibration,
/// requantization and accumulator policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// Width of the stored biases (signed, 2..=48; [`bias_codes`]); absent: a bias keeps
    /// every bit of its accumulator-unit value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bias_bits: Option<u32>,
    /// Accumulator widths.
    #[serde(default)]
    pub accumulator: AccPolicy,
    /// Number of training samples used for calibration (the first ones).
    #[serde(default = "default_calibration")]
    pub calibration_samples: usize,
    /// Quantization-aware training knobs (`qforge train --qat`); post-training quantization
    /// ignores them.
    #[serde(default, skip_serializing_if = "TrainingSpec::is_default")]
    pub training: TrainingSpec,
}

fn default_calibration() -> usize {
    512
}

impl QuantSpec {
    /// Parses a spec's text and checks its values ([`QuantSpec::check`]); `path` names it in
    /// `path:line:col` messages, which point at the faulty value. An optional value is
    /// written as itself (`prune: (sparsity: 0.5)`) or as `Some(..)`.
    pub fn from_ron_str(text: &str, path: &str) -> Result<QuantSpec, QnnError> {
        let spec: QuantSpec =
            crate::position::ron_options()
                .from_str(text)
                .map_err(|e| QnnError::Parse {
                    path: path.to_string(),
                    line: e.span.start.line,
                    col: e.span.start.col,
                    message: e.code.to_string(),
                })?;
        spec.check()
            .map_err(|e| e.in_file(&Source::new(path, text)))?;
        Ok(spec)
    }

    /// Checks every value that needs no network: the weight quantizers, activation and input
    /// widths and clipping, `scale_bits`, the accumulator width, the calibration count and
    /// that no layer is overridden twice. An error is a [`QnnError::Spec`] naming the value.
    pub fn check(&self) -> Result<(), QnnError> {
        let spec = |at: ValuePath, error: QnnError| QnnError::Spec {
            at,
            error: Box::new(error),
        };
        let quantizer = |base: ValuePath, q: &TensorQuantizer| {
            q.validate()
                .map_err(|(at, e)| spec(base.join(at), q_err(e.to_string())))
        };
        let act = |base: ValuePath, a: &ActSpec| {
            if a.bipolar && a.bits != 1 {
                return Err(spec(
                    base.then_field("bits"),
                    q_err(format!(
                        "bipolar activations take 1 bit: bits ({}) must be 1",
                        a.bits
                    )),
                ));
            }
            if !a.bipolar && !(2..=16).contains(&a.bits) {
                return Err(spec(
                    base.then_field("bits"),
                    q_err(format!(
                        "activation bits ({}) must be between 2 and 16",
                        a.bits
                    )),
                ));
            }
            a.clipping.validate().map_err(|e| {
                let at = match &e {
                    crate::quant::error::QuantError::BadParameter { name, .. } => {
                        base.clone().then_field("clipping").then_field(name)
                    }
                    _ => base.clone().then_field("clipping"),
                };
                spec(at, q_err(e.to_string()))
            })
        };
        quantizer(ValuePath::field("weights"), &self.weights)?;
        act(ValuePath::field("activations"), &self.activations)?;
        if self.input.bipolar {
            return Err(spec(
                ValuePath::field("input").then_field("bipolar"),
                q_err("the input cannot be bipolar: the first layer takes integer input codes (binary weights on them use the add/subtract PE)"),
            ));
        }
        act(ValuePath::field("input"), &self.input)?;
        if let Some(b) = self.bias_bits.filter(|b| !BIAS_BITS.contains(b)) {
            return Err(spec(
                ValuePath::field("bias_bits"),
                q_err(format!("bias_bits ({b}) must be between 2 and 48")),
            ));
        }
        if !(1..=32).contains(&self.scale_bits) {
            return Err(spec(
                ValuePath::field("scale_bits"),
                QnnError::ScaleBits {
                    bits: self.scale_bits,
                },
            ));
        }
        if let AccPolicy::Bits { bits, .. } = self.accumulator {
            if !(1..=64).contains(&bits) {
                return Err(spec(
                    ValuePath::field("accumulator").then_field("bits"),
                    q_err(format!(
                        "accumulator bits ({bits}) must be between 1 and 64"
                    )),
                ));
            }
        }
        self.training
            .check()
            .map_err(|(field, m)| spec(ValuePath::field("training").then_field(field), q_err(m)))?;
        let any_bipolar = self.activations.bipolar
            || self
                .layers
                .iter()
                .any(|o| o.activations.is_some_and(|a| a.bipolar));
        if any_bipolar && self.training.activation_clipping == ActClipping::Pact {
            return Err(spec(
                ValuePath::field("training").then_field("activation_clipping"),
                q_err("activation_clipping pact learns a ReLU's clip, which bipolar activations do not have; use lsq or fixed"),
            ));
        }
        if self.calibration_samples == 0 {
            return Err(spec(
                ValuePath::field("calibration_samples"),
                q_err("calibration_samples (0) must be at least 1"),
            ));
        }
        for (i, o) in self.layers.iter().enumerate() {
            let at = ValuePath::field("layers").index(i);
            if self.layers[..i].iter().any(|p| p.index == o.index) {
                return Err(spec(
                    at.then_field("index"),
                    q_err(format!("layer {} is overridden more than once", o.index)),
                ));
            }
            if let Some(q) = &o.weights {
                quantizer(at.clone().then_field("weights"), q)?;
            }
            if let Some(a) = &o.activations {
                act(at.then_field("activations"), a)?;
            }
        }
        Ok(())
    }

    /// Reads a spec file.
    pub fn load(path: &Path) -> Result<QuantSpec, QnnError> {
        Ok(QuantSpec::load_source(path)?.0)
    }

    /// Reads a spec file and keeps its text, to place later errors about its values
    /// ([`QnnError::in_file`]).
    pub fn load_source(path: &Path) -> Result<(QuantSpec, Source), QnnError> {
        let source = Source::read(path).map_err(|source| QnnError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let spec = QuantSpec::from_ron_str(&source.text, &source.name)?;
        Ok((spec, source))
    }

    /// A short description, e.g. `w:uniform8 a:8`: the weight scheme's code
    /// ([`crate::quant::quantizer::Scheme::weight_code`], which a scheme without one fails) and the activation width.
    pub fn describe(&self) -> Result<String, QnnError> {
        let code = self
            .weights
            .scheme
            .weight_code()
            .map_err(|e| q_err(e.to_string()))?;
        Ok(format!("w:{code} a:{}", self.activations.bits))
    }
}

enum BlockKind {
    /// A Dense or Conv2d layer (BatchNorm folded in).
    Linear(nn::Layer),
    /// Max pooling.
    Pool { kernel: usize, stride: usize },
}

struct Block {
    kind: BlockKind,
    /// Shape of the block's input (`[features]` or `[c, h, w]`).
    in_shape: Vec<usize>,
    relu: bool,
    /// Index of the first float layer after the linear layer and its batch norm (its
    /// activations are the block's pre-activations).
    linear_end: usize,
    /// Index of the first float layer after the block (its activations are the block's output).
    end: usize,
}

fn q_err(message: impl Into<String>) -> QnnError {
    QnnError::Net(message.into())
}

/// The model as linear blocks (BatchNorm folded, ReLU fused) and pooling blocks.
fn blocks(model: &Model) -> Result<Vec<Block>, QnnError> {
    let shapes = model.shapes().map_err(|e| q_err(e.to_string()))?;
    let mut out: Vec<Block> = Vec::new();
    for (k, layer) in model.layers.iter().enumerate() {
        match layer {
            nn::Layer::Dense { .. } | nn::Layer::Conv2d { .. } => out.push(Block {
                kind: BlockKind::Linear(layer.clone()),
                in_shape: shapes[k].clone(),
                relu: false,
                linear_end: k + 1,
                end: k + 1,
            }),
            nn::Layer::MaxPool2d { kernel, stride } => out.push(Block {
                kind: BlockKind::Pool {
                    kernel: *kernel,
                    stride: *stride,
                },
                in_shape: shapes[k].clone(),
                relu: false,
                linear_end: k + 1,
                end: k + 1,
            }),
            nn::Layer::BatchNorm { .. } => {
                let Some(Block {
                    kind: BlockKind::Linear(prev),
                    relu: false,
                    linear_end,
                    end,
                    ..
                }) = out.last_mut()
                else {
                    return Err(q_err(format!(
                        "layer {k}: a BatchNorm must directly follow a Dense or Conv2d layer"
                    )));
                };
                *prev = nn::fold_batchnorm(prev, layer)
                    .map_err(|e| q_err(format!("layer {k}: {e}")))?;
                *end = k + 1;
                *linear_end = k + 1;
            }
            nn::Layer::Relu => {
                let n = out.len();
                let pool_last = matches!(
                    out.last(),
                    Some(Block {
                        kind: BlockKind::Pool { .. },
                        ..
                    })
                );
                if n == 0 {
                    return Err(q_err(format!(
                        "layer {k}: a ReLU before any Dense or Conv2d layer"
                    )));
                }
                if pool_last {
                    // relu(max(x)) = max(relu(x)): fuse it into the linear block before the pool
                    if n >= 2 && matches!(out[n - 2].kind, BlockKind::Linear(_)) {
                        out[n - 2].relu = true;
                    }
                } else {
                    out[n - 1].relu = true;
                }
                out[n - 1].end = k + 1;
            }
            nn::Layer::Flatten => {
                if let Some(b) = out.last_mut() {
                    b.end = k + 1;
                }
            }
        }
    }
    match out.last() {
        Some(Block {
            kind: BlockKind::Linear(_),
            ..
        }) => Ok(out),
        _ => Err(q_err("the model must end with a Dense or Conv2d layer")),
    }
}

/// The float activations after the first `end` layers of `model` on `x`.
fn activations(model: &Model, end: usize, x: &[f32]) -> Result<Vec<f64>, QnnError> {
    let prefix = Model {
        name: model.name.clone(),
        input_shape: model.input_shape.clone(),
        layers: model.layers[..end].to_vec(),
    };
    Ok(prefix
        .forward(x)
        .map_err(|e| q_err(format!("calibration: {e}")))?
        .into_iter()
        .map(f64::from)
        .collect())
}

/// The float values a block's output coding is calibrated on: its outputs, or for bipolar
/// activations its pre-activations (the sign replaces any ReLU).
fn calibration_values(
    model: &Model,
    b: &Block,
    spec: &ActSpec,
    calibration: &[f32],
) -> Result<Vec<f64>, QnnError> {
    activations(
        model,
        if spec.bipolar { b.linear_end } else { b.end },
        calibration,
    )
}

/// The scale `s` of bipolar activations (codes ±1 stand for `±s`) for pre-activations
/// `values`, before the power-of-two rounding: `max |z|` (min-max), a percentile of `|z|`, or
/// the mean `|z|` (MSE-optimal); 1 when every value is 0.
fn bipolar_threshold(spec: &ActSpec, values: &[f64]) -> Result<f64, QnnError> {
    let t = match spec.clipping {
        Clipping::MseOptimal { .. } => {
            values.iter().map(|v| v.abs()).sum::<f64>() / values.len().max(1) as f64
        }
        c => c
            .range(values, true)
            .map_err(|e| q_err(format!("calibration: {e}")))?
            .threshold(),
    };
    Ok(if t.is_finite() && t > 0.0 { t } else { 1.0 })
}

/// The code format and scale for values calibrated from `values`.
fn act_scale(spec: &ActSpec, values: &[f64], signed: bool) -> Result<(IntFormat, f64), QnnError> {
    if spec.bipolar {
        return activation_scale_at(spec, bipolar_threshold(spec, values)?, signed);
    }
    let (fmt, cfg) = act_quantizer(spec, signed)?;
    let (_, params) = spec
        .clipping
        .choose(values, &cfg)
        .map_err(|e| q_err(format!("calibration: {e}")))?;
    Ok((fmt, cfg.channel_params(&params).scale))
}

/// The activation quantizer of `spec`: `bits`-bit codes, signed or not, full range, symmetric,
/// its scale free or a power of two.
fn act_quantizer(spec: &ActSpec, signed: bool) -> Result<(IntFormat, UniformConfig), QnnError> {
    let fmt = IntFormat::new(spec.bits, signed)?;
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
    Ok((fmt, cfg))
}

/// The code format and scale of activations clipped at `threshold` (`[0, T]` unsigned, `[−T, T]`
/// signed): the scale a calibrated range of that threshold gets, so a learned threshold and a
/// calibrated one are fitted by the same code.
pub fn activation_scale_at(
    spec: &ActSpec,
    threshold: f64,
    signed: bool,
) -> Result<(IntFormat, f64), QnnError> {
    if spec.bipolar {
        // The ±1 codes stand for ±threshold (raised to a power of two if asked).
        if !(threshold.is_finite() && threshold > 0.0) {
            return Err(q_err(format!(
                "bipolar activation scale ({threshold}) must be positive and finite"
            )));
        }
        let s = if spec.power_of_two {
            threshold.log2().ceil().exp2()
        } else {
            threshold
        };
        return Ok((IntFormat::BIPOLAR, s));
    }
    let (fmt, cfg) = act_quantizer(spec, signed)?;
    let lo = if signed { -threshold } else { 0.0 };
    let params = cfg
        .fit(ClipRange { lo, hi: threshold })
        .map_err(|e| q_err(format!("activation threshold: {e}")))?;
    Ok((fmt, cfg.channel_params(&params).scale))
}

/// The clipping threshold calibration chooses for activations `values` under `spec`.
fn activation_threshold(spec: &ActSpec, values: &[f64], signed: bool) -> Result<f64, QnnError> {
    if spec.bipolar {
        return bipolar_threshold(spec, values);
    }
    let (_, cfg) = act_quantizer(spec, signed)?;
    let (range, _) = spec
        .clipping
        .choose(values, &cfg)
        .map_err(|e| q_err(format!("calibration: {e}")))?;
    Ok(range.threshold())
}

/// Clipping thresholds chosen outside calibration (for example learned in quantization-aware
/// training), one entry per layer with weights (0-based among the Dense and Conv2d layers).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Thresholds {
    /// Per layer: the weight clipping threshold of each output channel (one entry for a
    /// per-tensor quantizer); `None` lets the layer's quantizer choose from the weights'
    /// statistics, as post-training quantization does (always so for binary and ternary).
    pub weights: Vec<Option<Vec<f64>>>,
    /// Per layer: the threshold of its output activations (unused for the last layer, which
    /// emits accumulators).
    pub activations: Vec<f64>,
}

/// The thresholds post-training quantization chooses for `model`: each layer's weight ranges
/// from the spec's clipping on the weights, each activation range calibrated on `calibration`.
/// [`quantize_at`] with these thresholds gives exactly [`quantize_model`]'s network.
pub fn calibrated_thresholds(
    model: &Model,
    spec: &QuantSpec,
    calibration: &[f32],
) -> Result<Thresholds, QnnError> {
    let blocks = blocks(model)?;
    let mut out = Thresholds::default();
    let mut index = 0;
    let last = blocks.len() - 1;
    for (k, b) in blocks.iter().enumerate() {
        let BlockKind::Linear(l) = &b.kind else {
            continue;
        };
        let (wq, aq) = layer_quantizers(spec, index);
        index += 1;
        let (w, _, shape) = linear_parts(l);
        let tensor = TensorRef::new(w, &shape).map_err(|e| q_err(e.to_string()))?;
        let ranges = wq
            .ranges(tensor)
            .map_err(|e| q_err(format!("layer {} weights: {e}", index - 1)))?;
        out.weights
            .push(ranges.map(|r| r.iter().map(ClipRange::threshold).collect()));
        if k == last {
            out.activations.push(0.0);
        } else {
            let act = calibration_values(model, b, &aq, calibration)?;
            out.activations
                .push(activation_threshold(&aq, &act, !b.relu)?);
        }
    }
    Ok(out)
}

/// The weight quantizer and activation spec of layer `index` (with weights), overrides applied.
pub fn layer_quantizers(spec: &QuantSpec, index: usize) -> (TensorQuantizer, ActSpec) {
    let ov = spec.layers.iter().find(|o| o.index == index);
    let wq = ov
        .and_then(|o| o.weights.clone())
        .unwrap_or_else(|| spec.weights.clone());
    let aq = ov.and_then(|o| o.activations).unwrap_or(spec.activations);
    (wq, aq)
}

/// Quantizes one layer's weights: with the given per-channel thresholds (symmetric ranges
/// `[−T, T]`) when there are some, else with the quantizer's own clipping of the weights.
pub fn quantize_weights(
    wq: &TensorQuantizer,
    weights: &[f32],
    shape: &[usize],
    thresholds: Option<&[f64]>,
) -> Result<QuantizedTensor, QnnError> {
    let tensor = TensorRef::new(weights, shape).map_err(|e| q_err(e.to_string()))?;
    match thresholds {
        Some(t) if wq.has_clipping() => {
            let ranges: Vec<ClipRange> = t.iter().map(|&t| ClipRange { lo: -t, hi: t }).collect();
            wq.quantize_at(tensor, &ranges)
        }
        _ => wq.quantize(tensor),
    }
    .map_err(|e| q_err(e.to_string()))
}

/// A bias in accumulator units: `round_half_even(b / acc_scale)`, held to `±2^47`.
pub fn bias_code(b: f32, acc_scale: f64) -> i64 {
    let v = round_f64(f64::from(b) / acc_scale, RoundingMode::HalfEven);
    v.clamp(-(2f64.powi(47)), 2f64.powi(47)) as i64
}

/// The biases of one layer in accumulator units (`acc_scale(j)` is output `j`'s), stored in
/// `bits` signed bits: with `u_j = b_j / acc_scale(j)` and `k ≥ 0` the smallest shift for which
/// `round(max |u_j| / 2^k) ≤ 2^(bits−1) − 1`, each bias is
/// `clamp(round_half_even(u_j / 2^k), ±(2^(bits−1) − 1)) · 2^k`: a `bits`-wide constant shifted
/// left by the layer's `k`. `None`: [`bias_code`] of each (every bit kept).
///
/// ```
/// use qforge::qnn::quantize::bias_codes;
/// // 300 and −21 accumulator units in 8 bits: 300/4 = 75 fits ±127 at k = 2 (150 at k = 1 does not)
/// assert_eq!(bias_codes(&[300.0, -21.0], |_| 1.0, Some(8)), [300, -20]);
/// assert_eq!(bias_codes(&[300.0, -21.0], |_| 1.0, None), [300, -21]);
/// ```
pub fn bias_codes(bias: &[f32], acc_scale: impl Fn(usize) -> f64, bits: Option<u32>) -> Vec<i64> {
    let Some(bits) = bits else {
        return (0..bias.len())
            .map(|j| bias_code(bias[j], acc_scale(j)))
            .collect();
    };
    let units: Vec<f64> = (0..bias.len())
        .map(|j| f64::from(bias[j]) / acc_scale(j))
        .collect();
    let limit = ((1i64 << (bits - 1)) - 1) as f64;
    let largest = units.iter().fold(0.0f64, |m, u| m.max(u.abs()));
    let round = |v: f64| round_f64(v, RoundingMode::HalfEven);
    let k = (0..48)
        .find(|&k| round(largest / 2f64.powi(k)) <= limit)
        .unwrap_or(47);
    let step = 2f64.powi(k);
    units
        .iter()
        .map(|&u| (round(u / step).clamp(-limit, limit) * step) as i64)
        .collect()
}

/// The weights, bias and weight shape of a Dense or Conv2d layer.
fn linear_parts(l: &nn::Layer) -> (&[f32], &[f32], Vec<usize>) {
    match l {
        nn::Layer::Dense {
            in_features,
            out_features,
            weights,
            bias,
        } => (weights, bias, vec![*out_features, *in_features]),
        nn::Layer::Conv2d {
            in_channels,
            out_channels,
            kernel_h,
            kernel_w,
            weights,
            bias,
            ..
        } => (
            weights,
            bias,
            vec![*out_channels, *in_channels, *kernel_h, *kernel_w],
        ),
        _ => (&[], &[], Vec::new()),
    }
}

/// The weight code and codes of a quantized tensor: the quantizer's own codes, or a uniform
/// quantizer's levels as its scheme's two's complement codes.
fn weight_codes(
    q: &TensorQuantizer,
    kind: &CodeKind,
    codes: &[i64],
) -> Result<(WeightCode, Vec<u64>), QnnError> {
    match kind {
        CodeKind::Weight(code) => Ok((code.clone(), codes.iter().map(|&c| c as u64).collect())),
        CodeKind::Integer => {
            let code = q.scheme.weight_code().map_err(|e| q_err(e.to_string()))?;
            let codes = codes
                .iter()
                .map(|&c| {
                    code.encode(c)
                        .ok_or_else(|| q_err(format!("level {c} does not fit {code} weights")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((code, codes))
        }
    }
}

/// Quantizes a float model; `calibration` holds sample inputs (`input_size` values each).
pub fn quantize_model(
    model: &Model,
    spec: &QuantSpec,
    calibration: &[f32],
) -> Result<QNet, QnnError> {
    assemble(model, spec, calibration, None)
}

/// Quantizes a float model with clipping thresholds chosen elsewhere (see [`Thresholds`]);
/// the input coding is still calibrated on `calibration`. Everything else (codes, biases,
/// requantization, accumulators) is computed as by [`quantize_model`].
pub fn quantize_at(
    model: &Model,
    spec: &QuantSpec,
    calibration: &[f32],
    thresholds: &Thresholds,
) -> Result<QNet, QnnError> {
    assemble(model, spec, calibration, Some(thresholds))
}

/// The model as the integer network the spec describes; thresholds from calibration, or given.
fn assemble(
    model: &Model,
    spec: &QuantSpec,
    calibration: &[f32],
    given: Option<&Thresholds>,
) -> Result<QNet, QnnError> {
    spec.check()?;
    let blocks = blocks(model)?;
    let weighted = blocks
        .iter()
        .filter(|b| matches!(b.kind, BlockKind::Linear(_)))
        .count();
    if let Some(i) = spec.layers.iter().position(|o| o.index >= weighted) {
        return Err(QnnError::Spec {
            at: ValuePath::field("layers").index(i).then_field("index"),
            error: Box::new(q_err(format!(
                "layer override index ({}) must be below the number of layers with weights ({weighted})",
                spec.layers[i].index
            ))),
        });
    }
    let in_f = model.input_size();
    if calibration.is_empty() || !calibration.len().is_multiple_of(in_f) {
        return Err(q_err(format!(
            "calibration data has {} values, expected a positive multiple of {in_f}",
            calibration.len()
        )));
    }
    let x: Vec<f64> = calibration.iter().map(|&v| f64::from(v)).collect();
    let signed_in = x.iter().any(|&v| v < 0.0);
    let (in_fmt, in_scale) = act_scale(&spec.input, &x, signed_in)?;
    let mut s_in = in_scale;
    let mut layers = Vec::new();
    let mut linear_index = 0;
    let last_block = blocks.len() - 1;
    for (k, b) in blocks.iter().enumerate() {
        let layer = match &b.kind {
            BlockKind::Pool { kernel, stride } => {
                let (c, h, w) = match b.in_shape[..] {
                    [c, h, w] => (c, h, w),
                    _ => return Err(q_err("max pooling needs a [c, h, w] input")),
                };
                Layer::MaxPool2d(MaxPool2d {
                    channels: c,
                    in_h: h,
                    in_w: w,
                    kernel: *kernel,
                    stride: *stride,
                })
            }
            BlockKind::Linear(l) => {
                let index = linear_index;
                linear_index += 1;
                let (wq, aq) = layer_quantizers(spec, index);
                let (w, bias_f, shape) = linear_parts(l);
                let learned = given.and_then(|g| g.weights.get(index).cloned().flatten());
                let t = quantize_weights(&wq, w, &shape, learned.as_deref())
                    .map_err(|e| q_err(format!("layer {index} weights: {e}")))?;
                if t.channels().iter().any(|c| c.zero_point != 0) {
                    return Err(q_err(format!(
                        "layer {index}: weights need zero point 0 (symmetric)"
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
                let bias = bias_codes(bias_f, |j| s_in * w_scale(j), spec.bias_bits);
                let output = if k == last_block {
                    LayerOutput::Accumulator
                } else {
                    let (fmt, s_out) = match given.and_then(|g| g.activations.get(index)) {
                        Some(&t) => activation_scale_at(&aq, t, !b.relu)?,
                        None => {
                            let act = calibration_values(model, b, &aq, calibration)?;
                            act_scale(&aq, &act, !b.relu)?
                        }
                    };
                    if aq.bipolar {
                        s_in = s_out;
                        LayerOutput::Sign(SignOutput {
                            output_scale: s_out,
                        })
                    } else {
                        let per_channel: Vec<(i64, i32)> = acc_scale
                            .iter()
                            .map(|a| Requant::multiplier_for(a / s_out, spec.scale_bits))
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
                    }
                };
                let accumulator = match spec.accumulator {
                    AccPolicy::Proven => Accumulator::default(),
                    AccPolicy::Bits { bits, overflow } => Accumulator {
                        bits: Some(bits),
                        overflow,
                    },
                };
                match l {
                    nn::Layer::Conv2d {
                        in_channels,
                        out_channels,
                        kernel_h,
                        kernel_w,
                        stride,
                        padding,
                        ..
                    } => Layer::Conv2d(Conv2d {
                        in_channels: *in_channels,
                        out_channels: *out_channels,
                        in_h: b.in_shape[1],
                        in_w: b.in_shape[2],
                        kernel_h: *kernel_h,
                        kernel_w: *kernel_w,
                        stride: *stride,
                        padding: *padding,
                        weights: scheme,
                        codes,
                        bias,
                        accumulator,
                        output,
                        acc_scale,
                    }),
                    _ => Layer::Dense(Dense {
                        in_features: shape[1],
                        out_features: shape[0],
                        weights: scheme,
                        codes,
                        bias,
                        accumulator,
                        output,
                        acc_scale,
                    }),
                }
            }
        };
        layers.push(layer);
    }
    let mut net = QNet {
        name: format!("{} {}", model.name, spec.describe()?),
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

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "QuantSpec(
    weights: (scheme: uniform((bits: 4, signed: true, narrow: true, symmetric: true, rounding: half_even, scale_constraint: float)), granularity: per_tensor, clipping: min_max),
    activations: (bits: 4, clipping: min_max),
    input: (bits: 8, clipping: min_max),
    rounding: half_even,
    scale_bits: 16,
    layers: [(index: 0, activations: Some((bits: 6, clipping: mse_optimal(steps: 10, low_fraction: 0.5))))],
)";

    fn error(from: &str, to: &str) -> String {
        let text = SPEC.replacen(from, to, 1);
        assert_ne!(text, SPEC);
        QuantSpec::from_ron_str(&text, "q.ron")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_bundled_form_parses() {
        let spec = QuantSpec::from_ron_str(SPEC, "q.ron").unwrap();
        assert_eq!(spec.layers.len(), 1);
    }

    #[test]
    fn values_are_reported_at_their_own_position() {
        assert_eq!(
            error("scale_bits: 16", "scale_bits: 0"),
            "q.ron:6:17: scale_bits (0) must be between 1 and 32"
        );
        assert_eq!(
            error("activations: (bits: 4", "activations: (bits: 17"),
            "q.ron:3:25: activation bits (17) must be between 2 and 16"
        );
        assert_eq!(
            error("(bits: 6", "(bits: 1"),
            "q.ron:7:50: activation bits (1) must be between 2 and 16"
        );
        assert_eq!(
            error("steps: 10", "steps: 0"),
            "q.ron:7:82: steps (0) must be between 1 and 10000"
        );
        assert_eq!(
            error("bits: 4, signed", "bits: 0, signed"),
            "q.ron:2:38: bits (0) must be between 1 and 32"
        );
        assert_eq!(
            error("(index: 0,", "(index: 0), (index: 0,"),
            "q.ron:7:34: layer 0 is overridden more than once"
        );
        assert_eq!(
            error("scale_bits: 16,", "scale_bits: 16, bias_bits: 1,"),
            "q.ron:6:32: bias_bits (1) must be between 2 and 48"
        );
    }

    /// Against a brute-force search: the stored value fits `bits`, is a multiple of the
    /// layer's step `2^k` with `k` the smallest that fits the largest bias, and is the nearest
    /// such multiple (half-even); 48 bits keep every bias as `bias_code` has it.
    #[test]
    fn bias_codes_keep_bits_significant_bits_at_the_smallest_shift() {
        let mut rng = crate::nn::SplitMix64::new(9);
        for case in 0..200 {
            let n = 1 + case % 7;
            let spread = [1.0, 30.0, 3000.0, 1e6][case % 4];
            let bias: Vec<f32> = (0..n)
                .map(|_| ((rng.next_f64() * 2.0 - 1.0) * spread) as f32)
                .collect();
            let scale = |j: usize| 0.5 + j as f64 * 0.25;
            let bits = 2 + (case % 11) as u32;
            let got = bias_codes(&bias, scale, Some(bits));
            let limit = (1i64 << (bits - 1)) - 1;
            let units: Vec<f64> = (0..n).map(|j| f64::from(bias[j]) / scale(j)).collect();
            let fits = |k: i32| {
                units
                    .iter()
                    .all(|u| (u / 2f64.powi(k)).round_ties_even().abs() <= limit as f64)
            };
            let k = (0..48).find(|&k| fits(k)).unwrap();
            for (j, &g) in got.iter().enumerate() {
                let step = 1i64 << k;
                assert_eq!(g % step, 0, "case {case}: {g} not a multiple of 2^{k}");
                assert!((g / step).abs() <= limit, "case {case}");
                assert_eq!(
                    g / step,
                    (units[j] / step as f64).round_ties_even() as i64,
                    "case {case}"
                );
            }
            let full: Vec<i64> = (0..n).map(|j| bias_code(bias[j], scale(j))).collect();
            assert_eq!(bias_codes(&bias, scale, Some(48)), full);
            assert_eq!(bias_codes(&bias, scale, None), full);
        }
    }

    #[test]
    fn unknown_fields_are_refused_where_they_are() {
        let e = error("scale_bits: 16,", "scale_bits: 16, scale_bit: 8,");
        assert!(e.starts_with("q.ron:6:21: "), "{e}");
        assert!(e.contains("`scale_bit`"), "{e}");
    }

    #[test]
    fn an_override_of_a_missing_layer_is_placed_in_the_spec() {
        let layer = nn::Layer::Dense {
            in_features: 2,
            out_features: 2,
            weights: vec![1.0, -0.5, 0.25, 1.0],
            bias: vec![0.0, 0.0],
        };
        let model = Model::new("t", vec![2], vec![layer]).unwrap();
        let text = SPEC.replacen("(index: 0,", "(index: 3,", 1);
        let spec = QuantSpec::from_ron_str(&text, "q.ron").unwrap();
        let err = quantize_model(&model, &spec, &[0.5, -0.5, 1.0, 0.0]).unwrap_err();
        assert!(matches!(err, QnnError::Spec { .. }), "{err}");
        assert_eq!(
            err.in_file(&Source::new("q.ron", text)).to_string(),
            "q.ron:7:22: layer override index (3) must be below the number of layers with weights (1)"
        );
    }
}
