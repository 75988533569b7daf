//! Per-cycle test vectors of a replay wrapper `qf_tb_dut(clk, tb_in, tb_out)` (`sim/README.md`):
//! one `tb_in` value and an optional expected `tb_out` value per cycle, and their `$readmemh`
//! lines. The generators (unit models, the network simulator) fill a [`VectorSet`]; the
//! verification layer writes, reads and replays it (`verify::vectors`).
//!
//! File format, one line per cycle: the `+stim` line is `IN_W` bits in hex; the `+expect` line is
//! `OUT_W + 1` bits, bit `OUT_W` set when the cycle is compared (an unchecked cycle's line is
//! all zeros).
//!
//! ```
//! use qforge::hdl::vectors::{Cycle, VectorSet};
//! use qforge::hdl::Bits;
//! let mut set = VectorSet::new(5, 8);
//! set.cycles.push(Cycle { input: Bits::from_hex("1f", 5)?, expect: Some(Bits::from_hex("ff", 8)?) });
//! set.cycles.push(Cycle { input: Bits::zero(5), expect: None });
//! let (mut stim, mut expect) = (Vec::new(), Vec::new());
//! set.push_stimulus_line(0, &mut stim);
//! set.push_expected_line(0, &mut expect);
//! assert_eq!((stim.as_slice(), expect.as_slice()), (&b"1f"[..], &b"1ff"[..])); // the check bit needs a third digit
//! expect.clear();
//! set.push_expected_line(1, &mut expect);
//! assert_eq!(expect, b"000");
//! # Ok::<(), qforge::hdl::HdlError>(())
//! ```

use super::Bits;

/// One cycle of a replay: the input applied during the cycle and, optionally, the output expected
/// just before the next rising edge (`None` = not compared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    /// `tb_in` during this cycle (`IN_W` bits).
    pub input: Bits,
    /// Expected `tb_out` (`OUT_W` bits), or `None` when this cycle is not checked.
    pub expect: Option<Bits>,
}

/// The vectors of one replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorSet {
    /// `IN_W`: width of `tb_in`.
    pub in_width: u32,
    /// `OUT_W`: width of `tb_out`.
    pub out_width: u32,
    /// One entry per cycle, cycle 0 first.
    pub cycles: Vec<Cycle>,
}

impl VectorSet {
    /// An empty set for the given port widths.
    pub fn new(in_width: u32, out_width: u32) -> Self {
        VectorSet {
            in_width,
            out_width,
            cycles: Vec::new(),
        }
    }

    /// How many cycles have their check bit set.
    pub fn checked(&self) -> usize {
        self.cycles.iter().filter(|c| c.expect.is_some()).count()
    }

    /// Appends cycle `index`'s `+stim` line (without a line break) to `out`.
    pub fn push_stimulus_line(&self, index: usize, out: &mut Vec<u8>) {
        self.cycles[index].input.push_hex(out, None);
    }

    /// Appends cycle `index`'s `+expect` line (without a line break) to `out`.
    pub fn push_expected_line(&self, index: usize, out: &mut Vec<u8>) {
        push_expect_line(self.cycles[index].expect.as_ref(), self.out_width, out);
    }

    /// The expected value of an `+expect` line read as `OUT_W + 1` bits: `None` unless its check
    /// bit is set.
    pub fn expect_of_line(line: &Bits, out_width: u32) -> Option<Bits> {
        line.get(out_width).then(|| line.resized(out_width))
    }
}

/// Appends the `+expect` line (without a line break) of a cycle expecting `expect` on an
/// `out_width`-bit `tb_out` (`None`: not compared, all zeros) to `out`.
pub fn push_expect_line(expect: Option<&Bits>, out_width: u32, out: &mut Vec<u8>) {
    match expect {
        Some(e) => e.push_hex(out, Some(true)),
        None => Bits::zero(out_width).push_hex(out, Some(false)),
    }
}
