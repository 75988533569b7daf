//! Synthesis (Yosys) and place-and-route (nextpnr-ice40) of small hand-written designs in
//! `tests/hw/`. Without the tools these tests fail with the one-line "... not found: install it"
//! error.

use qforge::verify::nextpnr::fmax_ice40;
use qforge::verify::yosys::{synth, SynthOptions, SynthReport, Target};
use qforge::verify::Error;
use std::path::PathBuf;

fn hw(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/hw")
        .join(path)
}

fn ok(result: Result<SynthReport, Error>) -> SynthReport {
    result.unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn registered_adder_on_ice40_has_plausible_counts() {
    let r = ok(synth(
        &[hw("add8_reg/add8_reg.v")],
        "add8_reg",
        Target::Ice40,
        &SynthOptions::default(),
    ));
    // The 9-bit sum register is 9 flip-flops. Each sum bit is a 3-input XOR (a_i, b_i, carry):
    // at least one LUT4 per bit, with the carries in SB_CARRY cells (at most one per bit).
    assert_eq!(r.ffs, 9, "{:?}", r.cells);
    assert!((8..=30).contains(&r.luts), "{:?}", r.cells);
    assert!(r.carries <= 9, "{:?}", r.cells);
    assert!(r.luts + r.carries >= 16, "{:?}", r.cells);
    assert_eq!((r.dsps, r.brams), (0, 0));
}

#[test]
fn latch_is_rejected() {
    match synth(
        &[hw("latch.v")],
        "latchy",
        Target::Ice40,
        &SynthOptions::default(),
    ) {
        Err(Error::Latch(message)) => assert!(message.contains("q"), "{message}"),
        Err(e) => panic!("expected a latch error, got: {e}"),
        Ok(r) => panic!("expected a latch error, got a netlist: {:?}", r.cells),
    }
}

#[test]
fn undriven_output_is_rejected() {
    match synth(
        &[hw("undriven.v")],
        "undriven",
        Target::Ice40,
        &SynthOptions::default(),
    ) {
        Err(Error::Undriven(message)) => assert!(message.contains("z"), "{message}"),
        Err(e) => panic!("expected an undriven-net error, got: {e}"),
        Ok(r) => panic!(
            "expected an undriven-net error, got a netlist: {:?}",
            r.cells
        ),
    }
}

#[test]
fn xilinx_multiplier_uses_one_dsp_unless_nodsp() {
    let sources = [hw("mul8.v")];
    let with_dsp = ok(synth(
        &sources,
        "mul8",
        Target::Xilinx,
        &SynthOptions::default(),
    ));
    assert_eq!(with_dsp.dsps, 1, "{:?}", with_dsp.cells);
    let options = SynthOptions {
        nodsp: true,
        ..SynthOptions::default()
    };
    let without = ok(synth(&sources, "mul8", Target::Xilinx, &options));
    assert_eq!(without.dsps, 0, "{:?}", without.cells);
    // An 8x8 product in LUTs needs far more than a handful of LUTs, and 16 product flip-flops.
    assert!(without.luts > 30, "{:?}", without.cells);
    assert_eq!(without.ffs, 16, "{:?}", without.cells);
}

#[test]
fn adder_fmax_on_hx8k_is_positive() {
    let netlist = scratch!("fmax").join("add8_regio.json");
    let options = SynthOptions {
        netlist_json: Some(netlist.clone()),
        ..SynthOptions::default()
    };
    ok(synth(
        &[hw("add8_regio.v")],
        "add8_regio",
        Target::Ice40,
        &options,
    ));
    let mhz = fmax_ice40(&netlist, "hx8k", "ct256", 1).unwrap_or_else(|e| panic!("{e}"));
    // A 9-bit carry chain between registers: well above 12 MHz, well below the fabric's limit.
    assert!(mhz > 50.0 && mhz < 1000.0, "{mhz}");
}

#[test]
fn tool_versions_are_reported() {
    use qforge::verify::tools::{locate, Tool};
    for (tool, word) in [
        (Tool::Verilator, "Verilator"),
        (Tool::Yosys, "Yosys"),
        (Tool::NextpnrIce40, "nextpnr"),
    ] {
        let version = locate(tool)
            .and_then(|t| t.version())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(version.contains(word), "{version}");
    }
}
