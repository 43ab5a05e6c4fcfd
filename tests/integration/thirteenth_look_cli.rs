//! The thirteenth fresh look's command-line findings (issue #21): empty ids are refused
//! everywhere, `train` does not wait in silence for a `kgrec serve`, a user's folder with a
//! `kg/` subfolder is not taken for a damaged data directory, an API key from the environment
//! is named as such, `eval` refuses a test file that is its training file and keeps coverage
//! at most 1, and `tune` says when it ran past its budget.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The fixtures imported and the popularity model trained (fast), in `tmp/data`.
fn pop_trained(tmp: &Path) -> PathBuf {
    let data = crate::cf::imported(tmp);
    ok(kgrec(&data).args(["train", "--model", "pop", "--quiet"]));
    data
}

/// A user and an item of the fixtures.
fn a_user_and_item() -> (String, String) {
    let rows = std::fs::read_to_string(fixture("interactions.tsv")).unwrap();
    let first = rows.lines().nth(1).unwrap();
    let mut fields = first.split('\t');
    (
        fields.next().unwrap().to_owned(),
        fields.next().unwrap().to_owned(),
    )
}

/// Finding 3: an empty or blank user or item id exits 2 on every command that takes one
/// (recommend gave the popularity list with exit 0, silently under -q).
#[test]
fn empty_and_blank_ids_are_refused_on_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let data = pop_trained(tmp.path());
    let (user, item) = a_user_and_item();
    for blank in ["", " ", "\t"] {
        let what = match blank.is_empty() {
            true => "the id is empty",
            false => "the id is white space only",
        };
        let commands: Vec<Vec<&str>> = vec![
            vec!["recommend", "--user", blank],
            vec!["recommend", "-q", "--user", blank],
            vec!["recommend", "--user", &user, "--exclude", blank],
            vec!["explain", "--user", blank, "--item", &item],
            vec!["explain", "--user", &user, "--item", blank],
            vec!["similar", "--item", blank],
            vec!["predict", "--user", blank, "--item", &item],
            vec!["predict", "--user", &user, "--item", blank],
        ];
        for args in commands {
            let out = run(kgrec(&data).args(&args));
            expect_bad_input(&out, Path::new(&format!("{args:?}")), &[what]);
            assert!(stdout(&out).is_empty(), "{args:?}: {}", stdout(&out));
        }
    }
    // A list with an empty entry (a stray comma) is refused too; a real id still works.
    let out = run(kgrec(&data).args([
        "recommend",
        "--user",
        &user,
        "--exclude",
        &format!("{item},"),
    ]));
    expect_bad_input(&out, Path::new("--exclude"), &["the id is empty"]);
    ok(kgrec(&data).args(["recommend", "--user", &user, "--exclude", &item]));
}

/// Finding 5: without --wait, `train` fails at once when a `kgrec serve` holds the directory
/// (it waited 60 s in silence, then failed); --help and the README say what it does.
#[test]
fn train_does_not_wait_in_silence_for_a_server() {
    let tmp = tempfile::tempdir().unwrap();
    let data = pop_trained(tmp.path());
    let server = Server::start(&data, &[]);
    let started = Instant::now();
    let out = run(kgrec(&data).args(["train", "--model", "pop"]));
    let took = started.elapsed();
    server.terminate(30);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("is in use by process"), "{err}");
    assert!(err.contains("kgrec serve"), "{err}");
    assert!(!err.contains("after waiting"), "{err}");
    // Generous for a loaded machine: the old behaviour took 60 s.
    assert!(took < Duration::from_secs(30), "train took {took:?}");
    let help = ok(std::process::Command::new(binary()).args(["--help"]));
    assert!(
        help.contains("`train` waits up to 60 s"),
        "the --wait help: {help}"
    );
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains(
            "without\n`--wait` it fails at once when a `kgrec serve` holds the directory"
        ),
        "the README says what train does"
    );
}

