//! Writing files so that a reader never sees half of one: the single place kgrec writes a file
//! that must appear whole (the N-Quads snapshot, `FORMAT`, embedding exports, batch outputs).
//!
//! Two layers:
//! - [`AtomicFile`] / [`write_atomic`]: write a temporary sibling of the target (same directory,
//!   a name unique to this process and call), `fsync` it, rename it over the target, `fsync` the
//!   directory. Until the rename the target is untouched; on an error, or when an [`AtomicFile`]
//!   is dropped without [`AtomicFile::commit`], the temporary file is removed. A process killed
//!   mid-write can leave the temporary file behind: [`is_leftover_temp`] recognises it, for the
//!   owners of a directory (the graph store, the data directory) to remove.
//! - [`resolve_output`] / [`open_output`] / [`write_output`]: the same for a path the *user* named
//!   (`--out`), where renaming over the path is not always what "write to it" means:
//!   - `-` is standard output;
//!   - a directory is refused ([`FsError::IsDirectory`]);
//!   - an existing file that is not a regular file (a character device such as `/dev/null` or a
//!     terminal, a FIFO, a socket) is opened and written through: no temporary file, no rename.
//!     `/dev/stdout` is a symbolic link to `/proc/self/fd/1`, itself a link to the terminal or the
//!     pipe, so it lands here and the system's `/dev/stdout` stays what it is;
//!   - a symbolic link is followed: the temporary file and the rename happen beside the final
//!     target, so the link stays a link and its target gets the new content (a dangling link
//!     creates its target, as a shell's `>` would);
//!   - a regular file or a new path gets the atomic write, keeping an existing file's permissions.
//!     A regular file behind a link whose canonical path is not the same file (a `/proc/PID/fd/N`
//!     of a deleted file) is written through instead.
//!
//! Knows nothing of what is written; errors name the path the user gave or the target.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FsError {
    /// An I/O failure while writing `path` (the target; the directory for its `fsync`).
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The path to write names a directory.
    #[error("{}: is a directory, not a file to write", path.display())]
    IsDirectory { path: PathBuf },
    /// The path to write has no file name (`/`, `..`, the empty path).
    #[error("{}: not a file name", path.display())]
    NotAFileName { path: PathBuf },
    /// The file to replace is read-only: its owner protected it.
    #[error(
        "{}: the file is read-only; kgrec does not replace a protected file (make it writable, \
         or write elsewhere)",
        path.display()
    )]
    ReadOnly { path: PathBuf },
}

impl FsError {
    /// The path the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Io { path, .. }
            | Self::IsDirectory { path }
            | Self::NotAFileName { path }
            | Self::ReadOnly { path } => path,
        }
    }

    /// Whether the path the user gave is at fault (exit code 2) rather than the machine.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, Self::Io { .. })
    }

    fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// Marks a temporary file of this module: `.{target name}.{pid}.{n}` + this.
const TEMP_SUFFIX: &str = ".kgrec-tmp";
/// Longest part of the target's name kept in a temporary file's name (names are ≤ 255 bytes).
const TEMP_NAME_KEEP: usize = 200;
const BUFFER: usize = 64 * 1024;
/// As Linux's `MAXSYMLINKS`.
const MAX_LINKS: usize = 40;

/// The temporary files and folders of this process that an interrupt (Ctrl-C) removes before
/// the process exits: [`AtomicFile`]'s temporary files, and whatever a caller registers with
/// [`temp_sibling_dir`] and [`ScratchDir`]. Commits (the renames that put a temporary file in place) run while
/// holding it, so an interrupt lands before a commit or after it, never inside.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn pending() -> MutexGuard<'static, Vec<PathBuf>> {
    PENDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn forget_pending(list: &mut Vec<PathBuf>, path: &Path) {
    if let Some(at) = list.iter().rposition(|p| p == path) {
        list.swap_remove(at);
    }
}

/// A temporary folder (in the system's temporary directory) that an interrupt removes too
/// ([`clean_up_for_exit`]): made and registered, and later removed and taken off the list, each
/// under one hold of the list, so that no moment of a Ctrl-C leaves it behind.
#[derive(Debug)]
pub struct ScratchDir {
    dir: tempfile::TempDir,
}

