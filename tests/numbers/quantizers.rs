//! Quantizers against hand-derived expectations, and their properties under proptest.

use proptest::prelude::*;
use qforge::num::codes::PotFormat;
use qforge::num::rounding::RoundingMode;
use qforge::quant::apot::{ApotConfig, ApotQuantizer};
use qforge::quant::binary::{binarize, ternarize, TernaryConfig};
use qforge::quant::calibrate::{ClipRange, Clipping};
use qforge::quant::intquant::IntRange;
use qforge::quant::pot::{ExponentRange, PotConfig, PotDomain};
use qforge::quant::quantizer::{quantize_tensor, ChannelQuantizer, Scheme, TensorQuantizer};
use qforge::quant::tensor::{Granularity, QuantizedTensor, TensorRef};
use qforge::quant::uniform::{ScaleConstraint, UniformConfig};

fn per_tensor<Q: ChannelQuantizer>(q: &Q, w: &[f64], clipping: Clipping) -> QuantizedTensor {
    let shape = [w.len()];
    quantize_tensor(
        q,
        TensorRef::new(w, &shape).unwrap(),
        Granularity::PerTensor,
        clipping,
    )
    .unwrap()
}

fn mse(w: &[f64], t: &QuantizedTensor) -> f64 {
    let d = t.dequantize();
    w.iter()
        .zip(&d)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        / w.len() as f64
}

// ---------------------------------------------------------------- uniform

#[test]
fn uniform_4bit_symmetric_narrow_by_hand() {
    // T = 1, scale 1/7: -1 → -7; 0.5 → 3.5 (a tie) → 4 (even); 0.26 → 1.82 → 2; 0.9 → 6.3 → 6.
    let w = [-1.0, 0.5, 0.26, 0.9];
    let q = UniformConfig::symmetric(4, true).unwrap();
    let t = per_tensor(&q, &w, Clipping::MinMax);
    assert_eq!(t.codes(), &[-7, 4, 2, 6]);
    assert_eq!(t.channels()[0].scale, 1.0 / 7.0);
    assert_eq!(t.channels()[0].zero_point, 0);
    // the same tie, resolved toward zero: only an exact 3.5 gives 3
    let q = UniformConfig {
        rounding: RoundingMode::HalfTowardZero,
        ..q
    };
    assert_eq!(per_tensor(&q, &w, Clipping::MinMax).codes(), &[-7, 3, 2, 6]);
    // floor: -7, 3, 1, 6
    let q = UniformConfig {
        rounding: RoundingMode::Floor,
        ..q
    };
    assert_eq!(per_tensor(&q, &w, Clipping::MinMax).codes(), &[-7, 3, 1, 6]);
}

#[test]
fn uniform_power_of_two_scale_by_hand() {
    // 1/7 is raised to 1/4: -1 → -4, 0.5 → 2, 0.26 → 1.04 → 1, 0.9 → 3.6 → 4.
    let q = UniformConfig {
        scale_constraint: ScaleConstraint::PowerOfTwo,
        ..UniformConfig::symmetric(4, true).unwrap()
    };
    let t = per_tensor(&q, &[-1.0, 0.5, 0.26, 0.9], Clipping::MinMax);
    assert_eq!(t.codes(), &[-4, 2, 1, 4]);
    assert_eq!(t.channels()[0].scale_exponent(), Some(-2));
}

#[test]
fn uniform_asymmetric_by_hand() {
    // 8-bit unsigned over [-0.5, 1]: scale 1.5/255, zero point round(0.5 · 255/1.5) = 85.
    let q = UniformConfig::new(
        8,
        false,
        false,
        false,
        RoundingMode::HalfEven,
        ScaleConstraint::Float,
    )
    .unwrap();
    let t = per_tensor(&q, &[-0.5, 0.0, 1.0, 0.25], Clipping::MinMax);
    assert_eq!(t.channels()[0].zero_point, 85);
    assert_eq!(t.channels()[0].scale, 1.5 / 255.0);
    // 0.25 · 170 + 85 = 127.5 → 128 (even)
    assert_eq!(t.codes(), &[0, 85, 255, 128]);
    // 2-bit unsigned over [-1, 2]: scale 1, zero point 1.
    let q = UniformConfig { bits: 2, ..q };
    let t = per_tensor(&q, &[-1.0, 0.0, 2.0, 0.6], Clipping::MinMax);
    assert_eq!(t.codes(), &[0, 1, 3, 2]);
    assert_eq!(t.dequantize(), vec![-1.0, 0.0, 2.0, 1.0]);
}

