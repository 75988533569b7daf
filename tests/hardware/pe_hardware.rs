//! PEs in the external tools: Verilator lint (`-Wall`, zero warnings), cycle-level replay against
//! the behaviour model over 100,000 random cycles plus the named corner cases per configuration,
//! Yosys synthesis without latches, and a planted fault that only the replay can catch.
//!
//! Needs Verilator and Yosys (`.ci/run` installs them); without them these tests fail with one
//! line naming the missing tool.
//!
//! Many configurations share one Verilator build: a `qf_tb_dut` wrapper instantiates them side by
//! side, so the grid costs a few C++ compiles instead of one per configuration.

use qforge::accel::pe_array::array_ports;
use qforge::accel::vectors::{
    pe_stimulus, pe_stimulus_lanes, replay_sources, replay_wrapper, Part,
};
use qforge::accel::{Fault, Overflow, PeArrayParams, PeParams, Unit};
use qforge::hdl::{print_module, Module};
use qforge::num::codes::{ApotFormat, PotFormat};
use qforge::num::weights::WeightCode;
use qforge::verify::tools::{locate, run, Tool};
use qforge::verify::verilator::{lint, replay_vectors, ReplayOptions, ReplayReport};
use std::path::{Path, PathBuf};
use std::time::Duration;

const CYCLES: usize = 100_000;

fn write_modules(dir: &Path, modules: &[Module]) -> Vec<PathBuf> {
    modules
        .iter()
        .map(|m| {
            let p = dir.join(format!("{}.v", m.name));
            std::fs::write(&p, print_module(m)).unwrap();
            p
        })
        .collect()
}

fn tool_or_fail(tool: Tool) {
    if let Err(e) = locate(tool) {
        panic!("{e}");
    }
}

/// Lints every design module on its own and the wrapper over all of them, then replays.
fn lint_and_replay(name: &str, parts: &[Part]) -> ReplayReport {
    lint_and_replay_with(name, parts, &[])
}

/// The same, with hand-written sources read before the generated ones.
fn lint_and_replay_with(name: &str, parts: &[Part], extra: &[PathBuf]) -> ReplayReport {
    tool_or_fail(Tool::Verilator);
    let dir = scratch!(name);
    let (wrapper, trace) = replay_wrapper(parts).unwrap();
    let modules = replay_sources(parts, &wrapper);
    let mut files = extra.to_vec();
    files.extend(write_modules(&dir, &modules));
    let modules: Vec<Module> = extra
        .iter()
        .map(|f| Module {
            name: f.file_stem().unwrap().to_string_lossy().to_string(),
            header: Vec::new(),
            ports: Vec::new(),
            items: Vec::new(),
        })
        .chain(modules)
        .collect();
    for (m, f) in modules.iter().zip(&files) {
        if m.name == "qf_tb_dut" {
            continue;
        }
        // A module with its dependencies: every file up to and including it.
        let upto: Vec<PathBuf> = files[..=files.iter().position(|x| x == f).unwrap()].to_vec();
        let report = lint(&upto, &m.name).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            report.warnings.is_empty(),
            "{}: {:#?}",
            m.name,
            report.warnings
        );
    }
    let report = lint(&files, "qf_tb_dut").unwrap_or_else(|e| panic!("{e}"));
    assert!(
        report.warnings.is_empty(),
        "wrapper: {:#?}",
        report.warnings
    );
    let options = ReplayOptions {
        jobs: 2,
        ..Default::default()
    };
    replay_vectors(&files, &trace, &options).unwrap_or_else(|e| panic!("{e}"))
}

fn uniform(w: u32) -> WeightCode {
    WeightCode::uniform(w).unwrap()
}

fn pot(e: u32, signed: bool, zero: bool) -> WeightCode {
    WeightCode::Pot(PotFormat::new(e, signed, zero).unwrap())
}

