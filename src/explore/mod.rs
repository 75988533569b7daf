//! Sweeps over number formats and bit widths, area models, Pareto fronts and plots.
//!
//! A sweep is data: a RON [sweep file](sweep_file) in; `results.csv`, `results.json` (JSON
//! Lines), `meta.json`, plots and `index.html` out, and `timing.json` with the measured figures
//! (the one file identical runs write differently). The pieces, one per file:
//!
//! - [`sweep_file`]: the sweep file format (axes, ranges, constraints) and its errors;
//! - [`grid`]: the Cartesian product, constraints, point ids and labels, shards;
//! - [`evaluator`]: the [`Evaluator`](evaluator::Evaluator) trait a sweep is generic over;
//! - [`evaluate`]: the real evaluator (quantize, accuracy, plan, cycle simulation, area), with
//!   [`pe_features`] (how PEs meet the fitted area model) and [`synth_cache`] (Yosys results
//!   cached by design hash);
//! - [`runner`]: parallel evaluation, streaming results, resume; [`merge`]: joining shards;
//! - [`results`]: rows, CSV and JSON Lines; [`meta`]: `meta.json` and `timing.json`;
//! - [`pareto`]: non-dominated fronts; [`plot`], [`png`], [`html`]: figures and the index page;
//! - [`fit`]: least squares; [`area_model`]: per-unit cost models, fitting, error reports and
//!   the FINN-R baseline;
//! - [`calibrate`]: Yosys runs over a grid of PEs, the fit and its error report (`qforge
//!   calibrate`);
//! - [`search`]: mixed precision, per-layer weight widths chosen under a budget by per-layer
//!   sensitivity and an exact knapsack (`qforge search`);
//! - [`wiring`]: where the command takes its evaluator from.
//!
//! ```
//! use qforge::explore::{grid::Grid, sweep_file::SweepFile};
//! let sweep = SweepFile::load("models/sweep_default.ron".as_ref()).unwrap();
//! let grid = Grid::new(&sweep, "models/sweep_default.ron").unwrap();
//! assert!(grid.points().len() > 10);
//! ```

pub mod area_model;
pub mod calibrate;
pub mod error;
pub mod evaluate;
pub mod evaluator;
pub mod fit;
pub mod grid;
pub mod html;
pub mod merge;
pub mod meta;
pub mod pareto;
pub mod pe_features;
pub mod plot;
pub mod png;
pub mod results;
pub mod runner;
pub mod search;
pub mod sweep_file;
pub mod synth_cache;
pub mod wiring;
