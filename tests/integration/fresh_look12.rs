//! The eleventh fresh look at a new user's first afternoon (issue #21): Ctrl-C during a command
//! that writes an output leaves no temporary file and no half-replaced output, an id holding a
//! control character is refused at import, an `--out` named `.gz` is gzip, and a UTF-16 input
//! gets UTF-16 advice.
//!
//! The Ctrl-C tests send SIGINT at moments spread over a full run (measured first), and assert
//! the end state whatever moment it landed in: exit 0 or 130 (never death by the signal), the
//! old output or the whole new one, and no temporary file or folder.

use crate::common::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Interactions of `users` users with 40 items each among 3000, deterministic.
fn many_interactions(dir: &Path, users: usize) -> PathBuf {
    let mut text = String::from("user_id\titem_id\trating\n");
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for u in 0..users {
        for _ in 0..40 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let item = (state >> 33) % 3000;
            let _ = writeln!(text, "u{u}\ti{item}\t{}", 1 + (state >> 20) % 5);
        }
    }
    let path = dir.join(format!("many-{users}.tsv"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The names in `dir` (not recursive) that are kgrec temporary files or folders.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("kgrec-tmp"))
        .collect()
}

fn sigint(pid: u32) {
    // The process may have finished meanwhile: that round then checks a finished run.
    let _ = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
}

/// Runs `command` to its end and returns how long it took.
fn timed(command: &mut Command) -> Duration {
    let start = Instant::now();
    ok(command);
    start.elapsed()
}

/// Starts `command`, sends SIGINT after `delay`, and returns its exit code and stderr, checking
/// that it ended by exiting (0, or 130 with what it left said), never killed by the signal.
/// Returns whether the interrupt landed (130).
fn interrupted(mut command: Command, delay: Duration) -> bool {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    sigint(child.id());
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    match out.status.code() {
        Some(0) => false,
        Some(130) => {
            assert!(err.contains("interrupted:"), "{err}");
            true
        }
        code => panic!("{command:?} ended with {code:?} (by the signal?): {err}"),
    }
}

/// Delays spread over 10%..95% of `full`, in a fixed order.
fn spread(full: Duration, rounds: u32) -> Vec<Duration> {
    (0..rounds)
        .map(|i| full.mul_f64(0.1 + 0.85 * f64::from(i) / f64::from(rounds - 1)))
        .collect()
}

#[test]
fn ctrl_c_during_a_batch_recommend_keeps_the_old_file_or_the_whole_new_one() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(kgrec(&data)
        .args(["import", "interactions"])
        .arg(many_interactions(tmp.path(), 1500)));
    ok(kgrec(&data).args(["train", "--model", "als", "--epochs", "2"]));
    let out = tmp.path().join("all.tsv");
    ok(kgrec(&data)
        .args(["recommend", "--all-users", "-k", "1", "--out"])
        .arg(&out));
    let old = std::fs::read(&out).unwrap();
    let batch = |out: &Path| {
        let mut cmd = kgrec(&data);
        cmd.args(["recommend", "--all-users", "-k", "300", "--out"])
            .arg(out);
        cmd
    };
    let probe = tmp.path().join("probe.tsv");
    let full = timed(&mut batch(&probe));
    let new = std::fs::read(&probe).unwrap();
    let mut landed = 0;
    for delay in spread(full, 8) {
        landed += usize::from(interrupted(batch(&out), delay));
        let now = std::fs::read(&out).unwrap();
        assert!(now == old || now == new, "a mixed or partial {out:?}");
        assert_eq!(leftovers(tmp.path()), Vec::<String>::new());
    }
    eprintln!("recommend: {landed} of 8 interrupts landed before the end ({full:?} a run)");
    assert!(landed > 0, "no interrupt landed during a batch");
}

/// A benchmark folder of `entities` entities and 8 relations, deterministic.
fn benchmark(dir: &Path, entities: usize) -> PathBuf {
    let root = dir.join("bench");
    std::fs::create_dir_all(&root).unwrap();
    let mut train = String::new();
    for e in 0..entities {
        let _ = writeln!(train, "e{e}\tr{}\te{}", e % 8, (e * 7 + 1) % entities);
    }
    std::fs::write(root.join("train.txt"), train).unwrap();
    std::fs::write(root.join("valid.txt"), "e0\tr3\te5\n").unwrap();
    std::fs::write(root.join("test.txt"), "e1\tr2\te9\n").unwrap();
    root
}

