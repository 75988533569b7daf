//! Matrix-vector unit (MVU): one dense layer as a folded PE × SIMD tile with its weights in a
//! ROM (logic or block RAM), accumulation over the fold, bias, requantization (or raw logits) and an output stream.
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
//! * The ROM and `ibuf` are logic (a multiplexer tree, registers) or block RAM ([`Storage`]).
//!   A block RAM is read at the address its counter takes at the clock edge (`waddr`'s next
//!   value for the ROM, `sf`'s for `ibuf`; 0 in reset), so each word is on the block's output
//!   in the cycle the counter holds its address: the same cycles as logic. `ibuf` writes word
//!   `sf` while reading ahead at `sf`'s next value, which differs whenever both happen.
//! * A fire needs an input (stream on the first pass) and a free accumulator: `done` marks
//!   accumulators holding a finished group that has not yet moved to the output register. The
//!   move (`transfer`) happens when `done` and the output register is empty or being read.
//!   `in_ready = (nf == 0) ∧ (¬done ∨ ¬out_valid ∨ out_ready)`; it depends on `out_ready`.
//! * Bipolar activations (±1, [`IntFormat::BIPOLAR`]) travel one bit per code, 1 = +1,
//!   0 = −1; the unit's values decode them to ±1 (`2·bit − 1`) before the sums, so its arithmetic
//!   is the golden one. Only binary weights take them (the XNOR-popcount PE); binary weights on
//!   integer activations are multiplied by the ternary PE (add or subtract; a ±1 weight is a
//!   ternary weight that is never zero), their codes rewritten as ternary codes of the same
//!   levels ([`pe_kind_for`]).
//! * A sign output ([`MvuOutput::Sign`]) is a threshold per lane instead of requantization:
//!   `y = (acc + bias ≥ 0)`, i.e. `acc ≥ T` with `T = −bias`, one bit per lane (1 = +1), built
//!   as the bias adder and the inverted sign bit of its wrapped sum (the golden sign of the
//!   accumulator after its overflow, ties to +1).
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
//! `NF > 1` plus a read mux of as many LUT4 (in block RAM: its blocks instead); per lane the bias adder (`ACC` LUT4 and carries;
//! none for chains of saturating adders, whose rows' estimate has the start value's mux),
//! the requantization multiplier (`4.5 · ACC · MB` LUT4 as for uniform PEs, none for pure
//! shifts) and clamp (`2 · QW` LUT4), for a sign output the bias adder alone (its inverted
//! sign bit is the output); the output register `PE · OB` flip-flops and the counters.

mod batch;
mod model;
mod pairs;
mod verilog;

pub use batch::Code;
pub use model::{MvuModel, MvuStats};

use super::lanes::lane_of;
use super::pe::{Overflow, PeParams};
use super::pe_array::PeArrayParams;
use super::stream::{counter_bits, stream_ports, StreamShape};
use super::unit::{Cost, Unit, UnitError};
use crate::hash::Fnv1a64;
use crate::hdl::{Module, Port};
use crate::num::rounding::RoundingMode;
use crate::num::weights::WeightCode;
use crate::qnn::accum::output_ranges;
use crate::qnn::format::{saturate, signed_width, wrap};
use crate::qnn::{AccOverflow, IntFormat, Requant};

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
    /// Bipolar codes, one bit per lane: 1 (+1) where `acc + bias ≥ 0`, else 0 (−1).
    Sign,
}

/// The weight code a layer's PEs multiply by, for activations of `input`, or a message naming
/// the code and the rule. Bipolar activations take binary weights only (XNOR-popcount); binary
/// weights on integer activations are multiplied by the ternary PE (add or subtract), their
/// codes rewritten by [`pe_codes`].
pub fn pe_kind_for(code: &WeightCode, input: IntFormat) -> Result<WeightCode, String> {
    match (lane_of(code).bipolar_activations(), input.is_bipolar()) {
        (true, false) => Ok(WeightCode::Ternary),
        (false, true) => Err(format!(
            "weight scheme {} has no PE kind for bipolar activations (±1 activations take binary weights, XNOR-popcount)",
            code.name()
        )),
        _ => Ok(code.clone()),
    }
}

