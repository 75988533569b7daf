//! Exact dyadic rationals `mantissa · 2^exp`: the common currency of fixed-point casts.
//!
//! Every fixed-point value and every finite `f64` is dyadic, so converting between them, comparing
//! them and printing them in decimal (a dyadic value always has a finite decimal expansion) can
//! all be done without rounding.
//!
//! ```
//! use qforge::num::dyadic::Dyadic;
//! let x = Dyadic::from_f64(-2.5).unwrap();
//! assert_eq!(x, Dyadic::new(-5, -1));
//! assert_eq!(x.to_string(), "-2.5");
//! assert_eq!(Dyadic::new(1, -9).to_string(), "0.001953125");
//! assert_eq!(x.to_f64(), -2.5);
//! assert_eq!(Dyadic::from_int(3).checked_mul(x), Some(Dyadic::new(-15, -1)));
//! assert_eq!((-x).abs().mul_pow2(2), Some(Dyadic::from_int(10)));
//! ```

use std::cmp::Ordering;
use std::fmt;

/// The exact value `mantissa · 2^exp`, kept normalised (odd mantissa, or zero with `exp = 0`),
/// so that equal values compare equal field by field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Dyadic {
    mantissa: i128,
    exp: i32,
}

/// A floating-point value that is not a finite number, so has no exact dyadic value.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[error("{0} is not a finite number")]
pub struct NotFinite(pub f64);

impl Dyadic {
    /// Zero.
    pub const ZERO: Dyadic = Dyadic {
        mantissa: 0,
        exp: 0,
    };

    /// `mantissa · 2^exp`, normalised. Exponents beyond `i32` are clamped by the caller's
    /// responsibility: every exponent qforge produces is far inside it.
    pub fn new(mantissa: i128, exp: i32) -> Self {
        if mantissa == 0 {
            return Dyadic::ZERO;
        }
        let tz = mantissa.trailing_zeros();
        Dyadic {
            mantissa: mantissa >> tz,
            exp: exp.saturating_add(tz as i32),
        }
    }

    /// The exact value of a finite `f64`.
    pub fn from_f64(x: f64) -> Result<Self, NotFinite> {
        let (m, e) = f64_parts(x).ok_or(NotFinite(x))?;
        Ok(Dyadic::new(i128::from(m), e))
    }

    /// The integer `n`.
    pub fn from_int(n: i128) -> Self {
        Dyadic::new(n, 0)
    }

    /// The normalised mantissa (odd, or 0).
    pub fn mantissa(self) -> i128 {
        self.mantissa
    }

    /// The normalised binary exponent.
    pub fn exp(self) -> i32 {
        self.exp
    }

    /// Whether the value is below zero.
    pub fn is_negative(self) -> bool {
        self.mantissa < 0
    }

    /// `-1`, `0` or `1`.
    pub fn signum(self) -> i32 {
        self.mantissa.signum() as i32
    }

    /// The absolute value (a normalised mantissa is odd, so never `i128::MIN`).
    pub fn abs(self) -> Self {
        Dyadic {
            mantissa: self.mantissa.abs(),
            exp: self.exp,
        }
    }

    /// The exact product, or `None` if the mantissa would exceed `i128` or the exponent `i32`.
    pub fn checked_mul(self, other: Dyadic) -> Option<Self> {
        let m = self.mantissa.checked_mul(other.mantissa)?;
        let e = self.exp.checked_add(other.exp)?;
        Some(Dyadic::new(m, e))
    }

    /// The value times `2^k`, or `None` if the exponent overflows.
    pub fn mul_pow2(self, k: i32) -> Option<Self> {
        if self.mantissa == 0 {
            return Some(self);
        }
        Some(Dyadic {
            mantissa: self.mantissa,
            exp: self.exp.checked_add(k)?,
        })
    }

    /// The value as an `f64` if it is exactly representable, else `None`.
    pub fn to_f64_exact(self) -> Option<f64> {
        let v = self.to_f64();
        (Dyadic::from_f64(v).ok() == Some(self)).then_some(v)
    }

