//! `qforge::qnn::qonnx`: the two Brevitas-exported QONNX files of `tests/golden/qonnx`, read by
//! the importer (protobuf and all), against the logits the qonnx executor computed for them
//! (`*.expected_logits_test.tsv`, see `tests/golden/README.md`) on the 450 digits test images.

use qforge::qnn::{qonnx, Engine, Layer, QNet};
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn golden(name: &str) -> std::path::PathBuf {
    Path::new(ROOT).join("tests/golden/qonnx").join(name)
}

fn floats(path: &Path) -> Vec<f32> {
    std::fs::read_to_string(path)
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect()
}

fn test_x() -> Vec<f32> {
    floats(&Path::new(ROOT).join("tests/golden/digits_split/test_x.tsv"))
}

fn labels_of(logits: &[f32]) -> Vec<usize> {
    logits
        .chunks(10)
        .map(|r| (0..10).fold(0, |b, i| if r[i] > r[b] { i } else { b }))
        .collect()
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
    let want = floats(&golden("mlp_w4a4_po2_floatbias.expected_logits_test.tsv"));
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
    let want = floats(&golden(
        "mlp_w4a4_floatscale_int32bias.expected_logits_test.tsv",
    ));
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
        err.contains("(Tanh): op `Tanh` is not supported (supported: Quant, Gemm"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
