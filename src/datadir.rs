//! The data directory: one folder that owns the graph store, the sled database and a format marker.
//!
//! Layout: `FORMAT` (format version and backend), `lock` (holder's process id, exclusively
//! locked while open), `sled/` (index, dictionaries, later interactions and models), `kg/` (the
//! oxigraph store: snapshots in the default build, RocksDB with the `rocksdb` feature),
//! `models/` (the arrays of trained model versions, one file each).
//! One process owns the directory at a time; the lock is released when the process ends,
//! however it ends.
//!
//! A directory the process may not write (a read-only mount, `chmod -R a-w`, another user's)
//! can still be read: opened for reading only, it takes a shared lock on `lock` without writing
//! it, and since sled 0.34 has no read-only mode (it opens its file for writing and locks it),
//! its sled database is read from a temporary copy that is removed on close. Nothing is
//! written to the directory. Opened for writing, such a directory is refused, saying why.

use crate::error::{Error, Result};
use kgrec_kg::{KgStore, fsutil, watchdog};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The on-disk format this build writes and reads. Bump it with an upgrade or a refusal path.
pub const FORMAT_VERSION: u32 = 1;

/// The backend this build stores the graph with.
pub const BACKEND: &str = if cfg!(feature = "rocksdb") {
    "rocksdb"
} else {
    "memory-snapshot"
};

const FORMAT_FILE: &str = "FORMAT";
const LOCK_FILE: &str = "lock";
/// The folder of the model files (`crate::store::models`).
pub const MODELS_DIR: &str = "models";

/// The contents of `FORMAT`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatMarker {
    pub kgrec_data_format: u32,
    pub backend: String,
}

/// Whether opening may create the directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Create the directory if it does not exist (commands that write).
    CreateIfMissing,
    /// Refuse a missing directory (commands that only read).
    MustExist,
}

/// Whether an opened data directory may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Imports and training allowed.
    ReadWrite,
    /// Every write is refused; a directory the process may not write can be read.
    ReadOnly,
    /// Every write is refused, and the directory is held only while it is opened: its sled
    /// database (and, in the default build, its graph snapshot) is read from a temporary copy
    /// taken under a shared lock, which is released once the open is done, so that writers (a
    /// `train`, an import) may run beside. What the copy holds is what was there at the open:
    /// a newer model or graph is seen by opening again (`kgrec serve --read-only`).
    Replica,
}

/// An open data directory: held exclusively, or (read-only, when the process may not write it)
/// shared with other readers.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    // Declared before `scratch`: the database closes before its copy is removed.
    db: sled::Db,
    kg: KgStore,
    // Held for the lifetime of the value: the OS releases the lock when the file closes.
    // `None` only for an unwritable directory that has no lock file.
    _lock: Option<File>,
    /// The temporary copy of the sled database of a directory the process may not write,
    /// removed on drop and by a Ctrl-C ([`fsutil::clean_up_for_exit`]).
    scratch: Option<fsutil::ScratchDir>,
    /// Whether this process may have written the database: it is sealed when closed.
    written: std::sync::atomic::AtomicBool,
    /// The close under the disk watchdog: set by `drop` and declared last, so that it is
    /// dropped after the database, whose last handle flushes sled.
    closing: Option<Closing>,
}

/// A close of a data directory that may be written, watched ([`watchdog`]): sled flushes when
/// its last handle is dropped, and after a write of its ran out of space that flush never
/// returns. Ends the watching of the directory's disk when dropped.
#[derive(Debug)]
struct Closing {
    dir: PathBuf,
    _watch: watchdog::Watch,
}

impl Drop for Closing {
    fn drop(&mut self) {
        watchdog::unwatch_disk(&self.dir);
    }
}

impl DataDir {
    /// Opens the data directory at `path`, taking its lock.
    pub fn open(path: &Path, mode: OpenMode) -> Result<Self> {
        Self::open_as(path, mode, Access::ReadWrite)
    }

