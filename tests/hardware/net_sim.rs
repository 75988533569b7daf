//! The whole-network cycle simulator against the golden integer engine (no Verilator needed),
//! and the rules of hardware plans.
//!
//! Expected values come from `qforge::qnn::Engine` (the golden bit-exact inference, tested
//! against external references in `qnn_golden.rs`) or are worked out by hand here; never from
//! the simulator itself.

use crate::common;

use qforge::accel::frame_buffer::{FrameShape, Layout, ReadSequence};
use qforge::accel::network::Stage;
use qforge::accel::plan::{plan, ArchSpec, FifoDepth, Folding, LayerArch, PlanError};
use qforge::accel::sim::{simulate, Backpressure, Datapath, SimOptions, SimReport};
use qforge::accel::Unit;
use qforge::flow::{digits_test_codes, quantize_float};
use qforge::nn::Model;
use qforge::qnn::quantize::QuantSpec;
use qforge::qnn::{AccOverflow, Engine, Layer, LayerOutput, QNet, WeightCode};
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn net(spec: &str) -> QNet {
    let model = Model::load(Path::new(ROOT).join("models/digits_mlp.ron")).unwrap();
    let spec = QuantSpec::load(&Path::new(ROOT).join("models").join(spec)).unwrap();
    quantize_float(&model, &spec).unwrap()
}

fn arch(file: &str) -> ArchSpec {
    ArchSpec::load(&Path::new(ROOT).join("models").join(file)).unwrap()
}

fn rule(result: Result<qforge::accel::plan::Plan, PlanError>) -> String {
    match result {
        Err(e) => e.to_string(),
        Ok(p) => panic!("expected an error, got a plan: {}", p.describe()),
    }
}

/// Every quantization × folding, all 450 test images: the simulator's logits equal the golden
/// engine's, with and without backpressure.
#[test]
fn simulator_logits_equal_golden_on_all_digits_test_images() {
    for q in [
        "quant_uniform8.ron",
        "quant_pot4_a4.ron",
        "quant_apot2_a4.ron",
        "quant_ternary_a4.ron",
    ] {
        let n = net(q);
        let (codes, _) = digits_test_codes(&n, None).unwrap();
        assert_eq!(codes.len(), 450 * 64);
        for a in [
            arch("arch_parallel.ron"),
            arch("arch_folded.ron"),
            arch("arch_mixed.ron"),
            ArchSpec::balanced_default(),
            ArchSpec::target(Folding::PeBudget(24)),
        ] {
            let p = plan(&n, &a).unwrap();
            let golden = Engine::new(&p.net).unwrap().infer(&codes).unwrap();
            for bp in [None, Some(Backpressure::new(11))] {
                let opts = SimOptions {
                    backpressure: bp,
                    ..SimOptions::default()
                };
                let run = simulate(&p.network, &codes, &opts).unwrap();
                common::assert_same_outputs(
                    &format!("{q} {}", p.describe()),
                    &run.outputs,
                    &golden,
                    10,
                );
                let r = &run.report;
                assert_eq!(r.images, 450);
                assert_eq!(r.done_at.len(), 450);
                if bp.is_none() {
                    // Back to back, the slowest layer sets the pace exactly.
                    assert_eq!(
                        r.measured_interval,
                        p.initiation_interval(),
                        "{q} {}",
                        p.describe()
                    );
                    // Every layer computes fold cycles per image, no more.
                    for l in &r.layers {
                        assert_eq!(l.busy, 450 * l.fold);
                    }
                    // Total cycles: 2 reset cycles, the first image's latency, then one
                    // interval per further image.
                    assert_eq!(
                        r.cycles,
                        2 + r.latency + 449 * p.initiation_interval(),
                        "{q} {}",
                        p.describe()
                    );
                }
            }
        }
    }
}

/// Everything but the wall-clock time.
fn comparable(r: &SimReport) -> String {
    let mut r = r.clone();
    r.seconds = 0.0;
    r.stepped_cycles = 0;
    format!("{r:?}")
}

/// The fast paths (values of whole streams at once, quiet stretches and repeated steady-state
/// periods crossed at once) against the slow reference: every unit's model computing its values
/// while stepping every single cycle. Outputs, cycles, per-layer counters and every image's
/// completion cycle must be identical, and the fast path must really have skipped cycles.
#[test]
fn fast_paths_equal_stepping_every_cycle() {
    for q in [
        "quant_uniform8.ron",
        "quant_pot4_a4.ron",
        "quant_ternary_a4.ron",
    ] {
        let n = net(q);
        let (codes, _) = digits_test_codes(&n, Some(120)).unwrap();
        for a in [
            arch("arch_parallel.ron"),
            arch("arch_folded.ron"),
            arch("arch_mixed.ron"),
            ArchSpec::balanced_default(),
            ArchSpec::target(Folding::PeBudget(24)),
        ] {
            let p = plan(&n, &a).unwrap();
            check_fast_paths(&p, &codes, q);
        }
    }
}