impl ScratchDir {
    /// Creates the folder.
    pub fn new() -> io::Result<Self> {
        Self::with_prefix(".tmp")
    }

    /// Creates the folder, its name starting with `prefix` (`kgrec-read-only-`), so that a
    /// look into the temporary directory tells whose it is.
    pub fn with_prefix(prefix: &str) -> io::Result<Self> {
        let mut list = pending();
        let dir = tempfile::Builder::new().prefix(prefix).tempdir()?;
        list.push(dir.path().to_owned());
        Ok(Self { dir })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let mut list = pending();
        let _ = remove_tree(self.dir.path());
        forget_pending(&mut list, self.dir.path());
    }
}

/// How long [`remove_tree`] keeps trying.
const REMOVE_FOR: std::time::Duration = std::time::Duration::from_secs(2);

/// Removes a folder with everything under it, trying again while it fails: a thread of this
/// process may still be adding a file to it (sled's flusher or its I/O pool finishing a write
/// after the database closed, a copy under way), which makes the last `rmdir` fail with
/// "directory not empty". On a loaded machine such a thread can be descheduled for longer
/// than a few tries last, so the tries go on for up to [`REMOVE_FOR`]. Gone already is done.
pub fn remove_tree(path: &Path) -> io::Result<()> {
    let deadline = std::time::Instant::now() + REMOVE_FOR;
    let mut pause = std::time::Duration::from_millis(2);
    loop {
        match fs::remove_dir_all(path) {
            Ok(()) => return Ok(()),
            Err(_) if fs::symlink_metadata(path).is_err() => return Ok(()),
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(50));
            }
            Err(e) => return Err(e),
        }
    }
}

/// A registration on the list of [`clean_up_for_exit`]; dropped, it ends (it removes nothing).
#[derive(Debug)]
pub struct PendingGuard {
    path: PathBuf,
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        forget_pending(&mut pending(), &self.path);
    }
}

/// Runs `commit` (renames that put finished files in place) so that [`clean_up_for_exit`] comes
/// wholly before it or wholly after it.
pub fn commit_section<T>(commit: impl FnOnce() -> T) -> T {
    let _held = pending();
    commit()
}

/// Held while a folder tree is made ([`create_dirs`], a store's first open, which may make its
/// parents) and by an interrupt handler from its clean-up until the exit
/// ([`clean_up_for_exit`]). The handler runs on a thread of its own while the command goes on:
/// without this, a training storing its model meanwhile made again, with `create_dir_all`, the
/// temporary data directory the handler had just removed, and it was left behind.
static MAKING_DIRS: Mutex<()> = Mutex::new(());

/// Takes the hold of [`MAKING_DIRS`], for an open that may create folders (sled's, for one).
pub fn making_dirs() -> MutexGuard<'static, ()> {
    MAKING_DIRS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `fs::create_dir_all` under the hold of [`making_dirs`]: once an interrupt handler has
/// removed the temporary folders, nothing makes them again before the process exits.
pub fn create_dirs(path: &Path) -> io::Result<()> {
    let _held = making_dirs();
    fs::create_dir_all(path)
}

/// What an interrupt handler holds from its clean-up until the exit ([`clean_up_for_exit`]):
/// no folder is made, no commit starts and no temporary file is made meanwhile.
#[derive(Debug)]
pub struct ExitHold {
    _list: MutexGuard<'static, Vec<PathBuf>>,
    _dirs: MutexGuard<'static, ()>,
}

/// For an interrupt handler that is about to exit the process: removes every temporary file and
/// folder still registered, and returns the holds to keep until the exit ([`ExitHold`]), so that
/// nothing is made again meanwhile. Returns how many paths it removed.
pub fn clean_up_for_exit() -> (usize, ExitHold) {
    // First the folders' hold, then the list's: the order every other holder of both keeps.
    let dirs = making_dirs();
    let mut list = pending();
    let mut removed = 0;
    for path in list.drain(..) {
        let gone = match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => remove_tree(&path).is_ok(),
            Ok(_) => fs::remove_file(&path).is_ok(),
            Err(_) => false,
        };
        removed += usize::from(gone);
    }
    let hold = ExitHold {
        _list: list,
        _dirs: dirs,
    };
    (removed, hold)
}

