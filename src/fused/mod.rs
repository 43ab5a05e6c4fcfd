//! The knowledge-aware recommender (`--model cke`): collaborative filtering fused with knowledge-
//! graph embeddings, CKE-style (Zhang et al., KDD 2016), plus relation attention over an item's
//! neighbourhood (KGCN/KGAT-style). The maths is in `docs/model.md`; in short:
//!
//! - every entity `e` has an embedding `η_e` and every relation `r` a translation `t_r`, trained
//!   by TransE's margin loss on the graph's triples;
//! - an item's vector is `y_i = o_i + η_{e(i)}`: a collaborative offset plus its linked entity's
//!   embedding (`o_i` alone for an unlinked item); a linked item nobody has interacted with (item
//!   cold start) is placed where its nearest items in the graph sit (`nearest.rs`);
//! - users and offsets are fitted by implicit ALS whose item rows are pulled towards their
//!   entity's embedding and towards where the items most like them in the graph sit, while the
//!   embeddings are pulled towards the items (joint training: the two halves alternate and share
//!   `η`);
//! - a user `u` weighs the relations around item `i` by `π_u(g) ∝ exp(x_u·ρ_g)` (one key `ρ_g`
//!   per relation and direction) and adds `β · x_u·Σ_n π_u(g_n) η_n / Σ_n π_u(g_n)`, the
//!   attention-weighted mean of the neighbours' embeddings, to the score.
//!
//! Score parts: `cf = x_u·o_i`, `kg = x_u·η_{e(i)} + β·x_u·agg_u(i)`.

mod graph;
pub(crate) mod nearest;
mod train;

pub use graph::{ItemGraph, group_of};
pub use train::{Attention, FusedParams};

use ndarray::{Array2, ArrayView1};

use crate::cf::Recommender;
use crate::ids::{ItemId, UserId};
use kgrec_kg::numeric::kernel::dot;

/// A fitted fused model bound to its item graph.
#[derive(Debug, Clone)]
pub struct Fused {
    /// The hyper-parameters it was fitted with.
    pub params: FusedParams,
    users: Array2<f32>,
    offsets: Array2<f32>,
    entities: Array2<f32>,
    relations: Array2<f32>,
    keys: Array2<f32>,
    beta: f32,
    graph: ItemGraph,
    /// `o_i + η_{e(i)}`, materialised for scoring.
    items: Array2<f32>,
    /// `η_{e(i)}` per item (zero when unlinked).
    item_kg: Array2<f32>,
}

/// A [`Fused`] model's numbers as plain row-major vectors, for the model store.
#[derive(Debug, Clone, PartialEq)]
pub struct FusedParts {
    /// Columns of every table.
    pub dim: usize,
    /// `n_users × dim`.
    pub users: Vec<f32>,
    /// `n_items × dim` collaborative offsets.
    pub offsets: Vec<f32>,
    /// `n_entities × dim` entity embeddings.
    pub entities: Vec<f32>,
    /// `n_relations × dim` TransE translations.
    pub relations: Vec<f32>,
    /// `2·n_relations × dim` attention keys.
    pub keys: Vec<f32>,
    /// The weight of the neighbourhood term.
    pub beta: f32,
}

/// Stored parts that do not fit together or do not fit the graph they are bound to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("inconsistent fused model: {0}")]
pub struct BadFusedParts(pub String);

/// How much of one item's score came from each half of the model: `cf = x_u·o_i` (the
/// collaborative offset's part) and `kg = x_u·η_{e(i)} + β·x_u·agg_u(i)` (the linked entity's
/// embedding and the attention-weighted neighbourhood). The item vector `o_i + η_{e(i)}` holds
/// both, so the split is by the two terms of that sum, not by two separately trained models.
pub type ScoreSplit = crate::cf::ScoreParts;

fn rows_of(v: &[f32], dim: usize, what: &str) -> Result<usize, BadFusedParts> {
    if dim == 0 || !v.len().is_multiple_of(dim) {
        return Err(BadFusedParts(format!(
            "{what}: {} values are not rows of {dim}",
            v.len()
        )));
    }
    Ok(v.len() / dim)
}

fn table(v: Vec<f32>, dim: usize, what: &str) -> Result<Array2<f32>, BadFusedParts> {
    let rows = rows_of(&v, dim, what)?;
    Array2::from_shape_vec((rows, dim), v).map_err(|e| BadFusedParts(format!("{what}: {e}")))
}

