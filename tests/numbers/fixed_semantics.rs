//! Hand-derived tables for rounding ties, every overflow mode, the wrap boundary and bad input.
//! Every expected value below was worked out by hand from the mode definitions (DESIGN.md §3
//! and the ap_fixed documentation), not produced by the code under test.

use qforge::num::fixed::{Fixed, FixedError, FixedFormat};
use qforge::num::overflow::OverflowMode;
use qforge::num::rounding::RoundingMode;

fn fmt(s: &str) -> FixedFormat {
    s.parse().unwrap_or_else(|e| panic!("{e}"))
}

fn cast(spec: &str, x: f64) -> String {
    fmt(spec).cast_f64(x).unwrap().to_string()
}

const TIE_INPUTS: [f64; 7] = [0.5, -0.5, 1.5, -1.5, 2.5, -2.5, -2.3];

/// Rows follow `RoundingMode::ALL`: floor, ceil, toward_zero, away_from_zero, half_to_pos_inf,
/// half_to_neg_inf, half_toward_zero, half_away_from_zero, half_even, half_odd.
/// Columns follow `TIE_INPUTS`.
const TIE_TABLE: [[i128; 7]; 10] = [
    [0, -1, 1, -2, 2, -3, -3], // floor
    [1, 0, 2, -1, 3, -2, -2],  // ceil
    [0, 0, 1, -1, 2, -2, -2],  // toward_zero
    [1, -1, 2, -2, 3, -3, -3], // away_from_zero
    [1, 0, 2, -1, 3, -2, -2],  // half_to_pos_inf
    [0, -1, 1, -2, 2, -3, -2], // half_to_neg_inf
    [0, 0, 1, -1, 2, -2, -2],  // half_toward_zero
    [1, -1, 2, -2, 3, -3, -2], // half_away_from_zero
    [0, 0, 2, -2, 2, -2, -2],  // half_even
    [1, -1, 1, -1, 3, -3, -2], // half_odd
];

#[test]
fn rounding_ties_through_an_integer_format() {
    for (mode, row) in RoundingMode::ALL.into_iter().zip(TIE_TABLE) {
        let format = FixedFormat::new(8, 8, true, mode, OverflowMode::Saturate).unwrap();
        for (x, want) in TIE_INPUTS.into_iter().zip(row) {
            assert_eq!(format.cast_f64_raw(x).unwrap(), want, "{mode} {x}");
        }
    }
}

#[test]
fn rounding_ties_at_a_fractional_position() {
    // ap_fixed<8,3>: step 1/32, so x/32 lands on the same ties, one step per unit.
    for (mode, row) in RoundingMode::ALL.into_iter().zip(TIE_TABLE) {
        let format = FixedFormat::new(8, 3, true, mode, OverflowMode::WRAP).unwrap();
        for (x, want) in TIE_INPUTS.into_iter().zip(row) {
            assert_eq!(
                format.cast_f64_raw(x / 32.0).unwrap(),
                want,
                "{mode} {x}/32"
            );
        }
    }
}

#[test]
fn ap_mode_names_select_the_right_rounding() {
    // Columns follow TIE_INPUTS: 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, -2.3.
    let table: [(&str, [&str; 7]); 7] = [
        ("AP_TRN", ["0", "-1", "1", "-2", "2", "-3", "-3"]),
        ("AP_TRN_ZERO", ["0", "0", "1", "-1", "2", "-2", "-2"]),
        ("AP_RND", ["1", "0", "2", "-1", "3", "-2", "-2"]),
        ("AP_RND_ZERO", ["0", "0", "1", "-1", "2", "-2", "-2"]),
        ("AP_RND_MIN_INF", ["0", "-1", "1", "-2", "2", "-3", "-2"]),
        ("AP_RND_INF", ["1", "-1", "2", "-2", "3", "-3", "-2"]),
        ("AP_RND_CONV", ["0", "0", "2", "-2", "2", "-2", "-2"]),
    ];
    for (mode, row) in table {
        let spec = format!("ap_fixed<8,8,{mode},AP_SAT>");
        for (x, want) in TIE_INPUTS.into_iter().zip(row) {
            assert_eq!(cast(&spec, x), want, "{spec} {x}");
        }
    }
}

/// Inputs for the overflow tables on 4-bit integer formats.
const OVERFLOW_INPUTS: [f64; 11] = [
    7.0, 8.0, 9.0, 12.0, 15.0, 16.0, -8.0, -9.0, -12.0, -16.0, -17.0,
];

