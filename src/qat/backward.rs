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
    /// Shadow weights, `[out][in]`.
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    /// Weight thresholds (as many as the layer learns; empty when from statistics).
    pub w_threshold: Vec<f64>,
    /// Output activation threshold.
    pub a_threshold: f64,
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
        // ∂L/∂ŵ = s_in · Gᵀ · codes
        let mut dw_hat = vec![0.0f32; out_f * in_f];
        gemm_tn_rows(batch, out_f, in_f, &grad, &trace.inputs[l], &mut dw_hat);
        let s_in = q.s_in as f32;
        dw_hat.iter_mut().for_each(|v| *v *= s_in);
        let mut g = LayerGrad {
            a_threshold: grads[l].a_threshold,
            bias: (0..out_f)
                .map(|o| (0..batch).map(|b| grad[b * out_f + o]).sum())
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
        // ∂L/∂x̂ = (G · s_w) · levels
        let scaled: Vec<f32> = grad
            .iter()
            .enumerate()
            .map(|(i, &v)| v * q.w_scale[i % out_f] as f32)
            .collect();
        let mut dx = vec![0.0f32; batch * in_f];
        gemm_rows(batch, out_f, in_f, &scaled, Mat::plain(&q.levels), &mut dx);
        grads[l] = g;
        // through the previous layer's activation quantizer
        let prev = &net.layers[l - 1];
        let act = quant[l - 1]
            .act
            .expect("hidden layers quantize their outputs");
        let (s, t) = (act.scale, prev.a_threshold);
        let z = &trace.pre[l - 1];
        let codes = &trace.inputs[l];
        let lsq_scale = lsq_grad_scale(prev.out_f, act.high);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Layer, Model};
    use crate::qnn::quantize::QuantSpec;

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
        let spec = QuantSpec::from_ron_str(
            "QuantSpec(weights: (scheme: uniform((bits: 8, signed: true, narrow: true, \
             symmetric: true, rounding: half_even, scale_constraint: float)), granularity: \
             per_channel(axis: 0), clipping: min_max), activations: (bits: 8, clipping: \
             min_max), input: (bits: 8, clipping: min_max), rounding: half_even, scale_bits: \
             16, training: (ste: identity))",
            "fd.ron",
        )
        .unwrap();
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
