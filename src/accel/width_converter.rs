//! Stream width converter: `in_lanes` codes per input transfer to `out_lanes` per output
//! transfer, order preserved (any two lane counts, not only multiples).
//!
//! ```text
//!              ┌──────────────────────────────────────────────┐
//!  in_data  ──▶│ buf: capacity C = in_lanes + out_lanes − 1    │──▶ out_data  = buf lanes 0 .. out_lanes−1
//!  in_valid ──▶│ lanes 0 .. count−1 hold codes, oldest first   │──▶ out_valid = count ≥ out_lanes
//!  in_ready ◀──│ count − (pop ? out_lanes : 0) + in_lanes ≤ C  │◀── out_ready
//!              └──────────────────────────────────────────────┘
//! ```
//!
//! Per cycle: a pop drops the `out_lanes` oldest codes (a wired shift), a push writes the input
//! lanes right after the codes that remain (a mux over the possible fill levels). `in_ready`
//! depends on `out_ready` in the same cycle. The capacity `C` is the smallest with no deadlock:
//! while fewer than `out_lanes` codes are held, an input always fits.
//!
//! **Latency**: 1 cycle when the input completes an output transfer.
//! **Cost** ([`WidthConverterParams::cost`]): `C · lane_bits` flip-flops; per buffer bit one
//! LUT4 for the shift and one per possible fill level that can write it; the count's adders.

use super::stream::{
    counter_bits, header, select, step_ports, stream_ports, uconst, StreamModel, StreamShape,
};
use super::unit::{Cost, Model, Unit, UnitError};
use crate::hdl::{Bits, Expr, HdlError, Module, ModuleBuilder, Port, Ty};
use std::collections::VecDeque;

/// Configuration of a width converter. Build with [`WidthConverterParams::new`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WidthConverterParams {
    in_lanes: u32,
    out_lanes: u32,
    lane_bits: u32,
    signed: bool,
}

impl WidthConverterParams {
    /// A converter of `lane_bits`-bit codes (two's complement if `signed`) from `in_lanes` to
    /// `out_lanes` per transfer (each 1..=4096).
    pub fn new(
        in_lanes: u32,
        out_lanes: u32,
        lane_bits: u32,
        signed: bool,
    ) -> Result<WidthConverterParams, UnitError> {
        for (name, v) in [
            ("in_lanes", in_lanes),
            ("out_lanes", out_lanes),
            ("lane_bits", lane_bits),
        ] {
            if !(1..=4096).contains(&v) {
                return Err(UnitError::BadParameter {
                    name,
                    value: v.to_string(),
                    rule: "must be between 1 and 4096".into(),
                });
            }
        }
        Ok(WidthConverterParams {
            in_lanes,
            out_lanes,
            lane_bits,
            signed,
        })
    }

    /// Codes the buffer holds at most.
    pub fn capacity(&self) -> u32 {
        self.in_lanes + self.out_lanes - 1
    }

    /// Input stream shape.
    pub fn input_shape(&self) -> StreamShape {
        self.input()
    }

    /// Output stream shape.
    pub fn output_shape(&self) -> StreamShape {
        self.output()
    }

    fn input(&self) -> StreamShape {
        StreamShape {
            lanes: self.in_lanes,
            lane_bits: self.lane_bits,
            signed: self.signed,
        }
    }

    fn output(&self) -> StreamShape {
        StreamShape {
            lanes: self.out_lanes,
            ..self.input()
        }
    }

    fn build(&self) -> Result<Module, HdlError> {
        let h = header("width_converter", &self.parameters());
        let h: Vec<&str> = h.iter().map(String::as_str).collect();
        let mut m = ModuleBuilder::new(&self.name(), &h)?;
        m.clock_and_reset()?;
        let (p, s, b, cap) = (
            self.in_lanes,
            self.out_lanes,
            self.lane_bits,
            self.capacity(),
        );
        let bw = cap * b;
        let in_data = m.input("in_data", Ty::unsigned(p * b))?;
        let in_valid = m.input("in_valid", Ty::bit())?;
        let out_ready = m.input("out_ready", Ty::bit())?;
        let cw = counter_bits(u64::from(cap) + 1);
        let count = m.reg("count", Ty::unsigned(cw), 0)?;
        let buf = m.reg("buf_r", Ty::unsigned(bw), 0)?;
        let c = |v: u32| uconst(cw, u64::from(v));
        let valid = m.wire("valid", count.ge(&c(s)?)?)?;
        let pop = m.wire("pop", valid.and(&out_ready)?)?;
        let remaining = m.wire("remaining", count.sub(&Expr::mux(&pop, &c(s)?, &c(0)?)?)?)?;
        let ready = m.wire("ready", remaining.le(&c(cap - p)?)?)?;
        let push = m.wire("push", in_valid.and(&ready)?)?;
        // buf >> (s lanes): the kept lanes, zero above.
        let kept = if cap > s {
            Expr::concat(&[Expr::zero(Ty::unsigned(s * b))?, buf.slice(bw - 1, s * b)?])?
        } else {
            Expr::zero(Ty::unsigned(bw))?
        };
        let shifted = m.wire("shifted", Expr::mux(&pop, &kept, &buf)?)?;
        // The input placed at fill level k, for k = 0 ..= cap − p.
        let mut placed = Vec::new();
        for k in 0..=(cap - p) {
            let mut parts = Vec::new();
            let above = cap - p - k;
            if above > 0 {
                parts.push(Expr::zero(Ty::unsigned(above * b))?);
            }
            parts.push(in_data.clone());
            if k > 0 {
                parts.push(Expr::zero(Ty::unsigned(k * b))?);
            }
            placed.push(Expr::concat(&parts)?);
        }
        let at = if placed.len() > 1 {
            let sel_bits = counter_bits(placed.len() as u64);
            let sel = if sel_bits < cw {
                remaining.slice(sel_bits - 1, 0)?
            } else {
                remaining.clone()
            };
            select(&mut m, "place", &sel, placed)?
        } else {
            placed.remove(0)
        };
        let write = Expr::mux(&push, &at, &Expr::zero(Ty::unsigned(bw))?)?;
        m.drive_reg("buf_r", shifted.or(&write)?, None)?;
        let add = Expr::mux(&push, &c(p)?, &c(0)?)?;
        m.drive_reg("count", remaining.add(&add)?, None)?;
        m.output("in_ready", ready)?;
        m.output(
            "out_data",
            if cap > s {
                buf.slice(s * b - 1, 0)?
            } else {
                buf.clone()
            },
        )?;
        m.output("out_valid", valid)?;
        m.finish()
    }
}

