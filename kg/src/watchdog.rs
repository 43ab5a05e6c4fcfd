//! A watchdog for sled writes on a disk that fills up.
//!
//! sled 0.34 can wait forever after one of its writes ran out of space: the failed write keeps
//! the log buffer it claimed, and the next flush (an explicit one, or the one sled runs when
//! the last handle of a tree is dropped at close) waits for that buffer (`make_stable` in
//! sled's `pagecache/iobuf.rs`). The free-space check before a write cannot see this coming
//! when another program fills the disk during the write. A tool must not hang forever, so the
//! calls that write or flush sled run under a [`Watch`]; a background thread looks at the free
//! space of the disks holding the open data directories ([`watch_disk`]) four times a second
//! while a watch is active, and when a watch has not ended within [`stall_bound`] and the disk
//! was found (nearly) full since it began, it prints the full-disk error and ends the process
//! with exit code 1. sled's log is crash safe (a kill at any point leaves the state before the
//! write or after it, `tests/integration/kill_loop.rs`), and a process whose sled is stuck
//! cannot write again anyway: its only way out is to end.
//!
//! The bound (30 s unless `KGREC_DISK_STALL_SECONDS` says otherwise) is generous: a flush on a
//! disk with almost no free space either fails at once (no space) or writes into space the
//! file already holds; a slow disk still moves a flush's few MiB in seconds. A disk with free
//! space never ends a process, however slow.
//!
//! Ending the process is the program's choice, not a library's: nothing is watched until the
//! program calls [`arm`] (the `kgrec` binary does, first thing). Unarmed, a watch costs a lock
//! and a stuck sled write waits as it always did.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Whether the program asked for stalled writes to end the process ([`arm`]).
static ARMED: AtomicBool = AtomicBool::new(false);

/// Lets the watchdog end the process (exit code 1, after printing the full-disk error) when a
/// watched sled write stalls on a full disk. For programs, not libraries: call it once at start.
pub fn arm() {
    ARMED.store(true, Ordering::Relaxed);
}

/// How long a watched write may run after its disk was seen full, unless the environment
/// variable `KGREC_DISK_STALL_SECONDS` gives another number of seconds.
pub const DEFAULT_STALL_BOUND: Duration = Duration::from_secs(30);

/// Free space under which a disk counts as full for the watchdog: sled's writes are pages and
/// 512 KiB segments, so a disk with less has run out for them.
pub const NEARLY_FULL: u64 = 1 << 20;

/// How often the watchdog looks at the disks while a watch is active.
const POLL: Duration = Duration::from_millis(250);

/// The bound in force: `KGREC_DISK_STALL_SECONDS` (a whole number of seconds, at least 1), or
/// [`DEFAULT_STALL_BOUND`].
pub fn stall_bound() -> Duration {
    static BOUND: OnceLock<Duration> = OnceLock::new();
    *BOUND.get_or_init(|| {
        parse_bound(std::env::var("KGREC_DISK_STALL_SECONDS").ok().as_deref())
            .unwrap_or(DEFAULT_STALL_BOUND)
    })
}

fn parse_bound(text: Option<&str>) -> Option<Duration> {
    text?
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|&s| s > 0)
        .map(Duration::from_secs)
}

/// One write in progress, from its start to the drop of the value.
#[derive(Debug)]
#[must_use = "the watch ends when the value is dropped"]
pub struct Watch {
    id: u64,
}

#[derive(Debug)]
struct Active {
    id: u64,
    what: &'static str,
    started: Instant,
    /// The disk and its free space, when it was seen full since the watch began.
    full: Option<(PathBuf, u64)>,
}

#[derive(Debug, Default)]
struct State {
    disks: Vec<PathBuf>,
    active: Vec<Active>,
}

fn state() -> &'static Mutex<State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE.get_or_init(Mutex::default)
}

fn lock() -> std::sync::MutexGuard<'static, State> {
    // The state holds no invariant a panic elsewhere could break.
    state()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Adds the disk holding `dir` (an open data directory that may be written) to the ones the
/// watchdog looks at.
pub fn watch_disk(dir: &Path) {
    let mut state = lock();
    if !state.disks.iter().any(|d| d == dir) {
        state.disks.push(dir.to_owned());
    }
}

/// Removes `dir` from the disks the watchdog looks at (its data directory was closed).
pub fn unwatch_disk(dir: &Path) {
    lock().disks.retain(|d| d != dir);
}

/// Starts watching a write (`what` names it for the message): see the module documentation.
pub fn watch(what: &'static str) -> Watch {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    if !ARMED.load(Ordering::Relaxed) {
        return Watch { id };
    }
    let disks = {
        let mut state = lock();
        state.active.push(Active {
            id,
            what,
            started: Instant::now(),
            full: None,
        });
        state.disks.clone()
    };
    // A disk already full when the write begins counts, however short the write.
    let full = full_disk(&disks);
    if let Some(full) = full {
        mark_full(&mut lock(), full);
    }
    start_thread();
    Watch { id }
}

impl Drop for Watch {
    fn drop(&mut self) {
        lock().active.retain(|a| a.id != self.id);
    }
}

