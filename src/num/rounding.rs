//! Rounding modes and exact integer rounding of rationals `n / d` and of right shifts.
//!
//! The modes and their names in each ecosystem (DESIGN.md §3):
//!
//! | qforge | ap_fixed / ac_fixed | QONNX | rule |
//! |---|---|---|---|
//! | `floor` | AP_TRN | FLOOR | toward −∞ |
//! | `ceil` | – | CEIL | toward +∞ |
//! | `toward_zero` | AP_TRN_ZERO | DOWN | truncate magnitude |
//! | `away_from_zero` | – | UP | grow magnitude |
//! | `half_to_pos_inf` | AP_RND | – | ties toward +∞ |
//! | `half_to_neg_inf` | AP_RND_MIN_INF | – | ties toward −∞ |
//! | `half_toward_zero` | AP_RND_ZERO | HALF_DOWN | ties toward 0 |
//! | `half_away_from_zero` | AP_RND_INF | HALF_UP | ties away from 0 |
//! | `half_even` | AP_RND_CONV | ROUND | ties to even |
//! | `half_odd` | AC_RND_CONV_ODD | – | ties to odd |

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How a value that falls between two representable integers is resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundingMode {
    /// Toward −∞ (AP_TRN, QONNX FLOOR).
    Floor,
    /// Toward +∞ (QONNX CEIL).
    Ceil,
    /// Toward zero (AP_TRN_ZERO, QONNX DOWN).
    TowardZero,
    /// Away from zero (QONNX UP).
    AwayFromZero,
    /// Nearest, ties toward +∞ (AP_RND).
    HalfToPosInf,
    /// Nearest, ties toward −∞ (AP_RND_MIN_INF).
    HalfToNegInf,
    /// Nearest, ties toward zero (AP_RND_ZERO, QONNX HALF_DOWN).
    HalfTowardZero,
    /// Nearest, ties away from zero (AP_RND_INF, QONNX HALF_UP).
    HalfAwayFromZero,
    /// Nearest, ties to even (AP_RND_CONV, QONNX ROUND).
    HalfEven,
    /// Nearest, ties to odd (AC_RND_CONV_ODD).
    HalfOdd,
}

impl RoundingMode {
    /// Every mode, in the order of the table above.
    pub const ALL: [RoundingMode; 10] = [
        RoundingMode::Floor,
        RoundingMode::Ceil,
        RoundingMode::TowardZero,
        RoundingMode::AwayFromZero,
        RoundingMode::HalfToPosInf,
        RoundingMode::HalfToNegInf,
        RoundingMode::HalfTowardZero,
        RoundingMode::HalfAwayFromZero,
        RoundingMode::HalfEven,
        RoundingMode::HalfOdd,
    ];