    /// The nearest `f64` (ties to even), exact whenever the value is representable; values
    /// beyond the `f64` range become ±infinity.
    pub fn to_f64(self) -> f64 {
        if self.mantissa == 0 {
            return 0.0;
        }
        let neg = self.mantissa < 0;
        let mag = self.mantissa.unsigned_abs();
        let bits = 128 - mag.leading_zeros() as i64;
        let e = i64::from(self.exp);
        // Lowest bit position an f64 keeps: 53 significant bits, but never below 2^-1074.
        let lowest = (e + bits - 53).max(-1074);
        let (mag, e) = if lowest > e {
            let shift = (lowest - e) as u32;
            let m = crate::num::rounding::shr_round(
                mag as i128,
                shift,
                crate::num::rounding::RoundingMode::HalfEven,
            );
            (m as u128, lowest)
        } else {
            (mag, e)
        };
        let bits = 128 - mag.leading_zeros() as i64;
        let magnitude = if e + bits - 1 > 1023 {
            f64::INFINITY
        } else {
            // mag < 2^54 here and mag · 2^e is representable, so one multiplication is exact.
            (mag as f64) * pow2(e as i32)
        };
        if neg {
            -magnitude
        } else {
            magnitude
        }
    }
}

impl std::ops::Neg for Dyadic {
    type Output = Dyadic;

    fn neg(self) -> Dyadic {
        // A normalised mantissa is odd or zero, so never `i128::MIN`: negation cannot overflow.
        Dyadic {
            mantissa: -self.mantissa,
            exp: self.exp,
        }
    }
}

/// The exact power of two `2^e` for `e` in `[-1074, 1023]`.
fn pow2(e: i32) -> f64 {
    if e >= -1022 {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (e + 1074))
    }
}

/// Splits a finite `f64` into `(m, e)` with value `m · 2^e`, `|m| < 2^53`; `None` for NaN/inf.
#[inline]
pub(crate) fn f64_parts(x: f64) -> Option<(i64, i32)> {
    let bits = x.to_bits();
    let exp_field = ((bits >> 52) & 0x7ff) as i32;
    let frac = (bits & ((1u64 << 52) - 1)) as i64;
    if exp_field == 0x7ff {
        return None;
    }
    let (m, e) = if exp_field == 0 {
        (frac, -1074)
    } else {
        (frac | (1i64 << 52), exp_field - 1075)
    };
    Some((if bits >> 63 != 0 { -m } else { m }, e))
}

impl Ord for Dyadic {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.mantissa, other.mantissa);
        match a.signum().cmp(&b.signum()) {
            Ordering::Equal => {}
            unequal => return unequal,
        }
        if a == 0 {
            return Ordering::Equal;
        }
        // Same sign: compare magnitudes, then flip for negatives.
        let mag = cmp_magnitude(a.unsigned_abs(), self.exp, b.unsigned_abs(), other.exp);
        if a < 0 {
            mag.reverse()
        } else {
            mag
        }
    }
}

impl PartialOrd for Dyadic {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compares `a · 2^ea` with `b · 2^eb` for non-zero magnitudes.
fn cmp_magnitude(a: u128, ea: i32, b: u128, eb: i32) -> Ordering {
    // Compare the positions of the top bits first; only when they agree align the mantissas.
    let top_a = i64::from(ea) + 128 - i64::from(a.leading_zeros());
    let top_b = i64::from(eb) + 128 - i64::from(b.leading_zeros());
    if top_a != top_b {
        return top_a.cmp(&top_b);
    }
    // Same top bit: shift both so the top bit is bit 127; no bits are lost.
    (a << a.leading_zeros()).cmp(&(b << b.leading_zeros()))
}

impl fmt::Display for Dyadic {
    /// The exact decimal expansion in its shortest form: `-3`, `-2.5`, `0.001953125`. It has
    /// about `0.7 · |exp|` digits, so print values from fixed-point formats and `f64`s, not
    /// values with exponents in the millions.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&exact_decimal(self.mantissa, self.exp))
    }
}

