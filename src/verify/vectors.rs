//! Per-cycle test vectors and the `$readmemh` files of the replay contract (`sim/README.md`).
//!
//! [`Bits`] is a value of any width (little-endian `u64` words); fields are packed into it with
//! [`Bits::set_field`]. A [`VectorSet`] holds one input and an optional expected output per
//! cycle and writes the `+stim` file (one `IN_W`-bit hex line per cycle) and the `+expect` file
//! (one `OUT_W + 1`-bit hex line per cycle, bit `OUT_W` = "check this cycle").
//!
//! ```
//! use qforge::verify::vectors::{Bits, Cycle, VectorSet};
//! let mut input = Bits::zero(16);
//! input.set_field(0, 8, -3)?; // two's complement, truncated to 8 bits
//! input.set_field(8, 8, 200)?;
//! assert_eq!(input.to_hex(), "c8fd");
//! assert_eq!(input.get_field_signed(0, 8)?, -3);
//! let mut vectors = VectorSet::new(16, 9);
//! vectors.push(Cycle { input, expect: None })?;
//! # Ok::<(), qforge::verify::Error>(())
//! ```

use super::error::{Error, Result};
use std::fmt;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// An unsigned bit vector of fixed width; bit 0 is the least significant bit of word 0.
/// Bits above `width` are always zero.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Bits {
    width: u32,
    words: Vec<u64>,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl Bits {
    /// All-zero bits of `width` bits.
    pub fn zero(width: u32) -> Self {
        Bits {
            width,
            words: vec![0; width.div_ceil(64) as usize],
        }
    }

    /// The width in bits.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// The little-endian words (bits above the width are zero).
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// Whether every bit is zero.
    pub fn is_zero(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    fn check_range(&self, lsb: u32, width: u32, max: u32) -> Result<()> {
        if width == 0 || width > max {
            return Err(Error::Invalid(format!(
                "field width ({width}) must be in 1..={max}"
            )));
        }
        match lsb.checked_add(width) {
            Some(end) if end <= self.width => Ok(()),
            _ => Err(Error::Invalid(format!(
                "field [{lsb}+:{width}] must lie within the {}-bit value",
                self.width
            ))),
        }
    }

    /// Writes `value` into bits `lsb .. lsb + width` (two's complement, truncated to `width`
    /// bits, so -1 in an 8-bit field is `ff`). `width` is 1..=128.
    pub fn set_field(&mut self, lsb: u32, width: u32, value: i128) -> Result<()> {
        self.check_range(lsb, width, 128)?;
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
            let word = &mut self.words[(bit / 64) as usize];
            *word = (*word & !mask) | (chunk & mask);
            done += take;
        }
        Ok(())
    }

    /// Reads bits `lsb .. lsb + width` as an unsigned number (`width` is 1..=128).
    pub fn get_field(&self, lsb: u32, width: u32) -> Result<u128> {
        self.check_range(lsb, width, 128)?;
        let mut v = 0u128;
        let mut done = 0u32;
        while done < width {
            let bit = lsb + done;
            let offset = bit % 64;
            let take = (64 - offset).min(width - done);
            let mut chunk = self.words[(bit / 64) as usize] >> offset;
            if take < 64 {
                chunk &= (1u64 << take) - 1;
            }
            v |= u128::from(chunk) << done;
            done += take;
        }
        Ok(v)
    }

    /// Reads bits `lsb .. lsb + width` as a two's complement number (`width` is 1..=128).
    pub fn get_field_signed(&self, lsb: u32, width: u32) -> Result<i128> {
        let v = self.get_field(lsb, width)?;
        let shift = 128 - width;
        Ok(((v << shift) as i128) >> shift)
    }

    /// The same value at another width: truncated, or zero-extended.
    pub fn resized(&self, width: u32) -> Bits {
        let mut out = Bits::zero(width);
        let n = out.words.len().min(self.words.len());
        out.words[..n].copy_from_slice(&self.words[..n]);
        if !width.is_multiple_of(64) {
            if let Some(last) = out.words.last_mut() {
                *last &= (1u64 << (width % 64)) - 1;
            }
        }
        out
    }

    /// Copies all of `other` into bits `lsb .. lsb + other.width()` (for packing lanes side by
    /// side into a wide vector).
    pub fn set_bits(&mut self, lsb: u32, other: &Bits) -> Result<()> {
        if other.width == 0 {
            return Ok(());
        }
        match lsb.checked_add(other.width) {
            Some(end) if end <= self.width => {}
            _ => {
                return Err(Error::Invalid(format!(
                    "a {}-bit value at bit {lsb} must lie within the {}-bit value",
                    other.width, self.width
                )))
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

    /// Exactly `ceil(width / 4)` lowercase hex digits, most significant first.
    pub fn to_hex(&self) -> String {
        let mut out = Vec::with_capacity(self.width.div_ceil(4) as usize);
        self.push_hex(&mut out, None);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Appends the hex digits to `out`. With `Some(flag)`, the value is written one bit wider,
    /// with `flag` as its top bit (the check bit of an expect line).
    fn push_hex(&self, out: &mut Vec<u8>, top_bit: Option<bool>) {
        let width = self.width + u32::from(top_bit.is_some());
        for d in (0..width.div_ceil(4)).rev() {
            let lsb = d * 4;
            // A nibble never straddles two words: 4 divides 64.
            let mut nibble = self
                .words
                .get((lsb / 64) as usize)
                .map_or(0, |w| (w >> (lsb % 64)) & 0xf) as usize;
            if top_bit == Some(true) && self.width / 4 == d {
                nibble |= 1 << (self.width % 4);
            }
            out.push(HEX[nibble]);
        }
    }

    /// Parses hex digits (no prefix, `_` allowed as separator) into a `width`-bit value; digits
    /// beyond `width` must be zero.
    pub fn from_hex(text: &str, width: u32) -> Result<Self> {
        let mut bits = Bits::zero(width);
        let mut pos = 0u32;
        for c in text.trim().bytes().rev() {
            if c == b'_' {
                continue;
            }
            let nibble = (c as char)
                .to_digit(16)
                .ok_or_else(|| Error::Invalid(format!("`{text}` is not a hex number")))?;
            for i in 0..4 {
                if (nibble >> i) & 1 == 1 {
                    let bit = pos + i;
                    if bit >= width {
                        return Err(Error::Invalid(format!(
                            "`{}` does not fit in {width} bits",
                            text.trim()
                        )));
                    }
                    bits.words[(bit / 64) as usize] |= 1u64 << (bit % 64);
                }
            }
            pos = pos.saturating_add(4);
        }
        Ok(bits)
    }
}

impl fmt::Display for Bits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Bits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}'h{}", self.width, self.to_hex())
    }
}

/// One cycle of a replay: the input applied during the cycle and, optionally, the output expected
/// just before the next rising edge (`None` = not compared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    /// `tb_in` during this cycle (`IN_W` bits).
    pub input: Bits,
    /// Expected `tb_out` (`OUT_W` bits), or `None` when this cycle is not checked.
    pub expect: Option<Bits>,
}

