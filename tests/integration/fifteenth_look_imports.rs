//! The fourteenth fresh look's import and message findings (issue #21, findings 4, 6, 7, 8, 11
//! and two leftovers): implausible ratings refused with their place whatever the store holds;
//! ill-typed literals imported with a located warning; JSON-LD named with a conversion; `kge
//! train --dataset` reading blank-separated triples and naming commas; `KGREC_DATA` named when
//! its path is wrong; an unknown flag answered with the command's flags; `import links` refusing
//! an RDF graph, and a read-only directory before its notes; cp1252 advice for a non-UTF-8 graph.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn write(dir: &Path, name: &str, text: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Finding 4: a rating of 1e30 (or any beyond ±2^24) is refused with FILE:LINE:COL whether the
/// store holds 5 ratings or none, and nothing is stored; a large but plausible one (a play
/// count of 100000) is accepted.
#[test]
fn an_implausible_rating_is_refused_with_its_place_whatever_the_store_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let fresh = tmp.path().join("fresh");
    let big = write(
        tmp.path(),
        "big.csv",
        b"user_id,item_id,rating\nu1,i1,1e30\n",
    );
    let out = run(kgrec(&fresh).args(["import", "interactions"]).arg(&big));
    expect_bad_input(
        &out,
        &big,
        &["big.csv:2:3:", "implausibly large", "\"1e30\""],
    );
    assert!(!fresh.exists(), "nothing stored");

    let base = write(
        tmp.path(),
        "base5.csv",
        b"user_id,item_id,rating\nu0,i0,1\nu1,i1,2\nu2,i2,3\nu3,i3,4\nu4,i4,5\n",
    );
    ok(kgrec(&data).args(["import", "interactions"]).arg(&base));
    let before = stats(&data);
    for (name, text, place) in [
        (
            "big.csv",
            &b"user_id,item_id,rating\nu1,i1,1e30\n"[..],
            "big.csv:2:3:",
        ),
        (
            "neg.tsv",
            b"user_id\titem_id\trating\nu9\ti1\t-2e7\n",
            "neg.tsv:2:3:",
        ),
    ] {
        let file = write(tmp.path(), name, text);
        let out = run(kgrec(&data).args(["import", "interactions"]).arg(&file));
        expect_bad_input(&out, &file, &[place, "implausibly large", "16777216"]);
    }
    assert_eq!(stats(&data), before, "the store is unchanged");
    let plays = write(
        tmp.path(),
        "plays.csv",
        b"user_id,item_id,rating\nu9,i1,100000\n",
    );
    ok(kgrec(&data).args(["import", "interactions"]).arg(&plays));
    assert_eq!(stats(&data)["interactions"].as_u64(), Some(6));
    // Posted, it is refused the same way (400), naming the interaction.
    let server = Server::start(&data, &[]);
    let posted = server.post_json(
        "/v1/interactions",
        r#"[{"user": "u1", "item": "i2", "rating": 3}, {"user": "u1", "item": "i1", "rating": 1e30}]"#,
    );
    assert_eq!(posted.status, 400, "{}", posted.text());
    assert!(
        posted
            .text()
            .contains("interaction 2: rating 1e30 is implausibly large"),
        "{}",
        posted.text()
    );
    server.terminate(10);
    assert_eq!(stats(&data)["interactions"].as_u64(), Some(6));
}

/// A link-prediction folder of `train/valid/test.txt` holding `text` (each split the same).
fn dataset(tmp: &Path, name: &str, lines: [&str; 3]) -> PathBuf {
    let dir = tmp.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for (split, text) in ["train.txt", "valid.txt", "test.txt"].iter().zip(lines) {
        std::fs::write(dir.join(split), text).unwrap();
    }
    dir
}

fn kge(tmp: &Path) -> Command {
    let mut cmd = Command::new(binary());
    cmd.env_remove("KGREC_DATA").current_dir(tmp).arg("kge");
    cmd
}

