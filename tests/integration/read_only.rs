//! A data directory this process may not write is read (through a temporary copy of its sled
//! database, which sled 0.34 cannot open read-only) and never written; commands that write are
//! refused, saying why.
//!
//! Two ways to make the directory unwritable, each proving its own path:
//! - a read-only bind mount, made in a user and mount namespace (`unshare -rm`): the kernel
//!   refuses every write with EROFS, to root too. This is the "read-only mount" case.
//! - `chmod -R a-w`, with kgrec run as user 65534 when the tests run as root (root ignores
//!   permission bits): EACCES. This is the "write-protected, or another user's, directory" case.
//!
//! Where the environment allows neither (no `unshare`, or no permission to use it; root
//! without a way to run as another user), the test prints why and checks nothing more.

use crate::common::*;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A data directory with the fixtures and an `als` model; the id of a user and of an item.
pub(crate) fn trained(tmp: &Path) -> PathBuf {
    let data = crate::cf::imported(tmp);
    ok(kgrec(&data).args(["train", "--model", "als", "-q"]));
    data
}

/// The commands that only read, as the contract names them.
const READS: &[&[&str]] = &[
    &["stats", "--format", "json"],
    &["recommend", "--user", "1", "-k", "5", "--format", "json"],
    &["explain", "--user", "1", "--item", "50", "--format", "json"],
    &["similar", "--item", "50", "-k", "3", "--format", "json"],
    &[
        "sparql",
        "--format",
        "csv",
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    ],
];

/// Every file under `dir` with its length, modification time and mode: a directory that was
/// not written has the same fingerprint.
pub(crate) fn fingerprint(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime, u32)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            }
            found.push((
                entry.path(),
                meta.len(),
                meta.modified().unwrap(),
                meta.permissions().mode(),
            ));
        }
    }
    found.sort();
    found
}

/// A folder anyone may write (as /tmp is), for kgrec's temporary copy: the test then sees that
/// the copy is removed.
pub(crate) fn scratch(tmp: &Path) -> PathBuf {
    let scratch = tmp.join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    std::fs::set_permissions(&scratch, std::fs::Permissions::from_mode(0o1777)).unwrap();
    scratch
}

