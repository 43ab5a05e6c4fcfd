//! The twenty-third fresh look (issue #21): new items that crowd the lists are said at
//! training, with the flag that holds them back; a catalogue too small to measure says so at
//! training and with its lists; a Turtle statement without its final dot is placed where the
//! dot is missing; cke's explanations say what its score split means.

use std::path::{Path, PathBuf};

use crate::common::*;

/// A podcast catalogue: 60 listeners, 8 shows in 4 topics with 3 hosts, each listener playing
/// 3 shows; `new0` and `new1` share a topic and a host with played shows and have no play.
pub(crate) fn podcasts(tmp: &Path) -> PathBuf {
    let topics = ["tech", "history", "food", "science"];
    let mut graph = String::from(
        "@prefix ex: <http://pod.example/> .\n\
         @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n",
    );
    let mut links = String::from("item_id\tiri\n");
    for s in 0..8 {
        graph.push_str(&format!(
            "ex:show{s} rdfs:label \"Show {s}\" ; ex:about ex:{} ; ex:host ex:host{} .\n",
            topics[s % 4],
            s % 3
        ));
        links.push_str(&format!("s{s}\thttp://pod.example/show{s}\n"));
    }
    for (n, topic) in topics.iter().take(2).enumerate() {
        graph.push_str(&format!(
            "ex:new{n} rdfs:label \"New {n}\" ; ex:about ex:{topic} ; ex:host ex:host{n} .\n"
        ));
        links.push_str(&format!("new{n}\thttp://pod.example/new{n}\n"));
    }
    let mut rows = String::from("user\titem\n");
    let mut seen = std::collections::HashSet::new();
    for u in 0..60 {
        for k in 0..3 {
            let s = (u % 4 + 4 * (k % 2) + (k / 2) * ((u / 4) % 4)) % 8;
            if seen.insert((u, s)) {
                rows.push_str(&format!("u{u}\ts{s}\n"));
            }
        }
    }
    let data = tmp.join("pods");
    let graph = write_file(tmp, "pods.ttl", graph);
    let links = write_file(tmp, "pods-links.tsv", links);
    let rows = write_file(tmp, "plays.tsv", rows);
    import_linked(&data, &graph, &rows, &links);
    data
}

/// How many of the users' top-`k` slots the two new shows take, in a batch file on stdout.
fn new_show_slots(data: &Path, k: usize) -> usize {
    let k = k.to_string();
    let batch = ok(kgrec(data).args(["recommend", "--all-users", "-q", "-k", &k, "--out", "-"]));
    batch
        .lines()
        .skip(1)
        .filter(|l| l.split('\t').nth(1).is_some_and(|i| i.starts_with("new")))
        .count()
}

#[test]
fn new_items_that_crowd_the_lists_are_said_at_training_with_the_flag_that_holds_them_back() {
    let tmp = tempfile::tempdir().unwrap();
    let data = podcasts(tmp.path());
    for (model, flag) in [
        (
            &["--model", "kg-ease", "--cold-placement", "restored"][..],
            "--cold-placement off",
        ),
        (&["--model", "cke"][..], "--cold-scale 0"),
    ] {
        let out = run(kgrec(&data).arg("train").args(model).args(["--seed", "1"]));
        assert!(out.status.success(), "{}", stderr(&out));
        let err = stderr(&out);
        let line = err
            .lines()
            .find(|l| l.contains("new items crowd the lists"))
            .unwrap_or_else(|| panic!("{model:?}: no crowding note in {err}"));
        assert!(
            line.contains("the 2 linked item(s) nobody has interacted with") && line.contains(flag),
            "{line}"
        );
        // What the note says is what the lists show: the two new shows (a fifth of the
        // catalogue) hold more than a third of the top-2 slots.
        assert!(new_show_slots(&data, 2) > 120 / 3, "{model:?}");
    }
    // The flag the note names holds them back, and the note is not given then.
    let out = run(kgrec(&data).args(["train", "--model", "cke", "--cold-scale", "0"]));
    assert!(out.status.success());
    assert!(!stderr(&out).contains("crowd"), "{}", stderr(&out));
    assert_eq!(new_show_slots(&data, 2), 0);
}

