//! A table of bad inputs across every command, each run through the built binary: exit code 2,
//! exactly one line on standard error, starting `error:`, saying what is wrong, and where the
//! input is a file, the `file:line:col` of the faulty value (hand-counted in the files below).

use crate::common::{qforge, qforge_command};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

/// A valid quantization spec; its bad variants below change one value.
const QUANT: &str = "QuantSpec(
    weights: (scheme: uniform((bits: 8, signed: true, narrow: true, symmetric: true, rounding: half_even, scale_constraint: float)), granularity: per_tensor, clipping: min_max),
    activations: (bits: 8, clipping: min_max),
    input: (bits: 8, clipping: min_max),
    rounding: half_even,
    scale_bits: 16,
    calibration_samples: 64,
)
";

/// A valid architecture for the digits 64-32-10 MLP.
const ARCH: &str = "ArchSpec(
    folding: explicit,
    layers: [(index: 0, pe: 4, simd: 8), (index: 1, pe: 2, simd: 8)],
)
";

/// A valid two-input float model.
const MODEL: &str = "Model(
  name: \"t\",
  input_shape: [2],
  layers: [
    Dense(in_features: 2, out_features: 2, weights: [1.0, 0.0, 0.0, 1.0], bias: [0.0, 0.0]),
  ],
)
";

/// A sweep whose only point (4-bit binary weights) the `scheme_bits` constraint removes.
const SWEEP: &str = "(
    name: \"t\",
    model: \"m.ron\",
    axes: (
        weight_scheme: [binary],
        weight_bits: [4],
        activation_bits: [8],
        calibration: [mse],
        scale_bits: [16],
        accumulator: [proven],
        folding: [fully_folded],
        fpga: [ice40],
    ),
    constraints: [scheme_bits],
)
";

/// `text` with `from` replaced by `to` (which must occur).
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from}");
    text.replacen(from, to, 1)
}

/// An MNIST-format folder of four 28×28 images (labels 0..=3), train and test alike.
fn tiny_mnist(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let n = 4u32;
    let mut images = Vec::new();
    for word in [0x0803u32, n, 28, 28] {
        images.extend_from_slice(&word.to_be_bytes());
    }
    images.extend((0..n * 28 * 28).map(|i| (i % 251) as u8));
    let mut labels = Vec::new();
    for word in [0x0801u32, n] {
        labels.extend_from_slice(&word.to_be_bytes());
    }
    labels.extend(0..n as u8);
    for set in ["train", "t10k"] {
        std::fs::write(dir.join(format!("{set}-images-idx3-ubyte")), &images).unwrap();
        std::fs::write(dir.join(format!("{set}-labels-idx1-ubyte")), &labels).unwrap();
    }
}

