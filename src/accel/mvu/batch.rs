//! The MVU's values a whole stream at a time: each input vector's output vector with the
//! unit's own arithmetic (the PE kind's weight levels, the accumulator's wrap at the layer's
//! width, the bias, the requantization), batched, for the simulator's value path.
//!
//! The order of a channel's sum does not matter here: the accumulator either wraps (modular
//! arithmetic, the same result in every order) or is at least as wide as the proven bound (no
//! overflow at all). So the sum runs over whole input vectors, input by input, skipping zero
//! codes, with the weights transposed so that one input updates every channel at once: a loop
//! LLVM vectorises across channels.

use super::pairs::PairWeights;
use super::{MvuOutput, MvuParams};
use crate::num::rounding::ShiftRounder;
use crate::qnn::format::saturate;

/// A code of a stream: i32 as the network's input arrives, i64 between stages.
pub trait Code: Copy + Into<i64> + Send + Sync {}
impl Code for i32 {}
impl Code for i64 {}

/// The weights in the form a kernel reads them.
enum Kernel {
    /// i16 pairs for the VNNI kernel (sums exact modulo 2^32).
    Pairs(PairWeights),
    /// Levels as i32, transposed and padded to whole [`BLOCK`]s: `w[j · stride + c]`.
    I32(Vec<i32>),
    /// i64 sums over the unit's transposed levels (`levels_by_input`), exact modulo 2^64.
    I64,
}

impl MvuParams {
    /// The output vectors (`out_features` codes each, channel order) for `input`, whole input
    /// vectors of `in_features` codes each (a trailing partial vector is ignored): the codes
    /// the unit emits, group after group, for that input stream. One thread: for the streams
    /// of a test set, waking a second costs more than it saves.
    pub fn forward<T: Code>(&self, input: &[T]) -> Vec<i64> {
        if self.input.is_bipolar() {
            let values: Vec<i64> = input.iter().map(|&c| self.input_value(c.into())).collect();
            return self.forward_values(&values);
        }
        self.forward_values(input)
    }

    /// [`MvuParams::forward`] of input values (bipolar codes decoded to ±1).
    fn forward_values<T: Code>(&self, input: &[T]) -> Vec<i64> {
        let (inf, outf) = (self.in_features as usize, self.out_features as usize);
        let n = input.len() / inf.max(1);
        let input = &input[..n * inf];
        // Levels transposed: `wt[j · out + c]` is channel c's weight on input j.
        let wt = &self.levels_by_input;
        if self.saturate_each {
            return self.forward_saturating(input, wt);
        }
        let kernel = (self.acc_bits <= 32 && self.input_fits(16))
            .then(|| PairWeights::new(wt, inf, outf).map(Kernel::Pairs))
            .flatten()
            .or_else(|| self.i32_kernel())
            .unwrap_or(Kernel::I64);
        let mut out = vec![0i64; n * outf];
        self.forward_with(&kernel, input, &mut out);
        out
    }

    /// Whether every input code fits a signed integer of `bits` bits.
    fn input_fits(&self, bits: u32) -> bool {
        let (lo, hi) = (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1);
        self.input.min() >= lo && self.input.max() <= hi
    }

    /// The i32 kernel, when the accumulator is at most 32 bits wide (the sums are exact modulo
    /// 2^32, hence modulo 2^acc_bits) and codes and levels fit i32.
    fn i32_kernel(&self) -> Option<Kernel> {
        let (inf, outf) = (self.in_features as usize, self.out_features as usize);
        let wt = &self.levels_by_input;
        if self.acc_bits > 32
            || !self.input_fits(32)
            || wt.iter().any(|&l| i32::try_from(l).is_err())
        {
            return None;
        }
        let stride = outf.div_ceil(BLOCK) * BLOCK;
        let mut padded = vec![0i32; inf * stride];
        for (p, w) in padded.chunks_exact_mut(stride).zip(wt.chunks_exact(outf)) {
            for (p, &w) in p.iter_mut().zip(w) {
                *p = w as i32;
            }
        }
        Some(Kernel::I32(padded))
    }

