//! A float model under quantization-aware training: its shadow weights, learned clipping
//! thresholds, and the fake-quantized forward pass.
//!
//! Every quantity of the forward pass comes from the code the integer network is built with:
//! weights are quantized by [`qnn::quantize::quantize_weights`] (the quantizers' own exact
//! rounding), biases by [`qnn::quantize::bias_code`], activation scales by
//! [`qnn::quantize::activation_scale_at`], input codes by the exported network's
//! [`InputQuant`]. Accumulators are sums of integer levels times integer codes. Only the
//! requantization differs: the forward divides by the real scale ratio `s_in · s_w / s_out`,
//! the integer network multiplies by its `M / 2^S` approximation; when every scale is a power
//! of two the two are the same number and the forward equals the integer network code for code.

use super::gemm::{gemm_rows, Mat, Real};
use super::QatError;
use crate::nn::{self, Dataset, Model};
use crate::num::rounding::RoundingMode;
use crate::qnn::net::{round_f64, InputQuant};
use crate::qnn::quantize::{
    activation_scale_at, bias_code, calibrated_thresholds, layer_quantizers, quantize_at,
    quantize_weights, ActSpec, QuantSpec, Thresholds,
};
use crate::qnn::QNet;
use crate::quant::quantizer::{Scheme, TensorQuantizer};
use crate::quant::tensor::CodeKind;
use crate::quant::training::TrainingSpec;

/// One Dense layer of the trained network.
#[derive(Clone, Debug)]
pub(crate) struct QatLayer {
    /// Index of the Dense layer in the float model.
    pub model_index: usize,
    pub in_f: usize,
    pub out_f: usize,
    /// A ReLU follows (fused into the activation quantizer).
    pub relu: bool,
    pub wq: TensorQuantizer,
    pub aq: ActSpec,
    /// Learned weight clipping thresholds (one per channel, or one); `None`: from statistics.
    pub w_threshold: Option<Vec<f64>>,
    /// Learned output activation threshold (unused for the last layer).
    pub a_threshold: f64,
    /// Largest weight level magnitude of the scheme.
    pub level_hi: i64,
}

/// The quantized form of one layer at the current parameters.
#[derive(Clone, Debug)]
pub(crate) struct LayerQuant {
    /// Weight levels, `[out][in]`.
    pub levels: Vec<f32>,
    /// Weight scale of each output channel.
    pub w_scale: Vec<f64>,
    /// Bias in accumulator units.
    pub bias: Vec<f64>,
    /// Scale of the layer's input codes.
    pub s_in: f64,
    /// Output codes' range and scale (hidden layers).
    pub act: Option<ActQuant>,
}

/// A hidden layer's output quantizer: codes `low..=high` of step `scale`, or bipolar codes ±1
/// standing for `±scale` (the sign of the pre-activation, `low = −1`, `high = 1`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ActQuant {
    pub scale: f64,
    pub low: i64,
    pub high: i64,
    pub bipolar: bool,
}

/// What a forward pass keeps for the backward pass.
#[derive(Clone, Debug, Default)]
pub(crate) struct Trace<T> {
    /// Input codes of each layer, `[batch][in]`.
    pub inputs: Vec<Vec<T>>,
    /// Pre-activations `z` (real units) of each layer, `[batch][out]`; the last is the logits.
    pub pre: Vec<Vec<T>>,
}

/// A float model being trained with fake quantization.
#[derive(Clone, Debug)]
pub struct QatNet {
    /// The shadow float weights (batch norm folded).
    pub model: Model,
    /// The quantization.
    pub spec: QuantSpec,
    /// The training knobs.
    pub training: TrainingSpec,
    pub(crate) layers: Vec<QatLayer>,
    pub(crate) input: InputQuant,
    pub(crate) rounding: RoundingMode,
}

