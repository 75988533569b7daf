//! The fast integer engine against an independent, straightforward reference written here:
//! i128 arithmetic, the accumulator's overflow applied after every addition (bias first, then
//! products in input order), requantization by exact rational rounding. Random small networks of
//! every weight scheme, accumulator widths above and below the proven one, both overflow modes.

use proptest::prelude::*;
use qforge::num::codes::{binary_level, ternary_level, ApotFormat, PotFormat};
use qforge::num::rounding::RoundingMode;
use qforge::qnn::{
    AccOverflow, Accumulator, Conv2d, Dense, Engine, InputQuant, IntFormat, Layer, LayerOutput,
    MaxPool2d, QNet, Requant, WeightCode,
};

// ---------- the reference ----------

fn ref_level(scheme: &WeightCode, code: u64) -> i128 {
    match scheme {
        WeightCode::Uniform { bits } => {
            let c = code as i128;
            if c >> (bits - 1) & 1 == 1 {
                c - (1i128 << bits)
            } else {
                c
            }
        }
        WeightCode::Pot(p) => p.level(code).into(),
        WeightCode::Apot(a) => a.level(code).into(),
        WeightCode::Binary => binary_level(code).into(),
        WeightCode::Ternary => ternary_level(code).expect("valid ternary code").into(),
    }
}

fn ref_overflow(v: i128, bits: Option<u32>, mode: AccOverflow) -> i128 {
    let Some(bits) = bits else { return v };
    let m = 1i128 << bits;
    let (lo, hi) = (-(m / 2), m / 2 - 1);
    match mode {
        AccOverflow::Saturate => v.clamp(lo, hi),
        AccOverflow::Wrap => {
            let r = v.rem_euclid(m);
            if r > hi {
                r - m
            } else {
                r
            }
        }
    }
}

/// round(n / d) for d > 0, by comparing twice the remainder with d.
fn ref_div_round(n: i128, d: i128, mode: RoundingMode) -> i128 {
    let q = n.div_euclid(d); // floor
    let r = n - q * d; // 0 <= r < d
    if r == 0 {
        return q;
    }
    let neg = n < 0;
    let twice = 2 * r;
    let up = match mode {
        RoundingMode::Floor => false,
        RoundingMode::Ceil => true,
        RoundingMode::TowardZero => neg,
        RoundingMode::AwayFromZero => !neg,
        _ if twice < d => false,
        _ if twice > d => true,
        RoundingMode::HalfToPosInf => true,
        RoundingMode::HalfToNegInf => false,
        RoundingMode::HalfTowardZero => neg,
        RoundingMode::HalfAwayFromZero => !neg,
        RoundingMode::HalfEven => q.rem_euclid(2) == 1,
        RoundingMode::HalfOdd => q.rem_euclid(2) == 0,
    };
    q + i128::from(up)
}

fn ref_requant(r: &Requant, acc: i128, c: usize) -> i128 {
    let m = i128::from(if r.multiplier.len() == 1 {
        r.multiplier[0]
    } else {
        r.multiplier[c]
    });
    let s = if r.shift.len() == 1 {
        r.shift[0]
    } else {
        r.shift[c]
    };
    let v = if s >= 0 {
        ref_div_round(acc * m, 1i128 << s, r.rounding)
    } else {
        acc * m * (1i128 << -s)
    };
    let (mut lo, hi) = if r.output.signed {
        (
            -(1i128 << (r.output.bits - 1)),
            (1i128 << (r.output.bits - 1)) - 1,
        )
    } else {
        (0, (1i128 << r.output.bits) - 1)
    };
    if r.relu {
        lo = lo.max(0);
    }
    v.clamp(lo, hi)
}