/// Creates an empty temporary folder beside `path` (`.{name}.{pid}.{n}.kgrec-tmp`, which
/// [`is_leftover_temp`] recognises), registered for removal on an interrupt: to fill, then to
/// rename into place. The guard only ends the registration; the caller removes the folder.
pub fn temp_sibling_dir(path: &Path) -> Result<(PathBuf, PendingGuard), FsError> {
    loop {
        let temp = next_temp_name(path)?;
        let mut list = pending();
        match fs::create_dir(&temp) {
            Ok(()) => {
                list.push(temp.clone());
                drop(list);
                let guard = PendingGuard { path: temp.clone() };
                return Ok((temp, guard));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(FsError::io(path, e)),
        }
    }
}

/// Numbers the temporary files and folders of this process.
static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

/// The next temporary sibling name of `path`: `.{name}.{pid}.{n}.kgrec-tmp`.
fn next_temp_name(path: &Path) -> Result<PathBuf, FsError> {
    let name = path.file_name().ok_or_else(|| FsError::NotAFileName {
        path: path.to_owned(),
    })?;
    let (pid, n) = (
        std::process::id(),
        NEXT_TEMP.fetch_add(1, Ordering::Relaxed),
    );
    Ok(path.with_file_name(format!("{}{pid}.{n}{TEMP_SUFFIX}", temp_stem(name))))
}

/// The start every temporary sibling of a file named `name` has: `.{name}.`, the name cut to
/// [`TEMP_NAME_KEEP`] bytes (on a character boundary) so that the whole stays a valid file name.
fn temp_stem(name: &OsStr) -> String {
    let name = name.to_string_lossy();
    let mut keep = name.len().min(TEMP_NAME_KEEP);
    while !name.is_char_boundary(keep) {
        keep -= 1;
    }
    format!(".{}.", &name[..keep])
}

/// Whether process `pid` is gone, by `/proc` (Linux). Where `/proc` does not show this process
/// either, nothing is known: `false`, and nothing is removed as stale.
fn process_gone(pid: u32) -> bool {
    let proc = Path::new("/proc");
    proc.join(std::process::id().to_string()).exists() && !proc.join(pid.to_string()).exists()
}

/// Removes the temporary siblings of `path` (`.{name}.{pid}.{n}.kgrec-tmp`, [`next_temp_name`])
/// that a process killed outright (`kill -9`, a power cut) left: those whose process is gone.
/// Another live process's are left alone. Best effort: what cannot be removed stays.
pub fn remove_stale_siblings(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = match dir.as_os_str().is_empty() {
        true => Path::new("."),
        false => dir,
    };
    let start = temp_stem(name);
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let entry_name = entry.file_name();
        let entry_name = entry_name.to_string_lossy();
        let Some(rest) = entry_name
            .strip_prefix(start.as_str())
            .and_then(|rest| rest.strip_suffix(TEMP_SUFFIX))
        else {
            continue;
        };
        let Some((pid, n)) = rest.split_once('.') else {
            continue;
        };
        if let (Ok(pid), Ok(_)) = (pid.parse::<u32>(), n.parse::<u64>())
            && process_gone(pid)
        {
            let _ = match entry.file_type() {
                Ok(t) if t.is_dir() => remove_tree(&entry.path()),
                _ => fs::remove_file(entry.path()),
            };
        }
    }
}

/// A prefix for [`ScratchDir::with_prefix`] that names this process (`{kind}.{pid}.`), so that
/// [`remove_stale_scratch`] can tell a folder whose process is gone.
pub fn scratch_prefix(kind: &str) -> String {
    format!("{kind}.{}.", std::process::id())
}

/// Removes the folders of the system's temporary directory named by [`scratch_prefix`]`(kind)`
/// whose process is gone (killed outright, so its interrupt handler never ran). Best effort.
pub fn remove_stale_scratch(kind: &str) {
    let start = format!("{kind}.");
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Some((pid, _)) = name
            .strip_prefix(start.as_str())
            .and_then(|rest| rest.split_once('.'))
        else {
            continue;
        };
        if let Ok(pid) = pid.parse::<u32>()
            && process_gone(pid)
            && entry.file_type().is_ok_and(|t| t.is_dir())
        {
            let _ = remove_tree(&entry.path());
        }
    }
}

