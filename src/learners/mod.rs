//! The model registry: every learner kgrec trains and serves, one entry each.
//!
//! A learner is one module of this folder. It owns:
//! - its hyper-parameters (serde) and which of the generic knobs ([`Overrides`]: `--dim`,
//!   `--epochs`, `--reg`, ...) set them;
//! - `fit`: parameters and the training data ([`TrainInput`]) → the stored form ([`Trained`]:
//!   a [`ModelHeader`] and named float arrays);
//! - `load`: a stored version and the data directory as it is now ([`Binding`]) → a servable
//!   model ([`Loaded`]).
//!
//! This file is the registry: [`ModelKind`] (what a stored header says; the variant index is
//! on disk), [`ModelSpec`] (a learner with its parameters: what `train` is asked for, what the
//! HTTP service and the tuner will pass) and [`LEARNERS`] (names, help, knobs, loaders).
//! "How to add a learner" in `docs/architecture.md` walks through the steps.

mod cke;
mod ease;
mod factors;
mod graph_embedding;
mod knn;
mod ncf;
mod pop;
mod rating;
pub mod space;
mod tfidf;

pub use graph_embedding::{
    GraphEmbeddingSpec, KgeKnobs, embeddings_of, kge_params, kge_params_for,
};
pub use ncf::{Head as NcfHead, NcfParams};

use std::time::{SystemTime, UNIX_EPOCH};

use kgrec_kg::{EntityId, GraphIndex};
use serde::{Deserialize, Serialize};

use crate::cf::{AlsParams, BprParams, EpochReport, InteractionMatrix, Recommender};
use crate::error::{Error, Result};
use crate::fused::FusedParams;
use crate::store::{ModelHeader, Snapshot, StoredModel};

/// Which learner produced a stored model. Headers hold the variant's index, so new learners are
/// appended and none is ever reordered (`model_kind_bytes_are_frozen` in `store::models`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ModelKind {
    /// Implicit ALS.
    Als,
    /// BPR-MF.
    Bpr,
    /// Item popularity.
    Popularity,
    /// The knowledge-aware model (CF fused with graph embeddings and relation attention).
    Cke,
    /// TransE embeddings of the data directory's graph (no recommender).
    TransE,
    /// RotatE embeddings of the data directory's graph (no recommender).
    RotatE,
    /// TransR embeddings of the data directory's graph (no recommender).
    TransR,
    /// EASE, the closed-form item-to-item model.
    Ease,
    /// EASE with the graph's item facts as extra rows.
    KgEase,
    /// Item-kNN.
    ItemKnn,
    /// User-kNN.
    UserKnn,
    /// Biased MF on the ratings.
    Svd,
    /// SVD++ on the ratings.
    SvdPp,
    /// TF-IDF of the items' text in the graph (content only).
    Tfidf,
    /// Neural scoring (NCF-style heads over user, item and graph vectors).
    Ncf,
}

impl ModelKind {
    /// The registry entry of this kind.
    pub fn learner(self) -> &'static Learner {
        // Every kind has exactly one entry (`every_kind_has_one_entry`).
        LEARNERS
            .iter()
            .find(|l| l.kind == self)
            .unwrap_or(&LEARNERS[0])
    }

    /// The `--model` spelling.
    pub fn name(self) -> &'static str {
        self.learner().name
    }

    /// Whether its fit draws random numbers, so that a seed changes the model: not for
    /// popularity counts, EASE's closed form and the neighbourhood models (`kg-ease` draws the
    /// rows its graph weight is chosen on).
    pub fn uses_seed(self) -> bool {
        !matches!(
            self,
            Self::Popularity | Self::Ease | Self::ItemKnn | Self::UserKnn | Self::Tfidf
        )
    }

    /// Whether the model is a knowledge-graph embedding alone, which cannot recommend.
    pub fn is_graph_embedding(self) -> bool {
        !self.learner().recommender
    }

    /// Whether the model predicts ratings (`predict`, `eval --task rating`).
    pub fn predicts_ratings(self) -> bool {
        self.learner().feedback == Feedback::Explicit
    }

    /// Whether the recommender reads the graph through the items' links (`cke`, `kg-ease`,
    /// `tfidf`, and `svd`/`svdpp` with their graph prior): a linked item is something it learnt
    /// about even without interactions.
    pub fn reads_graph(self) -> bool {
        matches!(
            self,
            Self::Cke | Self::KgEase | Self::Svd | Self::SvdPp | Self::Tfidf | Self::Ncf
        )
    }
}

