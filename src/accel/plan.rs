//! Hardware plans: how each layer of a [`QNet`] maps to matrix-vector units and frame buffers,
//! and the streams between them. An architecture file ([`ArchSpec`], RON) states a folding target and optional
//! per-layer choices; [`plan`] validates it against the network and resolves every default.
//!
//! ```text
//! // models/arch_mixed.ron
//! ArchSpec(
//!     // fully_parallel | fully_folded | cycles_per_image(N) | pe_budget(N) | explicit
//!     folding: explicit,
//!     // per layer (0-based): pe divides out_features, simd divides in_features; optional
//!     // accumulator width (narrower than the proven width needs an explicit overflow: wrap
//!     // or saturate)
//!     layers: [(index: 0, pe: 4, simd: 8), (index: 1, pe: 2, simd: 8)],
//!     // FIFO depth between consecutive layers: auto (measured by simulation) or depth(N)
//!     fifo_depth: auto,
//!     // weights in LUT ROMs (lut, the default), block RAM (bram) or where block RAM is well
//!     // filled (auto); a layer entry may say `memory: bram` for itself
//!     memory: lut,
//! )
//! ```
//!
//! What each part of a layer becomes:
//! * the PE kind from the weight scheme and the layer's input (uniform → multiplier, PoT → shift
//!   and negate, APoT → shifted terms, ternary → add/subtract/skip); binary weights on ±1
//!   (bipolar) activations → XNOR-popcount, binary weights on integer activations (the first
//!   layer of a binary network, whose inputs are pixels, or a layer after a requantized one) →
//!   the ternary add/subtract PE with the ±1 weights coded as ternary codes (a ±1 weight is a
//!   ternary weight that is never 0; this keeps the integer input exact instead of binarizing
//!   it). Other weights on bipolar activations are rejected;
//! * a layer with a sign output (bipolar activations, `LayerOutput::Sign`): a threshold per
//!   channel instead of requantization, `out = (acc + bias ≥ 0)` one bit per channel, so the
//!   next layer's stream is one bit per lane (1 = +1); a padded convolution cannot take such a
//!   stream (its zero taps have no ±1 code) and is rejected;
//! * the weights in a ROM inside the MVU, `NF · SF` words of `PE · SIMD` codes, of LUTs or of
//!   block RAM as `memory` says (read one cycle ahead, so the cycles are the same);
//! * the requantization unit: a multiplier, shift, rounding and clamp, or a pure shift when
//!   every `M` is 1 (ReLU fused as the clamp at 0); the last layer emits raw accumulators;
//! * between layers a FIFO (depth chosen by simulation unless given) and, where a layer's PE
//!   differs from the next layer's SIMD, a width converter;
//! * a convolution: a frame buffer ([`super::frame_buffer`]) holding the input image and
//!   emitting its im2col windows (`[c][ky][kx]` per output pixel, zero taps for the padding),
//!   and an MVU with `in_features = in_channels · kernel_h · kernel_w`, `out_features =
//!   out_channels`, one vector per output pixel (its output stream is pixel-major); PE divides
//!   the output channels, SIMD the window;
//! * a max pooling: a frame buffer emitting the maximum of each window, channel-major;
//! * a pixel-major tensor before a dense layer or the output: a frame buffer reordering it to
//!   the golden network's channel-major (CHW) order.
//!
//! A frame buffer takes its producer's lanes and emits its consumer's SIMD, so no width converter
//! surrounds it; with two banks it takes the next image while emitting the current one. Folding
//! targets count a convolution's cycles per image (`vectors · NF · SF`). Not supported (each
//! rejected with a message naming the layer and the rule): fixed-point layers, frames over
//! 65,536 codes, and a stride that never reads some lane of the producer's transfers (a
//! narrower producer PE avoids it).
//!
//! Folding targets: `fully_parallel` (PE = out_features, SIMD = in_features: one cycle per
//! vector), `fully_folded` (PE = SIMD = 1), `cycles_per_image(N)` (per layer the fewest lanes
//! whose cycles per image `vectors · NF · SF` are at most N — the pipeline's initiation interval
//! is the slowest stage's), `pe_budget(N)` (at most N lanes `PE · SIMD` in total, the smallest initiation interval
//! that allows), `explicit` (every layer given in `layers`). Per-layer entries override the
//! target's choice for that layer.
//!
//! ```
//! use qforge::accel::plan::{ArchSpec, Folding};
//! let spec = ArchSpec::from_ron_str("ArchSpec(folding: cycles_per_image(64))", "inline").unwrap();
//! assert_eq!(spec.folding, Folding::CyclesPerImage(64));
//! ```

