//! `qforge search`: mixed precision, a weight width per layer chosen under a hardware budget.
//!
//! ```text
//! qforge search --model M [--data D] --budget luts=N [--budget weight_bits=N] [--schemes S,..]
//!               [--bits B,..] [--act-bits A] [--training T] [--sensitivity same|ptq]
//!               [--folding F] [--fpga ice40] [--area model|yosys] -o DIR [--force]
//! ```
//!
//! Writes `DIR/search.csv` (every configuration measured, with its role), `DIR/spec.ron` (the
//! chosen per-layer quantization spec, with its training section), `DIR/net.ron` (the chosen
//! integer network), `DIR/summary.txt` (what is printed) and `DIR/sweep_<scheme>_mixed.ron`,
//! `DIR/sweep_<scheme>_uniform.ron` (the configurations measured, as sweep files for `qforge
//! sweep`, with the `area_<fpga>.ron` coefficients the figures came from beside them),
//! atomically.

use super::sweep::AreaArg;
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use qforge::explore::evaluate::{quant_spec, EvaluatorOptions, NetworkEvaluator};
use qforge::explore::evaluator::Metrics;
use qforge::explore::grid::PointConfig;
use qforge::explore::results::csv_line;
use qforge::explore::search::{search, Budget, Role, Row, SearchReport, SearchSpace};
use qforge::explore::sweep_file::{
    AccumulatorPolicy, Calibration, Folding, FpgaTarget, SweepFile, Training,
};
use qforge::nn::data::source::DataSource;
use qforge::num::weights::WeightFamily;
use qforge::outdir::{check, OutputError, OutputKind, Staging};
use qforge::qnn::quantize::BIAS_BITS;
use serde::de::DeserializeOwned;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Arguments of `qforge search`.
#[derive(Args, Debug)]
pub struct SearchArgs {
    /// The float model (RON) whose layers get their widths.
    #[arg(long)]
    model: PathBuf,
    /// Data set: `digits` (bundled) or `mnist:DIR`.
    #[arg(long, default_value = "digits")]
    data: DataSource,
    /// A budget, `luts=N`, `weight_bits=N` or `cycles=N`; give several to meet them all.
    #[arg(long = "budget", required = true, value_name = "METRIC=N")]
    budgets: Vec<Budget>,
    /// Weight schemes searched, comma-separated (all layers of a configuration share one).
    #[arg(long, value_delimiter = ',', default_value = "uniform")]
    schemes: Vec<String>,
    /// Candidate weight widths, comma-separated (each scheme takes those it can have).
    #[arg(long, value_delimiter = ',', default_value = "2,3,4,5,6,8")]
    bits: Vec<u32>,
    /// Activation width of every layer's input.
    #[arg(long, default_value_t = 4)]
    act_bits: u32,
    /// How each configuration is trained, as in a sweep file: `ptq` or `qat(epochs: N, ..)`.
    #[arg(long, default_value = "qat(epochs: 30)")]
    training: String,
    /// How the sensitivity points are trained: like the others, or post-training quantized
    /// (much faster on large data sets).
    #[arg(long, value_enum, default_value_t = SensitivityArg::Same)]
    sensitivity: SensitivityArg,
    /// Calibration of the clipping ranges: `minmax`, `percentile` or `mse`.
    #[arg(long, default_value = "mse")]
    calibration: String,
    /// Width of the requantization multiplier.
    #[arg(long, default_value_t = 16)]
    scale_bits: u32,
    /// Width of the stored biases, 2 to 48 [default: every bit].
    #[arg(long)]
    bias_bits: Option<u32>,
    /// Folding target, as in a sweep file: `fully_parallel`, `fully_folded`,
    /// `cycles_per_image(N)` or `pe_budget(N)`.
    #[arg(long, default_value = "fully_parallel")]
    folding: String,
    /// FPGA family of the area figures: `ice40`, `xilinx` or `ecp5`.
    #[arg(long, default_value = "ice40")]
    fpga: String,
    /// Where area figures come from: the per-unit cost model, or Yosys synthesis (cached).
    #[arg(long, value_enum, default_value_t = AreaArg::Model)]
    area: AreaArg,
    /// Cache folder of Yosys results (with --area yosys).
    #[arg(long, value_name = "DIR", default_value = "target/qforge-synth-cache")]
    cache: PathBuf,
    /// Folder of the area_<fpga>.ron coefficients files (default: the model's folder).
    #[arg(long, value_name = "DIR")]
    coefficients: Option<PathBuf>,
    /// Test images that measure accuracy [default: all].
    #[arg(long, value_name = "N")]
    images: Option<usize>,
    /// Output folder: absent, empty, or a search folder qforge wrote.
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
    /// Also replace a qforge output folder of another kind (never anything qforge did not make).
    #[arg(long)]
    force: bool,
}

