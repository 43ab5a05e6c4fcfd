//! The fifteenth look's graph findings (issue #21, look13 item 20, look14 item 5): relations
//! labelled in the graph read by their labels in explanations; paths through a class of nearly
//! every item rank below specific ones; `stats` says what its statement count means when named
//! graphs hold a triple more than once, and SPARQL's union still counts per graph.

use crate::common::*;
use std::fmt::Write as _;
use std::path::Path;

pub(crate) const WD: &str = "http://www.wikidata.org/entity/";
pub(crate) const WDT: &str = "http://www.wikidata.org/prop/direct/";
pub(crate) const LABEL: &str = "http://www.w3.org/2000/01/rdf-schema#label";

/// A Wikidata-shaped graph: ten films, every one an instance (P31) of "film"; Heat (F0) and
/// Collateral (F1) directed (P57) by Michael Mann, who also has twenty awards (P166), so that
/// he has more edges than the class has; Heat and Thief (F2) share a cast member (P161).
/// Properties carry no label here.
fn graph() -> String {
    let names = [
        "Heat",
        "Collateral",
        "Thief",
        "Ran",
        "Amelie",
        "Alien",
        "Brazil",
        "Fargo",
        "Jaws",
        "Rocky",
    ];
    let mut g = String::new();
    for (i, name) in names.iter().enumerate() {
        writeln!(g, "<{WD}F{i}> <{WDT}P31> <{WD}Q11424> .").unwrap();
        writeln!(g, "<{WD}F{i}> <{LABEL}> \"{name}\"@en .").unwrap();
    }
    writeln!(g, "<{WD}Q11424> <{LABEL}> \"film\"@en .").unwrap();
    for f in ["F0", "F1"] {
        writeln!(g, "<{WD}{f}> <{WDT}P57> <{WD}Q1> .").unwrap();
    }
    writeln!(g, "<{WD}Q1> <{LABEL}> \"Michael Mann\"@en .").unwrap();
    for a in 0..20 {
        writeln!(g, "<{WD}Q1> <{WDT}P166> <{WD}A{a}> .").unwrap();
        writeln!(g, "<{WD}A{a}> <{LABEL}> \"Award {a}\"@en .").unwrap();
    }
    for f in ["F0", "F2"] {
        writeln!(g, "<{WD}{f}> <{WDT}P161> <{WD}Q2> .").unwrap();
    }
    writeln!(g, "<{WD}Q2> <{LABEL}> \"Al Pacino\"@en .").unwrap();
    g
}

/// Imports the graph, links film i to item i, twenty users (u0 has Heat and Jaws, not
/// Collateral, Thief or Ran), trains ALS.
pub(crate) fn data_dir(dir: &Path) -> std::path::PathBuf {
    let nt = dir.join("films.nt");
    std::fs::write(&nt, graph()).unwrap();
    let mut links = String::from("item_id\tiri\n");
    for i in 0..10 {
        writeln!(links, "{i}\t{WD}F{i}").unwrap();
    }
    let links_path = dir.join("links.tsv");
    std::fs::write(&links_path, links).unwrap();
    let mut rows = String::from("user_id\titem_id\n");
    writeln!(rows, "u0\t0\nu0\t8").unwrap();
    for u in 1..20 {
        for i in 0..10 {
            if (u + 3 * i) % 4 != 0 {
                writeln!(rows, "u{u}\t{i}").unwrap();
            }
        }
    }
    let rows_path = dir.join("rows.tsv");
    std::fs::write(&rows_path, rows).unwrap();
    let data = dir.join("data");
    ok(kgrec(&data).args(["import", "kg"]).arg(&nt));
    ok(kgrec(&data)
        .args(["import", "interactions"])
        .arg(&rows_path)
        .arg("--link")
        .arg(&links_path));
    ok(kgrec(&data).args(["train", "--model", "als"]));
    data
}

fn explain_json(data: &Path, item: &str) -> serde_json::Value {
    let json = ok(kgrec(data).args([
        "explain", "--user", "u0", "--item", item, "--format", "json",
    ]));
    serde_json::from_str(&json).unwrap()
}

/// Part 1 (look13 20a): without property labels the text reads the IRI's code and the note
/// names the relation; once the graph labels P57 "director" (in a later import, as a directory
/// imported before relation labels were read would have it), the sentence reads "directed by",
/// the JSON keeps the IRI in `relation` and adds `relation_label`; the unlabelled P161 is still
/// named in the note.
#[test]
fn relations_labelled_in_the_graph_read_by_their_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_dir(tmp.path());
    let before = ok(kgrec(&data).args(["explain", "--user", "u0", "--item", "1"]));
    assert!(before.contains("whose p57 is Michael Mann"), "{before}");
    assert!(before.contains("relations P57"), "{before}");

    let labels = tmp.path().join("labels.ttl");
    std::fs::write(
        &labels,
        format!(
            "<{WDT}P57> <{LABEL}> \"Regisseur\"@de , \"director\"@en .\n\
             <{WDT}P31> <{LABEL}> \"instance of\"@en .\n"
        ),
    )
    .unwrap();
    ok(kgrec(&data).args(["import", "kg"]).arg(&labels));
    let text = ok(kgrec(&data).args(["explain", "--user", "u0", "--item", "1"]));
    assert!(
        text.contains("You liked Heat, directed by Michael Mann, who also directed Collateral"),
        "{text}"
    );
    assert!(!text.contains("p57"), "{text}");
    let j = explain_json(&data, "1");
    let steps = &j["items"][0]["paths"][0]["steps"];
    assert_eq!(steps[1]["relation"], format!("{WDT}P57"), "{j}");
    assert_eq!(steps[1]["relation_label"], "director", "{j}");
    assert!(steps[0].get("relation_label").is_none(), "{j}");

    // Thief is reached through the cast member, whose property has no label.
    let thief = ok(kgrec(&data).args(["explain", "--user", "u0", "--item", "2"]));
    assert!(thief.contains("whose p161 is Al Pacino"), "{thief}");
    assert!(
        thief.contains("relations P161: no label in the graph"),
        "{thief}"
    );
    assert!(!thief.contains("P57"), "{thief}");
}

