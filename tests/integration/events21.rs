//! Issue #21: event logs (`view`, `save`, `purchase`) weighed by `import interactions
//! --event-weights`, a pair keeping the largest weight among its events: in one file, across
//! imports and over HTTP. The stored strengths are compared through `stats`' fingerprint (a
//! hash of every stored record: ids, count, rating, timestamp) with a twin data directory
//! imported from ratings that state the expected strengths.

use std::path::Path;

use crate::common::*;

const WEIGHTS: &str = "view=1,save=3,purchase=5";

/// A view/save/purchase log, `action` read as the event column: u1's save then view keeps the
/// save's 3, u1's purchase then view keeps 5, u2's purchase before a later view keeps 5.
const EVENTS: &str = "user,item,action,timestamp\n\
                      u1,i1,save,100\n\
                      u1,i1,view,200\n\
                      u1,i2,purchase,100\n\
                      u1,i2,view,300\n\
                      u2,i1,view,100\n\
                      u2,i3,purchase,50\n\
                      u2,i3,view,100\n\
                      u3,i2,save,10\n";

/// The same rows rated with each pair's largest weight: the store the rule must give.
const LARGEST: &str = "user,item,rating,timestamp\n\
                       u1,i1,3,100\n\
                       u1,i1,3,200\n\
                       u1,i2,5,100\n\
                       u1,i2,5,300\n\
                       u2,i1,1,100\n\
                       u2,i3,5,50\n\
                       u2,i3,5,100\n\
                       u3,i2,3,10\n";

/// The same rows rated with each row's own weight: what "the latest rating wins" would keep.
const LATEST: &str = "user,item,rating,timestamp\n\
                      u1,i1,3,100\n\
                      u1,i1,1,200\n\
                      u1,i2,5,100\n\
                      u1,i2,1,300\n\
                      u2,i1,1,100\n\
                      u2,i3,5,50\n\
                      u2,i3,1,100\n\
                      u3,i2,3,10\n";

fn fingerprint(data: &Path) -> String {
    stats(data)["fingerprint"].as_str().unwrap().to_owned()
}

fn import(data: &Path, file: &Path, extra: &[&str]) -> std::process::Output {
    run(kgrec(data)
        .args(["import", "interactions"])
        .arg(file)
        .args(extra))
}

/// Imports `file` into `data` with `extra`, expecting a refusal (exit 2) saying every one of
/// `needles`, and nothing written.
fn refused(data: &Path, file: &Path, extra: &[&str], needles: &[&str]) {
    let before = fingerprint(data);
    expect_bad_input(&import(data, file, extra), file, needles);
    assert_eq!(fingerprint(data), before, "{file:?}: nothing written");
}

/// `train --model als --confidence rating`, then every user's list with scores.
fn als_rating_lists(data: &Path) -> String {
    ok(kgrec(data).args([
        "train",
        "--quiet",
        "--model",
        "als",
        "--reg",
        "1",
        "--seed",
        "3",
        "--confidence",
        "rating",
    ]));
    ok(kgrec(data).args([
        "recommend",
        "--all-users",
        "-k",
        "3",
        "--out",
        "-",
        "--quiet",
    ]))
}

