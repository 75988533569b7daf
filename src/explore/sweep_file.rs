//! The sweep file: which axes a sweep spans and which constraints prune its grid.
//!
//! A sweep file is RON. Every axis is required (a sweep says what it sweeps), except
//! `layer_overrides`, which defaults to `[[]]` (no override), `training`, which defaults to `[ptq]`
//! (see [`Training`]), `bias_bits`, which defaults to `[None]` (every bias keeps every bit of its
//! accumulator-unit value; `8` stores 8-bit biases, see
//! [`crate::qnn::quantize::QuantSpec::bias_bits`]), and `constraints`, which defaults to
//! `[scheme_bits]`. Integer axes are a list `[2, 3, 4]` or an inclusive range
//! `(from: 2, to: 8)` with an optional `step: 2`; the other axes are lists. Axes may not be empty
//! and may not repeat a value. Optional fields of a layer override are written without `Some(..)`.
//! Two optional fields name what the points are measured on: `data` (`"digits"`, the default,
//! or `"mnist:DIR"` with `DIR` relative to the sweep file's folder) and `images` (how many of its
//! test images; default all).
//!
//! ```ron
//! (
//!     name: "default",
//!     model: "digits_mlp.ron",           // relative to the sweep file's folder
//!     data: "digits",                    // or "mnist:DIR", DIR relative to the same folder
//!     images: 450,                       // default: all test images
//!     axes: (
//!         weight_scheme: [uniform, pot, apot, binary, ternary],
//!         weight_bits: (from: 1, to: 8),
//!         activation_bits: [4, 8],
//!         layer_overrides: [[], [(layer: 0, weight_bits: 8, activation_bits: 8)]],
//!         training: [ptq, qat(epochs: 30), qat(epochs: 30, activation_clipping: pact),
//!                    qat(epochs: 30, prune: 0.5), qat(epochs: 30, channel_keep: 0.5, channel_method: magnitude)],
//!         calibration: [minmax, percentile, mse],
//!         scale_bits: [8, 16],
//!         bias_bits: [None, 8, 16],          // None: every bit
//!         accumulator: [proven, explicit(bits: 16, overflow: sat), explicit(bits: 12, overflow: wrap)],
//!         folding: [fully_parallel, fully_folded, cycles_per_image(1000), pe_budget(64)],
//!         fpga: [ice40, xilinx, ecp5],
//!     ),
//!     constraints: [scheme_bits, weight_bits_le_activation_bits],
//! )
//! ```
//!
//! Errors carry the file and the `line:col` where the problem is: syntax errors, unknown names
//! (`unknown variant `foo`, expected one of ...`), empty axes, repeated values and backwards
//! ranges are all reported at their place in the file.
//!
//! ```
//! use qforge::explore::sweep_file::SweepFile;
//! let text = r#"(name: "t", model: "m.ron", axes: (weight_scheme: [uniform], weight_bits: (from: 2, to: 4),
//!     activation_bits: [8], calibration: [minmax], scale_bits: [8], accumulator: [proven],
//!     folding: [fully_parallel], fpga: [ice40]))"#;
//! let sweep = SweepFile::parse(text, "t.ron").unwrap();
//! assert_eq!(sweep.axes.weight_bits.values(), &[2, 3, 4]);
//! ```

use crate::explore::error::{ExploreError, Result};
use crate::nn::data::source::DataSource;
use crate::position::{locate_nearest, ValuePath};
use crate::quant::training::{
    ActClipping, ChannelMethod, ChannelSpec, LrSchedule, PruneSchedule, PruneSpec, Ste,
    TrainingSpec,
};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

/// How weights are coded: the weight family of [`crate::num::weights`], whose
/// [`WeightFamily::weight_bit_range`] is the `scheme_bits` constraint.
pub use crate::num::weights::WeightFamily;

