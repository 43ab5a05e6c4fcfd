//! Messages that say what happened (issue 21, "messages that mislead"): SPARQL mistakes in plain
//! words, `kge` runs that would keep nothing, `explain` of an item the user has, `--quiet`,
//! `stats` listing its models.

use crate::common::*;
use std::path::Path;
use std::process::Command;

#[test]
fn sparql_mistakes_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    let bad = |query: &str, needles: &[&str]| {
        let out = run(kgrec(&data).args(["sparql", query]));
        expect_bad_input(&out, &data, needles);
        assert!(!stderr(&out).contains("\\u{"), "{}", stderr(&out));
    };
    bad("", &["empty SPARQL query"]);
    bad("  # just a comment\n", &["empty SPARQL query"]);
    bad(
        "SELEC ?s WHERE { ?s ?p ?o }",
        &[
            "unknown query form \"SELEC\"",
            "SELECT, ASK, CONSTRUCT or DESCRIBE",
        ],
    );
    bad(
        "SELECT ?d WHERE { dbr:Toy_Story dbo:director ?d }",
        &[
            "undeclared prefixes dbr:, dbo: (at 1:19)",
            "PREFIX dbo: <http://dbpedia.org/ontology/>",
        ],
    );
    // Located where the mistake is: the parser said 1:10, 1:36 and 3:11.
    bad(
        "ASKK { ?s ?p ?o }",
        &["unknown query form \"ASKK\" (at 1:1)"],
    );
    bad(
        "SELECT ?s WHERE { ?s ?p ?o } LIMT 2",
        &["unknown word \"LIMT\" (at 1:30): did you mean LIMIT?"],
    );
    bad(
        "SELECT ?s WHERE {\n  ?s ?p ?o .\n  FILTR(?s)\n}",
        &["unknown word \"FILTR\" (at 3:3): did you mean FILTER?"],
    );
    // The parser said 1:46 (`://x/l>`), 4:11 (`el`), "the query ends there" twice and "the one
    // ending at 1:51 has 2 terms".
    bad(
        "SELECT ?t WHERE { ?t <http://x/g> ?g ?t <http://x/l> ?l }",
        &["four terms in a row: a `.` is missing after `?g` (at 1:35)"],
    );
    let file = tmp.path().join("q.rq");
    std::fs::write(
        &file,
        "PREFIX o: <http://x/o/>\nSELECT ?t WHERE {\n  ?t o:genre ?g\n  ?t o:label ?l\n}\n",
    )
    .unwrap();
    let out = run(kgrec(&data).args(["sparql", "--file"]).arg(&file));
    expect_bad_input(&out, &data, &["a `.` is missing after `?g` (at 3:14)"]);
    bad(
        "SELECT ?t WHERE { ?t ?p ?o } GROUP BY ?p",
        &["?t is selected (at 1:8) but neither grouped nor aggregated (GROUP BY ?p)"],
    );
    bad(
        "SELECT (COUNT(?t) AS ?n) ?p WHERE { ?t ?p ?o }",
        &["add GROUP BY ?p"],
    );
    bad(
        "SELECT ?t WHERE { ?t ?p ?o . FILTER(regex(?o, \"a\") }",
        &["the `(` opened at 1:36 is not closed: a `}` comes (at 1:52)"],
    );
}

/// A query that finds nothing is told which of its IRIs the graph does not hold, with the
/// nearest one it does when that is a typo away; a query that finds something is told nothing.
#[test]
fn a_query_that_finds_nothing_names_the_iris_the_graph_lacks() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    let sparql = |query: &str| {
        let out = run(kgrec(&data).args(["sparql", query]));
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
    };
    let dbo =
        "PREFIX dbo: <http://dbpedia.org/ontology/> PREFIX dbr: <http://dbpedia.org/resource/>";
    let said = sparql(&format!("{dbo} SELECT ?d WHERE {{ ?m dbo:directr ?d }}"));
    assert!(
        said.contains(
            "the graph has no <http://dbpedia.org/ontology/directr>: did you mean \
             <http://dbpedia.org/ontology/director>?"
        ),
        "{said}"
    );
    let said = sparql(&format!(
        "{dbo} ASK {{ dbr:Toy_Stry dbo:director ?d . FILTER(?d != \"x\"^^<http://www.w3.org/2001/XMLSchema#string>) }}"
    ));
    assert!(
        said.contains("did you mean <http://dbpedia.org/resource/Toy_Story>?"),
        "{said}"
    );
    assert!(
        !said.contains("XMLSchema"),
        "a datatype is not a graph IRI: {said}"
    );
    // A predicate whose objects are literals is in the graph too; its typo is one.
    let rdfs = "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>";
    let said = sparql(&format!(
        "{rdfs} SELECT ?m WHERE {{ ?m rdfs:label \"Toy Storyy\"@en }}"
    ));
    assert!(!said.contains("the graph has no"), "{said}");
    let said = sparql(&format!("{rdfs} SELECT ?m WHERE {{ ?m rdfs:labl ?l }}"));
    assert!(
        said.contains("did you mean <http://www.w3.org/2000/01/rdf-schema#label>?"),
        "{said}"
    );
    let said = sparql("SELECT ?s WHERE { ?s <http://example.org/nothing> ?o }");
    assert!(
        said.contains("the graph has no <http://example.org/nothing>\n"),
        "{said}"
    );
    let said = sparql(&format!(
        "{dbo} SELECT ?d WHERE {{ ?m dbo:director ?d }} LIMIT 1"
    ));
    assert!(!said.contains("the graph has no"), "{said}");
}

