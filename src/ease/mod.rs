//! Item-to-item models in closed form: EASE (Steck, WWW 2019) and `kg-ease`, EASE with the
//! knowledge graph's item facts stacked under the interactions as weighted rows (the collective
//! side-information EASE of Jeunen, Van Balen and Goethals, RecSys 2020). Maths in
//! `docs/model.md`, "Item-to-item models".
//!
//! Both learn one item×item matrix `B` with a zero diagonal; a user's score of item `i` is
//! `Σ_{j ∈ history} B[j, i]`, so any user is scored from their items alone, trained or not.
//! This module owns the parameters, the fit (`gram.rs`: the dense linear algebra through faer;
//! `features.rs`: the graph's item features) and the fitted weights ([`ItemWeights`]); the
//! store and serving live in `learners/ease.rs`.

mod choose;
mod cold;
mod features;
mod gram;
mod sparse;

pub use choose::{
    CANDIDATE_WEIGHTS, MIN_USER_ITEMS, MIN_VALIDATION_USERS, WeightChoice, WeightTrial,
    choose_graph_weight,
};
pub use cold::{COLD_NEIGHBOURS, Placement, WholeItems, hold_out_share, hold_out_whole};
pub use features::{FeatureKey, FeatureOptions, GraphFeatures, TWO_HOP_MAX_DEGREE};

use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::cf::{
    Basis, FitError, InteractionMatrix, ParamError, Recommender, ScoreParts, UserRow, non_negative,
    positive, require,
};
use crate::fused::ItemGraph;
use crate::ids::{ItemId, UserId};
use gram::{Prior, WeightedRows, add_gram, closed_form, closed_form_with_prior};
use sparse::{SparseWeights, local_closed_form};

/// The default `λ`, as a multiple of the square root of the mean diagonal of `XᵀX` (the mean
/// number of positives of an item that has any). Chosen on validation rows carved from the
/// ml-100k folds' training files, on all users and on a half and a quarter of them: the best `λ`
/// falls with the data, by about the square root of the mean diagonal (`docs/model.md`).
pub const DEFAULT_REG_SCALE: f32 = 55.0;

/// The largest catalogue the dense closed form takes: its working memory is about `20·n²`
/// bytes at most (five `f32` matrices while `kg-ease` chooses its weight), 2 GiB at this size.
/// The closed form runs in `f32`: on the ml-100k folds its lists score as the `f64` ones did
/// to the fourth decimal, in half the time (`docs/benchmarks.md`).
pub const MAX_DENSE_ITEMS: usize = 10_000;

/// How `λ` is set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regularization {
    /// `λ` itself.
    Absolute(f32),
    /// `λ = s · √(mean diag XᵀX)`.
    Scaled(f32),
}

impl Default for Regularization {
    fn default() -> Self {
        Self::Scaled(DEFAULT_REG_SCALE)
    }
}

impl Regularization {
    fn check(self) -> Result<(), ParamError> {
        let (name, v) = match self {
            Self::Absolute(v) => ("regularization", v),
            Self::Scaled(v) => ("regularization scale", v),
        };
        positive(name, v)
    }

    /// `λ` for a matrix whose mean diagonal of `XᵀX` is `mean_diagonal`.
    pub fn lambda(self, mean_diagonal: f64) -> f64 {
        match self {
            Self::Absolute(v) => f64::from(v),
            // An empty matrix still gets a positive λ, so G + λI stays invertible.
            Self::Scaled(s) => f64::from(s) * mean_diagonal.max(1.0).sqrt(),
        }
    }
}

/// Hyper-parameters of EASE.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct EaseParams {
    /// `λ` on the diagonal of `XᵀX`.
    pub regularization: Regularization,
    /// The sparse approximation with this many weights per item; `None`: the exact closed
    /// form up to [`MAX_DENSE_ITEMS`] items, the approximation with [`DEFAULT_NEIGHBOURS`]
    /// above ([`Solver::for_items`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neighbours: Option<usize>,
}

/// The weights per item the sparse approximation keeps by default.
pub const DEFAULT_NEIGHBOURS: usize = 256;

/// How `B` is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Solver {
    /// The exact closed form, dense.
    Dense,
    /// The sparse approximation keeping this many weights per item (`sparse.rs`).
    Sparse(usize),
}

