//! Analytic area models of hardware units, fitted to synthesis results, and the FINN-R baseline.
//!
//! A unit kind (`mac`, `pot`, `apot`, `xnor`, ...) has a [`FeatureSet`]: features computed from
//! the unit's parameters (`a_bits`, `w_bits`, `exp_bits`, `acc_bits`, ...). Its LUT, FF and
//! carry counts are modelled as linear combinations of those features; [`AreaModel::fit`]
//! finds the coefficients from [`AreaSample`]s (parameters plus measured Yosys counts) by
//! non-negative least squares, since no feature of a unit can save area. Feature sets are data
//! (written into the coefficients file), so a new unit kind needs no code here.
//!
//! The coefficients file is RON, versioned ([`COEFFICIENTS_VERSION`]):
//!
//! ```ron
//! (
//!     version: 1,
//!     source: "yosys 0.23 synth_ice40",
//!     kinds: {
//!         "mac": (
//!             features: [
//!                 (name: "a_bits*w_bits", expr: product(param("a_bits"), param("w_bits"))),
//!                 (name: "a_bits+w_bits", expr: sum(param("a_bits"), param("w_bits"))),
//!                 (name: "acc_bits", expr: param("acc_bits")),
//!                 (name: "1", expr: one),
//!             ],
//!             luts: [4.1, 1.5, 1.0, 3.0],
//!             ffs: [0.0, 0.0, 1.0, 1.0],
//!             carries: [0.0, 0.0, 1.0, 0.0],
//!             samples: 24,
//!         ),
//!     },
//! )
//! ```
//!
//! [`error_report`] gives, per unit kind and resource, the median and worst relative error of
//! any estimator against samples; [`finn_r_luts`] is the FINN-R LUT estimate, the baseline a
//! fitted model should beat.
//!
//! ```
//! use qforge::explore::area_model::{default_feature_sets, AreaModel, AreaSample};
//! // Synthetic samples of a "mac" lane with LUTs = 3·a·w + 2·(a+w) + 1·acc + 10.
//! let mut samples = Vec::new();
//! for a in [2.0, 4.0, 8.0] { for w in [2.0, 3.0, 8.0] { for acc in [12.0, 20.0] {
//!     let s = AreaSample::new("mac", &[("a_bits", a), ("w_bits", w), ("acc_bits", acc)],
//!         3.0 * a * w + 2.0 * (a + w) + acc + 10.0, acc, acc);
//!     samples.push(s);
//! }}}
//! let model = AreaModel::fit(&default_feature_sets(), &samples, "synthetic").unwrap();
//! let luts = &model.kinds["mac"].luts;
//! assert!((luts[0] - 3.0).abs() < 1e-6 && (luts[3] - 10.0).abs() < 1e-6);
//! ```

use crate::explore::error::{ExploreError, Result};
use crate::explore::fit::nonnegative_least_squares;
use crate::position::{locate_nearest, ValuePath};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// The coefficients file format version this qforge writes and reads.
pub const COEFFICIENTS_VERSION: u32 = 1;

/// A feature of a unit's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum FeatureExpr {
    /// The constant 1 (the intercept).
    One,
    /// A parameter's value.
    Param(String),
    /// The product of two features.
    Product(Box<FeatureExpr>, Box<FeatureExpr>),
    /// The sum of two features.
    Sum(Box<FeatureExpr>, Box<FeatureExpr>),
    /// 2 to the power of a feature.
    Pow2(Box<FeatureExpr>),
}

impl FeatureExpr {
    /// Evaluates the feature; a parameter the sample lacks is an error naming it.
    pub fn eval(&self, params: &BTreeMap<String, f64>) -> Result<f64> {
        Ok(match self {
            FeatureExpr::One => 1.0,
            FeatureExpr::Param(name) => *params.get(name).ok_or_else(|| {
                ExploreError::Fit(format!("parameter `{name}` missing from a sample"))
            })?,
            FeatureExpr::Product(a, b) => a.eval(params)? * b.eval(params)?,
            FeatureExpr::Sum(a, b) => a.eval(params)? + b.eval(params)?,
            FeatureExpr::Pow2(a) => a.eval(params)?.exp2(),
        })
    }
}

