//! Explanations: why an item is recommended to a user. This module composes the user's history
//! (the interaction store), the served model (score parts, hop scores) and the graph (path
//! search in `kgrec_kg::paths`, labels from the graph index, triples from the RDF store).
//!
//! For each item: the model's score split into collaborative and graph parts, and up to N
//! relation paths from an item of the user's history to the item, at most H graph hops, ranked
//! by the model. Every step is checked before it is returned: the first against the user's
//! interactions and the item's link, every later one against the oxigraph store (the RDF the
//! user imported, not the projection the search walked); a path with a step that fails is
//! dropped, never shown.

mod render;
mod scorer;

pub use render::{
    Direction, ExplainedItem, ExplainedPath, Explanation, Node, PathStep, TextOptions,
    WEAK_PATH_SCORE, display_width, explanation_dot, explanation_text, four_places, pad_right,
    path_text, printable, relation_words, weak_paths_note,
};
pub use scorer::{FusedHops, MiddleIdf, distance_scale};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kgrec_kg::labels::{entity_label, iri_label};
use kgrec_kg::oxigraph::model::{NamedNodeRef, Term};
use kgrec_kg::oxigraph::store::Store;
use kgrec_kg::{
    EntityId, Facts, GraphIndex, GraphPath, HopScorer, KgError, LabelLangs, PathError, PathGraph,
    PathOptions, Projection, Specificity, Walk,
};

use crate::cf::{ScoreParts, Scored};
use crate::ids::{ItemId, UserId};
use crate::serving::{
    History, ListSource, RankedList, Served, item_name, rank_user, readable_name,
};

/// Why an explanation could not be given.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExplainError {
    /// The user is not in the interaction store.
    #[error("unknown user {user:?}: the data directory has no interactions of this user{hint}")]
    UnknownUser {
        user: String,
        /// `; did you mean "0123"? ...` when a stored id looks like it, else empty.
        hint: String,
    },
    /// The item is not in the interaction store.
    #[error("unknown item {item:?}: the data directory has no such item{hint}")]
    UnknownItem {
        item: String,
        /// As for users.
        hint: String,
    },
    /// The item was stored after the served model was bound: the model knows nothing of it.
    #[error(
        "item {item:?} arrived after the served model was trained: it can be explained once a \
         training (a rebuild) includes it"
    )]
    NewItem { item: String },
    /// The path limits are out of range.
    #[error(transparent)]
    Path(#[from] PathError),
    /// Reading the graph index failed.
    #[error(transparent)]
    Kg(#[from] KgError),
    /// Reading the RDF store failed.
    #[error("graph store: {0}")]
    Store(#[from] kgrec_kg::oxigraph::store::StorageError),
    /// A stored id that points nowhere.
    #[error("corrupted data directory: {what}")]
    Corruption { what: String },
}

impl ExplainError {
    /// Whether the caller asked for something that is not there (exit code 2).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Self::UnknownUser { .. }
                | Self::UnknownItem { .. }
                | Self::NewItem { .. }
                | Self::Path(_)
        )
    }
}

/// How many paths, how long, through which entities, for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExplainOptions {
    /// Paths per item (0: score parts only).
    pub paths: usize,
    /// Graph hops per path after the history step (1..=3).
    pub hops: usize,
    /// Entities with more edges are never walked through (see `kgrec_kg::paths`).
    pub hub_degree: usize,
    /// How long the path search of one explanation may take, from its start; when it runs out,
    /// the paths found so far are given and the explanation is flagged `truncated`. `None`:
    /// no clock (the search is bounded by hops, hub degree and path counts alone).
    pub budget: Option<Duration>,
}

impl Default for ExplainOptions {
    fn default() -> Self {
        Self {
            paths: 3,
            hops: 3,
            hub_degree: PathOptions::default().hub_degree,
            budget: None,
        }
    }
}

/// Paths asked of the search beyond the ones shown, in case some fail the store check.
const SPARE_PATHS: usize = 4;

/// The graph side of explanations: the search graph, the relation IRIs and the RDF store the
/// steps are checked against. It depends on the graph alone, so it is built once per import of
/// the graph and shared by every model version and request.
pub struct PathIndex {
    index: GraphIndex,
    rdf: Store,
    graph: PathGraph,
    relations: Vec<String>,
    /// The relations' labels in the graph, by relation id (`None`: read from the IRI).
    relation_labels: Vec<Option<String>>,
}

impl std::fmt::Debug for PathIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PathIndex")
            .field("entities", &self.graph.n_entities())
            .field("relations", &self.relations.len())
            .finish_non_exhaustive()
    }
}

