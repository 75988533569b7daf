//! Integer 2-D convolution and max pooling on CHW code tensors (direct loops).
//!
//! Convolution order of operations: per output channel `o` and output pixel, `acc = ovf(bias[o])`,
//! then for `c` in input channels, `ky` in kernel rows, `kx` in kernel columns (row-major, as the
//! weights are stored) `acc = ovf(acc + level[o][c][ky][kx] · x[c][y][x])`; taps that fall in the
//! zero padding add 0, which changes no accumulator, wrapping or saturating. Max pooling takes the
//! largest code of each window (codes share one positive scale, so this is the max of the values).

use super::accum::{AccCertificate, Accumulator};
use super::dense::{LayerOutput, WeightTensor};
use super::error::{layer_err, QnnError};
use super::format::IntFormat;
use crate::num::weights::WeightCode;
use serde::{Deserialize, Serialize};

/// The largest size of any one dimension of a convolution (channels, image side, kernel side,
/// stride, padding) a network file may give.
pub const MAX_DIMENSION: usize = 1 << 20;

/// The most weights one layer of a network file may hold (2^32; the largest networks in view
/// hold a few million).
pub const MAX_WEIGHTS: usize = 1 << 32;

/// A convolution on integer codes (cross-correlation, as PyTorch), CHW layout, zero padding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conv2d {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Kernel height.
    pub kernel_h: usize,
    /// Kernel width.
    pub kernel_w: usize,
    /// Step between windows (≥ 1).
    pub stride: usize,
    /// Zero rows/columns on each side.
    pub padding: usize,
    /// Encoding of `codes`.
    pub weights: WeightCode,
    /// Weight codes `[out_channels][in_channels][kernel_h][kernel_w]`.
    pub codes: Vec<u64>,
    /// Bias per output channel, in accumulator units.
    pub bias: Vec<i64>,
    /// Accumulator width and overflow.
    #[serde(default)]
    pub accumulator: Accumulator,
    /// Raw accumulators or requantized codes (per output channel parameters).
    pub output: LayerOutput,
    /// Real value of one accumulator LSB, per tensor or per output channel.
    pub acc_scale: Vec<f64>,
}

impl Conv2d {
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

    /// Output height and width.
    pub fn out_hw(&self) -> (usize, usize) {
        let h =
            (self.in_h + 2 * self.padding).saturating_sub(self.kernel_h) / self.stride.max(1) + 1;
        let w =
            (self.in_w + 2 * self.padding).saturating_sub(self.kernel_w) / self.stride.max(1) + 1;
        (h, w)
    }

    /// Taps per output value (`in_channels · kernel_h · kernel_w`).
    pub fn taps(&self) -> usize {
        self.in_channels * self.kernel_h * self.kernel_w
    }

    fn taps_u128(&self) -> u128 {
        self.in_channels as u128 * self.kernel_h as u128 * self.kernel_w as u128
    }

    /// Values per input sample.
    pub fn in_features(&self) -> usize {
        self.in_channels * self.in_h * self.in_w
    }

    /// Values per output sample.
    pub fn out_features(&self) -> usize {
        let (h, w) = self.out_hw();
        self.out_channels * h * w
    }

    /// Multiply-accumulates per sample (padding taps included, as a sliding-window unit does them).
    pub fn macs(&self) -> u64 {
        (self.out_features() * self.taps()) as u64
    }

