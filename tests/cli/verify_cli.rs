//! `qforge verify` and `qforge synth` end to end on a design folder built here from the
//! hand-written registered adder in `tests/hw/add8_reg/`. Needs Verilator, Yosys and nextpnr-ice40.

use crate::common::{qforge, verilator_cache, Run, ROOT};
use qforge::verify::manifest::{DesignKind, Manifest};
use qforge::verify::vectors::{Bits, Cycle, VectorSet};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const CYCLES: usize = 200;

/// Writes DIR with rtl/, vectors/ and qforge.json; `wrong_at` plants a wrong expected value.
fn design_dir(name: &str, wrong_at: Option<usize>) -> PathBuf {
    let dir = scratch!(name);
    std::fs::create_dir_all(dir.join("rtl")).unwrap();
    std::fs::create_dir_all(dir.join("vectors")).unwrap();
    let hw = Path::new(ROOT).join("tests/hw/add8_reg");
    for f in ["add8_reg.v", "qf_tb_dut.v"] {
        std::fs::copy(hw.join(f), dir.join("rtl").join(f)).unwrap();
    }
    // tb_in = {rst, b, a}; the output during cycle t is the sum registered at the end of t-1.
    let mut set = VectorSet::new(17, 9);
    let mut reg: Option<i64> = None;
    for t in 0..CYCLES {
        let rst = t == 0;
        let a = (t as i64 * 37 % 256) - 128;
        let b = 127 - (t as i64 * 91 % 256);
        let mut input = Bits::zero(17);
        input.set_field(0, 8, a.into()).unwrap();
        input.set_field(8, 8, b.into()).unwrap();
        input.set_field(16, 1, rst.into()).unwrap();
        let expect = reg.map(|v| {
            let v = if wrong_at == Some(t) { v + 1 } else { v };
            let mut e = Bits::zero(9);
            e.set_field(0, 9, v.into()).unwrap();
            e
        });
        set.push(Cycle { input, expect }).unwrap();
        reg = Some(if rst { 0 } else { a + b });
    }
    set.write(
        &dir.join("vectors/stimulus.hex"),
        &dir.join("vectors/expected.hex"),
    )
    .unwrap();
    Manifest {
        kind: DesignKind::Pe,
        top: "add8_reg".into(),
        sources: vec!["rtl/add8_reg.v".into(), "rtl/qf_tb_dut.v".into()],
        wrapper: "rtl/qf_tb_dut.v".into(),
        in_width: 17,
        out_width: 9,
        cycles: CYCLES as u64,
        stimulus: "vectors/stimulus.hex".into(),
        expected: "vectors/expected.hex".into(),
        parameters: BTreeMap::from([("width".to_string(), "8".to_string())]),
    }
    .save(&dir)
    .unwrap();
    dir
}

fn last_json(out: &Run) -> serde_json::Value {
    let stdout = &out.out;
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("last line is not JSON ({e}): {stdout}\nstderr: {}", out.err))
}

fn cache() -> String {
    verilator_cache().display().to_string()
}

#[test]
fn verify_passes_a_correct_design() {
    let dir = design_dir("cli_verify_ok", None);
    let out = qforge(&[
        "verify",
        dir.to_str().unwrap(),
        "--json",
        "--cache-dir",
        &cache(),
    ]);
    let json = last_json(&out);
    assert!(out.ok, "{json}");
    assert_eq!(json["vectors"], CYCLES);
    assert_eq!(json["cycles"], CYCLES);
    assert_eq!(json["checked"], CYCLES - 1);
    assert_eq!(json["mismatches"], 0);
    assert_eq!(json["lint_warnings"], 0);
}

#[test]
fn verify_fails_on_a_wrong_vector_naming_the_cycle() {
    let dir = design_dir("cli_verify_bad", Some(77));
    let out = qforge(&[
        "verify",
        dir.to_str().unwrap(),
        "--json",
        "--cache-dir",
        &cache(),
    ]);
    let json = last_json(&out);
    assert!(!out.ok);
    assert_eq!(json["mismatches"], 1);
    assert_eq!(json["failure"]["cycle"], 77);
    // Every cycle but the first (no registered sum yet) is checked: 76 of them before cycle 77.
    assert_eq!(json["checked"], 76);
    let stderr = &out.err;
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("mismatch at cycle 77"), "{stderr}");
}

#[test]
fn verify_fails_on_lint_warnings_even_when_the_replay_passes() {
    let dir = design_dir("cli_verify_lint", None);
    // Behaviour unchanged, but a 9-bit constant now drives an 8-bit wire: a WIDTH warning.
    let rtl = dir.join("rtl/add8_reg.v");
    let text = std::fs::read_to_string(&rtl).unwrap().replace(
        "  always @(posedge clk)",
        "  wire [7:0] unused_narrow = 9'd0;\n  always @(posedge clk)",
    );
    assert!(text.contains("unused_narrow"));
    std::fs::write(&rtl, text).unwrap();
    let out = qforge(&[
        "verify",
        dir.to_str().unwrap(),
        "--json",
        "--cache-dir",
        &cache(),
    ]);
    let json = last_json(&out);
    assert!(!out.ok);
    assert_eq!(json["mismatches"], 0, "{json}");
    assert!(json["lint_warnings"].as_u64().unwrap() >= 1, "{json}");
    let stderr = &out.err;
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("lint found"), "{stderr}");
}

#[test]
fn synth_reports_ice40_counts_as_json() {
    let dir = design_dir("cli_synth", None);
    let out = qforge(&[
        "synth",
        dir.to_str().unwrap(),
        "--target",
        "ice40",
        "--json",
    ]);
    let json = last_json(&out);
    assert!(out.ok, "{json} {}", out.err);
    assert_eq!(json["ffs"], 9);
    assert!(json["luts"].as_u64().unwrap() >= 8, "{json}");
    assert_eq!(json["dsps"], 0);
    // Bare, the adder has only an output register and no register-to-register path; inside the
    // registered harness its input-to-register path is timed, so it gets an Fmax.
    let mhz = json["fmax_mhz"]
        .as_f64()
        .unwrap_or_else(|| panic!("{json}"));
    assert!(mhz > 50.0 && mhz < 1000.0, "{json}");
    assert_eq!(json["fmax_method"], "registered_harness", "{json}");
}

#[test]
fn manifest_errors_name_file_line_and_column() {
    let dir = scratch!("cli_bad_manifest");
    std::fs::write(
        dir.join("qforge.json"),
        "{\n  \"kind\": \"pe\",\n  \"top\": 3\n}\n",
    )
    .unwrap();
    let err = Manifest::load(&dir).unwrap_err().to_string();
    assert!(err.contains("qforge.json:3:"), "{err}");
    assert!(err.contains("invalid type"), "{err}");
}