/// Whether a directory entry named `name` is a temporary file [`AtomicFile`] left behind (its
/// process was killed before the rename or the removal).
pub fn is_leftover_temp(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with('.') && name.ends_with(TEMP_SUFFIX)
}

/// Writes `path` whole or not at all: `write` fills a temporary sibling, which replaces `path`
/// only once `write` returned `Ok` and the data is on disk. See [`AtomicFile`].
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), FsError> {
    let mut file = AtomicFile::create(path)?;
    write(&mut file).map_err(|e| FsError::io(path, e))?;
    file.commit()
}

/// A file being written beside its target; [`commit`](Self::commit) puts it in place.
///
/// Writes are buffered. Dropping it without `commit` (an error, a panic) removes the temporary
/// file and leaves the target as it was. The target is replaced as a directory entry: a symbolic
/// link at `path` is replaced, not followed (use [`open_output`] for paths a user names).
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    /// `None` once committed.
    file: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Creates the temporary sibling of `path`. The directory must exist.
    pub fn create(path: &Path) -> Result<Self, FsError> {
        let previous = fs::metadata(path).ok().filter(|m| m.is_file());
        loop {
            let temp = next_temp_name(path)?;
            // Registered in the same hold as its creation: an interrupt sees it or prevents it.
            let mut list = pending();
            let created = OpenOptions::new().write(true).create_new(true).open(&temp);
            if created.is_ok() {
                list.push(temp.clone());
            }
            drop(list);
            match created {
                Ok(file) => {
                    if let Some(previous) = &previous {
                        // Replacing a file should not change who may read it.
                        fs::set_permissions(&temp, previous.permissions()).map_err(|e| {
                            let _ = fs::remove_file(&temp);
                            forget_pending(&mut pending(), &temp);
                            FsError::io(path, e)
                        })?;
                    }
                    return Ok(Self {
                        target: path.to_owned(),
                        temp,
                        file: Some(BufWriter::with_capacity(BUFFER, file)),
                    });
                }
                // A leftover of an earlier process with the same id: take the next number.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(FsError::io(path, e)),
            }
        }
    }

    /// The path the file will have once committed.
    pub fn path(&self) -> &Path {
        &self.target
    }

    /// Flushes and `fsync`s the temporary file, renames it over the target and `fsync`s the
    /// directory, so that after `Ok` the new content survives a power cut.
    pub fn commit(mut self) -> Result<(), FsError> {
        let Some(writer) = self.file.take() else {
            return Ok(());
        };
        let synced = writer
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|file| file.sync_all())
            .and_then(|()| {
                let mut list = pending();
                let renamed = fs::rename(&self.temp, &self.target);
                if renamed.is_ok() {
                    forget_pending(&mut list, &self.temp);
                }
                renamed
            });
        if let Err(e) = synced {
            let _ = fs::remove_file(&self.temp);
            forget_pending(&mut pending(), &self.temp);
            return Err(FsError::io(&self.target, e));
        }
        sync_parent(&self.target)
    }

    fn writer(&mut self) -> io::Result<&mut BufWriter<File>> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("the file is already committed"))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer()?.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer()?.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer()?.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(writer) = self.file.take() {
            // Close without flushing: the content is abandoned.
            drop(writer.into_parts());
            let _ = fs::remove_file(&self.temp);
            forget_pending(&mut pending(), &self.temp);
        }
    }
}

/// Makes a rename in `path`'s directory durable. Opening a directory to sync it works on Unix;
/// elsewhere the rename is the best there is. Also for a removal or a new folder in it.
pub fn sync_parent(path: &Path) -> Result<(), FsError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| FsError::io(dir, e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// How a user-named output path is written (the rules are in the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputTarget {
    /// `-`: the process's standard output.
    Stdout,
    /// An existing file that is not a regular file (device, FIFO, socket): written through.
    Direct(PathBuf),
    /// A regular file or a new path, symbolic links resolved: written beside and renamed over.
    Atomic(PathBuf),
}

