//! The fifteenth fresh look's scoring and serving findings (issue #21): a model that gives
//! nearly every user of a small catalogue the same list is called collapsed, and `tune` no
//! longer sends such a catalogue back to the defaults; `eval` warns when its cut-offs hold the
//! whole catalogue and carries the batch's tie note; an HTTP list of a user the model could not
//! fold in says why; a misspelt rebuild override lists the names; an unusable TMPDIR and an
//! empty KGREC_DATA are named.
//!
//! The travel catalogue (`fixtures/travel`, the look's files): 60 customers, 13 destinations
//! in three clusters, 184 bookings, a Turtle and an RDF/XML graph.

use crate::common::*;
use std::path::{Path, PathBuf};

fn travel(name: &str) -> PathBuf {
    fixture("travel").join(name)
}

/// The look's steps: both graph files, the bookings with the link file.
fn import_travel(data: &Path) {
    ok(kgrec(data)
        .args(["import", "kg", "--quiet"])
        .arg(travel("dest.ttl"))
        .arg(travel("dest.rdf")));
    ok(kgrec(data)
        .args(["import", "interactions", "--quiet"])
        .arg(travel("bookings.csv"))
        .arg("--link")
        .arg(travel("link.tsv"))
        .args(["--item-col", "destination_id"]));
}

/// `kgrec eval` on the look's hold-out (`train.csv`, `test.csv`), with `extra` flags.
fn travel_eval(extra: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(binary());
    cmd.env_remove("KGREC_DATA")
        .args(["eval", "--train"])
        .arg(travel("train.csv"))
        .arg("--test")
        .arg(travel("test.csv"))
        .args(["--user-col", "customer_id", "--item-col", "destination_id"])
        .args(extra);
    cmd
}

/// Finding 1: default cke and als put D007 first for 45 (40) of the 60 customers, with scores
/// of nearly one order (median centred cosine 0.996, under the 0.999 of "one order"), and
/// `train` said nothing. It now says the model collapsed and names a smaller --reg; --reg 3
/// (which gives personal lists) is not called collapsed. `tune`, which has too few users here,
/// no longer says "train with the defaults".
#[test]
fn nearly_one_list_for_every_user_is_a_collapse_and_tune_names_the_remedy() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("travel");
    import_travel(&data);
    for model in ["cke", "als"] {
        // The default 30, given: fitted as given, and called collapsed.
        let out = run(kgrec(&data).args(["train", "--model", model, "--reg", "30"]));
        assert!(out.status.success(), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "the {model} model collapsed to nearly one direction"
            )) && err.contains("of the 60 users' lists")
                && err.contains("smaller --reg"),
            "{model}: {err}"
        );
        // Left to the default (look 20 item 5): refitted smaller, with a note.
        let out = run(kgrec(&data).args(["train", "--model", model]));
        let err = stderr(&out);
        assert!(
            out.status.success()
                && err.contains("the default --reg 30 is too strong for this catalogue")
                && err.contains("done again at --reg 3 ")
                && !err.contains("collapsed"),
            "{model}: {err}"
        );
    }
    let out = run(kgrec(&data).args(["train", "--reg", "3"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("collapsed"), "{}", stderr(&out));
    // The lists differ: D007 no longer tops nearly every one.
    let batch = tmp.path().join("recs.tsv");
    ok(kgrec(&data)
        .args(["recommend", "--all-users", "-k", "1", "--quiet", "--out"])
        .arg(&batch));
    let text = std::fs::read_to_string(&batch).unwrap();
    let d007 = text.lines().filter(|l| l.contains("\tD007\t")).count();
    assert!(d007 < 30, "D007 first for {d007} of 60 users:\n{text}");

    let out = run(kgrec(&data).args(["tune", "--budget", "5s", "--quiet"]));
    expect_bad_input(
        &out,
        &data,
        &["too few users to tune on", "smaller --reg", "--model ease"],
    );
    assert!(
        !stderr(&out).contains("train with the defaults"),
        "{}",
        stderr(&out)
    );
}

/// Finding 1's other side: on ml-100k (fold 0's training file) the default cke and als are
/// not called collapsed (their users' median centred cosine is about 0.55, one item tops 5 of
/// 63 lists looked at).
#[test]
fn ml_100k_defaults_are_not_called_collapsed() {
    let Some(train) = shared_dataset("ml-100k/folds/fold0/train.tsv") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ml");
    ok(kgrec(&data)
        .args(["import", "interactions", "--quiet"])
        .arg(&train));
    for model in ["cke", "als"] {
        let out = run(kgrec(&data).args(["train", "--model", model]));
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            !stderr(&out).contains("collapsed"),
            "{model}: {}",
            stderr(&out)
        );
    }
}