impl PathIndex {
    /// Builds the search graph from the graph index; `rdf` is the store the steps are checked
    /// against (`KgStore::rdf_store`).
    pub fn new(index: &GraphIndex, rdf: Store) -> Result<Self, ExplainError> {
        Ok(Self {
            graph: PathGraph::new(&Projection::from_index(index)?),
            relations: index.relation_iris()?,
            relation_labels: index.relation_labels()?,
            index: index.clone(),
            rdf,
        })
    }

    /// The search graph.
    pub fn graph(&self) -> &PathGraph {
        &self.graph
    }

    /// The graph's facts, for filters (`kgrec_kg::filter`).
    pub fn facts(&self) -> Facts<'_> {
        Facts {
            index: &self.index,
            graph: &self.graph,
            relations: &self.relations,
            rdf: &self.rdf,
        }
    }
}

/// Explanations of one served state: the path index and the model with its interaction
/// snapshot, both shared, so an explainer is cheap to make per request and can move between
/// threads.
#[derive(Clone)]
pub struct Explainer {
    paths: Arc<PathIndex>,
    served: Arc<Served>,
    /// TransE distance scale of a fused model.
    scale: f32,
    /// The languages labels are chosen in (`kgrec_kg::labels`).
    labels: LabelLangs,
}

impl std::fmt::Debug for Explainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Explainer")
            .field("paths", &self.paths)
            .field("items", &self.served.item_entity.len())
            .field("model", &self.served.model.header.kind)
            .finish_non_exhaustive()
    }
}

impl Explainer {
    /// Explanations of `served` over `paths`.
    pub fn new(paths: Arc<PathIndex>, served: Arc<Served>) -> Self {
        let scale = *served
            .explain_scale
            .get_or_init(|| served.model.fused().map_or(1.0, distance_scale));
        Self {
            paths,
            served,
            scale,
            labels: LabelLangs::default(),
        }
    }

    /// The same explainer with the labels of items, path entities and relations chosen in
    /// `labels` (read from the RDF store unless it is the default preference).
    pub fn with_labels(mut self, labels: LabelLangs) -> Self {
        self.labels = labels;
        self
    }

    /// The search graph.
    pub fn graph(&self) -> &PathGraph {
        &self.paths.graph
    }

    /// The dense id of a user named in the store (users new since binding included).
    pub fn user_id(&self, user: &str) -> Result<UserId, ExplainError> {
        self.served
            .user_id(user)
            .ok_or_else(|| ExplainError::UnknownUser {
                user: user.to_owned(),
                hint: crate::engine::lookalike_hint(user, self.served.matrix.users().names()),
            })
    }

    /// The dense id of an item named in the store (and known to the served model).
    pub fn item_id(&self, item: &str) -> Result<ItemId, ExplainError> {
        match self.served.matrix.item_id(item) {
            Some(id) => Ok(id),
            None if self.served.is_new_item(item) => Err(ExplainError::NewItem {
                item: item.to_owned(),
            }),
            None => Err(ExplainError::UnknownItem {
                item: item.to_owned(),
                hint: crate::engine::lookalike_hint(item, self.served.matrix.items().names()),
            }),
        }
    }

    /// The top-`k` list of a user (by name; a user the store does not know gets the popular
    /// items, with no paths) with its explanations: `recommend --explain`.
    pub fn recommend(
        &self,
        user: &str,
        k: usize,
        options: ExplainOptions,
    ) -> Result<Explanation, ExplainError> {
        self.recommend_excluding(user, k, options, &[])
    }

    /// [`Self::recommend`] never listing the sorted dense ids `exclude` (a batch's exclude list,
    /// retired items, a filter's complement).
    pub fn recommend_excluding(
        &self,
        user: &str,
        k: usize,
        options: ExplainOptions,
        exclude: &[u32],
    ) -> Result<Explanation, ExplainError> {
        let history = self.served.user_id(user).map(|u| self.served.history(u));
        let list = rank_user(
            self.served.model.recommender(),
            &self.served.matrix,
            history.as_ref().map(History::row),
            k,
            exclude,
            None,
        );
        self.explain_list(user, &list, options)
    }

    /// Explains a list ranked for `user` (by name), ranks 1, 2, ...
    pub fn explain_list(
        &self,
        user: &str,
        list: &RankedList,
        options: ExplainOptions,
    ) -> Result<Explanation, ExplainError> {
        let id = self.served.user_id(user);
        let ranked: Vec<(Scored, Option<usize>)> = list
            .items
            .iter()
            .enumerate()
            .map(|(r, s)| (*s, Some(r + 1)))
            .collect();
        self.explain(user, id, &ranked, list.source, options)
    }

