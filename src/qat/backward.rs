//! The backward pass of the fake-quantized network: softmax cross-entropy, the straight-through
//! estimator at every quantizer, and the gradients of the learned clipping thresholds.
//!
//! In real units a Dense layer computes `z = ŵ · x̂ + b̂` with `ŵ = s_w · level`,
//! `x̂ = s_in · code` and `b̂` the quantized bias, so `∂L/∂ŵ = s_in · Gᵀ · codes`,
//! `∂L/∂x̂ = (G · s_w) · levels`, `∂L/∂b = Σ G` (the STE through the bias rounding). The
//! shadow weight gets `∂L/∂ŵ` where the STE passes; a weight threshold `T` (step `s ≈ T / hi`)
//! gets LSQ's `Σ ∂L/∂ŵ · ∂ŵ/∂s` times the gradient scale and `s / T`; an activation threshold
//! gets LSQ's or PACT's gradient from `∂L/∂x̂`.
//!
//! Bipolar activations `x̂ = s · sign(z)` use the hard-tanh STE in units of their scale:
//! `∂x̂/∂z = 1` where `|z| ≤ s` (`hard_tanh_pass(z / s)`), 0 outside; with LSQ the scale learns
//! `∂x̂/∂s = sign(z) − z/s` inside and `sign(z)` outside (LSQ's formula for the levels ±1).
//!
//! A convolution is the same product over its im2col rows (one row per output pixel, so `G`
//! has a row per sample and pixel): `∂L/∂ŵ = s_in · Gᵀ · cols`, and `∂L/∂cols` is added back
//! onto the input by col2im. A max pool passes each output's gradient to the element it took
//! (the first largest of its window, as the forward pass took it); the activation quantizer
//! before the pool then masks it by that element's pre-activation.

use super::conv::pool_backward;
use super::gemm::{gemm_rows, gemm_tn_rows, Mat};
use super::net::{LayerQuant, QatNet, Trace};
use crate::quant::quantizer::Scheme;
use crate::quant::training::{
    hard_tanh_pass, lsq_grad_scale, lsq_step_grad, pact_clip_grad, ste_pass, ActClipping, Ste,
};
use rayon::prelude::*;

/// Layers with at least this many weights get their per-weight gradients on every core.
const PARALLEL_WEIGHTS: usize = 1 << 15;

/// The gradients of one layer's parameters.
#[derive(Clone, Debug, Default)]
pub(crate) struct LayerGrad {
    /// Shadow weights, `[out][in]` (`[out][taps]` for a convolution).
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    /// Weight thresholds (as many as the layer learns; empty when from statistics).
    pub w_threshold: Vec<f64>,
    /// Output activation threshold.
    pub a_threshold: f64,
    /// Channel gate scores (empty unless the gates learn).
    pub gates: Vec<f64>,
}

/// Loss and correct predictions of a batch.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BatchStats {
    /// Summed cross-entropy.
    pub loss: f64,
    pub correct: usize,
}

/// Softmax cross-entropy of `logits` (`classes` per sample) against `labels`: the summed loss,
/// the number correct, and `∂(mean loss)/∂logits`.
pub(crate) fn softmax_cross_entropy(
    logits: &[f32],
    classes: usize,
    labels: &[u8],
) -> (BatchStats, Vec<f32>) {
    let n = labels.len();
    let mut grad = vec![0.0f32; logits.len()];
    let mut stats = BatchStats::default();
    for (b, (row, &label)) in logits.chunks_exact(classes).zip(labels).enumerate() {
        let label = label as usize;
        let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let exps: Vec<f32> = row.iter().map(|&v| (v - max).exp()).collect();
        let sum: f32 = exps.iter().sum();
        stats.loss -= f64::from(exps[label] / sum).max(f64::MIN_POSITIVE).ln();
        stats.correct += usize::from(crate::nn::argmax(row) == label);
        for (i, e) in exps.iter().enumerate() {
            grad[b * classes + i] = (e / sum - f32::from(u8::from(i == label))) / n as f32;
        }
    }
    (stats, grad)
}