#[test]
fn a_catalogue_too_small_to_measure_says_so_at_training_and_with_its_lists() {
    let tmp = tempfile::tempdir().unwrap();
    let rows = write_file(
        tmp.path(),
        "enrol.tsv",
        "user\titem\ns1\tc1\ns1\tc2\ns2\tc2\ns2\tc3\ns3\tc1\ns3\tc4\ns4\tc3\ns5\tc4\n",
    );
    let small = tmp.path().join("small");
    ok(kgrec(&small)
        .args(["import", "interactions", "-q"])
        .arg(&rows));
    let out = run(kgrec(&small).args(["train", "--model", "ease"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("a tiny catalogue (5 user(s) with interactions, 8 interaction(s))"),
        "{}",
        stderr(&out)
    );
    let out = run(kgrec(&small).args(["recommend", "--user", "s1", "-k", "2"]));
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("a tiny catalogue") && stderr(&out).contains("not as predictions"),
        "{}",
        stderr(&out)
    );
    // A note: quiet runs drop it.
    let out = run(kgrec(&small).args(["recommend", "--user", "s1", "-k", "2", "-q"]));
    assert!(!stderr(&out).contains("tiny"), "{}", stderr(&out));
    // The bundled catalogue (40 users) is not tiny.
    let fixture = tmp.path().join("fixture");
    ok(kgrec(&fixture)
        .args(["import", "interactions", "-q"])
        .arg(crate::common::fixture("interactions.tsv")));
    let out = run(kgrec(&fixture).args(["train", "--model", "ease"]));
    assert!(out.status.success());
    assert!(!stderr(&out).contains("tiny"), "{}", stderr(&out));
}

#[test]
fn a_turtle_statement_without_its_dot_is_placed_where_the_dot_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_file(
        tmp.path(),
        "nodot.ttl",
        "@prefix ex: <http://ex.org/> .\n\
         ex:a ex:p ex:b .\n\
         ex:c ex:p ex:d\n\
         \n\
         # the next statement\n\
         ex:e ex:p ex:f .\n",
    );
    let data = tmp.path().join("d");
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&file));
    expect_bad_input(
        &out,
        &file,
        &[
            "nodot.ttl:3:15:",
            "lacks its final `.`",
            "noticed at line 6, column 1",
        ],
    );
    assert!(!data.exists(), "a failed first import leaves no directory");
}

#[test]
fn cke_explanations_say_what_the_score_split_means() {
    let tmp = tempfile::tempdir().unwrap();
    let data = podcasts(tmp.path());
    ok(kgrec(&data).args(["train", "-q", "--model", "cke", "--seed", "1"]));
    let text = ok(kgrec(&data).args(["recommend", "--user", "u1", "-k", "3", "--explain"]));
    assert!(
        text.contains("cke's split: cf is the user's taste vector"),
        "{text}"
    );
    ok(kgrec(&data).args(["train", "-q", "--model", "als", "--seed", "1"]));
    let text = ok(kgrec(&data).args(["recommend", "--user", "u1", "-k", "3", "--explain"]));
    assert!(!text.contains("cke's split"), "{text}");
}

/// The bundled movies: graph, rated interactions and links.
pub(crate) fn movies(tmp: &Path) -> PathBuf {
    let data = tmp.join("movies");
    import_linked(
        &data,
        &crate::common::fixture("movies.ttl"),
        &crate::common::fixture("interactions.tsv"),
        &crate::common::fixture("links.tsv"),
    );
    data
}

#[test]
fn a_rating_learner_refuses_a_handful_of_ratings_among_many_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rows = String::from("user\titem\n");
    for u in 0..30 {
        for i in 0..5 {
            rows.push_str(&format!("u{u}\ti{}\n", (u + i) % 12));
        }
    }
    let unrated = write_file(tmp.path(), "clicks.tsv", rows);
    let rated = write_file(
        tmp.path(),
        "stars.tsv",
        "user\titem\trating\nu0\ti0\t9\nu0\ti1\t7\nu1\ti1\t10\n",
    );
    let data = tmp.path().join("d");
    ok(kgrec(&data)
        .args(["import", "interactions", "-q"])
        .arg(&unrated));
    ok(kgrec(&data)
        .args(["import", "interactions", "-q"])
        .arg(&rated));
    ok(kgrec(&data).args(["train", "-q", "--model", "als"]));
    for model in ["svd", "svdpp"] {
        let out = run(kgrec(&data).args(["train", "--model", model]));
        expect_bad_input(
            &out,
            &data,
            &["only 3 of the 150 interactions have a rating"],
        );
    }
    // The model trained on every interaction stays current.
    let s = stats(&data);
    let current = s["model_versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["current"] == true)
        .unwrap();
    assert_eq!(current["model"], "als", "{s}");
}

