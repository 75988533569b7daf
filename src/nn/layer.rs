//! Layers of the float network IR and their shape rules.
//!
//! Tensors of one sample are flat `f32` slices. Images use the CHW layout (channel, row, column;
//! `index = (c * height + y) * width + x`); a batch is N samples one after another (NCHW).
//! Dense weights are `[out_features][in_features]` row-major, Conv2d weights
//! `[out_channels][in_channels][kernel_h][kernel_w]` row-major (the PyTorch layouts).

use serde::{Deserialize, Serialize};

/// One layer of a float network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Layer {
    /// Fully connected: `y[o] = bias[o] + sum_i weights[o * in_features + i] * x[i]`. Input shape `[in_features]`.
    Dense {
        /// Input length.
        in_features: usize,
        /// Output length.
        out_features: usize,
        /// `[out_features][in_features]`, row-major.
        weights: Vec<f32>,
        /// `[out_features]`.
        bias: Vec<f32>,
    },
    /// 2-D convolution (cross-correlation, as in PyTorch) over a CHW input, zero padding on all four sides.
    Conv2d {
        /// Input channels.
        in_channels: usize,
        /// Output channels.
        out_channels: usize,
        /// Kernel height.
        kernel_h: usize,
        /// Kernel width.
        kernel_w: usize,
        /// Step between windows, in both directions (at least 1).
        stride: usize,
        /// Zero rows/columns added on each side.
        padding: usize,
        /// `[out_channels][in_channels][kernel_h][kernel_w]`, row-major.
        weights: Vec<f32>,
        /// `[out_channels]`.
        bias: Vec<f32>,
    },
    /// `max(x, 0)` elementwise.
    Relu,
    /// Max pooling over `kernel × kernel` windows of a CHW input, no padding; the output size is floored.
    MaxPool2d {
        /// Window side.
        kernel: usize,
        /// Step between windows (at least 1).
        stride: usize,
    },
    /// Any shape to `[product of the dimensions]`; the data does not move.
    Flatten,
    /// Inference-time batch normalisation per feature (`[F]` input) or per channel (`[C, H, W]` input):
    /// `y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta`.
    BatchNorm {
        /// Scale, one per feature/channel.
        gamma: Vec<f32>,
        /// Shift, one per feature/channel.
        beta: Vec<f32>,
        /// Running mean.
        running_mean: Vec<f32>,
        /// Running variance.
        running_var: Vec<f32>,
        /// Added to the variance before the square root.
        eps: f32,
    },
}

/// Formats a shape as `[a, b, c]`.
pub fn shape_str(shape: &[usize]) -> String {
    format!("{shape:?}")
}