impl QatNet {
    /// Prepares `model` for training under `spec`: batch norm folded into the Dense layer
    /// before it, thresholds initialised as post-training quantization chooses them on
    /// `calibration` (so the untrained network exports exactly as `quantize` would).
    pub fn new(model: &Model, spec: &QuantSpec, calibration: &[f32]) -> Result<QatNet, QatError> {
        let training = spec.training.clone();
        training.check().map_err(|(_, m)| QatError::Spec(m))?;
        let model = fold(model)?;
        let shapes = model.shapes()?;
        let thresholds = calibrated_thresholds(&model, spec, calibration)?;
        let mut layers = Vec::new();
        for (k, layer) in model.layers.iter().enumerate() {
            match layer {
                nn::Layer::Dense {
                    in_features,
                    out_features,
                    ..
                } => {
                    let index = layers.len();
                    let (wq, aq) = layer_quantizers(spec, index);
                    let code = wq
                        .scheme
                        .weight_code()
                        .map_err(|e| QatError::Spec(format!("layer {index} weights: {e}")))?;
                    let learned = training.learn_weight_clipping && wq.has_clipping();
                    layers.push(QatLayer {
                        model_index: k,
                        in_f: *in_features,
                        out_f: *out_features,
                        relu: false,
                        w_threshold: if learned {
                            thresholds.weights[index].clone()
                        } else {
                            None
                        },
                        a_threshold: thresholds.activations[index],
                        level_hi: code.level_range().1.max(1),
                        wq,
                        aq,
                    });
                }
                nn::Layer::Relu => match layers.last_mut() {
                    Some(l) if !l.relu && l.model_index + 1 == k => l.relu = true,
                    _ => {
                        return Err(QatError::Model(format!(
                            "layer {k}: a ReLU must directly follow a Dense layer"
                        )))
                    }
                },
                nn::Layer::Flatten if shapes[k].len() == 1 || layers.is_empty() => {}
                other => {
                    return Err(QatError::Model(format!(
                        "layer {k} ({}): quantization-aware training supports Dense, ReLU and \
                         Flatten layers (and batch norm after Dense)",
                        other.kind()
                    )))
                }
            }
        }
        if !matches!(model.layers.last(), Some(nn::Layer::Dense { .. })) {
            return Err(QatError::Model(
                "the model must end with a Dense layer".into(),
            ));
        }
        let exported = quantize_at(&model, spec, calibration, &thresholds)?;
        Ok(QatNet {
            model,
            spec: spec.clone(),
            training,
            layers,
            input: exported.input.clone(),
            rounding: spec.rounding,
        })
    }

