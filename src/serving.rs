//! Serving recommendations from a stored model: the model bound to the data directory as it
//! is now ([`Serving`]), the state requests share ([`Served`], with the overlay of interactions
//! written since it was bound), top-K lists for users named by dense id (trained users scored
//! by the model, users who arrived after training folded in where the model can, everyone else
//! the most popular items), the one link→entity resolution every part uses
//! ([`item_entities`]), and the item details (IRI, label) that outputs show.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use kgrec_kg::oxigraph::store::Store;
use kgrec_kg::{EntityId, GraphIndex, LabelLangs};

use crate::cf::ann::AnnIndex;
use crate::cf::{
    Basis, IdMap, InteractionMatrix, Popularity, Recommender, Scored, UserRow, recommend_all,
    top_k, top_k_among, user_scores,
};
use crate::fused::Fused;
use crate::ids::{ItemId, UserId};
use crate::learners::{self, Binding, Loaded};
use crate::store::{ModelHeader, Snapshot, StoreError, StoreState, StoredModel};

/// What a list rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListSource {
    /// The model was trained with the user.
    Model,
    /// The user arrived after training; the model folded them in from their interactions.
    FoldedIn,
    /// The model cannot score the user: the most popular items.
    Popularity,
}

/// One user's list.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedList {
    /// Best first; never an item the user has in `train` nor one they asked to exclude.
    pub items: Vec<Scored>,
    /// What the list rests on.
    pub source: ListSource,
}

impl RankedList {
    /// The model does not know the user: the list is the most popular items.
    pub fn is_fallback(&self) -> bool {
        self.source == ListSource::Popularity
    }
}

/// Top-`k` lists for `users` (dense ids of `train`, or `None` for a user `train` does not know),
/// in the given order. Users the model was trained on are scored by it (in blocks); users of
/// `train` who arrived after training are folded in when the model can
/// ([`Recommender::score_user`]), else they get `train`'s most popular items, as do unknown
/// users and users with no items in `train` (all removed; flagged as a fallback). Every list excludes the user's items in `train` and the
/// sorted dense ids `exclude`.
pub fn rank_users(
    model: &dyn Recommender,
    train: &InteractionMatrix,
    users: &[Option<UserId>],
    k: usize,
    exclude: &[u32],
) -> Vec<RankedList> {
    // A user whose every interaction was removed has an empty row: the model's scores for them
    // rest on nothing (all near zero), so they get the popular items as an unknown user does.
    let emptied = |u: &UserId| UserRow::of(train, *u).items.is_empty();
    let known: Vec<UserId> = users
        .iter()
        .flatten()
        .copied()
        .filter(|u| u.index() < model.n_users() && !emptied(u))
        .collect();
    let mut scored = recommend_all(model, train, &known, k, exclude).into_iter();
    let popularity = Popularity::fit(train);
    let cold = top_k(popularity.counts(), k, exclude);
    users
        .iter()
        .map(|user| match user {
            Some(u) if emptied(u) => RankedList {
                items: cold.clone(),
                source: ListSource::Popularity,
            },
            Some(u) if u.index() < model.n_users() => RankedList {
                items: scored.next().unwrap_or_default(),
                source: ListSource::Model,
            },
            Some(u) => rank_new_user(
                model,
                train,
                Some(&popularity),
                UserRow::of(train, *u),
                k,
                exclude,
                None,
            ),
            None => RankedList {
                items: cold.clone(),
                source: ListSource::Popularity,
            },
        })
        .collect()
}