    /// [`MvuParams::forward`] with saturation after each product: the order matters, so each
    /// channel starts from its saturated bias and adds its products in input order, as the
    /// tile does (`wt` transposed as in [`MvuParams::forward`]).
    fn forward_saturating<T: Code>(&self, input: &[T], wt: &[i64]) -> Vec<i64> {
        let (inf, outf) = (self.in_features as usize, self.out_features as usize);
        let mut out = Vec::with_capacity(input.len() / inf * outf);
        for x in input.chunks_exact(inf) {
            for c in 0..outf {
                let mut s = i128::from(self.start_value(c));
                for (j, &v) in x.iter().enumerate() {
                    let product = i128::from(v.into()) * i128::from(wt[j * outf + c]);
                    s = saturate(s + product, self.acc_bits);
                }
                out.push(self.finish_channel(s as i64, c));
            }
        }
        out
    }

    /// [`MvuParams::forward`] of whole vectors into `out`, with `kernel`.
    fn forward_with<T: Code>(&self, kernel: &Kernel, input: &[T], out: &mut [i64]) {
        let (inf, outf) = (self.in_features as usize, self.out_features as usize);
        let n = input.len() / inf;
        let mut in_i32 = |sum: &dyn Fn(&[i32], &mut [i32])| {
            let x: Vec<i32> = input.iter().map(|&v| v.into() as i32).collect();
            let mut acc = vec![0i32; n * outf];
            sum(&x, &mut acc);
            self.finish_all(&acc, out);
        };
        match kernel {
            Kernel::Pairs(w) => in_i32(&|x, acc| w.accumulate(x, inf, outf, acc)),
            Kernel::I32(w) => in_i32(&|x, acc| accumulate_i32(x, w, inf, outf, acc)),
            Kernel::I64 => {
                let wt = &self.levels_by_input;
                let mut acc = vec![0i64; n * outf];
                for (x, acc) in input.chunks_exact(inf).zip(acc.chunks_exact_mut(outf)) {
                    for (j, &xj) in x.iter().enumerate() {
                        let xj: i64 = xj.into();
                        if xj == 0 {
                            continue;
                        }
                        for (a, &w) in acc.iter_mut().zip(&wt[j * outf..(j + 1) * outf]) {
                            *a = a.wrapping_add(xj.wrapping_mul(w));
                        }
                    }
                }
                self.finish_all(&acc, out);
            }
        }
    }
}

impl MvuParams {
    /// [`MvuParams::finish_channel`] of every accumulator (`out_features` per vector, each
    /// wrapped modulo 2^64 at least) into `out`. The bias is added modulo 2^64 and the sum
    /// wrapped at the accumulator's width (the same ring); when the products with the
    /// multipliers fit i64 the requantization runs in i64 with [`ShiftRounder`]s.
    fn finish_all<T: Copy + Into<i64>>(&self, acc: &[T], out: &mut [i64]) {
        let outf = self.out_features as usize;
        let sh = 64 - self.acc_bits;
        let wrap = |a: i64, b: i64| (a.wrapping_add(b) << sh) >> sh;
        let pairs = out.chunks_exact_mut(outf).zip(acc.chunks_exact(outf));
        let r = match &self.output {
            MvuOutput::Accumulator => {
                for (o, a) in pairs {
                    for ((o, &a), &b) in o.iter_mut().zip(a).zip(&self.bias) {
                        *o = wrap(a.into(), b);
                    }
                }
                return;
            }
            MvuOutput::Sign => {
                for (o, a) in pairs {
                    for ((o, &a), &b) in o.iter_mut().zip(a).zip(&self.bias) {
                        *o = i64::from(wrap(a.into(), b) >= 0);
                    }
                }
                return;
            }
            MvuOutput::Requant(r) => r,
        };
        let (m, s): (Vec<i64>, Vec<i32>) = (0..outf).map(|c| r.params(c)).unzip();
        // |v| ≤ 2^(acc_bits − 1) and |M| < 2^m_bits: the product stays below 2^62.
        let m_bits = m
            .iter()
            .map(|&m| 64 - m.unsigned_abs().leading_zeros())
            .max();
        let rounders: Option<Vec<ShiftRounder>> = s
            .iter()
            .map(|&s| {
                u32::try_from(s)
                    .ok()
                    .and_then(|s| ShiftRounder::new(s, r.rounding))
            })
            .collect();
        let (lo, hi) = (r.low(), r.high());
        match rounders {
            Some(rounders) if m_bits.is_some_and(|b| self.acc_bits + b <= 62) => {
                let parts: Vec<(u32, i64, i64, i64)> = rounders.iter().map(|r| r.parts()).collect();
                let lanes = Lanes {
                    bias: &self.bias,
                    m: &m,
                    shift: &parts.iter().map(|p| u64::from(p.0)).collect::<Vec<_>>(),
                    base: &parts.iter().map(|p| p.1).collect::<Vec<_>>(),
                    if_negative: &parts.iter().map(|p| p.2).collect::<Vec<_>>(),
                    if_odd: &parts.iter().map(|p| p.3).collect::<Vec<_>>(),
                    sh,
                    lo,
                    hi,
                };
                lanes.requantize(acc, out);
            }
            _ => {
                for (o, a) in pairs {
                    for (c, (o, &a)) in o.iter_mut().zip(a).enumerate() {
                        *o = r.apply(i128::from(wrap(a.into(), self.bias[c])), c);
                    }
                }
            }
        }
    }
}

