//! Collaborative filtering: this module owns the in-memory interaction matrix, the models learnt
//! from it alone (implicit ALS, BPR-MF, popularity), the [`Recommender`] trait every model —
//! including the later KG-fused one — implements, and exact top-K recommendation.
//!
//! Models follow a params → check → fit shape:
//! `Als::params().factors(16).regularization(10.0).alpha(4.0).iterations(15).fit(&matrix, seed, |r| ...)`.

mod als;
pub mod ann;
mod bpr;
mod matrix;
mod popularity;
mod svd;
mod topk;
pub(crate) use topk::merge_sorted;

pub(crate) use als::RowPrior;
pub use als::{Als, AlsParams, FoldIn};
pub use bpr::{Bpr, BprParams};
pub use matrix::{
    Confidence, DictionaryError, IdMap, IdOutOfRange, InteractionMatrix, PairFeedback, Stretch,
    TooManyIds, Value, Weighting, usual_ratings,
};
pub use popularity::Popularity;
pub use svd::{ItemBasis, Prediction, PredictionBasis, RatingModel, SvdParams};
pub use topk::{
    Scored, TIE_TOLERANCE, UserRecs, recommend_all, recommend_named, recommend_user, scores_tie,
    top_k, top_k_among, user_scores, write_batch,
};

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::ids::{ItemId, UserId};

/// How much of one score came from the collaborative part of a model and how much from the
/// knowledge graph: `cf + kg` is the score. What "kg" covers is the model's definition (see
/// [`Recommender::score_parts`]); a model without a graph puts everything in `cf`.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct ScoreParts {
    /// The collaborative part.
    #[serde(serialize_with = "without_negative_zero")]
    pub cf: f32,
    /// The knowledge-graph part.
    #[serde(serialize_with = "without_negative_zero")]
    pub kg: f32,
}

/// `-0.0` as `0.0`: a part that is nothing is written `0`, not `-0` (a product of a zero and a
/// negative number is a negative zero in IEEE arithmetic).
pub fn without_negative_zero<S: serde::Serializer>(v: &f32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f32(*v + 0.0)
}

/// A user as the serving side knows them: their dense id in the interaction store and their
/// items there now (sorted dense item ids with their confidence values). A model trained before
/// the user arrived has no row for them (`user.index() >= n_users()`), but may fold them in from
/// these items; a neighbourhood model scores from them directly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UserRow<'a> {
    /// The dense id of the interaction store.
    pub user: UserId,
    /// The user's items, ascending dense ids.
    pub items: &'a [u32],
    /// One value per item (the matrix's confidence values).
    pub values: &'a [f32],
    /// One stored rating per item (NaN: none), or empty when unknown.
    pub ratings: &'a [f32],
    /// One stored count per item, or empty when unknown (1 each).
    pub counts: &'a [u32],
}

impl<'a> UserRow<'a> {
    /// The user's row of `matrix` (empty for an id outside it).
    pub fn of(matrix: &'a InteractionMatrix, user: UserId) -> Self {
        let (items, values) = if user.index() < matrix.n_users() {
            matrix.user_row(user)
        } else {
            (&[][..], &[][..])
        };
        Self {
            user,
            items,
            values,
            ratings: matrix.user_ratings(user),
            counts: matrix.user_counts(user),
        }
    }

    /// The positives `(item, r)` of the row with confidence values weighed from its stored
    /// feedback by `weighting` (a binary weighting keeps the row's values).
    pub fn weighed(&self, weighting: &Weighting) -> Vec<(ItemId, f32)> {
        if weighting.is_binary() {
            return self.positives();
        }
        self.items
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                let rating = self.ratings.get(k).copied().unwrap_or(f32::NAN);
                let count = self.counts.get(k).copied().unwrap_or(1);
                (ItemId(i), weighting.weight(rating, count))
            })
            .collect()
    }

    /// The positives `(item, value)` of the row.
    pub fn positives(&self) -> Vec<(ItemId, f32)> {
        self.items
            .iter()
            .zip(self.values)
            .map(|(&i, &v)| (ItemId(i), v))
            .collect()
    }
}

