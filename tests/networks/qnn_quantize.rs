//! Post-training quantization of the bundled digits MLP with the example specs in `models/`.

use qforge::nn::{self, Model};
use qforge::qnn::quantize::{quantize_model, QuantSpec};
use qforge::qnn::{exact, Engine, Layer, LayerOutput, WeightCode};
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn setup(spec: &str) -> (qforge::qnn::QNet, nn::Dataset, f64) {
    let model = Model::load(Path::new(ROOT).join("models/digits_mlp.ron")).unwrap();
    let (train, test) = nn::data::digits::train_test().unwrap();
    let spec = QuantSpec::load(&Path::new(ROOT).join("models").join(spec)).unwrap();
    let n = spec.calibration_samples.min(train.len());
    let net = quantize_model(&model, &spec, &train.inputs[..n * train.sample_size()]).unwrap();
    let float_acc = model.accuracy(&test.inputs, &test.labels).unwrap();
    (net, test, float_acc)
}

fn accuracy(net: &qforge::qnn::QNet, test: &nn::Dataset) -> f64 {
    let engine = Engine::new(net).unwrap();
    let pred = engine
        .classify(net, &net.quantize_inputs(&test.inputs))
        .unwrap();
    pred.iter()
        .zip(&test.labels)
        .filter(|(p, l)| **p == **l as usize)
        .count() as f64
        / test.len() as f64
}

#[test]
fn uniform8_is_within_one_point_of_float() {
    let (net, test, float_acc) = setup("quant_uniform8.ron");
    let acc = accuracy(&net, &test);
    assert!(
        acc >= float_acc - 0.01,
        "uniform8 {acc} vs float {float_acc}"
    );
    let Layer::Dense(d) = &net.layers[0] else {
        panic!()
    };
    assert_eq!(d.weights, WeightCode::Uniform { bits: 8 });
    assert!(
        d.accumulator.bits.is_some(),
        "the proven width is written into the model"
    );
    // the engine agrees with the step-by-step definition on the whole test set
    let codes = net.quantize_inputs(&test.inputs);
    let fast = Engine::new(&net).unwrap().infer(&codes).unwrap();
    for (s, x) in codes.chunks(64).enumerate() {
        let x: Vec<i64> = x.iter().map(|&v| v.into()).collect();
        let want: Vec<i64> = exact::infer_one(&net, &x)
            .into_iter()
            .map(|v| v as i64)
            .collect();
        assert_eq!(&fast[s * 10..(s + 1) * 10], &want[..]);
    }
}

#[test]
fn pot4_a4_and_uniform4_stay_useful() {
    for spec in ["quant_pot4_a4.ron", "quant_uniform4.ron"] {
        let (net, test, float_acc) = setup(spec);
        let acc = accuracy(&net, &test);
        assert!(
            acc >= float_acc - 0.06,
            "{spec}: {acc} vs float {float_acc}"
        );
        let Layer::Dense(d) = &net.layers[0] else {
            panic!()
        };
        let LayerOutput::Requant(r) = &d.output else {
            panic!()
        };
        assert_eq!(r.output.bits, 4);
        assert!(!r.output.signed && r.relu);
    }
    let (net, _, _) = setup("quant_pot4_a4.ron");
    assert!(matches!(&net.layers[0], Layer::Dense(d) if matches!(d.weights, WeightCode::Pot(_))));
    assert_eq!(net.weight_bits(), (64 * 32 + 32 * 10) * 4);
}

#[test]
fn quantized_models_round_trip_through_files() {
    let (net, _, _) = setup("quant_pot4_a4.ron");
    let text = net.to_ron_string();
    assert_eq!(
        qforge::qnn::QNet::from_ron_str(&text, "q.ron").unwrap(),
        net
    );
}

#[test]
fn a_small_cnn_quantizes_to_conv_and_pool_layers() {
    let (train, test) = nn::data::digits::train_test().unwrap();
    let shape = vec![1, 8, 8];
    let train = train.reshaped(shape.clone()).unwrap();
    let test = test.reshaped(shape.clone()).unwrap();
    let mut model = nn::Architecture::small_cnn(10, &shape)
        .build(&shape, 3)
        .unwrap();
    let config = nn::TrainConfig {
        epochs: 3,
        batch_size: 32,
        optimizer: nn::Optimizer::adam(0.003),
        seed: 3,
    };
    nn::train(&mut model, &train, &config, |_, _| {}).unwrap();
    let float_acc = model.accuracy(&test.inputs, &test.labels).unwrap();
    let spec = QuantSpec::load(&Path::new(ROOT).join("models/quant_uniform8.ron")).unwrap();
    let net = quantize_model(&model, &spec, &train.inputs[..256 * 64]).unwrap();
    let kinds: Vec<&str> = net
        .layers
        .iter()
        .map(|l| match l {
            Layer::Conv2d(_) => "conv",
            Layer::MaxPool2d(_) => "pool",
            Layer::Dense(_) => "dense",
            Layer::FixedDense(_) => "fixed",
        })
        .collect();
    assert_eq!(kinds, ["conv", "pool", "conv", "pool", "dense"]);
    let acc = accuracy(&net, &test);
    assert!(
        acc >= float_acc - 0.02,
        "cnn 8-bit {acc} vs float {float_acc}"
    );
    let codes = net.quantize_inputs(&test.inputs);
    let fast = Engine::new(&net).unwrap().infer(&codes).unwrap();
    for (s, x) in codes.chunks(64).enumerate().take(100) {
        let x: Vec<i64> = x.iter().map(|&v| v.into()).collect();
        let want: Vec<i64> = exact::infer_one(&net, &x)
            .into_iter()
            .map(|v| v as i64)
            .collect();
        assert_eq!(&fast[s * 10..(s + 1) * 10], &want[..]);
    }
}
