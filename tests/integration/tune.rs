//! `kgrec tune` through the binary on the fixtures: the choice is stored, `train` uses it (and
//! says so) unless told otherwise, flags are laid over it, `stats` shows it, and bad requests
//! are refused before anything is read or written.

use crate::cf::imported;
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
        assert!(l["value"].as_f64().unwrap() >= l["default_value"].as_f64().unwrap());
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
    assert!(!stderr(&out).contains("kgrec tune"), "{}", stderr(&out));
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
