//! The processing element (PE): a SIMD-lane dot product of one kind, an adder tree over the
//! lanes and an accumulator that wraps or saturates.
//!
//! ```text
//!                 ┌──────────────────────────────────────────────────────────────┐
//!  clk, rst ─────▶│ [input regs]  lane ops ─▶ adder tree ─▶ acc (wrap|sat) ─▶ [out reg] │──▶ acc[ACC-1:0]
//!  en, clear ────▶│   (optional)  ×SIMD       (+ sign carries) ▲     │      (optional) │
//!  act[SIMD·A] ──▶│                                            └─────┘                 │
//!  wgt[SIMD·W] ──▶│                                                                    │
//!                 └──────────────────────────────────────────────────────────────┘
//! ```
//!
//! * `act`: SIMD activation codes of `a_bits` each, lane 0 in the least significant bits, read
//!   as two's complement or unsigned (`a_signed`); binary PEs take one bit per lane (1 = +1).
//! * `wgt`: SIMD codes of the PE's [`WeightCode`], lane 0 least significant. The code's lane
//!   ([`Lane`], one file per kind in [`lanes`](super::lanes)) decodes them and builds the lane
//!   datapath; the PE itself never looks at the kind.
//! * In a cycle with `en` high the accumulator loads `acc ⊕ S`, or `0 ⊕ S` when `clear` is high,
//!   where `S` is that cycle's exact lane sum and `⊕` adds then wraps to `acc_bits` bits or
//!   saturates to the `acc_bits`-bit two's complement range. With `en` low it holds. `rst`
//!   (synchronous, active high) clears every register.
//! * [`Overflow::SaturateEach`] replaces the adder tree by a chain of SIMD saturating adders:
//!   the accumulator loads `sat(… sat(sat(b + p_0) + p_1) … + p_{SIMD−1})` with `p_i` lane `i`'s
//!   product and `b = clear ? init : acc`, where `init` is an extra `acc_bits`-bit input port (a
//!   start value, e.g. a bias). This is the golden model's step-by-step saturation; binary PEs,
//!   whose lanes have no separate products, do not offer it.
//!
//! **Latency** (every kind): `1 + input_reg + output_reg` cycles from the inputs to the `acc`
//! output that includes them: the accumulator is a register, the optional input stage registers
//! `en`, `clear`, `act` and `wgt`, the optional output stage registers `acc`.
//!
//! **Cost** ([`PeParams::cost`]): the lanes' estimate ([`Lane::luts`], see each kind's file),
//! plus `w` LUT4 and `w` carries per adder of width `w` (the tree and the accumulator), two more
//! LUT4 per accumulator bit for saturation, and one flip-flop per register bit. A chain of
//! saturating adders costs per lane one adder of the accumulator's width and its saturation,
//! plus the `init` mux.
//!
//! ```
//! use qforge::accel::{Overflow, PeParams, Unit};
//! use qforge::num::weights::WeightCode;
//! let pot = WeightCode::pot(3, true, true).unwrap();
//! let pe = PeParams::new(pot.clone(), 8, true, 8, 20, Overflow::Saturate).unwrap();
//! assert_eq!(pe.name(), "qf_pe_pot_a8_e3_s8_acc20_sat");
//! assert_eq!(pe.latency(), 1);
//! // an accumulator narrower than one lane's product is rejected
//! assert!(PeParams::new(pot, 8, true, 8, 12, Overflow::Wrap).is_err());
//! ```

use super::lane::{Datapath, Lane, LaneShape, LaneTerm};
use super::lanes::lane_of;
use super::unit::{check_inputs, Cost, Model, Unit, UnitError};
use crate::hdl::{Bits, Dir, Expr, HdlError, Module, ModuleBuilder, Port, Ty};
use crate::num::codes::binary_level;
use crate::num::weights::WeightCode;

