//! How a processing element (PE) is described to the fitted area model: its unit kind name and
//! its parameters, and the feature sets the calibration fits for each PE kind.
//!
//! The same description is used when calibrating (PEs synthesized with Yosys become
//! [`AreaSample`](crate::explore::area_model::AreaSample)s) and when a sweep estimates a design (each MVU's PE row is predicted from
//! the coefficients file), so the two cannot disagree about what a parameter means.
//!
//! ```
//! use qforge::accel::{Overflow, PeParams};
//! use qforge::explore::pe_features::pe_unit;
//! use qforge::num::weights::WeightCode;
//! let pe = PeParams::new(WeightCode::uniform(4).unwrap(), 8, false, 2, 14, Overflow::Wrap).unwrap();
//! let (kind, params) = pe_unit(&pe).unwrap();
//! assert_eq!(kind, "pe_uniform");
//! assert_eq!(params["simd"], 2.0);
//! assert_eq!(params["w_bits"], 4.0);
//! ```

use crate::accel::PeParams;
use crate::explore::area_model::{Feature, FeatureExpr, FeatureSet};
use crate::num::weights::WeightCode;
use std::collections::BTreeMap;

/// The area-model kind of a PE (`pe_uniform`, `pe_pot`, `pe_apot`, `pe_ternary`) and its
/// parameters: `pe` (1: one row), `simd`, `a_bits`, `w_bits` (the weight code width),
/// `acc_bits`, `sat` (1 when the accumulator saturates), and per kind `exp_bits` (PoT) or
/// `terms` and `term_bits` (APoT). Binary PEs have no model (`None`): the networks qforge
/// plans never use them; nor have chains of saturating adders
/// ([`Overflow::SaturateEach`](crate::accel::Overflow::SaturateEach)), whose datapath the
/// features (fitted to adder trees) do not describe: their analytic cost stands.
pub fn pe_unit(pe: &PeParams) -> Option<(String, BTreeMap<String, f64>)> {
    if pe.overflow() == crate::accel::Overflow::SaturateEach {
        return None;
    }
    let mut p = BTreeMap::new();
    let mut put = |k: &str, v: u32| {
        p.insert(k.to_string(), f64::from(v));
    };
    put("pe", 1);
    put("simd", pe.simd());
    put("a_bits", pe.a_bits());
    put("w_bits", pe.w_bits());
    put("acc_bits", pe.acc_bits());
    put(
        "sat",
        u32::from(pe.overflow() == crate::accel::Overflow::Saturate),
    );
    let kind = match pe.kind() {
        WeightCode::Uniform { .. } => "pe_uniform",
        WeightCode::Pot(f) => {
            put("exp_bits", f.exp_bits);
            "pe_pot"
        }
        WeightCode::Apot(f) => {
            put("terms", f.shifts.len() as u32);
            put("term_bits", f.term_bits);
            "pe_apot"
        }
        WeightCode::Ternary => "pe_ternary",
        WeightCode::Binary => return None,
    };
    Some((kind.to_string(), p))
}

fn param(name: &str) -> FeatureExpr {
    FeatureExpr::Param(name.to_string())
}

fn mul(a: FeatureExpr, b: FeatureExpr) -> FeatureExpr {
    FeatureExpr::Product(Box::new(a), Box::new(b))
}

fn add(a: FeatureExpr, b: FeatureExpr) -> FeatureExpr {
    FeatureExpr::Sum(Box::new(a), Box::new(b))
}

/// The feature sets of the PE kinds, from how each datapath grows with its parameters:
///
/// - every kind: the adder tree, `simd · (a_bits + w_bits)` (SIMD − 1 adders about a product
///   wide), the accumulator `acc_bits` and a constant (MVUs build wrapping accumulators, so
///   saturation logic is not modelled);
/// - `pe_uniform` adds the multipliers' partial products `simd · a_bits · w_bits`;
/// - `pe_pot` adds the shifters `simd · a_bits · exp_bits` and their output width
///   `simd · 2^exp_bits`;
/// - `pe_apot` adds `simd · terms · a_bits · term_bits` (one shifter per term) and
///   `simd · terms · a_bits` (the term adders);
/// - `pe_ternary` adds the add/subtract/skip lanes `simd · a_bits`.
pub fn pe_feature_sets() -> Vec<FeatureSet> {
    let common = || {
        vec![
            Feature::new(
                "simd*(a_bits+w_bits)",
                mul(param("simd"), add(param("a_bits"), param("w_bits"))),
            ),
            Feature::new("acc_bits", param("acc_bits")),
            Feature::new("1", FeatureExpr::One),
        ]
    };
    let with = |kind: &str, mut own: Vec<Feature>| {
        own.extend(common());
        FeatureSet {
            kind: kind.to_string(),
            features: own,
        }
    };
    vec![
        with(
            "pe_uniform",
            vec![Feature::new(
                "simd*a_bits*w_bits",
                mul(param("simd"), mul(param("a_bits"), param("w_bits"))),
            )],
        ),
        with(
            "pe_pot",
            vec![
                Feature::new(
                    "simd*a_bits*exp_bits",
                    mul(param("simd"), mul(param("a_bits"), param("exp_bits"))),
                ),
                Feature::new(
                    "simd*2^exp_bits",
                    mul(
                        param("simd"),
                        FeatureExpr::Pow2(Box::new(param("exp_bits"))),
                    ),
                ),
            ],
        ),
        with(
            "pe_apot",
            vec![
                Feature::new(
                    "simd*terms*a_bits*term_bits",
                    mul(
                        param("simd"),
                        mul(param("terms"), mul(param("a_bits"), param("term_bits"))),
                    ),
                ),
                Feature::new(
                    "simd*terms*a_bits",
                    mul(param("simd"), mul(param("terms"), param("a_bits"))),
                ),
            ],
        ),
        with(
            "pe_ternary",
            vec![Feature::new(
                "simd*a_bits",
                mul(param("simd"), param("a_bits")),
            )],
        ),
    ]
}
