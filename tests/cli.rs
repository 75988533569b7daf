//! The command line (`main.rs`, `cli`): each subcommand run as a user runs it, through the
//! built `qforge` binary ([`common::qforge`]): exit codes, one-line errors, the files written.
//!
//! One test binary per layer of the architecture (see `tests/numbers.rs`); the files of this
//! layer are modules of it, under `tests/cli/`.

#[macro_use]
mod common;

#[path = "cli/bad_inputs.rs"]
mod bad_inputs;
#[path = "cli/cli_cast.rs"]
mod cli_cast;
#[path = "cli/cli_hdl.rs"]
mod cli_hdl;
#[path = "cli/cli_qnn.rs"]
mod cli_qnn;
#[path = "cli/explore_cli.rs"]
mod explore_cli;
#[path = "cli/fuzz_inputs.rs"]
mod fuzz_inputs;
#[path = "cli/net_cli.rs"]
mod net_cli;
#[path = "cli/search_cli.rs"]
mod search_cli;
#[path = "cli/sweep_exact_cli.rs"]
mod sweep_exact_cli;
#[path = "cli/verify_cli.rs"]
mod verify_cli;
#[path = "cli/verify_tool_missing.rs"]
mod verify_tool_missing;
