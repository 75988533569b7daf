//! The exact, step-by-step semantics of the integer network in i128 arithmetic: the definition
//! that the fast kernels of [`super::engine`] must reproduce, and their fallback for accumulators
//! that saturate.

use super::accum::AccOverflow;
use super::conv::Conv2d;
use super::dense::Dense;
use super::format::{saturate, wrap};
use super::net::{Layer, QNet};

/// Applies an accumulator's overflow behaviour to `v`.
#[inline]
pub fn overflow(v: i128, bits: u32, mode: AccOverflow) -> i128 {
    match mode {
        AccOverflow::Wrap => wrap(v, bits),
        AccOverflow::Saturate => saturate(v, bits),
    }
}

/// One output's accumulator: `ovf(bias)`, then `ovf(acc + level[i] · x[i])` in input order.
pub fn accumulate(row: &[i64], bias: i64, x: &[i64], bits: u32, mode: AccOverflow) -> i128 {
    let mut acc = overflow(i128::from(bias), bits, mode);
    for (&l, &v) in row.iter().zip(x) {
        acc = overflow(acc + i128::from(l) * i128::from(v), bits, mode);
    }
    acc
}

/// A dense layer on one sample: accumulators, then the layer's output stage.
pub fn dense(d: &Dense, levels: &[i64], bits: u32, x: &[i64]) -> Vec<i128> {
    (0..d.out_features)
        .map(|j| {
            let row = &levels[j * d.in_features..(j + 1) * d.in_features];
            let acc = accumulate(row, d.bias[j], x, bits, d.accumulator.overflow);
            d.output.apply(acc, j)
        })
        .collect()
}

/// A convolution on one sample (CHW in, CHW out).
pub fn conv(c: &Conv2d, levels: &[i64], bits: u32, x: &[i64]) -> Vec<i128> {
    let (oh, ow) = c.out_hw();
    let taps = c.taps();
    let mut window = Vec::with_capacity(taps);
    let mut out = vec![0i128; c.out_features()];
    for oy in 0..oh {
        for ox in 0..ow {
            c.window(x, oy, ox, &mut window);
            for o in 0..c.out_channels {
                let row = &levels[o * taps..(o + 1) * taps];
                let acc = accumulate(row, c.bias[o], &window, bits, c.accumulator.overflow);
                out[(o * oh + oy) * ow + ox] = c.output.apply(acc, o);
            }
        }
    }
    out
}

/// The network on one sample of input codes (which must lie in the input format). Slow and
/// obviously correct; use [`super::engine::Engine`] for batches.
pub fn infer_one(net: &QNet, x: &[i64]) -> Vec<i128> {
    let mut cur: Vec<i64> = x.to_vec();
    let mut out = Vec::new();
    for (k, layer) in net.layers.iter().enumerate() {
        let bits = net.certificate_of(k).map_or(0, |c| c.bits);
        match layer {
            Layer::Dense(d) => {
                out = dense(d, &d.levels(), bits, &cur);
            }
            Layer::Conv2d(c) => {
                out = conv(c, &c.levels(), bits, &cur);
            }
            Layer::MaxPool2d(p) => {
                out = p.apply(&cur).into_iter().map(i128::from).collect();
            }
            Layer::FixedDense(d) => {
                out = d.infer_one(&cur).into_iter().map(i128::from).collect();
            }
        }
        cur = out.iter().map(|&v| v as i64).collect();
    }
    out
}
