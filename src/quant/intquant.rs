//! The QONNX `IntQuant` (`Quant`) operator, computed exactly.
//!
//! qonnx 1.0.0 (`qonnx.custom_op.general.intquant`) computes
//! `q = round(clamp(x / scale + zeropt, min_int, max_int))` and `y = (q − zeropt) × scale`, where
//! `min_int`/`max_int` are those of [`IntRange`] and `round` is one of seven modes
//! ([`RoundingMode::from_qonnx`]: ROUND = half to even, CEIL, FLOOR, UP, DOWN, HALF_UP, HALF_DOWN).
//! qonnx clamps before it rounds; because the bounds are integers and every rounding mode is
//! monotone and leaves integers alone, clamping after rounding gives the same `q`, which is what
//! is done here.
//!
//! `x / scale` is a rational number when the scale is not a power of two (0.1875 = 3/16), so it is
//! never formed in floating point: `x` and `scale` are taken as the exact dyadic rationals their
//! `f64` values are, and the quotient, plus the zero point, is rounded with exact integer
//! arithmetic. `y` is exact too. This agrees with qonnx's floating-point evaluation on all 3500
//! reference cases; it can differ where the float evaluation of `x / scale + zeropt` rounds
//! onto or across an integer or a tie, e.g. CEIL of `2^-60 + 1` is 2 here and 1 in float.
//!
//! ```
//! use qforge::num::rounding::RoundingMode;
//! use qforge::quant::intquant::IntQuant;
//! // 5-bit signed narrow, FLOOR, scale 3/16, zero point -3: 1.96875 / 0.1875 - 3 = 7.5 → 7
//! let q = IntQuant::new(5, true, true, RoundingMode::Floor, 0.1875, -3).unwrap();
//! let r = q.quantize(1.96875).unwrap();
//! assert_eq!(r.code, 7);
//! assert_eq!(r.value.to_string(), "1.875");
//! ```

use super::error::{bad, QuantError};
use crate::num::dyadic::Dyadic;
use crate::num::rounding::{div_round, RoundingMode};
use serde::{Deserialize, Serialize};

/// The integer range of a `bits`-bit code, as QONNX and Brevitas define it:
/// signed `[−2^(b−1), 2^(b−1) − 1]` (narrow: `[−2^(b−1) + 1, 2^(b−1) − 1]`), unsigned
/// `[0, 2^b − 1]` (narrow: `[0, 2^b − 2]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IntRange {
    /// The smallest code.
    pub min: i64,
    /// The largest code.
    pub max: i64,
}

impl IntRange {
    /// The range for `bits` in 1..=32.
    pub fn new(bits: u32, signed: bool, narrow: bool) -> Result<Self, QuantError> {
        check_bits("bits", bits)?;
        let narrow = i64::from(narrow);
        Ok(if signed {
            let half = 1i64 << (bits - 1);
            IntRange {
                min: -half + narrow,
                max: half - 1,
            }
        } else {
            IntRange {
                min: 0,
                max: (1i64 << bits) - 1 - narrow,
            }
        })
    }

    /// `v` clamped into the range.
    pub fn clamp(&self, v: i128) -> i64 {
        v.clamp(i128::from(self.min), i128::from(self.max)) as i64
    }

    /// Whether `v` lies in the range.
    pub fn contains(&self, v: i64) -> bool {
        (self.min..=self.max).contains(&v)
    }
}

pub(crate) fn check_bits(name: &'static str, bits: u32) -> Result<(), QuantError> {
    if (1..=32).contains(&bits) {
        Ok(())
    } else {
        Err(bad(name, bits, "must be between 1 and 32"))
    }
}

/// A QONNX `IntQuant` node's attributes and inputs (all per tensor).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub struct IntQuant {
    /// Code width, 1..=32.
    pub bitwidth: u32,
    /// Signed or unsigned range.
    pub signed: bool,
    /// Narrow range (drop the most negative code, or the largest unsigned one).
    pub narrow: bool,
    /// The rounding mode.
    pub rounding_mode: RoundingMode,
    /// Positive, finite.
    pub scale: f64,
    /// The zero point. QONNX allows a float; Brevitas exports integers, and qforge requires one.
    pub zeropt: i64,
}

/// The result of quantizing one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntQuantResult {
    /// The integer `q` (including the zero point).
    pub code: i64,
    /// `(q − zeropt) × scale`, exactly.
    pub value: Dyadic,
}

