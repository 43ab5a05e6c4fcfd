//! Bad input: each case fails with a located message, exit code 2, and an unchanged store.

use crate::common::*;
use std::path::{Path, PathBuf};

/// A data directory holding the fixture, and its stats before the bad import.
struct Setup {
    tmp: tempfile::TempDir,
    data: PathBuf,
    before: serde_json::Value,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    let before = stats(&data);
    Setup { tmp, data, before }
}

impl Setup {
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.tmp.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Imports `file` (with `extra` arguments), expects exit 2 with `expected` in the message,
    /// and checks that the data directory did not change.
    fn rejects(&self, file: &Path, extra: &[&str], expected: &[&str]) {
        let out = run(kgrec(&self.data)
            .args(["import", "kg"])
            .args(extra)
            .arg(file));
        expect_bad_input(&out, file, expected);
        assert_eq!(stats(&self.data), self.before, "{file:?} changed the store");
        // The store itself must still load and agree with the index.
        let csv = ok(kgrec(&self.data).args([
            "sparql",
            "--format",
            "csv",
            "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
        ]));
        let n: u64 = csv.lines().nth(1).unwrap().trim().parse().unwrap();
        assert_eq!(n, self.before["triples"].as_u64().unwrap());
    }
}

const GOOD: &str = "<http://e/a> <http://e/p> <http://e/b> .\n";

#[test]
fn import_rejects_a_truncated_line_and_keeps_the_store() {
    let s = setup();
    let f = s.file(
        "cut.nt",
        format!("{GOOD}{GOOD}<http://e/a> <http://e/p> <http://e/").as_bytes(),
    );
    s.rejects(&f, &[], &["cut.nt:3:"]);
}

/// Turtle saved under an N-Triples name is named as such, with the flag that reads it.
#[test]
fn turtle_named_nt_is_refused_with_the_format_to_use() {
    let s = setup();
    let nt = s.file(
        "cat.nt",
        b"# a catalogue\n@prefix ex: <http://x.org/> .\nex:a ex:b ex:c .\n",
    );
    s.rejects(
        &nt,
        &[],
        &["starts with `@prefix`, a Turtle directive", "--format ttl"],
    );
    let nq = s.file("cat.nq", b"PREFIX ex: <http://x.org/>\nex:a ex:b ex:c .\n");
    s.rejects(&nq, &[], &["read as N-Quads", "--format ttl"]);
}

#[test]
fn import_rejects_an_unknown_prefix() {
    let s = setup();
    let f = s.file(
        "prefix.ttl",
        b"@prefix e: <http://e/> .\ne:a e:p e:b .\ne:a ex:p e:c .\n",
    );
    s.rejects(&f, &[], &["prefix.ttl:3:", "ex"]);
}

#[test]
fn import_rejects_a_bad_iri() {
    let s = setup();
    let f = s.file(
        "iri.nt",
        format!("{GOOD}<http://e/a> <http://e/p> <http://e/b c> .\n").as_bytes(),
    );
    s.rejects(&f, &[], &["iri.nt:2:"]);
}

#[test]
fn import_rejects_a_bad_escape() {
    let s = setup();
    let f = s.file(
        "escape.nt",
        format!("{GOOD}{GOOD}<http://e/a> <http://e/p> \"x\\q\" .\n").as_bytes(),
    );
    s.rejects(&f, &[], &["escape.nt:3:"]);
}

#[test]
fn import_rejects_a_file_that_is_not_utf8() {
    let s = setup();
    let mut bytes = GOOD.as_bytes().to_vec();
    bytes.extend_from_slice(b"<http://e/a> <http://e/p> \"caf\xe9\" .\n");
    let f = s.file("latin1.nt", &bytes);
    s.rejects(&f, &[], &["latin1.nt"]);
    let mut tsv = b"a\tb\tc\n".to_vec();
    tsv.extend_from_slice(b"a\tb\tcaf\xe9\n");
    let f = s.file("latin1.tsv", &tsv);
    s.rejects(&f, &[], &["latin1.tsv:2:8", "UTF-8"]);
}

#[test]
fn import_rejects_an_empty_file() {
    let s = setup();
    let f = s.file("empty.nt", b"");
    s.rejects(&f, &[], &["empty.nt", "empty"]);
    // Beside a file with statements an empty one is an empty graph, and a note says so; a
    // statement with a blank node is counted as left out of the recommendation graph.
    let good = s.file(
        "good.nt",
        b"<http://e/a> <http://e/p> _:x .\n_:x <http://e/q> <http://e/b> .\n",
    );
    let out = run(kgrec(&s.data).args(["import", "kg"]).arg(&f).arg(&good));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("empty.nt: no statement"), "{err}");
    assert!(err.contains("2 statement(s) have a blank node"), "{err}");
}

