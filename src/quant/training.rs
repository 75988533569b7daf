//! The training side of quantization: how gradients pass through a quantizer, and the knobs of
//! quantization-aware training as a quantization spec's `training` section.
//!
//! A quantizer `q(v) = s · clamp(round(v / s), lo, hi)` has zero gradient almost everywhere, so
//! training replaces the derivative of the rounding by 1, the straight-through estimator (STE):
//! * [`Ste::Identity`]: `∂q/∂v = 1` everywhere;
//! * [`Ste::Clipped`]: `∂q/∂v = 1` inside the clipping range `lo·s ≤ v ≤ hi·s`, 0 outside;
//! * [`hard_tanh_pass`] for sign (binary) quantizers: `∂q/∂v = 1` for `|v| ≤ 1`.
//!
//! The step `s` (equivalently the clipping threshold `T = hi · s`) can be learned:
//! * LSQ (Esser et al., ICLR 2020), [`lsq_step_grad`]: `∂q/∂s = round(v/s) − v/s` inside the
//!   range and the bound `lo` or `hi` outside, scaled by `1/√(N·hi)` ([`lsq_grad_scale`]);
//! * PACT (Choi et al., 2018), [`pact_clip_grad`]: for a ReLU clipped at `α`, `∂y/∂α = 1` where
//!   `v ≥ α`, 0 below.
//!
//! Schedules over the epochs, each splitting them into equal stages ([`stage`]):
//! * progressive bit reduction ([`TrainingSpec::progressive`]): wider weights and activations
//!   first, stepping down to the spec's widths;
//! * incremental network quantization ([`TrainingSpec::inq`], Zhou et al., ICLR 2017): PoT
//!   weights quantized and frozen a growing fraction at a time, the rest trained in float.
//!
//! ```
//! use qforge::quant::training::{lsq_step_grad, pact_clip_grad, ste_pass, Ste};
//! // v = 0.3, s = 0.25: v/s = 1.2 rounds to 1, so ∂q/∂s = 1 − 1.2 = −0.2
//! assert!((lsq_step_grad(0.3, 0.25, 1, -7, 7) - (-0.2)).abs() < 1e-12);
//! assert_eq!(lsq_step_grad(5.0, 0.25, 7, -7, 7), 7.0); // clipped at the top
//! assert_eq!(ste_pass(Ste::Clipped, 5.0, 1.75), 0.0);
//! assert_eq!(pact_clip_grad(2.0, 1.5), 1.0);
//! ```

use serde::{Deserialize, Serialize};

/// How the gradient passes the rounding of a quantizer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ste {
    /// The gradient passes everywhere.
    Identity,
    /// The gradient passes inside the clipping range only.
    #[default]
    Clipped,
}

/// How activation clipping ranges are chosen during training.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActClipping {
    /// Learned step size (LSQ), initialised by the spec's calibration.
    #[default]
    Lsq,
    /// Learned clip value (PACT), initialised by the spec's calibration.
    Pact,
    /// Kept at the calibrated value.
    Fixed,
}

/// How the learning rate changes over training.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrSchedule {
    /// The same rate throughout.
    Constant,
    /// Cosine decay from the rate to 0 over all updates: `lr · (1 + cos(π · t / T)) / 2`.
    #[default]
    Cosine,
}

impl Ste {
    /// The name a spec file uses.
    pub fn name(&self) -> &'static str {
        match self {
            Ste::Identity => "identity",
            Ste::Clipped => "clipped",
        }
    }
}

impl ActClipping {
    /// The name a spec file uses.
    pub fn name(&self) -> &'static str {
        match self {
            ActClipping::Lsq => "lsq",
            ActClipping::Pact => "pact",
            ActClipping::Fixed => "fixed",
        }
    }
}

impl LrSchedule {
    /// The name a spec file uses.
    pub fn name(&self) -> &'static str {
        match self {
            LrSchedule::Constant => "constant",
            LrSchedule::Cosine => "cosine",
        }
    }

    /// The factor of the base rate at update `t` of `total`.
    pub fn factor(&self, t: usize, total: usize) -> f64 {
        match self {
            LrSchedule::Constant => 1.0,
            LrSchedule::Cosine => {
                0.5 * (1.0 + (std::f64::consts::PI * t as f64 / total.max(1) as f64).cos())
            }
        }
    }
}

