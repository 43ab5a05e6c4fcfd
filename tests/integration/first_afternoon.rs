//! The ninth fresh look's findings (issue 21): collapse notes that say what the scores mean,
//! and the messages of imports, exports, training and the HTTP service.

use std::path::{Path, PathBuf};

use crate::common::{Server, expect_bad_input, import_movie_graph, kgrec, ok, run, stats, stderr};

/// The 5 × 8 catalogue of `messages::collapsed_scores_on_a_tiny_catalogue_are_reported`,
/// imported into `tmp/data`.
fn tiny_catalogue(tmp: &Path) -> PathBuf {
    let data = tmp.join("data");
    let file = tmp.join("tiny.tsv");
    let mut rows = String::from("user_id\titem_id\n");
    for u in 0..5 {
        for i in 0..8 {
            if (u * 3 + i * 5) % 7 < 4 {
                rows.push_str(&format!("u{u}\ti{i}\n"));
            }
        }
    }
    std::fs::write(&file, rows).unwrap();
    ok(kgrec(&data).args(["import", "interactions"]).arg(&file));
    data
}

/// A `cke` whose item vectors all point one way prints distinct scores that rank every user's
/// items alike: training, a one-item list (`-k 1`), similar items, a batch and the HTTP
/// explanation say so; a model that did not collapse says nothing of the kind.
#[test]
fn scores_in_one_order_for_every_user_are_called_a_collapse() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_catalogue(tmp.path());
    let out = run(kgrec(&data).args(["train", "--model", "cke", "--reg", "7"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("collapsed to one direction") && stderr(&out).contains("--reg"),
        "{}",
        stderr(&out)
    );
    // The scores differ: the old check (every score near zero) saw nothing.
    let list = ok(kgrec(&data).args(["recommend", "--user", "u0", "--format", "json"]));
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let scores: Vec<f64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["score"].as_f64().unwrap())
        .collect();
    assert!(scores.iter().all(|s| s.abs() > 1e-3), "{scores:?}");
    assert!(
        list["note"].as_str().unwrap().contains("collapsed"),
        "{list}"
    );
    for args in [
        &["recommend", "--user", "u0", "-k", "1"][..],
        &["similar", "--item", "i0", "-k", "3"][..],
        &["explain", "--user", "u0", "--item", "i1"][..],
        &["recommend", "--all-users", "--out", "-", "-k", "1"][..],
    ] {
        let out = run(kgrec(&data).args(args));
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("collapsed to one direction"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // The HTTP explanation of one item carries the note in its JSON.
    let server = Server::start(&data, &[]);
    let answer = server.get("/v1/users/u0/explanations/i1");
    assert_eq!(answer.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert!(
        body["note"].as_str().unwrap_or("").contains("collapsed"),
        "{body}"
    );
    drop(server);

    ok(kgrec(&data).args(["train", "--model", "als", "--reg", "0.5"]));
    for args in [
        &["train", "--model", "als", "--reg", "0.5"][..],
        &["recommend", "--user", "u0", "-k", "1"][..],
        &[
            "explain", "--user", "u0", "--item", "i1", "--format", "json",
        ][..],
    ] {
        let out = run(kgrec(&data).args(args));
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(
            !stderr(&out).contains("collapsed"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(
            !crate::common::stdout(&out).contains("\"note\""),
            "{args:?}"
        );
    }
    let server = Server::start(&data, &[]);
    let answer = server.get("/v1/users/u0/explanations/i1");
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert!(body.get("note").is_none(), "{body}");
}

/// The collapse note of `-k 1`: one item is enough to say the model collapsed (the check looks
/// at the model, not at the list).
#[test]
fn a_one_item_list_of_a_collapsed_model_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_catalogue(tmp.path());
    // The default (30) would be refitted smaller: given, it is fitted as given.
    ok(kgrec(&data).args(["train", "--model", "als", "--reg", "30"]));
    let out = run(kgrec(&data).args(["recommend", "--user", "u0", "-k", "1"]));
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("collapsed") && stderr(&out).contains("within 1e-3 of zero"),
        "{}",
        stderr(&out)
    );
}

/// `itemknn --similarity cosine` where each user has one item left that shares nothing with
/// theirs: every batch score is 0, but the model did not collapse (their own items score),
/// so no collapse warning, and one user's list says why it is flat.
#[test]
fn knn_lists_of_one_unrelated_item_are_not_called_a_collapse() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = tmp.path().join("knn.tsv");
    let mut rows = String::from("user_id\titem_id\n");
    for u in 0..3 {
        for i in ["a", "b", "c"] {
            rows.push_str(&format!("u{u}\t{i}\n"));
        }
    }
    rows.push_str("u3\tz\n");
    std::fs::write(&file, rows).unwrap();
    ok(kgrec(&data).args(["import", "interactions"]).arg(&file));
    let out = run(kgrec(&data).args(["train", "--model", "itemknn", "--similarity", "cosine"]));
    assert!(out.status.success());
    assert!(!stderr(&out).contains("collapsed"), "{}", stderr(&out));
    let out = run(kgrec(&data).args(["recommend", "--all-users", "--out", "-", "-k", "2"]));
    assert!(out.status.success());
    assert!(!stderr(&out).contains("collapsed"), "{}", stderr(&out));
    let out = run(kgrec(&data).args(["recommend", "--user", "u0", "-k", "1"]));
    assert!(!stderr(&out).contains("collapsed"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the items left for u0 share nothing"),
        "{}",
        stderr(&out)
    );
}

/// `train --keep N` names the versions it pruned.
#[test]
fn train_keep_names_the_pruned_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_catalogue(tmp.path());
    let out = run(kgrec(&data).args(["train", "--model", "pop"]));
    assert!(!stderr(&out).contains("pruned"), "{}", stderr(&out));
    ok(kgrec(&data).args(["train", "--model", "pop"]));
    let out = run(kgrec(&data).args(["train", "--model", "pop", "--keep", "1"]));
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("pruned v1 v2 (--keep 1"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stats(&data)["model_versions"].as_array().unwrap().len(), 1);
}

/// Ctrl-C during a training's fit: nothing was written, and the message says so (not "all or
/// none").
#[test]
fn an_interrupt_before_any_write_says_nothing_was_written() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = tmp.path().join("many.tsv");
    let mut rows = String::from("user_id\titem_id\n");
    for u in 0..3000 {
        for k in 0..30 {
            rows.push_str(&format!("u{u}\ti{}\n", (u * 7 + k * 13) % 2000));
        }
    }
    std::fs::write(&file, rows).unwrap();
    ok(kgrec(&data)
        .args(["import", "interactions", "-q"])
        .arg(&file));
    let child = kgrec(&data)
        .args(["train", "--model", "bpr", "--epochs", "100000", "--quiet"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("had written nothing yet"),
        "{}",
        stderr(&out)
    );
    assert!(
        stats(&data)["model_versions"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

/// `recommend --all-users` without `--explain` writes TSV: an `--out` named `.jsonl` is
/// refused (nothing written); with `--explain` it is what is written.
#[test]
fn a_jsonl_batch_file_needs_explain() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_catalogue(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "pop"]));
    let out_file = tmp.path().join("recs.jsonl");
    let out = run(kgrec(&data)
        .args(["recommend", "--all-users", "--out"])
        .arg(&out_file));
    expect_bad_input(
        &out,
        &out_file,
        &["without --explain the batch file is TSV", "--explain"],
    );
    assert!(!out_file.exists());
    ok(kgrec(&data)
        .args(["recommend", "--all-users", "--explain", "--out"])
        .arg(&out_file));
    let text = std::fs::read_to_string(&out_file).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert!(first["items"].is_array());
    // The popularity model's scores are interaction counts, and the explanation says so.
    assert_eq!(
        first["items"][0]["score_unit"], "interaction_count",
        "{first}"
    );
}

/// A popularity fallback's explanation labels its score a count; a model score is not labelled.
#[test]
fn popularity_scores_in_explanations_are_labelled_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_catalogue(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "als", "--reg", "0.5"]));
    let json = ok(kgrec(&data).args([
        "recommend",
        "--user",
        "u0",
        "--explain",
        "--format",
        "json",
        "-k",
        "2",
    ]));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(json["items"][0].get("score_unit").is_none(), "{json}");
    // A user the store does not know gets the popularity fallback.
    let json = ok(kgrec(&data).args([
        "recommend",
        "--user",
        "stranger",
        "--explain",
        "--format",
        "json",
        "-k",
        "2",
    ]));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["fallback"], "popularity", "{json}");
    assert_eq!(
        json["items"][0]["score_unit"], "interaction_count",
        "{json}"
    );
    assert_eq!(
        json["items"][0]["score_parts"]["cf"].as_f64(),
        json["items"][0]["score"].as_f64()
    );
}