fn p(name: &str) -> FeatureExpr {
    FeatureExpr::Param(name.to_string())
}

fn product(a: FeatureExpr, b: FeatureExpr) -> FeatureExpr {
    FeatureExpr::Product(Box::new(a), Box::new(b))
}

fn sum(a: FeatureExpr, b: FeatureExpr) -> FeatureExpr {
    FeatureExpr::Sum(Box::new(a), Box::new(b))
}

/// A named feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feature {
    /// Name shown in reports, e.g. `a_bits*w_bits`.
    pub name: String,
    /// How it is computed.
    pub expr: FeatureExpr,
}

impl Feature {
    /// A feature from a name and an expression.
    pub fn new(name: &str, expr: FeatureExpr) -> Feature {
        Feature {
            name: name.to_string(),
            expr,
        }
    }
}

/// The features of one unit kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSet {
    /// Unit kind, matching [`AreaSample::kind`].
    pub kind: String,
    /// The features, in coefficient order.
    pub features: Vec<Feature>,
}

/// Feature sets of the lane kinds in DESIGN.md §4, each from how its hardware grows:
///
/// - `mac` (multiplier lane): partial products `a_bits·w_bits`, the final adder
///   `a_bits + w_bits`, the accumulator `acc_bits`, and a constant;
/// - `pot` (shift lane): a barrel shifter of `exp_bits` mux levels over `a_bits`
///   (`a_bits·exp_bits`), the negate-and-accumulate adder `acc_bits`, a constant;
/// - `apot` (k shifters and an adder): `terms·a_bits·exp_bits`, `terms·acc_bits`, a constant;
/// - `xnor` (XNOR-popcount over `simd` lanes): `simd`, `acc_bits`, a constant.
pub fn default_feature_sets() -> Vec<FeatureSet> {
    let one = || Feature::new("1", FeatureExpr::One);
    vec![
        FeatureSet {
            kind: "mac".into(),
            features: vec![
                Feature::new("a_bits*w_bits", product(p("a_bits"), p("w_bits"))),
                Feature::new("a_bits+w_bits", sum(p("a_bits"), p("w_bits"))),
                Feature::new("acc_bits", p("acc_bits")),
                one(),
            ],
        },
        FeatureSet {
            kind: "pot".into(),
            features: vec![
                Feature::new("a_bits*exp_bits", product(p("a_bits"), p("exp_bits"))),
                Feature::new("acc_bits", p("acc_bits")),
                one(),
            ],
        },
        FeatureSet {
            kind: "apot".into(),
            features: vec![
                Feature::new(
                    "terms*a_bits*exp_bits",
                    product(p("terms"), product(p("a_bits"), p("exp_bits"))),
                ),
                Feature::new("terms*acc_bits", product(p("terms"), p("acc_bits"))),
                one(),
            ],
        },
        FeatureSet {
            kind: "xnor".into(),
            features: vec![
                Feature::new("simd", p("simd")),
                Feature::new("acc_bits", p("acc_bits")),
                one(),
            ],
        },
    ]
}

/// One synthesis measurement of a unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaSample {
    /// Unit kind.
    pub kind: String,
    /// The unit's parameters by name.
    pub params: BTreeMap<String, f64>,
    /// Measured LUTs.
    pub luts: f64,
    /// Measured flip-flops.
    pub ffs: f64,
    /// Measured carry cells.
    pub carries: f64,
    /// Measured DSP blocks (0 on families or designs without them).
    #[serde(default)]
    pub dsps: f64,
}

