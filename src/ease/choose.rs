//! `kg-ease` chooses its graph weight `α` (and, with `--cold-placement auto`, its cold-item
//! [`Placement`]) itself: on validation rows carved from the training matrix, each candidate
//! weight is fitted, each allowed placement applied, and every pair scored; the best is kept.
//! A graph whose facts do not help ranking (the Freebase graph of ml-100k, against the DBpedia
//! one) then gets a small weight, or none, instead of hurting, with no tuner run and nothing read
//! from test files.
//!
//! The validation rows are a share of every user's items and, when the placement is chosen and
//! the catalogue has linked items nobody has interacted with, as large a share of the linked
//! items with interactions held out whole: the validation then holds as many unproven items as
//! the catalogue does. The pair with the best warm nDCG@10 wins, except that a placement within
//! 0.5 % of it that finds more of the whole-held items wins instead. Candidate weights are fitted
//! in `f32` from Gram matrices built once ([`super::CandidateGrams`]). The carving is seeded;
//! ties keep the smaller weight and the earlier placement (off first).

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::cold::{ColdColumn, Placement, cold_columns};
use super::{
    CandidateGrams, KgEaseParams, Solver, checked_items, interaction_rows, mean_diagonal, stop_if,
};
use crate::cf::{FitError, InteractionMatrix, top_k};
use crate::fused::ItemGraph;
use crate::ids::{ItemId, UserId};
use crate::metrics::user_scores;

/// The weights tried, ascending (the fixed default, 0.7, among them).
pub const CANDIDATE_WEIGHTS: [f32; 6] = [0.0, 0.1, 0.25, 0.45, 0.7, 1.0];

/// The share of a user's items held out for validation.
const HOLDOUT: f64 = 0.2;

/// Users with fewer items keep them all for training.
pub const MIN_USER_ITEMS: usize = 5;

/// The cut-off of the validation metric.
const CUTOFF: usize = 10;

/// The warm accuracy a cold-item rule may cost, relative to the best (0.5 %): within it, the
/// pair that finds the held-out whole items best is chosen.
const WARM_TOLERANCE: f64 = 0.005;

/// The cut-off of the cold items' recall.
const COLD_CUTOFF: usize = 20;

/// Fewer validation users than this and the choice would be noise: the weight stays as given.
pub const MIN_VALIDATION_USERS: usize = 20;

/// One candidate's validation score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightTrial {
    /// `α`.
    pub weight: f32,
    /// The cold-item rule.
    pub placement: Placement,
    /// Mean nDCG@10 of the validation users on their held-out items with interactions left
    /// in training (warm).
    pub ndcg: f64,
    /// Mean recall@20 of the users of the items held out whole (cold); 0 when none was.
    pub cold_recall: f64,
}

/// The pair chosen, and how every candidate did.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightChoice {
    /// The best weight.
    pub weight: f32,
    /// The best placement at that weight.
    pub placement: Placement,
    /// Every candidate pair, ascending by weight, then in [`Placement::ALL`] order.
    pub trials: Vec<WeightTrial>,
    /// Users with held-out items.
    pub users: usize,
    /// Held-out interactions.
    pub held_out: usize,
    /// Linked items with interactions held out whole (as many, in share, as the catalogue's
    /// linked items without interactions).
    pub held_items: usize,
    /// The weight was chosen (not given with `--kg-weight`).
    pub chose_weight: bool,
    /// The placement was chosen (`--cold-placement auto`).
    pub chose_placement: bool,
    /// The weight that scored best but whose gain over `α = 0` was within the validation's
    /// noise, so plain EASE was kept.
    pub turned_down: Option<f32>,
}

