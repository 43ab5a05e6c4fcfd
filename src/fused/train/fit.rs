//! The alternating loop: implicit-ALS half-steps whose item rows are pulled towards their
//! entity's embedding and their nearest items' place, TransE epochs on the graph, the coupling of
//! entities to their items, and the attention stage; optimiser steps through the shared core.

use ndarray::Array2;
use rand::Rng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

use super::gradients::{KgGrad, TransEHalf, attention_pair};
use super::params::{Attention, FusedParams};
use super::sampling::{hard_negative, hold_out};
use crate::cf::{EpochClock, EpochReport, FitError, InteractionMatrix, RowPrior};
use crate::fused::nearest::NearestItems;
use crate::fused::{Fused, ItemGraph};
use kgrec_kg::numeric::kernel::axpy;
use kgrec_kg::numeric::optim::{Moments, Rule};
use kgrec_kg::numeric::seed::{rng_for, stream};

/// Work items per parallel chunk: fixed, so the model does not depend on the thread count.
const CHUNK: usize = 128;

impl FusedParams {
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
        progress: impl FnMut(&EpochReport),
    ) -> Result<Fused, FitError> {
        self.fit_cancellable(matrix, graph, seed, progress, &AtomicBool::new(false))
    }

    /// [`Self::fit`] that stops with [`FitError::Cancelled`] at the first epoch boundary after
    /// `cancel` is raised.
    pub fn fit_cancellable(
        &self,
        matrix: &InteractionMatrix,
        graph: &ItemGraph,
        seed: u64,
        mut progress: impl FnMut(&EpochReport),
        cancel: &AtomicBool,
    ) -> Result<Fused, FitError> {
        self.check()?;
        if matrix.nnz() == 0 {
            return Err(FitError::Empty);
        }
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
        let mut clock = EpochClock::new(epochs);
        // Each epoch reports, then says whether to go on.
        let mut report = |epoch: usize, loss: f64| {
            progress(&clock.report(epoch, loss));
            !cancel.load(Ordering::Relaxed)
        };
        if !with_attention {
            return self.alternate(matrix, graph, seed, &mut |e, l| report(e, l));
        }
        let (fit_part, held_out) = hold_out(matrix, self.attention_holdout, seed)?;
        let mut first = self.alternate(&fit_part, graph, seed, &mut |e, l| report(e, l))?;
        self.fit_attention(&mut first, matrix, held_out, seed, |e, l| {
            report(self.iterations + e, l)
        })?;
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
        progress: &mut dyn FnMut(usize, f64) -> bool,
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
        // With both graph weights 0 the fit is ALS's, and the nearest-items rule still places
        // a linked item without interactions afterwards: it needs only the graph and the
        // fitted vectors.
        let place_without_graph = !use_graph
            && self.cold_without_graph
            && self.cold_scale.is_none()
            && graph.n_linked() > 0
            && !graph.triples().is_empty();
        let nearest = if use_graph {
            let k = if self.neighbour_weight > 0.0 {
                self.neighbours.max(self.cold_neighbours)
            } else {
                self.cold_neighbours
            };
            NearestItems::build(graph, &has_positives, &linked, k)
        } else if place_without_graph {
            let new: Vec<bool> = linked
                .iter()
                .zip(&has_positives)
                .map(|(&l, &seen)| l && !seen)
                .collect();
            NearestItems::build(graph, &has_positives, &new, self.cold_neighbours)
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
            // Items nobody interacted with are not implicit negatives of anyone (with the graph,
            // a cold linked row holds its prior's mean, not ALS's near-zero residue). Without
            // the graph the sweep is ALS's own, so that graph-off `cke` fits what `als` fits.
            if use_graph {
                let mut y_seen = y.clone();
                for (row, &seen) in y_seen.chunks_exact_mut(d).zip(&has_positives) {
                    if !seen {
                        row.iter_mut().for_each(|v| *v = 0.0);
                    }
                }
                als.half_step_with_prior(&mut x, &y_seen, d, matrix.user_csr(), None);
            } else {
                als.half_step_with_prior(&mut x, &y, d, matrix.user_csr(), None);
            }
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
            if !progress(it + 1, als.loss(&x, &y, d, matrix)) {
                return Err(FitError::Cancelled);
            }
        }
        if !use_graph {
            prior.iter_mut().for_each(|v| *v = 0.0);
        }
        // A linked item nobody interacted with: y_i from its nearest warm items, or s·η.
        let placed: Vec<Option<Vec<f32>>> = (0..m)
            .map(|i| {
                ((use_graph || place_without_graph)
                    && linked[i]
                    && !has_positives[i]
                    && self.cold_scale.is_none())
                .then(|| nearest.place(i, self.cold_neighbours, &y, d))
                .flatten()
            })
            .collect();
        // Without the graph's terms (η = 0): y_i is the place, or 0 when nothing in the graph
        // relates the item to one with interactions; every other row stays ALS's.
        if place_without_graph {
            for i in (0..m).filter(|&i| linked[i] && !has_positives[i]) {
                let row = &mut y[i * d..(i + 1) * d];
                match placed.get(i).and_then(Option::as_ref) {
                    Some(v) => row.copy_from_slice(v),
                    None => row.iter_mut().for_each(|v| *v = 0.0),
                }
            }
        }
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
            Array2::from_shape_vec((rows, d), v)
                .map_err(|e| FitError::Internal(format!("a fitted table's shape: {e}")))
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
        .map_err(|e| FitError::Internal(e.to_string()))
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
        mut progress: impl FnMut(usize, f64) -> bool,
    ) -> Result<(), FitError> {
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
            if !progress(epoch + 1, total / pairs.len().max(1) as f64) {
                return Err(FitError::Cancelled);
            }
        }
        Ok(())
    }
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
        let triples = graph.triples();
        let mut order: Vec<u32> = (0..triples.len() as u32).collect();
        order.shuffle(&mut rng_for(seed, stream(&[0x7e, round])));
        let mut total = 0.0;
        for (b, batch) in order.chunks(p.batch_size).enumerate() {
            let half = TransEHalf {
                entities: &*entities,
                relations: &*relations,
                triples,
                d: p.factors,
                n_entities: graph.n_entities(),
                negatives: p.negatives,
                margin,
            };
            let grads: Vec<KgGrad> = batch
                .par_chunks(CHUNK)
                .enumerate()
                .map(|(c, chunk)| {
                    half.chunk(
                        chunk,
                        &mut rng_for(seed, stream(&[0x7e, round, b as u64, c as u64])),
                    )
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
