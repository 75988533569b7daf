//! Plots and the index page drawn from a synthetic sweep's CSV (figures made up, openly): valid
//! PNG (signature, chunk structure, IHDR size) and SVG (axis titles, legend entries).

use qforge::explore::error::EvalError;
use qforge::explore::evaluator::{AreaSource, Evaluator, LayerArea, Metrics, Outcome};
use qforge::explore::grid::{Grid, PointConfig};
use qforge::explore::plot::{draw_all, PLOT_SIZE};
use qforge::explore::runner::{run_sweep, RunOptions};
use qforge::explore::sweep_file::{SweepFile, WeightFamily};
use std::path::{Path, PathBuf};

const SWEEP: &str = r#"(
    name: "plot",
    model: "m.ron",
    axes: (
        weight_scheme: [uniform, pot, apot, binary, ternary],
        weight_bits: (from: 1, to: 8),
        activation_bits: [4, 8],
        calibration: [minmax],
        scale_bits: [8],
        accumulator: [proven],
        folding: [fully_folded, fully_parallel],
        fpga: [ice40],
    ),
)"#;

/// Synthetic figures shaped like a real sweep (accuracy saturating with bits, area growing).
struct SyntheticEvaluator;

impl Evaluator for SyntheticEvaluator {
    fn tool_versions(&self) -> Vec<(String, String)> {
        vec![("synthetic".into(), "1".into())]
    }
    fn evaluate(&self, p: &PointConfig) -> Result<Outcome, EvalError> {
        let w = f64::from(p.weight_bits);
        let a = f64::from(p.activation_bits);
        let lane = match p.weight_scheme {
            WeightFamily::Uniform => 4.5 * w * a,
            WeightFamily::Pot => 5.0 * a + 3.0 * w,
            WeightFamily::Apot => 10.0 * a + 4.0 * w,
            WeightFamily::Binary | WeightFamily::Ternary => 2.0 * a + 4.0,
        };
        let parallel = matches!(
            p.folding,
            qforge::explore::sweep_file::Folding::FullyParallel
        );
        let lanes = if parallel { 64.0 } else { 3.0 };
        let luts = (lane * lanes + 300.0) as u64;
        let accuracy = 0.97 - 0.4 / (w * w * a) - if parallel { 0.0 } else { 0.001 };
        Ok(Outcome::Done(Metrics {
            accuracy,
            weight_memory_bits: 2368 * u64::from(p.weight_bits),
            cycles_per_image: if parallel { 64 } else { 2368 },
            throughput_images_per_s: if parallel {
                1.0e8 / 64.0
            } else {
                1.0e8 / 2368.0
            },
            clock_mhz: 100.0,
            luts,
            ffs: luts / 3,
            carries: (a * 8.0) as u64,
            dsps: 0,
            bram_bits: 0,
            area_source: AreaSource::Model,
            layers: vec![
                LayerArea {
                    name: "fc0".into(),
                    luts: luts * 6 / 10,
                    ffs: luts / 6,
                    carries: 20,
                    dsps: 0,
                    bram_bits: 0,
                },
                LayerArea {
                    name: "fc1".into(),
                    luts: luts * 3 / 10,
                    ffs: luts / 9,
                    carries: 10,
                    dsps: 0,
                    bram_bits: 0,
                },
                LayerArea {
                    name: "fc2".into(),
                    luts: luts - luts * 9 / 10,
                    ffs: luts / 18,
                    carries: 5,
                    dsps: 0,
                    bram_bits: 0,
                },
            ],
        }))
    }
}

fn sweep_dir(name: &str) -> PathBuf {
    sweep_dir_of(name, SWEEP)
}

fn sweep_dir_of(name: &str, text: &str) -> PathBuf {
    let dir = scratch!(name).join("sweep");
    let sweep = SweepFile::parse(text, "plot.ron").unwrap();
    let grid = Grid::new(&sweep, "plot.ron").unwrap();
    run_sweep(
        &sweep,
        "plot.ron",
        &grid,
        &SyntheticEvaluator,
        &dir,
        &RunOptions::default(),
    )
    .unwrap();
    dir
}

