//! The network top: a chain of streaming stages (MVUs, FIFOs, width converters, frame buffers)
//! between one input stream of activation codes and one output stream of logits.
//!
//! A convolution is a frame buffer emitting im2col windows into an MVU that computes one output
//! pixel per vector; a max pooling is a frame buffer alone; frame buffers also reorder a
//! pixel-major tensor into the channel-major order a dense layer (or the output) expects. The
//! first and the last stage may be either an MVU or a frame buffer.
//!
//! ```text
//!  in_data [SIMD0·A0] ─▶┌────────┐   ┌──────┐   ┌──────────┐   ┌────────┐
//!  in_valid ───────────▶│ MVU 0  │──▶│ FIFO │──▶│ P0 → S1  │──▶│ MVU 1  │──▶ ... ──▶ out_data [PEn·ACCn]
//!  in_ready ◀───────────│        │◀──│      │◀──│ (if ≠)   │◀──│        │◀── ... ◀── out_ready
//!                       └────────┘   └──────┘   └──────────┘   └────────┘            out_valid
//!
//!  a CNN (conv, max pool, dense), the digits one of the tests:
//!  in [1 code] ─▶ fb (im2col, 3×3 windows) ─▶ MVU (conv, 64 vectors) ─▶ FIFO ─▶ fb (2×2 max,
//!  pixel-major in, channel-major out) ─▶ MVU (dense) ─▶ out
//! ```
//!
//! Ports (the stream ports of [`super::stream`]): `clk`, `rst` (synchronous, active high),
//! `in_data` (`L0` input codes of `A0` bits, `L0` the first stage's input lanes; input `i` of an
//! image in chunk `i / L0`, lane `i % L0`, images in the golden network's CHW order),
//! `in_valid`, `out_ready` → `in_ready`, `out_data` (the last stage's lanes, raw accumulators
//! of `ACC` bits each, two's complement, for a final dense or convolution layer; output `j` in
//! transfer `j / lanes`, lane `j % lanes`), `out_valid`. Instances are `u<i>_<kind>` in chain
//! order; their output wires are `u<i>_<kind>_in_ready`, `..._out_data`, `..._out_valid` (the
//! names the simulator's VCD uses).
//!
//! **Latency**: the sum of the stages' (see each unit). **Cost**: the sum of the stages' costs.

use super::fifo::{FifoModel, FifoParams};
use super::frame_buffer::{FrameBufferModel, FrameBufferParams};
use super::mvu::{Code, MvuModel, MvuParams, MvuStats};
use super::stream::{header, step_ports, stream_ports, StreamModel, StreamShape};
use super::unit::{Cost, Model, Unit, UnitError};
use super::width_converter::{WidthConverterModel, WidthConverterParams};
use crate::hdl::{Bits, Expr, HdlError, Module, ModuleBuilder, Port, Ty};

/// One stage of the chain.
// A chain holds a handful of stages: their size does not matter, direct access does.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    /// A layer.
    Mvu(MvuParams),
    /// A FIFO between layers.
    Fifo(FifoParams),
    /// A width converter between layers.
    WidthConverter(WidthConverterParams),
    /// A frame buffer: convolution windows, max pooling or a layout change.
    FrameBuffer(FrameBufferParams),
}

