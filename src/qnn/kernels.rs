//! Dot-product kernels of the golden inference. Each is exact in modular arithmetic: the sum is
//! computed modulo 2^32 or 2^64 with wrapping operations, which equals the exact sum whenever the
//! exact sum fits the type (the proven accumulator range guarantees it) and equals the wrapped
//! sum of a narrower wrapping accumulator otherwise.
//!
//! The i16 × i16 → i32 kernel is a plain fold, which LLVM turns into `pmaddwd` / `vpmaddwd` (or
//! `vpdpwssd` with AVX-512 VNNI: 32 products per instruction). PoT weights go through it too, as
//! their integer levels: a per-lane variable shift (`vpsllvd`) plus sign handling costs more
//! instructions than that one multiply-add.

/// `Σ x[i] · w[i]` modulo 2^32, on i16 operands (products are exact in i32). A plain fold:
/// LLVM recognises it as a multiply-add reduction (`vpmaddwd`, or `vpdpwssd` with VNNI).
#[inline(always)]
pub fn dot_i16_i32(x: &[i16], w: &[i16]) -> i32 {
    x.iter().zip(w).fold(0i32, |a, (&p, &q)| {
        a.wrapping_add(i32::from(p) * i32::from(q))
    })
}

/// `Σ x[i] · w[i]` modulo 2^32, on i32 operands.
#[inline(always)]
pub fn dot_i32_i32(x: &[i32], w: &[i32]) -> i32 {
    const L: usize = 16;
    let n = x.len().min(w.len());
    let (x, w) = (&x[..n], &w[..n]);
    let mut lanes = [0i32; L];
    let mut xc = x.chunks_exact(L);
    let mut wc = w.chunks_exact(L);
    for (xa, wa) in (&mut xc).zip(&mut wc) {
        for k in 0..L {
            lanes[k] = lanes[k].wrapping_add(xa[k].wrapping_mul(wa[k]));
        }
    }
    let mut acc = lanes.iter().fold(0i32, |a, &b| a.wrapping_add(b));
    for (&a, &b) in xc.remainder().iter().zip(wc.remainder()) {
        acc = acc.wrapping_add(a.wrapping_mul(b));
    }
    acc
}

/// `Σ x[i] · w[i]` modulo 2^64, on i32 inputs and i64 weights.
#[inline(always)]
pub fn dot_i32_i64(x: &[i32], w: &[i64]) -> i64 {
    const L: usize = 8;
    let n = x.len().min(w.len());
    let (x, w) = (&x[..n], &w[..n]);
    let mut lanes = [0i64; L];
    let mut xc = x.chunks_exact(L);
    let mut wc = w.chunks_exact(L);
    for (xa, wa) in (&mut xc).zip(&mut wc) {
        for k in 0..L {
            lanes[k] = lanes[k].wrapping_add(i64::from(xa[k]).wrapping_mul(wa[k]));
        }
    }
    let mut acc = lanes.iter().fold(0i64, |a, &b| a.wrapping_add(b));
    for (&a, &b) in xc.remainder().iter().zip(wc.remainder()) {
        acc = acc.wrapping_add(i64::from(a).wrapping_mul(b));
    }
    acc
}