/// How sensitivity points are trained, on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SensitivityArg {
    /// As --training says.
    Same,
    /// Post-training quantization.
    Ptq,
}

/// A value written as in a sweep file, from a flag.
fn ron_value<T: DeserializeOwned>(flag: &str, text: &str) -> anyhow::Result<T> {
    qforge::position::ron_options()
        .from_str(text)
        .map_err(|e| anyhow::anyhow!("{flag} `{text}`: {}", e.code))
}

/// Runs `qforge search`.
pub fn run(args: SearchArgs) -> anyhow::Result<()> {
    let space = space(&args)?;
    if args.images == Some(0) {
        bail!("--images (0) must be at least 1");
    }
    // Refuse a bad folder before anything is trained.
    check(&args.out, OutputKind::Search, args.force)?;
    let folder = args.model.parent().unwrap_or_else(|| Path::new(""));
    let ev = NetworkEvaluator::for_model(
        &args.model,
        args.data.clone(),
        args.images,
        folder,
        EvaluatorOptions {
            area: args.area.mode(),
            coefficients_dir: args.coefficients.clone(),
            cache_dir: args.cache.clone(),
        },
    )?;
    let layers = ev.model().weight_layer_count();
    let space = SearchSpace { layers, ..space };
    let bar = progress_bar();
    let report = search(&ev, &space, &args.budgets, &|label: &str| {
        bar.inc(1);
        bar.set_message(label.to_string());
    })?;
    bar.finish_and_clear();

    let chosen = report.chosen_row();
    let spec = quant_spec(&chosen.point, layers)
        .map_err(|e| anyhow::anyhow!("the chosen configuration's spec: {e}"))?;
    let mut net = ev
        .quantized_net(&chosen.point)
        .map_err(|e| anyhow::anyhow!("the chosen configuration's network: {e}"))?;
    if chosen.point.training.is_qat() {
        // Named as `qforge train --qat` names it, so the two files are equal byte for byte.
        net.name.push_str(" qat");
    }
    let summary = summary(&args, &ev, &space, &report);
    let staging = Staging::begin(&args.out, OutputKind::Search, args.force)?;
    let write = |name: &str, text: &str| -> Result<(), OutputError> {
        let path = staging.path().join(name);
        std::fs::write(&path, text).map_err(|e| OutputError::io("writing", &path, e))
    };
    write("search.csv", &csv(&report))?;
    let spec_text = format!(
        "// The per-layer spec `qforge search` chose: {}\n{}\n",
        chosen.point.label(),
        ron::ser::to_string_pretty(&spec, ron::ser::PrettyConfig::default())
            .context("writing the chosen spec")?
    );
    write("spec.ron", &spec_text)?;
    write("net.ron", &net.to_ron_string())?;
    write("summary.txt", &summary)?;
    for (name, text) in sweep_files(&args, &space, &report)? {
        write(&format!("sweep_{name}.ron"), &text)?;
    }
    // The coefficients the area figures came from, beside the sweep files that find them.
    if let Some((path, _)) = ev.coefficients(space.base.fpga) {
        let name = format!("area_{}.ron", space.base.fpga.name());
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        write(&name, &text)?;
    }
    staging.commit()?;
    print!("{summary}");
    Ok(())
}