#[test]
fn signed_overflow_modes() {
    // ap_fixed<4,4>: codes -8..=7. Worked bit by bit, e.g. WRAP,2 on 9 = 1001: sign bit := 0,
    // bit 2 := 1 → 0101 = 5; WRAP_SM on 9: low bits 1001, bit above 0 ≠ top bit 1 → invert
    // → 0110 = 6.
    let table: [(&str, [i128; 11]); 8] = [
        ("AP_WRAP", [7, -8, -7, -4, -1, 0, -8, 7, 4, 0, -1]),
        ("AP_SAT", [7, 7, 7, 7, 7, 7, -8, -8, -8, -8, -8]),
        ("AP_SAT_ZERO", [7, 0, 0, 0, 0, 0, -8, 0, 0, 0, 0]),
        ("AP_SAT_SYM", [7, 7, 7, 7, 7, 7, -7, -7, -7, -7, -7]),
        ("AP_WRAP,1", [7, 0, 1, 4, 7, 0, -8, -1, -4, -8, -1]),
        ("AP_WRAP,2", [7, 4, 5, 4, 7, 4, -8, -5, -8, -8, -5]),
        ("AP_WRAP_SM", [7, 7, 6, 3, 0, -1, -8, -8, -5, -1, 0]),
        ("AP_WRAP_SM,1", [7, 7, 6, 3, 0, 0, -8, -8, -5, -1, -1]),
    ];
    for (mode, row) in table {
        let spec = format!("ap_fixed<4,4,AP_TRN,{mode}>");
        let format = fmt(&spec);
        for (x, want) in OVERFLOW_INPUTS.into_iter().zip(row) {
            assert_eq!(format.cast_f64_raw(x).unwrap(), want, "{spec} {x}");
        }
    }
    let spec = "ap_fixed<4,4,AP_TRN,AP_WRAP_SM,2>";
    let want = [7, 7, 6, 4, 7, 7, -8, -8, -5, -8, -8];
    for (x, want) in OVERFLOW_INPUTS.into_iter().zip(want) {
        assert_eq!(fmt(spec).cast_f64_raw(x).unwrap(), want, "{spec} {x}");
    }
}

#[test]
fn unsigned_overflow_modes() {
    // ap_ufixed<4,4>: codes 0..=15. WRAP,2 forces the two top bits to 1 on any overflow,
    // whichever side it is on.
    let inputs = [15.0, 16.0, 17.0, 20.0, -1.0, -4.0, -5.0, -16.0];
    let table: [(&str, [i128; 8]); 5] = [
        ("AP_WRAP", [15, 0, 1, 4, 15, 12, 11, 0]),
        ("AP_WRAP,2", [15, 12, 13, 12, 15, 12, 15, 12]),
        ("AP_SAT", [15, 15, 15, 15, 0, 0, 0, 0]),
        ("AP_SAT_ZERO", [15, 0, 0, 0, 0, 0, 0, 0]),
        ("AP_SAT_SYM", [15, 15, 15, 15, 0, 0, 0, 0]),
    ];
    for (mode, row) in table {
        let spec = format!("ap_ufixed<4,4,AP_TRN,{mode}>");
        for (x, want) in inputs.into_iter().zip(row) {
            assert_eq!(fmt(&spec).cast_f64_raw(x).unwrap(), want, "{spec} {x}");
        }
    }
}

#[test]
fn rounding_carry_crosses_the_wrap_boundary() {
    // 7.5 rounds up to 8, which no longer fits ap_fixed<4,4>: rounding happens first.
    assert_eq!(cast("ap_fixed<4,4,AP_RND,AP_WRAP>", 7.5), "-8");
    assert_eq!(cast("ap_fixed<4,4,AP_RND,AP_SAT>", 7.5), "7");
    assert_eq!(cast("ap_fixed<4,4,AP_RND,AP_SAT_ZERO>", 7.5), "0");
    // WRAP_SM looks at the bit above the format before rounding (0 for 7 = 00111).
    assert_eq!(cast("ap_fixed<4,4,AP_RND,AP_WRAP_SM>", 7.5), "7");
    // -8.5: ties toward +inf stay in range; ties toward -inf leave it.
    assert_eq!(cast("ap_fixed<4,4,AP_RND,AP_WRAP>", -8.5), "-8");
    assert_eq!(cast("ap_fixed<4,4,AP_RND_MIN_INF,AP_WRAP>", -8.5), "7");
    assert_eq!(cast("ap_fixed<4,4,AP_RND_MIN_INF,AP_SAT_SYM>", -7.5), "-7");
    // A negative value rounding to zero is not an underflow of an unsigned format.
    assert_eq!(cast("ap_ufixed<4,4,AP_RND,AP_SAT_ZERO>", -0.5), "0");
    assert_eq!(cast("ap_ufixed<4,4,AP_RND,AP_WRAP,2>", -0.25), "0");
    // ...but rounding to -1 is.
    assert_eq!(cast("ap_ufixed<4,4,AP_RND,AP_WRAP,2>", -0.75), "15");
}

