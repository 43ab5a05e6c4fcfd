//! `kgrec serve` that writes nothing: `--read-only` on a writable data directory (a replica
//! that `train` may run beside), and a data directory the server may not write (a read-only
//! mount; `chmod -R a-w` run as another user), which is served read-only instead of refused.
//! Every read route answers as a writable server's does; every write gets 403 `read_only`; the
//! directory is unchanged; the temporary copy of the database is gone once the server stops.

use crate::common::*;
use crate::read_only::{READ_ONLY_MOUNT, fingerprint, read_only_mount_works, scratch};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// The read routes, with what is compared between servers (`None`: only the status).
const READS: &[(&str, bool)] = &[
    ("/health/live", false),
    ("/health/ready", true),
    ("/openapi.json", true),
    ("/metrics", false),
    ("/v1/models", true),
    ("/v1/users/1/recommendations?k=5", true),
    ("/v1/users/1/recommendations?k=3&explain=true", true),
    ("/v1/users/1/explanations/50", true),
    ("/v1/items/50/similar?k=3", true),
    (
        "/sparql?query=SELECT%20(COUNT(*)%20AS%20%3Fn)%20WHERE%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D",
        true,
    ),
];

/// The answers of a writable server on `data` to [`READS`] (stopped before returning).
fn writable_answers(data: &Path) -> Vec<String> {
    let server = Server::start(data, &[]);
    let answers = READS
        .iter()
        .map(|(path, _)| {
            let answer = server.get(path);
            assert_eq!(answer.status, 200, "{path}: {}", answer.text());
            answer.text()
        })
        .collect();
    assert!(server.terminate(60).success());
    answers
}

/// Asks `server` every read and both writes; checks the reads against `expected` and the
/// writes' refusals.
fn check_reads_and_refused_writes(server: &Server, expected: &[String]) {
    for ((path, compare), expected) in READS.iter().zip(expected) {
        let answer = server.get(path);
        assert_eq!(answer.status, 200, "{path}: {}", answer.text());
        if *compare {
            assert_eq!(&answer.text(), expected, "{path}");
        }
    }
    let writes = [
        ("/v1/interactions", r#"[{"user": "1", "item": "60"}]"#),
        ("/v1/admin/rebuild", "{}"),
    ];
    for (path, body) in writes {
        let answer = server.post_json(path, body);
        assert_eq!(answer.status, 403, "{path}: {}", answer.text());
        assert_eq!(answer.error_code(), "read_only", "{path}");
        let message = answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            message.contains("read-only") && message.contains("restart"),
            "{path}: {message}"
        );
    }
    // Refused, not queued: the user is still unknown and nothing is rebuilding.
    let metrics = server.get("/metrics").text();
    assert!(
        metrics.contains(r#"reason="read_only"} 2"#),
        "the refusals are not counted:\n{metrics}"
    );
}

/// What a read-only server says at its start, before its address.
fn assert_read_only_notes(server: &Server) {
    let log = server.log();
    assert!(
        log.contains("note: serving read-only: writes")
            && log.contains("403 read_only")
            && log.contains("restart it to serve a newer model"),
        "{log}"
    );
    assert!(
        log.contains("writes and admin are refused (read-only)"),
        "{log}"
    );
}

fn assert_empty(scratch: &Path) {
    let left: Vec<_> = std::fs::read_dir(scratch).unwrap().collect();
    assert!(left.is_empty(), "temporary copies left behind: {left:?}");
}

#[test]
fn read_only_serves_reads_refuses_writes_and_lets_train_run_beside() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::serve::trained(tmp.path());
    let expected = writable_answers(&data);
    let scratch = scratch(tmp.path());
    let before = fingerprint(&data);

    let mut cmd = kgrec(&data);
    cmd.args(["serve", "--addr", "127.0.0.1:0", "--read-only"])
        .env("TMPDIR", &scratch);
    let server = Server::spawn(cmd, tmp.path().join("read-only.log"));
    assert_read_only_notes(&server);
    assert!(
        !server.log().contains("is not writable"),
        "{}",
        server.log()
    );
    check_reads_and_refused_writes(&server, &expected);
    assert_eq!(fingerprint(&data), before, "the directory was written");
    // The copy of the database is where TMPDIR says, while the server runs.
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 1);

    // It does not hold the directory: a train runs beside it (a writable server would refuse
    // it as "in use"), and the server keeps serving the version of its start.
    ok(kgrec(&data).args(["train", "--model", "als", "-q"]));
    let models = server.get("/v1/models").json();
    assert_eq!(models["current"], 1, "{models}");
    let recs = server.get("/v1/users/1/recommendations?k=5");
    assert_eq!(recs.status, 200, "{}", recs.text());
    assert_eq!(recs.json()["model_version"], 1, "{}", recs.text());
    assert!(server.terminate(60).success());
    assert_empty(&scratch);

    // Restarted, it serves the new model.
    let server = Server::start(&data, &["--read-only"]);
    let models = server.get("/v1/models").json();
    assert_eq!(models["current"], 2, "{models}");
    assert!(server.terminate(60).success());
}

