//! Exact dyadic rationals `m · 2^e`, the values every quantizer here produces, and their exact
//! decimal printing.
//!
//! Every finite `f64` is a dyadic rational, and so is every product of one with an integer or a
//! power of two; comparing and multiplying them exactly lets the quantizers decide ties and
//! boundaries without floating-point error. A dyadic rational has a finite decimal expansion,
//! which [`Dyadic::to_decimal_string`] prints in full.
//!
//! ```
//! use qforge::quant::dyadic::Dyadic;
//! let x = Dyadic::from_f64(-0.1875).unwrap(); // -3/16
//! assert_eq!((x.mantissa, x.exponent), (-3, -4));
//! assert_eq!(x.to_decimal_string(), "-0.1875");
//! assert_eq!(Dyadic::new(5, 100).to_decimal_string(), "6338253001141147007483516026880");
//! ```

use std::cmp::Ordering;
use std::fmt;

/// The exact value `mantissa · 2^exponent`, kept normalised: the mantissa is odd, or zero with
/// exponent 0, so equal values compare equal field by field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Dyadic {
    /// The odd (or zero) integer factor.
    pub mantissa: i128,
    /// The power of two.
    pub exponent: i32,
}

impl Dyadic {
    /// Zero.
    pub const ZERO: Dyadic = Dyadic {
        mantissa: 0,
        exponent: 0,
    };

    /// `mantissa · 2^exponent`, normalised.
    pub fn new(mantissa: i128, exponent: i32) -> Self {
        if mantissa == 0 {
            return Dyadic::ZERO;
        }
        let tz = mantissa.trailing_zeros();
        Dyadic {
            mantissa: mantissa >> tz,
            exponent: exponent.saturating_add(tz as i32),
        }
    }

    /// The integer `n`.
    pub fn from_int(n: i128) -> Self {
        Dyadic::new(n, 0)
    }

    /// The exact value of a finite `f64`; `None` for NaN and infinities.
    pub fn from_f64(x: f64) -> Option<Self> {
        if !x.is_finite() {
            return None;
        }
        let bits = x.to_bits();
        let negative = bits >> 63 == 1;
        let biased = ((bits >> 52) & 0x7ff) as i32;
        let fraction = (bits & ((1u64 << 52) - 1)) as i128;
        let (m, e) = if biased == 0 {
            (fraction, -1074)
        } else {
            (fraction | (1i128 << 52), biased - 1075)
        };
        Some(Dyadic::new(if negative { -m } else { m }, e))
    }

    /// The nearest `f64` (exact whenever the value is representable; see [`Dyadic::to_f64_exact`]).
    pub fn to_f64(self) -> f64 {
        if self.mantissa == 0 {
            return 0.0;
        }
        // Keep at most 64 significant bits with a sticky bit, so the one rounding below
        // (u64 → f64) is the only one for normal results.
        let negative = self.mantissa < 0;
        let mut m = self.mantissa.unsigned_abs();
        let mut e = i64::from(self.exponent);
        let len = 128 - m.leading_zeros();
        if len > 64 {
            let drop = len - 64;
            let sticky = u128::from(m & ((1u128 << drop) - 1) != 0);
            m = (m >> drop) | sticky;
            e += i64::from(drop);
        }
        let v = ldexp(m as u64 as f64, e);
        if negative {
            -v
        } else {
            v
        }
    }

    /// The value as an `f64` if it is exactly representable.
    pub fn to_f64_exact(self) -> Option<f64> {
        let v = self.to_f64();
        (Dyadic::from_f64(v) == Some(self)).then_some(v)
    }

    /// `-1`, `0` or `1`.
    pub fn signum(self) -> i32 {
        self.mantissa.signum() as i32
    }

    /// The absolute value (a normalised mantissa is odd, so never `i128::MIN`).
    pub fn abs(self) -> Self {
        Dyadic {
            mantissa: self.mantissa.abs(),
            exponent: self.exponent,
        }
    }

