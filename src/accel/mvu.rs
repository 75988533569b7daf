//! Matrix-vector unit (MVU): one dense layer as a folded PE × SIMD tile with its weights in a
//! ROM, accumulation over the fold, bias, requantization (or raw logits) and an output stream.
//!
//! ```text
//!                 ┌──────────────────────────────────────────────────────────────────────────┐
//!  in_data  ─────▶│ x = (nf == 0) ? in_data : ibuf[sf]     ROM[waddr]: PE × SIMD weight codes │
//!  [SIMD·A]       │   (ibuf: SF chunks, written on nf 0)          │                          │
//!  in_valid ─────▶│        └──────────────▶ PE array (PE rows × SIMD lanes, accumulators)    │
//!  in_ready ◀─────│                           │ en = fire, clear = (sf == 0)                 │
//!                 │                           ▼                                              │
//!                 │   done ─▶ per lane: v = acc + bias[c];  y = clamp(round(v·M'[c] >> S0))  │──▶ out_data [PE·OB]
//!                 │           (or y = v for logits)  ─▶ output register                      │──▶ out_valid
//!                 │                                                            out_ready ◀──│
//!                 └──────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! * Folding: `MW = in_features`, `MH = out_features`, `SF = MW / SIMD` input chunks per
//!   vector, `NF = MH / PE` output groups; one vector takes `NF · SF` *fires* (cycles in which
//!   the tile computes). Output group `nf` holds channels `nf·PE .. nf·PE + PE − 1`, lane `p`
//!   channel `nf·PE + p`; input chunk `sf` holds inputs `sf·SIMD .. sf·SIMD + SIMD − 1`.
//! * The first pass (`nf = 0`) reads the input stream and keeps each chunk in `ibuf`; the other
//!   passes read `ibuf`, so the input is read once (`in_ready` is low while `nf > 0`).
//! * A fire needs an input (stream on the first pass) and a free accumulator: `done` marks
//!   accumulators holding a finished group that has not yet moved to the output register. The
//!   move (`transfer`) happens when `done` and the output register is empty or being read.
//!   `in_ready = (nf == 0) ∧ (¬done ∨ ¬out_valid ∨ out_ready)`; it depends on `out_ready`.
//! * Requantization is the golden [`Requant::apply`] exactly: per channel `(M, S)` become one
//!   shift `S0 = max(0, max S)` and multipliers `M' = M · 2^(S0 − S)` (the same rational, so the
//!   same rounding), the product is rounded by the bits below `S0` as the mode says, then
//!   clamped (ReLU = clamp at 0). With every `M' = 1` there is no multiplier: a pure shift.
//! * The accumulators wrap at the layer's accumulator width, which is at least the proven width
//!   (no overflow) or narrower with wrap-around (exactly the golden model's ring arithmetic,
//!   whatever the order of the sum). The bias is added at the end, modulo the same width.
//! * A saturating accumulator narrower than the proven width follows the golden order instead,
//!   as saturation does not commute: each PE row is a chain of SIMD saturating adders
//!   ([`Overflow::SaturateEach`]) whose accumulator starts a group from its channel's saturated
//!   bias (selected by `nf`) and adds the chunk's products in input order (`sf · SIMD + lane`),
//!   saturating after each, so the bias is not added at the end.
//!
//! **Latency**: an output group is at `out_valid` 2 cycles after the fire of its last chunk
//! (1 for the accumulators, 1 for the output register). With input chunks arriving every cycle
//! and a ready consumer, the tile fires every cycle: a vector takes `NF · SF` cycles (the unit's
//! initiation interval), and its first output group appears `SF + 1` cycles after its first
//! chunk is accepted, the last one `NF · SF + 1` cycles after.
//!
//! **Cost** ([`MvuParams::cost`]): the PE array's estimate ([`super::pe_array`]); the ROM as
//! logic, about one LUT4 per 8 weight bits per word bit beyond the first (a mux tree Yosys packs
//! into LUT4s, constant leaves folded); the input buffer `SF · SIMD · A` flip-flops when
//! `NF > 1` plus a read mux of as many LUT4; per lane the bias adder (`ACC` LUT4 and carries;
//! none for chains of saturating adders, whose rows' estimate has the start value's mux),
//! the requantization multiplier (`4.5 · ACC · MB` LUT4 as for uniform PEs, none for pure
//! shifts) and clamp (`2 · QW` LUT4); the output register `PE · OB` flip-flops and the counters.

mod batch;
mod pairs;

pub use batch::Code;

