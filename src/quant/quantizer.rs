//! The common shape of the quantizers, and one serializable description of "how to quantize this
//! tensor" ([`TensorQuantizer`]) for quantization specs in RON.
//!
//! ```
//! use qforge::quant::calibrate::Clipping;
//! use qforge::quant::quantizer::{Scheme, TensorQuantizer};
//! use qforge::quant::tensor::{Granularity, TensorRef};
//! use qforge::quant::uniform::UniformConfig;
//!
//! let q = TensorQuantizer {
//!     scheme: Scheme::Uniform(UniformConfig::symmetric(4, true).unwrap()),
//!     granularity: Granularity::PerChannel { axis: 0 },
//!     clipping: Clipping::MinMax,
//! };
//! let w = [1.0f32, -0.6, 0.25, 2.0, 0.0, -1.2];
//! let t = q.quantize(TensorRef::new(&w, &[2, 3]).unwrap()).unwrap();
//! assert_eq!(t.codes(), &[7, -4, 2, 7, 0, -4]); // scales 1/7 and 2/7
//! ```

use super::apot::{ApotConfig, ApotQuantizer};
use super::binary::{binarize, ternarize, TernaryConfig};
use super::calibrate::{ClipRange, Clipping};
use super::error::QuantError;
use super::pot::PotConfig;
use super::tensor::{ChannelParams, CodeKind, Granularity, QuantizedTensor, TensorRef};
use super::uniform::UniformConfig;
use crate::num::weights::WeightCode;
use crate::position::ValuePath;
use serde::{Deserialize, Serialize};

/// A quantizer whose per-channel parameters follow from a clipping range.
pub trait ChannelQuantizer: Sync {
    /// The fitted parameters of one channel.
    type Params: Sync;
    /// Checks the configuration.
    fn validate(&self) -> Result<(), QuantError>;
    /// Whether the clipping range is symmetric (`[−T, T]`).
    fn symmetric(&self) -> bool;
    /// The parameters for a clipping range.
    fn fit(&self, range: ClipRange) -> Result<Self::Params, QuantError>;
    /// The code of `x`.
    fn code(&self, x: f64, params: &Self::Params) -> Result<i64, QuantError>;
    /// The codes of `xs` (all of one channel) into `out`: [`ChannelQuantizer::code`] of each;
    /// a quantizer may override it with a faster loop giving the same codes.
    fn codes(&self, xs: &[f64], params: &Self::Params, out: &mut [i64]) -> Result<(), QuantError> {
        for (o, &x) in out.iter_mut().zip(xs) {
            *o = self.code(x, params)?;
        }
        Ok(())
    }
    /// The scale and zero point the parameters stand for.
    fn channel_params(&self, params: &Self::Params) -> ChannelParams;
    /// How codes map to levels.
    fn code_kind(&self) -> CodeKind;
    /// `x` quantized and dequantized, for error measurement.
    fn reconstruct(&self, x: f64, params: &Self::Params) -> Result<f64, QuantError>;
}

/// `(level(code(x)) − zero_point) × scale`: the body of every [`ChannelQuantizer::reconstruct`].
pub(crate) fn reconstruct_via_code<Q: ChannelQuantizer>(
    q: &Q,
    kind: &CodeKind,
    x: f64,
    params: &Q::Params,
) -> Result<f64, QuantError> {
    let p = q.channel_params(params);
    let level = kind.level(q.code(x, params)?)?;
    Ok((level - p.zero_point) as f64 * p.scale)
}

/// Tensors of at least this many values are coded in parallel.
const PARALLEL_MIN: usize = 1 << 15;
/// Values per parallel task of a per-tensor quantizer.
const PARALLEL_CHUNK: usize = 1 << 13;

/// Quantizes a tensor per tensor or per channel, choosing each channel's clipping range with
/// `clipping`.
pub fn quantize_tensor<Q: ChannelQuantizer, T: Copy + Into<f64>>(
    quantizer: &Q,
    tensor: TensorRef<'_, T>,
    granularity: Granularity,
    clipping: Clipping,
) -> Result<QuantizedTensor, QuantError> {
    quantizer.validate()?;
    clipping.validate()?;
    let values = tensor.to_f64()?;
    let layout = granularity.layout(tensor.shape())?;
    let params = layout
        .split(&values)
        .iter()
        .map(|channel| clipping.choose(channel, quantizer).map(|(_, p)| p))
        .collect::<Result<Vec<_>, _>>()?;
    quantize_with_params(quantizer, tensor, granularity, &values, &layout, &params)
}

