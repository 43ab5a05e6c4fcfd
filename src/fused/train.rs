//! Fitting the fused model: alternating implicit-ALS half-steps (item rows pulled towards their
//! entity's embedding) with epochs of TransE on the graph (entity embeddings pulled towards the
//! items), then BPR on the attention keys and `β`. Every random choice derives from the seed and
//! a fixed partition of the work into chunks, so the same seed gives the same model on any
//! thread count.

use std::time::Instant;

use ndarray::Array2;
use rand::Rng;
use rand::seq::SliceRandom;
use rayon::prelude::*;

use super::nearest::NearestItems;
use super::{Fused, ItemGraph, attention_weights, neighbourhood_term};
use crate::cf::linalg::{axpy, dot};
use crate::cf::{
    Als, EpochReport, FitError, InteractionMatrix, ParamError, RowPrior, at_least_one,
    non_negative, require, setters,
};
use kgrec_kg::numeric::optim::{Moments, Rule};
use kgrec_kg::numeric::seed::{rng_for, stream};

/// How an item's neighbourhood enters the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Attention {
    /// No neighbourhood term: the graph acts through the entity embeddings only.
    None,
    /// The plain mean of the neighbours' embeddings, with a learnt weight `β`.
    Uniform,
    /// User-specific relation weights `π_u(g) ∝ exp(x_u·ρ_g)`, keys and `β` learnt by BPR.
    Learned,
}

impl Attention {
    /// Parses the `--attention` spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" | "off" => Some(Self::None),
            "uniform" | "mean" => Some(Self::Uniform),
            "learned" | "on" => Some(Self::Learned),
            _ => None,
        }
    }
}

/// Hyper-parameters of the fused model; build with [`FusedParams::default`] and the setters.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FusedParams {
    /// Latent dimension of users, items, entities and relations.
    pub factors: usize,
    /// ALS L2 weight λ on users and item rows.
    pub regularization: f32,
    /// ALS confidence slope α in `c = 1 + α·r`.
    pub alpha: f32,
    /// Alternating sweeps.
    pub iterations: usize,
    /// Plain ALS sweeps before the graph joins (they place the items the embeddings start from).
    pub warmup: usize,
    /// Conjugate-gradient steps per row solve.
    pub cg_steps: usize,
    /// Weight `w` of the prior `w|y_i − η_{e(i)}|²` on linked item rows (0: no graph in the CF half).
    pub kg_weight: f32,
    /// TransE epochs per sweep.
    pub kg_epochs: usize,
    /// TransE epochs when the graph joins.
    pub kg_warmup_epochs: usize,
    /// Adagrad learning rate of the TransE half.
    pub kg_lr: f32,
    /// TransE margin, as a multiple of the root-mean-square norm of the item vectors.
    pub margin: f32,
    /// Corrupted triples per true triple.
    pub negatives: usize,
    /// How a linked item nobody has interacted with gets its vector. `None` (the default): from
    /// its `cold_neighbours` nearest items with interactions in the graph (see `nearest.rs`).
    /// `Some(s)`: `y_i = s·η_{e(i)}`, its entity's embedding scaled by `s`.
    #[serde(default)]
    pub cold_scale: Option<f32>,
    /// How many of the most similar items with interactions (Jaccard overlap of graph
    /// neighbours) place a cold item.
    #[serde(default = "default_cold_neighbours")]
    pub cold_neighbours: usize,
    /// Weight `v` of the prior `v|y_i − n_i|²` on linked item rows, `n_i` the place the item's
    /// `neighbours` nearest items in the graph mark (see `nearest.rs`; 0: no such prior).
    /// Models stored before it existed had none.
    #[serde(default)]
    pub neighbour_weight: f32,
    /// How many of the most similar items with interactions mark `n_i`.
    #[serde(default = "default_neighbours")]
    pub neighbours: usize,
    /// How far each sweep moves a linked entity towards the mean of its items (0..=1).
    pub coupling: f32,
    /// Triples per mini-batch.
    pub batch_size: usize,
    /// How an item's neighbourhood enters the score.
    pub attention: Attention,
    /// BPR epochs over the positives for the attention keys and `β`.
    pub attention_epochs: usize,
    /// Adam learning rate of the attention stage.
    pub attention_lr: f32,
    /// L2 weight on the attention keys.
    pub attention_reg: f32,
    /// Uniform draws per negative of the attention stage; the best-scored one is used.
    pub attention_candidates: usize,
    /// Share of every user's positives held out to fit the attention on.
    pub attention_holdout: f32,
}

