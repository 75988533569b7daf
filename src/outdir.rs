//! Output folders that never destroy what qforge did not make.
//!
//! Every command that writes a folder (`hdl pe`, `hdl net`, `sweep`, `sweep merge`) writes to
//! `-o PATH` only when `PATH` does not exist, is an empty folder, or is a folder qforge wrote
//! itself: one holding a [`MARKER`] file (`.qforge-output`) whose one line names the
//! [`OutputKind`]. A qforge folder of another kind is replaced only when asked (`--force`);
//! anything else — a user's folder, a file, a symbolic link (never followed), a device, a fifo —
//! is refused with one line saying why, and left exactly as it was.
//!
//! Two ways of writing:
//! - [`Staging`]: the whole folder is written as a sibling temp folder
//!   (`.NAME.qforge-tmp.<pid>.<n>`, holding the marker from the start) and swapped into place at
//!   the end. On Linux the swap is one `renameat2(RENAME_EXCHANGE)`, so at every moment `PATH`
//!   is either the old complete folder or the new complete one; the old one, now at the temp
//!   name, is then deleted. Where the file system does not support the exchange (`EINVAL`,
//!   `ENOSYS`, `EOPNOTSUPP`) or off Linux, the old folder is renamed aside and the new one
//!   renamed in, which leaves a moment without `PATH`.
//! - [`prepare_in_place`]: the folder is marked and then written file by file (sweeps, whose
//!   partial state is resumable rather than atomic).
//!
//! A temp folder left by a killed run is removed by the next run writing beside it, once its
//! process is gone (Linux: `/proc/<pid>` is absent). Only folders with the temp name pattern
//! that hold the marker (or nothing at all) are ever removed.
//!
//! ```no_run
//! use qforge::outdir::{OutputKind, Staging};
//! let staging = Staging::begin("out/pe".as_ref(), OutputKind::Pe, false)?;
//! std::fs::write(staging.path().join("notes.txt"), "hello").map_err(|e| {
//!     qforge::outdir::OutputError::io("writing", &staging.path().join("notes.txt"), e)
//! })?;
//! staging.commit()?; // out/pe now holds notes.txt and the marker
//! # Ok::<(), qforge::outdir::OutputError>(())
//! ```

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The marker file inside every folder qforge writes; its one line is the folder's kind.
pub const MARKER: &str = ".qforge-output";

/// The part of a temp folder's name between the folder name and the process id.
const TEMP_TAG: &str = ".qforge-tmp.";

/// What wrote an output folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutputKind {
    /// `qforge hdl pe` (a PE or a PE array design folder).
    Pe,
    /// `qforge hdl net` (a whole-network design folder).
    Net,
    /// `qforge sweep` and `qforge sweep merge` (a results folder).
    Sweep,
    /// `qforge search` (a mixed-precision search's results).
    Search,
    /// `qforge ensemble --verilog` (an ensemble's combine unit).
    Ensemble,
}

impl OutputKind {
    /// The name written in the marker (`pe`, `net`, `sweep`, `search`, `ensemble`).
    pub fn name(self) -> &'static str {
        match self {
            OutputKind::Pe => "pe",
            OutputKind::Net => "net",
            OutputKind::Sweep => "sweep",
            OutputKind::Search => "search",
            OutputKind::Ensemble => "ensemble",
        }
    }
}

impl fmt::Display for OutputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a path is not a place qforge may write its folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A folder with contents and no marker.
    NotOurs,
    /// A folder whose marker is not a plain file.
    BadMarker,
    /// A regular file.
    File,
    /// A symbolic link (to anything, or dangling).
    Symlink,
    /// A fifo, device or socket: what it is.
    Special(&'static str),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotOurs => write!(
                f,
                "it is a folder qforge did not create (no {MARKER} marker); choose another path or empty it"
            ),
            Refusal::BadMarker => write!(
                f,
                "its {MARKER} is not a plain file, so qforge did not create it; choose another path"
            ),
            Refusal::File => write!(f, "it is a file, not a folder; choose another path"),
            Refusal::Symlink => write!(
                f,
                "it is a symbolic link (qforge does not follow it); choose another path"
            ),
            Refusal::Special(what) => write!(f, "it is {what}; choose another path"),
        }
    }
}

