//! The seeded random-number generator behind initialisation and shuffling (no `rand` dependency:
//! twenty lines give the same stream on every platform, which determinism needs).
//!
//! ```
//! use qforge::nn::SplitMix64;
//! // First output for seed 0, as in the reference implementation (Vigna, splitmix64.c).
//! assert_eq!(SplitMix64::new(0).next_u64(), 0xe220a8397b1dcdaf);
//! let mut v = [1, 2, 3, 4];
//! SplitMix64::new(7).shuffle(&mut v);
//! v.sort();
//! assert_eq!(v, [1, 2, 3, 4]);
//! ```

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, statistically sound seeded generator.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform integer in `0..n` (`n > 0`), by Lemire's multiply-shift (bias below 2^-40 for our sizes).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}
