//! The cycle-exact simulator of a whole network: the stages' unit models stepped together
//! (the same models each unit's Verilog is checked against), driven by an input stream of
//! images and an output consumer, optionally with seeded backpressure.
//!
//! The driver follows the replay contract (sim/README.md): cycles 0 and 1 hold `rst`; from
//! cycle 2 the input stream presents one chunk of the first stage's input lanes at a time and holds it until
//! accepted (`in_valid ∧ in_ready` at the edge); the consumer takes an output when `out_ready`.
//! With backpressure, a chunk not yet presented waits a random number of cycles (gaps in
//! `valid`) and `out_ready` is withheld at random, both from a seeded generator, so the RTL
//! replay sees exactly the same pattern.
//!
//! ```no_run
//! # fn plan() -> qforge::accel::plan::Plan { unimplemented!() }
//! use qforge::accel::sim::{simulate, SimOptions};
//! let plan = plan();
//! let codes: Vec<i32> = vec![0; 64 * 3]; // three images of input codes
//! let run = simulate(&plan.network, &codes, &SimOptions::default()).unwrap();
//! println!("{} cycles, ii {}", run.report.cycles, run.report.initiation_interval);
//! ```

use super::mvu::MvuStats;
use super::network::{NetworkModel, NetworkParams, Stage, StageModel};
use super::stream::StreamModel;
use super::unit::Unit;
use super::vectors::{Rng, Trace};
use crate::hdl::Bits;
use std::io::Write;

/// Seeded backpressure: gaps in the input's `valid` and withheld output `ready`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backpressure {
    /// Generator seed.
    pub seed: u64,
    /// Percent chance, per cycle, that a chunk not yet presented waits one more cycle.
    pub in_gap_percent: u64,
    /// Percent chance, per cycle, that `out_ready` is low.
    pub out_stall_percent: u64,
}

impl Backpressure {
    /// 30% input gaps and 30% output stalls from `seed`.
    pub fn new(seed: u64) -> Backpressure {
        Backpressure {
            seed,
            in_gap_percent: 30,
            out_stall_percent: 30,
        }
    }
}

/// Where the simulator takes the values of the streams from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Datapath {
    /// Every stage's whole output stream computed at once from its input stream
    /// ([`NetworkParams::forward`], each unit's own arithmetic), while the control path steps
    /// without values: the control of every unit here ignores the data, so the timing is the
    /// same, and the `k`-th transfer of a stream carries the `k`-th chunk of its values.
    #[default]
    Batched,
    /// Every unit's model computes its values as it steps (every fire's multiply-adds).
    Stepped,
}

/// What to simulate and record.
#[derive(Clone, Debug, Default)]
pub struct SimOptions {
    /// Backpressure pattern (none: the input is always presented, the output always ready).
    pub backpressure: Option<Backpressure>,
    /// Record per-cycle replay vectors (`tb_in`/`tb_out` of the `qf_tb_dut` wrapper).
    pub record: bool,
    /// Write a VCD of the top-level and stage handshake signals here.
    pub vcd: Option<std::path::PathBuf>,
    /// Give up after this many cycles (0: a bound from the plan's folds).
    pub max_cycles: u64,
    /// Where the values come from.
    pub datapath: Datapath,
    /// Step every cycle: no crossing of quiet stretches, no steady-state jumps (the slow
    /// reference the fast paths are checked against).
    pub every_cycle: bool,
}

/// A simulation that could not complete.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The input does not hold whole images of codes in range.
    #[error("input: {0}")]
    Input(String),
    /// No output for too long: a deadlock in the composed models.
    #[error("no progress after {cycles} cycles ({outputs} of {expected} output transfers)")]
    Stuck {
        /// Cycles simulated.
        cycles: u64,
        /// Output transfers seen.
        outputs: u64,
        /// Output transfers expected.
        expected: u64,
    },
    /// Writing the trace failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// Activity of one layer's MVU over a run.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerActivity {
    /// Layer index.
    pub layer: usize,
    /// Cycles per vector (`NF · SF`).
    pub fold: u64,
    /// Vectors per image (a convolution: its output pixels; a dense layer: 1).
    pub vectors: u64,
    /// Cycles in which the tile computed.
    pub busy: u64,
    /// Cycles waiting for input.
    pub starved: u64,
    /// Cycles a finished group waited on the output (backpressure).
    pub blocked: u64,
    /// `busy / cycles` over the streaming cycles (after reset).
    pub utilization: f64,
}