    /// The exact product, or `None` if the mantissa would exceed `i128` or the exponent `i32`.
    pub fn checked_mul(self, other: Dyadic) -> Option<Self> {
        let m = self.mantissa.checked_mul(other.mantissa)?;
        let e = self.exponent.checked_add(other.exponent)?;
        Some(Dyadic::new(m, e))
    }

    /// The value times `2^k`, or `None` if the exponent overflows.
    pub fn mul_pow2(self, k: i32) -> Option<Self> {
        if self.mantissa == 0 {
            return Some(self);
        }
        Some(Dyadic {
            mantissa: self.mantissa,
            exponent: self.exponent.checked_add(k)?,
        })
    }

    /// The position of the highest set bit of the magnitude plus one, as a power of two:
    /// `2^(top-1) ≤ |self| < 2^top`. Meaningless for zero.
    fn top(self) -> i64 {
        i64::from(128 - self.mantissa.unsigned_abs().leading_zeros()) + i64::from(self.exponent)
    }

    /// The exact decimal expansion, e.g. `-0.1875`, `12`, `0.000000059604644775390625`.
    pub fn to_decimal_string(self) -> String {
        let negative = self.mantissa < 0;
        let mut big = big_from_u128(self.mantissa.unsigned_abs());
        let mut digits_after_point = 0usize;
        if self.exponent >= 0 {
            for _ in 0..self.exponent {
                big_mul_small(&mut big, 2);
            }
        } else {
            // m · 2^-k = m · 5^k / 10^k
            for _ in 0..self.exponent.unsigned_abs() {
                big_mul_small(&mut big, 5);
            }
            digits_after_point = self.exponent.unsigned_abs() as usize;
        }
        let digits = big_to_string(&big);
        let body = if digits_after_point == 0 {
            digits
        } else if digits.len() > digits_after_point {
            let (int, frac) = digits.split_at(digits.len() - digits_after_point);
            format!("{int}.{frac}")
        } else {
            format!(
                "0.{}{digits}",
                "0".repeat(digits_after_point - digits.len())
            )
        };
        if negative {
            format!("-{body}")
        } else {
            body
        }
    }
}

impl std::ops::Neg for Dyadic {
    type Output = Dyadic;

    fn neg(self) -> Dyadic {
        Dyadic {
            mantissa: -self.mantissa,
            exponent: self.exponent,
        }
    }
}

impl Ord for Dyadic {
    fn cmp(&self, other: &Self) -> Ordering {
        let (sa, sb) = (self.signum(), other.signum());
        if sa != sb {
            return sa.cmp(&sb);
        }
        if sa == 0 {
            return Ordering::Equal;
        }
        let magnitude = cmp_magnitude(*self, *other);
        if sa > 0 {
            magnitude
        } else {
            magnitude.reverse()
        }
    }
}

impl PartialOrd for Dyadic {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Dyadic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_decimal_string())
    }
}

/// Compares `|a|` and `|b|`, both non-zero.
fn cmp_magnitude(a: Dyadic, b: Dyadic) -> Ordering {
    let (ta, tb) = (a.top(), b.top());
    if ta != tb {
        return ta.cmp(&tb);
    }
    // Same top bit: aligning the exponents keeps both magnitudes within 128 bits.
    let (ma, mb) = (a.mantissa.unsigned_abs(), b.mantissa.unsigned_abs());
    match a.exponent.cmp(&b.exponent) {
        Ordering::Equal => ma.cmp(&mb),
        Ordering::Greater => (ma << (a.exponent - b.exponent) as u32).cmp(&mb),
        Ordering::Less => ma.cmp(&(mb << (b.exponent - a.exponent) as u32)),
    }
}

/// `v · 2^e` with the scaling split into steps that cannot overflow or underflow on the way.
fn ldexp(mut v: f64, mut e: i64) -> f64 {
    let step = |k: i64| f64::from_bits(((k + 1023) as u64) << 52);
    while e > 1000 {
        v *= step(1000);
        e -= 1000;
        if v.is_infinite() {
            return v;
        }
    }
    while e < -1000 {
        v *= step(-1000);
        e += 1000;
        if v == 0.0 {
            return v;
        }
    }
    v * step(e)
}

