//! Quantization-aware training on the digits data: an untrained network exports exactly as
//! post-training quantization; the fake-quantized forward pass equals the golden integer engine
//! code for code when every scale is a power of two (and agrees closely otherwise); training
//! beats post-training quantization at the same bits for every weight scheme; the same seed
//! gives the same network, on one thread or two.

use qforge::nn::{data::digits, Dataset, Model};
use qforge::qat::{agreement, train_qat, QatNet};
use qforge::qnn::eval::eval_integer;
use qforge::qnn::quantize::{calibrated_thresholds, quantize_at, quantize_model, QuantSpec};
use qforge::qnn::QNet;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn model() -> Model {
    Model::load(Path::new(ROOT).join("models/digits_mlp.ron")).unwrap()
}

fn spec(name: &str) -> QuantSpec {
    QuantSpec::load(&Path::new(ROOT).join("models").join(name)).unwrap()
}

fn data() -> (Dataset, Dataset) {
    digits::train_test().unwrap()
}

fn calibration<'a>(spec: &QuantSpec, train: &'a Dataset) -> &'a [f32] {
    &train.inputs[..spec.calibration_samples.min(train.len()) * train.sample_size()]
}

/// Specs whose every scale is a power of two (weights: PoT or power-of-two uniform scales).
const POWER_OF_TWO: [&str; 4] = [
    "quant_pot4_a4.ron",
    "qat_uniform4_a4.ron",
    "qat_uniform2_a2.ron",
    "qat_pot3_a3.ron",
];
/// Specs with free scales somewhere (uniform float scales, APoT, ternary and binary means).
const FREE_SCALES: [&str; 5] = [
    "quant_uniform4.ron",
    "quant_uniform8.ron",
    "quant_apot2_a4.ron",
    "quant_ternary_a4.ron",
    "qat_binary_a4.ron",
];

fn trained(name: &str, epochs: usize, seed: u64) -> (QatNet, QNet) {
    let (train, _) = data();
    let s = spec(name);
    let cal = calibration(&s, &train);
    let mut net = QatNet::new(&model(), &s, cal).unwrap();
    train_qat(&mut net, &train, epochs, seed, |_, _| Ok(())).unwrap();
    let q = net.export(cal).unwrap();
    (net, q)
}

#[test]
fn untrained_networks_export_as_post_training_quantization() {
    let (train, _) = data();
    for name in POWER_OF_TWO.iter().chain(&FREE_SCALES) {
        let s = spec(name);
        let cal = calibration(&s, &train);
        let ptq = quantize_model(&model(), &s, cal).unwrap();
        let via_thresholds = quantize_at(
            &model(),
            &s,
            cal,
            &calibrated_thresholds(&model(), &s, cal).unwrap(),
        )
        .unwrap();
        assert_eq!(via_thresholds, ptq, "{name}");
        let qat = QatNet::new(&model(), &s, cal).unwrap().export(cal).unwrap();
        assert_eq!(qat, ptq, "{name}");
    }
}

#[test]
fn fake_quantized_forward_equals_the_integer_engine_with_power_of_two_scales() {
    let (_, test) = data();
    for name in POWER_OF_TWO {
        let (net, q) = trained(name, 3, 5);
        let a = agreement(&net, &q, &test).unwrap();
        eprintln!("{name}: {a:?}");
        assert_eq!(a.samples, 450, "{name}");
        assert_eq!(a.codes, 450 * 32, "{name}");
        assert_eq!(a.same_codes, a.codes, "{name}: every activation code");
        assert_eq!(a.same_class, a.samples, "{name}: every class");
        assert_eq!(a.fake_accuracy, a.integer_accuracy, "{name}");
        let golden = eval_integer(&q, &test, 1).unwrap().0.accuracy;
        assert_eq!(a.integer_accuracy, golden, "{name}");
    }
}

#[test]
fn fake_quantized_forward_agrees_with_the_integer_engine_with_free_scales() {
    let (_, test) = data();
    for name in FREE_SCALES {
        let (net, q) = trained(name, 3, 5);
        let a = agreement(&net, &q, &test).unwrap();
        eprintln!("{name}: {a:?}");
        assert_eq!(a.codes, 450 * 32, "{name}");
        assert!(a.code_fraction() >= 0.99, "{name}: {a:?}");
        assert!(a.class_fraction() >= 0.995, "{name}: {a:?}");
    }
}