/// Writes `m · 2^e` as an exact decimal, without exponent notation or trailing zeros.
pub(crate) fn exact_decimal(m: i128, e: i32) -> String {
    if m == 0 {
        return "0".to_string();
    }
    let tz = m.trailing_zeros();
    let (mag, e) = (m.unsigned_abs() >> tz, i64::from(e) + i64::from(tz));
    let mut big = BigDec::from_u128(mag);
    let frac_digits = if e >= 0 {
        let mut left = e as u64;
        while left > 0 {
            let step = left.min(29);
            big.mul_small(1u32 << step);
            left -= step;
        }
        0usize
    } else {
        // m / 2^k = m · 5^k / 10^k.
        let k = (-e) as u64;
        let mut left = k;
        while left > 0 {
            let step = left.min(13);
            big.mul_small(5u32.pow(step as u32));
            left -= step;
        }
        k as usize
    };
    let digits = big.to_digits();
    let mut out = String::with_capacity(digits.len() + 3);
    if m < 0 {
        out.push('-');
    }
    if frac_digits == 0 {
        out.push_str(&digits);
    } else if digits.len() > frac_digits {
        let (int, frac) = digits.split_at(digits.len() - frac_digits);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', frac_digits - digits.len()));
        out.push_str(&digits);
    }
    // The mantissa was made odd, so a fractional expansion ends in 5: no trailing zeros.
    out
}

/// A non-negative integer in base 10^9, little-endian limbs; just enough to print exactly.
struct BigDec {
    limbs: Vec<u32>,
}

const LIMB: u64 = 1_000_000_000;

impl BigDec {
    fn from_u128(mut x: u128) -> Self {
        let mut limbs = Vec::new();
        while x > 0 {
            limbs.push((x % u128::from(LIMB)) as u32);
            x /= u128::from(LIMB);
        }
        BigDec { limbs }
    }

    fn mul_small(&mut self, k: u32) {
        let mut carry = 0u64;
        for limb in &mut self.limbs {
            let v = u64::from(*limb) * u64::from(k) + carry;
            *limb = (v % LIMB) as u32;
            carry = v / LIMB;
        }
        while carry > 0 {
            self.limbs.push((carry % LIMB) as u32);
            carry /= LIMB;
        }
    }

