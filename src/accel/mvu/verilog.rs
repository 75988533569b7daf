//! The MVU's Verilog: the weight ROM, the tile's wiring, the bias, requantization and clamp
//! of each lane, the output register and the counters (see the parent module's diagram).

use super::{MvuFault, MvuOutput, MvuParams, RequantHw, Storage};
use crate::accel::stream::{counter_bits, header, select, uconst};
use crate::accel::unit::Unit;
use crate::hdl::{Bits, Expr, HdlError, MemoryWrite, Module, ModuleBuilder, Ty};
use crate::num::rounding::RoundingMode;
use crate::qnn::format::wrap;

impl MvuParams {
    /// The ROM word at `addr = nf · SF + sf`: row `r`'s SIMD codes in bits `r·SIMD·W ..`.
    pub(super) fn rom_word(&self, addr: u32) -> Bits {
        let (sf, nf) = (addr % self.sf(), addr / self.sf());
        let w = self.kind.code_bits();
        let mut fields = Vec::with_capacity((self.pe * self.simd) as usize);
        for r in 0..self.pe {
            let c = (nf * self.pe + r) as usize;
            for i in 0..self.simd {
                let j = (sf * self.simd + i) as usize;
                let code = self.codes[c * self.in_features as usize + j];
                fields.push(Bits::from_i128_wrapping(w, i128::from(code)));
            }
        }
        Bits::concat_lsb_first(&fields)
    }

