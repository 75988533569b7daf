//! Writing, reading and checking the `$readmemh` files of the replay contract (`sim/README.md`).
//!
//! The vectors themselves are [`hdl::vectors::VectorSet`](crate::hdl::vectors::VectorSet) (one
//! input and an optional expected output per cycle, values of [`Bits`]), filled by the generators;
//! this module adds the file side: [`VectorSet::write`] writes the `+stim` file (one `IN_W`-bit hex
//! line per cycle) and the `+expect` file (one `OUT_W + 1`-bit hex line per cycle, bit `OUT_W` =
//! "check this cycle"), [`VectorSet::read`] reads them back.
//!
//! ```
//! use qforge::verify::vectors::{Bits, Cycle, VectorSet};
//! let mut input = Bits::zero(16);
//! input.set_field(0, 8, -3)?; // two's complement, truncated to 8 bits
//! input.set_field(8, 8, 200)?;
//! assert_eq!(input.to_hex(), "c8fd");
//! assert_eq!(input.get_field_signed(0, 8)?, -3);
//! let mut vectors = VectorSet::new(16, 9);
//! vectors.push(Cycle { input, expect: None })?;
//! # Ok::<(), qforge::verify::Error>(())
//! ```

use super::error::{Error, Result};
use crate::hdl::vectors::push_expect_line;
pub use crate::hdl::vectors::{Cycle, VectorSet};
pub use crate::hdl::Bits;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// The file side of the vectors (the type lives with the values it holds, in `hdl`).
impl VectorSet {
    /// Appends a cycle after checking its widths.
    pub fn push(&mut self, cycle: Cycle) -> Result<()> {
        self.check_cycle(self.cycles.len(), &cycle)?;
        self.cycles.push(cycle);
        Ok(())
    }

    fn check_cycle(&self, index: usize, cycle: &Cycle) -> Result<()> {
        check_widths(
            index,
            &cycle.input,
            cycle.expect.as_ref(),
            self.in_width,
            self.out_width,
        )
    }

    /// Checks the widths (both at least 1) and every cycle.
    pub fn validate(&self) -> Result<()> {
        if self.in_width == 0 || self.out_width == 0 {
            return Err(Error::Invalid(format!(
                "in_width ({}) and out_width ({}) must be at least 1",
                self.in_width, self.out_width
            )));
        }
        for (i, c) in self.cycles.iter().enumerate() {
            self.check_cycle(i, c)?;
        }
        Ok(())
    }

    /// Writes the `+stim` and `+expect` files of the contract.
    pub fn write(&self, stimulus: &Path, expected: &Path) -> Result<()> {
        self.validate()?;
        let mut writer = VectorWriter::create(stimulus, expected, self.in_width, self.out_width)?;
        for c in &self.cycles {
            writer.push(&c.input, c.expect.as_ref())?;
        }
        writer.finish().map(|_| ())
    }

    /// Reads the files [`VectorSet::write`] writes (or a generator wrote) back.
    pub fn read(stimulus: &Path, expected: &Path, in_width: u32, out_width: u32) -> Result<Self> {
        let inputs = read_lines(stimulus, in_width)?;
        let expects = read_lines(expected, out_width + 1)?;
        if inputs.len() != expects.len() {
            return Err(Error::Invalid(format!(
                "{} has {} lines but {} has {}",
                stimulus.display(),
                inputs.len(),
                expected.display(),
                expects.len()
            )));
        }
        let mut set = VectorSet::new(in_width, out_width);
        set.cycles.reserve(inputs.len());
        for (input, line) in inputs.into_iter().zip(expects) {
            let expect = VectorSet::expect_of_line(&line, out_width);
            set.cycles.push(Cycle { input, expect });
        }
        Ok(set)
    }
}

