//! Choosing the clipping range of a tensor (or of one channel): min–max, percentile, or the
//! threshold that minimises the quantization mean-squared error for the quantizer at hand.
//!
//! Symmetric quantizers clip to `[−T, T]`, where `T` is a statistic of `|x|`; asymmetric ones clip
//! to `[lo, hi]`, widened to contain 0 so that real zero stays exactly representable.
//!
//! * [`Clipping::MinMax`]: `T = max |x|`, or `lo = min x`, `hi = max x`.
//! * [`Clipping::Percentile`]: the `p`-th percentile of `|x|` (or the `100 − p`-th and `p`-th of
//!   `x`), interpolated linearly between order statistics as numpy's default `percentile` does.
//! * [`Clipping::MseOptimal`]: a grid search over the min–max range shrunk by the factors
//!   `f_i = low + (1 − low)·i/steps`, `i = steps, …, 0` (the first candidate is exactly the
//!   min–max range), keeping the candidate with the smallest mean of `(x − dequant(quant(x)))²`;
//!   a later candidate replaces the best only if its error is strictly smaller, so the search is
//!   deterministic and never does worse than min–max. This weighs clipping a few outliers against
//!   rounding every interior value more coarsely.
//!
//! ```
//! use qforge::quant::calibrate::{ClipRange, Clipping};
//! let x = [0.1, -0.2, 0.3, -4.0];
//! let r = Clipping::MinMax.range(&x, true).unwrap();
//! assert_eq!(r, ClipRange { lo: -4.0, hi: 4.0 });
//! ```

use super::error::{bad, QuantError};
use super::quantizer::ChannelQuantizer;
use serde::{Deserialize, Serialize};

/// How to choose a clipping range from data.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum Clipping {
    /// The full range of the data.
    MinMax,
    /// A percentile of the data, e.g. 99.99.
    Percentile {
        /// In (0, 100].
        percentile: f64,
    },
    /// The grid-searched threshold with the least quantization mean-squared error.
    MseOptimal {
        /// Number of grid steps, 1..=10000 (100 is a good default).
        steps: u32,
        /// The smallest shrink factor, in (0, 1] (0.1 is a good default).
        low_fraction: f64,
    },
}

/// A clipping range `[lo, hi]`; symmetric ranges have `lo = −hi`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClipRange {
    /// Lower bound (≤ 0).
    pub lo: f64,
    /// Upper bound (≥ 0).
    pub hi: f64,
}

impl ClipRange {
    /// The symmetric threshold `max(|lo|, |hi|)`.
    pub fn threshold(&self) -> f64 {
        self.lo.abs().max(self.hi.abs())
    }

    fn scaled(&self, f: f64) -> ClipRange {
        ClipRange {
            lo: self.lo * f,
            hi: self.hi * f,
        }
    }
}

