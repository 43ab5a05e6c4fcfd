//! `ncf` (neural scoring) through the binary on the fixtures: training each head, lists with
//! explanations whose score parts add up (the graph part nonzero only for heads that read the
//! graph), the same list for the same seed, `eval` with the graph, and the refusals.

use crate::cf::imported;
use crate::common::*;
use crate::ease::{ids, json};
use std::path::Path;

fn recommend(data: &Path, user: &str, k: &str, extra: &[&str]) -> serde_json::Value {
    json(&ok(kgrec(data)
        .args(["recommend", "--user", user, "-k", k, "--format", "json"])
        .args(extra)))
}

fn train(data: &Path, head: &str, seed: &str) -> String {
    ok(kgrec(data).args([
        "train", "--model", "ncf", "--head", head, "--dim", "8", "--epochs", "15", "--seed", seed,
    ]))
}

#[test]
fn ncf_heads_train_recommend_and_explain() {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported(tmp.path());
    for head in ["dot", "gmf", "mlp", "neumf"] {
        let out = train(&data, head, "3");
        assert!(out.contains("trained ncf"), "{head}: {out}");
        let list = recommend(&data, "1", "2", &["--explain"]);
        assert!(list.get("fallback").is_none(), "{head}: {list}");
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 2, "{head}: {list}");
        let mut graph_part = 0.0f64;
        for item in items {
            let score = item["score"].as_f64().unwrap();
            let (cf, kg) = (
                item["score_parts"]["cf"].as_f64().unwrap(),
                item["score_parts"]["kg"].as_f64().unwrap(),
            );
            assert!((cf + kg - score).abs() < 1e-3, "{head}: {item}");
            graph_part += kg.abs();
        }
        // Only the heads with an MLP part read the item's graph vector.
        let reads_graph = matches!(head, "mlp" | "neumf");
        assert_eq!(graph_part > 0.0, reads_graph, "{head}: {list}");
        // The same seed gives the same list; the lists say nothing of the user's own items.
        train(&data, head, "3");
        assert_eq!(ids(&recommend(&data, "1", "2", &[])), ids(&list), "{head}");
    }
    // Similar items: the dot head's factors, the other heads' [q_i; e_i].
    for head in ["dot", "mlp"] {
        train(&data, head, "3");
        let like =
            json(&ok(kgrec(&data).args([
                "similar", "--item", "50", "-k", "3", "--format", "json",
            ])));
        let like = like["similar"].as_array().unwrap();
        assert_eq!(like.len(), 3, "{head}: {like:?}");
        assert!(like.iter().all(|s| s["item"] != "50"), "{head}: {like:?}");
    }
    // Paths come from the graph whatever the head: some recommended item of some user has one.
    let explained = ok(kgrec(&data).args([
        "recommend",
        "--user",
        "109",
        "-k",
        "2",
        "--explain",
        "--format",
        "json",
    ]));
    let explained = json(&explained);
    assert!(
        explained["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| !i["paths"].as_array().unwrap().is_empty()),
        "{explained}"
    );
}

#[test]
fn ncf_evaluates_with_the_graph_and_refuses_what_does_not_apply() {
    let tmp = tempfile::tempdir().unwrap();
    let rows = std::fs::read_to_string(fixture("interactions.tsv")).unwrap();
    let mut lines = rows.lines();
    let header = lines.next().unwrap();
    let (mut train, mut test) = (vec![header], vec![header]);
    for (n, line) in lines.enumerate() {
        match n % 5 {
            0 => test.push(line),
            _ => train.push(line),
        }
    }
    let (a, b) = (tmp.path().join("train.tsv"), tmp.path().join("test.tsv"));
    std::fs::write(&a, train.join("\n") + "\n").unwrap();
    std::fs::write(&b, test.join("\n") + "\n").unwrap();
    let out = json(&ok(kgrec(&tmp.path().join("unused"))
        .args([
            "eval", "--format", "json", "--model", "ncf", "--head", "neumf",
        ])
        .args(["--dim", "8", "--epochs", "10", "-k", "5", "--train"])
        .arg(&a)
        .arg("--test")
        .arg(&b)
        .arg("--kg")
        .arg(fixture("movies.ttl"))
        .arg("--link")
        .arg(fixture("links.tsv"))));
    assert_eq!(out["model"], "ncf", "{out}");
    assert_eq!(out["train_leaks"], 0);
    for m in ["precision", "recall", "ndcg"] {
        let v = out[format!("{m}@5")].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{m}@5 = {v}");
    }
    assert!(out["hit@5"].as_f64().unwrap() > 0.0, "{out}");

    let data = imported(tmp.path());
    let refused = run(kgrec(&data).args(["train", "--model", "als", "--head", "mlp"]));
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("--head does not apply to --model als"),
        "{}",
        stderr(&refused)
    );
    let refused = run(kgrec(&data).args(["train", "--model", "ncf", "--head", "deep"]));
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
}
