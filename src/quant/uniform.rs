//! Uniform integer quantization: symmetric or asymmetric (zero point), signed or unsigned, narrow
//! or full range, any rounding mode, 1..=32 bits, scales free or constrained to powers of two.
//!
//! From a clipping range ([`ClipRange`]) the scale is
//! * symmetric: `s = T / max_int` with `T = max(|lo|, |hi|)` and zero point 0;
//! * asymmetric: `s = (hi − lo) / (max_int − min_int)` and
//!   `z = clamp(round_half_even(min_int − lo / s))`;
//!
//! with [`IntRange`]'s `min_int`/`max_int`. With [`ScaleConstraint::PowerOfTwo`] the scale is
//! raised to the next power of two, `2^ceil(log2 s)` (as Brevitas' power-of-two scales do, so
//! the clipping range stays covered); scale ratios between layers are then powers of two and
//! requantization is a pure shift. A channel whose range is empty (all zeros) gets scale 1.
//!
//! A value's code is `clamp(round(x / s) + z)` with the configured rounding mode, computed
//! exactly: the scale is kept as the exact quotient `T / max_int` (not its `f64` rounding), so
//! `0.5` with `T = 1` at 4 bits is exactly the tie 3.5.
//!
//! ```
//! use qforge::num::rounding::RoundingMode;
//! use qforge::quant::calibrate::ClipRange;
//! use qforge::quant::quantizer::ChannelQuantizer;
//! use qforge::quant::uniform::UniformConfig;
//! let mut c = UniformConfig::symmetric(4, true).unwrap(); // narrow [-7, 7], half to even
//! let p = c.fit(ClipRange { lo: -1.0, hi: 1.0 }).unwrap(); // scale 1/7
//! assert_eq!(c.code(0.5, &p).unwrap(), 4); // 3.5 ties to even
//! c.rounding = RoundingMode::HalfTowardZero;
//! assert_eq!(c.code(0.5, &p).unwrap(), 3);
//! ```

use super::calibrate::ClipRange;
use super::error::{bad, QuantError};
use super::intquant::{
    check_bits, round_clamp_estimate, round_clamp_exact, IntRange, QuotientEstimate,
};
use super::quantizer::{reconstruct_via_code, ChannelQuantizer};
use super::tensor::{ChannelParams, CodeKind};
use crate::num::dyadic::Dyadic;
use crate::num::rounding::RoundingMode;
use serde::{Deserialize, Serialize};

/// Whether scales are free or powers of two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleConstraint {
    /// Any positive scale.
    Float,
    /// `2^k` for an integer `k`.
    PowerOfTwo,
}

/// A uniform quantizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub struct UniformConfig {
    /// Code width, 1..=32.
    pub bits: u32,
    /// Signed or unsigned codes.
    pub signed: bool,
    /// Narrow range (`[−7, 7]` rather than `[−8, 7]` at 4 bits).
    pub narrow: bool,
    /// Symmetric (zero point 0) or asymmetric.
    pub symmetric: bool,
    /// How `x / s` is rounded.
    pub rounding: RoundingMode,
    /// Free or power-of-two scales.
    pub scale_constraint: ScaleConstraint,
}

/// The fitted parameters of one channel: the exact scale `numerator / divisor` and the zero point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UniformParams {
    /// The scale's numerator (the clipping threshold or span, or `2^k`).
    pub numerator: f64,
    /// The scale's divisor (the number of steps, or 1 for power-of-two scales).
    pub divisor: u64,
    /// The zero point.
    pub zero_point: i64,
}

impl UniformParams {
    /// The scale as the nearest `f64`.
    pub fn scale(&self) -> f64 {
        self.numerator / self.divisor as f64
    }
}

impl UniformConfig {
    /// Validates and builds a uniform quantizer.
    pub fn new(
        bits: u32,
        signed: bool,
        narrow: bool,
        symmetric: bool,
        rounding: RoundingMode,
        scale_constraint: ScaleConstraint,
    ) -> Result<Self, QuantError> {
        let c = UniformConfig {
            bits,
            signed,
            narrow,
            symmetric,
            rounding,
            scale_constraint,
        };
        ChannelQuantizer::validate(&c)?;
        Ok(c)
    }

    /// The common weight quantizer: symmetric, narrow range, half to even, free scales.
    pub fn symmetric(bits: u32, signed: bool) -> Result<Self, QuantError> {
        UniformConfig::new(
            bits,
            signed,
            true,
            true,
            RoundingMode::HalfEven,
            ScaleConstraint::Float,
        )
    }

    /// The code range.
    pub fn range(&self) -> Result<IntRange, QuantError> {
        IntRange::new(self.bits, self.signed, self.narrow)
    }

    /// The number of steps a clipping range is divided into.
    fn steps(&self, range: IntRange) -> i64 {
        if self.symmetric {
            range.max
        } else {
            range.max - range.min
        }
    }
}

impl ChannelQuantizer for UniformConfig {
    type Params = UniformParams;