fn ref_infer(net: &QNet, x: &[i32]) -> Vec<i128> {
    let mut cur: Vec<i128> = x.iter().map(|&v| v.into()).collect();
    for layer in &net.layers {
        cur = match layer {
            Layer::Dense(d) => (0..d.out_features)
                .map(|j| {
                    let bits = d.accumulator.bits;
                    let mode = d.accumulator.overflow;
                    let mut acc = ref_overflow(d.bias[j].into(), bits, mode);
                    for (i, &x) in cur.iter().enumerate().take(d.in_features) {
                        let w = ref_level(&d.weights, d.codes[j * d.in_features + i]);
                        acc = ref_overflow(acc + w * x, bits, mode);
                    }
                    match &d.output {
                        LayerOutput::Accumulator => acc,
                        LayerOutput::Requant(r) => ref_requant(r, acc, j),
                        LayerOutput::Sign(_) => 2 * i128::from(acc >= 0) - 1,
                    }
                })
                .collect(),
            Layer::Conv2d(c) => {
                let oh = (c.in_h + 2 * c.padding - c.kernel_h) / c.stride + 1;
                let ow = (c.in_w + 2 * c.padding - c.kernel_w) / c.stride + 1;
                let mut out = vec![0i128; c.out_channels * oh * ow];
                for o in 0..c.out_channels {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let bits = c.accumulator.bits;
                            let mode = c.accumulator.overflow;
                            let mut acc = ref_overflow(c.bias[o].into(), bits, mode);
                            for ch in 0..c.in_channels {
                                for ky in 0..c.kernel_h {
                                    for kx in 0..c.kernel_w {
                                        // taps in the padding are skipped
                                        let y = (oy * c.stride + ky) as i64 - c.padding as i64;
                                        let xx = (ox * c.stride + kx) as i64 - c.padding as i64;
                                        if y < 0
                                            || xx < 0
                                            || y >= c.in_h as i64
                                            || xx >= c.in_w as i64
                                        {
                                            continue;
                                        }
                                        let k = ((o * c.in_channels + ch) * c.kernel_h + ky)
                                            * c.kernel_w
                                            + kx;
                                        let w = ref_level(&c.weights, c.codes[k]);
                                        let v =
                                            cur[(ch * c.in_h + y as usize) * c.in_w + xx as usize];
                                        acc = ref_overflow(acc + w * v, bits, mode);
                                    }
                                }
                            }
                            out[(o * oh + oy) * ow + ox] = match &c.output {
                                LayerOutput::Accumulator => acc,
                                LayerOutput::Requant(r) => ref_requant(r, acc, o),
                                LayerOutput::Sign(_) => 2 * i128::from(acc >= 0) - 1,
                            };
                        }
                    }
                }
                out
            }
            Layer::MaxPool2d(p) => {
                let oh = (p.in_h - p.kernel) / p.stride + 1;
                let ow = (p.in_w - p.kernel) / p.stride + 1;
                let mut out = Vec::new();
                for ch in 0..p.channels {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let mut m = i128::MIN;
                            for ky in 0..p.kernel {
                                for kx in 0..p.kernel {
                                    m = m.max(
                                        cur[(ch * p.in_h + oy * p.stride + ky) * p.in_w
                                            + ox * p.stride
                                            + kx],
                                    );
                                }
                            }
                            out.push(m);
                        }
                    }
                }
                out
            }
            Layer::FixedDense(_) => panic!("not generated here"),
        };
    }
    cur
}

// ---------- random networks ----------

fn scheme_strategy() -> impl Strategy<Value = WeightCode> {
    prop_oneof![
        (2u32..=24).prop_map(|bits| WeightCode::Uniform { bits }),
        (1u32..=4, any::<bool>(), any::<bool>())
            .prop_map(|(e, s, z)| WeightCode::Pot(PotFormat::new(e, s, z).unwrap())),
        (1u32..=3, 1u32..=3, any::<bool>())
            .prop_map(|(b, t, s)| WeightCode::Apot(ApotFormat::li2020(b, t, s).unwrap())),
        Just(WeightCode::Binary),
        Just(WeightCode::Ternary),
    ]
}

fn fmt_strategy(max_bits: u32) -> impl Strategy<Value = IntFormat> {
    (2u32..=max_bits, any::<bool>()).prop_map(|(b, s)| IntFormat::new(b, s).unwrap())
}

fn mode_strategy() -> impl Strategy<Value = RoundingMode> {
    (0usize..10).prop_map(|i| RoundingMode::ALL[i])
}

