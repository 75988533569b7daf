//! `qforge hdl`: generate a unit's Verilog, its replay wrapper, vectors and manifest.

use anyhow::{bail, Context};
use clap::builder::PossibleValue;
use clap::{Args, Subcommand, ValueEnum};
use qforge::accel::lanes::lane_of;
use qforge::accel::pe::PeInputs;
use qforge::accel::pe_array::array_ports;
use qforge::accel::vectors::{
    pe_stimulus_each, replay_sources, replay_wrapper, Part, ReplayStream,
};
use qforge::accel::{Overflow, PeArrayParams, PeParams, Unit};
use qforge::flow::{
    net_design_folder, write_design_folder, DesignFolder, FlowError, NetDesignOptions, Vectors,
};
use qforge::hdl::Bits;
use qforge::nn::data::source::DataSource;
use qforge::num::weights::{WeightCode, WeightFamily};
use qforge::outdir::{check, OutputKind};
use qforge::verify::manifest::DesignKind;
use qforge::verify::vectors::VectorWriter;
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
    /// A whole network: plan, cycle-exact simulation of a data set, Verilog, vectors, manifest.
    Net(NetArgs),
}

#[derive(Args, Debug)]
struct NetArgs {
    /// Model: a float model (RON, quantized with --quant), an integer network file or a QONNX
    /// model (`.onnx`).
    #[arg(long)]
    model: PathBuf,
    /// Quantization spec for a float model [default: 4-bit PoT weights, 4-bit activations].
    #[arg(long)]
    quant: Option<PathBuf>,
    /// Architecture file [default: folding cycles_per_image(64), FIFO depths by simulation].
    #[arg(long)]
    arch: Option<PathBuf>,
    /// Data set whose test images are streamed through the design (and whose training images
    /// calibrate a float model): `digits` (bundled, 450 test images) or `mnist:DIR` (the four
    /// MNIST IDX files, 10,000 test images).
    #[arg(long, default_value = "digits")]
    data: DataSource,
    /// Number of test images [default: all].
    #[arg(long)]
    images: Option<usize>,
    /// Seed of random input gaps and output stalls (default: none).
    #[arg(long)]
    backpressure: Option<u64>,
    /// Also write a VCD of the simulation (top-level and stage handshakes) here.
    #[arg(long)]
    vcd: Option<PathBuf>,
    /// Output folder: absent, empty, or one qforge wrote (replaced atomically).
    #[arg(short = 'o', long)]
    out: PathBuf,
    /// Also replace a qforge output folder of another kind (never anything qforge did not make).
    #[arg(long)]
    force: bool,
}

/// `--kind`: a weight family, spelled as [`WeightFamily::name`].
#[derive(Clone, Copy, Debug)]
struct KindArg(WeightFamily);

const KINDS: [KindArg; 5] = [
    KindArg(WeightFamily::ALL[0]),
    KindArg(WeightFamily::ALL[1]),
    KindArg(WeightFamily::ALL[2]),
    KindArg(WeightFamily::ALL[3]),
    KindArg(WeightFamily::ALL[4]),
];

impl ValueEnum for KindArg {
    fn value_variants<'a>() -> &'a [Self] {
        &KINDS
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.name()))
    }
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
    /// Activation bits [default: 8; binary: 1, the only width its ±1 activations have].
    #[arg(long)]
    a_bits: Option<u32>,
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
    /// Output folder: absent, empty, or one qforge wrote (replaced atomically).
    #[arg(short = 'o', long)]
    out: PathBuf,
    /// Also replace a qforge output folder of another kind (never anything qforge did not make).
    #[arg(long)]
    force: bool,
}

/// Runs `qforge hdl ...`.
pub fn run(args: HdlArgs) -> anyhow::Result<()> {
    match args.command {
        HdlCommand::Pe(a) => pe(a),
        HdlCommand::Net(a) => net(a),
    }
}

