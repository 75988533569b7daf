//! Accumulator proofs, requantization against a hand-derived table, and integer-model file errors.

use proptest::prelude::*;
use qforge::num::codes::{ApotFormat, PotFormat};
use qforge::num::rounding::RoundingMode;
use qforge::qnn::{
    AccOverflow, Accumulator, Dense, Engine, InputQuant, IntFormat, Layer, LayerOutput, QNet,
    QnnError, Requant, WeightCode,
};

fn one_layer(
    scheme: WeightCode,
    codes: Vec<u64>,
    bias: Vec<i64>,
    in_f: usize,
    input: IntFormat,
    acc: Accumulator,
) -> QNet {
    let out_f = bias.len();
    QNet {
        name: String::new(),
        input: InputQuant {
            format: input,
            scale: 1.0,
            rounding: RoundingMode::HalfEven,
            fixed: None,
        },
        layers: vec![Layer::Dense(Dense {
            in_features: in_f,
            out_features: out_f,
            weights: scheme,
            codes,
            bias,
            accumulator: acc,
            output: LayerOutput::Accumulator,
            acc_scale: vec![1.0],
        })],
    }
}

fn scheme_strategy() -> impl Strategy<Value = WeightCode> {
    prop_oneof![
        (2u32..=12).prop_map(|bits| WeightCode::Uniform { bits }),
        (1u32..=3, any::<bool>(), any::<bool>())
            .prop_map(|(e, s, z)| WeightCode::Pot(PotFormat::new(e, s, z).unwrap())),
        (1u32..=2, 1u32..=2, any::<bool>())
            .prop_map(|(b, t, s)| WeightCode::Apot(ApotFormat::li2020(b, t, s).unwrap())),
        Just(WeightCode::Binary),
        Just(WeightCode::Ternary),
    ]
}

/// Smallest two's-complement width holding v, worked out independently of the code under test.
fn width_of(v: i128) -> u32 {
    (1..128)
        .find(|&w| v >= -(1i128 << (w - 1)) && v < (1i128 << (w - 1)))
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// The proven width holds the extreme inputs, which attain the bound; one bit less overflows
    /// on the input that attains it, and a wrapping accumulator then gives a different result.
    #[test]
    fn proven_width_is_tight(
        scheme in scheme_strategy(),
        in_f in 1usize..=24,
        out_f in 1usize..=4,
        bits in 2u32..=12,
        signed in any::<bool>(),
        raw in prop::collection::vec(any::<u64>(), 1..=8),
        bias_raw in prop::collection::vec(-3000i64..=3000, 4),
    ) {
        let input = IntFormat::new(bits, signed).unwrap();
        let cb = scheme.code_bits();
        let codes: Vec<u64> = (0..in_f * out_f).map(|k| {
            let mut c = raw[k % raw.len()].rotate_left(k as u32 * 3) & ((1u64 << cb) - 1);
            if scheme == WeightCode::Ternary && c == 2 { c = 0; }
            c
        }).collect();
        let bias: Vec<i64> = bias_raw[..out_f].to_vec();
        let net = one_layer(scheme.clone(), codes.clone(), bias.clone(), in_f, input, Accumulator::default());
        let cert = net.certificates()[0].clone();
        let levels: Vec<i64> = codes.iter().map(|&c| scheme.level(c).unwrap()).collect();
        let (xmin, xmax) = (input.min(), input.max());
        // the extreme inputs, chosen per weight sign, and their exact accumulators
        let mut best_hi = (i128::MIN, vec![]);
        let mut best_lo = (i128::MAX, vec![]);
        for j in 0..out_f {
            let row = &levels[j * in_f..(j + 1) * in_f];
            let hi_x: Vec<i64> = row.iter().map(|&l| if l >= 0 { xmax } else { xmin }).collect();
            let lo_x: Vec<i64> = row.iter().map(|&l| if l >= 0 { xmin } else { xmax }).collect();
            let dot = |x: &[i64]| -> i128 { i128::from(bias[j]) + row.iter().zip(x).map(|(&l, &v)| i128::from(l) * i128::from(v)).sum::<i128>() };
            let (h, l) = (dot(&hi_x), dot(&lo_x));
            if h > best_hi.0 { best_hi = (h, hi_x); }
            if l < best_lo.0 { best_lo = (l, lo_x); }
        }
        prop_assert_eq!(cert.max, best_hi.0);
        prop_assert_eq!(cert.min, best_lo.0);
        let need = width_of(best_hi.0).max(width_of(best_lo.0));
        prop_assert_eq!(cert.proven_bits, need);

        // the proven width: the engine reproduces both extremes exactly (no overflow)
        let engine = Engine::new(&net).unwrap();
        for (v, x) in [&best_hi, &best_lo] {
            let x32: Vec<i32> = x.iter().map(|&v| v as i32).collect();
            let out = engine.infer(&x32).unwrap();
            prop_assert!(out.iter().any(|&o| i128::from(o) == *v));
        }

        // one bit less: the attaining input overflows; with wrap the result changes
        if need >= 2 {
            let narrow = need - 1;
            let (lim_lo, lim_hi) = (-(1i128 << (narrow - 1)), (1i128 << (narrow - 1)) - 1);
            let (v, x) = if best_hi.0 > lim_hi { &best_hi } else { &best_lo };
            prop_assert!(*v > lim_hi || *v < lim_lo);
            let mut narrow_net = net.clone();
            let Layer::Dense(d) = &mut narrow_net.layers[0] else { unreachable!() };
            d.accumulator = Accumulator { bits: Some(narrow), overflow: AccOverflow::Wrap };
            prop_assert!(narrow_net.certificates()[0].can_overflow());
            let e = Engine::new(&narrow_net).unwrap();
            let x32: Vec<i32> = x.iter().map(|&v| v as i32).collect();
            let wide_out = engine.infer(&x32).unwrap();
            let narrow_out = e.infer(&x32).unwrap();
            prop_assert_ne!(wide_out, narrow_out);
        }
    }
}

