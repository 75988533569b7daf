//! Whole-network design folders: quantize (if needed), plan, simulate cycle by cycle, check
//! against the golden engine, and write the Verilog, the replay wrapper, the per-cycle vectors
//! and the manifest that `qforge verify` replays.
//!
//! ```no_run
//! use qforge::accel::plan::ArchSpec;
//! use qforge::flow::{build_net_design, digits_test_codes, load_net, write_net_design, NetDesignOptions};
//! let net = load_net("models/digits_mlp.ron".as_ref(), None)?; // 4-bit PoT weights by default
//! let (codes, _labels) = digits_test_codes(&net, Some(50))?;
//! let design = build_net_design(&net, &ArchSpec::balanced_default(), &codes, &NetDesignOptions::default())?;
//! write_net_design("out/net".as_ref(), &design)?;
//! # Ok::<(), qforge::flow::FlowError>(())
//! ```

use crate::accel::mvu::MvuFault;
use crate::accel::network::net_wrapper;
use crate::accel::plan::{plan, ArchSpec, Plan, PlanError};
use crate::accel::sim::{simulate, Backpressure, SimError, SimOptions, SimRun};
use crate::accel::unit::{Unit, UnitError};
use crate::hdl::{print_module, Module};
use crate::nn::data::source::{DataSource, Part};
use crate::nn::data::Dataset;
use crate::nn::{self, Model, NnError};
use crate::outdir::{OutputError, OutputKind, Staging};
use crate::position::Source;
use crate::qnn::quantize::{quantize_model, QuantSpec};
use crate::qnn::{Engine, QNet, QnnError};
use crate::verify::manifest::{DesignKind, Manifest};
use crate::verify::vectors::VectorSet;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The quantization used when none is given: 4-bit PoT weights, 4-bit activations
/// (`models/quant_pot4_a4.ron`).
pub const DEFAULT_QUANT: &str = include_str!("../models/quant_pot4_a4.ron");

