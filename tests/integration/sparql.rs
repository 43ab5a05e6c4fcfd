//! The read-only SPARQL command.

use crate::common::*;

fn data_with_fixture() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    (tmp, data)
}

#[test]
fn select_ask_construct_and_describe_answer_from_the_store() {
    let (_tmp, data) = data_with_fixture();
    let table = ok(kgrec(&data).args([
        "sparql",
        "SELECT ?d WHERE { <http://dbpedia.org/resource/Toy_Story> <http://dbpedia.org/ontology/director> ?d }",
    ]));
    assert!(table.contains("John_Lasseter"), "{table}");
    assert!(table.contains("(1 row)"), "{table}");

    let json = ok(kgrec(&data).args([
        "sparql",
        "--format",
        "json",
        "SELECT ?label WHERE { <http://dbpedia.org/resource/Toy_Story> <http://www.w3.org/2000/01/rdf-schema#label> ?label }",
    ]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["results"]["bindings"][0]["label"]["value"], "Toy Story");

    let ask = ok(kgrec(&data).args(["sparql", "ASK { ?s ?p <http://nowhere/> }"]));
    assert_eq!(ask.trim(), "false");

    let graph = ok(kgrec(&data).args([
        "sparql",
        "CONSTRUCT { ?f <http://e/by> ?d } WHERE { ?f <http://dbpedia.org/ontology/director> ?d }",
    ]));
    assert!(graph.lines().count() > 10, "{graph}");
    assert!(graph.lines().all(|l| l.ends_with(" .")), "{graph}");

    let describe =
        ok(kgrec(&data).args(["sparql", "DESCRIBE <http://dbpedia.org/resource/Toy_Story>"]));
    assert!(describe.contains("Toy Story"), "{describe}");
}

#[test]
fn query_from_a_file_in_csv() {
    let (tmp, data) = data_with_fixture();
    let q = tmp.path().join("q.rq");
    std::fs::write(&q, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").unwrap();
    let csv = ok(kgrec(&data)
        .args(["sparql", "--format", "csv", "--file"])
        .arg(&q));
    let n: u64 = csv.lines().nth(1).unwrap().trim().parse().unwrap();
    assert_eq!(n, triples(&data));
}

#[test]
fn an_update_is_refused_and_changes_nothing() {
    let (_tmp, data) = data_with_fixture();
    let before = triples(&data);
    let out = run(kgrec(&data).args([
        "sparql",
        "INSERT DATA { <http://e/a> <http://e/b> <http://e/c> }",
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("read-only"), "{}", stderr(&out));
    assert_eq!(triples(&data), before);

    let out = run(kgrec(&data).args(["sparql", "SELEC nonsense"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("syntax"), "{}", stderr(&out));
}
