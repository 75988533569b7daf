//! Stream FIFO: `depth` entries of one stream transfer each, registered output.
//!
//! ```text
//!              ┌─────────────────────────────────────┐
//!  in_data  ──▶│ r[0] ◀─ r[1] ◀─ ... ◀─ r[depth-1]   │──▶ out_data  (= r[0])
//!  in_valid ──▶│ push at r[count] (r[count-1] if pop) │──▶ out_valid (= count != 0)
//!  in_ready ◀──│ count < depth                        │◀── out_ready
//!              └─────────────────────────────────────┘
//! ```
//!
//! A shift-register FIFO: the head is always `r[0]`, so `out_data` is a register, not a read
//! mux. `in_ready` is `count < depth` and does not look at `out_ready`, so a FIFO cuts the
//! combinational ready path of a chain. A full FIFO takes no input in the cycle it pops.
//!
//! **Latency**: 1 cycle (a value pushed at an edge is at the output in the next cycle).
//! **Throughput**: one transfer per cycle from depth 2 on; a depth-1 FIFO moves one value every
//! other cycle when both sides are always ready.
//! **Cost** ([`FifoParams::cost`]): `depth · width` flip-flops and as many LUT4 for the entry
//! muxes (a 3-input choice per bit: hold, shift, load), plus the count's adder and compares.

use super::stream::{counter_bits, header, step_ports, stream_ports, StreamModel, StreamShape};
use super::unit::{Cost, Model, Unit, UnitError};
use crate::hdl::{Bits, Expr, HdlError, Module, ModuleBuilder, Port, Ty};

/// Configuration of a FIFO. Build with [`FifoParams::new`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FifoParams {
    shape: StreamShape,
    depth: u32,
}

impl FifoParams {
    /// A FIFO of `depth` (1..=4096) transfers of `shape`.
    pub fn new(shape: StreamShape, depth: u32) -> Result<FifoParams, UnitError> {
        if !(1..=4096).contains(&depth) {
            return Err(UnitError::BadParameter {
                name: "depth",
                value: depth.to_string(),
                rule: "must be between 1 and 4096".into(),
            });
        }
        if shape.lanes == 0 || shape.lane_bits == 0 {
            return Err(UnitError::BadParameter {
                name: "width",
                value: shape.width().to_string(),
                rule: "must be at least 1".into(),
            });
        }
        Ok(FifoParams { shape, depth })
    }

    /// Entries.
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// The stream it carries.
    pub fn shape(&self) -> StreamShape {
        self.shape
    }

    fn build(&self) -> Result<Module, HdlError> {
        let h = header("fifo", &self.parameters());
        let h: Vec<&str> = h.iter().map(String::as_str).collect();
        let mut m = ModuleBuilder::new(&self.name(), &h)?;
        m.clock_and_reset()?;
        let w = self.shape.width();
        let d = self.depth;
        let in_data = m.input("in_data", Ty::unsigned(w))?;
        let in_valid = m.input("in_valid", Ty::bit())?;
        let out_ready = m.input("out_ready", Ty::bit())?;
        let cw = counter_bits(u64::from(d) + 1);
        let count = m.reg("count", Ty::unsigned(cw), 0)?;
        let c = |v: u32| Expr::int(Ty::unsigned(cw), i128::from(v));
        let valid = m.wire("valid", count.ne(&c(0)?)?)?;
        let ready = m.wire("ready", count.lt(&c(d)?)?)?;
        let pop = m.wire("pop", valid.and(&out_ready)?)?;
        let push = m.wire("push", in_valid.and(&ready)?)?;
        let regs: Vec<Expr> = (0..d)
            .map(|i| m.reg(&format!("r{i}"), Ty::unsigned(w), 0))
            .collect::<Result<_, _>>()?;
        let load = m.wire("load", push.or(&pop)?)?;
        for i in 0..d {
            // With a pop every entry shifts down and a push lands one lower.
            let next_entry = if i + 1 < d {
                regs[i as usize + 1].clone()
            } else {
                regs[i as usize].clone()
            };
            let at_pop = push.and(&count.eq(&c(i + 1)?)?)?;
            let at_hold = push.and(&count.eq(&c(i)?)?)?;
            let if_pop = Expr::mux(&at_pop, &in_data, &next_entry)?;
            let if_hold = Expr::mux(&at_hold, &in_data, &regs[i as usize])?;
            m.drive_reg(
                &format!("r{i}"),
                Expr::mux(&pop, &if_pop, &if_hold)?,
                Some(load.clone()),
            )?;
        }
        let one = c(1)?;
        let zero = c(0)?;
        let inc = Expr::mux(&push, &one, &zero)?;
        let dec = Expr::mux(&pop, &one, &zero)?;
        m.drive_reg("count", count.add(&inc)?.sub(&dec)?, None)?;
        m.output("in_ready", ready)?;
        m.output("out_data", regs[0].clone())?;
        m.output("out_valid", valid)?;
        m.finish()
    }
}