    pub(super) fn build(&self, array: &Module) -> Result<Module, HdlError> {
        let h = header("mvu", &self.parameters());
        let h: Vec<&str> = h.iter().map(String::as_str).collect();
        let mut m = ModuleBuilder::new(&self.name(), &h)?;
        let (clk, rst) = m.clock_and_reset()?;
        let (sf_n, nf_n) = (self.sf(), self.nf());
        let depth = sf_n * nf_n;
        let a = self.input.bits;
        let out_shape = self.output_shape();
        let ob = out_shape.lane_bits;
        let in_data = m.input("in_data", Ty::unsigned(self.simd * a))?;
        let in_valid = m.input("in_valid", Ty::bit())?;
        let out_ready = m.input("out_ready", Ty::bit())?;
        let one = Expr::int(Ty::bit(), 1)?;

        // Registers of the control path.
        let done = m.reg("done_r", Ty::bit(), 0)?;
        let out_valid = m.reg("out_valid_r", Ty::bit(), 0)?;
        let out_data = m.reg("out_data_r", Ty::unsigned(self.pe * ob), 0)?;
        let sfw = counter_bits(u64::from(sf_n));
        let nfw = counter_bits(u64::from(nf_n));
        let sf = if sf_n > 1 {
            Some(m.reg("sf_r", Ty::unsigned(sfw), 0)?)
        } else {
            None
        };
        let nf = if nf_n > 1 {
            Some(m.reg("nf_r", Ty::unsigned(nfw), 0)?)
        } else {
            None
        };
        let aw = counter_bits(u64::from(depth));
        let waddr = if depth > 1 {
            Some(m.reg("waddr_r", Ty::unsigned(aw), 0)?)
        } else {
            None
        };

        let b_free = m.wire("b_free", out_valid.not().or(&out_ready)?)?;
        let can_fire = m.wire("can_fire", done.not().or(&b_free)?)?;
        let first = match &nf {
            Some(nf) => m.wire("first", nf.eq(&uconst(nfw, 0)?)?)?,
            None => one.clone(),
        };
        let ready = m.wire("ready", first.and(&can_fire)?)?;
        let have = Expr::mux(&first, &in_valid, &one)?;
        let fire = m.wire("fire", can_fire.and(&have)?)?;
        let last_sf = match &sf {
            Some(sf) => {
                let end = if self.fault == MvuFault::FoldCounter && sf_n >= 2 {
                    sf_n - 2
                } else {
                    sf_n - 1
                };
                m.wire("last_sf", sf.eq(&uconst(sfw, u64::from(end))?)?)?
            }
            None => one.clone(),
        };
        let fire_last = m.wire("fire_last", fire.and(&last_sf)?)?;
        let transfer = m.wire("transfer", done.and(&b_free)?)?;

        // Counters.
        let mut sf_next = None;
        if let Some(sf) = &sf {
            let next = Expr::mux(&last_sf, &uconst(sfw, 0)?, &sf.add(&uconst(sfw, 1)?)?)?;
            m.drive_reg("sf_r", next.clone(), Some(fire.clone()))?;
            sf_next = Some(next);
        }
        if let Some(nf) = &nf {
            let last = nf.eq(&uconst(nfw, u64::from(nf_n - 1))?)?;
            let next = Expr::mux(&last, &uconst(nfw, 0)?, &nf.add(&uconst(nfw, 1)?)?)?;
            m.drive_reg("nf_r", next, Some(fire_last.clone()))?;
        }
        let mut waddr_next = None;
        if let Some(wa) = &waddr {
            let last = wa.eq(&uconst(aw, u64::from(depth - 1))?)?;
            let next = Expr::mux(&last, &uconst(aw, 0)?, &wa.add(&uconst(aw, 1)?)?)?;
            m.drive_reg("waddr_r", next.clone(), Some(fire.clone()))?;
            waddr_next = Some(next);
        }
        m.drive_reg("done_r", fire_last.or(&done.and(&b_free.not())?)?, None)?;
        m.drive_reg(
            "out_valid_r",
            transfer.or(&out_valid.and(&out_ready.not())?)?,
            None,
        )?;

        // Activations: the stream on the first pass, the input buffer after.
        let x = match (&nf, &sf) {
            (Some(_), Some(sf)) if self.input_memory == Storage::BlockRam => {
                // Written at `sf` on the first pass, read at the value `sf` takes at the edge:
                // when both happen (a fire) the two differ, as `sf` moves on every fire.
                let next = sf_next.as_ref().unwrap_or(sf);
                let ahead = Expr::mux(&fire, next, sf)?;
                let raddr = m.wire("ibuf_raddr", Expr::mux(&rst, &uconst(sfw, 0)?, &ahead)?)?;
                let write = MemoryWrite {
                    enable: m.wire("ibuf_we", fire.and(&first)?.and(&rst.not())?)?,
                    addr: sf.clone(),
                    data: in_data.clone(),
                    never_reads_written_word: true,
                };
                let words = vec![Bits::zero(self.simd * a); sf_n as usize];
                let stored = m.memory("ibuf", words, raddr, Some(write))?;
                m.wire("x", Expr::mux(&first, &in_data, &stored)?)?
            }
            (Some(_), Some(sf)) => {
                let mut entries = Vec::new();
                for i in 0..sf_n {
                    let name = format!("ibuf{i}");
                    let en = fire
                        .and(&first)?
                        .and(&sf.eq(&uconst(sfw, u64::from(i))?)?)?;
                    entries.push(m.reg_next(&name, in_data.clone(), 0, Some(en))?);
                }
                let stored = select(&mut m, "ibuf_rd", sf, entries)?;
                m.wire("x", Expr::mux(&first, &in_data, &stored)?)?
            }
            (Some(_), None) => {
                // One chunk per vector: keep it for the later passes.
                let en = fire.and(&first)?;
                let stored = m.reg_next("ibuf0", in_data.clone(), 0, Some(en))?;
                m.wire("x", Expr::mux(&first, &in_data, &stored)?)?
            }
            (None, _) => in_data.clone(),
        };

        // Weights: a LUT ROM read at the counter, or a block RAM read at the value the counter
        // takes at the edge (its register's own next value), so the word is there one edge
        // later, when the counter holds that address.
        let wgt = match (&waddr, &waddr_next, self.weight_memory) {
            (Some(wa), Some(next), Storage::BlockRam) => {
                let ahead = Expr::mux(&fire, next, wa)?;
                let ahead = Expr::mux(&rst, &uconst(aw, 0)?, &ahead)?;
                let raddr = m.wire("rom_raddr", ahead)?;
                let words = (0..depth).map(|a| self.rom_word(a)).collect();
                m.memory("rom", words, raddr, None)?
            }
            (Some(wa), _, _) => {
                let words = (0..depth)
                    .map(|a| Expr::constant(self.rom_word(a), false))
                    .collect();
                select(&mut m, "rom", wa, words)?
            }
            (None, _, _) => Expr::constant(self.rom_word(0), false),
        };
        let clear = match &sf {
            Some(sf) => sf.eq(&uconst(sfw, 0)?)?,
            None => one.clone(),
        };
        let mut conns = vec![
            ("clk", clk),
            ("rst", rst),
            ("en", fire.clone()),
            ("clear", clear),
            ("act", x),
            ("wgt", wgt),
        ];
        if self.saturate_each {
            conns.push(("init", self.start_values(&mut m, nf.as_ref())?));
        }
        let acc = m.instance(array, "pes", &conns)?;
        let acc = acc[0].clone();

        // The group whose accumulators are finished.
        let lane_consts_vary = |f: &dyn Fn(usize) -> i128| {
            (0..self.pe as usize)
                .any(|p| (1..nf_n as usize).any(|g| f(g * self.pe as usize + p) != f(p)))
        };
        let bias_of = |c: usize| i128::from(self.bias[c]);
        let mult_of = |c: usize| self.hw.as_ref().map_or(0, |h| h.mult[c] as i128);
        let bias_at_end = !self.saturate_each && lane_consts_vary(&bias_of);
        let need_group = nf.is_some() && (bias_at_end || lane_consts_vary(&mult_of));
        let res_nf = match (&nf, need_group) {
            (Some(nf), true) => {
                Some(m.reg_next("res_nf_r", nf.clone(), 0, Some(fire_last.clone()))?)
            }
            _ => None,
        };
        let per_lane = |m: &mut ModuleBuilder,
                        name: &str,
                        p: u32,
                        ty: Ty,
                        f: &dyn Fn(usize) -> i128|
         -> Result<Expr, HdlError> {
            let vals: Vec<i128> = (0..nf_n as usize)
                .map(|g| f(g * self.pe as usize + p as usize))
                .collect();
            match &res_nf {
                Some(sel) if vals.iter().any(|&v| v != vals[0]) => {
                    let opts = vals
                        .iter()
                        .map(|&v| Expr::int(ty, v))
                        .collect::<Result<Vec<_>, _>>()?;
                    select(m, &format!("{name}{p}"), sel, opts)
                }
                _ => Expr::int(ty, vals[0]),
            }
        };

        let ab = self.acc_bits;
        let mut lanes = Vec::new();
        for p in 0..self.pe {
            let accp = acc.slice((p + 1) * ab - 1, p * ab)?.as_signed();
            let v = if self.saturate_each {
                m.wire(&format!("v{p}"), accp)?
            } else {
                let bias = per_lane(&mut m, "bias", p, Ty::signed(ab), &|c| {
                    i128::from(wrap(i128::from(self.bias[c]), ab) as i64)
                })?;
                m.wire(&format!("v{p}"), accp.add(&bias)?)?
            };
            let y = match &self.hw {
                // The threshold: acc + bias ≥ 0 (synthesis keeps the inverted sign bit).
                None if self.output == MvuOutput::Sign => {
                    let zero = Expr::int(Ty::signed(ab), 0)?;
                    m.wire(&format!("y{p}"), v.ge(&zero)?)?
                }
                None => v.as_unsigned(),
                Some(hw) => {
                    let mult = if self.has_multiplier() {
                        let mt = Ty::signed(hw.m_bits + 1);
                        Some(per_lane(&mut m, "mult", p, mt, &|c| hw.mult[c] as i128)?)
                    } else {
                        None
                    };
                    self.requant_lane(&mut m, p, &v, mult, hw, ob)?
                }
            };
            lanes.push(y);
        }
        lanes.reverse();
        m.drive_reg("out_data_r", Expr::concat(&lanes)?, Some(transfer))?;
        m.output("in_ready", ready)?;
        m.output("out_data", out_data)?;
        m.output("out_valid", out_valid)?;
        m.finish()
    }