/// One user's top-`k`: `user` is the user's row as it is now (their dense id and their items,
/// e.g. [`Served::history`]), `None` for a user the store does not know. Their items and the
/// sorted dense ids `exclude` are never in the list. A user with no items (all removed) gets
/// the popular items. A user the model was trained with is scored by it; a user who arrived later is folded in where the model can; anyone else gets `train`'s
/// most popular items.
/// With `only`, the list is among those sorted dense ids alone (a filter's candidates).
pub fn rank_user(
    model: &dyn Recommender,
    train: &InteractionMatrix,
    user: Option<UserRow<'_>>,
    k: usize,
    exclude: &[u32],
    only: Option<&[u32]>,
) -> RankedList {
    // The popularity counts (a pass over every interaction) only for the users who need them.
    // No user, or one whose every interaction was removed (an empty row: the model's scores
    // for them would rest on nothing): the popular items.
    let Some(row) = user.filter(|row| !row.items.is_empty()) else {
        return RankedList {
            items: best(Popularity::fit(train).counts(), k, only, exclude),
            source: ListSource::Popularity,
        };
    };
    if row.user.index() >= model.n_users() {
        return rank_new_user(model, train, None, row, k, exclude, only);
    }
    let scores = user_scores(model, row.user);
    RankedList {
        items: best(&scores, k, only, &merged(row.items, exclude)),
        source: ListSource::Model,
    }
}

/// How a list's top-K was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopKPath {
    /// Every item scored.
    Exact,
    /// The approximate index's candidates, rescored exactly.
    Approximate,
    /// The index's candidates held fewer than `k` items the list may show (the user's items,
    /// exclusions or a filter took the rest), or the user has no direction to search in:
    /// every item scored.
    ExactFallback,
}

/// [`rank_user`], through the approximate index `ann` (built from `model`'s factors) for a user
/// the model was trained with; everyone else, and a user whose list the index's candidates
/// cannot fill, is scored exactly. Also says which way the list was found.
pub fn rank_user_with(
    model: &dyn Recommender,
    ann: Option<&AnnIndex>,
    train: &InteractionMatrix,
    user: Option<UserRow<'_>>,
    k: usize,
    exclude: &[u32],
    only: Option<&[u32]>,
) -> (RankedList, TopKPath) {
    // A user whose every interaction was removed gets the popular items, as `rank_user` gives.
    if let (Some(ann), Some(row), Some(f)) = (ann, user.as_ref(), model.factors())
        && row.user.index() < model.n_users()
        && !row.items.is_empty()
    {
        if let Some(items) = ann.top_k(&f, row.user.index(), k, &merged(row.items, exclude), only) {
            let list = RankedList {
                items,
                source: ListSource::Model,
            };
            return (list, TopKPath::Approximate);
        }
        let list = rank_user(model, train, user, k, exclude, only);
        return (list, TopKPath::ExactFallback);
    }
    let list = rank_user(model, train, user, k, exclude, only);
    (list, TopKPath::Exact)
}

/// The `k` best of `scores`, among `only` if given, never one of the sorted ids `exclude`.
fn best(scores: &[f32], k: usize, only: Option<&[u32]>, exclude: &[u32]) -> Vec<Scored> {
    match only {
        Some(among) => top_k_among(scores, k, among, exclude),
        None => top_k(scores, k, exclude),
    }
}

/// The user's items and `exclude`, sorted and distinct.
fn merged(items: &[u32], exclude: &[u32]) -> Vec<u32> {
    let mut all = Vec::with_capacity(items.len() + exclude.len());
    crate::cf::merge_sorted(items, exclude, &mut all);
    all
}

/// A user the model was not trained with (`row`: their items now): folded in if the model can,
/// else the popular items of `train` they do not have (`popularity`: the counts when the caller
/// has them already).
fn rank_new_user(
    model: &dyn Recommender,
    train: &InteractionMatrix,
    popularity: Option<&Popularity>,
    row: UserRow<'_>,
    k: usize,
    exclude: &[u32],
    only: Option<&[u32]>,
) -> RankedList {
    let mut scores = vec![0.0f32; model.n_items()];
    let exclude = merged(row.items, exclude);
    // Items the model knows nothing of (new since it was trained) say nothing of the user to
    // it: with none it knows, a fold-in would rank from zeros in arbitrary order.
    let basis = if row.items.iter().any(|&i| (i as usize) < model.n_items()) {
        model.score_user(row, &mut scores)
    } else {
        Basis::NoPreference
    };
    match basis {
        Basis::Trained | Basis::FoldedIn => RankedList {
            items: best(&scores, k, only, &exclude),
            source: ListSource::FoldedIn,
        },
        Basis::NoPreference => {
            let fitted;
            let popularity = match popularity {
                Some(p) => p,
                None => {
                    fitted = Popularity::fit(train);
                    &fitted
                }
            };
            RankedList {
                items: best(popularity.counts(), k, only, &exclude),
                source: ListSource::Popularity,
            }
        }
    }
}

