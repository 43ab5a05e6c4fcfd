//! The twenty-third fresh look (issue #21): new items that crowd the lists are said at
//! training, with the flag that holds them back; a catalogue too small to measure says so at
//! training and with its lists; a Turtle statement without its final dot is placed where the
//! dot is missing; cke's explanations say what its score split means.

use std::path::{Path, PathBuf};

use crate::common::*;

/// A podcast catalogue: 60 listeners, 8 shows in 4 topics with 3 hosts, each listener playing
/// 3 shows; `new0` and `new1` share a topic and a host with played shows and have no play.
fn podcasts(tmp: &Path) -> PathBuf {
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
