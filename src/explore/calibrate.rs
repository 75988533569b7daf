//! Calibrating the area model: synthesize a grid of PEs with Yosys, fit the per-kind
//! coefficients, and compare the fit and the FINN-R baseline with the measurements.
//!
//! The grid ([`pe_grid`]) spans the PE kinds the planner builds (uniform multiplier, PoT shift,
//! APoT terms, ternary add/subtract) over activation widths, weight widths and SIMD lanes, with
//! unsigned activations and wrapping accumulators as in the MVUs. Each PE is synthesized through
//! the [`SynthCache`] (a repeat is free), in parallel on a rayon pool; its counts become an
//! [`AreaSample`] with the parameters of [`pe_unit`]. [`fit`] fits
//! [`pe_feature_sets`] by non-negative least squares ([`AreaModel::fit`]) and reports the
//! median and worst relative error per kind, for the fit and for FINN-R on the same samples.
//!
//! ```no_run
//! use qforge::explore::calibrate::{calibrate, pe_grid, GridSize};
//! use qforge::explore::sweep_file::FpgaTarget;
//! use qforge::explore::synth_cache::SynthCache;
//! let cache = SynthCache::open("target/qforge-synth-cache".as_ref())?;
//! let result = calibrate(&pe_grid(GridSize::Full)?, FpgaTarget::Ice40, &cache, 2)?;
//! println!("{}\n{}", result.model_report, result.finn_r_report);
//! # Ok::<(), qforge::explore::error::ExploreError>(())
//! ```

use crate::accel::{Overflow, PeParams, Unit};
use crate::explore::area_model::{
    error_report, finn_r_luts, finn_r_params, finn_r_report, model_report, AreaModel, AreaSample,
    ErrorReport, Resource, UnitCost, FINN_R_C0,
};
use crate::explore::error::{ExploreError, Result};
use crate::explore::pe_features::{pe_feature_sets, pe_unit};
use crate::explore::sweep_file::FpgaTarget;
use crate::explore::synth_cache::{yosys_target, SynthCache};
use crate::num::weights::WeightCode;
use rayon::prelude::*;

/// How many designs the calibration grid holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GridSize {
    /// Every kind over activation widths {4, 8}, weight widths, SIMD {1, 2, 4} (ternary also 8):
    /// 62 PEs.
    ///
    Full,
    /// Four uniform PEs, as many as the uniform kind has coefficients (fast; for tests).
    Tiny,
}

/// One design of the grid: a PE configuration.
pub type Design = PeParams;

fn pe(kind: WeightCode, a_bits: u32, simd: u32, extra_acc: u32) -> Result<PeParams> {
    let bad = |e: crate::accel::UnitError| ExploreError::Fit(format!("calibration grid: {e}"));
    // The narrowest accumulator this PE accepts, found from the PE's own rule.
    let probe =
        PeParams::new(kind.clone(), a_bits, false, simd, 64, Overflow::Wrap).map_err(bad)?;
    let acc = (probe.min_acc_bits() + extra_acc).min(64);
    PeParams::new(kind, a_bits, false, simd, acc, Overflow::Wrap).map_err(bad)
}

/// The calibration designs. Accumulators are the narrowest a PE accepts plus 4 or 10 bits
/// (alternating through the grid), the headroom range proven accumulators of small layers have.
pub fn pe_grid(size: GridSize) -> Result<Vec<Design>> {
    let mut out = Vec::new();
    let mut extra = {
        let mut i = 0u32;
        move || {
            i += 1;
            if i.is_multiple_of(2) {
                10
            } else {
                4
            }
        }
    };
    let grid_err =
        |e: crate::num::codes::CodeError| ExploreError::Fit(format!("calibration grid: {e}"));
    let uniform = |w: u32| WeightCode::uniform(w).map_err(grid_err);
    let pot = |e: u32| WeightCode::pot(e, true, true).map_err(grid_err);
    match size {
        GridSize::Tiny => {
            for (a, w, simd) in [(4, 2, 1), (8, 4, 1), (8, 8, 2), (4, 4, 4)] {
                out.push(pe(uniform(w)?, a, simd, extra())?);
            }
        }
        GridSize::Full => {
            for a in [4, 8] {
                for simd in [1, 2, 4] {
                    for w in [2, 4, 8] {
                        out.push(pe(uniform(w)?, a, simd, extra())?);
                    }
                    for e in [1, 2, 3] {
                        out.push(pe(pot(e)?, a, simd, extra())?);
                    }
                    for (terms, term_bits) in [(2, 1), (3, 1), (2, 2)] {
                        let f = WeightCode::apot(term_bits, terms, true).map_err(grid_err)?;
                        out.push(pe(f, a, simd, extra())?);
                    }
                }
                for simd in [1, 2, 4, 8] {
                    out.push(pe(WeightCode::Ternary, a, simd, extra())?);
                }
            }
        }
    }
    Ok(out)
}

