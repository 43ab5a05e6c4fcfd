//! Explicit rating prediction: biased matrix factorisation (`svd`, Funk / Koren's "SVD")
//!
//! `r̂_ui = μ + b_u + b_i + q_i · p_u`
//!
//! and SVD++ (`svdpp`, Koren 2008), whose user vector adds the items the user rated:
//!
//! `r̂_ui = μ + b_u + b_i + q_i · (p_u + |N(u)|^-½ Σ_{j ∈ N(u)} y_j)`,
//!
//! both fitted by SGD on the squared error with L2 weight λ on every parameter touched. `svd`
//! visits the ratings in a fresh seeded order each epoch. `svdpp` visits users in a seeded
//! order and a user's ratings together: the implicit sum is computed once per user per epoch,
//! each rating steps `b_u`, `b_i`, `p_u` and `q_i`, and the `y_j` take the user's summed
//! gradient once at the end (`y_j += η (|N(u)|^-½ Σ e_ui q_i − λ y_j)`). That is what makes it
//! fast: Surprise recomputes the sum for every rating. Both fits are serial, so a seed gives
//! the same model on any number of threads.
//!
//! The fitted model ([`RatingModel`]) ranks like any dot-product model: its stored user rows
//! are `[p_u (+ implicit sum), μ + b_u]`, its item rows `[q_i, 1]` and its item bias `b_i`, so a
//! score is the predicted rating itself and batch top-K uses blocked products.

use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::{Array1, Array2};
use rand::Rng;
use rand::seq::SliceRandom;

use super::{
    EpochClock, EpochReport, FactorModel, FitError, InteractionMatrix, ParamError, Recommender,
    at_least_one, dimension, non_negative, require, setters,
};
use crate::fused::ItemGraph;
use crate::fused::nearest::NearestItems;
use crate::ids::{ItemId, UserId};
use crate::interactions::RatingScale;
use kgrec_kg::numeric::kernel::dot;
use kgrec_kg::numeric::seed::rng_for;

/// Hyper-parameters of [`RatingModel`]'s fit; build with [`SvdParams::svd`] or
/// [`SvdParams::svdpp`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SvdParams {
    factors: usize,
    epochs: usize,
    learning_rate: f32,
    regularization: f32,
    /// L2 weight of the biases.
    bias_regularization: f32,
    /// Standard deviation of the factors' starting values.
    init_std: f32,
    /// SVD++: the implicit-feedback term.
    implicit: bool,
    /// Weight `w` of the graph prior `w Σ_i (|q_i − n_i|² + (b_i − c_i)²)` on linked items:
    /// `n_i` the place the item's nearest rated items in the graph mark (their weighted mean
    /// direction at their weighted mean norm, as `cke`'s nearest-items prior), `c_i` the
    /// weighted mean of their biases (0: off, plain svd/svdpp). Models stored before it existed
    /// had none.
    #[serde(default)]
    kg_weight: f32,
    /// How many nearest rated items in the graph mark `n_i` and `c_i`.
    #[serde(default = "default_neighbours")]
    neighbours: usize,
}

fn default_neighbours() -> usize {
    10
}

/// Where a prediction comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PredictionBasis {
    /// The model was trained with the user and the item.
    Trained,
    /// The user is unknown to the model: the global mean plus the item's bias.
    UnknownUser,
    /// The item is unknown to the model: the global mean plus the user's bias.
    UnknownItem,
    /// Neither is known: the global mean.
    Unknown,
    /// The item had no ratings in training; its bias and vector are the means of its nearest
    /// rated items in the knowledge graph (the graph variant, `kg_weight > 0`).
    GraphNeighbours,
}

/// What a fitted model knows of an item; stored per item as 0, 1, 2 (array `item_basis`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemBasis {
    /// Learnt from its ratings.
    Rated,
    /// No ratings: placed at its nearest rated items in the graph.
    Graph,
    /// No ratings and nothing in the graph: its row means nothing.
    Unrated,
}

impl ItemBasis {
    /// The stored code.
    pub fn code(self) -> f32 {
        match self {
            Self::Rated => 0.0,
            Self::Graph => 1.0,
            Self::Unrated => 2.0,
        }
    }

    /// The basis a stored code names.
    pub fn from_code(code: f32) -> Option<Self> {
        [Self::Rated, Self::Graph, Self::Unrated]
            .into_iter()
            .find(|b| b.code() == code)
    }
}

