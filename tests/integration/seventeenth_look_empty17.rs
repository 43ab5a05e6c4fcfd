//! The seventeenth fresh look (issue #21), findings 1, 2, 7 and 8: a user whose every
//! interaction was removed gets the popularity fallback and a note saying why (CLI, batch
//! summary, HTTP); eval says how many test users the training file does not know; `similar`
//! notes ties; `similar` on an item without interactions under a graph-blind model says so.

use std::path::{Path, PathBuf};

use crate::common::*;

/// A shop's views, `user_id,item_id`: six users over six items, u5 with three views.
fn views(dir: &Path) -> PathBuf {
    let rows = [
        ("u0", "i1"),
        ("u0", "i2"),
        ("u0", "i3"),
        ("u1", "i1"),
        ("u1", "i2"),
        ("u1", "i4"),
        ("u2", "i2"),
        ("u2", "i3"),
        ("u2", "i5"),
        ("u3", "i1"),
        ("u3", "i3"),
        ("u3", "i6"),
        ("u4", "i2"),
        ("u4", "i4"),
        ("u4", "i6"),
        ("u5", "i4"),
        ("u5", "i5"),
        ("u5", "i6"),
    ];
    let mut text = String::from("user_id,item_id\n");
    for (u, i) in rows {
        text.push_str(&format!("{u},{i}\n"));
    }
    write_file(dir, "views.csv", text)
}

/// A store of `views` with every interaction of u5 removed, then an `ease` model trained.
fn emptied_store(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    let views = views(dir);
    ok(kgrec(&data)
        .args(["-q", "import", "interactions"])
        .arg(&views));
    let u5 = write_file(dir, "u5.csv", "user_id,item_id\nu5,i4\nu5,i5\nu5,i6\n");
    ok(kgrec(&data)
        .args(["-q", "import", "interactions", "--remove"])
        .arg(&u5));
    ok(kgrec(&data).args(["-q", "train", "--model", "ease"]));
    data
}

/// Finding 1: u5, every interaction removed, gets the popular items (i2 viewed by four users
/// first), flagged as the popularity fallback with a note naming the cause, not ties.
#[test]
fn user_with_every_interaction_removed_gets_popularity_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let data = emptied_store(dir.path());

    let out = run(kgrec(&data).args(["recommend", "--user", "u5", "-k", "3", "--format", "json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let all = format!("{json}\n{}", stderr(&out));
    assert_eq!(json["fallback"], "popularity", "{all}");
    assert_eq!(json["items"][0]["item"], "i2", "{all}");
    assert!(
        all.contains("u5 has no interactions (all were removed)"),
        "{all}"
    );
    assert!(!all.contains("arrived after"), "{all}");
    let text = ok(kgrec(&data).args(["recommend", "--user", "u5", "-k", "3"]));
    assert!(
        text.contains("user u5 has no interactions (all were removed), so model v1 ease"),
        "{text}"
    );
    assert!(!text.contains("is not in the model"), "{text}");

    // The batch: u5's list is the fallback, and the summary counts them as emptied.
    let batch = dir.path().join("batch.tsv");
    let out = run(kgrec(&data)
        .args(["recommend", "--all-users", "-k", "2", "--out"])
        .arg(&batch));
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        summary.contains("1 of them have no interactions (all were removed)"),
        "{summary}"
    );
    assert!(!summary.contains("arrived after"), "{summary}");
    let rows = std::fs::read_to_string(&batch).unwrap();
    let u5: Vec<&str> = rows.lines().filter(|l| l.starts_with("u5\t")).collect();
    assert!(u5.first().is_some_and(|l| l.contains("\ti2\t")), "{rows}");

    // Over HTTP: the same fallback and note.
    let server = Server::start(&data, &[]);
    let answer = server.get("/v1/users/u5/recommendations?k=3").json();
    assert!(server.terminate(30).success());
    assert_eq!(answer["fallback"], "popularity", "{answer}");
    assert_eq!(answer["items"][0]["item"], "i2", "{answer}");
    assert!(
        answer
            .to_string()
            .contains("u5 has no interactions (all were removed)"),
        "{answer}"
    );
}

/// Finding 2: eval on a split whose test file holds users the training file does not know says
/// how many, and reports the known users' figures beside everyone's (text and JSON).
#[test]
fn eval_counts_test_users_unknown_to_training_and_scores_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let train = views(dir.path());
    let test = write_file(
        dir.path(),
        "test.csv",
        "user_id,item_id\nu0,i4\nu1,i3\nx1,i1\nx2,i5\n",
    );
    let eval = |format: &str| {
        let out = run(kgrec(&dir.path().join("unused"))
            .args([
                "eval", "--model", "ease", "-k", "3", "--format", format, "--train",
            ])
            .arg(&train)
            .arg("--test")
            .arg(&test));
        assert!(out.status.success(), "{}", stderr(&out));
        (stdout(&out), stderr(&out))
    };
    let (json, err) = eval("json");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["users"], 4, "{json}");
    assert_eq!(json["unknown_test_users"], 2, "{json}");
    assert_eq!(json["known_users"]["users"], 2, "{json}");
    assert!(json["known_users"]["ndcg@3"].is_number(), "{json}");
    assert!(
        err.contains("2 of 4 test users are not in the training file")
            && err.contains("popularity fallback")
            && err.contains("the 2 known users alone score nDCG@3"),
        "{err}"
    );
    let (text, _) = eval("text");
    assert!(
        text.contains("2 of 4 test users are not in the training file")
            && text.contains("known users only (2 users):"),
        "{text}"
    );
    // Every test user known: no such count, no second table.
    let known = write_file(dir.path(), "known.csv", "user_id,item_id\nu0,i4\nu1,i3\n");
    let out = run(kgrec(&dir.path().join("unused"))
        .args([
            "eval", "--model", "ease", "-k", "3", "--format", "json", "--train",
        ])
        .arg(&train)
        .arg("--test")
        .arg(&known));
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(json.get("unknown_test_users").is_none(), "{json}");
    assert!(json.get("known_users").is_none(), "{json}");
    assert!(
        !stderr(&out).contains("not in the training file"),
        "{}",
        stderr(&out)
    );
}

