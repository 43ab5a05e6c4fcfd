//! `kill -9` at any moment of an import: the next command sees the old graph or the new one,
//! never a part of it and never a corruption error.

use crate::common::*;
use std::time::Duration;

#[cfg(unix)]
#[test]
fn killing_an_import_leaves_the_old_or_the_complete_new_graph() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    let base = triples(&data);
    let big = tmp.path().join("big.nt");
    const N: u64 = 120_000;
    write_synthetic_ntriples(&big, N as usize);

    // Time one whole import so that the kills spread over every phase of it.
    let probe = tmp.path().join("probe");
    let start = std::time::Instant::now();
    ok(kgrec(&probe).args(["import", "kg"]).arg(&big));
    let full = start.elapsed();

    let mut outcomes = (0, 0);
    let mut expected = base;
    for round in 0..10u32 {
        let mut child = kgrec(&data)
            .args(["import", "kg", "--quiet"])
            .arg(&big)
            .spawn()
            .unwrap();
        // Spread kills over 5%..110% of a full import, in a fixed order.
        let fraction = 0.05 + 1.05 * f64::from((round * 7) % 10) / 10.0;
        std::thread::sleep(full.mul_f64(fraction));
        let _ = child.kill(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        let now = triples(&data);
        assert!(
            now == expected || now == base + N,
            "round {round}: {now} triples, expected {expected} or {}",
            base + N
        );
        // The RDF store and the index agree, whatever moment the kill hit.
        let csv = ok(kgrec(&data).args([
            "sparql",
            "--format",
            "csv",
            "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
        ]));
        let in_store: u64 = csv.lines().nth(1).unwrap().trim().parse().unwrap();
        assert_eq!(in_store, now, "round {round}: store and index disagree");
        if now == base + N {
            outcomes.1 += 1;
            if status.success() {
                // Start over so that later rounds can catch an import in flight again.
                std::fs::remove_dir_all(&data).unwrap();
                import_movie_graph(&data);
            }
        } else {
            outcomes.0 += 1;
        }
        expected = triples(&data);
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!(
        "kill rounds: {} left the old graph, {} the new one",
        outcomes.0, outcomes.1
    );
    assert!(outcomes.0 > 0, "no kill landed during an import");
}

/// sled writes a snapshot to `snap.N.generating` and renames it when whole; a write cut short (a
/// kill, or a full disk: sled writes one at every open, `stats` included) left one behind, and
/// sled 0.34 reads the highest `snap.*` name back at open, so every later command called the
/// database damaged. The unfinished snapshot is removed before the open.
#[test]
fn an_unfinished_sled_snapshot_does_not_make_the_directory_unreadable() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    let before = triples(&data);
    // What a snapshot write stopped by a full disk leaves: an empty file named past the others.
    let unfinished = data.join("sled").join("snap.FFFFFFFFFFFFFFF0.generating");
    std::fs::write(&unfinished, b"").unwrap();
    assert_eq!(triples(&data), before);
    assert!(!unfinished.exists(), "the unfinished snapshot is removed");
    // A torn one with some bytes in it, too.
    std::fs::write(&unfinished, [7u8; 40]).unwrap();
    assert_eq!(triples(&data), before);
}
