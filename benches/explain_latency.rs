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
use kgrec::cli::{FitArgs, ImportInteractionsArgs, ImportKgArgs, TrainArgs};
use kgrec::commands::{Output, import_interactions, import_kg, train};
use kgrec::datadir::{DataDir, OpenMode};
use kgrec::explain::{ExplainOptions, Explainer};
use kgrec::recommend::bind;
use kgrec::store::{InteractionStore, ModelStore};

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
    let kg = ImportKgArgs {
        files: vec![ml.join("kg-dbpedia.nt")],
        format: None,
        base: None,
        lenient: false,
    };
    import_kg(&data, &kg, &Output::new(true)).unwrap();
    let interactions = ImportInteractionsArgs {
        file: ml.join("folds/fold0/train.tsv"),
        format: None,
        link: Some(ml.join("link-dbpedia.tsv")),
        min_rating: None,
    };
    import_interactions(&data, &interactions, true).unwrap();
    let fit = TrainArgs {
        fit: FitArgs::default(),
        keep: 1,
    };
    train(&data, &fit, true).unwrap();
    println!(
        "setup (import, train cke): {:.1} s",
        start.elapsed().as_secs_f64()
    );

    let dir = DataDir::open(&data, OpenMode::MustExist).unwrap();
    let snapshot = InteractionStore::open(dir.db()).unwrap().load().unwrap();
    let matrix = snapshot.matrix().unwrap();
    let stored = ModelStore::open(dir.db()).unwrap().load_current().unwrap();
    let model = bind(stored, &snapshot, dir.kg().index()).unwrap();
    let rdf = dir.kg().rdf_store().unwrap();
    let start = Instant::now();
    let explainer = Explainer::new(dir.kg().index(), rdf, &snapshot, &matrix, &model).unwrap();
    println!(
        "explainer (search graph, labels, scale): {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    let options = ExplainOptions::default();
    let users = &snapshot.users;

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
