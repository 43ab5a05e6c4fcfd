//! Rating prediction through the binary: the rating scale at import (declared, stored, checked,
//! inferred), `train --model svd|svdpp`, `predict` for a known pair, an unknown user and an
//! unknown item, and `eval --task rating`.

use crate::common::*;
use std::path::Path;

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

/// The fixture interactions (ratings 1 to 5) imported with a declared scale.
fn rated(tmp: &Path) -> std::path::PathBuf {
    let data = tmp.join("data");
    ok(kgrec(&data)
        .args(["import", "interactions"])
        .arg(fixture("interactions.tsv"))
        .args(["--rating-scale", "1:5"]));
    data
}

#[test]
fn a_rating_outside_the_scale_names_file_and_line_and_later_imports_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.tsv");
    write(&bad, "user_id\titem_id\trating\nu1\ti1\t3\nu2\ti2\t7\n");
    let data = tmp.path().join("fresh");
    let out = run(kgrec(&data)
        .args(["import", "interactions"])
        .arg(&bad)
        .args(["--rating-scale", "1:5"]));
    expect_bad_input(&out, &bad, &["bad.tsv:3", "rating 7", "1:5"]);
    assert!(
        !data.join("sled").exists(),
        "a refused file leaves nothing behind"
    );

    // Declared once, stored: a later import without the flag is checked against it.
    let data = rated(tmp.path());
    let s = stats(&data);
    assert_eq!(s["rating_scale"]["declared"], true, "{s}");
    assert_eq!(s["rating_scale"]["max"], 5.0);
    let before = s["interactions"].clone();
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&bad));
    expect_bad_input(&out, &bad, &["bad.tsv:3", "outside the rating scale 1:5"]);
    assert_eq!(stats(&data)["interactions"], before, "nothing was written");
    let out = run(kgrec(&data)
        .args(["import", "interactions"])
        .arg(fixture("interactions.tsv"))
        .args(["--rating-scale", "0:10"]));
    expect_bad_input(&out, &fixture("interactions.tsv"), &["0:10", "1:5"]);

    // Without a declaration the scale is inferred and said so.
    let other = tmp.path().join("inferred");
    ok(kgrec(&other).args(["import", "interactions"]).arg(&bad));
    let s = stats(&other);
    assert_eq!(s["rating_scale"]["declared"], false, "{s}");
    assert_eq!(
        (
            s["rating_scale"]["min"].as_f64(),
            s["rating_scale"]["max"].as_f64()
        ),
        (Some(3.0), Some(7.0))
    );
    let text = ok(kgrec(&other).arg("stats"));
    assert!(text.contains("3:7 (inferred"), "{text}");
}

#[test]
fn svd_and_svdpp_predict_known_pairs_unknown_users_and_unknown_items() {
    let tmp = tempfile::tempdir().unwrap();
    let data = rated(tmp.path());
    for model in ["svd", "svdpp"] {
        ok(kgrec(&data).args(["train", "--model", model, "--quiet"]));
        let known = json(&ok(kgrec(&data).args([
            "predict", "--user", "1", "--item", "172", "--format", "json",
        ])));
        assert_eq!(known["basis"], "trained", "{known}");
        let r = known["rating"].as_f64().unwrap();
        assert!((1.0..=5.0).contains(&r), "{model}: {known}");
        // The same model, the same answer; a trained model ranks too.
        let again = json(&ok(kgrec(&data).args([
            "predict", "--user", "1", "--item", "172", "--format", "json",
        ])));
        assert_eq!(again["rating"], known["rating"]);
        ok(kgrec(&data).args(["recommend", "--user", "1", "-k", "3"]));

        let out = run(kgrec(&data).args([
            "predict", "--user", "nobody", "--item", "172", "--format", "json",
        ]));
        assert!(out.status.success(), "{}", stderr(&out));
        let unknown_user = json(&stdout(&out));
        assert_eq!(unknown_user["basis"], "unknown_user", "{unknown_user}");
        assert!(unknown_user["rating"].as_f64().unwrap().is_finite());
        assert!(
            stderr(&out).contains("global mean plus the item's bias"),
            "{}",
            stderr(&out)
        );

        let out = run(kgrec(&data).args(["predict", "--user", "1", "--item", "no-such-item"]));
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("flagged"), "{}", stdout(&out));
        assert!(!stdout(&out).contains("NaN"), "{}", stdout(&out));
        assert!(
            stderr(&out).contains("item no-such-item is unknown"),
            "{}",
            stderr(&out)
        );
    }
    // A ranking model does not predict ratings.
    ok(kgrec(&data).args(["train", "--model", "pop", "--quiet"]));
    let out = run(kgrec(&data).args(["predict", "--user", "1", "--item", "172"]));
    expect_bad_input(&out, &data, &["does not predict ratings", "svd"]);
}