impl IntQuant {
    /// Validates and builds an `IntQuant`.
    pub fn new(
        bitwidth: u32,
        signed: bool,
        narrow: bool,
        rounding_mode: RoundingMode,
        scale: f64,
        zeropt: i64,
    ) -> Result<Self, QuantError> {
        let q = IntQuant {
            bitwidth,
            signed,
            narrow,
            rounding_mode,
            scale,
            zeropt,
        };
        q.validate()?;
        Ok(q)
    }

    /// Checks the parameters (a deserialized value has not been checked yet).
    pub fn validate(&self) -> Result<(), QuantError> {
        check_bits("bitwidth", self.bitwidth)?;
        check_scale(self.scale)
    }

    /// The code range.
    pub fn range(&self) -> Result<IntRange, QuantError> {
        check_bits("bitwidth", self.bitwidth)?;
        IntRange::new(self.bitwidth, self.signed, self.narrow)
    }

    /// Quantizes `x`: the code `q` and the exact dequantized value.
    pub fn quantize(&self, x: f64) -> Result<IntQuantResult, QuantError> {
        self.validate()?;
        let range = self.range()?;
        let code = round_clamp(x, self.scale, self.zeropt, self.rounding_mode, range)?;
        Ok(IntQuantResult {
            code,
            value: dequantize_exact(code, self.zeropt, self.scale)?,
        })
    }
}

impl IntQuantResult {
    /// The dequantized value as the nearest `f64` (exact up to 53 significant bits).
    pub fn value_f64(&self) -> f64 {
        self.value.to_f64()
    }
}

pub(crate) fn check_scale(scale: f64) -> Result<(), QuantError> {
    if scale.is_finite() && scale > 0.0 {
        Ok(())
    } else {
        Err(bad("scale", scale, "must be positive and finite"))
    }
}

/// `(q − zero_point) × scale`, exactly.
pub(crate) fn dequantize_exact(q: i64, zero_point: i64, scale: f64) -> Result<Dyadic, QuantError> {
    let s = Dyadic::from_f64(scale).map_err(|_| bad("scale", scale, "must be finite"))?;
    Dyadic::from_int(i128::from(q) - i128::from(zero_point))
        .checked_mul(s)
        .ok_or_else(|| bad("scale", scale, "gives a value out of range"))
}

/// `clamp(round(x / scale + zero_point))`, exactly, for finite `x` and positive finite `scale`.
pub(crate) fn round_clamp(
    x: f64,
    scale: f64,
    zero_point: i64,
    mode: RoundingMode,
    range: IntRange,
) -> Result<i64, QuantError> {
    let xd = Dyadic::from_f64(x).map_err(|_| QuantError::NonFinite { index: 0, value: x })?;
    check_scale(scale)?;
    let sd = Dyadic::from_f64(scale).map_err(|_| bad("scale", scale, "must be finite"))?;
    Ok(round_clamp_exact(xd, sd, zero_point, mode, range))
}

/// `clamp(round(x / s + zero_point))` for exact `x` and a positive `s`.
pub(crate) fn round_clamp_exact(
    x: Dyadic,
    s: Dyadic,
    zero_point: i64,
    mode: RoundingMode,
    range: IntRange,
) -> i64 {
    let (floor, class) = floor_and_fraction(x, s);
    let integer = floor.saturating_add(i128::from(zero_point));
    // The rounded value depends only on the integer part, the sign, and how the fraction compares
    // with one half; `integer + class/4` has the same three, so rounding it gives the same result.
    let rounded = div_round(integer.saturating_mul(4).saturating_add(class), 4, mode);
    range.clamp(rounded)
}

/// [`round_clamp_exact`] of the quotient `x · divisor / numerator` (plus `zero_point`), decided
/// from its `f64` estimate when that lies far from every rounding boundary: the estimate is
/// within a few ulps of the exact quotient, so outside a margin of `10^-12` relative around
/// integers and halves it has the exact quotient's floor and fraction class, and the same
/// rounding formula gives the same code. `None` (use the exact path) near a boundary, for
/// quotients beyond `2^40`, and for anything not finite.
pub(crate) fn round_clamp_estimate(
    x: f64,
    divisor: u64,
    numerator: f64,
    zero_point: i64,
    mode: RoundingMode,
    range: IntRange,
) -> Option<i64> {
    QuotientEstimate::new(divisor, numerator, zero_point, mode, range)?.code(x)
}

/// [`round_clamp_estimate`] with the factor `divisor / numerator` computed once, for many values
/// of one channel. The factor and the product each add one rounding (relative `2^-53`), far
/// inside the margin.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QuotientEstimate {
    factor: f64,
    zero_point: i64,
    mode: RoundingMode,
    range: IntRange,
}