/// The fast paths of `p` on `codes` against stepping every cycle with every model computing
/// its values (see [`fast_paths_equal_stepping_every_cycle`]).
fn check_fast_paths(p: &qforge::accel::plan::Plan, codes: &[i32], q: &str) {
    for bp in [None, Some(Backpressure::new(5))] {
        let reference = simulate(
            &p.network,
            codes,
            &SimOptions {
                backpressure: bp,
                datapath: Datapath::Stepped,
                every_cycle: true,
                ..SimOptions::default()
            },
        )
        .unwrap();
        assert_eq!(reference.report.stepped_cycles, reference.report.cycles);
        for (datapath, every_cycle) in [
            (Datapath::Batched, false),
            (Datapath::Batched, true),
            (Datapath::Stepped, false),
        ] {
            let run = simulate(
                &p.network,
                codes,
                &SimOptions {
                    backpressure: bp,
                    datapath,
                    every_cycle,
                    ..SimOptions::default()
                },
            )
            .unwrap();
            let what = format!("{q} {} {bp:?} {datapath:?} {every_cycle}", p.describe());
            assert_eq!(run.outputs, reference.outputs, "{what}");
            assert_eq!(
                comparable(&run.report),
                comparable(&reference.report),
                "{what}"
            );
            if bp.is_none() && !every_cycle && datapath == Datapath::Batched {
                // Many images back to back: all but the first few periods repeat.
                assert!(
                    run.report.stepped_cycles * 4 < run.report.cycles,
                    "{what}: {} of {} cycles stepped",
                    run.report.stepped_cycles,
                    run.report.cycles
                );
            }
        }
    }
}

/// The same for convolutional networks: frame buffers first, in the middle and last.
#[test]
fn cnn_fast_paths_equal_stepping_every_cycle() {
    let n = common::digits_cnn("quant_pot4_a4.ron");
    let (codes, _) = digits_test_codes(&n, Some(60)).unwrap();
    for a in [
        ArchSpec::target(Folding::CyclesPerImage(256)),
        ArchSpec::target(Folding::FullyParallel),
    ] {
        check_fast_paths(&plan(&n, &a).unwrap(), &codes, "digits cnn");
    }
    let chain = common::strided_conv_chain();
    let mut rng = qforge::accel::vectors::Rng::new(6);
    let codes: Vec<i32> = (0..36 * 60).map(|_| rng.below(16) as i32).collect();
    for a in [
        ArchSpec::target(Folding::FullyFolded),
        ArchSpec::target(Folding::PeBudget(5)),
    ] {
        check_fast_paths(&plan(&chain, &a).unwrap(), &codes, "conv chain");
    }
}

#[test]
fn fully_parallel_latency_by_hand() {
    // One cycle per layer to compute, one to register the output, one FIFO cycle between:
    // input accepted at t, layer 0 accumulates at t, its output register at t + 2, FIFO at
    // t + 3, layer 1 fires at t + 3, output valid at t + 5; latency counts both ends: 6.
    let n = net("quant_pot4_a4.ron");
    let p = plan(&n, &arch("arch_parallel.ron")).unwrap();
    let (codes, _) = digits_test_codes(&n, Some(3)).unwrap();
    let run = simulate(&p.network, &codes, &SimOptions::default()).unwrap();
    assert_eq!(run.report.latency, 6);
    assert_eq!(run.report.measured_interval, 1);
    assert_eq!(run.report.cycles, 2 + 6 + 2);
}

#[test]
fn folding_targets_by_hand() {
    let n = net("quant_pot4_a4.ron");
    let p = plan(&n, &ArchSpec::target(Folding::FullyFolded)).unwrap();
    assert_eq!(p.describe(), "l0 p1 s1 f2048 | l1 p1 s1 f320 | ii 2048");
    let p = plan(&n, &ArchSpec::target(Folding::FullyParallel)).unwrap();
    assert_eq!(p.describe(), "l0 p32 s64 f1 | l1 p10 s32 f1 | ii 1");
    // 64 cycles: layer 0 needs 2048 / 64 = 32 lanes, layer 1 needs 320 / 64 = 5 lanes (pe 5,
    // simd 1: 5 divides 10, and no 5-lane split of simd divides 32).
    let p = plan(&n, &ArchSpec::target(Folding::CyclesPerImage(64))).unwrap();
    assert_eq!(p.initiation_interval(), 64);
    assert_eq!(p.lanes(), 32 + 5);
    // A budget: the smallest interval whose fewest-lane foldings fit, checked by brute force.
    for budget in [2u64, 7, 24, 40, 100, 2368] {
        let p = plan(&n, &ArchSpec::target(Folding::PeBudget(budget))).unwrap();
        assert!(p.lanes() <= budget, "budget {budget}: {}", p.describe());
        let best = (1..=2048u64)
            .filter(|&ii| {
                let need = |mw: u64, mh: u64| -> u64 {
                    let mut best = u64::MAX;
                    for pe in (1..=mh).filter(|d| mh.is_multiple_of(*d)) {
                        for simd in (1..=mw).filter(|d| mw.is_multiple_of(*d)) {
                            if (mh / pe) * (mw / simd) <= ii {
                                best = best.min(pe * simd);
                            }
                        }
                    }
                    best
                };
                need(64, 32) + need(32, 10) <= budget
            })
            .min()
            .unwrap();
        assert_eq!(p.initiation_interval(), best, "budget {budget}");
    }
}