    /// The qforge name (`half_even`, ...), as used in RON files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            RoundingMode::Floor => "floor",
            RoundingMode::Ceil => "ceil",
            RoundingMode::TowardZero => "toward_zero",
            RoundingMode::AwayFromZero => "away_from_zero",
            RoundingMode::HalfToPosInf => "half_to_pos_inf",
            RoundingMode::HalfToNegInf => "half_to_neg_inf",
            RoundingMode::HalfTowardZero => "half_toward_zero",
            RoundingMode::HalfAwayFromZero => "half_away_from_zero",
            RoundingMode::HalfEven => "half_even",
            RoundingMode::HalfOdd => "half_odd",
        }
    }

    /// The ap_fixed / ac_fixed quantization-mode name, if the mode has one.
    pub fn ap_name(self) -> Option<&'static str> {
        match self {
            RoundingMode::Floor => Some("AP_TRN"),
            RoundingMode::TowardZero => Some("AP_TRN_ZERO"),
            RoundingMode::HalfToPosInf => Some("AP_RND"),
            RoundingMode::HalfToNegInf => Some("AP_RND_MIN_INF"),
            RoundingMode::HalfTowardZero => Some("AP_RND_ZERO"),
            RoundingMode::HalfAwayFromZero => Some("AP_RND_INF"),
            RoundingMode::HalfEven => Some("AP_RND_CONV"),
            RoundingMode::HalfOdd => Some("AC_RND_CONV_ODD"),
            RoundingMode::Ceil | RoundingMode::AwayFromZero => None,
        }
    }

    /// The QONNX `rounding_mode` name, if the mode has one.
    pub fn qonnx_name(self) -> Option<&'static str> {
        match self {
            RoundingMode::Floor => Some("FLOOR"),
            RoundingMode::Ceil => Some("CEIL"),
            RoundingMode::TowardZero => Some("DOWN"),
            RoundingMode::AwayFromZero => Some("UP"),
            RoundingMode::HalfTowardZero => Some("HALF_DOWN"),
            RoundingMode::HalfAwayFromZero => Some("HALF_UP"),
            RoundingMode::HalfEven => Some("ROUND"),
            RoundingMode::HalfToPosInf | RoundingMode::HalfToNegInf | RoundingMode::HalfOdd => None,
        }
    }

    /// Parses an ap_fixed / ac_fixed mode (`AP_RND_CONV`, `RND_CONV`, `AC_TRN`, ...).
    pub fn from_ap(s: &str) -> Option<Self> {
        let upper = s.trim().to_ascii_uppercase();
        let core = upper
            .strip_prefix("AP_")
            .or_else(|| upper.strip_prefix("AC_"))
            .unwrap_or(&upper);
        Some(match core {
            "TRN" => RoundingMode::Floor,
            "TRN_ZERO" => RoundingMode::TowardZero,
            "RND" => RoundingMode::HalfToPosInf,
            "RND_MIN_INF" => RoundingMode::HalfToNegInf,
            "RND_ZERO" => RoundingMode::HalfTowardZero,
            "RND_INF" => RoundingMode::HalfAwayFromZero,
            "RND_CONV" => RoundingMode::HalfEven,
            "RND_CONV_ODD" => RoundingMode::HalfOdd,
            _ => return None,
        })
    }

    /// Parses a QONNX `rounding_mode` (`ROUND`, `CEIL`, `FLOOR`, `UP`, `DOWN`, `HALF_UP`,
    /// `HALF_DOWN`; `ROUND_TO_ZERO` is accepted as `DOWN`).
    pub fn from_qonnx(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_uppercase().as_str() {
            "ROUND" | "HALF_EVEN" => RoundingMode::HalfEven,
            "CEIL" => RoundingMode::Ceil,
            "FLOOR" => RoundingMode::Floor,
            "UP" => RoundingMode::AwayFromZero,
            "DOWN" | "ROUND_TO_ZERO" => RoundingMode::TowardZero,
            "HALF_UP" => RoundingMode::HalfAwayFromZero,
            "HALF_DOWN" => RoundingMode::HalfTowardZero,
            _ => return None,
        })
    }
}

impl fmt::Display for RoundingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A rounding-mode name that is none of qforge's, ap_fixed's or QONNX's spellings.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown rounding mode '{0}' (expected one of floor, ceil, toward_zero, away_from_zero, half_to_pos_inf, half_to_neg_inf, half_toward_zero, half_away_from_zero, half_even, half_odd, or an AP_*/QONNX name)")]
pub struct UnknownRoundingMode(pub String);

impl FromStr for RoundingMode {
    type Err = UnknownRoundingMode;

    /// Accepts the qforge name, then the ap_fixed name, then the QONNX name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        RoundingMode::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(t))
            .or_else(|| RoundingMode::from_ap(t))
            .or_else(|| RoundingMode::from_qonnx(t))
            .ok_or_else(|| UnknownRoundingMode(t.to_string()))
    }
}

/// Rounds the exact rational `n / d` to an integer. `d` must be positive.
///
/// # Panics
/// If `d <= 0` (a programming error: every caller divides by a positive scale).
#[inline]
pub fn div_round(n: i128, d: i128, mode: RoundingMode) -> i128 {
    assert!(d > 0, "div_round: divisor must be positive");
    let q = n.div_euclid(d);
    let r = n.rem_euclid(d);
    resolve(q, n < 0, r.cmp(&(d - r)), r == 0, mode)
}

/// Rounds `x / 2^shift` to an integer, exactly, for any shift.
#[inline]
pub fn shr_round(x: i128, shift: u32, mode: RoundingMode) -> i128 {
    if shift == 0 {
        return x;
    }
    // Fold the bits that lie below the half position into a sticky bit, so the final division
    // is by at most 2^126 and still sees whether the remainder is zero, below, at or above half.
    let (x, shift) = if shift > 126 {
        let k = shift - 126;
        let (kept, dropped_nonzero) = if k >= 127 {
            (x >> 127, x & i128::MAX != 0)
        } else {
            (x >> k, x & ((1i128 << k) - 1) != 0)
        };
        // Bit 0 of `kept` lies below the half position (bit 125) of the remaining shift, so
        // OR-ing the sticky bit into it keeps every comparison with one half unchanged.
        (kept | i128::from(dropped_nonzero), 126)
    } else {
        (x, shift)
    };
    let q = x >> shift;
    let r = x & ((1i128 << shift) - 1);
    let half = 1i128 << (shift - 1);
    resolve(q, x < 0, r.cmp(&half), r == 0, mode)
}