/// A stored model ready to score, bound to the data directory as it was when it was loaded.
#[derive(Debug)]
pub struct Serving {
    /// What the store records about the model.
    pub header: ModelHeader,
    model: Box<dyn Recommender>,
    /// The version's approximate top-K index, when it has one.
    ann: Option<AnnIndex>,
}

impl Serving {
    /// The approximate top-K index stored with the version.
    pub fn ann(&self) -> Option<&AnnIndex> {
        self.ann.as_ref()
    }

    /// Attaches the index bytes stored with the version (`None`: it has none); bytes that fail
    /// their digest or do not fit the model are [`StoreError::Corruption`].
    pub fn with_index(mut self, bytes: Option<Vec<u8>>) -> Result<Self, crate::Error> {
        let Some(bytes) = bytes else {
            return Ok(self);
        };
        let what = format!("model v{} approximate index", self.header.version);
        let Some(f) = self.model.factors() else {
            return Err(
                StoreError::corruption(what, "stored with a model that has no factors").into(),
            );
        };
        let index = AnnIndex::from_bytes(
            &bytes,
            f.items.nrows(),
            f.items.ncols(),
            f.item_bias.is_some(),
        )
        .map_err(|e| StoreError::corruption(what, e))?;
        self.ann = Some(index);
        Ok(self)
    }

    /// The model as a recommender.
    pub fn recommender(&self) -> &dyn Recommender {
        self.model.as_ref()
    }

    /// The fused model, when that is what is served.
    pub fn fused(&self) -> Option<&Fused> {
        self.model.fused()
    }
}

/// Everything a request reads, bound once per model version and interaction snapshot, shared
/// (`Arc`) by concurrent requests and replaced whole when the model, the graph or the links
/// change. Interactions added since binding do not replace it: they go into its overlay
/// ([`Served::catch_up`]), which [`Served::user_id`], [`Served::history`] and
/// [`Served::current_matrix`] consult, so a user's new items leave their lists at once and a
/// user new since binding is folded in from them. Items new to the store since binding are
/// stored but unknown to the bound model: they are neither recommended nor explained until the
/// state is bound again (after the next training).
#[derive(Debug)]
pub struct Served {
    /// The interaction store as of binding.
    pub snapshot: Snapshot,
    /// Its matrix (dense ids are the store's).
    pub matrix: InteractionMatrix,
    /// The model.
    pub model: Serving,
    /// Every item's entity ([`item_entities`]).
    pub item_entity: Vec<Option<EntityId>>,
    /// The same links the other way: `(entity, item)` for every linked item, ascending.
    pub entity_items: Vec<(EntityId, ItemId)>,
    /// The graph index (labels).
    pub index: GraphIndex,
    /// The model was trained on other interactions than the snapshot's.
    stale: bool,
    /// What the store gained since binding.
    overlay: RwLock<Overlay>,
    /// The explanations' TransE distance scale of a fused model, computed by the first
    /// explanation (a pass over a sample of the graph's triples: once per state, not per request).
    pub(crate) explain_scale: std::sync::OnceLock<f32>,
    /// The items the model learnt nothing about (sorted dense ids), computed on first use:
    /// recommendations leave them out, as similar items do.
    pub(crate) unlearnt: std::sync::OnceLock<Vec<u32>>,
    /// [`Served::graph_placed`], computed on first use.
    graph_placed: std::sync::OnceLock<Vec<u32>>,
    /// Whether the model's scores tell its users apart ([`crate::engine::collapse::check`]),
    /// computed on first use.
    pub(crate) collapse: std::sync::OnceLock<Option<crate::engine::collapse::Collapse>>,
}