use super::fifo::FifoParams;
use super::frame_buffer::{FrameBufferParams, FrameShape, Layout, ReadSequence};
use super::memory::{block_rams, RamFamily};
use super::mvu::{MatrixOf, MvuError, MvuFault, MvuLayer, MvuOutput, MvuParams, Storage};
use super::network::{NetworkParams, Stage};
use super::stream::StreamShape;
use super::unit::UnitError;
use super::width_converter::WidthConverterParams;
use crate::hash::Fnv1a64;
use crate::position::{Source, ValuePath};
use crate::qnn::{AccOverflow, Layer, LayerOutput, QNet, QnnError};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A plan that cannot be built; each message names the value and the rule (and the layer).
///
/// A variant that holds another error prints it in its own message and does not report it as
/// its `source`, so a chain printed with its causes names each cause once.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The architecture file does not parse.
    #[error("{path}:{line}:{col}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// Line (1-based).
        line: usize,
        /// Column (1-based).
        col: usize,
        /// What is wrong.
        message: String,
    },
    /// A value of an architecture spec breaks a rule; `at` names the value, so that a caller
    /// holding the file reports its position ([`PlanError::in_file`]).
    #[error("{error}")]
    At {
        /// The value, e.g. `layers[1].pe`.
        at: ValuePath,
        /// What is wrong with it.
        error: Box<PlanError>,
    },
    /// A value of an architecture file breaks a rule, at its position in the file.
    #[error("{path}:{line}:{col}: {error}")]
    Located {
        /// The file.
        path: String,
        /// Line (1-based).
        line: usize,
        /// Column (1-based).
        col: usize,
        /// What is wrong.
        error: Box<PlanError>,
    },
    /// The architecture file cannot be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The network itself is invalid.
    #[error("the network is invalid: {0}")]
    InvalidNet(QnnError),
    /// A padded convolution on bipolar (±1) activations: its zero taps have no ±1 code.
    #[error("layer {layer}: a convolution with padding ({padding}) cannot take bipolar activations (the XNOR-popcount PE has no zero for the padding taps); use padding 0")]
    BipolarPadding {
        /// The layer.
        layer: usize,
        /// Its padding.
        padding: usize,
    },
    /// A fixed-point (hls4ml-style) layer, which has no hardware mapping.
    #[error("layer {layer}: fixed-point (hls4ml-style) layers have no MVU mapping; quantize to integer codes")]
    FixedPoint {
        /// The layer.
        layer: usize,
    },
    /// A per-layer entry names a layer the network does not have.
    #[error("layer index ({index}) must be below the number of layers ({layers})")]
    LayerIndex {
        /// The entry's index.
        index: usize,
        /// The network's layer count.
        layers: usize,
    },
    /// Two per-layer entries name the same layer.
    #[error("layer {index} is given more than once")]
    RepeatedLayer {
        /// The layer.
        index: usize,
    },
    /// A per-layer entry chooses PE, SIMD or an accumulator for a max pooling.
    #[error("layer {index} is a max pooling: it has no pe, simd or accumulator to choose")]
    PoolingChoice {
        /// The layer.
        index: usize,
    },
    /// A PE or SIMD of 0 lanes.
    #[error("{name} (0) must be at least 1")]
    ZeroLanes {
        /// `pe` or `simd`.
        name: &'static str,
    },
    /// An accumulator width outside 1..=64.
    #[error("acc_bits ({bits}) must be between 1 and 64")]
    AccBitsRange {
        /// The width.
        bits: u32,
    },
    /// `cycles_per_image(0)`.
    #[error("cycles_per_image (0) must be at least 1")]
    ZeroCycles,
    /// A lane budget below one lane per MVU.
    #[error("pe_budget ({budget}) must be at least the {lanes} lanes of a fully folded plan")]
    PeBudget {
        /// The budget.
        budget: u64,
        /// Lanes of the fully folded plan (one per MVU).
        lanes: usize,
    },
    /// `folding: explicit` without PE and SIMD for a layer.
    #[error("folding explicit needs pe and simd for layer {layer}")]
    ExplicitFolding {
        /// The layer.
        layer: usize,
    },
    /// An accumulator below the proven width without an overflow mode.
    #[error("acc_bits ({bits}) of layer {layer} is below the proven bound ({proven} bits); state overflow: wrap or saturate to accept overflow")]
    NarrowAccumulator {
        /// The layer.
        layer: usize,
        /// The width asked for.
        bits: u32,
        /// The proven width.
        proven: u32,
    },
    /// A layer's MVU rejected its parameters (the message names the layer).
    #[error(transparent)]
    Mvu(#[from] MvuError),
    /// A FIFO depth outside 1..=4096.
    #[error("fifo depth ({depth}) must be between 1 and 4096")]
    FifoDepth {
        /// The depth.
        depth: u32,
    },
    /// The frame buffer feeding a layer rejected its parameters.
    #[error("layer {layer}: {what}: {error}")]
    FrameBuffer {
        /// The layer the frame buffer feeds.
        layer: usize,
        /// What the frame buffer does, e.g. `conv 3x3 stride 1 padding 1 on a 1x8x8 input`.
        what: String,
        /// The frame buffer's error.
        error: Box<UnitError>,
    },
    /// A max pooling with no producer.
    #[error("layer {layer}: max pooling cannot be the first layer")]
    PoolingFirst {
        /// The layer.
        layer: usize,
    },
    /// A dense or convolution layer without an MVU (a network the planner cannot map).
    #[error("layer {layer} has no MVU")]
    NoMvu {
        /// The layer.
        layer: usize,
    },
    /// Fewer FIFO depths than MVUs that need a FIFO.
    #[error("no FIFO depth is given after layer {layer}")]
    NoFifoDepth {
        /// The layer.
        layer: usize,
    },
    /// A width converter, FIFO or the network rejected its parameters.
    #[error(transparent)]
    Unit(#[from] UnitError),
}

impl PlanError {
    /// The error placed in the architecture file it is about: a [`PlanError::At`] error
    /// becomes [`PlanError::Located`] at its value's `file:line:col` in `source`; any other
    /// error is returned as it is.
    pub fn in_file(self, source: &Source) -> PlanError {
        match self {
            PlanError::At { at, error } => {
                let (line, col) = source.position(&at);
                PlanError::Located {
                    path: source.name.clone(),
                    line,
                    col,
                    error,
                }
            }
            other => other,
        }
    }

    fn at(self, at: ValuePath) -> PlanError {
        match self {
            located @ (PlanError::At { .. } | PlanError::Located { .. }) => located,
            error => PlanError::At {
                at,
                error: Box::new(error),
            },
        }
    }
}

/// How layers are folded, unless a layer entry says otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum Folding {
    /// PE = out_features, SIMD = in_features.
    FullyParallel,
    /// PE = SIMD = 1.
    FullyFolded,
    /// Per layer the fewest lanes with a fold of at most N cycles per vector.
    CyclesPerImage(u64),
    /// At most N lanes (`PE · SIMD` summed over layers), the smallest initiation interval.
    PeBudget(u64),
    /// Every layer's PE and SIMD are given in `layers`.
    Explicit,
}

/// FIFO depths between layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum FifoDepth {
    /// The largest occupancy a simulation of back-to-back vectors reaches with deep FIFOs (at
    /// least 2, the depth a FIFO needs for one transfer per cycle).
    #[default]
    Auto,
    /// The same depth everywhere (1..=4096).
    Depth(u32),
}

/// Where an MVU's memories (its weights and its input buffer) go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum MemoryChoice {
    /// Logic: weights in LUT ROMs (a multiplexer tree over constant words), the input buffer
    /// in registers.
    #[default]
    Lut,
    /// Block RAM ([`super::memory`]) for every memory of two or more words.
    Bram,
    /// Block RAM where the memory fills at least half of the iCE40 blocks it takes and at
    /// least one block's 4 kbit ([`MemoryChoice::resolve`]); LUTs otherwise.
    Auto,
}

impl MemoryChoice {
    /// The storage for `depth` words of `width` bits. `auto` asks for block RAM when the words
    /// fill at least half the iCE40 blocks they take (an iCE40 block is 4 kbit, at most 16 bits
    /// wide at 256 words, so a shallow, wide ROM wastes most of each) and at least 4 kbit.
    pub fn resolve(self, depth: u32, width: u32) -> Storage {
        match self {
            MemoryChoice::Lut => Storage::Fabric,
            MemoryChoice::Bram => Storage::BlockRam,
            MemoryChoice::Auto => {
                let bits = u64::from(depth) * u64::from(width);
                let blocks = block_rams(RamFamily::Ice40, width, depth);
                if bits >= 4096 && 2 * bits >= blocks * 4096 {
                    Storage::BlockRam
                } else {
                    Storage::Fabric
                }
            }
        }
    }
}

