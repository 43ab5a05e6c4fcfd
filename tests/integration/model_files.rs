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