/// A generic hyper-parameter knob: one `train` flag that several learners understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Knob {
    /// cke: weight of the entity prior; kg-ease: the graph rows' weight; svd, svdpp: the
    /// graph prior's weight.
    KgWeight,
    /// cke: weight of the nearest-items prior.
    NeighbourWeight,
    /// cke: how the neighbourhood enters the score.
    Attention,
    /// cke: cold items at `s·η` instead of among their nearest items.
    ColdScale,
    /// cke: nearest items that place a cold item.
    ColdNeighbours,
    /// Latent dimension.
    Dim,
    /// Epochs or iterations.
    Epochs,
    /// L2 regularisation.
    Reg,
    /// Confidence slope.
    Alpha,
    /// als, cke: which stored value makes the confidence values (binary, rating, count).
    Confidence,
    /// Learning rate.
    Lr,
    /// ease, kg-ease: λ relative to the mean item degree.
    RegScale,
    /// kg-ease: exponent of a graph feature's inverse document frequency in its weight.
    IdfPower,
    /// kg-ease: how linked items without interactions get their weights.
    ColdPlacement,
    /// ease, kg-ease: the sparse approximation's weights per item; svd, svdpp: the nearest
    /// items in the graph of the graph prior.
    Neighbours,
    /// kg-ease: weight of two-hop graph features relative to one-hop ones.
    TwoHop,
    /// kg-ease: how far each relation type's feature rows are brought to the same total weight.
    RelationBalance,
    /// kg-ease: weight of the rows of the items' text words relative to the graph's.
    TextWeight,
    /// kg-ease: weight of the graph's item-item prior on `B`.
    GraphPrior,
    /// itemknn, userknn: the similarity kernel.
    Similarity,
    /// itemknn, userknn: shrinkage of a similarity by its support.
    Shrink,
    /// Graph embeddings (`kge train --tune`): negative entities per positive.
    Negatives,
    /// Graph embeddings: margin γ of the self-adversarial loss (TransE, RotatE).
    Gamma,
    /// Graph embeddings: margin of the margin-ranking loss (TransR).
    Margin,
    /// Graph embeddings: validations without a better MRR before the fit stops.
    Patience,
    /// ncf: the scoring head.
    Head,
}

impl Knob {
    /// Every knob, in the order a rejection names them.
    pub const ALL: [Knob; 26] = [
        Knob::KgWeight,
        Knob::NeighbourWeight,
        Knob::Attention,
        Knob::ColdScale,
        Knob::ColdNeighbours,
        Knob::Dim,
        Knob::Epochs,
        Knob::Reg,
        Knob::Alpha,
        Knob::Confidence,
        Knob::Lr,
        Knob::RegScale,
        Knob::IdfPower,
        Knob::ColdPlacement,
        Knob::Neighbours,
        Knob::TwoHop,
        Knob::RelationBalance,
        Knob::GraphPrior,
        Knob::TextWeight,
        Knob::Similarity,
        Knob::Shrink,
        Knob::Negatives,
        Knob::Gamma,
        Knob::Margin,
        Knob::Patience,
        Knob::Head,
    ];

    /// The flag that sets it.
    pub fn flag(self) -> &'static str {
        match self {
            Self::KgWeight => "--kg-weight",
            Self::NeighbourWeight => "--neighbour-weight",
            Self::Attention => "--attention",
            Self::ColdScale => "--cold-scale",
            Self::ColdNeighbours => "--cold-neighbours",
            Self::Dim => "--dim",
            Self::Epochs => "--epochs",
            Self::Reg => "--reg",
            Self::Alpha => "--alpha",
            Self::Confidence => "--confidence",
            Self::Lr => "--lr",
            Self::RegScale => "--reg-scale",
            Self::IdfPower => "--idf-power",
            Self::ColdPlacement => "--cold-placement",
            Self::Neighbours => "--neighbours",
            Self::TwoHop => "--two-hop",
            Self::RelationBalance => "--relation-balance",
            Self::GraphPrior => "--graph-prior",
            Self::TextWeight => "--text-weight",
            Self::Similarity => "--similarity",
            Self::Shrink => "--shrink",
            Self::Negatives => "--negatives",
            Self::Gamma => "--gamma",
            Self::Margin => "--margin",
            Self::Patience => "--patience",
            Self::Head => "--head",
        }
    }
}

/// Hyper-parameters given for any learner (`train`'s flags); unset values keep the learner's
/// defaults. [`ModelSpec::new`] refuses a knob the chosen learner does not use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Overrides {
    /// Latent dimension.
    pub dim: Option<usize>,
    /// Epochs (ALS iterations).
    pub epochs: Option<usize>,
    /// L2 regularisation.
    pub reg: Option<f32>,
    /// ALS confidence slope.
    pub alpha: Option<f32>,
    /// als, cke: `binary`, `rating` or `count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<String>,
    /// Learning rate.
    pub lr: Option<f32>,
    /// cke: entity prior weight.
    pub kg_weight: Option<f32>,
    /// cke: nearest-items prior weight.
    pub neighbour_weight: Option<f32>,
    /// cke: `none`, `uniform` or `learned`.
    pub attention: Option<String>,
    /// cke: cold items at `s·η`.
    pub cold_scale: Option<f32>,
    /// cke: nearest items that place a cold item.
    pub cold_neighbours: Option<usize>,
    /// ease, kg-ease: λ as a multiple of the mean item degree.
    #[serde(default)]
    pub reg_scale: Option<f32>,
    /// kg-ease: exponent of a feature's inverse document frequency in its weight.
    #[serde(default)]
    pub idf_power: Option<f32>,
    /// kg-ease: `off`, `mean` or `restored`.
    #[serde(default)]
    pub cold_placement: Option<String>,
    /// ease, kg-ease: the sparse approximation with this many weights per item.
    #[serde(default)]
    pub neighbours: Option<usize>,
    /// kg-ease: weight `β` of two-hop graph features relative to one-hop ones (0: none).
    #[serde(default)]
    pub two_hop: Option<f32>,
    /// kg-ease: `q` in [0, 1], how far each relation type's rows are brought to the same total.
    #[serde(default)]
    pub relation_balance: Option<f32>,
    /// kg-ease: weight `γ` of the graph's item-item prior on `B` (0: none).
    #[serde(default)]
    pub graph_prior: Option<f32>,
    /// kg-ease: weight `τ` of the items' text words relative to the graph rows (0: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_weight: Option<f32>,
    /// itemknn, userknn: `cosine`, `jaccard` or `bm25`.
    #[serde(default)]
    pub similarity: Option<String>,
    /// itemknn, userknn: shrinkage `s` of a similarity by its support `c`: `c / (c + s)`.
    #[serde(default)]
    pub shrink: Option<f32>,
    /// Graph embeddings (`kge train --tune`): negatives per positive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negatives: Option<usize>,
    /// Graph embeddings: self-adversarial margin γ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f32>,
    /// Graph embeddings: margin-ranking margin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<f32>,
    /// Graph embeddings: early-stopping patience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patience: Option<usize>,
    /// ncf: `dot`, `gmf`, `mlp` or `neumf`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
}

