//! Quantization-aware training of the bundled small CNN (conv 8@3×3, ReLU, max pool 2, conv
//! 16@3×3, ReLU, max pool 2, dense 10) on the digits data: the untrained network exports exactly
//! as post-training quantization (batch norm after a convolution folded in), the fake-quantized
//! forward pass equals the golden integer engine on every activation code of every test image
//! when every scale is a power of two, and a few epochs beat post-training quantization at the
//! same bits.

use qforge::nn::{self, data::digits, Architecture, Dataset, Layer, Model};
use qforge::qat::{agreement, train_qat, QatNet};
use qforge::qnn::eval::eval_integer;
use qforge::qnn::quantize::{quantize_model, QuantSpec};
use qforge::qnn::QNet;
use std::path::Path;
use std::sync::OnceLock;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn spec(name: &str) -> QuantSpec {
    QuantSpec::load(&Path::new(ROOT).join("models").join(name)).unwrap()
}

fn data() -> (Dataset, Dataset) {
    digits::train_test().unwrap()
}

fn calibration<'a>(spec: &QuantSpec, train: &'a Dataset) -> &'a [f32] {
    &train.inputs[..spec.calibration_samples.min(train.len()) * train.sample_size()]
}

/// The small CNN trained in float for 15 epochs from a fixed seed (shared by the tests).
fn float_cnn() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let shape = vec![1, 8, 8];
        let mut model = Architecture::small_cnn(10, &shape)
            .build(&shape, 1)
            .unwrap();
        let (train, _) = data();
        let train = train.reshaped(shape).unwrap();
        let config = nn::TrainConfig {
            epochs: 15,
            batch_size: 32,
            optimizer: nn::Optimizer::adam(0.003),
            seed: 1,
        };
        nn::train(&mut model, &train, &config, |_, _| {}).unwrap();
        model
    })
}

/// Specs whose every scale is a power of two.
const POWER_OF_TWO: [&str; 4] = [
    "quant_pot4_a4.ron",
    "qat_uniform4_a4.ron",
    "qat_uniform2_a2.ron",
    "qat_pot3_a3.ron",
];
/// Specs with free scales somewhere.
const FREE_SCALES: [&str; 4] = [
    "quant_uniform4.ron",
    "quant_uniform8.ron",
    "quant_apot2_a4.ron",
    "quant_ternary_a4.ron",
];

/// Activation codes of one image below the last layer: conv 8×8×8, pool 8×4×4, conv 16×4×4,
/// pool 16×2×2.
const CODES_PER_IMAGE: usize = 512 + 128 + 256 + 64;

fn trained(name: &str, epochs: usize, seed: u64) -> (QatNet, QNet) {
    let (train, _) = data();
    let s = spec(name);
    let cal = calibration(&s, &train);
    let mut net = QatNet::new(float_cnn(), &s, cal).unwrap();
    train_qat(&mut net, &train, epochs, seed, |_, _| Ok(())).unwrap();
    let q = net.export(cal).unwrap();
    (net, q)
}

#[test]
fn an_untrained_cnn_exports_as_post_training_quantization() {
    let (train, test) = data();
    let float = float_cnn();
    let acc = float.accuracy(&test.inputs, &test.labels).unwrap();
    assert!(acc > 0.9, "the float CNN learned ({acc})");
    for name in [
        "quant_pot4_a4.ron",
        "qat_uniform2_a2.ron",
        "quant_uniform4.ron",
        "quant_ternary_a4.ron",
    ] {
        let s = spec(name);
        let cal = calibration(&s, &train);
        let ptq = quantize_model(float, &s, cal).unwrap();
        assert_eq!(ptq.layers.len(), 5, "{name}: conv, pool, conv, pool, dense");
        let qat = QatNet::new(float, &s, cal).unwrap().export(cal).unwrap();
        assert_eq!(qat, ptq, "{name}");
    }
}

