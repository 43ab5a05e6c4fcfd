//! Batch top-K for every user, K = 20, training items excluded: the path behind
//! `kgrec recommend --all-users` (`serving::rank_users` → blocked matrix products + partial
//! sort), on ALS models fitted to ml-100k fold0 at 64 and 128 factors.
//!
//! ```text
//! RAYON_NUM_THREADS=2 cargo bench --bench batch_recommend
//! ```
//!
//! The data set is read from `../shared/datasets/ml-100k/folds/fold0/train.tsv` relative to the
//! crate root (override with `KGREC_BENCH_TRAIN=FILE`); when it is absent the bench prints why and
//! measures nothing. `benches/peers/implicit_batch.py` times implicit's `recommend` on the same
//! file and factor sizes: see docs/benchmarks.md for the side-by-side commands.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use kgrec::cf::{Als, Confidence, InteractionMatrix};
use kgrec::ids::UserId;
use kgrec::interactions::{Format, parse_file};
use kgrec::serving::rank_users;

const K: usize = 20;
const FACTORS: [usize; 2] = [64, 128];

fn train_file() -> PathBuf {
    match std::env::var_os("KGREC_BENCH_TRAIN") {
        Some(f) => PathBuf::from(f),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/datasets/ml-100k/folds/fold0/train.tsv"),
    }
}

fn batch_recommend(c: &mut Criterion) {
    let path = train_file();
    if !path.is_file() {
        eprintln!(
            "batch_recommend: skipped, {} is absent (set KGREC_BENCH_TRAIN or lay out ../shared/datasets)",
            path.display()
        );
        return;
    }
    let rows = parse_file(&path, Some(Format::Tsv)).unwrap().rows;
    let matrix = InteractionMatrix::from_rows(&rows, Confidence::Binary).unwrap();
    let users: Vec<Option<UserId>> = (0..matrix.n_users() as u32)
        .map(|u| Some(UserId(u)))
        .collect();
    println!(
        "batch_recommend: {} users, {} items, {} positives, K = {K}, {} rayon threads",
        matrix.n_users(),
        matrix.n_items(),
        matrix.nnz(),
        rayon::current_num_threads()
    );
    let mut group = c.benchmark_group("batch_recommend_all_users_k20");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(6));
    for factors in FACTORS {
        let als = Als::params()
            .factors(factors)
            .regularization(10.0)
            .iterations(15)
            .fit(&matrix, 0, |_| {})
            .unwrap();
        // The lists the bench times are complete and never hold a training item.
        let lists = rank_users(&als, &matrix, &users, K, &[]);
        for (u, list) in users.iter().flatten().zip(&lists) {
            assert_eq!(list.items.len(), K);
            assert!(!list.is_fallback());
            assert!(list.items.iter().all(|s| !matrix.contains(*u, s.item)));
        }
        group.bench_with_input(BenchmarkId::new("als", factors), &als, |b, als| {
            b.iter(|| black_box(rank_users(als, &matrix, black_box(&users), K, &[])))
        });
    }
    group.finish();
}

criterion_group!(benches, batch_recommend);
criterion_main!(benches);