use super::pe::{Overflow, PeKind, PeParams};
use super::pe_array::PeArrayParams;
use super::pe_uniform::UniformWeights;
use super::stream::{
    counter_bits, header, select, step_ports, stream_ports, uconst, StreamModel, StreamShape,
};
use super::unit::{Cost, Model, Unit, UnitError};
use crate::hdl::{Bits, Expr, HdlError, Module, ModuleBuilder, Port, Ty};
use crate::num::rounding::RoundingMode;
use crate::qnn::accum::output_ranges;
use crate::qnn::format::{saturate, signed_width, wrap};
use crate::qnn::kernels::dot_i16_i32;
use crate::qnn::{AccOverflow, IntFormat, Requant, WeightScheme};

/// A deliberate design error in the generated Verilog (the model stays correct), for showing
/// that the replay catches what lint cannot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MvuFault {
    /// No fault.
    None,
    /// The input-chunk counter ends a group one chunk early (needs `SF ≥ 2`).
    FoldCounter,
    /// The rounding increment of requantization is inverted whenever bits are dropped.
    Rounding,
}

/// What the MVU emits per channel.
#[derive(Clone, Debug, PartialEq)]
pub enum MvuOutput {
    /// Requantized activation codes.
    Requant(Requant),
    /// Raw accumulators (logits), `acc_bits` wide.
    Accumulator,
}

/// The PE kind that multiplies by a weight scheme's codes, for activations of `input`, or a
/// message naming the scheme and the rule.
pub fn pe_kind_for(scheme: &WeightScheme, input: IntFormat) -> Result<PeKind, String> {
    match scheme {
        WeightScheme::Uniform { bits } => UniformWeights::new(*bits)
            .map(PeKind::Uniform)
            .map_err(|_| {
                format!("weight scheme uniform{bits} has no PE kind (uniform PEs take 1 to 16 bits)")
            }),
        WeightScheme::Pot(f) => Ok(PeKind::Pot(*f)),
        WeightScheme::Apot(f) => Ok(PeKind::Apot(f.clone())),
        WeightScheme::Ternary => Ok(PeKind::Ternary),
        WeightScheme::Binary => Err(format!(
            "weight scheme binary has no PE kind for {input} activations (binary PEs take ±1 activations only)"
        )),
    }
}

/// The hardware form of a requantization: one shift, per-channel multipliers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct RequantHw {
    s0: u32,
    /// `M'` per channel.
    mult: Vec<u128>,
    /// Width of the largest `M'`.
    m_bits: u32,
    lo: i64,
    hi: i64,
    rounding: RoundingMode,
}

/// Configuration of one MVU. Build with [`MvuParams::new`].
#[derive(Clone, Debug, PartialEq)]
pub struct MvuParams {
    layer: usize,
    in_features: u32,
    out_features: u32,
    pe: u32,
    simd: u32,
    input: IntFormat,
    kind: PeKind,
    codes: Vec<u64>,
    levels: Vec<i64>,
    /// The levels as the PE decodes the codes, transposed: `[in][out]`, for the batched values.
    levels_by_input: Vec<i64>,
    bias: Vec<i64>,
    acc_bits: u32,
    overflow: AccOverflow,
    /// Saturation after each product, from the saturated bias: a saturating accumulator
    /// narrower than the proven width.
    saturate_each: bool,
    output: MvuOutput,
    hw: Option<RequantHw>,
    fault: MvuFault,
    tag: String,
    row: PeParams,
    vectors: u32,
}

/// The inputs of [`MvuParams::new`]: one dense layer's integer description.
#[derive(Clone, Debug, PartialEq)]
pub struct MvuLayer<'a> {
    /// Index of the layer in the network (for names and messages).
    pub layer: usize,
    /// Inputs per vector.
    pub in_features: usize,
    /// Outputs per vector.
    pub out_features: usize,
    /// The input codes' format.
    pub input: IntFormat,
    /// The weight scheme.
    pub weights: &'a WeightScheme,
    /// Weight codes, `[out][in]` row-major.
    pub codes: &'a [u64],
    /// Bias per output, in accumulator units.
    pub bias: &'a [i64],
    /// Accumulator width (the golden model's: proven, or narrower).
    pub acc_bits: u32,
    /// What the accumulator does below the proven width: wrap, or saturate after the bias and
    /// after each product in input order (the golden model's order, which the tile then
    /// follows).
    pub overflow: AccOverflow,
    /// Requantized codes or raw accumulators.
    pub output: MvuOutput,
}

fn bad(name: &'static str, value: impl ToString, rule: String) -> UnitError {
    UnitError::BadParameter {
        name,
        value: value.to_string(),
        rule,
    }
}

