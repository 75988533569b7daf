//! `qforge search` as a user runs it on the bundled digits MLP: an unlimited budget gets the
//! widest widths; under a real budget the chosen per-layer widths fit it as `qforge sweep`
//! measures them (a separate run from a sweep file), `qforge train --qat` rebuilds the same
//! network from the written spec, byte for byte; bad budgets and flags are refused in one line,
//! and a folder qforge did not make is left alone.

use crate::common::{qforge, Run};
use qforge::explore::results::parse_csv_line;
use std::collections::HashMap;
use std::path::Path;

/// The rows of a CSV file with a header, as column → cell maps.
fn csv_rows(path: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = parse_csv_line(lines.next().unwrap()).unwrap();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(parse_csv_line(l).unwrap())
                .collect()
        })
        .collect()
}

const SEARCH: [&str; 9] = [
    "search",
    "--model",
    "models/digits_mlp.ron",
    "--bits",
    "2,4,8",
    "--folding",
    "fully_folded",
    "--act-bits",
    "4",
];

fn run_search(budget: &str, out: &Path) -> Run {
    let mut args: Vec<&str> = SEARCH.to_vec();
    let out = out.to_str().unwrap();
    args.extend([
        "--training",
        "qat(epochs: 3)",
        "--budget",
        budget,
        "-o",
        out,
    ]);
    qforge(&args)
}

fn luts_of(rows: &[HashMap<String, String>], role: &str, bits: &str) -> u64 {
    rows.iter()
        .find(|r| r["role"] == role && r["layer_bits"] == bits)
        .unwrap_or_else(|| panic!("no {role} row with widths {bits}"))["luts"]
        .parse()
        .unwrap()
}

#[test]
fn the_chosen_widths_fit_the_budget_as_a_sweep_measures_them_and_train_qat_rebuilds_the_net() {
    let dir = scratch!("search_budget");
    let wide = dir.join("wide");
    let r = run_search("luts=1000000000", &wide);
    assert!(r.ok, "{}", r.err);
    let rows = csv_rows(&wide.join("search.csv"));
    let chosen: Vec<_> = rows.iter().filter(|r| r["role"] == "chosen").collect();
    assert_eq!(chosen.len(), 1);
    assert_eq!(chosen[0]["layer_bits"], "8 8", "{}", r.out);

    // A budget halfway between the narrowest and the widest uniform design.
    let (low, high) = (
        luts_of(&rows, "uniform", "2 2"),
        luts_of(&rows, "uniform", "8 8"),
    );
    assert!(low < high);
    let limit = (low + high) / 2;
    let out = dir.join("mid");
    let r = run_search(&format!("luts={limit}"), &out);
    assert!(r.ok, "{}", r.err);
    assert!(r.out.contains("chosen: uniform ["), "{}", r.out);
    let rows = csv_rows(&out.join("search.csv"));
    let chosen = rows.iter().find(|r| r["role"] == "chosen").unwrap();
    let luts: u64 = chosen["luts"].parse().unwrap();
    assert!(luts <= limit, "{luts} > {limit}");
    assert_eq!(chosen["within_budget"], "true");
    let bits: Vec<u32> = chosen["layer_bits"]
        .split(' ')
        .map(|b| b.parse().unwrap())
        .collect();
    assert_ne!(bits, vec![8, 8]);

    // The area recomputed by a sweep of that one configuration.
    let widest = *bits.iter().max().unwrap();
    let overrides: Vec<String> = bits
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b != widest)
        .map(|(l, b)| format!("(layer: {l}, weight_bits: {b})"))
        .collect();
    let model = Path::new(crate::common::ROOT).join("models/digits_mlp.ron");
    let sweep = dir.join("one.ron");
    std::fs::write(
        &sweep,
        format!(
            "(name: \"one\", model: \"{}\", axes: (weight_scheme: [uniform], weight_bits: [{widest}], \
             activation_bits: [4], layer_overrides: [[{}]], training: [qat(epochs: 3)], \
             calibration: [mse], scale_bits: [16], accumulator: [proven], folding: [fully_folded], \
             fpga: [ice40]))",
            model.display(),
            overrides.join(", ")
        ),
    )
    .unwrap();
    let swept = dir.join("swept");
    let r = qforge(&[
        "sweep",
        sweep.to_str().unwrap(),
        "--coefficients",
        "models",
        "-o",
        swept.to_str().unwrap(),
    ]);
    assert!(r.ok, "{}", r.err);
    let results = csv_rows(&swept.join("results.csv"));
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["luts"].parse::<u64>().unwrap(), luts);
    assert_eq!(results[0]["accuracy"], chosen["accuracy"]);

    // The written spec trains the same network.
    let net = dir.join("net.ron");
    let r = qforge(&[
        "train",
        "--qat",
        out.join("spec.ron").to_str().unwrap(),
        "--init",
        "models/digits_mlp.ron",
        "--epochs",
        "3",
        "--seed",
        "1",
        "-o",
        net.to_str().unwrap(),
    ]);
    assert!(r.ok, "{}", r.err);
    let (rebuilt, written) = (
        std::fs::read(&net).unwrap(),
        std::fs::read(out.join("net.ron")).unwrap(),
    );
    assert!(
        rebuilt == written,
        "{} differs from the search's net.ron",
        net.display()
    );
    // The sweep files the search wrote measure every configuration again, to the same figures.
    let mut swept = Vec::new();
    for kind in ["mixed", "uniform"] {
        let again = dir.join(format!("again_{kind}"));
        let file = out.join(format!("sweep_uniform_{kind}.ron"));
        let r = qforge(&[
            "sweep",
            file.to_str().unwrap(),
            "-o",
            again.to_str().unwrap(),
        ]);
        assert!(r.ok, "{}", r.err);
        swept.extend(csv_rows(&again.join("results.csv")));
    }
    let measured: Vec<_> = rows
        .iter()
        .filter(|r| matches!(r["role"].as_str(), "front" | "uniform" | "chosen"))
        .collect();
    assert!(measured.len() >= 4);
    for row in measured {
        let bits: Vec<&str> = row["layer_bits"].split(' ').collect();
        let same = if bits.iter().all(|&b| b == bits[0]) {
            swept
                .iter()
                .find(|s| s["weight_bits"] == bits[0] && s["layer_overrides"].is_empty())
        } else {
            let overrides: Vec<String> = bits
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b != "8")
                .map(|(l, b)| format!("L{l}:W{b}"))
                .collect();
            swept
                .iter()
                .find(|s| s["weight_bits"] == "8" && s["layer_overrides"] == overrides.join(" "))
        }
        .unwrap_or_else(|| panic!("no swept point for {}", row["layer_bits"]));
        assert_eq!(
            (&same["accuracy"], &same["luts"]),
            (&row["accuracy"], &row["luts"]),
            "widths {}",
            row["layer_bits"]
        );
    }
    let summary = std::fs::read_to_string(out.join("summary.txt")).unwrap();
    assert!(summary.contains("qforge train --qat"), "{summary}");
}

