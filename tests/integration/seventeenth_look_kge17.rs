//! The seventeenth fresh look (issue #21), findings 5, 6, 9 and 10: `kge` data sets with a
//! header line or test entities unseen in training, BPR's model across thread counts, the score
//! parts of every model, a filter on a class that only has subclasses.

use crate::common::*;
use crate::kge::groups_dataset;
use std::path::Path;

fn kge(tmp: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(binary());
    cmd.env_remove("KGREC_DATA").current_dir(tmp).arg("kge");
    cmd
}

/// Prepends `header` as the first line of `dir/name`.
fn prepend(dir: &Path, name: &str, header: &str) {
    let path = dir.join(name);
    let body = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{header}\n{body}")).unwrap();
}

/// A `head relation tail` first line (tab- or blank-separated) of train/valid/test used to be
/// read as a triple: `head` and `tail` became entities, `relation` a relation. It is skipped,
/// as `import kg` skips it, with the same note naming each file; the counts do not include it.
#[test]
fn kge_train_skips_a_header_line_of_each_split_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = groups_dataset(&tmp.path().join("plain"));
    let headed = groups_dataset(&tmp.path().join("headed"));
    prepend(&headed, "train.txt", "head\trelation\ttail");
    prepend(&headed, "valid.txt", "head relation tail");
    prepend(&headed, "test.txt", "subject\tpredicate\tobject");
    let train = |dir: &Path| {
        let out = run(kge(tmp.path())
            .args(["train", "--epochs", "2", "--dim", "8", "--eval-test"])
            .arg("--dataset")
            .arg(dir));
        assert!(out.status.success(), "{}", stderr(&out));
        (stdout(&out), stderr(&out))
    };
    let (plain_out, plain_err) = train(&plain);
    let (headed_out, headed_err) = train(&headed);
    assert!(!plain_err.contains("read as a header"), "{plain_err}");
    for (name, fields) in [
        ("train.txt", "head, relation, tail"),
        ("valid.txt", "head, relation, tail"),
        ("test.txt", "subject, predicate, object"),
    ] {
        let note = format!(
            "{}:1: read as a header ({fields}) and skipped, not as a triple",
            headed.join(name).display()
        );
        assert!(headed_err.contains(&note), "{note}\n{headed_err}");
    }
    // 28 entities, 2 relations, 40 training triples: the header added none of them, and the
    // same seed trains the same model (the test figures agree to the digit).
    assert!(
        headed_out.contains("28 entities, 2 relations, 40 training triples"),
        "{headed_out}"
    );
    let figures = |text: &str| text.split_once("test").map(|(_, t)| t.to_owned());
    assert_eq!(
        figures(&headed_out),
        figures(&plain_out),
        "{headed_out}\n{plain_out}"
    );
}

/// Test triples whose entity never occurs in train.txt used to be ranked with untrained vectors
/// and folded into the figures silently; both `kge train --eval-test` and `kge eval` now count
/// and name them (they stay ranked: the OpenKE convention the loader documents).
#[test]
fn kge_counts_and_names_test_triples_unseen_in_training() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = groups_dataset(tmp.path());
    let test = std::fs::read_to_string(ds.join("test.txt")).unwrap();
    std::fs::write(
        ds.join("test.txt"),
        format!("{test}newcomer\tmember_of\tg1\n"),
    )
    .unwrap();
    let note = format!(
        "1 of the 5 test triples have an entity or relation that never occurs in {} (e.g. \
         newcomer member_of g1)",
        ds.join("train.txt").display()
    );
    let out_dir = tmp.path().join("emb");
    let out = run(kge(tmp.path())
        .args(["train", "--epochs", "2", "--dim", "8", "--eval-test"])
        .arg("--dataset")
        .arg(&ds)
        .arg("--out")
        .arg(&out_dir));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&note), "{}", stderr(&out));
    // Without --eval-test nothing is scored on test.txt: no such note.
    let out = run(kge(tmp.path())
        .args(["train", "--epochs", "1", "--dim", "8", "--force"])
        .arg("--dataset")
        .arg(&ds)
        .arg("--out")
        .arg(tmp.path().join("emb2")));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("never occurs"), "{}", stderr(&out));
    let out = run(kge(tmp.path())
        .arg("eval")
        .arg("--dataset")
        .arg(&ds)
        .arg("--model-dir")
        .arg(&out_dir));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&note), "{}", stderr(&out));
}

/// BPR's shard count used to follow the thread count, so one seed gave different models on
/// machines with different core counts; it is fixed now, and `train --help` says so.
#[test]
fn bpr_gives_the_same_model_on_any_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    let mut lists = Vec::new();
    for threads in ["1", "2", "3"] {
        ok(kgrec(&data)
            .env("RAYON_NUM_THREADS", threads)
            .args(["train", "--model", "bpr", "--epochs", "20", "--seed", "7"]));
        let list = ok(kgrec(&data).args(["recommend", "--user", "1", "--format", "json"]));
        // The items and their scores (the note names the model version, which differs).
        let list: serde_json::Value = serde_json::from_str(&list).unwrap();
        lists.push(list["items"].to_string());
    }
    assert!(lists[0].contains("score"), "{}", lists[0]);
    assert_eq!(lists[0], lists[1]);
    assert_eq!(lists[0], lists[2]);
    let help = ok(kgrec(&data).args(["train", "--help"]));
    assert!(
        help.contains("8 shards whatever the thread count"),
        "{help}"
    );
}

/// tfidf's score is the graph text's cosines, yet its score parts were all `cf`; they are all
/// `kg` now (docs/model.md lists what the parts mean for every model).
#[test]
fn tfidf_score_parts_are_the_graphs() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "tfidf"]));
    let text = ok(kgrec(&data).args(["recommend", "--user", "1", "--explain", "--format", "json"]));
    let list: serde_json::Value = serde_json::from_str(&text).unwrap();
    let items = list["items"].as_array().unwrap();
    let parts: Vec<&serde_json::Value> = items
        .iter()
        .filter_map(|i| {
            i.get("explanation")
                .and_then(|e| e.get("score_parts"))
                .or_else(|| i.get("score_parts"))
        })
        .collect();
    assert!(!parts.is_empty(), "{text}");
    for p in parts {
        assert_eq!(p["cf"].as_f64(), Some(0.0), "{text}");
        assert!(p["kg"].as_f64().unwrap() > 0.0, "{text}");
    }
}
