//! Fixed-width bit vectors: the values of constants, ports and test vectors, and their one
//! hexadecimal spelling (`$readmemh` lines, Verilog constants, testbench messages).
//!
//! ```
//! use qforge::hdl::Bits;
//! let mut input = Bits::zero(16);
//! input.set_field(0, 8, -3)?; // two's complement, truncated to 8 bits
//! input.set_field(8, 8, 200)?;
//! assert_eq!(input.to_hex(), "c8fd");
//! assert_eq!(input.get_field_signed(0, 8)?, -3);
//! assert_eq!(Bits::from_hex("c8fd", 16)?, input);
//! # Ok::<(), qforge::hdl::HdlError>(())
//! ```

use super::{HdlError, Ty};
use std::fmt;

const HEX: &[u8; 16] = b"0123456789abcdef";

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
        for (k, limb) in b.limbs.iter_mut().enumerate() {
            // Above bit 127 the value is its sign, repeated.
            *limb = match k {
                0 => value as u64,
                1 => (value >> 64) as u64,
                _ => (value >> 127) as u64,
            };
        }
        b.clear_above_width();
        b
    }

    /// Zeroes the bits of the last word above the width (the invariant every method keeps).
    fn clear_above_width(&mut self) {
        let used = self.width % 64;
        let last = (self.width / 64) as usize;
        if used != 0 {
            self.limbs[last] &= (1u64 << used) - 1;
        }
        for limb in self.limbs.iter_mut().skip(self.width.div_ceil(64) as usize) {
            *limb = 0;
        }
    }

    /// `n` bits (1..=64) from bit `lo` on, in the low bits of a word (zeros beyond the width).
    fn word_at(&self, lo: u32, n: u32) -> u64 {
        let k = (lo / 64) as usize;
        let shift = lo % 64;
        let limb = |k: usize| self.limbs.get(k).copied().unwrap_or(0);
        let mut w = limb(k) >> shift;
        if shift != 0 {
            w |= limb(k + 1) << (64 - shift);
        }
        if n < 64 {
            w & ((1u64 << n) - 1)
        } else {
            w
        }
    }

    /// ORs `value` (`n` bits, 1..=64, nothing above) in at bit `lo`; `lo + n` must not pass the
    /// width.
    fn or_word_at(&mut self, lo: u32, n: u32, value: u64) {
        let k = (lo / 64) as usize;
        let shift = lo % 64;
        self.limbs[k] |= value << shift;
        if shift != 0 && shift + n > 64 {
            self.limbs[k + 1] |= value >> (64 - shift);
        }
    }

    /// Copies `width` bits of `from` (from its bit `from_lo` on) into this zero region at `lo`,
    /// a word at a time.
    fn copy_from(&mut self, lo: u32, from: &Bits, from_lo: u32, width: u32) {
        let mut i = 0;
        while i < width {
            let n = (width - i).min(64);
            self.or_word_at(lo + i, n, from.word_at(from_lo + i, n));
            i += n;
        }
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
                ty: Ty::signed(width),
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
                ty: Ty::unsigned(width),
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
        let limb = |k: usize| u128::from(self.limbs.get(k).copied().unwrap_or(0));
        // Bits above the width are zero, so the two low words are the value.
        limb(0) | (limb(1) << 64)
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
            out.copy_from(at, f, 0, f.width);
            at += f.width;
        }
        out
    }

    /// Bits `lo .. lo + width` as a new vector (zeros beyond this vector's width).
    pub fn field(&self, lo: u32, width: u32) -> Bits {
        let mut out = Bits::zero(width);
        // Bits at or past u32::MAX do not exist: they read as zero.
        let width_here = width.min(u32::MAX - lo);
        out.copy_from(0, self, lo, width_here);
        out
    }

    /// The little-endian 64-bit words (bits above the width are zero).
    pub fn words(&self) -> &[u64] {
        &self.limbs
    }

    /// Whether every bit is zero.
    pub fn is_zero(&self) -> bool {
        self.limbs.iter().all(|&w| w == 0)
    }

    fn check_field(&self, lsb: u32, width: u32) -> Result<(), HdlError> {
        if width == 0 || width > 128 {
            return Err(HdlError::BadWidth {
                what: "field",
                width: u64::from(width),
                rule: "must be in 1..=128".to_string(),
            });
        }
        match lsb.checked_add(width) {
            Some(end) if end <= self.width => Ok(()),
            _ => Err(HdlError::BadSlice {
                hi: lsb.saturating_add(width - 1),
                lo: lsb,
                ty: Ty::unsigned(self.width),
            }),
        }
    }

    /// Writes `value` into bits `lsb .. lsb + width` (two's complement, truncated to `width`
    /// bits, so -1 in an 8-bit field is `ff`). `width` is 1..=128.
    pub fn set_field(&mut self, lsb: u32, width: u32, value: i128) -> Result<(), HdlError> {
        self.check_field(lsb, width)?;
        let mut v = value as u128;
        if width < 128 {
            v &= (1u128 << width) - 1;
        }
        let mut done = 0u32;
        while done < width {
            let bit = lsb + done;
            let offset = bit % 64;
            let take = (64 - offset).min(width - done);
            let mask = if take == 64 {
                u64::MAX
            } else {
                ((1u64 << take) - 1) << offset
            };
            let chunk = ((v >> done) as u64) << offset;
            let word = &mut self.limbs[(bit / 64) as usize];
            *word = (*word & !mask) | (chunk & mask);
            done += take;
        }
        Ok(())
    }

    /// Reads bits `lsb .. lsb + width` as an unsigned number (`width` is 1..=128).
    pub fn get_field(&self, lsb: u32, width: u32) -> Result<u128, HdlError> {
        self.check_field(lsb, width)?;
        let mut v = 0u128;
        let mut done = 0u32;
        while done < width {
            let bit = lsb + done;
            let offset = bit % 64;
            let take = (64 - offset).min(width - done);
            let mut chunk = self.limbs[(bit / 64) as usize] >> offset;
            if take < 64 {
                chunk &= (1u64 << take) - 1;
            }
            v |= u128::from(chunk) << done;
            done += take;
        }
        Ok(v)
    }

    /// Reads bits `lsb .. lsb + width` as a two's complement number (`width` is 1..=128).
    pub fn get_field_signed(&self, lsb: u32, width: u32) -> Result<i128, HdlError> {
        let v = self.get_field(lsb, width)?;
        let shift = 128 - width;
        Ok(((v << shift) as i128) >> shift)
    }

    /// The same value at another width: truncated, or zero-extended.
    pub fn resized(&self, width: u32) -> Bits {
        let mut out = Bits::zero(width);
        let n = out.limbs.len().min(self.limbs.len());
        out.limbs[..n].copy_from_slice(&self.limbs[..n]);
        if !width.is_multiple_of(64) {
            if let Some(last) = out.limbs.last_mut() {
                *last &= (1u64 << (width % 64)) - 1;
            }
        }
        out
    }

    /// Copies all of `other` into bits `lsb .. lsb + other.width()` (for packing lanes side by
    /// side into a wide vector).
    pub fn set_bits(&mut self, lsb: u32, other: &Bits) -> Result<(), HdlError> {
        if other.width == 0 {
            return Ok(());
        }
        match lsb.checked_add(other.width) {
            Some(end) if end <= self.width => {}
            _ => {
                return Err(HdlError::BadSlice {
                    hi: lsb.saturating_add(other.width - 1),
                    lo: lsb,
                    ty: Ty::unsigned(self.width),
                })
            }
        }
        let mut done = 0u32;
        while done < other.width {
            let take = (other.width - done).min(64);
            let chunk = other.get_field(done, take)?;
            self.set_field(lsb + done, take, chunk as i128)?;
            done += take;
        }
        Ok(())
    }

    /// Hexadecimal digits, most significant first, exactly `ceil(width / 4)` of them.
    pub fn to_hex(&self) -> String {
        let mut out = Vec::with_capacity(self.width.div_ceil(4) as usize);
        self.push_hex(&mut out, None);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Appends the hex digits of [`Bits::to_hex`] to `out`. With `Some(flag)` the value is
    /// written one bit wider, `flag` its top bit (the check bit of an expect line).
    pub fn push_hex(&self, out: &mut Vec<u8>, top_bit: Option<bool>) {
        let width = self.width + u32::from(top_bit.is_some());
        for d in (0..width.div_ceil(4)).rev() {
            let lsb = d * 4;
            // A nibble never straddles two words: 4 divides 64.
            let mut nibble = self
                .limbs
                .get((lsb / 64) as usize)
                .map_or(0, |w| (w >> (lsb % 64)) & 0xf) as usize;
            if top_bit == Some(true) && self.width / 4 == d {
                nibble |= 1 << (self.width % 4);
            }
            out.push(HEX[nibble]);
        }
    }

    /// Binary digits, most significant first, without leading zeros (`"0"` for zero): a VCD
    /// vector value.
    pub fn to_binary(&self) -> String {
        match (0..self.width).rev().find(|&i| self.get(i)) {
            None => "0".to_string(),
            Some(top) => (0..=top)
                .rev()
                .map(|i| if self.get(i) { '1' } else { '0' })
                .collect(),
        }
    }

    /// Parses hex digits (no prefix, `_` allowed as separator) into a `width`-bit value; digits
    /// beyond `width` must be zero.
    pub fn from_hex(text: &str, width: u32) -> Result<Bits, HdlError> {
        let mut bits = Bits::zero(width);
        let mut pos = 0u32;
        for c in text.trim().bytes().rev() {
            if c == b'_' {
                continue;
            }
            let nibble = (c as char).to_digit(16).ok_or_else(|| HdlError::Hex {
                text: text.to_string(),
                rule: "is not a hex number".to_string(),
            })?;
            for i in 0..4 {
                if (nibble >> i) & 1 == 1 {
                    let bit = pos + i;
                    if bit >= width {
                        return Err(HdlError::Hex {
                            text: text.trim().to_string(),
                            rule: format!("does not fit in {width} bits"),
                        });
                    }
                    bits.limbs[(bit / 64) as usize] |= 1u64 << (bit % 64);
                }
            }
            pos = pos.saturating_add(4);
        }
        Ok(bits)
    }
}

