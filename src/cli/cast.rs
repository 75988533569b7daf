//! `qforge cast`: casts decimal numbers read from stdin into a number format.
//!
//! Each line is first converted to the nearest `f64` (Rust's correctly rounded decimal parse),
//! then cast exactly into the format — what `(T)(double)x` does in C++ — so a decimal with more
//! precision than an `f64` holds is rounded once to `f64` before the format's own rounding.

use anyhow::{bail, Context};
use clap::Args;
use qforge::num::fixed::{Fixed, FixedFormat};
use std::io::{BufRead, Write};

/// Arguments of `qforge cast`.
#[derive(Args, Debug)]
pub struct CastArgs {
    /// Target format, e.g. 'ap_fixed<8,3,AP_RND_CONV,AP_SAT>', 'ap_ufixed<6,2>', 'fixed<8,3,RND,SAT>'.
    #[arg(long, value_name = "SPEC")]
    format: String,
    /// Print the raw integer code instead of the exact decimal value.
    #[arg(long)]
    raw: bool,
}

/// A target number format, in any spelling the command understands.
#[derive(Clone, Debug, PartialEq)]
pub enum CastSpec {
    /// An ap_fixed / ap_ufixed / ap_int / ap_uint format.
    Fixed(FixedFormat),
}

impl CastSpec {
    /// Parses a format spelling, trying each spec family in turn.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        // Only the ap_fixed family exists so far; its error is the one to report.
        let format: FixedFormat = text.parse()?;
        Ok(CastSpec::Fixed(format))
    }

    /// Casts one value and renders it as an exact decimal or as its raw code.
    fn cast(&self, x: f64, raw: bool) -> anyhow::Result<String> {
        match self {
            CastSpec::Fixed(format) => {
                let value: Fixed = format.cast_f64(x)?;
                Ok(if raw {
                    value.raw().to_string()
                } else {
                    value.to_string()
                })
            }
        }
    }
}

/// Runs `qforge cast` on stdin and stdout.
pub fn run(args: CastArgs) -> anyhow::Result<()> {
    let spec = CastSpec::parse(&args.format)?;
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    cast_lines(&spec, args.raw, stdin.lock(), &mut stdout.lock())
}

/// Casts every non-blank line of `input`, writing one result per line.
fn cast_lines(
    spec: &CastSpec,
    raw: bool,
    input: impl BufRead,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    for (index, line) in input.lines().enumerate() {
        let line_no = index + 1;
        let line = line.with_context(|| format!("reading stdin line {line_no}"))?;
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let x: f64 = match text.parse() {
            Ok(x) => x,
            Err(_) => bail!("stdin line {line_no}: '{text}' is not a number"),
        };
        let result = spec
            .cast(x, raw)
            .with_context(|| format!("stdin line {line_no}"))?;
        writeln!(out, "{result}")?;
    }
    out.flush()?;
    Ok(())
}