    /// Opens the data directory at `path` for `access`. Read-only, a directory the process
    /// may not write is read through a temporary copy of its sled database.
    pub fn open_as(path: &Path, mode: OpenMode, access: Access) -> Result<Self> {
        if !path.exists() {
            if mode == OpenMode::MustExist {
                return Err(Error::DataDir {
                    dir: path.to_owned(),
                    message:
                        "no kgrec data directory here (create one with `kgrec import kg FILE`)"
                            .to_owned(),
                });
            }
            fsutil::create_dirs(path).map_err(|e| Error::DataDir {
                dir: path.to_owned(),
                message: format!(
                    "cannot create the data directory: {e} (check the path and the permissions \
                     of its parent folders, or give another --data DIR)"
                ),
            })?;
        } else if !path.is_dir() {
            return Err(Error::DataDir {
                dir: path.to_owned(),
                message: "is not a directory".to_owned(),
            });
        }
        // Before the lock file is created or written: a folder that is not a kgrec data
        // directory is refused untouched (its own file called `lock`, if any, included).
        if !path.join(FORMAT_FILE).exists() {
            if mode == OpenMode::MustExist {
                return Err(Error::DataDir {
                    dir: path.to_owned(),
                    message: missing_marker(path),
                });
            }
            // A first open racing this one may have written its marker and more since the
            // check above (it renames FORMAT into place before it creates anything else): what
            // the listing saw is foreign only if there is still no marker after it.
            if holds_foreign_files(path)? && !path.join(FORMAT_FILE).exists() {
                return Err(foreign(path));
            }
        }
        let (lock, scratch) = match take_lock_for(path, access) {
            Ok(lock) => (Some(lock), None),
            Err(LockFailure::Unwritable(_)) if access != Access::ReadWrite => {
                let lock = take_shared_lock(path)?;
                check_format(path)?;
                let copy = copy_database(path)?;
                if access == Access::Replica {
                    copy_snapshots(path, copy.path())?;
                }
                (lock, Some(copy))
            }
            Err(LockFailure::Unwritable(e)) => return Err(unwritable(path, &e)),
            Err(LockFailure::Other(e)) => return Err(e),
        };
        if scratch.is_none() {
            check_or_write_format(path)?;
        }
        let sled_dir = match &scratch {
            Some(copy) => copy.path().join("sled"),
            None => path.join("sled"),
        };
        if scratch.is_none() {
            watchdog::watch_disk(path);
        }
        let db = open_sled(&sled_dir)?;
        check_seal(path, &db)?;
        let kg = match &scratch {
            Some(copy) if access == Access::Replica && cfg!(not(feature = "rocksdb")) => {
                KgStore::open_read_only(&copy.path().join("kg"), &db)?
            }
            Some(_) => KgStore::open_read_only(&path.join("kg"), &db)?,
            None => KgStore::open(&path.join("kg"), &db)?,
        };
        Ok(Self {
            path: path.to_owned(),
            db,
            kg,
            // A replica lets writers in once its copy is open (and its seal checked).
            _lock: lock.filter(|_| access != Access::Replica),
            scratch,
            written: std::sync::atomic::AtomicBool::new(false),
            closing: None,
        })
    }

