//! A float model under quantization-aware training: its shadow weights, learned clipping
//! thresholds, and the fake-quantized forward pass.
//!
//! Every quantity of the forward pass comes from the code the integer network is built with:
//! weights are quantized by [`qnn::quantize::quantize_weights`] (the quantizers' own exact
//! rounding), biases by [`qnn::quantize::bias_codes`], activation scales by
//! [`qnn::quantize::activation_scale_at`], input codes by the exported network's
//! [`InputQuant`]. Accumulators are sums of integer levels times integer codes. Only the
//! requantization differs: the forward divides by the real scale ratio `s_in · s_w / s_out`,
//! the integer network multiplies by its `M / 2^S` approximation; when every scale is a power
//! of two the two are the same number and the forward equals the integer network code for code.
//!
//! A convolution is one matrix product over the im2col rows of its input ([`super::conv`]),
//! with the weight quantizer, bias codes and activation codes of a Dense layer, per output
//! channel; a max pool after it takes the largest code of each window, as the integer network
//! does.

use super::conv::{ConvShape, PoolShape};
use super::gemm::{gemm_rows, Mat, Real};
use super::QatError;
use crate::nn::{self, Dataset, Model};
use crate::num::rounding::RoundingMode;
use crate::qnn::net::{round_f64, InputQuant};
use crate::qnn::quantize::{
    activation_scale_at, bias_codes, calibrated_thresholds, layer_quantizers, quantize_at,
    quantize_weights, ActSpec, QuantSpec, Thresholds,
};
use crate::qnn::QNet;
use crate::quant::quantizer::{Scheme, TensorQuantizer};
use crate::quant::tensor::CodeKind;
use crate::quant::training::TrainingSpec;

/// One Dense or Conv2d layer of the trained network, with the max pool after it.
#[derive(Clone, Debug)]
pub(crate) struct QatLayer {
    /// Index of the layer in the float model.
    pub model_index: usize,
    /// Weights per output channel (Dense: input features; Conv2d: taps of a window).
    pub in_f: usize,
    /// Output features (Dense) or channels (Conv2d).
    pub out_f: usize,
    /// The weights' shape in the float model.
    pub w_shape: Vec<usize>,
    /// The convolution's geometry (`None`: a Dense layer).
    pub conv: Option<ConvShape>,
    /// A max pool after the layer (and its activation quantizer).
    pub pool: Option<PoolShape>,
    /// A ReLU follows (fused into the activation quantizer), before or after the pool.
    pub relu: bool,
    pub wq: TensorQuantizer,
    pub aq: ActSpec,
    /// Learned weight clipping thresholds (one per channel, or one); `None`: from statistics.
    pub w_threshold: Option<Vec<f64>>,
    /// Learned output activation threshold (unused for the last layer).
    pub a_threshold: f64,
    /// Largest weight level magnitude of the scheme.
    pub level_hi: i64,
    /// Incremental quantization: which weights are quantized and frozen (empty: no INQ, every
    /// weight quantized); the others are used unquantized.
    pub frozen: Vec<bool>,
    /// Unstructured pruning: which weights are pruned, held at 0 (empty: none).
    pub pruned: Vec<bool>,
    /// Of the pruned weights, how many the quantizer had already put at level 0 when they
    /// were pruned.
    pub pruned_at_zero: usize,
    /// Channel pruning of a hidden layer: one gate score per output channel, the channel
    /// open (kept) at a score ≥ 0 (empty: every channel kept).
    pub gates: Vec<f64>,
}

impl QatLayer {
    /// Output pixels per sample (1 for a Dense layer): the rows of its product per sample.
    pub fn positions(&self) -> usize {
        self.conv.map_or(1, |c| c.positions())
    }

    /// Values of one input sample.
    pub fn in_len(&self) -> usize {
        self.conv.map_or(self.in_f, |c| c.in_len())
    }

    /// Values of one output sample, before the pool (CHW for a convolution).
    pub fn out_len(&self) -> usize {
        self.out_f * self.positions()
    }

    /// Values of one output sample, after the pool.
    pub fn pooled_len(&self) -> usize {
        self.pool.map_or(self.out_len(), |p| p.out_len())
    }
}

