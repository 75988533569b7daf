//! Convolution and max pooling for training: a convolution becomes one matrix product over the
//! im2col rows of its input (and col2im adds the rows' gradients back onto the input), max
//! pooling takes the largest code of each window and keeps where it was, so the gradient goes
//! back to that one element.
//!
//! The layouts are the golden engine's ([`crate::qnn::conv`]): samples are CHW, an im2col row
//! is one output pixel's window in `[c][ky][kx]` order (the order the weights are stored in,
//! as [`crate::qnn::conv::Conv2d::window`] gathers it), padding taps are 0, and a pooling
//! window is read row by row.

use super::gemm::Real;

/// A convolution over one CHW sample: its input, kernel, stride, padding and output size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConvShape {
    pub in_channels: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub kernel_h: usize,
    pub kernel_w: usize,
    pub stride: usize,
    pub padding: usize,
    pub out_h: usize,
    pub out_w: usize,
}

impl ConvShape {
    /// The shape of a convolution over a `[c, h, w]` input the float model has accepted.
    pub fn new(input: &[usize], kernel: (usize, usize), stride: usize, padding: usize) -> Self {
        let (kernel_h, kernel_w) = kernel;
        let windows = |size: usize, k: usize| (size + 2 * padding - k) / stride + 1;
        ConvShape {
            in_channels: input[0],
            in_h: input[1],
            in_w: input[2],
            kernel_h,
            kernel_w,
            stride,
            padding,
            out_h: windows(input[1], kernel_h),
            out_w: windows(input[2], kernel_w),
        }
    }

    /// Taps of one window (`in_channels · kernel_h · kernel_w`), the columns of an im2col row.
    pub fn taps(&self) -> usize {
        self.in_channels * self.kernel_h * self.kernel_w
    }

    /// Output pixels (`out_h · out_w`), the im2col rows of one sample.
    pub fn positions(&self) -> usize {
        self.out_h * self.out_w
    }

    /// Values of one input sample.
    pub fn in_len(&self) -> usize {
        self.in_channels * self.in_h * self.in_w
    }

    /// Calls `tap(column, input index)` for every tap of output pixel `(oy, ox)` inside the
    /// input, in column order; padding taps are skipped.
    fn taps_of(&self, oy: usize, ox: usize, mut tap: impl FnMut(usize, usize)) {
        for c in 0..self.in_channels {
            for ky in 0..self.kernel_h {
                let y = (oy * self.stride + ky) as isize - self.padding as isize;
                if y < 0 || y >= self.in_h as isize {
                    continue;
                }
                for kx in 0..self.kernel_w {
                    let x = (ox * self.stride + kx) as isize - self.padding as isize;
                    if x < 0 || x >= self.in_w as isize {
                        continue;
                    }
                    tap(
                        (c * self.kernel_h + ky) * self.kernel_w + kx,
                        (c * self.in_h + y as usize) * self.in_w + x as usize,
                    );
                }
            }
        }
    }

    /// Appends the im2col rows of one sample `x` to `out`: `positions()` rows of `taps()`
    /// values, row `oy · out_w + ox`, padding taps 0.
    pub fn im2col<T: Real>(&self, x: &[T], out: &mut Vec<T>) {
        let taps = self.taps();
        for oy in 0..self.out_h {
            for ox in 0..self.out_w {
                let start = out.len();
                out.resize(start + taps, T::default());
                let row = &mut out[start..];
                self.taps_of(oy, ox, |col, i| row[col] = x[i]);
            }
        }
    }

    /// Adds the gradient of one sample's im2col rows (`cols`, as [`ConvShape::im2col`] lays
    /// them out) onto the gradient of its input `dx`; padding taps are dropped.
    pub fn col2im(&self, cols: &[f32], dx: &mut [f32]) {
        let taps = self.taps();
        for oy in 0..self.out_h {
            for ox in 0..self.out_w {
                let row = &cols[(oy * self.out_w + ox) * taps..][..taps];
                self.taps_of(oy, ox, |col, i| dx[i] += row[col]);
            }
        }
    }
}

/// Max pooling over one CHW sample: `kernel × kernel` windows, a stride, no padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PoolShape {
    pub channels: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub kernel: usize,
    pub stride: usize,
    pub out_h: usize,
    pub out_w: usize,
}

impl PoolShape {
    /// The pooling of a `[c, h, w]` input the float model has accepted.
    pub fn new(input: &[usize], kernel: usize, stride: usize) -> Self {
        PoolShape {
            channels: input[0],
            in_h: input[1],
            in_w: input[2],
            kernel,
            stride,
            out_h: (input[1] - kernel) / stride + 1,
            out_w: (input[2] - kernel) / stride + 1,
        }
    }

    /// Values of one input sample.
    pub fn in_len(&self) -> usize {
        self.channels * self.in_h * self.in_w
    }

    /// Values of one output sample.
    pub fn out_len(&self) -> usize {
        self.channels * self.out_h * self.out_w
    }

    /// Pools one sample `x` (whose first value has index `base` in the batch): appends each
    /// window's largest value to `out` and its batch index to `argmax`. Of equal values the
    /// first in the window's row-major order is taken (the value is the same, so the integer
    /// network's `max` does not depend on it).
    pub fn forward<T: Real>(
        &self,
        x: &[T],
        base: usize,
        out: &mut Vec<T>,
        argmax: &mut Vec<usize>,
    ) {
        for c in 0..self.channels {
            for oy in 0..self.out_h {
                for ox in 0..self.out_w {
                    let index = |ky: usize, kx: usize| {
                        (c * self.in_h + oy * self.stride + ky) * self.in_w + ox * self.stride + kx
                    };
                    let mut best = index(0, 0);
                    for ky in 0..self.kernel {
                        for kx in 0..self.kernel {
                            let i = index(ky, kx);
                            if x[i] > x[best] {
                                best = i;
                            }
                        }
                    }
                    out.push(x[best]);
                    argmax.push(base + best);
                }
            }
        }
    }
}