    /// One item for one user, both named in the store: `explain --user --item`. The item's rank
    /// is its place in the user's full list (absent for an item of the user's own history).
    pub fn explain_item(
        &self,
        user: &str,
        item: &str,
        options: ExplainOptions,
    ) -> Result<Explanation, ExplainError> {
        let user_id = self.user_id(user)?;
        let item_id = self.item_id(item)?;
        let model = self.served.model.recommender();
        let history = self.served.history(user_id);
        let all = self.served.matrix.n_items();
        let list = rank_user(
            model,
            &self.served.matrix,
            Some(history.row()),
            all,
            &[],
            None,
        );
        let entry = match list.items.iter().position(|s| s.item == item_id) {
            Some(p) => (list.items[p], Some(p + 1)),
            None => {
                // On the basis the list is ranked on (and the parts are split on): a trained
                // user's history at training.
                let mut scores = vec![0.0; model.n_items()];
                match user_id.index() < model.n_users() {
                    true => model.score_items(user_id, &mut scores),
                    false => {
                        model.score_user(history.row(), &mut scores);
                    }
                }
                let score = scores.get(item_id.index()).copied().unwrap_or(0.0);
                (
                    Scored {
                        item: item_id,
                        score,
                    },
                    None,
                )
            }
        };
        self.explain(user, Some(user_id), &[entry], list.source, options)
    }

    /// Why no path can exist for `item`, when none can whatever the hop limit: no graph, an
    /// item not linked to it, a user with no interactions (unknown, or all removed) or none
    /// linked (`history`: the user's linked items by entity). `None` when a path could exist
    /// further than the hops searched.
    fn pathless_note(
        &self,
        user_items: &Option<History<'_>>,
        history: &HashMap<EntityId, ItemId>,
        item: ItemId,
    ) -> Option<String> {
        if self.paths.graph.n_entities() == 0 {
            return Some(
                "no path: the data directory holds no knowledge graph, so the score is the \
                 interactions' alone"
                    .to_owned(),
            );
        }
        if self.entity_of(item).is_none() {
            return Some("no path: the item has no link to the graph".to_owned());
        }
        if user_items.as_ref().is_none_or(|h| h.row().items.is_empty()) {
            return Some(
                "no path: the user has no interactions for a path to start from".to_owned(),
            );
        }
        if history.is_empty() {
            return Some("no path: none of the user's items has a link to the graph".to_owned());
        }
        // An item-to-item model's paths start only at history items that add to this one
        // (`B[j, item] > 0`): with none, no path is searched for, whatever the hops.
        if let Some(weights) = self.served.model.recommender().item_to_item()
            && !history
                .values()
                .any(|j| weights.weight(j.index(), item.index()) > 0.0)
        {
            return Some(format!(
                "no path: under {} none of the user's linked items adds to this one's score, so \
                 no path from them is a reason for it",
                self.served.model.header.kind.name()
            ));
        }
        None
    }

