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
//! )
//! ```
//!
//! What each part of a layer becomes:
//! * the PE kind from the weight scheme (uniform → multiplier, PoT → shift and negate, APoT →
//!   shifted terms, ternary → add/subtract/skip; binary weights need ±1 activations, which a
//!   [`QNet`] does not have, so they are rejected);
//! * the weights in a ROM inside the MVU, `NF · SF` words of `PE · SIMD` codes;
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
use super::mvu::{pe_kind_for, MvuFault, MvuLayer, MvuOutput, MvuParams};
use super::network::{NetworkParams, Stage};
use super::stream::StreamShape;
use super::unit::UnitError;
use super::width_converter::WidthConverterParams;
use crate::qnn::{AccOverflow, Layer, LayerOutput, QNet};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A plan that cannot be built; each message names the value and the rule.
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
    /// The architecture file cannot be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A rule of the plan is broken.
    #[error("{0}")]
    Rule(String),
    /// A unit rejected its parameters.
    #[error(transparent)]
    Unit(#[from] UnitError),
}

/// How layers are folded, unless a layer entry says otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[serde(rename_all = "snake_case")]
pub enum FifoDepth {
    /// The largest occupancy a simulation of back-to-back vectors reaches with deep FIFOs (at
    /// least 2, the depth a FIFO needs for one transfer per cycle).
    #[default]
    Auto,
    /// The same depth everywhere (1..=4096).
    Depth(u32),
}

/// Choices for one layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// An architecture file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchSpec {
    /// The folding target.
    pub folding: Folding,
    /// Per-layer choices.
    #[serde(default)]
    pub layers: Vec<LayerArch>,
    /// FIFO depths between layers.
    #[serde(default)]
    pub fifo_depth: FifoDepth,
}

impl ArchSpec {
    /// A spec with only a folding target.
    pub fn target(folding: Folding) -> ArchSpec {
        ArchSpec {
            folding,
            layers: Vec::new(),
            fifo_depth: FifoDepth::Auto,
        }
    }

    /// The default when no architecture is given: `cycles_per_image(64)` (layers balanced to
    /// at most 64 cycles per vector) with FIFO depths chosen by simulation.
    pub fn balanced_default() -> ArchSpec {
        ArchSpec::target(Folding::CyclesPerImage(64))
    }

    /// Parses an architecture file's text; `path` names it in messages.
    pub fn from_ron_str(text: &str, path: &str) -> Result<ArchSpec, PlanError> {
        // Optional per-layer values are written plainly (`pe: 4`, not `pe: Some(4)`).
        ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
            .from_str(text)
            .map_err(|e| PlanError::Parse {
                path: path.to_string(),
                line: e.span.start.line,
                col: e.span.start.col,
                message: e.code.to_string(),
            })
    }

    /// Reads an architecture file.
    pub fn load(path: &Path) -> Result<ArchSpec, PlanError> {
        let text = std::fs::read_to_string(path).map_err(|source| PlanError::Io {
            path: path.display().to_string(),
            source,
        })?;
        ArchSpec::from_ron_str(&text, &path.display().to_string())
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
    /// shows its vectors per image (`f9x64`).
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
                format!("l{} p{} s{} f{}{v}", l.index, l.pe, l.simd, l.fold())
            })
            .collect();
        parts.push(format!("ii {}", self.initiation_interval()));
        parts.join(" | ")
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