fn apot(bits: u32, terms: u32, signed: bool) -> WeightCode {
    WeightCode::Apot(ApotFormat::li2020(bits, terms, signed).unwrap())
}

/// A PE; `acc` 0 means the narrowest accumulator the configuration allows.
#[allow(clippy::too_many_arguments)]
fn pe(
    kind: WeightCode,
    a: u32,
    signed: bool,
    simd: u32,
    acc: u32,
    o: Overflow,
    ir: bool,
    or: bool,
) -> PeParams {
    let acc = if acc == 0 {
        // find the narrowest accepted width
        (1..=64)
            .find(|&w| PeParams::new(kind.clone(), a, signed, simd, w, o).is_ok())
            .unwrap()
    } else {
        acc
    };
    PeParams::new(kind, a, signed, simd, acc, o)
        .unwrap()
        .with_input_reg(ir)
        .with_output_reg(or)
}

/// The grid: every kind; activations 2, 4, 8, 16 bits, signed and unsigned; weights 1 to 8 bits;
/// SIMD 1, 4, 8 (and 64 for binary); accumulators from the narrowest allowed to generous; wrap
/// and saturate (at once, or after each product from a start value); with and without input and
/// output registers.
fn grid() -> Vec<Vec<PeParams>> {
    use Overflow::{Saturate as S, SaturateEach as E, Wrap as W};
    let uniform_group = vec![
        pe(uniform(1), 2, true, 1, 0, W, false, false),
        pe(uniform(2), 4, true, 4, 0, S, false, false),
        pe(uniform(3), 8, true, 8, 0, S, false, false),
        pe(uniform(4), 16, true, 4, 40, W, true, false),
        pe(uniform(5), 8, false, 1, 14, S, false, true),
        pe(uniform(6), 4, false, 8, 0, W, false, false),
        pe(uniform(7), 8, true, 4, 32, S, true, true),
        pe(uniform(8), 8, true, 8, 24, W, false, false),
        pe(uniform(8), 16, true, 1, 0, S, false, false),
        pe(uniform(8), 2, false, 4, 0, S, false, false),
        pe(WeightCode::Ternary, 2, true, 1, 0, W, false, false),
        pe(WeightCode::Ternary, 4, true, 4, 0, S, false, false),
        pe(WeightCode::Ternary, 8, true, 8, 0, W, false, false),
    ];
    let shift_group = vec![
        pe(pot(3, true, true), 8, true, 8, 20, S, false, false),
        pe(pot(1, true, true), 2, true, 1, 0, W, false, false),
        pe(pot(2, true, true), 4, true, 4, 0, S, false, false),
        pe(pot(4, true, true), 16, true, 8, 48, W, false, false),
        pe(pot(3, false, true), 8, false, 4, 0, W, false, false),
        pe(pot(2, true, false), 8, true, 1, 0, S, true, false),
        pe(pot(4, true, true), 4, true, 8, 0, W, false, true),
        pe(pot(1, true, true), 16, false, 4, 0, S, false, false),
        pe(apot(2, 2, true), 8, true, 4, 0, S, false, false),
        pe(apot(1, 2, true), 4, true, 8, 0, W, false, false),
        pe(apot(2, 3, true), 2, true, 1, 0, S, false, false),
        pe(apot(2, 2, true), 16, true, 8, 50, W, true, false),
        pe(apot(3, 1, false), 8, false, 4, 0, S, false, false),
        pe(apot(3, 2, true), 4, true, 1, 30, W, false, true),
    ];
    let xnor_group = vec![
        pe(WeightCode::Binary, 1, true, 1, 0, W, false, false),
        pe(WeightCode::Binary, 1, true, 4, 0, S, false, false),
        pe(WeightCode::Binary, 1, true, 8, 8, W, false, false),
        pe(WeightCode::Binary, 1, true, 64, 0, S, false, false),
        pe(WeightCode::Binary, 1, true, 64, 10, W, true, true),
        pe(WeightCode::Ternary, 16, true, 8, 24, S, false, true),
        pe(WeightCode::Ternary, 8, false, 4, 0, S, true, false),
        pe(WeightCode::Ternary, 4, false, 1, 12, W, false, false),
    ];
    let chain_group = vec![
        pe(uniform(4), 4, true, 4, 0, E, false, false),
        pe(uniform(8), 8, false, 8, 20, E, true, false),
        pe(pot(3, true, true), 8, true, 8, 0, E, false, true),
        pe(pot(2, true, false), 4, false, 1, 0, E, false, false),
        pe(apot(2, 2, true), 8, true, 4, 0, E, false, false),
        pe(apot(1, 3, false), 4, true, 8, 14, E, true, true),
        pe(WeightCode::Ternary, 4, true, 8, 0, E, false, false),
        pe(WeightCode::Ternary, 8, false, 1, 0, E, false, false),
    ];
    vec![uniform_group, shift_group, xnor_group, chain_group]
}