/// Finding 9: `eval -k 10,20` on 13 destinations printed recall@20 1.0000 and coverage 1.0000
/// without a word, and no tie note where `recommend --all-users` notes ties. It now warns that
/// the lists hold every candidate, and carries the batch's tie note.
#[test]
fn eval_warns_when_cut_offs_hold_the_catalogue_and_notes_ties() {
    let out = run(&mut travel_eval(&["--model", "pop"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning: -k 10,20: the model can rank 13 items")
            && err.contains("hold every item they could be recommended")
            && err.contains("high by construction"),
        "{err}"
    );
    // Popularity counts tie: the note `recommend --all-users` prints for its batch.
    assert!(
        err.contains("of the 60 lists hold ties") && err.contains("tied items are"),
        "{err}"
    );
    // Cut-offs below every user's candidates: no such warning.
    let out = run(&mut travel_eval(&["--model", "pop", "-k", "3"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("hold every item"),
        "{}",
        stderr(&out)
    );
}

/// Finding 5: a customer who arrived after a `bpr` model was trained (bpr folds in no one) got
/// the popular destinations over HTTP, flagged `"fallback": "popularity"` but with no word of
/// why; the CLI says it on standard error. The answer now carries a note.
#[test]
fn an_http_list_of_a_user_the_model_cannot_fold_in_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("travel");
    import_travel(&data);
    ok(kgrec(&data).args(["train", "--model", "bpr", "--quiet"]));
    let server = Server::start(&data, &[]);
    let posted = server.post_json(
        "/v1/interactions",
        r#"[{"user": "newcomer", "item": "D001"}, {"user": "newcomer", "item": "D002"}]"#,
    );
    assert_eq!(posted.status, 200, "{}", posted.text());
    let answer = server.get("/v1/users/newcomer/recommendations?k=3");
    assert_eq!(answer.status, 200, "{}", answer.text());
    let answer = answer.json();
    assert_eq!(answer["fallback"], "popularity", "{answer}");
    let note = answer["note"].as_str().unwrap_or_default();
    assert!(
        note.contains("user newcomer arrived after model v1 bpr was trained")
            && note.contains("could not be folded in")
            && note.contains("most popular items"),
        "{answer}"
    );
    // A customer the model was trained with: no such note.
    let known = server.get("/v1/users/cust1/recommendations?k=3").json();
    assert!(
        !known["note"]
            .as_str()
            .unwrap_or_default()
            .contains("folded in"),
        "{known}"
    );
}

/// Finding 12: `POST /v1/admin/rebuild {"overrides": {"epoch": 3}}` said only `unknown field
/// "epoch"`; it now suggests `epochs` and lists the accepted names.
#[test]
fn a_misspelt_rebuild_override_is_answered_with_the_names() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("travel");
    import_travel(&data);
    let server = Server::start(&data, &[]);
    let answer = server.post_json(
        "/v1/admin/rebuild",
        r#"{"model": "als", "overrides": {"epoch": 3}}"#,
    );
    assert_eq!(answer.status, 400, "{}", answer.text());
    let text = answer.text();
    assert!(
        text.contains(r#"unknown field \"epoch\"; did you mean \"epochs\"?"#)
            && text.contains("accepted: ")
            && text.contains("reg_scale"),
        "{text}"
    );
    // A key of the body itself put among the overrides (the eighteenth look) is told where it goes.
    let answer = server.post_json(
        "/v1/admin/rebuild",
        r#"{"model": "als", "overrides": {"seed": 3}}"#,
    );
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert!(
        answer
            .text()
            .contains(r#"\"seed\" is a key of the request body itself, beside \"overrides\""#),
        "{}",
        answer.text()
    );
}

/// Finding 6: an unusable TMPDIR gave "No such file or directory ... at path
/// /nonexistent/x/.tmpGkXuYo" (eval, demo); `KGREC_DATA=` (empty) gave "a value is required
/// for '--data <DATA>'" though no --data was given. Both are named now.
#[test]
fn an_unusable_tmpdir_and_an_empty_kgrec_data_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nonexistent").join("x");
    let out = run(travel_eval(&[]).env("TMPDIR", &missing));
    expect_bad_input(
        &out,
        &missing,
        &[
            &format!(
                "cannot create a temporary directory in {} (from TMPDIR): ",
                missing.display()
            ),
            "set TMPDIR to a writable folder",
        ],
    );
    assert!(!stderr(&out).contains("at path"), "{}", stderr(&out));

    let file = tmp.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let out = run(std::process::Command::new(binary())
        .env_remove("KGREC_DATA")
        .env("TMPDIR", &file)
        .args(["demo", "--quiet"]));
    expect_bad_input(
        &out,
        &file,
        &[
            &format!(
                "cannot create a temporary directory in {} (from TMPDIR)",
                file.display()
            ),
            "set TMPDIR to a writable folder",
        ],
    );

    let out = run(std::process::Command::new(binary())
        .env("KGREC_DATA", "")
        .arg("stats"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("KGREC_DATA is set but empty")
            && stderr(&out).contains("unset KGREC_DATA"),
        "{}",
        stderr(&out)
    );
}