/// A batch norm after each convolution is folded into it before quantization, as
/// post-training quantization folds it.
#[test]
fn batch_norm_after_a_convolution_is_folded_as_post_training_quantization_folds_it() {
    let (train, _) = data();
    let mut layers = Vec::new();
    for layer in &float_cnn().layers {
        layers.push(layer.clone());
        if let Layer::Conv2d { out_channels, .. } = layer {
            let n = *out_channels;
            let f = |a: f32, b: f32| (0..n).map(|i| a + b * i as f32).collect::<Vec<f32>>();
            layers.push(Layer::BatchNorm {
                gamma: f(0.8, 0.05),
                beta: f(-0.1, 0.02),
                running_mean: f(0.05, -0.01),
                running_var: f(0.9, 0.03),
                eps: 1e-5,
            });
        }
    }
    let model = Model::new("cnn_bn", vec![1, 8, 8], layers).unwrap();
    for name in ["quant_pot4_a4.ron", "quant_uniform4.ron"] {
        let s = spec(name);
        let cal = calibration(&s, &train);
        let ptq = quantize_model(&model, &s, cal).unwrap();
        let mut net = QatNet::new(&model, &s, cal).unwrap();
        assert_eq!(net.export(cal).unwrap(), ptq, "{name}");
        assert!(
            !net.model
                .layers
                .iter()
                .any(|l| matches!(l, Layer::BatchNorm { .. })),
            "{name}: folded"
        );
        train_qat(&mut net, &train, 1, 3, |_, _| Ok(())).unwrap();
        assert_ne!(net.export(cal).unwrap(), ptq, "{name}: trained");
    }
}

#[test]
fn fake_quantized_cnn_equals_the_integer_engine_with_power_of_two_scales() {
    let (_, test) = data();
    for name in POWER_OF_TWO {
        let (net, q) = trained(name, 2, 5);
        let a = agreement(&net, &q, &test).unwrap();
        eprintln!("{name}: {a:?}");
        assert_eq!(a.samples, 450, "{name}");
        assert_eq!(a.codes, 450 * CODES_PER_IMAGE, "{name}");
        assert_eq!(a.same_codes, a.codes, "{name}: every activation code");
        assert_eq!(a.same_class, a.samples, "{name}: every class");
        assert_eq!(a.fake_accuracy, a.integer_accuracy, "{name}");
        let golden = eval_integer(&q, &test, 1).unwrap().0.accuracy;
        assert_eq!(a.integer_accuracy, golden, "{name}");
    }
}

#[test]
fn fake_quantized_cnn_agrees_with_the_integer_engine_with_free_scales() {
    let (_, test) = data();
    for name in FREE_SCALES {
        let (net, q) = trained(name, 2, 5);
        let a = agreement(&net, &q, &test).unwrap();
        eprintln!("{name}: {a:?}");
        assert_eq!(a.codes, 450 * CODES_PER_IMAGE, "{name}");
        assert!(a.code_fraction() >= 0.99, "{name}: {a:?}");
        assert!(a.class_fraction() >= 0.995, "{name}: {a:?}");
    }
}

/// Three epochs of fine-tuning from the float CNN, fixed seed, where post-training
/// quantization loses accuracy (2-bit uniform, 3-bit PoT weights with 3-bit activations,
/// ternary): the integer network's test accuracy is above post-training quantization's.
#[test]
fn cnn_training_beats_post_training_quantization() {
    let (train, test) = data();
    for name in [
        "qat_uniform2_a2.ron",
        "qat_pot3_a3.ron",
        "quant_ternary_a4.ron",
    ] {
        let s = spec(name);
        let ptq = quantize_model(float_cnn(), &s, calibration(&s, &train)).unwrap();
        let before = eval_integer(&ptq, &test, 1).unwrap().0.accuracy;
        let (_, q) = trained(name, 3, 1);
        let after = eval_integer(&q, &test, 1).unwrap().0.accuracy;
        eprintln!("{name}: PTQ {before:.4}, QAT {after:.4}");
        assert!(after > before + 0.02, "{name}: PTQ {before}, QAT {after}");
    }
}

#[test]
fn the_same_seed_gives_the_same_cnn() {
    let (_, a) = trained("qat_pot3_a3.ron", 1, 9);
    let (_, b) = trained("qat_pot3_a3.ron", 1, 9);
    let (_, c) = trained("qat_pot3_a3.ron", 1, 10);
    assert_eq!(a.to_ron_string(), b.to_ron_string());
    assert_ne!(a.to_ron_string(), c.to_ron_string());
}
