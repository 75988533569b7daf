//! Fast batch inference: each layer compiled once to the narrowest native types its formats and
//! its proven accumulator range allow.
//!
//! Per layer, the accumulation runs in i32 when the exact sum fits 32 bits (or the accumulator
//! wraps at ≤ 32 bits: wrapping is exact modulo 2^width whatever the order), in i64 likewise for
//! 64 bits, and otherwise (saturating accumulators narrower than the proven width, or ranges
//! beyond 64 bits) in the step-by-step i128 path of [`super::exact`]. Operands are i16 when both
//! the input codes and the weight levels fit, so the i16 × i16 → i32 kernel vectorises.

use super::accum::AccOverflow;
use super::dense::{Dense, LayerOutput};
use super::error::QnnError;
use super::exact;
use super::format::wrap;
use super::kernels::{dot_i16_i32, dot_i32_i32, dot_i32_i64};
use super::net::{Layer, QNet};
use super::requant::{shr_round_i64, Requant};
use crate::num::rounding::RoundingMode;
use rayon::prelude::*;

/// Batches at least this large are split across threads.
const PARALLEL_MIN_BATCH: usize = 256;
/// Samples per parallel task.
const CHUNK: usize = 128;

enum Weights {
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Acc {
    /// Exact (or wrap-exact) modulo 2^32.
    I32,
    /// Exact (or wrap-exact) modulo 2^64.
    I64,
    /// Step-by-step i128 with the layer's overflow mode.
    Step,
}

/// Requantization of one channel in i64, when `|acc · M|` cannot exceed 63 bits.
#[derive(Clone, Copy)]
struct FastRq {
    m: i64,
    s: u32,
    lo: i64,
    hi: i64,
}

struct CompiledDense {
    in_f: usize,
    out_f: usize,
    weights: Weights,
    levels: Vec<i64>,
    bias: Vec<i64>,
    acc: Acc,
    bits: u32,
    overflow: AccOverflow,
    /// Wrap the modular sum to this width at the end (a wrapping accumulator narrower than the
    /// native type).
    final_wrap: Option<u32>,
    requant: Option<(Requant, Option<Vec<FastRq>>, RoundingMode)>,
}

/// A network compiled for fast, bit-exact batch inference.
pub struct Engine {
    layers: Vec<CompiledDense>,
    in_features: usize,
    out_features: usize,
    input_min: i64,
    input_max: i64,
    macs: u64,
}

fn fits_i16(v: &[i64]) -> bool {
    v.iter().all(|&l| i16::try_from(l).is_ok())
}

fn compile_dense(d: &Dense, cert: &super::accum::AccCertificate, in_i16: bool) -> CompiledDense {
    let levels = d.levels();
    let narrow = cert.bits < cert.proven_bits;
    // the width the native type must hold exactly (modulo arithmetic)
    let (acc, final_wrap) = match (narrow, d.accumulator.overflow) {
        (true, AccOverflow::Saturate) => (Acc::Step, None),
        (true, AccOverflow::Wrap) if cert.bits <= 32 => (Acc::I32, Some(cert.bits)),
        (true, AccOverflow::Wrap) if cert.bits <= 64 => (Acc::I64, Some(cert.bits)),
        (false, _) if cert.proven_bits <= 32 => (Acc::I32, None),
        (false, _) if cert.proven_bits <= 64 => (Acc::I64, None),
        _ => (Acc::Step, None),
    };
    let final_wrap = final_wrap.filter(|&b| b < 32 || (acc == Acc::I64 && b < 64));
    let weights = match acc {
        Acc::I32 if in_i16 && fits_i16(&levels) => {
            Weights::I16(levels.iter().map(|&l| l as i16).collect())
        }
        // modulo 2^32 the low 32 bits of each level are all that matter
        Acc::I32 => Weights::I32(levels.iter().map(|&l| l as i32).collect()),
        _ => Weights::I64(levels.clone()),
    };
    let requant = match &d.output {
        LayerOutput::Accumulator => None,
        LayerOutput::Requant(r) => {
            // |acc| < 2^(bits-1) after overflow handling; acc · M must stay below 2^63
            let acc_bits = cert.bits.min(cert.proven_bits);
            let fast = (0..d.out_features)
                .map(|c| {
                    let (m, s) = r.params(c);
                    let m_bits = 64 - (m as u64).leading_zeros();
                    (s >= 1 && s <= 62 && acc_bits + m_bits <= 62).then_some(FastRq {
                        m,
                        s: s as u32,
                        lo: r.low(),
                        hi: r.high(),
                    })
                })
                .collect::<Option<Vec<_>>>();
            Some((r.clone(), fast, r.rounding))
        }
    };
    CompiledDense {
        in_f: d.in_features,
        out_f: d.out_features,
        weights,
        levels,
        bias: d.bias.clone(),
        acc,
        bits: cert.bits,
        overflow: d.accumulator.overflow,
        final_wrap,
        requant,
    }
}

impl CompiledDense {
    /// One sample: `x` (and its i16 copy when the kernel uses it) → `out`.
    #[inline(always)]
    fn run(&self, x: &[i32], x16: &[i16], x64: &mut Vec<i64>, out: &mut [i64]) {
        for j in 0..self.out_f {
            let r = j * self.in_f..(j + 1) * self.in_f;
            let b = self.bias[j];
            let acc: i64 = match (&self.weights, self.acc) {
                (Weights::I16(w), _) => {
                    let s = dot_i16_i32(x16, &w[r]).wrapping_add(b as i32);
                    self.wrap32(s)
                }
                (Weights::I32(w), _) => {
                    let s = dot_i32_i32(x, &w[r]).wrapping_add(b as i32);
                    self.wrap32(s)
                }
                (Weights::I64(w), Acc::I64) => {
                    let s = dot_i32_i64(x, &w[r]).wrapping_add(b);
                    match self.final_wrap {
                        Some(bits) => wrap(i128::from(s), bits) as i64,
                        None => s,
                    }
                }
                _ => {
                    if x64.len() != x.len() {
                        x64.clear();
                        x64.extend(x.iter().map(|&v| i64::from(v)));
                    }
                    let a = exact::accumulate(&self.levels[r], b, x64, self.bits, self.overflow);
                    match &self.requant {
                        // requantize from i128 directly: a may exceed i64
                        Some((rq, _, _)) => {
                            out[j] = rq.apply(a, j);
                            continue;
                        }
                        None => a as i64,
                    }
                }
            };
            out[j] = match &self.requant {
                None => acc,
                Some((_, Some(fast), mode)) => {
                    let f = fast[j];
                    shr_round_i64(acc * f.m, f.s, *mode).clamp(f.lo, f.hi)
                }
                Some((rq, None, _)) => rq.apply(i128::from(acc), j),
            };
        }
        x64.clear();
    }