/// A flow step that failed.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// Reading or quantizing the integer network.
    #[error(transparent)]
    Qnn(#[from] QnnError),
    /// Reading the float model or the data set.
    #[error(transparent)]
    Nn(#[from] NnError),
    /// Planning.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// Simulating.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// Generating the units.
    #[error(transparent)]
    Unit(#[from] UnitError),
    /// Writing the vectors or manifest.
    #[error(transparent)]
    Verify(#[from] crate::verify::Error),
    /// The output folder cannot be written (not ours, or of another kind without `force`).
    #[error(transparent)]
    Output(#[from] OutputError),
    /// A file operation.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The simulator's outputs differ from the golden engine's.
    #[error("the cycle simulator disagrees with the golden engine at image {image}, output {output}: {got} vs {expected}")]
    Disagree {
        /// Image index.
        image: usize,
        /// Output index.
        output: usize,
        /// The simulator's value.
        got: i64,
        /// The golden value.
        expected: i64,
    },
    /// Bad input.
    #[error("{0}")]
    Input(String),
}

/// Reads a network: an integer model file (a `QNet`), or a float model quantized with the spec
/// at `quant` ([`DEFAULT_QUANT`] if `None`), calibrated on the first digits training images.
pub fn load_net(model: &Path, quant: Option<&Path>) -> Result<QNet, FlowError> {
    load_net_on(model, quant, &DataSource::Digits)
}

/// [`load_net`] for a float model calibrated on the training images of `data` (an integer
/// network is read as it is; `data` is then not loaded).
pub fn load_net_on(
    model: &Path,
    quant: Option<&Path>,
    data: &DataSource,
) -> Result<QNet, FlowError> {
    if let Some(imported) = crate::qnn::eval::Imported::of(model) {
        if quant.is_some() {
            return Err(FlowError::Input(format!(
                "{} is {}, already quantized; --quant applies to float models",
                model.display(),
                imported.kind()
            )));
        }
        return Ok(imported.load(model)?);
    }
    let text = std::fs::read_to_string(model).map_err(|source| FlowError::Io {
        what: "reading",
        path: model.display().to_string(),
        source,
    })?;
    let path = model.display().to_string();
    if let Ok(net) = QNet::from_ron_str(&text, &path) {
        if quant.is_some() {
            return Err(FlowError::Input(format!(
                "{path} is already an integer network; --quant applies to float models"
            )));
        }
        return Ok(net);
    }
    let float = Model::from_ron_str(&text, &path)?;
    let (spec, source) = match quant {
        Some(q) => QuantSpec::load_source(q)?,
        None => {
            let source = Source::new("models/quant_pot4_a4.ron", DEFAULT_QUANT);
            (
                QuantSpec::from_ron_str(DEFAULT_QUANT, &source.name)?,
                source,
            )
        }
    };
    let train = data.load_part(Part::Train)?;
    quantize_float_on(&float, &spec, &train, data).map_err(|e| match e {
        FlowError::Qnn(e) => FlowError::Qnn(e.in_file(&source)),
        e => e,
    })
}

/// Quantizes a float model with `spec`, calibrated on the first digits training images.
pub fn quantize_float(model: &Model, spec: &QuantSpec) -> Result<QNet, FlowError> {
    let (train, _) = nn::data::digits::train_test()?;
    quantize_float_on(model, spec, &train, &DataSource::Digits)
}

/// Quantizes a float model with `spec`, calibrated on the first images of `train` (the
/// training part of `data`, which names the set in errors).
pub fn quantize_float_on(
    model: &Model,
    spec: &QuantSpec,
    train: &Dataset,
    data: &DataSource,
) -> Result<QNet, FlowError> {
    if model.input_size() != train.sample_size() {
        return Err(FlowError::Input(format!(
            "the model takes {} inputs; {data} images have {}",
            model.input_size(),
            train.sample_size()
        )));
    }
    let n = spec.calibration_samples.clamp(1, train.len());
    Ok(quantize_model(
        model,
        spec,
        &train.inputs[..n * train.sample_size()],
    )?)
}

/// The digits test images as input codes of `net` (the first `images`, or all 450), with their
/// labels.
pub fn digits_test_codes(
    net: &QNet,
    images: Option<usize>,
) -> Result<(Vec<i32>, Vec<u8>), FlowError> {
    let (_, test) = nn::data::digits::train_test()?;
    test_codes(net, &test, &DataSource::Digits, images)
}

/// The first `images` (all if `None`) images of `test`, the test part of `data`, as input codes
/// of `net`, with their labels.
pub fn test_codes(
    net: &QNet,
    test: &Dataset,
    data: &DataSource,
    images: Option<usize>,
) -> Result<(Vec<i32>, Vec<u8>), FlowError> {
    if net.in_features() != test.sample_size() {
        return Err(FlowError::Input(format!(
            "the network takes {} inputs; {data} images have {}",
            net.in_features(),
            test.sample_size()
        )));
    }
    let n = images.unwrap_or(test.len());
    if n == 0 || n > test.len() {
        return Err(FlowError::Input(format!(
            "images ({n}) must be between 1 and {} (the {data} test images)",
            test.len()
        )));
    }
    let codes = net.quantize_inputs(&test.inputs[..n * test.sample_size()]);
    Ok((codes, test.labels[..n].to_vec()))
}

/// Options of [`build_net_design`].
#[derive(Clone, Debug, Default)]
pub struct NetDesignOptions {
    /// Seeded backpressure in the vectors (the simulator follows the same pattern).
    pub backpressure: Option<u64>,
    /// A planted fault in one layer's Verilog (the simulator stays correct), for tests.
    pub fault: Option<(usize, MvuFault)>,
    /// Write a VCD of the simulation here.
    pub vcd: Option<PathBuf>,
    /// Replace a qforge output folder of another kind at the output path (`--force`).
    pub force: bool,
}

/// A planned, simulated design ready to be written.
#[derive(Clone, Debug)]
pub struct NetDesign {
    /// The plan (its `net` is the golden reference).
    pub plan: Plan,
    /// The simulation (outputs, figures, vectors).
    pub run: SimRun,
    /// The golden engine's outputs for the same images.
    pub golden: Vec<i64>,
    /// Modules of the design, dependencies first, the network top last.
    pub modules: Vec<Module>,
    /// The `qf_tb_dut` wrapper.
    pub wrapper: Module,
    /// Images simulated.
    pub images: usize,
    /// The data set the images come from (recorded in the manifest unless it is digits).
    pub data: DataSource,
    /// Backpressure seed, if any.
    pub backpressure: Option<u64>,
    /// Wall-clock seconds of the same simulation without recording vectors: the simulator's
    /// own speed.
    pub sim_seconds: f64,
}

impl NetDesign {
    /// Simulated cycles per second of the simulator alone (no vector recording).
    pub fn sim_cycles_per_second(&self) -> f64 {
        if self.sim_seconds > 0.0 {
            self.run.report.cycles as f64 / self.sim_seconds
        } else {
            0.0
        }
    }
}

impl NetDesign {
    /// The network top's module name.
    pub fn top(&self) -> String {
        self.plan.network.name()
    }
}

/// Plans `net` with `arch`, simulates `codes` (whole images) cycle by cycle recording the
/// replay vectors, and checks every output against the golden engine.
pub fn build_net_design(
    net: &QNet,
    arch: &ArchSpec,
    codes: &[i32],
    options: &NetDesignOptions,
) -> Result<NetDesign, FlowError> {
    let mut p = plan(net, arch)?;
    let golden = Engine::new(&p.net)?.infer(codes)?;
    let images = codes.len() / net.in_features().max(1);
    let run = simulate(
        &p.network,
        codes,
        &SimOptions {
            backpressure: options.backpressure.map(Backpressure::new),
            record: true,
            vcd: options.vcd.clone(),
            ..SimOptions::default()
        },
    )?;
    // The same run again without recording, for the simulator's own speed.
    let bare = simulate(
        &p.network,
        codes,
        &SimOptions {
            backpressure: options.backpressure.map(Backpressure::new),
            ..SimOptions::default()
        },
    )?;
    let per = net.out_features();
    if let Some(i) = (0..golden.len()).find(|&i| golden[i] != run.outputs[i]) {
        return Err(FlowError::Disagree {
            image: i / per,
            output: i % per,
            got: run.outputs[i],
            expected: golden[i],
        });
    }
    if let Some((layer, fault)) = options.fault {
        p = p.with_fault(layer, fault)?;
    }
    let modules = p.network.verilog()?;
    let top = modules
        .last()
        .cloned()
        .ok_or_else(|| FlowError::Input("the network produced no module".into()))?;
    let wrapper = net_wrapper(&p.network, &top)?;
    Ok(NetDesign {
        plan: p,
        run,
        golden,
        modules,
        wrapper,
        images,
        data: DataSource::Digits,
        backpressure: options.backpressure,
        sim_seconds: bare.report.seconds,
    })
}

/// The whole flow in one call, for commands that want a proven-ready design folder: reads the
/// model (`quant` for a float model, [`DEFAULT_QUANT`] if `None`), reads the architecture
/// (`None`: [`ArchSpec::balanced_default`]), streams the first `images` test images of `data`
/// (all if `None`), checks the simulation against the golden engine and writes the folder `out`
/// for `qforge verify`. A float model is calibrated on the training images of `data`.
pub fn net_design_folder(
    model: &Path,
    quant: Option<&Path>,
    arch: Option<&Path>,
    data: &DataSource,
    images: Option<usize>,
    options: &NetDesignOptions,
    out: &Path,
) -> Result<NetDesign, FlowError> {
    // Refuse a bad output path before the work, not after it (checked again when writing).
    crate::outdir::check(out, OutputKind::Net, options.force)?;
    let net = load_net_on(model, quant, data)?;
    let (arch, source) = match arch {
        Some(p) => {
            let (arch, source) = ArchSpec::load_source(p)?;
            (arch, Some(source))
        }
        None => (ArchSpec::balanced_default(), None),
    };
    let test = data.load_part(Part::Test)?;
    let (codes, _) = test_codes(&net, &test, data, images)?;
    drop(test);
    if let Some(vcd) = &options.vcd {
        check_parent(vcd)?;
    }
    let mut design =
        build_net_design(&net, &arch, &codes, options).map_err(|e| match (e, &source) {
            (FlowError::Plan(e), Some(source)) => FlowError::Plan(e.in_file(source)),
            (e, _) => e,
        })?;
    design.data = data.clone();
    write_net_folder(out, &design, options.force)?;
    Ok(design)
}

/// Refuses a file path whose folder does not exist (before a run that would write it at
/// the end).
pub fn check_parent(file: &Path) -> Result<(), FlowError> {
    let parent = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if parent.is_dir() {
        Ok(())
    } else {
        Err(FlowError::Input(format!(
            "cannot write {}: the folder {} does not exist",
            file.display(),
            parent.display()
        )))
    }
}

impl FlowError {
    /// Whether the message already names the file it is about (`file:line:col: ...`, or a
    /// file that cannot be read), so a caller need not say which file it was reading.
    pub fn names_its_file(&self) -> bool {
        matches!(
            self,
            FlowError::Qnn(QnnError::Parse { .. } | QnnError::Invalid { .. } | QnnError::Io { .. })
                | FlowError::Nn(NnError::Syntax { .. } | NnError::Io { .. })
                | FlowError::Plan(
                    PlanError::Parse { .. } | PlanError::Located { .. } | PlanError::Io { .. }
                )
                | FlowError::Io { .. }
        )
    }
}

/// Writes a design folder for `design` at `dir` (atomically; see [`write_design_folder`]):
/// manifest kind `net`, with the images, the simulator's cycle count and the plan in its
/// parameters, and the simulator's measured speed in [`TIMING_FILE`]. `dir` must be absent,
/// empty or a `net` folder qforge wrote.
pub fn write_net_design(dir: &Path, design: &NetDesign) -> Result<(), FlowError> {
    write_net_folder(dir, design, false)
}

fn write_net_folder(dir: &Path, design: &NetDesign, force: bool) -> Result<(), FlowError> {
    let trace = design
        .run
        .trace
        .as_ref()
        .ok_or_else(|| FlowError::Input("the simulation recorded no vectors".into()))?;
    let r = &design.run.report;
    let mut params: Vec<(String, String)> = vec![("images".into(), design.images.to_string())];
    // Digits, the default, is not recorded, so that digits folders stay as they were.
    if !design.data.is_digits() {
        params.push(("data".into(), design.data.to_string()));
    }
    params.extend([
        ("model_cycles".into(), r.cycles.to_string()),
        ("plan".into(), design.plan.describe()),
        (
            "initiation_interval".into(),
            r.initiation_interval.to_string(),
        ),
        ("latency".into(), r.latency.to_string()),
        ("network".into(), design.plan.net.name.clone()),
        (
            "backpressure".into(),
            design
                .backpressure
                .map_or("none".to_string(), |s| format!("seed {s}")),
        ),
    ]);
    params.extend(design.plan.network.parameters());
    let mut modules = design.modules.clone();
    modules.push(design.wrapper.clone());
    let timing = [
        (
            "model_cycles_per_second".to_string(),
            design.sim_cycles_per_second().round(),
        ),
        ("model_seconds".to_string(), design.sim_seconds),
    ];
    write_design_folder(
        dir,
        &DesignFolder {
            kind: DesignKind::Net,
            top: &design.top(),
            modules: &modules,
            vectors: Vectors::Set(trace),
            parameters: &params,
            timing: &timing,
        },
        force,
    )
}

/// The file of a design folder holding measured figures (speeds, wall times), kept out of the
/// manifest so that identical runs write identical manifests.
pub const TIMING_FILE: &str = "timing.json";

/// Writes a design folder's two vector files (`+stim`, `+expect`) and returns the cycles written.
pub type WriteVectors<'a> = &'a dyn Fn(&Path, &Path) -> Result<u64, FlowError>;

/// The replay vectors of a design folder.
#[derive(Clone, Copy)]
pub enum Vectors<'a> {
    /// A set held in memory.
    Set(&'a VectorSet),
    /// Vectors written as they are made, too many to hold: the port widths and the writer.
    Stream {
        /// `IN_W`.
        in_width: u32,
        /// `OUT_W`.
        out_width: u32,
        /// Writes both files.
        write: WriteVectors<'a>,
    },
}

impl std::fmt::Debug for Vectors<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Vectors::Set(set) => write!(f, "Set({} cycles)", set.cycles.len()),
            Vectors::Stream {
                in_width,
                out_width,
                ..
            } => write!(
                f,
                "Stream {{ in_width: {in_width}, out_width: {out_width} }}"
            ),
        }
    }
}

/// What a design folder holds.
#[derive(Clone, Copy, Debug)]
pub struct DesignFolder<'a> {
    /// The manifest's kind.
    pub kind: DesignKind,
    /// The design's module name (not the wrapper).
    pub top: &'a str,
    /// Every module, the wrapper `qf_tb_dut` last.
    pub modules: &'a [Module],
    /// The replay vectors.
    pub vectors: Vectors<'a>,
    /// The manifest's parameters (deterministic: the same run writes the same values).
    pub parameters: &'a [(String, String)],
    /// Measured figures for [`TIMING_FILE`] (none: no file).
    pub timing: &'a [(String, f64)],
}