/// A predicted rating, on the data's scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// The rating, clipped to the scale; never NaN.
    pub rating: f32,
    /// What it rests on.
    pub basis: PredictionBasis,
}

/// A fitted rating model: the factors as a dot-product model (see the module's notes), the
/// global mean and the scale predictions are clipped to.
#[derive(Debug, Clone, PartialEq)]
pub struct RatingModel {
    /// Users `[p_u, μ + b_u]`, items `[q_i, 1]`, item bias `b_i`.
    pub model: FactorModel,
    /// The global mean μ.
    pub mean: f32,
    /// The scale predictions are clipped to.
    pub scale: RatingScale,
    /// The last epoch's root mean squared training error.
    pub train_rmse: f64,
    /// Per item, what the model knows of it (empty: every item rated, as models stored before
    /// it was kept).
    pub item_basis: Vec<ItemBasis>,
}

impl SvdParams {
    /// Biased MF's defaults, chosen on validation rows carved from ml-100k fold0's train (see
    /// `docs/benchmarks.md`): 50 factors, 40 epochs, η 0.01, λ 0.1 (Surprise's defaults, 100
    /// factors, 20 epochs, η 0.005, λ 0.02, overfit there). The graph prior's weight 3 and 10
    /// nearest items were chosen on validation rows carved from folds 0-2's train files, as the
    /// best single weight over the DBpedia and Freebase graphs (it helps on both; 10 hurt
    /// Freebase). Without a graph the prior is off.
    pub fn svd() -> Self {
        Self {
            factors: 50,
            epochs: 40,
            learning_rate: 0.01,
            regularization: 0.1,
            bias_regularization: 0.1,
            init_std: 0.1,
            implicit: false,
            kg_weight: 3.0,
            neighbours: default_neighbours(),
        }
    }

    /// SVD++'s defaults, chosen on the same validation rows: 20 factors, 20 epochs, η 0.007, λ
    /// 0.1 (Surprise's, but λ 0.02 overfits there); the graph prior's weight 10 as for
    /// [`Self::svd`] (it helps on both graphs; 30 hurt Freebase).
    pub fn svdpp() -> Self {
        Self {
            factors: 20,
            epochs: 20,
            learning_rate: 0.007,
            regularization: 0.1,
            bias_regularization: 0.1,
            init_std: 0.1,
            implicit: true,
            kg_weight: 10.0,
            neighbours: default_neighbours(),
        }
    }

    setters! {
        /// Latent dimension.
        factors: usize,
        /// Epochs over the ratings.
        epochs: usize,
        /// SGD step size η.
        learning_rate: f32,
        /// L2 weight λ of the factors (and of the biases, unless set apart).
        regularization: f32,
        /// L2 weight of the biases.
        bias_regularization: f32,
        /// Weight of the graph prior on linked items' vectors and biases (0: off).
        kg_weight: f32,
        /// Nearest rated items in the graph that mark the prior's means.
        neighbours: usize,
    }

    /// Whether this is SVD++.
    pub fn is_implicit(&self) -> bool {
        self.implicit
    }

    /// The latent dimension.
    pub fn dim(&self) -> usize {
        self.factors
    }

    /// The graph prior's weight (0: off).
    pub fn graph_weight(&self) -> f32 {
        self.kg_weight
    }

    /// Checks the ranges.
    pub fn check(&self) -> Result<(), ParamError> {
        dimension("factors", self.factors)?;
        at_least_one("epochs", self.epochs)?;
        require(
            self.learning_rate.is_finite() && self.learning_rate > 0.0 && self.learning_rate < 1.0,
            "learning_rate",
            self.learning_rate,
            "finite, > 0 and < 1",
        )?;
        non_negative("regularization", self.regularization)?;
        non_negative("bias_regularization", self.bias_regularization)?;
        non_negative("kg_weight", self.kg_weight)?;
        at_least_one("neighbours", self.neighbours)?;
        require(
            self.init_std.is_finite() && self.init_std >= 0.0,
            "init_std",
            self.init_std,
            "finite and >= 0",
        )
    }