/// A rating written with a decimal comma (`4,5` in a `;`-separated file) is an error at its
/// line that names the decimal comma.
#[test]
fn decimal_commas_are_named_at_their_line() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = tmp.path().join("ratings.csv");
    std::fs::write(&file, "user_id;item_id;rating\nu1;i1;4\nu1;i2;4,5\n").unwrap();
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&file));
    expect_bad_input(&out, &file, &["ratings.csv:3:3", "decimal comma", "4.5"]);
    assert!(!data.exists());
}

/// Music data: `listener_id` is a user column and `track` an item column.
#[test]
fn music_column_names_are_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = tmp.path().join("plays.csv");
    std::fs::write(&file, "listener_id,track\nann,t1\nann,t2\nbob,t1\n").unwrap();
    ok(kgrec(&data).args(["import", "interactions"]).arg(&file));
    let s = stats(&data);
    assert_eq!(s["users"], 2, "{s}");
    assert_eq!(s["items"], 2, "{s}");
    // A header with neither lists the accepted names, the new ones among them.
    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, "who,what\nann,t1\n").unwrap();
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&bad));
    expect_bad_input(&out, &bad, &["listener_id"]);
}

/// Importing again with `--min-rating` warns of the rows below it that earlier imports stored,
/// with their count and how to drop them.
#[test]
fn min_rating_warns_of_stored_rows_below_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = tmp.path().join("r.tsv");
    std::fs::write(
        &file,
        "user_id\titem_id\trating\nu1\ti1\t1\nu1\ti2\t5\nu2\ti1\t2\nu2\ti3\t4\n",
    )
    .unwrap();
    ok(kgrec(&data).args(["import", "interactions"]).arg(&file));
    let out = run(kgrec(&data)
        .args(["import", "interactions", "--min-rating", "3"])
        .arg(&file));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning: the store still holds 2 interaction(s) rated below --min-rating 3"),
        "{err}"
    );
    assert!(err.contains("new data directory"), "{err}");
    // A fresh directory has nothing below it to warn of.
    let fresh = tmp.path().join("fresh");
    let out = run(kgrec(&fresh)
        .args(["import", "interactions", "--min-rating", "3"])
        .arg(&file));
    assert!(!stderr(&out).contains("still holds"), "{}", stderr(&out));
}