#[test]
fn fifo_depths_are_chosen_by_simulation_and_at_least_two() {
    let n = net("quant_pot4_a4.ron");
    let p = plan(&n, &arch("arch_mixed.ron")).unwrap();
    assert_eq!(p.fifo_depths.len(), 1);
    assert!(p.fifo_depths[0] >= 2);
    let mut a = arch("arch_mixed.ron");
    a.fifo_depth = FifoDepth::Depth(5);
    assert_eq!(plan(&n, &a).unwrap().fifo_depths, vec![5]);
}

#[test]
fn illegal_plans_are_rejected_with_the_value_and_the_rule() {
    let n = net("quant_pot4_a4.ron");
    let explicit = |layers: Vec<LayerArch>| ArchSpec {
        folding: Folding::FullyFolded,
        layers,
        fifo_depth: FifoDepth::Auto,
        memory: Default::default(),
    };
    let entry = |index, pe, simd| LayerArch {
        index,
        pe,
        simd,
        acc_bits: None,
        overflow: None,
        memory: None,
    };
    assert_eq!(
        rule(plan(&n, &explicit(vec![entry(0, Some(3), None)]))),
        "pe (3) must divide out_features (32) of layer 0"
    );
    assert_eq!(
        rule(plan(&n, &explicit(vec![entry(1, None, Some(5))]))),
        "simd (5) must divide in_features (32) of layer 1"
    );
    assert_eq!(
        rule(plan(&n, &explicit(vec![entry(4, None, None)]))),
        "layer index (4) must be below the number of layers (2)"
    );
    let no_fold = ArchSpec {
        folding: Folding::Explicit,
        layers: vec![entry(0, Some(1), Some(1))],
        fifo_depth: FifoDepth::Auto,
        memory: Default::default(),
    };
    assert_eq!(
        rule(plan(&n, &no_fold)),
        "folding explicit needs pe and simd for layer 1"
    );
    assert_eq!(
        rule(plan(&n, &ArchSpec::target(Folding::PeBudget(1)))),
        "pe_budget (1) must be at least the 2 lanes of a fully folded plan"
    );
    // An accumulator below the proven bound needs an explicit overflow mode.
    let proven = n.certificates()[0].proven_bits;
    let narrow = |overflow| {
        explicit(vec![LayerArch {
            acc_bits: Some(proven - 2),
            overflow,
            ..entry(0, None, None)
        }])
    };
    assert_eq!(
        rule(plan(&n, &narrow(None))),
        format!(
            "acc_bits ({}) of layer 0 is below the proven bound ({proven} bits); state overflow: wrap or saturate to accept overflow",
            proven - 2
        )
    );
    // With an overflow mode stated, both wrap-around and saturation are built.
    for o in [AccOverflow::Wrap, AccOverflow::Saturate] {
        let p = plan(&n, &narrow(Some(o))).unwrap();
        assert_eq!(p.layers[0].acc_bits, proven - 2);
    }
    // Binary weights on multi-bit activations take the ternary add/subtract PE.
    let mut b = n.clone();
    if let Layer::Dense(d) = &mut b.layers[1] {
        d.weights = WeightCode::Binary;
        d.codes = d.codes.iter().map(|&c| u64::from(c % 2 == 1)).collect();
    }
    let p = plan(&b, &ArchSpec::target(Folding::FullyFolded)).unwrap();
    assert_eq!(p.layers[1].kind, "ternary");
    // Weights other than binary on bipolar activations have no PE kind.
    let mut u = n.clone();
    if let Layer::Dense(d) = &mut u.layers[0] {
        d.output = LayerOutput::Sign(qforge::qnn::dense::SignOutput { output_scale: 1.0 });
    }
    assert_eq!(
        rule(plan(&u, &ArchSpec::target(Folding::FullyFolded))),
        "layer 1: weight scheme pot has no PE kind for bipolar activations (±1 activations take binary weights, XNOR-popcount)"
    );
    let e = ArchSpec::from_ron_str("ArchSpec(folding: sideways)", "x.ron").unwrap_err();
    assert!(e.to_string().starts_with("x.ron:1:"), "{e}");
}

