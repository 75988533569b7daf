//! Valid/ready streams: the typed model interface every streaming unit implements, and the
//! helpers its Verilog and port-level model share.
//!
//! A stream carries `lanes` codes per transfer, lane 0 in the least significant bits, each lane
//! `lane_bits` wide (two's complement when signed). A transfer happens at a rising edge where
//! `valid` and `ready` are both high. Every streaming unit here has the same ports, in this
//! order: `clk`, `rst`, `in_data`, `in_valid`, `out_ready` → `in_ready`, `out_data`,
//! `out_valid`. `out_valid` and `out_data` depend on registers only (Moore); `in_ready` may
//! depend on `out_ready` in the same cycle, never on `in_valid`, so a chain of units evaluates
//! forwards for data and backwards for ready without a combinational loop.
//!
//! ```
//! use qforge::accel::stream::{pack_lanes, unpack_lanes};
//! let b = pack_lanes(&[-1, 3], 4);
//! assert_eq!(b.to_u128(), 0x3f);
//! assert_eq!(unpack_lanes(&b, 2, 4, true), vec![-1, 3]);
//! ```

use super::unit::UnitError;
use crate::hdl::{Bits, Expr, HdlError, ModuleBuilder, Port, Ty};

/// The cycle-level behaviour of a streaming unit, in typed form (codes as `i64`).
///
/// One cycle is: read [`StreamModel::out_valid`] and [`StreamModel::out_data`] (they depend on
/// the state only), ask [`StreamModel::in_ready`] given the downstream ready, then
/// [`StreamModel::clock`] with this cycle's inputs to cross the rising edge.
pub trait StreamModel {
    /// `out_valid` during the current cycle.
    fn out_valid(&self) -> bool;
    /// `out_data` during the current cycle (one code per lane).
    fn out_data(&self) -> &[i64];
    /// `in_ready` during the current cycle, given `out_ready`.
    fn in_ready(&self, out_ready: bool) -> bool;
    /// The rising edge at the end of the cycle with these inputs.
    fn clock(&mut self, in_valid: bool, in_data: &[i64], out_ready: bool);
    /// Back to the state right after a reset.
    fn reset_state(&mut self);
    /// How many cycles from now, with `in_valid` and `out_ready` held at these values (and
    /// `in_data` unchanged), the unit keeps `in_ready`, `out_valid` and `out_data` constant and
    /// takes no transfer: 0 when something happens this cycle, `u64::MAX` when nothing will.
    fn quiet(&self, in_valid: bool, out_ready: bool) -> u64;
    /// Crosses `cycles` edges at once, inputs held as in [`StreamModel::quiet`], which must
    /// have allowed at least that many: the same state as `cycles` calls of
    /// [`StreamModel::clock`].
    fn skip(&mut self, cycles: u64, in_valid: bool, out_ready: bool);
    /// Appends the control registers (counters, flags, occupancy; no data) to `out`. The
    /// control path of every unit here ignores the data, so two states with equal control
    /// registers produce the same handshakes from then on under the same `in_valid` and
    /// `out_ready`.
    fn control_state(&self, out: &mut Vec<u64>);
}

/// The shape of a stream: lanes per transfer, bits per lane, signedness of the codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamShape {
    /// Codes per transfer.
    pub lanes: u32,
    /// Bits per code.
    pub lane_bits: u32,
    /// Whether codes are two's complement.
    pub signed: bool,
}

impl StreamShape {
    /// Width of the data bus.
    pub fn width(&self) -> u32 {
        self.lanes * self.lane_bits
    }
}

/// The standard ports of a streaming unit with input shape `input` and output shape `output`.
pub fn stream_ports(input: StreamShape, output: StreamShape) -> Vec<Port> {
    vec![
        Port::input("clk", Ty::bit()),
        Port::input("rst", Ty::bit()),
        Port::input("in_data", Ty::unsigned(input.width())),
        Port::input("in_valid", Ty::bit()),
        Port::input("out_ready", Ty::bit()),
        Port::output("in_ready", Ty::bit()),
        Port::output("out_data", Ty::unsigned(output.width())),
        Port::output("out_valid", Ty::bit()),
    ]
}

