//! What evaluating a sweep point means: the [`Evaluator`] trait and the result it returns.
//!
//! The sweep machinery is generic over the evaluator. An evaluator quantizes the model for a
//! point, measures its accuracy, plans the accelerator, runs its cycle model and costs it (area
//! model or Yosys); it returns [`Outcome::Done`] with the [`Metrics`], or [`Outcome::Skipped`]
//! with a [`SkipReason`] when the point cannot be built (a folding target no plan reaches, an
//! accumulator narrower than a product, a scheme a target cannot map). An `Err` ([`EvalError`])
//! is a failure of the machinery itself (a tool crashed, a disk filled): it stops the sweep,
//! keeping every row written so far, and `--resume` continues from there.
//!
//! ```
//! use qforge::explore::error::EvalError;
//! use qforge::explore::evaluator::{AreaSource, Evaluator, Metrics, Outcome};
//! use qforge::explore::grid::PointConfig;
//!
//! /// A synthetic evaluator, for illustration only: its numbers are made up.
//! struct SyntheticEvaluator;
//! impl Evaluator for SyntheticEvaluator {
//!     fn tool_versions(&self) -> Vec<(String, String)> { vec![("synthetic".into(), "0".into())] }
//!     fn evaluate(&self, p: &PointConfig) -> Result<Outcome, EvalError> {
//!         if p.weight_bits > p.activation_bits {
//!             return Ok(Outcome::Skipped("weights wider than activations".into()));
//!         }
//!         Ok(Outcome::Done(Metrics {
//!             accuracy: 0.9, weight_memory_bits: 1000, cycles_per_image: 10,
//!             throughput_images_per_s: 1e7, clock_mhz: 100.0, luts: 100, ffs: 50, carries: 10, dsps: 0,
//!             bram_bits: 0, area_source: AreaSource::Model, layers: vec![],
//!         }))
//!     }
//! }
//! ```

use crate::accel::plan::PlanError;
use crate::explore::error::EvalError;
use crate::explore::grid::PointConfig;
use crate::num::codes::CodeError;
use crate::qat::QatError;
use crate::qnn::QnnError;
use crate::quant::error::QuantError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::Arc;

/// Where a row's area figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaSource {
    /// The analytic per-unit cost model (fitted coefficients).
    Model,
    /// A Yosys synthesis run.
    Yosys,
}

impl AreaSource {
    /// The name used in CSV.
    pub fn name(self) -> &'static str {
        match self {
            AreaSource::Model => "model",
            AreaSource::Yosys => "yosys",
        }
    }

    /// Parses [`AreaSource::name`].
    pub fn from_name(name: &str) -> Option<AreaSource> {
        match name {
            "model" => Some(AreaSource::Model),
            "yosys" => Some(AreaSource::Yosys),
            _ => None,
        }
    }
}

/// The area of one layer (its MVU and the units around it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerArea {
    /// Layer name, e.g. `fc0` (a `;` is written as `_` in the CSV, where it separates layers).
    pub name: String,
    /// LUTs.
    pub luts: u64,
    /// Flip-flops.
    pub ffs: u64,
    /// Carry cells.
    pub carries: u64,
    /// DSP blocks.
    pub dsps: u64,
    /// Block-RAM bits.
    pub bram_bits: u64,
}

/// The measured figures of one evaluated point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Top-1 accuracy of the integer network on the test split, 0..=1.
    pub accuracy: f64,
    /// Bits of weight memory (all layers).
    pub weight_memory_bits: u64,
    /// Cycles per image in steady state, from the cycle model.
    pub cycles_per_image: u64,
    /// Images per second at the design's clock.
    pub throughput_images_per_s: f64,
    /// The clock the throughput assumes, in MHz.
    pub clock_mhz: f64,
    /// LUTs (the target's LUT kind: LUT4 on iCE40/ECP5, LUT6 on Xilinx).
    pub luts: u64,
    /// Flip-flops.
    pub ffs: u64,
    /// Carry cells (SB_CARRY, CARRY4 bits, CCU2 halves).
    pub carries: u64,
    /// DSP blocks.
    pub dsps: u64,
    /// Block-RAM bits used.
    pub bram_bits: u64,
    /// Where the area figures come from.
    pub area_source: AreaSource,
    /// Per-layer area breakdown; empty when the evaluator does not break area down.
    pub layers: Vec<LayerArea>,
}