/// Per-channel requantization constants side by side (one array each), so that the loop over
/// a vector's channels runs in vector registers: the [`ShiftRounder`] arithmetic lane by lane.
struct Lanes<'a> {
    bias: &'a [i64],
    m: &'a [i64],
    shift: &'a [u64],
    base: &'a [i64],
    if_negative: &'a [i64],
    if_odd: &'a [i64],
    /// `64 − acc_bits`: the accumulator's wrap.
    sh: u32,
    lo: i64,
    hi: i64,
}

impl Lanes<'_> {
    fn requantize<T: Copy + Into<i64>>(&self, acc: &[T], out: &mut [i64]) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512dq")
                && std::is_x86_feature_detected!("avx512vl")
            {
                // SAFETY: the CPU supports the features the function is compiled for.
                return unsafe { self.requantize_avx512(acc, out) };
            }
        }
        self.requantize_generic(acc, out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2")]
    unsafe fn requantize_avx512<T: Copy + Into<i64>>(&self, acc: &[T], out: &mut [i64]) {
        self.requantize_generic(acc, out)
    }

    #[inline(always)]
    fn requantize_generic<T: Copy + Into<i64>>(&self, acc: &[T], out: &mut [i64]) {
        let n = self.bias.len();
        for (o, a) in out.chunks_exact_mut(n).zip(acc.chunks_exact(n)) {
            for c in 0..n {
                let v = (a[c].into().wrapping_add(self.bias[c]) << self.sh) >> self.sh;
                let x = v * self.m[c];
                let negative = (x >> 63) & 1;
                let odd = (x >> self.shift[c]) & 1;
                let bias = self.base[c] + negative * self.if_negative[c] + odd * self.if_odd[c];
                o[c] = ((x + bias) >> self.shift[c]).clamp(self.lo, self.hi);
            }
        }
    }
}

/// Channels per register block of the i32 kernel (one 512-bit register).
const BLOCK: usize = 16;

/// `acc[v · out + c] = Σ_j x[v · in + j] · w[j · stride + c]` modulo 2^32 for every vector
/// `v` (weights padded to whole [`BLOCK`]s of channels, `stride` = whole blocks), compiled for
/// the widest vector unit the CPU has. Each block of channels is held in registers across the
/// whole sum.
fn accumulate_i32(x: &[i32], wt: &[i32], inf: usize, outf: usize, acc: &mut [i32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bw") {
            // SAFETY: the CPU supports the features the function is compiled for.
            return unsafe { accumulate_i32_avx512(x, wt, inf, outf, acc) };
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            return unsafe { accumulate_i32_avx2(x, wt, inf, outf, acc) };
        }
    }
    accumulate_i32_generic(x, wt, inf, outf, acc)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2")]