/// Writes every bad file into `dir`.
fn write_files(dir: &Path) {
    let files: Vec<(&str, String)> = vec![
        // Float models.
        ("m_ok.ron", MODEL.to_string()),
        ("m_unknown.ron", edit(MODEL, "bias: [0.0, 0.0]", "bias: [0.0, 0.0], bogus: 1")),
        ("m_nan.ron", edit(MODEL, "[1.0, 0.0, 0.0, 1.0]", "[1.0, NaN, 0.0, 1.0]")),
        ("m_inf.ron", edit(MODEL, "bias: [0.0, 0.0]", "bias: [0.0, inf]")),
        ("m_shape.ron", edit(MODEL, "in_features: 2", "in_features: 3")),
        ("m_input.ron", edit(MODEL, "input_shape: [2]", "input_shape: [0]")),
        ("m_syntax.ron", edit(MODEL, "name: \"t\",", "name: \"t\"")),
        // Quantization specs.
        ("q_unknown.ron", edit(QUANT, "calibration_samples", "calibraton_samples")),
        ("q_scale.ron", edit(QUANT, "scale_bits: 16", "scale_bits: 40")),
        ("q_act.ron", edit(QUANT, "activations: (bits: 8", "activations: (bits: 1")),
        ("q_input.ron", edit(QUANT, "input: (bits: 8", "input: (bits: 40")),
        ("q_wbits.ron", edit(QUANT, "bits: 8, signed", "bits: 40, signed")),
        (
            "q_pct.ron",
            edit(
                QUANT,
                "activations: (bits: 8, clipping: min_max)",
                "activations: (bits: 8, clipping: percentile(percentile: 150.0))",
            ),
        ),
        ("q_unsigned.ron", edit(QUANT, "signed: true", "signed: false")),
        ("q_cal0.ron", edit(QUANT, "calibration_samples: 64", "calibration_samples: 0")),
        (
            "q_over.ron",
            edit(QUANT, "64,\n", "64,\n    layers: [(index: 5)],\n"),
        ),
        (
            "q_dup.ron",
            edit(QUANT, "64,\n", "64,\n    layers: [(index: 0), (index: 0)],\n"),
        ),
        (
            "q_acc.ron",
            edit(
                QUANT,
                "64,\n",
                "64,\n    accumulator: bits(bits: 0, overflow: wrap),\n",
            ),
        ),
        ("q_syntax.ron", edit(QUANT, "scale_bits: 16,", "scale_bits: 16")),
        // Architecture files.
        ("a_ok.ron", ARCH.to_string()),
        (
            "a_unknown.ron",
            "ArchSpec(\n    folding: cycles_per_image(64),\n    fifo_dept: depth(4),\n)\n".into(),
        ),
        ("a_pe.ron", edit(ARCH, "pe: 4", "pe: 3")),
        ("a_simd.ron", edit(ARCH, "pe: 2, simd: 8", "pe: 2, simd: 7")),
        ("a_index.ron", edit(ARCH, "index: 1", "index: 9")),
        ("a_dup.ron", edit(ARCH, "index: 1", "index: 0")),
        ("a_zero.ron", edit(ARCH, "pe: 4", "pe: 0")),
        ("a_acc.ron", edit(ARCH, "simd: 8)", "simd: 8, acc_bits: 100)")),
        ("a_narrow.ron", edit(ARCH, "simd: 8)", "simd: 8, acc_bits: 4)")),
        ("a_explicit.ron", edit(ARCH, ", (index: 1, pe: 2, simd: 8)", "")),
        ("a_fifo.ron", edit(ARCH, "],\n", "],\n    fifo_depth: depth(0),\n")),
        (
            "a_cycles.ron",
            "ArchSpec(\n    folding: cycles_per_image(0),\n)\n".into(),
        ),
        // A training architecture.
        (
            "t_unknown.ron",
            "Architecture(\n    name: \"x\",\n    layers: [Dense(out_features: 10, bias: true)],\n)\n"
                .into(),
        ),
        // Sweep files.
        ("sw_empty.ron", SWEEP.to_string()),
        (
            "sw_unknown.ron",
            edit(SWEEP, "fpga: [ice40],\n", "fpga: [ice40],\n        fgpa: [ice40],\n"),
        ),
        (
            "sw_override.ron",
            edit(
                &edit(&edit(SWEEP, "[binary]", "[uniform]"), "m.ron", "mlp.ron"),
                "activation_bits: [8],\n",
                "activation_bits: [8],\n        layer_overrides: [[], [(layer: 5, weight_bits: 8)]],\n",
            ),
        ),
        // A design manifest that is not what `qforge verify` reads.
        ("badjson/qforge.json", "{\n  \"kind\": \"pe\",\n  \"top\": 5\n}\n".into()),
    ];
    std::fs::create_dir_all(dir.join("badjson")).unwrap();
    std::fs::copy(
        Path::new(crate::common::ROOT).join(MLP),
        dir.join("mlp.ron"),
    )
    .unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    // Area coefficients: an unknown field, and a version this qforge does not read.
    let area =
        std::fs::read_to_string(Path::new(crate::common::ROOT).join("models/area_ice40.ron"))
            .unwrap();
    for (sub, from, to) in [
        ("area_unknown", "    version: 1,", "    versoin: 1,"),
        ("area_version", "    version: 1,", "    version: 2,"),
    ] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        std::fs::write(dir.join(sub).join("area_ice40.ron"), edit(&area, from, to)).unwrap();
    }
    tiny_mnist(&dir.join("mnist"));
    // An MNIST folder whose test images stop short of what their header promises.
    tiny_mnist(&dir.join("mnist_short"));
    let short = dir.join("mnist_short").join("t10k-images-idx3-ubyte");
    let bytes = std::fs::read(&short).unwrap();
    std::fs::write(&short, &bytes[..bytes.len() - 100]).unwrap();
    // QONNX files: one cut in half, one whose Relu node is a Tanh (the op type field renamed).
    let onnx = std::fs::read("tests/golden/qonnx/mlp_w4a4_po2_floatbias.onnx").unwrap();
    std::fs::write(dir.join("short.onnx"), &onnx[..onnx.len() / 2]).unwrap();
    let at = onnx.windows(6).position(|w| w == b"\x22\x04Relu").unwrap() + 2;
    let mut tanh = onnx.clone();
    tanh[at..at + 4].copy_from_slice(b"Tanh");
    std::fs::write(dir.join("tanh.onnx"), &tanh).unwrap();
    // A sweep file whose data set is not one qforge knows.
    std::fs::write(
        dir.join("sw_data.ron"),
        edit(
            &std::fs::read_to_string("models/sweep_default.ron").unwrap(),
            "    axes:",
            "    data: \"cifar\",\n    axes:",
        ),
    )
    .unwrap();
}