/// Finding 16: a user's folder with a `kg/` subfolder (no `sled/`) is not a data directory
/// whose marker was removed; the advice to put a marker back is kept for real ones.
#[test]
fn a_folder_with_a_kg_subfolder_is_not_taken_for_a_data_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("project");
    std::fs::create_dir_all(folder.join("kg")).unwrap();
    std::fs::write(folder.join("kg").join("notes.ttl"), "mine").unwrap();
    std::fs::write(folder.join("README"), "mine").unwrap();
    for args in [
        vec!["stats"],
        vec!["import", "kg", fixture("movies.ttl").to_str().unwrap()],
    ] {
        let out = run(kgrec(&folder).args(&args));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("marker was removed"), "{args:?}: {err}");
        assert!(!err.contains("put the marker back"), "{args:?}: {err}");
        assert!(
            err.contains("not a kgrec data directory") || err.contains("new or empty folder"),
            "{args:?}: {err}"
        );
    }
    assert!(!folder.join("FORMAT").exists() && !folder.join("sled").exists());
    assert_eq!(
        std::fs::read_to_string(folder.join("kg").join("notes.ttl")).unwrap(),
        "mine"
    );
    // A folder with sled/ alone (no store of sled's in it) is not one either.
    let other = tmp.path().join("other");
    std::fs::create_dir_all(other.join("sled")).unwrap();
    std::fs::create_dir_all(other.join("kg")).unwrap();
    let err = stderr(&run(kgrec(&other).args(["stats"])));
    assert!(!err.contains("put the marker back"), "{err}");
}

/// The eighteenth look: a KGREC_API_KEY left set in the shell keyed the server silently; the
/// startup says where the key came from (here the server then stops: its data directory does
/// not exist).
#[test]
fn a_server_keyed_from_the_environment_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(kgrec(&tmp.path().join("none"))
        .args(["serve", "--addr", "127.0.0.1:0", "--read-only"])
        .env("KGREC_API_KEY", "fedcba9876543210fedcba"));
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("the key of --api-key comes from the environment variable KGREC_API_KEY"),
        "{err}"
    );
    // Given as a flag, nothing is said.
    let out = run(kgrec(&tmp.path().join("none"))
        .args(["serve", "--addr", "127.0.0.1:0", "--read-only"])
        .args(["--api-key", "fedcba9876543210fedcba"])
        .env_remove("KGREC_API_KEY"));
    assert!(
        !stderr(&out).contains("environment variable"),
        "{}",
        stderr(&out)
    );
}

/// Finding 17: a key from KGREC_API_KEY beside --api-key-file names the environment variable,
/// not a flag that was never passed.
#[test]
fn an_api_key_from_the_environment_is_named_as_such() {
    let tmp = tempfile::tempdir().unwrap();
    let data = pop_trained(tmp.path());
    let file = tmp.path().join("api.key");
    std::fs::write(&file, "0123456789abcdef0123\n").unwrap();
    let mut child = kgrec(&data)
        .args(["serve", "--addr", "127.0.0.1:0", "--api-key-file"])
        .arg(&file)
        .env("KGREC_API_KEY", "fedcba9876543210fedcba")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if child.try_wait().unwrap().is_none() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("KGREC_API_KEY"), "{err}");
    assert!(err.contains("unset KGREC_API_KEY"), "{err}");
    assert!(
        !err.contains("--api-key and --api-key-file both given"),
        "{err}"
    );
    // Both given as flags: the flags are named.
    let out = run(kgrec(&data)
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--api-key",
            "fedcba9876543210fedcba",
        ])
        .arg("--api-key-file")
        .arg(&file)
        .env_remove("KGREC_API_KEY"));
    expect_bad_input(&out, &file, &["--api-key and --api-key-file both given"]);
    // A short key from the environment is named by the variable.
    let out = run(kgrec(&data)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("KGREC_API_KEY", "short"));
    expect_bad_input(&out, &file, &["KGREC_API_KEY", "use at least 16"]);
}