/// How activation (and weight) ranges are calibrated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Calibration {
    /// The observed minimum and maximum.
    Minmax,
    /// A high percentile of the observed magnitudes (clipping outliers).
    Percentile,
    /// The clipping threshold minimising mean squared quantization error.
    Mse,
}

impl Calibration {
    /// The name used in sweep files and CSV.
    pub fn name(self) -> &'static str {
        match self {
            Calibration::Minmax => "minmax",
            Calibration::Percentile => "percentile",
            Calibration::Mse => "mse",
        }
    }
}

/// What a too-narrow accumulator does on overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// Two's-complement wrap-around.
    Wrap,
    /// Saturate to the representable range.
    Sat,
}

/// How accumulator widths are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccumulatorPolicy {
    /// The minimal width proven from the weights and input ranges (never overflows).
    Proven,
    /// A width the user asks for; overflow wraps or saturates exactly as the RTL does.
    Explicit {
        /// Accumulator width in bits.
        bits: u32,
        /// Wrap or saturate.
        overflow: Overflow,
    },
}

impl fmt::Display for AccumulatorPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccumulatorPolicy::Proven => write!(f, "proven"),
            AccumulatorPolicy::Explicit { bits, overflow } => {
                let o = match overflow {
                    Overflow::Wrap => "wrap",
                    Overflow::Sat => "sat",
                };
                write!(f, "{bits}{o}")
            }
        }
    }
}

/// How far the accelerator is folded (how many PEs and SIMD lanes each layer gets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Folding {
    /// One lane per weight: one input vector per cycle.
    FullyParallel,
    /// One PE with one SIMD lane per layer.
    FullyFolded,
    /// The smallest design reaching this many cycles per image or fewer.
    CyclesPerImage(u64),
    /// The fastest design with at most this many PE lanes in total.
    PeBudget(u64),
}

impl fmt::Display for Folding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Folding::FullyParallel => write!(f, "fully_parallel"),
            Folding::FullyFolded => write!(f, "fully_folded"),
            Folding::CyclesPerImage(n) => write!(f, "cycles_per_image({n})"),
            Folding::PeBudget(n) => write!(f, "pe_budget({n})"),
        }
    }
}

/// The FPGA family whose synthesis flow and cost model apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FpgaTarget {
    /// Lattice iCE40 (`synth_ice40`, LUT4 + carry).
    Ice40,
    /// Xilinx 7-series (`synth_xilinx`, LUT6 + CARRY4 + DSP48E1).
    Xilinx,
    /// Lattice ECP5 (`synth_ecp5`).
    Ecp5,
}

impl FpgaTarget {
    /// The name used in sweep files and CSV.
    pub fn name(self) -> &'static str {
        match self {
            FpgaTarget::Ice40 => "ice40",
            FpgaTarget::Xilinx => "xilinx",
            FpgaTarget::Ecp5 => "ecp5",
        }
    }
}

