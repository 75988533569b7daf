//! Each streaming unit (FIFO, width converter, frame buffer, MVU) on its own: the port-level behaviour model
//! against the Verilator run of its Verilog, every output port compared every cycle, under
//! random valid/ready patterns and data. Many configurations share one replay wrapper (side by
//! side), so one Verilator build covers them.
//!
//! Needs Verilator: without it these tests fail with the one-line "... not found" error.

use qforge::accel::combine::CombineParams;
use qforge::accel::fifo::FifoParams;
use qforge::accel::frame_buffer::{FrameBufferParams, FrameShape, Layout, ReadSequence};
use qforge::accel::memory::{MemoryKind, MemoryParams};
use qforge::accel::mvu::{MvuLayer, MvuOutput, MvuParams, Storage};
use qforge::accel::stream::{pack_lanes, StreamShape};
use qforge::accel::unit::Unit;
use qforge::accel::vectors::{replay_sources, replay_wrapper, Part, Rng};
use qforge::accel::width_converter::WidthConverterParams;
use qforge::accel::{Overflow, PeParams};
use qforge::hdl::{print_module, Bits, Dir};
use qforge::num::codes::{ApotFormat, PotFormat};
use qforge::num::rounding::RoundingMode;
use qforge::qnn::ensemble::Combine;
use qforge::qnn::{AccOverflow, IntFormat, Requant, WeightCode};
use qforge::verify::verilator::{lint, replay, ReplayInput, ReplayOptions};

const CYCLES: usize = 6000;

/// Random stream stimulus for a unit: reset in cycles 0, 1 and once in the middle; `in_valid`
/// and `out_ready` high with the given percentages; random input codes.
fn stimulus<U: Unit>(unit: &U, seed: u64, valid_pct: u64, ready_pct: u64) -> Vec<Vec<Bits>> {
    let ports = unit.ports();
    let width = |n: &str| {
        ports
            .iter()
            .find(|p| p.name == n && p.dir == Dir::Input)
            .map(|p| p.ty.width)
            .unwrap()
    };
    let w = width("in_data");
    let mut rng = Rng::new(seed);
    (0..CYCLES)
        .map(|t| {
            let rst = t < 2 || t == CYCLES / 2;
            let data: Vec<i64> = (0..w.div_ceil(16))
                .map(|_| rng.next_u64() as i64 & 0xffff)
                .collect();
            let mut d = pack_lanes(&data, 16);
            d = d.field(0, w);
            vec![
                Bits::from_i128_wrapping(1, i128::from(rst)),
                d,
                Bits::from_i128_wrapping(1, i128::from(rng.chance(valid_pct, 100))),
                Bits::from_i128_wrapping(1, i128::from(rng.chance(ready_pct, 100))),
            ]
        })
        .collect()
}

fn run(name: &str, parts: Vec<Part>) {
    let (wrapper, trace) = replay_wrapper(&parts).unwrap();
    let modules = replay_sources(&parts, &wrapper);
    let dir = scratch!(name);
    let mut sources = Vec::new();
    for m in &modules {
        let f = dir.join(format!("{}.v", m.name));
        std::fs::write(&f, print_module(m)).unwrap();
        sources.push(f);
    }
    for p in &parts {
        let l = lint(&sources[..sources.len() - 1], &p.top.name).unwrap_or_else(|e| panic!("{e}"));
        assert!(l.warnings.is_empty(), "{}: {:?}", p.top.name, l.warnings);
    }
    let stim = dir.join("stimulus.hex");
    let exp = dir.join("expected.hex");
    trace.write(&stim, &exp).unwrap();
    let input = ReplayInput {
        sources,
        in_width: trace.in_width,
        out_width: trace.out_width,
        cycles: trace.cycles.len() as u64,
        stimulus: stim,
        expected: exp,
    };
    let options = ReplayOptions {
        cache_dir: Some(crate::common::verilator_cache()),
        ..ReplayOptions::default()
    };
    let r = replay(&input, &options).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.mismatches, 0, "{name}: {:?}", r.failure);
    assert_eq!(r.checked, CYCLES as u64 - 1);
}

fn shape(lanes: u32, bits: u32, signed: bool) -> StreamShape {
    StreamShape {
        lanes,
        lane_bits: bits,
        signed,
    }
}