/// The codes of `weights` rewritten as codes of the PE kind `kind` with the same levels (the
/// codes themselves where the kind is the scheme), or the first code that has no such code.
pub fn pe_codes(weights: &WeightCode, kind: &WeightCode, codes: &[u64]) -> Result<Vec<u64>, u64> {
    if weights == kind {
        return Ok(codes.to_vec());
    }
    codes
        .iter()
        .map(|&c| weights.level(c).and_then(|l| kind.encode(l)).ok_or(c))
        .collect()
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
    kind: WeightCode,
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
    weight_memory: Storage,
    input_memory: Storage,
}

/// Where an MVU keeps one of its memories: the weights (a ROM of `NF · SF` words of `PE · SIMD`
/// codes) or the input buffer (`SF` words of `SIMD` activations, written on a vector's first
/// pass and read on the others).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Storage {
    /// Logic: the weights a multiplexer tree over constant words, the input buffer registers
    /// and a read multiplexer; read combinationally.
    #[default]
    Fabric,
    /// Block RAM ([`super::memory`]), read one cycle ahead (at the value the word counter takes
    /// at the edge) so each word arrives in the same cycle as from logic: the cycle behaviour
    /// is the same.
    BlockRam,
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
    pub weights: &'a WeightCode,
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

/// Whose matrix an MVU computes, which names its dimensions in messages: a dense layer's
/// `in_features × out_features`, or a convolution's window `in_channels · kernel_h ·
/// kernel_w` × `out_channels`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatrixOf {
    /// A dense layer.
    Dense,
    /// A convolution, one output pixel per vector.
    Conv,
}

impl MatrixOf {
    /// The output dimension and its size, as messages name it.
    fn outputs(self, n: u32) -> String {
        match self {
            MatrixOf::Dense => format!("out_features ({n})"),
            MatrixOf::Conv => format!("out_channels ({n})"),
        }
    }

    /// The input dimension and its size, as messages name it.
    fn inputs(self, n: u32) -> String {
        match self {
            MatrixOf::Dense => format!("in_features ({n})"),
            MatrixOf::Conv => format!("the window (in_channels · kernel_h · kernel_w = {n})"),
        }
    }
}

