//! Test vectors and drivers for the external tools: Verilator (lint, cycle-level replay) and
//! Yosys/nextpnr (synthesis figures; Fmax on a registered [`harness`] that needs four pins).
//!
//! The replay contract between the generators and this module is `sim/README.md`: a wrapper
//! `qf_tb_dut(clk, tb_in, tb_out)`, per-cycle `$readmemh` vector files written with
//! [`vectors::VectorSet`], a design-folder [`manifest::Manifest`], and the generic testbench
//! `testbenches/qf_replay_tb.sv`.
//!
//! ```no_run
//! use qforge::verify::{manifest::Manifest, verilator};
//! let dir = std::path::Path::new("out/pe");
//! let m = Manifest::load(dir)?;
//! let lint = verilator::lint(&m.design_sources(dir), &m.top)?;
//! let input = verilator::ReplayInput {
//!     sources: m.all_sources(dir),
//!     in_width: m.in_width,
//!     out_width: m.out_width,
//!     cycles: m.cycles,
//!     stimulus: dir.join(&m.stimulus),
//!     expected: dir.join(&m.expected),
//! };
//! let replay = verilator::replay(&input, &Default::default())?;
//! println!("{} warnings, {} mismatches", lint.warnings.len(), replay.mismatches);
//! # Ok::<(), qforge::verify::Error>(())
//! ```

mod error;
pub mod harness;
pub mod manifest;
pub mod nextpnr;
pub mod parts;
pub mod prove;
pub mod tools;
pub mod vectors;
pub mod verilator;
pub mod yosys;

pub use error::{Error, Result};
