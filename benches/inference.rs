//! Golden integer inference throughput on the digits 64-32-10 MLP (2368 MAC/sample), against a
//! float32 inference of the same network in the same run.
//!
//! The MLP is the reference float model of `tests/golden/float_mlp`, quantized here with a plain
//! symmetric per-tensor rule (the accuracy does not matter for speed; the formats do), plus the
//! hls4ml `fixed8_rnd_sat` model (ap_fixed types, hls4ml's datapath). Throughput is reported in
//! elements = MACs, so criterion's "elem/s" reads as MAC/s.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use qforge::num::codes::PotFormat;
use qforge::num::rounding::RoundingMode;
use qforge::qnn::{
    Accumulator, Dense, Engine, InputQuant, IntFormat, Layer, LayerOutput, QNet, Requant,
    WeightCode,
};
use std::hint::black_box;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");

fn tsv(path: &str) -> Vec<Vec<f32>> {
    std::fs::read_to_string(format!("{GOLDEN}/{path}"))
        .expect("golden data")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split('\t')
                .map(|v| v.trim().parse().expect("number"))
                .collect()
        })
        .collect()
}

struct FloatLayer {
    w: Vec<f32>, // [out][in]
    b: Vec<f32>,
    in_f: usize,
    out_f: usize,
}

fn float_mlp() -> Vec<FloatLayer> {
    ["fc1", "fc2"]
        .iter()
        .map(|n| {
            let w = tsv(&format!("float_mlp/{n}.weight.tsv"));
            let b = tsv(&format!("float_mlp/{n}.bias.tsv"));
            FloatLayer {
                in_f: w[0].len(),
                out_f: w.len(),
                w: w.concat(),
                b: b.concat(),
            }
        })
        .collect()
}

#[inline(always)]
fn dot_f32(x: &[f32], w: &[f32]) -> f32 {
    let mut lanes = [0f32; 16];
    let mut xc = x.chunks_exact(16);
    let mut wc = w.chunks_exact(16);
    for (a, b) in (&mut xc).zip(&mut wc) {
        for k in 0..16 {
            lanes[k] += a[k] * b[k];
        }
    }
    let mut s: f32 = lanes.iter().sum();
    for (a, b) in xc.remainder().iter().zip(wc.remainder()) {
        s += a * b;
    }
    s
}

fn float_infer(layers: &[FloatLayer], x: &[f32], out: &mut [f32]) {
    let mut h = vec![0f32; 64];
    for (xs, os) in x.chunks_exact(layers[0].in_f).zip(out.chunks_exact_mut(10)) {
        let mut cur: &[f32] = xs;
        let mut buf = vec![0f32; 0];
        for (k, l) in layers.iter().enumerate() {
            let dst: &mut [f32] = if k + 1 == layers.len() {
                &mut *os
            } else {
                &mut h[..l.out_f]
            };
            for (j, d) in dst.iter_mut().enumerate() {
                let v = dot_f32(cur, &l.w[j * l.in_f..(j + 1) * l.in_f]) + l.b[j];
                *d = if k + 1 == layers.len() { v } else { v.max(0.0) };
            }
            if k + 1 != layers.len() {
                buf.clear();
                buf.extend_from_slice(dst);
                cur = &buf;
            }
        }
    }
}

