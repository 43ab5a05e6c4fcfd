//! The fourteenth fresh look's findings (issue #21): an RDF graph given to `import
//! interactions` is refused with `import kg` named, never guessed as KGAT lists; `train --model
//! tfidf` without any text is refused before fitting; non-UTF-8 files get `iconv -f cp1252` advice.

use crate::common::*;
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, text: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Finding 1: N-Triples (IRIs only, or with a literal), Turtle with `@prefix` and prefixed
/// statements in a `.txt` are refused as graphs (exit 2), nothing stored; `import kg` takes
/// the same file; `--format kgat` still reads what the user insists on.
#[test]
fn rdf_graphs_given_as_interactions_are_refused_with_import_kg_named() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let iri = "<http://shop.example/p/d0> <http://shop.example/v/brand> <http://shop.example/b/z> .\n\
               <http://shop.example/p/d1> <http://shop.example/v/brand> <http://shop.example/b/z> .\n";
    let files = [
        write(tmp.path(), "iri_only.nt", iri.as_bytes()),
        write(tmp.path(), "iri_only.txt", iri.as_bytes()),
        write(
            tmp.path(),
            "catalog.txt",
            b"<http://shop.example/p/d0> <http://www.w3.org/2000/01/rdf-schema#label> \"Dress\"@en .\n",
        ),
        write(
            tmp.path(),
            "t.ttl",
            b"@prefix s: <http://shop.example/> .\ns:a s:brand s:acme .\ns:b s:brand s:acme .\n",
        ),
        write(
            tmp.path(),
            "t2.txt",
            b"s:a s:brand s:acme .\ns:b s:brand s:acme .\ns:c s:colour s:red .\n",
        ),
        write(
            tmp.path(),
            "p.txt",
            b"@prefix s: <http://shop.example/> .\ns:a s:brand s:acme .\n",
        ),
    ];
    for file in &files {
        let out = run(kgrec(&data).args(["import", "interactions"]).arg(file));
        expect_bad_input(
            &out,
            file,
            &[
                "this looks like an RDF graph",
                "import it with `kgrec import kg FILE`",
            ],
        );
        assert!(!stderr(&out).contains("guessed"), "{}", stderr(&out));
    }
    assert!(!data.exists(), "nothing stored, no data directory made");
    // The graph itself imports as a graph.
    ok(kgrec(&data).args(["import", "kg"]).arg(&files[0]));
    assert_eq!(triples(&data), 2);
    // A KGAT list is still a KGAT list.
    let kgat = write(tmp.path(), "train.txt", b"0 1 2 3\n1 5 6\n");
    ok(kgrec(&data).args(["import", "interactions"]).arg(&kgat));
}

/// Finding 2: `train --model tfidf` on a graph without any text is refused before fitting
/// (exit 2) with what tfidf needs and the SPARQL to check; nothing is stored and the current
/// ease model stays current and recommends.
#[test]
fn tfidf_without_text_is_refused_and_the_current_model_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut graph = String::new();
    let mut links = String::from("item_id\tiri\n");
    let mut rows = String::from("user_id,item_id\n");
    for i in 0..6 {
        graph.push_str(&format!(
            "<http://ex.org/i{i}> <http://ex.org/genre> <http://ex.org/g{}> .\n",
            i % 2
        ));
        links.push_str(&format!("i{i}\thttp://ex.org/i{i}\n"));
    }
    for u in 0..8 {
        for i in 0..6 {
            if (u + i) % 3 != 0 {
                rows.push_str(&format!("u{u},i{i}\n"));
            }
        }
    }
    let graph = write(tmp.path(), "g.nt", graph.as_bytes());
    let links = write(tmp.path(), "links.tsv", links.as_bytes());
    let rows = write(tmp.path(), "rows.csv", rows.as_bytes());
    ok(kgrec(&data).args(["import", "kg"]).arg(&graph));
    ok(kgrec(&data).args(["import", "links"]).arg(&links));
    ok(kgrec(&data).args(["import", "interactions"]).arg(&rows));
    ok(kgrec(&data).args(["train", "--model", "ease", "--quiet"]));
    let before = stats(&data)["model_versions"].clone();
    assert_eq!(before.as_array().map(Vec::len), Some(1), "{before}");

    let out = run(kgrec(&data).args(["train", "--model", "tfidf"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("tfidf needs text")
            && err.contains("kgrec sparql")
            && err.contains("isLiteral"),
        "{err}"
    );
    assert!(!stdout(&out).contains("trained tfidf"), "{}", stdout(&out));
    assert_eq!(stats(&data)["model_versions"], before, "nothing stored");
    assert_eq!(before[0]["model"], "ease", "{before}");
    assert_eq!(before[0]["current"], true, "{before}");
    let recs = ok(kgrec(&data).args(["recommend", "--user", "u0", "-k", "2"]));
    assert!(recs.contains("i0"), "ease still recommends: {recs}");
}

/// Finding 3: a non-UTF-8 interaction or link file is told to convert with `-f cp1252`, and
/// a C1 control character (a Windows-1252 file converted as Latin-1) is explained.
#[test]
fn windows_1252_files_get_cp1252_advice_and_c1_characters_are_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // 0x80 is `€` in Windows-1252.
    let raw = write(tmp.path(), "euro.csv", b"user_id,item_id\nu1,bag 99\x80\n");
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&raw));
    expect_bad_input(
        &out,
        &raw,
        &["euro.csv:2", "not valid UTF-8", "iconv -f cp1252 -t utf-8"],
    );
    let links = write(
        tmp.path(),
        "links.tsv",
        b"item_id\tiri\nbag\x80\thttp://ex.org/b\n",
    );
    let out = run(kgrec(&data).args(["import", "links"]).arg(&links));
    expect_bad_input(&out, &links, &["links.tsv:2", "iconv -f cp1252 -t utf-8"]);
    // What `iconv -f latin1` makes of 0x80: U+0080, a C1 control character.
    let converted = write(
        tmp.path(),
        "latin1.csv",
        "user_id,item_id\nu1,bag 99\u{80}\n".as_bytes(),
    );
    let out = run(kgrec(&data)
        .args(["import", "interactions"])
        .arg(&converted));
    expect_bad_input(
        &out,
        &converted,
        &[
            "holds a control character",
            "Windows-1252 file converted as Latin-1",
            "iconv -f cp1252 -t utf-8",
        ],
    );
    // A tab-like control character is no Windows-1252 story.
    let bell = write(tmp.path(), "bell.csv", b"user_id,item_id\nu1,bag\x07\n");
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&bell));
    expect_bad_input(&out, &bell, &["holds a control character"]);
    assert!(!stderr(&out).contains("Windows-1252"), "{}", stderr(&out));
}
