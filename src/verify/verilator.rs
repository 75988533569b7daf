//! The Verilator driver: lint (`--lint-only -Wall`) and cycle-level replay (`--binary`) of a
//! design through the generic testbench `testbenches/qf_replay_tb.sv` (embedded in the binary).
//!
//! ```no_run
//! use qforge::verify::verilator::{lint, replay_vectors, ReplayOptions};
//! use qforge::verify::vectors::VectorSet;
//! # fn vectors() -> VectorSet { VectorSet::new(17, 9) }
//! let sources = vec!["rtl/pe.v".into(), "rtl/qf_tb_dut.v".into()];
//! let report = lint(&sources[..1], "qf_pe")?;
//! assert!(report.warnings.is_empty());
//! let replay = replay_vectors(&sources, &vectors(), &ReplayOptions::default())?;
//! assert_eq!(replay.mismatches, 0);
//! # Ok::<(), qforge::verify::Error>(())
//! ```

use super::error::{Error, Result};
use super::tools::{locate, run, Tool, ToolPath};
use super::vectors::{Bits, VectorSet};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The generic replay testbench (module `qf_replay_tb`), as shipped in `testbenches/`.
pub const TESTBENCH: &str = include_str!("../../testbenches/qf_replay_tb.sv");

/// What `verilator --lint-only -Wall` reported.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LintReport {
    /// The first line of each warning (`%Warning-WIDTH: file:line:col: ...`); empty = clean.
    pub warnings: Vec<String>,
}

/// Lints `sources` with `top` as top module under `verilator --lint-only -Wall` (no waivers).
/// Warnings are returned in the report; syntax and elaboration errors are [`Error::ToolFailed`].
pub fn lint(sources: &[PathBuf], top: &str) -> Result<LintReport> {
    let verilator = locate(Tool::Verilator)?;
    let mut cmd = verilator.command();
    cmd.args(lint_args(top, false)).args(sources);
    let out = run(Tool::Verilator, cmd, Duration::from_secs(600))?;
    let text = format!("{}{}", out.stderr, out.stdout);
    let warnings: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("%Warning"))
        .map(str::to_string)
        .collect();
    let errors = first_errors(&text);
    if !out.success || !errors.is_empty() {
        return Err(Error::ToolFailed {
            tool: Tool::Verilator.name(),
            message: if errors.is_empty() {
                tail(&text)
            } else {
                errors
            },
        });
    }
    Ok(LintReport { warnings })
}

/// How to build and run a replay.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Where built simulators are kept, keyed by a hash of the sources and parameters, so a
    /// repeated replay skips the C++ compile. `None`: build in a fresh temporary folder and delete
    /// it afterwards.
    pub cache_dir: Option<PathBuf>,
    /// Dump a VCD of the whole run here (builds with `--trace`).
    pub vcd: Option<PathBuf>,
    /// Parallel C++ compile jobs (`-j`); 0 = number of CPUs.
    pub jobs: usize,
    /// Time limit for the build.
    pub build_timeout: Duration,
    /// Time limit for the simulation run.
    pub run_timeout: Duration,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            cache_dir: None,
            vcd: None,
            jobs: 0,
            build_timeout: Duration::from_secs(1800),
            run_timeout: Duration::from_secs(3600),
        }
    }
}

/// The vector files and port widths of one replay.
#[derive(Debug, Clone)]
pub struct ReplayInput {
    /// All sources, the `qf_tb_dut` wrapper included.
    pub sources: Vec<PathBuf>,
    /// `IN_W`.
    pub in_width: u32,
    /// `OUT_W`.
    pub out_width: u32,
    /// Cycles to replay (lines in each vector file).
    pub cycles: u64,
    /// The `+stim` file.
    pub stimulus: PathBuf,
    /// The `+expect` file.
    pub expected: PathBuf,
}

/// The first mismatch of a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The cycle (0-based) whose output differed.
    pub cycle: u64,
    /// `tb_in` during that cycle, in hex.
    pub input_hex: String,
    /// `tb_out` as sampled, in hex.
    pub got_hex: String,
    /// The expected `tb_out`, in hex.
    pub expected_hex: String,
}