/// `eval` says when no test item was seen in training, asks for a repeated cut-off once, and
/// names every recommender when given a graph embedding.
#[test]
fn eval_notes_cold_test_items_and_lists_its_models() {
    let tmp = tempfile::tempdir().unwrap();
    let train = tmp.path().join("train.tsv");
    let test = tmp.path().join("test.tsv");
    std::fs::write(
        &train,
        "user_id\titem_id\nu1\ta\nu1\tb\nu2\ta\nu2\tb\nu3\tb\n",
    )
    .unwrap();
    std::fs::write(&test, "user_id\titem_id\nu1\tc\nu3\td\n").unwrap();
    let eval = |extra: &[&str]| {
        run(std::process::Command::new(binary())
            .args(["eval", "--train"])
            .arg(&train)
            .arg("--test")
            .arg(&test)
            .args(extra))
    };
    let out = eval(&["--model", "pop", "-k", "5,5"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no item of the test file is in the training file"),
        "{}",
        stderr(&out)
    );
    let rows = stdout(&out)
        .lines()
        .filter(|l| l.trim_start().starts_with("5 "))
        .count();
    assert_eq!(rows, 1, "{}", stdout(&out));
    let out = eval(&["--model", "transe"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("ease, kg-ease"), "{}", stderr(&out));
}

/// An `--out` whose folder does not exist and a SPARQL SERVICE are the user's input (exit 2),
/// said in their words.
#[test]
fn missing_out_folders_and_services_are_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "pop"]));
    let out = run(kgrec(&data)
        .args(["recommend", "--all-users", "--out"])
        .arg(tmp.path().join("no/such/folder/recs.tsv")));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    let out = run(kgrec(&data).args([
        "sparql",
        "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("not supported"), "{}", stderr(&out));
}

/// With `--out -` the results alone are on standard output; the summary goes to standard
/// error (it used to end the TSV, and the JSON lines, with a line that was neither).
#[test]
fn a_batch_on_standard_output_is_only_results() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "pop", "-q"]));
    for extra in [&[][..], &["--explain"]] {
        let out = run(kgrec(&data)
            .args(["recommend", "--all-users", "-k", "2", "--out", "-"])
            .args(extra));
        assert!(out.status.success(), "{}", stderr(&out));
        for line in stdout(&out).lines() {
            let whole = if extra.is_empty() {
                line.split('\t').count() == 4
            } else {
                serde_json::from_str::<serde_json::Value>(line).is_ok()
            };
            assert!(whole, "not a result: {line:?}");
        }
        assert!(
            stderr(&out).contains("wrote standard output"),
            "{}",
            stderr(&out)
        );
    }
}

/// A link-prediction folder of two triples (train, valid and test alike).
fn tiny_benchmark(dir: &std::path::Path) -> std::path::PathBuf {
    let ds = dir.join("ds");
    std::fs::create_dir_all(&ds).unwrap();
    for split in ["train", "valid", "test"] {
        std::fs::write(ds.join(format!("{split}.txt")), "a\tr\tb\nb\tr\tc\n").unwrap();
    }
    ds
}

/// `eval` and `kge` hold no data directory: a --data or --wait given to them is said to be
/// unused (an exported KGREC_DATA is not).
#[test]
fn commands_without_a_data_directory_say_data_is_not_used() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = tiny_benchmark(tmp.path());
    let kge = |extra: &[&str], env: Option<&str>| {
        let mut cmd = std::process::Command::new(binary());
        cmd.env_remove("KGREC_DATA");
        if let Some(dir) = env {
            cmd.env("KGREC_DATA", dir);
        }
        cmd.args(extra)
            .args(["kge", "train", "--epochs", "1", "--eval-test", "--dataset"])
            .arg(&ds);
        let out = run(&mut cmd);
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
    };
    let said = kge(&["--data", "somewhere", "--wait", "5"], None);
    assert!(said.contains("note: kge train works on the benchmark folder given by --dataset and leaves the data directory alone: --data is not used"), "{said}");
    assert!(said.contains("--wait is not used"), "{said}");
    let said = kge(&[], Some("somewhere"));
    assert!(!said.contains("is not used"), "{said}");
}

#[test]
fn graph_results_are_not_written_as_solutions() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    let out = run(kgrec(&data).args([
        "sparql",
        "--format",
        "json",
        "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 1",
    ]));
    expect_bad_input(
        &out,
        &data,
        &["--format json", "CONSTRUCT or DESCRIBE", "N-Triples"],
    );
    let nt = ok(kgrec(&data).args([
        "sparql",
        "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 1",
    ]));
    assert!(nt.trim_end().ends_with(" ."), "{nt}");
}

#[test]
fn kge_train_that_would_keep_nothing_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = tiny_benchmark(tmp.path());
    let out = run(std::process::Command::new(binary())
        .args(["kge", "train", "--epochs", "1", "--dataset"])
        .arg(&ds));
    expect_bad_input(&out, &ds, &["--out DIR", "--eval-test", "keep nothing"]);
}

#[test]
fn explain_says_when_the_user_already_has_the_item_and_quiet_is_quiet() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    let trained = run(kgrec(&data).args(["--quiet", "train", "--model", "als"]));
    assert!(trained.status.success());
    assert_eq!(stdout(&trained), "", "--quiet prints no summary");
    assert_eq!(stderr(&trained), "", "--quiet prints no notes");
    // User 1 has item 172 in their history.
    let json = json_of(&ok(kgrec(&data).args([
        "explain", "--user", "1", "--item", "172", "--format", "json",
    ])));
    let item = &json["items"][0];
    assert_eq!(item["in_history"], true, "{item}");
    assert!(item.get("rank").is_none(), "{item}");
    let text = ok(kgrec(&data).args(["explain", "--user", "1", "--item", "172"]));
    assert!(text.contains("already in the user's history"), "{text}");
    // An item they do not have is not marked.
    let json_other = json_of(&ok(kgrec(&data).args([
        "explain", "--user", "1", "--item", "318", "--format", "json",
    ])));
    assert!(json_other["items"][0].get("in_history").is_none());
    // stats lists its models in text too.
    let stats = ok(kgrec(&data).args(["stats"]));
    assert!(stats.contains("v1 als (current)"), "{stats}");
}