/// A small job board: 45 linked jobs in a graph of skills and cities, 40 users who applied to
/// some of the first 30 (the other 15 are in neither file).
fn job_board(dir: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let mut graph = String::new();
    let mut links = String::from("item_id\tiri\n");
    for i in 0..45 {
        let e = format!("<http://jobs.example/J{i}>");
        graph += &format!(
            "{e} <http://jobs.example/skill> <http://jobs.example/skill/S{}> .\n",
            i % 5
        );
        graph += &format!(
            "{e} <http://jobs.example/city> <http://jobs.example/city/C{}> .\n",
            i % 3
        );
        links += &format!("J{i}\thttp://jobs.example/J{i}\n");
    }
    let (mut train, mut test) = (
        String::from("user_id\titem_id\n"),
        String::from("user_id\titem_id\n"),
    );
    for u in 0..40 {
        let mut items: Vec<usize> = Vec::new();
        for k in 0..5 {
            let j = (u * 7 + k * 3) % 30;
            if !items.contains(&j) {
                items.push(j);
            }
        }
        let (last, rest) = items.split_last().unwrap();
        for j in rest {
            train += &format!("u{u}\tJ{j}\n");
        }
        test += &format!("u{u}\tJ{last}\n");
    }
    let paths = ["g.nt", "l.tsv", "tr.tsv", "te.tsv"].map(|n| dir.join(n));
    for (path, text) in paths.iter().zip([graph, links, train, test]) {
        std::fs::write(path, text).unwrap();
    }
    let [g, l, tr, te] = paths;
    (g, l, tr, te)
}

/// Finding 18: `eval` with the test file equal to the training file exits 2 with the reason
/// (it printed all zeros and exit 0).
#[test]
fn eval_refuses_the_training_file_as_test_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, _, train, _) = job_board(tmp.path());
    let out = run(std::process::Command::new(binary())
        .args(["eval", "--model", "pop", "--train"])
        .arg(&train)
        .arg("--test")
        .arg(&train));
    expect_bad_input(
        &out,
        &train,
        &[
            "every one of its 160 test interactions is also in the training file",
            "same file given twice",
            "held-out file",
        ],
    );
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
}

/// Finding 10: lists holding linked items in neither file (cke places them from the graph)
/// count them in the catalogue: coverage stays at most 1 (it was 1.5).
#[test]
fn eval_coverage_counts_every_rankable_item() {
    let tmp = tempfile::tempdir().unwrap();
    let (graph, links, train, test) = job_board(tmp.path());
    let out = ok(std::process::Command::new(binary())
        .args([
            "eval", "--model", "cke", "-k", "10,20", "--format", "json", "--train",
        ])
        .arg(&train)
        .arg("--test")
        .arg(&test)
        .arg("--kg")
        .arg(&graph)
        .arg("--link")
        .arg(&links));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    for k in [10, 20] {
        let coverage = report[format!("coverage@{k}")].as_f64().unwrap();
        assert!(
            coverage > 0.0 && coverage <= 1.0,
            "coverage@{k} {coverage}: {report}"
        );
    }
    // The 15 linked jobs in neither file are in the lists, and in the catalogue of 45.
    let at20 = report["coverage@20"].as_f64().unwrap();
    assert!(at20 > 30.0 / 45.0, "coverage@20 {at20}");
}

