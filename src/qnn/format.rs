//! Integer activation codes: a width and a signedness, zero point 0; and bipolar codes ±1.
//!
//! The one-bit signed format [`IntFormat::BIPOLAR`] (`(bits: 1, signed: true)` in files) is
//! not two's complement but the bipolar format of binary networks: codes −1 and +1 only (no
//! zero), on a wire one bit per code with 1 = +1 and 0 = −1, as binary weight codes are. Layers
//! with a sign output emit it ([`super::dense::LayerOutput::Sign`]).

use super::error::QnnError;
use serde::{Deserialize, Serialize};

/// The code range of an activation tensor: `bits`-bit two's complement if `signed`, else unsigned.
/// The zero point is always 0, so real value = code × scale and ReLU clamps at code 0. The one
/// exception is [`IntFormat::BIPOLAR`] (1 bit, signed): the codes −1 and +1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntFormat {
    /// Width in bits, 1..=32.
    pub bits: u32,
    /// Two's complement (true) or unsigned (false).
    pub signed: bool,
}

impl IntFormat {
    /// Largest supported activation width.
    pub const MAX_BITS: u32 = 32;

    /// The bipolar format: codes −1 and +1 (one bit on a wire, 1 = +1).
    pub const BIPOLAR: IntFormat = IntFormat {
        bits: 1,
        signed: true,
    };

    /// A two's complement or unsigned format, or [`QnnError::ActivationBits`] (a signed format
    /// needs 2 bits; the bipolar one is [`IntFormat::BIPOLAR`]).
    pub fn new(bits: u32, signed: bool) -> Result<Self, QnnError> {
        let f = IntFormat { bits, signed };
        if f.is_bipolar() {
            return Err(QnnError::ActivationBits { bits, signed });
        }
        f.check()?;
        Ok(f)
    }

    /// Whether this is the bipolar format (codes ±1).
    pub fn is_bipolar(&self) -> bool {
        *self == IntFormat::BIPOLAR
    }

    /// Checks `bits` (1..=32; a signed format needs at least 2 bits, except the bipolar one).
    pub fn check(&self) -> Result<(), QnnError> {
        if self.is_bipolar() {
            return Ok(());
        }
        let lo = if self.signed { 2 } else { 1 };
        if self.bits < lo || self.bits > Self::MAX_BITS {
            return Err(QnnError::ActivationBits {
                bits: self.bits,
                signed: self.signed,
            });
        }
        Ok(())
    }

    /// The smallest code.
    pub fn min(&self) -> i64 {
        if self.is_bipolar() {
            -1
        } else if self.signed {
            -(1i64 << (self.bits - 1))
        } else {
            0
        }
    }

    /// The largest code.
    pub fn max(&self) -> i64 {
        if self.is_bipolar() {
            1
        } else if self.signed {
            (1i64 << (self.bits - 1)) - 1
        } else {
            (1i64 << self.bits) - 1
        }
    }

    /// Whether `code` lies in the range.
    pub fn contains(&self, code: i64) -> bool {
        if self.is_bipolar() {
            return code == 1 || code == -1;
        }
        (self.min()..=self.max()).contains(&code)
    }

    /// Whether every code fits an `i16`.
    pub fn fits_i16(&self) -> bool {
        self.min() >= i64::from(i16::MIN) && self.max() <= i64::from(i16::MAX)
    }
}

impl std::fmt::Display for IntFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_bipolar() {
            return write!(f, "bipolar");
        }
        write!(f, "{}{}", if self.signed { "i" } else { "u" }, self.bits)
    }
}

/// The smallest two's-complement width holding every integer in `[lo, hi]` (at least 1).
pub fn signed_width(lo: i128, hi: i128) -> u32 {
    let mut w = 1u32;
    while w < 128 {
        let min = -(1i128 << (w - 1));
        let max = (1i128 << (w - 1)) - 1;
        if lo >= min && hi <= max {
            return w;
        }
        w += 1;
    }
    128
}

/// Wraps `v` to a `bits`-bit two's-complement value (1 ≤ bits ≤ 128).
pub fn wrap(v: i128, bits: u32) -> i128 {
    if bits >= 128 {
        return v;
    }
    let sh = 128 - bits;
    (v << sh) >> sh
}

/// Saturates `v` to a `bits`-bit two's-complement range (1 ≤ bits ≤ 128).
pub fn saturate(v: i128, bits: u32) -> i128 {
    if bits >= 128 {
        return v;
    }
    let min = -(1i128 << (bits - 1));
    let max = (1i128 << (bits - 1)) - 1;
    v.clamp(min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_by_hand() {
        assert_eq!(
            (
                IntFormat::new(8, true).unwrap().min(),
                IntFormat::new(8, true).unwrap().max()
            ),
            (-128, 127)
        );
        assert_eq!(IntFormat::new(4, false).unwrap().max(), 15);
        assert!(IntFormat::new(1, true).is_err());
        let b = IntFormat::BIPOLAR;
        assert!(b.check().is_ok() && b.is_bipolar());
        assert_eq!(
            (b.min(), b.max(), b.to_string()),
            (-1, 1, "bipolar".to_string())
        );
        assert!(b.contains(-1) && b.contains(1) && !b.contains(0));
        assert_eq!(signed_width(0, 0), 1);
        assert_eq!(signed_width(-1, 0), 1);
        assert_eq!(signed_width(0, 1), 2);
        assert_eq!(signed_width(-128, 127), 8);
        assert_eq!(signed_width(-129, 127), 9);
        assert_eq!(signed_width(-128, 128), 9);
        assert_eq!(wrap(128, 8), -128);
        assert_eq!(wrap(-129, 8), 127);
        assert_eq!(wrap(300, 8), 44);
        assert_eq!(saturate(300, 8), 127);
        assert_eq!(saturate(-300, 8), -128);
    }
}
