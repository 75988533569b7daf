//! Sweeps with quantization-aware training points: a QAT point's network is the one
//! `qforge train --qat` writes for the same spec, its accuracy is the integer network's as
//! `qforge eval` measures it, points that differ only in export or hardware train once, and
//! QAT beats PTQ at 2-bit weights, for the MLP and for a CNN.

use crate::common::qforge;
use qforge::explore::evaluate::{EvaluatorOptions, NetworkEvaluator};
use qforge::explore::evaluator::{Evaluator, Outcome};
use qforge::explore::grid::Grid;
use qforge::explore::sweep_file::SweepFile;
use qforge::qnn::QNet;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The spec the sweep's mapping gives uniform W2A4 with min-max calibration and 16-bit
/// multipliers, written out by hand (DESIGN.md's sweep mapping: signed narrow symmetric
/// per-channel weights, calibrated activations, inputs at the activation width, half-even).
const UNIFORM_W2A4_SPEC: &str = "QuantSpec(
    weights: (
        scheme: uniform((bits: 2, signed: true, narrow: true, symmetric: true, rounding: half_even, scale_constraint: float)),
        granularity: per_channel(axis: 0),
        clipping: min_max,
    ),
    activations: (bits: 4, clipping: min_max, power_of_two: false),
    input: (bits: 4, clipping: min_max, power_of_two: false),
    rounding: half_even,
    scale_bits: 16,
    accumulator: proven,
    calibration_samples: 512,
)";

