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
//!
//! Structure: a driver (`sim/driver.rs`) steps the control models, crosses quiet stretches
//! and repeated steady-state periods, and calls observers on the cycles it evaluates: the replay
//! vector recorder and the VCD writer ([`vcd`]) hang off it, outside its loop.

mod driver;
mod observe;
pub mod vcd;

use super::network::{NetworkParams, Stage, StageModel};
use super::stream::StreamModel;
use crate::hdl::vectors::VectorSet;
use driver::{Driver, Outcome};
use observe::{Observer, Recorder, VcdObserver};

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
    pub trace: Option<VectorSet>,
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
    check_input(net, codes)?;
    let mut recorder = options.record.then(|| Recorder::new(net));
    let mut vcd = match &options.vcd {
        Some(p) => Some(VcdObserver::create(p, net)?),
        None => None,
    };
    let mut observers: Vec<&mut dyn Observer> = Vec::new();
    if let Some(r) = &mut recorder {
        observers.push(r);
    }
    if let Some(v) = &mut vcd {
        observers.push(v);
    }
    let driver = Driver::new(net, codes, options, !observers.is_empty());
    let run = driver.run(&mut observers)?;
    let seconds = start.elapsed().as_secs_f64();
    if let Some(v) = vcd {
        v.finish()?;
    }
    let images = codes.len() / net.in_codes_per_image();
    let report = report(net, &run, images, seconds);
    Ok(SimRun {
        outputs: run.outputs,
        report,
        trace: recorder.map(Recorder::finish),
    })
}

/// Checks that `codes` are whole images of codes in the input's range.
fn check_input(net: &NetworkParams, codes: &[i32]) -> Result<(), SimError> {
    let in_features = net.in_codes_per_image();
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
    Ok(())
}

/// The figures of a completed run.
fn report(net: &NetworkParams, run: &Outcome, images: usize, seconds: f64) -> SimReport {
    let streaming = run.cycles.saturating_sub(2).max(1);
    let layers = run
        .model
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
    let measured_interval = match run.done_at.as_slice() {
        [.., a, b] => b - a,
        _ => 0,
    };
    let latency = match (run.first_accept, run.done_at.first()) {
        (Some(a), Some(&b)) => b - a + 1,
        _ => 0,
    };
    SimReport {
        images,
        cycles: run.cycles,
        layers,
        initiation_interval: net.initiation_interval(),
        measured_interval,
        latency,
        done_at: run.done_at.clone(),
        stepped_cycles: run.stepped,
        seconds,
    }
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