impl WeightChoice {
    /// One line for `train`'s notes.
    pub fn note(&self) -> String {
        // The best warm nDCG of each weight tried (over its placements).
        let best = |w: f32| {
            self.trials
                .iter()
                .filter(|t| t.weight == w)
                .map(|t| t.ndcg)
                .fold(f64::NEG_INFINITY, f64::max)
        };
        let mut tried: Vec<f32> = self.trials.iter().map(|t| t.weight).collect();
        tried.dedup();
        let weights: Vec<String> = tried
            .iter()
            .map(|&w| format!("{w} → {:.4}", best(w)))
            .collect();
        let placements: Vec<String> = self
            .trials
            .iter()
            .filter(|t| t.weight == self.weight)
            .map(|t| {
                format!(
                    "{} {:.4} (new items' recall@{COLD_CUTOFF} {:.4})",
                    t.placement.name(),
                    t.ndcg,
                    t.cold_recall
                )
            })
            .collect();
        let carved = format!(
            "on validation rows carved from the training data ({} interactions of {} users held \
             out",
            self.held_out, self.users
        );
        let weight = format!(
            "graph weight α = {} (warm nDCG@{CUTOFF} by weight: {}{}; --kg-weight fixes it)",
            self.weight,
            weights.join(", "),
            match self.turned_down {
                Some(w) => format!(
                    "; {w} scored best, but by less than one standard error of the per-user \
                     differences from α = 0, so the graph is not weighted"
                ),
                None => String::new(),
            }
        );
        let placement = match self.held_items {
            // No linked item lacks interactions: no new item to place, and none to learn from.
            0 => format!(
                "cold-item placement {}: the catalogue has no linked item without interactions, \
                 so there was nothing to choose on",
                self.placement.name()
            ),
            n => format!(
                "cold-item placement {} ({n} linked items held out whole; at α = {}: {})",
                self.placement.name(),
                self.weight,
                placements.join(", ")
            ),
        };
        match (self.chose_weight, self.chose_placement) {
            (true, true) => format!("kg-ease chose {weight} and {placement} {carved})"),
            (true, false) => format!("kg-ease chose {weight} {carved})"),
            _ => format!("kg-ease chose {placement} {carved})"),
        }
    }
}

/// A training matrix with some of each user's items, and some items whole, held out.
struct Carved {
    train: InteractionMatrix,
    /// (user, held-out warm items, held-out items of those held out whole).
    held: Vec<(UserId, HashSet<u32>, HashSet<u32>)>,
    /// Items held out whole.
    held_items: usize,
}

/// Holds out, chosen by a generator seeded with `seed`: with `whole_items` (a placement to
/// choose), as large a share of the linked items with interactions as the catalogue's share of
/// linked items without any (whole), then `HOLDOUT` of the remaining items of every user with at
/// least `MIN_USER_ITEMS`.
fn carve(
    matrix: &InteractionMatrix,
    graph: &ItemGraph,
    whole_items: bool,
    seed: u64,
) -> Result<Carved, FitError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6b67_6561_7365_5f61);
    let n = matrix.n_items();
    let degrees = matrix.item_degrees();
    let linked: Vec<usize> = (0..n).filter(|&i| graph.entity_of(i).is_some()).collect();
    let mut warm_linked: Vec<usize> = linked
        .iter()
        .copied()
        .filter(|&i| degrees.get(i).is_some_and(|&d| d > 0))
        .collect();
    let cold_share = match whole_items {
        true => 1.0 - warm_linked.len() as f64 / linked.len().max(1) as f64,
        false => 0.0,
    };
    let n_whole = (warm_linked.len() as f64 * cold_share).round() as usize;
    if n_whole > 0 {
        warm_linked.shuffle(&mut rng);
    }
    let mut whole = vec![false; n];
    for &i in &warm_linked[..n_whole.min(warm_linked.len())] {
        whole[i] = true;
    }
    let mut entries = Vec::with_capacity(matrix.nnz());
    let mut held = Vec::new();
    for u in 0..matrix.n_users() {
        let user = UserId(u as u32);
        let (items, values) = matrix.user_row(user);
        let mut cold: HashSet<u32> = HashSet::new();
        let mut rest: Vec<usize> = Vec::with_capacity(items.len());
        for (k, &i) in items.iter().enumerate() {
            if whole[i as usize] {
                cold.insert(i);
            } else {
                rest.push(k);
            }
        }
        let n_held = if rest.len() >= MIN_USER_ITEMS {
            ((rest.len() as f64 * HOLDOUT).round() as usize).max(1)
        } else {
            0
        };
        rest.shuffle(&mut rng);
        let (picked, kept) = rest.split_at(n_held);
        let warm: HashSet<u32> = picked.iter().map(|&k| items[k]).collect();
        entries.extend(kept.iter().map(|&k| (user, ItemId(items[k]), values[k])));
        if !warm.is_empty() || !cold.is_empty() {
            held.push((user, warm, cold));
        }
    }
    let train =
        InteractionMatrix::from_ids(matrix.users().clone(), matrix.items().clone(), &entries)
            .map_err(|e| FitError::Internal(format!("carving validation rows: {e}")))?;
    Ok(Carved {
        train,
        held,
        held_items: n_whole,
    })
}

