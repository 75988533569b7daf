//! Uniform (two's complement) weights: each lane multiplies its activation by a `bits`-bit
//! weight with a multiplier sized to the exact product range.
//!
//! Lane datapath: `p = x * w` (`x` the activation, sign- or zero-extended as its signedness
//! says; `w` the weight code read as two's complement). Cost per lane: about `4.5·A·W` LUT4 for
//! Yosys 0.23's array multiplier (DESIGN.md §6: 294 LUT4 at 8×8, 136 at 8×4, accumulator
//! included).
//!
//! ```
//! use qforge::accel::lane::Lane;
//! use qforge::accel::lanes::uniform::UniformLane;
//! let w = UniformLane { bits: 4 };
//! assert_eq!(w.level(0b1111), -1);
//! assert_eq!(w.level_range(), (-8, 7));
//! ```

use crate::accel::lane::{per_lane, Datapath, Lane, LaneShape, LaneTerm};
use crate::hdl::{Expr, HdlError, ModuleBuilder};

/// The lane of [`WeightCode::Uniform`](crate::num::weights::WeightCode::Uniform) weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UniformLane {
    /// Weight width.
    pub bits: u32,
}

impl Lane for UniformLane {
    fn name_part(&self) -> String {
        format!("_w{}", self.bits)
    }

    fn parameters(&self) -> Vec<(String, String)> {
        vec![("w_bits".to_string(), self.bits.to_string())]
    }

    fn level(&self, code: u64) -> i64 {
        let w = self.bits;
        let c = (code & ((1u64 << w) - 1)) as i64;
        if c >> (w - 1) & 1 == 1 {
            c - (1i64 << w)
        } else {
            c
        }
    }

    fn level_range(&self) -> (i64, i64) {
        (-(1i64 << (self.bits - 1)), (1i64 << (self.bits - 1)) - 1)
    }

    fn bipolar_activations(&self) -> bool {
        false
    }

    fn separate_products(&self) -> bool {
        true
    }

    /// One lane's product, the activation and the weight code.
    fn min_acc_bits(&self, pe: &LaneShape) -> u32 {
        pe.product_bits.max(pe.x_bits()).max(pe.w_bits)
    }

    /// Per lane a wire `prod{i}`: the product at exactly `P` bits (at least the operands').
    fn datapath(
        &self,
        m: &mut ModuleBuilder,
        act: &Expr,
        wgt: &Expr,
        pe: &LaneShape,
    ) -> Result<Datapath, HdlError> {
        per_lane(m, act, wgt, pe, |m, x, code, i| {
            let w = code.as_signed();
            let p_bits = pe.product_bits.max(x.width()).max(w.width());
            let p = m.wire(&format!("prod{i}"), x.mul_wrapping(&w, p_bits)?)?;
            Ok(LaneTerm {
                value: p,
                carry: None,
            })
        })
    }

    /// `4.5·A·W` LUT4 per lane (`A` with the extension bit of unsigned activations).
    fn luts(&self, pe: &LaneShape) -> u64 {
        u64::from(9 * pe.x_bits() * self.bits / 2) * u64::from(pe.simd)
    }
}