/// Checks the PNG signature, walks every chunk (length, type, CRC present) and returns the IHDR
/// width and height.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    let mut at = 8;
    let mut kinds = Vec::new();
    let mut size = None;
    while at < bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let kind = &bytes[at + 4..at + 8];
        assert!(at + 12 + len <= bytes.len(), "chunk runs past the end");
        if kind == b"IHDR" {
            assert_eq!(len, 13);
            let d = &bytes[at + 8..at + 8 + 13];
            size = Some((
                u32::from_be_bytes(d[0..4].try_into().unwrap()),
                u32::from_be_bytes(d[4..8].try_into().unwrap()),
            ));
            assert_eq!(d[8], 8, "bit depth");
            assert_eq!(d[9], 2, "truecolour");
        }
        kinds.push(String::from_utf8_lossy(kind).to_string());
        at += 12 + len;
    }
    assert_eq!(at, bytes.len());
    assert_eq!(kinds.first().map(String::as_str), Some("IHDR"));
    assert_eq!(kinds.last().map(String::as_str), Some("IEND"));
    assert!(kinds.iter().any(|k| k == "IDAT"));
    let (w, h) = size.unwrap();
    // The image data inflates to one filter byte plus 3 bytes per pixel on every row.
    let mut at = 8;
    let mut idat = Vec::new();
    while at < bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        if &bytes[at + 4..at + 8] == b"IDAT" {
            idat.extend_from_slice(&bytes[at + 8..at + 8 + len]);
        }
        at += 12 + len;
    }
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&idat[..]), &mut raw).unwrap();
    assert_eq!(raw.len(), (w as usize * 3 + 1) * h as usize);
    assert!(
        raw.chunks(w as usize * 3 + 1).all(|row| row[0] <= 4),
        "valid filter types"
    );
    (w, h)
}

/// The text inside every `<text ...>...</text>` element.
fn svg_texts(svg: &str) -> Vec<String> {
    let mut texts = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find("<text") {
        let after = &rest[start..];
        let open_end = after.find('>').unwrap();
        let close = after.find("</text>").unwrap();
        texts.push(after[open_end + 1..close].trim().to_string());
        rest = &after[close + 7..];
    }
    texts
}

fn check_svg(path: &Path, must_have: &[&str]) {
    let svg = std::fs::read_to_string(path).unwrap();
    assert!(svg.starts_with("<svg"), "{}", path.display());
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    let texts = svg_texts(&svg);
    for want in must_have {
        assert!(
            texts.iter().any(|t| t == want),
            "{} lacks text `{want}`; has {texts:?}",
            path.display()
        );
    }
}

#[test]
fn plots_are_valid_png_and_svg_with_titles_and_legends() {
    let dir = sweep_dir("all");
    let written = draw_all(&dir, None).unwrap();
    for stem in [
        "accuracy_vs_luts",
        "accuracy_vs_weight_bits",
        "throughput_vs_luts",
        "layer_area",
    ] {
        let png = std::fs::read(dir.join(format!("{stem}.png"))).unwrap();
        assert_eq!(png_size(&png), PLOT_SIZE, "{stem}");
        assert!(written.contains(&dir.join(format!("{stem}.svg"))));
    }
    let schemes = ["uniform", "pot", "apot", "binary", "ternary"];
    let mut want = vec![
        "Accuracy vs area",
        "Area (LUTs, log scale)",
        "Accuracy (%)",
        "Pareto front (accuracy, LUTs)",
    ];
    want.extend(schemes);
    check_svg(&dir.join("accuracy_vs_luts.svg"), &want);
    let mut want = vec![
        "Best accuracy per weight width",
        "Weight width (bits)",
        "Accuracy (%)",
    ];
    want.extend(schemes);
    check_svg(&dir.join("accuracy_vs_weight_bits.svg"), &want);
    check_svg(
        &dir.join("throughput_vs_luts.svg"),
        &[
            "Throughput vs area",
            "Throughput (images/s at 100 MHz, log scale)",
            "Pareto front (throughput, LUTs)",
            "pot",
        ],
    );
    check_svg(
        &dir.join("layer_area.svg"),
        &[
            "Per-layer area breakdown",
            "Count (cells)",
            "fc0",
            "fc1",
            "fc2",
            "LUTs",
        ],
    );

    // Scheme colours are the same in both scatter plots.
    let colour = |file: &str, scheme: WeightFamily| {
        let c = qforge::explore::plot::scheme_colour(scheme);
        let hex = format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2);
        std::fs::read_to_string(dir.join(file))
            .unwrap()
            .contains(&hex)
    };
    for s in WeightFamily::ALL {
        assert!(
            colour("accuracy_vs_luts.svg", s) && colour("throughput_vs_luts.svg", s),
            "{s:?}"
        );
    }

    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(html.contains("<img src=\"accuracy_vs_luts.svg\""));
    assert!(html.contains("<img src=\"layer_area.svg\""));
    assert!(!html.contains("<script"));
    let rows = std::fs::read_to_string(dir.join("results.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert_eq!(
        html.matches("<tr").count(),
        rows + 1,
        "one table row per point plus the header"
    );
}

