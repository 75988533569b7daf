//! Bipolar (±1) activations: the sign output of a layer by hand, in the fast engine, the
//! step-by-step reference and the file format; W1A1 quantization-aware training (untrained
//! export = post-training quantization, the fake-quantized forward equal to the integer network
//! code for code, training beating post-training quantization); specs and networks that use
//! bipolar codes where they do not fit, refused with one line naming the value and the rule.

use qforge::nn::{data::digits, Dataset, Model};
use qforge::num::rounding::RoundingMode;
use qforge::qat::{agreement, train_qat, QatNet};
use qforge::qnn::dense::SignOutput;
use qforge::qnn::eval::eval_integer;
use qforge::qnn::exact::infer_one;
use qforge::qnn::quantize::{quantize_model, QuantSpec};
use qforge::qnn::{
    Accumulator, Dense, Engine, InputQuant, IntFormat, Layer, LayerOutput, QNet, WeightCode,
};
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Layer 0: binary weights `[+1 −1 +1; −1 −1 +1]` (code 1 = +1), bias `[−2, 3]`, sign output,
/// on 4-bit unsigned inputs. Layer 1: binary weights `[+1 +1; +1 −1]`, bias `[0, 1]`, on the ±1
/// codes, raw accumulators.
fn tiny() -> QNet {
    QNet {
        name: "bipolar by hand".into(),
        input: InputQuant {
            format: IntFormat::new(4, false).unwrap(),
            scale: 1.0,
            rounding: RoundingMode::HalfEven,
            fixed: None,
        },
        layers: vec![
            Layer::Dense(Dense {
                in_features: 3,
                out_features: 2,
                weights: WeightCode::Binary,
                codes: vec![1, 0, 1, 0, 0, 1],
                bias: vec![-2, 3],
                accumulator: Accumulator::default(),
                output: LayerOutput::Sign(SignOutput { output_scale: 0.5 }),
                acc_scale: vec![1.0],
            }),
            Layer::Dense(Dense {
                in_features: 2,
                out_features: 2,
                weights: WeightCode::Binary,
                codes: vec![1, 1, 1, 0],
                bias: vec![0, 1],
                accumulator: Accumulator::default(),
                output: LayerOutput::Accumulator,
                acc_scale: vec![0.5],
            }),
        ],
    }
}

/// By hand, for x = [3 5 1], [4 1 0], [1 1 2]:
/// layer 0: −2+3−5+1 = −3 → −1, 3−3−5+1 = −4 → −1; −2+4−1 = 1 → +1, 3−4−1 = −2 → −1;
/// −2+1−1+2 = 0 → +1 (the tie), 3−1−1+2 = 3 → +1.
/// layer 1 on [−1 −1]: −2, 1+(−1)−(−1) = 1; on [+1 −1]: 0, 1+1+1 = 3; on [+1 +1]: 2, 1.
#[test]
fn a_sign_layer_by_hand() {
    let net = tiny();
    net.validate().unwrap();
    let x = [3, 5, 1, 4, 1, 0, 1, 1, 2];
    assert_eq!(
        Engine::new(&net).unwrap().infer(&x).unwrap(),
        vec![-2, 1, 0, 3, 2, 1]
    );
    let first = QNet {
        layers: net.layers[..1].to_vec(),
        ..net.clone()
    };
    let hidden: Vec<i128> = x
        .chunks(3)
        .flat_map(|s| infer_one(&first, &s.iter().map(|&v| i64::from(v)).collect::<Vec<_>>()))
        .collect();
    assert_eq!(hidden, vec![-1, -1, 1, -1, 1, 1]);
    // Proven widths: layer 0 acc0 ∈ −2 + [−15, 30], acc1 ∈ 3 + [−30, 15] → 6 bits; layer 1
    // on ±1 inputs: [−2, 2] and 1 + [−2, 2] → 3 bits.
    let bits: Vec<u32> = net.certificates().iter().map(|c| c.proven_bits).collect();
    assert_eq!(bits, vec![6, 3]);
    assert_eq!(net.layer_input_format(1), IntFormat::BIPOLAR);
}

#[test]
fn sign_outputs_are_written_and_read_back() {
    let net = tiny();
    let text = net.to_ron_string();
    let flat: String = text.split_whitespace().collect();
    assert!(flat.contains("output:sign((output_scale:0.5,))"), "{text}");
    assert_eq!(QNet::from_ron_str(&text, "t.ron").unwrap(), net);
}

#[test]
fn bipolar_codes_where_they_do_not_fit_are_refused() {
    let text = tiny().to_ron_string();
    let mut bad = tiny();
    bad.input.format = IntFormat::BIPOLAR;
    assert_eq!(
        bad.validate().unwrap_err().to_string(),
        "the input format cannot be bipolar: inputs are coded as integers"
    );
    let e = QNet::from_ron_str(
        &text.replace("output_scale: 0.5", "output_scale: -1.0"),
        "t.ron",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("t.ron:")
            && e.ends_with("sign output_scale (-1) must be positive and finite"),
        "{e}"
    );
    // The two's complement constructor still refuses a 1-bit signed format.
    assert!(IntFormat::new(1, true).is_err());
}