    #[inline(always)]
    fn wrap32(&self, s: i32) -> i64 {
        match self.final_wrap {
            Some(bits) => {
                let sh = 32 - bits;
                i64::from((s << sh) >> sh)
            }
            None => i64::from(s),
        }
    }
}

impl Engine {
    /// Compiles a validated network.
    pub fn new(net: &QNet) -> Result<Engine, QnnError> {
        net.validate()?;
        let certs = net.certificates();
        let layers = net
            .layers
            .iter()
            .enumerate()
            .map(|(k, l)| match l {
                Layer::Dense(d) => {
                    compile_dense(d, &certs[k], net.layer_input_format(k).fits_i16())
                }
            })
            .collect();
        Ok(Engine {
            layers,
            in_features: net.in_features(),
            out_features: net.out_features(),
            input_min: net.input.format.min(),
            input_max: net.input.format.max(),
            macs: net.macs(),
        })
    }

    /// Input values per sample.
    pub fn in_features(&self) -> usize {
        self.in_features
    }

    /// Output values per sample.
    pub fn out_features(&self) -> usize {
        self.out_features
    }

    /// Multiply-accumulates per sample.
    pub fn macs(&self) -> u64 {
        self.macs
    }

    fn check_input(&self, x: &[i32]) -> Result<usize, QnnError> {
        if x.len() % self.in_features != 0 {
            return Err(QnnError::InputShape {
                got: x.len(),
                features: self.in_features,
            });
        }
        if let Some((index, &v)) = x
            .iter()
            .enumerate()
            .find(|(_, &v)| i64::from(v) < self.input_min || i64::from(v) > self.input_max)
        {
            return Err(QnnError::InputRange {
                value: i64::from(v),
                index,
                min: self.input_min,
                max: self.input_max,
            });
        }
        Ok(x.len() / self.in_features)
    }

