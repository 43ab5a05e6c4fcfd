//! Knowledge-graph embeddings through the binary: `kge train` / `kge eval` on benchmark folders
//! (a hand-made one, and UMLS from `../shared/datasets` when present), `train --model transe` on
//! the fixture graph with `export embeddings`, and the bad inputs of each.

use crate::common::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// 24 people in 4 groups: `has_member` (group → person) and `member_of` (person → group).
/// Valid and test hold out `member_of` triples whose `has_member` twin stays in train, so they
/// are learnable, and random ranking among the 28 entities would score far lower.
pub(crate) fn groups_dataset(dir: &Path) -> PathBuf {
    let root = dir.join("groups");
    std::fs::create_dir_all(&root).unwrap();
    let (mut train, mut valid, mut test) = (String::new(), String::new(), String::new());
    for j in 0..24 {
        let member = format!("p{j}\tmember_of\tg{}\n", j % 4);
        match j % 6 {
            1 => valid.push_str(&member),
            4 => test.push_str(&member),
            _ => train.push_str(&member),
        }
        let _ = writeln!(train, "g{}\thas_member\tp{j}", j % 4);
    }
    std::fs::write(root.join("train.txt"), train).unwrap();
    std::fs::write(root.join("valid.txt"), valid).unwrap();
    std::fs::write(root.join("test.txt"), test).unwrap();
    root
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn kge(tmp: &Path) -> std::process::Command {
    // No --data: kge holds no data directory (and says so when given one).
    let mut cmd = std::process::Command::new(binary());
    cmd.env_remove("KGREC_DATA").current_dir(tmp).arg("kge");
    cmd
}

/// Rows of an export table: (token, values).
fn table(path: &Path) -> Vec<(String, Vec<f64>)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let mut fields = l.split('\t');
            let token = fields.next().unwrap().to_owned();
            let values = fields
                .map(|v| v.parse::<f64>().unwrap_or_else(|e| panic!("{e}: {v:?}")))
                .collect();
            (token, values)
        })
        .collect()
}

#[test]
fn kge_train_then_eval_on_a_tiny_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = groups_dataset(tmp.path());
    let out = tmp.path().join("transe");
    let run = run(kge(tmp.path())
        .args([
            "train", "--model", "transe", "--dim", "16", "--epochs", "30",
        ])
        .args(["--batch-size", "8"])
        .args(["--eval-test", "--format", "json", "--dataset"])
        .arg(&ds)
        .arg("--out")
        .arg(&out));
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(
        stderr(&run),
        "",
        "no progress bar when stdout is not a terminal"
    );
    let trained = json(&stdout(&run));
    assert_eq!(trained["model"], "transe");
    assert_eq!(trained["num_entities"], 28);
    assert_eq!(trained["num_train"], 24 + 16);
    assert!(trained["best_valid_mrr"].as_f64().unwrap() > 0.0);
    let test_mrr = trained["test"]["both"]["mrr"].as_f64().unwrap();
    // Random ranking among 28 entities gives a filtered MRR below 0.2.
    assert!(test_mrr > 0.5, "test MRR {test_mrr}");

    let meta = json(&std::fs::read_to_string(out.join("meta.json")).unwrap());
    assert_eq!(
        meta,
        serde_json::json!({"model": "transe", "dim": 16, "norm": 1})
    );
    let entities = table(&out.join("entities.tsv"));
    assert_eq!(entities.len(), 28);
    assert_eq!(
        (entities[0].0.as_str(), entities[1].0.as_str()),
        ("p0", "g0")
    );
    assert!(entities.iter().all(|(_, v)| v.len() == 16));
    let relations = table(&out.join("relations.tsv"));
    let names: Vec<&str> = relations.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(names, ["member_of", "has_member"]);

    // `kge eval` on the export reproduces the in-memory test figures exactly.
    let eval = json(&ok(kge(tmp.path())
        .args(["eval", "--format", "json", "--dataset"])
        .arg(&ds)
        .arg("--model-dir")
        .arg(&out)));
    assert_eq!(eval["mrr"].as_f64().unwrap(), test_mrr);
    assert_eq!(eval["both"], trained["test"]["both"]);
    assert_eq!(eval["head"]["count"], 4);
    // One spelling of the keys, pooled and per side (the sides said `hits_at_10`).
    for side in [
        &eval,
        &eval["head"],
        &eval["both"],
        &trained["test"]["both"],
    ] {
        assert!(
            side["hits@10"].is_number() && side.get("hits_at_10").is_none(),
            "{side}"
        );
    }
    let text = ok(kge(tmp.path())
        .args(["eval", "--dataset"])
        .arg(&ds)
        .arg("--model-dir")
        .arg(&out));
    for needle in [
        "MRR",
        "Hits@1",
        "Hits@3",
        "Hits@10",
        "mean rank",
        "head",
        "tail",
        "both",
    ] {
        assert!(text.contains(needle), "{needle:?} in {text}");
    }
    assert!(text.contains(&format!("{test_mrr:.4}")), "{text}");
}

