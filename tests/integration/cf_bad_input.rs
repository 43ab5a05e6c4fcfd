//! Interaction imports: bad files fail with a located message, exit 2 and an unchanged store;
//! awkward but valid ids (spaces, unicode, 2^40) survive import, training and recommending.

use crate::cf::imported;
use crate::common::*;
use std::path::{Path, PathBuf};

struct Setup {
    tmp: tempfile::TempDir,
    data: PathBuf,
    before: serde_json::Value,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported(tmp.path());
    let before = stats(&data);
    Setup { tmp, data, before }
}

impl Setup {
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.tmp.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn import(&self, file: &Path, extra: &[&str]) -> std::process::Output {
        run(kgrec(&self.data)
            .args(["import", "interactions"])
            .arg(file)
            .args(extra))
    }

    /// Expects exit 2, every needle in the message, and an unchanged store.
    fn rejects(&self, file: &Path, extra: &[&str], needles: &[&str]) {
        expect_bad_input(&self.import(file, extra), file, needles);
        assert_eq!(stats(&self.data), self.before, "{file:?} changed the store");
    }

    fn accepts(&self, file: &Path, extra: &[&str]) -> String {
        let out = self.import(file, extra);
        assert!(out.status.success(), "{file:?}: {}", stderr(&out));
        stderr(&out)
    }

    fn count(&self, key: &str) -> i64 {
        stats(&self.data)[key].as_i64().unwrap() - self.before[key].as_i64().unwrap()
    }
}

#[test]
fn bad_files_are_refused_with_their_location() {
    let s = setup();
    let f = s.file("missing-col.tsv", "user_id\tfoo\n1\t2\n");
    s.rejects(&f, &[], &["missing-col.tsv:1", "item_id"]);
    let f = s.file("nan.tsv", "user_id\titem_id\trating\n7\t1\t4\n7\t2\tfive\n");
    s.rejects(&f, &[], &["nan.tsv:3:3", "rating", "five"]);
    let f = s.file("empty.tsv", "");
    s.rejects(&f, &[], &["empty.tsv", "empty"]);
    let f = s.file("header.tsv", "user_id\titem_id\trating\n");
    // A header alone is a quiet day, not a bad file: a note, exit 0, the store unchanged
    // (eighteenth look; eighteenth_look_inputs.rs).
    let out = run(kgrec(&s.data).args(["import", "interactions"]).arg(&f));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("header.tsv:1: no rows after the header"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stats(&s.data), s.before);
    let f = s.file("short.tsv", "user_id\titem_id\trating\n7\t1\t4\n8\n");
    s.rejects(&f, &[], &["short.tsv:3:2", "item_id"]);
    // No extension and no header: nothing to guess the format from.
    let f = s.file("noext", "7\t1\n8\t2\n");
    s.rejects(&f, &[], &["--format"]);
    s.rejects(&f, &["--format", "parquet"], &["parquet"]);
    let f = s.file("high.tsv", "user_id\titem_id\trating\n7\t1\t4\n");
    s.rejects(&f, &["--min-rating", "4.5"], &["high.tsv", "4.5"]);
    s.rejects(
        &s.tmp.path().join("absent.tsv"),
        &[],
        &["absent.tsv", "cannot read"],
    );
    // A bad link file fails the whole import, interactions included.
    let good = s.file("good.tsv", "user_id\titem_id\nnew\t1\n");
    let link = s.file("bad-link.tsv", "item\n1\n");
    s.rejects(
        &good,
        &["--link", link.to_str().unwrap()],
        &["bad-link.tsv:1", "iri"],
    );
    let link = s.file("twice.tsv", "item_id\tiri\n1\thttp://a\n1\thttp://b\n");
    s.rejects(&good, &["--link", link.to_str().unwrap()], &["twice.tsv:3"]);
}

