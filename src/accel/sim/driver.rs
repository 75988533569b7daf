//! The driver: applies the replay contract's interface signals cycle by cycle, steps the
//! network's models, crosses quiet stretches and repeated steady-state periods at once, and
//! calls the observers. It is the one place that knows how cycles are crossed.

use super::observe::{CycleView, Observer};
use super::{Backpressure, Datapath, SimError, SimOptions};
use crate::accel::mvu::MvuStats;
use crate::accel::network::{NetworkModel, NetworkParams};
use crate::accel::stream::StreamModel;
use crate::accel::unit::Unit;
use crate::accel::vectors::Rng;

/// The signals the driver applies in one cycle.
#[derive(Clone, Copy)]
struct Inputs {
    rst: bool,
    in_valid: bool,
    out_ready: bool,
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

/// What a completed run leaves.
pub(super) struct Outcome {
    /// The models at the end (their activity counters).
    pub model: NetworkModel,
    /// The output codes, in stream order.
    pub outputs: Vec<i64>,
    /// Cycle of each image's last output transfer.
    pub done_at: Vec<u64>,
    /// Cycle of the first accepted input chunk.
    pub first_accept: Option<u64>,
    /// Cycles simulated.
    pub cycles: u64,
    /// Cycles evaluated one at a time.
    pub stepped: u64,
}

/// The stream's fixed shape and limits, and the values of the run.
struct Stream {
    /// The output stream's values, when computed at once.
    values: Option<Vec<i64>>,
    /// The input codes as the models and the observers take them (empty when neither does).
    chunks: Vec<i64>,
    zeros: Vec<i64>,
    chunk: usize,
    out_lanes: usize,
    out_per_image: u64,
    total_chunks: usize,
    expected_out: u64,
    max_cycles: u64,
}

/// The driver's state between cycles.
pub(super) struct Driver {
    stream: Stream,
    model: NetworkModel,
    rng: Option<(Backpressure, Rng)>,
    skip_quiet: bool,
    jump: bool,
    t: u64,
    next_chunk: usize,
    presenting: bool,
    out_count: u64,
    first_accept: Option<u64>,
    done_at: Vec<u64>,
    outputs: Vec<i64>,
    stepped: u64,
    last_image: Option<Snapshot>,
}

/// A bound on the cycles of a run that has not deadlocked.
fn cycle_bound(net: &NetworkParams, images: usize, options: &SimOptions) -> u64 {
    if options.max_cycles > 0 {
        return options.max_cycles;
    }
    let slow = if options.backpressure.is_some() {
        20
    } else {
        4
    };
    (images as u64 + 4) * (net.initiation_interval() + 8) * slow + 10_000
}

impl Driver {
    /// A driver of `net` on `codes` (whole images, in range); `observed`: observers will watch.
    pub fn new(net: &NetworkParams, codes: &[i32], options: &SimOptions, observed: bool) -> Self {
        let images = codes.len() / net.in_codes_per_image();
        let chunk = net.input_shape().lanes as usize;
        let out_lanes = net.output_shape().lanes as usize;
        let values = match options.datapath {
            Datapath::Batched => Some(net.forward(codes)),
            Datapath::Stepped => None,
        };
        let model = match options.datapath {
            Datapath::Batched => net.control_model(),
            Datapath::Stepped => net.model(),
        };
        let rng = options.backpressure.map(|b| (b, Rng::new(b.seed)));
        let skip_quiet = rng.is_none() && !options.every_cycle;
        // A control-only model with nothing observed never reads the input codes.
        let chunks = if values.is_none() || observed {
            codes.iter().map(|&c| i64::from(c)).collect()
        } else {
            Vec::new()
        };
        let jump = skip_quiet && values.is_some() && !observed;
        let out_per_image = net.out_transfers_per_image();
        Driver {
            stream: Stream {
                values,
                chunks,
                zeros: vec![0i64; chunk.max(out_lanes)],
                chunk,
                out_lanes,
                out_per_image,
                total_chunks: codes.len() / chunk,
                expected_out: images as u64 * out_per_image,
                max_cycles: cycle_bound(net, images, options),
            },
            model,
            rng,
            skip_quiet,
            jump,
            t: 0,
            next_chunk: 0,
            presenting: false,
            out_count: 0,
            first_accept: None,
            done_at: Vec::with_capacity(images),
            outputs: Vec::with_capacity(images * net.out_codes_per_image()),
            stepped: 0,
            last_image: None,
        }
    }

