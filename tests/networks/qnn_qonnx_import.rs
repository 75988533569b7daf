//! `qforge::qnn::qonnx`: the two Brevitas-exported QONNX files of `tests/golden/qonnx`, read by
//! the importer (protobuf and all), against the logits the qonnx executor computed for them
//! (`*.expected_logits_test.tsv`, see `tests/golden/README.md`) on the 450 digits test images.

use super::qnn_qonnx::{expected, labels_of, test_x};
use qforge::qnn::{qonnx, Engine, Layer, QNet};
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn golden(name: &str) -> std::path::PathBuf {
    Path::new(ROOT).join("tests/golden/qonnx").join(name)
}

fn logits(net: &QNet) -> Vec<f64> {
    let out = Engine::new(net)
        .unwrap()
        .infer(&net.quantize_inputs(&test_x()))
        .unwrap();
    out.iter()
        .enumerate()
        .map(|(k, &v)| net.dequantize_output(k % 10, v))
        .collect()
}

/// Power-of-two scales and float biases: read as exact fixed point, every one of the 4500 logits
/// equals the executor's after rounding to float32.
#[test]
fn po2_floatbias_imports_exactly() {
    let (net, report) = qonnx::load(&golden("mlp_w4a4_po2_floatbias.onnx")).unwrap();
    assert!(report.lines[0].contains("exact fixed point"), "{report:?}");
    assert!(net.layers.iter().all(|l| matches!(l, Layer::FixedDense(_))));
    let got: Vec<f32> = logits(&net).iter().map(|&v| v as f32).collect();
    let want = expected("mlp_w4a4_po2_floatbias");
    assert_eq!(got.len(), 4500);
    let exact = got
        .iter()
        .zip(&want)
        .filter(|(a, b)| a.to_bits() == b.to_bits())
        .count();
    assert_eq!(exact, 4500, "logits equal after float32 rounding");
}

/// Float scales and 32-bit integer biases: integer layers with 31-bit requantization; the
/// classes agree on at least 99% of the images and the logits are within 1e-4 on 99% (the
/// requantization approximates the scale ratios, as the hand translation does).
#[test]
fn floatscale_int32bias_imports_as_integer_layers() {
    let (net, report) = qonnx::load(&golden("mlp_w4a4_floatscale_int32bias.onnx")).unwrap();
    assert!(report.lines[0].contains("integer"), "{report:?}");
    assert!(net.layers.iter().all(|l| matches!(l, Layer::Dense(_))));
    let got: Vec<f32> = logits(&net).iter().map(|&v| v as f32).collect();
    let want = expected("mlp_w4a4_floatscale_int32bias");
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
    eprintln!("floatscale import: {agree}/450 classes, {close}/4500 logits within 1e-4");
    assert!(agree >= 446, "{agree}/450");
    assert!(close >= 4455, "{close}/4500");
}

