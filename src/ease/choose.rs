//! `kg-ease` chooses its graph weight `α` (and, unless `--cold-placement` names a rule, its
//! cold-item [`Placement`]) itself: on validation rows carved from the training matrix, each
//! candidate weight is fitted, each allowed placement applied, and every pair scored; the best
//! is kept. A graph whose facts do not help ranking (the Freebase graph of ml-100k, against the
//! DBpedia one) then gets a small weight, or none, instead of hurting, with no tuner run and
//! nothing read from test files.
//!
//! The validation rows are a share of every user's items and, when the placement is chosen, as
//! many linked items with interactions held out whole as the catalogue's linked items without
//! any hold *new* items: those beyond what rarity explains ([`new_items`]). Items without
//! interactions in a catalogue drawn at random are rare ones (a film whose one rating is
//! elsewhere), which placing at their neighbours' strength would crowd into every list; items
//! added ahead of their first interactions are typical ones, which it finds. Validation lists
//! leave out the catalogue's own items without interactions (no held-out row can say anything of
//! them); the rare items the carving itself empties stay in. Every pair is scored by nDCG@10 on
//! all of a user's held-out items, warm and whole-held together, so the validation weighs warm
//! accuracy against new items in the proportion the catalogue is estimated to hold them. A
//! weight must beat `α = 0`, and a placement `off`, by more than the noise ([`proven`]).
//! Candidate weights are fitted in `f32` from Gram matrices built once
//! ([`super::CandidateGrams`]). The carving is seeded; ties keep the smaller weight and the
//! earlier placement (off first).

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::cold::{
    ColdColumn, Placement, WholeItems, cold_columns, cold_neighbours, hold_out_whole, new_items,
};
use super::{
    CandidateGrams, GraphFeatures, KgEaseParams, Solver, checked_items, interaction_rows,
    mean_diagonal, stop_if,
};
use crate::cf::{FitError, InteractionMatrix, top_k_among};
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

/// The cut-off of the cold items' recall.
const COLD_CUTOFF: usize = 20;

/// How many carvings, each with its own items held out whole, the placement is chosen on at the
/// weight the first one chose (1 when none is held out whole).
pub const WHOLE_DRAWS: usize = 4;

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
    /// Mean nDCG@10 of the validation users on all their held-out items, warm and cold: what
    /// the choice ranks by.
    pub overall: f64,
}

/// The pair chosen, and how every candidate did.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightChoice {
    /// The best weight.
    pub weight: f32,
    /// The best placement at that weight.
    pub placement: Placement,
    /// Every candidate pair, ascending by weight, then in [`Placement::ALL`] order (those at
    /// the chosen weight pooled over [`Self::draws`] carvings).
    pub trials: Vec<WeightTrial>,
    /// Every candidate pair scored on the first carving alone: what the weight was chosen on,
    /// so the note's table of weights compares like with like.
    pub first_trials: Vec<WeightTrial>,
    /// Users with held-out items.
    pub users: usize,
    /// Held-out interactions.
    pub held_out: usize,
    /// Carvings pooled at the chosen weight: [`WHOLE_DRAWS`] with items held out whole, else 1
    /// (the other weights are scored on the first alone).
    pub draws: usize,
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
    /// The placement that scored best but whose gain over `off` was within the noise.
    pub placement_turned_down: Option<Placement>,
    /// The catalogue's linked items without interactions.
    pub unplaced: usize,
    /// How many of them are estimated new rather than rare ([`new_items`]).
    pub new_items: f64,
}

