//! `qforge hdl net` then `qforge verify` end to end, as a user runs them; the network figures
//! in the verify report; errors on bad plans. Needs Verilator (fails with one line without it).

use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn qforge(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_qforge"))
        .args(args)
        .current_dir(ROOT)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn hdl_net_then_verify_passes_with_network_figures() {
    let dir = Path::new(ROOT).join("target/net-tests/cli_default");
    // A folder left by an older build (without the output marker) would be refused.
    let _ = std::fs::remove_dir_all(&dir);
    let dir_s = dir.to_str().unwrap();
    let (ok, out, err) = qforge(&[
        "hdl",
        "net",
        "--model",
        "models/digits_mlp.ron",
        "--images",
        "40",
        "--backpressure",
        "2",
        "-o",
        dir_s,
    ]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("40 images"), "{out}");
    // Written atomically: no temporary sibling left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".cli_default."))
        .collect();
    assert!(leftovers.is_empty());
    let manifest = std::fs::read_to_string(dir.join("qforge.json")).unwrap();
    assert!(manifest.contains("\"kind\": \"net\""), "{manifest}");
    let cache = Path::new(ROOT).join("target/qf-verilator-cache");
    let (ok, out, err) = qforge(&[
        "verify",
        dir_s,
        "--json",
        "--cache-dir",
        cache.to_str().unwrap(),
    ]);
    assert!(ok, "{out}{err}");
    let json: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(json["images"], 40);
    assert_eq!(json["mismatches"], 0);
    assert_eq!(json["lint_warnings"], 0);
    assert_eq!(json["rtl_cycles"], json["model_cycles"]);
    assert!(json["model_cycles_per_second"].as_f64().unwrap() > 0.0);
    assert!(json["rtl_cycles_per_second"].as_f64().unwrap() > 0.0);
}

#[test]
fn bad_architecture_is_one_error_line_and_exit_2() {
    let arch = Path::new(ROOT).join("target/net-tests/bad_arch.ron");
    std::fs::create_dir_all(arch.parent().unwrap()).unwrap();
    std::fs::write(
        &arch,
        "ArchSpec(folding: fully_folded, layers: [(index: 0, pe: 3)])",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_qforge"))
        .args(["hdl", "net", "--model", "models/digits_mlp.ron", "--arch"])
        .arg(&arch)
        .args(["-o", "target/net-tests/never_written"])
        .current_dir(ROOT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("pe (3) must divide out_features (32) of layer 0"),
        "{err}"
    );
    assert!(!Path::new(ROOT)
        .join("target/net-tests/never_written")
        .exists());
}