/// The quantized form of one layer at the current parameters.
#[derive(Clone, Debug)]
pub(crate) struct LayerQuant {
    /// Weight levels, `[out][in]` (`[out][taps]` for a convolution).
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
    /// Input codes of each layer, `[batch][in]` (CHW samples).
    pub inputs: Vec<Vec<T>>,
    /// The im2col rows of each convolution's input, `[batch · positions][taps]` (empty for a
    /// Dense layer).
    pub cols: Vec<Vec<T>>,
    /// Pre-activations `z` (real units) of each layer, `[batch][out]` (CHW samples); the last
    /// is the logits.
    pub pre: Vec<Vec<T>>,
    /// Of each layer with a max pool: its output codes before the pool, and the batch index of
    /// the code each pooled code was taken from.
    pub pooled: Vec<Option<(Vec<T>, Vec<usize>)>>,
    /// Of each hidden layer whose channel gates learn: its output codes before the gates
    /// (and before its pool), for the gates' gradient.
    pub ungated: Vec<Option<Vec<T>>>,
}

impl<T> Trace<T> {
    /// The output codes of hidden layer `l` before its pool, if any.
    pub fn codes(&self, l: usize) -> &[T] {
        match &self.pooled[l] {
            Some((codes, _)) => codes,
            None => &self.inputs[l + 1],
        }
    }
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
    /// Prepares `model` for training under `spec`: batch norm folded into the Dense or Conv2d
    /// layer before it, thresholds initialised as post-training quantization chooses them on
    /// `calibration` (so the untrained network exports exactly as `quantize` would).
    pub fn new(model: &Model, spec: &QuantSpec, calibration: &[f32]) -> Result<QatNet, QatError> {
        let training = spec.training.clone();
        training.check().map_err(|(_, m)| QatError::Spec(m))?;
        // calibrated on the model as given, as post-training quantization calibrates it (its
        // float activations after a batch norm are not rounded as the folded layer's are)
        let (model, thresholds) = if training.weight_normalization {
            // centred after folding, and calibrated on the network that is trained
            let mut model = fold(model)?;
            for layer in &mut model.layers {
                if let nn::Layer::Dense { weights, .. } | nn::Layer::Conv2d { weights, .. } = layer
                {
                    centre(weights);
                }
            }
            let thresholds = calibrated_thresholds(&model, spec, calibration)?;
            (model, thresholds)
        } else {
            let thresholds = calibrated_thresholds(model, spec, calibration)?;
            (fold(model)?, thresholds)
        };
        let shapes = model.shapes()?;
        let mut layers: Vec<QatLayer> = Vec::new();
        // the model index of the last layer's max pool
        let mut pooled_at = None;
        for (k, layer) in model.layers.iter().enumerate() {
            match layer {
                nn::Layer::Dense { .. } | nn::Layer::Conv2d { .. } => {
                    let (in_f, out_f, w_shape, conv) = match *layer {
                        nn::Layer::Conv2d {
                            in_channels,
                            out_channels,
                            kernel_h,
                            kernel_w,
                            stride,
                            padding,
                            ..
                        } => (
                            in_channels * kernel_h * kernel_w,
                            out_channels,
                            vec![out_channels, in_channels, kernel_h, kernel_w],
                            Some(ConvShape::new(
                                &shapes[k],
                                (kernel_h, kernel_w),
                                stride,
                                padding,
                            )),
                        ),
                        nn::Layer::Dense {
                            in_features,
                            out_features,
                            ..
                        } => (
                            in_features,
                            out_features,
                            vec![out_features, in_features],
                            None,
                        ),
                        _ => unreachable!("matched above"),
                    };
                    let index = layers.len();
                    let (wq, aq) = layer_quantizers(spec, index);
                    let code = wq
                        .scheme
                        .weight_code()
                        .map_err(|e| QatError::Spec(format!("layer {index} weights: {e}")))?;
                    if !training.inq.is_empty() && !matches!(wq.scheme, Scheme::Pot(_)) {
                        return Err(QatError::Spec(format!(
                            "training inq needs PoT weights, layer {index} has {code} weights"
                        )));
                    }
                    // INQ keeps the clipping of the weights' statistics
                    let learned = training.learn_weight_clipping
                        && wq.has_clipping()
                        && training.inq.is_empty();
                    pooled_at = None;
                    layers.push(QatLayer {
                        model_index: k,
                        in_f,
                        out_f,
                        w_shape,
                        conv,
                        pool: None,
                        relu: false,
                        w_threshold: if learned {
                            thresholds.weights[index].clone()
                        } else {
                            None
                        },
                        a_threshold: thresholds.activations[index],
                        level_hi: code.level_range().1.max(1),
                        frozen: Vec::new(),
                        pruned: Vec::new(),
                        pruned_at_zero: 0,
                        gates: Vec::new(),
                        wq,
                        aq,
                    });
                }
                nn::Layer::Relu => match layers.last_mut() {
                    Some(l) if !l.relu && l.model_index + 1 == k => l.relu = true,
                    // relu(max(x)) = max(relu(x)): fused before the pool, as quantization does
                    Some(l) if pooled_at.is_some_and(|p: usize| p + 1 == k) => l.relu = true,
                    _ => {
                        return Err(QatError::Model(format!(
                            "layer {k}: a ReLU must directly follow a Dense or Conv2d layer \
                             or its max pool"
                        )))
                    }
                },
                nn::Layer::MaxPool2d { kernel, stride } => match layers.last_mut() {
                    Some(l)
                        if l.conv.is_some()
                            && l.pool.is_none()
                            && k == l.model_index + 1 + usize::from(l.relu) =>
                    {
                        l.pool = Some(PoolShape::new(&shapes[k], *kernel, *stride));
                        pooled_at = Some(k);
                    }
                    _ => {
                        return Err(QatError::Model(format!(
                            "layer {k}: a MaxPool2d must directly follow a Conv2d layer or its \
                             ReLU"
                        )))
                    }
                },
                nn::Layer::Flatten => {}
                nn::Layer::BatchNorm { .. } => {
                    return Err(QatError::Model(format!(
                        "layer {k}: a BatchNorm must directly follow a Dense or Conv2d layer"
                    )))
                }
            }
        }
        if !matches!(
            model.layers.last(),
            Some(nn::Layer::Dense { .. } | nn::Layer::Conv2d { .. })
        ) {
            return Err(QatError::Model(
                "the model must end with a Dense or Conv2d layer".into(),
            ));
        }
        let exported = quantize_at(&model, spec, calibration, &thresholds)?;
        let mut net = QatNet {
            model,
            spec: spec.clone(),
            training,
            layers,
            input: exported.input.clone(),
            rounding: spec.rounding,
        };
        net.init_channels();
        Ok(net)
    }

