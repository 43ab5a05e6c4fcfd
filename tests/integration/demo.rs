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