impl Stage {
    /// `mvu`, `fifo`, `wc` or `fb`.
    pub fn kind(&self) -> &'static str {
        match self {
            Stage::Mvu(_) => "mvu",
            Stage::Fifo(_) => "fifo",
            Stage::WidthConverter(_) => "wc",
            Stage::FrameBuffer(_) => "fb",
        }
    }

    /// The input stream's shape.
    pub fn input_shape(&self) -> StreamShape {
        match self {
            Stage::Mvu(u) => u.input_shape(),
            Stage::Fifo(u) => u.shape(),
            Stage::WidthConverter(u) => u.input_shape(),
            Stage::FrameBuffer(u) => u.input_shape(),
        }
    }

    /// The output stream's shape.
    pub fn output_shape(&self) -> StreamShape {
        match self {
            Stage::Mvu(u) => u.output_shape(),
            Stage::Fifo(u) => u.shape(),
            Stage::WidthConverter(u) => u.output_shape(),
            Stage::FrameBuffer(u) => u.output_shape(),
        }
    }

    /// Cycles per image when fed and drained without stalls (0 for FIFOs and width
    /// converters, which move a transfer per cycle and so never set the pace alone).
    pub fn cycles_per_image(&self) -> u64 {
        match self {
            Stage::Mvu(u) => u.cycles_per_image(),
            Stage::FrameBuffer(u) => u.cycles_per_frame(),
            Stage::Fifo(_) | Stage::WidthConverter(_) => 0,
        }
    }

    /// The stage's ports.
    pub fn ports(&self) -> Vec<Port> {
        match self {
            Stage::Mvu(u) => u.ports(),
            Stage::Fifo(u) => u.ports(),
            Stage::WidthConverter(u) => u.ports(),
            Stage::FrameBuffer(u) => u.ports(),
        }
    }

    /// The stage's modules, dependencies first.
    pub fn verilog(&self) -> Result<Vec<Module>, UnitError> {
        match self {
            Stage::Mvu(u) => u.verilog(),
            Stage::Fifo(u) => u.verilog(),
            Stage::WidthConverter(u) => u.verilog(),
            Stage::FrameBuffer(u) => u.verilog(),
        }
    }

    /// The stage's cost.
    pub fn cost(&self) -> Cost {
        match self {
            Stage::Mvu(u) => u.cost(),
            Stage::Fifo(u) => u.cost(),
            Stage::WidthConverter(u) => u.cost(),
            Stage::FrameBuffer(u) => u.cost(),
        }
    }

    /// The stage's output stream for a whole input stream (codes in transfer order, lanes in
    /// order): an MVU maps each input vector to its output vector with its own arithmetic
    /// ([`MvuParams::forward`]); a frame buffer maps each frame to its read sequence's outputs
    /// ([`FrameBufferParams::forward`]); FIFOs and width converters pass the codes on unchanged.
    pub fn forward<T: Code>(&self, input: &[T]) -> Vec<i64> {
        match self {
            Stage::Mvu(u) => u.forward(input),
            Stage::FrameBuffer(u) => u.forward(input),
            Stage::Fifo(_) | Stage::WidthConverter(_) => input.iter().map(|&v| v.into()).collect(),
        }
    }

    fn control_model(&self) -> StageModel {
        match self {
            Stage::Mvu(u) => StageModel::Mvu(u.control_model()),
            Stage::Fifo(u) => StageModel::Fifo(u.model()),
            Stage::WidthConverter(u) => StageModel::WidthConverter(u.model()),
            Stage::FrameBuffer(u) => StageModel::FrameBuffer(u.control_model()),
        }
    }

    fn model(&self) -> StageModel {
        match self {
            Stage::Mvu(u) => StageModel::Mvu(u.model()),
            Stage::Fifo(u) => StageModel::Fifo(u.model()),
            Stage::WidthConverter(u) => StageModel::WidthConverter(u.model()),
            Stage::FrameBuffer(u) => StageModel::FrameBuffer(u.model()),
        }
    }

    fn data_width(&self, input: bool) -> u32 {
        let ports = self.ports();
        let name = if input { "in_data" } else { "out_data" };
        ports
            .iter()
            .find(|p| p.name == name)
            .map_or(0, |p| p.ty.width)
    }
}

/// Configuration of a network top. Build with [`NetworkParams::new`].
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkParams {
    name: String,
    stages: Vec<Stage>,
    input: StreamShape,
    output: StreamShape,
    in_codes: usize,
    out_codes: usize,
}