/// Symmetric per-tensor quantization of the float MLP: `scheme` weights, 8-bit unsigned inputs
/// (scale 1/16, exact for the digits), `act_bits` unsigned hidden activations.
fn quantize(layers: &[FloatLayer], scheme: WeightCode, act_bits: u32) -> QNet {
    let in_scale = 1.0 / 16.0;
    let act = IntFormat::new(act_bits, false).unwrap();
    let hidden_scale = 8.0 / act.max() as f64;
    let mut s_in = in_scale;
    let mut out = Vec::new();
    for (k, l) in layers.iter().enumerate() {
        let wmax = l.w.iter().fold(0f32, |m, v| m.max(v.abs())) as f64;
        let (codes, w_scale): (Vec<u64>, f64) = match &scheme {
            WeightCode::Uniform { bits } => {
                let q = ((1i64 << (bits - 1)) - 1) as f64;
                let s = wmax / q;
                let c =
                    l.w.iter()
                        .map(|&w| scheme.encode((w as f64 / s).round() as i64).unwrap())
                        .collect();
                (c, s)
            }
            WeightCode::Pot(p) => {
                let top = p.max_shift() as i32;
                let s = wmax / f64::from(1u32 << top);
                let c =
                    l.w.iter()
                        .map(|&w| {
                            let v = w as f64 / s;
                            let e = v.abs().log2().round().clamp(-1.0, top as f64) as i32;
                            let lvl = if e < 0 {
                                0
                            } else {
                                (1i64 << e) * v.signum() as i64
                            };
                            scheme.encode(lvl).unwrap()
                        })
                        .collect();
                (c, s)
            }
            _ => unreachable!("bench schemes"),
        };
        let acc_scale = s_in * w_scale;
        let last = k + 1 == layers.len();
        let output = if last {
            LayerOutput::Accumulator
        } else {
            let (m, s) = Requant::multiplier_for(acc_scale / hidden_scale, 16);
            LayerOutput::Requant(Requant {
                multiplier: vec![m],
                shift: vec![s],
                scale_bits: 16,
                rounding: RoundingMode::HalfEven,
                relu: true,
                output: act,
                output_scale: hidden_scale,
            })
        };
        out.push(Layer::Dense(Dense {
            in_features: l.in_f,
            out_features: l.out_f,
            weights: scheme.clone(),
            codes,
            bias: l
                .b
                .iter()
                .map(|&b| (b as f64 / acc_scale).round() as i64)
                .collect(),
            accumulator: Accumulator::default(),
            output,
            acc_scale: vec![acc_scale],
        }));
        s_in = hidden_scale;
    }
    QNet {
        name: "digits".into(),
        input: InputQuant {
            format: IntFormat::new(8, false).unwrap(),
            scale: in_scale,
            rounding: RoundingMode::HalfEven,
            fixed: None,
        },
        layers: out,
    }
}

fn bench(c: &mut Criterion) {
    let layers = float_mlp();
    let test_x = tsv("digits_split/test_x.tsv").concat();
    const BATCH: usize = 2000;
    let x: Vec<f32> = test_x.iter().cycle().take(BATCH * 64).copied().collect();
    let macs_per_sample = 64 * 32 + 32 * 10;
    let mut group = c.benchmark_group("digits_mlp_inference");
    group.throughput(Throughput::Elements((BATCH * macs_per_sample) as u64));

    let mut fout = vec![0f32; BATCH * 10];
    group.bench_function("float32_baseline_1core", |b| {
        b.iter(|| float_infer(&layers, black_box(&x), &mut fout))
    });

    let hls4ml_dir = std::path::Path::new(GOLDEN).join("hls4ml/fixed8_rnd_sat");
    let nets = [
        (
            "uniform8",
            quantize(&layers, WeightCode::Uniform { bits: 8 }, 8),
        ),
        (
            "pot4_a4",
            quantize(
                &layers,
                WeightCode::Pot(PotFormat::new(3, true, true).unwrap()),
                4,
            ),
        ),
        (
            "hls4ml_fixed8",
            qforge::qnn::hls4ml::load_dir(&hls4ml_dir).expect("hls4ml golden project"),
        ),
    ];
    for (name, net) in &nets {
        let engine = Engine::new(net).unwrap();
        let codes = net.quantize_inputs(&x);
        group.bench_with_input(BenchmarkId::new("int_1core", name), &codes, |b, codes| {
            b.iter(|| engine.infer_serial(black_box(codes)).unwrap())
        });
        group.bench_with_input(
            BenchmarkId::new("int_all_cores", name),
            &codes,
            |b, codes| b.iter(|| engine.infer(black_box(codes)).unwrap()),
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots().sample_size(20).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
