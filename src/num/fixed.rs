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
use std::cmp::Ordering;
use std::fmt;

pub use crate::num::fixed_spec::SpecProblem;

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
    fn wrap_raw(&self, x: i128) -> i128 {
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

/// A value of a fixed-point format: the format and a raw code inside its range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fixed {
    format: FixedFormat,
    raw: i128,
}

impl Fixed {
    /// The value with raw code `raw`; an error if the code is outside the format's range.
    pub fn from_raw(format: FixedFormat, raw: i128) -> Result<Self, FixedError> {
        if raw < format.min_raw || raw > format.max_raw {
            return Err(FixedError::RawOutOfRange {
                raw,
                format: format.to_string(),
                min: format.min_raw,
                max: format.max_raw,
            });
        }
        Ok(Fixed { format, raw })
    }

    /// The format.
    pub fn format(&self) -> FixedFormat {
        self.format
    }

    /// The raw code: the value is `raw · 2^-frac_bits`.
    pub fn raw(&self) -> i128 {
        self.raw
    }

    /// The exact value.
    pub fn to_dyadic(&self) -> Dyadic {
        Dyadic::new(self.raw, -self.format.frac_bits())
    }

    /// The value as an `f64`: exact when representable (always, for widths up to 53 bits and
    /// exponents inside the `f64` range), otherwise the nearest, ties to even.
    pub fn to_f64(&self) -> f64 {
        self.to_dyadic().to_f64()
    }

    /// Casts this value into another format (`(T)x` between ap_fixed types).
    pub fn cast(&self, to: FixedFormat) -> Fixed {
        Fixed {
            format: to,
            raw: to.cast_raw(self.raw, -self.format.frac_bits()),
        }
    }

    /// Compares the exact values, whatever the formats.
    pub fn cmp_value(&self, other: &Fixed) -> Ordering {
        self.to_dyadic().cmp(&other.to_dyadic())
    }

    /// The exact sum, in ap_fixed's sum format: `max(I1, I2) + 1` integer bits (one more for
    /// an unsigned operand meeting a signed one) and `max(F1, F2)` fractional bits, signed if
    /// either operand is; truncation and wrap modes. An error if that needs more than 64 bits.
    pub fn add(&self, other: &Fixed) -> Result<Fixed, FixedError> {
        let signed = self.format.signed || other.format.signed;
        self.sum(other, "add", signed, other.raw)
    }

    /// The exact difference, in ap_fixed's difference format (as for [`Fixed::add`], but
    /// always signed).
    pub fn sub(&self, other: &Fixed) -> Result<Fixed, FixedError> {
        self.sum(other, "sub", true, -other.raw)
    }

    fn sum(
        &self,
        other: &Fixed,
        op: &'static str,
        signed: bool,
        other_raw: i128,
    ) -> Result<Fixed, FixedError> {
        let (a, b) = (&self.format, &other.format);
        let ia = i64::from(a.int_bits) + i64::from(b.signed && !a.signed);
        let ib = i64::from(b.int_bits) + i64::from(a.signed && !b.signed);
        let int_bits = ia.max(ib) + 1;
        let frac = i64::from(a.frac_bits().max(b.frac_bits()));
        let width = int_bits + frac;
        if width > 64 {
            return Err(FixedError::ResultTooWide { op, width });
        }
        let format = result_format(width, int_bits, signed)?;
        // Both operands fit in `width` bits once aligned, so the shifts cannot overflow.
        let fa = (frac - i64::from(a.frac_bits())) as u32;
        let fb = (frac - i64::from(b.frac_bits())) as u32;
        let raw = (self.raw << fa) + (other_raw << fb);
        Fixed::from_raw(format, raw)
    }

    /// The exact product, in ap_fixed's product format: `W1 + W2` bits, `I1 + I2` integer bits,
    /// signed if either operand is; truncation and wrap modes. An error if that needs more than
    /// 64 bits.
    pub fn mul(&self, other: &Fixed) -> Result<Fixed, FixedError> {
        let (a, b) = (&self.format, &other.format);
        let width = i64::from(a.width) + i64::from(b.width);
        if width > 64 {
            return Err(FixedError::ResultTooWide { op: "mul", width });
        }
        let int_bits = i64::from(a.int_bits) + i64::from(b.int_bits);
        let format = result_format(width, int_bits, a.signed || b.signed)?;
        Fixed::from_raw(format, self.raw * other.raw)
    }

    /// ap_fixed's `x << n`: the raw bits move left within the same format; bits shifted out
    /// of the top are lost (wrap), whatever the overflow mode.
    pub fn shl(&self, n: u32) -> Fixed {
        let raw = if n >= 128 {
            0
        } else {
            self.format.wrap_raw(self.raw.wrapping_shl(n))
        };
        Fixed {
            format: self.format,
            raw,
        }
    }

    /// ap_fixed's `x >> n`: the raw bits move right within the same format (arithmetic shift
    /// for signed formats, so the result rounds toward −∞).
    pub fn shr(&self, n: u32) -> Fixed {
        Fixed {
            format: self.format,
            raw: self.raw >> n.min(127),
        }
    }

    /// The exact value times `2^n`: the same raw code in a format with `n` more integer bits.
    pub fn scale_pow2(&self, n: i32) -> Result<Fixed, FixedError> {
        let int_bits = self.format.int_bits.checked_add(n).unwrap_or(i32::MAX);
        let format = FixedFormat::new(
            self.format.width,
            int_bits,
            self.format.signed,
            self.format.rounding,
            self.format.overflow,
        )?;
        Ok(Fixed {
            format,
            raw: self.raw,
        })
    }
}

fn result_format(width: i64, int_bits: i64, signed: bool) -> Result<FixedFormat, FixedError> {
    let int_bits = i32::try_from(int_bits).unwrap_or(i32::MAX);
    FixedFormat::new(
        width as u32,
        int_bits,
        signed,
        RoundingMode::Floor,
        OverflowMode::WRAP,
    )
}

impl fmt::Display for Fixed {
    /// The exact decimal value, shortest form (`-2.5`, `0.001953125`, `-3`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_dyadic(), f)
    }
}
