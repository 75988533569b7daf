//! `qforge hdl`: generate a unit's Verilog, its replay wrapper, vectors and manifest.

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use qforge::accel::pe_array::array_ports;
use qforge::accel::vectors::{pe_stimulus_lanes, replay_sources, replay_wrapper, Part, Trace};
use qforge::accel::{Overflow, PeArrayParams, PeKind, PeParams, UniformWeights, Unit};
use qforge::hdl::{print_module, Module};
use qforge::num::codes::{ApotFormat, PotFormat};
use qforge::verify::manifest::{DesignKind, Manifest};
use qforge::verify::vectors::{Bits as VBits, Cycle, VectorSet};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Hardware generators.
#[derive(Args, Debug)]
pub struct HdlArgs {
    #[command(subcommand)]
    command: HdlCommand,
}

#[derive(Subcommand, Debug)]
enum HdlCommand {
    /// A processing element (or, with --pe above 1, a PE array) with vectors and a manifest.
    Pe(PeArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum KindArg {
    Uniform,
    Pot,
    Apot,
    Binary,
    Ternary,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum OverflowArg {
    Wrap,
    Sat,
}

#[derive(Args, Debug)]
struct PeArgs {
    /// Weight kind.
    #[arg(long, value_enum)]
    kind: KindArg,
    /// Activation bits (binary: 1).
    #[arg(long, default_value_t = 8)]
    a_bits: u32,
    /// Unsigned activations (default: two's complement).
    #[arg(long)]
    a_unsigned: bool,
    /// Weight bits (uniform).
    #[arg(long, default_value_t = 8)]
    w_bits: u32,
    /// Exponent bits (PoT).
    #[arg(long, default_value_t = 3)]
    exp_bits: u32,
    /// Terms (APoT).
    #[arg(long, default_value_t = 2)]
    terms: u32,
    /// Bits per term (APoT).
    #[arg(long, default_value_t = 2)]
    term_bits: u32,
    /// Weights without a sign bit (PoT, APoT).
    #[arg(long)]
    w_unsigned: bool,
    /// PoT without the zero code.
    #[arg(long)]
    no_zero_code: bool,
    /// Lanes per PE.
    #[arg(long, default_value_t = 8)]
    simd: u32,
    /// PE rows (1: a single PE; more: a PE array).
    #[arg(long, default_value_t = 1)]
    pe: u32,
    /// Accumulator bits.
    #[arg(long)]
    acc_bits: u32,
    /// Accumulator overflow.
    #[arg(long, value_enum, default_value_t = OverflowArg::Wrap)]
    overflow: OverflowArg,
    /// Register the inputs (one more cycle of latency).
    #[arg(long)]
    input_reg: bool,
    /// Register the output (one more cycle of latency).
    #[arg(long)]
    output_reg: bool,
    /// Cycles of stimulus.
    #[arg(long, default_value_t = 100_000)]
    cycles: usize,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output folder (replaced atomically).
    #[arg(short = 'o', long)]
    out: PathBuf,
}

/// Runs `qforge hdl ...`.
pub fn run(args: HdlArgs) -> anyhow::Result<()> {
    match args.command {
        HdlCommand::Pe(a) => pe(a),
    }
}

fn pe_params(a: &PeArgs) -> anyhow::Result<PeParams> {
    let kind = match a.kind {
        KindArg::Uniform => PeKind::Uniform(UniformWeights::new(a.w_bits)?),
        KindArg::Pot => PeKind::Pot(PotFormat::new(a.exp_bits, !a.w_unsigned, !a.no_zero_code)?),
        KindArg::Apot => PeKind::Apot(ApotFormat::li2020(a.term_bits, a.terms, !a.w_unsigned)?),
        KindArg::Binary => PeKind::Binary,
        KindArg::Ternary => PeKind::Ternary,
    };
    let a_bits = if matches!(a.kind, KindArg::Binary) {
        1
    } else {
        a.a_bits
    };
    let overflow = match a.overflow {
        OverflowArg::Wrap => Overflow::Wrap,
        OverflowArg::Sat => Overflow::Saturate,
    };
    Ok(
        PeParams::new(kind, a_bits, !a.a_unsigned, a.simd, a.acc_bits, overflow)?
            .with_input_reg(a.input_reg)
            .with_output_reg(a.output_reg),
    )
}

fn pe(a: PeArgs) -> anyhow::Result<()> {
    if a.cycles < 2 {
        bail!(
            "cycles ({}) must be at least 2 (the reset takes two)",
            a.cycles
        );
    }
    let row = pe_params(&a).context("invalid PE configuration")?;
    let (kind, part, top, params) = if a.pe == 1 {
        let inputs = pe_stimulus_lanes(&row, row.simd(), a.cycles, a.seed);
        let part = Part::pe(&row, &inputs)?;
        (DesignKind::Pe, part, row.name(), row.parameters())
    } else {
        let array = PeArrayParams::new(row.clone(), a.pe)?;
        let inputs = pe_stimulus_lanes(&row, row.simd() * a.pe, a.cycles, a.seed);
        let ports = inputs.iter().map(|i| array_ports(&array, i));
        let part = Part::from_unit(&array, ports)?;
        (DesignKind::PeGrid, part, array.name(), array.parameters())
    };
    let (wrapper, trace) = replay_wrapper(std::slice::from_ref(&part))?;
    let modules = replay_sources(std::slice::from_ref(&part), &wrapper);
    write_design(&a.out, kind, &top, &modules, &trace, &params)?;
    println!(
        "wrote {} ({top}, {} cycles, tb_in {} bits, tb_out {} bits)",
        a.out.display(),
        trace.stimulus.len(),
        trace.in_width,
        trace.out_width
    );
    Ok(())
}

/// Writes a design folder: `rtl/*.v`, `vectors/*.hex`, `qforge.json`, `run.sh`. The folder is
/// built beside `out` and renamed into place at the end, so a failure leaves nothing behind.
pub fn write_design(
    out: &Path,
    kind: DesignKind,
    top: &str,
    modules: &[Module],
    trace: &Trace,
    params: &[(String, String)],
) -> anyhow::Result<()> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let name = out
        .file_name()
        .with_context(|| format!("{} has no folder name", out.display()))?
        .to_string_lossy()
        .to_string();
    let tmp = parent.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| -> anyhow::Result<()> {
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::create_dir_all(tmp.join("rtl"))?;
        std::fs::create_dir_all(tmp.join("vectors"))?;
        let mut sources = Vec::new();
        for m in modules {
            let rel = format!("rtl/{}.v", m.name);
            std::fs::write(tmp.join(&rel), print_module(m))?;
            sources.push(rel);
        }
        vector_set(trace)?.write(
            &tmp.join("vectors/stimulus.hex"),
            &tmp.join("vectors/expected.hex"),
        )?;
        std::fs::create_dir_all(tmp.join("tb"))?;
        std::fs::write(
            tmp.join("tb/qf_replay_tb.sv"),
            qforge::verify::verilator::TESTBENCH,
        )?;
        let manifest = Manifest {
            kind,
            top: top.to_string(),
            sources: sources.iter().map(PathBuf::from).collect(),
            wrapper: PathBuf::from("rtl/qf_tb_dut.v"),
            in_width: trace.in_width,
            out_width: trace.out_width,
            cycles: trace.stimulus.len() as u64,
            stimulus: PathBuf::from("vectors/stimulus.hex"),
            expected: PathBuf::from("vectors/expected.hex"),
            parameters: params.iter().cloned().collect::<BTreeMap<_, _>>(),
        };
        manifest.save(&tmp)?;
        let script = format!(
            "#!/bin/sh\n# Lint and replay this design with Verilator by hand (qforge verify does the same).\n\
             # The replay testbench is tb/qf_replay_tb.sv (QFORGE_TB=path overrides it).\n\
             set -eu\ncd \"$(dirname \"$0\")\"\nTB=\"${{QFORGE_TB:-tb/qf_replay_tb.sv}}\"\n\
             verilator --lint-only -Wall --top-module {top} {design}\n\
             verilator --lint-only -Wall --top-module qf_tb_dut {all}\n\
             verilator --binary -O2 -Wno-fatal --top-module qf_replay_tb -GIN_W={iw} -GOUT_W={ow} -GDEPTH={n} \
             --Mdir obj_dir \"$TB\" {all}\n\
             ./obj_dir/Vqf_replay_tb +stim=vectors/stimulus.hex +expect=vectors/expected.hex +cycles={n}\n",
            design = sources[..sources.len() - 1].join(" "),
            all = sources.join(" "),
            iw = trace.in_width,
            ow = trace.out_width,
            n = trace.stimulus.len(),
        );
        std::fs::write(tmp.join("run.sh"), script)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(tmp.join("run.sh"), std::fs::Permissions::from_mode(0o755))?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e.context(format!("writing {}", tmp.display())));
    }
    let old = parent.join(format!(".{name}.old{}", std::process::id()));
    if out.exists() {
        std::fs::rename(out, &old).with_context(|| format!("moving {} aside", out.display()))?;
    }
    if let Err(e) = std::fs::rename(&tmp, out) {
        if old.exists() {
            let _ = std::fs::rename(&old, out);
        }
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(anyhow::Error::from(e).context(format!("renaming into {}", out.display())));
    }
    if old.exists() {
        std::fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
    }
    Ok(())
}

/// The trace as the verification side's vector set.
fn vector_set(trace: &Trace) -> anyhow::Result<VectorSet> {
    let mut v = VectorSet::new(trace.in_width, trace.out_width);
    for ((i, o), &check) in trace.stimulus.iter().zip(&trace.expected).zip(&trace.check) {
        v.push(Cycle {
            input: VBits::from_hex(&i.to_hex(), trace.in_width)?,
            expect: if check {
                Some(VBits::from_hex(&o.to_hex(), trace.out_width)?)
            } else {
                None
            },
        })?;
    }
    Ok(v)
}