impl Layer {
    /// The layer kind as written in a model file (`Dense`, `Conv2d`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Layer::Dense { .. } => "Dense",
            Layer::Conv2d { .. } => "Conv2d",
            Layer::Relu => "Relu",
            Layer::MaxPool2d { .. } => "MaxPool2d",
            Layer::Flatten => "Flatten",
            Layer::BatchNorm { .. } => "BatchNorm",
        }
    }

    /// The output shape for a given input shape, after checking the layer's own parameter lengths.
    /// The error names both shapes (or the bad parameter); the caller adds the layer index.
    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, LayerError> {
        match self {
            Layer::Dense {
                in_features,
                out_features,
                weights,
                bias,
            } => {
                check_len(
                    "weights",
                    weights.len(),
                    product(&[*in_features, *out_features])?,
                )?;
                check_len("bias", bias.len(), *out_features)?;
                if input != [*in_features] {
                    return Err(LayerError::DenseInput {
                        input: input.to_vec(),
                        in_features: *in_features,
                    });
                }
                Ok(vec![*out_features])
            }
            Layer::Conv2d {
                in_channels,
                out_channels,
                kernel_h,
                kernel_w,
                stride,
                padding,
                weights,
                bias,
            } => {
                check_len(
                    "weights",
                    weights.len(),
                    product(&[*out_channels, *in_channels, *kernel_h, *kernel_w])?,
                )?;
                check_len("bias", bias.len(), *out_channels)?;
                if *stride == 0 || *kernel_h == 0 || *kernel_w == 0 {
                    return Err(LayerError::ConvZero);
                }
                let [c, h, w] = chw(input)?;
                let (h, w) = (padded(h, *padding)?, padded(w, *padding)?);
                if c != *in_channels || h < *kernel_h || w < *kernel_w {
                    return Err(LayerError::ConvInput {
                        input: input.to_vec(),
                        in_channels: *in_channels,
                        kernel_h: *kernel_h,
                        kernel_w: *kernel_w,
                        padding: *padding,
                    });
                }
                Ok(vec![
                    *out_channels,
                    windows(h, *kernel_h, *stride),
                    windows(w, *kernel_w, *stride),
                ])
            }
            Layer::Relu => Ok(input.to_vec()),
            Layer::MaxPool2d { kernel, stride } => {
                if *stride == 0 || *kernel == 0 {
                    return Err(LayerError::PoolZero);
                }
                let [c, h, w] = chw(input)?;
                if h < *kernel || w < *kernel {
                    return Err(LayerError::PoolInput {
                        input: input.to_vec(),
                        kernel: *kernel,
                    });
                }
                Ok(vec![
                    c,
                    windows(h, *kernel, *stride),
                    windows(w, *kernel, *stride),
                ])
            }
            Layer::Flatten => Ok(vec![product(input)?]),
            Layer::BatchNorm {
                gamma,
                beta,
                running_mean,
                running_var,
                eps,
            } => {
                let n = gamma.len();
                check_len("beta", beta.len(), n)?;
                check_len("running_mean", running_mean.len(), n)?;
                check_len("running_var", running_var.len(), n)?;
                if eps.is_nan() || *eps < 0.0 {
                    return Err(LayerError::Eps { eps: *eps });
                }
                if input.first() != Some(&n) || !(input.len() == 1 || input.len() == 3) {
                    return Err(LayerError::BatchNormInput {
                        input: input.to_vec(),
                        features: n,
                    });
                }
                Ok(input.to_vec())
            }
        }
    }

    /// The first parameter value that is NaN or infinite: the parameter's name as written in
    /// a model file, the value's index in it and the value.
    pub fn non_finite(&self) -> Option<(&'static str, usize, f32)> {
        let params: Vec<(&'static str, &[f32])> = match self {
            Layer::Dense { weights, bias, .. } | Layer::Conv2d { weights, bias, .. } => {
                vec![("weights", weights), ("bias", bias)]
            }
            Layer::BatchNorm {
                gamma,
                beta,
                running_mean,
                running_var,
                eps,
            } => vec![
                ("gamma", gamma),
                ("beta", beta),
                ("running_mean", running_mean),
                ("running_var", running_var),
                ("eps", std::slice::from_ref(eps)),
            ],
            Layer::Relu | Layer::MaxPool2d { .. } | Layer::Flatten => Vec::new(),
        };
        params.into_iter().find_map(|(name, values)| {
            values
                .iter()
                .position(|v| !v.is_finite())
                .map(|i| (name, i, values[i]))
        })
    }

    /// Number of trainable parameters (weights and biases, or gamma and beta).
    pub fn param_count(&self) -> usize {
        match self {
            Layer::Dense { weights, bias, .. } | Layer::Conv2d { weights, bias, .. } => {
                weights.len() + bias.len()
            }
            Layer::BatchNorm { gamma, beta, .. } => gamma.len() + beta.len(),
            _ => 0,
        }
    }
}