/// What the accumulator does when a result leaves its range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Overflow {
    /// Keep the low `acc_bits` bits (two's complement wrap-around).
    Wrap,
    /// Clamp to the most negative or most positive `acc_bits`-bit value.
    Saturate,
    /// Clamp after each lane's product, adding the lanes one after another (lane 0 first) to a
    /// start value that `clear` loads from the `init` port: step-by-step saturating
    /// accumulation, which differs from [`Overflow::Saturate`] once the range is left.
    SaturateEach,
}

impl Overflow {
    /// `wrap` or `sat`.
    pub fn name(self) -> &'static str {
        match self {
            Overflow::Wrap => "wrap",
            Overflow::Saturate => "sat",
            Overflow::SaturateEach => "sateach",
        }
    }
}

/// A deliberate design error, for showing that co-simulation catches what lint cannot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// No fault: the real design.
    None,
    /// The sign extension of the lane sum into the accumulator has its concatenation reversed
    /// (`{s, {k{s[msb]}}}` instead of `{{k{s[msb]}}, s}`): same width, lint clean, wrong value.
    ReversedSignExtension,
}

/// Configuration of one PE. Build with [`PeParams::new`], which validates it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PeParams {
    kind: WeightCode,
    a_bits: u32,
    a_signed: bool,
    simd: u32,
    acc_bits: u32,
    overflow: Overflow,
    input_reg: bool,
    output_reg: bool,
    fault: Fault,
}

fn bad(name: &'static str, value: impl ToString, rule: impl Into<String>) -> UnitError {
    UnitError::BadParameter {
        name,
        value: value.to_string(),
        rule: rule.into(),
    }
}

/// Bits of a two's complement value holding every integer in `[lo, hi]`.
pub fn signed_bits(lo: i128, hi: i128) -> u32 {
    let mut w = 1;
    while w < 127 && (lo < -(1i128 << (w - 1)) || hi > (1i128 << (w - 1)) - 1) {
        w += 1;
    }
    w
}

impl PeParams {
    /// Validates a PE configuration: the weight code's limits ([`WeightCode::check`]),
    /// `a_bits` 1..=32 (exactly 1 for lanes with ±1 activations), `simd` 1..=1024, `acc_bits`
    /// up to 64 and at least the width the datapath needs ([`PeParams::min_acc_bits`]: one
    /// lane's exact product, and for binary PEs the lane sum). Both registers stages are off;
    /// see [`PeParams::with_input_reg`] and [`PeParams::with_output_reg`].
    pub fn new(
        kind: WeightCode,
        a_bits: u32,
        a_signed: bool,
        simd: u32,
        acc_bits: u32,
        overflow: Overflow,
    ) -> Result<PeParams, UnitError> {
        let lane = lane_of(&kind);
        let family = kind.name();
        if lane.bipolar_activations() {
            if a_bits != 1 {
                return Err(bad(
                    "a_bits",
                    a_bits,
                    format!("must be 1 for {family} PEs: activations are ±1"),
                ));
            }
        } else if !(1..=32).contains(&a_bits) {
            return Err(bad("a_bits", a_bits, "must be between 1 and 32"));
        }
        if !(1..=1024).contains(&simd) {
            return Err(bad("simd", simd, "must be between 1 and 1024"));
        }
        if !lane.separate_products() && overflow == Overflow::SaturateEach {
            return Err(bad(
                "overflow",
                overflow.name(),
                format!("is not offered by {family} PEs: their lanes have no separate products"),
            ));
        }
        drop(lane);
        kind.check()?;
        let pe = PeParams {
            kind,
            a_bits,
            a_signed,
            simd,
            acc_bits,
            overflow,
            input_reg: false,
            output_reg: false,
            fault: Fault::None,
        };
        let need = pe.min_acc_bits();
        if need > 64 {
            return Err(bad(
                "acc_bits",
                acc_bits,
                format!(
                    "cannot hold one lane's product, which needs {need} bits (the limit is 64)"
                ),
            ));
        }
        if acc_bits < need || acc_bits > 64 {
            return Err(bad(
                "acc_bits",
                acc_bits,
                format!("must be between {need} (the width one lane's product needs) and 64"),
            ));
        }
        Ok(pe)
    }