    /// Fits on the ratings `matrix` carries ([`InteractionMatrix::user_ratings`]); `graph` binds
    /// its items to the knowledge graph (read only when `kg_weight > 0`; an empty graph: plain
    /// svd/svdpp); `scale` is the data's (predictions are clipped to it); `progress` hears each
    /// epoch's training RMSE.
    #[allow(clippy::too_many_arguments)]
    pub fn fit(
        &self,
        matrix: &InteractionMatrix,
        graph: &ItemGraph,
        scale: RatingScale,
        seed: u64,
        mut progress: impl FnMut(&EpochReport),
        cancel: &AtomicBool,
    ) -> Result<RatingModel, FitError> {
        self.check()?;
        let (n, m, d) = (matrix.n_users(), matrix.n_items(), self.factors);
        // Ratings are fitted in units of a quarter of the scale's span, so that the learning
        // rate, the regularisation and the initial spread mean on any scale what they mean on
        // 1-5 stars (where the unit is 1 and nothing changes): play counts or durations in the
        // thousands would otherwise diverge at the default learning rate.
        let unit = rating_unit(scale);
        // The rated entries by user: (item, rating), and every item of the user for N(u).
        let mut rated: Vec<Vec<(u32, f32)>> = Vec::with_capacity(n);
        let (mut sum, mut count) = (0.0f64, 0usize);
        for u in 0..n {
            let user = UserId(u as u32);
            let (items, _) = matrix.user_row(user);
            let row: Vec<(u32, f32)> = items
                .iter()
                .zip(matrix.user_ratings(user))
                .filter(|(_, r)| r.is_finite())
                .map(|(&i, &r)| (i, r / unit))
                .collect();
            sum += row.iter().map(|&(_, r)| f64::from(r)).sum::<f64>();
            count += row.len();
            rated.push(row);
        }
        if count == 0 {
            return Err(FitError::NoRatings);
        }
        let mean = (sum / count as f64) as f32;
        let mut state = State {
            p: init(n, d, self.init_std, seed, 1),
            q: init(m, d, self.init_std, seed, 2),
            y: if self.implicit {
                vec![0.0; m * d]
            } else {
                Vec::new()
            },
            bu: vec![0.0; n],
            bi: vec![0.0; m],
            d,
            mean,
        };
        let mut clock = EpochClock::new(self.epochs);
        let mut order: Vec<(u32, u32)> = rated
            .iter()
            .enumerate()
            .flat_map(|(u, row)| (0..row.len()).map(move |k| (u as u32, k as u32)))
            .collect();
        let mut users: Vec<u32> = (0..n as u32)
            .filter(|&u| !rated[u as usize].is_empty())
            .collect();
        let mut ratings_of = vec![0u32; m];
        for &(i, _) in rated.iter().flatten() {
            ratings_of[i as usize] += 1;
        }
        let mut prior = GraphPrior::new(self, graph, &ratings_of);
        let mut rmse = 0.0;
        for epoch in 0..self.epochs {
            if cancel.load(Ordering::Relaxed) {
                return Err(FitError::Cancelled);
            }
            if let Some(prior) = &mut prior {
                prior.refresh(&state);
            }
            let prior = prior.as_ref();
            let mut rng = rng_for(seed, 16 + epoch as u64);
            let sse = if self.implicit {
                users.shuffle(&mut rng);
                self.epoch_svdpp(&mut state, matrix, &mut rated, &users, prior, &mut rng)
            } else {
                order.shuffle(&mut rng);
                self.epoch_svd(&mut state, &rated, &order, prior)
            };
            rmse = (sse / count as f64).sqrt() * f64::from(unit);
            progress(&clock.report(epoch + 1, rmse));
        }
        if !rmse.is_finite() {
            return Err(FitError::Diverged {
                learning_rate: self.learning_rate,
            });
        }
        // Items without ratings: placed at their nearest rated items, or flagged.
        let mut item_basis: Vec<ItemBasis> = ratings_of
            .iter()
            .map(|&c| match c {
                0 => ItemBasis::Unrated,
                _ => ItemBasis::Rated,
            })
            .collect();
        if let Some(prior) = &mut prior {
            prior.refresh(&state);
            prior.place_cold(&mut state, &mut item_basis);
        }
        Ok(state.into_model(matrix, (scale, unit), rmse, self.implicit, item_basis))
    }

    /// η, λ and the biases' λ.
    fn rates(&self) -> (f32, f32, f32) {
        (
            self.learning_rate,
            self.regularization,
            self.bias_regularization,
        )
    }

