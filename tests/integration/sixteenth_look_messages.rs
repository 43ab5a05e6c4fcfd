//! The sixteenth fresh look's messages and outputs (issue #21): `--out` through a dangling link
//! into a data directory is refused, text tables escape control characters in labels, the
//! unknown-flag answer names short flags, `sparql @q.rq` is advised the right `--file`, and link
//! IRIs are explained in the form that matters.

use crate::cf::imported;
use crate::common::*;
use std::os::unix::fs::symlink;
use std::path::Path;

/// Finding 4: `--out` a dangling symbolic link (or a chain of them) whose target lies inside a
/// data directory used to create the target there; every `--out` writer now refuses it as it
/// refuses a path inside a data directory, and nothing is created.
#[test]
fn out_through_a_dangling_link_into_a_data_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "als"]));
    let other = tmp.path().join("other");
    import_movie_graph(&other);
    let own_target = data.join("models/v99.arrays");
    let other_target = other.join("models/v99.arrays");
    // One link straight into this data directory; a relative chain of two into another one.
    let direct = tmp.path().join("out.tsv");
    symlink(&own_target, &direct).unwrap();
    let chain = tmp.path().join("chain.tsv");
    symlink("hop.tsv", &chain).unwrap();
    symlink("other/models/v99.arrays", tmp.path().join("hop.tsv")).unwrap();
    let cases = [
        (&direct, "inside the data directory"),
        (&chain, "a kgrec data directory"),
    ];
    for (out_path, why) in cases {
        let out = run(kgrec(&data)
            .args(["recommend", "--all-users", "-k", "2", "--out"])
            .arg(out_path));
        expect_bad_input(
            &out,
            out_path,
            &[why, "v99.arrays", "write the output elsewhere"],
        );
        let out = run(kgrec(&data)
            .args(["export", "embeddings", "--out"])
            .arg(out_path));
        expect_bad_input(&out, out_path, &[why, "write the output elsewhere"]);
    }
    assert!(!own_target.exists() && !other_target.exists());
    // The links themselves are left as they were.
    assert!(std::fs::symlink_metadata(&direct).unwrap().is_symlink());
    assert!(std::fs::symlink_metadata(&chain).unwrap().is_symlink());
    // A dangling link leading outside any data directory is still written through.
    let free = tmp.path().join("free.tsv");
    symlink("recs.tsv", &free).unwrap();
    ok(kgrec(&data)
        .args(["recommend", "--all-users", "-k", "2", "--out"])
        .arg(&free));
    assert!(tmp.path().join("recs.tsv").is_file());
}

/// A store of six books whose labels hold a newline, a tab and a terminal escape, two genres,
/// and five readers; `als` trained.
fn library_with_control_labels(tmp: &Path) -> std::path::PathBuf {
    let mut nt = String::new();
    for b in 1..=6 {
        let genre = if b % 2 == 0 { "even" } else { "odd" };
        nt.push_str(&format!(
            "<http://lib.example/b{b}> <http://www.w3.org/2000/01/rdf-schema#label> \
             \"Book {b}\\nsecond line\\tcell\\u001B[31m\" .\n\
             <http://lib.example/b{b}> <http://lib.example/genre> <http://lib.example/{genre}> .\n"
        ));
    }
    nt.push_str(
        "<http://lib.example/odd> <http://www.w3.org/2000/01/rdf-schema#label> \"Odd\\ngenre\" .\n",
    );
    let graph = write_file(tmp, "books.nt", &nt);
    let mut rows = String::from("user_id\titem_id\n");
    let mut links = String::from("item_id\tiri\n");
    for b in 1..=6 {
        links.push_str(&format!("b{b}\thttp://lib.example/b{b}\n"));
    }
    for (u, books) in [
        (1, "1,3"),
        (2, "1,3,5"),
        (3, "2,4"),
        (4, "2,4,6"),
        (5, "1,2,3"),
    ] {
        for b in books.split(',') {
            rows.push_str(&format!("u{u}\tb{b}\n"));
        }
    }
    let rows = write_file(tmp, "loans.tsv", &rows);
    let links = write_file(tmp, "links.tsv", &links);
    let data = tmp.join("data");
    ok(kgrec(&data).args(["import", "kg"]).arg(&graph));
    ok(kgrec(&data)
        .args(["import", "interactions"])
        .arg(&rows)
        .arg("--link")
        .arg(&links));
    ok(kgrec(&data).args(["train", "--model", "als", "--reg", "0.1"]));
    data
}

