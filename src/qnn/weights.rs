//! Weight schemes: how a stored code decodes to the integer level the hardware multiplies by.
//! The non-uniform encodings are exactly those of [`crate::num::codes`].

use crate::num::codes::{binary_level, ternary_level, ApotFormat, PotFormat};
use serde::{Deserialize, Serialize};

/// The encoding of a layer's weight codes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightScheme {
    /// `bits`-bit two's complement (2..=32); the code is the bit pattern, the level its signed value.
    Uniform {
        /// Width in bits.
        bits: u32,
    },
    /// Power of two: sign and exponent field ([`PotFormat`]).
    Pot(PotFormat),
    /// Additive powers of two ([`ApotFormat`]).
    Apot(ApotFormat),
    /// One bit: 1 is +1, 0 is −1.
    Binary,
    /// Two-bit two's complement −1, 0, +1 (code `10` is invalid).
    Ternary,
}

impl WeightScheme {
    /// Checks the scheme's own parameters.
    pub fn check(&self) -> Result<(), String> {
        match self {
            WeightScheme::Uniform { bits } if !(2..=32).contains(bits) => Err(format!(
                "uniform weight bits ({bits}) must be between 2 and 32"
            )),
            WeightScheme::Pot(p) => PotFormat::new(p.exp_bits, p.signed, p.zero_code)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            WeightScheme::Apot(a) => {
                if !(1..=4).contains(&a.term_bits) || a.shifts.is_empty() || a.shifts.len() > 4 {
                    return Err(format!(
                        "apot needs 1..=4 term bits ({}) and 1..=4 terms ({})",
                        a.term_bits,
                        a.shifts.len()
                    ));
                }
                let per_term = (1usize << a.term_bits) - 1;
                for (t, s) in a.shifts.iter().enumerate() {
                    if s.len() != per_term {
                        return Err(format!(
                            "apot term {t} has {} shifts, expected 2^term_bits - 1 = {per_term}",
                            s.len()
                        ));
                    }
                    if let Some(big) = s.iter().find(|&&x| x > 62) {
                        return Err(format!("apot shift ({big}) must be at most 62"));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Width of one code in bits (the weight memory per weight).
    pub fn code_bits(&self) -> u32 {
        match self {
            WeightScheme::Uniform { bits } => *bits,
            WeightScheme::Pot(p) => p.width(),
            WeightScheme::Apot(a) => a.width(),
            WeightScheme::Binary => 1,
            WeightScheme::Ternary => 2,
        }
    }

    /// A short name: `uniform`, `pot`, `apot`, `binary`, `ternary`.
    pub fn name(&self) -> &'static str {
        match self {
            WeightScheme::Uniform { .. } => "uniform",
            WeightScheme::Pot(_) => "pot",
            WeightScheme::Apot(_) => "apot",
            WeightScheme::Binary => "binary",
            WeightScheme::Ternary => "ternary",
        }
    }

    /// The integer level of `code`, or `None` if the code is not valid for the scheme
    /// (bits above the code width, or the ternary code `10`).
    pub fn level(&self, code: u64) -> Option<i64> {
        let bits = self.code_bits();
        if bits < 64 && code >> bits != 0 {
            return None;
        }
        match self {
            WeightScheme::Uniform { bits } => {
                let sh = 64 - bits;
                Some(((code << sh) as i64) >> sh)
            }
            WeightScheme::Pot(p) => Some(p.level(code)),
            WeightScheme::Apot(a) => Some(a.level(code)),
            WeightScheme::Binary => Some(binary_level(code)),
            WeightScheme::Ternary => ternary_level(code),
        }
    }

    /// The code of an integer level, if the scheme can represent it. For PoT and APoT, the
    /// first code (in numeric order) with that level.
    pub fn encode(&self, level: i64) -> Option<u64> {
        match self {
            WeightScheme::Uniform { bits } => {
                let min = -(1i64 << (bits - 1));
                let max = (1i64 << (bits - 1)) - 1;
                (min..=max)
                    .contains(&level)
                    .then(|| (level as u64) & ((1u64 << bits) - 1))
            }
            WeightScheme::Pot(p) => {
                if level == 0 {
                    return p.encode(None);
                }
                let m = level.unsigned_abs();
                if !m.is_power_of_two() {
                    return None;
                }
                p.encode(Some((level < 0, m.trailing_zeros())))
            }
            WeightScheme::Apot(a) => a
                .table()
                .into_iter()
                .find(|&(_, l)| l == level)
                .map(|(c, _)| c),
            WeightScheme::Binary => match level {
                1 => Some(1),
                -1 => Some(0),
                _ => None,
            },
            WeightScheme::Ternary => match level {
                0 => Some(0),
                1 => Some(1),
                -1 => Some(3),
                _ => None,
            },
        }
    }

    /// Every representable level, sorted and without repeats, or `None` for uniform schemes
    /// wider than 16 bits (whose levels are simply the two's-complement range).
    pub fn levels(&self) -> Option<Vec<i64>> {
        let mut v: Vec<i64> = match self {
            WeightScheme::Uniform { bits } if *bits > 16 => return None,
            WeightScheme::Uniform { bits } => {
                (-(1i64 << (bits - 1))..(1i64 << (bits - 1))).collect()
            }
            _ => (0..1u64 << self.code_bits())
                .filter_map(|c| self.level(c))
                .collect(),
        };
        v.sort_unstable();
        v.dedup();
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_by_hand() {
        let u4 = WeightScheme::Uniform { bits: 4 };
        assert_eq!(u4.level(0b1000), Some(-8));
        assert_eq!(u4.level(0b0111), Some(7));
        assert_eq!(u4.level(0b1_0000), None);
        assert_eq!(u4.encode(-1), Some(0b1111));
        assert_eq!(u4.encode(8), None);
        let pot = WeightScheme::Pot(PotFormat::new(2, true, true).unwrap());
        assert_eq!(pot.levels(), Some(vec![-4, -2, -1, 0, 1, 2, 4]));
        assert_eq!(pot.encode(-4), Some(0b111));
        assert_eq!(pot.encode(3), None);
        assert_eq!(WeightScheme::Ternary.level(0b10), None);
        assert_eq!(WeightScheme::Binary.levels(), Some(vec![-1, 1]));
    }
}