fn grid_parts(configs: &[PeParams], seed: u64) -> Vec<Part> {
    configs
        .iter()
        .enumerate()
        .map(|(k, p)| Part::pe(p, &pe_stimulus(p, CYCLES, seed + k as u64)).unwrap())
        .collect()
}

#[test]
fn pe_grid_lints_clean_and_replays_without_mismatch() {
    let groups = grid();
    let mut seen = std::collections::BTreeSet::new();
    for (g, configs) in groups.iter().enumerate() {
        for c in configs {
            assert!(seen.insert(c.name()), "{} twice in the grid", c.name());
        }
        let parts = grid_parts(configs, 1000 * g as u64);
        let report = lint_and_replay(&format!("grid{g}"), &parts);
        assert_eq!(report.mismatches, 0, "group {g}: {:?}", report.failure);
        assert_eq!(report.checked, CYCLES as u64 - 1);
        eprintln!(
            "group {g}: {} configs, build {:.1} s, run {:.1} s",
            configs.len(),
            report.build_seconds,
            report.run_seconds
        );
    }
}

#[test]
fn pe_arrays_lint_clean_and_replay_without_mismatch() {
    let rows = [
        (
            pe(
                pot(3, true, true),
                8,
                true,
                4,
                20,
                Overflow::Saturate,
                false,
                false,
            ),
            4,
        ),
        (
            pe(uniform(4), 4, true, 8, 0, Overflow::Wrap, false, false),
            2,
        ),
        (
            pe(
                pot(2, true, true),
                4,
                true,
                4,
                0,
                Overflow::SaturateEach,
                false,
                false,
            ),
            3,
        ),
        (
            pe(
                WeightCode::Ternary,
                4,
                true,
                4,
                0,
                Overflow::Saturate,
                true,
                true,
            ),
            3,
        ),
    ];
    let parts: Vec<Part> = rows
        .iter()
        .enumerate()
        .map(|(k, (row, n))| {
            let array = PeArrayParams::new(row.clone(), *n).unwrap();
            let inputs = pe_stimulus_lanes(row, row.simd() * n, 20_000, 77 + k as u64);
            Part::from_unit(&array, inputs.iter().map(|i| array_ports(&array, i))).unwrap()
        })
        .collect();
    let report = lint_and_replay("arrays", &parts);
    assert_eq!(report.mismatches, 0, "{:?}", report.failure);
}

#[test]
fn reversed_sign_extension_passes_lint_but_fails_replay() {
    let good = pe(
        pot(3, true, true),
        8,
        true,
        4,
        24,
        Overflow::Wrap,
        false,
        false,
    );
    let bad = good.clone().with_fault(Fault::ReversedSignExtension);
    let inputs = pe_stimulus(&good, 5_000, 3);
    // The model is the same for both; only the Verilog differs.
    let part = Part::pe(&bad, &inputs).unwrap();
    let report = lint_and_replay("fault", &[part]);
    assert_eq!(report.mismatches, 1, "the planted fault went unnoticed");
    let failure = report.failure.expect("a failing cycle");
    assert!(failure.cycle > 0);
    // and the same stimulus passes on the real design
    let part = Part::pe(&good, &inputs).unwrap();
    assert_eq!(lint_and_replay("fault_control", &[part]).mismatches, 0);
}

