//! Every cast in `tests/golden/ap_fixed_casts.tsv` (made by the Xilinx ap_types headers, see
//! `tests/golden/README.md`) must come out bit for bit the same.

use qforge::num::fixed::FixedFormat;

const GOLDEN: &str = include_str!("../golden/ap_fixed_casts.tsv");

#[test]
fn ap_fixed_casts_match_xilinx_headers() {
    let mut lines = GOLDEN.lines().enumerate();
    let (_, header) = lines.next().expect("golden file is empty");
    assert_eq!(header, "format\tinput\texpected");
    let mut cases = 0;
    let mut mismatches = Vec::new();
    for (index, line) in lines {
        let line_no = index + 1;
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(
            fields.len(),
            3,
            "line {line_no}: expected 3 columns: {line:?}"
        );
        let (spec, input, expected) = (fields[0], fields[1], fields[2]);
        let format: FixedFormat = spec
            .parse()
            .unwrap_or_else(|e| panic!("line {line_no}: {e}"));
        // The file's spelling is the full form; the printed form must parse back to it.
        assert_eq!(format.to_string().parse::<FixedFormat>().unwrap(), format);
        // The README states inputs and outputs are exact decimals of dyadic values that f64 holds.
        let x: f64 = input.parse().expect("input is a number");
        let want: f64 = expected.parse().expect("expected is a number");
        cases += 1;
        let got = format.cast_f64(x).expect("finite input");
        let exact = got.to_string();
        if got.to_f64() != want || exact != expected {
            mismatches.push(format!(
                "line {line_no}: {spec} {input}: expected {expected}, got {exact} (raw {})",
                got.raw()
            ));
        }
    }
    assert_eq!(cases, 3200, "golden file truncated or grown");
    assert!(
        mismatches.is_empty(),
        "{} of {cases} casts differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