impl Overrides {
    fn given(&self, knob: Knob) -> bool {
        match knob {
            Knob::KgWeight => self.kg_weight.is_some(),
            Knob::NeighbourWeight => self.neighbour_weight.is_some(),
            Knob::Attention => self.attention.is_some(),
            Knob::ColdScale => self.cold_scale.is_some(),
            Knob::ColdNeighbours => self.cold_neighbours.is_some(),
            Knob::Dim => self.dim.is_some(),
            Knob::Epochs => self.epochs.is_some(),
            Knob::Reg => self.reg.is_some(),
            Knob::Alpha => self.alpha.is_some(),
            Knob::Confidence => self.confidence.is_some(),
            Knob::Lr => self.lr.is_some(),
            Knob::RegScale => self.reg_scale.is_some(),
            Knob::IdfPower => self.idf_power.is_some(),
            Knob::ColdPlacement => self.cold_placement.is_some(),
            Knob::Neighbours => self.neighbours.is_some(),
            Knob::TwoHop => self.two_hop.is_some(),
            Knob::RelationBalance => self.relation_balance.is_some(),
            Knob::GraphPrior => self.graph_prior.is_some(),
            Knob::TextWeight => self.text_weight.is_some(),
            Knob::Similarity => self.similarity.is_some(),
            Knob::Shrink => self.shrink.is_some(),
            Knob::Negatives => self.negatives.is_some(),
            Knob::Gamma => self.gamma.is_some(),
            Knob::Margin => self.margin.is_some(),
            Knob::Patience => self.patience.is_some(),
            Knob::Head => self.head.is_some(),
        }
    }

    /// The first given knob the learner named `name` does not take, as its flag, with the
    /// recommenders that do take it (`None` for an unknown name, or when every given knob
    /// applies).
    pub fn foreign_to(&self, name: &str) -> Option<(&'static str, Vec<&'static str>)> {
        let learner = learner(name)?;
        let knob = Knob::ALL
            .iter()
            .find(|k| self.given(**k) && !learner.knobs.contains(k))?;
        let takers = LEARNERS
            .iter()
            .filter(|l| l.recommender && l.knobs.contains(knob))
            .map(|l| l.name)
            .collect();
        Some((knob.flag(), takers))
    }

    /// Refuses the first given knob that `learner` does not list.
    fn only(&self, learner: &Learner) -> Result<()> {
        match Knob::ALL
            .iter()
            .find(|k| self.given(**k) && !learner.knobs.contains(k))
        {
            Some(k) => Err(Error::BadInput(format!(
                "{} does not apply to --model {}",
                k.flag(),
                learner.name
            ))),
            None => Ok(()),
        }
    }
}

/// `set(params, v)` when a knob gave `v`, else `params` unchanged.
pub fn apply<P, T>(params: P, value: Option<T>, set: fn(P, T) -> P) -> P {
    match value {
        Some(v) => set(params, v),
        None => params,
    }
}

/// A learner with its hyper-parameters: what `train` fits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", content = "params", rename_all = "lowercase")]
pub enum ModelSpec {
    /// The knowledge-aware model.
    Cke(FusedParams),
    /// Implicit ALS.
    Als(AlsParams),
    /// BPR-MF.
    Bpr(BprParams),
    /// Item popularity.
    Pop,
    /// TransE embeddings of the graph.
    Transe(GraphEmbeddingSpec),
    /// RotatE embeddings of the graph.
    Rotate(GraphEmbeddingSpec),
    /// TransR embeddings of the graph.
    Transr(GraphEmbeddingSpec),
    /// EASE.
    Ease(crate::ease::EaseParams),
    /// EASE with the graph's item facts.
    #[serde(rename = "kg-ease")]
    KgEase(crate::ease::KgEaseParams),
    /// Item-kNN.
    ItemKnn(crate::knn::KnnParams),
    /// User-kNN.
    UserKnn(crate::knn::KnnParams),
    /// Biased MF on the ratings.
    Svd(crate::cf::SvdParams),
    /// SVD++ on the ratings.
    Svdpp(crate::cf::SvdParams),
    /// TF-IDF of the items' text.
    Tfidf(crate::content::TfidfParams),
    /// Neural scoring.
    Ncf(NcfParams),
}

impl Default for ModelSpec {
    /// The default learner, `cke`, with its defaults.
    fn default() -> Self {
        Self::Cke(FusedParams::default())
    }
}

impl ModelSpec {
    /// The learner and hyper-parameters a stored model was fitted with: what a refresh of it
    /// fits again.
    pub fn of_header(header: &ModelHeader) -> Result<Self> {
        let corrupt = |e: serde_json::Error| Error::Corruption {
            what: format!(
                "model v{} {}: its stored hyper-parameters do not read: {e}",
                header.version,
                header.kind.name()
            ),
        };
        if header.kind == ModelKind::Popularity {
            return Ok(Self::Pop);
        }
        let params: serde_json::Value = serde_json::from_str(&header.params).map_err(corrupt)?;
        serde_json::from_value(serde_json::json!({"model": header.kind.name(), "params": params}))
            .map_err(corrupt)
    }