    fn validate(&self) -> Result<(), QuantError> {
        check_bits("bits", self.bits)?;
        let steps = self.steps(self.range()?);
        if steps < 1 {
            return Err(bad(
                "bits",
                self.bits,
                "leaves no non-zero code in this range (use at least 2 bits, or a wide range)",
            ));
        }
        Ok(())
    }

    fn symmetric(&self) -> bool {
        self.symmetric
    }

    fn fit(&self, clip: ClipRange) -> Result<UniformParams, QuantError> {
        let range = self.range()?;
        let steps = self.steps(range);
        let (lo, hi) = if self.symmetric {
            (0.0, clip.threshold())
        } else {
            (clip.lo.min(0.0), clip.hi.max(0.0))
        };
        let span = hi - lo;
        if !span.is_finite() {
            return Err(bad("clipping range", span, "must be finite"));
        }
        let (numerator, divisor) = if span == 0.0 {
            (1.0, 1)
        } else {
            match self.scale_constraint {
                ScaleConstraint::Float => (span, steps as u64),
                ScaleConstraint::PowerOfTwo => (next_power_of_two(span / steps as f64)?, 1),
            }
        };
        let zero_point = if self.symmetric {
            0
        } else {
            let neg_lo = Dyadic::from_f64(-lo).map_err(|_| bad("lo", lo, "must be finite"))?;
            let scaled = neg_lo
                .checked_mul(Dyadic::from_int(i128::from(divisor)))
                .ok_or_else(|| bad("lo", lo, "is out of range"))?;
            let num = Dyadic::from_f64(numerator)
                .map_err(|_| bad("scale", numerator, "must be finite"))?;
            round_clamp_exact(scaled, num, range.min, RoundingMode::HalfEven, range)
        };
        Ok(UniformParams {
            numerator,
            divisor,
            zero_point,
        })
    }

    fn code(&self, x: f64, p: &UniformParams) -> Result<i64, QuantError> {
        let range = self.range()?;
        if let Some(code) = round_clamp_estimate(
            x,
            p.divisor,
            p.numerator,
            p.zero_point,
            self.rounding,
            range,
        ) {
            return Ok(code);
        }
        let xd = Dyadic::from_f64(x).map_err(|_| QuantError::NonFinite { index: 0, value: x })?;
        let scaled = xd
            .checked_mul(Dyadic::from_int(i128::from(p.divisor)))
            .ok_or_else(|| bad("divisor", p.divisor, "is out of range"))?;
        let num = Dyadic::from_f64(p.numerator)
            .ok()
            .filter(|d| d.mantissa() > 0)
            .ok_or_else(|| bad("scale", p.numerator, "must be positive and finite"))?;
        Ok(round_clamp_exact(
            scaled,
            num,
            p.zero_point,
            self.rounding,
            range,
        ))
    }

    /// [`ChannelQuantizer::code`] of each value with the range and the quotient's factor
    /// computed once: the estimate decides most values, the exact path the rest.
    fn codes(&self, xs: &[f64], p: &UniformParams, out: &mut [i64]) -> Result<(), QuantError> {
        let range = self.range()?;
        let estimate =
            QuotientEstimate::new(p.divisor, p.numerator, p.zero_point, self.rounding, range);
        for (o, &x) in out.iter_mut().zip(xs) {
            *o = match estimate.and_then(|e| e.code(x)) {
                Some(code) => code,
                None => self.code(x, p)?,
            };
        }
        Ok(())
    }

    fn channel_params(&self, p: &UniformParams) -> ChannelParams {
        ChannelParams {
            scale: p.scale(),
            zero_point: p.zero_point,
        }
    }

    fn code_kind(&self) -> CodeKind {
        CodeKind::Integer
    }

    fn reconstruct(&self, x: f64, p: &UniformParams) -> Result<f64, QuantError> {
        reconstruct_via_code(self, &CodeKind::Integer, x, p)
    }
}

/// `2^ceil(log2 s)` for a positive finite `s`.
fn next_power_of_two(s: f64) -> Result<f64, QuantError> {
    let d = Dyadic::from_f64(s)
        .ok()
        .filter(|d| d.mantissa() > 0)
        .ok_or_else(|| bad("scale", s, "must be positive and finite"))?;
    let len = 128 - d.mantissa().leading_zeros() as i32;
    let k = if d.mantissa() == 1 {
        d.exp()
    } else {
        d.exp() + len
    };
    let p = Dyadic::new(1, k).to_f64();
    if p.is_finite() && p > 0.0 {
        Ok(p)
    } else {
        Err(bad("scale", s, "has no power of two in range"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_power_of_two_by_hand() {
        assert_eq!(next_power_of_two(1.0).unwrap(), 1.0);
        assert_eq!(next_power_of_two(0.3).unwrap(), 0.5);
        assert_eq!(next_power_of_two(1.0 / 7.0).unwrap(), 0.25);
        assert_eq!(next_power_of_two(5.0).unwrap(), 8.0);
    }

    #[test]
    fn one_bit_signed_symmetric_is_rejected() {
        let e = UniformConfig::symmetric(1, true).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("bits (1) leaves no non-zero code"));
    }
}