/// The vectors of one replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorSet {
    /// `IN_W`: width of `tb_in`.
    pub in_width: u32,
    /// `OUT_W`: width of `tb_out`.
    pub out_width: u32,
    /// One entry per cycle, cycle 0 first.
    pub cycles: Vec<Cycle>,
}

impl VectorSet {
    /// An empty set for the given port widths.
    pub fn new(in_width: u32, out_width: u32) -> Self {
        VectorSet {
            in_width,
            out_width,
            cycles: Vec::new(),
        }
    }

    /// Appends a cycle after checking its widths.
    pub fn push(&mut self, cycle: Cycle) -> Result<()> {
        self.check_cycle(self.cycles.len(), &cycle)?;
        self.cycles.push(cycle);
        Ok(())
    }

    /// How many cycles have their check bit set.
    pub fn checked(&self) -> usize {
        self.cycles.iter().filter(|c| c.expect.is_some()).count()
    }

    fn check_cycle(&self, index: usize, cycle: &Cycle) -> Result<()> {
        if cycle.input.width() != self.in_width {
            return Err(Error::Invalid(format!(
                "cycle {index}: input width ({}) must equal in_width ({})",
                cycle.input.width(),
                self.in_width
            )));
        }
        if let Some(expect) = &cycle.expect {
            if expect.width() != self.out_width {
                return Err(Error::Invalid(format!(
                    "cycle {index}: expected width ({}) must equal out_width ({})",
                    expect.width(),
                    self.out_width
                )));
            }
        }
        Ok(())
    }

