//! The nineteenth fresh look (issue #21): "no end" dates taken for milliseconds and far-future
//! timestamps that defeat repeat counts; `tfidf` on English titles emptied by a long stop list
//! and kept as the current model; SIGTERM leaving `--out` and `eval` debris (and `kill -9`
//! debris never removed); empty and short lists blamed on the user's history; non-UTF-8 advice
//! that always said `cp1252`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// Finding 1: a date is a date whatever its year, never milliseconds; a "no end" date (or any
/// time more than a year ahead) is refused naming its line, under every unit; a file mixing
/// units names the first line of each.
#[test]
fn dates_are_never_milliseconds_and_a_no_end_date_is_refused_naming_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let end = write_file(
        tmp.path(),
        "end.csv",
        "user_id,item_id,timestamp\nu3,E030,2025-06-01T10:00:00Z\nu3,E031,9999-12-31T23:59:59Z\n",
    );
    for unit in ["auto", "s", "ms"] {
        let out = run(kgrec(&data)
            .args(["import", "interactions", "--time-unit", unit])
            .arg(&end));
        expect_bad_input(
            &out,
            &end,
            &[
                "end.csv:3",
                "9999-12-31T23:59:59Z",
                "more than a year after now",
            ],
        );
        assert!(!stderr(&out).contains("milliseconds"), "{}", stderr(&out));
    }
    let far = write_file(
        tmp.path(),
        "far.csv",
        "user_id,item_id,timestamp\nu2,E030,2999-01-01T00:00:00Z\n",
    );
    expect_bad_input(
        &run(kgrec(&data).args(["import", "interactions"]).arg(&far)),
        &far,
        &["far.csv:2", "more than a year after now"],
    );
    let far = write_file(
        tmp.path(),
        "far2.csv",
        "user_id,item_id,timestamp\nu2,E030,1700000000\nu2,E031,99999999999\n",
    );
    expect_bad_input(
        &run(kgrec(&data).args(["import", "interactions"]).arg(&far)),
        &far,
        &["far2.csv:3", "more than a year after now"],
    );
    // Milliseconds beside a date: the numbers are converted, the date kept as a date.
    let ms = write_file(
        tmp.path(),
        "ms.csv",
        "user_id,item_id,timestamp\nu1,E001,1704067200000\nu1,E002,2024-01-02\n",
    );
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&ms));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 converted"), "{}", stderr(&out));
    // A mixed file names the first line of each unit.
    let mixed = write_file(
        tmp.path(),
        "mixed.csv",
        "user_id,item_id,timestamp\nu1,E001,2024-01-03\nu1,E003,1704067200\nu1,E004,1704067200000\n",
    );
    expect_bad_input(
        &run(kgrec(&tmp.path().join("other"))
            .args(["import", "interactions"])
            .arg(&mixed)),
        &mixed,
        &[
            "1 timestamp(s) look like milliseconds",
            "the first 1704067200000 on line 4",
            "the first 1704067200 on line 3",
        ],
    );
}

/// Findings 1 and 2 over HTTP: a posted "no end" date is refused as far in the future (not
/// as milliseconds), naming the row; a negative timestamp gets the CLI's note.
#[test]
fn the_http_service_refuses_far_future_dates_and_notes_negative_timestamps() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(kgrec(&data)
        .args(["import", "interactions"])
        .arg(fixture("interactions.tsv")));
    ok(kgrec(&data).args(["train", "--model", "pop"]));
    let server = Server::start(&data, &[]);
    let post = |body: &str| {
        server.request(
            "POST",
            "/v1/interactions",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
    };
    let answer = post(
        r#"[{"user": "1", "item": "172", "timestamp": "2020-01-01"},
            {"user": "1", "item": "156", "timestamp": "9999-12-31T23:59:59Z"}]"#,
    );
    let text = answer.text();
    assert_eq!(answer.status, 400, "{text}");
    assert!(text.contains("interaction 2"), "{text}");
    assert!(text.contains("more than a year after now"), "{text}");
    assert!(!text.contains("milliseconds"), "{text}");
    let answer = post(r#"[{"user": "1", "item": "172", "timestamp": -100}]"#);
    let json = answer.json();
    assert_eq!(answer.status, 200, "{json}");
    assert!(
        json["notes"]
            .to_string()
            .contains("1 timestamp(s) are negative (before 1970)"),
        "{json}"
    );
    assert!(server.terminate(30).success());
}

