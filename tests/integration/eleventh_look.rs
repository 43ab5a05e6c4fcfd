//! The tenth fresh look's open findings (issue 21): tune's table shows the records kept and
//! leaves a missing graph's knobs out, a gain within noise is named, an outlying rating appended
//! to a store is judged by the store's ratings, a MovieLens CSV header, a space-separated line
//! in a TSV graph, unlabelled entities in explanations, the unlinked-items warning, link file
//! column flags.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::common::{Server, expect_bad_input, kgrec, ok, run, stats, stderr, stdout};

/// 150 users in 4 taste groups over 120 items (15 items each, 70 % in their group's 30),
/// from a fixed linear congruential sequence: the same file on every run.
fn grouped_catalogue(tmp: &Path) -> PathBuf {
    let data = tmp.join("data");
    let file = tmp.join("grouped.tsv");
    let mut state: u64 = 12345;
    let mut next = |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    let mut rows = String::from("user_id\titem_id\n");
    for u in 0..150u64 {
        let group = u % 4;
        let mut items = std::collections::BTreeSet::new();
        while items.len() < 15 {
            let i = match next(10) < 7 {
                true => group * 30 + next(30),
                false => next(120),
            };
            items.insert(i);
        }
        for i in items {
            writeln!(rows, "u{u}\ti{i}").unwrap();
        }
    }
    std::fs::write(&file, rows).unwrap();
    ok(kgrec(&data).args(["import", "interactions"]).arg(&file));
    data
}

fn tune_json(data: &Path, models: &str, trials: &str) -> serde_json::Value {
    let out = ok(kgrec(data).args([
        "tune",
        "--models",
        models,
        "--trials",
        trials,
        "--no-train",
        "--quiet",
        "--format",
        "json",
    ]));
    serde_json::from_str(&out).unwrap()
}

/// A shorter run that keeps a learner's earlier, better record shows that record in its table
/// and says so, instead of this run's worse best.
#[test]
fn a_kept_earlier_record_is_what_the_table_shows() {
    let tmp = tempfile::tempdir().unwrap();
    let data = grouped_catalogue(tmp.path());
    let long = tune_json(&data, "itemknn,bpr", "12");
    let value = |j: &serde_json::Value, learner: &str| {
        j["learners"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["learner"] == learner)
            .unwrap()["value"]
            .as_f64()
            .unwrap()
    };
    let short = tune_json(&data, "itemknn,bpr", "1");
    let kept = short["earlier_kept"].as_array().unwrap();
    assert!(!kept.is_empty(), "{short}");
    for k in kept {
        let learner = k["learner"].as_str().unwrap();
        // The record kept is the long run's, and the short run's own best was lower.
        assert_eq!(value(&short, learner), value(&long, learner), "{short}");
        assert!(k["this_run_value"].as_f64().unwrap() < value(&long, learner));
    }
    // The text table: the kept figure in the learner's row, and why.
    let text = ok(kgrec(&data).args([
        "tune",
        "--models",
        "itemknn,bpr",
        "--trials",
        "1",
        "--no-train",
        "--quiet",
    ]));
    let learner = kept[0]["learner"].as_str().unwrap();
    let row = text
        .lines()
        .find(|l| l.starts_with(learner))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        row.contains(&format!("{:.4}", value(&long, learner))),
        "{row}\n{text}"
    );
    assert!(
        text.contains(&format!("{learner}: an earlier tuning's record is kept")),
        "{text}"
    );
}