    fn epoch_svd(
        &self,
        s: &mut State,
        rated: &[Vec<(u32, f32)>],
        order: &[(u32, u32)],
        prior: Option<&GraphPrior>,
    ) -> f64 {
        let ((lr, reg, breg), d) = (self.rates(), s.d);
        let mut sse = 0.0f64;
        for &(u, k) in order {
            let (u, (i, r)) = (u as usize, rated[u as usize][k as usize]);
            let i = i as usize;
            let (pu, qi) = (&mut s.p[u * d..(u + 1) * d], &mut s.q[i * d..(i + 1) * d]);
            let err = r - (s.mean + s.bu[u] + s.bi[i] + dot(pu, qi));
            sse += f64::from(err * err);
            s.bu[u] += lr * (err - breg * s.bu[u]);
            s.bi[i] += lr * (err - breg * s.bi[i]);
            for (pf, qf) in pu.iter_mut().zip(qi.iter_mut()) {
                let (p0, q0) = (*pf, *qf);
                *pf += lr * (err * q0 - reg * p0);
                *qf += lr * (err * p0 - reg * q0);
            }
            if let Some(prior) = prior {
                prior.pull(i, lr, qi, &mut s.bi[i]);
            }
        }
        sse
    }

    fn epoch_svdpp(
        &self,
        s: &mut State,
        matrix: &InteractionMatrix,
        rated: &mut [Vec<(u32, f32)>],
        users: &[u32],
        prior: Option<&GraphPrior>,
        rng: &mut impl Rng,
    ) -> f64 {
        let ((lr, reg, breg), d) = (self.rates(), s.d);
        let mut sse = 0.0f64;
        let (mut z, mut pz, mut acc) = (vec![0.0f32; d], vec![0.0f32; d], vec![0.0f32; d]);
        for &u in users {
            let (implicit, _) = matrix.user_row(UserId(u));
            let u = u as usize;
            let norm = (implicit.len() as f32).sqrt().recip();
            s.implicit_sum(implicit, norm, &mut z);
            acc.fill(0.0);
            let row = &mut rated[u];
            row.shuffle(rng);
            for &(i, r) in row.iter() {
                let i = i as usize;
                let (pu, qi) = (&mut s.p[u * d..(u + 1) * d], &mut s.q[i * d..(i + 1) * d]);
                for ((e, p), zf) in pz.iter_mut().zip(pu.iter()).zip(&z) {
                    *e = p + zf;
                }
                let err = r - (s.mean + s.bu[u] + s.bi[i] + dot(&pz, qi));
                sse += f64::from(err * err);
                s.bu[u] += lr * (err - breg * s.bu[u]);
                s.bi[i] += lr * (err - breg * s.bi[i]);
                for f in 0..d {
                    let (p0, q0) = (pu[f], qi[f]);
                    pu[f] += lr * (err * q0 - reg * p0);
                    qi[f] += lr * (err * pz[f] - reg * q0);
                    acc[f] += err * q0;
                }
                if let Some(prior) = prior {
                    prior.pull(i, lr, qi, &mut s.bi[i]);
                }
            }
            for &j in implicit {
                let yj = &mut s.y[j as usize * d..(j as usize + 1) * d];
                for (y, a) in yj.iter_mut().zip(&acc) {
                    *y += lr * (norm * a - reg * *y);
                }
            }
        }
        sse
    }
}

/// The parameters during a fit, row-major.
/// The unit ratings are fitted in: a quarter of `scale`'s span (1 on a 1-5 scale), or 1 when
/// that is not a positive finite number.
fn rating_unit(scale: RatingScale) -> f32 {
    let unit = (scale.max() - scale.min()) / 4.0;
    match unit.is_finite() && unit > 0.0 {
        true => unit,
        false => 1.0,
    }
}

struct State {
    p: Vec<f32>,
    q: Vec<f32>,
    y: Vec<f32>,
    bu: Vec<f32>,
    bi: Vec<f32>,
    d: usize,
    mean: f32,
}

impl State {
    /// `out = norm · Σ_{j ∈ items} y_j`.
    fn implicit_sum(&self, items: &[u32], norm: f32, out: &mut [f32]) {
        out.fill(0.0);
        let d = self.d;
        for &j in items {
            for (o, y) in out
                .iter_mut()
                .zip(&self.y[j as usize * d..(j as usize + 1) * d])
            {
                *o += y;
            }
        }
        out.iter_mut().for_each(|o| *o *= norm);
    }

