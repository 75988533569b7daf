//! The missing-tool path: one line naming the tool, its install command and its variable. Kept in
//! its own test binary because it changes the process environment.

use std::process::Command;

const EXPECTED: &str = "verilator not found (QFORGE_VERILATOR=/nonexistent/verilator is not an \
                        executable): install it (apt-get install verilator) or set QFORGE_VERILATOR";

#[test]
fn missing_verilator_is_one_clear_line_in_library_and_binary() {
    // SAFETY of the environment change: this is the only test in this binary.
    std::env::set_var("QFORGE_VERILATOR", "/nonexistent/verilator");
    let err = qforge::verify::verilator::lint(&["x.v".into()], "x").unwrap_err();
    assert!(
        matches!(err, qforge::verify::Error::ToolMissing { .. }),
        "{err:?}"
    );
    assert_eq!(err.to_string(), EXPECTED);

    let out = Command::new(env!("CARGO_BIN_EXE_qforge"))
        .args(["verify", "/nonexistent/design"])
        .env("QFORGE_VERILATOR", "/nonexistent/verilator")
        .output()
        .expect("the qforge binary runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end(), format!("error: {EXPECTED}"));
}
