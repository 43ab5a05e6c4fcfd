//! `kgrec explain` and `recommend --explain` on the fixtures: the JSON of PRODUCT.md, every step
//! a triple of the store, the limits, the formats, the errors.

use crate::common::*;
use serde_json::Value;
use std::collections::HashSet;
use std::path::Path;

/// An item nobody links to the graph, rated by two new users who also rated Toy Story.
const EXTRA: &str = "user_id\titem_id\trating\n900\t9999\t5\n900\t1\t5\n901\t9999\t4\n901\t50\t4\n";

/// The fixtures (graph, interactions, links, plus [`EXTRA`]) and a trained `model`.
fn data_with(model: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    let extra = tmp.path().join("extra.tsv");
    std::fs::write(&extra, EXTRA).unwrap();
    ok(kgrec(&data).args(["import", "interactions"]).arg(&extra));
    ok(kgrec(&data).args(["train", "--model", model]));
    tmp
}

fn data(tmp: &tempfile::TempDir) -> std::path::PathBuf {
    tmp.path().join("data")
}

/// Every entity→entity triple of the store, as `<s> <p> <o>` strings, read through SPARQL.
fn store_triples(data: &Path) -> HashSet<String> {
    let tsv = ok(kgrec(data).args([
        "sparql",
        "--format",
        "tsv",
        "SELECT ?s ?p ?o WHERE { ?s ?p ?o FILTER(isIRI(?o)) }",
    ]));
    tsv.lines()
        .skip(1)
        .map(|l| l.split('\t').collect::<Vec<_>>().join(" "))
        .collect()
}

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Checks one explanation object against PRODUCT.md and the store; returns its path count.
fn check_explanation(e: &Value, user: &str, triples: &HashSet<String>, max_paths: usize) -> usize {
    assert_eq!(e["user"], user);
    let mut n_paths = 0;
    for (i, item) in e["items"].as_array().unwrap().iter().enumerate() {
        assert!(item["item"].is_string(), "{item}");
        assert_eq!(item["rank"], i + 1, "{item}");
        assert!(item["score"].is_number());
        let parts = &item["score_parts"];
        let (cf, kg) = (parts["cf"].as_f64().unwrap(), parts["kg"].as_f64().unwrap());
        assert!(
            (cf + kg - item["score"].as_f64().unwrap()).abs() < 1e-3,
            "{item}"
        );
        let paths = item["paths"].as_array().unwrap();
        assert!(paths.len() <= max_paths, "{item}");
        for p in paths {
            n_paths += 1;
            assert!(p["score"].is_number());
            assert!(p["text"].as_str().unwrap().starts_with("You liked "), "{p}");
            let steps = p["steps"].as_array().unwrap();
            assert!((2..=4).contains(&steps.len()), "at most 3 graph hops: {p}");
            let first = &steps[0];
            assert_eq!(first["from"]["user"], user);
            assert_eq!(first["relation"], "interacted");
            assert!(first.get("direction").is_none());
            assert!(first["to"]["item"].is_string() && first["to"]["label"].is_string());
            for (a, b) in steps.iter().zip(&steps[1..]) {
                assert_eq!(a["to"]["iri"], b["from"]["iri"], "{p}");
            }
            for s in &steps[1..] {
                let (from, to) = (
                    s["from"]["iri"].as_str().unwrap(),
                    s["to"]["iri"].as_str().unwrap(),
                );
                let relation = s["relation"].as_str().unwrap();
                let triple = match s["direction"].as_str().unwrap() {
                    "forward" => format!("<{from}> <{relation}> <{to}>"),
                    "inverse" => format!("<{to}> <{relation}> <{from}>"),
                    other => panic!("direction {other}"),
                };
                assert!(triples.contains(&triple), "not a triple: {triple}");
                assert!(s["to"]["label"].is_string());
            }
            assert_eq!(steps.last().unwrap()["to"]["iri"], item["iri"], "{p}");
        }
    }
    n_paths
}

