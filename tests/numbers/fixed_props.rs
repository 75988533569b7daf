//! Properties of casts over run-time formats the `fixed` crate cannot express (any width from
//! 1 to 64, integer bits below zero or above the width, every rounding and overflow mode).

use proptest::prelude::*;
use qforge::num::dyadic::Dyadic;
use qforge::num::fixed::{Fixed, FixedFormat};
use qforge::num::overflow::OverflowMode;
use qforge::num::rounding::{div_round, RoundingMode};

fn any_overflow() -> impl Strategy<Value = OverflowMode> {
    prop_oneof![
        (0u32..4).prop_map(|n| OverflowMode::Wrap { saturated_bits: n }),
        (0u32..4).prop_map(|n| OverflowMode::WrapSignMagnitude { saturated_bits: n }),
        Just(OverflowMode::Saturate),
        Just(OverflowMode::SaturateZero),
        Just(OverflowMode::SaturateSymmetric),
    ]
}

fn any_format() -> impl Strategy<Value = FixedFormat> {
    (
        1u32..=64,
        -8i32..=72,
        any::<bool>(),
        prop::sample::select(RoundingMode::ALL.to_vec()),
        any_overflow(),
    )
        .prop_filter_map("invalid combination", |(w, i, s, r, o)| {
            FixedFormat::new(w, i, s, r, o).ok()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// A value already in the format casts to itself, whatever the modes.
    #[test]
    fn representable_values_are_fixed_points(format in any_format(), seed in any::<u64>()) {
        let span = (format.max_raw() - format.min_raw()) as u128 + 1;
        let raw = format.min_raw() + (u128::from(seed) % span) as i128;
        // AP_SAT_SYM never produces the most negative code, even from a value equal to it.
        let sym = format.overflow() == OverflowMode::SaturateSymmetric && format.is_signed() && format.width() > 1;
        prop_assume!(!(sym && raw == format.min_raw()));
        let x = Fixed::from_raw(format, raw).unwrap();
        prop_assert_eq!(format.cast(x.to_dyadic()).raw(), raw);
        if format.width() <= 53 && format.frac_bits().abs() < 900 {
            // f64 holds the value exactly, and its exact decimal parses back to it.
            prop_assert_eq!(format.cast_f64_raw(x.to_f64()).unwrap(), raw);
            let decimal: f64 = x.to_string().parse().unwrap();
            prop_assert_eq!(decimal, x.to_f64());
        }
    }

    /// Saturating casts equal clamp(round(m · 2^e / step)), computed here by exact division.
    #[test]
    fn saturate_is_clamped_rounding(
        width in 1u32..=40,
        int_bits in -6i32..=46,
        signed in any::<bool>(),
        mode in prop::sample::select(RoundingMode::ALL.to_vec()),
        m in -(1i128 << 60)..(1i128 << 60),
        e in -70i32..=10,
    ) {
        let format = FixedFormat::new(width, int_bits, signed, mode, OverflowMode::Saturate).unwrap();
        // value / step = m · 2^(e + frac): a numerator over a power-of-two denominator.
        let k = e + format.frac_bits();
        let q = if k >= 0 {
            // |m| < 2^60 and k <= 10 + 46: may exceed i128 only far beyond any range.
            m.checked_mul(1i128 << k.min(66)).unwrap_or(if m < 0 { i128::MIN } else { i128::MAX })
        } else if -k <= 120 {
            div_round(m, 1i128 << -k, mode)
        } else {
            div_round(m.signum(), 2, mode) // |value| < half a step: only the sign matters
        };
        let want = q.clamp(format.min_raw(), format.max_raw());
        prop_assert_eq!(format.cast(Dyadic::new(m, e)).raw(), want);
    }

    /// Casting through a wider format with the same step and wrap changes nothing: the wrap of
    /// a wrap is the wrap.
    #[test]
    fn wrap_composes(width in 2u32..=32, extra in 1u32..=32, int_bits in -4i32..=36,
                     m in any::<i64>(), e in -40i32..=20) {
        let narrow = FixedFormat::new(width, int_bits, true, RoundingMode::Floor, OverflowMode::WRAP).unwrap();
        let wide = FixedFormat::new(width + extra, int_bits + extra as i32, true, RoundingMode::Floor, OverflowMode::WRAP).unwrap();
        let x = Dyadic::new(i128::from(m), e);
        prop_assert_eq!(wide.cast(x).cast(narrow).raw(), narrow.cast(x).raw());
    }

    /// Exact sums and products: the grown format holds the true result.
    #[test]
    fn arithmetic_is_exact(a in any_format(), b in any_format(), sa in any::<u64>(), sb in any::<u64>()) {
        let pick = |f: FixedFormat, s: u64| {
            let span = (f.max_raw() - f.min_raw()) as u128 + 1;
            Fixed::from_raw(f, f.min_raw() + (u128::from(s) % span) as i128).unwrap()
        };
        let (x, y) = (pick(a, sa), pick(b, sb));
        let (dx, dy) = (x.to_dyadic(), y.to_dyadic());
        if let Ok(p) = x.mul(&y) {
            prop_assert_eq!(p.to_dyadic(), Dyadic::new(x.raw() * y.raw(), -(a.frac_bits() + b.frac_bits())));
        }
        if let Ok(s) = x.add(&y) {
            // s - x == y, checked by comparing in the sum's own format.
            let back = s.sub(&x);
            if let Ok(back) = back {
                prop_assert_eq!(back.to_dyadic(), dy);
            }
            if s.format().width() <= 53 {
                // The true sum has at most 53 significant bits, so f64 addition is exact.
                prop_assert_eq!(s.to_f64(), x.to_f64() + y.to_f64());
            }
        }
        prop_assert_eq!(x.cmp_value(&y), dx.cmp(&dy));
    }
}