/// The gradient of a max pooling's input (`inputs` values over the batch) from its output's
/// `grad`: each output's gradient added to the element it was taken from.
pub(crate) fn pool_backward(grad: &[f32], argmax: &[usize], inputs: usize) -> Vec<f32> {
    let mut dx = vec![0.0f32; inputs];
    for (&g, &i) in grad.iter().zip(argmax) {
        dx[i] += g;
    }
    dx
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1-channel 3×3 input, 2×2 kernel, stride 1, padding 1: a 4×4 output whose corner
    /// windows hold one input value each.
    #[test]
    fn im2col_rows_by_hand() {
        let s = ConvShape::new(&[1, 3, 3], (2, 2), 1, 1);
        assert_eq!((s.out_h, s.out_w, s.taps(), s.positions()), (4, 4, 4, 16));
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let mut cols = Vec::new();
        s.im2col(&x, &mut cols);
        assert_eq!(cols.len(), 64);
        assert_eq!(cols[..4], [0.0, 0.0, 0.0, 1.0]); // (0, 0): only x[0][0] inside
        assert_eq!(cols[5 * 4..6 * 4], [1.0, 2.0, 4.0, 5.0]); // (1, 1)
        assert_eq!(cols[15 * 4..], [9.0, 0.0, 0.0, 0.0]); // (3, 3)
                                                          // two channels, stride 2, no padding: a 5×5 input gives 2×2 windows of 2·3·3 taps
        let s = ConvShape::new(&[2, 5, 5], (3, 3), 2, 0);
        assert_eq!((s.out_h, s.out_w, s.taps()), (2, 2, 18));
        let x: Vec<f64> = (0..50).map(f64::from).collect();
        let mut cols = Vec::new();
        s.im2col(&x, &mut cols);
        // output (1, 0): rows 2..5, columns 0..3 of each channel
        let row: Vec<f64> = cols[2 * 18..3 * 18].to_vec();
        let expected: Vec<f64> = [0.0, 25.0]
            .iter()
            .flat_map(|c| [10.0, 11.0, 12.0, 15.0, 16.0, 17.0, 20.0, 21.0, 22.0].map(|v| v + c))
            .collect();
        assert_eq!(row, expected);
    }

    /// col2im is the transpose of im2col: `⟨im2col(x), g⟩ = ⟨x, col2im(g)⟩` for any x and g.
    #[test]
    fn col2im_is_the_transpose_of_im2col() {
        let s = ConvShape::new(&[2, 4, 5], (3, 2), 2, 1);
        let x: Vec<f32> = (0..s.in_len())
            .map(|i| ((i * 7) % 11) as f32 - 5.0)
            .collect();
        let mut cols = Vec::new();
        s.im2col(&x, &mut cols);
        let g: Vec<f32> = (0..cols.len())
            .map(|i| ((i * 5) % 13) as f32 - 6.0)
            .collect();
        let mut dx = vec![0.0f32; s.in_len()];
        s.col2im(&g, &mut dx);
        let lhs: f32 = cols.iter().zip(&g).map(|(a, b)| a * b).sum();
        let rhs: f32 = x.iter().zip(&dx).map(|(a, b)| a * b).sum();
        assert_eq!(lhs, rhs);
        assert_ne!(lhs, 0.0);
    }

    /// 2×2 windows, stride 2, over a 1×4×4 sample with ties: the first largest value wins,
    /// and the gradient goes to it only.
    #[test]
    fn pooling_takes_the_first_largest_and_routes_to_it() {
        let s = PoolShape::new(&[1, 4, 4], 2, 2);
        #[rustfmt::skip]
        let x = [
            1.0f32, 3.0, 0.0, 0.0,
            3.0, 2.0, 0.0, 0.0,
            5.0, 4.0, 7.0, 6.0,
            4.0, 5.0, 6.0, 7.0,
        ];
        let (mut out, mut argmax) = (Vec::new(), Vec::new());
        s.forward(&x, 16, &mut out, &mut argmax);
        assert_eq!(out, [3.0, 0.0, 5.0, 7.0]);
        assert_eq!(argmax, [17, 18, 24, 26]);
        let dx = pool_backward(&[1.0, 2.0, 3.0, 4.0], &argmax, 32);
        let mut expected = vec![0.0f32; 32];
        (expected[17], expected[18], expected[24], expected[26]) = (1.0, 2.0, 3.0, 4.0);
        assert_eq!(dx, expected);
        // overlapping windows (stride 1) add their gradients on a shared maximum
        let s = PoolShape::new(&[1, 1, 3], 1, 1);
        assert_eq!(s.out_len(), 3);
        let s = PoolShape::new(&[1, 2, 3], 2, 1);
        let (mut out, mut argmax) = (Vec::new(), Vec::new());
        s.forward(&[0.0f32, 9.0, 0.0, 1.0, 2.0, 3.0], 0, &mut out, &mut argmax);
        assert_eq!((out, argmax.clone()), (vec![9.0, 9.0], vec![1, 1]));
        assert_eq!(pool_backward(&[1.0, 2.0], &argmax, 6)[1], 3.0);
    }
}
