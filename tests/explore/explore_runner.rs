//! The sweep runner with synthetic evaluators (their figures are made up, openly): one row per
//! point with the documented columns, skipped points with their reasons, resume after an
//! interruption, shards merged.

use qforge::explore::error::{EvalError, ExploreError};
use qforge::explore::evaluator::{AreaSource, Evaluator, LayerArea, Metrics, Outcome};
use qforge::explore::grid::{Grid, PointConfig, Shard};
use qforge::explore::merge::merge_results;
use qforge::explore::meta::{Meta, Timing};
use qforge::explore::results::{parse_csv_line, read_csv, read_json, CSV_COLUMNS};
use qforge::explore::runner::{run_sweep, RunOptions};
use qforge::explore::sweep_file::{Folding, SweepFile};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

const SWEEP: &str = r#"(
    name: "runner",
    model: "m.ron",
    axes: (
        weight_scheme: [uniform, pot, binary],
        weight_bits: (from: 1, to: 4),
        activation_bits: [4, 8],
        calibration: [minmax, mse],
        scale_bits: [8],
        accumulator: [proven],
        folding: [fully_parallel, cycles_per_image(10)],
        fpga: [ice40],
    ),
)"#;

/// Synthetic figures derived from the axis values; skips `cycles_per_image(10)` for 8-bit
/// activations as an impossible folding target.
struct SyntheticEvaluator;

impl Evaluator for SyntheticEvaluator {
    fn tool_versions(&self) -> Vec<(String, String)> {
        vec![("synthetic".into(), "1".into())]
    }
    fn evaluate(&self, p: &PointConfig) -> Result<Outcome, EvalError> {
        if p.folding == Folding::CyclesPerImage(10) && p.activation_bits == 8 {
            return Ok(Outcome::Skipped(
                "no folding reaches 10 cycles per image".into(),
            ));
        }
        let w = f64::from(p.weight_bits);
        let a = f64::from(p.activation_bits);
        let luts = (w * a * 37.0) as u64 + 11;
        Ok(Outcome::Done(Metrics {
            accuracy: 1.0 - 0.5 / (w * a),
            weight_memory_bits: 2368 * u64::from(p.weight_bits),
            cycles_per_image: 64,
            throughput_images_per_s: 1.5e6 / w,
            clock_mhz: 100.0,
            luts,
            ffs: luts / 2,
            carries: 8,
            dsps: 0,
            bram_bits: 0,
            area_source: AreaSource::Model,
            layers: vec![
                LayerArea {
                    name: "fc0".into(),
                    luts: luts * 2 / 3,
                    ffs: 1,
                    carries: 2,
                    dsps: 0,
                    bram_bits: 0,
                },
                LayerArea {
                    name: "fc1".into(),
                    luts: luts - luts * 2 / 3,
                    ffs: 3,
                    carries: 4,
                    dsps: 0,
                    bram_bits: 0,
                },
            ],
        }))
    }
}

/// Fails (stops the sweep) once `k` points have been evaluated: an interrupted run.
struct SyntheticFailsAfter {
    k: usize,
    count: AtomicUsize,
}

impl Evaluator for SyntheticFailsAfter {
    fn tool_versions(&self) -> Vec<(String, String)> {
        SyntheticEvaluator.tool_versions()
    }
    fn evaluate(&self, p: &PointConfig) -> Result<Outcome, EvalError> {
        if self.count.fetch_add(1, Ordering::SeqCst) >= self.k {
            return Err("synthetic failure: simulated interruption".into());
        }
        SyntheticEvaluator.evaluate(p)
    }
}

fn fresh_dir(name: &str) -> PathBuf {
    scratch!(name).join("sweep")
}

fn grid() -> (SweepFile, Grid) {
    let sweep = SweepFile::parse(SWEEP, "runner.ron").unwrap();
    let grid = Grid::new(&sweep, "runner.ron").unwrap();
    (sweep, grid)
}

