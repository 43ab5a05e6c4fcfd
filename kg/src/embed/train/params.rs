//! Hyper-parameters: [`KgeParams`] built from [`TransE::params`], [`RotatE::params`],
//! [`TransR::params`] or [`KgeParams::tuned`], adjusted with setters, then [`KgeParams::check`]ed
//! into [`CheckedParams`], which fit.

use serde::{Deserialize, Serialize};

use crate::embed::model::{ModelKind, Norm};

/// The largest embedding dimension accepted.
pub const MAX_DIM: usize = 4096;

/// The training objective.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Loss {
    /// `mean_j max(0, margin + d(pos) - d(neg_j))` (Bordes et al. 2013).
    MarginRanking { margin: f32 },
    /// Sun et al. 2019: `-log σ(γ - d(pos)) - Σ_j p_j log σ(d(neg_j) - γ)`,
    /// `p = softmax(temperature · (γ - d(neg)))` held constant.
    SelfAdversarial { gamma: f32, temperature: f32 },
}

/// How the corrupted side of a positive is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sampler {
    /// Head or tail with probability ½.
    Uniform,
    /// Wang et al. 2014: the head with probability `tph / (tph + hpt)` of the triple's relation.
    Bernoulli,
}

/// The optimiser; both keep per-element state and update only the rows a mini-batch touched.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Optimizer {
    Adagrad {
        lr: f32,
    },
    /// Lazy Adam: untouched rows keep their moments; bias correction uses the global step.
    Adam {
        lr: f32,
        beta1: f32,
        beta2: f32,
    },
}

/// A norm constraint re-imposed on entity (and for TransR relation) rows after every update.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RowConstraint {
    None,
    /// `‖x‖₂ ≤ 1`.
    UnitBall,
    /// `‖x‖₂ = 1`.
    UnitSphere,
}

/// The factor by which each plateau decay divides the learning rate.
pub const LR_DECAY: f32 = 10.0;

/// From this many entities on, [`KgeParams::tuned_for`] gives the large-graph settings.
pub const LARGE_GRAPH_ENTITIES: usize = 5_000;

/// Unchecked hyper-parameters; build with [`TransE::params`], [`RotatE::params`] or
/// [`TransR::params`] (or [`KgeParams::tuned`]), adjust with the setters, then [`KgeParams::check`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KgeParams {
    pub(super) kind: ModelKind,
    pub(super) dim: usize,
    /// TransR: `None` until set; then follows `dim`.
    pub(super) rel_dim: Option<usize>,
    pub(super) epochs: usize,
    pub(super) batch_size: usize,
    pub(super) negatives: usize,
    pub(super) chunk_size: usize,
    pub(super) loss: Loss,
    pub(super) sampler: Sampler,
    pub(super) filtered_negatives: bool,
    pub(super) optimizer: Optimizer,
    pub(super) entity_constraint: RowConstraint,
    pub(super) validate_every: usize,
    pub(super) patience: usize,
    pub(super) valid_max: usize,
    pub(super) max_seconds: f64,
    pub(super) lr_decays: usize,
}

/// Hyper-parameters that passed [`KgeParams::check`].
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedParams(pub(super) KgeParams);

/// Entry point for TransE hyper-parameters.
#[derive(Debug)]
pub struct TransE;
/// Entry point for RotatE hyper-parameters.
#[derive(Debug)]
pub struct RotatE;
/// Entry point for TransR hyper-parameters.
#[derive(Debug)]
pub struct TransR;

impl TransE {
    /// Bordes et al. 2013 defaults: L1, margin 1, unit-norm entities, Bernoulli corruption.
    pub fn params() -> KgeParams {
        KgeParams::new(ModelKind::TransE { norm: Norm::L1 })
            .loss(Loss::MarginRanking { margin: 1.0 })
            .entity_constraint(RowConstraint::UnitSphere)
    }
}

impl RotatE {
    /// Sun et al. 2019 style defaults: self-adversarial loss, γ = 9, temperature 1, Adam.
    pub fn params() -> KgeParams {
        KgeParams::new(ModelKind::RotatE)
            .loss(Loss::SelfAdversarial {
                gamma: 9.0,
                temperature: 1.0,
            })
            .entity_constraint(RowConstraint::None)
    }
}

impl TransR {
    /// Lin et al. 2015 defaults: L1, margin 1, `rel_dim = dim`, entities and relations in the unit ball.
    pub fn params() -> KgeParams {
        KgeParams::new(ModelKind::TransR {
            norm: Norm::L1,
            rel_dim: 64,
        })
        .loss(Loss::MarginRanking { margin: 1.0 })
        .entity_constraint(RowConstraint::UnitBall)
    }
}

/// A hyper-parameter outside its domain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParamsError {
    #[error("{name} must be {requirement}, got {value}")]
    Invalid {
        name: &'static str,
        requirement: &'static str,
        value: String,
    },
}