#[test]
fn recommend_explain_json_is_the_contract_and_every_step_is_a_triple() {
    let tmp = data_with("cke");
    let data = data(&tmp);
    let triples = store_triples(&data);
    assert!(triples.len() > 300, "{}", triples.len());
    let mut total = 0;
    for user in ["1", "13", "900"] {
        let out = ok(kgrec(&data).args([
            "recommend",
            "--user",
            user,
            "-k",
            "10",
            "--explain",
            "--format",
            "json",
        ]));
        total += check_explanation(&json(&out), user, &triples, 3);
    }
    assert!(total > 0, "no path at all");
    // --paths 1 caps every item at one path.
    let out = ok(kgrec(&data).args([
        "recommend",
        "--user",
        "13",
        "--explain",
        "--format",
        "json",
        "--paths",
        "1",
    ]));
    let e = json(&out);
    check_explanation(&e, "13", &triples, 1);
    assert!(
        e["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["paths"].as_array().unwrap().len() == 1)
    );
    // Text: the sentences.
    let out = ok(kgrec(&data).args(["recommend", "--user", "13", "--explain"]));
    assert!(out.contains("You liked "), "{out}");
    assert!(out.contains("= cf "), "{out}");
}

#[test]
fn explain_one_item_as_json_dot_and_svg() {
    let tmp = data_with("cke");
    let data = data(&tmp);
    let triples = store_triples(&data);
    let out = ok(kgrec(&data).args(["recommend", "--user", "13", "-k", "1", "--format", "json"]));
    let top = json(&out)["items"][0]["item"].as_str().unwrap().to_owned();
    let out = ok(kgrec(&data).args([
        "explain", "--user", "13", "--item", &top, "--format", "json",
    ]));
    let e = json(&out);
    assert_eq!(e["items"].as_array().unwrap().len(), 1);
    assert_eq!(e["items"][0]["item"], top.as_str());
    assert!(check_explanation(&e, "13", &triples, 3) > 0, "{e}");
    let out = ok(kgrec(&data).args(["explain", "--user", "13", "--item", &top]));
    assert!(out.contains("You liked "), "{out}");

    let dot = ok(kgrec(&data).args(["explain", "--user", "13", "--item", &top, "--format", "dot"]));
    assert!(dot.starts_with("digraph explanation {"), "{dot}");
    assert!(dot.contains("\"user:13\" -> "), "{dot}");
    assert!(dot.contains("[label=\"interacted\"]"), "{dot}");
    assert!(dot.trim_end().ends_with('}'));

    // No Graphviz on this PATH: a hint, exit 1 (a missing program, not bad input).
    let empty = tempfile::tempdir().unwrap();
    let out = run(kgrec(&data)
        .args(["explain", "--user", "13", "--item", &top, "--format", "svg"])
        .env("PATH", empty.path()));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("Graphviz") && stderr(&out).contains("--format dot"));
}

#[test]
fn items_without_a_path_keep_their_score_parts() {
    let tmp = data_with("cke");
    let data = data(&tmp);
    // 9999 is linked to nothing.
    let out = ok(kgrec(&data).args([
        "explain", "--user", "13", "--item", "9999", "--format", "json",
    ]));
    let item = &json(&out)["items"][0];
    assert_eq!(item["paths"], serde_json::json!([]), "{item}");
    assert!(item["score_parts"]["cf"].is_number() && item["score_parts"]["kg"].is_number());
    assert!(item.get("iri").is_none());
    let out = ok(kgrec(&data).args(["explain", "--user", "13", "--item", "9999"]));
    assert!(out.contains("no path"), "{out}");
}

