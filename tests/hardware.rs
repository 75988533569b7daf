//! The hardware layer (`accel`, `hdl`, `verify`): PEs and units against independent references
//! and their Verilog under Verilator, Verilog snapshots of every unit, the cycle simulator of
//! whole networks against the golden engine and against the RTL, Yosys and nextpnr.
//!
//! Many of these tests need Verilator, Yosys and nextpnr-ice40; without them they fail with the
//! one-line "... not found: install it" error. One test binary per layer of the architecture
//! (see `tests/numbers.rs`); the files of this layer are modules of it, under `tests/hardware/`.

#[macro_use]
mod common;

#[path = "hardware/net_hardware.rs"]
mod net_hardware;
#[path = "hardware/net_sim.rs"]
mod net_sim;
#[path = "hardware/net_units.rs"]
mod net_units;
#[path = "hardware/pe_hardware.rs"]
mod pe_hardware;
#[path = "hardware/pe_model_reference.rs"]
mod pe_model_reference;
#[path = "hardware/pe_prove.rs"]
mod pe_prove;
#[path = "hardware/pe_snapshot.rs"]
mod pe_snapshot;
#[path = "hardware/unit_snapshot.rs"]
mod unit_snapshot;
#[path = "hardware/verify_harness.rs"]
mod verify_harness;
#[path = "hardware/verify_replay.rs"]
mod verify_replay;
#[path = "hardware/verify_synth.rs"]
mod verify_synth;