/// A wrap-around accumulator narrower than the proven bound: the hardware wraps exactly as the
/// golden engine does on the same narrowed network.
#[test]
fn narrow_wrapping_accumulators_match_the_narrowed_golden_network() {
    let n = net("quant_uniform8.ron");
    let proven = n.certificates()[0].proven_bits;
    let a = common::narrowed_arch(
        &n,
        Folding::Explicit,
        [(Some(4), Some(8)), (Some(2), Some(8))],
        AccOverflow::Wrap,
        [3, 0],
    );
    let p = plan(&n, &a).unwrap();
    assert_eq!(p.layers[0].acc_bits, proven - 3);
    let (codes, _) = digits_test_codes(&n, None).unwrap();
    let golden = Engine::new(&p.net).unwrap().infer(&codes).unwrap();
    // The narrowing changes some logits relative to the proven-width network...
    let wide = Engine::new(&n).unwrap().infer(&codes).unwrap();
    assert_ne!(golden, wide);
    // ...and the simulator follows the narrowed network exactly.
    let run = simulate(&p.network, &codes, &SimOptions::default()).unwrap();
    assert_eq!(run.outputs, golden);
}

/// Both layers' accumulators saturating, [`SATURATING_NARROWING`] bits below the proven bound.
fn narrow_saturating(
    n: &QNet,
    folding: Folding,
    folds: [(Option<u32>, Option<u32>); 2],
) -> ArchSpec {
    common::narrowed_arch(
        n,
        folding,
        folds,
        AccOverflow::Saturate,
        SATURATING_NARROWING,
    )
}

/// How many bits below the proven bound each layer's saturating accumulator is narrowed.
const SATURATING_NARROWING: [u32; 2] = [3, 3];

/// A layer's accumulators summed the way an MVU without per-product saturation would: each
/// chunk of `simd` products at once, saturated, the bias added (and saturated) at the end.
fn chunkwise_saturating(
    levels: &[i64],
    bias: &[i64],
    x: &[i64],
    simd: usize,
    bits: u32,
) -> Vec<i128> {
    let sat = |v: i128| v.clamp(-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1);
    bias.iter()
        .enumerate()
        .map(|(j, &b)| {
            let row = &levels[j * x.len()..(j + 1) * x.len()];
            let mut acc = 0i128;
            for (w, v) in row.chunks(simd).zip(x.chunks(simd)) {
                let chunk: i128 = w
                    .iter()
                    .zip(v)
                    .map(|(&l, &a)| i128::from(l) * i128::from(a))
                    .sum();
                acc = sat(acc + chunk);
            }
            sat(acc + i128::from(b))
        })
        .collect()
}

/// A saturating accumulator narrower than the proven bound: the MVU saturates after the bias
/// and after each product in input order, exactly as the golden engine does on the same
/// narrowed network, under fully folded, mixed (SIMD 8) and fully parallel foldings.
#[test]
fn narrow_saturating_accumulators_match_the_narrowed_golden_network() {
    let n = net("quant_uniform8.ron");
    let (codes, _) = digits_test_codes(&n, None).unwrap();
    let wide = Engine::new(&n).unwrap().infer(&codes).unwrap();
    for a in [
        narrow_saturating(&n, Folding::FullyFolded, [(None, None); 2]),
        narrow_saturating(
            &n,
            Folding::Explicit,
            [(Some(4), Some(8)), (Some(2), Some(8))],
        ),
        narrow_saturating(&n, Folding::FullyParallel, [(None, None); 2]),
    ] {
        let p = plan(&n, &a).unwrap();
        for (k, l) in p.layers.iter().enumerate() {
            assert_eq!(l.acc_bits, l.proven_bits - SATURATING_NARROWING[k]);
        }
        let golden = Engine::new(&p.net).unwrap().infer(&codes).unwrap();
        // The narrowing changes some logits relative to the proven-width network...
        let changed = (0..450)
            .filter(|i| golden[i * 10..i * 10 + 10] != wide[i * 10..i * 10 + 10])
            .count();
        assert!(changed > 0, "{}: nothing saturates", p.describe());
        // ...the order of the saturating additions matters for this network: summing each
        // chunk at once with the bias last gives other accumulators in layer 0...
        let Layer::Dense(d) = &p.net.layers[0] else {
            panic!("layer 0 is dense")
        };
        let levels = d.levels();
        let simd = p.layers[0].simd as usize;
        let reordered = (0..450)
            .filter(|&i| {
                let x: Vec<i64> = codes[i * 64..(i + 1) * 64]
                    .iter()
                    .map(|&c| i64::from(c))
                    .collect();
                let bits = p.layers[0].acc_bits;
                let golden0: Vec<i128> = (0..d.out_features)
                    .map(|j| {
                        qforge::qnn::exact::accumulate(
                            &levels[j * 64..(j + 1) * 64],
                            d.bias[j],
                            &x,
                            bits,
                            AccOverflow::Saturate,
                        )
                    })
                    .collect();
                golden0 != chunkwise_saturating(&levels, &d.bias, &x, simd, bits)
            })
            .count();
        assert!(reordered > 0, "{}: the order never matters", p.describe());
        // ...and the simulator follows the narrowed network exactly, with the values of
        // whole streams at once and with every unit computing while it steps.
        let run = simulate(&p.network, &codes, &SimOptions::default()).unwrap();
        let stepped = SimOptions {
            datapath: Datapath::Stepped,
            ..SimOptions::default()
        };
        assert_eq!(
            simulate(&p.network, &codes, &stepped).unwrap().outputs,
            run.outputs,
            "{}",
            p.describe()
        );
        eprintln!(
            "{}: {changed} images with other logits than the wide network, {reordered} with other layer-0 accumulators in chunk order",
            p.describe()
        );
        common::assert_same_outputs(&p.describe(), &run.outputs, &golden, 10);
        assert_eq!(run.report.images, 450);
    }
}

