//! The ensemble combine unit: one transfer holds every member's output codes for one image;
//! out comes the ensemble's class, by majority vote or by the largest summed logit, exactly as
//! [`crate::qnn::ensemble`] defines it.
//!
//! ```text
//!            in_data: members × classes codes (member 0's classes first), signed
//!  ┌──────────────────────────────────────────────────────────────────────────┐
//!  │ u[k][j] = code[k][j] · C[k][j]      (constant multipliers, full width)   │
//!  │ vote: class_k = argmax_j u[k][j];  votes[j] = #{k : class_k = j}         │
//!  │       out = argmax_j votes[j]                                             │
//!  │ sum:  out = argmax_j Σ_k u[k][j]                                          │
//!  │ argmax: a chain of strict comparisons, so a tie keeps the lowest index   │
//!  └──────────────────────────────────────────────────────────────────────────┘
//!            out_data: the class (unsigned), registered; out_valid
//! ```
//!
//! The streaming ports of [`super::stream`]; `in_ready = !out_valid || out_ready`, one result
//! register, **latency 1**, a transfer every cycle. The control ignores the data.
//! **Cost** ([`CombineParams::cost`]): per constant multiplier about one LUT4 and one carry per
//! product bit and set bit of the constant; per comparison in an argmax chain one LUT4 and one
//! carry per compared bit plus the muxes of the value and index carried along; the vote's
//! counters; the result register.

use super::stream::{
    counter_bits, header, step_ports, stream_ports, uconst, StreamModel, StreamShape,
};
use super::unit::{Cost, Model, Unit, UnitError};
use crate::hdl::{Bits, Expr, HdlError, Module, ModuleBuilder, Port, Ty};
use crate::qnn::ensemble::{sum, vote, Combine};

/// Configuration of a combine unit. Build with [`CombineParams::new`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CombineParams {
    combine: Combine,
    classes: u32,
    code_bits: u32,
    constants: Vec<Vec<i128>>,
}

