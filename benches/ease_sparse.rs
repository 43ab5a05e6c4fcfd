//! Data-set benchmark: EASE's sparse approximation on synthetic catalogues.
//!
//! cargo bench --bench ease_sparse [-- scale|quality|all]
//!
//! - `scale` (the default): 25,000 items, 700,000 users, 1,500,000 interactions, the size #16
//!   bounds at 4 GiB and 10 minutes on 2 cores. `train --model ease` takes the approximation by
//!   itself above 10,000 items; this fits it the same way (`EaseParams::default()`) and prints
//!   the wall time and the process's peak resident memory.
//! - `quality`: 10,000 items, 60,000 users, 20 % of each user's items held out, exact against
//!   sparse (at 128, 256 and 512 weights per item): nDCG@10 and recall@20 of the held-out items.
//!
//! The catalogues are seeded (`common/synth.rs`, shared with `examples/synth.rs`): items have
//! Zipf-like popularity and belong to one of 200 topics; a user draws most items from two
//! topics, the rest from the whole catalogue.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kgrec::cf::{IdMap, InteractionMatrix};
use kgrec::ease::{EaseParams, ItemWeights, Solver};
use kgrec::ids::{ItemId, UserId};
use kgrec::metrics::user_scores;
use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

#[path = "common/synth.rs"]
mod synth;

/// `(user, item)` pairs, distinct per user (`common/synth.rs`, 200 topics).
fn synthetic(users: usize, items: usize, interactions: usize, seed: u64) -> Vec<(u32, u32)> {
    synth::Generator::new(synth::Spec {
        users,
        items,
        interactions,
        topics: synth::TOPICS,
        seed,
    })
    .pairs()
}

fn matrix(users: usize, items: usize, pairs: &[(u32, u32)]) -> InteractionMatrix {
    let mut user_ids = IdMap::new();
    for u in 0..users {
        user_ids.intern(&format!("u{u}")).unwrap();
    }
    let mut item_ids = IdMap::new();
    for i in 0..items {
        item_ids.intern(&format!("i{i}")).unwrap();
    }
    let entries: Vec<(UserId, ItemId, f32)> = pairs
        .iter()
        .map(|&(u, i)| (UserId(u), ItemId(i), 1.0))
        .collect();
    InteractionMatrix::from_ids(user_ids, item_ids, &entries).unwrap()
}

/// Peak resident memory of this process so far, in MiB (`VmHWM`).
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn scale() {
    let (users, items, interactions) = (700_000, 25_000, 1_500_000);
    let start = Instant::now();
    let pairs = synthetic(users, items, interactions, 7);
    let m = matrix(users, items, &pairs);
    println!(
        "scale: {} users, {} items, {} interactions (built in {:.1} s; peak {:.0} MiB before the fit)",
        users,
        items,
        m.nnz(),
        start.elapsed().as_secs_f64(),
        peak_mib()
    );
    let before = peak_mib();
    let start = Instant::now();
    let fitted = EaseParams::default()
        .fit(&m, &AtomicBool::new(false))
        .unwrap();
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "scale: ease fit ({:?}, λ {:.1}): {:.1} s, {} weights kept; peak resident memory {:.0} \
         MiB ({:.0} MiB before the fit); bounds: 600 s, 4096 MiB",
        Solver::for_items(None, items),
        fitted.lambda,
        seconds,
        fitted.weights.stored_weights(),
        peak_mib(),
        before
    );
}

/// Mean nDCG@10 and recall@20 of `weights` over the held-out items.
fn score(
    weights: &ItemWeights,
    train: &InteractionMatrix,
    held: &[(u32, HashSet<u32>)],
) -> (f64, f64) {
    let n = weights.n_items();
    let mut scores = vec![0.0f32; n];
    let (mut ndcg, mut recall) = (0.0, 0.0);
    for (u, relevant) in held {
        let history = train.user_row(UserId(*u)).0;
        weights.score(history, &mut scores);
        let top = kgrec::cf::top_k(&scores, 20, history);
        let list: Vec<u32> = top.iter().map(|s| s.item.0).collect();
        ndcg += user_scores(&list, relevant, 10).ndcg;
        recall += user_scores(&list, relevant, 20).recall;
    }
    (ndcg / held.len() as f64, recall / held.len() as f64)
}

fn quality() {
    let (users, items) = (60_000, 10_000);
    let pairs = synthetic(users, items, 600_000, 11);
    let mut by_user: Vec<Vec<u32>> = vec![Vec::new(); users];
    for &(u, i) in &pairs {
        by_user[u as usize].push(i);
    }
    let mut train = Vec::new();
    let mut held = Vec::new();
    // Items are in the order they were drawn, at random: the first fifth is held out.
    for (u, items) in by_user.iter().enumerate() {
        let k = if items.len() >= 5 { items.len() / 5 } else { 0 };
        let mut relevant = HashSet::new();
        for (n, &i) in items.iter().enumerate() {
            if n < k {
                relevant.insert(i);
            } else {
                train.push((u as u32, i));
            }
        }
        if !relevant.is_empty() {
            held.push((u as u32, relevant));
        }
    }
    let m = matrix(users, items, &train);
    println!(
        "quality: {users} users, {items} items, {} training interactions, {} users with held-out items",
        m.nnz(),
        held.len()
    );
    let go = AtomicBool::new(false);
    let exact_params = EaseParams::default();
    let start = Instant::now();
    let exact = exact_params.fit(&m, &go).unwrap();
    let (nd, re) = score(&exact.weights, &m, &held);
    println!(
        "quality: exact   nDCG@10 {nd:.4} recall@20 {re:.4} ({:.1} s)",
        start.elapsed().as_secs_f64()
    );
    for neighbours in [128, 256, 512] {
        let start = Instant::now();
        let sparse = EaseParams {
            neighbours: Some(neighbours),
            ..exact_params
        }
        .fit(&m, &go)
        .unwrap();
        let (n2, r2) = score(&sparse.weights, &m, &held);
        println!(
            "quality: sparse {neighbours:>3} nDCG@10 {n2:.4} ({:+.2} %) recall@20 {r2:.4} ({:+.2} %) ({:.1} s)",
            100.0 * (n2 / nd - 1.0),
            100.0 * (r2 / re - 1.0),
            start.elapsed().as_secs_f64()
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; the first other argument picks the part.
    let part = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .unwrap_or_else(|| "scale".to_owned());
    match part.as_str() {
        "scale" => scale(),
        "quality" => quality(),
        "all" => {
            quality();
            scale();
        }
        other => eprintln!("unknown part {other:?}: scale, quality or all"),
    }
}
