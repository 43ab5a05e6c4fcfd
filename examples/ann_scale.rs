//! Approximate against exact top-K on a large synthetic catalogue: recall@10 of the HNSW index
//! (`kgrec::cf::ann`) against exact scoring, per-request latency of both, the index's build
//! time, stored size and load time, and the process's peak memory at each stage.
//!
//! ```text
//! cargo run --release --example ann_scale -- --items 1000000 --dim 64 --queries 1000
//! /usr/bin/time -v target/release/examples/ann_scale --items 1000000 --dim 64 --ef 64,256,1024
//! target/release/examples/ann_scale --items 100000 --metric augmented --bands 1,auto
//! target/release/examples/ann_scale --data-dir DIR --metric augmented --bands auto,80   # a trained model
//! ```
//!
//! Vectors (seeded): `--data clustered` (default) draws users and items around 256 random
//! centres (centre + 0.5·noise, each vector scaled by a factor in 0.5..2, items with a bias in
//! 0..0.5), the structure a trained factor model has; `--data gaussian` draws every coordinate
//! from N(0, 1) with no bias, the hard case. Exact top-K is the served path
//! (`user_scores` + `top_k` over every item); approximate is [`AnnIndex::top_k`] (the index's
//! `ef` candidates rescored exactly), at each `--ef` on the one index built (ef is chosen per
//! request in `hnsw_rs`); then the calibration `train` runs picks its ef. `--bands` sets the norm
//! bands (one graph each; `auto` is what `train` builds). Requests run one after another on one
//! thread; the bands' graphs are built in parallel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use clap::{Parser, ValueEnum};
use kgrec::cf::ann::{AnnBands, AnnIndex, AnnMetric, AnnParams, Calibration};
use kgrec::cf::{FactorModel, FactorView, Recommender, top_k, user_scores};
use kgrec::ids::UserId;
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Metric {
    Ip,
    Augmented,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Data {
    Clustered,
    Gaussian,
}

#[derive(Parser, Debug)]
struct Args {
    #[arg(long, default_value_t = 1_000_000)]
    items: usize,
    #[arg(long, default_value_t = 64)]
    dim: usize,
    /// Users queried (one request each).
    #[arg(long, default_value_t = 1000)]
    queries: usize,
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// The ef values (candidates per request) to measure, on the one index built.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "32,64,128,256,512,1024,2048"
    )]
    ef: Vec<usize>,
    #[arg(long, default_value_t = AnnParams::default().ef_construction)]
    ef_construction: usize,
    /// HNSW's M.
    #[arg(long, default_value_t = AnnParams::default().connections)]
    m: usize,
    #[arg(long, value_enum, default_value_t = Data::Clustered)]
    data: Data,
    /// The spaces to build an index in, one after another on the same data.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "ip,augmented"
    )]
    metric: Vec<Metric>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Norm bands (one graph each), `auto` or a count; several (comma-separated) build one
    /// index each, one after another on the same data.
    #[arg(long, value_delimiter = ',', default_value = "auto")]
    bands: Vec<AnnBands>,
    /// Instead of drawn vectors, the current model of this kgrec data directory (a dot-product
    /// model: als, bpr, ...): its item vectors, and `--queries` of its users spread evenly.
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
}

/// The current model of `dir`: its item vectors and `queries` of its users, evenly spread.
fn stored_model(dir: &std::path::Path, queries: usize) -> FactorModel {
    let engine = kgrec::Engine::open(dir).expect("open the data directory");
    let served = engine.served_version(None).expect("a current model");
    let f = served
        .model
        .recommender()
        .factors()
        .expect("a dot-product model");
    let n = f.users.nrows();
    let picked: Vec<usize> = (0..queries.min(n))
        .map(|q| q * n / queries.min(n))
        .collect();
    FactorModel {
        users: f.users.select(ndarray::Axis(0), &picked),
        items: f.items.to_owned(),
        item_bias: f.item_bias.map(|b| b.to_owned()),
    }
}

