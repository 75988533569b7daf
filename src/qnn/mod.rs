//! The integer network: golden bit-exact inference, requantization and accumulator bounds.
//!
//! A [`QNet`] is a sequence of integer layers. Each [`Dense`] layer stores its weights as codes of
//! a [`WeightCode`] (uniform, PoT, APoT, binary, ternary: exactly the codes the hardware
//! consumes), an integer bias in accumulator units, an [`Accumulator`] (width and wrap/saturate)
//! and either raw accumulators (logits) or a [`Requant`] to the next layer's codes. Inference is
//! integers only; the real-valued scales ride along for reporting. [`Engine`] runs batches fast;
//! [`exact`] is the step-by-step definition it must match.
//!
//! | file | concern |
//! |---|---|
//! | [`net`] | [`QNet`], [`Layer`], input quantization, validation, RON files |
//! | [`dense`], [`conv`] | integer Dense, Conv2d and MaxPool2d layers |
//! | [`fixed_dense`], [`hls4ml`] | hls4ml-style ap_fixed layers and their import from an hls4ml project |
//! | [`channels`] | structured pruning: output channels removed from a hidden layer |
//! | [`accum`] | accumulator width, overflow, proven bounds and certificates |
//! | [`requant`] | `clamp(round((acc · M) >> S))` |
//! | [`exact`], [`engine`], [`kernels`] | the step-by-step semantics and the fast engine |
//! | [`quantize`], [`eval`] | float model + spec → [`QNet`]; accuracy and throughput |
//! | [`ensemble`] | several networks combined by vote or summed logits, in integers |
//!
//! ```
//! use qforge::num::rounding::RoundingMode;
//! use qforge::qnn::{Accumulator, Dense, Engine, InputQuant, IntFormat, Layer, LayerOutput, QNet, WeightCode};
//! // y = 3·x0 − 2·x1 + 1 on 4-bit unsigned inputs with 3-bit weights
//! let dense = Dense {
//!     in_features: 2,
//!     out_features: 1,
//!     weights: WeightCode::Uniform { bits: 3 },
//!     codes: vec![0b011, 0b110], // 3, −2
//!     bias: vec![1],
//!     accumulator: Accumulator::default(),
//!     output: LayerOutput::Accumulator,
//!     acc_scale: vec![1.0],
//! };
//! let net = QNet {
//!     name: "tiny".into(),
//!     input: InputQuant { format: IntFormat::new(4, false).unwrap(), scale: 1.0, rounding: RoundingMode::HalfEven, fixed: None },
//!     layers: vec![Layer::Dense(dense)],
//! };
//! // bounds: 1 + 3·[0, 15] − 2·[0, 15] = [−29, 46] → 7 bits
//! assert_eq!(net.certificates()[0].proven_bits, 7);
//! let engine = Engine::new(&net).unwrap();
//! assert_eq!(engine.infer(&[15, 0, 0, 15, 4, 5]).unwrap(), vec![46, -29, 3]);
//! ```

pub mod accum;
pub mod channels;
pub mod conv;
pub mod dense;
pub mod engine;
pub mod ensemble;
pub mod error;
pub mod eval;
pub mod exact;
pub mod fixed_dense;
pub mod format;
pub mod hls4ml;
pub mod kernels;
pub mod net;
pub mod qonnx;
pub mod quantize;
pub mod requant;

pub use crate::num::weights::WeightCode;
pub use accum::{AccCertificate, AccOverflow, Accumulator};
pub use conv::{Conv2d, MaxPool2d};
pub use dense::{Dense, LayerOutput};
pub use engine::Engine;
pub use error::QnnError;
pub use fixed_dense::FixedDense;
pub use format::IntFormat;
pub use net::{InputQuant, Layer, QNet};
pub use requant::Requant;
