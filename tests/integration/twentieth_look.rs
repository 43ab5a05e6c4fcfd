//! The twentieth fresh look (issue #21): `explain` of a user whose interactions were all
//! removed (no collapse warning, no promise of paths from a history), why an item has no path
//! when none can exist (no graph, no link, no history), `stats` counting such users apart, and
//! the retired-item note naming the HTTP route beside the command.

use std::path::{Path, PathBuf};

use crate::common::*;

/// The fixture graph, interactions and links in `tmp/data`, plus item `999` (no link) for
/// users 2 and 3.
fn shop(tmp: &Path) -> PathBuf {
    let data = tmp.join("data");
    import_movie_graph(&data);
    ok(kgrec(&data)
        .args(["import", "interactions", "-q"])
        .arg(fixture("interactions.tsv"))
        .arg("--link")
        .arg(fixture("links.tsv")));
    let extra = write_file(tmp, "extra.tsv", "user_id\titem_id\n2\t999\n3\t999\n");
    ok(kgrec(&data)
        .args(["import", "interactions", "-q"])
        .arg(extra));
    data
}

/// The rows of `user` in the fixture interactions, as a removal file.
fn rows_of(tmp: &Path, user: &str) -> PathBuf {
    let text = std::fs::read_to_string(fixture("interactions.tsv")).unwrap();
    let mut rows = String::from("user_id\titem_id\n");
    for line in text.lines().skip(1) {
        let mut fields = line.split('\t');
        if fields.next() == Some(user) {
            rows.push_str(&format!("{user}\t{}\n", fields.next().unwrap()));
        }
    }
    write_file(tmp, "removed.tsv", rows)
}