/// The VCD names the RTL's signals: the top's ports and each stage instance's handshakes.
#[test]
fn vcd_trace_uses_the_rtl_signal_names() {
    let n = net("quant_pot4_a4.ron");
    let p = plan(&n, &arch("arch_mixed.ron")).unwrap();
    let (codes, _) = digits_test_codes(&n, Some(4)).unwrap();
    let dir = scratch!("vcd");
    let vcd = dir.join("mixed.vcd");
    let opts = SimOptions {
        vcd: Some(vcd.clone()),
        ..SimOptions::default()
    };
    let run = simulate(&p.network, &codes, &opts).unwrap();
    let text = std::fs::read_to_string(&vcd).unwrap();
    let rtl = p
        .network
        .verilog()
        .unwrap()
        .last()
        .map(qforge::hdl::print_module)
        .unwrap();
    for name in [
        "in_valid",
        "in_ready",
        "out_valid",
        "out_data",
        "u0_mvu_out_valid",
        "u1_fifo_in_ready",
        "u2_wc_out_valid",
        "u3_mvu_in_ready",
    ] {
        assert!(
            text.contains(&format!(" {name} $end")),
            "{name} missing from the VCD"
        );
        assert!(rtl.contains(name), "{name} missing from the RTL");
    }
    // The last time stamp is within the run.
    let last = text
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .filter_map(|t| t.parse::<u64>().ok())
        .max()
        .unwrap();
    assert!(last < run.report.cycles * 10);
}

fn chw(c: u32, h: u32, w: u32) -> FrameShape {
    FrameShape {
        channels: c,
        height: h,
        width: w,
        layout: Layout::Chw,
    }
}

/// The frame buffer's read sequences against the golden convolution and pooling code: the
/// im2col windows equal `Conv2d::window` pixel by pixel (padding taps zero), the pooled codes
/// equal `MaxPool2d::apply`, from CHW and from HWC (pixel-major) frames.
#[test]
fn read_sequences_equal_the_golden_windows_and_pooling() {
    use qforge::qnn::conv::{Conv2d, MaxPool2d};
    let mut rng = qforge::accel::vectors::Rng::new(3);
    for (c, h, w, k, stride, pad) in [(1, 8, 8, 3, 1, 1), (3, 5, 7, 3, 2, 1), (2, 6, 6, 2, 1, 0)] {
        let conv = Conv2d {
            in_channels: c,
            out_channels: 1,
            in_h: h,
            in_w: w,
            kernel_h: k,
            kernel_w: k,
            stride,
            padding: pad,
            weights: WeightCode::Ternary,
            codes: vec![0; c * k * k],
            bias: vec![0],
            accumulator: Default::default(),
            output: qforge::qnn::LayerOutput::Accumulator,
            acc_scale: vec![1.0],
        };
        let x: Vec<i64> = (0..c * h * w).map(|_| rng.below(31) as i64 - 15).collect();
        let shape = chw(c as u32, h as u32, w as u32);
        let seq = ReadSequence::im2col(shape, k as u32, k as u32, stride as u32, pad as u32);
        let got = seq.apply(&x);
        let (oh, ow) = conv.out_hw();
        let mut want = Vec::new();
        let mut win = Vec::new();
        for oy in 0..oh {
            for ox in 0..ow {
                conv.window(&x, oy, ox, &mut win);
                want.extend_from_slice(&win);
            }
        }
        assert_eq!(got, want, "im2col {c}x{h}x{w} k{k} s{stride} p{pad}");
        // The same windows from the frame in pixel-major order.
        let hwc = ReadSequence::reorder(shape, Layout::Hwc).apply(&x);
        let from_hwc = ReadSequence::im2col(
            FrameShape {
                layout: Layout::Hwc,
                ..shape
            },
            k as u32,
            k as u32,
            stride as u32,
            pad as u32,
        )
        .apply(&hwc);
        assert_eq!(from_hwc, want);
        let pool = MaxPool2d {
            channels: c,
            in_h: h,
            in_w: w,
            kernel: k,
            stride,
        };
        for (layout, frame) in [(Layout::Chw, &x), (Layout::Hwc, &hwc)] {
            let seq = ReadSequence::max_pool(
                FrameShape { layout, ..shape },
                k as u32,
                stride as u32,
                Layout::Chw,
            );
            assert_eq!(seq.apply(frame), pool.apply(&x), "pool {layout:?}");
        }
    }
}