/// A file cut short, or with a node the importer does not take, is one error naming the file
/// and what is wrong.
#[test]
fn broken_or_unsupported_files_are_refused_naming_what() {
    let dir = std::env::temp_dir().join(format!("qforge-qonnx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = std::fs::read(golden("mlp_w4a4_po2_floatbias.onnx")).unwrap();
    let short = dir.join("short.onnx");
    std::fs::write(&short, &bytes[..bytes.len() / 2]).unwrap();
    let err = qonnx::load(&short).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "{}: not a readable ONNX file: byte ",
            short.display()
        )),
        "{err}"
    );
    // The op type `Relu` (NodeProto field 4, 4 bytes) renamed to `Tanh`: same length, so the
    // protobuf stays valid.
    let at = bytes.windows(6).position(|w| w == b"\x22\x04Relu").unwrap() + 2;
    let mut tanh = bytes.clone();
    tanh[at..at + 4].copy_from_slice(b"Tanh");
    let bad = dir.join("tanh.onnx");
    std::fs::write(&bad, &tanh).unwrap();
    let err = qonnx::load(&bad).unwrap_err().to_string();
    assert!(
        err.contains("(Tanh): op `Tanh` is not supported (supported: Quant, BipolarQuant, Gemm"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Protobuf bytes of a hand-made QONNX graph (the writer here is independent of the reader).
mod onnx_bytes {
    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }
    pub fn bytes(field: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        varint(field << 3 | 2, &mut out);
        varint(payload.len() as u64, &mut out);
        out.extend_from_slice(payload);
        out
    }
    fn int(field: u64, v: i64) -> Vec<u8> {
        let mut out = Vec::new();
        varint(field << 3, &mut out);
        varint(v as u64, &mut out);
        out
    }
    pub fn tensor(name: &str, dims: &[i64], values: &[f32]) -> Vec<u8> {
        let mut t: Vec<u8> = dims.iter().flat_map(|&d| int(1, d)).collect();
        t.extend(int(2, 1)); // FLOAT
        t.extend(bytes(8, name.as_bytes()));
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        t.extend(bytes(9, &raw));
        t
    }
    pub fn int_attr(name: &str, v: i64) -> Vec<u8> {
        [bytes(1, name.as_bytes()), int(3, v), int(20, 2)].concat()
    }
    pub fn node(op: &str, inputs: &[&str], outputs: &[&str], attrs: &[Vec<u8>]) -> Vec<u8> {
        let mut n: Vec<u8> = inputs.iter().flat_map(|i| bytes(1, i.as_bytes())).collect();
        n.extend(outputs.iter().flat_map(|o| bytes(2, o.as_bytes())));
        n.extend(bytes(4, op.as_bytes()));
        if op.ends_with("Quant") {
            n.extend(bytes(7, b"qonnx.custom_op.general"));
        }
        n.extend(attrs.iter().flat_map(|a| bytes(5, a)));
        n
    }
}

/// A binary network as QONNX writes one (hand-made, values worked out by hand): a 4-bit input
/// `Quant` (scale 0.5), weights under `BipolarQuant` (scale 0.25), a float bias, a `BipolarQuant`
/// activation, then weights under a 1-bit signed `Quant`, which QONNX reads as ±1 (not {−1, 0}).
/// Accumulator scale 0.125: the bias −0.05 is the threshold floor(−0.4) = −1 (a rounded bias, 0,
/// would turn image 4's −0.05 into +1), and image 3's first unit sits exactly at 0, which the sign
/// takes to +1.
#[test]
fn bipolar_weights_and_activations_import_as_binary_layers() {
    use onnx_bytes::*;
    let nodes = [
        node(
            "Quant",
            &["x", "s_in", "zero", "four"],
            &["xq"],
            &[int_attr("signed", 1), int_attr("narrow", 0)],
        ),
        node("BipolarQuant", &["w1", "s_w1"], &["w1q"], &[]),
        node(
            "Gemm",
            &["xq", "w1q", "b1"],
            &["h"],
            &[int_attr("transB", 1)],
        ),
        node("BipolarQuant", &["h", "one"], &["hq"], &[]),
        node(
            "Quant",
            &["w2", "one", "zero", "onebit"],
            &["w2q"],
            &[int_attr("signed", 1), int_attr("narrow", 0)],
        ),
        node("Gemm", &["hq", "w2q"], &["y"], &[int_attr("transB", 1)]),
    ];
    let inits = [
        tensor("s_in", &[], &[0.5]),
        tensor("zero", &[], &[0.0]),
        tensor("four", &[], &[4.0]),
        tensor("onebit", &[], &[1.0]),
        tensor("one", &[], &[1.0]),
        tensor("s_w1", &[], &[0.25]),
        tensor("w1", &[2, 3], &[0.3, -0.2, 0.1, -0.4, 0.5, -0.6]),
        tensor("b1", &[2], &[-0.05, -0.25]),
        tensor("w2", &[2, 2], &[0.7, -0.1, 0.2, 0.9]),
    ];
    let mut graph: Vec<u8> = nodes.iter().flat_map(|n| bytes(1, n)).collect();
    graph.extend(inits.iter().flat_map(|t| bytes(5, t)));
    graph.extend(bytes(11, &bytes(1, b"x")));
    graph.extend(bytes(12, &bytes(1, b"y")));
    let model = bytes(7, &graph);
    let m = qforge::onnx::ModelProto::decode(&model).unwrap();
    let (net, report) = qonnx::import(&m.graph, "bnn").unwrap();
    assert!(report.lines[0].contains("integer"), "{report:?}");
    let x = [1.0, 0.5, -1.0, -1.0, 1.0, 0.5, 0.5, 0.0, 0.0, 0.5, 0.5, 0.0];
    let codes = net.quantize_inputs(&x);
    assert_eq!(codes, [2, 1, -2, -2, 2, 1, 1, 0, 0, 1, 1, 0]);
    let out = Engine::new(&net).unwrap().infer(&codes).unwrap();
    // By hand: hidden signs [-,-], [-,+], [+,-], [-,-]; logits h·[[+1,-1],[+1,+1]]ᵀ.
    assert_eq!(out, [0, -2, -2, 0, 2, 0, 0, -2]);
    assert!(
        matches!(&net.layers[0], Layer::Dense(d) if d.weights == qforge::qnn::WeightCode::Binary)
    );
}