fn default_cold_neighbours() -> usize {
    5
}

fn default_neighbours() -> usize {
    20
}

impl Default for FusedParams {
    fn default() -> Self {
        Self {
            factors: 16,
            regularization: 30.0,
            alpha: 4.0,
            iterations: 15,
            warmup: 2,
            cg_steps: 3,
            kg_weight: 10.0,
            kg_epochs: 3,
            kg_warmup_epochs: 20,
            kg_lr: 0.05,
            margin: 1.0,
            negatives: 2,
            cold_scale: None,
            cold_neighbours: default_cold_neighbours(),
            neighbour_weight: 10.0,
            neighbours: default_neighbours(),
            coupling: 0.2,
            batch_size: 1024,
            attention: Attention::None,
            attention_epochs: 5,
            attention_lr: 0.01,
            attention_reg: 1e-4,
            attention_candidates: 1,
            attention_holdout: 0.1,
        }
    }
}

/// Work items per parallel chunk: fixed, so the model does not depend on the thread count.
const CHUNK: usize = 128;

impl FusedParams {
    setters! {
        /// Latent dimension.
        factors: usize,
        /// ALS L2 weight.
        regularization: f32,
        /// ALS confidence slope.
        alpha: f32,
        /// Alternating sweeps.
        iterations: usize,
        /// Plain ALS sweeps first.
        warmup: usize,
        /// Weight of the entity prior on item rows.
        kg_weight: f32,
        /// TransE epochs per sweep.
        kg_epochs: usize,
        /// TransE epochs when the graph joins.
        kg_warmup_epochs: usize,
        /// TransE learning rate.
        kg_lr: f32,
        /// TransE margin (relative).
        margin: f32,
        /// Negatives per triple.
        negatives: usize,
        /// Entity-to-item coupling per sweep.
        coupling: f32,
        /// Nearest items with interactions that place a cold item.
        cold_neighbours: usize,
        /// Weight of the prior towards the place of an item's nearest items.
        neighbour_weight: f32,
        /// Nearest items that mark that place.
        neighbours: usize,
        /// How the neighbourhood enters the score.
        attention: Attention,
        /// BPR epochs of the attention stage.
        attention_epochs: usize,
        /// Learning rate of the attention stage.
        attention_lr: f32,
        /// L2 on the attention keys.
        attention_reg: f32,
        /// Draws per hard negative.
        attention_candidates: usize,
        /// Held-out share for the attention.
        attention_holdout: f32,
    }

    /// Gives a never-interacted linked item the vector `s·η_{e(i)}` instead of placing it among
    /// its nearest items with interactions.
    pub fn cold_scale(mut self, s: f32) -> Self {
        self.cold_scale = Some(s);
        self
    }

