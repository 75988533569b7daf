//! The error type shared by the quantizers and calibration.

use crate::num::codes::CodeError;

/// A quantizer parameter, tensor or code that breaks a rule.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum QuantError {
    /// A parameter is out of range, e.g. `bits (0) must be between 1 and 32`.
    #[error("{name} ({value}) {rule}")]
    BadParameter {
        /// The parameter's name.
        name: &'static str,
        /// Its value, as written.
        value: String,
        /// The rule it breaks.
        rule: String,
    },
    /// The shape does not describe the data.
    #[error("shape {shape:?} holds {expected} values but the data has {actual}")]
    ShapeMismatch {
        /// The shape given.
        shape: Vec<usize>,
        /// The number of values the shape describes, as text (the product may overflow `usize`).
        expected: String,
        /// The number of values given.
        actual: usize,
    },
    /// A per-channel axis that the tensor does not have.
    #[error("axis ({axis}) must be below the tensor rank ({rank})")]
    BadAxis {
        /// The axis asked for.
        axis: usize,
        /// The tensor's rank.
        rank: usize,
    },
    /// A NaN or infinite input value.
    #[error("value at index {index} ({value}) must be finite")]
    NonFinite {
        /// Its flat index.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A code that its encoding does not define.
    #[error("code ({code}) is not a valid {kind} code")]
    InvalidCode {
        /// The code.
        code: i64,
        /// The encoding's name.
        kind: &'static str,
    },
    /// Uniform weights that are unsigned or asymmetric: they have no two's complement weight
    /// code.
    #[error("uniform weights must be signed and symmetric (zero point 0)")]
    NoWeightCode,
    /// A format parameter rejected by the code encoding.
    #[error(transparent)]
    Code(#[from] CodeError),
}

/// Shorthand for [`QuantError::BadParameter`].
pub(crate) fn bad(
    name: &'static str,
    value: impl std::fmt::Display,
    rule: impl Into<String>,
) -> QuantError {
    QuantError::BadParameter {
        name,
        value: value.to_string(),
        rule: rule.into(),
    }
}
