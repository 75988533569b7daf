//! `qforge cast`: casts decimal numbers read from stdin into a number format.
//!
//! Each line is first converted to the nearest `f64` (Rust's correctly rounded decimal parse),
//! then cast exactly into the format — what `(T)(double)x` does in C++ — so a decimal with more
//! precision than an `f64` holds is rounded once to `f64` before the format's own rounding.
//!
//! A format is a fixed-point spelling (`ap_fixed<…>`, `ap_ufixed<…>`, `ap_int<…>`, `ap_uint<…>`,
//! `fixed<…>`, `ufixed<…>`) or a quantizer spelling (`intquant<…>`, `pot<…>`, `apot<…>`, see
//! [`qforge::quant::spec`]); the leading word picks the parser, so each family reports its own
//! errors.

use anyhow::{bail, Context};
use clap::Args;
use qforge::num::fixed::{Fixed, FixedFormat};
use qforge::quant::spec::{parse_spec, QuantSpec};
use std::io::{BufRead, Write};

/// Arguments of `qforge cast`.
#[derive(Args, Debug)]
pub struct CastArgs {
    /// Target format. Fixed point: 'ap_fixed<8,3,AP_RND_CONV,AP_SAT>', 'ap_ufixed<6,2>',
    /// 'ap_int<8>', 'fixed<8,3,RND,SAT>'. QONNX IntQuant:
    /// 'intquant<bits=4,signed=1,narrow=0,rounding=ROUND,scale=0.25,zeropt=0>'. Power of two:
    /// 'pot<exp_bits=3,signed=1,zero=1,e_min=-4,domain=linear,alpha=1>'. Additive powers of two:
    /// 'apot<term_bits=2,terms=2,signed=1,alpha=1>'. Quantizer keys other than bits, exp_bits,
    /// term_bits and terms may be left out.
    #[arg(long, value_name = "SPEC")]
    format: String,
    /// Print the raw integer code instead of the exact value (for intquant the integer q, for
    /// pot and apot the bit pattern).
    #[arg(long)]
    raw: bool,
}

/// A target number format, in any spelling the command understands.
#[derive(Clone, Debug, PartialEq)]
pub enum CastSpec {
    /// An ap_fixed / ap_ufixed / ap_int / ap_uint format.
    Fixed(FixedFormat),
    /// An `intquant<…>`, `pot<…>` or `apot<…>` quantizer.
    Quant(QuantSpec),
}

/// Leading words of fixed-point spellings (`ap_` covers ap_fixed, ap_ufixed, ap_int, ap_uint).
const FIXED_PREFIXES: [&str; 3] = ["ap_", "fixed", "ufixed"];
const QUANT_PREFIXES: [&str; 3] = ["intquant", "pot", "apot"];

impl CastSpec {
    /// Parses a format spelling; its leading word picks the family, whose parser then reports
    /// any error in it.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let lower = text.trim().to_ascii_lowercase();
        let starts = |prefixes: &[&str]| prefixes.iter().any(|p| lower.starts_with(p));
        if starts(&FIXED_PREFIXES) {
            let format: FixedFormat = text.parse()?;
            Ok(CastSpec::Fixed(format))
        } else if starts(&QUANT_PREFIXES) {
            Ok(CastSpec::Quant(parse_spec(text)?))
        } else {
            bail!(
                "unknown format '{}' (expected a fixed-point type ap_fixed<…>, ap_ufixed<…>, \
                 ap_int<…>, ap_uint<…>, fixed<…>, ufixed<…>, or a quantizer intquant<…>, pot<…>, \
                 apot<…>)",
                text.trim()
            )
        }
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
            CastSpec::Quant(spec) => {
                let result = spec.cast(x)?;
                Ok(if raw {
                    result.code.to_string()
                } else {
                    result.value.to_string()
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

/// Casts every line of `input`, writing one result per line: a blank line gives an empty
/// line, so output line `n` always answers input line `n`.
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
            writeln!(out)?;
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