impl NetworkParams {
    /// A chain of stages; each stage's input bus must be as wide as the previous one's output,
    /// and the first and last stages must be MVUs or frame buffers (they say how many codes an
    /// image has).
    pub fn new(name: &str, stages: Vec<Stage>) -> Result<NetworkParams, UnitError> {
        let in_codes = match stages.first() {
            Some(Stage::Mvu(u)) => Some(u.vectors() as usize * (u.sf() * u.simd()) as usize),
            Some(Stage::FrameBuffer(u)) => Some(u.sequence().frame as usize),
            _ => None,
        };
        let out_codes = match stages.last() {
            Some(Stage::Mvu(u)) => Some(u.vectors() as usize * (u.nf() * u.pe()) as usize),
            Some(Stage::FrameBuffer(u)) => Some(u.sequence().outputs()),
            _ => None,
        };
        let (Some(in_codes), Some(out_codes)) = (in_codes, out_codes) else {
            return Err(UnitError::Input(
                "a network needs an MVU or a frame buffer first and last".into(),
            ));
        };
        let (input, output) = (
            stages[0].input_shape(),
            stages[stages.len() - 1].output_shape(),
        );
        for (i, pair) in stages.windows(2).enumerate() {
            let (a, b) = (pair[0].data_width(false), pair[1].data_width(true));
            if a != b {
                return Err(UnitError::BadParameter {
                    name: "stream width",
                    value: format!("{a}"),
                    rule: format!(
                        "of stage {i} ({}) must equal the {b}-bit input of stage {} ({})",
                        pair[0].kind(),
                        i + 1,
                        pair[1].kind()
                    ),
                });
            }
        }
        crate::hdl::check_name(name).map_err(UnitError::Hdl)?;
        Ok(NetworkParams {
            name: name.to_string(),
            stages,
            input,
            output,
            in_codes,
            out_codes,
        })
    }

    /// Input codes per image.
    pub fn in_codes_per_image(&self) -> usize {
        self.in_codes
    }

    /// Output codes per image.
    pub fn out_codes_per_image(&self) -> usize {
        self.out_codes
    }

    /// Output transfers per image.
    pub fn out_transfers_per_image(&self) -> u64 {
        (self.out_codes / self.output.lanes as usize) as u64
    }

    /// The ideal initiation interval: the slowest stage's cycles per image
    /// ([`Stage::cycles_per_image`]).
    pub fn initiation_interval(&self) -> u64 {
        self.stages
            .iter()
            .map(Stage::cycles_per_image)
            .max()
            .unwrap_or(1)
            .max(1)
    }

    /// The stages in chain order.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The input stream's shape.
    pub fn input_shape(&self) -> StreamShape {
        self.input
    }

    /// The output stream's shape.
    pub fn output_shape(&self) -> StreamShape {
        self.output
    }

    /// The network's outputs for whole input images ([`NetworkParams::in_codes_per_image`]
    /// codes each), every stage's stream computed at once ([`Stage::forward`]): the values the
    /// streams carry, in order.
    pub fn forward(&self, codes: &[i32]) -> Vec<i64> {
        let mut stream: Option<Vec<i64>> = None;
        for s in &self.stages {
            if let Stage::Mvu(_) | Stage::FrameBuffer(_) = s {
                // FIFOs and width converters are the identity.
                stream = Some(match &stream {
                    Some(x) => s.forward(x),
                    None => s.forward(codes),
                });
            }
        }
        stream.unwrap_or_else(|| codes.iter().map(|&c| i64::from(c)).collect())
    }

    /// A model of the control path only: the same timing as [`Unit::model`]'s, no values
    /// (see [`MvuModel`]).
    pub fn control_model(&self) -> NetworkModel {
        let models: Vec<StageModel> = self.stages.iter().map(Stage::control_model).collect();
        let stages = self
            .stages
            .iter()
            .map(|s| match s {
                Stage::Mvu(u) => Stage::Mvu(u.without_weights()),
                other => other.clone(),
            })
            .collect();
        NetworkModel {
            params: NetworkParams {
                stages,
                name: self.name.clone(),
                ..*self
            },
            ready: vec![false; models.len() + 1],
            stages: models,
        }
    }

    /// The instance name of stage `i`.
    pub fn instance(&self, i: usize) -> String {
        format!("u{i}_{}", self.stages[i].kind())
    }