    /// Checks sizes, codes and widths.
    pub fn check(&self, layer: usize) -> Result<(), QnnError> {
        let e = |m: String| layer_err(layer, m);
        if [
            self.in_channels,
            self.out_channels,
            self.in_h,
            self.in_w,
            self.kernel_h,
            self.kernel_w,
            self.stride,
        ]
        .contains(&0)
        {
            return Err(e(
                "channels, sizes, kernel and stride must be positive".into()
            ));
        }
        // Bounded first, so the sizes below cannot overflow (a file may hold any number).
        let dims = [
            ("in_channels", self.in_channels),
            ("out_channels", self.out_channels),
            ("in_h", self.in_h),
            ("in_w", self.in_w),
            ("kernel_h", self.kernel_h),
            ("kernel_w", self.kernel_w),
            ("stride", self.stride),
            ("padding", self.padding),
        ];
        if let Some((name, v)) = dims.iter().find(|(_, v)| *v > MAX_DIMENSION) {
            return Err(e(format!("{name} ({v}) must be at most {MAX_DIMENSION}")));
        }
        let weights = (self.out_channels as u128) * (self.taps_u128());
        if weights > MAX_WEIGHTS as u128 {
            return Err(e(format!(
                "out_channels × in_channels × kernel_h × kernel_w ({weights}) must be at most {MAX_WEIGHTS}"
            )));
        }
        if self.in_h + 2 * self.padding < self.kernel_h
            || self.in_w + 2 * self.padding < self.kernel_w
        {
            return Err(e(format!(
                "kernel {}x{} is larger than the padded input {}x{}",
                self.kernel_h,
                self.kernel_w,
                self.in_h + 2 * self.padding,
                self.in_w + 2 * self.padding
            )));
        }
        self.tensor().check(
            layer,
            (self.out_channels * self.taps(), ""),
            (self.out_channels, "out_channels"),
        )
    }

    /// Integer levels `[out_channels][taps]`.
    pub fn levels(&self) -> Vec<i64> {
        self.tensor().levels()
    }

    /// The accumulator certificate for inputs in `input`'s range (padding taps are 0, inside
    /// every tap's range, so the per-channel bound covers every window).
    pub fn certificate(&self, layer: usize, input: IntFormat) -> AccCertificate {
        self.tensor().certificate(layer, self.taps(), input)
    }

    /// The input window of output pixel `(oy, ox)`, `[c][ky][kx]`, padding taps as 0.
    pub fn window(&self, x: &[i64], oy: usize, ox: usize, out: &mut Vec<i64>) {
        out.clear();
        for c in 0..self.in_channels {
            for ky in 0..self.kernel_h {
                for kx in 0..self.kernel_w {
                    let y = (oy * self.stride + ky) as isize - self.padding as isize;
                    let xx = (ox * self.stride + kx) as isize - self.padding as isize;
                    let inside =
                        y >= 0 && xx >= 0 && (y as usize) < self.in_h && (xx as usize) < self.in_w;
                    out.push(if inside {
                        x[(c * self.in_h + y as usize) * self.in_w + xx as usize]
                    } else {
                        0
                    });
                }
            }
        }
    }
}

/// Max pooling over `kernel × kernel` windows with a stride, no padding (the output is floored).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxPool2d {
    /// Channels.
    pub channels: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Window side.
    pub kernel: usize,
    /// Step between windows.
    pub stride: usize,
}

impl MaxPool2d {
    /// Output height and width.
    pub fn out_hw(&self) -> (usize, usize) {
        let s = self.stride.max(1);
        (
            self.in_h.saturating_sub(self.kernel) / s + 1,
            self.in_w.saturating_sub(self.kernel) / s + 1,
        )
    }

    /// Checks sizes.
    pub fn check(&self, layer: usize) -> Result<(), QnnError> {
        if [
            self.channels,
            self.in_h,
            self.in_w,
            self.kernel,
            self.stride,
        ]
        .contains(&0)
            || self.kernel > self.in_h
            || self.kernel > self.in_w
        {
            return Err(layer_err(
                layer,
                format!(
                    "max pool {}x{} (stride {}) does not fit a {}x{} input",
                    self.kernel, self.kernel, self.stride, self.in_h, self.in_w
                ),
            ));
        }
        Ok(())
    }

    /// Values per input sample.
    pub fn in_features(&self) -> usize {
        self.channels * self.in_h * self.in_w
    }

    /// Values per output sample.
    pub fn out_features(&self) -> usize {
        let (h, w) = self.out_hw();
        self.channels * h * w
    }

    /// The pooled codes of one sample.
    pub fn apply(&self, x: &[i64]) -> Vec<i64> {
        let (oh, ow) = self.out_hw();
        let mut out = Vec::with_capacity(self.out_features());
        for c in 0..self.channels {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut m = i64::MIN;
                    for ky in 0..self.kernel {
                        for kx in 0..self.kernel {
                            let y = oy * self.stride + ky;
                            let xx = ox * self.stride + kx;
                            m = m.max(x[(c * self.in_h + y) * self.in_w + xx]);
                        }
                    }
                    out.push(m);
                }
            }
        }
        out
    }
}
