//! `kgrec demo`, the README's first command.

use crate::common::*;

#[test]
fn demo_imports_the_fixtures_and_shows_graph_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("kept");
    let out = ok(kgrec(&data).arg("demo"));
    assert!(out.contains("Toy Story is linked to"), "{out}");
    assert!(out.contains("-director-> John Lasseter"), "{out}");
    // It trains the default model and explains two users' recommendations.
    assert!(out.contains("trained cke"), "{out}");
    assert_eq!(
        out.matches("explained recommendations for user").count(),
        2,
        "{out}"
    );
    assert!(out.contains("You liked "), "{out}");
    // With --data the directory is kept and usable afterwards.
    assert_eq!(triples(&data), 537);
    assert_eq!(stats(&data)["users"], 40);
    let again = ok(kgrec(&data).args(["explain", "--user", "1", "--item", "318"]));
    assert!(again.contains("(item 318)"), "{again}");
}

/// The demo's fixtures travel inside the binary: a copy of it run from `/`, away from the source
/// tree, with no data directory given, still imports, trains and explains (the installed-binary
/// case; `.ci/run` also runs `cargo install` and the installed `kgrec demo` from `/`).
#[test]
fn demo_runs_from_a_copied_binary_anywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin").join("kgrec");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(binary(), &bin).unwrap();
    let ran = run(std::process::Command::new(&bin)
        .arg("demo")
        .current_dir("/")
        .env_remove("KGREC_DATA"));
    assert!(ran.status.success(), "{}", stderr(&ran));
    let out = stdout(&ran);
    assert!(out.contains("Toy Story is linked to"), "{out}");
    assert!(out.contains("trained cke"), "{out}");
    assert!(out.contains("You liked "), "{out}");
    // Advice, not a result: on standard error.
    assert!(!out.contains("goes away"), "{out}");
    assert!(
        stderr(&ran).contains("temporary data directory goes away"),
        "{}",
        stderr(&ran)
    );
    // A --fixtures folder that lacks the files is refused clearly.
    let out = run(std::process::Command::new(&bin)
        .args(["demo", "--fixtures"])
        .arg(tmp.path()));
    expect_bad_input(&out, tmp.path(), &["movies.ttl", "fixtures not found"]);
}
