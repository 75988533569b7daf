//! Fixed-point formats with run-time widths, cast exactly as Xilinx `ap_fixed` casts.
//!
//! A [`FixedFormat`] is a width (1..=64 bits), a number of integer bits (any value, even below
//! zero or above the width, as ap_fixed allows), a signedness, a [`RoundingMode`] and an
//! [`OverflowMode`]. A raw code `r` stands for `r · 2^(int_bits − width)`.
//!
//! A cast takes an exact dyadic value (a [`Dyadic`], an `f64`, or another [`Fixed`]) and first
//! rounds it to a multiple of the format's step (quantization), then resolves overflow — the order
//! and the bit-level results of ap_fixed, including AP_WRAP's saturated bits, AP_WRAP_SM,
//! AP_SAT_SYM and AP_SAT_ZERO, and a rounding carry that crosses the wrap boundary (the rounded
//! value is what wraps). Arithmetic on [`Fixed`] values is exact and grows the result format as
//! ap_fixed's operators do.
//!
//! ```
//! use qforge::num::fixed::{Fixed, FixedFormat};
//! let fmt: FixedFormat = "ap_fixed<8,8,AP_RND_INF,AP_SAT>".parse().unwrap();
//! assert_eq!(fmt.cast_f64(-2.5).unwrap().to_string(), "-3");
//! let fmt: FixedFormat = "ap_fixed<8,8,AP_RND,AP_SAT>".parse().unwrap();
//! assert_eq!(fmt.cast_f64(-2.5).unwrap().to_string(), "-2");
//!
//! let q: FixedFormat = "ap_fixed<8,3,AP_RND_CONV,AP_SAT>".parse().unwrap();
//! let x = q.cast_f64(1.3).unwrap();       // 1.3 → 1.3125 (42 · 2^-5)
//! assert_eq!(x.raw(), 42);
//! let y = x.mul(&x).unwrap();             // exact: ap_fixed<16,6>
//! assert_eq!(y.format().to_string(), "ap_fixed<16,6>");
//! assert_eq!(y.to_string(), "1.72265625");
//! ```

use crate::num::dyadic::{f64_parts, Dyadic};
use crate::num::overflow::OverflowMode;
use crate::num::rounding::{shr_round, RoundingMode};

pub use crate::num::fixed_spec::SpecProblem;
pub use crate::num::fixed_value::Fixed;

/// The largest magnitude accepted for `int_bits`; far beyond any useful format, it keeps every
/// exponent computation comfortably inside `i64`.
pub const MAX_INT_BITS: i32 = 16384;

/// A fixed-point format parameter, value or operation outside what the format allows.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FixedError {
    /// A format parameter breaks its rule.
    #[error("{name} ({value}) {rule}")]
    BadParameter {
        /// The parameter's name.
        name: &'static str,
        /// Its value.
        value: i64,
        /// The rule it breaks, e.g. "must be between 1 and 64".
        rule: String,
    },
    /// AP_WRAP_SM was asked of an unsigned format (ap_fixed rejects it too).
    #[error("overflow mode AP_WRAP_SM needs a signed format")]
    UnsignedSignMagnitude,
    /// A NaN or an infinity was cast.
    #[error("cannot cast {0}: not a finite number")]
    NotFinite(f64),
    /// An arithmetic result would need a format wider than 64 bits.
    #[error("{op} result needs width {width}, more than the 64 bits a format may have")]
    ResultTooWide {
        /// The operation (`add`, `sub`, `mul`).
        op: &'static str,
        /// The width ap_fixed's rule gives the result.
        width: i64,
    },
    /// A raw code outside the range of its format.
    #[error("raw code {raw} is outside {format} (codes {min} to {max})")]
    RawOutOfRange {
        /// The code.
        raw: i128,
        /// The format, in ap_fixed spelling.
        format: String,
        /// The smallest code.
        min: i128,
        /// The largest code.
        max: i128,
    },
    /// A format spelling that does not parse.
    #[error("bad format '{spec}': {problem}")]
    BadSpec {
        /// The text as given.
        spec: String,
        /// What is wrong with it.
        problem: SpecProblem,
    },
}

/// A fixed-point format: width, integer bits, signedness, rounding and overflow modes.
///
/// Built through [`FixedFormat::new`] (or parsed from its ap_fixed spelling), which checks every
/// parameter, so a value of this type is always valid; its code bounds are precomputed so casts
/// do no set-up work. In RON/JSON files a format is its ap_fixed spelling (a string).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FixedFormat {
    width: u32,
    int_bits: i32,
    signed: bool,
    rounding: RoundingMode,
    overflow: OverflowMode,
    min_raw: i128,
    max_raw: i128,
    /// The smallest code a saturating cast produces (−max for AP_SAT_SYM).
    floor_raw: i128,
}