impl Failure {
    /// The bit positions of `tb_out` where the output differed from the expected value, lowest
    /// first: with lanes packed side by side, `bit / lane_width` names the failing lane.
    pub fn mismatched_bits(&self) -> Vec<u32> {
        let width = (self.got_hex.len().max(self.expected_hex.len()) * 4) as u32;
        match (
            Bits::from_hex(&self.got_hex, width),
            Bits::from_hex(&self.expected_hex, width),
        ) {
            (Ok(got), Ok(expected)) => (0..width)
                .filter(|&b| {
                    got.get_field(b, 1).unwrap_or(0) != expected.get_field(b, 1).unwrap_or(0)
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The outcome of a replay.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayReport {
    /// Cycles replayed (up to and including the failing one).
    pub cycles: u64,
    /// Cycles whose output was compared and matched. The FAIL line does not carry it, so after a
    /// mismatch it is known only when the vectors are (see [`ReplayReport::count_checked`]);
    /// [`replay`] then reports 0.
    pub checked: u64,
    /// 0, or 1: the testbench stops at the first mismatch.
    pub mismatches: u64,
    /// The first mismatch, if any.
    pub failure: Option<Failure>,
    /// Verilate + C++ compile time (near 0 when the build came from the cache).
    pub build_seconds: f64,
    /// Simulation time, loading the vectors included.
    pub run_seconds: f64,
    /// Whether the simulator came from the cache.
    pub cached: bool,
}

impl ReplayReport {
    /// Fills in `checked` after a mismatch: the checked cycles before the failing one.
    pub fn count_checked(&mut self, vectors: &VectorSet) {
        let flags: Vec<bool> = vectors.cycles.iter().map(|c| c.expect.is_some()).collect();
        self.count_checked_of(&flags);
    }

    /// [`ReplayReport::count_checked`] from each cycle's check bit.
    pub fn count_checked_of(&mut self, checked: &[bool]) {
        if let Some(f) = &self.failure {
            let before = usize::try_from(f.cycle).unwrap_or(usize::MAX);
            self.checked = checked.iter().take(before).filter(|c| **c).count() as u64;
        }
    }

    /// Simulated cycles per second of wall-clock run time.
    pub fn cycles_per_second(&self) -> f64 {
        if self.run_seconds > 0.0 {
            self.cycles as f64 / self.run_seconds
        } else {
            0.0
        }
    }
}

/// Writes `vectors` to a temporary folder and replays them (see [`replay`]).
pub fn replay_vectors(
    sources: &[PathBuf],
    vectors: &VectorSet,
    options: &ReplayOptions,
) -> Result<ReplayReport> {
    let dir = ScratchDir::new("run")?;
    let stimulus = dir.path.join("stimulus.hex");
    let expected = dir.path.join("expected.hex");
    vectors.write(&stimulus, &expected)?;
    let input = ReplayInput {
        sources: sources.to_vec(),
        in_width: vectors.in_width,
        out_width: vectors.out_width,
        cycles: vectors.cycles.len() as u64,
        stimulus,
        expected,
    };
    let mut report = replay(&input, options)?;
    report.count_checked(vectors);
    Ok(report)
}

/// Builds the testbench with the sources under `verilator --binary` and replays the vector
/// files, stopping at the first mismatch.
pub fn replay(input: &ReplayInput, options: &ReplayOptions) -> Result<ReplayReport> {
    if input.in_width == 0 || input.out_width == 0 {
        return Err(Error::Invalid(format!(
            "in_width ({}) and out_width ({}) must be at least 1",
            input.in_width, input.out_width
        )));
    }
    let verilator = locate(Tool::Verilator)?;
    let build = Build {
        verilator: &verilator,
        sources: &input.sources,
        sim: ReplaySim {
            in_width: input.in_width,
            out_width: input.out_width,
            trace: options.vcd.is_some(),
            optimize: Optimize::Replay,
        },
        jobs: options.jobs,
        timeout: options.build_timeout,
    };
    let (binary, build_seconds, cached, _scratch) = build.get(options.cache_dir.as_deref())?;

    // The waveform is written beside its destination and renamed over it once the simulator
    // has finished, so a killed or failed run never leaves half a VCD at the path asked for.
    let vcd = match &options.vcd {
        Some(v) => {
            let path = absolute(v)?;
            Some(crate::outdir::AtomicFile::create(&path).map_err(|e| Error::io(&path, e))?)
        }
        None => None,
    };
    let mut cmd = std::process::Command::new(&binary);
    cmd.args(run_args(
        &absolute(&input.stimulus)?,
        &absolute(&input.expected)?,
        input.cycles,
        vcd.as_ref().map(|v| v.temp_path()),
    ));
    let out = run(Tool::Verilator, cmd, options.run_timeout)?;
    let mut report = parse_result(&out.stdout, &out.stderr)?;
    if let (Some(vcd), Some(path)) = (vcd, &options.vcd) {
        vcd.commit().map_err(|e| Error::io(path, e))?;
    }
    report.build_seconds = build_seconds;
    report.run_seconds = out.seconds;
    report.cached = cached;
    Ok(report)
}

fn plusarg(name: &str, path: &Path) -> OsString {
    let mut arg = OsString::from(format!("+{name}="));
    arg.push(path);
    arg
}

/// The arguments of `verilator --lint-only -Wall` (no waivers). The driver collects the warnings
/// (`-Wno-fatal`); a script stops at them (`stop_at_warnings`).
fn lint_args(top: &str, stop_at_warnings: bool) -> Vec<&str> {
    let mut args = vec!["--lint-only", "-Wall"];
    if !stop_at_warnings {
        args.push("-Wno-fatal");
    }
    args.extend(["--top-module", top]);
    args
}

/// The arguments of the replay simulator's run: the vector files, the cycle count and the VCD.
fn run_args(stimulus: &Path, expected: &Path, cycles: u64, vcd: Option<&Path>) -> Vec<OsString> {
    let mut args = vec![
        plusarg("stim", stimulus),
        plusarg("expect", expected),
        OsString::from(format!("+cycles={cycles}")),
    ];
    args.extend(vcd.map(|v| plusarg("vcd", v)));
    args
}

/// Writes the `run.sh` of a design folder: the lint and replay command lines of this driver,
/// spelled with the folder's relative paths. `sources` are the folder's Verilog files, the
/// `qf_tb_dut` wrapper last; `cycles` the lines of its vector files.
pub fn run_script(
    top: &str,
    sources: &[String],
    in_width: u32,
    out_width: u32,
    cycles: u64,
) -> String {
    let line = |args: Vec<OsString>| -> String {
        let words: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        words.join(" ")
    };
    let files = |list: &[String]| -> Vec<OsString> { list.iter().map(OsString::from).collect() };
    let lint = |top: &str, list: &[String]| -> String {
        let mut args: Vec<OsString> = lint_args(top, true)
            .into_iter()
            .map(OsString::from)
            .collect();
        args.extend(files(list));
        format!("verilator {}\n", line(args))
    };
    let sim = ReplaySim {
        in_width,
        out_width,
        trace: false,
        optimize: Optimize::ByHand,
    };
    let build = sim.build_args(
        None,
        "obj_dir".as_ref(),
        "\"$TB\"".as_ref(),
        &files(sources),
    );
    let replay = run_args(
        "vectors/stimulus.hex".as_ref(),
        "vectors/expected.hex".as_ref(),
        cycles,
        None,
    );
    let mut script = String::from(
        "#!/bin/sh\n# Lint and replay this design with Verilator by hand (qforge verify does the same).\n\
         # The replay testbench is tb/qf_replay_tb.sv (QFORGE_TB=path overrides it).\n\
         set -eu\ncd \"$(dirname \"$0\")\"\nTB=\"${QFORGE_TB:-tb/qf_replay_tb.sv}\"\n",
    );
    script.push_str(&lint(top, &sources[..sources.len().saturating_sub(1)]));
    script.push_str(&lint(WRAPPER, sources));
    script.push_str(&format!("verilator {}\n", line(build)));
    script.push_str(&format!("./obj_dir/{BINARY} {}\n", line(replay)));
    script
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| Error::io(path, e))
}

/// Reads the testbench's result line.
fn parse_result(stdout: &str, stderr: &str) -> Result<ReplayReport> {
    for line in stdout.lines() {
        let Some(rest) = line.trim().strip_prefix("QFORGE_TB ") else {
            continue;
        };
        let field = |key: &str| -> Option<String> {
            rest.split_whitespace()
                .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
                .map(str::to_string)
        };
        let number = |key: &str| -> Result<u64> {
            field(key)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| Error::ToolFailed {
                    tool: Tool::Verilator.name(),
                    message: format!("testbench line without {key}=<n>: {line}"),
                })
        };
        let mut report = ReplayReport {
            cycles: 0,
            checked: 0,
            mismatches: 0,
            failure: None,
            build_seconds: 0.0,
            run_seconds: 0.0,
            cached: false,
        };
        if rest.starts_with("PASS") {
            report.cycles = number("cycles")?;
            report.checked = number("checked")?;
            return Ok(report);
        }
        if rest.starts_with("FAIL") {
            let cycle = number("cycle")?;
            report.cycles = cycle + 1;
            report.checked = number("checked").unwrap_or(0);
            report.mismatches = 1;
            report.failure = Some(Failure {
                cycle,
                input_hex: field("in").unwrap_or_default(),
                got_hex: field("got").unwrap_or_default(),
                expected_hex: field("expected").unwrap_or_default(),
            });
            return Ok(report);
        }
        return Err(Error::ToolFailed {
            tool: Tool::Verilator.name(),
            message: format!("testbench: {}", rest.trim()),
        });
    }
    Err(Error::ToolFailed {
        tool: Tool::Verilator.name(),
        message: format!(
            "the simulation printed no QFORGE_TB result line: {}",
            tail(&format!("{stdout}{stderr}"))
        ),
    })
}

/// How hard the C++ of a replay simulator is optimised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Optimize {
    /// The driver's builds, cached and run over long replays: `-O3`.
    Replay,
    /// A design folder's `run.sh`, built once by hand: `-O2`.
    ByHand,
}

/// The replay simulator a build makes: the testbench's parameters and options.
struct ReplaySim {
    in_width: u32,
    out_width: u32,
    trace: bool,
    optimize: Optimize,
}

impl ReplaySim {
    /// The flags that determine the simulator (the cache key covers them; `-j` is not among them).
    fn flags(&self) -> Vec<String> {
        let opt = match self.optimize {
            Optimize::Replay => "-O3",
            Optimize::ByHand => "-O2",
        };
        let mut flags = vec![
            "--binary".to_string(),
            opt.to_string(),
            "-Wno-fatal".to_string(),
            "--top-module".to_string(),
            TESTBENCH_TOP.to_string(),
            format!("-GIN_W={}", self.in_width),
            format!("-GOUT_W={}", self.out_width),
        ];
        if self.trace {
            flags.extend(["--trace".to_string(), "-DQF_TRACE".to_string()]);
        }
        flags
    }

    /// The whole `verilator` argument list of the build: the flags, `-j` when given, the object
    /// folder, the testbench and the sources.
    fn build_args(
        &self,
        jobs: Option<usize>,
        obj: &OsStr,
        testbench: &OsStr,
        sources: &[OsString],
    ) -> Vec<OsString> {
        let mut args: Vec<OsString> = self.flags().into_iter().map(OsString::from).collect();
        if let Some(j) = jobs {
            args.extend(["-j".into(), j.to_string().into()]);
        }
        args.extend([
            "--Mdir".into(),
            obj.to_os_string(),
            testbench.to_os_string(),
        ]);
        args.extend(sources.iter().cloned());
        args
    }
}

/// One simulator build: its inputs determine the cache key.
struct Build<'a> {
    verilator: &'a ToolPath,
    sources: &'a [PathBuf],
    sim: ReplaySim,
    jobs: usize,
    timeout: Duration,
}

/// The testbench's module name.
const TESTBENCH_TOP: &str = "qf_replay_tb";

/// The replay wrapper's module name (`sim/README.md`).
const WRAPPER: &str = "qf_tb_dut";

/// Binary name `verilator --binary` gives a top module `qf_replay_tb`.
const BINARY: &str = "Vqf_replay_tb";

impl Build<'_> {
    fn key(&self) -> Result<String> {
        // Stable across Rust releases (unlike `DefaultHasher`), so cache keys survive toolchain
        // updates; each field length first.
        let mut h = crate::hash::Fnv1a64::new();
        h.field(TESTBENCH.as_bytes());
        h.field(self.verilator.path.as_os_str().as_encoded_bytes());
        for f in self.sim.flags() {
            h.field(f.as_bytes());
        }
        for s in self.sources {
            let text = std::fs::read(s).map_err(|e| Error::io(s, e))?;
            h.field(s.file_name().map_or(&[][..], |n| n.as_encoded_bytes()));
            h.field(&text);
        }
        Ok(format!("{:016x}", h.finish()))
    }