#[test]
fn kge_train_same_seed_same_export_for_any_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = groups_dataset(tmp.path());
    let mut files = Vec::new();
    for threads in ["1", "2"] {
        let out = tmp.path().join(format!("t{threads}"));
        ok(kge(tmp.path())
            .args(["train", "--dim", "8", "--epochs", "5", "--seed", "7"])
            .args(["--threads", threads, "--dataset"])
            .arg(&ds)
            .arg("--out")
            .arg(&out));
        files.push(std::fs::read_to_string(out.join("entities.tsv")).unwrap());
    }
    assert_eq!(files[0], files[1]);
    let other = tmp.path().join("seed8");
    ok(kge(tmp.path())
        .args([
            "train",
            "--dim",
            "8",
            "--epochs",
            "5",
            "--seed",
            "8",
            "--dataset",
        ])
        .arg(&ds)
        .arg("--out")
        .arg(&other));
    assert_ne!(
        files[0],
        std::fs::read_to_string(other.join("entities.tsv")).unwrap()
    );
}

#[test]
fn kge_train_sampling_and_decay_flags_take_effect() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = groups_dataset(tmp.path());
    let train = |name: &str, extra: &[&str]| {
        let out = tmp.path().join(name);
        let json_out = ok(kge(tmp.path())
            .args(["train", "--dim", "8", "--epochs", "40", "--seed", "3"])
            .args([
                "--validate-every",
                "2",
                "--patience",
                "1",
                "--format",
                "json",
            ])
            .args(extra)
            .arg("--dataset")
            .arg(&ds)
            .arg("--out")
            .arg(&out));
        let entities = std::fs::read_to_string(out.join("entities.tsv")).unwrap();
        (json(&json_out), entities)
    };
    let (plain, plain_rows) = train("default", &[]);
    let (independent, independent_rows) = train(
        "independent",
        &["--chunk-size", "1", "--corrupt", "uniform"],
    );
    let (_, again_rows) = train("again", &["--chunk-size", "1", "--corrupt", "uniform"]);
    assert_ne!(plain_rows, independent_rows);
    assert_eq!(independent_rows, again_rows);
    assert!(independent["best_valid_mrr"].as_f64().unwrap() > 0.0);
    // Patience 1: the plain run stops at its first validation without improvement; with decays
    // it goes on at a tenth (then a hundredth) of the step instead.
    let (decayed, _) = train("decayed", &["--lr-decays", "2"]);
    let epochs = |v: &serde_json::Value| v["epochs"].as_array().unwrap().len();
    assert!(epochs(&plain) < 40, "{plain}");
    assert!(epochs(&decayed) > epochs(&plain), "{decayed}");

    let bad = run(kge(tmp.path())
        .args(["train", "--chunk-size", "0", "--dataset"])
        .arg(&ds));
    expect_bad_input(&bad, &ds, &["chunk_size"]);
}

