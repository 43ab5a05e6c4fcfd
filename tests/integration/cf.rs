//! Interactions, training, recommending and evaluating through the binary, on the fixtures.

use crate::common::*;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// A data directory holding the fixture graph and the fixture interactions with their links.
/// The fixtures imported into `tmp/name` with every interaction of `items` left out: linked
/// catalogue items nobody has interacted with.
pub fn imported_without(tmp: &Path, name: &str, items: &[&str]) -> PathBuf {
    let rows = std::fs::read_to_string(fixture("interactions.tsv")).unwrap();
    let mut lines = rows.lines();
    let mut kept = vec![lines.next().unwrap().to_owned()];
    kept.extend(
        lines
            .filter(|l| !l.split('\t').nth(1).is_some_and(|i| items.contains(&i)))
            .map(str::to_owned),
    );
    let file = tmp.join(format!("{name}.tsv"));
    std::fs::write(&file, kept.join("\n") + "\n").unwrap();
    let data = tmp.join(name);
    import_movie_graph(&data);
    ok(kgrec(&data)
        .args(["import", "interactions"])
        .arg(&file)
        .arg("--link")
        .arg(fixture("links.tsv")));
    data
}

pub fn imported(tmp: &Path) -> PathBuf {
    let data = tmp.join("data");
    import_movie_graph(&data);
    ok(kgrec(&data)
        .args(["import", "interactions"])
        .arg(fixture("interactions.tsv"))
        .arg("--link")
        .arg(fixture("links.tsv")));
    data
}

/// Rows of a headed TSV file as maps from column name to value.
fn tsv(path: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split('\t')
        .map(str::to_owned)
        .collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split('\t').map(str::to_owned))
                .collect()
        })
        .collect()
}

/// Each user's items in the fixture.
fn fixture_items_by_user() -> HashMap<String, HashSet<String>> {
    let mut out: HashMap<String, HashSet<String>> = HashMap::new();
    for row in tsv(&fixture("interactions.tsv")) {
        out.entry(row["user_id"].clone())
            .or_default()
            .insert(row["item_id"].clone());
    }
    out
}

