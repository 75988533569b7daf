//! Ternary weights (two's complement 2-bit codes `00` = 0, `01` = +1, `11` = −1): each lane
//! adds, subtracts or skips its activation.
//!
//! Lane datapath: `g = code[0] ? x : 0`, `v = sext(g, A + 1) ^ {s}` with `s = code[1]` passed on
//! as a carry into the accumulator, so `v + s` is `x`, `−x` or 0. The invalid code `10` therefore
//! acts as 0 (`~0 + 1`), in the model as in the hardware. Cost per lane: `2·(A + 1)` LUT4 (gate
//! and XOR) before the adder tree.
//!
//! ```
//! use qforge::accel::lane::Lane;
//! use qforge::accel::lanes::ternary::TernaryLane;
//! let t = TernaryLane;
//! assert_eq!([t.level(0b00), t.level(0b01), t.level(0b11), t.level(0b10)], [0, 1, -1, 0]);
//! ```

use crate::accel::lane::{per_lane, Datapath, Lane, LaneShape, LaneTerm};
use crate::hdl::{Expr, HdlError, ModuleBuilder};
use crate::num::codes::ternary_level;

/// The lane of [`WeightCode::Ternary`](crate::num::weights::WeightCode::Ternary) weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TernaryLane;

impl Lane for TernaryLane {
    fn name_part(&self) -> String {
        String::new()
    }

    fn parameters(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// The invalid code `10` is 0, as the hardware computes it.
    fn level(&self, code: u64) -> i64 {
        ternary_level(code).unwrap_or(0)
    }

    fn level_range(&self) -> (i64, i64) {
        (-1, 1)
    }

    fn bipolar_activations(&self) -> bool {
        false
    }

    fn separate_products(&self) -> bool {
        true
    }

    fn min_acc_bits(&self, pe: &LaneShape) -> u32 {
        pe.sign_carry_acc_bits()
    }

    /// Per lane a wire `term{i}`: the gated activation XOR the sign.
    fn datapath(
        &self,
        m: &mut ModuleBuilder,
        act: &Expr,
        wgt: &Expr,
        pe: &LaneShape,
    ) -> Result<Datapath, HdlError> {
        let p_bits = pe.product_bits;
        per_lane(m, act, wgt, pe, |m, x, code, i| {
            let nz = code.bit(0)?;
            let s = code.bit(1)?;
            let g = Expr::mux(&nz, x, &Expr::zero(x.ty())?)?;
            let v = g.sext(p_bits)?.xor(&s.repeat(p_bits)?.as_signed())?;
            Ok(LaneTerm {
                value: m.wire(&format!("term{i}"), v)?,
                carry: Some(s),
            })
        })
    }

    /// `2·P` LUT4 per lane (gate and XOR).
    fn luts(&self, pe: &LaneShape) -> u64 {
        2 * u64::from(pe.product_bits) * u64::from(pe.simd)
    }
}