#[test]
fn uniform_wide_range_uses_the_extra_negative_code_only_beyond_the_clip() {
    // 3-bit signed wide [-4, 3], T fitted to 3 → scale 1; -3.6 clips into code -4.
    let q = UniformConfig {
        narrow: false,
        ..UniformConfig::symmetric(3, true).unwrap()
    };
    let p = q.fit(ClipRange { lo: -3.0, hi: 3.0 }).unwrap();
    assert_eq!(q.code(-3.6, &p).unwrap(), -4);
    assert_eq!(q.code(-9.0, &p).unwrap(), -4);
    assert_eq!(q.code(9.0, &p).unwrap(), 3);
}

#[test]
fn per_channel_uses_the_output_axis() {
    // rows [1, -0.5] and [4, 2]: scales 1/7 and 4/7 at 4 bits.
    let w = [1.0, -0.5, 4.0, 2.0];
    let q = UniformConfig::symmetric(4, true).unwrap();
    let t = quantize_tensor(
        &q,
        TensorRef::new(&w, &[2, 2]).unwrap(),
        Granularity::PerChannel { axis: 0 },
        Clipping::MinMax,
    )
    .unwrap();
    assert_eq!(t.codes(), &[7, -4, 7, 4]); // -3.5 → -4, 3.5 → 4 (even)
    assert_eq!(t.channels()[1].scale, 4.0 / 7.0);
    // axis 1: columns [1, 4] and [-0.5, 2]
    let t = quantize_tensor(
        &q,
        TensorRef::new(&w, &[2, 2]).unwrap(),
        Granularity::PerChannel { axis: 1 },
        Clipping::MinMax,
    )
    .unwrap();
    assert_eq!(t.codes(), &[2, -2, 7, 7]); // 1.75 → 2, -1.75 → -2
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let q = UniformConfig::symmetric(4, true).unwrap();
    let e = quantize_tensor(
        &q,
        TensorRef::new(&[1.0, f64::NAN], &[2]).unwrap(),
        Granularity::PerTensor,
        Clipping::MinMax,
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "value at index 1 (NaN) must be finite");
    let e = TensorRef::new(&[1.0f32, 2.0, 3.0], &[2, 2]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "shape [2, 2] holds 4 values but the data has 3"
    );
    let e = quantize_tensor(
        &q,
        TensorRef::new(&[1.0, 2.0], &[2]).unwrap(),
        Granularity::PerChannel { axis: 1 },
        Clipping::MinMax,
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "axis (1) must be below the tensor rank (1)");
    let e = UniformConfig::new(
        33,
        true,
        false,
        true,
        RoundingMode::HalfEven,
        ScaleConstraint::Float,
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "bits (33) must be between 1 and 32");
}

// ---------------------------------------------------------------- PoT

fn pot(domain: PotDomain, exponents: ExponentRange) -> PotConfig {
    PotConfig::new(
        PotFormat::new(3, true, true).unwrap(),
        domain,
        exponents,
        1.0,
    )
    .unwrap()
}

#[test]
fn pot_linear_and_log2_boundaries_by_hand() {
    let fixed = ExponentRange::Fixed { e_min: 0 };
    let lin = pot(PotDomain::Linear, fixed);
    let log = pot(PotDomain::Log2, fixed);
    let f = lin.format;
    let level = |c: &PotConfig, x: f64| f.level(c.project(x, 0).unwrap() as u64);
    // linear boundary 1.5, log2 boundary √2 ≈ 1.41421
    assert_eq!(level(&lin, 1.45), 1);
    assert_eq!(level(&log, 1.45), 2);
    assert_eq!(level(&lin, 1.40), 1);
    assert_eq!(level(&log, 1.40), 1);
    assert_eq!(level(&lin, 1.5), 2); // a tie goes to the larger magnitude
    assert_eq!(level(&log, -2.9), -4); // 2√2 ≈ 2.83
    assert_eq!(level(&lin, -2.9), -2); // 3 is the linear boundary
                                       // zero: linear below 0.5, log2 below 1/√2 ≈ 0.7071
    assert_eq!(level(&lin, 0.6), 1);
    assert_eq!(level(&log, 0.6), 0);
    assert_eq!(level(&lin, 0.49), 0);
    assert_eq!(level(&log, 0.71), 1);
    // clamps at 2^6
    assert_eq!(level(&lin, 1000.0), 64);
}