/// cke tuned without a graph draws none of the graph's knobs and says the graph is absent.
#[test]
fn cke_without_a_graph_is_tuned_without_graph_knobs() {
    let tmp = tempfile::tempdir().unwrap();
    let data = grouped_catalogue(tmp.path());
    let j = tune_json(&data, "cke", "4");
    assert_eq!(j["without_graph"], serde_json::json!(["cke"]), "{j}");
    for trial in j["learners"][0]["trials"].as_array().unwrap() {
        for knob in ["kg_weight", "neighbour_weight", "attention", "cold_scale"] {
            assert!(trial["params"][knob].is_null(), "{knob}: {trial}");
        }
    }
    let text = ok(kgrec(&data).args(["tune", "--models", "cke", "--trials", "4", "--no-train"]));
    assert!(text.contains("cke: no linked item is in a graph"), "{text}");
    assert!(!text.contains("--kg-weight 0"), "{text}");
}

/// On 150 validation users a small gain of the best draw over the defaults is within one
/// standard error of the per-user differences: named as noise, in the text and the JSON.
#[test]
fn a_gain_within_its_standard_error_is_called_noise() {
    let tmp = tempfile::tempdir().unwrap();
    let data = grouped_catalogue(tmp.path());
    let j = tune_json(&data, "itemknn,ease", "12");
    let noisy = j["within_noise"].as_array().unwrap();
    assert!(!noisy.is_empty(), "{j}");
    for n in noisy {
        let (gain, se) = (
            n["gain"].as_f64().unwrap(),
            n["standard_error"].as_f64().unwrap(),
        );
        assert!(gain > 0.0 && gain < se, "{n}");
        assert_eq!(n["users"], 150);
    }
    let text = ok(kgrec(&tmp.path().join("data")).args([
        "tune",
        "--models",
        "itemknn,ease",
        "--trials",
        "12",
        "--no-train",
    ]));
    let learner = noisy[0]["learner"].as_str().unwrap();
    assert!(
        text.contains(&format!("{learner}: the gain over the defaults"))
            && text.contains("within noise"),
        "{text}"
    );
}

/// A store rated 1 to 5 (300 ratings).
fn rated_store(tmp: &Path) -> PathBuf {
    let data = tmp.join("rated");
    let file = tmp.join("rated.tsv");
    let mut rows = String::from("user_id\titem_id\trating\n");
    for u in 0..30 {
        for i in 0..10 {
            writeln!(rows, "u{u}\ti{}\t{}", (u * 7 + i) % 40, 1 + (u + i) % 5).unwrap();
        }
    }
    std::fs::write(&file, rows).unwrap();
    ok(kgrec(&data).args(["import", "interactions"]).arg(&file));
    data
}

/// A 99 appended to a store rated 1 to 5, in a file too small to judge alone or over HTTP, is
/// named against the store's ratings.
#[test]
fn an_outlying_rating_appended_to_a_store_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let data = rated_store(tmp.path());
    let add = tmp.path().join("add.tsv");
    std::fs::write(&add, "user_id\titem_id\trating\nu1\ti99\t99\nu2\ti98\t4\n").unwrap();
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&add));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "1 rating(s) far outside the 300 ratings the data directory held (1 to 5): 99"
        ),
        "{}",
        stderr(&out)
    );
    // A rating within the store's range says nothing of the kind.
    let fine = tmp.path().join("fine.tsv");
    std::fs::write(&fine, "user_id\titem_id\trating\nu3\ti97\t5\n").unwrap();
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&fine));
    assert!(!stderr(&out).contains("far outside"), "{}", stderr(&out));

    let server = Server::start(&data, &[]);
    let answer = server.post_json(
        "/v1/interactions",
        r#"[{"user": "u4", "item": "i96", "rating": 500}]"#,
    );
    assert_eq!(answer.status, 200, "{}", answer.text());
    let notes = answer.json()["notes"].to_string();
    assert!(
        // The store now runs 1 to 99 (the file's 99 above): 500 is far beyond that too.
        notes.contains("the request: 1 rating(s) far outside the 303 ratings")
            && notes.contains("(1 to 99): 500"),
        "{notes}"
    );
}