/// Checks cycle `index`'s input and expected widths against the ports'.
fn check_widths(
    index: usize,
    input: &Bits,
    expect: Option<&Bits>,
    in_width: u32,
    out_width: u32,
) -> Result<()> {
    if input.width() != in_width {
        return Err(Error::Invalid(format!(
            "cycle {index}: input width ({}) must equal in_width ({in_width})",
            input.width()
        )));
    }
    if let Some(e) = expect.filter(|e| e.width() != out_width) {
        return Err(Error::Invalid(format!(
            "cycle {index}: expected width ({}) must equal out_width ({out_width})",
            e.width()
        )));
    }
    Ok(())
}

/// Writes the `+stim` and `+expect` files a cycle at a time, as [`VectorSet::write`] writes a
/// whole set (the same bytes), for vectors too many to hold.
pub struct VectorWriter {
    in_width: u32,
    out_width: u32,
    stimulus: (std::path::PathBuf, BufWriter<std::fs::File>),
    expected: (std::path::PathBuf, BufWriter<std::fs::File>),
    line: Vec<u8>,
    cycles: u64,
}

impl VectorWriter {
    /// Creates both files for `in_width`- and `out_width`-bit vectors.
    pub fn create(stimulus: &Path, expected: &Path, in_width: u32, out_width: u32) -> Result<Self> {
        if in_width == 0 || out_width == 0 {
            return Err(Error::Invalid(format!(
                "in_width ({in_width}) and out_width ({out_width}) must be at least 1"
            )));
        }
        let open = |path: &Path| -> Result<(std::path::PathBuf, BufWriter<std::fs::File>)> {
            let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
            Ok((path.to_path_buf(), BufWriter::with_capacity(1 << 20, file)))
        };
        Ok(VectorWriter {
            in_width,
            out_width,
            stimulus: open(stimulus)?,
            expected: open(expected)?,
            line: Vec::with_capacity(256),
            cycles: 0,
        })
    }

    /// Appends one cycle after checking its widths.
    pub fn push(&mut self, input: &Bits, expect: Option<&Bits>) -> Result<()> {
        let index = usize::try_from(self.cycles).unwrap_or(usize::MAX);
        check_widths(index, input, expect, self.in_width, self.out_width)?;
        self.line.clear();
        input.push_hex(&mut self.line, None);
        self.line.push(b'\n');
        let (path, out) = &mut self.stimulus;
        out.write_all(&self.line)
            .map_err(|e| Error::io(path.clone(), e))?;
        self.line.clear();
        push_expect_line(expect, self.out_width, &mut self.line);
        self.line.push(b'\n');
        let (path, out) = &mut self.expected;
        out.write_all(&self.line)
            .map_err(|e| Error::io(path.clone(), e))?;
        self.cycles += 1;
        Ok(())
    }

    /// Flushes both files; the number of cycles written.
    pub fn finish(mut self) -> Result<u64> {
        for (path, out) in [&mut self.stimulus, &mut self.expected] {
            out.flush().map_err(|e| Error::io(path.clone(), e))?;
        }
        Ok(self.cycles)
    }
}

/// What a pair of vector files holds, read a line at a time (nothing else kept, so a file of
/// any length is checked in constant memory): for each cycle, whether it is checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VectorScan {
    /// Per cycle, whether its check bit is set.
    pub checked: Vec<bool>,
}

impl VectorScan {
    /// Reads and checks both files: every line a hex value of its width, as many lines in each.
    pub fn read(stimulus: &Path, expected: &Path, in_width: u32, out_width: u32) -> Result<Self> {
        let mut inputs = 0usize;
        for_each_line(stimulus, in_width, |_| inputs += 1)?;
        let mut checked = Vec::with_capacity(inputs);
        for_each_line(expected, out_width + 1, |line| {
            checked.push(line.get(out_width));
        })?;
        if inputs != checked.len() {
            return Err(Error::Invalid(format!(
                "{} has {} lines but {} has {}",
                stimulus.display(),
                inputs,
                expected.display(),
                checked.len()
            )));
        }
        Ok(VectorScan { checked })
    }
}

fn read_lines(path: &Path, width: u32) -> Result<Vec<Bits>> {
    let mut values = Vec::new();
    for_each_line(path, width, |bits| values.push(bits))?;
    Ok(values)
}