/// Interactions written since a [`Served`] was bound, as the store numbers them (the store's
/// dense ids are append-only and a new pair's record is appended, so what is new since a
/// snapshot is a suffix of the store).
#[derive(Debug, Default)]
struct Overlay {
    /// Users, items and records of the store taken in so far (the snapshot's, then each write's).
    users_seen: usize,
    items_seen: usize,
    records_seen: usize,
    /// Users new since binding, by name.
    new_users: HashMap<String, UserId>,
    /// Their names, in store order.
    new_user_names: Vec<String>,
    /// Items new since binding (stored, unknown to the model).
    new_items: HashSet<String>,
    /// Per user, the items of the snapshot's catalogue they got since binding (sorted).
    added: HashMap<UserId, Vec<u32>>,
    /// The stored rating (NaN: none) and count of each pair in `added`, which a fold-in
    /// weighing confidence by them reads.
    added_feedback: HashMap<(UserId, u32), (f32, u32)>,
    /// Whether the store changed since binding (new or updated interactions).
    changed: bool,
}

/// A user's items as they are now: the snapshot's row, plus what they added since binding.
#[derive(Debug, Clone)]
pub struct History<'a> {
    user: UserId,
    items: Cow<'a, [u32]>,
    values: Cow<'a, [f32]>,
    ratings: Cow<'a, [f32]>,
    counts: Cow<'a, [u32]>,
}

impl History<'_> {
    /// The row the recommenders take.
    pub fn row(&self) -> UserRow<'_> {
        UserRow {
            user: self.user,
            items: &self.items,
            values: &self.values,
            ratings: &self.ratings,
            counts: &self.counts,
        }
    }

    /// The user's dense id.
    pub fn user(&self) -> UserId {
        self.user
    }

    /// Whether the user has the item.
    pub fn contains(&self, item: ItemId) -> bool {
        self.items.binary_search(&item.0).is_ok()
    }
}

/// What the served model learnt an item's vector from ([`Served::item_bases`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemLearnt {
    /// The item had interactions when the model was trained.
    Interactions,
    /// None, but a `cke` model placed it from its linked entity in the graph (or an `svd` or
    /// `svdpp` model at its nearest rated items there).
    Graph,
    /// Nothing: no interactions at training (and, for `cke`, no entity), or added since.
    Nothing,
}

impl Served {
    /// Every item's [`ItemLearnt`] under the served model, whose item vectors have `rows` rows. The
    /// interaction records are kept in the order they were first imported, so the model's
    /// training data is the first `header.interactions` of them (after a removal,
    /// `import interactions --remove`, those are its data less the pairs removed plus as many
    /// added since: near enough to tell items learnt from items never seen).
    pub(crate) fn item_bases(&self, rows: usize) -> Vec<ItemLearnt> {
        let served = self;
        let header = &served.model.header;
        let trained = usize::try_from(header.interactions).unwrap_or(usize::MAX);
        // A graph-off `cke` with --cold-scale (or stored before the cold rule applied there)
        // learnt nothing of a linked item without interactions.
        let places_new = served
            .model
            .recommender()
            .fused()
            .is_none_or(|f| f.params.places_new_items());
        let mut had = vec![false; served.snapshot.items.len()];
        for record in served.snapshot.records.iter().take(trained) {
            if let Some(h) = had.get_mut(record.item.index()) {
                *h = true;
            }
        }
        // `svd` and `svdpp` keep per item whether they placed it at its nearest rated items in the
        // graph (`--kg-weight` above 0): such an item has a vector as cke's linked items do.
        let rating_basis = served
            .model
            .recommender()
            .rating_model()
            .map(|r| r.item_basis.as_slice());
        let cke = header.kind == learners::ModelKind::Cke;
        // kg-ease scores a linked item without interactions through its graph rows.
        let kg_ease = header.kind == learners::ModelKind::KgEase;
        let model = served.model.recommender();
        had.iter()
            .enumerate()
            .map(|(i, &had)| {
                let linked = served.item_entity.get(i).copied().flatten().is_some();
                let placed =
                    rating_basis.is_some_and(|b| b.get(i) == Some(&crate::cf::ItemBasis::Graph));
                if i >= rows {
                    ItemLearnt::Nothing
                } else if had {
                    ItemLearnt::Interactions
                } else if (((cke && places_new) || kg_ease)
                    && linked
                    && !model.item_blank(ItemId(i as u32)))
                    || placed
                {
                    ItemLearnt::Graph
                } else {
                    ItemLearnt::Nothing
                }
            })
            .collect()
    }