#[test]
fn fifos_match_their_verilog() {
    let mut parts = Vec::new();
    for (k, (depth, lanes, bits, v, r)) in [
        (1, 1, 4, 70, 70),
        (2, 3, 5, 90, 50),
        (3, 2, 4, 50, 90),
        (5, 1, 7, 95, 30),
        (17, 2, 3, 80, 60),
    ]
    .into_iter()
    .enumerate()
    {
        let f = FifoParams::new(shape(lanes, bits, true), depth).unwrap();
        parts.push(Part::from_unit(&f, stimulus(&f, k as u64 + 1, v, r)).unwrap());
    }
    run("units_fifo", parts);
}

#[test]
fn width_converters_match_their_verilog() {
    let mut parts = Vec::new();
    for (k, (i, o, bits, v, r)) in [
        (1, 4, 4, 90, 90),
        (4, 1, 4, 90, 90),
        (3, 2, 5, 70, 70),
        (2, 3, 3, 70, 40),
        (8, 4, 4, 80, 80),
        (4, 8, 6, 60, 95),
        (5, 5, 2, 50, 50),
        (6, 4, 3, 95, 95),
    ]
    .into_iter()
    .enumerate()
    {
        let c = WidthConverterParams::new(i, o, bits, false).unwrap();
        parts.push(Part::from_unit(&c, stimulus(&c, k as u64 + 11, v, r)).unwrap());
    }
    run("units_width_converter", parts);
}

fn frame(channels: u32, height: u32, width: u32, layout: Layout) -> FrameShape {
    FrameShape {
        channels,
        height,
        width,
        layout,
    }
}

/// Frame buffers for the three kinds of read sequence: im2col windows with zero padding (CHW
/// and HWC inputs, stride 1 and 2), max pooling (signed and unsigned codes) and pure
/// reorders, with one and two banks.
#[test]
fn frame_buffers_match_their_verilog() {
    let mut parts = Vec::new();
    let cases = [
        // (sequence, in_lanes, out_lanes, bits, signed, banks, valid %, ready %)
        (
            ReadSequence::im2col(frame(1, 5, 5, Layout::Chw), 3, 3, 1, 1),
            5,
            3,
            4,
            false,
            2,
            80,
            70,
        ),
        (
            ReadSequence::im2col(frame(2, 4, 4, Layout::Hwc), 3, 3, 2, 1),
            2,
            6,
            3,
            true,
            1,
            90,
            60,
        ),
        (
            ReadSequence::max_pool(frame(3, 4, 4, Layout::Hwc), 2, 2, Layout::Chw),
            3,
            2,
            4,
            true,
            2,
            70,
            90,
        ),
        (
            ReadSequence::max_pool(frame(2, 4, 6, Layout::Chw), 2, 2, Layout::Chw),
            4,
            1,
            3,
            false,
            1,
            95,
            50,
        ),
        (
            ReadSequence::reorder(frame(4, 3, 3, Layout::Hwc), Layout::Chw),
            4,
            1,
            5,
            false,
            2,
            60,
            95,
        ),
        (
            ReadSequence::reorder(frame(2, 2, 3, Layout::Chw), Layout::Hwc),
            3,
            4,
            4,
            true,
            1,
            85,
            85,
        ),
    ];
    for (k, (seq, i, o, bits, signed, banks, v, r)) in cases.into_iter().enumerate() {
        let f = FrameBufferParams::new(shape(i, bits, signed), o, seq, banks).unwrap();
        parts.push(Part::from_unit(&f, stimulus(&f, k as u64 + 31, v, r)).unwrap());
    }
    run("units_frame_buffer", parts);
}

fn random_codes(rng: &mut Rng, scheme: &WeightCode, n: usize) -> Vec<u64> {
    let valid: Vec<u64> = (0..1u64 << scheme.code_bits())
        .filter(|&c| scheme.level(c).is_some())
        .collect();
    (0..n)
        .map(|_| valid[rng.below(valid.len() as u64) as usize])
        .collect()
}

/// One MVU per rounding mode and weight kind, with per-channel multipliers and shifts (some
/// negative), signed and unsigned inputs, ReLU and plain clamps, raw accumulator outputs.
#[test]
fn mvus_match_their_verilog() {
    run("units_mvu", mvu_parts(Storage::Fabric));
}