unsafe fn accumulate_i32_avx512(x: &[i32], wt: &[i32], inf: usize, outf: usize, acc: &mut [i32]) {
    accumulate_i32_generic(x, wt, inf, outf, acc)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn accumulate_i32_avx2(x: &[i32], wt: &[i32], inf: usize, outf: usize, acc: &mut [i32]) {
    accumulate_i32_generic(x, wt, inf, outf, acc)
}

/// The kernel on block-padded weights `wt[j · stride + c]`, `stride` = whole blocks. The
/// non-zero inputs of a vector are gathered first (without branches: zero codes, common after
/// a ReLU, would otherwise cost a mispredicted branch each), then each block of channels sums
/// over them in registers.
#[inline(always)]
fn accumulate_i32_generic(x: &[i32], wt: &[i32], inf: usize, outf: usize, acc: &mut [i32]) {
    let stride = outf.div_ceil(BLOCK) * BLOCK;
    let mut nonzero: Vec<(i32, usize)> = vec![(0, 0); inf];
    for (x, acc) in x.chunks_exact(inf).zip(acc.chunks_exact_mut(outf)) {
        let mut n = 0;
        for (j, &xj) in x.iter().enumerate() {
            nonzero[n] = (xj, j * stride);
            n += usize::from(xj != 0);
        }
        for (b, out) in acc.chunks_mut(BLOCK).enumerate() {
            let mut a = [0i32; BLOCK];
            for &(xj, row) in &nonzero[..n] {
                let at = row + b * BLOCK;
                let w: &[i32; BLOCK] = wt[at..at + BLOCK].try_into().expect("whole blocks");
                for k in 0..BLOCK {
                    a[k] = a[k].wrapping_add(xj.wrapping_mul(w[k]));
                }
            }
            out.copy_from_slice(&a[..out.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{MvuLayer, MvuOutput, MvuParams};
    use super::*;
    use crate::num::rounding::RoundingMode;
    use crate::num::weights::WeightCode;
    use crate::qnn::{AccOverflow, IntFormat, Requant};

    fn rng(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *state >> 33
    }

    /// Every kernel the batched values may use (VNNI pairs when the CPU has them, i32 blocks,
    /// i64) gives the golden step-by-step result: `wrap(bias)`, then `wrap(acc + level · x)` in
    /// input order, then the requantization, on random layers whose accumulators wrap often.
    #[test]
    fn every_kernel_equals_the_step_by_step_semantics() {
        let mut seed = 7u64;
        for case in 0..40 {
            let (inf, outf) = (
                1 + (rng(&mut seed) % 40) as usize,
                1 + (rng(&mut seed) % 37) as usize,
            );
            let signed = case % 2 == 0;
            let input = IntFormat::new(2 + (case % 7) as u32, signed).unwrap();
            let weights = WeightCode::Uniform { bits: 8 };
            let codes: Vec<u64> = (0..inf * outf).map(|_| rng(&mut seed) % 256).collect();
            let bias: Vec<i64> = (0..outf)
                .map(|_| (rng(&mut seed) % 4001) as i64 - 2000)
                .collect();
            // Narrow enough to wrap on most outputs.
            let acc_bits = 16 + (case % 6) as u32;
            let output = if case % 3 == 0 {
                MvuOutput::Accumulator
            } else {
                MvuOutput::Requant(Requant {
                    multiplier: (0..outf)
                        .map(|_| 1 + (rng(&mut seed) % 200) as i64)
                        .collect(),
                    shift: (0..outf).map(|_| (rng(&mut seed) % 12) as i32).collect(),
                    scale_bits: 8,
                    rounding: RoundingMode::ALL[case % 10],
                    relu: case % 4 == 1,
                    output: IntFormat::new(4, case % 5 != 0).unwrap(),
                    output_scale: 1.0,
                })
            };
            let p = MvuParams::new(
                MvuLayer {
                    layer: 0,
                    in_features: inf,
                    out_features: outf,
                    input,
                    weights: &weights,
                    codes: &codes,
                    bias: &bias,
                    acc_bits,
                    overflow: AccOverflow::Wrap,
                    output: output.clone(),
                },
                1,
                1,
            )
            .unwrap();
            let n = 9;
            let x: Vec<i64> = (0..n * inf)
                .map(|_| {
                    input.min() + (rng(&mut seed) % (input.max() - input.min() + 1) as u64) as i64
                })
                .collect();
            let levels: Vec<i64> = codes.iter().map(|&c| weights.level(c).unwrap()).collect();
            let golden: Vec<i64> = x
                .chunks_exact(inf)
                .flat_map(|v| {
                    (0..outf).map(|c| {
                        let acc = crate::qnn::exact::accumulate(
                            &levels[c * inf..(c + 1) * inf],
                            bias[c],
                            v,
                            acc_bits,
                            AccOverflow::Wrap,
                        );
                        match &output {
                            MvuOutput::Accumulator => acc as i64,
                            MvuOutput::Requant(r) => r.apply(acc, c),
                            MvuOutput::Sign => i64::from(acc >= 0),
                        }
                    })
                })
                .collect();
            let mut kernels = vec![Kernel::I64];
            kernels.extend(p.i32_kernel());
            kernels.extend(PairWeights::new(&p.levels_by_input, inf, outf).map(Kernel::Pairs));
            assert!(
                kernels.len() >= 2,
                "the i32 kernel applies to every case here"
            );
            for k in &kernels {
                let mut out = vec![0i64; n * outf];
                p.forward_with(k, &x, &mut out);
                assert_eq!(out, golden, "case {case}");
            }
            assert_eq!(p.forward(&x), golden, "case {case}");
        }
    }
}
