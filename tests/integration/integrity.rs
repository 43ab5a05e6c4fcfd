//! Integrity of stored data: a byte flipped anywhere in any file of a data directory gives a
//! clear error naming the damage, or (in bytes nothing reads: sled's unused segment space) the
//! very same answer — never a panic, never a different answer (`docs/reliability.md`). The
//! files walked include the model files (`models/vN.arrays`).
//!
//! Each file is flipped at `KGREC_FLIPS_PER_FILE` offsets (20 by default; seeded by
//! `KGREC_FLIP_SEED`, 0 by default), each flip on a fresh copy of the directory, and every
//! flip runs `stats`, `recommend --user 1` and a `sparql` query that lists the whole graph.

use crate::common::*;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::Path;

/// Every file under `dir`, relative to it, sorted.
fn files(dir: &Path, under: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            files(&entry.path(), under, out);
        } else {
            out.push(entry.path().strip_prefix(under).unwrap().to_owned());
        }
    }
    out.sort();
}

const QUERIES: [&[&str]; 3] = [
    &["stats", "--format", "json"],
    &["recommend", "--user", "1", "-k", "5", "--format", "json"],
    &[
        "sparql",
        "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o",
    ],
];

/// What one command answered: exit code and output.
type Answer = (Option<i32>, String, String);

fn answers(data: &Path) -> Vec<Answer> {
    QUERIES
        .iter()
        .map(|args| {
            let out = run(kgrec(data).arg("--quiet").args(*args));
            (out.status.code(), stdout(&out), stderr(&out))
        })
        .collect()
}

#[derive(Default, Debug)]
struct Tally {
    flips: usize,
    identical: usize,
    clean_errors: usize,
    wrong: Vec<String>,
    panics: Vec<String>,
    unclear_errors: Vec<String>,
}

#[test]
fn a_flipped_byte_in_any_stored_file_is_an_error_or_changes_nothing() {
    let flips_per_file: usize = std::env::var("KGREC_FLIPS_PER_FILE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("KGREC_FLIP_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    let k = |args: &[&str]| {
        ok(kgrec(&base).arg("--quiet").args(args));
    };
    k(&["import", "kg", fixture("movies.ttl").to_str().unwrap()]);
    k(&[
        "import",
        "interactions",
        fixture("interactions.tsv").to_str().unwrap(),
        "--link",
        fixture("links.tsv").to_str().unwrap(),
    ]);
    k(&["train", "--model", "als", "--seed", "0"]);
    k(&["tune", "--models", "als", "--trials", "1", "--no-train"]);
    k(&["train", "--model", "cke", "--seed", "0", "--epochs", "3"]);

    // Every flip runs on a copy at the same path, so that answers that name it compare.
    let data = tmp.path().join("data");
    copy_dir(&base, &data);
    let want = answers(&data);
    for (args, (code, out, err)) in QUERIES.iter().zip(&want) {
        assert_eq!(*code, Some(0), "{args:?}: {err}");
        assert!(!out.is_empty(), "{args:?}");
    }
    std::fs::remove_dir_all(&data).unwrap();

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut names = Vec::new();
    files(&base, &base, &mut names);
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for name in &names {
        let original = std::fs::read(base.join(name)).unwrap();
        if original.is_empty() {
            continue;
        }
        // sled preallocates its log segment: most flips go where something was written (up to
        // the last non-zero byte), two anywhere.
        let live = original.iter().rposition(|&b| b != 0).map_or(1, |p| p + 1);
        let offsets: Vec<usize> = (0..flips_per_file)
            .map(|f| {
                if f < 2 {
                    rng.random_range(0..original.len())
                } else {
                    rng.random_range(0..live)
                }
            })
            .collect();
        let key = name.display().to_string();
        // sled's snapshot file is named after a log position, which moves: group it by kind.
        let key = if key.contains("snap.") {
            "sled/snap.*".to_owned()
        } else if key.contains("snapshot-") {
            "kg/snapshot-*.nq".to_owned()
        } else {
            key
        };
        let tally = tallies.entry(key).or_default();
        for at in offsets {
            copy_dir(&base, &data);
            let mut bytes = original.clone();
            bytes[at] ^= rng.random_range(1..=255u8);
            std::fs::write(data.join(name), &bytes).unwrap();
            tally.flips += 1;
            for (args, (got, expected)) in QUERIES.iter().zip(answers(&data).iter().zip(&want)) {
                let (code, out, err) = got;
                let what = format!("{} byte {at} {:?}: {code:?} {err}", name.display(), args[0]);
                if err.contains("panicked") || *code == Some(101) || code.is_none() {
                    tally.panics.push(what);
                } else if *code == Some(0) {
                    if out == &expected.1 {
                        tally.identical += 1;
                    } else {
                        tally.wrong.push(what);
                    }
                } else if ["corrupt", "damaged", "FORMAT", "data format"]
                    .iter()
                    .any(|n| err.contains(n))
                {
                    tally.clean_errors += 1;
                } else {
                    tally.unclear_errors.push(what);
                }
            }
            std::fs::remove_dir_all(&data).unwrap();
        }
    }
    let mut failures = Vec::new();
    println!("file                flips  identical  clean errors  unclear  wrong  panics");
    for (name, t) in &tallies {
        println!(
            "{name:<18} {:>6} {:>10} {:>13} {:>8} {:>6} {:>7}",
            t.flips,
            t.identical,
            t.clean_errors,
            t.unclear_errors.len(),
            t.wrong.len(),
            t.panics.len()
        );
        failures.extend(t.wrong.iter().map(|w| format!("wrong answer: {w}")));
        failures.extend(t.panics.iter().map(|w| format!("panic: {w}")));
        failures.extend(
            t.unclear_errors
                .iter()
                .map(|w| format!("unclear error: {w}")),
        );
    }
    // The model arrays live in `models/vN.arrays` (one file per version): their flips are
    // among the ones tried, and the current model's are caught.
    let model_files: Vec<&Tally> = tallies
        .iter()
        .filter(|(name, _)| name.starts_with("models/") && name.ends_with(".arrays"))
        .map(|(_, t)| t)
        .collect();
    assert!(model_files.len() >= 2, "{:?}", tallies.keys());
    assert!(
        model_files.iter().any(|t| t.clean_errors > 0),
        "no flip in a model file was caught"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
