//! Quantizers and calibration: uniform, power-of-two, APoT, binary and ternary; per tensor or per
//! channel; clipping by min–max, percentile or least mean-squared error; the QONNX `IntQuant`
//! operator; and the `intquant<…>`, `pot<…>`, `apot<…>` spellings of `qforge cast`.
//!
//! A quantizer maps a float tensor to integer codes and per-channel scales (and zero points) so
//! that `real ≈ (level(code) − zero_point) × scale` ([`tensor::QuantizedTensor`]). Decisions
//! (rounding, ties, projection boundaries) are made exactly on the dyadic rationals that `f64`
//! values are ([`crate::num::dyadic`]), so results do not depend on floating-point evaluation order.
//!
//! | file | concern |
//! |---|---|
//! | [`tensor`] | tensor views, granularity, the quantized result |
//! | [`quantizer`] | the common quantizer interface, [`quantizer::TensorQuantizer`] for RON specs |
//! | [`uniform`] | uniform integers, symmetric/asymmetric, power-of-two scales |
//! | [`pot`] | powers of two, linear or log2 projection |
//! | [`apot`] | additive powers of two (Li et al. 2020) |
//! | [`binary`] | binary (XNOR-Net) and ternary (TWN) |
//! | [`calibrate`] | clipping ranges |
//! | [`intquant`] | QONNX `IntQuant`, exact |
//! | [`spec`] | `qforge cast` spellings and exact casts |
//!
//! ```
//! use qforge::quant::calibrate::Clipping;
//! use qforge::quant::quantizer::quantize_tensor;
//! use qforge::quant::tensor::{Granularity, TensorRef};
//! use qforge::quant::uniform::UniformConfig;
//! let w = [-1.0f32, 0.5, 0.25, 0.75];
//! let q = UniformConfig::symmetric(3, true).unwrap(); // [-3, 3], scale 1/3
//! let t = quantize_tensor(&q, TensorRef::new(&w, &[4]).unwrap(), Granularity::PerTensor, Clipping::MinMax).unwrap();
//! assert_eq!(t.codes(), &[-3, 2, 1, 2]); // 0.5 / (1/3) = 1.5 ties to even
//! ```

pub mod apot;
pub mod binary;
pub mod calibrate;
pub mod error;
pub mod intquant;
pub mod pot;
pub mod quantizer;
pub mod spec;
pub mod tensor;
pub mod training;
pub mod uniform;

pub use error::QuantError;