    /// Runs until every output has been taken, calling `observers` on every cycle.
    pub fn run(mut self, observers: &mut [&mut dyn Observer]) -> Result<Outcome, SimError> {
        loop {
            let inputs = self.inputs();
            if self.cross_quiet(inputs, observers)? {
                continue;
            }
            let image_done = self.step(inputs, observers)?;
            if self.out_count == self.stream.expected_out {
                break;
            }
            if image_done && self.jump {
                self.steady_state();
                if self.out_count == self.stream.expected_out {
                    break;
                }
            }
            self.check_progress()?;
        }
        Ok(Outcome {
            model: self.model,
            outputs: self.outputs,
            done_at: self.done_at,
            first_accept: self.first_accept,
            cycles: self.t,
            stepped: self.stepped,
        })
    }

    /// This cycle's `rst`, `in_valid` and `out_ready` (backpressure drawn in a fixed order).
    fn inputs(&mut self) -> Inputs {
        if self.t < 2 {
            return Inputs {
                rst: true,
                in_valid: false,
                out_ready: false,
            };
        }
        if !self.presenting && self.next_chunk < self.stream.total_chunks {
            self.presenting = match &mut self.rng {
                Some((b, r)) => !r.chance(b.in_gap_percent, 100),
                None => true,
            };
        }
        let out_ready = match &mut self.rng {
            Some((b, r)) => !r.chance(b.out_stall_percent, 100),
            None => true,
        };
        Inputs {
            rst: false,
            in_valid: self.presenting,
            out_ready,
        }
    }

    fn check_progress(&self) -> Result<(), SimError> {
        if self.t >= self.stream.max_cycles {
            return Err(SimError::Stuck {
                cycles: self.t,
                outputs: self.out_count,
                expected: self.stream.expected_out,
            });
        }
        Ok(())
    }

    /// Without backpressure the inputs hold while nothing happens: crosses such a stretch at
    /// once (the state and every interface signal are those of cycle-by-cycle stepping).
    /// Returns whether it did.
    fn cross_quiet(
        &mut self,
        i: Inputs,
        observers: &mut [&mut dyn Observer],
    ) -> Result<bool, SimError> {
        if i.rst || !self.skip_quiet {
            return Ok(false);
        }
        let k = (self.model.quiet(i.in_valid, i.out_ready)).min(self.stream.max_cycles - self.t);
        if k < 2 {
            return Ok(false);
        }
        self.notify(i, k, observers)?;
        self.model.skip(k, i.in_valid, i.out_ready);
        self.t += k;
        self.check_progress()?;
        Ok(true)
    }

    /// Calls every observer on the cycles from `self.t` on.
    fn notify(
        &self,
        i: Inputs,
        repeat: u64,
        observers: &mut [&mut dyn Observer],
    ) -> Result<(), SimError> {
        if observers.is_empty() {
            return Ok(());
        }
        let view = CycleView {
            t: self.t,
            rst: i.rst,
            in_valid: i.in_valid,
            in_data: self.stream.in_data(i.in_valid, self.next_chunk),
            out_ready: i.out_ready,
            out_data: self.stream.head(&self.model, self.out_count),
            model: &self.model,
        };
        for o in observers.iter_mut() {
            o.cycles(&view, repeat)?;
        }
        Ok(())
    }

