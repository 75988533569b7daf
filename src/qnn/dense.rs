//! The integer fully connected layer.

use super::accum::{certify, output_ranges, AccCertificate, Accumulator};
use super::error::{layer_err, QnnError};
use super::format::IntFormat;
use super::requant::Requant;
use crate::num::weights::WeightCode;
use serde::{Deserialize, Serialize};

/// What a layer emits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum LayerOutput {
    /// The raw accumulators (logits of the last layer), after the accumulator's own overflow.
    Accumulator,
    /// Requantized activation codes.
    Requant(Requant),
    /// Bipolar codes (the format [`IntFormat::BIPOLAR`]): the sign of the accumulator, bias
    /// included and after the accumulator's own overflow, `acc ≥ 0 → +1`, `acc < 0 → −1`.
    /// With positive scales the accumulator has the sign of the real pre-activation, so this
    /// is the real sign activation exactly, computed as an integer comparison; a tie (0) gives
    /// +1, as the sign quantizers of FINN and Brevitas do. In hardware, a threshold per channel.
    Sign(SignOutput),
}

/// The parameters of a sign output: only the real value the ±1 codes stand for.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignOutput {
    /// Real value of code +1 (code −1 is its negative); for reporting and the next layer's
    /// scales, never used in inference.
    pub output_scale: f64,
}

impl SignOutput {
    /// The ±1 code of an accumulator (bias included): +1 for `acc ≥ 0`, −1 below.
    pub fn apply(acc: i128) -> i64 {
        if acc >= 0 {
            1
        } else {
            -1
        }
    }
}

impl LayerOutput {
    /// The code of channel `c` for an accumulator value (bias included, overflow applied):
    /// itself, requantized, or its sign.
    pub fn apply(&self, acc: i128, c: usize) -> i128 {
        match self {
            LayerOutput::Accumulator => acc,
            LayerOutput::Requant(r) => i128::from(r.apply(acc, c)),
            LayerOutput::Sign(_) => i128::from(SignOutput::apply(acc)),
        }
    }

    /// The code format emitted, `None` for raw accumulators.
    pub fn format(&self) -> Option<IntFormat> {
        match self {
            LayerOutput::Accumulator => None,
            LayerOutput::Requant(r) => Some(r.output),
            LayerOutput::Sign(_) => Some(IntFormat::BIPOLAR),
        }
    }
}

/// The fields a [`Dense`] and a [`Conv2d`](super::conv::Conv2d) have in common: weight codes
/// of one scheme, and per output (channel) a bias, an accumulator scale and requantization.
pub(super) struct WeightTensor<'a> {
    pub weights: &'a WeightCode,
    pub codes: &'a [u64],
    pub bias: &'a [i64],
    pub accumulator: Accumulator,
    pub output: &'a LayerOutput,
    pub acc_scale: &'a [f64],
}

impl WeightTensor<'_> {
    /// Checks the weight scheme, the codes, the bias, the accumulator width, the scales and the
    /// requantization. `codes` is the expected number of codes and the words that say how it
    /// is counted (they precede the number in the message); `outputs` the number of outputs
    /// (channels) and its field name.
    pub fn check(
        &self,
        layer: usize,
        (n, count_words): (usize, &str),
        (outputs, outputs_name): (usize, &str),
    ) -> Result<(), QnnError> {
        let e = |m: String| layer_err(layer, m);
        self.weights.check().map_err(|c| e(c.to_string()))?;
        if self.codes.len() != n {
            return Err(e(format!(
                "codes has {} entries, expected {count_words}{n}",
                self.codes.len()
            )));
        }
        if let Some((k, c)) = self
            .codes
            .iter()
            .enumerate()
            .find(|(_, &c)| self.weights.level(c).is_none())
        {
            return Err(e(format!(
                "weight code {c} at index {k} is not a valid {}-bit {} code",
                self.weights.code_bits(),
                self.weights.name()
            )));
        }
        if self.bias.len() != outputs {
            return Err(e(format!(
                "bias has {} entries, expected {outputs_name} ({outputs})",
                self.bias.len()
            )));
        }
        if let Some(b) = self.accumulator.bits {
            if !(1..=127).contains(&b) {
                return Err(e(format!(
                    "accumulator bits ({b}) must be between 1 and 127"
                )));
            }
        }
        if self.acc_scale.len() != 1 && self.acc_scale.len() != outputs {
            return Err(e(format!(
                "acc_scale has {} entries, expected 1 or {outputs_name} ({outputs})",
                self.acc_scale.len()
            )));
        }
        match self.output {
            LayerOutput::Requant(r) => r.check(outputs).map_err(|error| QnnError::InLayer {
                layer,
                error: Box::new(error),
            })?,
            LayerOutput::Sign(s) if !(s.output_scale.is_finite() && s.output_scale > 0.0) => {
                return Err(e(format!(
                    "sign output_scale ({}) must be positive and finite",
                    s.output_scale
                )))
            }
            _ => {}
        }
        Ok(())
    }

    /// The integer levels of the codes, in their order. Invalid codes (rejected by
    /// [`WeightTensor::check`]) decode as 0.
    pub fn levels(&self) -> Vec<i64> {
        self.codes
            .iter()
            .map(|&c| self.weights.level(c).unwrap_or(0))
            .collect()
    }

    /// The accumulator certificate for `taps` inputs per output, each in `input`'s range.
    pub fn certificate(&self, layer: usize, taps: usize, input: IntFormat) -> AccCertificate {
        let ranges = output_ranges(&self.levels(), self.bias, taps, input.min(), input.max());
        certify(layer, &ranges, self.accumulator)
    }
}

