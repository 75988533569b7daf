//! Frame buffer: the sliding-window / reorder unit. It stores one frame of codes in arrival
//! order, then emits them again in any order a [`ReadSequence`] lists (a ROM of addresses
//! computed in Rust), with zero for padding taps and, optionally, the maximum of each group of
//! consecutive reads. Convolution windows (im2col), max-pooling windows and layout changes
//! (pixel-major to channel-major before a dense layer) are all read sequences.
//!
//! ```
//! use qforge::accel::frame_buffer::{FrameBufferParams, FrameShape, Layout, ReadSequence};
//! use qforge::accel::stream::StreamShape;
//! use qforge::accel::Unit;
//! // 2×2 max pooling of a 1×4×4 image arriving 4 codes per transfer, one code out per transfer.
//! let image = FrameShape { channels: 1, height: 4, width: 4, layout: Layout::Chw };
//! let seq = ReadSequence::max_pool(image, 2, 2, Layout::Chw);
//! let x: Vec<i64> = (0..16).collect();
//! assert_eq!(seq.apply(&x), vec![5, 7, 13, 15]);
//! let shape = StreamShape { lanes: 4, lane_bits: 4, signed: false };
//! let fb = FrameBufferParams::new(shape, 1, seq, 2).unwrap();
//! assert_eq!(fb.cycles_per_frame(), 4); // 4 transfers in, 4 out, overlapped
//! assert!(fb.verilog().unwrap()[0].name.starts_with("qf_frame_buffer_i4_o1_b4_n16_g4_"));
//! ```
//!
//! ```text
//!              ┌───────────────────────────────────────────────────────────────────────┐
//!  in_data  ──▶│ bank[wbank][w·in_lanes + i] ← lane i        (w: write transfer count) │
//!  in_valid ──▶│ in_ready = ¬full[wbank]                                               │
//!  in_ready ◀──│                                                                       │
//!              │ lane l of read transfer r, group member j:                            │──▶ out_data  = per lane max_j bank[rbank][ROM_lj[r]]
//!              │   ROM_lj[r] = reads[(r·out_lanes + l)·group + j]   (frame = zero tap) │──▶ out_valid = full[rbank]
//!              │                                                                       │◀── out_ready
//!              └───────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! With two banks (double buffering) the next frame is written while the current one is read;
//! with one bank a frame is accepted only once the previous one has been emitted. A bank is
//! *full* from the edge that writes its last input transfer to the edge that reads its last
//! output transfer. `in_ready` depends on registers only (not on `out_ready`), and so do
//! `out_valid` and `out_data` (a read mux on registers).
//!
//! Limits: `frame` a multiple of `in_lanes`, the outputs (`reads / group`) a multiple of
//! `out_lanes`, every address below `frame`, and every input lane read at least once (entries
//! never read are not stored, so no flip-flop is left without a reader).
//!
//! **Latency**: 1 cycle from the last input transfer of a frame to its first output transfer
//! (`out_valid` in the next cycle), once the previous frame has been emitted.
//! **Throughput**: per frame `frame / in_lanes` input transfers and `outputs / out_lanes`
//! output transfers, one per cycle each; with two banks the two overlap, so the unit takes a
//! frame every `max(in, out)` cycles (plus the consumer's stalls), with one bank every
//! `in + out` cycles.
//! **Cost** ([`FrameBufferParams::cost`]): `banks · stored · lane_bits` flip-flops, a bank
//! select per stored bit (two banks), per read (`out_lanes · group` of them) a mux over the
//! stored entries (about one LUT4 per entry bit) and its address ROM (one LUT4 per 8 ROM bits),
//! `group − 1` comparators per lane, and the counters.

use super::mvu::Code;
use super::stream::{
    counter_bits, header, select, step_ports, stream_ports, uconst, StreamModel, StreamShape,
};
use super::unit::{Cost, Model, Unit, UnitError};
use crate::hash::Fnv1a64;
use crate::hdl::{Bits, Expr, HdlError, Module, ModuleBuilder, Port, Ty};

/// The order of a 3-D code tensor (channels × height × width) in a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    /// Channel-major: `(c · H + y) · W + x` (the golden network's layout).
    Chw,
    /// Pixel-major, channel-minor: `(y · W + x) · C + c` (what an MVU computing one output
    /// pixel per vector emits).
    Hwc,
}

