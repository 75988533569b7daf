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
//! use qforge::accel::pe_apot::{level_range, max_magnitude};
//! use qforge::num::codes::ApotFormat;
//! let f = ApotFormat::li2020(2, 2, true).unwrap(); // shifts {5, 3, 1} and {4, 2, 0}
//! assert_eq!(max_magnitude(&f), 32 + 16);
//! assert_eq!(level_range(&f), (-48, 48));
//! ```

use super::pe::Lane;
use crate::hdl::{Expr, HdlError, ModuleBuilder};
use crate::num::codes::ApotFormat;

/// The level of an APoT code.
pub fn level(f: &ApotFormat, code: u64) -> i64 {
    f.level(code)
}

/// The largest magnitude: every term at its largest shift.
pub fn max_magnitude(f: &ApotFormat) -> i64 {
    f.shifts
        .iter()
        .map(|s| 1i64 << s.iter().copied().max().unwrap_or(0))
        .sum()
}

/// Smallest and largest APoT level.
pub fn level_range(f: &ApotFormat) -> (i64, i64) {
    let m = max_magnitude(f);
    (if f.signed { -m } else { 0 }, m)
}

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

/// One lane.
pub(crate) fn lane(
    f: &ApotFormat,
    m: &mut ModuleBuilder,
    x: &Expr,
    code: &Expr,
    p_bits: u32,
    i: u32,
) -> Result<Lane, HdlError> {
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
    Lane::signed_magnitude(m, i, mag, sign, p_bits)
}

/// LUT4 estimate of one lane.
pub fn lane_luts(f: &ApotFormat, p_bits: u32) -> u64 {
    let per_term = u64::from(p_bits) * ((1u64 << f.term_bits) - 1);
    let adders = u64::from(p_bits) * u64::from(f.terms().saturating_sub(1));
    per_term * u64::from(f.terms()) + adders + if f.signed { u64::from(p_bits) } else { 0 }
}
