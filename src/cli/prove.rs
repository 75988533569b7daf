//! `qforge prove DIR`: prove a generated PE equal to its reference PE (multipliers fed each
//! weight code's level) for all inputs and all cycles, with Yosys's SAT solver.

use anyhow::{bail, Context};
use clap::Args;
use qforge::accel::pe_reference::{pe_from_parameters, reference_pe};
use qforge::accel::Unit;
use qforge::verify::manifest::{DesignKind, Manifest};
use qforge::verify::prove::{prove_equal, ProveOptions};
use std::path::PathBuf;

/// Arguments of `qforge prove`.
#[derive(Args, Debug)]
pub struct ProveArgs {
    /// A PE design folder written by `qforge hdl pe` (one PE, `--pe 1`).
    dir: PathBuf,
    /// The longest induction to try.
    #[arg(long, default_value_t = 20)]
    max_steps: u32,
    /// Time limit of the proof, in seconds (single-lane PEs take seconds; the proof grows fast
    /// with the lanes).
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Print one JSON object with the result as the last line.
    #[arg(long)]
    json: bool,
}

/// Runs `qforge prove`.
pub fn run(args: ProveArgs) -> anyhow::Result<()> {
    let manifest = Manifest::load(&args.dir)?;
    if manifest.kind != DesignKind::Pe {
        bail!(
            "{} holds a {} design; prove takes one PE (qforge hdl pe ... --pe 1)",
            args.dir.display(),
            manifest.kind.name()
        );
    }
    let pe = pe_from_parameters(&manifest.parameters).with_context(|| {
        format!(
            "the PE parameters of {}",
            args.dir.join("qforge.json").display()
        )
    })?;
    if pe.name() != manifest.top {
        bail!(
            "{}: its parameters describe {}, but its top module is {}",
            args.dir.join("qforge.json").display(),
            pe.name(),
            manifest.top
        );
    }
    let reference = reference_pe(&pe).context("no reference PE for this design")?;
    let sources = manifest.design_sources(&args.dir);
    let options = ProveOptions {
        max_steps: args.max_steps,
        timeout: std::time::Duration::from_secs(args.timeout),
    };
    let proof = prove_equal(&sources, &manifest.top, &reference, &options).map_err(|e| match e {
        qforge::verify::Error::Timeout { .. } => anyhow::Error::new(e).context(format!(
            "no proof within --timeout {} s for {} lanes: the SAT problem of a sum of products grows fast with the lanes (single-lane PEs take seconds; see BENCHMARKS.md)",
            args.timeout,
            pe.simd()
        )),
        e => e.into(),
    })?;
    println!(
        "design   {} against {} (multipliers fed each weight code's level)",
        manifest.top, reference.name
    );
    if proof.proven {
        println!(
            "proof    equal for all inputs and all cycles from reset (Yosys SAT, temporal induction{}), {:.2} s",
            proof.steps.map(|k| format!(" of length {k}")).unwrap_or_default(),
            proof.seconds
        );
    } else {
        println!("proof    FAILED: the design differs from its reference; Yosys's counterexample (gold = reference, gate = design):");
        for line in proof.counterexample.as_deref().unwrap_or("").lines() {
            println!("         {line}");
        }
    }
    if args.json {
        let summary = serde_json::json!({
            "top": manifest.top,
            "reference": reference.name,
            "proven": proof.proven,
            "steps": proof.steps,
            "counterexample": proof.counterexample,
            "seconds": proof.seconds,
        });
        println!("{summary}");
    }
    if !proof.proven {
        bail!("{} is not equal to its reference PE", manifest.top);
    }
    Ok(())
}