    /// The current clipping thresholds, as [`quantize_at`] takes them.
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            weights: self.layers.iter().map(|l| l.w_threshold.clone()).collect(),
            activations: self.layers.iter().map(|l| l.a_threshold).collect(),
        }
    }

    /// The integer network of the current parameters (the same function post-training
    /// quantization uses, with the learned thresholds), without the channels channel pruning
    /// closed.
    pub fn export(&self, calibration: &[f32]) -> Result<QNet, QatError> {
        self.export_as(&self.spec, calibration)
    }

    /// [`QatNet::export`] with `spec` in place of the training's spec: the same quantizers,
    /// with another requantization multiplier width or accumulator policy.
    pub fn export_as(&self, spec: &QuantSpec, calibration: &[f32]) -> Result<QNet, QatError> {
        let net = quantize_at(&self.model, spec, calibration, &self.thresholds())?;
        self.without_closed_channels(net)
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
        self.layers.first().map_or(0, QatLayer::in_len)
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
        self.layers.last().map_or(0, QatLayer::pooled_len)
    }

    /// The float weights and bias of layer `l`.
    pub(crate) fn params(&self, l: usize) -> (&[f32], &[f32]) {
        match &self.model.layers[self.layers[l].model_index] {
            nn::Layer::Dense { weights, bias, .. } | nn::Layer::Conv2d { weights, bias, .. } => {
                (weights, bias)
            }
            _ => (&[], &[]),
        }
    }

    /// Mutable float weights and bias of layer `l`.
    pub(crate) fn params_mut(&mut self, l: usize) -> (&mut [f32], &mut [f32]) {
        match &mut self.model.layers[self.layers[l].model_index] {
            nn::Layer::Dense { weights, bias, .. } | nn::Layer::Conv2d { weights, bias, .. } => {
                (weights, bias)
            }
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
            let (mut levels, w_scale) = self.levels(l)?;
            if layer.frozen.contains(&false) {
                // INQ: the weights not yet frozen are used as they are
                for (i, v) in levels.iter_mut().enumerate() {
                    if !layer.frozen[i] {
                        *v = (f64::from(w[i]) / w_scale[i / layer.in_f]) as f32;
                    }
                }
            }
            let bias = bias_codes(b, |o| s_in * w_scale[o], self.spec.bias_bits)
                .into_iter()
                .map(|v| v as f64)
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
        self.forward_from(quant, 0, codes, batch)
    }

    /// The forward pass from layer `first` on, given its input codes; the trace's entries
    /// start at that layer.
    pub(crate) fn forward_from<T: Real>(
        &self,
        quant: &[LayerQuant],
        first: usize,
        codes: &[T],
        batch: usize,
    ) -> Trace<T> {
        let mut trace = Trace::default();
        let mut x = codes.to_vec();
        for (layer, q) in self.layers.iter().zip(quant).skip(first) {
            let levels: Vec<T> = q
                .levels
                .iter()
                .map(|&v| T::from_f64(f64::from(v)))
                .collect();
            let positions = layer.positions();
            let rows = batch * positions;
            let mut cols = Vec::new();
            if let Some(c) = layer.conv {
                cols.reserve(rows * layer.in_f);
                for sample in x.chunks_exact(c.in_len()) {
                    c.im2col(sample, &mut cols);
                }
            }
            let mut acc = vec![T::default(); rows * layer.out_f];
            gemm_rows(
                rows,
                layer.in_f,
                layer.out_f,
                if layer.conv.is_some() { &cols } else { &x },
                Mat::transposed(&levels),
                &mut acc,
            );
            // row r of the product is pixel r % positions of sample r / positions; its values
            // go to the sample's channel planes (CHW)
            let out_len = layer.out_len();
            let mut pre = vec![T::default(); batch * out_len];
            let mut codes_out = vec![T::default(); if q.act.is_some() { pre.len() } else { 0 }];
            for (r, row) in acc.chunks_exact(layer.out_f).enumerate() {
                let at = (r / positions) * out_len + r % positions;
                for (o, v) in row.iter().enumerate() {
                    let a = v.to_f64() + q.bias[o];
                    let z = a * (q.s_in * q.w_scale[o]);
                    pre[at + o * positions] = T::from_f64(z);
                    if let Some(act) = q.act {
                        codes_out[at + o * positions] =
                            T::from_f64(self.act_code(a, q, o, act) as f64);
                    }
                }
            }
            // learned gates need the codes before them; a closed channel outputs code 0
            let ungated =
                (!layer.gates.is_empty() && self.learns_gates()).then(|| codes_out.clone());
            if layer.gates.iter().any(|&g| g < 0.0) {
                for sample in codes_out.chunks_exact_mut(out_len) {
                    for (plane, &g) in sample.chunks_exact_mut(positions).zip(&layer.gates) {
                        if g < 0.0 {
                            plane.fill(T::default());
                        }
                    }
                }
            }
            let pooled = layer.pool.map(|p| {
                let (mut out, mut argmax) = (Vec::new(), Vec::new());
                for (s, sample) in codes_out.chunks_exact(p.in_len()).enumerate() {
                    p.forward(sample, s * p.in_len(), &mut out, &mut argmax);
                }
                (std::mem::replace(&mut codes_out, out), argmax)
            });
            trace.inputs.push(std::mem::take(&mut x));
            trace.cols.push(cols);
            trace.pre.push(pre);
            trace.pooled.push(pooled);
            trace.ungated.push(ungated);
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

    /// The quantized weight levels of layer `l` at its current weights, `[out][in]`, and the
    /// weight scale of each output channel.
    pub(crate) fn levels(&self, l: usize) -> Result<(Vec<f32>, Vec<f64>), QatError> {
        let layer = &self.layers[l];
        let (w, _) = self.params(l);
        let t = quantize_weights(&layer.wq, w, &layer.w_shape, layer.w_threshold.as_deref())
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
        Ok((levels, w_scale))
    }

    /// INQ: quantizes and freezes the largest-magnitude weights of every output channel not
    /// frozen yet, until `fraction` of the channel (rounded to the nearest count) is frozen;
    /// a frozen weight's shadow value becomes its quantized value `s · level`.
    pub(crate) fn freeze(&mut self, fraction: f64) -> Result<(), QatError> {
        for l in 0..self.layers.len() {
            let (levels, w_scale) = self.levels(l)?;
            let in_f = self.layers[l].in_f;
            let mut frozen = std::mem::take(&mut self.layers[l].frozen);
            frozen.resize(levels.len(), false);
            let (w, _) = self.params_mut(l);
            let target = ((fraction * in_f as f64).round() as usize).min(in_f);
            for (o, &scale) in w_scale.iter().enumerate() {
                let row = o * in_f..(o + 1) * in_f;
                let mut order: Vec<usize> = row.clone().filter(|&i| !frozen[i]).collect();
                // largest magnitude first; equal ones by position
                order.sort_by(|&a, &b| w[b].abs().total_cmp(&w[a].abs()).then(a.cmp(&b)));
                let done = frozen[row].iter().filter(|&&f| f).count();
                for &i in order.iter().take(target.saturating_sub(done)) {
                    frozen[i] = true;
                    w[i] = (f64::from(levels[i]) * scale) as f32;
                }
            }
            self.layers[l].frozen = frozen;
        }
        Ok(())
    }

    /// Trains every layer at `width` bits (activations, and uniform weights), or at the spec's
    /// widths (`None`): each layer's quantizers are the spec's (overrides applied) with widths
    /// raised to `width`, for progressive bit reduction. Thresholds are kept, so a step is
    /// `T / (2^(b−1) − 1)` of the current width.
    pub(crate) fn set_width(&mut self, width: Option<u32>) -> Result<(), QatError> {
        for (index, layer) in self.layers.iter_mut().enumerate() {
            let (mut wq, mut aq) = layer_quantizers(&self.spec, index);
            if let Some(bits) = width {
                if let Scheme::Uniform(c) = &mut wq.scheme {
                    c.bits = c.bits.max(bits);
                }
                aq.bits = aq.bits.max(bits);
            }
            let code = wq
                .scheme
                .weight_code()
                .map_err(|e| QatError::Spec(format!("layer {index} weights: {e}")))?;
            layer.level_hi = code.level_range().1.max(1);
            layer.wq = wq;
            layer.aq = aq;
        }
        Ok(())
    }

    /// Whether layer `l` has binary weights (hard-tanh STE, shadow weights kept in `[−1, 1]`).
    pub(crate) fn binary(&self, l: usize) -> bool {
        matches!(self.layers[l].wq.scheme, Scheme::Binary)
    }
}

/// `model` with each batch norm folded into the Dense or Conv2d layer before it.
/// Subtracts the mean from `weights` (weight normalisation's centring) and returns their
/// standard deviation.
pub(crate) fn centre(weights: &mut [f32]) -> f64 {
    if weights.is_empty() {
        return 0.0;
    }
    let n = weights.len() as f64;
    let mean = weights.iter().map(|&w| f64::from(w)).sum::<f64>() / n;
    let mut squares = 0.0;
    for w in weights.iter_mut() {
        let centred = f64::from(*w) - mean;
        *w = centred as f32;
        squares += centred * centred;
    }
    (squares / n).sqrt()
}

fn fold(model: &Model) -> Result<Model, QatError> {
    let mut layers: Vec<nn::Layer> = Vec::new();
    for (k, layer) in model.layers.iter().enumerate() {
        if let nn::Layer::BatchNorm { .. } = layer {
            let prev = match layers.last() {
                Some(p @ (nn::Layer::Dense { .. } | nn::Layer::Conv2d { .. })) => p,
                _ => {
                    return Err(QatError::Model(format!(
                        "layer {k}: a BatchNorm must directly follow a Dense or Conv2d layer"
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

#[cfg(test)]
mod tests {
    use super::centre;

    #[test]
    fn centring_subtracts_the_mean_and_gives_the_standard_deviation() {
        let mut w = [1.0f32, 2.0, 3.0, 6.0];
        // mean 3; deviations −2, −1, 0, 3; variance (4 + 1 + 0 + 9) / 4 = 3.5
        let sd = centre(&mut w);
        assert_eq!(w, [-2.0, -1.0, 0.0, 3.0]);
        assert_eq!(sd, 3.5f64.sqrt());
        assert_eq!(centre(&mut []), 0.0);
    }
}