    /// The PE rows' start values, lane 0 in the least significant bits: each lane's saturated
    /// bias for the group being computed (`nf`), a constant where it is the same in every group.
    fn start_values(&self, m: &mut ModuleBuilder, nf: Option<&Expr>) -> Result<Expr, HdlError> {
        let ab = self.acc_bits;
        let (pe, groups) = (self.pe as usize, self.nf() as usize);
        let mut lanes = Vec::with_capacity(pe);
        for p in 0..pe {
            let vals: Vec<i128> = (0..groups)
                .map(|g| i128::from(self.start_value(g * pe + p)))
                .collect();
            let v = match nf {
                Some(sel) if vals.iter().any(|&v| v != vals[0]) => {
                    let opts = vals
                        .iter()
                        .map(|&v| Expr::int(Ty::signed(ab), v))
                        .collect::<Result<Vec<_>, _>>()?;
                    select(m, &format!("init{p}"), sel, opts)?
                }
                _ => Expr::int(Ty::signed(ab), vals[0])?,
            };
            lanes.push(v.as_unsigned());
        }
        lanes.reverse();
        m.wire("init", Expr::concat(&lanes)?)
    }

    /// `clamp(round(v · M' >> S0))` of one lane, as an unsigned `ob`-bit code.
    fn requant_lane(
        &self,
        m: &mut ModuleBuilder,
        p: u32,
        v: &Expr,
        mult: Option<Expr>,
        hw: &RequantHw,
        ob: u32,
    ) -> Result<Expr, HdlError> {
        let mut prod = match mult {
            Some(mt) => m.wire(&format!("prod{p}"), v.mul(&mt)?)?,
            None => v.clone(),
        };
        let s0 = hw.s0;
        let qr = if s0 == 0 {
            prod
        } else {
            if prod.width() < s0 + 1 {
                prod = m.wire(&format!("prodx{p}"), prod.sext(s0 + 1)?)?;
            }
            let pw = prod.width();
            if hw.rounding == RoundingMode::Floor && self.fault != MvuFault::Rounding {
                // Floor is the arithmetic shift itself; shifting the whole product (rather than
                // slicing its high bits) reads every bit of it.
                let amount = uconst(counter_bits(u64::from(s0) + 1), u64::from(s0))?;
                let q = m.wire(&format!("q{p}"), prod.shr(&amount)?)?;
                return self.clamp_lane(m, p, q, hw, ob);
            }
            let q = m.wire(&format!("q{p}"), prod.slice(pw - 1, s0)?.as_signed())?;
            let up = {
                let r = prod.slice(s0 - 1, 0)?;
                let nz = r.reduce_or();
                let half = r.bit(s0 - 1)?;
                let below = if s0 >= 2 {
                    r.slice(s0 - 2, 0)?.reduce_or()
                } else {
                    Expr::zero(Ty::bit())?
                };
                let neg = prod.msb();
                let gt = half.and(&below)?;
                let tie = half.and(&below.not())?;
                let q0 = q.bit(0)?;
                let tie_up = |rule: Expr| -> Result<Expr, HdlError> { gt.or(&tie.and(&rule)?) };
                let up = match hw.rounding {
                    RoundingMode::Floor => Expr::zero(Ty::bit())?,
                    RoundingMode::Ceil => nz.clone(),
                    RoundingMode::TowardZero => nz.and(&neg)?,
                    RoundingMode::AwayFromZero => nz.and(&neg.not())?,
                    RoundingMode::HalfToPosInf => gt.or(&tie)?,
                    RoundingMode::HalfToNegInf => gt.clone(),
                    RoundingMode::HalfTowardZero => tie_up(neg.clone())?,
                    RoundingMode::HalfAwayFromZero => tie_up(neg.not())?,
                    RoundingMode::HalfEven => tie_up(q0.clone())?,
                    RoundingMode::HalfOdd => tie_up(q0.not())?,
                };
                let up = if self.fault == MvuFault::Rounding {
                    up.xor(&nz)?
                } else {
                    up
                };
                Some(m.wire(&format!("up{p}"), up)?)
            };
            match up {
                None => q,
                Some(up) => {
                    let qw = q.width() + 1;
                    let inc = up.zext(qw)?.as_signed();
                    m.wire(&format!("qr{p}"), q.sext(qw)?.add(&inc)?)?
                }
            }
        };
        self.clamp_lane(m, p, qr, hw, ob)
    }

