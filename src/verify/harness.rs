//! A registered timing harness, so that the Fmax of a design's logic can be measured on a
//! device whatever the number of its port bits.
//!
//! A processing-element array easily has more port bits than an iCE40 package has pins, and
//! then place and route fails before timing is known. The harness `qf_fmax_harness(clk, rst,
//! si, so)` wraps the design's top and needs four pins:
//!
//! * every input bit of the design (all but its `clk`, `rst` included) comes from one bit of a
//!   shift register fed serially from `si`, so each input is a register output and no two
//!   inputs are tied together (synthesis can prove nothing about their values);
//! * every output bit is registered, and the registered bits are XOR-reduced four at a time
//!   through registered levels down to `so`, so every output bit stays live (removing one would
//!   change `so`) and no level adds more than one LUT4 of logic;
//! * the design's `clk` (a 1-bit input of that name, as generated designs have) is the
//!   harness's `clk`; the harness's own registers reset on its `rst`.
//!
//! Register-to-register paths are then exactly the design's internal paths plus its
//! input-to-register, register-to-output and input-to-output paths, each between harness
//! registers: the figure is that of the design's logic, not of its pads.
//!
//! ```no_run
//! use qforge::verify::harness::fmax_ice40_registered;
//! let sources = vec!["rtl/pe.v".into()];
//! let fmax = fmax_ice40_registered(&sources, "qf_pe", "hx8k", "ct256", 3)?;
//! println!("{:.1} MHz over {} port bits", fmax.mhz, fmax.port_bits);
//! # Ok::<(), qforge::verify::Error>(())
//! ```

use super::error::{Error, Result};
use super::nextpnr::fmax_ice40_median;
use super::verilator::ScratchDir;
use super::yosys::{self, synth, SynthOptions, SynthReport, Target};
use crate::hdl::{print_module, Dir, Expr, HdlError, Module, ModuleBuilder, Port, Ty};
use std::path::PathBuf;

/// The harness module's name.
pub const HARNESS_TOP: &str = "qf_fmax_harness";

/// How many registered bits one XOR level folds into one (a LUT4's inputs).
const XOR_FAN_IN: u32 = 4;

/// Builds the harness around `top`, whose ports are `ports` (see the module docs). Fails when
/// the design has no output to observe, or names that clash with the harness's.
pub fn harness(top: &str, ports: &[Port]) -> Result<Module> {
    build(top, ports).map_err(|e| Error::Invalid(format!("timing harness of {top}: {e}")))
}

fn is_clock(p: &Port) -> bool {
    p.name == "clk" && p.dir == Dir::Input && p.ty.width == 1
}

fn build(top: &str, ports: &[Port]) -> std::result::Result<Module, HdlError> {
    if top == HARNESS_TOP {
        return Err(HdlError::Duplicate(top.to_string()));
    }
    let bad = |what: &str, width: u64| HdlError::BadWidth {
        what: "design ports",
        width,
        rule: format!("{what} bits must be between 1 and 65536"),
    };
    let in_bits: u64 = ports
        .iter()
        .filter(|p| p.dir == Dir::Input && !is_clock(p))
        .map(|p| u64::from(p.ty.width))
        .sum();
    let out_bits: u64 = ports
        .iter()
        .filter(|p| p.dir == Dir::Output)
        .map(|p| u64::from(p.ty.width))
        .sum();
    if out_bits == 0 || out_bits > 65_536 {
        return Err(bad("output", out_bits));
    }
    if in_bits > 65_536 {
        return Err(bad("input", in_bits));
    }

    let header = [
        "unit: registered timing harness (serial-in inputs, registered XOR-reduced outputs)"
            .to_string(),
        format!("design: {top}"),
        format!("input bits: {in_bits}, output bits: {out_bits}"),
    ];
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut m = ModuleBuilder::new(HARNESS_TOP, &header)?;
    let (clk, _rst) = m.clock_and_reset()?;
    let si = m.input("si", Ty::bit())?;
    m.declare_output("so", Ty::bit())?;

    // The input chain: bit 0 is the newest bit from `si`. With no input bits a one-bit chain
    // still reads `si`, and is folded into `so` below so that it is not left unused.
    let chain_width = in_bits.max(1) as u32;
    let chain = m.reg("in_chain", Ty::unsigned(chain_width), 0)?;
    let next = if chain_width == 1 {
        si
    } else {
        Expr::concat(&[chain.slice(chain_width - 2, 0)?, si])?
    };
    m.drive_reg("in_chain", next, None)?;

    let mut connections: Vec<(&str, Expr)> = Vec::new();
    let mut lo = 0;
    for p in ports.iter().filter(|p| p.dir == Dir::Input) {
        if is_clock(p) {
            connections.push((&p.name, clk.clone()));
            continue;
        }
        let bits = chain.slice(lo + p.ty.width - 1, lo)?;
        lo += p.ty.width;
        let bits = if p.ty.signed { bits.as_signed() } else { bits };
        connections.push((&p.name, bits));
    }
    let outputs = m.instance_by_name(top, ports, "dut", &connections)?;

    // Every output bit registered, most significant port first as in a concatenation.
    let mut observed: Vec<Expr> = outputs.iter().map(Expr::as_unsigned).collect();
    if in_bits == 0 {
        observed.push(chain);
    }
    let mut level = m.reg_next("out_q", Expr::concat(&observed)?, 0, None)?;
    let mut depth = 0;
    while level.width() > 1 {
        depth += 1;
        let width = level.width();
        let groups = width.div_ceil(XOR_FAN_IN);
        let mut folded = Vec::new();
        // Most significant group first, so that bit g of the level is group g.
        for g in (0..groups).rev() {
            let lo = g * XOR_FAN_IN;
            let hi = (lo + XOR_FAN_IN).min(width) - 1;
            folded.push(level.slice(hi, lo)?.reduce_xor());
        }
        level = m.reg_next(&format!("xor_q{depth}"), Expr::concat(&folded)?, 0, None)?;
    }
    m.drive_output("so", level)?;
    m.finish()
}

