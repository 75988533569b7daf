//! Additive powers-of-two weights ([`ApotFormat`]): each lane adds `k` shifted copies of its
//! activation, the shift of each term chosen by its field from the format's table, then
//! conditionally negates the sum. No multiplier and no barrel shifter: every shift in the table
//! is a constant, wired shift, and the field selects among them with a tree of 2:1 muxes.
//!
//! Lane datapath: `t_j = mux(field_j; 0, x << s_j[0], x << s_j[1], ...)`, `m = Σ_j t_j` (an adder
//! tree, exact at `P` bits), `v = m ^ {P{s}}` with the sign `s` as a carry into the accumulator.
//! Cost per lane: `P·(2^B − 1)` LUT4 per term for the muxes, `P` per adder and `P` for the XOR
//! (DESIGN.md §6 measures 97–151 LUT4 for 2-term A = 8 PEs).
//!
//! ```
//! use qforge::accel::lane::Lane;
//! use qforge::accel::lanes::apot::ApotLane;
//! use qforge::num::codes::ApotFormat;
//! let f = ApotFormat::li2020(2, 2, true).unwrap(); // shifts {5, 3, 1} and {4, 2, 0}
//! assert_eq!(f.max_magnitude(), Some(32 + 16));
//! assert_eq!(ApotLane(&f).level_range(), (-48, 48));
//! ```

use crate::accel::lane::{per_lane, Datapath, Lane, LaneShape, LaneTerm};
use crate::hdl::{Expr, HdlError, ModuleBuilder};
use crate::num::codes::ApotFormat;

/// The lane of [`WeightCode::Apot`](crate::num::weights::WeightCode::Apot) weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApotLane<'a>(pub &'a ApotFormat);

/// Selects `options[sel]` with a balanced tree of 2:1 muxes on the bits of `sel` (LSB first).
fn mux_tree(sel: &Expr, mut options: Vec<Expr>) -> Result<Expr, HdlError> {
    let mut bit = 0;
    while options.len() > 1 {
        let s = sel.bit(bit)?;
        let mut next = Vec::with_capacity(options.len().div_ceil(2));
        let mut it = options.into_iter();
        while let Some(a) = it.next() {
            match it.next() {
                Some(b) => next.push(Expr::mux(&s, &b, &a)?),
                None => next.push(a),
            }
        }
        options = next;
        bit += 1;
    }
    Ok(options.remove(0))
}

impl Lane for ApotLane<'_> {
    /// `_k<terms>b<term_bits>`, `u` for unsigned codes, and for a shift table other than Li et
    /// al.'s `x` and a stable hash of the table.
    fn name_part(&self) -> String {
        let f = self.0;
        let standard = ApotFormat::li2020(f.term_bits, f.terms(), f.signed)
            .map(|g| g == *f)
            .unwrap_or(false);
        let mut s = format!(
            "_k{}b{}{}",
            f.terms(),
            f.term_bits,
            if f.signed { "" } else { "u" }
        );
        if !standard {
            // A custom shift table: name it by a stable hash of the table.
            // Each shift is one byte: the format keeps shifts at most 62.
            let mut h = crate::hash::Fnv1a64::new();
            for &v in f.shifts.iter().flatten() {
                h.u8(v as u8);
            }
            s.push_str(&format!("x{}", h.tag32()));
        }
        s
    }

    fn parameters(&self) -> Vec<(String, String)> {
        let f = self.0;
        vec![
            ("terms".to_string(), f.terms().to_string()),
            ("term_bits".to_string(), f.term_bits.to_string()),
            ("w_signed".to_string(), f.signed.to_string()),
            ("shifts".to_string(), format!("{:?}", f.shifts)),
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

    /// Per lane wires `lane{i}_t{t}` (each term's selected shift), `mag{i}` (their sum) and,
    /// for signed codes, `term{i}`.
    fn datapath(
        &self,
        m: &mut ModuleBuilder,
        act: &Expr,
        wgt: &Expr,
        pe: &LaneShape,
    ) -> Result<Datapath, HdlError> {
        let f = self.0;
        let p_bits = pe.product_bits;
        per_lane(m, act, wgt, pe, |m, x, code, i| {
            let b = f.term_bits;
            let mut terms = Vec::new();
            for (t, shifts) in f.shifts.iter().enumerate() {
                let t = t as u32;
                let field = code.slice((t + 1) * b - 1, t * b)?;
                let mut options = vec![Expr::zero(x.ty().with_width(p_bits))?];
                for &s in shifts {
                    options.push(x.shl_const(s)?.sext(p_bits)?);
                }
                let term = m.wire(&format!("lane{i}_t{t}"), mux_tree(&field, options)?)?;
                terms.push(term);
            }
            let mag = Expr::sum_tree_capped(terms, true, p_bits)?;
            let mag = m.wire(&format!("mag{i}"), mag.sext(p_bits)?)?;
            let sign = if f.signed {
                Some(code.bit(f.terms() * b)?)
            } else {
                None
            };
            LaneTerm::signed_magnitude(m, i, mag, sign, p_bits)
        })
    }

    /// Per lane `P·(2^B − 1)` LUT4 per term, `P` per adder between terms, `P` for the XOR of
    /// signed codes.
    fn luts(&self, pe: &LaneShape) -> u64 {
        let f = self.0;
        let p = u64::from(pe.product_bits);
        let per_term = p * ((1u64 << f.term_bits) - 1);
        let adders = p * u64::from(f.terms().saturating_sub(1));
        let lane = per_term * u64::from(f.terms()) + adders + if f.signed { p } else { 0 };
        lane * u64::from(pe.simd)
    }
}