/// How a point's integer network is obtained from the sweep's float model.
///
/// `ptq` quantizes it after training (the point's calibration chooses the clipping);
/// `qat(epochs: N)` fine-tunes it for `N` epochs with quantization-aware training
/// ([`crate::qat`]) on the digits training split, starting from the same calibrated clipping,
/// and exports it with the same quantizer. The other fields of `qat(..)` are the training knobs
/// of a quantization spec's `training` section ([`TrainingSpec`]); a knob not given keeps its
/// default, and `seed` (default 1) fixes the batch order, so a point trains the same every time.
///
/// ```
/// use qforge::explore::sweep_file::Training;
/// // Sweep files are read with RON's implicit `Some`, so optional fields take plain values.
/// let t: Training = qforge::position::ron_options().from_str("qat(epochs: 30, activation_clipping: pact)").unwrap();
/// assert_eq!(t.to_string(), "qat(epochs: 30, activation_clipping: pact)");
/// assert_eq!(t.spec().unwrap().lr, 1e-3);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Training {
    /// Post-training quantization.
    #[default]
    Ptq,
    /// Quantization-aware training from the sweep's float model.
    Qat {
        /// Passes over the training split (at least 1).
        epochs: u32,
        /// How weight gradients pass the weight quantizer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ste: Option<Ste>,
        /// How activation clipping is learned.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        activation_clipping: Option<ActClipping>,
        /// Whether weight clipping thresholds are learned.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        learn_weight_clipping: Option<bool>,
        /// Adam's learning rate.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lr: Option<LearningRate>,
        /// How the learning rate changes over the updates.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schedule: Option<LrSchedule>,
        /// Samples per update.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        batch_size: Option<u32>,
        /// Seed of the batch order (default 1).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed: Option<u64>,
        /// Progressive bit reduction: widths to train at before the point's own, widest first
        /// ([`TrainingSpec::progressive`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        progressive: Option<Vec<u32>>,
        /// Incremental network quantization: the fractions of each weight channel quantized and
        /// frozen stage by stage, ending at 1 ([`TrainingSpec::inq`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        inq: Option<Vec<Fraction>>,
        /// APoT-style weight normalisation ([`TrainingSpec::weight_normalization`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weight_normalization: Option<bool>,
        /// Unstructured magnitude pruning: the fraction of each layer's weights held at zero
        /// ([`TrainingSpec::prune`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prune: Option<Fraction>,
        /// When the weights are pruned (default gradual).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prune_schedule: Option<PruneSchedule>,
        /// Channel pruning: the fraction of each hidden layer's output channels kept
        /// ([`TrainingSpec::channels`]); the point's network has only those.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        channel_keep: Option<Fraction>,
        /// How the kept channels are chosen (default learned gates).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        channel_method: Option<ChannelMethod>,
        /// Widening: the point trains from fresh weights (seeded by `seed`) an architecture
        /// whose hidden layers have `width` times the sweep model's outputs
        /// ([`crate::nn::Architecture::widened`]); `width: 1.0` trains the model's own shape
        /// from scratch. Without it, the point fine-tunes the sweep's model.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        width: Option<Fraction>,
    },
}

/// A fraction in a sweep file (an INQ stage), compared and hashed by its bits like
/// [`LearningRate`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fraction(pub f64);

impl PartialEq for Fraction {
    fn eq(&self, other: &Fraction) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Fraction {}

impl std::hash::Hash for Fraction {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.to_bits().hash(h);
    }
}

/// A learning rate in a sweep file: a float compared and hashed by its bits, so a point that
/// carries it keeps a stable identity.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LearningRate(pub f32);

impl PartialEq for LearningRate {
    fn eq(&self, other: &LearningRate) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for LearningRate {}

impl std::hash::Hash for LearningRate {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.to_bits().hash(h);
    }
}

/// The widest widening a sweep point may ask for.
pub const MAX_WIDTH: f64 = 16.0;

impl Training {
    /// The widening of a QAT point trained from scratch (`None`: it fine-tunes the model).
    pub fn width(&self) -> Option<f64> {
        match self {
            Training::Qat { width, .. } => width.map(|w| w.0),
            Training::Ptq => None,
        }
    }

    /// Whether the point is trained (quantization-aware training).
    pub fn is_qat(&self) -> bool {
        matches!(self, Training::Qat { .. })
    }

    /// The seed of the batch order (1 unless given).
    pub fn seed(&self) -> u64 {
        match self {
            Training::Qat { seed, .. } => seed.unwrap_or(1),
            Training::Ptq => 1,
        }
    }

    /// The epochs of training (0 for post-training quantization).
    pub fn epochs(&self) -> u32 {
        match self {
            Training::Qat { epochs, .. } => *epochs,
            Training::Ptq => 0,
        }
    }

