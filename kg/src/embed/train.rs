//! Training: hyper-parameters (params → check → fit), negative sampling, the two losses, the
//! optimisers and the deterministic data-parallel mini-batch loop.
//!
//! Parallelism and determinism: each mini-batch is cut into fixed-size *chunks* of positives (the
//! cut does not depend on the thread count). A chunk draws one set of negative entities that all
//! its positives share (DGL-KE's "chunked" negatives: one candidate row serves many positives,
//! which keeps it in cache), from an RNG seeded by `(seed, epoch, batch, chunk)`. Chunks run on
//! rayon against the same parameters and return sparse gradients; these are summed row by row in
//! chunk order and then applied, every touched row in parallel. The result is therefore bit-for-bit
//! the same for a given seed whatever the thread count.

use std::time::Instant;

use rand::seq::SliceRandom;
use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::dataset::Dataset;
use super::eval::{FilterIndex, evaluate};
use super::model::{KgeModel, Matrix, ModelKind, Norm, Side, rotate_cs};
use crate::ids::{EntityId, RelationId, Triple};
use crate::numeric::optim::{LazyTable, Rule};
use crate::numeric::seed::rng_from;

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

/// Unchecked hyper-parameters; build with [`TransE::params`], [`RotatE::params`] or
/// [`TransR::params`] (or [`KgeParams::tuned`]), adjust with the setters, then [`KgeParams::check`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KgeParams {
    kind: ModelKind,
    dim: usize,
    /// TransR: `None` until set; then follows `dim`.
    rel_dim: Option<usize>,
    epochs: usize,
    batch_size: usize,
    negatives: usize,
    chunk_size: usize,
    loss: Loss,
    sampler: Sampler,
    filtered_negatives: bool,
    optimizer: Optimizer,
    entity_constraint: RowConstraint,
    validate_every: usize,
    patience: usize,
    valid_max: usize,
    max_seconds: f64,
    lr_decays: usize,
}

/// Hyper-parameters that passed [`KgeParams::check`].
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedParams(KgeParams);

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