    /// Checks the ranges.
    pub fn check(&self) -> Result<(), ParamError> {
        at_least_one("factors", self.factors)?;
        at_least_one("cold_neighbours", self.cold_neighbours)?;
        at_least_one("neighbours", self.neighbours)?;
        non_negative("neighbour_weight", self.neighbour_weight)?;
        non_negative("regularization", self.regularization)?;
        non_negative("alpha", self.alpha)?;
        at_least_one("iterations", self.iterations)?;
        require(
            self.warmup < self.iterations,
            "warmup",
            self.warmup,
            "fewer than iterations",
        )?;
        at_least_one("cg_steps", self.cg_steps)?;
        non_negative("kg_weight", self.kg_weight)?;
        non_negative("kg_lr", self.kg_lr)?;
        non_negative("margin", self.margin)?;
        at_least_one("negatives", self.negatives)?;
        if let Some(s) = self.cold_scale {
            non_negative("cold_scale", s)?;
        }
        require(
            (0.0..=1.0).contains(&self.coupling),
            "coupling",
            self.coupling,
            "between 0 and 1",
        )?;
        at_least_one("batch_size", self.batch_size)?;
        non_negative("attention_lr", self.attention_lr)?;
        require(
            self.attention_holdout > 0.0 && self.attention_holdout < 1.0,
            "attention_holdout",
            self.attention_holdout,
            "strictly between 0 and 1",
        )?;
        non_negative("attention_reg", self.attention_reg)
    }

    fn als(&self) -> crate::cf::AlsParams {
        Als::params()
            .factors(self.factors)
            .regularization(self.regularization)
            .alpha(self.alpha)
            .iterations(self.iterations)
            .cg_steps(self.cg_steps)
    }

    /// Fits on `matrix` (whose item ids are `graph`'s) with `seed`. `progress` gets one report
    /// per sweep (the ALS loss) and one per attention epoch (the BPR loss).
    ///
    /// With attention, the keys and `β` must learn what the embeddings do not already explain,
    /// so they are fitted on interactions the embeddings did not see: a share
    /// (`attention_holdout`) of every user's positives is held out, the model is fitted on the
    /// rest, the attention on the held-out pairs, and then the embeddings are fitted again on
    /// everything and the learnt keys and `β` kept.
    pub fn fit(
        &self,
        matrix: &InteractionMatrix,
        graph: &ItemGraph,
        seed: u64,
        mut progress: impl FnMut(&EpochReport),
    ) -> Result<Fused, FitError> {
        self.check()?;
        if matrix.nnz() == 0 {
            return Err(FitError::Empty);
        }
        let start = Instant::now();
        let with_attention = self.attention != Attention::None
            && self.attention_epochs > 0
            && self.kg_weight > 0.0
            && graph.n_linked() > 0
            && !graph.triples().is_empty();
        let epochs = if with_attention {
            2 * self.iterations + self.attention_epochs
        } else {
            self.iterations
        };
        let mut report = |epoch: usize, loss: f64| {
            progress(&EpochReport {
                epoch,
                epochs,
                loss,
                elapsed: start.elapsed(),
            })
        };
        if !with_attention {
            return self.alternate(matrix, graph, seed, &mut |e, l| report(e, l));
        }
        let (fit_part, held_out) = hold_out(matrix, self.attention_holdout, seed)?;
        let mut first = self.alternate(&fit_part, graph, seed, &mut |e, l| report(e, l))?;
        self.fit_attention(&mut first, matrix, held_out, seed, |e, l| {
            report(self.iterations + e, l)
        });
        let mut model = self.alternate(matrix, graph, seed, &mut |e, l| {
            report(self.iterations + self.attention_epochs + e, l)
        })?;
        model.keys = first.keys;
        model.beta = first.beta;
        Ok(model)
    }

