//! Sampling: the share of every user's positives held out for the attention stage, that
//! stage's hard negatives, and the corrupted triples of the TransE half.

use rand::Rng;
use rand::seq::SliceRandom;

use crate::cf::{FitError, InteractionMatrix};
use crate::fused::Fused;
use kgrec_kg::numeric::seed::{rng_for, stream};

/// Dynamic negative sampling (Zhang et al., SIGIR 2013): of `candidates` items drawn uniformly
/// among those `u` has not interacted with, the one the model scores highest. Training the
/// attention against such negatives teaches it to re-rank the top of the list rather than to
/// separate positives from arbitrary items (which popularity alone already does).
pub(super) fn hard_negative(
    model: &Fused,
    matrix: &InteractionMatrix,
    u: u32,
    m: usize,
    candidates: usize,
    rng: &mut impl Rng,
) -> usize {
    let x = model.users.row(u as usize);
    let mut best = (f32::NEG_INFINITY, 0usize);
    for _ in 0..candidates.max(1) {
        let mut j = rng.random_range(0..m);
        for _ in 0..8 {
            if !matrix.contains(crate::ids::UserId(u), crate::ids::ItemId(j as u32)) {
                break;
            }
            j = rng.random_range(0..m);
        }
        let s = model.items.row(j).dot(&x);
        if s > best.0 {
            best = (s, j);
        }
    }
    best.1
}

/// Splits `matrix` into a matrix without a seeded share `rate` of every user's positives (at
/// least one held out for users with two or more, none for users with one) and the held-out
/// `(user, item)` pairs. Dictionaries are unchanged, so ids agree.
pub(super) fn hold_out(
    matrix: &InteractionMatrix,
    rate: f32,
    seed: u64,
) -> Result<(InteractionMatrix, Vec<(u32, u32)>), FitError> {
    let (ptr, cols, vals) = matrix.user_csr();
    let mut kept = Vec::with_capacity(matrix.nnz());
    let mut held = Vec::new();
    for u in 0..matrix.n_users() {
        let mut row: Vec<(u32, f32)> = cols[ptr[u]..ptr[u + 1]]
            .iter()
            .copied()
            .zip(vals[ptr[u]..ptr[u + 1]].iter().copied())
            .collect();
        row.shuffle(&mut rng_for(seed, stream(&[0x401d, u as u64])));
        let n = row.len();
        let take = if n >= 2 {
            ((n as f32 * rate) as usize).clamp(1, n - 1)
        } else {
            0
        };
        for (k, (i, v)) in row.into_iter().enumerate() {
            if k < take {
                held.push((u as u32, i));
            } else {
                kept.push((crate::ids::UserId(u as u32), crate::ids::ItemId(i), v));
            }
        }
    }
    let fit_part =
        InteractionMatrix::from_ids(matrix.users().clone(), matrix.items().clone(), &kept)
            .map_err(|e| FitError::Internal(format!("the held-out split's matrix: {e}")))?;
    Ok((fit_part, held))
}

/// A corruption of the triple `(h, ·, t)`: a uniform entity among `n_entities` replaces the head
/// or the tail, each with probability ½. Returns the corrupted `(head, tail)`.
pub(super) fn corrupt(rng: &mut impl Rng, n_entities: usize, h: u32, t: u32) -> (u32, u32) {
    let corrupt = rng.random_range(0..n_entities) as u32;
    if rng.random::<bool>() {
        (corrupt, t)
    } else {
        (h, corrupt)
    }
}