/// An output folder that cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The path holds something qforge must not replace.
    #[error("refusing to write to {}: {reason}", path.display())]
    Refused {
        /// The output path.
        path: PathBuf,
        /// What is there.
        reason: Refusal,
    },
    /// The path holds a qforge folder of another kind and `force` was not given.
    #[error("refusing to write to {}: it holds a qforge {found} output, not {wanted}; pass --force to replace it", path.display())]
    OtherKind {
        /// The output path.
        path: PathBuf,
        /// The kind its marker names.
        found: String,
        /// The kind being written.
        wanted: OutputKind,
    },
    /// The path ends in no folder name (`/`, `.`, `..`, empty).
    #[error("output path `{}` must end in a folder name", path.display())]
    NoName {
        /// The output path.
        path: PathBuf,
    },
    /// A file operation failed.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl OutputError {
    /// A failed file operation `what` on `path`.
    pub fn io(what: &'static str, path: &Path, source: std::io::Error) -> Self {
        OutputError::Io {
            what,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Writes a file output (a model, a network) atomically: the bytes go to a sibling temp file
/// (`.NAME.qforge-tmp.<pid>.<n>`), are flushed to disk, and the temp file is renamed over
/// `path`, so `path` holds the old file or the new one, never a part. An existing regular file
/// at `path` is replaced (naming it as the output asks for that); a folder, a symbolic link
/// (never followed), a device or a fifo is refused and left alone. The error does not repeat
/// the path.
pub fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)?;
    file.commit()
}

/// A file output written in pieces (a waveform, a stream of values) with the guarantees of
/// [`write_file`]: everything goes to the sibling temp file, [`AtomicFile::commit`] flushes it
/// and renames it over the destination, and dropping it uncommitted (an error, a panic) removes
/// the temp file, so a failed run leaves the destination as it was; a killed run's temp file is
/// removed by the next write of the same path once its process is gone. Another program may
/// write the temp file instead ([`AtomicFile::temp_path`]), e.g. a simulator's `+vcd=` argument.
#[derive(Debug)]
pub struct AtomicFile {
    file: Option<std::fs::File>,
    temp: PathBuf,
    path: PathBuf,
}

impl AtomicFile {
    /// Creates the temp file beside `path`, refusing a `path` that is a folder, a symbolic
    /// link, a device or a fifo (an existing regular file is replaced at commit).
    pub fn create(path: &Path) -> std::io::Result<AtomicFile> {
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            let t = meta.file_type();
            if !t.is_file() {
                let what = if t.is_dir() {
                    "a folder"
                } else if t.is_symlink() {
                    "a symbolic link"
                } else {
                    "a device or other special file"
                };
                return Err(std::io::Error::other(format!(
                    "refusing to write: it is {what}, not a file (choose another path)"
                )));
            }
        }
        let name = path
            .file_name()
            .ok_or_else(|| std::io::Error::other("the output path must end in a file name"))?;
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        clean_stale_files(parent, &name.to_string_lossy());
        let temp = parent.join(format!(
            ".{}{TEMP_TAG}{}.{}",
            name.to_string_lossy(),
            std::process::id(),
            NEXT_TEMP.fetch_add(1, Ordering::Relaxed)
        ));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        Ok(AtomicFile {
            file: Some(file),
            temp,
            path: path.to_path_buf(),
        })
    }

    /// The temp file being written.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Flushes the temp file to disk and renames it over the destination.
    pub fn commit(mut self) -> std::io::Result<()> {
        if let Some(file) = self.file.take() {
            file.sync_all()?;
        }
        std::fs::rename(&self.temp, &self.path)?;
        self.temp = PathBuf::new();
        Ok(())
    }
}