/// Finding 7: `similar` notes ties as a user's list does: a and b, viewed by exactly the same
/// users, are equally like x.
#[test]
fn similar_notes_ties() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let views = write_file(
        dir.path(),
        "twins.csv",
        "user_id,item_id\nu1,x\nu1,a\nu1,b\nu2,x\nu2,a\nu2,b\nu3,x\nu3,c\nu4,c\nu4,d\nu5,d\nu5,a\nu5,b\n",
    );
    ok(kgrec(&data)
        .args(["-q", "import", "interactions"])
        .arg(&views));
    ok(kgrec(&data).args([
        "-q",
        "train",
        "--model",
        "itemknn",
        "--similarity",
        "cosine",
        "--shrink",
        "0",
    ]));
    let out = run(kgrec(&data).args(["similar", "--item", "x", "-k", "2", "--format", "json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let all = format!("{}\n{}", stdout(&out), stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let top: Vec<&str> = json["similar"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item"].as_str().unwrap())
        .collect();
    assert_eq!(top, ["a", "b"], "{all}");
    assert!(
        all.contains("1 item(s) of this list are as similar as the one above")
            && all.contains("(every item of the list ties)"),
        "{all}"
    );
    // c is less like x than a and b: no tie in the top 1 (a alone).
    let out = run(kgrec(&data).args(["similar", "--item", "x", "-k", "1"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("as similar as"), "{}", stderr(&out));
}

/// Finding 8: `similar` on an item without interactions under `ease`, which ignores the graph,
/// names that cause and the models that place such items; the graph is not blamed.
#[test]
fn similar_on_item_without_interactions_under_graph_blind_model_names_cause() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let views = views(dir.path());
    ok(kgrec(&data)
        .args(["-q", "import", "interactions"])
        .arg(&views));
    let extra = write_file(dir.path(), "i9.csv", "user_id,item_id\nu0,i9\n");
    ok(kgrec(&data)
        .args(["-q", "import", "interactions"])
        .arg(&extra));
    ok(kgrec(&data)
        .args(["-q", "import", "interactions", "--remove"])
        .arg(&extra));
    for model in ["ease", "als"] {
        ok(kgrec(&data).args(["-q", "train", "--model", model]));
        let out = run(kgrec(&data).args(["similar", "--item", "i9"]));
        assert!(!out.status.success(), "{model}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("{model} does not use the graph"))
                && err.contains("kg-ease or cke place an item without interactions"),
            "{model}: {err}"
        );
        assert!(
            !err.contains("nothing in the graph ties it"),
            "{model}: {err}"
        );
    }
}
