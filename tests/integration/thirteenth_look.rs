//! The thirteenth fresh look's import findings (issue #21): rows without a rating keep the
//! stored ratings (CLI and HTTP), KGAT and every format refuse what is not theirs (JSON lines,
//! CSV, a header), ids have HTTP's length limit at import, a Latin-1 link file and a small
//! truncated gzip file are said the way the others are, lenient TriG never moves statements
//! between graphs, repeated link rows are counted, `--min-rating 3,5` names the decimal comma,
//! and ids with invisible characters are noted.

use crate::common::*;
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, text: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const RATED: &str = "user_id,item_id,rating\nu1,m1,2\nu2,m1,4\nu2,m2,5\nu1,m2,1\n";
const UNRATED: &str = "user_id,item_id\nu1,m1\nu2,m1\nu2,m2\nu1,m2\n";

/// Finding 1 (data loss): importing the same pairs again without a rating keeps the stored
/// ratings, counts the rows as already present, and says so; `POST /v1/interactions` too.
#[test]
fn rows_without_a_rating_never_erase_stored_ratings() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let rated = write(tmp.path(), "rated.csv", RATED.as_bytes());
    let unrated = write(tmp.path(), "unrated.csv", UNRATED.as_bytes());
    ok(kgrec(&data).args(["import", "interactions"]).arg(&rated));
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&unrated));
    assert!(out.status.success(), "{}", stderr(&out));
    let (said, err) = (stdout(&out), stderr(&out));
    assert!(
        said.contains("0 new interactions, 0 updated, 4 already present"),
        "{said}"
    );
    assert!(
        err.contains("unrated.csv: 4 row(s) without a rating named a pair with a stored rating")
            && err.contains("u1, m1: stored rating 2 kept"),
        "{err}"
    );
    let scale = &stats(&data)["rating_scale"];
    assert_eq!(
        (scale["min"].as_f64(), scale["max"].as_f64()),
        (Some(1.0), Some(5.0))
    );
    // A model that needs ratings still trains on them.
    ok(kgrec(&data).args(["train", "--model", "svd", "--epochs", "2", "--quiet"]));

    // Over HTTP: the same rows posted without "rating".
    let server = Server::start(&data, &[]);
    let answer = server.post_json(
        "/v1/interactions",
        r#"[{"user": "u1", "item": "m1"}, {"user": "u2", "item": "m2"}, {"user": "u3", "item": "m1"}]"#,
    );
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["updated_interactions"], 0, "{body}");
    assert_eq!(body["unrated_kept_stored_rating"], 2, "{body}");
    assert!(
        body["notes"][0]
            .as_str()
            .unwrap()
            .contains("2 row(s) without a rating named a pair with a stored rating"),
        "{body}"
    );
    assert!(server.terminate(30).success());
    let scale = &stats(&data)["rating_scale"];
    assert_eq!(
        (scale["min"].as_f64(), scale["max"].as_f64()),
        (Some(1.0), Some(5.0))
    );
}

/// Finding 2: `--format kgat` refuses JSON lines, a CSV and a header line, naming line and
/// column; JSON lines are refused under every format (`--format tsv --no-header` too) with a
/// `jq` line that converts them.
#[test]
fn kgat_and_tables_refuse_json_lines_csv_and_headers() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let jsonl = write(
        tmp.path(),
        "apps.jsonl",
        b"{\"candidate\": \"cand-0\", \"job\": \"J3\", \"applied\": \"2025-11-03\"}\n\
          {\"candidate\": \"cand-1\", \"job\": \"J23\", \"applied\": \"2025-11-24\"}\n",
    );
    for format in [
        &["--format", "kgat"][..],
        &["--format", "tsv", "--no-header"][..],
        &["--format", "csv"][..],
        &[][..],
    ] {
        let out = run(kgrec(&data)
            .args(["import", "interactions"])
            .args(format)
            .arg(&jsonl));
        expect_bad_input(
            &out,
            &jsonl,
            &[
                "its first line is a JSON object (keys \"candidate\", \"job\", \"applied\")",
                "jq -r '[.candidate, .job, .applied] | @tsv' FILE > FILE.tsv",
                "--format tsv --no-header",
            ],
        );
    }
    let csv = write(tmp.path(), "c.txt", b"u1 i1 i2\nu2,i3\n");
    let out = run(kgrec(&data)
        .args(["import", "interactions", "--format", "kgat"])
        .arg(&csv));
    expect_bad_input(
        &out,
        &csv,
        &["c.txt:2: column 3: `,` in \"u2,i3\"", "--format"],
    );
    let headed = write(tmp.path(), "h.txt", b"user_id item_id\n1 2 3\n");
    let out = run(kgrec(&data)
        .args(["import", "interactions", "--format", "kgat"])
        .arg(&headed));
    expect_bad_input(
        &out,
        &headed,
        &[
            "h.txt:1: a header of column names (user_id, item_id)",
            "remove the line",
        ],
    );
    assert!(!data.join("sled").exists() || stats(&data)["interactions"] == 0);
    // Real KGAT lines with names for ids still import.
    let lists = write(tmp.path(), "k.txt", b"u1 i1 i2\nu2 i3\n");
    let said = ok(kgrec(&data)
        .args(["import", "interactions", "--format", "kgat"])
        .arg(&lists));
    assert!(said.contains("3 new interactions"), "{said}");
}