#[test]
fn kge_rotate_and_transr_exports_have_their_row_layouts() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = groups_dataset(tmp.path());
    for (model, extra, ent_width, rel_width) in [
        ("rotate", vec![], 2 * 6, 6),
        ("transr", vec!["--rel-dim", "4"], 6, 4 + 4 * 6),
    ] {
        let out = tmp.path().join(model);
        ok(kge(tmp.path())
            .args(["train", "--model", model, "--dim", "6", "--epochs", "3"])
            .args(extra)
            .arg("--dataset")
            .arg(&ds)
            .arg("--out")
            .arg(&out));
        let meta = json(&std::fs::read_to_string(out.join("meta.json")).unwrap());
        assert_eq!(meta["model"], model);
        assert_eq!(meta["dim"], 6);
        assert!(
            table(&out.join("entities.tsv"))
                .iter()
                .all(|(_, v)| v.len() == ent_width)
        );
        assert!(
            table(&out.join("relations.tsv"))
                .iter()
                .all(|(_, v)| v.len() == rel_width)
        );
        let eval = json(&ok(kge(tmp.path())
            .args(["eval", "--format", "json", "--dataset"])
            .arg(&ds)
            .arg("--model-dir")
            .arg(&out)));
        assert_eq!(eval["model"], model);
        assert_eq!(eval["both"]["count"], 8);
    }
}

/// UMLS (135 entities) with the tuned defaults, cut to 30 epochs for the debug build.
#[test]
fn kge_transe_on_umls_is_far_above_random() {
    let Some(ds) = shared_dataset("kge/umls") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("umls");
    ok(kge(tmp.path())
        .args(["train", "--model", "transe", "--epochs", "30", "--dataset"])
        .arg(&ds)
        .arg("--out")
        .arg(&out));
    let eval = json(&ok(kge(tmp.path())
        .args(["eval", "--format", "json", "--dataset"])
        .arg(&ds)
        .arg("--model-dir")
        .arg(&out)));
    let mrr = eval["mrr"].as_f64().unwrap();
    // Random ranking gives a filtered MRR of about 0.04 on UMLS.
    assert!(mrr > 0.5, "UMLS test MRR {mrr}");
    assert!(eval["hits@10"].as_f64().unwrap() > 0.8, "{eval}");
    assert_eq!(eval["head"]["count"], 661);
}

#[test]
fn train_transe_on_the_fixture_graph_then_export_embeddings() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    let text =
        ok(kgrec(&data).args(["train", "--model", "transe", "--dim", "8", "--epochs", "20"]));
    assert!(
        text.contains("trained transe v1 on the knowledge graph"),
        "{text}"
    );
    // A graph embedding never becomes the current (served) model.
    assert_eq!(stats(&data)["models"], serde_json::json!(["v1 transe"]));

    // A graph embedding cannot recommend: a clear refusal, not a panic.
    let refused = run(kgrec(&data).args(["recommend", "--user", "1"]));
    expect_bad_input(
        &refused,
        &data,
        &[
            "no recommender trained yet: the stored versions are graph embeddings (v1 transe); \
             train a recommender (cke, als, bpr, pop, ease, kg-ease, itemknn, \
             userknn, svd, svdpp, tfidf, ncf) first",
        ],
    );
    let refused = run(kgrec(&data).args(["recommend", "--user", "1", "--model-version", "1"]));
    expect_bad_input(
        &refused,
        &data,
        &["model v1 transe is a graph embedding, not a recommender: name a recommender's version"],
    );

    let out = tmp.path().join("emb");
    ok(kgrec(&data)
        .args(["export", "embeddings", "--out"])
        .arg(&out));
    let meta = json(&std::fs::read_to_string(out.join("meta.json")).unwrap());
    assert_eq!(
        meta,
        serde_json::json!({"model": "transe", "dim": 8, "norm": 1})
    );
    let entities = table(&out.join("entities.tsv"));
    let counts = stats(&data);
    assert_eq!(entities.len() as u64, counts["entities"].as_u64().unwrap());
    assert!(
        entities
            .iter()
            .all(|(iri, v)| iri.starts_with("http") && v.len() == 8)
    );
    assert!(
        entities
            .iter()
            .all(|(_, v)| v.iter().all(|x| x.is_finite()))
    );
    assert!(
        entities
            .iter()
            .any(|(iri, _)| iri == "http://dbpedia.org/resource/20th_Century_Fox"),
        "the graph's IRIs, not ids"
    );
    let relations = table(&out.join("relations.tsv"));
    assert_eq!(
        relations.len() as u64,
        counts["relations"].as_u64().unwrap()
    );
    assert!(
        relations
            .iter()
            .any(|(iri, _)| iri == "http://dbpedia.org/ontology/director")
    );

    // The fused model's embeddings export too (its TransE half uses L2), and an older version
    // stays exportable by number.
    ok(kgrec(&data).args(["train", "--model", "cke"]));
    let cke = tmp.path().join("cke");
    ok(kgrec(&data)
        .args(["export", "embeddings", "--out"])
        .arg(&cke));
    let meta = json(&std::fs::read_to_string(cke.join("meta.json")).unwrap());
    assert_eq!(
        (&meta["model"], &meta["norm"]),
        (&"transe".into(), &2.into())
    );
    assert_eq!(table(&cke.join("entities.tsv"))[0].0, entities[0].0);
    let again = tmp.path().join("v1");
    ok(kgrec(&data)
        .args(["export", "embeddings", "--version", "1", "--out"])
        .arg(&again));
    assert_eq!(
        std::fs::read(again.join("entities.tsv")).unwrap(),
        std::fs::read(out.join("entities.tsv")).unwrap()
    );
    ok(kgrec(&data).args(["recommend", "--user", "1"]));
}