/// Finding 6: a label with a newline used to split a row of `recommend`, `similar` and
/// `explain` in two; text tables now escape control characters (`\n`, `\t`, `\u{1b}`), one row
/// per item, and JSON keeps the label as it is.
#[test]
fn control_characters_in_labels_are_escaped_in_text_tables_not_in_json() {
    let tmp = tempfile::tempdir().unwrap();
    let data = library_with_control_labels(tmp.path());
    let escaped = "Book 5\\nsecond line\\tcell\\u{1b}[31m";
    let text = ok(kgrec(&data).args(["recommend", "--user", "u1", "-k", "3"]));
    // A title line, the column names, three rows: each row starts with its rank.
    assert_eq!(text.lines().count(), 5, "{text}");
    for (rank, row) in text.lines().skip(2).enumerate() {
        assert!(
            row.trim_start().starts_with(&(rank + 1).to_string()),
            "{text}"
        );
        assert!(!row.contains(['\t', '\u{1b}']), "{text}");
    }
    assert!(text.contains(escaped), "{text}");
    let json = ok(kgrec(&data).args(["recommend", "--user", "u1", "-k", "3", "--format", "json"]));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let labels: Vec<&str> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["label"].as_str())
        .collect();
    assert!(
        labels.contains(&"Book 5\nsecond line\tcell\u{1b}[31m"),
        "{json}"
    );

    let similar = ok(kgrec(&data).args(["similar", "--item", "b1", "-k", "2"]));
    assert_eq!(similar.lines().count(), 3, "{similar}");
    assert!(
        similar.contains("\\nsecond line\\tcell\\u{1b}[31m"),
        "{similar}"
    );

    let explained = ok(kgrec(&data).args(["explain", "--user", "u1", "--item", "b5"]));
    assert!(explained.contains(escaped), "{explained}");
    assert!(explained.contains("Odd\\ngenre"), "{explained}");
    assert!(
        !explained
            .lines()
            .any(|l| l.starts_with("second line") || l.starts_with("genre")),
        "{explained}"
    );
    assert!(!explained.contains(['\t', '\u{1b}']), "{explained}");
}

/// Finding 7: `recommend --k 5` and `--top 5` were answered with the long flags only; the
/// answer now lists `-k` and suggests it.
#[test]
fn an_unknown_flag_for_the_list_length_is_pointed_at_k() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    for (command, flag) in [
        (&["recommend", "--user", "u1"][..], "--k"),
        (&["recommend", "--user", "u1"][..], "--top"),
        (&["similar", "--item", "i1"][..], "--limit"),
        (&["recommend", "--user", "u1"][..], "-n"),
    ] {
        let out = run(kgrec(&data).args(command).args([flag, "5"]));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{flag}: {err}");
        assert!(
            err.contains(&format!("unexpected argument '{flag}'")),
            "{err}"
        );
        assert!(err.contains("(did you mean -k?)"), "{flag}: {err}");
        assert!(
            err.contains("its flags are -k, ") || err.contains(", -k,"),
            "{err}"
        );
        assert!(err.contains("--quiet/-q"), "{err}");
    }
    // A long flag one letter off still gets clap's suggestion.
    let out = run(kgrec(&data).args(["recommend", "--usr", "u1"]));
    let err = stderr(&out);
    assert!(err.contains("(did you mean --user?)"), "{err}");
    assert!(!data.exists());
}

/// Finding 8: `sparql @q.rq` (curl's way) was advised `--file @q.rq`, which fails; it is now
/// advised `--file q.rq`, and `--file @q.rq` itself names the file without the `@`.
#[test]
fn a_curl_style_query_file_is_advised_the_file_name_without_the_at() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    write_file(tmp.path(), "q.rq", "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1\n");
    let out = run(kgrec(&data)
        .current_dir(tmp.path())
        .args(["sparql", "@q.rq"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("with --file q.rq"), "{err}");
    assert!(!err.contains("--file @"), "{err}");
    let out = run(kgrec(&data)
        .current_dir(tmp.path())
        .args(["sparql", "--file", "@q.rq"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("without curl's `@`: --file q.rq"), "{err}");
    // The advice works.
    let found = ok(kgrec(&data)
        .current_dir(tmp.path())
        .args(["sparql", "--file", "q.rq"]));
    assert!(found.contains("(1 row)"), "{found}");
}

/// Finding 10: a link IRI percent-encoded where the graph holds it decoded is named with the
/// graph's spelling; an IRI holding `\u0020` is told to write `%20`; an over-long id names the
/// file's own column (`customer_id`), not only the role.
#[test]
fn link_and_id_messages_name_the_form_that_matters() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let graph = write_file(
        tmp.path(),
        "books.nt",
        "<http://lib.example/book/\\u00e9t\\u00e9> <http://lib.example/genre> \
         <http://lib.example/g> .\n",
    );
    ok(kgrec(&data).args(["import", "kg"]).arg(&graph));
    let links = write_file(
        tmp.path(),
        "links.tsv",
        "item_id\tiri\nb3\thttp://lib.example/book/%C3%A9t%C3%A9\n",
    );
    let out = run(kgrec(&data).args(["import", "links"]).arg(&links));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(
            "<http://lib.example/book/%C3%A9t%C3%A9> (item b3; the graph has \
             <http://lib.example/book/été>, the same IRI percent-decoded: write that)"
        ),
        "{err}"
    );

    let spaced = write_file(
        tmp.path(),
        "spaced.nt",
        "<http://x/a\\u0020b> <http://x/p> <http://x/c> .\n",
    );
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&spaced));
    expect_bad_input(
        &out,
        &spaced,
        &[
            "spaced.nt:1:",
            "Invalid IRI code point ' '",
            "write it percent-encoded, %20",
        ],
    );

    // An over-long id in each kind of file, named by the file's own column.
    for (name, text, command, needles) in [
        (
            "long.csv",
            format!("customer_id,sku\n{},P1\n", "u".repeat(600)),
            "interactions",
            &[
                "long.csv:2:1:",
                "`customer_id` (read as the user_id)",
                "600 bytes long",
            ][..],
        ),
        (
            "long-links.tsv",
            format!("sku\tiri\n{}\thttp://x/c\n", "p".repeat(600)),
            "links",
            &["long-links.tsv:2:1:", "`sku` (read as the item_id)"][..],
        ),
    ] {
        let file = write_file(tmp.path(), name, text);
        let out = run(kgrec(&data).args(["import", command]).arg(&file));
        expect_bad_input(&out, &file, needles);
    }
}