fn pe_params(a: &PeArgs) -> anyhow::Result<PeParams> {
    // The flags that give each family its widths.
    let kind = match a.kind.0 {
        WeightFamily::Uniform => WeightCode::uniform(a.w_bits)?,
        WeightFamily::Pot => WeightCode::pot(a.exp_bits, !a.w_unsigned, !a.no_zero_code)?,
        WeightFamily::Apot => WeightCode::apot(a.term_bits, a.terms, !a.w_unsigned)?,
        WeightFamily::Binary => WeightCode::Binary,
        WeightFamily::Ternary => WeightCode::Ternary,
    };
    let a_bits = match a.a_bits {
        Some(bits) if bits != 1 && lane_of(&kind).bipolar_activations() => bail!(
            "--a-bits ({bits}) must be 1 for --kind {}: its activations are ±1",
            a.kind.0.name()
        ),
        _ if lane_of(&kind).bipolar_activations() => 1,
        Some(bits) => bits,
        None => 8,
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
    check(&a.out, OutputKind::Pe, a.force)?;
    if a.pe == 1 {
        write_pe_folder(&a, &row, &row, row.simd(), DesignKind::Pe, |i| {
            i.to_ports(&row)
        })
    } else {
        let array = PeArrayParams::new(row.clone(), a.pe)?;
        write_pe_folder(
            &a,
            &row,
            &array,
            row.simd() * a.pe,
            DesignKind::PeGrid,
            |i| array_ports(&array, i),
        )
    }
}

/// Writes the design folder of a PE or PE array, `unit`, fed `weights_per_cycle` weight codes a
/// cycle: the vectors are made and written a cycle at a time, so their length costs no memory.
fn write_pe_folder<U: Unit>(
    a: &PeArgs,
    row: &PeParams,
    unit: &U,
    weights_per_cycle: u32,
    kind: DesignKind,
    to_ports: impl Fn(&PeInputs) -> Vec<Bits>,
) -> anyhow::Result<()> {
    let part = Part::from_unit(unit, std::iter::empty())?;
    let (wrapper, widths) = replay_wrapper(std::slice::from_ref(&part))?;
    let modules = replay_sources(std::slice::from_ref(&part), &wrapper);
    let (in_width, out_width) = (widths.in_width, widths.out_width);
    let write = |stimulus: &Path, expected: &Path| -> Result<u64, FlowError> {
        let mut writer = VectorWriter::create(stimulus, expected, in_width, out_width)?;
        let mut stream = ReplayStream::new(unit);
        pe_stimulus_each(row, weights_per_cycle, a.cycles, a.seed, |c| {
            let (input, expect) = stream.step(&to_ports(&c))?;
            writer.push(&input, expect.as_ref())?;
            Ok::<(), FlowError>(())
        })?;
        Ok(writer.finish()?)
    };
    let (top, params) = (unit.name(), unit.parameters());
    let folder = DesignFolder {
        kind,
        top: &top,
        modules: &modules,
        vectors: Vectors::Stream {
            in_width,
            out_width,
            write: &write,
        },
        parameters: &params,
        timing: &[],
    };
    write_design_folder(&a.out, &folder, a.force)?;
    println!(
        "wrote {} ({top}, {} cycles, tb_in {in_width} bits, tb_out {out_width} bits)",
        a.out.display(),
        a.cycles,
    );
    Ok(())
}

fn net(a: NetArgs) -> anyhow::Result<()> {
    check(&a.out, OutputKind::Net, a.force)?;
    if let Some(vcd) = &a.vcd {
        qforge::flow::check_parent(vcd)?;
    }
    let start = std::time::Instant::now();
    let options = NetDesignOptions {
        backpressure: a.backpressure,
        fault: None,
        vcd: a.vcd.clone(),
        force: a.force,
    };
    let design = net_design_folder(
        &a.model,
        a.quant.as_deref(),
        a.arch.as_deref(),
        &a.data,
        a.images,
        &options,
        &a.out,
    )
    .map_err(|e| {
        if e.names_its_file() {
            anyhow::Error::new(e)
        } else {
            anyhow::Error::new(e).context(format!("building a design for {}", a.model.display()))
        }
    })?;
    let r = &design.run.report;
    let of_data = if a.data.is_digits() {
        String::new()
    } else {
        format!(" of {}", a.data)
    };
    println!(
        "wrote {} ({}, {} images{of_data}, {} cycles, tb_in {} bits, tb_out {} bits)",
        a.out.display(),
        design.top(),
        design.images,
        r.cycles,
        design.run.trace.as_ref().map_or(0, |t| t.in_width),
        design.run.trace.as_ref().map_or(0, |t| t.out_width),
    );
    println!("plan     {}", design.plan.describe());
    let memories = design.plan.block_rams();
    if !memories.is_empty() {
        use qforge::accel::memory::{block_rams, RamFamily};
        let total = |f: RamFamily| -> u64 {
            memories
                .iter()
                .map(|&(_, _, d, w)| block_rams(f, w, d))
                .sum()
        };
        let each: Vec<String> = memories
            .iter()
            .map(|&(l, what, d, w)| {
                let n = block_rams(RamFamily::Ice40, w, d);
                format!(
                    "l{l} {what} {d} x {w} ({n} block{})",
                    if n == 1 { "" } else { "s" }
                )
            })
            .collect();
        println!(
            "memory   block RAM: {}; {} iCE40 blocks in all (an HX8K has 32, an UP5K 30), {} of 18 kbit on 7-series or ECP5",
            each.join(", "),
            total(RamFamily::Ice40),
            total(RamFamily::Xilinx),
        );
    }
    for l in &r.layers {
        // A convolution folds each of its vectors (output pixels): `fold x vectors`.
        let fold = if l.vectors > 1 {
            format!("{}x{}", l.fold, l.vectors)
        } else {
            l.fold.to_string()
        };
        println!(
            "layer {}  fold {:>5}  busy {:>8}  starved {:>8}  blocked {:>8}  utilization {:.3}",
            l.layer, fold, l.busy, l.starved, l.blocked, l.utilization
        );
    }
    println!(
        "timing   ii {} (measured {}), latency {} cycles, {:.1} M cycles/s simulated, {:.2} s in all",
        r.initiation_interval,
        r.measured_interval,
        r.latency,
        design.sim_cycles_per_second() / 1e6,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