/// Backpropagates `grad` (`∂L/∂logits`, `[batch][classes]`) through the network.
pub(crate) fn backward(
    net: &QatNet,
    quant: &[LayerQuant],
    trace: &Trace<f32>,
    mut grad: Vec<f32>,
    batch: usize,
) -> Vec<LayerGrad> {
    let mut grads = vec![LayerGrad::default(); net.layers.len()];
    for l in (0..net.layers.len()).rev() {
        let layer = &net.layers[l];
        let q = &quant[l];
        let (w, _) = net.params(l);
        let (in_f, out_f) = (layer.in_f, layer.out_f);
        // the gradient as rows of the layer's product: `[batch · positions][out]`
        let positions = layer.positions();
        let rows = batch * positions;
        if layer.conv.is_some() {
            grad = chw_to_rows(&grad, out_f, positions);
        }
        let x = if layer.conv.is_some() {
            &trace.cols[l]
        } else {
            &trace.inputs[l]
        };
        // ∂L/∂ŵ = s_in · Gᵀ · codes
        let mut dw_hat = vec![0.0f32; out_f * in_f];
        gemm_tn_rows(rows, out_f, in_f, &grad, x, &mut dw_hat);
        let s_in = q.s_in as f32;
        dw_hat.iter_mut().for_each(|v| *v *= s_in);
        let mut g = LayerGrad {
            a_threshold: grads[l].a_threshold,
            gates: std::mem::take(&mut grads[l].gates),
            bias: (0..out_f)
                .map(|o| (0..rows).map(|r| grad[r * out_f + o]).sum())
                .collect(),
            ..LayerGrad::default()
        };
        let binary = matches!(layer.wq.scheme, Scheme::Binary);
        let ste = match layer.wq.scheme {
            Scheme::Ternary(_) => Ste::Identity,
            _ => net.training.ste,
        };
        let hi = layer.level_hi;
        g.weights = vec![0.0f32; out_f * in_f];
        let learned = layer.w_threshold.as_ref();
        // Each row (output channel) on its own: the STE mask of its weights and its LSQ sum.
        let row_grad = |(o, gw): (usize, &mut [f32])| -> f64 {
            let row = o * in_f..(o + 1) * in_f;
            let s = q.w_scale[o];
            let limit = hi as f64 * s;
            let mut dt_row = 0.0f64;
            for ((gw, &d), (&wv, &level)) in gw
                .iter_mut()
                .zip(&dw_hat[row.clone()])
                .zip(w[row.clone()].iter().zip(&q.levels[row]))
            {
                let wv = f64::from(wv);
                let pass = if binary {
                    hard_tanh_pass(wv)
                } else {
                    ste_pass(ste, wv, limit)
                };
                *gw = d * pass as f32;
                if learned.is_some() {
                    dt_row += f64::from(d) * lsq_step_grad(wv, s, level as i64, -hi, hi);
                }
            }
            if !layer.frozen.is_empty() {
                // INQ: unfrozen weights are used unquantized, frozen ones do not move
                let row = o * in_f..(o + 1) * in_f;
                for ((gw, &d), &frozen) in gw
                    .iter_mut()
                    .zip(&dw_hat[row.clone()])
                    .zip(&layer.frozen[row])
                {
                    *gw = if frozen { 0.0 } else { d };
                }
            }
            dt_row
        };
        let dt_rows: Vec<f64> = if out_f * in_f >= PARALLEL_WEIGHTS {
            g.weights
                .par_chunks_mut(in_f)
                .enumerate()
                .map(row_grad)
                .collect()
        } else {
            g.weights
                .chunks_mut(in_f)
                .enumerate()
                .map(row_grad)
                .collect()
        };
        let dt: Vec<f64> = match learned.map(Vec::len) {
            None => Vec::new(),
            Some(1) => vec![dt_rows.iter().sum()],
            Some(_) => dt_rows,
        };
        if let Some(thresholds) = learned {
            let per_channel = thresholds.len() > 1;
            let n = if per_channel { in_f } else { in_f * out_f };
            let scale = lsq_grad_scale(n, hi);
            g.w_threshold = dt
                .iter()
                .zip(thresholds)
                .enumerate()
                .map(|(c, (&d, &t))| {
                    let s = q.w_scale[if per_channel { c } else { 0 }];
                    if t > 0.0 {
                        d * scale * s / t
                    } else {
                        0.0
                    }
                })
                .collect();
        }
        if l == 0 {
            grads[l] = g;
            break;
        }
        let mut dx = input_grad(net, q, trace, l, &grad, batch);
        grads[l] = g;
        // through the previous layer's activation quantizer
        let prev = &net.layers[l - 1];
        let act = quant[l - 1]
            .act
            .expect("hidden layers quantize their outputs");
        let (s, t) = (act.scale, prev.a_threshold);
        let z = &trace.pre[l - 1];
        let codes = trace.codes(l - 1);
        let lsq_scale = lsq_grad_scale(prev.out_len(), act.high);
        if !prev.gates.is_empty() {
            // y = g · a per channel: ∂L/∂g = Σ ∂L/∂ŷ · â, and a closed gate passes nothing back
            let (out_len, positions) = (prev.out_len(), prev.positions());
            let channel = |i: usize| (i % out_len) / positions;
            if let Some(ungated) = &trace.ungated[l - 1] {
                let mut dg = vec![0.0f64; prev.out_f];
                for (i, (&d, &a)) in dx.iter().zip(ungated).enumerate() {
                    dg[channel(i)] += f64::from(d) * f64::from(a) * s;
                }
                grads[l - 1].gates = dg;
            }
            for (i, d) in dx.iter_mut().enumerate() {
                if prev.gates[channel(i)] < 0.0 {
                    *d = 0.0;
                }
            }
        }
        let mut dt = 0.0f64;
        for ((d, &zv), &c) in dx.iter_mut().zip(z).zip(codes) {
            let (zv, dv) = (f64::from(zv), f64::from(*d));
            let inside = if act.bipolar {
                hard_tanh_pass(zv / s) > 0.0
            } else {
                zv >= act.low as f64 * s && zv <= act.high as f64 * s
            };
            match net.training.activation_clipping {
                ActClipping::Lsq => {
                    dt += dv * lsq_step_grad(zv, s, c as i64, act.low, act.high);
                }
                ActClipping::Pact => dt += dv * pact_clip_grad(zv, t),
                ActClipping::Fixed => {}
            }
            if !inside {
                *d = 0.0;
            }
        }
        grads[l - 1].a_threshold = match net.training.activation_clipping {
            ActClipping::Lsq if t > 0.0 => dt * lsq_scale * s / t,
            ActClipping::Pact => dt,
            _ => 0.0,
        };
        grad = dx;
    }
    grads
}

