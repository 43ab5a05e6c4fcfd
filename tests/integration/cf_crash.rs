//! `kill -9` at any moment of `train` or `import interactions`: the next command loads the
//! previous complete model (store) or the new complete one, never a part of one and never a
//! corruption error.

use crate::cf::models;
use crate::common::*;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

#[cfg(unix)]
#[test]
fn killing_train_leaves_the_previous_or_the_new_complete_model() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // 12,000 users × 15 items: a 32-factor model is ~1.6 MB of vectors, so writing it takes a
    // while and kills land in every phase (load, fit, chunk writes, switch, pruning).
    let (users, items) = (12_000u32, 900u32);
    let mut text = String::from("user_id\titem_id\n");
    for u in 0..users {
        for j in 0..15u32 {
            writeln!(text, "u{u}\ti{}", (u * 7 + j * j * 13 + j) % items).unwrap();
        }
    }
    let file = tmp.path().join("big.tsv");
    std::fs::write(&file, text).unwrap();
    ok(kgrec(&data).args(["import", "interactions"]).arg(&file));
    ok(kgrec(&data).args(["train", "--model", "pop"]));

    let train_args = [
        "train", "--model", "als", "--dim", "32", "--epochs", "1", "--keep", "2", "--quiet",
    ];
    let start = Instant::now();
    ok(kgrec(&data).args(train_args));
    let full = start.elapsed();

    let mut killed = 0;
    for round in 0..12u32 {
        let before = models(&data);
        let mut child = kgrec(&data).args(train_args).spawn().unwrap();
        // Spread kills over 5%..115% of a full run, in a fixed order.
        let fraction = 0.05 + 1.1 * f64::from((round * 5) % 12) / 12.0;
        std::thread::sleep(full.mul_f64(fraction));
        let _ = child.kill(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        killed += usize::from(!status.success());

        let after = models(&data);
        let current: Vec<&String> = after.iter().filter(|m| m.ends_with("(current)")).collect();
        assert_eq!(current.len(), 1, "round {round}: {after:?}");
        if status.success() {
            assert_ne!(
                after, before,
                "round {round}: a finished train added no model"
            );
        }
        // The current model loads and serves, whichever it is.
        let out: serde_json::Value = serde_json::from_str(&ok(kgrec(&data).args([
            "recommend",
            "--user",
            "u17",
            "--format",
            "json",
        ])))
        .unwrap();
        assert_eq!(out["items"].as_array().unwrap().len(), 10, "round {round}");
        assert!(out.get("fallback").is_none(), "round {round}: {out}");
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!("train kill rounds: {killed} of 12 killed before finishing");
    assert!(killed > 0, "no kill landed during a train");
    // What the kills left in `models/` (temporary files, files of versions never listed) goes
    // at the next finished train: the folder then holds exactly the listed versions' files.
    ok(kgrec(&data).args(train_args));
    let mut want: Vec<String> = stats(&data)["model_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| format!("v{}.arrays", v["version"].as_u64().unwrap()))
        .collect();
    want.sort();
    let mut files: Vec<String> = std::fs::read_dir(data.join("models"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, want);
}

#[cfg(unix)]
#[test]
fn killing_an_interaction_import_leaves_the_old_or_the_new_store() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(kgrec(&data)
        .args(["import", "interactions"])
        .arg(fixture("interactions.tsv")));
    let base = stats(&data)["interactions"].as_u64().unwrap();
    const N: u64 = 150_000;
    let mut text = String::from("user_id\titem_id\trating\n");
    for k in 0..N {
        writeln!(
            text,
            "s{}\tj{}\t{}",
            k / 10,
            k % 10 + (k / 1000) * 10,
            k % 5 + 1
        )
        .unwrap();
    }
    let file = tmp.path().join("more.tsv");
    std::fs::write(&file, text).unwrap();

    let probe = tmp.path().join("probe");
    let start = Instant::now();
    ok(kgrec(&probe).args(["import", "interactions"]).arg(&file));
    let full = start.elapsed();

    let mut old = 0;
    for round in 0..10u32 {
        let mut child = kgrec(&data)
            .args(["import", "interactions", "--quiet"])
            .arg(&file)
            .spawn()
            .unwrap();
        // Spread kills over 10%..136% of a full import into an empty directory (this one holds
        // more, so its imports take longer), in a fixed order.
        let fraction = 0.1 + 1.4 * f64::from((round * 7) % 10) / 10.0;
        std::thread::sleep(full.mul_f64(fraction));
        let _ = child.kill();
        let status = child.wait().unwrap();
        let now = stats(&data)["interactions"].as_u64().unwrap();
        assert!(
            now == base || now == base + N,
            "round {round}: {now} interactions, expected {base} or {}",
            base + N
        );
        if now == base {
            old += 1;
        } else if status.success() {
            // Start over so that later rounds can catch an import in flight again.
            std::fs::remove_dir_all(&data).unwrap();
            ok(kgrec(&data)
                .args(["import", "interactions"])
                .arg(fixture("interactions.tsv")));
        }
    }
    eprintln!("import kill rounds: {old} of 10 left the old store");
    assert!(old > 0, "no kill landed during an import");
}