impl Solver {
    /// The solver for `n` items when `neighbours` was given (or not).
    pub fn for_items(neighbours: Option<usize>, n: usize) -> Self {
        match neighbours {
            Some(m) => Self::Sparse(m),
            None if n > MAX_DENSE_ITEMS => Self::Sparse(DEFAULT_NEIGHBOURS),
            None => Self::Dense,
        }
    }

    /// `B` of the row sets `sets` over `n` items at ridge `lambda`.
    pub(crate) fn fit(
        self,
        sets: &[WeightedRows<'_>],
        n: usize,
        lambda: f64,
        cancel: &AtomicBool,
    ) -> Result<ItemWeights, FitError> {
        match self {
            Self::Sparse(m) => Ok(ItemWeights::sparse(
                n,
                local_closed_form(sets, n, lambda, m, cancel)?,
            )),
            Self::Dense => {
                let mut gram = vec![0.0f32; n * n];
                for set in sets {
                    add_gram(&mut gram, n, *set);
                }
                stop_if(cancel)?;
                ItemWeights::from_row_major(n, closed_form(gram, n, lambda)?)
                    .map_err(|e| FitError::Internal(e.to_string()))
            }
        }
    }
}

/// Cold-item placement writes whole columns of `B`, which only the dense form holds: a rule
/// given is refused with the sparse approximation, and a choice keeps `off` there.
fn check_placement(solver: Solver, params: &KgEaseParams) -> Result<(), ParamError> {
    match solver {
        Solver::Sparse(_) if params.placement != Placement::Off => Err(ParamError {
            name: "cold placement",
            value: params.placement.name().to_owned(),
            expected: "off or auto with the sparse approximation (--neighbours, or a catalogue \
                       of more than 10,000 items)",
        }),
        _ => Ok(()),
    }
}

fn check_neighbours(neighbours: Option<usize>) -> Result<(), ParamError> {
    match neighbours {
        Some(m) => require(m >= 1, "neighbours", m as f32, ">= 1"),
        None => Ok(()),
    }
}

/// Hyper-parameters of `kg-ease`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KgEaseParams {
    /// `λ` on the diagonal of `XᵀX + TᵀT` (scaled by the interactions' mean diagonal alone).
    pub regularization: Regularization,
    /// The graph's weight `α`: the feature rows weigh `α · idf^p`.
    pub graph_weight: f32,
    /// A fact becomes a feature when at least this many items share it.
    pub min_items: usize,
    /// The exponent `p` of a feature's inverse document frequency in its weight (0: flat).
    pub idf_power: f32,
    /// `train` chooses `α` among [`CANDIDATE_WEIGHTS`] on validation rows carved from the
    /// training data ([`choose_graph_weight`]); `graph_weight` then records the choice.
    #[serde(default)]
    pub choose_weight: bool,
    /// How linked items without interactions get their column of `B`.
    #[serde(default)]
    pub placement: Placement,
    /// `train` chooses the placement with `α` ([`choose_graph_weight`]).
    #[serde(default)]
    pub choose_placement: bool,
    /// As [`EaseParams::neighbours`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neighbours: Option<usize>,
    /// `β`: two-hop features weigh `β · α · idf^p`; 0 builds none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub two_hop_weight: f32,
    /// A two-hop path's middle entity has at most this many edges.
    #[serde(
        default = "two_hop_max_degree",
        skip_serializing_if = "is_default_degree"
    )]
    pub two_hop_max_degree: usize,
    /// `q`: each relation type's rows are scaled by `(mean total / its total)^(q/2)`, where a
    /// type's total is `Σ w_f² df_f` over its features; 1 gives every type the same total weight,
    /// 0 leaves the weights as they are.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub relation_balance: f32,
    /// `γ`: `B` is pulled towards `γ` times the graph's item-item cosine (the
    /// [`GRAPH_PRIOR_NEIGHBOURS`] most similar items of each), with strength `λ`; 0: no prior.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub graph_prior: f32,
    /// `τ`: the words of each item's own text literals become feature rows weighing
    /// `τ · α · idf^p` (`crate::content::item_terms`); 0 builds none and reads no text.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub text_weight: f32,
}

/// `τ` of [`KgEaseParams::default`]: chosen on validation rows carved from the five ml-100k
/// folds' training files (`docs/benchmarks.md`, "Content features"). A stored model without the
/// field had no text rows: its serde default is 0.
pub const DEFAULT_TEXT_WEIGHT: f32 = 0.5;

