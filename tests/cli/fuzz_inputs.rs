//! A mutation fuzzer for every parser a user's file or flag reaches, on the stable toolchain.
//!
//! Each target starts from real seeds (the bundled model, quantization, architecture, sweep and
//! area-coefficient files, a design manifest and vector file that `qforge hdl pe` writes, a
//! network file, format strings, the digits split) and feeds the entry point the commands call
//! with mutated copies: bytes replaced, ranges deleted or repeated, numbers swapped for edge
//! values (`-1`, `0`, `2^32`, `1e309`, `NaN`, ...), tokens inserted, and pieces of other seeds
//! spliced in. What an input parses to is then used the way a command would use it (a network
//! is run by the golden engine, an architecture is planned, a sweep expanded, a format casts
//! values). An input may be rejected — every rejection must be an error value with a one-line
//! message; a panic anywhere is a failure, and the input is saved under
//! `target/qforge-test-scratch/fuzz/` to reproduce it.
//!
//! The mutations are deterministic (SplitMix64 from a fixed seed), so a run is repeatable. The
//! suite runs a short pass (`FUZZ_INPUTS_DEFAULT` inputs in all); a long run sets the total:
//! `QFORGE_FUZZ_INPUTS=10000000 cargo test --release --test cli fuzz_inputs -- --nocapture`
//! (BENCHMARKS.md records it).

use crate::common::{qforge, tiny_net};
use qforge::accel::plan::{plan, ArchSpec};
use qforge::explore::area_model::AreaModel;
use qforge::explore::grid::Grid;
use qforge::explore::sweep_file::SweepFile;
use qforge::hdl::Bits;
use qforge::nn::data::split::Split;
use qforge::nn::Model;
use qforge::num::fixed::FixedFormat;
use qforge::qnn::quantize::QuantSpec;
use qforge::qnn::{Engine, QNet};
use qforge::quant::spec::parse_spec;
use qforge::verify::manifest::Manifest;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// Inputs the test suite's short pass runs, over all targets.
const FUZZ_INPUTS_DEFAULT: u64 = 24_000;

/// SplitMix64: a small, well-mixed, deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values parsers tend to get wrong.
const EDGE_NUMBERS: [&str; 22] = [
    "0",
    "-0",
    "1",
    "-1",
    "2",
    "65535",
    "65536",
    "2147483647",
    "-2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "18446744073709551616",
    "1e309",
    "-1e309",
    "1e-320",
    "NaN",
    "inf",
    "-inf",
    "0.5",
    "-0.0",
    "340282366920938463463374607431768211456",
];

/// Tokens that change structure.
const TOKENS: [&str; 16] = [
    "(", ")", "[", "]", "{", "}", ",", ":", "\"", "//", "/*", "Some(", "None", "true", "\n", "",
];

