//! The twenty-fourth fresh look: a training another one overtook is named with the commands
//! that read it, and `kgrec use` makes a stored recommender current (a rollback); an RDF data
//! file given to `sparql --file` is said to be data; a flag the tuned learner does not take
//! names the remedies; a suggested column name is quoted for the shell, and `--time-unit` on a
//! file without times says it did nothing; `eval` names its link file's columns.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::*;

/// The fixture graph, interactions and links, with two recommenders stored: v1 als, then v2
/// pop (current).
fn two_models(tmp: &Path) -> PathBuf {
    let data = crate::cf::imported(tmp);
    ok(kgrec(&data).args(["train", "-q", "--model", "als"]));
    ok(kgrec(&data).args(["train", "-q", "--model", "pop"]));
    data
}

/// The stored models as `stats --format json` lists them.
fn models(data: &Path) -> serde_json::Value {
    stats(data)["models"].clone()
}

/// The overtaken training's note names what reads its version (no `serve --model-version`,
/// which does not exist) and `kgrec use`, which then makes it current.
#[test]
fn an_overtaken_training_names_use_and_use_makes_it_current() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    let slow = kgrec(&data)
        .args(["train", "--model", "bpr", "--epochs", "20000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    ok(kgrec(&data).args(["--wait", "30", "train", "-q", "--model", "als"]));
    let out = slow.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let note = stderr(&out);
    assert!(note.contains("stays current"), "{note}");
    assert!(
        note.contains("--model-version 2 on recommend, explain, similar or predict")
            && note.contains("`kgrec use --model-version 2`")
            && !note.contains("serve it"),
        "{note}"
    );
    assert_eq!(
        models(&data),
        serde_json::json!(["v1 als (current)", "v2 bpr"])
    );
    // The command the note names works, and the readers then use v2 without a flag.
    let used = ok(kgrec(&data).args(["use", "--model-version", "2"]));
    assert!(
        used.contains("bpr v2 is now the current model (was als v1"),
        "{used}"
    );
    assert_eq!(
        models(&data),
        serde_json::json!(["v1 als", "v2 bpr (current)"])
    );
    let list = ok(kgrec(&data).args(["recommend", "--user", "1", "-k", "3"]));
    assert!(list.contains("model v2 bpr"), "{list}");
    // And back (a rollback).
    ok(kgrec(&data).args(["use", "--model-version", "1"]));
    let list = ok(kgrec(&data).args(["recommend", "--user", "1", "-k", "3"]));
    assert!(list.contains("model v1 als"), "{list}");
}

/// `use` refuses an unknown version and a graph embedding (exit 2), naming the stored
/// recommenders, and leaves the current model as it was.
#[test]
fn use_refuses_unknown_versions_and_graph_embeddings() {
    let tmp = tempfile::tempdir().unwrap();
    let data = two_models(tmp.path());
    ok(kgrec(&data).args(["train", "-q", "--model", "transe", "--epochs", "2"]));
    let before = models(&data);
    assert_eq!(
        before,
        serde_json::json!(["v1 als", "v2 pop (current)", "v3 transe"])
    );
    let out = run(kgrec(&data).args(["use", "--model-version", "9"]));
    expect_bad_input(
        &out,
        &data,
        &["--model-version 9: no such model version", "v1 als, v2 pop"],
    );
    let out = run(kgrec(&data).args(["use", "--model-version", "3"]));
    expect_bad_input(
        &out,
        &data,
        &[
            "v3 transe is a graph embedding, not a recommender",
            "the stored recommenders: v1 als, v2 pop",
        ],
    );
    assert_eq!(models(&data), before);
    // The current version again: said, nothing changed.
    let same = ok(kgrec(&data).args(["use", "--model-version", "2"]));
    assert!(same.contains("already the current model"), "{same}");
}

/// `use` writes the data directory: it waits for (or is refused by) the process holding it,
/// as every writer is, and changes nothing meanwhile.
#[test]
fn use_takes_the_writer_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let data = two_models(tmp.path());
    let server = Server::start(&data, &[]);
    let out = run(kgrec(&data).args(["use", "--model-version", "1"]));
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("is in use by process"),
        "{}",
        stderr(&out)
    );
    assert!(server.terminate(30).success());
    assert_eq!(
        models(&data),
        serde_json::json!(["v1 als", "v2 pop (current)"])
    );
    ok(kgrec(&data).args(["use", "--model-version", "1"]));
    assert_eq!(
        models(&data),
        serde_json::json!(["v1 als (current)", "v2 pop"])
    );
}

/// `sparql --file` given a Turtle or RDF/XML data file says it is data and names the import.
#[test]
fn sparql_file_of_rdf_data_is_said_to_be_data() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    let turtle = write_file(
        tmp.path(),
        "tiny.ttl",
        "@prefix ex: <http://x/> .\nex:a ex:b ex:c .\n",
    );
    let out = run(kgrec(&data).args(["sparql", "--file"]).arg(&turtle));
    expect_bad_input(
        &out,
        &turtle,
        &[
            "this looks like RDF data (Turtle), not a SPARQL query",
            "`kgrec import kg ",
        ],
    );
    assert!(
        !stderr(&out).contains("undeclared prefix"),
        "{}",
        stderr(&out)
    );
    let xml = write_file(
        tmp.path(),
        "tiny.rdf",
        "<?xml version=\"1.0\"?>\n<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n</rdf:RDF>\n",
    );
    let out = run(kgrec(&data).args(["sparql", "--file"]).arg(&xml));
    expect_bad_input(
        &out,
        &xml,
        &["looks like RDF data (RDF/XML)", "kgrec import kg"],
    );
    // A query in a file still runs.
    let query = write_file(tmp.path(), "q.rq", "ASK { ?s ?p ?o }\n");
    let answer = ok(kgrec(&data).args(["sparql", "--file"]).arg(&query));
    assert!(answer.contains("true"), "{answer}");
}

