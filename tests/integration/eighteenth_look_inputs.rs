//! The eighteenth fresh look's input findings (issue #21): RDF/XML errors located in the file,
//! `--lenient` refused for RDF/XML errors, a header-only interactions file as a quiet day, and a
//! demo that leaves KGREC_DATA's directory alone.

use crate::common::*;

const RDF_HEAD: &str = "<?xml version=\"1.0\"?>\n\
     <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns:ex=\"http://ex.org/\">\n";

/// An RDF/XML document: the head, `body`, the root's end.
fn rdf(body: &str) -> String {
    format!("{RDF_HEAD}{body}</rdf:RDF>\n")
}

/// oxigraph's RDF/XML parser gives no position for errors of RDF (a bad IRI, a bad `&`): the
/// user saw "range 37..45", a range inside an attribute value. Now FILE:LINE:COLUMN of the spot.
#[test]
fn rdf_xml_errors_name_the_line_and_column_of_the_offending_spot() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let cases = [
        // A space in rdf:about: the column of the value's first character.
        (
            "iri.rdf",
            rdf(
                "<rdf:Description rdf:about=\"http://ex.org/a\"><ex:n>x</ex:n></rdf:Description>\n\
                 <rdf:Description rdf:about=\"http://ex.org/d3 x\"><ex:n>y</ex:n></rdf:Description>\n",
            ),
            ":4:29:",
            "Invalid IRI code point",
        ),
        // A bare & in a URL: the column of the `&`.
        (
            "amp.rdf",
            rdf(
                "<rdf:Description rdf:about=\"http://ex.org/d?id=0&lang=de\"><ex:n>x</ex:n></rdf:Description>\n",
            ),
            ":3:49:",
            "write a literal & as `&amp;`",
        ),
        // An entity nobody declared, in text.
        (
            "entity.rdf",
            rdf(
                "<rdf:Description rdf:about=\"http://ex.org/a\">\n  <ex:n>caf&foo; bar</ex:n>\n</rdf:Description>\n",
            ),
            ":4:12:",
            "unrecognized entity `foo`",
        ),
        // A broken tag: where the XML stops being well formed.
        (
            "tag.rdf",
            rdf(
                "<rdf:Description rdf:about=\"http://ex.org/a\">\n  <ex:n>x</ex:n\n</rdf:Description>\n",
            ),
            ":4:",
            "ill-formed document",
        ),
    ];
    for (name, text, at, why) in cases {
        let file = write_file(tmp.path(), name, text);
        let out = run(kgrec(&data).args(["import", "kg"]).arg(&file));
        let err = stderr(&out);
        expect_bad_input(&out, &file, &[&format!("{}{at}", file.display()), why]);
        assert!(!err.contains("range"), "{name}: {err}");
        assert!(!data.exists(), "{name}: {err}");
    }
    // An entity the DOCTYPE declares is no error.
    let declared = write_file(
        tmp.path(),
        "declared.rdf",
        "<?xml version=\"1.0\"?>\n<!DOCTYPE rdf:RDF [ <!ENTITY ex \"http://ex.org/\"> ]>\n\
         <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns:ex=\"http://ex.org/\">\n\
         <rdf:Description rdf:about=\"&ex;a\"><ex:n>caf&#233; &amp; bar</ex:n></rdf:Description>\n\
         </rdf:RDF>\n",
    );
    ok(kgrec(&data).args(["import", "kg"]).arg(&declared));
    assert_eq!(triples(&data), 1);
}

