//! Replay and lint through Verilator on small hand-written designs (`tests/hw/`). These tests need
//! Verilator: without it they fail with the one-line "verilator not found: install it ..." error.

use qforge::verify::vectors::{Bits, Cycle, VectorSet};
use qforge::verify::verilator::{lint, replay_vectors, ReplayOptions, ReplayReport};
use std::path::PathBuf;

fn hw(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/hw")
        .join(path)
}

fn options() -> ReplayOptions {
    ReplayOptions {
        cache_dir: Some(crate::common::verilator_cache()),
        ..ReplayOptions::default()
    }
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn byte(&mut self) -> i64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 24) as u8 as i8 as i64
    }
}

const CYCLES: usize = 1000;

/// Inputs of the registered adder: reset in cycle 0, then random signed a, b (with the corner
/// cases -128 and 127 first).
fn reg_inputs() -> Vec<(bool, i64, i64)> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let corners = [(-128, -128), (127, 127), (-128, 127), (0, -1)];
    (0..CYCLES)
        .map(|t| match t {
            0 => (true, 5, 6),
            1..=4 => (false, corners[t - 1].0, corners[t - 1].1),
            _ => (false, rng.byte(), rng.byte()),
        })
        .collect()
}

fn reg_input_bits(rst: bool, a: i64, b: i64) -> Bits {
    let mut bits = Bits::zero(17);
    bits.set_field(0, 8, a.into()).unwrap();
    bits.set_field(8, 8, b.into()).unwrap();
    bits.set_field(16, 1, rst.into()).unwrap();
    bits
}

fn sum_bits(value: i64) -> Bits {
    let mut bits = Bits::zero(9);
    bits.set_field(0, 9, value.into()).unwrap();
    bits
}

/// Expected outputs under the contract's Mealy convention: during cycle t the registered output
/// holds what the edge ending cycle t-1 stored. Cycle 0 (before any edge) is not checked.
fn reg_vectors_mealy() -> VectorSet {
    let mut set = VectorSet::new(17, 9);
    let mut reg: Option<i64> = None;
    for (rst, a, b) in reg_inputs() {
        set.push(Cycle {
            input: reg_input_bits(rst, a, b),
            expect: reg.map(sum_bits),
        })
        .unwrap();
        reg = Some(if rst { 0 } else { a + b });
    }
    set
}

fn reg_sources() -> Vec<PathBuf> {
    vec![hw("add8_reg/add8_reg.v"), hw("add8_reg/qf_tb_dut.v")]
}

