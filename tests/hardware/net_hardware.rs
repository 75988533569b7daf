//! The whole-network Verilog against the cycle simulator under Verilator: every output value
//! and the cycle it appears at (valid/ready compared every cycle), for all 450 digits test
//! images, over quantizations × foldings; backpressure; planted faults; Yosys synthesis.
//!
//! Needs Verilator (and Yosys for the synthesis test): without them these tests fail with the
//! one-line "... not found: install it" error. Built simulators are cached under
//! `target/tmp/verilator-cache`, keyed by the sources, so a rerun skips the C++ compiles.

use crate::common;

use qforge::accel::mvu::MvuFault;
use qforge::accel::plan::{plan, ArchSpec, FifoDepth, Folding, LayerArch};
use qforge::accel::unit::Unit;
use qforge::flow::{
    build_net_design, digits_test_codes, quantize_float, write_net_design, NetDesign,
    NetDesignOptions,
};
use qforge::nn::Model;
use qforge::qnn::quantize::QuantSpec;
use qforge::qnn::QNet;
use qforge::verify::manifest::Manifest;
use qforge::verify::verilator::{lint, replay, ReplayInput, ReplayOptions, ReplayReport};
use qforge::verify::yosys::{synth, SynthOptions, SynthReport, Target};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn net(spec: &str) -> QNet {
    quantize_float(&float_model(), &quant_spec(spec)).unwrap()
}

fn float_model() -> Model {
    Model::load(Path::new(ROOT).join("models/digits_mlp.ron")).unwrap()
}

fn quant_spec(file: &str) -> QuantSpec {
    QuantSpec::load(&Path::new(ROOT).join("models").join(file)).unwrap()
}

/// The bundled float model fine-tuned under `spec` by QAT on the digits training images for
/// `epochs` (seed 1), exported.
fn qat_trained(spec: &QuantSpec, epochs: usize) -> QNet {
    let (train, _) = qforge::nn::data::digits::train_test().unwrap();
    let cal = &train.inputs[..spec.calibration_samples * train.sample_size()];
    let mut qat = qforge::qat::QatNet::new(&float_model(), spec, cal).unwrap();
    qforge::qat::train_qat(&mut qat, &train, epochs, 1, |_, _| Ok(())).unwrap();
    qat.export(cal).unwrap()
}

fn arch(file: &str) -> ArchSpec {
    ArchSpec::load(&Path::new(ROOT).join("models").join(file)).unwrap()
}

fn out_dir(name: &str) -> PathBuf {
    scratch!(name).join("design")
}

