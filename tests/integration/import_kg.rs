//! Importing knowledge graphs that are well formed.

use crate::common::*;
use kgrec_kg::oxigraph::io::{RdfFormat, RdfParser, RdfSerializer};

#[test]
fn imports_the_turtle_fixture_and_reports_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = import_movie_graph(&data);
    assert!(out.contains("added"), "{out}");
    let s = stats(&data);
    assert!(s["triples"].as_u64().unwrap() > 300, "{s}");
    assert!(s["entities"].as_u64().unwrap() > 100, "{s}");
    assert!(s["relations"].as_u64().unwrap() >= 5, "{s}");
    assert!(s["literals"].as_u64().unwrap() > 100, "{s}");
    for key in ["users", "items", "interactions", "models"] {
        assert!(s.get(key).is_some(), "stats lacks {key}: {s}");
    }
}

#[test]
fn reimporting_adds_nothing_and_a_second_file_appends() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    let first = stats(&data);
    let out = import_movie_graph(&data);
    assert!(out.contains(" 0 added"), "{out}");
    assert_eq!(stats(&data), first);

    let extra = tmp.path().join("extra.nt");
    std::fs::write(
        &extra,
        "<http://dbpedia.org/resource/Toy_Story> <http://example.org/rated> <http://example.org/G> .\n",
    )
    .unwrap();
    ok(kgrec(&data).args(["import", "kg"]).arg(&extra));
    let second = stats(&data);
    assert_eq!(second["triples"], first["triples"].as_u64().unwrap() + 1);
    assert_eq!(second["entities"], first["entities"].as_u64().unwrap() + 1);
    assert_eq!(
        second["relations"],
        first["relations"].as_u64().unwrap() + 1
    );
    // Ids already given keep their meaning: the first entity still resolves to the same IRI.
    let q = "SELECT (COUNT(*) AS ?n) WHERE { <http://dbpedia.org/resource/Toy_Story> ?p ?o }";
    let n = ok(kgrec(&data).args(["sparql", "--format", "csv", q]));
    assert!(
        n.lines().nth(1).unwrap().trim().parse::<u64>().unwrap() > 3,
        "{n}"
    );
}

/// The same graph through N-Triples, gzip and Turtle gives the same counts.
/// `import kg -` reads standard input in the syntax --format names (gzip by its magic bytes);
/// without --format it says to name one, and a syntax error is located in `<stdin>`.
#[test]
fn a_graph_may_come_on_standard_input() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let triple = "<urn:x:a> <urn:x:r> <urn:x:b> .\n<urn:x:b> <urn:x:r> <urn:x:c> .\n";
    let out = run_stdin(
        kgrec(&data).args(["import", "kg", "-", "--format", "nt"]),
        triple.as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(triples(&data), 2);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, b"urn:x:c\tr\turn:x:d\n").unwrap();
    let out = run_stdin(
        kgrec(&data).args(["import", "kg", "-", "--format", "tsv"]),
        &gz.finish().unwrap(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(triples(&data), 3);
    let out = run_stdin(kgrec(&data).args(["import", "kg", "-"]), triple.as_bytes());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--format"), "{}", stderr(&out));
    let out = run_stdin(
        kgrec(&data).args(["import", "kg", "-", "--format", "nt"]),
        b"<urn:x:a> <urn:x:r> <urn:x:b> .\n<urn:x:a> <urn:x:r .\n",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("<stdin>:2:"), "{}", stderr(&out));
    assert_eq!(triples(&data), 3);
}

/// A UTF-8 byte-order mark (as Windows editors write) before Turtle or N-Triples, plain or
/// gzipped, with Windows line ends, is not content.
#[test]
fn a_byte_order_mark_is_not_read_as_content() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let ttl = tmp.path().join("g.ttl");
    std::fs::write(
        &ttl,
        "\u{feff}@prefix ex: <http://shop.example/> .\r\nex:p1 ex:brand ex:Acme .\r\n",
    )
    .unwrap();
    let nt = tmp.path().join("g.nt.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(
        &mut gz,
        "\u{feff}<urn:x:a> <urn:x:r> <urn:x:b> .\n".as_bytes(),
    )
    .unwrap();
    std::fs::write(&nt, gz.finish().unwrap()).unwrap();
    ok(kgrec(&data).args(["import", "kg"]).arg(&ttl).arg(&nt));
    assert_eq!(triples(&data), 2);
}

