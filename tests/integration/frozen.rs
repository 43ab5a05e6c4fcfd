//! A data directory written by format version 1 and frozen in `fixtures/` must keep opening the
//! same way: a format change can never be silent.

use crate::common::*;
use std::path::Path;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn the_frozen_version_1_data_directory_still_opens_with_its_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    copy_dir(&fixture("datadir-v1"), &data);
    if cfg!(feature = "rocksdb") {
        // Written by the default (snapshot) backend: a RocksDB build must refuse it, clearly.
        let out = run(kgrec(&data).args(["stats"]));
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains("memory-snapshot backend"),
            "{}",
            stderr(&out)
        );
        return;
    }
    let s = stats(&data);
    assert_eq!(s["triples"], 537);
    assert_eq!(s["entities"], 237);
    assert_eq!(s["relations"], 8);
    assert_eq!(s["literals"], 236);
    let label = ok(kgrec(&data).args([
        "sparql",
        "--format",
        "tsv",
        "SELECT ?l WHERE { <http://dbpedia.org/resource/Toy_Story> <http://www.w3.org/2000/01/rdf-schema#label> ?l }",
    ]));
    assert!(label.contains("\"Toy Story\"@en"), "{label}");
    // And it keeps taking imports.
    let extra = tmp.path().join("extra.nt");
    std::fs::write(&extra, "<http://e/a> <http://e/p> <http://e/b> .\n").unwrap();
    ok(kgrec(&data).args(["import", "kg"]).arg(&extra));
    assert_eq!(triples(&data), 538);
}
