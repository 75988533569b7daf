//! Additive powers-of-two (APoT) quantization, after Li, Dong and Wang, "Additive Powers-of-Two
//! Quantization: An Efficient Non-uniform Discretization for Neural Networks", ICLR 2020.
//!
//! The level set is the paper's (`ApotFormat::li2020`, in integer form: `terms` terms of
//! `term_bits` bits; at 2 × 2 bits the magnitudes are 0, 1, 2, 3, 4, 6, 8, 9, 12, 16, 18, 24,
//! 32, 33, 36, 48). The paper's normalisation, which maps the largest level to the clipping
//! threshold `α`, is folded into the scale: `real = level × α / max_level`. `α` is fixed or the
//! channel's clipping threshold (an all-zero channel gets `α = 1`). Each value goes to the nearest
//! level, decided exactly; ties go to the larger magnitude; an unsigned format sends negative
//! values to 0.
//!
//! ```
//! use qforge::quant::apot::{ApotConfig, ApotQuantizer};
//! let q = ApotQuantizer::new(&ApotConfig { term_bits: 2, terms: 2, signed: true, alpha: Some(48.0) }).unwrap();
//! // with α = 48 the levels are the integers above; 10.4 is nearest 9, 10.5 ties → 12
//! assert_eq!(q.format().level(q.project(10.4, 48.0).unwrap() as u64), 9);
//! assert_eq!(q.format().level(q.project(-10.5, 48.0).unwrap() as u64), -12);
//! ```

use super::calibrate::ClipRange;
use super::error::{bad, QuantError};
use super::quantizer::ChannelQuantizer;
use super::tensor::{ChannelParams, CodeKind};
use crate::num::codes::ApotFormat;
use crate::num::dyadic::Dyadic;
use crate::num::weights::WeightCode;
use serde::{Deserialize, Serialize};

/// An APoT quantizer's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub struct ApotConfig {
    /// Bits per term, 1..=4.
    pub term_bits: u32,
    /// Number of terms, 1..=4.
    pub terms: u32,
    /// Whether codes carry a sign bit.
    pub signed: bool,
    /// A fixed clipping threshold `α`, or `None` to take it from calibration.
    pub alpha: Option<f64>,
}

impl ApotConfig {
    /// Validates and builds an APoT configuration.
    pub fn new(
        term_bits: u32,
        terms: u32,
        signed: bool,
        alpha: Option<f64>,
    ) -> Result<Self, QuantError> {
        let c = ApotConfig {
            term_bits,
            terms,
            signed,
            alpha,
        };
        ApotQuantizer::new(&c)?;
        Ok(c)
    }
}

/// An APoT quantizer ready to use: the configuration with its format and sorted level table.
#[derive(Clone, Debug, PartialEq)]
pub struct ApotQuantizer {
    config: ApotConfig,
    format: ApotFormat,
    /// Non-negative levels in increasing order with their (positive) codes.
    levels: Vec<(i64, u64)>,
}

/// The fitted parameter of one channel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ApotParams {
    /// The clipping threshold: the real value of the largest level.
    pub alpha: f64,
}