/// Codes packed into lanes of `lane_bits` each, lane 0 least significant (each code wrapped to
/// its lane).
pub fn pack_lanes(codes: &[i64], lane_bits: u32) -> Bits {
    let fields: Vec<Bits> = codes
        .iter()
        .map(|&c| Bits::from_i128_wrapping(lane_bits, i128::from(c)))
        .collect();
    Bits::concat_lsb_first(&fields)
}

/// The codes of `lanes` lanes of `lane_bits` each, read as two's complement if `signed`.
pub fn unpack_lanes(bits: &Bits, lanes: u32, lane_bits: u32, signed: bool) -> Vec<i64> {
    (0..lanes)
        .map(|i| {
            let f = bits.field(i * lane_bits, lane_bits);
            if signed {
                f.to_i128() as i64
            } else {
                f.to_u128() as i64
            }
        })
        .collect()
}

/// One port-level cycle of a streaming model (the [`super::Model::step`] of every streaming
/// unit): `inputs` = `rst`, `in_data`, `in_valid`, `out_ready`; the result = `in_ready`,
/// `out_data`, `out_valid`.
pub fn step_ports<M: StreamModel>(
    model: &mut M,
    ports: &[Port],
    input: StreamShape,
    output: StreamShape,
    inputs: &[Bits],
) -> Result<Vec<Bits>, UnitError> {
    super::unit::check_inputs(ports, inputs)?;
    let rst = inputs[0].get(0);
    let in_data = unpack_lanes(&inputs[1], input.lanes, input.lane_bits, input.signed);
    let in_valid = inputs[2].get(0);
    let out_ready = inputs[3].get(0);
    let out = vec![
        Bits::from_i128_wrapping(1, i128::from(model.in_ready(out_ready))),
        pack_lanes(model.out_data(), output.lane_bits),
        Bits::from_i128_wrapping(1, i128::from(model.out_valid())),
    ];
    if rst {
        model.reset_state();
    } else {
        model.clock(in_valid, &in_data, out_ready);
    }
    Ok(out)
}

/// Bits of a counter holding `0 .. n` (at least 1).
pub fn counter_bits(n: u64) -> u32 {
    (64 - n.saturating_sub(1).leading_zeros()).max(1)
}

/// Selects `options[sel]` with a balanced tree of 2:1 muxes on the bits of `sel`, each level
/// held by named wires `<name>_l<level>_<i>` (so a large ROM prints as many short lines, not
/// one deep expression). Indices beyond the options select the last reachable leaf.
pub(crate) fn select(
    m: &mut ModuleBuilder,
    name: &str,
    sel: &Expr,
    options: Vec<Expr>,
) -> Result<Expr, HdlError> {
    let mut opts = options;
    let mut level = 0u32;
    while opts.len() > 1 {
        let s = sel.bit(level)?;
        let mut next = Vec::with_capacity(opts.len().div_ceil(2));
        for (i, pair) in opts.chunks(2).enumerate() {
            match pair {
                [a, b] => next.push(m.wire(&format!("{name}_l{level}_{i}"), Expr::mux(&s, b, a)?)?),
                [a] => next.push(a.clone()),
                _ => {}
            }
        }
        opts = next;
        level += 1;
    }
    opts.pop().ok_or(HdlError::BadWidth {
        what: "selection",
        width: 0,
        rule: "needs at least one option".into(),
    })
}

/// A `width`-bit unsigned constant from a value that fits.
pub(crate) fn uconst(width: u32, value: u64) -> Result<Expr, HdlError> {
    Expr::int(Ty::unsigned(width), i128::from(value))
}

/// Header lines for a generated module: the unit, then `name: value` per parameter.
pub(crate) fn header(unit: &str, params: &[(String, String)]) -> Vec<String> {
    std::iter::once(format!("unit: {unit}"))
        .chain(params.iter().map(|(k, v)| format!("{k}: {v}")))
        .collect()
}