    /// With or without the input register stage (adds one cycle of latency).
    pub fn with_input_reg(mut self, on: bool) -> PeParams {
        self.input_reg = on;
        self
    }

    /// With or without the output register stage (adds one cycle of latency).
    pub fn with_output_reg(mut self, on: bool) -> PeParams {
        self.output_reg = on;
        self
    }

    /// With a deliberate design error in the Verilog only (the model stays right), so that tests
    /// can show the co-simulation catching it.
    pub fn with_fault(mut self, fault: Fault) -> PeParams {
        self.fault = fault;
        self
    }

    /// The weight code.
    pub fn kind(&self) -> &WeightCode {
        &self.kind
    }

    /// The lane of the weight code ([`lane_of`]).
    pub fn lane(&self) -> Box<dyn Lane + '_> {
        lane_of(&self.kind)
    }

    /// The integer level of a weight code exactly as the hardware decodes it ([`Lane::level`]).
    pub fn level(&self, code: u64) -> i64 {
        self.lane().level(code)
    }

    /// Width of one lane's activation code: `a_bits`, or 1 for ±1 activations.
    pub fn act_bits(&self) -> u32 {
        if self.lane().bipolar_activations() {
            1
        } else {
            self.a_bits
        }
    }
    /// Activation width.
    pub fn a_bits(&self) -> u32 {
        self.a_bits
    }
    /// Whether activations are two's complement.
    pub fn a_signed(&self) -> bool {
        self.a_signed
    }
    /// Lanes.
    pub fn simd(&self) -> u32 {
        self.simd
    }
    /// Accumulator width.
    pub fn acc_bits(&self) -> u32 {
        self.acc_bits
    }
    /// Overflow mode.
    pub fn overflow(&self) -> Overflow {
        self.overflow
    }
    /// Whether inputs are registered.
    pub fn input_reg(&self) -> bool {
        self.input_reg
    }
    /// Whether the output is registered.
    pub fn output_reg(&self) -> bool {
        self.output_reg
    }
    /// Width of one weight code.
    pub fn w_bits(&self) -> u32 {
        self.kind.code_bits()
    }

    /// Cycles from an input to the first `acc` output that includes it.
    pub fn latency(&self) -> u32 {
        1 + u32::from(self.input_reg) + u32::from(self.output_reg)
    }

    /// Smallest and largest activation value.
    pub fn activation_range(&self) -> (i64, i64) {
        if self.lane().bipolar_activations() {
            (-1, 1)
        } else if self.a_signed {
            (
                -(1i64 << (self.a_bits - 1)),
                (1i64 << (self.a_bits - 1)) - 1,
            )
        } else {
            (0, (1i64 << self.a_bits) - 1)
        }
    }

    /// The activation value of an `a_bits`-bit code.
    pub fn activation(&self, code: u64) -> i64 {
        let a = self.a_bits;
        let c = (code & ((1u64 << a) - 1)) as i64;
        if self.lane().bipolar_activations() {
            binary_level(code)
        } else if self.a_signed && (c >> (a - 1)) & 1 == 1 {
            c - (1i64 << a)
        } else {
            c
        }
    }

    /// Width of one lane's exact product (the smallest two's complement width holding every
    /// activation × level).
    pub fn product_bits(&self) -> u32 {
        let (a0, a1) = self.activation_range();
        let (l0, l1) = self.lane().level_range();
        let c = [
            i128::from(a0) * i128::from(l0),
            i128::from(a0) * i128::from(l1),
            i128::from(a1) * i128::from(l0),
            i128::from(a1) * i128::from(l1),
        ];
        let lo = c.iter().copied().min().unwrap_or(0);
        let hi = c.iter().copied().max().unwrap_or(0);
        signed_bits(lo, hi)
    }

    /// What the lanes see of the PE.
    fn shape(&self) -> LaneShape {
        LaneShape {
            a_bits: self.a_bits,
            a_signed: self.a_signed,
            simd: self.simd,
            w_bits: self.w_bits(),
            product_bits: self.product_bits(),
        }
    }

    /// Width of the exact lane sum of one cycle.
    pub fn sum_bits(&self) -> u32 {
        let (a0, a1) = self.activation_range();
        let (l0, l1) = self.lane().level_range();
        let c = [
            i128::from(a0) * i128::from(l0),
            i128::from(a0) * i128::from(l1),
            i128::from(a1) * i128::from(l0),
            i128::from(a1) * i128::from(l1),
        ];
        let n = i128::from(self.simd);
        let lo = c.iter().copied().min().unwrap_or(0) * n;
        let hi = c.iter().copied().max().unwrap_or(0) * n;
        signed_bits(lo, hi)
    }

    /// The narrowest accumulator the datapath can be built for ([`Lane::min_acc_bits`]): one
    /// lane's product (the sum of lanes may be wider; it then wraps or saturates like the
    /// accumulation over cycles). Binary PEs need the lane sum itself, and kinds with sign
    /// carries need room for their count.
    pub fn min_acc_bits(&self) -> u32 {
        self.lane().min_acc_bits(&self.shape())
    }

    /// The exact lane sum of one cycle from activation and weight codes (lane 0 first).
    pub fn lane_sum(&self, act: &[u64], wgt: &[u64]) -> i128 {
        let lane = self.lane();
        act.iter()
            .zip(wgt)
            .map(|(&a, &w)| i128::from(self.activation(a)) * i128::from(lane.level(w)))
            .sum()
    }

    /// `value` modulo `2^acc_bits`, as a two's complement value (how the `init` port reads it).
    fn wrapped(&self, value: i128) -> i128 {
        let k = 128 - self.acc_bits;
        (value << k) >> k
    }

    /// `value` wrapped or saturated to the accumulator.
    pub fn fit(&self, value: i128) -> i128 {
        let w = self.acc_bits;
        let lo = -(1i128 << (w - 1));
        let hi = (1i128 << (w - 1)) - 1;
        match self.overflow {
            Overflow::Saturate | Overflow::SaturateEach => value.clamp(lo, hi),
            Overflow::Wrap => {
                let m = value.rem_euclid(1i128 << w);
                if m > hi {
                    m - (1i128 << w)
                } else {
                    m
                }
            }
        }
    }

    fn build(&self) -> Result<Module, HdlError> {
        let header_params = self.parameters();
        let header: Vec<String> = std::iter::once("unit: pe".to_string())
            .chain(header_params.iter().map(|(k, v)| format!("{k}: {v}")))
            .collect();
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let mut m = ModuleBuilder::new(&self.name(), &header)?;
        m.clock_and_reset()?;
        let ports = self.ports();
        let port_ty = |n: &str| {
            ports
                .iter()
                .find(|p| p.name == n)
                .map(|p| p.ty)
                .unwrap_or(Ty::bit())
        };
        let mut en = m.input("en", Ty::bit())?;
        let mut clear = m.input("clear", Ty::bit())?;
        let mut act = m.input("act", port_ty("act"))?;
        let mut wgt = m.input("wgt", port_ty("wgt"))?;
        if self.input_reg {
            en = m.reg_next("en_r", en, 0, None)?;
            clear = m.reg_next("clear_r", clear, 0, None)?;
            act = m.reg_next("act_r", act, 0, None)?;
            wgt = m.reg_next("wgt_r", wgt, 0, None)?;
        }
        let mut init = if self.overflow == Overflow::SaturateEach {
            Some(m.input("init", Ty::unsigned(self.acc_bits))?)
        } else {
            None
        };
        if self.input_reg {
            if let Some(i) = init {
                init = Some(m.reg_next("init_r", i, 0, None)?);
            }
        }
        let wa = self.acc_bits;
        let cap = match self.overflow {
            Overflow::Wrap => wa,
            Overflow::Saturate | Overflow::SaturateEach => u32::MAX,
        };
        // The lane sum as a tree of values plus the sign carries that complete them.
        let (tree, carries) = match self.lane().datapath(&mut m, &act, &wgt, &self.shape())? {
            Datapath::Sum(sum) => (sum, None),
            Datapath::Products(lanes) => {
                if let Some(init) = &init {
                    let (acc, next) = self.saturating_chain(&mut m, lanes, &clear, init)?;
                    return self.drive_acc(m, acc, next, en);
                }
                let mut values = Vec::new();
                let mut carry_bits = Vec::new();
                for lane in lanes {
                    values.push(lane.value);
                    if let Some(c) = lane.carry {
                        carry_bits.push(c);
                    }
                }
                let tree = m.wire("tree", Expr::sum_tree_capped(values, true, cap)?)?;
                let carries = if carry_bits.is_empty() {
                    None
                } else {
                    // MSB first for the concatenation: lane 0 ends up in bit 0.
                    carry_bits.reverse();
                    let signs = m.wire("signs", Expr::concat(&carry_bits)?)?;
                    let count = if self.simd == 1 {
                        signs
                    } else {
                        m.wire("sign_count", signs.popcount()?)?
                    };
                    Some(count)
                };
                (tree, carries)
            }
        };
        let acc = m.reg("acc_r", Ty::signed(wa), 0)?;
        let zero = Expr::zero(Ty::signed(wa))?;
        let base = m.wire("base", Expr::mux(&clear, &zero, &acc)?)?;
        let width = match self.overflow {
            Overflow::Wrap => wa,
            Overflow::Saturate | Overflow::SaturateEach => wa.max(tree.width()) + 1,
        };
        let tree_ext = if self.fault == Fault::ReversedSignExtension && width > tree.width() {
            let k = width - tree.width();
            Expr::concat(&[tree.clone(), tree.msb().repeat(k)?])?.as_signed()
        } else {
            tree.sext(width)?
        };
        // Two's complement addition gives the same bits signed or not; adding as unsigned
        // keeps the zero-extended carry count unsigned, which Yosys's synth_xilinx maps to
        // fewer LUTs (65 instead of 73 for a single-lane PoT PE) and synth_ice40 no worse.
        let mut sum = base
            .sext(width)?
            .as_unsigned()
            .add(&tree_ext.as_unsigned())?;
        if let Some(c) = carries {
            sum = sum.add(&c.zext(width)?)?;
        }
        let sum = sum.as_signed();
        let next = match self.overflow {
            Overflow::Wrap => sum,
            Overflow::Saturate | Overflow::SaturateEach => saturate(&mut m, "", sum, wa)?,
        };
        self.drive_acc(m, acc, next, en)
    }

    /// The accumulator's next value through a chain of saturating adders: `base = clear ? init
    /// : acc`, then `chain_i = sat(chain_{i−1} + p_i)` for the lanes in order, each lane's
    /// product `p_i` completed by its sign carry first. Returns the accumulator register and
    /// its next value.
    fn saturating_chain(
        &self,
        m: &mut ModuleBuilder,
        lanes: Vec<LaneTerm>,
        clear: &Expr,
        init: &Expr,
    ) -> Result<(Expr, Expr), HdlError> {
        let wa = self.acc_bits;
        let acc = m.reg("acc_r", Ty::signed(wa), 0)?;
        let mut s = m.wire("base", Expr::mux(clear, &init.as_signed(), &acc)?)?;
        for (i, lane) in lanes.into_iter().enumerate() {
            let pw = lane.value.width();
            // The product fits the lane's width, so the carry-in completes it modulo 2^pw.
            let prod = match lane.carry {
                Some(c) => m.wire(
                    &format!("product{i}"),
                    lane.value.as_unsigned().add(&c.zext(pw)?)?.as_signed(),
                )?,
                None => lane.value.as_signed(),
            };
            let width = wa.max(pw) + 1;
            let prod_ext = if self.fault == Fault::ReversedSignExtension && width > pw {
                let k = width - pw;
                Expr::concat(&[prod.clone(), prod.msb().repeat(k)?])?.as_signed()
            } else {
                prod.sext(width)?
            };
            let sum = s.sext(width)?.add(&prod_ext)?;
            let next = saturate(m, &i.to_string(), sum, wa)?;
            s = m.wire(&format!("chain{i}"), next)?;
        }
        Ok((acc, s))
    }

    /// Drives the accumulator register with `next` when `en`, adds the optional output stage
    /// and finishes the module.
    fn drive_acc(
        &self,
        mut m: ModuleBuilder,
        acc: Expr,
        next: Expr,
        en: Expr,
    ) -> Result<Module, HdlError> {
        m.drive_reg("acc_r", next, Some(en))?;
        let out = if self.output_reg {
            m.reg_next("acc_q", acc, 0, None)?
        } else {
            acc
        };
        m.output("acc", out.as_unsigned())?;
        m.finish()
    }
}