#[test]
fn qat_points_export_what_train_qat_writes_and_train_once() {
    let dir = scratch!("qat_points");
    let model = root().join("models/digits_mlp.ron");
    let path = dir.join("sweep.ron");
    std::fs::write(
        &path,
        format!(
            "(name: \"q\", model: \"{}\", axes: (weight_scheme: [uniform], weight_bits: [2], \
             activation_bits: [4], training: [ptq, qat(epochs: 4)], calibration: [minmax], \
             scale_bits: [8, 16], accumulator: [proven], folding: [fully_folded, fully_parallel], \
             fpga: [ice40]))",
            model.display()
        ),
    )
    .unwrap();
    let sweep = SweepFile::load(&path).unwrap();
    let ev = NetworkEvaluator::new(&sweep, &path, EvaluatorOptions::default()).unwrap();
    let grid = Grid::new(&sweep, "sweep.ron").unwrap();
    assert_eq!(grid.points().len(), 8);
    let accuracy = |i: usize| match ev.evaluate(&grid.points()[i].config).unwrap() {
        Outcome::Done(m) => m.accuracy,
        Outcome::Skipped(r) => panic!("point {i} skipped: {r}"),
    };
    let accuracies: Vec<f64> = (0..8).map(accuracy).collect();
    // Four QAT points (two multiplier widths × two foldings), one training.
    assert_eq!(ev.models_trained(), 1);
    let qat16 = grid
        .points()
        .iter()
        .position(|p| p.config.training.is_qat() && p.config.scale_bits == 16)
        .unwrap();
    let ptq16 = grid
        .points()
        .iter()
        .position(|p| !p.config.training.is_qat() && p.config.scale_bits == 16)
        .unwrap();

    // The same training through the command line.
    let spec = dir.join("w2a4.ron");
    std::fs::write(&spec, UNIFORM_W2A4_SPEC).unwrap();
    let out = dir.join("trained.ron");
    let run = qforge(&[
        "train",
        "--qat",
        spec.to_str().unwrap(),
        "--init",
        model.to_str().unwrap(),
        "--epochs",
        "4",
        "--seed",
        "1",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(run.ok, "{}", run.err);
    let trained = QNet::load(&out).unwrap();
    let swept = ev.quantized_net(&grid.points()[qat16].config).unwrap();
    // The command line names its network after the training; everything else is equal.
    assert_eq!(trained.name, format!("{} qat", swept.name));
    let renamed = QNet {
        name: trained.name.clone(),
        ..swept
    };
    assert!(
        renamed == trained,
        "the sweep's QAT network is the trained file's"
    );

    // Its accuracy as `qforge eval` measures the written file.
    let run = qforge(&["eval", "--model", out.to_str().unwrap()]);
    assert!(run.ok, "{}", run.err);
    let shown = format!("{:.4}", accuracies[qat16]);
    assert!(
        run.out.contains(&shown),
        "eval says:\n{}\nsweep: {shown}",
        run.out
    );

    // PTQ at 2-bit weights loses accuracy that training wins back (digits, min-max
    // calibration: 0.84 after PTQ, 0.94 after 4 epochs).
    assert!(
        accuracies[qat16] > accuracies[ptq16] + 0.05,
        "qat {} vs ptq {}",
        accuracies[qat16],
        accuracies[ptq16]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_cnn_sweep_trains_its_qat_points_and_they_beat_ptq() {
    let dir = scratch!("qat_cnn");
    crate::common::digits_cnn_float()
        .save(dir.join("cnn.ron"), &[])
        .unwrap();
    let path = dir.join("sweep.ron");
    std::fs::write(
        &path,
        "(name: \"c\", model: \"cnn.ron\", axes: (weight_scheme: [ternary], weight_bits: [2], \
         activation_bits: [4], training: [ptq, qat(epochs: 3)], calibration: [minmax], \
         scale_bits: [16], accumulator: [proven], folding: [fully_folded], fpga: [ice40]))",
    )
    .unwrap();
    let sweep = SweepFile::load(&path).unwrap();
    let ev = NetworkEvaluator::new(&sweep, &path, EvaluatorOptions::default()).unwrap();
    let grid = Grid::new(&sweep, "sweep.ron").unwrap();
    let accuracy: Vec<f64> = grid
        .points()
        .iter()
        .map(|p| match ev.evaluate(&p.config).unwrap() {
            Outcome::Done(m) => m.accuracy,
            Outcome::Skipped(r) => panic!("{} skipped: {r}", p.label),
        })
        .collect();
    assert_eq!(ev.models_trained(), 1);
    // Ternary weights after training lose much of the float CNN's accuracy; three epochs of
    // QAT win it back.
    assert!(
        accuracy[1] > accuracy[0] + 0.1,
        "qat {} vs ptq {}",
        accuracy[1],
        accuracy[0]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The network `qforge train --qat` writes for a spec text and epochs (seed 1), from the
/// bundled float model.
fn trained_by_cli(dir: &std::path::Path, name: &str, spec_text: &str, epochs: u32) -> QNet {
    let spec = dir.join(format!("{name}.ron"));
    std::fs::write(&spec, spec_text).unwrap();
    let out = dir.join(format!("{name}_trained.ron"));
    let model = root().join("models/digits_mlp.ron");
    let epochs = epochs.to_string();
    let run = qforge(&[
        "train",
        "--qat",
        spec.to_str().unwrap(),
        "--init",
        model.to_str().unwrap(),
        "--epochs",
        &epochs,
        "--seed",
        "1",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(run.ok, "{}", run.err);
    QNet::load(&out).unwrap()
}

/// `spec` (a spec text ending in `\n)`) with the training section `(section)`.
fn with_training(spec: &str, section: &str) -> String {
    spec.replace("\n)", &format!("\n    training: ({section}),\n)"))
}

/// A sweep of the bundled float model over `axes` (the text inside `axes: (..)`), written
/// into `dir`: its path, evaluator and grid.
fn mlp_sweep(dir: &std::path::Path, axes: &str) -> (PathBuf, NetworkEvaluator, Grid) {
    let path = dir.join("sweep.ron");
    std::fs::write(
        &path,
        format!(
            "(name: \"s\", model: \"{}\", axes: ({axes}))",
            root().join("models/digits_mlp.ron").display()
        ),
    )
    .unwrap();
    let sweep = SweepFile::load(&path).unwrap();
    let ev = NetworkEvaluator::new(&sweep, &path, EvaluatorOptions::default()).unwrap();
    let grid = Grid::new(&sweep, "sweep.ron").unwrap();
    (path, ev, grid)
}

/// Checks each point's network equal (but for its name) to what `qforge train --qat` writes
/// for its case's spec text after `epochs`, and returns the trained networks.
fn assert_points_train_as_the_cli(
    dir: &std::path::Path,
    ev: &NetworkEvaluator,
    grid: &Grid,
    cases: &[(&str, String)],
    epochs: u32,
) -> Vec<QNet> {
    let mut nets = Vec::new();
    for (point, (name, spec_text)) in grid.points().iter().zip(cases) {
        let swept = ev.quantized_net(&point.config).unwrap();
        let trained = trained_by_cli(dir, name, spec_text, epochs);
        let renamed = QNet {
            name: trained.name.clone(),
            ..swept
        };
        assert!(
            renamed == trained,
            "{name}: the sweep's network is the trained file's"
        );
        nets.push(trained);
    }
    nets
}

#[test]
fn schedule_and_normalisation_knobs_of_a_qat_point_train_what_the_spec_section_trains() {
    let dir = scratch!("qat_schedules");
    let (_, ev, grid) = mlp_sweep(
        &dir,
        "weight_scheme: [pot], weight_bits: [4], activation_bits: [4], \
         training: [qat(epochs: 4), qat(epochs: 4, progressive: [6, 5]), \
         qat(epochs: 4, inq: [0.5, 1.0]), qat(epochs: 4, weight_normalization: true)], \
         calibration: [minmax], scale_bits: [16], accumulator: [proven], \
         folding: [fully_folded], fpga: [ice40]",
    );
    let labels: Vec<&str> = grid.points().iter().map(|p| p.label.as_str()).collect();
    assert_eq!(grid.points().len(), 4, "{labels:?}");
    assert!(
        labels[1].contains("qat(epochs: 4, progressive: [6, 5])"),
        "{labels:?}"
    );
    assert!(
        labels[2].contains("qat(epochs: 4, inq: [0.5, 1.0])"),
        "{labels:?}"
    );
    // The mapping's PoT-4 weights: sign and 3 exponent bits with a zero code, linear domain,
    // exponents from the clipping threshold; the rest as for uniform W2A4.
    let pot4 = UNIFORM_W2A4_SPEC.replace(
        "uniform((bits: 2, signed: true, narrow: true, symmetric: true, rounding: half_even, scale_constraint: float))",
        "pot((format: (exp_bits: 3, signed: true, zero_code: true), domain: linear, exponents: from_threshold, alpha: 1.0))",
    );
    assert_ne!(pot4, UNIFORM_W2A4_SPEC);
    let section = |s: &str| with_training(&pot4, s);
    let cases = [
        ("plain", pot4.clone()),
        ("progressive", section("progressive: [6, 5]")),
        ("inq", section("inq: [0.5, 1.0]")),
        ("normalised", section("weight_normalization: true")),
    ];
    let nets = assert_points_train_as_the_cli(&dir, &ev, &grid, &cases, 4);
    // The schedules change what is trained (a knob dropped on the way would give `plain`).
    assert!(nets[1..].iter().all(|n| *n != nets[0]));
    assert_eq!(ev.models_trained(), 4);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Pruning knobs of a QAT point train what the spec section trains, and reach the hardware:
/// channel pruning halves the hidden layer, so a fully folded design takes fewer cycles and
/// less weight memory; weight pruning leaves at least its fraction of zero weights.
#[test]
fn pruning_knobs_of_a_qat_point_train_what_the_spec_section_trains_and_shrink_the_design() {
    let dir = scratch!("qat_pruning");
    let (path, ev, grid) = mlp_sweep(
        &dir,
        "weight_scheme: [uniform], weight_bits: [2], activation_bits: [4], \
         training: [qat(epochs: 4), qat(epochs: 4, channel_keep: 0.5, channel_method: magnitude), \
         qat(epochs: 4, channel_keep: 0.25), qat(epochs: 4, prune: 0.5, prune_schedule: one_shot)], \
         calibration: [minmax], scale_bits: [16], accumulator: [proven], \
         folding: [fully_folded], fpga: [ice40]",
    );
    let labels: Vec<&str> = grid.points().iter().map(|p| p.label.as_str()).collect();
    assert_eq!(grid.points().len(), 4, "{labels:?}");
    assert!(
        labels[1].contains("qat(epochs: 4, channel_keep: 0.5, channel_method: magnitude)"),
        "{labels:?}"
    );
    let section = |s: &str| with_training(UNIFORM_W2A4_SPEC, s);
    let cases = [
        ("plain", UNIFORM_W2A4_SPEC.to_string()),
        (
            "magnitude",
            section("channels: (keep: 0.5, method: magnitude)"),
        ),
        ("gate", section("channels: (keep: 0.25)")),
        (
            "pruned",
            section("prune: (sparsity: 0.5, schedule: one_shot)"),
        ),
    ];
    let nets = assert_points_train_as_the_cli(&dir, &ev, &grid, &cases, 4);
    let hidden = |n: &QNet| n.layers[0].out_features();
    assert_eq!(nets.iter().map(hidden).collect::<Vec<_>>(), [32, 16, 8, 32]);
    let zeros = |n: &QNet| match &n.layers[0] {
        qforge::qnn::Layer::Dense(d) => d.levels().iter().filter(|&&v| v == 0).count(),
        _ => panic!("dense"),
    };
    assert!(zeros(&nets[3]) >= 1024, "{}", zeros(&nets[3]));
    let metrics: Vec<_> = grid
        .points()
        .iter()
        .map(|p| match ev.evaluate(&p.config).unwrap() {
            Outcome::Done(m) => m,
            Outcome::Skipped(r) => panic!("{} skipped: {r}", p.label),
        })
        .collect();
    // fully folded: one weight per cycle, so the cycles follow the weights of the widest layer
    assert_eq!(metrics[0].cycles_per_image, 64 * 32);
    assert_eq!(metrics[1].cycles_per_image, 64 * 16);
    assert_eq!(metrics[2].cycles_per_image, 64 * 8);
    assert_eq!(metrics[1].weight_memory_bits, 2 * (64 * 16 + 16 * 10));
    assert!(metrics[1].luts < metrics[0].luts);
    // binary weights have no zero level: a pruning point of theirs is skipped with the reason
    let binary = path.with_file_name("binary.ron");
    std::fs::write(
        &binary,
        std::fs::read_to_string(&path).unwrap().replace(
            "weight_scheme: [uniform], weight_bits: [2]",
            "weight_scheme: [binary], weight_bits: [1]",
        ),
    )
    .unwrap();
    let sweep = SweepFile::load(&binary).unwrap();
    let ev = NetworkEvaluator::new(&sweep, &binary, EvaluatorOptions::default()).unwrap();
    let grid = Grid::new(&sweep, "binary.ron").unwrap();
    match ev.evaluate(&grid.points()[3].config).unwrap() {
        Outcome::Skipped(r) => assert!(
            r.to_string()
                .contains("training prune needs weights with a zero level"),
            "{r}"
        ),
        Outcome::Done(_) => panic!("binary weights pruned"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A widened QAT point trains from fresh weights the architecture whose hidden layer has
/// `width` times the model's outputs: the network `qforge train --qat --arch .. --width`
/// writes, with the layer shapes in its plan (a fully folded design: one cycle per weight of
/// the widest layer).
#[test]
fn widened_qat_points_train_the_wider_architecture_from_scratch() {
    let dir = scratch!("qat_width");
    let (_, ev, grid) = mlp_sweep(
        &dir,
        "weight_scheme: [uniform], weight_bits: [2], activation_bits: [4], \
         training: [qat(epochs: 2, width: 1.0), qat(epochs: 2, width: 1.5), \
         qat(epochs: 2, width: 2.0, seed: 4)], calibration: [minmax], scale_bits: [16], \
         accumulator: [proven], folding: [fully_folded], fpga: [ice40]",
    );
    let spec = dir.join("w2a4.ron");
    std::fs::write(&spec, UNIFORM_W2A4_SPEC).unwrap();
    for (point, (width, seed, hidden)) in
        grid.points()
            .iter()
            .zip([("1.0", "1", 32), ("1.5", "1", 48), ("2.0", "4", 64)])
    {
        let swept = ev.quantized_net(&point.config).unwrap();
        let out = dir.join(format!("w{width}.ron"));
        let run = qforge(&[
            "train",
            "--qat",
            spec.to_str().unwrap(),
            "--arch",
            "mlp:64-32-10",
            "--width",
            width,
            "--epochs",
            "2",
            "--seed",
            seed,
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(run.ok, "{}", run.err);
        let trained = QNet::load(&out).unwrap();
        let renamed = QNet {
            name: trained.name.clone(),
            ..swept
        };
        assert!(
            renamed == trained,
            "width {width}: the sweep's network is the trained file's"
        );
        assert_eq!(trained.layers[0].out_features(), hidden);
        assert_eq!(trained.layers[1].in_features(), hidden);
        match ev.evaluate(&point.config).unwrap() {
            Outcome::Done(m) => {
                assert_eq!(m.cycles_per_image, 64 * hidden as u64, "width {width}");
                assert_eq!(
                    m.weight_memory_bits,
                    2 * (64 * hidden as u64 + hidden as u64 * 10)
                );
            }
            Outcome::Skipped(r) => panic!("width {width} skipped: {r}"),
        }
    }
    // one training per width
    assert_eq!(ev.models_trained(), 3);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `bias_bits` point stores narrow biases in post-training quantization and in QAT alike:
/// its network is the one `qforge quantize` and `qforge train --qat` write for the spec with
/// `bias_bits: 2` (this network's biases already fit 4 bits), and the bias width is part of what is
/// trained (two trainings, not one).
#[test]
fn bias_bits_points_export_what_quantize_and_train_qat_write() {
    let dir = scratch!("bias_points");
    let model = root().join("models/digits_mlp.ron");
    let (_, ev, grid) = mlp_sweep(
        &dir,
        "weight_scheme: [uniform], weight_bits: [2], activation_bits: [4], \
         training: [ptq, qat(epochs: 2)], calibration: [minmax], scale_bits: [16], \
         bias_bits: [None, 2], accumulator: [proven], folding: [fully_folded], fpga: [ice40]",
    );
    let point = |qat: bool, bias: Option<u32>| {
        let p = grid
            .points()
            .iter()
            .find(|p| p.config.training.is_qat() == qat && p.config.bias_bits == bias)
            .unwrap();
        ev.quantized_net(&p.config).unwrap()
    };
    let spec_text = UNIFORM_W2A4_SPEC.replace("scale_bits: 16,", "scale_bits: 16, bias_bits: 2,");
    let spec = dir.join("w2a4_b2.ron");
    std::fs::write(&spec, &spec_text).unwrap();

    let quantized = dir.join("quantized.ron");
    let run = qforge(&[
        "quantize",
        "--model",
        model.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
        "-o",
        quantized.to_str().unwrap(),
    ]);
    assert!(run.ok, "{}", run.err);
    let ptq = point(false, Some(2));
    assert!(
        QNet::load(&quantized).unwrap() == ptq,
        "the sweep's 2-bit-bias network is the one quantize writes"
    );
    assert!(ptq != point(false, None), "2-bit biases change the network");

    let trained = trained_by_cli(&dir, "w2a4_b2_qat", &spec_text, 2);
    let renamed = QNet {
        name: trained.name.clone(),
        ..point(true, Some(2))
    };
    assert!(
        renamed == trained,
        "the sweep's QAT network is the trained file's"
    );
    point(true, None);
    assert_eq!(ev.models_trained(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}