    /// The alternating fit of users, offsets and embeddings (no attention: keys 0, `β` 0).
    fn alternate(
        &self,
        matrix: &InteractionMatrix,
        graph: &ItemGraph,
        seed: u64,
        progress: &mut dyn FnMut(usize, f64),
    ) -> Result<Fused, FitError> {
        let d = self.factors;
        let (n, m) = (matrix.n_users(), matrix.n_items());
        let (ne, nr) = (graph.n_entities(), graph.n_relations());
        let als = self.als();
        let init = |rows: usize, stream: u64, scale: f32| -> Vec<f32> {
            let mut rng = rng_for(seed, stream);
            (0..rows * d)
                .map(|_| (rng.random::<f32>() - 0.5) * scale)
                .collect()
        };
        // ALS's own start (small positive values), so that without a graph this is ALS.
        let positive = |rows: usize, stream: u64| -> Vec<f32> {
            let mut rng = rng_for(seed, stream);
            (0..rows * d).map(|_| rng.random::<f32>() * 0.01).collect()
        };
        let mut x = positive(n, 0);
        let mut y = positive(m, 1);
        let mut entities = vec![0.0f32; ne * d];
        let mut relations = vec![0.0f32; nr * d];
        let mut kg = KgState::new(ne, nr, d);
        let has_positives: Vec<bool> = (0..m)
            .map(|i| !matrix.item_row(crate::ids::ItemId(i as u32)).0.is_empty())
            .collect();
        let linked: Vec<bool> = (0..m).map(|i| graph.entity_of(i).is_some()).collect();
        let use_graph = (self.kg_weight > 0.0 || self.neighbour_weight > 0.0)
            && graph.n_linked() > 0
            && !graph.triples().is_empty();
        let mut prior = vec![0.0f32; m * d];
        let nearest = if use_graph {
            let k = if self.neighbour_weight > 0.0 {
                self.neighbours.max(self.cold_neighbours)
            } else {
                self.cold_neighbours
            };
            NearestItems::build(graph, &has_positives, &linked, k)
        } else {
            NearestItems::default()
        };
        // The item half-step's prior: per linked row, the weighted mean of η_{e(i)} and the
        // place n_i of its nearest items, with their summed weight.
        let mut step_means = vec![0.0f32; m * d];
        let mut step_weights = vec![0.0f32; m];

        for it in 0..self.iterations {
            let graph_on = use_graph && it >= self.warmup;
            if graph_on {
                if it == self.warmup {
                    // The graph joins: entities start at their items' mean (or small noise).
                    entities = init(ne, 2, 0.1 * rms(&y, &has_positives, d));
                    relations = init(nr, 3, 0.1 * rms(&y, &has_positives, d));
                    couple(&mut entities, &y, graph, &has_positives, d, 1.0);
                }
                let rounds = if it == self.warmup {
                    self.kg_warmup_epochs
                } else {
                    self.kg_epochs
                };
                let margin = self.margin * rms(&y, &has_positives, d);
                for e in 0..rounds {
                    kg.epoch(
                        self,
                        graph,
                        &mut entities,
                        &mut relations,
                        margin,
                        seed,
                        (it * 1000 + e) as u64,
                    );
                    couple(&mut entities, &y, graph, &has_positives, d, self.coupling);
                }
                for i in 0..m {
                    if let Some(e) = graph.entity_of(i) {
                        prior[i * d..(i + 1) * d]
                            .copy_from_slice(&entities[e.index() * d..(e.index() + 1) * d]);
                    }
                }
            }
            // Items nobody interacted with are not implicit negatives of anyone.
            let mut y_seen = y.clone();
            for (row, &seen) in y_seen.chunks_exact_mut(d).zip(&has_positives) {
                if !seen {
                    row.iter_mut().for_each(|v| *v = 0.0);
                }
            }
            als.half_step_with_prior(&mut x, &y_seen, d, matrix.user_csr(), None);
            if graph_on {
                self.step_prior(
                    &prior,
                    &y,
                    &linked,
                    &nearest,
                    &mut step_means,
                    &mut step_weights,
                );
            }
            let row_prior = RowPrior {
                means: &step_means,
                weights: &step_weights,
            };
            als.half_step_with_prior(
                &mut y,
                &x,
                d,
                matrix.item_csr(),
                graph_on.then_some(&row_prior),
            );
            progress(it + 1, als.loss(&x, &y, d, matrix));
        }
        if !use_graph {
            prior.iter_mut().for_each(|v| *v = 0.0);
        }
        // A linked item nobody interacted with: y_i from its nearest warm items, or s·η.
        let placed: Vec<Option<Vec<f32>>> = (0..m)
            .map(|i| {
                (use_graph && linked[i] && !has_positives[i] && self.cold_scale.is_none())
                    .then(|| nearest.place(i, self.cold_neighbours, &y, d))
                    .flatten()
            })
            .collect();
        // o_i = y_i − η_{e(i)}; an unlinked item never interacted with keeps o_i = 0.
        let mut offsets = y;
        for i in 0..m {
            if use_graph && linked[i] {
                let (o, p) = (&mut offsets[i * d..(i + 1) * d], &prior[i * d..(i + 1) * d]);
                match (has_positives[i], self.cold_scale) {
                    (true, _) => o.iter_mut().zip(p).for_each(|(o, p)| *o -= p),
                    // y_i = s·η: the offset carries the shrinkage.
                    (false, Some(s)) => o.iter_mut().zip(p).for_each(|(o, p)| *o = (s - 1.0) * p),
                    (false, None) => match placed.get(i).and_then(Option::as_ref) {
                        Some(v) => o
                            .iter_mut()
                            .zip(p)
                            .zip(v)
                            .for_each(|((o, p), v)| *o = v - p),
                        // Nothing in the graph relates it to an item with interactions: y_i = 0.
                        None => o.iter_mut().zip(p).for_each(|(o, p)| *o = -p),
                    },
                }
            }
        }
        let table = |v: Vec<f32>, rows: usize| {
            Array2::from_shape_vec((rows, d), v).map_err(|_| FitError::Empty)
        };
        let users = table(x, n)?;
        Fused::assemble(
            self.clone(),
            users,
            table(offsets, m)?,
            table(entities, ne)?,
            table(relations, nr)?,
            Array2::zeros((2 * nr, d)),
            0.0,
            graph.clone(),
        )
        .map_err(|_| FitError::Empty)
    }