/// Choices for one layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerArch {
    /// Layer index (0-based).
    pub index: usize,
    /// Output lanes; must divide out_features.
    #[serde(default)]
    pub pe: Option<u32>,
    /// Input lanes; must divide in_features.
    #[serde(default)]
    pub simd: Option<u32>,
    /// Accumulator width; below the proven width it needs `overflow`.
    #[serde(default)]
    pub acc_bits: Option<u32>,
    /// What a narrower accumulator does on overflow: `wrap`, or `saturate` (after the bias and
    /// after each product in input order, as the golden model does; the MVU's PE rows then
    /// become chains of saturating adders).
    #[serde(default)]
    pub overflow: Option<AccOverflow>,
    /// Where this layer's weights go, overriding the file's `memory`.
    #[serde(default)]
    pub memory: Option<MemoryChoice>,
}

/// An architecture file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchSpec {
    /// The folding target.
    pub folding: Folding,
    /// Per-layer choices.
    #[serde(default)]
    pub layers: Vec<LayerArch>,
    /// FIFO depths between layers.
    #[serde(default)]
    pub fifo_depth: FifoDepth,
    /// Where the MVUs' weights and input buffers go (`lut`, `bram` or `auto`; default `lut`),
    /// unless a layer entry says otherwise.
    #[serde(default)]
    pub memory: MemoryChoice,
}

impl ArchSpec {
    /// A spec with only a folding target.
    pub fn target(folding: Folding) -> ArchSpec {
        ArchSpec {
            folding,
            layers: Vec::new(),
            fifo_depth: FifoDepth::Auto,
            memory: MemoryChoice::Lut,
        }
    }

    /// The default when no architecture is given: `cycles_per_image(64)` (layers balanced to
    /// at most 64 cycles per vector) with FIFO depths chosen by simulation.
    pub fn balanced_default() -> ArchSpec {
        ArchSpec::target(Folding::CyclesPerImage(64))
    }

    /// Parses an architecture file's text and checks its values ([`ArchSpec::check`]); `path`
    /// names it in messages, which point at the faulty value.
    pub fn from_ron_str(text: &str, path: &str) -> Result<ArchSpec, PlanError> {
        // Optional per-layer values are written plainly (`pe: 4`, not `pe: Some(4)`).
        let spec: ArchSpec =
            crate::position::ron_options()
                .from_str(text)
                .map_err(|e| PlanError::Parse {
                    path: path.to_string(),
                    line: e.span.start.line,
                    col: e.span.start.col,
                    message: e.code.to_string(),
                })?;
        spec.check()
            .map_err(|e| e.in_file(&Source::new(path, text)))?;
        Ok(spec)
    }

    /// Reads an architecture file.
    pub fn load(path: &Path) -> Result<ArchSpec, PlanError> {
        Ok(ArchSpec::load_source(path)?.0)
    }

    /// Reads an architecture file and keeps its text, to place the errors [`plan`] finds in
    /// its values ([`PlanError::in_file`]).
    pub fn load_source(path: &Path) -> Result<(ArchSpec, Source), PlanError> {
        let source = Source::read(path).map_err(|source| PlanError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let spec = ArchSpec::from_ron_str(&source.text, &source.name)?;
        Ok((spec, source))
    }

    /// Checks every value that needs no network: a folding target of at least one cycle or
    /// lane, PE and SIMD of at least 1, accumulator widths of 1..=64, each layer given once
    /// and a FIFO depth of 1..=4096. An error is a [`PlanError::At`] naming the value.
    pub fn check(&self) -> Result<(), PlanError> {
        let fold = ValuePath::field("folding");
        match self.folding {
            Folding::CyclesPerImage(0) => return Err(PlanError::ZeroCycles.at(fold)),
            Folding::PeBudget(0) => {
                return Err(PlanError::PeBudget {
                    budget: 0,
                    lanes: 1,
                }
                .at(fold))
            }
            _ => {}
        }
        for (i, a) in self.layers.iter().enumerate() {
            let at = ValuePath::field("layers").index(i);
            if self.layers[..i].iter().any(|b| b.index == a.index) {
                return Err(PlanError::RepeatedLayer { index: a.index }.at(at.then_field("index")));
            }
            for (name, value) in [("pe", a.pe), ("simd", a.simd)] {
                if value == Some(0) {
                    return Err(PlanError::ZeroLanes { name }.at(at.clone().then_field(name)));
                }
            }
            if let Some(bits) = a.acc_bits.filter(|b| !(1..=64).contains(b)) {
                return Err(PlanError::AccBitsRange { bits }.at(at.then_field("acc_bits")));
            }
        }
        if let FifoDepth::Depth(d) = self.fifo_depth {
            if !(1..=4096).contains(&d) {
                return Err(PlanError::FifoDepth { depth: d }.at(ValuePath::field("fifo_depth")));
            }
        }
        Ok(())
    }

    /// The path of the entry for layer `layer`, if the spec has one.
    fn entry_path(&self, layer: usize) -> Option<ValuePath> {
        self.layers
            .iter()
            .position(|a| a.index == layer)
            .map(|i| ValuePath::field("layers").index(i))
    }

    /// Where an error of the MVU of `layer` was chosen: the entry's field if it gives one,
    /// else the folding target.
    fn choice_path(&self, layer: usize, field: &'static str) -> ValuePath {
        let given = |a: &LayerArch| match field {
            "pe" => a.pe.is_some(),
            "simd" => a.simd.is_some(),
            _ => a.acc_bits.is_some(),
        };
        match self
            .layers
            .iter()
            .position(|a| a.index == layer && given(a))
        {
            Some(i) => ValuePath::field("layers").index(i).then_field(field),
            None => ValuePath::field("folding"),
        }
    }
}

/// The resolved choices for one layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerPlan {
    /// Layer index.
    pub index: usize,
    /// Inputs per vector (a convolution: its window, `in_channels · kernel_h · kernel_w`).
    pub in_features: u32,
    /// Outputs per vector (a convolution: its output channels).
    pub out_features: u32,
    /// Vectors per image (a convolution: its output pixels; a dense layer: 1).
    pub vectors: u32,
    /// Output lanes.
    pub pe: u32,
    /// Input lanes.
    pub simd: u32,
    /// PE kind name.
    pub kind: String,
    /// Accumulator width built.
    pub acc_bits: u32,
    /// The width proven to never overflow.
    pub proven_bits: u32,
    /// Whether requantization needs a multiplier (false: a pure shift or logits).
    pub multiplier: bool,
    /// Where the weights are kept.
    pub weight_memory: Storage,
    /// Where the input buffer is kept.
    pub input_memory: Storage,
}