    /// The learner named `model` (a `--model` spelling or alias) with `overrides` applied;
    /// a knob the learner does not use is refused.
    pub fn new(model: &str, overrides: &Overrides) -> Result<Self> {
        let learner = learner(model).ok_or_else(|| {
            Error::BadInput(format!(
                "--model {model}: no such learner (expected one of {})",
                names().join(", ")
            ))
        })?;
        overrides.only(learner)?;
        (learner.spec)(overrides)
    }

    /// Its L2 regularisation `--reg`, for the learners whose parameters hold it as one number
    /// (`als`, `cke`, `bpr`, `svd`, ...); `None` for the others (ease's λ is absolute or
    /// scaled, pop has none).
    pub fn regularization(&self) -> Option<f32> {
        let value = serde_json::to_value(self).ok()?;
        let reg = value.get("params")?.get("regularization")?.as_f64()?;
        Some(reg as f32)
    }

    /// This spec with its regularisation ([`Self::regularization`]) set to `reg`; `None` for a
    /// learner without one.
    pub fn with_regularization(&self, reg: f32) -> Option<Self> {
        let mut value = serde_json::to_value(self).ok()?;
        let slot = value.get_mut("params")?.get_mut("regularization")?;
        if !slot.is_number() {
            return None;
        }
        *slot = serde_json::json!(reg);
        serde_json::from_value(value).ok()
    }

    /// Whether the fit reads the graph's text ([`GraphData::read_texts`]): `tfidf`, and
    /// `kg-ease` with text rows.
    pub fn reads_texts(&self) -> bool {
        match self {
            Self::Tfidf(_) => true,
            Self::KgEase(p) => p.text_weight > 0.0,
            _ => false,
        }
    }

    /// Which learner it is.
    pub fn kind(&self) -> ModelKind {
        match self {
            Self::Cke(_) => ModelKind::Cke,
            Self::Als(_) => ModelKind::Als,
            Self::Bpr(_) => ModelKind::Bpr,
            Self::Pop => ModelKind::Popularity,
            Self::Transe(_) => ModelKind::TransE,
            Self::Rotate(_) => ModelKind::RotatE,
            Self::Transr(_) => ModelKind::TransR,
            Self::Ease(_) => ModelKind::Ease,
            Self::KgEase(_) => ModelKind::KgEase,
            Self::ItemKnn(_) => ModelKind::ItemKnn,
            Self::UserKnn(_) => ModelKind::UserKnn,
            Self::Svd(_) => ModelKind::Svd,
            Self::Svdpp(_) => ModelKind::SvdPp,
            Self::Tfidf(_) => ModelKind::Tfidf,
            Self::Ncf(_) => ModelKind::Ncf,
        }
    }

