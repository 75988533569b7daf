//! Ensembles of integer networks: several members fed the same input codes, their outputs
//! combined by majority vote or by summed logits, in integers.
//!
//! A member's output codes are in its own units, one real scale per class (the accumulator
//! scale of a per-channel quantized last layer), so neither raw codes summed across members nor
//! a raw argmax is the class [`QNet::class_of`] gives. The combine is therefore defined on
//! *scaled logits*: member `k`'s code `v` of class `j` becomes `u = v · C[k][j]`, where the
//! integer constant `C[k][j] = M · 2^(S_max − S)` comes from the requantization multiplier
//! `(M, S) = `[`Requant::multiplier_for`]`(scale[k][j] / scale_min, scale_bits)` of that class's
//! scale against the smallest scale of all members and classes. So `u` is exact integer
//! arithmetic, ordered as the real logits are up to the multiplier's rounding (relative error
//! below `2^-scale_bits`), and what hardware computes with constant multipliers is this
//! definition, not an approximation of it.
//!
//! - [`Combine::Vote`]: each member votes for its class, the largest scaled logit (the lowest
//!   class on a tie); the class with the most votes wins, the lowest class on a tie.
//! - [`Combine::Sum`]: the class with the largest sum of scaled logits over the members wins,
//!   the lowest class on a tie.
//!
//! Members must read the same input codes (equal input format and scale), so one input stream
//! feeds them all, and have the same number of classes.
//!
//! ```
//! use qforge::qnn::ensemble::{vote, Combine};
//! // Three members' scaled logits for 3 classes: votes 1, 2, 1.
//! let u = vec![vec![0, 5, 1], vec![0, 1, 7], vec![2, 9, 3]];
//! assert_eq!(vote(&u), 1);
//! // A tie in votes (1 each for classes 2 and 0) goes to the lower class.
//! assert_eq!(vote(&[vec![0, 0, 4], vec![6, 0, 1]]), 0);
//! assert_eq!(Combine::Sum.name(), "sum");
//! ```

use crate::qnn::requant::Requant;
use crate::qnn::{QNet, QnnError};

/// How members' outputs become one class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Combine {
    /// Majority vote of the members' classes.
    Vote,
    /// The largest sum of scaled logits.
    Sum,
}

impl Combine {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Combine::Vote => "vote",
            Combine::Sum => "sum",
        }
    }
}

/// The index of the largest value, the lowest index on a tie (0 for an empty slice).
pub fn argmax(values: &[i128]) -> usize {
    let mut best = 0;
    for (j, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = j;
        }
    }
    best
}

/// The majority vote of members' scaled logits (one row per member): each member's class is
/// its [`argmax`], and the class with the most votes wins, the lowest class on a tie.
pub fn vote(scaled: &[Vec<i128>]) -> usize {
    let classes = scaled.first().map_or(0, Vec::len);
    let mut votes = vec![0i128; classes];
    for row in scaled {
        votes[argmax(row)] += 1;
    }
    argmax(&votes)
}

/// The class with the largest sum of members' scaled logits, the lowest class on a tie.
pub fn sum(scaled: &[Vec<i128>]) -> usize {
    let classes = scaled.first().map_or(0, Vec::len);
    let totals: Vec<i128> = (0..classes)
        .map(|j| scaled.iter().map(|row| row[j]).sum())
        .collect();
    argmax(&totals)
}

/// Members and the constants that bring their outputs to one scale.
#[derive(Debug, Clone)]
pub struct Ensemble {
    members: Vec<QNet>,
    constants: Vec<Vec<i128>>,
}

