//! Fitting `ncf`: BPR on (user, positive, sampled negative) triples with Adam, in mini-batches.
//!
//! Determinism without races: a mini-batch is cut into chunks of [`CHUNK`] triples; the chunks'
//! gradients are computed in parallel (rayon), each chunk drawing its negatives from its own
//! generator seeded by (seed, epoch, batch, chunk), and summed in chunk order before one Adam
//! step. The same seed gives the same model on any number of threads.
//!
//! The graph vectors `e_i` are fixed inputs: TransE embeddings of the graph (the workspace's
//! trainer, `kgrec_kg::embed`), an item's vector the mean of its entity's and of its neighbours'
//! mean, scaled to unit root-mean-square over the linked items and by `kg_weight`; zero for an
//! unlinked item.

use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::{Array1, Array2};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::net::{Head, Net, Rows, Shape};
use crate::cf::{
    EpochClock, EpochReport, FitError, InteractionMatrix, ParamError, at_least_one, dimension,
    non_negative, positive,
};
use crate::fused::ItemGraph;
use kgrec_kg::numeric::optim::{LazyTable, Moments, Rule};
use kgrec_kg::numeric::seed::rng_from;

/// Triples per parallel chunk: fixed, so the model does not depend on the thread count.
const CHUNK: usize = 64;

/// Draws of a negative before a triple is skipped (the user has nearly every item).
const NEGATIVE_TRIES: usize = 16;

/// Hyper-parameters of `ncf`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NcfParams {
    /// The scoring head.
    pub head: Head,
    /// Width of the user, item and graph vectors.
    pub factors: usize,
    /// Units of the MLP's hidden layers (the `mlp` and `neumf` heads).
    pub hidden: Vec<usize>,
    /// Epochs; an epoch is one triple per positive.
    pub epochs: usize,
    /// Adam's step size.
    pub learning_rate: f32,
    /// L2 weight λ on the user and item rows (and biases) of every triple and on the
    /// network's weights.
    pub regularization: f32,
    /// Triples per Adam step.
    pub batch: usize,
    /// Scale of the graph vectors in the MLP's input (0: no graph).
    pub kg_weight: f32,
    /// TransE epochs of the graph vectors.
    pub kge_epochs: usize,
}

impl Default for NcfParams {
    /// The defaults (`docs/benchmarks.md`, "Neural scoring"; chosen on validation carved from
    /// fold 0's train of ml-100k): head `dot` (no MLP head beat it there), 64 factors, hidden
    /// layers 64 and 32, 40 epochs, Adam 0.005, λ 0.01, batches of 512, graph weight 1, 30
    /// TransE epochs.
    fn default() -> Self {
        Self {
            head: Head::Dot,
            factors: 64,
            hidden: vec![64, 32],
            epochs: 40,
            learning_rate: 0.005,
            regularization: 0.01,
            batch: 512,
            kg_weight: 1.0,
            kge_epochs: 30,
        }
    }
}

impl NcfParams {
    /// The defaults with head `head`: the heads with an MLP part step at Adam 0.001 (0.005
    /// lost 0.008 to 0.014 nDCG@10 on validation), `dot` and `gmf` at 0.005.
    pub fn with_head(head: Head) -> Self {
        let learning_rate = match head.has_mlp() {
            true => 0.001,
            false => 0.005,
        };
        Self {
            head,
            learning_rate,
            ..Self::default()
        }
    }
}

impl NcfParams {
    /// Checks the ranges.
    pub fn check(&self) -> Result<(), ParamError> {
        dimension("factors", self.factors)?;
        at_least_one("iterations", self.epochs)?;
        positive("learning_rate", self.learning_rate)?;
        non_negative("regularization", self.regularization)?;
        non_negative("kg_weight", self.kg_weight)?;
        at_least_one("batch", self.batch)?;
        for &h in &self.hidden {
            dimension("hidden", h)?;
        }
        Ok(())
    }

