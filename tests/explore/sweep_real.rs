//! Real sweeps of the bundled digits MLP: the evaluator's rows against figures computed here
//! independently (the quantizer, planner and cycle simulator called directly, hand-derived
//! counts), the area-model calibration against Yosys, and the Yosys cache. Needs Yosys.

use qforge::accel::plan::{plan, ArchSpec, Folding as PlanFolding};
use qforge::accel::sim::{simulate, SimOptions};
use qforge::accel::Unit;
use qforge::explore::area_model::{model_report, AreaModel, Resource};
use qforge::explore::calibrate::{calibrate, pe_grid, Design, GridSize};
use qforge::explore::evaluate::{AreaMode, EvaluatorOptions, NetworkEvaluator, CLOCK_MHZ};
use qforge::explore::evaluator::{Evaluator, Outcome};
use qforge::explore::grid::Grid;
use qforge::explore::pe_features::pe_unit;
use qforge::explore::results::{read_csv, read_json, CSV_COLUMNS, CSV_FILE};
use qforge::explore::runner::{run_sweep, RunOptions};
use qforge::explore::sweep_file::{FpgaTarget, SweepFile};
use qforge::explore::synth_cache::SynthCache;
use qforge::nn::Model;
use qforge::num::rounding::RoundingMode;
use qforge::qnn::quantize::{quantize_model, AccPolicy, ActSpec, QuantSpec};
use qforge::quant::calibrate::Clipping;
use qforge::quant::quantizer::{Scheme, TensorQuantizer};
use qforge::quant::tensor::Granularity;
use qforge::quant::uniform::{ScaleConstraint, UniformConfig};
use qforge::verify::yosys::{synth, SynthOptions, SynthReport, Target};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A calibration design's Verilog written to `dir/pe.v` and synthesized for iCE40 by Yosys.
fn synth_ice40(dir: &Path, d: &Design) -> SynthReport {
    let src = dir.join("pe.v");
    let text: String = d
        .verilog()
        .unwrap()
        .iter()
        .map(qforge::hdl::print_module)
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&src, text).unwrap();
    synth(&[src], &d.name(), Target::Ice40, &SynthOptions::default()).unwrap()
}

/// A sweep file in `dir` pointing at the bundled model.
fn sweep_file(dir: &Path, axes: &str) -> (PathBuf, SweepFile) {
    let model = root().join("models/digits_mlp.ron");
    let text = format!(
        "(name: \"t\", model: \"{}\", axes: ({axes}), constraints: [scheme_bits])",
        model.display()
    );
    let path = dir.join("sweep.ron");
    std::fs::write(&path, &text).unwrap();
    let sweep = SweepFile::parse(&text, "sweep.ron").unwrap();
    (path, sweep)
}

/// Uniform 8-bit weights and activations, min-max calibration, built by hand (not through the
/// sweep's spec mapping).
fn uniform8_spec() -> QuantSpec {
    QuantSpec {
        weights: TensorQuantizer {
            scheme: Scheme::Uniform(UniformConfig {
                bits: 8,
                signed: true,
                narrow: true,
                symmetric: true,
                rounding: RoundingMode::HalfEven,
                scale_constraint: ScaleConstraint::Float,
            }),
            granularity: Granularity::PerChannel { axis: 0 },
            clipping: Clipping::MinMax,
        },
        activations: ActSpec {
            bits: 8,
            bipolar: false,
            clipping: Clipping::MinMax,
            power_of_two: false,
        },
        input: ActSpec {
            bits: 8,
            bipolar: false,
            clipping: Clipping::MinMax,
            power_of_two: false,
        },
        layers: vec![],
        rounding: RoundingMode::HalfEven,
        scale_bits: 16,
        bias_bits: None,
        accumulator: AccPolicy::Proven,
        calibration_samples: 512,
        training: Default::default(),
    }
}