/// `--format movielens` on MovieLens' own `ratings.csv` (commas, a header): the header is
/// named and skipped, the rows read; a second header further down is an error naming its line.
#[test]
fn a_movielens_csv_header_is_said_and_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("ratings.csv");
    std::fs::write(
        &file,
        "userId,movieId,rating,timestamp\n1,10,4.0,964982703\n1,11,3.0,964981247\n2,10,5.0,964982224\n",
    )
    .unwrap();
    let data = tmp.path().join("data");
    let out = run(kgrec(&data)
        .args(["import", "interactions", "--format", "movielens"])
        .arg(&file));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "ratings.csv:1: read as a header (userId, movieId, rating, timestamp) and skipped"
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(stats(&data)["interactions"], 3);
    let joined = tmp.path().join("joined.csv");
    std::fs::write(
        &joined,
        "1,10,4.0,964982703\nuserId,movieId,rating,timestamp\n2,10,5.0,964982224\n",
    )
    .unwrap();
    let out = run(kgrec(&tmp.path().join("other"))
        .args(["import", "interactions", "--format", "movielens"])
        .arg(&joined));
    expect_bad_input(&out, &joined, &["joined.csv:2", "a line of names"]);
}

/// A space-separated line among tab-separated ones is refused naming its line and why (it was
/// read as a KGAT triple), or skipped alone under --lenient.
#[test]
fn a_space_separated_line_in_a_tab_separated_graph_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("g.tsv");
    std::fs::write(&file, "a\tr\tb\nc r d\nb\tr\tc\n").unwrap();
    let data = tmp.path().join("data");
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&file));
    expect_bad_input(&out, &file, &["g.tsv:2:1", "no tab", "tab-separated"]);
    assert!(!data.join("FORMAT").exists());
    let out = run(kgrec(&data).args(["import", "kg", "--lenient"]).arg(&file));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("g.tsv:2:1"), "{}", stderr(&out));
    assert_eq!(stats(&data)["triples"], 2);
    // A whole KGAT file (spaces throughout) is still read.
    let kgat = tmp.path().join("kg_final.txt");
    std::fs::write(&kgat, "0 1 5\n5 1 7\n").unwrap();
    ok(kgrec(&tmp.path().join("kgat"))
        .args(["import", "kg", "--format", "tsv"])
        .arg(&kgat));
}

/// Items linked to graph tokens without labels (Freebase-style `m.0...`): the explanation names
/// them by the token and says the graph has no label for them, in the text and in the JSON.
#[test]
fn unlabelled_entities_are_said_to_have_no_label() {
    let tmp = tempfile::tempdir().unwrap();
    let (graph, links, rows) = (
        tmp.path().join("g.kg"),
        tmp.path().join("l.link"),
        tmp.path().join("i.tsv"),
    );
    let mut g = String::new();
    let mut l = String::from("item_id\tentity_id\n");
    for i in 0..12 {
        writeln!(g, "m.0i{i}\tfilm.film.genre\tm.0g{}", i % 3).unwrap();
        writeln!(l, "{i}\tm.0i{i}").unwrap();
    }
    let mut r = String::from("user_id\titem_id\n");
    for u in 0..20 {
        for i in 0..12 {
            if (u + 2 * i) % 5 != 0 {
                writeln!(r, "u{u}\t{i}").unwrap();
            }
        }
    }
    std::fs::write(&graph, g).unwrap();
    std::fs::write(&links, l).unwrap();
    std::fs::write(&rows, r).unwrap();
    let data = tmp.path().join("data");
    ok(kgrec(&data)
        .args(["import", "kg", "--format", "tsv"])
        .arg(&graph));
    ok(kgrec(&data)
        .args(["import", "interactions"])
        .arg(&rows)
        .arg("--link")
        .arg(&links));
    ok(kgrec(&data).args(["train", "--model", "als"]));
    // u1 lacks items 2 and 7, and has 5, 8 and 11, of item 2's genre m.0g2.
    let text = ok(kgrec(&data).args(["explain", "--user", "u1", "--item", "2"]));
    assert!(text.contains("m.0i"), "{text}");
    assert!(text.contains("no label in the graph"), "{text}");
    let json =
        ok(kgrec(&data).args(["explain", "--user", "u1", "--item", "2", "--format", "json"]));
    let j: serde_json::Value = serde_json::from_str(&json).unwrap();
    let item = &j["items"][0];
    assert_eq!(item["label"], "m.0i2", "{j}");
    assert_eq!(item["unlabelled"], true, "{j}");
    let step = &item["paths"][0]["steps"][1];
    assert_eq!(step["from"]["unlabelled"], true, "{j}");
    // A labelled graph's nodes carry no such flag.
    let demo = tmp.path().join("demo");
    ok(kgrec(&demo)
        .args(["import", "kg"])
        .arg(crate::common::fixture("movies.ttl")));
    ok(kgrec(&demo)
        .args(["import", "interactions"])
        .arg(crate::common::fixture("interactions.tsv"))
        .arg("--link")
        .arg(crate::common::fixture("links.tsv")));
    ok(kgrec(&demo).args(["train", "--model", "als"]));
    let text = ok(kgrec(&demo).args(["recommend", "--user", "1", "--explain", "-k", "3"]));
    assert!(!text.contains("no label in the graph"), "{text}");
}