    /// Fits the model on `input`; `progress` hears every epoch; raising `cancel` stops the
    /// fit at the next epoch boundary ([`Error::Cancelled`]). The header's version is assigned
    /// when the model store writes it.
    pub fn fit(
        &self,
        input: &TrainInput<'_>,
        seed: u64,
        progress: &mut dyn FnMut(&EpochReport),
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<Trained> {
        let fitted = match self {
            Self::Cke(p) => cke::fit(p, input, seed, progress, cancel),
            Self::Als(p) => factors::fit_als(p, input, seed, progress, cancel),
            Self::Bpr(p) => factors::fit_bpr(p, input, seed, progress, cancel),
            Self::Pop => pop::fit(input, seed),
            Self::Ease(p) => ease::fit_ease(p, input, seed, cancel),
            Self::KgEase(p) => ease::fit_kg_ease(p, input, seed, cancel),
            Self::ItemKnn(p) | Self::UserKnn(p) => knn::fit(self.kind(), p, input, seed, cancel),
            Self::Svd(p) | Self::Svdpp(p) => rating::fit(p, input, seed, progress, cancel),
            Self::Tfidf(p) => tfidf::fit(p, input, seed, cancel),
            Self::Ncf(p) => ncf::fit(p, input, seed, progress, cancel),
            Self::Transe(s) | Self::Rotate(s) | Self::Transr(s) => {
                graph_embedding::fit(self.kind(), s, input, seed, progress, cancel)
            }
        };
        match fitted {
            Ok(trained) => self.check_finite(trained),
            Err(Error::Fit(crate::cf::FitError::Cancelled))
            | Err(Error::Kge(kgrec_kg::embed::RunError::Train(
                kgrec_kg::embed::TrainError::Cancelled,
            ))) => Err(Error::Cancelled),
            other => other,
        }
    }
}

/// A parameter of a larger magnitude is no result of a fit that converged: no learner's
/// weights, biases, similarities or counts come near it (a count of 10^12 interactions would
/// not fit the store), while a learning rate far too large drives parameters past it long
/// before they overflow.
pub const ABSURD_MAGNITUDE: f32 = 1e12;

/// The same for a learner fitted by gradient steps (`--lr`): its embeddings and weights, kept
/// small by regularisation, sit within a few units; a million is a learning rate far too large
/// (`ncf --lr 1e9`), not a fit.
pub const ABSURD_GRADIENT_MAGNITUDE: f32 = 1e6;

impl ModelSpec {
    /// A fit whose parameters are not all finite numbers diverged (a learning rate or a
    /// confidence weight too large): it is refused rather than stored and served as NaN scores.
    /// Values beyond [`ABSURD_MAGNITUDE`] (beyond [`ABSURD_GRADIENT_MAGNITUDE`] for a learner
    /// with a learning rate) count as diverged too (`ncf --lr 1e9` ended with finite
    /// parameters scoring -6e19).
    fn check_finite(&self, trained: Trained) -> Result<Trained> {
        let knobs = self.kind().learner().knobs;
        let limit = match knobs.contains(&Knob::Lr) {
            true => ABSURD_GRADIENT_MAGNITUDE,
            false => ABSURD_MAGNITUDE,
        };
        let diverged = |v: &f32| !v.is_finite() || v.abs() > limit;
        let Some((array, values)) = trained
            .arrays
            .iter()
            .find(|(_, values)| values.iter().any(diverged))
        else {
            return Ok(trained);
        };
        let remedy = match (knobs.contains(&Knob::Lr), knobs.contains(&Knob::Alpha)) {
            (true, true) => "train again with a smaller --lr or --alpha",
            (true, false) => "train again with a smaller --lr",
            (false, true) => "train again with a smaller --alpha",
            (false, false) => "train again with smaller weights",
        };
        Err(Error::Fit(crate::cf::FitError::NotFinite {
            array: array.clone(),
            bad: values.iter().filter(|v| diverged(v)).count(),
            len: values.len(),
            remedy: remedy.to_owned(),
        }))
    }
}

/// One learner of the registry.
#[derive(Debug)]
pub struct Learner {
    /// The `--model` spelling.
    pub name: &'static str,
    /// Other accepted spellings.
    pub aliases: &'static [&'static str],
    /// What stored headers call it.
    pub kind: ModelKind,
    /// One line for `--help`.
    pub about: &'static str,
    /// The knobs it understands.
    pub knobs: &'static [Knob],
    /// Whether it recommends (graph embeddings alone do not).
    pub recommender: bool,
    /// How it uses the stored feedback the matrix carries.
    pub feedback: Feedback,
    /// The ranges `kgrec tune` draws its knobs from (empty: nothing to tune).
    pub space: &'static [space::Param],
    /// More ranges, searched when the validation holds items out whole (its cold-item rule).
    pub cold_space: &'static [space::Param],
    /// Its spec from the knobs (already checked against `knobs`).
    spec: fn(&Overrides) -> Result<ModelSpec>,
    /// A stored version made servable.
    load: fn(StoredModel, &Binding<'_>) -> Result<Loaded>,
}

impl Learner {
    /// The space `kgrec tune` searches: [`Learner::space`], and [`Learner::cold_space`] when
    /// the validation holds items out whole.
    /// `graph`: whether the training data has a graph its linked items are in; without one
    /// the knobs of [`Learner::graph_knobs`] change nothing and are left out.
    pub fn tuning_space(&self, whole_items: bool, graph: bool) -> Vec<space::Param> {
        let cold = if whole_items { self.cold_space } else { &[] };
        self.space
            .iter()
            .chain(cold)
            .filter(|p| graph || !self.graph_knobs().contains(&p.knob))
            .copied()
            .collect()
    }

    /// Its dimension when `--dim` is not given, for the learners that have one.
    pub fn default_dim(&self) -> Option<usize> {
        if !self.knobs.contains(&Knob::Dim) {
            return None;
        }
        let spec = (self.spec)(&Overrides::default()).ok()?;
        let value = serde_json::to_value(&spec).ok()?;
        let dim = value.get("params")?.get("factors")?.as_u64()?;
        usize::try_from(dim).ok()
    }

    /// Its defaults on a catalogue of `items` items with interactions: every knob at its
    /// default but the dimension, which follows the catalogue ([`space::sized_dim`]: the
    /// default up to ml-100k's size, then grown with the items). What `train` fits without a
    /// tuning and without `--dim` (`Engine::train_spec`), and what the tuner's first trial,
    /// "the defaults", fits (`TuningData::search`): one function for both.
    pub fn catalogue_defaults(&self, items: usize) -> Overrides {
        match self.default_dim() {
            Some(default) => Overrides {
                dim: Some(space::sized_dim(default, items)).filter(|&d| d != default),
                ..Overrides::default()
            },
            None => Overrides::default(),
        }
    }

    /// Its search space for a catalogue of `items` items with interactions:
    /// [`Learner::tuning_space`] with the dimension's range grown with the catalogue
    /// ([`space::sized_space`]) around the size-aware dimension of
    /// [`Learner::catalogue_defaults`].
    pub fn sized_space(&self, space: Vec<space::Param>, items: usize) -> Vec<space::Param> {
        match self.default_dim() {
            Some(default) => space::sized_space(space, default, items),
            None => space,
        }
    }

    /// The knobs that switch the graph off, where the learner with the graph off is another
    /// learner exactly: `cke` with both prior weights 0 fits what `als` fits (same knobs, same
    /// seed). `None` for the others. The tuner searches this corner first and keeps the graph
    /// only where validation says it pays (`crate::tune`).
    pub fn graph_off(&self) -> Option<Overrides> {
        match self.kind {
            ModelKind::Cke => Some(Overrides {
                kg_weight: Some(0.0),
                neighbour_weight: Some(0.0),
                attention: Some("none".to_owned()),
                ..Overrides::default()
            }),
            _ => None,
        }
    }