impl AreaSample {
    /// A sample from a kind, `(name, value)` parameters and the measured counts.
    pub fn new(
        kind: &str,
        params: &[(&str, f64)],
        luts: f64,
        ffs: f64,
        carries: f64,
    ) -> AreaSample {
        AreaSample {
            kind: kind.to_string(),
            params: params.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            luts,
            ffs,
            carries,
            dsps: 0.0,
        }
    }
}

/// A unit's estimated or measured cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnitCost {
    /// LUTs.
    pub luts: f64,
    /// Flip-flops.
    pub ffs: f64,
    /// Carry cells.
    pub carries: f64,
    /// DSP blocks.
    pub dsps: f64,
}

/// The fitted coefficients of one unit kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindModel {
    /// The features, in coefficient order.
    pub features: Vec<Feature>,
    /// LUT coefficients.
    pub luts: Vec<f64>,
    /// FF coefficients.
    pub ffs: Vec<f64>,
    /// Carry coefficients.
    pub carries: Vec<f64>,
    /// DSP coefficients (empty in files fitted without DSP counts: no DSPs).
    #[serde(default)]
    pub dsps: Vec<f64>,
    /// Number of samples fitted.
    pub samples: usize,
}

impl KindModel {
    /// Estimates a unit of this kind.
    pub fn predict(&self, params: &BTreeMap<String, f64>) -> Result<UnitCost> {
        let x: Vec<f64> = self
            .features
            .iter()
            .map(|f| f.expr.eval(params))
            .collect::<Result<_>>()?;
        let dot = |c: &[f64]| c.iter().zip(&x).map(|(a, b)| a * b).sum::<f64>();
        Ok(UnitCost {
            luts: dot(&self.luts),
            ffs: dot(&self.ffs),
            carries: dot(&self.carries),
            dsps: dot(&self.dsps),
        })
    }
}

/// Fitted area models of several unit kinds: the coefficients file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaModel {
    /// Format version ([`COEFFICIENTS_VERSION`]).
    pub version: u32,
    /// Where the samples came from (tool, version, flow), e.g. `yosys 0.23 synth_ice40`.
    pub source: String,
    /// Per unit kind.
    pub kinds: BTreeMap<String, KindModel>,
    /// The measurements the coefficients were fitted to, kept so the error report (against the
    /// fitted model and the FINN-R baseline) can be reproduced from the file alone.
    #[serde(default)]
    pub measurements: Vec<AreaSample>,
}

impl AreaModel {
    /// Fits every kind of `sets` that has samples (kinds without samples are left out; samples
    /// of a kind without a feature set are an error). Coefficients are non-negative.
    pub fn fit(sets: &[FeatureSet], samples: &[AreaSample], source: &str) -> Result<AreaModel> {
        if let Some(s) = samples
            .iter()
            .find(|s| !sets.iter().any(|f| f.kind == s.kind))
        {
            return Err(ExploreError::Fit(format!(
                "unit kind `{}` has samples but no feature set",
                s.kind
            )));
        }
        let mut kinds = BTreeMap::new();
        for set in sets {
            let mine: Vec<&AreaSample> = samples.iter().filter(|s| s.kind == set.kind).collect();
            if mine.is_empty() {
                continue;
            }
            let rows: Vec<Vec<f64>> = mine
                .iter()
                .map(|s| {
                    set.features
                        .iter()
                        .map(|f| f.expr.eval(&s.params))
                        .collect()
                })
                .collect::<Result<_>>()?;
            let fit = |target: fn(&AreaSample) -> f64| -> Result<Vec<f64>> {
                let b: Vec<f64> = mine.iter().map(|s| target(s)).collect();
                nonnegative_least_squares(&rows, &b)
                    .map_err(|e| ExploreError::Fit(format!("kind `{}`: {e}", set.kind)))
            };
            kinds.insert(
                set.kind.clone(),
                KindModel {
                    features: set.features.clone(),
                    luts: fit(|s| s.luts)?,
                    ffs: fit(|s| s.ffs)?,
                    carries: fit(|s| s.carries)?,
                    dsps: if mine.iter().any(|s| s.dsps > 0.0) {
                        fit(|s| s.dsps)?
                    } else {
                        Vec::new()
                    },
                    samples: mine.len(),
                },
            );
        }
        Ok(AreaModel {
            version: COEFFICIENTS_VERSION,
            source: source.to_string(),
            kinds,
            measurements: samples.to_vec(),
        })
    }