/// A 3-D code tensor's dimensions and its order in a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameShape {
    /// Channels.
    pub channels: u32,
    /// Rows.
    pub height: u32,
    /// Columns.
    pub width: u32,
    /// Order in the stream.
    pub layout: Layout,
}

impl FrameShape {
    /// Codes per frame.
    pub fn len(&self) -> u32 {
        self.channels * self.height * self.width
    }

    /// Whether the frame holds no codes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The stream position of code `(c, y, x)`.
    pub fn index(&self, c: u32, y: u32, x: u32) -> u32 {
        match self.layout {
            Layout::Chw => (c * self.height + y) * self.width + x,
            Layout::Hwc => (y * self.width + x) * self.channels + c,
        }
    }
}

/// What a frame buffer emits for one frame: `reads` addresses (`None`: a zero tap), reduced by
/// the maximum of each `group` consecutive reads (1: no reduction).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReadSequence {
    /// Codes per input frame.
    pub frame: u32,
    /// Addresses into the frame in emission order; `None` reads zero.
    pub reads: Vec<Option<u32>>,
    /// Reads reduced to one output by their maximum.
    pub group: u32,
}

impl ReadSequence {
    /// The im2col windows of a convolution over `input`: for each output pixel in row-major
    /// order, its window in `[c][ky][kx]` order, zero-padded by `padding` on each side.
    pub fn im2col(
        input: FrameShape,
        kernel_h: u32,
        kernel_w: u32,
        stride: u32,
        padding: u32,
    ) -> ReadSequence {
        let s = stride.max(1);
        let out_h = (input.height + 2 * padding).saturating_sub(kernel_h) / s + 1;
        let out_w = (input.width + 2 * padding).saturating_sub(kernel_w) / s + 1;
        let mut reads = Vec::new();
        for oy in 0..out_h {
            for ox in 0..out_w {
                for c in 0..input.channels {
                    for ky in 0..kernel_h {
                        for kx in 0..kernel_w {
                            let y = i64::from(oy * s + ky) - i64::from(padding);
                            let x = i64::from(ox * s + kx) - i64::from(padding);
                            let inside = y >= 0
                                && x >= 0
                                && y < i64::from(input.height)
                                && x < i64::from(input.width);
                            reads.push(inside.then(|| input.index(c, y as u32, x as u32)));
                        }
                    }
                }
            }
        }
        ReadSequence {
            frame: input.len(),
            reads,
            group: 1,
        }
    }

    /// Max pooling of `input` over `kernel × kernel` windows with `stride` (no padding, the
    /// output floored), the pooled codes emitted in `output` layout.
    pub fn max_pool(input: FrameShape, kernel: u32, stride: u32, output: Layout) -> ReadSequence {
        let s = stride.max(1);
        let out = FrameShape {
            channels: input.channels,
            height: input.height.saturating_sub(kernel) / s + 1,
            width: input.width.saturating_sub(kernel) / s + 1,
            layout: output,
        };
        let mut reads = vec![None; (out.len() * kernel * kernel) as usize];
        for c in 0..out.channels {
            for oy in 0..out.height {
                for ox in 0..out.width {
                    let at = (out.index(c, oy, ox) * kernel * kernel) as usize;
                    for ky in 0..kernel {
                        for kx in 0..kernel {
                            reads[at + (ky * kernel + kx) as usize] =
                                Some(input.index(c, oy * s + ky, ox * s + kx));
                        }
                    }
                }
            }
        }
        ReadSequence {
            frame: input.len(),
            reads,
            group: kernel * kernel,
        }
    }

    /// The same tensor in `output` layout.
    pub fn reorder(input: FrameShape, output: Layout) -> ReadSequence {
        let out = FrameShape {
            layout: output,
            ..input
        };
        let mut reads = vec![None; input.len() as usize];
        for c in 0..input.channels {
            for y in 0..input.height {
                for x in 0..input.width {
                    reads[out.index(c, y, x) as usize] = Some(input.index(c, y, x));
                }
            }
        }
        ReadSequence {
            frame: input.len(),
            reads,
            group: 1,
        }
    }