#[test]
fn the_same_graph_in_three_syntaxes_gives_the_same_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let ttl = fixture("movies.ttl");
    let quads: Vec<_> = RdfParser::from_format(RdfFormat::Turtle)
        .for_reader(std::fs::File::open(&ttl).unwrap())
        .collect::<Result<_, _>>()
        .unwrap();
    let nt = tmp.path().join("movies.nt");
    let mut ser = RdfSerializer::from_format(RdfFormat::NTriples).for_writer(Vec::new());
    for q in &quads {
        ser.serialize_quad(q).unwrap();
    }
    let bytes = ser.finish().unwrap();
    std::fs::write(&nt, &bytes).unwrap();
    let gz = tmp.path().join("movies.nt.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, &bytes).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();

    let mut seen = Vec::new();
    for (i, file) in [&ttl, &nt, &gz].into_iter().enumerate() {
        let data = tmp.path().join(format!("data{i}"));
        ok(kgrec(&data).args(["import", "kg"]).arg(file));
        let mut s = stats(&data);
        s.as_object_mut().unwrap().remove("data_dir");
        seen.push(s);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[1], seen[2]);
    assert_eq!(seen[0]["triples"].as_u64().unwrap(), quads.len() as u64);
}

#[test]
fn tsv_triples_become_iris_under_the_base_and_a_recbole_header_is_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let kg = tmp.path().join("ml.kg");
    std::fs::write(
        &kg,
        "head_id:token\trelation_id:token\ttail_id:token\n\
         m.04ctbw8\tfilm.producer.film\tm.0bln8\n\
         /m/027rn\t/location/country/form_of_government\tthe 100% film\n",
    )
    .unwrap();
    ok(kgrec(&data)
        .args(["import", "kg", "--base", "http://example.org/"])
        .arg(&kg));
    let s = stats(&data);
    assert_eq!(s["triples"], 2);
    assert_eq!(s["entities"], 4);
    assert_eq!(s["relations"], 2);
    let out = ok(kgrec(&data).args([
        "sparql",
        "--format",
        "tsv",
        "ASK { <http://example.org/m.04ctbw8> <http://example.org/film.producer.film> <http://example.org/m.0bln8> }",
    ]));
    assert_eq!(out.trim(), "true");
    let out = ok(kgrec(&data).args([
        "sparql",
        "SELECT ?o WHERE { <http://example.org//m/027rn> ?p ?o }",
    ]));
    assert!(out.contains("the%20100%25%20film"), "{out}");
}

#[test]
fn lenient_import_skips_bad_statements_and_says_where() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let nt = tmp.path().join("mixed.nt");
    std::fs::write(
        &nt,
        "<http://e/a> <http://e/p> <http://e/b> .\n\
         <http://e/a> <http://e/p> <not an iri> .\n\
         <http://e/c> <http://e/p> <http://e/d> .\n",
    )
    .unwrap();
    let out = run(kgrec(&data).args(["import", "kg", "--lenient"]).arg(&nt));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("skipped 1"), "{}", stderr(&out));
    assert!(stderr(&out).contains("mixed.nt:2:"), "{}", stderr(&out));
    assert_eq!(triples(&data), 2);
}

/// A Latin-1 Turtle file gets the iconv hint interaction files get.
#[test]
fn a_latin1_graph_is_told_to_convert_to_utf8() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let ttl = tmp.path().join("lat.ttl");
    let mut bytes = b"@prefix ex: <http://e/> .\nex:a ex:name \"Bj".to_vec();
    bytes.push(0xF6); // ö in Latin-1
    bytes.extend_from_slice(b"rk\" .\n");
    std::fs::write(&ttl, bytes).unwrap();
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&ttl));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("{}:2:", ttl.display())), "{err}");
    assert!(err.contains("iconv -f latin1 -t utf-8"), "{err}");
}

/// N-Triples is line-based: with --lenient, a quote left open on line 2 skips line 2 alone
/// (it took every later line, blamed valid ones and named a line past the end).
#[test]
fn lenient_ntriples_recovers_at_the_end_of_a_bad_line() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let nt = tmp.path().join("open.nt");
    std::fs::write(
        &nt,
        "<http://a/x> <http://m/p> <http://a/1> .\n\
         <http://a/y> <http://m/p> \"unclosed .\n\
         <http://a/z> <http://m/p> \"ok\" .\n\
         <http://a/w> <http://m/p> \"ok2\" .\n",
    )
    .unwrap();
    let out = run(kgrec(&data).args(["import", "kg", "--lenient"]).arg(&nt));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let file = nt.display();
    assert!(
        err.contains(&format!("{file}: --lenient skipped 1 bad statement(s):")),
        "{err}"
    );
    assert!(err.contains(&format!("{file}:2:")), "{err}");
    for later in [":3:", ":4:", ":5:"] {
        assert!(!err.contains(&format!("{file}{later}")), "{err}");
    }
    assert_eq!(triples(&data), 3, "{err}");
}

