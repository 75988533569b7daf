//! qforge's fixed-point casts and arithmetic against the `fixed` crate, an independent
//! implementation, for the formats it covers (compile-time widths only).
//!
//! `fixed` semantics relied on (from its documentation): `from_num`/`wrapping_from_num`/
//! `saturating_from_num` from an `f64` round to nearest, ties to even (qforge `HalfEven`);
//! from another fixed-point number they discard extra fractional bits, rounding toward −∞
//! (qforge `Floor`); `wrapping_mul`/`saturating_mul` round the product down (`Floor`);
//! add and sub are exact before wrapping or saturating.

use fixed::types::extra::{U16, U3, U4, U40, U64, U8};
use fixed::{FixedI128, FixedI16, FixedI32, FixedI64, FixedI8, FixedU16, FixedU8};
use proptest::prelude::*;
use qforge::num::dyadic::Dyadic;
use qforge::num::fixed::{Fixed, FixedFormat};
use qforge::num::overflow::OverflowMode;
use qforge::num::rounding::RoundingMode;

fn format(width: u32, frac: u32, signed: bool, r: RoundingMode, o: OverflowMode) -> FixedFormat {
    FixedFormat::new(width, width as i32 - frac as i32, signed, r, o).unwrap()
}

/// Finite f64 values that exercise both the in-range region (with exact ties at the target's
/// half step) and overflow, plus arbitrary bit patterns.
fn interesting_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        // k / 2^j: ties and near-ties for every target with up to j - 1 fractional bits.
        (-(1i64 << 40)..(1i64 << 40), 0u32..=50).prop_map(|(k, j)| k as f64 / (1u64 << j) as f64),
        // Wide magnitudes, including far out of range and tiny.
        prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
    ]
}

/// f64 values exactly held by `FixedI128<U64>`: a 52-bit integer times 2^-j, j in 0..=60.
fn exact_in_i128_u64() -> impl Strategy<Value = f64> {
    (-(1i64 << 52)..(1i64 << 52), 0u32..=60).prop_map(|(k, j)| k as f64 / 2f64.powi(j as i32))
}