impl std::io::Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(std::io::Error::other("the file is already committed")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// What an output path holds now, when qforge may write there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Nothing.
    Absent,
    /// An empty folder.
    Empty,
    /// A folder qforge wrote, of the kind its marker names.
    Ours(String),
}

/// Checks that qforge may write a folder of `kind` at `path`: absent, an empty folder, a qforge
/// folder of the same kind, or (with `force`) of another kind. Nothing at `path` is followed,
/// changed or created.
pub fn check(path: &Path, kind: OutputKind, force: bool) -> Result<Existing, OutputError> {
    name_of(path)?;
    let existing = inspect(path)?;
    if let Existing::Ours(found) = &existing {
        if found != kind.name() && !force {
            return Err(OutputError::OtherKind {
                path: path.to_path_buf(),
                found: found.clone(),
                wanted: kind,
            });
        }
    }
    Ok(existing)
}

/// What is at `path`, without following a link; an error when it is nothing qforge may replace.
fn inspect(path: &Path) -> Result<Existing, OutputError> {
    let refused = |reason| OutputError::Refused {
        path: path.to_path_buf(),
        reason,
    };
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Absent),
        Err(e) => return Err(OutputError::io("inspecting", path, e)),
    };
    let ty = meta.file_type();
    if ty.is_symlink() {
        return Err(refused(Refusal::Symlink));
    }
    if ty.is_file() {
        return Err(refused(Refusal::File));
    }
    if !ty.is_dir() {
        return Err(refused(Refusal::Special(special_name(&ty))));
    }
    match marker_kind(path)? {
        Some(Ok(kind)) => Ok(Existing::Ours(kind)),
        Some(Err(())) => Err(refused(Refusal::BadMarker)),
        None => {
            let mut entries =
                std::fs::read_dir(path).map_err(|e| OutputError::io("reading", path, e))?;
            if entries.next().is_none() {
                Ok(Existing::Empty)
            } else {
                Err(refused(Refusal::NotOurs))
            }
        }
    }
}

/// The kind named by the marker in the folder `dir`: `None` without a marker, `Some(Err)` when
/// the marker is not a plain file holding one kind name.
fn marker_kind(dir: &Path) -> Result<Option<Result<String, ()>>, OutputError> {
    let marker = dir.join(MARKER);
    let meta = match std::fs::symlink_metadata(&marker) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(OutputError::io("inspecting", &marker, e)),
    };
    if !meta.file_type().is_file() {
        return Ok(Some(Err(())));
    }
    let mut text = String::new();
    let read = std::fs::File::open(&marker).and_then(|f| f.take(64).read_to_string(&mut text));
    if read.is_err() {
        return Ok(Some(Err(())));
    }
    let kind = text.trim();
    let plain = !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    Ok(Some(if plain { Ok(kind.to_string()) } else { Err(()) }))
}

#[cfg(unix)]
fn special_name(ty: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ty.is_fifo() {
        "a fifo"
    } else if ty.is_char_device() {
        "a character device"
    } else if ty.is_block_device() {
        "a block device"
    } else if ty.is_socket() {
        "a socket"
    } else {
        "neither a file nor a folder"
    }
}

#[cfg(not(unix))]
fn special_name(_: &std::fs::FileType) -> &'static str {
    "neither a file nor a folder"
}

/// The folder name `path` ends in.
fn name_of(path: &Path) -> Result<String, OutputError> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| OutputError::NoName {
            path: path.to_path_buf(),
        })
}

/// The folder `path` lives in (`.` for a bare name).
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn write_marker(dir: &Path, kind: OutputKind) -> Result<(), OutputError> {
    let marker = dir.join(MARKER);
    std::fs::write(&marker, format!("{}\n", kind.name()))
        .map_err(|e| OutputError::io("writing", &marker, e))
}