/// The same MVUs with their weights and input buffers in block RAM, each read a cycle ahead:
/// the same behaviour model (which knows nothing of the memories) holds every cycle, through
/// stalls and the reset in the middle of the run.
#[test]
fn mvus_with_block_ram_match_their_verilog() {
    let parts = mvu_parts(Storage::BlockRam);
    for p in &parts {
        let text: String = p.modules.iter().map(print_module).collect();
        let name = &p.top.name;
        // (6, 12) is one word of weights and needs no input buffer: a constant and the stream.
        let one_word = name.contains("_p6_s12_");
        assert_eq!(
            text.contains("(* rom_style = \"block\" *)"),
            !one_word,
            "{name}"
        );
        assert_eq!(
            text.contains("(* ram_style = \"block\", no_rw_check *)"),
            !one_word,
            "{name}"
        );
    }
    run("units_mvu_bram", parts);
}

fn mvu_parts(memory: Storage) -> Vec<Part> {
    let mut rng = Rng::new(5);
    let mut parts = Vec::new();
    let kinds = [
        WeightCode::Uniform { bits: 4 },
        WeightCode::Pot(PotFormat::new(2, true, true).unwrap()),
        WeightCode::Apot(ApotFormat::li2020(2, 2, true).unwrap()),
        WeightCode::Ternary,
    ];
    let (mw, mh) = (12usize, 6usize);
    for (k, mode) in RoundingMode::ALL.into_iter().enumerate() {
        let scheme = &kinds[k % kinds.len()];
        let input = IntFormat::new(4 + (k as u32 % 3), k % 2 == 0).unwrap();
        let codes = random_codes(&mut rng, scheme, mw * mh);
        let bias: Vec<i64> = (0..mh).map(|_| rng.below(41) as i64 - 20).collect();
        let req = Requant {
            multiplier: (0..mh).map(|_| 1 + rng.below(200) as i64).collect(),
            shift: (0..mh).map(|j| [5, 7, 6, -1, 0, 4][j]).collect(),
            scale_bits: 8,
            rounding: mode,
            relu: k % 3 == 0,
            output: IntFormat::new(4, k % 4 != 0).unwrap(),
            output_scale: 1.0,
        };
        // Accumulator: the proven width for this input range.
        let levels: Vec<i64> = codes.iter().map(|&c| scheme.level(c).unwrap()).collect();
        let ranges =
            qforge::qnn::accum::output_ranges(&levels, &bias, mw, input.min(), input.max());
        let lo = ranges.iter().map(|r| r.0).min().unwrap();
        let hi = ranges.iter().map(|r| r.1).max().unwrap();
        let acc_bits = qforge::qnn::format::signed_width(lo, hi);
        let output = if k == 9 {
            MvuOutput::Accumulator
        } else {
            MvuOutput::Requant(req)
        };
        let (pe, simd) = [(3, 4), (1, 1), (6, 12), (2, 3), (3, 2)][k % 5];
        let u = MvuParams::new(
            MvuLayer {
                layer: k,
                in_features: mw,
                out_features: mh,
                input,
                weights: scheme,
                codes: &codes,
                bias: &bias,
                acc_bits: acc_bits.max(12),
                overflow: AccOverflow::Wrap,
                output,
            },
            pe,
            simd,
        )
        .unwrap()
        .with_weight_memory(memory)
        .with_input_memory(memory);
        let stim = stimulus(
            &u,
            100 + k as u64,
            60 + (k as u64 * 7) % 40,
            50 + (k as u64 * 13) % 50,
        );
        parts.push(Part::from_unit(&u, stim).unwrap());
    }
    parts
}