#[test]
fn pot_exponents_from_the_threshold_by_hand() {
    // T = 0.74: linear e_max = floor(log2(4·0.74/3)) = -1 (0.74 < 0.75);
    // log2 e_max = round(log2 0.74) = round(-0.434) = 0. max_shift = 6.
    let w = [0.74, -0.1, 0.01];
    let lin = per_tensor(
        &pot(PotDomain::Linear, ExponentRange::FromThreshold),
        &w,
        Clipping::MinMax,
    );
    let log = per_tensor(
        &pot(PotDomain::Log2, ExponentRange::FromThreshold),
        &w,
        Clipping::MinMax,
    );
    assert_eq!(lin.channels()[0].scale_exponent(), Some(-7));
    assert_eq!(log.channels()[0].scale_exponent(), Some(-6));
    // linear, unit 2^-7: 0.74 = 94.7 → 64; -0.1 = -12.8 → -16 (boundary 12); 0.01 = 1.28 → 1
    assert_eq!(lin.levels(), vec![64, -16, 1]);
    assert_eq!(lin.codes(), &[0b0111, 0b1101, 0b0001]);
    // log2, unit 2^-6: 0.74 = 47.4 → 64 (boundary 32√2 ≈ 45.25); -0.1 = -6.4 → -8 (4√2 ≈ 5.66);
    // 0.01 = 0.64 → 0 (below 1/√2)
    assert_eq!(log.levels(), vec![64, -8, 0]);
}

#[test]
fn pot_without_zero_code_or_sign() {
    let f = PotFormat::new(2, false, false).unwrap(); // levels 1, 2, 4, 8
    let c = PotConfig::new(
        f,
        PotDomain::Linear,
        ExponentRange::Fixed { e_min: -3 },
        1.0,
    )
    .unwrap();
    let t = per_tensor(&c, &[0.0, -1.0, 0.2, 5.0], Clipping::MinMax);
    // unit 1/8: 0 → 1 (smallest), -1 → 1 (no sign), 0.2 = 1.6 → 2, 5 = 40 → 8
    assert_eq!(t.levels(), vec![1, 1, 2, 8]);
}

// ---------------------------------------------------------------- APoT

#[test]
fn apot_2x2_level_set_matches_li_et_al() {
    // Li et al. 2020, b = 4, n = 2: p0 ∈ {0, 2^0, 2^-2, 2^-4}, p1 ∈ {0, 2^-1, 2^-3, 2^-5};
    // every sum p0 + p1, times 32:
    // p0·32 ∈ {0, 32, 8, 2}, p1·32 ∈ {0, 16, 4, 1}
    let mut by_hand = Vec::new();
    for a in [0, 32, 8, 2] {
        for b in [0, 16, 4, 1] {
            by_hand.push(a + b);
        }
    }
    by_hand.sort();
    assert_eq!(
        by_hand,
        vec![0, 1, 2, 3, 4, 6, 8, 9, 12, 16, 18, 24, 32, 33, 36, 48]
    );
    let q = ApotQuantizer::new(&ApotConfig {
        term_bits: 2,
        terms: 2,
        signed: true,
        alpha: None,
    })
    .unwrap();
    assert_eq!(q.levels(), by_hand);
    assert_eq!(q.max_level(), 48);
}

#[test]
fn apot_tensor_by_hand() {
    // α = max |w| = 3, scale 3/48 = 1/16: 3 → 48; -1 = -16 → -16; 0.6 = 9.6 → 9; 0.1 = 1.6 → 2;
    // 2.2 = 35.2 → 36 (33/36 midpoint 34.5)
    let q = ApotQuantizer::new(&ApotConfig {
        term_bits: 2,
        terms: 2,
        signed: true,
        alpha: None,
    })
    .unwrap();
    let t = per_tensor(&q, &[3.0, -1.0, 0.6, 0.1, 2.2], Clipping::MinMax);
    assert_eq!(t.channels()[0].scale, 0.0625);
    assert_eq!(t.levels(), vec![48, -16, 9, 2, 36]);
}

// ---------------------------------------------------------------- binary, ternary