/// A layer that does not fit its input or its own parameters; each message names both shapes
/// (or the bad parameter). [`NnError::Shape`](super::NnError::Shape) adds the layer.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LayerError {
    /// A parameter tensor of the wrong length.
    #[error("{what} has {got} values, expected {expected}")]
    Length {
        /// The parameter.
        what: &'static str,
        /// Values given.
        got: usize,
        /// Values the layer's sizes need.
        expected: usize,
    },
    /// Sizes whose product overflows.
    #[error("sizes {sizes:?} are too large")]
    TooLarge {
        /// The sizes.
        sizes: Vec<usize>,
    },
    /// A padding that overflows the padded size.
    #[error("padding {padding} is too large")]
    Padding {
        /// The padding.
        padding: usize,
    },
    /// An input that is not `[channels, height, width]`.
    #[error("input shape {input:?} must be [channels, height, width]")]
    NotChw {
        /// The input shape.
        input: Vec<usize>,
    },
    /// A dense layer's input of the wrong shape.
    #[error("input shape {input:?} does not match the expected [{in_features}]")]
    DenseInput {
        /// The input shape.
        input: Vec<usize>,
        /// The layer's inputs.
        in_features: usize,
    },
    /// A convolution with a zero stride or kernel size.
    #[error("stride and kernel sizes must be at least 1")]
    ConvZero,
    /// A convolution's input of the wrong channels or smaller than the kernel.
    #[error("input shape {input:?} does not fit in_channels {in_channels}, kernel {kernel_h}x{kernel_w}, padding {padding}")]
    ConvInput {
        /// The input shape.
        input: Vec<usize>,
        /// The layer's input channels.
        in_channels: usize,
        /// Kernel height.
        kernel_h: usize,
        /// Kernel width.
        kernel_w: usize,
        /// Padding.
        padding: usize,
    },
    /// A max pooling with a zero kernel or stride.
    #[error("kernel and stride must be at least 1")]
    PoolZero,
    /// A max pooling's input smaller than the kernel.
    #[error("input shape {input:?} is smaller than the kernel {kernel}")]
    PoolInput {
        /// The input shape.
        input: Vec<usize>,
        /// The kernel size.
        kernel: usize,
    },
    /// A negative or NaN batch-norm epsilon.
    #[error("eps ({eps}) must be non-negative")]
    Eps {
        /// The epsilon.
        eps: f32,
    },
    /// A batch norm's input whose channels differ from its features.
    #[error(
        "input shape {input:?} does not match the expected [{features}] or [{features}, H, W]"
    )]
    BatchNormInput {
        /// The input shape.
        input: Vec<usize>,
        /// The batch norm's features.
        features: usize,
    },
    /// [`fold_batchnorm`] given something else than a batch norm to fold.
    #[error("expected a BatchNorm to fold, got {kind}")]
    NotBatchNorm {
        /// The layer kind given.
        kind: &'static str,
    },
    /// [`fold_batchnorm`] given a layer a batch norm cannot fold into.
    #[error("a BatchNorm folds only into Dense or Conv2d, not {kind}")]
    FoldTarget {
        /// The layer kind given.
        kind: &'static str,
    },
    /// A batch norm whose features differ from the outputs of the layer before.
    #[error("BatchNorm has {features} features but the layer before has {outputs} outputs")]
    FoldFeatures {
        /// The batch norm's features.
        features: usize,
        /// The outputs of the layer before.
        outputs: usize,
    },
}

/// The product of `values`, or an error when it overflows.
pub(crate) fn product(values: &[usize]) -> Result<usize, LayerError> {
    values
        .iter()
        .try_fold(1usize, |acc, &v| acc.checked_mul(v))
        .ok_or_else(|| LayerError::TooLarge {
            sizes: values.to_vec(),
        })
}

/// Windows along one axis of `size` (padding included) for a `kernel` moved by `stride`.
pub(crate) fn windows(size: usize, kernel: usize, stride: usize) -> usize {
    (size - kernel) / stride + 1
}

/// A convolution over one `[c, h, w]` input whose shape [`Layer::output_shape`] has accepted.
pub(crate) struct ConvGeometry {
    pub in_channels: usize,
    pub out_channels: usize,
    pub kernel_h: usize,
    pub kernel_w: usize,
    pub stride: usize,
    pub padding: usize,
    /// Input height and width.
    pub h: usize,
    pub w: usize,
    /// Output height and width.
    pub oh: usize,
    pub ow: usize,
}

impl ConvGeometry {
    /// The geometry of `layer` over `input_shape`, or `None` if it is not a convolution.
    pub fn of(layer: &Layer, input_shape: &[usize]) -> Option<Self> {
        let Layer::Conv2d {
            in_channels,
            out_channels,
            kernel_h,
            kernel_w,
            stride,
            padding,
            ..
        } = *layer
        else {
            return None;
        };
        let (h, w) = (input_shape[1], input_shape[2]);
        Some(ConvGeometry {
            in_channels,
            out_channels,
            kernel_h,
            kernel_w,
            stride,
            padding,
            h,
            w,
            oh: windows(h + 2 * padding, kernel_h, stride),
            ow: windows(w + 2 * padding, kernel_w, stride),
        })
    }