    fn build(&self, tops: &[Module]) -> Result<Module, HdlError> {
        let h = header("network", &self.parameters());
        let h: Vec<&str> = h.iter().map(String::as_str).collect();
        let mut m = ModuleBuilder::new(&self.name(), &h)?;
        let (clk, rst) = m.clock_and_reset()?;
        let mut data = m.input("in_data", Ty::unsigned(self.input.width()))?;
        let mut valid = m.input("in_valid", Ty::bit())?;
        let out_ready = m.input("out_ready", Ty::bit())?;
        let n = self.stages.len();
        let mut first_ready = None;
        for (i, top) in tops.iter().enumerate() {
            let ready = if i + 1 < n {
                // The next stage's in_ready, declared by its instance below.
                Expr::signal(&format!("{}_in_ready", self.instance(i + 1)), Ty::bit())
            } else {
                out_ready.clone()
            };
            let outs = m.instance(
                top,
                &self.instance(i),
                &[
                    ("clk", clk.clone()),
                    ("rst", rst.clone()),
                    ("in_data", data.clone()),
                    ("in_valid", valid.clone()),
                    ("out_ready", ready),
                ],
            )?;
            if i == 0 {
                first_ready = Some(outs[0].clone());
            }
            data = outs[1].clone();
            valid = outs[2].clone();
        }
        let in_ready = first_ready.ok_or(HdlError::Driver {
            what: "network",
            name: self.name(),
            rule: "has no stages",
        })?;
        m.output("in_ready", in_ready)?;
        m.output("out_data", data)?;
        m.output("out_valid", valid)?;
        m.finish()
    }
}

impl Unit for NetworkParams {
    type Model = NetworkModel;

    /// `qf_net_<name>`.
    fn name(&self) -> String {
        format!("qf_net_{}", self.name)
    }

    fn parameters(&self) -> Vec<(String, String)> {
        let mut v = vec![("stages".to_string(), self.stages.len().to_string())];
        for (i, s) in self.stages.iter().enumerate() {
            let desc = match s {
                Stage::Mvu(u) => format!(
                    "{} layer {} pe {} simd {} fold {}",
                    u.name(),
                    u.layer(),
                    u.pe(),
                    u.simd(),
                    u.fold()
                ),
                Stage::Fifo(u) => format!("{} depth {}", u.name(), u.depth()),
                Stage::WidthConverter(u) => u.name(),
                Stage::FrameBuffer(u) => format!(
                    "{} frame {} outputs {} banks {}",
                    u.name(),
                    u.sequence().frame,
                    u.sequence().outputs(),
                    u.banks()
                ),
            };
            v.push((self.instance(i), desc));
        }
        v
    }

    /// The stream ports: `in_data` of the first stage's input shape, `out_data` of the last
    /// stage's output shape.
    fn ports(&self) -> Vec<Port> {
        stream_ports(self.input, self.output)
    }

    fn model(&self) -> NetworkModel {
        let models: Vec<StageModel> = self.stages.iter().map(Stage::model).collect();
        NetworkModel {
            params: self.clone(),
            ready: vec![false; models.len() + 1],
            stages: models,
        }
    }

    fn verilog(&self) -> Result<Vec<Module>, UnitError> {
        let mut seen = std::collections::BTreeSet::new();
        let mut modules = Vec::new();
        let mut tops = Vec::new();
        for s in &self.stages {
            let ms = s.verilog()?;
            let top = ms
                .last()
                .cloned()
                .ok_or_else(|| UnitError::Input("a stage produced no module".into()))?;
            for m in ms {
                if seen.insert(m.name.clone()) {
                    modules.push(m);
                }
            }
            tops.push(top);
        }
        modules.push(self.build(&tops)?);
        Ok(modules)
    }

    /// The sum of the stages' estimates.
    fn cost(&self) -> Cost {
        let mut costs = self.stages.iter().map(Stage::cost);
        // new() guarantees at least one stage.
        let first = costs.next().unwrap_or(Cost {
            lut: 0,
            ff: 0,
            carry: 0,
            dsp: 0,
            bram: 0,
        });
        costs.fold(first, |a, b| a + b)
    }
}

/// The behaviour of one stage.
// A chain holds a handful of stages, stepped every cycle: no indirection on the hot path.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum StageModel {
    /// An MVU.
    Mvu(MvuModel),
    /// A FIFO.
    Fifo(FifoModel),
    /// A width converter.
    WidthConverter(WidthConverterModel),
    /// A frame buffer.
    FrameBuffer(FrameBufferModel),
}