#[test]
fn binary_by_hand() {
    let t = binarize(
        TensorRef::new(&[0.5, -1.5, 0.0, 2.0], &[4]).unwrap(),
        Granularity::PerTensor,
    )
    .unwrap();
    assert_eq!(t.codes(), &[1, 0, 1, 1]);
    assert_eq!(t.levels(), vec![1, -1, 1, 1]);
    assert_eq!(t.channels()[0].scale, 1.0); // (0.5 + 1.5 + 0 + 2) / 4
    let w = [1.0, -3.0, 0.25, 0.75];
    let t = binarize(
        TensorRef::new(&w, &[2, 2]).unwrap(),
        Granularity::PerChannel { axis: 0 },
    )
    .unwrap();
    assert_eq!(t.channels()[0].scale, 2.0);
    assert_eq!(t.channels()[1].scale, 0.5);
}

#[test]
fn ternary_threshold_rule_by_hand() {
    // mean |w| = 2.0 / 6 = 1/3, Δ = 0.7/3 ≈ 0.2333: 0.8 → +1, -0.05 → 0, 0.3 → +1, -0.35 → -1,
    // 0 → 0, 0.5 → +1; α = (0.8 + 0.3 + 0.35 + 0.5) / 4 = 0.4875.
    let w = [0.8, -0.05, 0.3, -0.35, 0.0, 0.5];
    let t = ternarize(
        &TernaryConfig::TWN,
        TensorRef::new(&w, &[6]).unwrap(),
        Granularity::PerTensor,
    )
    .unwrap();
    assert_eq!(t.levels(), vec![1, 0, 1, -1, 0, 1]);
    assert_eq!(t.codes(), &[0b01, 0b00, 0b01, 0b11, 0b00, 0b01]);
    assert!((t.channels()[0].scale - 0.4875).abs() < 1e-12);
    // 0.22 sits just below Δ: with a 0.6 factor (Δ = 0.2) it would be kept
    let w2 = [0.8, -0.05, 0.22, -0.35, 0.0, 0.583];
    let t = ternarize(
        &TernaryConfig::TWN,
        TensorRef::new(&w2, &[6]).unwrap(),
        Granularity::PerTensor,
    )
    .unwrap();
    assert_eq!(t.levels(), vec![1, 0, 0, -1, 0, 1]);
    let t = ternarize(
        &TernaryConfig { delta_factor: 0.6 },
        TensorRef::new(&w2, &[6]).unwrap(),
        Granularity::PerTensor,
    )
    .unwrap();
    assert_eq!(t.levels(), vec![1, 0, 1, -1, 0, 1]);
}

// ---------------------------------------------------------------- calibration

#[test]
fn percentile_clipping_by_hand() {
    let w: Vec<f64> = (0..=100).map(f64::from).collect();
    let r = Clipping::Percentile { percentile: 99.0 }
        .range(&w, true)
        .unwrap();
    assert_eq!(
        r,
        ClipRange {
            lo: -99.0,
            hi: 99.0
        }
    );
    let r = Clipping::Percentile { percentile: 99.5 }
        .range(&w, false)
        .unwrap();
    assert_eq!(r, ClipRange { lo: 0.0, hi: 99.5 });
}

#[test]
fn mse_clipping_gives_up_an_outlier() {
    // 200 interior values in [-1, 1) and one outlier at 8: at 4 bits, min–max gives a step of
    // 8/7 ≈ 1.14 that rounds every interior value to 0 or ±1.14 (MSE ≈ 0.12); a threshold near 6
    // (step 0.86) clips the outlier by 2 (4/201 ≈ 0.02) and rounds the interior finer (≈ 0.06).
    let mut w: Vec<f64> = (0..200).map(|i| f64::from(i) / 100.0 - 1.0).collect();
    w.push(8.0);
    let q = UniformConfig::symmetric(4, true).unwrap();
    let minmax = per_tensor(&q, &w, Clipping::MinMax);
    let best = per_tensor(&q, &w, Clipping::MSE_DEFAULT);
    assert!(best.channels()[0].scale < minmax.channels()[0].scale);
    assert!(mse(&w, &best) < mse(&w, &minmax));
}

#[test]
fn tensor_quantizer_reads_from_ron() {
    let text = "(scheme: pot((format: (exp_bits: 3, signed: true, zero_code: true), domain: log2, \
                exponents: from_threshold, alpha: 1.0)), granularity: per_channel(axis: 0), \
                clipping: mse_optimal(steps: 100, low_fraction: 0.1))";
    let q: TensorQuantizer = ron::from_str(text).unwrap();
    assert!(matches!(q.scheme, Scheme::Pot(_)));
    let back: TensorQuantizer = ron::from_str(&ron::to_string(&q).unwrap()).unwrap();
    assert_eq!(back, q);
}