    /// Notes that the database is about to be written, so that it is sealed when closed
    /// ([`SEAL_FILE`]). Called before every write; harmless for a write that then fails.
    pub fn note_write(&self) {
        self.written
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Refuses a write of about `bytes` (plus [`FREE_SPACE_RESERVE`]) when the disk holding
    /// the directory has less free space: sled, the index database, hangs at its next flush
    /// or tears a record when a write of its runs out of space, so the write is not tried.
    pub fn check_free_space(&self, bytes: u64) -> Result<()> {
        let needed = bytes.saturating_add(FREE_SPACE_RESERVE);
        let available = match fs2::available_space(&self.path) {
            Ok(n) => n,
            // A file system that cannot say (none known here): the write is tried.
            Err(_) => return Ok(()),
        };
        if available < needed {
            return Err(Error::DiskFull {
                dir: self.path.clone(),
                available,
                needed,
            });
        }
        Ok(())
    }

    /// The bytes of the stored graph files (`kg/`): the memory-snapshot backend writes the
    /// whole graph again at every import.
    pub fn graph_bytes(&self) -> u64 {
        std::fs::read_dir(self.path.join("kg"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum()
    }

    /// Whether the directory is read through a temporary copy of its database (the process may
    /// not write it): the copy's folder.
    pub fn read_through_copy(&self) -> Option<&Path> {
        self.scratch.as_ref().map(fsutil::ScratchDir::path)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The folder of the model files (`models/`, beside `sled/`): always the directory's own,
    /// also when its database is read through a copy.
    pub fn models_dir(&self) -> PathBuf {
        self.path.join(MODELS_DIR)
    }

    pub fn db(&self) -> &sled::Db {
        &self.db
    }

    pub fn kg(&self) -> &KgStore {
        &self.kg
    }

    pub fn kg_mut(&mut self) -> &mut KgStore {
        &mut self.kg
    }
}

/// How long sled's own lock may outlive the previous holder's `lock`.
const SLED_LOCK_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens the sled database in `dir`. The caller holds the directory's lock, so a sled file
/// lock still held is the previous holder's, on its way out: it released `lock` when its
/// handle dropped, but sled's lock on its file goes with the last of sled's threads, a moment
/// later (a `train` committing right after a `recommend` met it). Retried for a few seconds.
fn open_sled(dir: &Path) -> Result<sled::Db> {
    remove_unfinished_snapshots(dir)?;
    let deadline = std::time::Instant::now() + SLED_LOCK_GRACE;
    loop {
        // sled makes its folder (and the parents) if missing: under the folders' hold.
        let opened = {
            let _making = fsutil::making_dirs();
            sled::Config::new()
                .path(dir)
                .mode(sled::Mode::HighThroughput)
                .open()
        };
        match opened {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return Ok(other?),
        }
    }
}

/// sled 0.34 writes a snapshot of its page table to `snap.N.generating`, syncs it, then renames
/// it to `snap.N`; but when it reads a snapshot back at open it takes the highest `snap.*` name,
/// unfinished ones included. A snapshot write cut short (a kill, a full disk: sled writes one at
/// every open, so even `stats` on a full disk left one) therefore made every later open refuse
/// the whole database as damaged. An unfinished snapshot holds nothing sled has not also kept in
/// its log (a snapshot only shortens the replay of the log at open), so it is removed before the
/// open. The caller holds the directory's lock, or `dir` is a private copy.
fn remove_unfinished_snapshots(dir: &Path) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            let path = entry.path();
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
    }
    Ok(())
}

/// The file beside `sled/` that holds the number of the last seal of the database (see
/// [`check_seal`]), then the CRC-32 of that number, as 8 hex digits.
pub const SEAL_FILE: &str = "sled.seal";

/// The key, in sled's default tree, of the number of the last seal.
const SEAL_KEY: &[u8] = b"kgrec:seal";

/// Refuses a database that holds fewer writes than it held when it was last closed.
///
/// sled reads its log back at open and stops at the first record whose CRC fails, as it must
/// after a crash tore the last write; but a byte damaged later in a record that was written
/// whole makes it drop that record and every one after it, silently, and the data directory
/// would answer as it did before them (an older model, fewer interactions). So every close of a
/// directory that was written counts a seal: the number goes into the database first, flushed,
/// then into [`SEAL_FILE`]. A database whose seal is behind the file's lost writes it had
/// committed. (A directory written before seals has no file and is not checked until its next
/// write; a writer killed before its close leaves the previous seal, which its writes are not
/// covered by.)
fn check_seal(dir: &Path, db: &sled::Db) -> Result<()> {
    let path = dir.join(SEAL_FILE);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let damaged = || Error::Corruption {
        what: format!("{}: the seal file is damaged", path.display()),
    };
    let (number, crc) = std::str::from_utf8(&text)
        .ok()
        .and_then(|t| t.strip_suffix('\n'))
        .and_then(|t| t.split_once(' '))
        .ok_or_else(damaged)?;
    if crc != format!("{:08x}", kgrec_kg::integrity::crc32(number.as_bytes())) {
        return Err(damaged());
    }
    let sealed: u64 = number.parse().map_err(|_| damaged())?;
    let held = read_seal(db)?;
    if held < sealed {
        return Err(Error::Corruption {
            what: format!(
                "{}: the sled database is damaged: it reads back as it was {} close{} ago (seal \
                 {held} of {sealed}), so part of its log no longer reads (restore the data \
                 directory from a backup, or import again into a new one)",
                dir.join("sled").display(),
                sealed - held,
                if sealed - held == 1 { "" } else { "s" }
            ),
        });
    }
    Ok(())
}

fn read_seal(db: &sled::Db) -> Result<u64> {
    match db.get(SEAL_KEY)? {
        None => Ok(0),
        Some(v) => <[u8; 8]>::try_from(v.as_ref())
            .map(u64::from_le_bytes)
            .map_err(|_| Error::Corruption {
                what: format!("the database's seal: {} bytes, 8 expected", v.len()),
            }),
    }
}

/// Counts a seal: into the database (flushed), then into [`SEAL_FILE`].
fn seal(dir: &Path, db: &sled::Db) -> Result<()> {
    let next = read_seal(db)? + 1;
    db.insert(SEAL_KEY, &next.to_le_bytes())?;
    db.flush()?;
    let number = next.to_string();
    let text = format!(
        "{number} {:08x}\n",
        kgrec_kg::integrity::crc32(number.as_bytes())
    );
    fsutil::write_atomic(&dir.join(SEAL_FILE), |w| w.write_all(text.as_bytes()))
        .map_err(|e| Error::Kg(e.into()))
}

/// Free space every write leaves: sled grows its log by 512 KiB segments and writes large
/// values as files of their own, the seal and the lock file need a page each.
pub const FREE_SPACE_RESERVE: u64 = 4 << 20;

impl Drop for DataDir {
    fn drop(&mut self) {
        if self.scratch.is_none() {
            self.closing = Some(Closing {
                dir: self.path.clone(),
                _watch: watchdog::watch("close of the data directory"),
            });
        }
        // Not on a full disk: after a write of sled's ran out of space its flush never returns
        // (the process hung at its close), and the seal is only an extra check.
        let full = fs2::available_space(&self.path).is_ok_and(|n| n < FREE_SPACE_RESERVE / 4);
        if self.scratch.is_none() && *self.written.get_mut() && !full {
            // Nothing to report to at a close: a seal that fails leaves the previous one,
            // which the database is never behind.
            let _ = seal(&self.path, &self.db);
        }
    }
}

/// Why the exclusive lock was not taken.
enum LockFailure {
    /// The process may not write the lock file (read-only file system, permissions).
    Unwritable(std::io::Error),
    Other(Error),
}

fn is_unwritable(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
    )
}

/// [`take_lock`], but a replica never takes the writer's lock: it reads through a copy as if
/// it might not write.
fn take_lock_for(dir: &Path, access: Access) -> std::result::Result<File, LockFailure> {
    match access {
        Access::Replica => Err(LockFailure::Unwritable(std::io::Error::new(
            std::io::ErrorKind::ReadOnlyFilesystem,
            "opened as a replica",
        ))),
        Access::ReadWrite | Access::ReadOnly => take_lock(dir),
    }
}

fn take_lock(dir: &Path) -> std::result::Result<File, LockFailure> {
    let path = dir.join(LOCK_FILE);
    let mut file = match OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
    {
        Ok(file) => file,
        Err(e) if is_unwritable(&e) => return Err(LockFailure::Unwritable(e)),
        Err(e) => return Err(LockFailure::Other(Error::io(&path, e))),
    };
    let io = |e| LockFailure::Other(Error::io(&path, e));
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(LockFailure::Other(in_use(dir, &mut file)));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    writeln!(file, "{}", std::process::id()).map_err(io)?;
    file.flush().map_err(io)?;
    Ok(file)
}

/// Whether this process holds `dir`'s lock (its id is what the lock file says): what a Ctrl-C
/// handler checks before it takes back a directory it may be racing another process for.
pub fn held_by_this_process(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(LOCK_FILE))
        .is_ok_and(|holder| holder.trim() == std::process::id().to_string())
}