/// A fully connected layer on integer codes: `acc_j = bias_j + Σ_i level(code_ji) · x_i`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dense {
    /// Number of inputs.
    pub in_features: usize,
    /// Number of outputs.
    pub out_features: usize,
    /// Encoding of `codes`.
    pub weights: WeightCode,
    /// Weight codes, `[out][in]` row-major (`out_features × in_features`).
    pub codes: Vec<u64>,
    /// Bias per output, in accumulator units (one LSB of the accumulator).
    pub bias: Vec<i64>,
    /// Accumulator width and overflow.
    #[serde(default)]
    pub accumulator: Accumulator,
    /// Raw accumulators or requantized codes.
    pub output: LayerOutput,
    /// Real value of one accumulator LSB (input scale × weight scale), per tensor (one entry)
    /// or per output channel. For reporting and dequantizing logits only.
    pub acc_scale: Vec<f64>,
}

impl Dense {
    fn tensor(&self) -> WeightTensor<'_> {
        WeightTensor {
            weights: &self.weights,
            codes: &self.codes,
            bias: &self.bias,
            accumulator: self.accumulator,
            output: &self.output,
            acc_scale: &self.acc_scale,
        }
    }

    /// Number of multiply-accumulates per sample.
    pub fn macs(&self) -> u64 {
        (self.in_features * self.out_features) as u64
    }

    /// Checks every rule (sizes, code validity, widths); `layer` is the index for messages.
    pub fn check(&self, layer: usize) -> Result<(), QnnError> {
        let e = |m: String| layer_err(layer, m);
        if self.in_features == 0 || self.out_features == 0 {
            return Err(e(format!(
                "in_features ({}) and out_features ({}) must be positive",
                self.in_features, self.out_features
            )));
        }
        // A file may hold any sizes: the weight count is bounded before it is used.
        let weights = self.in_features as u128 * self.out_features as u128;
        if weights > crate::qnn::conv::MAX_WEIGHTS as u128 {
            return Err(e(format!(
                "out_features × in_features ({weights}) must be at most {}",
                crate::qnn::conv::MAX_WEIGHTS
            )));
        }
        self.tensor().check(
            layer,
            (
                self.in_features * self.out_features,
                "out_features × in_features = ",
            ),
            (self.out_features, "out_features"),
        )
    }

    /// The integer levels of the weights, `[out][in]` row-major. Invalid codes (rejected by
    /// [`Dense::check`]) decode as 0.
    pub fn levels(&self) -> Vec<i64> {
        self.tensor().levels()
    }

    /// The accumulator certificate for inputs in `input`'s range.
    pub fn certificate(&self, layer: usize, input: IntFormat) -> AccCertificate {
        self.tensor().certificate(layer, self.in_features, input)
    }

    /// The code format this layer emits, or `None` for raw accumulators.
    pub fn output_format(&self) -> Option<IntFormat> {
        self.output.format()
    }

    /// Real value of one accumulator LSB of output `j`.
    pub fn acc_scale_of(&self, j: usize) -> f64 {
        if self.acc_scale.len() == 1 {
            self.acc_scale[0]
        } else {
            self.acc_scale[j]
        }
    }

    /// Weight memory in bits (code bits × weights).
    pub fn weight_bits(&self) -> u64 {
        u64::from(self.weights.code_bits()) * self.codes.len() as u64
    }
}