/// One bad command line: its arguments (`{dir}` is the scratch folder), what stdin holds,
/// and the fragments the one stderr line must contain (`{dir}` again).
struct Case {
    args: &'static [&'static str],
    stdin: Option<&'static str>,
    expect: &'static [&'static str],
}

const fn case(args: &'static [&'static str], expect: &'static [&'static str]) -> Case {
    Case {
        args,
        stdin: None,
        expect,
    }
}

const MLP: &str = "models/digits_mlp.ron";

/// The table. Positions are 1-based line and column of the faulty value in the files above.
const CASES: &[Case] = &[
    // The command line itself.
    case(&[], &["error: a subcommand is required (see qforge --help)"]),
    case(&["frobnicate"], &["'frobnicate'", "(see qforge --help)"]),
    case(&["hdl"], &["a subcommand is required (see qforge hdl --help)"]),
    case(
        &["sweep", "--foo"],
        &["error: unexpected argument '--foo' (see qforge sweep --help)"],
    ),
    case(
        &["hdl", "pe", "--kind", "foo", "--acc-bits", "8", "-o", "{dir}/x"],
        &["'foo'", "[possible values: uniform, pot, apot, binary, ternary]", "(see qforge hdl pe --help)"],
    ),
    case(&["hdl", "pe", "--kind", "pot", "-o", "{dir}/x"], &["--acc-bits", "(see qforge hdl pe --help)"]),
    case(&["train", "--epochs", "abc", "-o", "{dir}/t.ron"], &["'abc'", "(see qforge train --help)"]),
    case(&["cast"], &["--format", "(see qforge cast --help)"]),
    case(
        &["synth", "{dir}"],
        &["error: the following required arguments were not provided: --target <TARGET> (see qforge synth --help)"],
    ),
    case(&["calibrate", "--target", "vhdl"], &["'vhdl'", "(see qforge calibrate --help)"]),
    // cast
    case(&["cast", "--format", "ap_fixed<8,3,AP_RND,AP_SATT>"], &["AP_SATT"]),
    case(&["cast", "--format", "float<8>"], &["unknown format 'float<8>'"]),
    case(&["cast", "--format", "ap_fixed<8,\n3>"], &["ap_fixed<8,\\n3>", "one line"]),
    case(&["cast", "--format", "pot<exp_bits=3,\nsigned=1>"], &["pot<exp_bits=3,\\nsigned=1>", "one line"]),
    Case {
        args: &["cast", "--format", "ap_fixed<8,3>"],
        stdin: Some("1\n\nabc\n"),
        expect: &["stdin line 3: 'abc' is not a number"],
    },
    // train
    case(&["train", "--lr", "NaN", "-o", "{dir}/t.ron"], &["--lr (NaN) must be a number above 0"]),
    case(&["train", "--lr", "1e30", "-o", "{dir}/t.ron"], &["--lr (1000000000000000000000000000000)"]),
    case(&["train", "--lr", "0", "-o", "{dir}/t.ron"], &["--lr (0)"]),
    case(&["train", "--lr=-0.5", "-o", "{dir}/t.ron"], &["--lr (-0.5)"]),
    case(
        &["train", "--optimizer", "sgd", "--momentum", "1.5", "-o", "{dir}/t.ron"],
        &["--momentum (1.5) must be at least 0 and below 1"],
    ),
    case(&["train", "--epochs", "0", "-o", "{dir}/t.ron"], &["--epochs (0) must be at least 1"]),
    case(&["train", "--batch-size", "0", "-o", "{dir}/t.ron"], &["--batch-size (0)"]),
    case(&["train", "--limit", "0", "-o", "{dir}/t.ron"], &["--limit (0)"]),
    case(
        &["train", "--arch", "mlp:64-0-10", "-o", "{dir}/t.ron"],
        &["layer size `0` in `mlp:64-0-10` must be a whole number of at least 1"],
    ),
    case(&["train", "--arch", "mlp:64-x-10", "-o", "{dir}/t.ron"], &["layer size `x`"]),
    case(&["train", "--arch", "mlp:63-10", "-o", "{dir}/t.ron"], &["must start with the input size 64"]),
    case(&["train", "--optimizer", "rmsprop", "-o", "{dir}/t.ron"], &["unknown optimizer `rmsprop`"]),
    case(&["train", "--data", "cifar", "-o", "{dir}/t.ron"], &["unknown data set `cifar`"]),
    case(
        &["train", "-o", "{dir}/nowhere/t.ron"],
        &["cannot write {dir}/nowhere/t.ron: the folder {dir}/nowhere does not exist"],
    ),
    case(
        &["train", "--arch", "{dir}/t_unknown.ron", "-o", "{dir}/t.ron"],
        &["{dir}/t_unknown.ron:3:38: ", "`bias`"],
    ),
    // quantize: the spec's faults at their own positions, never the model file's
    case(
        &["quantize", "--model", MLP, "--spec", "{dir}/q_unknown.ron", "-o", "{dir}/q.ron"],
        &["error: {dir}/q_unknown.ron:7:5: ", "`calibraton_samples`"],
    ),
    case(
        &["quantize", "--model", MLP, "--spec", "{dir}/q_scale.ron", "-o", "{dir}/q.ron"],
        &["error: {dir}/q_scale.ron:6:17: scale_bits (40) must be between 1 and 32"],
    ),
    case(
        &["quantize", "--model", MLP, "--spec", "{dir}/q_act.ron", "-o", "{dir}/q.ron"],
        &["error: {dir}/q_act.ron:3:25: activation bits (1) must be between 2 and 16"],
    ),
    case(
        &["quantize", "--model", MLP, "--spec", "{dir}/q_input.ron", "-o", "{dir}/q.ron"],
        &["error: {dir}/q_input.ron:4:19: activation bits (40)"],
    ),
    case(
        &["quantize", "--model", MLP, "--spec", "{dir}/q_wbits.ron", "-o", "{dir}/q.ron"],
        &["error: {dir}/q_wbits.ron:2:38: bits (40)"],
    ),
    case(
        &["quantize", "--model", MLP, "--spec", "{dir}/q_pct.ron", "-o", "{dir}/q.ron"],
        &["error: {dir}/q_pct.ron:3:61: percentile (150) must be in (0, 100]"],
    ),
    case(
        &["quantize", "--model", MLP, "--spec", "{dir}/q_unsigned.ron", "-o", "{dir}/q.ron"],
        &["error: {dir}/q_unsigned.ron:2:23: uniform weights must be signed and symmetric"],
    ),
    case(
        &["quantize", "--model", MLP, "--spec", "{dir}/q_cal0.ron", "-o", "{dir}/q.ron"],
        &["error: {dir}/q_cal0.ron:7:26: calibration_samples (0) must be at least 1"],
    ),
    case(
        &["quantize", "--model", MLP, "--spec", "{dir}/q_over.ron", "-o", "{dir}/q.ron"],
        &["error: {dir}/q_over.ron:8:22: layer override index (5) must be below the number of layers with weights (2)"],
    ),
    case(
        &["quantize", "--model", MLP, "--spec", "{dir}/q_dup.ron", "-o", "{dir}/q.ron"],
        &["error: {dir}/q_dup.ron:8:34: layer 0 is overridden more than once"],
    ),
    case(
        &["quantize", "--model", MLP, "--spec", "{dir}/q_acc.ron", "-o", "{dir}/q.ron"],
        &["error: {dir}/q_acc.ron:8:29: accumulator bits (0) must be between 1 and 64"],
    ),
    case(
        &["quantize", "--model", MLP, "--spec", "{dir}/q_syntax.ron", "-o", "{dir}/q.ron"],
        &["error: {dir}/q_syntax.ron:7:5: "],
    ),
    case(
        &["quantize", "--model", "{dir}/m_unknown.ron", "--spec", "models/quant_uniform8.ron", "-o", "{dir}/q.ron"],
        &["error: {dir}/m_unknown.ron:5:93: ", "`bogus`"],
    ),
    case(
        &["quantize", "--model", MLP, "--spec", "models/quant_uniform8.ron", "--data", "mnist:{dir}/mnist", "-o", "{dir}/q.ron"],
        &["models/digits_mlp.ron: the model takes 64 inputs per sample, but mnist:{dir}/mnist samples have 784 (1x28x28)"],
    ),
    case(
        &["quantize", "--model", "{dir}/m_ok.ron", "--spec", "models/quant_uniform8.ron", "-o", "{dir}/q.ron"],
        &["{dir}/m_ok.ron: the model takes 2 inputs per sample, but digits samples have 64"],
    ),
    case(
        &["quantize", "--model", "{dir}/missing.ron", "--spec", "models/quant_uniform8.ron", "-o", "{dir}/q.ron"],
        &["{dir}/missing.ron: No such file or directory (os error 2)"],
    ),
    // eval
    case(&["eval", "--model", "{dir}/m_unknown.ron"], &["error: {dir}/m_unknown.ron:5:93: Unexpected field named `bogus`"]),
    case(&["eval", "--model", "{dir}/m_nan.ron"], &["error: {dir}/m_nan.ron:5:59: layer 0 (Dense): weights[1] (NaN) must be finite"]),
    case(&["eval", "--model", "{dir}/m_inf.ron"], &["error: {dir}/m_inf.ron:5:87: layer 0 (Dense): bias[1] (inf) must be finite"]),
    case(&["eval", "--model", "{dir}/m_shape.ron"], &["error: {dir}/m_shape.ron:5:5: layer 0 (Dense)"]),
    case(&["eval", "--model", "{dir}/m_input.ron"], &["error: {dir}/m_input.ron:3:3: ", "input_shape [0]"]),
    case(&["eval", "--model", "{dir}/m_syntax.ron"], &["error: {dir}/m_syntax.ron:3:3: "]),
    case(
        &["eval", "--model", MLP, "--data", "mnist:{dir}/mnist"],
        &["models/digits_mlp.ron: the model takes 64 inputs per sample, but mnist:{dir}/mnist samples have 784"],
    ),
    case(&["eval", "--model", "{dir}/m_ok.ron"], &["the model takes 2 inputs per sample, but digits samples have 64"]),
    case(&["eval", "--model", MLP, "--repeat", "0"], &["--repeat must be at least 1"]),
    case(
        &["eval", "--model", MLP, "--dump-logits", "{dir}/nowhere/l.tsv"],
        &["cannot write {dir}/nowhere/l.tsv: the folder {dir}/nowhere does not exist"],
    ),
    case(&["eval", "--model", MLP, "--dump-logits", "{dir}"], &["refusing to write: it is a folder"]),
    case(&["eval", "--model", MLP, "--data", "mnist:{dir}/nothing"], &["{dir}/nothing: no train-images-idx3-ubyte.gz"]),
    case(
        &["eval", "--model", MLP, "--quant", "{dir}/q_over.ron"],
        &["error: {dir}/q_over.ron:8:22: layer override index (5)"],
    ),
    case(
        &["eval", "--model", "{dir}/q_unknown.ron"],
        &["error: {dir}/q_unknown.ron:1:1: expected a float model `Model(...)` or an integer model `(...)`, found `QuantSpec(`"],
    ),
    // hdl pe
    case(
        &["hdl", "pe", "--kind", "binary", "--a-bits", "8", "--acc-bits", "12", "-o", "{dir}/pe"],
        &["--a-bits (8) must be 1 for --kind binary"],
    ),
    case(&["hdl", "pe", "--kind", "pot", "--acc-bits", "0", "-o", "{dir}/pe"], &["acc_bits (0)"]),
    case(&["hdl", "pe", "--kind", "pot", "--acc-bits", "20", "--simd", "0", "-o", "{dir}/pe"], &["simd (0)"]),
    case(&["hdl", "pe", "--kind", "pot", "--acc-bits", "20", "--pe", "0", "-o", "{dir}/pe"], &["pe (0)"]),
    case(&["hdl", "pe", "--kind", "pot", "--acc-bits", "20", "--cycles", "1", "-o", "{dir}/pe"], &["cycles (1) must be at least 2"]),
    case(&["hdl", "pe", "--kind", "uniform", "--w-bits", "0", "--acc-bits", "20", "-o", "{dir}/pe"], &["uniform weight bits (0)"]),
    case(&["hdl", "pe", "--kind", "uniform", "--a-bits", "0", "--acc-bits", "20", "-o", "{dir}/pe"], &["a_bits (0) must be between 1 and 32"]),
    case(&["hdl", "pe", "--kind", "pot", "--exp-bits", "0", "--acc-bits", "20", "-o", "{dir}/pe"], &["exp_bits (0)"]),
    case(&["hdl", "pe", "--kind", "pot", "--acc-bits", "20", "-o", "{dir}/m_ok.ron"], &["refusing to write to {dir}/m_ok.ron"]),
    // hdl net: each file's fault at its own position
    case(
        &["hdl", "net", "--model", MLP, "--arch", "{dir}/a_unknown.ron", "--images", "2", "-o", "{dir}/net"],
        &["error: {dir}/a_unknown.ron:3:5: Unexpected field named `fifo_dept`"],
    ),
    case(
        &["hdl", "net", "--model", MLP, "--arch", "{dir}/a_pe.ron", "--images", "2", "-o", "{dir}/net"],
        &["error: {dir}/a_pe.ron:3:29: pe (3) must divide out_features (32) of layer 0"],
    ),
    case(
        &["hdl", "net", "--model", MLP, "--arch", "{dir}/a_simd.ron", "--images", "2", "-o", "{dir}/net"],
        &["error: {dir}/a_simd.ron:3:66: simd (7) must divide in_features (32) of layer 1"],
    ),
    case(
        &["hdl", "net", "--model", MLP, "--arch", "{dir}/a_index.ron", "--images", "2", "-o", "{dir}/net"],
        &["error: {dir}/a_index.ron:3:50: layer index (9) must be below the number of layers (2)"],
    ),
    case(
        &["hdl", "net", "--model", MLP, "--arch", "{dir}/a_dup.ron", "--images", "2", "-o", "{dir}/net"],
        &["error: {dir}/a_dup.ron:3:50: layer 0 is given more than once"],
    ),
    case(
        &["hdl", "net", "--model", MLP, "--arch", "{dir}/a_zero.ron", "--images", "2", "-o", "{dir}/net"],
        &["error: {dir}/a_zero.ron:3:29: pe (0) must be at least 1"],
    ),
    case(
        &["hdl", "net", "--model", MLP, "--arch", "{dir}/a_acc.ron", "--images", "2", "-o", "{dir}/net"],
        &["error: {dir}/a_acc.ron:3:51: acc_bits (100) must be between 1 and 64"],
    ),
    case(
        &["hdl", "net", "--model", MLP, "--arch", "{dir}/a_narrow.ron", "--images", "2", "-o", "{dir}/net"],
        &["error: {dir}/a_narrow.ron:3:51: acc_bits (4) of layer 0 is below the proven bound"],
    ),
    case(
        &["hdl", "net", "--model", MLP, "--arch", "{dir}/a_explicit.ron", "--images", "2", "-o", "{dir}/net"],
        &["error: {dir}/a_explicit.ron:2:14: folding explicit needs pe and simd for layer 1"],
    ),
    case(
        &["hdl", "net", "--model", MLP, "--arch", "{dir}/a_fifo.ron", "--images", "2", "-o", "{dir}/net"],
        &["error: {dir}/a_fifo.ron:4:17: fifo depth (0) must be between 1 and 4096"],
    ),
    case(
        &["hdl", "net", "--model", MLP, "--arch", "{dir}/a_cycles.ron", "--images", "2", "-o", "{dir}/net"],
        &["error: {dir}/a_cycles.ron:2:14: cycles_per_image (0) must be at least 1"],
    ),
    case(
        &["hdl", "net", "--model", MLP, "--quant", "{dir}/q_scale.ron", "--images", "2", "-o", "{dir}/net"],
        &["error: {dir}/q_scale.ron:6:17: scale_bits (40)"],
    ),
    case(
        &["hdl", "net", "--model", MLP, "--quant", "{dir}/q_over.ron", "--images", "2", "-o", "{dir}/net"],
        &["error: {dir}/q_over.ron:8:22: layer override index (5)"],
    ),
    case(
        &["hdl", "net", "--model", "{dir}/m_nan.ron", "--images", "2", "-o", "{dir}/net"],
        &["error: {dir}/m_nan.ron:5:59: "],
    ),
    case(
        &["hdl", "net", "--model", "{dir}/m_ok.ron", "--images", "2", "-o", "{dir}/net"],
        &["{dir}/m_ok.ron", "the model takes 2 inputs; digits images have 64"],
    ),
    case(
        &["hdl", "net", "--model", MLP, "--data", "mnist:{dir}/nothing", "-o", "{dir}/net"],
        &["{dir}/nothing: no train-images-idx3-ubyte.gz"],
    ),
    case(
        &["hdl", "net", "--model", MLP, "--data", "cifar", "-o", "{dir}/net"],
        &["unknown data set `cifar` (expected digits or mnist:DIR)"],
    ),
    case(&["hdl", "net", "--model", MLP, "--data", "mnist:", "-o", "{dir}/net"], &["`mnist:` names no folder"]),
    case(
        &["hdl", "net", "--model", MLP, "--data", "mnist:{dir}/mnist", "-o", "{dir}/net"],
        &["the model takes 64 inputs; mnist:{dir}/mnist images have 784"],
    ),
    case(
        &["hdl", "net", "--model", MLP, "--images", "451", "-o", "{dir}/net"],
        &["images (451) must be between 1 and 450 (the digits test images)"],
    ),
    // import (QONNX)
    case(&["import", "{dir}/missing.onnx", "-o", "{dir}/n.ron"], &["{dir}/missing.onnx: No such file or directory (os error 2)"]),
    case(&["import", "{dir}/short.onnx", "-o", "{dir}/n.ron"], &["{dir}/short.onnx: not a readable ONNX file: byte "]),
    case(&["import", "{dir}/tanh.onnx", "-o", "{dir}/n.ron"], &["{dir}/tanh.onnx: node `", "op `Tanh` is not supported"]),
    case(&["import", "tests/golden/qonnx/mlp_w4a4_po2_floatbias.onnx", "-o", "{dir}/nowhere/n.ron"], &["the folder {dir}/nowhere does not exist"]),
    case(&["eval", "--model", "{dir}/short.onnx"], &["{dir}/short.onnx: not a readable ONNX file"]),
    case(
        &["hdl", "net", "--model", "tests/golden/qonnx/mlp_w4a4_floatscale_int32bias.onnx", "--quant", "models/quant_uniform8.ron", "-o", "{dir}/net"],
        &["is a QONNX model, already quantized; --quant applies to float models"],
    ),
    case(&["eval", "--model", MLP, "--data", "mnist:{dir}/mnist_short"], &["{dir}/mnist_short/t10k-images-idx3-ubyte"]),
    case(
        &["hdl", "net", "--model", MLP, "--quant", "{dir}/missing.ron", "--images", "2", "-o", "{dir}/net"],
        &["error: {dir}/missing.ron: No such file or directory (os error 2)"],
    ),
    case(
        &["hdl", "net", "--model", MLP, "--arch", "{dir}/missing.ron", "--images", "2", "-o", "{dir}/net"],
        &["error: reading {dir}/missing.ron: No such file or directory (os error 2)"],
    ),
    case(&["hdl", "net", "--model", MLP, "--images", "0", "-o", "{dir}/net"], &["images (0) must be between 1 and 450"]),
    case(&["hdl", "net", "--model", MLP, "--images", "451", "-o", "{dir}/net"], &["images (451)"]),
    case(
        &["hdl", "net", "--model", MLP, "--images", "2", "--vcd", "{dir}/nowhere/x.vcd", "-o", "{dir}/net"],
        &["cannot write {dir}/nowhere/x.vcd: the folder {dir}/nowhere does not exist"],
    ),
    // A waveform is never written over a folder (here the scratch folder itself).
    case(
        &["hdl", "net", "--model", MLP, "--images", "2", "--vcd", "{dir}", "-o", "{dir}/net_vcd"],
        &["refusing to write: it is a folder"],
    ),
    // sweep
    case(&["sweep", "{dir}/sw_unknown.ron", "--list"], &["error: {dir}/sw_unknown.ron:13:9: ", "`fgpa`"]),
    case(
        &["sweep", "{dir}/sw_empty.ron", "--list"],
        &["error: {dir}/sw_empty.ron:14:18: the constraints [scheme_bits] leave no point of the grid"],
    ),
    case(
        &["sweep", "models/sweep_default.ron", "-o", "{dir}/sw", "--coefficients", "{dir}/nonexistent"],
        &["the coefficients folder {dir}/nonexistent does not exist"],
    ),
    case(
        &["sweep", "models/sweep_default.ron", "-o", "{dir}/sw", "--coefficients", "{dir}/m_ok.ron"],
        &["the coefficients folder {dir}/m_ok.ron is not a folder"],
    ),
    case(
        &["sweep", "models/sweep_default.ron", "-o", "{dir}/sw", "--coefficients", "{dir}/area_unknown"],
        &["error: {dir}/area_unknown/area_ice40.ron:2:5: ", "`versoin`"],
    ),
    case(
        &["sweep", "models/sweep_default.ron", "-o", "{dir}/sw", "--coefficients", "{dir}/area_version"],
        &["error: {dir}/area_version/area_ice40.ron:2:14: coefficients file version 2"],
    ),
    case(
        &["sweep", "{dir}/sw_override.ron", "-o", "{dir}/sw"],
        &["error: {dir}/sw_override.ron:8:40: layer override index (5) must be below the number of layers with weights (2)"],
    ),
    case(&["sweep", "{dir}/sw_data.ron", "--list"], &["error: {dir}/sw_data.ron:", "unknown data set `cifar`"]),
    case(&["sweep", "models/sweep_default.ron", "-o", "{dir}/sw", "--images", "0"], &["--images (0) must be at least 1"]),
    case(
        &["sweep", "models/sweep_default.ron", "-o", "{dir}/sw", "--data", "mnist:{dir}/mnist"],
        &["takes 64 inputs; mnist:{dir}/mnist images have 784"],
    ),
    case(&["sweep", "models/sweep_default.ron", "-o", "{dir}/sw", "--jobs", "0"], &["--jobs (0) must be at least 1"]),
    case(&["sweep", "models/sweep_default.ron", "-o", "{dir}/sw", "--limit", "0"], &["--limit (0) must be at least 1"]),
    case(&["sweep", "models/sweep_default.ron", "-o", "{dir}/sw", "--shard", "3/2"], &["invalid shard `3/2`"]),
    case(&["sweep", "models/sweep_default.ron"], &["give a results folder with -o DIR"]),
    case(&["sweep", "{dir}/missing.ron", "--list"], &["{dir}/missing.ron: No such file or directory (os error 2)"]),
    case(
        &["sweep", "merge", "{dir}/nothing", "-o", "{dir}/merged"],
        &["{dir}/nothing/meta.json: missing: not a sweep results folder"],
    ),
    case(&["sweep", "plot", "{dir}/m_ok.ron"], &["refusing to write to {dir}/m_ok.ron: it is a file"]),
    // verify and synth
    case(&["verify", "{dir}/nothing"], &["{dir}/nothing: No such file or directory (os error 2)"]),
    case(&["verify", "{dir}/badjson"], &["error: {dir}/badjson/qforge.json:3:10: "]),
    case(&["synth", "{dir}/nothing", "--target", "ice40", "--seeds", "0"], &["seeds (0) must be at least 1"]),
    case(&["synth", "{dir}/nothing", "--target", "ecp5"], &["{dir}/nothing: No such file or directory (os error 2)"]),
    // calibrate and demo
    case(&["calibrate", "--target", "ice40", "--jobs", "0"], &["--jobs (0) must be at least 1"]),
    case(
        &["calibrate", "--target", "ice40", "-o", "{dir}/nowhere/area.ron"],
        &["cannot write {dir}/nowhere/area.ron: the folder {dir}/nowhere does not exist"],
    ),
    case(&["demo", "--model", "{dir}/m_unknown.ron", "-o", "{dir}/demo"], &["error: {dir}/m_unknown.ron:5:93: "]),
];

