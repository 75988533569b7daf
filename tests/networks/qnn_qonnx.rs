//! QONNX semantics: the two Brevitas-exported MLPs of `tests/golden/qonnx`, hand-translated into
//! integer networks (their tensors come from `tests/qonnx/*.txt`, see the README there).
//!
//! Translation (Brevitas `Quant` = QONNX IntQuant: `q = clamp(round(x / scale + zeropt))`, ROUND =
//! half to even; all zero points here are 0):
//! * `Quant(global_in)` → the network's input codes (8-bit signed).
//! * `Quant(weight)` → weight codes, computed here with `quant::intquant::IntQuant` (4-bit narrow).
//! * `Gemm(x, W, b)` (transB) → a dense layer; `Relu` + `Quant` → the activation codes.
//!
//! `po2_floatbias`: every scale is a power of two, so the model is an ap_fixed datapath: input
//! `ap_fixed<8,2,AP_RND_CONV,AP_SAT>` (scale 2^-6), weights `ap_fixed<4,2>` (scale 2^-2, narrow →
//! AP_SAT_SYM), the float32 biases represented *exactly* in a bias type with enough fractional
//! bits, an exact accumulator, and the activation quantizer as the ReLU type
//! `ap_ufixed<4,3,AP_RND_CONV,AP_SAT>` (scale 0.5). The logits come out as exact dyadics; the
//! reference holds them after float32 rounding, so `f32(exact) == expected` must hold for every
//! logit.
//!
//! `floatscale_int32bias`: scales are floats; the biases are 32-bit integers at the accumulator
//! scale (`s_in · s_w`), so the accumulation is integer-exact, and requantization to the 4-bit
//! activations uses `M / 2^S ≈ s_acc / s_act` with a 31-bit `M`. The logits are compared with a
//! tolerance and on argmax.

use qforge::num::fixed::FixedFormat;
use qforge::num::overflow::OverflowMode;
use qforge::num::rounding::RoundingMode;
use qforge::qnn::{
    Accumulator, Dense, Engine, FixedDense, InputQuant, IntFormat, Layer, LayerOutput, QNet,
    Requant, WeightCode,
};
use qforge::quant::intquant::IntQuant;
use std::collections::HashMap;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

struct Graph {
    tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
    quant_attrs: HashMap<String, (bool, bool, String)>, // first input -> (signed, narrow, rounding)
}

fn graph(name: &str) -> Graph {
    let text = std::fs::read_to_string(format!("{ROOT}/tests/qonnx/{name}.txt")).unwrap();
    let mut tensors = HashMap::new();
    let mut quant_attrs = HashMap::new();
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if let Some(rest) = l.strip_prefix("tensor ") {
            let (n, shape) = rest.split_once(" shape=").unwrap();
            let shape: Vec<usize> = shape
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap())
                .collect();
            let values: Vec<f32> = lines
                .next()
                .unwrap()
                .split_whitespace()
                .map(|v| v.parse().unwrap())
                .collect();
            tensors.insert(n.to_string(), (shape, values));
        } else if let Some(rest) = l.strip_prefix("node Quant ") {
            let kv: HashMap<&str, &str> =
                rest.split(' ').filter_map(|p| p.split_once('=')).collect();
            let first = kv["in"].split(',').next().unwrap().to_string();
            quant_attrs.insert(
                first,
                (
                    kv["signed"] == "1",
                    kv["narrow"] == "1",
                    kv["rounding_mode"].to_string(),
                ),
            );
        }
    }
    Graph {
        tensors,
        quant_attrs,
    }
}

impl Graph {
    fn t(&self, n: &str) -> &[f32] {
        &self.tensors[n].1
    }
    fn scalar(&self, n: &str) -> f64 {
        f64::from(self.t(n)[0])
    }
}

/// `Quant(tensor, scale, zp, bits)` over a weight tensor: (codes, scale, bits, narrow).
fn quant_weights(g: &Graph, q: &str) -> (Vec<i64>, f64, u32, bool) {
    let data = format!("{q}_param0");
    let (signed, narrow, rounding) = g.quant_attrs[&data].clone();
    let scale = g.scalar(&format!("{q}_param1"));
    assert_eq!(g.scalar(&format!("{q}_param2")), 0.0, "zero point");
    let bits = g.scalar(&format!("{q}_param3")) as u32;
    let iq = IntQuant::new(
        bits,
        signed,
        narrow,
        RoundingMode::from_qonnx(&rounding).unwrap(),
        scale,
        0,
    )
    .unwrap();
    let codes = g
        .t(&data)
        .iter()
        .map(|&w| iq.quantize(f64::from(w)).unwrap().code)
        .collect();
    (codes, scale, bits, narrow)
}

