//! FPGA parts and whether a synthesized design fits one: LUTs, block RAMs and DSPs against the
//! part's, from the vendors' data sheets.
//!
//! ```
//! use qforge::verify::parts::Part;
//! use qforge::verify::yosys::Target;
//! let hx8k = Part::for_target(Target::Ice40, "hx8k").unwrap();
//! assert_eq!((hx8k.luts, hx8k.brams), (7680, 32));
//! assert!(Part::for_target(Target::Ice40, "hx9000").is_none());
//! ```

use super::yosys::{SynthReport, Target};

/// One FPGA part's capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    /// The part's name.
    pub name: &'static str,
    /// Logic cells (iCE40, ECP5: LUT4; 7-series: LUT6).
    pub luts: u64,
    /// Block RAMs in the family's unit: iCE40 `SB_RAM40_4K` (4 kbit), 7-series 18 kbit halves
    /// (a `RAMB36E1` is two), ECP5 `DP16KD` (18 kbit).
    pub brams: u64,
    /// DSP blocks (iCE40 UP5K `SB_MAC16`, 7-series `DSP48E1`, ECP5 `MULT18X18D`).
    pub dsps: u64,
}

const ICE40: &[Part] = &[
    part("hx1k", 1280, 16, 0),
    part("lp1k", 1280, 16, 0),
    part("hx4k", 3520, 20, 0),
    part("lp4k", 3520, 20, 0),
    part("hx8k", 7680, 32, 0),
    part("lp8k", 7680, 32, 0),
    part("u4k", 3520, 20, 4),
    part("up5k", 5280, 30, 8),
];

const fn part(name: &'static str, luts: u64, brams: u64, dsps: u64) -> Part {
    Part {
        name,
        luts,
        brams,
        dsps,
    }
}

impl Part {
    /// The part for `target`: an iCE40 `device` (`hx1k`, `hx4k`, `hx8k`, `up5k`, ...; the one
    /// nextpnr places on), the xc7z020 of the PYNQ-Z1 for 7-series (140 36-kbit blocks), the
    /// LFE5U-25F for ECP5. `None` for an iCE40 device this table does not hold.
    pub fn for_target(target: Target, device: &str) -> Option<Part> {
        match target {
            Target::Ice40 => ICE40.iter().copied().find(|p| p.name == device),
            Target::Xilinx => Some(part("xc7z020", 53_200, 280, 220)),
            Target::Ecp5 => Some(part("lfe5u-25f", 24_288, 56, 28)),
        }
    }

    /// The design's use of this part's resources, and what is over, if anything.
    pub fn fit(&self, report: &SynthReport) -> Fit {
        let cell = |name: &str| report.cells.get(name).copied().unwrap_or(0);
        let brams = match report.target {
            Target::Xilinx => cell("RAMB18E1") + 2 * cell("RAMB36E1"),
            _ => report.brams,
        };
        let used = [
            ("LUTs", report.luts, self.luts),
            ("BRAMs", brams, self.brams),
            ("DSPs", report.dsps, self.dsps),
        ];
        let over: Vec<String> = used
            .iter()
            .filter(|(_, n, cap)| n > cap)
            .map(|(what, n, cap)| format!("{n} {what} of {cap}"))
            .collect();
        Fit {
            part: *self,
            luts: report.luts,
            brams,
            dsps: report.dsps,
            over,
        }
    }
}

/// A design's use of a part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fit {
    /// The part.
    pub part: Part,
    /// LUTs used.
    pub luts: u64,
    /// Block RAMs used, in the part's unit.
    pub brams: u64,
    /// DSPs used.
    pub dsps: u64,
    /// What exceeds the part, e.g. `49 BRAMs of 32`; empty when the design fits.
    pub over: Vec<String>,
}

impl Fit {
    /// Whether every resource is within the part's.
    pub fn fits(&self) -> bool {
        self.over.is_empty()
    }

    /// One line: `hx8k: 1234 of 7680 LUTs, 15 of 32 BRAMs, 0 of 0 DSPs` and, when it does not
    /// fit, `; does not fit: 49 BRAMs of 32`.
    pub fn describe(&self) -> String {
        let p = &self.part;
        let mut s = format!(
            "{}: {} of {} LUTs, {} of {} BRAMs, {} of {} DSPs",
            p.name, self.luts, p.luts, self.brams, p.brams, self.dsps, p.dsps
        );
        if !self.fits() {
            s.push_str("; does not fit: ");
            s.push_str(&self.over.join(", "));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn report(target: Target, luts: u64, cells: &[(&str, u64)]) -> SynthReport {
        let cells: BTreeMap<String, u64> = cells.iter().map(|&(c, n)| (c.to_string(), n)).collect();
        SynthReport {
            target,
            luts,
            ffs: 0,
            carries: 0,
            dsps: 0,
            brams: cells.values().sum(),
            cells,
            seconds: 0.0,
        }
    }

    #[test]
    fn a_design_over_the_part_says_what_is_over() {
        let hx8k = Part::for_target(Target::Ice40, "hx8k").unwrap();
        let fit = hx8k.fit(&report(Target::Ice40, 3688, &[("SB_RAM40_4K", 20)]));
        assert!(fit.fits());
        assert_eq!(
            fit.describe(),
            "hx8k: 3688 of 7680 LUTs, 20 of 32 BRAMs, 0 of 0 DSPs"
        );
        let fit = hx8k.fit(&report(Target::Ice40, 11022, &[("SB_RAM40_4K", 49)]));
        assert!(!fit.fits());
        assert!(
            fit.describe()
                .ends_with("; does not fit: 11022 LUTs of 7680, 49 BRAMs of 32"),
            "{}",
            fit.describe()
        );
    }

    #[test]
    fn a_7_series_36_kbit_block_counts_twice() {
        let z7 = Part::for_target(Target::Xilinx, "ignored").unwrap();
        let fit = z7.fit(&report(
            Target::Xilinx,
            100,
            &[("RAMB18E1", 3), ("RAMB36E1", 139)],
        ));
        assert_eq!(fit.brams, 281);
        assert_eq!(fit.over, vec!["281 BRAMs of 280".to_string()]);
    }
}