/// `POST /v1/interactions` names ids with surrounding white space, as a file import does.
#[test]
fn posted_ids_with_spaces_are_noted() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_catalogue(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "pop"]));
    let server = Server::start(&data, &[]);
    let answer = server.post_json(
        "/v1/interactions",
        r#"[{"user": "u0 ", "item": "i1"}, {"user": "u1", "item": "i2"}]"#,
    );
    assert_eq!(answer.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    let notes = body["notes"].as_array().expect("notes");
    let note = notes[0].as_str().unwrap();
    assert!(note.contains("user \"u0 \""), "{note}");
    assert!(
        note.contains("the rows also have") || note.contains("kept as written"),
        "{note}"
    );
    let answer = server.post_json("/v1/interactions", r#"[{"user": "u1", "item": "i3"}]"#);
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert!(body.get("notes").is_none(), "{body}");
}

/// An export over an earlier one: files it writes again are "replaced", the earlier export's
/// files it does not write are "removed".
#[test]
fn an_export_over_another_says_what_it_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    let out_dir = tmp.path().join("emb");
    ok(kgrec(&data).args(["train", "--model", "transe", "--dim", "8", "--epochs", "2"]));
    ok(kgrec(&data)
        .args(["export", "embeddings", "--out"])
        .arg(&out_dir));
    assert!(out_dir.join("entity_embeddings.tsv").exists());
    ok(kgrec(&data).args(["train", "--model", "rotate", "--dim", "8", "--epochs", "2"]));
    let out = run(kgrec(&data)
        .args(["export", "embeddings", "--out"])
        .arg(&out_dir));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(!out_dir.join("entity_embeddings.tsv").exists());
    assert!(err.contains("replaced entities.tsv"), "{err}");
    assert!(
        err.contains("removed entity_embeddings.tsv, relation_embeddings.tsv"),
        "{err}"
    );
    assert!(!err.contains("replaced entity_embeddings.tsv"), "{err}");
}