impl Fused {
    /// Assembles a model from its tables and the graph binding (checked against each other).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn assemble(
        params: FusedParams,
        users: Array2<f32>,
        offsets: Array2<f32>,
        entities: Array2<f32>,
        relations: Array2<f32>,
        keys: Array2<f32>,
        beta: f32,
        graph: ItemGraph,
    ) -> Result<Self, BadFusedParts> {
        let d = users.ncols();
        let bad = |what: &str| Err(BadFusedParts(what.to_owned()));
        if [
            offsets.ncols(),
            entities.ncols(),
            relations.ncols(),
            keys.ncols(),
        ]
        .iter()
        .any(|&c| c != d)
        {
            return bad("tables of different widths");
        }
        if graph.n_entities() > entities.nrows()
            || graph.n_relations() > relations.nrows()
            || graph.n_groups() > keys.nrows()
        {
            return bad("the graph binding is larger than the embedding tables");
        }
        if graph.n_items() != offsets.nrows() {
            return bad("the graph binding and the offsets disagree on the number of items");
        }
        let mut item_kg = Array2::<f32>::zeros(offsets.dim());
        for (i, mut row) in item_kg.outer_iter_mut().enumerate() {
            if let Some(e) = graph.entity_of(i) {
                row.assign(&entities.row(e.index()));
            }
        }
        let items = &offsets + &item_kg;
        Ok(Self {
            params,
            users,
            offsets,
            entities,
            relations,
            keys,
            beta,
            graph,
            items,
            item_kg,
        })
    }

    /// The same model with its linked items without interactions (`warm[i]` false) placed by
    /// another cold rule, `cold_scale` or the `cold_neighbours` nearest items, as the fit
    /// places them (from the fitted rows of the items with interactions, which it does not
    /// change). A linked new item the rule cannot place gets the zero vector (a fit with the
    /// graph's terms off and `--cold-scale` leaves ALS's residue there; neither is ranked). The
    /// tuner compares cold rules on one fit with it.
    pub fn with_cold_rule(
        &self,
        cold_scale: Option<f32>,
        cold_neighbours: usize,
        warm: &[bool],
    ) -> Result<Self, BadFusedParts> {
        let params = FusedParams {
            cold_scale,
            cold_neighbours,
            ..self.params.clone()
        };
        let graph = &self.graph;
        let present = graph.n_linked() > 0 && !graph.triples().is_empty();
        let by_nearest = present && cold_scale.is_none() && params.places_new_items();
        let (m, d) = self.items.dim();
        let new: Vec<bool> = (0..m)
            .map(|i| graph.entity_of(i).is_some() && !warm.get(i).copied().unwrap_or(false))
            .collect();
        let nearest = match by_nearest {
            true => nearest::NearestItems::build(graph, warm, &new, cold_neighbours),
            false => nearest::NearestItems::default(),
        };
        let y: Vec<f32> = self.items.iter().copied().collect();
        let mut offsets = self.offsets.clone();
        for (i, mut o) in offsets.outer_iter_mut().enumerate() {
            if !new[i] {
                continue;
            }
            let eta = self.item_kg.row(i);
            let placed = match (cold_scale, by_nearest) {
                (Some(s), _) if present && params.uses_graph() => Some(eta.mapv(|e| s * e)),
                (None, true) => nearest
                    .place(i, cold_neighbours, &y, d)
                    .map(ndarray::Array1::from),
                _ => None,
            };
            match placed {
                Some(v) => o.assign(&(&v - &eta)),
                None => o.assign(&eta.mapv(|e| -e)),
            }
        }
        Self::assemble(
            params,
            self.users.clone(),
            offsets,
            self.entities.clone(),
            self.relations.clone(),
            self.keys.clone(),
            self.beta,
            self.graph.clone(),
        )
    }

    /// The model as plain vectors.
    pub fn to_parts(&self) -> FusedParts {
        let flat = |a: &Array2<f32>| a.iter().copied().collect::<Vec<f32>>();
        FusedParts {
            dim: self.users.ncols(),
            users: flat(&self.users),
            offsets: flat(&self.offsets),
            entities: flat(&self.entities),
            relations: flat(&self.relations),
            keys: flat(&self.keys),
            beta: self.beta,
        }
    }

    /// Rebuilds a model from stored parts, bound to `graph` (the links and triples of the data
    /// directory when it is loaded; entities it gained since training are left out).
    pub fn from_parts(
        parts: FusedParts,
        params: FusedParams,
        graph: ItemGraph,
    ) -> Result<Self, BadFusedParts> {
        let d = parts.dim;
        Self::assemble(
            params,
            table(parts.users, d, "users")?,
            table(parts.offsets, d, "offsets")?,
            table(parts.entities, d, "entities")?,
            table(parts.relations, d, "relations")?,
            table(parts.keys, d, "attention keys")?,
            parts.beta,
            graph,
        )
    }

    /// Rows of the entity table: a graph bound to this model may not have more.
    pub fn n_entities(&self) -> usize {
        self.entities.nrows()
    }

    /// Rows of the relation table.
    pub fn n_relations(&self) -> usize {
        self.relations.nrows()
    }

    /// The graph binding.
    pub fn graph(&self) -> &ItemGraph {
        &self.graph
    }

    /// The neighbourhood term's weight `β`.
    pub fn beta(&self) -> f32 {
        self.beta
    }

    /// A user's factors (zeros for a user the model does not know).
    pub fn user_vector(&self, user: UserId) -> Vec<f32> {
        match self.users.outer_iter().nth(user.index()) {
            Some(row) => row.to_vec(),
            None => vec![0.0; self.users.ncols()],
        }
    }

    /// The embedding of an entity, if the model has one.
    pub fn entity_vector(&self, entity: kgrec_kg::EntityId) -> Option<ArrayView1<'_, f32>> {
        (entity.index() < self.entities.nrows()).then(|| self.entities.row(entity.index()))
    }

    /// The translation of a relation, if the model has one.
    pub fn relation_vector(&self, relation: kgrec_kg::RelationId) -> Option<ArrayView1<'_, f32>> {
        (relation.index() < self.relations.nrows()).then(|| self.relations.row(relation.index()))
    }

    /// The user's attention weights over every group (relation and direction), unnormalised
    /// (`exp(x·ρ_g − max)`, so the largest is 1).
    pub fn attention(&self, x: &[f32]) -> Vec<f32> {
        attention_weights(x, &self.keys)
    }

    /// The user-specific neighbourhood term `x·agg_u(i)` (before `β`) of one item.
    fn neighbourhood_term(&self, x: &[f32], weights: &[f32], item: usize) -> f32 {
        neighbourhood_term(x, weights, self.graph.neighbourhood(item), &self.entities)
    }

    /// Whether a score has the user-specific neighbourhood term (attention on, `β ≠ 0`).
    fn uses_neighbours(&self) -> bool {
        self.beta != 0.0 && self.params.attention != Attention::None
    }

    /// The model as a plain dot product of factors (`x_u · (o_i + η_{e(i)})`), when it is one:
    /// no user-specific neighbourhood term (no attention, or `β = 0`). Batch scoring then runs
    /// as a matrix product ([`crate::cf::recommend_all`]); the scores are those of
    /// [`Fused::score_vector`] up to the order of the float sums.
    pub fn dot_factors(&self) -> Option<crate::cf::FactorView<'_>> {
        (!self.uses_neighbours()).then(|| crate::cf::FactorView {
            users: self.users.view(),
            items: self.items.view(),
            item_bias: None,
        })
    }

    /// Scores of every item for factor vector `x` (a user's row, or a folded-in user's vector).
    pub fn score_vector(&self, x: &[f32], out: &mut [f32]) {
        let weights = self.attention(x);
        let x_view = ArrayView1::from(x);
        let use_neighbours = self.uses_neighbours();
        // `x·η_n` of each entity once, however many items' neighbourhoods hold it (NaN: not
        // yet computed); the same sums as `neighbourhood_term`, in the same order.
        let mut entity_dots = match use_neighbours {
            true => vec![f32::NAN; self.entities.nrows()],
            false => Vec::new(),
        };
        for (i, (o, item)) in out.iter_mut().zip(self.items.outer_iter()).enumerate() {
            let mut s = item.dot(&x_view);
            if use_neighbours {
                let term =
                    weighted_mean(&weights, self.graph.neighbourhood(i), |n| match entity_dots
                        .get_mut(n as usize)
                    {
                        Some(z) if z.is_nan() => {
                            *z = entity_dot(x, &self.entities, n);
                            *z
                        }
                        Some(z) => *z,
                        None => 0.0,
                    });
                s += self.beta * term;
            }
            *o = s;
        }
    }

    /// How much of user `user`'s score of `item` came from the collaborative offset and how much
    /// from the graph.
    pub fn split(&self, user: UserId, item: ItemId) -> ScoreSplit {
        self.split_vector(&self.user_vector(user), item)
    }

    /// [`Fused::split`] for a factor vector `x` (e.g. a folded-in user's).
    pub fn split_vector(&self, x: &[f32], item: ItemId) -> ScoreSplit {
        let i = item.index();
        if i >= self.offsets.nrows() || x.len() != self.offsets.ncols() {
            return ScoreSplit::default();
        }
        let cf = dot(x, &self.offsets.row(i).to_vec());
        let mut kg = dot(x, &self.item_kg.row(i).to_vec());
        if self.uses_neighbours() {
            let weights = self.attention(x);
            kg += self.beta * self.neighbourhood_term(x, &weights, i);
        }
        ScoreSplit { cf, kg }
    }

    /// The fold-in of users who arrived after training: the user half-step of the fit (implicit
    /// ALS with the model's λ and α) against the item vectors `o_i + η_{e(i)}`, where items
    /// without interactions (`has_positives[i]` false) are no implicit negatives, as in the fit.
    pub fn fold_in_solver(&self, has_positives: &[bool]) -> crate::cf::FoldIn {
        let mut y = self.items.clone();
        for (mut row, seen) in y.outer_iter_mut().zip(has_positives) {
            if !seen {
                row.fill(0.0);
            }
        }
        let params = crate::cf::Als::params()
            .factors(self.params.factors)
            .regularization(self.params.regularization)
            .alpha(self.params.alpha)
            .weighting(self.params.weighing());
        crate::cf::FoldIn::new(&params, &y)
    }

    /// Whether every user scores `item` 0: its vector `o_i + η_{e(i)}` is zero (a linked item
    /// without interactions that the cold rule could not place) and no neighbourhood term adds
    /// to it (its entity has no edge in the graph, or the model has no neighbourhood term).
    pub fn item_blank(&self, item: usize) -> bool {
        let zero = self
            .items
            .outer_iter()
            .nth(item)
            .is_none_or(|row| row.iter().all(|v| *v == 0.0));
        let neighbours = self.beta != 0.0
            && self.params.attention != Attention::None
            && !self.graph.neighbourhood(item).is_empty();
        zero && !neighbours
    }

    /// The item vectors `o_i + η_{e(i)}` (without the neighbourhood term).
    pub fn item_vectors(&self) -> &Array2<f32> {
        &self.items
    }

    /// The users table.
    pub fn users(&self) -> &Array2<f32> {
        &self.users
    }

    /// The entity table.
    pub fn entities(&self) -> &Array2<f32> {
        &self.entities
    }

    /// The relation table.
    pub fn relations(&self) -> &Array2<f32> {
        &self.relations
    }

    /// The attention keys, one row per group.
    pub fn keys(&self) -> &Array2<f32> {
        &self.keys
    }
}

