//! Ctrl-C (SIGINT) in the two places that had left debris: a reader of a data directory it may
//! not write (its temporary copy of the database), and `demo` (its temporary folder, a
//! half-filled `--data` directory). Each test waits for the work to be under way (the copy, the
//! graph shown), then signals, then checks what is left: nothing temporary, and a `--data`
//! directory absent, empty as it was, or complete.

use crate::common::*;
use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long the work may take to reach the point a test waits for: a bound on a wait, not a
/// measurement (a machine under load is slow, not wrong).
const PATIENCE: Duration = Duration::from_secs(120);

fn sigint(pid: u32) {
    let sent = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -INT {pid}");
}

/// Polls until `ready` holds, or fails naming `what` once [`PATIENCE`] is spent (after killing
/// `child`, which would otherwise outlive the test).
fn wait_until(child: &mut Child, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !ready() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("kgrec ended ({status}) before {what}");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kgrec did not reach {what} within {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The names of the entries of `dir`.
fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Checks that the interrupted command exited by its handler (130, saying `said`), not by the
/// signal's default.
fn interrupted_saying(out: &Output, said: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(130), "{}: {err}", out.status);
    for needle in said {
        assert!(err.contains(needle), "expected {needle:?} in {err:?}");
    }
}

#[test]
fn ctrl_c_during_a_read_through_a_temporary_copy_removes_the_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::read_only::trained(tmp.path());
    let scratch = crate::read_only::scratch(tmp.path());
    // Root ignores permission bits: the reader runs as another user, who must reach the
    // directory and the binary (as in `read_only`).
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let reader = |args: &[&str]| {
        let mut cmd = kgrec(&data);
        cmd.args(args).env("TMPDIR", &scratch);
        if root {
            cmd.uid(65534).gid(65534);
        }
        cmd
    };
    if root && !run(&mut reader(&["--version"])).status.success() {
        eprintln!("skipped: user 65534 cannot run {}", binary().display());
        return;
    }
    let chmod = |mode: &str| {
        assert!(
            Command::new("chmod")
                .args(["-R", mode])
                .arg(&data)
                .status()
                .unwrap()
                .success()
        );
    };
    chmod("a-w");
    let before = crate::read_only::fingerprint(&data);
    // Every statement beside every other, as CSV: far more than a pipe holds, so the reader
    // blocks on its output until the test reads it, which it does only after the signal.
    let mut child = reader(&[
        "sparql",
        "--format",
        "csv",
        "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_until(&mut child, "its temporary copy", || {
        entries(&scratch)
            .iter()
            .any(|n| n.starts_with("kgrec-read-only-"))
    });
    sigint(child.id());
    let out = child.wait_with_output().unwrap();
    interrupted_saying(
        &out,
        &["was only read, and the temporary copy of its database is removed"],
    );
    assert_eq!(
        entries(&scratch),
        Vec::<String>::new(),
        "copies left behind"
    );
    assert_eq!(
        crate::read_only::fingerprint(&data),
        before,
        "the directory was written"
    );
    // Writable again, for the temporary directory's removal.
    chmod("u+w");
}

/// A fixtures folder for `demo --fixtures` whose interactions file is a FIFO no one writes: the
/// demo imports and shows the graph, then waits at the interactions for as long as the test
/// likes.
fn stalled_fixtures(tmp: &Path) -> PathBuf {
    let dir = tmp.join("fixtures");
    std::fs::create_dir(&dir).unwrap();
    for name in ["movies.ttl", "links.tsv"] {
        std::fs::copy(fixture(name), dir.join(name)).unwrap();
    }
    assert!(
        Command::new("mkfifo")
            .arg(dir.join("interactions.tsv"))
            .status()
            .unwrap()
            .success()
    );
    dir
}

/// Starts `kgrec [--data DATA] demo --fixtures FIXTURES` with `scratch` as its temporary
/// directory, and returns it once its graph is imported and shown (a line of the graph's look
/// on its standard output), with its standard output read on.
fn demo_stalled_at_the_interactions(
    data: Option<&Path>,
    fixtures: &Path,
    scratch: &Path,
) -> (Child, std::thread::JoinHandle<()>) {
    let mut cmd = Command::new(binary());
    if let Some(data) = data {
        cmd.arg("--data").arg(data);
    }
    let mut child = cmd
        .env_remove("KGREC_DATA")
        .env("TMPDIR", scratch)
        .args(["demo", "--fixtures"])
        .arg(fixtures)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.contains("is linked to") {
                let _ = tx.send(());
            }
        }
    });
    wait_until(&mut child, "the graph's look", || rx.try_recv().is_ok());
    (child, reader)
}

fn ended(child: Child, reader: std::thread::JoinHandle<()>) -> Output {
    let out = child.wait_with_output().unwrap();
    reader.join().unwrap();
    out
}