    /// The items without interactions at training that the model placed from the graph alone
    /// ([`ItemLearnt::Graph`]: a `cke` model's linked new items, an `svd`/`svdpp` model's items
    /// placed at their nearest rated items there), sorted; computed on first use.
    pub fn graph_placed(&self) -> &[u32] {
        self.graph_placed.get_or_init(|| {
            let rows = self.model.recommender().n_items();
            self.item_bases(rows)
                .iter()
                .enumerate()
                .filter(|&(_, b)| *b == ItemLearnt::Graph)
                .map(|(i, _)| i as u32)
                .collect()
        })
    }

    /// A state bound from `snapshot` and its `matrix`, with nothing written since.
    pub fn new(
        snapshot: Snapshot,
        matrix: InteractionMatrix,
        model: Serving,
        item_entity: Vec<Option<EntityId>>,
        index: GraphIndex,
    ) -> Self {
        let stale = model.header.fingerprint != snapshot.fingerprint;
        let overlay = Overlay {
            users_seen: snapshot.users.len(),
            items_seen: snapshot.items.len(),
            records_seen: snapshot.records.len(),
            ..Overlay::default()
        };
        Self {
            snapshot,
            matrix,
            model,
            entity_items: entity_items(&item_entity),
            item_entity,
            index,
            stale,
            overlay: RwLock::new(overlay),
            explain_scale: std::sync::OnceLock::new(),
            unlearnt: std::sync::OnceLock::new(),
            graph_placed: std::sync::OnceLock::new(),
            collapse: std::sync::OnceLock::new(),
        }
    }

    /// Whether the model was trained on other interactions than the store holds now (it folds
    /// in or falls back for the users it does not know).
    pub fn stale(&self) -> bool {
        self.stale || self.read_overlay(|o| o.changed)
    }

    /// The dense id of a user of the store, including users new since binding.
    pub fn user_id(&self, name: &str) -> Option<UserId> {
        self.matrix
            .user_id(name)
            .or_else(|| self.read_overlay(|o| o.new_users.get(name).copied()))
    }

    /// Whether `name` is an item that arrived after binding (stored, unknown to the model).
    pub fn is_new_item(&self, name: &str) -> bool {
        self.matrix.item_id(name).is_none() && self.read_overlay(|o| o.new_items.contains(name))
    }