    /// `clamp(qr, lo, hi)` as an unsigned `ob`-bit code.
    fn clamp_lane(
        &self,
        m: &mut ModuleBuilder,
        p: u32,
        qr: Expr,
        hw: &RequantHw,
        ob: u32,
    ) -> Result<Expr, HdlError> {
        let w = qr.width();
        let (minw, maxw) = (-(1i128 << (w - 1)), (1i128 << (w - 1)) - 1);
        let (lo, hi) = (i128::from(hw.lo), i128::from(hw.hi));
        let fit = |val: i128| -> Result<Expr, HdlError> {
            Ok(Expr::constant(Bits::from_i128_wrapping(ob, val), false))
        };
        let low_bits = if w >= ob {
            qr.slice(ob - 1, 0)?
        } else {
            qr.sext(ob)?.as_unsigned()
        };
        let mut y = low_bits;
        if lo > minw {
            let below = qr.lt(&Expr::int(Ty::signed(w), lo)?)?;
            y = Expr::mux(&below, &fit(lo)?, &y)?;
        }
        if hi < maxw {
            let above = qr.gt(&Expr::int(Ty::signed(w), hi)?)?;
            y = Expr::mux(&above, &fit(hi)?, &y)?;
        }
        m.wire(&format!("y{p}"), y)
    }
}