/// [`shr_round`] by a fixed shift in a fixed mode, as one addition and one arithmetic shift:
/// `(x + bias) >> shift`, where the bias below the cut is the mode's constant plus terms for a
/// negative `x` and for an odd floor (ties to even or odd). No branch depends on `x`, so a loop
/// over many values runs without mispredictions. Valid for `|x| < 2^62`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShiftRounder {
    shift: u32,
    base: i64,
    if_negative: i64,
    if_odd: i64,
}

impl ShiftRounder {
    /// The rounder for `shift` (at most 62) in `mode`.
    pub fn new(shift: u32, mode: RoundingMode) -> Option<ShiftRounder> {
        if shift > 62 {
            return None;
        }
        if shift == 0 {
            return Some(ShiftRounder {
                shift,
                base: 0,
                if_negative: 0,
                if_odd: 0,
            });
        }
        let mask = (1i64 << shift) - 1;
        let half = 1i64 << (shift - 1);
        let (base, if_negative, if_odd) = match mode {
            RoundingMode::Floor => (0, 0, 0),
            RoundingMode::Ceil => (mask, 0, 0),
            RoundingMode::TowardZero => (0, mask, 0),
            RoundingMode::AwayFromZero => (mask, -mask, 0),
            RoundingMode::HalfToPosInf => (half, 0, 0),
            RoundingMode::HalfToNegInf => (half - 1, 0, 0),
            RoundingMode::HalfTowardZero => (half - 1, 1, 0),
            RoundingMode::HalfAwayFromZero => (half, -1, 0),
            RoundingMode::HalfEven => (half - 1, 0, 1),
            RoundingMode::HalfOdd => (half, 0, -1),
        };
        Some(ShiftRounder {
            shift,
            base,
            if_negative,
            if_odd,
        })
    }

    /// The shift and the three bias terms: `(x + base + [x < 0]·if_negative +
    /// [floor odd]·if_odd) >> shift`, for code that applies many rounders side by side.
    pub fn parts(&self) -> (u32, i64, i64, i64) {
        (self.shift, self.base, self.if_negative, self.if_odd)
    }

    /// `x / 2^shift` rounded; `x` must lie in `(−2^62, 2^62)`.
    #[inline(always)]
    pub fn apply(&self, x: i64) -> i64 {
        let negative = (x >> 63) & 1;
        let odd = (x >> self.shift) & 1;
        (x + self.base + negative * self.if_negative + odd * self.if_odd) >> self.shift
    }
}

/// [`shr_round`] on i64: [`ShiftRounder`] where it applies (`|x| < 2^62`, `shift ≤ 62`),
/// the exact i128 form otherwise.
#[inline]
pub fn shr_round_i64(x: i64, shift: u32, mode: RoundingMode) -> i64 {
    match ShiftRounder::new(shift, mode) {
        Some(r) if (-(1i64 << 62) + 1..(1i64 << 62)).contains(&x) => r.apply(x),
        _ => shr_round(i128::from(x), shift, mode) as i64,
    }
}