    /// The servable model: users `[p_u (+ implicit sum), μ + b_u]`, items `[q_i, 1]`.
    fn into_model(
        self,
        matrix: &InteractionMatrix,
        (scale, unit): (RatingScale, f32),
        train_rmse: f64,
        implicit: bool,
        item_basis: Vec<ItemBasis>,
    ) -> RatingModel {
        // Back from the fit's units to the data's: every term of `μ + b_u + b_i + p_u·q_i`
        // times `unit` (the user's side carries the product's factor).
        let mean = self.mean * unit;
        let (n, m, d) = (self.bu.len(), self.bi.len(), self.d);
        let mut users = Array2::<f32>::zeros((n, d + 1));
        let mut z = vec![0.0f32; d];
        for (u, mut row) in users.outer_iter_mut().enumerate() {
            let (items, _) = matrix.user_row(UserId(u as u32));
            if implicit && !items.is_empty() {
                self.implicit_sum(items, (items.len() as f32).sqrt().recip(), &mut z);
            } else {
                z.fill(0.0);
            }
            for f in 0..d {
                row[f] = (self.p[u * d + f] + z[f]) * unit;
            }
            row[d] = mean + self.bu[u] * unit;
        }
        let mut items = Array2::<f32>::zeros((m, d + 1));
        for (i, mut row) in items.outer_iter_mut().enumerate() {
            for f in 0..d {
                row[f] = self.q[i * d + f];
            }
            row[d] = 1.0;
        }
        RatingModel {
            model: FactorModel {
                users,
                items,
                item_bias: Some(Array1::from_iter(self.bi.iter().map(|b| b * unit))),
            },
            mean,
            scale,
            train_rmse,
            item_basis,
        }
    }
}

/// The graph variant's prior: every linked item with rated look-alikes in the graph (its
/// nearest rated items, [`NearestItems`]) is pulled towards the place `n_i` their vectors mark
/// ([`NearestItems::place`]) and the similarity-weighted mean `c_i` of their biases with total
/// weight `w` per epoch, spread over its
/// `|R(i)|` ratings (each SGD step on a rating of `i` adds `−η (w/|R(i)|)(q_i − n_i)`), so that
/// the pull matters most where the item's own evidence is thin. The means are recomputed from
/// the current vectors at every epoch's start; the lists of nearest items once per fit.
struct GraphPrior {
    nearest: NearestItems,
    /// Nearest items per mean.
    k: usize,
    /// `w / |R(i)|` per item; 0 without a prior (unlinked, or no rated look-alike).
    share: Vec<f32>,
    /// Whether item `i` has look-alikes (`n_i`, `c_i` defined).
    placed: Vec<bool>,
    /// `n_i`, row-major.
    vectors: Vec<f32>,
    /// `c_i`.
    biases: Vec<f32>,
    d: usize,
}

impl GraphPrior {
    /// `None` when the prior is off (`kg_weight` 0, or no linked item with graph neighbours).
    fn new(p: &SvdParams, graph: &ItemGraph, ratings_of: &[u32]) -> Option<Self> {
        let m = ratings_of.len();
        if p.kg_weight <= 0.0 || graph.n_linked() == 0 || graph.triples().is_empty() {
            return None;
        }
        let linked: Vec<bool> = (0..m).map(|i| graph.entity_of(i).is_some()).collect();
        let warm: Vec<bool> = ratings_of.iter().map(|&c| c > 0).collect();
        let nearest = NearestItems::build(graph, &warm, &linked, p.neighbours);
        let placed: Vec<bool> = (0..m).map(|i| !nearest.of(i).is_empty()).collect();
        if !placed.contains(&true) {
            return None;
        }
        let share = (0..m)
            .map(|i| match (placed[i], ratings_of[i]) {
                (true, c) if c > 0 => p.kg_weight / c as f32,
                _ => 0.0,
            })
            .collect();
        Some(Self {
            nearest,
            k: p.neighbours,
            share,
            placed,
            vectors: vec![0.0; m * p.factors],
            biases: vec![0.0; m],
            d: p.factors,
        })
    }

    /// Recomputes `n_i` and `c_i` from the current vectors and biases.
    fn refresh(&mut self, s: &State) {
        let d = self.d;
        for i in 0..self.placed.len() {
            if !self.placed[i] {
                continue;
            }
            if let Some(v) = self.nearest.place(i, self.k, &s.q, d) {
                self.vectors[i * d..(i + 1) * d].copy_from_slice(&v);
            }
            if let Some(b) = self.nearest.mean(i, self.k, &s.bi, 1) {
                self.biases[i] = b[0];
            }
        }
    }

