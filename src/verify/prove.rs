//! Formal equivalence with Yosys: two designs with the same ports give the same outputs for
//! every input sequence, from reset on, at every cycle.
//!
//! The two tops are joined in a miter (`miter -equiv`: the same inputs into both, an assertion
//! that the outputs are equal) and `sat -tempinduct` proves the assertion by temporal
//! induction from the all-zero register state (the state every generated design's reset gives):
//! the base case checks the first cycles, the induction step shows that equal outputs for `k`
//! cycles imply equal outputs in the next. Where the proof fails, Yosys's counterexample (the
//! inputs and registers of each cycle up to the first differing output) is returned.
//!
//! ```no_run
//! use qforge::verify::prove::{prove_equal, ProveOptions};
//! # fn reference() -> qforge::hdl::Module { unimplemented!() }
//! let gold = reference(); // e.g. qforge::accel::pe_reference::reference_pe(&pe)
//! let proof = prove_equal(&["rtl/qf_pe.v".into()], "qf_pe", &gold, &ProveOptions::default())?;
//! assert!(proof.proven, "{}", proof.counterexample.unwrap_or_default());
//! # Ok::<(), qforge::verify::Error>(())
//! ```

use super::error::{Error, Result};
use super::tools::{locate, Tool};
use super::verilator::ScratchDir;
use super::yosys::{check_top, read_sources, run_script};
use crate::hdl::{print_module, Module};
use std::path::PathBuf;
use std::time::Duration;

/// Proof choices.
#[derive(Debug, Clone)]
pub struct ProveOptions {
    /// The longest induction Yosys tries before giving up (`sat -maxsteps`).
    pub max_steps: u32,
    /// Time limit.
    pub timeout: Duration,
}

impl Default for ProveOptions {
    fn default() -> Self {
        ProveOptions {
            max_steps: 20,
            timeout: Duration::from_secs(600),
        }
    }
}

/// The outcome of [`prove_equal`].
#[derive(Debug, Clone, PartialEq)]
pub struct Proof {
    /// Whether the designs are equal for all inputs and all cycles.
    pub proven: bool,
    /// The induction length at which the proof closed (proven), or the step of the failing base
    /// case (not proven), when Yosys said.
    pub steps: Option<u32>,
    /// Yosys's counterexample table when not proven: per cycle, every input and register.
    pub counterexample: Option<String>,
    /// Wall-clock time of the Yosys run.
    pub seconds: f64,
}

/// Proves that `gate` (the design under proof, read from `sources`) equals the reference
/// module `gold` (written to a scratch folder beside the proof): same ports, same outputs at
/// every cycle for every input sequence, starting from all registers at zero. A proof that
/// neither closes nor finds a counterexample within [`ProveOptions::max_steps`] is an
/// [`Error::ToolFailed`] saying so.
pub fn prove_equal(
    sources: &[PathBuf],
    gate: &str,
    gold: &Module,
    options: &ProveOptions,
) -> Result<Proof> {
    check_top(gate)?;
    let yosys = locate(Tool::Yosys)?;
    let dir = ScratchDir::new("prove")?;
    let log = dir.path.join("yosys.log");
    let gold_file = dir.path.join(format!("{}.v", gold.name));
    std::fs::write(&gold_file, print_module(gold)).map_err(|e| Error::io(&gold_file, e))?;
    let mut script = read_sources(sources.iter().chain(std::iter::once(&gold_file)))?;
    let gold = gold.name.as_str();
    // Tables written as case statements become ROMs, which the SAT import does not take:
    // `memory` maps them to logic first.
    script += &format!(
        "proc\nmemory\nopt_clean\nmiter -equiv -flatten -make_assert {gold} {gate} qf_miter\n\
         hierarchy -top qf_miter\nflatten\nopt\n\
         sat -prove-asserts -tempinduct -set-init-zero -seq 1 -maxsteps {} \
         -show-inputs -show-regs qf_miter\n",
        options.max_steps
    );
    let script_path = dir.path.join("prove.ys");
    std::fs::write(&script_path, &script).map_err(|e| Error::io(&script_path, e))?;
    let (text, out) = run_script(&yosys, &dir.path, &script_path, &log, options.timeout)?;
    let step_of = |line: &str, prefix: &str| -> Option<u32> {
        line.split(prefix)
            .nth(1)?
            .split_whitespace()
            .next()?
            .trim_end_matches(']')
            .parse()
            .ok()
    };
    let mut steps = None;
    for line in text.lines() {
        if let Some(k) = step_of(line, "[induction step ") {
            steps = Some(k);
        }
        if let Some(k) = step_of(line, "[base case ") {
            steps = Some(k);
        }
    }
    if text.contains("Induction step proven: SUCCESS!") {
        return Ok(Proof {
            proven: true,
            steps,
            counterexample: None,
            seconds: out.seconds,
        });
    }
    if text.contains("model found for base case: FAIL!") {
        // Yosys also prints the counterexamples to shorter inductions it then extends; the
        // base case's model, the real one, is the last table.
        let lines: Vec<&str> = text.lines().collect();
        let start = lines
            .iter()
            .rposition(|l| l.trim_start().starts_with("Time Signal Name"))
            .unwrap_or(lines.len());
        let table: Vec<&str> = lines[start..]
            .iter()
            .copied()
            .take_while(|l| !l.starts_with("End of script"))
            .filter(|l| !l.trim().is_empty())
            .collect();
        return Ok(Proof {
            proven: false,
            steps,
            counterexample: Some(table.join("\n")),
            seconds: out.seconds,
        });
    }
    Err(Error::ToolFailed {
        tool: Tool::Yosys.name(),
        message: format!(
            "the equivalence proof of {gate} against {gold} neither closed nor found a counterexample in {} steps",
            options.max_steps
        ),
    })
}
