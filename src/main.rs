//! The `qforge` command: parses arguments, calls the library, prints. No logic lives here.
//!
//! Every error, a usage error included, is one line on standard error starting with `error:`,
//! and the exit code is 2 (`--help` and `--version` print in full and exit 0).

mod cli;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use std::process::ExitCode;

fn main() -> ExitCode {
    restore_sigpipe();
    let args = match cli::Args::try_parse() {
        Ok(args) => args,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            e.exit()
        }
        Err(e) => {
            eprintln!("error: {}", usage_line(&e));
            return ExitCode::from(2);
        }
    };
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::from(2)
        }
    }
}

/// Lets a closed pipe end the process quietly (`qforge sweep ... | head`), as it ends other
/// command-line tools, instead of a panic in `println!`: Rust starts programs with `SIGPIPE`
/// ignored, so writes to a closed pipe fail and `println!` panics on the failure.
fn restore_sigpipe() {
    #[cfg(target_os = "linux")]
    // SAFETY: called first thing in `main`, before any thread is started; setting a signal's
    // disposition to the default is async-signal-safe and touches no Rust state.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The error and its causes in one line, each cause once: a cause whose text the message
/// already holds (an error that prints its source) is not repeated.
fn one_line(e: &anyhow::Error) -> String {
    let mut message = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    join_lines(&message)
}

/// Non-blank lines joined with `; `.
fn join_lines(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A command-line usage error in one line: clap's message, its possible values and
/// suggestions, and where the rest is (`see qforge sweep --help`), without the usage block.
fn usage_line(e: &clap::Error) -> String {
    let rendered = match e.kind() {
        // clap's answer to a missing subcommand is the whole help text.
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => String::new(),
        _ => e.render().to_string(),
    };
    let mut parts: Vec<String> = Vec::new();
    for line in rendered.lines() {
        let line = line.trim();
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if line.is_empty() || line.starts_with("tip: to pass") {
            continue;
        }
        match line.strip_prefix("error: ") {
            Some(first) => parts.push(first.strip_suffix(" found").unwrap_or(first).to_string()),
            // `[possible values: ...]` belongs to the line before it, as does what a line
            // ending in `:` announces.
            None if !parts.is_empty()
                && (line.starts_with('[') || parts[parts.len() - 1].ends_with(':')) =>
            {
                let last = parts.len() - 1;
                parts[last] = format!("{} {line}", parts[last]);
            }
            None => parts.push(line.to_string()),
        }
    }
    if parts.is_empty() {
        parts.push("a subcommand is required".to_string());
    }
    format!("{} (see {} --help)", parts.join("; "), command_path())
}

/// `qforge` and the subcommands named on the command line (`qforge hdl pe`).
fn command_path() -> String {
    let mut command = cli::Args::command();
    let mut path = vec!["qforge".to_string()];
    for arg in std::env::args().skip(1) {
        if arg.starts_with('-') {
            continue;
        }
        let Some(sub) = command.find_subcommand(&arg).cloned() else {
            continue;
        };
        path.push(sub.get_name().to_string());
        command = sub;
    }
    path.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{path}: {source}")]
    struct Io {
        path: String,
        source: std::io::Error,
    }

    #[test]
    fn a_cause_the_message_already_holds_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::new(Io {
            path: "m.ron".into(),
            source: io,
        });
        assert_eq!(one_line(&e), "m.ron: no such file");
        let e = e.context("reading the model");
        assert_eq!(one_line(&e), "reading the model: m.ron: no such file");
    }

    #[test]
    fn a_message_of_several_lines_becomes_one() {
        let e = anyhow::anyhow!("yosys failed:\n  ERROR: x\n\n  at y");
        assert_eq!(one_line(&e), "yosys failed:; ERROR: x; at y");
    }
}