/// ROMs and RAMs of several shapes (one-bit words to 70-bit words, 2 to 512 words, depths that
/// are not powers of two) against their Verilog: random read addresses within the words,
/// random writes, writes to the word being read (the read returns the old word) and resets
/// (word 0 is read, writes are ignored, the words are kept).
#[test]
fn memories_match_their_verilog() {
    let mut rng = Rng::new(41);
    let mut parts = Vec::new();
    for (k, (kind, width, depth)) in [
        (MemoryKind::Rom, 1, 2u32),
        (MemoryKind::Rom, 7, 5),
        (MemoryKind::Rom, 24, 256),
        (MemoryKind::Rom, 70, 160),
        (MemoryKind::Ram, 8, 4),
        (MemoryKind::Ram, 5, 33),
        (MemoryKind::Ram, 16, 512),
    ]
    .into_iter()
    .enumerate()
    {
        let init: Vec<Bits> = (0..depth).map(|_| random_bits(&mut rng, width)).collect();
        let mem = MemoryParams::new(kind, width, init).unwrap();
        let aw = mem.addr_bits();
        let stim: Vec<Vec<Bits>> = (0..CYCLES)
            .map(|t| {
                let rst = t < 2 || t == CYCLES / 2;
                let raddr = rng.below(u64::from(depth));
                let mut v = vec![
                    bit(rst),
                    Bits::from_unsigned(aw, u128::from(raddr)).unwrap(),
                ];
                if kind == MemoryKind::Ram {
                    // One write in three at the word being read: the read sees the old word.
                    let waddr = if rng.chance(1, 3) {
                        raddr
                    } else {
                        rng.below(u64::from(depth))
                    };
                    v.push(bit(rng.chance(k as u64 * 10 + 20, 100)));
                    v.push(Bits::from_unsigned(aw, u128::from(waddr)).unwrap());
                    v.push(random_bits(&mut rng, width));
                }
                v
            })
            .collect();
        parts.push(Part::from_unit(&mem, stim).unwrap());
    }
    run("units_memory", parts);
}

fn bit(b: bool) -> Bits {
    Bits::from_i128_wrapping(1, i128::from(b))
}

fn random_bits(rng: &mut Rng, width: u32) -> Bits {
    let limbs: Vec<i64> = (0..width.div_ceil(16))
        .map(|_| rng.next_u64() as i64 & 0xffff)
        .collect();
    pack_lanes(&limbs, 16).field(0, width)
}

/// MVUs whose saturating accumulators are narrower than the proven width: each PE row is a
/// chain of saturating adders starting from its channel's saturated bias. Biases reach beyond
/// the accumulator's range and accumulators are a bit wider than one product, so saturation
/// happens from the start value on and within chunks; several foldings (one and several
/// output groups and input chunks), every weight kind, requantized and raw outputs.
#[test]
fn saturating_mvus_match_their_verilog() {
    let mut rng = Rng::new(17);
    let mut parts = Vec::new();
    let kinds = [
        WeightCode::Uniform { bits: 4 },
        WeightCode::Pot(PotFormat::new(2, true, true).unwrap()),
        WeightCode::Apot(ApotFormat::li2020(2, 2, true).unwrap()),
        WeightCode::Ternary,
    ];
    let (mw, mh) = (12usize, 6usize);
    for (k, (pe, simd)) in [(3, 4), (1, 1), (6, 12), (2, 3), (3, 2), (1, 4)]
        .into_iter()
        .enumerate()
    {
        let scheme = &kinds[k % kinds.len()];
        let input = IntFormat::new(5, k % 2 == 0).unwrap();
        let codes = random_codes(&mut rng, scheme, mw * mh);
        let levels: Vec<i64> = codes.iter().map(|&c| scheme.level(c).unwrap()).collect();
        let ranges =
            qforge::qnn::accum::output_ranges(&levels, &vec![0; mh], mw, input.min(), input.max());
        let lo = ranges.iter().map(|r| r.0).min().unwrap();
        let hi = ranges.iter().map(|r| r.1).max().unwrap();
        let proven = qforge::qnn::format::signed_width(lo, hi);
        // Three bits below the proven width, but at least one lane's product.
        let kind = qforge::accel::mvu::pe_kind_for(scheme, input).unwrap();
        let row = PeParams::new(kind, input.bits, input.signed, simd, 64, Overflow::Wrap).unwrap();
        let acc_bits = (proven - 3).max(row.min_acc_bits());
        assert!(acc_bits < proven);
        let reach = 1i64 << acc_bits;
        let bias: Vec<i64> = (0..mh)
            .map(|_| rng.below(2 * reach as u64 + 1) as i64 - reach)
            .collect();
        let output = if k % 3 == 2 {
            MvuOutput::Accumulator
        } else {
            MvuOutput::Requant(Requant {
                multiplier: (0..mh).map(|_| 1 + rng.below(200) as i64).collect(),
                shift: (0..mh).map(|j| [5, 7, 6, 3, 0, 4][j]).collect(),
                scale_bits: 8,
                rounding: RoundingMode::ALL[k],
                relu: k % 2 == 1,
                output: IntFormat::new(4, k % 4 != 1).unwrap(),
                output_scale: 1.0,
            })
        };
        let layer = |overflow| MvuLayer {
            layer: k,
            in_features: mw,
            out_features: mh,
            input,
            weights: scheme,
            codes: &codes,
            bias: &bias,
            acc_bits,
            overflow,
            output: output.clone(),
        };
        let u = MvuParams::new(layer(AccOverflow::Saturate), pe, simd).unwrap();
        assert!(u.saturates_each_product(), "{}", u.name());
        assert!(u.name().ends_with("_sateach"), "{}", u.name());
        // The same layer wrapping is another unit, with the tile of today's wrapping MVUs.
        let w = MvuParams::new(layer(AccOverflow::Wrap), pe, simd).unwrap();
        assert!(!w.saturates_each_product());
        assert_ne!(u.name(), w.name());
        assert!(u.cost().lut > w.cost().lut, "{}", u.name());
        let stim = stimulus(
            &u,
            300 + k as u64,
            60 + (k as u64 * 7) % 40,
            50 + (k as u64 * 13) % 50,
        );
        parts.push(Part::from_unit(&u, stim).unwrap());
    }
    run("units_mvu_saturating", parts);
}