#[test]
fn unknown_users_items_and_bad_limits_are_bad_input() {
    let tmp = data_with("pop");
    let data = data(&tmp);
    let out = run(kgrec(&data).args(["explain", "--user", "nobody", "--item", "1"]));
    expect_bad_input(&out, &data, &["unknown user", "nobody"]);
    let out = run(kgrec(&data).args(["explain", "--user", "1", "--item", "nothing"]));
    expect_bad_input(&out, &data, &["unknown item", "nothing"]);
    let out = run(kgrec(&data).args(["explain", "--user", "1", "--item", "318", "--hops", "4"]));
    expect_bad_input(&out, &data, &["4 hops"]);
    let out = run(kgrec(&data).args(["recommend", "--user", "1", "--explain", "--hops", "0"]));
    expect_bad_input(&out, &data, &["0 hops"]);
}

#[test]
fn every_learner_explains_and_all_users_go_to_json_lines() {
    for model in ["als", "bpr", "pop"] {
        let tmp = data_with(model);
        let data = data(&tmp);
        let triples = store_triples(&data);
        let out = tmp.path().join("explained.jsonl");
        let summary = ok(kgrec(&data)
            .args(["recommend", "--all-users", "-k", "5", "--explain", "--out"])
            .arg(&out));
        assert!(summary.contains("42 users"), "{model}: {summary}");
        let text = std::fs::read_to_string(&out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 42, "{model}");
        let mut paths = 0;
        for line in lines {
            let e = json(line);
            let user = e["user"].as_str().unwrap().to_owned();
            paths += check_explanation(&e, &user, &triples, 3);
            for item in e["items"].as_array().unwrap() {
                assert_eq!(item["score_parts"]["kg"], 0.0, "{model}: no graph part");
            }
        }
        assert!(paths > 0, "{model}: no path");
    }
}

/// A RecBole-style `.link` names entities by bare tokens (`m.0f3`); a TSV graph import mints
/// `urn:kgrec:m.0f3` for them. Imported before the graph, the links are stored unresolved, and
/// training finds their entities (`GraphIndex::resolve_entity`), so the explanations must too:
/// items with a graph score get paths, and every path holds to the contract.
#[test]
fn bare_token_links_imported_before_their_tsv_graph_get_paths() {
    use std::fmt::Write as _;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // Twelve films, three directors (four films each), two genres (six each).
    let mut graph = String::new();
    let mut link = String::from("item_id:token\tentity_id:token\n");
    for f in 0..12 {
        writeln!(graph, "m.0f{f}\tfilm.film.directed_by\tm.0d{}", f % 3).unwrap();
        writeln!(graph, "m.0f{f}\tfilm.film.genre\tm.0g{}", f % 2).unwrap();
        writeln!(link, "{}\tm.0f{f}", 100 + f).unwrap();
    }
    // Ten users with four films each, every one sharing a director with films they lack.
    let mut inter = String::from("user_id\titem_id\trating\n");
    for u in 0..10 {
        for k in [0, 1, 5, 7] {
            writeln!(inter, "u{u}\t{}\t5", 100 + (u + k) % 12).unwrap();
        }
    }
    let (graph_file, link_file, inter_file) = (
        tmp.path().join("films.tsv"),
        tmp.path().join("films.link"),
        tmp.path().join("ratings.tsv"),
    );
    std::fs::write(&graph_file, graph).unwrap();
    std::fs::write(&link_file, link).unwrap();
    std::fs::write(&inter_file, inter).unwrap();

    // Interactions and links first, into a fresh data directory: no entity is known yet.
    let out = run(kgrec(&data)
        .args(["import", "interactions"])
        .arg(&inter_file)
        .arg("--link")
        .arg(&link_file));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("12 linked IRI(s) are not in the knowledge graph"),
        "{}",
        stderr(&out)
    );
    ok(kgrec(&data).args(["import", "kg"]).arg(&graph_file));
    ok(kgrec(&data).arg("train"));

    let triples = store_triples(&data);
    assert_eq!(triples.len(), 24);
    let (mut graph_scored, mut explained) = (0, 0);
    let mut first_step = None;
    for u in 0..4 {
        let user = format!("u{u}");
        let out = ok(kgrec(&data).args([
            "recommend",
            "--user",
            &user,
            "-k",
            "5",
            "--explain",
            "--format",
            "json",
        ]));
        let e = json(&out);
        check_explanation(&e, &user, &triples, 3);
        for item in e["items"].as_array().unwrap() {
            graph_scored += usize::from(item["score_parts"]["kg"].as_f64().unwrap() != 0.0);
            let paths = item["paths"].as_array().unwrap();
            if paths.is_empty() {
                continue;
            }
            explained += 1;
            let iri = item["iri"].as_str().unwrap();
            assert!(iri.starts_with("urn:kgrec:m.0f"), "{item}");
            first_step.get_or_insert_with(|| paths[0]["steps"][1].clone());
        }
    }
    assert!(
        graph_scored > 0,
        "no item has a graph score: the setup is wrong"
    );
    assert!(
        explained > 0,
        "{graph_scored} recommended items have a graph score (score_parts.kg) but none has a \
         path: the explainer does not resolve bare-token links as training does"
    );
    // One step read back on its own through `kgrec sparql`.
    let step = first_step.unwrap();
    let (from, relation, to) = (
        step["from"]["iri"].as_str().unwrap(),
        step["relation"].as_str().unwrap(),
        step["to"]["iri"].as_str().unwrap(),
    );
    let ask = match step["direction"].as_str().unwrap() {
        "forward" => format!("ASK {{ <{from}> <{relation}> <{to}> }}"),
        _ => format!("ASK {{ <{to}> <{relation}> <{from}> }}"),
    };
    assert_eq!(
        ok(kgrec(&data).args(["sparql", &ask])).trim(),
        "true",
        "{ask}"
    );
}