    /// One rating's share of the pull on item `i`'s vector `qi` and bias `bi`.
    fn pull(&self, i: usize, lr: f32, qi: &mut [f32], bi: &mut f32) {
        let s = lr * self.share[i];
        if s == 0.0 {
            return;
        }
        *bi += s * (self.biases[i] - *bi);
        for (q, n) in qi.iter_mut().zip(&self.vectors[i * self.d..]) {
            *q += s * (n - *q);
        }
    }

    /// Items without ratings that have rated look-alikes take `q_i = n_i`, `b_i = c_i`.
    fn place_cold(&self, s: &mut State, basis: &mut [ItemBasis]) {
        let d = self.d;
        for (i, b) in basis.iter_mut().enumerate() {
            if *b == ItemBasis::Unrated && self.placed[i] {
                s.q[i * d..(i + 1) * d].copy_from_slice(&self.vectors[i * d..(i + 1) * d]);
                s.bi[i] = self.biases[i];
                *b = ItemBasis::Graph;
            }
        }
    }
}

/// `rows × d` values drawn uniformly with standard deviation `std` from stream `stream`.
fn init(rows: usize, d: usize, std: f32, seed: u64, stream: u64) -> Vec<f32> {
    let mut rng = rng_for(seed, stream);
    let a = std * 3.0f32.sqrt();
    if a == 0.0 {
        return vec![0.0; rows * d];
    }
    (0..rows * d).map(|_| rng.random_range(-a..a)).collect()
}

impl RatingModel {
    /// The rating predicted for `user` and `item` (either may be unknown to the model: `None`
    /// or outside its rows), clipped to the scale; never NaN.
    pub fn predict(&self, user: Option<UserId>, item: Option<ItemId>) -> Prediction {
        let d = self.model.items.ncols().saturating_sub(1);
        let user = user.and_then(|u| self.model.users.outer_iter().nth(u.index()));
        let item = item.filter(|i| {
            i.index() < self.model.items.nrows()
                && self.item_basis.get(i.index()) != Some(&ItemBasis::Unrated)
        });
        let bias = |i: ItemId| self.model.item_bias.as_ref().map_or(0.0, |b| b[i.index()]);
        let (raw, basis) = match (user, item) {
            (Some(u), Some(i)) => {
                let q = self.model.items.row(i.index());
                let u_row: Vec<f32> = u.iter().copied().collect();
                let q_row: Vec<f32> = q.iter().copied().collect();
                let basis = match self.item_basis.get(i.index()) {
                    Some(ItemBasis::Graph) => PredictionBasis::GraphNeighbours,
                    _ => PredictionBasis::Trained,
                };
                (dot(&u_row, &q_row) + bias(i), basis)
            }
            (None, Some(i)) => (self.mean + bias(i), PredictionBasis::UnknownUser),
            (Some(u), None) => (u[d], PredictionBasis::UnknownItem),
            (None, None) => (self.mean, PredictionBasis::Unknown),
        };
        let rating = match raw.is_finite() {
            true => self.scale.clip(raw),
            false => self.scale.clip(self.mean),
        };
        Prediction { rating, basis }
    }
}

impl Recommender for RatingModel {
    fn n_users(&self) -> usize {
        self.model.n_users()
    }

    fn n_items(&self) -> usize {
        self.model.n_items()
    }

    /// The predicted rating of every item (unclipped, so that ties at the top of the scale
    /// keep their order); an unknown user gets `b_i`, the global mean's order.
    fn score_items(&self, user: UserId, out: &mut [f32]) {
        self.model.score_items(user, out)
    }