/// Prepares `path` for a folder of `kind` written in place, file by file: checks it (see
/// [`check`]), creates it if absent, replaces a qforge folder of another kind (with `force`) by an
/// empty one, and writes the marker. A folder of the same kind is kept as it is, so a resumable
/// writer can continue it.
pub fn prepare_in_place(path: &Path, kind: OutputKind, force: bool) -> Result<(), OutputError> {
    let parent = parent_of(path);
    let existing = check(path, kind, force)?;
    clean_stale(&parent);
    match existing {
        Existing::Ours(found) if found == kind.name() => Ok(()),
        Existing::Ours(_) => Staging::begin(path, kind, force)?.commit(),
        Existing::Empty => write_marker(path, kind),
        Existing::Absent => {
            std::fs::create_dir_all(&parent)
                .map_err(|e| OutputError::io("creating", &parent, e))?;
            match std::fs::create_dir(path) {
                Ok(()) => write_marker(path, kind),
                // Something appeared meanwhile: judge it like any existing path.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    prepare_in_place(path, kind, force)
                }
                Err(e) => Err(OutputError::io("creating", path, e)),
            }
        }
    }
}

/// A folder being written beside its final place, swapped in by [`Staging::commit`]. Dropped
/// without a commit, the temp folder is removed.
#[derive(Debug)]
pub struct Staging {
    target: PathBuf,
    temp: PathBuf,
    kind: OutputKind,
    force: bool,
    done: bool,
}

/// Distinguishes the temp folders of one process.
static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

impl Staging {
    /// Checks `target` (see [`check`]), removes stale temp folders of dead runs beside it and
    /// creates an empty temp folder holding the marker, ready to be filled.
    pub fn begin(target: &Path, kind: OutputKind, force: bool) -> Result<Staging, OutputError> {
        let name = name_of(target)?;
        check(target, kind, force)?;
        let parent = parent_of(target);
        std::fs::create_dir_all(&parent).map_err(|e| OutputError::io("creating", &parent, e))?;
        clean_stale(&parent);
        loop {
            let n = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
            let temp = parent.join(format!(".{name}{TEMP_TAG}{}.{n}", std::process::id()));
            match std::fs::create_dir(&temp) {
                Ok(()) => {
                    let staging = Staging {
                        target: target.to_path_buf(),
                        temp,
                        kind,
                        force,
                        done: false,
                    };
                    write_marker(&staging.temp, kind)?;
                    return Ok(staging);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(OutputError::io("creating", &temp, e)),
            }
        }
    }

    /// The temp folder to write into.
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// Puts the temp folder at the target: checks the target again, swaps the two atomically
    /// (see the module docs for the fallback), and deletes the old folder.
    pub fn commit(mut self) -> Result<(), OutputError> {
        let existing = check(&self.target, self.kind, self.force)?;
        match existing {
            Existing::Absent => match rename_noreplace(&self.temp, &self.target) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    // Something appeared at the target meanwhile: judge it like any other.
                    return self.commit();
                }
                Err(e) => return Err(OutputError::io("renaming into", &self.target, e)),
            },
            Existing::Empty | Existing::Ours(_) => self.replace(&existing)?,
        }
        self.done = true;
        Ok(())
    }

    /// Swaps the temp folder with the existing target, then removes the old one (now at the temp
    /// name).
    fn replace(&self, existing: &Existing) -> Result<(), OutputError> {
        match exchange(&self.temp, &self.target) {
            Ok(()) => match inspect(&self.temp) {
                // The old folder, now at the temp name, is still empty or ours: delete it.
                Ok(Existing::Empty | Existing::Ours(_)) => remove_ours(&self.temp),
                Ok(Existing::Absent) => Ok(()),
                // It changed since the check (now someone else's): put it back untouched.
                Err(e) => {
                    let _ = exchange(&self.temp, &self.target);
                    Err(match e {
                        OutputError::Refused { reason, .. } => OutputError::Refused {
                            path: self.target.clone(),
                            reason,
                        },
                        other => other,
                    })
                }
            },
            Err(e) if exchange_unsupported(&e) => self.replace_by_renames(existing),
            Err(e) => Err(OutputError::io("swapping into", &self.target, e)),
        }
    }

    /// Without an atomic exchange: the old folder aside (or an empty one removed), the new one
    /// in, the old one deleted. The target is missing between the two renames.
    fn replace_by_renames(&self, existing: &Existing) -> Result<(), OutputError> {
        if *existing == Existing::Empty {
            std::fs::remove_dir(&self.target)
                .map_err(|e| OutputError::io("removing the empty folder", &self.target, e))?;
            return std::fs::rename(&self.temp, &self.target)
                .map_err(|e| OutputError::io("renaming into", &self.target, e));
        }
        let name = name_of(&self.target)?;
        let n = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
        let aside =
            parent_of(&self.target).join(format!(".{name}{TEMP_TAG}{}.{n}", std::process::id()));
        std::fs::rename(&self.target, &aside)
            .map_err(|e| OutputError::io("moving aside", &self.target, e))?;
        if let Err(e) = std::fs::rename(&self.temp, &self.target) {
            let _ = std::fs::rename(&aside, &self.target);
            return Err(OutputError::io("renaming into", &self.target, e));
        }
        remove_ours(&aside)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = remove_ours(&self.temp);
        }
    }
}

