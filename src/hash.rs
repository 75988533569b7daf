//! Stable hashing: 64-bit FNV-1a over fields fed one by one, each in a stated byte encoding.
//!
//! Generated module names, sweep hashes, point ids and cache keys carry these hashes, so they
//! must not change between Rust releases or platforms (which rules out `DefaultHasher`) and
//! must not depend on how a type happens to print. Each method feeds one field in a fixed
//! encoding (integers little-endian at their own width); nothing separates fields, so a caller
//! hashing several variable-length fields uses [`Fnv1a64::field`], which puts the length first.
//!
//! ```
//! use qforge::hash::{fnv1a64, Fnv1a64};
//! let mut h = Fnv1a64::new();
//! h.u32(7).str("pe");
//! assert_eq!(h.finish(), {
//!     let mut bytes = 7u32.to_le_bytes().to_vec();
//!     bytes.extend_from_slice(b"pe");
//!     fnv1a64(&bytes)
//! });
//! assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
//! ```

/// The 64-bit FNV-1a hasher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fnv1a64(u64);

impl Default for Fnv1a64 {
    fn default() -> Self {
        Fnv1a64::new()
    }
}

impl Fnv1a64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;

    /// A hasher with nothing fed yet.
    pub const fn new() -> Self {
        Fnv1a64(Self::OFFSET)
    }

    /// Feeds raw bytes.
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(Self::PRIME);
        }
        self
    }

    /// Feeds the bytes of a string (UTF-8, no length).
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    /// Feeds a byte string as a field: its length (`u64`, little-endian), then its bytes, so
    /// that `("ab", "c")` and `("a", "bc")` differ.
    pub fn field(&mut self, bytes: &[u8]) -> &mut Self {
        self.u64(bytes.len() as u64).bytes(bytes)
    }

    /// Feeds one byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.bytes(&[v])
    }

    /// Feeds a `u32`, 4 bytes little-endian.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    /// Feeds a `u64`, 8 bytes little-endian.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    /// Feeds an `i64`, 8 bytes little-endian two's complement.
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    /// Feeds an `i128`, 16 bytes little-endian two's complement.
    pub fn i128(&mut self, v: i128) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    /// The hash of everything fed so far.
    pub fn finish(&self) -> u64 {
        self.0
    }

    /// The low 32 bits of the hash as 8 hex digits: the tag in generated module names.
    pub fn tag32(&self) -> String {
        format!("{:08x}", self.0 as u32)
    }
}

/// FNV-1a 64 of a byte string.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    Fnv1a64::new().bytes(bytes).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values of the FNV specification's test suite.
    #[test]
    fn matches_the_published_fnv1a_64_values() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn integers_are_fed_little_endian_at_their_width() {
        let mut h = Fnv1a64::new();
        h.u8(1).u32(2).u64(3).i64(-4).i128(-5);
        let mut bytes = vec![1u8];
        bytes.extend(2u32.to_le_bytes());
        bytes.extend(3u64.to_le_bytes());
        bytes.extend((-4i64).to_le_bytes());
        bytes.extend((-5i128).to_le_bytes());
        assert_eq!(h.finish(), fnv1a64(&bytes));
    }

    #[test]
    fn fields_put_their_length_first() {
        let mut a = Fnv1a64::new();
        a.field(b"ab").field(b"c");
        let mut b = Fnv1a64::new();
        b.field(b"a").field(b"bc");
        assert_ne!(a.finish(), b.finish());
        let mut c = Fnv1a64::new();
        c.u64(2).str("ab").u64(1).str("c");
        assert_eq!(a.finish(), c.finish());
    }

    #[test]
    fn the_tag_is_the_low_32_bits() {
        let mut h = Fnv1a64::new();
        h.str("a");
        assert_eq!(h.tag32(), "8601ec8c");
    }
}
