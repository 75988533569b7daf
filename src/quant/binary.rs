//! Binary and ternary weights.
//!
//! * Binary, after XNOR-Net (Rastegari, Ordonez, Redmon and Farhadi, "XNOR-Net: ImageNet
//!   Classification Using Binary Convolutional Neural Networks", ECCV 2016): `w ≈ α·sign(w)` with
//!   `α = mean |w|` over the tensor or channel, the least-squares optimal scale for a fixed sign
//!   pattern. `sign(0)` is taken as +1. Codes follow [`binary_level`]: 1 is +1, 0 is −1.
//! * Ternary, after Ternary Weight Networks (Li, Zhang and Liu, "Ternary Weight Networks",
//!   arXiv:1605.04711, 2016): threshold `Δ = 0.7 · mean |w|` (the paper's approximation of the
//!   optimal threshold; the factor is configurable), `t = +1` if `w > Δ`, `−1` if `w < −Δ`, else
//!   0, and scale `α = mean of |w| over {|w| > Δ}`. Codes follow [`ternary_level`]: `01` = +1,
//!   `11` = −1, `00` = 0.
//!
//! A channel of zeros (mean |w| = 0, or no weight above Δ) gets scale 1.
//!
//! ```
//! use qforge::quant::binary::{ternarize, TernaryConfig};
//! use qforge::quant::tensor::{Granularity, TensorRef};
//! let w = [1.0, -0.125, 0.25, -0.5];
//! let t = ternarize(&TernaryConfig::TWN, TensorRef::new(&w, &[4]).unwrap(), Granularity::PerTensor).unwrap();
//! // mean |w| = 0.46875, Δ ≈ 0.328: levels +1, 0, 0, −1; α = (1.0 + 0.5) / 2 = 0.75
//! assert_eq!(t.levels(), vec![1, 0, 0, -1]);
//! assert_eq!(t.channels()[0].scale, 0.75);
//! ```
//!
//! [`binary_level`]: crate::num::codes::binary_level
//! [`ternary_level`]: crate::num::codes::ternary_level

use super::error::{bad, QuantError};
use super::tensor::{ChannelParams, CodeKind, Granularity, QuantizedTensor, TensorRef};
use crate::num::weights::WeightCode;
use serde::{Deserialize, Serialize};

/// Ternary quantizer parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub struct TernaryConfig {
    /// `Δ = delta_factor · mean |w|`; TWN uses 0.7. In [0, 1].
    pub delta_factor: f64,
}

impl TernaryConfig {
    /// The TWN rule, `Δ = 0.7 · mean |w|`.
    pub const TWN: TernaryConfig = TernaryConfig { delta_factor: 0.7 };

    /// Validates and builds a ternary configuration.
    pub fn new(delta_factor: f64) -> Result<Self, QuantError> {
        let c = TernaryConfig { delta_factor };
        c.validate()?;
        Ok(c)
    }

    /// Checks the factor.
    pub fn validate(&self) -> Result<(), QuantError> {
        if (0.0..=1.0).contains(&self.delta_factor) {
            Ok(())
        } else {
            Err(bad("delta_factor", self.delta_factor, "must be in [0, 1]"))
        }
    }
}

fn mean_abs(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().map(|v| v.abs()).sum::<f64>() / values.len() as f64
    }
}

fn positive_or_one(scale: f64) -> f64 {
    if scale > 0.0 && scale.is_finite() {
        scale
    } else {
        1.0
    }
}

/// Binarizes a tensor: codes 1 (w ≥ 0) and 0 (w < 0), scale mean |w| per tensor or channel.
pub fn binarize<T: Copy + Into<f64>>(
    tensor: TensorRef<'_, T>,
    granularity: Granularity,
) -> Result<QuantizedTensor, QuantError> {
    let values = tensor.to_f64()?;
    let layout = granularity.layout(tensor.shape())?;
    let channels = layout
        .split(&values)
        .iter()
        .map(|c| ChannelParams {
            scale: positive_or_one(mean_abs(c)),
            zero_point: 0,
        })
        .collect();
    let codes = values.iter().map(|&w| i64::from(w >= 0.0)).collect();
    QuantizedTensor::new(
        tensor.shape().to_vec(),
        granularity,
        CodeKind::Weight(WeightCode::Binary),
        codes,
        channels,
    )
}

/// Ternarizes a tensor with the TWN threshold rule per tensor or channel.
pub fn ternarize<T: Copy + Into<f64>>(
    config: &TernaryConfig,
    tensor: TensorRef<'_, T>,
    granularity: Granularity,
) -> Result<QuantizedTensor, QuantError> {
    config.validate()?;
    let values = tensor.to_f64()?;
    let layout = granularity.layout(tensor.shape())?;
    let deltas: Vec<f64> = layout
        .split(&values)
        .iter()
        .map(|c| config.delta_factor * mean_abs(c))
        .collect();
    let channels = layout
        .split(&values)
        .iter()
        .zip(&deltas)
        .map(|(c, &delta)| {
            let above: Vec<f64> = c.iter().copied().filter(|w| w.abs() > delta).collect();
            ChannelParams {
                scale: positive_or_one(mean_abs(&above)),
                zero_point: 0,
            }
        })
        .collect();
    let codes = values
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            let delta = deltas[layout.channel_of(i)];
            if w > delta {
                0b01
            } else if w < -delta {
                0b11
            } else {
                0b00
            }
        })
        .collect();
    QuantizedTensor::new(
        tensor.shape().to_vec(),
        granularity,
        CodeKind::Weight(WeightCode::Ternary),
        codes,
        channels,
    )
}