#[test]
fn a_pairs_strength_is_the_largest_weight_among_its_events() {
    let tmp = tempfile::tempdir().unwrap();
    let events = write_file(tmp.path(), "events.csv", EVENTS);
    let data = tmp.path().join("events");
    let out = import(&data, &events, &["--event-weights", WEIGHTS]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("events weighed purchase=5,save=3,view=1")
            && said.contains("largest weight among its events")
            && said.contains("8 rows by kind: view 4, purchase 2, save 2"),
        "{said}"
    );
    let largest = tmp.path().join("largest");
    ok(kgrec(&largest)
        .args(["import", "interactions"])
        .arg(write_file(tmp.path(), "largest.csv", LARGEST)));
    let latest = tmp.path().join("latest");
    ok(kgrec(&latest)
        .args(["import", "interactions"])
        .arg(write_file(tmp.path(), "latest.csv", LATEST)));
    // Same pairs, counts (rows, as --confidence count weighs them), timestamps and strengths.
    assert_eq!(fingerprint(&data), fingerprint(&largest));
    assert_ne!(fingerprint(&data), fingerprint(&latest));
    // So `train --confidence rating` weighs the largest weights.
    assert_eq!(als_rating_lists(&data), als_rating_lists(&largest));
    let s = stats(&data);
    assert_eq!(
        s["event_weights"],
        serde_json::json!({"purchase": 5.0, "save": 3.0, "view": 1.0})
    );
    let text = ok(kgrec(&data).arg("stats"));
    assert!(
        text.contains("event weights") && text.contains("purchase=5,save=3,view=1"),
        "{text}"
    );
    assert!(stats(&largest).get("event_weights").is_none());

    // Without --event-weights the event column is named in a note, not silently dropped.
    let plain = tmp.path().join("plain");
    let out = import(&plain, &events, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("column action (values save, view, purchase) looks like each row's kind")
            && said.contains("--event-weights save=W,view=W,purchase=W"),
        "{said}"
    );

    // A RetailRocket-style log: `timestamp,visitorid,event,itemid` in milliseconds.
    let rr = write_file(
        tmp.path(),
        "rr.csv",
        "timestamp,visitorid,event,itemid\n\
         1433221332117,257597,view,355908\n\
         1433224214164,257597,addtocart,355908\n\
         1433221999827,111016,transaction,248676\n\
         1433221999900,111016,view,248676\n",
    );
    let retail = tmp.path().join("retail");
    let out = import(
        &retail,
        &rr,
        &["--event-weights", "view=1,addtocart=3,transaction=5"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stats(&retail);
    assert_eq!(s["interactions"].as_u64(), Some(2));
    // The strengths' scale is the weights': a view weighs 1/5 whichever kinds are stored.
    assert_eq!(s["rating_scale"]["min"].as_f64(), Some(1.0), "{s}");
    assert_eq!(s["rating_scale"]["max"].as_f64(), Some(5.0), "{s}");
}

#[test]
fn save_then_view_across_two_imports_keeps_the_save() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("events");
    let saved = write_file(
        tmp.path(),
        "a.csv",
        "user,item,event,timestamp\nu1,i1,save,100\n",
    );
    let viewed = write_file(
        tmp.path(),
        "b.csv",
        "user,item,event,timestamp\nu1,i1,view,200\n",
    );
    ok(kgrec(&data)
        .args(["import", "interactions", "--event-weights", WEIGHTS])
        .arg(&saved));
    ok(kgrec(&data)
        .args(["import", "interactions", "--event-weights", WEIGHTS])
        .arg(&viewed));
    // The twin: the save's 3 at the view's time, counted twice (the view is a later event).
    let twin = tmp.path().join("twin");
    for (name, text) in [
        ("ta.csv", "user,item,rating,timestamp\nu1,i1,3,100\n"),
        ("tb.csv", "user,item,rating,timestamp\nu1,i1,3,200\n"),
    ] {
        ok(kgrec(&twin)
            .args(["import", "interactions"])
            .arg(write_file(tmp.path(), name, text)));
    }
    assert_eq!(fingerprint(&data), fingerprint(&twin));

    // Other weights for a stored kind: refused, nothing written.
    let later = write_file(
        tmp.path(),
        "c.csv",
        "user,item,event,timestamp\nu2,i1,view,300\n",
    );
    refused(
        &data,
        &later,
        &["--event-weights", "view=2,save=3,purchase=5"],
        &["--event-weights view=2", "view=1", "--data NEW"],
    );
    // A new kind may be added.
    let shared = write_file(
        tmp.path(),
        "d.csv",
        "user,item,event,timestamp\nu2,i1,share,300\n",
    );
    ok(kgrec(&data)
        .args([
            "import",
            "interactions",
            "--event-weights",
            "share=2,view=1",
        ])
        .arg(&shared));
    assert_eq!(stats(&data)["event_weights"]["share"].as_f64(), Some(2.0));
    assert_eq!(
        stats(&data)["event_weights"]["purchase"].as_f64(),
        Some(5.0)
    );

    // Ratings into the store of event weights, and events into a store of ratings: refused.
    let rated = write_file(tmp.path(), "r.csv", "user,item,rating\nu3,i1,4\n");
    let out = import(&data, &rated, &[]);
    expect_bad_input(
        &out,
        &rated,
        &["strengths are event weights", "--event-weights"],
    );
    let out = import(&twin, &shared, &["--event-weights", "share=2"]);
    expect_bad_input(&out, &shared, &["holds explicit ratings", "--data NEW"]);
}

#[test]
fn an_unknown_event_is_refused_with_its_line_and_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("events");
    let file = write_file(
        tmp.path(),
        "log.csv",
        "user,item,action\nu1,i1,view\nu1,i2,View\n",
    );
    let out = import(&data, &file, &["--event-weights", WEIGHTS]);
    expect_bad_input(
        &out,
        &file,
        &[
            "log.csv:3",
            "event \"View\" has no weight",
            "purchase, save, view",
            "did you mean \"view\"",
        ],
    );
    assert!(
        !data.exists(),
        "a refused file does not create the data directory"
    );
    // A weight of 0 drops the kind's rows, counted.
    let out = import(&data, &file, &["--event-weights", "view=1,View=0"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 row(s) of the kinds weighted 0 (View) dropped"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stats(&data)["interactions"].as_u64(), Some(1));
}

#[test]
fn conflicting_options_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let file = write_file(
        tmp.path(),
        "both.csv",
        "user,item,rating,event\nu1,i1,4,view\n",
    );
    let out = import(
        &data,
        &file,
        &["--event-weights", WEIGHTS, "--rating-col", "rating"],
    );
    expect_bad_input(
        &out,
        &file,
        &["--rating-col rating and --event-weights", "not both"],
    );
    // --event-col without weights: clap says what it needs.
    let out = import(&data, &file, &["--event-col", "event"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--event-weights"), "{}", stderr(&out));
    for bad in ["view", "view=-1", "view=1,view=2"] {
        let out = import(&data, &file, &["--event-weights", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
    }
    // No event column to read.
    let none = write_file(tmp.path(), "none.csv", "user,item\nu1,i1\n");
    let out = import(&data, &none, &["--event-weights", WEIGHTS]);
    expect_bad_input(&out, &none, &["none.csv:1", "--event-col"]);
    assert!(!data.exists());
    // With weights, a column named like a rating is not read: the events weigh the rows.
    let out = import(&data, &file, &["--event-weights", WEIGHTS]);
    assert!(out.status.success(), "{}", stderr(&out));
    let twin = tmp.path().join("twin");
    ok(kgrec(&twin)
        .args(["import", "interactions"])
        .arg(write_file(
            tmp.path(),
            "t.csv",
            "user,item,rating\nu1,i1,1\n",
        )));
    assert_eq!(fingerprint(&data), fingerprint(&twin));
}

#[test]
fn posted_events_are_weighed_by_the_stored_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("events");
    let file = write_file(tmp.path(), "e.csv", "user,item,event\nu1,i1,view\n");
    ok(kgrec(&data)
        .args(["import", "interactions", "--event-weights", WEIGHTS])
        .arg(&file));
    let server = Server::start(&data, &[]);
    let posted = server.post_json(
        "/v1/interactions",
        r#"[{"user": "u1", "item": "i9", "event": "purchase"}, {"user": "u1", "item": "i9", "event": "view"}]"#,
    );
    assert_eq!(posted.status, 200, "{}", posted.text());
    let unknown = server.post_json(
        "/v1/interactions",
        r#"[{"user": "u2", "item": "i1", "event": "click"}]"#,
    );
    assert_eq!(unknown.status, 400, "{}", unknown.text());
    assert!(
        unknown
            .text()
            .contains("interaction 1: event \\\"click\\\" has no weight")
            && unknown.text().contains("purchase, save, view"),
        "{}",
        unknown.text()
    );
    let rated = server.post_json(
        "/v1/interactions",
        r#"[{"user": "u2", "item": "i1", "rating": 4}]"#,
    );
    assert_eq!(rated.status, 400, "{}", rated.text());
    assert!(
        rated
            .text()
            .contains("an \\\"event\\\" instead of a \\\"rating\\\""),
        "{}",
        rated.text()
    );
    server.terminate(10);
    // The twin: u1's i1 viewed, then i9 twice at the purchase's 5.
    let twin = tmp.path().join("twin");
    ok(kgrec(&twin)
        .args(["import", "interactions"])
        .arg(write_file(
            tmp.path(),
            "t.csv",
            "user,item,rating\nu1,i1,1\n",
        )));
    ok(kgrec(&twin)
        .args(["import", "interactions"])
        .arg(write_file(
            tmp.path(),
            "t2.csv",
            "user,item,rating\nu1,i9,5\nu1,i9,5\n",
        )));
    assert_eq!(fingerprint(&data), fingerprint(&twin));
    // A store without event weights refuses a posted event, saying how to get them.
    let server = Server::start(&twin, &[]);
    let posted = server.post_json(
        "/v1/interactions",
        r#"[{"user": "u1", "item": "i2", "event": "view"}]"#,
    );
    assert_eq!(posted.status, 400, "{}", posted.text());
    assert!(
        posted.text().contains("no event weights"),
        "{}",
        posted.text()
    );
    server.terminate(10);
}

/// #21, a later import without --event-weights into a data directory that stores them: a file
/// with an event column is weighed with the stored weights (as though the flag were given
/// again), a kind they lack is refused naming them, and a file without an event column is
/// refused (its rows would weigh as the top kind), nothing written. --remove still reads any.
#[test]
fn a_later_import_without_the_flag_is_weighed_with_the_stored_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let first = write_file(tmp.path(), "events.csv", EVENTS);
    let day2 = write_file(
        tmp.path(),
        "day2.csv",
        "user,item,action,timestamp\nu4,i1,view,400\nu4,i2,purchase,410\nu1,i3,view,420\n",
    );
    let (data, twin) = (tmp.path().join("d"), tmp.path().join("twin"));
    for d in [&data, &twin] {
        let out = import(d, &first, &["--event-weights", WEIGHTS]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = import(&data, &day2, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "day2.csv: no --event-weights: weighed with the directory's stored event weights \
             view=1, save=3, purchase=5"
        ),
        "{err}"
    );
    assert!(!err.contains("plain interaction"), "{err}");
    let out = import(&twin, &day2, &["--event-weights", WEIGHTS]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fingerprint(&data), fingerprint(&twin));

    // A kind the stored weights lack: refused, naming them and how to add it.
    let click = write_file(
        tmp.path(),
        "click.csv",
        "user,item,action\nu5,i1,view\nu5,i2,click\n",
    );
    refused(
        &data,
        &click,
        &[],
        &[
            "click.csv:3",
            "event \"click\" has no weight (this data directory's stored event weights name \
             purchase, save, view)",
            "--event-weights purchase=5,save=3,view=1,click=W",
        ],
    );

    // No event column: refused, naming the stored weights and how to proceed.
    let plain = write_file(tmp.path(), "plain.csv", "user,item\nu5,i1\nu1,i3\n");
    refused(
        &data,
        &plain,
        &[],
        &[
            "plain.csv: no column holds each row's kind of event",
            "event weights (view=1, save=3, purchase=5)",
            "weighs as much as the top kind; nothing was written",
            "--event-col NAME --event-weights purchase=5,save=3,view=1",
        ],
    );
    // A changed weight given again is refused as before.
    refused(
        &data,
        &day2,
        &["--event-weights", "view=2,save=3,purchase=5"],
        &["--event-weights view=2", "view=1"],
    );
    // --remove takes pairs back whatever the file's columns, and says nothing of events.
    let out = import(&data, &plain, &["--remove"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("1 interactions removed"),
        "{}",
        stdout(&out)
    );
    let out = import(&data, &day2, &["--remove"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("kind of event"), "{}", stderr(&out));
}

/// #21, over HTTP: posted rows without an "event" into a data directory of event weights are
/// refused (400), naming the stored weights, whether no row or only some name an event;
/// nothing is written.
#[test]
fn posted_rows_without_an_event_are_refused_by_an_event_weighted_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("events");
    let file = write_file(tmp.path(), "e.csv", "user,item,event\nu1,i1,view\n");
    ok(kgrec(&data)
        .args(["import", "interactions", "--event-weights", WEIGHTS])
        .arg(&file));
    let before = fingerprint(&data);
    let server = Server::start(&data, &[]);
    let plain = server.post_json("/v1/interactions", r#"[{"user": "u2", "item": "i1"}]"#);
    assert_eq!(plain.status, 400, "{}", plain.text());
    for needle in [
        "POST /v1/interactions: interaction 1: no \\\"event\\\" given",
        "event weights (view=1, save=3, purchase=5)",
        "one of purchase, save, view",
    ] {
        assert!(plain.text().contains(needle), "{needle}: {}", plain.text());
    }
    let mixed = server.post_json(
        "/v1/interactions",
        r#"[{"user": "u2", "item": "i1", "event": "save"}, {"user": "u2", "item": "i2"}]"#,
    );
    assert_eq!(mixed.status, 400, "{}", mixed.text());
    assert!(
        mixed
            .text()
            .contains("interaction 2: no \\\"event\\\" given"),
        "{}",
        mixed.text()
    );
    server.terminate(10);
    assert_eq!(fingerprint(&data), before, "nothing written");
}