/// An exact rational `dyadic / divisor` with an odd divisor, for values such as APoT levels whose
/// normalisation constant is not a power of two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExactValue {
    /// The dyadic numerator.
    pub dyadic: Dyadic,
    /// The odd divisor, at least 1 and coprime to the numerator's mantissa.
    pub divisor: u64,
}

impl ExactValue {
    /// `dyadic / divisor`, reduced so that the divisor is odd and coprime to the mantissa.
    /// Returns `None` for a zero divisor.
    pub fn new(dyadic: Dyadic, divisor: u64) -> Option<Self> {
        if divisor == 0 {
            return None;
        }
        let tz = divisor.trailing_zeros();
        let mut d = divisor >> tz;
        let mut n = dyadic.mul_pow2(-(tz as i32))?;
        let g = gcd(n.mantissa.unsigned_abs(), u128::from(d));
        if g > 1 {
            n = Dyadic::new(n.mantissa / g as i128, n.exponent);
            d /= g as u64;
        }
        if n.mantissa == 0 {
            d = 1;
        }
        Some(ExactValue {
            dyadic: n,
            divisor: d,
        })
    }

    /// A dyadic value (divisor 1).
    pub fn from_dyadic(dyadic: Dyadic) -> Self {
        ExactValue { dyadic, divisor: 1 }
    }

    /// The value as a dyadic rational, if its divisor is 1.
    pub fn as_dyadic(&self) -> Option<Dyadic> {
        (self.divisor == 1).then_some(self.dyadic)
    }

    /// The nearest `f64` to within one rounding of the division.
    pub fn to_f64(&self) -> f64 {
        self.dyadic.to_f64() / self.divisor as f64
    }

    /// The exact decimal expansion when the value is dyadic (`-0.1875`), else the reduced
    /// fraction of two integers (`-1/48`).
    pub fn to_exact_string(&self) -> String {
        if self.divisor == 1 {
            return self.dyadic.to_decimal_string();
        }
        let negative = self.dyadic.mantissa < 0;
        let mut num = big_from_u128(self.dyadic.mantissa.unsigned_abs());
        let mut den = big_from_u128(u128::from(self.divisor));
        let e = self.dyadic.exponent;
        for _ in 0..e.unsigned_abs() {
            big_mul_small(if e > 0 { &mut num } else { &mut den }, 2);
        }
        format!(
            "{}{}/{}",
            if negative { "-" } else { "" },
            big_to_string(&num),
            big_to_string(&den)
        )
    }
}

impl fmt::Display for ExactValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_exact_string())
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A natural number in base 10^9, least significant limb first.
fn big_from_u128(mut n: u128) -> Vec<u32> {
    let mut limbs = Vec::new();
    while n > 0 {
        limbs.push((n % 1_000_000_000) as u32);
        n /= 1_000_000_000;
    }
    limbs
}

fn big_mul_small(big: &mut Vec<u32>, k: u32) {
    let mut carry = 0u64;
    for limb in big.iter_mut() {
        let v = u64::from(*limb) * u64::from(k) + carry;
        *limb = (v % 1_000_000_000) as u32;
        carry = v / 1_000_000_000;
    }
    if carry > 0 {
        big.push(carry as u32);
    }
}