/// The Fmax of a design measured on its registered harness.
#[derive(Debug, Clone, PartialEq)]
pub struct HarnessFmax {
    /// Median Fmax over the seeds, in MHz.
    pub mhz: f64,
    /// How many place-and-route seeds the median is over.
    pub seeds: u64,
    /// The design's port bits (inputs, outputs and `clk`), all of them behind the harness.
    pub port_bits: u64,
    /// Cell counts of the harness with the design inside (the design's own figures come
    /// from synthesizing it alone).
    pub harness_cells: SynthReport,
    /// Wall-clock time of the harness's synthesis and of place and route, in seconds.
    pub seconds: f64,
}

/// Synthesizes `top` from `sources` inside its registered harness for iCE40, places and routes
/// it on `device`/`package` with seeds `1..=seeds` and returns the median Fmax. The harness
/// needs four pins whatever the design's port count, so any design that fits the device's logic
/// gets a figure.
pub fn fmax_ice40_registered(
    sources: &[PathBuf],
    top: &str,
    device: &str,
    package: &str,
    seeds: u64,
) -> Result<HarnessFmax> {
    let start = std::time::Instant::now();
    let ports = yosys::ports(sources, top)?;
    let module = harness(top, &ports)?;
    let dir = ScratchDir::new("harness")?;
    let file = dir.path.join(format!("{HARNESS_TOP}.v"));
    std::fs::write(&file, print_module(&module)).map_err(|e| Error::io(&file, e))?;
    let netlist = dir.path.join("harness.json");
    let mut all_sources = sources.to_vec();
    all_sources.push(file);
    let options = SynthOptions {
        netlist_json: Some(netlist.clone()),
        ..SynthOptions::default()
    };
    let harness_cells = synth(&all_sources, HARNESS_TOP, Target::Ice40, &options)?;
    let seeds = seeds.max(1);
    let mhz = fmax_ice40_median(&netlist, device, package, seeds)?;
    Ok(HarnessFmax {
        mhz,
        seeds,
        port_bits: ports.iter().map(|p| u64::from(p.ty.width)).sum(),
        harness_cells,
        seconds: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports() -> Vec<Port> {
        vec![
            Port::input("clk", Ty::bit()),
            Port::input("rst", Ty::bit()),
            Port::input("a", Ty::signed(5)),
            Port::output("y", Ty::unsigned(9)),
            Port::output("z", Ty::signed(2)),
        ]
    }

    #[test]
    fn every_input_comes_from_the_chain_and_every_output_reaches_so() {
        let m = harness("qf_small", &ports()).unwrap();
        let names: Vec<&str> = m.ports.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["clk", "rst", "si", "so"]);
        let text = print_module(&m);
        // rst and a: six chain bits; y and z: eleven registered bits, folded 11 -> 3 -> 1.
        assert!(text.contains("reg [5:0] in_chain;"), "{text}");
        assert!(text.contains(".clk(clk)"), "{text}");
        assert!(text.contains(".rst(in_chain[0])"), "{text}");
        assert!(text.contains(".a($signed(in_chain[5:1]))"), "{text}");
        assert!(text.contains("reg [10:0] out_q;"), "{text}");
        assert!(text.contains("reg [2:0] xor_q1;"), "{text}");
        assert!(text.contains("reg xor_q2;"), "{text}");
        assert!(text.contains("assign so = xor_q2;"), "{text}");
    }

    #[test]
    fn design_without_outputs_or_with_the_harness_name_is_refused() {
        let inputs = [Port::input("a", Ty::bit())];
        assert!(harness("qf_small", &inputs).is_err());
        assert!(harness(HARNESS_TOP, &ports()).is_err());
    }

    #[test]
    fn design_without_inputs_keeps_si_live() {
        let m = harness("qf_counter", &[Port::output("q", Ty::unsigned(3))]).unwrap();
        let text = print_module(&m);
        assert!(text.contains("in_chain <= si;"), "{text}");
        assert!(text.contains("reg [3:0] out_q;"), "{text}");
    }
}
