//! Power-of-two weights ([`PotFormat`]): each lane shifts its activation by the code's exponent
//! and conditionally negates it. No multiplier.
//!
//! Lane datapath (`P` = the exact product width): `g = zero ? 0 : x` (only with a zero code),
//! `m = sext(g, P) << shift` (a barrel shifter, `shift` = the exponent field, minus one with a
//! zero code), and for signed codes `v = m ^ {P{s}}` with the sign `s` passed on as a carry
//! that the accumulator adds (`acc + (x ^ {P{s}}) + s`, DESIGN.md §6: 24–44% fewer LUTs than
//! `s ? -x : x`). Cost per lane: `P·E` LUT4 for the shifter's `E` stages plus `P` for the XOR
//! (calibrated against 40/70/98 LUT4 at E = 2/3/4, A = 8, accumulator included).
//!
//! ```
//! use qforge::accel::lane::Lane;
//! use qforge::accel::lanes::pot::PotLane;
//! use qforge::num::codes::PotFormat;
//! let f = PotFormat::new(3, true, true).unwrap(); // shifts 0..=6 and a zero code
//! assert_eq!(PotLane(f).level_range(), (-64, 64));
//! ```

use crate::accel::lane::{per_lane, Datapath, Lane, LaneShape, LaneTerm};
use crate::hdl::{Expr, HdlError, ModuleBuilder, Ty};
use crate::num::codes::PotFormat;

/// The lane of [`WeightCode::Pot`](crate::num::weights::WeightCode::Pot) weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PotLane(pub PotFormat);

impl Lane for PotLane {
    /// `_e<E>`, then `u` for unsigned codes and `nz` without a zero code.
    fn name_part(&self) -> String {
        let f = &self.0;
        format!(
            "_e{}{}{}",
            f.exp_bits,
            if f.signed { "" } else { "u" },
            if f.zero_code { "" } else { "nz" }
        )
    }

    fn parameters(&self) -> Vec<(String, String)> {
        let f = &self.0;
        vec![
            ("exp_bits".to_string(), f.exp_bits.to_string()),
            ("w_signed".to_string(), f.signed.to_string()),
            ("zero_code".to_string(), f.zero_code.to_string()),
        ]
    }

    fn level(&self, code: u64) -> i64 {
        self.0.level(code)
    }

    fn level_range(&self) -> (i64, i64) {
        self.0.level_range()
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

    /// Per lane a wire `mag{i}` (the shifted activation) and, for signed codes, `term{i}`.
    fn datapath(
        &self,
        m: &mut ModuleBuilder,
        act: &Expr,
        wgt: &Expr,
        pe: &LaneShape,
    ) -> Result<Datapath, HdlError> {
        let f = &self.0;
        let p_bits = pe.product_bits;
        per_lane(m, act, wgt, pe, |m, x, code, i| {
            let e = f.exp_bits;
            let field = code.slice(e - 1, 0)?;
            let (g, amount) = if f.zero_code {
                let nz = field.reduce_or();
                let g = Expr::mux(&nz, x, &Expr::zero(x.ty())?)?;
                let one = Expr::int(Ty::unsigned(e), 1)?;
                (g, field.sub(&one)?)
            } else {
                (x.clone(), field)
            };
            let shifted = m.wire(&format!("mag{i}"), g.sext(p_bits)?.shl(&amount)?)?;
            let sign = if f.signed { Some(code.bit(e)?) } else { None };
            LaneTerm::signed_magnitude(m, i, shifted, sign, p_bits)
        })
    }

    /// `P·E` LUT4 per lane for the shifter, `P` more for the XOR of signed codes.
    fn luts(&self, pe: &LaneShape) -> u64 {
        let f = &self.0;
        let p = pe.product_bits;
        u64::from(p * f.exp_bits + if f.signed { p } else { 0 }) * u64::from(pe.simd)
    }
}