    /// The user's items now: the snapshot's row and the items of its catalogue added since.
    pub fn history(&self, user: UserId) -> History<'_> {
        let (items, values) = self.matrix.user_row(user);
        let (ratings, counts) = (
            self.matrix.user_ratings(user),
            self.matrix.user_counts(user),
        );
        let added = self.read_overlay(|o| {
            o.added.get(&user).map(|items| {
                items
                    .iter()
                    .map(|&i| {
                        let (r, c) = o
                            .added_feedback
                            .get(&(user, i))
                            .copied()
                            .unwrap_or((f32::NAN, 1));
                        (i, 1.0, r, c)
                    })
                    .collect::<Vec<_>>()
            })
        });
        match added {
            None => History {
                user,
                items: Cow::Borrowed(items),
                values: Cow::Borrowed(values),
                ratings: Cow::Borrowed(ratings),
                counts: Cow::Borrowed(counts),
            },
            Some(added) => {
                let mut row: Vec<(u32, f32, f32, u32)> = items
                    .iter()
                    .zip(values)
                    .enumerate()
                    .map(|(k, (&i, &v))| {
                        let r = ratings.get(k).copied().unwrap_or(f32::NAN);
                        (i, v, r, counts.get(k).copied().unwrap_or(1))
                    })
                    .collect();
                row.extend(added);
                row.sort_by_key(|&(i, ..)| i);
                row.dedup_by_key(|(i, ..)| *i);
                History {
                    user,
                    items: Cow::Owned(row.iter().map(|e| e.0).collect()),
                    values: Cow::Owned(row.iter().map(|e| e.1).collect()),
                    ratings: Cow::Owned(row.iter().map(|e| e.2).collect()),
                    counts: Cow::Owned(row.iter().map(|e| e.3).collect()),
                }
            }
        }
    }

    /// Every user of the store by dense id: the snapshot's, then those new since binding.
    pub fn users(&self) -> Vec<String> {
        let mut users = self.snapshot.users.clone();
        self.read_overlay(|o| users.extend_from_slice(&o.new_user_names));
        users
    }

    /// The snapshot's matrix with the interactions added since binding (users new since
    /// binding appended, items new since binding left out): what batch ranking excludes.
    pub fn current_matrix(&self) -> Result<Cow<'_, InteractionMatrix>, crate::Error> {
        let overlay = self.overlay.read().map_err(|_| poisoned_overlay())?;
        if overlay.added.is_empty() && overlay.new_user_names.is_empty() {
            return Ok(Cow::Borrowed(&self.matrix));
        }
        let mut names = self.snapshot.users.clone();
        names.extend_from_slice(&overlay.new_user_names);
        let users =
            IdMap::from_names(names).map_err(|e| StoreError::corruption("user dictionary", e))?;
        let (ptr, cols, vals) = self.matrix.user_csr();
        let mut entries: Vec<(UserId, ItemId, f32)> = Vec::with_capacity(cols.len());
        for u in 0..ptr.len().saturating_sub(1) {
            for k in ptr[u]..ptr[u + 1] {
                entries.push((UserId(u as u32), ItemId(cols[k]), vals[k]));
            }
        }
        for (&u, items) in &overlay.added {
            entries.extend(items.iter().map(|&i| (u, ItemId(i), 1.0)));
        }
        let matrix = InteractionMatrix::from_ids(users, self.matrix.items().clone(), &entries)
            .map_err(|e| StoreError::corruption("interactions added since binding", e))?;
        Ok(Cow::Owned(matrix))
    }

    /// Takes in what `store` (the interaction store as it is now, this state's snapshot being
    /// an earlier version of it) gained since this state last looked; `changed`: whether the
    /// store changed at all meanwhile (updated interactions add nothing to the overlay, but make
    /// the model stale).
    pub(crate) fn catch_up(&self, store: &StoreState, changed: bool) -> Result<(), crate::Error> {
        let mut overlay = self.overlay.write().map_err(|_| poisoned_overlay())?;
        let o = &mut *overlay;
        o.changed |= changed;
        let users = store.users();
        for (id, name) in users.iter().enumerate().skip(o.users_seen) {
            o.new_users.insert(name.clone(), UserId(id as u32));
            o.new_user_names.push(name.clone());
        }
        o.users_seen = o.users_seen.max(users.len());
        let items = store.items();
        o.new_items.extend(items.iter().skip(o.items_seen).cloned());
        o.items_seen = o.items_seen.max(items.len());
        let known_items = self.matrix.n_items();
        for r in store.records().iter().skip(o.records_seen) {
            if r.item.index() < known_items {
                let row = o.added.entry(r.user).or_default();
                if let Err(at) = row.binary_search(&r.item.0) {
                    row.insert(at, r.item.0);
                }
                let rating = r.rating.filter(|x| x.is_finite()).unwrap_or(f32::NAN);
                o.added_feedback
                    .insert((r.user, r.item.0), (rating, r.count));
            }
        }
        o.records_seen = o.records_seen.max(store.records().len());
        Ok(())
    }

    /// Runs `f` on the overlay (a poisoned lock, which only a panic in `catch_up` leaves, reads
    /// as it was left: the overlay only grows).
    fn read_overlay<T>(&self, f: impl FnOnce(&Overlay) -> T) -> T {
        match self.overlay.read() {
            Ok(o) => f(&o),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }
}