#[test]
fn explain_of_a_user_with_every_interaction_removed_says_so_and_promises_no_path() {
    let tmp = tempfile::tempdir().unwrap();
    let data = shop(tmp.path());
    let removed = rows_of(tmp.path(), "109");
    ok(kgrec(&data)
        .args(["import", "interactions", "--remove", "-q"])
        .arg(&removed));
    ok(kgrec(&data).args(["train", "-q", "--model", "als", "--seed", "1"]));
    let out = run(kgrec(&data).args(["explain", "--user", "109", "--item", "1"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let (said, text) = (stderr(&out), stdout(&out));
    assert!(
        said.contains("user 109 has no interactions (all were removed)"),
        "{said}"
    );
    // Look 20 item 3: the collapse warning ("their own items too") was false here.
    assert!(!said.contains("within 1e-3 of zero"), "{said}");
    assert!(!text.contains("connect to the user's history"), "{text}");
    // Look 21: the header said "user 109 is not in the model".
    assert!(!text.contains("is not in the model"), "{text}");
    assert!(
        text.contains("user 109 has no interactions (all were removed), so model v"),
        "{text}"
    );
    assert!(
        text.contains("(no path: the user has no interactions for a path to start from)"),
        "{text}"
    );
    assert!(!text.contains("no path within the hop limit"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&ok(kgrec(&data).args([
        "explain", "--user", "109", "--item", "1", "--format", "json",
    ])))
    .unwrap();
    assert!(
        json["note"]
            .as_str()
            .unwrap()
            .contains("has no interactions (all were removed)"),
        "{json}"
    );
    assert_eq!(json["fallback"], "popularity", "{json}");
    assert_eq!(json["emptied"], true, "{json}");
    let stats = stats(&data);
    assert_eq!(stats["users_without_interactions"], 1, "{stats}");
    let text = ok(kgrec(&data).arg("stats"));
    assert!(
        text.contains("(1 with no interactions left: all were removed"),
        "{text}"
    );
}

#[test]
fn an_item_without_a_link_or_a_directory_without_a_graph_says_why_no_path_exists() {
    let tmp = tempfile::tempdir().unwrap();
    let data = shop(tmp.path());
    ok(kgrec(&data).args(["train", "-q", "--model", "als", "--seed", "1"]));
    let text = ok(kgrec(&data).args(["explain", "--user", "1", "--item", "999"]));
    assert!(
        text.contains("(no path: the item has no link to the graph)"),
        "{text}"
    );
    assert!(!text.contains("hop limit"), "{text}");
    // A linked item the user's history reaches still gets its paths.
    let text = ok(kgrec(&data).args(["explain", "--user", "1", "--item", "423"]));
    assert!(!text.contains("(no path:"), "{text}");

    // No graph at all.
    let bare = tmp.path().join("bare");
    ok(kgrec(&bare)
        .args(["import", "interactions", "-q"])
        .arg(fixture("interactions.tsv")));
    ok(kgrec(&bare).args(["train", "-q", "--model", "als", "--seed", "1"]));
    let text = ok(kgrec(&bare).args(["explain", "--user", "1", "--item", "423"]));
    assert!(
        text.contains("(no path: the data directory holds no knowledge graph"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&ok(kgrec(&bare).args([
        "explain", "--user", "1", "--item", "423", "--format", "json",
    ])))
    .unwrap();
    assert!(
        json["items"][0]["paths_note"]
            .as_str()
            .unwrap()
            .contains("no knowledge graph"),
        "{json}"
    );
}

/// Look 20 item 10: over HTTP the CLI's `--restore` is refused while the server holds the
/// directory, so the note names the route too (one text for both).
#[test]
fn the_retired_item_note_names_the_http_route_too() {
    let tmp = tempfile::tempdir().unwrap();
    let data = shop(tmp.path());
    ok(kgrec(&data).args(["train", "-q", "--model", "als", "--seed", "1"]));
    let retire = write_file(tmp.path(), "retire.txt", "423\n");
    ok(kgrec(&data)
        .args(["import", "links", "--retire", "-q"])
        .arg(retire));
    let json: serde_json::Value = serde_json::from_str(&ok(kgrec(&data).args([
        "explain", "--user", "1", "--item", "423", "--format", "json",
    ])))
    .unwrap();
    let note = json["note"].as_str().unwrap();
    assert!(
        note.contains("`kgrec import links --restore FILE`")
            && note.contains("`DELETE /v1/items/retired`"),
        "{note}"
    );
}

/// Look 21 finding 1: a rebuild whose default `--reg` collapsed was refitted smaller, but the job
/// recorded the spec at 30, and sending that spec back trained the collapsed model. The job's
/// `spec` now holds the value fitted.
#[test]
fn a_rebuild_refitted_at_a_smaller_reg_records_the_value_fitted() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("tiny");
    let mut rows = String::from("user_id\titem_id\n");
    for u in 0..5 {
        for k in 0..3 {
            rows.push_str(&format!("u{u}\ti{}\n", (u * 2 + k) % 8));
        }
    }
    let file = write_file(tmp.path(), "tiny.tsv", rows);
    ok(kgrec(&data)
        .args(["import", "interactions", "-q"])
        .arg(file));
    let server = Server::start(&data, &[]);
    let started = server.post_json("/v1/admin/rebuild", r#"{"model": "als"}"#);
    assert_eq!(started.status, 202, "{}", started.text());
    let id = started.json()["id"].as_str().unwrap().to_owned();
    let job = crate::serve::wait_for_job(&server, &id);
    assert_eq!(job["status"], "done", "{job}");
    assert!(
        job["notes"].to_string().contains("done again at --reg 3 "),
        "{job}"
    );
    assert_eq!(job["spec"]["params"]["regularization"], 3.0, "{job}");
    // Sent back, the spec trains the same model: no collapse.
    let body = serde_json::json!({"spec": job["spec"], "seed": 0}).to_string();
    let again = server.post_json("/v1/admin/rebuild", &body);
    assert_eq!(again.status, 202, "{}", again.text());
    let id = again.json()["id"].as_str().unwrap().to_owned();
    let job = crate::serve::wait_for_job(&server, &id);
    assert_eq!(job["status"], "done", "{job}");
    assert!(!job["notes"].to_string().contains("collapsed"), "{job}");
}