/// The digits CNN (conv 1→4 3×3 pad 1, ReLU, max pool 2, dense 64→10) on all 450 test images:
/// the simulator's logits equal the golden engine's for several foldings and two quantizations,
/// with and without backpressure.
#[test]
fn cnn_simulator_logits_equal_golden_on_all_digits_test_images() {
    for q in ["quant_pot4_a4.ron", "quant_uniform8.ron"] {
        let n = common::digits_cnn(q);
        let (codes, labels) = digits_test_codes(&n, None).unwrap();
        let explicit = ArchSpec {
            folding: Folding::Explicit,
            layers: vec![
                LayerArch {
                    index: 0,
                    pe: Some(2),
                    simd: Some(3),
                    acc_bits: None,
                    overflow: None,
                    memory: None,
                },
                LayerArch {
                    index: 2,
                    pe: Some(5),
                    simd: Some(4),
                    acc_bits: None,
                    overflow: None,
                    memory: None,
                },
            ],
            fifo_depth: FifoDepth::Auto,
            memory: Default::default(),
        };
        for a in [
            explicit,
            ArchSpec::target(Folding::FullyFolded),
            ArchSpec::target(Folding::FullyParallel),
            ArchSpec::target(Folding::CyclesPerImage(256)),
        ] {
            let p = plan(&n, &a).unwrap();
            let kinds: Vec<&str> = p.network.stages().iter().map(Stage::kind).collect();
            let golden = Engine::new(&p.net).unwrap().infer(&codes).unwrap();
            let correct = golden
                .chunks(10)
                .zip(&labels)
                .filter(|(g, &l)| n.class_of(g) == l as usize)
                .count();
            assert!(correct > 300, "{q}: {correct} of 450 correct");
            for bp in [None, Some(Backpressure::new(5))] {
                let opts = SimOptions {
                    backpressure: bp,
                    ..SimOptions::default()
                };
                let run = simulate(&p.network, &codes, &opts).unwrap();
                common::assert_same_outputs(
                    &format!("{q} {}", p.describe()),
                    &run.outputs,
                    &golden,
                    10,
                );
                let r = &run.report;
                if bp.is_none() {
                    eprintln!(
                        "{q} {} [{}]: {correct}/450 correct, {} cycles, latency {}, interval {}",
                        p.describe(),
                        kinds.join(" "),
                        r.cycles,
                        r.latency,
                        r.measured_interval
                    );
                    // The convolution computes its 64 vectors per image, no more.
                    for l in &r.layers {
                        assert_eq!(l.busy, 450 * l.vectors * l.fold);
                    }
                    // Back to back, the slowest stage sets the pace exactly, and the total is
                    // the first image's latency plus one interval per further image.
                    assert_eq!(r.measured_interval, p.initiation_interval(), "{q}");
                    assert_eq!(r.cycles, 2 + r.latency + 449 * p.initiation_interval());
                }
            }
        }
    }
}

/// Convolutions chained without a dense layer, a stride-2 window, and a last convolution
/// emitting raw accumulators: the chain ends with a frame buffer putting the pixel-major
/// accumulators back into channel-major order.
#[test]
fn strided_conv_chain_with_accumulator_outputs_equals_golden() {
    let net = common::strided_conv_chain();
    net.validate().unwrap();
    let mut rng = qforge::accel::vectors::Rng::new(4);
    let codes: Vec<i32> = (0..36 * 200).map(|_| rng.below(16) as i32).collect();
    let golden = Engine::new(&net).unwrap().infer(&codes).unwrap();
    for a in [
        ArchSpec::target(Folding::FullyFolded),
        ArchSpec::target(Folding::FullyParallel),
        ArchSpec::target(Folding::PeBudget(5)),
    ] {
        let p = plan(&net, &a).unwrap();
        let kinds: Vec<&str> = p.network.stages().iter().map(Stage::kind).collect();
        assert_eq!(kinds.first(), Some(&"fb"));
        assert_eq!(kinds.last(), Some(&"fb"), "{}", p.describe());
        for bp in [None, Some(Backpressure::new(2))] {
            let opts = SimOptions {
                backpressure: bp,
                ..SimOptions::default()
            };
            let run = simulate(&p.network, &codes, &opts).unwrap();
            assert_eq!(run.outputs, golden, "{} {bp:?}", p.describe());
        }
    }
}

