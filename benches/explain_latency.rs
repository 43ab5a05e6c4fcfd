//! Per-request latency of `recommend --user ID -k 10 --explain` on MovieLens-100K fold 0 with the
//! DBpedia graph, at the library level (what the CLI and a server call per request: rank the
//! user's top 10, split the scores, search, rank and store-check up to 3 paths per item).
//!
//! cargo bench --bench explain_latency
//!
//! Builds a temporary data directory outside the timed part (import the graph, the training
//! fold with its links, train the default model, cke, seed 0, or the learner named by
//! `KGREC_BENCH_MODEL`, e.g. `KGREC_BENCH_MODEL=kg-ease`), then times one request per user
//! of the fold and prints p50/p90/p99/max, then lets criterion time requests cycling through the
//! users. Skips with a note when `../shared/datasets/ml-100k` is absent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::hint::black_box;
use std::time::Instant;

use criterion::Criterion;
use kgrec::explain::ExplainOptions;

mod common;

fn main() {
    let Some(ml) = common::dataset() else {
        println!("explain_latency skipped: ../shared/datasets/ml-100k is absent");
        return;
    };
    let (_tmp, engine) = common::ml100k_engine(&ml);

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
    println!(
        "recommend --explain -k 10 --paths 3 --hops 3, {} users: {} ({items} items, {with_path} \
         with a path)",
        users.len(),
        common::summary(&mut millis),
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
