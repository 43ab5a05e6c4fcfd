//! `itemknn` and `userknn` through the binary on the fixtures: training, lists, explanations
//! with graph paths, a user added after training, batch lists, the service, `similar` for
//! itemknn, ease and kg-ease (and userknn's clear refusal), and the flags each refuses.

use crate::cf::imported;
use crate::common::*;
use crate::ease::{ids, json};
use std::path::Path;

fn recommend(data: &Path, user: &str, k: &str, extra: &[&str]) -> serde_json::Value {
    json(&ok(kgrec(data)
        .args(["recommend", "--user", user, "-k", k, "--format", "json"])
        .args(extra)))
}

fn similar(data: &Path, item: &str, k: &str) -> serde_json::Value {
    json(&ok(kgrec(data).args([
        "similar", "--item", item, "-k", k, "--format", "json",
    ])))
}

#[test]
fn itemknn_trains_recommends_explains_and_serves() {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported(tmp.path());
    let out = ok(kgrec(&data).args(["train", "--model", "itemknn"]));
    assert!(out.contains("trained itemknn"), "{out}");
    // The fixture is dense: user 109 has 22 of its 24 items.
    let first = recommend(&data, "109", "5", &[]);
    assert!(first.get("fallback").is_none(), "{first}");
    assert_eq!(ids(&first).len(), 2);
    // Scores fall down the list, and the same flags give the same list.
    let scores: Vec<f64> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["score"].as_f64().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]) && scores[0] > 0.0,
        "{scores:?}"
    );
    ok(kgrec(&data).args(["train", "--model", "itemknn"]));
    assert_eq!(ids(&recommend(&data, "109", "5", &[])), ids(&first));

    // Explanations: the whole score is collaborative, and the graph gives paths from the
    // user's history.
    let explained = recommend(&data, "109", "5", &["--explain"]);
    let items = explained["items"].as_array().unwrap();
    assert_eq!(ids(&explained), ids(&first));
    for item in items {
        assert_eq!(item["score_parts"]["kg"].as_f64(), Some(0.0), "{item}");
    }
    assert!(
        items
            .iter()
            .any(|i| !i["paths"].as_array().unwrap().is_empty()),
        "no item explained by a path: {explained}"
    );

    // Similar items are the item's neighbours, strongest first, the item itself left out.
    let like = similar(&data, "1", "4");
    let like = like["similar"].as_array().unwrap();
    assert_eq!(like.len(), 4);
    assert!(like.iter().all(|s| s["item"] != "1"));
    let s: Vec<f64> = like.iter().map(|s| s["score"].as_f64().unwrap()).collect();
    assert!(s.windows(2).all(|w| w[0] >= w[1]) && s[3] > 0.0, "{s:?}");

    // A user who arrives after training is scored from their items.
    let extra = tmp.path().join("new.tsv");
    std::fs::write(&extra, "user_id\titem_id\nnewcomer\t1\nnewcomer\t50\n").unwrap();
    ok(kgrec(&data).args(["import", "interactions"]).arg(&extra));
    let newcomer = recommend(&data, "newcomer", "5", &[]);
    assert!(newcomer.get("fallback").is_none(), "{newcomer}");
    let got = ids(&newcomer);
    assert!(got.len() == 5 && !got.contains(&"1".to_owned()) && !got.contains(&"50".to_owned()));

    // Batch lists agree with one user's list.
    let batch = tmp.path().join("all.tsv");
    ok(kgrec(&data)
        .args(["recommend", "--all-users", "-k", "5", "--out"])
        .arg(&batch));
    let text = std::fs::read_to_string(&batch).unwrap();
    let of_109: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("109\t"))
        .map(|l| l.split('\t').nth(1).unwrap())
        .collect();
    assert_eq!(of_109, ids(&first));

    // The service answers as the command line.
    let server = Server::start(&data, &[]);
    let list = server.get("/v1/users/109/recommendations?k=5");
    assert_eq!(list.status, 200, "{}", list.text());
    let served: Vec<String> = list.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(served, ids(&first));
    let like = server.get("/v1/items/1/similar?k=3");
    assert_eq!(like.status, 200, "{}", like.text());
}

#[test]
fn similar_answers_for_itemknn_ease_and_kg_ease_and_userknn_says_why_not() {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported(tmp.path());
    for model in ["itemknn", "ease", "kg-ease", "als"] {
        ok(kgrec(&data).args(["train", "--model", model]));
        let found = similar(&data, "50", "3");
        let list = found["similar"].as_array().unwrap();
        assert_eq!(list.len(), 3, "{model}: {found}");
        assert!(list.iter().all(|s| s["item"] != "50"), "{model}: {found}");
    }
    let out = ok(kgrec(&data).args(["train", "--model", "userknn"]));
    assert!(out.contains("trained userknn"), "{out}");
    let list = recommend(&data, "109", "5", &["--explain"]);
    assert!(list.get("fallback").is_none(), "{list}");
    assert_eq!(ids(&list).len(), 2);
    let out = run(kgrec(&data).args(["similar", "--item", "50"]));
    expect_bad_input(
        &out,
        Path::new("similar"),
        &["userknn relates users to users"],
    );
    // The message names every learner that answers (tfidf and ncf among them), and not pop.
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    let named = said
        .rsplit("similar items need ")
        .next()
        .unwrap_or_default();
    for model in [
        "itemknn", "ease", "kg-ease", "als", "bpr", "cke", "svd", "tfidf", "ncf",
    ] {
        assert!(named.contains(model), "{model} not named: {said}");
    }
    assert!(
        !named.contains("pop") && !named.contains("userknn"),
        "{said}"
    );
    // A user added since training is placed among the trained users.
    let extra = tmp.path().join("new.tsv");
    std::fs::write(&extra, "user_id\titem_id\nnewcomer\t1\nnewcomer\t50\n").unwrap();
    ok(kgrec(&data).args(["import", "interactions"]).arg(&extra));
    let newcomer = recommend(&data, "newcomer", "5", &[]);
    assert!(newcomer.get("fallback").is_none(), "{newcomer}");
    assert_eq!(newcomer["folded_in"], true, "{newcomer}");
}

#[test]
fn knn_flags_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported(tmp.path());
    let cases: [(&[&str], &str); 5] = [
        (
            &["--model", "itemknn", "--similarity", "pearson"],
            "--similarity pearson",
        ),
        (
            &["--model", "itemknn", "--neighbours", "0"],
            "--neighbours 0",
        ),
        (&["--model", "userknn", "--shrink=-1"], "shrink"),
        (
            &["--model", "itemknn", "--dim", "8"],
            "--dim does not apply",
        ),
        (
            &["--model", "ease", "--shrink", "3"],
            "--shrink does not apply",
        ),
    ];
    for (args, needle) in cases {
        let out = run(kgrec(&data).arg("train").args(args));
        expect_bad_input(&out, Path::new("train"), &[needle]);
    }
    assert_eq!(crate::cf::models(&data).len(), 0, "nothing was trained");
    for kernel in ["cosine", "jaccard", "bm25"] {
        let out = ok(kgrec(&data).args([
            "train",
            "--model",
            "itemknn",
            "--similarity",
            kernel,
            "--neighbours",
            "5",
            "--shrink",
            "0",
        ]));
        assert!(out.contains("trained itemknn"), "{out}");
        assert_eq!(ids(&recommend(&data, "109", "3", &[])).len(), 2, "{kernel}");
    }
}
