//! The error type of the integer network.

use super::format::IntFormat;
use crate::num::codes::CodeError;
use crate::position::{Source, ValuePath};

/// Anything that makes an integer network invalid or unusable.
#[derive(Debug, thiserror::Error)]
pub enum QnnError {
    /// A layer parameter breaks a rule (sizes, widths, ranges).
    #[error("layer {layer}: {message}")]
    Layer {
        /// Index of the layer (0-based).
        layer: usize,
        /// What is wrong, naming the bad value and the rule.
        message: String,
    },
    /// A network-level parameter breaks a rule.
    #[error("{0}")]
    Net(String),
    /// A weight-code format is invalid.
    #[error(transparent)]
    Code(#[from] CodeError),
    /// An error of one layer (the layer's message names the value and the rule).
    #[error("layer {layer}: {error}")]
    InLayer {
        /// Index of the layer (0-based).
        layer: usize,
        /// What is wrong.
        error: Box<QnnError>,
    },
    /// An activation code format outside the supported widths (a signed format needs 2 bits).
    #[error(
        "activation bits ({bits}) must be between {} and {} for a {} format",
        if *.signed { 2 } else { 1 },
        IntFormat::MAX_BITS,
        if *.signed { "signed" } else { "unsigned" }
    )]
    ActivationBits {
        /// The width.
        bits: u32,
        /// The signedness.
        signed: bool,
    },
    /// A requantization multiplier width outside 1..=32.
    #[error("scale_bits ({bits}) must be between 1 and 32")]
    ScaleBits {
        /// The width.
        bits: u32,
    },
    /// A requantization parameter list neither per tensor nor per channel.
    #[error("{name} has {len} entries, expected 1 or out_features ({channels})")]
    RequantEntries {
        /// `multiplier` or `shift`.
        name: &'static str,
        /// Entries given.
        len: usize,
        /// The layer's outputs.
        channels: usize,
    },
    /// A requantization multiplier outside `0 .. 2^scale_bits`.
    #[error("multiplier ({multiplier}) must lie in 0..2^scale_bits ({limit})")]
    Multiplier {
        /// The multiplier.
        multiplier: i64,
        /// `2^scale_bits`.
        limit: i64,
    },
    /// A requantization shift outside −62..=126.
    #[error("shift ({shift}) must be between -62 and 126")]
    Shift {
        /// The shift.
        shift: i32,
    },
    /// An input batch does not match the network.
    #[error("input has {got} values, expected a multiple of {features} (in_features)")]
    InputShape {
        /// Number of values given.
        got: usize,
        /// The network's input feature count.
        features: usize,
    },
    /// An input code lies outside the network's input format.
    #[error("input code {value} at position {index} is outside [{min}, {max}]")]
    InputRange {
        /// The offending code.
        value: i64,
        /// Its position in the flat batch.
        index: usize,
        /// Smallest allowed code.
        min: i64,
        /// Largest allowed code.
        max: i64,
    },
    /// An integer-model file could not be read or parsed.
    #[error("{path}:{line}:{col}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// The parser's message.
        message: String,
    },
    /// An integer-model file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A model in another tool's format could not be imported.
    #[error("{path}: {message}")]
    Import {
        /// The file or folder.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A value of a quantization spec breaks a rule; `at` names the value, so that a caller
    /// holding the spec's file reports its position ([`QnnError::in_file`]).
    #[error("{error}")]
    Spec {
        /// The value, e.g. `layers[1].index`.
        at: ValuePath,
        /// What is wrong with it.
        error: Box<QnnError>,
    },
    /// A parsed file describes an invalid network; the position is that of the offending
    /// layer (or of the file's start for network-level problems).
    #[error("{path}:{line}:{col}: {source}")]
    Invalid {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What is wrong.
        source: Box<QnnError>,
    },
}

impl QnnError {
    /// The error placed in the file it is about: a [`QnnError::Spec`] error becomes
    /// [`QnnError::Invalid`] at the `file:line:col` of its value in `source`; any other error
    /// is returned as it is.
    pub fn in_file(self, source: &Source) -> QnnError {
        match self {
            QnnError::Spec { at, error } => {
                let (line, col) = source.position(&at);
                QnnError::Invalid {
                    path: source.name.clone(),
                    line,
                    col,
                    source: error,
                }
            }
            other => other,
        }
    }
}

/// Shorthand for a layer error.
pub(crate) fn layer_err(layer: usize, message: impl Into<String>) -> QnnError {
    QnnError::Layer {
        layer,
        message: message.into(),
    }
}
