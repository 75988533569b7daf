//! `qforge cast` run as a user runs it: the built binary, stdin in, stdout/stderr and exit code out.

use crate::common::qforge_command;
use std::io::Write;
use std::process::{Output, Stdio};

fn cast(args: &[&str], stdin: &str) -> Output {
    let mut child = qforge_command()
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
fn prints_exact_decimals_and_keeps_blank_lines() {
    // ap_fixed<8,3>: step 1/32; 1.3 truncates to 41/32; 100 wraps: 3200 mod 256 = 128 → -128/32.
    let o = cast(&["--format", "ap_fixed<8,3>"], "1.3\n\n  \n100\n0.001\n");
    assert!(o.status.success(), "{}", stderr(&o));
    // Output line n answers input line n: the blank lines stay blank.
    assert_eq!(stdout(&o), "1.28125\n\n\n-4\n0\n");
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

#[test]
fn intquant_rounds_half_to_even_and_clamps() {
    // intquant<bits=4,scale=0.25>: signed, not narrow, so q ∈ [-8, 7]; rounding ROUND is half to
    // even; value = q · 0.25.
    //   0.3   / 0.25 = 1.2 (0.3 as f64 is a hair below 0.3) → q 1 → 0.25
    //   100   / 0.25 = 400  → clamps to 7  → 1.75
    //   0.375 / 0.25 = 1.5  → tie, to even 2 → 0.5
    //   0.625 / 0.25 = 2.5  → tie, to even 2 → 0.5
    //   -5    / 0.25 = -20  → clamps to -8 → -2
    let spec = "intquant<bits=4,scale=0.25>";
    let input = "0.3\n100\n0.375\n0.625\n-5\n";
    let o = cast(&["--format", spec], input);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "0.25\n1.75\n0.5\n0.5\n-2\n");
    let o = cast(&["--format", spec, "--raw"], input);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "1\n7\n2\n2\n-8\n");
}

#[test]
fn pot_projects_linearly_with_ties_upward() {
    // pot<exp_bits=3,e_min=-4>: signed, exponent field 0 is zero, linear domain, alpha 1. Fields
    // 1..=7 are shifts 0..=6, so magnitudes are 2^s / 16 ∈ {1/16, …, 4}; the sign is bit 3.
    // In units of 1/16, |x| below 1/2 is zero, and 2^s becomes 2^(s+1) from 3·2^(s-1) upward.
    //   0.3     = 4.8 units: ≥ 3, < 6        → shift 2, 0.25, field 3       → code 3
    //   -0.75   = 12 units:  = 3·2^2, tie up → shift 4, -1,   field 5 | 8   → code 13
    //   0.03125 = 0.5 units: not below 1/2   → shift 0, 0.0625, field 1     → code 1
    //   0.02    = 0.32 units: below 1/2      → zero                         → code 0
    //   100     saturates                    → shift 6, 4,    field 7       → code 7
    let spec = "pot<exp_bits=3,e_min=-4>";
    let input = "0.3\n-0.75\n0.03125\n0.02\n100\n";
    let o = cast(&["--format", spec], input);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "0.25\n-1\n0.0625\n0\n4\n");
    let o = cast(&["--format", spec, "--raw"], input);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "3\n13\n1\n0\n7\n");
}

#[test]
fn apot_prints_exact_fractions_and_bit_patterns() {
    // apot<term_bits=2,terms=2>: largest shift E = (2 − 1) + (2^2 − 2)·2 = 5. Term 0 (bits 0–1),
    // fields 1, 2, 3 → 2^5, 2^3, 2^1; term 1 (bits 2–3) → 2^4, 2^2, 2^0; sign is bit 4. The
    // levels are the sums {0,1,2,3,4,6,8,9,12,16,18,24,32,33,36,48}, max 48, value level/48.
    //   0.02    · 48 = 0.96: nearer 1 than 0         → 1  = term1 field 3           → 1/48, code 12
    //   0.3     · 48 = 14.4: ≥ midpoint 14 of 12, 16 → 16 = term1 field 1           → 1/3,  code 4
    //   0.21875 · 48 = 10.5: the midpoint of 9, 12, ties up → 12 = 8 + 4 (2 | 2<<2)  → 0.25, code 10
    //   0.5     · 48 = 24 = 8 + 16 (2 | 1<<2)                                        → 0.5,  code 6
    //   -1      · 48 = 48 = 32 + 16 (1 | 1<<2), sign 16                              → -1,   code 21
    let spec = "apot<term_bits=2,terms=2>";
    let input = "0.02\n0.3\n0.21875\n0.5\n-1\n";
    let o = cast(&["--format", spec], input);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "1/48\n1/3\n0.25\n0.5\n-1\n");
    let o = cast(&["--format", spec, "--raw"], input);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "12\n4\n10\n6\n21\n");
}

#[test]
fn bad_quant_key_is_a_one_line_error() {
    let o = cast(&["--format", "intquant<bits=4,scal=0.25>"], "1\n");
    let err = assert_user_error(&o);
    assert_eq!(
        err,
        "error: unknown key 'scal' for intquant (expected one of bits, signed, narrow, rounding, \
         scale, zeropt)"
    );
    assert_eq!(stdout(&o), "");
}

#[test]
fn unknown_family_lists_the_accepted_ones() {
    let o = cast(&["--format", "float<8,23>"], "1\n");
    let err = assert_user_error(&o);
    assert!(err.contains("unknown format 'float<8,23>'"), "{err}");
    for family in [
        "ap_fixed",
        "ap_ufixed",
        "ap_int",
        "ap_uint",
        "fixed",
        "ufixed",
        "intquant",
        "pot",
        "apot",
    ] {
        assert!(err.contains(&format!("{family}<")), "{family}: {err}");
    }
}

#[test]
fn help_shows_every_spelling() {
    let o = qforge_command().args(["cast", "--help"]).output().unwrap();
    assert!(o.status.success());
    let help = stdout(&o);
    for spelling in [
        "ap_fixed<",
        "fixed<",
        "intquant<bits=",
        "pot<exp_bits=",
        "apot<term_bits=",
    ] {
        assert!(help.contains(spelling), "{spelling}: {help}");
    }
}

/// A reader that stops early (`qforge cast ... | head -1`) ends qforge quietly: no panic about
/// a broken pipe, no message, the end a closed pipe gives other tools.
#[test]
fn a_closed_pipe_ends_qforge_quietly() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    let mut child = crate::common::qforge_command()
        .args(["cast", "--format", "ap_fixed<8,3>"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for i in 0..200_000 {
            // qforge may be gone before all is written: that is the point
            if writeln!(stdin, "{}", f64::from(i % 64) / 16.0).is_err() {
                break;
            }
        }
    });
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first.trim_end(), "0");
    // the read end closes here
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.is_empty(), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
}
