//! The backward pass of the fake-quantized network: softmax cross-entropy, the straight-through
//! estimator at every quantizer, and the gradients of the learned clipping thresholds.
//!
//! In real units a Dense layer computes `z = ŵ · x̂ + b̂` with `ŵ = s_w · level`,
//! `x̂ = s_in · code` and `b̂` the quantized bias, so `∂L/∂ŵ = s_in · Gᵀ · codes`,
//! `∂L/∂x̂ = (G · s_w) · levels`, `∂L/∂b = Σ G` (the STE through the bias rounding). The
//! shadow weight gets `∂L/∂ŵ` where the STE passes; a weight threshold `T` (step `s ≈ T / hi`)
//! gets LSQ's `Σ ∂L/∂ŵ · ∂ŵ/∂s` times the gradient scale and `s / T`; an activation threshold
//! gets LSQ's or PACT's gradient from `∂L/∂x̂`.

use super::gemm::{Mat, Real};
use super::net::{LayerQuant, QatNet, Trace};
use crate::quant::quantizer::Scheme;
use crate::quant::training::{
    hard_tanh_pass, lsq_grad_scale, lsq_step_grad, pact_clip_grad, ste_pass, ActClipping, Ste,
};

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
        f32::gemm(
            out_f,
            batch,
            in_f,
            Mat::transposed(&grad),
            Mat::plain(&trace.inputs[l]),
            0.0,
            &mut dw_hat,
        );
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
        g.weights = dw_hat
            .iter()
            .zip(w)
            .enumerate()
            .map(|(i, (&d, &wv))| {
                let pass = if binary {
                    hard_tanh_pass(f64::from(wv))
                } else {
                    ste_pass(ste, f64::from(wv), hi as f64 * q.w_scale[i / in_f])
                };
                d * pass as f32
            })
            .collect();
        if let Some(thresholds) = &layer.w_threshold {
            let per_channel = thresholds.len() > 1;
            let n = if per_channel { in_f } else { in_f * out_f };
            let scale = lsq_grad_scale(n, hi);
            let mut dt = vec![0.0f64; thresholds.len()];
            for (i, (&d, &wv)) in dw_hat.iter().zip(w).enumerate() {
                let o = i / in_f;
                let s = q.w_scale[o];
                let level = q.levels[i] as i64;
                dt[if per_channel { o } else { 0 }] +=
                    f64::from(d) * lsq_step_grad(f64::from(wv), s, level, -hi, hi);
            }
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
        f32::gemm(
            batch,
            out_f,
            in_f,
            Mat::plain(&scaled),
            Mat::plain(&q.levels),
            0.0,
            &mut dx,
        );
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
            let inside = zv >= act.low as f64 * s && zv <= act.high as f64 * s;
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
