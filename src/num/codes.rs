//! Integer encodings of non-uniform weights: the contract between the quantizers, which produce
//! codes, and the processing elements, which consume them.
//!
//! A code decodes to an integer *level*; the real weight is `level × scale`, where the scale
//! (including any power of two such as a PoT format's smallest exponent) belongs to the quantizer
//! and is folded into requantization. Levels are what the hardware multiplies by.
//!
//! | scheme | code bits (MSB … LSB) | level |
//! |---|---|---|
//! | PoT | `[sign] exp[E-1:0]` | `±2^exp`; with a zero code, `exp = 0` is 0 and `±2^(exp-1)` otherwise |
//! | APoT | `[sign] term[T-1] … term[0]`, each `B` bits | `±Σ_t (term_t == 0 ? 0 : 2^shift[t][term_t - 1])` |
//! | binary | `b` | `b ? +1 : −1` |
//! | ternary | `t[1:0]`, two's complement | `−1, 0, +1` (`10` is not a valid code) |
//!
//! ```
//! use qforge::num::codes::PotFormat;
//! let pot = PotFormat::new(3, true, true).unwrap(); // sign + 3 exponent bits, zero code
//! assert_eq!(pot.width(), 4);
//! assert_eq!(pot.level(0b0000), 0);
//! assert_eq!(pot.level(0b0011), 4); // exp field 3 → 2^(3-1)
//! assert_eq!(pot.level(0b1011), -4);
//! assert_eq!(pot.max_shift(), 6);
//! ```

use serde::{Deserialize, Serialize};

/// The largest shift a PoT or APoT weight code may ask for: levels up to `2^62` keep every
/// level, its negation and an APoT sum of them in an `i64`.
pub const MAX_SHIFT: u32 = 62;

/// A code or format parameter outside what the encoding allows: the one error type of the weight
/// encodings here and of [`crate::num::weights::WeightCode`], one message per rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// A format parameter is out of range.
    #[error("{name} ({value}) {rule}")]
    BadParameter {
        /// The parameter's name.
        name: &'static str,
        /// Its value.
        value: i64,
        /// The rule it breaks, e.g. "must be between 1 and 6".
        rule: &'static str,
    },
    /// A format whose codes ask for shifts above [`MAX_SHIFT`].
    #[error("{what} gives shifts up to {max_shift}; weight shifts must be at most 62")]
    ShiftTooLarge {
        /// The parameter that decides the shifts, with its value (`exp_bits (6)`).
        what: String,
        /// The largest shift it gives.
        max_shift: u32,
    },
    /// An APoT term whose shift table does not have one shift per non-zero field value.
    #[error("apot term {term} has {got} shifts, expected 2^term_bits - 1 = {expected}")]
    ApotShiftCount {
        /// The term (0-based).
        term: usize,
        /// Its number of shifts.
        got: usize,
        /// `2^term_bits − 1`.
        expected: usize,
    },
    /// An APoT shift table whose largest sum of terms does not fit an `i64`.
    #[error("apot shifts {shifts} give levels of 2^63 or more; levels must fit 64-bit integers")]
    ApotLevelOverflow {
        /// The shift table, as written (`[[62, 1], [62, 0]]`).
        shifts: String,
    },
    /// A scheme family has no code of the asked total width.
    #[error("{family} {bits}-bit weights: {reason}")]
    NoCodeOfWidth {
        /// The family's name.
        family: &'static str,
        /// The total code width asked for.
        bits: u32,
        /// Why there is none.
        reason: String,
    },
}

/// `value` if it lies in `1..=4`, else the one message of that rule for `name`.
fn one_to_four(name: &'static str, value: i64) -> Result<(), CodeError> {
    if (1..=4).contains(&value) {
        Ok(())
    } else {
        Err(CodeError::BadParameter {
            name,
            value,
            rule: "must be between 1 and 4",
        })
    }
}

/// Power-of-two weights: a sign bit (if signed) and an exponent field of `exp_bits` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PotFormat {
    /// Width of the exponent field, 1..=6 (shifts up to 63).
    pub exp_bits: u32,
    /// Whether the code has a sign bit (MSB, 1 = negative).
    pub signed: bool,
    /// Whether exponent field 0 encodes the level 0 (and field `e ≥ 1` the shift `e − 1`).
    pub zero_code: bool,
}

impl PotFormat {
    /// Validates and builds a PoT format.
    pub fn new(exp_bits: u32, signed: bool, zero_code: bool) -> Result<Self, CodeError> {
        if !(1..=6).contains(&exp_bits) {
            return Err(CodeError::BadParameter {
                name: "exp_bits",
                value: i64::from(exp_bits),
                rule: "must be between 1 and 6",
            });
        }
        Ok(PotFormat {
            exp_bits,
            signed,
            zero_code,
        })
    }