fn json_of(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

/// `--out` never destroys what it points at: a symlink stays a link (its target gets the file),
/// a special file is written through, `-` is standard output; a flag the chosen form of
/// `recommend` would ignore is refused.
#[test]
fn outputs_respect_links_special_files_and_dashes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "pop"]));

    let target = tmp.path().join("target.tsv");
    std::fs::write(&target, "old\n").unwrap();
    let link = tmp.path().join("link.tsv");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    // "old" is not a kgrec output: replaced only with --force.
    ok(kgrec(&data)
        .args(["recommend", "--all-users", "-k", "2", "--force", "--out"])
        .arg(&link));
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
    let written = std::fs::read_to_string(&target).unwrap();
    assert!(
        written.starts_with("user_id\titem_id\trank\tscore\n"),
        "{written}"
    );

    let dash = ok(kgrec(&data).args(["recommend", "--all-users", "-k", "2", "--out", "-"]));
    assert!(
        dash.starts_with("user_id\titem_id\trank\tscore\n"),
        "{dash}"
    );
    assert!(!data.join("-").exists() && !Path::new("-").exists());

    // /dev/stdout is a link to this process's stdout (a pipe here): written through, and the
    // system's link stays a link.
    let out = ok(kgrec(&data).args([
        "recommend",
        "--all-users",
        "-k",
        "2",
        "--out",
        "/dev/stdout",
    ]));
    assert!(out.contains("user_id\titem_id\trank\tscore\n"), "{out}");
    assert!(
        Path::new("/dev/stdout")
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink()
    );
    ok(kgrec(&data).args(["recommend", "--all-users", "--out", "/dev/null"]));
    assert!(!Path::new("/dev/null").metadata().unwrap().is_file());

    let refused = |args: &[&str], needle: &str| {
        let out = run(kgrec(&data).args(args));
        expect_bad_input(&out, &data, &[needle]);
    };
    refused(
        &["recommend", "--user", "1", "--out", "one.tsv"],
        "--out writes the batch file",
    );
    refused(
        &["recommend", "--all-users", "--out", "-", "--format", "json"],
        "--format sets how one user's list",
    );
    refused(
        &["recommend", "--user", "1", "--paths", "2"],
        "give --explain",
    );
    assert!(!Path::new("one.tsv").exists());
}

/// On a 5 × 8 catalogue a regularisation of 30 (the default, given) shrinks every score to
/// nothing: `train` says so and names the remedy, which then gives scores that differ.
#[test]
fn collapsed_scores_on_a_tiny_catalogue_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = tmp.path().join("tiny.tsv");
    let mut rows = String::from("user_id\titem_id\n");
    for u in 0..5 {
        for i in 0..8 {
            if (u * 3 + i * 5) % 7 < 4 {
                rows.push_str(&format!("u{u}\ti{i}\n"));
            }
        }
    }
    std::fs::write(&file, rows).unwrap();
    ok(kgrec(&data).args(["import", "interactions"]).arg(&file));
    for model in ["als", "cke"] {
        let out = run(kgrec(&data).args(["train", "--model", model, "--reg", "30"]));
        assert!(out.status.success());
        assert!(
            stderr(&out).contains("near-arbitrary order") && stderr(&out).contains("--reg"),
            "{model}: {}",
            stderr(&out)
        );
        // Five users are too few for `kgrec tune`: only the remedy that applies is given.
        assert!(
            !stderr(&out).contains("kgrec tune"),
            "{model}: {}",
            stderr(&out)
        );
        // The list of a collapsed model says so too, not only the training, and so do its
        // similar items (every cosine about 1).
        for args in [
            &["recommend", "--user", "u0", "-k", "3"][..],
            &["similar", "--item", "i0", "-k", "3"][..],
            // One item's explanation too.
            &["explain", "--user", "u0", "--item", "i1"][..],
            // The batch files too.
            &["recommend", "--all-users", "--out", "-", "-k", "2"][..],
            &[
                "recommend",
                "--all-users",
                "--explain",
                "--out",
                "-",
                "-k",
                "2",
            ][..],
        ] {
            let out = run(kgrec(&data).args(args));
            assert!(
                stderr(&out).contains("collapsed") && stderr(&out).contains("near-arbitrary"),
                "{model} {args:?}: {}",
                stderr(&out)
            );
        }
    }
    let out = run(kgrec(&data).args(["train", "--model", "als", "--reg", "0.5"]));
    assert!(out.status.success());
    assert!(!stderr(&out).contains("near-arbitrary"), "{}", stderr(&out));
    for args in [
        &["recommend", "--user", "u0", "-k", "3"][..],
        &["similar", "--item", "i0", "-k", "3"][..],
        &["explain", "--user", "u0", "--item", "i1"][..],
        &["recommend", "--all-users", "--out", "-", "-k", "2"][..],
    ] {
        let out = run(kgrec(&data).args(args));
        assert!(
            !stderr(&out).contains("collapsed"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let list = ok(kgrec(&data).args(["recommend", "--user", "u0", "--format", "json"]));
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let scores: Vec<f64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["score"].as_f64().unwrap())
        .collect();
    assert!(
        scores.first().unwrap() - scores.last().unwrap() > 1e-3,
        "{scores:?}"
    );
}

/// The fresh-eyes findings on outputs and the demo: `--out` into the data directory (directly or
/// through a link) is refused, a read-only file is not replaced, `demo --data` refuses a store
/// that holds data, a stale TransE copy does not outlive a re-export, an unknown `--exclude` id
/// is named.
#[test]
fn outputs_never_land_in_the_store_nor_replace_protected_files() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "pop"]));
    let before = std::fs::read(data.join("FORMAT")).unwrap();
    let out = run(kgrec(&data)
        .args(["recommend", "--all-users", "--out"])
        .arg(data.join("FORMAT")));
    expect_bad_input(&out, &data, &["inside the data directory"]);
    let sneaky = tmp.path().join("sneaky");
    std::os::unix::fs::symlink(data.join("kg"), &sneaky).unwrap();
    let out = run(kgrec(&data)
        .args(["recommend", "--all-users", "--out"])
        .arg(sneaky.join("recs.tsv")));
    expect_bad_input(&out, &data, &["inside the data directory"]);
    // A hard link is written in place (a rename would split it): one into the store is refused.
    let twin = tmp.path().join("hard.tsv");
    std::fs::hard_link(data.join("FORMAT"), &twin).unwrap();
    let out = run(kgrec(&data)
        .args(["recommend", "--all-users", "--out"])
        .arg(&twin));
    expect_bad_input(&out, &data, &["hard link of", "FORMAT"]);
    assert_eq!(std::fs::read(data.join("FORMAT")).unwrap(), before);
    ok(kgrec(&data).args(["stats"]));
    // A file that is not a kgrec output is not replaced without --force (then a note says
    // so); a batch file written before is replaced without a word.
    let mine = tmp.path().join("mine.txt");
    std::fs::write(&mine, "precious\n").unwrap();
    let recs = |path: &std::path::Path, extra: &[&str]| {
        run(kgrec(&data)
            .args(["recommend", "--all-users", "-k", "1"])
            .args(extra)
            .arg("--out")
            .arg(path))
    };
    let refused = recs(&mine, &[]);
    expect_bad_input(
        &refused,
        &mine,
        &["9 bytes that are not a kgrec output", "--force"],
    );
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "precious\n");
    assert!(stderr(&recs(&mine, &["--force"])).contains("replaced (--force) a file of 9 bytes"));
    let again = recs(&mine, &[]);
    assert!(again.status.success() && !stderr(&again).contains("replaced"));

    let protected = tmp.path().join("protected.tsv");
    std::fs::write(&protected, "mine\n").unwrap();
    let mut perms = std::fs::metadata(&protected).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&protected, perms).unwrap();
    let out = run(kgrec(&data)
        .args(["recommend", "--all-users", "--force", "--out"])
        .arg(&protected));
    expect_bad_input(&out, &data, &["read-only"]);
    assert_eq!(std::fs::read_to_string(&protected).unwrap(), "mine\n");

    let out = run(kgrec(&data).arg("demo"));
    expect_bad_input(&out, &data, &["new or empty data directory"]);
    assert_eq!(stats(&data)["users"], 40, "the store is untouched");

    let warned = run(kgrec(&data).args(["recommend", "--user", "1", "--exclude", "318,nope"]));
    assert!(warned.status.success());
    assert!(
        stderr(&warned).contains("no item \"nope\""),
        "{}",
        stderr(&warned)
    );

    let emb = tmp.path().join("emb");
    ok(kgrec(&data).args(["train", "--model", "transe", "--dim", "4", "--epochs", "2"]));
    ok(kgrec(&data)
        .args(["export", "embeddings", "--out"])
        .arg(&emb));
    assert!(emb.join("entity_embeddings.tsv").exists());
    ok(kgrec(&data).args(["train", "--model", "rotate", "--dim", "4", "--epochs", "2"]));
    ok(kgrec(&data)
        .args(["export", "embeddings", "--out"])
        .arg(&emb));
    assert!(
        !emb.join("entity_embeddings.tsv").exists(),
        "a stale TransE copy"
    );
}