/// The items of each column of the graph prior on `B`.
pub const GRAPH_PRIOR_NEIGHBOURS: usize = 20;

fn is_zero(v: &f32) -> bool {
    *v == 0.0
}

fn two_hop_max_degree() -> usize {
    TWO_HOP_MAX_DEGREE
}

fn is_default_degree(v: &usize) -> bool {
    *v == TWO_HOP_MAX_DEGREE
}

impl Default for KgEaseParams {
    fn default() -> Self {
        Self {
            regularization: Regularization::default(),
            graph_weight: 0.7,
            min_items: 2,
            idf_power: 0.5,
            choose_weight: false,
            placement: Placement::Off,
            choose_placement: false,
            neighbours: None,
            two_hop_weight: 0.0,
            two_hop_max_degree: TWO_HOP_MAX_DEGREE,
            relation_balance: 0.0,
            graph_prior: 0.0,
            text_weight: DEFAULT_TEXT_WEIGHT,
        }
    }
}

impl EaseParams {
    /// Range checks.
    pub fn check(&self) -> Result<(), ParamError> {
        self.regularization.check()?;
        check_neighbours(self.neighbours)
    }

    /// Fits on `matrix` (every positive counts 1). Deterministic, whatever the thread count.
    pub fn fit(&self, matrix: &InteractionMatrix, cancel: &AtomicBool) -> Result<Ease, FitError> {
        self.check()?;
        let n = checked_items(matrix)?;
        let lambda = self.regularization.lambda(mean_diagonal(matrix));
        let weights = Solver::for_items(self.neighbours, n).fit(
            &[interaction_rows(matrix)],
            n,
            lambda,
            cancel,
        )?;
        Ok(Ease { lambda, weights })
    }
}

impl KgEaseParams {
    /// Range checks.
    pub fn check(&self) -> Result<(), ParamError> {
        self.regularization.check()?;
        non_negative("graph weight", self.graph_weight)?;
        non_negative("idf power", self.idf_power)?;
        non_negative("two-hop weight", self.two_hop_weight)?;
        non_negative("graph prior", self.graph_prior)?;
        non_negative("text weight", self.text_weight)?;
        require(
            (0.0..=1.0).contains(&self.relation_balance),
            "relation balance",
            self.relation_balance,
            "between 0 and 1",
        )?;
        check_neighbours(self.neighbours)
    }

    /// The graph prior on `B` ([`GraphFeatures::prior`] at `α = 1`), `None` without one; the
    /// sparse approximation takes none.
    fn prior(
        &self,
        features: &GraphFeatures,
        n: usize,
        solver: Solver,
    ) -> Result<Option<Prior>, FitError> {
        if self.graph_prior <= 0.0 {
            return Ok(None);
        }
        if solver != Solver::Dense {
            return Err(FitError::from(ParamError {
                name: "graph prior",
                value: self.graph_prior.to_string(),
                expected: "0 with the sparse approximation",
            }));
        }
        let unit = KgEaseParams {
            graph_weight: 1.0,
            ..*self
        }
        .feature_weights(features);
        Ok(Some(features.prior(
            &unit,
            n,
            GRAPH_PRIOR_NEIGHBOURS,
            f64::from(self.graph_prior),
        )))
    }

    /// The graph features of the first `n` items of `graph` these parameters ask for.
    pub fn features(&self, graph: &ItemGraph, n: usize) -> GraphFeatures {
        GraphFeatures::with_options(
            graph,
            n,
            FeatureOptions {
                min_items: self.min_items,
                two_hop: self.two_hop_weight > 0.0,
                max_middle_degree: self.two_hop_max_degree,
                terms: self.text_weight > 0.0,
            },
        )
    }

    /// The feature rows' squared weights `(α · idf^p)²` (`(β · α · idf^p)²` for a two-hop
    /// feature), each relation type's then scaled by `(T̄ / T_t)^q` with `T_t = Σ_{f ∈ t} w_f²
    /// df_f` and `T̄` its mean over the types with weight.
    pub fn feature_weights(&self, features: &GraphFeatures) -> Vec<f64> {
        let alpha = f64::from(self.graph_weight);
        let beta = f64::from(self.two_hop_weight);
        let mut weight_sq: Vec<f64> = (0..features.len())
            .map(|f| {
                let key = features.key(f);
                let hop = if key.is_two_hop() {
                    beta
                } else if key.is_term() {
                    f64::from(self.text_weight)
                } else {
                    1.0
                };
                let w = hop * alpha * features.idf(f).powf(f64::from(self.idf_power));
                w * w
            })
            .collect();
        if self.relation_balance > 0.0 {
            balance_relation_types(features, &mut weight_sq, f64::from(self.relation_balance));
        }
        weight_sq
    }