    /// Total code width in bits.
    pub fn width(&self) -> u32 {
        self.exp_bits + u32::from(self.signed)
    }

    /// The largest shift a code can ask for.
    pub fn max_shift(&self) -> u32 {
        (1u32 << self.exp_bits) - 1 - u32::from(self.zero_code)
    }

    /// Checks a format for weight codes: `exp_bits` as [`PotFormat::new`] requires, and shifts
    /// up to [`MAX_SHIFT`].
    pub fn check(&self) -> Result<(), CodeError> {
        PotFormat::new(self.exp_bits, self.signed, self.zero_code)?;
        if self.max_shift() > MAX_SHIFT {
            return Err(CodeError::ShiftTooLarge {
                what: format!("exp_bits ({})", self.exp_bits),
                max_shift: self.max_shift(),
            });
        }
        Ok(())
    }

    /// Smallest and largest level over all codes.
    pub fn level_range(&self) -> (i64, i64) {
        let max = 1i64 << self.max_shift();
        let min = if self.signed {
            -max
        } else if self.zero_code {
            0
        } else {
            1
        };
        (min, max)
    }

    /// Decodes the exponent field and sign of `code`: `None` for the zero code, else
    /// `Some((negative, shift))`. Bits above `width()` are ignored.
    pub fn decode(&self, code: u64) -> Option<(bool, u32)> {
        let exp_mask = (1u64 << self.exp_bits) - 1;
        let field = (code & exp_mask) as u32;
        let negative = self.signed && (code >> self.exp_bits) & 1 == 1;
        if self.zero_code {
            (field != 0).then(|| (negative, field - 1))
        } else {
            Some((negative, field))
        }
    }

    /// The integer level of `code`.
    pub fn level(&self, code: u64) -> i64 {
        match self.decode(code) {
            None => 0,
            Some((negative, shift)) => {
                let magnitude = 1i64 << shift;
                if negative {
                    -magnitude
                } else {
                    magnitude
                }
            }
        }
    }

    /// Encodes a sign and shift (`None` = the zero code). Returns `None` if not representable.
    pub fn encode(&self, value: Option<(bool, u32)>) -> Option<u64> {
        match value {
            None => self.zero_code.then_some(0),
            Some((negative, shift)) => {
                if shift > self.max_shift() || (negative && !self.signed) {
                    return None;
                }
                let field = u64::from(shift + u32::from(self.zero_code));
                Some(field | (u64::from(negative) << self.exp_bits))
            }
        }
    }
}

/// Additive powers-of-two weights: a sign bit (if signed) and `terms` fields of `term_bits` bits;
/// field value `c ≥ 1` of term `t` adds `2^shifts[t][c - 1]`, field value 0 adds nothing.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApotFormat {
    /// Bits per term field.
    pub term_bits: u32,
    /// Whether the code has a sign bit (MSB, 1 = negative).
    pub signed: bool,
    /// Per term, the shift for each non-zero field value (`shifts[t].len() == 2^term_bits − 1`).
    pub shifts: Vec<Vec<u32>>,
}

impl ApotFormat {
    /// The level set of Li et al. (ICLR 2020) for `terms` terms of `term_bits` bits each, in
    /// integer form: term `i` (0-based) with field `c ≥ 1` is `2^(E − i − (c − 1)·terms)` where
    /// `E = (terms − 1) + (2^term_bits − 2)·terms` is the largest shift. The normalisation constant
    /// γ of the paper is folded into the quantizer's scale.
    pub fn li2020(term_bits: u32, terms: u32, signed: bool) -> Result<Self, CodeError> {
        one_to_four("term_bits", i64::from(term_bits))?;
        one_to_four("terms", i64::from(terms))?;
        let levels_per_term = (1u32 << term_bits) - 1;
        let largest = (terms - 1) + (levels_per_term - 1) * terms;
        let shifts = (0..terms)
            .map(|i| {
                (1..=levels_per_term)
                    .map(|c| largest - i - (c - 1) * terms)
                    .collect()
            })
            .collect();
        let format = ApotFormat {
            term_bits,
            signed,
            shifts,
        };
        format.check()?;
        Ok(format)
    }

    /// Checks a format built by hand: `term_bits` and the number of terms 1..=4, one shift per
    /// non-zero field value in every term, shifts up to [`MAX_SHIFT`], and the largest level
    /// (every term at its largest shift) below `2^63`.
    pub fn check(&self) -> Result<(), CodeError> {
        one_to_four("term_bits", i64::from(self.term_bits))?;
        one_to_four("terms", self.shifts.len() as i64)?;
        let expected = (1usize << self.term_bits) - 1;
        for (term, s) in self.shifts.iter().enumerate() {
            if s.len() != expected {
                return Err(CodeError::ApotShiftCount {
                    term,
                    got: s.len(),
                    expected,
                });
            }
        }
        let max_shift = self.shifts.iter().flatten().copied().max().unwrap_or(0);
        if max_shift > MAX_SHIFT {
            return Err(CodeError::ShiftTooLarge {
                what: format!("apot shift table {:?}", self.shifts),
                max_shift,
            });
        }
        if self.max_magnitude().is_none() {
            return Err(CodeError::ApotLevelOverflow {
                shifts: format!("{:?}", self.shifts),
            });
        }
        Ok(())
    }