/// A rating scale in the thousands (durations, play counts) trains at the default learning
/// rate: svd/svdpp fit in units of a quarter of the scale's span, so the fixture's ratings
/// times 700 give the predictions times 700; and `tune` of a rating learner on such data
/// finishes.
#[test]
fn a_scale_in_the_thousands_trains_with_the_defaults_and_predicts_in_proportion() {
    let tmp = tempfile::tempdir().unwrap();
    let stars = rated(tmp.path());
    let text = std::fs::read_to_string(fixture("interactions.tsv")).unwrap();
    let mut lines = text.lines();
    let mut scaled = format!("{}\n", lines.next().unwrap());
    for line in lines {
        let mut fields: Vec<String> = line.split('\t').map(str::to_owned).collect();
        let r: f64 = fields[2].parse().unwrap();
        fields[2] = format!("{}", r * 700.0);
        scaled.push_str(&fields.join("\t"));
        scaled.push('\n');
    }
    let file = tmp.path().join("seconds.tsv");
    write(&file, &scaled);
    let wide = tmp.path().join("wide");
    ok(kgrec(&wide)
        .args(["import", "interactions"])
        .arg(&file)
        .args(["--rating-scale", "700:3500"]));
    for model in ["svd", "svdpp"] {
        let mut predictions = Vec::new();
        for data in [&stars, &wide] {
            ok(kgrec(data).args(["train", "--model", model, "--quiet"]));
            let p = json(&ok(kgrec(data).args([
                "predict", "--user", "1", "--item", "172", "--format", "json",
            ])));
            predictions.push(p["rating"].as_f64().unwrap());
        }
        let (stars, wide) = (predictions[0], predictions[1]);
        assert!((700.0..=3500.0).contains(&wide), "{model}: {wide}");
        assert!(
            (wide - 700.0 * stars).abs() < 0.01 * wide,
            "{model}: {wide} against 700 × {stars}"
        );
    }
    let out = ok(kgrec(&wide).args([
        "tune",
        "--models",
        "svd,als",
        "--budget",
        "4s",
        "--no-train",
        "--format",
        "json",
    ]));
    let tuned = json(&out);
    let learners: Vec<&str> = tuned["learners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["learner"].as_str().unwrap())
        .collect();
    assert_eq!(learners, ["svd", "als"], "{tuned}");
}

#[test]
fn eval_task_rating_prints_finite_rmse_and_mae() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("interactions.tsv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let (mut train, mut test) = (vec![header.to_owned()], vec![header.to_owned()]);
    for (k, line) in lines.enumerate() {
        if k % 5 == 0 {
            test.push(line.to_owned())
        } else {
            train.push(line.to_owned())
        }
    }
    let (train_file, test_file) = (tmp.path().join("train.tsv"), tmp.path().join("test.tsv"));
    write(&train_file, &(train.join("\n") + "\n"));
    write(&test_file, &(test.join("\n") + "\n"));
    let eval = |model: &str| {
        json(&ok(kgrec(&tmp.path().join("unused"))
            .args([
                "eval", "--task", "rating", "--model", model, "--format", "json", "--quiet",
            ])
            .arg("--train")
            .arg(&train_file)
            .arg("--test")
            .arg(&test_file)))
    };
    for model in ["svd", "svdpp"] {
        let r = eval(model);
        let (rmse, mae) = (r["rmse"].as_f64().unwrap(), r["mae"].as_f64().unwrap());
        assert!(rmse.is_finite() && rmse > 0.0 && rmse < 2.0, "{model}: {r}");
        assert!(mae <= rmse, "{model}: {r}");
        assert_eq!(r["rated"].as_u64().unwrap() as usize, test.len() - 1);
    }
    let out = run(kgrec(&tmp.path().join("unused"))
        .args(["eval", "--task", "rating", "--model", "als", "--quiet"])
        .arg("--train")
        .arg(&train_file)
        .arg("--test")
        .arg(&test_file));
    expect_bad_input(&out, &train_file, &["does not predict ratings"]);
}

/// The graph and the rated fixture, with item 9001 unrated and linked to Jaws' entity (a new
/// edition, say), so it shares Jaws' (item 234's) whole neighbourhood in the graph.
pub fn rated_with_unrated_jaws(tmp: &Path) -> std::path::PathBuf {
    let data = tmp.join("data");
    import_movie_graph(&data);
    let links = tmp.join("links.tsv");
    let text = std::fs::read_to_string(fixture("links.tsv")).unwrap();
    write(
        &links,
        &format!("{text}9001\thttp://dbpedia.org/resource/Jaws_(film)\n"),
    );
    ok(kgrec(&data)
        .args(["import", "interactions"])
        .arg(fixture("interactions.tsv"))
        .args(["--rating-scale", "1:5", "--link"])
        .arg(&links));
    data
}

#[test]
fn the_graph_variant_predicts_an_unrated_linked_item_from_its_look_alikes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = rated_with_unrated_jaws(tmp.path());
    let predict = |item: &str| {
        let out =
            run(kgrec(&data).args(["predict", "--user", "1", "--item", item, "--format", "json"]));
        assert!(out.status.success(), "{}", stderr(&out));
        (json(&stdout(&out)), stderr(&out))
    };
    for model in ["svd", "svdpp"] {
        // With one nearest item, 9001 takes Jaws' vector and bias: the same prediction.
        let out = run(kgrec(&data).args(["train", "--model", model, "--neighbours", "1"]));
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("placed at their nearest rated items"),
            "{}",
            stderr(&out)
        );
        let (new, note) = predict("9001");
        assert_eq!(new["basis"], "graph_neighbours", "{new}");
        assert!(
            note.contains("nearest rated items in the knowledge graph"),
            "{note}"
        );
        let (jaws, _) = predict("234");
        assert_eq!(jaws["basis"], "trained", "{jaws}");
        let (a, b) = (
            new["rating"].as_f64().unwrap(),
            jaws["rating"].as_f64().unwrap(),
        );
        assert!((a - b).abs() < 1e-4, "{model}: {new} vs {jaws}");

        // The prior off: the item is unknown to the model, the mean plus the user's bias.
        ok(kgrec(&data).args(["train", "--model", model, "--kg-weight", "0", "--quiet"]));
        let (off, _) = predict("9001");
        assert_eq!(off["basis"], "unknown_item", "{off}");
    }
    // Without a graph the prior has nothing to read, and says so.
    let bare = tmp.path().join("bare");
    ok(kgrec(&bare)
        .args(["import", "interactions"])
        .arg(fixture("interactions.tsv")));
    let out = run(kgrec(&bare).args(["train", "--model", "svd"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("svd trains without its graph prior"),
        "{}",
        stderr(&out)
    );
}

/// Every rating 4: stats said "no rating stored" and `train --model svd` "no interaction has a
/// rating". Both now name the real cause: one distinct value, so no scale can be inferred.
#[test]
fn ratings_of_one_value_are_named_as_such_by_stats_and_train() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let same = tmp.path().join("same.tsv");
    write(
        &same,
        "user_id\titem_id\trating\nu1\ti1\t4\nu1\ti2\t4\nu2\ti1\t4\nu2\ti3\t4\n",
    );
    ok(kgrec(&data).args(["import", "interactions"]).arg(&same));
    let text = ok(kgrec(&data).arg("stats"));
    assert!(
        text.contains("every stored rating is 4 (one distinct value, so no scale can be inferred"),
        "{text}"
    );
    assert!(!text.contains("no rating stored"), "{text}");
    let out = run(kgrec(&data).args(["train", "--model", "svd"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("every stored rating is 4"), "{err}");
    assert!(err.contains("--rating-scale"), "{err}");
    assert!(!err.contains("no interaction has a rating"), "{err}");
}