fn yosys_no_latches(name: &str, modules: &[Module]) {
    tool_or_fail(Tool::Yosys);
    let dir = scratch!(&format!("yosys_{name}"));
    let files = write_modules(&dir, modules);
    let top = &modules.last().unwrap().name;
    let reads: String = files
        .iter()
        .map(|f| format!("read_verilog {}; ", f.display()))
        .collect();
    let script = format!(
        "{reads} hierarchy -check -top {top}; proc; \
         select -assert-none t:$dlatch t:$adlatch t:$dlatchsr t:$_DLATCH_*; \
         synth_ice40 -top {top}; select -assert-none t:$_DLATCH_* t:$dlatch; check -assert; stat"
    );
    let yosys = locate(Tool::Yosys).unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = yosys.command();
    cmd.args(["-q", "-p", &script]);
    let out = run(Tool::Yosys, cmd, Duration::from_secs(600)).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.success,
        "{name}: yosys failed:\n{}{}",
        out.stdout, out.stderr
    );
    assert!(!out.stdout.contains("Latch inferred") && !out.stderr.contains("Latch inferred"));
}

#[test]
fn yosys_synthesizes_every_kind_without_latches() {
    let o = Overflow::Saturate;
    let configs = [
        pe(uniform(4), 8, true, 4, 0, o, true, true),
        pe(pot(3, true, true), 8, true, 4, 0, o, false, false),
        pe(
            apot(2, 2, true),
            8,
            true,
            2,
            0,
            Overflow::Wrap,
            false,
            false,
        ),
        pe(WeightCode::Binary, 1, true, 16, 0, o, false, false),
        pe(
            WeightCode::Ternary,
            8,
            false,
            4,
            0,
            Overflow::Wrap,
            false,
            false,
        ),
    ];
    for c in &configs {
        yosys_no_latches(&c.name(), &c.verilog().unwrap());
    }
    let array = PeArrayParams::new(configs[1].clone(), 2).unwrap();
    yosys_no_latches(&array.name(), &array.verilog().unwrap());
}

#[test]
fn hand_written_reference_pes_equal_the_model() {
    // The area comparison in BENCHMARKS.md is only fair if the hand-written PEs compute the same
    // function as the generated ones: replay them against the generated PEs' model.
    let refs = [
        (
            "ref_pe_uniform_a8_w8_acc24",
            pe(uniform(8), 8, true, 1, 24, Overflow::Wrap, true, false),
        ),
        (
            "ref_pe_pot_a8_e3_acc20",
            pe(
                pot(3, true, true),
                8,
                true,
                1,
                20,
                Overflow::Wrap,
                true,
                false,
            ),
        ),
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("hdl/reference");
    let mut files = Vec::new();
    let mut parts = Vec::new();
    for (k, (name, params)) in refs.iter().enumerate() {
        let mut part = Part::pe(params, &pe_stimulus(params, 20_000, 40 + k as u64)).unwrap();
        part.top.name = name.to_string();
        part.modules.clear();
        files.push(root.join(format!("{name}.v")));
        parts.push(part);
    }
    let report = lint_and_replay_with("references", &parts, &files);
    assert_eq!(report.mismatches, 0, "{:?}", report.failure);
}

#[test]
fn ir_snapshot_lints_clean() {
    tool_or_fail(Tool::Verilator);
    let snap = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/hdl/snapshots/qf_tiny_mac.v");
    let report = lint(&[snap], "qf_tiny_mac").unwrap_or_else(|e| panic!("{e}"));
    assert!(report.warnings.is_empty(), "{:#?}", report.warnings);
}