/// A layer an MVU cannot be built for; each message names the layer, the value and the rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MvuError {
    /// PE does not divide the outputs.
    #[error("pe ({pe}) must divide {} of layer {layer}", .matrix.outputs(*.outputs))]
    PeDivide {
        /// The layer.
        layer: usize,
        /// PE rows asked for.
        pe: u32,
        /// Outputs per vector.
        outputs: u32,
        /// How the dimension is named.
        matrix: MatrixOf,
    },
    /// SIMD does not divide the inputs.
    #[error("simd ({simd}) must divide {} of layer {layer}", .matrix.inputs(*.inputs))]
    SimdDivide {
        /// The layer.
        layer: usize,
        /// SIMD lanes asked for.
        simd: u32,
        /// Inputs per vector.
        inputs: u32,
        /// How the dimension is named.
        matrix: MatrixOf,
    },
    /// The weight scheme has no PE kind for the layer's activations.
    #[error("layer {layer}: {message}")]
    NoPeKind {
        /// The layer.
        layer: usize,
        /// Why, naming the scheme and the rule.
        message: String,
    },
    /// The weight codes do not fill the matrix.
    #[error(
        "codes ({codes}) of layer {layer} must number in_features × out_features ({expected})"
    )]
    CodeCount {
        /// The layer.
        layer: usize,
        /// Codes given.
        codes: usize,
        /// `in_features · out_features`.
        expected: usize,
    },
    /// One bias per output is needed.
    #[error("bias ({bias}) of layer {layer} must number out_features ({expected})")]
    BiasCount {
        /// The layer.
        layer: usize,
        /// Biases given.
        bias: usize,
        /// `out_features`.
        expected: usize,
    },
    /// The PE of a row rejected its parameters.
    #[error("pe (layer {layer}) {error}")]
    Row {
        /// The layer.
        layer: usize,
        /// The PE's error.
        error: Box<UnitError>,
    },
    /// The accumulator cannot hold one lane's product, or is wider than 64 bits.
    #[error("acc_bits ({bits}) of layer {layer} must be between {need} (one lane's product in the PE) and 64")]
    AccBits {
        /// The layer.
        layer: usize,
        /// The accumulator width.
        bits: u32,
        /// The width of one lane's product.
        need: u32,
    },
    /// A channel's multiplier and shift cannot share the layer's one shift.
    #[error("requant (layer {layer}) multiplier ({multiplier}) and shift ({shift}) do not fit one shift of {s0}")]
    RequantShift {
        /// The layer.
        layer: usize,
        /// The channel's multiplier.
        multiplier: i64,
        /// The channel's shift.
        shift: i32,
        /// The shared shift.
        s0: u32,
    },
    /// The requantization product is too wide for the datapath.
    #[error("requant (layer {layer}) the product of a {acc_bits}-bit accumulator and a {m_bits}-bit multiplier exceeds 120 bits")]
    RequantProduct {
        /// The layer.
        layer: usize,
        /// The accumulator width.
        acc_bits: u32,
        /// The widest multiplier.
        m_bits: u32,
    },
    /// The requantized output range is wider than 32 bits.
    #[error("requant (layer {layer}) output range [{lo}, {hi}] is wider than 32 bits")]
    RequantRange {
        /// The layer.
        layer: usize,
        /// The smallest output.
        lo: i64,
        /// The largest output.
        hi: i64,
    },
}

impl MvuParams {
    /// Validates a dense layer against a folding: `pe` must divide `out_features`, `simd` must
    /// divide `in_features`, the scheme must have a PE kind, the accumulator must hold one
    /// lane's product, and requantization must fit 126-bit arithmetic. This is the one place
    /// these rules are checked; [`super::plan`] relies on it.
    pub fn new(l: MvuLayer<'_>, pe: u32, simd: u32) -> Result<MvuParams, MvuError> {
        MvuParams::validated(l, pe, simd, MatrixOf::Dense)
    }

    /// The MVU of a convolution: `l` is its matrix (`in_features` the window, `out_features`
    /// the output channels), computed once per output pixel, `vectors` pixels per image. The
    /// rules are [`MvuParams::new`]'s; messages name the output channels and the window.
    pub fn conv(l: MvuLayer<'_>, pe: u32, simd: u32, vectors: u32) -> Result<MvuParams, MvuError> {
        Ok(MvuParams::validated(l, pe, simd, MatrixOf::Conv)?.with_vectors(vectors))
    }