/// Why a point cannot be built.
///
/// Its text (`Display`, one line) is what `results.csv` and `results.json` record; a reason read
/// back from those files is [`SkipReason::Text`]. Two reasons are equal when their texts are, so a
/// resumed row equals the one a fresh run writes. The errors it holds are shared (`Arc`): the
/// points that share a quantized network share its reason too.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SkipReason {
    /// The weight family has no code of the point's width (e.g. APoT 6 or 8 bits, whose
    /// magnitude bits do not split into equal terms).
    #[error("{0}")]
    Code(CodeError),
    /// The APoT quantizer rejects the width's split.
    #[error("apot {bits}-bit weights: {error}")]
    ApotFormat {
        /// The weight width.
        bits: u32,
        /// The quantizer's error.
        error: QuantError,
    },
    /// A layer override for a layer the model does not have: overrides count the layers with
    /// weights (dense and convolution layers), from 0.
    #[error("layer override for layer {layer} but the model has {layers} layers with weights (dense or conv)")]
    OverrideLayer {
        /// The override's layer.
        layer: usize,
        /// The model's layers with weights.
        layers: usize,
    },
    /// The quantizer rejects the point's spec.
    #[error("quantizer: {0}")]
    Quantizer(Arc<QnnError>),
    /// Quantization-aware training rejects the model or the point's spec (e.g. a layer kind it
    /// does not train).
    #[error("quantization-aware training: {0}")]
    Training(Arc<QatError>),
    /// The golden engine cannot run the quantized network.
    #[error("golden engine: {0}")]
    Engine(Arc<QnnError>),
    /// The planner rejects the network for the point's folding target: a PE or SIMD count that
    /// does not divide, an accumulator narrower than one lane's product, a weight scheme without
    /// a PE kind for the activations, ... (each a [`PlanError`] with its values).
    #[error("plan: {0}")]
    Plan(Arc<PlanError>),
    /// A reason known only by its text: read back from a results file, or given by an
    /// evaluator that has nothing more to say.
    #[error("{0}")]
    Text(String),
}

impl PartialEq for SkipReason {
    fn eq(&self, other: &SkipReason) -> bool {
        self.to_string() == other.to_string()
    }
}

impl From<&str> for SkipReason {
    fn from(text: &str) -> SkipReason {
        SkipReason::Text(text.to_string())
    }
}

impl From<String> for SkipReason {
    fn from(text: String) -> SkipReason {
        SkipReason::Text(text)
    }
}

impl From<PlanError> for SkipReason {
    fn from(e: PlanError) -> SkipReason {
        SkipReason::Plan(Arc::new(e))
    }
}

impl Serialize for SkipReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SkipReason {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SkipReason, D::Error> {
        String::deserialize(deserializer).map(SkipReason::Text)
    }
}

/// The result of evaluating one point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The point was built and measured.
    Done(Metrics),
    /// The point cannot be built; the reason says why (one line).
    Skipped(SkipReason),
}

/// Evaluates sweep points. Called from several threads at once.
pub trait Evaluator: Sync {
    /// Name and version of every tool the evaluator uses (e.g. `("yosys", "0.23")`), recorded
    /// in `meta.json`.
    fn tool_versions(&self) -> Vec<(String, String)>;

    /// Evaluates one point. `Ok(Outcome::Skipped)` for impossible points; `Err` only when the
    /// machinery fails, which stops the sweep.
    fn evaluate(&self, point: &PointConfig) -> Result<Outcome, EvalError>;
}