impl ApotQuantizer {
    /// Validates the configuration and builds the level table.
    pub fn new(config: &ApotConfig) -> Result<Self, QuantError> {
        let format = ApotFormat::li2020(config.term_bits, config.terms, config.signed)?;
        if let Some(a) = config.alpha {
            check_alpha(a)?;
        }
        let sign_bit = 1u64 << (config.terms * config.term_bits);
        let mut levels: Vec<(i64, u64)> = format
            .table()
            .into_iter()
            .filter(|&(code, _)| code & sign_bit == 0)
            .map(|(code, level)| (level, code))
            .collect();
        levels.sort_unstable();
        levels.dedup_by_key(|&mut (level, _)| level);
        Ok(ApotQuantizer {
            config: *config,
            format,
            levels,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ApotConfig {
        &self.config
    }

    /// The code format.
    pub fn format(&self) -> &ApotFormat {
        &self.format
    }

    /// The non-negative levels, increasing.
    pub fn levels(&self) -> Vec<i64> {
        self.levels.iter().map(|&(l, _)| l).collect()
    }

    /// The largest level.
    pub fn max_level(&self) -> i64 {
        self.levels.last().map_or(1, |&(l, _)| l)
    }

    /// The scale `α / max_level` as the nearest `f64`.
    pub fn scale(&self, alpha: f64) -> f64 {
        alpha / self.max_level() as f64
    }

    /// The code of `x` when the largest level stands for `alpha`.
    pub fn project(&self, x: f64, alpha: f64) -> Result<i64, QuantError> {
        let xd = Dyadic::from_f64(x).map_err(|_| QuantError::NonFinite { index: 0, value: x })?;
        self.project_exact(xd, alpha)
    }

    /// [`ApotQuantizer::project`] for an exact input.
    pub fn project_exact(&self, x: Dyadic, alpha: f64) -> Result<i64, QuantError> {
        let a = check_alpha(alpha)?;
        if x.mantissa() < 0 && !self.config.signed {
            return Ok(0);
        }
        let out_of_range = || bad("value", x.to_f64(), "is out of range for exact comparison");
        // |x| ≥ α·(l[i-1] + l[i]) / (2·max)  ⇔  |x|·2·max ≥ α·(l[i-1] + l[i])
        let lhs = x
            .abs()
            .checked_mul(Dyadic::from_int(2 * i128::from(self.max_level())))
            .ok_or_else(out_of_range)?;
        // The largest index whose lower midpoint |x| reaches (midpoints increase with the index).
        let (mut lo, mut hi) = (0usize, self.levels.len() - 1);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            let sum = i128::from(self.levels[mid - 1].0) + i128::from(self.levels[mid].0);
            let rhs = a
                .checked_mul(Dyadic::from_int(sum))
                .ok_or_else(out_of_range)?;
            if lhs >= rhs {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let index = lo;
        let (level, code) = self.levels[index];
        let sign_bit = 1u64 << (self.config.terms * self.config.term_bits);
        Ok(if x.mantissa() < 0 && level != 0 {
            (code | sign_bit) as i64
        } else {
            code as i64
        })
    }
}

fn check_alpha(alpha: f64) -> Result<Dyadic, QuantError> {
    Dyadic::from_f64(alpha)
        .ok()
        .filter(|a| a.mantissa() > 0)
        .ok_or_else(|| bad("alpha", alpha, "must be positive and finite"))
}

impl ChannelQuantizer for ApotQuantizer {
    type Params = ApotParams;

    fn validate(&self) -> Result<(), QuantError> {
        ApotQuantizer::new(&self.config).map(|_| ())
    }

    fn symmetric(&self) -> bool {
        true
    }

    fn fit(&self, range: ClipRange) -> Result<ApotParams, QuantError> {
        let alpha = match self.config.alpha {
            Some(a) => a,
            None => {
                let t = range.threshold();
                if t == 0.0 {
                    1.0
                } else {
                    t
                }
            }
        };
        check_alpha(alpha)?;
        Ok(ApotParams { alpha })
    }

    fn code(&self, x: f64, p: &ApotParams) -> Result<i64, QuantError> {
        self.project(x, p.alpha)
    }

    fn channel_params(&self, p: &ApotParams) -> ChannelParams {
        ChannelParams {
            scale: self.scale(p.alpha),
            zero_point: 0,
        }
    }

    fn code_kind(&self) -> CodeKind {
        CodeKind::Weight(WeightCode::Apot(self.format.clone()))
    }

    fn reconstruct(&self, x: f64, p: &ApotParams) -> Result<f64, QuantError> {
        // The format's own decoding, without cloning it into a `CodeKind` per value.
        let level = self.format.level(self.project(x, p.alpha)? as u64);
        Ok(level as f64 * self.scale(p.alpha))
    }
}
