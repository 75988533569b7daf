//! The lane of a processing element: what one weight kind contributes to a PE, behind the
//! [`Lane`] trait.
//!
//! A PE ([`crate::accel::pe`]) is SIMD lanes, an adder tree and an accumulator. Everything that
//! depends on the weight code lives in the code's lane (one file per kind under
//! [`crate::accel::lanes`], found through [`lane_of`](crate::accel::lanes::lane_of)): the level
//! the hardware decodes, the lane datapath in the typed IR, the lane's cost estimate, the
//! narrowest accumulator it can feed, and its part of the generated module's name and header.
//! The PE around it is kind-agnostic: it asks its lane and never matches over kinds.
//!
//! Most lanes compute one product per SIMD lane ([`Datapath::Products`]): `value + carry`, where
//! the optional carry is the sign bit of a conditional negation `x ^ {P{s}}` that the PE adds
//! as a carry-in (DESIGN.md §6: 24–44% fewer LUTs than `s ? -x : x`). Binary lanes compute the
//! whole SIMD sum at once ([`Datapath::Sum`], XNOR-popcount).
//!
//! ```
//! use qforge::accel::lanes::lane_of;
//! use qforge::num::weights::WeightCode;
//! let pot = WeightCode::pot(3, true, true).unwrap();
//! let lane = lane_of(&pot);
//! assert_eq!(lane.name_part(), "_e3");
//! assert_eq!(lane.level(0b1011), -4);
//! assert_eq!(lane.level_range(), (-64, 64));
//! ```

use crate::hdl::{Expr, HdlError, ModuleBuilder};

/// The PE around a lane: what a lane's datapath, cost and accumulator width depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaneShape {
    /// Activation width (1 for ±1 activations).
    pub a_bits: u32,
    /// Whether activations are two's complement.
    pub a_signed: bool,
    /// Lanes.
    pub simd: u32,
    /// Width of one weight code.
    pub w_bits: u32,
    /// Width of one lane's exact product.
    pub product_bits: u32,
}

impl LaneShape {
    /// Width of the activation as the lanes use it (one more bit for unsigned activations).
    pub fn x_bits(&self) -> u32 {
        self.a_bits + u32::from(!self.a_signed)
    }

    /// The narrowest accumulator for lanes with sign carries: one lane's product, the count of
    /// the SIMD carries, and the activation itself.
    pub fn sign_carry_acc_bits(&self) -> u32 {
        let carries = popcount_bits(self.simd) + 1;
        self.product_bits.max(carries).max(self.x_bits())
    }
}

/// Width of a popcount of `simd` bits.
pub fn popcount_bits(simd: u32) -> u32 {
    32 - simd.leading_zeros()
}

/// One lane's contribution: `value + carry` is the lane's product (the carry is the sign bit of
/// a conditional negation done as `x ^ {P{s}}`, added later as a carry-in).
#[derive(Clone, Debug)]
pub struct LaneTerm {
    /// The lane's value, `P` bits.
    pub value: Expr,
    /// The carry-in that completes it, if any (one bit).
    pub carry: Option<Expr>,
}

impl LaneTerm {
    /// The lane of magnitude `mag`, negated when `sign` (a 1-bit code field) is set: the value is
    /// `mag ^ {P{s}}` on a wire named `term{index}` and `s` is the carry-in that completes the
    /// two's-complement negation. Without a sign bit the magnitude is the lane.
    pub fn signed_magnitude(
        m: &mut ModuleBuilder,
        index: u32,
        mag: Expr,
        sign: Option<Expr>,
        p_bits: u32,
    ) -> Result<LaneTerm, HdlError> {
        match sign {
            Some(s) => {
                let v = mag.xor(&s.repeat(p_bits)?.as_signed())?;
                Ok(LaneTerm {
                    value: m.wire(&format!("term{index}"), v)?,
                    carry: Some(s),
                })
            }
            None => Ok(LaneTerm {
                value: mag,
                carry: None,
            }),
        }
    }
}

/// What a lane datapath hands the PE.
#[derive(Clone, Debug)]
pub enum Datapath {
    /// One product per SIMD lane (lane 0 first), summed by the PE's adder tree or chain of
    /// saturating adders.
    Products(Vec<LaneTerm>),
    /// The exact sum of every lane, computed by the datapath itself.
    Sum(Expr),
}

/// The datapath of lanes that each multiply one activation by one weight code: for every lane
/// `i`, wires `x{i}` (the activation, sign- or zero-extended as its signedness says) and `w{i}`
/// (the weight code), then `term` builds the lane's product from them.
pub fn per_lane(
    m: &mut ModuleBuilder,
    act: &Expr,
    wgt: &Expr,
    pe: &LaneShape,
    mut term: impl FnMut(&mut ModuleBuilder, &Expr, &Expr, u32) -> Result<LaneTerm, HdlError>,
) -> Result<Datapath, HdlError> {
    let (a, wb) = (pe.a_bits, pe.w_bits);
    let mut lanes = Vec::with_capacity(pe.simd as usize);
    for i in 0..pe.simd {
        let raw = act.slice((i + 1) * a - 1, i * a)?;
        let x = if pe.a_signed {
            raw.as_signed()
        } else {
            raw.zext(a + 1)?.as_signed()
        };
        let x = m.wire(&format!("x{i}"), x)?;
        let code = m.wire(&format!("w{i}"), wgt.slice((i + 1) * wb - 1, i * wb)?)?;
        lanes.push(term(m, &x, &code, i)?);
    }
    Ok(Datapath::Products(lanes))
}

/// One weight kind's lane: every view of it that the PE needs. Each kind implements it in its
/// own file under [`crate::accel::lanes`]; nothing has a default.
pub trait Lane {
    /// The kind's part of the generated module name, after the activation part: `_w4`, `_e3`,
    /// `_e2unz`, `_k2b2`, or nothing.
    fn name_part(&self) -> String;

    /// The kind's parameters for the generated module's header and manifests, in order.
    fn parameters(&self) -> Vec<(String, String)>;

    /// The integer level of a weight code exactly as the hardware decodes it: every bit pattern
    /// has one (bits above the code width are ignored; invalid codes decode as the datapath
    /// computes them).
    fn level(&self, code: u64) -> i64;

    /// Smallest and largest level over all codes.
    fn level_range(&self) -> (i64, i64);

    /// Whether activations are ±1 (one bit per lane, 1 = +1) rather than `a_bits`-bit integers.
    fn bipolar_activations(&self) -> bool;

    /// Whether each lane has a product of its own ([`Datapath::Products`]), so that the PE sums
    /// them with its adder tree or a chain of saturating adders.
    fn separate_products(&self) -> bool;

    /// The narrowest accumulator the datapath can be built for.
    fn min_acc_bits(&self, pe: &LaneShape) -> u32;

    /// Builds the datapath of all SIMD lanes from the `act` and `wgt` buses.
    fn datapath(
        &self,
        m: &mut ModuleBuilder,
        act: &Expr,
        wgt: &Expr,
        pe: &LaneShape,
    ) -> Result<Datapath, HdlError>;

    /// LUT4 estimate of all SIMD lanes' datapath, before the PE's adder tree and accumulator.
    fn luts(&self, pe: &LaneShape) -> u64;
}
