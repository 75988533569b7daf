//! A fully connected layer in the hls4ml precision style: every tensor has an ap_fixed type.
//!
//! Datapath (hls4ml `nnet::dense_latency` with `nnet::product::mult`, then `nnet::relu`):
//! per output `j`: `acc = (accum_t) bias[j]`; for `i` in input order
//! `acc = (accum_t)(acc + x[i] · w[i][j])` with the product and the sum at full precision;
//! `out = (result_t) acc`; with a ReLU, `y = out > 0 ? (relu_t) out : 0`. Every cast applies the
//! target type's rounding and overflow modes exactly ([`FixedFormat::cast_raw`]). Values travel
//! as raw codes: a code `r` of a format with `F` fractional bits stands for `r · 2^−F`.

use super::accum::{certify, output_ranges, AccCertificate, AccOverflow, Accumulator};
use super::error::{layer_err, QnnError};
use super::format::IntFormat;
use crate::num::fixed::FixedFormat;
use crate::num::overflow::OverflowMode;
use serde::{Deserialize, Serialize};

/// A dense layer whose weights, bias, accumulator, result and ReLU output are fixed-point types.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedDense {
    /// Number of inputs.
    pub in_features: usize,
    /// Number of outputs.
    pub out_features: usize,
    /// Type of the incoming values (`input_t`, or the previous layer's output type).
    pub input: FixedFormat,
    /// `weight_t`.
    pub weight: FixedFormat,
    /// `bias_t`.
    pub bias_format: FixedFormat,
    /// `accum_t`.
    pub accum: FixedFormat,
    /// `result_t` (the layer output before the activation).
    pub result: FixedFormat,
    /// The ReLU's output type, if a ReLU follows.
    #[serde(default)]
    pub relu: Option<FixedFormat>,
    /// Raw weight codes in `weight`, `[out][in]` row-major.
    pub weights: Vec<i64>,
    /// Raw bias codes in `bias_format`.
    pub bias: Vec<i64>,
}

impl FixedDense {
    /// Multiply-accumulates per sample.
    pub fn macs(&self) -> u64 {
        (self.in_features * self.out_features) as u64
    }

    /// The type of the layer's output codes (the ReLU's, else the result's).
    pub fn output_type(&self) -> FixedFormat {
        self.relu.unwrap_or(self.result)
    }

    /// The output codes' range as an integer format.
    pub fn output_format(&self) -> IntFormat {
        int_format(self.output_type())
    }

    /// Fractional bits of a full-precision product.
    pub fn product_frac_bits(&self) -> i32 {
        self.input.frac_bits() + self.weight.frac_bits()
    }

    /// Checks sizes, code ranges and widths.
    pub fn check(&self, layer: usize) -> Result<(), QnnError> {
        let e = |m: String| layer_err(layer, m);
        let n = self.in_features * self.out_features;
        if n == 0 {
            return Err(e("in_features and out_features must be positive".into()));
        }
        if self.weights.len() != n {
            return Err(e(format!(
                "weights has {} entries, expected {n}",
                self.weights.len()
            )));
        }
        if self.bias.len() != self.out_features {
            return Err(e(format!(
                "bias has {} entries, expected out_features ({})",
                self.bias.len(),
                self.out_features
            )));
        }
        for (name, fmt, codes) in [
            ("weight", self.weight, &self.weights),
            ("bias", self.bias_format, &self.bias),
        ] {
            if let Some(c) = codes
                .iter()
                .find(|&&c| i128::from(c) < fmt.min_raw() || i128::from(c) > fmt.max_raw())
            {
                return Err(e(format!("{name} code {c} is outside {fmt}")));
            }
        }
        let fmt = self.input;
        if fmt.width() > 32 || (fmt.is_signed() && fmt.width() < 2) {
            return Err(e(format!(
                "input type {fmt} must be 2 to 32 bits wide (1 to 32 unsigned)"
            )));
        }
        if self.weight.width() > 32 {
            return Err(e(format!(
                "weight type {} must be at most 32 bits",
                self.weight
            )));
        }
        Ok(())
    }