/// `scripts/check_paths.py` reads the files as kgrec reads them: a CSV training file with its
/// own column names (it wanted `user_id` and stopped with a KeyError), link IRIs written
/// `<http://...>` (it reported every first step as "not linked to its IRI").
#[test]
fn check_paths_reads_csv_interactions_and_bracketed_links() {
    if std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no python3 to run scripts/check_paths.py");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    let tsv = std::fs::read_to_string(fixture("interactions.tsv")).unwrap();
    let mut csv = String::from("customer,product,stars,when\n");
    for line in tsv.lines().skip(1) {
        csv.push_str(&line.replace('\t', ","));
        csv.push('\n');
    }
    let links_tsv = std::fs::read_to_string(fixture("links.tsv")).unwrap();
    let mut links = String::from("item_id\tiri\n");
    for line in links_tsv.lines().skip(1) {
        let (item, iri) = line.split_once('\t').unwrap();
        links.push_str(&format!("{item}\t<{iri}>\n"));
    }
    let (train, link) = (tmp.path().join("sales.csv"), tmp.path().join("links.tsv"));
    std::fs::write(&train, csv).unwrap();
    std::fs::write(&link, links).unwrap();
    ok(kgrec(&data)
        .args(["import", "interactions", "--time-col", "when", "-q"])
        .arg(&train)
        .arg("--link")
        .arg(&link));
    ok(kgrec(&data).args(["train", "--model", "als", "-q"]));
    let explained = tmp.path().join("explained.jsonl");
    ok(kgrec(&data)
        .args([
            "recommend",
            "--all-users",
            "-k",
            "5",
            "--explain",
            "-q",
            "--out",
        ])
        .arg(&explained));
    let nt = tmp.path().join("kg.nt");
    let graph = ok(kgrec(&data).args(["sparql", "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"]));
    std::fs::write(&nt, graph).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check_paths.py");
    let out = run(std::process::Command::new("python3")
        .arg(script)
        .arg("--explanations")
        .arg(&explained)
        .arg("--kg")
        .arg(&nt)
        .arg("--train")
        .arg(&train)
        .arg("--link")
        .arg(&link));
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let report = stdout(&out);
    assert!(report.contains("invalid steps 0"), "{report}");
    let paths: u64 = report
        .split("paths ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap();
    assert!(paths > 0, "{report}");
}