/// The fewest lanes `(pe, simd)` for an `mh × mw` layer with a fold of at most `cycles`; ties
/// go to the larger SIMD (wider input reads, fewer output groups).
fn fold_for(mw: u32, mh: u32, cycles: u64) -> (u32, u32) {
    let mut best: Option<(u64, u32, u32)> = None;
    for pe in divisors(mh) {
        for simd in divisors(mw) {
            let fold = u64::from(mh / pe) * u64::from(mw / simd);
            if fold > cycles {
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

/// The matrix a layer's MVU computes: `mh × mw`, `vectors` times per image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MvuDims {
    mw: u32,
    mh: u32,
    vectors: u32,
}

/// The MVU of layer `k`, if it has one; pooling has none, fixed-point layers are rejected.
fn mvu_dims(k: usize, layer: &Layer) -> Result<Option<MvuDims>, PlanError> {
    Ok(match layer {
        Layer::Dense(d) => Some(MvuDims {
            mw: d.in_features as u32,
            mh: d.out_features as u32,
            vectors: 1,
        }),
        Layer::Conv2d(c) => {
            let (oh, ow) = c.out_hw();
            Some(MvuDims {
                mw: c.taps() as u32,
                mh: c.out_channels as u32,
                vectors: (oh * ow) as u32,
            })
        }
        Layer::MaxPool2d(_) => None,
        Layer::FixedDense(_) => {
            return Err(PlanError::Rule(format!(
                "layer {k}: fixed-point (hls4ml-style) layers have no MVU mapping; quantize to integer codes"
            )))
        }
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
pub fn plan(net: &QNet, spec: &ArchSpec) -> Result<Plan, PlanError> {
    net.validate()
        .map_err(|e| PlanError::Rule(format!("the network is invalid: {e}")))?;
    let n = net.layers.len();
    let dims: Vec<Option<MvuDims>> = net
        .layers
        .iter()
        .enumerate()
        .map(|(k, l)| mvu_dims(k, l))
        .collect::<Result<_, _>>()?;
    let mvu_layers: Vec<usize> = (0..n).filter(|&k| dims[k].is_some()).collect();
    let m = mvu_layers.len();
    for a in &spec.layers {
        if a.index >= n {
            return Err(PlanError::Rule(format!(
                "layer index ({}) must be below the number of layers ({n})",
                a.index
            )));
        }
        if spec.layers.iter().filter(|b| b.index == a.index).count() > 1 {
            return Err(PlanError::Rule(format!(
                "layer {} is given more than once",
                a.index
            )));
        }
        if dims[a.index].is_none()
            && (a.pe.is_some() || a.simd.is_some() || a.acc_bits.is_some() || a.overflow.is_some())
        {
            return Err(PlanError::Rule(format!(
                "layer {} is a max pooling: it has no pe, simd or accumulator to choose",
                a.index
            )));
        }
    }
    let entry = |k: usize| spec.layers.iter().find(|a| a.index == k);
    let dim = |k: usize| {
        dims[k].unwrap_or(MvuDims {
            mw: 1,
            mh: 1,
            vectors: 1,
        })
    };

    // Folding per MVU layer (pooling layers keep (1, 1), unused).
    let mut folds: Vec<(u32, u32)> = vec![(1, 1); n];
    match spec.folding {
        Folding::FullyParallel => {
            for &k in &mvu_layers {
                folds[k] = (dim(k).mh, dim(k).mw);
            }
        }
        Folding::FullyFolded => {}
        Folding::CyclesPerImage(c) => {
            if c == 0 {
                return Err(PlanError::Rule(
                    "cycles_per_image (0) must be at least 1".into(),
                ));
            }
            for &k in &mvu_layers {
                let d = dim(k);
                folds[k] = fold_for(d.mw, d.mh, c / u64::from(d.vectors));
            }
        }
        Folding::PeBudget(budget) => {
            if budget < m as u64 {
                return Err(PlanError::Rule(format!(
                    "pe_budget ({budget}) must be at least the {m} lanes of a fully folded plan"
                )));
            }
            // Candidate intervals: every layer's possible cycles per image; take the smallest
            // that fits.
            let mut candidates: Vec<u64> = mvu_layers
                .iter()
                .flat_map(|&k| {
                    let d = dim(k);
                    divisors(d.mh).into_iter().flat_map(move |p| {
                        divisors(d.mw).into_iter().map(move |s| {
                            u64::from(d.vectors) * u64::from(d.mh / p) * u64::from(d.mw / s)
                        })
                    })
                })
                .collect();
            candidates.sort_unstable();
            candidates.dedup();
            for c in candidates {
                let f: Vec<(u32, u32)> = mvu_layers
                    .iter()
                    .map(|&k| {
                        let d = dim(k);
                        fold_for(d.mw, d.mh, c / u64::from(d.vectors))
                    })
                    .collect();
                let lanes: u64 = f.iter().map(|&(p, s)| u64::from(p) * u64::from(s)).sum();
                if lanes <= budget {
                    for (&k, &pf) in mvu_layers.iter().zip(&f) {
                        folds[k] = pf;
                    }
                    break;
                }
            }
        }
        Folding::Explicit => {
            for &k in &mvu_layers {
                match entry(k) {
                    Some(LayerArch {
                        pe: Some(p),
                        simd: Some(s),
                        ..
                    }) => folds[k] = (*p, *s),
                    _ => {
                        return Err(PlanError::Rule(format!(
                            "folding explicit needs pe and simd for layer {k}"
                        )))
                    }
                }
            }
        }
    }
    for &k in &mvu_layers {
        if let Some(a) = entry(k) {
            if let Some(p) = a.pe {
                folds[k].0 = p;
            }
            if let Some(s) = a.simd {
                folds[k].1 = s;
            }
        }
        let MvuDims { mw, mh, .. } = dim(k);
        let (p, s) = folds[k];
        let conv = matches!(net.layers[k], Layer::Conv2d(_));
        if p == 0 || mh % p != 0 {
            return Err(PlanError::Rule(if conv {
                format!("pe ({p}) must divide out_channels ({mh}) of layer {k}")
            } else {
                format!("pe ({p}) must divide out_features ({mh}) of layer {k}")
            }));
        }
        if s == 0 || mw % s != 0 {
            return Err(PlanError::Rule(if conv {
                format!(
                    "simd ({s}) must divide the window (in_channels · kernel_h · kernel_w = {mw}) of layer {k}"
                )
            } else {
                format!("simd ({s}) must divide in_features ({mw}) of layer {k}")
            }));
        }
    }

    // Accumulators: the plan may narrow them, explicitly.
    let mut eff = net.clone();
    for &k in &mvu_layers {
        let Some(a) = entry(k) else { continue };
        let Some(bits) = a.acc_bits else { continue };
        let proven = net
            .certificate_of(k)
            .map_or(bits, |c: crate::qnn::accum::AccCertificate| c.proven_bits);
        if bits < proven && a.overflow.is_none() {
            return Err(PlanError::Rule(format!(
                "acc_bits ({bits}) of layer {k} is below the proven bound ({proven} bits); state overflow: wrap or saturate to accept overflow"
            )));
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
    let mut layers = Vec::with_capacity(m);
    let mut mvus: Vec<Option<MvuParams>> = vec![None; n];
    for &k in &mvu_layers {
        let Some(cert) = eff.certificate_of(k) else {
            continue;
        };
        let (weights, codes, bias, accumulator, out) = match &eff.layers[k] {
            Layer::Dense(d) => (&d.weights, &d.codes, &d.bias, d.accumulator, &d.output),
            Layer::Conv2d(c) => (&c.weights, &c.codes, &c.bias, c.accumulator, &c.output),
            _ => continue,
        };
        let input = eff.layer_input_format(k);
        pe_kind_for(weights, input).map_err(|e| PlanError::Rule(format!("layer {k}: {e}")))?;
        let output = match out {
            LayerOutput::Accumulator => MvuOutput::Accumulator,
            LayerOutput::Requant(r) => MvuOutput::Requant(r.clone()),
        };
        let d = dim(k);
        let (pe, simd) = folds[k];
        let mvu = MvuParams::new(
            MvuLayer {
                layer: k,
                in_features: d.mw as usize,
                out_features: d.mh as usize,
                input,
                weights,
                codes,
                bias,
                acc_bits: cert.bits,
                overflow: accumulator.overflow,
                output,
            },
            pe,
            simd,
        )
        .map_err(|e| PlanError::Rule(e.to_string()))?
        .with_vectors(d.vectors);
        layers.push(LayerPlan {
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
        });
        mvus[k] = Some(mvu);
    }
    let name = network_name(&eff, &layers);
    // A FIFO follows every MVU but the last layer's.
    let fifos = mvu_layers.iter().filter(|&&k| k + 1 < n).count();
    let fifo_depths = match spec.fifo_depth {
        FifoDepth::Depth(d) => {
            if !(1..=4096).contains(&d) {
                return Err(PlanError::Rule(format!(
                    "fifo depth ({d}) must be between 1 and 4096"
                )));
            }
            vec![d; fifos]
        }
        FifoDepth::Auto => {
            // Deep enough to never fill: a whole image of transfers.
            let deep: Vec<u32> = mvu_layers
                .iter()
                .filter(|&&k| k + 1 < n)
                .filter_map(|&k| mvus[k].as_ref())
                .map(|u| (u64::from(u.nf()) * u64::from(u.vectors()) + 2).min(4096) as u32)
                .collect();
            let probe = chain(&name, &eff, &mvus, &deep)?;
            super::sim::max_fifo_occupancy(&probe, 8)
                .into_iter()
                .map(|o| o.max(2) as u32)
                .collect()
        }
    };
    let network = chain(&name, &eff, &mvus, &fifo_depths)?;
    Ok(Plan {
        net: eff,
        layers,
        fifo_depths,
        network,
    })
}

/// The network's module name part: the layers' foldings and a hash of the MVUs' names.
fn network_name(net: &QNet, layers: &[LayerPlan]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("{:?}", net.layers).bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let folds: Vec<String> = layers
        .iter()
        .map(|l| format!("p{}s{}", l.pe, l.simd))
        .collect();
    format!("{}_{:08x}", folds.join("_"), h as u32)
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
        let fb_err = |e: UnitError| PlanError::Rule(format!("layer {k}: {what}: {e}"));
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
    let missing = |k: usize| PlanError::Rule(format!("layer {k} has no MVU"));
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
                let sh = b.stream.ok_or_else(|| {
                    PlanError::Rule(format!("layer {k}: max pooling cannot be the first layer"))
                })?;
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
            let depth = *fifo.next().ok_or_else(|| {
                PlanError::Rule(format!("no FIFO depth is given after layer {k}"))
            })?;
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
        .ok_or_else(|| PlanError::Rule(format!("layer {k} has no MVU")))
}
