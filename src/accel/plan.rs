//! Hardware plans: how each layer of a [`QNet`] maps to a matrix-vector unit, and the streams
//! between them. An architecture file ([`ArchSpec`], RON) states a folding target and optional
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
//!   differs from the next layer's SIMD, a width converter.
//!
//! Folding targets: `fully_parallel` (PE = out_features, SIMD = in_features: one cycle per
//! vector), `fully_folded` (PE = SIMD = 1), `cycles_per_image(N)` (per layer the fewest lanes
//! whose fold `NF · SF` is at most N — the pipeline's initiation interval is the slowest layer's
//! fold), `pe_budget(N)` (at most N lanes `PE · SIMD` in total, the smallest initiation interval
//! that allows), `explicit` (every layer given in `layers`). Per-layer entries override the
//! target's choice for that layer.
//!
//! ```
//! use qforge::accel::plan::{ArchSpec, Folding};
//! let spec = ArchSpec::from_ron_str("ArchSpec(folding: cycles_per_image(64))", "inline").unwrap();
//! assert_eq!(spec.folding, Folding::CyclesPerImage(64));
//! ```

use super::fifo::FifoParams;
use super::mvu::{pe_kind_for, MvuFault, MvuLayer, MvuOutput, MvuParams};
use super::network::{NetworkParams, Stage};
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
    /// Inputs per vector.
    pub in_features: u32,
    /// Outputs per vector.
    pub out_features: u32,
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
}

/// A validated hardware plan for a network.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The network the hardware computes (the input network with the plan's accumulator
    /// widths): the golden reference of the design.
    pub net: QNet,
    /// Per layer.
    pub layers: Vec<LayerPlan>,
    /// FIFO depth after each layer but the last (0: no FIFO).
    pub fifo_depths: Vec<u32>,
    /// The units, in chain order.
    pub network: NetworkParams,
}

impl Plan {
    /// The initiation interval: the slowest layer's fold, in cycles per vector.
    pub fn initiation_interval(&self) -> u64 {
        self.layers.iter().map(LayerPlan::fold).max().unwrap_or(0)
    }

    /// Total lanes `PE · SIMD`.
    pub fn lanes(&self) -> u64 {
        self.layers
            .iter()
            .map(|l| u64::from(l.pe) * u64::from(l.simd))
            .sum()
    }

    /// A one-line description: `l0 p4 s8 f64 | l1 p2 s8 f20 | ii 64`.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .layers
            .iter()
            .map(|l| format!("l{} p{} s{} f{}", l.index, l.pe, l.simd, l.fold()))
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
    (1..=n).filter(|d| n % d == 0).collect()
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

/// Plans `net` with `spec`: validates every rule and resolves every default.
pub fn plan(net: &QNet, spec: &ArchSpec) -> Result<Plan, PlanError> {
    net.validate()
        .map_err(|e| PlanError::Rule(format!("the network is invalid: {e}")))?;
    let n = net.layers.len();
    let mut dims = Vec::with_capacity(n);
    for (k, layer) in net.layers.iter().enumerate() {
        match layer {
            Layer::Dense(d) => dims.push((d.in_features as u32, d.out_features as u32)),
            Layer::FixedDense(_) => {
                return Err(PlanError::Rule(format!(
                    "layer {k}: fixed-point (hls4ml-style) layers have no MVU mapping; quantize to integer codes"
                )))
            }
            Layer::Conv2d(_) | Layer::MaxPool2d(_) => {
                return Err(PlanError::Rule(format!(
                    "layer {k}: convolution and pooling layers have no hardware mapping yet (dense layers only)"
                )))
            }
        }
    }
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
    }
    let entry = |k: usize| spec.layers.iter().find(|a| a.index == k);

    // Folding per layer.
    let mut folds: Vec<(u32, u32)> = match spec.folding {
        Folding::FullyParallel => dims.iter().map(|&(mw, mh)| (mh, mw)).collect(),
        Folding::FullyFolded => vec![(1, 1); n],
        Folding::CyclesPerImage(c) => {
            if c == 0 {
                return Err(PlanError::Rule(
                    "cycles_per_image (0) must be at least 1".into(),
                ));
            }
            dims.iter().map(|&(mw, mh)| fold_for(mw, mh, c)).collect()
        }
        Folding::PeBudget(budget) => {
            if budget < n as u64 {
                return Err(PlanError::Rule(format!(
                    "pe_budget ({budget}) must be at least the {n} lanes of a fully folded plan"
                )));
            }
            // Candidate intervals: every layer's possible folds; take the smallest that fits.
            let mut candidates: Vec<u64> = dims
                .iter()
                .flat_map(|&(mw, mh)| {
                    divisors(mh).into_iter().flat_map(move |p| {
                        divisors(mw)
                            .into_iter()
                            .map(move |s| u64::from(mh / p) * u64::from(mw / s))
                    })
                })
                .collect();
            candidates.sort_unstable();
            candidates.dedup();
            let mut chosen = None;
            for c in candidates {
                let f: Vec<(u32, u32)> = dims.iter().map(|&(mw, mh)| fold_for(mw, mh, c)).collect();
                let lanes: u64 = f.iter().map(|&(p, s)| u64::from(p) * u64::from(s)).sum();
                if lanes <= budget {
                    chosen = Some(f);
                    break;
                }
            }
            chosen.unwrap_or_else(|| vec![(1, 1); n])
        }
        Folding::Explicit => {
            let mut v = Vec::with_capacity(n);
            for k in 0..n {
                match entry(k) {
                    Some(LayerArch {
                        pe: Some(p),
                        simd: Some(s),
                        ..
                    }) => v.push((*p, *s)),
                    _ => {
                        return Err(PlanError::Rule(format!(
                            "folding explicit needs pe and simd for layer {k}"
                        )))
                    }
                }
            }
            v
        }
    };
    for k in 0..n {
        if let Some(a) = entry(k) {
            if let Some(p) = a.pe {
                folds[k].0 = p;
            }
            if let Some(s) = a.simd {
                folds[k].1 = s;
            }
        }
        let (mw, mh) = dims[k];
        let (p, s) = folds[k];
        if p == 0 || mh % p != 0 {
            return Err(PlanError::Rule(format!(
                "pe ({p}) must divide out_features ({mh}) of layer {k}"
            )));
        }
        if s == 0 || mw % s != 0 {
            return Err(PlanError::Rule(format!(
                "simd ({s}) must divide in_features ({mw}) of layer {k}"
            )));
        }
    }