/// The width of the first row of an export table (its values).
fn width(path: &Path) -> usize {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(std::fs::File::open(path).unwrap())
        .read_line(&mut line)
        .unwrap();
    line.trim_end().split('\t').count() - 1
}

/// Checks that `dir` holds one whole TransE export and returns its dimension.
fn whole_export(dir: &Path) -> usize {
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
    let dim = meta["dim"].as_u64().unwrap() as usize;
    for table in [
        "entities.tsv",
        "relations.tsv",
        "entity_embeddings.tsv",
        "relation_embeddings.tsv",
    ] {
        assert_eq!(
            width(&dir.join(table)),
            dim,
            "{dir:?}/{table} beside {meta}"
        );
    }
    dim
}

#[test]
fn ctrl_c_during_kge_train_keeps_the_old_export_or_the_whole_new_one() {
    let tmp = tempfile::tempdir().unwrap();
    let bench = benchmark(tmp.path(), 20_000);
    let train = |dim: &str, out: &Path| {
        let mut cmd = Command::new(binary());
        cmd.env_remove("KGREC_DATA")
            .args([
                "kge", "train", "--model", "transe", "--epochs", "1", "--dim", dim,
            ])
            .arg("--dataset")
            .arg(&bench)
            .arg("--out")
            .arg(out);
        cmd
    };
    let export = tmp.path().join("export");
    ok(&mut train("4", &export));
    let full = timed(&mut train("64", &tmp.path().join("probe")));
    let mut landed = 0;
    for (round, delay) in spread(full, 8).into_iter().enumerate() {
        // Over an earlier export, and into a new folder.
        landed += usize::from(interrupted(train("64", &export), delay));
        assert!([4, 64].contains(&whole_export(&export)));
        let new = tmp.path().join(format!("new{round}"));
        landed += usize::from(interrupted(train("64", &new), delay));
        if new.exists() {
            assert_eq!(whole_export(&new), 64);
        }
        assert_eq!(leftovers(tmp.path()), Vec::<String>::new());
        assert_eq!(leftovers(&export), Vec::<String>::new());
    }
    eprintln!("kge train: {landed} of 16 interrupts landed before the end ({full:?} a run)");
    assert!(landed > 0, "no interrupt landed during kge train");
}

#[test]
fn ctrl_c_during_eval_removes_its_temporary_data_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let train = many_interactions(tmp.path(), 1500);
    let test = tmp.path().join("test.tsv");
    std::fs::write(&test, "user_id\titem_id\nu1\ti1\nu2\ti2\n").unwrap();
    let temp = tmp.path().join("tmpdir");
    std::fs::create_dir(&temp).unwrap();
    let eval = || {
        let mut cmd = Command::new(binary());
        cmd.env_remove("KGREC_DATA")
            .env("TMPDIR", &temp)
            .args(["eval", "--model", "als", "--epochs", "3", "--train"])
            .arg(&train)
            .arg("--test")
            .arg(&test);
        cmd
    };
    let full = timed(&mut eval());
    let mut landed = 0;
    for delay in spread(full, 6) {
        landed += usize::from(interrupted(eval(), delay));
        let left: Vec<_> = std::fs::read_dir(&temp).unwrap().collect();
        assert!(left.is_empty(), "eval left {left:?} in its TMPDIR");
    }
    eprintln!("eval: {landed} of 6 interrupts landed before the end ({full:?} a run)");
    assert!(landed > 0, "no interrupt landed during eval");
}

#[test]
fn an_out_named_gz_is_gzip() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "als"]));
    let out = tmp.path().join("recs.tsv.gz");
    for _ in 0..2 {
        // The second time over the first one's output: a kgrec output, replaced without --force.
        ok(kgrec(&data)
            .args(["recommend", "--all-users", "--out"])
            .arg(&out));
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(bytes[..2], [0x1f, 0x8b], "not gzip");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
            .unwrap();
        assert!(
            text.starts_with("user_id\titem_id\trank\tscore\n"),
            "{text}"
        );
    }
    // JSON lines compressed are still JSON lines: refused without --explain, as `.jsonl` is.
    let out = run(kgrec(&data).args(["recommend", "--all-users", "--out", "recs.jsonl.gz"]));
    expect_bad_input(&out, &data, &["without --explain the batch file is TSV"]);
}