impl LayerPlan {
    /// Cycles per vector: `(out_features / pe) · (in_features / simd)`.
    pub fn fold(&self) -> u64 {
        u64::from(self.out_features / self.pe) * u64::from(self.in_features / self.simd)
    }

    /// Cycles per image: `vectors · fold`.
    pub fn cycles_per_image(&self) -> u64 {
        u64::from(self.vectors) * self.fold()
    }
}

/// A validated hardware plan for a network.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The network the hardware computes (the input network with the plan's accumulator
    /// widths): the golden reference of the design.
    pub net: QNet,
    /// Per layer with an MVU (dense and convolution layers; max pooling has none).
    pub layers: Vec<LayerPlan>,
    /// FIFO depth after each MVU but the last layer's (0: no FIFO).
    pub fifo_depths: Vec<u32>,
    /// The units, in chain order.
    pub network: NetworkParams,
}

impl Plan {
    /// The initiation interval: the slowest stage's cycles per image (for a dense network the
    /// slowest layer's fold; see [`NetworkParams::initiation_interval`]).
    pub fn initiation_interval(&self) -> u64 {
        self.network.initiation_interval()
    }

    /// Total lanes `PE · SIMD`.
    pub fn lanes(&self) -> u64 {
        self.layers
            .iter()
            .map(|l| u64::from(l.pe) * u64::from(l.simd))
            .sum()
    }

    /// A one-line description: `l0 p4 s8 f64 | l1 p2 s8 f20 | ii 64`; a convolution's fold
    /// shows its vectors per image (`f9x64`); `wbram` and `ibram` mark weights and an input
    /// buffer in block RAM.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .layers
            .iter()
            .map(|l| {
                let v = if l.vectors > 1 {
                    format!("x{}", l.vectors)
                } else {
                    String::new()
                };
                let mut bram = String::new();
                if l.weight_memory == Storage::BlockRam {
                    bram.push_str(" wbram");
                }
                if l.input_memory == Storage::BlockRam {
                    bram.push_str(" ibram");
                }
                format!("l{} p{} s{} f{}{v}{bram}", l.index, l.pe, l.simd, l.fold())
            })
            .collect();
        parts.push(format!("ii {}", self.initiation_interval()));
        parts.join(" | ")
    }

    /// The block RAMs: per MVU memory in block RAM, its layer, what it holds (`weights` or
    /// `input`), its words and the width the blocks hold (for weights, the bits that vary).
    pub fn block_rams(&self) -> Vec<(usize, &'static str, u32, u32)> {
        let mut out = Vec::new();
        for s in self.network.stages() {
            let Stage::Mvu(u) = s else { continue };
            if u.weight_memory() == Storage::BlockRam {
                out.push((
                    u.layer(),
                    "weights",
                    u.weight_shape().0,
                    u.weight_varying_bits(),
                ));
            }
            if u.input_memory() == Storage::BlockRam {
                let (depth, width) = u.input_shape_words();
                out.push((u.layer(), "input", depth, width));
            }
        }
        out
    }

    /// The same plan with a planted fault in the MVU of `layer` (for replay tests).
    pub fn with_fault(&self, layer: usize, fault: MvuFault) -> Result<Plan, PlanError> {
        let stages = self
            .network
            .stages()
            .iter()
            .map(|s| match s {
                Stage::Mvu(u) if u.layer() == layer => Stage::Mvu(u.clone().with_fault(fault)),
                other => other.clone(),
            })
            .collect();
        let name = format!("{}_fault", self.network_name());
        Ok(Plan {
            network: NetworkParams::new(&name, stages)?,
            ..self.clone()
        })
    }

    fn network_name(&self) -> String {
        use super::unit::Unit;
        let n = self.network.name();
        n.strip_prefix("qf_net_").unwrap_or(&n).to_string()
    }
}

fn divisors(n: u32) -> Vec<u32> {
    (1..=n).filter(|d| n.is_multiple_of(*d)).collect()
}

/// The fewest lanes `(pe, simd)` for an `mh × mw` layer taking at most `cycles` per vector
/// ([`vector_cycles`], fed by `producer_lanes`); ties
/// go to the larger SIMD (wider input reads, fewer output groups).
fn fold_for(mw: u32, mh: u32, cycles: u64, producer_lanes: Option<u32>) -> (u32, u32) {
    let mut best: Option<(u64, u32, u32)> = None;
    for pe in divisors(mh) {
        for simd in divisors(mw) {
            if vector_cycles(mw, mh, pe, simd, producer_lanes) > cycles {
                continue;
            }
            let lanes = u64::from(pe) * u64::from(simd);
            let better = match best {
                None => true,
                Some((l, _, s)) => lanes < l || (lanes == l && simd > s),
            };
            if better {
                best = Some((lanes, pe, simd));
            }
        }
    }
    best.map_or((mh, mw), |(_, p, s)| (p, s))
}

/// Cycles an `mh × mw` MVU with `pe` × `simd` lanes takes per vector: `NF · SF` fires, where the
/// first pass (the one that reads the stream) may also wait on the stream when a producer MVU
/// feeds it through `producer_lanes` lanes: the width converter before it holds one `simd`-wide
/// transfer ready, gathered during the previous vector's later passes, and the other
/// `mw − simd` codes cross the narrow link during the pass, at most `producer_lanes` a cycle,
/// however much the FIFO before it holds. (A 64 → 10 layer at 5 × 2 lanes after a 1-lane
/// producer: 63 + 32 = 95 cycles, what the simulator measures; at 10 × 1 lanes, 64.)
fn vector_cycles(mw: u32, mh: u32, pe: u32, simd: u32, producer_lanes: Option<u32>) -> u64 {
    let (nf, sf) = (u64::from(mh / pe), u64::from(mw / simd));
    let first = producer_lanes.map_or(sf, |lanes| {
        sf.max(u64::from((mw - simd).div_ceil(lanes)) + 1)
    });
    first + (nf - 1) * sf
}

/// The matrix a layer's MVU computes: `mh × mw`, `vectors` times per image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MvuDims {
    /// The layer.
    layer: usize,
    mw: u32,
    mh: u32,
    vectors: u32,
    /// A dense layer's or a convolution's (for the names of the dimensions in messages).
    matrix: MatrixOf,
}

