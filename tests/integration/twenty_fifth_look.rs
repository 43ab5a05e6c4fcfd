//! The twenty-fifth fresh look (issue #21): a batch file's summary counts the rows of new
//! items placed from the graph alone; the batch `--explain` summary words `svd`'s graph prior
//! as its items do; `eval` does not point at a flag it lacks for an event column, and warns of
//! linked IRIs its `--kg` graph lacks.

use crate::common::*;
use crate::twenty_third_look::{movies, podcasts};

#[test]
fn a_batch_file_counts_the_rows_of_new_items_placed_from_the_graph() {
    let tmp = tempfile::tempdir().unwrap();
    let data = podcasts(tmp.path());
    ok(kgrec(&data).args(["train", "-q", "--model", "cke", "--seed", "1"]));
    let out = run(kgrec(&data).args(["recommend", "--all-users", "-k", "2", "--out", "-"]));
    assert!(out.status.success());
    let rows = stdout(&out)
        .lines()
        .filter(|l| l.split('\t').nth(1).is_some_and(|i| i.starts_with("new")))
        .count();
    assert!(rows > 0);
    assert!(
        stderr(&out).contains(&format!(
            "note: {rows} of the 120 rows name 2 new item(s) that model v1 cke placed from the \
             graph alone"
        )),
        "{}",
        stderr(&out)
    );
    // Without new items in the lists, no such note.
    ok(kgrec(&data).args(["train", "-q", "--model", "cke", "--cold-scale", "0"]));
    let out = run(kgrec(&data).args(["recommend", "--all-users", "-k", "2", "--out", "-"]));
    assert!(
        !stderr(&out).contains("placed from the graph alone"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_batch_explain_summary_words_svds_graph_prior_as_its_items_do() {
    let tmp = tempfile::tempdir().unwrap();
    let data = movies(tmp.path());
    ok(kgrec(&data).args(["train", "-q", "--model", "svd", "--seed", "1"]));
    let out_file = tmp.path().join("explained.jsonl");
    let out = run(kgrec(&data)
        .args(["recommend", "--all-users", "-k", "3", "--explain", "--out"])
        .arg(&out_file));
    assert!(out.status.success(), "{}", stderr(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        all.contains(
            "with paths found after ranking (svd's graph prior shaped its scores, but no share of them can be split off"
        ),
        "{all}"
    );
    assert!(!all.contains("interactions alone"), "{all}");
}

#[test]
fn eval_words_an_event_column_for_itself_and_warns_of_iris_its_graph_lacks() {
    let tmp = tempfile::tempdir().unwrap();
    let all = std::fs::read_to_string(fixture("interactions.tsv")).unwrap();
    let rows: Vec<&str> = all.lines().skip(1).collect();
    let with_action = |part: &[&str]| -> String {
        let mut text = String::from("user_id\titem_id\taction\n");
        for (n, l) in part.iter().enumerate() {
            let f: Vec<&str> = l.split('\t').collect();
            let kind = ["view", "enrol", "complete"][n % 3];
            text.push_str(&format!("{}\t{}\t{kind}\n", f[0], f[1]));
        }
        text
    };
    // The rows' user and item alone.
    let strip = |part: &[&str]| -> String {
        part.iter()
            .map(|l| l.split('\t').take(2).collect::<Vec<_>>().join("\t"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (train, test) = rows.split_at(rows.len() * 4 / 5);
    let train = write_file(tmp.path(), "ev_train.tsv", with_action(train));
    let test = write_file(tmp.path(), "ev_test.tsv", with_action(test));
    let out = run(kgrec(tmp.path())
        .args(["eval", "--model", "als", "--train"])
        .arg(&train)
        .arg("--test")
        .arg(&test));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("eval does not weigh event kinds")
            && !stderr(&out).contains("import with --event-weights"),
        "{}",
        stderr(&out)
    );
    // A link file with IRIs the graph lacks: said, as the import says it.
    let mut links = std::fs::read_to_string(fixture("links.tsv")).unwrap();
    links.push_str("999\thttp://dbpedia.org/resource/No_Such_Film\n");
    let links = write_file(tmp.path(), "links.tsv", links);
    let (train_rows, test_rows) = rows.split_at(rows.len() * 4 / 5);
    let train = write_file(
        tmp.path(),
        "train.tsv",
        format!("user_id\titem_id\n{}\n1\t999\n", strip(train_rows)),
    );
    let test = write_file(
        tmp.path(),
        "test.tsv",
        format!("user_id\titem_id\n{}\n", strip(test_rows)),
    );
    let out = run(kgrec(tmp.path())
        .args(["eval", "--model", "cke", "-k", "5", "--kg"])
        .arg(fixture("movies.ttl"))
        .arg("--link")
        .arg(&links)
        .arg("--train")
        .arg(&train)
        .arg("--test")
        .arg(&test));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 linked IRI(s) are not in the --kg graph (the first: <http://dbpedia.org/resource/No_Such_Film>, item 999)"),
        "{}",
        stderr(&out)
    );
}
