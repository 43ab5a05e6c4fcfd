//! Model arrays in files of their own (`models/vN.arrays`): training again and again with
//! `--keep 2` keeps the directory bounded — `models/` holds exactly the kept versions' files and
//! `sled/blobs` does not grow by a model's size per fit (issue #20: sled 0.34 never removed the
//! files of pruned values in a short-lived process).

use crate::common::*;
use std::path::Path;

/// The bytes of the files directly under `dir` (0 when it does not exist).
fn folder_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().metadata().unwrap())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn training_again_and_again_keeps_only_the_kept_versions_files() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    // 400 items: an EASE model of 160,000 floats, a value sled would keep under `sled/blobs`.
    let mut tsv = String::from("user\titem\n");
    for u in 0..300u32 {
        for k in 0..20u32 {
            tsv.push_str(&format!("u{u}\ti{}\n", (u * 7 + k * k * 13 + k) % 400));
        }
    }
    let file = tmp.path().join("interactions.tsv");
    std::fs::write(&file, tsv).unwrap();
    ok(kgrec(&data)
        .args(["import", "interactions"])
        .arg(&file)
        .arg("-q"));
    let models = data.join("models");
    let blobs = data.join("sled").join("blobs");
    let mut blobs_after_second = 0;
    let mut model_bytes = 0;
    for fit in 1..=6 {
        ok(kgrec(&data).args(["train", "--model", "ease", "--keep", "2", "-q"]));
        let versions: Vec<u64> = stats(&data)["model_versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_u64().unwrap())
            .collect();
        assert_eq!(versions.len(), fit.min(2), "fit {fit}: {versions:?}");
        let want: Vec<String> = versions.iter().map(|v| format!("v{v}.arrays")).collect();
        assert_eq!(names(&models), want, "fit {fit}");
        model_bytes = folder_bytes(&models) / versions.len() as u64;
        assert!(
            model_bytes > 160_000 * 4,
            "fit {fit}: {model_bytes} bytes a model"
        );
        if fit == 2 {
            blobs_after_second = folder_bytes(&blobs);
        }
    }
    let growth = folder_bytes(&blobs).saturating_sub(blobs_after_second);
    assert!(
        growth < model_bytes,
        "sled/blobs grew by {growth} bytes over 4 fits of a {model_bytes}-byte model"
    );
    // The served model is the newest, read back from its file.
    let out = ok(kgrec(&data).args(["recommend", "--user", "u1", "-k", "3", "--format", "json"]));
    let recs: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(recs["items"].as_array().unwrap().len(), 3, "{out}");
}

/// What a killed `train` leaves in `models/` (a whole file of a version it never listed, a torn
/// temporary file) goes at the next writable open — an import, not only the next `train` —
/// while commands that only read leave the folder alone; listed versions' files and files of
/// other names stay.
#[test]
fn a_killed_trains_leftover_files_go_at_the_next_import() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "als", "-q"]));
    let models = data.join("models");
    let listed = names(&models);
    assert_eq!(listed.len(), 1, "{listed:?}");
    let before = ok(kgrec(&data).args(["recommend", "--user", "1", "-k", "5", "--format", "json"]));
    // As a `train` killed after writing its file, before listing it, and one killed while
    // writing (the shapes `fsutil::AtomicFile` and `model_file::write` leave).
    std::fs::copy(models.join(&listed[0]), models.join("v7.arrays")).unwrap();
    std::fs::write(
        models.join(".v8.arrays.4242.0.kgrec-tmp"),
        vec![7u8; 100_000],
    )
    .unwrap();
    std::fs::write(models.join("notes.txt"), b"mine").unwrap();
    let with_leftovers = names(&models);
    assert_eq!(with_leftovers.len(), 4, "{with_leftovers:?}");

    for read in [
        &["stats", "--format", "json"][..],
        &["recommend", "--user", "1", "-k", "5", "--format", "json"],
    ] {
        ok(kgrec(&data).args(read));
        assert_eq!(names(&models), with_leftovers, "{read:?} changed models/");
    }
    ok(kgrec(&data)
        .arg("import")
        .arg("kg")
        .arg(fixture("movies.ttl"))
        .arg("-q"));
    let mut want = vec![listed[0].clone(), "notes.txt".to_owned()];
    want.sort();
    assert_eq!(names(&models), want, "after the import");
    let after = ok(kgrec(&data).args(["recommend", "--user", "1", "-k", "5", "--format", "json"]));
    assert_eq!(after, before, "the listed model still answers");
}
