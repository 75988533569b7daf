//! Sweeps over number formats and bit widths, area models, Pareto fronts and plots.
