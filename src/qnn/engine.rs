//! Fast batch inference: each layer compiled once to the narrowest native types its formats and
//! its proven accumulator range allow.
//!
//! Per layer, the accumulation runs in i32 when the exact sum fits 32 bits (or the accumulator
//! wraps at ≤ 32 bits: wrapping is exact modulo 2^width whatever the order), in i64 likewise for
//! 64 bits, and otherwise (saturating accumulators narrower than the proven width, or ranges
//! beyond 64 bits) in the step-by-step i128 path of [`super::exact`]. Operands are i16 when both
//! the input codes and the weight levels fit, so the i16 × i16 → i32 kernel vectorises.

use super::accum::{output_ranges, AccCertificate, AccOverflow};
use super::conv::{Conv2d, MaxPool2d};
use super::dense::{Dense, LayerOutput, SignOutput};
use super::error::QnnError;
use super::exact;
use super::fixed_dense::FixedDense;
use super::format::{signed_width, wrap};
use super::kernels::{dot_i16_i32, dot_i32_i32, dot_i32_i64};
use super::net::{Layer, QNet};
use super::requant::Requant;
use crate::num::rounding::shr_round_i64;
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

/// The output stage of a layer.
enum Stage {
    /// Raw accumulators.
    Raw,
    /// Requantization in i64 (per channel `M`, `S`, `lo`, `hi`), valid when `|acc · M| < 2^62`
    /// and `1 ≤ S ≤ 62`.
    Fast {
        m: Vec<i64>,
        s: Vec<u32>,
        lo: i64,
        hi: i64,
        mode: RoundingMode,
    },
    /// Exact i128 requantization.
    Exact(Requant),
    /// The sign: +1 for `acc ≥ 0`, −1 below.
    Sign,
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
    stage: Stage,
    /// Whether the layer consumes i16 codes (else i32).
    in16: bool,
}

fn fits_i16(v: &[i64]) -> bool {
    v.iter().all(|&l| i16::try_from(l).is_ok())
}