/// Builder setters that just store their argument in the field of the same name.
macro_rules! setters {
    ($($(#[$doc:meta])* $field:ident: $ty:ty;)*) => {
        $(
            $(#[$doc])*
            pub fn $field(mut self, $field: $ty) -> Self {
                self.$field = $field;
                self
            }
        )*
    };
}

impl KgeParams {
    /// The defaults of the model named as on the command line and in `meta.json`
    /// (`transe`, `rotate`, `transr`; case-insensitive).
    pub fn named(model: &str) -> Option<Self> {
        match model.to_ascii_lowercase().as_str() {
            "transe" => Some(TransE::params()),
            "rotate" => Some(RotatE::params()),
            "transr" => Some(TransR::params()),
            _ => None,
        }
    }

    /// The tuned defaults of `kgrec kge train` and `kgrec train --model transe|rotate|transr`
    /// (`docs/kge-notes.md`, "CLI defaults"): chosen on UMLS's validation split only, with
    /// validation every 10 epochs and early stopping after 3 validations without improvement.
    pub fn tuned(model: &str) -> Option<Self> {
        let base = match model.to_ascii_lowercase().as_str() {
            // Validation MRR 0.770 (γ = 9: 0.760, 12: 0.723; dim 128: 0.682; Adam 5e-3: 0.757).
            "transe" => TransE::params()
                .dim(64)
                .self_adversarial(6.0, 1.0)
                .entity_constraint(RowConstraint::None)
                .adam(0.01),
            // Validation MRR 0.863 (γ = 6: 0.813, 12: 0.827; Adam 1e-2: 0.843).
            "rotate" => RotatE::params()
                .dim(64)
                .self_adversarial(9.0, 1.0)
                .adam(0.005),
            // Validation MRR 0.872 with Lin et al.'s margin loss and unit-ball rows (margin 1:
            // 0.774, 2: 0.864, 4: 0.857; the self-adversarial loss at γ = 6: 0.641).
            "transr" => TransR::params()
                .dim(32)
                .margin(3.0)
                .entity_constraint(RowConstraint::UnitBall)
                .adam(0.01),
            _ => return None,
        };
        Some(
            base.epochs(200)
                .batch_size(256)
                .negatives(32)
                .validate_every(10)
                .patience(3),
        )
    }

    /// [`Self::tuned`], scaled to the graph: from [`LARGE_GRAPH_ENTITIES`] entities on, the
    /// settings `docs/kge-notes.md` validated on FB15k-237 (14,541 entities): TransE dim 256, 64
    /// negatives, γ 9, Adam 1e-3, batch 1024, validation on 3,000 triples every 10 epochs (test
    /// MRR 0.3045 there); RotatE 256 complex coordinates, γ 12, up to two plateau decays (test
    /// MRR 0.3273). The UMLS-sized defaults stop early far below that on such a graph (dim 64,
    /// validation MRR 0.24 on FB15k-237). TransR keeps its small-graph settings.
    pub fn tuned_for(model: &str, entities: usize) -> Option<Self> {
        let small = Self::tuned(model)?;
        if entities < LARGE_GRAPH_ENTITIES {
            return Some(small);
        }
        let large = |p: Self| {
            p.dim(256)
                .adam(0.001)
                .batch_size(1024)
                .validate_every(10)
                .valid_max(3000)
        };
        Some(match model.to_ascii_lowercase().as_str() {
            "transe" => large(small)
                .negatives(64)
                .self_adversarial(9.0, 1.0)
                .epochs(150)
                .patience(3),
            "rotate" => large(small)
                .negatives(32)
                .self_adversarial(12.0, 1.0)
                .epochs(400)
                .patience(2)
                .lr_decays(2),
            _ => small,
        })
    }

    /// The entity dimension set so far.
    pub fn entity_dim(&self) -> usize {
        self.dim
    }

    /// The most epochs a fit will run (early stopping may end it sooner).
    pub fn epoch_limit(&self) -> usize {
        self.epochs
    }

    /// Whether a fit validates (and so reports a best validation MRR).
    pub fn validates(&self) -> bool {
        self.validate_every > 0
    }

    pub(super) fn new(kind: ModelKind) -> Self {
        Self {
            kind,
            dim: 64,
            rel_dim: None,
            epochs: 100,
            batch_size: 1024,
            negatives: 32,
            chunk_size: 32,
            loss: Loss::MarginRanking { margin: 1.0 },
            sampler: Sampler::Bernoulli,
            filtered_negatives: false,
            optimizer: Optimizer::Adam {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
            },
            entity_constraint: RowConstraint::None,
            validate_every: 0,
            patience: 3,
            valid_max: 0,
            max_seconds: 0.0,
            lr_decays: 0,
        }
    }

    /// Entity dimension (RotatE: complex coordinates, so `2·dim` reals per entity).
    pub fn dim(mut self, dim: usize) -> Self {
        self.dim = dim;
        if let (ModelKind::TransR { norm, .. }, None) = (self.kind, self.rel_dim) {
            self.kind = ModelKind::TransR { norm, rel_dim: dim };
        }
        self
    }

    /// TransR only: the relation-space dimension (default: the entity dimension).
    pub fn rel_dim(mut self, rel_dim: usize) -> Self {
        self.rel_dim = Some(rel_dim);
        if let ModelKind::TransR { norm, .. } = self.kind {
            self.kind = ModelKind::TransR { norm, rel_dim };
        }
        self
    }

    /// TransE / TransR distance norm.
    pub fn norm(mut self, norm: Norm) -> Self {
        self.kind = match self.kind {
            ModelKind::TransE { .. } => ModelKind::TransE { norm },
            ModelKind::TransR { rel_dim, .. } => ModelKind::TransR { norm, rel_dim },
            k => k,
        };
        self
    }

    setters! {
        epochs: usize;
        batch_size: usize;
        /// Negative entities per positive.
        negatives: usize;
        /// Positives per chunk; the positives of a chunk share their negative entities
        /// (1 = independent negatives per positive).
        chunk_size: usize;
        loss: Loss;
        sampler: Sampler;
        /// Drop sampled negatives that are true training triples.
        filtered_negatives: bool;
        optimizer: Optimizer;
        entity_constraint: RowConstraint;
        /// Evaluate filtered MRR on the validation split every this many epochs (0 = never) and
        /// keep the best model.
        validate_every: usize;
        /// Stop after this many validations without improvement.
        patience: usize;
        /// On a validation plateau (`patience` validations without improvement), divide the
        /// learning rate by [`LR_DECAY`] and go on, up to this many times, before stopping
        /// (the step decay of Sun et al.'s RotatE code, triggered by validation instead of a
        /// fixed step).
        lr_decays: usize;
        /// Validate on the first this many validation triples only (0 = all).
        valid_max: usize;
        /// Stop after the epoch that passes this many seconds (0 = no limit). Wall-clock stops
        /// make the number of epochs, and so the model, depend on the machine.
        max_seconds: f64;
    }

    /// Shorthand for the margin-ranking loss.
    pub fn margin(self, margin: f32) -> Self {
        self.loss(Loss::MarginRanking { margin })
    }

    /// Shorthand for the self-adversarial loss.
    pub fn self_adversarial(self, gamma: f32, temperature: f32) -> Self {
        self.loss(Loss::SelfAdversarial { gamma, temperature })
    }

    /// Adam with the usual betas.
    pub fn adam(self, lr: f32) -> Self {
        self.optimizer(Optimizer::Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
        })
    }

    pub fn adagrad(self, lr: f32) -> Self {
        self.optimizer(Optimizer::Adagrad { lr })
    }

    /// Checks the ranges (a dimension of at most [`MAX_DIM`]: beyond it the tables are
    /// gigabytes per thousand entities, far past any use).
    pub fn check(self) -> Result<CheckedParams, ParamsError> {
        let bad = |name, requirement, value: String| {
            Err(ParamsError::Invalid {
                name,
                requirement,
                value,
            })
        };
        if !(1..=MAX_DIM).contains(&self.dim) {
            return bad("dim", "from 1 to 4096", self.dim.to_string());
        }
        if let ModelKind::TransR { rel_dim, .. } = self.kind
            && !(1..=MAX_DIM).contains(&rel_dim)
        {
            return bad("rel_dim", "from 1 to 4096", rel_dim.to_string());
        }
        for (name, v) in [
            ("epochs", self.epochs),
            ("batch_size", self.batch_size),
            ("negatives", self.negatives),
            ("chunk_size", self.chunk_size),
        ] {
            if v == 0 {
                return bad(name, "positive", v.to_string());
            }
        }
        match self.loss {
            Loss::MarginRanking { margin } if !(margin.is_finite() && margin > 0.0) => {
                return bad("margin", "finite and positive", margin.to_string());
            }
            Loss::SelfAdversarial { gamma, temperature }
                if !(gamma.is_finite()
                    && gamma > 0.0
                    && temperature.is_finite()
                    && temperature >= 0.0) =>
            {
                return bad(
                    "gamma/temperature",
                    "finite, gamma > 0, temperature ≥ 0",
                    format!("{gamma}/{temperature}"),
                );
            }
            _ => {}
        }
        let lr = match self.optimizer {
            Optimizer::Adagrad { lr } => lr,
            Optimizer::Adam { lr, beta1, beta2 } => {
                if !((0.0..1.0).contains(&beta1) && (0.0..1.0).contains(&beta2)) {
                    return bad("adam betas", "in [0, 1)", format!("{beta1}/{beta2}"));
                }
                lr
            }
        };
        if !(lr.is_finite() && lr > 0.0) {
            return bad("learning rate", "finite and positive", lr.to_string());
        }
        if !(self.max_seconds.is_finite() && self.max_seconds >= 0.0) {
            return bad(
                "max_seconds",
                "finite and ≥ 0",
                self.max_seconds.to_string(),
            );
        }
        Ok(CheckedParams(self))
    }
}

impl CheckedParams {
    pub fn params(&self) -> &KgeParams {
        &self.0
    }

    pub fn kind(&self) -> ModelKind {
        self.0.kind
    }
}
