//! Every case of `tests/golden/qonnx_intquant.tsv` (qonnx 1.0.0 reference outputs) must match the
//! exact `IntQuant` bit for bit.

use qforge::num::rounding::RoundingMode;
use qforge::quant::intquant::IntQuant;

fn parse_bool(s: &str) -> bool {
    match s {
        "1" => true,
        "0" => false,
        other => panic!("bad boolean {other}"),
    }
}

#[test]
fn all_3500_cases_match_qonnx() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/qonnx_intquant.tsv"
    ))
    .expect("golden file");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("bitwidth\tsigned\tnarrow\trounding_mode\tscale\tzeropt\tinput\texpected")
    );
    let mut count = 0;
    let mut mismatches = Vec::new();
    for (i, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        count += 1;
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 8, "line {}: {line}", i + 2);
        let q = IntQuant::new(
            f[0].parse().unwrap(),
            parse_bool(f[1]),
            parse_bool(f[2]),
            RoundingMode::from_qonnx(f[3]).unwrap(),
            f[4].parse().unwrap(),
            f[5].parse().unwrap(),
        )
        .unwrap();
        let input: f64 = f[6].parse().unwrap();
        let expected: f64 = f[7].parse().unwrap();
        let got = q.quantize(input).unwrap();
        // The expected decimal is exact, so equality of the f64s is equality of the values,
        // and the exact value must print back as the same number.
        if got.value.to_f64_exact() != Some(expected) {
            mismatches.push(format!(
                "line {}: {line}\n    got code {} value {}",
                i + 2,
                got.code,
                got.value
            ));
        }
    }
    assert_eq!(count, 3500);
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