    /// The training knobs with every default filled in; `Err` names the field and the rule
    /// (epochs at least 1, the rules of [`TrainingSpec::check`]).
    pub fn spec(&self) -> std::result::Result<TrainingSpec, (&'static str, String)> {
        let mut spec = TrainingSpec::default();
        let Training::Qat {
            epochs,
            ste,
            activation_clipping,
            learn_weight_clipping,
            lr,
            schedule,
            batch_size,
            seed: _,
            ref progressive,
            ref inq,
            weight_normalization,
            prune,
            prune_schedule,
            channel_keep,
            channel_method,
            width,
        } = *self
        else {
            return Ok(spec);
        };
        if let Some(w) = width.filter(|w| !(w.0.is_finite() && w.0 > 0.0 && w.0 <= MAX_WIDTH)) {
            return Err((
                "width",
                format!(
                    "qat width ({}) must be above 0 and at most {MAX_WIDTH}",
                    w.0
                ),
            ));
        }
        if epochs == 0 {
            return Err((
                "epochs",
                "qat epochs (0) must be at least 1 (post-training quantization is `ptq`)".into(),
            ));
        }
        if let Some(v) = ste {
            spec.ste = v;
        }
        if let Some(v) = activation_clipping {
            spec.activation_clipping = v;
        }
        if let Some(v) = learn_weight_clipping {
            spec.learn_weight_clipping = v;
        }
        if let Some(v) = lr {
            spec.lr = v.0;
        }
        if let Some(v) = schedule {
            spec.schedule = v;
        }
        if let Some(v) = batch_size {
            spec.batch_size = v as usize;
        }
        if let Some(v) = progressive {
            spec.progressive.clone_from(v);
        }
        if let Some(v) = inq {
            spec.inq = v.iter().map(|f| f.0).collect();
        }
        if let Some(v) = weight_normalization {
            spec.weight_normalization = v;
        }
        if let Some(sparsity) = prune {
            spec.prune = Some(PruneSpec {
                sparsity: sparsity.0,
                schedule: prune_schedule.unwrap_or_default(),
            });
        } else if prune_schedule.is_some() {
            return Err((
                "prune_schedule",
                "qat prune_schedule needs prune (the fraction of weights pruned)".into(),
            ));
        }
        if let Some(keep) = channel_keep {
            spec.channels = Some(ChannelSpec {
                keep: keep.0,
                method: channel_method.unwrap_or_default(),
                ..ChannelSpec::default()
            });
        } else if channel_method.is_some() {
            return Err((
                "channel_method",
                "qat channel_method needs channel_keep (the fraction of channels kept)".into(),
            ));
        }
        // the section's `channels` is this entry's `channel_keep`
        spec.check().map_err(|(field, m)| match field {
            "channels" => ("channel_keep", m),
            field => (field, m),
        })?;
        Ok(spec)
    }
}