    /// Fits on `matrix` with the features of `graph` (bound to the same dense item ids).
    /// With `interaction_part`, also fits plain EASE at the same `λ`, which splits every score
    /// into an interaction part and the graph's contribution.
    pub fn fit(
        &self,
        matrix: &InteractionMatrix,
        graph: &ItemGraph,
        interaction_part: bool,
        cancel: &AtomicBool,
    ) -> Result<KgEase, FitError> {
        self.check()?;
        let n = checked_items(matrix)?;
        let features = self.features(graph, n);
        let weight_sq = self.feature_weights(&features);
        let lambda = self.regularization.lambda(mean_diagonal(matrix));
        let solver = Solver::for_items(self.neighbours, n);
        check_placement(solver, self)?;
        let interactions = interaction_rows(matrix);
        let prior = self.prior(&features, n, solver)?;
        // At α = 0 (or without features) `B` is the interactions' own: no second fit.
        let graph_free = weight_sq.iter().all(|&w| w == 0.0) && prior.is_none();
        let plain = if interaction_part && !graph_free {
            let weights = solver.fit(&[interactions], n, lambda, cancel)?;
            stop_if(cancel)?;
            Some(weights)
        } else {
            None
        };
        let sets = [interactions, features.rows(&weight_sq)];
        let mut weights = match &prior {
            None => solver.fit(&sets, n, lambda, cancel)?,
            Some(prior) => {
                let mut gram = vec![0.0f32; n * n];
                for set in sets {
                    add_gram(&mut gram, n, set);
                }
                stop_if(cancel)?;
                ItemWeights::from_row_major(
                    n,
                    closed_form_with_prior(gram, n, lambda, Some(prior))?,
                )
                .map_err(|e| FitError::Internal(e.to_string()))?
            }
        };
        let plain = match (interaction_part && graph_free, plain) {
            (true, _) => Some(weights.clone()),
            (false, plain) => plain,
        };
        let placed = match self.placement {
            Placement::Off => 0,
            p => {
                let columns = cold::cold_columns(&weights, &cold::cold_neighbours(matrix, graph));
                cold::place(&mut weights, &columns, p)
            }
        };
        Ok(KgEase {
            lambda,
            features: features.len(),
            two_hop_features: features.two_hop_len(),
            term_features: features.term_len(),
            weights,
            interaction_weights: plain,
            placed,
        })
    }
}

/// What the candidate fits of a weight choice on the same rows share, built once: `XᵀX` and
/// the feature rows' Gram matrix at `α = 1`, and `λ`. A candidate `α` then costs one
/// factorisation of `G = XᵀX + α²·F` instead of a fit from scratch.
pub(crate) struct CandidateGrams {
    n: usize,
    lambda: f64,
    interactions: Vec<f32>,
    features: Vec<f32>,
    prior: Option<Prior>,
}

impl CandidateGrams {
    /// Built for `params` (all but its graph weight) on `matrix`, whose `n` items `features`
    /// describe, at ridge `lambda`.
    pub(crate) fn new(
        params: &KgEaseParams,
        matrix: &InteractionMatrix,
        features: &GraphFeatures,
        n: usize,
        lambda: f64,
    ) -> Self {
        let mut interactions = vec![0.0f32; n * n];
        add_gram(&mut interactions, n, interaction_rows(matrix));
        let unit = KgEaseParams {
            graph_weight: 1.0,
            ..*params
        }
        .feature_weights(features);
        let mut feature_gram = vec![0.0f32; n * n];
        add_gram(&mut feature_gram, n, features.rows(&unit));
        // The dense form always takes the prior: no error to pass on.
        let prior = params.prior(features, n, Solver::Dense).ok().flatten();
        Self {
            n,
            lambda,
            interactions,
            features: feature_gram,
            prior,
        }
    }