    /// Output values (`out_channels · oh · ow`).
    pub fn out_len(&self) -> usize {
        self.out_channels * self.oh * self.ow
    }

    /// Every output value as (channel, row, column), in CHW order.
    pub fn outputs(&self) -> impl Iterator<Item = (usize, usize, usize)> {
        let (oh, ow) = (self.oh, self.ow);
        (0..self.out_channels)
            .flat_map(move |o| (0..oh).flat_map(move |y| (0..ow).map(move |xo| (o, y, xo))))
    }

    /// Calls `tap(weight index, input index)` for each tap of output `(o, y, xo)` inside the
    /// input, in `[c][ky][kx]` order; taps in the zero padding are skipped.
    pub fn taps(&self, o: usize, y: usize, xo: usize, mut tap: impl FnMut(usize, usize)) {
        let (h, w) = (self.h, self.w);
        for c in 0..self.in_channels {
            for ky in 0..self.kernel_h {
                let iy = (y * self.stride + ky) as isize - self.padding as isize;
                if iy < 0 || iy >= h as isize {
                    continue;
                }
                for kx in 0..self.kernel_w {
                    let ix = (xo * self.stride + kx) as isize - self.padding as isize;
                    if ix < 0 || ix >= w as isize {
                        continue;
                    }
                    let wi = ((o * self.in_channels + c) * self.kernel_h + ky) * self.kernel_w + kx;
                    tap(wi, (c * h + iy as usize) * w + ix as usize);
                }
            }
        }
    }
}

fn padded(size: usize, padding: usize) -> Result<usize, LayerError> {
    padding
        .checked_mul(2)
        .and_then(|p| p.checked_add(size))
        .ok_or(LayerError::Padding { padding })
}

fn check_len(what: &'static str, got: usize, expected: usize) -> Result<(), LayerError> {
    if got == expected {
        Ok(())
    } else {
        Err(LayerError::Length {
            what,
            got,
            expected,
        })
    }
}

fn chw(input: &[usize]) -> Result<[usize; 3], LayerError> {
    match input {
        [c, h, w] => Ok([*c, *h, *w]),
        _ => Err(LayerError::NotChw {
            input: input.to_vec(),
        }),
    }
}

/// Folds an inference-time [`Layer::BatchNorm`] into the Dense or Conv2d before it, so that
/// `fold(prev, bn)(x) == bn(prev(x))`: each output channel `o` gets `s = gamma[o] / sqrt(var[o] + eps)`,
/// its weights are multiplied by `s` and its bias becomes `(bias[o] - mean[o]) * s + beta[o]`.
pub fn fold_batchnorm(prev: &Layer, bn: &Layer) -> Result<Layer, LayerError> {
    let Layer::BatchNorm {
        gamma,
        beta,
        running_mean,
        running_var,
        eps,
    } = bn
    else {
        return Err(LayerError::NotBatchNorm { kind: bn.kind() });
    };
    let mut folded = prev.clone();
    let (weights, bias, outs) = match &mut folded {
        Layer::Dense {
            weights,
            bias,
            out_features,
            ..
        } => (weights, bias, *out_features),
        Layer::Conv2d {
            weights,
            bias,
            out_channels,
            ..
        } => (weights, bias, *out_channels),
        other => return Err(LayerError::FoldTarget { kind: other.kind() }),
    };
    if gamma.len() != outs
        || beta.len() != outs
        || running_mean.len() != outs
        || running_var.len() != outs
    {
        return Err(LayerError::FoldFeatures {
            features: gamma.len(),
            outputs: outs,
        });
    }
    let per_out = weights.len() / outs.max(1);
    for o in 0..outs {
        let s = gamma[o] / (running_var[o] + eps).sqrt();
        for w in &mut weights[o * per_out..(o + 1) * per_out] {
            *w *= s;
        }
        bias[o] = (bias[o] - running_mean[o]) * s + beta[o];
    }
    Ok(folded)
}