impl QuotientEstimate {
    /// `None` when the factor cannot be estimated (non-finite or non-positive numerator,
    /// divisor beyond `2^53`).
    pub(crate) fn new(
        divisor: u64,
        numerator: f64,
        zero_point: i64,
        mode: RoundingMode,
        range: IntRange,
    ) -> Option<Self> {
        if !(numerator.is_finite() && numerator > 0.0) || divisor > 1 << 53 {
            return None;
        }
        let factor = divisor as f64 / numerator;
        factor.is_finite().then_some(QuotientEstimate {
            factor,
            zero_point,
            mode,
            range,
        })
    }

    /// The code of `x`, or `None` when the exact path must decide.
    #[inline]
    pub(crate) fn code(&self, x: f64) -> Option<i64> {
        let q = x * self.factor;
        // also rejects NaN and infinities
        if !q.is_finite() || q.abs() >= (1u64 << 40) as f64 {
            return None;
        }
        let t = q as i64; // toward zero, exact for |q| < 2^40
        let floor = t - i64::from((t as f64) > q);
        let frac = q - floor as f64;
        let margin = q.abs().max(1.0) * 1e-12;
        if frac < margin || frac > 1.0 - margin || (frac - 0.5).abs() < margin {
            return None;
        }
        // integer + a fraction strictly between 0 and 1, and not one half
        let integer = i128::from(floor) + i128::from(self.zero_point);
        let up = match self.mode {
            RoundingMode::Floor => false,
            RoundingMode::Ceil => true,
            RoundingMode::TowardZero => integer < 0,
            RoundingMode::AwayFromZero => integer >= 0,
            // the round-to-nearest modes differ only at ties
            RoundingMode::HalfToPosInf
            | RoundingMode::HalfToNegInf
            | RoundingMode::HalfTowardZero
            | RoundingMode::HalfAwayFromZero
            | RoundingMode::HalfEven
            | RoundingMode::HalfOdd => frac > 0.5,
        };
        Some(self.range.clamp(integer + i128::from(up)))
    }
}

/// The fraction of a quotient, coded as 0 (none), 1 (below half), 2 (half), 3 (above half).
fn fraction_class(remainder: u128, divisor: u128) -> i128 {
    if remainder == 0 {
        return 0;
    }
    match (remainder * 2).cmp(&divisor) {
        std::cmp::Ordering::Less => 1,
        std::cmp::Ordering::Equal => 2,
        std::cmp::Ordering::Greater => 3,
    }
}

