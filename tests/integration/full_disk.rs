//! A full disk (issue #20, item 3): imports, training and the server's ingestion on a small
//! tmpfs until it fills. Each command ends (in bounded time) with success or a clear error
//! naming the full disk, never a panic; the directory opens afterwards with its last good
//! state, and works again once space is freed. Needs `mount` (root, as in CI); elsewhere the
//! test prints a note and passes without running.

use crate::common::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A size-limited tmpfs, unmounted when dropped (even when the test fails).
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, mib: u64) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={mib}M"))
            .arg("tmpfs")
            .arg(dir)
            .output();
        match out {
            Ok(out) if out.status.success() => Some(Tmpfs {
                dir: dir.to_owned(),
            }),
            Ok(out) => {
                eprintln!(
                    "note: full-disk test skipped: mount of a tmpfs failed ({})",
                    stderr(&out).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("note: full-disk test skipped: no mount ({e})");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // A process still holding a file there: detach it now, freed when it ends.
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

/// Runs `cmd`; a command still running after `seconds` is killed and reported as hung.
fn run_bounded(cmd: &mut Command, seconds: u64) -> Result<Output, String> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{cmd:?} still ran after {seconds} s: hung"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(child.wait_with_output().unwrap())
}

/// Waits for `child`; one still running after `seconds` is killed and the test fails:
/// "`what` hung".
fn wait_bounded(mut child: std::process::Child, seconds: u64, what: &str) -> Output {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Checks a failed command's message: no panic, exit code 1, names the full disk.
fn clear_full_disk_error(what: &str, out: &Output) {
    let err = stderr(out);
    assert_ne!(out.status.code(), Some(101), "{what} panicked: {err}");
    assert!(!err.contains("panicked"), "{what} panicked: {err}");
    assert_eq!(out.status.code(), Some(1), "{what}: {err}");
    assert!(
        err.contains("is full") || err.contains("No space left"),
        "{what}: the message does not name the full disk: {err}"
    );
}

/// The counts `stats` gives, which must open.
fn counts(data: &Path) -> serde_json::Value {
    let out = run_bounded(kgrec(data).args(["stats", "--format", "json"]), 60).unwrap();
    assert!(out.status.success(), "stats: {}", stderr(&out));
    let mut v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let keep = ["triples", "users", "items", "interactions", "models"];
    v.as_object_mut()
        .unwrap()
        .retain(|k, _| keep.contains(&k.as_str()));
    v
}

fn recommends(data: &Path) {
    let out = run_bounded(
        kgrec(data).args(["recommend", "--user", "1", "--format", "json"]),
        60,
    )
    .unwrap();
    assert!(out.status.success(), "recommend: {}", stderr(&out));
}

fn write_triples(path: &Path, tag: usize, n: usize) {
    let mut text = String::new();
    for i in 0..n {
        writeln!(
            text,
            "<http://example.org/d{tag}/film/{}> <http://example.org/p{}> \"value {i} of file {tag}\" .",
            i / 3,
            i % 3
        )
        .unwrap();
    }
    std::fs::write(path, text).unwrap();
}

/// Writes zeros into `file` until the disk holding it has `left` bytes free.
fn fill_to(file: &Path, left: u64) {
    use std::io::Write;
    let dir = file.parent().unwrap();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .unwrap();
    let chunk = vec![0u8; 64 << 10];
    loop {
        let free = fs2::available_space(dir).unwrap();
        if free <= left {
            break;
        }
        let n = usize::try_from(free - left).unwrap().min(chunk.len());
        // The disk full before `left`: as full as it gets.
        if f.write_all(&chunk[..n]).and_then(|()| f.flush()).is_err() {
            break;
        }
    }
}

/// Interactions of `n` new users, 10 fixture items each.
fn write_rows(path: &Path, tag: usize, n: usize) {
    let items: Vec<String> = std::fs::read_to_string(fixture("interactions.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(1).unwrap().to_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut text = String::from("user_id\titem_id\n");
    for u in 0..n {
        for j in 0..10 {
            writeln!(text, "f{tag}u{u}\t{}", items[(u + j * 3) % items.len()]).unwrap();
        }
    }
    std::fs::write(path, text).unwrap();
}

#[cfg(unix)]
#[test]
fn a_full_disk_gives_a_clear_error_and_keeps_the_last_good_state() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount(&tmp.path().join("disk"), 24) else {
        return;
    };
    let data = disk.dir.join("data");
    ok(kgrec(&data)
        .args(["import", "kg", "--quiet"])
        .arg(fixture("movies.ttl")));
    ok(kgrec(&data)
        .args(["import", "interactions", "--quiet"])
        .arg(fixture("interactions.tsv"))
        .arg("--link")
        .arg(fixture("links.tsv")));
    ok(kgrec(&data).args(["train", "--model", "als", "--quiet"]));

    // Imports of graph files until the disk is full.
    let mut refused = None;
    let mut imported = 0;
    for tag in 0..60 {
        let file = tmp.path().join(format!("g{tag}.nt"));
        write_triples(&file, tag, 20_000);
        let before = counts(&data);
        let out = run_bounded(
            kgrec(&data).args(["import", "kg", "--quiet"]).arg(&file),
            120,
        )
        .unwrap();
        let after = counts(&data);
        if out.status.success() {
            imported += 1;
            assert_eq!(
                after["triples"].as_u64().unwrap(),
                before["triples"].as_u64().unwrap() + 20_000
            );
            continue;
        }
        clear_full_disk_error("import kg", &out);
        assert_eq!(after, before, "a failed import changed the directory");
        refused = Some(stderr(&out));
        break;
    }
    let refused = refused.expect("the disk never filled");
    eprintln!(
        "full disk: {imported} graph imports, then: {}",
        refused.trim()
    );
    recommends(&data);
    let last_good = counts(&data);

    // Something else fills the disk up to the last 3 MiB.
    fill_to(&disk.dir.join("filler"), 3 << 20);

    // With the disk full: an interaction import, a train and the server's ingestion.
    let rows = tmp.path().join("rows.tsv");
    write_rows(&rows, 0, 20_000);
    let out = run_bounded(
        kgrec(&data)
            .args(["import", "interactions", "--quiet"])
            .arg(&rows),
        120,
    )
    .unwrap();
    if !out.status.success() {
        clear_full_disk_error("import interactions", &out);
        assert_eq!(counts(&data), last_good);
    }
    let last_good = counts(&data);
    let out = run_bounded(
        kgrec(&data).args(["train", "--model", "als", "--dim", "256", "--quiet"]),
        120,
    )
    .unwrap();
    if !out.status.success() {
        clear_full_disk_error("train", &out);
        assert_eq!(counts(&data), last_good);
    }
    let last_good = counts(&data);
    recommends(&data);

    let server = Server::start(&data, &[]);
    let (mut acked, mut refusals) = (0, 0);
    for n in 0..200 {
        let body = format!(r#"[{{"user": "full-{n}", "item": "50"}}]"#);
        let answer = server.post_json("/v1/interactions", &body);
        match answer.status {
            200 => acked += 1,
            507 => {
                assert_eq!(answer.error_code(), "disk_full");
                assert!(answer.text().contains("is full"), "{}", answer.text());
                refusals += 1;
            }
            s => panic!(
                "POST /v1/interactions on a full disk: {s} {}",
                answer.text()
            ),
        }
    }
    // Readers are still served.
    let recs = server.get("/v1/users/1/recommendations?k=3");
    assert_eq!(recs.status, 200, "{}", recs.text());
    assert!(server.terminate(30).success());
    let after = counts(&data);
    assert_eq!(
        after["interactions"].as_u64().unwrap(),
        last_good["interactions"].as_u64().unwrap() + acked,
        "acknowledged interactions lost, or refused ones stored"
    );
    eprintln!("full disk: server ingestion {acked} acknowledged, {refusals} refused (507)");
    assert!(refusals > 0, "the server never found the disk full");

    // Space freed (the disk made larger): the directory takes writes again.
    let grown = Command::new("mount")
        .args(["-o", "remount,size=96M"])
        .arg(&disk.dir)
        .status()
        .unwrap();
    assert!(grown.success());
    let file = tmp.path().join("after.nt");
    write_triples(&file, 999, 1000);
    ok(kgrec(&data).args(["import", "kg", "--quiet"]).arg(&file));
    ok(kgrec(&data).args(["train", "--model", "als", "--quiet"]));
    recommends(&data);
    drop(disk);
}

/// The bound after which the disk watchdog ends a write stuck on a full disk, for these tests
/// (the default is 30 s).
const STALL_SECONDS: &str = "5";

/// A write cut short by a disk another program filled *after* the free-space check: sled 0.34
/// returned the out-of-space error of its index commit and then, at the data directory's close,
/// waited forever for the log buffer that failed write had claimed (gdb: `make_stable` under
/// `TreeInner::drop`). Deterministic: the graph arrives through a pipe, so the test fills the
/// disk after the check and before the import writes, leaving room for the graph snapshot
/// (5.1 MB) but not for sled's commit. Before the disk watchdog every round hung; now each ends
/// in bounded time with exit code 1 and the full-disk error, and the directory holds its state
/// from before the import or after it.
#[cfg(unix)]
#[test]
fn a_disk_filled_by_another_program_after_the_check_ends_the_import_with_the_full_disk_error() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount(&tmp.path().join("disk"), 24) else {
        return;
    };
    let mut text = Vec::new();
    {
        let file = tmp.path().join("big.nt");
        write_triples(&file, 0, 60_000);
        text.extend(std::fs::read(&file).unwrap());
    }
    let mut stopped = 0;
    // Free space left for the import, in KiB: the snapshot fits, sled's commit does not (the
    // band where it hung was 5,120–6,912 KiB on this layout).
    for leave in [5632u64, 6144, 6656] {
        let data = disk.dir.join("data");
        import_movie_graph(&data);
        let before = counts(&data);
        let pipe = tmp.path().join(format!("pipe{leave}.nt"));
        let made = Command::new("mkfifo").arg(&pipe).status().unwrap();
        assert!(made.success());
        let child = kgrec(&data)
            .args(["import", "kg", "--quiet"])
            .arg(&pipe)
            .env("KGREC_DISK_STALL_SECONDS", STALL_SECONDS)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            let mut writer = std::fs::OpenOptions::new().write(true).open(&pipe).unwrap();
            writer.write_all(&text).unwrap();
            // The import has read all but the pipe's buffer: another program fills the disk
            // now, then the graph ends.
            fill_to(&disk.dir.join("filler"), leave << 10);
        }
        let out = wait_bounded(child, 60, &format!("leave {leave} KiB: the import"));
        if !out.status.success() {
            clear_full_disk_error("import kg", &out);
            if stderr(&out).contains("did not finish within") {
                stopped += 1;
            }
        }
        std::fs::remove_file(disk.dir.join("filler")).unwrap();
        let after = counts(&data);
        assert!(
            after == before
                || after["triples"].as_u64() == before["triples"].as_u64().map(|n| n + 60_000),
            "leave {leave} KiB: {after} after {before}"
        );
        std::fs::remove_dir_all(&data).unwrap();
    }
    eprintln!("full disk after the check: {stopped} of 3 imports stopped by the disk watchdog");
    drop(disk);
}

/// When the disk fills *during* a write, after the free-space check passed (another program
/// writes the same disk), at a moment that depends on timing: each run here fills the disk at
/// another moment of a 60,000-triple `import kg` on a 24 MiB tmpfs. Every import must end in
/// bounded time (the disk watchdog ends one that sled's stuck flush holds) with success or the
/// full-disk error, and the directory must open with its state from before or after it.
/// Timing-dependent, so `--ignored`: `cargo test --release --test integration -- --ignored
/// full_disk` (figures in docs/reliability.md).
#[cfg(unix)]
#[test]
#[ignore = "timing-dependent: the disk fills at another moment each round (docs/reliability.md)"]
fn a_disk_filled_by_another_program_during_an_import_keeps_the_last_good_state() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount(&tmp.path().join("disk"), 24) else {
        return;
    };
    let file = tmp.path().join("big.nt");
    write_triples(&file, 0, 60_000);
    for round in 0..8u64 {
        let data = disk.dir.join(format!("data{round}"));
        import_movie_graph(&data);
        let before = counts(&data);
        let child = kgrec(&data)
            .args(["import", "kg", "--quiet"])
            .arg(&file)
            .env("KGREC_DISK_STALL_SECONDS", STALL_SECONDS)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(200 * round));
        fill_to(&disk.dir.join("filler"), 0);
        let out = wait_bounded(child, 60, &format!("round {round}: the import"));
        if !out.status.success() {
            clear_full_disk_error("import kg", &out);
        }
        std::fs::remove_file(disk.dir.join("filler")).unwrap();
        let after = counts(&data);
        assert!(
            after == before
                || after["triples"].as_u64() == before["triples"].as_u64().map(|n| n + 60_000),
            "round {round}: {after} after {before}"
        );
        std::fs::remove_dir_all(&data).unwrap();
    }
}