/// Chooses between `q` (the floor) and `q + 1` given how the remainder compares with one half.
#[inline]
fn resolve(
    q: i128,
    negative: bool,
    remainder_vs_half: std::cmp::Ordering,
    exact: bool,
    mode: RoundingMode,
) -> i128 {
    use std::cmp::Ordering::*;
    if exact {
        return q;
    }
    let up = match mode {
        RoundingMode::Floor => false,
        RoundingMode::Ceil => true,
        RoundingMode::TowardZero => negative,
        RoundingMode::AwayFromZero => !negative,
        _ => match remainder_vs_half {
            Less => false,
            Greater => true,
            Equal => match mode {
                RoundingMode::HalfToPosInf => true,
                RoundingMode::HalfToNegInf => false,
                RoundingMode::HalfTowardZero => negative,
                RoundingMode::HalfAwayFromZero => !negative,
                RoundingMode::HalfEven => q & 1 != 0,
                RoundingMode::HalfOdd => q & 1 == 0,
                _ => unreachable!("directed modes are handled above"),
            },
        },
    };
    if up {
        q + 1
    } else {
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RoundingMode::*;

    proptest::proptest! {
        #[test]
        fn shr_round_i64_agrees_with_exact(v in proptest::prelude::any::<i64>(), s in 0u32..=64, m in 0usize..10) {
            let mode = RoundingMode::ALL[m];
            proptest::prop_assert_eq!(i128::from(shr_round_i64(v, s, mode)), shr_round(i128::from(v), s, mode));
        }
    }

    /// The branch-free i64 form against the exact i128 one: every mode, every small value at
    /// small shifts, and values near the limits at every shift.
    #[test]
    fn shr_round_i64_equals_shr_round() {
        for &mode in RoundingMode::ALL.iter() {
            for shift in 0..=12u32 {
                for x in -5000i64..=5000 {
                    assert_eq!(
                        i128::from(shr_round_i64(x, shift, mode)),
                        shr_round(i128::from(x), shift, mode),
                        "{mode:?} {x} >> {shift}"
                    );
                }
            }
            let edge = (1i64 << 62) - 1;
            for shift in 0..=64u32 {
                for x in [
                    edge,
                    -edge,
                    edge - 7,
                    -edge + 7,
                    1 << 40,
                    -(1 << 40) - 1,
                    i64::MAX,
                    i64::MIN,
                ] {
                    assert_eq!(
                        i128::from(shr_round_i64(x, shift, mode)),
                        shr_round(i128::from(x), shift, mode),
                        "{mode:?} {x} >> {shift}"
                    );
                }
            }
        }
    }

    /// Hand-derived: each row is x (in halves) and the result for every mode in `ALL` order.
    #[test]
    fn tie_table_matches_hand_derivation() {
        // x = n/2 for n in 1, -1, 3, -3, 5, -5
        let table: [(i128, [i128; 10]); 6] = [
            (1, [0, 1, 0, 1, 1, 0, 0, 1, 0, 1]),
            (-1, [-1, 0, 0, -1, 0, -1, 0, -1, 0, -1]),
            (3, [1, 2, 1, 2, 2, 1, 1, 2, 2, 1]),
            (-3, [-2, -1, -1, -2, -1, -2, -1, -2, -2, -1]),
            (5, [2, 3, 2, 3, 3, 2, 2, 3, 2, 3]),
            (-5, [-3, -2, -2, -3, -2, -3, -2, -3, -2, -3]),
        ];
        for (halves, expected) in table {
            for (mode, want) in RoundingMode::ALL.into_iter().zip(expected) {
                assert_eq!(div_round(halves, 2, mode), want, "{halves}/2 {mode}");
                assert_eq!(shr_round(halves, 1, mode), want, "{halves}>>1 {mode}");
            }
        }
    }

    #[test]
    fn minus_2_point_3_is_not_a_tie() {
        // -2.3 = -23/10
        let expected = [-3, -2, -2, -3, -2, -2, -2, -2, -2, -2];
        for (mode, want) in RoundingMode::ALL.into_iter().zip(expected) {
            assert_eq!(div_round(-23, 10, mode), want, "{mode}");
        }
    }

    #[test]
    fn huge_shifts_keep_sign_and_ties() {
        assert_eq!(shr_round(-1, 200, Floor), -1);
        assert_eq!(shr_round(-1, 200, HalfEven), 0);
        assert_eq!(shr_round(1, 200, Ceil), 1);
        assert_eq!(shr_round(1i128 << 126, 127, HalfToPosInf), 1);
        assert_eq!(shr_round(1i128 << 126, 127, HalfToNegInf), 0);
        assert_eq!(shr_round((1i128 << 126) + 1, 127, HalfToNegInf), 1);
        assert_eq!(shr_round(i128::MIN, 127, Floor), -1);
        assert_eq!(shr_round(i128::MIN, 128, HalfToPosInf), 0);
        assert_eq!(shr_round(i128::MIN, 128, HalfToNegInf), -1);
    }

    #[test]
    fn names_round_trip() {
        for m in RoundingMode::ALL {
            assert_eq!(m.name().parse::<RoundingMode>().unwrap(), m);
            if let Some(ap) = m.ap_name() {
                assert_eq!(RoundingMode::from_ap(ap), Some(m));
            }
            if let Some(q) = m.qonnx_name() {
                assert_eq!(RoundingMode::from_qonnx(q), Some(m));
            }
        }
        assert!("half".parse::<RoundingMode>().is_err());
    }
}