/// English titles with the look's book catalogue: `items` labels, users `a`–`d` on items 1–4.
fn books(dir: &Path, labels: &[&str]) -> PathBuf {
    let data = dir.join("books");
    let nt: String = labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            format!(
                "<http://b/{}> <http://www.w3.org/2000/01/rdf-schema#label> \"{l}\"@en .\n",
                i + 1
            )
        })
        .collect();
    let graph = write_file(dir, "en.nt", nt);
    let links: String = (1..=labels.len())
        .map(|i| format!("{i}\t<http://b/{i}>\n"))
        .collect();
    let links = write_file(dir, "l.tsv", format!("item_id\tiri\n{links}"));
    let rows = write_file(
        dir,
        "i.csv",
        "user_id,item_id\na,1\na,2\nb,2\nb,3\nc,3\nc,4\nd,1\nd,4\n",
    );
    ok(kgrec(&data).args(["import", "kg"]).arg(graph));
    ok(kgrec(&data)
        .args(["import", "interactions", "--link"])
        .arg(links)
        .arg(rows));
    data
}

/// Finding 3: ordinary title words ("novel", "world") are kept (function words only are
/// stopped); a tfidf with no word shared by two items is refused, naming that cause, and the
/// current model stays; `similar` of an item sharing no word says so, not "no interactions".
#[test]
fn tfidf_keeps_ordinary_title_words_and_refuses_a_model_with_no_shared_word() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("plain");
    std::fs::create_dir(&dir).unwrap();
    let data = books(
        &dir,
        &[
            "War and Peace",
            "Anna Karenina",
            "Crime and Punishment",
            "The Idiot",
        ],
    );
    ok(kgrec(&data).args(["train", "--model", "pop"]));
    let out = run(kgrec(&data).args(["train", "--model", "tfidf"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("4 of 4 items have text"), "{err}");
    assert!(
        err.contains("no word of it is shared by 2 or more items"),
        "{err}"
    );
    assert!(err.contains("the current model stays"), "{err}");
    assert!(!err.contains("no item has text"), "{err}");
    assert_eq!(
        stats(&data)["models"],
        serde_json::json!(["v1 pop (current)"]),
        "{}",
        stats(&data)
    );

    let dir = tmp.path().join("novel");
    std::fs::create_dir(&dir).unwrap();
    let data = books(
        &dir,
        &[
            "War and Peace novel",
            "Anna Karenina novel",
            "A New World",
            "The Old Man and the new Sea",
        ],
    );
    let out = run(kgrec(&data).args(["train", "--model", "tfidf"]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("4 of 4 items have text"), "{err}");
    let out = run(kgrec(&data).args(["similar", "--item", "1"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains('2'), "{}", stdout(&out));
}

/// Finding 3, `similar`: an item whose text shares no word with another's is named so.
#[test]
fn similar_under_tfidf_names_text_shared_with_no_item_as_the_cause() {
    let tmp = tempfile::tempdir().unwrap();
    let data = books(
        tmp.path(),
        &[
            "War and Peace novel",
            "Anna Karenina novel",
            "Crime",
            "Idiot",
        ],
    );
    ok(kgrec(&data).args(["train", "--model", "tfidf"]));
    let out = run(kgrec(&data).args(["similar", "--item", "3"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("shares no word of its text"), "{err}");
    assert!(!err.contains("had no interactions"), "{err}");
}

/// The entries of `dir` whose names start with `prefix`.
fn named(dir: &Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

/// Finding 4: SIGTERM during `eval` removes its temporary data directory as Ctrl-C does; the
/// debris a `kill -9` leaves (a dead process's `--out` temporary file, an `eval` folder) is
/// removed by the next run of the same kind, and a live process's is left alone.
#[test]
fn sigterm_cleans_up_as_ctrl_c_and_the_next_run_removes_a_dead_process_debris() {
    let tmp = tempfile::tempdir().unwrap();
    let scratch = tmp.path().join("tmp");
    std::fs::create_dir(&scratch).unwrap();
    let (train, test, _) = crate::cf::split_fixture(tmp.path());
    let mut child = kgrec(&tmp.path().join("unused"))
        .env("TMPDIR", &scratch)
        .args(["eval", "--model", "als", "--epochs", "100000", "--train"])
        .arg(&train)
        .arg("--test")
        .arg(&test)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while named(&scratch, "kgrec-eval.").is_empty() {
        assert!(child.try_wait().unwrap().is_none(), "eval ended early");
        assert!(Instant::now() < deadline, "no eval folder appeared");
        std::thread::sleep(Duration::from_millis(10));
    }
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert_eq!(named(&scratch, "kgrec-eval."), Vec::<String>::new());

    // A dead process's debris (pid 999999999 is above every kernel's pid_max), and a live
    // one's (this test's own pid).
    let dead = scratch.join("kgrec-eval.999999999.AbCdEf");
    std::fs::create_dir_all(dead.join("data")).unwrap();
    let live = scratch.join(format!("kgrec-eval.{}.AbCdEf", std::process::id()));
    std::fs::create_dir(&live).unwrap();
    let out = run(kgrec(&tmp.path().join("unused"))
        .env("TMPDIR", &scratch)
        .args(["eval", "--model", "pop", "--train"])
        .arg(&train)
        .arg("--test")
        .arg(&test));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!dead.exists(), "a dead eval's folder stayed");
    assert!(live.exists(), "a live process's folder was removed");

    let data = tmp.path().join("data");
    ok(kgrec(&data).args(["import", "interactions"]).arg(&train));
    ok(kgrec(&data).args(["train", "--model", "pop"]));
    let stale = tmp.path().join(".recs.tsv.999999999.0.kgrec-tmp");
    std::fs::write(&stale, "half").unwrap();
    let mine = tmp
        .path()
        .join(format!(".recs.tsv.{}.0.kgrec-tmp", std::process::id()));
    std::fs::write(&mine, "in use").unwrap();
    ok(kgrec(&data)
        .args(["recommend", "--all-users", "--out"])
        .arg(tmp.path().join("recs.tsv")));
    assert!(!stale.exists(), "a dead run's temporary --out file stayed");
    assert!(mine.exists(), "a live process's temporary file was removed");
}

/// Finding 5: every item the model learnt retired and only new ones on offer: the empty list
/// names those causes with counts, not "they already have every item"; the batch says how many
/// lists are short and why.
#[test]
fn empty_and_short_lists_name_retired_and_unlearnt_items_with_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut rows = String::from("user_id,item_id\n");
    for u in 0..6 {
        for k in 0..3 {
            rows.push_str(&format!("u{u},E{:03}\n", (u + k * 2) % 8));
        }
    }
    ok(kgrec(&data)
        .args(["import", "interactions"])
        .arg(write_file(tmp.path(), "past.csv", rows)));
    ok(kgrec(&data).args(["train", "--model", "pop"]));
    let all: String = (0..8).map(|i| format!("E{i:03}\n")).collect();
    ok(kgrec(&data)
        .args(["import", "links", "--retire"])
        .arg(write_file(tmp.path(), "sold.txt", all)));
    let out = run(kgrec(&data).args(["recommend", "--user", "u0"]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("they already have every item"), "{err}");
    assert!(err.contains("8 retired"), "{err}");
    let out = run(kgrec(&data)
        .args(["recommend", "--all-users", "--out"])
        .arg(tmp.path().join("recs.tsv")));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("6 of the 6 lists hold fewer than the 20 asked (6 hold none)"),
        "{err}"
    );
    assert!(err.contains("8 retired"), "{err}");
}

/// Finding 6: the advice for a file that is not UTF-8 names its likely encoding (Cyrillic,
/// Chinese), and RDF/XML's declared one.
#[test]
fn non_utf8_advice_names_the_likely_encoding() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // "user_id,item_id\nИван,Война и мир\n..." in Windows-1251.
    let mut cp1251 = b"user_id,item_id\n".to_vec();
    for (user, item) in [
        (
            &b"\xc8\xe2\xe0\xed"[..],
            &b"\xc2\xee\xe9\xed\xe0 \xe8 \xec\xe8\xf0"[..],
        ),
        (
            b"\xcc\xe0\xf0\xe8\xff",
            b"\xc0\xed\xed\xe0 \xca\xe0\xf0\xe5\xed\xe8\xed\xe0",
        ),
        (b"\xcf\xb8\xf2\xf0", b"\xc8\xe4\xe8\xee\xf2"),
    ] {
        cp1251.extend_from_slice(&[user, b",", item, b"\n"].concat());
    }
    let file = write_file(tmp.path(), "ru.csv", cp1251);
    expect_bad_input(
        &run(kgrec(&data).args(["import", "interactions"]).arg(&file)),
        &file,
        &["iconv -f cp1251", "Cyrillic"],
    );
    let rdf = write_file(
        tmp.path(),
        "lib.rdf",
        [
            &b"<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<rdf:RDF \
               xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" \
               xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n<rdf:Description \
               rdf:about=\"urn:x:1\"><dc:title>"[..],
            b"\xc2\xee\xe9\xed\xe0",
            b"</dc:title></rdf:Description>\n</rdf:RDF>\n",
        ]
        .concat(),
    );
    expect_bad_input(
        &run(kgrec(&data).args(["import", "kg"]).arg(&rdf)),
        &rdf,
        &["iconv -f windows-1251"],
    );
}