/// `eval` with test rows of which some are also in the training file says how many, and that
/// they count as misses (a partial overlap said nothing).
#[test]
fn eval_names_test_rows_that_are_also_training_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let train = tmp.path().join("train.tsv");
    let test = tmp.path().join("test.tsv");
    std::fs::write(
        &train,
        "user_id\titem_id\nu1\ta\nu1\tb\nu2\ta\nu2\tc\nu3\tb\nu3\tc\n",
    )
    .unwrap();
    std::fs::write(&test, "user_id\titem_id\nu1\ta\nu1\tc\nu2\tb\n").unwrap();
    let out = run(std::process::Command::new(binary())
        .args(["eval", "--model", "pop", "--train"])
        .arg(&train)
        .arg("--test")
        .arg(&test));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("1 of the 3 test interactions are also in the training file"),
        "{err}"
    );
    assert!(err.contains("count as misses"), "{err}");
}

/// `eval` with the test file equal to the training file is refused, saying why every figure
/// would be zero; a SPARQL query can come from standard input.
#[test]
fn eval_of_the_training_file_itself_and_sparql_from_stdin() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(std::process::Command::new(binary())
        .args(["eval", "--model", "pop", "--train"])
        .arg(fixture("interactions.tsv"))
        .arg("--test")
        .arg(fixture("interactions.tsv")));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("also in the training file"),
        "{}",
        stderr(&out)
    );
    // Standard input is read once: two files from it are refused before either is read.
    let out = run(std::process::Command::new(binary())
        .args(["eval", "--model", "pop", "--train", "-", "--test", "-"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--train and --test both read standard input"),
        "{}",
        stderr(&out)
    );

    let data = tmp.path().join("data");
    import_movie_graph(&data);
    let mut child = kgrec(&data)
        .args(["sparql", "--format", "tsv", "--file", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"ASK { ?s ?p ?o }")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("true"), "{}", stderr(&out));
}

/// An error is said once with its cause (`PATH: CAUSE`), not "CAUSE: CAUSE"; an export folder
/// that is a file says so before any training.
#[test]
fn errors_say_their_cause_once() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "pop", "-q"]));
    let file = tmp.path().join("afile");
    std::fs::write(&file, "mine\n").unwrap();
    let out = run(kgrec(&data)
        .args(["recommend", "--all-users", "--out"])
        .arg(file.join("recs.tsv")));
    // The user's path, so bad input (exit 2), said once.
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).matches("is a file, not a folder").count(),
        1,
        "{}",
        stderr(&out)
    );
    let dataset = tmp.path().join("kg");
    std::fs::create_dir(&dataset).unwrap();
    for split in ["train.txt", "valid.txt", "test.txt"] {
        std::fs::write(dataset.join(split), "a\tr\tb\nb\tr\tc\n").unwrap();
    }
    let out = run(kgrec(&data)
        .args(["kge", "train", "--epochs", "1", "--dataset"])
        .arg(&dataset)
        .arg("--out")
        .arg(&file));
    expect_bad_input(&out, &file, &["is a file, not a folder"]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine\n");
}