/// Linked IRIs the graph lacks: the warning says in plain words what those items miss.
#[test]
fn links_outside_the_graph_say_what_the_items_miss() {
    let tmp = tempfile::tempdir().unwrap();
    let (rows, links) = (tmp.path().join("i.tsv"), tmp.path().join("l.tsv"));
    std::fs::write(&rows, "user_id\titem_id\nu1\t1\n").unwrap();
    std::fs::write(&links, "item_id\tiri\n1\thttp://e.org/a\n").unwrap();
    let out = run(kgrec(&tmp.path().join("data"))
        .args(["import", "interactions"])
        .arg(&rows)
        .arg("--link")
        .arg(&links));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    for needle in [
        "scored from who interacted with them alone",
        "give them no graph part",
        "no graph path through them",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert!(!err.contains("collaborative-filtering only"), "{err}");
}

/// Link files take column flags as interaction files do: `import links --item-col --iri-col`,
/// `import interactions --link-item-col --link-iri-col`; an unknown header names the accepted
/// names and the flag.
#[test]
fn link_file_columns_are_named_by_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let (rows, links) = (tmp.path().join("i.tsv"), tmp.path().join("l.tsv"));
    std::fs::write(&rows, "user_id\titem_id\nu1\t1\n").unwrap();
    std::fs::write(&links, "film\tthing\tnote\n1\thttp://e.org/a\tx\n").unwrap();
    let data = tmp.path().join("data");
    let out = run(kgrec(&data)
        .args(["import", "interactions"])
        .arg(&rows)
        .arg("--link")
        .arg(&links));
    expect_bad_input(
        &out,
        &links,
        &[
            "l.tsv:1",
            "no `iri` column",
            "accepted names: iri, uri",
            "--link-iri-col",
        ],
    );
    let out = run(kgrec(&data)
        .args(["import", "interactions"])
        .arg(&rows)
        .arg("--link")
        .arg(&links)
        .args(["--link-item-col", "film", "--link-iri-col", "thing"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("1 links set"), "{}", stdout(&out));

    let other = tmp.path().join("other");
    let out = run(kgrec(&other).args(["import", "links"]).arg(&links));
    expect_bad_input(&out, &links, &["--iri-col NAME|N"]);
    let out = run(kgrec(&other)
        .args(["import", "links", "--item-col", "1", "--iri-col", "1"])
        .arg(&links));
    expect_bad_input(
        &out,
        &links,
        &["--item-col and --iri-col both name column 1"],
    );
    ok(kgrec(&other)
        .args(["import", "links", "--item-col", "1", "--iri-col", "thing"])
        .arg(&links));
    assert_eq!(stats(&other)["items"], 1);
}