impl Unit for FifoParams {
    type Model = FifoModel;

    /// `qf_fifo_w<width>_d<depth>`.
    fn name(&self) -> String {
        format!("qf_fifo_w{}_d{}", self.shape.width(), self.depth)
    }

    fn parameters(&self) -> Vec<(String, String)> {
        vec![
            ("lanes".into(), self.shape.lanes.to_string()),
            ("lane_bits".into(), self.shape.lane_bits.to_string()),
            ("depth".into(), self.depth.to_string()),
        ]
    }

    /// The stream ports ([`super::stream`]), `in_data` and `out_data` of the same shape.
    fn ports(&self) -> Vec<Port> {
        stream_ports(self.shape, self.shape)
    }

    fn model(&self) -> FifoModel {
        FifoModel {
            params: self.clone(),
            regs: vec![0; (self.depth * self.shape.lanes) as usize],
            count: 0,
        }
    }

    fn verilog(&self) -> Result<Vec<Module>, UnitError> {
        Ok(vec![self.build()?])
    }

    /// `depth · width` FF and LUT4 for the entries, `2 · ⌈log2(depth + 1)⌉` LUT4 and carries
    /// for the count, and its flip-flops.
    fn cost(&self) -> Cost {
        let bits = u64::from(self.depth) * u64::from(self.shape.width());
        let cw = u64::from(counter_bits(u64::from(self.depth) + 1));
        Cost {
            lut: bits + 2 * cw + 4,
            ff: bits + cw,
            carry: cw,
            dsp: 0,
            bram: 0,
        }
    }
}

/// The FIFO's behaviour: its entry registers exactly as the RTL holds them (stale entries
/// included), so `out_data` matches in every cycle, valid or not.
#[derive(Clone, Debug)]
pub struct FifoModel {
    params: FifoParams,
    /// `r[0] .. r[depth-1]`, `lanes` codes each.
    regs: Vec<i64>,
    count: usize,
}

impl FifoModel {
    /// Transfers held.
    pub fn count(&self) -> usize {
        self.count
    }
}

impl StreamModel for FifoModel {
    fn out_valid(&self) -> bool {
        self.count != 0
    }

    fn out_data(&self) -> &[i64] {
        &self.regs[..self.params.shape.lanes as usize]
    }

    fn in_ready(&self, _out_ready: bool) -> bool {
        self.count < self.params.depth as usize
    }

    fn clock(&mut self, in_valid: bool, in_data: &[i64], out_ready: bool) {
        let lanes = self.params.shape.lanes as usize;
        let depth = self.params.depth as usize;
        let push = in_valid && self.count < depth;
        let pop = self.count != 0 && out_ready;
        if pop {
            // Every entry shifts down; the last one keeps its value.
            self.regs.copy_within(lanes.., 0);
        }
        if push {
            let at = if pop { self.count - 1 } else { self.count };
            self.regs[at * lanes..(at + 1) * lanes].copy_from_slice(&in_data[..lanes]);
        }
        self.count = self.count + usize::from(push) - usize::from(pop);
    }

    fn quiet(&self, in_valid: bool, out_ready: bool) -> u64 {
        let push = in_valid && self.count < self.params.depth as usize;
        let pop = self.count != 0 && out_ready;
        if push || pop {
            0
        } else {
            u64::MAX
        }
    }

    fn skip(&mut self, _cycles: u64, _in_valid: bool, _out_ready: bool) {}

    fn control_state(&self, out: &mut Vec<u64>) {
        out.push(self.count as u64);
    }

    fn reset_state(&mut self) {
        self.count = 0;
        self.regs.iter_mut().for_each(|v| *v = 0);
    }
}

impl Model for FifoModel {
    fn reset(&mut self) {
        self.reset_state();
    }

    fn step(&mut self, inputs: &[Bits]) -> Result<Vec<Bits>, UnitError> {
        let shape = self.params.shape;
        let ports = self.params.ports();
        step_ports(self, &ports, shape, shape, inputs)
    }
}