/// Finding 9: an id over 512 bytes (what HTTP can address) is refused at import, naming file,
/// line and column: interaction files of every format and link files.
#[test]
fn ids_longer_than_http_can_address_are_refused_at_import() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let long = "x".repeat(513);
    let fine = "y".repeat(512);
    let csv = write(
        tmp.path(),
        "long.csv",
        format!("user_id,item_id\nu1,{fine}\nu2,{long}\n").as_bytes(),
    );
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&csv));
    expect_bad_input(
        &out,
        &csv,
        &[
            "long.csv:3:2: `item_id` starting \"xxx",
            "is 513 bytes long; ids are at most 512 bytes",
        ],
    );
    let kgat = write(tmp.path(), "long.txt", format!("u1 i1 {long}\n").as_bytes());
    let out = run(kgrec(&data)
        .args(["import", "interactions", "--format", "kgat"])
        .arg(&kgat));
    expect_bad_input(&out, &kgat, &["long.txt:1:3: `item_id`", "513 bytes"]);
    let links = write(
        tmp.path(),
        "links.tsv",
        format!("item_id\tiri\n{long}\thttp://e/a\n").as_bytes(),
    );
    let out = run(kgrec(&data).args(["import", "links"]).arg(&links));
    expect_bad_input(
        &out,
        &links,
        &["links.tsv:2:1: `item_id`", "at most 512 bytes"],
    );
    // 512 bytes import, and HTTP can ask for them.
    let ok_csv = write(
        tmp.path(),
        "ok.csv",
        format!("user_id,item_id\nu1,{fine}\nu2,{fine}\nu2,i2\n").as_bytes(),
    );
    ok(kgrec(&data).args(["import", "interactions"]).arg(&ok_csv));
}

/// Finding 15: a Latin-1 link file gets the iconv hint.
#[test]
fn a_latin1_link_file_is_told_to_convert_to_utf8() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let links = write(
        tmp.path(),
        "lat_links.tsv",
        b"item_id\tiri\nm\xe91\thttp://www.wikidata.org/entity/Q1\n",
    );
    let out = run(kgrec(&data).args(["import", "links"]).arg(&links));
    expect_bad_input(
        &out,
        &links,
        &[
            "lat_links.tsv:2: not valid UTF-8",
            "iconv -f latin1 -t utf-8",
        ],
    );
}

/// Finding 14: a truncated gzip file of a few dozen bytes is said as a larger one is: the data
/// ends early, `gzip -t`, exit 2 (graph and interaction files alike).
#[test]
fn a_small_truncated_gzip_file_is_bad_input_like_a_large_one() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let gz = |text: &str| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(text.as_bytes()).unwrap();
        enc.finish().unwrap()
    };
    let mut ttl = String::from("@prefix ex: <http://e/> .\n");
    for k in 0..200 {
        ttl.push_str(&format!("ex:s{k} ex:p{} ex:o{} .\n", k % 7, k * 31 % 101));
    }
    let whole = gz(&ttl);
    for cut in [30, 60, whole.len() / 2] {
        let file = write(tmp.path(), &format!("t{cut}.ttl.gz"), &whole[..cut]);
        let out = run(kgrec(&data).args(["import", "kg"]).arg(&file));
        expect_bad_input(&out, &file, &["the gzip data ends early", "gzip -t FILE"]);
    }
    let mut csv = String::from("user_id,item_id\n");
    for k in 0..300 {
        csv.push_str(&format!("u{},i{}\n", k % 13, k % 17));
    }
    let whole = gz(&csv);
    for cut in [30, whole.len() / 2] {
        let file = write(tmp.path(), &format!("t{cut}.csv.gz"), &whole[..cut]);
        let out = run(kgrec(&data).args(["import", "interactions"]).arg(&file));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{cut}: {err}");
        assert!(err.contains("gzip"), "{cut}: {err}");
    }
}

