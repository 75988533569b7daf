//! Area-model fitting: known coefficients are recovered from synthetic samples (exactly, and
//! closely under small noise), the non-negativity constraint holds, the coefficients file
//! round-trips, and the error reports (fitted model and FINN-R) are computed as documented.

use qforge::explore::area_model::{
    default_feature_sets, finn_r_luts, finn_r_report, model_report, AreaModel, AreaSample,
    FinnRParams, Resource, COEFFICIENTS_VERSION,
};
use qforge::explore::fit::{least_squares, nonnegative_least_squares};

/// Deterministic noise in [-1, 1).
fn noise(k: &mut u64) -> f64 {
    *k = k
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*k >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

/// Synthetic samples from known coefficients: mac LUT = 4.25·aw + 1.5·(a+w) + 0.75·acc + 12,
/// FF = acc + 2, carry = 0.5·(a+w) + acc; pot LUT = 3.6·a·e + 1.2·acc + 5, FF = acc,
/// carry = acc + 1. `eps` scales relative noise.
fn samples(eps: f64) -> Vec<AreaSample> {
    let mut k = 7u64;
    let mut out = Vec::new();
    for a in [2.0, 3.0, 4.0, 6.0, 8.0] {
        for w in [2.0, 4.0, 5.0, 8.0] {
            for acc in [12.0, 16.0, 24.0] {
                let luts = 4.25 * a * w + 1.5 * (a + w) + 0.75 * acc + 12.0;
                let ffs = acc + 2.0;
                let carries = 0.5 * (a + w) + acc;
                let mut n = |v: f64| v * (1.0 + eps * noise(&mut k));
                let params = [
                    ("a_bits", a),
                    ("w_bits", w),
                    ("acc_bits", acc),
                    ("pe", 1.0),
                    ("simd", 1.0),
                ];
                out.push(AreaSample::new("mac", &params, n(luts), n(ffs), n(carries)));
            }
        }
        for e in [1.0, 2.0, 3.0, 4.0] {
            for acc in [12.0, 20.0] {
                let luts = 3.6 * a * e + 1.2 * acc + 5.0;
                let mut n = |v: f64| v * (1.0 + eps * noise(&mut k));
                let params = [
                    ("a_bits", a),
                    ("exp_bits", e),
                    ("acc_bits", acc),
                    ("w_bits", e + 1.0),
                    ("pe", 1.0),
                    ("simd", 1.0),
                ];
                out.push(AreaSample::new(
                    "pot",
                    &params,
                    n(luts),
                    n(acc),
                    n(acc + 1.0),
                ));
            }
        }
    }
    out
}

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= tol * w.abs().max(1.0),
            "{what}: got {got:?}, want {want:?}"
        );
    }
}

#[test]
fn recovers_known_coefficients_exactly_without_noise() {
    let model = AreaModel::fit(&default_feature_sets(), &samples(0.0), "synthetic").unwrap();
    let mac = &model.kinds["mac"];
    assert_close(&mac.luts, &[4.25, 1.5, 0.75, 12.0], 1e-8, "mac luts");
    assert_close(&mac.ffs, &[0.0, 0.0, 1.0, 2.0], 1e-8, "mac ffs");
    assert_close(&mac.carries, &[0.0, 0.5, 1.0, 0.0], 1e-8, "mac carries");
    let pot = &model.kinds["pot"];
    assert_close(&pot.luts, &[3.6, 1.2, 5.0], 1e-8, "pot luts");
    assert_close(&pot.carries, &[0.0, 1.0, 1.0], 1e-8, "pot carries");
    assert_eq!(mac.samples, 60);
    assert!(
        !model.kinds.contains_key("xnor"),
        "kinds without samples are left out"
    );
    let report = model_report(&model, &samples(0.0)).unwrap();
    assert!(
        report.lines.iter().all(|l| l.worst_relative < 1e-9),
        "{report}"
    );
}

#[test]
fn recovers_known_coefficients_closely_under_small_noise() {
    let model = AreaModel::fit(&default_feature_sets(), &samples(0.01), "synthetic").unwrap();
    assert_close(
        &model.kinds["mac"].luts,
        &[4.25, 1.5, 0.75, 12.0],
        0.25,
        "mac luts",
    );
    assert_close(&model.kinds["pot"].luts, &[3.6, 1.2, 5.0], 0.25, "pot luts");
    let report = model_report(&model, &samples(0.01)).unwrap();
    let mac_luts = report
        .lines
        .iter()
        .find(|l| l.kind == "mac" && l.resource == Resource::Luts)
        .unwrap();
    assert!(
        mac_luts.median_relative < 0.01 && mac_luts.worst_relative < 0.03,
        "{report}"
    );
    assert!(mac_luts.worst_relative > 0.0);
}

#[test]
fn least_squares_matches_a_hand_solved_overdetermined_system() {
    // Points (0,0), (1,1), (2,1): best line y = 0.5x + 1/6.
    let a = vec![vec![0.0, 1.0], vec![1.0, 1.0], vec![2.0, 1.0]];
    let x = least_squares(&a, &[0.0, 1.0, 1.0]).unwrap();
    assert_close(&x, &[0.5, 1.0 / 6.0], 1e-12, "line");
}

