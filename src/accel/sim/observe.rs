//! What hangs off the driver: observers of the interface signals, cycle by cycle. The driver
//! calls each [`Observer`] once per stepped cycle and once per quiet stretch it crosses (all
//! signals held); [`Recorder`] turns the cycles into replay vectors, [`VcdObserver`] into a VCD.
//! Steady-state jumps cross periods whose data differ, so a run with observers makes none.

use super::vcd::VcdWriter;
use super::SimError;
use crate::accel::network::{NetworkModel, NetworkParams};
use crate::accel::stream::StreamModel;
use crate::accel::unit::Unit;
use crate::hdl::vectors::{Cycle, VectorSet};
use crate::hdl::Bits;
use std::io::BufWriter;
use std::path::Path;

/// The interface signals of one cycle, as the driver applies and the models answer them.
pub(super) struct CycleView<'a> {
    /// The cycle.
    pub t: u64,
    /// `rst`.
    pub rst: bool,
    /// `in_valid`.
    pub in_valid: bool,
    /// `in_data` (the presented chunk's codes, zeros while `in_valid` is low).
    pub in_data: &'a [i64],
    /// `out_ready`.
    pub out_ready: bool,
    /// The output stream's head: the next output transfer's codes.
    pub out_data: &'a [i64],
    /// The models, before this cycle's edge.
    pub model: &'a NetworkModel,
}

/// Something that watches the driver's cycles.
pub(super) trait Observer {
    /// Cycles `view.t .. view.t + repeat` all show the signals of `view` (`repeat` > 1: a quiet
    /// stretch crossed at once).
    fn cycles(&mut self, view: &CycleView<'_>, repeat: u64) -> Result<(), SimError>;
}

/// Writes `codes` into `b` from bit `at` on, `lane_bits` per code (two's complement).
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

fn lanes(codes: &[i64], lane_bits: u32) -> Bits {
    let mut b = Bits::zero(codes.len() as u32 * lane_bits);
    set_lanes(&mut b, 0, codes, lane_bits);
    b
}

fn bit(v: bool) -> Bits {
    Bits::from_i128_wrapping(1, i128::from(v))
}

/// Records the replay vectors of the `qf_tb_dut` wrapper ([`super::wrapper_widths`]).
pub(super) struct Recorder {
    vectors: VectorSet,
}

impl Recorder {
    /// An empty recording for `net`'s wrapper.
    pub fn new(net: &NetworkParams) -> Recorder {
        let (in_w, out_w) = super::wrapper_widths(net);
        Recorder {
            vectors: VectorSet::new(in_w, out_w),
        }
    }

    /// The vectors recorded.
    pub fn finish(self) -> VectorSet {
        self.vectors
    }

    /// `tb_in` and `tb_out` of a cycle.
    fn lines(&self, v: &CycleView<'_>) -> (Bits, Bits) {
        let p = v.model.params();
        let (in_w, out_w) = (self.vectors.in_width, self.vectors.out_width);
        let mut si = Bits::zero(in_w);
        si.set(0, v.rst);
        si.set(1, v.in_valid);
        set_lanes(&mut si, 2, v.in_data, p.input_shape().lane_bits);
        si.set(in_w - 1, v.out_ready);
        let mut so = Bits::zero(out_w);
        let out_valid = v.model.out_valid();
        so.set(0, out_valid);
        if out_valid {
            set_lanes(&mut so, 1, v.out_data, p.output_shape().lane_bits);
        }
        so.set(out_w - 1, v.model.in_ready(v.out_ready));
        (si, so)
    }
}

impl Observer for Recorder {
    fn cycles(&mut self, view: &CycleView<'_>, repeat: u64) -> Result<(), SimError> {
        let (input, output) = self.lines(view);
        for t in view.t..view.t + repeat {
            // Before the first reset edge the registers are unknown: cycle 0 is not compared.
            self.vectors.cycles.push(Cycle {
                input: input.clone(),
                expect: (t > 0).then(|| output.clone()),
            });
        }
        Ok(())
    }
}

/// Writes a VCD of the top-level ports and every stage instance's handshake (`u0_mvu_in_ready`,
/// `u0_mvu_out_valid`, ...), named as in the network's Verilog, one time stamp per cycle at
/// 10 ns a cycle.
pub(super) struct VcdObserver {
    vcd: VcdWriter<BufWriter<crate::outdir::AtomicFile>>,
    path: String,
}

/// The VCD signals: (name, width) in a fixed order.
fn signals(net: &NetworkParams) -> Vec<(String, u32)> {
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

/// The values of [`signals`] in a cycle.
fn values(v: &CycleView<'_>) -> Vec<Bits> {
    let p = v.model.params();
    let mut vals = vec![
        bit(v.rst),
        bit(v.in_valid),
        lanes(v.in_data, p.input_shape().lane_bits),
        bit(v.model.in_ready(v.out_ready)),
        bit(v.model.out_valid()),
        lanes(v.out_data, p.output_shape().lane_bits),
        bit(v.out_ready),
    ];
    // Each stage's in_ready given its downstream ready, and its out_valid.
    let stages = v.model.stages();
    let mut readies = vec![false; stages.len() + 1];
    readies[stages.len()] = v.out_ready;
    for (i, s) in stages.iter().enumerate().rev() {
        readies[i] = s.in_ready(readies[i + 1]);
    }
    for (i, s) in stages.iter().enumerate() {
        vals.push(bit(readies[i]));
        vals.push(bit(s.out_valid()));
    }
    vals
}

impl VcdObserver {
    /// Starts the file at `path` and writes the header. The waveform is written to a temp
    /// file beside `path` ([`crate::outdir::AtomicFile`]) and appears at `path` only when
    /// [`VcdObserver::finish`] completes it; a folder, link or device at `path` is refused.
    pub fn create(path: &Path, net: &NetworkParams) -> Result<VcdObserver, SimError> {
        let name = path.display().to_string();
        let io = |source| SimError::Io {
            path: name.clone(),
            source,
        };
        let file = crate::outdir::AtomicFile::create(path).map_err(io)?;
        let vcd = VcdWriter::new(BufWriter::new(file), &net.name(), &signals(net)).map_err(io)?;
        Ok(VcdObserver { vcd, path: name })
    }

    /// Flushes the waveform and puts it at its path.
    pub fn finish(self) -> Result<(), SimError> {
        let path = self.path;
        let io = |source| SimError::Io {
            path: path.clone(),
            source,
        };
        let mut vcd = self.vcd;
        vcd.flush().map_err(io)?;
        vcd.into_inner()
            .into_inner()
            .map_err(|e| io(e.into_error()))?
            .commit()
            .map_err(io)
    }
}

impl Observer for VcdObserver {
    fn cycles(&mut self, view: &CycleView<'_>, _repeat: u64) -> Result<(), SimError> {
        // Held signals need no more time stamps than their first.
        self.vcd
            .change(view.t * 10, &values(view))
            .map_err(|source| SimError::Io {
                path: self.path.clone(),
                source,
            })
    }
}