/// Per searched scheme, the configurations measured with the final training as sweep files,
/// so that `qforge sweep` can measure them again (with Yosys, for instance) and draw them:
/// `<scheme>_mixed` holds the front's and the chosen configurations whose layers differ in
/// width (as per-layer overrides of the widest width, drawn as mixed precision), and
/// `<scheme>_uniform` every uniform width. Paths in them are absolute, so they run from
/// anywhere.
fn sweep_files(
    args: &SearchArgs,
    space: &SearchSpace,
    report: &SearchReport,
) -> anyhow::Result<Vec<(String, String)>> {
    let absolute =
        |p: &Path| std::fs::canonicalize(p).with_context(|| format!("resolving {}", p.display()));
    let model = absolute(&args.model)?;
    let data = match &args.data {
        DataSource::Digits => String::new(),
        DataSource::Mnist(dir) => format!(
            "    data: \"{}\",\n",
            DataSource::Mnist(absolute(dir)?)
                .to_string()
                .escape_default()
        ),
    };
    let images = args
        .images
        .map_or(String::new(), |n| format!("    images: {n},\n"));
    let base = &space.base;
    let bias = base
        .bias_bits
        .map_or(String::new(), |b| format!("        bias_bits: [{b}],\n"));
    let file = |name: &str, what: &str, scheme: WeightFamily, widths: &str, sets: &[String]| {
        let text = format!(
            "// {what} `qforge search` measured for {scheme} weights, as a sweep:\n\
             // qforge sweep FILE -o DIR [--area yosys]\n\
             (\n    name: \"{name}\",\n    model: \"{model}\",\n{data}{images}    axes: (\n\
             \x20       weight_scheme: [{scheme}],\n\
             \x20       weight_bits: [{widths}],\n\
             \x20       activation_bits: [{act}],\n\
             \x20       layer_overrides: [\n{sets}        ],\n\
             \x20       training: [{training}],\n\
             \x20       calibration: [{calibration}],\n\
             \x20       scale_bits: [{scale}],\n{bias}\
             \x20       accumulator: [proven],\n\
             \x20       folding: [{folding}],\n\
             \x20       fpga: [{fpga}],\n    ),\n    constraints: [scheme_bits],\n)\n",
            scheme = scheme.name(),
            model = model.display().to_string().escape_default(),
            act = base.activation_bits,
            sets = sets
                .iter()
                .map(|s| format!("            {s},\n"))
                .collect::<String>(),
            training = base.training,
            calibration = base.calibration.name(),
            scale = base.scale_bits,
            folding = base.folding,
            fpga = base.fpga.name(),
        );
        // What is written must read back as the sweep it describes.
        SweepFile::parse(&text, name)
            .context("the search's sweep file does not read back (a bug in qforge)")?;
        anyhow::Ok((name.to_string(), text))
    };
    let mut files = Vec::new();
    for &scheme in &space.schemes {
        let widths = space.widths_of(scheme);
        let Some(&widest) = widths.last() else {
            continue;
        };
        if !report
            .rows
            .iter()
            .any(|r| r.scheme == scheme && r.role == Role::Uniform)
        {
            continue;
        }
        let mut sets: Vec<String> = Vec::new();
        for r in report.rows.iter().filter(|r| {
            r.scheme == scheme
                && matches!(r.role, Role::Front | Role::Chosen)
                && r.bits.iter().any(|&b| b != r.bits[0])
        }) {
            let set: Vec<String> = r
                .bits
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b != widest)
                .map(|(l, b)| format!("(layer: {l}, weight_bits: {b})"))
                .collect();
            let set = format!("[{}]", set.join(", "));
            if !sets.contains(&set) {
                sets.push(set);
            }
        }
        let name = format!("{}_uniform", scheme.name());
        let list: Vec<String> = widths.iter().map(u32::to_string).collect();
        files.push(file(
            &name,
            "The uniform widths",
            scheme,
            &list.join(", "),
            &["[]".to_string()],
        )?);
        if !sets.is_empty() {
            let name = format!("{}_mixed", scheme.name());
            files.push(file(
                &name,
                "The mixed-precision configurations (front and chosen)",
                scheme,
                &widest.to_string(),
                &sets,
            )?);
        }
    }
    Ok(files)
}