    /// This sequence read from the outputs of `first` (a sequence without reduction): one
    /// sequence doing both, reading `first`'s input frame. With `first` a reorder this views a
    /// tensor in one layout as another tensor of the same size.
    pub fn after(&self, first: &ReadSequence) -> ReadSequence {
        ReadSequence {
            frame: first.frame,
            reads: self
                .reads
                .iter()
                .map(|a| a.and_then(|a| first.reads.get(a as usize).copied().flatten()))
                .collect(),
            group: self.group,
        }
    }

    /// Outputs per frame.
    pub fn outputs(&self) -> usize {
        self.reads.len() / self.group.max(1) as usize
    }

    /// Whether the sequence emits the frame unchanged (no buffer needed).
    pub fn is_identity(&self) -> bool {
        self.group == 1
            && self.reads.len() == self.frame as usize
            && self
                .reads
                .iter()
                .enumerate()
                .all(|(i, &a)| a == Some(i as u32))
    }

    /// The outputs of one frame of codes (the unit's semantics).
    pub fn apply(&self, frame: &[i64]) -> Vec<i64> {
        self.reads
            .chunks(self.group.max(1) as usize)
            .map(|g| {
                g.iter()
                    .map(|a| a.map_or(0, |a| frame[a as usize]))
                    .max()
                    .unwrap_or(0)
            })
            .collect()
    }
}

/// Configuration of a frame buffer. Build with [`FrameBufferParams::new`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FrameBufferParams {
    input: StreamShape,
    out_lanes: u32,
    seq: ReadSequence,
    banks: u32,
    /// Which entries some read uses.
    stored: Vec<bool>,
    tag: String,
}

fn bad(name: &'static str, value: impl ToString, rule: String) -> UnitError {
    UnitError::BadParameter {
        name,
        value: value.to_string(),
        rule,
    }
}

impl FrameBufferParams {
    /// A frame buffer taking `input` transfers and emitting `out_lanes` codes per transfer as
    /// `seq` says, with 1 or 2 banks. Checks the limits of the module docs.
    pub fn new(
        input: StreamShape,
        out_lanes: u32,
        seq: ReadSequence,
        banks: u32,
    ) -> Result<FrameBufferParams, UnitError> {
        for (name, v) in [
            ("in_lanes", input.lanes),
            ("out_lanes", out_lanes),
            ("lane_bits", input.lane_bits),
        ] {
            if !(1..=4096).contains(&v) {
                return Err(bad(name, v, "must be between 1 and 4096".into()));
            }
        }
        if input.lane_bits > 63 {
            return Err(bad(
                "lane_bits",
                input.lane_bits,
                "must be at most 63".into(),
            ));
        }
        if !(1..=2).contains(&banks) {
            return Err(bad("banks", banks, "must be 1 or 2".into()));
        }
        if !(1..=65536).contains(&seq.frame) || !seq.frame.is_multiple_of(input.lanes) {
            return Err(bad(
                "frame",
                seq.frame,
                format!(
                    "must be between 1 and 65536 and a multiple of in_lanes ({})",
                    input.lanes
                ),
            ));
        }
        if seq.group == 0
            || seq.reads.is_empty()
            || !seq.reads.len().is_multiple_of(seq.group as usize)
        {
            return Err(bad(
                "reads",
                seq.reads.len(),
                format!("must be a positive multiple of group ({})", seq.group),
            ));
        }
        if seq.reads.len() > 1 << 20 {
            return Err(bad("reads", seq.reads.len(), "must be at most 2^20".into()));
        }
        let outputs = seq.outputs();
        if !outputs.is_multiple_of(out_lanes as usize) {
            return Err(bad(
                "outputs",
                outputs,
                format!("must be a multiple of out_lanes ({out_lanes})"),
            ));
        }
        let mut stored = vec![false; seq.frame as usize];
        for &a in seq.reads.iter().flatten() {
            if a >= seq.frame {
                return Err(bad(
                    "address",
                    a,
                    format!("must be below the frame ({})", seq.frame),
                ));
            }
            stored[a as usize] = true;
        }
        let p = input.lanes as usize;
        if let Some(lane) = (0..p).find(|&l| !stored.iter().skip(l).step_by(p).any(|&s| s)) {
            return Err(bad(
                "in_lanes",
                input.lanes,
                format!("leave input lane {lane} never read: every lane must be read"),
            ));
        }
        let mut p = FrameBufferParams {
            input,
            out_lanes,
            seq,
            banks,
            stored,
            tag: String::new(),
        };
        p.tag = p.hash_tag();
        Ok(p)
    }