fn run(dir: &Path, evaluator: &dyn Evaluator, options: RunOptions) -> Result<(), ExploreError> {
    let (sweep, grid) = grid();
    run_sweep(&sweep, "runner.ron", &grid, evaluator, dir, &options).map(|_| ())
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn small_sweep_writes_one_row_per_point_with_the_documented_columns() {
    let dir = fresh_dir("full");
    let (_, grid) = grid();
    run(&dir, &SyntheticEvaluator, RunOptions::default()).unwrap();
    let csv = read(&dir, "results.csv");
    let mut lines = csv.lines();
    assert_eq!(parse_csv_line(lines.next().unwrap()).unwrap(), CSV_COLUMNS);
    let rows: Vec<Vec<String>> = lines.map(|l| parse_csv_line(l).unwrap()).collect();
    assert_eq!(rows.len(), grid.points().len());
    for (row, point) in rows.iter().zip(grid.points()) {
        assert_eq!(row.len(), CSV_COLUMNS.len());
        assert_eq!(row[0], point.index.to_string());
        assert_eq!(row[1], point.id);
        assert_eq!(row[2], point.label);
    }
    let json = read_json(&dir).unwrap();
    assert_eq!(json.len(), grid.points().len());
    assert_eq!(
        read(&dir, "results.json").lines().count(),
        grid.points().len()
    );
    let records = read_csv(&dir.join("results.csv")).unwrap();
    let ok = records.iter().find(|r| r.metrics.is_some()).unwrap();
    let m = ok.metrics.as_ref().unwrap();
    assert_eq!(m.layers.len(), 2);
    assert_eq!(m.layers[0].luts + m.layers[1].luts, m.luts);
    let meta = Meta::read(&dir).unwrap().unwrap();
    assert!(meta.complete);
    assert_eq!(meta.sweep_hash, grid.hash());
    assert_eq!(meta.points_done, grid.points().len());
    assert_eq!(
        meta.tool_versions.get("synthetic").map(String::as_str),
        Some("1")
    );
    assert_eq!(meta.qforge_version, qforge::VERSION);
    let timing = Timing::read(&dir).unwrap().unwrap();
    assert_eq!(timing.points_evaluated, grid.points().len());
    assert!(timing.wall_time_s > 0.0 && timing.merged_from.is_empty());
}

#[test]
fn skipped_point_appears_with_its_reason() {
    let dir = fresh_dir("skipped");
    run(&dir, &SyntheticEvaluator, RunOptions::default()).unwrap();
    let records = read_csv(&dir.join("results.csv")).unwrap();
    let skipped: Vec<_> = records.iter().filter(|r| r.skip_reason.is_some()).collect();
    assert!(!skipped.is_empty());
    for r in &skipped {
        assert_eq!(r.activation_bits, 8);
        assert!(r.label.contains("cycles_per_image(10)"));
        assert_eq!(
            r.skip_reason.as_deref(),
            Some("no folding reaches 10 cycles per image")
        );
        assert!(r.metrics.is_none());
    }
    let csv = read(&dir, "results.csv");
    assert!(csv.contains(",skipped,no folding reaches 10 cycles per image,"));
    let meta = Meta::read(&dir).unwrap().unwrap();
    assert_eq!(meta.points_skipped, skipped.len());
}

#[test]
fn refuses_to_overwrite_results_without_resume() {
    let dir = fresh_dir("overwrite");
    run(&dir, &SyntheticEvaluator, RunOptions::default()).unwrap();
    let err = run(&dir, &SyntheticEvaluator, RunOptions::default()).unwrap_err();
    assert!(err.to_string().contains("--resume"), "{err}");
}

#[test]
fn interrupted_sweep_resumed_equals_uninterrupted() {
    let full = fresh_dir("resume_full");
    run(&full, &SyntheticEvaluator, RunOptions::default()).unwrap();

    let dir = fresh_dir("resume_cut");
    let failing = SyntheticFailsAfter {
        k: 7,
        count: AtomicUsize::new(0),
    };
    let two_threads = RunOptions {
        jobs: Some(2),
        ..RunOptions::default()
    };
    let err = run(&dir, &failing, two_threads).unwrap_err();
    assert!(err.to_string().contains("simulated interruption"), "{err}");
    let partial = read_json(&dir).unwrap();
    assert_eq!(
        partial.len(),
        7,
        "every point finished before the failure is on disk"
    );
    assert!(!Meta::read(&dir).unwrap().unwrap().complete);

    // A limited run stops early too, then resume finishes the rest.
    let limited = RunOptions {
        resume: true,
        limit: Some(5),
        ..RunOptions::default()
    };
    run(&dir, &SyntheticEvaluator, limited).unwrap();
    assert_eq!(read_json(&dir).unwrap().len(), 12);
    run(
        &dir,
        &SyntheticEvaluator,
        RunOptions {
            resume: true,
            ..RunOptions::default()
        },
    )
    .unwrap();

    assert_eq!(read(&dir, "results.csv"), read(&full, "results.csv"));
    assert_eq!(read(&dir, "results.json"), read(&full, "results.json"));
    assert!(Meta::read(&dir).unwrap().unwrap().complete);
    // Nothing measured in meta.json, so it is the uninterrupted run's too.
    assert_eq!(read(&dir, "meta.json"), read(&full, "meta.json"));
    // The last run evaluated what the first two left (7 + 5 points).
    let timing = Timing::read(&dir).unwrap().unwrap();
    assert_eq!(timing.points_evaluated, grid().1.points().len() - 12);
}

#[test]
fn resume_ignores_a_torn_last_line() {
    let full = fresh_dir("torn_full");
    run(&full, &SyntheticEvaluator, RunOptions::default()).unwrap();
    let dir = fresh_dir("torn");
    run(
        &dir,
        &SyntheticEvaluator,
        RunOptions {
            limit: Some(4),
            ..RunOptions::default()
        },
    )
    .unwrap();
    let mut json = read(&dir, "results.json");
    json.push_str("{\"index\": 9, \"id\": \"trunc");
    std::fs::write(dir.join("results.json"), json).unwrap();
    run(
        &dir,
        &SyntheticEvaluator,
        RunOptions {
            resume: true,
            ..RunOptions::default()
        },
    )
    .unwrap();
    assert_eq!(read(&dir, "results.json"), read(&full, "results.json"));
}

#[test]
fn shards_merged_equal_the_unsharded_sweep() {
    let full = fresh_dir("shard_full");
    run(&full, &SyntheticEvaluator, RunOptions::default()).unwrap();
    let shards: Vec<PathBuf> = (0..3)
        .map(|i| {
            let dir = fresh_dir(&format!("shard_{i}"));
            let shard = Some(Shard { index: i, count: 3 });
            run(
                &dir,
                &SyntheticEvaluator,
                RunOptions {
                    shard,
                    ..RunOptions::default()
                },
            )
            .unwrap();
            let meta = Meta::read(&dir).unwrap().unwrap();
            assert!(meta.complete);
            assert_eq!(meta.shard, shard);
            dir
        })
        .collect();
    let out = fresh_dir("shard_merged");
    let dirs: Vec<&Path> = shards.iter().map(PathBuf::as_path).collect();
    let meta = merge_results(&dirs, &out).unwrap();
    assert!(meta.complete);
    assert_eq!(read(&out, "results.csv"), read(&full, "results.csv"));
    assert_eq!(read(&out, "results.json"), read(&full, "results.json"));
    assert_eq!(read(&out, "meta.json"), read(&full, "meta.json"));
    let timing = Timing::read(&out).unwrap().unwrap();
    assert_eq!(timing.merged_from.len(), 3);
    assert_eq!(timing.points_evaluated, grid().1.points().len());

    // Two shards only: merged but not complete.
    let partial = fresh_dir("shard_partial");
    assert!(!merge_results(&dirs[..2], &partial).unwrap().complete);
}

#[test]
fn merge_rejects_shards_of_different_sweeps() {
    let a = fresh_dir("mix_a");
    run(&a, &SyntheticEvaluator, RunOptions::default()).unwrap();
    let b = fresh_dir("mix_b");
    let other = SWEEP.replace("[minmax, mse]", "[minmax]");
    let sweep = SweepFile::parse(&other, "other.ron").unwrap();
    let grid = Grid::new(&sweep, "other.ron").unwrap();
    run_sweep(
        &sweep,
        "other.ron",
        &grid,
        &SyntheticEvaluator,
        &b,
        &RunOptions::default(),
    )
    .unwrap();
    let err = merge_results(&[&a, &b], &fresh_dir("mix_out")).unwrap_err();
    assert!(matches!(err, ExploreError::ShardMismatch { .. }), "{err}");
    // Resuming into a folder of another sweep is refused too.
    let err = run(
        &b,
        &SyntheticEvaluator,
        RunOptions {
            resume: true,
            ..RunOptions::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("cannot resume"), "{err}");
}

/// Returns NaN accuracy: a broken evaluator whose row could not be written as JSON and read back.
struct SyntheticNan;

impl Evaluator for SyntheticNan {
    fn tool_versions(&self) -> Vec<(String, String)> {
        vec![]
    }
    fn evaluate(&self, p: &PointConfig) -> Result<Outcome, EvalError> {
        match SyntheticEvaluator.evaluate(p)? {
            Outcome::Done(mut m) => {
                m.accuracy = f64::NAN;
                Ok(Outcome::Done(m))
            }
            skipped => Ok(skipped),
        }
    }
}

#[test]
fn non_finite_metrics_stop_the_sweep_with_a_named_point() {
    let dir = fresh_dir("nan");
    let err = run(&dir, &SyntheticNan, RunOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("must be finite") && err.contains("uniform W2A4"),
        "{err}"
    );
    assert!(read_json(&dir).is_ok());
}

/// Layer overrides count the layers with weights (dense and convolution layers), as the
/// quantizer does: in a conv → pool → dense model, override 1 is the dense layer (it was
/// rejected as beyond the model's one dense layer, and an activation override for the dense
/// layer's input was never applied).
#[test]
fn cnn_layer_overrides_index_the_layers_with_weights() {
    use qforge::explore::evaluate::{EvaluatorOptions, NetworkEvaluator};
    use qforge::nn::{Architecture, LayerSpec};
    use qforge::qnn::{Layer, WeightCode};
    let dir = fresh_dir("cnn_overrides");
    std::fs::create_dir_all(&dir).unwrap();
    let arch = Architecture {
        name: "cnn".into(),
        layers: vec![
            LayerSpec::Conv2d {
                out_channels: 2,
                kernel: 3,
                stride: 1,
                padding: 1,
            },
            LayerSpec::Relu,
            LayerSpec::MaxPool2d {
                kernel: 2,
                stride: 2,
            },
            LayerSpec::Flatten,
            LayerSpec::Dense { out_features: 10 },
        ],
    };
    arch.build(&[1, 8, 8], 1)
        .unwrap()
        .save(dir.join("cnn.ron"), &[])
        .unwrap();
    let path = dir.join("sweep.ron");
    std::fs::write(
        &path,
        "(name: \"cnn\", model: \"cnn.ron\", axes: (weight_scheme: [uniform], weight_bits: [4], \
         activation_bits: [4], layer_overrides: [[(layer: 1, weight_bits: 8, activation_bits: 6)]], \
         calibration: [minmax], scale_bits: [8], accumulator: [proven], \
         folding: [fully_folded], fpga: [ice40]))",
    )
    .unwrap();
    let sweep = SweepFile::load(&path).unwrap();
    let options = EvaluatorOptions {
        coefficients_dir: Some(dir.clone()),
        ..EvaluatorOptions::default()
    };
    let ev = NetworkEvaluator::new(&sweep, &path, options).unwrap();
    let grid = Grid::new(&sweep, "sweep.ron").unwrap();
    let net = ev.quantized_net(&grid.points()[0].config).unwrap();
    let Layer::Conv2d(conv) = &net.layers[0] else {
        panic!("layer 0 is {:?}", net.layers[0])
    };
    assert_eq!(conv.weights, WeightCode::Uniform { bits: 4 });
    let Layer::Dense(dense) = &net.layers[2] else {
        panic!("layer 2 is {:?}", net.layers[2])
    };
    assert_eq!(dense.weights, WeightCode::Uniform { bits: 8 });
    assert_eq!(net.layer_input_format(2).bits, 6);
    assert_eq!(net.layer_input_format(0).bits, 4);
    let _ = std::fs::remove_dir_all(&dir);
}