impl MvuParams {
    /// Validates a layer against a folding: `pe` must divide `out_features`, `simd` must
    /// divide `in_features`, the scheme must have a PE kind, the accumulator must hold one
    /// lane's product, and requantization must fit 126-bit arithmetic.
    pub fn new(l: MvuLayer<'_>, pe: u32, simd: u32) -> Result<MvuParams, UnitError> {
        let k = l.layer;
        let (mw, mh) = (l.in_features as u32, l.out_features as u32);
        if pe == 0 || mh % pe != 0 {
            return Err(bad(
                "pe",
                pe,
                format!("must divide out_features ({mh}) of layer {k}"),
            ));
        }
        if simd == 0 || mw % simd != 0 {
            return Err(bad(
                "simd",
                simd,
                format!("must divide in_features ({mw}) of layer {k}"),
            ));
        }
        let kind = pe_kind_for(l.weights, l.input)
            .map_err(|e| bad("weights", l.weights.name(), format!("of layer {k}: {e}")))?;
        if l.codes.len() != (mw * mh) as usize || l.bias.len() != mh as usize {
            return Err(bad(
                "codes",
                l.codes.len(),
                format!(
                    "of layer {k} must number in_features × out_features ({})",
                    mw * mh
                ),
            ));
        }
        let row = PeParams::new(
            kind.clone(),
            l.input.bits,
            l.input.signed,
            simd,
            64,
            Overflow::Wrap,
        )
        .map_err(|e| bad("pe", format!("layer {k}"), e.to_string()))?;
        let need = row.min_acc_bits();
        if l.acc_bits < need || l.acc_bits > 64 {
            return Err(bad(
                "acc_bits",
                l.acc_bits,
                format!(
                    "of layer {k} must be between {need} (one lane's product in the PE) and 64"
                ),
            ));
        }
        let levels: Vec<i64> = l
            .codes
            .iter()
            .map(|&c| l.weights.level(c).unwrap_or(0))
            .collect();
        let (inf, outf) = (mw as usize, mh as usize);
        let mut levels_by_input = vec![0i64; inf * outf];
        for (c, row) in l.codes.chunks_exact(inf).enumerate() {
            for (j, &code) in row.iter().enumerate() {
                levels_by_input[j * outf + c] = kind.level(code);
            }
        }
        // Saturation changes results only below the proven width; there the order matters.
        let ranges = output_ranges(&levels, l.bias, mw as usize, l.input.min(), l.input.max());
        let lo = ranges.iter().map(|r| r.0).min().unwrap_or(0);
        let hi = ranges.iter().map(|r| r.1).max().unwrap_or(0);
        let saturate_each =
            l.overflow == AccOverflow::Saturate && l.acc_bits < signed_width(lo, hi);
        let row = PeParams::new(
            kind.clone(),
            l.input.bits,
            l.input.signed,
            simd,
            l.acc_bits,
            if saturate_each {
                Overflow::SaturateEach
            } else {
                Overflow::Wrap
            },
        )
        .map_err(|e| bad("pe", format!("layer {k}"), e.to_string()))?;
        let mut p = MvuParams {
            layer: k,
            in_features: mw,
            out_features: mh,
            pe,
            simd,
            input: l.input,
            kind,
            codes: l.codes.to_vec(),
            levels,
            levels_by_input,
            bias: l.bias.to_vec(),
            acc_bits: l.acc_bits,
            overflow: l.overflow,
            saturate_each,
            output: l.output,
            hw: None,
            fault: MvuFault::None,
            tag: String::new(),
            row,
            vectors: 1,
        };
        if let MvuOutput::Requant(r) = &p.output {
            p.hw = Some(
                requant_hw(r, mh as usize, l.acc_bits)
                    .map_err(|rule| bad("requant", format!("layer {k}"), rule))?,
            );
        }
        p.tag = p.hash_tag();
        Ok(p)
    }

    /// The same unit with a planted fault in its Verilog.
    pub fn with_fault(mut self, fault: MvuFault) -> MvuParams {
        self.fault = fault;
        self
    }

    /// The same unit computing `vectors` vectors per image (a convolution: one per output
    /// pixel). The hardware does not change; the count is for per-image figures.
    pub fn with_vectors(mut self, vectors: u32) -> MvuParams {
        self.vectors = vectors.max(1);
        self
    }

    /// Vectors per image (1 for a dense layer).
    pub fn vectors(&self) -> u32 {
        self.vectors
    }

    /// Cycles per image when fed without stalls: `vectors · NF · SF`.
    pub fn cycles_per_image(&self) -> u64 {
        u64::from(self.vectors) * self.fold()
    }

    /// `SF`: input chunks per vector.
    pub fn sf(&self) -> u32 {
        self.in_features / self.simd
    }

    /// `NF`: output groups per vector.
    pub fn nf(&self) -> u32 {
        self.out_features / self.pe
    }

    /// Fires per vector: `NF · SF`.
    pub fn fold(&self) -> u64 {
        u64::from(self.sf()) * u64::from(self.nf())
    }

    /// PE rows.
    pub fn pe(&self) -> u32 {
        self.pe
    }

    /// SIMD lanes.
    pub fn simd(&self) -> u32 {
        self.simd
    }

