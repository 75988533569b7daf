//! Float training: softmax cross-entropy, mini-batch SGD with momentum
//! or Adam, and backpropagation through Dense, Conv2d, ReLU, MaxPool2d and Flatten.
//!
//! Training is deterministic: one thread, a fixed order of every sum, and one seeded [`SplitMix64`] stream
//! for the initial weights (see [`super::arch`]) and another for the per-epoch shuffles, so the same seed gives
//! bit-identical weights on a given platform (the softmax uses the platform's `exp`).
//!
//! ```
//! use qforge::nn::{data::digits, train, Architecture, Optimizer, TrainConfig};
//! let (train_set, test_set) = digits::train_test().unwrap();
//! let arch = Architecture::mlp(&[64, 32, 10], &[64]).unwrap();
//! let config = TrainConfig { epochs: 3, batch_size: 32, optimizer: Optimizer::adam(1e-3), seed: 5 };
//! let mut model = arch.build(&[64], 5).unwrap();
//! train(&mut model, &train_set, &config, |report, _| assert!(report.loss.is_finite())).unwrap();
//! let mut again = arch.build(&[64], 5).unwrap();
//! train(&mut again, &train_set, &config, |_, _| {}).unwrap();
//! assert_eq!(model, again); // same seed, same weights
//! assert!(model.accuracy(&test_set.inputs, &test_set.labels).unwrap() > 0.5);
//! ```

use super::data::Dataset;
use super::infer::{layer_forward, maxpool_argmax};
use super::layer::{windows, ConvGeometry, Layer};
use super::model::Model;
use super::rng::SplitMix64;
use super::NnError;

/// The update rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    /// `v = momentum * v + g; p -= lr * v`.
    Sgd {
        /// Learning rate.
        lr: f32,
        /// Momentum (0 for plain SGD).
        momentum: f32,
    },
    /// Adam (Kingma & Ba 2015) with bias correction.
    Adam {
        /// Learning rate.
        lr: f32,
        /// First-moment decay.
        beta1: f32,
        /// Second-moment decay.
        beta2: f32,
        /// Added to the root of the second moment.
        eps: f32,
    },
}

impl Optimizer {
    /// Adam with the usual constants (beta1 0.9, beta2 0.999, eps 1e-8).
    pub fn adam(lr: f32) -> Self {
        Optimizer::Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// Training settings.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Samples per update (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Update rule.
    pub optimizer: Optimizer,
    /// Seed of the per-epoch shuffles.
    pub seed: u64,
}

/// What one epoch did.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochReport {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean softmax cross-entropy over the epoch's samples, before each update.
    pub loss: f64,
    /// Fraction of the epoch's samples classified correctly, before each update.
    pub train_accuracy: f64,
}

/// Trains `model` in place on `data`, calling `on_epoch` after each epoch with the report and the model.
/// The model's output size must be the number of classes; every label must be below it.
pub fn train(
    model: &mut Model,
    data: &Dataset,
    config: &TrainConfig,
    mut on_epoch: impl FnMut(&EpochReport, &Model),
) -> Result<(), NnError> {
    let shapes = model.shapes()?;
    if data.shape != model.input_shape {
        return Err(NnError::Input(format!(
            "data shape {:?} does not match the model input shape {:?}",
            data.shape, model.input_shape
        )));
    }
    if data.inputs.len() != data.len() * data.sample_size() {
        return Err(NnError::Input(format!(
            "data set has {} values for {} samples of {} values",
            data.inputs.len(),
            data.len(),
            data.sample_size()
        )));
    }
    let classes = shapes.last().map_or(0, |s| s.iter().product::<usize>());
    if let Some(&bad) = data.labels.iter().find(|&&l| l as usize >= classes) {
        return Err(NnError::Input(format!(
            "label {bad} is not below the model's {classes} outputs"
        )));
    }
    if let Some((index, layer)) = model
        .layers
        .iter()
        .enumerate()
        .find(|(_, l)| matches!(l, Layer::BatchNorm { .. }))
    {
        return Err(NnError::Layer {
            index,
            kind: layer.kind(),
            message: "training does not support BatchNorm; fold it into the layer before".into(),
        });
    }
    if config.batch_size == 0 || data.is_empty() {
        return Err(NnError::Input(
            "batch size and data set must be non-empty".into(),
        ));
    }
    let mut grads: Vec<Vec<f32>> = model
        .layers
        .iter()
        .map(|l| vec![0.0; l.param_count()])
        .collect();
    let mut state1 = grads.clone();
    let mut state2 = grads.clone();
    let (mut b1t, mut b2t) = (1.0f64, 1.0f64);
    let mut rng = SplitMix64::new(config.seed ^ 0x5348_5546_464C_4531);
    let mut order: Vec<usize> = (0..data.len()).collect();
    let size = data.sample_size();
    for epoch in 1..=config.epochs {
        rng.shuffle(&mut order);
        let (mut loss_sum, mut correct) = (0.0f64, 0usize);
        for batch in order.chunks(config.batch_size) {
            grads.iter_mut().for_each(|g| g.fill(0.0));
            let scale = 1.0 / batch.len() as f32;
            for &s in batch {
                let x = &data.inputs[s * size..(s + 1) * size];
                let (loss, ok) = backprop(
                    model,
                    &shapes,
                    x,
                    data.labels[s] as usize,
                    scale,
                    &mut grads,
                );
                loss_sum += loss;
                correct += ok as usize;
            }
            if let Optimizer::Adam { beta1, beta2, .. } = config.optimizer {
                b1t *= beta1 as f64;
                b2t *= beta2 as f64;
            }
            for (i, layer) in model.layers.iter_mut().enumerate() {
                let Some((w, b)) = params_mut(layer) else {
                    continue;
                };
                let params = w.iter_mut().chain(b.iter_mut());
                let it = params
                    .zip(&grads[i])
                    .zip(state1[i].iter_mut().zip(state2[i].iter_mut()));
                match config.optimizer {
                    Optimizer::Sgd { lr, momentum } => {
                        for ((p, g), (v, _)) in it {
                            *v = momentum * *v + g;
                            *p -= lr * *v;
                        }
                    }
                    Optimizer::Adam {
                        lr,
                        beta1,
                        beta2,
                        eps,
                    } => {
                        let c1 = (1.0 - b1t) as f32;
                        let c2 = (1.0 - b2t) as f32;
                        for ((p, g), (m, v)) in it {
                            *m = beta1 * *m + (1.0 - beta1) * g;
                            *v = beta2 * *v + (1.0 - beta2) * g * g;
                            *p -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                        }
                    }
                }
            }
        }
        let report = EpochReport {
            epoch,
            loss: loss_sum / data.len() as f64,
            train_accuracy: correct as f64 / data.len() as f64,
        };
        on_epoch(&report, model);
    }
    Ok(())
}