    /// Estimates a unit; an unknown kind or a missing parameter is an error.
    pub fn predict(&self, kind: &str, params: &BTreeMap<String, f64>) -> Result<UnitCost> {
        self.kinds
            .get(kind)
            .ok_or_else(|| ExploreError::Fit(format!("no coefficients for unit kind `{kind}`")))?
            .predict(params)
    }

    /// The coefficients file text (pretty RON).
    pub fn to_ron(&self) -> String {
        ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::default()).unwrap_or_default()
    }

    /// Parses a coefficients file; `file` names it in errors (`file:line:col: message`).
    pub fn from_ron(text: &str, file: &str) -> Result<AreaModel> {
        let model: AreaModel = ron::from_str(text).map_err(|e| ExploreError::SweepFile {
            file: file.to_string(),
            line: e.span.start.line,
            col: e.span.start.col,
            message: e.code.to_string(),
        })?;
        let at = |path: ValuePath, message: String| {
            let (line, col) = locate_nearest(text, &path);
            ExploreError::SweepFile {
                file: file.to_string(),
                line,
                col,
                message,
            }
        };
        if model.version != COEFFICIENTS_VERSION {
            return Err(at(
                ValuePath::field("version"),
                format!(
                    "coefficients file version {} is not the version this qforge reads ({COEFFICIENTS_VERSION})",
                    model.version
                ),
            ));
        }
        for (kind, m) in &model.kinds {
            let n = m.features.len();
            let lists = [
                ("luts", m.luts.len()),
                ("ffs", m.ffs.len()),
                ("carries", m.carries.len()),
                ("dsps", if m.dsps.is_empty() { n } else { m.dsps.len() }),
            ];
            if let Some((name, len)) = lists.into_iter().find(|&(_, len)| len != n) {
                return Err(at(
                    ValuePath::field("kinds")
                        .key(kind.as_str())
                        .then_field(name),
                    format!("kind `{kind}` has {n} features but {len} {name} coefficients"),
                ));
            }
            let values = m.luts.iter().chain(&m.ffs).chain(&m.carries).chain(&m.dsps);
            if let Some(v) = values.copied().find(|v: &f64| !v.is_finite()) {
                return Err(at(
                    ValuePath::field("kinds").key(kind.as_str()),
                    format!("kind `{kind}` has a coefficient {v}: coefficients must be finite"),
                ));
            }
        }
        Ok(model)
    }

    /// Writes the coefficients file atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::explore::results::write_atomic(path, self.to_ron().as_bytes())
    }

    /// Reads a coefficients file.
    pub fn load(path: &Path) -> Result<AreaModel> {
        let text = std::fs::read_to_string(path).map_err(|e| ExploreError::io(path, e))?;
        AreaModel::from_ron(&text, &path.display().to_string())
    }
}

/// A resource an error report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resource {
    /// LUTs.
    Luts,
    /// Flip-flops.
    Ffs,
    /// Carry cells.
    Carries,
    /// DSP blocks.
    Dsps,
}

impl Resource {
    fn of(self, c: UnitCost) -> f64 {
        match self {
            Resource::Luts => c.luts,
            Resource::Ffs => c.ffs,
            Resource::Carries => c.carries,
            Resource::Dsps => c.dsps,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Resource::Luts => "luts",
            Resource::Ffs => "ffs",
            Resource::Carries => "carries",
            Resource::Dsps => "dsps",
        }
    }
}

/// Errors of one estimator on one unit kind and resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorLine {
    /// Unit kind.
    pub kind: String,
    /// Resource.
    pub resource: Resource,
    /// Samples compared.
    pub samples: usize,
    /// Median of |estimate − measured| / max(measured, 1).
    pub median_relative: f64,
    /// Worst relative error.
    pub worst_relative: f64,
    /// Index (into the samples given) of the worst sample.
    pub worst_sample: usize,
}