/// `∂L/∂x̂` of layer `l`'s input, `l > 0`, from `grad` (`∂L/∂z` as rows of its product), carried
/// back through the previous layer's max pool if it has one: `(G · s_w) · levels`, by col2im
/// onto the input of a convolution, by each pooled code onto the code it was taken from.
pub(crate) fn input_grad(
    net: &QatNet,
    q: &LayerQuant,
    trace: &Trace<f32>,
    l: usize,
    grad: &[f32],
    batch: usize,
) -> Vec<f32> {
    let layer = &net.layers[l];
    let (in_f, out_f, positions) = (layer.in_f, layer.out_f, layer.positions());
    let scaled: Vec<f32> = grad
        .iter()
        .enumerate()
        .map(|(i, &v)| v * q.w_scale[i % out_f] as f32)
        .collect();
    let rows = batch * positions;
    let mut dx = vec![0.0f32; rows * in_f];
    gemm_rows(rows, out_f, in_f, &scaled, Mat::plain(&q.levels), &mut dx);
    if let Some(c) = layer.conv {
        let mut dinput = vec![0.0f32; batch * c.in_len()];
        for (cols, d) in dx
            .chunks_exact(positions * in_f)
            .zip(dinput.chunks_exact_mut(c.in_len()))
        {
            c.col2im(cols, d);
        }
        dx = dinput;
    }
    match &trace.pooled[l - 1] {
        Some((_, argmax)) => pool_backward(&dx, argmax, batch * net.layers[l - 1].out_len()),
        None => dx,
    }
}