/// Part 2 (look13 20b): the class every film is an instance of has fewer edges than Michael
/// Mann, so the hop scores alone would rank "an instance of film, as is Collateral" first;
/// weighted by how many items the middle entity joins, the director path comes first, and the
/// class path is the one path of Ran, which shares nothing more specific with Heat or Jaws.
/// Every step shown is a triple of the graph.
#[test]
fn a_class_of_every_item_ranks_below_a_specific_path() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_dir(tmp.path());
    let j = explain_json(&data, "1");
    let paths = j["items"][0]["paths"].as_array().unwrap().clone();
    let relations = |p: &serde_json::Value| -> Vec<String> {
        p["steps"].as_array().unwrap()[1..]
            .iter()
            .map(|s| s["relation"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        relations(&paths[0]),
        [format!("{WDT}P57"), format!("{WDT}P57")],
        "{j}"
    );
    for p in &paths[1..] {
        assert!(relations(p).contains(&format!("{WDT}P31")), "{j}");
        assert!(p["score"].as_f64().unwrap() < paths[0]["score"].as_f64().unwrap());
    }
    let graph = graph();
    let ran = explain_json(&data, "3");
    let ran_paths = ran["items"][0]["paths"].as_array().unwrap();
    assert!(!ran_paths.is_empty(), "{ran}");
    for p in ran_paths {
        assert_eq!(
            relations(p),
            [format!("{WDT}P31"), format!("{WDT}P31")],
            "{ran}"
        );
        for s in &p["steps"].as_array().unwrap()[1..] {
            let (from, to) = (
                s["from"]["iri"].as_str().unwrap(),
                s["to"]["iri"].as_str().unwrap(),
            );
            let (h, t) = match s["direction"].as_str().unwrap() {
                "forward" => (from, to),
                _ => (to, from),
            };
            let triple = format!("<{h}> <{}> <{t}> .", s["relation"].as_str().unwrap());
            assert!(graph.contains(&triple), "{triple} is not in the graph");
        }
    }
}

/// Part 3 (look14 5): one triple in `<g1>`, `<g2>` and the default graph is three statements
/// (three rows over the union, as oxigraph's union default graph answers), one entity edge;
/// `stats` says two of the statements are in named graphs and what that means, in text and
/// JSON; `SELECT DISTINCT` counts the triple once.
#[test]
fn stats_say_what_a_triple_in_several_graphs_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let nq = tmp.path().join("dupg.nq");
    std::fs::write(
        &nq,
        "<http://p.e/a> <http://p.e/cites> <http://p.e/b> <http://p.e/g1> .\n\
         <http://p.e/a> <http://p.e/cites> <http://p.e/b> <http://p.e/g2> .\n\
         <http://p.e/a> <http://p.e/cites> <http://p.e/b> .\n",
    )
    .unwrap();
    let data = tmp.path().join("data");
    ok(kgrec(&data).args(["import", "kg"]).arg(&nq));
    let text = ok(kgrec(&data).args(["stats"]));
    assert!(
        text.contains(
            "3 (2 in named graphs: a triple that several graphs hold counts once per graph"
        ),
        "{text}"
    );
    assert!(text.contains("SELECT DISTINCT counts it once"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(kgrec(&data).args(["stats", "--format", "json"]))).unwrap();
    assert_eq!(json["triples"], 3, "{json}");
    assert_eq!(json["named_graph_statements"], 2, "{json}");
    assert_eq!(json["edges"], 1, "{json}");
    let count = |query: &str| -> String {
        let out = ok(kgrec(&data).args(["sparql", "--format", "json", query]));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["results"]["bindings"][0]["n"]["value"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(count("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"), "3");
    assert_eq!(
        count("SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"),
        "1"
    );
    // A graph without named graphs says nothing more.
    let plain = tmp.path().join("plain");
    let nt = tmp.path().join("one.nt");
    std::fs::write(&nt, "<http://p.e/a> <http://p.e/cites> <http://p.e/b> .\n").unwrap();
    ok(kgrec(&plain).args(["import", "kg"]).arg(&nt));
    let text = ok(kgrec(&plain).args(["stats"]));
    assert!(!text.contains("named graphs"), "{text}");
}