    /// Returns the simulator binary, the build time, whether it was cached, and the scratch folder
    /// holding it when there is no cache (kept alive until the run is over).
    fn get(&self, cache: Option<&Path>) -> Result<(PathBuf, f64, bool, Option<ScratchDir>)> {
        let Some(cache) = cache else {
            let scratch = ScratchDir::new("build")?;
            let (binary, seconds) = self.compile(&scratch.path)?;
            return Ok((binary, seconds, false, Some(scratch)));
        };
        let key = self.key()?;
        let done = cache.join(&key);
        let binary = done.join("obj").join(BINARY);
        if binary.is_file() {
            return Ok((binary, 0.0, true, None));
        }
        // Threads of one process building the same simulator would only duplicate the work.
        static BUILD_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = BUILD_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        if binary.is_file() {
            return Ok((binary, 0.0, true, None));
        }
        std::fs::create_dir_all(cache).map_err(|e| Error::io(cache, e))?;
        let staging = ScratchDir::new_in(cache, &format!("{key}.tmp"))?;
        let (_, seconds) = self.compile(&staging.path)?;
        // Publish atomically; a concurrent build of the same key may have won the race.
        if std::fs::rename(&staging.path, &done).is_err() && !binary.is_file() {
            return Err(Error::io(
                &done,
                std::io::Error::other("cannot publish the built simulator"),
            ));
        }
        Ok((binary, seconds, false, None))
    }