    /// The knobs that change nothing in the corner [`Learner::graph_off`] switches to: those
    /// of the graph's training terms, and `cke`'s `--cold-scale` (it scales an embedding only
    /// those terms train). `cke`'s `--cold-neighbours` is not one: its nearest-items rule
    /// places new items with the graph's terms off too, so the tuner searches it there.
    pub fn graph_term_knobs(&self) -> &'static [Knob] {
        match self.kind {
            // Every graph knob but the last, `--cold-neighbours`.
            ModelKind::Cke => &CKE_GRAPH_KNOBS[..CKE_GRAPH_KNOBS.len() - 1],
            _ => self.graph_knobs(),
        }
    }

    /// The knobs that weigh or shape the graph's part of the model: they change nothing when
    /// no linked item is in a graph.
    pub fn graph_knobs(&self) -> &'static [Knob] {
        match self.kind {
            ModelKind::Cke => CKE_GRAPH_KNOBS,
            ModelKind::KgEase => &[
                Knob::KgWeight,
                Knob::IdfPower,
                Knob::ColdPlacement,
                Knob::TwoHop,
                Knob::RelationBalance,
                Knob::GraphPrior,
            ],
            ModelKind::Svd | ModelKind::SvdPp => &[Knob::KgWeight, Knob::Neighbours],
            ModelKind::Ncf => &[Knob::KgWeight],
            _ => &[],
        }
    }
}

/// `cke`'s graph knobs; `--cold-neighbours` stays last: [`Learner::graph_term_knobs`] is the
/// others.
const CKE_GRAPH_KNOBS: &[Knob] = &[
    Knob::KgWeight,
    Knob::NeighbourWeight,
    Knob::Attention,
    Knob::ColdScale,
    Knob::ColdNeighbours,
];

/// How a learner uses the feedback stored with each interaction ([`InteractionMatrix`] carries
/// every pair's rating and count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feedback {
    /// Every interaction is a positive of weight 1; ratings and counts are not read.
    Binary,
    /// Every interaction is a positive of confidence `1 + α·r`, `r` 1 or made of the pair's
    /// stored rating or count as `--confidence` says ([`crate::cf::Weighting`]).
    Confidence,
    /// The stored ratings are the targets (interactions without one are not learnt from).
    Explicit,
}

impl Feedback {
    /// How `models` and `--help` say it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Binary => "binary",
            Self::Confidence => "confidence 1 + alpha*r (r: --confidence binary, rating or count)",
            Self::Explicit => "explicit ratings",
        }
    }
}

/// The registry, the default learner first.
pub static LEARNERS: [Learner; 15] = [
    cke::LEARNER,
    factors::ALS,
    factors::BPR,
    pop::LEARNER,
    graph_embedding::TRANSE,
    graph_embedding::ROTATE,
    graph_embedding::TRANSR,
    ease::EASE,
    ease::KG_EASE,
    knn::ITEM_KNN,
    knn::USER_KNN,
    rating::SVD,
    rating::SVDPP,
    tfidf::TFIDF,
    ncf::LEARNER,
];

/// The learner a `--model` spelling names.
pub fn learner(name: &str) -> Option<&'static Learner> {
    LEARNERS
        .iter()
        .find(|l| l.name == name || l.aliases.contains(&name))
}

/// The `--model` names of the learners that recommend (not the graph embeddings).
pub fn recommender_names() -> Vec<&'static str> {
    LEARNERS
        .iter()
        .filter(|l| l.recommender)
        .map(|l| l.name)
        .collect()
}

/// The `--model` names of the learners whose models say which items are like an item (item
/// vectors or item neighbours): every recommender but popularity and user-kNN.
pub fn similar_names() -> Vec<&'static str> {
    LEARNERS
        .iter()
        .filter(|l| l.recommender && !matches!(l.kind, ModelKind::Popularity | ModelKind::UserKnn))
        .map(|l| l.name)
        .collect()
}

/// The `--model` names of the recommenders that read the knowledge graph.
pub fn graph_reader_names() -> Vec<&'static str> {
    LEARNERS
        .iter()
        .filter(|l| l.recommender && l.kind.reads_graph())
        .map(|l| l.name)
        .collect()
}

/// The `--model` names of the learners that predict ratings.
pub fn rating_names() -> Vec<&'static str> {
    LEARNERS
        .iter()
        .filter(|l| l.feedback == Feedback::Explicit)
        .map(|l| l.name)
        .collect()
}

/// The `--model` spellings, registry order.
pub fn names() -> Vec<&'static str> {
    LEARNERS.iter().map(|l| l.name).collect()
}

/// What a fit reads: the interaction store as of the fit, its matrix, what it needs of the
/// graph and every item's linked entity ([`crate::serving::item_entities`]). All of it is read
/// out of the data directory first, so the fit itself runs without holding the directory.
#[derive(Debug, Clone, Copy)]
pub struct TrainInput<'a> {
    /// The interaction store.
    pub snapshot: &'a Snapshot,
    /// Its implicit-feedback matrix.
    pub matrix: &'a InteractionMatrix,
    /// The graph, as far as the learner reads it.
    pub graph: &'a GraphData,
    /// Every item's entity, by dense item id.
    pub item_entity: &'a [Option<EntityId>],
    /// Who trains: the commands the notes name for a missing graph or links.
    pub caller: crate::interactions::Caller,
}