    /// Explains `list` (best first, as ranked for `user`; `ranks[i]` is the rank shown for
    /// `list[i]`, `None` for an item of the user's history). `user` is `None` for a user the
    /// store does not know (no history, so no paths). `source`: what the list rests on (the
    /// popularity fallback's scores have no graph part).
    pub fn explain(
        &self,
        user_name: &str,
        user: Option<UserId>,
        list: &[(Scored, Option<usize>)],
        source: ListSource,
        options: ExplainOptions,
    ) -> Result<Explanation, ExplainError> {
        let path_options = PathOptions {
            max_hops: options.hops,
            hub_degree: options.hub_degree,
            limit: options.paths + SPARE_PATHS,
            deadline: options.budget.map(|b| Instant::now() + b),
        };
        path_options.check()?;
        let fallback = source == ListSource::Popularity;
        // The popularity fallback, and the popularity model, score by interaction count.
        let counts =
            fallback || self.served.model.header.kind == crate::learners::ModelKind::Popularity;
        let model = self.served.model.recommender();
        // Models that never read the graph (als, ease, ...): no graph part for a path to carry.
        let kind = self.served.model.header.kind;
        let no_graph_part = (!model.has_graph_part()).then(|| kind.name());
        // `svd`/`svdpp` with the graph prior: the graph shaped the item vectors in training,
        // though no part of a score can be split off as the graph's.
        let prior_shaped =
            matches!(
                kind,
                crate::learners::ModelKind::Svd | crate::learners::ModelKind::SvdPp
            ) && serde_json::from_str::<serde_json::Value>(&self.served.model.header.params)
                .ok()
                .and_then(|v| v.get("kg_weight")?.as_f64())
                .is_some_and(|w| w > 0.0);
        let graph_placed = self.served.graph_placed();
        let graph = &self.paths.graph;
        let user_items = user.map(|u| self.served.history(u));
        // Each source entity speaks for the first item of the user's history linked to it.
        let mut history: HashMap<EntityId, ItemId> = HashMap::new();
        if let Some(items) = &user_items {
            for &i in items.row().items {
                if let Some(Some(e)) = self.served.item_entity.get(i as usize) {
                    history.entry(*e).or_insert(ItemId(i));
                }
            }
        }
        let mut sources: Vec<EntityId> = history.keys().copied().collect();
        sources.sort_unstable();
        let specificity = Specificity::new(graph);
        let fused_hops = match (model.fused(), user) {
            (Some(f), Some(u)) => Some(FusedHops::new(f, u, self.scale, graph)),
            _ => None,
        };
        let scorer: &dyn HopScorer = match &fused_hops {
            Some(h) => h,
            None => &specificity,
        };
        let side = graph.from_sources(&sources, path_options, scorer)?;
        let middle_idf = MiddleIdf::new(graph, &self.served.entity_items);
        let mut items = Vec::with_capacity(list.len());
        for (scored, rank) in list {
            let item = scored.item;
            let details = self.entity_node(self.entity_of(item))?;
            let graph_only = !fallback && graph_placed.binary_search(&item.0).is_ok();
            let score_parts = match &user_items {
                // Placed from the graph alone: the whole score is the graph's.
                Some(items) if graph_only => {
                    let parts = model.score_parts_user(items.row(), item);
                    ScoreParts {
                        cf: 0.0,
                        kg: parts.cf + parts.kg,
                    }
                }
                Some(items) if !fallback => model.score_parts_user(items.row(), item),
                _ => ScoreParts {
                    cf: scored.score,
                    kg: 0.0,
                },
            };
            let mut paths = Vec::new();
            if let (Some(items), Some(target), true) =
                (&user_items, self.entity_of(item), options.paths > 0)
                && !side.expired()
            {
                // An item-to-item model's score is Σ B[j, item] over the history items j: a
                // path speaks as much as its history item contributes, and one from an item
                // that does not count for this one (B ≤ 0) is no reason for it. Every path
                // weighs too as much as its middle entities say (`MiddleIdf`): a class of
                // nearly every item comes after more specific paths.
                let found = side.paths_to_weighted(target, |path| {
                    let source = match model.item_to_item() {
                        Some(weights) => path
                            .start()
                            .and_then(|s| history.get(&s))
                            .map_or(0.0, |j| weights.weight(j.index(), item.index())),
                        None => 1.0,
                    };
                    source * middle_idf.weight(path)
                });
                for found in found {
                    if paths.len() == options.paths {
                        break;
                    }
                    if let Some(p) = self.checked_path(user_name, items, &history, &found)? {
                        paths.push(p);
                    }
                }
            }
            // An item placed from the graph alone was placed by the facts it shares with
            // items like the user's: its paths are those facts, the reason for its place,
            // however little each scores beside the paths of an item with its own vector.
            if graph_only {
                paths
                    .iter_mut()
                    .for_each(|p: &mut ExplainedPath| p.weak = false);
            }
            let post_hoc = no_graph_part.is_some() && !paths.is_empty();
            let mut explained = ExplainedItem {
                item: self.item_name(item)?.to_owned(),
                iri: details.iri,
                label: details.label,
                unlabelled: details.unlabelled,
                rank: *rank,
                score: scored.score,
                score_parts,
                score_unit: counts.then_some("interaction_count"),
                paths,
                in_history: user_items.as_ref().is_some_and(|h| h.contains(item)),
                not_in_model: item.index() >= model.n_items(),
                graph_only,
                post_hoc,
                paths_note: None,
            };
            explained.paths_note = match (explained.post_hoc, no_graph_part) {
                (true, Some(name)) if prior_shaped => Some(render::prior_post_hoc_note(name)),
                _ => None,
            }
            .or_else(|| render::weak_paths_note(&explained, no_graph_part))
            .or_else(|| match (explained.post_hoc, no_graph_part) {
                (true, Some(name)) => {
                    Some(render::post_hoc_note(name, model.item_to_item().is_some()))
                }
                _ => None,
            });
            if explained.paths.is_empty() && options.paths > 0 && !side.truncated() {
                explained.paths_note = self.pathless_note(&user_items, &history, item);
            }
            items.push(explained);
        }
        Ok(Explanation {
            user: user_name.to_owned(),
            items,
            fallback: fallback.then_some("popularity"),
            emptied: fallback
                && user_items
                    .as_ref()
                    .is_some_and(|h| h.row().items.is_empty()),
            folded_in: source == ListSource::FoldedIn,
            truncated: side.truncated(),
            note: None,
        })
    }

