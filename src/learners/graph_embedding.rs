//! Graph embeddings of the data directory's own graph (`transe`, `rotate`, `transr`): every
//! entity-to-entity triple of the graph index trains (no validation split), with the tuned
//! defaults of `docs/kge-notes.md`. Not recommenders: the versions are kept for
//! `export embeddings`. Stored as the arrays `entities`, `relations` (and TransR's
//! `projection`), rows in the graph index's id order; the header's `params` hold the
//! `meta.json` fields and the full settings.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use kgrec_kg::embed::{
    Dataset, KgeModel, KgeParams, Matrix, Meta, ModelKind as KgeKind, Norm, RowConstraint,
    RunError, Vocab,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{
    Binding, Feedback, Knob, Learner, Loaded, ModelKind, ModelSpec, Overrides, TrainInput, Trained,
    apply, new_header, params_json, take,
};
use crate::cf::EpochReport;
use crate::error::{Error, Result};
use crate::store::{ModelHeader, StoreError, StoredModel};

const KNOBS: &[Knob] = &[Knob::Dim, Knob::Epochs, Knob::Lr];

pub(super) const TRANSE: Learner = Learner {
    name: "transe",
    aliases: &[],
    kind: ModelKind::TransE,
    about: "TransE embeddings of the data directory's graph (`train` only; not a recommender)",
    knobs: KNOBS,
    recommender: false,
    feedback: Feedback::Binary,
    space: super::space::NONE,
    cold_space: super::space::NONE,
    spec: |o| Ok(ModelSpec::Transe(GraphEmbeddingSpec::from(o))),
    load,
};

pub(super) const ROTATE: Learner = Learner {
    name: "rotate",
    aliases: &[],
    kind: ModelKind::RotatE,
    about: "RotatE embeddings of the data directory's graph (`train` only; not a recommender)",
    knobs: KNOBS,
    recommender: false,
    feedback: Feedback::Binary,
    space: super::space::NONE,
    cold_space: super::space::NONE,
    spec: |o| Ok(ModelSpec::Rotate(GraphEmbeddingSpec::from(o))),
    load,
};

pub(super) const TRANSR: Learner = Learner {
    name: "transr",
    aliases: &[],
    kind: ModelKind::TransR,
    about: "TransR embeddings of the data directory's graph (`train` only; not a recommender)",
    knobs: KNOBS,
    recommender: false,
    feedback: Feedback::Binary,
    space: super::space::NONE,
    cold_space: super::space::NONE,
    spec: |o| Ok(ModelSpec::Transr(GraphEmbeddingSpec::from(o))),
    load,
};

/// What `train --model transe|rotate|transr` changes of the tuned defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GraphEmbeddingSpec {
    /// Entity dimension.
    pub dim: Option<usize>,
    /// Most epochs.
    pub epochs: Option<usize>,
    /// Adam learning rate.
    pub lr: Option<f32>,
}

impl From<&Overrides> for GraphEmbeddingSpec {
    fn from(o: &Overrides) -> Self {
        Self {
            dim: o.dim,
            epochs: o.epochs,
            lr: o.lr,
        }
    }
}

/// Hyper-parameters of a graph embedding beyond the tuned defaults (`kge train`'s flags).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KgeKnobs {
    /// Entity dimension (RotatE: complex coordinates).
    pub dim: Option<usize>,
    /// TransR: relation-space dimension.
    pub rel_dim: Option<usize>,
    /// Most epochs.
    pub epochs: Option<usize>,
    /// Negative entities per positive.
    pub negatives: Option<usize>,
    /// Positives per mini-batch.
    pub batch_size: Option<usize>,
    /// Adam learning rate.
    pub lr: Option<f32>,
    /// Self-adversarial loss with this margin γ.
    pub gamma: Option<f32>,
    /// Margin-ranking loss with this margin.
    pub margin: Option<f32>,
    /// TransE/TransR distance norm, 1 or 2.
    pub norm: Option<u8>,
}

/// The tuned defaults of graph-embedding model `model` (`transe`, `rotate`, `transr`) with
/// `knobs` applied; a knob the model has no use for is refused.
pub fn kge_params(model: &str, knobs: &KgeKnobs) -> Result<KgeParams> {
    kge_params_for(model, knobs, 0)
}

