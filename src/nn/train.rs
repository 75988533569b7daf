//! Float training: architectures, seeded initialisation, softmax cross-entropy, mini-batch SGD with momentum
//! or Adam, and backpropagation through Dense, Conv2d, ReLU, MaxPool2d and Flatten.
//!
//! Training is deterministic: one thread, a fixed order of every sum, and one seeded [`SplitMix64`] stream
//! for the initial weights and the per-epoch shuffles, so the same seed gives bit-identical weights on a given
//! platform. Weights are drawn He-uniform, `U(-sqrt(6 / fan_in), sqrt(6 / fan_in))`, which needs only `sqrt`
//! (correctly rounded everywhere), not `ln`/`cos`.
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
use super::layer::Layer;
use super::model::Model;
use super::NnError;
use serde::{Deserialize, Serialize};

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, statistically sound seeded generator.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform integer in `0..n` (`n > 0`), by Lemire's multiply-shift (bias below 2^-40 for our sizes).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// One layer of an architecture: a [`Layer`] without its weights; input sizes come from the previous layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LayerSpec {
    /// A Dense layer with this many outputs.
    Dense {
        /// Output length.
        out_features: usize,
    },
    /// A square-kernel Conv2d.
    Conv2d {
        /// Output channels.
        out_channels: usize,
        /// Kernel side.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Zero padding per side.
        padding: usize,
    },
    /// ReLU.
    Relu,
    /// MaxPool2d.
    MaxPool2d {
        /// Window side.
        kernel: usize,
        /// Stride.
        stride: usize,
    },
    /// Flatten.
    Flatten,
}

/// A network architecture: a name and layer specs. As a RON file:
/// `Architecture(name: "tiny", layers: [Flatten, Dense(out_features: 16), Relu, Dense(out_features: 10)])`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    /// Name given to the trained model.
    pub name: String,
    /// Layer specs, in order.
    pub layers: Vec<LayerSpec>,
}

impl Architecture {
    /// `mlp:64-32-10`: Dense layers with ReLU between them (a Flatten first when `input_shape` is not 1-D).
    /// The first number must equal the input size.
    pub fn mlp(sizes: &[usize], input_shape: &[usize]) -> Result<Self, NnError> {
        let input: usize = input_shape.iter().product();
        if sizes.len() < 2 || sizes[0] != input {
            return Err(NnError::Input(format!(
                "mlp sizes {sizes:?} must start with the input size {input} and have at least two entries"
            )));
        }
        let mut layers = Vec::new();
        if input_shape.len() != 1 {
            layers.push(LayerSpec::Flatten);
        }
        for (k, &out) in sizes[1..].iter().enumerate() {
            if k > 0 {
                layers.push(LayerSpec::Relu);
            }
            layers.push(LayerSpec::Dense { out_features: out });
        }
        let name = sizes
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join("-");
        Ok(Architecture {
            name: format!("mlp_{name}"),
            layers,
        })
    }

    /// The small CNN: conv 8@3×3 → ReLU → maxpool 2 → conv 16@3×3 → ReLU → maxpool 2 → flatten → dense `classes`.
    /// The convolutions are unpadded for images of 16 rows or more (MNIST: 28 → 26 → 13 → 11 → 5) and padded
    /// by 1 for smaller ones (digits: 8 → 8 → 4 → 4 → 2).
    pub fn small_cnn(classes: usize, image_shape: &[usize]) -> Self {
        use LayerSpec::*;
        let padding = usize::from(image_shape.get(1).is_some_and(|&h| h < 16));
        let conv = |out_channels| Conv2d {
            out_channels,
            kernel: 3,
            stride: 1,
            padding,
        };
        let pool = MaxPool2d {
            kernel: 2,
            stride: 2,
        };
        Architecture {
            name: "cnn".into(),
            layers: vec![
                conv(8),
                Relu,
                pool.clone(),
                conv(16),
                Relu,
                pool,
                Flatten,
                Dense {
                    out_features: classes,
                },
            ],
        }
    }