/// An estimator's errors against samples, per kind and resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorReport {
    /// What was compared, e.g. `fitted model` or `FINN-R`.
    pub estimator: String,
    /// One line per kind and resource, sorted by kind then resource.
    pub lines: Vec<ErrorLine>,
}

impl fmt::Display for ErrorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} against measured counts", self.estimator)?;
        writeln!(
            f,
            "{:<10} {:<8} {:>7} {:>10} {:>10} {:>6}",
            "kind", "resource", "samples", "median", "worst", "at"
        )?;
        for l in &self.lines {
            writeln!(
                f,
                "{:<10} {:<8} {:>7} {:>9.1}% {:>9.1}% {:>6}",
                l.kind,
                l.resource.name(),
                l.samples,
                100.0 * l.median_relative,
                100.0 * l.worst_relative,
                l.worst_sample
            )?;
        }
        Ok(())
    }
}

/// Compares an estimator with the measured counts of `samples` on `resources`. The relative
/// error divides by max(measured, 1) so a zero measurement does not divide by zero.
pub fn error_report(
    estimator: &str,
    samples: &[AreaSample],
    resources: &[Resource],
    estimate: impl Fn(&AreaSample) -> Result<UnitCost>,
) -> Result<ErrorReport> {
    let mut errors: BTreeMap<(String, Resource), Vec<(f64, usize)>> = BTreeMap::new();
    for (i, s) in samples.iter().enumerate() {
        let est = estimate(s)?;
        let measured = UnitCost {
            luts: s.luts,
            ffs: s.ffs,
            carries: s.carries,
            dsps: s.dsps,
        };
        for &r in resources {
            let rel = (r.of(est) - r.of(measured)).abs() / r.of(measured).max(1.0);
            errors
                .entry((s.kind.clone(), r))
                .or_default()
                .push((rel, i));
        }
    }
    let lines = errors
        .into_iter()
        .map(|((kind, resource), mut e)| {
            e.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let n = e.len();
            let median = if n % 2 == 1 {
                e[n / 2].0
            } else {
                (e[n / 2 - 1].0 + e[n / 2].0) / 2.0
            };
            let worst = e[n - 1];
            ErrorLine {
                kind,
                resource,
                samples: n,
                median_relative: median,
                worst_relative: worst.0,
                worst_sample: worst.1,
            }
        })
        .collect();
    Ok(ErrorReport {
        estimator: estimator.to_string(),
        lines,
    })
}

/// The error report of a fitted model on samples (LUTs, FFs and carries, and DSPs when any
/// sample has one).
pub fn model_report(model: &AreaModel, samples: &[AreaSample]) -> Result<ErrorReport> {
    let mut resources = vec![Resource::Luts, Resource::Ffs, Resource::Carries];
    if samples.iter().any(|s| s.dsps > 0.0) {
        resources.push(Resource::Dsps);
    }
    error_report("fitted model", samples, &resources, |s| {
        model.predict(&s.kind, &s.params)
    })
}

/// The parameters of the FINN-R LUT estimate of one matrix-vector unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FinnRParams {
    /// Processing elements (output lanes), P.
    pub pe: f64,
    /// SIMD lanes per PE, Q.
    pub simd: f64,
    /// Weight width W.
    pub w_bits: f64,
    /// Activation width A.
    pub a_bits: f64,
    /// Accumulator width.
    pub acc_bits: f64,
}

/// FINN-R's overhead constant c0 (LUTs per MVU).
pub const FINN_R_C0: f64 = 300.0;
/// FINN-R's scale constant c1.
pub const FINN_R_C1: f64 = 1.1;