/// The holder of `dir`'s lock file, as it wrote itself there.
fn in_use(dir: &Path, lock: &mut File) -> Error {
    let mut holder = String::new();
    // The holder wrote its id after locking; an empty file means it is just starting.
    let _ = lock.read_to_string(&mut holder);
    let pid = match holder.trim() {
        "" => flock_holder(lock).unwrap_or_else(|| "unknown".to_owned()),
        pid => pid.to_owned(),
    };
    Error::InUse {
        dir: dir.to_owned(),
        pid,
        waited: None,
    }
}

/// The process holding `lock`'s file lock, from the kernel's table (Linux: `/proc/locks`,
/// `1: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE 0 EOF`): what an empty lock file (a holder that
/// has locked it but not yet written its id) cannot say. `None` elsewhere.
#[cfg(target_os = "linux")]
fn flock_holder(lock: &File) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let inode = lock.metadata().ok()?.ino().to_string();
    let table = std::fs::read_to_string("/proc/locks").ok()?;
    table.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // A blocked request reads `1: -> FLOCK ...`: not a holder.
        match fields.as_slice() {
            [_, "FLOCK", _, _, pid, file, ..] if file.rsplit(':').next() == Some(&inode) => {
                Some((*pid).to_owned())
            }
            _ => None,
        }
    })
}