fn poisoned_overlay() -> crate::Error {
    crate::Error::Internal {
        what: "the served state's overlay was poisoned by a panicking thread".to_owned(),
    }
}

impl Served {
    /// The items linked to any of the ascending `entities`, as ascending dense ids. A few
    /// entities are looked up in the links by entity (a filter costs what it matches, not the
    /// catalogue); many are looked up item by item (no sort of the result).
    pub fn items_of(&self, entities: &[EntityId]) -> Vec<u32> {
        if entities.len().saturating_mul(SPARSE_FILTER) < self.item_entity.len() {
            items_linked(&self.entity_items, entities)
        } else {
            self.item_entity
                .iter()
                .enumerate()
                .filter(|(_, e)| e.is_some_and(|e| entities.binary_search(&e).is_ok()))
                .map(|(i, _)| i as u32)
                .collect()
        }
    }
}

/// Below one matched entity per this many items, [`Served::items_of`] looks entities up; above,
/// items. (On ml-100k, 1,682 items: a filter of 1,211 entities takes 0.06 ms item by item and
/// 0.12 ms entity by entity, whose result must be sorted.)
const SPARSE_FILTER: usize = 16;

/// The items of the ascending `(entity, item)` pairs `links` whose entity is one of the
/// ascending `entities`, as ascending dense ids.
fn items_linked(links: &[(EntityId, ItemId)], entities: &[EntityId]) -> Vec<u32> {
    let mut items = Vec::new();
    let mut from = 0;
    for e in entities {
        let start = from + links[from..].partition_point(|(linked, _)| linked < e);
        let end = start + links[start..].partition_point(|(linked, _)| linked == e);
        items.extend(links[start..end].iter().map(|(_, item)| item.0));
        from = end;
    }
    items.sort_unstable();
    items
}

/// The `(entity, item)` pairs of `item_entity`, ascending ([`Served::entity_items`]).
pub fn entity_items(item_entity: &[Option<EntityId>]) -> Vec<(EntityId, ItemId)> {
    let mut pairs: Vec<(EntityId, ItemId)> = item_entity
        .iter()
        .enumerate()
        .filter_map(|(i, e)| e.map(|e| (e, ItemId(i as u32))))
        .collect();
    pairs.sort_unstable();
    pairs
}

/// Makes a stored model servable through its learner (a `cke` model is bound to the graph
/// index and links as they are now). A graph-embedding version is refused: it is no
/// recommender.
pub fn bind(stored: StoredModel, binding: &Binding<'_>) -> Result<Serving, crate::Error> {
    let header = stored.header.clone();
    match learners::load(stored, binding)? {
        Loaded::Recommender(model) => Ok(Serving {
            header,
            model,
            ann: None,
        }),
        Loaded::Embeddings(_) => Err(crate::Error::BadInput(format!(
            "model v{} {} is a graph embedding, not a recommender; train a recommender (cke, \
             als, bpr, pop) first, or name one with --model-version",
            header.version,
            header.kind.name()
        ))),
    }
}

/// Every item's linked entity, by dense item id: the one link resolution that training,
/// serving and explanations share. The entity stored at import when the graph held the IRI;
/// else the IRI looked up again (the graph may have been imported since), a bare data-set
/// token through the IRI a TSV import mints for it ([`GraphIndex::resolve_entity`]).
pub fn item_entities(
    snapshot: &Snapshot,
    index: &GraphIndex,
) -> Result<Vec<Option<EntityId>>, crate::Error> {
    let mut out = Vec::with_capacity(snapshot.items.len());
    for i in 0..snapshot.items.len() {
        out.push(match snapshot.links.get(i) {
            Some(Some(link)) => match link.entity {
                Some(e) => Some(e),
                None => index.resolve_entity(&link.iri)?.map(|(_, e)| e),
            },
            _ => None,
        });
    }
    Ok(out)
}

