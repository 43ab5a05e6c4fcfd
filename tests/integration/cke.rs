//! The knowledge-aware model through the binary: the default learner, deterministic, and able to
//! recommend a linked item nobody has interacted with yet.

use crate::cf::models;
use crate::common::*;
use std::path::Path;

/// Fixture graph + interactions, with the fixture links plus `extra` link rows.
fn imported_with_links(tmp: &Path, extra: &str) -> std::path::PathBuf {
    let data = tmp.join("data");
    import_movie_graph(&data);
    let links = tmp.join("links.tsv");
    let text = std::fs::read_to_string(fixture("links.tsv")).unwrap();
    std::fs::write(&links, format!("{text}{extra}")).unwrap();
    ok(kgrec(&data)
        .args(["import", "interactions"])
        .arg(fixture("interactions.tsv"))
        .arg("--link")
        .arg(&links));
    data
}

fn batch(data: &Path, out: &Path) -> String {
    ok(kgrec(data)
        .args(["recommend", "--all-users", "-k", "5", "--out"])
        .arg(out));
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn train_defaults_to_cke_and_the_same_seed_gives_the_same_lists() {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported_with_links(tmp.path(), "");
    let out = ok(kgrec(&data).args(["train", "--seed", "4"]));
    assert!(out.contains("trained cke"), "{out}");
    let current: Vec<String> = models(&data)
        .into_iter()
        .filter(|m| m.ends_with("(current)"))
        .collect();
    assert_eq!(current.len(), 1);
    assert!(current[0].contains("cke"), "{current:?}");
    let first = batch(&data, &tmp.path().join("a.tsv"));

    ok(kgrec(&data).args(["train", "--seed", "4"]));
    assert_eq!(batch(&data, &tmp.path().join("b.tsv")), first);

    // Every score is a finite number and ranks run 1..=5 per user.
    for line in first.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 4, "{line}");
        let score: f32 = cols[3].parse().unwrap();
        assert!(score.is_finite(), "{line}");
        assert!(matches!(cols[2], "1" | "2" | "3" | "4" | "5"), "{line}");
    }
}