#[test]
fn one_bit_less_wraps_by_hand() {
    // y = 7·x0 + 7·x1 with unsigned 4-bit inputs: max 210 → 9 bits (210 > 127).
    let net = one_layer(
        WeightCode::Uniform { bits: 4 },
        vec![7, 7],
        vec![0],
        2,
        IntFormat::new(4, false).unwrap(),
        Accumulator::default(),
    );
    let c = &net.certificates()[0];
    assert_eq!((c.min, c.max, c.proven_bits), (0, 210, 9));
    assert_eq!(
        Engine::new(&net).unwrap().infer(&[15, 15]).unwrap(),
        vec![210]
    );
    let mut n8 = net.clone();
    let Layer::Dense(d) = &mut n8.layers[0] else {
        unreachable!()
    };
    d.accumulator = Accumulator {
        bits: Some(8),
        overflow: AccOverflow::Wrap,
    };
    // 210 − 256 = −46
    assert_eq!(
        Engine::new(&n8).unwrap().infer(&[15, 15]).unwrap(),
        vec![-46]
    );
    let Layer::Dense(d) = &mut n8.layers[0] else {
        unreachable!()
    };
    d.accumulator.overflow = AccOverflow::Saturate;
    assert_eq!(
        Engine::new(&n8).unwrap().infer(&[15, 15]).unwrap(),
        vec![127]
    );
    assert!(n8.certificates()[0]
        .to_string()
        .contains("needs 9 bits; uses 8 bits (may saturate)"));
}