/// The knobs of quantization-aware training (the `training` section of a quantization spec).
/// Every field has a default, so `training: ()` is a valid section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSpec {
    /// How weight gradients pass the weight quantizer (binary weights always use hard-tanh).
    #[serde(default)]
    pub ste: Ste,
    /// Learn each weight channel's clipping threshold (LSQ) instead of taking it from the
    /// weights' statistics at every step (uniform, PoT and APoT weights).
    #[serde(default = "default_true")]
    pub learn_weight_clipping: bool,
    /// How activation clipping is chosen.
    #[serde(default)]
    pub activation_clipping: ActClipping,
    /// Adam's learning rate for weights and biases.
    #[serde(default = "default_lr")]
    pub lr: f32,
    /// Adam's learning rate for clipping thresholds (default: `lr`).
    #[serde(default)]
    pub clipping_lr: Option<f32>,
    /// How the learning rates change over the updates.
    #[serde(default)]
    pub schedule: LrSchedule,
    /// Samples per update.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Progressive bit reduction: the widths to train at before the spec's own, widest first,
    /// each 2..=16 and decreasing. The epochs are split into `len + 1` equal stages
    /// ([`stage`]): stage `k` trains every layer's activations and uniform weights at
    /// `max(progressive[k], its own width)`, the last stage at the spec's widths (so
    /// `[8, 6]` over 30 epochs: 10 at 8 bits, 10 at 6, 10 at the spec's). Other weight schemes
    /// keep their code; only their activations step down. Empty: the spec's widths throughout.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub progressive: Vec<u32>,
    /// Incremental network quantization (INQ) for PoT weights: the fractions of each output
    /// channel's weights that are quantized and frozen, increasing, in `(0, 1]`, the last 1
    /// (e.g. `[0.5, 0.75, 0.875, 1.0]`). The epochs are split into `len` equal stages
    /// ([`stage`]); at the start of stage `k` the largest-magnitude unfrozen weights of each
    /// channel are set to their quantized values and frozen until `inq[k]` of the channel is;
    /// the others are trained unquantized (in float). Weight clipping comes from the weights'
    /// statistics throughout (the largest weights, which set it, are frozen first). Empty:
    /// every weight quantized throughout.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inq: Vec<f64>,
    /// Weight normalisation as APoT trains (Li et al., ICLR 2020): each layer's weights are
    /// kept at mean zero (centred before calibration and after every update; the mean is a
    /// constant of the step, so gradients pass unchanged) and the clipping thresholds learn in
    /// units of the layer's weight standard deviation (their step scaled by it), so one
    /// clipping learning rate suits every layer. Epoch 0 is then post-training quantization of
    /// the centred weights. Not with `inq` (frozen weights cannot move with the mean).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub weight_normalization: bool,
    /// Unstructured magnitude pruning of every Dense and Conv2d layer ([`PruneSpec`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<PruneSpec>,
    /// Structured pruning of the hidden layers' output channels ([`ChannelSpec`]); the
    /// exported network has the kept channels only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<ChannelSpec>,
}

/// When unstructured pruning removes weights.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PruneSchedule {
    /// All at once, before the first epoch; the training fine-tunes the rest.
    OneShot,
    /// Zhu and Gupta's (2017) cubic ramp: at the start of epoch `e` of `E` the sparsity is
    /// `s · (1 − (1 − min(1, e / R))³)` with `R = ⌈E / 2⌉`, so the target is reached halfway
    /// and the second half fine-tunes ([`gradual_sparsity`]).
    #[default]
    Gradual,
}

/// Unstructured magnitude pruning: in every Dense and Conv2d layer, the fraction `sparsity`
/// of the weights with the smallest magnitudes (ties by position) is set to zero and held
/// there. A pruned weight stays pruned; the weight scheme must have a zero level (not binary).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruneSpec {
    /// Fraction of each layer's weights pruned at the end of the schedule, in `[0, 1)`.
    pub sparsity: f64,
    /// When they are pruned.
    #[serde(default)]
    pub schedule: PruneSchedule,
}

