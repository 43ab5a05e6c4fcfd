//! The eighteenth fresh look (issue #21): a stretched rating scale named at train time and as
//! the cause of a collapse; readers that wait for a `train`'s or an import's short hold; TSV
//! graphs with a header line or that are interactions tables; `--exclude` ids holding commas;
//! `tune` at a cut-off the catalogue cannot fill, and an earlier record replaced aloud; Excel's
//! `sep=;` line and scientific-notation ids; a non-UTF-8 TSV graph's iconv advice.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::*;

/// `users` users with 8 items each out of `items`, rated 1 to 3 (a fixed pattern), as CSV.
fn rated_csv(users: usize, items: usize) -> String {
    let mut text = String::from("user_id,item_id,rating\n");
    for u in 0..users {
        for k in 0..8 {
            let item = (u * 7 + k * 13 + (u / 5) * k) % items;
            text.push_str(&format!("u{u},i{item},{}\n", 1 + (u + k) % 3));
        }
    }
    text
}

/// Finding 1: one rating of 50 on a 1–3 store stretches the inferred scale that `--confidence
/// rating` divides by. `train` says so, naming the scale's top, the rows' count, a pair, and
/// the ways out; when the model collapses, the collapse note names that cause, not `--reg`.
#[test]
fn a_stretched_rating_scale_is_named_at_train_time_and_as_the_collapse_cause() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut text = rated_csv(120, 60);
    text.push_str("u1,i59,50\n");
    let file = write_file(tmp.path(), "r.csv", text);
    ok(kgrec(&data).args(["import", "interactions"]).arg(&file));
    for model in ["als", "cke"] {
        let out = run(kgrec(&data).args(["train", "--model", model]));
        let err = stderr(&out);
        assert!(out.status.success(), "{model}: {err}");
        assert!(
            err.contains("the rating scale inferred from the stored ratings runs to 50"),
            "{model}: {err}"
        );
        assert!(err.contains("stretched by 1 of"), "{model}: {err}");
        assert!(
            err.contains("(1 to 3; the first: user \"u1\", item \"i59\")"),
            "{model}: {err}"
        );
        assert!(err.contains("user \"u1\", item \"i59\""), "{model}: {err}");
        assert!(err.contains("--rating-scale 1:3"), "{model}: {err}");
        assert!(err.contains("--remove"), "{model}: {err}");
        // A collapse, if any, blames the scale, not the regularisation.
        if err.contains("collapsed") || err.contains("popularity order") {
            assert!(err.contains("the likely cause"), "{model}: {err}");
            assert!(!err.contains("a smaller --reg"), "{model}: {err}");
        }
        let rec = run(kgrec(&data).args(["recommend", "--user", "u3"]));
        let rec_err = stderr(&rec);
        assert!(rec.status.success(), "{rec_err}");
        assert!(!rec_err.contains("a smaller --reg"), "{model}: {rec_err}");
    }
    // Binary confidence does not divide by the scale: nothing to say.
    let out = run(kgrec(&data).args(["train", "--model", "als", "--confidence", "binary"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("stretched"), "{}", stderr(&out));
    // Removing the row ends it.
    let bad = write_file(tmp.path(), "bad.csv", "user_id,item_id\nu1,i59\n");
    ok(kgrec(&data)
        .args(["import", "interactions", "--remove"])
        .arg(&bad));
    let out = run(kgrec(&data).args(["train", "--model", "als"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("stretched"), "{}", stderr(&out));
}

/// Waits until `data`'s lock file names `pid`.
fn wait_for_lock(data: &Path, pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(data.join("lock"))
        .unwrap_or_default()
        .trim()
        != pid.to_string()
    {
        assert!(Instant::now() < deadline, "the holder never took the lock");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Finding 6: a reader started while another command holds the directory for a short while
/// waits for it instead of failing; held longer than the reader waits, the error names the
/// holder's command.
#[test]
fn readers_wait_for_a_short_hold_and_name_the_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    let before = triples(&data);
    let small = tmp.path().join("small.nt");
    write_synthetic_ntriples(&small, 20_000);
    let mut holder = kgrec(&data)
        .args(["import", "kg"])
        .arg(&small)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_lock(&data, holder.id());
    let out = run(kgrec(&data).args(["stats", "--format", "json"]));
    let err = stderr(&out);
    assert!(out.status.success(), "the reader did not wait: {err}");
    assert!(holder.wait().unwrap().success());
    let stats: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        stats["triples"].as_u64().unwrap(),
        before + 20_000,
        "the reader answered after the import"
    );

    // Held past the reader's wait (--wait 0: none): the error names the command.
    let big = tmp.path().join("big.nt");
    write_synthetic_ntriples(&big, 300_000);
    let mut holder = kgrec(&data)
        .args(["import", "kg"])
        .arg(&big)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_lock(&data, holder.id());
    let out = run(kgrec(&data).args(["--wait", "0", "stats"]));
    let still = holder.try_wait().unwrap().is_none();
    assert!(holder.wait().unwrap().success());
    if still {
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("is `kgrec import kg`"), "{err}");
        assert!(!err.contains("process unknown"), "{err}");
    }
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(readme.contains("wait up to 10 s"), "the README says so");
}

/// Finding 2: a TSV graph whose first line names its columns in words of its own is read
/// with that line skipped (and said); an interactions table given to `import kg` is refused,
/// naming `import interactions`, with nothing written (a first import leaves no directory).
#[test]
fn tsv_graph_headers_are_skipped_and_interactions_tables_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut produkte = String::from("Artikel\tEigenschaft\tWert\r\n");
    for p in 1..=5 {
        produkte.push_str(&format!("P000{p}\tkategorie\tWerkzeug\r\n"));
        produkte.push_str(&format!("P000{p}\thersteller\tHersteller_{p}\r\n"));
    }
    let file = write_file(tmp.path(), "Produkte.tsv", &produkte);
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&file));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("read as a header (Artikel, Eigenschaft, Wert) and skipped"),
        "{err}"
    );
    assert_eq!(triples(&data), 10);
    let listed = ok(kgrec(&data).args([
        "sparql",
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o FILTER(CONTAINS(STR(?p), \"Eigenschaft\")) }",
    ]));
    assert!(listed.contains('0'), "{listed}");

    // A graph of plain words keeps its first line.
    let words = write_file(
        tmp.path(),
        "people.tsv",
        "Alice\tknows\tBob\nBob\tknows\tCarol\n",
    );
    let fresh = tmp.path().join("fresh");
    ok(kgrec(&fresh).args(["import", "kg"]).arg(&words));
    assert_eq!(triples(&fresh), 2);

    // An interactions table, headed or not, is refused; nothing is written.
    let mut inter = String::from("user_id\titem_id\trating\n");
    let mut bare = String::new();
    for u in 0..30 {
        for k in 0..3 {
            inter.push_str(&format!("u{u}\tL{}\t1\n", u * 3 + k));
            bare.push_str(&format!("u{u}\tL{}\t{}\n", u * 3 + k, 1 + k));
        }
    }
    for (name, text, needle) in [
        ("inter.tsv", inter, "are an interactions table's"),
        ("bare.tsv", bare, "looks like an interactions table"),
    ] {
        let file = write_file(tmp.path(), name, text);
        let out = run(kgrec(&data).args(["import", "kg"]).arg(&file));
        expect_bad_input(
            &out,
            &file,
            &[needle, "kgrec import interactions", "nothing was imported"],
        );
        assert_eq!(triples(&data), 10, "{name}: nothing written");
        let new = tmp.path().join(format!("new-{name}"));
        let out = run(kgrec(&new).args(["import", "kg"]).arg(&file));
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(!new.exists(), "{name}: a directory was left behind");
    }
}

/// Finding 9: a TSV graph that is not UTF-8 gets the iconv advice the other syntaxes give.
#[test]
fn a_latin1_tsv_graph_gets_the_iconv_advice() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = write_file(
        tmp.path(),
        "p.tsv",
        b"P1\tname\tGr\xf6\xdfe L\nP2\tname\tKlein\n".as_slice(),
    );
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&file));
    expect_bad_input(&out, &file, &["p.tsv:1:", "iconv -f cp1252 -t utf-8"]);
}

