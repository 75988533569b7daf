//! Binary weights and activations (±1, bit 1 = +1): the lanes' products are the XNOR of the
//! activation and weight bits, and their sum is `2·popcount(xnor) − SIMD`.
//!
//! Datapath: `b = act ~^ wgt` (SIMD bits), `c = popcount(b)` (an adder tree of bits),
//! `S = {c, 0} − SIMD` computed modulo `2^(k+1)`, `k = ⌈log2(SIMD + 1)⌉`, which holds every sum
//! in `[−SIMD, SIMD]` exactly. Cost: one XNOR LUT4 per lane, about `SIMD` LUT4 for the
//! popcount's adders, `k + 1` for the final subtraction (DESIGN.md §6 measures 197 LUT4 for a
//! 64-wide XNOR-popcount PE with its accumulator).
//!
//! ```
//! use qforge::accel::pe_binary::{popcount_bits, sum_bits};
//! assert_eq!(popcount_bits(64), 7); // 0..=64
//! assert_eq!(sum_bits(64), 8);      // -64..=64
//! ```

use crate::hdl::{Bits, Expr, HdlError, ModuleBuilder, Ty};

/// Width of the sum `2·popcount − simd`: a signed value in `[−simd, simd]`.
pub fn sum_bits(simd: u32) -> u32 {
    popcount_bits(simd) + 1
}

/// Width of a popcount of `simd` bits.
pub fn popcount_bits(simd: u32) -> u32 {
    32 - simd.leading_zeros()
}

/// The ±1 sum of the lanes.
pub(crate) fn sum(
    m: &mut ModuleBuilder,
    act: &Expr,
    wgt: &Expr,
    simd: u32,
) -> Result<Expr, HdlError> {
    let agree = m.wire("agree", act.xnor(wgt)?)?;
    let count = m.wire("count", agree.popcount()?)?;
    let w = sum_bits(simd);
    let doubled = count.zext(w - 1)?.shl_const(1)?.as_signed();
    let k = Expr::constant(Bits::from_i128_wrapping(w, i128::from(simd)), true);
    debug_assert_eq!(k.ty(), Ty::signed(w));
    m.wire("sum", doubled.sub(&k)?)
}

/// LUT4 estimate.
pub fn luts(simd: u32) -> u64 {
    2 * u64::from(simd) + u64::from(sum_bits(simd))
}
