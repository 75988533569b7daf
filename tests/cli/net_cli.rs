//! `qforge hdl net` then `qforge verify` end to end, as a user runs them; the network figures
//! in the verify report; errors on bad plans; identical runs write identical folders (measured
//! figures apart); a run killed at any moment leaves the old design or the new one, never a
//! missing or half-written one. Needs Verilator (fails with one line without it).

use crate::common::files_except_timing as files;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn qforge(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_qforge"))
        .args(args)
        .current_dir(ROOT)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `qforge verify DIR --json` with the shared Verilator cache; it must pass. Its JSON summary.
fn verify_json(dir: &str) -> serde_json::Value {
    let cache = Path::new(ROOT).join("target/qf-verilator-cache");
    let (ok, out, err) = qforge(&[
        "verify",
        dir,
        "--json",
        "--cache-dir",
        cache.to_str().unwrap(),
    ]);
    assert!(ok, "{out}{err}");
    serde_json::from_str(out.lines().last().unwrap()).unwrap()
}

#[test]
fn hdl_net_then_verify_passes_with_network_figures() {
    let dir = Path::new(ROOT).join("target/net-tests/cli_default");
    // A folder left by an older build (without the output marker) would be refused.
    let _ = std::fs::remove_dir_all(&dir);
    let dir_s = dir.to_str().unwrap();
    let vcd = dir.with_file_name("cli_default_model.vcd");
    let _ = std::fs::remove_file(&vcd);
    let (ok, out, err) = qforge(&[
        "hdl",
        "net",
        "--model",
        "models/digits_mlp.ron",
        "--images",
        "40",
        "--backpressure",
        "2",
        "--vcd",
        vcd.to_str().unwrap(),
        "-o",
        dir_s,
    ]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("40 images"), "{out}");
    // Written atomically: no temporary sibling of the folder or the waveform left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".cli_default"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let wave = std::fs::read_to_string(&vcd).unwrap();
    assert!(
        wave.contains("$enddefinitions"),
        "{}",
        &wave[..wave.len().min(300)]
    );
    let manifest = std::fs::read_to_string(dir.join("qforge.json")).unwrap();
    assert!(manifest.contains("\"kind\": \"net\""), "{manifest}");
    let json = verify_json(dir_s);
    assert_eq!(json["images"], 40);
    assert_eq!(json["mismatches"], 0);
    assert_eq!(json["lint_warnings"], 0);
    assert_eq!(json["rtl_cycles"], json["model_cycles"]);
    assert!(json["model_cycles_per_second"].as_f64().unwrap() > 0.0);
    assert!(json["rtl_cycles_per_second"].as_f64().unwrap() > 0.0);
}

/// FINN's TFC shape at W1A1, trained here on MNIST, through the flow on MNIST test images: the
/// design folder records the data set, Verilator agrees with the golden engine on every output
/// and every cycle, and the folding streams one image every 64 cycles (the hand-derived
/// initiation interval of `models/arch_tfc.ron`: 784/784 · 64, 64/64 · 64, 64/64 · 64, 10/10 · 64).
#[test]
fn mnist_tfc_w1a1_through_hdl_net_and_verify() {
    let images = 120;
    let (dir, data, out) = tfc_on_mnist("models/arch_tfc.ron", "cli_tfc", images);
    assert!(out.contains(&format!("{images} images of {data}")), "{out}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("qforge.json")).unwrap()).unwrap();
    assert_eq!(manifest["parameters"]["data"], data.as_str());
    assert_eq!(
        manifest["parameters"]["images"],
        images.to_string().as_str()
    );
    let json = verify_json(dir.to_str().unwrap());
    assert_eq!(json["data"], data.as_str());
    // One image every 64 cycles, plus the pipeline's fill (a few hundred cycles at most).
    assert_proven(&json, images, 64, 300);
}

/// `hdl net` of the bundled TFC W1A1 with the architecture file `arch` on the first `images`
/// MNIST test images, into a fresh `target/net-tests/<name>`: the folder, the `--data` value
/// and the command's output.
fn tfc_on_mnist(arch: &str, name: &str, images: u64) -> (PathBuf, String, String) {
    let mnist = Path::new(ROOT).join("../shared/data/mnist");
    assert!(
        mnist.is_dir(),
        "the MNIST folder {} is missing",
        mnist.display()
    );
    let data = format!("mnist:{}", mnist.display());
    let dir = Path::new(ROOT).join("target/net-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    let (ok, out, err) = qforge(&[
        "hdl",
        "net",
        "--model",
        "models/tfc_w1a1.ron",
        "--arch",
        arch,
        "--data",
        &data,
        "--images",
        &images.to_string(),
        "-o",
        dir.to_str().unwrap(),
    ]);
    assert!(ok, "{out}{err}");
    (dir, data, out)
}

/// `verify --json` found every output of `images` images and every cycle equal, lint clean, in
/// one image per `interval` cycles plus at most `fill` cycles of pipeline fill.
fn assert_proven(json: &serde_json::Value, images: u64, interval: u64, fill: u64) {
    assert_eq!(json["images"], images);
    assert_eq!(json["mismatches"], 0);
    assert_eq!(json["lint_warnings"], 0);
    assert_eq!(json["rtl_cycles"], json["model_cycles"]);
    let cycles = json["rtl_cycles"].as_u64().unwrap();
    let steady = interval * images;
    assert!(
        (steady..steady + fill).contains(&cycles),
        "{cycles} cycles for {images} images"
    );
}

/// TFC W1A1 for an iCE40 HX8K, its memories in block RAM (`models/arch_tfc_bram.ron`: explicit
/// folding, `memory: auto`), on 200 MNIST test images. By hand, the auto rule (block RAM when
/// at least 4 kbit fill at least half the iCE40 blocks they take) gives: layer 0's 784-word
/// weight ROM of 64 varying bits (50,176 bits, 16 blocks) and its input buffer of 196 words of
/// 4 pixels (6,272 bits, 2 blocks), layers 1 and 2's 256 x 16-bit ROMs (one block each) in
/// block RAM; layer 1 and 2's 64-bit input buffers and layer 3's 640 weight bits in logic. The
/// memories read a cycle ahead, so Verilator agrees with the golden engine on every output and
/// cycle, one image per 784 cycles; Yosys maps exactly those 20 blocks, infers no latch, and
/// the design fits an HX8K (32 blocks, 7,680 LUT4).
#[test]
fn mnist_tfc_w1a1_in_block_ram_is_proven_and_fits_an_hx8k() {
    use qforge::verify::manifest::Manifest;
    use qforge::verify::parts::Part;
    use qforge::verify::yosys::{synth, SynthOptions, Target};
    let images = 200;
    let (dir, _, out) = tfc_on_mnist("models/arch_tfc_bram.ron", "cli_tfc_bram", images);
    assert!(
        out.contains(
            "plan     l0 p16 s4 f784 wbram ibram | l1 p1 s16 f256 wbram | l2 p1 s16 f256 wbram | l3 p1 s1 f640 | ii 784"
        ),
        "{out}"
    );
    assert!(out.contains("20 iCE40 blocks in all"), "{out}");
    assert_proven(&verify_json(dir.to_str().unwrap()), images, 784, 2000);
    let manifest = Manifest::load(&dir).unwrap();
    let report = synth(
        &manifest.design_sources(&dir),
        &manifest.top,
        Target::Ice40,
        &SynthOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        report.cells.get("SB_RAM40_4K"),
        Some(&20),
        "{:?}",
        report.cells
    );
    let fit = Part::for_target(Target::Ice40, "hx8k")
        .unwrap()
        .fit(&report);
    assert!(fit.fits(), "{}", fit.describe());
}

/// A user's QONNX model (Brevitas export, float scales, 32-bit biases) through `import`, then
/// `hdl net` on the `.onnx` file itself and `verify`: the RON file `import` writes is the network
/// `eval` measures on the `.onnx` (same accuracy line), and Verilator agrees with the golden
/// engine on every output and cycle.
#[test]
fn qonnx_model_through_import_hdl_net_and_verify() {
    let onnx = "tests/golden/qonnx/mlp_w4a4_floatscale_int32bias.onnx";
    let dir = Path::new(ROOT).join("target/net-tests/cli_qonnx");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ron = dir.join("net.ron");
    let (ok, out, err) = qforge(&["import", onnx, "-o", ron.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("translation  integer"), "{out}");
    let accuracy = |model: &str| {
        let (ok, out, err) = qforge(&["eval", "--model", model]);
        assert!(ok, "{out}{err}");
        out.lines()
            .find(|l| l.starts_with("accuracy"))
            .unwrap()
            .to_string()
    };
    assert_eq!(accuracy(onnx), accuracy(ron.to_str().unwrap()));
    let design = dir.join("design");
    let design_s = design.to_str().unwrap();
    let (ok, out, err) = qforge(&[
        "hdl", "net", "--model", onnx, "--images", "60", "-o", design_s,
    ]);
    assert!(ok, "{out}{err}");
    let json = verify_json(design_s);
    assert_eq!(json["images"], 60);
    assert_eq!(json["mismatches"], 0);
    assert_eq!(json["rtl_cycles"], json["model_cycles"]);
}

/// `synth` of a whole network gives its speed in images per second at the Fmax nextpnr measured:
/// the fully folded digits MLP takes 64 · 32 = 2048 cycles per image (by hand), so the figure is
/// `fmax · 10^6 / 2048`.
#[test]
fn synth_of_a_network_reports_images_per_second_at_its_fmax() {
    let dir = Path::new(ROOT).join("target/net-tests/cli_synth_speed");
    let _ = std::fs::remove_dir_all(&dir);
    let dir_s = dir.to_str().unwrap();
    let (ok, out, err) = qforge(&[
        "hdl",
        "net",
        "--model",
        "models/digits_mlp.ron",
        "--arch",
        "models/arch_folded.ron",
        "--images",
        "2",
        "-o",
        dir_s,
    ]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = qforge(&[
        "synth", dir_s, "--target", "ice40", "--seeds", "1", "--json",
    ]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("2048 cycles per image at"), "{out}");
    let json: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let fmax = json["fmax_mhz"].as_f64().unwrap();
    assert_eq!(json["throughput_clock"], "nextpnr");
    assert_eq!(json["throughput_clock_mhz"].as_f64().unwrap(), fmax);
    assert_eq!(
        json["images_per_second"].as_f64().unwrap(),
        fmax * 1e6 / 2048.0
    );
}

#[test]
fn bad_architecture_is_one_error_line_and_exit_2() {
    let arch = Path::new(ROOT).join("target/net-tests/bad_arch.ron");
    std::fs::create_dir_all(arch.parent().unwrap()).unwrap();
    std::fs::write(
        &arch,
        "ArchSpec(folding: fully_folded, layers: [(index: 0, pe: 3)])",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_qforge"))
        .args(["hdl", "net", "--model", "models/digits_mlp.ron", "--arch"])
        .arg(&arch)
        .args(["-o", "target/net-tests/never_written"])
        .current_dir(ROOT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("pe (3) must divide out_features (32) of layer 0"),
        "{err}"
    );
    assert!(!Path::new(ROOT)
        .join("target/net-tests/never_written")
        .exists());
}

/// A fresh scratch folder for this file's tests.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("net_cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The `hdl net` command line for the bundled model on `images` images into `out`.
fn net_command(images: usize, out: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_qforge"));
    c.args(["hdl", "net", "--model", "models/digits_mlp.ron", "--images"])
        .arg(images.to_string())
        .arg("-o")
        .arg(out)
        .current_dir(ROOT)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

fn write_net(images: usize, out: &Path) {
    let o = net_command(images, out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn entries(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    n.sort();
    n
}

#[test]
fn identical_runs_write_identical_folders_apart_from_timing() {
    let dir = scratch("deterministic");
    let (a, b) = (dir.join("a"), dir.join("b"));
    write_net(4, &a);
    write_net(4, &b);
    let (fa, fb) = (files(&a), files(&b));
    assert!(fa.contains_key(Path::new("qforge.json")));
    assert!(fa.contains_key(Path::new(".qforge-output")));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (path, bytes) in &fa {
        assert!(bytes == &fb[path], "{} differs", path.display());
    }
    let manifest = std::fs::read_to_string(a.join("qforge.json")).unwrap();
    assert!(!manifest.contains("per_second"), "{manifest}");
    let timing: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("timing.json")).unwrap()).unwrap();
    assert!(timing["model_cycles_per_second"].as_f64().unwrap() > 0.0);
}

#[test]
fn killed_runs_leave_the_old_or_the_new_design_and_no_temp_folder() {
    // Two complete designs to compare against: 2 and 3 images.
    let refs = scratch("kill_refs");
    let started = Instant::now();
    write_net(2, &refs.join("2"));
    let full_run = started.elapsed();
    write_net(3, &refs.join("3"));
    let want = [files(&refs.join("2")), files(&refs.join("3"))];

    let dir = scratch("kill");
    let out = dir.join("net");
    write_net(2, &out);
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut sleeps = Vec::new();
    for trial in 0..6 {
        // xorshift: a different moment each trial (and each run; the sleeps are in the message).
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let sleep = Duration::from_micros(seed % (full_run.as_micros() as u64 * 6 / 5 + 1));
        sleeps.push(sleep);
        let mut child = net_command(2 + trial % 2, &out).spawn().unwrap();
        std::thread::sleep(sleep);
        let _ = child.kill();
        child.wait().unwrap();
        let now = files(&out);
        assert!(
            want.contains(&now),
            "after a kill at {sleep:?} (trial {trial}, sleeps {sleeps:?}) {} is neither complete design",
            out.display()
        );
        for name in entries(&dir) {
            assert!(
                name == "net" || name.starts_with(".net.qforge-tmp."),
                "unexpected {name} after a kill at {sleep:?}"
            );
        }
    }
    // The next complete run removes what the killed runs left.
    write_net(3, &out);
    assert_eq!(entries(&dir), ["net"], "sleeps {sleeps:?}");
    assert!(files(&out) == want[1]);
}

/// `prove` on an `hdl pe` folder: the PoT PE equals its multiplier reference for all inputs and
/// cycles; with the folder's Verilog edited (an arithmetic right shift where the weight's left
/// shift belongs), the proof fails, prints Yosys's counterexample and exits 2. A PE grid and a
/// folder whose top does not match its parameters are refused with the reason.
#[test]
fn prove_checks_a_pe_folder_and_catches_an_edited_verilog() {
    let dir = Path::new(ROOT).join("target/net-tests/cli_prove");
    let _ = std::fs::remove_dir_all(&dir);
    let dir_s = dir.to_str().unwrap();
    let (ok, out, err) = qforge(&[
        "hdl",
        "pe",
        "--kind",
        "pot",
        "--a-bits",
        "8",
        "--exp-bits",
        "3",
        "--simd",
        "1",
        "--acc-bits",
        "20",
        "--cycles",
        "10",
        "-o",
        dir_s,
    ]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = qforge(&["prove", dir_s, "--json"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("equal for all inputs and all cycles"), "{out}");
    let json: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(json["proven"], true);
    assert_eq!(json["reference"], "qf_ref_pe_pot_a8_e3_s1_acc20_wrap");

    let rtl = dir.join("rtl/qf_pe_pot_a8_e3_s1_acc20_wrap.v");
    let text = std::fs::read_to_string(&rtl).unwrap();
    assert!(text.contains("<<<"), "{text}");
    std::fs::write(&rtl, text.replacen("<<<", ">>>", 1)).unwrap();
    let (ok, out, err) = qforge(&["prove", dir_s]);
    assert!(!ok, "{out}{err}");
    assert!(out.contains("proof    FAILED"), "{out}");
    assert!(
        out.contains("\\in_act") && out.contains("\\gate.acc_r"),
        "{out}"
    );
    assert!(
        err.starts_with("error: qf_pe_pot_a8_e3_s1_acc20_wrap is not equal to its reference PE"),
        "{err}"
    );

    let grid = Path::new(ROOT).join("target/net-tests/cli_prove_grid");
    let _ = std::fs::remove_dir_all(&grid);
    let grid_s = grid.to_str().unwrap();
    let (ok, out, err) = qforge(&[
        "hdl",
        "pe",
        "--kind",
        "ternary",
        "--a-bits",
        "4",
        "--simd",
        "2",
        "--pe",
        "2",
        "--acc-bits",
        "12",
        "--cycles",
        "10",
        "-o",
        grid_s,
    ]);
    assert!(ok, "{out}{err}");
    let (ok, _, err) = qforge(&["prove", grid_s]);
    assert!(!ok);
    assert!(
        err.contains("holds a pe_grid design; prove takes one PE"),
        "{err}"
    );

    let manifest = dir.join("qforge.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("\"a_bits\": \"8\""), "{text}");
    std::fs::write(
        &manifest,
        text.replace("\"a_bits\": \"8\"", "\"a_bits\": \"4\""),
    )
    .unwrap();
    let (ok, _, err) = qforge(&["prove", dir_s]);
    assert!(!ok);
    assert!(
        err.contains("its parameters describe qf_pe_pot_a4_e3_s1_acc20_wrap, but its top module is qf_pe_pot_a8_e3_s1_acc20_wrap"),
        "{err}"
    );
}
