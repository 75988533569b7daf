//! Verilog snapshots of the stream units and the network top (MVU, FIFO, width converter,
//! network), small configurations each, beside those of `pe_snapshot` (PE, PE array, frame
//! buffer) in `tests/snapshots/`, compared the same way. Update on purpose with
//! `QFORGE_UPDATE_SNAPSHOTS=1 cargo test --test hardware snapshot`.

use crate::pe_snapshot::check;
use qforge::accel::Unit;

/// An MVU of a 4 → 2 dense layer, folded PE 2 × SIMD 2: ternary weights, signed 4-bit inputs,
/// per-channel requantization with ReLU to unsigned 3-bit codes.
#[test]
fn mvu_verilog_matches_snapshot() {
    use qforge::accel::mvu::{MvuLayer, MvuOutput, MvuParams};
    use qforge::num::rounding::RoundingMode;
    use qforge::qnn::{AccOverflow, IntFormat, Requant, WeightCode};
    let requant = Requant {
        multiplier: vec![3, 5],
        shift: vec![4, 5],
        scale_bits: 3,
        rounding: RoundingMode::HalfEven,
        relu: true,
        output: IntFormat::new(3, false).unwrap(),
        output_scale: 1.0,
    };
    let mvu = MvuParams::new(
        MvuLayer {
            layer: 0,
            in_features: 4,
            out_features: 2,
            input: IntFormat::new(4, true).unwrap(),
            weights: &WeightCode::Ternary,
            codes: &[0, 1, 3, 1, 3, 0, 1, 1],
            bias: &[2, -3],
            acc_bits: 8,
            overflow: AccOverflow::Wrap,
            output: MvuOutput::Requant(requant),
        },
        2,
        2,
    )
    .unwrap();
    check(mvu.verilog().unwrap());
}

/// A FIFO of depth 3 of two signed 3-bit codes per transfer.
#[test]
fn fifo_verilog_matches_snapshot() {
    use qforge::accel::fifo::FifoParams;
    use qforge::accel::stream::StreamShape;
    let shape = StreamShape {
        lanes: 2,
        lane_bits: 3,
        signed: true,
    };
    check(FifoParams::new(shape, 3).unwrap().verilog().unwrap());
}

/// Width converters of unsigned 3-bit codes, 2 → 3 lanes per transfer and back.
#[test]
fn width_converter_verilog_matches_snapshot() {
    use qforge::accel::width_converter::WidthConverterParams;
    for (from, to) in [(2, 3), (3, 2)] {
        check(
            WidthConverterParams::new(from, to, 3, false)
                .unwrap()
                .verilog()
                .unwrap(),
        );
    }
}

/// The top of a two-layer network planned with explicit folding (8 → 4 → 3: ternary weights
/// with pure-shift requantization, PE 2 × SIMD 4, then 3-bit uniform weights, PE 1 × SIMD 4,
/// raw accumulators out), with the FIFOs and the width converter the plan puts between the
/// layers; its stages' modules are the units above in other configurations.
#[test]
fn network_top_verilog_matches_snapshot() {
    use qforge::accel::plan::{plan, ArchSpec, FifoDepth, Folding, LayerArch};
    let net = crate::common::tiny_net("snap");
    let fold = |index, pe, simd| LayerArch {
        index,
        pe: Some(pe),
        simd: Some(simd),
        acc_bits: None,
        overflow: None,
        memory: None,
    };
    let arch = ArchSpec {
        folding: Folding::Explicit,
        layers: vec![fold(0, 2, 4), fold(1, 1, 4)],
        fifo_depth: FifoDepth::Auto,
        memory: Default::default(),
    };
    let network = plan(&net, &arch).unwrap().network;
    let kinds: Vec<&str> = network.stages().iter().map(|s| s.kind()).collect();
    assert!(
        kinds.contains(&"fifo") && kinds.contains(&"wc"),
        "{kinds:?}"
    );
    let mut modules = network.verilog().unwrap();
    let top = modules.pop().unwrap();
    check(vec![top]);
}