/// (scale, bits, signed, narrow, rounding) of an activation `Quant` whose data input is `data` and
/// whose params are `{q}_param0..2` (scale, zero point, bits).
fn quant_act(g: &Graph, data: &str, q: &str) -> (f64, u32, bool, bool, RoundingMode) {
    let (signed, narrow, rounding) = g.quant_attrs[data].clone();
    assert_eq!(g.scalar(&format!("{q}_param1")), 0.0, "zero point");
    (
        g.scalar(&format!("{q}_param0")),
        g.scalar(&format!("{q}_param2")) as u32,
        signed,
        narrow,
        RoundingMode::from_qonnx(&rounding).unwrap(),
    )
}

pub(crate) fn expected(name: &str) -> Vec<f32> {
    std::fs::read_to_string(format!(
        "{ROOT}/tests/golden/qonnx/{name}.expected_logits_test.tsv"
    ))
    .unwrap()
    .split_whitespace()
    .map(|v| v.parse().unwrap())
    .collect()
}

pub(crate) fn test_x() -> Vec<f32> {
    std::fs::read_to_string(format!("{ROOT}/tests/golden/digits_split/test_x.tsv"))
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect()
}

pub(crate) fn labels_of(logits: &[f32]) -> Vec<usize> {
    logits
        .chunks(10)
        .map(|r| (0..10).fold(0, |b, i| if r[i] > r[b] { i } else { b }))
        .collect()
}

fn log2_exact(s: f64) -> i32 {
    let e = s.log2().round() as i32;
    assert_eq!(2f64.powi(e), s, "{s} is not a power of two");
    e
}

/// Fractional bits needed to hold every float32 exactly.
fn frac_bits_of(v: &[f32]) -> i32 {
    v.iter()
        .filter(|x| **x != 0.0)
        .map(|&x| {
            let mut f = 0;
            while (f64::from(x) * 2f64.powi(f)).fract() != 0.0 {
                f += 1;
            }
            f
        })
        .max()
        .unwrap_or(0)
}

fn po2_layer(
    g: &Graph,
    input: FixedFormat,
    wq: &str,
    bias: &str,
    relu: Option<FixedFormat>,
    out_f: usize,
) -> FixedDense {
    let (codes, w_scale, bits, narrow) = quant_weights(g, wq);
    let wf = log2_exact(w_scale);
    let weight = FixedFormat::new(
        bits,
        bits as i32 + wf,
        true,
        RoundingMode::HalfEven,
        if narrow {
            OverflowMode::SaturateSymmetric
        } else {
            OverflowMode::Saturate
        },
    )
    .unwrap();
    let b = g.t(bias);
    let fb = frac_bits_of(b);
    let bias_format = FixedFormat::new(
        fb as u32 + 8,
        8,
        true,
        RoundingMode::Floor,
        OverflowMode::Saturate,
    )
    .unwrap();
    let bias_raw: Vec<i64> = b
        .iter()
        .map(|&x| {
            let r = bias_format.cast_f64_raw(f64::from(x)).unwrap() as i64;
            assert_eq!(r as f64 * 2f64.powi(-fb), f64::from(x), "bias held exactly");
            r
        })
        .collect();
    let fa = fb.max(input.frac_bits() + weight.frac_bits());
    let accum = FixedFormat::new(
        fa as u32 + 24,
        24,
        true,
        RoundingMode::Floor,
        OverflowMode::Saturate,
    )
    .unwrap();
    let in_f = codes.len() / out_f;
    FixedDense {
        in_features: in_f,
        out_features: out_f,
        input,
        weight,
        bias_format,
        accum,
        result: accum,
        relu,
        weights: codes, // Gemm transB: W is [out][in] already
        bias: bias_raw,
    }
}

