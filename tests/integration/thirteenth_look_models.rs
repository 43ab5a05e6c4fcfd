//! The thirteenth fresh look's model and scoring findings (issue #21): `tune` refuses a
//! validation made of cold rows alone and prints no `-0.0000`, `-inf` or `--confidence rating`
//! drawn without ratings; `tfidf` says when a list ties and why its similarities collapse;
//! `svd` names the items like one it placed from the graph; an explanation served after
//! feedback has parts that add up to its score.

use crate::common::*;
use std::path::{Path, PathBuf};

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A shop of 6 linked items, 2 of which nobody ordered yet, and `users` customers of 2 or 3
/// items each (none has 5): the look's B2B catalogue, in `tmp/name`.
fn thin_shop(tmp: &Path, name: &str, users: usize) -> PathBuf {
    let data = tmp.join(name);
    let mut graph = String::new();
    for p in 0..6 {
        let group = p % 2;
        graph.push_str(&format!(
            "<http://parts.example/P{p}> <http://parts.example/group> <http://parts.example/G{group}> .\n\
             <http://parts.example/P{p}> <http://parts.example/maker> <http://parts.example/M{}> .\n",
            p % 3
        ));
    }
    let nt = tmp.join(format!("{name}.nt"));
    write(&nt, &graph);
    let mut links = "sku\tiri\n".to_owned();
    for p in 0..6 {
        links.push_str(&format!("P{p}\thttp://parts.example/P{p}\n"));
    }
    let links_file = tmp.join(format!("{name}-links.tsv"));
    write(&links_file, &links);
    let mut orders = "customer\tsku\n".to_owned();
    for u in 0..users {
        for p in [u % 4, (u + 1) % 4, (u + 2) % 4].iter().take(2 + u % 2) {
            orders.push_str(&format!("C{u}\tP{p}\n"));
        }
    }
    let orders_file = tmp.join(format!("{name}-orders.tsv"));
    write(&orders_file, &orders);
    ok(kgrec(&data).args(["import", "kg", "--quiet"]).arg(&nt));
    ok(kgrec(&data)
        .args(["import", "interactions", "--quiet"])
        .arg(&orders_file)
        .arg("--link")
        .arg(&links_file));
    data
}

/// Finding 4: no customer has 5 items, so every validation row would be an item held out
/// whole: `tune` said "20% of each one's items", scored on one cold item, printed `-0.0000`
/// and chose `--confidence rating` without a rating stored. It now refuses and says why.
#[test]
fn tune_refuses_a_validation_of_cold_rows_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let data = thin_shop(tmp.path(), "shop", 40);
    let out = run(kgrec(&data).args(["tune", "--budget", "5s", "--quiet"]));
    expect_bad_input(
        &out,
        &data,
        &[
            "too few users to tune on",
            "no user has the 5 items or more",
            "held out whole",
        ],
    );
    assert!(
        !stderr(&out).contains("-0.0000") && !stderr(&out).contains("-inf"),
        "{}",
        stderr(&out)
    );
    // Nothing was stored: stats shows no tuning.
    let s = stats(&data);
    assert!(
        s["tuned"].as_array().is_none_or(Vec::is_empty),
        "nothing stored: {s}"
    );
}