#[cfg(not(target_os = "linux"))]
fn flock_holder(_lock: &File) -> Option<String> {
    None
}

/// A shared lock on the lock file of a directory the process may not write: readers together,
/// never beside a writer. A directory without a lock file (so never written by a kgrec that
/// could not also write it now) needs none.
fn take_shared_lock(dir: &Path) -> Result<Option<File>> {
    let path = dir.join(LOCK_FILE);
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path, e)),
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(in_use(dir, &mut file)),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
    }
}

/// A command that writes, on a directory the process may not write.
/// A directory the process may not write, opened for writing: the environment's doing, not
/// the input's (exit code 1).
fn unwritable(dir: &Path, e: &std::io::Error) -> Error {
    Error::io(
        dir,
        std::io::Error::new(
            e.kind(),
            format!(
                "cannot write to this data directory ({}: {e}); commands that only read it \
                 (stats, sparql, recommend, explain, similar, export embeddings) work, and \
                 serve serves it read-only; imports and training need write access: run them \
                 on a writable copy, or as a user who may write here",
                dir.join(LOCK_FILE).display()
            ),
        ),
    )
}

/// An error reading `path`; a permission refused says whose the file is and who asks.
fn read_error(path: &Path, e: std::io::Error) -> Error {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if e.kind() != std::io::ErrorKind::PermissionDenied {
        return Error::io(path, e);
    }
    let owner = std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.uid(), m.permissions().mode() & 0o7777));
    let me = std::fs::metadata("/proc/self").ok().map(|m| m.uid());
    let said = match (owner, me) {
        (Some((uid, mode)), Some(me)) => format!(
            "{e}: it belongs to user id {uid} (mode {mode:o}) and kgrec runs as user id {me}: \
             run kgrec as its owner, or have the owner grant read access (chmod -R a+rX on \
             the data directory)"
        ),
        _ => format!(
            "{e}: this user may not read it: run kgrec as the data directory's owner, or have \
             them grant read access (chmod -R a+rX on the data directory)"
        ),
    };
    Error::io(path, std::io::Error::new(e.kind(), said))
}

/// A new temporary folder (on the list a Ctrl-C empties), its name starting with `prefix`. A
/// temporary directory it cannot be made in (missing, a file, not writable) is named, with
/// where it came from (`TMPDIR`, or the system's default) and what to do.
pub fn scratch_dir(prefix: &str) -> Result<fsutil::ScratchDir> {
    fsutil::ScratchDir::with_prefix(prefix).map_err(|e| {
        let dir = std::env::temp_dir();
        let from = match std::env::var_os("TMPDIR") {
            Some(v) if !v.is_empty() => "from TMPDIR",
            _ => "the system's temporary directory",
        };
        // tempfile adds the folder it tried (`... at path /x/.tmpAbC`): the cause alone.
        let cause =
            std::error::Error::source(&e).map_or_else(|| e.to_string(), ToString::to_string);
        let cause = match cause.split_once(" at path ") {
            Some((cause, _)) => cause.to_owned(),
            None => cause,
        };
        Error::BadInput(format!(
            "cannot create a temporary directory in {} ({from}): {cause}; set TMPDIR to a \
             writable folder",
            dir.display()
        ))
    })
}

/// Copies the sled database of `dir` into a new temporary folder, for reading a directory the
/// process may not write (sled opens its files for writing). The folder is on the list a
/// Ctrl-C empties from its creation on, so an interrupted reader leaves no copy behind.
fn copy_database(dir: &Path) -> Result<fsutil::ScratchDir> {
    let scratch = scratch_dir("kgrec-read-only-")?;
    copy_tree(&dir.join("sled"), &scratch.path().join("sled"))?;
    Ok(scratch)
}