/// The item norms (bias appended) at a few percentiles, and for the first of the index's norm
/// bands (largest first; [`kgrec::cf::ann::norm_bands`]) its size and its largest norm over its
/// smallest: the spread the augmentation has to absorb inside one graph.
fn norm_profile(f: &FactorView<'_>, bands: AnnBands) {
    let mut norms: Vec<f32> = (0..f.items.nrows())
        .map(|i| {
            let b = f.item_bias.map_or(0.0, |b| b[i]);
            (f.items.row(i).dot(&f.items.row(i)) + b * b).sqrt()
        })
        .collect();
    // Items whose vector (bias included) is bit for bit another's: ALS gives every item of
    // one and the same single user the same vector.
    let mut seen = std::collections::HashMap::<Vec<u32>, usize>::new();
    for i in 0..f.items.nrows() {
        let mut key: Vec<u32> = f.items.row(i).iter().map(|x| x.to_bits()).collect();
        key.push(f.item_bias.map_or(0, |b| b[i].to_bits()));
        *seen.entry(key).or_default() += 1;
    }
    let largest = seen.values().copied().max().unwrap_or(0);
    println!(
        "distinct item vectors: {} of {} (the largest group of identical ones: {largest})",
        seen.len(),
        f.items.nrows()
    );
    norms.sort_unstable_by(|a, b| b.total_cmp(a));
    let at = |q: f64| norms[((norms.len() - 1) as f64 * q) as usize];
    println!(
        "item norms: max {:.4}, p0.1 {:.4}, p1 {:.4}, p10 {:.4}, p50 {:.4}, p90 {:.4}, min {:.6}",
        at(0.0),
        at(0.001),
        at(0.01),
        at(0.1),
        at(0.5),
        at(0.9),
        at(1.0)
    );
    let cut = kgrec::cf::ann::norm_bands(&norms, bands);
    let ratios: Vec<String> = cut
        .iter()
        .take(16)
        .map(|r| {
            format!(
                "{} items {:.2}",
                r.len(),
                norms[r.start] / norms[r.end - 1].max(f32::MIN_POSITIVE)
            )
        })
        .collect();
    println!(
        "bands ({bands}): {}; the first {} (items, largest norm / smallest): {}",
        cut.len(),
        ratios.len(),
        ratios.join(", ")
    );
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

fn draw(
    rng: &mut ChaCha8Rng,
    n: usize,
    dim: usize,
    data: Data,
    centres: &[Vec<f32>],
) -> Array2<f32> {
    let mut a = Array2::<f32>::zeros((n, dim));
    for mut row in a.outer_iter_mut() {
        match data {
            Data::Gaussian => row.iter_mut().for_each(|x| *x = normal(rng)),
            Data::Clustered => {
                let c = &centres[rng.random_range(0..centres.len())];
                let scale: f32 = rng.random_range(0.5..2.0);
                for (x, &m) in row.iter_mut().zip(c) {
                    *x = scale * (m + 0.5 * normal(rng));
                }
            }
        }
    }
    a
}

/// `VmHWM` (peak resident set) of this process, in MiB.
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let mut args = Args::parse();
    if let Some(dir) = args.data_dir.clone() {
        let started = Instant::now();
        let model = stored_model(&dir, args.queries);
        args.items = model.items.nrows();
        args.dim = model.items.ncols();
        args.queries = model.users.nrows();
        let source = format!("the current model of {}", dir.display());
        run(&args, &model, (&source, "read", started));
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let centres: Vec<Vec<f32>> = (0..256)
        .map(|_| (0..args.dim).map(|_| normal(&mut rng)).collect())
        .collect();
    let started = Instant::now();
    let users = draw(&mut rng, args.queries, args.dim, args.data, &centres);
    let items = draw(&mut rng, args.items, args.dim, args.data, &centres);
    let item_bias = match args.data {
        Data::Clustered => Some(Array1::from_iter(
            (0..args.items).map(|_| rng.random_range(0.0..0.5f32)),
        )),
        Data::Gaussian => None,
    };
    let model = FactorModel {
        users,
        items,
        item_bias,
    };
    let source = format!("{:?}", args.data);
    run(&args, &model, (&source, "drawn", started));
}

/// Exact top-K of every query, then each index asked for; `source`: what the vectors are, how
/// they were had, and since when.
fn run(args: &Args, model: &FactorModel, (source, how, started): (&str, &str, Instant)) {
    println!(
        "data: {source}, {} items x {} dims, {} queries, k {} ({how} in {:.1} s; peak RSS {:.0} \
         MiB)",
        args.items,
        args.dim,
        args.queries,
        args.k,
        started.elapsed().as_secs_f64(),
        peak_mib()
    );
    // Exact: the served path, every item scored.
    let t = Instant::now();
    let exact: Vec<Vec<u32>> = (0..args.queries)
        .map(|u| {
            top_k(&user_scores(model, UserId(u as u32)), args.k, &[])
                .iter()
                .map(|s| s.item.0)
                .collect()
        })
        .collect();
    let exact_ms = t.elapsed().as_secs_f64() * 1e3 / args.queries as f64;
    println!("exact: {exact_ms:.3} ms per request");

    let f = model.factors().expect("a factor model");
    for &bands in &args.bands {
        norm_profile(&f, bands);
    }
    for &metric in &args.metric {
        let metric = match metric {
            Metric::Ip => AnnMetric::Ip,
            Metric::Augmented => AnnMetric::Augmented,
        };
        for &bands in &args.bands {
            measure(args, &f, &exact, exact_ms, metric, bands);
        }
    }
    println!("peak RSS {:.0} MiB", peak_mib());
}

/// Builds the index of `f` in `metric`'s space, stores and reloads it, and measures recall and
/// latency at each `--ef`, then the calibration `train` runs.
fn measure(
    args: &Args,
    f: &FactorView<'_>,
    exact: &[Vec<u32>],
    exact_ms: f64,
    metric: AnnMetric,
    bands: AnnBands,
) {
    let params = AnnParams {
        connections: args.m,
        ef_construction: args.ef_construction,
        metric,
        bands,
    };
    let t = Instant::now();
    let index = AnnIndex::build_observed(f, &params, &|n| {
        println!(
            "  {n} items inserted in {:.1} s (peak RSS {:.0} MiB)",
            t.elapsed().as_secs_f64(),
            peak_mib()
        )
    })
    .expect("index");
    let build_s = t.elapsed().as_secs_f64();
    let peak_build = peak_mib();
    let t = Instant::now();
    let bytes = index.to_bytes().expect("bytes");
    let save_s = t.elapsed().as_secs_f64();
    drop(index);
    let t = Instant::now();
    let mut loaded =
        AnnIndex::from_bytes(&bytes, args.items, args.dim, f.item_bias.is_some()).expect("load");
    let load_s = t.elapsed().as_secs_f64();
    let size_mib = bytes.len() as f64 / (1 << 20) as f64;
    drop(bytes);
    println!(
        "index ({}, {} bands ({bands}), M {}, efConstruction {}): build {build_s:.1} s (peak RSS \
         {peak_build:.0} MiB), stored {size_mib:.0} MiB (encode {save_s:.1} s, decode+check \
         {load_s:.1} s)",
        metric.name(),
        loaded.n_bands(),
        args.m,
        args.ef_construction,
    );
    for &ef in &args.ef {
        loaded.set_ef(ef);
        let t = Instant::now();
        let mut hits = 0usize;
        let mut fallbacks = 0usize;
        for (u, want) in exact.iter().enumerate() {
            match loaded.top_k(f, u, args.k, &[], None) {
                Some(list) => hits += list.iter().filter(|s| want.contains(&s.item.0)).count(),
                None => fallbacks += 1,
            }
        }
        let ann_ms = t.elapsed().as_secs_f64() * 1e3 / args.queries as f64;
        let recall = hits as f64 / (args.queries * args.k) as f64;
        println!(
            "ef {ef}: recall@{} {recall:.4}, {ann_ms:.3} ms per request ({:.1}x faster than \
             exact), {fallbacks} fallbacks",
            args.k,
            exact_ms / ann_ms,
        );
    }
    // What `train` does: the smallest ef (doubling from 32) whose recall@10 on 200 sampled
    // users reaches 0.95.
    let cal = Calibration {
        seed: args.seed,
        ..Calibration::default()
    };
    let t = Instant::now();
    let got = loaded.calibrate(f, &cal);
    println!(
        "calibration (target {}, ef {}..{}, {} sampled users): ef {} recall@{} {:.4} reached {} \
         in {:.1} s",
        cal.target,
        cal.ef_start,
        cal.ef_max,
        got.users,
        got.ef,
        cal.k,
        got.recall,
        got.reached,
        t.elapsed().as_secs_f64()
    );
}