    /// The current clipping thresholds, as [`quantize_at`] takes them.
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            weights: self.layers.iter().map(|l| l.w_threshold.clone()).collect(),
            activations: self.layers.iter().map(|l| l.a_threshold).collect(),
        }
    }

    /// The integer network of the current parameters (the same function post-training
    /// quantization uses, with the learned thresholds).
    pub fn export(&self, calibration: &[f32]) -> Result<QNet, QatError> {
        Ok(quantize_at(
            &self.model,
            &self.spec,
            calibration,
            &self.thresholds(),
        )?)
    }

    /// Input codes of `inputs` (`in_features` per sample), by the integer network's input coding.
    pub fn input_codes(&self, inputs: &[f32]) -> Vec<i32> {
        inputs
            .iter()
            .map(|&x| self.input.quantize(f64::from(x)))
            .collect()
    }

    /// Number of input features.
    pub fn in_features(&self) -> usize {
        self.layers.first().map_or(0, |l| l.in_f)
    }

    /// Checks that `data`'s samples have as many values as the network takes.
    pub fn check_data(&self, data: &Dataset) -> Result<(), QatError> {
        if data.sample_size() == self.in_features() {
            return Ok(());
        }
        Err(QatError::Data(format!(
            "data samples have {} values, the model takes {}",
            data.sample_size(),
            self.in_features()
        )))
    }

    /// Number of outputs.
    pub fn out_features(&self) -> usize {
        self.layers.last().map_or(0, |l| l.out_f)
    }

    /// The float weights and bias of layer `l`.
    pub(crate) fn params(&self, l: usize) -> (&[f32], &[f32]) {
        match &self.model.layers[self.layers[l].model_index] {
            nn::Layer::Dense { weights, bias, .. } => (weights, bias),
            _ => (&[], &[]),
        }
    }

    /// Mutable float weights and bias of layer `l`.
    pub(crate) fn params_mut(&mut self, l: usize) -> (&mut [f32], &mut [f32]) {
        match &mut self.model.layers[self.layers[l].model_index] {
            nn::Layer::Dense { weights, bias, .. } => (weights, bias),
            _ => (&mut [], &mut []),
        }
    }

    /// Every layer quantized at the current parameters.
    pub(crate) fn quantize(&self) -> Result<Vec<LayerQuant>, QatError> {
        let mut s_in = self.input.scale;
        let last = self.layers.len() - 1;
        let mut out = Vec::with_capacity(self.layers.len());
        for (l, layer) in self.layers.iter().enumerate() {
            let (w, b) = self.params(l);
            let t = quantize_weights(
                &layer.wq,
                w,
                &[layer.out_f, layer.in_f],
                layer.w_threshold.as_deref(),
            )
            .map_err(|e| QatError::Spec(format!("layer {l} weights: {e}")))?;
            let levels = match t.kind() {
                CodeKind::Integer => t.codes().iter().map(|&c| c as f32).collect(),
                kind => t
                    .codes()
                    .iter()
                    .map(|&c| kind.level(c).map(|v| v as f32))
                    .collect::<Result<Vec<f32>, _>>()
                    .map_err(|e| QatError::Spec(format!("layer {l} weights: {e}")))?,
            };
            let scales: Vec<f64> = t.channels().iter().map(|c| c.scale).collect();
            let w_scale: Vec<f64> = (0..layer.out_f)
                .map(|o| scales[if scales.len() == 1 { 0 } else { o }])
                .collect();
            let bias = (0..layer.out_f)
                .map(|o| bias_code(b[o], s_in * w_scale[o]) as f64)
                .collect();
            let act = if l == last {
                None
            } else {
                let (fmt, scale) = activation_scale_at(&layer.aq, layer.a_threshold, !layer.relu)?;
                // A bipolar layer's sign replaces its ReLU.
                let low = if layer.relu && !fmt.is_bipolar() {
                    fmt.min().max(0)
                } else {
                    fmt.min()
                };
                Some(ActQuant {
                    scale,
                    low,
                    high: fmt.max(),
                    bipolar: fmt.is_bipolar(),
                })
            };
            out.push(LayerQuant {
                levels,
                w_scale,
                bias,
                s_in,
                act,
            });
            if let Some(a) = act {
                s_in = a.scale;
            }
        }
        Ok(out)
    }

    /// The fake-quantized forward pass of `batch` samples of input codes: each layer's input
    /// codes and pre-activations, the last pre-activations being the logits.
    pub(crate) fn forward<T: Real>(
        &self,
        quant: &[LayerQuant],
        codes: &[T],
        batch: usize,
    ) -> Trace<T> {
        let mut trace = Trace::default();
        let mut x = codes.to_vec();
        for (layer, q) in self.layers.iter().zip(quant) {
            let levels: Vec<T> = q
                .levels
                .iter()
                .map(|&v| T::from_f64(f64::from(v)))
                .collect();
            let mut acc = vec![T::default(); batch * layer.out_f];
            gemm_rows(
                batch,
                layer.in_f,
                layer.out_f,
                &x,
                Mat::transposed(&levels),
                &mut acc,
            );
            let mut codes_out = Vec::new();
            for row in acc.chunks_exact_mut(layer.out_f) {
                for (o, v) in row.iter_mut().enumerate() {
                    let a = v.to_f64() + q.bias[o];
                    let z = a * (q.s_in * q.w_scale[o]);
                    *v = T::from_f64(z);
                    if let Some(act) = q.act {
                        codes_out.push(T::from_f64(self.act_code(a, q, o, act) as f64));
                    }
                }
            }
            trace.inputs.push(std::mem::take(&mut x));
            trace.pre.push(acc);
            x = codes_out;
        }
        trace
    }

    /// The output code of accumulator `a` (bias included) of channel `o`:
    /// `clamp(round(a · s_in · s_w / s_out))`, or for bipolar activations its sign (`a ≥ 0 →
    /// +1`), the integer network's comparison exactly, as `a` is an exact integer sum.
    pub(crate) fn act_code(&self, a: f64, q: &LayerQuant, o: usize, act: ActQuant) -> i64 {
        if act.bipolar {
            return if a >= 0.0 { 1 } else { -1 };
        }
        let ratio = q.s_in * q.w_scale[o] / act.scale;
        let r = round_f64(a * ratio, self.rounding);
        r.clamp(act.low as f64, act.high as f64) as i64
    }

    /// Whether layer `l` has binary weights (hard-tanh STE, shadow weights kept in `[−1, 1]`).
    pub(crate) fn binary(&self, l: usize) -> bool {
        matches!(self.layers[l].wq.scheme, Scheme::Binary)
    }
}

/// `model` with each batch norm folded into the Dense layer before it.
fn fold(model: &Model) -> Result<Model, QatError> {
    let mut layers: Vec<nn::Layer> = Vec::new();
    for (k, layer) in model.layers.iter().enumerate() {
        if let nn::Layer::BatchNorm { .. } = layer {
            let prev = match layers.last() {
                Some(p @ nn::Layer::Dense { .. }) => p,
                _ => {
                    return Err(QatError::Model(format!(
                        "layer {k}: a BatchNorm must directly follow a Dense layer"
                    )))
                }
            };
            let folded = nn::fold_batchnorm(prev, layer)
                .map_err(|e| QatError::Model(format!("layer {k}: {e}")))?;
            *layers.last_mut().expect("checked above") = folded;
        } else {
            layers.push(layer.clone());
        }
    }
    Ok(Model {
        name: model.name.clone(),
        input_shape: model.input_shape.clone(),
        layers,
    })
}
