//! The lane of each weight kind, one file each, and the registry [`lane_of`]: the one place
//! that maps a weight code to its [`Lane`] implementation.
//!
//! | file | weight code | lane datapath |
//! |---|---|---|
//! | [`uniform`] | `uniform(bits: W)` | multiplier |
//! | [`pot`] | `pot(..)` | barrel shifter, XOR negate |
//! | [`apot`] | `apot(..)` | wired shifts per term, muxes, adder, XOR negate |
//! | [`binary`] | `binary` | XNOR-popcount over all lanes |
//! | [`ternary`] | `ternary` | gate, XOR negate |
//!
//! ```
//! use qforge::accel::lanes::lane_of;
//! use qforge::num::weights::WeightCode;
//! assert_eq!(lane_of(&WeightCode::Ternary).level(0b11), -1);
//! assert!(lane_of(&WeightCode::Binary).bipolar_activations());
//! ```

pub mod apot;
pub mod binary;
pub mod pot;
pub mod ternary;
pub mod uniform;

use super::lane::Lane;
use crate::num::weights::WeightCode;

/// The lane that multiplies by `code`'s weights.
pub fn lane_of(code: &WeightCode) -> Box<dyn Lane + '_> {
    match code {
        WeightCode::Uniform { bits } => Box::new(uniform::UniformLane { bits: *bits }),
        WeightCode::Pot(f) => Box::new(pot::PotLane(*f)),
        WeightCode::Apot(f) => Box::new(apot::ApotLane(f)),
        WeightCode::Binary => Box::new(binary::BinaryLane),
        WeightCode::Ternary => Box::new(ternary::TernaryLane),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::num::codes::{ApotFormat, PotFormat};
    use crate::num::weights::WeightFamily;

    /// A few codes of every family, and custom formats beside the standard ones.
    fn codes() -> Vec<WeightCode> {
        let mut v: Vec<WeightCode> = [1, 2, 4, 8, 13]
            .into_iter()
            .map(|bits| WeightCode::uniform(bits).unwrap())
            .collect();
        for (e, s, z) in [
            (1, true, true),
            (2, false, false),
            (3, true, false),
            (4, false, true),
        ] {
            v.push(WeightCode::pot(e, s, z).unwrap());
        }
        for (b, k, s) in [(1, 2, true), (2, 2, false), (3, 3, true), (1, 4, true)] {
            v.push(WeightCode::apot(b, k, s).unwrap());
        }
        v.push(WeightCode::Apot(ApotFormat {
            term_bits: 1,
            signed: true,
            shifts: vec![vec![7], vec![2]],
        }));
        v.push(WeightCode::Pot(PotFormat::new(6, true, true).unwrap()));
        v.extend([WeightCode::Binary, WeightCode::Ternary]);
        v
    }

    #[test]
    fn every_family_has_a_lane_that_decodes_as_the_code_does() {
        let codes = codes();
        for family in WeightFamily::ALL {
            assert!(codes.iter().any(|c| c.family() == family), "{family}");
        }
        for code in &codes {
            code.check().unwrap();
            let lane = lane_of(code);
            let (mut lo, mut hi) = (i64::MAX, i64::MIN);
            for c in 0..1u64 << code.code_bits() {
                if let Some(level) = code.level(c) {
                    assert_eq!(lane.level(c), level, "{code:?} code {c:#b}");
                    lo = lo.min(level);
                    hi = hi.max(level);
                }
            }
            assert_eq!(lane.level_range(), code.level_range(), "{code:?}");
            assert_eq!(lane.level_range(), (lo, hi), "{code:?}");
        }
    }

    #[test]
    fn the_hardware_decodes_invalid_ternary_codes_as_zero() {
        assert_eq!(WeightCode::Ternary.level(0b10), None);
        assert_eq!(lane_of(&WeightCode::Ternary).level(0b10), 0);
    }
}