/// What a user's scores rest on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The model was trained with the user.
    Trained,
    /// The user arrived after training; the model folded them in from their items.
    FoldedIn,
    /// The model knows nothing of the user: the scores are its user-independent part.
    NoPreference,
}

/// A model that scores every item for a user.
pub trait Recommender: Send + Sync + std::fmt::Debug {
    /// Number of users the model knows (dense ids `0..n_users`).
    fn n_users(&self) -> usize;

    /// Number of items the model scores (dense ids `0..n_items`).
    fn n_items(&self) -> usize;

    /// Writes the score of every item for `user` into `out` (length [`Recommender::n_items`]);
    /// higher is better. A user the model does not know gets the model's user-independent part.
    fn score_items(&self, user: UserId, out: &mut [f32]);

    /// Scores every item for a user given with their current items: the entry point serving
    /// uses. The default scores a user the model was trained with by [`Recommender::score_items`]
    /// and has no preference for anyone else; models that can fold a new user in (ALS, `cke`)
    /// or that score from a history (neighbourhood models) override it.
    fn score_user(&self, user: UserRow<'_>, out: &mut [f32]) -> Basis {
        self.score_items(user.user, out);
        if user.user.index() < self.n_users() {
            Basis::Trained
        } else {
            Basis::NoPreference
        }
    }

    /// The factors behind the scores, when the score is `users[u] · items[i] (+ item_bias[i])`:
    /// batch top-K then uses blocked matrix products instead of per-user calls.
    fn factors(&self) -> Option<FactorView<'_>> {
        None
    }

    /// How `user`'s score of `item` splits into collaborative and graph parts. The default is
    /// for models without a graph: the whole score is `cf` (computed through
    /// [`Recommender::score_items`]; 0 for an item outside the model).
    fn score_parts(&self, user: UserId, item: ItemId) -> ScoreParts {
        let mut scores = vec![0.0; self.n_items()];
        self.score_items(user, &mut scores);
        ScoreParts {
            cf: scores.get(item.index()).copied().unwrap_or(0.0),
            kg: 0.0,
        }
    }

    /// The fused knowledge-aware model behind the scores, if that is what this is (the
    /// explanations score hops with its embeddings).
    fn fused(&self) -> Option<&crate::fused::Fused> {
        None
    }

    /// The item-to-item weights behind the scores, if the model is one (`ease`, `kg-ease`): a
    /// score is the sum of `B[j, i]` over the user's items `j`, which the explanations name.
    fn item_to_item(&self) -> Option<&crate::ease::ItemWeights> {
        None
    }

    /// Whether the model's scores have a graph part (`score_parts.kg` can be other than 0):
    /// `cke` and `ncf` with their graph terms on, `kg-ease`. The default, `false`, is for
    /// models that score from the interactions alone, whose explanation paths are found after
    /// ranking and weigh nothing in the score.
    fn has_graph_part(&self) -> bool {
        false
    }

    /// Whether the model holds nothing of `item`: it scores the item 0 for every user whatever
    /// their history (a linked item without interactions whose entity has no edge in the graph,
    /// so neither the interactions nor the graph placed it). Asked only of items without
    /// interactions; the default, `false`, is for models that place no such item.
    fn item_blank(&self, item: ItemId) -> bool {
        let _ = item;
        false
    }

    /// Writes how much the model relates every item to `item` into `out` (one value per item,
    /// higher is closer) and returns `true`, when the model has its own notion of that (an
    /// item-to-item model's weights); `false` leaves `out` alone, and similar items are then
    /// the cosine of the item vectors.
    fn item_similarities(&self, item: ItemId, out: &mut [f32]) -> bool {
        let _ = (item, out);
        false
    }

    /// The rating model behind the scores, if the model predicts ratings (`svd`, `svdpp`).
    fn rating_model(&self) -> Option<&RatingModel> {
        None
    }

    /// [`Recommender::score_parts`] for a user given with their current items (a folded-in user
    /// gets the split of their folded-in scores). The default: the model's split for a trained
    /// user, else the whole [`Recommender::score_user`] score as `cf`.
    fn score_parts_user(&self, user: UserRow<'_>, item: ItemId) -> ScoreParts {
        if user.user.index() < self.n_users() {
            return self.score_parts(user.user, item);
        }
        let mut scores = vec![0.0; self.n_items()];
        self.score_user(user, &mut scores);
        ScoreParts {
            cf: scores.get(item.index()).copied().unwrap_or(0.0),
            kg: 0.0,
        }
    }
}