/// Calls the same method on whichever unit a stage holds (static dispatch: these run every
/// simulated cycle).
macro_rules! each {
    ($s:expr, $m:ident => $e:expr) => {
        match $s {
            StageModel::Mvu($m) => $e,
            StageModel::Fifo($m) => $e,
            StageModel::WidthConverter($m) => $e,
            StageModel::FrameBuffer($m) => $e,
        }
    };
}

impl StreamModel for StageModel {
    #[inline]
    fn out_valid(&self) -> bool {
        each!(self, m => m.out_valid())
    }

    #[inline]
    fn out_data(&self) -> &[i64] {
        each!(self, m => m.out_data())
    }

    #[inline]
    fn in_ready(&self, out_ready: bool) -> bool {
        each!(self, m => m.in_ready(out_ready))
    }

    #[inline]
    fn clock(&mut self, in_valid: bool, in_data: &[i64], out_ready: bool) {
        each!(self, m => m.clock(in_valid, in_data, out_ready))
    }

    fn reset_state(&mut self) {
        each!(self, m => m.reset_state())
    }

    #[inline]
    fn quiet(&self, in_valid: bool, out_ready: bool) -> u64 {
        each!(self, m => m.quiet(in_valid, out_ready))
    }

    #[inline]
    fn skip(&mut self, cycles: u64, in_valid: bool, out_ready: bool) {
        each!(self, m => m.skip(cycles, in_valid, out_ready))
    }

    fn control_state(&self, out: &mut Vec<u64>) {
        each!(self, m => m.control_state(out))
    }
}

/// The network's behaviour: the stages' models, stepped together.
#[derive(Clone, Debug)]
pub struct NetworkModel {
    params: NetworkParams,
    stages: Vec<StageModel>,
    /// `ready[i]`: stage `i`'s `in_ready` in the current cycle; `ready[n]` = `out_ready`.
    ready: Vec<bool>,
}

impl NetworkModel {
    /// The stages' models in chain order.
    pub fn stages(&self) -> &[StageModel] {
        &self.stages
    }

    /// The configuration.
    pub fn params(&self) -> &NetworkParams {
        &self.params
    }

    /// The activity counters of the MVUs, in chain order.
    pub fn mvu_stats(&self) -> Vec<MvuStats> {
        self.stages
            .iter()
            .filter_map(|s| match s {
                StageModel::Mvu(m) => Some(m.stats()),
                _ => None,
            })
            .collect()
    }

    /// Adds `times` × `delta[i]` to the counters of the `i`-th MVU (for periods crossed at
    /// once).
    pub(crate) fn add_mvu_stats(&mut self, delta: &[MvuStats], times: u64) {
        let mvus = self.stages.iter_mut().filter_map(|s| match s {
            StageModel::Mvu(m) => Some(m),
            _ => None,
        });
        for (m, d) in mvus.zip(delta) {
            m.add_stats(*d, times);
        }
    }
}

impl StreamModel for NetworkModel {
    fn out_valid(&self) -> bool {
        self.stages.last().is_some_and(|s| s.out_valid())
    }

    fn out_data(&self) -> &[i64] {
        match self.stages.last() {
            Some(s) => s.out_data(),
            None => &[],
        }
    }

    fn in_ready(&self, out_ready: bool) -> bool {
        let mut ready = out_ready;
        for s in self.stages.iter().rev() {
            ready = s.in_ready(ready);
        }
        ready
    }

    fn clock(&mut self, in_valid: bool, in_data: &[i64], out_ready: bool) {
        let n = self.stages.len();
        self.ready[n] = out_ready;
        for i in (0..n).rev() {
            self.ready[i] = self.stages[i].in_ready(self.ready[i + 1]);
        }
        // Last stage first, so every stage still sees its predecessor's outputs from before
        // the edge.
        for i in (0..n).rev() {
            let (before, rest) = self.stages.split_at_mut(i);
            let (valid, data) = match before.last() {
                Some(prev) => {
                    let s = prev;
                    (s.out_valid(), s.out_data())
                }
                None => (in_valid, in_data),
            };
            rest[0].clock(valid, data, self.ready[i + 1]);
        }
    }

