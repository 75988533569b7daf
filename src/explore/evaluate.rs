//! The real point evaluator: quantize, measure accuracy, plan, simulate, cost.
//!
//! For one sweep point [`NetworkEvaluator`]:
//!
//! 1. quantizes the sweep's float model with the point's weight scheme and widths, calibration,
//!    requantization multiplier width, bias width, accumulator policy and per-layer overrides
//!    ([`crate::qnn::quantize`], see [`quant_spec`]);
//! 2. measures the integer network's top-1 accuracy on the digits test split (450 images) with
//!    the golden engine ([`crate::qnn::Engine`]) and counts its weight memory bits;
//! 3. plans the accelerator for the point's folding target ([`crate::accel::plan`], FIFO depths
//!    chosen by simulation);
//! 4. runs the cycle-exact network simulator ([`crate::accel::sim`]) on the first
//!    [`SIM_IMAGES`] test images streamed back to back; cycles per image is the measured
//!    steady-state interval between the last outputs of consecutive images, and the throughput
//!    is `clock / cycles per image` at the fixed clock [`CLOCK_MHZ`] (100 MHz, stated in the
//!    CSV's `clock_mhz` column; not a timing result);
//! 5. costs it: [`AreaMode::Model`] sums the per-unit cost model over the plan's stages, with
//!    the PE arrays taken from the fitted coefficients file of the point's FPGA family
//!    (`models/area_<fpga>.ron`, written by `qforge calibrate`) when there is one and the units'
//!    analytic `cost()` otherwise, broken down per layer; [`AreaMode::Yosys`] writes the plan's
//!    Verilog and synthesizes it for the point's family, caching the counts by a hash of the
//!    design text, the family and the Yosys version ([`crate::explore::synth_cache`]).
//!
//! Quantizing and measuring accuracy depend only on the quantization axes, so points that differ
//! in folding or FPGA share one quantized network (computed once, by whichever thread gets there
//! first). A `qat(..)` point's model is trained on the digits training split (1,347 images)
//! from the sweep's float model, thresholds initialised by the point's calibration, with the
//! point's training knobs and seed ([`crate::qat::train_qat`]); training does not depend on the
//! multiplier width or the accumulator, so the points that differ only in those share one
//! trained model too, and each exports it with its own spec ([`QatNet::export_as`]), exactly as
//! `qforge train --qat` does. A point the quantizer or the planner rejects (a width a scheme cannot have, binary
//! weights with integer activations, an accumulator narrower than one lane's product) is
//! [`Outcome::Skipped`] with its [`SkipReason`]; only a failure of the machinery (a simulation
//! that stalls, Yosys crashing) is an `Err` ([`EvalError`]).
//!
//! Layer overrides count the layers with weights (dense and convolution layers) from 0, as the
//! quantizer's [`LayerOverride::index`] does; pooling layers are not counted.
//!
//! ```no_run
//! use qforge::explore::evaluate::{AreaMode, EvaluatorOptions, NetworkEvaluator};
//! use qforge::explore::evaluator::Evaluator;
//! use qforge::explore::grid::Grid;
//! use qforge::explore::sweep_file::SweepFile;
//! let path = std::path::Path::new("models/sweep_default.ron");
//! let sweep = SweepFile::load(path)?;
//! let ev = NetworkEvaluator::new(&sweep, path, EvaluatorOptions::default())?;
//! let grid = Grid::new(&sweep, "models/sweep_default.ron")?;
//! println!("{:?}", ev.evaluate(&grid.points()[0].config));
//! # Ok::<(), qforge::explore::error::ExploreError>(())
//! ```