/// Removes a folder qforge made (checked again: a marked or empty real folder). The marker goes
/// last, so a removal cut short leaves a folder that is still recognisably ours.
fn remove_ours(dir: &Path) -> Result<(), OutputError> {
    let err = |e| OutputError::io("removing the old folder", dir, e);
    match inspect(dir)? {
        Existing::Absent => return Ok(()),
        Existing::Empty => {}
        Existing::Ours(_) => {
            for entry in std::fs::read_dir(dir).map_err(err)? {
                let entry = entry.map_err(err)?;
                if entry.file_name() == MARKER {
                    continue;
                }
                let path = entry.path();
                // file_type() does not follow links: a link inside is removed, not its target.
                if entry.file_type().map_err(err)?.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                }
                .map_err(err)?;
            }
            std::fs::remove_file(dir.join(MARKER)).map_err(err)?;
        }
    }
    std::fs::remove_dir(dir).map_err(err)
}

/// Removes the temp files `.NAME.qforge-tmp.<pid>.<n>` that killed runs left beside `dir/NAME`
/// (regular files only, of processes that are gone).
fn clean_stale_files(dir: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}{TEMP_TAG}");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(text) = file_name.to_str() else {
            continue;
        };
        let Some(pid) = text.strip_prefix(&prefix).and(temp_pid(text)) else {
            continue;
        };
        if pid == std::process::id() || process_alive(pid) {
            continue;
        }
        let path = entry.path();
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file()) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// The process id in a temp folder's name `.NAME.qforge-tmp.<pid>.<n>`, if it is one.
fn temp_pid(file_name: &str) -> Option<u32> {
    let at = file_name.rfind(TEMP_TAG)?;
    if !file_name.starts_with('.') || at == 0 {
        return None;
    }
    let (pid, n) = file_name[at + TEMP_TAG.len()..].split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(pid) || !digits(n) {
        return None;
    }
    pid.parse().ok()
}

/// Whether the process `pid` may still be running (always yes where that cannot be told).
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") && Path::new("/proc/self").exists() {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Removes the temp folders in `dir` left by runs whose process is gone: only real folders named
/// like ours that hold our marker or nothing. Failures are ignored (the next run tries again).
pub fn clean_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_pid) else {
            continue;
        };
        if pid == std::process::id() || process_alive(pid) {
            continue;
        }
        let path = entry.path();
        if matches!(inspect(&path), Ok(Existing::Ours(_) | Existing::Empty)) {
            let _ = remove_ours(&path);
        }
    }
}