#[test]
fn extreme_f64_inputs() {
    let spec = "ap_fixed<8,3,AP_TRN,AP_WRAP>";
    assert_eq!(cast(spec, 1e300), "0"); // every kept bit of 1e300·32 is zero
    assert_eq!(cast(spec, f64::MAX), "0");
    assert_eq!(cast("ap_fixed<8,3,AP_TRN,AP_SAT>", 1e300), "3.96875");
    assert_eq!(cast("ap_fixed<8,3,AP_TRN,AP_SAT>", -1e300), "-4");
    assert_eq!(cast("ap_fixed<8,3,AP_RND_CONV,AP_SAT>", 5e-324), "0");
    assert_eq!(cast("ap_fixed<8,3,AP_TRN,AP_SAT>", -5e-324), "-0.03125");
    let ceil = FixedFormat::new(8, 3, true, RoundingMode::Ceil, OverflowMode::Saturate).unwrap();
    assert_eq!(ceil.cast_f64(5e-324).unwrap().to_string(), "0.03125");
    // 2^52 + 8 is exact in f64; ap_int<8> keeps its low byte, 8.
    assert_eq!(cast("ap_int<8>", 4503599627370504.0), "8");
    assert_eq!(
        cast("ap_int<64>", -9.223372036854776e18),
        "-9223372036854775808"
    );
    assert_eq!(cast("ap_uint<64>", 1.8446744073709552e19), "0");
    assert_eq!(
        cast("ap_ufixed<64,64,AP_TRN,AP_SAT>", 1.8446744073709552e19),
        "18446744073709551615"
    );
    // Formats far from the binary point.
    assert_eq!(
        cast("ap_fixed<4,-10,AP_RND_CONV,AP_SAT>", 1.0),
        "0.00042724609375"
    );
}

#[test]
fn non_finite_inputs_are_errors() {
    let f = fmt("ap_fixed<8,3>");
    for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = f.cast_f64(x).unwrap_err();
        assert!(matches!(err, FixedError::NotFinite(_)), "{err}");
        assert!(err.to_string().ends_with("not a finite number"), "{err}");
    }
}

#[test]
fn bad_parameters_are_errors_naming_the_rule() {
    let new = |w, i, s, o| FixedFormat::new(w, i, s, RoundingMode::Floor, o);
    let msg = |r: Result<FixedFormat, FixedError>| r.unwrap_err().to_string();
    assert_eq!(
        msg(new(0, 0, true, OverflowMode::WRAP)),
        "width (0) must be between 1 and 64"
    );
    assert_eq!(
        msg(new(65, 3, true, OverflowMode::WRAP)),
        "width (65) must be between 1 and 64"
    );
    assert_eq!(
        msg(new(8, 3, true, OverflowMode::Wrap { saturated_bits: 9 })),
        "saturated bits (9) must be at most the width (8)"
    );
    assert_eq!(
        msg(new(
            8,
            3,
            false,
            OverflowMode::WrapSignMagnitude { saturated_bits: 0 }
        )),
        "overflow mode AP_WRAP_SM needs a signed format"
    );
    assert!(msg(new(8, i32::MIN, true, OverflowMode::WRAP)).starts_with("int_bits (-2147483648)"));
    let f = fmt("ap_fixed<4,2>");
    assert_eq!(
        Fixed::from_raw(f, 8).unwrap_err().to_string(),
        "raw code 8 is outside ap_fixed<4,2> (codes -8 to 7)"
    );
    let wide = fmt("ap_fixed<40,8>").cast_f64(1.0).unwrap();
    assert_eq!(
        wide.mul(&wide).unwrap_err().to_string(),
        "mul result needs width 80, more than the 64 bits a format may have"
    );
}

#[test]
fn malformed_specs_name_the_bad_field() {
    let cases = [
        ("ap_fixed<8,x>", "int_bits 'x' is not an integer"),
        ("ap_fixed<8.5,3>", "width '8.5' is not an integer"),
        ("ap_fixed<-8,3>", "width '-8' is not an integer"),
        ("ap_fixed<8,3,AP_RNDD>", "unknown rounding mode 'AP_RNDD'"),
        (
            "ap_fixed<8,3,AP_RND,AP_SATT>",
            "unknown overflow mode 'AP_SATT'",
        ),
        (
            "ap_fixed<8,3,AP_RND,AP_WRAP,-1>",
            "saturated bits '-1' is not an integer",
        ),
        (
            "ap_fixed<8,3,AP_RND,AP_WRAP,1,2>",
            "ap_fixed takes 2 to 5 parameters, found 6",
        ),
        ("ap_int<8,3>", "ap_int takes 1 parameter, found 2"),
        ("ap_fixed<0,0>", "width (0) must be between 1 and 64"),
        ("ap_fixed<65,0>", "width (65) must be between 1 and 64"),
        ("ap_uint<0>", "width (0) must be between 1 and 64"),
        ("sc_fixed<8,3>", "unknown type 'sc_fixed'"),
        ("", "unknown type ''"),
    ];
    for (spec, problem) in cases {
        let err = spec.parse::<FixedFormat>().unwrap_err().to_string();
        // The unknown-type message goes on to list the accepted names.
        let want = format!("bad format '{spec}': {problem}");
        assert!(
            err == want || (err.starts_with(&want) && problem.starts_with("unknown type")),
            "{err}"
        );
    }
}