/// CHW samples of `channels · positions` values as rows of `channels` values, one per sample
/// and position.
fn chw_to_rows(x: &[f32], channels: usize, positions: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; x.len()];
    for (sample, rows) in x
        .chunks_exact(channels * positions)
        .zip(out.chunks_exact_mut(channels * positions))
    {
        for (o, plane) in sample.chunks_exact(positions).enumerate() {
            for (p, &v) in plane.iter().enumerate() {
                rows[p * channels + o] = v;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Layer, Model};
    use crate::qnn::quantize::QuantSpec;

    /// 8-bit uniform weights and activations with the identity STE: a quantization fine enough
    /// for central finite differences.
    const FD_SPEC: &str = "QuantSpec(weights: (scheme: uniform((bits: 8, signed: true, \
        narrow: true, symmetric: true, rounding: half_even, scale_constraint: float)), \
        granularity: per_channel(axis: 0), clipping: min_max), activations: (bits: 8, \
        clipping: min_max), input: (bits: 8, clipping: min_max), rounding: half_even, \
        scale_bits: 16, training: (ste: identity))";

    /// A one-layer network (4 inputs, 3 classes), 8-bit weights, identity STE.
    fn one_layer() -> (QatNet, Vec<f32>) {
        let model = Model {
            name: "fd".into(),
            input_shape: vec![4],
            layers: vec![Layer::Dense {
                in_features: 4,
                out_features: 3,
                weights: vec![
                    0.5, -0.25, 0.125, 0.75, -0.5, 0.3, 0.2, -0.1, 0.05, 0.6, -0.7, 0.4,
                ],
                bias: vec![0.1, -0.2, 0.05],
            }],
        };
        let spec = QuantSpec::from_ron_str(FD_SPEC, "fd.ron").unwrap();
        let inputs = vec![
            0.0f32, 1.0, 2.0, 3.0, 3.0, 0.5, 1.5, 0.25, 1.0, 1.0, 0.0, 2.5,
        ];
        (QatNet::new(&model, &spec, &inputs).unwrap(), inputs)
    }

    fn mean_loss(net: &QatNet, quant: &[LayerQuant], codes: &[f64], labels: &[u8]) -> f64 {
        let trace = net.forward::<f64>(quant, codes, labels.len());
        let logits: Vec<f32> = trace.pre[0].iter().map(|&v| v as f32).collect();
        softmax_cross_entropy(&logits, 3, labels).0.loss / labels.len() as f64
    }

    /// The weight and bias gradients of the (smooth) linear part equal central finite
    /// differences of the loss in the levels and the bias codes.
    #[test]
    fn linear_gradients_equal_finite_differences() {
        let (net, inputs) = one_layer();
        let labels = [2u8, 0, 1];
        let codes: Vec<f64> = net.input_codes(&inputs).iter().map(|&c| c.into()).collect();
        let quant = net.quantize().unwrap();
        let codes32: Vec<f32> = codes.iter().map(|&c| c as f32).collect();
        let trace = net.forward::<f32>(&quant, &codes32, 3);
        let (_, grad) = softmax_cross_entropy(&trace.pre[0], 3, &labels);
        let g = &backward(&net, &quant, &trace, grad, 3)[0];
        let q = &quant[0];
        for i in 0..12 {
            let eps = 0.25f32;
            let mut plus = quant.clone();
            plus[0].levels[i] += eps;
            let mut minus = quant.clone();
            minus[0].levels[i] -= eps;
            let fd = (mean_loss(&net, &plus, &codes, &labels)
                - mean_loss(&net, &minus, &codes, &labels))
                / (2.0 * f64::from(eps));
            let analytic = f64::from(g.weights[i]) * q.w_scale[i / 4];
            assert!(
                (fd - analytic).abs() <= 1e-3 * fd.abs().max(1e-3),
                "weight {i}: finite difference {fd}, backward {analytic}"
            );
        }
        for o in 0..3 {
            let mut plus = quant.clone();
            plus[0].bias[o] += 1.0;
            let mut minus = quant.clone();
            minus[0].bias[o] -= 1.0;
            let fd = (mean_loss(&net, &plus, &codes, &labels)
                - mean_loss(&net, &minus, &codes, &labels))
                / 2.0;
            let analytic = f64::from(g.bias[o]) * q.s_in * q.w_scale[o];
            assert!(
                (fd - analytic).abs() <= 1e-3 * fd.abs().max(1e-4),
                "bias {o}: finite difference {fd}, backward {analytic}"
            );
        }
    }

    /// `(c, h, w)` CHW samples max-pooled by `k × k` windows moved by `stride`, each window's
    /// largest value (direct loops); with the indices of values that tie for a window's
    /// maximum, where the pooling has no derivative.
    fn pooled(
        x: &[f64],
        (c, h, w): (usize, usize, usize),
        k: usize,
        stride: usize,
    ) -> (Vec<f64>, Vec<usize>) {
        let (oh, ow) = ((h - k) / stride + 1, (w - k) / stride + 1);
        let (mut out, mut ties) = (Vec::new(), Vec::new());
        for (n, sample) in x.chunks_exact(c * h * w).enumerate() {
            for ch in 0..c {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let window: Vec<usize> = (0..k * k)
                            .map(|t| (ch * h + oy * stride + t / k) * w + ox * stride + t % k)
                            .collect();
                        let max = window.iter().map(|&i| sample[i]).fold(f64::MIN, f64::max);
                        let at: Vec<usize> =
                            window.into_iter().filter(|&i| sample[i] == max).collect();
                        if at.len() > 1 {
                            ties.extend(at.iter().map(|i| n * c * h * w + i));
                        }
                        out.push(max);
                    }
                }
            }
        }
        (out, ties)
    }

    fn loss_of(logits: &[f64], labels: &[u8]) -> f64 {
        let logits: Vec<f32> = logits.iter().map(|&v| v as f32).collect();
        let classes = logits.len() / labels.len();
        softmax_cross_entropy(&logits, classes, labels).0.loss / labels.len() as f64
    }

    fn conv(
        (in_channels, out_channels): (usize, usize),
        kernel: usize,
        stride: usize,
        padding: usize,
        seed: usize,
    ) -> Layer {
        let n = out_channels * in_channels * kernel * kernel;
        Layer::Conv2d {
            in_channels,
            out_channels,
            kernel_h: kernel,
            kernel_w: kernel,
            stride,
            padding,
            weights: (0..n)
                .map(|i| ((i * 37 + seed) % 23) as f32 / 16.0 - 0.7)
                .collect(),
            bias: (0..out_channels).map(|o| 0.1 * o as f32 - 0.1).collect(),
        }
    }

    /// The gradients of a network ending in a convolution or a Dense layer after a max pool
    /// against central finite differences of the loss: in the last layer's levels and bias
    /// codes (the weight gradient through im2col), and in the codes of the first layer before
    /// its pool (the input gradient through col2im or the Dense product, then the pool's
    /// routing to each window's largest code). Signed 8-bit activations (no ReLU) keep ties
    /// rare; tied codes, where pooling has no derivative, are skipped.
    #[test]
    fn conv_and_pool_gradients_equal_finite_differences() {
        let spec = QuantSpec::from_ron_str(FD_SPEC, "fd.ron").unwrap();
        let inputs: Vec<f32> = (0..50).map(|i| ((i * 13) % 17) as f32 / 5.0).collect();
        let labels = [3u8, 1];
        // conv 3×3 pad 1 → pool 2/2 → conv 2×2 pad 1 (27 logits); conv 3×3 stride 2 pad 1 →
        // overlapping pool 2/1 → flatten → dense 8 → 4
        let nets = [
            (
                vec![
                    conv((1, 2), 3, 1, 1, 0),
                    Layer::MaxPool2d {
                        kernel: 2,
                        stride: 2,
                    },
                    conv((2, 3), 2, 1, 1, 5),
                ],
                ((2, 5, 5), 2, 2),
            ),
            (
                vec![
                    conv((1, 2), 3, 2, 1, 3),
                    Layer::MaxPool2d {
                        kernel: 2,
                        stride: 1,
                    },
                    Layer::Flatten,
                    Layer::Dense {
                        in_features: 8,
                        out_features: 4,
                        weights: (0..32).map(|i| ((i * 7) % 11) as f32 / 8.0 - 0.6).collect(),
                        bias: vec![0.1, -0.1, 0.2, 0.0],
                    },
                ],
                ((2, 3, 3), 2, 1),
            ),
        ];
        for (k, (layers, (chw, pool_k, pool_s))) in nets.into_iter().enumerate() {
            let model = Model::new("fd", vec![1, 5, 5], layers).unwrap();
            let net = QatNet::new(&model, &spec, &inputs).unwrap();
            let quant = net.quantize().unwrap();
            let codes: Vec<f64> = net.input_codes(&inputs).iter().map(|&c| c.into()).collect();
            let codes32: Vec<f32> = codes.iter().map(|&c| c as f32).collect();
            let trace = net.forward::<f32>(&quant, &codes32, 2);
            let (_, grad) = softmax_cross_entropy(&trace.pre[1], trace.pre[1].len() / 2, &labels);
            let last = &net.layers[1];
            let rows_grad = if last.conv.is_some() {
                chw_to_rows(&grad, last.out_f, last.positions())
            } else {
                grad.clone()
            };
            let g = &backward(&net, &quant, &trace, grad, 2)[1];
            let loss = |quant: &[LayerQuant]| {
                loss_of(&net.forward::<f64>(quant, &codes, 2).pre[1], &labels)
            };
            let q = &quant[1];
            let close = |fd: f64, analytic: f64, floor: f64| {
                (fd - analytic).abs() <= 1e-3 * fd.abs().max(floor)
            };
            for i in 0..q.levels.len() {
                let mut plus = quant.clone();
                plus[1].levels[i] += 0.25;
                let mut minus = quant.clone();
                minus[1].levels[i] -= 0.25;
                let fd = (loss(&plus) - loss(&minus)) / 0.5;
                let analytic = f64::from(g.weights[i]) * q.w_scale[i / last.in_f];
                assert!(
                    close(fd, analytic, 1e-3),
                    "net {k} weight {i}: {fd} vs {analytic}"
                );
            }
            for o in 0..last.out_f {
                let mut plus = quant.clone();
                plus[1].bias[o] += 1.0;
                let mut minus = quant.clone();
                minus[1].bias[o] -= 1.0;
                let fd = (loss(&plus) - loss(&minus)) / 2.0;
                let analytic = f64::from(g.bias[o]) * q.s_in * q.w_scale[o];
                assert!(
                    close(fd, analytic, 1e-4),
                    "net {k} bias {o}: {fd} vs {analytic}"
                );
            }
            // the codes of layer 0 before its pool, as the forward pass made them
            let before: Vec<f64> = trace.codes(0).iter().map(|&c| f64::from(c)).collect();
            let tail = |c: &[f64]| {
                let (x, _) = pooled(c, chw, pool_k, pool_s);
                loss_of(&net.forward_from::<f64>(&quant, 1, &x, 2).pre[0], &labels)
            };
            let (_, ties) = pooled(&before, chw, pool_k, pool_s);
            let dx = input_grad(&net, q, &trace, 1, &rows_grad, 2);
            let s0 = quant[0].act.unwrap().scale;
            let mut checked = 0;
            for i in (0..before.len()).filter(|i| !ties.contains(i)) {
                let (mut plus, mut minus) = (before.clone(), before.clone());
                plus[i] += 0.25;
                minus[i] -= 0.25;
                let fd = (tail(&plus) - tail(&minus)) / 0.5;
                let analytic = f64::from(dx[i]) * s0;
                assert!(
                    close(fd, analytic, 1e-4),
                    "net {k} code {i}: {fd} vs {analytic}"
                );
                checked += usize::from(fd != 0.0);
            }
            // both the window maxima (non-zero) and the others (zero) were compared
            assert!(
                checked >= 8 && checked < before.len() - ties.len(),
                "net {k}: {checked}"
            );
        }
    }

    /// The LSQ gradient of a weight threshold, assembled by hand from the paper's formula for
    /// the first channel: `Σ_i ∂L/∂ŵ_i · (level_i − w_i/s)` for the three weights inside the
    /// range, `∂L/∂ŵ_3 · 127` for the largest, which min-max clipping puts on the bound
    /// (`w/s = 127 ≥ Qp`), times `1/√(4 · 127)` and `s / T`.
    #[test]
    fn weight_threshold_gradient_by_hand() {
        let (net, inputs) = one_layer();
        let labels = [2u8, 0, 1];
        let codes: Vec<f32> = net.input_codes(&inputs).iter().map(|&c| c as f32).collect();
        let quant = net.quantize().unwrap();
        let trace = net.forward::<f32>(&quant, &codes, 3);
        let (_, grad) = softmax_cross_entropy(&trace.pre[0], 3, &labels);
        // ∂L/∂ŵ of channel 0 directly: s_in · Σ_b G[b,0] · code[b,i]
        let s_in = quant[0].s_in;
        let dw: Vec<f64> = (0..4)
            .map(|i| {
                (0..3)
                    .map(|b| f64::from(grad[b * 3]) * f64::from(codes[b * 4 + i]))
                    .sum::<f64>()
                    * s_in
            })
            .collect();
        let w = [0.5f64, -0.25, 0.125, 0.75];
        let s = quant[0].w_scale[0];
        assert_eq!(s, 0.75 / 127.0); // min-max: T = 0.75
        assert_eq!(quant[0].levels[..4], [85.0, -42.0, 21.0, 127.0]);
        let sum: f64 = (0..3)
            .map(|i| dw[i] * (f64::from(quant[0].levels[i]) - w[i] / s))
            .sum::<f64>()
            + dw[3] * 127.0;
        let expected = sum / (4.0f64 * 127.0).sqrt() * s / 0.75;
        let got = backward(&net, &quant, &trace, grad, 3)[0].w_threshold[0];
        assert!(
            (got - expected).abs() <= 1e-6 * expected.abs().max(1e-9),
            "{got} vs {expected}"
        );
    }
}