/// Decides how the output path `path` is written, following its symbolic links.
pub fn resolve_output(path: &Path) -> Result<OutputTarget, FsError> {
    if matches!(
        path.to_str(),
        Some("-" | "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1")
    ) {
        return Ok(OutputTarget::Stdout);
    }
    // Another of the process's own descriptors: written through as it was opened (by the shell,
    // perhaps with `>>`), never replaced by a new file where the link points.
    if names_own_descriptor(path) {
        return Ok(OutputTarget::Direct(path.to_owned()));
    }
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(FsError::IsDirectory {
            path: path.to_owned(),
        }),
        Ok(meta) if meta.is_file() => regular_target(path, &meta),
        Ok(_) => Ok(OutputTarget::Direct(path.to_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => new_target(path),
        Err(e) => Err(FsError::io(path, e)),
    }
}

/// Whether `path` names one of the process's open descriptors (`/dev/stderr`, `/dev/fd/N`,
/// `/proc/self/fd/N`): what it resolves to is whatever the descriptor was opened on.
fn names_own_descriptor(path: &Path) -> bool {
    path.to_str().is_some_and(|p| {
        matches!(p, "/dev/stdout" | "/dev/stderr")
            || p.strip_prefix("/dev/fd/")
                .or_else(|| p.strip_prefix("/proc/self/fd/"))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// An existing regular file: renamed over where it really is; a read-only file is refused, and
/// a file with several hard links is written in place (a rename would split the links).
fn regular_target(path: &Path, meta: &fs::Metadata) -> Result<OutputTarget, FsError> {
    if meta.permissions().readonly() {
        return Err(FsError::ReadOnly {
            path: path.to_owned(),
        });
    }
    if hard_links(meta) > 1 {
        return Ok(OutputTarget::Direct(path.to_owned()));
    }
    let is_link = fs::symlink_metadata(path)
        .map_err(|e| FsError::io(path, e))?
        .file_type()
        .is_symlink();
    if !is_link {
        return Ok(OutputTarget::Atomic(path.to_owned()));
    }
    let real = fs::canonicalize(path).map_err(|e| FsError::io(path, e))?;
    let same_file = fs::metadata(&real).is_ok_and(|found| same_file(&found, meta));
    Ok(if same_file {
        OutputTarget::Atomic(real)
    } else {
        OutputTarget::Direct(path.to_owned())
    })
}

#[cfg(unix)]
fn hard_links(meta: &fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.nlink()
}

#[cfg(not(unix))]
fn hard_links(_: &fs::Metadata) -> u64 {
    1
}

#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[cfg(not(unix))]
fn same_file(_: &fs::Metadata, _: &fs::Metadata) -> bool {
    // No magic links to tell apart: the canonical path is the file.
    true
}

/// A path that does not exist, or a dangling symbolic link: the path its links lead to.
fn new_target(path: &Path) -> Result<OutputTarget, FsError> {
    let mut current = path.to_owned();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&current) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(OutputTarget::Atomic(current));
            }
            Err(e) => return Err(FsError::io(&current, e)),
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&current).map_err(|e| FsError::io(&current, e))?;
                // A relative link is relative to the directory holding it; an absolute one
                // replaces the whole path in `join`.
                current = match current.parent() {
                    Some(dir) => dir.join(link),
                    None => link,
                };
            }
            // Created meanwhile: decide on what is there now.
            Ok(_) => return resolve_output(&current),
        }
    }
    Err(FsError::io(
        path,
        io::Error::other("too many levels of symbolic links"),
    ))
}

/// An output being written; [`commit`](Self::commit) finishes it.
#[derive(Debug)]
pub struct OutputFile {
    target: OutputTarget,
    sink: Sink,
}

#[derive(Debug)]
enum Sink {
    Stdout(BufWriter<io::Stdout>),
    Direct(BufWriter<File>),
    Atomic(AtomicFile),
}

impl OutputTarget {
    /// Opens the target for writing: nothing is visible at an [`Atomic`](Self::Atomic) path
    /// until [`OutputFile::commit`].
    pub fn open(self) -> Result<OutputFile, FsError> {
        let sink = match &self {
            Self::Stdout => Sink::Stdout(BufWriter::with_capacity(BUFFER, io::stdout())),
            Self::Direct(path) => {
                // No `create`: the file exists, and a device or FIFO must not become a file. A
                // descriptor of the process is appended to (the shell truncated it already for
                // `>`, and must not lose what is there for `>>`); a regular file written in
                // place (several hard links) is rewritten whole.
                let own = names_own_descriptor(path);
                let regular = fs::metadata(path).is_ok_and(|m| m.is_file());
                let file = OpenOptions::new()
                    .write(true)
                    .append(own)
                    .truncate(regular && !own)
                    .open(path)
                    .map_err(|e| FsError::io(path, e))?;
                Sink::Direct(BufWriter::with_capacity(BUFFER, file))
            }
            Self::Atomic(path) => {
                remove_stale_siblings(path);
                Sink::Atomic(AtomicFile::create(path)?)
            }
        };
        Ok(OutputFile { target: self, sink })
    }

