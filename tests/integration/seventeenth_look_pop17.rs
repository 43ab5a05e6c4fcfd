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