impl fmt::Display for Training {
    /// The value as a sweep file writes it, with the fields given (`ptq`, `qat(epochs: 30)`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Training::Qat {
            epochs,
            ste,
            activation_clipping,
            learn_weight_clipping,
            lr,
            schedule,
            batch_size,
            seed,
            progressive,
            inq,
            weight_normalization,
            prune,
            prune_schedule,
            channel_keep,
            channel_method,
            width,
        } = self
        else {
            return write!(f, "ptq");
        };
        let mut parts = vec![format!("epochs: {epochs}")];
        if let Some(v) = ste {
            parts.push(format!("ste: {}", v.name()));
        }
        if let Some(v) = activation_clipping {
            parts.push(format!("activation_clipping: {}", v.name()));
        }
        if let Some(v) = learn_weight_clipping {
            parts.push(format!("learn_weight_clipping: {v}"));
        }
        if let Some(v) = lr {
            parts.push(format!("lr: {}", v.0));
        }
        if let Some(v) = schedule {
            parts.push(format!("schedule: {}", v.name()));
        }
        if let Some(v) = batch_size {
            parts.push(format!("batch_size: {v}"));
        }
        if let Some(v) = seed {
            parts.push(format!("seed: {v}"));
        }
        let list = |items: Vec<String>| format!("[{}]", items.join(", "));
        if let Some(v) = progressive {
            let widths = v.iter().map(|b| b.to_string()).collect();
            parts.push(format!("progressive: {}", list(widths)));
        }
        if let Some(v) = inq {
            let fractions = v.iter().map(|x| format!("{:?}", x.0)).collect();
            parts.push(format!("inq: {}", list(fractions)));
        }
        if let Some(v) = weight_normalization {
            parts.push(format!("weight_normalization: {v}"));
        }
        if let Some(v) = prune {
            parts.push(format!("prune: {:?}", v.0));
        }
        if let Some(v) = prune_schedule {
            parts.push(format!("prune_schedule: {}", v.name()));
        }
        if let Some(v) = channel_keep {
            parts.push(format!("channel_keep: {:?}", v.0));
        }
        if let Some(v) = channel_method {
            parts.push(format!("channel_method: {}", v.name()));
        }
        if let Some(v) = width {
            parts.push(format!("width: {:?}", v.0));
        }
        write!(f, "qat({})", parts.join(", "))
    }
}

/// A per-layer precision that differs from the point's global widths (mixed precision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerOverride {
    /// Index of the layer among the layers with weights (0 = the first dense or convolution
    /// layer; pooling layers are not counted).
    pub layer: usize,
    /// Weight width of that layer, if it differs.
    #[serde(default)]
    pub weight_bits: Option<u32>,
    /// Activation width of that layer's input, if it differs.
    #[serde(default)]
    pub activation_bits: Option<u32>,
}

impl fmt::Display for LayerOverride {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "L{}:", self.layer)?;
        if let Some(w) = self.weight_bits {
            write!(f, "W{w}")?;
        }
        if let Some(a) = self.activation_bits {
            write!(f, "A{a}")?;
        }
        Ok(())
    }
}

/// A rule that removes points from the Cartesian product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Constraint {
    /// Keep only points whose weight widths (global and per-layer) are in the scheme's range
    /// ([`WeightFamily::weight_bit_range`]).
    SchemeBits,
    /// Keep only points with `weight_bits <= activation_bits` (global and per layer).
    WeightBitsLeActivationBits,
}

impl Constraint {
    /// The name used in sweep files.
    pub fn name(self) -> &'static str {
        match self {
            Constraint::SchemeBits => "scheme_bits",
            Constraint::WeightBitsLeActivationBits => "weight_bits_le_activation_bits",
        }
    }
}

/// The most values one range axis may expand to (a typo like `to: 80000` fails early).
pub const MAX_RANGE_VALUES: u32 = 1024;

/// An integer axis: a list of values or an inclusive range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntAxis(Vec<u32>);

impl IntAxis {
    /// The axis values in file order (ranges ascending).
    pub fn values(&self) -> &[u32] {
        &self.0
    }
}

