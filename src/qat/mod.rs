//! Quantization-aware training (QAT): a float model trained through fake quantization, so its
//! weights and clipping ranges adapt to the integer network it becomes.
//!
//! The forward pass quantizes with the code the integer network is built with (the weight
//! quantizers, bias rounding, activation scales and input coding of [`crate::qnn::quantize`]);
//! the backward pass uses the straight-through estimator and learns clipping thresholds with LSQ
//! or PACT ([`crate::quant::training`]). Training ends in [`QatNet::export`], the same
//! [`crate::qnn::quantize::quantize_at`] post-training quantization uses, so the result is a
//! [`crate::qnn::QNet`] like any other: `eval`, `hdl net`, `verify`, `synth` and `sweep` take it
//! unchanged. [`agreement`] measures how closely the fake-quantized forward pass and the integer
//! network agree (exactly, when every scale is a power of two).
//!
//! Supported: Dense and Conv2d layers with fused ReLU (batch norm folded in, flatten ignored),
//! a max pool after a convolution (before or after its ReLU, as post-training quantization
//! fuses them); uniform, PoT and APoT weights with learned or statistical clipping, binary
//! weights (hard-tanh STE) and ternary weights (statistical thresholds); per-layer overrides of
//! the spec. A convolution is the Dense computation over the im2col rows of its input (one row
//! per output pixel, [`gemm`]'s products), its input gradient added back by col2im; a max pool
//! takes the largest code of each window, so the integer network's pooling is reproduced
//! exactly, and its gradient goes to that code (the first of equal ones).
//!
//! ```
//! use qforge::nn::{data::digits, Architecture};
//! use qforge::qat::{agreement, train_qat, QatNet};
//! use qforge::qnn::quantize::QuantSpec;
//! let (train, test) = digits::train_test().unwrap();
//! let model = Architecture::mlp(&[64, 16, 10], &[64]).unwrap().build(&[64], 3).unwrap();
//! let spec = QuantSpec::load("models/quant_pot4_a4.ron".as_ref()).unwrap();
//! let calibration = &train.inputs[..64 * 256];
//! let mut net = QatNet::new(&model, &spec, calibration).unwrap();
//! train_qat(&mut net, &train, 2, 7, |_, _| Ok(())).unwrap();
//! let qnet = net.export(calibration).unwrap();
//! let a = agreement(&net, &qnet, &test).unwrap();
//! assert_eq!(a.same_codes, a.codes); // power-of-two scales: the same codes
//! ```

mod agree;
mod backward;
mod conv;
pub mod gemm;
mod net;
mod prune;
mod train;

pub use agree::{agreement, Agreement};
pub use net::QatNet;
pub use prune::LayerPruning;
pub use train::{train_qat, QatEpoch};

use crate::nn::NnError;
use crate::qnn::QnnError;

/// Why quantization-aware training cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum QatError {
    /// The model has a layer or structure training does not support.
    #[error("{0}")]
    Model(String),
    /// The quantization or training spec is not usable.
    #[error("{0}")]
    Spec(String),
    /// The data does not fit the model.
    #[error("{0}")]
    Data(String),
    /// From the float network.
    #[error(transparent)]
    Nn(#[from] NnError),
    /// From the integer network.
    #[error(transparent)]
    Qnn(#[from] QnnError),
}