#[test]
fn kge_bad_inputs_exit_2_with_a_located_message() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = groups_dataset(tmp.path());
    let missing = tmp.path().join("no-such-dir");
    let out = run(kge(tmp.path()).args(["train", "--dataset"]).arg(&missing));
    expect_bad_input(&out, &missing, &["no such directory"]);

    let broken = tmp.path().join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::copy(ds.join("train.txt"), broken.join("train.txt")).unwrap();
    std::fs::write(
        broken.join("valid.txt"),
        "p1\tmember_of\tg1\np7\tmember_of\n",
    )
    .unwrap();
    std::fs::write(broken.join("test.txt"), "").unwrap();
    let out = run(kge(tmp.path()).args(["train", "--dataset"]).arg(&broken));
    expect_bad_input(&out, &broken, &["valid.txt:2:", "3 tab-separated fields"]);

    let no_test = tmp.path().join("no-test");
    std::fs::create_dir_all(&no_test).unwrap();
    std::fs::copy(ds.join("train.txt"), no_test.join("train.txt")).unwrap();
    std::fs::copy(ds.join("valid.txt"), no_test.join("valid.txt")).unwrap();
    let out = run(kge(tmp.path()).args(["train", "--dataset"]).arg(&no_test));
    expect_bad_input(&out, &no_test, &["test.txt"]);

    for (flags, needle) in [
        (vec!["--norm", "3"], "--norm 3"),
        (
            vec!["--rel-dim", "4"],
            "--rel-dim does not apply to --model transe",
        ),
        (vec!["--dim", "0"], "dim must be from 1 to 4096"),
        (vec!["--lr=-1"], "learning rate"),
    ] {
        let out = run(kge(tmp.path())
            .args(["train", "--dataset"])
            .arg(&ds)
            .args(&flags));
        expect_bad_input(&out, &ds, &[needle]);
    }

    // A model directory that is not an export, and one with a malformed row.
    let out = run(kge(tmp.path())
        .args(["eval", "--dataset"])
        .arg(&ds)
        .arg("--model-dir")
        .arg(tmp.path()));
    expect_bad_input(&out, tmp.path(), &["not an embedding export"]);
    let export = tmp.path().join("export");
    ok(kge(tmp.path())
        .args(["train", "--dim", "4", "--epochs", "1", "--dataset"])
        .arg(&ds)
        .arg("--out")
        .arg(&export));
    let entities = export.join("entities.tsv");
    let mut text = std::fs::read_to_string(&entities).unwrap();
    text = text.replacen("\n", "\textra\n", 2);
    std::fs::write(&entities, text).unwrap();
    let out = run(kge(tmp.path())
        .args(["eval", "--dataset"])
        .arg(&ds)
        .arg("--model-dir")
        .arg(&export));
    expect_bad_input(&out, &entities, &["entities.tsv:1:"]);
    std::fs::write(
        export.join("meta.json"),
        r#"{"model": "distmult", "dim": 4}"#,
    )
    .unwrap();
    let out = run(kge(tmp.path())
        .args(["eval", "--dataset"])
        .arg(&ds)
        .arg("--model-dir")
        .arg(&export));
    expect_bad_input(&out, &export, &["meta.json", "unsupported"]);
}

