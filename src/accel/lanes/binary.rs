//! Binary weights and activations (±1, bit 1 = +1): the lanes' products are the XNOR of the
//! activation and weight bits, and their sum is `2·popcount(xnor) − SIMD`.
//!
//! Datapath: `b = act ~^ wgt` (SIMD bits), `c = popcount(b)` (an adder tree of bits),
//! `S = {c, 0} − SIMD` computed modulo `2^(k+1)`, `k = ⌈log2(SIMD + 1)⌉`, which holds every sum
//! in `[−SIMD, SIMD]` exactly. Cost: one XNOR LUT4 per lane, about `SIMD` LUT4 for the
//! popcount's adders, `k + 1` for the final subtraction (DESIGN.md §6 measures 197 LUT4 for a
//! 64-wide XNOR-popcount PE with its accumulator). The lanes have no separate products, so the
//! PE has no adder tree and offers no saturation after each product.
//!
//! ```
//! use qforge::accel::lane::popcount_bits;
//! use qforge::accel::lanes::binary::sum_bits;
//! assert_eq!(popcount_bits(64), 7); // 0..=64
//! assert_eq!(sum_bits(64), 8);      // -64..=64
//! ```

use crate::accel::lane::{popcount_bits, Datapath, Lane, LaneShape};
use crate::hdl::{Bits, Expr, HdlError, ModuleBuilder, Ty};
use crate::num::codes::binary_level;

/// The lane of [`WeightCode::Binary`](crate::num::weights::WeightCode::Binary) weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BinaryLane;

/// Width of the sum `2·popcount − simd`: a signed value in `[−simd, simd]`.
pub fn sum_bits(simd: u32) -> u32 {
    popcount_bits(simd) + 1
}

impl Lane for BinaryLane {
    fn name_part(&self) -> String {
        String::new()
    }

    fn parameters(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    fn level(&self, code: u64) -> i64 {
        binary_level(code)
    }

    fn level_range(&self) -> (i64, i64) {
        (-1, 1)
    }

    fn bipolar_activations(&self) -> bool {
        true
    }

    fn separate_products(&self) -> bool {
        false
    }

    /// The lane sum itself.
    fn min_acc_bits(&self, pe: &LaneShape) -> u32 {
        sum_bits(pe.simd)
    }

    /// Wires `agree` (the XNOR), `count` (its popcount) and `sum`.
    fn datapath(
        &self,
        m: &mut ModuleBuilder,
        act: &Expr,
        wgt: &Expr,
        pe: &LaneShape,
    ) -> Result<Datapath, HdlError> {
        let agree = m.wire("agree", act.xnor(wgt)?)?;
        // A balanced tree over a SIMD that is not a power of two grows a bit more than the
        // count needs; the count is at most SIMD, so adders capped at its width are exact.
        let bits = (0..pe.simd)
            .map(|i| agree.bit(i))
            .collect::<Result<Vec<_>, _>>()?;
        let count = m.wire(
            "count",
            Expr::sum_tree_capped(bits, false, popcount_bits(pe.simd))?,
        )?;
        let w = sum_bits(pe.simd);
        let doubled = count.zext(w - 1)?.shl_const(1)?.as_signed();
        let k = Expr::constant(Bits::from_i128_wrapping(w, i128::from(pe.simd)), true);
        debug_assert_eq!(k.ty(), Ty::signed(w));
        Ok(Datapath::Sum(m.wire("sum", doubled.sub(&k)?)?))
    }

    /// `2·SIMD` LUT4 for the XNORs and the popcount, `k + 1` for the subtraction.
    fn luts(&self, pe: &LaneShape) -> u64 {
        2 * u64::from(pe.simd) + u64::from(sum_bits(pe.simd))
    }
}