/// The small things of a first afternoon (issue 21's journey, "cosmetic"): flag names in
/// parameter errors, negative numbers as values, `--seed` for pop, pop's own words, the
/// single-item explain heading, `--paths 0`, `stats` as data, SPARQL column order, final line
/// breaks and empty DESCRIBEs, kge eval's key names, a date column named as itself, timestamps
/// that are no timestamps, a failed first import that leaves no parent folder, parser messages
/// that say their location once.
#[test]
fn small_things_say_what_the_user_typed() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    for (args, said) in [
        (&["--epochs", "0"][..], "--epochs 0: expected at least 1"),
        (&["--dim", "0"], "--dim 0: expected from 1 to 4096"),
        // Past the cap the Gram matrices alone would not fit in memory (a crash before).
        (
            &["--model", "als", "--dim", "100000"],
            "--dim 100000: expected from 1 to 4096",
        ),
        (
            &["--model", "als", "--reg", "-1"],
            "--reg -1: expected finite and >= 0",
        ),
        (
            &["--cold-neighbours", "0"],
            "--cold-neighbours 0: expected at least 1",
        ),
        (&["--epochs", "2"], "--epochs: cke needs more than 2 epochs"),
        (
            &["--model", "pop", "--seed", "4"],
            "--seed does not apply to --model pop",
        ),
        (
            &["--model", "ease", "--seed", "5"],
            "--seed does not apply to --model ease: its fit has no randomness",
        ),
        (
            &["--model", "itemknn", "--seed", "5"],
            "--seed does not apply to --model itemknn",
        ),
    ] {
        let out = run(kgrec(&data).arg("train").args(args));
        expect_bad_input(&out, &data, &[said]);
    }
    let trained = ok(kgrec(&data).args(["train", "--model", "pop"]));
    assert!(trained.contains("item popularity counted"), "{trained}");
    assert!(!trained.contains("dim 0"), "{trained}");

    // explain: pop's score is a count; one item is not "recommendations"; --paths 0 misses none.
    let one = ok(kgrec(&data).args(["explain", "--user", "1", "--item", "50"]));
    assert!(
        one.starts_with("explained item for user 1 (model v1 pop)"),
        "{one}"
    );
    assert!(one.contains("popularity ") && !one.contains("cf "), "{one}");
    let none = ok(kgrec(&data).args(["recommend", "--user", "1", "--explain", "--paths", "0"]));
    assert!(!none.contains("no path"), "{none}");

    let s = stats(&data);
    assert_eq!(s["model_versions"][0]["model"], "pop", "{s}");
    assert_eq!(s["model_versions"][0]["current"], true, "{s}");
    assert_eq!(s["models"][0], "v1 pop (current)", "{s}");

    // SPARQL: the query's variable order, a last line break, an empty DESCRIBE said.
    let table = ok(kgrec(&data).args(["sparql", "SELECT * WHERE { ?s ?p ?o } LIMIT 1"]));
    assert!(table.starts_with("?s "), "{table}");
    for format in ["json", "xml", "csv", "tsv"] {
        let out = ok(kgrec(&data).args(["sparql", "--format", format, "ASK { ?s ?p ?o }"]));
        assert!(out.ends_with('\n'), "{format}: {out:?}");
    }
    let json = ok(kgrec(&data).args([
        "sparql",
        "--format",
        "json",
        "SELECT * { ?s ?p ?o } LIMIT 1",
    ]));
    assert!(
        json.starts_with(r#"{"head":{"vars":["s","p","o"]}"#),
        "{json}"
    );
    let out = run(kgrec(&data).args(["sparql", "DESCRIBE <http://example.org/nothing>"]));
    assert!(out.status.success() && stdout(&out).is_empty());
    assert!(
        stderr(&out).contains("no triple matched"),
        "{}",
        stderr(&out)
    );

    // A date column is named as itself; quantities read as timestamps are doubted.
    let dated = tmp.path().join("dated.csv");
    std::fs::write(
        &dated,
        "customer,product,qty,date\na,b,1,2024-01-01\na,c,2,03/01/2024\n",
    )
    .unwrap();
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&dated));
    expect_bad_input(
        &out,
        &dated,
        &[":3:4: `date` (read as the timestamp) is not a number nor an ISO 8601 date"],
    );
    let qty = tmp.path().join("qty.csv");
    std::fs::write(&qty, "customer,product,qty\na,b,1\na,c,3\n").unwrap();
    let out = run(kgrec(&data)
        .args(["import", "interactions", "--time-col", "qty"])
        .arg(&qty));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("every timestamp is below 100000000"),
        "{}",
        stderr(&out)
    );

    // A failed first import into new/sub/data leaves no `new` behind; the parser's message
    // says its location once.
    let bad = tmp.path().join("bad.nt");
    std::fs::write(&bad, "<a> <b> .\n").unwrap();
    let fresh = tmp.path().join("new").join("sub").join("data");
    let out = run(kgrec(&fresh).args(["import", "kg"]).arg(&bad));
    expect_bad_input(&out, &bad, &["bad.nt:1:1: "]);
    assert!(!stderr(&out).contains("Parser error"), "{}", stderr(&out));
    assert!(!tmp.path().join("new").exists());

    // An item that joined after training: no score, said so (it printed "-." and 0.0000), and
    // the note names links as well as interactions.
    let late = tmp.path().join("late.tsv");
    std::fs::write(
        &late,
        "item_id\tiri\n9010\thttp://dbpedia.org/resource/Toy_Story\n",
    )
    .unwrap();
    ok(kgrec(&data).args(["import", "links", "-q"]).arg(&late));
    let out = run(kgrec(&data).args(["explain", "--user", "1", "--item", "9010"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("no score: the item joined the store after model v")
            && !stdout(&out).contains("-."),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("interactions or links changed after model"),
        "{}",
        stderr(&out)
    );
    let json = ok(kgrec(&data).args([
        "explain", "--user", "1", "--item", "9010", "--format", "json",
    ]));
    assert!(json.contains("\"not_in_model\": true"), "{json}");
}

/// cke without a graph says which half is missing: links were imported, the graph was not (it
/// said "import a graph ... and links", naming links that were there).
#[test]
fn cke_without_a_graph_says_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(kgrec(&data)
        .args(["import", "interactions", "-q"])
        .arg(fixture("interactions.tsv"))
        .arg("--link")
        .arg(fixture("links.tsv")));
    let out = run(kgrec(&data).args(["train", "--model", "cke"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "items are linked, but the knowledge graph has no edges (import it with `import kg \
             FILE`); cke trains as plain ALS"
        ),
        "{}",
        stderr(&out)
    );
}

/// `-q` keeps results only: `kge train` without `--eval-test` prints nothing, with it only the
/// test figures.
#[test]
fn quiet_kge_train_prints_its_results_only() {
    let tmp = tempfile::tempdir().unwrap();
    let dataset = tmp.path().join("kg");
    std::fs::create_dir(&dataset).unwrap();
    let mut triples = String::new();
    for i in 0..20 {
        triples.push_str(&format!("e{i}\tr\te{}\n", (i + 1) % 20));
    }
    for split in ["train.txt", "valid.txt", "test.txt"] {
        std::fs::write(dataset.join(split), &triples).unwrap();
    }
    let kge = |extra: &[&str]| {
        ok(kgrec(&tmp.path().join("unused"))
            .args([
                "-q",
                "kge",
                "train",
                "--epochs",
                "2",
                "--dim",
                "8",
                "--dataset",
            ])
            .arg(&dataset)
            .args(extra))
    };
    let out = kge(&["--out", tmp.path().join("emb").to_str().unwrap()]);
    assert_eq!(out, "");
    let out = kge(&["--eval-test"]);
    assert!(out.starts_with("side ") && out.contains("both"), "{out}");
    assert!(!out.contains("trained"), "{out}");
}

/// Found by a fresh look at the first afternoon: `--out /dev/stdout` after `>>` keeps what the
/// file held; `export embeddings --out` into the data directory is refused; `--model-version`
/// takes `v1` as `stats` prints it; `similar` of an `ease` model says an item without
/// interactions has no similar items rather than listing zeros.
#[test]
fn fresh_look_outputs_versions_and_similar() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    ok(kgrec(&data).args(["train", "--quiet"]));
    let log = tmp.path().join("log.txt");
    std::fs::write(&log, "earlier line\n").unwrap();
    let script = format!(
        "{} --data {} recommend --all-users -k 1 --out /dev/stdout >> {}",
        binary().display(),
        data.display(),
        log.display()
    );
    let out = run(Command::new("sh").args(["-c", &script]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.starts_with("earlier line\nuser_id\titem_id"), "{text}");

    let export = run(kgrec(&data)
        .args(["export", "embeddings", "--out"])
        .arg(&data));
    assert_eq!(export.status.code(), Some(2), "{}", stderr(&export));
    assert!(
        stderr(&export).contains("data directory"),
        "{}",
        stderr(&export)
    );

    let v1 = ok(kgrec(&data).args(["recommend", "--user", "1", "--model-version", "v1"]));
    assert!(v1.contains("model v1"), "{v1}");

    let links = tmp.path().join("lonely.tsv");
    std::fs::write(&links, "item_id\tiri\nlonely\thttp://example.org/nowhere\n").unwrap();
    run(kgrec(&data).args(["import", "links"]).arg(&links));
    ok(kgrec(&data).args(["train", "--model", "ease", "--quiet"]));
    let similar = run(kgrec(&data).args(["similar", "--item", "lonely"]));
    assert_eq!(similar.status.code(), Some(2), "{}", stdout(&similar));
    assert!(
        stderr(&similar).contains("learnt nothing about it"),
        "{}",
        stderr(&similar)
    );
}

/// An empty list says why, and a popularity list says how its ties were ranked.
#[test]
fn empty_lists_and_popularity_ties_are_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = tmp.path().join("s.tsv");
    std::fs::write(
        &file,
        "user_id\titem_id\na\t1\na\t2\nb\t2\nb\t3\nc\t1\nc\t3\nd\t1\nd\t2\nd\t3\n",
    )
    .unwrap();
    ok(kgrec(&data).args(["import", "interactions"]).arg(&file));
    ok(kgrec(&data).args(["train", "--model", "als"]));
    let out = run(kgrec(&data).args(["recommend", "--user", "d"]));
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("nothing to recommend to d: they already have every item"),
        "{}",
        stderr(&out)
    );
    let out = run(kgrec(&data).args(["recommend", "--user", "a"]));
    assert!(
        !stderr(&out).contains("nothing to recommend"),
        "{}",
        stderr(&out)
    );
    // A list shorter than -k says why (a has 2 of the 3 items: 1 left of the 10 asked).
    assert!(
        stderr(&out).contains(
            "1 item of the 10 asked: every other item model v1 als can rank is in a's history"
        ),
        "{}",
        stderr(&out)
    );
    let out = run(kgrec(&data).args(["recommend", "--user", "a", "-k", "1"]));
    assert!(!stderr(&out).contains("asked"), "{}", stderr(&out));
    let out = run(kgrec(&data).args(["recommend", "--user", "nobody"]));
    assert!(
        stderr(&out).contains("2 item(s) of this list tie with the one above"),
        "{}",
        stderr(&out)
    );
}