/// The accumulation part of a layer: raw accumulators (`bias + Σ level · x`), exact or
/// overflowing as a `bits`-wide accumulator with `overflow` would.
#[allow(clippy::too_many_arguments)]
fn compile_core(
    levels: Vec<i64>,
    bias: Vec<i64>,
    in_f: usize,
    out_f: usize,
    proven_bits: u32,
    bits: u32,
    overflow: AccOverflow,
    in_i16: bool,
) -> CompiledDense {
    let narrow = bits < proven_bits;
    let (acc, final_wrap) = match (narrow, overflow) {
        (true, AccOverflow::Saturate) => (Acc::Step, None),
        (true, AccOverflow::Wrap) if bits <= 32 => (Acc::I32, Some(bits)),
        (true, AccOverflow::Wrap) if bits <= 64 => (Acc::I64, Some(bits)),
        (false, _) if proven_bits <= 32 => (Acc::I32, None),
        (false, _) if proven_bits <= 64 => (Acc::I64, None),
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
    CompiledDense {
        in_f,
        out_f,
        in16: matches!(weights, Weights::I16(_)),
        weights,
        levels,
        bias,
        acc,
        bits,
        overflow,
        final_wrap,
        stage: Stage::Raw,
    }
}

fn compile_dense(d: &Dense, cert: &AccCertificate, in_i16: bool) -> CompiledDense {
    let mut core = compile_core(
        d.levels(),
        d.bias.clone(),
        d.in_features,
        d.out_features,
        cert.proven_bits,
        cert.bits,
        d.accumulator.overflow,
        in_i16,
    );
    core.stage = match &d.output {
        LayerOutput::Accumulator => Stage::Raw,
        LayerOutput::Sign(_) => Stage::Sign,
        LayerOutput::Requant(r) => {
            // after overflow handling |acc| ≤ 2^(bits−1); acc · M must stay below 2^62
            let acc_bits = cert.bits.min(cert.proven_bits);
            let params: Vec<(i64, i32)> = (0..d.out_features).map(|c| r.params(c)).collect();
            let fast = params.iter().all(|&(m, s)| {
                let m_bits = 64 - (m as u64).leading_zeros();
                (1..=62).contains(&s) && acc_bits + m_bits <= 62
            });
            if fast {
                Stage::Fast {
                    m: params.iter().map(|p| p.0).collect(),
                    s: params.iter().map(|p| p.1 as u32).collect(),
                    lo: r.low(),
                    hi: r.high(),
                    mode: r.rounding,
                }
            } else {
                Stage::Exact(r.clone())
            }
        }
    };
    core
}

/// An hls4ml-style layer: when the per-step accumulator casts are exact, the dot products
/// run in a native kernel (`core`) and `acc = bias + (dot << shift)`; otherwise step by step.
struct CompiledFixed {
    layer: FixedDense,
    fast: Option<(CompiledDense, u32, Vec<i128>)>,
}

fn compile_fixed(d: &FixedDense, cert: &AccCertificate, in_i16: bool) -> CompiledFixed {
    let fast = d.accumulation_is_exact(cert).then(|| {
        let zero = vec![0i64; d.out_features];
        let dots = output_ranges(
            &d.weights,
            &zero,
            d.in_features,
            d.input.min_raw() as i64,
            d.input.max_raw() as i64,
        );
        let lo = dots.iter().map(|r| r.0).min().unwrap_or(0);
        let hi = dots.iter().map(|r| r.1).max().unwrap_or(0);
        let w = signed_width(lo, hi);
        let core = compile_core(
            d.weights.clone(),
            zero,
            d.in_features,
            d.out_features,
            w,
            w,
            AccOverflow::Wrap,
            in_i16,
        );
        let shift = (d.accum.frac_bits() - d.product_frac_bits()) as u32;
        let bias = (0..d.out_features).map(|j| d.bias_in_accum(j)).collect();
        (core, shift, bias)
    });
    // cores wider than 64 bits would take the step path without the fixed casts: use the
    // fixed step path instead
    let fast = fast.filter(|(c, _, _)| c.acc != Acc::Step);
    CompiledFixed {
        layer: d.clone(),
        fast,
    }
}

// A network holds a handful of layers, so boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
enum CompiledLayer {
    Dense(CompiledDense),
    Fixed(CompiledFixed),
    Conv(CompiledConv),
    Pool(MaxPool2d),
}

/// A convolution: per output pixel the window is gathered (padding taps as 0, which add
/// nothing) and each channel summed in wrapping i64 when that is exact (modulo the width),
/// else step by step.
struct CompiledConv {
    conv: Conv2d,
    levels: Vec<i64>,
    bits: u32,
    /// Sum in wrapping i64, then wrap to this width if below 64.
    modular: Option<u32>,
}

fn compile_conv(c: &Conv2d, cert: &AccCertificate) -> CompiledConv {
    let narrow = cert.bits < cert.proven_bits;
    let modular = match (narrow, c.accumulator.overflow) {
        (true, AccOverflow::Saturate) => None,
        (true, AccOverflow::Wrap) => (cert.bits <= 64).then_some(cert.bits),
        (false, _) => (cert.proven_bits <= 64).then_some(64),
    };
    CompiledConv {
        conv: c.clone(),
        levels: c.levels(),
        bits: cert.bits,
        modular,
    }
}

impl CompiledConv {
    fn run(
        &self,
        x: &[i32],
        dst: &mut Dst<'_>,
        base: usize,
        x64: &mut Vec<i64>,
        window: &mut Vec<i64>,
    ) {
        let c = &self.conv;
        x64.clear();
        x64.extend(x.iter().map(|&v| i64::from(v)));
        let (oh, ow) = c.out_hw();
        let taps = c.taps();
        for oy in 0..oh {
            for ox in 0..ow {
                c.window(x64, oy, ox, window);
                for o in 0..c.out_channels {
                    let row = &self.levels[o * taps..(o + 1) * taps];
                    let acc: i128 = match self.modular {
                        Some(bits) => {
                            let s = row
                                .iter()
                                .zip(window.iter())
                                .fold(c.bias[o], |a, (&l, &v)| a.wrapping_add(l.wrapping_mul(v)));
                            wrap(i128::from(s), bits)
                        }
                        None => exact::accumulate(
                            row,
                            c.bias[o],
                            window,
                            self.bits,
                            c.accumulator.overflow,
                        ),
                    };
                    let v = c.output.apply(acc, o) as i64;
                    dst.put(base + (o * oh + oy) * ow + ox, v);
                }
            }
        }
    }
}

impl CompiledLayer {
    fn in16(&self) -> bool {
        match self {
            CompiledLayer::Dense(d) => d.in16,
            CompiledLayer::Fixed(f) => f.fast.as_ref().is_some_and(|c| c.0.in16),
            CompiledLayer::Conv(_) | CompiledLayer::Pool(_) => false,
        }
    }

    fn in_f(&self) -> usize {
        match self {
            CompiledLayer::Dense(d) => d.in_f,
            CompiledLayer::Fixed(f) => f.layer.in_features,
            CompiledLayer::Conv(c) => c.conv.in_features(),
            CompiledLayer::Pool(p) => p.in_features(),
        }
    }

    fn out_f(&self) -> usize {
        match self {
            CompiledLayer::Dense(d) => d.out_f,
            CompiledLayer::Fixed(f) => f.layer.out_features,
            CompiledLayer::Conv(c) => c.conv.out_features(),
            CompiledLayer::Pool(p) => p.out_features(),
        }
    }
}

impl Dst<'_> {
    #[inline(always)]
    fn put(&mut self, k: usize, v: i64) {
        match self {
            Dst::I16(o) => o[k] = v as i16,
            Dst::I32(o) => o[k] = v as i32,
            Dst::Out(o) => o[k] = v,
        }
    }
}