// ---------------------------------------------------------------- properties

fn nearest_modes() -> impl Strategy<Value = RoundingMode> {
    prop::sample::select(vec![
        RoundingMode::HalfEven,
        RoundingMode::HalfAwayFromZero,
        RoundingMode::HalfTowardZero,
        RoundingMode::HalfToPosInf,
        RoundingMode::HalfToNegInf,
        RoundingMode::HalfOdd,
    ])
}

fn uniform_configs() -> impl Strategy<Value = UniformConfig> {
    (
        2u32..=16,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(RoundingMode::ALL.to_vec()),
        any::<bool>(),
    )
        .prop_map(
            |(bits, signed, narrow, symmetric, rounding, po2)| UniformConfig {
                bits,
                signed,
                narrow,
                symmetric,
                rounding,
                scale_constraint: if po2 {
                    ScaleConstraint::PowerOfTwo
                } else {
                    ScaleConstraint::Float
                },
            },
        )
}

fn pot_configs() -> impl Strategy<Value = PotConfig> {
    (1u32..=4, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(e, signed, zero, log)| {
        PotConfig {
            format: PotFormat::new(e, signed, zero).unwrap(),
            domain: if log {
                PotDomain::Log2
            } else {
                PotDomain::Linear
            },
            exponents: ExponentRange::FromThreshold,
            alpha: 1.0,
        }
    })
}

fn apot_quantizers() -> impl Strategy<Value = ApotQuantizer> {
    (1u32..=3, 1u32..=3, any::<bool>()).prop_map(|(term_bits, terms, signed)| {
        ApotQuantizer::new(&ApotConfig {
            term_bits,
            terms,
            signed,
            alpha: None,
        })
        .unwrap()
    })
}

fn clippings() -> impl Strategy<Value = Clipping> {
    prop_oneof![
        Just(Clipping::MinMax),
        (90.0f64..=100.0).prop_map(|percentile| Clipping::Percentile { percentile }),
        (1u32..=40, 0.05f64..=1.0).prop_map(|(steps, low_fraction)| Clipping::MseOptimal {
            steps,
            low_fraction
        }),
    ]
}

fn values() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-100.0f64..100.0, 1..40)
}

/// A tensor of `rows` channels along axis 0.
fn matrices() -> impl Strategy<Value = (Vec<f64>, usize)> {
    (1usize..5, 1usize..8).prop_flat_map(|(rows, cols)| {
        (
            prop::collection::vec(-10.0f64..10.0, rows * cols),
            Just(rows),
        )
    })
}

fn per_channel_matches_per_tensor<Q: ChannelQuantizer>(
    q: &Q,
    w: &[f64],
    rows: usize,
    clipping: Clipping,
) -> Result<(), TestCaseError> {
    let cols = w.len() / rows;
    let shape = [rows, cols];
    let whole = quantize_tensor(
        q,
        TensorRef::new(w, &shape).unwrap(),
        Granularity::PerChannel { axis: 0 },
        clipping,
    )
    .unwrap();
    for r in 0..rows {
        let row = &w[r * cols..(r + 1) * cols];
        let alone = per_tensor(q, row, clipping);
        prop_assert_eq!(&whole.codes()[r * cols..(r + 1) * cols], alone.codes());
        prop_assert_eq!(whole.channels()[r], alone.channels()[0]);
    }
    Ok(())
}