impl Unit for WidthConverterParams {
    type Model = WidthConverterModel;

    /// `qf_width_converter_i<in_lanes>_o<out_lanes>_b<lane_bits>`.
    fn name(&self) -> String {
        format!(
            "qf_width_converter_i{}_o{}_b{}",
            self.in_lanes, self.out_lanes, self.lane_bits
        )
    }

    fn parameters(&self) -> Vec<(String, String)> {
        vec![
            ("in_lanes".into(), self.in_lanes.to_string()),
            ("out_lanes".into(), self.out_lanes.to_string()),
            ("lane_bits".into(), self.lane_bits.to_string()),
            ("capacity".into(), self.capacity().to_string()),
        ]
    }

    /// The stream ports ([`super::stream`]): `in_data` of `in_lanes`, `out_data` of
    /// `out_lanes` lanes.
    fn ports(&self) -> Vec<Port> {
        stream_ports(self.input(), self.output())
    }

    fn model(&self) -> WidthConverterModel {
        WidthConverterModel {
            params: self.clone(),
            buf: VecDeque::with_capacity(self.capacity() as usize),
            out: vec![0; self.out_lanes as usize],
        }
    }

    fn verilog(&self) -> Result<Vec<Module>, UnitError> {
        Ok(vec![self.build()?])
    }

    /// `C·b` flip-flops; `C·b` LUT4 for the shift plus `p·b` per fill level for the placement
    /// muxes; `2·⌈log2(C+1)⌉` LUT4 and carries for the count.
    fn cost(&self) -> Cost {
        let b = u64::from(self.lane_bits);
        let cap = u64::from(self.capacity());
        let p = u64::from(self.in_lanes);
        let levels = cap - p + 1;
        let cw = u64::from(counter_bits(cap + 1));
        Cost {
            lut: cap * b + p * b * levels + 2 * cw,
            ff: cap * b + cw,
            carry: 2 * cw,
            dsp: 0,
            bram: 0,
        }
    }
}

/// The converter's behaviour: a queue of codes.
#[derive(Clone, Debug)]
pub struct WidthConverterModel {
    params: WidthConverterParams,
    buf: VecDeque<i64>,
    out: Vec<i64>,
}

impl WidthConverterModel {
    /// The RTL's output lanes: the oldest codes, zero beyond those held (the buffer's empty
    /// lanes are always zero).
    fn refresh(&mut self) {
        for (i, o) in self.out.iter_mut().enumerate() {
            *o = self.buf.get(i).copied().unwrap_or(0);
        }
    }
}

impl StreamModel for WidthConverterModel {
    fn out_valid(&self) -> bool {
        self.buf.len() >= self.params.out_lanes as usize
    }

    fn out_data(&self) -> &[i64] {
        &self.out
    }

    fn in_ready(&self, out_ready: bool) -> bool {
        let pop = self.out_valid() && out_ready;
        let remaining = self.buf.len()
            - if pop {
                self.params.out_lanes as usize
            } else {
                0
            };
        remaining + self.params.in_lanes as usize <= self.params.capacity() as usize
    }

    fn clock(&mut self, in_valid: bool, in_data: &[i64], out_ready: bool) {
        let push = in_valid && self.in_ready(out_ready);
        if self.out_valid() && out_ready {
            self.buf.drain(..self.params.out_lanes as usize);
        }
        if push {
            self.buf
                .extend(in_data[..self.params.in_lanes as usize].iter().copied());
        }
        self.refresh();
    }

    fn quiet(&self, in_valid: bool, out_ready: bool) -> u64 {
        let push = in_valid && self.in_ready(out_ready);
        let pop = self.out_valid() && out_ready;
        if push || pop {
            0
        } else {
            u64::MAX
        }
    }

    fn skip(&mut self, _cycles: u64, _in_valid: bool, _out_ready: bool) {}

    fn control_state(&self, out: &mut Vec<u64>) {
        out.push(self.buf.len() as u64);
    }

    fn reset_state(&mut self) {
        self.buf.clear();
        self.out.iter_mut().for_each(|v| *v = 0);
    }
}

impl Model for WidthConverterModel {
    fn reset(&mut self) {
        self.reset_state();
    }

    fn step(&mut self, inputs: &[Bits]) -> Result<Vec<Bits>, UnitError> {
        let (i, o) = (self.params.input(), self.params.output());
        let ports = self.params.ports();
        step_ports(self, &ports, i, o, inputs)
    }
}