/// What a list shows about an item besides its id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemDetails {
    /// The linked IRI.
    pub iri: Option<String>,
    /// The entity's label (or the IRI's local name when the graph gives none).
    pub label: Option<String>,
}

/// The IRI and label of an item, from its stored link, its resolved entity
/// ([`item_entities`]) and the graph index; the label in `langs`, read from `rdf` when that is
/// not the default preference ([`kgrec_kg::labels::entity_label`]).
pub fn item_details(
    snapshot: &Snapshot,
    index: &GraphIndex,
    entity: Option<EntityId>,
    item: ItemId,
    (langs, rdf): (&LabelLangs, Option<&Store>),
) -> Result<ItemDetails, crate::Error> {
    let Some(Some(link)) = snapshot.links.get(item.index()) else {
        return Ok(ItemDetails::default());
    };
    let label = match entity {
        Some(e) => kgrec_kg::labels::entity_label(index, rdf, e, langs)?,
        None => None,
    }
    .unwrap_or_else(|| readable_name(&link.iri));
    Ok(ItemDetails {
        iri: Some(link.iri.clone()),
        label: Some(label),
    })
}

/// The last segment of an IRI (after `/`, `#` or `:`), as labels fall back to.
pub use kgrec_kg::filter::{local_name, readable_name};

/// The external name of an item, for output; a dense id outside the store is corruption.
pub fn item_name(snapshot: &Snapshot, item: ItemId) -> Result<&str, StoreError> {
    snapshot
        .items
        .get(item.index())
        .map(String::as_str)
        .ok_or_else(|| {
            StoreError::corruption(
                "model",
                format!("item {} is not in the item dictionary", item.0),
            )
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::cf::FactorModel;
    use ndarray::array;

    #[test]
    fn links_the_other_way_find_every_item_of_an_entity() {
        let e = |i: u32| Some(EntityId(i));
        // Items 1 and 3 share entity 7; item 2 has no link.
        let item_entity = [e(5), e(7), None, e(7), e(2)];
        let pairs = entity_items(&item_entity);
        assert_eq!(
            pairs,
            [
                (EntityId(2), ItemId(4)),
                (EntityId(5), ItemId(0)),
                (EntityId(7), ItemId(1)),
                (EntityId(7), ItemId(3)),
            ]
        );
        let items_of = |entities: &[u32]| -> Vec<u32> {
            let entities: Vec<EntityId> = entities.iter().copied().map(EntityId).collect();
            items_linked(&pairs, &entities)
        };
        assert_eq!(items_of(&[7]), [1, 3]);
        assert_eq!(items_of(&[2, 3, 7]), [1, 3, 4]);
        assert!(items_of(&[0, 6, 9]).is_empty());
    }

    #[test]
    fn model_users_new_users_and_unknown_users() {
        let train = InteractionMatrix::from_pairs([
            ("a", "x"),
            ("a", "y"),
            ("b", "y"),
            ("c", "z"),
            ("c", "y"),
        ])
        .unwrap();
        // Trained when only a and b existed: c arrived later.
        let model = FactorModel {
            users: array![[1.0, 0.0], [0.0, 1.0]],
            items: array![[0.0, 1.0], [1.0, 1.0], [2.0, 0.0]],
            item_bias: None,
        };
        let lists = rank_users(
            &model,
            &train,
            &[Some(UserId(1)), Some(UserId(2)), None, Some(UserId(0))],
            2,
            &[],
        );
        let ids = |l: &RankedList| l.items.iter().map(|s| s.item.0).collect::<Vec<_>>();
        assert_eq!(ids(&lists[0]), [0, 2], "b: x scores 1, z 0; y is b's own");
        assert_eq!(lists[0].source, ListSource::Model);
        assert_eq!(ids(&lists[1]), [0], "c: popularity without c's own y and z");
        assert!(lists[1].is_fallback());
        assert_eq!(ids(&lists[2]), [1, 0], "unknown: the most popular items");
        assert!(lists[2].is_fallback());
        assert_eq!(ids(&lists[3]), [2]);
    }
}