#[test]
fn a_read_only_mount_is_served_read_only() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::serve::trained(tmp.path());
    let expected = writable_answers(&data);
    let scratch = scratch(tmp.path());
    // A read-only bind mount in a user and mount namespace of the server's own: nothing to
    // unmount afterwards (the mount ends with the namespace's last process).
    if !read_only_mount_works(&data) {
        return;
    }
    let mut cmd = Command::new("unshare");
    cmd.args(["-rm", "sh", "-c", READ_ONLY_MOUNT, "sh"])
        .arg(&data)
        .arg(binary())
        .arg("--data")
        .arg(&data)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env_remove("KGREC_DATA")
        .env("TMPDIR", &scratch);
    serves_unwritable_read_only(
        cmd,
        &tmp.path().join("mount.log"),
        &data,
        &expected,
        &scratch,
    );
}

/// Starts `cmd`, a `kgrec serve` on the unwritable `data`, and checks that it serves it
/// read-only: its notes, every read as `expected`, the writes refused, nothing written, no
/// temporary copy left once it stops.
fn serves_unwritable_read_only(
    cmd: Command,
    log: &Path,
    data: &Path,
    expected: &[String],
    scratch: &Path,
) {
    let before = fingerprint(data);
    let server = Server::spawn(cmd, log.to_owned());
    assert!(
        server.log().contains("is not writable by this process"),
        "{}",
        server.log()
    );
    assert_read_only_notes(&server);
    check_reads_and_refused_writes(&server, expected);
    assert!(server.terminate(60).success());
    assert_eq!(fingerprint(data), before, "the directory was written");
    assert_empty(scratch);
}

#[test]
fn a_write_protected_data_directory_is_served_read_only() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::serve::trained(tmp.path());
    let expected = writable_answers(&data);
    let scratch = scratch(tmp.path());
    // Root ignores permission bits: the server runs as another user when the tests run as root.
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let as_user = |args: &[&str]| {
        let mut cmd = kgrec(&data);
        cmd.args(args).env("TMPDIR", &scratch);
        if root {
            cmd.uid(65534).gid(65534);
        }
        cmd
    };
    if root && !as_user(&["--version"]).output().unwrap().status.success() {
        eprintln!("skipped: user 65534 cannot run {}", binary().display());
        return;
    }
    assert!(
        Command::new("chmod")
            .args(["-R", "a-w"])
            .arg(&data)
            .status()
            .unwrap()
            .success()
    );
    // Writable again when the test ends, however it ends, for the temporary folder's removal.
    struct Writable<'a>(&'a Path);
    impl Drop for Writable<'_> {
        fn drop(&mut self) {
            let _ = Command::new("chmod")
                .args(["-R", "u+w"])
                .arg(self.0)
                .status();
        }
    }
    let _writable = Writable(&data);
    serves_unwritable_read_only(
        as_user(&["serve", "--addr", "127.0.0.1:0"]),
        &tmp.path().join("protected.log"),
        &data,
        &expected,
        &scratch,
    );
}