/// The third fresh-eyes pass: messages that now say what happened.
#[test]
fn third_pass_messages_say_what_happened() {
    let tmp = tempfile::tempdir().unwrap();
    let file = |name: &str, bytes: &[u8]| {
        let path = tmp.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let data = tmp.path().join("data");
    // Latin-1 in a CSV: the line and field, and how to convert, not a debug dump.
    let latin = file("latin1.csv", b"user_id,item_id\nJos\xe9,R1\n");
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&latin));
    expect_bad_input(
        &out,
        &latin,
        &["latin1.csv:2", "field 1: not valid UTF-8", "iconv"],
    );
    assert!(!stderr(&out).contains("Utf8Error"), "{}", stderr(&out));
    // Ratings from 1 to 5 all count as liked, and milliseconds are named (and converted).
    let rated = file(
        "rated.csv",
        b"user_id,item_id,rating,timestamp\nu1,a,1,1704067200000\nu1,b,5,1704067300000\n\
          u2,a,4,1704067400000\nu2,c,2,1704067500000\n",
    );
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&rated));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("ratings from 1 to 5"), "{err}");
    assert!(err.contains("the timestamps are milliseconds"), "{err}");
    assert!(
        err.contains("4 converted to the seconds kgrec stores"),
        "{err}"
    );
    // A graph in .txt is said to be read as TSV; N-Triples in it gets the way out.
    let tsv = file("facts.txt", b"a\tp\tb\n");
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&tsv));
    assert!(
        stderr(&out).contains("read as TSV triples"),
        "{}",
        stderr(&out)
    );
    let nt = file("facts2.txt", b"<http://e/a> <http://e/p> <http://e/b> .\n");
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&nt));
    expect_bad_input(&out, &nt, &["looks like N-Triples", "--format nt"]);
    // One bad N-Triples line is one skipped statement, however often the parser stops on it.
    let bad = file(
        "bad.nt",
        b"<http://e/a> <http://e/p> <http://e/b> .\n<http://e/a> <http://e/p> http://e/c .\n",
    );
    let out = run(kgrec(&data).args(["import", "kg", "--lenient"]).arg(&bad));
    assert!(
        stderr(&out).contains("skipped 1 bad statement"),
        "{}",
        stderr(&out)
    );
    // A file's name where the query goes.
    let query = file("q.rq", b"ASK { ?s ?p ?o }");
    let out = run(kgrec(&data).arg("sparql").arg(&query));
    expect_bad_input(&out, &query, &["is a file name", "--file"]);
    // JSON given as a graph, and a link file without its header line.
    let json = file("facts.txt", b"{\"h\": \"a\"}\n");
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&json));
    expect_bad_input(&out, &json, &["JSON-LD (or JSON) is not read", "N-Triples"]);
    let links = file("links.tsv", b"A3\thttp://e/a\n");
    let out = run(kgrec(&data).args(["import", "links"]).arg(&links));
    expect_bad_input(
        &out,
        &links,
        &["looks like data, not a header", "item_id<TAB>iri"],
    );
    // A dangling symbolic link as --out: its missing folder is named, exit 2.
    let dangling = tmp.path().join("dangling.tsv");
    std::os::unix::fs::symlink(tmp.path().join("nowhere/recs.tsv"), &dangling).unwrap();
    ok(kgrec(&data).args(["train", "--model", "pop"]));
    let out = run(kgrec(&data)
        .args(["recommend", "--all-users", "--out"])
        .arg(&dangling));
    expect_bad_input(&out, &dangling, &["leads to", "does not exist"]);
}