/// [`kge_params`] for a graph of `entities` entities: the defaults scale with it
/// ([`KgeParams::tuned_for`]); flags still win.
pub fn kge_params_for(model: &str, knobs: &KgeKnobs, entities: usize) -> Result<KgeParams> {
    let bad = |flag: &str| {
        Err(Error::BadInput(format!(
            "{flag} does not apply to --model {model}"
        )))
    };
    let mut p = KgeParams::tuned_for(model, entities)
        .ok_or_else(|| Error::BadInput(format!("--model {model}: no such model")))?;
    if let Some(d) = knobs.dim {
        p = p.dim(d);
    }
    if let Some(r) = knobs.rel_dim {
        if model != "transr" {
            return bad("--rel-dim");
        }
        p = p.rel_dim(r);
    }
    p = apply(p, knobs.epochs, KgeParams::epochs);
    p = apply(p, knobs.negatives, KgeParams::negatives);
    p = apply(p, knobs.batch_size, KgeParams::batch_size);
    p = apply(p, knobs.lr, KgeParams::adam);
    if let Some(g) = knobs.gamma {
        p = p.self_adversarial(g, 1.0);
    }
    if let Some(m) = knobs.margin {
        p = p.margin(m);
        if model == "transe" {
            // Bordes et al.'s margin training keeps entities on the unit sphere.
            p = p.entity_constraint(RowConstraint::UnitSphere);
        }
    }
    if let Some(n) = knobs.norm {
        if model == "rotate" {
            return bad("--norm");
        }
        let norm = Norm::from_p(u64::from(n))
            .ok_or_else(|| Error::BadInput(format!("--norm {n}: expected 1 or 2")))?;
        p = p.norm(norm);
    }
    Ok(p)
}

/// The hyper-parameters and shape a stored graph embedding keeps in its header: the `meta.json`
/// fields (which loading reads back) and the full settings.
#[derive(Debug, Serialize)]
struct StoredParams<'a> {
    #[serde(flatten)]
    meta: Meta,
    hyper: &'a KgeParams,
}

/// The data directory's graph as a training set: the index's IRIs as dictionaries.
fn graph_dataset(input: &TrainInput<'_>) -> Result<Dataset> {
    let graph = input.graph;
    let triples = graph.triples.clone();
    if triples.is_empty() {
        return Err(Error::BadInput(
            "the knowledge graph has no entity-to-entity triples to embed; import one with \
             `kgrec import kg FILE`"
                .to_owned(),
        ));
    }
    let duplicate = |what: &str| Error::Corruption {
        what: format!("the {what} dictionary holds an IRI twice"),
    };
    let entities =
        Vocab::from_tokens(graph.entity_iris.clone()).ok_or_else(|| duplicate("entity"))?;
    let relations =
        Vocab::from_tokens(graph.relation_iris.clone()).ok_or_else(|| duplicate("relation"))?;
    Ok(
        Dataset::with_vocabs(entities, relations, triples, Vec::new(), Vec::new())
            .map_err(RunError::from)?,
    )
}

pub(super) fn fit(
    kind: ModelKind,
    spec: &GraphEmbeddingSpec,
    input: &TrainInput<'_>,
    seed: u64,
    progress: &mut dyn FnMut(&EpochReport),
    cancel: &AtomicBool,
) -> Result<Trained> {
    let knobs = KgeKnobs {
        dim: spec.dim,
        epochs: spec.epochs,
        lr: spec.lr,
        ..KgeKnobs::default()
    };
    let params = kge_params(kind.name(), &knobs)?.validate_every(0);
    let checked = params.clone().check().map_err(RunError::from)?;
    let data = graph_dataset(input)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let start = Instant::now();
    let fitted = checked
        .fit_cancellable(&data, &mut rng, &mut |e: &EpochReport| progress(e), cancel)
        .map_err(RunError::from)?;
    let stored = StoredParams {
        meta: Meta::of(&fitted.model),
        hyper: &params,
    };
    let mut header = new_header(kind, params_json(&stored)?, seed);
    header.dim = fitted.model.dim() as u64;
    header.epochs = fitted.epochs.len() as u64;
    header.final_loss = fitted.epochs.last().map(|e| e.loss);
    header.fit_seconds = start.elapsed().as_secs_f64();
    let arrays = kge_arrays(&fitted.model);
    let notes = vec![format!(
        "{} is a graph embedding, not a recommender: `kgrec export embeddings --out DIR` writes \
         it, and it never becomes the model `recommend` serves ({} entities, {} relations, {} \
         triples)",
        kind.name(),
        data.num_entities(),
        data.num_relations(),
        data.train.len()
    )];
    Ok(Trained {
        header,
        arrays,
        notes,
    })
}

/// The stored arrays of graph embeddings: `entities`, `relations` (and TransR's `projection`).
fn kge_arrays(model: &KgeModel) -> Vec<(String, Vec<f32>)> {
    let mut arrays = vec![
        (
            "entities".to_owned(),
            model.entity_matrix().as_slice().to_vec(),
        ),
        (
            "relations".to_owned(),
            model.relation_matrix().as_slice().to_vec(),
        ),
    ];
    if let Some(p) = model.projection_matrix() {
        arrays.push(("projection".to_owned(), p.as_slice().to_vec()));
    }
    arrays
}