/// Borrowed factor matrices of a dot-product model.
#[derive(Debug, Clone, Copy)]
pub struct FactorView<'a> {
    /// One row per user.
    pub users: ArrayView2<'a, f32>,
    /// One row per item, as many columns as `users`.
    pub items: ArrayView2<'a, f32>,
    /// An additive per-item score, if the model has one.
    pub item_bias: Option<ArrayView1<'a, f32>>,
}

/// A learnt dot-product model: the state ALS and BPR produce.
#[derive(Debug, Clone, PartialEq)]
pub struct FactorModel {
    /// One row per user.
    pub users: Array2<f32>,
    /// One row per item.
    pub items: Array2<f32>,
    /// An additive per-item score (BPR learns one; ALS has none).
    pub item_bias: Option<Array1<f32>>,
}

/// A [`FactorModel`] as plain row-major vectors, for storing with serde (ndarray's own serde
/// support is not enabled in this workspace).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FactorParts {
    /// Columns of both factor matrices.
    pub dim: usize,
    /// `n_users × dim`, row-major.
    pub users: Vec<f32>,
    /// `n_items × dim`, row-major.
    pub items: Vec<f32>,
    /// One value per item, if the model has a bias.
    pub item_bias: Option<Vec<f32>>,
}

/// Stored factor parts whose lengths do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("inconsistent factor parts: {0}")]
pub struct BadParts(pub &'static str);

impl FactorModel {
    /// The model as plain vectors.
    pub fn to_parts(&self) -> FactorParts {
        FactorParts {
            dim: self.items.ncols(),
            users: self.users.iter().copied().collect(),
            items: self.items.iter().copied().collect(),
            item_bias: self.item_bias.as_ref().map(|b| b.to_vec()),
        }
    }

    /// Rebuilds a model from [`FactorModel::to_parts`]'s output, checking the lengths.
    pub fn from_parts(p: FactorParts) -> Result<Self, BadParts> {
        let rows = |v: &[f32]| {
            if p.dim == 0 {
                Some(0)
            } else {
                v.len().is_multiple_of(p.dim).then_some(v.len() / p.dim)
            }
        };
        let n = rows(&p.users).ok_or(BadParts("user factors are not a whole number of rows"))?;
        let m = rows(&p.items).ok_or(BadParts("item factors are not a whole number of rows"))?;
        if p.item_bias.as_ref().is_some_and(|b| b.len() != m) {
            return Err(BadParts("one bias per item expected"));
        }
        let users =
            Array2::from_shape_vec((n, p.dim), p.users).map_err(|_| BadParts("user shape"))?;
        let items =
            Array2::from_shape_vec((m, p.dim), p.items).map_err(|_| BadParts("item shape"))?;
        Ok(Self {
            users,
            items,
            item_bias: p.item_bias.map(Array1::from),
        })
    }
}

impl FactorModel {
    /// Scores of every item for a user given by a factor vector (e.g. [`Als::fold_in`]); a vector
    /// of another length than the model's is no preference, so only the item bias counts.
    pub fn score_vector(&self, user: &[f32], out: &mut [f32]) {
        let bias = |i: usize| self.item_bias.as_ref().map_or(0.0, |b| b[i]);
        let user = ndarray::ArrayView1::from(user);
        for ((o, item), i) in out.iter_mut().zip(self.items.outer_iter()).zip(0..) {
            *o = if user.len() == item.len() {
                user.dot(&item)
            } else {
                0.0
            } + bias(i);
        }
    }
}

impl Recommender for FactorModel {
    fn n_users(&self) -> usize {
        self.users.nrows()
    }

    fn n_items(&self) -> usize {
        self.items.nrows()
    }

    fn score_items(&self, user: UserId, out: &mut [f32]) {
        match self.users.outer_iter().nth(user.index()) {
            Some(u) => self.score_vector(&u.to_vec(), out),
            // An unknown user has no preference: only the bias ranks items.
            None => self.score_vector(&[], out),
        }
    }

    fn factors(&self) -> Option<FactorView<'_>> {
        Some(FactorView {
            users: self.users.view(),
            items: self.items.view(),
            item_bias: self.item_bias.as_ref().map(|b| b.view()),
        })
    }
}

