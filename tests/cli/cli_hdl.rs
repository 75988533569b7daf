//! `qforge hdl pe`: the design folder it writes, its atomicity, and `qforge verify` on it.

use crate::common::qforge_command;

#[test]
fn invalid_configuration_fails_with_one_line_and_writes_nothing() {
    let dir = scratch!("invalid");
    let out = dir.join("pe");
    let o = qforge_command()
        .args([
            "hdl",
            "pe",
            "--kind",
            "pot",
            "--exp-bits",
            "3",
            "--acc-bits",
            "6",
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("acc_bits (6)"), "{err}");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "left files behind"
    );
}

#[test]
fn design_folder_is_replaced_whole() {
    let dir = scratch!("replace");
    let out = dir.join("pe");
    std::fs::create_dir_all(out.join("rtl")).unwrap();
    std::fs::write(out.join("rtl/stale.v"), "stale").unwrap();
    let o = qforge_command()
        .args([
            "hdl", "pe", "--kind", "ternary", "--a-bits", "4", "--simd", "4",
        ])
        .args(["--acc-bits", "8", "--cycles", "100", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!out.join("rtl/stale.v").exists());
    for f in [
        "qforge.json",
        "run.sh",
        "tb/qf_replay_tb.sv",
        "vectors/stimulus.hex",
        "vectors/expected.hex",
        "rtl/qf_tb_dut.v",
        "rtl/qf_pe_ternary_a4_s4_acc8_wrap.v",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let stim = std::fs::read_to_string(out.join("vectors/stimulus.hex")).unwrap();
    assert_eq!(stim.lines().count(), 100);
    // only the design folder remains: no temporary or moved-aside folders
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn verify_passes_on_a_generated_array() {
    let dir = scratch!("verify");
    let out = dir.join("array");
    let o = qforge_command()
        .args([
            "hdl",
            "pe",
            "--kind",
            "apot",
            "--terms",
            "2",
            "--term-bits",
            "2",
            "--simd",
            "4",
        ])
        .args([
            "--pe",
            "2",
            "--acc-bits",
            "18",
            "--overflow",
            "sat",
            "--output-reg",
        ])
        .args(["--cycles", "3000", "--seed", "9", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = qforge_command().arg("verify").arg(&out).output().unwrap();
    let text = String::from_utf8_lossy(&v.stdout);
    assert!(
        v.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&v.stderr)
    );
    assert!(text.contains("0 warnings"), "{text}");
    assert!(text.contains("0 mismatches"), "{text}");
}