/// An interaction store (and a trained popularity model) whose items include ids holding a
/// comma.
fn comma_store(tmp: &Path) -> PathBuf {
    let data = tmp.join("data");
    let mut text = String::from("user_id,item_id\n");
    for u in 0..6 {
        for item in [
            "\"https://x.org/d?ids=1,2\"",
            "\"https://x.org/d?ids=3,4\"",
            "plain",
        ] {
            text.push_str(&format!("u{u},{item}\n"));
        }
    }
    text.push_str("u9,other\n");
    let file = write_file(tmp, "c.csv", text);
    ok(kgrec(&data).args(["import", "interactions"]).arg(&file));
    ok(kgrec(&data).args(["train", "--model", "pop"]));
    data
}

fn listed(data: &Path, extra: &[&str]) -> (Vec<String>, String) {
    let out = run(kgrec(data)
        .args(["recommend", "--user", "u9", "--format", "json"])
        .args(extra));
    assert!(out.status.success(), "{extra:?}: {}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let items = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item"].as_str().unwrap().to_owned())
        .collect();
    (items, stderr(&out))
}

/// Finding 3: an id holding a comma can be excluded: quoted CSV-style, in an `@FILE`, or over
/// HTTP as a repeated `exclude=` (each one id) or a quoted entry; an unknown pair of ids (an id
/// split at its comma) is warned of with how to write it.
#[test]
fn ids_holding_commas_can_be_excluded() {
    let tmp = tempfile::tempdir().unwrap();
    let data = comma_store(tmp.path());
    let a = "https://x.org/d?ids=1,2";
    let b = "https://x.org/d?ids=3,4";
    let (all, _) = listed(&data, &[]);
    assert!(
        all.contains(&a.to_owned()) && all.contains(&b.to_owned()),
        "{all:?}"
    );

    let (items, err) = listed(&data, &["--exclude", &format!("\"{a}\",plain")]);
    assert!(
        !items.contains(&a.to_owned()) && !items.contains(&"plain".to_owned()),
        "{items:?}"
    );
    assert!(items.contains(&b.to_owned()), "{items:?}");
    assert!(!err.contains("warning"), "{err}");

    let ids = write_file(tmp.path(), "ids.txt", format!("{a}\n\n{b}\n"));
    let (items, _) = listed(
        &data,
        &[
            "--exclude",
            &format!("@{}", ids.display()),
            "--exclude",
            "plain",
        ],
    );
    assert_eq!(items, Vec::<String>::new(), "every item excluded");

    // Unquoted, the id splits in two unknown ones: a warning says how to write it.
    let (items, err) = listed(&data, &["--exclude", a]);
    assert!(items.contains(&a.to_owned()), "{items:?}");
    assert!(err.contains("no item \"https://x.org/d?ids=1\""), "{err}");
    assert!(err.contains("--exclude @FILE"), "{err}");

    let server = Server::start(&data, &[]);
    let get = |query: &str| {
        let r = server.get(&format!("/v1/users/u9/recommendations?k=5&{query}"));
        assert_eq!(r.status, 200, "{query}: {}", r.text());
        r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["item"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let repeated = get(&format!("exclude={}&exclude=plain", form_encode(a)));
    assert!(!repeated.contains(&a.to_owned()), "{repeated:?}");
    assert!(!repeated.contains(&"plain".to_owned()), "{repeated:?}");
    assert!(repeated.contains(&b.to_owned()), "{repeated:?}");
    let quoted = get(&format!(
        "exclude={}",
        form_encode(&format!("\"{b}\",plain"))
    ));
    assert!(!quoted.contains(&b.to_owned()), "{quoted:?}");
    assert!(quoted.contains(&a.to_owned()), "{quoted:?}");
    assert_eq!(server.terminate(30).code(), Some(0));
}

/// Finding 5: `tune` at a cut-off a list holds the whole catalogue at is refused before any
/// fit; a later tuning on another metric says which record it replaced.
#[test]
fn tune_refuses_a_whole_catalogue_cut_off_and_says_what_it_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = write_file(tmp.path(), "r.csv", rated_csv(120, 60));
    ok(kgrec(&data).args(["import", "interactions"]).arg(&file));
    let out = run(kgrec(&data).args([
        "tune",
        "--models",
        "als",
        "--metric",
        "recall@100",
        "--trials",
        "1",
        "--no-train",
    ]));
    expect_bad_input(
        &out,
        Path::new("tune"),
        &[
            "--metric recall@100",
            "the catalogue has 60 items",
            "arbitrary",
        ],
    );
    let args = |metric: &'static str| {
        vec![
            "tune",
            "--models",
            "als",
            "--metric",
            metric,
            "--trials",
            "1",
            "--budget",
            "20s",
            "--no-train",
        ]
    };
    // Nothing was stored by the refused run: the first tuning replaces nothing.
    let first = ok(kgrec(&data).args(args("ndcg@10")));
    assert!(!first.contains("replaces"), "{first}");
    let second = ok(kgrec(&data).args(args("recall@5")));
    assert!(
        second.contains("als: this run's record replaces an earlier tuning's (ndcg@10"),
        "{second}"
    );
    assert!(second.contains("(another metric)"), "{second}");
}

