//! The fused model's hyper-parameters: [`FusedParams`] (defaults, setters, range checks) and how
//! an item's neighbourhood enters the score ([`Attention`]).

use crate::cf::{
    Als, ParamError, Value, Weighting, at_least_one, dimension, non_negative, require, setters,
};

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
    /// Which stored value makes `r` (`--confidence`; binary in models stored before it
    /// existed).
    #[serde(default)]
    pub confidence: Value,
    /// The rating range the fit resolved ([`crate::cf::Weighting::range`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating_range: Option<(f32, f32)>,
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
    /// Whether a fit with both graph weights 0 still places a linked item nobody has
    /// interacted with among its nearest items (the rule needs only the graph and the fitted
    /// item vectors, not the graph's training terms). True for every fit since 2026-12-01;
    /// models stored before it left such rows as ALS leaves them and read as false.
    #[serde(default)]
    pub cold_without_graph: bool,
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
            confidence: Value::Rating,
            rating_range: None,
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
            cold_without_graph: true,
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

impl FusedParams {
    setters! {
        /// Latent dimension.
        factors: usize,
        /// ALS L2 weight.
        regularization: f32,
        /// ALS confidence slope.
        alpha: f32,
        /// Which stored value makes the confidence values (the learner weighs the matrix).
        confidence: Value,
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

    /// How the positives were weighed (the learner sets `confidence` and `rating_range` from
    /// the [`Weighting`] it resolved on the training data).
    pub fn weighing(&self) -> Weighting {
        Weighting {
            value: self.confidence,
            range: self.rating_range,
        }
    }

    /// Gives a never-interacted linked item the vector `s·η_{e(i)}` instead of placing it among
    /// its nearest items with interactions.
    pub fn cold_scale(mut self, s: f32) -> Self {
        self.cold_scale = Some(s);
        self
    }

    /// Checks the ranges.
    pub fn check(&self) -> Result<(), ParamError> {
        dimension("factors", self.factors)?;
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

    /// Whether the graph enters the fit at all: some prior weight above 0 (both 0: the fit is
    /// `als`'s for every item with interactions).
    pub fn uses_graph(&self) -> bool {
        self.kg_weight > 0.0 || self.neighbour_weight > 0.0
    }

    /// Whether the fitted model gives a linked item without interactions a vector of its own
    /// (the cold rule), given a graph its items are linked into: always with the graph's terms
    /// on; with both weights 0, by the nearest-items rule (no `--cold-scale`: the embedding it
    /// scales is trained only by the graph's terms), in models fitted since that rule applies
    /// there ([`FusedParams::cold_without_graph`]).
    pub fn places_new_items(&self) -> bool {
        self.uses_graph() || (self.cold_without_graph && self.cold_scale.is_none())
    }

    /// The ALS half's hyper-parameters.
    pub(super) fn als(&self) -> crate::cf::AlsParams {
        Als::params()
            .factors(self.factors)
            .regularization(self.regularization)
            .alpha(self.alpha)
            .weighting(self.weighing())
            .iterations(self.iterations)
            .cg_steps(self.cg_steps)
    }
}