impl Clipping {
    /// The MSE search with 100 steps between 0.1·max and max.
    pub const MSE_DEFAULT: Clipping = Clipping::MseOptimal {
        steps: 100,
        low_fraction: 0.1,
    };

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), QuantError> {
        match *self {
            Clipping::MinMax => Ok(()),
            Clipping::Percentile { percentile } => {
                if percentile > 0.0 && percentile <= 100.0 {
                    Ok(())
                } else {
                    Err(bad("percentile", percentile, "must be in (0, 100]"))
                }
            }
            Clipping::MseOptimal {
                steps,
                low_fraction,
            } => {
                if !(1..=10_000).contains(&steps) {
                    return Err(bad("steps", steps, "must be between 1 and 10000"));
                }
                if low_fraction > 0.0 && low_fraction <= 1.0 {
                    Ok(())
                } else {
                    Err(bad("low_fraction", low_fraction, "must be in (0, 1]"))
                }
            }
        }
    }

    /// The range from statistics alone: min–max or percentile. For [`Clipping::MseOptimal`] this
    /// is the min–max range its search starts from (use [`Clipping::choose`] to search).
    pub fn range(&self, values: &[f64], symmetric: bool) -> Result<ClipRange, QuantError> {
        self.validate()?;
        let p = match *self {
            Clipping::Percentile { percentile } => percentile,
            _ => 100.0,
        };
        if symmetric {
            let mut abs: Vec<f64> = values.iter().map(|v| v.abs()).collect();
            let t = percentile(&mut abs, p);
            Ok(ClipRange { lo: -t, hi: t })
        } else {
            let mut sorted = values.to_vec();
            let hi = percentile(&mut sorted, p);
            let lo = percentile(&mut sorted, 100.0 - p);
            Ok(ClipRange {
                lo: lo.min(0.0),
                hi: hi.max(0.0),
            })
        }
    }

    /// The range and the quantizer parameters it gives, for a quantizer's channel of `values`.
    pub fn choose<Q: ChannelQuantizer>(
        &self,
        values: &[f64],
        quantizer: &Q,
    ) -> Result<(ClipRange, Q::Params), QuantError> {
        let base = self.range(values, quantizer.symmetric())?;
        let Clipping::MseOptimal {
            steps,
            low_fraction,
        } = *self
        else {
            let params = quantizer.fit(base)?;
            return Ok((base, params));
        };
        let mut best_params = quantizer.fit(base)?;
        let mut best = (base, mse(values, quantizer, &best_params)?);
        for i in (0..steps).rev() {
            let f = low_fraction + (1.0 - low_fraction) * f64::from(i) / f64::from(steps);
            let range = base.scaled(f);
            let params = quantizer.fit(range)?;
            let e = mse(values, quantizer, &params)?;
            if e < best.1 {
                best = (range, e);
                best_params = params;
            }
        }
        Ok((best.0, best_params))
    }
}

/// The mean of `(x − dequant(quant(x)))²` over `values` (0 for no values).
pub fn mse<Q: ChannelQuantizer>(
    values: &[f64],
    quantizer: &Q,
    params: &Q::Params,
) -> Result<f64, QuantError> {
    if values.is_empty() {
        return Ok(0.0);
    }
    let mut sum = 0.0;
    for &x in values {
        let y = quantizer.reconstruct(x, params)?;
        sum += (x - y) * (x - y);
    }
    Ok(sum / values.len() as f64)
}

/// The `p`-th percentile with linear interpolation (numpy's default); 0 for no values.
/// Sorts `values` in place.
fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = p / 100.0 * (values.len() - 1) as f64;
    let below = rank.floor() as usize;
    let above = rank.ceil() as usize;
    let frac = rank - below as f64;
    if below == above {
        values[below]
    } else {
        values[below] + (values[above] - values[below]) * frac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_interpolates_like_numpy() {
        // numpy.percentile([1, 2, 3, 4], 50) == 2.5; 90 → 3.7
        let mut v = vec![4.0, 1.0, 3.0, 2.0];
        assert_eq!(percentile(&mut v, 50.0), 2.5);
        assert!((percentile(&mut v, 90.0) - 3.7).abs() < 1e-12);
        assert_eq!(percentile(&mut v, 100.0), 4.0);
        assert_eq!(percentile(&mut v, 0.0), 1.0);
    }

    #[test]
    fn asymmetric_ranges_contain_zero() {
        let r = Clipping::MinMax.range(&[1.0, 3.0], false).unwrap();
        assert_eq!(r, ClipRange { lo: 0.0, hi: 3.0 });
        let r = Clipping::MinMax.range(&[-1.0, 3.0], false).unwrap();
        assert_eq!(r, ClipRange { lo: -1.0, hi: 3.0 });
    }

    #[test]
    fn bad_parameters_are_named() {
        let e = Clipping::Percentile { percentile: 0.0 }
            .validate()
            .unwrap_err();
        assert_eq!(e.to_string(), "percentile (0) must be in (0, 100]");
        let e = Clipping::MseOptimal {
            steps: 0,
            low_fraction: 0.1,
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.to_string(), "steps (0) must be between 1 and 10000");
    }
}