/// Quantizes a tensor with given clipping ranges, one per channel (or one for the tensor):
/// the parameters are the quantizer's [`ChannelQuantizer::fit`] of each range, exactly as a
/// calibrated range would be fitted. This is how learned clipping thresholds become codes.
pub fn quantize_tensor_at<Q: ChannelQuantizer, T: Copy + Into<f64>>(
    quantizer: &Q,
    tensor: TensorRef<'_, T>,
    granularity: Granularity,
    ranges: &[ClipRange],
) -> Result<QuantizedTensor, QuantError> {
    quantizer.validate()?;
    let values = tensor.to_f64()?;
    let layout = granularity.layout(tensor.shape())?;
    if ranges.len() != layout.channels() {
        return Err(QuantError::BadParameter {
            name: "clipping ranges",
            value: ranges.len().to_string(),
            rule: format!("must be one per channel ({})", layout.channels()),
        });
    }
    let params = ranges
        .iter()
        .map(|&r| quantizer.fit(r))
        .collect::<Result<Vec<_>, _>>()?;
    quantize_with_params(quantizer, tensor, granularity, &values, &layout, &params)
}

fn quantize_with_params<Q: ChannelQuantizer, T: Copy + Into<f64>>(
    quantizer: &Q,
    tensor: TensorRef<'_, T>,
    granularity: Granularity,
    values: &[f64],
    layout: &super::tensor::ChannelLayout,
    params: &[Q::Params],
) -> Result<QuantizedTensor, QuantError> {
    // Runs of consecutive values share a channel; large tensors are coded on every core.
    let run = if layout.channels() == 1 {
        PARALLEL_CHUNK
    } else {
        layout.run_length()
    }
    .max(1);
    let mut codes = vec![0i64; values.len()];
    let code_run = |(k, (out, xs)): (usize, (&mut [i64], &[f64]))| {
        quantizer.codes(xs, &params[layout.channel_of(k * run)], out)
    };
    if values.len() >= PARALLEL_MIN {
        use rayon::prelude::*;
        codes
            .par_chunks_mut(run)
            .zip(values.par_chunks(run))
            .enumerate()
            .try_for_each(code_run)?;
    } else {
        codes
            .chunks_mut(run)
            .zip(values.chunks(run))
            .enumerate()
            .try_for_each(code_run)?;
    }
    QuantizedTensor::new(
        tensor.shape().to_vec(),
        granularity,
        quantizer.code_kind(),
        codes,
        params.iter().map(|p| quantizer.channel_params(p)).collect(),
    )
}

/// A quantization scheme.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// Uniform integers.
    Uniform(UniformConfig),
    /// Powers of two.
    Pot(PotConfig),
    /// Additive powers of two.
    Apot(ApotConfig),
    /// ±1 with scale mean |w| (clipping does not apply).
    Binary,
    /// {−1, 0, +1} with the TWN threshold (clipping does not apply).
    Ternary(TernaryConfig),
}

impl Scheme {
    /// The weight code the scheme's quantized weights are stored in: a signed symmetric uniform
    /// scheme's levels as `bits`-bit two's complement codes, the other schemes' codes as they
    /// come. Unsigned or asymmetric uniform schemes have none.
    pub fn weight_code(&self) -> Result<WeightCode, QuantError> {
        let code = match self {
            Scheme::Uniform(c) if !c.signed || !c.symmetric => {
                return Err(QuantError::NoWeightCode)
            }
            Scheme::Uniform(c) => WeightCode::Uniform { bits: c.bits },
            Scheme::Pot(c) => WeightCode::Pot(c.format),
            Scheme::Apot(c) => WeightCode::apot(c.term_bits, c.terms, c.signed)?,
            Scheme::Binary => WeightCode::Binary,
            Scheme::Ternary(_) => WeightCode::Ternary,
        };
        code.check()?;
        Ok(code)
    }
}

/// How to quantize one tensor: scheme, granularity and clipping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub struct TensorQuantizer {
    /// The scheme.
    pub scheme: Scheme,
    /// Per tensor or per channel.
    pub granularity: Granularity,
    /// How clipping ranges are chosen.
    pub clipping: Clipping,
}

