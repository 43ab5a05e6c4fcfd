//! Suggestions of the eighteenth fresh look (issue #21): a misspelt SPARQL keyword or query
//! form named with the one meant; an item id percent-encoded (or decoded) answered with the
//! stored spelling; `--filter` with a prefix of a usual vocabulary answered with the full IRI,
//! and a bare value matching typed literals by their text; `--no-header --delimiter ,` on a
//! file split by `;`; `kge` benchmark folders with gzipped splits.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::common::*;

/// Flats with typed room counts and a `dcat:theme`, and one item whose IRI holds `?` and `=`;
/// interactions naming them (user `z` has `f2` alone), linked by a links file; an `als` model
/// trained.
fn flats(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    let graph = write_file(
        dir,
        "flats.ttl",
        "@prefix ex: <http://x.org/> .\n\
         @prefix dcat: <http://www.w3.org/ns/dcat#> .\n\
         ex:f1 ex:rooms 3 ; dcat:theme ex:city .\n\
         ex:f2 ex:rooms 2 ; dcat:theme ex:sea .\n\
         ex:f3 ex:rooms 3 ; dcat:theme ex:sea .\n\
         ex:f4 ex:rooms \"3\"@en ; dcat:theme ex:sea .\n\
         <http://x.org/d?id=1> ex:rooms 4 ; dcat:theme ex:city .\n",
    );
    ok(kgrec(&data).args(["import", "kg"]).arg(&graph));
    let items = [
        "http://x.org/f1",
        "http://x.org/f2",
        "http://x.org/f3",
        "http://x.org/f4",
        "http://x.org/d?id=1",
    ];
    // `z` has f2 alone: every other flat can be recommended to it. An unlinked item's id is
    // stored percent-encoded.
    let mut rows = String::from(
        "user_id\titem_id\trating\nz\thttp://x.org/f2\t3\nu1\thttp://x.org/a%20b\t4\n\
         u2\thttp://x.org/a%20b\t2\n",
    );
    for u in 0..6 {
        for (k, item) in items.iter().enumerate() {
            if (u + k) % 3 != 0 {
                rows.push_str(&format!("u{u}\t{item}\t{}\n", 1 + (u + k) % 5));
            }
        }
    }
    let links: String = std::iter::once("item_id\tiri\n".to_owned())
        .chain(items.iter().map(|i| format!("{i}\t{i}\n")))
        .collect();
    let rows = write_file(dir, "rows.tsv", rows);
    let links = write_file(dir, "links.tsv", links);
    ok(kgrec(&data)
        .args(["import", "interactions"])
        .arg(&rows)
        .arg("--link")
        .arg(&links));
    ok(kgrec(&data).args(["train", "--model", "als", "--reg", "0.1"]));
    data
}

/// Item 1: a misspelt keyword anywhere, the query form included and right after a triple
/// pattern (where it used to read as a fourth term), is named with the keyword meant.
#[test]
fn misspelt_sparql_keywords_and_query_forms_are_named_with_the_one_meant() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    for (query, needle) in [
        (
            "SELECT ?s WHERE { GRAHP ?g { ?s ?p ?o } }",
            "unknown word \"GRAHP\" (at 1:19): did you mean GRAPH?",
        ),
        (
            "SELCT ?s WHERE { ?s ?p ?o }",
            "unknown query form \"SELCT\" (at 1:1): did you mean SELECT?",
        ),
        (
            "SELECT ?s WHER { ?s ?p ?o }",
            "unknown word \"WHER\" (at 1:11): did you mean WHERE?",
        ),
        (
            "SELECT ?s WHERE { ?s ?p ?o FILTR(?o) }",
            "unknown word \"FILTR\" (at 1:28): did you mean FILTER?",
        ),
        (
            "SELECT ?s WHERE { ?s ?p ?o OPTINAL { ?s ?p ?x } }",
            "unknown word \"OPTINAL\" (at 1:28): did you mean OPTIONAL?",
        ),
        (
            "CONSTRUT { ?s ?p ?o } WHERE { ?s ?p ?o }",
            "did you mean CONSTRUCT?",
        ),
    ] {
        let out = run(kgrec(&data).args(["sparql", query]));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{query}: {err}");
        assert!(err.contains(needle), "{query}: {err}");
        assert!(!err.contains("four terms in a row"), "{query}: {err}");
    }
}

