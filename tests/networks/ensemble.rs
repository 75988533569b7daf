//! Ensembles of integer networks (`qnn::ensemble`): a network combined with itself classifies
//! as the network; summed scaled logits pick the class of the summed real logits; members that
//! read different input codes are refused.

use qforge::nn::{self, Model};
use qforge::qnn::ensemble::{Combine, Ensemble};
use qforge::qnn::quantize::{quantize_model, QuantSpec};
use qforge::qnn::{Engine, QNet};
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn quantized(spec_text: &str) -> (QNet, nn::Dataset) {
    let model = Model::load(Path::new(ROOT).join("models/digits_mlp.ron")).unwrap();
    let (train, test) = nn::data::digits::train_test().unwrap();
    let spec = QuantSpec::from_ron_str(spec_text, "spec.ron").unwrap();
    let n = spec.calibration_samples.min(train.len());
    let net = quantize_model(&model, &spec, &train.inputs[..n * train.sample_size()]).unwrap();
    (net, test)
}

fn uniform4() -> String {
    std::fs::read_to_string(Path::new(ROOT).join("models/quant_uniform4.ron")).unwrap()
}

fn outputs(net: &QNet, test: &nn::Dataset) -> Vec<i64> {
    Engine::new(net)
        .unwrap()
        .infer(&net.quantize_inputs(&test.inputs))
        .unwrap()
}

#[test]
fn a_network_combined_with_itself_classifies_as_the_network() {
    let (net, test) = quantized(&uniform4());
    let out = outputs(&net, &test);
    let ensemble = Ensemble::new(vec![net.clone(), net.clone(), net.clone()], 31).unwrap();
    let c = net.out_features();
    for (i, o) in out.chunks_exact(c).enumerate() {
        let rows = [o, o, o];
        for combine in [Combine::Vote, Combine::Sum] {
            assert_eq!(
                ensemble.class_of(&rows, combine),
                net.class_of(o),
                "image {i}, {}",
                combine.name()
            );
        }
    }
}

#[test]
fn summed_scaled_logits_pick_the_class_of_the_summed_real_logits() {
    let (a, test) = quantized(&uniform4());
    let (b, _) = quantized(&uniform4().replace("bits: 4, signed", "bits: 3, signed"));
    let (oa, ob) = (outputs(&a, &test), outputs(&b, &test));
    let c = a.out_features();
    let ensemble = Ensemble::new(vec![a.clone(), b.clone()], 24).unwrap();
    // The per-class scales differ, so raw codes would not do: the constants are not all equal.
    assert!(ensemble.constants()[0]
        .iter()
        .any(|&k| k != ensemble.constants()[0][0]));
    let mut compared = 0;
    for i in 0..test.labels.len() {
        let (ra, rb) = (&oa[i * c..(i + 1) * c], &ob[i * c..(i + 1) * c]);
        let real: Vec<f64> = (0..c)
            .map(|j| a.dequantize_output(j, ra[j]) + b.dequantize_output(j, rb[j]))
            .collect();
        let mut sorted = real.clone();
        sorted.sort_by(|x, y| y.total_cmp(x));
        // Classes closer than the multipliers' rounding are not a test of the rule.
        if sorted[0] - sorted[1] <= 1e-5 * sorted[0].abs().max(1.0) {
            continue;
        }
        let best = (0..c).fold(0, |k, j| if real[j] > real[k] { j } else { k });
        assert_eq!(
            ensemble.class_of(&[ra, rb], Combine::Sum),
            best,
            "image {i}"
        );
        compared += 1;
    }
    assert!(compared >= 445, "{compared}");
}

#[test]
fn members_that_read_other_input_codes_are_refused() {
    let (a, _) = quantized(&uniform4());
    let (b, _) = quantized(&uniform4().replace("input: (bits: 8,", "input: (bits: 6,"));
    let e = Ensemble::new(vec![a.clone(), b], 16)
        .unwrap_err()
        .to_string();
    assert!(e.contains("members must read the same input codes"), "{e}");
    let e = Ensemble::new(vec![a], 16).unwrap_err().to_string();
    assert!(e.contains("at least 2 members"), "{e}");
}