/// Training graph embeddings between two `recommend`s changes nothing the user is served, even
/// with `--keep 1`: embeddings are kept and pruned beside the recommenders.
#[test]
fn a_graph_embedding_training_does_not_take_the_recommender_away() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "als"]));
    let before = ok(kgrec(&data).args(["recommend", "--user", "1", "--format", "json"]));
    for _ in 0..2 {
        ok(kgrec(&data).args([
            "train", "--model", "transe", "--dim", "4", "--epochs", "2", "--keep", "1",
        ]));
    }
    let after = ok(kgrec(&data).args(["recommend", "--user", "1", "--format", "json"]));
    assert_eq!(before, after);
    assert_eq!(
        stats(&data)["models"],
        serde_json::json!(["v1 als (current)", "v3 transe"])
    );
    // The embeddings export without naming the version; an older recommender is served on
    // request.
    let out = tmp.path().join("emb");
    let text = ok(kgrec(&data)
        .args(["export", "embeddings", "--out"])
        .arg(&out));
    assert!(text.contains("model v3 transe"), "{text}");
    ok(kgrec(&data).args(["train", "--model", "pop"]));
    let old = ok(kgrec(&data).args([
        "recommend",
        "--user",
        "1",
        "--format",
        "json",
        "--model-version",
        "1",
    ]));
    assert_eq!(old, before);
    // `similar` serves a chosen version too: the als vectors, not the current popularity model
    // (which has none).
    let refused = run(kgrec(&data).args(["similar", "--item", "172"]));
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    let like = ok(kgrec(&data).args(["similar", "--item", "172", "--model-version", "1"]));
    assert!(like.contains("items like 172 (model v1 als)"), "{like}");
}

#[test]
fn graph_embedding_commands_refuse_what_they_cannot_do() {
    let tmp = tempfile::tempdir().unwrap();
    // Interactions only: no graph to embed.
    let data = tmp.path().join("data");
    ok(kgrec(&data)
        .args(["import", "interactions"])
        .arg(fixture("interactions.tsv")));
    let out = run(kgrec(&data).args(["train", "--model", "transe"]));
    expect_bad_input(&out, &data, &["no entity-to-entity triples"]);
    let out = run(kgrec(&data).args(["train", "--model", "rotate", "--reg", "1"]));
    expect_bad_input(&out, &data, &["--reg does not apply to --model rotate"]);
    // `kge train` uses no data directory, and does not write into the one named either.
    let ds = groups_dataset(tmp.path());
    let out = run(kgrec(&data)
        .args(["kge", "train", "--epochs", "1", "--dataset"])
        .arg(&ds)
        .arg("--out")
        .arg(data.join("kg")));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("inside the data directory"),
        "{}",
        stderr(&out)
    );

    // No model yet, then a model without graph embeddings, then a version that does not exist.
    let emb = tmp.path().join("emb");
    let out = run(kgrec(&data)
        .args(["export", "embeddings", "--out"])
        .arg(&emb));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    ok(kgrec(&data).args(["train", "--model", "pop"]));
    let out = run(kgrec(&data)
        .args(["export", "embeddings", "--out"])
        .arg(&emb));
    expect_bad_input(&out, &data, &["model v1 pop has no graph embeddings"]);
    let out = run(kgrec(&data)
        .args(["export", "embeddings", "--version", "9", "--out"])
        .arg(&emb));
    expect_bad_input(
        &out,
        &data,
        &["--version 9: no such model version (stored: v1)"],
    );
    assert!(!emb.exists(), "nothing written on refusal");

    // `eval` needs a recommender.
    let out = run(kgrec(&data)
        .args(["eval", "--model", "transe", "--train"])
        .arg(fixture("interactions.tsv"))
        .arg("--test")
        .arg(fixture("interactions.tsv")));
    expect_bad_input(&out, &data, &["graph embedding, not a recommender"]);
}