fn params_mut(layer: &mut Layer) -> Option<(&mut Vec<f32>, &mut Vec<f32>)> {
    match layer {
        Layer::Dense { weights, bias, .. } | Layer::Conv2d { weights, bias, .. } => {
            Some((weights, bias))
        }
        _ => None,
    }
}

/// Forward and backward pass of one sample: adds `scale ×` its gradient to `grads`, returns (loss, correct).
fn backprop(
    model: &Model,
    shapes: &[Vec<usize>],
    x: &[f32],
    label: usize,
    scale: f32,
    grads: &mut [Vec<f32>],
) -> (f64, bool) {
    let mut acts = vec![x.to_vec()];
    for (layer, shape) in model.layers.iter().zip(shapes) {
        let next = layer_forward(layer, shape, acts.last().map_or(&[][..], |a| a));
        acts.push(next);
    }
    let logits = acts.last().map_or(&[][..], |a| a);
    let max = logits.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let exps: Vec<f32> = logits.iter().map(|&v| (v - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    let loss = -((exps[label] / sum) as f64).max(f64::MIN_POSITIVE).ln();
    let correct = super::infer::argmax(logits) == label;
    let mut g: Vec<f32> = exps
        .iter()
        .enumerate()
        .map(|(i, e)| (e / sum - (i == label) as u8 as f32) * scale)
        .collect();
    for i in (0..model.layers.len()).rev() {
        g = layer_backward(
            &model.layers[i],
            &shapes[i],
            &acts[i],
            &g,
            &mut grads[i],
            i > 0,
        );
    }
    (loss, correct)
}

/// Adds the parameter gradient of one layer to `grad` (weights then bias) and returns the input gradient
/// (empty when `need_input` is false).
fn layer_backward(
    layer: &Layer,
    shape: &[usize],
    x: &[f32],
    g: &[f32],
    grad: &mut [f32],
    need_input: bool,
) -> Vec<f32> {
    match layer {
        Layer::Dense {
            in_features,
            out_features,
            weights,
            ..
        } => {
            let (dw, db) = grad.split_at_mut(in_features * out_features);
            let mut dx = vec![0.0f32; if need_input { *in_features } else { 0 }];
            for o in 0..*out_features {
                let go = g[o];
                db[o] += go;
                if go == 0.0 {
                    continue;
                }
                let row = o * in_features..(o + 1) * in_features;
                for (d, v) in dw[row.clone()].iter_mut().zip(x) {
                    *d += go * v;
                }
                if need_input {
                    for (d, w) in dx.iter_mut().zip(&weights[row]) {
                        *d += go * w;
                    }
                }
            }
            dx
        }
        Layer::Conv2d { weights, .. } => {
            let geo = ConvGeometry::of(layer, shape).expect("a convolution");
            let (dw, db) = grad.split_at_mut(weights.len());
            let mut dx = vec![0.0f32; if need_input { x.len() } else { 0 }];
            for (index, (o, y, xo)) in geo.outputs().enumerate() {
                let go = g[index];
                db[o] += go;
                if go == 0.0 {
                    continue;
                }
                geo.taps(o, y, xo, |wi, xi| {
                    dw[wi] += go * x[xi];
                    if need_input {
                        dx[xi] += go * weights[wi];
                    }
                });
            }
            dx
        }
        Layer::Relu => x
            .iter()
            .zip(g)
            .map(|(v, d)| if *v > 0.0 { *d } else { 0.0 })
            .collect(),
        Layer::MaxPool2d { kernel, stride } => {
            let (c, h, w) = (shape[0], shape[1], shape[2]);
            let (oh, ow) = (windows(h, *kernel, *stride), windows(w, *kernel, *stride));
            let mut dx = vec![0.0f32; x.len()];
            for ch in 0..c {
                for y in 0..oh {
                    for xo in 0..ow {
                        dx[maxpool_argmax(x, ch, h, w, y * stride, xo * stride, *kernel)] +=
                            g[(ch * oh + y) * ow + xo];
                    }
                }
            }
            dx
        }
        Layer::Flatten => g.to_vec(),
        // Rejected before training starts.
        Layer::BatchNorm { .. } => vec![0.0; x.len()],
    }
}