    /// Runs a batch of input codes (`in_features` per sample, row-major) and returns the
    /// outputs (`out_features` per sample): raw accumulators or output codes. Uses every core
    /// for large batches.
    pub fn infer(&self, x: &[i32]) -> Result<Vec<i64>, QnnError> {
        let n = self.check_input(x)?;
        let mut out = vec![0i64; n * self.out_features];
        if n >= PARALLEL_MIN_BATCH {
            out.par_chunks_mut(CHUNK * self.out_features)
                .zip(x.par_chunks(CHUNK * self.in_features))
                .for_each(|(o, xi)| self.run_chunk(xi, o));
        } else {
            self.run_chunk(x, &mut out);
        }
        Ok(out)
    }

    /// Like [`Engine::infer`] on the calling thread only.
    pub fn infer_serial(&self, x: &[i32]) -> Result<Vec<i64>, QnnError> {
        self.check_input(x)?;
        let mut out = vec![0i64; x.len() / self.in_features * self.out_features];
        self.run_chunk(x, &mut out);
        Ok(out)
    }

    fn run_chunk(&self, x: &[i32], out: &mut [i64]) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512vnni")
            {
                // SAFETY: the CPU supports the features the function is compiled for.
                return unsafe { self.run_chunk_avx512(x, out) };
            }
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: as above.
                return unsafe { self.run_chunk_avx2(x, out) };
            }
        }
        self.run_chunk_generic(x, out);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
    unsafe fn run_chunk_avx512(&self, x: &[i32], out: &mut [i64]) {
        self.run_chunk_generic(x, out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_chunk_avx2(&self, x: &[i32], out: &mut [i64]) {
        self.run_chunk_generic(x, out)
    }

    #[inline(always)]
    fn run_chunk_generic(&self, x: &[i32], out: &mut [i64]) {
        let width = self
            .layers
            .iter()
            .map(|l| l.in_f.max(l.out_f))
            .max()
            .unwrap_or(0);
        let mut cur = vec![0i32; width];
        let mut cur16 = vec![0i16; width];
        let mut next = vec![0i64; width];
        let mut x64 = Vec::new();
        for (xs, os) in x
            .chunks_exact(self.in_features)
            .zip(out.chunks_exact_mut(self.out_features))
        {
            cur[..xs.len()].copy_from_slice(xs);
            let last = self.layers.len() - 1;
            for (k, l) in self.layers.iter().enumerate() {
                let xin = &cur[..l.in_f];
                if matches!(l.weights, Weights::I16(_)) {
                    for (d, &s) in cur16.iter_mut().zip(xin) {
                        *d = s as i16;
                    }
                }
                let dst = if k == last {
                    &mut *os
                } else {
                    &mut next[..l.out_f]
                };
                l.run(xin, &cur16[..l.in_f], &mut x64, dst);
                if k != last {
                    for (d, &s) in cur.iter_mut().zip(&next[..l.out_f]) {
                        *d = s as i32;
                    }
                }
            }
        }
    }
}