/// `exp(x·ρ_g − max_g x·ρ_g)` for every row `ρ_g` of `keys`.
pub(crate) fn attention_weights(x: &[f32], keys: &Array2<f32>) -> Vec<f32> {
    let logits: Vec<f32> = keys
        .outer_iter()
        .map(|k| match k.as_slice() {
            Some(k) => dot(x, k),
            None => dot(x, &k.to_vec()),
        })
        .collect();
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    logits.iter().map(|l| (l - max).exp()).collect()
}

/// `x·Σ_n w(g_n) η_n / Σ_n w(g_n)` over one neighbourhood; 0 when it is empty.
pub(crate) fn neighbourhood_term(
    x: &[f32],
    weights: &[f32],
    neighbourhood: &[(u32, u32)],
    entities: &Array2<f32>,
) -> f32 {
    weighted_mean(weights, neighbourhood, |n| entity_dot(x, entities, n))
}

/// `Σ_n w(g_n) z(n) / Σ_n w(g_n)` over one neighbourhood (0 when it is empty): the one sum of
/// [`neighbourhood_term`] and of [`Fused::score_vector`], which gives `z` from a per-user cache.
fn weighted_mean(
    weights: &[f32],
    neighbourhood: &[(u32, u32)],
    mut z: impl FnMut(u32) -> f32,
) -> f32 {
    let (mut num, mut den) = (0.0f32, 0.0f32);
    for &(g, n) in neighbourhood {
        let w = weights.get(g as usize).copied().unwrap_or(0.0);
        num += w * z(n);
        den += w;
    }
    if den > 0.0 { num / den } else { 0.0 }
}

/// `x·η_n`.
fn entity_dot(x: &[f32], entities: &Array2<f32>, n: u32) -> f32 {
    let row = entities.row(n as usize);
    match row.as_slice() {
        Some(r) => dot(x, r),
        None => dot(x, &row.to_vec()),
    }
}

impl Recommender for Fused {
    fn n_users(&self) -> usize {
        self.users.nrows()
    }

    fn n_items(&self) -> usize {
        self.items.nrows()
    }

    fn score_items(&self, user: UserId, out: &mut [f32]) {
        let x = self.user_vector(user);
        self.score_vector(&x, out);
    }

    fn score_parts(&self, user: UserId, item: ItemId) -> crate::cf::ScoreParts {
        self.split(user, item)
    }

    fn fused(&self) -> Option<&Fused> {
        Some(self)
    }

    fn item_blank(&self, item: ItemId) -> bool {
        Fused::item_blank(self, item.index())
    }

    fn has_graph_part(&self) -> bool {
        self.params.uses_graph()
    }
}

#[cfg(test)]
mod tests;
