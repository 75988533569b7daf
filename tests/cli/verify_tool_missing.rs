//! The missing-tool path: one line naming the tool, its install command and its variable.

use crate::common::{qforge_command, run_alone_with};

const EXPECTED: &str = "verilator not found (QFORGE_VERILATOR=/nonexistent/verilator is not an \
                        executable): install it (apt-get install verilator) or set QFORGE_VERILATOR";

#[test]
fn missing_verilator_is_one_clear_line_in_library_and_binary() {
    // The library reads the environment, which all tests of this binary share: so this one
    // runs alone in a child process started with the variable set.
    let (test, bad) = (
        "missing_verilator_is_one_clear_line_in_library_and_binary",
        "/nonexistent/verilator",
    );
    if !run_alone_with(module_path!(), test, "QFORGE_VERILATOR", bad) {
        return;
    }
    let err = qforge::verify::verilator::lint(&["x.v".into()], "x").unwrap_err();
    assert!(
        matches!(err, qforge::verify::Error::ToolMissing { .. }),
        "{err:?}"
    );
    assert_eq!(err.to_string(), EXPECTED);

    let out = qforge_command()
        .args(["verify", "/nonexistent/design"])
        .env("QFORGE_VERILATOR", "/nonexistent/verilator")
        .output()
        .expect("the qforge binary runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end(), format!("error: {EXPECTED}"));
}
