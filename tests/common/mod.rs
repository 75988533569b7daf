//! What every test binary shares (each uses a part, hence `dead_code`): the one runner of the
//! `qforge` binary, the one scratch root for files tests write, the comparison of simulated
//! outputs with the golden engine's, and the networks of the convolution tests.
//!
//! The small digits CNN: conv 1→4 channels 3×3 (padding 1), ReLU,
//! max pool 2, flatten, dense 64→10, trained here from a fixed seed for two epochs (a second in
//! a release build) and quantized with a bundled quantization file.

#![allow(dead_code)]

use qforge::accel::plan::{ArchSpec, FifoDepth, Folding, LayerArch};
use qforge::flow::quantize_float;
use qforge::nn::{self, Architecture, LayerSpec};
use qforge::qnn::quantize::QuantSpec;
use qforge::qnn::{AccOverflow, Layer, QNet, WeightCode};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The crate root: bundled models, golden data and `tests/hw` are found from here.
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// What one run of the `qforge` binary did: its exit code (-1 when a signal ended it) and what
/// it printed.
pub struct Run {
    /// Whether it exited with 0.
    pub ok: bool,
    /// The exit code.
    pub code: i32,
    /// What it printed on standard output.
    pub out: String,
    /// What it printed on standard error.
    pub err: String,
}

/// The `qforge` binary built with these tests, to be started in the crate root (so paths like
/// `models/digits_mlp.ron` resolve); for runs that need stdin, the environment or non-UTF-8
/// arguments. Most tests want [`qforge`].
pub fn qforge_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qforge"));
    command.current_dir(ROOT);
    command
}