/// MVUs of binary networks: the threshold unit (sign outputs, one bit per lane: 1 where
/// `acc + bias ≥ 0`) after the XNOR-popcount PE on bipolar inputs (one bit per code, 1 = +1),
/// after binary weights on integer inputs (the ternary add/subtract PE, the codes rewritten) and
/// after uniform weights; raw, requantized and saturating variants. First each unit's batched
/// values against sums computed here from the levels and the decoded inputs, then every unit
/// against its Verilog under random valid/ready patterns.
#[test]
fn binary_network_mvus_match_the_golden_sums_and_their_verilog() {
    let mut rng = Rng::new(23);
    let mut parts = Vec::new();
    let (mw, mh) = (12usize, 6usize);
    let u4 = IntFormat::new(4, false).unwrap();
    let i5 = IntFormat::new(5, true).unwrap();
    let requant = || {
        MvuOutput::Requant(Requant {
            multiplier: vec![3],
            shift: vec![2],
            scale_bits: 4,
            rounding: RoundingMode::HalfEven,
            relu: true,
            output: IntFormat::new(3, false).unwrap(),
            output_scale: 1.0,
        })
    };
    let binary = WeightCode::Binary;
    let uniform = WeightCode::Uniform { bits: 3 };
    // (weights, input, output, pe, simd, narrower than proven with saturation, PE kind)
    let cases: Vec<(&WeightCode, IntFormat, MvuOutput, u32, u32, bool, &str)> = vec![
        (
            &binary,
            IntFormat::BIPOLAR,
            MvuOutput::Sign,
            3,
            4,
            false,
            "binary",
        ),
        (
            &binary,
            IntFormat::BIPOLAR,
            MvuOutput::Sign,
            1,
            1,
            false,
            "binary",
        ),
        (
            &binary,
            IntFormat::BIPOLAR,
            MvuOutput::Accumulator,
            6,
            12,
            false,
            "binary",
        ),
        (&binary, u4, MvuOutput::Sign, 2, 3, false, "ternary"),
        (&binary, i5, MvuOutput::Sign, 3, 2, false, "ternary"),
        (&binary, u4, requant(), 1, 4, false, "ternary"),
        (&binary, i5, MvuOutput::Accumulator, 6, 6, false, "ternary"),
        (&uniform, i5, MvuOutput::Sign, 2, 4, false, "uniform"),
        (&binary, u4, MvuOutput::Sign, 3, 4, true, "ternary"),
    ];
    for (k, (scheme, input, output, pe, simd, narrow, kind)) in cases.into_iter().enumerate() {
        let codes = random_codes(&mut rng, scheme, mw * mh);
        let levels: Vec<i64> = codes.iter().map(|&c| scheme.level(c).unwrap()).collect();
        let bias: Vec<i64> = (0..mh).map(|_| rng.below(13) as i64 - 6).collect();
        let ranges =
            qforge::qnn::accum::output_ranges(&levels, &bias, mw, input.min(), input.max());
        let lo = ranges.iter().map(|r| r.0).min().unwrap();
        let hi = ranges.iter().map(|r| r.1).max().unwrap();
        let proven = qforge::qnn::format::signed_width(lo, hi);
        let (acc_bits, overflow) = if narrow {
            (proven - 2, AccOverflow::Saturate)
        } else {
            (proven, AccOverflow::Wrap)
        };
        let u = MvuParams::new(
            MvuLayer {
                layer: k,
                in_features: mw,
                out_features: mh,
                input,
                weights: scheme,
                codes: &codes,
                bias: &bias,
                acc_bits,
                overflow,
                output: output.clone(),
            },
            pe,
            simd,
        )
        .unwrap();
        assert_eq!(u.kind().name(), kind, "{}", u.name());
        assert_eq!(u.saturates_each_product(), narrow);
        if output == MvuOutput::Sign {
            assert_eq!(u.output_shape().lane_bits, 1);
        }
        // Batched values: stream codes (a bipolar bit, 1 = +1) against sums computed here.
        let bits = if input.is_bipolar() { 1 } else { input.bits };
        let stream: Vec<i64> = (0..20 * mw)
            .map(|_| {
                let c = rng.below(1 << bits) as i64;
                if input.signed && !input.is_bipolar() && c >= 1 << (bits - 1) {
                    c - (1 << bits)
                } else {
                    c
                }
            })
            .collect();
        let got = u.forward(&stream);
        for (v, x) in stream.chunks(mw).enumerate() {
            for c in 0..mh {
                let value = |x: i64| if input.is_bipolar() { 2 * x - 1 } else { x };
                let mut acc = i128::from(bias[c]);
                if narrow {
                    acc = qforge::qnn::format::saturate(acc, acc_bits);
                }
                for (j, &xj) in x.iter().enumerate() {
                    acc += i128::from(levels[c * mw + j] * value(xj));
                    if narrow {
                        acc = qforge::qnn::format::saturate(acc, acc_bits);
                    }
                }
                let want = match &output {
                    MvuOutput::Sign => i64::from(acc >= 0),
                    MvuOutput::Accumulator => acc as i64,
                    MvuOutput::Requant(r) => r.apply(acc, c),
                };
                assert_eq!(got[v * mh + c], want, "{} vector {v} channel {c}", u.name());
            }
        }
        assert!(u.cost().lut > 0 && u.cost().ff > 0);
        let stim = stimulus(
            &u,
            500 + k as u64,
            60 + (k as u64 * 7) % 40,
            50 + (k as u64 * 13) % 50,
        );
        parts.push(Part::from_unit(&u, stim).unwrap());
    }
    run("units_mvu_binary", parts);
}

