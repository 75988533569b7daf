//! The i16-pair kernel of the MVU's batched values: with AVX-512 VNNI, `vpdpwssd` adds two
//! i16 × i16 products to each of 16 i32 lanes in one instruction (wrapping, so the sum is exact
//! modulo 2^32): twice the products per instruction of the i32 kernel's multiply and add.
//!
//! Layout: the inputs go in pairs `(x[2k], x[2k + 1])`, one i32 broadcast to every lane; the
//! weights of a block of 16 channels for that pair sit side by side, channel `c`'s two levels in
//! lane `c`: `w[((k · blocks + b) · 16 + c) · 2 + h]` = level of channel `16b + c` on input
//! `2k + h` (zero past the last channel or input).

/// Channels per block: the i32 lanes of one 512-bit register.
const LANES: usize = 16;

/// Weights arranged for the pair kernel.
pub(super) struct PairWeights {
    w: Vec<i16>,
    pairs: usize,
    blocks: usize,
}

impl PairWeights {
    /// The arrangement of `wt` (`wt[j · outf + c]`, `inf` inputs), or `None` when the CPU lacks
    /// AVX-512 VNNI or a level does not fit i16.
    pub(super) fn new(wt: &[i64], inf: usize, outf: usize) -> Option<PairWeights> {
        if !vnni() || wt.iter().any(|&l| i16::try_from(l).is_err()) {
            return None;
        }
        let (pairs, blocks) = (inf.div_ceil(2), outf.div_ceil(LANES));
        let mut w = vec![0i16; pairs * blocks * LANES * 2];
        for j in 0..inf {
            for c in 0..outf {
                let (k, h) = (j / 2, j % 2);
                w[(k * blocks * LANES + c) * 2 + h] = wt[j * outf + c] as i16;
            }
        }
        Some(PairWeights { w, pairs, blocks })
    }

    /// `acc[v · outf + c] = Σ_j x[v · inf + j] · level(c, j)` modulo 2^32 for every vector `v`;
    /// every `x` must fit i16 (the caller checks the input format).
    pub(super) fn accumulate(&self, x: &[i32], inf: usize, outf: usize, acc: &mut [i32]) {
        assert!(vnni(), "PairWeights::new checked the CPU");
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU has AVX-512 F, BW and VNNI (asserted above). Every load reads the 32
        // i16 of one block inside `self.w`, whose length is pairs · blocks · 16 · 2, at an
        // offset (k · blocks + b) · 32 with k < pairs and b < blocks (slices checked).
        unsafe {
            self.accumulate_vnni(x, inf, outf, acc)
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn accumulate_vnni(&self, x: &[i32], inf: usize, outf: usize, acc: &mut [i32]) {
        use std::arch::x86_64::*;
        let mut nonzero: Vec<(i32, usize)> = vec![(0, 0); self.pairs];
        for (x, acc) in x.chunks_exact(inf).zip(acc.chunks_exact_mut(outf)) {
            // The non-zero pairs, gathered without branches.
            let mut n = 0;
            for k in 0..self.pairs {
                let lo = x[2 * k] as u16 as u32;
                let hi = x.get(2 * k + 1).map_or(0, |&v| v as u16 as u32);
                let pair = (lo | hi << 16) as i32;
                nonzero[n] = (pair, k * self.blocks * LANES * 2);
                n += usize::from(pair != 0);
            }
            for (b, out) in acc.chunks_mut(LANES).enumerate() {
                let mut a = _mm512_setzero_si512();
                for &(pair, row) in &nonzero[..n] {
                    let at = row + b * LANES * 2;
                    let w = &self.w[at..at + LANES * 2];
                    let w = _mm512_loadu_si512(w.as_ptr().cast());
                    a = _mm512_dpwssd_epi32(a, _mm512_set1_epi32(pair), w);
                }
                let mut lanes = [0i32; LANES];
                _mm512_storeu_si512(lanes.as_mut_ptr().cast(), a);
                out.copy_from_slice(&lanes[..out.len()]);
            }
        }
    }
}

/// Whether the CPU has what the kernel needs.
fn vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