#[test]
fn small_real_sweep_has_one_row_per_point_with_plausible_values() {
    let dir = scratch!("small");
    let (path, sweep) = sweep_file(
        &dir,
        "weight_scheme: [uniform, binary], weight_bits: [1, 8], activation_bits: [8], \
         calibration: [minmax], scale_bits: [16], accumulator: [proven], \
         folding: [fully_folded, cycles_per_image(256)], fpga: [ice40]",
    );
    let grid = Grid::new(&sweep, "sweep.ron").unwrap();
    assert_eq!(
        grid.points().len(),
        4,
        "uniform W8 and binary W1, two foldings"
    );
    let options = EvaluatorOptions {
        area: AreaMode::Model,
        coefficients_dir: Some(root().join("models")),
        cache_dir: dir.join("cache"),
    };
    let ev = NetworkEvaluator::new(&sweep, &path, options).unwrap();
    let out = dir.join("out");
    let summary = run_sweep(
        &sweep,
        "sweep.ron",
        &grid,
        &ev,
        &out,
        &RunOptions::default(),
    )
    .unwrap();
    assert_eq!(summary.evaluated, 4);
    // Binary weights on the 8-bit activations plan on the add/subtract PE, so nothing is skipped.
    assert_eq!(summary.skipped, 0, "binary points reach hardware");

    let text = std::fs::read_to_string(out.join(CSV_FILE)).unwrap();
    assert_eq!(text.lines().next().unwrap(), CSV_COLUMNS.join(","));
    let csv = read_csv(&out.join(CSV_FILE)).unwrap();
    assert_eq!(csv.len(), 4, "one CSV row per point");
    assert_eq!(
        csv.iter().filter(|r| r.skip_reason.is_some()).count(),
        0,
        "no point is skipped"
    );
    let rows = read_json(&out).unwrap();
    assert_eq!(rows.len(), 4, "one JSON row per point");

    // The network, planned and simulated here, directly.
    let model = Model::load(root().join("models/digits_mlp.ron")).unwrap();
    let (train, test) = qforge::nn::data::digits::train_test().unwrap();
    let net = quantize_model(&model, &uniform8_spec(), &train.inputs[..512 * 64]).unwrap();

    for r in &rows {
        let c = &r.config;
        match &r.outcome {
            Outcome::Skipped(reason) => panic!("{}: skipped: {reason}", r.label),
            Outcome::Done(m) if c.weight_bits == 1 => {
                // Hand-derived: (64·32 + 32·10) weights of 1 bit; better than chance.
                assert_eq!(m.weight_memory_bits, 2368);
                assert!(m.accuracy > 0.2, "binary accuracy {}", m.accuracy);
                assert!(m.luts > 0 && m.ffs > 0);
                assert!(m.cycles_per_image <= 64 * 32);
            }
            Outcome::Done(m) => {
                assert_eq!(c.weight_bits, 8);
                assert!(m.accuracy >= 0.95, "8-bit uniform accuracy {}", m.accuracy);
                // Hand-derived: (64·32 + 32·10) weights of 8 bits.
                assert_eq!(m.weight_memory_bits, 2368 * 8);
                let folding = match c.folding {
                    qforge::explore::sweep_file::Folding::FullyFolded => PlanFolding::FullyFolded,
                    qforge::explore::sweep_file::Folding::CyclesPerImage(n) => {
                        PlanFolding::CyclesPerImage(n)
                    }
                    other => panic!("unexpected folding {other}"),
                };
                let p = plan(&net, &ArchSpec::target(folding)).unwrap();
                let codes = net.quantize_inputs(&test.inputs[..3 * 64]);
                let run = simulate(&p.network, &codes, &SimOptions::default()).unwrap();
                assert_eq!(
                    m.cycles_per_image, run.report.measured_interval,
                    "{}: cycles per image from the simulator",
                    r.label
                );
                if folding == PlanFolding::FullyFolded {
                    // Hand-derived: one MAC per cycle, the 64×32 layer is the slowest.
                    assert_eq!(m.cycles_per_image, 64 * 32);
                } else {
                    assert!(m.cycles_per_image <= 256);
                }
                assert_eq!(m.clock_mhz, CLOCK_MHZ);
                let tp = CLOCK_MHZ * 1e6 / m.cycles_per_image as f64;
                assert!((m.throughput_images_per_s - tp).abs() <= 1e-6 * tp);
                assert!(m.luts > 0 && m.ffs > 0);
                assert_eq!(m.layers.len(), 2, "one area entry per layer");
                assert_eq!(m.layers.iter().map(|l| l.luts).sum::<u64>(), m.luts);
                assert_eq!(m.layers.iter().map(|l| l.ffs).sum::<u64>(), m.ffs);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn impossible_widths_and_accumulators_are_skipped_with_reasons() {
    let dir = scratch!("skips");
    let (path, sweep) = sweep_file(
        &dir,
        "weight_scheme: [apot, uniform], weight_bits: [6, 8], activation_bits: [8], \
         calibration: [minmax], scale_bits: [16], \
         accumulator: [explicit(bits: 10, overflow: sat)], folding: [fully_folded], fpga: [ice40]",
    );
    let options = EvaluatorOptions {
        area: AreaMode::Model,
        coefficients_dir: Some(dir.clone()),
        cache_dir: dir.join("cache"),
    };
    let ev = NetworkEvaluator::new(&sweep, &path, options).unwrap();
    let grid = Grid::new(&sweep, "sweep.ron").unwrap();
    for p in grid.points() {
        match ev.evaluate(&p.config).unwrap() {
            Outcome::Skipped(reason) => {
                let expected = if p.config.weight_scheme.name() == "apot" {
                    "do not split"
                } else {
                    // 10 bits cannot hold one lane's product of 8-bit activations and
                    // 6- or 8-bit weights, whatever the overflow mode.
                    "one lane's product"
                };
                assert!(
                    reason.to_string().contains(expected),
                    "{}: {reason}",
                    p.label
                );
            }
            Outcome::Done(_) => panic!("{} should be skipped", p.label),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tiny_calibration_reproduces_its_yosys_numbers_within_the_printed_error() {
    let dir = scratch!("calib");
    let cache = SynthCache::open(&dir.join("cache")).unwrap();
    let designs = pe_grid(GridSize::Tiny).unwrap();
    assert!((2..=4).contains(&designs.len()));
    let result = calibrate(&designs, FpgaTarget::Ice40, &cache, 2).unwrap();
    assert_eq!(cache.misses(), designs.len() as u64);
    for line in &result.model_report.lines {
        let kind = &result.model.kinds[&line.kind];
        for s in result
            .model
            .measurements
            .iter()
            .filter(|s| s.kind == line.kind)
        {
            let est = kind.predict(&s.params).unwrap();
            let (e, m) = match line.resource {
                Resource::Luts => (est.luts, s.luts),
                Resource::Ffs => (est.ffs, s.ffs),
                Resource::Carries => (est.carries, s.carries),
                Resource::Dsps => (est.dsps, s.dsps),
            };
            let rel = (e - m).abs() / m.max(1.0);
            assert!(
                rel <= line.worst_relative + 1e-9,
                "{:?} {rel}",
                line.resource
            );
        }
    }
    // The samples are Yosys's numbers: synthesize the first design again, directly.
    let d = &designs[0];
    let fresh = synth_ice40(&dir, d);
    assert_eq!(result.model.measurements[0].luts, fresh.luts as f64);
    assert_eq!(result.model.measurements[0].carries, fresh.carries as f64);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn committed_coefficients_predict_a_fresh_yosys_run_within_their_recorded_error() {
    let model = AreaModel::load(&root().join("models/area_ice40.ron")).unwrap();
    let report = model_report(&model, &model.measurements).unwrap();
    let dir = scratch!("committed");
    // An 8-bit-activation PoT PE with 3 exponent bits and 2 SIMD lanes, from the full grid.
    let designs = pe_grid(GridSize::Full).unwrap();
    let d = designs
        .iter()
        .find(|d| {
            let (k, p) = pe_unit(d).unwrap();
            k == "pe_pot" && p["a_bits"] == 8.0 && p["exp_bits"] == 3.0 && p["simd"] == 2.0
        })
        .unwrap();
    let (kind, params) = pe_unit(d).unwrap();
    let fresh = synth_ice40(&dir, d);
    let predicted = model.predict(&kind, &params).unwrap();
    let recorded = report
        .lines
        .iter()
        .find(|l| l.kind == kind && l.resource == Resource::Luts)
        .unwrap();
    let rel = (predicted.luts - fresh.luts as f64).abs() / (fresh.luts as f64).max(1.0);
    assert!(
        rel <= recorded.worst_relative + 1e-9,
        "predicted {} LUTs, Yosys {}; error {rel} above the recorded {}",
        predicted.luts,
        fresh.luts,
        recorded.worst_relative
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn yosys_area_hits_the_cache_on_a_repeat() {
    let dir = scratch!("yosys");
    let (path, sweep) = sweep_file(
        &dir,
        "weight_scheme: [pot], weight_bits: [2], activation_bits: [4], calibration: [mse], \
         scale_bits: [16], accumulator: [proven], folding: [cycles_per_image(256)], fpga: [ice40]",
    );
    let grid = Grid::new(&sweep, "sweep.ron").unwrap();
    let options = EvaluatorOptions {
        area: AreaMode::Yosys,
        coefficients_dir: Some(dir.clone()),
        cache_dir: dir.join("cache"),
    };
    let first = NetworkEvaluator::new(&sweep, &path, options.clone()).unwrap();
    let a = first.evaluate(&grid.points()[0].config).unwrap();
    let cache = first.synth_cache().unwrap();
    assert_eq!((cache.hits(), cache.misses()), (0, 1));
    let again = NetworkEvaluator::new(&sweep, &path, options).unwrap();
    let b = again.evaluate(&grid.points()[0].config).unwrap();
    let cache = again.synth_cache().unwrap();
    assert_eq!((cache.hits(), cache.misses()), (1, 0));
    assert_eq!(cache.hit_rate(), 1.0);
    assert_eq!(a, b, "the cached counts are the synthesized ones");
    match a {
        Outcome::Done(m) => assert!(m.luts > 0 && m.ffs > 0),
        Outcome::Skipped(r) => panic!("skipped: {r}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A sweep on MNIST (`data` and `images` in the sweep file): its one point's accuracy is the
/// count of the first 300 MNIST test images that the network quantized here, by hand, from the
/// same float model and the first 512 MNIST training images, classifies right; its weight memory
/// is the hand-derived count of the model's weights.
#[test]
fn a_sweep_on_mnist_measures_on_the_mnist_test_images_it_names() {
    use qforge::nn::data::mnist;
    use qforge::nn::train::{train, Optimizer, TrainConfig};
    use qforge::nn::Architecture;
    use qforge::qnn::engine::Engine;
    let dir = scratch!("mnist");
    let mnist_dir = root().join("../shared/data/mnist");
    let (train_set, test) = mnist::load_dir(&mnist_dir).unwrap();
    let mut model = Architecture::mlp(&[784, 24, 10], &train_set.shape)
        .unwrap()
        .build(&train_set.shape, 3)
        .unwrap();
    let config = TrainConfig {
        epochs: 1,
        batch_size: 64,
        optimizer: Optimizer::adam(1e-3),
        seed: 3,
    };
    train(&mut model, &train_set.truncated(4000), &config, |_, _| {}).unwrap();
    let model_path = dir.join("m.ron");
    model.save(&model_path, &[]).unwrap();
    let text = format!(
        "(name: \"mnist\", model: \"m.ron\", data: \"mnist:{}\", images: 300, axes: (\
         weight_scheme: [uniform], weight_bits: [8], activation_bits: [8], calibration: [minmax], \
         scale_bits: [16], accumulator: [proven], folding: [fully_parallel], fpga: [ice40]))",
        mnist_dir.display()
    );
    let path = dir.join("sweep.ron");
    std::fs::write(&path, &text).unwrap();
    let sweep = SweepFile::parse(&text, "sweep.ron").unwrap();
    let grid = Grid::new(&sweep, "sweep.ron").unwrap();
    let options = EvaluatorOptions {
        area: AreaMode::Model,
        coefficients_dir: Some(root().join("models")),
        cache_dir: dir.join("cache"),
    };
    let ev = NetworkEvaluator::new(&sweep, &path, options).unwrap();
    assert_eq!(ev.test_images(), 300);
    assert_eq!(
        ev.data().to_string(),
        format!("mnist:{}", mnist_dir.display())
    );
    let Outcome::Done(m) = ev.evaluate(&grid.points()[0].config).unwrap() else {
        panic!("the uniform 8-bit point was skipped");
    };

    let net = quantize_model(&model, &uniform8_spec(), &train_set.inputs[..512 * 784]).unwrap();
    let test = test.truncated(300);
    let predicted = Engine::new(&net)
        .unwrap()
        .classify(&net, &net.quantize_inputs(&test.inputs))
        .unwrap();
    let right = predicted
        .iter()
        .zip(&test.labels)
        .filter(|(p, l)| **p == **l as usize)
        .count();
    assert!(right > 200, "a trained MNIST MLP gets {right} of 300");
    assert_eq!(m.accuracy, right as f64 / 300.0);
    // Hand-derived: (784·24 + 24·10) weights of 8 bits.
    assert_eq!(m.weight_memory_bits, (784 * 24 + 24 * 10) * 8);
    let _ = std::fs::remove_dir_all(&dir);
}
