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
mod model;
mod pairs;
mod verilog;

pub use batch::Code;
pub use model::{MvuModel, MvuStats};

use super::pe::{Overflow, PeKind, PeParams};
use super::pe_array::PeArrayParams;
use super::pe_uniform::UniformWeights;
use super::stream::{counter_bits, stream_ports, StreamShape};
use super::unit::{Cost, Unit, UnitError};
use crate::hdl::{Module, Port};
use crate::num::rounding::RoundingMode;
use crate::qnn::accum::output_ranges;
use crate::qnn::format::{saturate, signed_width, wrap};
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
