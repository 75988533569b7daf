//! The one place where `qforge sweep` gets its evaluator.
//!
//! A real sweep's evaluator ([`NetworkEvaluator`]) quantizes the sweep's model
//! ([`crate::quant`], [`crate::qnn`]), measures its integer accuracy, plans and folds the
//! accelerator ([`crate::accel`]), counts its cycles with the cycle-exact simulator and costs
//! its units (area model, or Yosys through [`crate::verify`]). The runner stays generic over
//! [`crate::explore::evaluator::Evaluator`], so its tests can use synthetic evaluators.

use crate::explore::error::Result;
use crate::explore::evaluate::{EvaluatorOptions, NetworkEvaluator};
use crate::explore::sweep_file::SweepFile;
use std::path::Path;

/// The evaluator for a sweep file at `sweep_path` (its `model` is relative to the file's folder).
pub fn evaluator_for_sweep(
    sweep: &SweepFile,
    sweep_path: &Path,
    options: EvaluatorOptions,
) -> Result<NetworkEvaluator> {
    NetworkEvaluator::new(sweep, sweep_path, options)
}
