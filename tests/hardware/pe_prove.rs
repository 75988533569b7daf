//! Formal equivalence (Yosys SAT, temporal induction): every PE kind against its reference PE
//! of multipliers fed each weight code's level, for all inputs and all cycles; a planted fault
//! gives a counterexample.

use qforge::accel::pe_reference::reference_pe;
use qforge::accel::{Fault, Overflow, PeParams, Unit};
use qforge::hdl::print_module;
use qforge::num::weights::WeightCode;
use qforge::verify::prove::{prove_equal, Proof, ProveOptions};

fn prove(pe: &PeParams, name: &str) -> Proof {
    let dir = scratch!(name);
    let mut sources = Vec::new();
    for m in pe.verilog().unwrap() {
        let f = dir.join(format!("{}.v", m.name));
        std::fs::write(&f, print_module(&m)).unwrap();
        sources.push(f);
    }
    let reference = reference_pe(pe).unwrap();
    prove_equal(&sources, &pe.name(), &reference, &ProveOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Every kind at 4- and 8-bit activations (binary: its ±1 activations), one lane, wrapping and
/// saturating accumulators, unsigned activations, and two lanes for PoT.
#[test]
fn every_pe_kind_equals_its_multiplier_reference() {
    let kinds = [
        WeightCode::uniform(4).unwrap(),
        WeightCode::pot(3, true, true).unwrap(),
        WeightCode::apot(2, 2, true).unwrap(),
        WeightCode::Ternary,
        WeightCode::Binary,
    ];
    let mut cases = Vec::new();
    for kind in &kinds {
        let widths: &[u32] = if *kind == WeightCode::Binary {
            &[1]
        } else {
            &[4, 8]
        };
        for &a in widths {
            cases.push(PeParams::new(kind.clone(), a, true, 1, 20, Overflow::Wrap).unwrap());
        }
    }
    cases.push(PeParams::new(kinds[1].clone(), 4, false, 1, 11, Overflow::Saturate).unwrap());
    cases.push(PeParams::new(kinds[0].clone(), 4, true, 1, 8, Overflow::Wrap).unwrap());
    cases.push(PeParams::new(kinds[1].clone(), 4, true, 2, 12, Overflow::Wrap).unwrap());
    for pe in &cases {
        let proof = prove(pe, &format!("prove_{}", pe.name()));
        assert!(proof.proven, "{}: {:?}", pe.name(), proof.counterexample);
        assert_eq!(proof.steps, Some(1), "{}", pe.name());
    }
}

/// The sign extension of the lane sum reversed in the Verilog only: the proof fails in its base
/// case, and the counterexample names the inputs of each cycle.
#[test]
fn a_planted_fault_gives_a_counterexample() {
    let pe = PeParams::new(
        WeightCode::pot(2, true, true).unwrap(),
        4,
        true,
        2,
        12,
        Overflow::Wrap,
    )
    .unwrap()
    .with_fault(Fault::ReversedSignExtension);
    let proof = prove(&pe, "prove_fault");
    assert!(!proof.proven);
    let table = proof.counterexample.unwrap();
    for signal in [
        "\\in_act",
        "\\in_wgt",
        "\\in_en",
        "\\gate.acc_r",
        "\\gold.acc_r",
    ] {
        assert!(table.contains(signal), "{signal} missing from\n{table}");
    }
}