    /// The network's shape.
    pub fn shape(&self) -> Shape {
        Shape::new(self.head, self.factors, &self.hidden)
    }

    /// Whether the fit reads the graph: a head with an MLP part and a graph weight above 0.
    pub fn uses_graph(&self) -> bool {
        self.head.has_mlp() && self.kg_weight > 0.0
    }
}

/// A fitted `ncf` model's tables.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// `n × d` user vectors.
    pub users: Array2<f32>,
    /// `m × d` item vectors (0 for an item nobody interacted with).
    pub items: Array2<f32>,
    /// `m` item biases.
    pub bias: Array1<f32>,
    /// `m × d` graph vectors (0 columns without a graph).
    pub graph: Array2<f32>,
    /// The network.
    pub net: Net,
}

/// The gradients of one chunk.
struct ChunkGrad {
    loss: f64,
    count: usize,
    theta: Vec<f32>,
    user_rows: Vec<u32>,
    user_grads: Vec<f32>,
    item_rows: Vec<u32>,
    item_grads: Vec<f32>,
}

impl NcfParams {
    /// Fits on `matrix` with graph vectors `graph` (`m × factors`, or 0 columns); `progress`
    /// hears each epoch's mean BPR loss; raising `cancel` stops at the next epoch boundary.
    pub fn fit(
        &self,
        matrix: &InteractionMatrix,
        graph: Array2<f32>,
        seed: u64,
        mut progress: impl FnMut(&EpochReport),
        cancel: &AtomicBool,
    ) -> Result<Fitted, FitError> {
        self.check()?;
        if matrix.nnz() == 0 {
            return Err(FitError::Empty);
        }
        let (n, m, d) = (matrix.n_users(), matrix.n_items(), self.factors);
        let (ptr, cols, _) = matrix.user_csr();
        let positives: Vec<(u32, u32)> = (0..n)
            .flat_map(|u| cols[ptr[u]..ptr[u + 1]].iter().map(move |&i| (u as u32, i)))
            .collect();
        let degrees = matrix.item_degrees();
        let warm: Vec<u32> = (0..m as u32)
            .filter(|&i| degrees.get(i as usize).is_some_and(|&c| c > 0))
            .collect();
        let graph = if graph.dim() == (m, d) && self.uses_graph() {
            graph
        } else {
            Array2::zeros((m, 0))
        };

        let mut init_rng = rng_from(seed, &[0x6e6366]);
        let mut uniform = |rows: usize, cols: usize| -> Vec<f32> {
            (0..rows * cols)
                .map(|_| (init_rng.random::<f32>() - 0.5) * 0.2)
                .collect()
        };
        let mut users = uniform(n, d);
        // Item rows are [q_i, b_i]; biases start at 0.
        let mut items = uniform(m, d + 1);
        for row in items.chunks_exact_mut(d + 1) {
            row[d] = 0.0;
        }
        let shape = self.shape();
        let theta = shape.init(|| init_rng.random::<f32>());
        let mut net = Net::new(shape, theta).ok_or_else(|| {
            FitError::Internal("the network's weights do not fit its shape".into())
        })?;

        let mut user_state = LazyTable::new(n, d, true);
        let mut item_state = LazyTable::new(m, d + 1, true);
        let mut theta_state = Moments::new(net.theta.len(), net.theta.len().max(1), true);
        let mut clock = EpochClock::new(self.epochs);
        let mut order: Vec<u32> = (0..positives.len() as u32).collect();
        let mut step = 0i32;
        let ctx = Ctx {
            ptr,
            cols,
            warm: &warm,
            positives: &positives,
            graph: &graph,
            d,
            reg: self.regularization,
        };
        for epoch in 0..self.epochs {
            order.shuffle(&mut rng_from(seed, &[epoch as u64, 0x5eed]));
            let (mut loss, mut count) = (0.0f64, 0usize);
            for (b, batch) in order.chunks(self.batch).enumerate() {
                let scale = 1.0 / batch.len() as f32;
                let grads: Vec<ChunkGrad> = batch
                    .par_chunks(CHUNK)
                    .enumerate()
                    .map(|(c, chunk)| {
                        let mut rng = rng_from(seed, &[epoch as u64, b as u64, c as u64]);
                        ctx.chunk(&net, &users, &items, chunk, scale, &mut rng)
                    })
                    .collect();
                // λ‖θ‖²/2 once per triple of the batch's mean: λθ.
                let mut theta_grad: Vec<f32> =
                    net.theta.iter().map(|t| self.regularization * t).collect();
                for g in &grads {
                    loss += g.loss;
                    count += g.count;
                    for (a, v) in theta_grad.iter_mut().zip(&g.theta) {
                        *a += v;
                    }
                    user_state.add(&g.user_rows, &g.user_grads);
                    item_state.add(&g.item_rows, &g.item_grads);
                }
                step = step.saturating_add(1);
                let rule = Rule::adam_corrected(self.learning_rate, 0.9, 0.999, 1e-8, step);
                user_state.step(rule, &mut users, |_| {});
                item_state.step(rule, &mut items, |_| {});
                if !net.theta.is_empty() {
                    theta_state.update_row(rule, &mut net.theta, 0, &theta_grad);
                }
            }
            let loss = if count > 0 { loss / count as f64 } else { 0.0 };
            if !loss.is_finite() {
                return Err(FitError::Diverged {
                    learning_rate: self.learning_rate,
                });
            }
            progress(&clock.report(epoch + 1, loss));
            if cancel.load(Ordering::Relaxed) {
                return Err(FitError::Cancelled);
            }
        }
        // An item nobody interacted with was never a positive nor a negative: q_i = 0, b_i = 0,
        // so its score is the network's reading of its graph vector alone.
        for (i, row) in items.chunks_exact_mut(d + 1).enumerate() {
            if degrees.get(i).is_none_or(|&c| c == 0) {
                row.fill(0.0);
            }
        }
        let table = |v: Vec<f32>, rows: usize, cols: usize| {
            Array2::from_shape_vec((rows, cols), v)
                .map_err(|e| FitError::Internal(format!("a fitted table's shape: {e}")))
        };
        let items = table(items, m, d + 1)?;
        Ok(Fitted {
            users: table(users, n, d)?,
            bias: items.column(d).to_owned(),
            items: items.slice(ndarray::s![.., ..d]).to_owned(),
            graph,
            net,
        })
    }
}