/// Finding 8: blank-separated triples (as KGAT and `import kg` read them) train; a
/// comma-separated folder is refused at its first line with the column, the delimiter seen and
/// what is accepted.
#[test]
fn kge_train_reads_blank_separated_triples_and_names_commas() {
    let tmp = tempfile::tempdir().unwrap();
    let train = "netherlands militaryalliance uk\negypt intergovorgs3 usa\njordan  rel usa\n\
                 uk militaryalliance netherlands\n";
    let spaced = dataset(
        tmp.path(),
        "spk",
        [train, "cuba rel india\n", "poland rel uk\n"],
    );
    let out = tmp.path().join("emb");
    let trained = run(kge(tmp.path())
        .args(["train", "--dim", "4", "--epochs", "2", "--format", "json"])
        .arg("--dataset")
        .arg(&spaced)
        .arg("--out")
        .arg(&out));
    assert!(trained.status.success(), "{}", stderr(&trained));
    let json: serde_json::Value = serde_json::from_str(&stdout(&trained)).unwrap();
    assert_eq!(json["num_train"], 4);
    // netherlands, uk, egypt, usa, jordan, cuba, india, poland.
    assert_eq!(json["num_entities"], 8);

    let commas = dataset(
        tmp.path(),
        "csvk",
        [
            "netherlands,militaryalliance,uk\n",
            "cuba,rel,india\n",
            "poland,rel,uk\n",
        ],
    );
    let out = run(kge(tmp.path()).args(["train", "--dataset"]).arg(&commas));
    expect_bad_input(
        &out,
        &commas,
        &[
            "train.txt:1:32:",
            "found 1 field",
            "split by commas",
            "3 tab-separated fields",
            "3 tokens separated by blanks",
        ],
    );
    let four = dataset(tmp.path(), "four", ["a r b c\n", "", ""]);
    let out = run(kge(tmp.path()).args(["train", "--dataset"]).arg(&four));
    expect_bad_input(&out, &four, &["train.txt:1:7:", "found 4 fields"]);
}

/// Finding 7: a JSON-LD file, by its name or its content and whatever `--format` says, is
/// refused naming JSON-LD and a conversion to N-Triples; no other syntax is suggested. A TriG
/// file whose first block is a default graph `{ ... }` is not taken for JSON.
#[test]
fn json_ld_is_named_with_a_conversion_whatever_the_format_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let json = br#"{"@context": {"schema": "http://schema.org/"},
 "@graph": [
  {"@id": "http://shop.example/p/dress-1", "@type": "schema:Product", "schema:name": "Red Dress"}
 ]}
"#;
    let jsonld = write(tmp.path(), "products.jsonld", json);
    let plain = write(tmp.path(), "p.json", json);
    let array = write(tmp.path(), "arr.nt", b"[{\"@id\": \"http://x/a\"}]\n");
    let mut runs: Vec<(PathBuf, Vec<&str>)> = vec![
        (jsonld.clone(), vec![]),
        (plain.clone(), vec![]),
        (array.clone(), vec![]),
    ];
    for format in ["ttl", "rdf", "nt", "nq", "trig", "tsv"] {
        runs.push((jsonld.clone(), vec!["--format", format]));
    }
    for (file, flags) in &runs {
        let out = run(kgrec(&data).args(["import", "kg"]).args(flags).arg(file));
        expect_bad_input(
            &out,
            file,
            &[
                "JSON-LD (or JSON) is not read",
                "riot --output=nt",
                "N-Triples",
            ],
        );
        let err = stderr(&out);
        assert!(
            !err.contains("TriG") && !err.contains("Turtle"),
            "{flags:?}: {err}"
        );
        assert!(!err.contains("--format"), "{flags:?}: {err}");
    }
    assert!(!data.exists(), "nothing stored");
    let trig = write(
        tmp.path(),
        "g.trig",
        b"{ <http://x/a> <http://x/p> <http://x/b> . }\n<http://x/g> { <http://x/a> <http://x/p> <http://x/c> . }\n",
    );
    ok(kgrec(&data).args(["import", "kg"]).arg(&trig));
    assert_eq!(triples(&data), 2);
}

/// Finding 6: ill-typed literals are imported as written, with a warning locating the first
/// five (FILE:LINE:COL) and counting the rest, saying FILTERs will not match them; a SPARQL
/// count sees them; well-typed literals draw no warning.
#[test]
fn ill_typed_literals_are_imported_with_a_located_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let ttl = write(
        tmp.path(),
        "books.ttl",
        b"@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n@prefix : <http://ex.org/> .\n\
          :b1 :year \"20x1\"^^xsd:gYear ; :price \"12.5\"^^xsd:integer .\n\
          :b2 :year \"2001\"^^xsd:gYear ; :price \"12\"^^xsd:integer .\n",
    );
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&ttl));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    for needle in [
        "books.ttl: 2 literal(s) whose text is not valid for their datatype",
        "imported as written",
        "will not match them",
        "books.ttl:3:11: \"20x1\"^^xsd:gYear",
        "books.ttl:3:38: \"12.5\"^^xsd:integer",
    ] {
        assert!(err.contains(needle), "expected {needle:?} in {err}");
    }
    assert!(!err.contains("2001"), "{err}");
    let count = ok(kgrec(&data).args([
        "sparql",
        "--format",
        "csv",
        "SELECT (COUNT(*) AS ?n) WHERE { ?b <http://ex.org/year> ?y }",
    ]));
    assert!(count.contains("\n2"), "both years kept: {count}");

    let mut nt = String::new();
    for i in 0..7 {
        nt.push_str(&format!(
            "<http://ex.org/b{i}> <http://ex.org/pages> \"{i}x\"^^<http://www.w3.org/2001/XMLSchema#int> .\n"
        ));
    }
    let nt = write(tmp.path(), "pages.nt", nt.as_bytes());
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&nt));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("pages.nt: 7 literal(s)"), "{err}");
    assert!(err.contains("pages.nt:5:42: \"4x\"^^xsd:int"), "{err}");
    assert!(!err.contains("\"5x\""), "only five named: {err}");
    assert!(err.contains("and 2 more"), "{err}");
}

