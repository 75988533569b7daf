//! The hls4ml precision style against hls4ml 1.3.0's bit-accurate C simulation: all 450 × 10
//! logits of `tests/golden/hls4ml/{fixed16,fixed8_rnd_sat}` reproduced exactly, by the fast
//! engine and by the step-by-step path.
//!
//! hls4ml's `predict()` hands results back as float32, so the reference files hold the exact
//! decimal of each `result_t` value *after* rounding to float32 (24-bit significand). For
//! `fixed8_rnd_sat` (`result_t` = ap_fixed<16,6>) every value fits float32, so the raw codes
//! must match exactly. For `fixed16` (`result_t` = ap_fixed<38,18>) logits of 25+ significant
//! bits were rounded by that conversion: there the exact raw code must match wherever it fits
//! 24 bits, and its float32 rounding must match everywhere.

use qforge::qnn::{exact, hls4ml, Engine, Layer};
use std::path::Path;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");

fn rows(path: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(format!("{GOLDEN}/{path}"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').map(|s| s.trim().to_string()).collect())
        .collect()
}

/// An exact decimal `d` as a raw code with `frac` fractional bits: d · 2^frac must be an integer
/// (the files hold exact dyadic decimals of at most 38 significant bits, so f64 parsing is exact).
fn raw_of(d: &str, frac: i32) -> i64 {
    let v: f64 = d.parse().unwrap();
    let r = v * (frac as f64).exp2();
    assert_eq!(r.fract(), 0.0, "{d} is not on the 2^-{frac} grid");
    r as i64
}

/// Returns (exact raw matches, float32-rounded matches, values needing more than 24 bits).
fn check(config: &str) -> (usize, usize, usize) {
    let net = hls4ml::load_dir(&Path::new(GOLDEN).join("hls4ml").join(config)).unwrap();
    assert_eq!(net.layers.len(), 2);
    let Layer::FixedDense(last) = &net.layers[1] else {
        panic!("fixed layers expected")
    };
    let frac = last.result.frac_bits();
    let x: Vec<f32> = rows("digits_split/test_x.tsv")
        .iter()
        .flatten()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(x.len(), 450 * 64);
    let expected: Vec<i64> = rows(&format!("hls4ml/{config}/expected_logits_test.tsv"))
        .iter()
        .flatten()
        .map(|s| raw_of(s, frac))
        .collect();
    assert_eq!(expected.len(), 4500);
    let codes = net.quantize_inputs(&x);
    let got = Engine::new(&net).unwrap().infer(&codes).unwrap();
    assert_eq!(got.len(), 4500);
    let fits_f32 = |v: i64| v.unsigned_abs() >> v.unsigned_abs().trailing_zeros().min(63) < 1 << 24;
    let exact_matches = got.iter().zip(&expected).filter(|(a, b)| a == b).count();
    let wide = got.iter().filter(|&&v| !fits_f32(v)).count();
    for (k, (&a, &b)) in got.iter().zip(&expected).enumerate() {
        if fits_f32(a) {
            assert_eq!(
                a,
                b,
                "{config}: logit {k} (sample {}, output {})",
                k / 10,
                k % 10
            );
        }
        // raw → f32 rounds to nearest, ties to even, exactly as the C++ float conversion
        assert_eq!(
            a as f32 as f64, b as f64,
            "{config}: logit {k} after float32 rounding"
        );
    }
    let step: Vec<i64> = codes
        .chunks(64)
        .flat_map(|s| {
            let s: Vec<i64> = s.iter().map(|&v| v.into()).collect();
            exact::infer_one(&net, &s).into_iter().map(|v| v as i64)
        })
        .collect();
    assert_eq!(step, got, "{config}: step-by-step path");
    // and the dequantized logits print as the same exact decimals
    assert_eq!(
        net.dequantize_output(0, got[0]),
        got[0] as f64 * (-frac as f64).exp2()
    );
    (exact_matches, 4500, wide)
}

#[test]
fn fixed16_reproduces_all_4500_logits() {
    let (exact, rounded, wide) = check("fixed16");
    assert_eq!(rounded, 4500);
    // every logit that float32 can hold matches bit for bit; the others only after rounding
    assert!(exact >= 4500 - wide, "exact {exact}, wide {wide}");
    eprintln!("fixed16: {exact} of 4500 raw codes equal; {wide} need more than float32's 24 bits");
}

#[test]
fn fixed8_rnd_sat_reproduces_all_4500_logits() {
    assert_eq!(check("fixed8_rnd_sat"), (4500, 4500, 0));
}

#[test]
fn fixed8_types_are_read_from_defines() {
    let net = hls4ml::load_dir(&Path::new(GOLDEN).join("hls4ml/fixed8_rnd_sat")).unwrap();
    let Layer::FixedDense(fc1) = &net.layers[0] else {
        panic!()
    };
    assert_eq!(fc1.result.to_string(), "ap_fixed<10,4,AP_RND,AP_SAT>");
    assert_eq!(
        fc1.relu.unwrap().to_string(),
        "ap_ufixed<8,3,AP_RND,AP_SAT>"
    );
    assert_eq!(fc1.weight.to_string(), "ap_fixed<8,2,AP_RND_CONV,AP_SAT>");
    assert_eq!(net.input.fixed.unwrap().to_string(), "ap_ufixed<8,1>");
}
