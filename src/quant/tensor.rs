//! Tensors in and out: a borrowed float tensor with its shape, the per-tensor or per-channel
//! granularity, and the quantized result (codes, their levels, scales and zero points).
//!
//! A quantized value is `real ≈ (level(code) − zero_point) × scale`, with the scale and zero
//! point of the element's channel. For uniform quantizers the code is the integer itself
//! (`level(code) = code`); for PoT, APoT, binary and ternary weights the code is the bit pattern
//! of a [`WeightCode`] and the level is what it decodes, with zero point 0.
//!
//! ```
//! use qforge::quant::tensor::{Granularity, TensorRef};
//! let w = [1.0f32, -2.0, 3.0, 4.0, 5.0, -6.0];
//! let t = TensorRef::new(&w, &[2, 3]).unwrap();
//! let layout = Granularity::PerChannel { axis: 0 }.layout(t.shape()).unwrap();
//! assert_eq!((layout.channels(), layout.channel_of(4)), (2, 1));
//! ```

use super::error::{bad, QuantError};
use crate::num::dyadic::Dyadic;
use crate::num::weights::WeightCode;
use serde::{Deserialize, Serialize};

/// A borrowed tensor: row-major values (`f32` or `f64`) and their shape.
#[derive(Clone, Copy, Debug)]
pub struct TensorRef<'a, T> {
    data: &'a [T],
    shape: &'a [usize],
}

impl<'a, T: Copy + Into<f64>> TensorRef<'a, T> {
    /// Checks that `shape` describes exactly `data.len()` values (an empty shape is a scalar).
    pub fn new(data: &'a [T], shape: &'a [usize]) -> Result<Self, QuantError> {
        let expected = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        if expected != Some(data.len()) {
            return Err(QuantError::ShapeMismatch {
                shape: shape.to_vec(),
                expected: expected.map_or_else(|| "more than usize::MAX".into(), |n| n.to_string()),
                actual: data.len(),
            });
        }
        Ok(TensorRef { data, shape })
    }

    /// The values.
    pub fn data(&self) -> &'a [T] {
        self.data
    }

    /// The shape.
    pub fn shape(&self) -> &'a [usize] {
        self.shape
    }

    /// The values as `f64` (exact for `f32`), rejecting NaN and infinities.
    pub fn to_f64(&self) -> Result<Vec<f64>, QuantError> {
        self.data
            .iter()
            .enumerate()
            .map(|(index, &v)| {
                let value: f64 = v.into();
                if value.is_finite() {
                    Ok(value)
                } else {
                    Err(QuantError::NonFinite { index, value })
                }
            })
            .collect()
    }
}

/// Whether one set of quantization parameters covers the whole tensor or one set per channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// One scale (and zero point) for the tensor.
    PerTensor,
    /// One per index along `axis` (the output axis, 0 for PyTorch's `out × in` weights).
    PerChannel {
        /// The channel axis.
        axis: usize,
    },
}

/// Which channel each flat index of a tensor belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelLayout {
    channels: usize,
    inner: usize,
}

impl ChannelLayout {
    /// The number of channels (1 per tensor; the axis length per channel).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// How many consecutive flat indices share a channel (the product of the dimensions after
    /// the channel axis; 1 per tensor).
    pub fn run_length(&self) -> usize {
        self.inner
    }

    /// The channel of flat index `i`.
    pub fn channel_of(&self, i: usize) -> usize {
        (i / self.inner) % self.channels.max(1)
    }

    /// Splits `values` into one vector per channel, keeping their order.
    pub fn split(&self, values: &[f64]) -> Vec<Vec<f64>> {
        let mut out = vec![Vec::new(); self.channels];
        for (i, &v) in values.iter().enumerate() {
            out[self.channel_of(i)].push(v);
        }
        out
    }
}

impl Granularity {
    /// The channel layout of a tensor of this shape.
    pub fn layout(&self, shape: &[usize]) -> Result<ChannelLayout, QuantError> {
        match *self {
            Granularity::PerTensor => Ok(ChannelLayout {
                channels: 1,
                inner: 1,
            }),
            Granularity::PerChannel { axis } => {
                if axis >= shape.len() {
                    return Err(QuantError::BadAxis {
                        axis,
                        rank: shape.len(),
                    });
                }
                Ok(ChannelLayout {
                    channels: shape[axis],
                    inner: shape[axis + 1..].iter().product::<usize>().max(1),
                })
            }
        }
    }
}