/// Finding 11: a wrong path in KGREC_DATA is said to come from there; with --data there is no
/// such note.
#[test]
fn a_wrong_kgrec_data_is_named_as_the_source_of_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nowhere");
    let out = Command::new(binary())
        .env("KGREC_DATA", &missing)
        .args(["recommend", "--user", "u1"])
        .output()
        .unwrap();
    expect_bad_input(
        &out,
        &missing,
        &[
            "no kgrec data directory here",
            "comes from the environment variable KGREC_DATA",
        ],
    );
    let out = run(kgrec(&missing).args(["recommend", "--user", "u1"]));
    expect_bad_input(&out, &missing, &["no kgrec data directory here"]);
    assert!(!stderr(&out).contains("KGREC_DATA"), "{}", stderr(&out));
}

/// Finding 11: a flag the command does not take is answered with the command's own flags and
/// `--help`, not a usage line that makes the flag clap suggests look required.
#[test]
fn an_unknown_flag_is_answered_with_the_commands_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = run(kgrec(&data).args(["recommend", "--user", "u1", "--epochs", "3"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for needle in [
        "unexpected argument '--epochs'",
        "`kgrec recommend` has no such flag",
        "--user",
        "--paths",
        "the global --data",
        "try 'kgrec recommend --help'",
    ] {
        assert!(err.contains(needle), "expected {needle:?} in {err}");
    }
    assert!(!err.contains("Usage:"), "{err}");
    let out = run(kgrec(&data).args(["import", "kg", "--epochs", "3", "x.nt"]));
    assert!(
        stderr(&out).contains("`kgrec import kg` has no such flag"),
        "{}",
        stderr(&out)
    );
    assert!(!data.exists());
}

/// Leftover of fix14: an RDF graph given to `import links` is refused as `import
/// interactions` refuses one, with `import kg` named; nothing stored.
#[test]
fn an_rdf_graph_given_as_links_is_refused_with_import_kg_named() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let iri =
        b"<http://shop.example/p/d0> <http://shop.example/v/brand> <http://shop.example/b/z> .\n";
    for name in ["links.nt", "links.txt"] {
        let file = write(tmp.path(), name, iri);
        let out = run(kgrec(&data).args(["import", "links"]).arg(&file));
        expect_bad_input(
            &out,
            &file,
            &[
                "this looks like an RDF graph",
                "not a link file",
                "`kgrec import kg FILE`",
            ],
        );
    }
    assert!(!data.exists());
}

/// Leftover of fix14: a non-UTF-8 graph gets the Windows-1252 advice the interaction reader
/// gives (`iconv -f cp1252`), Latin-1 only as the fallback.
#[test]
fn a_non_utf8_graph_is_told_to_convert_from_cp1252() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let nt = write(
        tmp.path(),
        "cafe.nt",
        b"<http://ex.org/a> <http://ex.org/name> \"Caf\xe9 \x80\" .\n",
    );
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&nt));
    let err = stderr(&out);
    expect_bad_input(&out, &nt, &["cafe.nt:1:", "`iconv -f cp1252 -t utf-8"]);
    assert!(
        err.find("cp1252") < err.find("-f latin1"),
        "cp1252 first: {err}"
    );
}

/// Finding 11: `import links` on a read-only mount is refused before any note about the link
/// file (a note that the refusal then contradicts).
#[test]
fn import_links_on_a_read_only_mount_refuses_before_its_notes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    if !crate::read_only::read_only_mount_works(&data) {
        return;
    }
    // Two items on one IRI: a note is due about the link file.
    let links = write(
        tmp.path(),
        "links.tsv",
        b"item_id\tiri\nm1\thttp://example.org/movie/1\nm2\thttp://example.org/movie/1\n",
    );
    let out = Command::new("unshare")
        .args(["-rm", "sh", "-c", crate::read_only::READ_ONLY_MOUNT, "sh"])
        .arg(&data)
        .arg(binary())
        .arg("--data")
        .arg(&data)
        .args(["import", "links"])
        .arg(&links)
        .env_remove("KGREC_DATA")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot write to this data directory"), "{err}");
    assert!(
        !err.contains("linked to more than one item"),
        "no note before the refusal: {err}"
    );
    // Writable, the same file imports, and its note is said then.
    let out = run(kgrec(&data).args(["import", "links"]).arg(&links));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("linked to more than one item"),
        "{}",
        stderr(&out)
    );
}