/// The network's Verilog written to a fresh folder `name` and synthesized for iCE40.
fn synth_ice40(name: &str, net: &qforge::accel::network::NetworkParams) -> SynthReport {
    let dir = out_dir(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut sources = Vec::new();
    for m in net.verilog().unwrap() {
        let f = dir.join(format!("{}.v", m.name));
        std::fs::write(&f, qforge::hdl::print_module(&m)).unwrap();
        sources.push(f);
    }
    synth(
        &sources,
        &net.name(),
        Target::Ice40,
        &SynthOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// [`prove`], then the proof's figures: zero mismatches, as many RTL cycles as simulated, and
/// every cycle after the first compared (out_valid, out_data and in_ready equal the simulator's
/// in every cycle, so every output appears at the predicted cycle).
fn prove_exact(name: &str, design: &NetDesign) {
    let r = prove(name, design);
    assert_eq!(r.mismatches, 0, "{name}: {:?}", r.failure);
    assert_eq!(r.cycles, design.run.report.cycles, "{name}");
    assert_eq!(r.checked, r.cycles - 1, "{name}");
}

fn options() -> ReplayOptions {
    ReplayOptions {
        cache_dir: Some(common::verilator_cache()),
        ..ReplayOptions::default()
    }
}

/// Writes the design folder, lints the design and the wrapper, replays the vectors.
fn prove(name: &str, design: &NetDesign) -> ReplayReport {
    let dir = out_dir(name);
    write_net_design(&dir, design).unwrap();
    let m = Manifest::load(&dir).unwrap();
    let l = lint(&m.design_sources(&dir), &m.top).unwrap_or_else(|e| panic!("{e}"));
    assert!(l.warnings.is_empty(), "{name}: {:?}", l.warnings);
    let l = lint(&m.all_sources(&dir), "qf_tb_dut").unwrap_or_else(|e| panic!("{e}"));
    assert!(l.warnings.is_empty(), "{name}: {:?}", l.warnings);
    let input = ReplayInput {
        sources: m.all_sources(&dir),
        in_width: m.in_width,
        out_width: m.out_width,
        cycles: m.cycles,
        stimulus: dir.join(&m.stimulus),
        expected: dir.join(&m.expected),
    };
    let r = replay(&input, &options()).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "{name}: {} cycles, build {:.1} s{}, run {:.3} s; model {:.3} s",
        r.cycles,
        r.build_seconds,
        if r.cached { " (cached)" } else { "" },
        r.run_seconds,
        design.run.report.seconds
    );
    r
}

fn matrix(spec: &str) {
    let n = net(spec);
    let (codes, _) = digits_test_codes(&n, None).unwrap();
    for (fold, a) in [
        ("parallel", arch("arch_parallel.ron")),
        ("folded", arch("arch_folded.ron")),
        ("mixed", arch("arch_mixed.ron")),
    ] {
        let d = build_net_design(&n, &a, &codes, &NetDesignOptions::default()).unwrap();
        // The simulator equals the golden engine (build_net_design checks it; state it here).
        assert_eq!(d.run.outputs, d.golden);
        assert_eq!(d.images, 450);
        let name = format!("{}_{fold}", spec.trim_end_matches(".ron"));
        prove_exact(&name, &d);
    }
}

#[test]
fn uniform8_all_foldings_match_cycle_for_cycle() {
    matrix("quant_uniform8.ron");
}

#[test]
fn pot4_a4_all_foldings_match_cycle_for_cycle() {
    matrix("quant_pot4_a4.ron");
}

#[test]
fn ternary_a4_all_foldings_match_cycle_for_cycle() {
    matrix("quant_ternary_a4.ron");
}

#[test]
fn apot2_a4_mixed_folding_matches_cycle_for_cycle() {
    let n = net("quant_apot2_a4.ron");
    let (codes, _) = digits_test_codes(&n, None).unwrap();
    let d = build_net_design(
        &n,
        &arch("arch_mixed.ron"),
        &codes,
        &NetDesignOptions::default(),
    )
    .unwrap();
    prove_exact("apot2_a4_mixed", &d);
}

/// Random input gaps and output stalls: the simulator, told the same pattern, still matches the
/// RTL in every cycle.
/// A network trained with quantization-aware training (PoT-4 weights, 4-bit activations, ten
/// epochs of fine-tuning) is an integer network like any other: its folded accelerator equals the
/// cycle simulator in Verilator on all 450 test images, cycle for cycle.
#[test]
fn qat_trained_pot4_a4_network_matches_cycle_for_cycle() {
    let n = qat_trained(&quant_spec("quant_pot4_a4.ron"), 10);
    assert_ne!(n, net("quant_pot4_a4.ron"), "training changed the network");
    let (codes, _) = digits_test_codes(&n, None).unwrap();
    let d = build_net_design(
        &n,
        &arch("arch_folded.ron"),
        &codes,
        &NetDesignOptions::default(),
    )
    .unwrap();
    assert_eq!(d.run.outputs, d.golden);
    assert_eq!(d.images, 450);
    prove_exact("qat_pot4_a4_folded", &d);
}

/// A W1A1 network (binary weights, bipolar hidden activations) trained by QAT for ten epochs:
/// the first layer's binary weights on the 8-bit pixels run on the ternary add/subtract PE and
/// end in a threshold per channel (one bit per lane), the second layer is XNOR-popcount on the
/// bits. Through Verilator on all 450 test images with a folding that has a width converter of
/// 1-bit lanes, every output at its predicted cycle; and synthesizable by Yosys.
#[test]
fn qat_trained_w1a1_network_matches_cycle_for_cycle() {
    let n = qat_trained(&quant_spec("qat_binary_a1.ron"), 10);
    let (codes, _) = digits_test_codes(&n, None).unwrap();
    let d = build_net_design(
        &n,
        &arch("arch_mixed.ron"),
        &codes,
        &NetDesignOptions::default(),
    )
    .unwrap();
    let kinds: Vec<&str> = d.plan.layers.iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(kinds, ["ternary", "binary"]);
    assert!(d.plan.network.stages().iter().any(|s| s.kind() == "wc"));
    assert_eq!(d.run.outputs, d.golden);
    assert_eq!(d.images, 450);
    prove_exact("qat_w1a1_mixed", &d);
    let r = synth_ice40("qat_w1a1_synth", &d.plan.network);
    assert!(r.luts > 0 && r.ffs > 0, "{:?}", r.cells);
}

/// A network pruned in training (half the hidden channels by learned gates, half the weights
/// at zero) is built with the kept channels only and matches in Verilator on all 450 images,
/// every cycle equal; fully folded, the removed channels' weights are cycles no longer spent.
#[test]
fn pruned_qat_network_matches_cycle_for_cycle() {
    let mut spec = quant_spec("qat_channels50_u4.ron");
    spec.training.prune = Some(qforge::quant::training::PruneSpec {
        sparsity: 0.5,
        schedule: qforge::quant::training::PruneSchedule::OneShot,
    });
    let n = qat_trained(&spec, 4);
    assert_eq!(n.layers[0].out_features(), 16);
    let (codes, _) = digits_test_codes(&n, None).unwrap();
    let d = build_net_design(
        &n,
        &arch("arch_folded.ron"),
        &codes,
        &NetDesignOptions::default(),
    )
    .unwrap();
    assert_eq!(d.run.outputs, d.golden);
    assert_eq!(d.images, 450);
    // one weight a cycle: 64 × 16 for the widest layer instead of 64 × 32
    assert_eq!(d.plan.initiation_interval(), 64 * 16);
    prove_exact("pruned_qat_folded", &d);
}

#[test]
fn backpressure_matches_cycle_for_cycle() {
    let n = net("quant_pot4_a4.ron");
    let (codes, _) = digits_test_codes(&n, None).unwrap();
    for (fold, a, seed) in [
        ("mixed", arch("arch_mixed.ron"), 3),
        ("mixed", arch("arch_mixed.ron"), 4),
        ("folded", arch("arch_folded.ron"), 5),
    ] {
        let calm = build_net_design(&n, &a, &codes, &NetDesignOptions::default()).unwrap();
        let d = build_net_design(
            &n,
            &a,
            &codes,
            &NetDesignOptions {
                backpressure: Some(seed),
                ..NetDesignOptions::default()
            },
        )
        .unwrap();
        assert_eq!(d.run.outputs, d.golden);
        // The stalls cost cycles.
        assert!(d.run.report.cycles > calm.run.report.cycles);
        prove_exact(&format!("pot4_a4_{fold}_backpressure{seed}"), &d);
    }
}

/// A wrap-around accumulator narrower than the proven bound, built and replayed.
#[test]
fn narrow_wrapping_accumulator_matches_in_verilator() {
    let n = net("quant_uniform8.ron");
    let a = common::narrowed_arch(
        &n,
        Folding::Explicit,
        [(Some(4), Some(8)), (Some(2), Some(8))],
        qforge::qnn::AccOverflow::Wrap,
        [3, 0],
    );
    let (codes, _) = digits_test_codes(&n, Some(100)).unwrap();
    let d = build_net_design(&n, &a, &codes, &NetDesignOptions::default()).unwrap();
    prove_exact("uniform8_narrow_wrap", &d);
}

/// Saturating accumulators narrower than the proven bound in both layers (the MVUs' PE rows
/// are chains of saturating adders), built and replayed on all 450 images under a mixed
/// folding with SIMD 8, a fully folded and a fully parallel one.
#[test]
fn narrow_saturating_accumulators_match_in_verilator() {
    let n = net("quant_uniform8.ron");
    let narrow = |folding, folds| {
        common::narrowed_arch(
            &n,
            folding,
            folds,
            qforge::qnn::AccOverflow::Saturate,
            [3, 3],
        )
    };
    let (codes, _) = digits_test_codes(&n, None).unwrap();
    let wide = qforge::qnn::Engine::new(&n).unwrap().infer(&codes).unwrap();
    for (fold, a) in [
        (
            "mixed",
            narrow(Folding::Explicit, [(Some(4), Some(8)), (Some(2), Some(8))]),
        ),
        ("folded", narrow(Folding::FullyFolded, [(None, None); 2])),
        (
            "parallel",
            narrow(Folding::FullyParallel, [(None, None); 2]),
        ),
    ] {
        let d = build_net_design(&n, &a, &codes, &NetDesignOptions::default()).unwrap();
        assert_eq!(d.images, 450);
        // The narrowed network saturates: its logits differ from the proven-width network's.
        assert_ne!(d.golden, wide);
        assert_eq!(d.run.outputs, d.golden);
        let name = format!("uniform8_narrow_saturate_{fold}");
        prove_exact(&name, &d);
    }
}

/// Planted faults pass lint and are caught only by the replay.
#[test]
fn planted_faults_are_caught_by_the_replay() {
    let n = net("quant_ternary_a4.ron");
    let (codes, _) = digits_test_codes(&n, Some(20)).unwrap();
    for (name, fault) in [
        ("fold_counter", MvuFault::FoldCounter),
        ("rounding", MvuFault::Rounding),
    ] {
        let d = build_net_design(
            &n,
            &arch("arch_mixed.ron"),
            &codes,
            &NetDesignOptions {
                fault: Some((0, fault)),
                ..NetDesignOptions::default()
            },
        )
        .unwrap();
        let r = prove(&format!("ternary_fault_{name}"), &d);
        assert_eq!(r.mismatches, 1, "{name}: the fault went unnoticed");
        let f = r.failure.unwrap();
        eprintln!("{name}: caught at cycle {}", f.cycle);
    }
}

#[test]
fn small_plan_synthesizes_for_ice40_without_latches() {
    let n = common::tiny_net("tiny");
    let a = ArchSpec {
        folding: Folding::Explicit,
        layers: vec![
            LayerArch {
                index: 0,
                pe: Some(2),
                simd: Some(4),
                acc_bits: None,
                overflow: None,
                memory: None,
            },
            LayerArch {
                index: 1,
                pe: Some(1),
                simd: Some(4),
                acc_bits: None,
                overflow: None,
                memory: None,
            },
        ],
        fifo_depth: FifoDepth::Auto,
        memory: Default::default(),
    };
    let p = plan(&n, &a).unwrap();
    // A width converter (2 → 4 lanes) sits between the layers.
    assert!(p.network.stages().iter().any(|s| s.kind() == "wc"));
    let r = synth_ice40("tiny_synth", &p.network);
    eprintln!("tiny net on ice40: {:?}", r.cells);
    assert!(r.luts > 0 && r.ffs > 0, "{:?}", r.cells);
    // The estimate and synthesis agree on order of magnitude.
    let est = p.network.cost();
    assert!(est.lut > 0 && est.ff > 0);
}

/// The hand-made network (pure-shift requantization, 3-bit outputs, 3-bit uniform weights) with
/// random input codes, three foldings, with and without backpressure.
#[test]
fn small_pure_shift_network_matches_cycle_for_cycle() {
    let n = common::tiny_net("tiny");
    let mut rng = qforge::accel::vectors::Rng::new(9);
    let codes: Vec<i32> = (0..8 * 300).map(|_| rng.below(16) as i32).collect();
    for (name, a) in [
        ("parallel", ArchSpec::target(Folding::FullyParallel)),
        ("folded", ArchSpec::target(Folding::FullyFolded)),
        ("budget6", ArchSpec::target(Folding::PeBudget(6))),
    ] {
        let p = plan(&n, &a).unwrap();
        assert!(!p.layers[0].multiplier, "a pure shift needs no multiplier");
        for bp in [None, Some(21)] {
            let d = build_net_design(
                &n,
                &a,
                &codes,
                &NetDesignOptions {
                    backpressure: bp,
                    ..NetDesignOptions::default()
                },
            )
            .unwrap();
            prove_exact(&format!("tiny_{name}_{bp:?}"), &d);
        }
    }
}

/// The digits CNN's explicit folding: conv PE 2 × SIMD 3 (6 cycles per output pixel), dense
/// PE 5 × SIMD 4.
fn cnn_arch() -> ArchSpec {
    let entry = |index, pe, simd| LayerArch {
        index,
        pe: Some(pe),
        simd: Some(simd),
        acc_bits: None,
        overflow: None,
        memory: None,
    };
    ArchSpec {
        folding: Folding::Explicit,
        layers: vec![entry(0, 2, 3), entry(2, 5, 4)],
        fifo_depth: FifoDepth::Auto,
        memory: Default::default(),
    }
}

/// The explicit folding with the convolution's accumulator 3 bits below its proven bound,
/// saturating after each product as the golden model does.
fn saturating_cnn_arch() -> ArchSpec {
    let n = common::digits_cnn("quant_uniform8.ron");
    let proven = n.certificate_of(0).unwrap().proven_bits;
    let mut a = cnn_arch();
    a.layers[0].acc_bits = Some(proven - 3);
    a.layers[0].overflow = Some(qforge::qnn::AccOverflow::Saturate);
    a
}

/// The digits CNN (conv 1→4 3×3 pad 1, ReLU, max pool 2, dense 64→10) through Verilator on all
/// 450 test images: frame buffers, MVUs and FIFOs equal the simulator in every cycle, for two
/// foldings and two quantizations, under backpressure, and with a narrow saturating
/// convolution accumulator.
#[test]
fn digits_cnn_matches_cycle_for_cycle() {
    for (q, fold, a, bp) in [
        ("quant_pot4_a4.ron", "explicit", cnn_arch(), None),
        (
            "quant_pot4_a4.ron",
            "cycles256",
            ArchSpec::target(Folding::CyclesPerImage(256)),
            None,
        ),
        ("quant_uniform8.ron", "explicit", cnn_arch(), Some(8)),
        (
            "quant_uniform8.ron",
            "saturating",
            saturating_cnn_arch(),
            None,
        ),
    ] {
        let n = common::digits_cnn(q);
        let (codes, _) = digits_test_codes(&n, None).unwrap();
        let d = build_net_design(
            &n,
            &a,
            &codes,
            &NetDesignOptions {
                backpressure: bp,
                ..NetDesignOptions::default()
            },
        )
        .unwrap();
        assert_eq!(d.run.outputs, d.golden);
        assert_eq!(d.images, 450);
        assert!(d.plan.network.stages().iter().any(|s| s.kind() == "fb"));
        let name = format!("cnn_{}_{fold}_{bp:?}", q.trim_end_matches(".ron"));
        prove_exact(&name, &d);
        eprintln!(
            "{name}: {} | {} cycles, interval {}, latency {}",
            d.plan.describe(),
            d.run.report.cycles,
            d.run.report.measured_interval,
            d.run.report.latency
        );
    }
}

/// The hand-made convolution chain (a frame buffer first and last, a stride-2 window, raw
/// accumulators reordered at the end) on random inputs through Verilator, with and without
/// backpressure, and through Yosys for iCE40 without latches or undriven nets.
#[test]
fn strided_conv_chain_matches_cycle_for_cycle_and_synthesizes() {
    let n = common::strided_conv_chain();
    let mut rng = qforge::accel::vectors::Rng::new(12);
    let codes: Vec<i32> = (0..36 * 300).map(|_| rng.below(16) as i32).collect();
    for (name, a) in [
        ("folded", ArchSpec::target(Folding::FullyFolded)),
        ("budget5", ArchSpec::target(Folding::PeBudget(5))),
    ] {
        for bp in [None, Some(13)] {
            let d = build_net_design(
                &n,
                &a,
                &codes,
                &NetDesignOptions {
                    backpressure: bp,
                    ..NetDesignOptions::default()
                },
            )
            .unwrap();
            let kinds: Vec<&str> = d.plan.network.stages().iter().map(|s| s.kind()).collect();
            assert_eq!((kinds[0], kinds[kinds.len() - 1]), ("fb", "fb"));
            prove_exact(&format!("conv_chain_{name}_{bp:?}"), &d);
        }
    }
    let p = plan(&n, &ArchSpec::target(Folding::PeBudget(5))).unwrap();
    let r = synth_ice40("conv_chain_synth", &p.network);
    eprintln!(
        "conv chain on ice40: {} LUT4, {} FF; estimate {:?}",
        r.luts,
        r.ffs,
        p.network.cost()
    );
    assert!(r.luts > 0 && r.ffs > 0, "{:?}", r.cells);
}

/// A VCD read back: each signal's changes (time in ps, value digits without leading zeros),
/// by its full scope path (`qf_replay_tb.dut.u0.in_data`).
fn read_vcd(path: &Path) -> std::collections::HashMap<String, Vec<(u64, String)>> {
    use std::collections::HashMap;
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut tokens = text.split_whitespace().peekable();
    let (mut scope, mut names) = (Vec::new(), HashMap::<String, Vec<String>>::new());
    let mut by_id = HashMap::<String, Vec<(u64, String)>>::new();
    let (mut scale_ps, mut time) = (1u64, 0u64);
    let digits = |v: &str| match v.trim_start_matches('0') {
        "" => "0".to_string(),
        s => s.to_string(),
    };
    while let Some(tok) = tokens.next() {
        match tok {
            "$timescale" => {
                let mut spec = String::new();
                for t in tokens.by_ref().take_while(|&t| t != "$end") {
                    spec.push_str(t);
                }
                let unit = spec.trim_start_matches(|c: char| c.is_ascii_digit());
                let n: u64 = spec[..spec.len() - unit.len()].parse().unwrap();
                let per = match unit {
                    "fs" => 0,
                    "ps" => 1,
                    "ns" => 1_000,
                    "us" => 1_000_000,
                    _ => panic!("time scale {spec}"),
                };
                scale_ps = n * per;
                assert!(scale_ps > 0, "time scale {spec} finer than 1 ps");
            }
            "$scope" => {
                let _kind = tokens.next();
                scope.push(tokens.next().unwrap().to_string());
                assert_eq!(tokens.next(), Some("$end"));
            }
            "$upscope" => {
                scope.pop();
                assert_eq!(tokens.next(), Some("$end"));
            }
            "$var" => {
                let fields: Vec<&str> = tokens.by_ref().take_while(|&t| t != "$end").collect();
                let (id, name) = (fields[2], fields[3]);
                let full = format!("{}.{name}", scope.join("."));
                names.entry(id.to_string()).or_default().push(full);
            }
            "$date" | "$version" | "$comment" => {
                for _ in tokens.by_ref().take_while(|&t| t != "$end") {}
            }
            "$enddefinitions" | "$dumpvars" | "$dumpall" | "$dumpon" | "$dumpoff" | "$end" => {}
            t if t.starts_with('#') => time = t[1..].parse::<u64>().unwrap() * scale_ps,
            t if t.starts_with(['b', 'B']) => {
                let id = tokens.next().unwrap();
                by_id
                    .entry(id.to_string())
                    .or_default()
                    .push((time, digits(&t[1..])));
            }
            t => {
                let (v, id) = t.split_at(1);
                by_id
                    .entry(id.to_string())
                    .or_default()
                    .push((time, v.to_string()));
            }
        }
    }
    let mut out = HashMap::new();
    for (id, paths) in names {
        let changes = by_id.remove(&id).unwrap_or_default();
        for p in paths {
            out.insert(p, changes.clone());
        }
    }
    out
}

/// The value of a signal at `time_ps`: its last change at or before it.
fn value_at(changes: &[(u64, String)], time_ps: u64) -> &str {
    let n = changes.partition_point(|(t, _)| *t <= time_ps);
    n.checked_sub(1).map_or("(none)", |i| changes[i].1.as_str())
}

/// The simulator's VCD against Verilator's trace of the same design and images: every signal
/// the simulator writes (the top's ports, each stage's handshake) has the RTL's name and the
/// RTL's value in every cycle, bit for bit, the 256-bit input bus included (wider than 128 bits).
/// `out_data` is compared while `out_valid` is high: otherwise the RTL's value is unspecified
/// (the wrapper masks it) and the simulator shows the next output there.
#[test]
fn vcd_equals_verilators_trace_bit_for_bit_on_a_wide_bus() {
    let n = net("quant_pot4_a4.ron");
    let (codes, _) = digits_test_codes(&n, Some(3)).unwrap();
    let dir = out_dir("vcd_vs_rtl");
    std::fs::create_dir_all(&dir).unwrap();
    let ours = dir.join("model.vcd");
    let with_vcd = NetDesignOptions {
        vcd: Some(ours.clone()),
        ..NetDesignOptions::default()
    };
    let d = build_net_design(&n, &ArchSpec::balanced_default(), &codes, &with_vcd).unwrap();
    let design_dir = dir.join("design");
    write_net_design(&design_dir, &d).unwrap();
    let m = Manifest::load(&design_dir).unwrap();
    let rtl = dir.join("rtl.vcd");
    let _ = std::fs::remove_file(&rtl);
    let input = ReplayInput {
        sources: m.all_sources(&design_dir),
        in_width: m.in_width,
        out_width: m.out_width,
        cycles: m.cycles,
        stimulus: design_dir.join(&m.stimulus),
        expected: design_dir.join(&m.expected),
    };
    let replay_options = ReplayOptions {
        vcd: Some(rtl.clone()),
        ..options()
    };
    let r = replay(&input, &replay_options).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.mismatches, 0, "{:?}", r.failure);
    // Both waveforms were written beside their paths and renamed into place.
    let temps: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("qforge-tmp"))
        .collect();
    assert!(temps.is_empty(), "{temps:?}");
    // A folder at the waveform's path is refused before the simulator runs, and left alone.
    let folder = dir.join("a_folder.vcd");
    std::fs::create_dir_all(&folder).unwrap();
    let refused = replay(
        &input,
        &ReplayOptions {
            vcd: Some(folder.clone()),
            ..options()
        },
    );
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("it is a folder")),
        "{refused:?}"
    );
    assert!(folder.is_dir());

    let model = read_vcd(&ours);
    let verilator = read_vcd(&rtl);
    let top = d.plan.network.name();
    let width_of = |name: &str| {
        let text = std::fs::read_to_string(&ours).unwrap();
        text.lines()
            .find(|l| l.ends_with(&format!(" {name} $end")))
            .and_then(|l| l.split_whitespace().nth(2)?.parse::<u32>().ok())
            .unwrap()
    };
    assert!(
        width_of("in_data") > 128,
        "the test needs a bus wider than 128 bits"
    );
    let mut wide_seen = false;
    let mut compared = 0;
    let out_valid = &model[&format!("{top}.out_valid")];
    for (path, ours) in &model {
        let name = path.strip_prefix(&format!("{top}.")).unwrap();
        // Verilator's scopes: TOP.qf_replay_tb.dut (the wrapper).u0 (the network's top).
        let theirs = verilator
            .get(&format!("TOP.qf_replay_tb.dut.u0.{name}"))
            .unwrap_or_else(|| panic!("{name} is not a signal of the RTL's top"));
        // From cycle 1 on: before the first reset edge the RTL's registers are unknown. Both
        // are sampled 2 ns into the cycle, after the inputs change and before the clock edge.
        for t in 1..d.run.report.cycles {
            let at = (t * 10 + 2) * 1000;
            let (a, b) = (value_at(ours, at), value_at(theirs, at));
            if name == "out_data" && value_at(out_valid, at) != "1" {
                continue;
            }
            assert_eq!(a, b, "{name} differs in cycle {t}");
            wide_seen |= name == "in_data" && a.len() > 128;
        }
        compared += 1;
    }
    assert_eq!(compared, 7 + 2 * d.plan.network.stages().len());
    assert!(wide_seen, "no input chunk used the bits above 128");
}
