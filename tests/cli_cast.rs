//! `qforge cast` run as a user runs it: the built binary, stdin in, stdout/stderr and exit code out.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn cast(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qforge"))
        .arg("cast")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("qforge binary runs");
    // A command that fails before reading stdin may close it first; that is not a test failure.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Exit code 2 and a single stderr line starting `error:`; returns that line.
fn assert_user_error(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(2), "stderr: {}", stderr(o));
    let err = stderr(o);
    assert!(err.starts_with("error:"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    err.trim_end().to_string()
}

#[test]
fn minus_two_and_a_half_rounds_half_away_from_zero_with_rnd_inf() {
    let o = cast(&["--format", "ap_fixed<8,8,AP_RND_INF,AP_SAT>"], "-2.5\n");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "-3\n");
}

#[test]
fn minus_two_and_a_half_rounds_toward_plus_infinity_with_rnd() {
    let o = cast(&["--format", "ap_fixed<8,8,AP_RND,AP_SAT>"], "-2.5\n");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "-2\n");
}

#[test]
fn prints_exact_decimals_and_skips_blank_lines() {
    // ap_fixed<8,3>: step 1/32; 1.3 truncates to 41/32; 100 wraps: 3200 mod 256 = 128 → -128/32.
    let o = cast(&["--format", "ap_fixed<8,3>"], "1.3\n\n  \n100\n0.001\n");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "1.28125\n-4\n0\n");
}

#[test]
fn raw_prints_integer_codes() {
    // ap_ufixed<4,2,AP_RND_CONV,AP_SAT>: step 1/4; 0.375 is a tie → 0.5 (code 2); 9 saturates
    // to 15; -1 saturates to 0.
    let o = cast(
        &["--format", "ap_ufixed<4,2,AP_RND_CONV,AP_SAT>", "--raw"],
        "0.375\n9\n-1\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "2\n15\n0\n");
}

#[test]
fn bad_spec_is_a_one_line_error() {
    let o = cast(&["--format", "ap_fixed<8,3,AP_RND,AP_SATT>"], "1\n");
    let err = assert_user_error(&o);
    assert!(err.contains("unknown overflow mode 'AP_SATT'"), "{err}");
    assert_eq!(stdout(&o), "");
}

#[test]
fn width_zero_and_sixty_five_are_rejected() {
    for (spec, width) in [("ap_fixed<0,0>", "0"), ("ap_ufixed<65,3>", "65")] {
        let o = cast(&["--format", spec], "1\n");
        let err = assert_user_error(&o);
        assert!(
            err.contains(&format!("width ({width}) must be between 1 and 64")),
            "{err}"
        );
    }
}

#[test]
fn non_number_names_its_line() {
    let o = cast(&["--format", "ap_fixed<8,3>"], "1\n2\nabc\n4\n");
    let err = assert_user_error(&o);
    assert_eq!(err, "error: stdin line 3: 'abc' is not a number");
}
