//! The `quantize`, `eval`, `train --qat` and `demo` commands end to end.

use crate::common::{qforge, Run};
use std::path::Path;

fn json_last_line(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

#[test]
fn quantize_then_eval_matches_eval_on_the_fly() {
    let q = scratch!("quantize").join("uniform8.ron");
    let q_s = q.to_str().unwrap();
    let Run { ok, out, err, .. } = qforge(&[
        "quantize",
        "--model",
        "models/digits_mlp.ron",
        "--spec",
        "models/quant_uniform8.ron",
        "-o",
        q_s,
        "--certificates",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("layer 0: accumulator in ["), "{out}");
    let dump = scratch!("eval").join("logits.tsv");
    let Run {
        ok,
        out: file_out,
        err,
        ..
    } = qforge(&[
        "eval",
        "--model",
        q_s,
        "--data",
        "digits",
        "--json",
        "--repeat",
        "3",
        "--dump-logits",
        dump.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let a = json_last_line(&file_out);
    let Run {
        ok,
        out: fly_out,
        err,
        ..
    } = qforge(&[
        "eval",
        "--model",
        "models/digits_mlp.ron",
        "--quant",
        "models/quant_uniform8.ron",
        "--json",
    ]);
    assert!(ok, "{err}");
    let b = json_last_line(&fly_out);
    assert_eq!(a["accuracy"], b["accuracy"]);
    assert_eq!(a["samples"], 450);
    assert_eq!(a["macs"], 450 * 2368);
    assert!(a["mac_per_s"].as_f64().unwrap() > 0.0);
    assert_eq!(a["kind"], "integer");
    let rows = std::fs::read_to_string(dump).unwrap();
    assert_eq!(rows.lines().count(), 450);
    assert!(rows
        .lines()
        .all(|l| l.split('\t').count() == 10 && l.split('\t').all(|v| v.parse::<i64>().is_ok())));
}

#[test]
fn eval_of_a_float_model_reports_float() {
    let Run { ok, out, err, .. } = qforge(&["eval", "--model", "models/digits_mlp.ron", "--json"]);
    assert!(ok, "{err}");
    let v = json_last_line(&out);
    assert_eq!(v["kind"], "float");
    assert_eq!(v["macs"], 450 * 2368);
}

#[test]
fn bad_integer_model_reports_file_line_col_and_exits_2() {
    let bad = scratch!("bad").join("bad.ron");
    std::fs::write(&bad, "(\n  input: (format: (bits: 8, signed: false), scale: 1.0, rounding: half_even),\n  layers: [Dense((in_features: 2,, ))],\n)\n").unwrap();
    let Run { ok, code, err, .. } = qforge(&["eval", "--model", bad.to_str().unwrap()]);
    assert!(!ok);
    assert_eq!(code, 2);
    let want = format!("error: {}:3:", bad.display());
    assert!(err.starts_with(&want), "{err}");
}

/// The demo, into a folder where an older qforge left another sweep's results (the demo
/// resumes its own sweep folder, and replaces it when it holds a different sweep).
#[test]
fn demo_prints_the_table() {
    let dir = scratch!("demo");
    let old = dir.join("sweep");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(old.join(".qforge-output"), "sweep\n").unwrap();
    std::fs::write(
        old.join("meta.json"),
        r#"{"qforge_version": "0.1.0", "git_revision": "x", "tool_versions": {},
            "sweep_name": "digits_default", "sweep_file": "models/sweep_default.ron",
            "sweep_hash": "0000000000000000", "points_total": 87, "shard": null,
            "points_done": 0, "points_skipped": 0, "complete": false}"#,
    )
    .unwrap();
    let Run { ok, out, err, .. } = qforge(&["demo", "-o", dir.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("holds an older sweep's results"), "{out}");
    assert!(old.join("results.csv").is_file());
    for row in [
        "float32",
        "uniform    w8 a8",
        "pot        w4 a4",
        "uniform    w4 a4",
    ] {
        assert!(out.contains(row), "{out}");
    }
}

/// `train --qat`: the integer network is written, the same seed writes the same bytes, `eval`
/// of the file reports the accuracy training printed, and the float shadow weights load.
#[test]
fn train_qat_writes_the_same_integer_network_for_the_same_seed() {
    let dir = scratch!("train_qat");
    let run = |name: &str, seed: &str| {
        let out = dir.join(name);
        let float = dir.join(format!("float_{name}"));
        let r = qforge(&[
            "train",
            "--qat",
            "models/quant_pot4_a4.ron",
            "--init",
            "models/digits_mlp.ron",
            "--epochs",
            "3",
            "--seed",
            seed,
            "-o",
            out.to_str().unwrap(),
            "--float-out",
            float.to_str().unwrap(),
        ]);
        assert!(r.ok, "{}", r.err);
        (std::fs::read(&out).unwrap(), r.out, out, float)
    };
    let (a, out, path, float) = run("a.ron", "4");
    let (b, _, _, _) = run("b.ron", "4");
    let (c, _, _, _) = run("c.ron", "5");
    assert_eq!(a, b, "same seed, same file");
    assert_ne!(a, c, "another seed trains another network");
    assert!(
        out.contains("integer test acc 0.9378 (post-training quantization)"),
        "{out}"
    );
    let last = out
        .lines()
        .find(|l| l.starts_with("integer test acc "))
        .unwrap();
    let acc = &last["integer test acc ".len().."integer test acc ".len() + 6];
    assert!(last.contains("450/450 classes (1.0000)"), "{last}");
    let Run { ok, out: eval, .. } = qforge(&["eval", "--model", path.to_str().unwrap(), "--json"]);
    assert!(ok);
    let json = json_last_line(&eval);
    assert_eq!(format!("{:.4}", json["accuracy"].as_f64().unwrap()), acc);
    let Run { ok, err, .. } = qforge(&["eval", "--model", float.to_str().unwrap()]);
    assert!(ok, "{err}");
}

/// `train --qat --arch cnn`: the small CNN trains from scratch into an integer network whose
/// fake-quantized forward pass equals it code for code (every scale a power of two), `eval`
/// reports the printed accuracy and `hdl net` maps it with the CNN folding.
#[test]
fn train_qat_trains_the_cnn_into_a_network_hdl_net_takes() {
    let dir = scratch!("train_qat_cnn");
    let out = dir.join("cnn.ron");
    let Run {
        ok, out: log, err, ..
    } = qforge(&[
        "train",
        "--qat",
        "models/qat_pot3_a3.ron",
        "--arch",
        "cnn",
        "--epochs",
        "2",
        "--seed",
        "1",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let last = log
        .lines()
        .find(|l| l.starts_with("integer test acc "))
        .unwrap();
    assert!(
        last.contains("450/450 classes (1.0000) and 432000/432000 activation codes (1.0000)"),
        "{last}"
    );
    let acc = &last["integer test acc ".len().."integer test acc ".len() + 6];
    let Run { ok, out: eval, .. } = qforge(&["eval", "--model", out.to_str().unwrap(), "--json"]);
    assert!(ok);
    let json = json_last_line(&eval);
    assert_eq!(format!("{:.4}", json["accuracy"].as_f64().unwrap()), acc);
    let net = dir.join("net");
    let Run {
        ok, out: hdl, err, ..
    } = qforge(&[
        "hdl",
        "net",
        "--model",
        out.to_str().unwrap(),
        "--arch",
        "models/arch_cnn.ron",
        "--images",
        "20",
        "-o",
        net.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(hdl.contains(", 20 images, "), "{hdl}");
    assert!(hdl.contains("plan     l0 p2 s3"), "{hdl}");
    // Proven in Verilator: every output value and cycle of the QAT-trained CNN's accelerator.
    let cache = crate::common::verilator_cache();
    let Run {
        ok, out: v, err, ..
    } = qforge(&[
        "verify",
        net.to_str().unwrap(),
        "--json",
        "--cache-dir",
        cache.to_str().unwrap(),
    ]);
    assert!(ok, "{v}{err}");
    let json = json_last_line(&v);
    assert_eq!(json["mismatches"], 0);
    assert_eq!(json["images"], 20);
    assert_eq!(json["rtl_cycles"], json["model_cycles"]);
}

#[test]
fn train_qat_refuses_another_input_size_a_pool_without_conv_and_sgd() {
    let dir = scratch!("train_qat_bad");
    let out = dir.join("x.ron");
    let arch = dir.join("pool_first.ron");
    std::fs::write(
        &arch,
        "Architecture(name: \"pool_first\", layers: [MaxPool2d(kernel: 2, stride: 2), \
         Conv2d(out_channels: 4, kernel: 3, stride: 1, padding: 1), Relu, Flatten, \
         Dense(out_features: 10)])",
    )
    .unwrap();
    let Run { ok, code, err, .. } = qforge(&[
        "train",
        "--qat",
        "models/quant_pot4_a4.ron",
        "--arch",
        "mlp:32-10",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && code == 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let Run { ok, code, err, .. } = qforge(&[
        "train",
        "--qat",
        "models/quant_pot4_a4.ron",
        "--arch",
        arch.to_str().unwrap(),
        "--epochs",
        "1",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && code == 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("layer 0: a MaxPool2d must directly follow a Conv2d layer or its ReLU"),
        "{err}"
    );
    let Run { ok, code, err, .. } = qforge(&[
        "train",
        "--qat",
        "models/quant_pot4_a4.ron",
        "--optimizer",
        "sgd",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && code == 2, "{err}");
    assert_eq!(
        err.trim_end(),
        "error: --optimizer sgd is not available with --qat (quantization-aware training uses Adam)"
    );
    assert!(!out.exists());
}

/// Model files are written atomically beside their path and renamed into place: an existing
/// file is replaced (no temp file left), a symbolic link or a folder at the path is refused
/// with one line and left as it was.
#[test]
fn model_outputs_replace_files_and_refuse_links_and_folders() {
    let dir = scratch!("model_outputs");
    let quantize = |out: &std::path::Path| {
        qforge(&[
            "quantize",
            "--model",
            "models/digits_mlp.ron",
            "--spec",
            "models/quant_uniform4.ron",
            "-o",
            out.to_str().unwrap(),
        ])
    };
    let file = dir.join("net.ron");
    std::fs::write(&file, "old").unwrap();
    let r = quantize(&file);
    assert!(r.ok, "{}", r.err);
    assert!(std::fs::read_to_string(&file).unwrap().contains("layers"));
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["net.ron"], "no temp file left");
    let target = dir.join("target.txt");
    std::fs::write(&target, "keep").unwrap();
    let link = dir.join("link.ron");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let r = quantize(&link);
    assert_eq!(r.code, 2, "{}", r.err);
    assert_eq!(r.err.lines().count(), 1, "{}", r.err);
    assert!(
        r.err.contains("it is a symbolic link, not a file"),
        "{}",
        r.err
    );
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    let folder = dir.join("folder.ron");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("mine"), "x").unwrap();
    let r = quantize(&folder);
    assert_eq!(r.code, 2, "{}", r.err);
    assert!(r.err.contains("it is a folder, not a file"), "{}", r.err);
    assert_eq!(std::fs::read_to_string(folder.join("mine")).unwrap(), "x");
}

/// `--model hls4ml:DIR` from the command line: `eval --dump-logits` writes the raw result codes,
/// and each, read at the fractional bits of the project's `result_t` (by hand from its
/// `defines.h`: `ap_fixed<38,18>` → 20, `ap_fixed<16,6>` → 10) and rounded to float32 as hls4ml's
/// `predict()` hands it back, is exactly hls4ml's C-simulation logit. The hardware flow says in one line that these layers have no MVU mapping yet.
#[test]
fn hls4ml_projects_evaluate_from_the_command_line_with_exact_logits() {
    for (config, frac_bits) in [("fixed16", 20), ("fixed8_rnd_sat", 10)] {
        let dir = scratch!(config);
        let dump = dir.join("logits.tsv");
        let model = format!("hls4ml:tests/golden/hls4ml/{config}");
        let run = qforge(&[
            "eval",
            "--model",
            &model,
            "--dump-logits",
            dump.to_str().unwrap(),
        ]);
        assert_eq!(run.code, 0, "{}", run.err);
        let got: Vec<f32> = std::fs::read_to_string(&dump)
            .unwrap()
            .split_whitespace()
            .map(|v| (v.parse::<i64>().unwrap() as f64 * 2f64.powi(-frac_bits)) as f32)
            .collect();
        let want: Vec<f32> = std::fs::read_to_string(format!(
            "tests/golden/hls4ml/{config}/expected_logits_test.tsv"
        ))
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
        assert_eq!(got.len(), 4500, "{config}");
        let exact = got
            .iter()
            .zip(&want)
            .filter(|(a, b)| a.to_bits() == b.to_bits())
            .count();
        assert_eq!(exact, 4500, "{config}: every logit exact");
        let run = qforge(&[
            "hdl",
            "net",
            "--model",
            &model,
            "-o",
            dir.join("net").to_str().unwrap(),
        ]);
        assert_eq!(run.code, 2);
        assert!(
            run.err
                .contains("fixed-point (hls4ml-style) layers have no MVU mapping"),
            "{}",
            run.err
        );
    }
}

/// `train --qat` with pruning in the spec's training section: the report names each layer's
/// pruned weights and kept channels, the written network has only the kept channels, and a
/// pruning value out of range is refused at its place in the file.
#[test]
fn train_qat_prunes_weights_and_channels_and_reports_them() {
    let dir = scratch!("train_qat_prune");
    let spec_text = std::fs::read_to_string("models/qat_uniform4_a4.ron").unwrap().replace(
        "batch_size: 32)",
        "batch_size: 32, prune: (sparsity: 0.5, schedule: one_shot), channels: (keep: 0.5, method: magnitude))",
    );
    assert!(spec_text.contains("channels: (keep: 0.5"));
    let spec = dir.join("prune.ron");
    std::fs::write(&spec, &spec_text).unwrap();
    let out = dir.join("pruned.ron");
    let Run {
        ok,
        out: stdout,
        err,
        ..
    } = qforge(&[
        "train",
        "--qat",
        spec.to_str().unwrap(),
        "--init",
        "models/digits_mlp.ron",
        "--epochs",
        "2",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(
        stdout.contains("layer 0: 1024/2048 weights pruned (50.0%"),
        "{stdout}"
    );
    assert!(
        stdout.contains("16/32 channels kept (magnitude)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("layer 1: 160/320 weights pruned"),
        "{stdout}"
    );
    let net = qforge::qnn::QNet::load(&out).unwrap();
    assert_eq!(net.layers[0].out_features(), 16);
    assert_eq!(net.layers[1].in_features(), 16);
    // a value out of range, named at its line and column
    let bad = spec_text.replace("sparsity: 0.5", "sparsity: 1.5");
    std::fs::write(&spec, &bad).unwrap();
    let line = bad
        .lines()
        .position(|l| l.contains("sparsity: 1.5"))
        .unwrap()
        + 1;
    let Run { ok, code, err, .. } = qforge(&[
        "train",
        "--qat",
        spec.to_str().unwrap(),
        "--init",
        "models/digits_mlp.ron",
        "-o",
        dir.join("never.ron").to_str().unwrap(),
    ]);
    assert!(!ok && code == 2, "{err}");
    assert!(
        err.contains(&format!("prune.ron:{line}:"))
            && err.contains("training prune sparsity (1.5) must be at least 0 and below 1"),
        "{err}"
    );
    assert!(!dir.join("never.ron").exists());
}

#[test]
fn ensemble_reports_each_member_and_both_combines() {
    let dir = scratch!("ensemble_cli");
    let spec3 = dir.join("uniform3.ron");
    let text =
        std::fs::read_to_string(Path::new(crate::common::ROOT).join("models/quant_uniform4.ron"))
            .unwrap()
            .replace("bits: 4, signed", "bits: 3, signed");
    std::fs::write(&spec3, text).unwrap();
    let (a, b) = (dir.join("a.ron"), dir.join("b.ron"));
    for (spec, out) in [
        ("models/quant_uniform4.ron", &a),
        (spec3.to_str().unwrap(), &b),
    ] {
        let r = qforge(&[
            "quantize",
            "--model",
            "models/digits_mlp.ron",
            "--spec",
            spec,
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(r.ok, "{}", r.err);
    }
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let r = qforge(&["ensemble", "--model", a, "--model", b, "--model", a]);
    assert!(r.ok, "{}", r.err);
    assert_eq!(
        r.out.lines().filter(|l| l.starts_with("member ")).count(),
        3
    );
    assert!(
        r.out.contains("ensemble vote of 3  accuracy 0."),
        "{}",
        r.out
    );
    assert!(
        r.out.contains("ensemble sum  of 3  accuracy 0."),
        "{}",
        r.out
    );
    let r = qforge(&["ensemble", "--model", a]);
    assert_eq!(r.code, 2);
    assert!(r.err.contains("at least two --model"), "{}", r.err);

    // The combine unit's Verilog, into a folder of its own; never into a user's folder.
    let v = dir.join("verilog");
    let vs = v.to_str().unwrap();
    let r = qforge(&[
        "ensemble",
        "--model",
        a,
        "--model",
        b,
        "--verilog",
        vs,
        "--combine",
        "vote",
    ]);
    assert!(r.ok, "{}", r.err);
    let files: Vec<String> = std::fs::read_dir(&v)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".v"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].starts_with("qf_combine_vote_m2_c10_"), "{files:?}");
    let text = std::fs::read_to_string(v.join(&files[0])).unwrap();
    assert!(text.contains("unit: combine"), "{text}");
    let mine = dir.join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("keep.txt"), "mine").unwrap();
    let r = qforge(&[
        "ensemble",
        "--model",
        a,
        "--model",
        b,
        "--verilog",
        mine.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.err.contains("qforge did not create"), "{}", r.err);
    assert_eq!(std::fs::read_dir(&mine).unwrap().count(), 1);
}