impl MvuDims {
    /// Cycles per image with `pe` output and `simd` input lanes.
    fn cycles(&self, pe: u32, simd: u32) -> u64 {
        u64::from(self.vectors) * u64::from(self.mh / pe) * u64::from(self.mw / simd)
    }

    /// The fewest lanes reaching at most `cycles` per image, fed by `producer_lanes` lanes of a
    /// producer MVU (`None`: by the network input or a frame buffer, which emit this MVU's SIMD).
    fn fold_within(&self, cycles: u64, producer_lanes: Option<u32>) -> (u32, u32) {
        fold_for(
            self.mw,
            self.mh,
            cycles / u64::from(self.vectors),
            producer_lanes,
        )
    }
}

/// The MVU of layer `k`, if it has one; pooling has none, fixed-point layers are rejected.
fn mvu_dims(k: usize, layer: &Layer) -> Result<Option<MvuDims>, PlanError> {
    Ok(match layer {
        Layer::Dense(d) => Some(MvuDims {
            layer: k,
            mw: d.in_features as u32,
            mh: d.out_features as u32,
            vectors: 1,
            matrix: MatrixOf::Dense,
        }),
        Layer::Conv2d(c) => {
            let (oh, ow) = c.out_hw();
            Some(MvuDims {
                layer: k,
                mw: c.taps() as u32,
                mh: c.out_channels as u32,
                vectors: (oh * ow) as u32,
                matrix: MatrixOf::Conv,
            })
        }
        Layer::MaxPool2d(_) => None,
        Layer::FixedDense(_) => return Err(PlanError::FixedPoint { layer: k }),
    })
}

/// Plans `net` with `spec`: validates every rule and resolves every default.
///
/// Dense layers become MVUs; a convolution becomes a frame buffer emitting its im2col windows
/// and an MVU computing one output pixel per vector (`in_features` = the window, `out_features`
/// = the output channels; its output stream is pixel-major); a max pooling becomes a frame
/// buffer emitting channel-major pooled codes; a frame buffer also reorders a pixel-major
/// tensor before a dense layer or the output. Frame buffers take their producer's lanes and
/// emit their consumer's SIMD, so they need no width converter.
///
/// The steps, in the order their errors are reported: the per-layer entries, the folding
/// target, the accumulator widths, then layer by layer the MVU ([`MvuParams::new`] checks PE,
/// SIMD, the PE kind, the accumulator and the requantization), the FIFO depths and the chain.
pub fn plan(net: &QNet, spec: &ArchSpec) -> Result<Plan, PlanError> {
    net.validate().map_err(PlanError::InvalidNet)?;
    let n = net.layers.len();
    let dims: Vec<Option<MvuDims>> = net
        .layers
        .iter()
        .enumerate()
        .map(|(k, l)| mvu_dims(k, l))
        .collect::<Result<_, _>>()?;
    spec.check()?;
    check_entries(spec, &dims)?;
    let mvu_dims: Vec<MvuDims> = dims.iter().flatten().copied().collect();
    let folds = layer_folds(spec, &mvu_dims).map_err(|e| match e {
        PlanError::ExplicitFolding { layer } => {
            let at = spec
                .entry_path(layer)
                .unwrap_or_else(|| ValuePath::field("folding"));
            e.at(at)
        }
        e => e.at(ValuePath::field("folding")),
    })?;
    let eff = with_accumulators(net, spec, &mvu_dims)?;
    let mut layers = Vec::with_capacity(mvu_dims.len());
    let mut mvus: Vec<Option<MvuParams>> = vec![None; n];
    for (d, &(pe, simd)) in mvu_dims.iter().zip(&folds) {
        let memory = spec
            .layers
            .iter()
            .find(|a| a.index == d.layer)
            .and_then(|a| a.memory)
            .unwrap_or(spec.memory);
        let placed = layer_mvu(&eff, d, pe, simd, memory).map_err(|e| match &e {
            PlanError::Mvu(MvuError::PeDivide { .. }) => e.at(spec.choice_path(d.layer, "pe")),
            PlanError::Mvu(MvuError::SimdDivide { .. }) => e.at(spec.choice_path(d.layer, "simd")),
            PlanError::Mvu(MvuError::AccBits { .. }) => match spec.entry_path(d.layer) {
                Some(_) => e.at(spec.choice_path(d.layer, "acc_bits")),
                None => e,
            },
            _ => e,
        })?;
        if let Some((mvu, layer)) = placed {
            layers.push(layer);
            mvus[d.layer] = Some(mvu);
        }
    }
    let name = network_name(&eff, &layers);
    let fifo_depths = fifo_depths(spec.fifo_depth, &name, &eff, &mvus)?;
    let network = chain(&name, &eff, &mvus, &fifo_depths)?;
    Ok(Plan {
        net: eff,
        layers,
        fifo_depths,
        network,
    })
}

/// Checks the per-layer entries: an existing layer, at most once, nothing to choose for pooling.
fn check_entries(spec: &ArchSpec, dims: &[Option<MvuDims>]) -> Result<(), PlanError> {
    let n = dims.len();
    for (i, a) in spec.layers.iter().enumerate() {
        let at = ValuePath::field("layers").index(i);
        if a.index >= n {
            return Err(PlanError::LayerIndex {
                index: a.index,
                layers: n,
            }
            .at(at.then_field("index")));
        }
        if spec.layers[..i].iter().any(|b| b.index == a.index) {
            return Err(PlanError::RepeatedLayer { index: a.index }.at(at.then_field("index")));
        }
        if dims[a.index].is_none()
            && (a.pe.is_some()
                || a.simd.is_some()
                || a.acc_bits.is_some()
                || a.overflow.is_some()
                || a.memory.is_some())
        {
            return Err(PlanError::PoolingChoice { index: a.index }.at(at));
        }
    }
    Ok(())
}

/// The `(pe, simd)` of every MVU layer: the folding target's choice, then the per-layer
/// entries' PE and SIMD where given.
fn layer_folds(spec: &ArchSpec, mvus: &[MvuDims]) -> Result<Vec<(u32, u32)>, PlanError> {
    let mut folds = match spec.folding {
        Folding::FullyParallel => fully_parallel(mvus),
        Folding::FullyFolded => fully_folded(mvus),
        Folding::CyclesPerImage(c) => cycles_per_image(mvus, c, &spec.layers)?,
        Folding::PeBudget(budget) => pe_budget(mvus, budget, &spec.layers)?,
        Folding::Explicit => explicit(mvus, &spec.layers)?,
    };
    for (d, fold) in mvus.iter().zip(&mut folds) {
        if let Some(a) = spec.layers.iter().find(|a| a.index == d.layer) {
            fold.0 = a.pe.unwrap_or(fold.0);
            fold.1 = a.simd.unwrap_or(fold.1);
        }
    }
    Ok(folds)
}