/// One mutated copy of `seed`, sometimes spliced with `other`.
fn mutate(rng: &mut Rng, seed: &str, other: &str) -> String {
    let mut bytes = seed.as_bytes().to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = bytes.len();
        let at = rng.below(len + 1);
        match rng.below(8) {
            // Replace one byte with a printable one or a structural one.
            0 if len > 0 => {
                const ALPHABET: &[u8] = b"0123456789-+.eE()[]{}:,\"' _abxyz\n\t\\";
                bytes[at.min(len - 1)] = ALPHABET[rng.below(ALPHABET.len())];
            }
            // Delete a range.
            1 if len > 0 => {
                let end = (at + 1 + rng.below(16)).min(len);
                bytes.drain(at.min(len - 1)..end);
            }
            // Repeat a range.
            2 if len > 0 => {
                let start = at.min(len - 1);
                let end = (start + 1 + rng.below(64)).min(len);
                let piece = bytes[start..end].to_vec();
                bytes.splice(start..start, piece);
            }
            // Swap the number at a position for an edge value.
            3 | 4 => {
                let digits = |b: &u8| b.is_ascii_digit() || *b == b'.' || *b == b'-' || *b == b'e';
                let start = (0..len)
                    .map(|k| (at + k) % len.max(1))
                    .find(|&k| bytes.get(k).is_some_and(|b| b.is_ascii_digit()));
                if let Some(mut s) = start {
                    while s > 0 && digits(&bytes[s - 1]) {
                        s -= 1;
                    }
                    let mut e = s;
                    while e < len && digits(&bytes[e]) {
                        e += 1;
                    }
                    let value = EDGE_NUMBERS[rng.below(EDGE_NUMBERS.len())];
                    bytes.splice(s..e, value.bytes());
                }
            }
            // Insert a token.
            5 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                bytes.splice(at..at, token.bytes());
            }
            // Splice in a piece of another seed.
            6 if !other.is_empty() => {
                let o = other.as_bytes();
                let start = rng.below(o.len());
                let end = (start + 1 + rng.below(128)).min(o.len());
                bytes.splice(at..at, o[start..end].iter().copied());
            }
            // Truncate.
            _ => bytes.truncate(at),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A rejection must be an error with a one-line message; returns false (not accepted).
fn one_line(target: &str, input: &str, error: impl std::fmt::Display) -> bool {
    let message = error.to_string();
    assert!(
        !message.trim_end().contains('\n') && !message.trim().is_empty(),
        "{target}: the error for an input is not one line: {message:?}\ninput:\n{input}"
    );
    false
}

/// A fuzz target: its name, its seeds and the entry point it drives.
struct Target {
    name: &'static str,
    seeds: Vec<String>,
    /// Runs one input; true when it parsed (and went on to the command's next step).
    run: Box<dyn Fn(&str) -> bool>,
}

fn read(path: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn bundled(prefix: &str) -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".ron"))
        })
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// A small float model in RON: 8 inputs, 4 hidden (with batch norm), 3 outputs.
const SMALL_MODEL: &str = r#"(name: "small", input_shape: [8], layers: [
    Dense(in_features: 8, out_features: 4, weights: [0.5, -0.25, 0.125, 1.0, 0.0, -1.0, 0.75, 0.3,
        0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, -0.1, -0.2, -0.3, -0.4, -0.5, -0.6, -0.7, -0.8,
        1.5, -1.5, 0.25, -0.25, 2.0, -2.0, 0.0, 0.0], bias: [0.0, 0.1, -0.1, 0.2]),
    BatchNorm(features: 4, gamma: [1.0, 1.0, 0.5, 2.0], beta: [0.0, 0.1, 0.0, -0.1],
        mean: [0.0, 0.0, 0.1, 0.0], var: [1.0, 0.5, 1.0, 2.0], eps: 1e-5),
    Relu,
    Dense(in_features: 4, out_features: 3, weights: [1.0, -1.0, 0.5, 0.0, 0.25, 0.5, -0.5, 1.0,
        -1.0, 0.0, 1.0, 0.5], bias: [0.0, 0.0, 0.0]),
])"#;