const SPEC: &str = "QuantSpec(
    weights: (scheme: binary, granularity: per_channel(axis: 0), clipping: min_max),
    activations: (bits: 1, bipolar: true, clipping: mse_optimal(steps: 100, low_fraction: 0.1)),
    input: (bits: 8, clipping: min_max),
    rounding: half_even,
    scale_bits: 16,
)";

fn spec_error(from: &str, to: &str) -> String {
    let text = SPEC.replacen(from, to, 1);
    assert_ne!(text, SPEC);
    QuantSpec::from_ron_str(&text, "q.ron")
        .unwrap_err()
        .to_string()
}

#[test]
fn bipolar_specs_that_break_a_rule_are_refused_at_the_value() {
    QuantSpec::from_ron_str(SPEC, "q.ron").unwrap();
    assert_eq!(
        spec_error("(bits: 1, bipolar", "(bits: 4, bipolar"),
        "q.ron:3:25: bipolar activations take 1 bit: bits (4) must be 1"
    );
    assert_eq!(
        spec_error("input: (bits: 8,", "input: (bits: 8, bipolar: true,"),
        "q.ron:4:31: the input cannot be bipolar: the first layer takes integer input codes (binary weights on them use the add/subtract PE)"
    );
    assert_eq!(
        spec_error("scale_bits: 16,", "scale_bits: 16, training: (activation_clipping: pact),"),
        "q.ron:6:53: activation_clipping pact learns a ReLU's clip, which bipolar activations do not have; use lsq or fixed"
    );
    // 1 bit without `bipolar` is still outside the two's complement widths.
    assert_eq!(
        spec_error("(bits: 1, bipolar: true,", "(bits: 1,"),
        "q.ron:3:25: activation bits (1) must be between 2 and 16"
    );
}

fn model() -> Model {
    Model::load(Path::new(ROOT).join("models/digits_mlp.ron")).unwrap()
}

fn spec() -> QuantSpec {
    QuantSpec::load(&Path::new(ROOT).join("models/qat_binary_a1.ron")).unwrap()
}

fn data() -> (Dataset, Dataset) {
    digits::train_test().unwrap()
}

fn calibration<'a>(spec: &QuantSpec, train: &'a Dataset) -> &'a [f32] {
    &train.inputs[..spec.calibration_samples.min(train.len()) * train.sample_size()]
}

/// Post-training quantization of the bundled model with the W1A1 spec: sign outputs on the
/// hidden layer, whose scale is the mean |pre-activation| raised to a power of two.
#[test]
fn the_w1a1_spec_quantizes_to_sign_layers() {
    let (train, _) = data();
    let s = spec();
    let n = quantize_model(&model(), &s, calibration(&s, &train)).unwrap();
    let Layer::Dense(d) = &n.layers[0] else {
        panic!("dense")
    };
    let LayerOutput::Sign(out) = d.output else {
        panic!("{:?}", d.output)
    };
    assert_eq!(out.output_scale, out.output_scale.log2().round().exp2());
    assert_eq!(n.layer_input_format(1), IntFormat::BIPOLAR);
    assert_eq!(n.name, "mlp_64-32-10 w:binary a:1");
}

#[test]
fn untrained_w1a1_exports_as_post_training_quantization() {
    let (train, _) = data();
    let s = spec();
    let cal = calibration(&s, &train);
    let ptq = quantize_model(&model(), &s, cal).unwrap();
    let qat = QatNet::new(&model(), &s, cal).unwrap().export(cal).unwrap();
    assert_eq!(qat, ptq);
}

/// The sign is an exact integer comparison in both, so every hidden code agrees, whatever the
/// scales (the binary weights' channel means are not powers of two).
#[test]
fn w1a1_fake_quantized_forward_equals_the_integer_network_on_every_code() {
    let (train, test) = data();
    let s = spec();
    let cal = calibration(&s, &train);
    let mut net = QatNet::new(&model(), &s, cal).unwrap();
    train_qat(&mut net, &train, 3, 5, |_, _| Ok(())).unwrap();
    let q = net.export(cal).unwrap();
    let a = agreement(&net, &q, &test).unwrap();
    assert_eq!(a.samples, 450);
    assert_eq!(a.codes, 450 * 32);
    assert_eq!(a.same_codes, a.codes, "{a:?}");
    assert_eq!(a.same_class, a.samples, "{a:?}");
    let golden = eval_integer(&q, &test, 1).unwrap().0.accuracy;
    assert_eq!(a.integer_accuracy, golden);
}

/// Ten epochs from the bundled float model, fixed seed: far above post-training quantization
/// (which replaces every ReLU by a sign) and above 0.85.
#[test]
fn w1a1_training_beats_post_training_quantization() {
    let (train, test) = data();
    let s = spec();
    let cal = calibration(&s, &train);
    let ptq = quantize_model(&model(), &s, cal).unwrap();
    let before = eval_integer(&ptq, &test, 1).unwrap().0.accuracy;
    let mut net = QatNet::new(&model(), &s, cal).unwrap();
    train_qat(&mut net, &train, 10, 1, |_, _| Ok(())).unwrap();
    let after = eval_integer(&net.export(cal).unwrap(), &test, 1)
        .unwrap()
        .0
        .accuracy;
    eprintln!("W1A1: PTQ {before:.4}, QAT {after:.4}");
    assert!(after > before && after > 0.85, "PTQ {before}, QAT {after}");
}