impl Serialize for IntAxis {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for IntAxis {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IntAxis;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a list like [2, 4, 8] or a range like (from: 2, to: 8)")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<IntAxis, A::Error> {
                let mut values = Vec::new();
                while let Some(v) = seq.next_element::<u32>()? {
                    values.push(v);
                }
                check_list(&values).map_err(de::Error::custom)?;
                Ok(IntAxis(values))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<IntAxis, A::Error> {
                let (mut from, mut to, mut step) = (None, None, None);
                while let Some(key) = map.next_key::<String>()? {
                    let slot = match key.as_str() {
                        "from" => &mut from,
                        "to" => &mut to,
                        "step" => &mut step,
                        other => {
                            return Err(de::Error::custom(format!(
                                "unknown range field `{other}`, expected `from`, `to` or `step`"
                            )))
                        }
                    };
                    if slot.is_some() {
                        return Err(de::Error::custom(format!(
                            "range field `{key}` given twice"
                        )));
                    }
                    *slot = Some(map.next_value::<u32>()?);
                }
                let from = from.ok_or_else(|| de::Error::custom("range needs `from`"))?;
                let to = to.ok_or_else(|| de::Error::custom("range needs `to`"))?;
                let step = step.unwrap_or(1);
                if step == 0 {
                    return Err(de::Error::custom("range step must be at least 1"));
                }
                if from > to {
                    return Err(de::Error::custom(format!(
                        "range is empty: from ({from}) is greater than to ({to})"
                    )));
                }
                // In u64: `(from: 0, to: 4294967295)` has 2^32 values, one more than a u32 holds.
                let count = u64::from(to - from) / u64::from(step) + 1;
                if count > u64::from(MAX_RANGE_VALUES) {
                    return Err(de::Error::custom(format!(
                        "range has {count} values, more than the {MAX_RANGE_VALUES} an axis may have"
                    )));
                }
                Ok(IntAxis((from..=to).step_by(step as usize).collect()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A list axis of enum-like values; not empty, no repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListAxis<T>(Vec<T>);

impl<T> ListAxis<T> {
    /// The axis values in file order.
    pub fn values(&self) -> &[T] {
        &self.0
    }
}

impl<T: Serialize> Serialize for ListAxis<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, T: Deserialize<'de> + PartialEq> Deserialize<'de> for ListAxis<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de> + PartialEq> Visitor<'de> for V<T> {
            type Value = ListAxis<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a list of values like [a, b]")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut values = Vec::new();
                while let Some(v) = seq.next_element::<T>()? {
                    values.push(v);
                }
                check_list(&values).map_err(de::Error::custom)?;
                Ok(ListAxis(values))
            }
        }
        d.deserialize_seq(V(PhantomData))
    }
}

/// An axis list that breaks a rule (the parser reports it at the list's position).
#[derive(Debug, thiserror::Error)]
enum AxisError {
    #[error("axis is empty: give at least one value")]
    Empty,
    #[error("axis repeats a value (entries {first} and {second}): each value once")]
    Repeated { first: usize, second: usize },
}

fn check_list<T: PartialEq>(values: &[T]) -> std::result::Result<(), AxisError> {
    if values.is_empty() {
        return Err(AxisError::Empty);
    }
    for (i, v) in values.iter().enumerate() {
        if let Some(j) = values[..i].iter().position(|w| w == v) {
            return Err(AxisError::Repeated {
                first: j + 1,
                second: i + 1,
            });
        }
    }
    Ok(())
}

fn no_overrides() -> ListAxis<Vec<LayerOverride>> {
    ListAxis(vec![Vec::new()])
}

fn ptq_only() -> ListAxis<Training> {
    ListAxis(vec![Training::Ptq])
}

fn full_biases() -> ListAxis<Option<u32>> {
    ListAxis(vec![None])
}

fn default_constraints() -> Vec<Constraint> {
    vec![Constraint::SchemeBits]
}

/// The axes of a sweep; the grid is their Cartesian product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axes {
    /// Weight coding schemes.
    pub weight_scheme: ListAxis<WeightFamily>,
    /// Global weight widths.
    pub weight_bits: IntAxis,
    /// Global activation widths.
    pub activation_bits: IntAxis,
    /// Sets of per-layer overrides; `[]` in the list means "no override".
    #[serde(default = "no_overrides")]
    pub layer_overrides: ListAxis<Vec<LayerOverride>>,
    /// How networks are obtained: `ptq` and `qat(epochs: N, ..)` entries (default `[ptq]`).
    #[serde(default = "ptq_only")]
    pub training: ListAxis<Training>,
    /// Calibration methods.
    pub calibration: ListAxis<Calibration>,
    /// Widths of the requantization multiplier M.
    pub scale_bits: IntAxis,
    /// Widths of the stored biases (`None`: every bit; default `[None]`).
    #[serde(default = "full_biases")]
    pub bias_bits: ListAxis<Option<u32>>,
    /// Accumulator policies.
    pub accumulator: ListAxis<AccumulatorPolicy>,
    /// Folding targets.
    pub folding: ListAxis<Folding>,
    /// FPGA families.
    pub fpga: ListAxis<FpgaTarget>,
}

