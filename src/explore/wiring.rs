//! The one place where `qforge sweep` gets its evaluator.
//!
//! The evaluator of a real sweep quantizes the sweep's model ([`crate::quant`], [`crate::qnn`]),
//! measures its integer accuracy, plans and folds the accelerator ([`crate::accel`]), counts its
//! cycles and costs its units (area model, or Yosys through [`crate::verify`]). Until those parts
//! exist this function returns [`ExploreError::NoEvaluator`], so the command never presents
//! made-up figures as results; everything else of `qforge sweep` (grid listing, merge, plot)
//! works, and the runner is tested with synthetic evaluators.

use crate::explore::error::{ExploreError, Result};
use crate::explore::evaluator::Evaluator;
use crate::explore::sweep_file::SweepFile;
use std::path::Path;

/// The evaluator for a sweep file at `sweep_path` (its `model` is relative to the file's folder).
pub fn evaluator_for_sweep(sweep: &SweepFile, sweep_path: &Path) -> Result<Box<dyn Evaluator>> {
    let model = sweep_path
        .parent()
        .unwrap_or_else(|| Path::new(""))
        .join(&sweep.model);
    Err(ExploreError::NoEvaluator(format!(
        "cannot evaluate sweep `{}` (model {}): the point evaluator (integer accuracy, accelerator \
         plan and cycle model, cost model or Yosys) is not wired into qforge yet; \
         `qforge sweep FILE --list` shows the grid",
        sweep.name,
        model.display()
    )))
}
