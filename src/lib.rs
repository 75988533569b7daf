//! qforge: a co-design workbench for quantized neural-network accelerators.
//!
//! One description of a network and its hardware gives bit-exact integer inference, a cycle-exact
//! simulation of the accelerator, synthesizable Verilog, a Verilator proof that the two agree, and
//! bit-width sweeps. The modules are layered; each may import only those its row names, and the
//! three utilities at the top (`hash`, `outdir`, `position`), which import nothing of ours, serve
//! every module:
//!
//! | module    | purpose                                                      | may import            |
//! |-----------|--------------------------------------------------------------|-----------------------|
//! | [`hash`]  | stable FNV-1a hashing over explicit fields                   | –                     |
//! | [`outdir`]| output folders: marker, atomic replacement, stale temps      | –                     |
//! | [`position`]| positions of values in RON text (`file:line:col`)          | –                     |
//! | [`num`]   | exact number formats: fixed point, PoT/APoT/binary codes     | –                     |
//! | [`quant`] | quantizers and calibration                                   | num                   |
//! | [`nn`]    | float networks, RON I/O, training, data sets                 | –                     |
//! | [`qnn`]   | the integer network and its golden inference                 | num, quant, nn        |
//! | [`qat`]   | quantization-aware training into the integer network         | nn, quant, qnn        |
//! | [`hdl`]   | typed Verilog IR and its printer                             | num                   |
//! | [`accel`] | hardware units: config, cycle model, Verilog, cost           | num, hdl, qnn         |
//! | [`verify`]| test vectors, Verilator and Yosys drivers                    | hdl                   |
//! | [`flow`]  | whole-network design folders: plan, simulate, write, check   | accel, qnn, nn, verify |
//! | [`explore`]| sweeps, area models, Pareto fronts, plots                   | everything above      |
#![deny(missing_docs)]

pub mod accel;
pub mod explore;
pub mod flow;
pub mod hash;
pub mod hdl;
pub mod nn;
pub mod num;
pub mod onnx;
pub mod outdir;
pub mod position;
pub mod qat;
pub mod qnn;
pub mod quant;
pub mod verify;

/// The qforge version, written into every generated file's header.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