    fn hash_tag(&self) -> String {
        let mut h = Fnv1a64::new();
        h.u64(u64::from(self.seq.frame))
            .u64(u64::from(self.seq.group))
            .u64(u64::from(self.banks))
            .u64(u64::from(self.input.signed));
        for &a in &self.seq.reads {
            h.u64(a.map_or(u64::MAX, u64::from));
        }
        h.tag32()
    }

    /// The read sequence.
    pub fn sequence(&self) -> &ReadSequence {
        &self.seq
    }

    /// Banks (1 or 2).
    pub fn banks(&self) -> u32 {
        self.banks
    }

    /// Input stream shape.
    pub fn input_shape(&self) -> StreamShape {
        self.input
    }

    /// Output stream shape: `out_lanes` codes of the input's format.
    pub fn output_shape(&self) -> StreamShape {
        StreamShape {
            lanes: self.out_lanes,
            ..self.input
        }
    }

    /// Input transfers per frame.
    pub fn write_transfers(&self) -> u64 {
        u64::from(self.seq.frame / self.input.lanes)
    }

    /// Output transfers per frame.
    pub fn read_transfers(&self) -> u64 {
        (self.seq.outputs() / self.out_lanes as usize) as u64
    }

    /// A model of the control path only: the same handshakes as [`Unit::model`]'s, no values
    /// stored (`out_data` stays zero); the values come from [`FrameBufferParams::forward`].
    pub fn control_model(&self) -> FrameBufferModel {
        FrameBufferModel {
            values: false,
            mem: Vec::new(),
            ..self.model()
        }
    }

    /// Cycles per frame when the producer and consumer never stall: `max(in, out)` transfers
    /// with two banks, `in + out` with one.
    pub fn cycles_per_frame(&self) -> u64 {
        if self.banks == 2 {
            self.write_transfers().max(self.read_transfers())
        } else {
            self.write_transfers() + self.read_transfers()
        }
    }

    /// The output stream for an input stream of whole frames (the unit's values, computed at
    /// once).
    pub fn forward<T: Code>(&self, input: &[T]) -> Vec<i64> {
        let mut frame = Vec::with_capacity(self.seq.frame as usize);
        input
            .chunks(self.seq.frame as usize)
            .flat_map(|f| {
                frame.clear();
                frame.extend(f.iter().map(|&v| v.into()));
                self.seq.apply(&frame)
            })
            .collect()
    }

    /// The address read by lane `l`, group member `j`, of output transfer `t` (`frame`: zero).
    fn address(&self, t: u64, l: u32, j: u32) -> u32 {
        let o = t as usize * self.out_lanes as usize + l as usize;
        self.seq.reads[o * self.seq.group as usize + j as usize].unwrap_or(self.seq.frame)
    }

