//! Ternary weights (two's complement 2-bit codes `00` = 0, `01` = +1, `11` = −1): each lane
//! adds, subtracts or skips its activation.
//!
//! Lane datapath: `g = code[0] ? x : 0`, `v = sext(g, A + 1) ^ {s}` with `s = code[1]` passed on
//! as a carry into the accumulator, so `v + s` is `x`, `−x` or 0. The invalid code `10` therefore
//! acts as 0 (`~0 + 1`), in the model as in the hardware. Cost per lane: `2·(A + 1)` LUT4 (gate
//! and XOR) before the adder tree.
//!
//! ```
//! use qforge::accel::pe_ternary::level;
//! assert_eq!([level(0b00), level(0b01), level(0b11), level(0b10)], [0, 1, -1, 0]);
//! ```

use super::pe::Lane;
use crate::hdl::{Expr, HdlError, ModuleBuilder};
use crate::num::codes::ternary_level;

/// The level of a ternary code; the invalid code `10` is 0, as the hardware computes it.
pub fn level(code: u64) -> i64 {
    ternary_level(code).unwrap_or(0)
}

/// One lane.
pub(crate) fn lane(
    m: &mut ModuleBuilder,
    x: &Expr,
    code: &Expr,
    p_bits: u32,
    i: u32,
) -> Result<Lane, HdlError> {
    let nz = code.bit(0)?;
    let s = code.bit(1)?;
    let g = Expr::mux(&nz, x, &Expr::zero(x.ty())?)?;
    let v = g.sext(p_bits)?.xor(&s.repeat(p_bits)?.as_signed())?;
    Ok(Lane {
        value: m.wire(&format!("term{i}"), v)?,
        carry: Some(s),
    })
}

/// LUT4 estimate of one lane.
pub fn lane_luts(p_bits: u32) -> u64 {
    2 * u64::from(p_bits)
}
