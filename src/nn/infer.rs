//! Float inference: a batch forward pass, argmax and accuracy.

use super::layer::{windows, ConvGeometry, Layer};
use super::model::Model;
use super::NnError;
use rayon::prelude::*;

/// Applies one layer to one sample of shape `input_shape` (already checked by [`Model::shapes`]).
pub(crate) fn layer_forward(layer: &Layer, input_shape: &[usize], x: &[f32]) -> Vec<f32> {
    match layer {
        Layer::Dense {
            in_features,
            out_features,
            weights,
            bias,
        } => (0..*out_features)
            .map(|o| {
                let row = &weights[o * in_features..(o + 1) * in_features];
                bias[o] + row.iter().zip(x).map(|(w, v)| w * v).sum::<f32>()
            })
            .collect(),
        Layer::Conv2d { weights, bias, .. } => {
            let geo = ConvGeometry::of(layer, input_shape).expect("a convolution");
            let mut out = Vec::with_capacity(geo.out_len());
            for (o, y, xo) in geo.outputs() {
                let mut acc = bias[o];
                geo.taps(o, y, xo, |wi, xi| acc += weights[wi] * x[xi]);
                out.push(acc);
            }
            out
        }
        Layer::Relu => x.iter().map(|v| v.max(0.0)).collect(),
        Layer::MaxPool2d { kernel, stride } => {
            let (c, h, w) = (input_shape[0], input_shape[1], input_shape[2]);
            let (oh, ow) = (windows(h, *kernel, *stride), windows(w, *kernel, *stride));
            let mut out = Vec::with_capacity(c * oh * ow);
            for ch in 0..c {
                for y in 0..oh {
                    for xo in 0..ow {
                        out.push(x[maxpool_argmax(x, ch, h, w, y * stride, xo * stride, *kernel)]);
                    }
                }
            }
            out
        }
        Layer::Flatten => x.to_vec(),
        Layer::BatchNorm {
            gamma,
            beta,
            running_mean,
            running_var,
            eps,
        } => {
            let per = x.len() / gamma.len();
            x.iter()
                .enumerate()
                .map(|(i, v)| {
                    let c = i / per;
                    gamma[c] * (v - running_mean[c]) / (running_var[c] + eps).sqrt() + beta[c]
                })
                .collect()
        }
    }
}

/// Index into `x` of the first largest value in the `k × k` window at `(y0, x0)` of channel `ch`.
pub(crate) fn maxpool_argmax(
    x: &[f32],
    ch: usize,
    h: usize,
    w: usize,
    y0: usize,
    x0: usize,
    k: usize,
) -> usize {
    let mut best = (ch * h + y0) * w + x0;
    for y in y0..y0 + k {
        for xx in x0..x0 + k {
            let i = (ch * h + y) * w + xx;
            if x[i] > x[best] {
                best = i;
            }
        }
    }
    best
}

impl Model {
    /// Runs one sample (`input_size()` values) through the network.
    pub fn forward_one(&self, x: &[f32]) -> Result<Vec<f32>, NnError> {
        let shapes = self.shapes()?;
        check_input(x.len(), self.input_size())?;
        Ok(forward_checked(self, &shapes, x))
    }

    /// Runs a batch (`n × input_size()` values, samples one after another) and returns
    /// `n × output size` values in the same order. Samples run in parallel; each is computed
    /// exactly as by [`Model::forward_one`].
    pub fn forward(&self, inputs: &[f32]) -> Result<Vec<f32>, NnError> {
        let shapes = self.shapes()?;
        let size = self.input_size();
        if !inputs.len().is_multiple_of(size) {
            return Err(NnError::Input(format!(
                "batch has {} values, not a multiple of the input size {size}",
                inputs.len()
            )));
        }
        let outs: Vec<Vec<f32>> = inputs
            .par_chunks(size)
            .map(|x| forward_checked(self, &shapes, x))
            .collect();
        Ok(outs.concat())
    }

    /// Fraction of samples whose argmax output equals the label.
    pub fn accuracy(&self, inputs: &[f32], labels: &[u8]) -> Result<f64, NnError> {
        let logits = self.forward(inputs)?;
        let classes = logits.len() / labels.len().max(1);
        if labels.is_empty() || classes * labels.len() != logits.len() {
            return Err(NnError::Input(format!(
                "{} labels do not match the batch",
                labels.len()
            )));
        }
        Ok(accuracy(&logits, classes, labels))
    }
}

fn check_input(got: usize, expected: usize) -> Result<(), NnError> {
    if got == expected {
        Ok(())
    } else {
        Err(NnError::Input(format!(
            "sample has {got} values, the model expects {expected}"
        )))
    }
}

fn forward_checked(model: &Model, shapes: &[Vec<usize>], x: &[f32]) -> Vec<f32> {
    let mut cur = x.to_vec();
    for (layer, shape) in model.layers.iter().zip(shapes) {
        cur = layer_forward(layer, shape, &cur);
    }
    cur
}

/// Index of the first largest value (NaN never wins).
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] || values[best].is_nan() && !v.is_nan() {
            best = i;
        }
    }
    best
}

/// Fraction of rows of `logits` (`labels.len()` rows of `classes` values) whose argmax equals the label.
pub fn accuracy(logits: &[f32], classes: usize, labels: &[u8]) -> f64 {
    if labels.is_empty() || classes == 0 {
        return 0.0;
    }
    let correct = logits
        .chunks(classes)
        .zip(labels)
        .filter(|(row, &label)| argmax(row) == label as usize)
        .count();
    correct as f64 / labels.len() as f64
}