/// Runs one case; `None` if it behaved, else what went wrong.
fn check(case: &Case, dir: &str) -> Option<String> {
    let args: Vec<String> = case.args.iter().map(|a| a.replace("{dir}", dir)).collect();
    let (code, err) = match case.stdin {
        None => {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let run = qforge(&refs);
            (run.code, run.err)
        }
        Some(input) => {
            let mut child = qforge_command()
                .args(&args)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
            let out = child.wait_with_output().unwrap();
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        }
    };
    let mut problems = Vec::new();
    if code != 2 {
        problems.push(format!("exit code {code}"));
    }
    if !err.starts_with("error: ") {
        problems.push("stderr does not start with `error: `".into());
    }
    if err.lines().count() != 1 || !err.ends_with('\n') {
        problems.push(format!("{} stderr lines", err.lines().count()));
    }
    for fragment in case.expect {
        let fragment = fragment.replace("{dir}", dir);
        if !err.contains(&fragment) {
            problems.push(format!("no `{fragment}`"));
        }
    }
    // No invented location, no OS error said twice.
    if err.contains(":0:") {
        problems.push("a line 0 location".into());
    }
    if err.matches("(os error").count() > 1 {
        problems.push("the OS error twice".into());
    }
    (!problems.is_empty()).then(|| {
        format!(
            "qforge {}: {}\n  {err}",
            args.join(" "),
            problems.join(", ")
        )
    })
}