    /// The layer index.
    pub fn layer(&self) -> usize {
        self.layer
    }

    /// The accumulator width.
    pub fn acc_bits(&self) -> u32 {
        self.acc_bits
    }

    /// The accumulator's overflow mode, as the layer states it.
    pub fn overflow(&self) -> AccOverflow {
        self.overflow
    }

    /// Whether the tile saturates after each product, starting from the saturated bias (a
    /// saturating accumulator narrower than the proven width), rather than adding a chunk's
    /// products at once and the bias at the end.
    pub fn saturates_each_product(&self) -> bool {
        self.saturate_each
    }

    /// The accumulator's start value for channel `c` with saturation after each product: the
    /// saturated bias.
    fn start_value(&self, c: usize) -> i64 {
        saturate(i128::from(self.bias[c]), self.acc_bits) as i64
    }

    /// The PE kind.
    pub fn kind(&self) -> &PeKind {
        &self.kind
    }

    /// Input stream shape: SIMD codes of the input format.
    pub fn input_shape(&self) -> StreamShape {
        StreamShape {
            lanes: self.simd,
            lane_bits: self.input.bits,
            signed: self.input.signed,
        }
    }

    /// Output stream shape: PE codes of the output format (or accumulators).
    pub fn output_shape(&self) -> StreamShape {
        let (bits, signed) = match &self.output {
            MvuOutput::Requant(r) => (r.output.bits, r.output.signed),
            MvuOutput::Accumulator => (self.acc_bits, true),
        };
        StreamShape {
            lanes: self.pe,
            lane_bits: bits,
            signed,
        }
    }

    /// Latency from the fire of a group's last chunk to its `out_valid`.
    pub fn output_latency(&self) -> u32 {
        2
    }

    /// Whether the multiplier of requantization is built (false: a pure shift, or logits).
    pub fn has_multiplier(&self) -> bool {
        self.hw
            .as_ref()
            .is_some_and(|h| h.mult.iter().any(|&m| m != 1))
    }

    /// The PE of each row: a wrap-around accumulator of the layer's width, or a chain of
    /// saturating adders ([`MvuParams::saturates_each_product`]).
    pub fn pe_params(&self) -> PeParams {
        self.row.clone()
    }

    /// The PE array of the tile.
    pub fn pe_array(&self) -> Result<PeArrayParams, UnitError> {
        PeArrayParams::new(self.pe_params(), self.pe)
    }