/// Implements [`Recommender`] for a model type by delegating to its `model: FactorModel` field.
macro_rules! delegate_recommender {
    ($ty:ty) => {
        impl $crate::cf::Recommender for $ty {
            fn n_users(&self) -> usize {
                self.model.n_users()
            }
            fn n_items(&self) -> usize {
                self.model.n_items()
            }
            fn score_items(&self, user: $crate::ids::UserId, out: &mut [f32]) {
                self.model.score_items(user, out)
            }
            fn factors(&self) -> Option<$crate::cf::FactorView<'_>> {
                self.model.factors()
            }
        }
    };
}
pub(crate) use delegate_recommender;

/// What a trainer reports after each epoch (the progress hook's argument): one type for every
/// learner of the workspace.
pub use kgrec_kg::numeric::{EpochClock, EpochReport};

/// A hyper-parameter outside its valid range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid {name} = {value}: {expected}")]
pub struct ParamError {
    /// The parameter's name.
    pub name: &'static str,
    /// The value given.
    pub value: String,
    /// What is allowed.
    pub expected: &'static str,
}

/// Why a fit could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FitError {
    /// A hyper-parameter is out of range.
    #[error(transparent)]
    Params(#[from] ParamError),
    /// The matrix has no positive to learn from.
    #[error("the interaction matrix has no interactions")]
    Empty,
    /// The caller's cancel flag was raised: the fit stopped between two epochs.
    #[error("the fit was cancelled")]
    Cancelled,
    /// A rating learner was given interactions without a rating.
    #[error(
        "no interaction has a rating: this model learns ratings (import a file with a rating \
         column, or name it with --rating-col)"
    )]
    NoRatings,
    /// So few interactions have a rating that a rating model would rest on a handful of them.
    #[error(
        "only {rated} of the {interactions} interactions have a rating: too few for a model of \
         ratings (at least {needed} are needed to learn a scale, a mean and item offsets); import \
         more rated rows (--rating-col), or train a model of likes, which learns from every \
         interaction (als, cke, ease, ...)"
    )]
    TooFewRatings {
        /// Interactions with a rating.
        rated: usize,
        /// Every interaction.
        interactions: usize,
        /// The fewest rated interactions a rating learner fits on.
        needed: usize,
    },
    /// Every stored rating has one value and no scale is declared.
    #[error(
        "every stored rating is {value}: with one distinct value no rating scale can be inferred \
         (and there is nothing to tell ratings apart); declare the scale at import with \
         --rating-scale MIN:MAX, or train a model of likes (als, bpr, cke, ...)"
    )]
    OneRating {
        /// The one rating.
        value: f32,
    },
    /// SGD diverged (the training error is not finite).
    #[error(
        "the fit diverged (training error not finite): lower the learning rate, now {learning_rate}"
    )]
    Diverged {
        /// The step size that diverged.
        learning_rate: f32,
    },
    /// The fitted model's scores tell its users apart no better than noise (the collapse check
    /// of `engine::collapse`): the tuner discards such a trial.
    #[error("{0}")]
    Collapsed(String),
    /// The fitted parameters hold values that are not finite numbers (or beyond
    /// `learners::ABSURD_MAGNITUDE`): the fit diverged
    /// (whatever its loss printed). Nothing is stored.
    #[error(
        "the fit diverged: {bad} of the {len} values of its array `{array}` are not finite numbers \
         (NaN or infinity) or absurdly large, so nothing was stored and the current \
         model is unchanged; {remedy}"
    )]
    NotFinite {
        /// The first array found with such values.
        array: String,
        /// How many of its values are not finite.
        bad: usize,
        /// Its length.
        len: usize,
        /// What to change, from the learner's knobs.
        remedy: String,
    },
    /// A broken invariant of the fit (tables of inconsistent shapes): a bug, not bad input.
    #[error("internal error in the fit: {0}")]
    Internal(String),
}