    /// `B` at graph weight `weight` (no cold-item placement).
    pub(crate) fn weights(&self, weight: f32) -> Result<ItemWeights, FitError> {
        let square = weight * weight;
        let gram: Vec<f32> = self
            .interactions
            .iter()
            .zip(&self.features)
            .map(|(x, f)| x + square * f)
            .collect();
        ItemWeights::from_row_major(
            self.n,
            closed_form_with_prior(gram, self.n, self.lambda, self.prior.as_ref())?,
        )
        .map_err(|e| FitError::Internal(e.to_string()))
    }
}

/// Scales each relation type's squared weights by `(T̄ / T_t)^q`, `T_t` the type's total
/// `Σ w_f² df_f` (its share of the trace of `TᵀWᵀWT`), `T̄` the mean total of the types that
/// have weight. Types are visited in order of first appearance: the same features always give
/// the same weights.
fn balance_relation_types(features: &GraphFeatures, weight_sq: &mut [f64], q: f64) {
    let (types, n_types) = features.relation_types();
    let mut totals = vec![0.0f64; n_types];
    for (f, &t) in types.iter().enumerate() {
        totals[t] += weight_sq[f] * features.items_of(f).len() as f64;
    }
    let weighted: Vec<f64> = totals.iter().copied().filter(|&t| t > 0.0).collect();
    if weighted.is_empty() {
        return;
    }
    let mean = weighted.iter().sum::<f64>() / weighted.len() as f64;
    for (w, t) in weight_sq.iter_mut().zip(types) {
        if totals[t] > 0.0 {
            *w *= (mean / totals[t]).powf(q);
        }
    }
}

/// The item count; an empty matrix is refused.
fn checked_items(matrix: &InteractionMatrix) -> Result<usize, FitError> {
    if matrix.nnz() == 0 {
        return Err(FitError::Empty);
    }
    Ok(matrix.n_items())
}

fn stop_if(cancel: &AtomicBool) -> Result<(), FitError> {
    if cancel.load(Ordering::Relaxed) {
        Err(FitError::Cancelled)
    } else {
        Ok(())
    }
}

/// The mean diagonal of `XᵀX` over the items that have a positive.
pub fn mean_diagonal(matrix: &InteractionMatrix) -> f64 {
    let active = matrix.item_degrees().iter().filter(|&&d| d > 0).count();
    matrix.nnz() as f64 / active.max(1) as f64
}

/// The interaction matrix's users as 0/1 rows.
fn interaction_rows(matrix: &InteractionMatrix) -> WeightedRows<'_> {
    let (row_ptr, row_items, _) = matrix.user_csr();
    let (item_ptr, item_rows, _) = matrix.item_csr();
    WeightedRows {
        row_ptr,
        row_items,
        item_ptr,
        item_rows,
        weight_sq: None,
    }
}

/// A fitted EASE model.
#[derive(Debug, Clone, PartialEq)]
pub struct Ease {
    /// The `λ` used.
    pub lambda: f64,
    /// `B`.
    pub weights: ItemWeights,
}

/// A fitted `kg-ease` model.
#[derive(Debug, Clone, PartialEq)]
pub struct KgEase {
    /// The `λ` used.
    pub lambda: f64,
    /// Feature rows stacked under the interactions.
    pub features: usize,
    /// How many of them are two-hop paths.
    pub two_hop_features: usize,
    /// How many of them are words of the items' text.
    pub term_features: usize,
    /// `B` of interactions and graph.
    pub weights: ItemWeights,
    /// `B` of the interactions alone at the same `λ`, when asked for.
    pub interaction_weights: Option<ItemWeights>,
    /// Linked items without interactions whose column was placed ([`Placement`]).
    pub placed: usize,
}

/// An item×item weight matrix `B` with a zero diagonal: a history's score of item `i` is
/// `Σ_{j ∈ history} B[j, i]`. Dense (the exact closed form) or sparse by row (the
/// approximation of `sparse.rs`, for large catalogues).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemWeights {
    n: usize,
    storage: Storage,
}

#[derive(Debug, Clone, PartialEq)]
enum Storage {
    /// Row-major: row `j` is what item `j` in a history adds to every item.
    Dense(Vec<f32>),
    Sparse(SparseWeights),
}

/// Stored weights that do not make a `B` for the model's items.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadWeights {
    /// A dense array of the wrong length.
    #[error("{values} item weights for {items} items (expected items²)")]
    DenseSize {
        /// Values found.
        values: usize,
        /// Items expected.
        items: usize,
    },
    /// Sparse arrays that do not hold together.
    #[error("sparse item weights for {items} items: {detail}")]
    Sparse {
        /// Items expected.
        items: usize,
        /// What is wrong.
        detail: String,
    },
}