    fn build(&self) -> Result<Module, HdlError> {
        let h = header("frame_buffer", &self.parameters());
        let h: Vec<&str> = h.iter().map(String::as_str).collect();
        let mut m = ModuleBuilder::new(&self.name(), &h)?;
        m.clock_and_reset()?;
        let (p, s, b) = (self.input.lanes, self.out_lanes, self.input.lane_bits);
        let n = self.seq.frame;
        let (wt, rt) = (self.write_transfers(), self.read_transfers());
        let two = self.banks == 2;
        let in_data = m.input("in_data", Ty::unsigned(p * b))?;
        let in_valid = m.input("in_valid", Ty::bit())?;
        let out_ready = m.input("out_ready", Ty::bit())?;
        let full0 = m.reg("full0", Ty::bit(), 0)?;
        let full1 = if two {
            Some(m.reg("full1", Ty::bit(), 0)?)
        } else {
            None
        };
        let banks = if two {
            Some((m.reg("wbank", Ty::bit(), 0)?, m.reg("rbank", Ty::bit(), 0)?))
        } else {
            None
        };
        let wcw = counter_bits(wt);
        let rcw = counter_bits(rt);
        let w = m.reg("wcount", Ty::unsigned(wcw), 0)?;
        let r = m.reg("rcount", Ty::unsigned(rcw), 0)?;
        let (wfull, rfull) = match (&full1, &banks) {
            (Some(f1), Some((wb, rb))) => (
                m.wire("wfull", Expr::mux(wb, f1, &full0)?)?,
                m.wire("rfull", Expr::mux(rb, f1, &full0)?)?,
            ),
            _ => (full0.clone(), full0.clone()),
        };
        let ready = m.wire("ready", wfull.not())?;
        let push = m.wire("push", in_valid.and(&ready)?)?;
        let pop = m.wire("pop", rfull.and(&out_ready)?)?;
        let wlast = m.wire("wlast", w.eq(&uconst(wcw, wt - 1)?)?)?;
        let rlast = m.wire("rlast", r.eq(&uconst(rcw, rt - 1)?)?)?;
        let push_last = m.wire("push_last", push.and(&wlast)?)?;
        let pop_last = m.wire("pop_last", pop.and(&rlast)?)?;
        let w_next = Expr::mux(&wlast, &uconst(wcw, 0)?, &w.add(&uconst(wcw, 1)?)?)?;
        m.drive_reg("wcount", w_next, Some(push.clone()))?;
        let r_next = Expr::mux(&rlast, &uconst(rcw, 0)?, &r.add(&uconst(rcw, 1)?)?)?;
        m.drive_reg("rcount", r_next, Some(pop.clone()))?;
        match (&full1, &banks) {
            (Some(f1), Some((wb, rb))) => {
                for (k, f) in [(0u32, &full0), (1, f1)] {
                    let (on_w, on_r) = if k == 0 {
                        (wb.not(), rb.not())
                    } else {
                        (wb.clone(), rb.clone())
                    };
                    let set = push_last.and(&on_w)?;
                    let clear = pop_last.and(&on_r)?;
                    m.drive_reg(&format!("full{k}"), f.or(&set)?.and(&clear.not())?, None)?;
                }
                m.drive_reg("wbank", wb.not(), Some(push_last.clone()))?;
                m.drive_reg("rbank", rb.not(), Some(pop_last.clone()))?;
            }
            _ => {
                let next = full0.or(&push_last)?.and(&pop_last.not())?;
                m.drive_reg("full0", next, None)?;
            }
        }
        // Storage: the entries some read uses, in each bank.
        let mut entries: Vec<Option<Expr>> = vec![None; n as usize];
        for bank in 0..self.banks {
            for chunk in 0..wt as u32 {
                let at = (chunk * p) as usize;
                if !self.stored[at..at + p as usize].iter().any(|&x| x) {
                    continue;
                }
                let mut we = push.and(&w.eq(&uconst(wcw, u64::from(chunk))?)?)?;
                if let Some((wb, _)) = &banks {
                    let on = if bank == 0 { wb.not() } else { wb.clone() };
                    we = we.and(&on)?;
                }
                let we = m.wire(&format!("we{bank}_{chunk}"), we)?;
                for lane in 0..p {
                    let i = chunk * p + lane;
                    if !self.stored[i as usize] {
                        continue;
                    }
                    let name = format!("m{bank}_{i}");
                    m.reg(&name, Ty::unsigned(b), 0)?;
                    let v = in_data.slice((lane + 1) * b - 1, lane * b)?;
                    m.drive_reg(&name, v, Some(we.clone()))?;
                }
            }
        }
        for (i, e) in entries.iter_mut().enumerate() {
            if !self.stored[i] {
                continue;
            }
            let m0 = Expr::signal(&format!("m0_{i}"), Ty::unsigned(b));
            *e = Some(match &banks {
                Some((_, rb)) => {
                    let m1 = Expr::signal(&format!("m1_{i}"), Ty::unsigned(b));
                    m.wire(&format!("cur{i}"), Expr::mux(rb, &m1, &m0)?)?
                }
                None => m0,
            });
        }
        // The read options: every entry (unread ones are never addressed: zero stands in) and
        // the zero tap at address `frame`.
        let zero = Expr::zero(Ty::unsigned(b))?;
        let mut options: Vec<Expr> = entries
            .into_iter()
            .map(|e| e.unwrap_or_else(|| zero.clone()))
            .collect();
        let padded = self.seq.reads.iter().any(Option::is_none);
        if padded {
            options.push(zero.clone());
        }
        let aw = counter_bits(options.len() as u64);
        let mut lanes = Vec::with_capacity(s as usize);
        for l in 0..s {
            let mut best: Option<Expr> = None;
            for j in 0..self.seq.group {
                let addrs: Vec<u32> = (0..rt).map(|t| self.address(t, l, j)).collect();
                let v = if addrs.iter().all(|&a| a == addrs[0]) {
                    options[addrs[0] as usize].clone()
                } else {
                    let rom: Vec<Expr> = addrs
                        .iter()
                        .map(|&a| uconst(aw, u64::from(a)))
                        .collect::<Result<_, _>>()?;
                    let addr = select(&mut m, &format!("a{l}_{j}"), &r, rom)?;
                    let addr = m.wire(&format!("addr{l}_{j}"), addr)?;
                    let v = select(&mut m, &format!("d{l}_{j}"), &addr, options.clone())?;
                    m.wire(&format!("rd{l}_{j}"), v)?
                };
                best = Some(match best {
                    None => v,
                    Some(prev) => {
                        let gt = if self.input.signed {
                            v.as_signed().gt(&prev.as_signed())?
                        } else {
                            v.gt(&prev)?
                        };
                        m.wire(&format!("mx{l}_{j}"), Expr::mux(&gt, &v, &prev)?)?
                    }
                });
            }
            let v = best.ok_or(HdlError::BadWidth {
                what: "read group",
                width: 0,
                rule: "needs at least one read".into(),
            })?;
            lanes.push(v);
        }
        lanes.reverse();
        let out = Expr::concat(&lanes)?;
        m.output("in_ready", ready)?;
        m.output("out_data", out)?;
        m.output("out_valid", rfull)?;
        m.finish()
    }
}