    fn to_digits(&self) -> String {
        let mut s = String::new();
        let mut iter = self.limbs.iter().rev();
        if let Some(top) = iter.next() {
            s.push_str(&top.to_string());
        }
        for limb in iter {
            s.push_str(&format!("{limb:09}"));
        }
        if s.is_empty() {
            s.push('0');
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_exact_shortest_decimals() {
        assert_eq!(Dyadic::new(-3, 0).to_string(), "-3");
        assert_eq!(Dyadic::new(-5, -1).to_string(), "-2.5");
        assert_eq!(Dyadic::new(1, -9).to_string(), "0.001953125");
        assert_eq!(Dyadic::new(12, -3).to_string(), "1.5");
        assert_eq!(Dyadic::new(1, 70).to_string(), "1180591620717411303424");
        assert_eq!(Dyadic::new(0, 5).to_string(), "0");
        // 2^-1022 = 5^1022 / 10^1022: 1022 fractional digits, the last of them 5.
        let tiny = Dyadic::from_f64(f64::MIN_POSITIVE).unwrap().to_string();
        assert_eq!(tiny.len(), "0.".len() + 1022);
        assert!(tiny.starts_with("0.000") && tiny.ends_with('5'));
    }

    #[test]
    fn f64_round_trips_exactly() {
        for x in [
            0.0,
            -0.0,
            1.0,
            -2.5,
            -3.75,
            0.1,
            1e300,
            -1e-300,
            5e-324,
            2.2250738585072014e-308,
            f64::MAX,
        ] {
            let d = Dyadic::from_f64(x).unwrap();
            assert_eq!(d.to_f64(), x, "{x}");
            assert_eq!(d.to_f64_exact(), Some(x), "{x}");
        }
        assert_eq!(Dyadic::new((1 << 60) + 1, 0).to_f64_exact(), None);
        assert!(Dyadic::from_f64(f64::NAN).is_err());
        assert!(Dyadic::from_f64(f64::NEG_INFINITY).is_err());
    }

    #[test]
    fn from_f64_is_exact_and_normalised() {
        assert_eq!(Dyadic::from_f64(0.0).ok(), Some(Dyadic::ZERO));
        assert_eq!(Dyadic::from_f64(-0.0).ok(), Some(Dyadic::ZERO));
        assert_eq!(Dyadic::from_f64(12.0).ok(), Some(Dyadic::new(3, 2)));
        assert_eq!(
            Dyadic::from_f64(f64::from_bits(1)).ok(),
            Some(Dyadic::new(1, -1074))
        );
        assert_eq!(Dyadic::from_f64(f64::NAN).ok(), None);
    }

    #[test]
    fn decimal_strings_by_hand() {
        assert_eq!(Dyadic::new(1, -1).to_string(), "0.5");
        assert_eq!(Dyadic::new(-1, -3).to_string(), "-0.125");
        assert_eq!(Dyadic::new(3, 3).to_string(), "24");
        assert_eq!(Dyadic::new(5, -10).to_string(), "0.0048828125");
        assert_eq!(Dyadic::ZERO.to_string(), "0");
        assert_eq!(Dyadic::new(1, 64).to_string(), "18446744073709551616");
        let tiny = Dyadic::from_f64(f64::from_bits(1)).unwrap().to_string();
        // 2^-1074 = 4.9406564584124654e-324; 5^1074 ends in 5625 (5^n mod 10^4 has period 4).
        let zeros = "0".repeat(323);
        assert!(tiny.starts_with(&format!("0.{zeros}4940656458412465441765")));
        assert!(tiny.ends_with("5625"));
        assert_eq!(tiny.len(), 2 + 1074);
    }

    #[test]
    fn products_powers_of_two_and_signs_are_exact() {
        let x = Dyadic::new(-3, -4); // -0.1875
        assert_eq!(x.signum(), -1);
        assert_eq!(Dyadic::ZERO.signum(), 0);
        assert_eq!(x.abs(), Dyadic::new(3, -4));
        assert_eq!(-x, Dyadic::new(3, -4));
        assert_eq!(
            x.checked_mul(Dyadic::from_int(16)),
            Some(Dyadic::from_int(-3))
        );
        // Normalised mantissas are odd, so only odd factors can overflow the mantissa.
        assert_eq!(
            Dyadic::new((1 << 100) + 1, 0).checked_mul(Dyadic::new((1 << 30) + 1, 0)),
            None
        );
        assert_eq!(
            Dyadic::new(1 << 100, 0).checked_mul(Dyadic::new(1 << 30, 0)),
            Some(Dyadic::new(1, 130))
        );
        assert_eq!(
            Dyadic::new(i128::MAX, 0).checked_mul(Dyadic::from_int(3)),
            None
        );
        assert_eq!(x.mul_pow2(4), Some(Dyadic::from_int(-3)));
        assert_eq!(Dyadic::ZERO.mul_pow2(i32::MAX), Some(Dyadic::ZERO));
        assert_eq!(Dyadic::new(1, i32::MAX).mul_pow2(1), None);
    }

    #[test]
    fn to_f64_rounds_ties_to_even_and_overflows_to_infinity() {
        // 2^53 + 1 is a tie between 2^53 and 2^53 + 2.
        assert_eq!(Dyadic::new((1 << 53) + 1, 0).to_f64(), 9007199254740992.0);
        assert_eq!(Dyadic::new((1 << 53) + 3, 0).to_f64(), 9007199254740996.0);
        assert_eq!(Dyadic::new(1, 1024).to_f64(), f64::INFINITY);
        assert_eq!(Dyadic::new(-1, -1076).to_f64(), -0.0);
        assert_eq!(Dyadic::new(3, -1076).to_f64(), 5e-324);
    }

    #[test]
    fn ordering_is_by_value() {
        let a = Dyadic::new(3, -1); // 1.5
        let b = Dyadic::new(1, 0);
        assert!(a > b);
        assert!(Dyadic::new(-3, -1) < Dyadic::new(-1, 0));
        assert!(Dyadic::new(1, 1000) > Dyadic::new(i128::MAX, 0));
        assert!(Dyadic::new(-1, -1000) > Dyadic::new(-1, -999));
        assert_eq!(Dyadic::new(4, 0), Dyadic::new(1, 2));
        assert!(-a < -b);
        assert!(Dyadic::new(1, -200) > Dyadic::ZERO);
        assert_eq!(Dyadic::new(6, 0).cmp(&Dyadic::new(3, 1)), Ordering::Equal);
        assert!(Dyadic::new((1 << 100) + 1, -100) > Dyadic::new(1, 0));
    }
}