fn run(sources: &[PathBuf], set: &VectorSet) -> ReplayReport {
    replay_vectors(sources, set, &options()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn replay_passes_on_correct_vectors() {
    let set = reg_vectors_mealy();
    let report = run(&reg_sources(), &set);
    assert_eq!(report.mismatches, 0, "{report:?}");
    assert!(report.failure.is_none());
    assert_eq!(report.cycles, CYCLES as u64);
    assert_eq!(report.checked, (CYCLES - 1) as u64);
}

#[test]
fn replay_reports_first_mismatch_with_cycle_and_values() {
    let mut set = reg_vectors_mealy();
    let bad = 500;
    let good = set.cycles[bad].expect.clone().unwrap();
    let wrong = sum_bits(good.get_field_signed(0, 9).unwrap() as i64 ^ 0x5);
    set.cycles[bad].expect = Some(wrong.clone());
    let report = run(&reg_sources(), &set);
    assert_eq!(report.mismatches, 1);
    let failure = report.failure.expect("a mismatch must be reported");
    assert_eq!(failure.cycle, bad as u64);
    assert_eq!(failure.got_hex, good.to_hex());
    assert_eq!(failure.expected_hex, wrong.to_hex());
    assert_eq!(failure.input_hex, set.cycles[bad].input.to_hex());
    assert_eq!(failure.got_hex.len(), 3);
    assert_eq!(failure.input_hex.len(), 5);
}

#[test]
fn replay_ignores_cycles_whose_check_bit_is_off() {
    let mut set = reg_vectors_mealy();
    // A wrong value that is never compared.
    set.cycles[500].expect = None;
    set.cycles[501].expect = None;
    let report = run(&reg_sources(), &set);
    assert_eq!(report.mismatches, 0, "{report:?}");
    assert_eq!(report.checked, (CYCLES - 3) as u64);
}

#[test]
fn replay_timing_is_mealy_not_post_edge() {
    // Under a "sample after the edge" convention, expected[t] would be the sum of stim[t]. The
    // contract samples before the edge, so these vectors must fail at the first cycle where the
    // two conventions differ (cycle 1: register holds 0 after reset, post-edge would be -256).
    let mut set = VectorSet::new(17, 9);
    for (rst, a, b) in reg_inputs() {
        set.push(Cycle {
            input: reg_input_bits(rst, a, b),
            expect: Some(sum_bits(if rst { 0 } else { a + b })),
        })
        .unwrap();
    }
    let report = run(&reg_sources(), &set);
    let failure = report.failure.expect("post-edge vectors must not pass");
    assert_eq!(failure.cycle, 1);
    assert_eq!(failure.got_hex, "000");
    assert_eq!(failure.expected_hex, sum_bits(-256).to_hex());
}

#[test]
fn replay_combinational_output_is_visible_in_the_same_cycle() {
    let mut rng = Rng(42);
    let mut set = VectorSet::new(16, 9);
    for _ in 0..300 {
        let (a, b) = (rng.byte(), rng.byte());
        let mut input = Bits::zero(16);
        input.set_field(0, 8, a.into()).unwrap();
        input.set_field(8, 8, b.into()).unwrap();
        set.push(Cycle {
            input,
            expect: Some(sum_bits(a + b)),
        })
        .unwrap();
    }
    let sources = [hw("add8_comb/add8_comb.v"), hw("add8_comb/qf_tb_dut.v")];
    let report = run(&sources, &set);
    assert_eq!(report.mismatches, 0, "{report:?}");
    assert_eq!(report.checked, 300);
}

#[test]
fn lint_clean_module_has_no_warnings() {
    let report = lint(&[hw("add8_reg/add8_reg.v")], "add8_reg").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.warnings, Vec::<String>::new());
    let wrapper = lint(&reg_sources(), "qf_tb_dut").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(wrapper.warnings, Vec::<String>::new());
}

#[test]
fn lint_reports_width_mismatch() {
    let report =
        lint(&[hw("width_mismatch.v")], "width_mismatch").unwrap_or_else(|e| panic!("{e}"));
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.starts_with("%Warning-WIDTH")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn replay_checks_many_lanes_per_cycle_and_names_the_failing_lane() {
    // 64 combinational adders side by side: tb_in[16i +: 16] = {b, a}, tb_out[9i +: 9] = a + b.
    const LANES: u32 = 64;
    let mut rng = Rng(7);
    let mut set = VectorSet::new(16 * LANES, 9 * LANES);
    for _ in 0..200 {
        let mut input = Bits::zero(16 * LANES);
        let mut expect = Bits::zero(9 * LANES);
        for lane in 0..LANES {
            let (a, b) = (rng.byte(), rng.byte());
            input.set_field(16 * lane, 8, a.into()).unwrap();
            input.set_field(16 * lane + 8, 8, b.into()).unwrap();
            expect.set_field(9 * lane, 9, (a + b).into()).unwrap();
        }
        set.push(Cycle {
            input,
            expect: Some(expect),
        })
        .unwrap();
    }
    let sources = [hw("add8_comb/add8_comb.v"), hw("add8_lanes/qf_tb_dut.v")];
    let report = run(&sources, &set);
    assert_eq!(report.mismatches, 0, "{report:?}");
    assert_eq!(report.checked, 200);

    // Lane 37 of cycle 120 expects one more than the sum.
    let expect = set.cycles[120].expect.as_mut().unwrap();
    let good = expect.get_field_signed(9 * 37, 9).unwrap();
    expect.set_field(9 * 37, 9, good ^ 1).unwrap();
    let report = run(&sources, &set);
    let failure = report.failure.expect("the planted error must be found");
    assert_eq!(failure.cycle, 120);
    assert_eq!(report.checked, 120);
    assert_eq!(failure.mismatched_bits(), vec![9 * 37]);
}

#[test]
fn replay_writes_a_vcd_on_request() {
    let vcd = scratch!("vcd").join("add8_comb.vcd");
    let mut set = VectorSet::new(16, 9);
    for a in 0..10i64 {
        let mut input = Bits::zero(16);
        input.set_field(0, 8, a.into()).unwrap();
        set.push(Cycle {
            input,
            expect: Some(sum_bits(a)),
        })
        .unwrap();
    }
    let options = ReplayOptions {
        vcd: Some(vcd.clone()),
        ..options()
    };
    let sources = [hw("add8_comb/add8_comb.v"), hw("add8_comb/qf_tb_dut.v")];
    let report = replay_vectors(&sources, &set, &options).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.mismatches, 0);
    let text = std::fs::read_to_string(&vcd).expect("the VCD was written");
    assert!(text.contains("$enddefinitions"), "not a VCD");
    assert!(text.contains("tb_out"), "tb_out not traced");
}

#[test]
fn build_error_carries_verilator_error_lines() {
    let broken = scratch!("broken").join("broken_dut.v");
    std::fs::write(
        &broken,
        "module qf_tb_dut(input wire clk, input wire [15:0] tb_in, output wire [8:0] tb_out);\n\
         assign tb_out = tb_in[8:0] +;\nendmodule\n",
    )
    .unwrap();
    let err = replay_vectors(&[broken], &VectorSet::new(16, 9), &options()).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, qforge::verify::Error::ToolFailed { .. }),
        "{message}"
    );
    assert!(message.contains("%Error"), "{message}");
    assert!(message.contains("broken_dut.v:2"), "{message}");
}

/// The vector files are read as the replay goes: one that ends before the cycle count is a
/// setup error naming it, not a pass over the cycles it has; the same simulator (no depth
/// parameter) replays any count.
#[test]
fn a_vector_file_shorter_than_the_cycle_count_is_an_error_naming_it() {
    use qforge::verify::verilator::{replay, ReplayInput};
    let set = reg_vectors_mealy();
    let dir = scratch!("short_vectors");
    let (stimulus, expected) = (dir.join("s.hex"), dir.join("e.hex"));
    set.write(&stimulus, &expected).unwrap();
    let input = |cycles: u64| ReplayInput {
        sources: reg_sources(),
        in_width: set.in_width,
        out_width: set.out_width,
        cycles,
        stimulus: stimulus.clone(),
        expected: expected.clone(),
    };
    let report = replay(&input(10), &options()).unwrap();
    assert_eq!((report.cycles, report.mismatches), (10, 0));
    let too_many = set.cycles.len() as u64 + 1;
    let err = replay(&input(too_many), &options())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("s.hex ends before cycle {}", set.cycles.len())),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