/// The bundled small CNN architecture (conv 8, pool, conv 16, pool, dense) quantized untrained:
/// a pooled frame feeds a second convolution.
#[test]
fn two_conv_small_cnn_equals_golden() {
    let model = qforge::nn::Architecture::small_cnn(10, &[1, 8, 8])
        .build(&[1, 8, 8], 5)
        .unwrap();
    let spec = QuantSpec::load(&Path::new(ROOT).join("models/quant_pot4_a4.ron")).unwrap();
    let n = quantize_float(&model, &spec).unwrap();
    let (codes, _) = digits_test_codes(&n, Some(60)).unwrap();
    let golden = Engine::new(&n).unwrap().infer(&codes).unwrap();
    assert!(golden.iter().any(|&v| v != golden[0]));
    for a in [
        ArchSpec::target(Folding::CyclesPerImage(512)),
        ArchSpec::target(Folding::PeBudget(40)),
    ] {
        let p = plan(&n, &a).unwrap();
        let run = simulate(&p.network, &codes, &SimOptions::default()).unwrap();
        assert_eq!(run.outputs, golden, "{}", p.describe());
        assert_eq!(run.report.measured_interval, p.initiation_interval());
    }
}

/// Convolution and pooling rules: the value, the rule and the layer in each message.
#[test]
fn illegal_conv_plans_are_rejected_with_the_value_and_the_rule() {
    let n = common::digits_cnn("quant_pot4_a4.ron");
    let entry = |index, pe, simd| LayerArch {
        index,
        pe,
        simd,
        acc_bits: None,
        overflow: None,
        memory: None,
    };
    let with = |layers| ArchSpec {
        folding: Folding::FullyFolded,
        layers,
        fifo_depth: FifoDepth::Auto,
        memory: Default::default(),
    };
    assert_eq!(
        rule(plan(&n, &with(vec![entry(0, Some(3), None)]))),
        "pe (3) must divide out_channels (4) of layer 0"
    );
    assert_eq!(
        rule(plan(&n, &with(vec![entry(0, None, Some(2))]))),
        "simd (2) must divide the window (in_channels · kernel_h · kernel_w = 9) of layer 0"
    );
    assert_eq!(
        rule(plan(&n, &with(vec![entry(1, Some(1), None)]))),
        "layer 1 is a max pooling: it has no pe, simd or accumulator to choose"
    );
    let explicit = ArchSpec {
        folding: Folding::Explicit,
        layers: vec![entry(0, Some(1), Some(1))],
        fifo_depth: FifoDepth::Auto,
        memory: Default::default(),
    };
    assert_eq!(
        rule(plan(&n, &explicit)),
        "folding explicit needs pe and simd for layer 2"
    );
    assert_eq!(
        rule(plan(&n, &ArchSpec::target(Folding::PeBudget(1)))),
        "pe_budget (1) must be at least the 2 lanes of a fully folded plan"
    );
    // A frame larger than a frame buffer holds.
    let big = common::hand_net(
        vec![Layer::Conv2d(common::conv(
            3,
            (1, 300, 300),
            1,
            3,
            1,
            1,
            WeightCode::Ternary,
            qforge::qnn::LayerOutput::Accumulator,
        ))],
        4,
    );
    assert_eq!(
        rule(plan(&big, &ArchSpec::target(Folding::FullyFolded))),
        "layer 0: conv 3x3 stride 1 padding 1 on a 1x300x300 input: frame (90000) must be between 1 and 65536 and a multiple of in_lanes (1)"
    );
    // A stride that never reads one of the lanes the previous layer delivers.
    let dense = qforge::qnn::Dense {
        in_features: 4,
        out_features: 16,
        weights: WeightCode::Ternary,
        codes: vec![1; 64],
        bias: vec![0; 16],
        accumulator: Default::default(),
        output: common::relu_u3(),
        acc_scale: vec![1.0],
    };
    let skip = common::hand_net(
        vec![
            Layer::Dense(dense),
            Layer::Conv2d(common::conv(
                4,
                (1, 4, 4),
                1,
                1,
                2,
                0,
                WeightCode::Ternary,
                qforge::qnn::LayerOutput::Accumulator,
            )),
        ],
        4,
    );
    let two_lanes = ArchSpec {
        folding: Folding::FullyFolded,
        layers: vec![entry(0, Some(2), None)],
        fifo_depth: FifoDepth::Auto,
        memory: Default::default(),
    };
    assert_eq!(
        rule(plan(&skip, &two_lanes)),
        "layer 1: conv 1x1 stride 2 padding 0 on a 1x4x4 input: in_lanes (2) leave input lane 1 never read: every lane must be read"
    );
    // With one lane per transfer the stride is no problem, and the convolution reads the dense
    // layer's vector as its 1×4×4 input.
    let p = plan(&skip, &ArchSpec::target(Folding::FullyFolded)).unwrap();
    let codes: Vec<i32> = (0..4 * 50).map(|i| i * 7 % 16).collect();
    let golden = Engine::new(&p.net).unwrap().infer(&codes).unwrap();
    let run = simulate(&p.network, &codes, &SimOptions::default()).unwrap();
    assert_eq!(run.outputs, golden);
}