/// An export folder's files are the export's own: a link among them is refused (never written
/// through into the file it points at), a file no earlier export's meta.json vouches for is
/// refused unless --force, and an earlier export is replaced with a note. `kge train --out`
/// checks the folder before it trains.
#[test]
fn an_export_never_writes_through_links_or_over_someone_elses_files() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "transe", "--dim", "4", "--epochs", "2"]));
    let victim = tmp.path().join("victim.csv");
    std::fs::write(&victim, "customer,isbn\n1,978\n").unwrap();
    let linked = tmp.path().join("linked");
    std::fs::create_dir(&linked).unwrap();
    std::os::unix::fs::symlink(&victim, linked.join("relations.tsv")).unwrap();
    let out = run(kgrec(&data)
        .args(["export", "embeddings", "--force", "--out"])
        .arg(&linked));
    expect_bad_input(&out, &linked.join("relations.tsv"), &["a symbolic link"]);
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "customer,isbn\n1,978\n"
    );
    assert!(!linked.join("entities.tsv").exists(), "nothing written");

    // Someone's own file: refused, then replaced with --force.
    let own = tmp.path().join("own");
    std::fs::create_dir(&own).unwrap();
    std::fs::write(own.join("entities.tsv"), "keep\n").unwrap();
    let out = run(kgrec(&data)
        .args(["export", "embeddings", "--out"])
        .arg(&own));
    expect_bad_input(&out, &own, &["entities.tsv", "--force"]);
    assert_eq!(
        std::fs::read_to_string(own.join("entities.tsv")).unwrap(),
        "keep\n"
    );
    let out = run(kgrec(&data)
        .args(["export", "embeddings", "--force", "--out"])
        .arg(&own));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("replaced entities.tsv"),
        "{}",
        stderr(&out)
    );
    // The summary names every file written, the TransE copies included.
    assert!(
        stdout(&out).contains("entity_embeddings.tsv, relation_embeddings.tsv"),
        "{}",
        stdout(&out)
    );
    // An earlier export: replaced without --force.
    let again = run(kgrec(&data)
        .args(["export", "embeddings", "--out"])
        .arg(&own));
    assert!(again.status.success(), "{}", stderr(&again));

    // kge train --out: the folder is checked before any training.
    let ds = groups_dataset(tmp.path());
    let out = run(kge(tmp.path())
        .args(["train", "--epochs", "1", "--dataset"])
        .arg(&ds)
        .arg("--out")
        .arg(&linked));
    expect_bad_input(&out, &linked.join("relations.tsv"), &["a symbolic link"]);
    assert!(!stdout(&out).contains("epoch"), "{}", stdout(&out));
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "customer,isbn\n1,978\n"
    );
}