/// `--lenient` on RDF/XML with a bad rdf:about said it skipped five statements and stored the
/// element's properties as blank-node garbage. RDF/XML cannot resynchronise after an error, so
/// `--lenient` refuses it: nothing is stored, and the place and the way out are said.
#[test]
fn lenient_rdf_xml_with_an_error_of_rdf_is_refused_and_stores_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let good = write_file(
        tmp.path(),
        "good.rdf",
        rdf("<rdf:Description rdf:about=\"http://ex.org/a\"><ex:n>x</ex:n></rdf:Description>\n"),
    );
    ok(kgrec(&data).args(["import", "kg", "--lenient"]).arg(&good));
    assert_eq!(triples(&data), 1);
    for (name, body, at) in [
        (
            "bad.rdf",
            "<rdf:Description rdf:about=\"http://ex.org/b\"><ex:n>y</ex:n></rdf:Description>\n\
             <rdf:Description rdf:about=\"http://ex.org/d3 x\">\n  <ex:n>z</ex:n>\n  <ex:m>w</ex:m>\n\
             </rdf:Description>\n\
             <rdf:Description rdf:about=\"http://ex.org/c\"><ex:n>v</ex:n></rdf:Description>\n",
            ":4:29:",
        ),
        (
            "amp.rdf",
            "<rdf:Description rdf:about=\"http://ex.org/b\"><ex:n>AT&T</ex:n></rdf:Description>\n",
            ":3:54:",
        ),
    ] {
        let file = write_file(tmp.path(), name, rdf(body));
        let out = run(kgrec(&data).args(["import", "kg", "--lenient"]).arg(&file));
        expect_bad_input(
            &out,
            &file,
            &[
                &format!("{}{at}", file.display()),
                "--lenient does not skip errors in RDF/XML",
                "Nothing was imported",
                "N-Triples or Turtle",
            ],
        );
        assert!(
            !stderr(&out).contains("--lenient skipped"),
            "{}",
            stderr(&out)
        );
        // Not one statement of the file: the graph is as the good file left it.
        assert_eq!(triples(&data), 1, "{name}");
    }
}

/// A cron job's export of a quiet day is a header and no rows: exit 2 broke the job. Now a note,
/// exit 0, and the data directory unchanged (not even created); over standard input too. An
/// entirely empty file stays an error (a failed export leaves one), which says so.
#[test]
fn a_header_only_interactions_file_imports_nothing_with_a_note() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let quiet_day = write_file(tmp.path(), "day.csv", "user_id,item_id,rating,timestamp\n");
    let out = run(kgrec(&data)
        .args(["import", "interactions"])
        .arg(&quiet_day));
    assert!(out.status.success(), "{}", stderr(&out));
    let note = format!(
        "note: {}:1: no rows after the header: nothing imported",
        quiet_day.display()
    );
    assert!(stderr(&out).contains(&note), "{}", stderr(&out));
    assert!(!data.exists(), "{}", stderr(&out));

    let rows = write_file(
        tmp.path(),
        "rows.csv",
        "user_id,item_id,rating\nu1,i1,4\nu2,i1,3\n",
    );
    ok(kgrec(&data).args(["import", "interactions"]).arg(&rows));
    let before = stats(&data);
    let out = run(kgrec(&data)
        .args(["import", "interactions"])
        .arg(&quiet_day));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run_stdin(
        kgrec(&data).args(["import", "interactions", "--format", "csv", "-"]),
        b"user_id,item_id,rating\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("<stdin>:1: no rows after the header: nothing imported"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stats(&data), before);

    let empty = write_file(tmp.path(), "empty.csv", "");
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&empty));
    expect_bad_input(&out, &empty, &["the file is empty", "failed export"]);
    assert_eq!(stats(&data), before);
}

/// `demo` with KGREC_DATA set wrote into that directory (a user's, exported for the other
/// commands). It now works in a temporary directory, as without the variable, and says so; an
/// explicit --data still keeps the demo's data there.
#[test]
fn demo_leaves_the_data_directory_kgrec_data_names_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let users = tmp.path().join("users-data");
    let ran = run(std::process::Command::new(binary())
        .arg("demo")
        .env("KGREC_DATA", &users));
    assert!(ran.status.success(), "{}", stderr(&ran));
    assert!(!users.exists(), "{}", stderr(&ran));
    let err = stderr(&ran);
    assert!(
        err.contains(&format!(
            "the demo leaves KGREC_DATA's data directory {} alone",
            users.display()
        )),
        "{err}"
    );
    assert!(err.contains("temporary data directory goes away"), "{err}");
    let out = stdout(&ran);
    assert!(out.contains("kgrec demo: data directory "), "{out}");
    assert!(!out.contains(&users.display().to_string()), "{out}");
    // Other commands still take the variable.
    let ran = run(std::process::Command::new(binary())
        .args(["import", "kg"])
        .arg(fixture("movies.ttl"))
        .env("KGREC_DATA", &users));
    assert!(ran.status.success(), "{}", stderr(&ran));
    assert!(users.join("kg").exists());
}
