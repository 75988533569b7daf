//! Float networks: the layer IR, RON I/O, float inference, training and data sets.
//!
//! A [`Model`] is a name, the shape of one input sample and a chain of [`Layer`]s; shapes are checked when a
//! model is built or loaded. Images are CHW (batches NCHW); Dense weights are `[out][in]` row-major.
//!
//! # Model files (RON)
//! ```text
//! // `//` and `/* */` comments are allowed
//! Model(
//!   name: "tiny",
//!   input_shape: [2],                  // [features] or [channels, height, width]
//!   layers: [
//!     Dense(in_features: 2, out_features: 2, weights: [1.0, -1.0, 0.5, 0.25], bias: [0.0, 0.1]),
//!     Relu,
//!     // Conv2d(in_channels, out_channels, kernel_h, kernel_w, stride, padding, weights, bias)
//!     // MaxPool2d(kernel, stride), Flatten,
//!     // BatchNorm(gamma, beta, running_mean, running_var, eps)
//!   ],
//! )
//! ```
//! Floats are written in the shortest form that reads back to the same `f32`, so a save/load round trip is
//! exact. Load errors read `file:line:col: message`, for syntax errors, unknown layer kinds, missing fields
//! and shape mismatches alike (the last point at the offending layer).
//!
//! # Example
//! ```
//! use qforge::nn::Model;
//! let text = r#"Model(name: "tiny", input_shape: [2], layers: [
//!     Dense(in_features: 2, out_features: 2, weights: [1.0, -1.0, 0.5, 0.25], bias: [0.0, 0.1]),
//!     Relu,
//! ])"#;
//! let model = Model::from_ron_str(text, "tiny.ron").unwrap();
//! // Two samples: [1, 2] -> relu([1 - 2, 0.5 + 0.5 + 0.1]); [2, 0] -> relu([2, 1.1]).
//! let out = model.forward(&[1.0, 2.0, 2.0, 0.0]).unwrap();
//! assert_eq!(out, vec![0.0, 1.1, 2.0, 1.1]);
//! assert_eq!(model.accuracy(&[1.0, 2.0, 2.0, 0.0], &[1, 0]).unwrap(), 1.0);
//!
//! let bad = text.replace("in_features: 2,", "in_features: 3,");
//! let err = Model::from_ron_str(&bad, "tiny.ron").unwrap_err().to_string();
//! assert!(err.starts_with("tiny.ron:2:5: layer 0 (Dense)"), "{err}");
//! ```

pub mod arch;
pub mod data;
pub mod infer;
pub mod layer;
pub mod model;
pub mod rng;
pub mod train;

pub use arch::{Architecture, LayerSpec};
pub use data::Dataset;
pub use infer::{accuracy, argmax};
pub use layer::{fold_batchnorm, Layer, LayerError};
pub use model::Model;
pub use rng::SplitMix64;
pub use train::{train, EpochReport, Optimizer, TrainConfig};

/// Errors of the float-network module.
#[derive(Debug, thiserror::Error)]
pub enum NnError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A model file is malformed or describes an invalid network.
    #[error("{origin}:{line}:{col}: {message}")]
    Syntax {
        /// File name (or another label for the text).
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What is wrong.
        message: String,
    },
    /// A layer does not fit its input or its own parameters.
    #[error("layer {index} ({kind}): {message}")]
    Layer {
        /// 0-based layer index.
        index: usize,
        /// Layer kind.
        kind: &'static str,
        /// What is wrong, naming both shapes for a mismatch.
        message: String,
    },
    /// A layer does not fit its input or its own parameters (the typed form of
    /// [`NnError::Layer`], same text).
    #[error("layer {index} ({kind}): {error}")]
    Shape {
        /// 0-based layer index.
        index: usize,
        /// Layer kind.
        kind: &'static str,
        /// What is wrong.
        error: LayerError,
    },
    /// A parameter value that is NaN or infinite.
    #[error("layer {index} ({kind}): {param}[{at}] ({value}) must be finite")]
    NonFinite {
        /// 0-based layer index.
        index: usize,
        /// Layer kind.
        kind: &'static str,
        /// The parameter (`weights`, `bias`, `gamma`, ...).
        param: &'static str,
        /// The value's index in it.
        at: usize,
        /// The value.
        value: f32,
    },
    /// A data file is malformed (`path` may carry `:line`).
    #[error("{path}: {message}")]
    Data {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Inputs handed to inference or training do not fit the model.
    #[error("{0}")]
    Input(String),
    /// Training or serialization failed.
    #[error("{0}")]
    Train(String),
}