impl CombineParams {
    /// A unit for `constants.len()` members (2..=16) of `classes` classes (2..=1024) each,
    /// whose output codes are `code_bits` wide (2..=48, signed); `constants[k][j]` (positive,
    /// below 2^40) scales member `k`'s class `j` ([`crate::qnn::ensemble::Ensemble::constants`]).
    pub fn new(
        combine: Combine,
        code_bits: u32,
        constants: Vec<Vec<i128>>,
    ) -> Result<CombineParams, UnitError> {
        let bad = |name: &'static str, value: String, rule: &str| UnitError::BadParameter {
            name,
            value,
            rule: rule.into(),
        };
        let members = constants.len();
        if !(2..=16).contains(&members) {
            return Err(bad(
                "members",
                members.to_string(),
                "must be between 2 and 16",
            ));
        }
        let classes = constants[0].len();
        if !(2..=1024).contains(&classes) {
            return Err(bad(
                "classes",
                classes.to_string(),
                "must be between 2 and 1024",
            ));
        }
        if let Some(k) = constants.iter().position(|row| row.len() != classes) {
            return Err(bad(
                "constants",
                format!("member {k} with {}", constants[k].len()),
                &format!("every member needs one constant per class ({classes})"),
            ));
        }
        if let Some(c) = constants
            .iter()
            .flatten()
            .find(|&&c| !(1..1 << 40).contains(&c))
        {
            return Err(bad(
                "constant",
                c.to_string(),
                "must be between 1 and 2^40 - 1",
            ));
        }
        if !(2..=48).contains(&code_bits) {
            return Err(bad(
                "code_bits",
                code_bits.to_string(),
                "must be between 2 and 48",
            ));
        }
        Ok(CombineParams {
            combine,
            classes: classes as u32,
            code_bits,
            constants,
        })
    }

    fn members(&self) -> u32 {
        self.constants.len() as u32
    }

    /// Bits of the class index.
    pub fn class_bits(&self) -> u32 {
        counter_bits(u64::from(self.classes))
    }

    fn constant_bits(&self, c: i128) -> u32 {
        // Unsigned magnitude bits, plus a sign bit for the signed product.
        (128 - c.leading_zeros()) + 1
    }

    fn input(&self) -> StreamShape {
        StreamShape {
            lanes: self.members() * self.classes,
            lane_bits: self.code_bits,
            signed: true,
        }
    }

    fn output(&self) -> StreamShape {
        StreamShape {
            lanes: 1,
            lane_bits: self.class_bits(),
            signed: false,
        }
    }

    /// The class of one transfer's codes (member 0's classes first).
    pub fn class_of(&self, codes: &[i64]) -> usize {
        let c = self.classes as usize;
        let scaled: Vec<Vec<i128>> = self
            .constants
            .iter()
            .enumerate()
            .map(|(k, row)| {
                row.iter()
                    .enumerate()
                    .map(|(j, &m)| i128::from(codes[k * c + j]).saturating_mul(m))
                    .collect()
            })
            .collect();
        match self.combine {
            Combine::Vote => vote(&scaled),
            Combine::Sum => sum(&scaled),
        }
    }

    /// An argmax chain over `values` (same type): strict `>` (signed or not as the values
    /// are), so the lowest index wins a tie; returns the index, `class_bits` wide.
    fn argmax(
        &self,
        m: &mut ModuleBuilder,
        name: &str,
        values: Vec<Expr>,
    ) -> Result<Expr, HdlError> {
        let ib = self.class_bits();
        let mut best = values[0].clone();
        let mut index = uconst(ib, 0)?;
        let last = values.len() - 1;
        for (j, v) in values.iter().enumerate().skip(1) {
            let take = m.wire(&format!("{name}_take{j}"), v.gt(&best)?)?;
            if j < last {
                best = m.wire(&format!("{name}_best{j}"), Expr::mux(&take, v, &best)?)?;
            }
            index = m.wire(
                &format!("{name}_index{j}"),
                Expr::mux(&take, &uconst(ib, j as u64)?, &index)?,
            )?;
        }
        Ok(index)
    }

    fn build(&self) -> Result<Module, HdlError> {
        let h = header("combine", &self.parameters());
        let h: Vec<&str> = h.iter().map(String::as_str).collect();
        let mut m = ModuleBuilder::new(&self.name(), &h)?;
        m.clock_and_reset()?;
        let (n, c, b) = (self.members(), self.classes, self.code_bits);
        let in_data = m.input("in_data", Ty::unsigned(n * c * b))?;
        let in_valid = m.input("in_valid", Ty::bit())?;
        let out_ready = m.input("out_ready", Ty::bit())?;
        let widest = self
            .constants
            .iter()
            .flatten()
            .map(|&k| self.constant_bits(k))
            .max()
            .unwrap_or(2);
        let product_bits = b + widest;
        let mut scaled: Vec<Vec<Expr>> = Vec::new();
        for k in 0..n {
            let mut row = Vec::new();
            for j in 0..c {
                let lane = k * c + j;
                let code = in_data.slice((lane + 1) * b - 1, lane * b)?.as_signed();
                let constant = self.constants[k as usize][j as usize];
                let cb = self.constant_bits(constant);
                let product = code.mul(&Expr::int(Ty::signed(cb), constant)?)?;
                row.push(m.wire(&format!("u{k}_{j}"), product.sext(product_bits)?)?);
            }
            scaled.push(row);
        }
        let ib = self.class_bits();
        let class = match self.combine {
            Combine::Vote => {
                let mut picks = Vec::new();
                for (k, row) in scaled.into_iter().enumerate() {
                    picks.push(self.argmax(&mut m, &format!("m{k}"), row)?);
                }
                let mut votes = Vec::new();
                for j in 0..c {
                    let hits: Vec<Expr> = picks
                        .iter()
                        .map(|p| p.eq(&uconst(ib, u64::from(j))?))
                        .collect::<Result<_, _>>()?;
                    // Every class's count has the same width: the tree of `members` bits.
                    let count = Expr::sum_tree(hits, false)?;
                    votes.push(m.wire(&format!("votes{j}"), count)?);
                }
                self.argmax(&mut m, "vote", votes)?
            }
            Combine::Sum => {
                let mut totals = Vec::new();
                for j in 0..c as usize {
                    let terms: Vec<Expr> = scaled.iter().map(|row| row[j].clone()).collect();
                    totals.push(m.wire(&format!("total{j}"), Expr::sum_tree(terms, true)?)?);
                }
                self.argmax(&mut m, "sum", totals)?
            }
        };
        let valid = m.reg("valid_r", Ty::bit(), 0)?;
        let ready = m.wire("ready", valid.not().or(&out_ready)?)?;
        let push = m.wire("push", in_valid.and(&ready)?)?;
        m.reg_next("class_r", class, 0, Some(push.clone()))?;
        let next_valid = Expr::mux(&push, &uconst(1, 1)?, &valid.and(&out_ready.not())?)?;
        m.drive_reg("valid_r", next_valid, None)?;
        m.output("in_ready", ready)?;
        m.output("out_data", Expr::signal("class_r", Ty::unsigned(ib)))?;
        m.output("out_valid", valid)?;
        m.finish()
    }
}

impl Unit for CombineParams {
    type Model = CombineModel;