/// One user's list under `placement`: `B`'s scores, with the placed cold items' scores in place
/// of the fit's.
fn validation_list(
    scores: &mut [f32],
    buf: &mut Vec<crate::cf::Scored>,
    history: &[u32],
    columns: &[ColdColumn],
    placement: Placement,
) -> Vec<u32> {
    for column in columns {
        if let Some(scale) = column.scale(placement) {
            let sum: f32 = history
                .iter()
                .filter_map(|&j| column.mean.get(j as usize))
                .sum();
            scores[column.item] = scale * sum;
        }
    }
    top_k(scores, CUTOFF.max(COLD_CUTOFF), history, buf)
        .into_iter()
        .map(|s| s.item.0)
        .collect()
}

/// `best`, unless the graph's gain there is noise: then the trial with the same placement at
/// `α = 0` (plain EASE). The gain is the mean over the validation users of `best`'s warm
/// nDCG@10 minus that trial's, paired per user; it must exceed one standard error of those
/// differences. A graph whose facts do not help (ml-100k's Freebase graph) otherwise gets a
/// small weight on some carvings by chance, and costs a little on the test rows.
fn proven(best: usize, trials: &[WeightTrial], warm_by_trial: &[Vec<Option<f64>>]) -> usize {
    let chosen = &trials[best];
    let Some(plain) = trials
        .iter()
        .position(|t| t.weight == 0.0 && t.placement == chosen.placement)
    else {
        return best;
    };
    if plain == best {
        return best;
    }
    let gains: Vec<f64> = warm_by_trial[best]
        .iter()
        .zip(&warm_by_trial[plain])
        .filter_map(|(a, b)| Some((*a)? - (*b)?))
        .collect();
    if gains.len() < 2 {
        return best;
    }
    let n = gains.len() as f64;
    let mean = gains.iter().sum::<f64>() / n;
    let variance = gains.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / (n - 1.0);
    if mean > (variance / n).sqrt() {
        best
    } else {
        plain
    }
}