/// `sum` (signed, wider than `wa`) clamped to the `wa`-bit two's complement range, through
/// wires `full<suffix>` and `fits<suffix>`.
fn saturate(m: &mut ModuleBuilder, suffix: &str, sum: Expr, wa: u32) -> Result<Expr, HdlError> {
    let width = sum.width();
    let full = m.wire(&format!("full{suffix}"), sum)?;
    let top = full.slice(width - 1, wa - 1)?;
    let fits = m.wire(
        &format!("fits{suffix}"),
        top.reduce_and().or(&top.reduce_or().not())?,
    )?;
    let neg = full.msb();
    let limit = Expr::concat(&[neg.clone(), neg.not().repeat(wa - 1)?])?.as_signed();
    let low = full.slice(wa - 1, 0)?.as_signed();
    Expr::mux(&fits, &low, &limit)
}

impl Unit for PeParams {
    type Model = PeModel;

    /// `qf_pe_<kind>_a<A>[u]<kind params>_s<SIMD>_acc<ACC>_<wrap|sat>[_ir][_or]`.
    fn name(&self) -> String {
        let lane = self.lane();
        let a = if lane.bipolar_activations() {
            String::new()
        } else {
            format!("_a{}{}", self.a_bits, if self.a_signed { "" } else { "u" })
        };
        format!(
            "qf_pe_{}{a}{}_s{}_acc{}_{}{}{}{}",
            self.kind.name(),
            lane.name_part(),
            self.simd,
            self.acc_bits,
            self.overflow.name(),
            if self.input_reg { "_ir" } else { "" },
            if self.output_reg { "_or" } else { "" },
            if self.fault == Fault::None {
                ""
            } else {
                "_fault"
            },
        )
    }