impl Axes {
    /// The size of the Cartesian product of the axes (before constraints), saturating at
    /// `usize::MAX`.
    pub fn combinations(&self) -> usize {
        [
            self.weight_scheme.values().len(),
            self.weight_bits.values().len(),
            self.activation_bits.values().len(),
            self.layer_overrides.values().len(),
            self.training.values().len(),
            self.calibration.values().len(),
            self.scale_bits.values().len(),
            self.bias_bits.values().len(),
            self.accumulator.values().len(),
            self.folding.values().len(),
            self.fpga.values().len(),
        ]
        .iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n))
        .unwrap_or(usize::MAX)
    }
}

/// A parsed sweep file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    /// A short name, used in titles and `meta.json`.
    pub name: String,
    /// The float model to quantize, relative to the sweep file's folder.
    pub model: String,
    /// The data set (`digits`, the default, or `mnist:DIR` with `DIR` relative to the sweep
    /// file's folder): its training images calibrate and train, its test images measure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// How many test images measure accuracy (default: all of the data set's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<usize>,
    /// The axes.
    pub axes: Axes,
    /// Constraints pruning the grid (default `[scheme_bits]`).
    #[serde(default = "default_constraints")]
    pub constraints: Vec<Constraint>,
}

impl SweepFile {
    /// Parses sweep text; `file` names it in error messages (`file:line:col: message`).
    pub fn parse(text: &str, file: &str) -> Result<SweepFile> {
        let sweep: SweepFile =
            crate::position::ron_options()
                .from_str(text)
                .map_err(|e| ExploreError::SweepFile {
                    file: file.to_string(),
                    line: e.span.start.line,
                    col: e.span.start.col,
                    message: e.code.to_string(),
                })?;
        let at_field = |field: &'static str, message: String| {
            let (line, col) = locate_nearest(text, &ValuePath::field(field));
            ExploreError::SweepFile {
                file: file.to_string(),
                line,
                col,
                message,
            }
        };
        if let Some(data) = &sweep.data {
            data.parse::<DataSource>()
                .map_err(|e| at_field("data", e.to_string()))?;
        }
        if sweep.images == Some(0) {
            return Err(at_field("images", "images (0) must be at least 1".into()));
        }
        for (i, bits) in sweep.axes.bias_bits.values().iter().enumerate() {
            if let Some(b) = bits.filter(|b| !crate::qnn::quantize::BIAS_BITS.contains(b)) {
                let at = ValuePath::field("axes").then_field("bias_bits").index(i);
                let (line, col) = locate_nearest(text, &at);
                return Err(ExploreError::SweepFile {
                    file: file.to_string(),
                    line,
                    col,
                    message: format!("bias_bits ({b}) must be between 2 and 48"),
                });
            }
        }
        for (i, training) in sweep.axes.training.values().iter().enumerate() {
            if let Err((field, message)) = training.spec() {
                let at = ValuePath::field("axes")
                    .then_field("training")
                    .index(i)
                    .then_field(field);
                let (line, col) = locate_nearest(text, &at);
                return Err(ExploreError::SweepFile {
                    file: file.to_string(),
                    line,
                    col,
                    message,
                });
            }
        }
        Ok(sweep)
    }

    /// Reads and parses a sweep file.
    pub fn load(path: &Path) -> Result<SweepFile> {
        let text = std::fs::read_to_string(path).map_err(|e| ExploreError::io(path, e))?;
        SweepFile::parse(&text, &path.display().to_string())
    }
}