    /// Builds a [`Model`] for `input_shape`, weights He-uniform from `seed`, biases zero.
    pub fn build(&self, input_shape: &[usize], seed: u64) -> Result<Model, NnError> {
        let mut rng = SplitMix64::new(seed);
        let mut shape = input_shape.to_vec();
        let mut layers = Vec::new();
        for (index, spec) in self.layers.iter().enumerate() {
            let layer = match *spec {
                LayerSpec::Dense { out_features } => {
                    let in_features = if shape.len() == 1 { shape[0] } else { 0 };
                    Layer::Dense {
                        in_features,
                        out_features,
                        weights: he_uniform(&mut rng, in_features, in_features * out_features),
                        bias: vec![0.0; out_features],
                    }
                }
                LayerSpec::Conv2d {
                    out_channels,
                    kernel,
                    stride,
                    padding,
                } => {
                    let in_channels = if shape.len() == 3 { shape[0] } else { 0 };
                    let fan_in = in_channels * kernel * kernel;
                    Layer::Conv2d {
                        in_channels,
                        out_channels,
                        kernel_h: kernel,
                        kernel_w: kernel,
                        stride,
                        padding,
                        weights: he_uniform(&mut rng, fan_in, fan_in * out_channels),
                        bias: vec![0.0; out_channels],
                    }
                }
                LayerSpec::Relu => Layer::Relu,
                LayerSpec::MaxPool2d { kernel, stride } => Layer::MaxPool2d { kernel, stride },
                LayerSpec::Flatten => Layer::Flatten,
            };
            shape = layer
                .output_shape(&shape)
                .map_err(|message| NnError::Layer {
                    index,
                    kind: layer.kind(),
                    message,
                })?;
            layers.push(layer);
        }
        Model::new(self.name.clone(), input_shape.to_vec(), layers)
    }
}

fn he_uniform(rng: &mut SplitMix64, fan_in: usize, count: usize) -> Vec<f32> {
    let limit = (6.0 / fan_in.max(1) as f64).sqrt();
    (0..count)
        .map(|_| ((rng.next_f64() * 2.0 - 1.0) * limit) as f32)
        .collect()
}

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
        Layer::Conv2d {
            in_channels,
            out_channels,
            kernel_h,
            kernel_w,
            stride,
            padding,
            weights,
            ..
        } => {
            let (h, w) = (shape[1], shape[2]);
            let oh = (h + 2 * padding - kernel_h) / stride + 1;
            let ow = (w + 2 * padding - kernel_w) / stride + 1;
            let (dw, db) = grad.split_at_mut(weights.len());
            let mut dx = vec![0.0f32; if need_input { x.len() } else { 0 }];
            for o in 0..*out_channels {
                for y in 0..oh {
                    for xo in 0..ow {
                        let go = g[(o * oh + y) * ow + xo];
                        db[o] += go;
                        if go == 0.0 {
                            continue;
                        }
                        for c in 0..*in_channels {
                            for ky in 0..*kernel_h {
                                let iy = (y * stride + ky) as isize - *padding as isize;
                                if iy < 0 || iy >= h as isize {
                                    continue;
                                }
                                for kx in 0..*kernel_w {
                                    let ix = (xo * stride + kx) as isize - *padding as isize;
                                    if ix < 0 || ix >= w as isize {
                                        continue;
                                    }
                                    let wi =
                                        ((o * in_channels + c) * kernel_h + ky) * kernel_w + kx;
                                    let xi = (c * h + iy as usize) * w + ix as usize;
                                    dw[wi] += go * x[xi];
                                    if need_input {
                                        dx[xi] += go * weights[wi];
                                    }
                                }
                            }
                        }
                    }
                }
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
            let oh = (h - kernel) / stride + 1;
            let ow = (w - kernel) / stride + 1;
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
