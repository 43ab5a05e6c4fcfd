//! The seventeenth fresh look (issue #21), findings 3 and 11. Finding 3: when every item sells once, the counts
//! say nothing about an order, so no "popularity order" note; the real cause (no two users share
//! an item) is named instead, and no advice repeats the setting already in use.

use std::path::Path;

use crate::common::*;

/// 40 buyers × 3 purchases each, every one of the 120 items bought once, `buyer_id,item_id,price`.
fn every_item_once(dir: &Path) -> std::path::PathBuf {
    let mut text = String::from("buyer_id,item_id,price\n");
    for b in 0..40 {
        for k in 0..3 {
            text.push_str(&format!("b{b},item{},{}\n", b * 3 + k, 10 + k));
        }
    }
    write_file(dir, "purchases.csv", text)
}

#[test]
fn flat_counts_get_no_popularity_note_but_the_real_cause() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = every_item_once(dir.path());
    ok(kgrec(&data)
        .args(["-q", "import", "interactions"])
        .arg(&file));
    for args in [
        &["train", "--model", "ease", "--reg", "1"][..],
        &["train", "--model", "itemknn"][..],
    ] {
        let out = run(kgrec(&data).args(args));
        let err = stderr(&out);
        assert!(out.status.success(), "{args:?}: {err}");
        assert!(!err.contains("popularity order"), "{args:?}: {err}");
        assert!(
            err.contains("no item has more than one interaction"),
            "{args:?}: {err}"
        );
        // Neither the value in use nor a setting is blamed.
        assert!(!err.contains("(e.g. 1)"), "{args:?}: {err}");
        assert!(!err.contains("BM25"), "{args:?}: {err}");
        // The list says so too.
        let out = run(kgrec(&data).args(["recommend", "--user", "b3"]));
        let err = stderr(&out);
        assert!(out.status.success(), "{err}");
        assert!(err.contains("no two users share an item"), "{err}");
        assert!(!err.contains("popularity order"), "{err}");
    }
}

/// Finding 11: e-mail ids that differ only in case are noted at import (kept apart), and an
/// unknown id in the other case gets a did-you-mean from `recommend` and from `predict` (which,
/// like `recommend` for an unknown user, answers with exit 0 and says so: the global mean).
#[test]
fn ids_differing_only_in_case_are_noted_and_suggested() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = write_file(
        dir.path(),
        "a.csv",
        "user_id,item_id,rating\nann@example.com,i1,4\nann@example.com,i2,5\n\
         bob@example.com,i1,3\nbob@example.com,i3,2\ncy@example.com,i2,4\ncy@example.com,i3,1\n",
    );
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&first));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("differ from another"),
        "{}",
        stderr(&out)
    );
    let second = write_file(
        dir.path(),
        "b.csv",
        "user_id,item_id,rating\nAnn@Example.com,i3,2\ndee@example.com,i1,5\n",
    );
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&second));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("1 new user id(s) differ from another only by leading zeros, letter case")
            && err.contains("\"Ann@Example.com\" beside \"ann@example.com\""),
        "{err}"
    );
    assert_eq!(stats(&data)["users"], 5, "kept apart: {}", stats(&data));
    ok(kgrec(&data).args(["-q", "train", "--model", "pop"]));
    let out = run(kgrec(&data).args(["recommend", "--user", "BOB@example.com", "-k", "2"]));
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        text.contains("no user \"BOB@example.com\"; did you mean \"bob@example.com\"?")
            && text.contains("letter case"),
        "{text}"
    );
    ok(kgrec(&data).args(["-q", "train", "--model", "svd", "--seed", "1"]));
    let out = run(kgrec(&data).args(["predict", "--user", "Cy@Example.com", "--item", "i1"]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("no user \"Cy@Example.com\"; did you mean \"cy@example.com\"?")
            && err.contains("the prediction is for an unknown user"),
        "{err}"
    );
    assert!(
        stdout(&out).contains("predicted rating"),
        "{}",
        stdout(&out)
    );
}
