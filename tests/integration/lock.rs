//! One process owns a data directory; a second one is refused with the holder's id.

use crate::common::*;
use std::time::{Duration, Instant};

#[test]
fn a_second_process_is_refused_while_an_import_holds_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    let before = stats(&data);
    let big = tmp.path().join("big.nt");
    write_synthetic_ntriples(&big, 300_000);

    let mut holder = kgrec(&data)
        .args(["import", "kg"])
        .arg(&big)
        .spawn()
        .unwrap();
    let pid = holder.id().to_string();
    let lock = data.join("lock");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_to_string(&lock).unwrap_or_default().trim() != pid {
        assert!(Instant::now() < deadline, "the import never took the lock");
        std::thread::sleep(Duration::from_millis(5));
    }
    // `--wait 0`: without it a reader waits a few seconds for a holder that is not a server.
    let out = run(kgrec(&data).args(["--wait", "0", "stats", "--format", "json"]));
    let still_running = holder.try_wait().unwrap().is_none();
    if still_running {
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let expected = format!(
            "data directory {} is in use by process {pid}",
            data.display()
        );
        assert!(stderr(&out).contains(&expected), "{}", stderr(&out));
    }
    // A reader that waited says so, and is not told to wait.
    let waited = run(kgrec(&data).args(["--wait", "1", "stats"]));
    if holder.try_wait().unwrap().is_none() {
        let err = stderr(&waited);
        assert!(err.contains("still, after waiting 1 s"), "{err}");
        assert!(err.contains("wait longer"), "{err}");
    }
    assert!(holder.wait().unwrap().success());
    let after = stats(&data);
    assert_eq!(
        after["triples"].as_u64().unwrap(),
        before["triples"].as_u64().unwrap() + 300_000
    );
    assert!(
        still_running,
        "the import ended before the second process could try"
    );
}

/// `train` holds the data directory only while it reads its inputs and while it writes the new
/// version: `recommend` and `stats` answer while it fits, and the new version lands after.
#[test]
fn readers_are_served_while_a_train_fits() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "als"]));
    let log = std::fs::File::create(tmp.path().join("train.err")).unwrap();
    let mut trainer = kgrec(&data)
        .args(["train", "--model", "bpr", "--epochs", "20000"])
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut served_during_fit = 0;
    while trainer.try_wait().unwrap().is_none() && Instant::now() < deadline {
        let out = run(kgrec(&data).args(["recommend", "--user", "1", "--format", "json"]));
        let still_fitting = trainer.try_wait().unwrap().is_none();
        if out.status.success() && still_fitting {
            served_during_fit += 1;
            assert!(stdout(&out).contains("\"user\": \"1\""), "{}", stdout(&out));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        trainer.wait().unwrap().success(),
        "{}",
        std::fs::read_to_string(tmp.path().join("train.err")).unwrap()
    );
    assert!(
        served_during_fit > 0,
        "no recommend was answered while the train was fitting"
    );
    let models = stats(&data)["models"].clone();
    assert_eq!(models, serde_json::json!(["v1 als", "v2 bpr (current)"]));
}

/// A failed import into a path that did not exist leaves no directory behind; `--wait` rejects
/// nonsense.
#[test]
fn a_failed_first_import_leaves_no_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("new");
    let bad = tmp.path().join("bad.nt");
    std::fs::write(&bad, "<http://e/a> <http://e/p> .\n").unwrap();
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&bad));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!data.exists(), "a directory was left behind");
    let out = run(kgrec(&data).args(["--wait", "-1", "stats"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // An empty folder given as the data directory is left empty.
    std::fs::create_dir(&data).unwrap();
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&bad));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 0);
}