impl Unit for FrameBufferParams {
    type Model = FrameBufferModel;

    /// `qf_frame_buffer_i<in_lanes>_o<out_lanes>_b<lane_bits>_n<frame>_g<group>_<hash of the
    /// reads>`.
    fn name(&self) -> String {
        format!(
            "qf_frame_buffer_i{}_o{}_b{}_n{}_g{}_{}",
            self.input.lanes,
            self.out_lanes,
            self.input.lane_bits,
            self.seq.frame,
            self.seq.group,
            self.tag
        )
    }

    fn parameters(&self) -> Vec<(String, String)> {
        vec![
            ("in_lanes".into(), self.input.lanes.to_string()),
            ("out_lanes".into(), self.out_lanes.to_string()),
            ("lane_bits".into(), self.input.lane_bits.to_string()),
            ("signed".into(), self.input.signed.to_string()),
            ("frame".into(), self.seq.frame.to_string()),
            ("reads".into(), self.seq.reads.len().to_string()),
            ("group".into(), self.seq.group.to_string()),
            ("banks".into(), self.banks.to_string()),
        ]
    }

    /// The stream ports ([`super::stream`]): `in_data` of `in_lanes`, `out_data` of
    /// `out_lanes` lanes.
    fn ports(&self) -> Vec<Port> {
        stream_ports(self.input, self.output_shape())
    }

    fn model(&self) -> FrameBufferModel {
        let mut m = FrameBufferModel {
            params: self.clone(),
            values: true,
            mem: vec![0; (self.banks * self.seq.frame) as usize],
            full: [false; 2],
            wb: 0,
            rb: 0,
            w: 0,
            r: 0,
            out: vec![0; self.out_lanes as usize],
        };
        m.refresh();
        m
    }

    fn verilog(&self) -> Result<Vec<Module>, UnitError> {
        Ok(vec![self.build()?])
    }

    /// See the module docs.
    fn cost(&self) -> Cost {
        let b = u64::from(self.input.lane_bits);
        let stored = self.stored.iter().filter(|&&x| x).count() as u64;
        let banks = u64::from(self.banks);
        let reads = u64::from(self.out_lanes) * u64::from(self.seq.group);
        let rt = self.read_transfers();
        let aw = u64::from(counter_bits(u64::from(self.seq.frame) + 1));
        let rom = if rt > 1 { rt * aw / 8 + aw } else { 0 };
        let counters =
            u64::from(counter_bits(self.write_transfers())) + u64::from(counter_bits(rt));
        let compare = u64::from(self.out_lanes) * u64::from(self.seq.group - 1) * 2 * b;
        Cost {
            lut: (banks - 1) * stored * b
                + reads * (stored * b + rom)
                + compare
                + 2 * counters
                + self.write_transfers() * banks
                + 6,
            ff: banks * stored * b + counters + 2 * banks,
            carry: counters + u64::from(self.out_lanes) * u64::from(self.seq.group - 1) * b,
            dsp: 0,
            bram: 0,
        }
    }
}

