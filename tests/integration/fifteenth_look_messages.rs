//! The fifteenth fresh look's import and SPARQL messages (issue #21): an empty rating cell is a
//! row without a rating, `.n3` files are read as Turtle, a headed table under `--format
//! movielens` is named as one, a `.csv` note says its extension decided, re-imported blank-node
//! structures are noted, and SPARQL errors say what the parser found without blaming the end.

use crate::common::*;
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn import(data: &Path, file: &Path, extra: &[&str]) -> std::process::Output {
    run(kgrec(data)
        .args(["import", "interactions"])
        .arg(file)
        .args(extra))
}

/// Finding 11: `u2,i2,` is an unrated row (noted), and never erases a stored rating.
#[test]
fn an_empty_rating_cell_is_an_unrated_row_that_keeps_a_stored_rating() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let first = write(tmp.path(), "ra.csv", "user_id,item_id,rating\nu2,i2,4\n");
    let out = import(&data, &first, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rc = write(
        tmp.path(),
        "rc.csv",
        "user_id,item_id,rating\nu2,i1,5\nu2,i2,\nu3,i2,\n",
    );
    let out = import(&data, &rc, &[]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("2 row(s) have an empty rating cell: read as unrated"),
        "{err}"
    );
    assert!(err.contains("u2, i2: stored rating 4 kept"), "{err}");
}

/// Finding 10: a `.n3` file is read as Turtle with a note; N3 beyond Turtle gets the parser's
/// error and what is not read.
#[test]
fn n3_files_are_read_as_turtle_and_their_rules_are_named_when_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let n3 = write(
        tmp.path(),
        "dest.n3",
        "@prefix ex: <http://travel.example/> .\nex:paris a ex:City ; ex:country ex:france .\n",
    );
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&n3));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("read as Turtle by its extension .n3"), "{err}");
    assert!(stdout(&out).contains("2 added"), "{}", stdout(&out));
    let rules = write(
        tmp.path(),
        "rules.n3",
        "@prefix ex: <http://travel.example/> .\n{ ?x a ex:City } => { ?x a ex:Place } .\n",
    );
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&rules));
    expect_bad_input(
        &out,
        &rules,
        &["rules.n3:2:", "N3 rules (`=>`, `@forAll`...) are not read"],
    );
}

/// Finding 8: a headed two-column table under `--format movielens`.
#[test]
fn a_headed_table_read_as_movielens_is_named_with_the_way_out() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "ml2.data", "user_id\titem_id\nu1\ti1\n");
    let out = import(&tmp.path().join("data"), &file, &["--format", "movielens"]);
    expect_bad_input(
        &out,
        &file,
        &[
            "ml2.data:2: 2 field(s), where MovieLens rows have 3 or 4",
            "header (user_id, item_id)",
            "drop --format movielens",
        ],
    );
    assert!(!stderr(&out).contains("second header"), "{}", stderr(&out));
}

/// Finding 14: a `.csv` read with --item-col is read as CSV by its extension, and no note
/// claims the content decided.
#[test]
fn a_csv_named_so_is_not_said_to_be_guessed_from_its_content() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(
        tmp.path(),
        "bookings.csv",
        "customer_id,destination_id\ncust0,D007\ncust1,D000\n",
    );
    let out = import(
        &tmp.path().join("data"),
        &file,
        &["--user-col", "customer_id", "--item-col", "destination_id"],
    );
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("guessed from the content"), "{err}");
}

/// Finding 2: a graph with blank nodes imported again after an edit adds its blank nodes
/// beside the earlier ones: said, with the way to replace them.
#[test]
fn blank_node_structures_imported_again_are_noted() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let ttl = "@prefix ex: <http://travel.example/> .\n\
               ex:paris ex:country ex:france ;\n  ex:location [ ex:lat \"48.85\" ] .\n";
    let first = write(tmp.path(), "dest.ttl", ttl);
    let err = stderr(&run(kgrec(&data).args(["import", "kg"]).arg(&first)));
    assert!(!err.contains("blank nodes are local to each file"), "{err}");
    // The same file again changes nothing, and says nothing of it.
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&first));
    assert!(
        !stderr(&out).contains("blank nodes are local"),
        "{}",
        stderr(&out)
    );
    let renamed = write(tmp.path(), "dest2.ttl", ttl);
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&renamed));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("1 added statement(s) lead to a new blank node")
            && err.contains("<http://travel.example/paris> <http://travel.example/location>")
            && err.contains("blank nodes are local to each file")
            && err.contains("fresh data directory"),
        "{err}"
    );
}

/// Findings 7 and 13: SPARQL errors that are not at the end do not say "the query ends
/// there", and an undeclared prefix `--filter` knows gets its IRI.
#[test]
fn sparql_errors_say_what_is_wrong_and_known_prefixes_get_their_iri() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    for (query, needle) in [
        (
            "SELECT ?x ?x WHERE { ?x ?p ?o }",
            "SELECT names a variable twice",
        ),
        (
            "SELECT ?s WHERE { ?s ?p ?o FILTER(?o > ) }",
            "`>` at 1:38 has nothing after it",
        ),
        (
            "SELECT ?x WHERE { BIND(1 AS ?x) BIND(2 AS ?x) }",
            "BIND at 1:33 gives a value to ?x, which the group already binds",
        ),
        (
            "SELECT ?s WHERE { ?s wdt:P31 ?o }",
            "PREFIX wdt: <http://www.wikidata.org/prop/direct/>",
        ),
    ] {
        let out = run(kgrec(&data).args(["sparql", query]));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{query}: {err}");
        assert!(err.contains(needle), "{query}: {err}");
        assert!(!err.contains("the query ends there"), "{query}: {err}");
    }
}

/// Finding 3: ids that differ only by leading zeros or width are noted at import, naming the
/// stored id, and kept apart; an unknown id is answered with the stored one it looks like.
#[test]
fn lookalike_ids_are_noted_at_import_and_suggested_for_unknown_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let first = write(
        tmp.path(),
        "a.tsv",
        "user_id\titem_id\n0123\ti1\n0123\ti2\nAlice\ti1\nAlice\ti3\nu2\ti2\nu2\ti3\n",
    );
    let out = import(&data, &first, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("differ from another"),
        "{}",
        stderr(&out)
    );
    let second = write(
        tmp.path(),
        "b.tsv",
        "user_id\titem_id\n123\ti1\n\u{ff21}lice\ti2\nu3\ti1\n",
    );
    let out = import(&data, &second, &[]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("2 new user id(s) differ from another only by leading zeros")
            && err.contains("\"123\" beside \"0123\"")
            && err.contains("\"\u{ff21}lice\" beside \"Alice\""),
        "{err}"
    );
    // Kept apart: 3 users before, 3 added.
    assert_eq!(stats(&data)["users"], 6, "{}", stats(&data));
    ok(kgrec(&data).args(["train", "--model", "pop", "--quiet"]));
    let out = run(kgrec(&data).args(["recommend", "--user", "00123", "-k", "2"]));
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        text.contains("no user \"00123\"; did you mean \"0123\"?"),
        "{text}"
    );
}
