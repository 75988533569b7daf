//! What the network tests share (each test file uses a part, hence `dead_code`): the
//! comparison of simulated outputs with the golden engine's, and the networks of the
//! convolution tests.
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
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

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
            })
            .collect(),
        fifo_depth: FifoDepth::Auto,
    }
}
