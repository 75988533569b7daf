//! [`Fixed`]: a value of a [`FixedFormat`], with exact arithmetic whose result formats grow as
//! ap_fixed's operators' do.
//!
//! ```
//! use qforge::num::fixed::FixedFormat;
//! let a = "ap_fixed<6,3>".parse::<FixedFormat>().unwrap().cast_f64(-2.5).unwrap();
//! let b = "ap_ufixed<4,3>".parse::<FixedFormat>().unwrap().cast_f64(1.5).unwrap();
//! // The unsigned operand counts one more integer bit (3 + 1), the sum one more again.
//! let s = a.add(&b).unwrap();
//! assert_eq!(s.format().to_string(), "ap_fixed<8,5>");
//! assert_eq!(s.to_string(), "-1");
//! ```

use crate::num::dyadic::Dyadic;
use crate::num::fixed::{FixedError, FixedFormat};
use crate::num::overflow::OverflowMode;
use crate::num::rounding::RoundingMode;
use std::cmp::Ordering;
use std::fmt;

/// A value of a fixed-point format: the format and a raw code inside its range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fixed {
    // Visible to `fixed.rs`, whose casts always produce a code inside the format.
    pub(crate) format: FixedFormat,
    pub(crate) raw: i128,
}

impl Fixed {
    /// The value with raw code `raw`; an error if the code is outside the format's range.
    pub fn from_raw(format: FixedFormat, raw: i128) -> Result<Self, FixedError> {
        if raw < format.min_raw() || raw > format.max_raw() {
            return Err(FixedError::RawOutOfRange {
                raw,
                format: format.to_string(),
                min: format.min_raw(),
                max: format.max_raw(),
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
        let signed = self.format.is_signed() || other.format.is_signed();
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
        let ia = i64::from(a.int_bits()) + i64::from(b.is_signed() && !a.is_signed());
        let ib = i64::from(b.int_bits()) + i64::from(a.is_signed() && !b.is_signed());
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
        let width = i64::from(a.width()) + i64::from(b.width());
        if width > 64 {
            return Err(FixedError::ResultTooWide { op: "mul", width });
        }
        let int_bits = i64::from(a.int_bits()) + i64::from(b.int_bits());
        let format = result_format(width, int_bits, a.is_signed() || b.is_signed())?;
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
        let int_bits = self.format.int_bits().checked_add(n).unwrap_or(i32::MAX);
        let format = FixedFormat::new(
            self.format.width(),
            int_bits,
            self.format.is_signed(),
            self.format.rounding(),
            self.format.overflow(),
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