    fn quiet(&self, in_valid: bool, out_ready: bool) -> u64 {
        let n = self.stages.len();
        let mut ready = out_ready;
        let mut k = u64::MAX;
        for i in (0..n).rev() {
            let valid = match i {
                0 => in_valid,
                _ => self.stages[i - 1].out_valid(),
            };
            let s = &self.stages[i];
            k = k.min(s.quiet(valid, ready));
            if k == 0 {
                return 0;
            }
            ready = s.in_ready(ready);
        }
        k
    }

    fn skip(&mut self, cycles: u64, in_valid: bool, out_ready: bool) {
        let n = self.stages.len();
        self.ready[n] = out_ready;
        for i in (0..n).rev() {
            self.ready[i] = self.stages[i].in_ready(self.ready[i + 1]);
        }
        for i in 0..n {
            let valid = match i {
                0 => in_valid,
                _ => self.stages[i - 1].out_valid(),
            };
            let ready = self.ready[i + 1];
            self.stages[i].skip(cycles, valid, ready);
        }
    }

    fn control_state(&self, out: &mut Vec<u64>) {
        for s in &self.stages {
            s.control_state(out);
        }
    }

    fn reset_state(&mut self) {
        for s in &mut self.stages {
            s.reset_state();
        }
    }
}

impl Model for NetworkModel {
    fn reset(&mut self) {
        for s in &mut self.stages {
            match s {
                StageModel::Mvu(m) => Model::reset(m),
                StageModel::Fifo(m) => Model::reset(m),
                StageModel::WidthConverter(m) => Model::reset(m),
                StageModel::FrameBuffer(m) => Model::reset(m),
            }
        }
    }

    fn step(&mut self, inputs: &[Bits]) -> Result<Vec<Bits>, UnitError> {
        let (i, o) = (self.params.input, self.params.output);
        let ports = self.params.ports();
        step_ports(self, &ports, i, o, inputs)
    }
}

/// The `qf_tb_dut` replay wrapper (sim/README.md) around a network top `top`:
/// `tb_in` = `rst`, `in_valid`, `in_data`, `out_ready` and `tb_out` = `out_valid`, `out_data`
/// (forced to zero while `out_valid` is low: its value then means nothing), `in_ready`, each
/// least significant first (see [`super::sim::wrapper_widths`]).
pub fn net_wrapper(net: &NetworkParams, top: &Module) -> Result<Module, UnitError> {
    let (in_w, _) = super::sim::wrapper_widths(net);
    let wi = net.input_shape().width();
    let wo = net.output_shape().width();
    let header = [
        "unit: replay wrapper (sim/README.md)".to_string(),
        "tb_in: rst, in_valid, in_data, out_ready (LSB first)".to_string(),
        "tb_out: out_valid, out_data (0 unless out_valid), in_ready (LSB first)".to_string(),
        format!("u0: {}", top.name),
    ];
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let build = || -> Result<Module, HdlError> {
        let mut m = ModuleBuilder::new("qf_tb_dut", &header)?;
        let clk = m.input("clk", Ty::bit())?;
        let tb_in = m.input("tb_in", Ty::unsigned(in_w))?;
        let outs = m.instance(
            top,
            "u0",
            &[
                ("clk", clk),
                ("rst", tb_in.bit(0)?),
                ("in_valid", tb_in.bit(1)?),
                ("in_data", tb_in.slice(wi + 1, 2)?),
                ("out_ready", tb_in.bit(wi + 2)?),
            ],
        )?;
        let (in_ready, out_data, out_valid) = (&outs[0], &outs[1], &outs[2]);
        let shown = Expr::mux(out_valid, out_data, &Expr::zero(Ty::unsigned(wo))?)?;
        m.output(
            "tb_out",
            Expr::concat(&[in_ready.clone(), shown, out_valid.clone()])?,
        )?;
        m.finish()
    };
    Ok(build()?)
}
