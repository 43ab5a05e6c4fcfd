//! Per-request latency of `recommend --user ID -k 10 --explain` on MovieLens-100K fold 0 with the
//! DBpedia graph, at the library level (what the CLI and a server call per request: rank the
//! user's top 10, split the scores, search, rank and store-check up to 3 paths per item).
//!
//! cargo bench --bench explain_latency
//!
//! Builds a temporary data directory outside the timed part (import the graph, the training
//! fold with its links, train the default model, cke, seed 0), then times one request per user
//! of the fold and prints p50/p90/p99/max, then lets criterion time requests cycling through the
//! users. Skips with a note when `../shared/datasets/ml-100k` is absent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use criterion::Criterion;
use kgrec::explain::ExplainOptions;
use kgrec::kg::ImportOptions;
use kgrec::{Engine, InteractionFile, TrainRequest};

fn dataset() -> Option<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        here.join("../shared/datasets/ml-100k"),
        PathBuf::from("/work/shared/datasets/ml-100k"),
    ]
    .into_iter()
    .find(|p| p.join("kg-dbpedia.nt").is_file())
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let Some(ml) = dataset() else {
        println!("explain_latency skipped: ../shared/datasets/ml-100k is absent");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let start = Instant::now();
    let engine = Engine::create(&data).unwrap();
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
    let request = TrainRequest {
        keep: 1,
        ..TrainRequest::default()
    };
    engine
        .train(
            &request,
            &mut |_| {},
            &std::sync::atomic::AtomicBool::new(false),
        )
        .unwrap();
    println!(
        "setup (import, train cke): {:.1} s",
        start.elapsed().as_secs_f64()
    );

    let start = Instant::now();
    let explainer = engine.explainer(None).unwrap();
    println!(
        "explainer (search graph, labels, scale): {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    let users = engine.users().unwrap();
    let users = &users;
    let options = ExplainOptions::default();

    // One request per user, each timed alone.
    let mut millis = Vec::with_capacity(users.len());
    let (mut items, mut with_path) = (0usize, 0usize);
    for user in users {
        let t = Instant::now();
        let e = explainer.recommend(user, 10, options).unwrap();
        millis.push(t.elapsed().as_secs_f64() * 1e3);
        items += e.items.len();
        with_path += e.items.iter().filter(|i| !i.paths.is_empty()).count();
    }
    millis.sort_by(f64::total_cmp);
    let mean = millis.iter().sum::<f64>() / millis.len() as f64;
    println!(
        "recommend --explain -k 10 --paths 3 --hops 3, {} users: p50 {:.2} ms, p90 {:.2} ms, \
         p99 {:.2} ms, max {:.2} ms, mean {:.2} ms ({items} items, {with_path} with a path)",
        users.len(),
        percentile(&millis, 0.5),
        percentile(&millis, 0.9),
        percentile(&millis, 0.99),
        millis[millis.len() - 1],
        mean
    );

    let mut criterion = Criterion::default().configure_from_args();
    let mut next = 0usize;
    criterion.bench_function("explain/recommend_k10_paths3_hops3/ml100k_fold0", |b| {
        b.iter(|| {
            let user = &users[next % users.len()];
            next += 1;
            black_box(explainer.recommend(user, 10, options).unwrap())
        })
    });
    criterion.final_summary();
}
