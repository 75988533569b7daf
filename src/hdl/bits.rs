//! Fixed-width bit vectors: the values of constants, ports and test vectors.

use super::HdlError;
use std::fmt;

/// A bit vector of a known width (any width ≥ 1), stored as 64-bit limbs, least significant first.
/// Bits above the width are always zero.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Bits {
    width: u32,
    limbs: Vec<u64>,
}

impl Bits {
    /// All zeros, `width` bits wide.
    pub fn zero(width: u32) -> Bits {
        Bits {
            width,
            limbs: vec![0; width.div_ceil(64).max(1) as usize],
        }
    }

    /// The low `width` bits of the two's complement of `value` (wraps; see [`Bits::from_signed`]
    /// and [`Bits::from_unsigned`] for checked forms).
    pub fn from_i128_wrapping(width: u32, value: i128) -> Bits {
        let mut b = Bits::zero(width);
        for i in 0..width {
            let bit = if i < 127 {
                (value >> i) & 1 == 1
            } else {
                value < 0
            };
            b.set(i, bit);
        }
        b
    }

    /// `value` as a `width`-bit two's complement vector, or an error if it does not fit.
    pub fn from_signed(width: u32, value: i128) -> Result<Bits, HdlError> {
        let fits = width >= 128 || {
            let lo = -(1i128 << (width - 1));
            let hi = (1i128 << (width - 1)) - 1;
            (lo..=hi).contains(&value)
        };
        if width == 0 || !fits {
            return Err(HdlError::ConstantRange {
                value,
                ty: super::Ty::signed(width),
            });
        }
        Ok(Bits::from_i128_wrapping(width, value))
    }

    /// `value` as a `width`-bit unsigned vector, or an error if it does not fit.
    pub fn from_unsigned(width: u32, value: u128) -> Result<Bits, HdlError> {
        let fits = width >= 128 || value >> width == 0;
        if width == 0 || !fits {
            return Err(HdlError::ConstantRange {
                value: i128::try_from(value).unwrap_or(i128::MAX),
                ty: super::Ty::unsigned(width),
            });
        }
        let mut b = Bits::zero(width);
        for i in 0..width.min(128) {
            b.set(i, (value >> i) & 1 == 1);
        }
        Ok(b)
    }

    /// Width in bits.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Bit `i` (false beyond the width).
    pub fn get(&self, i: u32) -> bool {
        i < self.width && (self.limbs[(i / 64) as usize] >> (i % 64)) & 1 == 1
    }

    /// Sets bit `i`; bits beyond the width are ignored.
    pub fn set(&mut self, i: u32, v: bool) {
        if i >= self.width {
            return;
        }
        let limb = &mut self.limbs[(i / 64) as usize];
        if v {
            *limb |= 1 << (i % 64);
        } else {
            *limb &= !(1 << (i % 64));
        }
    }

    /// The value read as unsigned (bits above 128 are ignored).
    pub fn to_u128(&self) -> u128 {
        (0..self.width.min(128)).fold(0u128, |acc, i| acc | (u128::from(self.get(i)) << i))
    }

    /// The value read as two's complement (widths above 128 are truncated to 128 bits).
    pub fn to_i128(&self) -> i128 {
        let w = self.width.min(128);
        let u = self.to_u128();
        if w < 128 && self.get(w - 1) {
            (u as i128) - (1i128 << w)
        } else {
            u as i128
        }
    }

    /// Concatenates fields, the first one at the least significant end.
    pub fn concat_lsb_first(fields: &[Bits]) -> Bits {
        let width = fields.iter().map(Bits::width).sum::<u32>().max(1);
        let mut out = Bits::zero(width);
        let mut at = 0;
        for f in fields {
            for i in 0..f.width {
                out.set(at + i, f.get(i));
            }
            at += f.width;
        }
        out
    }

    /// Bits `lo .. lo + width` as a new vector.
    pub fn field(&self, lo: u32, width: u32) -> Bits {
        let mut out = Bits::zero(width);
        for i in 0..width {
            out.set(i, self.get(lo + i));
        }
        out
    }

    /// Hexadecimal digits, most significant first, exactly `ceil(width / 4)` of them.
    pub fn to_hex(&self) -> String {
        let digits = self.width.div_ceil(4);
        (0..digits)
            .rev()
            .map(|d| {
                let nibble =
                    (0..4).fold(0u32, |acc, k| acc | (u32::from(self.get(d * 4 + k)) << k));
                char::from_digit(nibble, 16).unwrap_or('0')
            })
            .collect()
    }
}

impl fmt::Display for Bits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}'h{}", self.width, self.to_hex())
    }
}
