//! What evaluating a sweep point means: the [`Evaluator`] trait and the result it returns.
//!
//! The sweep machinery is generic over the evaluator. An evaluator quantizes the model for a
//! point, measures its accuracy, plans the accelerator, runs its cycle model and costs it (area
//! model or Yosys); it returns [`Outcome::Done`] with the [`Metrics`], or [`Outcome::Skipped`]
//! with a reason when the point cannot be built (a folding target no plan reaches, an accumulator
//! narrower than a product, a scheme a target cannot map). An `Err` is a failure of the machinery
//! itself (a tool crashed, a disk filled): it stops the sweep, keeping every row written so far,
//! and `--resume` continues from there.
//!
//! ```
//! use qforge::explore::evaluator::{AreaSource, Evaluator, Metrics, Outcome};
//! use qforge::explore::grid::PointConfig;
//!
//! /// A synthetic evaluator, for illustration only: its numbers are made up.
//! struct SyntheticEvaluator;
//! impl Evaluator for SyntheticEvaluator {
//!     fn tool_versions(&self) -> Vec<(String, String)> { vec![("synthetic".into(), "0".into())] }
//!     fn evaluate(&self, p: &PointConfig) -> Result<Outcome, String> {
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

use crate::explore::grid::PointConfig;
use serde::{Deserialize, Serialize};

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

/// The result of evaluating one point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The point was built and measured.
    Done(Metrics),
    /// The point cannot be built; the reason says why (one line).
    Skipped(String),
}

/// Evaluates sweep points. Called from several threads at once.
pub trait Evaluator: Sync {
    /// Name and version of every tool the evaluator uses (e.g. `("yosys", "0.23")`), recorded
    /// in `meta.json`.
    fn tool_versions(&self) -> Vec<(String, String)>;

    /// Evaluates one point. `Ok(Outcome::Skipped)` for impossible points; `Err(message)` only
    /// when the machinery fails, which stops the sweep.
    fn evaluate(&self, point: &PointConfig) -> Result<Outcome, String>;
}
