//! Architectures: networks described without weights (`mlp:64-32-10`, the small CNN, or a RON file),
//! built into a [`Model`] with He-uniform weights from a seed.
//!
//! Weights are drawn from `U(-sqrt(6 / fan_in), sqrt(6 / fan_in))`, which needs only `sqrt` (correctly
//! rounded on every platform), not `ln`/`cos`; biases start at zero.
//!
//! ```
//! use qforge::nn::Architecture;
//! let model = Architecture::small_cnn(10, &[1, 28, 28]).build(&[1, 28, 28], 1).unwrap();
//! assert_eq!(model.shapes().unwrap()[6], vec![16, 5, 5]); // 28 -> 26 -> 13 -> 11 -> 5
//! assert_eq!(model.output_shape().unwrap(), vec![10]);
//! ```

use super::layer::Layer;
use super::model::Model;
use super::rng::SplitMix64;
use super::NnError;
use serde::{Deserialize, Serialize};

/// One layer of an architecture: a [`Layer`] without its weights; input sizes come from the previous layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
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
            shape = layer.output_shape(&shape).map_err(|error| NnError::Shape {
                index,
                kind: layer.kind(),
                error,
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