    fn parameters(&self) -> Vec<(String, String)> {
        let p = |k: &str, v: String| (k.to_string(), v);
        let mut v = vec![
            p("kind", self.kind.name().to_string()),
            p("a_bits", self.a_bits.to_string()),
            p("a_signed", self.a_signed.to_string()),
        ];
        v.extend(self.lane().parameters());
        v.extend([
            p("simd", self.simd.to_string()),
            p("acc_bits", self.acc_bits.to_string()),
            p("overflow", self.overflow.name().to_string()),
            p("input_reg", self.input_reg.to_string()),
            p("output_reg", self.output_reg.to_string()),
            p("latency", self.latency().to_string()),
        ]);
        if self.fault != Fault::None {
            v.push(p("fault", format!("{:?}", self.fault)));
        }
        v
    }

    /// `clk`, `rst`, `en`, `clear`, `act[SIMD·A]`, `wgt[SIMD·W]`, with
    /// [`Overflow::SaturateEach`] also `init[ACC]`, → `acc[ACC]` (all unsigned bit vectors;
    /// `init` and `acc` hold two's complement values).
    fn ports(&self) -> Vec<Port> {
        let a = self.act_bits();
        let mut v = vec![
            Port::input("clk", Ty::bit()),
            Port::input("rst", Ty::bit()),
            Port::input("en", Ty::bit()),
            Port::input("clear", Ty::bit()),
            Port::input("act", Ty::unsigned(self.simd * a)),
            Port::input("wgt", Ty::unsigned(self.simd * self.w_bits())),
        ];
        if self.overflow == Overflow::SaturateEach {
            v.push(Port::input("init", Ty::unsigned(self.acc_bits)));
        }
        v.push(Port::output("acc", Ty::unsigned(self.acc_bits)));
        v
    }