/// Finding 4, the figures: a tuning whose draws all miss scores 0.0000 (an empty float sum is
/// -0.0 in Rust), a learner whose every trial failed reads "failed", never "-inf"; and no
/// `--confidence rating` is drawn where no rating is stored; `new_items` is an integer.
#[test]
fn tune_figures_are_never_negative_zero_and_draw_no_rating_confidence_without_ratings() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    // The fixture without its rating column: no rating stored.
    let text = std::fs::read_to_string(fixture("interactions.tsv")).unwrap();
    let unrated: String = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            format!("{}\t{}\n", f[0], f[1])
        })
        .collect();
    let file = tmp.path().join("unrated.tsv");
    write(&file, &unrated);
    ok(kgrec(&data)
        .args(["import", "interactions", "--quiet"])
        .arg(&file)
        .arg("--link")
        .arg(fixture("links.tsv")));
    let out = run(kgrec(&data).args([
        "tune",
        "--models",
        "als",
        "--trials",
        "40",
        "--budget",
        "60s",
        "--no-train",
        "--format",
        "json",
        "--quiet",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let tuned = json(&stdout(&out));
    assert!(tuned["new_items"].is_u64(), "{tuned}");
    let trials = tuned["learners"][0]["trials"].as_array().unwrap();
    assert!(trials.len() > 10, "{tuned}");
    for t in trials {
        let flags = t.to_string();
        assert!(!flags.contains("\"rating\""), "{flags}");
    }
    let text = ok(kgrec(&data).args(["stats"]));
    assert!(
        !text.contains("-0.0000") && !text.contains("-inf"),
        "{text}"
    );
}

/// A job board whose items' only text is "Job N" (numbers are dropped: every document is
/// "job"), as the look's: tfidf ties every item with every other.
fn job_board(tmp: &Path) -> PathBuf {
    let data = tmp.join("jobs");
    let mut graph = String::new();
    let mut links = "item\tiri\n".to_owned();
    for j in 0..12 {
        graph.push_str(&format!(
            "<http://jobs.example/J{j}> <http://www.w3.org/2000/01/rdf-schema#label> \"Job {j}\" .\n\
             <http://jobs.example/J{j}> <http://jobs.example/city> <http://jobs.example/C{}> .\n",
            j % 3
        ));
        links.push_str(&format!("J{j}\thttp://jobs.example/J{j}\n"));
    }
    let nt = tmp.join("jobs.nt");
    write(&nt, &graph);
    let links_file = tmp.join("jobs-links.tsv");
    write(&links_file, &links);
    let mut apps = "user\titem\n".to_owned();
    for u in 0..8 {
        for j in [u % 12, (u + 3) % 12] {
            apps.push_str(&format!("cand-{u}\tJ{j}\n"));
        }
    }
    let apps_file = tmp.join("apps.tsv");
    write(&apps_file, &apps);
    ok(kgrec(&data).args(["import", "kg", "--quiet"]).arg(&nt));
    ok(kgrec(&data)
        .args(["import", "interactions", "--quiet"])
        .arg(&apps_file)
        .arg("--link")
        .arg(&links_file));
    ok(kgrec(&data).args(["train", "--model", "tfidf", "--quiet"]));
    data
}

/// Finding 7: one user's all-tied list said nothing (the batch did); `similar` advised a
/// smaller --reg, which tfidf refuses; the README called the summed score a cosine.
#[test]
fn tfidf_names_ties_and_the_cause_of_its_collapse() {
    let tmp = tempfile::tempdir().unwrap();
    let data = job_board(tmp.path());
    let out = run(kgrec(&data).args(["recommend", "--user", "cand-0", "-k", "5"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("score the same as the one above") && err.contains("every item"),
        "{err}"
    );
    let out = run(kgrec(&data).args(["similar", "--item", "J1", "-k", "3"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("near-identical"), "{err}");
    assert!(!err.contains("--reg"), "{err}");
    // The advice fits the learner: tfidf has no --reg.
    let out = run(kgrec(&data).args(["train", "--model", "tfidf", "--reg", "1"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // The README says what the score is: a sum of cosines, up to the history's length.
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(
        readme.contains("the sum of its cosines with the user's items"),
        "README"
    );
}

/// Finding 8: an item svd placed from the graph (unrated, linked) is predicted and ranked, and
/// `similar` now names the items like it, flagged as graph-only, as cke does.
#[test]
fn svd_similar_uses_items_placed_from_the_graph() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::rating::rated_with_unrated_jaws(tmp.path());
    for model in ["svd", "svdpp"] {
        ok(kgrec(&data).args(["train", "--model", model, "--neighbours", "1", "--quiet"]));
        let out =
            run(kgrec(&data).args(["similar", "--item", "9001", "-k", "3", "--format", "json"]));
        assert!(out.status.success(), "{model}: {}", stderr(&out));
        let found = json(&stdout(&out));
        assert_eq!(found["graph_only"], true, "{model}: {found}");
        // Placed with one nearest item, 9001 has Jaws' (234's) vector: the closest item.
        assert_eq!(found["similar"][0]["item"], "234", "{model}: {found}");
        let out = run(kgrec(&data).args(["similar", "--item", "9001", "-k", "3"]));
        assert!(
            stderr(&out).contains("come from the graph alone"),
            "{model}: {}",
            stderr(&out)
        );
        // The prior off: nothing placed it, and the answer says so.
        ok(kgrec(&data).args(["train", "--model", model, "--kg-weight", "0", "--quiet"]));
        let out = run(kgrec(&data).args(["similar", "--item", "9001"]));
        expect_bad_input(&out, &data, &["learnt nothing about it"]);
    }
}

/// Finding 6: after feedback an HTTP list keeps the trained scores until the next training,
/// but its explanation's parts were of the new history and did not add up to the score.
#[test]
fn explained_parts_after_feedback_add_up_to_the_score() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    for (model, user) in [("ease", "1"), ("kg-ease", "109")] {
        ok(kgrec(&data).args(["train", "--model", model, "--quiet"]));
        let server = Server::start(&data, &[]);
        // The user (22 of the fixture's 24 items) takes the one they are recommended first.
        let list = server.get(&format!("/v1/users/{user}/recommendations?k=1"));
        assert_eq!(list.status, 200, "{}", list.text());
        let body: Vec<serde_json::Value> = list.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| serde_json::json!({"user": user, "item": i["item"]}))
            .collect();
        let answer = server.post_json("/v1/interactions", &serde_json::to_string(&body).unwrap());
        assert_eq!(answer.status, 200, "{}", answer.text());
        let explained = server.get(&format!(
            "/v1/users/{user}/recommendations?k=10&explain=true"
        ));
        assert_eq!(explained.status, 200, "{}", explained.text());
        let explained = explained.json();
        let items = explained["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{explained}");
        for item in items {
            let score = item["score"].as_f64().unwrap();
            let parts = &item["score_parts"];
            let sum = parts["cf"].as_f64().unwrap() + parts["kg"].as_f64().unwrap();
            assert!(
                (sum - score).abs() <= 1e-3 * score.abs().max(1.0),
                "{model}: parts {parts} do not add up to {score}: {item}"
            );
        }
        server.terminate(10);
    }
}