/// Two first imports started at once into a directory that does not exist yet: the loser,
/// refused as "in use", took back the directory the winner had just created, and the winner
/// then failed on its own FORMAT marker (2 rounds in 60 with the old binary). Each round one of them must succeed, the other succeed
/// too (after the first) or be refused as in use, and the directory must stay.
#[test]
fn concurrent_first_imports_leave_the_winner_its_directory() {
    let tmp = tempfile::tempdir().unwrap();
    for round in 0..50 {
        let data = tmp.path().join(format!("race{round}"));
        let graph = kgrec(&data)
            .args(["import", "kg"])
            .arg(fixture("movies.ttl"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let users = kgrec(&data)
            .args(["import", "interactions"])
            .arg(fixture("interactions.tsv"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let outs = [
            graph.wait_with_output().unwrap(),
            users.wait_with_output().unwrap(),
        ];
        let said = outs.iter().map(stderr).collect::<Vec<_>>().join("\n---\n");
        assert!(
            outs.iter().any(|o| o.status.success()),
            "round {round}: neither import succeeded:\n{said}"
        );
        for out in &outs {
            assert!(
                out.status.success() || stderr(out).contains("in use by process"),
                "round {round}: a failure other than in use:\n{said}"
            );
        }
        assert!(data.join("FORMAT").is_file(), "round {round}: {said}");
    }
}

/// Ctrl-C during the first write into a new data directory takes the directory back, and
/// says so.
#[test]
fn an_interrupted_first_import_leaves_no_directory() {
    use std::io::Write as _;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("new").join("data");
    let mut child = kgrec(&data)
        .args(["import", "kg", "-", "--format", "nt"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"<http://e/a> <http://e/p> <http://e/b> .\n")
        .unwrap();
    // The import has created the directory and waits for more of standard input.
    let started = std::time::Instant::now();
    while !data.join("sled").exists() && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(data.exists(), "the import did not start");
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing of it is kept"),
        "{}",
        stderr(&out)
    );
    assert!(
        !tmp.path().join("new").exists(),
        "a directory was left behind"
    );
}

/// Two trainings overlap: the one that started later (on data as new or newer) finishes first
/// and stays current; the slower one is stored beside it, not made current, and `--keep 1`
/// never deletes the current model.
#[test]
fn an_overtaken_training_does_not_replace_the_newer_model() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    let slow = kgrec(&data)
        .args([
            "train", "--model", "bpr", "--epochs", "20000", "--keep", "1",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Let the slow one read its inputs (it holds the directory only while it does).
    std::thread::sleep(Duration::from_millis(500));
    let fast = ok(kgrec(&data).args(["--wait", "30", "train", "--model", "als"]));
    assert!(fast.contains("current model v"), "{fast}");
    let out = slow.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("stored beside the current model"),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("stays current"), "{}", stderr(&out));
    let models = stats(&data)["models"].clone();
    assert_eq!(models, serde_json::json!(["v1 als (current)", "v2 bpr"]));
}

/// The same under `--quiet`: the slow training exits 0, and the one thing it still says is
/// that its model did not become current.
#[test]
fn a_quiet_overtaken_training_still_says_it_is_not_current() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    let slow = kgrec(&data)
        .args(["--quiet", "train", "--model", "bpr", "--epochs", "20000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    ok(kgrec(&data).args(["--wait", "30", "--quiet", "train", "--model", "als"]));
    let out = slow.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("bpr v2 is stored but not current")
            && stderr(&out).contains("--model-version 2"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("note:"), "{}", stderr(&out));
}

/// Ctrl-C during a write says what the data directory holds (the write commits whole or not at
/// all) and exits 130; an interrupted `train` stores nothing.
#[test]
fn an_interrupted_write_says_what_it_left() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    let child = kgrec(&data)
        .args(["train", "--model", "bpr", "--epochs", "2000000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Past reading its inputs: fitting, for minutes at this many epochs.
    std::thread::sleep(Duration::from_millis(800));
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        // Interrupted while fitting: `train` writes only at its end, so nothing was written.
        stderr(&out).contains("interrupted:") && stderr(&out).contains("had written nothing yet"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stats(&data)["models"], serde_json::json!([]));
}

/// Sends SIGINT (Ctrl-C) to `child`.
fn interrupt(child: &std::process::Child) {
    let signal = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(signal.success());
}