impl TrainInput<'_> {
    /// The items bound to the graph: their links and the entity-to-entity triples.
    pub(crate) fn item_graph(&self) -> crate::fused::ItemGraph {
        let counts = self.graph.counts;
        let graph = crate::fused::ItemGraph::new(
            counts.entities as usize,
            counts.relations as usize,
            self.graph.triples.clone(),
            self.item_entity.to_vec(),
        );
        match self.graph.item_texts.is_empty() {
            true => graph,
            false => graph.with_terms(crate::content::item_terms(&self.graph.item_texts)),
        }
    }
}

/// What learners read of the graph index, copied out of it.
#[derive(Debug, Clone, Default)]
pub struct GraphData {
    /// The committed counts.
    pub counts: kgrec_kg::GraphCounts,
    /// Every entity-to-entity triple (empty when the learner does not read the graph).
    pub triples: Vec<kgrec_kg::Triple>,
    /// Entity IRIs by id (graph-embedding learners only).
    pub entity_iris: Vec<String>,
    /// Relation IRIs by id (graph-embedding learners only).
    pub relation_iris: Vec<String>,
    /// Every entity's best label, by id (`tfidf` only: [`GraphData::read_texts`]).
    pub labels: Vec<Option<String>>,
    /// The text literals of every item's entity, by dense item id (`tfidf` only).
    pub item_texts: Vec<Vec<kgrec_kg::text::Text>>,
}

impl GraphData {
    /// Reads what learner `kind` needs of `index`.
    pub fn read(index: &GraphIndex, kind: ModelKind) -> Result<Self> {
        let mut data = Self {
            counts: index.counts()?,
            ..Self::default()
        };
        match kind {
            ModelKind::Cke
            | ModelKind::KgEase
            | ModelKind::Svd
            | ModelKind::SvdPp
            | ModelKind::Ncf => data.triples = index.triples()?,
            ModelKind::TransE | ModelKind::RotatE | ModelKind::TransR => {
                data.triples = index.triples()?;
                data.entity_iris = index.entity_iris()?;
                data.relation_iris = index.relation_iris()?;
            }
            ModelKind::Als
            | ModelKind::Bpr
            | ModelKind::Popularity
            | ModelKind::Ease
            | ModelKind::ItemKnn
            | ModelKind::UserKnn
            // Serving `tfidf` reads nothing of the graph; its fit reads it with the text.
            | ModelKind::Tfidf => {}
        }
        Ok(data)
    }

    /// Reads the labels of every entity and the text literals of every linked item's entity
    /// (`item_entity`, by dense item id) out of `kg`, and the triples if not read yet, for a
    /// fit that needs them.
    pub fn read_texts(
        &mut self,
        kg: &kgrec_kg::KgStore,
        item_entity: &[Option<EntityId>],
    ) -> Result<()> {
        if self.triples.is_empty() {
            self.triples = kg.index().triples()?;
        }
        self.labels = kg.index().labels()?;
        let linked: Vec<EntityId> = item_entity.iter().flatten().copied().collect();
        let mut texts = kg.texts_of(&linked)?.into_iter();
        self.item_texts = item_entity
            .iter()
            .map(|e| match e {
                Some(_) => texts.next().unwrap_or_default(),
                None => Vec::new(),
            })
            .collect();
        Ok(())
    }
}

/// A fitted model in its stored form, with what the fit wants the user told.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The header (version 0 until written).
    pub header: ModelHeader,
    /// The named arrays, in storage order.
    pub arrays: Vec<(String, Vec<f32>)>,
    /// Remarks for the user (e.g. "no item is linked: cke trains as plain ALS").
    pub notes: Vec<String>,
}

/// The data directory as serving sees it now, to bind a stored model to.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    /// The interaction store.
    pub snapshot: &'a Snapshot,
    /// Its matrix.
    pub matrix: &'a InteractionMatrix,
    /// The graph as far as the learner reads it ([`GraphData::read`]).
    pub graph: &'a GraphData,
    /// Every item's entity, by dense item id.
    pub item_entity: &'a [Option<EntityId>],
}

/// A stored model made servable.
#[derive(Debug)]
pub enum Loaded {
    /// A recommender.
    Recommender(Box<dyn Recommender>),
    /// Graph embeddings alone (not a recommender).
    Embeddings(kgrec_kg::embed::KgeModel),
}

/// Makes a stored version servable through its learner's loader.
pub fn load(stored: StoredModel, binding: &Binding<'_>) -> Result<Loaded> {
    (stored.header.kind.learner().load)(stored, binding)
}

/// A header for a model fitted now.
pub(crate) fn new_header(kind: ModelKind, params: String, seed: u64) -> ModelHeader {
    ModelHeader {
        version: 0,
        kind,
        params,
        seed,
        fingerprint: 0,
        created_unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        users: 0,
        items: 0,
        interactions: 0,
        dim: 0,
        epochs: 0,
        final_loss: None,
        fit_seconds: 0.0,
        metrics: Vec::new(),
        arrays: Vec::new(),
    }
}

/// What a learner fitted in one pass (no epochs, no factor dimension) hands back: its
/// parameters as stored, its arrays and notes, for [`one_pass`] to head.
pub(crate) struct OnePass {
    pub params: String,
    pub arrays: Vec<(String, Vec<f32>)>,
    pub notes: Vec<String>,
}

/// The skeleton the one-pass learners share (pop, ease, kg-ease, the kNNs, tfidf): `fit`,
/// timed, its result headed as a `kind` model fitted with `seed` on `input`.
pub(crate) fn one_pass(
    kind: ModelKind,
    seed: u64,
    input: &TrainInput<'_>,
    fit: impl FnOnce() -> Result<OnePass>,
) -> Result<Trained> {
    let start = std::time::Instant::now();
    let OnePass {
        params,
        arrays,
        notes,
    } = fit()?;
    Ok(Trained {
        header: trained_header(kind, params, seed, input, None, start, 0),
        arrays,
        notes,
    })
}