    fn validated(
        l: MvuLayer<'_>,
        pe: u32,
        simd: u32,
        matrix: MatrixOf,
    ) -> Result<MvuParams, MvuError> {
        let k = l.layer;
        let (mw, mh) = (l.in_features as u32, l.out_features as u32);
        if pe == 0 || mh % pe != 0 {
            return Err(MvuError::PeDivide {
                layer: k,
                pe,
                outputs: mh,
                matrix,
            });
        }
        if simd == 0 || mw % simd != 0 {
            return Err(MvuError::SimdDivide {
                layer: k,
                simd,
                inputs: mw,
                matrix,
            });
        }
        let kind = pe_kind_for(l.weights, l.input)
            .map_err(|message| MvuError::NoPeKind { layer: k, message })?;
        let pe_codes = pe_codes(l.weights, &kind, l.codes).map_err(|c| MvuError::NoPeKind {
            layer: k,
            message: format!(
                "weight code {c} has no {} code of the same level",
                kind.name()
            ),
        })?;
        if l.codes.len() != (mw * mh) as usize {
            return Err(MvuError::CodeCount {
                layer: k,
                codes: l.codes.len(),
                expected: (mw * mh) as usize,
            });
        }
        if l.bias.len() != mh as usize {
            return Err(MvuError::BiasCount {
                layer: k,
                bias: l.bias.len(),
                expected: mh as usize,
            });
        }
        let row_err = |error| MvuError::Row {
            layer: k,
            error: Box::new(error),
        };
        // A bipolar lane is one bit, 1 = +1: not two's complement.
        let a_signed = l.input.signed && !l.input.is_bipolar();
        let row = PeParams::new(
            kind.clone(),
            l.input.bits,
            a_signed,
            simd,
            64,
            Overflow::Wrap,
        )
        .map_err(row_err)?;
        let need = row.min_acc_bits();
        if l.acc_bits < need || l.acc_bits > 64 {
            return Err(MvuError::AccBits {
                layer: k,
                bits: l.acc_bits,
                need,
            });
        }
        let levels: Vec<i64> = l
            .codes
            .iter()
            .map(|&c| l.weights.level(c).unwrap_or(0))
            .collect();
        let (inf, outf) = (mw as usize, mh as usize);
        let mut levels_by_input = vec![0i64; inf * outf];
        let lane = lane_of(&kind);
        for (c, row) in pe_codes.chunks_exact(inf).enumerate() {
            for (j, &code) in row.iter().enumerate() {
                levels_by_input[j * outf + c] = lane.level(code);
            }
        }
        drop(lane);
        // Saturation changes results only below the proven width; there the order matters.
        let ranges = output_ranges(&levels, l.bias, mw as usize, l.input.min(), l.input.max());
        let lo = ranges.iter().map(|r| r.0).min().unwrap_or(0);
        let hi = ranges.iter().map(|r| r.1).max().unwrap_or(0);
        let saturate_each =
            l.overflow == AccOverflow::Saturate && l.acc_bits < signed_width(lo, hi);
        let row = PeParams::new(
            kind.clone(),
            l.input.bits,
            a_signed,
            simd,
            l.acc_bits,
            if saturate_each {
                Overflow::SaturateEach
            } else {
                Overflow::Wrap
            },
        )
        .map_err(row_err)?;
        let mut p = MvuParams {
            layer: k,
            in_features: mw,
            out_features: mh,
            pe,
            simd,
            input: l.input,
            kind,
            codes: pe_codes,
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
            weight_memory: Storage::Fabric,
            input_memory: Storage::Fabric,
        };
        if let MvuOutput::Requant(r) = &p.output {
            p.hw = Some(requant_hw(r, mh as usize, l.acc_bits, k)?);
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

    /// The same unit with its weights in `memory`. A unit with one weight word (fold 1) keeps it
    /// as a constant whatever is asked: there is nothing to address.
    pub fn with_weight_memory(mut self, memory: Storage) -> MvuParams {
        self.weight_memory = if self.fold() > 1 {
            memory
        } else {
            Storage::Fabric
        };
        self
    }

    /// The same unit with its input buffer in `memory`. Only a unit with an input buffer of two
    /// or more words (`NF > 1`, `SF > 1`) takes block RAM; one word stays a register.
    pub fn with_input_memory(mut self, memory: Storage) -> MvuParams {
        self.input_memory = if self.nf() > 1 && self.sf() > 1 {
            memory
        } else {
            Storage::Fabric
        };
        self
    }

    /// Where the weights are kept.
    pub fn weight_memory(&self) -> Storage {
        self.weight_memory
    }

    /// Where the input buffer is kept.
    pub fn input_memory(&self) -> Storage {
        self.input_memory
    }

    /// The weight memory's words (`NF · SF`) and width (`PE · SIMD` codes).
    pub fn weight_shape(&self) -> (u32, u32) {
        (
            self.sf() * self.nf(),
            self.pe * self.simd * self.kind.code_bits(),
        )
    }

    /// The weight memory's width without the bits every word has equal (a binary weight on
    /// integer inputs is a ternary code that is never 0, one of whose two bits never changes):
    /// synthesis keeps no storage for those, so block counts use this width.
    pub fn weight_varying_bits(&self) -> u32 {
        let (depth, width) = self.weight_shape();
        if self.codes.is_empty() {
            // A description without its weights ([`MvuParams::without_weights`]).
            return width;
        }
        let first = self.rom_word(0);
        let mut varies = vec![false; width as usize];
        for a in 1..depth {
            let w = self.rom_word(a);
            for (i, v) in varies.iter_mut().enumerate() {
                *v |= w.get(i as u32) != first.get(i as u32);
            }
        }
        varies.iter().filter(|&&v| v).count().max(1) as u32
    }

    /// The input buffer's words (`SF`) and width (`SIMD` activations); no words without one
    /// (`NF = 1`).
    pub fn input_shape_words(&self) -> (u32, u32) {
        if self.nf() > 1 {
            (self.sf(), self.simd * self.input.bits)
        } else {
            (0, self.simd * self.input.bits)
        }
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

    /// The weight code the PEs multiply by.
    pub fn kind(&self) -> &WeightCode {
        &self.kind
    }

    /// Input stream shape: SIMD codes of the input format (bipolar: one bit each, 1 = +1).
    pub fn input_shape(&self) -> StreamShape {
        StreamShape {
            lanes: self.simd,
            lane_bits: self.input.bits,
            signed: self.input.signed && !self.input.is_bipolar(),
        }
    }

    /// The value of an input code as it arrives on the stream: a bipolar bit as ±1
    /// (`2·bit − 1`), any other code itself.
    pub(crate) fn input_value(&self, code: i64) -> i64 {
        if self.input.is_bipolar() {
            2 * (code & 1) - 1
        } else {
            code
        }
    }

    /// Output stream shape: PE codes of the output format (or accumulators).
    pub fn output_shape(&self) -> StreamShape {
        let (bits, signed) = match &self.output {
            MvuOutput::Requant(r) => (r.output.bits, r.output.signed),
            MvuOutput::Accumulator => (self.acc_bits, true),
            MvuOutput::Sign => (1, false),
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
        // Every field is fed as a 16-byte i128, the encoding the names have always used.
        let mut h = Fnv1a64::new();
        for &c in &self.codes {
            h.i128(i128::from(c));
        }
        for &b in &self.bias {
            h.i128(i128::from(b));
        }
        h.i128(i128::from(self.acc_bits));
        if self.saturate_each {
            h.i128(-1);
        }
        h.i128(i128::from(self.input.bits) * 2 + i128::from(self.input.signed));
        h.i128(self.kind.code_bits() as i128);
        h.i128(self.kind.name().len() as i128 + self.kind.level_range().1 as i128);
        if let Some(hw) = &self.hw {
            h.i128(i128::from(hw.s0));
            for &m in &hw.mult {
                h.i128(m as i128);
            }
            h.i128(i128::from(hw.lo));
            h.i128(i128::from(hw.hi));
            h.i128(hw.rounding as i128);
        }
        if self.output == MvuOutput::Sign {
            h.i128(-2);
        }
        h.tag32()
    }

    /// The output of channel `c` for an accumulator value `acc` (already wrapped or saturated):
    /// the golden requantization, the raw value, or the sign bit (1 = +1). The bias is added here unless the
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
            MvuOutput::Sign => i64::from(v >= 0),
        }
    }
}

/// The shift/multiplier form of a requantization for `channels` channels of `acc_bits`-bit
/// accumulators of layer `layer`.
fn requant_hw(
    r: &Requant,
    channels: usize,
    acc_bits: u32,
    layer: usize,
) -> Result<RequantHw, MvuError> {
    let params: Vec<(i64, i32)> = (0..channels).map(|c| r.params(c)).collect();
    let s0 = params.iter().map(|p| p.1).max().unwrap_or(0).max(0) as u32;
    let mut mult = Vec::with_capacity(channels);
    for &(m, s) in &params {
        let k = s0 as i64 - i64::from(s);
        if m < 0 || k > 100 {
            return Err(MvuError::RequantShift {
                layer,
                multiplier: m,
                shift: s,
                s0,
            });
        }
        let v = (m as u128) << k;
        mult.push(v);
    }
    let max = mult.iter().copied().max().unwrap_or(1);
    let m_bits = (128 - max.leading_zeros()).max(1);
    if acc_bits + m_bits + 2 > 120 {
        return Err(MvuError::RequantProduct {
            layer,
            acc_bits,
            m_bits,
        });
    }
    let lo = r.low();
    let hi = r.high();
    if signed_width(i128::from(lo), i128::from(hi)) > 33 {
        return Err(MvuError::RequantRange { layer, lo, hi });
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
    /// then `_sateach` for saturation after each product, `_wbram` for weights and `_ibram` for an
    /// input buffer in block RAM.
    fn name(&self) -> String {
        format!(
            "qf_mvu_l{}_{}_mw{}_mh{}_p{}_s{}_{}{}{}{}",
            self.layer,
            self.kind.name(),
            self.in_features,
            self.out_features,
            self.pe,
            self.simd,
            self.tag,
            if self.saturate_each { "_sateach" } else { "" },
            match (self.weight_memory, self.input_memory) {
                (Storage::Fabric, Storage::Fabric) => "",
                (Storage::BlockRam, Storage::Fabric) => "_wbram",
                (Storage::Fabric, Storage::BlockRam) => "_ibram",
                (Storage::BlockRam, Storage::BlockRam) => "_wbram_ibram",
            },
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
            (MvuOutput::Sign, _) => v.push(p("output", "sign".into())),
            _ => v.push(p("output", "accumulator".into())),
        }
        if self.weight_memory == Storage::BlockRam {
            let (depth, width) = self.weight_shape();
            v.push(p("weight_memory", format!("block ram, {depth} x {width}")));
        }
        if self.input_memory == Storage::BlockRam {
            let (depth, width) = self.input_shape_words();
            v.push(p("input_memory", format!("block ram, {depth} x {width}")));
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

    /// See the module docs: PE array + ROM + input buffer + bias/requant/clamp + registers. A
    /// block-RAM ROM costs its iCE40 blocks ([`super::memory::block_rams`]) and a LUT4 per
    /// address bit for the read-ahead choice, in place of the LUT ROM's `word · depth / 8 + word`.
    fn cost(&self) -> Cost {
        // The PE array's estimate: PE rows of the row PE's.
        let array = self.row.cost() * u64::from(self.pe);
        let depth = self.fold();
        let word = u64::from(self.pe * self.simd * self.kind.code_bits());
        let ice40_blocks =
            |d: u32, w: u32| super::memory::block_rams(super::memory::RamFamily::Ice40, w, d);
        let (rom, rom_bram) = match self.weight_memory {
            _ if depth <= 1 => (0, 0),
            Storage::Fabric => (word * depth / 8 + word, 0),
            Storage::BlockRam => (
                u64::from(counter_bits(depth)),
                ice40_blocks(self.fold() as u32, self.weight_varying_bits()),
            ),
        };
        // The input buffer: registers (and their read multiplexer, a LUT4 per bit), or a
        // block RAM and its read-ahead choice.
        let (ibuf_bits, ibuf_luts, ibuf_bram) = match (self.input_memory, self.input_shape_words())
        {
            (_, (0, _)) => (0, 0, 0),
            (Storage::Fabric, _) => {
                let bits = u64::from(self.in_features * self.input.bits);
                (bits, bits, 0)
            }
            (Storage::BlockRam, (d, w)) => (
                0,
                u64::from(counter_bits(u64::from(d))) + 1,
                ice40_blocks(d, w),
            ),
        };
        let bram = rom_bram + ibuf_bram;
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
            lut: array.lut + rom + ibuf_luts + pe * per_lane + 2 * counters + 8,
            ff: array.ff + ibuf_bits + pe * ob + counters + 2,
            carry: array.carry + pe * bias + counters,
            dsp: 0,
            bram,
        }
    }
}