/// Builds a random layer from raw random material (so the strategy stays simple).
#[allow(clippy::too_many_arguments)]
fn make_dense(
    in_f: usize,
    out_f: usize,
    scheme: WeightCode,
    raw: &[u64],
    bias_bits: u32,
    acc_bits: Option<u32>,
    overflow: AccOverflow,
    requant: Option<Requant>,
) -> Dense {
    let bits = scheme.code_bits();
    let codes: Vec<u64> = (0..in_f * out_f)
        .map(|k| {
            let mut c = raw[k % raw.len()].rotate_left(k as u32) & ((1u64 << bits) - 1);
            if scheme == WeightCode::Ternary && c == 2 {
                c = 3;
            }
            c
        })
        .collect();
    let bias = (0..out_f)
        .map(|j| {
            let r = raw[(j * 7 + 3) % raw.len()].rotate_right(j as u32 * 5) as i64;
            r >> (64 - bias_bits)
        })
        .collect();
    Dense {
        in_features: in_f,
        out_features: out_f,
        weights: scheme,
        codes,
        bias,
        accumulator: Accumulator {
            bits: acc_bits,
            overflow,
        },
        output: match requant {
            None => LayerOutput::Accumulator,
            Some(r) => LayerOutput::Requant(r),
        },
        acc_scale: vec![1.0],
    }
}

#[derive(Debug, Clone)]
struct LayerSpec {
    out_f: usize,
    scheme: WeightCode,
    bias_bits: u32,
    acc_bits: Option<u32>,
    overflow: AccOverflow,
    rq_fmt: IntFormat,
    rq_m: Vec<i64>,
    rq_s: Vec<i32>,
    scale_bits: u32,
    mode: RoundingMode,
    relu: bool,
}

fn layer_spec() -> impl Strategy<Value = LayerSpec> {
    (
        1usize..=7,
        scheme_strategy(),
        1u32..=20,
        prop_oneof![Just(None), (2u32..=40).prop_map(Some)],
        prop_oneof![Just(AccOverflow::Wrap), Just(AccOverflow::Saturate)],
        fmt_strategy(12),
        (1u32..=16, prop::collection::vec(any::<u16>(), 1..=2)),
        prop::collection::vec(-3i32..=30, 1..=2),
        mode_strategy(),
        any::<bool>(),
    )
        .prop_map(
            |(
                out_f,
                scheme,
                bias_bits,
                acc_bits,
                overflow,
                rq_fmt,
                (scale_bits, ms),
                ss,
                mode,
                relu,
            )| {
                LayerSpec {
                    out_f,
                    scheme,
                    bias_bits,
                    acc_bits,
                    overflow,
                    rq_fmt,
                    rq_m: ms
                        .iter()
                        .map(|&m| i64::from(m) % (1i64 << scale_bits))
                        .collect(),
                    rq_s: ss,
                    scale_bits,
                    mode,
                    relu,
                }
            },
        )
}

fn build_net(in_f: usize, input: IntFormat, specs: &[LayerSpec], raw: &[u64]) -> QNet {
    let mut layers = Vec::new();
    let mut f = in_f;
    for (k, s) in specs.iter().enumerate() {
        let last = k + 1 == specs.len();
        let per = |v: &Vec<i64>| -> Vec<i64> {
            if v.len() == 1 {
                v.clone()
            } else {
                (0..s.out_f).map(|j| v[j % v.len()]).collect()
            }
        };
        let rq = (!last || s.relu).then(|| Requant {
            multiplier: per(&s.rq_m),
            shift: if s.rq_s.len() == 1 {
                s.rq_s.clone()
            } else {
                (0..s.out_f).map(|j| s.rq_s[j % 2]).collect()
            },
            scale_bits: s.scale_bits,
            rounding: s.mode,
            relu: s.relu,
            output: s.rq_fmt,
            output_scale: 1.0,
        });
        let raw_k: Vec<u64> = raw.iter().map(|r| r.rotate_left(k as u32 * 11)).collect();
        layers.push(Layer::Dense(make_dense(
            f,
            s.out_f,
            s.scheme.clone(),
            &raw_k,
            s.bias_bits,
            s.acc_bits,
            s.overflow,
            rq,
        )));
        f = s.out_f;
    }
    QNet {
        name: "random".into(),
        input: InputQuant {
            format: input,
            scale: 1.0,
            rounding: RoundingMode::HalfEven,
            fixed: None,
        },
        layers,
    }
}

