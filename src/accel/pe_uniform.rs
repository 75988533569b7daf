//! Uniform (two's complement) weights: each lane multiplies its activation by a `w_bits`-bit
//! weight with a multiplier sized to the exact product range.
//!
//! Lane datapath: `p = x * w` (`x` the activation, sign- or zero-extended as its signedness
//! says; `w` the weight code read as two's complement). Cost per lane: about `4.5·A·W` LUT4 for
//! Yosys 0.23's array multiplier (DESIGN.md §6: 294 LUT4 at 8×8, 136 at 8×4, accumulator
//! included).
//!
//! ```
//! use qforge::accel::UniformWeights;
//! let w = UniformWeights::new(4).unwrap();
//! assert_eq!(w.level(0b1111), -1);
//! assert_eq!(w.level_range(), (-8, 7));
//! ```

use super::pe::Lane;
use super::unit::UnitError;
use crate::hdl::{Expr, HdlError, ModuleBuilder};

/// Uniform weights: `w_bits`-bit two's complement levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UniformWeights {
    /// Weight width, 1..=16 (1 bit gives the levels {-1, 0}).
    pub w_bits: u32,
}

impl UniformWeights {
    /// Validates the weight width.
    pub fn new(w_bits: u32) -> Result<UniformWeights, UnitError> {
        if !(1..=16).contains(&w_bits) {
            return Err(UnitError::BadParameter {
                name: "w_bits",
                value: w_bits.to_string(),
                rule: "must be between 1 and 16".into(),
            });
        }
        Ok(UniformWeights { w_bits })
    }

    /// Code width.
    pub fn code_bits(&self) -> u32 {
        self.w_bits
    }

    /// The level of a code.
    pub fn level(&self, code: u64) -> i64 {
        let w = self.w_bits;
        let c = (code & ((1u64 << w) - 1)) as i64;
        if c >> (w - 1) & 1 == 1 {
            c - (1i64 << w)
        } else {
            c
        }
    }

    /// Smallest and largest level.
    pub fn level_range(&self) -> (i64, i64) {
        (
            -(1i64 << (self.w_bits - 1)),
            (1i64 << (self.w_bits - 1)) - 1,
        )
    }

    /// One lane: the product at exactly `p_bits` bits.
    pub(crate) fn lane(
        &self,
        m: &mut ModuleBuilder,
        x: &Expr,
        code: &Expr,
        p_bits: u32,
        i: u32,
    ) -> Result<Lane, HdlError> {
        let w = code.as_signed();
        let p_bits = p_bits.max(x.width()).max(w.width());
        let p = m.wire(&format!("prod{i}"), x.mul_wrapping(&w, p_bits)?)?;
        Ok(Lane {
            value: p,
            carry: None,
        })
    }

    /// LUT4 estimate of one lane's multiplier for `a`-bit activations.
    pub fn lane_luts(&self, a: u32) -> u64 {
        u64::from(9 * a * self.w_bits / 2)
    }
}