#[test]
fn saturation_is_order_dependent() {
    // bias 0, weights [+7, +7, −7], inputs [15, 15, 15], 8-bit saturating accumulator:
    // 105 → 210 saturates to 127 → 127 − 105 = 22, while the exact sum is 105.
    let net = one_layer(
        WeightCode::Uniform { bits: 4 },
        vec![7, 7, 0b1001],
        vec![0],
        3,
        IntFormat::new(4, false).unwrap(),
        Accumulator {
            bits: Some(8),
            overflow: AccOverflow::Saturate,
        },
    );
    assert_eq!(
        Engine::new(&net).unwrap().infer(&[15, 15, 15]).unwrap(),
        vec![22]
    );
    let mut wrap = net.clone();
    let Layer::Dense(d) = &mut wrap.layers[0] else {
        unreachable!()
    };
    d.accumulator.overflow = AccOverflow::Wrap;
    assert_eq!(
        Engine::new(&wrap).unwrap().infer(&[15, 15, 15]).unwrap(),
        vec![105]
    );
}

fn rq(m: Vec<i64>, s: Vec<i32>, mode: RoundingMode, relu: bool) -> Requant {
    Requant {
        multiplier: m,
        shift: s,
        scale_bits: 8,
        rounding: mode,
        relu,
        output: IntFormat::new(4, true).unwrap(),
        output_scale: 1.0,
    }
}

#[test]
fn requant_matches_hand_table() {
    use RoundingMode::*;
    // M = 3, S = 2: y = acc · 3 / 4, output i4 [−8, 7]; worked out by hand.
    let table: &[(i128, RoundingMode, bool, i64)] = &[
        (2, HalfEven, false, 2),    // 1.5 → 2
        (-2, HalfEven, false, -2),  // −1.5 → −2
        (6, HalfEven, false, 4),    // 4.5 → 4
        (-6, HalfEven, false, -4),  // −4.5 → −4
        (1, HalfEven, false, 1),    // 0.75 → 1
        (-1, HalfEven, false, -1),  // −0.75 → −1
        (10, HalfEven, false, 7),   // 7.5 → 8, saturates to 7
        (-11, HalfEven, false, -8), // −8.25 → −8
        (-12, HalfEven, false, -8), // −9 saturates to −8
        (100, HalfEven, false, 7),  // 75 saturates
        (-2, HalfEven, true, 0),    // ReLU
        (2, HalfEven, true, 2),
        (6, HalfAwayFromZero, false, 5), // 4.5 → 5
        (-6, HalfAwayFromZero, false, -5),
        (-6, HalfToPosInf, false, -4), // −4.5 → −4
        (6, HalfToPosInf, false, 5),
        (-6, HalfToNegInf, false, -5),
        (-6, HalfTowardZero, false, -4),
        (2, Floor, false, 1),   // 1.5 → 1
        (-2, Floor, false, -2), // −1.5 → −2
        (1, Floor, false, 0),
        (-1, Floor, false, -1),
        (-1, Ceil, false, 0),
        (-1, TowardZero, false, 0),
        (-1, AwayFromZero, false, -1),
        (1, AwayFromZero, false, 1),
        (2, HalfOdd, false, 1), // 1.5 → 1
        (6, HalfOdd, false, 5), // 4.5 → 5
    ];
    for &(acc, mode, relu, want) in table {
        assert_eq!(
            rq(vec![3], vec![2], mode, relu).apply(acc, 0),
            want,
            "{acc} {mode} relu={relu}"
        );
    }
    // per channel: ch0 M=1 S=1, ch1 M=5 S=3
    let r = rq(vec![1, 5], vec![1, 3], HalfEven, false);
    assert_eq!(r.apply(3, 0), 2); // 1.5 → 2
    assert_eq!(r.apply(3, 1), 2); // 15/8 = 1.875 → 2
    assert_eq!(r.apply(-4, 1), -2); // −20/8 = −2.5 → −2
    assert_eq!(r.apply(-12, 1), -8); // −7.5 → −8
                                     // negative shift: exact left shift, then saturation
    let r = rq(vec![1], vec![-2], HalfEven, false);
    assert_eq!(r.apply(1, 0), 4);
    assert_eq!(r.apply(3, 0), 7);
    assert_eq!(r.apply(-1, 0), -4);
}