/// The search space the flags describe (its layer count filled in once the model is read).
fn space(args: &SearchArgs) -> anyhow::Result<SearchSpace> {
    let mut schemes = Vec::new();
    for s in &args.schemes {
        let Some(f) = WeightFamily::from_name(s.trim()) else {
            bail!(
                "--schemes: `{s}` is not a weight scheme; use uniform, pot, apot, binary or ternary"
            );
        };
        if !schemes.contains(&f) {
            schemes.push(f);
        }
    }
    if let Some(b) = args.bits.iter().find(|&&b| b == 0 || b > 16) {
        bail!("--bits: a weight width ({b}) must be 1 to 16");
    }
    if args.act_bits == 0 || args.act_bits > 16 {
        bail!("--act-bits ({}) must be 1 to 16", args.act_bits);
    }
    let training: Training = ron_value("--training", &args.training)?;
    if let Err((field, message)) = training.spec() {
        bail!("--training `{}`: {field}: {message}", args.training);
    }
    let calibration: Calibration = ron_value("--calibration", &args.calibration)?;
    let folding: Folding = ron_value("--folding", &args.folding)?;
    let fpga: FpgaTarget = ron_value("--fpga", &args.fpga)?;
    if args.scale_bits == 0 || args.scale_bits > 32 {
        bail!("--scale-bits ({}) must be 1 to 32", args.scale_bits);
    }
    if let Some(b) = args.bias_bits.filter(|b| !BIAS_BITS.contains(b)) {
        bail!("--bias-bits ({b}) must be between 2 and 48");
    }
    let widest = args.bits.iter().copied().max().unwrap_or(8);
    Ok(SearchSpace {
        base: PointConfig {
            weight_scheme: schemes.first().copied().unwrap_or(WeightFamily::Uniform),
            weight_bits: widest,
            activation_bits: args.act_bits,
            layer_overrides: Vec::new(),
            training,
            calibration,
            scale_bits: args.scale_bits,
            bias_bits: args.bias_bits,
            accumulator: AccumulatorPolicy::Proven,
            folding,
            fpga,
        },
        schemes,
        widths: args.bits.clone(),
        layers: 0,
        sensitivity_training: match args.sensitivity {
            SensitivityArg::Same => None,
            SensitivityArg::Ptq => Some(Training::Ptq),
        },
    })
}

fn progress_bar() -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(None, target);
    if let Ok(style) = ProgressStyle::with_template("{spinner} measured {pos}  {msg}  {elapsed}") {
        bar.set_style(style);
    }
    bar
}

