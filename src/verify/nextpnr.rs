//! The nextpnr-ice40 driver: place and route a Yosys JSON netlist and read its Fmax.
//!
//! ```no_run
//! use qforge::verify::nextpnr::fmax_ice40;
//! let mhz = fmax_ice40("out/pe.json".as_ref(), "hx8k", "ct256", 1)?;
//! println!("{mhz:.1} MHz");
//! # Ok::<(), qforge::verify::Error>(())
//! ```

use super::error::{Error, Result};
use super::tools::{locate, run, Tool};
use super::verilator::tail;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Time limit of one place-and-route run.
pub const TIMEOUT: Duration = Duration::from_secs(1800);

/// Places and routes `netlist_json` on an iCE40 `device` (e.g. `hx8k`) in `package` (e.g.
/// `ct256`) with `seed` and returns the Fmax in MHz of its slowest clock
/// ([`Error::NoTimedPath`] when no path runs from register to register).
pub fn fmax_ice40(netlist_json: &Path, device: &str, package: &str, seed: u64) -> Result<f64> {
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
    if !ident(device) || !ident(package) {
        return Err(Error::Invalid(format!(
            "device ({device}) and package ({package}) must be plain names like hx8k and ct256"
        )));
    }
    let nextpnr = locate(Tool::NextpnrIce40)?;
    let mut cmd = nextpnr.command();
    cmd.arg(format!("--{device}"))
        .args(["--package", package, "--timing-allow-fail", "--seed"])
        .arg(seed.to_string())
        .arg("--json")
        .arg(netlist_json);
    let out = run(Tool::NextpnrIce40, cmd, TIMEOUT)?;
    let text = format!("{}{}", out.stdout, out.stderr);
    if !out.success {
        let errors: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("ERROR"))
            .take(3)
            .collect();
        return Err(Error::ToolFailed {
            tool: Tool::NextpnrIce40.name(),
            message: if errors.is_empty() {
                tail(&text)
            } else {
                errors.join(" | ")
            },
        });
    }
    parse_fmax(&text).ok_or(Error::NoTimedPath {
        tool: Tool::NextpnrIce40.name(),
    })
}

/// The median Fmax over seeds `1..=seeds` (at least one).
pub fn fmax_ice40_median(
    netlist_json: &Path,
    device: &str,
    package: &str,
    seeds: u64,
) -> Result<f64> {
    let mut all = (1..=seeds.max(1))
        .map(|seed| fmax_ice40(netlist_json, device, package, seed))
        .collect::<Result<Vec<f64>>>()?;
    all.sort_by(f64::total_cmp);
    let n = all.len();
    Ok(if n % 2 == 1 {
        all[n / 2]
    } else {
        (all[n / 2 - 1] + all[n / 2]) / 2.0
    })
}

/// nextpnr prints "Max frequency for clock 'NAME': F MHz" after placement and again after
/// routing; the last figure per clock is the routed one, and the slowest clock bounds the design.
fn parse_fmax(text: &str) -> Option<f64> {
    let mut last: BTreeMap<&str, f64> = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.split("Max frequency for clock ").nth(1) else {
            continue;
        };
        let Some((name, value)) = rest.rsplit_once("': ") else {
            continue;
        };
        let Some(mhz) = value
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
        else {
            continue;
        };
        last.insert(name, mhz);
    }
    last.into_values().reduce(f64::min)
}

#[cfg(test)]
mod tests {
    use super::parse_fmax;

    #[test]
    fn routed_figure_of_slowest_clock_wins() {
        let log = "Info: Max frequency for clock 'a': 300.00 MHz (PASS at 12.00 MHz)\n\
                   Info: Max frequency for clock 'b': 200.00 MHz (PASS at 12.00 MHz)\n\
                   Info: Max frequency for clock 'a': 150.50 MHz (PASS at 12.00 MHz)\n\
                   Info: Max frequency for clock 'b': 180.00 MHz (PASS at 12.00 MHz)\n";
        assert_eq!(parse_fmax(log), Some(150.5));
        assert_eq!(parse_fmax("Info: Clock 'clk' has no interior paths"), None);
    }
}
