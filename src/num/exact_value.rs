//! Exact rationals `m · 2^e / d` with an odd divisor `d`: the values of APoT levels, whose
//! normalisation constant (the largest level) is not always a power of two.
//!
//! A dyadic value ([`Dyadic`]) is the special case `d = 1` and prints as an exact decimal; any
//! other value has an infinite decimal expansion, so it prints as a reduced fraction.
//!
//! ```
//! use qforge::num::dyadic::Dyadic;
//! use qforge::num::exact_value::ExactValue;
//! let v = ExactValue::new(Dyadic::from_int(-2), 96).unwrap();
//! assert_eq!(v.to_string(), "-1/48");
//! let w = ExactValue::new(Dyadic::from_int(9), 48).unwrap();
//! assert_eq!(w.to_string(), "0.1875");
//! ```

use crate::num::dyadic::Dyadic;
use std::fmt;

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
        let g = gcd(n.mantissa().unsigned_abs(), u128::from(d));
        if g > 1 {
            n = Dyadic::new(n.mantissa() / g as i128, n.exp());
            d /= g as u64;
        }
        if n.mantissa() == 0 {
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
            return self.dyadic.to_string();
        }
        // `m · 2^e / d` is the fraction `|m| · 2^max(e,0)` over `d · 2^max(-e,0)`; both are
        // integers, which the dyadic printer writes exactly.
        let (m, e) = (self.dyadic.mantissa(), self.dyadic.exp());
        let num = Dyadic::new(m.abs(), e.max(0));
        let den = Dyadic::new(i128::from(self.divisor), e.saturating_neg().max(0));
        format!("{}{num}/{den}", if m < 0 { "-" } else { "" })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_values_reduce_and_print() {
        let v = ExactValue::new(Dyadic::from_int(-2), 96).unwrap();
        assert_eq!(v.to_exact_string(), "-1/48");
        let w = ExactValue::new(Dyadic::from_int(9), 48).unwrap();
        assert_eq!(w.to_exact_string(), "0.1875");
        assert_eq!(w.as_dyadic(), Some(Dyadic::new(3, -4)));
    }

    #[test]
    fn fractions_carry_the_power_of_two_on_the_right_side() {
        // 3 · 2^-4 / 5 = 3/80; 3 · 2^4 / 5 = 48/5.
        assert_eq!(
            ExactValue::new(Dyadic::new(3, -4), 5).unwrap().to_string(),
            "3/80"
        );
        assert_eq!(
            ExactValue::new(Dyadic::new(3, 4), 5).unwrap().to_string(),
            "48/5"
        );
        assert_eq!(
            ExactValue::new(Dyadic::ZERO, 6),
            Some(ExactValue::from_dyadic(Dyadic::ZERO))
        );
        assert_eq!(ExactValue::new(Dyadic::from_int(1), 0), None);
    }
}