    /// The path written, for messages (`-` for standard output).
    pub fn path(&self) -> &Path {
        match self {
            Self::Stdout => Path::new("-"),
            Self::Direct(path) | Self::Atomic(path) => path,
        }
    }
}

/// Resolves the user-named output `path` ([`resolve_output`]) and opens it.
pub fn open_output(path: &Path) -> Result<OutputFile, FsError> {
    resolve_output(path)?.open()
}

/// Writes the user-named output `path` with `write`, by the rules of [`resolve_output`], and
/// returns where it went.
pub fn write_output(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<OutputTarget, FsError> {
    let mut out = open_output(path)?;
    write(&mut out).map_err(|e| FsError::io(out.target.path(), e))?;
    let target = out.target.clone();
    out.commit()?;
    Ok(target)
}

impl OutputFile {
    /// Where the output goes.
    pub fn target(&self) -> &OutputTarget {
        &self.target
    }

    /// Flushes the output; for an [`OutputTarget::Atomic`] target, puts the file in place
    /// ([`AtomicFile::commit`]). Dropping an `OutputFile` without `commit` leaves an atomic
    /// target untouched.
    pub fn commit(self) -> Result<(), FsError> {
        let flushed = match self.sink {
            Sink::Stdout(mut w) => w.flush(),
            Sink::Direct(mut w) => w.flush(),
            Sink::Atomic(file) => return file.commit(),
        };
        flushed.map_err(|e| FsError::io(self.target.path(), e))
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.sink {
            Sink::Stdout(w) => w.write(buf),
            Sink::Direct(w) => w.write(buf),
            Sink::Atomic(w) => w.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.sink {
            Sink::Stdout(w) => w.write_all(buf),
            Sink::Direct(w) => w.write_all(buf),
            Sink::Atomic(w) => w.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Stdout(w) => w.flush(),
            Sink::Direct(w) => w.flush(),
            Sink::Atomic(w) => w.flush(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// The names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn failing(w: &mut dyn Write) -> io::Result<()> {
        w.write_all(b"half of the new")?;
        Err(io::Error::other("the writer failed"))
    }

    #[test]
    fn a_regular_file_is_replaced_whole_and_kept_on_a_failing_writer() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("recs.tsv");
        fs::write(&path, "old\n").unwrap();

        let err = write_atomic(&path, failing).unwrap_err();
        assert!(
            matches!(&err, FsError::Io { path: p, .. } if *p == path),
            "{err}"
        );
        assert!(err.to_string().contains("the writer failed"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "old\n");
        assert_eq!(names(tmp.path()), ["recs.tsv"]);

        write_atomic(&path, |w| w.write_all(b"new\n")).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
        assert_eq!(names(tmp.path()), ["recs.tsv"]);
    }

    #[cfg(unix)]
    #[test]
    fn replacing_a_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("secret.tsv");
        fs::write(&path, "old\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        write_output(&path, |w| w.write_all(b"new\n")).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn nothing_is_visible_before_commit_and_a_dropped_file_leaves_no_trace() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("snapshot-2.nq");
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(&[b'x'; 100_000]).unwrap();
        assert!(!path.exists());
        let during = names(tmp.path());
        assert_eq!(during.len(), 1, "{during:?}");
        assert!(during[0].starts_with(".snapshot-2.nq."), "{during:?}");
        assert!(is_leftover_temp(OsStr::new(&during[0])), "{during:?}");
        assert!(!is_leftover_temp(OsStr::new("snapshot-2.nq")));
        drop(file);
        assert!(names(tmp.path()).is_empty());

        let mut file = AtomicFile::create(&path).unwrap();
        assert_eq!(file.path(), path);
        file.write_all(b"<a> <b> <c> .\n").unwrap();
        file.commit().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "<a> <b> <c> .\n");
        assert_eq!(names(tmp.path()), ["snapshot-2.nq"]);
    }

    #[test]
    fn two_writers_of_one_path_get_distinct_temporary_files() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("FORMAT");
        let mut first = AtomicFile::create(&path).unwrap();
        let mut second = AtomicFile::create(&path).unwrap();
        first.write_all(b"first").unwrap();
        second.write_all(b"second").unwrap();
        assert_eq!(names(tmp.path()).len(), 2);
        first.commit().unwrap();
        second.commit().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "second");
        assert_eq!(names(tmp.path()), ["FORMAT"]);
    }

    #[test]
    fn a_missing_directory_names_the_target_and_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("no/such/dir/recs.tsv");
        let err = write_output(&path, |w| w.write_all(b"x")).unwrap_err();
        match &err {
            FsError::Io { path: p, source } => {
                assert_eq!(*p, path);
                assert_eq!(source.kind(), io::ErrorKind::NotFound);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(!err.is_bad_input());
        assert!(names(tmp.path()).is_empty());
        assert!(matches!(
            AtomicFile::create(Path::new("/")),
            Err(FsError::NotAFileName { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_stays_a_link_and_its_target_gets_the_content() {
        use std::os::unix::fs::symlink;
        let tmp = tempfile::tempdir().unwrap();
        let (out, real) = (tmp.path().join("out"), tmp.path().join("real"));
        fs::create_dir_all(&out).unwrap();
        fs::create_dir_all(&real).unwrap();
        fs::write(real.join("recs.tsv"), "old\n").unwrap();
        // Relative: resolved against the link's directory, not the process's.
        let link = out.join("recs.tsv");
        symlink("../real/recs.tsv", &link).unwrap();

        let target = resolve_output(&link).unwrap();
        let canonical = fs::canonicalize(real.join("recs.tsv")).unwrap();
        assert_eq!(target, OutputTarget::Atomic(canonical.clone()));

        // A failing writer changes neither the link nor its target.
        assert!(write_output(&link, failing).is_err());
        assert_eq!(fs::read_to_string(&canonical).unwrap(), "old\n");

        assert_eq!(
            write_output(&link, |w| w.write_all(b"new\n")).unwrap(),
            target
        );
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("../real/recs.tsv"));
        assert_eq!(fs::read_to_string(&link).unwrap(), "new\n");
        assert_eq!(names(&out), ["recs.tsv"]);
        assert_eq!(names(&real), ["recs.tsv"]);

        // A dangling link (through a chain of two) creates its target, as `>` would.
        symlink(real.join("later.tsv"), out.join("hop")).unwrap();
        symlink("hop", out.join("later.tsv")).unwrap();
        assert_eq!(
            resolve_output(&out.join("later.tsv")).unwrap(),
            OutputTarget::Atomic(real.join("later.tsv"))
        );
        write_output(&out.join("later.tsv"), |w| w.write_all(b"created\n")).unwrap();
        assert_eq!(
            fs::read_to_string(real.join("later.tsv")).unwrap(),
            "created\n"
        );
        assert!(
            fs::symlink_metadata(out.join("later.tsv"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(names(&out), ["hop", "later.tsv", "recs.tsv"]);
        assert_eq!(names(&real), ["later.tsv", "recs.tsv"]);
    }

    #[test]
    fn the_process_descriptors_are_written_as_opened() {
        for stdout in ["-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"] {
            assert_eq!(
                resolve_output(Path::new(stdout)).unwrap(),
                OutputTarget::Stdout
            );
        }
        for own in ["/dev/stderr", "/dev/fd/2", "/proc/self/fd/7"] {
            assert!(names_own_descriptor(Path::new(own)), "{own}");
            assert_eq!(
                resolve_output(Path::new(own)).unwrap(),
                OutputTarget::Direct(PathBuf::from(own))
            );
        }
        for other in ["/dev/fd/", "/dev/fd/x", "/dev/null", "fd/1", "/proc/1/fd/1"] {
            assert!(!names_own_descriptor(Path::new(other)), "{other}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_device_and_a_link_to_it_are_written_through() {
        use std::os::unix::fs::symlink;
        let null = Path::new("/dev/null");
        assert_eq!(
            resolve_output(null).unwrap(),
            OutputTarget::Direct(null.to_owned())
        );
        write_output(null, |w| w.write_all(b"nothing\n")).unwrap();
        assert!(!fs::metadata(null).unwrap().is_file());

        // What `/dev/stdout` is: a link to a character device (or a pipe).
        let tmp = tempfile::tempdir().unwrap();
        let stdout_like = tmp.path().join("stdout");
        symlink(null, &stdout_like).unwrap();
        assert_eq!(
            resolve_output(&stdout_like).unwrap(),
            OutputTarget::Direct(stdout_like.clone())
        );
        write_output(&stdout_like, |w| w.write_all(b"recs\n")).unwrap();
        assert_eq!(fs::read_link(&stdout_like).unwrap(), null);
        assert_eq!(names(tmp.path()), ["stdout"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_written_through_and_stays_a_fifo() {
        use std::os::unix::fs::FileTypeExt;
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        assert_eq!(
            resolve_output(&fifo).unwrap(),
            OutputTarget::Direct(fifo.clone())
        );
        let reader = {
            let fifo = fifo.clone();
            // Opening a FIFO blocks until the other end opens it.
            std::thread::spawn(move || fs::read_to_string(fifo).unwrap())
        };
        write_output(&fifo, |w| w.write_all(b"user\titem\n")).unwrap();
        assert_eq!(reader.join().unwrap(), "user\titem\n");
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(names(tmp.path()), ["pipe"]);
    }

    #[test]
    fn a_dash_is_standard_output_and_nothing_else_is() {
        assert_eq!(
            resolve_output(Path::new("-")).unwrap(),
            OutputTarget::Stdout
        );
        let out = open_output(Path::new("-")).unwrap();
        assert_eq!(out.target(), &OutputTarget::Stdout);
        assert_eq!(out.target().path(), Path::new("-"));
        out.commit().unwrap();
        // Only the bare `-`: a file really named `-` is reached as `./-`.
        let tmp = tempfile::tempdir().unwrap();
        let dash = tmp.path().join("-");
        assert_eq!(
            resolve_output(&dash).unwrap(),
            OutputTarget::Atomic(dash.clone())
        );
    }

    #[test]
    fn a_read_only_file_is_refused_and_hard_links_are_written_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let protected = dir.path().join("protected.tsv");
        fs::write(&protected, "keep\n").unwrap();
        let mut perms = fs::metadata(&protected).unwrap().permissions();
        perms.set_readonly(true);
        fs::set_permissions(&protected, perms).unwrap();
        let err = write_output(&protected, |w| w.write_all(b"new\n")).unwrap_err();
        assert!(matches!(err, FsError::ReadOnly { .. }), "{err}");
        assert!(err.is_bad_input());
        assert_eq!(fs::read_to_string(&protected).unwrap(), "keep\n");

        let original = dir.path().join("original.tsv");
        let linked = dir.path().join("linked.tsv");
        fs::write(&original, "old\n").unwrap();
        fs::hard_link(&original, &linked).unwrap();
        write_output(&linked, |w| w.write_all(b"new\n")).unwrap();
        assert_eq!(
            fs::read_to_string(&original).unwrap(),
            "new\n",
            "still one file"
        );
    }

    #[test]
    fn a_directory_is_refused_and_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("recs");
        fs::create_dir(&dir).unwrap();
        let err = write_output(&dir, |w| w.write_all(b"x")).unwrap_err();
        assert!(
            matches!(&err, FsError::IsDirectory { path } if *path == dir),
            "{err}"
        );
        assert!(err.is_bad_input());
        assert!(err.to_string().contains("is a directory"), "{err}");
        #[cfg(unix)]
        {
            let link = tmp.path().join("link");
            std::os::unix::fs::symlink(&dir, &link).unwrap();
            assert!(matches!(
                resolve_output(&link),
                Err(FsError::IsDirectory { .. })
            ));
        }
        // The low layer cannot rename over a directory either, and cleans up.
        assert!(write_atomic(&dir, |w| w.write_all(b"x")).is_err());
        assert!(dir.is_dir());
        assert!(names(&dir).is_empty());
        let left: Vec<String> = names(tmp.path())
            .into_iter()
            .filter(|n| is_leftover_temp(OsStr::new(n)))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