    /// The item rows' prior for one sweep: a linked row is pulled towards `η_{e(i)}` (`prior`)
    /// with `kg_weight` and towards the place its nearest items mark in `y` with
    /// `neighbour_weight`; the two Gaussian pulls are one, towards their weighted mean with
    /// their summed weight. Unlinked rows get none.
    fn step_prior(
        &self,
        prior: &[f32],
        y: &[f32],
        linked: &[bool],
        nearest: &NearestItems,
        means: &mut [f32],
        weights: &mut [f32],
    ) {
        let d = self.factors;
        let (w_eta, w_near) = (self.kg_weight, self.neighbour_weight);
        means
            .par_chunks_mut(d)
            .zip(weights.par_iter_mut())
            .enumerate()
            .for_each(|(i, (mean, weight))| {
                let eta = &prior[i * d..(i + 1) * d];
                let place = (linked[i] && w_near > 0.0)
                    .then(|| nearest.place(i, self.neighbours, y, d))
                    .flatten();
                match (linked[i], place) {
                    (false, _) => *weight = 0.0,
                    (true, None) => {
                        mean.copy_from_slice(eta);
                        *weight = w_eta;
                    }
                    (true, Some(n)) => {
                        let total = w_eta + w_near;
                        for ((m, e), v) in mean.iter_mut().zip(eta).zip(&n) {
                            *m = (w_eta * e + w_near * v) / total;
                        }
                        *weight = total;
                    }
                }
            });
    }