#[test]
fn bad_budgets_and_flags_are_refused_in_one_line() {
    let dir = scratch!("search_refusals");
    let out = dir.join("out");
    for (budget, extra, expect) in [
        ("area=5", vec![], "`area` is not a budgeted figure"),
        ("luts", vec![], "must be METRIC=N"),
        (
            "luts=10",
            vec![],
            "no configuration fits luts <= 10: the smallest is uniform W[2, 2]",
        ),
        (
            "luts=1000",
            vec!["--schemes", "uniform,octal"],
            "`octal` is not a weight scheme",
        ),
        (
            "luts=1000",
            vec!["--training", "qat(epochs: 0)"],
            "epochs (0) must be at least 1",
        ),
        ("luts=1000", vec!["--fpga", "virtex"], "--fpga `virtex`"),
    ] {
        let mut args: Vec<&str> = SEARCH.to_vec();
        args.extend(["--budget", budget]);
        args.extend(extra.iter().copied());
        args.extend(["-o", out.to_str().unwrap()]);
        let r = qforge(&args);
        assert_eq!(r.code, 2, "{budget} {extra:?}: {}", r.out);
        assert_eq!(r.err.lines().count(), 1, "{}", r.err);
        assert!(r.err.contains(expect), "{budget} {extra:?}: {}", r.err);
        assert!(!out.exists(), "nothing written for a refused run");
    }
}

#[test]
fn a_folder_qforge_did_not_make_is_left_alone() {
    let dir = scratch!("search_not_ours");
    let out = dir.join("mine");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let r = run_search("luts=1000000000", &out);
    assert_eq!(r.code, 2);
    assert!(r.err.contains("qforge did not create"), "{}", r.err);
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
}