#[test]
fn ctrl_c_during_demo_removes_its_temporary_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let fixtures = stalled_fixtures(tmp.path());
    let scratch = tmp.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    let (child, reader) = demo_stalled_at_the_interactions(None, &fixtures, &scratch);
    // Under way: the temporary folder holds the data directory the graph went into.
    let folders = entries(&scratch);
    assert_eq!(folders.len(), 1, "{folders:?}");
    assert!(scratch.join(&folders[0]).join("kgrec-data").is_dir());
    sigint(child.id());
    let out = ended(child, reader);
    interrupted_saying(&out, &["its temporary data directory is removed"]);
    assert_eq!(entries(&scratch), Vec::<String>::new(), "left behind");
}

#[test]
fn ctrl_c_during_demo_takes_back_its_unfinished_data_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let fixtures = stalled_fixtures(tmp.path());
    let scratch = tmp.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    // A new directory (with a new parent), then an empty one that exists.
    let new = tmp.path().join("new").join("data");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for data in [&new, &empty] {
        let (child, reader) = demo_stalled_at_the_interactions(Some(data), &fixtures, &scratch);
        // Under way: the graph is in the data directory.
        assert!(data.join("FORMAT").is_file() && data.join("kg").is_dir());
        sigint(child.id());
        let out = ended(child, reader);
        interrupted_saying(
            &out,
            &[
                "`demo` had not finished importing and training",
                "nothing of it is kept",
            ],
        );
        assert_eq!(entries(&scratch), Vec::<String>::new(), "left behind");
    }
    assert!(
        !tmp.path().join("new").exists(),
        "the new --data directory is left"
    );
    assert_eq!(
        entries(&empty),
        Vec::<String>::new(),
        "the empty one is not empty again"
    );
}

/// A `demo` that fails (an interactions file that does not parse) leaves no `--data` directory
/// behind, as a failed first import does.
#[test]
fn a_failed_demo_leaves_no_data_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let fixtures = tmp.path().join("fixtures");
    std::fs::create_dir(&fixtures).unwrap();
    for name in ["movies.ttl", "links.tsv"] {
        std::fs::copy(fixture(name), fixtures.join(name)).unwrap();
    }
    std::fs::write(
        fixtures.join("interactions.tsv"),
        "user_id\titem_id\trating\n1\t1\tfive\n",
    )
    .unwrap();
    let data = tmp.path().join("data");
    let out = run(kgrec(&data).args(["demo", "--fixtures"]).arg(&fixtures));
    expect_bad_input(&out, &data, &["interactions.tsv:2"]);
    assert!(!data.exists(), "a half-filled demo directory is left");
}

/// A Ctrl-C in the first moments of a first `import kg` into a new path leaves no folder: the
/// handler had taken the new folder back while the open was still making it (an empty folder,
/// or one holding only `lock`, was left), or the open made sled's folders again after the
/// handler removed them. SIGINTs at delays from 0 to 40 ms after the start, 0.2 ms apart (the
/// whole import takes some tens of ms, so the open of the new folder lies in there); each run
/// either finished (a whole data directory) or left nothing.
#[test]
fn ctrl_c_in_the_first_moments_of_a_first_import_leaves_no_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let movies = fixture("movies.ttl");
    let (mut interrupted, mut finished) = (0, 0);
    for step in 0..200u64 {
        let new = tmp.path().join(format!("new{step}"));
        let data = new.join("sub").join("data");
        let child = kgrec(&data)
            .args(["import", "kg"])
            .arg(&movies)
            .arg("-q")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(step * 200));
        // Not reaped before the wait below, so the id is still the child's even if it ended.
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            finished += 1;
            // Never a success whose directory a handler took back meanwhile.
            assert!(
                data.join("FORMAT").is_file(),
                "interrupted {} ms in, the import exited 0 but left {:?}: {}",
                step as f64 * 0.2,
                walk(&new),
                stderr(&out)
            );
            continue;
        }
        interrupted += 1;
        // An interrupt that comes after the first open (RocksDB's build can be past it within
        // the loop's delays) keeps the directory, as documented: the write commits whole or not.
        if stderr(&out).contains("holds all of what") && data.join("FORMAT").is_file() {
            continue;
        }
        let left: Vec<_> = walk(&new);
        assert!(
            !new.exists(),
            "interrupted {} ms in ({}), the import left {left:?}: {}",
            step as f64 * 0.2,
            out.status,
            stderr(&out)
        );
    }
    assert!(
        interrupted > 0,
        "no run was interrupted ({finished} finished)"
    );
}

/// Every path under `dir` (none when it does not exist).
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            }
            found.push(entry.path());
        }
    }
    found
}