/// How the kept output channels of a hidden layer are chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelMethod {
    /// The channels whose weights have the largest L2 norm, chosen once before training (the
    /// baseline); the training fine-tunes the kept ones.
    Magnitude,
    /// A binary gate per channel, `g = [θ ≥ 0]`, trained with the network through the STE
    /// (`∂g/∂θ = 1`, `θ` kept in `[−1, 1]`) under a penalty on open gates while more than the
    /// target are open; the penalty doubles after every epoch that ends above the target, and
    /// when fewer are open the closed gates of highest score reopen. The gates learn in the
    /// first `⌈E / 2⌉` epochs; then, if more than the target are still open, those of highest
    /// score stay open, and the gates are fixed while the rest of the epochs fine-tune.
    #[default]
    Gate,
}

impl PruneSchedule {
    /// The name a spec file uses.
    pub fn name(&self) -> &'static str {
        match self {
            PruneSchedule::OneShot => "one_shot",
            PruneSchedule::Gradual => "gradual",
        }
    }
}

impl ChannelMethod {
    /// The name a spec file uses.
    pub fn name(&self) -> &'static str {
        match self {
            ChannelMethod::Magnitude => "magnitude",
            ChannelMethod::Gate => "gate",
        }
    }
}

/// Structured channel pruning of every hidden layer: `keep` of its output channels (at least
/// one) stay, the others output 0 in training and are removed from the exported network.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSpec {
    /// Fraction of each hidden layer's output channels kept, in `(0, 1]` (rounded to the
    /// nearest count, at least 1).
    pub keep: f64,
    /// How they are chosen.
    #[serde(default)]
    pub method: ChannelMethod,
    /// Gate method: the penalty's gradient on each open gate while more than the target are
    /// open.
    #[serde(default = "default_penalty")]
    pub penalty: f64,
    /// Gate method: Adam's learning rate for the gate scores.
    #[serde(default = "default_gate_lr")]
    pub gate_lr: f64,
}

impl Default for ChannelSpec {
    /// Every channel kept, learned gates, the default penalty and rate.
    fn default() -> Self {
        ChannelSpec {
            keep: 1.0,
            method: ChannelMethod::default(),
            penalty: default_penalty(),
            gate_lr: default_gate_lr(),
        }
    }
}

impl ChannelSpec {
    /// The channels kept of `channels`: `keep · channels` rounded, at least 1.
    pub fn kept_of(&self, channels: usize) -> usize {
        ((self.keep * channels as f64).round() as usize).clamp(1, channels.max(1))
    }
}

fn default_penalty() -> f64 {
    1e-3
}

fn default_gate_lr() -> f64 {
    0.02
}

/// The sparsity of [`PruneSchedule::Gradual`] at the start of 1-based `epoch` of `epochs`.
pub fn gradual_sparsity(sparsity: f64, epoch: usize, epochs: usize) -> f64 {
    let ramp = epochs.div_ceil(2).max(1);
    let t = (epoch as f64 / ramp as f64).min(1.0);
    sparsity * (1.0 - (1.0 - t).powi(3))
}

fn default_true() -> bool {
    true
}

fn default_lr() -> f32 {
    1e-3
}

fn default_batch() -> usize {
    32
}

impl Default for TrainingSpec {
    fn default() -> Self {
        TrainingSpec {
            ste: Ste::default(),
            learn_weight_clipping: true,
            activation_clipping: ActClipping::default(),
            lr: default_lr(),
            clipping_lr: None,
            schedule: LrSchedule::default(),
            batch_size: default_batch(),
            progressive: Vec::new(),
            inq: Vec::new(),
            weight_normalization: false,
            prune: None,
            channels: None,
        }
    }
}