/// A flag the tuned learner does not take, without --model, names the tuning and the remedies.
#[test]
fn a_flag_foreign_to_the_tuned_learner_names_the_remedies() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    ok(kgrec(&data).args([
        "-q",
        "tune",
        "--models",
        "kg-ease",
        "--budget",
        "2s",
        "--no-train",
    ]));
    let out = run(kgrec(&data).args(["train", "--dim", "8"]));
    expect_bad_input(
        &out,
        &data,
        &[
            "--dim does not apply to kg-ease, the learner `kgrec tune` chose",
            "with --model M (cke, als,",
            "--untuned",
        ],
    );
    // Both remedies work.
    ok(kgrec(&data).args(["train", "-q", "--dim", "8", "--model", "als"]));
    ok(kgrec(&data).args(["train", "-q", "--dim", "8", "--untuned", "--epochs", "5"]));
}

/// A suggested column name with characters a shell reads is quoted, and the pasted flag
/// works; `--time-unit` on a file without times says it did nothing.
#[test]
fn suggested_column_names_paste_and_an_idle_time_unit_is_said() {
    let tmp = tempfile::tempdir().unwrap();
    let rows = write_file(
        tmp.path(),
        "bom.csv",
        "Kunde;Spiel;Bewertung (1-10)\nc0;g1;9\nc0;g2;7\nc1;g1;3\nc1;g3;8\n",
    );
    let data = tmp.path().join("data");
    let out = run(kgrec(&data)
        .args(["import", "interactions"])
        .arg(&rows)
        .args(["--user-col", "Kunde", "--item-col", "Spiel"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--rating-col 'Bewertung (1-10)'"),
        "{}",
        stderr(&out)
    );
    // The hint pasted into a shell.
    let pasted = std::process::Command::new("sh")
        .arg("-c")
        .arg(
            "\"$0\" --data \"$1\" import interactions \"$2\" --user-col Kunde --item-col Spiel \
             --rating-col 'Bewertung (1-10)'",
        )
        .arg(binary())
        .arg(tmp.path().join("rated"))
        .arg(&rows)
        .env_remove("KGREC_DATA")
        .output()
        .unwrap();
    assert!(pasted.status.success(), "{}", stderr(&pasted));
    assert!(
        !stderr(&pasted).contains("holds numbers only"),
        "{}",
        stderr(&pasted)
    );
    let out = run(kgrec(&tmp.path().join("units"))
        .args(["import", "interactions"])
        .arg(&rows)
        .args([
            "--user-col",
            "Kunde",
            "--item-col",
            "Spiel",
            "--time-unit",
            "ms",
        ]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no row has a timestamp, so --time-unit ms did nothing"),
        "{}",
        stderr(&out)
    );
}

/// `eval` names its link file's columns as `import interactions` does, and its note on a
/// learner that reads no graph names the learners that do.
#[test]
fn eval_names_link_columns() {
    let tmp = tempfile::tempdir().unwrap();
    let rows = std::fs::read_to_string(fixture("interactions.tsv")).unwrap();
    let mut lines = rows.lines();
    let header = lines.next().unwrap();
    let (mut train, mut test) = (format!("{header}\n"), format!("{header}\n"));
    for (n, line) in lines.enumerate() {
        match n % 5 {
            0 => test.push_str(&format!("{line}\n")),
            _ => train.push_str(&format!("{line}\n")),
        }
    }
    let train = write_file(tmp.path(), "train.tsv", train);
    let test = write_file(tmp.path(), "test.tsv", test);
    let links = std::fs::read_to_string(fixture("links.tsv")).unwrap();
    let links = write_file(
        tmp.path(),
        "links.tsv",
        links.replacen("item_id\tiri", "Artikel-ID\tKG_Eintrag", 1),
    );
    let eval = |extra: &[&str]| {
        let mut cmd = std::process::Command::new(binary());
        cmd.env_remove("KGREC_DATA")
            .args(["eval", "--train"])
            .arg(&train)
            .arg("--test")
            .arg(&test)
            .arg("--kg")
            .arg(fixture("movies.ttl"))
            .arg("--link")
            .arg(&links)
            .args(extra);
        run(&mut cmd)
    };
    let out = eval(&["--model", "kg-ease"]);
    expect_bad_input(&out, &links, &["--link-iri-col"]);
    let out = eval(&[
        "--model",
        "kg-ease",
        "--link-item-col",
        "Artikel-ID",
        "--link-iri-col",
        "KG_Eintrag",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("ndcg"), "{}", stdout(&out));
    let out = eval(&[
        "--model",
        "pop",
        "--link-item-col",
        "1",
        "--link-iri-col",
        "2",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the graph-aware learners (cke, kg-ease,")
            && !stderr(&out).contains("give cke its"),
        "{}",
        stderr(&out)
    );
}