/// The first of `disks` with less than [`NEARLY_FULL`] free, and its free space.
fn full_disk(disks: &[PathBuf]) -> Option<(PathBuf, u64)> {
    disks.iter().find_map(|d| {
        fs2::available_space(d)
            .ok()
            .filter(|&n| n < NEARLY_FULL)
            .map(|n| (d.clone(), n))
    })
}

fn mark_full(state: &mut State, full: (PathBuf, u64)) {
    for a in &mut state.active {
        a.full.get_or_insert_with(|| full.clone());
    }
}

/// The watch that has stalled at `now`: one that began `bound` or more ago and whose disk was
/// seen full since.
fn stalled(active: &[Active], now: Instant, bound: Duration) -> Option<&Active> {
    active
        .iter()
        .find(|a| a.full.is_some() && now.saturating_duration_since(a.started) >= bound)
}

fn start_thread() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        // Without the thread nothing is watched, as before; the write itself goes on.
        let _ = std::thread::Builder::new()
            .name("kgrec disk watchdog".to_owned())
            .spawn(run);
    });
}

fn run() {
    let bound = stall_bound();
    loop {
        std::thread::sleep(POLL);
        let disks = {
            let state = lock();
            if state.active.is_empty() {
                continue;
            }
            state.disks.clone()
        };
        let full = full_disk(&disks);
        let mut state = lock();
        if let Some(full) = full {
            mark_full(&mut state, full);
        }
        if let Some(a) = stalled(&state.active, Instant::now(), bound) {
            let (dir, free) = a.full.clone().unwrap_or_default();
            eprintln!("error: {}", stall_message(&dir, free, a.what, bound));
            // Not `exit`'s destructors: sled's own close would wait for the stuck buffer too.
            std::process::exit(1);
        }
    }
}

/// What the process says when it ends a stalled write.
pub fn stall_message(dir: &Path, free: u64, what: &str, bound: Duration) -> String {
    format!(
        "the disk holding {} is full: {} free, and the {what} did not finish within {} s of \
         finding it full (the index database does not return from a write that ran out of \
         space); the process stops here, and the data directory keeps its state from before \
         this write or after it (free some space and run it again)",
        dir.display(),
        human_bytes(free),
        bound.as_secs()
    )
}

fn human_bytes(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1 << 20 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn active(id: u64, started: Instant, full: bool) -> Active {
        Active {
            id,
            what: "flush",
            started,
            full: full.then(|| (PathBuf::from("/d"), 0)),
        }
    }

    #[test]
    fn only_a_write_past_the_bound_on_a_disk_seen_full_has_stalled() {
        let t0 = Instant::now();
        let bound = Duration::from_secs(30);
        let later = t0 + Duration::from_secs(31);
        // Past the bound, but the disk never seen full: a slow disk, not a stuck sled.
        assert!(stalled(&[active(0, t0, false)], later, bound).is_none());
        // Seen full, but still within the bound.
        let soon = t0 + Duration::from_secs(29);
        assert!(stalled(&[active(0, t0, true)], soon, bound).is_none());
        // Seen full and past the bound: the first such watch.
        let a = [active(0, t0, false), active(1, t0, true)];
        assert_eq!(stalled(&a, later, bound).unwrap().id, 1);
        // A watch that began after `now` (another thread's clock) is not past anything.
        assert!(stalled(&[active(0, later, true)], t0, bound).is_none());
    }

    #[test]
    fn a_disk_seen_full_marks_the_writes_in_progress_and_keeps_the_first_sighting() {
        let t0 = Instant::now();
        let mut state = State {
            disks: vec![],
            active: vec![active(0, t0, false), active(1, t0, true)],
        };
        mark_full(&mut state, (PathBuf::from("/e"), 7));
        assert_eq!(state.active[0].full, Some((PathBuf::from("/e"), 7)));
        assert_eq!(state.active[1].full, Some((PathBuf::from("/d"), 0)));
    }

    #[test]
    fn the_bound_comes_from_the_environment_when_it_is_a_positive_whole_number() {
        assert_eq!(parse_bound(Some("5")), Some(Duration::from_secs(5)));
        assert_eq!(parse_bound(Some(" 12 ")), Some(Duration::from_secs(12)));
        assert_eq!(parse_bound(Some("0")), None);
        assert_eq!(parse_bound(Some("ten")), None);
        assert_eq!(parse_bound(None), None);
    }

    #[test]
    fn the_message_names_the_disk_and_the_write() {
        let m = stall_message(
            Path::new("/srv/data"),
            4096,
            "close",
            Duration::from_secs(30),
        );
        assert!(
            m.starts_with("the disk holding /srv/data is full: 4.0 KiB free"),
            "{m}"
        );
        assert!(m.contains("the close did not finish within 30 s"), "{m}");
    }

    #[test]
    fn a_watch_is_active_until_dropped() {
        // Unarmed, a watch records nothing (a library's caller has not asked for the watchdog).
        let unarmed = watch("test write");
        assert!(!lock().active.iter().any(|a| a.id == unarmed.id));
        drop(unarmed);
        arm();
        let w = watch("test write");
        assert!(lock().active.iter().any(|a| a.id == w.id));
        let id = w.id;
        drop(w);
        assert!(!lock().active.iter().any(|a| a.id == id));
    }
}