impl FixedFormat {
    /// Checks the parameters and builds the format.
    ///
    /// Rules: `width` between 1 and 64; `|int_bits| <= 16384`; AP_WRAP/AP_WRAP_SM's saturated
    /// bits at most `width`; AP_WRAP_SM only for signed formats.
    pub fn new(
        width: u32,
        int_bits: i32,
        signed: bool,
        rounding: RoundingMode,
        overflow: OverflowMode,
    ) -> Result<Self, FixedError> {
        if !(1..=64).contains(&width) {
            return Err(FixedError::BadParameter {
                name: "width",
                value: i64::from(width),
                rule: "must be between 1 and 64".into(),
            });
        }
        if !(-MAX_INT_BITS..=MAX_INT_BITS).contains(&int_bits) {
            return Err(FixedError::BadParameter {
                name: "int_bits",
                value: i64::from(int_bits),
                rule: format!("must be between -{MAX_INT_BITS} and {MAX_INT_BITS}"),
            });
        }
        let n = overflow.saturated_bits();
        if n > width {
            return Err(FixedError::BadParameter {
                name: "saturated bits",
                value: i64::from(n),
                rule: format!("must be at most the width ({width})"),
            });
        }
        if !signed && matches!(overflow, OverflowMode::WrapSignMagnitude { .. }) {
            return Err(FixedError::UnsignedSignMagnitude);
        }
        let (min_raw, max_raw) = if signed {
            (-(1i128 << (width - 1)), (1i128 << (width - 1)) - 1)
        } else {
            (0, (1i128 << width) - 1)
        };
        let floor_raw = if overflow == OverflowMode::SaturateSymmetric && signed && width > 1 {
            -max_raw
        } else {
            min_raw
        };
        Ok(FixedFormat {
            width,
            int_bits,
            signed,
            rounding,
            overflow,
            min_raw,
            max_raw,
            floor_raw,
        })
    }

    /// An integer format (`ap_int<W>` / `ap_uint<W>`): `int_bits = width`, truncation, wrap.
    pub fn int(width: u32, signed: bool) -> Result<Self, FixedError> {
        FixedFormat::new(
            width,
            width as i32,
            signed,
            RoundingMode::Floor,
            OverflowMode::WRAP,
        )
    }

    /// The same format with other rounding and overflow modes.
    pub fn with_modes(
        &self,
        rounding: RoundingMode,
        overflow: OverflowMode,
    ) -> Result<Self, FixedError> {
        FixedFormat::new(self.width, self.int_bits, self.signed, rounding, overflow)
    }

    /// Total number of bits.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Number of integer bits (including the sign bit for signed formats).
    pub fn int_bits(&self) -> i32 {
        self.int_bits
    }

    /// Number of fractional bits, `width − int_bits` (may be negative).
    pub fn frac_bits(&self) -> i32 {
        self.width as i32 - self.int_bits
    }

    /// Whether codes are two's complement.
    pub fn is_signed(&self) -> bool {
        self.signed
    }

    /// The quantization (rounding) mode.
    pub fn rounding(&self) -> RoundingMode {
        self.rounding
    }

    /// The overflow mode.
    pub fn overflow(&self) -> OverflowMode {
        self.overflow
    }

    /// The smallest raw code.
    pub fn min_raw(&self) -> i128 {
        self.min_raw
    }

    /// The largest raw code.
    pub fn max_raw(&self) -> i128 {
        self.max_raw
    }

    /// The value of one step (the last bit), `2^-frac_bits`.
    pub fn step(&self) -> Dyadic {
        Dyadic::new(1, -self.frac_bits())
    }

    /// The raw code ap_fixed produces for the exact value `mantissa · 2^exp`.
    #[inline]
    pub fn cast_raw(&self, mantissa: i128, exp: i32) -> i128 {
        let (floor, rounded) = self.quantize(mantissa, i64::from(exp));
        self.resolve_overflow(floor, rounded)
    }

    /// The raw code ap_fixed produces for `(T)x`; NaN and infinities are errors.
    #[inline]
    pub fn cast_f64_raw(&self, x: f64) -> Result<i128, FixedError> {
        let (m, e) = f64_parts(x).ok_or(FixedError::NotFinite(x))?;
        Ok(self.cast_raw(i128::from(m), e))
    }

    /// Casts an exact dyadic value into this format.
    pub fn cast(&self, value: Dyadic) -> Fixed {
        Fixed {
            format: *self,
            raw: self.cast_raw(value.mantissa(), value.exp()),
        }
    }