/// `fully_parallel`: PE = out_features, SIMD = in_features.
fn fully_parallel(mvus: &[MvuDims]) -> Vec<(u32, u32)> {
    mvus.iter().map(|d| (d.mh, d.mw)).collect()
}

/// `fully_folded`: PE = SIMD = 1.
fn fully_folded(mvus: &[MvuDims]) -> Vec<(u32, u32)> {
    vec![(1, 1); mvus.len()]
}

/// `cycles_per_image(N)`: per layer the fewest lanes with at most N cycles per image.
fn cycles_per_image(
    mvus: &[MvuDims],
    cycles: u64,
    entries: &[LayerArch],
) -> Result<Vec<(u32, u32)>, PlanError> {
    if cycles == 0 {
        return Err(PlanError::ZeroCycles);
    }
    Ok(folds_within(mvus, cycles, entries))
}

/// Layer by layer, the fewest lanes with at most `cycles` per image, a per-layer entry's PE and
/// SIMD where given. A dense layer right after another is fed through its producer's PE lanes,
/// which bounds how fast its first pass can read (so the choice depends on the layer before).
fn folds_within(mvus: &[MvuDims], cycles: u64, entries: &[LayerArch]) -> Vec<(u32, u32)> {
    let mut folds: Vec<(u32, u32)> = Vec::with_capacity(mvus.len());
    for (i, d) in mvus.iter().enumerate() {
        let producer_lanes = match (i.checked_sub(1).map(|j| &mvus[j]), folds.last()) {
            (Some(prev), Some(&(pe, _)))
                if prev.matrix == MatrixOf::Dense
                    && d.matrix == MatrixOf::Dense
                    && prev.layer + 1 == d.layer =>
            {
                Some(pe)
            }
            _ => None,
        };
        let mut fold = d.fold_within(cycles, producer_lanes);
        if let Some(a) = entries.iter().find(|a| a.index == d.layer) {
            fold.0 = a.pe.unwrap_or(fold.0);
            fold.1 = a.simd.unwrap_or(fold.1);
        }
        folds.push(fold);
    }
    folds
}

/// `pe_budget(N)`: the smallest initiation interval whose foldings take at most N lanes.
fn pe_budget(
    mvus: &[MvuDims],
    budget: u64,
    entries: &[LayerArch],
) -> Result<Vec<(u32, u32)>, PlanError> {
    if budget < mvus.len() as u64 {
        return Err(PlanError::PeBudget {
            budget,
            lanes: mvus.len(),
        });
    }
    // Candidate intervals: every layer's possible cycles per image; take the smallest that fits.
    let mut candidates: Vec<u64> = mvus
        .iter()
        .flat_map(|d| {
            divisors(d.mh)
                .into_iter()
                .flat_map(move |p| divisors(d.mw).into_iter().map(move |s| d.cycles(p, s)))
        })
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    for c in candidates {
        let folds = folds_within(mvus, c, entries);
        let lanes: u64 = folds
            .iter()
            .map(|&(p, s)| u64::from(p) * u64::from(s))
            .sum();
        if lanes <= budget {
            return Ok(folds);
        }
    }
    // The largest candidate is the fully folded plan, which the budget covers.
    Ok(fully_folded(mvus))
}

/// `explicit`: every MVU layer's entry gives PE and SIMD.
fn explicit(mvus: &[MvuDims], entries: &[LayerArch]) -> Result<Vec<(u32, u32)>, PlanError> {
    mvus.iter()
        .map(|d| match entries.iter().find(|a| a.index == d.layer) {
            Some(LayerArch {
                pe: Some(p),
                simd: Some(s),
                ..
            }) => Ok((*p, *s)),
            _ => Err(PlanError::ExplicitFolding { layer: d.layer }),
        })
        .collect()
}

/// `net` with the accumulator widths the entries give: a width below the proven one needs an
/// overflow mode.
fn with_accumulators(net: &QNet, spec: &ArchSpec, mvus: &[MvuDims]) -> Result<QNet, PlanError> {
    let mut eff = net.clone();
    for d in mvus {
        let k = d.layer;
        let Some(a) = spec.layers.iter().find(|a| a.index == k) else {
            continue;
        };
        let Some(bits) = a.acc_bits else { continue };
        let proven = net.certificate_of(k).map_or(bits, |c| c.proven_bits);
        if bits < proven && a.overflow.is_none() {
            return Err(PlanError::NarrowAccumulator {
                layer: k,
                bits,
                proven,
            }
            .at(spec.choice_path(k, "acc_bits")));
        }
        let acc = match &mut eff.layers[k] {
            Layer::Dense(d) => &mut d.accumulator,
            Layer::Conv2d(c) => &mut c.accumulator,
            _ => continue,
        };
        acc.bits = Some(bits);
        if let Some(o) = a.overflow {
            acc.overflow = o;
        }
    }
    Ok(eff)
}

