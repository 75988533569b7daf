//! Hardware units of the accelerator. Each unit lives in one file holding its configuration,
//! its cycle-level behaviour model, its Verilog and its cost estimate.
