//! Hardware units of the accelerator. Each unit lives in one file holding its configuration,
//! its cycle-level behaviour model, its Verilog and its cost estimate, behind the [`Unit`] trait.
//!
//! | file | unit |
//! |---|---|
//! | [`unit`] | the [`Unit`] and [`Model`] traits, [`Cost`] |
//! | [`pe`] | the processing element: lanes of one kind, adder tree, accumulator |
//! | [`lane`] | the [`Lane`](lane::Lane) trait: everything a PE asks of its weight kind |
//! | [`lanes`] | one file per weight kind implementing it, and the registry [`lanes::lane_of`] |
//! | [`pe_reference`] | the reference PE of a formal proof: multipliers and level tables |
//! | [`pe_array`] | PE rows × SIMD lanes sharing the activations |
//! | [`vectors`] | stimulus, expected outputs and the `qf_tb_dut` wrapper for co-simulation |
//! | [`stream`] | valid/ready streams: the typed model interface and shared helpers |
//! | [`memory`] | block-RAM memories: a ROM or a simple dual-port RAM, block counts per family |
//! | [`mvu`] | the matrix-vector unit: weight ROM, PE array, fold, requantization |
//! | [`fifo`] | the stream FIFO |
//! | [`width_converter`] | the stream width converter |
//! | [`frame_buffer`] | the frame buffer: sliding windows (im2col), max pooling, layout changes |
//! | [`combine`] | the ensemble combine unit: members' codes to one class, by vote or summed logits |
//! | [`network`] | the network top: a chain of MVUs, FIFOs, width converters and frame buffers |
//! | [`plan`] | architecture files and plans: folding, PE kinds, FIFO depths |
//! | [`sim`] | the cycle-exact simulator of a whole network |
//!
//! ```
//! use qforge::accel::{Overflow, PeParams, Unit};
//! use qforge::num::weights::WeightCode;
//! let pe = PeParams::new(WeightCode::uniform(4).unwrap(), 8, true, 4, 20, Overflow::Wrap).unwrap();
//! let modules = pe.verilog().unwrap();
//! assert_eq!(modules.last().unwrap().name, "qf_pe_uniform_a8_w4_s4_acc20_wrap");
//! assert!(pe.cost().lut > 0);
//! ```
//!
//! # Adding a weight scheme
//!
//! A weight scheme is a code ([`WeightCode`](crate::num::weights::WeightCode), in `num`) and a
//! lane (here). Say the scheme is a sign-magnitude code `signmag(bits: B)`:
//!
//! 1. In `src/num/weights.rs`, add the variant `SignMag { bits: u32 }` to `WeightCode` and
//!    `SignMag` to `WeightFamily`, with the code's limit in `check`, its `code_bits`, `level`,
//!    `level_range` and `encode`, and the family's name and sweep widths. The quantizers' code
//!    kinds, the integer network and its files then carry the code; the compiler points at the
//!    few places outside `accel` that choose something per family (how a sweep quantizes to
//!    it, its plot colour, `qforge hdl pe`'s flags, the fitted area model's kind name).
//! 2. Add one file, `src/accel/lanes/signmag.rs`, with a `SignMagLane { bits: u32 }` that
//!    implements [`Lane`](lane::Lane): its name part (`_m{B}`) and header parameters, its
//!    hardware `level`, its `datapath` (usually [`lane::per_lane`] with a closure building one
//!    lane's [`LaneTerm`](lane::LaneTerm) in the typed IR), its `luts` estimate and its
//!    narrowest accumulator.
//! 3. Register it in `src/accel/lanes/mod.rs`: `pub mod signmag;` and one line in [`lanes::lane_of`]:
//!
//! ```text
//! WeightCode::SignMag { bits } => Box::new(signmag::SignMagLane { bits: *bits }),
//! ```
//!
//! Nothing else in `accel` changes: the PE, the PE array, the MVU and the planner ask the lane.
//! `Lane` has no default methods, so the compiler lists whatever the new file still lacks. The
//! registry's test (`lanes::tests`) fails until a code of the new family joins its list, then
//! checks the lane's levels against the code's for every code; `tests/hardware/pe_hardware.rs` is where
//! the Verilator proof of the new PE goes.

pub mod combine;
pub mod fifo;
pub mod frame_buffer;
pub mod lane;
pub mod lanes;
pub mod memory;
pub mod mvu;
pub mod network;
pub mod pe;
pub mod pe_array;
pub mod pe_reference;
pub mod plan;
pub mod sim;
pub mod stream;
pub mod unit;
pub mod vectors;
pub mod width_converter;

pub use lane::Lane;
pub use pe::{Fault, Overflow, PeInputs, PeModel, PeParams};
pub use pe_array::{PeArrayModel, PeArrayParams};
pub use unit::{Cost, Model, Unit, UnitError};