    /// `qf_combine_<vote|sum>_m<members>_c<classes>_b<code_bits>_<hash of the constants>`.
    fn name(&self) -> String {
        let text: Vec<String> = self
            .constants
            .iter()
            .flatten()
            .map(i128::to_string)
            .collect();
        format!(
            "qf_combine_{}_m{}_c{}_b{}_{:08x}",
            self.combine.name(),
            self.members(),
            self.classes,
            self.code_bits,
            crate::hash::fnv1a64(text.join(",").as_bytes()) as u32
        )
    }

    fn parameters(&self) -> Vec<(String, String)> {
        let rows: Vec<String> = self
            .constants
            .iter()
            .map(|row| {
                let r: Vec<String> = row.iter().map(i128::to_string).collect();
                format!("[{}]", r.join(", "))
            })
            .collect();
        vec![
            ("combine".into(), self.combine.name().into()),
            ("members".into(), self.members().to_string()),
            ("classes".into(), self.classes.to_string()),
            ("code_bits".into(), self.code_bits.to_string()),
            ("constants".into(), rows.join(" ")),
        ]
    }

    /// The stream ports ([`super::stream`]): `in_data` of members × classes lanes, `out_data`
    /// of one class index.
    fn ports(&self) -> Vec<Port> {
        stream_ports(self.input(), self.output())
    }

    fn model(&self) -> CombineModel {
        CombineModel {
            params: self.clone(),
            valid: false,
            out: vec![0],
        }
    }

    fn verilog(&self) -> Result<Vec<Module>, UnitError> {
        Ok(vec![self.build()?])
    }

    /// See the module docs: multipliers by their constants' set bits, the argmax chains, the
    /// vote counters, the result register.
    fn cost(&self) -> Cost {
        let b = u64::from(self.code_bits);
        let (n, c) = (u64::from(self.members()), u64::from(self.classes));
        let ib = u64::from(self.class_bits());
        let mut lut = 0;
        let mut carry = 0;
        let mut product_bits = 0;
        for &k in self.constants.iter().flatten() {
            let pb = b + u64::from(self.constant_bits(k));
            product_bits = product_bits.max(pb);
            let adds = u64::from(k.count_ones()).saturating_sub(1);
            lut += adds * pb;
            carry += adds * pb;
        }
        let chain = |w: u64| (c - 1) * (2 * w + ib);
        match self.combine {
            Combine::Vote => {
                let vb = u64::from(counter_bits(n + 1));
                lut += n * chain(product_bits) + c * (n * ib.div_ceil(2) + n) + chain(vb);
                carry += n * (c - 1) * product_bits + (c - 1) * vb;
            }
            Combine::Sum => {
                let tb = product_bits + u64::from(counter_bits(n));
                lut += c * (n - 1) * tb + chain(tb);
                carry += c * (n - 1) * tb + (c - 1) * tb;
            }
        }
        Cost {
            lut: lut + 2,
            ff: ib + 1,
            carry,
            dsp: 0,
            bram: 0,
        }
    }
}

/// The combine unit's behaviour: one result register.
#[derive(Clone, Debug)]
pub struct CombineModel {
    params: CombineParams,
    valid: bool,
    out: Vec<i64>,
}

impl StreamModel for CombineModel {
    fn out_valid(&self) -> bool {
        self.valid
    }

    fn out_data(&self) -> &[i64] {
        &self.out
    }

    fn in_ready(&self, out_ready: bool) -> bool {
        !self.valid || out_ready
    }

    fn clock(&mut self, in_valid: bool, in_data: &[i64], out_ready: bool) {
        if in_valid && self.in_ready(out_ready) {
            self.out[0] = self.params.class_of(in_data) as i64;
            self.valid = true;
        } else if out_ready {
            self.valid = false;
        }
    }

    fn quiet(&self, in_valid: bool, out_ready: bool) -> u64 {
        if (in_valid && self.in_ready(out_ready)) || (self.valid && out_ready) {
            0
        } else {
            u64::MAX
        }
    }

    fn skip(&mut self, _cycles: u64, _in_valid: bool, _out_ready: bool) {}

    fn control_state(&self, out: &mut Vec<u64>) {
        out.push(u64::from(self.valid));
    }

    fn reset_state(&mut self) {
        self.valid = false;
        self.out[0] = 0;
    }
}

impl Model for CombineModel {
    fn reset(&mut self) {
        self.reset_state();
    }

    fn step(&mut self, inputs: &[Bits]) -> Result<Vec<Bits>, UnitError> {
        let (i, o) = (self.params.input(), self.params.output());
        let ports = self.params.ports();
        step_ports(self, &ports, i, o, inputs)
    }
}
