//! The [`Unit`] trait: one configuration value, three views (behaviour, Verilog, cost).
//!
//! Every hardware unit is a plain, validated parameter struct implementing [`Unit`]. No method
//! has a default body, so a unit cannot silently report zero cost or an empty port list.
//!
//! ```
//! use qforge::accel::{Model, Overflow, PeParams, Unit};
//! use qforge::num::weights::WeightCode;
//! use qforge::hdl::Bits;
//! let pe = PeParams::new(WeightCode::Ternary, 4, true, 2, 8, Overflow::Wrap).unwrap();
//! let mut model = pe.model();
//! // ports after clk: rst, en, clear, act (2 × 4 bits), wgt (2 × 2 bits) -> acc
//! let inputs = [
//!     Bits::from_unsigned(1, 0).unwrap(),
//!     Bits::from_unsigned(1, 1).unwrap(),
//!     Bits::from_unsigned(1, 1).unwrap(),
//!     Bits::from_unsigned(8, 0x35).unwrap(),   // lanes: 5, 3
//!     Bits::from_unsigned(4, 0b11_01).unwrap(), // weights: +1, -1
//! ];
//! model.step(&inputs).unwrap();
//! let out = model.step(&inputs).unwrap(); // latency 1: 5 - 3 is visible in the next cycle
//! assert_eq!(out[0].to_i128(), 2);
//! ```

use crate::hdl::{Bits, HdlError, Module, Port};

/// A parameter or input outside what a unit supports.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    /// A parameter breaks a rule; the message names the value and the rule.
    #[error("{name} ({value}) {rule}")]
    BadParameter {
        /// The parameter.
        name: &'static str,
        /// Its value, as text.
        value: String,
        /// The rule it breaks.
        rule: String,
    },
    /// A weight-code format rejected its parameters.
    #[error(transparent)]
    Code(#[from] crate::num::codes::CodeError),
    /// The Verilog builder rejected the design (a bug in the generator, reported, not panicked).
    #[error("verilog generation failed")]
    Hdl(#[from] HdlError),
    /// A model input has the wrong number of ports or a wrong width.
    #[error("model input: {0}")]
    Input(String),
}

/// A first-order resource estimate.
///
/// The figures are analytic per unit kind (documented on each unit's `cost()`), calibrated by
/// hand against the Yosys 0.23 `synth_ice40` figures of DESIGN.md §6; they order design points,
/// they do not replace synthesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cost {
    /// 4-input lookup tables.
    pub lut: u64,
    /// Flip-flops.
    pub ff: u64,
    /// Carry-chain cells.
    pub carry: u64,
    /// DSP blocks (zero for the ice40 mapping these estimates target).
    pub dsp: u64,
    /// Block RAMs.
    pub bram: u64,
}

impl std::ops::Add for Cost {
    type Output = Cost;
    fn add(self, o: Cost) -> Cost {
        Cost {
            lut: self.lut + o.lut,
            ff: self.ff + o.ff,
            carry: self.carry + o.carry,
            dsp: self.dsp + o.dsp,
            bram: self.bram + o.bram,
        }
    }
}

impl std::ops::Mul<u64> for Cost {
    type Output = Cost;
    fn mul(self, k: u64) -> Cost {
        Cost {
            lut: self.lut * k,
            ff: self.ff * k,
            carry: self.carry * k,
            dsp: self.dsp * k,
            bram: self.bram * k,
        }
    }
}

/// Cycle-level behaviour with explicit state.
///
/// Mealy convention, matching the replay testbench: [`Model::step`] is one clock cycle; it
/// returns the outputs *during* the cycle (from the state and this cycle's inputs), then
/// advances the state across the rising edge at the end of the cycle.
pub trait Model {
    /// Returns to the state right after a reset.
    fn reset(&mut self);
    /// One cycle. `inputs` are the values of the unit's input ports in [`Unit::ports`] order,
    /// without `clk` (so `rst` first); the result holds the output ports' values in order.
    fn step(&mut self, inputs: &[Bits]) -> Result<Vec<Bits>, UnitError>;
}

/// A hardware unit: one configuration value, from which come its ports, behaviour, Verilog and
/// cost.
pub trait Unit {
    /// The behaviour model's type.
    type Model: Model;
    /// The generated top module's name, built from the configuration (`qf_<unit>_<params>`).
    fn name(&self) -> String;
    /// The configuration as name/value pairs (for file headers and manifests), in a fixed order.
    fn parameters(&self) -> Vec<(String, String)>;
    /// The ports, in order: `clk`, `rst`, then inputs, then outputs. The one source of port names
    /// and widths; [`Unit::verilog`]'s top module has exactly these.
    fn ports(&self) -> Vec<Port>;
    /// A fresh behaviour model in its reset state.
    fn model(&self) -> Self::Model;
    /// The Verilog modules, dependencies first, the unit's top module last.
    fn verilog(&self) -> Result<Vec<Module>, UnitError>;
    /// The resource estimate.
    fn cost(&self) -> Cost;
}

/// Checks a model's inputs against the input ports (without `clk`).
pub(crate) fn check_inputs(ports: &[Port], inputs: &[Bits]) -> Result<(), UnitError> {
    let ins: Vec<&Port> = ports
        .iter()
        .filter(|p| p.dir == crate::hdl::Dir::Input && p.name != "clk")
        .collect();
    if ins.len() != inputs.len() {
        return Err(UnitError::Input(format!(
            "{} values given for {} input ports",
            inputs.len(),
            ins.len()
        )));
    }
    for (p, v) in ins.iter().zip(inputs) {
        if p.ty.width != v.width() {
            return Err(UnitError::Input(format!(
                "port {} is {} bits wide, value is {} bits",
                p.name,
                p.ty.width,
                v.width()
            )));
        }
    }
    Ok(())
}