    /// BPR on the attention keys and `β` with everything else fixed: mini-batches of positives,
    /// each with one sampled negative, gradients summed over fixed chunks in order, Adam steps.
    /// `pairs` are the positives to learn from; `matrix` (all positives) keeps them out of the
    /// negatives.
    fn fit_attention(
        &self,
        model: &mut Fused,
        matrix: &InteractionMatrix,
        mut pairs: Vec<(u32, u32)>,
        seed: u64,
        mut progress: impl FnMut(usize, f64),
    ) {
        let d = self.factors;
        let g = model.keys.nrows();
        let learn_keys = self.attention == Attention::Learned;
        let n_params = g * d + 1;
        // Adam on one row holding every parameter of the stage.
        let mut adam = Moments::new(n_params, n_params, true);
        let mut step = 0;
        let m = matrix.n_items();
        for epoch in 0..self.attention_epochs {
            pairs.shuffle(&mut rng_for(seed, 0x0a77_0000 + epoch as u64));
            let mut total = 0.0f64;
            for (b, batch) in pairs.chunks(self.batch_size).enumerate() {
                let model_ref = &*model;
                let grads: Vec<(Vec<f32>, f64)> = batch
                    .par_chunks(CHUNK)
                    .enumerate()
                    .map(|(c, chunk)| {
                        let mut rng =
                            rng_for(seed, stream(&[0x0a77, epoch as u64, b as u64, c as u64]));
                        let mut grad = vec![0.0f32; n_params];
                        let mut loss = 0.0f64;
                        for &(u, i) in chunk {
                            let j = hard_negative(
                                model_ref,
                                matrix,
                                u,
                                m,
                                self.attention_candidates,
                                &mut rng,
                            );
                            loss += attention_pair(
                                model_ref, u as usize, i as usize, j, learn_keys, &mut grad,
                            );
                        }
                        (grad, loss)
                    })
                    .collect();
                let mut grad = vec![0.0f32; n_params];
                for (gc, l) in &grads {
                    axpy(1.0, gc, &mut grad);
                    total += l;
                }
                let scale = 1.0 / batch.len() as f32;
                grad.iter_mut().for_each(|v| *v *= scale);
                if learn_keys {
                    for (gk, k) in grad[..g * d].iter_mut().zip(model.keys.iter()) {
                        *gk += self.attention_reg * k;
                    }
                }
                let mut params: Vec<f32> = model.keys.iter().copied().collect();
                params.push(model.beta);
                step += 1;
                let rule = Rule::adam_corrected(self.attention_lr, 0.9, 0.999, 1e-8, step);
                adam.update_row(rule, &mut params, 0, &grad);
                model.beta = params[g * d];
                if learn_keys {
                    for (k, p) in model.keys.iter_mut().zip(&params) {
                        *k = *p;
                    }
                }
            }
            progress(epoch + 1, total / pairs.len().max(1) as f64);
        }
    }
}