fn targets(design: &Path) -> Vec<Target> {
    let tiny = tiny_net("fuzz");
    let tiny_for_plan = tiny.clone();
    let manifest = std::fs::read_to_string(design.join("qforge.json")).unwrap();
    let vectors = ["stimulus.hex", "expected.hex"].map(|name| {
        let text = std::fs::read_to_string(design.join("vectors").join(name)).unwrap();
        text.lines().take(40).collect::<Vec<_>>().join("\n")
    });
    let split: String = read("tests/golden/digits_split/test_y.txt")
        .lines()
        .take(60)
        .collect::<Vec<_>>()
        .join("\n");
    let mut sweep_seeds = bundled("sweep_");
    sweep_seeds.push(
        r#"(name: "s", model: "m.ron", axes: (weight_scheme: [uniform, pot], weight_bits: (from: 2, to: 4, step: 1),
            activation_bits: [4], layer_overrides: [[], [(layer: 0, weight_bits: 8)]],
            training: [ptq, qat(epochs: 3, lr: 0.01, ste: identity)], calibration: [minmax],
            scale_bits: [8], accumulator: [proven, explicit(bits: 12, overflow: wrap)],
            folding: [fully_folded, pe_budget(8)], fpga: [ice40]), constraints: [scheme_bits])"#
            .to_string(),
    );
    vec![
        Target {
            name: "model file",
            seeds: vec![SMALL_MODEL.to_string(), read("models/digits_mlp.ron")],
            run: Box::new(|text| match Model::from_ron_str(text, "m.ron") {
                Ok(model) => {
                    if let Err(e) = model.shapes() {
                        one_line("model file", text, e);
                    }
                    true
                }
                Err(e) => one_line("model file", text, e),
            }),
        },
        Target {
            name: "quantization file",
            seeds: bundled("quant_")
                .into_iter()
                .chain(bundled("qat_"))
                .collect(),
            run: Box::new(|text| match QuantSpec::from_ron_str(text, "q.ron") {
                Ok(spec) => {
                    if let Err(e) = spec.describe() {
                        one_line("quantization file", text, e);
                    }
                    true
                }
                Err(e) => one_line("quantization file", text, e),
            }),
        },
        Target {
            name: "architecture file",
            seeds: bundled("arch_"),
            run: Box::new(move |text| match ArchSpec::from_ron_str(text, "a.ron") {
                Ok(spec) => {
                    if let Err(e) = plan(&tiny_for_plan, &spec) {
                        one_line("architecture file", text, e);
                    }
                    true
                }
                Err(e) => one_line("architecture file", text, e),
            }),
        },
        Target {
            name: "sweep file",
            seeds: sweep_seeds,
            run: Box::new(|text| match SweepFile::parse(text, "s.ron") {
                Ok(sweep) => {
                    let size = sweep.axes.combinations();
                    // Grids beyond this are refused or merely slow to expand; both are
                    // tested elsewhere.
                    if size <= 20_000 {
                        if let Err(e) = Grid::new(&sweep, "s.ron") {
                            one_line("sweep file", text, e);
                        }
                    }
                    true
                }
                Err(e) => one_line("sweep file", text, e),
            }),
        },
        Target {
            name: "area coefficients file",
            seeds: vec![read("models/area_ice40.ron")],
            run: Box::new(|text| match AreaModel::from_ron(text, "area_ice40.ron") {
                Ok(_) => true,
                Err(e) => one_line("area coefficients file", text, e),
            }),
        },
        Target {
            name: "network file",
            seeds: vec![tiny.to_ron_string()],
            run: Box::new(|text| match QNet::from_ron_str(text, "n.ron") {
                Ok(net) => match Engine::new(&net) {
                    Ok(engine) => {
                        let n = net.in_features();
                        if n <= 4096 {
                            let codes: Vec<i32> = (0..n as i32).map(|i| (i * 7) % 16).collect();
                            if let Err(e) = engine.infer(&codes) {
                                one_line("network file", text, e);
                            }
                        }
                        true
                    }
                    Err(e) => one_line("network file", text, e),
                },
                Err(e) => one_line("network file", text, e),
            }),
        },
        Target {
            name: "format string",
            seeds: [
                "ap_fixed<8,3,AP_RND_CONV,AP_SAT>",
                "ap_ufixed<6,2,AP_TRN,AP_WRAP>",
                "fixed<12,4>",
                "ap_int<5>",
                "intquant<bits=4,signed=1,narrow=1,rounding=round,scale=0.25,zero_point=0>",
                "pot<exp_bits=3,signed=1,zero=1,scale=0.5>",
                "apot<terms=2,term_bits=2,signed=1,scale=1.0>",
            ]
            .map(String::from)
            .to_vec(),
            run: Box::new(|text| {
                let values = [0.0, -1.5, 3.25, 1e9, -7.0e-3];
                if text.trim_start().to_ascii_lowercase().starts_with("ap_")
                    || text.trim_start().starts_with("fixed")
                {
                    match text.parse::<FixedFormat>() {
                        Ok(format) => {
                            for v in values {
                                if let Err(e) = format.cast_f64(v) {
                                    one_line("format string", text, e);
                                }
                            }
                            true
                        }
                        Err(e) => one_line("format string", text, e),
                    }
                } else {
                    match parse_spec(text) {
                        Ok(spec) => {
                            for v in values {
                                if let Err(e) = spec.cast(v) {
                                    one_line("format string", text, e);
                                }
                            }
                            true
                        }
                        Err(e) => one_line("format string", text, e),
                    }
                }
            }),
        },
        Target {
            name: "design manifest",
            seeds: vec![manifest],
            run: Box::new(|text| match serde_json::from_str::<Manifest>(text) {
                Ok(m) => match m.validate() {
                    Ok(()) => true,
                    Err(e) => one_line("design manifest", text, e),
                },
                Err(e) => one_line("design manifest", text, e),
            }),
        },
        Target {
            name: "vector file",
            seeds: vectors.to_vec(),
            run: Box::new(|text| {
                let mut all = true;
                for line in text.lines().take(64) {
                    let line = line.split("//").next().unwrap_or("").trim();
                    if line.is_empty() {
                        continue;
                    }
                    for width in [1, 7, 64, 300] {
                        if let Err(e) = Bits::from_hex(line, width) {
                            all = one_line("vector file", line, e);
                        }
                    }
                }
                all
            }),
        },
        Target {
            name: "data split file",
            seeds: vec![split],
            run: Box::new(|text| match Split::parse(text, "split.txt", 100) {
                Ok(_) => true,
                Err(e) => one_line("data split file", text, e),
            }),
        },
    ]
}

