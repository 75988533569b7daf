//! A value-change-dump (VCD, IEEE 1364 §18) writer for signals of any width: one scope of wires,
//! then, per time stamp, the signals whose value changed. Values are [`Bits`], so a bus wider
//! than 128 bits (a network's packed input lanes) is written whole.
//!
//! ```
//! use qforge::accel::sim::vcd::VcdWriter;
//! use qforge::hdl::Bits;
//! let signals = [("valid".to_string(), 1), ("data".to_string(), 200)];
//! let mut vcd = VcdWriter::new(Vec::new(), "top", &signals)?;
//! let mut data = Bits::zero(200);
//! data.set(199, true);
//! vcd.change(0, &[Bits::zero(1), data.clone()])?;
//! vcd.change(10, &[Bits::from_unsigned(1, 1).unwrap(), data])?; // only `valid` changed
//! let text = String::from_utf8(vcd.into_inner()).unwrap();
//! assert!(text.contains(&format!("#0\n0!\nb1{} \"\n#10\n1!\n", "0".repeat(199))));
//! # Ok::<(), std::io::Error>(())
//! ```

use crate::hdl::Bits;
use std::io::Write;

/// Writes a VCD: the header at creation, then the changed values at each time stamp.
pub struct VcdWriter<W: Write> {
    out: W,
    /// The last value written of each signal (`None` before the first time stamp).
    last: Vec<Option<Bits>>,
    text: String,
}

/// The identifier code of the `i`-th signal: printable characters from `!` on.
pub fn id(i: usize) -> String {
    let mut s = String::new();
    let mut v = i;
    loop {
        s.push((b'!' + (v % 90) as u8) as char);
        v /= 90;
        if v == 0 {
            break;
        }
    }
    s
}

impl<W: Write> VcdWriter<W> {
    /// Writes the header: a 1 ns time scale and `signals` (name, width) as wires of module
    /// `scope`, identified in order by [`id`].
    pub fn new(mut out: W, scope: &str, signals: &[(String, u32)]) -> std::io::Result<Self> {
        let mut head = format!("$timescale 1ns $end\n$scope module {scope} $end\n");
        for (i, (name, w)) in signals.iter().enumerate() {
            head.push_str(&format!("$var wire {w} {} {name} $end\n", id(i)));
        }
        head.push_str("$upscope $end\n$enddefinitions $end\n");
        out.write_all(head.as_bytes())?;
        Ok(VcdWriter {
            out,
            last: vec![None; signals.len()],
            text: String::new(),
        })
    }

    /// The values of every signal (in header order) from `time` on: writes `#time` and the
    /// values that differ from the last ones written, or nothing when none does.
    pub fn change(&mut self, time: u64, values: &[Bits]) -> std::io::Result<()> {
        self.text.clear();
        for (i, (value, last)) in values.iter().zip(&mut self.last).enumerate() {
            if last.as_ref() == Some(value) {
                continue;
            }
            if self.text.is_empty() {
                self.text.push_str(&format!("#{time}\n"));
            }
            if value.width() == 1 {
                self.text
                    .push_str(&format!("{}{}\n", u8::from(value.get(0)), id(i)));
            } else {
                self.text
                    .push_str(&format!("b{} {}\n", value.to_binary(), id(i)));
            }
            *last = Some(value.clone());
        }
        self.out.write_all(self.text.as_bytes())
    }

    /// Flushes the output.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    /// The output, the writer dropped.
    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_distinct_printable_codes() {
        let ids: std::collections::BTreeSet<String> = (0..10_000).map(id).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids
            .iter()
            .all(|s| s.bytes().all(|b| (b'!'..=b'~').contains(&b))));
        assert_eq!(
            (id(0), id(89), id(90)),
            ("!".into(), "z".into(), "!\"".into())
        );
    }

    #[test]
    fn a_bus_wider_than_128_bits_is_written_whole() {
        let signals = [("in_data".to_string(), 259)];
        let mut vcd = VcdWriter::new(Vec::new(), "top", &signals).unwrap();
        let mut v = Bits::zero(259);
        v.set(258, true);
        v.set(130, true);
        vcd.change(20, std::slice::from_ref(&v)).unwrap();
        vcd.change(30, std::slice::from_ref(&v)).unwrap();
        let text = String::from_utf8(vcd.into_inner()).unwrap();
        let line = text.lines().find(|l| l.starts_with('b')).unwrap();
        let digits = line.strip_prefix('b').unwrap().strip_suffix(" !").unwrap();
        assert_eq!(digits.len(), 259);
        assert_eq!(digits.find('1'), Some(0));
        assert_eq!(digits.rfind('1'), Some(258 - 130));
        assert!(
            !text.contains("#30"),
            "an unchanged value writes no time stamp"
        );
    }
}
