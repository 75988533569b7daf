//! Command-line interface: one file per subcommand, each converting raw arguments into a
//! validated configuration once and calling the library.

mod calibrate;
mod cast;
mod demo;
mod ensemble;
mod eval;
mod hdl;
mod import;
mod prove;
mod qat;
mod quantize;
mod search;
mod sweep;
mod synth;
mod train;
mod verify;

use clap::{Parser, Subcommand};

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
    /// Cast decimal numbers from stdin (one per line) into a number format, exactly.
    Cast(cast::CastArgs),
    /// Train a float network on digits or MNIST and write it as a RON model.
    Train(train::TrainArgs),
    /// Quantize a float model with a spec into an integer model file.
    Quantize(quantize::QuantizeArgs),
    /// Evaluate a float or integer model: accuracy, MACs, throughput.
    Eval(eval::EvalArgs),
    /// Accuracy of several integer networks combined by vote or summed logits.
    Ensemble(ensemble::EnsembleArgs),
    /// Read a QONNX model (.onnx) into an integer network and write it as RON.
    Import(import::ImportArgs),
    /// Quantize the bundled digits MLP three ways and compare accuracy and weight memory.
    Demo(demo::DemoArgs),
    /// Generate hardware: Verilog, replay wrapper, vectors and manifest.
    Hdl(hdl::HdlArgs),
    /// Fit the area model's coefficients to Yosys over a grid of PEs and report its error.
    Calibrate(calibrate::CalibrateArgs),
    /// Run a bit-width sweep file, merge its shards or redraw its plots.
    Sweep(sweep::SweepArgs),
    /// Choose a weight width per layer under a hardware budget (mixed precision).
    Search(search::SearchArgs),
    /// Lint a generated design and replay its vectors under Verilator.
    Verify(verify::VerifyArgs),
    /// Synthesize a generated design with Yosys (and nextpnr for iCE40 Fmax).
    Synth(synth::SynthArgs),
    /// Prove a generated PE equal to its multiplier reference for all inputs and cycles (Yosys SAT).
    Prove(prove::ProveArgs),
}

/// Runs one parsed command line.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Cast(a) => cast::run(a),
        Command::Train(a) => train::run(a),
        Command::Quantize(a) => quantize::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Import(a) => import::run(a),
        Command::Ensemble(a) => ensemble::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Hdl(a) => hdl::run(a),
        Command::Calibrate(a) => calibrate::run(a),
        Command::Sweep(a) => sweep::run(a),
        Command::Search(a) => search::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Synth(a) => synth::run(a),
        Command::Prove(a) => prove::run(a),
    }
}
