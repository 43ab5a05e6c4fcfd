//! `kg-ease` chooses its graph weight `α` itself: on validation rows carved from the training
//! matrix, each candidate weight is fitted and scored (nDCG@10 of the held-out items), and the
//! best is kept. A graph whose facts do not help ranking (the Freebase graph of ml-100k, against
//! the DBpedia one) then gets a small weight instead of hurting, with no tuner run and nothing
//! read from test files. The carving is seeded; ties keep the smaller weight.

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::{GraphFeatures, KgEaseParams, checked_items};
use crate::cf::{FitError, InteractionMatrix, top_k};
use crate::fused::ItemGraph;
use crate::ids::{ItemId, UserId};
use crate::metrics::user_scores;

/// The weights tried, ascending (the fixed default, 0.7, among them).
pub const CANDIDATE_WEIGHTS: [f32; 5] = [0.1, 0.25, 0.45, 0.7, 1.0];

/// The share of a user's items held out for validation.
const HOLDOUT: f64 = 0.2;

/// Users with fewer items keep them all for training.
const MIN_USER_ITEMS: usize = 5;

/// The cut-off of the validation metric.
const CUTOFF: usize = 10;

/// Fewer validation users than this and the choice would be noise: the weight stays as given.
const MIN_VALIDATION_USERS: usize = 20;

/// One candidate's validation score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightTrial {
    /// `α`.
    pub weight: f32,
    /// Mean nDCG@10 of the validation users.
    pub ndcg: f64,
}

/// The weight chosen, and how every candidate did.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightChoice {
    /// The best candidate (the smaller on a tie).
    pub weight: f32,
    /// Every candidate, ascending by weight.
    pub trials: Vec<WeightTrial>,
    /// Users with held-out items.
    pub users: usize,
    /// Held-out interactions.
    pub held_out: usize,
}

impl WeightChoice {
    /// One line for `train`'s notes.
    pub fn note(&self) -> String {
        let table: Vec<String> = self
            .trials
            .iter()
            .map(|t| format!("{} → {:.4}", t.weight, t.ndcg))
            .collect();
        format!(
            "kg-ease chose graph weight α = {} on validation rows carved from the training data \
             ({} interactions of {} users held out; nDCG@{CUTOFF}: {}); --kg-weight fixes it",
            self.weight,
            self.held_out,
            self.users,
            table.join(", ")
        )
    }
}

/// A training matrix with some of each user's items held out.
struct Carved {
    train: InteractionMatrix,
    /// (user, held-out items).
    held: Vec<(UserId, HashSet<u32>)>,
}

/// Holds out `HOLDOUT` of the items of every user with at least `MIN_USER_ITEMS`, chosen by a
/// generator seeded with `seed`.
fn carve(matrix: &InteractionMatrix, seed: u64) -> Result<Carved, FitError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6b67_6561_7365_5f61);
    let mut entries = Vec::with_capacity(matrix.nnz());
    let mut held = Vec::new();
    for u in 0..matrix.n_users() {
        let user = UserId(u as u32);
        let (items, values) = matrix.user_row(user);
        let mut order: Vec<usize> = (0..items.len()).collect();
        let n_held = if items.len() >= MIN_USER_ITEMS {
            ((items.len() as f64 * HOLDOUT).round() as usize).max(1)
        } else {
            0
        };
        order.shuffle(&mut rng);
        let (out, kept) = order.split_at(n_held);
        entries.extend(kept.iter().map(|&k| (user, ItemId(items[k]), values[k])));
        if !out.is_empty() {
            held.push((user, out.iter().map(|&k| items[k]).collect()));
        }
    }
    let train =
        InteractionMatrix::from_ids(matrix.users().clone(), matrix.items().clone(), &entries)
            .map_err(|e| FitError::Internal(format!("carving validation rows: {e}")))?;
    Ok(Carved { train, held })
}

/// Chooses `α` among [`CANDIDATE_WEIGHTS`] for `params` on `matrix` and `graph`, or `None` when
/// the graph gives no feature or too few users have items to hold out.
pub fn choose_graph_weight(
    params: &KgEaseParams,
    matrix: &InteractionMatrix,
    graph: &ItemGraph,
    seed: u64,
    cancel: &AtomicBool,
) -> Result<Option<WeightChoice>, FitError> {
    let n = checked_items(matrix)?;
    if GraphFeatures::new(graph, n, params.min_items).len() == 0 {
        return Ok(None);
    }
    let carved = carve(matrix, seed)?;
    if carved.held.len() < MIN_VALIDATION_USERS {
        return Ok(None);
    }
    let mut trials = Vec::with_capacity(CANDIDATE_WEIGHTS.len());
    for weight in CANDIDATE_WEIGHTS {
        let candidate = KgEaseParams {
            graph_weight: weight,
            ..*params
        };
        let fitted = candidate.fit(&carved.train, graph, false, cancel)?;
        // Per user in parallel, summed in user order: the same mean on any thread count.
        let per_user: Vec<f64> = carved
            .held
            .par_iter()
            .map_init(
                || (vec![0.0f32; n], Vec::new()),
                |(scores, buf), (user, relevant)| {
                    let history = carved.train.user_row(*user).0;
                    fitted.weights.score(history, scores);
                    let list: Vec<u32> = top_k(scores, CUTOFF, history, buf)
                        .into_iter()
                        .map(|s| s.item.0)
                        .collect();
                    user_scores(&list, relevant, CUTOFF).ndcg
                },
            )
            .collect();
        let ndcg = per_user.iter().sum::<f64>() / per_user.len() as f64;
        trials.push(WeightTrial { weight, ndcg });
    }
    let best = trials
        .iter()
        .copied()
        .reduce(|best, t| if t.ndcg > best.ndcg { t } else { best })
        .map_or(params.graph_weight, |t| t.weight);
    Ok(Some(WeightChoice {
        weight: best,
        trials,
        users: carved.held.len(),
        held_out: carved.held.iter().map(|(_, h)| h.len()).sum(),
    }))
}