/// Chooses `α` among [`CANDIDATE_WEIGHTS`] and a [`Placement`] for `params` on `matrix` and
/// `graph`, or `None` when the graph gives no feature or too few users have items to hold out.
pub fn choose_graph_weight(
    params: &KgEaseParams,
    matrix: &InteractionMatrix,
    graph: &ItemGraph,
    seed: u64,
    cancel: &AtomicBool,
) -> Result<Option<WeightChoice>, FitError> {
    params.check()?;
    let n = checked_items(matrix)?;
    let features = params.features(graph, n);
    if features.is_empty() {
        return Ok(None);
    }
    let solver = Solver::for_items(params.neighbours, n);
    super::check_placement(solver, params)?;
    let carved = carve(matrix, graph, params.choose_placement, seed)?;
    if carved.held.len() < MIN_VALIDATION_USERS {
        return Ok(None);
    }
    let weights: Vec<f32> = match params.choose_weight {
        true => CANDIDATE_WEIGHTS.to_vec(),
        false => vec![params.graph_weight],
    };
    let allowed = |p: Placement| params.choose_placement || p == params.placement;
    let mut trials = Vec::with_capacity(weights.len() * Placement::ALL.len());
    // Each trial's warm nDCG per validation user (`None`: the user holds no warm item).
    let mut warm_by_trial: Vec<Vec<Option<f64>>> = Vec::with_capacity(trials.capacity());
    let lambda = params.regularization.lambda(mean_diagonal(&carved.train));
    let grams = match solver {
        Solver::Dense => Some(CandidateGrams::new(
            params,
            &carved.train,
            &features,
            n,
            lambda,
        )),
        Solver::Sparse(_) => None,
    };
    for weight in weights {
        stop_if(cancel)?;
        let fitted = match &grams {
            Some(grams) => grams.weights(weight)?,
            None => {
                let weight_sq = KgEaseParams {
                    graph_weight: weight,
                    ..*params
                }
                .feature_weights(&features);
                let sets = [interaction_rows(&carved.train), features.rows(&weight_sq)];
                solver.fit(&sets, n, lambda, cancel)?
            }
        };
        let columns = cold_columns(&fitted, &carved.train, graph);
        // Per user in parallel, summed in user order: the same mean on any thread count.
        // (warm nDCG, cold recall) per user and placement; `None` where the user holds none.
        let per_user: Vec<[(Option<f64>, Option<f64>); 3]> = carved
            .held
            .par_iter()
            .map_init(
                || (vec![0.0f32; n], Vec::new()),
                |(scores, buf), (user, warm, cold)| {
                    let history = carved.train.user_row(*user).0;
                    fitted.score(history, scores);
                    Placement::ALL.map(|placement| {
                        let list = validation_list(scores, buf, history, &columns, placement);
                        (
                            (!warm.is_empty()).then(|| user_scores(&list, warm, CUTOFF).ndcg),
                            (!cold.is_empty())
                                .then(|| user_scores(&list, cold, COLD_CUTOFF).recall),
                        )
                    })
                },
            )
            .collect();
        // `+ 0.0`: an empty sum is -0.0, which would print as "-0.0000".
        let mean = |values: Vec<f64>| values.iter().sum::<f64>() / values.len().max(1) as f64 + 0.0;
        for (k, placement) in Placement::ALL.into_iter().enumerate() {
            if !allowed(placement) {
                continue;
            }
            trials.push(WeightTrial {
                weight,
                placement,
                ndcg: mean(per_user.iter().filter_map(|u| u[k].0).collect()),
                cold_recall: mean(per_user.iter().filter_map(|u| u[k].1).collect()),
            });
            warm_by_trial.push(per_user.iter().map(|u| u[k].0).collect());
        }
    }
    // The best warm accuracy; within WARM_TOLERANCE of it, the best cold recall (then warm).
    let best_warm = trials
        .iter()
        .map(|t| t.ndcg)
        .fold(f64::NEG_INFINITY, f64::max);
    let Some(best) = (0..trials.len())
        .filter(|&k| trials[k].ndcg >= best_warm * (1.0 - WARM_TOLERANCE))
        .reduce(|best, k| {
            let (b, t) = (&trials[best], &trials[k]);
            let better = t.cold_recall > b.cold_recall
                || (t.cold_recall == b.cold_recall && t.ndcg > b.ndcg);
            if better { k } else { best }
        })
    else {
        return Ok(None);
    };
    let proven_best = proven(best, &trials, &warm_by_trial);
    let turned_down = (proven_best != best).then_some(trials[best].weight);
    let best = trials[proven_best];
    Ok(Some(WeightChoice {
        weight: best.weight,
        placement: best.placement,
        trials,
        users: carved.held.len(),
        held_out: carved
            .held
            .iter()
            .map(|(_, warm, cold)| warm.len() + cold.len())
            .sum(),
        held_items: carved.held_items,
        chose_weight: params.choose_weight,
        chose_placement: params.choose_placement,
        turned_down,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(weight: f32) -> WeightTrial {
        WeightTrial {
            weight,
            placement: Placement::Off,
            ndcg: 0.0,
            cold_recall: 0.0,
        }
    }

    #[test]
    fn a_graph_gain_within_the_noise_falls_back_to_plain_ease() {
        let trials = [trial(0.0), trial(0.45)];
        let plain: Vec<Option<f64>> = (0..100).map(|u| Some(0.3 + 0.001 * u as f64)).collect();
        // Every user gains 0.01: proven.
        let steady: Vec<Option<f64>> = plain.iter().map(|v| v.map(|v| v + 0.01)).collect();
        assert_eq!(proven(1, &trials, &[plain.clone(), steady]), 1);
        // A mean gain of 0.002 from users swinging ±0.1: noise, so α = 0.
        let swinging: Vec<Option<f64>> = plain
            .iter()
            .enumerate()
            .map(|(u, v)| v.map(|v| v + if u % 2 == 0 { 0.102 } else { -0.098 }))
            .collect();
        assert_eq!(proven(1, &trials, &[plain.clone(), swinging]), 0);
        // Users without warm items are left out of the pairing; α = 0 itself stands.
        let sparse: Vec<Option<f64>> = plain
            .iter()
            .enumerate()
            .map(|(u, v)| if u < 98 { None } else { v.map(|v| v + 0.5) })
            .collect();
        assert_eq!(proven(1, &trials, &[plain.clone(), sparse]), 1);
        assert_eq!(proven(0, &trials, &[plain.clone(), plain]), 0);
    }
}