    /// Checks the widths (both at least 1) and every cycle.
    pub fn validate(&self) -> Result<()> {
        if self.in_width == 0 || self.out_width == 0 {
            return Err(Error::Invalid(format!(
                "in_width ({}) and out_width ({}) must be at least 1",
                self.in_width, self.out_width
            )));
        }
        for (i, c) in self.cycles.iter().enumerate() {
            self.check_cycle(i, c)?;
        }
        Ok(())
    }

    /// Writes the `+stim` and `+expect` files of the contract.
    pub fn write(&self, stimulus: &Path, expected: &Path) -> Result<()> {
        self.validate()?;
        let zero = Bits::zero(self.out_width);
        write_lines(stimulus, self.cycles.iter(), |c, line| {
            c.input.push_hex(line, None)
        })?;
        write_lines(expected, self.cycles.iter(), |c, line| match &c.expect {
            Some(e) => e.push_hex(line, Some(true)),
            None => zero.push_hex(line, Some(false)),
        })
    }

    /// Reads the files [`VectorSet::write`] writes (or a generator wrote) back.
    pub fn read(stimulus: &Path, expected: &Path, in_width: u32, out_width: u32) -> Result<Self> {
        let inputs = read_lines(stimulus, in_width)?;
        let expects = read_lines(expected, out_width + 1)?;
        if inputs.len() != expects.len() {
            return Err(Error::Invalid(format!(
                "{} has {} lines but {} has {}",
                stimulus.display(),
                inputs.len(),
                expected.display(),
                expects.len()
            )));
        }
        let mut set = VectorSet::new(in_width, out_width);
        set.cycles.reserve(inputs.len());
        for (input, line) in inputs.into_iter().zip(expects) {
            let expect = (line.get_field(out_width, 1)? == 1).then(|| line.resized(out_width));
            set.cycles.push(Cycle { input, expect });
        }
        Ok(set)
    }
}

fn write_lines<'a, T: 'a>(
    path: &Path,
    items: impl Iterator<Item = &'a T>,
    mut emit: impl FnMut(&T, &mut Vec<u8>),
) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut line = Vec::with_capacity(256);
    for item in items {
        line.clear();
        emit(item, &mut line);
        line.push(b'\n');
        out.write_all(&line).map_err(|e| Error::io(path, e))?;
    }
    out.flush().map_err(|e| Error::io(path, e))
}

fn read_lines(path: &Path, width: u32) -> Result<Vec<Bits>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut values = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| Error::io(path, e))?;
        let text = match line.find("//") {
            Some(at) => &line[..at],
            None => &line,
        }
        .trim();
        if text.is_empty() {
            continue;
        }
        let bits = Bits::from_hex(text, width).map_err(|e| Error::VectorFile {
            path: path.to_path_buf(),
            line: i + 1,
            message: e.to_string(),
        })?;
        values.push(bits);
    }
    Ok(values)
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
    fn expect_lines_carry_the_check_bit_above_out_width() {
        let dir = std::env::temp_dir().join(format!("qforge-vectors-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (stim, exp) = (dir.join("s.hex"), dir.join("e.hex"));
        let mut set = VectorSet::new(5, 8);
        let mut e = Bits::zero(8);
        e.set_field(0, 8, -1).unwrap();
        set.push(Cycle {
            input: Bits::from_hex("1f", 5).unwrap(),
            expect: Some(e),
        })
        .unwrap();
        set.push(Cycle {
            input: Bits::zero(5),
            expect: None,
        })
        .unwrap();
        set.write(&stim, &exp).unwrap();
        assert_eq!(std::fs::read_to_string(&stim).unwrap(), "1f\n00\n");
        // OUT_W = 8: the check bit needs a third digit.
        assert_eq!(std::fs::read_to_string(&exp).unwrap(), "1ff\n000\n");
        assert_eq!(VectorSet::read(&stim, &exp, 5, 8).unwrap(), set);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn widths_are_checked_on_push() {
        let mut set = VectorSet::new(5, 8);
        assert!(set
            .push(Cycle {
                input: Bits::zero(6),
                expect: None
            })
            .is_err());
        assert!(set
            .push(Cycle {
                input: Bits::zero(5),
                expect: Some(Bits::zero(7))
            })
            .is_err());
    }
}