/// A wrong closing tag in RDF/XML made the parser file the next description's facts under the
/// first subject, while the report said the statement it kept was skipped: --lenient now refuses
/// RDF/XML that is not well-formed XML, with the place, and stores nothing.
#[test]
fn lenient_rdf_xml_that_is_not_well_formed_is_refused_and_stores_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let rdf = tmp.path().join("bad.rdf");
    std::fs::write(
        &rdf,
        "<?xml version=\"1.0\"?>\n\
         <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns:m=\"http://m/\">\n\
         <rdf:Description rdf:about=\"http://a/x\">\n\
         <m:p>bar</m:q>\n\
         </rdf:Description>\n\
         <rdf:Description rdf:about=\"http://a/y\"><m:p>baz</m:p></rdf:Description>\n\
         <rdf:Description rdf:about=\"http://a/z\"><m:p>qux</m:p></rdf:Description>\n\
         </rdf:RDF>\n",
    )
    .unwrap();
    let out = run(kgrec(&data).args(["import", "kg", "--lenient"]).arg(&rdf));
    assert!(!out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("{}:4:", rdf.display())), "{err}");
    assert!(err.contains("not well-formed XML"), "{err}");
    assert!(err.contains("Nothing was imported"), "{err}");
    // Nothing stored: the data directory of a failed first command is not left behind.
    assert!(!data.join("kg").exists(), "{err}");
}

/// oxttl's own recovery skips to the next `.` after an error, which took the valid statement
/// after `ex:a ex:b .` with it, and an unterminated string took the rest of the file while the
/// report said "skipped 1".
#[test]
fn lenient_turtle_keeps_every_valid_statement_and_names_each_skipped_one() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let ttl = tmp.path().join("shop.ttl");
    std::fs::write(
        &ttl,
        "@prefix ex: <http://e/> .\n\
         ex:a ex:b ex:c .\n\
         ex:a ex:b .\n\
         ex:d ex:e ex:f .\n\
         ex:g ex:h \"unterminated .\n\
         ex:j ex:k ex:l .\n\
         ex:m ex:n \"\"\"never closed .\n\
         ex:p ex:q ex:r .\n",
    )
    .unwrap();
    let out = run(kgrec(&data).args(["import", "kg", "--lenient"]).arg(&ttl));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let file = ttl.display();
    for needle in [
        format!("{file}: --lenient skipped 3 bad statement(s):"),
        format!("{file}:3:11: . is not a valid RDF object; skipped the statement on line 3"),
        format!(
            "{file}:5:11: string not closed before the end of its line; skipped the statement \
             on line 5"
        ),
        format!(
            "{file}:7:11: long string not closed before the end of the file; skipped the \
             statement on lines 7-8"
        ),
    ] {
        assert!(err.contains(&needle), "{needle}\n---\n{err}");
    }
    let rows = ok(kgrec(&data).args([
        "sparql",
        "--format",
        "csv",
        "SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?s",
    ]));
    assert_eq!(
        rows.split_whitespace().collect::<Vec<_>>(),
        ["s", "http://e/a", "http://e/d", "http://e/j"],
        "{rows}"
    );
}

/// A bad statement inside a TriG graph block costs itself only; the rest of the block stays in
/// its graph (oxttl's recovery put it in the default graph, or dropped it).
#[test]
fn lenient_trig_keeps_the_rest_of_a_graph_block_in_its_graph() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let trig = tmp.path().join("shop.trig");
    std::fs::write(
        &trig,
        "PREFIX ex: <http://e/>\n\
         ex:g1 {\n  ex:a ex:b ex:c .\n  ex:a ex:b .\n  ex:d ex:e ex:f\n}\n\
         ex:g2 { ex:h ex:i ex:j }\n",
    )
    .unwrap();
    let out = run(kgrec(&data).args(["import", "kg", "--lenient"]).arg(&trig));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "{}:4:13: . is not a valid RDF object; skipped the statement on line 4",
            trig.display()
        )),
        "{}",
        stderr(&out)
    );
    let rows = ok(kgrec(&data).args([
        "sparql",
        "--format",
        "csv",
        "SELECT ?g ?s WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?s",
    ]));
    assert_eq!(
        rows.split_whitespace().collect::<Vec<_>>(),
        [
            "g,s",
            "http://e/g1,http://e/a",
            "http://e/g1,http://e/d",
            "http://e/g2,http://e/h"
        ],
        "{rows}"
    );
}

#[test]
fn dbpedia_graph_counts_match_the_acceptance_figures() {
    let Some(nt) = shared_dataset("ml-100k/kg-dbpedia.nt") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(kgrec(&data).args(["import", "kg"]).arg(&nt));
    assert_eq!(triples(&data), 51186);
    ok(kgrec(&data).args(["import", "kg"]).arg(&nt));
    assert_eq!(triples(&data), 51186);
}

#[test]
fn fb15k237_train_counts_match_the_acceptance_figures() {
    let Some(train) = shared_dataset("kge/fb15k-237/train.txt") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(kgrec(&data).args(["import", "kg"]).arg(&train));
    let s = stats(&data);
    assert_eq!(s["triples"], 272115);
    assert_eq!(s["entities"], 14505);
    assert_eq!(s["relations"], 237);
}