/// For a replica (default build): the graph snapshots of `dir` into `copy`'s `kg/`, hard-linked
/// where the file system allows (no bytes copied) and copied elsewhere, so that an import beside
/// the replica, which removes the snapshot it replaced, takes nothing from it.
fn copy_snapshots(dir: &Path, copy: &Path) -> Result<()> {
    if cfg!(feature = "rocksdb") {
        return Ok(());
    }
    let (from, to) = (dir.join("kg"), copy.join("kg"));
    std::fs::create_dir(&to).map_err(|e| Error::io(&to, e))?;
    let entries = match std::fs::read_dir(&from) {
        Ok(entries) => entries,
        // No graph imported yet.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(read_error(&from, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(&from, e))?;
        if !entry.file_name().to_string_lossy().starts_with("snapshot-") {
            continue;
        }
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if std::fs::hard_link(&source, &target).is_err() {
            let mut reader = File::open(&source).map_err(|e| read_error(&source, e))?;
            let mut writer = File::create(&target).map_err(|e| Error::io(&target, e))?;
            std::io::copy(&mut reader, &mut writer).map_err(|e| Error::io(&target, e))?;
        }
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    // Not `create_dir_all`: once a Ctrl-C has removed the copy, nothing of it is made again.
    std::fs::create_dir(to).map_err(|e| Error::io(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| read_error(from, e))? {
        let entry = entry.map_err(|e| Error::io(from, e))?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        if entry
            .file_type()
            .map_err(|e| Error::io(&source, e))?
            .is_dir()
        {
            copy_tree(&source, &target)?;
        } else {
            // Not `fs::copy`: it keeps the source's permissions, and sled must write its copy.
            let mut reader = File::open(&source).map_err(|e| read_error(&source, e))?;
            let mut writer = File::create(&target).map_err(|e| Error::io(&target, e))?;
            std::io::copy(&mut reader, &mut writer).map_err(|e| Error::io(&target, e))?;
        }
    }
    Ok(())
}

/// The kgrec data directory that `path` (an absolute, resolved path) is or lies inside, if
/// any: the nearest of it and its parents with a `FORMAT` marker that is kgrec's (or, damaged,
/// beside a `sled/` or `kg/` folder). Outputs must never land there, whatever `--force` says.
pub fn enclosing_data_dir(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .find(|dir| {
            let marker = dir.join(FORMAT_FILE);
            marker.is_file()
                && (std::fs::read(&marker).is_ok_and(|bytes| {
                    bytes
                        .windows(b"kgrec_data_format".len())
                        .any(|w| w == b"kgrec_data_format")
                }) || dir.join("sled").is_dir()
                    || dir.join("kg").is_dir())
        })
        .map(Path::to_owned)
}

/// Whether `dir` holds anything but what a kgrec first open leaves (its lock, temporary files).
fn holds_foreign_files(dir: &Path) -> Result<bool> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let name = entry.map_err(|e| Error::io(dir, e))?.file_name();
        if name != LOCK_FILE && !fsutil::is_leftover_temp(&name) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn foreign(dir: &Path) -> Error {
    Error::DataDir {
        dir: dir.to_owned(),
        message: format!(
            "is not empty and has no kgrec FORMAT marker: refusing to use it as a data \
             directory{}",
            match has_store_folders(dir) {
                true => format!("; {}", restore_marker_advice()),
                false => "; give --data a new or empty folder".to_owned(),
            }
        ),
    }
}

/// Whether `dir` holds the stores of a data directory: a `kg/` folder beside a `sled/` folder
/// holding sled's own `conf` file (every data directory has both). A user's folder that merely
/// has a `kg/` or a `sled/` subfolder is not one, and is never adopted on such advice.
fn has_store_folders(dir: &Path) -> bool {
    dir.join("sled").join("conf").is_file() && dir.join("kg").is_dir()
}

/// How to put back a removed marker: what it holds for this build.
fn restore_marker_advice() -> String {
    format!(
        "its sled/ and kg/ folders say it was a kgrec data directory whose marker was removed: \
         put the marker back (a file FORMAT holding {{\"kgrec_data_format\": {FORMAT_VERSION}, \
         \"backend\": \"{BACKEND}\"}}), or import into a new data directory"
    )
}

/// Why a directory that must be a data directory is not one: no marker.
fn missing_marker(dir: &Path) -> String {
    if has_store_folders(dir) {
        format!("has no FORMAT marker; {}", restore_marker_advice())
    } else {
        "is not a kgrec data directory (no FORMAT marker): create one with `kgrec --data DIR \
         import kg FILE` into a new or empty folder"
            .to_owned()
    }
}

/// Checks the format marker of a directory that must have one (it is only read).
fn check_format(dir: &Path) -> Result<()> {
    let path = dir.join(FORMAT_FILE);
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    check_marker(dir, &path, &bytes)
}

fn check_marker(dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    let found: FormatMarker = serde_json::from_slice(bytes).map_err(|e| Error::Corruption {
        what: format!("{}: not a kgrec format marker: {e}", path.display()),
    })?;
    if found.kgrec_data_format > FORMAT_VERSION {
        return Err(Error::Version {
            dir: dir.to_owned(),
            message: format!(
                "written by a newer kgrec (data format {}); this kgrec reads format \
                 {FORMAT_VERSION}: upgrade kgrec to open it",
                found.kgrec_data_format
            ),
        });
    }
    if found.kgrec_data_format != FORMAT_VERSION {
        return Err(Error::Version {
            dir: dir.to_owned(),
            message: format!(
                "written in data format {} but this kgrec reads format {FORMAT_VERSION}; \
                 re-import into a new data directory (no upgrade path exists from {})",
                found.kgrec_data_format, found.kgrec_data_format
            ),
        });
    }
    if !["memory-snapshot", "rocksdb"].contains(&found.backend.as_str()) {
        return Err(Error::Corruption {
            what: format!(
                "{}: names no backend kgrec has ({:?}): the marker is damaged",
                path.display(),
                found.backend
            ),
        });
    }
    if found.backend != BACKEND {
        return Err(Error::Version {
            dir: dir.to_owned(),
            message: format!(
                "written by a kgrec built with the {} backend; this one is built with {BACKEND} \
                 (build with{} `--features rocksdb` to open it)",
                found.backend,
                if found.backend == "rocksdb" {
                    ""
                } else {
                    "out"
                }
            ),
        });
    }
    Ok(())
}

fn check_or_write_format(dir: &Path) -> Result<()> {
    let path = dir.join(FORMAT_FILE);
    let ours = FormatMarker {
        kgrec_data_format: FORMAT_VERSION,
        backend: BACKEND.to_owned(),
    };
    match std::fs::read(&path) {
        Ok(bytes) => check_marker(dir, &path, &bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut foreign = false;
            for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
                let entry = entry.map_err(|e| Error::io(dir, e))?;
                let name = entry.file_name();
                if fsutil::is_leftover_temp(&name) {
                    // The marker of a first open that was killed before its rename.
                    let temp = entry.path();
                    std::fs::remove_file(&temp).map_err(|e| Error::io(&temp, e))?;
                } else if name != LOCK_FILE {
                    foreign = true;
                }
            }
            if foreign {
                return Err(self::foreign(dir));
            }
            let json = serde_json::to_vec_pretty(&ours).map_err(|e| Error::Internal {
                what: format!("the format marker does not serialise: {e}"),
            })?;
            fsutil::write_atomic(&path, |w| w.write_all(&json)).map_err(|e| Error::Kg(e.into()))?;
            Ok(())
        }
        Err(e) => Err(Error::io(&path, e)),
    }
}

#[cfg(test)]
#[path = "datadir_fuzz.rs"]
mod fuzz;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_write_larger_than_the_free_space_is_refused_naming_the_full_disk() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let data = DataDir::open(&dir, OpenMode::CreateIfMissing).unwrap();
        let free = fs2::available_space(&dir).unwrap();
        // Twice what is free: other processes' writes cannot make that fit meanwhile.
        let err = data.check_free_space(2 * free).unwrap_err();
        assert!(
            matches!(&err, Error::DiskFull { needed, .. } if *needed == 2 * free + FREE_SPACE_RESERVE),
            "{err}"
        );
        assert!(err.is_disk_full());
        let text = err.to_string();
        assert!(
            text.contains("is full") && text.contains("nothing was written"),
            "{text}"
        );
        if free > 2 * FREE_SPACE_RESERVE {
            data.check_free_space(FREE_SPACE_RESERVE / 2).unwrap();
        }
    }

    /// An empty lock file (a holder that has locked it but not written its id yet) still
    /// names its holder: the kernel's lock table says who holds it.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_holder_of_an_empty_lock_file_is_found_in_the_lock_table() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("lock");
        let file = File::create(&path).unwrap();
        assert_eq!(flock_holder(&file), None, "nobody holds it yet");
        file.try_lock().unwrap();
        let other = File::open(&path).unwrap();
        assert_eq!(flock_holder(&other), Some(std::process::id().to_string()));
    }

    #[test]
    fn a_second_open_in_the_same_process_is_refused_while_the_first_holds() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let first = DataDir::open(&dir, OpenMode::CreateIfMissing).unwrap();
        let second = DataDir::open(&dir, OpenMode::CreateIfMissing).unwrap_err();
        assert!(
            matches!(&second, Error::InUse { pid, .. } if *pid == std::process::id().to_string()),
            "{second}"
        );
        drop(first);
        DataDir::open(&dir, OpenMode::MustExist).unwrap();
    }

    #[test]
    fn refuses_an_unknown_format_version_and_a_foreign_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        drop(DataDir::open(&dir, OpenMode::CreateIfMissing).unwrap());
        std::fs::write(
            dir.join(FORMAT_FILE),
            format!(r#"{{"kgrec_data_format": 99, "backend": "{BACKEND}"}}"#),
        )
        .unwrap();
        let err = DataDir::open(&dir, OpenMode::MustExist).unwrap_err();
        assert!(err.to_string().contains("format 99"), "{err}");

        let foreign = tmp.path().join("photos");
        std::fs::create_dir(&foreign).unwrap();
        std::fs::write(foreign.join("cat.jpg"), b"meow").unwrap();
        let err = DataDir::open(&foreign, OpenMode::CreateIfMissing).unwrap_err();
        assert!(matches!(err, Error::DataDir { .. }), "{err}");
        assert!(foreign.join("cat.jpg").exists());
        // Untouched: no lock file left behind, and a file of its own called `lock` kept.
        assert!(!foreign.join("lock").exists());
        std::fs::write(foreign.join("lock"), b"my notes").unwrap();
        assert!(DataDir::open(&foreign, OpenMode::MustExist).is_err());
        assert!(DataDir::open(&foreign, OpenMode::CreateIfMissing).is_err());
        assert_eq!(std::fs::read(foreign.join("lock")).unwrap(), b"my notes");
    }

    #[test]
    fn a_marker_killed_before_its_rename_does_not_make_the_directory_foreign() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join(LOCK_FILE), "").unwrap();
        let half = dir.join(".FORMAT.4242.0.kgrec-tmp");
        std::fs::write(&half, "{\"kgrec_data").unwrap();
        drop(DataDir::open(&dir, OpenMode::CreateIfMissing).unwrap());
        assert!(!half.exists());
        let marker: FormatMarker =
            serde_json::from_slice(&std::fs::read(dir.join(FORMAT_FILE)).unwrap()).unwrap();
        assert_eq!(marker.kgrec_data_format, FORMAT_VERSION);
    }

    /// A written directory is sealed at its close; a database behind its seal file (it lost
    /// writes it had committed) and a damaged seal file are refused as corruption.
    #[test]
    fn a_database_behind_its_seal_is_corruption() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        drop(DataDir::open(&dir, OpenMode::CreateIfMissing).unwrap());
        assert!(
            !dir.join(SEAL_FILE).exists(),
            "nothing written, nothing sealed"
        );
        for _ in 0..2 {
            let d = DataDir::open(&dir, OpenMode::MustExist).unwrap();
            d.note_write();
        }
        let sealed = std::fs::read_to_string(dir.join(SEAL_FILE)).unwrap();
        assert!(sealed.starts_with("2 "), "{sealed}");
        drop(DataDir::open(&dir, OpenMode::MustExist).unwrap());

        let ahead = format!("3 {:08x}\n", kgrec_kg::integrity::crc32(b"3"));
        std::fs::write(dir.join(SEAL_FILE), ahead).unwrap();
        let err = DataDir::open(&dir, OpenMode::MustExist).unwrap_err();
        assert!(
            matches!(err, Error::Corruption { .. }) && err.to_string().contains("seal 2 of 3"),
            "{err}"
        );
        std::fs::write(dir.join(SEAL_FILE), sealed.replace('2', "7")).unwrap();
        let err = DataDir::open(&dir, OpenMode::MustExist).unwrap_err();
        assert!(err.to_string().contains("seal file is damaged"), "{err}");
        std::fs::write(dir.join(SEAL_FILE), &sealed).unwrap();
        drop(DataDir::open(&dir, OpenMode::MustExist).unwrap());
    }

    #[test]
    fn a_missing_directory_is_not_created_by_readers() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nothing");
        assert!(DataDir::open(&dir, OpenMode::MustExist).is_err());
        assert!(!dir.exists());
    }
}