use crate::accel::network::Stage;
use crate::accel::plan::{plan, ArchSpec, Folding as PlanFolding, Plan};
use crate::accel::sim::{simulate, SimOptions};
use crate::accel::unit::{Cost, Unit};
use crate::explore::area_model::AreaModel;
use crate::explore::error::{EvalError, ExploreError, Result};
use crate::explore::evaluator::{AreaSource, Evaluator, LayerArea, Metrics, Outcome, SkipReason};
use crate::explore::grid::PointConfig;
use crate::explore::pe_features::pe_unit;
use crate::explore::sweep_file::{
    AccumulatorPolicy, Calibration, Folding, FpgaTarget, Overflow, SweepFile, WeightFamily,
};
use crate::explore::synth_cache::SynthCache;
use crate::nn::data::source::DataSource;
use crate::nn::Architecture;
use crate::nn::{Dataset, Model};
use crate::num::rounding::RoundingMode;
use crate::num::weights::WeightCode;
use crate::position::{locate_nearest, ValuePath};
use crate::qat::{train_qat, QatError, QatNet};
use crate::qnn::quantize::{quantize_model, AccPolicy, ActSpec, LayerOverride, QuantSpec};
use crate::qnn::{AccOverflow, Engine, QNet};
use crate::quant::calibrate::Clipping;
use crate::quant::pot::{ExponentRange, PotConfig, PotDomain};
use crate::quant::quantizer::{Scheme, TensorQuantizer};
use crate::quant::tensor::Granularity;
use crate::quant::uniform::{ScaleConstraint, UniformConfig};
use crate::quant::{apot::ApotConfig, binary::TernaryConfig};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// The clock the throughput column assumes, in MHz: a fixed design clock, not a timing result
/// (DESIGN.md §6 measures 73–158 MHz for single PEs on iCE40 HX8K).
pub const CLOCK_MHZ: f64 = 100.0;

/// Test images streamed through the cycle simulator per point (at least two, so a steady-state
/// interval between consecutive images exists).
pub const SIM_IMAGES: usize = 3;

/// Training images used to calibrate activation ranges.
pub const CALIBRATION_SAMPLES: usize = 512;

/// Where a point's area comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AreaMode {
    /// The per-unit cost model (fitted coefficients where available).
    Model,
    /// Yosys synthesis of the point's network Verilog, cached.
    Yosys,
}

/// How the evaluator runs.
#[derive(Debug, Clone)]
pub struct EvaluatorOptions {
    /// Area from the model or from Yosys.
    pub area: AreaMode,
    /// Folder holding `area_<fpga>.ron` coefficients files (default: the sweep file's folder,
    /// so `models/sweep_default.ron` finds `models/area_ice40.ron`); a family without a file
    /// uses the units' analytic `cost()`.
    pub coefficients_dir: Option<PathBuf>,
    /// Cache folder of Yosys results (default `target/qforge-synth-cache`).
    pub cache_dir: PathBuf,
}

impl Default for EvaluatorOptions {
    fn default() -> Self {
        EvaluatorOptions {
            area: AreaMode::Model,
            coefficients_dir: None,
            cache_dir: PathBuf::from("target/qforge-synth-cache"),
        }
    }
}

/// A quantized network and its measured accuracy, shared by the points that differ only in
/// folding or FPGA family.
#[derive(Debug)]
struct Quantized {
    net: QNet,
    accuracy: f64,
}

type Shared = Arc<OnceLock<std::result::Result<Arc<Quantized>, SkipReason>>>;

/// A model trained with quantization-aware training (float weights with batch norm folded,
/// learned clipping thresholds, pruning), shared by the points that differ only in how the
/// network is exported (multiplier width, accumulator) or built (folding, FPGA family).
#[derive(Debug)]
struct Trained {
    net: QatNet,
}

type SharedTraining = Arc<OnceLock<std::result::Result<Arc<Trained>, SkipReason>>>;

/// The data set a sweep file names (`digits` if none), an MNIST folder taken relative to the
/// sweep file's folder.
fn sweep_data(sweep: &SweepFile, folder: &Path) -> Result<DataSource> {
    let data = match &sweep.data {
        None => DataSource::Digits,
        // Checked when the file was parsed; a sweep built in code gets the same message.
        Some(s) => s
            .parse::<DataSource>()
            .map_err(|e| ExploreError::NoEvaluator(format!("the sweep's data: {e}")))?,
    };
    Ok(match data {
        DataSource::Mnist(dir) => DataSource::Mnist(folder.join(dir)),
        d => d,
    })
}