/// Item 2: an item asked for percent-encoded when the store holds it decoded (and the other
/// way round) is answered with the stored spelling, by `similar` and `explain`.
#[test]
fn an_item_id_percent_encoded_or_decoded_is_answered_with_the_stored_spelling() {
    let tmp = tempfile::tempdir().unwrap();
    let data = flats(tmp.path());
    let meant = "did you mean \"http://x.org/d?id=1\"?";
    for args in [
        vec!["similar", "--item", "http://x.org/d%3Fid%3D1"],
        vec!["similar", "--item", "http://x.org/d%3fid%3d1"],
        vec![
            "explain",
            "--user",
            "u1",
            "--item",
            "http://x.org/d%3Fid%3D1",
        ],
    ] {
        let out = run(kgrec(&data).args(&args));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(meant), "{args:?}: {err}");
        assert!(err.contains("percent-encoding"), "{args:?}: {err}");
    }
    // Stored encoded, asked decoded.
    let out = run(kgrec(&data).args(["similar", "--item", "http://x.org/a b"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("did you mean \"http://x.org/a%20b\"?"),
        "{err}"
    );
    // An id that differs otherwise gets no such hint.
    let out = run(kgrec(&data).args(["similar", "--item", "http://x.org/d%3Fid%3D9"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr(&out).contains("did you mean"), "{}", stderr(&out));
}

/// Item 3: `dcat:theme` (a prefix filters do not take) is refused with the full IRI to write
/// and the known prefixes; a bare `3` matches the typed `3` (and `"3"@en`), while a quoted
/// `"3"` names the form the graph holds.
#[test]
fn filters_give_the_full_iri_of_a_usual_prefix_and_match_typed_literals_by_their_text() {
    let tmp = tempfile::tempdir().unwrap();
    let data = flats(tmp.path());
    let out = run(kgrec(&data).args([
        "recommend",
        "--user",
        "z",
        "--filter",
        "dcat:theme=<http://x.org/sea>",
    ]));
    expect_bad_input(
        &out,
        Path::new("dcat"),
        &[
            "unknown prefix \"dcat\"",
            "<http://www.w3.org/ns/dcat#theme>",
            "known prefixes: rdf, rdfs",
        ],
    );
    let recommend = |filter: &str| {
        let out = run(kgrec(&data).args([
            "recommend",
            "--user",
            "z",
            "-k",
            "10",
            "--format",
            "json",
            "--filter",
            filter,
        ]));
        (out.status.code(), stdout(&out), stderr(&out))
    };
    // Written in full, it works.
    let (code, themed, err) = recommend("<http://www.w3.org/ns/dcat#theme>=<http://x.org/sea>");
    assert_eq!(code, Some(0), "{err}");
    assert!(themed.contains("http://x.org/f3"), "{themed}");
    let (code, text, err) = recommend("<http://x.org/rooms>=3");
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut got: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["item"].as_str().unwrap())
        .collect();
    got.sort_unstable();
    assert_eq!(
        got,
        ["http://x.org/f1", "http://x.org/f3", "http://x.org/f4"],
        "{text}"
    );
    // A quoted plain "3": exact, and the error names the typed form.
    let (code, _, err) = recommend("<http://x.org/rooms>=\"5\"");
    assert_eq!(code, Some(2), "{err}");
    let (code, _, err) = recommend("<http://x.org/rooms>=\"2\"");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("did you mean \"2\"^^xsd:integer?"), "{err}");
    // A bare value neither an entity nor a literal's text is still an error.
    let (code, _, err) = recommend("<http://x.org/rooms>=7");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("the text of a literal"), "{err}");
}

/// Item 4: `--no-header --delimiter ,` on a file split by `;` says the line has no `,` but has
/// `;`, with the flag to pass.
#[test]
fn a_headerless_file_split_by_another_delimiter_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = write_file(tmp.path(), "semi.csv", "u1;i1;5\nu2;i2;3\nu3;i1;4\n");
    let out = run(kgrec(&data)
        .args(["import", "interactions", "--no-header", "--delimiter", ","])
        .arg(&file));
    expect_bad_input(
        &out,
        &file,
        &[
            "semi.csv:1:",
            "the first line has no `,` but does have `;`",
            "--delimiter ';'",
        ],
    );
    // Nothing was imported, and the hinted flag works.
    ok(kgrec(&data)
        .args(["import", "interactions", "--no-header", "--delimiter", ";"])
        .arg(&file));
    assert_eq!(stats(&data)["interactions"], 3);
}

/// Item 5: a benchmark folder whose splits are gzipped (`train.txt.gz`, ...) trains and
/// evaluates as the plain one; a folder lacking a split names the gzipped form it accepts.
#[test]
fn kge_reads_gzipped_benchmark_splits() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = crate::kge::groups_dataset(tmp.path());
    let gz = tmp.path().join("gz");
    std::fs::create_dir_all(&gz).unwrap();
    for name in ["train.txt", "valid.txt", "test.txt"] {
        let text = std::fs::read(plain.join(name)).unwrap();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&text).unwrap();
        std::fs::write(gz.join(format!("{name}.gz")), enc.finish().unwrap()).unwrap();
    }
    let train = |dataset: &Path, out: &Path| {
        let mut cmd = std::process::Command::new(binary());
        cmd.env_remove("KGREC_DATA")
            .args(["kge", "train", "--model", "transe", "--dim", "8"])
            .args(["--epochs", "5", "--seed", "3", "--format", "json"])
            .args(["--eval-test", "--dataset"])
            .arg(dataset)
            .arg("--out")
            .arg(out);
        ok(&mut cmd)
    };
    let from_plain: serde_json::Value =
        serde_json::from_str(&train(&plain, &tmp.path().join("e1"))).unwrap();
    let from_gz: serde_json::Value =
        serde_json::from_str(&train(&gz, &tmp.path().join("e2"))).unwrap();
    assert_eq!(from_gz["num_train"], 40);
    assert_eq!(from_gz["test"], from_plain["test"]);
    std::fs::remove_file(gz.join("test.txt.gz")).unwrap();
    let mut cmd = std::process::Command::new(binary());
    cmd.env_remove("KGREC_DATA")
        .args(["kge", "train", "--dataset"])
        .arg(&gz);
    let out = run(&mut cmd);
    expect_bad_input(&out, &gz, &["lacks test.txt", "train.txt.gz"]);
}
