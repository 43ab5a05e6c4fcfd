//! `kgrec demo`, the README's first command.

use crate::common::*;

#[test]
fn demo_imports_the_fixtures_and_shows_graph_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("kept");
    let out = ok(kgrec(&data).arg("demo"));
    assert!(out.contains("Toy Story is linked to"), "{out}");
    assert!(out.contains("-director-> John Lasseter"), "{out}");
    // With --data the directory is kept and usable afterwards.
    assert_eq!(triples(&data), 537);
}