/// Runs every read and two writes through `runner` on the unwritable `data`, and checks them
/// against the answers the writable directory gave.
fn check_reads_and_refused_writes(
    data: &Path,
    scratch: &Path,
    expected: &[String],
    runner: &dyn Fn(&[&str]) -> Output,
) {
    let before = fingerprint(data);
    for (args, expected) in READS.iter().zip(expected) {
        let out = runner(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert_eq!(&stdout(&out), expected, "{args:?}");
        assert!(
            stderr(&out).contains("is not writable by this process: reading a temporary copy"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let movies = fixture("movies.ttl");
    let movies = movies.to_str().unwrap();
    for args in [&["import", "kg", movies][..], &["train", "--model", "als"]] {
        let out = runner(args);
        // The environment's doing, not the input's: exit code 1.
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("cannot write to this data directory")
                && stderr(&out).contains("serve serves it read-only")
                && stderr(&out).contains("imports and training need write access"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(fingerprint(data), before, "the directory was written");
    let left: Vec<_> = std::fs::read_dir(scratch).unwrap().collect();
    assert!(left.is_empty(), "temporary copies left behind: {left:?}");
}

/// `sh -c` script that bind-mounts `$1` on itself read-only, then runs the rest of its
/// arguments, in a user and mount namespace of its own (`unshare -rm`): the mount ends with the
/// namespace's last process, so there is nothing to unmount.
pub(crate) const READ_ONLY_MOUNT: &str =
    "mount --bind \"$1\" \"$1\" && mount -o remount,ro,bind \"$1\" && shift && exec \"$@\"";

/// Whether this machine makes a read-only mount of `dir` ([`READ_ONLY_MOUNT`]): `touch` must
/// fail inside it. Says why not when it does not.
pub(crate) fn read_only_mount_works(dir: &Path) -> bool {
    let probe = Command::new("unshare")
        .args(["-rm", "sh", "-c", READ_ONLY_MOUNT, "sh"])
        .arg(dir)
        .args(["touch", dir.join("probe").to_str().unwrap()])
        .output();
    match probe {
        Ok(out) if !out.status.success() && stderr(&out).contains("Read-only file system") => true,
        other => {
            eprintln!("skipped: no read-only bind mount here (unshare -rm): {other:?}");
            false
        }
    }
}

/// Runs kgrec on `data` with `scratch` as its temporary folder, as user 65534 when the tests
/// run as root (root ignores permission bits), who must be able to reach the directory (under
/// `tmp`) and the binary; `None` (and a note) when that user cannot run it.
fn as_another_user<'a>(
    tmp: &Path,
    data: &'a Path,
    scratch: &'a Path,
) -> Option<impl Fn(&[&str]) -> Output + 'a> {
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
    let as_user = move |args: &[&str]| -> Output {
        let mut cmd = kgrec(data);
        cmd.args(args).env("TMPDIR", scratch);
        if root {
            cmd.uid(65534).gid(65534);
        }
        cmd.output().unwrap()
    };
    if root && !as_user(&["--version"]).status.success() {
        eprintln!("skipped: user 65534 cannot run {}", binary().display());
        return None;
    }
    Some(as_user)
}

fn answers(data: &Path) -> Vec<String> {
    READS
        .iter()
        .map(|args| ok(kgrec(data).args(*args)))
        .collect()
}

#[test]
fn a_data_directory_on_a_read_only_mount_is_read_and_never_written() {
    let tmp = tempfile::tempdir().unwrap();
    let data = trained(tmp.path());
    let expected = answers(&data);
    let scratch = scratch(tmp.path());
    let in_mount = |args: &[&str]| -> Output {
        Command::new("unshare")
            .args(["-rm", "sh", "-c", READ_ONLY_MOUNT, "sh"])
            .arg(&data)
            .arg(binary())
            .arg("--data")
            .arg(&data)
            .args(args)
            .env_remove("KGREC_DATA")
            .env("TMPDIR", &scratch)
            .output()
            .unwrap()
    };
    if !read_only_mount_works(&data) {
        return;
    }
    check_reads_and_refused_writes(&data, &scratch, &expected, &in_mount);
}

#[test]
fn a_write_protected_data_directory_is_read_and_never_written() {
    let tmp = tempfile::tempdir().unwrap();
    let data = trained(tmp.path());
    let expected = answers(&data);
    let scratch = scratch(tmp.path());
    let Some(as_user) = as_another_user(tmp.path(), &data, &scratch) else {
        return;
    };
    Command::new("chmod")
        .args(["-R", "a-w"])
        .arg(&data)
        .status()
        .unwrap();
    check_reads_and_refused_writes(&data, &scratch, &expected, &as_user);
    // Writable again, for the temporary directory's removal.
    Command::new("chmod")
        .args(["-R", "u+w"])
        .arg(&data)
        .status()
        .unwrap();
}

/// A reader of a directory it may not write lists versions from its copy of the database and
/// reads their files from the directory itself. The state where a writer pruned the listed
/// version between the two — the database as it was before a `train --keep 1`, the files as
/// that train left them — is made here deterministically (its database and seal saved before
/// the train and put back after it; the race itself needs a directory without a `lock` file,
/// since the reader's shared lock keeps a writer out while it reads). The reader must say the
/// file is gone and to run the command again — exit code 1, never a panic or another model's
/// numbers — and, run again on the directory as the train left it, answer from the new model.
#[test]
fn a_model_file_pruned_under_a_read_only_reader_says_run_again_and_the_rerun_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let data = trained(tmp.path());
    let scratch = scratch(tmp.path());
    let saved = tmp.path().join("saved");
    std::fs::create_dir(&saved).unwrap();
    copy_dir(&data.join("sled"), &saved.join("sled"));
    std::fs::copy(data.join("sled.seal"), saved.join("sled.seal")).unwrap();
    let old = stats(&data)["model_versions"][0]["version"]
        .as_u64()
        .unwrap();
    ok(kgrec(&data).args(["train", "--model", "bpr", "--keep", "1", "-q"]));
    let recommend = ["recommend", "--user", "1", "-k", "5", "--format", "json"];
    let expected = ok(kgrec(&data).args(recommend));
    let new_state = tmp.path().join("new");
    std::fs::create_dir(&new_state).unwrap();
    copy_dir(&data.join("sled"), &new_state.join("sled"));
    std::fs::copy(data.join("sled.seal"), new_state.join("sled.seal")).unwrap();
    let old_file = data.join("models").join(format!("v{old}.arrays"));
    assert!(!old_file.exists(), "the train pruned v{old}");
    // The reader's view: the database from before the train, the files from after it.
    let put_back = |from: &Path| {
        std::fs::remove_dir_all(data.join("sled")).unwrap();
        copy_dir(&from.join("sled"), &data.join("sled"));
        std::fs::copy(from.join("sled.seal"), data.join("sled.seal")).unwrap();
    };
    put_back(&saved);

    let Some(as_user) = as_another_user(tmp.path(), &data, &scratch) else {
        return;
    };
    let chmod = |mode: &str| {
        Command::new("chmod")
            .args(["-R", mode])
            .arg(&data)
            .status()
            .unwrap();
    };
    chmod("a-w");
    let out = as_user(&recommend);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("model v{old}: its file"))
            && err.contains(&old_file.display().to_string())
            && err.contains("is gone")
            && err.contains("run the command again"),
        "{err}"
    );
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    // Run again, once the reader's copy is taken after the train: the new model answers.
    chmod("u+w");
    put_back(&new_state);
    chmod("a-w");
    let out = as_user(&recommend);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), expected);
    chmod("u+w");
}