#[test]
fn plot_redraws_for_a_chosen_point_and_rejects_an_unknown_one() {
    let dir = sweep_dir("chosen");
    let csv = std::fs::read_to_string(dir.join("results.csv")).unwrap();
    let id = csv
        .lines()
        .nth(3)
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .to_string();
    draw_all(&dir, Some(&id)).unwrap();
    let svg = std::fs::read_to_string(dir.join("layer_area.svg")).unwrap();
    assert!(svg.contains(&id));
    let err = draw_all(&dir, Some("0000000000000000")).unwrap_err();
    assert!(err.to_string().contains("no point with id"), "{err}");
}

#[test]
fn sweeps_with_qat_points_draw_ptq_and_qat_series_for_each_scheme() {
    let with_qat = SWEEP.replace(
        "activation_bits: [4, 8],",
        "activation_bits: [4, 8], training: [ptq, qat(epochs: 2)],",
    );
    let dir = sweep_dir_of("qat", &with_qat);
    draw_all(&dir, None).unwrap();
    let legends = [
        "uniform PTQ",
        "uniform QAT",
        "pot PTQ",
        "pot QAT",
        "ternary QAT",
    ];
    for stem in [
        "accuracy_vs_luts",
        "accuracy_vs_weight_bits",
        "throughput_vs_luts",
    ] {
        check_svg(&dir.join(format!("{stem}.svg")), &legends);
    }
    // A sweep without QAT points keeps one series per scheme, named by the scheme alone.
    let plain = sweep_dir("plain_legends");
    draw_all(&plain, None).unwrap();
    let svg = std::fs::read_to_string(plain.join("accuracy_vs_luts.svg")).unwrap();
    let texts = svg_texts(&svg);
    assert!(texts.iter().any(|t| t == "uniform"), "{texts:?}");
    assert!(
        !texts
            .iter()
            .any(|t| t.ends_with("PTQ") || t.ends_with("QAT")),
        "{texts:?}"
    );
}

#[test]
fn pruning_points_are_series_of_their_own() {
    let with_pruning = SWEEP.replace(
        "activation_bits: [4, 8],",
        "activation_bits: [4, 8], training: [ptq, qat(epochs: 2), qat(epochs: 2, prune: 0.5), \
         qat(epochs: 2, channel_keep: 0.5, channel_method: magnitude)],",
    );
    let dir = sweep_dir_of("pruning", &with_pruning);
    draw_all(&dir, None).unwrap();
    let legends = [
        "uniform PTQ",
        "uniform QAT",
        "uniform QAT pruned",
        "uniform QAT channels",
    ];
    for stem in ["accuracy_vs_luts", "throughput_vs_luts"] {
        check_svg(&dir.join(format!("{stem}.svg")), &legends);
    }
}

#[test]
fn mixed_precision_points_are_a_series_of_their_own() {
    let with_mixed = SWEEP.replace(
        "activation_bits: [4, 8],",
        "activation_bits: [4, 8], layer_overrides: [[], [(layer: 0, weight_bits: 2)]],",
    );
    let dir = sweep_dir_of("mixed", &with_mixed);
    draw_all(&dir, None).unwrap();
    for stem in ["accuracy_vs_luts", "throughput_vs_luts"] {
        check_svg(
            &dir.join(format!("{stem}.svg")),
            &["uniform", "uniform mixed", "pot", "pot mixed"],
        );
    }
    // A sweep of mixed points only (as `qforge search` writes) has no empty uniform series.
    let only_mixed = SWEEP.replace(
        "activation_bits: [4, 8],",
        "activation_bits: [4, 8], layer_overrides: [[(layer: 0, weight_bits: 2)]],",
    );
    let dir = sweep_dir_of("only_mixed", &only_mixed);
    draw_all(&dir, None).unwrap();
    let svg = std::fs::read_to_string(dir.join("accuracy_vs_luts.svg")).unwrap();
    let texts = svg_texts(&svg);
    assert!(texts.iter().any(|t| t == "uniform mixed"), "{texts:?}");
    assert!(!texts.iter().any(|t| t == "uniform"), "{texts:?}");
}
