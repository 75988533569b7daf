//! Accumulators: width, overflow behaviour, and the width proven from weights, bias and input range.
//!
//! Order of operations (what the hardware does and what every inference path reproduces):
//! `acc = ovf(bias)`, then for `i = 0, 1, …, in_features − 1`: `acc = ovf(acc + level[i] · x[i])`,
//! where `ovf` wraps or saturates to the accumulator width. Wrapping is a ring homomorphism, so
//! with wrap the order does not matter and the result is the exact sum wrapped once. Saturation
//! is order-dependent: a partial sum that saturates loses information that later terms would have
//! needed, so inference must follow the order above exactly.
//!
//! The proven width is value-based (as FINN does it): per output `j`,
//! `lo_j = bias_j + Σ_i min(level_ij · x_min, level_ij · x_max)` and `hi_j` likewise with `max`;
//! the layer needs the smallest two's-complement width holding `[min_j lo_j, max_j hi_j]`.
//! Because the input range contains 0, every partial sum of the order above also lies in
//! `[lo_j, hi_j]`, so no intermediate value needs more bits either. Each bound is attained by the
//! input taking `x_max` where `level · x` is largest and `x_min` otherwise.

use super::format::signed_width;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What an accumulator does with a value outside its width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccOverflow {
    /// Two's-complement wrap-around (drop the high bits).
    Wrap,
    /// Clamp to the most negative / most positive value.
    Saturate,
}

/// A layer's accumulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accumulator {
    /// Width in bits (1..=127); `None` means the proven width.
    #[serde(default)]
    pub bits: Option<u32>,
    /// Behaviour beyond the width (only matters when `bits` is below the proven width).
    pub overflow: AccOverflow,
}

impl Default for Accumulator {
    fn default() -> Self {
        Accumulator {
            bits: None,
            overflow: AccOverflow::Wrap,
        }
    }
}

/// The reachable accumulator range of one layer and the width it proves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccCertificate {
    /// Layer index.
    pub layer: usize,
    /// Smallest reachable accumulator value over all outputs and inputs.
    pub min: i128,
    /// Largest reachable accumulator value.
    pub max: i128,
    /// Output that reaches `min`.
    pub min_output: usize,
    /// Output that reaches `max`.
    pub max_output: usize,
    /// The smallest two's-complement width holding `[min, max]`.
    pub proven_bits: u32,
    /// The width the layer uses (the requested one, or the proven one).
    pub bits: u32,
    /// Overflow mode used when `bits < proven_bits`.
    pub overflow: AccOverflow,
}

impl AccCertificate {
    /// Whether the layer can overflow its accumulator.
    pub fn can_overflow(&self) -> bool {
        self.bits < self.proven_bits
    }
}

impl fmt::Display for AccCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "layer {}: accumulator in [{}, {}] (min at output {}, max at output {}) needs {} bits; uses {} bits{}",
            self.layer,
            self.min,
            self.max,
            self.min_output,
            self.max_output,
            self.proven_bits,
            self.bits,
            if self.can_overflow() {
                match self.overflow {
                    AccOverflow::Wrap => " (may wrap)",
                    AccOverflow::Saturate => " (may saturate)",
                }
            } else {
                " (cannot overflow)"
            }
        )
    }
}

/// Per-output reachable ranges `(lo_j, hi_j)` of `bias_j + Σ_i level_ij · x_i` for
/// `x_i ∈ [x_min, x_max]` (with `x_min ≤ 0 ≤ x_max`); `levels` is `[out][in]` row-major.
pub fn output_ranges(
    levels: &[i64],
    bias: &[i64],
    in_features: usize,
    x_min: i64,
    x_max: i64,
) -> Vec<(i128, i128)> {
    bias.iter()
        .enumerate()
        .map(|(j, &b)| {
            let row = &levels[j * in_features..(j + 1) * in_features];
            let (mut lo, mut hi) = (i128::from(b), i128::from(b));
            for &l in row {
                let a = i128::from(l) * i128::from(x_min);
                let c = i128::from(l) * i128::from(x_max);
                lo += a.min(c);
                hi += a.max(c);
            }
            (lo, hi)
        })
        .collect()
}

/// Summarises per-output ranges into a certificate (`bits` = requested width, if any).
pub fn certify(layer: usize, ranges: &[(i128, i128)], acc: Accumulator) -> AccCertificate {
    let (mut min, mut max, mut min_output, mut max_output) = (0i128, 0i128, 0usize, 0usize);
    for (j, &(lo, hi)) in ranges.iter().enumerate() {
        if j == 0 || lo < min {
            min = lo;
            min_output = j;
        }
        if j == 0 || hi > max {
            max = hi;
            max_output = j;
        }
    }
    let proven_bits = signed_width(min, max);
    AccCertificate {
        layer,
        min,
        max,
        min_output,
        max_output,
        proven_bits,
        bits: acc.bits.unwrap_or(proven_bits),
        overflow: acc.overflow,
    }
}

/// The input that drives output `j` to its upper bound (`to_max`) or lower bound: per input,
/// `x_max` where `level · x_max` is the larger of the two products, else `x_min`.
pub fn extreme_input(row: &[i64], x_min: i64, x_max: i64, to_max: bool) -> Vec<i64> {
    row.iter()
        .map(|&l| {
            let at_max = i128::from(l) * i128::from(x_max) >= i128::from(l) * i128::from(x_min);
            if at_max == to_max {
                x_max
            } else {
                x_min
            }
        })
        .collect()
}
