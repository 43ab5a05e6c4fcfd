//! A SPARQL client that is not kgrec's own — SPARQLWrapper and rdflib's `SPARQLStore`, from
//! PyPI — queries `kgrec serve`'s `/sparql` and understands the same answers as `kgrec sparql`
//! gives. The clients run in the Python named by `KGREC_SPARQL_PYTHON` (a virtual environment
//! with `SPARQLWrapper` and `rdflib`: `.ci/run` makes one); without it the test says so and
//! passes, unless `KGREC_REQUIRE_PYTHON` is set (as in CI), when it fails.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use crate::common::*;

type Rows = Vec<BTreeMap<String, String>>;

/// `kgrec sparql --format json`'s bindings as rows of variable → lexical value, sorted.
fn cli_rows(answer: &serde_json::Value) -> Rows {
    let mut rows: Rows = answer["results"]["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_object()
                .unwrap()
                .iter()
                .map(|(var, cell)| (var.clone(), cell["value"].as_str().unwrap().to_owned()))
                .collect()
        })
        .collect();
    rows.sort();
    rows
}

/// Rows as a client understood them, sorted.
fn client_rows(value: &serde_json::Value) -> Rows {
    let mut rows: Rows = serde_json::from_value(value.clone()).unwrap();
    rows.sort();
    rows
}

fn python() -> Option<PathBuf> {
    match std::env::var_os("KGREC_SPARQL_PYTHON") {
        Some(p) => Some(PathBuf::from(p)),
        None if std::env::var_os("KGREC_REQUIRE_PYTHON").is_some() => {
            panic!("KGREC_REQUIRE_PYTHON is set but KGREC_SPARQL_PYTHON names no Python")
        }
        None => {
            eprintln!(
                "skipped: set KGREC_SPARQL_PYTHON to a Python with SPARQLWrapper and rdflib \
                 (python3 -m venv V && V/bin/pip install SPARQLWrapper rdflib)"
            );
            None
        }
    }
}

#[test]
fn sparqlwrapper_and_rdflib_read_the_same_answers_as_the_command_line() {
    let Some(python) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    let select = "PREFIX dbo: <http://dbpedia.org/ontology/> \
                  SELECT ?film ?director WHERE { ?film dbo:director ?director } \
                  ORDER BY ?film ?director";
    let ask = "ASK { ?film <http://dbpedia.org/ontology/director> ?someone }";
    let construct = "CONSTRUCT { ?d <http://example.org/directed> ?f } \
                     WHERE { ?f <http://dbpedia.org/ontology/director> ?d }";

    let cli: serde_json::Value = serde_json::from_str(&ok(
        kgrec(&data).args(["sparql", "--format", "json", select])
    ))
    .unwrap();
    let expected = cli_rows(&cli);
    assert!(expected.len() > 10, "{cli}");
    let ask_cli: serde_json::Value =
        serde_json::from_str(&ok(kgrec(&data).args(["sparql", "--format", "json", ask]))).unwrap();
    let mut triples: Vec<Vec<String>> = ok(kgrec(&data).args(["sparql", construct]))
        .lines()
        .map(|line| {
            let line = line.strip_suffix(" .").unwrap();
            line.splitn(3, ' ').map(str::to_owned).collect()
        })
        .collect();
    triples.sort();
    assert!(triples.len() > 10);

    let server = Server::start(&data, &[]);
    let endpoint = format!("http://{}/sparql", server.addr);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/sparql_client.py");
    let out = Command::new(&python)
        .arg(&script)
        .args([&endpoint, select, ask, construct])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for client in [
        "select_json_get",
        "select_json_post",
        "select_xml",
        "select_csv",
        "select_rdflib",
    ] {
        assert_eq!(client_rows(&seen[client]), expected, "{client}");
    }
    assert_eq!(seen["ask"], ask_cli["boolean"]);
    assert_eq!(ask_cli["boolean"], true);
    let constructed: Vec<Vec<String>> = serde_json::from_value(seen["construct"].clone()).unwrap();
    assert_eq!(constructed, triples);
    assert!(server.terminate(30).success());
}