/// Why training failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    #[error("the data set has no entities, relations or training triples")]
    EmptyDataset,
    #[error("the loss became non-finite in epoch {epoch}; lower the learning rate")]
    Diverged { epoch: usize },
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

    /// The entity dimension set so far.
    pub fn entity_dim(&self) -> usize {
        self.dim
    }

    /// The most epochs a fit will run (early stopping may end it sooner).
    pub fn epoch_limit(&self) -> usize {
        self.epochs
    }

    fn new(kind: ModelKind) -> Self {
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

    pub fn check(self) -> Result<CheckedParams, ParamsError> {
        let bad = |name, requirement, value: String| {
            Err(ParamsError::Invalid {
                name,
                requirement,
                value,
            })
        };
        if self.dim == 0 {
            return bad("dim", "positive", self.dim.to_string());
        }
        if let ModelKind::TransR { rel_dim: 0, .. } = self.kind {
            return bad("rel_dim", "positive", "0".into());
        }
        for (name, v) in [
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

/// One epoch's progress.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// 1-based.
    pub epoch: usize,
    /// Mean loss per positive triple.
    pub loss: f64,
    /// Positive training triples processed per second in this epoch (each with its negatives).
    pub triples_per_sec: f64,
    pub seconds: f64,
    /// Filtered validation MRR, when this epoch validated.
    pub valid_mrr: Option<f64>,
}

/// What [`CheckedParams::fit`] returns.
#[derive(Clone, Debug)]
pub struct FitResult {
    /// The model of the best validation, or the last one without validation.
    pub model: KgeModel,
    pub epochs: Vec<EpochReport>,
    pub best_epoch: Option<usize>,
    pub best_valid_mrr: Option<f64>,
    pub train_seconds: f64,
}

impl CheckedParams {
    pub fn params(&self) -> &KgeParams {
        &self.0
    }

    pub fn kind(&self) -> ModelKind {
        self.0.kind
    }

    /// Trains on `data.train`. Every random choice derives from one `u64` drawn from `rng`.
    pub fn fit(
        &self,
        data: &Dataset,
        rng: &mut dyn RngCore,
        on_epoch: &mut dyn FnMut(&EpochReport),
    ) -> Result<FitResult, TrainError> {
        let p = &self.0;
        let (ne, nr) = (data.num_entities(), data.num_relations());
        if ne == 0 || nr == 0 || data.train.is_empty() {
            return Err(TrainError::EmptyDataset);
        }
        let seed = rng.next_u64();
        let mut init_rng = rng_from(seed, &[0x1417]);
        let mut model = init_model(p, ne, nr, &mut init_rng);
        let mut state = OptState::new(&model, p.optimizer);
        let head_prob = corruption_probabilities(data, p.sampler);
        let train_filter = p.filtered_negatives.then(|| FilterIndex::new(&data.train));
        let valid_filter = (p.validate_every > 0 && !data.valid.is_empty())
            .then(|| FilterIndex::new(data.all_triples()));
        let valid = match p.valid_max {
            0 => &data.valid[..],
            n => &data.valid[..n.min(data.valid.len())],
        };
        let ctx = Ctx {
            p,
            head_prob: &head_prob,
            train_filter: train_filter.as_ref(),
            num_entities: ne,
        };

        let mut order: Vec<u32> = (0..data.train.len() as u32).collect();
        let mut reports = Vec::new();
        let (mut best, mut best_mrr, mut best_epoch, mut bad) = (None, f64::NEG_INFINITY, None, 0);
        let mut decays_left = p.lr_decays;
        let start = Instant::now();
        for epoch in 1..=p.epochs {
            let t0 = Instant::now();
            order.shuffle(&mut rng_from(seed, &[epoch as u64, 0x5eed]));
            let mut loss = 0.0;
            for (b, batch) in order.chunks(p.batch_size).enumerate() {
                let scale = 1.0 / batch.len() as f32;
                let rot = model.rotation_table();
                let grads: Vec<ChunkGrad> = batch
                    .par_chunks(p.chunk_size)
                    .enumerate()
                    .map_init(
                        || Scratch::new(&model, p),
                        |s, (c, chunk)| {
                            let mut rng = rng_from(seed, &[epoch as u64, b as u64, c as u64]);
                            chunk_gradient(&ctx, &model, &rot, data, chunk, scale, &mut rng, s)
                        },
                    )
                    .collect();
                loss += grads.iter().map(|g| g.loss).sum::<f64>();
                state.apply(&mut model, &grads, p);
            }
            let loss = loss / data.train.len() as f64;
            if !loss.is_finite() {
                return Err(TrainError::Diverged { epoch });
            }
            let seconds = t0.elapsed().as_secs_f64();
            let mut report = EpochReport {
                epoch,
                loss,
                triples_per_sec: data.train.len() as f64 / seconds.max(1e-9),
                seconds,
                valid_mrr: None,
            };
            let mut stop = p.max_seconds > 0.0 && start.elapsed().as_secs_f64() >= p.max_seconds;
            if let Some(filter) = &valid_filter
                && (epoch % p.validate_every == 0 || epoch == p.epochs || stop)
            {
                let mrr = evaluate(&model, valid, filter).both.mrr;
                report.valid_mrr = Some(mrr);
                if mrr > best_mrr {
                    (best_mrr, best_epoch, bad) = (mrr, Some(epoch), 0);
                    best = Some(model.clone());
                } else {
                    bad += 1;
                    if bad >= p.patience && decays_left > 0 {
                        decays_left -= 1;
                        bad = 0;
                        state.lr_scale /= LR_DECAY;
                    }
                    stop |= bad >= p.patience;
                }
            }
            on_epoch(&report);
            reports.push(report);
            if stop {
                break;
            }
        }
        Ok(FitResult {
            model: best.unwrap_or(model),
            epochs: reports,
            best_epoch,
            best_valid_mrr: best_epoch.map(|_| best_mrr),
            train_seconds: start.elapsed().as_secs_f64(),
        })
    }
}

fn init_model(p: &KgeParams, ne: usize, nr: usize, rng: &mut ChaCha8Rng) -> KgeModel {
    let d = p.dim;
    // Self-adversarial training follows the RotatE code's range (γ + 2) / d; margin training
    // follows Bordes' 6 / √d.
    let bound = match p.loss {
        Loss::SelfAdversarial { gamma, .. } => (gamma + 2.0) / d as f32,
        Loss::MarginRanking { .. } => 6.0 / (d as f32).sqrt(),
    };
    let (entity, relation, projection) = match p.kind {
        ModelKind::TransE { .. } => {
            let mut rel = Matrix::uniform(nr, d, bound, rng);
            if let Loss::MarginRanking { .. } = p.loss {
                for r in 0..nr {
                    constrain(rel.row_mut(r), RowConstraint::UnitSphere);
                }
            }
            (Matrix::uniform(ne, d, bound, rng), rel, None)
        }
        ModelKind::RotatE => (
            Matrix::uniform(ne, 2 * d, bound, rng),
            Matrix::uniform(nr, d, std::f32::consts::PI, rng),
            None,
        ),
        ModelKind::TransR { rel_dim, .. } => {
            let mut rel = Matrix::uniform(nr, rel_dim, bound, rng);
            for r in 0..nr {
                constrain(rel.row_mut(r), RowConstraint::UnitBall);
            }
            // Lin et al. start from the identity (their TransE-initialised runs keep it).
            let mut proj = Matrix::zeros(nr, rel_dim * d);
            for r in 0..nr {
                let row = proj.row_mut(r);
                for i in 0..rel_dim.min(d) {
                    row[i * d + i] = 1.0;
                }
            }
            (Matrix::uniform(ne, d, bound, rng), rel, Some(proj))
        }
    };
    let mut model = KgeModel {
        kind: p.kind,
        dim: d,
        entity,
        relation,
        projection,
    };
    if p.kind != ModelKind::RotatE {
        for e in 0..ne {
            constrain(model.entity.row_mut(e), p.entity_constraint);
        }
    }
    model
}

fn constrain(x: &mut [f32], c: RowConstraint) {
    let n = x.iter().map(|v| v * v).sum::<f32>().sqrt();
    let rescale = match c {
        RowConstraint::None => false,
        RowConstraint::UnitBall => n > 1.0,
        RowConstraint::UnitSphere => n > 0.0,
    };
    if rescale {
        x.iter_mut().for_each(|v| *v /= n);
    }
}

/// Per relation, the probability of corrupting the head.
fn corruption_probabilities(data: &Dataset, sampler: Sampler) -> Vec<f32> {
    let nr = data.num_relations();
    if sampler == Sampler::Uniform {
        return vec![0.5; nr];
    }
    let mut heads_of: Vec<std::collections::HashMap<u32, u32>> = vec![Default::default(); nr];
    let mut tails_of: Vec<std::collections::HashMap<u32, u32>> = vec![Default::default(); nr];
    for t in &data.train {
        *heads_of[t.relation.index()].entry(t.head.0).or_default() += 1;
        *tails_of[t.relation.index()].entry(t.tail.0).or_default() += 1;
    }
    (0..nr)
        .map(|r| {
            // tph: mean tails per distinct head; hpt: mean heads per distinct tail.
            let n = heads_of[r].values().sum::<u32>() as f32;
            if n == 0.0 {
                return 0.5;
            }
            let tph = n / heads_of[r].len() as f32;
            let hpt = n / tails_of[r].len() as f32;
            tph / (tph + hpt)
        })
        .collect()
}

struct Ctx<'a> {
    p: &'a KgeParams,
    head_prob: &'a [f32],
    train_filter: Option<&'a FilterIndex>,
    num_entities: usize,
}

/// Gradient rows of one parameter matrix; a row may appear several times.
#[derive(Debug, Default)]
struct SparseGrad {
    rows: Vec<u32>,
    data: Vec<f32>,
}

impl SparseGrad {
    fn push(&mut self, row: u32, g: &[f32]) {
        self.rows.push(row);
        self.data.extend_from_slice(g);
    }
}

#[derive(Debug, Default)]
struct ChunkGrad {
    loss: f64,
    entity: SparseGrad,
    relation: SparseGrad,
    projection: SparseGrad,
}

/// Per-thread buffers, reused across chunks so the inner loops never allocate.
struct Scratch {
    q: Vec<f32>,
    gq: Vec<f32>,
    anchor_space: Vec<f32>,
    g_anchor: Vec<f32>,
    g_target: Vec<f32>,
    g_rel: Vec<f32>,
    g_proj: Vec<f32>,
    gc: Vec<f32>,
    target_space: Vec<f32>,
    cand_space: Vec<f32>,
    neg_grad: Vec<f32>,
    dist: Vec<f32>,
    coef: Vec<f32>,
    valid: Vec<bool>,
    negs: Vec<u32>,
}

impl Scratch {
    fn new(model: &KgeModel, p: &KgeParams) -> Self {
        let (w, ew) = (model.space_dim(), model.entity.cols());
        let pw = model.projection.as_ref().map_or(0, Matrix::cols);
        Self {
            q: vec![0.0; w],
            gq: vec![0.0; w],
            anchor_space: vec![0.0; w],
            g_anchor: vec![0.0; ew],
            g_target: vec![0.0; ew],
            g_rel: vec![0.0; model.relation.cols()],
            g_proj: vec![0.0; pw],
            gc: vec![0.0; w],
            target_space: vec![0.0; w],
            cand_space: vec![0.0; if pw > 0 { w * p.negatives } else { 0 }],
            neg_grad: vec![0.0; ew * p.negatives],
            dist: vec![0.0; p.negatives],
            coef: vec![0.0; p.negatives],
            valid: vec![true; p.negatives],
            negs: vec![0; p.negatives],
        }
    }
}

fn log_sigmoid(x: f32) -> f32 {
    // -softplus(-x), stable for large |x|.
    x.min(0.0) - (-x.abs()).exp().ln_1p()
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The loss of one positive and `∂loss/∂d` for it and its negatives (`coef`; 0 for masked ones).
fn loss_and_coefs(
    loss: Loss,
    d_pos: f32,
    dist: &[f32],
    valid: &[bool],
    coef: &mut [f32],
) -> (f32, f32) {
    let n_valid = valid.iter().filter(|v| **v).count();
    coef.iter_mut().for_each(|c| *c = 0.0);
    if n_valid == 0 {
        return (0.0, 0.0);
    }
    match loss {
        Loss::MarginRanking { margin } => {
            let w = 1.0 / n_valid as f32;
            let (mut l, mut c_pos) = (0.0, 0.0);
            for ((d, v), c) in dist.iter().zip(valid).zip(coef.iter_mut()) {
                let m = margin + d_pos - d;
                if *v && m > 0.0 {
                    l += w * m;
                    c_pos += w;
                    *c = -w;
                }
            }
            (l, c_pos)
        }
        Loss::SelfAdversarial { gamma, temperature } => {
            let max = dist
                .iter()
                .zip(valid)
                .filter(|(_, v)| **v)
                .map(|(d, _)| temperature * (gamma - d))
                .fold(f32::NEG_INFINITY, f32::max);
            let mut z = 0.0;
            for ((d, v), c) in dist.iter().zip(valid).zip(coef.iter_mut()) {
                if *v {
                    *c = (temperature * (gamma - d) - max).exp();
                    z += *c;
                }
            }
            let mut l = -log_sigmoid(gamma - d_pos);
            for ((d, v), c) in dist.iter().zip(valid).zip(coef.iter_mut()) {
                if *v {
                    let p = *c / z;
                    // log σ(d - γ) = ln(1 - σ(γ - d)): one exp and one log per negative.
                    let s = sigmoid(gamma - d);
                    l -= p * (-s).ln_1p();
                    *c = -p * s;
                }
            }
            (l, sigmoid(d_pos - gamma))
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn chunk_gradient(
    ctx: &Ctx<'_>,
    model: &KgeModel,
    rot: &[f32],
    data: &Dataset,
    chunk: &[u32],
    scale: f32,
    rng: &mut ChaCha8Rng,
    s: &mut Scratch,
) -> ChunkGrad {
    let p = ctx.p;
    let (w, ew) = (model.space_dim(), model.entity.cols());
    let mut out = ChunkGrad::default();
    // Sized up front: growing by doubling showed up as reallocation copies in profiles.
    let ent_rows = 2 * chunk.len() + s.negs.len();
    out.entity.rows.reserve_exact(ent_rows);
    out.entity.data.reserve_exact(ent_rows * ew);
    out.relation.rows.reserve_exact(chunk.len());
    out.relation
        .data
        .reserve_exact(chunk.len() * model.relation.cols());
    for n in s.negs.iter_mut() {
        *n = rng.random_range(0..ctx.num_entities as u32);
    }
    s.neg_grad.iter_mut().for_each(|v| *v = 0.0);
    let proj = model.projection.as_ref();
    for &i in chunk {
        let t = data.train[i as usize];
        let r = t.relation;
        let side = if rng.random::<f32>() < ctx.head_prob[r.index()] {
            Side::Head
        } else {
            Side::Tail
        };
        let (anchor, target) = match side {
            Side::Tail => (t.head, t.tail),
            Side::Head => (t.tail, t.head),
        };
        // Query and candidates in the scoring space.
        let anchor_vec = model.candidate(anchor, r, &mut s.anchor_space);
        let cs = rot
            .get(2 * model.dim * r.index()..2 * model.dim * (r.index() + 1))
            .unwrap_or(&[]);
        if cs.is_empty() {
            model.query_from(side, anchor_vec, r, &mut s.q);
        } else {
            rotate_cs(anchor_vec, cs, side, &mut s.q);
        }
        let target_vec = model.candidate(target, r, &mut s.target_space);
        let d_pos = model.dist(&s.q, target_vec);
        for (j, &e) in s.negs.iter().enumerate() {
            let c: &[f32] = match s.cand_space.get_mut(j * w..(j + 1) * w) {
                Some(buf) => model.candidate(EntityId(e), r, buf),
                None => model.entity.row(e as usize),
            };
            s.dist[j] = model.dist(&s.q, c);
            s.valid[j] = e != target.0
                && ctx.train_filter.is_none_or(|f| {
                    let corrupted = match side {
                        Side::Tail => Triple::new(t.head, r, EntityId(e)),
                        Side::Head => Triple::new(EntityId(e), r, t.tail),
                    };
                    !f.contains(&corrupted)
                });
        }
        let (l, c_pos) = loss_and_coefs(p.loss, d_pos, &s.dist, &s.valid, &mut s.coef);
        out.loss += f64::from(l);

        s.gq.iter_mut().for_each(|v| *v = 0.0);
        s.g_target.iter_mut().for_each(|v| *v = 0.0);
        s.g_proj.iter_mut().for_each(|v| *v = 0.0);
        let target_vec: &[f32] = match proj {
            Some(_) => &s.target_space,
            None => model.entity.row(target.index()),
        };
        if c_pos != 0.0 {
            match proj {
                Some(_) => {
                    s.gc.iter_mut().for_each(|v| *v = 0.0);
                    model.dist_grad(&s.q, target_vec, d_pos, c_pos * scale, &mut s.gq, &mut s.gc);
                }
                None => model.dist_grad(
                    &s.q,
                    target_vec,
                    d_pos,
                    c_pos * scale,
                    &mut s.gq,
                    &mut s.g_target,
                ),
            }
            if let Some(m) = proj {
                backprop_projection(
                    m.row(r.index()),
                    model.entity.row(target.index()),
                    &s.gc,
                    &mut s.g_target,
                    &mut s.g_proj,
                );
            }
        }
        for j in 0..s.negs.len() {
            let coef = s.coef[j] * scale;
            if coef == 0.0 {
                continue;
            }
            let e = s.negs[j] as usize;
            match proj {
                Some(m) => {
                    s.gc.iter_mut().for_each(|v| *v = 0.0);
                    let c = &s.cand_space[j * w..(j + 1) * w];
                    model.dist_grad(&s.q, c, s.dist[j], coef, &mut s.gq, &mut s.gc);
                    backprop_projection(
                        m.row(r.index()),
                        model.entity.row(e),
                        &s.gc,
                        &mut s.neg_grad[j * ew..(j + 1) * ew],
                        &mut s.g_proj,
                    );
                }
                None => {
                    let c = model.entity.row(e);
                    model.dist_grad(
                        &s.q,
                        c,
                        s.dist[j],
                        coef,
                        &mut s.gq,
                        &mut s.neg_grad[j * ew..(j + 1) * ew],
                    );
                }
            }
        }
        // Back through the query to the anchor entity and the relation.
        s.g_anchor.iter_mut().for_each(|v| *v = 0.0);
        s.g_rel.iter_mut().for_each(|v| *v = 0.0);
        backprop_query(
            model,
            side,
            anchor,
            r,
            cs,
            &s.q,
            &s.gq,
            &mut s.g_anchor,
            &mut s.g_rel,
            &mut s.g_proj,
        );
        if let Some(m) = proj {
            // Lin et al.'s ‖M_r h‖ ≤ 1, ‖M_r t‖ ≤ 1 as the soft penalty of their code:
            // max(0, ‖M_r e‖² - 1) for every entity of the positive and of its negatives.
            let mrow = m.row(r.index());
            let w = model.space_dim();
            let penalise = |e: usize,
                            projected: &[f32],
                            g_e: &mut [f32],
                            g_proj: &mut [f32],
                            gc: &mut [f32]| {
                let (l, active) = projection_penalty(projected);
                if active {
                    for (g, v) in gc.iter_mut().zip(projected) {
                        *g = 2.0 * PROJECTION_PENALTY * scale * v;
                    }
                    backprop_projection(mrow, model.entity.row(e), gc, g_e, g_proj);
                }
                l
            };
            let mut penalty = penalise(
                anchor.index(),
                &s.anchor_space,
                &mut s.g_anchor,
                &mut s.g_proj,
                &mut s.gc,
            );
            penalty += penalise(
                target.index(),
                &s.target_space,
                &mut s.g_target,
                &mut s.g_proj,
                &mut s.gc,
            );
            for (j, &e) in s.negs.iter().enumerate() {
                penalty += penalise(
                    e as usize,
                    &s.cand_space[j * w..(j + 1) * w],
                    &mut s.neg_grad[j * ew..(j + 1) * ew],
                    &mut s.g_proj,
                    &mut s.gc,
                );
            }
            out.loss += f64::from(penalty);
        }
        out.entity.push(anchor.0, &s.g_anchor);
        out.entity.push(target.0, &s.g_target);
        out.relation.push(r.0, &s.g_rel);
        if proj.is_some() {
            out.projection.push(r.0, &s.g_proj);
        }
    }
    for (j, &e) in s.negs.iter().enumerate() {
        out.entity.push(e, &s.neg_grad[j * ew..(j + 1) * ew]);
    }
    out
}

/// For `c = M e`: `g_e += Mᵀ g_c`, `g_M += g_c eᵀ`.
fn backprop_projection(m: &[f32], e: &[f32], gc: &[f32], g_e: &mut [f32], g_m: &mut [f32]) {
    let d = e.len();
    for (k, &g) in gc.iter().enumerate() {
        if g == 0.0 {
            continue;
        }
        let row = &m[k * d..(k + 1) * d];
        let grow = &mut g_m[k * d..(k + 1) * d];
        for ((ge, mv), (gm, ev)) in g_e.iter_mut().zip(row).zip(grow.iter_mut().zip(e)) {
            *ge += g * mv;
            *gm += g * ev;
        }
    }
}

/// Weight of TransR's soft projection-norm penalty.
const PROJECTION_PENALTY: f32 = 1.0;

/// `PROJECTION_PENALTY · max(0, ‖v‖² - 1)` and whether it is active.
fn projection_penalty(v: &[f32]) -> (f32, bool) {
    let excess = v.iter().map(|x| x * x).sum::<f32>() - 1.0;
    (PROJECTION_PENALTY * excess.max(0.0), excess > 0.0)
}

#[allow(clippy::too_many_arguments)]
fn backprop_query(
    model: &KgeModel,
    side: Side,
    anchor: EntityId,
    r: RelationId,
    cs: &[f32],
    q: &[f32],
    gq: &[f32],
    g_anchor: &mut [f32],
    g_rel: &mut [f32],
    g_proj: &mut [f32],
) {
    let sign = match side {
        Side::Tail => 1.0,
        Side::Head => -1.0,
    };
    match model.kind {
        ModelKind::TransE { .. } => {
            for ((ga, gr), g) in g_anchor.iter_mut().zip(g_rel.iter_mut()).zip(gq) {
                *ga += g;
                *gr += sign * g;
            }
        }
        ModelKind::TransR { .. } => {
            for (gr, g) in g_rel.iter_mut().zip(gq) {
                *gr += sign * g;
            }
            if let Some(m) = &model.projection {
                backprop_projection(
                    m.row(r.index()),
                    model.entity.row(anchor.index()),
                    gq,
                    g_anchor,
                    g_proj,
                );
            }
        }
        ModelKind::RotatE => {
            // q = a ∘ e^{iσθ}: ∂a = conj-rotated ∂q; ∂θ_k = σ (q_re ∂q_im - q_im ∂q_re).
            let d = model.dim;
            let (qre, qim) = (&q[..d], &q[d..2 * d]);
            let (gre, gim) = (&gq[..d], &gq[d..2 * d]);
            let (cos, sin) = (&cs[..d], &cs[d..2 * d]);
            let (are, aim) = g_anchor.split_at_mut(d);
            let (aim, g_rel) = (&mut aim[..d], &mut g_rel[..d]);
            for k in 0..d {
                let (c, sn) = (cos[k], sign * sin[k]);
                are[k] += gre[k] * c + gim[k] * sn;
                aim[k] += -gre[k] * sn + gim[k] * c;
                g_rel[k] += sign * (qre[k] * gim[k] - qim[k] * gre[k]);
            }
        }
    }
}

/// The optimiser state of a model: one [`LazyTable`] per parameter matrix and the global step.
#[derive(Debug)]
struct OptState {
    step: u64,
    /// Every plateau decay divides it by [`LR_DECAY`].
    lr_scale: f32,
    entity: LazyTable,
    relation: LazyTable,
    projection: Option<LazyTable>,
}

impl OptState {
    fn new(model: &KgeModel, opt: Optimizer) -> Self {
        let adam = matches!(opt, Optimizer::Adam { .. });
        let table = |m: &Matrix| LazyTable::new(m.rows(), m.cols(), adam);
        Self {
            step: 0,
            lr_scale: 1.0,
            entity: table(&model.entity),
            relation: table(&model.relation),
            projection: model.projection.as_ref().map(table),
        }
    }

    /// The update rule of this step for a learning rate scaled by `lr_scale`: Adagrad (ε 1e-10)
    /// or Adam with the global step's bias corrections folded into the step size (ε 1e-8).
    fn rule(&self, opt: Optimizer, lr_scale: f32) -> Rule {
        match opt {
            Optimizer::Adagrad { lr } => Rule::adagrad(lr * lr_scale, 1e-10),
            Optimizer::Adam { lr, beta1, beta2 } => {
                let t = i32::try_from(self.step).unwrap_or(i32::MAX);
                Rule::adam_folded(lr * lr_scale, beta1, beta2, 1e-8, t)
            }
        }
    }

    /// Sums the chunks' gradients row by row in chunk order (so the sum is the same for any
    /// thread count) and updates every touched row once.
    fn apply(&mut self, model: &mut KgeModel, grads: &[ChunkGrad], p: &KgeParams) {
        self.step += 1;
        let (ent_c, rel_c, rel_scale) = match (p.kind, p.loss) {
            (ModelKind::RotatE, Loss::SelfAdversarial { gamma, .. }) => {
                // The RotatE code learns phases as θ·range/π with range = (γ + 2)/d; with an
                // adaptive optimiser that is a phase step π/range times the entity step.
                let range = (gamma + 2.0) / p.dim as f32;
                (
                    RowConstraint::None,
                    RowConstraint::None,
                    std::f32::consts::PI / range,
                )
            }
            (ModelKind::RotatE, _) => (RowConstraint::None, RowConstraint::None, 1.0),
            (ModelKind::TransR { .. }, _) => (p.entity_constraint, RowConstraint::UnitBall, 1.0),
            (ModelKind::TransE { .. }, _) => (p.entity_constraint, RowConstraint::None, 1.0),
        };
        let ent_rule = self.rule(p.optimizer, self.lr_scale);
        let rel_rule = self.rule(p.optimizer, rel_scale * self.lr_scale);
        step_table(
            &mut self.entity,
            &mut model.entity,
            grads,
            |g| &g.entity,
            ent_rule,
            ent_c,
        );
        step_table(
            &mut self.relation,
            &mut model.relation,
            grads,
            |g| &g.relation,
            rel_rule,
            rel_c,
        );
        if let (Some(state), Some(proj)) = (&mut self.projection, &mut model.projection) {
            let none = RowConstraint::None;
            step_table(state, proj, grads, |g| &g.projection, ent_rule, none);
        }
    }
}

/// One step of one parameter matrix: its part of every chunk's gradient, in chunk order, then
/// the update of every touched row and its norm constraint.
fn step_table(
    state: &mut LazyTable,
    params: &mut Matrix,
    grads: &[ChunkGrad],
    part: fn(&ChunkGrad) -> &SparseGrad,
    rule: Rule,
    constraint: RowConstraint,
) {
    for g in grads {
        let g = part(g);
        state.add(&g.rows, &g.data);
    }
    state.step(rule, params.as_mut_slice(), |row| {
        constrain(row, constraint)
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn t(h: u32, r: u32, tl: u32) -> Triple {
        Triple::new(EntityId(h), RelationId(r), EntityId(tl))
    }

    /// The loss of one positive with the given side and negatives, straight from the model.
    fn reference_loss(model: &KgeModel, loss: Loss, pos: Triple, side: Side, negs: &[u32]) -> f64 {
        let w = model.space_dim();
        let (anchor, target) = match side {
            Side::Tail => (pos.head, pos.tail),
            Side::Head => (pos.tail, pos.head),
        };
        let mut q = vec![0.0; w];
        model.query(side, anchor, pos.relation, &mut q);
        let mut buf = vec![0.0; w];
        let d_pos = model.dist(&q, model.candidate(target, pos.relation, &mut buf));
        let dist: Vec<f32> = negs
            .iter()
            .map(|&e| {
                let mut b = vec![0.0; w];
                model.dist(&q, model.candidate(EntityId(e), pos.relation, &mut b))
            })
            .collect();
        let valid: Vec<bool> = negs.iter().map(|&e| e != target.0).collect();
        let mut coef = vec![0.0; negs.len()];
        let mut l = f64::from(loss_and_coefs(loss, d_pos, &dist, &valid, &mut coef).0);
        if model.projection.is_some() {
            for e in [anchor.0, target.0].iter().chain(negs) {
                let mut b = vec![0.0; w];
                l += f64::from(
                    projection_penalty(model.candidate(EntityId(*e), pos.relation, &mut b)).0,
                );
            }
        }
        l
    }

    fn dense(g: &SparseGrad, rows: usize, width: usize) -> Vec<f32> {
        let mut out = vec![0.0; rows * width];
        if width == 0 {
            return out;
        }
        for (&r, d) in g.rows.iter().zip(g.data.chunks_exact(width)) {
            for (o, v) in out[r as usize * width..].iter_mut().zip(d) {
                *o += v;
            }
        }
        out
    }

    #[test]
    fn tuned_defaults_exist_for_every_model_and_validate() {
        for (name, kind) in [
            ("transe", "transe"),
            ("RotatE", "rotate"),
            ("transr", "transr"),
        ] {
            let p = KgeParams::tuned(name).unwrap();
            assert_eq!(p.kind.name(), kind);
            assert!(
                p.validate_every > 0,
                "{name}: early stopping needs validation"
            );
            p.check().unwrap();
        }
        assert!(KgeParams::tuned("distmult").is_none());
        // TransR follows the tuned entity dimension unless rel_dim is set.
        let p = KgeParams::tuned("transr").unwrap().dim(12);
        assert_eq!(
            p.kind,
            ModelKind::TransR {
                norm: Norm::L1,
                rel_dim: 12
            }
        );
    }

    /// Analytic gradients of `chunk_gradient` against central finite differences, for every
    /// model, both corrupted sides and both losses (self-adversarial at temperature 0, where the
    /// held-constant weights are exactly uniform, so the analytic gradient is the true one).
    #[test]
    fn gradients_match_finite_differences() {
        let kinds = [
            ModelKind::TransE { norm: Norm::L1 },
            ModelKind::TransE { norm: Norm::L2 },
            ModelKind::RotatE,
            ModelKind::TransR {
                norm: Norm::L2,
                rel_dim: 3,
            },
        ];
        let losses = [
            Loss::SelfAdversarial {
                gamma: 2.0,
                temperature: 0.0,
            },
            Loss::MarginRanking { margin: 20.0 },
        ];
        let data = Dataset::from_triples(6, 2, vec![t(0, 1, 2)], vec![], vec![]).unwrap();
        for kind in kinds {
            for loss in losses {
                for (side, head_prob) in [(Side::Tail, 0.0), (Side::Head, 1.0)] {
                    let p = KgeParams::new(kind).dim(4).loss(loss).negatives(3);
                    let p = match kind {
                        ModelKind::TransR { .. } => p.rel_dim(3),
                        _ => p,
                    };
                    let mut rng = ChaCha8Rng::seed_from_u64(3);
                    let mut model = init_model(&p, 6, 2, &mut rng);
                    if let Some(proj) = &mut model.projection {
                        for v in proj.as_mut_slice() {
                            *v += rng.random_range(-0.5..0.5);
                        }
                        // Long enough entities that the projection-norm penalty is active.
                        for v in model.entity.as_mut_slice() {
                            *v *= 3.0;
                        }
                    }
                    let hp = [head_prob; 2];
                    let ctx = Ctx {
                        p: &p,
                        head_prob: &hp,
                        train_filter: None,
                        num_entities: 6,
                    };
                    let mut s = Scratch::new(&model, &p);
                    let g = chunk_gradient(
                        &ctx,
                        &model,
                        &model.rotation_table(),
                        &data,
                        &[0],
                        1.0,
                        &mut rng,
                        &mut s,
                    );
                    let negs = s.negs.clone();
                    let pos = data.train[0];
                    let l0 = reference_loss(&model, loss, pos, side, &negs);
                    if model.projection.is_some() {
                        // The soft ‖M_r e‖ ≤ 1 penalty is part of what is checked.
                        let mut b = vec![0.0; 3];
                        assert!(
                            projection_penalty(model.candidate(pos.tail, pos.relation, &mut b)).1
                        );
                    }
                    assert!((g.loss - l0).abs() < 1e-4, "{kind:?} {loss:?} {side:?}");
                    let analytic = [
                        dense(&g.entity, 6, model.entity.cols()),
                        dense(&g.relation, 2, model.relation.cols()),
                        dense(
                            &g.projection,
                            2,
                            model.projection.as_ref().map_or(0, Matrix::cols),
                        ),
                    ];
                    for (which, grad) in analytic.iter().enumerate() {
                        for (i, &a) in grad.iter().enumerate() {
                            let eps = 1e-2;
                            let at = |delta: f32| {
                                let mut m = model.clone();
                                let params = match which {
                                    0 => m.entity.as_mut_slice(),
                                    1 => m.relation.as_mut_slice(),
                                    _ => m.projection.as_mut().unwrap().as_mut_slice(),
                                };
                                params[i] += delta;
                                reference_loss(&m, loss, pos, side, &negs)
                            };
                            let numeric = (at(eps) - at(-eps)) / (2.0 * f64::from(eps));
                            assert!(
                                (numeric - f64::from(a)).abs() < 2e-2 * (1.0 + numeric.abs()),
                                "{kind:?} {loss:?} {side:?} param {which}[{i}]: analytic {a} numeric {numeric}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// 40 entities on a line; relation r moves a head r + 1 steps (a pattern translations can
    /// learn), plus 30 random noise triples; shuffled, 10 % valid, 10 % test.
    fn random_graph(seed: u64) -> Dataset {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut triples: Vec<Triple> = (0..40u32)
            .flat_map(|h| {
                (0..3u32)
                    .filter(move |r| h + r + 1 < 40)
                    .map(move |r| t(h, r, h + r + 1))
            })
            .collect();
        for _ in 0..30 {
            triples.push(t(
                rng.random_range(0..40),
                rng.random_range(0..3),
                rng.random_range(0..40),
            ));
        }
        triples.sort();
        triples.dedup();
        triples.shuffle(&mut rng);
        let n = triples.len() / 10;
        let test = triples.split_off(triples.len() - n);
        let valid = triples.split_off(triples.len() - n);
        Dataset::from_triples(40, 3, triples, valid, test).unwrap()
    }

    fn fit_with_threads(p: &CheckedParams, data: &Dataset, seed: u64, threads: usize) -> FitResult {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            p.fit(data, &mut ChaCha8Rng::seed_from_u64(seed), &mut |_| {})
                .unwrap()
        })
    }

    #[test]
    fn same_seed_same_model_for_any_thread_count() {
        let data = random_graph(1);
        for params in [
            TransE::params().filtered_negatives(true),
            RotatE::params().adagrad(0.05),
            TransR::params().dim(8).rel_dim(4),
        ] {
            let p = params
                .dim(8)
                .epochs(3)
                .batch_size(64)
                .chunk_size(8)
                .negatives(4)
                .check()
                .unwrap();
            let a = fit_with_threads(&p, &data, 42, 1);
            let b = fit_with_threads(&p, &data, 42, 2);
            let c = fit_with_threads(&p, &data, 42, 2);
            assert_eq!(a.model, b.model, "{:?}", p.kind());
            assert_eq!(b.model, c.model);
            assert_eq!(
                a.epochs.iter().map(|e| e.loss).collect::<Vec<_>>(),
                b.epochs.iter().map(|e| e.loss).collect::<Vec<_>>()
            );
            let other = fit_with_threads(&p, &data, 43, 2);
            assert_ne!(a.model, other.model);
        }
    }

    #[test]
    fn early_stopping_keeps_the_best_validated_model() {
        let data = random_graph(2);
        let p = TransE::params()
            .dim(16)
            .self_adversarial(4.0, 1.0)
            .entity_constraint(RowConstraint::None)
            .adam(0.02)
            .batch_size(16)
            .chunk_size(4)
            .epochs(40)
            .validate_every(2)
            .patience(2)
            .check()
            .unwrap();
        let mut seen = Vec::new();
        let fit = p
            .fit(&data, &mut ChaCha8Rng::seed_from_u64(5), &mut |e| {
                seen.push(*e)
            })
            .unwrap();
        assert_eq!(seen, fit.epochs);
        let mrrs: Vec<f64> = fit.epochs.iter().filter_map(|e| e.valid_mrr).collect();
        let best = mrrs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(fit.best_valid_mrr, Some(best));
        let filter = FilterIndex::new(data.all_triples());
        assert_eq!(evaluate(&fit.model, &data.valid, &filter).both.mrr, best);
        if fit.epochs.len() < 40 {
            // Stopped early: the last `patience` validations did not improve.
            assert!(mrrs[mrrs.len() - 2..].iter().all(|&m| m < best));
        }
    }

    #[test]
    fn plateau_decay_continues_where_early_stopping_would_end() {
        let data = random_graph(2);
        let p = TransE::params()
            .dim(16)
            .self_adversarial(4.0, 1.0)
            .entity_constraint(RowConstraint::None)
            .adam(0.05)
            .batch_size(16)
            .chunk_size(4)
            .epochs(200)
            .validate_every(2)
            .patience(2);
        let run = |p: KgeParams| {
            p.check()
                .unwrap()
                .fit(&data, &mut ChaCha8Rng::seed_from_u64(5), &mut |_| {})
                .unwrap()
        };
        let plain = run(p.clone());
        let decayed = run(p.clone().lr_decays(1));
        let n = plain.epochs.len();
        assert!(
            n < 200,
            "the plain run must stop early for this test to mean anything"
        );
        // Identical up to the plateau (same seed, same steps), then it goes on at a tenth of
        // the learning rate for at least `patience` more validations.
        let trace = |f: &FitResult, k: usize| -> Vec<(usize, f64, Option<f64>)> {
            f.epochs[..k]
                .iter()
                .map(|e| (e.epoch, e.loss, e.valid_mrr))
                .collect()
        };
        assert_eq!(trace(&plain, n), trace(&decayed, n));
        assert!(decayed.epochs.len() >= n + 4);
        assert!(decayed.best_valid_mrr >= plain.best_valid_mrr);
        // A second run of the decayed schedule gives the same model.
        assert_eq!(run(p.lr_decays(1)).model, decayed.model);
    }

    #[test]
    fn check_rejects_bad_params() {
        assert!(TransE::params().dim(0).check().is_err());
        assert!(TransE::params().adam(-1.0).check().is_err());
        assert!(TransE::params().margin(f32::NAN).check().is_err());
        assert!(
            RotatE::params()
                .self_adversarial(9.0, -1.0)
                .check()
                .is_err()
        );
        assert!(TransE::params().chunk_size(0).check().is_err());
        assert!(TransR::params().rel_dim(0).check().is_err());
        assert!(TransE::params().check().is_ok());
        for name in ["transe", "RotatE", "transr"] {
            let p = KgeParams::named(name).unwrap().check().unwrap();
            assert_eq!(p.kind().name(), name.to_ascii_lowercase());
        }
        assert!(KgeParams::named("distmult").is_none());
    }

    #[test]
    fn bernoulli_prefers_corrupting_the_many_side() {
        // Relation 0 is one-to-many (one head, three tails): tph = 3, hpt = 1 → corrupt heads 3/4.
        let data = Dataset::from_triples(
            4,
            1,
            vec![t(0, 0, 1), t(0, 0, 2), t(0, 0, 3)],
            vec![],
            vec![],
        )
        .unwrap();
        assert_eq!(
            corruption_probabilities(&data, Sampler::Bernoulli),
            vec![0.75]
        );
        assert_eq!(corruption_probabilities(&data, Sampler::Uniform), vec![0.5]);
    }

    #[test]
    fn constraints_hold_after_training() {
        let data = random_graph(3);
        let fit = TransE::params()
            .dim(8)
            .epochs(2)
            .batch_size(64)
            .check()
            .unwrap()
            .fit(&data, &mut ChaCha8Rng::seed_from_u64(1), &mut |_| {})
            .unwrap();
        for e in 0..40 {
            let n: f32 = fit
                .model
                .entity
                .row(e)
                .iter()
                .map(|v| v * v)
                .sum::<f32>()
                .sqrt();
            assert!((n - 1.0).abs() < 1e-4);
        }
        let fit = TransR::params()
            .dim(8)
            .rel_dim(4)
            .epochs(2)
            .batch_size(64)
            .check()
            .unwrap()
            .fit(&data, &mut ChaCha8Rng::seed_from_u64(1), &mut |_| {})
            .unwrap();
        for m in [&fit.model.entity, &fit.model.relation] {
            for r in 0..m.rows() {
                assert!(m.row(r).iter().map(|v| v * v).sum::<f32>() <= 1.0 + 1e-4);
            }
        }
    }
}