/// The figures of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct SimReport {
    /// Images streamed.
    pub images: usize,
    /// Cycles simulated, the two reset cycles included (= vector lines of the replay).
    pub cycles: u64,
    /// Per layer.
    pub layers: Vec<LayerActivity>,
    /// The slowest layer's fold: the ideal initiation interval.
    pub initiation_interval: u64,
    /// Measured cycles between the last outputs of consecutive images (the last pair; 0 for
    /// one image).
    pub measured_interval: u64,
    /// Cycles from the first accepted input chunk of image 0 to its last output transfer,
    /// both included.
    pub latency: u64,
    /// Cycle of each image's last output transfer.
    pub done_at: Vec<u64>,
    /// Cycles evaluated one at a time; the others were crossed at once (quiet stretches,
    /// repeated steady-state periods).
    pub stepped_cycles: u64,
    /// Wall-clock seconds of the whole simulation, values included.
    pub seconds: f64,
}

impl SimReport {
    /// Simulated cycles per second of wall-clock time.
    pub fn cycles_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.cycles as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// The result of a run.
#[derive(Clone, Debug)]
pub struct SimRun {
    /// The outputs per image (`out_features` each), in image order.
    pub outputs: Vec<i64>,
    /// The figures.
    pub report: SimReport,
    /// The replay vectors, when recorded.
    pub trace: Option<Trace>,
}

/// Bit layout of the `qf_tb_dut` wrapper for a network: `tb_in` = rst, in_valid, in_data,
/// out_ready; `tb_out` = out_valid, out_data (zero while `out_valid` is low), in_ready — each
/// list least significant first.
pub fn wrapper_widths(net: &NetworkParams) -> (u32, u32) {
    (
        net.input_shape().width() + 3,
        net.output_shape().width() + 2,
    )
}

fn set_lanes(b: &mut Bits, at: u32, codes: &[i64], lane_bits: u32) {
    for (i, &c) in codes.iter().enumerate() {
        let base = at + i as u32 * lane_bits;
        for k in 0..lane_bits {
            let bit = if k < 63 { (c >> k) & 1 == 1 } else { c < 0 };
            if bit {
                b.set(base + k, true);
            }
        }
    }
}

/// `tb_in` and `tb_out` of one cycle; `out_data` is the output stream's current head.
#[allow(clippy::too_many_arguments)]
fn trace_line(
    model: &NetworkModel,
    in_w: u32,
    out_w: u32,
    rst: bool,
    in_valid: bool,
    data: &[i64],
    out_ready: bool,
    out_data: &[i64],
) -> (Bits, Bits) {
    let p = model.params();
    let mut si = Bits::zero(in_w);
    si.set(0, rst);
    si.set(1, in_valid);
    set_lanes(&mut si, 2, data, p.input_shape().lane_bits);
    si.set(in_w - 1, out_ready);
    let mut so = Bits::zero(out_w);
    let out_valid = model.out_valid();
    so.set(0, out_valid);
    if out_valid {
        set_lanes(&mut so, 1, out_data, p.output_shape().lane_bits);
    }
    so.set(out_w - 1, model.in_ready(out_ready));
    (si, so)
}

struct Vcd {
    out: std::io::BufWriter<std::fs::File>,
    path: String,
    last: Vec<Option<u128>>,
}

/// The control state at the end of an image, for finding the steady state.
struct Snapshot {
    t: u64,
    control: Vec<u64>,
    next_chunk: usize,
    out_count: u64,
    done: usize,
    stats: Vec<MvuStats>,
}

/// Simulates `net` on `codes` (whole images of input codes, `in_features` each).
///
/// Besides crossing quiet stretches at once, the simulator finds the steady state: without
/// backpressure the inputs are constant (a chunk always presented, the output always ready), so
/// when the control registers at the end of an image equal those at the end of the previous
/// image, every following period repeats that one exactly for as long as input remains, and
/// those periods are crossed at once (their counts, stalls and output cycles added period by
/// period). Recording vectors, a VCD or [`SimOptions::every_cycle`] turn this off.
pub fn simulate(
    net: &NetworkParams,
    codes: &[i32],
    options: &SimOptions,
) -> Result<SimRun, SimError> {
    let start = std::time::Instant::now();
    let in_features = net.in_codes_per_image();
    let out_lanes = net.output_shape().lanes as usize;
    let out_per_image = net.out_transfers_per_image();
    let out_features = net.out_codes_per_image();
    if !codes.len().is_multiple_of(in_features) {
        return Err(SimError::Input(format!(
            "{} codes are not whole images of {in_features}",
            codes.len()
        )));
    }
    let ishape = net.input_shape();
    let (lo, hi) = if ishape.signed {
        (
            -(1i64 << (ishape.lane_bits - 1)),
            (1i64 << (ishape.lane_bits - 1)) - 1,
        )
    } else {
        (0, (1i64 << ishape.lane_bits) - 1)
    };
    // The extremes first (a loop that vectorises), the offending index only on failure.
    let (min, max) = codes
        .iter()
        .fold((i32::MAX, i32::MIN), |(a, b), &c| (a.min(c), b.max(c)));
    let in_range = codes.is_empty() || (i64::from(min) >= lo && i64::from(max) <= hi);
    let outside = |c: i32| i64::from(c) < lo || i64::from(c) > hi;
    if let Some(i) = (!in_range)
        .then(|| codes.iter().position(|&c| outside(c)))
        .flatten()
    {
        return Err(SimError::Input(format!(
            "code {} at index {i} is outside the input range [{lo}, {hi}]",
            codes[i]
        )));
    }
    let images = codes.len() / in_features;
    let chunk = ishape.lanes as usize;
    let total_chunks = codes.len() / chunk;
    let expected_out = images as u64 * out_per_image;
    let ii = net.initiation_interval();
    let max_cycles = if options.max_cycles > 0 {
        options.max_cycles
    } else {
        let slow = if options.backpressure.is_some() {
            20
        } else {
            4
        };
        (images as u64 + 4) * (ii + 8) * slow + 10_000
    };

    // The output stream's values, when computed at once.
    let values = match options.datapath {
        Datapath::Batched => Some(net.forward(codes)),
        Datapath::Stepped => None,
    };
    let mut model: NetworkModel = match options.datapath {
        Datapath::Batched => net.control_model(),
        Datapath::Stepped => net.model(),
    };
    let (in_w, out_w) = wrapper_widths(net);
    let mut trace = options.record.then(|| Trace {
        in_width: in_w,
        out_width: out_w,
        stimulus: Vec::new(),
        expected: Vec::new(),
        check: Vec::new(),
    });
    let mut vcd = match &options.vcd {
        Some(p) => Some(open_vcd(p, net)?),
        None => None,
    };
    let mut rng = options.backpressure.map(|b| (b, Rng::new(b.seed)));
    let skip_quiet = rng.is_none() && !options.every_cycle;
    // The input codes as the models and the records take them; a control-only model with
    // nothing recorded never reads them.
    let chunks: Vec<i64> = if values.is_none() || trace.is_some() || vcd.is_some() {
        codes.iter().map(|&c| i64::from(c)).collect()
    } else {
        Vec::new()
    };
    let jump = skip_quiet && values.is_some() && trace.is_none() && vcd.is_none();
    let zeros = vec![0i64; chunk.max(out_lanes)];
    let mut outputs = Vec::with_capacity(images * out_features);
    let mut next_chunk = 0usize;
    let mut presenting = false;
    let mut out_count = 0u64;
    let mut first_accept: Option<u64> = None;
    let mut done_at = Vec::with_capacity(images);
    let mut last_image: Option<Snapshot> = None;
    let mut stepped = 0u64;
    let mut t = 0u64;
    loop {
        let rst = t < 2;
        let (in_valid, out_ready) = if rst {
            (false, false)
        } else {
            if !presenting && next_chunk < total_chunks {
                presenting = match &mut rng {
                    Some((b, r)) => !r.chance(b.in_gap_percent, 100),
                    None => true,
                };
            }
            let ready = match &mut rng {
                Some((b, r)) => !r.chance(b.out_stall_percent, 100),
                None => true,
            };
            (presenting, ready)
        };
        let data: &[i64] = if in_valid && !chunks.is_empty() {
            &chunks[next_chunk * chunk..(next_chunk + 1) * chunk]
        } else {
            &zeros[..chunk]
        };
        // The output stream's current head: the next transfer's codes.
        let head: &[i64] = match &values {
            Some(v) => {
                let at = out_count as usize * out_lanes;
                v.get(at..at + out_lanes).unwrap_or(&zeros[..out_lanes])
            }
            None => model.out_data(),
        };
        // Without backpressure the inputs hold while nothing happens: cross such stretches at
        // once (the state and every interface signal are those of cycle-by-cycle stepping).
        if !rst && skip_quiet {
            let k = model.quiet(in_valid, out_ready).min(max_cycles - t);
            if k >= 2 {
                if let Some(tr) = &mut trace {
                    let (si, so) =
                        trace_line(&model, in_w, out_w, false, in_valid, data, out_ready, head);
                    for _ in 0..k {
                        tr.stimulus.push(si.clone());
                        tr.expected.push(so.clone());
                        tr.check.push(true);
                    }
                }
                if let Some(v) = &mut vcd {
                    write_vcd_cycle(v, t, &model, rst, in_valid, data, out_ready, head)?;
                }
                model.skip(k, in_valid, out_ready);
                t += k;
                if t >= max_cycles {
                    return Err(SimError::Stuck {
                        cycles: t,
                        outputs: out_count,
                        expected: expected_out,
                    });
                }
                continue;
            }
        }
        stepped += 1;
        let in_ready = model.in_ready(out_ready);
        let out_valid = model.out_valid();
        if let Some(tr) = &mut trace {
            let (si, so) = trace_line(&model, in_w, out_w, rst, in_valid, data, out_ready, head);
            tr.stimulus.push(si);
            tr.expected.push(so);
            tr.check.push(t > 0);
        }
        if let Some(v) = &mut vcd {
            write_vcd_cycle(v, t, &model, rst, in_valid, data, out_ready, head)?;
        }
        let mut image_done = false;
        if rst {
            model.reset_state();
        } else {
            if out_valid && out_ready {
                outputs.extend_from_slice(head);
                out_count += 1;
                if out_count.is_multiple_of(out_per_image) {
                    done_at.push(t);
                    image_done = true;
                }
            }
            if in_valid && in_ready {
                first_accept.get_or_insert(t);
                next_chunk += 1;
                presenting = false;
            }
            model.clock(in_valid, data, out_ready);
        }
        t += 1;
        if out_count == expected_out {
            break;
        }
        if image_done && jump {
            let now = Snapshot {
                t,
                control: {
                    let mut c = vec![u64::from(presenting)];
                    model.control_state(&mut c);
                    c
                },
                next_chunk,
                out_count,
                done: done_at.len(),
                stats: model.mvu_stats(),
            };
            if let Some(prev) = last_image.as_ref().filter(|p| p.control == now.control) {
                let m = repeats(prev, &now, total_chunks, max_cycles);
                if m > 0 {
                    let period = now.t - prev.t;
                    let delta: Vec<MvuStats> = now
                        .stats
                        .iter()
                        .zip(&prev.stats)
                        .map(|(a, b)| MvuStats {
                            busy: a.busy - b.busy,
                            starved: a.starved - b.starved,
                            blocked: a.blocked - b.blocked,
                        })
                        .collect();
                    let dones: Vec<u64> = done_at[prev.done..].to_vec();
                    for k in 1..=m {
                        done_at.extend(dones.iter().map(|d| d + k * period));
                    }
                    model.add_mvu_stats(&delta, m);
                    let d_out = (now.out_count - prev.out_count) * m;
                    if let Some(v) = &values {
                        let at = out_count as usize * out_lanes;
                        outputs.extend_from_slice(&v[at..at + d_out as usize * out_lanes]);
                    }
                    out_count += d_out;
                    next_chunk += (now.next_chunk - prev.next_chunk) * m as usize;
                    t += period * m;
                }
            }
            last_image = Some(Snapshot {
                t,
                next_chunk,
                out_count,
                done: done_at.len(),
                stats: model.mvu_stats(),
                ..now
            });
            if out_count == expected_out {
                break;
            }
        }
        if t >= max_cycles {
            return Err(SimError::Stuck {
                cycles: t,
                outputs: out_count,
                expected: expected_out,
            });
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    if let Some(v) = &mut vcd {
        v.out.flush().map_err(|e| SimError::Io {
            path: v.path.clone(),
            source: e,
        })?;
    }
    let streaming = t.saturating_sub(2).max(1);
    let layers = model
        .stages()
        .iter()
        .filter_map(|s| match s {
            StageModel::Mvu(m) => {
                let st = m.stats();
                Some(LayerActivity {
                    layer: m.params().layer(),
                    fold: m.params().fold(),
                    vectors: u64::from(m.params().vectors()),
                    busy: st.busy,
                    starved: st.starved,
                    blocked: st.blocked,
                    utilization: st.busy as f64 / streaming as f64,
                })
            }
            _ => None,
        })
        .collect();
    let measured_interval = match done_at.as_slice() {
        [.., a, b] => b - a,
        _ => 0,
    };
    let latency = match (first_accept, done_at.first()) {
        (Some(a), Some(&b)) => b - a + 1,
        _ => 0,
    };
    Ok(SimRun {
        outputs,
        report: SimReport {
            images,
            cycles: t,
            layers,
            initiation_interval: ii,
            measured_interval,
            latency,
            done_at,
            stepped_cycles: stepped,
            seconds,
        },
        trace,
    })
}

/// How many more periods like the one from `prev` to `now` (equal control registers at both
/// ends) repeat exactly: each must keep the input presented throughout, so the input must not
/// run out before its end, and the run must stay below `max_cycles`.
fn repeats(prev: &Snapshot, now: &Snapshot, total_chunks: usize, max_cycles: u64) -> u64 {
    let chunks = (now.next_chunk - prev.next_chunk) as u64;
    let period = now.t - prev.t;
    let left = total_chunks.saturating_sub(now.next_chunk) as u64;
    if chunks == 0 || period == 0 || left == 0 {
        return 0;
    }
    // After m periods at most `now.next_chunk + m·chunks` chunks have been taken, which must
    // stay below the total so that a chunk is presented in every cycle of them.
    let by_input = (left - 1) / chunks;
    let by_time = max_cycles.saturating_sub(now.t + 1) / period;
    by_input.min(by_time)
}

/// The largest occupancy of each FIFO (chain order) while `images` vectors stream back to back
/// into an always-ready consumer. The control path does not depend on the data, so zero
/// inputs show every timing.
pub fn max_fifo_occupancy(net: &NetworkParams, images: usize) -> Vec<usize> {
    let mut model = net.control_model();
    let n_fifo = net
        .stages()
        .iter()
        .filter(|s| matches!(s, Stage::Fifo(_)))
        .count();
    let mut max = vec![0usize; n_fifo];
    let lanes = net.input_shape().lanes as usize;
    let chunks = images * net.in_codes_per_image() / lanes;
    let expected = images as u64 * net.out_transfers_per_image();
    let zeros = vec![0i64; lanes];
    let slowest = net.initiation_interval();
    let bound = (images as u64 + 4) * (slowest + 64) * 64;
    let (mut sent, mut got, mut t) = (0usize, 0u64, 0u64);
    while got < expected && t < bound {
        let valid = sent < chunks;
        if model.out_valid() {
            got += 1;
        }
        if valid && model.in_ready(true) {
            sent += 1;
        }
        model.clock(valid, &zeros, true);
        let mut k = 0;
        for s in model.stages() {
            if let StageModel::Fifo(f) = s {
                max[k] = max[k].max(f.count());
                k += 1;
            }
        }
        t += 1;
    }
    max
}

fn vcd_id(i: usize) -> String {
    // Printable identifiers from '!' on.
    let mut s = String::new();
    let mut v = i;
    loop {
        s.push((b'!' + (v % 90) as u8) as char);
        v /= 90;
        if v == 0 {
            break;
        }
    }
    s
}

/// The VCD signals: (name, width) in a fixed order.
fn vcd_signals(net: &NetworkParams) -> Vec<(String, u32)> {
    let mut v = vec![
        ("rst".to_string(), 1),
        ("in_valid".to_string(), 1),
        ("in_data".to_string(), net.input_shape().width()),
        ("in_ready".to_string(), 1),
        ("out_valid".to_string(), 1),
        ("out_data".to_string(), net.output_shape().width()),
        ("out_ready".to_string(), 1),
    ];
    for i in 0..net.stages().len() {
        let inst = net.instance(i);
        v.push((format!("{inst}_in_ready"), 1));
        v.push((format!("{inst}_out_valid"), 1));
    }
    v
}

fn open_vcd(path: &std::path::Path, net: &NetworkParams) -> Result<Vcd, SimError> {
    let io = |e| SimError::Io {
        path: path.display().to_string(),
        source: e,
    };
    let f = std::fs::File::create(path).map_err(io)?;
    let mut out = std::io::BufWriter::new(f);
    let signals = vcd_signals(net);
    let mut head = String::from("$timescale 1ns $end\n$scope module ");
    head.push_str(&net.name());
    head.push_str(" $end\n");
    for (i, (name, w)) in signals.iter().enumerate() {
        head.push_str(&format!("$var wire {w} {} {name} $end\n", vcd_id(i)));
    }
    head.push_str("$upscope $end\n$enddefinitions $end\n");
    out.write_all(head.as_bytes()).map_err(io)?;
    Ok(Vcd {
        out,
        path: path.display().to_string(),
        last: vec![None; signals.len()],
    })
}

fn pack_u128(codes: &[i64], bits: u32) -> u128 {
    let mut v = 0u128;
    for (i, &c) in codes.iter().enumerate() {
        let at = i as u32 * bits;
        if at >= 128 {
            break;
        }
        let mask = if bits >= 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        };
        v |= u128::from(c as u64 & mask) << at;
    }
    v
}

#[allow(clippy::too_many_arguments)]
fn write_vcd_cycle(
    v: &mut Vcd,
    t: u64,
    model: &NetworkModel,
    rst: bool,
    in_valid: bool,
    data: &[i64],
    out_ready: bool,
    out_data: &[i64],
) -> Result<(), SimError> {
    let p = model.params();
    let mut vals: Vec<(u128, u32)> = vec![
        (u128::from(rst), 1),
        (u128::from(in_valid), 1),
        (
            pack_u128(data, p.input_shape().lane_bits),
            p.input_shape().width(),
        ),
        (u128::from(model.in_ready(out_ready)), 1),
        (u128::from(model.out_valid()), 1),
        (
            pack_u128(out_data, p.output_shape().lane_bits),
            p.output_shape().width(),
        ),
        (u128::from(out_ready), 1),
    ];
    // Each stage's in_ready given its downstream ready, and its out_valid.
    let stages = model.stages();
    let mut readies = vec![false; stages.len() + 1];
    readies[stages.len()] = out_ready;
    for (i, s) in stages.iter().enumerate().rev() {
        readies[i] = stage_stream(s).in_ready(readies[i + 1]);
    }
    for (i, s) in stages.iter().enumerate() {
        vals.push((u128::from(readies[i]), 1));
        vals.push((u128::from(stage_stream(s).out_valid()), 1));
    }
    let mut text = String::new();
    for (i, &(val, w)) in vals.iter().enumerate() {
        if v.last[i] == Some(val) {
            continue;
        }
        v.last[i] = Some(val);
        if text.is_empty() {
            text.push_str(&format!("#{}\n", t * 10));
        }
        if w == 1 {
            text.push_str(&format!("{}{}\n", val & 1, vcd_id(i)));
        } else {
            text.push_str(&format!("b{val:b} {}\n", vcd_id(i)));
        }
    }
    v.out.write_all(text.as_bytes()).map_err(|e| SimError::Io {
        path: v.path.clone(),
        source: e,
    })
}

fn stage_stream(s: &StageModel) -> &dyn StreamModel {
    match s {
        StageModel::Mvu(m) => m,
        StageModel::Fifo(m) => m,
        StageModel::WidthConverter(m) => m,
        StageModel::FrameBuffer(m) => m,
    }
}