#[test]
fn awkward_ids_ratings_and_duplicates() {
    let s = setup();
    let f = s.file(
        "odd.tsv",
        "user_id\titem_id\trating\n\
         u 1\tÉté ✓\t4.5\n\
         u 1\t1\t4.4\n\
         1099511627776\tÉté ✓\t5\n\
         1099511627776\t1\t5\n\
         1099511627776\t1\t5\n\
         1099511627776\t1\t3\n",
    );
    s.accepts(&f, &["--min-rating", "4.5"]);
    assert_eq!(s.count("users"), 2);
    assert_eq!(s.count("items"), 1, "Été is new; 1 is the fixture's");
    assert_eq!(s.count("interactions"), 3, "4.4 dropped, repeats merged");
    // The same file again: nothing changes.
    let after = stats(&s.data);
    s.accepts(&f, &["--min-rating", "4.5"]);
    assert_eq!(stats(&s.data), after);

    ok(kgrec(&s.data).args(["train", "--model", "als"]));
    for user in ["u 1", "1099511627776"] {
        let out: serde_json::Value = serde_json::from_str(&ok(kgrec(&s.data).args([
            "recommend",
            "--user",
            user,
            "--format",
            "json",
            "-k",
            "100",
        ])))
        .unwrap();
        assert_eq!(out["user"], user);
        assert!(out.get("fallback").is_none());
        let items: Vec<&str> = out["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["item"].as_str().unwrap())
            .collect();
        assert!(!items.contains(&"Été ✓"), "{user}: {items:?}");
        assert!(!items.is_empty());
    }
    let recs = s.tmp.path().join("recs.tsv");
    ok(kgrec(&s.data)
        .args(["recommend", "--all-users", "--out"])
        .arg(&recs));
    let text = std::fs::read_to_string(&recs).unwrap();
    assert!(text.contains("\nu 1\t"), "a user id with a space survives");
    assert!(text.contains("\t1\t1\t") || text.contains("\tÉté ✓\t"));
}

#[test]
fn links_to_unknown_items_and_iris_are_warnings() {
    let s = setup();
    let f = s.file("few.tsv", "user_id\titem_id\nz\t1\nz\tnew item\n");
    let link = s.file(
        "links.tsv",
        "item_id\tiri\n1\thttp://dbpedia.org/resource/Toy_Story\n\
         new item\thttp://example.org/not-in-graph\nghost\thttp://dbpedia.org/resource/GoldenEye\n",
    );
    let err = s.accepts(&f, &["--link", link.to_str().unwrap()]);
    assert!(
        err.contains("1 linked IRI(s) are not in the knowledge graph"),
        "{err}"
    );
    assert!(
        err.contains("1 linked item(s) have no interactions yet"),
        "{err}"
    );
    // "ghost" joins the catalogue as an item without interactions.
    assert_eq!(s.count("items"), 2);
    ok(kgrec(&s.data).args(["train", "--model", "pop"]));
    let fresh = run(kgrec(&s.data).args(["recommend", "--user", "1"]));
    assert!(
        !stderr(&fresh).contains("kgrec train"),
        "{}",
        stderr(&fresh)
    );
    let more = s.file("more.tsv", "user_id\titem_id\nz\t2\n");
    s.accepts(&more, &[]);
    let stale = run(kgrec(&s.data).args(["recommend", "--user", "1"]));
    assert!(stderr(&stale).contains("kgrec train"), "{}", stderr(&stale));
    let out: serde_json::Value = serde_json::from_str(&ok(kgrec(&s.data).args([
        "recommend",
        "--user",
        "1",
        "--format",
        "json",
        "-k",
        "100",
    ])))
    .unwrap();
    let new_item = out["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["item"] == "new item")
        .expect("the new item is recommended to user 1");
    assert_eq!(new_item["iri"], "http://example.org/not-in-graph");
    assert_eq!(new_item["label"], "not-in-graph", "the IRI's local name");
    // "ghost" has no interactions and no entity: nothing ranks it, not even at score 0.
    assert!(
        out["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["item"] != "ghost"),
        "{out}"
    );
}

/// A batch file mixes model scores with the popularity counts of users the model cannot score:
/// the summary says how many such users there are and what their scores are.
#[test]
fn batch_summary_counts_the_users_given_popular_items() {
    let s = setup();
    let f = s.file(
        "few.tsv",
        "user_id\titem_id\na\t1\na\t2\nb\t2\nb\t3\nc\t1\nc\t3\n",
    );
    s.accepts(&f, &[]);
    ok(kgrec(&s.data).args(["train", "--model", "als"]));
    let recs = s.tmp.path().join("recs.tsv");
    let quiet = ok(kgrec(&s.data)
        .args(["recommend", "--all-users", "--out"])
        .arg(&recs));
    assert!(!quiet.contains("popular"), "{quiet}");
    let late = s.file("late.tsv", "user_id\titem_id\nlate\tbrand new\n");
    s.accepts(&late, &[]);
    let summary = ok(kgrec(&s.data)
        .args(["recommend", "--all-users", "--out"])
        .arg(&recs));
    assert!(
        summary.contains("1 of them arrived after the model was trained")
            && summary.contains("interaction count"),
        "{summary}"
    );
    let text = std::fs::read_to_string(&recs).unwrap();
    assert!(text.lines().any(|l| l.starts_with("late\t")), "{text}");
}

#[test]
fn every_contract_format_imports() {
    let s = setup();
    let cases = [
        (
            "u.data",
            "m1\tf1\t5\t881250949\nm1\tf2\t3\t881250950\n",
            &[][..],
        ),
        ("r.csv", "user_id,item_id,rating\n\"c,1\",f1,4\n", &[][..]),
        (
            "x.inter",
            "user_id:token\titem_id:token\trating:float\nr1\tf3\t4\n",
            &[][..],
        ),
        ("train.txt", "k1 f1 f4\n", &[][..]),
        (
            "plain",
            "user_id\titem_id\nt1\tf5\n",
            &["--format", "tsv"][..],
        ),
    ];
    for (name, text, extra) in cases {
        s.accepts(&s.file(name, text), extra);
    }
    assert_eq!(s.count("users"), 5, "m1, \"c,1\", r1, k1, t1");
    assert_eq!(s.count("items"), 5, "f1..f5");
    assert_eq!(s.count("interactions"), 7);
}