/// Ten epochs of fine-tuning from the bundled float model (twenty at 4-bit uniform, where
/// post-training quantization is already within 1% of the float model), fixed seed: the integer
/// network's test accuracy is above post-training quantization's at the same bits, for every
/// scheme.
#[test]
fn training_beats_post_training_quantization_for_every_scheme() {
    let (train, test) = data();
    for (name, epochs) in [
        ("qat_uniform4_a4.ron", 20),
        ("qat_uniform2_a2.ron", 10),
        ("qat_pot3_a3.ron", 10),
        ("quant_pot4_a4.ron", 10),
        ("quant_apot2_a4.ron", 10),
        ("quant_ternary_a4.ron", 10),
        ("qat_binary_a4.ron", 10),
    ] {
        let s = spec(name);
        let ptq = quantize_model(&model(), &s, calibration(&s, &train)).unwrap();
        let before = eval_integer(&ptq, &test, 1).unwrap().0.accuracy;
        let (_, q) = trained(name, epochs, 1);
        let after = eval_integer(&q, &test, 1).unwrap().0.accuracy;
        eprintln!("{name}: PTQ {before:.4}, QAT {after:.4}");
        assert!(after > before, "{name}: PTQ {before}, QAT {after}");
    }
}

#[test]
fn the_same_seed_gives_the_same_network() {
    let (_, a) = trained("quant_pot4_a4.ron", 2, 9);
    let (_, b) = trained("quant_pot4_a4.ron", 2, 9);
    let (_, c) = trained("quant_pot4_a4.ron", 2, 10);
    assert_eq!(a.to_ron_string(), b.to_ron_string());
    assert_ne!(a.to_ron_string(), c.to_ron_string());
}

/// Layers large enough for the two-core paths (MNIST-size products, weights and parameter
/// vectors) train the same network on one thread and on two.
#[test]
fn one_thread_and_two_train_the_same_network() {
    use qforge::nn::{data::mnist, Architecture};
    let (train, _) = mnist::load_dir(&Path::new(ROOT).join("../shared/data/mnist")).unwrap();
    let train = train.truncated(512);
    let mut s = spec("qat_uniform4_a4.ron");
    s.training.batch_size = 128;
    let model = Architecture::mlp(&[784, 128, 10], &[784])
        .unwrap()
        .build(&[784], 2)
        .unwrap();
    let cal = &train.inputs[..256 * 784];
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut net = QatNet::new(&model, &s, cal).unwrap();
            train_qat(&mut net, &train, 2, 3, |_, _| Ok(())).unwrap();
            net.export(cal).unwrap().to_ron_string()
        })
    };
    let (one, two) = (run(1), run(2));
    assert!(one == two, "one thread and two differ");
    assert_ne!(one, {
        let net = QatNet::new(&model, &s, cal).unwrap();
        net.export(cal).unwrap().to_ron_string()
    });
}

/// Mixed precision through the spec's per-layer overrides: layer 0 gets PoT-4 weights and 3-bit
/// activations, layer 1 keeps the spec's 4-bit uniform weights. The untrained export equals
/// post-training quantization, training keeps each layer's own code, and (all scales powers of
/// two) the fake-quantized forward pass equals the integer engine code for code.
#[test]
fn per_layer_overrides_train_each_layer_in_its_own_format() {
    use qforge::qnn::{Layer, LayerOutput, WeightCode};
    let text = std::fs::read_to_string(Path::new(ROOT).join("models/qat_uniform4_a4.ron")).unwrap();
    let text = text.replace(
        "    rounding: half_even,",
        "    layers: [(index: 0, weights: Some((scheme: pot((format: (exp_bits: 3, signed: true, \
         zero_code: true), domain: linear, exponents: from_threshold, alpha: 1.0)), granularity: \
         per_channel(axis: 0), clipping: min_max)), activations: Some((bits: 3, clipping: \
         min_max, power_of_two: true)))],\n    rounding: half_even,",
    );
    let s = QuantSpec::from_ron_str(&text, "mixed.ron").unwrap();
    assert_eq!(s.layers.len(), 1);
    let (train, test) = data();
    let cal = calibration(&s, &train);
    let ptq = quantize_model(&model(), &s, cal).unwrap();
    let mut net = QatNet::new(&model(), &s, cal).unwrap();
    assert_eq!(net.export(cal).unwrap(), ptq);
    train_qat(&mut net, &train, 3, 2, |_, _| Ok(())).unwrap();
    let q = net.export(cal).unwrap();
    let [Layer::Dense(d0), Layer::Dense(d1)] = &q.layers[..] else {
        panic!("two dense layers expected: {:?}", q.layers.len())
    };
    assert!(matches!(d0.weights, WeightCode::Pot(_)), "{:?}", d0.weights);
    assert_eq!(d1.weights, WeightCode::Uniform { bits: 4 });
    let LayerOutput::Requant(r) = &d0.output else {
        panic!("layer 0 requantizes")
    };
    assert_eq!(r.output.bits, 3);
    assert_ne!(q, ptq, "training changed the network");
    let a = agreement(&net, &q, &test).unwrap();
    assert_eq!((a.same_codes, a.same_class), (a.codes, a.samples), "{a:?}");
}