#[test]
fn requant_through_the_engine_matches_hand_table() {
    // identity layer (weight 1) followed by M = 3, S = 2, half-even, i4 output
    let mut net = one_layer(
        WeightCode::Uniform { bits: 2 },
        vec![1],
        vec![0],
        1,
        IntFormat::new(8, true).unwrap(),
        Accumulator::default(),
    );
    let Layer::Dense(d) = &mut net.layers[0] else {
        unreachable!()
    };
    d.output = LayerOutput::Requant(rq(vec![3], vec![2], RoundingMode::HalfEven, false));
    let x = [2, -2, 6, -6, 1, -1, 10, -11, -12, 100];
    let want = vec![2, -2, 4, -4, 1, -1, 7, -8, -8, 7];
    assert_eq!(Engine::new(&net).unwrap().infer(&x).unwrap(), want);
}

#[test]
fn bad_files_give_line_and_column() {
    let text = "(\n  name: \"x\",\n  input: (format: (bits: 8, signed: false), scale: 1.0, rounding: half_even),\n  layers: [Dense((in_features: 2 out_features: 1))],\n)\n";
    let err = QNet::from_ron_str(text, "bad.ron").unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("bad.ron:4:"), "{msg}");
    assert!(matches!(err, QnnError::Parse { line: 4, .. }));

    let text = "(\n  input: (format: (bits: 8, signed: false), scale: 1.0, rounding: half_evn),\n  layers: [],\n)\n";
    let msg = QNet::from_ron_str(text, "m.ron").unwrap_err().to_string();
    assert!(msg.starts_with("m.ron:2:"), "{msg}");

    // parses, but the code 0b10 is not a ternary code
    let text = "(input: (format: (bits: 4, signed: false), scale: 1.0, rounding: floor), layers: [Dense((in_features: 2, out_features: 1, weights: ternary, codes: [1, 2], bias: [0], output: accumulator, acc_scale: [1.0]))])";
    let msg = QNet::from_ron_str(text, "t.ron").unwrap_err().to_string();
    // column 83 is where `Dense(` starts (counted by hand)
    assert_eq!(
        msg,
        "t.ron:1:83: layer 0: weight code 2 at index 1 is not a valid 2-bit ternary code"
    );

    // the second layer is wrong: the position points at it (line 5, after 6 spaces)
    let text = "(\n  input: (format: (bits: 4, signed: false), scale: 1.0, rounding: floor),\n  layers: [\n    Dense((in_features: 1, out_features: 1, weights: binary, codes: [1], bias: [0], output: requant((multiplier: [1], shift: [0], scale_bits: 1, rounding: floor, relu: true, output: (bits: 4, signed: false), output_scale: 1.0)), acc_scale: [1.0])),\n      Dense((in_features: 2, out_features: 1, weights: binary, codes: [1, 1], bias: [0], output: accumulator, acc_scale: [1.0])),\n  ],\n)\n";
    let msg = QNet::from_ron_str(text, "two.ron").unwrap_err().to_string();
    assert_eq!(
        msg,
        "two.ron:5:7: layer 1: in_features (2) must equal the previous layer's out_features (1)"
    );

    let missing = QNet::load(std::path::Path::new("/nonexistent/q.ron"))
        .unwrap_err()
        .to_string();
    assert!(missing.starts_with("/nonexistent/q.ron: "), "{missing}");
}

#[test]
fn files_round_trip() {
    let net = one_layer(
        WeightCode::Pot(PotFormat::new(3, true, true).unwrap()),
        vec![0b0011, 0b1011, 0],
        vec![5],
        3,
        IntFormat::new(4, false).unwrap(),
        Accumulator {
            bits: Some(12),
            overflow: AccOverflow::Saturate,
        },
    );
    let text = net.to_ron_string();
    assert_eq!(QNet::from_ron_str(&text, "x").unwrap(), net);
}