fn exchange_unsupported(e: &std::io::Error) -> bool {
    #[cfg(target_os = "linux")]
    {
        matches!(
            e.raw_os_error(),
            Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
        )
    }
    #[cfg(not(target_os = "linux"))]
    {
        e.kind() == std::io::ErrorKind::Unsupported
    }
}

/// `renameat2(from, to, flags)`: the one rename std does not expose.
#[cfg(target_os = "linux")]
fn renameat2(from: &Path, to: &Path, flags: libc::c_uint) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let from = CString::new(from.as_os_str().as_bytes())?;
    let to = CString::new(to.as_os_str().as_bytes())?;
    // SAFETY: both paths are NUL-terminated strings that outlive the call; the syscall reads
    // them only.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            flags,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Swaps two existing paths atomically.
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        renameat2(a, b, libc::RENAME_EXCHANGE)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (a, b);
        Err(std::io::ErrorKind::Unsupported.into())
    }
}

/// Renames `from` to `to`, failing with `AlreadyExists` if anything is at `to`.
fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        match renameat2(from, to, libc::RENAME_NOREPLACE) {
            Err(e) if exchange_unsupported(&e) => {}
            other => return other,
        }
    }
    // A plain rename replaces only an empty folder that appeared meanwhile, never anything else.
    if std::fs::symlink_metadata(to).is_ok() {
        return Err(std::io::ErrorKind::AlreadyExists.into());
    }
    std::fs::rename(from, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("qforge_outdir_{}_{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn an_atomic_file_appears_only_when_committed_and_leaves_no_temp_otherwise() {
        use std::io::Write;
        let dir = scratch("atomic_file");
        let path = dir.join("wave.vcd");
        std::fs::write(&path, "old").unwrap();
        {
            let mut f = AtomicFile::create(&path).unwrap();
            f.write_all(b"half a wave").unwrap();
            assert!(f.temp_path().exists());
            // Dropped without commit: an error or a panic on the way.
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        let names = |d: &Path| -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(&dir), ["wave.vcd"]);
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"new").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(names(&dir), ["wave.vcd"]);
        // A folder or a link at the path is refused before anything is written.
        let folder = dir.join("folder");
        std::fs::create_dir(&folder).unwrap();
        let e = AtomicFile::create(&folder).unwrap_err();
        assert!(e.to_string().contains("it is a folder"), "{e}");
        let link = dir.join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let e = AtomicFile::create(&link).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(names(&dir), ["folder", "link", "wave.vcd"]);
        // A killed run's temp file (its process gone: pids stop far below 999999999) is removed
        // by the next write of that path; a folder of that name, or another path's temp file,
        // is not.
        let stale = dir.join(".wave.vcd.qforge-tmp.999999999.0");
        std::fs::write(&stale, "half").unwrap();
        let other = dir.join(".other.vcd.qforge-tmp.999999999.0");
        std::fs::write(&other, "half").unwrap();
        let stale_dir = dir.join(".wave.vcd.qforge-tmp.999999999.1");
        std::fs::create_dir(&stale_dir).unwrap();
        AtomicFile::create(&path).unwrap().commit().unwrap();
        assert!(!stale.exists());
        assert!(other.exists() && stale_dir.is_dir());
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn write(kind: OutputKind, target: &Path, force: bool, text: &str) -> Result<(), OutputError> {
        let s = Staging::begin(target, kind, force)?;
        std::fs::write(s.path().join("f.txt"), text).unwrap();
        s.commit()
    }

    #[test]
    fn absent_empty_and_same_kind_are_written() {
        let dir = scratch("ok");
        let out = dir.join("d");
        write(OutputKind::Pe, &out, false, "1").unwrap();
        assert_eq!(std::fs::read_to_string(out.join("f.txt")).unwrap(), "1");
        assert_eq!(std::fs::read_to_string(out.join(MARKER)).unwrap(), "pe\n");
        write(OutputKind::Pe, &out, false, "2").unwrap();
        assert_eq!(std::fs::read_to_string(out.join("f.txt")).unwrap(), "2");
        let empty = dir.join("e");
        std::fs::create_dir(&empty).unwrap();
        write(OutputKind::Net, &empty, false, "3").unwrap();
        assert_eq!(std::fs::read_to_string(empty.join("f.txt")).unwrap(), "3");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["d", "e"], "no temp folder left");
    }

    #[test]
    fn other_kind_needs_force() {
        let dir = scratch("kind");
        let out = dir.join("d");
        write(OutputKind::Sweep, &out, false, "1").unwrap();
        let e = write(OutputKind::Net, &out, false, "2").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "refusing to write to {}: it holds a qforge sweep output, not net; pass --force to replace it",
                out.display()
            )
        );
        assert_eq!(std::fs::read_to_string(out.join("f.txt")).unwrap(), "1");
        write(OutputKind::Net, &out, true, "2").unwrap();
        assert_eq!(std::fs::read_to_string(out.join(MARKER)).unwrap(), "net\n");
    }

    #[test]
    fn foreign_things_are_refused_and_untouched() {
        let dir = scratch("foreign");
        let user = dir.join("user");
        std::fs::create_dir(&user).unwrap();
        std::fs::write(user.join("keep"), "x").unwrap();
        let e = write(OutputKind::Pe, &user, true, "1").unwrap_err();
        assert!(e.to_string().contains("did not create"), "{e}");
        assert_eq!(std::fs::read_to_string(user.join("keep")).unwrap(), "x");
        let file = dir.join("file");
        std::fs::write(&file, "y").unwrap();
        let e = write(OutputKind::Pe, &file, true, "1").unwrap_err();
        assert!(e.to_string().contains("it is a file"), "{e}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "y");
        let fake = dir.join("fake");
        std::fs::create_dir_all(fake.join(MARKER)).unwrap();
        let e = write(OutputKind::Pe, &fake, true, "1").unwrap_err();
        assert!(e.to_string().contains("not a plain file"), "{e}");
        #[cfg(unix)]
        {
            let link = dir.join("link");
            std::os::unix::fs::symlink(&user, &link).unwrap();
            let e = write(OutputKind::Pe, &link, true, "1").unwrap_err();
            assert!(e.to_string().contains("symbolic link"), "{e}");
            assert!(std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink());
        }
        assert!(matches!(
            check(Path::new("/"), OutputKind::Pe, false),
            Err(OutputError::NoName { .. })
        ));
    }

    #[test]
    fn temp_names_are_recognised() {
        assert_eq!(temp_pid(".pe.qforge-tmp.123.0"), Some(123));
        assert_eq!(temp_pid(".a.b.qforge-tmp.7.12"), Some(7));
        assert_eq!(temp_pid("pe.qforge-tmp.123.0"), None);
        assert_eq!(temp_pid(".pe.qforge-tmp.123"), None);
        assert_eq!(temp_pid(".pe.qforge-tmp.x.0"), None);
        assert_eq!(temp_pid(".pe.tmp123"), None);
    }

    #[test]
    fn in_place_keeps_same_kind_and_marks_new_folders() {
        let dir = scratch("inplace");
        let out = dir.join("s");
        prepare_in_place(&out, OutputKind::Sweep, false).unwrap();
        std::fs::write(out.join("results.csv"), "x").unwrap();
        prepare_in_place(&out, OutputKind::Sweep, false).unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("results.csv")).unwrap(),
            "x"
        );
        assert!(prepare_in_place(&out, OutputKind::Net, false).is_err());
        prepare_in_place(&out, OutputKind::Net, true).unwrap();
        assert!(!out.join("results.csv").exists());
        assert_eq!(std::fs::read_to_string(out.join(MARKER)).unwrap(), "net\n");
    }

    #[test]
    fn dropped_staging_leaves_nothing() {
        let dir = scratch("drop");
        let s = Staging::begin(&dir.join("d"), OutputKind::Pe, false).unwrap();
        std::fs::write(s.path().join("f"), "1").unwrap();
        drop(s);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    }
}