/// `model` with each Dense layer's weights minus their mean, computed here in exact rationals
/// of the float32 values (f64 sums of at most 2048 float32 values are exact to well below
/// float32's resolution).
fn centred_by_hand(model: &Model) -> Model {
    let mut m = model.clone();
    for layer in &mut m.layers {
        if let qforge::nn::Layer::Dense { weights, .. } = layer {
            let mean = weights.iter().map(|&w| f64::from(w)).sum::<f64>() / weights.len() as f64;
            for w in weights.iter_mut() {
                *w = (f64::from(*w) - mean) as f32;
            }
        }
    }
    m
}

#[test]
fn weight_normalisation_trains_centred_weights_from_their_post_training_quantization() {
    let (train, _) = data();
    let mut s = spec("quant_apot2_a4.ron");
    s.training.weight_normalization = true;
    let cal = calibration(&s, &train);
    // Epoch 0: post-training quantization of the centred weights.
    let ptq_centred = quantize_model(&centred_by_hand(&model()), &s, cal).unwrap();
    let mut net = QatNet::new(&model(), &s, cal).unwrap();
    assert_eq!(net.export(cal).unwrap(), ptq_centred);
    assert_ne!(ptq_centred, quantize_model(&model(), &s, cal).unwrap());
    // Every update keeps each layer's weights at mean zero.
    train_qat(&mut net, &train, 2, 1, |_, _| Ok(())).unwrap();
    for layer in &net.model.layers {
        if let qforge::nn::Layer::Dense { weights, .. } = layer {
            let mean = weights.iter().map(|&w| f64::from(w)).sum::<f64>() / weights.len() as f64;
            let scale = weights
                .iter()
                .map(|&w| f64::from(w).abs())
                .fold(0.0, f64::max);
            assert!(
                mean.abs() < 1e-6 * scale,
                "mean {mean}, largest |w| {scale}"
            );
        }
    }
    // Frozen INQ weights cannot follow the mean: the combination is refused.
    s.training.inq = vec![0.5, 1.0];
    let err = QatNet::new(&model(), &s, cal).err().unwrap().to_string();
    assert!(
        err.contains("weight_normalization cannot be combined with inq"),
        "{err}"
    );
}

#[test]
fn weight_normalisation_steps_weight_thresholds_in_units_of_the_weights_deviation() {
    // One update (the whole training split in one batch, constant rate): Adam's first step
    // moves every parameter with a gradient by its learning rate times |g| / (|g| + 1e-8)
    // (m̂ / √v̂ = ±1 but for Adam's ε), so a weight threshold moves by at most clipping_lr · σ
    // of its layer's weights, and by at most clipping_lr without normalisation; small
    // gradients move it less, but not by half.
    let (train, _) = data();
    let base = spec("quant_apot2_a4.ron");
    let cal = calibration(&base, &train);
    let clip_lr = 1e-3;
    for normalise in [false, true] {
        let mut s = base.clone();
        s.training.weight_normalization = normalise;
        s.training.batch_size = train.len();
        s.training.schedule = qforge::quant::training::LrSchedule::Constant;
        s.training.clipping_lr = Some(clip_lr as f32);
        let mut net = QatNet::new(&model(), &s, cal).unwrap();
        let before = net.thresholds().weights;
        train_qat(&mut net, &train, 1, 1, |_, _| Ok(())).unwrap();
        let after = net.thresholds().weights;
        let dense: Vec<&Vec<f32>> = net
            .model
            .layers
            .iter()
            .filter_map(|l| match l {
                qforge::nn::Layer::Dense { weights, .. } => Some(weights),
                _ => None,
            })
            .collect();
        let mut moved = 0;
        for (l, w) in dense.iter().enumerate() {
            let n = w.len() as f64;
            let mean = w.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
            let sd = (w
                .iter()
                .map(|&v| (f64::from(v) - mean).powi(2))
                .sum::<f64>()
                / n)
                .sqrt();
            // σ below 1/2: the two cases cannot be mistaken for each other
            assert!(sd < 0.5, "layer {l}: σ {sd}");
            let unit = if normalise { clip_lr * sd } else { clip_lr };
            let (b, a) = (before[l].as_ref().unwrap(), after[l].as_ref().unwrap());
            for (tb, ta) in b.iter().zip(a) {
                let step = (ta - tb).abs();
                if step > 0.0 {
                    moved += 1;
                    assert!(
                        step <= unit * (1.0 + 1e-9) && step > 0.5 * unit,
                        "layer {l}: step {step}, expected {unit} (normalised: {normalise})"
                    );
                }
            }
        }
        assert!(moved > 30, "{moved} thresholds moved");
    }
}