/// The FINN-R LUT estimate of an MVU built in LUTs (no DSPs, weights not in LUTRAM, no
/// thresholds):
///
/// LUT ≈ c0 + c1 · P · ( Q·(2·⌈(W+A)/6⌉ − 1)·(W+A)  +  (W+A)·(2Q − 1)  +  acc_bits )
///
/// with c0 = 300 and c1 = 1.1: the multipliers (per SIMD lane), the adder tree over Q products
/// and the accumulator, per PE. Source: M. Blott, T. B. Preusser, N. J. Fraser, G. Gambardella,
/// K. O'Brien, Y. Umuroglu, M. Leeser, K. Vissers, "FINN-R: An End-to-End Deep-Learning
/// Framework for Fast Exploration of Quantized Neural Networks", ACM TRETS 11(3), 2018
/// (arXiv:1809.04570), whose resource model fixes c0 = 300 and c1 = 1.1; the multiplier and
/// adder-tree terms are those of the FINN compiler's `MatrixVectorActivation.lut_estimation`,
/// which implements that model (the original binarized form is c0 + c1·P·Q·W·A).
pub fn finn_r_luts(p: FinnRParams) -> f64 {
    let wa = p.w_bits + p.a_bits;
    let multipliers = p.simd * (2.0 * (wa / 6.0).ceil() - 1.0) * wa;
    let adder_tree = wa * (2.0 * p.simd - 1.0);
    FINN_R_C0 + FINN_R_C1 * p.pe * (multipliers + adder_tree + p.acc_bits)
}

/// The FINN-R parameters of a sample: `pe`, `simd`, `w_bits`, `a_bits`, `acc_bits` must all be
/// present (a single lane is `pe = 1, simd = 1`; a PoT lane gives its code width as `w_bits`).
pub fn finn_r_params(sample: &AreaSample) -> Result<FinnRParams> {
    let get = |name: &str| {
        sample.params.get(name).copied().ok_or_else(|| {
            ExploreError::Fit(format!(
                "FINN-R needs parameter `{name}`, missing from a `{}` sample",
                sample.kind
            ))
        })
    };
    Ok(FinnRParams {
        pe: get("pe")?,
        simd: get("simd")?,
        w_bits: get("w_bits")?,
        a_bits: get("a_bits")?,
        acc_bits: get("acc_bits")?,
    })
}

/// The error report of the FINN-R LUT estimate on samples (LUTs only: FINN-R models no FFs or
/// carries).
pub fn finn_r_report(samples: &[AreaSample]) -> Result<ErrorReport> {
    error_report(
        "FINN-R (c0 = 300, c1 = 1.1)",
        samples,
        &[Resource::Luts],
        |s| {
            Ok(UnitCost {
                luts: finn_r_luts(finn_r_params(s)?),
                ffs: 0.0,
                carries: 0.0,
                dsps: 0.0,
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "(
    version: 1,
    source: \"hand\",
    kinds: {
        \"pe_uniform\": (
            features: [(name: \"one\", expr: one)],
            luts: [3.0],
            ffs: [1.0],
            carries: [0.0],
            samples: 1,
        ),
    },
    measurements: [],
)";

    fn error(from: &str, to: &str) -> String {
        let text = FILE.replacen(from, to, 1);
        assert_ne!(text, FILE);
        AreaModel::from_ron(&text, "area.ron")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn faults_are_reported_at_their_position() {
        AreaModel::from_ron(FILE, "area.ron").unwrap();
        assert_eq!(
            error("version: 1", "version: 7"),
            format!("area.ron:2:14: coefficients file version 7 is not the version this qforge reads ({COEFFICIENTS_VERSION})")
        );
        assert_eq!(
            error("ffs: [1.0]", "ffs: [1.0, 2.0]"),
            "area.ron:8:18: kind `pe_uniform` has 1 features but 2 ffs coefficients"
        );
        let e = error("samples: 1,", "samples: 1, sample: 2,");
        assert!(e.starts_with("area.ron:10:25: "), "{e}");
        assert!(e.contains("`sample`"), "{e}");
    }
}