/// Per-layer widths as `4 2 8` (layer 0 first).
fn bits_text(bits: &[u32]) -> String {
    bits.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `uniform [W4 W2 W8]`.
fn config_text(row: &Row) -> String {
    let w: Vec<String> = row.bits.iter().map(|b| format!("W{b}")).collect();
    format!("{} [{}]", row.scheme.name(), w.join(" "))
}

fn figures(m: &Metrics) -> String {
    format!(
        "accuracy {:.4}, {} LUTs, {} FFs, {} weight bits, {} cycles/image",
        m.accuracy, m.luts, m.ffs, m.weight_memory_bits, m.cycles_per_image
    )
}

fn summary(
    args: &SearchArgs,
    ev: &NetworkEvaluator,
    space: &SearchSpace,
    report: &SearchReport,
) -> String {
    let mut s = String::new();
    let budgets: Vec<String> = report.budgets.iter().map(|b| b.to_string()).collect();
    let schemes: Vec<&str> = space.schemes.iter().map(|f| f.name()).collect();
    let _ = writeln!(
        s,
        "searched {} at widths {:?} per layer ({} layers with weights), activations {} bits, {}, {} {}, {} test images of {}; budget {}",
        schemes.join(", "),
        space.widths,
        space.layers,
        space.base.activation_bits,
        space.base.training,
        space.base.folding,
        space.base.fpga.name(),
        ev.test_images(),
        ev.data(),
        budgets.join(" and ")
    );
    for (scheme, reason) in &report.skipped_schemes {
        let _ = writeln!(s, "  {} not searched: {reason}", scheme.name());
    }
    let metric = report.budgets[0].metric;
    let sens = match &space.sensitivity_training {
        Some(t) => t.to_string(),
        None => space.base.training.to_string(),
    };
    let _ = writeln!(
        s,
        "sensitivity ({sens}; accuracy drop and change of {} against the widest everywhere):",
        metric.name()
    );
    for (scheme, layers) in &report.candidates {
        for (l, cands) in layers.iter().enumerate() {
            let parts: Vec<String> = cands
                .iter()
                .map(|c| format!("W{} {:.4} {:+}", c.bits, c.drop, c.delta[metric.index()]))
                .collect();
            let _ = writeln!(s, "  {} L{l}: {}", scheme.name(), parts.join(" | "));
        }
    }
    let chosen = report.chosen_row();
    let predicted = chosen
        .predicted
        .map(|(drop, cost)| {
            format!(
                " (predicted drop {drop:.4}, {} {})",
                metric.name(),
                cost[metric.index()]
            )
        })
        .unwrap_or_default();
    if let Ok(m) = &chosen.result {
        let _ = writeln!(
            s,
            "chosen: {}: {}{predicted}",
            config_text(chosen),
            figures(m)
        );
    }
    for r in report.rows.iter().filter(|r| r.role == Role::OverBudget) {
        if let Ok(m) = &r.result {
            let _ = writeln!(
                s,
                "  tried first, measured over the budget: {}: {}",
                config_text(r),
                figures(m)
            );
        }
    }
    match report.best_uniform() {
        Some(u) => {
            if let Ok(m) = &u.result {
                let _ = writeln!(
                    s,
                    "best uniform width inside the budget: {}: {}",
                    config_text(u),
                    figures(m)
                );
            }
        }
        None => {
            let _ = writeln!(s, "no uniform width fits the budget");
        }
    }
    let front = report.rows.iter().filter(|r| r.role == Role::Front);
    let (n, fits) = front.fold((0, 0), |(n, f), r| {
        (n + 1, f + usize::from(r.fits(&report.budgets)))
    });
    let _ = writeln!(
        s,
        "front: {n} configurations measured, {fits} inside the budget (search.csv)"
    );
    let out = args.out.display();
    let _ = writeln!(
        s,
        "wrote {out}/search.csv, {out}/spec.ron, {out}/net.ron, {out}/summary.txt and the sweep files {out}/sweep_*.ron"
    );
    let model = args.model.display();
    let data = if matches!(args.data, DataSource::Digits) {
        String::new()
    } else {
        format!(" --data {}", args.data)
    };
    if chosen.point.training.is_qat() {
        let _ = writeln!(
            s,
            "the same network: qforge train --qat {out}/spec.ron --init {model}{data} --epochs {} --seed {} -o NET.ron",
            chosen.point.training.epochs(),
            chosen.point.training.seed()
        );
    } else {
        let _ = writeln!(
            s,
            "the same network: qforge quantize --model {model} --spec {out}/spec.ron -o NET.ron"
        );
    }
    s
}

/// The columns of `search.csv`.
const CSV_COLUMNS: [&str; 18] = [
    "role",
    "scheme",
    "layer_bits",
    "training",
    "predicted_drop",
    "predicted_luts",
    "predicted_weight_bits",
    "predicted_cycles",
    "accuracy",
    "luts",
    "ffs",
    "carries",
    "dsps",
    "bram_bits",
    "weight_memory_bits",
    "cycles_per_image",
    "within_budget",
    "skipped",
];

/// The CSV of every measured configuration, one row each in the order measured.
fn csv(report: &SearchReport) -> String {
    let mut s = csv_line(&CSV_COLUMNS);
    s.push('\n');
    for r in &report.rows {
        let mut cells = vec![
            r.role.name().to_string(),
            r.scheme.name().to_string(),
            bits_text(&r.bits),
            r.point.training.to_string(),
        ];
        match r.predicted {
            Some((drop, cost)) => {
                cells.push(drop.to_string());
                cells.extend(cost.iter().map(i128::to_string));
            }
            None => cells.extend(std::iter::repeat_n(String::new(), 4)),
        }
        match &r.result {
            Ok(m) => {
                cells.push(m.accuracy.to_string());
                cells.extend(
                    [
                        m.luts,
                        m.ffs,
                        m.carries,
                        m.dsps,
                        m.bram_bits,
                        m.weight_memory_bits,
                        m.cycles_per_image,
                    ]
                    .map(|v| v.to_string()),
                );
            }
            Err(_) => cells.extend(std::iter::repeat_n(String::new(), 8)),
        }
        cells.push(r.fits(&report.budgets).to_string());
        cells.push(r.result.as_ref().err().cloned().unwrap_or_default());
        s.push_str(&csv_line(&cells));
        s.push('\n');
    }
    s
}