/// Yosys maps each generated memory to block RAM cells, not LUTs, on all three families, and
/// takes exactly the blocks [`MemoryParams::blocks`] counts (a Xilinx RAMB36 counts as two
/// 18 kbit blocks).
#[test]
fn memories_map_to_block_ram_on_each_family() {
    use qforge::accel::memory::RamFamily;
    use qforge::verify::yosys::{synth, SynthOptions, Target};
    let mut rng = Rng::new(43);
    let dir = scratch!("units_memory_synth");
    for (kind, width, depth) in [
        (MemoryKind::Rom, 24, 256u32),
        (MemoryKind::Rom, 4, 2048),
        (MemoryKind::Rom, 70, 160),
        (MemoryKind::Ram, 16, 512),
    ] {
        let init: Vec<Bits> = (0..depth).map(|_| random_bits(&mut rng, width)).collect();
        let mem = MemoryParams::new(kind, width, init).unwrap();
        let m = &mem.verilog().unwrap()[0];
        let file = dir.join(format!("{}.v", m.name));
        std::fs::write(&file, print_module(m)).unwrap();
        for (target, family) in [
            (Target::Ice40, RamFamily::Ice40),
            (Target::Xilinx, RamFamily::Xilinx),
            (Target::Ecp5, RamFamily::Ecp5),
        ] {
            let r = synth(
                std::slice::from_ref(&file),
                &m.name,
                target,
                &SynthOptions::default(),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            let cell = |name: &str| r.cells.get(name).copied().unwrap_or(0);
            let blocks = match family {
                RamFamily::Xilinx => cell("RAMB18E1") + 2 * cell("RAMB36E1"),
                _ => cell(family.primitive()),
            };
            assert_eq!(
                blocks,
                mem.blocks(family),
                "{} on {target}: {:?}",
                m.name,
                r.cells
            );
            // Only the address choice (and a RAM's write enable) is left in LUTs; a RAM on
            // iCE40 and ECP5 also has the bypass that returns the old word when the word read
            // is the one being written (the blocks' own result there is undefined): a register
            // of the word, the addresses' compare and a multiplexer.
            let bypass = match (kind, family) {
                (MemoryKind::Ram, RamFamily::Ice40 | RamFamily::Ecp5) => {
                    2 * u64::from(width) + u64::from(mem.addr_bits()) + 2
                }
                _ => 0,
            };
            assert!(
                r.luts <= u64::from(mem.addr_bits()) + 2 + bypass,
                "{} on {target}: {:?}",
                m.name,
                r.cells
            );
        }
    }
}

/// Codes for a combine unit from a narrow range (so members tie within themselves and votes
/// tie between classes often), with random valid/ready; also counts the transfers whose votes
/// tie, so the test knows the ties were there.
fn combine_stimulus(
    unit: &CombineParams,
    lanes: usize,
    bits: u32,
    seed: u64,
    range: i64,
) -> (Vec<Vec<Bits>>, usize) {
    let mut rng = Rng::new(seed);
    let mut ties = 0;
    let inputs = (0..CYCLES)
        .map(|t| {
            let rst = t < 2 || t == CYCLES / 2;
            let codes: Vec<i64> = (0..lanes)
                .map(|_| (rng.next_u64() % (2 * range as u64 + 1)) as i64 - range)
                .collect();
            if unit_has_vote_tie(unit, &codes) {
                ties += 1;
            }
            vec![
                Bits::from_i128_wrapping(1, i128::from(rst)),
                pack_lanes(&codes, bits),
                Bits::from_i128_wrapping(1, i128::from(rng.chance(80, 100))),
                Bits::from_i128_wrapping(1, i128::from(rng.chance(70, 100))),
            ]
        })
        .collect();
    (inputs, ties)
}

/// Whether two classes share the most votes (by the raw member argmaxes of scaled codes).
fn unit_has_vote_tie(unit: &CombineParams, codes: &[i64]) -> bool {
    let params = unit.parameters();
    let classes: usize = params
        .iter()
        .find(|(k, _)| k == "classes")
        .unwrap()
        .1
        .parse()
        .unwrap();
    let members = codes.len() / classes;
    let mut votes = vec![0; classes];
    for k in 0..members {
        let row = &codes[k * classes..(k + 1) * classes];
        let best = (0..classes).fold(0, |b, j| if row[j] > row[b] { j } else { b });
        votes[best] += 1;
    }
    let top = *votes.iter().max().unwrap();
    votes.iter().filter(|&&v| v == top).count() > 1
}

#[test]
fn combine_units_match_their_verilog_through_ties() {
    let mut parts = Vec::new();
    let mut tied = 0;
    for (k, (combine, classes, bits, constants, range)) in [
        // equal constants: scaled ties are code ties
        (
            Combine::Vote,
            3usize,
            3u32,
            vec![vec![1, 1, 1], vec![1, 1, 1]],
            2i64,
        ),
        (
            Combine::Vote,
            4,
            4,
            vec![
                vec![3, 1, 2, 5],
                vec![1, 1, 1, 1],
                vec![7, 2, 2, 1],
                vec![1, 4, 1, 2],
            ],
            3,
        ),
        (
            Combine::Vote,
            10,
            6,
            (0..3)
                .map(|m| (0..10).map(|j| 1 + ((m * 7 + j * 3) % 5) as i128).collect())
                .collect(),
            20,
        ),
        (Combine::Sum, 3, 3, vec![vec![1, 1, 1], vec![1, 1, 1]], 2),
        (
            Combine::Sum,
            4,
            5,
            vec![vec![3, 1, 2, 5], vec![9, 1, 1, 4], vec![1, 2, 2, 1]],
            9,
        ),
        (
            Combine::Sum,
            10,
            8,
            (0..2)
                .map(|m| {
                    (0..10)
                        .map(|j| 1000 + ((m * 13 + j * 29) % 17) as i128)
                        .collect()
                })
                .collect(),
            100,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let lanes = constants.len() * classes;
        let unit = CombineParams::new(combine, bits, constants).unwrap();
        let (stim, ties) = combine_stimulus(&unit, lanes, bits, 40 + k as u64, range);
        if combine == Combine::Vote {
            tied += ties;
        }
        parts.push(Part::from_unit(&unit, stim).unwrap());
    }
    // Ties in the vote were exercised (by the raw codes; the scaled ones tie less).
    assert!(tied > 1000, "{tied}");
    run("units_combine", parts);
}