impl ItemWeights {
    /// `B` from its row-major values.
    pub fn from_row_major(items: usize, weights: Vec<f32>) -> Result<Self, BadWeights> {
        if items.checked_mul(items) != Some(weights.len()) {
            return Err(BadWeights::DenseSize {
                values: weights.len(),
                items,
            });
        }
        Ok(Self {
            n: items,
            storage: Storage::Dense(weights),
        })
    }

    fn sparse(n: usize, weights: SparseWeights) -> Self {
        Self {
            n,
            storage: Storage::Sparse(weights),
        }
    }

    /// Sparse weights from their rows (row `j`: `cols[ptr[j]..ptr[j + 1]]`, ascending, with
    /// `vals` beside them), as a neighbourhood model keeps them; the caller built them whole.
    pub(crate) fn from_sparse_rows(
        n: usize,
        ptr: Vec<usize>,
        cols: Vec<u32>,
        vals: Vec<f32>,
    ) -> Self {
        Self::sparse(n, SparseWeights { ptr, cols, vals })
    }

    /// Row `from`'s non-zero entries `(to, B[from, to])`, ascending `to` (empty outside).
    pub fn row_entries(&self, from: usize) -> Vec<(u32, f32)> {
        if from >= self.n {
            return Vec::new();
        }
        match &self.storage {
            Storage::Dense(w) => w[from * self.n..(from + 1) * self.n]
                .iter()
                .enumerate()
                .filter(|(_, v)| **v != 0.0)
                .map(|(k, v)| (k as u32, *v))
                .collect(),
            Storage::Sparse(s) => {
                let (cols, vals) = Self::sparse_row(s, from);
                cols.iter().copied().zip(vals.iter().copied()).collect()
            }
        }
    }

    /// The arrays a model stores `B` in, named from `name`: `name` itself for dense weights;
    /// `name.ptr`, `name.cols` (both `u32` in `f32` bits) and `name.vals` for sparse ones.
    pub fn to_arrays(&self, name: &str) -> Vec<(String, Vec<f32>)> {
        let bits = |v: &mut dyn Iterator<Item = u32>| v.map(f32::from_bits).collect::<Vec<_>>();
        match &self.storage {
            Storage::Dense(w) => vec![(name.to_owned(), w.clone())],
            Storage::Sparse(s) => vec![
                (
                    format!("{name}.ptr"),
                    bits(&mut s.ptr.iter().map(|&p| p as u32)),
                ),
                (format!("{name}.cols"), bits(&mut s.cols.iter().copied())),
                (format!("{name}.vals"), s.vals.clone()),
            ],
        }
    }

    /// `B` of `items` items from the arrays [`ItemWeights::to_arrays`] wrote under `name`
    /// (taken out of `arrays`); `None` when there are none. Sparse arrays are checked whole:
    /// offsets that rise to the value count, items in range and ascending in every row.
    pub fn from_arrays(
        items: usize,
        arrays: &mut Vec<(String, Vec<f32>)>,
        name: &str,
    ) -> Result<Option<Self>, BadWeights> {
        let mut take = |key: &str| {
            arrays
                .iter()
                .position(|(n, _)| n == key)
                .map(|k| arrays.swap_remove(k).1)
        };
        if let Some(dense) = take(name) {
            return Self::from_row_major(items, dense).map(Some);
        }
        let (ptr, cols, vals) = match (
            take(&format!("{name}.ptr")),
            take(&format!("{name}.cols")),
            take(&format!("{name}.vals")),
        ) {
            (None, None, None) => return Ok(None),
            (Some(p), Some(c), Some(v)) => (p, c, v),
            _ => {
                return Err(BadWeights::Sparse {
                    items,
                    detail: "some of its three arrays are missing".to_owned(),
                });
            }
        };
        let bad = |detail: &str| BadWeights::Sparse {
            items,
            detail: detail.to_owned(),
        };
        let ptr: Vec<usize> = ptr.iter().map(|v| v.to_bits() as usize).collect();
        let cols: Vec<u32> = cols.iter().map(|v| v.to_bits()).collect();
        if ptr.len() != items + 1 || ptr.first() != Some(&0) {
            return Err(bad("row offsets of the wrong length"));
        }
        if ptr.windows(2).any(|w| w[0] > w[1]) || ptr.last() != Some(&cols.len()) {
            return Err(bad("row offsets that do not rise to the value count"));
        }
        if cols.len() != vals.len() {
            return Err(bad("as many items as values expected"));
        }
        for row in ptr.windows(2) {
            let row = &cols[row[0]..row[1]];
            if row.windows(2).any(|w| w[0] >= w[1]) || row.iter().any(|&c| c as usize >= items) {
                return Err(bad("a row's items out of range or not ascending"));
            }
        }
        Ok(Some(Self::sparse(items, SparseWeights { ptr, cols, vals })))
    }