#[test]
fn a_linked_item_without_interactions_is_recommended_from_the_graph() {
    let tmp = tempfile::tempdir().unwrap();
    // Item 9001 has no interactions; it is linked to a film of the graph (a new edition of Jaws,
    // say: several items may share one entity).
    let data = imported_with_links(
        tmp.path(),
        "9001\thttp://dbpedia.org/resource/Jaws_(film)\n",
    );
    assert_eq!(stats(&data)["items"], 25);

    // CF alone cannot score it: ALS learnt nothing about it, so it never ranks it (it used to
    // rank it at score 0, ahead of every negative score).
    ok(kgrec(&data).args(["train", "--model", "als"]));
    let als = batch(&data, &tmp.path().join("als.tsv"));
    assert!(rows_of(&als, "9001").is_empty(), "{als}");

    // The fused model gives it its entity's embedding: a real score, and for some user a place
    // above an item with interactions.
    ok(kgrec(&data).args(["train", "--model", "cke", "--cold-scale", "1"]));
    let cke = batch(&data, &tmp.path().join("cke.tsv"));
    let cke_rows = rows_of(&cke, "9001");
    assert!(cke_rows.iter().any(|r| r.score.abs() > 1e-3), "{cke}");
    let lists = cke
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect::<Vec<_>>());
    let mut above_a_warm_item = false;
    for r in &cke_rows {
        above_a_warm_item |= lists
            .clone()
            .any(|c| c[0] == r.user && c[1] != "9001" && c[2].parse::<usize>().unwrap() > r.rank);
    }
    assert!(above_a_warm_item, "{cke}");

    // --cold-scale belongs to cke alone.
    let out = run(kgrec(&data).args(["train", "--model", "als", "--cold-scale", "1"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    // By default 9001 sits where its nearest items in the graph sit. Jaws (item 234) shares its
    // entity and so its whole neighbourhood: with one neighbour, 9001 scores as Jaws for everyone.
    ok(kgrec(&data).args(["train", "--model", "cke", "--cold-neighbours", "1"]));
    ok(kgrec(&data)
        .args(["recommend", "--all-users", "-k", "25", "--out"])
        .arg(tmp.path().join("all.tsv")));
    let all = std::fs::read_to_string(tmp.path().join("all.tsv")).unwrap();
    let (new, jaws) = (rows_of(&all, "9001"), rows_of(&all, "234"));
    let mut compared = 0;
    for r in &new {
        if let Some(j) = jaws.iter().find(|j| j.user == r.user) {
            assert!(
                (r.score - j.score).abs() < 1e-4,
                "{}: {} vs {}",
                r.user,
                r.score,
                j.score
            );
            compared += 1;
        }
    }
    assert!(
        compared > 0 && new.iter().any(|r| r.score.abs() > 1e-3),
        "{all}"
    );
    for bad in [
        &["--model", "als", "--cold-neighbours", "3"][..],
        &["--model", "bpr", "--neighbour-weight", "3"][..],
        &["--model", "cke", "--neighbour-weight=-1"][..],
        &[
            "--model",
            "cke",
            "--cold-neighbours",
            "3",
            "--cold-scale",
            "1",
        ][..],
        &["--model", "cke", "--cold-neighbours", "0"][..],
    ] {
        let out = run(kgrec(&data).arg("train").args(bad));
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("cold") || stderr(&out).contains("neighbour"),
            "{bad:?}: {}",
            stderr(&out)
        );
    }
}

/// With both graph weights 0, `cke` fits what ALS fits, and still places a linked item without
/// interactions among its nearest items in the graph: `recommend` lists it (scoring as Jaws,
/// whose entity it shares, with one neighbour). With `--cold-scale` there is no embedding to
/// scale, so it stays unranked, and `train` says why.
#[test]
fn a_graph_off_cke_still_recommends_a_linked_item_without_interactions() {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported_with_links(
        tmp.path(),
        "9001\thttp://dbpedia.org/resource/Jaws_(film)\n",
    );
    let off = [
        "train",
        "--model",
        "cke",
        "--kg-weight",
        "0",
        "--neighbour-weight",
        "0",
    ];
    ok(kgrec(&data).args(off).args(["--cold-neighbours", "1"]));
    let all_path = tmp.path().join("off.tsv");
    ok(kgrec(&data)
        .args(["recommend", "--all-users", "-k", "25", "--out"])
        .arg(&all_path));
    let all = std::fs::read_to_string(&all_path).unwrap();
    let (new, jaws) = (rows_of(&all, "9001"), rows_of(&all, "234"));
    assert!(new.iter().any(|r| r.score.abs() > 1e-3), "{all}");
    let mut compared = 0;
    for r in &new {
        if let Some(j) = jaws.iter().find(|j| j.user == r.user) {
            assert!(
                (r.score - j.score).abs() < 1e-4,
                "{}: {} vs {}",
                r.user,
                r.score,
                j.score
            );
            compared += 1;
        }
    }
    assert!(compared > 0, "{all}");
    // One user's list names it too.
    let user = &new[0].user;
    let one = ok(kgrec(&data).args(["recommend", "--user", user, "-k", "25"]));
    assert!(one.contains("9001"), "{one}");

    let out = run(kgrec(&data).args(off).args(["--cold-scale", "1"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("stay unranked"), "{}", stderr(&out));
    let scaled = batch(&data, &tmp.path().join("scaled.tsv"));
    assert!(rows_of(&scaled, "9001").is_empty(), "{scaled}");
}

struct Row {
    user: String,
    rank: usize,
    score: f32,
}

/// The batch rows recommending `item`.
fn rows_of(batch: &str, item: &str) -> Vec<Row> {
    batch
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|c| c[1] == item)
        .map(|c| Row {
            user: c[0].to_owned(),
            rank: c[2].parse().unwrap(),
            score: c[3].parse().unwrap(),
        })
        .collect()
}

#[test]
fn recbole_links_name_tsv_tokens_and_reach_the_graph() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let kg = tmp.path().join("tiny.kg");
    std::fs::write(
        &kg,
        "head_id:token\trelation_id:token\ttail_id:token\n\
         m.film1\tfilm.director\tm.person1\n\
         m.film2\tfilm.director\tm.person1\n\
         m.film3\tfilm.genre\tm.genre1\n",
    )
    .unwrap();
    let link = tmp.path().join("tiny.link");
    std::fs::write(
        &link,
        "item_id:token\tentity_id:token\n1\tm.film1\n2\tm.film2\n3\tm.film3\n4\tm.nowhere\n",
    )
    .unwrap();
    let inter = tmp.path().join("tiny.tsv");
    std::fs::write(
        &inter,
        "user_id\titem_id\nu1\t1\nu1\t3\nu2\t2\nu2\t3\nu3\t1\n",
    )
    .unwrap();
    ok(kgrec(&data).args(["import", "kg"]).arg(&kg));
    let out = run(kgrec(&data)
        .args(["import", "interactions"])
        .arg(&inter)
        .arg("--link")
        .arg(&link));
    assert!(out.status.success(), "{}", stderr(&out));
    // Three tokens resolve under urn:kgrec:, the fourth is not in the graph.
    assert!(
        stderr(&out).contains("1 linked IRI(s) are not in the knowledge graph"),
        "{}",
        stderr(&out)
    );
    // Item 2's IRI is the one the TSV import minted for its token.
    let recs = ok(kgrec(&data).args(["train", "--model", "cke", "--seed", "1"]));
    assert!(recs.contains("trained cke"), "{recs}");
    let out = ok(kgrec(&data).args(["recommend", "--user", "u3", "-k", "3", "--format", "json"]));
    assert!(out.contains("urn:kgrec:m.film2"), "{out}");
}

/// `similar` compares only vectors the model learnt: an item with no interactions when the
/// model was trained keeps the vector it started with under ALS (its cosines mean nothing),
/// unless cke placed it from its entity in the graph (flagged); an item added since has none.
#[test]
fn similar_leaves_out_items_the_model_never_learnt_and_flags_those_from_the_graph() {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported_with_links(
        tmp.path(),
        "9001\thttp://dbpedia.org/resource/Jaws_(film)\n9002\thttp://example.org/not-in-the-graph\n",
    );
    let similar = |item: &str| {
        run(kgrec(&data).args(["similar", "-k", "30", "--format", "json", "--item", item]))
    };
    let listed = |out: &std::process::Output| -> serde_json::Value {
        assert!(out.status.success(), "{}", stderr(out));
        serde_json::from_str(&stdout(out)).unwrap()
    };
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v["similar"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["item"].as_str().unwrap().to_owned())
            .collect()
    };

    ok(kgrec(&data).args(["train", "--model", "als", "-q"]));
    for item in ["9001", "9002"] {
        let out = similar(item);
        expect_bad_input(
            &out,
            &data,
            &[
                &format!("item \"{item}\" had no interactions when the model was trained"),
                "als does not use the graph",
                "model v1 als learnt nothing about it",
            ],
        );
    }
    let out = similar("234");
    let jaws = listed(&out);
    assert_eq!(jaws["left_out"], 2, "{jaws}");
    assert!(
        stderr(&out).contains("note: 2 item(s) left out: model v1 als learnt nothing about them"),
        "{}",
        stderr(&out)
    );
    assert_eq!(ids(&jaws).len(), 23, "{jaws}");
    assert!(!ids(&jaws).iter().any(|i| i.starts_with("900")), "{jaws}");

    ok(kgrec(&data).args(["train", "--model", "cke", "-q"]));
    let out = similar("9001");
    let new = listed(&out);
    assert_eq!(new["graph_only"], true, "{new}");
    assert!(
        stderr(&out).contains("its vector, and so these similarities, come from the graph alone"),
        "{}",
        stderr(&out)
    );
    assert_eq!(new["left_out"], 1, "{new}");
    assert!(!ids(&new).contains(&"9002".to_owned()), "{new}");
    expect_bad_input(
        &similar("9002"),
        &data,
        &["had no interactions when the model was trained and no linked entity in the graph"],
    );
    let jaws = listed(&similar("234"));
    let flagged: Vec<&serde_json::Value> = jaws["similar"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["graph_only"] == true)
        .collect();
    assert_eq!(flagged.len(), 1, "{jaws}");
    assert_eq!(flagged[0]["item"], "9001", "{jaws}");
    let text = ok(kgrec(&data).args(["similar", "--item", "234", "-k", "30"]));
    assert!(
        text.lines()
            .any(|l| l.contains("9001") && l.ends_with("(from the graph alone)")),
        "{text}"
    );

    let late = tmp.path().join("late.tsv");
    std::fs::write(
        &late,
        "item_id\tiri\n9003\thttp://dbpedia.org/resource/Jaws_(film)\n",
    )
    .unwrap();
    ok(kgrec(&data).args(["import", "links", "-q"]).arg(&late));
    expect_bad_input(
        &similar("9003"),
        &data,
        &[
            "was added after the model was trained",
            "train again to include it",
        ],
    );
}
