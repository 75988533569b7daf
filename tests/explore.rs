//! The exploration layer (`explore`): sweep files and grids, the runner, results, merging,
//! Pareto fronts, plots, the area model and its calibration, and real sweeps of the bundled
//! model.
//!
//! One test binary per layer of the architecture (see `tests/numbers.rs`); the files of this
//! layer are modules of it, under `tests/explore/`.

#[macro_use]
mod common;

#[path = "explore/explore_area_model.rs"]
mod explore_area_model;
#[path = "explore/explore_pareto.rs"]
mod explore_pareto;
#[path = "explore/explore_plot.rs"]
mod explore_plot;
#[path = "explore/explore_results.rs"]
mod explore_results;
#[path = "explore/explore_runner.rs"]
mod explore_runner;
#[path = "explore/explore_sweep_file.rs"]
mod explore_sweep_file;
#[path = "explore/search.rs"]
mod search;
#[path = "explore/sweep_qat.rs"]
mod sweep_qat;
#[path = "explore/sweep_real.rs"]
mod sweep_real;