impl WeightChoice {
    /// One line for `train`'s notes.
    pub fn note(&self) -> String {
        // The best nDCG of each weight tried (over its placements), on the carving the weight
        // was chosen on (the chosen weight's pooled figure would not compare with the others).
        let best = |w: f32| {
            self.first_trials
                .iter()
                .filter(|t| t.weight == w)
                .map(|t| t.overall)
                .fold(f64::NEG_INFINITY, f64::max)
        };
        let mut tried: Vec<f32> = self.first_trials.iter().map(|t| t.weight).collect();
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
                    "{} {:.4} (warm {:.4}, new items' recall@{COLD_CUTOFF} {:.4})",
                    t.placement.name(),
                    t.overall,
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
            "graph weight α = {} (nDCG@{CUTOFF} on held-out items by weight: {}{}; --kg-weight \
             fixes it)",
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
        let placement = match (self.unplaced, self.held_items) {
            // No linked item lacks interactions: no new item to place, and none to learn from.
            (0, _) => format!(
                "cold-item placement {} (the catalogue has no linked item without \
                 interactions: nothing to place)",
                self.placement.name()
            ),
            (unplaced, held) => format!(
                "cold-item placement {}{} (of the catalogue's {unplaced} linked items without \
                 interactions, about {:.0} are new rather than rare, beyond what its items with \
                 one and two interactions explain; {held} linked items held out whole to match; at the weight chosen, {} carvings pooled; \
                 nDCG@{CUTOFF} on all held-out items at α = {}: {})",
                self.placement.name(),
                match self.placement_turned_down {
                    Some(p) => format!(
                        " ({} scored best, but by less than one standard error of the per-user \
                         differences from off)",
                        p.name()
                    ),
                    None => String::new(),
                },
                self.new_items,
                self.draws,
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
    /// The catalogue's linked items without interactions.
    unplaced: usize,
    /// How many of them are estimated new ([`new_items`]).
    new_items: f64,
    /// The items with interactions in the whole training matrix, ascending: validation lists
    /// are drawn from them (nothing can be learnt there about the catalogue's items without
    /// any, which no held-out row holds).
    known: Vec<u32>,
}

/// Holds out, chosen by a generator seeded with `seed`: with `whole_items` (a placement to
/// choose), as large a share of the linked items with interactions as the catalogue's linked
/// items estimated new ([`new_items`]) are of its linked items (whole), then `HOLDOUT` of the
/// remaining items of every user with at least `MIN_USER_ITEMS`.
fn carve(
    matrix: &InteractionMatrix,
    graph: &ItemGraph,
    whole_items: bool,
    seed: u64,
) -> Result<Carved, FitError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6b67_6561_7365_5f61);
    let n = matrix.n_items();
    let degrees = matrix.item_degrees();
    let linked: Vec<bool> = (0..n).map(|i| graph.entity_of(i).is_some()).collect();
    let held_whole = match whole_items {
        true => hold_out_whole(matrix, &linked, &mut rng),
        false => {
            let (new_items, unplaced) = new_items(matrix, &linked);
            WholeItems {
                whole: vec![false; n],
                count: 0,
                unplaced,
                new_items,
            }
        }
    };
    let whole = &held_whole.whole;
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
    let known = (0..n as u32)
        .filter(|&i| degrees.get(i as usize).is_some_and(|&d| d > 0))
        .collect();
    Ok(Carved {
        train,
        held,
        held_items: held_whole.count,
        unplaced: held_whole.unplaced,
        new_items: held_whole.new_items,
        known,
    })
}

/// One user's list under `placement`: `B`'s scores, with the placed cold items' scores in place
/// of the fit's.
fn validation_list(
    scores: &mut [f32],
    history: &[u32],
    known: &[u32],
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
    top_k_among(scores, CUTOFF.max(COLD_CUTOFF), known, history)
        .into_iter()
        .map(|s| s.item.0)
        .collect()
}

/// Whether trial `better`'s gain over trial `base` is more than noise: the mean over the
/// validation users of `better`'s nDCG@10 minus `base`'s, paired per user, must exceed one
/// standard error of those differences. A graph whose facts do not help (ml-100k's Freebase
/// graph) otherwise gets a small weight on some carvings by chance, and costs a little on the
/// test rows; so would a cold-item placement.
fn proven(better: usize, base: usize, by_trial: &[Vec<Option<f64>>]) -> bool {
    if better == base {
        return true;
    }
    let gains: Vec<f64> = by_trial[better]
        .iter()
        .zip(&by_trial[base])
        .filter_map(|(a, b)| Some((*a)? - (*b)?))
        .collect();
    if gains.len() < 2 {
        return true;
    }
    let n = gains.len() as f64;
    let mean = gains.iter().sum::<f64>() / n;
    let variance = gains.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / (n - 1.0);
    mean > (variance / n).sqrt()
}

/// The trial with `placement` whose weight has the best nDCG@10 on all held-out items (ties
/// keep the smaller), unless its gain over `α = 0` is not [`proven`]: then that at `α = 0`, and
/// the weight turned down.
fn best_weight(
    trials: &[WeightTrial],
    by_trial: &[Vec<Option<f64>>],
    placement: Placement,
) -> Option<(usize, Option<f32>)> {
    let best_of = |keep: &dyn Fn(&WeightTrial) -> bool| {
        (0..trials.len())
            .filter(|&k| keep(&trials[k]))
            .reduce(|best, k| match trials[k].overall > trials[best].overall {
                true => k,
                false => best,
            })
    };
    let best = best_of(&|t| t.placement == placement)?;
    match best_of(&|t| t.placement == placement && t.weight == 0.0) {
        Some(plain) if !proven(best, plain, by_trial) => Some((plain, Some(trials[best].weight))),
        _ => Some((best, None)),
    }
}

/// The trial chosen among `trials` (ascending by weight, then in [`Placement::ALL`] order), and
/// the weight turned down on the way, if any. For each placement, the weight with the best
/// nDCG@10 on all held-out items (ties keep the smaller), unless its gain over `α = 0` with that
/// placement is not [`proven`]; then, among the placements, the best the same way, unless its
/// gain over `off` is not proven. Also says which weight and placement were turned down.
fn select(
    trials: &[WeightTrial],
    by_trial: &[Vec<Option<f64>>],
) -> Option<(usize, Option<f32>, Option<Placement>)> {
    let per_placement: Vec<(usize, Option<f32>)> = Placement::ALL
        .into_iter()
        .filter_map(|placement| best_weight(trials, by_trial, placement))
        .collect();
    let best = per_placement.iter().copied().reduce(|best, p| {
        match trials[p.0].overall > trials[best.0].overall {
            true => p,
            false => best,
        }
    })?;
    match per_placement
        .iter()
        .find(|p| trials[p.0].placement == Placement::Off)
    {
        Some(&(off, turned_down)) if !proven(best.0, off, by_trial) => {
            Some((off, turned_down, Some(trials[best.0].placement)))
        }
        _ => Some((best.0, best.1, None)),
    }
}

/// A trial's scores per validation user: (warm nDCG@10, new items' recall@20, nDCG@10 on all
/// held-out items); `None` where the user holds none.
type UserScores = (Option<f64>, Option<f64>, Option<f64>);

/// Every pair of `weights` and placement `allowed` fitted on `carved` and scored per user:
/// `(weight, placement, scores)`, ascending by weight, then in [`Placement::ALL`] order.
#[allow(clippy::too_many_arguments)]
fn score_carving(
    params: &KgEaseParams,
    solver: Solver,
    features: &GraphFeatures,
    graph: &ItemGraph,
    carved: &Carved,
    weights: &[f32],
    allowed: &dyn Fn(Placement) -> bool,
    cancel: &AtomicBool,
) -> Result<Vec<(f32, Placement, Vec<UserScores>)>, FitError> {
    let n = carved.train.n_items();
    let lambda = params.regularization.lambda(mean_diagonal(&carved.train));
    let grams = match solver {
        Solver::Dense => Some(CandidateGrams::new(
            params,
            &carved.train,
            features,
            n,
            lambda,
        )),
        Solver::Sparse(_) => None,
    };
    let cold = cold_neighbours(&carved.train, graph);
    let mut scored = Vec::new();
    for &weight in weights {
        stop_if(cancel)?;
        let fitted = match &grams {
            Some(grams) => grams.weights(weight)?,
            None => {
                let weight_sq = KgEaseParams {
                    graph_weight: weight,
                    ..*params
                }
                .feature_weights(features);
                let sets = [interaction_rows(&carved.train), features.rows(&weight_sq)];
                solver.fit(&sets, n, lambda, cancel)?
            }
        };
        let columns = cold_columns(&fitted, &cold);
        // Per user in parallel, collected in user order: the same means on any thread count.
        let per_user: Vec<[UserScores; Placement::ALL.len()]> = carved
            .held
            .par_iter()
            .map_init(
                || vec![0.0f32; n],
                |scores, (user, warm, cold)| {
                    let history = carved.train.user_row(*user).0;
                    fitted.score(history, scores);
                    let all: HashSet<u32> = warm.union(cold).copied().collect();
                    Placement::ALL.map(|placement| {
                        let list =
                            validation_list(scores, history, &carved.known, &columns, placement);
                        (
                            (!warm.is_empty()).then(|| user_scores(&list, warm, CUTOFF).ndcg),
                            (!cold.is_empty())
                                .then(|| user_scores(&list, cold, COLD_CUTOFF).recall),
                            Some(user_scores(&list, &all, CUTOFF).ndcg),
                        )
                    })
                },
            )
            .collect();
        for (k, placement) in Placement::ALL.into_iter().enumerate() {
            if allowed(placement) {
                scored.push((weight, placement, per_user.iter().map(|u| u[k]).collect()));
            }
        }
    }
    Ok(scored)
}

/// Every trial's means, and its nDCG@10 on all held-out items per validation user.
fn summary(
    pooled: &[(f32, Placement, Vec<UserScores>)],
) -> (Vec<WeightTrial>, Vec<Vec<Option<f64>>>) {
    // `+ 0.0`: an empty sum is -0.0, which would print as "-0.0000".
    let mean = |values: Vec<f64>| values.iter().sum::<f64>() / values.len().max(1) as f64 + 0.0;
    pooled
        .iter()
        .map(|(weight, placement, users)| {
            (
                WeightTrial {
                    weight: *weight,
                    placement: *placement,
                    ndcg: mean(users.iter().filter_map(|u| u.0).collect()),
                    cold_recall: mean(users.iter().filter_map(|u| u.1).collect()),
                    overall: mean(users.iter().filter_map(|u| u.2).collect()),
                },
                users.iter().map(|u| u.2).collect(),
            )
        })
        .unzip()
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
    // The sparse approximation places nothing, so there is no placement to choose.
    let choose_placement = params.choose_placement && solver == Solver::Dense;
    let first = carve(matrix, graph, choose_placement, seed)?;
    if first.held.len() < MIN_VALIDATION_USERS {
        return Ok(None);
    }
    let weights: Vec<f32> = match params.choose_weight {
        true => CANDIDATE_WEIGHTS.to_vec(),
        false => vec![params.graph_weight],
    };
    let allowed = |p: Placement| choose_placement || p == params.placement;
    let mut pooled = score_carving(
        params, solver, &features, graph, &first, &weights, &allowed, cancel,
    )?;
    let (trials, by_trial) = summary(&pooled);
    let first_trials = trials.clone();
    let Some((mut best, mut turned_down, mut placement_turned_down)) = select(&trials, &by_trial)
    else {
        return Ok(None);
    };
    // With items held out whole, which ones makes much of the difference between placements:
    // at the weight chosen, more carvings are scored and their users pooled, and the placement
    // is chosen again on them.
    let draws = match first.held_items {
        0 => 1,
        _ => WHOLE_DRAWS,
    };
    if draws > 1 {
        let weight = pooled[best].0;
        for d in 1..draws {
            let carved = carve(
                matrix,
                graph,
                choose_placement,
                seed.wrapping_add((d as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            )?;
            let scored = score_carving(
                params,
                solver,
                &features,
                graph,
                &carved,
                &[weight],
                &allowed,
                cancel,
            )?;
            for (w, placement, more) in scored {
                if let Some(into) = pooled.iter_mut().find(|t| t.0 == w && t.1 == placement) {
                    into.2.extend(more);
                }
            }
        }
        let at: Vec<usize> = (0..pooled.len())
            .filter(|&k| pooled[k].0 == weight)
            .collect();
        let subset: Vec<_> = at.iter().map(|&k| pooled[k].clone()).collect();
        let (at_weight, by_user) = summary(&subset);
        if let Some((k, _, turned)) = select(&at_weight, &by_user) {
            placement_turned_down = turned;
            // Off after all: at the weight off itself chose on the first carving.
            let off = match at_weight[k].placement {
                Placement::Off => best_weight(&trials, &by_trial, Placement::Off),
                _ => None,
            };
            (best, turned_down) = match (off, at_weight[k].placement == trials[best].placement) {
                (Some(off), _) => off,
                (None, true) => (at[k], turned_down),
                // Another placement at the same weight: a weight turned down on the way to it
                // stays turned down (the note names it).
                (None, false) => (at[k], turned_down),
            };
        }
    }
    let (trials, _) = summary(&pooled);
    let best = trials[best];
    Ok(Some(WeightChoice {
        weight: best.weight,
        placement: best.placement,
        trials,
        first_trials,
        users: first.held.len(),
        held_out: first
            .held
            .iter()
            .map(|(_, warm, cold)| warm.len() + cold.len())
            .sum(),
        held_items: first.held_items,
        draws,
        chose_weight: params.choose_weight,
        chose_placement: choose_placement,
        turned_down,
        placement_turned_down,
        unplaced: first.unplaced,
        new_items: first.new_items,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn trial(weight: f32, placement: Placement, overall: f64) -> WeightTrial {
        WeightTrial {
            weight,
            placement,
            ndcg: overall,
            cold_recall: 0.0,
            overall,
        }
    }

    /// 100 users' scores around `base`, each `gain` above it.
    fn users(base: f64, gain: f64) -> Vec<Option<f64>> {
        (0..100)
            .map(|u| Some(base + 0.001 * u as f64 + gain))
            .collect()
    }

    /// `users(base, 0)` shifted by `gain` on average, swinging ±0.1 per user.
    fn swinging(base: f64, gain: f64) -> Vec<Option<f64>> {
        users(base, gain)
            .into_iter()
            .enumerate()
            .map(|(u, v)| v.map(|v| v + if u % 2 == 0 { 0.1 } else { -0.1 }))
            .collect()
    }

    #[test]
    fn a_gain_within_the_noise_is_not_proven() {
        let plain = users(0.3, 0.0);
        // Every user gains 0.01: proven.
        assert!(proven(1, 0, &[plain.clone(), users(0.3, 0.01)]));
        // A mean gain of 0.002 from users swinging ±0.1: noise.
        assert!(!proven(1, 0, &[plain.clone(), swinging(0.3, 0.002)]));
        // Users without a score are left out of the pairing; a trial against itself stands.
        let sparse: Vec<Option<f64>> = plain
            .iter()
            .enumerate()
            .map(|(u, v)| if u < 98 { None } else { v.map(|v| v + 0.5) })
            .collect();
        assert!(proven(1, 0, &[plain.clone(), sparse]));
        assert!(proven(0, 0, &[plain.clone(), plain]));
    }

    #[test]
    fn the_choice_takes_the_best_on_all_held_out_items_once_it_beats_the_noise() {
        use Placement::{Mean, Off, Restored};
        // α 0 and 0.45, each with the three placements, as `choose_graph_weight` lists them.
        let trials = [
            trial(0.0, Off, 0.30),
            trial(0.0, Mean, 0.30),
            trial(0.0, Restored, 0.30),
            trial(0.45, Off, 0.31),
            trial(0.45, Mean, 0.31),
            trial(0.45, Restored, 0.35),
        ];
        let steady = |gain| users(0.3, gain);
        // Restored at 0.45 gains steadily over off: chosen.
        let by_trial = [
            steady(0.0),
            steady(0.0),
            steady(0.0),
            steady(0.01),
            steady(0.01),
            steady(0.05),
        ];
        assert_eq!(select(&trials, &by_trial), Some((5, None, None)));
        // Its gain over off is noise: off, at the weight off proved, and restored is named.
        let mut noisy = by_trial.clone();
        noisy[5] = swinging(0.3, 0.012);
        assert_eq!(select(&trials, &noisy), Some((3, None, Some(Restored))));
        // A gain of 0.012 against a standard error of 0.01 is proven, over off at α = 0 too.
        noisy[3] = swinging(0.3, 0.001);
        assert_eq!(select(&trials, &noisy), Some((5, None, None)));
        // The graph's gain is noise with every placement: off at α = 0, and 0.45 is named.
        noisy[4] = swinging(0.3, 0.001);
        noisy[5] = swinging(0.3, 0.005);
        assert_eq!(select(&trials, &noisy), Some((0, Some(0.45), None)));
        // Ties keep the smaller weight and the earlier placement.
        let flat = [
            trial(0.0, Off, 0.3),
            trial(0.0, Mean, 0.3),
            trial(0.45, Off, 0.3),
        ];
        let same = [steady(0.0), steady(0.0), steady(0.0)];
        assert_eq!(select(&flat, &same), Some((0, None, None)));
        assert_eq!(select(&[], &[]), None);
    }

    /// `users` users; item `i` has the first `degrees[i]` of them. Every item is linked, and
    /// items share a genre in fours.
    fn catalogue(degrees: &[usize], users: usize) -> (InteractionMatrix, ItemGraph) {
        use crate::cf::IdMap;
        use kgrec_kg::{EntityId, RelationId, Triple};
        let names = |prefix: &str, n: usize| {
            IdMap::from_names((0..n).map(|k| format!("{prefix}{k}")).collect()).unwrap()
        };
        let entries: Vec<(UserId, ItemId, f32)> = degrees
            .iter()
            .enumerate()
            .flat_map(|(i, &d)| (0..d).map(move |u| (UserId(u as u32), ItemId(i as u32), 1.0)))
            .collect();
        let n = degrees.len();
        let m = InteractionMatrix::from_ids(names("u", users), names("i", n), &entries).unwrap();
        let triples = (0..n)
            .map(|i| {
                Triple::new(
                    EntityId(i as u32),
                    RelationId(0),
                    EntityId((n + i / 4) as u32),
                )
            })
            .collect();
        let links = (0..n).map(|i| Some(EntityId(i as u32))).collect();
        (m, ItemGraph::new(n + n / 4 + 1, 1, triples, links))
    }

    /// 20 items every one of 40 users has, 4 with one user, 2 with two, and `zero` with none.
    fn degrees(zero: usize) -> Vec<usize> {
        let mut d = vec![40; 20];
        d.extend([1, 1, 1, 1, 2, 2]);
        d.extend(vec![0; zero]);
        d
    }

    #[test]
    fn items_without_interactions_beyond_what_rarity_explains_are_new() {
        // f₁ = 4, f₂ = 2: rarity explains 4·3 / (2·3) = 2 of them.
        let linked = |m: &InteractionMatrix| vec![true; m.n_items()];
        let (m, _) = catalogue(&degrees(10), 40);
        assert_eq!(new_items(&m, &linked(&m)), (8.0, 10));
        let (m, _) = catalogue(&degrees(1), 40);
        assert_eq!(new_items(&m, &linked(&m)), (0.0, 1));
        // Unlinked items count for nothing.
        let (m, _) = catalogue(&degrees(10), 40);
        assert_eq!(new_items(&m, &vec![false; m.n_items()]), (0.0, 0));
    }

    #[test]
    fn the_validation_holds_as_many_items_whole_as_the_catalogue_has_new_ones() {
        let (m, graph) = catalogue(&degrees(10), 40);
        let warm: Vec<u32> = (0..26).collect();
        for seed in 0..20 {
            let carved = carve(&m, &graph, true, seed).unwrap();
            // 26 warm of 36 linked items, 8 of them estimated new: round(26 · 8 / 36) = 6.
            assert_eq!(carved.held_items, 6);
            assert_eq!((carved.unplaced, carved.new_items), (10, 8.0));
            // Lists are drawn from the items with interactions alone.
            assert_eq!(carved.known, warm);
            let whole: HashSet<u32> = carved
                .held
                .iter()
                .flat_map(|(_, _, cold)| cold.iter().copied())
                .collect();
            assert_eq!(whole.len(), 6, "seed {seed}");
            assert!(
                whole
                    .iter()
                    .all(|&i| carved.train.item_degrees()[i as usize] == 0)
            );
            // Drawn along popularity: a rare item and the popular ones, whatever the seed.
            let rare = whole.iter().filter(|&&i| i >= 20).count();
            assert!((1..=2).contains(&rare), "seed {seed}: {whole:?}");
        }
        // Zero items beyond rarity, or no placement to choose: nothing is held out whole.
        let (m, graph) = catalogue(&degrees(1), 40);
        assert_eq!(carve(&m, &graph, true, 0).unwrap().held_items, 0);
        let (m, graph) = catalogue(&degrees(10), 40);
        assert_eq!(carve(&m, &graph, false, 0).unwrap().held_items, 0);
    }
}