/// A convolution's accumulator narrower than its proven bound, wrapping or saturating: the MVU
/// takes the window in the golden order (`[c][ky][kx]`, padding taps adding zero), so it wraps
/// and saturates exactly where the golden engine does on the narrowed network.
#[test]
fn narrow_conv_accumulators_match_the_narrowed_golden_network() {
    let n = common::digits_cnn("quant_uniform8.ron");
    let (codes, _) = digits_test_codes(&n, None).unwrap();
    let wide = Engine::new(&n).unwrap().infer(&codes).unwrap();
    let proven = n.certificate_of(0).unwrap().proven_bits;
    for overflow in [AccOverflow::Wrap, AccOverflow::Saturate] {
        for (pe, simd) in [(1, 1), (2, 3), (4, 9)] {
            let a = ArchSpec {
                folding: Folding::FullyFolded,
                layers: vec![LayerArch {
                    index: 0,
                    pe: Some(pe),
                    simd: Some(simd),
                    acc_bits: Some(proven - 3),
                    overflow: Some(overflow),
                    memory: None,
                }],
                fifo_depth: FifoDepth::Auto,
                memory: Default::default(),
            };
            let p = plan(&n, &a).unwrap();
            let golden = Engine::new(&p.net).unwrap().infer(&codes).unwrap();
            assert_ne!(golden, wide, "{overflow:?}: the narrowing changes nothing");
            let run = simulate(&p.network, &codes, &SimOptions::default()).unwrap();
            assert_eq!(run.outputs, golden, "{overflow:?} {}", p.describe());
            let stepped = SimOptions {
                datapath: Datapath::Stepped,
                ..SimOptions::default()
            };
            let run = simulate(&p.network, &codes, &stepped).unwrap();
            assert_eq!(run.outputs, golden, "{overflow:?} {} stepped", p.describe());
        }
    }
}

/// Input codes outside the first layer's input format are refused, naming the first offender.
#[test]
fn out_of_range_input_codes_are_refused_with_their_index() {
    let n = net("quant_pot4_a4.ron");
    let p = plan(&n, &arch("arch_mixed.ron")).unwrap();
    let (mut codes, _) = digits_test_codes(&n, Some(3)).unwrap();
    codes[100] = 256;
    codes[150] = -1;
    let err = simulate(&p.network, &codes, &SimOptions::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "input: code 256 at index 100 is outside the input range [0, 255]"
    );
}

/// `cycles_per_image(64)` on the TFC shape (784-64-64-64-10): with as few lanes as 64 cycles
/// allow, the last layer could take 5 × 2 or 10 × 1 lanes. Fed by layer 2's one lane, 5 × 2
/// waits on the stream in its first pass: its width converter holds one 2-code transfer, the
/// other 62 codes arrive one a cycle, so the pass takes 63 cycles and the vector 63 + 32 = 95
/// (by hand). The planner takes 10 × 1, which the simulator measures at 64 cycles per image.
#[test]
fn cycles_per_image_counts_the_stream_that_feeds_a_dense_layer() {
    let n = QNet::load(&Path::new(ROOT).join("models/tfc_w1a1.ron")).unwrap();
    let mut rng = qforge::accel::vectors::Rng::new(4);
    let codes: Vec<i32> = (0..8 * 784).map(|_| rng.below(256) as i32).collect();
    let target = ArchSpec::target(Folding::CyclesPerImage(64));
    let p = plan(&n, &target).unwrap();
    assert_eq!(
        p.describe(),
        "l0 p1 s784 f64 | l1 p1 s64 f64 | l2 p1 s64 f64 | l3 p10 s1 f64 | ii 64"
    );
    let run = simulate(&p.network, &codes, &SimOptions::default()).unwrap();
    assert_eq!(run.report.measured_interval, 64);
    assert_eq!(run.report.measured_interval, p.initiation_interval());

    let mut two_lanes = target.clone();
    two_lanes.layers = vec![LayerArch {
        index: 3,
        pe: Some(5),
        simd: Some(2),
        acc_bits: None,
        overflow: None,
        memory: None,
    }];
    let p = plan(&n, &two_lanes).unwrap();
    let run = simulate(&p.network, &codes, &SimOptions::default()).unwrap();
    assert_eq!(run.report.measured_interval, 95);
}
