//! `kgrec tune` through the binary on the fixtures: the choice is stored, `train` uses it (and
//! says so) unless told otherwise, flags are laid over it, `stats` shows it, and bad requests
//! are refused before anything is read or written.

use crate::cf::{imported, imported_without};
use crate::common::*;

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn tune_stores_its_choice_and_train_uses_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported(tmp.path());
    let out = json(&ok(kgrec(&data).args([
        "tune", "--models", "ease,als", "--trials", "3", "--budget", "60s", "--format", "json",
    ])));
    let learners = out["learners"].as_array().unwrap();
    assert_eq!(learners.len(), 2, "{out}");
    assert_eq!(out["metric"], "ndcg@10");
    assert!(out["validation_users"].as_u64().unwrap() >= 20, "{out}");
    for l in learners {
        let trials = l["trials"].as_array().unwrap();
        // The defaults first, then at most 3 draws.
        assert!(trials[0]["full"].as_bool().unwrap(), "{l}");
        assert!(trials.len() >= 2, "{l}");
        // null: the defaults' model collapsed (als here), a failed trial the choice beat.
        let defaults = l["default_value"].as_f64().unwrap_or(f64::NEG_INFINITY);
        assert!(l["value"].as_f64().unwrap() >= defaults, "{l}");
    }
    let best = out["best"].as_str().unwrap().to_owned();
    assert!(["ease", "als"].contains(&best.as_str()), "{out}");
    // The best learner was trained with its choice.
    let version = out["trained_version"].as_u64().unwrap();
    let stats = json(&ok(kgrec(&data).args(["stats", "--format", "json"])));
    assert_eq!(
        stats["model_versions"][0]["version"].as_u64(),
        Some(version)
    );
    assert_eq!(stats["model_versions"][0]["model"], best.as_str());
    let tuned = stats["tuned"].as_array().unwrap();
    assert_eq!(tuned.len(), 2, "{stats}");
    assert_eq!(
        tuned
            .iter()
            .filter(|t| t["best"].as_bool().unwrap())
            .count(),
        1
    );
    let text = ok(kgrec(&data).arg("stats"));
    assert!(text.contains("tuned"), "{text}");
    // A narrower run on the same validation rows does not undo a better earlier choice.
    let value_of = |stats: &serde_json::Value, learner: &str| {
        stats["tuned"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["learner"] == learner)
            .map(|t| t["value"].as_f64().unwrap())
            .unwrap()
    };
    let before = value_of(&stats, &best);
    let other = if best == "als" { "ease" } else { "als" };
    ok(kgrec(&data).args([
        "tune",
        "--models",
        other,
        "--trials",
        "1",
        "--no-train",
        "--format",
        "json",
    ]));
    let after = json(&ok(kgrec(&data).args(["stats", "--format", "json"])));
    assert!(value_of(&after, &best) >= before);
    let best_after = after["tuned"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["best"].as_bool().unwrap())
        .unwrap()["learner"]
        .clone();
    let top = after["tuned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["value"].as_f64().unwrap())
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(
        value_of(&after, best_after.as_str().unwrap()),
        top,
        "{after}"
    );

    // `train` without --model trains the best learner with its choice, and says so.
    let out = run(kgrec(&data).arg("train"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("trained {best}")),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("with the hyper-parameters `kgrec tune` chose"),
        "{}",
        stderr(&out)
    );
    // --model names another tuned learner: its own choice; flags are laid over it.
    let out = run(kgrec(&data).args(["train", "--model", "ease", "--reg", "50"]));
    assert!(stdout(&out).contains("trained ease"), "{}", stdout(&out));
    let models = json(&ok(kgrec(&data).args(["stats", "--format", "json"])));
    assert!(models["model_versions"].as_array().unwrap().len() >= 2);
    // --untuned: the defaults, and no note.
    let out = run(kgrec(&data).args(["train", "--model", "als", "--untuned"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("`kgrec tune` chose"),
        "{}",
        stderr(&out)
    );
    // A learner that was not tuned trains with its defaults, silently.
    let out = run(kgrec(&data).args(["train", "--model", "pop"]));
    assert!(!stderr(&out).contains("kgrec tune"), "{}", stderr(&out));
}

#[test]
fn tune_refuses_bad_requests_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported(tmp.path());
    for (args, said) in [
        (vec!["--metric", "auc@10"], "NAME@K"),
        (vec!["--models", "transe"], "graph embeddings are not tuned"),
        (vec!["--models", "nope"], "no such learner"),
        (vec!["--budget", "ten minutes"], "expected a duration"),
        (vec!["--trials", "0"], "--trials 0"),
        (vec!["--holdout", "1.5"], "a share between 0 and 1"),
    ] {
        let out = run(kgrec(&data).arg("tune").args(&args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(said), "{args:?}: {}", stderr(&out));
    }
    let stats = json(&ok(kgrec(&data).args(["stats", "--format", "json"])));
    assert!(stats["tuned"].as_array().unwrap().is_empty(), "{stats}");
    assert!(stats["model_versions"].as_array().unwrap().is_empty());

    // A catalogue with too few users to carve from says so.
    let small = tmp.path().join("small");
    let file = tmp.path().join("s.tsv");
    std::fs::write(&file, "user_id\titem_id\na\t1\na\t2\nb\t2\n").unwrap();
    ok(kgrec(&small).args(["import", "interactions"]).arg(&file));
    let out = run(kgrec(&small).args(["tune", "--models", "als"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("too few users"), "{}", stderr(&out));
    // --split time needs timestamps, which this file has none of.
    let out = run(kgrec(&small).args(["tune", "--split", "time"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("timestamp"), "{}", stderr(&out));
}

#[test]
fn tune_holds_linked_items_out_whole_when_the_catalogue_has_new_ones() {
    let tmp = tempfile::tempdir().unwrap();
    // Items 1 and 2 lose every interaction: linked items without any, and no item with one or
    // two interactions to explain them as rare, so they look new.
    let cold = imported_without(tmp.path(), "cold", &["1", "2"]);
    let args = [
        "tune",
        "--models",
        "cke",
        "--trials",
        "12",
        "--budget",
        "90s",
        "--no-train",
    ];
    let out = json(&ok(kgrec(&cold).args(args).args(["--format", "json"])));
    // 22 warm linked items of 24, 2 of them new: round(22 · 2 / 24) = 2 held out whole.
    assert_eq!(out["whole_items"], 2, "{out}");
    assert_eq!(out["unplaced_items"], 2, "{out}");
    assert_eq!(out["learners"][0]["whole_items"], 2, "{out}");
    // The cold rule is in cke's space: draws name one rule or the other, never both.
    let trials = out["learners"][0]["trials"].as_array().unwrap();
    let given = |t: &serde_json::Value, key: &str| !t["params"][key].is_null();
    assert!(
        trials
            .iter()
            .any(|t| given(t, "cold_scale") || given(t, "cold_neighbours")),
        "{out}"
    );
    assert!(
        trials
            .iter()
            .all(|t| !(given(t, "cold_scale") && given(t, "cold_neighbours"))),
        "{out}"
    );
    // The text says what was held out whole, and which cold rule was chosen on those items'
    // rows.
    let text = ok(kgrec(&cold).args(args));
    assert!(
        text.contains("every interaction of 2 linked items held out whole"),
        "{text}"
    );
    assert!(
        text.contains("cke: cold rule --cold-") && text.contains("chosen on the rows of the"),
        "{text}"
    );

    // A catalogue whose every linked item has interactions holds none out whole, and cke's
    // cold rule is not searched.
    let data = imported(tmp.path());
    let out = json(&ok(kgrec(&data)
        .args(["tune", "--models", "cke", "--trials", "4", "--no-train"])
        .args(["--format", "json"])));
    assert_eq!(out["whole_items"], 0, "{out}");
    let trials = out["learners"][0]["trials"].as_array().unwrap();
    // (the graph-off corner holds --cold-scale 0: ALS exactly, items without interactions
    // unplaced, as they look rare rather than new).
    assert!(
        trials.iter().all(|t| {
            let p = &t["params"];
            p["cold_neighbours"].is_null()
                && (p["cold_scale"].is_null()
                    || (p["cold_scale"] == 0.0
                        && p["kg_weight"] == 0.0
                        && p["neighbour_weight"] == 0.0))
        }),
        "{out}"
    );
}

/// Tuned together, ALS goes first and `cke` starts from ALS's choice: with the graph off (its
/// corner that is ALS: the same validation figure) and with the graph's default weights.
#[test]
fn cke_starts_from_als_choice_with_the_graph_off() {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported(tmp.path());
    let out = json(&ok(kgrec(&data).args([
        "tune",
        "--models",
        "cke,als",
        "--trials",
        "6",
        "--budget",
        "120s",
        "--no-train",
        "--format",
        "json",
    ])));
    let learners = out["learners"].as_array().unwrap();
    assert_eq!(learners[0]["learner"], "als", "{out}");
    assert_eq!(learners[1]["learner"], "cke", "{out}");
    let als = &learners[0]["overrides"];
    let trials = learners[1]["trials"].as_array().unwrap();
    let params = |t: &serde_json::Value| t["params"].clone();
    let mut off = als.clone();
    off["kg_weight"] = 0.0.into();
    off["neighbour_weight"] = 0.0.into();
    off["attention"] = "none".into();
    // Nothing is held out whole here: the corner leaves items without interactions unplaced.
    off["cold_scale"] = 0.0.into();
    assert_eq!(params(&trials[1]), off, "{out}");
    // The graph off at ALS's choice scores what ALS's choice scored.
    assert_eq!(trials[1]["value"], learners[0]["value"], "{out}");
    if als.as_object().unwrap().values().any(|v| !v.is_null()) {
        assert_eq!(params(&trials[2]), *als, "{out}");
    }
    assert_eq!(out["target"], "auto", "{out}");
}

/// `--target cold`: linked items held out whole (a tenth of them here: none is without
/// interactions) and only their rows scored, so ALS, which places no item it has no
/// interaction of, scores 0 and `cke` more.
#[test]
fn tune_for_new_items_scores_only_items_held_out_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported(tmp.path());
    let out = json(&ok(kgrec(&data).args([
        "tune",
        "--models",
        "als,cke",
        "--trials",
        "3",
        "--budget",
        "120s",
        "--no-train",
        "--target",
        "cold",
        "--format",
        "json",
    ])));
    assert_eq!(out["target"], "cold", "{out}");
    // 24 linked items with interactions, a tenth of them held out whole.
    assert_eq!(out["whole_items"], 2, "{out}");
    let learners = out["learners"].as_array().unwrap();
    let value = |name: &str| {
        learners
            .iter()
            .find(|l| l["learner"] == name)
            .map(|l| l["value"].as_f64().unwrap())
            .unwrap()
    };
    assert_eq!(value("als"), 0.0, "{out}");
    assert!(value("cke") > 0.0, "{out}");
    assert_eq!(out["best"], "cke", "{out}");
    // Without a graph there is nothing to place a new item with.
    let bare = tmp.path().join("bare");
    ok(kgrec(&bare)
        .args(["import", "interactions"])
        .arg(fixture("interactions.tsv")));
    let refused = kgrec(&bare)
        .args(["tune", "--models", "cke", "--target", "cold", "--no-train"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("--target cold"),
        "{}",
        stderr(&refused)
    );
}

/// A catalogue above ml-100k's size (3,000 items with interactions): `train` with no flag and
/// no tuning fits the size-aware dimension (16 · (3000 / 1682)^0.75 ≈ 25) and says from what
/// (its summary shows the dimension), `--dim` wins, and `eval` sizes the dimension to its training file the same
/// way. ml-100k's own size keeps 16 (the engine's unit tests).
#[test]
fn an_untuned_train_sizes_the_dimension_to_the_catalogue() {
    use std::fmt::Write as _;
    let tmp = tempfile::tempdir().unwrap();
    let mut train = "user_id\titem_id\n".to_owned();
    let mut test = train.clone();
    for u in 0..200 {
        for j in 0..30 {
            writeln!(train, "u{u}\ti{}", (u * 30 + j) % 3_000).unwrap();
        }
        // The next user's first item: never one of this user's own.
        writeln!(test, "u{u}\ti{}", (u * 30 + 30) % 3_000).unwrap();
    }
    let train = write_file(tmp.path(), "train.tsv", train);
    let test = write_file(tmp.path(), "test.tsv", test);
    let data = tmp.path().join("data");
    ok(kgrec(&data).args(["import", "interactions"]).arg(&train));
    let out = run(kgrec(&data).args(["train", "--model", "als"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("dim 25,"), "{}", stdout(&out));
    let said = stderr(&out);
    assert!(
        said.contains("dim 25 sized to the catalogue: 3000 items with interactions"),
        "{said}"
    );
    // `--dim` wins, even at the default's value, and nothing is said of sizing.
    let out = run(kgrec(&data).args(["train", "--model", "als", "--dim", "16"]));
    assert!(stdout(&out).contains("dim 16,"), "{}", stdout(&out));
    assert!(!stderr(&out).contains("sized"), "{}", stderr(&out));
    // `eval` builds its untuned spec once the training file is read.
    let out = run(kgrec(&data)
        .args(["eval", "--model", "als", "--format", "json", "--train"])
        .arg(&train)
        .arg("--test")
        .arg(&test));
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json(&stdout(&out));
    assert_eq!(report["params"]["factors"].as_u64(), Some(25), "{report}");
    assert!(stderr(&out).contains("dim 25 sized"), "{}", stderr(&out));
    let out = run(kgrec(&data)
        .args([
            "eval", "--model", "als", "--dim", "12", "--format", "json", "--train",
        ])
        .arg(&train)
        .arg("--test")
        .arg(&test));
    assert_eq!(json(&stdout(&out))["params"]["factors"].as_u64(), Some(12));
}