macro_rules! against_fixed {
    ($name:ident, $Fix:ty, $width:expr, $frac:expr, $signed:expr, $Bits:ty) => {
        mod $name {
            use super::*;
            type Fix = $Fix;
            const W: u32 = $width;
            const F: u32 = $frac;
            const S: bool = $signed;

            fn q(raw: i128, o: OverflowMode) -> Fixed {
                Fixed::from_raw(format(W, F, S, RoundingMode::Floor, o), raw).unwrap()
            }

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(2000))]

                #[test]
                fn f64_half_even_wrap(x in interesting_f64()) {
                    let ours = format(W, F, S, RoundingMode::HalfEven, OverflowMode::WRAP)
                        .cast_f64_raw(x).unwrap();
                    prop_assert_eq!(ours, i128::from(Fix::wrapping_from_num(x).to_bits()));
                }

                #[test]
                fn f64_half_even_saturate(x in interesting_f64()) {
                    let ours = format(W, F, S, RoundingMode::HalfEven, OverflowMode::Saturate)
                        .cast_f64_raw(x).unwrap();
                    prop_assert_eq!(ours, i128::from(Fix::saturating_from_num(x).to_bits()));
                }

                #[test]
                fn f64_floor_wrap_and_saturate(x in exact_in_i128_u64()) {
                    let src = FixedI128::<U64>::from_num(x);
                    prop_assert_eq!(src.to_num::<f64>(), x); // the source really is exact
                    let wrap = format(W, F, S, RoundingMode::Floor, OverflowMode::WRAP)
                        .cast_f64_raw(x).unwrap();
                    prop_assert_eq!(wrap, i128::from(Fix::wrapping_from_num(src).to_bits()));
                    let sat = format(W, F, S, RoundingMode::Floor, OverflowMode::Saturate)
                        .cast_f64_raw(x).unwrap();
                    prop_assert_eq!(sat, i128::from(Fix::saturating_from_num(src).to_bits()));
                }

                #[test]
                fn format_to_format_floor(bits in any::<i64>()) {
                    // Source: ap_fixed<64,24> = FixedI64<U40>.
                    let src = FixedI64::<U40>::from_bits(bits);
                    let ours = Fixed::from_raw(
                        format(64, 40, true, RoundingMode::Floor, OverflowMode::WRAP),
                        i128::from(bits),
                    ).unwrap();
                    let to_wrap = format(W, F, S, RoundingMode::Floor, OverflowMode::WRAP);
                    let to_sat = format(W, F, S, RoundingMode::Floor, OverflowMode::Saturate);
                    prop_assert_eq!(ours.cast(to_wrap).raw(),
                        i128::from(Fix::wrapping_from_num(src).to_bits()));
                    prop_assert_eq!(ours.cast(to_sat).raw(),
                        i128::from(Fix::saturating_from_num(src).to_bits()));
                }

                #[test]
                fn add_sub_mul(a in any::<$Bits>(), b in any::<$Bits>()) {
                    let (fa, fb) = (Fix::from_bits(a), Fix::from_bits(b));
                    let (qa, qb) = (q(i128::from(a), OverflowMode::WRAP), q(i128::from(b), OverflowMode::WRAP));
                    let wrap = qa.format();
                    let sat = wrap.with_modes(RoundingMode::Floor, OverflowMode::Saturate).unwrap();

                    if W == 64 {
                        // One more integer bit than a format may have.
                        prop_assert!(qa.add(&qb).is_err());
                        prop_assert!(qa.sub(&qb).is_err());
                    } else {
                        let sum = qa.add(&qb).unwrap();
                        // Exact: the grown format holds the true sum.
                        prop_assert_eq!(sum.to_dyadic(),
                            Dyadic::new(i128::from(a) + i128::from(b), -(F as i32)));
                        prop_assert_eq!(sum.cast(wrap).raw(), i128::from(fa.wrapping_add(fb).to_bits()));
                        prop_assert_eq!(sum.cast(sat).raw(), i128::from(fa.saturating_add(fb).to_bits()));

                        let diff = qa.sub(&qb).unwrap();
                        prop_assert!(diff.format().is_signed());
                        prop_assert_eq!(diff.cast(wrap).raw(), i128::from(fa.wrapping_sub(fb).to_bits()));
                        prop_assert_eq!(diff.cast(sat).raw(), i128::from(fa.saturating_sub(fb).to_bits()));
                    }

                    if 2 * W <= 64 {
                        let prod = qa.mul(&qb).unwrap();
                        prop_assert_eq!(prod.format().width(), 2 * W);
                        prop_assert_eq!(prod.cast(wrap).raw(), i128::from(fa.wrapping_mul(fb).to_bits()));
                        prop_assert_eq!(prod.cast(sat).raw(), i128::from(fa.saturating_mul(fb).to_bits()));
                    } else {
                        prop_assert!(qa.mul(&qb).is_err());
                    }
                }

                #[test]
                fn compare_and_to_f64(a in any::<$Bits>(), b in any::<$Bits>()) {
                    let (fa, fb) = (Fix::from_bits(a), Fix::from_bits(b));
                    let (qa, qb) = (q(i128::from(a), OverflowMode::WRAP), q(i128::from(b), OverflowMode::WRAP));
                    prop_assert_eq!(qa.cmp_value(&qb), fa.cmp(&fb));
                    prop_assert_eq!(qa.to_f64(), fa.to_num::<f64>());
                }

                #[test]
                fn shifts(a in any::<$Bits>(), n in 0u32..W) {
                    let fa = Fix::from_bits(a);
                    let qa = q(i128::from(a), OverflowMode::WRAP);
                    prop_assert_eq!(qa.shl(n).raw(), i128::from((fa << n).to_bits()));
                    prop_assert_eq!(qa.shr(n).raw(), i128::from((fa >> n).to_bits()));
                }
            }
        }
    };
}

against_fixed!(i8_frac3, FixedI8<U3>, 8, 3, true, i8);
against_fixed!(u8_frac8, FixedU8<U8>, 8, 8, false, u8);
against_fixed!(i16_frac8, FixedI16<U8>, 16, 8, true, i16);
against_fixed!(u16_frac4, FixedU16<U4>, 16, 4, false, u16);
against_fixed!(i32_frac16, FixedI32<U16>, 32, 16, true, i32);
against_fixed!(i64_frac40, FixedI64<U40>, 64, 40, true, i64);