    fn compile(&self, dir: &Path) -> Result<(PathBuf, f64)> {
        let tb = dir.join("qf_replay_tb.sv");
        std::fs::write(&tb, TESTBENCH).map_err(|e| Error::io(&tb, e))?;
        let obj = dir.join("obj");
        let jobs = if self.jobs == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.jobs
        };
        let sources = self
            .sources
            .iter()
            .map(|s| absolute(s).map(PathBuf::into_os_string))
            .collect::<Result<Vec<_>>>()?;
        let mut cmd = self.verilator.command();
        cmd.args(
            self.sim
                .build_args(Some(jobs), obj.as_os_str(), tb.as_os_str(), &sources),
        );
        let out = run(Tool::Verilator, cmd, self.timeout)?;
        let binary = obj.join(BINARY);
        if !out.success || !binary.is_file() {
            let text = format!("{}{}", out.stderr, out.stdout);
            let errors = first_errors(&text);
            return Err(Error::ToolFailed {
                tool: Tool::Verilator.name(),
                message: if errors.is_empty() {
                    tail(&text)
                } else {
                    errors
                },
            });
        }
        Ok((binary, out.seconds))
    }
}

/// The first few error lines of a Verilator (or C++ compiler) run, joined with ` | `.
fn first_errors(text: &str) -> String {
    text.lines()
        .filter(|l| {
            (l.starts_with("%Error") && !l.starts_with("%Error: Exiting due to"))
                || l.contains(" error: ")
        })
        .take(5)
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The last few non-empty lines of a tool's output, joined with ` | `.
pub(crate) fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(5);
    if lines.is_empty() {
        "no output".to_string()
    } else {
        lines[start..].join(" | ")
    }
}

/// A uniquely named folder, removed when dropped.
pub(crate) struct ScratchDir {
    pub(crate) path: PathBuf,
}

impl ScratchDir {
    pub(crate) fn new(tag: &str) -> Result<Self> {
        Self::new_in(&std::env::temp_dir(), &format!("qforge-{tag}"))
    }

    pub(crate) fn new_in(parent: &Path, prefix: &str) -> Result<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = parent.join(format!(
            "{prefix}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        Ok(ScratchDir { path })
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