/// The frame buffer's behaviour: both banks as the RTL holds them (stale entries included), so
/// `out_data` matches in every cycle, valid or not.
#[derive(Clone, Debug)]
pub struct FrameBufferModel {
    params: FrameBufferParams,
    /// Whether the banks and `out_data` are kept (false: the control path only, `out_data` zero).
    values: bool,
    mem: Vec<i64>,
    full: [bool; 2],
    wb: usize,
    rb: usize,
    w: u64,
    r: u64,
    out: Vec<i64>,
}

impl FrameBufferModel {
    /// The unit's configuration.
    pub fn params(&self) -> &FrameBufferParams {
        &self.params
    }

    fn refresh(&mut self) {
        if !self.values {
            return;
        }
        let p = &self.params;
        let n = p.seq.frame as usize;
        let base = self.rb * n;
        for l in 0..p.out_lanes {
            let mut best: Option<i64> = None;
            for j in 0..p.seq.group {
                let a = p.address(self.r, l, j) as usize;
                let v = if a < n { self.mem[base + a] } else { 0 };
                best = Some(best.map_or(v, |b| b.max(v)));
            }
            self.out[l as usize] = best.unwrap_or(0);
        }
    }
}

impl StreamModel for FrameBufferModel {
    fn out_valid(&self) -> bool {
        self.full[self.rb]
    }

    fn out_data(&self) -> &[i64] {
        &self.out
    }

    fn in_ready(&self, _out_ready: bool) -> bool {
        !self.full[self.wb]
    }

    fn clock(&mut self, in_valid: bool, in_data: &[i64], out_ready: bool) {
        let p = &self.params;
        let push = in_valid && !self.full[self.wb];
        let pop = self.full[self.rb] && out_ready;
        let two = p.banks == 2;
        if pop {
            if self.r + 1 == p.read_transfers() {
                self.r = 0;
                self.full[self.rb] = false;
                if two {
                    self.rb ^= 1;
                }
            } else {
                self.r += 1;
            }
        }
        if push {
            if self.values {
                let lanes = p.input.lanes as usize;
                let at = self.wb * p.seq.frame as usize + self.w as usize * lanes;
                self.mem[at..at + lanes].copy_from_slice(&in_data[..lanes]);
            }
            if self.w + 1 == p.write_transfers() {
                self.w = 0;
                self.full[self.wb] = true;
                if two {
                    self.wb ^= 1;
                }
            } else {
                self.w += 1;
            }
        }
        if push || pop {
            self.refresh();
        }
    }

    fn quiet(&self, in_valid: bool, out_ready: bool) -> u64 {
        let push = in_valid && !self.full[self.wb];
        let pop = self.full[self.rb] && out_ready;
        if push || pop {
            0
        } else {
            u64::MAX
        }
    }

    fn skip(&mut self, _cycles: u64, _in_valid: bool, _out_ready: bool) {}

    /// The banks relative to the write and read pointers, not by number: the two banks are
    /// interchangeable, so states that differ only by which bank is which give the same
    /// handshakes, and double buffering repeats with a period of one frame, not two.
    fn control_state(&self, out: &mut Vec<u64>) {
        out.extend_from_slice(&[
            u64::from(self.full[self.wb]),
            u64::from(self.full[self.rb]),
            u64::from(self.wb == self.rb),
            self.w,
            self.r,
        ]);
    }

    fn reset_state(&mut self) {
        self.mem.iter_mut().for_each(|v| *v = 0);
        self.full = [false; 2];
        self.wb = 0;
        self.rb = 0;
        self.w = 0;
        self.r = 0;
        self.refresh();
    }
}

impl Model for FrameBufferModel {
    fn reset(&mut self) {
        self.reset_state();
    }