impl fmt::Display for Bits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}'h{}", self.width, self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_has_exactly_ceil_width_over_4_digits() {
        for (width, digits) in [
            (1, 1),
            (4, 1),
            (5, 2),
            (8, 2),
            (9, 3),
            (64, 16),
            (65, 17),
            (300, 75),
        ] {
            assert_eq!(Bits::zero(width).to_hex().len(), digits, "width {width}");
        }
    }

    #[test]
    fn negative_values_truncate_in_twos_complement() {
        let mut b = Bits::zero(12);
        b.set_field(0, 4, -1).unwrap();
        b.set_field(4, 8, -128).unwrap();
        assert_eq!(b.to_hex(), "80f");
        assert_eq!(b.get_field_signed(4, 8).unwrap(), -128);
        assert_eq!(b.get_field(4, 8).unwrap(), 128);
        b.set_field(0, 4, 0x35).unwrap(); // only the low 4 bits fit
        assert_eq!(b.to_hex(), "805");
    }

    #[test]
    fn fields_straddling_words_round_trip() {
        let mut b = Bits::zero(200);
        b.set_field(60, 100, -2).unwrap();
        assert_eq!(b.get_field_signed(60, 100).unwrap(), -2);
        assert_eq!(b.get_field(0, 60).unwrap(), 0);
        assert_eq!(b.get_field(160, 40).unwrap(), 0);
        assert_eq!(Bits::from_hex(&b.to_hex(), 200).unwrap(), b);
        let mut wide = Bits::zero(260);
        wide.set_bits(30, &b).unwrap();
        assert_eq!(wide.get_field_signed(90, 100).unwrap(), -2);
    }

    #[test]
    fn out_of_range_fields_are_errors_not_panics() {
        let mut b = Bits::zero(8);
        assert!(b.set_field(4, 5, 0).is_err());
        assert!(b.set_field(0, 0, 0).is_err());
        assert!(b.get_field(u32::MAX, 2).is_err());
        assert!(Bits::from_hex("1ff", 8).is_err());
        assert!(Bits::from_hex("xz", 8).is_err());
    }

    #[test]
    fn the_word_writer_and_the_bit_accessors_agree() {
        let b = Bits::from_i128_wrapping(131, -5);
        let by_bits: String = (0..131u32.div_ceil(4))
            .rev()
            .map(|d| {
                let n = (0..4).fold(0u32, |acc, k| acc | (u32::from(b.get(d * 4 + k)) << k));
                char::from_digit(n, 16).unwrap()
            })
            .collect();
        assert_eq!(b.to_hex(), by_bits);
        let mut line = Vec::new();
        Bits::from_hex("ff", 8)
            .unwrap()
            .push_hex(&mut line, Some(true));
        assert_eq!(line, b"1ff");
    }

    /// The bit-at-a-time definitions the word-at-a-time methods replace.
    fn concat_by_bits(fields: &[Bits]) -> Bits {
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

    fn field_by_bits(b: &Bits, lo: u32, width: u32) -> Bits {
        let mut out = Bits::zero(width);
        for i in 0..width {
            out.set(i, b.get(lo + i));
        }
        out
    }

    fn wrapping_by_bits(width: u32, value: i128) -> Bits {
        let mut b = Bits::zero(width);
        for i in 0..width {
            b.set(
                i,
                if i < 127 {
                    (value >> i) & 1 == 1
                } else {
                    value < 0
                },
            );
        }
        b
    }

    #[test]
    fn word_at_a_time_fields_and_concatenations_equal_the_bitwise_ones() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..400 {
            let fields: Vec<Bits> = (0..next() % 9)
                .map(|_| {
                    let width = (next() % 200) as u32;
                    let value = (i128::from(next() as i64) << 64) | i128::from(next());
                    let b = Bits::from_i128_wrapping(width, value);
                    assert_eq!(b, wrapping_by_bits(width, value), "width {width}");
                    assert_eq!(
                        b.to_u128(),
                        (0..width.min(128)).fold(0, |a, i| a | (u128::from(b.get(i)) << i))
                    );
                    b
                })
                .collect();
            let all = Bits::concat_lsb_first(&fields);
            assert_eq!(all, concat_by_bits(&fields));
            let lo = (next() % u64::from(all.width() + 70)) as u32;
            let width = (next() % 150) as u32;
            assert_eq!(
                all.field(lo, width),
                field_by_bits(&all, lo, width),
                "lo {lo} width {width}"
            );
        }
        assert_eq!(Bits::zero(8).field(u32::MAX - 2, 8), Bits::zero(8));
    }

    #[test]
    fn binary_digits_drop_leading_zeros_at_any_width() {
        assert_eq!(Bits::zero(300).to_binary(), "0");
        let mut b = Bits::zero(259);
        b.set(258, true);
        b.set(0, true);
        let s = b.to_binary();
        assert_eq!(s.len(), 259);
        assert!(s.starts_with('1') && s.ends_with('1'));
        assert_eq!(Bits::from_unsigned(8, 5).unwrap().to_binary(), "101");
    }
}