fn inputs(fmt: IntFormat, n: usize, raw: &[u64]) -> Vec<i32> {
    let span = (fmt.max() - fmt.min() + 1) as u64;
    (0..n)
        .map(|k| {
            let r = raw[k % raw.len()].rotate_left((k / raw.len()) as u32 * 13 + k as u32);
            // bias towards the range ends, where overflow and saturation happen
            match r % 5 {
                0 => fmt.min() as i32,
                1 => fmt.max() as i32,
                _ => (fmt.min() + ((r >> 8) % span) as i64) as i32,
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_reference_on_random_networks(
        in_f in 1usize..=40,
        input in fmt_strategy(24),
        specs in prop::collection::vec(layer_spec(), 1..=3),
        raw in prop::collection::vec(any::<u64>(), 1..=16),
        batch in 1usize..=6,
    ) {
        let net = build_net(in_f, input, &specs, &raw);
        prop_assume!(net.validate().is_ok());
        let engine = Engine::new(&net).unwrap();
        let x = inputs(input, in_f * batch, &raw);
        let got = engine.infer(&x).unwrap();
        for s in 0..batch {
            let want = ref_infer(&net, &x[s * in_f..(s + 1) * in_f]);
            let have = &got[s * net.out_features()..(s + 1) * net.out_features()];
            let have: Vec<i128> = have.iter().map(|&v| v.into()).collect();
            prop_assert_eq!(have, want, "sample {}", s);
        }
    }
}

#[test]
fn every_scheme_and_path_is_exercised_on_a_large_parallel_batch() {
    // wide uniform weights and inputs: the i64 path; narrow saturating: the step path; the rest
    // the i16/i32 paths; a 1000-sample batch goes through the thread pool.
    let cases: Vec<(WeightCode, IntFormat, Option<u32>, AccOverflow)> = vec![
        (
            WeightCode::Uniform { bits: 8 },
            IntFormat::new(8, false).unwrap(),
            None,
            AccOverflow::Wrap,
        ),
        (
            WeightCode::Uniform { bits: 20 },
            IntFormat::new(20, true).unwrap(),
            None,
            AccOverflow::Wrap,
        ),
        (
            WeightCode::Uniform { bits: 8 },
            IntFormat::new(8, true).unwrap(),
            Some(12),
            AccOverflow::Saturate,
        ),
        (
            WeightCode::Uniform { bits: 8 },
            IntFormat::new(8, true).unwrap(),
            Some(12),
            AccOverflow::Wrap,
        ),
        (
            WeightCode::Uniform { bits: 16 },
            IntFormat::new(16, true).unwrap(),
            Some(40),
            AccOverflow::Wrap,
        ),
        (
            WeightCode::Pot(PotFormat::new(3, true, true).unwrap()),
            IntFormat::new(4, false).unwrap(),
            None,
            AccOverflow::Wrap,
        ),
        (
            WeightCode::Apot(ApotFormat::li2020(3, 3, true).unwrap()),
            IntFormat::new(16, true).unwrap(),
            None,
            AccOverflow::Wrap,
        ),
        (
            WeightCode::Binary,
            IntFormat::new(2, true).unwrap(),
            None,
            AccOverflow::Wrap,
        ),
        (
            WeightCode::Ternary,
            IntFormat::new(3, true).unwrap(),
            Some(4),
            AccOverflow::Saturate,
        ),
    ];
    let raw: Vec<u64> = (0..64u64)
        .map(|k| k.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (k << 17))
        .collect();
    for (scheme, fmt, bits, ovf) in cases {
        let spec = LayerSpec {
            out_f: 5,
            scheme: scheme.clone(),
            bias_bits: 10,
            acc_bits: bits,
            overflow: ovf,
            rq_fmt: IntFormat::new(6, false).unwrap(),
            rq_m: vec![77],
            rq_s: vec![9],
            scale_bits: 8,
            mode: RoundingMode::HalfAwayFromZero,
            relu: true,
        };
        let mut last = spec.clone();
        last.relu = false;
        last.scheme = scheme.clone();
        let net = build_net(37, fmt, &[spec, last], &raw);
        net.validate().unwrap();
        let engine = Engine::new(&net).unwrap();
        let x = inputs(fmt, 37 * 1000, &raw);
        let got = engine.infer(&x).unwrap();
        let serial = engine.infer_serial(&x).unwrap();
        assert_eq!(got, serial, "{scheme:?}");
        for s in 0..1000 {
            let want = ref_infer(&net, &x[s * 37..(s + 1) * 37]);
            let have: Vec<i128> = got[s * 5..(s + 1) * 5].iter().map(|&v| v.into()).collect();
            assert_eq!(have, want, "{scheme:?} {fmt} {bits:?} {ovf:?} sample {s}");
        }
    }
}

#[derive(Debug, Clone)]
struct ConvSpec {
    in_c: usize,
    hw: (usize, usize),
    out_c: usize,
    k: (usize, usize),
    stride: usize,
    padding: usize,
    pool: usize,
}

fn conv_spec() -> impl Strategy<Value = ConvSpec> {
    (
        1usize..=3,
        (3usize..=7, 3usize..=7),
        1usize..=4,
        (1usize..=3, 1usize..=3),
        1usize..=2,
        0usize..=1,
        1usize..=2,
    )
        .prop_map(|(in_c, hw, out_c, k, stride, padding, pool)| ConvSpec {
            in_c,
            hw,
            out_c,
            k,
            stride,
            padding,
            pool,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_reference_on_random_conv_networks(
        cs in conv_spec(),
        input in fmt_strategy(12),
        conv_layer in layer_spec(),
        dense_layer in layer_spec(),
        raw in prop::collection::vec(any::<u64>(), 1..=16),
        batch in 1usize..=3,
    ) {
        let conv_dense = make_dense(
            cs.in_c * cs.k.0 * cs.k.1, cs.out_c, conv_layer.scheme.clone(), &raw, conv_layer.bias_bits,
            conv_layer.acc_bits, conv_layer.overflow, None,
        );
        let rq = Requant {
            multiplier: vec![conv_layer.rq_m[0]],
            shift: vec![conv_layer.rq_s[0]],
            scale_bits: conv_layer.scale_bits,
            rounding: conv_layer.mode,
            relu: conv_layer.relu,
            output: conv_layer.rq_fmt,
            output_scale: 1.0,
        };
        let conv = Conv2d {
            in_channels: cs.in_c,
            out_channels: cs.out_c,
            in_h: cs.hw.0,
            in_w: cs.hw.1,
            kernel_h: cs.k.0,
            kernel_w: cs.k.1,
            stride: cs.stride,
            padding: cs.padding,
            weights: conv_dense.weights.clone(),
            codes: conv_dense.codes.clone(),
            bias: conv_dense.bias.clone(),
            accumulator: conv_dense.accumulator,
            output: LayerOutput::Requant(rq),
            acc_scale: vec![1.0],
        };
        let oh = (cs.hw.0 + 2 * cs.padding - cs.k.0) / cs.stride + 1;
        let ow = (cs.hw.1 + 2 * cs.padding - cs.k.1) / cs.stride + 1;
        let pool = MaxPool2d { channels: cs.out_c, in_h: oh, in_w: ow, kernel: cs.pool.min(oh).min(ow), stride: cs.pool.min(oh).min(ow) };
        let feats = pool.out_features();
        let dense = make_dense(
            feats, dense_layer.out_f, dense_layer.scheme.clone(), &raw, dense_layer.bias_bits,
            dense_layer.acc_bits, dense_layer.overflow, None,
        );
        let in_f = cs.in_c * cs.hw.0 * cs.hw.1;
        let net = QNet {
            name: "conv".into(),
            input: InputQuant { format: input, scale: 1.0, rounding: RoundingMode::HalfEven, fixed: None },
            layers: vec![Layer::Conv2d(conv), Layer::MaxPool2d(pool), Layer::Dense(dense)],
        };
        prop_assume!(net.validate().is_ok());
        let engine = Engine::new(&net).unwrap();
        let x = inputs(input, in_f * batch, &raw);
        let got = engine.infer(&x).unwrap();
        let n = net.out_features();
        for s in 0..batch {
            let want = ref_infer(&net, &x[s * in_f..(s + 1) * in_f]);
            let have: Vec<i128> = got[s * n..(s + 1) * n].iter().map(|&v| v.into()).collect();
            prop_assert_eq!(have, want, "sample {}", s);
        }
    }
}