    /// The largest magnitude, every term at its largest shift, or `None` if it does not fit an
    /// `i64` (shifts must be at most 62 for this to be defined).
    pub fn max_magnitude(&self) -> Option<i64> {
        self.shifts.iter().try_fold(0i64, |sum, s| {
            let top = s.iter().copied().max().unwrap_or(0);
            (top <= MAX_SHIFT)
                .then(|| 1i64 << top)
                .and_then(|m| sum.checked_add(m))
        })
    }

    /// Number of terms.
    pub fn terms(&self) -> u32 {
        self.shifts.len() as u32
    }

    /// Total code width in bits.
    pub fn width(&self) -> u32 {
        self.terms() * self.term_bits + u32::from(self.signed)
    }

    /// The field value of term `t` in `code`.
    pub fn field(&self, code: u64, t: u32) -> u32 {
        ((code >> (t * self.term_bits)) & ((1u64 << self.term_bits) - 1)) as u32
    }

    /// Whether `code` is negative.
    pub fn is_negative(&self, code: u64) -> bool {
        self.signed && (code >> (self.terms() * self.term_bits)) & 1 == 1
    }

    /// The integer level of `code`.
    pub fn level(&self, code: u64) -> i64 {
        let magnitude: i64 = (0..self.terms())
            .map(|t| match self.field(code, t) {
                0 => 0,
                c => 1i64 << self.shifts[t as usize][c as usize - 1],
            })
            .sum();
        if self.is_negative(code) {
            -magnitude
        } else {
            magnitude
        }
    }

    /// Smallest and largest level over all codes (0 for the largest magnitude if it does not
    /// fit, which [`ApotFormat::check`] rejects).
    pub fn level_range(&self) -> (i64, i64) {
        let m = self.max_magnitude().unwrap_or(0);
        (if self.signed { -m } else { 0 }, m)
    }

    /// Every (code, level) pair, for quantizers that pick the nearest level.
    pub fn table(&self) -> Vec<(u64, i64)> {
        (0..1u64 << self.width())
            .map(|code| (code, self.level(code)))
            .collect()
    }
}

/// The level of a binary code: bit 1 is +1, bit 0 is −1 (so XNOR of codes is the product's sign).
pub fn binary_level(code: u64) -> i64 {
    if code & 1 == 1 {
        1
    } else {
        -1
    }
}

/// The level of a 2-bit two's-complement ternary code, or `None` for the invalid code `10`.
pub fn ternary_level(code: u64) -> Option<i64> {
    match code & 3 {
        0 => Some(0),
        1 => Some(1),
        3 => Some(-1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pot_round_trips_every_code() {
        for exp_bits in 1..=4 {
            for signed in [false, true] {
                for zero_code in [false, true] {
                    let f = PotFormat::new(exp_bits, signed, zero_code).unwrap();
                    for code in 0..1u64 << f.width() {
                        let d = f.decode(code);
                        if d.is_none() {
                            // both signs of the zero field are the zero level; encode gives 0
                            assert_eq!(f.encode(d), Some(0));
                        } else {
                            assert_eq!(f.encode(d), Some(code));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn apot_li2020_two_terms_of_two_bits() {
        // Li et al. b = 4, k = 2: term 0 ∈ {0, 2^0, 2^-2, 2^-4}, term 1 ∈ {0, 2^-1, 2^-3, 2^-5},
        // scaled by 2^5: term 0 shifts {5, 3, 1}, term 1 shifts {4, 2, 0}.
        let f = ApotFormat::li2020(2, 2, true).unwrap();
        assert_eq!(f.shifts, vec![vec![5, 3, 1], vec![4, 2, 0]]);
        assert_eq!(f.width(), 5);
        assert_eq!(f.level(0b0_01_01), 32 + 16);
        assert_eq!(f.level(0b1_11_10), -(1 + 8));
        let mut levels: Vec<i64> = f.table().into_iter().map(|(_, l)| l).collect();
        levels.sort();
        levels.dedup();
        assert_eq!(levels.len(), 31); // 16 magnitudes, ± (zero shared)
    }

    #[test]
    fn ternary_rejects_minus_two() {
        assert_eq!(ternary_level(0b10), None);
        assert_eq!(ternary_level(0b11), Some(-1));
        assert_eq!(binary_level(0), -1);
    }
}