    /// The ROM word at `addr = nf · SF + sf`: row `r`'s SIMD codes in bits `r·SIMD·W ..`.
    fn rom_word(&self, addr: u32) -> Bits {
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

    fn hash_tag(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut add = |v: i128| {
            for b in v.to_le_bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        };
        for &c in &self.codes {
            add(i128::from(c));
        }
        for &b in &self.bias {
            add(i128::from(b));
        }
        add(i128::from(self.acc_bits));
        if self.saturate_each {
            add(-1);
        }
        add(i128::from(self.input.bits) * 2 + i128::from(self.input.signed));
        add(self.kind.code_bits() as i128);
        add(self.kind.name().len() as i128 + self.kind.level_range().1 as i128);
        if let Some(hw) = &self.hw {
            add(i128::from(hw.s0));
            for &m in &hw.mult {
                add(m as i128);
            }
            add(i128::from(hw.lo));
            add(i128::from(hw.hi));
            add(hw.rounding as i128);
        }
        format!("{:08x}", h as u32)
    }

    /// The output of channel `c` for an accumulator value `acc` (already wrapped or saturated):
    /// the golden requantization or the raw value. The bias is added here unless the
    /// accumulator started from it.
    fn finish_channel(&self, acc: i64, c: usize) -> i64 {
        let v = if self.saturate_each {
            i128::from(acc)
        } else {
            wrap(i128::from(acc) + i128::from(self.bias[c]), self.acc_bits)
        };
        match &self.output {
            MvuOutput::Requant(r) => r.apply(v, c),
            MvuOutput::Accumulator => v as i64,
        }
    }

    fn build(&self, array: &Module) -> Result<Module, HdlError> {
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
        if let Some(sf) = &sf {
            let next = Expr::mux(&last_sf, &uconst(sfw, 0)?, &sf.add(&uconst(sfw, 1)?)?)?;
            m.drive_reg("sf_r", next, Some(fire.clone()))?;
        }
        if let Some(nf) = &nf {
            let last = nf.eq(&uconst(nfw, u64::from(nf_n - 1))?)?;
            let next = Expr::mux(&last, &uconst(nfw, 0)?, &nf.add(&uconst(nfw, 1)?)?)?;
            m.drive_reg("nf_r", next, Some(fire_last.clone()))?;
        }
        if let Some(wa) = &waddr {
            let last = wa.eq(&uconst(aw, u64::from(depth - 1))?)?;
            let next = Expr::mux(&last, &uconst(aw, 0)?, &wa.add(&uconst(aw, 1)?)?)?;
            m.drive_reg("waddr_r", next, Some(fire.clone()))?;
        }
        m.drive_reg("done_r", fire_last.or(&done.and(&b_free.not())?)?, None)?;
        m.drive_reg(
            "out_valid_r",
            transfer.or(&out_valid.and(&out_ready.not())?)?,
            None,
        )?;

        // Activations: the stream on the first pass, the input buffer after.
        let x = match (&nf, &sf) {
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

        // Weights.
        let words: Vec<Expr> = (0..depth)
            .map(|a| Expr::constant(self.rom_word(a), false))
            .collect();
        let wgt = match &waddr {
            Some(wa) => select(&mut m, "rom", wa, words)?,
            None => words[0].clone(),
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

/// The shift/multiplier form of a requantization for `channels` channels of `acc_bits`-bit
/// accumulators.
fn requant_hw(r: &Requant, channels: usize, acc_bits: u32) -> Result<RequantHw, String> {
    let params: Vec<(i64, i32)> = (0..channels).map(|c| r.params(c)).collect();
    let s0 = params.iter().map(|p| p.1).max().unwrap_or(0).max(0) as u32;
    let mut mult = Vec::with_capacity(channels);
    for &(m, s) in &params {
        let k = s0 as i64 - i64::from(s);
        if m < 0 || k > 100 {
            return Err(format!(
                "multiplier ({m}) and shift ({s}) do not fit one shift of {s0}"
            ));
        }
        let v = (m as u128) << k;
        mult.push(v);
    }
    let max = mult.iter().copied().max().unwrap_or(1);
    let m_bits = (128 - max.leading_zeros()).max(1);
    if acc_bits + m_bits + 2 > 120 {
        return Err(format!(
            "the product of a {acc_bits}-bit accumulator and a {m_bits}-bit multiplier exceeds 120 bits"
        ));
    }
    let lo = r.low();
    let hi = r.high();
    if signed_width(i128::from(lo), i128::from(hi)) > 33 {
        return Err(format!("output range [{lo}, {hi}] is wider than 32 bits"));
    }
    Ok(RequantHw {
        s0,
        mult,
        m_bits,
        lo,
        hi,
        rounding: r.rounding,
    })
}

impl Unit for MvuParams {
    type Model = MvuModel;

    /// `qf_mvu_l<layer>_<kind>_mw<MW>_mh<MH>_p<PE>_s<SIMD>_<hash of weights and constants>`,
    /// then `_sateach` for saturation after each product.
    fn name(&self) -> String {
        format!(
            "qf_mvu_l{}_{}_mw{}_mh{}_p{}_s{}_{}{}{}",
            self.layer,
            self.kind.name(),
            self.in_features,
            self.out_features,
            self.pe,
            self.simd,
            self.tag,
            if self.saturate_each { "_sateach" } else { "" },
            match self.fault {
                MvuFault::None => "",
                MvuFault::FoldCounter => "_fault_fold",
                MvuFault::Rounding => "_fault_round",
            }
        )
    }

    fn parameters(&self) -> Vec<(String, String)> {
        let p = |k: &str, v: String| (k.to_string(), v);
        let mut v = vec![
            p("layer", self.layer.to_string()),
            p("in_features", self.in_features.to_string()),
            p("out_features", self.out_features.to_string()),
            p("pe", self.pe.to_string()),
            p("simd", self.simd.to_string()),
            p("fold", self.fold().to_string()),
            p("input", self.input.to_string()),
            p("kind", self.kind.name().to_string()),
            p("acc_bits", self.acc_bits.to_string()),
        ];
        if self.saturate_each {
            v.push(p("overflow", "saturate_each".into()));
        }
        match (&self.output, &self.hw) {
            (MvuOutput::Requant(r), Some(hw)) => {
                v.push(p("output", r.output.to_string()));
                v.push(p("relu", r.relu.to_string()));
                v.push(p("shift", hw.s0.to_string()));
                v.push(p("multiplier_bits", hw.m_bits.to_string()));
                v.push(p("pure_shift", (!self.has_multiplier()).to_string()));
                v.push(p("rounding", r.rounding.name().to_string()));
            }
            _ => v.push(p("output", "accumulator".into())),
        }
        if self.fault != MvuFault::None {
            v.push(p("fault", format!("{:?}", self.fault)));
        }
        v
    }

    /// The stream ports ([`super::stream`]): `in_data` SIMD × A bits, `out_data` PE × OB bits.
    fn ports(&self) -> Vec<Port> {
        stream_ports(self.input_shape(), self.output_shape())
    }

    fn model(&self) -> MvuModel {
        MvuModel::new(self.clone(), true)
    }

    fn verilog(&self) -> Result<Vec<Module>, UnitError> {
        let mut modules = self.pe_array()?.verilog()?;
        let array = modules
            .last()
            .cloned()
            .ok_or_else(|| UnitError::Input("the PE array produced no module".into()))?;
        modules.push(self.build(&array)?);
        Ok(modules)
    }

    /// See the module docs: PE array + ROM + input buffer + bias/requant/clamp + registers.
    fn cost(&self) -> Cost {
        // The PE array's estimate: PE rows of the row PE's.
        let array = self.row.cost() * u64::from(self.pe);
        let depth = self.fold();
        let word = u64::from(self.pe * self.simd * self.kind.code_bits());
        let rom = if depth > 1 {
            word * depth / 8 + word
        } else {
            0
        };
        let ibuf_bits = if self.nf() > 1 {
            u64::from(self.in_features * self.input.bits)
        } else {
            0
        };
        let ab = u64::from(self.acc_bits);
        let ob = u64::from(self.output_shape().lane_bits);
        let pe = u64::from(self.pe);
        // The bias adder; a chain of saturating adders starts from the bias instead.
        let bias = if self.saturate_each { 0 } else { ab };
        let per_lane = match &self.hw {
            Some(hw) if self.has_multiplier() => {
                bias + 9 * ab * u64::from(hw.m_bits) / 2 + 2 * (ab + u64::from(hw.m_bits))
            }
            Some(_) => bias + 2 * ab,
            None => bias,
        };
        let counters = 3 * u64::from(counter_bits(depth.max(2)));
        Cost {
            lut: array.lut + rom + ibuf_bits + pe * per_lane + 2 * counters + 8,
            ff: array.ff + ibuf_bits + pe * ob + counters + 2,
            carry: array.carry + pe * bias + counters,
            dsp: 0,
            bram: 0,
        }
    }
}

/// Activity counters of an MVU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MvuStats {
    /// Cycles in which the tile computed.
    pub busy: u64,
    /// Cycles spent waiting for input on the first pass.
    pub starved: u64,
    /// Cycles a finished group waited for the output register (output backpressure).
    pub blocked: u64,
}

/// The MVU's behaviour: its registers as integers; the tile computes with the PE's semantics
/// (exact lane sums, accumulators wrapped to the layer's width by [`PeParams::fit`]).
///
/// A *control-only* model ([`MvuParams::control_model`]) steps the same counters and
/// handshakes without computing values: the control path of the unit does not depend on the
/// data, so its timing is the full model's, while `out_data` stays zero (the values then come
/// from [`MvuParams::forward`]).
#[derive(Clone, Debug)]
pub struct MvuModel {
    params: MvuParams,
    /// Whether the tile computes values (false: control only).
    values: bool,
    sf: u32,
    nf: u32,
    waddr: u32,
    done: bool,
    res_nf: u32,
    ibuf: Vec<i64>,
    acc: Vec<i64>,
    out_valid: bool,
    out_data: Vec<i64>,
    /// Weight levels in ROM order: address, row, lane.
    rom_levels: Vec<i64>,
    /// The same levels and input buffer as i16, when codes, levels and the accumulator allow
    /// the i16 × i16 → i32 kernel (exact modulo 2^32, so modulo 2^acc_bits for acc_bits ≤ 32).
    narrow: Option<(Vec<i16>, Vec<i16>)>,
    stats: MvuStats,
}

impl MvuParams {
    /// A model that steps the control path only (see [`MvuModel`]).
    pub fn control_model(&self) -> MvuModel {
        MvuModel::new(self.without_weights(), false)
    }

    /// The same configuration without its weights (codes and levels empty), for models and
    /// descriptions that need the rest only; copying the weights would cost more than the rest.
    pub(crate) fn without_weights(&self) -> MvuParams {
        MvuParams {
            layer: self.layer,
            in_features: self.in_features,
            out_features: self.out_features,
            pe: self.pe,
            simd: self.simd,
            input: self.input,
            kind: self.kind.clone(),
            codes: Vec::new(),
            levels: Vec::new(),
            levels_by_input: Vec::new(),
            bias: self.bias.clone(),
            acc_bits: self.acc_bits,
            overflow: self.overflow,
            saturate_each: self.saturate_each,
            output: self.output.clone(),
            hw: self.hw.clone(),
            fault: self.fault,
            tag: self.tag.clone(),
            row: self.row.clone(),
            vectors: self.vectors,
        }
    }
}

impl MvuModel {
    fn new(params: MvuParams, values: bool) -> MvuModel {
        let (pe, simd) = (params.pe as usize, params.simd as usize);
        let mut rom_levels = Vec::with_capacity(if values { params.levels.len() } else { 0 });
        for a in 0..if values { params.fold() as u32 } else { 0 } {
            let (sf, nf) = (a % params.sf(), a / params.sf());
            for r in 0..params.pe {
                let c = (nf * params.pe + r) as usize;
                for i in 0..params.simd {
                    let j = (sf * params.simd + i) as usize;
                    rom_levels.push(
                        params
                            .kind
                            .level(params.codes[c * params.in_features as usize + j]),
                    );
                }
            }
        }
        let fits = |v: i64| i16::try_from(v).is_ok();
        let input_fits = fits(params.input.min()) && fits(params.input.max());
        let narrow = (values
            && params.acc_bits <= 32
            && !params.saturate_each
            && input_fits
            && rom_levels.iter().all(|&l| fits(l)))
        .then(|| {
            (
                rom_levels.iter().map(|&l| l as i16).collect(),
                vec![0i16; params.in_features as usize],
            )
        });
        MvuModel {
            values,
            narrow,
            sf: 0,
            nf: 0,
            waddr: 0,
            done: false,
            res_nf: 0,
            ibuf: vec![
                0;
                if values {
                    params.in_features as usize
                } else {
                    0
                }
            ],
            acc: vec![0; pe],
            out_valid: false,
            out_data: vec![0; pe],
            rom_levels,
            stats: MvuStats::default(),
            params: MvuParams {
                levels: Vec::new(),
                levels_by_input: Vec::new(),
                ..params
            },
        }
        .with_simd_check(simd)
    }

    fn with_simd_check(self, simd: usize) -> Self {
        debug_assert_eq!(simd as u32, self.params.simd);
        self
    }

    /// The activity counters so far.
    pub fn stats(&self) -> MvuStats {
        self.stats
    }

    /// Adds `times` × `delta` to the counters.
    pub(crate) fn add_stats(&mut self, delta: MvuStats, times: u64) {
        self.stats.busy += delta.busy * times;
        self.stats.starved += delta.starved * times;
        self.stats.blocked += delta.blocked * times;
    }

    /// The unit's configuration.
    pub fn params(&self) -> &MvuParams {
        &self.params
    }

    /// One fire of the tile on chunk `sf` (already in the input buffer): accumulate, advance
    /// the counters; returns whether it was the group's last chunk.
    fn fire_once(&mut self) -> bool {
        let p = &self.params;
        let (pe, simd) = (p.pe as usize, p.simd as usize);
        let at = self.sf as usize * simd;
        let clear = self.sf == 0;
        let base = self.waddr as usize * pe * simd;
        if !self.values {
            // Control only: the counters below.
        } else if p.saturate_each {
            let x = &self.ibuf[at..at + simd];
            let word = &self.rom_levels[base..base + pe * simd];
            let first = self.nf as usize * pe;
            accumulate_saturating(p, x, word, &mut self.acc, clear.then_some(first));
        } else if let Some((rom, ibuf)) = &self.narrow {
            let x = &ibuf[at..at + simd];
            let word = &rom[base..base + pe * simd];
            let sh = 32 - p.acc_bits;
            for (acc, w) in self.acc.iter_mut().zip(word.chunks_exact(simd)) {
                let start = if clear { 0i32 } else { *acc as i32 };
                let s = start.wrapping_add(dot_i16_i32(x, w));
                *acc = i64::from((s << sh) >> sh);
            }
        } else {
            let x = &self.ibuf[at..at + simd];
            let word = &self.rom_levels[base..base + pe * simd];
            // Two's complement arithmetic modulo 2^64, then the accumulator's wrap: the PE's
            // wrap-around semantics exactly, as the width is at most 64.
            let sh = 64 - p.acc_bits;
            for (acc, w) in self.acc.iter_mut().zip(word.chunks_exact(simd)) {
                let mut s = if clear { 0i64 } else { *acc };
                for (&a, &l) in x.iter().zip(w) {
                    s = s.wrapping_add(a.wrapping_mul(l));
                }
                *acc = (s << sh) >> sh;
            }
        }
        let last = self.sf + 1 == p.sf();
        if last {
            self.res_nf = self.nf;
            self.nf = if self.nf + 1 == p.nf() {
                0
            } else {
                self.nf + 1
            };
            self.sf = 0;
        } else {
            self.sf += 1;
        }
        self.waddr = if u64::from(self.waddr) + 1 == p.fold() {
            0
        } else {
            self.waddr + 1
        };
        last
    }

    /// Whether the tile fires this cycle, given the stream inputs.
    pub fn fires(&self, in_valid: bool, out_ready: bool) -> bool {
        let b_free = !self.out_valid || out_ready;
        let can_fire = !self.done || b_free;
        can_fire && (self.nf != 0 || in_valid)
    }
}

/// One fire with saturation after each product: per PE row, the accumulator (or, with `start`
/// = the group's first channel, that row's channel's saturated bias) plus each of the row's
/// SIMD products in input order, saturated after each, exactly as [`crate::qnn::exact`].
fn accumulate_saturating(
    p: &MvuParams,
    x: &[i64],
    word: &[i64],
    acc: &mut [i64],
    start: Option<usize>,
) {
    let simd = p.simd as usize;
    for (r, (a, w)) in acc.iter_mut().zip(word.chunks_exact(simd)).enumerate() {
        let mut s = i128::from(start.map_or(*a, |c| p.start_value(c + r)));
        for (&v, &l) in x.iter().zip(w) {
            s = saturate(s + i128::from(v) * i128::from(l), p.acc_bits);
        }
        *a = s as i64;
    }
}

impl StreamModel for MvuModel {
    fn out_valid(&self) -> bool {
        self.out_valid
    }

    fn out_data(&self) -> &[i64] {
        &self.out_data
    }

    fn in_ready(&self, out_ready: bool) -> bool {
        self.nf == 0 && (!self.done || !self.out_valid || out_ready)
    }

    fn clock(&mut self, in_valid: bool, in_data: &[i64], out_ready: bool) {
        let p = &self.params;
        let b_free = !self.out_valid || out_ready;
        let can_fire = !self.done || b_free;
        let first = self.nf == 0;
        let fire = can_fire && (!first || in_valid);
        let transfer = self.done && b_free;
        if transfer && self.values {
            let base = (self.res_nf * p.pe) as usize;
            for (lane, (o, &a)) in self.out_data.iter_mut().zip(&self.acc).enumerate() {
                *o = p.finish_channel(a, base + lane);
            }
        }
        self.out_valid = transfer || (self.out_valid && !out_ready);
        let mut fire_last = false;
        if fire {
            self.stats.busy += 1;
            if first && self.values {
                let simd = p.simd as usize;
                let at = self.sf as usize * simd;
                self.ibuf[at..at + simd].copy_from_slice(&in_data[..simd]);
                if let Some((_, ibuf)) = &mut self.narrow {
                    for (d, &v) in ibuf[at..at + simd].iter_mut().zip(&in_data[..simd]) {
                        *d = v as i16;
                    }
                }
            }
            fire_last = self.fire_once();
        } else if self.done && !b_free {
            self.stats.blocked += 1;
        } else if first && !in_valid {
            self.stats.starved += 1;
        }
        self.done = fire_last || (self.done && !b_free);
    }

    fn quiet(&self, in_valid: bool, out_ready: bool) -> u64 {
        let b_free = !self.out_valid || out_ready;
        if self.done {
            // A finished group moves out (0), or waits with everything held.
            return if b_free { 0 } else { u64::MAX };
        }
        if self.out_valid && out_ready {
            return 0;
        }
        if self.nf != 0 {
            // Fires from the input buffer until the group's last chunk.
            u64::from(self.params.sf() - 1 - self.sf)
        } else if in_valid {
            0
        } else {
            u64::MAX
        }
    }

    fn skip(&mut self, cycles: u64, in_valid: bool, out_ready: bool) {
        let b_free = !self.out_valid || out_ready;
        if self.done {
            self.stats.blocked += cycles;
        } else if self.nf != 0 {
            self.stats.busy += cycles;
            if self.values {
                for _ in 0..cycles {
                    self.fire_once();
                }
            } else {
                // quiet() allowed no group end: the counters only count up.
                let k = cycles as u32;
                self.sf += k;
                self.waddr += k;
            }
        } else if !in_valid {
            self.stats.starved += cycles;
        }
        // quiet() allowed no output transfer: out_valid and out_data hold.
        let _ = b_free;
    }

    fn control_state(&self, out: &mut Vec<u64>) {
        out.extend([
            u64::from(self.sf),
            u64::from(self.nf),
            u64::from(self.waddr),
            u64::from(self.res_nf),
            u64::from(self.done) | u64::from(self.out_valid) << 1,
        ]);
    }

    fn reset_state(&mut self) {
        self.sf = 0;
        self.nf = 0;
        self.waddr = 0;
        self.done = false;
        self.res_nf = 0;
        self.ibuf.iter_mut().for_each(|v| *v = 0);
        self.acc.iter_mut().for_each(|v| *v = 0);
        self.out_valid = false;
        self.out_data.iter_mut().for_each(|v| *v = 0);
    }
}

impl Model for MvuModel {
    fn reset(&mut self) {
        self.reset_state();
        self.stats = MvuStats::default();
    }

    fn step(&mut self, inputs: &[Bits]) -> Result<Vec<Bits>, UnitError> {
        let (i, o) = (self.params.input_shape(), self.params.output_shape());
        let ports = self.params.ports();
        step_ports(self, &ports, i, o, inputs)
    }
}