/// Re-importing a file adds nothing, even where Turtle's anonymous `[ ... ]` nodes, which the
/// parser names afresh on every read, are involved; another file's blank nodes stay its own.
#[test]
fn reimporting_a_file_with_anonymous_blank_nodes_adds_nothing() {
    let s = setup();
    let ttl = b"@prefix ex: <http://ex.org/> .\n\
        ex:A ex:director ex:D ; ex:award [ ex:year \"1995\" ; ex:name \"Oscar\" ] .\n\
        ex:B ex:note _:n1 .\n_:n1 ex:text \"hi\" .\n";
    let f = s.file("awards.ttl", ttl);
    let count = || {
        let out =
            run(kgrec(&s.data).args(["sparql", "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"]));
        assert!(out.status.success(), "{}", stderr(&out));
        // `?n`, the rule, the count (shown bare), `(1 row)`.
        let text = stdout(&out);
        let n = text.lines().nth(2).unwrap_or_default();
        n.parse::<u64>().unwrap_or_else(|_| panic!("{text}"))
    };
    let first = run(kgrec(&s.data).args(["import", "kg"]).arg(&f));
    assert!(first.status.success(), "{}", stderr(&first));
    let before = count();
    let again = run(kgrec(&s.data).args(["import", "kg"]).arg(&f));
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("0 added, 6 already present"),
        "{}",
        stdout(&again)
    );
    assert_eq!(count(), before);
    // The same text under another name is another file: its nodes are new.
    let other = s.file("awards-copy.ttl", ttl);
    let copy = run(kgrec(&s.data).args(["import", "kg"]).arg(&other));
    assert!(copy.status.success(), "{}", stderr(&copy));
    // Five of its six statements have a blank node; the sixth is the same triple.
    assert_eq!(count(), before + 5);
}

/// A relative IRI gets the way out of its syntax; --base on files that cannot use it is refused.
#[test]
fn relative_iris_and_a_base_nothing_uses() {
    let s = setup();
    let nt = s.file("rel.nt", b"<a> <http://e/p> <http://e/b> .\n");
    s.rejects(
        &nt,
        &[],
        &["rel.nt:1:1", "absolute IRIs only", "--format ttl"],
    );
    s.rejects(
        &nt,
        &["--base", "http://e/"],
        &["--base http://e/", "nothing for --base to resolve"],
    );
    let ttl = s.file("rel.ttl", b"<a> <http://e/p> <http://e/b> .\n");
    s.rejects(&ttl, &[], &["rel.ttl:1:1", "pass --base IRI"]);
    s.rejects(
        &ttl,
        &["--base", "not an iri"],
        &["--base not an iri", "not a valid IRI"],
    );
}

/// Turtle in a file named .rdf is refused by what it starts with, not by a bare XML error.
#[test]
fn turtle_named_rdf_says_what_it_starts_with() {
    let s = setup();
    let f = s.file("shop.rdf", b"@prefix : <http://e/> .\n:a :p :b .\n");
    s.rejects(
        &f,
        &[],
        &["shop.rdf", "starts with `@prefix", "--format ttl"],
    );
}

#[test]
fn import_rejects_a_directory_and_a_missing_path() {
    let s = setup();
    let dir = s.tmp.path().join("a-folder.nt");
    std::fs::create_dir(&dir).unwrap();
    s.rejects(&dir, &[], &["a-folder.nt", "directory"]);
    s.rejects(
        &s.tmp.path().join("nowhere.nt"),
        &[],
        &["nowhere.nt", "no such file"],
    );
}

#[test]
fn import_rejects_an_unknown_extension_without_format_and_accepts_it_with() {
    let s = setup();
    let f = s.file("graph.data", GOOD.as_bytes());
    s.rejects(&f, &[], &["graph.data", "--format"]);
    ok(kgrec(&s.data)
        .args(["import", "kg", "--format", "nt"])
        .arg(&f));
    assert_eq!(triples(&s.data), s.before["triples"].as_u64().unwrap() + 1);
}

#[test]
fn import_rejects_a_gz_file_that_is_not_gzip() {
    let s = setup();
    let f = s.file("fake.nt.gz", GOOD.as_bytes());
    s.rejects(&f, &[], &["fake.nt.gz", "gzip"]);
}

#[test]
fn import_rejects_a_tsv_line_with_two_fields() {
    let s = setup();
    let f = s.file("short.tsv", b"a\tr\tb\nc\td\n");
    s.rejects(&f, &[], &["short.tsv:2:", "3 tab-separated fields"]);
}

#[test]
fn a_bad_second_file_rolls_back_the_good_first_one() {
    let s = setup();
    let good = s.file("good.nt", GOOD.as_bytes());
    let bad = s.file("bad.nt", b"<http://e/x> <http://e/p> .\n");
    let out = run(kgrec(&s.data).args(["import", "kg"]).arg(&good).arg(&bad));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("bad.nt:1:"), "{}", stderr(&out));
    assert_eq!(stats(&s.data), s.before);
}

#[test]
fn a_line_cut_in_the_middle_of_line_30000_is_named() {
    let Some(nt) = shared_dataset("ml-100k/kg-dbpedia.nt") else {
        return;
    };
    let s = setup();
    let text = std::fs::read_to_string(nt).unwrap();
    let mut cut = String::new();
    for (i, line) in text.lines().enumerate() {
        if i == 29_999 {
            cut.push_str(&line[..line.len() / 2]);
            break;
        }
        cut.push_str(line);
        cut.push('\n');
    }
    let f = s.file("cut-30000.nt", cut.as_bytes());
    s.rejects(&f, &[], &["cut-30000.nt:30000:"]);
}