    // Accumulators: the plan may narrow them, explicitly.
    let mut eff = net.clone();
    let certs = net.certificates();
    for (k, cert) in certs.iter().enumerate() {
        let Layer::Dense(d) = &mut eff.layers[k] else {
            continue;
        };
        if let Some(a) = entry(k) {
            if let Some(bits) = a.acc_bits {
                if bits < cert.proven_bits && a.overflow.is_none() {
                    return Err(PlanError::Rule(format!(
                        "acc_bits ({bits}) of layer {k} is below the proven bound ({} bits); state overflow: wrap or saturate to accept overflow",
                        cert.proven_bits
                    )));
                }
                d.accumulator.bits = Some(bits);
                if let Some(o) = a.overflow {
                    d.accumulator.overflow = o;
                }
            }
        }
    }
    let certs = eff.certificates();
    let mut layers = Vec::with_capacity(n);
    let mut mvus = Vec::with_capacity(n);
    for (k, layer) in eff.layers.iter().enumerate() {
        let Layer::Dense(d) = layer else { continue };
        let cert = &certs[k];
        let input = eff.layer_input_format(k);
        pe_kind_for(&d.weights, input).map_err(|e| PlanError::Rule(format!("layer {k}: {e}")))?;
        let output = match &d.output {
            LayerOutput::Accumulator => MvuOutput::Accumulator,
            LayerOutput::Requant(r) => MvuOutput::Requant(r.clone()),
        };
        let (pe, simd) = folds[k];
        let mvu = MvuParams::new(
            MvuLayer {
                layer: k,
                in_features: d.in_features,
                out_features: d.out_features,
                input,
                weights: &d.weights,
                codes: &d.codes,
                bias: &d.bias,
                acc_bits: cert.bits,
                overflow: d.accumulator.overflow,
                output,
            },
            pe,
            simd,
        )
        .map_err(|e| PlanError::Rule(e.to_string()))?;
        layers.push(LayerPlan {
            index: k,
            in_features: d.in_features as u32,
            out_features: d.out_features as u32,
            pe,
            simd,
            kind: mvu.kind().name().to_string(),
            acc_bits: cert.bits,
            proven_bits: cert.proven_bits,
            multiplier: mvu.has_multiplier(),
        });
        mvus.push(mvu);
    }
    let name = network_name(&eff, &layers);
    let fifo_depths = match spec.fifo_depth {
        FifoDepth::Depth(d) => {
            if !(1..=4096).contains(&d) {
                return Err(PlanError::Rule(format!(
                    "fifo depth ({d}) must be between 1 and 4096"
                )));
            }
            vec![d; n - 1]
        }
        FifoDepth::Auto => {
            // Deep enough to never fill: a whole vector of transfers.
            let deep: Vec<u32> = mvus[..n - 1]
                .iter()
                .map(|u| (u.nf() + 2).min(4096))
                .collect();
            let probe = chain(&name, &mvus, &deep)?;
            super::sim::max_fifo_occupancy(&probe, 8)
                .into_iter()
                .map(|o| o.max(2) as u32)
                .collect()
        }
    };
    let network = chain(&name, &mvus, &fifo_depths)?;
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

/// MVUs joined by FIFOs (depth 0: none) and width converters where lanes differ.
fn chain(name: &str, mvus: &[MvuParams], depths: &[u32]) -> Result<NetworkParams, PlanError> {
    let mut stages = Vec::new();
    for (k, u) in mvus.iter().enumerate() {
        stages.push(Stage::Mvu(u.clone()));
        if let Some(next) = mvus.get(k + 1) {
            let shape = u.output_shape();
            if depths[k] > 0 {
                stages.push(Stage::Fifo(FifoParams::new(shape, depths[k])?));
            }
            if shape.lanes != next.simd() {
                stages.push(Stage::WidthConverter(WidthConverterParams::new(
                    shape.lanes,
                    next.simd(),
                    shape.lane_bits,
                    shape.signed,
                )?));
            }
        }
    }
    Ok(NetworkParams::new(name, stages)?)
}