    /// Items.
    pub fn n_items(&self) -> usize {
        self.n
    }

    /// Whether `B` is the sparse approximation.
    pub fn is_sparse(&self) -> bool {
        matches!(self.storage, Storage::Sparse(_))
    }

    /// Weights held: `n²` dense, fewer sparse.
    pub fn stored_weights(&self) -> usize {
        match &self.storage {
            Storage::Dense(w) => w.len(),
            Storage::Sparse(s) => s.vals.len(),
        }
    }

    /// Row `from` of a sparse `B`: its items and weights.
    fn sparse_row(s: &SparseWeights, from: usize) -> (&[u32], &[f32]) {
        let (lo, hi) = (s.ptr[from], s.ptr[from + 1]);
        (&s.cols[lo..hi], &s.vals[lo..hi])
    }

    /// `B[from, to]`: what `from` in a history adds to the score of `to` (0 outside).
    pub fn weight(&self, from: usize, to: usize) -> f32 {
        if from >= self.n || to >= self.n {
            return 0.0;
        }
        match &self.storage {
            Storage::Dense(w) => w[from * self.n + to],
            Storage::Sparse(s) => {
                let (cols, vals) = Self::sparse_row(s, from);
                cols.binary_search(&(to as u32)).map_or(0.0, |k| vals[k])
            }
        }
    }

    /// Writes `Σ_{j ∈ history} B[j, ·]` into `out` (length [`ItemWeights::n_items`]); items of
    /// `history` outside the model add nothing.
    pub fn score(&self, history: &[u32], out: &mut [f32]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        for &j in history {
            let j = j as usize;
            if j >= self.n {
                continue;
            }
            match &self.storage {
                Storage::Dense(w) => {
                    let row = &w[j * self.n..(j + 1) * self.n];
                    out.iter_mut().zip(row).for_each(|(o, w)| *o += w);
                }
                Storage::Sparse(s) => {
                    let (cols, vals) = Self::sparse_row(s, j);
                    for (&c, &v) in cols.iter().zip(vals) {
                        out[c as usize] += v;
                    }
                }
            }
        }
    }

    /// `Σ_{j ∈ history} B[j, item]`.
    pub fn score_one(&self, history: &[u32], item: usize) -> f32 {
        history.iter().map(|&j| self.weight(j as usize, item)).sum()
    }

    /// Column `item` of `B` into `out`: what each item in a history adds to `item`.
    pub fn column(&self, item: usize, out: &mut [f32]) {
        for (j, o) in out.iter_mut().enumerate() {
            *o = self.weight(j, item);
        }
    }

    /// The dense row-major values, `None` for sparse weights (cold-item placement reads and
    /// writes whole columns, which only the dense form holds).
    fn dense(&self) -> Option<&[f32]> {
        match &self.storage {
            Storage::Dense(w) => Some(w),
            Storage::Sparse(_) => None,
        }
    }

    /// [`ItemWeights::dense`], mutable.
    fn dense_mut(&mut self) -> Option<&mut Vec<f32>> {
        match &mut self.storage {
            Storage::Dense(w) => Some(w),
            Storage::Sparse(_) => None,
        }
    }
}

/// An item-to-item model ready to serve: `B` (and, for `kg-ease`, its interaction part) and
/// the trained users' items as the interaction matrix held them when the model was bound.
#[derive(Debug)]
pub struct ItemToItem {
    weights: ItemWeights,
    interaction: Option<ItemWeights>,
    /// Whether the weights come from the graph alone (`tfidf`: the cosines of the items' text
    /// literals and neighbours' labels), so the whole score is the `kg` part.
    from_graph: bool,
    /// CSR of the items of users `0..n_users`.
    ptr: Vec<usize>,
    items: Vec<u32>,
    /// Row `j` of `B` lists `j`'s neighbours (item-kNN): items like `j` are its row, not
    /// its column.
    by_row: bool,
}