/// Findings 7 and 8: Excel's `sep=;` first line names the delimiter (said); ids in Excel's
/// scientific notation are noted with a count and the first few.
#[test]
fn excel_sep_lines_and_scientific_notation_ids_are_recognised() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = write_file(
        tmp.path(),
        "sep.csv",
        "sep=;\r\nuser_id;item_id;rating\r\nK1;4,00638E+12;4\r\nK2;4,00638E+12;5\r\n\
         K3;4006381333931;3\r\nK1;1.23457E+11;2\r\n",
    );
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&file));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("sep.csv:1: `sep=;`"), "{err}");
    assert!(
        err.contains("2 id(s) look like numbers a spreadsheet wrote"),
        "{err}"
    );
    assert!(err.contains("item \"4,00638E+12\""), "{err}");
    assert!(err.contains("item \"1.23457E+11\""), "{err}");
    let s = stats(&data);
    assert_eq!(s["users"], 3, "{s}");
    assert_eq!(s["items"], 3, "{s}");
    assert_eq!(s["interactions"], 4, "{s}");
    // A rating error still names the file's own line (the `sep=` line counts).
    let bad = write_file(
        tmp.path(),
        "bad.csv",
        "sep=;\nuser_id;item_id;rating\nK1;P1;4\nK2;P2;x\n",
    );
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&bad));
    expect_bad_input(&out, &bad, &["bad.csv:4"]);
}

/// A removal reads no rating: a file whose duplicate rows disagree on their ratings (the note an
/// import gives) is taken back without that note.
#[test]
fn a_removal_does_not_note_conflicting_ratings() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_file(tmp.path(), "r.csv", rated_csv(20, 12));
    let data = tmp.path().join("data");
    ok(kgrec(&data)
        .args(["-q", "import", "interactions"])
        .arg(&file));
    let back = write_file(
        tmp.path(),
        "back.csv",
        "user_id,item_id,rating\nu1,i1,5\nu1,i1,1\nu2,i2,4\n",
    );
    let out = run(kgrec(&data)
        .args(["import", "interactions", "--remove"])
        .arg(&back));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("conflicting duplicate"), "{err}");
    // Imported, the same rows do get the note.
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&back));
    assert!(
        stderr(&out).contains("conflicting duplicate"),
        "{}",
        stderr(&out)
    );
}