/// The evaluator `qforge sweep` uses.
pub struct NetworkEvaluator {
    data: DataSource,
    model: Model,
    calibration: Vec<f32>,
    train: Dataset,
    test: Dataset,
    options: EvaluatorOptions,
    coefficients: BTreeMap<FpgaTarget, (PathBuf, AreaModel)>,
    quantized: Mutex<HashMap<String, Shared>>,
    trained: Mutex<HashMap<String, SharedTraining>>,
    synth: Option<SynthCache>,
}

impl NetworkEvaluator {
    /// Loads the sweep's model (relative to the sweep file's folder), the digits data and the
    /// coefficients files; with [`AreaMode::Yosys`] also finds Yosys and opens the cache.
    pub fn new(
        sweep: &SweepFile,
        sweep_path: &Path,
        options: EvaluatorOptions,
    ) -> Result<NetworkEvaluator> {
        let folder = sweep_path.parent().unwrap_or_else(|| Path::new(""));
        let model_path = folder.join(&sweep.model);
        let data = sweep_data(sweep, folder)?;
        let ev = NetworkEvaluator::for_model(&model_path, data, sweep.images, folder, options)?;
        // An override of a layer the model does not have is a mistake in the sweep file, not
        // a point to skip: every point carrying it would be skipped.
        let weighted = ev.model.weight_layer_count();
        for (i, set) in sweep.axes.layer_overrides.values().iter().enumerate() {
            if let Some(j) = set.iter().position(|o| o.layer >= weighted) {
                let at = ValuePath::field("axes")
                    .then_field("layer_overrides")
                    .index(i)
                    .index(j)
                    .then_field("layer");
                let (line, col) = std::fs::read_to_string(sweep_path)
                    .map_or((1, 1), |text| locate_nearest(&text, &at));
                return Err(ExploreError::SweepFile {
                    file: sweep_path.display().to_string(),
                    line,
                    col,
                    message: format!(
                        "layer override index ({}) must be below the number of layers with weights ({weighted}) of {}",
                        set[j].layer,
                        model_path.display()
                    ),
                });
            }
        }
        Ok(ev)
    }

    /// The evaluator of a float model file on a data set (the first `images` test images, or
    /// all), with the coefficients files from `options.coefficients_dir` or else from
    /// `default_coefficients`.
    pub fn for_model(
        model_path: &Path,
        data: DataSource,
        images: Option<usize>,
        default_coefficients: &Path,
        options: EvaluatorOptions,
    ) -> Result<NetworkEvaluator> {
        // The model's own error names its file.
        let model = Model::load(model_path)
            .map_err(|e| ExploreError::NoEvaluator(format!("the model: {e}")))?;
        let (train, mut test) = data
            .load()
            .map_err(|e| ExploreError::NoEvaluator(format!("cannot load the {data} data: {e}")))?;
        if model.input_size() != train.sample_size() {
            return Err(ExploreError::NoEvaluator(format!(
                "the model {} takes {} inputs; {data} images have {}",
                model_path.display(),
                model.input_size(),
                train.sample_size()
            )));
        }
        if let Some(n) = images {
            if n > test.len() {
                return Err(ExploreError::NoEvaluator(format!(
                    "images ({n}) must be at most the {} test images of {data}",
                    test.len()
                )));
            }
            test = test.truncated(n);
        }
        let n = CALIBRATION_SAMPLES.min(train.len());
        let calibration = train.inputs[..n * train.sample_size()].to_vec();
        let dir = options
            .coefficients_dir
            .clone()
            .unwrap_or_else(|| default_coefficients.to_path_buf());
        // A folder given explicitly must exist (one without a family's file gives that
        // family the units' analytic costs, as the sweep's summary says).
        if options.coefficients_dir.is_some() && !dir.is_dir() {
            return Err(ExploreError::NoEvaluator(format!(
                "the coefficients folder {} {}",
                dir.display(),
                if dir.exists() {
                    "is not a folder"
                } else {
                    "does not exist"
                }
            )));
        }
        let mut coefficients = BTreeMap::new();
        for fpga in [FpgaTarget::Ice40, FpgaTarget::Xilinx, FpgaTarget::Ecp5] {
            let path = dir.join(format!("area_{}.ron", fpga.name()));
            if path.exists() {
                coefficients.insert(fpga, (path.clone(), AreaModel::load(&path)?));
            }
        }
        let synth = match options.area {
            AreaMode::Yosys => Some(SynthCache::open(&options.cache_dir)?),
            AreaMode::Model => None,
        };
        Ok(NetworkEvaluator {
            data,
            model,
            calibration,
            train,
            test,
            options,
            coefficients,
            quantized: Mutex::new(HashMap::new()),
            trained: Mutex::new(HashMap::new()),
            synth,
        })
    }