#[test]
fn po2_floatbias_logits_are_exact_dyadics() {
    let name = "mlp_w4a4_po2_floatbias";
    let g = graph(name);
    let (s0, b0, signed0, narrow0, r0) = quant_act(&g, "global_in", "Quant_0");
    assert!(signed0 && !narrow0);
    let input = FixedFormat::new(
        b0,
        b0 as i32 + log2_exact(s0),
        true,
        r0,
        OverflowMode::Saturate,
    )
    .unwrap();
    let (s3, b3, signed3, _, r3) = quant_act(&g, "Relu_0_out0", "Quant_3");
    assert!(!signed3);
    let act = FixedFormat::new(
        b3,
        b3 as i32 + log2_exact(s3),
        false,
        r3,
        OverflowMode::Saturate,
    )
    .unwrap();
    assert_eq!(act.to_string(), "ap_ufixed<4,3,AP_RND_CONV,AP_SAT>");
    let fc1 = po2_layer(&g, input, "Quant_1", "Gemm_0_param0", Some(act), 32);
    let fc2 = po2_layer(&g, act, "Quant_2", "Gemm_1_param0", None, 10);
    let frac = fc2.accum.frac_bits();
    let net = QNet {
        name: name.into(),
        input: InputQuant {
            format: IntFormat::new(b0, true).unwrap(),
            scale: s0,
            rounding: r0,
            fixed: Some(input),
        },
        layers: vec![Layer::FixedDense(fc1), Layer::FixedDense(fc2)],
    };
    net.validate().unwrap();
    let x = test_x();
    let out = Engine::new(&net)
        .unwrap()
        .infer(&net.quantize_inputs(&x))
        .unwrap();
    let want = expected(name);
    assert_eq!(out.len(), 4500);
    assert_eq!(want.len(), 4500);
    let got: Vec<f32> = out
        .iter()
        .map(|&r| (r as f64 * 2f64.powi(-frac)) as f32)
        .collect();
    let exact = got
        .iter()
        .zip(&want)
        .filter(|(a, b)| a.to_bits() == b.to_bits())
        .count();
    assert_eq!(exact, 4500, "logits equal after float32 rounding");
    let agree = labels_of(&got)
        .iter()
        .zip(labels_of(&want))
        .filter(|(a, b)| **a == *b)
        .count();
    assert_eq!(agree, 450);
}

#[test]
fn floatscale_int32bias_agrees_on_argmax() {
    let name = "mlp_w4a4_floatscale_int32bias";
    let g = graph(name);
    let (s0, b0, _, _, r0) = quant_act(&g, "global_in", "Quant_0");
    let (s5, b5, signed5, _, r5) = quant_act(&g, "Relu_0_out0", "Quant_5");
    assert!(!signed5);
    let mut layers = Vec::new();
    let mut s_in = s0;
    for (wq, bq, out_f, last) in [
        ("Quant_1", "Quant_2", 32usize, false),
        ("Quant_3", "Quant_4", 10, true),
    ] {
        let (codes, s_w, bits, _) = quant_weights(&g, wq);
        let (bias, s_b, _, _) = quant_weights(&g, bq);
        // the 32-bit bias sits at the accumulator scale
        assert!(
            (s_b / (s_in * s_w) - 1.0).abs() < 1e-6,
            "bias scale {s_b} vs {}",
            s_in * s_w
        );
        let scheme = WeightCode::Uniform { bits };
        let output = if last {
            LayerOutput::Accumulator
        } else {
            let (m, s) = Requant::multiplier_for(s_b / s5, 31);
            LayerOutput::Requant(Requant {
                multiplier: vec![m],
                shift: vec![s],
                scale_bits: 31,
                rounding: r5,
                relu: true,
                output: IntFormat::new(b5, false).unwrap(),
                output_scale: s5,
            })
        };
        layers.push(Layer::Dense(Dense {
            in_features: codes.len() / out_f,
            out_features: out_f,
            codes: codes.iter().map(|&c| scheme.encode(c).unwrap()).collect(),
            weights: scheme,
            bias,
            accumulator: Accumulator::default(),
            output,
            acc_scale: vec![s_b],
        }));
        s_in = s5;
    }
    let net = QNet {
        name: name.into(),
        input: InputQuant {
            format: IntFormat::new(b0, true).unwrap(),
            scale: s0,
            rounding: r0,
            fixed: None,
        },
        layers,
    };
    net.validate().unwrap();
    let x = test_x();
    let out = Engine::new(&net)
        .unwrap()
        .infer(&net.quantize_inputs(&x))
        .unwrap();
    let got: Vec<f32> = out
        .iter()
        .enumerate()
        .map(|(k, &v)| net.dequantize_output(k % 10, v) as f32)
        .collect();
    let want = expected(name);
    let close = got
        .iter()
        .zip(&want)
        .filter(|(a, b)| (**a - **b).abs() <= 1e-4 * b.abs().max(1.0))
        .count();
    let agree = labels_of(&got)
        .iter()
        .zip(labels_of(&want))
        .filter(|(a, b)| **a == *b)
        .count();
    eprintln!("floatscale: {agree}/450 argmax agree, {close}/4500 logits within 1e-4");
    assert!(agree as f64 / 450.0 >= 0.99, "{agree}/450");
    assert!(close as f64 / 4500.0 >= 0.99, "{close}/4500");
}