/// Builder setters `pub fn name(mut self, value: T) -> Self` for plain hyper-parameter fields.
macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty),* $(,)?) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: $ty) -> Self {
                self.$name = value;
                self
            }
        )*
    };
}
pub(crate) use setters;

/// A count parameter must be at least 1.
/// The largest latent dimension accepted: beyond it one user's Gram matrix alone is 64 MiB and
/// the fit runs out of memory or time long before it could help.
pub const MAX_FACTORS: usize = 4096;

/// A latent dimension: from 1 to [`MAX_FACTORS`].
pub(crate) fn dimension(name: &'static str, value: usize) -> Result<(), ParamError> {
    require(
        (1..=MAX_FACTORS).contains(&value),
        name,
        value,
        "from 1 to 4096",
    )
}

pub(crate) fn at_least_one(name: &'static str, value: usize) -> Result<(), ParamError> {
    require(value >= 1, name, value, "at least 1")
}

/// A weight must be finite and not negative.
pub(crate) fn non_negative(name: &'static str, value: f32) -> Result<(), ParamError> {
    require(
        value.is_finite() && value >= 0.0,
        name,
        value,
        "finite and >= 0",
    )
}

/// A rate or scale must be finite and above zero.
pub(crate) fn positive(name: &'static str, value: f32) -> Result<(), ParamError> {
    require(
        value.is_finite() && value > 0.0,
        name,
        value,
        "finite and > 0",
    )
}

/// Checks `ok`, else a [`ParamError`] naming the parameter.
pub(crate) fn require(
    ok: bool,
    name: &'static str,
    value: impl std::fmt::Display,
    expected: &'static str,
) -> Result<(), ParamError> {
    if ok {
        Ok(())
    } else {
        Err(ParamError {
            name,
            value: value.to_string(),
            expected,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn score_parts_never_print_a_negative_zero() {
        let parts = ScoreParts { cf: -0.0, kg: -1.5 };
        assert_eq!(
            serde_json::to_string(&parts).unwrap(),
            r#"{"cf":0.0,"kg":-1.5}"#
        );
    }

    #[test]
    fn factor_parts_round_trip_through_json() {
        let m = testutil::two_blocks();
        let bpr = Bpr::params()
            .factors(3)
            .iterations(2)
            .fit(&m, 1, |_| {})
            .unwrap();
        let json = serde_json::to_string(&bpr.model.to_parts()).unwrap();
        let back = FactorModel::from_parts(serde_json::from_str(&json).unwrap()).unwrap();
        assert_eq!(back, bpr.model);
        let params: BprParams =
            serde_json::from_str(&serde_json::to_string(&bpr.params).unwrap()).unwrap();
        assert_eq!(params, bpr.params);
        let mut parts = bpr.model.to_parts();
        parts.users.pop();
        assert!(FactorModel::from_parts(parts).is_err());
        let mut parts = bpr.model.to_parts();
        parts.item_bias = Some(vec![0.0]);
        assert!(FactorModel::from_parts(parts).is_err());
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    #![allow(clippy::unwrap_used)]
    use super::{InteractionMatrix, Recommender};

    /// Two disjoint communities: users 0-4 like items a0..a3, users 5-9 like b0..b3, each user
    /// missing one item of their community.
    pub(crate) fn two_blocks() -> InteractionMatrix {
        let mut pairs = Vec::new();
        for u in 0..10 {
            let side = if u < 5 { "a" } else { "b" };
            for i in 0..4 {
                if i != u % 4 {
                    pairs.push((format!("u{u}"), format!("{side}{i}")));
                }
            }
        }
        InteractionMatrix::from_pairs(pairs.iter().map(|(u, i)| (u.as_str(), i.as_str()))).unwrap()
    }

    /// User u1's score of its held-out item a1, and its best score over community b's items.
    pub(crate) fn held_out_scores(model: &dyn Recommender, m: &InteractionMatrix) -> (f32, f32) {
        let mut s = vec![0.0; m.n_items()];
        model.score_items(m.user_id("u1").unwrap(), &mut s);
        let score = |name: &str| s[m.item_id(name).unwrap().index()];
        let best_b = ["b0", "b1", "b2", "b3"]
            .map(score)
            .into_iter()
            .fold(f32::MIN, f32::max);
        (score("a1"), best_b)
    }
}