/// The header of a recommender fitted on `input`: its sizes and fingerprint, the last epoch's
/// number and loss, the time since `start`.
pub(crate) fn trained_header(
    kind: ModelKind,
    params: String,
    seed: u64,
    input: &TrainInput<'_>,
    last: Option<EpochReport>,
    start: std::time::Instant,
    dim: usize,
) -> ModelHeader {
    let mut header = new_header(kind, params, seed);
    header.dim = dim as u64;
    header.epochs = last.map_or(0, |r| r.epoch as u64);
    header.final_loss = last.map(|r| r.loss);
    header.fit_seconds = start.elapsed().as_secs_f64();
    header.fingerprint = input.snapshot.fingerprint;
    header.users = input.matrix.n_users() as u64;
    header.items = input.matrix.n_items() as u64;
    header.interactions = input.matrix.nnz() as u64;
    header
}

/// The `--confidence` value given, if any (a spelling [`crate::cf::Value::parse`] refuses is
/// a bad input).
pub(crate) fn confidence(o: &Overrides) -> Result<Option<crate::cf::Value>> {
    o.confidence
        .as_deref()
        .map(|v| {
            crate::cf::Value::parse(v).ok_or_else(|| {
                Error::BadInput(format!(
                    "--confidence {v}: expected {}",
                    crate::cf::Value::NAMES.join(", ")
                ))
            })
        })
        .transpose()
}

/// The weighting of `value` on the training data `input` (the matrix's stored feedback and the
/// declared rating scale), and the matrix weighed by it (borrowed when binary).
pub(crate) fn weigh<'a>(
    value: crate::cf::Value,
    input: &TrainInput<'a>,
) -> (
    crate::cf::Weighting,
    std::borrow::Cow<'a, InteractionMatrix>,
) {
    let w = crate::cf::Weighting::resolve(value, input.matrix, input.snapshot.scale);
    let m = match w.is_binary() {
        true => std::borrow::Cow::Borrowed(input.matrix),
        false => std::borrow::Cow::Owned(input.matrix.weighted(&w)),
    };
    (w, m)
}

/// Parameters as the header's JSON.
pub(crate) fn params_json(params: &impl Serialize) -> Result<String> {
    serde_json::to_string(params).map_err(|e| Error::Internal {
        what: format!("model parameters do not serialise: {e}"),
    })
}

/// Takes the array `name` out of a stored model's arrays.
pub(crate) fn take(arrays: &mut Vec<(String, Vec<f32>)>, name: &str) -> Option<Vec<f32>> {
    arrays
        .iter()
        .position(|(n, _)| n == name)
        .map(|k| arrays.swap_remove(k).1)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cke_graph_terms_are_its_graph_knobs_but_the_nearest_items_rule() {
        let cke = learner("cke").unwrap();
        let terms = cke.graph_term_knobs();
        assert!(!terms.contains(&Knob::ColdNeighbours));
        assert!(terms.contains(&Knob::ColdScale));
        assert_eq!(terms.len() + 1, cke.graph_knobs().len());
        assert!(terms.iter().all(|k| cke.graph_knobs().contains(k)));
        let kg_ease = learner("kg-ease").unwrap();
        assert_eq!(kg_ease.graph_term_knobs(), kg_ease.graph_knobs());
    }

    #[test]
    fn every_kind_has_one_entry_and_names_are_unique() {
        for kind in [
            ModelKind::Als,
            ModelKind::Bpr,
            ModelKind::Popularity,
            ModelKind::Cke,
            ModelKind::TransE,
            ModelKind::RotatE,
            ModelKind::TransR,
            ModelKind::Ease,
            ModelKind::KgEase,
            ModelKind::ItemKnn,
            ModelKind::UserKnn,
            ModelKind::Svd,
            ModelKind::SvdPp,
            ModelKind::Tfidf,
            ModelKind::Ncf,
        ] {
            assert_eq!(LEARNERS.iter().filter(|l| l.kind == kind).count(), 1);
            assert_eq!(learner(kind.name()).unwrap().kind, kind);
        }
        let mut names = names();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), LEARNERS.len());
        assert_eq!(learner("popularity").unwrap().kind, ModelKind::Popularity);
    }

    #[test]
    fn specs_apply_knobs_and_refuse_foreign_ones() {
        let o = Overrides {
            dim: Some(8),
            reg: Some(1.5),
            ..Overrides::default()
        };
        let spec = ModelSpec::new("als", &o).unwrap();
        assert_eq!(spec.kind(), ModelKind::Als);
        let json = serde_json::to_string(&spec).unwrap();
        assert!(json.contains(r#""model":"als""#), "{json}");
        assert_eq!(serde_json::from_str::<ModelSpec>(&json).unwrap(), spec);

        let lr = Overrides {
            lr: Some(0.1),
            ..Overrides::default()
        };
        let err = ModelSpec::new("als", &lr).unwrap_err().to_string();
        assert_eq!(err, "--lr does not apply to --model als");
        let err = ModelSpec::new("pop", &o).unwrap_err().to_string();
        assert_eq!(err, "--dim does not apply to --model pop");
        assert!(ModelSpec::new("no-such-model", &Overrides::default()).is_err());
        assert_eq!(ModelSpec::default().kind(), ModelKind::Cke);
    }
}