    /// The float model the points are quantized from.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The coefficients file used for an FPGA family, if any.
    pub fn coefficients(&self, fpga: FpgaTarget) -> Option<(&Path, &AreaModel)> {
        self.coefficients.get(&fpga).map(|(p, m)| (p.as_path(), m))
    }

    /// The Yosys cache folder.
    pub fn cache_dir(&self) -> &Path {
        &self.options.cache_dir
    }

    /// The Yosys cache, when the area comes from Yosys.
    pub fn synth_cache(&self) -> Option<&SynthCache> {
        self.synth.as_ref()
    }

    /// How many models quantization-aware training has been started for: one per distinct
    /// training key (weights, activations, overrides, calibration, training), however many
    /// points share it.
    pub fn models_trained(&self) -> usize {
        self.trained.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The quantized network of a point (shared with every point of the same quantization
    /// axes); `Err` holds the quantizer's reason for rejecting it.
    pub fn quantized_net(&self, point: &PointConfig) -> std::result::Result<QNet, SkipReason> {
        self.quantize(point).map(|q| q.net.clone())
    }

    fn quantize(&self, point: &PointConfig) -> std::result::Result<Arc<Quantized>, SkipReason> {
        let key = quant_key(point);
        let cell = {
            let mut map = self.quantized.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(key).or_default().clone()
        };
        cell.get_or_init(|| {
            let weighted = self.model.weight_layer_count();
            let spec = quant_spec(point, weighted)?;
            let quantizer = |e| SkipReason::Quantizer(Arc::new(e));
            let net = if point.training.is_qat() {
                let trained = self.trained_model(point, &spec)?;
                trained
                    .net
                    .export_as(&spec, &self.calibration)
                    .map_err(|e| match e {
                        QatError::Qnn(e) => quantizer(e),
                        e => SkipReason::Training(Arc::new(e)),
                    })?
            } else {
                quantize_model(&self.model, &spec, &self.calibration).map_err(quantizer)?
            };
            let engine_err = |e| SkipReason::Engine(Arc::new(e));
            let engine = Engine::new(&net).map_err(engine_err)?;
            let codes = net.quantize_inputs(&self.test.inputs);
            let out = engine.infer(&codes).map_err(engine_err)?;
            let n = net.out_features().max(1);
            let hits = out
                .chunks_exact(n)
                .zip(&self.test.labels)
                .filter(|(o, &l)| net.class_of(o) == usize::from(l))
                .count();
            let accuracy = hits as f64 / self.test.labels.len().max(1) as f64;
            Ok(Arc::new(Quantized { net, accuracy }))
        })
        .clone()
    }

    /// The model of a QAT point trained on the digits training split (once for every point of
    /// the same weights, activations, overrides, calibration and training).
    fn trained_model(
        &self,
        point: &PointConfig,
        spec: &QuantSpec,
    ) -> std::result::Result<Arc<Trained>, SkipReason> {
        let cell = {
            let mut map = self.trained.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(training_key(point)).or_default().clone()
        };
        cell.get_or_init(|| {
            let failed = |e| SkipReason::Training(Arc::new(e));
            let widened;
            let model = match point.training.width() {
                Some(width) => {
                    widened = Architecture::of_model(&self.model)
                        .and_then(|a| a.widened(width))
                        .and_then(|a| a.build(&self.model.input_shape, point.training.seed()))
                        .map_err(|e| failed(QatError::Nn(e)))?;
                    &widened
                }
                None => &self.model,
            };
            let mut net = QatNet::new(model, spec, &self.calibration).map_err(failed)?;
            let epochs = point.training.epochs() as usize;
            train_qat(
                &mut net,
                &self.train,
                epochs,
                point.training.seed(),
                |_, _| Ok(()),
            )
            .map_err(failed)?;
            Ok(Arc::new(Trained { net }))
        })
        .clone()
    }

    /// The data set the points are measured on.
    pub fn data(&self) -> &DataSource {
        &self.data
    }

    /// Test images that measure each point's accuracy.
    pub fn test_images(&self) -> usize {
        self.test.len()
    }

    /// The input codes of the first `n` test images for a network.
    pub fn test_codes(&self, net: &QNet, n: usize) -> Vec<i32> {
        let n = n.min(self.test.len());
        net.quantize_inputs(&self.test.inputs[..n * self.test.sample_size()])
    }

    fn model_area(&self, plan: &Plan, fpga: FpgaTarget) -> Result<Vec<LayerArea>> {
        let fitted = self.coefficients.get(&fpga).map(|(_, m)| m);
        let mut layers: Vec<LayerArea> = plan
            .layers
            .iter()
            .map(|l| LayerArea {
                name: format!("l{}", l.index),
                luts: 0,
                ffs: 0,
                carries: 0,
                dsps: 0,
                bram_bits: 0,
            })
            .collect();
        let mut current = 0usize;
        for stage in plan.network.stages() {
            let cost = match stage {
                Stage::Mvu(u) => {
                    current = plan
                        .layers
                        .iter()
                        .position(|l| l.index == u.layer())
                        .unwrap_or(current);
                    match (fitted, u.pe_array()) {
                        (Some(model), Ok(array)) => match pe_unit(array.row()) {
                            Some((kind, params)) if model.kinds.contains_key(&kind) => {
                                let pe = model.predict(&kind, &params)?;
                                let rest = minus(u.cost(), array.cost());
                                let rows = f64::from(array.pe());
                                Cost {
                                    lut: rest.lut + (pe.luts * rows).round().max(0.0) as u64,
                                    ff: rest.ff + (pe.ffs * rows).round().max(0.0) as u64,
                                    carry: rest.carry + (pe.carries * rows).round().max(0.0) as u64,
                                    dsp: rest.dsp + (pe.dsps * rows).round().max(0.0) as u64,
                                    bram: rest.bram,
                                }
                            }
                            _ => u.cost(),
                        },
                        _ => u.cost(),
                    }
                }
                other => other.cost(),
            };
            let l = &mut layers[current];
            l.luts += cost.lut;
            l.ffs += cost.ff;
            l.carries += cost.carry;
            l.dsps += cost.dsp;
            l.bram_bits += cost.bram * BRAM_BITS;
        }
        Ok(layers)
    }
}

/// Bits of one block RAM counted by the cost model (an iCE40 SB_RAM40_4K).
const BRAM_BITS: u64 = 4096;

fn minus(a: Cost, b: Cost) -> Cost {
    Cost {
        lut: a.lut.saturating_sub(b.lut),
        ff: a.ff.saturating_sub(b.ff),
        carry: a.carry.saturating_sub(b.carry),
        dsp: a.dsp.saturating_sub(b.dsp),
        bram: a.bram.saturating_sub(b.bram),
    }
}

impl Evaluator for NetworkEvaluator {
    fn tool_versions(&self) -> Vec<(String, String)> {
        let mut v = vec![("clock_mhz".to_string(), CLOCK_MHZ.to_string())];
        for (fpga, (path, m)) in &self.coefficients {
            v.push((
                format!("area_model_{}", fpga.name()),
                format!("{} ({})", path.display(), m.source),
            ));
        }
        if let Some(s) = &self.synth {
            v.push(("yosys".to_string(), s.yosys_version().to_string()));
        }
        v
    }

    fn evaluate(&self, point: &PointConfig) -> std::result::Result<Outcome, EvalError> {
        let q = match self.quantize(point) {
            Ok(q) => q,
            Err(reason) => return Ok(Outcome::Skipped(reason)),
        };
        let plan = match plan(&q.net, &ArchSpec::target(plan_folding(point.folding))) {
            Ok(p) => p,
            Err(e) => return Ok(Outcome::Skipped(e.into())),
        };
        let codes = self.test_codes(&plan.net, SIM_IMAGES);
        let run = simulate(&plan.network, &codes, &SimOptions::default())
            .map_err(EvalError::Simulation)?;
        let cycles_per_image = run.report.measured_interval.max(1);
        let (layers, source, total) = match self.options.area {
            AreaMode::Model => {
                let layers = self
                    .model_area(&plan, point.fpga)
                    .map_err(|e| EvalError::Area(Box::new(e)))?;
                let total = layers.iter().fold([0u64; 5], |t, l| {
                    [
                        t[0] + l.luts,
                        t[1] + l.ffs,
                        t[2] + l.carries,
                        t[3] + l.dsps,
                        t[4] + l.bram_bits,
                    ]
                });
                (layers, AreaSource::Model, total)
            }
            AreaMode::Yosys => {
                let cache = self.synth.as_ref().ok_or(EvalError::NoSynthCache)?;
                let r = cache
                    .synth_network(&plan.network, point.fpga)
                    .map_err(|e| EvalError::Area(Box::new(e)))?;
                (
                    Vec::new(),
                    AreaSource::Yosys,
                    [r.luts, r.ffs, r.carries, r.dsps, r.bram_bits],
                )
            }
        };
        Ok(Outcome::Done(Metrics {
            accuracy: q.accuracy,
            weight_memory_bits: plan.net.weight_bits(),
            cycles_per_image,
            throughput_images_per_s: CLOCK_MHZ * 1e6 / cycles_per_image as f64,
            clock_mhz: CLOCK_MHZ,
            luts: total[0],
            ffs: total[1],
            carries: total[2],
            dsps: total[3],
            bram_bits: total[4],
            area_source: source,
            layers,
        }))
    }
}

/// The sweep's folding target as a plan's.
pub fn plan_folding(f: Folding) -> PlanFolding {
    match f {
        Folding::FullyParallel => PlanFolding::FullyParallel,
        Folding::FullyFolded => PlanFolding::FullyFolded,
        Folding::CyclesPerImage(n) => PlanFolding::CyclesPerImage(n),
        Folding::PeBudget(n) => PlanFolding::PeBudget(n),
    }
}

/// Everything but folding and FPGA family: the points that share a quantized network.
fn quant_key(p: &PointConfig) -> String {
    format!("{};{};{}", training_key(p), p.scale_bits, p.accumulator)
}

/// Everything training depends on: the points that share a QAT-trained model. Training does
/// not see the multiplier width or the accumulator (its forward divides by the real scale
/// ratio and never overflows); the export for each point applies them. It does see the bias
/// width (narrow biases are fake-quantized as they are exported).
fn training_key(p: &PointConfig) -> String {
    format!(
        "{};{};{};{};{};{};{:?}",
        p.weight_scheme.name(),
        p.weight_bits,
        p.activation_bits,
        p.overrides_text(),
        p.calibration.name(),
        p.training,
        p.bias_bits
    )
}

fn clipping(c: Calibration) -> Clipping {
    match c {
        Calibration::Minmax => Clipping::MinMax,
        Calibration::Percentile => Clipping::Percentile { percentile: 99.99 },
        Calibration::Mse => Clipping::MseOptimal {
            steps: 100,
            low_fraction: 0.1,
        },
    }
}

/// The weight quantizer of a family at a width, per output channel: the code is
/// [`WeightCode::at_width`] (which rejects the widths a family cannot have, e.g. APoT 6 and 8),
/// quantized as follows.
///
/// Uniform: signed, narrow, symmetric, free scales. PoT: linear-domain projection, exponents
/// from the clipping threshold. APoT: Li et al. 2020 levels, α from calibration. Binary: ±1;
/// ternary: TWN.
pub fn weight_quantizer(
    family: WeightFamily,
    bits: u32,
    calibration: Calibration,
) -> std::result::Result<TensorQuantizer, SkipReason> {
    let code = WeightCode::at_width(family, bits).map_err(SkipReason::Code)?;
    let scheme = match code {
        WeightCode::Uniform { bits } => Scheme::Uniform(UniformConfig {
            bits,
            signed: true,
            narrow: true,
            symmetric: true,
            rounding: RoundingMode::HalfEven,
            scale_constraint: ScaleConstraint::Float,
        }),
        WeightCode::Pot(format) => Scheme::Pot(PotConfig {
            format,
            domain: PotDomain::Linear,
            exponents: ExponentRange::FromThreshold,
            alpha: 1.0,
        }),
        WeightCode::Apot(f) => Scheme::Apot(
            ApotConfig::new(f.term_bits, f.terms(), f.signed, None)
                .map_err(|error| SkipReason::ApotFormat { bits, error })?,
        ),
        WeightCode::Binary => Scheme::Binary,
        WeightCode::Ternary => Scheme::Ternary(TernaryConfig::TWN),
    };
    Ok(TensorQuantizer {
        scheme,
        granularity: Granularity::PerChannel { axis: 0 },
        clipping: clipping(calibration),
    })
}

/// The quantization spec of a point for a network of `layers` layers with weights (dense and
/// convolution layers; overrides count them from 0, pooling not counted).
///
/// `activation_bits` is the width of every layer's input codes: the network input (layer 0)
/// and each hidden layer's output. A layer override's `activation_bits` sets its layer's input
/// width (layer 0: the network input; layer k: layer k − 1's output codes), its `weight_bits`
/// that layer's weight width in the point's scheme. Activation ranges are calibrated with the
/// point's method; requantization rounds half to even with a `scale_bits`-bit multiplier.
pub fn quant_spec(p: &PointConfig, layers: usize) -> std::result::Result<QuantSpec, SkipReason> {
    if let Some(o) = p.layer_overrides.iter().find(|o| o.layer >= layers) {
        return Err(SkipReason::OverrideLayer {
            layer: o.layer,
            layers,
        });
    }
    let act = |bits: u32| ActSpec {
        bits,
        bipolar: false,
        clipping: clipping(p.calibration),
        power_of_two: false,
    };
    let input_bits = |k: usize| {
        p.layer_overrides
            .iter()
            .find(|o| o.layer == k)
            .and_then(|o| o.activation_bits)
            .unwrap_or(p.activation_bits)
    };
    let mut overrides = Vec::new();
    for k in 0..layers {
        let w = p
            .layer_overrides
            .iter()
            .find(|o| o.layer == k)
            .and_then(|o| o.weight_bits);
        let weights = match w {
            Some(bits) => Some(weight_quantizer(p.weight_scheme, bits, p.calibration)?),
            None => None,
        };
        // Layer k's output codes are layer k + 1's input.
        let out_bits = input_bits(k + 1);
        let activations = (k + 1 < layers && out_bits != p.activation_bits).then(|| act(out_bits));
        if weights.is_some() || activations.is_some() {
            overrides.push(LayerOverride {
                index: k,
                weights,
                activations,
            });
        }
    }
    let accumulator = match p.accumulator {
        AccumulatorPolicy::Proven => AccPolicy::Proven,
        AccumulatorPolicy::Explicit { bits, overflow } => AccPolicy::Bits {
            bits,
            overflow: match overflow {
                Overflow::Wrap => AccOverflow::Wrap,
                Overflow::Sat => AccOverflow::Saturate,
            },
        },
    };
    Ok(QuantSpec {
        weights: weight_quantizer(p.weight_scheme, p.weight_bits, p.calibration)?,
        activations: act(p.activation_bits),
        input: ActSpec {
            bits: input_bits(0),
            bipolar: false,
            clipping: Clipping::MinMax,
            power_of_two: false,
        },
        layers: overrides,
        rounding: RoundingMode::HalfEven,
        scale_bits: p.scale_bits,
        bias_bits: p.bias_bits,
        accumulator,
        calibration_samples: CALIBRATION_SAMPLES,
        training: p
            .training
            .spec()
            .map_err(|(_, message)| SkipReason::Text(message))?,
    })
}
