//! Command-line interface: one file per subcommand, each converting raw arguments into a
//! validated configuration once and calling the library.

use clap::{Parser, Subcommand};

mod synth;
mod verify;

/// qforge: quantized-network accelerator co-design — bit-exact inference, cycle-exact simulation,
/// Verilog generation, Verilator proof and bit-width sweeps.
#[derive(Parser, Debug)]
#[command(name = "qforge", version, about)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Lint a generated design and replay its vectors under Verilator.
    Verify(verify::VerifyArgs),
    /// Synthesize a generated design with Yosys (and nextpnr for iCE40 Fmax).
    Synth(synth::SynthArgs),
}

/// Runs one parsed command line.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Verify(a) => verify::run(a),
        Command::Synth(a) => synth::run(a),
    }
}