    fn step(&mut self, inputs: &[Bits]) -> Result<Vec<Bits>, UnitError> {
        let (i, o) = (self.params.input, self.params.output_shape());
        let ports = self.params.ports();
        step_ports(self, &ports, i, o, inputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chw(c: u32, h: u32, w: u32) -> FrameShape {
        FrameShape {
            channels: c,
            height: h,
            width: w,
            layout: Layout::Chw,
        }
    }

    #[test]
    fn reorder_round_trips() {
        let s = chw(3, 2, 4);
        let x: Vec<i64> = (0..24).collect();
        let hwc = ReadSequence::reorder(s, Layout::Hwc).apply(&x);
        assert_eq!(&hwc[..4], &[0, 8, 16, 1]);
        let back = ReadSequence::reorder(
            FrameShape {
                layout: Layout::Hwc,
                ..s
            },
            Layout::Chw,
        )
        .apply(&hwc);
        assert_eq!(back, x);
        assert!(ReadSequence::reorder(s, Layout::Chw).is_identity());
        assert!(!ReadSequence::reorder(s, Layout::Hwc).is_identity());
    }

    /// The control model's handshakes equal the full model's under random valid/ready, and the
    /// full model's output transfers carry exactly [`FrameBufferParams::forward`]'s stream.
    #[test]
    fn control_model_and_forward_agree_with_the_stepped_model() {
        let input = FrameShape {
            layout: Layout::Hwc,
            ..chw(2, 4, 4)
        };
        for (seq, banks) in [
            (ReadSequence::im2col(input, 3, 3, 1, 1), 2),
            (ReadSequence::max_pool(input, 2, 2, Layout::Chw), 1),
        ] {
            let shape = StreamShape {
                lanes: 2,
                lane_bits: 5,
                signed: true,
            };
            let fb = FrameBufferParams::new(shape, 2, seq, banks).unwrap();
            let (mut full, mut ctrl) = (fb.model(), fb.control_model());
            let frames: Vec<i64> = (0..32 * 5).map(|i| (i * 7 % 31) - 15).collect();
            let (mut sent, mut got) = (0usize, Vec::new());
            let mut rng = crate::accel::vectors::Rng::new(1);
            for _ in 0..4000 {
                let valid = sent < frames.len() / 2 && rng.chance(3, 4);
                let ready = rng.chance(2, 3);
                assert_eq!(full.out_valid(), ctrl.out_valid());
                assert_eq!(full.in_ready(ready), ctrl.in_ready(ready));
                if full.out_valid() && ready {
                    got.extend_from_slice(full.out_data());
                }
                let data = if valid {
                    &frames[sent * 2..sent * 2 + 2]
                } else {
                    &[0, 0][..]
                };
                if valid && full.in_ready(ready) {
                    sent += 1;
                }
                full.clock(valid, data, ready);
                ctrl.clock(valid, data, ready);
            }
            assert_eq!(sent, frames.len() / 2);
            assert_eq!(got, fb.forward(&frames));
        }
    }

    #[test]
    fn bad_parameters_name_the_rule() {
        let shape = StreamShape {
            lanes: 3,
            lane_bits: 4,
            signed: false,
        };
        let seq = ReadSequence::reorder(chw(1, 2, 4), Layout::Hwc);
        let e = FrameBufferParams::new(shape, 1, seq.clone(), 2).unwrap_err();
        assert_eq!(
            e.to_string(),
            "frame (8) must be between 1 and 65536 and a multiple of in_lanes (3)"
        );
        let shape = StreamShape { lanes: 2, ..shape };
        let e = FrameBufferParams::new(shape, 3, seq.clone(), 2).unwrap_err();
        assert_eq!(
            e.to_string(),
            "outputs (8) must be a multiple of out_lanes (3)"
        );
        let e = FrameBufferParams::new(shape, 2, seq.clone(), 3).unwrap_err();
        assert_eq!(e.to_string(), "banks (3) must be 1 or 2");
        let odd = ReadSequence {
            frame: 8,
            reads: (0..4).map(|i| Some(2 * i)).collect(),
            group: 1,
        };
        let e = FrameBufferParams::new(shape, 2, odd, 2).unwrap_err();
        assert_eq!(
            e.to_string(),
            "in_lanes (2) leave input lane 1 never read: every lane must be read"
        );
    }
}
