//! The knowledge-aware learner (`cke`, the default): implicit ALS fused with TransE embeddings
//! of the linked entities, priors towards the entity and the nearest items in the graph, optional
//! relation attention (`crate::fused`, maths in `docs/model.md`). Stored as the arrays `users`,
//! `offsets`, `entities`, `relations`, `keys` and `beta`; served bound to the data directory's
//! graph and links as they are when it is loaded, folding in users who arrived after training.

use crate::interactions::Caller;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use super::{
    Binding, Feedback, Knob, Learner, Loaded, ModelKind, ModelSpec, Overrides, TrainInput, Trained,
    apply, params_json, take, trained_header,
};
use crate::cf::{Basis, EpochReport, FoldIn, Recommender, ScoreParts, UserRow};
use crate::error::{Error, Result};
use crate::fused::{Attention, Fused, FusedParams, FusedParts, ItemGraph};
use crate::ids::{ItemId, UserId};
use crate::store::{ModelHeader, StoreError, StoredModel};

pub(super) const LEARNER: Learner = Learner {
    name: "cke",
    aliases: &[],
    kind: ModelKind::Cke,
    about: "The knowledge-aware model (default): implicit ALS fused with TransE graph embeddings, \
            priors towards each item's entity and its nearest items in the graph, optional \
            relation attention (--attention; default none); without a graph or links it is ALS",
    knobs: &[
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
    ],
    recommender: true,
    feedback: Feedback::Confidence,
    space: super::space::CKE,
    cold_space: super::space::CKE_COLD,
    spec,
    load,
};

fn spec(o: &Overrides) -> Result<ModelSpec> {
    let mut p = FusedParams::default();
    p = apply(p, o.dim, FusedParams::factors);
    p = apply(p, o.epochs, FusedParams::iterations);
    p = apply(p, o.reg, FusedParams::regularization);
    p = apply(p, o.alpha, FusedParams::alpha);
    p = apply(p, super::confidence(o)?, FusedParams::confidence);
    p = apply(p, o.kg_weight, FusedParams::kg_weight);
    p = apply(p, o.neighbour_weight, FusedParams::neighbour_weight);
    p = apply(p, o.cold_scale, FusedParams::cold_scale);
    p = apply(p, o.cold_neighbours, FusedParams::cold_neighbours);
    if o.cold_scale.is_some() && o.cold_neighbours.is_some() {
        return Err(Error::BadInput(
            "--cold-neighbours places cold items only without --cold-scale; give one".to_owned(),
        ));
    }
    if let Some(a) = &o.attention {
        let mode = Attention::parse(a).ok_or_else(|| {
            Error::BadInput(format!(
                "--attention {a}: expected none, uniform or learned"
            ))
        })?;
        p = p.attention(mode);
    }
    Ok(ModelSpec::Cke(p))
}

pub(super) fn fit(
    p: &FusedParams,
    input: &TrainInput<'_>,
    seed: u64,
    progress: &mut dyn FnMut(&EpochReport),
    cancel: &AtomicBool,
) -> Result<Trained> {
    let start = Instant::now();
    let graph = input.item_graph();
    let mut notes = Vec::new();
    if graph.n_linked() == 0 || graph.triples().is_empty() {
        notes.push(plain_als_note(
            input.snapshot.links.iter().flatten().count(),
            graph.triples().is_empty(),
            input.caller,
        ));
    } else if !p.uses_graph()
        && let Some(s) = p.cold_scale.filter(|s| *s > 0.0)
    {
        notes.push(format!(
            "--cold-scale {s} with --kg-weight 0 --neighbour-weight 0: the entity embeddings it \
             scales are trained only by the graph's terms, so linked items without interactions \
             stay unranked (without --cold-scale they are placed at their nearest items)"
        ));
    }
    let (weighting, matrix) = super::weigh(p.confidence, input);
    let p = FusedParams {
        confidence: weighting.value,
        rating_range: weighting.range,
        ..p.clone()
    };
    let mut last: Option<EpochReport> = None;
    let fitted = p.fit_cancellable(
        &matrix,
        &graph,
        seed,
        |r| {
            last = Some(*r);
            progress(r);
        },
        cancel,
    )?;
    let header = trained_header(
        ModelKind::Cke,
        params_json(&fitted.params)?,
        seed,
        input,
        last,
        start,
        fitted.params.factors,
    );
    let parts = fitted.to_parts();
    let arrays = vec![
        ("users".to_owned(), parts.users),
        ("offsets".to_owned(), parts.offsets),
        ("entities".to_owned(), parts.entities),
        ("relations".to_owned(), parts.relations),
        ("keys".to_owned(), parts.keys),
        ("beta".to_owned(), vec![parts.beta]),
    ];
    Ok(Trained {
        header,
        arrays,
        notes,
    })
}

