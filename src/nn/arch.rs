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

    /// The architecture of `model`: its layers without their weights. A batch norm has no
    /// architecture layer (the trainers fold it away), so a model with one is refused.
    pub fn of_model(model: &Model) -> Result<Self, NnError> {
        let layers = model
            .layers
            .iter()
            .enumerate()
            .map(|(k, layer)| match *layer {
                Layer::Dense { out_features, .. } => Ok(LayerSpec::Dense { out_features }),
                Layer::Conv2d {
                    out_channels,
                    kernel_h,
                    kernel_w,
                    stride,
                    padding,
                    ..
                } if kernel_h == kernel_w => Ok(LayerSpec::Conv2d {
                    out_channels,
                    kernel: kernel_h,
                    stride,
                    padding,
                }),
                Layer::Conv2d { .. } => Err(NnError::Input(format!(
                    "layer {k}: an architecture has square kernels only"
                ))),
                Layer::Relu => Ok(LayerSpec::Relu),
                Layer::MaxPool2d { kernel, stride } => Ok(LayerSpec::MaxPool2d { kernel, stride }),
                Layer::Flatten => Ok(LayerSpec::Flatten),
                Layer::BatchNorm { .. } => Err(NnError::Input(format!(
                    "layer {k}: a batch norm has no architecture layer (train the model without it)"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Architecture {
            name: model.name.clone(),
            layers,
        })
    }

    /// Widening: every Dense and Conv2d layer but the last has `width` times its outputs,
    /// rounded to the nearest whole number (at least 1); the name gets `_x{width}`. `width`
    /// must be finite and positive.
    pub fn widened(&self, width: f64) -> Result<Self, NnError> {
        if !(width.is_finite() && width > 0.0) {
            return Err(NnError::Input(format!(
                "width ({width}) must be a positive number"
            )));
        }
        let last = self
            .layers
            .iter()
            .rposition(|l| matches!(l, LayerSpec::Dense { .. } | LayerSpec::Conv2d { .. }));
        let scaled = |n: usize| ((n as f64 * width).round() as usize).max(1);
        let layers = self
            .layers
            .iter()
            .enumerate()
            .map(|(k, l)| match *l {
                LayerSpec::Dense { out_features } if Some(k) != last => LayerSpec::Dense {
                    out_features: scaled(out_features),
                },
                LayerSpec::Conv2d {
                    out_channels,
                    kernel,
                    stride,
                    padding,
                } if Some(k) != last => LayerSpec::Conv2d {
                    out_channels: scaled(out_channels),
                    kernel,
                    stride,
                    padding,
                },
                ref other => other.clone(),
            })
            .collect();
        Ok(Architecture {
            name: format!("{}_x{width}", self.name),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widening_scales_the_hidden_layers_and_keeps_the_outputs() {
        let arch = Architecture::mlp(&[64, 32, 16, 10], &[64]).unwrap();
        let wide = arch.widened(1.5).unwrap();
        let model = wide.build(&[64], 1).unwrap();
        let outs: Vec<usize> = model
            .layers
            .iter()
            .filter_map(|l| match l {
                Layer::Dense { out_features, .. } => Some(*out_features),
                _ => None,
            })
            .collect();
        assert_eq!(outs, [48, 24, 10]);
        assert_eq!(wide.name, "mlp_64-32-16-10_x1.5");
        // 8 · 0.3 = 2.4 → 2; never below 1
        let cnn = Architecture::small_cnn(10, &[1, 8, 8]);
        let narrow = cnn.widened(0.3).unwrap();
        let channels: Vec<usize> = narrow
            .layers
            .iter()
            .filter_map(|l| match l {
                LayerSpec::Conv2d { out_channels, .. } => Some(*out_channels),
                LayerSpec::Dense { out_features } => Some(*out_features),
                _ => None,
            })
            .collect();
        assert_eq!(channels, [2, 5, 10]);
        assert_eq!(
            cnn.widened(0.01).unwrap().layers[0],
            LayerSpec::Conv2d {
                out_channels: 1,
                kernel: 3,
                stride: 1,
                padding: 1
            }
        );
        assert!(arch.widened(0.0).is_err() && arch.widened(f64::NAN).is_err());
        // a model's own architecture builds a model of its shapes
        let m = arch.build(&[64], 3).unwrap();
        assert_eq!(
            Architecture::of_model(&m).unwrap(),
            Architecture {
                name: m.name.clone(),
                ..arch
            }
        );
    }
}