/// What every chunk reads.
struct Ctx<'a> {
    ptr: &'a [usize],
    cols: &'a [u32],
    warm: &'a [u32],
    positives: &'a [(u32, u32)],
    graph: &'a Array2<f32>,
    d: usize,
    reg: f32,
}

impl Ctx<'_> {
    /// The BPR loss and gradients of one chunk of positives (indices into `positives`), each
    /// with a negative drawn uniformly from the items with interactions that the user does not
    /// have; `scale` is 1 / the batch's size (the loss is the batch's mean).
    fn chunk(
        &self,
        net: &Net,
        users: &[f32],
        items: &[f32],
        chunk: &[u32],
        scale: f32,
        rng: &mut rand_chacha::ChaCha8Rng,
    ) -> ChunkGrad {
        let d = self.d;
        let mut triples: Vec<(usize, usize, usize)> = Vec::with_capacity(chunk.len());
        for &k in chunk {
            let Some(&(u, i)) = self.positives.get(k as usize) else {
                continue;
            };
            let liked = &self.cols[self.ptr[u as usize]..self.ptr[u as usize + 1]];
            let negative = (0..NEGATIVE_TRIES)
                .map(|_| self.warm[rng.random_range(0..self.warm.len())])
                .find(|j| liked.binary_search(j).is_err());
            if let Some(j) = negative {
                triples.push((u as usize, i as usize, j as usize));
            }
        }
        let c = triples.len();
        let e_cols = self.graph.ncols();
        let mut rows = Rows {
            p: Array2::zeros((2 * c, d)),
            q: Array2::zeros((2 * c, d)),
            e: Array2::zeros((2 * c, e_cols)),
            b: Array1::zeros(2 * c),
        };
        for (t, &(u, i, j)) in triples.iter().enumerate() {
            let p = ndarray::ArrayView1::from(&users[u * d..(u + 1) * d]);
            for (r, item) in [(t, i), (c + t, j)] {
                rows.p.row_mut(r).assign(&p);
                let row = &items[item * (d + 1)..(item + 1) * (d + 1)];
                rows.q
                    .row_mut(r)
                    .assign(&ndarray::ArrayView1::from(&row[..d]));
                rows.b[r] = row[d];
                if e_cols > 0 {
                    rows.e.row_mut(r).assign(&self.graph.row(item));
                }
            }
        }
        let fwd = net.forward(&rows);
        let mut delta = Array1::<f32>::zeros(2 * c);
        let mut loss = 0.0f64;
        for t in 0..c {
            let x = fwd.s[t] - fwd.s[c + t];
            // −ln σ(x) = ln(1 + e^{−x}), and its slope −σ(−x).
            loss += f64::from(if x < -30.0 { -x } else { (-x).exp().ln_1p() });
            let g = 1.0 / (1.0 + x.exp());
            delta[t] = -g * scale;
            delta[c + t] = g * scale;
        }
        let grads = net.backward(&rows, &fwd, &delta);
        let reg = self.reg * scale;
        let mut user_rows = Vec::with_capacity(c);
        let mut user_grads = Vec::with_capacity(c * d);
        let mut item_rows = Vec::with_capacity(2 * c);
        let mut item_grads = Vec::with_capacity(2 * c * (d + 1));
        for (t, &(u, i, j)) in triples.iter().enumerate() {
            user_rows.push(u as u32);
            for k in 0..d {
                user_grads.push(grads.p[[t, k]] + grads.p[[c + t, k]] + reg * users[u * d + k]);
            }
            for (r, item) in [(t, i), (c + t, j)] {
                item_rows.push(item as u32);
                let row = &items[item * (d + 1)..(item + 1) * (d + 1)];
                for (k, v) in row[..d].iter().enumerate() {
                    item_grads.push(grads.q[[r, k]] + reg * v);
                }
                item_grads.push(delta[r] + reg * row[d]);
            }
        }
        ChunkGrad {
            loss,
            count: c,
            theta: grads.theta,
            user_rows,
            user_grads,
            item_rows,
            item_grads,
        }
    }
}