fn big_to_string(big: &[u32]) -> String {
    match big.split_last() {
        None => "0".to_string(),
        Some((top, rest)) => {
            let mut s = top.to_string();
            for limb in rest.iter().rev() {
                s.push_str(&format!("{limb:09}"));
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_f64_is_exact_and_normalised() {
        assert_eq!(Dyadic::from_f64(0.0), Some(Dyadic::ZERO));
        assert_eq!(Dyadic::from_f64(-0.0), Some(Dyadic::ZERO));
        assert_eq!(Dyadic::from_f64(12.0), Some(Dyadic::new(3, 2)));
        assert_eq!(
            Dyadic::from_f64(f64::from_bits(1)),
            Some(Dyadic::new(1, -1074))
        );
        assert_eq!(Dyadic::from_f64(f64::NAN), None);
    }

    #[test]
    fn decimal_strings_by_hand() {
        assert_eq!(Dyadic::new(1, -1).to_decimal_string(), "0.5");
        assert_eq!(Dyadic::new(-1, -3).to_decimal_string(), "-0.125");
        assert_eq!(Dyadic::new(3, 3).to_decimal_string(), "24");
        assert_eq!(Dyadic::new(5, -10).to_decimal_string(), "0.0048828125");
        assert_eq!(Dyadic::ZERO.to_decimal_string(), "0");
        assert_eq!(
            Dyadic::new(1, 64).to_decimal_string(),
            "18446744073709551616"
        );
        let tiny = Dyadic::from_f64(f64::from_bits(1))
            .unwrap()
            .to_decimal_string();
        // 2^-1074 = 4.9406564584124654e-324; 5^1074 ends in 5625 (5^n mod 10^4 has period 4).
        let zeros = "0".repeat(323);
        assert!(tiny.starts_with(&format!("0.{zeros}4940656458412465441765")));
        assert!(tiny.ends_with("5625"));
        assert_eq!(tiny.len(), 2 + 1074);
    }

    #[test]
    fn ordering_is_exact() {
        let a = Dyadic::new(3, -1); // 1.5
        let b = Dyadic::new(1, 0);
        assert!(a > b);
        assert!(-a < -b);
        assert!(Dyadic::new(1, -200) > Dyadic::ZERO);
        assert_eq!(Dyadic::new(6, 0).cmp(&Dyadic::new(3, 1)), Ordering::Equal);
        assert!(Dyadic::new((1 << 100) + 1, -100) > Dyadic::new(1, 0));
    }

    #[test]
    fn exact_values_reduce_and_print() {
        let v = ExactValue::new(Dyadic::from_int(-2), 96).unwrap();
        assert_eq!(v.to_exact_string(), "-1/48");
        let w = ExactValue::new(Dyadic::from_int(9), 48).unwrap();
        assert_eq!(w.to_exact_string(), "0.1875");
        assert_eq!(w.as_dyadic(), Some(Dyadic::new(3, -4)));
    }

    #[test]
    fn to_f64_round_trips() {
        for x in [0.1, -3.75, 1e300, 5e-324, 2.2250738585072014e-308] {
            let d = Dyadic::from_f64(x).unwrap();
            assert_eq!(d.to_f64(), x);
            assert_eq!(d.to_f64_exact(), Some(x));
        }
        assert_eq!(Dyadic::new((1 << 60) + 1, 0).to_f64_exact(), None);
    }
}

/// The two exact dyadic types in the crate must agree before one replaces the other.
#[cfg(test)]
mod agrees_with_num_dyadic {
    use super::Dyadic;
    use crate::num::dyadic::Dyadic as NumDyadic;
    use proptest::prelude::*;

    fn both(m: i128, e: i32) -> (Dyadic, NumDyadic) {
        (Dyadic::new(m, e), NumDyadic::new(m, e))
    }

    proptest! {
        #[test]
        fn decimal_printers_agree(m in any::<i128>(), e in -1100i32..1100) {
            let (q, n) = both(m, e);
            prop_assert_eq!(q.to_decimal_string(), n.to_string());
            prop_assert_eq!((q.mantissa, q.exponent), (n.mantissa(), n.exp()));
        }

        #[test]
        fn decimal_printers_agree_on_f64s(bits in any::<u64>()) {
            let x = f64::from_bits(bits);
            prop_assume!(x.is_finite());
            let (q, n) = (Dyadic::from_f64(x).unwrap(), NumDyadic::from_f64(x).unwrap());
            prop_assert_eq!(q.to_decimal_string(), n.to_string());
            prop_assert_eq!(q.to_f64(), n.to_f64());
        }

        #[test]
        fn to_f64_and_ordering_agree(a in any::<i128>(), ea in -1000i32..1000, b in any::<i128>(), eb in -1000i32..1000) {
            let (qa, na) = both(a, ea);
            let (qb, nb) = both(b, eb);
            prop_assert_eq!(qa.to_f64().to_bits(), na.to_f64().to_bits());
            prop_assert_eq!(qa.cmp(&qb), na.cmp(&nb));
        }
    }
}