fn fixture_links() -> HashMap<String, String> {
    tsv(&fixture("links.tsv"))
        .into_iter()
        .map(|r| (r["item_id"].clone(), r["iri"].clone()))
        .collect()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

pub fn models(data: &Path) -> Vec<String> {
    stats(data)["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn import_reports_the_fixture_counts_and_a_second_import_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported(tmp.path());
    let by_user = fixture_items_by_user();
    let items: HashSet<&String> = by_user.values().flatten().collect();
    let pairs: usize = by_user.values().map(HashSet::len).sum();
    let s = stats(&data);
    assert_eq!(s["users"].as_u64().unwrap() as usize, by_user.len());
    assert_eq!(s["items"].as_u64().unwrap() as usize, items.len());
    assert_eq!(s["interactions"].as_u64().unwrap() as usize, pairs);
    assert!(s["triples"].as_u64().unwrap() > 0);
    assert_eq!(models(&data), Vec::<String>::new());

    let out = ok(kgrec(&data)
        .args(["import", "interactions"])
        .arg(fixture("interactions.tsv"))
        .arg("--link")
        .arg(fixture("links.tsv")));
    assert!(out.contains("0 new interactions"), "{out}");
    assert_eq!(stats(&data), s);
}

#[test]
fn train_then_recommend_one_user_all_users_and_an_unknown_user() {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported(tmp.path());
    let by_user = fixture_items_by_user();
    let links = fixture_links();
    let n_items = by_user.values().flatten().collect::<HashSet<_>>().len();

    for (model, extra) in [("bpr", ["--epochs", "40"]), ("als", ["--seed", "3"])] {
        let out = ok(kgrec(&data).args(["train", "--model", model]).args(extra));
        assert!(out.contains(&format!("trained {model}")), "{out}");
        let current: Vec<String> = models(&data)
            .into_iter()
            .filter(|m| m.ends_with("(current)"))
            .collect();
        assert_eq!(current.len(), 1);
        assert!(current[0].contains(model), "{current:?}");

        // The fixture is dense (every user has most items): take the user with the fewest.
        let user = by_user
            .iter()
            .min_by_key(|(u, items)| (items.len(), u.to_string()))
            .map(|(u, _)| u.as_str())
            .unwrap();
        let out = json(&ok(kgrec(&data).args([
            "recommend",
            "--user",
            user,
            "-k",
            "3",
            "--format",
            "json",
        ])));
        assert_eq!(out["user"], user);
        assert!(out.get("fallback").is_none(), "{out}");
        let items = out["items"].as_array().unwrap();
        assert_eq!(items.len(), 3.min(n_items - by_user[user].len()));
        assert!(!items.is_empty());
        let mut last = f64::INFINITY;
        for (k, item) in items.iter().enumerate() {
            let id = item["item"].as_str().unwrap();
            assert_eq!(item["rank"].as_u64().unwrap() as usize, k + 1);
            assert!(
                !by_user[user].contains(id),
                "training item {id} recommended"
            );
            let score = item["score"].as_f64().unwrap();
            assert!(score <= last, "scores not descending: {out}");
            last = score;
            assert_eq!(item["iri"].as_str(), links.get(id).map(String::as_str));
            let label = item["label"].as_str().unwrap();
            assert!(!label.is_empty() && !label.starts_with("http"), "{label}");
        }
    }

    // A label comes from rdfs:label when the graph has one.
    let out = json(&ok(kgrec(&data).args([
        "recommend",
        "--user",
        "1",
        "-k",
        "30",
        "--format",
        "json",
    ])));
    let labels: HashMap<&str, &str> = out["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["item"].as_str().unwrap(), i["label"].as_str().unwrap()))
        .collect();
    assert_eq!(
        labels.len(),
        n_items - by_user["1"].len(),
        "-k beyond the catalogue"
    );
    if let Some(label) = labels.get("1") {
        assert_eq!(*label, "Toy Story");
    }

    // An unknown user gets the most popular items, flagged.
    let out = json(&ok(kgrec(&data).args([
        "recommend",
        "--user",
        "no such user",
        "--format",
        "json",
    ])));
    assert_eq!(out["fallback"], "popularity");
    assert_eq!(out["items"].as_array().unwrap().len(), 10);
    let text = ok(kgrec(&data).args(["recommend", "--user", "no such user"]));
    assert!(text.contains("most popular"), "{text}");
    let text = ok(kgrec(&data).args(["recommend", "--user", "1", "-k", "3"]));
    let rows = 3.min(n_items - by_user["1"].len());
    assert_eq!(text.lines().count(), 2 + rows, "{text}");

    // The batch file: header, K rows per user, ranks 1..K, never a training item.
    let recs = tmp.path().join("recs.tsv");
    ok(kgrec(&data)
        .args(["recommend", "--all-users", "-k", "7", "--out"])
        .arg(&recs));
    let text = std::fs::read_to_string(&recs).unwrap();
    assert_eq!(text.lines().next(), Some("user_id\titem_id\trank\tscore"));
    let mut lists: HashMap<String, Vec<(String, usize, f64)>> = HashMap::new();
    for row in tsv(&recs) {
        lists.entry(row["user_id"].clone()).or_default().push((
            row["item_id"].clone(),
            row["rank"].parse().unwrap(),
            row["score"].parse().unwrap(),
        ));
    }
    assert!(lists.keys().all(|u| by_user.contains_key(u)));
    for (user, seen) in &by_user {
        // A user who has every item gets no row.
        let list = lists.get(user).cloned().unwrap_or_default();
        let want = 7.min(n_items - seen.len());
        assert_eq!(list.len(), want, "user {user}");
        for (k, (item, rank, _)) in list.iter().enumerate() {
            assert_eq!(*rank, k + 1);
            assert!(!by_user[user].contains(item), "{user} has {item}");
        }
        assert!(list.windows(2).all(|w| w[0].2 >= w[1].2));
        let distinct: HashSet<&String> = list.iter().map(|(i, _, _)| i).collect();
        assert_eq!(distinct.len(), list.len());
    }
}

#[test]
fn train_keeps_the_newest_versions_and_pop_trains() {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported(tmp.path());
    for seed in 0..3 {
        ok(kgrec(&data)
            .args(["train", "--model", "als", "--keep", "2", "--seed"])
            .arg(seed.to_string()));
    }
    assert_eq!(models(&data), ["v2 als", "v3 als (current)"]);
    ok(kgrec(&data).args(["train", "--model", "pop"]));
    assert_eq!(models(&data), ["v2 als", "v3 als", "v4 pop (current)"]);
    let out = json(&ok(kgrec(&data).args([
        "recommend",
        "--user",
        "1",
        "--format",
        "json",
    ])));
    let scores: Vec<f64> = out["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["score"].as_f64().unwrap())
        .collect();
    // Popularity scores are training counts: whole numbers.
    assert!(
        scores.iter().all(|s| s.fract() == 0.0 && *s >= 1.0),
        "{scores:?}"
    );

    let out = run(kgrec(&data).args(["train", "--model", "pop", "--dim", "8"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = run(kgrec(&data).args(["train", "--model", "als", "--dim", "0"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(models(&data).len(), 3);
}

#[test]
fn recommend_needs_a_model() {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported(tmp.path());
    let out = run(kgrec(&data).args(["recommend", "--user", "1"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("kgrec train"), "{}", stderr(&out));
    let out = run(kgrec(&tmp.path().join("absent")).args(["recommend", "--user", "1"]));
    assert_eq!(out.status.code(), Some(2));
    ok(kgrec(&data).args(["train", "--model", "pop"]));
    for bad in [
        &["--user", "1", "-k", "0"][..],
        &["--all-users"],
        &["--user", "1", "--all-users"],
    ] {
        let out = run(kgrec(&data).arg("recommend").args(bad));
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
    }
}

/// `recommend --filter` (repeatable) keeps the items whose entity has the graph facts, says
/// what it kept on standard error, refuses an unknown predicate naming it, and applies to one
/// user only. (Fixtures: the 1990s American animated films are items 1, 71 and 95, the comedies
/// among them 1 and 95; user 653 has item 1.)
#[test]
fn recommend_filter_keeps_items_with_the_graph_facts() {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "als", "--quiet"]));
    let animated = "dct:subject=dbc:1990s_American_animated_films";
    let comedy = "dct:subject=dbc:1990s_comedy_films";
    let list = json(&ok(kgrec(&data).args([
        "recommend",
        "--user",
        "653",
        "--filter",
        animated,
        "--format",
        "json",
    ])));
    let mut items: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item"].as_str().unwrap())
        .collect();
    items.sort_unstable();
    assert_eq!(items, ["71", "95"], "{list}");
    assert_eq!(list["filter"]["matching_items"], 3, "{list}");

    let out = run(kgrec(&data).args([
        "recommend",
        "--user",
        "653",
        "--filter",
        animated,
        "--filter",
        comedy,
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Aladdin") && !text.contains("Lion King"),
        "{text}"
    );
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "note: filtered by {animated} and {comedy}: 2 items"
        )),
        "{err}"
    );

    let explained = json(&ok(kgrec(&data).args([
        "recommend",
        "--user",
        "653",
        "--filter",
        animated,
        "--explain",
        "--explain-timeout-ms",
        "0",
        "--format",
        "json",
    ])));
    assert_eq!(explained["truncated"], true, "{explained}");
    assert_eq!(explained["filter"]["matching_items"], 3, "{explained}");

    let out = run(kgrec(&data).args([
        "recommend",
        "--user",
        "653",
        "--filter",
        "dbo:genre=dbr:Comedy_film",
    ]));
    expect_bad_input(
        &out,
        &data,
        &[
            "the graph has no predicate dbo:genre",
            "relations in the graph include dbo:starring",
        ],
    );
    // The batch takes the filter too (every user's list; issue #21).
    let out = run(kgrec(&data).args([
        "recommend",
        "--all-users",
        "--out",
        "-",
        "--filter",
        animated,
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("every list filtered by"),
        "{}",
        stderr(&out)
    );
    for bad in [
        &["--user", "653", "--filter", "dct:subject"][..],
        &["--user", "653", "--explain-timeout-ms", "5"],
    ] {
        let out = run(kgrec(&data).arg("recommend").args(bad));
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
    }
}

/// Splits the fixture per user: every fifth row of a user goes to test.
pub(crate) fn split_fixture(dir: &Path) -> (PathBuf, PathBuf, HashMap<String, HashSet<String>>) {
    let text = std::fs::read_to_string(fixture("interactions.tsv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let (mut train, mut test) = (format!("{header}\n"), format!("{header}\n"));
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut test_items: HashMap<String, HashSet<String>> = HashMap::new();
    for line in lines {
        let mut fields = line.split('\t');
        let (user, item) = (fields.next().unwrap(), fields.next().unwrap());
        let n = seen.entry(user.to_owned()).or_default();
        *n += 1;
        if n.is_multiple_of(5) {
            test.push_str(line);
            test.push('\n');
            test_items
                .entry(user.to_owned())
                .or_default()
                .insert(item.to_owned());
        } else {
            train.push_str(line);
            train.push('\n');
        }
    }
    let (a, b) = (dir.join("train.tsv"), dir.join("test.tsv"));
    std::fs::write(&a, train).unwrap();
    std::fs::write(&b, test).unwrap();
    (a, b, test_items)
}

#[test]
fn eval_prints_the_scorers_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let (train, test, test_items) = split_fixture(tmp.path());
    for model in ["als", "bpr", "pop"] {
        let out = json(&ok(kgrec(&tmp.path().join("unused"))
            .args(["eval", "--train"])
            .arg(&train)
            .arg("--test")
            .arg(&test)
            .args(["-k", "5,10", "--format", "json", "--model", model])
            .args(if model == "pop" {
                &[][..]
            } else {
                &["--epochs", "20"][..]
            })));
        assert_eq!(out["model"], model);
        assert_eq!(out["users"].as_u64().unwrap() as usize, test_items.len());
        assert_eq!(out["users_with_list"], out["users"]);
        assert_eq!(out["train_leaks"], 0);
        assert_eq!(out["duplicates"], 0);
        for k in [5, 10] {
            for m in [
                "precision",
                "recall",
                "ndcg",
                "map",
                "hit",
                "mrr",
                "coverage",
            ] {
                let v = out[format!("{m}@{k}")].as_f64().unwrap();
                assert!((0.0..=1.0).contains(&v), "{m}@{k} = {v}");
            }
        }
        let r = |k: u32| out[format!("recall@{k}")].as_f64().unwrap();
        assert!(r(10) >= r(5));
        assert!(out["hit@10"].as_f64().unwrap() > 0.0, "{out}");
    }
    assert!(!tmp.path().join("unused").exists(), "eval touched --data");
    let text = ok(kgrec(tmp.path())
        .args(["eval", "--train"])
        .arg(&train)
        .arg("--test")
        .arg(&test));
    assert!(text.contains("ndcg") && text.lines().count() == 4, "{text}");
    // The contract's graph flags are accepted, and pop says it does not use them.
    let out = run(kgrec(tmp.path())
        .args(["eval", "--format", "json", "--model", "pop", "--train"])
        .arg(&train)
        .arg("--test")
        .arg(&test)
        .arg("--kg")
        .arg(fixture("movies.ttl"))
        .arg("--link")
        .arg(fixture("links.tsv")));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--model pop uses neither (ignored)"),
        "{}",
        stderr(&out)
    );
    let out = json(&stdout(&out));
    assert_eq!(out["train_leaks"], 0);
}

/// `train --ann on` stores an HNSW index with the version; `recommend` goes through it (and
/// says so) and gives the lists exact scoring gives on the fixture's tiny catalogue; an index
/// whose candidates cannot fill the list falls back to exact scoring.
#[test]
fn train_with_an_approximate_index_recommends_what_exact_scoring_does() {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported(tmp.path());
    let by_user = fixture_items_by_user();
    let mut users: Vec<&String> = by_user.keys().collect();
    users.sort();
    let lists = |data: &Path| -> Vec<(Vec<String>, Vec<f64>, String)> {
        users
            .iter()
            .map(|u| {
                let out = run(kgrec(data).args([
                    "recommend",
                    "--user",
                    u,
                    "-k",
                    "5",
                    "--format",
                    "json",
                ]));
                assert!(out.status.success(), "{}", stderr(&out));
                let v = json(&stdout(&out));
                let items = v["items"].as_array().unwrap();
                (
                    items
                        .iter()
                        .map(|i| i["item"].as_str().unwrap().to_owned())
                        .collect(),
                    items.iter().map(|i| i["score"].as_f64().unwrap()).collect(),
                    v["note"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    let out = run(kgrec(&data).args(["train", "--model", "als", "--seed", "3", "--ann", "off"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("approximate top-K index"),
        "{}",
        stderr(&out)
    );
    let exact = lists(&data);
    assert!(exact.iter().all(|(_, _, note)| !note.contains("top-K")));

    let out = run(kgrec(&data).args(["train", "--model", "als", "--seed", "3", "--ann", "on"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("approximate top-K index (HNSW augmented, M 24")
            && stderr(&out).contains("recall@10 against exact 1.000"),
        "{}",
        stderr(&out)
    );
    let approx = lists(&data);
    for (u, (e, a)) in users.iter().zip(exact.iter().zip(&approx)) {
        assert_eq!(e.0, a.0, "user {u}: approximate and exact lists differ");
        for (x, y) in e.1.iter().zip(&a.1) {
            assert!(
                (x - y).abs() <= 1e-4 * x.abs().max(1.0),
                "user {u}: {x} vs {y}"
            );
        }
        if !a.0.is_empty() {
            assert!(a.2.contains("top-K: approximate"), "user {u}: {}", a.2);
        }
    }

    let stats = run(kgrec(&data).args(["stats", "--format", "json"]));
    let stats = json(&stdout(&stats));
    let current = stats["model_versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["current"] == true)
        .unwrap();
    assert_eq!(current["ann"]["recall"], 1.0, "{current}");
    assert_eq!(current["ann"]["recall_k"], 10, "{current}");
    assert_eq!(current["ann"]["bands"], 1, "{current}");
    let text = stdout(&run(kgrec(&data).arg("stats")));
    assert!(text.contains("top-K approximate (HNSW, ef "), "{text}");

    // Norm bands: the text says how many; lists stay those of exact scoring.
    let out = run(kgrec(&data).args([
        "train",
        "--model",
        "als",
        "--seed",
        "3",
        "--ann",
        "on",
        "--ann-bands",
        "2",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&run(kgrec(&data).arg("stats")));
    assert!(
        text.contains("top-K approximate (HNSW, 2 norm bands, ef "),
        "{text}"
    );
    for (u, (e, b)) in users.iter().zip(exact.iter().zip(&lists(&data))) {
        assert_eq!(e.0, b.0, "user {u}: banded and exact lists differ");
    }

    // Two candidates cannot hold five items: every list falls back to exact scoring (a
    // recall target of 0 keeps such an index).
    let out = run(kgrec(&data).args([
        "train",
        "--model",
        "als",
        "--seed",
        "3",
        "--ann",
        "on",
        "--ann-ef",
        "2",
        "--ann-ef-max",
        "2",
        "--ann-recall",
        "0",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let fallback = lists(&data);
    for (u, (e, f)) in users.iter().zip(exact.iter().zip(&fallback)) {
        assert_eq!(e.0, f.0, "user {u}");
        if !f.0.is_empty() {
            assert!(f.2.contains("top-K: exact"), "user {u}: {}", f.2);
        }
    }
    // A recall target no index reaches keeps exact top-K, and says so.
    let out = run(kgrec(&data).args([
        "train",
        "--model",
        "als",
        "--seed",
        "3",
        "--ann",
        "on",
        "--ann-recall",
        "1.01",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("below the target 1.01; top-K stays exact"),
        "{}",
        stderr(&out)
    );
    let kept_exact = lists(&data);
    for (u, (e, k)) in users.iter().zip(exact.iter().zip(&kept_exact)) {
        assert_eq!(e.0, k.0, "user {u}");
        assert!(!k.2.contains("top-K"), "user {u}: {}", k.2);
    }
    // `--ann auto` on 25 items builds nothing.
    let out = run(kgrec(&data).args(["train", "--model", "als", "--seed", "3"]));
    assert!(
        !stderr(&out).contains("approximate top-K index"),
        "{}",
        stderr(&out)
    );
}

/// The approximate path leaves out what the exact path leaves out: retired items, `--exclude`
/// items and items outside `--filter`, with the same lists (the same seed gives the same
/// factors), and a user whose every interaction was removed gets the popular items either way.
#[test]
fn the_approximate_path_leaves_out_retired_excluded_and_filtered_items_as_exact_does() {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported(tmp.path());
    let animated = "dct:subject=dbc:1990s_American_animated_films";
    let list = |user: &str, extra: &[&str]| -> (Vec<String>, String) {
        let v = json(&ok(kgrec(&data)
            .args(["recommend", "--user", user, "-k", "6", "--format", "json"])
            .args(extra)));
        let items = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["item"].as_str().unwrap().to_owned())
            .collect();
        (items, v["note"].as_str().unwrap_or_default().to_owned())
    };
    ok(kgrec(&data).args([
        "-q", "train", "--model", "als", "--seed", "3", "--ann", "off",
    ]));
    // Retire the first item of user 1's list; exclude the second of user 653's.
    let retired = list("1", &[]).0[0].clone();
    let excluded = list("653", &[]).0[1].clone();
    let file = write_file(tmp.path(), "sold.txt", format!("{retired}\n"));
    ok(kgrec(&data)
        .args(["-q", "import", "links", "--retire"])
        .arg(&file));
    let asks: Vec<(&str, Vec<&str>)> = vec![
        ("1", vec![]),
        ("653", vec!["--exclude", &excluded]),
        ("653", vec!["--filter", animated]),
        ("1", vec!["--filter", animated, "--exclude", &excluded]),
    ];
    let lists =
        || -> Vec<(Vec<String>, String)> { asks.iter().map(|(u, extra)| list(u, extra)).collect() };
    ok(kgrec(&data).args([
        "-q", "train", "--model", "als", "--seed", "3", "--ann", "off",
    ]));
    let exact = lists();
    ok(kgrec(&data).args([
        "-q", "train", "--model", "als", "--seed", "3", "--ann", "on",
    ]));
    let approx = lists();
    for ((ask, (e, _)), (a, note)) in asks.iter().zip(&exact).zip(&approx) {
        assert_eq!(e, a, "{ask:?}: exact {e:?}, approximate {a:?}");
        assert!(!a.contains(&retired), "{ask:?}: retired {retired} in {a:?}");
        if !a.is_empty() {
            assert!(note.contains("top-K: approximate"), "{ask:?}: {note}");
        }
    }
    assert!(approx[..3].iter().all(|(a, _)| !a.is_empty()), "{approx:?}");
    assert!(!approx[1].0.contains(&excluded), "{:?}", approx[1]);
    assert!(!approx[3].0.contains(&excluded), "{:?}", approx[3]);
    // The 1990s American animated films are items 1, 71 and 95.
    for filtered in [&approx[2].0, &approx[3].0] {
        assert!(
            filtered
                .iter()
                .all(|i| ["1", "71", "95"].contains(&i.as_str())),
            "{filtered:?}"
        );
    }
    // User 109's every interaction removed after training: the popular items, as exact gives.
    let rows: String = std::fs::read_to_string(fixture("interactions.tsv"))
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(n, l)| *n == 0 || l.starts_with("109\t"))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let file = write_file(tmp.path(), "u109.tsv", rows);
    ok(kgrec(&data)
        .args(["-q", "import", "interactions", "--remove"])
        .arg(&file));
    let (items, note) = list("109", &[]);
    assert!(
        note.contains("has no interactions (all were removed)"),
        "{note}"
    );
    assert!(!note.contains("top-K: approximate"), "{note}");
    ok(kgrec(&data).args(["-q", "train", "--model", "pop"]));
    let (popular, _) = list("109", &[]);
    assert_eq!(items, popular);
}
