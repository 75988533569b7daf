//! `qforge sweep` on the command line: grid listing, errors with file:line:col and exit code 2,
//! merge and plot on synthetic results (figures made up, openly), a real run of the default
//! sweep's first points, a clear error when the sweep's model is missing, and the output-folder
//! rule (a results folder is absent, empty, or one qforge wrote).

use crate::common::{qforge, Run};
use qforge::explore::error::EvalError;
use qforge::explore::evaluator::{AreaSource, Evaluator, Metrics, Outcome};
use qforge::explore::grid::{Grid, PointConfig, Shard};
use qforge::explore::runner::{run_sweep, RunOptions};
use qforge::explore::sweep_file::SweepFile;

struct SyntheticEvaluator;

impl Evaluator for SyntheticEvaluator {
    fn tool_versions(&self) -> Vec<(String, String)> {
        vec![("synthetic".into(), "1".into())]
    }
    fn evaluate(&self, p: &PointConfig) -> Result<Outcome, EvalError> {
        let w = u64::from(p.weight_bits);
        Ok(Outcome::Done(Metrics {
            accuracy: 0.9 + 0.01 * w as f64,
            weight_memory_bits: 100 * w,
            cycles_per_image: 10,
            throughput_images_per_s: 1e6,
            clock_mhz: 100.0,
            luts: 100 * w,
            ffs: 10,
            carries: 1,
            dsps: 0,
            bram_bits: 0,
            area_source: AreaSource::Model,
            layers: vec![],
        }))
    }
}

#[test]
fn list_prints_the_grid_of_the_bundled_sweep() {
    let Run { code, out, err, .. } = qforge(&["sweep", "models/sweep_default.ron", "--list"]);
    assert_eq!(code, 0, "{err}");
    let sweep = SweepFile::load("models/sweep_default.ron".as_ref()).unwrap();
    let grid = Grid::new(&sweep, "x").unwrap();
    assert_eq!(out.lines().count(), grid.points().len() + 1);
    assert!(out.contains(grid.hash()));
    let first: Vec<&str> = out.lines().next().unwrap().split('\t').collect();
    assert_eq!(
        first,
        [
            "0",
            grid.points()[0].id.as_str(),
            grid.points()[0].label.as_str()
        ]
    );
}