    /// The bias of output `j` as a raw accumulator code.
    pub fn bias_in_accum(&self, j: usize) -> i128 {
        self.accum
            .cast_raw(i128::from(self.bias[j]), -self.bias_format.frac_bits())
    }

    /// One output's accumulator, step by step, exactly as the C++ does.
    pub fn accumulate(&self, j: usize, x: &[i64]) -> i128 {
        let fa = self.accum.frac_bits();
        let fp = self.product_frac_bits();
        let e = (-fa).min(-fp);
        let mut acc = self.bias_in_accum(j);
        let row = &self.weights[j * self.in_features..(j + 1) * self.in_features];
        for (&w, &v) in row.iter().zip(x) {
            let p = i128::from(w) * i128::from(v);
            let sum = (acc << (-fa - e) as u32) + (p << (-fp - e) as u32);
            acc = self.accum.cast_raw(sum, e);
        }
        acc
    }

    /// The output stage on one raw accumulator code: result cast, then ReLU.
    pub fn finish(&self, acc: i128) -> i64 {
        let r = self.result.cast_raw(acc, -self.accum.frac_bits());
        match self.relu {
            None => r as i64,
            Some(t) if r > 0 => t.cast_raw(r, -self.result.frac_bits()) as i64,
            Some(_) => 0,
        }
    }

    /// The layer on one sample of raw input codes.
    pub fn infer_one(&self, x: &[i64]) -> Vec<i64> {
        (0..self.out_features)
            .map(|j| self.finish(self.accumulate(j, x)))
            .collect()
    }

    /// Whether the per-step accumulator casts are exact: products and bias land on the
    /// accumulator's grid (no rounding), and `(min, max)` of the certificate fit its width.
    pub fn accumulation_is_exact(&self, cert: &AccCertificate) -> bool {
        let fa = self.accum.frac_bits();
        fa >= self.product_frac_bits()
            && fa >= self.bias_format.frac_bits()
            && fa - self.product_frac_bits() < 32
            && cert.min > self.accum.min_raw()
            && cert.max <= self.accum.max_raw()
    }

    /// The reachable accumulator range in `accum_t` codes, exact when the per-step casts are
    /// (see [`FixedDense::accumulation_is_exact`]), else the range of the exact sum rounded
    /// outwards to the accumulator's grid.
    pub fn certificate(&self, layer: usize) -> AccCertificate {
        let zero = vec![0i64; self.out_features];
        let x_min = self.input.min_raw() as i64;
        let x_max = self.input.max_raw() as i64;
        let dots = output_ranges(&self.weights, &zero, self.in_features, x_min, x_max);
        let k = self.accum.frac_bits() - self.product_frac_bits();
        let scale = |v: i128, up: bool| -> i128 {
            if k >= 0 {
                v << k.min(100) as u32
            } else {
                let d = 1i128 << (-k).min(100) as u32;
                if up {
                    -((-v).div_euclid(d))
                } else {
                    v.div_euclid(d)
                }
            }
        };
        let ranges: Vec<(i128, i128)> = dots
            .iter()
            .enumerate()
            .map(|(j, &(lo, hi))| {
                let b = self.bias_in_accum(j);
                (b + scale(lo, false), b + scale(hi, true))
            })
            .collect();
        let overflow = match self.accum.overflow() {
            OverflowMode::Saturate
            | OverflowMode::SaturateSymmetric
            | OverflowMode::SaturateZero => AccOverflow::Saturate,
            _ => AccOverflow::Wrap,
        };
        certify(
            layer,
            &ranges,
            Accumulator {
                bits: Some(self.accum.width()),
                overflow,
            },
        )
    }
}

/// The integer range of a fixed-point type's raw codes.
pub fn int_format(f: FixedFormat) -> IntFormat {
    IntFormat {
        bits: f.width(),
        signed: f.is_signed(),
    }
}