/// A filter sent with `<…>` unencoded never reaches a handler (hyper refuses the request line):
/// the answer is still the service's JSON error, and it says to percent-encode.
#[test]
fn an_unencoded_iri_in_a_query_gets_a_json_error() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_catalogue(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "pop"]));
    let server = Server::start(&data, &[]);
    let answer =
        server.get("/v1/users/u0/recommendations?filter=<http://x.org/p>=<http://x.org/o>");
    assert_eq!(answer.status, 400);
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(body["error"]["code"], "bad_request", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("percent-encode") && message.contains("%3C"),
        "{message}"
    );
    // The same filter encoded reaches the filter's own check.
    let answer =
        server.get("/v1/users/u0/recommendations?filter=%3Chttp://x.org/p%3E=%3Chttp://x.org/o%3E");
    assert_eq!(answer.status, 400);
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(body["error"]["code"], "bad_filter", "{body}");
    assert_eq!(server.get("/v1/users/u0/recommendations?k=1").status, 200);
}

/// A query comparing labels tagged `@en` with a plain string finds nothing, and says why.
#[test]
fn a_plain_string_against_tagged_labels_gets_a_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    let out = run(kgrec(&data).args([
        "sparql",
        "SELECT ?m WHERE { ?m <http://www.w3.org/2000/01/rdf-schema#label> ?l \
         FILTER(?l = \"Al Pacino\") }",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("only with a language tag (\"Al Pacino\"@en)"),
        "{}",
        stderr(&out)
    );
    // Written with its tag, it is found, and no hint is given.
    let out = run(kgrec(&data).args([
        "sparql",
        "SELECT ?m WHERE { ?m <http://www.w3.org/2000/01/rdf-schema#label> \"Al Pacino\"@en }",
    ]));
    assert!(out.status.success());
    assert!(!stderr(&out).contains("language tag"), "{}", stderr(&out));
    assert!(
        crate::common::stdout(&out).contains("Al_Pacino"),
        "{}",
        crate::common::stdout(&out)
    );
}

/// A selected expression over a variable that is not grouped is named as such (not "the query
/// ends there").
#[test]
fn an_ungrouped_variable_in_a_selected_expression_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    let query = "SELECT (STR(?t) AS ?s) WHERE { ?p ?q ?t } GROUP BY ?p";
    let out = run(kgrec(&data).args(["sparql", query]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("?t is used in a selected expression (at 1:13)") && err.contains("GROUP BY"),
        "{err}"
    );
    assert!(!err.contains("ends there"), "{err}");
}