/// The output-folder kind of a design kind: the command that writes it (`hdl pe` writes PEs and
/// PE arrays alike).
fn output_kind(kind: DesignKind) -> OutputKind {
    match kind {
        DesignKind::Pe | DesignKind::PeGrid => OutputKind::Pe,
        DesignKind::Net => OutputKind::Net,
    }
}

/// Writes a design folder: `rtl/*.v` (every module, the wrapper `qf_tb_dut` last),
/// `vectors/*.hex`, `tb/qf_replay_tb.sv`, `qforge.json`, `run.sh`, [`TIMING_FILE`] when there are
/// measured figures, and the [`crate::outdir::MARKER`].
///
/// `out` must be absent, an empty folder or a qforge folder of the same kind (with `force`, of
/// any kind); anything else is refused and left untouched. The folder is built beside `out` and
/// swapped into place at the end (see [`crate::outdir`]), so a failure leaves nothing behind and
/// `out` is at every moment either the old complete folder or the new one.
pub fn write_design_folder(
    out: &Path,
    folder: &DesignFolder<'_>,
    force: bool,
) -> Result<(), FlowError> {
    let io = |what: &'static str, path: &Path| {
        let path = path.display().to_string();
        move |source| FlowError::Io { what, path, source }
    };
    let DesignFolder {
        kind,
        top,
        modules,
        vectors,
        parameters: params,
        timing,
    } = *folder;
    let staging = Staging::begin(out, output_kind(kind), force)?;
    let tmp = staging.path();
    let result = (|| -> Result<(), FlowError> {
        for sub in ["rtl", "vectors", "tb"] {
            std::fs::create_dir_all(tmp.join(sub)).map_err(io("creating", tmp))?;
        }
        let mut sources = Vec::new();
        for m in modules {
            let rel = format!("rtl/{}.v", m.name);
            let path = tmp.join(&rel);
            std::fs::write(&path, print_module(m)).map_err(io("writing", &path))?;
            sources.push(rel);
        }
        let (stimulus, expected) = (
            tmp.join("vectors/stimulus.hex"),
            tmp.join("vectors/expected.hex"),
        );
        let (in_width, out_width, cycles) = match vectors {
            Vectors::Set(trace) => {
                trace.write(&stimulus, &expected)?;
                (trace.in_width, trace.out_width, trace.cycles.len() as u64)
            }
            Vectors::Stream {
                in_width,
                out_width,
                write,
            } => (in_width, out_width, write(&stimulus, &expected)?),
        };
        let tb = tmp.join("tb/qf_replay_tb.sv");
        std::fs::write(&tb, crate::verify::verilator::TESTBENCH).map_err(io("writing", &tb))?;
        let manifest = Manifest {
            kind,
            top: top.to_string(),
            sources: sources.iter().map(PathBuf::from).collect(),
            wrapper: PathBuf::from("rtl/qf_tb_dut.v"),
            in_width,
            out_width,
            cycles,
            stimulus: PathBuf::from("vectors/stimulus.hex"),
            expected: PathBuf::from("vectors/expected.hex"),
            parameters: params.iter().cloned().collect::<BTreeMap<_, _>>(),
        };
        manifest.save(tmp)?;
        if !timing.is_empty() {
            let path = tmp.join(TIMING_FILE);
            let object: serde_json::Map<String, serde_json::Value> = timing
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::json!(v)))
                .collect();
            let mut text = serde_json::Value::Object(object).to_string();
            text.push('\n');
            std::fs::write(&path, text).map_err(io("writing", &path))?;
        }
        let script =
            crate::verify::verilator::run_script(top, &sources, in_width, out_width, cycles);
        let run = tmp.join("run.sh");
        std::fs::write(&run, script).map_err(io("writing", &run))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755))
                .map_err(io("setting permissions of", &run))?;
        }
        Ok(())
    })();
    // Dropped uncommitted, the staging folder is removed.
    result?;
    staging.commit()?;
    Ok(())
}
