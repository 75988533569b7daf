//! Requantization of an accumulator to the next layer's activation code:
//! `clamp(round((acc · M) >> S))`, with ReLU fused as a clamp at code 0.

use super::error::QnnError;
use super::format::IntFormat;
use crate::num::rounding::{shr_round, RoundingMode};
use serde::{Deserialize, Serialize};

/// How an accumulator becomes an output code.
///
/// `y = clamp(round(acc · M / 2^S), lo, hi)` where `M = multiplier[c]`, `S = shift[c]` for output
/// channel `c` (one entry means per tensor), `round` is [`Requant::rounding`] applied to the exact
/// rational, `hi` is the output format's maximum and `lo` its minimum, or 0 with a fused ReLU.
/// A negative `S` is an exact left shift. The ReLU clamp and the rounding commute because every
/// rounding mode is monotone and maps 0 to 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requant {
    /// `M`, per tensor (one entry) or per output channel; each in `0 .. 2^scale_bits`.
    pub multiplier: Vec<i64>,
    /// `S`, per tensor (one entry) or per output channel; −62..=126.
    pub shift: Vec<i32>,
    /// Width of the unsigned multiplier `M` in bits (1..=32); 1 means a pure shift.
    pub scale_bits: u32,
    /// Rounding of the shifted product.
    pub rounding: RoundingMode,
    /// Whether a ReLU is fused (clamp low at code 0).
    pub relu: bool,
    /// The output code range (values beyond it saturate).
    pub output: IntFormat,
    /// Real value of one output code (for reporting; never used in inference).
    pub output_scale: f64,
}

impl Requant {
    /// Checks the parameters against a layer with `channels` outputs.
    pub fn check(&self, channels: usize) -> Result<(), QnnError> {
        self.output.check()?;
        if self.output.is_bipolar() {
            return Err(QnnError::Net(
                "requantization cannot emit bipolar codes; a sign output does (output: sign(...))"
                    .into(),
            ));
        }
        if !(1..=32).contains(&self.scale_bits) {
            return Err(QnnError::ScaleBits {
                bits: self.scale_bits,
            });
        }
        for (name, len) in [
            ("multiplier", self.multiplier.len()),
            ("shift", self.shift.len()),
        ] {
            if len != 1 && len != channels {
                return Err(QnnError::RequantEntries {
                    name,
                    len,
                    channels,
                });
            }
        }
        if let Some(m) = self
            .multiplier
            .iter()
            .find(|&&m| m < 0 || m >= 1i64 << self.scale_bits)
        {
            return Err(QnnError::Multiplier {
                multiplier: *m,
                limit: 1i64 << self.scale_bits,
            });
        }
        if let Some(s) = self.shift.iter().find(|&&s| !(-62..=126).contains(&s)) {
            return Err(QnnError::Shift { shift: *s });
        }
        Ok(())
    }

    /// `(M, S)` of output channel `c`.
    pub fn params(&self, c: usize) -> (i64, i32) {
        let m = if self.multiplier.len() == 1 {
            self.multiplier[0]
        } else {
            self.multiplier[c]
        };
        let s = if self.shift.len() == 1 {
            self.shift[0]
        } else {
            self.shift[c]
        };
        (m, s)
    }

    /// The lowest output code (0 with a fused ReLU on a signed format).
    pub fn low(&self) -> i64 {
        if self.relu {
            self.output.min().max(0)
        } else {
            self.output.min()
        }
    }

    /// The highest output code.
    pub fn high(&self) -> i64 {
        self.output.max()
    }

    /// Requantizes one accumulator of output channel `c`, exactly (i128 arithmetic).
    pub fn apply(&self, acc: i128, c: usize) -> i64 {
        let (m, s) = self.params(c);
        let prod = acc.saturating_mul(i128::from(m));
        let v = if s >= 0 {
            shr_round(prod, s as u32, self.rounding)
        } else {
            prod.saturating_mul(1i128 << (-s) as u32)
        };
        v.clamp(i128::from(self.low()), i128::from(self.high())) as i64
    }

    /// The `(M, S)` whose ratio `M / 2^S` is nearest to `ratio` with `M` below `2^scale_bits`,
    /// keeping as many bits of `M` as allowed. An exact power of two gives `M = 1`.
    /// Non-positive or non-finite ratios give `(0, 0)`.
    pub fn multiplier_for(ratio: f64, scale_bits: u32) -> (i64, i32) {
        if !(ratio.is_finite() && ratio > 0.0) {
            return (0, 0);
        }
        let (mant, exp) = frexp(ratio);
        if mant == 0.5 {
            // ratio = 2^(exp-1): a pure shift
            return (1, 1 - exp);
        }
        let scale_bits = scale_bits.clamp(1, 32) as i32;
        // ratio = mant · 2^exp with mant in [0.5, 1): M = round(mant · 2^bits), S = bits − exp
        let mut bits = scale_bits;
        loop {
            let m = (mant * (1u64 << bits) as f64).round() as i64;
            if m < 1i64 << scale_bits || bits == 0 {
                let (mut m, mut s) = (m, bits - exp);
                while m > 1 && m % 2 == 0 {
                    m /= 2;
                    s -= 1;
                }
                return (m, s.clamp(-62, 126));
            }
            bits -= 1;
        }
    }
}

/// `x = mant · 2^exp` with `mant` in [0.5, 1), for finite positive `x`.
fn frexp(x: f64) -> (f64, i32) {
    let mut exp = x.log2().floor() as i32 + 1;
    let mut mant = x / 2f64.powi(exp);
    while mant >= 1.0 {
        mant /= 2.0;
        exp += 1;
    }
    while mant < 0.5 {
        mant *= 2.0;
        exp -= 1;
    }
    (mant, exp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiplier_for_by_hand() {
        assert_eq!(Requant::multiplier_for(0.25, 8), (1, 2));
        assert_eq!(Requant::multiplier_for(4.0, 8), (1, -2));
        // 0.3 = 0.6 · 2^-1; 0.6 · 256 = 153.6 → 154 / 2^9 = 77 / 2^8
        assert_eq!(Requant::multiplier_for(0.3, 8), (77, 8));
        // 3 bits: 0.6 · 8 = 4.8 → 5 / 2^4
        assert_eq!(Requant::multiplier_for(0.3, 3), (5, 4));
        // 0.999 with 4 bits: 0.999 · 16 = 15.98 → 16 does not fit, 0.999 · 8 → 8 = 2^3 → 1 / 2^0
        assert_eq!(Requant::multiplier_for(0.999, 4), (1, 0));
        assert_eq!(Requant::multiplier_for(0.0, 4), (0, 0));
    }
}