/// Dynamic negative sampling (Zhang et al., SIGIR 2013): of `candidates` items drawn uniformly
/// among those `u` has not interacted with, the one the model scores highest. Training the
/// attention against such negatives teaches it to re-rank the top of the list rather than to
/// separate positives from arbitrary items (which popularity alone already does).
fn hard_negative(
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

/// Adds the gradient of `−ln σ(s_ui − s_uj)` (w.r.t. the keys and `β`, the last entry) to `grad`;
/// returns the loss. Only the neighbourhood term depends on them.
fn attention_pair(
    model: &Fused,
    u: usize,
    i: usize,
    j: usize,
    learn_keys: bool,
    grad: &mut [f32],
) -> f64 {
    let d = model.users.ncols();
    let x = model.users.row(u).to_vec();
    let weights = attention_weights(&x, &model.keys);
    let base = |k: usize| dot(&x, &model.items.row(k).to_vec());
    let term =
        |k: usize| neighbourhood_term(&x, &weights, model.graph.neighbourhood(k), &model.entities);
    let (ai, aj) = (term(i), term(j));
    let diff = base(i) - base(j) + model.beta * (ai - aj);
    let sig = 1.0 / (1.0 + (-diff).exp());
    let loss = -f64::from(sig.max(1e-12)).ln();
    // d(−ln σ(diff))/d diff = −(1 − σ)
    let coef = -(1.0 - sig);
    let g = weights.len();
    grad[g * d] += coef * (ai - aj);
    if learn_keys && model.beta != 0.0 {
        for (k, sign) in [(i, 1.0f32), (j, -1.0f32)] {
            key_gradient(
                model,
                &x,
                &weights,
                k,
                coef * sign * model.beta,
                &mut grad[..g * d],
            );
        }
    }
    loss
}

/// Adds `scale · ∂(x·agg(item))/∂ρ_g` for every group: `w_g (q_g − c_g a)/B · x` where
/// `q_g = Σ_{n∈g} x·η_n`, `c_g` the group's size, `B = Σ_g w_g c_g` and `a` the term itself.
fn key_gradient(
    model: &Fused,
    x: &[f32],
    weights: &[f32],
    item: usize,
    scale: f32,
    grad: &mut [f32],
) {
    let d = x.len();
    let nb = model.graph.neighbourhood(item);
    if nb.is_empty() {
        return;
    }
    let (mut num, mut den) = (0.0f32, 0.0f32);
    // Groups are contiguous (sorted): (group, q_g, c_g).
    let mut groups: Vec<(u32, f32, f32)> = Vec::new();
    for &(g, n) in nb {
        let z = dot(x, &model.entities.row(n as usize).to_vec());
        let w = weights[g as usize];
        num += w * z;
        den += w;
        match groups.last_mut() {
            Some(last) if last.0 == g => {
                last.1 += z;
                last.2 += 1.0;
            }
            _ => groups.push((g, z, 1.0)),
        }
    }
    if den <= 0.0 {
        return;
    }
    let a = num / den;
    for (g, q, c) in groups {
        let w = weights[g as usize];
        let coef = scale * w * (q - c * a) / den;
        axpy(coef, x, &mut grad[g as usize * d..(g as usize + 1) * d]);
    }
}

/// Splits `matrix` into a matrix without a seeded share `rate` of every user's positives (at
/// least one held out for users with two or more, none for users with one) and the held-out
/// `(user, item)` pairs. Dictionaries are unchanged, so ids agree.
fn hold_out(
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
            .map_err(|_| FitError::Empty)?;
    Ok((fit_part, held))
}

/// Root-mean-square norm of the rows of `v` flagged in `rows` (1 when none is).
fn rms(v: &[f32], rows: &[bool], d: usize) -> f32 {
    let (mut sum, mut count) = (0.0f64, 0usize);
    for (row, &on) in v.chunks_exact(d).zip(rows) {
        if on {
            sum += row.iter().map(|x| f64::from(x * x)).sum::<f64>();
            count += 1;
        }
    }
    if count == 0 || sum <= 0.0 {
        1.0
    } else {
        (sum / count as f64).sqrt() as f32
    }
}

/// Moves every linked entity a share `rate` of the way to the mean vector of its items that have
/// interactions.
fn couple(entities: &mut [f32], y: &[f32], graph: &ItemGraph, warm: &[bool], d: usize, rate: f32) {
    let mut sums = std::collections::BTreeMap::<usize, (Vec<f32>, f32)>::new();
    for (i, &w) in warm.iter().enumerate() {
        if let (true, Some(e)) = (w, graph.entity_of(i)) {
            let entry = sums.entry(e.index()).or_insert_with(|| (vec![0.0; d], 0.0));
            axpy(1.0, &y[i * d..(i + 1) * d], &mut entry.0);
            entry.1 += 1.0;
        }
    }
    for (e, (sum, count)) in sums {
        let row = &mut entities[e * d..(e + 1) * d];
        for (r, s) in row.iter_mut().zip(&sum) {
            *r += rate * (s / count - *r);
        }
    }
}

/// Adagrad state of the TransE half.
#[derive(Debug)]
struct KgState {
    entities: Moments,
    relations: Moments,
}

/// One chunk's sparse gradient: `(row, values)` for entities and relations, and its loss.
#[derive(Debug, Default)]
struct KgGrad {
    ent: Vec<(u32, Vec<f32>)>,
    rel: Vec<(u32, Vec<f32>)>,
    loss: f64,
}

impl KgState {
    fn new(ne: usize, nr: usize, d: usize) -> Self {
        Self {
            entities: Moments::new(ne * d, d, false),
            relations: Moments::new(nr * d, d, false),
        }
    }

    /// One epoch of TransE (L2 distance, margin loss, uniform head-or-tail corruption) over the
    /// graph's triples in seeded order; Adagrad on the rows each mini-batch touches.
    #[allow(clippy::too_many_arguments)]
    fn epoch(
        &mut self,
        p: &FusedParams,
        graph: &ItemGraph,
        entities: &mut [f32],
        relations: &mut [f32],
        margin: f32,
        seed: u64,
        round: u64,
    ) -> f64 {
        let d = p.factors;
        let triples = graph.triples();
        let ne = graph.n_entities();
        let mut order: Vec<u32> = (0..triples.len() as u32).collect();
        order.shuffle(&mut rng_for(seed, stream(&[0x7e, round])));
        let mut total = 0.0;
        for (b, batch) in order.chunks(p.batch_size).enumerate() {
            let (ent_ref, rel_ref) = (&*entities, &*relations);
            let grads: Vec<KgGrad> = batch
                .par_chunks(CHUNK)
                .enumerate()
                .map(|(c, chunk)| {
                    let mut rng = rng_for(seed, stream(&[0x7e, round, b as u64, c as u64]));
                    let mut out = KgGrad::default();
                    let row = |t: &[f32], k: u32| t[k as usize * d..(k as usize + 1) * d].to_vec();
                    for &k in chunk {
                        let t = triples[k as usize];
                        let (h, r, tl) = (t.head.0, t.relation.0, t.tail.0);
                        let pos = diff(&row(ent_ref, h), &row(rel_ref, r), &row(ent_ref, tl));
                        let dp = norm(&pos);
                        for _ in 0..p.negatives {
                            let corrupt = rng.random_range(0..ne) as u32;
                            let (nh, nt) = if rng.random::<bool>() {
                                (corrupt, tl)
                            } else {
                                (h, corrupt)
                            };
                            let neg = diff(&row(ent_ref, nh), &row(rel_ref, r), &row(ent_ref, nt));
                            let dn = norm(&neg);
                            let l = margin + dp - dn;
                            if l <= 0.0 {
                                continue;
                            }
                            out.loss += f64::from(l);
                            let gp: Vec<f32> = pos.iter().map(|v| v / dp.max(1e-9)).collect();
                            let gn: Vec<f32> = neg.iter().map(|v| -v / dn.max(1e-9)).collect();
                            // ∂d/∂h = u, ∂d/∂r = u, ∂d/∂t = −u with u = (h + r − t)/d.
                            out.ent.push((h, gp.clone()));
                            out.ent.push((tl, gp.iter().map(|v| -v).collect()));
                            out.rel
                                .push((r, gp.iter().zip(&gn).map(|(a, b)| a + b).collect()));
                            out.ent.push((nh, gn.clone()));
                            out.ent.push((nt, gn.iter().map(|v| -v).collect()));
                        }
                    }
                    out
                })
                .collect();
            // Every gradient row is applied as it comes, in chunk order.
            let rule = Rule::adagrad(p.kg_lr, 1e-8);
            for g in grads {
                total += g.loss;
                for (k, gv) in &g.ent {
                    self.entities.update_row(rule, entities, *k as usize, gv);
                }
                for (k, gv) in &g.rel {
                    self.relations.update_row(rule, relations, *k as usize, gv);
                }
            }
        }
        total / triples.len().max(1) as f64
    }
}

fn diff(h: &[f32], r: &[f32], t: &[f32]) -> Vec<f32> {
    h.iter()
        .zip(r)
        .zip(t)
        .map(|((h, r), t)| h + r - t)
        .collect()
}

fn norm(v: &[f32]) -> f32 {
    dot(v, v).sqrt()
}

/// [`attention_pair`] with learnt keys, for the gradient check.
#[cfg(test)]
pub(super) fn attention_pair_for_tests(
    model: &Fused,
    u: usize,
    i: usize,
    j: usize,
    grad: &mut [f32],
) -> f64 {
    attention_pair(model, u, i, j, true, grad)
}