    /// Evaluates one cycle; returns whether an image's last output transferred in it.
    fn step(&mut self, i: Inputs, observers: &mut [&mut dyn Observer]) -> Result<bool, SimError> {
        self.stepped += 1;
        self.notify(i, 1, observers)?;
        let t = self.t;
        self.t += 1;
        if i.rst {
            self.model.reset_state();
            return Ok(false);
        }
        let in_ready = self.model.in_ready(i.out_ready);
        let mut image_done = false;
        if self.model.out_valid() && i.out_ready {
            let s = &self.stream;
            self.outputs
                .extend_from_slice(s.head(&self.model, self.out_count));
            self.out_count += 1;
            if self.out_count.is_multiple_of(s.out_per_image) {
                self.done_at.push(t);
                image_done = true;
            }
        }
        let data = self.stream.in_data(i.in_valid, self.next_chunk);
        if i.in_valid && in_ready {
            self.first_accept.get_or_insert(t);
            self.next_chunk += 1;
            self.presenting = false;
        }
        self.model.clock(i.in_valid, data, i.out_ready);
        Ok(image_done)
    }

    fn snapshot(&self) -> Snapshot {
        let mut control = vec![u64::from(self.presenting)];
        self.model.control_state(&mut control);
        Snapshot {
            t: self.t,
            control,
            next_chunk: self.next_chunk,
            out_count: self.out_count,
            done: self.done_at.len(),
            stats: self.model.mvu_stats(),
        }
    }

    /// At the end of an image: without backpressure the inputs are constant (a chunk always
    /// presented, the output always ready), so when the control registers equal those at the
    /// end of the previous image, every following period repeats that one exactly for as long
    /// as input remains; those periods are crossed at once (their counts, stalls and output
    /// cycles added period by period).
    fn steady_state(&mut self) {
        let now = self.snapshot();
        let prev = self.last_image.take();
        if let Some(prev) = prev.as_ref().filter(|p| p.control == now.control) {
            let m = repeats(prev, &now, self.stream.total_chunks, self.stream.max_cycles);
            if m > 0 {
                self.jump_periods(prev, &now, m);
            }
        }
        self.last_image = Some(Snapshot {
            t: self.t,
            next_chunk: self.next_chunk,
            out_count: self.out_count,
            done: self.done_at.len(),
            stats: self.model.mvu_stats(),
            ..now
        });
    }

    /// Crosses `m` more periods like the one from `prev` to `now`.
    fn jump_periods(&mut self, prev: &Snapshot, now: &Snapshot, m: u64) {
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
        let dones: Vec<u64> = self.done_at[prev.done..].to_vec();
        for k in 1..=m {
            self.done_at.extend(dones.iter().map(|d| d + k * period));
        }
        self.model.add_mvu_stats(&delta, m);
        let d_out = (now.out_count - prev.out_count) * m;
        if let Some(v) = &self.stream.values {
            let at = self.out_count as usize * self.stream.out_lanes;
            self.outputs
                .extend_from_slice(&v[at..at + d_out as usize * self.stream.out_lanes]);
        }
        self.out_count += d_out;
        self.next_chunk += (now.next_chunk - prev.next_chunk) * m as usize;
        self.t += period * m;
    }
}

impl Stream {
    /// The presented chunk's codes, zeros while none is presented (or nothing reads them).
    #[inline]
    fn in_data(&self, in_valid: bool, next_chunk: usize) -> &[i64] {
        if in_valid && !self.chunks.is_empty() {
            &self.chunks[next_chunk * self.chunk..(next_chunk + 1) * self.chunk]
        } else {
            &self.zeros[..self.chunk]
        }
    }

    /// The output stream's current head: the next transfer's codes.
    #[inline]
    fn head<'a>(&'a self, model: &'a NetworkModel, out_count: u64) -> &'a [i64] {
        match &self.values {
            Some(v) => {
                let at = out_count as usize * self.out_lanes;
                v.get(at..at + self.out_lanes)
                    .unwrap_or(&self.zeros[..self.out_lanes])
            }
            None => model.out_data(),
        }
    }
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
