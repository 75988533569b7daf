//! `qforge sweep` of the bundled default sweep, resumed and merged, compared byte for byte with
//! an uninterrupted run: a sweep killed (SIGKILL) at random moments and resumed, two halves
//! merged, and a second identical run all write the uninterrupted run's folder, every file but
//! `timing.json` (the measured figures) equal.

use crate::common::{files_except_timing as files, qforge, qforge_command, Run};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const SWEEP: &str = "models/sweep_default.ron";

/// The arguments of a sweep of [`SWEEP`] into `dir`, then `extra`.
fn sweep_args<'a>(dir: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["sweep", SWEEP, "-o", dir.to_str().unwrap(), "--jobs", "2"];
    args.extend_from_slice(extra);
    args
}

fn sweep(dir: &Path, extra: &[&str]) {
    let Run { code, out, err, .. } = qforge(&sweep_args(dir, extra));
    assert_eq!(
        code,
        0,
        "sweep {extra:?} into {}: {out}{err}",
        dir.display()
    );
}

/// The files of `got` that differ from (or are missing in, or are extra to) `want`'s.
fn differences(got: &BTreeMap<PathBuf, Vec<u8>>, want: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<String> {
    let mut names: Vec<&PathBuf> = got.keys().chain(want.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| got.get(*n) != want.get(*n))
        .map(|n| n.display().to_string())
        .collect()
}

/// The uninterrupted sweep (run once for all tests here), its files and its wall time.
fn uninterrupted() -> &'static (PathBuf, BTreeMap<PathBuf, Vec<u8>>, Duration) {
    static FULL: OnceLock<(PathBuf, BTreeMap<PathBuf, Vec<u8>>, Duration)> = OnceLock::new();
    FULL.get_or_init(|| {
        let dir = scratch!("uninterrupted").join("sweep");
        let started = Instant::now();
        sweep(&dir, &[]);
        let took = started.elapsed();
        let all = files(&dir);
        for name in ["results.csv", "results.json", "meta.json", "index.html"] {
            assert!(all.contains_key(Path::new(name)), "no {name}");
        }
        (dir, all, took)
    })
}

#[test]
fn killed_sweeps_resume_to_the_uninterrupted_folder_byte_for_byte() {
    let (_, want, full_run) = uninterrupted();
    let full_us = full_run.as_micros() as u64;
    // xorshift from a fixed seed: the same moments, as fractions of a full run, every time.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let root = scratch!("killed");
    for trial in 0..3 {
        let dir = root.join(format!("trial{trial}"));
        // Two kills per trial: the first run, then the first resume; the second resume finishes.
        let mut sleeps = Vec::new();
        for attempt in 0..2 {
            let sleep = Duration::from_micros(next() % (full_us * 9 / 10 + 1));
            sleeps.push(sleep);
            let extra: &[&str] = if attempt == 0 { &[] } else { &["--resume"] };
            let mut child = qforge_command()
                .args(sweep_args(&dir, extra))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(sleep);
            // Child::kill is SIGKILL: no handler runs, the folder stays as the moment left it.
            let _ = child.kill();
            child.wait().unwrap();
        }
        sweep(&dir, &["--resume"]);
        let off = differences(&files(&dir), want);
        assert!(
            off.is_empty(),
            "trial {trial}, killed after {sleeps:?} (a full run takes {full_run:?}): \
             the resumed folder differs in {off:?}"
        );
    }
}

#[test]
fn merged_halves_equal_the_uninterrupted_folder_byte_for_byte() {
    let (_, want, _) = uninterrupted();
    let root = scratch!("halves");
    let halves: Vec<PathBuf> = (0..2)
        .map(|i| {
            let dir = root.join(format!("half{i}"));
            sweep(&dir, &["--shard", &format!("{i}/2")]);
            dir
        })
        .collect();
    let out = root.join("merged");
    let Run {
        code, out: o, err, ..
    } = qforge(&[
        "sweep",
        "merge",
        halves[0].to_str().unwrap(),
        halves[1].to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{o}{err}");
    let off = differences(&files(&out), want);
    assert!(off.is_empty(), "the merged folder differs in {off:?}");
    // Where the halves came from is recorded with the measured figures.
    let timing: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("timing.json")).unwrap()).unwrap();
    let from = timing["merged_from"].as_array().unwrap();
    assert_eq!(from.len(), 2, "{timing}");
    assert_eq!(timing["points_evaluated"], 174, "{timing}");
}

#[test]
fn identical_sweeps_write_identical_folders_apart_from_timing() {
    let (full, want, _) = uninterrupted();
    let again = scratch!("again").join("sweep");
    sweep(&again, &[]);
    let off = differences(&files(&again), want);
    assert!(
        off.is_empty(),
        "a second identical sweep differs in {off:?}"
    );
    let meta = std::fs::read_to_string(full.join("meta.json")).unwrap();
    for measured in ["wall_time", "per_s", "seconds"] {
        assert!(
            !meta.contains(measured),
            "meta.json holds {measured}: {meta}"
        );
    }
    let timing: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(full.join("timing.json")).unwrap()).unwrap();
    assert!(timing["wall_time_s"].as_f64().unwrap() > 0.0, "{timing}");
    assert!(timing["points_per_s"].as_f64().unwrap() > 0.0, "{timing}");
    assert_eq!(timing["points_evaluated"], 174, "{timing}");
}
