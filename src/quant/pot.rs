//! Power-of-two (PoT) quantization: each weight becomes a sign and an exponent (or zero), in the
//! code format of [`PotFormat`].
//!
//! The real weight is `level × 2^e_min × α`, where `level = ±2^j` (`0 ≤ j ≤ max_shift`, or 0 with
//! a zero code) and `α` is an optional float scale (1 by default, keeping every weight a power of
//! two). The exponent range is either fixed (`e_min` given) or chosen from the data: `e_max` is
//! the exponent the clipping threshold `T` itself projects to, and `e_min = e_max − max_shift`.
//!
//! Projection of `u = |x| / (2^e_min·α)` onto the levels, decided exactly (no float rounding):
//! * [`PotDomain::Linear`] (INQ / APoT style): the nearest level. The boundary between `2^j` and
//!   `2^(j+1)` is `1.5·2^j`; with a zero code, `u < 0.5` goes to zero. Ties go to the larger
//!   magnitude. From the threshold, `e_max = floor(log2(4T/3))` (INQ's rule).
//! * [`PotDomain::Log2`] (QKeras `quantized_po2`): `round(log2 u)`, so the boundary between `2^j`
//!   and `2^(j+1)` is `√2·2^j`; with a zero code, an exponent that rounds below the smallest one
//!   (`u < 1/√2`) goes to zero. From the threshold, `e_max = round(log2 T)`.
//!
//! Values beyond the largest level take the largest level; without a zero code, values below the
//! smallest take the smallest; an unsigned format sends negative values to its nearest level
//! (zero, or the smallest). An all-zero channel gets `e_min = 0`.
//!
//! ```
//! use qforge::num::codes::PotFormat;
//! use qforge::quant::pot::{ExponentRange, PotConfig, PotDomain};
//! let f = PotFormat::new(3, true, true).unwrap();
//! let lin = PotConfig::new(f, PotDomain::Linear, ExponentRange::Fixed { e_min: 0 }, 1.0).unwrap();
//! let log = PotConfig { domain: PotDomain::Log2, ..lin };
//! // 1.45 is nearer 1 than 2, but above √2 ≈ 1.414 in the log domain
//! assert_eq!(f.level(lin.project(1.45, 0).unwrap() as u64), 1);
//! assert_eq!(f.level(log.project(1.45, 0).unwrap() as u64), 2);
//! ```

use super::calibrate::ClipRange;
use super::error::{bad, QuantError};
use super::quantizer::{reconstruct_via_code, ChannelQuantizer};
use super::tensor::{ChannelParams, CodeKind};
use crate::num::codes::PotFormat;
use crate::num::dyadic::Dyadic;
use crate::num::weights::WeightCode;
use serde::{Deserialize, Serialize};

/// Where the nearest power of two is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PotDomain {
    /// Nearest level on the real line (boundary `1.5·2^j`).
    Linear,
    /// Nearest exponent (boundary `√2·2^j`), as QKeras `quantized_po2`.
    Log2,
}

/// How the exponent range is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum ExponentRange {
    /// `e_max` from the clipping threshold, `e_min = e_max − max_shift`.
    FromThreshold,
    /// A fixed smallest exponent.
    Fixed {
        /// The exponent of the smallest non-zero level.
        e_min: i32,
    },
}

/// A power-of-two quantizer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub struct PotConfig {
    /// The code format (exponent bits, sign, zero code).
    pub format: PotFormat,
    /// Linear or log2 projection.
    pub domain: PotDomain,
    /// Fixed or data-driven exponents.
    pub exponents: ExponentRange,
    /// A positive float scale multiplying every level (1 keeps weights powers of two).
    pub alpha: f64,
}

/// The fitted parameter of one channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PotParams {
    /// The exponent of level 1.
    pub e_min: i32,
}

/// Exponents stay well inside what `f64` scales can carry.
const EXPONENT_LIMIT: i32 = 1000;

impl PotConfig {
    /// Validates and builds a PoT quantizer.
    pub fn new(
        format: PotFormat,
        domain: PotDomain,
        exponents: ExponentRange,
        alpha: f64,
    ) -> Result<Self, QuantError> {
        let c = PotConfig {
            format,
            domain,
            exponents,
            alpha,
        };
        ChannelQuantizer::validate(&c)?;
        Ok(c)
    }

    fn alpha_exact(&self) -> Result<Dyadic, QuantError> {
        Dyadic::from_f64(self.alpha)
            .ok()
            .filter(|a| a.mantissa() > 0)
            .ok_or_else(|| bad("alpha", self.alpha, "must be positive and finite"))
    }

    fn check_e_min(e_min: i32) -> Result<(), QuantError> {
        if (-EXPONENT_LIMIT..=EXPONENT_LIMIT).contains(&e_min) {
            Ok(())
        } else {
            Err(bad("e_min", e_min, "must be between -1000 and 1000"))
        }
    }

    /// The scale `2^e_min · α` as the nearest `f64`.
    pub fn scale(&self, e_min: i32) -> f64 {
        Dyadic::new(1, e_min).to_f64() * self.alpha
    }

    /// The code of `x` for a channel whose smallest exponent is `e_min`.
    pub fn project(&self, x: f64, e_min: i32) -> Result<i64, QuantError> {
        let xd = Dyadic::from_f64(x).map_err(|_| QuantError::NonFinite { index: 0, value: x })?;
        self.project_exact(xd, e_min)
    }