/// The MVU of one dense or convolution layer of `net` (which holds the plan's accumulator
/// widths) and its row of the plan; `None` for a layer without an accumulator certificate.
fn layer_mvu(
    net: &QNet,
    d: &MvuDims,
    pe: u32,
    simd: u32,
    memory: MemoryChoice,
) -> Result<Option<(MvuParams, LayerPlan)>, PlanError> {
    let k = d.layer;
    let Some(cert) = net.certificate_of(k) else {
        return Ok(None);
    };
    let (weights, codes, bias, accumulator, out) = match &net.layers[k] {
        Layer::Dense(l) => (&l.weights, &l.codes, &l.bias, l.accumulator, &l.output),
        Layer::Conv2d(c) => {
            if c.padding > 0 && net.layer_input_format(k).is_bipolar() {
                return Err(PlanError::BipolarPadding {
                    layer: k,
                    padding: c.padding,
                });
            }
            (&c.weights, &c.codes, &c.bias, c.accumulator, &c.output)
        }
        _ => return Ok(None),
    };
    let layer = MvuLayer {
        layer: k,
        in_features: d.mw as usize,
        out_features: d.mh as usize,
        input: net.layer_input_format(k),
        weights,
        codes,
        bias,
        acc_bits: cert.bits,
        overflow: accumulator.overflow,
        output: match out {
            LayerOutput::Accumulator => MvuOutput::Accumulator,
            LayerOutput::Requant(r) => MvuOutput::Requant(r.clone()),
            LayerOutput::Sign(_) => MvuOutput::Sign,
        },
    };
    let mvu = match d.matrix {
        MatrixOf::Dense => MvuParams::new(layer, pe, simd)?,
        MatrixOf::Conv => MvuParams::conv(layer, pe, simd, d.vectors)?,
    };
    // Only `auto` looks at the width, and counting the bits that vary reads every word.
    let width = match memory {
        MemoryChoice::Auto => mvu.weight_varying_bits(),
        _ => mvu.weight_shape().1,
    };
    let weights = memory.resolve(mvu.weight_shape().0, width);
    let mvu = mvu.with_weight_memory(weights);
    let (depth, width) = mvu.input_shape_words();
    let mvu = mvu.with_input_memory(memory.resolve(depth, width));
    let row = LayerPlan {
        index: k,
        in_features: d.mw,
        out_features: d.mh,
        vectors: d.vectors,
        pe,
        simd,
        kind: mvu.kind().name().to_string(),
        acc_bits: cert.bits,
        proven_bits: cert.proven_bits,
        multiplier: mvu.has_multiplier(),
        weight_memory: mvu.weight_memory(),
        input_memory: mvu.input_memory(),
    };
    Ok(Some((mvu, row)))
}

/// The depth of the FIFO after each MVU but the last layer's: the given depth, or the largest
/// occupancy a simulation with FIFOs that never fill reaches (at least 2).
fn fifo_depths(
    depth: FifoDepth,
    name: &str,
    net: &QNet,
    mvus: &[Option<MvuParams>],
) -> Result<Vec<u32>, PlanError> {
    let n = net.layers.len();
    let followed: Vec<usize> = (0..n)
        .filter(|&k| k + 1 < n && matches!(net.layers[k], Layer::Dense(_) | Layer::Conv2d(_)))
        .collect();
    match depth {
        FifoDepth::Depth(d) => {
            if !(1..=4096).contains(&d) {
                return Err(PlanError::FifoDepth { depth: d });
            }
            Ok(vec![d; followed.len()])
        }
        FifoDepth::Auto => {
            // Deep enough to never fill: a whole image of transfers.
            let deep: Vec<u32> = followed
                .iter()
                .filter_map(|&k| mvus[k].as_ref())
                .map(|u| (u64::from(u.nf()) * u64::from(u.vectors()) + 2).min(4096) as u32)
                .collect();
            let probe = chain(name, net, mvus, &deep)?;
            Ok(super::sim::max_fifo_occupancy(&probe, 8)
                .into_iter()
                .map(|o| o.max(2) as u32)
                .collect())
        }
    }
}