    fn model(&self) -> PeModel {
        PeModel {
            params: self.clone(),
            acc: 0,
            out: 0,
            staged: None,
        }
    }

    fn verilog(&self) -> Result<Vec<Module>, UnitError> {
        Ok(vec![self.build()?])
    }

    /// Lane estimate of the kind × SIMD, plus `w` LUT4 and carries per adder of width `w` in
    /// the tree and accumulator, `2·ACC` LUT4 for saturation, and a flip-flop per register bit.
    /// A chain of saturating adders: per lane an `ACC`-bit adder and `2·ACC` LUT4 of
    /// saturation, plus `ACC` LUT4 for the `init` mux, instead of the tree.
    fn cost(&self) -> Cost {
        let p = u64::from(self.product_bits());
        let simd = u64::from(self.simd);
        let lane = self.lane();
        let lanes = lane.luts(&self.shape());
        let tree = if lane.separate_products() {
            // SIMD - 1 adders whose width grows from P by about log2(SIMD)/2 on average
            (simd - 1) * (p + u64::from(32 - self.simd.leading_zeros()) / 2)
        } else {
            0
        };
        let acc = u64::from(self.acc_bits);
        let (tree, sat) = match self.overflow {
            Overflow::Wrap => (tree, 0),
            Overflow::Saturate => (tree, 2 * acc),
            // SIMD adders of the accumulator's width (the first one counted below) with
            // saturation each, and the init mux.
            Overflow::SaturateEach => ((simd - 1) * acc, 2 * acc * simd + acc),
        };
        let ports = self.ports();
        let in_bits: u64 = ports
            .iter()
            .filter(|p| p.dir == Dir::Input && p.name != "clk" && p.name != "rst")
            .map(|p| u64::from(p.ty.width))
            .sum();
        let ff =
            acc + if self.input_reg { in_bits } else { 0 } + if self.output_reg { acc } else { 0 };
        Cost {
            lut: lanes + tree + acc + sat,
            ff,
            carry: tree + acc,
            dsp: 0,
            bram: 0,
        }
    }
}