/// How a tensor's codes map to integer levels.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeKind {
    /// Uniform quantizers: the code is the level (any width, signedness and zero point).
    Integer,
    /// The code is the bit pattern of a weight code ([`WeightCode::level`]).
    Weight(WeightCode),
}

impl CodeKind {
    /// The integer level of `code`.
    pub fn level(&self, code: i64) -> Result<i64, QuantError> {
        match self {
            CodeKind::Integer => Ok(code),
            CodeKind::Weight(w) => {
                u64::try_from(code)
                    .ok()
                    .and_then(|c| w.level(c))
                    .ok_or(QuantError::InvalidCode {
                        code,
                        kind: w.name(),
                    })
            }
        }
    }

    /// The encoding's name: `integer`, or the weight code's family.
    pub fn name(&self) -> &'static str {
        match self {
            CodeKind::Integer => "integer",
            CodeKind::Weight(w) => w.name(),
        }
    }
}

/// The scale and zero point of one channel.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelParams {
    /// Positive, finite.
    pub scale: f64,
    /// The integer that represents real 0 (0 for symmetric and non-uniform quantizers).
    pub zero_point: i64,
}

impl ChannelParams {
    /// `k` if the scale is exactly `2^k` (then requantization by it is a pure shift).
    pub fn scale_exponent(&self) -> Option<i32> {
        power_of_two_exponent(self.scale)
    }
}

/// `k` if `x` is exactly `2^k`.
pub fn power_of_two_exponent(x: f64) -> Option<i32> {
    let d = Dyadic::from_f64(x).ok()?;
    (d.mantissa() == 1).then_some(d.exp())
}

/// A quantized tensor: one code per value, and the parameters of each channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantizedTensor {
    shape: Vec<usize>,
    granularity: Granularity,
    kind: CodeKind,
    codes: Vec<i64>,
    channels: Vec<ChannelParams>,
}

impl QuantizedTensor {
    /// Assembles a result, checking that every code is valid and that there is one set of
    /// parameters per channel.
    pub fn new(
        shape: Vec<usize>,
        granularity: Granularity,
        kind: CodeKind,
        codes: Vec<i64>,
        channels: Vec<ChannelParams>,
    ) -> Result<Self, QuantError> {
        let layout = granularity.layout(&shape)?;
        let expected: usize = shape.iter().product();
        if codes.len() != expected {
            return Err(QuantError::ShapeMismatch {
                shape,
                expected: expected.to_string(),
                actual: codes.len(),
            });
        }
        if channels.len() != layout.channels() {
            return Err(bad(
                "channel parameters",
                channels.len(),
                format!("must number one per channel ({})", layout.channels()),
            ));
        }
        for p in &channels {
            if !(p.scale.is_finite() && p.scale > 0.0) {
                return Err(bad("scale", p.scale, "must be positive and finite"));
            }
        }
        for &c in &codes {
            kind.level(c)?;
        }
        Ok(QuantizedTensor {
            shape,
            granularity,
            kind,
            codes,
            channels,
        })
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Per tensor or per channel.
    pub fn granularity(&self) -> Granularity {
        self.granularity
    }

    /// How codes map to levels.
    pub fn kind(&self) -> &CodeKind {
        &self.kind
    }

    /// The codes, row-major.
    pub fn codes(&self) -> &[i64] {
        &self.codes
    }

    /// The parameters of each channel (one entry per tensor).
    pub fn channels(&self) -> &[ChannelParams] {
        &self.channels
    }

    /// The parameters that apply to flat index `i`.
    pub fn params_of(&self, i: usize) -> ChannelParams {
        self.channels[self.layout().channel_of(i)]
    }

    fn layout(&self) -> ChannelLayout {
        // Validated in `new`; the fallback is never taken.
        self.granularity
            .layout(&self.shape)
            .unwrap_or(ChannelLayout {
                channels: 1,
                inner: 1,
            })
    }

    /// The integer level of every code.
    pub fn levels(&self) -> Vec<i64> {
        // Codes were validated in `new`, so decoding cannot fail.
        self.codes
            .iter()
            .map(|&c| self.kind.level(c).unwrap_or(0))
            .collect()
    }

    /// The real values `(level − zero_point) × scale`.
    pub fn dequantize(&self) -> Vec<f64> {
        let layout = self.layout();
        self.levels()
            .into_iter()
            .enumerate()
            .map(|(i, level)| {
                let p = self.channels[layout.channel_of(i)];
                (level - p.zero_point) as f64 * p.scale
            })
            .collect()
    }
}