/// Finding 13: lenient TriG whose string left open swallowed a block's `}` keeps every later
/// block's statements in their own graphs, and each message counts its own block.
#[test]
fn lenient_trig_never_moves_statements_between_graphs() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let trig = write(
        tmp.path(),
        "bad.trig",
        b"@prefix ex: <http://parts.example/> .\n\
ex:g1 { ex:P1 ex:category ex:bolts . ex:P2 ex:category \"unterminated . ex:P3 ex:category ex:nuts . }\n\
ex:g2 { ex:P4 ex:category ex:nuts . ex:P5 ex:fits ex:PumpA ; ex:weight \"12\"^^<http://www.w3.org/2001/XMLSchema#integer> . }\n\
ex:g3 { ex:P6 ex:category ex:nuts .\n",
    );
    let out = run(kgrec(&data).args(["import", "kg", "--lenient"]).arg(&trig));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("not closed by `}` before the next graph block (line 3;")
            && err.contains("its 1 statement(s) that parse were kept, in its graph"),
        "{err}"
    );
    let json = ok(kgrec(&data).args([
        "sparql",
        "--format",
        "json",
        "SELECT ?g ?s WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g ?s",
    ]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rows: Vec<String> = v["results"]["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let tail = |k: &str| {
                let s = b[k]["value"].as_str().unwrap();
                s.rsplit('/').next().unwrap().to_owned()
            };
            format!("{} {}", tail("g"), tail("s"))
        })
        .collect();
    assert_eq!(
        rows,
        ["g1 P1", "g2 P4", "g2 P5", "g2 P5", "g3 P6"],
        "{json}"
    );
}

/// Finding 20d: a link file's repeated rows are counted and noted, not hidden.
#[test]
fn repeated_link_rows_are_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let links = write(
        tmp.path(),
        "dl.tsv",
        b"item_id\tiri\nm1\thttp://www.wikidata.org/entity/Q1\nm1\thttp://www.wikidata.org/entity/Q1\n",
    );
    let out = run(kgrec(&data).args(["import", "links"]).arg(&links));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("1 links read (1 repeated row(s) read once)"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("dl.tsv:3: 1 row(s) repeat an earlier row's item and IRI (here item \"m1\", as on line 2)"),
        "{}",
        stderr(&out)
    );
}

/// Finding 20e: `--min-rating 3,5` names the decimal comma and the way out.
#[test]
fn a_decimal_comma_in_min_rating_is_said() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let rated = write(tmp.path(), "rated.csv", RATED.as_bytes());
    let out = run(kgrec(&data)
        .args(["import", "interactions", "--min-rating", "3,5"])
        .arg(&rated));
    expect_bad_input(
        &out,
        &rated,
        &["--min-rating", "decimal comma", "write --min-rating 3.5"],
    );
    assert!(!data.join("sled").exists());
}

/// Finding 20f: ids holding an invisible character are kept as written and noted, naming the
/// first one (file imports, link files and HTTP alike).
#[test]
fn ids_with_invisible_characters_are_noted() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = write(
        tmp.path(),
        "zw.csv",
        "user_id,item_id\nu1,m1\nu\u{200B}1,m2\nu2,m1\n".as_bytes(),
    );
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&file));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("zw.csv: 1 id(s) hold an invisible character, kept as written, the first user \"u\\u{200b}1\" (U+200B), which prints like \"u1\""),
        "{err}"
    );
    assert_eq!(stats(&data)["users"], 3);
    let links = write(
        tmp.path(),
        "zl.tsv",
        "item_id\tiri\nm\u{2060}2\thttp://e/a\n".as_bytes(),
    );
    let out = run(kgrec(&data).args(["import", "links"]).arg(&links));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("(U+2060)"), "{}", stderr(&out));
}