impl ItemToItem {
    /// Binds `weights` (and the interaction part `interaction`) to the items of users
    /// `0..n_users` of `matrix`; other users are scored from the items they come with.
    pub fn new(
        weights: ItemWeights,
        interaction: Option<ItemWeights>,
        matrix: &InteractionMatrix,
        n_users: usize,
    ) -> Self {
        let mut ptr = Vec::with_capacity(n_users + 1);
        ptr.push(0);
        let mut items = Vec::new();
        for u in 0..n_users {
            items.extend_from_slice(UserRow::of(matrix, UserId(u as u32)).items);
            ptr.push(items.len());
        }
        Self {
            weights,
            interaction,
            from_graph: false,
            ptr,
            items,
            by_row: false,
        }
    }

    /// An item-kNN model: `weights` row `j` holds `j`'s neighbours, which are the items like
    /// `j` ([`Recommender::item_similarities`]).
    pub fn neighbourhood(weights: ItemWeights, matrix: &InteractionMatrix, n_users: usize) -> Self {
        Self {
            by_row: true,
            ..Self::new(weights, None, matrix, n_users)
        }
    }

    /// Marks the weights as the graph's alone (`tfidf`'s content cosines): a score's parts
    /// are then `cf = 0`, `kg` the whole score.
    pub fn from_graph(self) -> Self {
        Self {
            from_graph: true,
            ..self
        }
    }

    fn history(&self, user: UserId) -> &[u32] {
        match (self.ptr.get(user.index()), self.ptr.get(user.index() + 1)) {
            (Some(&lo), Some(&hi)) => &self.items[lo..hi],
            _ => &[],
        }
    }

    fn parts(&self, history: &[u32], item: ItemId) -> ScoreParts {
        let total = self.weights.score_one(history, item.index());
        match &self.interaction {
            Some(plain) => {
                let cf = plain.score_one(history, item.index());
                ScoreParts { cf, kg: total - cf }
            }
            None if self.from_graph => ScoreParts { cf: 0.0, kg: total },
            None => ScoreParts { cf: total, kg: 0.0 },
        }
    }
}

impl Recommender for ItemToItem {
    fn n_users(&self) -> usize {
        self.ptr.len() - 1
    }

    fn n_items(&self) -> usize {
        self.weights.n_items()
    }

    fn score_items(&self, user: UserId, out: &mut [f32]) {
        self.weights.score(self.history(user), out);
    }

    fn score_user(&self, user: UserRow<'_>, out: &mut [f32]) -> Basis {
        self.weights.score(user.items, out);
        if user.user.index() < self.n_users() {
            Basis::Trained
        } else if user.items.is_empty() {
            Basis::NoPreference
        } else {
            Basis::FoldedIn
        }
    }

    fn score_parts(&self, user: UserId, item: ItemId) -> ScoreParts {
        self.parts(self.history(user), item)
    }

    /// A trained user's parts are of the history the model was trained with, as their scores
    /// are ([`Recommender::score_items`]; a list served after feedback is ranked on it until
    /// the next training), so the parts add up to the score shown; a folded-in user's are of
    /// the items given.
    fn score_parts_user(&self, user: UserRow<'_>, item: ItemId) -> ScoreParts {
        match user.user.index() < self.n_users() {
            true => self.score_parts(user.user, item),
            false => self.parts(user.items, item),
        }
    }

    fn has_graph_part(&self) -> bool {
        self.interaction.is_some() || self.from_graph
    }

    fn item_similarities(&self, item: ItemId, out: &mut [f32]) -> bool {
        if self.by_row {
            out.iter_mut().for_each(|o| *o = 0.0);
            for (to, w) in self.weights.row_entries(item.index()) {
                if let Some(o) = out.get_mut(to as usize) {
                    *o = w;
                }
            }
        } else {
            self.weights.column(item.index(), out);
        }
        true
    }

    fn item_to_item(&self) -> Option<&ItemWeights> {
        Some(&self.weights)
    }

    /// No item of any history weighs for it: `B`'s column of the item is zero.
    fn item_blank(&self, item: ItemId) -> bool {
        let i = item.index();
        i >= self.weights.n_items()
            || (0..self.weights.n_items()).all(|j| self.weights.weight(j, i) == 0.0)
    }
}

#[cfg(test)]
mod tests;