/// Activations between layers, in the type the consuming layer wants.
enum Act<'a> {
    I16(&'a [i16]),
    I32(&'a [i32]),
}

/// Where a layer writes its outputs.
enum Dst<'a> {
    I16(&'a mut [i16]),
    I32(&'a mut [i32]),
    Out(&'a mut [i64]),
}

impl CompiledDense {
    /// Accumulators of `n` samples into `acc` (`n × out_f`), exact or as the hardware overflows.
    #[inline(always)]
    fn accumulate(&self, x: Act<'_>, n: usize, acc: &mut [i64], x64: &mut Vec<i64>) {
        let (inf, outf) = (self.in_f, self.out_f);
        match (&self.weights, x) {
            (Weights::I16(w), Act::I16(x)) => {
                for s in 0..n {
                    let xr = &x[s * inf..(s + 1) * inf];
                    let ar = &mut acc[s * outf..(s + 1) * outf];
                    for (j, a) in ar.iter_mut().enumerate() {
                        let d = dot_i16_i32(xr, &w[j * inf..(j + 1) * inf]);
                        *a = i64::from(d.wrapping_add(self.bias[j] as i32));
                    }
                }
            }
            (Weights::I32(w), Act::I32(x)) => {
                for s in 0..n {
                    let xr = &x[s * inf..(s + 1) * inf];
                    let ar = &mut acc[s * outf..(s + 1) * outf];
                    for (j, a) in ar.iter_mut().enumerate() {
                        let d = dot_i32_i32(xr, &w[j * inf..(j + 1) * inf]);
                        *a = i64::from(d.wrapping_add(self.bias[j] as i32));
                    }
                }
            }
            (Weights::I64(w), Act::I32(x)) if self.acc == Acc::I64 => {
                for s in 0..n {
                    let xr = &x[s * inf..(s + 1) * inf];
                    let ar = &mut acc[s * outf..(s + 1) * outf];
                    for (j, a) in ar.iter_mut().enumerate() {
                        *a = dot_i32_i64(xr, &w[j * inf..(j + 1) * inf]).wrapping_add(self.bias[j]);
                    }
                }
            }
            (_, Act::I32(x)) => {
                // step-by-step; only reached with results that fit i64 (saturating, ≤ 64 bits)
                for s in 0..n {
                    x64.clear();
                    x64.extend(x[s * inf..(s + 1) * inf].iter().map(|&v| i64::from(v)));
                    for j in 0..outf {
                        let row = &self.levels[j * inf..(j + 1) * inf];
                        let a = exact::accumulate(row, self.bias[j], x64, self.bits, self.overflow);
                        acc[s * outf + j] = a as i64;
                    }
                }
            }
            (_, Act::I16(_)) => unreachable!("i16 inputs only feed i16 weights"),
        }
        if let Some(bits) = self.final_wrap {
            let sh = 64 - bits;
            for a in &mut acc[..n * outf] {
                *a = if self.acc == Acc::I32 {
                    i64::from(((*a as i32) << (32 - bits)) >> (32 - bits))
                } else {
                    (*a << sh) >> sh
                };
            }
        }
    }

    /// The output stage on `n` samples' accumulators.
    #[inline(always)]
    fn finish(&self, acc: &[i64], n: usize, dst: Dst<'_>) {
        let outf = self.out_f;
        let acc = &acc[..n * outf];
        match (&self.stage, dst) {
            (Stage::Raw, Dst::Out(o)) => o[..acc.len()].copy_from_slice(acc),
            (Stage::Raw, _) => unreachable!("only the last layer emits raw accumulators"),
            (Stage::Fast { m, s, lo, hi, mode }, dst) => {
                let (m, s, lo, hi) = (&m[..outf], &s[..outf], *lo, *hi);
                match dst {
                    Dst::I16(o) => requant_fast(acc, m, s, lo, hi, *mode, |k, v| o[k] = v as i16),
                    Dst::I32(o) => requant_fast(acc, m, s, lo, hi, *mode, |k, v| o[k] = v as i32),
                    Dst::Out(o) => requant_fast(acc, m, s, lo, hi, *mode, |k, v| o[k] = v),
                }
            }
            (Stage::Sign, dst) => {
                let f = |k: usize| SignOutput::apply(i128::from(acc[k]));
                match dst {
                    Dst::I16(o) => (0..acc.len()).for_each(|k| o[k] = f(k) as i16),
                    Dst::I32(o) => (0..acc.len()).for_each(|k| o[k] = f(k) as i32),
                    Dst::Out(o) => (0..acc.len()).for_each(|k| o[k] = f(k)),
                }
            }
            (Stage::Exact(r), dst) => {
                let f = |k: usize| r.apply(i128::from(acc[k]), k % outf);
                match dst {
                    Dst::I16(o) => (0..acc.len()).for_each(|k| o[k] = f(k) as i16),
                    Dst::I32(o) => (0..acc.len()).for_each(|k| o[k] = f(k) as i32),
                    Dst::Out(o) => (0..acc.len()).for_each(|k| o[k] = f(k)),
                }
            }
        }
    }

    /// Step-by-step accumulators wider than 64 bits go straight to requantization in i128.
    fn needs_wide_path(&self) -> bool {
        self.acc == Acc::Step && self.bits.min(128) > 64
    }
}

/// Requantizes `acc` (rows of `m.len()` channels); the rounding mode is matched once so each
/// loop is specialised.
#[inline(always)]
fn requant_fast(
    acc: &[i64],
    m: &[i64],
    s: &[u32],
    lo: i64,
    hi: i64,
    mode: RoundingMode,
    mut put: impl FnMut(usize, i64),
) {
    #[inline(always)]
    fn run(
        acc: &[i64],
        m: &[i64],
        s: &[u32],
        lo: i64,
        hi: i64,
        mode: RoundingMode,
        put: &mut impl FnMut(usize, i64),
    ) {
        let c = m.len();
        for (row, chunk) in acc.chunks_exact(c).enumerate() {
            for j in 0..c {
                let v = shr_round_i64(chunk[j] * m[j], s[j], mode).clamp(lo, hi);
                put(row * c + j, v);
            }
        }
    }
    use RoundingMode::*;
    match mode {
        Floor => run(acc, m, s, lo, hi, Floor, &mut put),
        Ceil => run(acc, m, s, lo, hi, Ceil, &mut put),
        TowardZero => run(acc, m, s, lo, hi, TowardZero, &mut put),
        AwayFromZero => run(acc, m, s, lo, hi, AwayFromZero, &mut put),
        HalfToPosInf => run(acc, m, s, lo, hi, HalfToPosInf, &mut put),
        HalfToNegInf => run(acc, m, s, lo, hi, HalfToNegInf, &mut put),
        HalfTowardZero => run(acc, m, s, lo, hi, HalfTowardZero, &mut put),
        HalfAwayFromZero => run(acc, m, s, lo, hi, HalfAwayFromZero, &mut put),
        HalfEven => run(acc, m, s, lo, hi, HalfEven, &mut put),
        HalfOdd => run(acc, m, s, lo, hi, HalfOdd, &mut put),
    }
}

/// A network compiled for fast, bit-exact batch inference.
pub struct Engine {
    layers: Vec<CompiledLayer>,
    in_features: usize,
    out_features: usize,
    input_min: i64,
    input_max: i64,
    macs: u64,
}

impl Engine {
    /// Compiles a validated network.
    pub fn new(net: &QNet) -> Result<Engine, QnnError> {
        net.validate()?;
        let layers = net
            .layers
            .iter()
            .enumerate()
            .map(|(k, l)| {
                let in16 = net.layer_input_format(k).fits_i16();
                let cert = net.certificate_of(k);
                match (l, cert) {
                    (Layer::Dense(d), Some(c)) => CompiledLayer::Dense(compile_dense(d, &c, in16)),
                    (Layer::FixedDense(d), Some(c)) => {
                        CompiledLayer::Fixed(compile_fixed(d, &c, in16))
                    }
                    (Layer::Conv2d(d), Some(c)) => CompiledLayer::Conv(compile_conv(d, &c)),
                    (Layer::MaxPool2d(p), _) => CompiledLayer::Pool(p.clone()),
                    (_, None) => unreachable!("accumulating layers have certificates"),
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
        if !x.len().is_multiple_of(self.in_features) {
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

    /// The predicted class of each sample of `net` (which this engine was compiled from): the
    /// index of its largest real-valued output ([`QNet::class_of`]).
    pub fn classify(&self, net: &QNet, x: &[i32]) -> Result<Vec<usize>, QnnError> {
        let out = self.infer(x)?;
        Ok(out
            .chunks_exact(self.out_features)
            .map(|r| net.class_of(r))
            .collect())
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
        const BLOCK: usize = 32;
        let width = self
            .layers
            .iter()
            .map(|l| l.in_f().max(l.out_f()))
            .max()
            .unwrap_or(0)
            * BLOCK;
        let (mut a16, mut b16) = (vec![0i16; width], vec![0i16; width]);
        let (mut a32, mut b32) = (vec![0i32; width], vec![0i32; width]);
        let mut acc = vec![0i64; width];
        let mut x64 = Vec::new();
        let last = self.layers.len() - 1;
        for (xs, os) in x
            .chunks(BLOCK * self.in_features)
            .zip(out.chunks_mut(BLOCK * self.out_features))
        {
            let n = xs.len() / self.in_features;
            if self.layers[0].in16() {
                for (d, &v) in a16.iter_mut().zip(xs) {
                    *d = v as i16;
                }
            } else {
                a32[..xs.len()].copy_from_slice(xs);
            }
            for (k, l) in self.layers.iter().enumerate() {
                let len = n * l.in_f();
                let in16 = l.in16();
                let input = if in16 {
                    Act::I16(&a16[..len])
                } else {
                    Act::I32(&a32[..len])
                };
                let mut dst = if k == last {
                    Dst::Out(&mut *os)
                } else if self.layers[k + 1].in16() {
                    Dst::I16(&mut b16)
                } else {
                    Dst::I32(&mut b32)
                };
                match l {
                    CompiledLayer::Dense(d) if d.needs_wide_path() => {
                        wide_layer(d, &a32[..len], n, &mut dst)
                    }
                    CompiledLayer::Dense(d) => {
                        d.accumulate(input, n, &mut acc, &mut x64);
                        d.finish(&acc, n, dst);
                    }
                    CompiledLayer::Conv(c) => {
                        let (inf, outf) = (c.conv.in_features(), c.conv.out_features());
                        let mut window = Vec::with_capacity(c.conv.taps());
                        for s in 0..n {
                            c.run(
                                &a32[s * inf..(s + 1) * inf],
                                &mut dst,
                                s * outf,
                                &mut x64,
                                &mut window,
                            );
                        }
                    }
                    CompiledLayer::Pool(p) => {
                        let (inf, outf) = (p.in_features(), p.out_features());
                        for s in 0..n {
                            x64.clear();
                            x64.extend(a32[s * inf..(s + 1) * inf].iter().map(|&v| i64::from(v)));
                            for (j, v) in p.apply(&x64).into_iter().enumerate() {
                                dst.put(s * outf + j, v);
                            }
                        }
                    }
                    CompiledLayer::Fixed(f) => match &f.fast {
                        Some((core, shift, bias)) => {
                            core.accumulate(input, n, &mut acc, &mut x64);
                            let outf = core.out_f;
                            for (i, &a) in acc[..n * outf].iter().enumerate() {
                                let v = bias[i % outf] + (i128::from(a) << *shift);
                                dst.put(i, f.layer.finish(v));
                            }
                        }
                        None => {
                            let inf = f.layer.in_features;
                            for s in 0..n {
                                x64.clear();
                                x64.extend(
                                    a32[s * inf..(s + 1) * inf].iter().map(|&v| i64::from(v)),
                                );
                                for (j, v) in f.layer.infer_one(&x64).into_iter().enumerate() {
                                    dst.put(s * f.layer.out_features + j, v);
                                }
                            }
                        }
                    },
                }
                std::mem::swap(&mut a16, &mut b16);
                std::mem::swap(&mut a32, &mut b32);
            }
        }
    }
}

/// A layer whose accumulator needs more than 64 bits: i128 throughout.
fn wide_layer(l: &CompiledDense, x: &[i32], n: usize, dst: &mut Dst<'_>) {
    let mut x64 = Vec::with_capacity(l.in_f);
    for s in 0..n {
        x64.clear();
        x64.extend(
            x[s * l.in_f..(s + 1) * l.in_f]
                .iter()
                .map(|&v| i64::from(v)),
        );
        for j in 0..l.out_f {
            let row = &l.levels[j * l.in_f..(j + 1) * l.in_f];
            let a = exact::accumulate(row, l.bias[j], &x64, l.bits, l.overflow);
            let v = match &l.stage {
                Stage::Fast { .. } | Stage::Raw => a as i64,
                Stage::Exact(r) => r.apply(a, j),
                Stage::Sign => SignOutput::apply(a),
            };
            dst.put(s * l.out_f + j, v);
        }
    }
}