/// Runs `qforge ARGS` in the crate root and waits for it.
pub fn qforge(args: &[&str]) -> Run {
    let out = qforge_command()
        .args(args)
        .output()
        .expect("the qforge binary runs");
    Run {
        ok: out.status.success(),
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// For a test that needs an environment variable set: the environment is the process's, which
/// all tests of a binary share, so the test runs alone in a child process of this test binary
/// started with `var=value`. Returns `true` in that child (go on with the test); elsewhere
/// runs the child, asserts that it ran the test and passed, and returns `false` (return).
/// `module` is the test's `module_path!()`, `test` its function name.
pub fn run_alone_with(module: &str, test: &str, var: &str, value: &str) -> bool {
    if std::env::var_os(var).is_some_and(|v| v == value) {
        return true;
    }
    // libtest names tests by their path below the crate root.
    let name = match module.split_once("::") {
        Some((_, path)) => format!("{path}::{test}"),
        None => test.to_string(),
    };
    let child = Command::new(std::env::current_exe().unwrap())
        .args([name.as_str(), "--exact", "--test-threads=1"])
        .env(var, value)
        .output()
        .expect("the test binary runs");
    let out = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success() && out.contains("1 passed"),
        "{name} with {var}={value}: {out}{}",
        String::from_utf8_lossy(&child.stderr)
    );
    false
}

/// A fresh, empty folder for the files of one test: `target/tmp/<module>/<name>` (Cargo's
/// `CARGO_TARGET_TMPDIR`, never the source tree), emptied first if an earlier run left it.
/// `module` is the calling test file's `module_path!()`, so names need only be unique within a
/// file; [`scratch!`] passes it.
pub fn scratch_dir(module: &str, name: &str) -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    dir.extend(module.split("::"));
    dir.push(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `scratch!("name")`: a fresh, empty folder for the calling test file's case `name` (see
/// [`scratch_dir`]).
#[allow(unused_macros)]
macro_rules! scratch {
    ($name:expr) => {
        $crate::common::scratch_dir(module_path!(), $name)
    };
}

/// The one Verilator build cache of all tests (`target/tmp/verilator-cache`): simulators are
/// keyed by their sources and flags, so a rerun skips the C++ compiles and tests that replay
/// the same design share its build.
pub fn verilator_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("verilator-cache")
}

/// The float model, trained deterministically.
pub fn digits_cnn_float() -> nn::Model {
    let shape = vec![1, 8, 8];
    let arch = Architecture {
        name: "digits_cnn".into(),
        layers: vec![
            LayerSpec::Conv2d {
                out_channels: 4,
                kernel: 3,
                stride: 1,
                padding: 1,
            },
            LayerSpec::Relu,
            LayerSpec::MaxPool2d {
                kernel: 2,
                stride: 2,
            },
            LayerSpec::Flatten,
            LayerSpec::Dense { out_features: 10 },
        ],
    };
    let mut model = arch.build(&shape, 7).unwrap();
    let (train, _) = nn::data::digits::train_test().unwrap();
    let train = train.reshaped(shape).unwrap();
    let config = nn::TrainConfig {
        epochs: 2,
        batch_size: 32,
        optimizer: nn::Optimizer::adam(0.01),
        seed: 7,
    };
    nn::train(&mut model, &train, &config, |_, _| {}).unwrap();
    model
}

/// The CNN quantized with `models/<spec>`.
pub fn digits_cnn(spec: &str) -> QNet {
    let spec = QuantSpec::load(&Path::new(ROOT).join("models").join(spec)).unwrap();
    let mut net = quantize_float(&digits_cnn_float(), &spec).unwrap();
    net.name = "digits_cnn".into();
    net
}

/// A requantization to 3-bit codes with ReLU (× 3, >> 3).
pub fn relu_u3() -> qforge::qnn::LayerOutput {
    qforge::qnn::LayerOutput::Requant(qforge::qnn::Requant {
        multiplier: vec![3],
        shift: vec![3],
        scale_bits: 2,
        rounding: qforge::num::rounding::RoundingMode::HalfEven,
        relu: true,
        output: qforge::qnn::IntFormat::new(3, false).unwrap(),
        output_scale: 1.0,
    })
}

/// A convolution with fixed pseudo-random weights.
#[allow(clippy::too_many_arguments)]
pub fn conv(
    seed: u64,
    (c, h, w): (usize, usize, usize),
    out_channels: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    weights: WeightCode,
    output: qforge::qnn::LayerOutput,
) -> qforge::qnn::conv::Conv2d {
    let mut rng = qforge::accel::vectors::Rng::new(seed);
    let valid: Vec<u64> = (0..1u64 << weights.code_bits())
        .filter(|&c| weights.level(c).is_some())
        .collect();
    qforge::qnn::conv::Conv2d {
        in_channels: c,
        out_channels,
        in_h: h,
        in_w: w,
        kernel_h: kernel,
        kernel_w: kernel,
        stride,
        padding,
        codes: (0..out_channels * c * kernel * kernel)
            .map(|_| valid[rng.below(valid.len() as u64) as usize])
            .collect(),
        weights,
        bias: (0..out_channels).map(|_| rng.below(9) as i64 - 4).collect(),
        accumulator: Default::default(),
        output,
        acc_scale: vec![1.0],
    }
}

/// A network of `layers` on unsigned `input_bits`-bit inputs of scale 1.
pub fn hand_net(layers: Vec<Layer>, input_bits: u32) -> QNet {
    QNet {
        name: "hand".into(),
        input: qforge::qnn::InputQuant {
            format: qforge::qnn::IntFormat::new(input_bits, false).unwrap(),
            scale: 1.0,
            rounding: qforge::num::rounding::RoundingMode::HalfEven,
            fixed: None,
        },
        layers,
    }
}

/// Two convolutions without a dense layer on 6×6 unsigned 4-bit inputs: 1→2 channels 3×3
/// stride 2 padding 1 (ternary weights, ReLU to 3 bits), then 2→3 channels 2×2 (3-bit uniform
/// weights, raw accumulators out).
pub fn strided_conv_chain() -> QNet {
    hand_net(
        vec![
            Layer::Conv2d(conv(
                1,
                (1, 6, 6),
                2,
                3,
                2,
                1,
                WeightCode::Ternary,
                relu_u3(),
            )),
            Layer::Conv2d(conv(
                2,
                (2, 3, 3),
                3,
                2,
                1,
                0,
                WeightCode::Uniform { bits: 3 },
                qforge::qnn::LayerOutput::Accumulator,
            )),
        ],
        4,
    )
}

/// Panics at the first output where `simulated` differs from `golden` (`per_image` outputs per
/// image), naming `what`, the image, the output and both values; also when the lengths differ.
pub fn assert_same_outputs(what: &str, simulated: &[i64], golden: &[i64], per_image: usize) {
    assert_eq!(simulated.len(), golden.len(), "{what}: output count");
    if let Some(i) = (0..golden.len()).find(|&i| golden[i] != simulated[i]) {
        panic!(
            "{what}: image {} output {}: simulator {} golden {}",
            i / per_image,
            i % per_image,
            simulated[i],
            golden[i]
        );
    }
}

/// An architecture for the two-layer `n`: layer `k` folded as `folds[k]` (pe, simd), with its
/// accumulator `narrowing[k]` bits below the proven bound and `overflow` (narrowing 0: the
/// proven width, no overflow mode).
pub fn narrowed_arch(
    n: &QNet,
    folding: Folding,
    folds: [(Option<u32>, Option<u32>); 2],
    overflow: AccOverflow,
    narrowing: [u32; 2],
) -> ArchSpec {
    let certs = n.certificates();
    ArchSpec {
        folding,
        layers: (0..2)
            .map(|k| LayerArch {
                index: k,
                pe: folds[k].0,
                simd: folds[k].1,
                acc_bits: (narrowing[k] > 0).then(|| certs[k].proven_bits - narrowing[k]),
                overflow: (narrowing[k] > 0).then_some(overflow),
                memory: None,
            })
            .collect(),
        fifo_depth: FifoDepth::Auto,
        memory: Default::default(),
    }
}

/// Every file under `dir` but `timing.json`, by path relative to `dir`.
pub fn files_except_timing(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, at: &Path, into: &mut std::collections::BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(at).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(root, &path, into);
            } else if path.file_name().unwrap() != "timing.json" {
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                into.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut all = std::collections::BTreeMap::new();
    walk(dir, dir, &mut all);
    all
}

/// A small hand-made network named `name`: 8 unsigned 4-bit inputs, 4 hidden units (ternary
/// weights, pure shift requantization with ReLU), 3 logits (uniform 3-bit weights).
pub fn tiny_net(name: &str) -> QNet {
    use qforge::num::rounding::RoundingMode;
    use qforge::qnn::{Accumulator, Dense, IntFormat, LayerOutput, Requant};
    let hidden = Dense {
        in_features: 8,
        out_features: 4,
        weights: WeightCode::Ternary,
        codes: (0..32).map(|i| [0u64, 1, 3][i % 3]).collect(),
        bias: vec![3, -2, 0, 5],
        accumulator: Accumulator::default(),
        output: LayerOutput::Requant(Requant {
            multiplier: vec![1],
            shift: vec![2],
            scale_bits: 1,
            rounding: RoundingMode::HalfEven,
            relu: true,
            output: IntFormat::new(3, false).unwrap(),
            output_scale: 1.0,
        }),
        acc_scale: vec![1.0],
    };
    let out = Dense {
        in_features: 4,
        out_features: 3,
        weights: WeightCode::Uniform { bits: 3 },
        codes: vec![1, 2, 3, 7, 6, 5, 0, 1, 2, 3, 4, 5],
        bias: vec![0, 1, -1],
        accumulator: Accumulator::default(),
        output: LayerOutput::Accumulator,
        acc_scale: vec![1.0],
    };
    let mut net = hand_net(vec![Layer::Dense(hidden), Layer::Dense(out)], 4);
    net.name = name.into();
    net
}