/// The graph vectors of the items of `graph` (`m × dim`), or `None` without links or triples:
/// TransE on the graph's triples for `epochs` epochs with the workspace's tuned settings at
/// width `dim`, an item's vector `½(η_e + mean of its neighbours' η)` (`η_e` alone without
/// neighbours), all scaled so that the linked rows' root-mean-square coordinate is `weight`.
pub fn graph_vectors(
    graph: &ItemGraph,
    dim: usize,
    epochs: usize,
    weight: f32,
    seed: u64,
    cancel: &AtomicBool,
) -> Result<Option<Array2<f32>>, kgrec_kg::embed::RunError> {
    use kgrec_kg::embed::{Dataset, KgeParams, RunError};
    if graph.n_linked() == 0 || graph.triples().is_empty() || epochs == 0 || weight == 0.0 {
        return Ok(None);
    }
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let data = Dataset::from_triples(
        count(graph.n_entities()),
        count(graph.n_relations()),
        graph.triples().to_vec(),
        Vec::new(),
        Vec::new(),
    )?;
    let Some(params) = KgeParams::tuned("transe") else {
        return Ok(None);
    };
    let checked = params
        .dim(dim)
        .epochs(epochs)
        .validate_every(0)
        .check()
        .map_err(RunError::from)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x6e63_665f_6b67);
    let fitted = checked
        .fit_cancellable(&data, &mut rng, &mut |_| {}, cancel)
        .map_err(RunError::from)?;
    let entities = fitted.model.entity_matrix();
    let m = graph.n_items();
    let mut out = Array2::<f32>::zeros((m, dim));
    let (mut sum_sq, mut linked) = (0.0f64, 0usize);
    for (i, mut row) in out.outer_iter_mut().enumerate() {
        let Some(e) = graph.entity_of(i) else {
            continue;
        };
        if e.index() >= entities.rows() || entities.cols() != dim {
            continue;
        }
        let own = entities.row(e.index());
        let neighbours = graph.neighbour_entities(i);
        let mut mean = vec![0.0f32; dim];
        for &n in &neighbours {
            for (a, v) in mean.iter_mut().zip(entities.row(n as usize)) {
                *a += v / neighbours.len() as f32;
            }
        }
        for (k, r) in row.iter_mut().enumerate() {
            *r = match neighbours.is_empty() {
                true => own[k],
                false => 0.5 * (own[k] + mean[k]),
            };
            sum_sq += f64::from(*r * *r);
        }
        linked += 1;
    }
    if linked == 0 {
        return Ok(None);
    }
    let rms = (sum_sq / (linked * dim) as f64).sqrt() as f32;
    if rms > 0.0 {
        out.mapv_inplace(|v| v * weight / rms);
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::cf::testutil::{held_out_scores, two_blocks};

    fn small(head: Head) -> NcfParams {
        NcfParams {
            head,
            factors: 6,
            hidden: vec![8, 4],
            epochs: 40,
            learning_rate: 0.02,
            regularization: 0.001,
            batch: 32,
            kg_weight: 1.0,
            kge_epochs: 5,
        }
    }

    #[test]
    fn every_head_learns_the_communities_and_is_deterministic_for_a_seed() {
        let m = two_blocks();
        for head in [Head::Dot, Head::Gmf, Head::Mlp, Head::Neumf] {
            let p = small(head);
            let mut losses = Vec::new();
            let fitted = p
                .fit(
                    &m,
                    Array2::zeros((0, 0)),
                    3,
                    |r| losses.push(r.loss),
                    &AtomicBool::new(false),
                )
                .unwrap();
            assert_eq!(losses.len(), 40);
            assert!(
                losses[39] < losses[0],
                "{head:?}: {} -> {}",
                losses[0],
                losses[39]
            );
            let served = super::super::ServedNcf::new(fitted.clone(), "test").unwrap();
            let (a1, best_b) = held_out_scores(&served, &m);
            assert!(
                a1 > best_b,
                "{head:?}: a1={a1} vs best other-community item {best_b}"
            );

            let fit_on = |threads: usize, seed: u64| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                pool.install(|| {
                    p.fit(
                        &m,
                        Array2::zeros((0, 0)),
                        seed,
                        |_| {},
                        &AtomicBool::new(false),
                    )
                    .unwrap()
                })
            };
            let a = fit_on(1, 3);
            assert_eq!(a, fitted, "{head:?}: one thread and the default pool agree");
            assert_eq!(a, fit_on(3, 3), "{head:?}");
            assert_ne!(a.users, fit_on(2, 4).users, "{head:?}: the seed matters");
        }
    }

    #[test]
    fn parameters_out_of_range_are_refused() {
        let p = NcfParams::default();
        assert!(p.check().is_ok());
        assert!(
            NcfParams {
                factors: 0,
                ..p.clone()
            }
            .check()
            .is_err()
        );
        assert!(
            NcfParams {
                learning_rate: 0.0,
                ..p.clone()
            }
            .check()
            .is_err()
        );
        assert!(
            NcfParams {
                hidden: vec![0],
                ..p.clone()
            }
            .check()
            .is_err()
        );
        assert!(
            NcfParams {
                kg_weight: -1.0,
                ..p.clone()
            }
            .check()
            .is_err()
        );
        assert!(NcfParams { batch: 0, ..p }.check().is_err());
    }
}
