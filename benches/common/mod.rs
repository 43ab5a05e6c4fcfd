//! What the data-set benchmarks share: finding `../shared/datasets/ml-100k`, a data directory
//! with its DBpedia graph, fold 0 and the default model, and percentiles.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use kgrec::kg::ImportOptions;
use kgrec::{Engine, InteractionFile, TrainRequest};

/// `ml-100k` of the shared data sets, if it is there.
pub fn dataset() -> Option<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        here.join("../shared/datasets/ml-100k"),
        PathBuf::from("/work/shared/datasets/ml-100k"),
    ]
    .into_iter()
    .find(|p| p.join("kg-dbpedia.nt").is_file())
}

/// The sorted sample's `q` quantile (nearest rank).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// `p50 .. ms, p90 .., p99 .., max .., mean ..` of milliseconds (sorted here).
pub fn summary(millis: &mut [f64]) -> String {
    millis.sort_by(f64::total_cmp);
    let mean = millis.iter().sum::<f64>() / millis.len() as f64;
    format!(
        "p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms, mean {:.3} ms",
        percentile(millis, 0.5),
        percentile(millis, 0.9),
        percentile(millis, 0.99),
        millis[millis.len() - 1],
        mean
    )
}

/// A temporary data directory holding ml-100k's DBpedia graph, fold 0's training
/// interactions with their links, and the default model (cke, seed 0); prints the setup time.
pub fn ml100k_engine(ml: &Path) -> (tempfile::TempDir, Engine) {
    let tmp = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let engine = Engine::create(&tmp.path().join("data")).unwrap();
    engine
        .import_kg(
            &[ml.join("kg-dbpedia.nt")],
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    engine
        .import_interactions(&InteractionFile {
            file: ml.join("folds/fold0/train.tsv"),
            link: Some(ml.join("link-dbpedia.tsv")),
            ..InteractionFile::default()
        })
        .unwrap();
    // KGREC_BENCH_MODEL picks the learner (default: the default one, cke), with its defaults.
    let model = std::env::var("KGREC_BENCH_MODEL").unwrap_or_else(|_| "cke".to_owned());
    let request = TrainRequest {
        spec: kgrec::ModelSpec::new(&model, &kgrec::Overrides::default()).unwrap(),
        keep: 1,
        ..TrainRequest::default()
    };
    engine
        .train(&request, &mut |_| {}, &AtomicBool::new(false))
        .unwrap();
    println!(
        "setup (import, train {model}): {:.1} s",
        start.elapsed().as_secs_f64()
    );
    (tmp, engine)
}
