//! The PE behaviour model against a plain, independent reference: a dot product of decoded
//! levels in i128 with explicit wrap/saturate and an explicit latency queue, written here
//! without the model's code. No external tools.

use qforge::accel::vectors::{pe_stimulus, Rng};
use qforge::accel::{Overflow, PeArrayParams, PeInputs, PeParams, Unit};
use qforge::num::codes::{binary_level, ternary_level, ApotFormat, PotFormat};
use qforge::num::weights::WeightCode;

/// Decodes a weight code the way the code contract (`num::codes`) defines it.
fn weight_level(kind: &WeightCode, code: u64) -> i128 {
    match kind {
        WeightCode::Uniform { bits } => {
            let w = *bits;
            let c = (code & ((1 << w) - 1)) as i128;
            if c >= 1 << (w - 1) {
                c - (1 << w)
            } else {
                c
            }
        }
        WeightCode::Pot(f) => i128::from(f.level(code)),
        WeightCode::Apot(f) => i128::from(f.level(code)),
        WeightCode::Binary => i128::from(binary_level(code)),
        // The invalid ternary code 10 contributes nothing.
        WeightCode::Ternary => i128::from(ternary_level(code).unwrap_or(0)),
    }
}

fn activation(pe: &PeParams, code: u64) -> i128 {
    if *pe.kind() == WeightCode::Binary {
        return if code & 1 == 1 { 1 } else { -1 };
    }
    let a = pe.a_bits();
    let c = (code & ((1 << a) - 1)) as i128;
    if pe.a_signed() && c >= 1 << (a - 1) {
        c - (1 << a)
    } else {
        c
    }
}

fn fit(value: i128, bits: u32, overflow: Overflow) -> i128 {
    let modulus = 1i128 << bits;
    let (lo, hi) = (-(modulus / 2), modulus / 2 - 1);
    match overflow {
        Overflow::Saturate | Overflow::SaturateEach => value.max(lo).min(hi),
        Overflow::Wrap => {
            let mut v = value % modulus;
            if v < 0 {
                v += modulus;
            }
            if v > hi {
                v - modulus
            } else {
                v
            }
        }
    }
}

/// Expected `acc` output per cycle.
fn reference(pe: &PeParams, inputs: &[PeInputs]) -> Vec<i128> {
    reference_with_acc(pe, inputs, pe.acc_bits())
}

/// The same with another accumulator width.
fn reference_with_acc(pe: &PeParams, inputs: &[PeInputs], acc_bits: u32) -> Vec<i128> {
    let mut acc = 0i128;
    // What the accumulator sees is the inputs delayed by the input stage; the output is the
    // accumulator delayed by the output stage.
    let mut in_stage: Option<PeInputs> = None;
    let mut out_stage = 0i128;
    let mut outs = Vec::new();
    for inp in inputs {
        outs.push(if pe.output_reg() { out_stage } else { acc });
        if inp.rst {
            acc = 0;
            in_stage = None;
            out_stage = 0;
            continue;
        }
        let seen = if pe.input_reg() {
            in_stage.replace(inp.clone())
        } else {
            Some(inp.clone())
        };
        out_stage = acc;
        if let Some(s) = seen {
            if s.en && pe.overflow() == Overflow::SaturateEach {
                // From the start value (read modulo 2^acc_bits) on clear, one product at a
                // time, lane 0 first, clamping after each.
                let mut v = if s.clear {
                    fit(i128::from(s.init[0]), acc_bits, Overflow::Wrap)
                } else {
                    acc
                };
                for i in 0..pe.simd() as usize {
                    let p = activation(pe, s.act[i]) * weight_level(pe.kind(), s.wgt[i]);
                    v = fit(v + p, acc_bits, Overflow::SaturateEach);
                }
                acc = v;
            } else if s.en {
                let mut dot = 0i128;
                for i in 0..pe.simd() as usize {
                    dot += activation(pe, s.act[i]) * weight_level(pe.kind(), s.wgt[i]);
                }
                let start = if s.clear { 0 } else { acc };
                acc = fit(start + dot, acc_bits, pe.overflow());
            }
        }
    }
    outs
}

fn configs() -> Vec<PeParams> {
    let u = |w| WeightCode::uniform(w).unwrap();
    let pot = |e, s, z| WeightCode::Pot(PotFormat::new(e, s, z).unwrap());
    let apot = |b, k, s| WeightCode::Apot(ApotFormat::li2020(b, k, s).unwrap());
    let mk = |k: WeightCode, a, s, simd, acc, o| PeParams::new(k, a, s, simd, acc, o).unwrap();
    vec![
        mk(u(8), 8, true, 4, 24, Overflow::Wrap),
        mk(u(3), 4, false, 8, 9, Overflow::Saturate).with_input_reg(true),
        mk(u(1), 2, true, 1, 3, Overflow::Wrap).with_output_reg(true),
        mk(pot(3, true, true), 8, true, 8, 17, Overflow::Saturate),
        mk(pot(2, false, false), 4, false, 4, 12, Overflow::Wrap)
            .with_input_reg(true)
            .with_output_reg(true),
        mk(apot(2, 2, true), 8, true, 4, 16, Overflow::Saturate),
        mk(apot(1, 3, false), 2, true, 1, 8, Overflow::Wrap),
        mk(WeightCode::Binary, 1, true, 64, 8, Overflow::Wrap),
        mk(WeightCode::Binary, 1, true, 4, 4, Overflow::Saturate).with_output_reg(true),
        mk(WeightCode::Ternary, 16, true, 8, 17, Overflow::Saturate),
        mk(WeightCode::Ternary, 4, false, 4, 6, Overflow::Wrap).with_input_reg(true),
        mk(u(4), 4, true, 4, 9, Overflow::SaturateEach),
        mk(pot(3, true, true), 8, true, 8, 17, Overflow::SaturateEach).with_input_reg(true),
        mk(apot(2, 2, true), 8, true, 3, 16, Overflow::SaturateEach).with_output_reg(true),
        mk(WeightCode::Ternary, 4, false, 8, 6, Overflow::SaturateEach),
    ]
}