/// A benchmark's own TSV graph imported into a data directory and trained there exports its
/// tokens as `urn:kgrec:` IRIs: `kge eval` against the same folder matches them to the bare
/// tokens; an export missing some tokens ranks the rest and says how many it skipped.
#[test]
fn kge_eval_matches_a_data_directory_export_of_the_same_tsv_graph() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = groups_dataset(tmp.path());
    let data = tmp.path().join("data");
    ok(kgrec(&data)
        .args(["import", "kg"])
        .arg(ds.join("train.txt"))
        .arg(ds.join("valid.txt")));
    ok(kgrec(&data).args(["train", "--model", "transe", "--dim", "8", "--epochs", "5"]));
    let out = tmp.path().join("emb");
    ok(kgrec(&data)
        .args(["export", "embeddings", "--out"])
        .arg(&out));
    let eval = run(kge(tmp.path())
        .args(["eval", "--format", "json", "--dataset"])
        .arg(&ds)
        .arg("--model-dir")
        .arg(&out));
    assert!(eval.status.success(), "{}", stderr(&eval));
    let report = json(&stdout(&eval));
    // p1..p23 with j % 6 == 4 are the test heads: every one is in train or valid.
    assert_eq!(report["both"]["count"].as_u64(), Some(8), "{report}");
    assert!(!stderr(&eval).contains("skipped"), "{}", stderr(&eval));

    // Without p4 in the export, its test triple is skipped, and said to be.
    let entities = std::fs::read_to_string(out.join("entities.tsv")).unwrap();
    let kept: String = entities
        .lines()
        .filter(|l| !l.starts_with("urn:kgrec:p4\t"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(kept, entities);
    std::fs::write(out.join("entities.tsv"), kept).unwrap();
    let eval = run(kge(tmp.path())
        .args(["eval", "--dataset"])
        .arg(&ds)
        .arg("--model-dir")
        .arg(&out));
    assert!(eval.status.success(), "{}", stderr(&eval));
    assert!(
        stderr(&eval).contains("1 of the 4 test triples were skipped"),
        "{}",
        stderr(&eval)
    );
}

/// `kge train --tune`: the defaults are the first trial, every trial is recorded with its
/// validation MRR, the best draw is trained again (the same model: the same validation MRR)
/// and its export loads in `kge eval`. A search without validation is refused.
#[test]
fn kge_train_tune_records_trials_and_keeps_the_best() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = groups_dataset(tmp.path());
    let out = tmp.path().join("tuned");
    let tuned = run(kge(tmp.path())
        .args(["train", "--model", "transe", "--batch-size", "8"])
        .args(["--tune", "5m", "--trials", "4", "--validate-every", "5"])
        .args(["--eval-test", "--format", "json", "--dataset"])
        .arg(&ds)
        .arg("--out")
        .arg(&out));
    assert!(tuned.status.success(), "{}", stderr(&tuned));
    let trained = json(&stdout(&tuned));
    let tuning = &trained["tuning"];
    let trials = tuning["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 5, "the defaults and 4 draws: {tuning}");
    let drawn = |t: &serde_json::Value| {
        t["params"]
            .as_object()
            .unwrap()
            .values()
            .filter(|v| !v.is_null())
            .count()
    };
    assert_eq!(drawn(&trials[0]), 0, "the defaults first: {}", trials[0]);
    assert!(trials[1..].iter().all(|t| drawn(t) == 6), "{tuning}");
    let values: Vec<f64> = trials
        .iter()
        .map(|t| t["value"].as_f64().unwrap())
        .collect();
    let best = tuning["best_valid_mrr"].as_f64().unwrap();
    assert_eq!(best, values.iter().copied().fold(f64::MIN, f64::max));
    assert_eq!(tuning["default_valid_mrr"].as_f64().unwrap(), values[0]);
    // The kept model is the best draw trained again with the same seed.
    assert_eq!(trained["best_valid_mrr"].as_f64().unwrap(), best);
    let best_flags = tuning["best"].as_str().unwrap();
    if let Some(dim) = best_flags
        .split("--dim ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
    {
        assert_eq!(trained["dim"].as_u64().unwrap().to_string(), dim);
    }
    let eval = json(&ok(kge(tmp.path())
        .args(["eval", "--format", "json", "--dataset"])
        .arg(&ds)
        .arg("--model-dir")
        .arg(&out)));
    assert_eq!(eval["both"], trained["test"]["both"]);

    let refused = run(kge(tmp.path())
        .args([
            "train",
            "--model",
            "transe",
            "--tune",
            "10s",
            "--validate-every",
            "0",
        ])
        .args(["--eval-test", "--dataset"])
        .arg(&ds));
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("--validate-every 0"),
        "{}",
        stderr(&refused)
    );
}