#[test]
fn an_id_holding_a_control_character_is_refused_at_import() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let csv = tmp.path().join("tab.csv");
    std::fs::write(&csv, "user_id,item_id\nbob,i2\n\"ann\tsmith\",i1\n").unwrap();
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&csv));
    expect_bad_input(&out, &csv, &["tab.csv:3:1", "user_id", "control character"]);
    assert!(!data.exists(), "a refused first import leaves no directory");
    ok(kgrec(&data)
        .args(["import", "interactions"])
        .arg(fixture("interactions.tsv")));
    let links = tmp.path().join("links.tsv");
    std::fs::write(&links, "item_id\tiri\nm\u{1}1\thttp://example.org/a\n").unwrap();
    let out = run(kgrec(&data).args(["import", "links"]).arg(&links));
    expect_bad_input(
        &out,
        &links,
        &["links.tsv:2:1", "item_id", "control character"],
    );
}

#[test]
fn utf16_input_gets_utf16_advice() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let utf16 = |name: &str, text: &str, little: bool| {
        let mut bytes = if little {
            vec![0xFF, 0xFE]
        } else {
            vec![0xFE, 0xFF]
        };
        for unit in text.encode_utf16() {
            bytes.extend(if little {
                unit.to_le_bytes()
            } else {
                unit.to_be_bytes()
            });
        }
        let path = tmp.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let inputs = [
        (
            vec!["import", "interactions"],
            utf16("ratings.csv", "user_id,item_id\nu1,i1\n", true),
        ),
        (
            vec!["import", "kg"],
            utf16("graph.nt", "<http://a> <http://b> <http://c> .\n", false),
        ),
    ];
    for (command, path) in inputs {
        let out = run(kgrec(&data).args(command).arg(&path));
        expect_bad_input(&out, &path, &["UTF-16", "iconv -f utf-16 -t utf-8"]);
        assert!(!stderr(&out).contains("latin1"), "{}", stderr(&out));
    }
    ok(kgrec(&data)
        .args(["import", "interactions"])
        .arg(fixture("interactions.tsv")));
    let links = utf16(
        "links.tsv",
        "item_id\tiri\nm1\thttp://example.org/a\n",
        true,
    );
    let out = run(kgrec(&data).args(["import", "links"]).arg(&links));
    expect_bad_input(&out, &links, &["UTF-16", "iconv -f utf-16 -t utf-8"]);
}

#[test]
fn a_header_or_byte_order_mark_inside_a_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let bom = "\u{feff}";
    let cases = [
        // `cat a.csv b.csv`: the second header, with and without its byte-order mark.
        (
            "joined.csv",
            "user_id,item_id\nu1,i1\nuser_id,item_id\nu2,i2\n".to_owned(),
            "joined.csv:3",
        ),
        (
            "joined-bom.csv",
            format!("{bom}user_id,item_id\nu1,i1\n{bom}user_id,item_id\nu2,i2\n"),
            "joined-bom.csv:3",
        ),
        (
            "joined.tsv",
            "user_id\titem_id\nu1\ti1\nuser_id\titem_id\nu2\ti2\n".to_owned(),
            "joined.tsv:3",
        ),
    ];
    for (name, text, at) in cases {
        let path = tmp.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = run(kgrec(&data).args(["import", "interactions"]).arg(&path));
        expect_bad_input(&out, &path, &[at, "repeats the header"]);
    }
    let path = tmp.path().join("bom-inside.csv");
    std::fs::write(&path, format!("user_id,item_id\nu1,i1\n{bom}u2,i2\n")).unwrap();
    let out = run(kgrec(&data).args(["import", "interactions"]).arg(&path));
    expect_bad_input(&out, &path, &["bom-inside.csv:3", "U+FEFF"]);
    assert!(!data.exists());
}