#[test]
fn a_header_less_interactions_table_given_to_import_kg_is_refused_by_its_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let data = movies(tmp.path());
    let before = triples(&data);
    // user, item, rating: the middle column holds the catalogue's item ids.
    let table: String = std::fs::read_to_string(crate::common::fixture("interactions.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split('\t').take(3).collect::<Vec<_>>().join("\t") + "\n")
        .collect();
    let file = write_file(tmp.path(), "purchases-no-header.tsv", table);
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&file));
    expect_bad_input(
        &out,
        &file,
        &[
            "the second column, a TSV graph's relation, holds this data directory's item ids",
            "kgrec import interactions",
            "nothing was imported",
        ],
    );
    assert_eq!(triples(&data), before);
}

#[test]
fn a_tsv_graph_with_numbers_as_tails_says_what_they_became() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_file(
        tmp.path(),
        "games.tsv",
        "g1\tpublished\t2012\ng2\tpublished\t2012\ng1\tdesigner\tknizia\n",
    );
    let data = tmp.path().join("d");
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&file));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("2 of the first 3 triples have a number as their tail (2012, ...)")
            && stderr(&out).contains("<urn:kgrec:2012>"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn eval_on_a_handful_of_test_users_warns_even_when_quiet() {
    let tmp = tempfile::tempdir().unwrap();
    let all = std::fs::read_to_string(crate::common::fixture("interactions.tsv")).unwrap();
    let (header, rows) = all.split_once('\n').unwrap();
    let (test, train): (Vec<&str>, Vec<&str>) = rows
        .lines()
        .partition(|l| l.starts_with("1\t") && l.contains("\t5\t") || l.starts_with("13\t"));
    let train = write_file(
        tmp.path(),
        "train.tsv",
        format!("{header}\n{}\n", train.join("\n")),
    );
    let test = write_file(
        tmp.path(),
        "test.tsv",
        format!("{header}\n{}\n", test.join("\n")),
    );
    let out = run(kgrec(tmp.path())
        .args(["eval", "--model", "als", "-q", "--train"])
        .arg(&train)
        .arg("--test")
        .arg(&test));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: only 2 test users: each is 50% of every figure"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn svd_with_its_graph_prior_does_not_say_it_scores_from_the_interactions_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let data = movies(tmp.path());
    ok(kgrec(&data).args(["train", "-q", "--model", "svd", "--seed", "1"]));
    let e: serde_json::Value = serde_json::from_str(&ok(kgrec(&data).args([
        "recommend",
        "--user",
        "1",
        "-k",
        "10",
        "--explain",
        "--format",
        "json",
    ])))
    .unwrap();
    let notes: Vec<&str> = e["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["paths_note"].as_str())
        .collect();
    assert!(!notes.is_empty(), "{e}");
    assert!(
        notes
            .iter()
            .all(|n| n.contains("graph prior pulled") && !n.contains("interactions alone")),
        "{notes:?}"
    );
    // Without the prior the model does score from the ratings alone, and says so.
    ok(kgrec(&data).args(["train", "-q", "--model", "svd", "--kg-weight", "0"]));
    let text = ok(kgrec(&data).args(["recommend", "--user", "1", "-k", "10", "--explain"]));
    assert!(
        text.contains("scores from the interactions alone"),
        "{text}"
    );
}

#[test]
fn links_that_look_like_another_catalogues_are_refused_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let data = movies(tmp.path());
    let items = stats(&data)["items"].clone();
    let mut links = String::from("item_id\tiri\n");
    for t in 0..6 {
        links.push_str(&format!("T{t:03}\thttp://label.example/track/T{t:03}\n"));
    }
    let file = write_file(tmp.path(), "tracks-links.tsv", links);
    let out = run(kgrec(&data).args(["import", "links"]).arg(&file));
    expect_bad_input(
        &out,
        &file,
        &[
            "none of the 6 links' IRIs is in the graph",
            "look like another catalogue's",
            "nothing was written",
        ],
    );
    assert_eq!(stats(&data)["items"], items);
    // One item the catalogue knows among them: new items beside it, taken (with the warning).
    let mut links = std::fs::read_to_string(&file).unwrap();
    links.push_str("1\thttp://dbpedia.org/resource/Toy_Story\n");
    let file = write_file(tmp.path(), "more-links.tsv", links);
    ok(kgrec(&data).args(["import", "links", "-q"]).arg(&file));
}
