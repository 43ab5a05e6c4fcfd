//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test: `KGREC_TEST_BIN` when set, else cargo's. Worktrees that share one
/// `CARGO_TARGET_DIR` overwrite each other's `target/debug/kgrec`; pointing this at the
/// worktree's own `target/debug/deps/kgrec-<hash>` keeps a test run on the code it was built from.
pub fn binary() -> PathBuf {
    std::env::var_os("KGREC_TEST_BIN")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_kgrec")), PathBuf::from)
}

pub fn kgrec(data: &Path) -> Command {
    let mut cmd = Command::new(binary());
    cmd.arg("--data").arg(data).env_remove("KGREC_DATA");
    cmd
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// A file of `../shared/datasets`, or `None` (and a note) when the data sets are absent; under
/// `KGREC_REQUIRE_DATA=1` a missing one fails the test instead.
pub use kgrec_kg::testdata::shared_dataset;

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("kgrec runs")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs a command that must succeed and returns its stdout.
pub fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        out.status,
        stderr(&out)
    );
    stdout(&out)
}

/// Checks that a command failed as bad input: exit code 2 and every needle in its message.
pub fn expect_bad_input(out: &Output, what: &Path, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{what:?}: {err}");
    for needle in needles {
        assert!(
            err.contains(needle),
            "{what:?}: expected {needle:?} in {err:?}"
        );
    }
}

/// Imports the fixture graph `movies.ttl` into `data` and returns the import's summary line.
pub fn import_movie_graph(data: &Path) -> String {
    ok(kgrec(data)
        .args(["import", "kg"])
        .arg(fixture("movies.ttl")))
}

pub fn stats(data: &Path) -> serde_json::Value {
    let text = ok(kgrec(data).args(["stats", "--format", "json"]));
    serde_json::from_str(&text).unwrap()
}

pub fn triples(data: &Path) -> u64 {
    stats(data)["triples"].as_u64().unwrap()
}

/// Writes `n` synthetic N-Triples statements: films with directors, genres and labels.
pub fn write_synthetic_ntriples(path: &Path, n: usize) {
    use std::fmt::Write;
    let mut text = String::with_capacity(n * 90);
    for i in 0..n {
        let film = i / 3;
        match i % 3 {
            0 => writeln!(
                text,
                "<http://example.org/film/{film}> <http://example.org/director> <http://example.org/person/{}> .",
                film % 997
            ),
            1 => writeln!(
                text,
                "<http://example.org/film/{film}> <http://example.org/genre> <http://example.org/genre/{}> .",
                film % 31
            ),
            _ => writeln!(
                text,
                "<http://example.org/film/{film}> <http://www.w3.org/2000/01/rdf-schema#label> \"Film {film}\"@en ."
            ),
        }
        .unwrap();
    }
    std::fs::write(path, text).unwrap();
}