    fn entity_of(&self, item: ItemId) -> Option<EntityId> {
        self.served.item_entity.get(item.index()).copied().flatten()
    }

    fn item_name(&self, item: ItemId) -> Result<&str, ExplainError> {
        item_name(&self.served.snapshot, item).map_err(|e| ExplainError::Corruption {
            what: e.to_string(),
        })
    }

    /// The IRI and label of an entity (label from the index, else the IRI's local name).
    fn entity_node(&self, entity: Option<EntityId>) -> Result<Node, ExplainError> {
        let Some(e) = entity else {
            return Ok(Node::default());
        };
        let iri = self
            .paths
            .index
            .entity_iri(e)?
            .ok_or_else(|| ExplainError::Corruption {
                what: format!("entity {} is not in the dictionary", e.0),
            })?;
        let label = entity_label(&self.paths.index, Some(&self.paths.rdf), e, &self.labels)?;
        let (label, unlabelled) = match label {
            Some(l) => (l, false),
            None => (readable_name(&iri), true),
        };
        Ok(Node {
            iri: Some(iri),
            label: Some(label),
            unlabelled,
            ..Node::default()
        })
    }

    /// The path as JSON steps, if every step holds: the user has the history item, the item is
    /// linked to the path's first entity, and every hop is a triple of the RDF store.
    fn checked_path(
        &self,
        user_name: &str,
        user: &History<'_>,
        history: &HashMap<EntityId, ItemId>,
        path: &GraphPath,
    ) -> Result<Option<ExplainedPath>, ExplainError> {
        let Some(start) = path.start() else {
            return Ok(None);
        };
        let Some(&liked) = history.get(&start) else {
            return Ok(None);
        };
        if !user.contains(liked) || self.entity_of(liked) != Some(start) {
            return Ok(None);
        }
        let mut liked_node = self.entity_node(Some(start))?;
        liked_node.item = Some(self.item_name(liked)?.to_owned());
        let mut steps = vec![PathStep {
            from: Node {
                user: Some(user_name.to_owned()),
                ..Node::default()
            },
            relation: "interacted".to_owned(),
            relation_label: None,
            direction: None,
            to: liked_node,
        }];
        let mut from = self.entity_node(Some(start))?;
        for hop in &path.hops {
            let relation = self
                .paths
                .relations
                .get(hop.relation.index())
                .ok_or_else(|| ExplainError::Corruption {
                    what: format!("relation {} is not in the dictionary", hop.relation.0),
                })?
                .clone();
            let indexed = self
                .paths
                .relation_labels
                .get(hop.relation.index())
                .cloned()
                .flatten();
            let relation_label = match self.labels.is_default() {
                true => indexed,
                false => iri_label(&self.paths.rdf, &relation, &self.labels, indexed.as_deref())?
                    .or(indexed),
            };
            let to = self.entity_node(Some(hop.to))?;
            let (head, tail) = match hop.walk {
                Walk::Forward => (&from, &to),
                Walk::Inverse => (&to, &from),
            };
            if !self.store_has(head, &relation, tail)? {
                return Ok(None);
            }
            steps.push(PathStep {
                from: from.clone(),
                relation,
                relation_label,
                direction: Some(match hop.walk {
                    Walk::Forward => Direction::Forward,
                    Walk::Inverse => Direction::Inverse,
                }),
                to: to.clone(),
            });
            from = to;
        }
        Ok(Some(ExplainedPath {
            score: path.score,
            weak: path.score < WEAK_PATH_SCORE,
            text: path_text(&steps),
            steps,
        }))
    }

    /// Whether the RDF store holds `(head, relation, tail)` in any graph.
    fn store_has(&self, head: &Node, relation: &str, tail: &Node) -> Result<bool, ExplainError> {
        let (Some(h), Some(t)) = (head.iri.as_deref(), tail.iri.as_deref()) else {
            return Ok(false);
        };
        let (Ok(h), Ok(r), Ok(t)) = (
            NamedNodeRef::new(h),
            NamedNodeRef::new(relation),
            NamedNodeRef::new(t),
        ) else {
            return Ok(false);
        };
        let object: Term = t.into_owned().into();
        match self
            .paths
            .rdf
            .quads_for_pattern(Some(h.into()), Some(r), Some(object.as_ref()), None)
            .next()
        {
            Some(quad) => quad.map(|_| true).map_err(ExplainError::from),
            None => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests;