/// Finding 12: `tune` that runs past --budget says so, and why (the defaults are fitted in
/// full, a one-step fit cannot be stopped, the choice is trained after the search); within
/// its budget it says nothing of the kind.
#[test]
fn tune_reports_running_past_its_budget() {
    let tmp = tempfile::tempdir().unwrap();
    // 500 users × 30 of 4000 items: one EASE fit (a 4000-item inverse) takes about a second.
    let mut rows = String::from("user_id\titem_id\n");
    for u in 0..500usize {
        for k in 0..30usize {
            rows += &format!("u{u}\ti{}\n", (u * 37 + k * 101 + k * k * 7) % 4000);
        }
    }
    let file = tmp.path().join("rows.tsv");
    std::fs::write(&file, rows).unwrap();
    let data = tmp.path().join("data");
    ok(kgrec(&data).args(["import", "interactions"]).arg(&file));
    let started = Instant::now();
    let out = run(kgrec(&data).args(["tune", "--models", "ease", "--budget", "0.1"]));
    let took = started.elapsed();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let said = err.contains("note: tuning took") && err.contains("against --budget 0.1 s");
    // Two full fits at least (the defaults, and the choice trained after the search).
    if took > Duration::from_secs(2) {
        assert!(said, "took {took:?}: {err}");
    }
    if said {
        assert!(
            err.contains("every learner's defaults are fitted in full")
                || err.contains("training the choice on every interaction took"),
            "{err}"
        );
    }
    let out = run(kgrec(&data).args([
        "tune", "--models", "pop", "--budget", "10m", "--trials", "1",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("note: tuning took"),
        "{}",
        stderr(&out)
    );
}

/// The job board of fixtures/jobs (a user-tester's data): applications, a graph of jobs'
/// skills and cities, links. Imported into `tmp/jobs`.
fn jobs_imported(tmp: &Path) -> PathBuf {
    let data = tmp.join("jobs");
    ok(kgrec(&data)
        .args(["import", "kg"])
        .arg(fixture("jobs/jobs.nt")));
    ok(kgrec(&data)
        .args(["import", "interactions"])
        .arg(fixture("jobs/apps.tsv"))
        .arg("--link")
        .arg(fixture("jobs/links.tsv")));
    data
}

/// Finding 11: the note's table of weights compares like with like (the chosen weight's figure
/// was pooled over more carvings than the others'), and a weight above the chosen one is named
/// as turned down by the one-standard-error rule (it said nothing).
#[test]
fn kg_ease_names_the_weight_it_turned_down() {
    let tmp = tempfile::tempdir().unwrap();
    let data = jobs_imported(tmp.path());
    let out = run(kgrec(&data).args(["train", "--model", "kg-ease"]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let note = err
        .lines()
        .find(|l| l.contains("kg-ease chose graph weight α = "))
        .unwrap_or_else(|| panic!("{err}"));
    let chosen: String = note
        .split("α = ")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| *c != ' ')
        .collect();
    let table = note
        .split("by weight: ")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    let scores: Vec<(String, f64)> = table
        .split(", ")
        .map(|pair| {
            let (w, v) = pair.split_once(" → ").unwrap();
            (w.trim().to_owned(), v.trim().parse().unwrap())
        })
        .collect();
    let chosen_score = scores.iter().find(|(w, _)| *w == chosen).unwrap().1;
    let (best, best_score) = scores
        .iter()
        .cloned()
        .reduce(|a, b| if b.1 > a.1 { b } else { a })
        .unwrap();
    // The tester's case showed α = 0 at its figure pooled over four carvings (0.1866) beside
    // the others' on the first carving alone (0.1 → 0.2296), and named no weight turned down.
    // The table now holds the figures the weight was chosen on: a weight above the chosen one
    // is one the one-standard-error rule turned down, and the note names it.
    assert_eq!(chosen, "0", "{note}");
    if best_score > chosen_score {
        assert!(
            note.contains(&format!(
                "{best} scored best, but by less than one standard error"
            )),
            "{note}"
        );
    } else {
        assert!(!note.contains("scored best, but"), "{note}");
    }
}

/// Finding 20c: the filter error's candidate values come in a stable order (nearest, most
/// frequent, then by text), not the store's.
#[test]
fn filter_error_lists_candidate_values_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let data = jobs_imported(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "pop", "--quiet"]));
    // The labels are "Job 0" to "Job 44", stored in that order, which the list followed
    // ("Job 0" to "Job 7", the rest not counted); now by text, then "and N more".
    let out = run(kgrec(&data).args([
        "recommend",
        "--user",
        "cand-0",
        "--filter",
        "rdfs:label=\"Zzzz Qqqq\"",
    ]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let list = err
        .split("values of rdfs:label include ")
        .nth(1)
        .unwrap_or_else(|| panic!("{err}"))
        .lines()
        .next()
        .unwrap();
    let values: Vec<&str> = list.split(", ").filter(|v| v.starts_with('"')).collect();
    assert!(values.len() >= 3, "{list}");
    let mut sorted = values.clone();
    sorted.sort();
    assert_eq!(values, sorted, "{list}");
    assert!(
        list.starts_with("\"Job 0\", \"Job 1\", \"Job 10\", \"Job 11\""),
        "{list}"
    );
    assert!(list.ends_with("and 37 more"), "the rest is counted: {list}");
}