/// `floor(x / s)` and the class of its fraction. Quotients beyond ±2^66 (which no 32-bit range
/// plus an `i64` zero point can reach) are reported as ±2^100.
fn floor_and_fraction(x: Dyadic, s: Dyadic) -> (i128, i128) {
    const LIMIT: i64 = 120;
    const HUGE: i128 = 1 << 100;
    if x.mantissa() == 0 {
        return (0, 0);
    }
    let xm = x.mantissa();
    let sm = s.mantissa(); // positive and odd
    let x_len = i64::from(128 - xm.unsigned_abs().leading_zeros());
    let s_len = i64::from(128 - sm.unsigned_abs().leading_zeros());
    let k = i64::from(x.exp()) - i64::from(s.exp());
    let (n, d) = if k >= 0 {
        if x_len + k > LIMIT {
            return (if xm > 0 { HUGE } else { -HUGE }, 0);
        }
        (xm << k, sm)
    } else {
        if s_len - k > LIMIT {
            // |x / s| < 2^(x_len - s_len + k + 1) < 2^-30 (x has at most 85 bits here): a tiny
            // fraction of either sign.
            return if xm > 0 { (0, 1) } else { (-1, 3) };
        }
        (xm, sm << -k)
    };
    let q = n.div_euclid(d);
    let r = n.rem_euclid(d);
    (q, fraction_class(r as u128, d as u128))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The f64 estimate, where it decides, gives the exact path's code: random quotients,
    /// exact ties, and values a few ulps either side of ties and integers, in every mode.
    #[test]
    fn estimate_equals_the_exact_rounding() {
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let range = IntRange::new(8, true, false).unwrap();
        let (mut decided, mut total) = (0, 0);
        for _ in 0..200_000 {
            let divisor = 1 + next() % 255;
            let numerator = (next() % 1_000_000 + 1) as f64 / 997.0;
            let zero_point = (next() % 21) as i64 - 10;
            let mode = RoundingMode::ALL[(next() % 10) as usize];
            let k = (next() % 400) as f64 - 200.0;
            let base = match next() % 3 {
                0 => k + 0.5,
                1 => k,
                _ => k + (next() % 1000) as f64 / 1000.0,
            };
            let mut x = base * numerator / divisor as f64;
            for _ in 0..next() % 4 {
                x = if next() % 2 == 0 {
                    x.next_up()
                } else {
                    x.next_down()
                };
            }
            let exact = {
                let scaled = Dyadic::from_f64(x)
                    .unwrap()
                    .checked_mul(Dyadic::from_int(i128::from(divisor)))
                    .unwrap();
                round_clamp_exact(
                    scaled,
                    Dyadic::from_f64(numerator).unwrap(),
                    zero_point,
                    mode,
                    range,
                )
            };
            total += 1;
            if let Some(est) = round_clamp_estimate(x, divisor, numerator, zero_point, mode, range)
            {
                decided += 1;
                assert_eq!(
                    est, exact,
                    "x {x:e} divisor {divisor} numerator {numerator:e} {mode:?}"
                );
            }
        }
        // most random quotients are decided by the estimate; ties and near-ties never are
        assert!(decided > total / 4, "{decided} of {total}");
    }

    #[test]
    fn ranges_follow_qonnx() {
        assert_eq!(
            IntRange::new(4, true, false).unwrap(),
            IntRange { min: -8, max: 7 }
        );
        assert_eq!(
            IntRange::new(4, true, true).unwrap(),
            IntRange { min: -7, max: 7 }
        );
        assert_eq!(
            IntRange::new(8, false, true).unwrap(),
            IntRange { min: 0, max: 254 }
        );
        assert_eq!(
            IntRange::new(32, false, false).unwrap(),
            IntRange {
                min: 0,
                max: 4294967295
            }
        );
        assert_eq!(
            IntRange::new(0, true, false).unwrap_err().to_string(),
            "bits (0) must be between 1 and 32"
        );
    }

    #[test]
    fn ties_of_non_power_of_two_scales_are_exact() {
        // 0.28125 / 0.1875 = 1.5 exactly; half-even gives 2, half-toward-zero 1.
        let r = |mode| round_clamp(0.28125, 0.1875, 0, mode, IntRange { min: -8, max: 7 });
        assert_eq!(r(RoundingMode::HalfEven).unwrap(), 2);
        assert_eq!(r(RoundingMode::HalfTowardZero).unwrap(), 1);
        assert_eq!(r(RoundingMode::Ceil).unwrap(), 2);
        // -0.28125 / 0.1875 + 1 = -0.5: half away from zero → -1, half to even → 0
        let n = |mode| round_clamp(-0.28125, 0.1875, 1, mode, IntRange { min: -8, max: 7 });
        assert_eq!(n(RoundingMode::HalfAwayFromZero).unwrap(), -1);
        assert_eq!(n(RoundingMode::HalfEven).unwrap(), 0);
    }

    #[test]
    fn the_zero_point_is_added_exactly() {
        // x / s = 2^-60 and zeropt 1: the exact sum 1 + 2^-60 has ceiling 2; in f64 the sum
        // rounds to 1.0, whose ceiling is 1. (A float reference, qonnx included, gives 1 here.)
        let x = f64::powi(2.0, -60);
        assert_eq!(x + 1.0, 1.0);
        let range = IntRange { min: -8, max: 7 };
        assert_eq!(
            round_clamp(x, 1.0, 1, RoundingMode::Ceil, range).unwrap(),
            2
        );
        assert_eq!(
            round_clamp(-x, 1.0, 1, RoundingMode::Floor, range).unwrap(),
            0
        );
        assert_eq!(
            round_clamp(x, 1.0, 1, RoundingMode::HalfEven, range).unwrap(),
            1
        );
    }

    #[test]
    fn extreme_quotients_saturate_or_vanish() {
        let range = IntRange::new(8, true, false).unwrap();
        assert_eq!(
            round_clamp(1e300, 1e-300, 0, RoundingMode::Floor, range).unwrap(),
            127
        );
        assert_eq!(
            round_clamp(-1e300, 1e-300, 0, RoundingMode::Floor, range).unwrap(),
            -128
        );
        assert_eq!(
            round_clamp(1e-300, 1e300, 0, RoundingMode::Ceil, range).unwrap(),
            1
        );
        assert_eq!(
            round_clamp(-1e-300, 1e300, 0, RoundingMode::Floor, range).unwrap(),
            -1
        );
        assert_eq!(
            round_clamp(-1e-300, 1e300, 0, RoundingMode::HalfEven, range).unwrap(),
            0
        );
        assert_eq!(
            round_clamp(-1e-300, 1e300, 3, RoundingMode::TowardZero, range).unwrap(),
            2
        );
    }
}