impl TensorQuantizer {
    /// Checks the scheme's and the clipping's parameters, and that the scheme has a weight code
    /// ([`Scheme::weight_code`]); an error comes with the value it is about, relative to the
    /// quantizer (`scheme.bits`, `clipping.percentile`).
    pub fn validate(&self) -> Result<(), (ValuePath, QuantError)> {
        let scheme = match &self.scheme {
            Scheme::Uniform(c) => c.validate(),
            Scheme::Pot(c) => c.validate(),
            Scheme::Apot(c) => ApotQuantizer::new(c).map(|_| ()),
            Scheme::Binary => Ok(()),
            Scheme::Ternary(c) => c.validate(),
        }
        .and_then(|()| self.scheme.weight_code().map(|_| ()));
        let at = |base: &'static str, e: &QuantError| match e {
            QuantError::BadParameter { name, .. } => ValuePath::field(base).then_field(name),
            _ => ValuePath::field(base),
        };
        scheme.map_err(|e| (at("scheme", &e), e))?;
        self.clipping
            .validate()
            .map_err(|e| (at("clipping", &e), e))
    }

    /// Quantizes `tensor`.
    pub fn quantize<T: Copy + Into<f64>>(
        &self,
        tensor: TensorRef<'_, T>,
    ) -> Result<QuantizedTensor, QuantError> {
        match &self.scheme {
            Scheme::Uniform(c) => quantize_tensor(c, tensor, self.granularity, self.clipping),
            Scheme::Pot(c) => quantize_tensor(c, tensor, self.granularity, self.clipping),
            Scheme::Apot(c) => quantize_tensor(
                &ApotQuantizer::new(c)?,
                tensor,
                self.granularity,
                self.clipping,
            ),
            Scheme::Binary => binarize(tensor, self.granularity),
            Scheme::Ternary(c) => ternarize(c, tensor, self.granularity),
        }
    }

    /// Whether the scheme's scale follows from a clipping range (uniform, PoT, APoT), so that
    /// [`TensorQuantizer::quantize_at`] applies; binary and ternary scales come from statistics.
    pub fn has_clipping(&self) -> bool {
        matches!(
            self.scheme,
            Scheme::Uniform(_) | Scheme::Pot(_) | Scheme::Apot(_)
        )
    }

    /// The clipping range each channel of `tensor` gets from [`TensorQuantizer::clipping`] (the
    /// ranges [`TensorQuantizer::quantize`] fits), or `None` for schemes without clipping.
    pub fn ranges<T: Copy + Into<f64>>(
        &self,
        tensor: TensorRef<'_, T>,
    ) -> Result<Option<Vec<ClipRange>>, QuantError> {
        fn ranges_of<Q: ChannelQuantizer>(
            q: &Q,
            values: &[f64],
            layout: &super::tensor::ChannelLayout,
            clipping: Clipping,
        ) -> Result<Vec<ClipRange>, QuantError> {
            q.validate()?;
            clipping.validate()?;
            layout
                .split(values)
                .iter()
                .map(|channel| clipping.choose(channel, q).map(|(r, _)| r))
                .collect()
        }
        let values = tensor.to_f64()?;
        let layout = self.granularity.layout(tensor.shape())?;
        Ok(Some(match &self.scheme {
            Scheme::Uniform(c) => ranges_of(c, &values, &layout, self.clipping)?,
            Scheme::Pot(c) => ranges_of(c, &values, &layout, self.clipping)?,
            Scheme::Apot(c) => ranges_of(&ApotQuantizer::new(c)?, &values, &layout, self.clipping)?,
            Scheme::Binary | Scheme::Ternary(_) => return Ok(None),
        }))
    }

    /// Quantizes `tensor` with the given clipping ranges (one per channel, or one per tensor)
    /// instead of calibrating them; an error for binary and ternary schemes, whose scales are
    /// statistics of the tensor.
    pub fn quantize_at<T: Copy + Into<f64>>(
        &self,
        tensor: TensorRef<'_, T>,
        ranges: &[ClipRange],
    ) -> Result<QuantizedTensor, QuantError> {
        match &self.scheme {
            Scheme::Uniform(c) => quantize_tensor_at(c, tensor, self.granularity, ranges),
            Scheme::Pot(c) => quantize_tensor_at(c, tensor, self.granularity, ranges),
            Scheme::Apot(c) => {
                quantize_tensor_at(&ApotQuantizer::new(c)?, tensor, self.granularity, ranges)
            }
            Scheme::Binary | Scheme::Ternary(_) => Err(QuantError::BadParameter {
                name: "clipping ranges",
                value: ranges.len().to_string(),
                rule: "do not apply to binary or ternary weights (their scale is a statistic)"
                    .into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::pot::{ExponentRange, PotDomain};

    #[test]
    fn schemes_produce_their_weight_codes() {
        let code = |s: Scheme| s.weight_code().map(|c| c.to_string());
        let uniform = UniformConfig::symmetric(8, true).unwrap();
        assert_eq!(code(Scheme::Uniform(uniform)).unwrap(), "uniform8");
        let pot = PotConfig {
            format: crate::num::codes::PotFormat::new(3, true, true).unwrap(),
            domain: PotDomain::Linear,
            exponents: ExponentRange::FromThreshold,
            alpha: 1.0,
        };
        assert_eq!(code(Scheme::Pot(pot)).unwrap(), "pot4");
        let apot = ApotConfig::new(2, 2, true, None).unwrap();
        assert_eq!(code(Scheme::Apot(apot)).unwrap(), "apot5");
        assert_eq!(code(Scheme::Binary).unwrap(), "binary");
        assert_eq!(
            code(Scheme::Ternary(TernaryConfig::TWN)).unwrap(),
            "ternary"
        );
        let unsigned = UniformConfig::symmetric(8, false).unwrap();
        assert_eq!(
            code(Scheme::Uniform(unsigned)).unwrap_err().to_string(),
            "uniform weights must be signed and symmetric (zero point 0)"
        );
    }
}