    fn factors(&self) -> Option<super::FactorView<'_>> {
        self.model.factors()
    }

    fn rating_model(&self) -> Option<&RatingModel> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::cf::{IdMap, PairFeedback};

    /// Users rate items `r = 1 + (u + i) mod 5` on a 1:5 scale, every third pair missing.
    fn ratings(n: u32, m: u32) -> InteractionMatrix {
        ratings_with_unrated(n, m, 0)
    }

    /// [`ratings`] with `unrated` more items (ids `m..m + unrated`) that nobody rated.
    fn ratings_with_unrated(n: u32, m: u32, unrated: u32) -> InteractionMatrix {
        let names =
            |p: &str, k: u32| IdMap::from_names((0..k).map(|x| format!("{p}{x}")).collect());
        let mut entries = Vec::new();
        let mut pairs = Vec::new();
        let mut stored = Vec::new();
        for u in 0..n {
            for i in 0..m {
                if (u * 7 + i) % 3 == 0 {
                    continue;
                }
                entries.push((UserId(u), ItemId(i), 1.0));
                pairs.push((UserId(u), ItemId(i)));
                let r = if u % 2 == 0 { 1 + i % 5 } else { 5 - i % 5 };
                stored.push(PairFeedback {
                    rating: Some(r as f32),
                    count: 1,
                });
            }
        }
        InteractionMatrix::from_ids(
            names("u", n).unwrap(),
            names("i", m + unrated).unwrap(),
            &entries,
        )
        .unwrap()
        .with_feedback(&pairs, &stored)
        .unwrap()
    }

    /// A cancel flag never raised.
    static NEVER: AtomicBool = AtomicBool::new(false);

    fn scale() -> RatingScale {
        RatingScale::new(1.0, 5.0).unwrap()
    }

    #[test]
    fn both_learn_the_ratings_deterministically() {
        let m = ratings(30, 20);
        for params in [
            SvdParams::svd().factors(8).epochs(60).learning_rate(0.02),
            SvdParams::svdpp().factors(8).epochs(60).learning_rate(0.02),
        ] {
            let cancel = AtomicBool::new(false);
            let mut losses = Vec::new();
            let a = params
                .fit(
                    &m,
                    &ItemGraph::default(),
                    scale(),
                    7,
                    |r| losses.push(r.loss),
                    &cancel,
                )
                .unwrap();
            let b = params
                .fit(&m, &ItemGraph::default(), scale(), 7, |_| {}, &cancel)
                .unwrap();
            assert_eq!(a, b, "same seed, same model");
            assert!(
                losses.last().unwrap() < &(losses[0] * 0.5),
                "the training error falls: {losses:?}"
            );
            // A known pair is predicted near its rating: user 0 rates item 1 as 2.
            let p = a.predict(Some(UserId(0)), Some(ItemId(1)));
            assert_eq!(p.basis, PredictionBasis::Trained);
            assert!((p.rating - 2.0).abs() < 0.6, "{p:?}");
            // Scores rank by the predicted rating.
            let mut out = vec![0.0; 20];
            a.score_items(UserId(0), &mut out);
            let raw = |i: u32| a.predict(Some(UserId(0)), Some(ItemId(i))).rating;
            assert!((out[1].clamp(1.0, 5.0) - raw(1)).abs() < 1e-4);
        }
    }

    #[test]
    fn unknown_users_and_items_are_flagged_and_never_nan() {
        let m = ratings(10, 8);
        let model = SvdParams::svd()
            .factors(4)
            .epochs(5)
            .fit(&m, &ItemGraph::default(), scale(), 1, |_| {}, &NEVER)
            .unwrap();
        let p = model.predict(None, Some(ItemId(0)));
        assert_eq!(p.basis, PredictionBasis::UnknownUser);
        let bias = model.model.item_bias.as_ref().unwrap()[0];
        assert!((p.rating - scale().clip(model.mean + bias)).abs() < 1e-6);
        let p = model.predict(Some(UserId(0)), Some(ItemId(99)));
        assert_eq!(p.basis, PredictionBasis::UnknownItem);
        assert!(p.rating.is_finite() && scale().contains(p.rating));
        let p = model.predict(Some(UserId(99)), None);
        assert_eq!(p.basis, PredictionBasis::Unknown);
        assert!(p.rating.is_finite());
    }

    /// Item `i` linked to entity `i`, which has one edge to its "genre" entity `m + i mod 5`:
    /// items with the same `i mod 5` share their whole neighbourhood (and are rated alike).
    fn genre_graph(m: u32) -> ItemGraph {
        use kgrec_kg::{EntityId, RelationId, Triple};
        let triples = (0..m)
            .map(|i| Triple::new(EntityId(i), RelationId(0), EntityId(m + i % 5)))
            .collect();
        let links = (0..m).map(|i| Some(EntityId(i))).collect();
        ItemGraph::new((m + 5) as usize, 1, triples, links)
    }

    #[test]
    fn the_graph_prior_places_unrated_linked_items_and_is_off_at_weight_zero() {
        // Items 0..20 rated, item 20 linked but unrated; its genre mates are 0, 5, 10 and 15,
        // which even users rate 1 and odd users 5.
        let m = ratings_with_unrated(30, 20, 1);
        let graph = genre_graph(21);
        let cancel = AtomicBool::new(false);
        for params in [
            SvdParams::svd().factors(8).epochs(60).learning_rate(0.02),
            SvdParams::svdpp().factors(8).epochs(60).learning_rate(0.02),
        ] {
            let fit = |p: &SvdParams, g: &ItemGraph| p.fit(&m, g, scale(), 3, |_| {}, &cancel);
            let with = fit(&params, &graph).unwrap();
            assert_eq!(with, fit(&params, &graph).unwrap(), "same seed, same model");
            assert_eq!(with.item_basis[20], ItemBasis::Graph);
            assert_eq!(with.item_basis[0], ItemBasis::Rated);
            let (even, odd) = (
                with.predict(Some(UserId(0)), Some(ItemId(20))),
                with.predict(Some(UserId(1)), Some(ItemId(20))),
            );
            assert_eq!(even.basis, PredictionBasis::GraphNeighbours);
            assert!(even.rating < 2.0 && odd.rating > 4.0, "{even:?} {odd:?}");

            // Without the prior the item is unknown: the mean plus the user's bias.
            let plain = fit(&params.clone().kg_weight(0.0), &graph).unwrap();
            assert_eq!(plain.item_basis[20], ItemBasis::Unrated);
            let p = plain.predict(Some(UserId(0)), Some(ItemId(20)));
            assert_eq!(p.basis, PredictionBasis::UnknownItem);
            // Weight 0 ignores the graph: the same model as with none.
            let none = fit(&params, &ItemGraph::default()).unwrap();
            assert_eq!(plain, none);
            assert_ne!(
                with.model, none.model,
                "the prior moves the rated items too"
            );
        }
    }

    #[test]
    fn the_prior_pulls_a_thinly_rated_item_towards_its_look_alikes() {
        // Item 20 has one rating (user 1, who rates its genre mates 5, gives it 1); its
        // genre mates pull its bias up, and harder with a larger weight.
        let mut entries = Vec::new();
        let mut pairs = Vec::new();
        let mut stored = Vec::new();
        let base = ratings(30, 20);
        for u in 0..30u32 {
            let (items, _) = base.user_row(UserId(u));
            for (&i, &r) in items.iter().zip(base.user_ratings(UserId(u))) {
                entries.push((UserId(u), ItemId(i), 1.0));
                pairs.push((UserId(u), ItemId(i)));
                stored.push(PairFeedback {
                    rating: Some(r),
                    count: 1,
                });
            }
        }
        entries.push((UserId(1), ItemId(20), 1.0));
        pairs.push((UserId(1), ItemId(20)));
        stored.push(PairFeedback {
            rating: Some(1.0),
            count: 1,
        });
        let names =
            |p: &str, k: u32| IdMap::from_names((0..k).map(|x| format!("{p}{x}")).collect());
        let m =
            InteractionMatrix::from_ids(names("u", 30).unwrap(), names("i", 21).unwrap(), &entries)
                .unwrap()
                .with_feedback(&pairs, &stored)
                .unwrap();
        let graph = genre_graph(21);
        let bias = |w: f32| {
            let model = SvdParams::svd()
                .factors(8)
                .epochs(40)
                .kg_weight(w)
                .fit(&m, &graph, scale(), 5, |_| {}, &AtomicBool::new(false))
                .unwrap();
            model.model.item_bias.as_ref().unwrap()[20]
        };
        let (off, some, strong) = (bias(0.0), bias(3.0), bias(30.0));
        assert!(off < some && some < strong, "{off} {some} {strong}");
    }

    #[test]
    fn item_basis_codes_round_trip() {
        for b in [ItemBasis::Rated, ItemBasis::Graph, ItemBasis::Unrated] {
            assert_eq!(ItemBasis::from_code(b.code()), Some(b));
        }
        assert_eq!(ItemBasis::from_code(0.5), None);
    }

    #[test]
    fn refuses_matrices_without_ratings_and_bad_params() {
        let m = InteractionMatrix::from_pairs([("u", "a"), ("v", "b")]).unwrap();
        let err = SvdParams::svd()
            .fit(&m, &ItemGraph::default(), scale(), 1, |_| {}, &NEVER)
            .unwrap_err();
        assert_eq!(err, FitError::NoRatings);
        assert!(SvdParams::svd().learning_rate(0.0).check().is_err());
        assert!(SvdParams::svd().factors(0).check().is_err());
        assert!(SvdParams::svd().kg_weight(-1.0).check().is_err());
        assert!(SvdParams::svd().neighbours(0).check().is_err());
    }
}