#[test]
fn least_squares_rejects_underdetermined_and_dependent_features() {
    let a = vec![vec![1.0, 2.0, 3.0]];
    assert!(least_squares(&a, &[1.0])
        .unwrap_err()
        .to_string()
        .contains("need at least 3"));
    let a = vec![vec![1.0, 2.0], vec![2.0, 4.0], vec![3.0, 6.0]];
    let err = least_squares(&a, &[1.0, 2.0, 3.0]).unwrap_err().to_string();
    assert!(err.contains("linear combination"), "{err}");
}

#[test]
fn nonnegative_fit_clips_what_plain_least_squares_makes_negative() {
    // y = 3x − 2 on x in 1..5: plain least squares gives a negative intercept.
    let a: Vec<Vec<f64>> = (1..=5).map(|x| vec![f64::from(x), 1.0]).collect();
    let b: Vec<f64> = (1..=5).map(|x| 3.0 * f64::from(x) - 2.0).collect();
    let plain = least_squares(&a, &b).unwrap();
    assert!(plain[1] < -1.9);
    let nn = nonnegative_least_squares(&a, &b).unwrap();
    assert!(nn.iter().all(|&c| c >= 0.0), "{nn:?}");
    assert_eq!(nn[1], 0.0);
    // With the intercept at 0, the slope is the least-squares slope through the origin.
    let slope = a.iter().zip(&b).map(|(r, y)| r[0] * y).sum::<f64>()
        / a.iter().map(|r| r[0] * r[0]).sum::<f64>();
    assert!((nn[0] - slope).abs() < 1e-9, "{nn:?} vs {slope}");
}

#[test]
fn coefficients_file_round_trips_and_checks_its_version() {
    let model = AreaModel::fit(&default_feature_sets(), &samples(0.0), "synthetic").unwrap();
    let text = model.to_ron();
    assert!(text.contains(&format!("version: {COEFFICIENTS_VERSION}")));
    assert!(
        text.contains("product(param(\"a_bits\"), param(\"w_bits\"))"),
        "{text}"
    );
    let back = AreaModel::from_ron(&text, "c.ron").unwrap();
    assert_eq!(back, model);
    let newer = text.replacen(
        &format!("version: {COEFFICIENTS_VERSION}"),
        "version: 99",
        1,
    );
    assert!(AreaModel::from_ron(&newer, "c.ron")
        .unwrap_err()
        .to_string()
        .contains("version 99"));
    let err = AreaModel::from_ron("(version: 1,", "c.ron")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("c.ron:1:"), "{err}");
}

#[test]
fn prediction_needs_a_known_kind_and_every_parameter() {
    let model = AreaModel::fit(&default_feature_sets(), &samples(0.0), "synthetic").unwrap();
    let mut params = std::collections::BTreeMap::new();
    params.insert("a_bits".to_string(), 8.0);
    params.insert("w_bits".to_string(), 8.0);
    let err = model.predict("mac", &params).unwrap_err().to_string();
    assert!(err.contains("acc_bits"), "{err}");
    params.insert("acc_bits".to_string(), 24.0);
    let cost = model.predict("mac", &params).unwrap();
    assert!((cost.luts - (4.25 * 64.0 + 1.5 * 16.0 + 0.75 * 24.0 + 12.0)).abs() < 1e-6);
    assert!(model.predict("systolic", &params).is_err());
    let stray = vec![AreaSample::new("systolic", &[], 1.0, 1.0, 1.0)];
    assert!(AreaModel::fit(&default_feature_sets(), &stray, "x").is_err());
}

#[test]
fn finn_r_estimate_follows_the_published_formula() {
    // P = 2, Q = 4, W = 4, A = 4, acc 16: W+A = 8, ceil(8/6) = 2, multipliers 4·3·8 = 96,
    // adder tree 8·7 = 56, so 300 + 1.1·2·(96 + 56 + 16) = 669.6.
    let p = FinnRParams {
        pe: 2.0,
        simd: 4.0,
        w_bits: 4.0,
        a_bits: 4.0,
        acc_bits: 16.0,
    };
    assert!((finn_r_luts(p) - 669.6).abs() < 1e-9);
    let report = finn_r_report(&samples(0.0)).unwrap();
    assert_eq!(report.lines.len(), 2, "LUT lines for mac and pot only");
    assert!(report.lines.iter().all(|l| l.resource == Resource::Luts));
    // The 300-LUT overhead dominates single lanes: FINN-R overestimates them badly, which is
    // what the fitted model is for.
    assert!(
        report.lines.iter().all(|l| l.median_relative > 0.5),
        "{report}"
    );
    let text = report.to_string();
    assert!(text.contains("FINN-R") && text.contains("median"));
    let missing = vec![AreaSample::new("mac", &[("a_bits", 8.0)], 1.0, 1.0, 1.0)];
    assert!(finn_r_report(&missing)
        .unwrap_err()
        .to_string()
        .contains("pe"));
}