/// The embedding tables of a stored graph-embedding version.
pub(super) fn decode(
    header: &ModelHeader,
    mut arrays: Vec<(String, Vec<f32>)>,
) -> Result<KgeModel, StoreError> {
    let bad = |detail: &str| StoreError::corruption(format!("model v{}", header.version), detail);
    let meta: Meta =
        serde_json::from_str(&header.params).map_err(|e| bad(&format!("parameters: {e}")))?;
    let kind = meta
        .kind()
        .filter(|k| k.name() == header.kind.name())
        .ok_or_else(|| bad("the parameters do not describe the header's model"))?;
    let d = meta.dim;
    let (ent_w, rel_w, proj_w) = match kind {
        KgeKind::TransE { .. } => (d, d, 0),
        KgeKind::RotatE => (2 * d, d, 0),
        KgeKind::TransR { rel_dim, .. } => (d, rel_dim, rel_dim * d),
    };
    let mut matrix = |name: &str, width: usize| {
        let values = take(&mut arrays, name).ok_or_else(|| bad(&format!("no {name} array")))?;
        if width == 0 || !values.len().is_multiple_of(width) {
            return Err(bad(&format!("{name}: not rows of {width}")));
        }
        Matrix::from_vec(values.len() / width, width, values)
            .ok_or_else(|| bad(&format!("{name}: not rows of {width}")))
    };
    let entity = matrix("entities", ent_w)?;
    let relation = matrix("relations", rel_w)?;
    let projection = match proj_w {
        0 => None,
        w => Some(matrix("projection", w)?),
    };
    KgeModel::from_parts(kind, d, entity, relation, projection)
        .ok_or_else(|| bad("the embedding tables do not fit together"))
}

fn load(stored: StoredModel, _: &Binding<'_>) -> Result<Loaded> {
    Ok(Loaded::Embeddings(decode(&stored.header, stored.arrays)?))
}

/// The graph embeddings of a stored version: a graph-embedding version's own, or the `cke`
/// version's TransE-L2 half (`docs/model.md`); `None` for a model without any.
pub fn embeddings_of(stored: &StoredModel) -> Result<Option<KgeModel>> {
    let header = &stored.header;
    match header.kind {
        ModelKind::TransE | ModelKind::RotatE | ModelKind::TransR => {
            Ok(Some(decode(header, stored.arrays.clone())?))
        }
        ModelKind::Cke => {
            let parts = super::cke::decode(header, stored.arrays.clone())?;
            let d = parts.dim;
            let bad = || {
                Error::from(StoreError::corruption(
                    format!("model v{}", header.version),
                    "the entity and relation tables are not rows of the model's dimension",
                ))
            };
            if d == 0 {
                return Err(bad());
            }
            let entity = Matrix::from_vec(parts.entities.len() / d, d, parts.entities);
            let relation = Matrix::from_vec(parts.relations.len() / d, d, parts.relations);
            let (Some(entity), Some(relation)) = (entity, relation) else {
                return Err(bad());
            };
            KgeModel::from_parts(
                KgeKind::TransE { norm: Norm::L2 },
                d,
                entity,
                relation,
                None,
            )
            .map(Some)
            .ok_or_else(bad)
        }
        ModelKind::Als
        | ModelKind::Bpr
        | ModelKind::Popularity
        | ModelKind::Ease
        | ModelKind::KgEase
        | ModelKind::ItemKnn
        | ModelKind::UserKnn
        | ModelKind::Svd
        | ModelKind::SvdPp
        | ModelKind::Tfidf
        | ModelKind::Ncf => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn stored(model: &KgeModel, kind: ModelKind) -> StoredModel {
        let mut header = new_header(kind, serde_json::to_string(&Meta::of(model)).unwrap(), 1);
        header.dim = model.dim() as u64;
        StoredModel {
            header,
            arrays: kge_arrays(model),
        }
    }

    #[test]
    fn graph_embeddings_decode_and_a_foreign_header_is_corruption() {
        let m = |rows: usize, cols: usize, seed: f32| {
            let v = (0..rows * cols).map(|i| seed + i as f32 / 8.0).collect();
            Matrix::from_vec(rows, cols, v).unwrap()
        };
        let models = [
            (
                KgeModel::from_parts(
                    KgeKind::TransE { norm: Norm::L1 },
                    3,
                    m(5, 3, 0.0),
                    m(2, 3, 1.0),
                    None,
                ),
                ModelKind::TransE,
            ),
            (
                KgeModel::from_parts(KgeKind::RotatE, 3, m(5, 6, 2.0), m(2, 3, 3.0), None),
                ModelKind::RotatE,
            ),
            (
                KgeModel::from_parts(
                    KgeKind::TransR {
                        norm: Norm::L2,
                        rel_dim: 2,
                    },
                    3,
                    m(5, 3, 4.0),
                    m(2, 2, 5.0),
                    Some(m(2, 6, 6.0)),
                ),
                ModelKind::TransR,
            ),
        ];
        for (model, kind) in models {
            let model = model.unwrap();
            let s = stored(&model, kind);
            assert_eq!(decode(&s.header, s.arrays.clone()).unwrap(), model);
            assert_eq!(embeddings_of(&s).unwrap(), Some(model));
        }
        // A header whose parameters name another model is corruption, not a wrong model.
        let model =
            KgeModel::from_parts(KgeKind::RotatE, 3, m(5, 6, 2.0), m(2, 3, 3.0), None).unwrap();
        let s = stored(&model, ModelKind::TransE);
        assert!(matches!(
            decode(&s.header, s.arrays),
            Err(StoreError::Corruption { .. })
        ));
    }
}