#[test]
fn model_matches_independent_reference() {
    for (k, pe) in configs().iter().enumerate() {
        let inputs = pe_stimulus(pe, 30_000, 100 + k as u64);
        let expected = reference(pe, &inputs);
        let mut model = pe.model();
        for (t, (inp, want)) in inputs.iter().zip(&expected).enumerate() {
            let got = model.step_inputs(inp);
            assert_eq!(got, *want, "{}: cycle {t}", pe.name());
        }
    }
}

#[test]
fn narrow_accumulators_really_wrap_and_saturate() {
    // The stimulus must drive the accumulator to its limits, or the overflow modes go untested.
    for pe in configs() {
        let inputs = pe_stimulus(&pe, 30_000, 7);
        let outs = reference(&pe, &inputs);
        let hi = (1i128 << (pe.acc_bits() - 1)) - 1;
        let lo = -(1i128 << (pe.acc_bits() - 1));
        match pe.overflow() {
            Overflow::Saturate | Overflow::SaturateEach => {
                assert!(outs.contains(&hi), "{}: never saturates high", pe.name());
                assert!(outs.contains(&lo), "{}: never saturates low", pe.name());
            }
            Overflow::Wrap => {
                let wide = reference_with_acc(&pe, &inputs, 120);
                assert!(outs != wide, "{}: never wraps", pe.name());
            }
        }
    }
}

#[test]
fn array_rows_equal_single_pes() {
    let row = PeParams::new(
        WeightCode::Pot(PotFormat::new(3, true, true).unwrap()),
        8,
        true,
        4,
        15,
        Overflow::Saturate,
    )
    .unwrap();
    let array = PeArrayParams::new(row.clone(), 3).unwrap();
    let mut rng = Rng::new(5);
    let inputs: Vec<PeInputs> = (0..5000)
        .map(|t| PeInputs {
            rst: t < 2,
            en: rng.chance(9, 10),
            clear: rng.chance(1, 20),
            act: (0..4).map(|_| rng.below(256)).collect(),
            wgt: (0..12).map(|_| rng.below(16)).collect(),
            init: Vec::new(),
        })
        .collect();
    for r in 0..3 {
        let rows: Vec<PeInputs> = inputs
            .iter()
            .map(|i| PeInputs {
                wgt: i.wgt[r * 4..r * 4 + 4].to_vec(),
                ..i.clone()
            })
            .collect();
        let want = reference(&row, &rows);
        let mut m = array.model();
        for (t, i) in inputs.iter().enumerate() {
            assert_eq!(m.step_inputs(i)[r], want[t], "row {r} cycle {t}");
        }
    }
}

#[test]
fn invalid_configurations_are_rejected_with_the_rule() {
    let pot = WeightCode::Pot(PotFormat::new(3, true, true).unwrap());
    let err = PeParams::new(pot.clone(), 8, true, 8, 12, Overflow::Wrap).unwrap_err();
    assert_eq!(
        err.to_string(),
        "acc_bits (12) must be between 15 (the width one lane's product needs) and 64"
    );
    assert!(PeParams::new(pot.clone(), 0, true, 8, 20, Overflow::Wrap).is_err());
    assert!(PeParams::new(pot.clone(), 33, true, 8, 60, Overflow::Wrap).is_err());
    assert!(PeParams::new(pot, 8, true, 0, 20, Overflow::Wrap).is_err());
    assert!(
        PeParams::new(WeightCode::Binary, 8, true, 8, 20, Overflow::Wrap)
            .unwrap_err()
            .to_string()
            .contains("must be 1 for binary")
    );
    assert!(WeightCode::uniform(0).is_err());
    let huge = WeightCode::Pot(PotFormat::new(6, true, false).unwrap());
    assert!(PeParams::new(huge, 8, true, 1, 64, Overflow::Wrap)
        .unwrap_err()
        .to_string()
        .contains("shifts up to 63"));
    let wide = WeightCode::Pot(PotFormat::new(6, true, true).unwrap()); // shifts up to 62
    assert!(PeParams::new(wide, 32, true, 1, 64, Overflow::Wrap).is_err());
    let ok = PeParams::new(WeightCode::Ternary, 8, true, 8, 9, Overflow::Wrap).unwrap();
    assert!(PeArrayParams::new(ok, 0).is_err());
}

#[test]
fn cost_estimates_are_non_zero_and_order_the_kinds() {
    for pe in configs() {
        let c = pe.cost();
        assert!(c.lut > 0 && c.ff > 0 && c.carry > 0, "{}: {c:?}", pe.name());
    }
    let mk = |k: WeightCode| {
        PeParams::new(k, 8, true, 1, 24, Overflow::Wrap)
            .unwrap()
            .cost()
    };
    let uniform = mk(WeightCode::uniform(8).unwrap());
    let pot = mk(WeightCode::Pot(PotFormat::new(3, true, true).unwrap()));
    assert!(pot.lut < uniform.lut, "pot {pot:?} vs uniform {uniform:?}");
    let array = PeArrayParams::new(
        PeParams::new(WeightCode::Ternary, 4, true, 4, 8, Overflow::Wrap).unwrap(),
        4,
    )
    .unwrap();
    assert_eq!(array.cost().lut, 4 * array.row().cost().lut);
}