/// The network's module name part: the layers' foldings and a hash of the layers.
///
/// The hash is fed the layers' `Debug` text: every generated network name carries it, and
/// hashing explicit fields instead would rename every network design.
fn network_name(net: &QNet, layers: &[LayerPlan]) -> String {
    let mut h = Fnv1a64::new();
    h.str(&format!("{:?}", net.layers));
    let folds: Vec<String> = layers
        .iter()
        .map(|l| format!("p{}s{}", l.pe, l.simd))
        .collect();
    format!("{}_{}", folds.join("_"), h.tag32())
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The stages of a network as they are appended: the stream so far (`None`: the network input,
/// whose lanes the first consumer chooses).
struct ChainBuilder {
    stages: Vec<Stage>,
    stream: Option<StreamShape>,
}

impl ChainBuilder {
    /// Brings the stream into the order `seq` reads and the lanes and format of `want`: a frame
    /// buffer unless `seq` is the identity, then a width converter if the lanes still differ.
    /// `what` names the layer's operation for messages.
    fn feed(
        &mut self,
        seq: ReadSequence,
        want: StreamShape,
        k: usize,
        what: &str,
    ) -> Result<(), PlanError> {
        let fb_err = |error: UnitError| PlanError::FrameBuffer {
            layer: k,
            what: what.to_string(),
            error: Box::new(error),
        };
        if seq.is_identity() {
            if let Some(sh) = self.stream {
                if sh.lanes != want.lanes {
                    self.stages
                        .push(Stage::WidthConverter(WidthConverterParams::new(
                            sh.lanes,
                            want.lanes,
                            sh.lane_bits,
                            sh.signed,
                        )?));
                }
            }
        } else {
            let input = self.stream.unwrap_or(StreamShape {
                lanes: gcd(seq.frame, want.lanes),
                ..want
            });
            let fb = FrameBufferParams::new(input, want.lanes, seq, 2).map_err(fb_err)?;
            self.stages.push(Stage::FrameBuffer(fb));
        }
        self.stream = Some(want);
        Ok(())
    }
}

fn frame(c: usize, h: usize, w: usize, layout: Layout) -> FrameShape {
    FrameShape {
        channels: c as u32,
        height: h as u32,
        width: w as u32,
        layout,
    }
}

/// The chain of units for `net` with its MVUs (one per dense or convolution layer) and the
/// FIFO depths after each MVU but the last layer's (0: no FIFO).
fn chain(
    name: &str,
    net: &QNet,
    mvus: &[Option<MvuParams>],
    depths: &[u32],
) -> Result<NetworkParams, PlanError> {
    let n = net.layers.len();
    let mut b = ChainBuilder {
        stages: Vec::new(),
        stream: None,
    };
    // The tensor the stream carries and its order.
    let mut tensor = match net.layers.first() {
        Some(Layer::Conv2d(c)) => frame(c.in_channels, c.in_h, c.in_w, Layout::Chw),
        _ => frame(net.in_features(), 1, 1, Layout::Chw),
    };
    let mut fifo = depths.iter();
    let missing = |layer: usize| PlanError::NoMvu { layer };
    for (k, layer) in net.layers.iter().enumerate() {
        match layer {
            Layer::Dense(d) => {
                let u = mvus[k].clone().ok_or_else(|| missing(k))?;
                let what = "dense input in channel-major order";
                b.feed(
                    ReadSequence::reorder(tensor, Layout::Chw),
                    u.input_shape(),
                    k,
                    what,
                )?;
                b.stream = Some(u.output_shape());
                b.stages.push(Stage::Mvu(u));
                tensor = frame(d.out_features, 1, 1, Layout::Chw);
            }
            Layer::Conv2d(c) => {
                let u = mvu_checked(mvus, k)?;
                let what = format!(
                    "conv {}x{} stride {} padding {} on a {}x{}x{} input",
                    c.kernel_h, c.kernel_w, c.stride, c.padding, c.in_channels, c.in_h, c.in_w
                );
                // The layer reads its input as its own CHW tensor (the golden network passes
                // tensors flattened in channel-major order).
                let seq = ReadSequence::im2col(
                    frame(c.in_channels, c.in_h, c.in_w, Layout::Chw),
                    c.kernel_h as u32,
                    c.kernel_w as u32,
                    c.stride as u32,
                    c.padding as u32,
                )
                .after(&ReadSequence::reorder(tensor, Layout::Chw));
                b.feed(seq, u.input_shape(), k, &what)?;
                b.stream = Some(u.output_shape());
                b.stages.push(Stage::Mvu(u));
                let (oh, ow) = c.out_hw();
                tensor = frame(c.out_channels, oh, ow, Layout::Hwc);
            }
            Layer::MaxPool2d(p) => {
                let what = format!(
                    "max pool {}x{} stride {} on a {}x{}x{} input",
                    p.kernel, p.kernel, p.stride, p.channels, p.in_h, p.in_w
                );
                let seq = ReadSequence::max_pool(
                    frame(p.channels, p.in_h, p.in_w, Layout::Chw),
                    p.kernel as u32,
                    p.stride as u32,
                    Layout::Chw,
                )
                .after(&ReadSequence::reorder(tensor, Layout::Chw));
                let sh = b.stream.ok_or(PlanError::PoolingFirst { layer: k })?;
                // Emit what a following dense layer reads; otherwise as wide as the input.
                let lanes = match net.layers.get(k + 1) {
                    Some(Layer::Dense(_)) => mvu_checked(mvus, k + 1)?.simd(),
                    _ => gcd(seq.outputs() as u32, sh.lanes),
                };
                b.feed(seq, StreamShape { lanes, ..sh }, k, &what)?;
                let (oh, ow) = p.out_hw();
                tensor = frame(p.channels, oh, ow, Layout::Chw);
            }
            Layer::FixedDense(_) => return Err(missing(k)),
        }
        if matches!(b.stages.last(), Some(Stage::Mvu(_))) && k + 1 < n {
            let depth = *fifo.next().ok_or(PlanError::NoFifoDepth { layer: k })?;
            if let Some(sh) = b.stream {
                if depth > 0 {
                    b.stages.push(Stage::Fifo(FifoParams::new(sh, depth)?));
                }
            }
        }
    }
    // The outputs leave in the golden network's (channel-major) order.
    if let Some(sh) = b.stream {
        b.feed(
            ReadSequence::reorder(tensor, Layout::Chw),
            sh,
            n - 1,
            "output in channel-major order",
        )?;
    }
    Ok(NetworkParams::new(name, b.stages)?)
}

fn mvu_checked(mvus: &[Option<MvuParams>], k: usize) -> Result<MvuParams, PlanError> {
    mvus.get(k)
        .cloned()
        .flatten()
        .ok_or(PlanError::NoMvu { layer: k })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARCH: &str = "ArchSpec(
    folding: explicit,
    layers: [(index: 0, pe: 4, simd: 8), (index: 1, pe: 2, simd: 8, acc_bits: 20)],
    fifo_depth: depth(4),
)";

    fn error(from: &str, to: &str) -> String {
        let text = ARCH.replacen(from, to, 1);
        assert_ne!(text, ARCH);
        ArchSpec::from_ron_str(&text, "a.ron")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn values_are_reported_at_their_own_position() {
        assert!(ArchSpec::from_ron_str(ARCH, "a.ron").is_ok());
        assert_eq!(
            error("depth(4)", "depth(5000)"),
            "a.ron:4:17: fifo depth (5000) must be between 1 and 4096"
        );
        assert_eq!(
            error("simd: 8)", "simd: 0)"),
            "a.ron:3:38: simd (0) must be at least 1"
        );
        assert_eq!(
            error("acc_bits: 20", "acc_bits: 65"),
            "a.ron:3:79: acc_bits (65) must be between 1 and 64"
        );
        assert_eq!(
            error("index: 1", "index: 0"),
            "a.ron:3:50: layer 0 is given more than once"
        );
        assert_eq!(
            error("explicit", "cycles_per_image(0)"),
            "a.ron:2:14: cycles_per_image (0) must be at least 1"
        );
    }

    #[test]
    fn memory_choices_parse_and_auto_follows_the_block_fill() {
        let spec = ArchSpec::from_ron_str(
            "ArchSpec(folding: fully_folded, memory: auto, layers: [(index: 1, memory: bram)])",
            "m.ron",
        )
        .unwrap();
        assert_eq!(spec.memory, MemoryChoice::Auto);
        assert_eq!(spec.layers[0].memory, Some(MemoryChoice::Bram));
        let e = ArchSpec::from_ron_str("ArchSpec(folding: fully_folded, memory: block)", "m.ron")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("m.ron:1:"), "{e}");
        // By hand: 256 x 196 bits is 50,176 bits in 13 blocks of 4,096 (more than half full);
        // 64 x 784 bits is as many bits in 49 blocks (a quarter full); 2048 x 4 is 8 kbit in
        // two; 160 x 4 is under one block's 4 kbit.
        let auto = MemoryChoice::Auto;
        assert_eq!(auto.resolve(256, 196), Storage::BlockRam);
        assert_eq!(auto.resolve(64, 784), Storage::Fabric);
        assert_eq!(auto.resolve(2048, 4), Storage::BlockRam);
        assert_eq!(auto.resolve(160, 4), Storage::Fabric);
        assert_eq!(MemoryChoice::Bram.resolve(2, 1), Storage::BlockRam);
        assert_eq!(MemoryChoice::Lut.resolve(2048, 4), Storage::Fabric);
    }

    #[test]
    fn unknown_fields_are_refused_where_they_are() {
        let e = error("pe: 2,", "pe: 2, sdim: 4,");
        assert!(e.starts_with("a.ron:3:60: "), "{e}");
        assert!(e.contains("`sdim`"), "{e}");
    }

    #[test]
    fn an_unplaced_error_prints_as_its_cause() {
        let e = PlanError::ZeroCycles.at(ValuePath::field("folding"));
        assert_eq!(e.to_string(), "cycles_per_image (0) must be at least 1");
        let placed = e.in_file(&Source::new(
            "a.ron",
            "ArchSpec(folding: cycles_per_image(0))",
        ));
        assert_eq!(
            placed.to_string(),
            "a.ron:1:19: cycles_per_image (0) must be at least 1"
        );
    }
}