#[test]
fn every_bad_input_is_one_line_with_exit_code_2() {
    let dir = scratch!("table");
    write_files(&dir);
    let dir = dir.display().to_string();
    assert!(CASES.len() >= 60, "{} cases", CASES.len());
    let failures: Vec<String> = CASES.iter().filter_map(|c| check(c, &dir)).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn an_integer_model_with_an_unknown_field_is_refused_at_it() {
    let dir = scratch!("qnet");
    let net = dir.join("net.ron");
    let made = qforge(&[
        "quantize",
        "--model",
        MLP,
        "--spec",
        "models/quant_uniform4.ron",
        "-o",
        net.to_str().unwrap(),
    ]);
    assert!(made.ok, "{}", made.err);
    let text = std::fs::read_to_string(&net).unwrap();
    // The file starts `(`, then `    name: ...,`, then `    input: (`.
    let bad = dir.join("bad.ron");
    std::fs::write(
        &bad,
        edit(&text, "    input: (", "    inputs: 8,\n    input: ("),
    )
    .unwrap();
    let run = qforge(&["eval", "--model", bad.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.err);
    assert_eq!(run.err.lines().count(), 1, "{}", run.err);
    let at = format!("error: {}:3:5: ", bad.display());
    assert!(run.err.starts_with(&at), "{}", run.err);
    assert!(
        run.err.contains("`inputs` in the integer model"),
        "{}",
        run.err
    );
    // --quant applies to float models only.
    let run = qforge(&[
        "eval",
        "--model",
        net.to_str().unwrap(),
        "--quant",
        "models/quant_uniform8.ron",
    ]);
    assert_eq!(run.code, 2, "{}", run.err);
    assert!(run.err.contains("already an integer model"), "{}", run.err);
}

#[test]
fn help_and_version_still_print_in_full() {
    for args in [
        &["--help"][..],
        &["sweep", "--help"],
        &["hdl", "pe", "--help"],
    ] {
        let run = qforge(args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.err);
        assert!(run.out.contains("Usage: qforge"), "{args:?}: {}", run.out);
        assert!(run.out.lines().count() > 3, "{}", run.out);
    }
    let run = qforge(&["--version"]);
    assert_eq!(run.code, 0);
    assert!(run.out.starts_with("qforge "), "{}", run.out);
}