/// Synthesizes each design (in parallel, `jobs` at a time, through the cache) and returns one
/// sample per design, in grid order.
pub fn measure(
    designs: &[Design],
    fpga: FpgaTarget,
    cache: &SynthCache,
    jobs: usize,
) -> Result<Vec<AreaSample>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| ExploreError::Fit(format!("cannot start {jobs} worker threads: {e}")))?;
    pool.install(|| {
        designs
            .par_iter()
            .map(|d| {
                let (kind, params) = pe_unit(d).ok_or_else(|| {
                    ExploreError::Fit(format!("{} has no area-model kind", d.name()))
                })?;
                let modules = d.verilog().map_err(|e| {
                    ExploreError::Fit(format!("{}: verilog generation: {e}", d.name()))
                })?;
                let r = cache.synth_modules(&modules, &d.name(), fpga)?;
                Ok(AreaSample {
                    kind,
                    params,
                    luts: r.luts as f64,
                    ffs: r.ffs as f64,
                    carries: r.carries as f64,
                    dsps: r.dsps as f64,
                })
            })
            .collect()
    })
}

/// A fitted model with its error reports.
#[derive(Debug, Clone)]
pub struct Calibration {
    /// The fitted coefficients (the file `qforge calibrate` writes), measurements included.
    pub model: AreaModel,
    /// The fitted model against the measurements (LUTs, FFs, carries).
    pub model_report: ErrorReport,
    /// FINN-R against the same measurements (LUTs).
    pub finn_r_report: ErrorReport,
    /// FINN-R without its per-MVU constant c0 (its per-PE terms only), a fairer baseline for
    /// single PEs, against the same measurements (LUTs).
    pub finn_r_pe_report: ErrorReport,
}

/// FINN-R's per-PE terms only (`c1 · P · (...)`, without the per-MVU overhead c0).
pub fn finn_r_pe_report(samples: &[AreaSample]) -> Result<ErrorReport> {
    error_report(
        "FINN-R per-PE terms (c0 omitted)",
        samples,
        &[Resource::Luts],
        |s| {
            Ok(UnitCost {
                luts: finn_r_luts(finn_r_params(s)?) - FINN_R_C0,
                ffs: 0.0,
                carries: 0.0,
                dsps: 0.0,
            })
        },
    )
}

/// Fits the PE feature sets to samples and reports the errors.
pub fn fit(samples: &[AreaSample], source: &str) -> Result<Calibration> {
    let model = AreaModel::fit(&pe_feature_sets(), samples, source)?;
    let model_report = model_report(&model, samples)?;
    let finn_r_report = finn_r_report(samples)?;
    let finn_r_pe_report = finn_r_pe_report(samples)?;
    Ok(Calibration {
        model,
        model_report,
        finn_r_report,
        finn_r_pe_report,
    })
}

/// The source line of a coefficients file: tool, version and flow.
pub fn source_line(cache: &SynthCache, fpga: FpgaTarget) -> String {
    let flow = match yosys_target(fpga) {
        crate::verify::yosys::Target::Ice40 => "synth_ice40",
        crate::verify::yosys::Target::Xilinx => "synth_xilinx",
        crate::verify::yosys::Target::Ecp5 => "synth_ecp5",
    };
    format!(
        "{} {flow}, PEs with unsigned activations and wrapping accumulators",
        cache.yosys_version()
    )
}

/// Measures `designs` for `fpga` and fits them.
pub fn calibrate(
    designs: &[Design],
    fpga: FpgaTarget,
    cache: &SynthCache,
    jobs: usize,
) -> Result<Calibration> {
    let samples = measure(designs, fpga, cache, jobs)?;
    fit(&samples, &source_line(cache, fpga))
}