    /// [`PotConfig::project`] for an exact input.
    pub fn project_exact(&self, x: Dyadic, e_min: i32) -> Result<i64, QuantError> {
        Self::check_e_min(e_min)?;
        let f = PotFormat::new(
            self.format.exp_bits,
            self.format.signed,
            self.format.zero_code,
        )?;
        let unit = self
            .alpha_exact()?
            .mul_pow2(e_min)
            .ok_or_else(|| bad("e_min", e_min, "is out of range"))?;
        let negative = x.mantissa() < 0;
        let a = x.abs();
        let smallest_or_zero = if f.zero_code { None } else { Some((false, 0)) };
        let choice = if negative && !f.signed {
            smallest_or_zero
        } else if f.zero_code && self.below_zero_boundary(a, unit)? {
            None
        } else {
            let mut j = 0;
            while j < f.max_shift() && self.at_or_above_boundary(a, unit, j)? {
                j += 1;
            }
            Some((negative, j))
        };
        let code = f
            .encode(choice)
            .ok_or_else(|| bad("value", x, "has no code in this format"))?;
        Ok(code as i64)
    }

    /// Whether `a` (≥ 0) is at or beyond the boundary between `2^j·unit` and `2^(j+1)·unit`.
    fn at_or_above_boundary(&self, a: Dyadic, unit: Dyadic, j: u32) -> Result<bool, QuantError> {
        let j = j as i32;
        match self.domain {
            PotDomain::Linear => Ok(a >= mul(Dyadic::new(3, j - 1), unit)?),
            PotDomain::Log2 => Ok(mul(a, a)? >= mul(Dyadic::new(1, 2 * j + 1), mul(unit, unit)?)?),
        }
    }

    /// Whether `a` (≥ 0) rounds to zero rather than to `unit`.
    fn below_zero_boundary(&self, a: Dyadic, unit: Dyadic) -> Result<bool, QuantError> {
        match self.domain {
            PotDomain::Linear => Ok(a < mul(Dyadic::new(1, -1), unit)?),
            PotDomain::Log2 => Ok(mul(a, a)? < mul(Dyadic::new(1, -1), mul(unit, unit)?)?),
        }
    }

    /// The exponent the threshold `t` projects to with unbounded exponents (see the module docs).
    pub fn e_max_for(&self, t: f64) -> Result<i32, QuantError> {
        let td = Dyadic::from_f64(t)
            .ok()
            .filter(|d| d.mantissa() >= 0)
            .ok_or_else(|| bad("threshold", t, "must be finite and not negative"))?;
        if td.mantissa() == 0 {
            return Ok(i32::try_from(self.max_shift()).unwrap_or(0));
        }
        let alpha = self.alpha_exact()?;
        // cond(k): t reaches the lower boundary of level 2^k.
        let cond = |k: i32| -> Result<bool, QuantError> {
            match self.domain {
                PotDomain::Linear => Ok(td >= mul(Dyadic::new(3, k - 2), alpha)?),
                PotDomain::Log2 => {
                    Ok(mul(td, td)? >= mul(Dyadic::new(1, 2 * k - 1), mul(alpha, alpha)?)?)
                }
            }
        };
        let estimate = (t / self.alpha).log2().floor();
        let mut k = if estimate.is_finite() {
            estimate.clamp(-2000.0, 2000.0) as i32 - 2
        } else {
            0
        };
        while !cond(k)? {
            k -= 1;
        }
        while cond(k + 1)? {
            k += 1;
        }
        Ok(k)
    }

    fn max_shift(&self) -> u32 {
        self.format.max_shift()
    }
}

fn mul(a: Dyadic, b: Dyadic) -> Result<Dyadic, QuantError> {
    a.checked_mul(b)
        .ok_or_else(|| bad("value", a.to_f64(), "is out of range for exact comparison"))
}

impl ChannelQuantizer for PotConfig {
    type Params = PotParams;

    fn validate(&self) -> Result<(), QuantError> {
        PotFormat::new(
            self.format.exp_bits,
            self.format.signed,
            self.format.zero_code,
        )?;
        self.alpha_exact()?;
        if let ExponentRange::Fixed { e_min } = self.exponents {
            Self::check_e_min(e_min)?;
        }
        Ok(())
    }

    fn symmetric(&self) -> bool {
        true
    }

    fn fit(&self, range: ClipRange) -> Result<PotParams, QuantError> {
        let e_min = match self.exponents {
            ExponentRange::Fixed { e_min } => e_min,
            ExponentRange::FromThreshold => {
                let t = range.threshold();
                if t == 0.0 {
                    0
                } else {
                    self.e_max_for(t)? - self.max_shift() as i32
                }
            }
        };
        Self::check_e_min(e_min)?;
        let scale = self.scale(e_min);
        if !(scale.is_finite() && scale > 0.0) {
            return Err(bad(
                "e_min",
                e_min,
                "gives a scale outside f64 with this alpha",
            ));
        }
        Ok(PotParams { e_min })
    }

    fn code(&self, x: f64, p: &PotParams) -> Result<i64, QuantError> {
        self.project(x, p.e_min)
    }

    fn channel_params(&self, p: &PotParams) -> ChannelParams {
        ChannelParams {
            scale: self.scale(p.e_min),
            zero_point: 0,
        }
    }

    fn code_kind(&self) -> CodeKind {
        CodeKind::Weight(WeightCode::Pot(self.format))
    }

    fn reconstruct(&self, x: f64, p: &PotParams) -> Result<f64, QuantError> {
        reconstruct_via_code(self, &CodeKind::Weight(WeightCode::Pot(self.format)), x, p)
    }
}