/// One cycle's inputs of a PE, as codes (lane 0 first).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PeInputs {
    /// Synchronous reset.
    pub rst: bool,
    /// Accumulate enable.
    pub en: bool,
    /// Start a new accumulation with this cycle's sum.
    pub clear: bool,
    /// Activation codes (`a_bits` each).
    pub act: Vec<u64>,
    /// Weight codes.
    pub wgt: Vec<u64>,
    /// Start values for the `init` port of [`Overflow::SaturateEach`] PEs, one per PE row
    /// (read modulo `2^acc_bits`); empty for PEs without that port.
    pub init: Vec<i64>,
}

impl PeInputs {
    /// The port values (`rst`, `en`, `clear`, `act`, `wgt`, and `init` for
    /// [`Overflow::SaturateEach`] PEs, from the first start value, 0 when there is none) for a PE.
    pub fn to_ports(&self, pe: &PeParams) -> Vec<Bits> {
        let a = pe.act_bits();
        let pack = |codes: &[u64], w: u32| {
            let fields: Vec<Bits> = codes
                .iter()
                .map(|&c| Bits::from_i128_wrapping(w, i128::from(c)))
                .collect();
            Bits::concat_lsb_first(&fields)
        };
        let mut v = vec![
            Bits::from_i128_wrapping(1, i128::from(self.rst)),
            Bits::from_i128_wrapping(1, i128::from(self.en)),
            Bits::from_i128_wrapping(1, i128::from(self.clear)),
            pack(&self.act, a),
            pack(&self.wgt, pe.w_bits()),
        ];
        if pe.overflow == Overflow::SaturateEach {
            let init = self.init.first().copied().unwrap_or(0);
            v.push(Bits::from_i128_wrapping(pe.acc_bits, i128::from(init)));
        }
        v
    }