/// A user whose remaining items share nothing with theirs gets near-zero scores from a model
/// that did not collapse: the note says that, not that the model collapsed.
#[test]
fn a_list_of_unrelated_items_is_not_called_a_collapse() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = tmp.path().join("two.tsv");
    let mut rows = String::from("user_id\titem_id\n");
    for group in ["a", "b"] {
        for u in 0..6 {
            for i in 0..5 {
                if (u + i) % 3 != 0 {
                    rows.push_str(&format!("{group}{u}\t{group}-item{i}\n"));
                }
            }
        }
    }
    for i in 0..5 {
        rows.push_str(&format!("full\ta-item{i}\n"));
    }
    std::fs::write(&file, rows).unwrap();
    ok(kgrec(&data).args(["import", "interactions"]).arg(&file));
    ok(kgrec(&data).args(["train", "--model", "als", "--reg", "0.5", "--quiet"]));
    let out = run(kgrec(&data).args(["recommend", "--user", "full", "-k", "3"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(!err.contains("collapsed"), "{err}");
    assert!(
        err.contains("the items left for full share nothing under model v1 als"),
        "{err}"
    );
}

/// `eval` reads files with their own column names as `import interactions` does, and its
/// messages name its own flags (`--input-format`, not `--format`).
#[test]
fn eval_maps_columns_and_names_its_own_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let mut train = String::from("client;article;score\n");
    let mut test = train.clone();
    for u in 0..6 {
        for i in 0..6 {
            let row = format!("c{u};a{i};{}\n", 1 + (u + i) % 5);
            if (u + i) % 4 == 0 {
                test.push_str(&row);
            } else {
                train.push_str(&row);
            }
        }
    }
    let (tr, te) = (tmp.path().join("train.csv"), tmp.path().join("test.csv"));
    std::fs::write(&tr, &train).unwrap();
    std::fs::write(&te, &test).unwrap();
    let out = run(std::process::Command::new(binary())
        .args(["eval", "--model", "pop", "--format", "json", "--train"])
        .arg(&tr)
        .arg("--test")
        .arg(&te)
        .args([
            "--user-col",
            "client",
            "--item-col",
            "article",
            "--min-rating",
            "2",
        ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["users"].as_u64(), Some(6), "{report}");
    // Without the mapping: the accepted names, and eval's flag for the format.
    let out = run(std::process::Command::new(binary())
        .args(["eval", "--model", "pop", "--train"])
        .arg(&tr)
        .arg("--test")
        .arg(&te));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--user-col"), "{}", stderr(&out));
    let ambiguous = tmp.path().join("lists.txt");
    std::fs::write(&ambiguous, "1 2 5 881250949\n1 3 4 881250950\n").unwrap();
    let out = run(std::process::Command::new(binary())
        .args(["eval", "--model", "pop", "--train"])
        .arg(&ambiguous)
        .arg("--test")
        .arg(&ambiguous));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--input-format") && !stderr(&out).contains(" --format "),
        "{}",
        stderr(&out)
    );
}

/// `recommend --user nobody` gave the popularity list with no word on a likely typo, as
/// `predict` gives: both share the note now.
#[test]
fn recommend_for_a_user_the_data_directory_lacks_asks_about_a_typo() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(kgrec(&data)
        .args(["import", "interactions"])
        .arg(fixture("interactions.tsv")));
    ok(kgrec(&data).args(["train", "--model", "pop"]));
    let out = run(kgrec(&data).args(["recommend", "--user", "nobody"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("the data directory has no user \"nobody\" at all (a typo?)"),
        "{err}"
    );
    // A stored user gets no such note.
    let out = run(kgrec(&data).args(["recommend", "--user", "1"]));
    assert!(!stderr(&out).contains("a typo?"), "{}", stderr(&out));
}

/// The eleventh fresh look's messages: a rating too large for a float, a truncated gzip graph,
/// RDF/XML with an undeclared prefix located, a `.rdf` file read as Turtle by `--format`, a
/// SPARQL IRI written with the characters the graph stores percent-encoded, `eval`'s remedy in
/// its own flags, and `train --quiet` that does not become current.
#[test]
fn eleventh_look_messages_name_the_real_cause() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = dir.join("data");

    let huge = dir.join("huge.tsv");
    std::fs::write(&huge, "user_id\titem_id\trating\nu1\ti1\t3\nu2\ti2\t1e40\n").unwrap();
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&huge));
    expect_bad_input(&out, &data, &["huge.tsv:3:3", "is out of range", "1e40"]);

    // A gzip graph cut short.
    let nt = dir.join("g.nt");
    write_synthetic_ntriples(&nt, 2000);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &std::fs::read(&nt).unwrap()).unwrap();
    let mut bytes = gz.finish().unwrap();
    bytes.truncate(bytes.len() / 2);
    let cut = dir.join("cut.nt.gz");
    std::fs::write(&cut, bytes).unwrap();
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&cut));
    expect_bad_input(
        &out,
        &data,
        &["cut.nt.gz", "truncated or corrupt", "gzip -t"],
    );

    // RDF/XML with a prefix it never declares: located at its first use.
    let rdf = dir.join("books.rdf");
    std::fs::write(
        &rdf,
        "<?xml version=\"1.0\"?>\n<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n  \
         <rdf:Description rdf:about=\"http://x/b1\">\n    <dcx:title>Emma</dcx:title>\n  \
         </rdf:Description>\n</rdf:RDF>\n",
    )
    .unwrap();
    let out = run(kgrec(&data).args(["import", "kg"]).arg(&rdf));
    expect_bad_input(&out, &data, &["books.rdf:4:6", "dcx"]);
    // The same file, named .rdf, read as Turtle by --format: the name is not the problem.
    let out = run(kgrec(&data)
        .args(["import", "kg", "--format", "ttl"])
        .arg(&rdf));
    expect_bad_input(&out, &data, &["--format overrode it"]);
    assert!(
        !stderr(&out).contains("rename the file"),
        "{}",
        stderr(&out)
    );

    // A TSV graph mints IRIs percent-encoded; a query written with the characters is pointed
    // at the stored form.
    let tsv = dir.join("shop.tsv");
    std::fs::write(&tsv, "sku-ü\tmadeBy\tacme\n").unwrap();
    ok(kgrec(&data).args(["import", "kg"]).arg(&tsv));
    let out = run(kgrec(&data).args(["sparql", "SELECT ?o WHERE { <urn:kgrec:sku-ü> ?p ?o }"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("did you mean <urn:kgrec:sku-%C3%BC>"),
        "{}",
        stderr(&out)
    );

    // eval's remedy for a missing graph is its own --kg/--link.
    let (train, test) = rated_split(dir);
    let out = run(Command::new(binary())
        .args(["eval", "--model", "cke", "--epochs", "4", "--train"])
        .arg(&train)
        .arg("--test")
        .arg(&test));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("--kg FILE"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("import kg"), "{}", stderr(&out));
}

/// eval's messages are worded for eval from the start (the library is told who reads): they
/// name `--input-format`, `--kg` and `--link`, never `import kg`, `import links` nor
/// `--format`, for a reading error, the format flag of a header hint, and graph remedies.
#[test]
fn eval_messages_name_its_own_flags_and_no_import_command() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let eval = |train: &Path, test: &Path, model: &str| {
        let epochs: &[&str] = match model {
            "cke" => &["--epochs", "4"],
            _ => &[],
        };
        run(Command::new(binary())
            .args(["eval", "--model", model])
            .args(epochs)
            .arg("--train")
            .arg(train)
            .arg("--test")
            .arg(test))
    };
    let refuses_import_words = |err: &str| {
        for word in [
            "import kg",
            "import links",
            "import interactions",
            " --format",
        ] {
            assert!(!err.contains(word), "{word:?} in: {err}");
        }
    };
    // Lists of one token each: no interaction, "pass --input-format csv".
    let single = dir.join("single.txt");
    std::fs::write(&single, "u1\nu2\nu3\n").unwrap();
    let out = eval(&single, &single, "pop");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("pass --input-format csv"),
        "{}",
        stderr(&out)
    );
    refuses_import_words(&stderr(&out));
    // A .tsv whose first line is numbers: "... or --input-format movielens".
    let numbers = dir.join("numbers.tsv");
    std::fs::write(&numbers, "1\t2\t5\n1\t3\t4\n").unwrap();
    let out = eval(&numbers, &numbers, "pop");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("or --input-format movielens"),
        "{}",
        stderr(&out)
    );
    refuses_import_words(&stderr(&out));
    // No graph: kg-ease's and cke's notes say how eval takes one.
    let (train, test) = rated_split(dir);
    for model in ["kg-ease", "cke"] {
        let out = eval(&train, &test, model);
        assert!(out.status.success(), "{model}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("eval --kg FILE") && err.contains("eval --link LINK.tsv"),
            "{model}: {err}"
        );
        refuses_import_words(&err);
    }
    // The same notes from `train` name the data directory's commands.
    let data = dir.join("data");
    ok(kgrec(&data).args(["import", "interactions"]).arg(&train));
    let out = run(kgrec(&data).args(["train", "--model", "kg-ease"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "import a graph with `import kg` and links with `import interactions --link`"
        ),
        "{}",
        stderr(&out)
    );
}

/// A training and a test file of 12 users' ratings of 10 items (every fifth pair held out), in
/// `dir`.
fn rated_split(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (train, test) = (dir.join("train.tsv"), dir.join("test.tsv"));
    let mut rows = String::from("user_id\titem_id\trating\n");
    let mut held = rows.clone();
    for u in 0..12 {
        for i in 0..10 {
            let row = format!("u{u}\ti{i}\t{}\n", 1 + (u * 7 + i * 3) % 5);
            match (u + i) % 5 {
                0 => held.push_str(&row),
                _ => rows.push_str(&row),
            }
        }
    }
    std::fs::write(&train, rows).unwrap();
    std::fs::write(&test, held).unwrap();
    (train, test)
}