/// The tables of a stored `cke` version, checked against its header.
pub(super) fn decode(
    header: &ModelHeader,
    mut arrays: Vec<(String, Vec<f32>)>,
) -> Result<FusedParts, StoreError> {
    let bad = |detail: &str| StoreError::corruption(format!("model v{}", header.version), detail);
    let mut get =
        |name: &str| take(&mut arrays, name).ok_or_else(|| bad(&format!("no {name} array")));
    let parts = FusedParts {
        dim: header.dim as usize,
        users: get("users")?,
        offsets: get("offsets")?,
        entities: get("entities")?,
        relations: get("relations")?,
        keys: get("keys")?,
        beta: match get("beta")?.as_slice() {
            [b] => *b,
            _ => return Err(bad("beta is not one value")),
        },
    };
    let d = parts.dim.max(1);
    let rows = |v: &[f32]| v.len() / d;
    if parts.dim == 0
        || [
            &parts.users,
            &parts.offsets,
            &parts.entities,
            &parts.relations,
            &parts.keys,
        ]
        .iter()
        .any(|v| !v.len().is_multiple_of(d))
        || rows(&parts.users) as u64 != header.users
        || rows(&parts.offsets) as u64 != header.items
        || rows(&parts.keys) != 2 * rows(&parts.relations)
    {
        return Err(bad("the tables do not match the header's sizes"));
    }
    Ok(parts)
}

/// A stored `cke` version bound to the graph index as it is now: the items' links and the
/// triples; entities the graph gained after training are left out of its neighbourhoods.
pub(super) fn bind(stored: StoredModel, binding: &Binding<'_>) -> Result<Fused> {
    let StoredModel { header, arrays } = stored;
    let params: FusedParams = serde_json::from_str(&header.params)
        .map_err(|e| StoreError::corruption(format!("model v{} parameters", header.version), e))?;
    let parts = decode(&header, arrays)?;
    let d = parts.dim.max(1);
    let (n_entities, n_relations) = (parts.entities.len() / d, parts.relations.len() / d);
    let counts = binding.graph.counts;
    let mut item_entity: Vec<_> = binding
        .item_entity
        .iter()
        .take(header.items as usize)
        .copied()
        .collect();
    item_entity.resize(header.items as usize, None);
    let graph = ItemGraph::new(
        n_entities.min(counts.entities as usize),
        n_relations.min(counts.relations as usize),
        binding.graph.triples.clone(),
        item_entity,
    );
    Fused::from_parts(parts, params, graph)
        .map_err(|e| StoreError::corruption(format!("model v{}", header.version), e).into())
}

fn load(stored: StoredModel, binding: &Binding<'_>) -> Result<Loaded> {
    let fused = bind(stored, binding)?;
    let degrees = binding.matrix.item_degrees();
    let has_positives: Vec<bool> = (0..fused.n_items())
        .map(|i| degrees.get(i).is_some_and(|&c| c > 0))
        .collect();
    let fold = fused.fold_in_solver(&has_positives);
    Ok(Loaded::Recommender(Box::new(ServedCke { fused, fold })))
}

/// A `cke` model as served: folds in users who arrived after training.
#[derive(Debug)]
pub(crate) struct ServedCke {
    pub(crate) fused: Fused,
    fold: FoldIn,
}

impl Recommender for ServedCke {
    fn n_users(&self) -> usize {
        self.fused.n_users()
    }

    fn n_items(&self) -> usize {
        self.fused.n_items()
    }

    fn score_items(&self, user: UserId, out: &mut [f32]) {
        self.fused.score_items(user, out);
    }

    fn score_user(&self, user: UserRow<'_>, out: &mut [f32]) -> Basis {
        self.fold.score(
            self.n_users(),
            user,
            out,
            |u, o| self.fused.score_items(u, o),
            |x, o| self.fused.score_vector(x, o),
        )
    }

    fn score_parts(&self, user: UserId, item: ItemId) -> ScoreParts {
        self.fused.split(user, item)
    }

    fn score_parts_user(&self, user: UserRow<'_>, item: ItemId) -> ScoreParts {
        if user.user.index() < self.n_users() || user.items.is_empty() {
            return self.fused.split(user.user, item);
        }
        self.fused
            .split_vector(&self.fold.solve(&self.fold.positives(user)), item)
    }

    fn fused(&self) -> Option<&Fused> {
        Some(&self.fused)
    }

    fn item_blank(&self, item: ItemId) -> bool {
        self.fused.item_blank(item.index())
    }

    fn has_graph_part(&self) -> bool {
        self.fused.params.uses_graph()
    }
}

/// Why cke has no graph to learn from, and what would give it one: `linked` items carry a
/// link; the graph has no entity-to-entity edge when `no_graph`.
fn plain_als_note(linked: usize, no_graph: bool, caller: Caller) -> String {
    format!(
        "{}; cke trains as plain ALS",
        graph_absence(linked, no_graph, caller)
    )
}

/// Why a learner has no graph to learn from, and what would give it one (see
/// [`plain_als_note`]), naming `caller`'s commands.
pub(super) fn graph_absence(linked: usize, no_graph: bool, caller: Caller) -> String {
    match (linked, no_graph) {
        (0, true) => format!(
            "there is no knowledge graph and no item is linked (import a graph with {} and \
             links with {})",
            caller.graph_remedy(),
            caller.links_remedy()
        ),
        (n, true) => format!(
            "{n} items are linked, but the knowledge graph has no edges (import it with {})",
            caller.graph_remedy()
        ),
        (0, false) => format!(
            "no item is linked to the knowledge graph (link items to its entities with {})",
            caller.any_links_remedy()
        ),
        (n, false) => format!(
            "none of the {n} linked items is an entity of the knowledge graph with edges (check \
             the links' IRIs against the graph: `kgrec sparql`)"
        ),
    }
}