/// Parses each non-empty line of `path` (`//` comments dropped) as a `width`-bit hex value.
fn for_each_line(path: &Path, width: u32, mut each: impl FnMut(Bits)) -> Result<()> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    for (i, line) in BufReader::with_capacity(1 << 20, file).lines().enumerate() {
        let line = line.map_err(|e| Error::io(path, e))?;
        let text = match line.find("//") {
            Some(at) => &line[..at],
            None => &line,
        }
        .trim();
        if text.is_empty() {
            continue;
        }
        let bits = Bits::from_hex(text, width).map_err(|e| Error::VectorFile {
            path: path.to_path_buf(),
            line: i + 1,
            message: e.to_string(),
        })?;
        each(bits);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PE's replay made a cycle at a time (stimulus, model, writer) gives the bytes of the
    /// whole-set path (`Part::from_unit`, `replay_wrapper`, `VectorSet::write`).
    #[test]
    fn streamed_vectors_equal_the_whole_set_byte_for_byte() {
        use crate::accel::vectors::{
            pe_stimulus, pe_stimulus_each, replay_wrapper, Part, ReplayStream,
        };
        use crate::accel::{Overflow, PeParams};
        use crate::num::weights::WeightCode;
        let dir = std::env::temp_dir().join(format!("qforge-stream-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (kind, overflow) in [
            (WeightCode::Ternary, Overflow::Saturate),
            (WeightCode::Uniform { bits: 4 }, Overflow::Wrap),
        ] {
            let pe = PeParams::new(kind.clone(), 4, true, 3, 9, overflow).unwrap();
            let cycles = 700;
            let part = Part::pe(&pe, &pe_stimulus(&pe, cycles, 5)).unwrap();
            let (_, set) = replay_wrapper(&[part]).unwrap();
            set.write(&dir.join("s1"), &dir.join("e1")).unwrap();
            let mut w = VectorWriter::create(
                &dir.join("s2"),
                &dir.join("e2"),
                set.in_width,
                set.out_width,
            )
            .unwrap();
            let mut stream = ReplayStream::new(&pe);
            pe_stimulus_each(&pe, pe.simd(), cycles, 5, |c| {
                let (input, expect) = stream.step(&c.to_ports(&pe))?;
                w.push(&input, expect.as_ref()).unwrap();
                Ok::<(), crate::accel::UnitError>(())
            })
            .unwrap();
            assert_eq!(w.finish().unwrap(), cycles as u64);
            for (a, b) in [("s1", "s2"), ("e1", "e2")] {
                let (a, b) = (
                    std::fs::read(dir.join(a)).unwrap(),
                    std::fs::read(dir.join(b)).unwrap(),
                );
                assert!(!a.is_empty());
                assert_eq!(a, b, "{kind:?}");
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn expect_lines_carry_the_check_bit_above_out_width() {
        let dir = std::env::temp_dir().join(format!("qforge-vectors-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (stim, exp) = (dir.join("s.hex"), dir.join("e.hex"));
        let mut set = VectorSet::new(5, 8);
        let mut e = Bits::zero(8);
        e.set_field(0, 8, -1).unwrap();
        set.push(Cycle {
            input: Bits::from_hex("1f", 5).unwrap(),
            expect: Some(e),
        })
        .unwrap();
        set.push(Cycle {
            input: Bits::zero(5),
            expect: None,
        })
        .unwrap();
        set.write(&stim, &exp).unwrap();
        assert_eq!(std::fs::read_to_string(&stim).unwrap(), "1f\n00\n");
        // OUT_W = 8: the check bit needs a third digit.
        assert_eq!(std::fs::read_to_string(&exp).unwrap(), "1ff\n000\n");
        assert_eq!(VectorSet::read(&stim, &exp, 5, 8).unwrap(), set);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn widths_are_checked_on_push() {
        let mut set = VectorSet::new(5, 8);
        assert!(set
            .push(Cycle {
                input: Bits::zero(6),
                expect: None
            })
            .is_err());
        assert!(set
            .push(Cycle {
                input: Bits::zero(5),
                expect: Some(Bits::zero(7))
            })
            .is_err());
    }
}