proptest! {
    #[test]
    fn uniform_error_is_at_most_half_a_step_inside_the_range(
        cfg in uniform_configs(), rounding in nearest_modes(), w in values()
    ) {
        let cfg = UniformConfig { rounding, ..cfg };
        let t = per_tensor(&cfg, &w, Clipping::MinMax);
        let p = t.channels()[0];
        let d = t.dequantize();
        for (x, y) in w.iter().zip(&d) {
            if !cfg.signed && cfg.symmetric && *x < 0.0 {
                continue; // outside the clipping range [0, T]
            }
            prop_assert!((x - y).abs() <= p.scale / 2.0 * (1.0 + 1e-9), "x {} y {} scale {}", x, y, p.scale);
        }
    }

    #[test]
    fn uniform_codes_stay_in_range(cfg in uniform_configs(), clipping in clippings(), w in values()) {
        let t = per_tensor(&cfg, &w, clipping);
        let range = IntRange::new(cfg.bits, cfg.signed, cfg.narrow).unwrap();
        for &c in t.codes() {
            prop_assert!(range.contains(c), "code {} outside {:?}", c, range);
        }
        prop_assert!(range.contains(t.channels()[0].zero_point));
    }

    #[test]
    fn pot_and_apot_codes_decode_within_the_format(
        p in pot_configs(), a in apot_quantizers(), clipping in clippings(), w in values()
    ) {
        let t = per_tensor(&p, &w, clipping);
        for (&c, l) in t.codes().iter().zip(t.levels()) {
            prop_assert!(c >= 0 && c < 1 << p.format.width());
            prop_assert!(l.unsigned_abs() <= 1 << p.format.max_shift());
            prop_assert!(p.format.signed || l >= 0);
        }
        let t = per_tensor(&a, &w, clipping);
        for (&c, l) in t.codes().iter().zip(t.levels()) {
            prop_assert!(c >= 0 && c < 1 << a.format().width());
            prop_assert!(l.abs() <= a.max_level());
            prop_assert!(a.config().signed || l >= 0);
        }
    }

    #[test]
    fn per_channel_is_per_tensor_on_each_channel(
        u in uniform_configs(), p in pot_configs(), a in apot_quantizers(),
        clipping in clippings(), (w, rows) in matrices()
    ) {
        per_channel_matches_per_tensor(&u, &w, rows, clipping)?;
        per_channel_matches_per_tensor(&p, &w, rows, clipping)?;
        per_channel_matches_per_tensor(&a, &w, rows, clipping)?;
    }

    #[test]
    fn mse_clipping_never_loses_to_min_max(
        u in uniform_configs(), p in pot_configs(), a in apot_quantizers(),
        steps in 1u32..60, low in 0.05f64..=1.0, w in values()
    ) {
        let search = Clipping::MseOptimal { steps, low_fraction: low };
        let pairs = [
            (per_tensor(&u, &w, Clipping::MinMax), per_tensor(&u, &w, search)),
            (per_tensor(&p, &w, Clipping::MinMax), per_tensor(&p, &w, search)),
            (per_tensor(&a, &w, Clipping::MinMax), per_tensor(&a, &w, search)),
        ];
        for (minmax, best) in pairs {
            prop_assert!(mse(&w, &best) <= mse(&w, &minmax), "{} > {}", mse(&w, &best), mse(&w, &minmax));
        }
    }
}

proptest! {
    #[test]
    fn spec_spellings_print_and_parse_back(
        bits in 1u32..=32, signed in any::<bool>(), narrow in any::<bool>(),
        rounding in prop::sample::select(RoundingMode::ALL.to_vec()),
        scale_exp in -20i32..20, scale_odd in prop::sample::select(vec![1.0, 3.0, 5.0, 0.1]),
        zeropt in -5i64..5, exp_bits in 1u32..=6, e_min in -30i32..30, log in any::<bool>(),
        term_bits in 1u32..=3, terms in 1u32..=3, x in -1000.0f64..1000.0,
    ) {
        use qforge::quant::spec::parse_spec;
        let scale = scale_odd * f64::powi(2.0, scale_exp);
        let rounding = rounding.qonnx_name().unwrap_or(rounding.name());
        let domain = if log { "log2" } else { "linear" };
        for text in [
            format!("intquant<bits={bits},signed={},narrow={},rounding={rounding},scale={scale},zeropt={zeropt}>", u8::from(signed), u8::from(narrow)),
            format!("pot<exp_bits={exp_bits},signed={},zero={},e_min={e_min},domain={domain},alpha={scale}>", u8::from(signed), u8::from(narrow)),
            format!("apot<term_bits={term_bits},terms={terms},signed={},alpha={scale}>", u8::from(signed)),
        ] {
            let spec = parse_spec(&text).unwrap();
            prop_assert_eq!(spec.to_string(), text.clone());
            let back = parse_spec(&spec.to_string()).unwrap();
            prop_assert_eq!(back.cast(x).unwrap(), spec.cast(x).unwrap());
            let r = spec.cast(x).unwrap();
            prop_assert!(r.code >= 0 || text.starts_with("intquant"));
            // The exact value rounded once equals the correctly rounded f64 product.
            if text.starts_with("intquant") {
                prop_assert_eq!(r.value.to_f64(), (r.code - zeropt) as f64 * scale);
            } else if text.starts_with("pot") {
                prop_assert_eq!(r.value.to_f64(), r.level as f64 * scale * f64::powi(2.0, e_min));
            }
        }
    }
}