impl TrainingSpec {
    /// Checks the values: learning rates finite, positive and at most 1; batch size at least 1;
    /// progressive widths 2..=16 and decreasing; INQ fractions in `(0, 1]`, increasing, the
    /// last 1; INQ without weight normalisation.
    /// The error names the field and the rule.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let lr_ok = |v: f32| v.is_finite() && v > 0.0 && v <= 1.0;
        if !lr_ok(self.lr) {
            return Err((
                "lr",
                format!(
                    "training lr ({}) must be finite, positive and at most 1",
                    self.lr
                ),
            ));
        }
        if let Some(v) = self.clipping_lr.filter(|&v| !lr_ok(v)) {
            return Err((
                "clipping_lr",
                format!("training clipping_lr ({v}) must be finite, positive and at most 1"),
            ));
        }
        if self.batch_size == 0 {
            return Err((
                "batch_size",
                "training batch_size (0) must be at least 1".into(),
            ));
        }
        if let Some(&b) = self.progressive.iter().find(|b| !(2..=16).contains(*b)) {
            return Err((
                "progressive",
                format!("training progressive width ({b}) must be between 2 and 16"),
            ));
        }
        if let Some(w) = self.progressive.windows(2).find(|w| w[1] >= w[0]) {
            return Err((
                "progressive",
                format!(
                    "training progressive widths must decrease ({} is followed by {})",
                    w[0], w[1]
                ),
            ));
        }
        if let Some(&f) = self.inq.iter().find(|&&f| !(f > 0.0 && f <= 1.0)) {
            return Err((
                "inq",
                format!("training inq fraction ({f}) must be above 0 and at most 1"),
            ));
        }
        if let Some(w) = self.inq.windows(2).find(|w| w[1] <= w[0]) {
            return Err((
                "inq",
                format!(
                    "training inq fractions must increase ({} is followed by {})",
                    w[0], w[1]
                ),
            ));
        }
        if let Some(&f) = self.inq.last().filter(|&&f| f != 1.0) {
            return Err((
                "inq",
                format!("training inq must end with 1 (every weight quantized), not {f}"),
            ));
        }
        if self.weight_normalization && !self.inq.is_empty() {
            return Err((
                "weight_normalization",
                "training weight_normalization cannot be combined with inq (frozen weights \
                 cannot follow the layer's mean)"
                    .into(),
            ));
        }
        if let Some(p) = &self.prune {
            if !(p.sparsity >= 0.0 && p.sparsity < 1.0) {
                return Err((
                    "prune",
                    format!(
                        "training prune sparsity ({}) must be at least 0 and below 1",
                        p.sparsity
                    ),
                ));
            }
            if !self.inq.is_empty() {
                return Err((
                    "prune",
                    "training prune cannot be combined with inq (a frozen weight cannot be \
                     pruned)"
                        .into(),
                ));
            }
        }
        if let Some(c) = &self.channels {
            if !(c.keep > 0.0 && c.keep <= 1.0) {
                return Err((
                    "channels",
                    format!(
                        "training channels keep ({}) must be above 0 and at most 1",
                        c.keep
                    ),
                ));
            }
            if !(c.penalty.is_finite() && c.penalty >= 0.0) {
                return Err((
                    "channels",
                    format!(
                        "training channels penalty ({}) must be finite and at least 0",
                        c.penalty
                    ),
                ));
            }
            if !(c.gate_lr.is_finite() && c.gate_lr > 0.0 && c.gate_lr <= 1.0) {
                return Err((
                    "channels",
                    format!(
                        "training channels gate_lr ({}) must be finite, positive and at most 1",
                        c.gate_lr
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Whether every knob has its default value.
    pub fn is_default(&self) -> bool {
        *self == TrainingSpec::default()
    }

    /// The learning rate of clipping thresholds.
    pub fn clipping_lr(&self) -> f32 {
        self.clipping_lr.unwrap_or(self.lr)
    }
}

/// The 0-based stage of 1-based `epoch` of `epochs` split into `stages` equal stages: the
/// stage in which `epoch · stages / epochs` ends, `⌈epoch · stages / epochs⌉ − 1`, so the first
/// epoch is in stage 0 and the last in the last stage (with fewer epochs than stages, some
/// stages get none).
pub fn stage(epoch: usize, epochs: usize, stages: usize) -> usize {
    if stages == 0 || epochs == 0 {
        return 0;
    }
    ((epoch * stages).div_ceil(epochs)).clamp(1, stages) - 1
}

/// `∂q/∂v` of a quantizer whose range ends at `±limit` (the largest level times the step).
pub fn ste_pass(ste: Ste, v: f64, limit: f64) -> f64 {
    match ste {
        Ste::Identity => 1.0,
        Ste::Clipped => f64::from(u8::from(v.abs() <= limit)),
    }
}

/// `∂q/∂v` of a sign quantizer with the hard-tanh STE: 1 for `|v| ≤ 1`, else 0.
pub fn hard_tanh_pass(v: f64) -> f64 {
    f64::from(u8::from(v.abs() <= 1.0))
}

/// LSQ's `∂q/∂s` for `q = s · level` with `level = clamp(round(v/s), lo, hi)`: `level − v/s`
/// inside the range, `lo` below it, `hi` above it.
pub fn lsq_step_grad(v: f64, s: f64, level: i64, lo: i64, hi: i64) -> f64 {
    let r = v / s;
    if r <= lo as f64 {
        lo as f64
    } else if r >= hi as f64 {
        hi as f64
    } else {
        level as f64 - r
    }
}

/// LSQ's gradient scale `1/√(n · hi)` for a step shared by `n` values with largest level `hi`.
pub fn lsq_grad_scale(n: usize, hi: i64) -> f64 {
    1.0 / ((n.max(1) as f64) * (hi.max(1) as f64)).sqrt()
}

/// PACT's `∂y/∂α` for `y = clip(v, 0, α)`: 1 where `v ≥ α`, else 0.
pub fn pact_clip_grad(v: f64, alpha: f64) -> f64 {
    f64::from(u8::from(v >= alpha))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ste_variants_by_hand() {
        assert_eq!(ste_pass(Ste::Identity, 9.0, 1.0), 1.0);
        assert_eq!(ste_pass(Ste::Clipped, 1.0, 1.0), 1.0);
        assert_eq!(ste_pass(Ste::Clipped, -1.01, 1.0), 0.0);
        assert_eq!(hard_tanh_pass(-0.99), 1.0);
        assert_eq!(hard_tanh_pass(1.5), 0.0);
    }

    #[test]
    fn lsq_gradient_by_hand() {
        // s = 0.5, levels -3..=3 (3-bit narrow)
        // v = 0.6: v/s = 1.2 -> level 1, grad 1 - 1.2 = -0.2
        assert!((lsq_step_grad(0.6, 0.5, 1, -3, 3) + 0.2).abs() < 1e-12);
        // v = 0.9: v/s = 1.8 -> level 2, grad 0.2
        assert!((lsq_step_grad(0.9, 0.5, 2, -3, 3) - 0.2).abs() < 1e-12);
        // v = -4: below the range, grad lo = -3
        assert_eq!(lsq_step_grad(-4.0, 0.5, -3, -3, 3), -3.0);
        // v = 0 in an unsigned range [0, 15]: at the bound, grad lo = 0
        assert_eq!(lsq_step_grad(-1.0, 0.5, 0, 0, 15), 0.0);
        // 1 / sqrt(64 * 7)
        assert!((lsq_grad_scale(64, 7) - 0.047_245_559_126_153_4).abs() < 1e-15);
    }

    #[test]
    fn training_spec_defaults_and_checks() {
        let t: TrainingSpec = ron::from_str("()").unwrap();
        assert_eq!(t, TrainingSpec::default());
        assert_eq!(t.clipping_lr(), 1e-3);
        let bad = TrainingSpec {
            lr: f32::NAN,
            ..TrainingSpec::default()
        };
        assert!(bad.check().unwrap_err().1.contains("lr (NaN)"));
        assert!(ron::from_str::<TrainingSpec>("(stee: clipped)").is_err());
        assert_eq!(LrSchedule::Cosine.factor(0, 10), 1.0);
        assert!((LrSchedule::Cosine.factor(5, 10) - 0.5).abs() < 1e-15);
        assert!(LrSchedule::Cosine.factor(10, 10).abs() < 1e-15);
        assert_eq!(LrSchedule::Constant.factor(7, 10), 1.0);
        let t: TrainingSpec = ron::from_str("(progressive: [8, 6])").unwrap();
        assert_eq!(t.progressive, [8, 6]);
        t.check().unwrap();
        let bad = |text: &str| {
            let t: TrainingSpec = ron::from_str(text).unwrap();
            let (field, message) = t.check().unwrap_err();
            format!("{field}: {message}")
        };
        assert_eq!(
            bad("(progressive: [8, 17])"),
            "progressive: training progressive width (17) must be between 2 and 16"
        );
        assert_eq!(
            bad("(progressive: [6, 8])"),
            "progressive: training progressive widths must decrease (6 is followed by 8)"
        );
        let t: TrainingSpec = ron::from_str("(inq: [0.5, 0.75, 0.875, 1.0])").unwrap();
        t.check().unwrap();
        assert_eq!(
            bad("(inq: [0.0, 1.0])"),
            "inq: training inq fraction (0) must be above 0 and at most 1"
        );
        assert_eq!(
            bad("(inq: [0.5, 0.5, 1.0])"),
            "inq: training inq fractions must increase (0.5 is followed by 0.5)"
        );
        assert_eq!(
            bad("(inq: [0.5, 0.9])"),
            "inq: training inq must end with 1 (every weight quantized), not 0.9"
        );
        // an empty list is the default and is not written
        assert!(!ron::to_string(&TrainingSpec::default())
            .unwrap()
            .contains("progressive"));
    }

    #[test]
    fn pruning_knobs_parse_check_and_ramp() {
        // as in a quantization spec file, optional sections written as themselves
        let parse = |text: &str| crate::position::ron_options().from_str::<TrainingSpec>(text);
        let t =
            parse("(prune: (sparsity: 0.5), channels: (keep: 0.25, method: magnitude))").unwrap();
        t.check().unwrap();
        let p = t.prune.unwrap();
        assert_eq!((p.sparsity, p.schedule), (0.5, PruneSchedule::Gradual));
        let c = t.channels.unwrap();
        assert_eq!(
            (c.keep, c.method, c.penalty),
            (0.25, ChannelMethod::Magnitude, 1e-3)
        );
        assert_eq!(c.kept_of(32), 8);
        assert_eq!(c.kept_of(3), 1);
        let bad = |text: &str| parse(text).unwrap().check().unwrap_err().1;
        assert_eq!(
            bad("(prune: (sparsity: 1.0))"),
            "training prune sparsity (1) must be at least 0 and below 1"
        );
        assert_eq!(
            bad("(channels: (keep: 0.0))"),
            "training channels keep (0) must be above 0 and at most 1"
        );
        assert!(bad("(prune: (sparsity: 0.5), inq: [1.0])").contains("cannot be combined"));
        assert!(
            ron::from_str::<TrainingSpec>("(prune: (sparsity: 0.5, shedule: one_shot))").is_err()
        );
        // the cubic ramp by hand over 10 epochs (R = 5): 1 − (1 − e/5)³
        let s: Vec<f64> = (1..=10).map(|e| gradual_sparsity(0.8, e, 10)).collect();
        assert!((s[0] - 0.8 * (1.0 - 0.8f64.powi(3))).abs() < 1e-12);
        assert!((s[1] - 0.8 * (1.0 - 0.6f64.powi(3))).abs() < 1e-12);
        assert!(s[4..].iter().all(|&v| v == 0.8));
    }

    #[test]
    fn stages_split_the_epochs_evenly_and_end_in_the_last() {
        let of = |epochs, stages| {
            (1..=epochs)
                .map(|e| stage(e, epochs, stages))
                .collect::<Vec<_>>()
        };
        assert_eq!(of(10, 3), [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]);
        assert_eq!(of(6, 3), [0, 0, 1, 1, 2, 2]);
        assert_eq!(of(4, 4), [0, 1, 2, 3]);
        assert_eq!(of(2, 4), [1, 3]);
        assert_eq!(of(3, 1), [0, 0, 0]);
    }
}