#[test]
fn bad_sweep_file_reports_file_line_col_and_exits_2() {
    let dir = scratch!("bad");
    let file = dir.join("bad.ron");
    std::fs::write(&file, "(\n  name: \"x\",\n  model: 3,\n)").unwrap();
    let Run { code, err, .. } = qforge(&["sweep", file.to_str().unwrap(), "--list"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with(&format!("error: {}:3:", file.display())),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_sweep_whose_model_is_missing_is_a_clear_error() {
    let out = scratch!("nomodel");
    let file = out.join("sweep.ron");
    std::fs::write(
        &file,
        r#"(name: "x", model: "no_such_model.ron", axes: (weight_scheme: [uniform],
        weight_bits: [4], activation_bits: [8], calibration: [minmax], scale_bits: [8],
        accumulator: [proven], folding: [fully_folded], fpga: [ice40]))"#,
    )
    .unwrap();
    let results = out.join("results");
    let Run { code, err, .. } = qforge(&[
        "sweep",
        file.to_str().unwrap(),
        "-o",
        results.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no_such_model.ron"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!results.join("results.csv").exists());
}

#[test]
fn the_default_sweep_runs_and_reports_its_rate_and_area_model_error() {
    let out = scratch!("default");
    let Run {
        code,
        out: stdout,
        err,
        ..
    } = qforge(&[
        "sweep",
        "models/sweep_default.ron",
        "-o",
        out.to_str().unwrap(),
        "--limit",
        "3",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("3 evaluated"), "{stdout}");
    assert!(stdout.contains("points/s"), "{stdout}");
    assert!(stdout.contains("100 MHz"), "{stdout}");
    assert!(stdout.contains("models/area_ice40.ron"), "{stdout}");
    assert!(stdout.contains("pe_uniform"), "{stdout}");
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "header and three rows");
}

#[test]
fn merge_and_plot_subcommands_work_on_shards() {
    let text = r#"(name: "cli", model: "m.ron", axes: (weight_scheme: [uniform, pot],
        weight_bits: (from: 2, to: 5), activation_bits: [8], calibration: [minmax],
        scale_bits: [8], accumulator: [proven], folding: [fully_parallel], fpga: [ice40]))"#;
    let sweep = SweepFile::parse(text, "cli.ron").unwrap();
    let grid = Grid::new(&sweep, "cli.ron").unwrap();
    let root = scratch!("merge");
    let mut dirs = Vec::new();
    for i in 0..2 {
        let dir = root.join(format!("s{i}"));
        let options = RunOptions {
            shard: Some(Shard { index: i, count: 2 }),
            ..RunOptions::default()
        };
        run_sweep(
            &sweep,
            "cli.ron",
            &grid,
            &SyntheticEvaluator,
            &dir,
            &options,
        )
        .unwrap();
        dirs.push(dir.to_str().unwrap().to_string());
    }
    let out = root.join("all");
    let Run {
        code,
        out: stdout,
        err,
        ..
    } = qforge(&[
        "sweep",
        "merge",
        &dirs[0],
        &dirs[1],
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        stdout.contains(&format!(
            "{}/{} points",
            grid.points().len(),
            grid.points().len()
        )),
        "{stdout}"
    );
    assert!(out.join("accuracy_vs_luts.png").exists());
    std::fs::remove_file(out.join("accuracy_vs_luts.png")).unwrap();
    let Run { code, err, .. } = qforge(&["sweep", "plot", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.join("accuracy_vs_luts.png").exists(),
        "plot redraws from the CSV"
    );
    assert!(out.join("index.html").exists());
    let Run { code, err, .. } =
        qforge(&["sweep", "plot", out.to_str().unwrap(), "--point", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("no point with id nope"), "{err}");
}

/// Two synthetic shards of a small sweep under `root` (their folder names).
fn synthetic_shards(root: &std::path::Path) -> Vec<String> {
    let text = r#"(name: "cli", model: "m.ron", axes: (weight_scheme: [uniform],
        weight_bits: (from: 2, to: 3), activation_bits: [8], calibration: [minmax],
        scale_bits: [8], accumulator: [proven], folding: [fully_parallel], fpga: [ice40]))"#;
    let sweep = SweepFile::parse(text, "cli.ron").unwrap();
    let grid = Grid::new(&sweep, "cli.ron").unwrap();
    (0..2)
        .map(|i| {
            let dir = root.join(format!("s{i}"));
            let options = RunOptions {
                shard: Some(Shard { index: i, count: 2 }),
                ..RunOptions::default()
            };
            run_sweep(
                &sweep,
                "cli.ron",
                &grid,
                &SyntheticEvaluator,
                &dir,
                &options,
            )
            .unwrap();
            dir.to_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn results_folders_not_made_by_qforge_are_refused() {
    let root = scratch!("refuse");
    let user = root.join("mine");
    std::fs::create_dir(&user).unwrap();
    std::fs::write(user.join("keep.txt"), "x").unwrap();
    let user_s = user.to_str().unwrap();
    let shards = synthetic_shards(&root);
    for args in [
        vec![
            "sweep",
            "models/sweep_default.ron",
            "-o",
            user_s,
            "--limit",
            "1",
        ],
        vec![
            "sweep", "merge", &shards[0], &shards[1], "-o", user_s, "--force",
        ],
        vec!["sweep", "plot", user_s],
    ] {
        let Run { code, err, .. } = qforge(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!(
                "error: refusing to write to {user_s}: it is a folder qforge did not create"
            )),
            "{err}"
        );
        let names: Vec<_> = std::fs::read_dir(&user)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["keep.txt"], "{args:?}");
    }
}

#[test]
fn sweep_folders_are_marked_and_other_kinds_need_force() {
    let root = scratch!("kinds");
    let shards = synthetic_shards(&root);
    assert_eq!(
        std::fs::read_to_string(root.join("s0/.qforge-output")).unwrap(),
        "sweep\n"
    );
    let out = root.join("all");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join(".qforge-output"), "pe\n").unwrap();
    std::fs::write(out.join("qforge.json"), "{}").unwrap();
    let out_s = out.to_str().unwrap();
    let merge = |force: bool| {
        let mut args = vec!["sweep", "merge", &shards[0], &shards[1], "-o", out_s];
        if force {
            args.push("--force");
        }
        qforge(&args)
    };
    let Run { code, err, .. } = merge(false);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("it holds a qforge pe output, not sweep; pass --force"),
        "{err}"
    );
    assert!(out.join("qforge.json").exists());
    let Run { code, err, .. } = merge(true);
    assert_eq!(code, 0, "{err}");
    assert!(!out.join("qforge.json").exists());
    assert!(out.join("results.csv").exists());
    // Merging again into the sweep folder it made needs nothing more.
    let Run { code, err, .. } = merge(false);
    assert_eq!(code, 0, "{err}");
    let siblings: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(siblings.is_empty(), "temp folders left: {siblings:?}");
}