    /// Casts an `f64` (exactly: an `f64` is a dyadic value) into this format.
    pub fn cast_f64(&self, x: f64) -> Result<Fixed, FixedError> {
        Ok(Fixed {
            format: *self,
            raw: self.cast_f64_raw(x)?,
        })
    }

    /// Rounds `m · 2^e` to a multiple of the step: returns the floor and the rounded value, both
    /// in units of the step. Values too large for `i128` are replaced by a stand-in with the same
    /// sign, the same low `width + 1` bits and the same out-of-range verdict — all that overflow
    /// resolution looks at.
    #[inline]
    fn quantize(&self, m: i128, e: i64) -> (i128, i128) {
        if m == 0 {
            return (0, 0);
        }
        let k = e + i64::from(self.frac_bits());
        if k >= 0 {
            if k < 127 {
                let shifted = m << k;
                if shifted >> k == m {
                    return (shifted, shifted);
                }
            }
            let low_mask = (1i128 << (self.width + 1)) - 1;
            let low = if k >= 128 {
                0
            } else {
                m.wrapping_shl(k as u32) & low_mask
            };
            // 2^66 and 2^67 are multiples of 2^(width + 1) and beyond every format's range.
            let stand_in = if m > 0 {
                low + (1i128 << 66)
            } else {
                low - (1i128 << 67)
            };
            (stand_in, stand_in)
        } else {
            let shift = (-k).min(255) as u32;
            let floor = if shift >= 127 {
                if m < 0 {
                    -1
                } else {
                    0
                }
            } else {
                m >> shift
            };
            (floor, shr_round(m, shift, self.rounding))
        }
    }

    /// Applies the overflow mode to the rounded value `q` (`floor` is the unrounded floor, whose
    /// bit `width` AP_WRAP_SM consults, as ap_fixed does).
    #[inline]
    fn resolve_overflow(&self, floor: i128, q: i128) -> i128 {
        if q >= self.floor_raw && q <= self.max_raw {
            return q;
        }
        let w = self.width;
        let mask = u128::MAX >> (128 - w);
        let mut v = (q as u128) & mask;
        let negative = q < 0;
        match self.overflow {
            OverflowMode::Saturate | OverflowMode::SaturateSymmetric => {
                return if q > self.max_raw {
                    self.max_raw
                } else {
                    self.floor_raw
                };
            }
            OverflowMode::SaturateZero => return 0,
            OverflowMode::Wrap { saturated_bits: n } => {
                if n > 0 {
                    if self.signed {
                        v = set_bit(v, w - 1, negative);
                        if n > 1 {
                            v = set_range(v, w - n, w - 2, !negative);
                        }
                    } else {
                        v = set_range(v, w - n, w - 1, true);
                    }
                }
            }
            OverflowMode::WrapSignMagnitude { saturated_bits: n } => {
                let top = bit(v, w - 1);
                if n == 0 {
                    // The bit just above the format, taken from the value before rounding.
                    let above = (floor >> w) & 1 != 0;
                    if above != top {
                        v = set_bit(!v & mask, w - 1, above);
                    }
                } else {
                    if n == 1 && negative != top {
                        v = !v & mask;
                    } else if n > 1 {
                        if bit(v, w - n) == negative {
                            v = !v & mask;
                        }
                        v = set_range(v, w - n, w - 2, !negative);
                    }
                    v = set_bit(v, w - 1, negative);
                }
            }
        }
        self.code_from_bits(v)
    }

    /// Interprets the low `width` bits of `v` as a code of this format.
    #[inline]
    fn code_from_bits(&self, v: u128) -> i128 {
        let v = v as i128;
        if self.signed && (v >> (self.width - 1)) & 1 != 0 {
            v - (1i128 << self.width)
        } else {
            v
        }
    }

    /// Wraps any integer into a code of this format (two's complement truncation).
    pub(crate) fn wrap_raw(&self, x: i128) -> i128 {
        self.code_from_bits((x as u128) & (u128::MAX >> (128 - self.width)))
    }
}

impl TryFrom<String> for FixedFormat {
    type Error = FixedError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<FixedFormat> for String {
    fn from(f: FixedFormat) -> String {
        f.to_string()
    }
}

#[inline]
fn bit(v: u128, i: u32) -> bool {
    (v >> i) & 1 != 0
}

#[inline]
fn set_bit(v: u128, i: u32, on: bool) -> u128 {
    if on {
        v | (1 << i)
    } else {
        v & !(1 << i)
    }
}

/// Sets bits `lo..=hi` to `on`.
#[inline]
fn set_range(v: u128, lo: u32, hi: u32, on: bool) -> u128 {
    let m = (u128::MAX >> (127 - (hi - lo))) << lo;
    if on {
        v | m
    } else {
        v & !m
    }
}
