//! Hardware units of the accelerator. Each unit lives in one file holding its configuration,
//! its cycle-level behaviour model, its Verilog and its cost estimate, behind the [`Unit`] trait.
//!
//! | file | unit |
//! |---|---|
//! | [`unit`] | the [`Unit`] and [`Model`] traits, [`Cost`] |
//! | [`pe`] | the processing element: lanes of one kind, adder tree, accumulator |
//! | [`pe_uniform`], [`pe_pot`], [`pe_apot`], [`pe_binary`], [`pe_ternary`] | the lane datapath of each weight kind |
//! | [`pe_array`] | PE rows × SIMD lanes sharing the activations |
//! | [`vectors`] | stimulus, expected outputs and the `qf_tb_dut` wrapper for co-simulation |
//! | [`stream`] | valid/ready streams: the typed model interface and shared helpers |
//! | [`mvu`] | the matrix-vector unit: weight ROM, PE array, fold, requantization |
//! | [`fifo`] | the stream FIFO |
//! | [`width_converter`] | the stream width converter |
//! | [`frame_buffer`] | the frame buffer: sliding windows (im2col), max pooling, layout changes |
//! | [`network`] | the network top: a chain of MVUs, FIFOs, width converters and frame buffers |
//! | [`plan`] | architecture files and plans: folding, PE kinds, FIFO depths |
//! | [`sim`] | the cycle-exact simulator of a whole network |
//!
//! ```
//! use qforge::accel::{Overflow, PeKind, PeParams, Unit, UniformWeights};
//! let pe = PeParams::new(PeKind::Uniform(UniformWeights::new(4).unwrap()), 8, true, 4, 20, Overflow::Wrap).unwrap();
//! let modules = pe.verilog().unwrap();
//! assert_eq!(modules.last().unwrap().name, "qf_pe_uniform_a8_w4_s4_acc20_wrap");
//! assert!(pe.cost().lut > 0);
//! ```

pub mod fifo;
pub mod frame_buffer;
pub mod mvu;
pub mod network;
pub mod pe;
pub mod pe_apot;
pub mod pe_array;
pub mod pe_binary;
pub mod pe_pot;
pub mod pe_ternary;
pub mod pe_uniform;
pub mod plan;
pub mod sim;
pub mod stream;
pub mod unit;
pub mod vectors;
pub mod width_converter;

pub use pe::{Fault, Overflow, PeInputs, PeKind, PeModel, PeParams};
pub use pe_array::{PeArrayModel, PeArrayParams};
pub use pe_uniform::UniformWeights;
pub use unit::{Cost, Model, Unit, UnitError};