impl Ensemble {
    /// Checks the members (at least two, the same input codes, the same classes, positive
    /// output scales) and derives the per-class constants with `scale_bits`-bit multipliers.
    pub fn new(members: Vec<QNet>, scale_bits: u32) -> Result<Ensemble, QnnError> {
        let invalid = |m: String| QnnError::Net(m);
        if members.len() < 2 {
            return Err(invalid(format!(
                "an ensemble needs at least 2 members, not {}",
                members.len()
            )));
        }
        let first = &members[0];
        for (k, m) in members.iter().enumerate().skip(1) {
            if m.in_features() != first.in_features() || m.out_features() != first.out_features() {
                return Err(invalid(format!(
                    "member {k} ({}) maps {} inputs to {} classes, member 0 ({}) {} to {}",
                    m.name,
                    m.in_features(),
                    m.out_features(),
                    first.name,
                    first.in_features(),
                    first.out_features()
                )));
            }
            if m.input.format != first.input.format || m.input.scale != first.input.scale {
                return Err(invalid(format!(
                    "member {k} ({}) codes its inputs as {:?} at scale {}, member 0 as {:?} at scale {}: \
                     members must read the same input codes",
                    m.name, m.input.format, m.input.scale, first.input.format, first.input.scale
                )));
            }
        }
        let classes = first.out_features();
        let scales: Vec<Vec<f64>> = members
            .iter()
            .map(|m| (0..classes).map(|j| m.dequantize_output(j, 1)).collect())
            .collect();
        let smallest = scales
            .iter()
            .flatten()
            .copied()
            .fold(f64::INFINITY, f64::min);
        if !(smallest.is_finite() && smallest > 0.0) {
            return Err(invalid(
                "every member's output scales must be positive and finite".into(),
            ));
        }
        let ms: Vec<Vec<(i64, i32)>> = scales
            .iter()
            .map(|row| {
                row.iter()
                    .map(|s| Requant::multiplier_for(s / smallest, scale_bits))
                    .collect()
            })
            .collect();
        let top = ms.iter().flatten().map(|&(_, s)| s).max().unwrap_or(0);
        let constants = ms
            .iter()
            .map(|row| {
                row.iter()
                    .map(|&(m, s)| i128::from(m) << (top - s).clamp(0, 100))
                    .collect()
            })
            .collect();
        Ok(Ensemble { members, constants })
    }

    /// The members, in order.
    pub fn members(&self) -> &[QNet] {
        &self.members
    }

    /// `C[k][j]`: the constant member `k`'s class-`j` code is multiplied by.
    pub fn constants(&self) -> &[Vec<i128>] {
        &self.constants
    }

    /// The scaled logits of one image from each member's output codes (one slice per member).
    pub fn scaled(&self, outputs: &[&[i64]]) -> Vec<Vec<i128>> {
        outputs
            .iter()
            .zip(&self.constants)
            .map(|(o, c)| {
                o.iter()
                    .zip(c)
                    .map(|(&v, &k)| i128::from(v).saturating_mul(k))
                    .collect()
            })
            .collect()
    }

    /// The ensemble's class of one image from each member's output codes.
    pub fn class_of(&self, outputs: &[&[i64]], combine: Combine) -> usize {
        let u = self.scaled(outputs);
        match combine {
            Combine::Vote => vote(&u),
            Combine::Sum => sum(&u),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_go_to_the_lowest_class_in_every_step() {
        // Hand-derived: member argmaxes with ties inside a member.
        assert_eq!(argmax(&[3, 7, 7, 1]), 1);
        assert_eq!(argmax(&[-2, -2]), 0);
        // Votes 0, 0, 2, 2 with four members: a tie between classes 0 and 2 goes to 0.
        let u = vec![vec![5, 1, 5], vec![9, 0, 0], vec![0, 1, 2], vec![1, 1, 3]];
        assert_eq!(vote(&u), 0);
        // Sums 15, 3, 10: class 0.
        assert_eq!(sum(&u), 0);
        // Sums tie between classes 1 and 2 (6 each): class 1.
        assert_eq!(sum(&[vec![0, 4, 1], vec![0, 2, 5]]), 1);
        // Two members disagreeing, one vote each: the lower class.
        assert_eq!(vote(&[vec![0, 0, 1], vec![0, 1, 0]]), 1);
    }
}
