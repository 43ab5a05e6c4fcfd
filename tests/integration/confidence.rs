//! `--confidence` (als, cke): what `r` in ALS's confidence `1 + α·r` is made of, end to end.

use std::path::{Path, PathBuf};

use crate::common::*;

/// The fixture interactions with the rating column rewritten by `rating` (`None`: the column
/// dropped), written to `tmp/name.tsv`.
fn fixture_with_ratings(tmp: &Path, name: &str, rating: Option<&str>) -> PathBuf {
    let text = std::fs::read_to_string(fixture("interactions.tsv")).unwrap();
    let rows: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(n, line)| {
            let mut cols: Vec<&str> = line.split('\t').collect();
            match rating {
                Some(_) if n == 0 => {}
                Some(r) => cols[2] = r,
                None => {
                    cols.remove(2);
                }
            }
            cols.join("\t")
        })
        .collect();
    let file = tmp.join(format!("{name}.tsv"));
    std::fs::write(&file, rows.join("\n") + "\n").unwrap();
    file
}

/// Every user's top 10 with scores after `train --model als --confidence <confidence>` on
/// `file`, in a data directory of its own.
fn als_lists(tmp: &Path, file: &Path, confidence: &str) -> String {
    let data = tmp.join(format!(
        "{}-{confidence}",
        file.file_stem().unwrap().to_string_lossy()
    ));
    ok(kgrec(&data)
        .args(["import", "interactions", "--quiet"])
        .arg(file));
    train_als(&data, confidence);
    ok(kgrec(&data).args([
        "recommend",
        "--all-users",
        "-k",
        "10",
        "--out",
        "-",
        "--quiet",
    ]))
}

/// `train --model als --reg 3 --seed 5 --confidence <confidence>` (the fixture's 24 items need
/// a weak regularisation).
fn train_als(data: &Path, confidence: &str) {
    ok(kgrec(data)
        .args([
            "train", "--quiet", "--model", "als", "--reg", "3", "--seed", "5",
        ])
        .args(["--confidence", confidence]));
}

#[test]
fn rating_confidence_differs_from_binary_on_ratings_and_equals_it_without_them() {
    let tmp = tempfile::tempdir().unwrap();
    let rated = fixture("interactions.tsv");
    let binary = als_lists(tmp.path(), &rated, "binary");
    assert!(binary.lines().count() > 20, "{binary}");
    assert_ne!(
        als_lists(tmp.path(), &rated, "rating"),
        binary,
        "ratings 1-5 weigh the positives"
    );
    // All ratings 1 (clicks), and no rating column at all: rating confidence is binary.
    for (name, rating) in [("ones", Some("1")), ("unrated", None)] {
        let file = fixture_with_ratings(tmp.path(), name, rating);
        assert_eq!(
            als_lists(tmp.path(), &file, "rating"),
            als_lists(tmp.path(), &file, "binary"),
            "{name}"
        );
    }
    // Counts of 1 weigh as binary too (log2(1 + 1) = 1).
    let ones = fixture_with_ratings(tmp.path(), "ones", Some("1"));
    assert_eq!(
        als_lists(tmp.path(), &ones, "count"),
        als_lists(tmp.path(), &ones, "binary")
    );
    // The default is rating confidence, its range resolved from the data (1-5: r/5); on
    // ratings of one value it resolves none. (The test file only has to be held out: a test
    // file whose every row is a training row is refused.)
    let held_out = tmp.path().join("held_out.tsv");
    std::fs::write(&held_out, "user_id\titem_id\nsomeone-new\t50\n").unwrap();
    let params = |train: &Path| -> serde_json::Value {
        let out = ok(kgrec(tmp.path())
            .args([
                "eval", "--model", "als", "--format", "json", "--quiet", "--train",
            ])
            .arg(train)
            .arg("--test")
            .arg(&held_out));
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["params"].clone()
    };
    let rated_params = params(&rated);
    assert_eq!(rated_params["confidence"], "rating", "{rated_params}");
    assert_eq!(
        rated_params["rating_range"],
        serde_json::json!([0.0, 5.0]),
        "{rated_params}"
    );
    let ones_params = params(&ones);
    assert_eq!(ones_params["confidence"], "rating", "{ones_params}");
    assert!(ones_params.get("rating_range").is_none(), "{ones_params}");
}

/// Two users who arrive after training with the same items and mirrored ratings are folded in
/// apart by a rating-confidence model, alike by a binary one.
#[test]
fn the_fold_in_weighs_a_new_users_ratings() {
    let tmp = tempfile::tempdir().unwrap();
    let newcomers = tmp.path().join("newcomers.tsv");
    let items = ["172", "174", "181", "50", "96", "56"];
    let mut rows = vec!["user_id\titem_id\trating\ttimestamp".to_owned()];
    for (user, high) in [("fan-a", 0..3), ("fan-b", 3..6)] {
        for (k, item) in items.iter().enumerate() {
            let rating = if high.contains(&k) { 5 } else { 1 };
            rows.push(format!("{user}\t{item}\t{rating}\t{}", 1_700_000_000 + k));
        }
    }
    std::fs::write(&newcomers, rows.join("\n") + "\n").unwrap();
    let scores = |confidence: &str| -> (serde_json::Value, serde_json::Value) {
        let data = tmp.path().join(confidence);
        ok(kgrec(&data)
            .args(["import", "interactions", "--quiet"])
            .arg(fixture("interactions.tsv")));
        train_als(&data, confidence);
        ok(kgrec(&data)
            .args(["import", "interactions", "--quiet"])
            .arg(&newcomers));
        let list = |user: &str| -> serde_json::Value {
            let out = ok(kgrec(&data).args([
                "recommend",
                "--user",
                user,
                "-k",
                "8",
                "--format",
                "json",
                "--quiet",
            ]));
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(v["folded_in"], true, "{v}");
            v["items"].clone()
        };
        (list("fan-a"), list("fan-b"))
    };
    let (a, b) = scores("binary");
    assert_eq!(a, b, "binary confidence does not read the ratings");
    let (a, b) = scores("rating");
    assert_ne!(a, b, "rating confidence weighs 5s above 1s");
}
