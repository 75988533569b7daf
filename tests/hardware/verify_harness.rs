//! Fmax on the registered timing harness (`qforge::verify::harness`): designs with more port
//! bits than the package has pins still get a figure, the harness lints clean with the design,
//! and it keeps the design's logic whole. Needs Yosys, nextpnr-ice40 and Verilator; without them
//! these tests fail with the one-line "... not found: install it" error.

use crate::common::qforge;
use qforge::hdl::print_module;
use qforge::verify::harness::{fmax_ice40_registered, harness, HARNESS_TOP};
use qforge::verify::manifest::Manifest;
use qforge::verify::verilator::lint;
use qforge::verify::yosys::{ports, synth, SynthOptions, Target};
use std::path::{Path, PathBuf};

/// Writes a PE (array) with `qforge hdl pe` into a scratch folder and returns its folder.
fn pe_design(name: &str, args: &[&str]) -> PathBuf {
    let dir = scratch!(name).join("pe");
    let dir_text = dir.to_str().unwrap();
    let mut all = vec!["hdl", "pe", "--cycles", "100", "-o", dir_text];
    all.extend_from_slice(args);
    let o = qforge(&all);
    assert!(o.ok, "{}", o.err);
    dir
}

/// Runs `qforge synth DIR --target ice40 --json` and returns the printed text and the JSON.
fn synth_ice40(dir: &Path) -> (String, serde_json::Value) {
    let o = qforge(&[
        "synth",
        dir.to_str().unwrap(),
        "--target",
        "ice40",
        "--json",
    ]);
    let stdout = o.out;
    assert!(o.ok, "{stdout}{}", o.err);
    let json = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    (stdout, json)
}

/// 16 PEs of 4 ternary lanes: 276 port bits, more than the 206 I/O pins of an HX8K in its
/// ct256 package, which made place and route fail before the harness.
const PINS_OVERFLOW: &[&str] = &[
    "--kind",
    "ternary",
    "--a-bits",
    "4",
    "--simd",
    "4",
    "--pe",
    "16",
    "--acc-bits",
    "8",
];

#[test]
fn pe_array_with_more_port_bits_than_pins_gets_an_fmax() {
    let dir = pe_design("overflow", PINS_OVERFLOW);
    let (text, json) = synth_ice40(&dir);
    let mhz = json["fmax_mhz"]
        .as_f64()
        .unwrap_or_else(|| panic!("{text}"));
    assert!(mhz > 12.0 && mhz < 1000.0, "{text}");
    assert_eq!(json["fmax_method"], "registered_harness", "{text}");
    assert!(
        text.contains("(registered harness over 276 port bits, hx8k ct256, median of 1 seed)"),
        "{text}"
    );
    // Area stays that of the bare design: 16 accumulators of 8 bits, no harness registers.
    assert_eq!(json["ffs"], 128, "{text}");
}

#[test]
fn pe_whose_ports_fit_the_package_gets_an_fmax() {
    let dir = pe_design(
        "fits",
        &[
            "--kind",
            "ternary",
            "--a-bits",
            "4",
            "--simd",
            "2",
            "--acc-bits",
            "8",
        ],
    );
    let (text, json) = synth_ice40(&dir);
    let mhz = json["fmax_mhz"]
        .as_f64()
        .unwrap_or_else(|| panic!("{text}"));
    assert!(mhz > 12.0 && mhz < 1000.0, "{text}");
}

#[test]
fn harness_lints_clean_with_the_design() {
    let dir = pe_design(
        "lint",
        &[
            "--kind",
            "pot",
            "--a-bits",
            "4",
            "--exp-bits",
            "2",
            "--simd",
            "2",
            "--pe",
            "2",
            "--acc-bits",
            "12",
        ],
    );
    let dir = dir.as_path();
    let manifest = Manifest::load(dir).unwrap();
    let mut sources = manifest.design_sources(dir);
    let found = ports(&sources, &manifest.top).unwrap_or_else(|e| panic!("{e}"));
    let module = harness(&manifest.top, &found).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join(format!("{HARNESS_TOP}.v"));
    std::fs::write(&file, print_module(&module)).unwrap();
    sources.push(file);
    let report = lint(&sources, HARNESS_TOP).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.warnings.is_empty(), "{:#?}", report.warnings);
}

#[test]
fn harness_keeps_every_output_bit_live() {
    // add8_reg: s <= a + b, 9 flip-flops and one LUT per sum bit.
    let design = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/hw/add8_reg/add8_reg.v");
    let bare = synth(
        std::slice::from_ref(&design),
        "add8_reg",
        Target::Ice40,
        &SynthOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let found = ports(std::slice::from_ref(&design), "add8_reg").unwrap_or_else(|e| panic!("{e}"));
    let module = harness("add8_reg", &found).unwrap_or_else(|e| panic!("{e}"));
    let file = scratch!("live").join(format!("{HARNESS_TOP}.v"));
    std::fs::write(&file, print_module(&module)).unwrap();
    let wrapped = synth(
        &[design.clone(), file],
        HARNESS_TOP,
        Target::Ice40,
        &SynthOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // 17 chain bits (rst, a, b), the design's 9, 9 output registers, then 3 and 1 XOR levels.
    assert_eq!(
        wrapped.ffs,
        bare.ffs + 17 + 9 + 3 + 1,
        "{:?}",
        wrapped.cells
    );
    // The adder survives whole, and the XOR levels add LUTs of their own.
    assert!(
        wrapped.luts >= bare.luts + 3,
        "{:?} vs {:?}",
        wrapped.cells,
        bare.cells
    );
    assert!(
        wrapped.carries >= bare.carries,
        "{:?} vs {:?}",
        wrapped.cells,
        bare.cells
    );

    let fmax = fmax_ice40_registered(&[design], "add8_reg", "hx8k", "ct256", 1)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(fmax.mhz > 50.0 && fmax.mhz < 1000.0, "{fmax:?}");
    assert_eq!(fmax.port_bits, 1 + 1 + 8 + 8 + 9);
    assert_eq!(fmax.harness_cells.ffs, wrapped.ffs);
}