#[test]
fn fuzz_inputs_never_panic_and_every_rejection_is_one_line() {
    let dir = scratch!("fuzz");
    // A design folder for the manifest and vector seeds, as the command writes it.
    let design = dir.join("pe");
    let run = qforge(&[
        "hdl",
        "pe",
        "--kind",
        "pot",
        "--acc-bits",
        "20",
        "-o",
        design.to_str().unwrap(),
    ]);
    assert!(run.ok, "{}", run.err);
    let total: u64 = std::env::var("QFORGE_FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(FUZZ_INPUTS_DEFAULT);
    let targets = targets(&design);
    let per_target = total / targets.len() as u64;
    let mut rng = Rng(0x5eed_f022);
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for target in &targets {
        // The seeds themselves first: every bundled file is accepted or cleanly rejected.
        for seed in &target.seeds {
            (target.run)(seed);
        }
        let started = std::time::Instant::now();
        let (mut panics, mut accepted) = (0u64, 0u64);
        for i in 0..per_target {
            let seed = &target.seeds[rng.below(target.seeds.len())];
            let other = &target.seeds[rng.below(target.seeds.len())];
            let input = mutate(&mut rng, seed, other);
            let outcome = catch_unwind(AssertUnwindSafe(|| (target.run)(&input)));
            if matches!(outcome, Ok(true)) {
                accepted += 1;
            }
            if outcome.is_err() {
                panics += 1;
                let file = dir.join(format!("{}-{i}.txt", target.name.replace(' ', "_")));
                std::fs::write(&file, &input).unwrap();
                failures.push(format!(
                    "{}: input saved in {}",
                    target.name,
                    file.display()
                ));
            }
        }
        report.push(format!(
            "{:<24} {:>10} inputs  {:>9} parsed  {:>3} panics  {:>8.1} s",
            target.name,
            per_target,
            accepted,
            panics,
            started.elapsed().as_secs_f64()
        ));
    }
    println!("{}", report.join("\n"));
    assert!(failures.is_empty(), "panics:\n{}", failures.join("\n"));
}

/// Found by the long run: a network file whose layer sizes multiply past `usize` made the
/// check overflow; sizes are bounded first and rejected in one line.
#[test]
fn network_files_with_huge_layer_sizes_are_rejected_not_overflowed() {
    let text = tiny_net("huge").to_ron_string();
    assert!(text.contains("in_features: 8"), "{text}");
    for huge in ["18446744073709551615", "4294967296"] {
        let bad = text.replacen("in_features: 8", &format!("in_features: {huge}"), 1);
        let err = QNet::from_ron_str(&bad, "n.ron").unwrap_err().to_string();
        assert!(err.contains("must be at most"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
}

/// The QONNX importer, on bytes: the two golden QONNX files with bytes flipped, ranges deleted,
/// repeated or truncated and varints set to edge values, decoded and imported, and a network that
/// imports is run by the golden engine. No input may panic, every rejection is one line. The
/// same `QFORGE_FUZZ_INPUTS` sets the count (a tenth of it here; 4,000 by default).
#[test]
fn fuzz_qonnx_import_never_panics_and_every_rejection_is_one_line() {
    use qforge::onnx::ModelProto;
    use qforge::qnn::qonnx::import;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/qonnx");
    let seeds: Vec<Vec<u8>> = [
        "mlp_w4a4_po2_floatbias.onnx",
        "mlp_w4a4_floatscale_int32bias.onnx",
    ]
    .iter()
    .map(|f| std::fs::read(root.join(f)).unwrap())
    .collect();
    let total: u64 = std::env::var("QFORGE_FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(4_000, |n| (n / 10).max(1));
    let mut rng = Rng(0x0e2f_0b1e);
    let (mut decoded, mut imported, mut panics) = (0u64, 0u64, Vec::new());
    let x = vec![0.5f32; 64 * 2];
    for i in 0..total {
        let mut bytes = seeds[rng.below(seeds.len())].clone();
        for _ in 0..1 + rng.below(3) {
            let len = bytes.len();
            let at = rng.below(len.max(1));
            match rng.below(6) {
                0 => bytes[at] ^= 1 << rng.below(8),
                1 => {
                    let end = (at + 1 + rng.below(32)).min(len);
                    bytes.drain(at..end);
                }
                2 => {
                    let end = (at + 1 + rng.below(64)).min(len);
                    let piece = bytes[at..end].to_vec();
                    bytes.splice(at..at, piece);
                }
                3 => bytes[at] = [0x00, 0x7f, 0x80, 0xff][rng.below(4)],
                4 => bytes.splice(at..at, [0xff; 10]).for_each(drop),
                _ => bytes.truncate(at),
            }
            if bytes.is_empty() {
                break;
            }
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| match ModelProto::decode(&bytes) {
            Err(e) => (one_line("qonnx file", "<bytes>", e), false),
            Ok(m) => match import(&m.graph, "fuzz") {
                Err(e) => (true, one_line("qonnx file", "<bytes>", e)),
                Ok((net, _)) => {
                    // An imported network runs (or refuses its input cleanly).
                    if net.in_features() <= x.len()
                        && x.len().is_multiple_of(net.in_features().max(1))
                    {
                        if let Ok(engine) = Engine::new(&net) {
                            let _ = engine.infer(&net.quantize_inputs(&x));
                        }
                    }
                    (true, true)
                }
            },
        }));
        match outcome {
            Ok((d, imp)) => {
                decoded += u64::from(d);
                imported += u64::from(imp);
            }
            Err(_) => {
                let dir = scratch!("fuzz_qonnx");
                let file = dir.join(format!("qonnx-{i}.onnx"));
                std::fs::write(&file, &bytes).unwrap();
                panics.push(file.display().to_string());
            }
        }
    }
    println!(
        "qonnx file {total:>10} inputs  {decoded:>9} decoded  {imported:>9} imported  {:>3} panics",
        panics.len()
    );
    assert!(
        panics.is_empty(),
        "panics, inputs saved in:\n{}",
        panics.join("\n")
    );
}