    fn from_ports(pe: &PeParams, v: &[Bits]) -> PeInputs {
        let a = pe.act_bits();
        let w = pe.w_bits();
        let codes = |b: &Bits, k: u32| -> Vec<u64> {
            (0..pe.simd)
                .map(|i| b.field(i * k, k).to_u128() as u64)
                .collect()
        };
        PeInputs {
            rst: v[0].get(0),
            en: v[1].get(0),
            clear: v[2].get(0),
            act: codes(&v[3], a),
            wgt: codes(&v[4], w),
            init: if pe.overflow == Overflow::SaturateEach {
                vec![v[5].to_i128() as i64]
            } else {
                Vec::new()
            },
        }
    }
}

/// The PE's behaviour: its registers as plain integers.
#[derive(Clone, Debug)]
pub struct PeModel {
    params: PeParams,
    acc: i128,
    out: i128,
    /// The input register stage's contents, if the PE has one (`None` = reset state).
    staged: Option<PeInputs>,
}

impl PeModel {
    /// The value on the `acc` output during the current cycle.
    pub fn output(&self) -> i128 {
        if self.params.output_reg {
            self.out
        } else {
            self.acc
        }
    }

    /// One cycle with typed inputs; returns the `acc` output during the cycle.
    pub fn step_inputs(&mut self, inp: &PeInputs) -> i128 {
        let out = self.output();
        if inp.rst {
            self.reset();
            return out;
        }
        let staged = if self.params.input_reg {
            self.staged.replace(inp.clone())
        } else {
            Some(inp.clone())
        };
        if self.params.output_reg {
            self.out = self.acc;
        }
        if let Some(eff) = staged {
            if eff.en && self.params.overflow == Overflow::SaturateEach {
                let p = &self.params;
                let init = p.wrapped(i128::from(eff.init.first().copied().unwrap_or(0)));
                let mut s = if eff.clear { init } else { self.acc };
                let lane = p.lane();
                for (&a, &w) in eff.act.iter().zip(&eff.wgt) {
                    s = p.fit(s + i128::from(p.activation(a)) * i128::from(lane.level(w)));
                }
                self.acc = s;
            } else if eff.en {
                let base = if eff.clear { 0 } else { self.acc };
                self.acc = self
                    .params
                    .fit(base + self.params.lane_sum(&eff.act, &eff.wgt));
            }
        }
        out
    }
}

impl Model for PeModel {
    fn reset(&mut self) {
        self.acc = 0;
        self.out = 0;
        self.staged = None;
    }

    fn step(&mut self, inputs: &[Bits]) -> Result<Vec<Bits>, UnitError> {
        check_inputs(&self.params.ports(), inputs)?;
        let inp = PeInputs::from_ports(&self.params, inputs);
        let out = self.step_inputs(&inp);
        Ok(vec![Bits::from_i128_wrapping(self.params.acc_bits, out)])
    }
}
