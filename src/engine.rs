//! The engine: one handle on a data directory, the only thing the command line, the examples,
//! the tests and (later) the HTTP service call.
//!
//! An [`Engine`] owns the open data directory (its lock, the sled database, the graph store)
//! and the served state: the current model bound to the interactions and the graph
//! ([`Served`]), kept behind an atomically swapped pointer. Requests take the pointer once and
//! finish on the state they started with, so a training or an import that swaps it never
//! disturbs a request in flight. The engine is `Clone` + `Send` + `Sync` (the state is owned
//! through `Arc`s): one engine serves many threads. Writers (imports, training) run one at a
//! time. The library prints nothing: progress goes to callbacks, remarks come back in results.
//!
//! sled 0.34 is a single-process database, so opening takes the directory's lock whatever the
//! access; a read-only engine refuses every write and never creates anything.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use arc_swap::ArcSwapOption;
use kgrec_kg::oxigraph::sparql::{CancellationToken, QueryResults};
use kgrec_kg::oxigraph::store::Store;
use kgrec_kg::{
    EntityId, Filter, GraphIndex, ImportOptions, ImportProgress, LabelLangs, Projection, Walk,
};
use serde::Serialize;

use crate::cf::ann::{AnnIndex, AnnMode, AnnSettings};
use crate::cf::{EpochReport, Recommender, Scored, UserRecs};
use crate::datadir::{DataDir, OpenMode};
use crate::error::{Error, Result};
use crate::explain::{ExplainOptions, Explainer, Explanation, PathIndex};
use crate::ids::{ItemId, UserId};
use crate::interactions::{
    ColumnMap, Delimiter, EventWeights, Format, ItemLink, LinkColumns, RatingScale, RawInteraction,
    ReadOptions, filter_min_rating, merge_duplicates, merge_strongest, rating_conflicts, read_file,
    read_link_file, source,
};
use crate::learners::{self, Binding, GraphData, ModelSpec, TrainInput};
use crate::metrics::{Evaluation, by_user, evaluate};
use crate::serving::{
    History, ItemDetails, ItemLearnt as Basis, ListSource, Served, TopKPath, bind, item_details,
    item_entities, item_name, local_name, rank_user_with, rank_users,
};
use crate::store::{
    ImportReport, InteractionStore, Link, ModelHeader, ModelStore, StoreError, StoreState,
    StoredModel,
};

mod availability;
pub mod collapse;
mod ingest;
mod remove;
pub mod tsv_graph;
mod tune;

pub use availability::AvailabilityChanged;
pub use remove::InteractionsRemoved;

use ingest::GroupCommit;
pub use tune::{
    EarlierKept, MIN_TUNING_USERS, NoisyGain, SizedDim, TrainSpec, TuneOutcome, TuningData,
    noisy_gain,
};

/// Whether an engine may write.
pub use crate::datadir::Access;

/// How [`Engine::open_with`] opens a data directory.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Create the directory if it is missing.
    pub create: bool,
    /// Refuse writes.
    pub read_only: bool,
    /// Refuse writes and hold the directory only while opening it: read a copy taken at the
    /// open, so that writers may run beside ([`Access::Replica`]). Implies `read_only`.
    pub replica: bool,
    /// How long to wait for another process to release the directory.
    pub wait: Option<std::time::Duration>,
}

/// A handle on one data directory. Cheap to clone; every clone is the same engine.
#[derive(Debug, Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    dir: RwLock<DataDir>,
    access: Access,
    /// One writer at a time; it keeps the interaction store's state between writes.
    writer: Mutex<Writer>,
    /// Interaction writes waiting for (or in) a group commit.
    ingest: GroupCommit<WriteJob, Result<(ImportReport, Vec<ItemLink>)>>,
    /// What the interaction writes did, for metrics and tests.
    ingest_counts: IngestCounters,
    /// The current model's served state; empty until first asked for, and after a write that
    /// changed what it rests on (a training, the graph, links). Interactions written while it
    /// is there go into its overlay ([`Served::catch_up`]) under the writer's lock.
    served: ArcSwapOption<Served>,
    /// Counts the writes that dropped `served`. A state bound from data read before a write
    /// must not be published after it: the binder compares this number before and after, under
    /// the lock, and only publishes what no write has overtaken.
    served_generation: Mutex<u64>,
    /// One binder at a time: after a write, concurrent requests wait for one binding instead
    /// of each binding the same state.
    binding: Mutex<()>,
    /// The explanation graph, built on first use and dropped when the graph changes.
    paths: Mutex<Option<Arc<PathIndex>>>,
    /// The retired items (`store::retired`), read on first use and dropped on every change.
    retired: Mutex<Option<Arc<Vec<String>>>>,
}

impl Drop for Inner {
    /// The served state and the explanation graph hold trees of the sled database, which keep
    /// its file lock: they go before the data directory (whose fields are dropped first, and
    /// whose own lock goes last), so that another process let in by the directory's lock finds
    /// sled's released too, not still held for the moment these take to drop.
    fn drop(&mut self) {
        self.served.store(None);
        if let Ok(paths) = self.paths.get_mut() {
            *paths = None;
        }
    }
}

/// What the one writer keeps between writes.
#[derive(Debug, Default)]
struct Writer {
    /// The interaction store as last read or written (the engine holds the directory's lock, so
    /// nothing else changes it; still checked against the stored counts before each use, and
    /// dropped after a failed write).
    interactions: Option<StoreState>,
    /// Interaction writes that changed the store (a binder compares it before and after).
    revision: u64,
}

impl Writer {
    /// The interaction store's state: the kept one if the store's counts still match it, else
    /// read again. The caller puts it back after a successful write.
    fn take_state(&mut self, store: &InteractionStore) -> Result<StoreState> {
        match self.interactions.take() {
            Some(state) if state.counts() == store.counts()? => Ok(state),
            _ => Ok(store.state()?),
        }
    }
}

/// One caller's interaction write, queued for a group commit.
#[derive(Debug)]
struct WriteJob {
    rows: Vec<RawInteraction>,
    links: Vec<ItemLink>,
    /// A rating scale the rows declare (checked against the stored one, then stored).
    scale: Option<RatingScale>,
    /// Drop the served state after it (bulk imports and links), rather than adding the rows to
    /// its overlay.
    rebind: bool,
    /// The event weights the rows' ratings come from (`--event-weights`, or the stored ones for
    /// posted events): checked against the stored ones, then stored.
    events: Option<EventWeights>,
}

/// Counters of the interaction writes ([`Engine::ingest_stats`]).
#[derive(Debug, Default)]
struct IngestCounters {
    writes: AtomicU64,
    rows: AtomicU64,
    groups: AtomicU64,
    flushes: AtomicU64,
}

/// What the interaction writes of an engine did since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IngestStats {
    /// Writes acknowledged ([`Engine::add_interactions`] and imports that returned `Ok`).
    pub writes: u64,
    /// Rows those writes carried (after merging repeated pairs).
    pub rows: u64,
    /// Group commits: each wrote the jobs queued at once together.
    pub groups: u64,
    /// Group commits that changed the store: one sled batch and one flush each.
    pub flushes: u64,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

/// A poisoned lock: a thread panicked while holding it.
fn poisoned<T>(_: T) -> Error {
    Error::Internal {
        what: "a lock of the engine was poisoned by a panicking thread".to_owned(),
    }
}

/// What `import interactions` reads besides the file.
#[derive(Debug, Clone, Default)]
pub struct InteractionFile {
    /// The interaction file.
    pub file: PathBuf,
    /// The format, overriding the extension.
    pub format: Option<Format>,
    /// A link file tying items to graph entities.
    pub link: Option<PathBuf>,
    /// Which of the link file's columns hold the item and the IRI (`--link-item-col`,
    /// `--link-iri-col`); found by their names when not given.
    pub link_columns: LinkColumns,
    /// Keep only rows rated at least this.
    pub min_rating: Option<f32>,
    /// Which columns hold what (`--user-col`, `--item-col`, `--rating-col`, `--time-col`).
    pub columns: ColumnMap,
    /// The delimiter of a tsv or csv file (`--delimiter`), detected when `None`.
    pub delimiter: Option<Delimiter>,
    /// The declared rating scale (`--rating-scale`): checked line by line, then stored.
    pub rating_scale: Option<RatingScale>,
    /// The unit of numeric timestamps (`--time-unit`); stored as seconds.
    pub time_unit: crate::interactions::TimeUnit,
    /// The weight of each event kind (`--event-weights`): each row's strength is its event's
    /// weight, and a pair's the largest among its events.
    pub events: Option<EventWeights>,
}

/// What an interaction import did.
#[derive(Debug, Clone)]
pub struct InteractionsImported {
    /// Rows read from the file (or given).
    pub read: usize,
    /// Rows dropped by the rating threshold.
    pub below_min_rating: usize,
    /// Repeated pairs merged.
    pub merged: usize,
    /// What the store did.
    pub report: ImportReport,
    /// Linked IRIs the graph does not hold.
    pub not_in_graph: usize,
    /// The links whose IRI the graph does not hold, in link-file order.
    pub missing: Vec<ItemLink>,
    /// What the reader chose without being told (a guessed format, a detected delimiter,
    /// ignored columns), one sentence each, for the caller to show.
    pub notes: Vec<String>,
    /// Wall time.
    pub seconds: f64,
}

/// A training request: a learner with its parameters, a seed, and how many versions to keep.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct TrainRequest {
    /// The learner and its parameters.
    pub spec: ModelSpec,
    /// The seed of every random choice of the fit.
    pub seed: u64,
    /// Versions to keep, the new one included.
    pub keep: usize,
    /// Whether (and how) to build the approximate top-K index of a dot-product model.
    #[serde(default)]
    pub ann: AnnSettings,
    /// Who asks: the commands the training's notes name for a missing graph or links (not
    /// kept: a stored request is the data directory's).
    #[serde(skip)]
    pub caller: crate::interactions::Caller,
    /// The regularisation is the learner's default ([`TrainSpec::default_reg`]): when the fit
    /// collapses at it (every score within [`collapse::COLLAPSED`] of zero: far too strong
    /// for a small catalogue), it is refitted at a tenth, at most [`REG_SHRINKS`] times, and
    /// a note says so. An explicit `--reg` or a tuned one is fitted as given.
    #[serde(default)]
    pub shrink_collapsed_reg: bool,
}

/// How many times a fit that collapsed at its default regularisation is refitted at a tenth
/// of it ([`TrainRequest::shrink_collapsed_reg`]): the default 30 down to 0.3.
pub const REG_SHRINKS: usize = 2;

impl Default for TrainRequest {
    fn default() -> Self {
        Self {
            spec: ModelSpec::default(),
            seed: 0,
            keep: 3,
            ann: AnnSettings::default(),
            caller: crate::interactions::Caller::default(),
            shrink_collapsed_reg: false,
        }
    }
}

/// What a training stored.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The new version's header.
    pub header: ModelHeader,
    /// The stored versions after it, ascending.
    pub versions: Vec<u64>,
    /// Whether the new version is the current (served) one: a graph embedding never is, nor is
    /// a recommender whose training another one overtook (see [`Engine::commit`]).
    pub current: bool,
    /// Remarks of the fit for the user.
    pub notes: Vec<String>,
}

/// What [`Engine::use_version`] did.
#[derive(Debug, Clone)]
pub struct CurrentSet {
    /// The header of the version that is current now.
    pub header: ModelHeader,
    /// The version that was current before (the same when it already was).
    pub previous: Option<u64>,
    /// The header of the previous current version, when there was one.
    pub previous_header: Option<ModelHeader>,
}

/// A fitted model not yet stored, with the current version its inputs were read under.
#[derive(Debug, Clone)]
pub struct Fitted {
    /// The model in its stored form.
    pub trained: learners::Trained,
    /// The current version when the inputs were read.
    base_current: Option<u64>,
    /// The bytes of the approximate top-K index built for it, if any.
    ann: Option<Vec<u8>>,
}

/// One recommendation request.
#[derive(Debug, Clone)]
pub struct RecommendRequest {
    /// The user's external id.
    pub user: String,
    /// How many items.
    pub k: usize,
    /// Skip the best `offset` items: the list holds ranks `offset + 1 ..= offset + k` (a page
    /// of the full list; only the page is explained).
    pub offset: usize,
    /// Items (external ids) never to recommend; unknown ids are ignored.
    pub exclude: Vec<String>,
    /// Only items whose linked entity has these graph facts ([`Filter::parse`]: conditions
    /// `PREDICATE=VALUE[|VALUE...]`, all of which must hold); empty: every item.
    pub filter: Filter,
    /// Explain every item with these limits.
    pub explain: Option<ExplainOptions>,
    /// Serve this stored version instead of the current one.
    pub model_version: Option<u64>,
    /// The languages labels (of the items, and of the entities and relations of explanations)
    /// are chosen in ([`LabelLangs`]; default English first).
    pub labels: LabelLangs,
}

impl RecommendRequest {
    /// The top `k` of `user` from the current model, unexplained.
    pub fn new(user: impl Into<String>, k: usize) -> Self {
        Self {
            user: user.into(),
            k,
            offset: 0,
            exclude: Vec::new(),
            filter: Filter::default(),
            explain: None,
            model_version: None,
            labels: LabelLangs::default(),
        }
    }
}

/// What a filter of a [`RecommendRequest`] let through; JSON answers show it as `"filter"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilterSummary {
    /// The conditions with full IRIs (`<p>=<o>|...`), in the order given.
    pub conditions: Vec<String>,
    /// Items of the store whose linked entity satisfies every condition (the user's own and
    /// excluded items included).
    pub matching_items: usize,
}

/// One recommended item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecommendedItem {
    /// The external item id.
    pub item: String,
    /// 1 = best.
    pub rank: usize,
    /// The model's score.
    #[serde(serialize_with = "crate::cf::without_negative_zero")]
    pub score: f32,
    /// The linked IRI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iri: Option<String>,
    /// The entity's label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The item had no interactions when the model was trained: its vector comes from the
    /// graph alone (`cke`, and `svd`/`svdpp` with a graph prior): a new item, ranked by where
    /// the graph placed it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub graph_only: bool,
}

/// A predicted rating ([`Engine::predict`]); `kgrec predict --format json` prints it as it
/// serialises.
#[derive(Debug, Clone, Serialize)]
pub struct PredictedRating {
    /// The user asked about.
    pub user: String,
    /// The item asked about.
    pub item: String,
    /// The predicted rating, clipped to the scale; never NaN.
    pub rating: f32,
    /// What it rests on: `trained`, or `unknown_user` (the global mean plus the item's bias),
    /// `unknown_item` (the mean plus the user's bias), `unknown` (the mean), `graph_neighbours`
    /// (an item without ratings placed at its nearest rated items in the graph).
    pub basis: crate::cf::PredictionBasis,
    /// The scale, `[min, max]`.
    pub scale: (f32, f32),
    /// Whether the data directory holds the user (unknown to the model, it may have arrived
    /// since training; absent from the store too, it may be a typo).
    pub user_stored: bool,
    /// Whether the data directory holds the item.
    pub item_stored: bool,
    /// When the user is not stored and a stored id looks like it: `; did you mean ...`
    /// ([`lookalike_hint`]), else empty.
    #[serde(skip)]
    pub user_hint: String,
    /// The same for the item.
    #[serde(skip)]
    pub item_hint: String,
    /// The model that predicted it.
    #[serde(skip)]
    pub model: ModelHeader,
}

/// The items like one item ([`Engine::similar`]); `kgrec similar --format json` and the HTTP
/// route print it as it serialises.
#[derive(Debug, Clone, Serialize)]
pub struct SimilarItems {
    /// The item asked about.
    pub item: String,
    /// It had no interactions when the model was trained: its vector, and so every
    /// similarity here, comes from the graph alone.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub graph_only: bool,
    /// Closest first.
    pub similar: Vec<RecommendedItem>,
    /// Items left out because the model learnt nothing about them (no interactions when it
    /// was trained and no graph to place them, or added since).
    #[serde(skip_serializing_if = "is_zero")]
    pub left_out: usize,
    /// Why the order means little, when it does: every item is about as similar as every
    /// other (a model whose regularisation was too strong for the catalogue).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The model whose vectors were compared.
    #[serde(skip)]
    pub model: ModelHeader,
}

/// [`SimilarItems::note`]: the similarities of every item but `excluded` ones lie within
/// [`COLLAPSED_SPREAD`] of each other.
fn flat_similarities_note(
    scores: &[f32],
    excluded: &[u32],
    header: &ModelHeader,
) -> Option<String> {
    let (lo, hi, n) = scores
        .iter()
        .enumerate()
        .filter(|(i, _)| excluded.binary_search(&(*i as u32)).is_err())
        .fold(
            (f32::INFINITY, f32::NEG_INFINITY, 0),
            |(lo, hi, n), (_, &s)| (lo.min(s), hi.max(s), n + 1),
        );
    (n > 1 && hi - lo < COLLAPSED_SPREAD).then(|| {
        format!(
            "every item's similarity lies within {:.0e} of every other's under model v{} {}: it \
             collapsed and the order is near-arbitrary ({})",
            COLLAPSED_SPREAD,
            header.version,
            header.kind.name(),
            collapse::advice(header)
        )
    })
}

/// [`SimilarItems::note`]: items of the list as similar as the one above, by the rule a
/// user's list notes ties ([`crate::cf::scores_tie`]: they would print alike), so that the order
/// within a tie is not read as meaning. `None` without ties.
fn similar_ties_note(top: &[Scored]) -> Option<String> {
    let ties = top
        .windows(2)
        .filter(|w| crate::cf::scores_tie(w[0].score, w[1].score))
        .count();
    (ties > 0).then(|| {
        format!(
            "{ties} item(s) of this list are as similar as the one above (to one part in a \
             million){}; tied items are not ranked by the model: exact ties in the order they \
             were first imported, the others by rounding noise",
            match ties + 1 == top.len() {
                true => " (every item of the list ties)",
                false => "",
            }
        )
    })
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A user's list.
#[derive(Debug, Clone)]
pub struct Recommendations {
    /// The user's external id.
    pub user: String,
    /// Best first.
    pub items: Vec<RecommendedItem>,
    /// What the list rests on (the model, a fold-in, or the popularity fallback).
    pub source: ListSource,
    /// The model that ranked it.
    pub model: ModelHeader,
    /// Interactions were imported after the model was trained.
    pub stale: bool,
    /// The explanations, when asked for.
    pub explanation: Option<Explanation>,
    /// Ids of the exclude list that name no item of the store (ignored).
    pub unknown_excluded: Vec<String>,
    /// What the request's filter let through, when it had one.
    pub filter: Option<FilterSummary>,
    /// Why the list is empty or shorter than asked (a filter that few items pass).
    pub note: Option<String>,
    /// The list's order is near-arbitrary (the model collapsed, or every score of the list is
    /// within [`collapse::COLLAPSED`] of zero): `note` says why.
    pub arbitrary: bool,
    /// The store holds the user, but every interaction of theirs was removed: the list is the
    /// popularity fallback.
    pub emptied: bool,
    /// Items of the served model that are retired (`import links --retire`): no list holds
    /// them, a reason a list runs short.
    pub retired: usize,
}

impl Recommendations {
    /// The list as JSON (`recommend --format json`, the HTTP service): the fields of the
    /// explanation JSON (PRODUCT.md) without paths and score parts.
    pub fn list_json(&self) -> ListJson<'_> {
        ListJson {
            user: &self.user,
            items: &self.items,
            fallback: (self.source == ListSource::Popularity).then_some("popularity"),
            folded_in: self.source == ListSource::FoldedIn,
            filter: self.filter.as_ref(),
            note: self.note.as_deref(),
            unknown_excluded: &self.unknown_excluded,
        }
    }

    /// The explained list as JSON (`recommend --explain --format json`, the HTTP service): the
    /// explanation JSON of PRODUCT.md with the filter and the note beside it; `None` when the
    /// request asked for no explanation.
    pub fn explained_json(&self) -> Option<ExplainedJson<'_>> {
        Some(ExplainedJson {
            explanation: self.explanation.as_ref()?,
            filter: self.filter.as_ref(),
            note: self.note.as_deref(),
            unknown_excluded: &self.unknown_excluded,
        })
    }
}

/// One user's list as JSON; see [`Recommendations::list_json`].
#[derive(Debug, Clone, Serialize)]
pub struct ListJson<'a> {
    /// The user's external id.
    pub user: &'a str,
    /// Best first.
    pub items: &'a [RecommendedItem],
    /// `"popularity"` when the model does not know the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<&'static str>,
    /// The user arrived after training and was folded in.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub folded_in: bool,
    /// What the filter let through, when the request had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<&'a FilterSummary>,
    /// Why the list is empty or short.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'a str>,
    /// Excluded ids that name no item of the data directory (nothing to exclude; a typo?).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub unknown_excluded: &'a [String],
}

/// One user's explained list as JSON; see [`Recommendations::explained_json`].
#[derive(Debug, Clone, Serialize)]
pub struct ExplainedJson<'a> {
    /// The explanation JSON's fields.
    #[serde(flatten)]
    pub explanation: &'a Explanation,
    /// What the filter let through, when the request had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<&'a FilterSummary>,
    /// Why the list is empty or short.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'a str>,
    /// Excluded ids that name no item of the data directory (nothing to exclude; a typo?).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub unknown_excluded: &'a [String],
}

/// The items a filter lets through.
#[derive(Debug)]
struct Candidates {
    /// Dense item ids, ascending.
    items: Vec<u32>,
    /// Entities of the graph that satisfy the filter.
    entities: usize,
    /// When none does: the subclasses of a class the filter names, which it does not follow.
    subclasses: Option<String>,
}

impl Candidates {
    /// Why a filtered page holds `shown` items when `ranked` were ranked before the offset:
    /// nothing when the page is full.
    fn note(&self, ranked: usize, shown: usize, request: &RecommendRequest) -> Option<String> {
        if shown >= request.k {
            return None;
        }
        let matching = self.items.len();
        let count = |n: usize, one: &str, many: &str| match n {
            1 => format!("1 {one}"),
            n => format!("{n} {many}"),
        };
        Some(if self.entities == 0 {
            match &self.subclasses {
                Some(hint) => format!("no entity of the graph satisfies the filter: {hint}"),
                None => "no entity of the graph satisfies the filter".to_owned(),
            }
        } else if matching == 0 {
            format!(
                "no item is linked to the entities that satisfy the filter ({} of the graph)",
                count(self.entities, "entity", "entities")
            )
        } else if ranked == 0 {
            format!(
                "every item that satisfies the filter ({}) is in the user's history or excluded",
                count(matching, "item", "items")
            )
        } else if shown == 0 {
            format!(
                "offset {} is past the end of the filtered list ({} outside the user's history \
                 and the excluded ones)",
                request.offset,
                count(ranked, "item", "items")
            )
        } else {
            format!(
                "only {} the filter outside the user's history and the excluded ones",
                count(ranked, "item satisfies", "items satisfy")
            )
        })
    }
}

/// Every user's list (the batch file).
#[derive(Debug, Clone)]
pub struct BatchRecommendations {
    /// One entry per user of the store, store order.
    pub users: Vec<UserRecs>,
    /// The model that ranked them.
    pub model: ModelHeader,
    /// Interactions were imported after the model was trained.
    pub stale: bool,
    /// Why the lists mean little, when the model collapsed ([`collapse_note`]).
    pub collapse: Option<String>,
    /// How many of `users` have no interactions (all removed): their lists are the popularity
    /// fallback (counted in `users`' `fallback` flags too).
    pub emptied: usize,
    /// Ids of the exclude list that name no item of the store (ignored).
    pub unknown_excluded: Vec<String>,
    /// With a filter: how many items of the data directory it lets through.
    pub matching_items: Option<usize>,
    /// Lists shorter than `k` (none, or all rows missing), how many and why, with counts.
    pub short_lists: Option<String>,
    /// Rows whose item the model placed from the graph alone (nobody had interacted with it
    /// when it was trained), and how many such items they name: `(rows, items)`.
    pub graph_only: (usize, usize),
    /// Where the time went.
    pub timings: BatchTimings,
}

/// The phases of [`Engine::recommend_all`], for the batch command's summary.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BatchTimings {
    /// Loading the model and the interactions it excludes.
    pub load: std::time::Duration,
    /// Scoring every user against every item, keeping each one's top K, naming them.
    pub scoring: std::time::Duration,
}

/// Every user's top-K ([`Engine::recommend_batch`]).
#[derive(Debug, Clone, Default)]
pub struct BatchRequest {
    /// Items per user.
    pub k: usize,
    /// A stored version instead of the current model.
    pub model_version: Option<u64>,
    /// Items never to recommend to anyone (external ids; unknown ones are reported, not fatal).
    pub exclude: Vec<String>,
    /// Graph facts every recommended item's entity must have.
    pub filter: Filter,
}

/// What a batch leaves out ([`Engine::batch_scope`]).
#[derive(Debug, Clone)]
pub struct BatchScope {
    /// Sorted dense item ids no list holds.
    pub exclude: Vec<u32>,
    /// Ids of the exclude list that name no item of the store (ignored).
    pub unknown_excluded: Vec<String>,
    /// With a filter: how many items it lets through.
    pub matching_items: Option<usize>,
    /// The retired items (dense ids, ascending), read once for the batch: part of `exclude`,
    /// and what the notes on short lists count.
    pub retired: Vec<u32>,
}

/// Counts of what a data directory holds; `stats --format json` prints it, key names are the
/// contract.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// RDF statements of the graph: one per triple and graph holding it.
    pub triples: u64,
    /// Entities (IRIs and blank nodes as subjects or objects).
    pub entities: u64,
    /// Relations between entities.
    pub relations: u64,
    /// Literal objects.
    pub literals: u64,
    /// Entity-to-entity edges (distinct over graphs).
    pub edges: u64,
    /// Statements of `triples` in named graphs (N-Quads, TriG): a triple that several graphs
    /// hold is a statement of each, as SPARQL over the union of the graphs returns it once per
    /// graph (`SELECT DISTINCT` counts it once). 0 for a graph imported before this was counted.
    pub named_graph_statements: u64,
    /// Users of the interaction store.
    pub users: u64,
    /// Users of `users` with no interaction left (every one was removed): they stay known,
    /// and get the popularity fallback.
    pub users_without_interactions: u64,
    /// Items of the interaction store.
    pub items: u64,
    /// Items of `items` the catalogue no longer offers (`import links --retire`): never
    /// recommended.
    pub retired_items: u64,
    /// Interactions (distinct user-item pairs).
    pub interactions: u64,
    /// `v3 cke (current)`, ... (as the first data directories recorded it; for programs,
    /// [`Stats::model_versions`]).
    pub models: Vec<String>,
    /// The same list as data: version, learner, whether it is the current model.
    pub model_versions: Vec<ModelVersion>,
    /// The data directory.
    pub data_dir: PathBuf,
    /// The graph backend of this build.
    pub backend: &'static str,
    /// What `kgrec tune` chose, per learner.
    pub tuned: Vec<TunedSummary>,
    /// The ratings' scale: declared at import, else the lowest and highest stored rating
    /// (`None`: no rating stored).
    pub rating_scale: Option<ScaleSummary>,
    /// The one value every stored rating has, when no scale is declared and the ratings are all
    /// equal (so none can be inferred).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub single_rating: Option<f32>,
    /// The event weights in use (`import interactions --event-weights`): the stored ratings
    /// are event strengths, each pair's the largest weight among its events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_weights: Option<std::collections::BTreeMap<String, f32>>,
    /// The fingerprint of the interactions the store holds now (hex, as `tuned[].fingerprint`
    /// and `model_fingerprint`).
    pub fingerprint: String,
    /// The fingerprint of the interactions the current model was trained on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_fingerprint: Option<String>,
    /// The current model was trained on other interactions than the store holds now (imports,
    /// removals or HTTP posts since): `kgrec train` (or a rebuild) brings it up to date.
    pub stale: bool,
    /// What changed, when `stale`: the interaction counts then and now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_note: Option<String>,
}

/// The rating scale as `stats` shows it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ScaleSummary {
    /// The lowest rating.
    pub min: f32,
    /// The highest rating.
    pub max: f32,
    /// Declared with `--rating-scale` (else inferred from the stored ratings).
    pub declared: bool,
}

/// One tuned learner, as `stats` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TunedSummary {
    /// The learner.
    pub learner: String,
    /// Whether tuning found it best (what `train` trains without `--model`).
    pub best: bool,
    /// Whether it was scored on the best one's validation rows (the same interactions,
    /// carving and metric), so its value compares with the best's; a record from a tuning of
    /// other interactions does not.
    pub compared: bool,
    /// The validation metric.
    pub metric: String,
    /// Its value with the chosen hyper-parameters.
    pub value: f64,
    /// Its value with the defaults.
    pub default_value: f64,
    /// The choice as `train` flags (empty: the defaults).
    pub flags: String,
    /// Trials run.
    pub trials: usize,
    /// The fingerprint of the interactions it was tuned on (hex).
    pub fingerprint: String,
    /// When the tuning ended (seconds since the Unix epoch).
    pub created_unix: u64,
}

/// One stored model version, as `stats --format json` lists it under `model_versions`.
#[derive(Debug, Clone, Serialize)]
pub struct ModelVersion {
    pub version: u64,
    /// The learner (`--model` spelling).
    pub model: &'static str,
    /// The served model.
    pub current: bool,
    /// Graph embeddings only: kept beside the recommenders, never served.
    pub graph_embedding: bool,
    /// The approximate top-K index stored with the version: its `ef` and the recall against
    /// exact scoring measured when it was built (absent: top-K is exact).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ann: Option<crate::cf::ann::AnnSummary>,
}

/// What an embedding export wrote.
#[derive(Debug, Clone)]
pub struct EmbeddingsExported {
    /// The version exported.
    pub version: u64,
    /// Its learner.
    pub kind: learners::ModelKind,
    /// The embedding model written (`transe`, `rotate`, `transr`).
    pub model: &'static str,
    /// Entity rows.
    pub entities: usize,
    /// Relation rows.
    pub relations: usize,
    /// Dimension.
    pub dim: usize,
}

/// An offline evaluation: train on one file, rank the other file's users, score the lists.
#[derive(Debug, Clone)]
pub struct EvalRequest {
    /// Training interactions.
    pub train: PathBuf,
    /// Held-out interactions.
    pub test: PathBuf,
    /// How both files are read (format, columns, delimiter).
    pub read: ReadOptions,
    /// Keep only rows rated at least this (both files).
    pub min_rating: Option<f32>,
    /// Graph files to import first.
    pub kg: Vec<PathBuf>,
    /// Links of the training items.
    pub link: Option<PathBuf>,
    /// The link file's columns (`--link-item-col`, `--link-iri-col`), as `import
    /// interactions --link` reads them.
    pub link_columns: crate::interactions::LinkColumns,
    /// What to train.
    pub train_request: TrainRequest,
    /// The flags `train_request.spec` was built from (`eval`'s): without `tune`, the spec is
    /// built again from them once the training file is read, as `train` builds it without a
    /// tuning ([`Engine::train_spec`]: the dimension follows the catalogue where `--dim` is not
    /// given). `None`: the spec as given.
    pub flags: Option<learners::Overrides>,
    /// Cut-offs.
    pub ks: Vec<usize>,
    /// Tune on the training file first (validation rows carved from it, never the test file);
    /// the tuned choice replaces `train_request.spec`.
    pub tune: Option<crate::tune::TuneRequest>,
    /// What is scored: the top-K lists, or the predicted ratings of the test pairs.
    pub task: EvalTask,
}

/// What `eval` scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EvalTask {
    /// Top-K lists against the test positives.
    #[default]
    Ranking,
    /// Predicted ratings against the test ratings (RMSE, MAE); a rating model only.
    Rating,
}

/// Rating prediction scored on the test file's ratings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RatingMetrics {
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Test rows scored (those with a rating).
    pub rated: usize,
    /// Of those, rows whose user the model was not trained with (global mean + item bias).
    pub unknown_users: usize,
    /// Of those, rows whose item the model was not trained with.
    pub unknown_items: usize,
}

/// What an evaluation measured.
#[derive(Debug, Clone)]
pub struct EvalOutcome {
    /// The metrics.
    pub evaluation: Evaluation,
    /// The model evaluated.
    pub model: ModelHeader,
    /// Remarks of the fit.
    pub notes: Vec<String>,
    /// The rating metrics (`EvalTask::Rating`).
    pub rating: Option<RatingMetrics>,
    /// The test users' lists at the largest cut-off, with their scores (for the tie note of a
    /// batch; empty for `EvalTask::Rating`).
    pub lists: Vec<UserRecs>,
    /// Test users with no interaction in the training file (their lists are the popularity
    /// fallback, scored under the model's name in `evaluation`).
    pub unknown_users: usize,
    /// The metrics over the test users the training file knows alone, when some are unknown
    /// (and some known).
    pub known: Option<Evaluation>,
}

/// An entity's neighbours in the graph, for a look at it.
#[derive(Debug, Clone)]
pub struct Neighbourhood {
    /// The entity's label (or IRI).
    pub name: String,
    /// `(relation local name, forward?, neighbour's label)`.
    pub steps: Vec<(String, bool, String)>,
}

impl Engine {
    /// Opens an existing data directory for reading and writing (takes its lock).
    pub fn open(path: &Path) -> Result<Self> {
        Self::with(path, OpenMode::MustExist, Access::ReadWrite)
    }

    /// Opens the data directory, creating it if missing (for imports).
    pub fn create(path: &Path) -> Result<Self> {
        Self::with(path, OpenMode::CreateIfMissing, Access::ReadWrite)
    }

    /// Opens an existing data directory for reading only: every write is refused.
    pub fn open_read_only(path: &Path) -> Result<Self> {
        Self::with(path, OpenMode::MustExist, Access::ReadOnly)
    }

    /// Opens with `options`: while another process holds the directory, retries until
    /// `options.wait` has passed (no wait: refuse at once, naming the holder).
    pub fn open_with(path: &Path, options: &OpenOptions) -> Result<Self> {
        let mode = if options.create {
            OpenMode::CreateIfMissing
        } else {
            OpenMode::MustExist
        };
        let deadline = options.wait.map(|w| Instant::now() + w);
        loop {
            let access = if options.replica {
                Access::Replica
            } else if options.read_only {
                Access::ReadOnly
            } else {
                Access::ReadWrite
            };
            match Self::with(path, mode, access) {
                Err(Error::InUse { .. }) if deadline.is_some_and(|d| Instant::now() < d) => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(Error::InUse { dir, pid, .. }) => {
                    return Err(Error::InUse {
                        dir,
                        pid,
                        waited: options.wait,
                    });
                }
                other => return other,
            }
        }
    }

    fn with(path: &Path, mode: OpenMode, access: Access) -> Result<Self> {
        let dir = DataDir::open_as(path, mode, access)?;
        if access == Access::ReadWrite {
            remove_leftover_model_files(&dir)?;
        }
        Ok(Self {
            inner: Arc::new(Inner {
                dir: RwLock::new(dir),
                access,
                writer: Mutex::new(Writer::default()),
                ingest: GroupCommit::default(),
                ingest_counts: IngestCounters::default(),
                served: ArcSwapOption::empty(),
                served_generation: Mutex::new(0),
                binding: Mutex::new(()),
                paths: Mutex::new(None),
                retired: Mutex::new(None),
            }),
        })
    }

    /// The data directory's path.
    pub fn path(&self) -> Result<PathBuf> {
        Ok(self.inner.dir.read().map_err(poisoned)?.path().to_owned())
    }

    /// Whether the data directory is read through a temporary copy of its database, because
    /// this process may not write it (opened read-only; see [`crate::datadir`]).
    pub fn reads_a_copy(&self) -> Result<bool> {
        Ok(self
            .inner
            .dir
            .read()
            .map_err(poisoned)?
            .read_through_copy()
            .is_some())
    }

    fn check_writable(&self) -> Result<()> {
        self.check_writable_for(0)
    }

    /// [`Self::check_writable`] for a write of about `bytes`: refused on a disk with less free
    /// space ([`DataDir::check_free_space`]).
    fn check_writable_for(&self, bytes: u64) -> Result<()> {
        match self.inner.access {
            Access::ReadWrite => {
                let dir = self.inner.dir.read().map_err(poisoned)?;
                dir.check_free_space(bytes)?;
                dir.note_write();
                Ok(())
            }
            Access::ReadOnly | Access::Replica => Err(Error::BadInput(
                "the data directory was opened read-only".to_owned(),
            )),
        }
    }

    /// Runs `f` with the data directory for reading.
    fn read<T>(&self, f: impl FnOnce(&DataDir) -> Result<T>) -> Result<T> {
        let dir = self.inner.dir.read().map_err(poisoned)?;
        f(&dir)
    }

    /// Imports graph files all or nothing; `progress` hears the reading and writing.
    pub fn import_kg(
        &self,
        files: &[PathBuf],
        options: &ImportOptions,
        progress: &mut dyn FnMut(ImportProgress<'_>),
    ) -> Result<kgrec_kg::ImportReport> {
        for file in files {
            tsv_graph::refuse_interactions(file, options.source.format)?;
        }
        // A TSV graph's columns that hold the catalogue's own ids (a header-less interactions
        // table): read the catalogue only when a TSV file is given.
        if files.iter().any(|f| {
            options
                .source
                .format
                .or(kgrec_kg::source::InputFormat::guess(f).0)
                == Some(kgrec_kg::source::InputFormat::Tsv)
        }) {
            let snapshot = self.read(|dir| Ok(InteractionStore::open(dir.db())?.load()?))?;
            let users: std::collections::HashSet<&str> =
                snapshot.users.iter().map(String::as_str).collect();
            let items: std::collections::HashSet<&str> =
                snapshot.items.iter().map(String::as_str).collect();
            for file in files {
                tsv_graph::refuse_catalogue_columns(file, options.source.format, &users, &items)?;
            }
        }
        // The graph's index about doubles what the files hold, and the memory-snapshot backend
        // writes the whole graph again.
        let input: u64 = files
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum();
        let graph = self.read(|dir| Ok(dir.graph_bytes()))?;
        self.check_writable_for(input.saturating_mul(3).saturating_add(graph))?;
        let _writer = self.inner.writer.lock().map_err(poisoned)?;
        let report = {
            let mut dir = self.inner.dir.write().map_err(poisoned)?;
            dir.kg_mut().import(files, options, progress)?
        };
        // The graph changed: links may resolve now, neighbourhoods grew.
        self.invalidate_served()?;
        *self.inner.paths.lock().map_err(poisoned)? = None;
        Ok(report)
    }

    /// Imports an interaction file (and its links): the file is parsed to the end, filtered and
    /// de-duplicated before anything is written, so a bad file changes nothing.
    pub fn import_interactions(&self, request: &InteractionFile) -> Result<InteractionsImported> {
        self.check_writable()?;
        self.import_parsed(parse_interaction_file(request)?)
    }

    /// Writes interactions read by [`parse_interaction_file`] (which a caller runs before
    /// opening the data directory, so that a bad file does not even create it).
    pub fn import_parsed(&self, parsed: ParsedInteractions) -> Result<InteractionsImported> {
        // A stored interaction takes some tens of bytes in each of its trees.
        let rows = parsed.rows.rows.len() as u64 + parsed.links.len() as u64;
        self.check_writable_for(rows.saturating_mul(256))?;
        let ParsedInteractions {
            rows,
            links,
            min_rating,
            start,
            file,
            options,
        } = parsed;
        let (rows, options) = self.weigh_by_stored_events(rows, options, &file, min_rating)?;
        // A rating outside the scale an earlier import declared: the file is read again with
        // that scale, so that the error names its line (standard input cannot be).
        let stored = self.read(|dir| Ok(InteractionStore::open(dir.db())?.scale()?))?;
        if let Some(scale) = stored.filter(|_| options.rating_scale.is_none())
            && rows
                .rows
                .iter()
                .any(|r| r.rating.is_some_and(|x| !scale.contains(x)))
            && !source::is_stdin(&file)
        {
            let mut options = options.clone();
            options.rating_scale = Some(scale);
            read_file(&file, &options)?;
        }
        let (report, missing) = self.write_interactions(
            rows.rows,
            links,
            (options.rating_scale, options.events.clone()),
            true,
        )?;
        let mut notes = rows.notes;
        // The file's own outliers are said already (by the file's spread); else the store's.
        if !rows.outliers_noted
            && let Some(note) = &report.stretched_scale
        {
            notes.push(format!("{}: {note}", file.display()));
        }
        if let Some(min) = min_rating {
            notes.extend(self.stored_below(min)?);
        }
        Ok(InteractionsImported {
            read: rows.read,
            below_min_rating: rows.below_min_rating,
            merged: rows.merged,
            report,
            not_in_graph: missing.len(),
            missing,
            notes,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// Rows read without `--event-weights`, for a data directory whose strengths are event
    /// weights: a file with an event column is read again with the stored weights (a note
    /// names them; a kind they do not name is refused); a file without one is refused
    /// ([`Error::NoEvents`]), as its rows would weigh as the top kind. Rows with ratings are
    /// left to [`check_events`], which refuses them too. Other rows pass unchanged.
    fn weigh_by_stored_events(
        &self,
        rows: Rows,
        options: ReadOptions,
        file: &Path,
        min_rating: Option<f32>,
    ) -> Result<(Rows, ReadOptions)> {
        if options.events.is_some() || rows.rows.iter().any(|r| r.rating.is_some()) {
            return Ok((rows, options));
        }
        let Some(stored) = self.event_weights()? else {
            return Ok((rows, options));
        };
        if !rows.unread_event {
            return Err(Error::NoEvents {
                input: file.display().to_string(),
                stored,
                posted: false,
            });
        }
        let note = format!(
            "{}: no --event-weights: weighed with the directory's stored event weights {}",
            file.display(),
            stored.by_weight()
        );
        if source::is_stdin(file) {
            return Err(Error::BadInput(format!(
                "{}: the file's events would be weighed with this data directory's stored event \
                 weights ({}), but standard input cannot be read a second time to weigh them: \
                 import it with --event-weights {stored}",
                file.display(),
                stored.by_weight()
            )));
        }
        let mut options = options;
        options.columns.events = true;
        options.events = Some(stored);
        options.stored_events = true;
        let mut rows = read_rows(file, &options, min_rating)?;
        rows.notes.insert(0, note);
        Ok((rows, options))
    }

    /// The warning that the store still holds interactions rated below `min` (`--min-rating`
    /// filters the file read, not what earlier imports stored), with how to drop them.
    fn stored_below(&self, min: f32) -> Result<Option<String>> {
        let below = self.read(|dir| {
            let snapshot = InteractionStore::open(dir.db())?.load()?;
            Ok(snapshot
                .records
                .iter()
                .filter(|r| r.rating.is_some_and(|x| x < min))
                .count())
        })?;
        Ok((below > 0).then(|| {
            format!(
                "warning: the store still holds {below} interaction(s) rated below --min-rating \
                 {min}, stored by earlier imports: --min-rating filters the file being read, \
                 not the store, and models train on them; to drop them, import the files again \
                 with --min-rating into a new data directory (--data NEW)"
            )
        }))
    }

    /// Adds catalogue items with their links and no interactions (`import links`; `read` counts
    /// the links given): items new
    /// to the store join it (the knowledge-aware model can recommend them), known items get
    /// the link. An item whose stored IRI changes is listed in `report.relinked`.
    pub fn import_links(&self, links: Vec<ItemLink>) -> Result<InteractionsImported> {
        self.check_writable()?;
        let start = Instant::now();
        let read = links.len();
        let (report, missing) = self.write_interactions(Vec::new(), links, (None, None), true)?;
        Ok(InteractionsImported {
            read,
            below_min_rating: 0,
            merged: 0,
            report,
            not_in_graph: missing.len(),
            missing,
            notes: Vec::new(),
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// Adds interactions given in memory (feedback arriving online), with optional links.
    /// Repeated pairs merge as in a file import. The rows are checked first (ids neither empty
    /// nor holding control characters, ratings finite; a bad row refuses this call's rows, and
    /// only this call's) and are on disk (flushed) when this returns.
    ///
    /// Built for many small concurrent calls: the engine keeps the interaction store in memory
    /// between writes (a write costs its rows and the chunks they touch, not the store), and
    /// concurrent calls are committed together, one sled batch and one flush for all of them
    /// ([`Engine::ingest_stats`] counts both). The served state is kept: the users' new items
    /// leave their lists at once and users new to the store are folded in from them (where the
    /// model can), without retraining. Items new to the store are stored, but the served model
    /// knows them only after the next training. Links given here change what the model is bound
    /// to: the served state is then bound again on the next request.
    pub fn add_interactions(
        &self,
        rows: Vec<RawInteraction>,
        links: Vec<ItemLink>,
    ) -> Result<InteractionsImported> {
        self.add_weighed_interactions(rows, links, None)
    }

    /// [`Engine::add_interactions`] of rows whose ratings are the weights of their events
    /// under `events` (the stored weights, [`Engine::event_weights`], when `Some`): a pair's
    /// strength is the largest weight among its events, as a file import with
    /// `--event-weights` keeps it.
    pub fn add_weighed_interactions(
        &self,
        rows: Vec<RawInteraction>,
        links: Vec<ItemLink>,
        events: Option<EventWeights>,
    ) -> Result<InteractionsImported> {
        self.check_writable()?;
        check_rows(&rows)?;
        let start = Instant::now();
        let read = rows.len();
        let mut rows = rows;
        let (outliers, mut notes, merged) = match events {
            Some(_) => (None, Vec::new(), merge_strongest(&mut rows)),
            None => {
                let outliers = outlier_note("the request", &rows);
                let notes: Vec<String> = rating_conflicts(&rows)
                    .map(|(n, example)| conflict_note("the request", n, &example))
                    .into_iter()
                    .collect();
                (outliers, notes, merge_duplicates(&mut rows))
            }
        };
        let rebind = !links.is_empty();
        let (report, missing) = self.write_interactions(rows, links, (None, events), rebind)?;
        // The request's own outliers by its spread; else those of the store's range.
        match outliers {
            Some(note) => notes.push(note),
            None => notes.extend(
                report
                    .stretched_scale
                    .as_ref()
                    .map(|note| format!("the request: {note}")),
            ),
        }
        Ok(InteractionsImported {
            read,
            below_min_rating: 0,
            merged,
            report,
            not_in_graph: missing.len(),
            missing,
            notes,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// What the interaction writes did since the engine was opened.
    pub fn ingest_stats(&self) -> IngestStats {
        let c = &self.inner.ingest_counts;
        IngestStats {
            writes: c.writes.load(Ordering::Relaxed),
            rows: c.rows.load(Ordering::Relaxed),
            groups: c.groups.load(Ordering::Relaxed),
            flushes: c.flushes.load(Ordering::Relaxed),
        }
    }

    /// Writes rows and links through the group commit; returns the store's report and the links
    /// the graph lacks once they are on disk. `rebind`: drop the served state after.
    fn write_interactions(
        &self,
        rows: Vec<RawInteraction>,
        links: Vec<ItemLink>,
        (scale, events): (Option<RatingScale>, Option<EventWeights>),
        rebind: bool,
    ) -> Result<(ImportReport, Vec<ItemLink>)> {
        let n_rows = rows.len() as u64;
        let job = WriteJob {
            rows,
            links,
            scale,
            rebind,
            events,
        };
        let result = self
            .inner
            .ingest
            .submit(job, |jobs| self.commit_group(jobs))
            .map_err(|_| Error::Internal {
                what: "an interaction write was lost by a panicking group commit".to_owned(),
            })?;
        if result.is_ok() {
            let c = &self.inner.ingest_counts;
            c.writes.fetch_add(1, Ordering::Relaxed);
            c.rows.fetch_add(n_rows, Ordering::Relaxed);
        }
        result
    }

    /// Commits queued interaction writes together: each job is applied to the kept store state
    /// in turn (a job that fails, e.g. on a link, fails alone), then one batch and one flush
    /// write them all; then the served state takes them in, or is dropped if a job asked for it.
    /// A failed write fails every job of the group and drops the kept state.
    fn commit_group(&self, jobs: Vec<WriteJob>) -> Vec<Result<(ImportReport, Vec<ItemLink>)>> {
        let n_jobs = jobs.len();
        let mut writer = match self.inner.writer.lock() {
            Ok(w) => w,
            Err(e) => return (0..n_jobs).map(|_| Err(poisoned(&e))).collect(),
        };
        self.inner
            .ingest_counts
            .groups
            .fetch_add(1, Ordering::Relaxed);
        let mut rebind = false;
        let written = self.read(|dir| {
            let index = dir.kg().index();
            let store = InteractionStore::open(dir.db())?;
            let mut state = writer.take_state(&store)?;
            let results: Vec<_> = jobs
                .into_iter()
                .map(|job| {
                    let result = apply_job(
                        index,
                        &mut state,
                        &job.rows,
                        job.links,
                        (job.scale, job.events),
                    );
                    rebind |= job.rebind && result.is_ok();
                    result
                })
                .collect();
            let changed = state.has_unwritten_changes();
            let state = store.write(state)?;
            Ok((state, results, changed))
        });
        let (state, results, changed) = match written {
            Ok(w) => w,
            Err(e) if n_jobs == 1 => return vec![Err(e)],
            Err(e) => {
                let shared = Arc::new(e);
                return (0..n_jobs)
                    .map(|_| Err(Error::Shared(Arc::clone(&shared))))
                    .collect();
            }
        };
        if changed {
            self.inner
                .ingest_counts
                .flushes
                .fetch_add(1, Ordering::Relaxed);
            writer.revision += 1;
            let served = self.inner.served.load_full();
            let caught_up = match served {
                Some(served) if !rebind => served.catch_up(&state, true),
                _ => Ok(()),
            };
            // Dropped, the next request binds the store as it is now.
            if (rebind || caught_up.is_err())
                && let Err(e) = self.invalidate_served()
            {
                let what = e.to_string();
                return (0..n_jobs)
                    .map(|_| Err(Error::Internal { what: what.clone() }))
                    .collect();
            }
        }
        writer.interactions = Some(state);
        results
    }

    /// Fits `request.spec` on the store's interactions (and graph), stores it as a new version
    /// and makes it current; requests in flight finish on the previous version. `progress`
    /// hears every epoch; a `cancel` raised before the version is written stops the training
    /// with nothing written. The three stages are also offered apart ([`Engine::training_data`],
    /// [`TrainingData::fit`], [`Engine::commit`]) for a caller that must not hold the data
    /// directory during the fit (the command line lets other processes read meanwhile).
    pub fn train(
        &self,
        request: &TrainRequest,
        progress: &mut dyn FnMut(&EpochReport),
        cancel: &AtomicBool,
    ) -> Result<Trained> {
        let data = self.training_data(request)?;
        let fitted = data.fit(request, progress, cancel)?;
        self.commit(fitted, request.keep, cancel)
    }

    /// Reads what `request` trains on out of the data directory.
    pub fn training_data(&self, request: &TrainRequest) -> Result<TrainingData> {
        self.check_writable()?;
        if request.keep == 0 {
            return Err(Error::BadInput(
                "--keep 0: keep at least 1 version".to_owned(),
            ));
        }
        self.read(|dir| {
            let snapshot = InteractionStore::open(dir.db())?.load()?;
            let index = dir.kg().index();
            let kind = request.spec.kind();
            if !kind.is_graph_embedding() && snapshot.records.is_empty() {
                return Err(StoreError::NoInteractions.into());
            }
            let matrix = snapshot.matrix()?;
            let item_entity = item_entities(&snapshot, index)?;
            let mut graph = GraphData::read(index, kind)?;
            if request.spec.reads_texts() {
                graph.read_texts(dir.kg(), &item_entity)?;
            }
            let base_current = ModelStore::open(dir.db(), &dir.models_dir())?.current()?;
            Ok(TrainingData {
                snapshot,
                matrix,
                item_entity,
                graph,
                base_current,
            })
        })
    }

    /// Stores a fitted model as a new version and drops the served state, so the next request
    /// binds it. A recommender becomes current unless another recommender was made current
    /// after this one's inputs were read (two trainings overlapping: the one that started later
    /// saw fresher data and stays served; this one is stored beside it, with a note).
    pub fn commit(&self, fitted: Fitted, keep: usize, cancel: &AtomicBool) -> Result<Trained> {
        let floats: usize = fitted.trained.arrays.iter().map(|(_, a)| a.len()).sum();
        self.check_writable_for((floats as u64).saturating_mul(4 * 2))?;
        let _writer = self.inner.writer.lock().map_err(poisoned)?;
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        let Fitted {
            trained,
            base_current,
            ann,
        } = fitted;
        let mut notes = trained.notes;
        let (header, versions, current) = self.read(|dir| {
            let store = ModelStore::open(dir.db(), &dir.models_dir())?;
            let now = store.current()?;
            let before = store.versions()?;
            let recommender = !trained.header.kind.is_graph_embedding();
            let overtaken = recommender && now != base_current;
            let version = store.write_version(
                trained.header,
                &trained.arrays,
                ann.as_deref(),
                keep.max(1),
                recommender && !overtaken,
            )?;
            let after = store.versions()?;
            let pruned: Vec<String> = before
                .iter()
                .filter(|v| !after.contains(v))
                .map(|v| format!("v{v}"))
                .collect();
            if !pruned.is_empty() {
                notes.push(format!(
                    "pruned {} (--keep {} keeps the newest {} of the {}, and the current model)",
                    pruned.join(" "),
                    keep.max(1),
                    keep.max(1),
                    match recommender {
                        true => "recommenders",
                        false => "graph embeddings",
                    }
                ));
            }
            if overtaken && let Some(now) = now {
                notes.push(format!(
                    "model v{now} was trained while this one was (on interactions as new or \
                     newer) and stays current; v{version} is stored beside it (read it with \
                     --model-version {version} on recommend, explain, similar or predict; make \
                     it current with `kgrec use --model-version {version}`)"
                ));
            }
            Ok((
                store.header(version)?,
                store.versions()?,
                recommender && !overtaken,
            ))
        })?;
        self.invalidate_served()?;
        Ok(Trained {
            header,
            versions,
            current,
            notes,
        })
    }

    /// Makes a stored recommender version the current one (what `recommend`, `explain`,
    /// `similar`, `predict` and `serve` use without `--model-version`): a rollback, or the
    /// version a newer training overtook. A graph embedding (it cannot recommend) and a version
    /// the store does not hold are refused ([`Error::BadInput`]), naming the stored
    /// recommenders. The version's arrays are read whole first, so that a damaged version is
    /// refused rather than made current.
    pub fn use_version(&self, version: u64) -> Result<CurrentSet> {
        self.check_writable()?;
        let set = self.read(|dir| {
            let store = ModelStore::open(dir.db(), &dir.models_dir())?;
            let headers = store.list()?;
            let recommenders: Vec<String> = headers
                .iter()
                .filter(|h| !h.kind.is_graph_embedding())
                .map(|h| format!("v{} {}", h.version, h.kind.name()))
                .collect();
            let stored = match recommenders.is_empty() {
                true => format!(
                    "no recommender is stored; train one ({})",
                    learners::recommender_names().join(", ")
                ),
                false => format!("the stored recommenders: {}", recommenders.join(", ")),
            };
            let Some(header) = headers.iter().find(|h| h.version == version) else {
                return Err(Error::BadInput(format!(
                    "--model-version {version}: no such model version ({stored})"
                )));
            };
            if header.kind.is_graph_embedding() {
                return Err(Error::BadInput(format!(
                    "--model-version {version}: v{version} {} is a graph embedding, not a \
                     recommender, so it cannot be the current model ({stored})",
                    header.kind.name()
                )));
            }
            let previous = store.current()?;
            let previous_header = previous
                .and_then(|p| headers.iter().find(|h| h.version == p))
                .cloned();
            if previous != Some(version) {
                store.load(version)?;
                store.set_current(version)?;
            }
            Ok(CurrentSet {
                header: header.clone(),
                previous,
                previous_header,
            })
        })?;
        self.invalidate_served()?;
        Ok(set)
    }

    /// The served state of the current model (bound on first use after a change). Once a
    /// write has returned, every call made after it gets a state that includes the write.
    pub fn served(&self) -> Result<Arc<Served>> {
        self.served_bound_by(|| self.bind_version(None))
    }

    /// Whether the current model's served state is bound: then [`Engine::recommend`] without
    /// explanations or a stored version only reads memory (tens of microseconds), and a caller
    /// on an async runtime may run it in place instead of handing it to another thread.
    pub fn is_served(&self) -> bool {
        self.inner.served.load().is_some()
    }

    /// [`Engine::served`], with `bind` binding the current model when none is published.
    fn served_bound_by(&self, bind: impl FnOnce() -> Result<Served>) -> Result<Arc<Served>> {
        if let Some(served) = self.inner.served.load_full() {
            return Ok(served);
        }
        let _binding = self.inner.binding.lock().map_err(poisoned)?;
        if let Some(served) = self.inner.served.load_full() {
            return Ok(served);
        }
        let revision = self.inner.writer.lock().map_err(poisoned)?.revision;
        let generation = *self.inner.served_generation.lock().map_err(poisoned)?;
        let served = Arc::new(bind()?);
        // Published under the writer's lock: interaction writes that ended while this state
        // was bound are taken into its overlay now, later ones by the writer itself.
        let mut writer = self.inner.writer.lock().map_err(poisoned)?;
        let current = self.inner.served_generation.lock().map_err(poisoned)?;
        // A write that dropped the served state (a training, the graph, links) while this one
        // was bound may not be in it: answer this one request with it (the request overlapped
        // the write) but leave the slot empty.
        if *current != generation {
            return Ok(served);
        }
        if writer.revision != revision {
            let state = self.read(|dir| writer.take_state(&InteractionStore::open(dir.db())?))?;
            served.catch_up(&state, true)?;
            writer.interactions = Some(state);
        }
        self.inner.served.store(Some(Arc::clone(&served)));
        Ok(served)
    }

    /// Drops the served state after a write, so that the next request binds the new data.
    fn invalidate_served(&self) -> Result<()> {
        let mut generation = self.inner.served_generation.lock().map_err(poisoned)?;
        *generation += 1;
        self.inner.served.store(None);
        Ok(())
    }

    /// The served state of `version`, or of the current model.
    pub fn served_version(&self, version: Option<u64>) -> Result<Arc<Served>> {
        match version {
            None => self.served(),
            Some(v) => match self.inner.served.load_full() {
                Some(current) if current.model.header.version == v => Ok(current),
                _ => Ok(Arc::new(self.bind_version(Some(v))?)),
            },
        }
    }

    fn bind_version(&self, version: Option<u64>) -> Result<Served> {
        self.read(|dir| {
            let snapshot = InteractionStore::open(dir.db())?.load()?;
            let matrix = snapshot.matrix()?;
            let store = ModelStore::open(dir.db(), &dir.models_dir())?;
            let stored = match version {
                None => match store.current()? {
                    Some(v) => store.load(v)?,
                    None => return Err(no_recommender(&store)?),
                },
                Some(v) => {
                    let versions = store.versions()?;
                    if !versions.contains(&v) {
                        return Err(Error::BadInput(format!(
                            "--model-version {v}: no such model version (stored: {})",
                            version_list(&versions)
                        )));
                    }
                    store.load(v)?
                }
            };
            if stored.header.kind.is_graph_embedding() {
                let which = match version {
                    None => "current model".to_owned(),
                    Some(v) => format!("model v{v}"),
                };
                return Err(Error::BadInput(format!(
                    "{which} {} is a graph embedding, not a recommender: name a recommender's \
                     version (`kgrec stats` lists them) or train one ({})",
                    stored.header.kind.name(),
                    learners::recommender_names().join(", ")
                )));
            }
            let index = dir.kg().index().clone();
            let item_entity = item_entities(&snapshot, &index)?;
            let graph = GraphData::read(&index, stored.header.kind)?;
            let ann = store.load_index(stored.header.version)?;
            let model = bind(
                stored,
                &Binding {
                    snapshot: &snapshot,
                    matrix: &matrix,
                    graph: &graph,
                    item_entity: &item_entity,
                },
            )?
            .with_index(ann)?;
            Ok(Served::new(snapshot, matrix, model, item_entity, index))
        })
    }

    /// The explanation graph (built on first use).
    fn paths(&self) -> Result<Arc<PathIndex>> {
        let mut cache = self.inner.paths.lock().map_err(poisoned)?;
        if let Some(p) = cache.as_ref() {
            return Ok(Arc::clone(p));
        }
        let paths = self.read(|dir| {
            let rdf = dir.kg().rdf_store()?;
            Ok(Arc::new(PathIndex::new(dir.kg().index(), rdf)?))
        })?;
        *cache = Some(Arc::clone(&paths));
        Ok(paths)
    }

    /// The RDF store labels in `langs` are read from: none for the default preference, whose
    /// labels the graph index holds (loaded from its snapshot in the default build, once per
    /// graph generation).
    fn label_store(&self, langs: &LabelLangs) -> Result<Option<Store>> {
        match langs.is_default() {
            true => Ok(None),
            false => self.read(|dir| Ok(Some(dir.kg().rdf_store()?))),
        }
    }

    /// An explainer of the current model (or of `version`).
    pub fn explainer(&self, version: Option<u64>) -> Result<Explainer> {
        let served = self.served_version(version)?;
        Ok(Explainer::new(self.paths()?, served))
    }

    /// A user's top-K: from the model when it was trained with the user, folded in when the
    /// user arrived later (and the model can), else the most popular items; never an item the
    /// user has or excluded; explained when asked.
    pub fn recommend(&self, request: &RecommendRequest) -> Result<Recommendations> {
        if request.k == 0 {
            return Err(Error::BadInput(
                "-k 0: ask for at least one item".to_owned(),
            ));
        }
        let served = self.served_version(request.model_version)?;
        // Items the catalogue no longer offers (`import links --retire`), read now.
        let retired = self.retired_ids(&served)?;
        let (mut exclude, unknown_excluded) = self.left_out(&served, &request.exclude, &retired);
        exclude.sort_unstable();
        exclude.dedup();
        let candidates = match request.filter.is_empty() {
            true => None,
            false => Some(self.filter_items(&served, &request.filter)?),
        };
        let user = served.user_id(&request.user);
        let history = user.map(|u| served.history(u));
        let (mut list, path) = rank_user_with(
            served.model.recommender(),
            served.model.ann(),
            &served.matrix,
            history.as_ref().map(History::row),
            request.k.saturating_add(request.offset),
            &exclude,
            candidates.as_ref().map(|c| c.items.as_slice()),
        );
        let ranked = list.items.len();
        let skipped = request.offset.min(ranked);
        list.items.drain(..skipped);
        let filtered = candidates
            .as_ref()
            .and_then(|c| c.note(ranked, list.items.len(), request));
        let unknown = list.source == ListSource::Popularity
            && served.matrix.user_id(&request.user).is_none()
            && served.user_id(&request.user).is_none();
        // Stored, but every interaction of theirs was removed: as unknown as a new user.
        let emptied = list.source == ListSource::Popularity
            && history.as_ref().is_some_and(|h| h.row().items.is_empty());
        // Said in the note; the CLI says it even with --quiet (it qualifies the list itself).
        let arbitrary = collapsed_note(&served, &list, &request.user).is_some();
        let notes: Vec<String> = filtered
            .into_iter()
            .chain(list_notes(
                &served,
                &list,
                request,
                EmptyListCauses {
                    retired: &retired,
                    history: history.as_ref().map(|h| h.row().items),
                },
            ))
            .chain(unknown.then(|| {
                format!(
                    "{}: the list is the popularity fallback",
                    unknown_id_note(
                        "user",
                        &request.user,
                        &lookalike_hint(&request.user, served.matrix.users().names())
                    )
                )
            }))
            .chain(emptied.then(|| emptied_user_note(&request.user)))
            .chain(topk_note(&served, path))
            .chain(not_folded_in_note(
                &served,
                &list,
                request,
                unknown || emptied,
            ))
            .collect();
        let note = (!notes.is_empty()).then(|| notes.join("; "));
        let filter = candidates.map(|c| FilterSummary {
            conditions: request
                .filter
                .conditions()
                .iter()
                .map(ToString::to_string)
                .collect(),
            matching_items: c.items.len(),
        });
        let rdf = self.label_store(&request.labels)?;
        let mut items = describe(&served, &list.items, (&request.labels, rdf.as_ref()))?;
        for item in &mut items {
            item.rank += skipped;
        }
        let explanation = match request.explain {
            Some(options) => {
                let ranked: Vec<(Scored, Option<usize>)> = list
                    .items
                    .iter()
                    .zip(&items)
                    .map(|(s, i)| (*s, Some(i.rank)))
                    .collect();
                Some(
                    Explainer::new(self.paths()?, Arc::clone(&served))
                        .with_labels(request.labels.clone())
                        .explain(&request.user, user, &ranked, list.source, options)?,
                )
            }
            None => None,
        };
        Ok(Recommendations {
            user: request.user.clone(),
            items,
            source: list.source,
            model: served.model.header.clone(),
            stale: served.stale(),
            explanation,
            unknown_excluded,
            filter,
            note,
            arbitrary,
            emptied,
            retired: retired.len(),
        })
    }

    /// The items of `served` whose linked entity satisfies `filter` (resolved against the
    /// graph: an unknown predicate or value is an error naming it).
    fn filter_items(&self, served: &Served, filter: &Filter) -> Result<Candidates> {
        let paths = self.paths()?;
        let facts = paths.facts();
        let entities = facts.matching(filter)?.unwrap_or_default();
        let subclasses = match entities.is_empty() {
            true => facts.subclass_hint(filter)?,
            false => None,
        };
        Ok(Candidates {
            items: served.items_of(&entities),
            entities: entities.len(),
            subclasses,
        })
    }

    /// Every user's top-K (the batch file's contents), users in store order.
    pub fn recommend_all(&self, k: usize, version: Option<u64>) -> Result<BatchRecommendations> {
        self.recommend_batch(&BatchRequest {
            k,
            model_version: version,
            ..BatchRequest::default()
        })
    }

    /// Every user's top-K with the batch's exclude list and filter (as one user's request
    /// takes them, the same for every user), users in store order.
    pub fn recommend_batch(&self, request: &BatchRequest) -> Result<BatchRecommendations> {
        let k = request.k;
        if k == 0 {
            return Err(Error::BadInput(
                "-k 0: ask for at least one item".to_owned(),
            ));
        }
        let started = std::time::Instant::now();
        let served = self.served_version(request.model_version)?;
        let matrix = served.current_matrix()?;
        let load = started.elapsed();
        let users: Vec<Option<UserId>> = (0..matrix.n_users())
            .map(|u| Some(UserId(u as u32)))
            .collect();
        let scope = self.batch_scope(&served, &request.exclude, &request.filter)?;
        let lists = rank_users(
            served.model.recommender(),
            &matrix,
            &users,
            k,
            &scope.exclude,
        );
        let emptied = (0..matrix.n_users())
            .filter(|&u| matrix.user_row(UserId(u as u32)).0.is_empty())
            .count();
        let placed = served.graph_placed();
        let mut named: Vec<u32> = lists
            .iter()
            .flat_map(|l| l.items.iter().map(|s| s.item.0))
            .filter(|i| placed.binary_search(i).is_ok())
            .collect();
        let graph_only_rows = named.len();
        named.sort_unstable();
        named.dedup();
        let users = matrix
            .users()
            .names()
            .iter()
            .zip(lists)
            .map(|(user, list)| {
                let items = list
                    .items
                    .iter()
                    .map(|s| Ok((item_name(&served.snapshot, s.item)?.to_owned(), s.score)))
                    .collect::<Result<Vec<_>>>()?;
                Ok(UserRecs {
                    user: user.clone(),
                    items,
                    fallback: list.is_fallback(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let short_lists = short_lists_note(
            &served,
            &users,
            k,
            &scope.retired,
            !request.exclude.is_empty() || !request.filter.is_empty(),
        );
        Ok(BatchRecommendations {
            users,
            model: served.model.header.clone(),
            stale: served.stale(),
            collapse: collapse_note(&served),
            short_lists,
            emptied,
            unknown_excluded: scope.unknown_excluded,
            matching_items: scope.matching_items,
            graph_only: (graph_only_rows, named.len()),
            timings: BatchTimings {
                load,
                scoring: started.elapsed().saturating_sub(load),
            },
        })
    }

    /// The dense ids a list leaves out whoever it is for (unsorted, maybe repeated): the items
    /// `exclude` names, the items the model learnt nothing about (ranked by a score of nothing,
    /// 0, they would come ahead of every negative score: left out as `similar` leaves them out)
    /// and `retired`, the items the catalogue no longer offers (`import links --retire`); and
    /// the ids of `exclude` that name no item. An id stored since the model was bound is no
    /// unknown one: the served model cannot recommend it anyway.
    fn left_out(
        &self,
        served: &Served,
        exclude: &[String],
        retired: &[u32],
    ) -> (Vec<u32>, Vec<String>) {
        let mut ids: Vec<u32> = Vec::with_capacity(exclude.len());
        let mut unknown = Vec::new();
        for id in exclude {
            match served.matrix.item_id(id) {
                Some(item) => ids.push(item.0),
                None if served.is_new_item(id) => {}
                None => unknown.push(id.clone()),
            }
        }
        ids.extend_from_slice(unlearnt_items(served));
        ids.extend_from_slice(retired);
        (ids, unknown)
    }

    /// What a batch leaves out for every user: the sorted dense ids of the items `exclude`
    /// names, the items the model learnt nothing about, the retired items and, with a filter,
    /// every item the filter does not let through (resolved once for the whole batch).
    pub fn batch_scope(
        &self,
        served: &Served,
        exclude: &[String],
        filter: &Filter,
    ) -> Result<BatchScope> {
        let retired = self.retired_ids(served)?;
        let (mut ids, unknown_excluded) = self.left_out(served, exclude, &retired);
        let mut matching_items = None;
        if !filter.is_empty() {
            let candidates = self.filter_items(served, filter)?;
            matching_items = Some(candidates.items.len());
            let n = u32::try_from(served.matrix.n_items()).unwrap_or(u32::MAX);
            ids.extend((0..n).filter(|i| candidates.items.binary_search(i).is_err()));
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(BatchScope {
            exclude: ids,
            unknown_excluded,
            matching_items,
            retired,
        })
    }

    /// Why `item` is (or would be) recommended to `user`: score parts and relation paths.
    pub fn explain(
        &self,
        user: &str,
        item: &str,
        options: ExplainOptions,
        version: Option<u64>,
    ) -> Result<(Explanation, ModelHeader)> {
        self.explain_in(user, item, options, version, &LabelLangs::default())
    }

    /// [`Engine::explain`] with labels chosen in `langs`.
    pub fn explain_in(
        &self,
        user: &str,
        item: &str,
        options: ExplainOptions,
        version: Option<u64>,
        langs: &LabelLangs,
    ) -> Result<(Explanation, ModelHeader)> {
        let served = self.served_version(version)?;
        let header = served.model.header.clone();
        if let Some(id) = served.matrix.item_id(item)
            && unlearnt_items(&served).binary_search(&id.0).is_ok()
        {
            let linked = is_linked(&served, id);
            let (graph, facts) = match (header.kind.reads_graph(), linked) {
                (true, true) if header.kind == learners::ModelKind::Tfidf => (
                    " and its entity's text in the graph shares no word with another item's",
                    ", or once its entity has a label or abstract that shares words with others",
                ),
                (true, true) => (
                    " and its entity has no edge in the graph to place it by",
                    ", or once the graph holds facts about its entity (`kgrec import kg`)",
                ),
                (true, false) => (" and no entity in the graph", ""),
                (false, _) => ("", ""),
            };
            return Err(Error::BadInput(format!(
                "item {item:?} had no interactions when model v{} {} was trained{graph}: the \
                 model learnt nothing about it, so it is never recommended and has no score to \
                 explain; train again once it has interactions{facts}",
                header.version,
                header.kind.name(),
            )));
        }
        let mut notes: Vec<String> = collapsed_user_note(&served, user).into_iter().collect();
        notes.extend(emptied_user(&served, user).then(|| emptied_explain_note(user)));
        notes.extend(self.retired_note(item)?);
        let explainer = Explainer::new(self.paths()?, served).with_labels(langs.clone());
        let mut explanation = explainer.explain_item(user, item, options)?;
        explanation.note = (!notes.is_empty()).then(|| notes.join("; "));
        Ok((explanation, header))
    }

    /// The `k` items most like `item`: for an item-to-item model (`ease`, `kg-ease`) the items
    /// whose presence in a history adds most to `item`'s score (the score is that weight,
    /// `B[j, item]`); for `itemknn` the item's neighbours (the score is their similarity); for
    /// `userknn`, which has neither, an error that says so; for the others the items closest by the cosine of the model's item
    /// vectors. Only items the model learnt something about take part: an item with no
    /// interactions when the model was trained has a vector that means nothing (ALS and BPR
    /// never moved it from where it started), unless a `cke` model placed it from the graph
    /// (or an `svd`/`svdpp` model at its nearest rated items there; flagged `graph_only`); an item added since has none. Those are left out (and counted);
    /// asked about one, the answer is an error that says why. `version` picks a stored model
    /// version instead of the current one.
    /// The rating the current model (or `version`) predicts for `user` and `item`, on the
    /// data's scale (clipped). A user or item the model was not trained with still gets a
    /// finite rating (the global mean plus the known side's bias), flagged in `basis`. The model
    /// must predict ratings (`svd`, `svdpp`).
    pub fn predict(&self, user: &str, item: &str, version: Option<u64>) -> Result<PredictedRating> {
        let served = self.served_version(version)?;
        let header = &served.model.header;
        let Some(model) = served.model.recommender().rating_model() else {
            return Err(Error::BadInput(format!(
                "model v{} {} ranks items but does not predict ratings: {}",
                header.version,
                header.kind.name(),
                match version {
                    Some(_) =>
                        "name the version of a rating model (svd, svdpp; `kgrec models` \
                                lists them), or train one",
                    None =>
                        "train a rating model (`kgrec train --model svd` or `--model \
                             svdpp`), or name a stored one's version with --model-version",
                }
            )));
        };
        let prediction = model.predict(served.matrix.user_id(user), served.matrix.item_id(item));
        let user_stored = served.matrix.user_id(user).is_some() || served.user_id(user).is_some();
        let item_stored = served.matrix.item_id(item).is_some() || served.is_new_item(item);
        Ok(PredictedRating {
            user_hint: match user_stored {
                true => String::new(),
                false => lookalike_hint(user, served.matrix.users().names()),
            },
            item_hint: match item_stored {
                true => String::new(),
                false => lookalike_hint(item, served.matrix.items().names()),
            },
            user_stored,
            item_stored,
            user: user.to_owned(),
            item: item.to_owned(),
            rating: prediction.rating,
            basis: prediction.basis,
            scale: (model.scale.min(), model.scale.max()),
            model: header.clone(),
        })
    }

    pub fn similar(&self, item: &str, k: usize, version: Option<u64>) -> Result<SimilarItems> {
        self.similar_in(item, k, version, &LabelLangs::default())
    }

    /// [`Engine::similar`] with labels chosen in `langs`.
    pub fn similar_in(
        &self,
        item: &str,
        k: usize,
        version: Option<u64>,
        langs: &LabelLangs,
    ) -> Result<SimilarItems> {
        let served = self.served_version(version)?;
        let header = &served.model.header;
        let learnt_nothing = |why: &str, advice: &str| {
            Error::BadInput(format!(
                "item {item:?} {why}: model v{} {} learnt nothing about it, so no item can be \
                 said to be like it; {advice}",
                header.version,
                header.kind.name(),
            ))
        };
        let added_since = || {
            learnt_nothing(
                "was added after the model was trained",
                "train again to include it",
            )
        };
        // An item without interactions under a model that ignores the graph: its links could
        // not have placed it, and the models that do place such items are named.
        let graph_blind = || {
            learnt_nothing(
                &format!(
                    "had no interactions when the model was trained, and {} does not use the \
                     graph, so the item's links could not place it",
                    header.kind.name()
                ),
                "kg-ease or cke place an item without interactions from its links in the graph \
                 (`kgrec train --model kg-ease`); or train again once it has interactions",
            )
        };
        let id = match served.matrix.item_id(item) {
            Some(id) => id,
            // Stored since binding: nothing learnt until the next training.
            None if served.is_new_item(item) => return Err(added_since()),
            None => {
                return Err(Error::UnknownItem {
                    item: item.to_owned(),
                    hint: lookalike_hint(item, served.matrix.items().names()),
                });
            }
        };
        let model = served.model.recommender();
        let mut weights = vec![0.0f32; model.n_items()];
        if id.index() < model.n_items() && model.item_similarities(id, &mut weights) {
            if weights.iter().all(|w| *w == 0.0) {
                // tfidf relates items by their text alone: interactions play no part.
                if header.kind == learners::ModelKind::Tfidf {
                    return Err(learnt_nothing(
                        "shares no word of its text in the graph with any other item (tfidf \
                         relates items by their text alone, whatever their interactions)",
                        "give the items labels or abstracts that share words, or ask a model \
                         that learns from interactions (`kgrec train --model als`)",
                    ));
                }
                if !header.kind.reads_graph() {
                    return Err(graph_blind());
                }
                return Err(learnt_nothing(
                    "had no interactions when the model was trained and nothing in the graph \
                     ties it to other items",
                    "train again once it has interactions",
                ));
            }
            // Never a retired item (`import links --retire`): it is no longer offered.
            let mut skip = self.retired_ids(&served)?;
            skip.push(id.0);
            skip.sort_unstable();
            skip.dedup();
            let top = crate::cf::top_k(&weights, k, &skip);
            return Ok(SimilarItems {
                item: item.to_owned(),
                graph_only: served.graph_placed().binary_search(&id.0).is_ok(),
                similar: describe(&served, &top, (langs, self.label_store(langs)?.as_ref()))?,
                left_out: 0,
                note: flat_similarities_note(&weights, &[id.0], header)
                    .or_else(|| similar_ties_note(&top)),
                model: header.clone(),
            });
        }
        let vectors = match (model.factors(), model.fused()) {
            (Some(f), _) => f.items.to_owned(),
            (None, Some(f)) => f.item_vectors().clone(),
            (None, None) if header.kind == learners::ModelKind::UserKnn => {
                return Err(Error::BadInput(format!(
                    "model v{} userknn relates users to users: it has neither item vectors nor \
                     item neighbours, so it recommends (and explains) but cannot say which items \
                     are like an item; similar items need {}",
                    header.version,
                    similar_models()
                )));
            }
            (None, None) => {
                return Err(Error::BadInput(format!(
                    "model v{} {} has no item vectors; similar items need {}",
                    header.version,
                    header.kind.name(),
                    similar_models()
                )));
            }
        };
        let bases = served.item_bases(vectors.nrows());
        let cke = header.kind == learners::ModelKind::Cke;
        match bases.get(id.index()) {
            Some(Basis::Interactions | Basis::Graph) => {}
            Some(Basis::Nothing) if id.index() < vectors.nrows() => {
                let linked = is_linked(&served, id);
                return Err(if cke && linked {
                    learnt_nothing(
                        "had no interactions when the model was trained and its entity has no \
                         edge in the graph to place it by",
                        "train again once it has interactions, or import facts about its entity \
                         (`kgrec import kg`)",
                    )
                } else if cke {
                    learnt_nothing(
                        "had no interactions when the model was trained and no linked entity \
                         in the graph",
                        "train again once it has interactions or a link to an entity of the graph",
                    )
                } else if !header.kind.reads_graph() {
                    graph_blind()
                } else {
                    learnt_nothing(
                        "had no interactions when the model was trained",
                        "train again once it has interactions",
                    )
                });
            }
            _ => return Err(added_since()),
        }
        let norm = |r: ndarray::ArrayView1<'_, f32>| r.dot(&r).sqrt();
        let target = vectors.row(id.index());
        let tn = norm(target);
        let scores: Vec<f32> = vectors
            .outer_iter()
            .map(|r| {
                let d = tn * norm(r);
                if d > 0.0 { r.dot(&target) / d } else { 0.0 }
            })
            .collect();
        // Ascending, as `top_k` wants its exclusions.
        let exclude: Vec<u32> = (0..scores.len() as u32)
            .filter(|&i| i == id.0 || bases[i as usize] == Basis::Nothing)
            .collect();
        let left_out = bases
            .iter()
            .enumerate()
            .filter(|&(i, b)| i != id.index() && *b == Basis::Nothing)
            .count();
        let mut skip = self.retired_ids(&served)?;
        skip.extend_from_slice(&exclude);
        skip.sort_unstable();
        skip.dedup();
        let top = crate::cf::top_k(&scores, k, &skip);
        let mut similar = describe(&served, &top, (langs, self.label_store(langs)?.as_ref()))?;
        for (found, scored) in similar.iter_mut().zip(&top) {
            found.graph_only = bases[scored.item.index()] == Basis::Graph;
        }
        Ok(SimilarItems {
            item: item.to_owned(),
            graph_only: bases[id.index()] == Basis::Graph,
            similar,
            left_out,
            note: collapse_note(&served)
                .or_else(|| flat_similarities_note(&scores, &exclude, header))
                .or_else(|| similar_ties_note(&top)),
            model: header.clone(),
        })
    }

    /// The event weights stored by `import interactions --event-weights` (posted rows name
    /// their `event` by them), `None` when the ratings are no event weights.
    pub fn event_weights(&self) -> Result<Option<EventWeights>> {
        self.read(|dir| Ok(InteractionStore::open(dir.db())?.events()?))
    }

    /// Counts of the graph, the interactions and the models.
    pub fn stats(&self) -> Result<Stats> {
        self.read(|dir| {
            let c = dir.kg().counts()?;
            let interactions = InteractionStore::open(dir.db())?;
            let counts = interactions.counts()?;
            // The fingerprint of the interactions now, against the current model's (the
            // same hash the served model's staleness compares): a full read of the store,
            // as training makes; `stats` is not on a hot path.
            let snapshot = interactions.load()?;
            let fingerprint = snapshot.fingerprint;
            let (rating_scale, single_rating) = match interactions.scale()? {
                Some(s) => (Some((s, true)), None),
                None if counts.interactions > 0 => {
                    (snapshot.rating_scale(), snapshot.single_rating())
                }
                None => (None, None),
            };
            let rating_scale = rating_scale.map(|(s, declared)| ScaleSummary {
                min: s.min(),
                max: s.max(),
                declared,
            });
            let store = ModelStore::open(dir.db(), &dir.models_dir())?;
            let current = store.current()?;
            let model_versions: Vec<ModelVersion> = store
                .list()?
                .into_iter()
                .map(|h| {
                    let ann = match store.load_index_head(h.version)? {
                        Some(head) => Some(AnnIndex::read_summary(&head).map_err(|e| {
                            StoreError::corruption(
                                format!("model v{} approximate index", h.version),
                                e,
                            )
                        })?),
                        None => None,
                    };
                    Ok(ModelVersion {
                        version: h.version,
                        model: h.kind.name(),
                        current: Some(h.version) == current,
                        graph_embedding: h.kind.is_graph_embedding(),
                        ann,
                    })
                })
                .collect::<Result<_>>()?;
            let current_header = store
                .list()?
                .into_iter()
                .find(|h| Some(h.version) == current);
            let model_fingerprint = current_header.as_ref().map(|h| h.fingerprint);
            let stale = current_header
                .as_ref()
                .is_some_and(|h| h.fingerprint != fingerprint);
            let stale_note = current_header.as_ref().filter(|_| stale).map(|h| {
                format!(
                    "model v{} ({}) was trained on other interactions than the store holds now \
                     ({} interactions, {} users, {} items then; {} interactions, {} users, {} \
                     items now): imports, removals or HTTP posts since; run `kgrec train` (or \
                     a rebuild) to learn them",
                    h.version,
                    h.kind.name(),
                    h.interactions,
                    h.users,
                    h.items,
                    counts.interactions,
                    counts.users,
                    counts.items
                )
            });
            let models = model_versions
                .iter()
                .map(|m| {
                    let mark = if m.current { " (current)" } else { "" };
                    let ann = m.ann.map_or(String::new(), |a| {
                        format!(
                            ", top-K approximate (HNSW{}, ef {}{})",
                            match a.bands {
                                0 | 1 => String::new(),
                                n => format!(", {}", norm_bands(n as usize)),
                            },
                            a.ef,
                            a.recall.map_or(String::new(), |r| format!(
                                ", recall@{} {r:.3} on {} users",
                                a.recall_k, a.recall_users
                            ))
                        )
                    });
                    format!("v{} {}{mark}{ann}", m.version, m.model)
                })
                .collect();
            let tuning = crate::store::TuningStore::open_existing(dir.db())?;
            let best = match &tuning {
                Some(t) => t.best()?,
                None => None,
            };
            let records = match &tuning {
                Some(t) => t.all()?,
                None => Vec::new(),
            };
            let best_record = records
                .iter()
                .find(|t| best.as_deref() == Some(t.learner.as_str()))
                .cloned();
            let tuned = records
                .into_iter()
                .map(|t| TunedSummary {
                    best: best.as_deref() == Some(t.learner.as_str()),
                    compared: best_record.as_ref().is_some_and(|b| b.same_rows(&t)),
                    flags: t.overrides.flags(),
                    fingerprint: format!("{:016x}", t.fingerprint),
                    trials: t.trials.len(),
                    learner: t.learner,
                    metric: t.metric,
                    value: t.value,
                    default_value: t.default_value,
                    created_unix: t.created_unix,
                })
                .collect();
            Ok(Stats {
                tuned,
                triples: c.triples,
                entities: c.entities,
                relations: c.relations,
                literals: c.literals,
                edges: c.edges,
                named_graph_statements: c.named_graph_statements,
                users: counts.users,
                users_without_interactions: counts
                    .users
                    .saturating_sub(tune::users_with_interactions(&snapshot) as u64),
                items: counts.items,
                retired_items: crate::store::RetiredStore::open(dir.db())?.len() as u64,
                interactions: counts.interactions,
                models,
                model_versions,
                data_dir: dir.path().to_owned(),
                backend: crate::datadir::BACKEND,
                rating_scale,
                single_rating,
                event_weights: interactions
                    .events()?
                    .map(|w| w.iter().map(|(k, w)| (k.to_owned(), w)).collect()),
                fingerprint: format!("{fingerprint:016x}"),
                model_fingerprint: model_fingerprint.map(|f| format!("{f:016x}")),
                stale,
                stale_note,
            })
        })
    }

    /// The stored versions' headers, ascending, and the current version.
    pub fn models(&self) -> Result<(Vec<ModelHeader>, Option<u64>)> {
        self.read(|dir| {
            let store = ModelStore::open(dir.db(), &dir.models_dir())?;
            Ok((store.list()?, store.current()?))
        })
    }

    /// A read-only SPARQL query over the graph. Errors say what is wrong in the user's terms:
    /// an empty query, an unknown query form, an undeclared prefix.
    pub fn sparql(&self, query: &str) -> Result<QueryResults<'static>> {
        self.sparql_cancellable(query, CancellationToken::new())
    }

    /// [`Engine::sparql`] that stops once `cancel` is cancelled (by another thread, at a time
    /// limit): reading the results then fails with `QueryEvaluationError::Cancelled`.
    pub fn sparql_cancellable(
        &self,
        query: &str,
        cancel: CancellationToken,
    ) -> Result<QueryResults<'static>> {
        self.read(|dir| worded(query, |query| dir.kg().query_cancellable(query, cancel)))
    }

    /// The RDF syntax a text that is no SPARQL query seems to be written in (`Turtle`,
    /// `RDF/XML`, `N-Triples or Turtle`): a data file given where a query goes. Meant for a
    /// text [`Engine::sparql`] refused; its error says the same without the file's name.
    pub fn sparql_rdf_data(text: &str) -> Option<&'static str> {
        crate::sparql_hints::rdf_data_kind(text)
    }

    /// Notes on a query that ran: variables it selects that nothing binds (their columns come
    /// back empty), each with the nearest variable it does bind.
    pub fn sparql_notes(query: &str) -> Vec<String> {
        crate::sparql_hints::unbound_selected(query)
            .into_iter()
            .map(|(name, near)| match near {
                Some(near) => format!(
                    "?{name} is selected but nothing in the query binds it (its column is empty): \
                     did you mean ?{near}?"
                ),
                None => format!(
                    "?{name} is selected but nothing in the query binds it (its column is empty)"
                ),
            })
            .collect()
    }

    /// The IRIs `query` names that no statement of the graph mentions (as subject, predicate or
    /// object), each with the graph's nearest IRI when one is a typo or two away (predicates
    /// first): why a query found nothing. A query that does not parse names none.
    pub fn sparql_absent_iris(&self, query: &str) -> Result<Vec<AbsentIri>> {
        use kgrec_kg::oxigraph::model::NamedNodeRef;
        let named = crate::sparql_hints::named_iris(query);
        if named.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|dir| {
            let store = dir.kg().rdf_store()?;
            let holds = |iri: &str| -> Result<bool> {
                let Ok(node) = NamedNodeRef::new(iri) else {
                    return Ok(false);
                };
                for quad in [
                    store.quads_for_pattern(None, Some(node), None, None).next(),
                    store
                        .quads_for_pattern(Some(node.into()), None, None, None)
                        .next(),
                    store
                        .quads_for_pattern(None, None, Some(node.into()), None)
                        .next(),
                ] {
                    match quad {
                        Some(Ok(_)) => return Ok(true),
                        Some(Err(e)) => return Err(kgrec_kg::KgError::from(e).into()),
                        None => {}
                    }
                }
                // A named graph's name (`GRAPH <g>`, `FROM NAMED <g>`) is held too.
                if let Ok(node) = NamedNodeRef::new(iri) {
                    return store
                        .contains_named_graph(node)
                        .map_err(|e| kgrec_kg::KgError::from(e).into());
                }
                Ok(false)
            };
            let index = dir.kg().index();
            // The store's named graphs, sorted, and how many: a query that names a graph the
            // store lacks is told which it has (the first [`NAMED_GRAPHS_LISTED`]).
            let graphs = || -> Result<Vec<String>> {
                let mut names = Vec::new();
                for name in store.named_graphs() {
                    let name = name.map_err(kgrec_kg::KgError::from)?;
                    if let kgrec_kg::oxigraph::model::NamedOrBlankNode::NamedNode(n) = name {
                        names.push(n.into_string());
                    }
                }
                names.sort_unstable();
                Ok(names)
            };
            let mut graph_names: Option<Vec<String>> = None;
            let names_graphs = crate::sparql_hints::names_graphs(query);
            let mut candidates: Option<(Vec<String>, Vec<String>)> = None;
            let mut absent = Vec::new();
            for iri in named {
                if holds(&iri)? {
                    continue;
                }
                let (predicates, entities) = match &mut candidates {
                    Some(known) => known,
                    empty => empty.insert((
                        distinct_predicates(&store)?,
                        // Beyond this many, the search would take longer than the answer is
                        // worth; predicates are the usual typo.
                        if index.counts()?.entities <= MAX_ENTITIES_FOR_HINTS {
                            index.entity_iris()?
                        } else {
                            Vec::new()
                        },
                    )),
                };
                // An IRI written with non-ASCII characters that the graph stores
                // percent-encoded (as IRIs minted from TSV tokens are) is the same resource.
                let encoded =
                    percent_encoding::utf8_percent_encode(&iri, percent_encoding::CONTROLS)
                        .to_string();
                if encoded != iri && holds(&encoded)? {
                    absent.push(AbsentIri {
                        iri,
                        nearest: Some(encoded),
                        named_graphs: None,
                    });
                    continue;
                }
                let in_store: &[String] = match (names_graphs, &mut graph_names) {
                    (false, _) => &[],
                    (true, Some(known)) => known,
                    (true, empty) => empty.insert(graphs()?),
                };
                let nearest = crate::sparql_hints::nearest_iri(&iri, in_store.iter())
                    .or_else(|| crate::sparql_hints::nearest_iri(&iri, predicates.iter()))
                    .or_else(|| crate::sparql_hints::nearest_iri(&iri, entities.iter()))
                    .map(|(_, near)| near.clone());
                let named_graphs = (names_graphs && nearest.is_none()).then(|| {
                    let total = in_store.len();
                    (
                        in_store.iter().take(NAMED_GRAPHS_LISTED).cloned().collect(),
                        total,
                    )
                });
                absent.push(AbsentIri {
                    iri,
                    nearest,
                    named_graphs,
                });
            }
            Ok(absent)
        })
    }

    /// The plain string literals `query` compares with that the graph holds only with a
    /// language tag, each with up to three of those tagged forms (`"Toy Story"@en`): why a
    /// query that says `?label = "Toy Story"` finds nothing on labels tagged `@en` (a plain
    /// literal never equals a tagged one). One pass over the graph's statements, stopped after
    /// [`MAX_STATEMENTS_FOR_LITERAL_HINTS`].
    pub fn sparql_tagged_twins(&self, query: &str) -> Result<Vec<(String, Vec<String>)>> {
        use kgrec_kg::oxigraph::model::Term;
        let plain = crate::sparql_hints::plain_literals(query);
        if plain.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|dir| {
            let store = dir.kg().rdf_store()?;
            let mut tagged: Vec<Vec<String>> = vec![Vec::new(); plain.len()];
            let mut untagged = vec![false; plain.len()];
            for quad in store
                .quads_for_pattern(None, None, None, None)
                .take(MAX_STATEMENTS_FOR_LITERAL_HINTS)
            {
                let quad = quad.map_err(kgrec_kg::KgError::from)?;
                let Term::Literal(literal) = &quad.object else {
                    continue;
                };
                let Some(i) = plain.iter().position(|p| p == literal.value()) else {
                    continue;
                };
                match literal.language() {
                    Some(_) => {
                        let form = literal.to_string();
                        if tagged[i].len() < 3 && !tagged[i].contains(&form) {
                            tagged[i].push(form);
                        }
                    }
                    None => untagged[i] = true,
                }
            }
            Ok(plain
                .into_iter()
                .zip(tagged)
                .zip(untagged)
                .filter(|((_, tagged), untagged)| !tagged.is_empty() && !untagged)
                .map(|(pair, _)| pair)
                .collect())
        })
    }

    /// Where another process can open the graph's RDF store, read-only, as it is now (see
    /// [`kgrec_kg::KgStore::detached`]); [`sparql_on`] runs queries on what it opens.
    pub fn detached_graph(&self) -> Result<kgrec_kg::Detached> {
        self.read(|dir| Ok(dir.kg().detached()?))
    }

    /// Writes the graph embeddings of `version` (default: the current one) to `out` as
    /// `entities.tsv`, `relations.tsv` and `meta.json`, the graph's IRIs as first column.
    pub fn export_embeddings(
        &self,
        version: Option<u64>,
        out: &Path,
    ) -> Result<EmbeddingsExported> {
        self.read(|dir| {
            let store = ModelStore::open(dir.db(), &dir.models_dir())?;
            let versions = store.versions()?;
            let asked = version.is_some();
            let version = match version {
                Some(v) if versions.contains(&v) => v,
                Some(v) => {
                    return Err(Error::BadInput(format!(
                        "--version {v}: no such model version (stored: {})",
                        version_list(&versions)
                    )));
                }
                None => newest_with_embeddings(&store)?
                    .or(store.current()?)
                    .ok_or(StoreError::NoModel)?,
            };
            let stored: StoredModel = store.load(version)?;
            let kind = stored.header.kind;
            let Some(model) = learners::embeddings_of(&stored)? else {
                return Err(Error::BadInput(format!(
                    "model v{version} {} has no graph embeddings; {}",
                    kind.name(),
                    match asked {
                        true => "give the --version of a transe, rotate, transr or cke model",
                        false => "train transe, rotate, transr or cke (or give --version)",
                    }
                )));
            };
            let index = dir.kg().index();
            let entities = iri_vocab(index.entity_iris()?, model.num_entities(), "entity")?;
            let relations = iri_vocab(index.relation_iris()?, model.num_relations(), "relation")?;
            kgrec_kg::embed::write_export(out, &model, &entities, &relations)
                .map_err(kgrec_kg::embed::RunError::from)?;
            Ok(EmbeddingsExported {
                version,
                kind,
                model: model.kind().name(),
                entities: model.num_entities(),
                relations: model.num_relations(),
                dim: model.dim(),
            })
        })
    }

    /// For each IRI of `iris` (linked IRIs the graph lacks), the graph's IRI that is the same
    /// text percent-decoded (`…/%C3%A9t%C3%A9` for the graph's `…/été`, `a%20b` for `a b`) or
    /// with its non-ASCII characters percent-encoded, when the graph holds that one: RDF
    /// tells the two spellings apart, so the link misses, and the warning names the one there.
    /// A link written as a prefixed name whose prefix is not one of the well-known ones
    /// (`ex:a1`, stored as the IRI `<ex:a1>`) gets the graph's entity whose IRI ends in
    /// `/a1` or `#a1`, if one does (the first in the graph's order).
    pub fn graph_spellings<'a>(
        &self,
        iris: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<Option<String>>> {
        self.read(|dir| {
            let index = dir.kg().index();
            let mut all = None;
            iris.into_iter()
                .map(|iri| graph_spelling(index, iri, &mut all))
                .collect()
        })
    }

    /// Stored items whose id, read as a TSV graph's token (`CS101` → `<urn:kgrec:CS101>`),
    /// names an entity of the graph that is not the one the item is linked to: facts a TSV
    /// graph gives about such a token reach no item (a link file ties items to entities).
    /// The first `limit`, and how many.
    pub fn items_beside_their_tokens(&self, limit: usize) -> Result<(Vec<TokenTwin>, usize)> {
        self.read(|dir| {
            let index = dir.kg().index();
            let snapshot = InteractionStore::open(dir.db())?.load()?;
            let mut found = Vec::new();
            let mut total = 0;
            for (i, item) in snapshot.items.iter().enumerate() {
                if kgrec_kg::source::is_absolute_iri(item) {
                    continue;
                }
                let iri = kgrec_kg::source::tsv_token_iri(kgrec_kg::source::DEFAULT_TSV_BASE, item);
                let link = snapshot.links.get(i).cloned().flatten().map(|l| l.iri);
                if link.as_deref() == Some(iri.as_str()) || index.entity_id(&iri)?.is_none() {
                    continue;
                }
                total += 1;
                if found.len() < limit {
                    found.push(TokenTwin {
                        item: item.clone(),
                        token_iri: iri,
                        linked: link,
                    });
                }
            }
            Ok((found, total))
        })
    }

    /// An entity's label and its first `limit` neighbours (forward and inverse), by IRI.
    pub fn neighbourhood(&self, iri: &str, limit: usize) -> Result<Option<Neighbourhood>> {
        self.read(|dir| {
            let index = dir.kg().index();
            let Some(entity) = index.entity_id(iri)? else {
                return Ok(None);
            };
            let projection = Projection::from_index(index)?;
            let name = |id: EntityId| -> Result<String> {
                Ok(match index.label(id)? {
                    Some(label) => label,
                    None => index.entity_iri(id)?.unwrap_or_default(),
                })
            };
            let mut steps = Vec::new();
            for step in projection.steps(entity).take(limit) {
                let relation = index.relation_iri(step.relation)?.unwrap_or_default();
                steps.push((
                    local_name(&relation).to_owned(),
                    step.walk == Walk::Forward,
                    name(step.to)?,
                ));
            }
            Ok(Some(Neighbourhood {
                name: name(entity)?,
                steps,
            }))
        })
    }

    /// The external ids of every user of the store, store order.
    pub fn users(&self) -> Result<Vec<String>> {
        Ok(self.served()?.users())
    }

    /// Trains on `request.train` in a temporary data directory (with `request.kg` and
    /// `request.link`), ranks the users of `request.test` at the largest cut-off and scores the
    /// lists (`metrics::evaluate`, as `score_recs.py`).
    pub fn evaluate(
        request: &EvalRequest,
        progress: &mut dyn FnMut(&EpochReport),
    ) -> Result<EvalOutcome> {
        if request.ks.is_empty() || request.ks.contains(&0) {
            return Err(Error::BadInput(
                "-k: give cut-offs of at least 1".to_owned(),
            ));
        }
        let kind = request.train_request.spec.kind();
        if kind.is_graph_embedding() {
            return Err(Error::BadInput(format!(
                "--model {} is a graph embedding, not a recommender; use {}",
                kind.name(),
                learners::recommender_names().join(", ")
            )));
        }
        let train_rows = read_rows(&request.train, &request.read, request.min_rating)?;
        let test = read_file(&request.test, &request.read)?;
        let mut notes = train_rows.notes.clone();
        notes.extend(test.notes());
        let mut test_rows = test.rows;
        // What the training keeps as liked is what the test counts as relevant.
        if let Some(r) = request.min_rating {
            filter_min_rating(&mut test_rows, r);
        }
        let links = match request.link.as_deref() {
            Some(file) => {
                let read = read_link_file(file, &request.link_columns)?;
                notes.extend(read.notes(&source::display_name(file)));
                notes.extend(link_notes(file, &read.links));
                read.links
            }
            None => Vec::new(),
        };
        // Removed by a Ctrl-C too (the binary's handler), not only when this returns.
        // Named `kgrec-eval.PID.` so that a later `eval` removes one a `kill -9` left.
        kgrec_kg::fsutil::remove_stale_scratch("kgrec-eval");
        let tmp = crate::datadir::scratch_dir(&kgrec_kg::fsutil::scratch_prefix("kgrec-eval"))?;
        let engine = Engine::create(&tmp.path().join("data"))?;
        if !request.kg.is_empty() {
            engine.import_kg(&request.kg, &ImportOptions::default(), &mut |_| {})?;
        }
        let train = by_user(
            train_rows
                .rows
                .iter()
                .map(|r| (r.user.clone(), r.item.clone())),
        );
        if request.task == EvalTask::Ranking {
            let test_pairs: HashSet<(&str, &str)> = test_rows
                .iter()
                .map(|r| (r.user.as_str(), r.item.as_str()))
                .collect();
            if !test_pairs.is_empty()
                && test_pairs
                    .iter()
                    .all(|(u, i)| train.get(*u).is_some_and(|k| k.contains(*i)))
            {
                return Err(Error::BadInput(format!(
                    "{}: every one of its {} test interactions is also in the training file {}: \
                     lists never hold a user's training items, so nothing could be found (was \
                     the same file given twice?); give --test a held-out file (rows not in \
                     --train)",
                    request.test.display(),
                    test_pairs.len(),
                    request.train.display()
                )));
            }
        }
        let (_, missing) = engine.write_interactions(
            train_rows.rows,
            links,
            (request.read.rating_scale, None),
            true,
        )?;
        // As `import interactions --link` warns: linked IRIs the graph lacks leave those
        // items without a graph part in the figures.
        if let (Some(file), Some(first)) = (request.link.as_deref(), missing.first()) {
            notes.push(format!(
                "warning: {}: {} linked IRI(s) are not in the --kg graph (the first: <{}>, item \
                 {}): those items are scored from who interacted with them alone, so the \
                 graph-aware figures count them without a graph part",
                source::display_name(file).display(),
                missing.len(),
                first.iri,
                first.item
            ));
        }
        let mut train_request = request.train_request.clone();
        train_request.keep = 1;
        // The training's notes name eval's own flags (--kg, --link).
        train_request.caller = request.read.caller;
        if request.tune.is_none()
            && let Some(flags) = &request.flags
        {
            let built = engine.train_spec(Some(train_request.spec.kind().name()), flags, false)?;
            notes.extend(built.sized.map(|s| s.note()));
            train_request.spec = built.spec;
            train_request.shrink_collapsed_reg = built.default_reg;
        }
        if let Some(tune) = &request.tune {
            let outcome = engine.tune(tune, &mut |_| {}, &AtomicBool::new(false))?;
            if let Some(best) = outcome.best() {
                train_request.spec = ModelSpec::new(&best.learner, &best.overrides)?;
                notes.push(format!(
                    "tuned on the training file for {:.0} s: {} with {} ({} {} on validation \
                     rows carved from it{}, {})",
                    outcome.seconds,
                    best.learner,
                    match best.overrides.flags() {
                        f if f.is_empty() => "its defaults".to_owned(),
                        f => f,
                    },
                    best.metric,
                    crate::metrics::figure(best.value),
                    outcome.whole_items_clause(),
                    crate::metrics::with_the_defaults(best.default_value)
                ));
                notes.extend(outcome.new_items_left_out(best));
                notes.extend(outcome.cold_rules.iter().cloned());
                if let Some(n) = outcome
                    .graph_within_noise
                    .iter()
                    .find(|n| n.learner == best.learner)
                {
                    notes.push(format!(
                        "{}: the graph's gain over the best draw without it ({:+.4}) was not \
                         above its standard error ({:.4}): chosen without the graph",
                        n.learner, n.gain, n.standard_error
                    ));
                }
            }
        }
        if request.task == EvalTask::Rating && !train_request.spec.kind().predicts_ratings() {
            return Err(Error::BadInput(format!(
                "--task rating: --model {} ranks items but does not predict ratings (use {})",
                train_request.spec.kind().name(),
                learners::rating_names().join(", ")
            )));
        }
        let trained = engine.train(&train_request, progress, &AtomicBool::new(false))?;
        let served = engine.served()?;
        if request.task == EvalTask::Rating {
            let rating = rating_metrics(&served, &test_rows, &request.test)?;
            notes.extend(trained.notes);
            return Ok(EvalOutcome {
                evaluation: Evaluation::default(),
                model: served.model.header.clone(),
                notes,
                rating: Some(rating),
                lists: Vec::new(),
                unknown_users: 0,
                known: None,
            });
        }

        let mut test_users: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for r in &test_rows {
            if seen.insert(r.user.as_str()) {
                test_users.push(r.user.clone());
            }
        }
        let test_users: Vec<&str> = test_users.iter().map(String::as_str).collect();
        let max_k = request.ks.iter().copied().max().unwrap_or(10);
        let lists = scored_lists_of(&served, &test_users, max_k)?;
        let recs: HashMap<String, Vec<String>> = lists
            .iter()
            .map(|r| {
                let items = r.items.iter().map(|(item, _)| item.clone()).collect();
                (r.user.clone(), items)
            })
            .collect();
        let test = by_user(test_rows.into_iter().map(|r| (r.user, r.item)));
        let mut notes: Vec<String> = notes.into_iter().chain(trained.notes).collect();
        let train_items: HashSet<&String> = train.values().flatten().collect();
        if !test.is_empty() && test.values().flatten().all(|i| !train_items.contains(i)) {
            notes.push(
                "no item of the test file is in the training file: a model that learns from \
                 interactions alone has nothing to rank them by (cke, with --kg and --link, \
                 places such items from the graph)"
                    .to_owned(),
            );
        }
        let (pairs, seen) = test.iter().fold((0usize, 0usize), |(n, s), (u, items)| {
            let known = train.get(u);
            let in_train = items
                .iter()
                .filter(|i| known.is_some_and(|k| k.contains(*i)))
                .count();
            (n + items.len(), s + in_train)
        });
        // All of them: refused before the training.
        if seen > 0 {
            notes.push(format!(
                "{seen} of the {pairs} test interactions are also in the training file (the same \
                 user and item): lists never hold a user's training items, so those {seen} count \
                 as misses (they are kept in the test set, not excluded); drop them from the \
                 test file to score only what can be found"
            ));
        }
        // The coverage catalogue: both files' items and every item the model could rank
        // (linked items in neither file among them), so coverage never exceeds 1.
        let rankable = rankable_names(&served);
        let evaluation = evaluate(&recs, &test, Some(&train), &rankable, &request.ks);
        // Test users the training file does not know get the popularity fallback, scored under
        // the model's name: say how many, and score the known ones alone as well.
        let unknown_users = test.keys().filter(|u| !train.contains_key(*u)).count();
        let known = (unknown_users > 0 && unknown_users < test.len()).then(|| {
            let known_test: HashMap<String, HashSet<String>> = test
                .iter()
                .filter(|(u, _)| train.contains_key(*u))
                .map(|(u, items)| (u.clone(), items.clone()))
                .collect();
            evaluate(&recs, &known_test, Some(&train), &rankable, &request.ks)
        });
        if unknown_users > 0 {
            notes.push(unknown_test_users_note(
                unknown_users,
                test.len(),
                train_request.spec.kind(),
                known.as_ref(),
                &request.ks,
            ));
        }
        notes.extend(whole_catalogue_note(
            &test_users,
            &train,
            &rankable,
            &request.ks,
        ));
        let kind = train_request.spec.kind();
        if kind != learners::ModelKind::Popularity {
            // `--model pop` on the same split, fitted after the model's lists are ranked.
            let pop = TrainRequest {
                spec: ModelSpec::new("pop", &learners::Overrides::default())?,
                ..train_request.clone()
            };
            // Only a note rides on it: a baseline that cannot be had is no failure of eval's.
            let baseline = engine
                .train(&pop, &mut |_| {}, &AtomicBool::new(false))
                .and_then(|_| engine.served())
                .and_then(|pop| lists_of(&pop, &test_users, max_k))
                .map(|lists| evaluate(&lists, &test, Some(&train), &rankable, &request.ks));
            if let Ok(baseline) = baseline {
                notes.extend(below_popularity(&evaluation, &baseline, &request.ks, kind));
            }
        }
        Ok(EvalOutcome {
            evaluation,
            model: served.model.header.clone(),
            notes,
            rating: None,
            lists,
            unknown_users,
            known,
        })
    }
}

/// What eval says of `unknown` of the `users` test users that the training file does not
/// know: the model cannot score them, their lists are the popularity fallback, and the figures
/// under the model's name count them; `known` (the figures of the others) at the largest
/// cut-off of `ks`, when there are known users.
fn unknown_test_users_note(
    unknown: usize,
    users: usize,
    kind: learners::ModelKind,
    known: Option<&Evaluation>,
    ks: &[usize],
) -> String {
    let k = ks.iter().copied().max().unwrap_or(10);
    let known = match known.and_then(|e| e.at(k).map(|a| (e.users, a.mean.ndcg))) {
        Some((n, ndcg)) => format!(
            "; the {n} known users alone score nDCG@{k} {ndcg:.4} (all figures for them are \
             reported as `known users`)"
        ),
        None => "; no test user is in the training file, so every list is the popularity \
                 fallback and the figures are those of `--model pop`"
            .to_owned(),
    };
    format!(
        "{unknown} of {users} test users are not in the training file: the model cannot score \
         them, so their lists are the popularity fallback, counted in the figures under {}'s \
         name{known}",
        kind.name()
    )
}

/// The names of the items the served model can put in a list (those it learnt something of).
fn rankable_names(served: &Served) -> HashSet<String> {
    let unlearnt: HashSet<u32> = unlearnt_items(served).iter().copied().collect();
    (0..served.model.recommender().n_items())
        .filter_map(|i| u32::try_from(i).ok())
        .filter(|i| !unlearnt.contains(i))
        .filter_map(|i| {
            item_name(&served.snapshot, ItemId(i))
                .ok()
                .map(str::to_owned)
        })
        .collect()
}

/// The served model's lists of `users` (by name), `k` items each.
fn lists_of(served: &Served, users: &[&str], k: usize) -> Result<HashMap<String, Vec<String>>> {
    Ok(scored_lists_of(served, users, k)?
        .into_iter()
        .map(|r| (r.user, r.items.into_iter().map(|(item, _)| item).collect()))
        .collect())
}

/// The served model's lists of `users` (by name), `k` items each, with their scores.
fn scored_lists_of(served: &Served, users: &[&str], k: usize) -> Result<Vec<UserRecs>> {
    let ids: Vec<Option<UserId>> = users.iter().map(|u| served.matrix.user_id(u)).collect();
    let lists = rank_users(
        served.model.recommender(),
        &served.matrix,
        &ids,
        k,
        unlearnt_items(served),
    );
    users
        .iter()
        .zip(lists)
        .map(|(user, list)| {
            Ok(UserRecs {
                user: (*user).to_owned(),
                fallback: list.is_fallback(),
                items: list
                    .items
                    .iter()
                    .map(|s| Ok((item_name(&served.snapshot, s.item)?.to_owned(), s.score)))
                    .collect::<Result<Vec<_>>>()?,
            })
        })
        .collect()
}

/// A warning when a cut-off reaches the number of items a test user can be recommended (the
/// items the model can rank, less the user's training items): such a list holds every
/// candidate, so recall, hit rate and coverage at that cut-off are high by construction.
fn whole_catalogue_note(
    test_users: &[&str],
    train: &HashMap<String, HashSet<String>>,
    rankable: &HashSet<String>,
    ks: &[usize],
) -> Option<String> {
    let candidates: Vec<usize> = test_users
        .iter()
        .map(|u| {
            let own = train.get(*u).map_or(0, |items| {
                items.iter().filter(|i| rankable.contains(*i)).count()
            });
            rankable.len() - own
        })
        .collect();
    if rankable.is_empty() {
        return None;
    }
    let fewest = candidates.iter().copied().min()?;
    let mut ks: Vec<usize> = ks.iter().copied().filter(|&k| k >= fewest).collect();
    ks.sort_unstable();
    let k = *ks.first()?;
    let whole = candidates.iter().filter(|&&c| c <= k).count();
    Some(format!(
        "warning: -k {}: the model can rank {} items, and at @{k} the lists of {whole} of the {} \
         test users hold every item they could be recommended (all but their training items), \
         so recall, hit rate and coverage there are high by construction, whatever the model; \
         use cut-offs below {fewest} (the fewest candidates a test user has)",
        ks.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
        rankable.len(),
        test_users.len()
    ))
}

/// A warning when the model's nDCG (at 10 when asked, else at the largest cut-off) is below
/// that of `--model pop` on the same split (`popularity`): a default model can lose to
/// popularity on a small implicit catalogue, and a table of figures alone does not say so.
fn below_popularity(
    evaluation: &Evaluation,
    popularity: &Evaluation,
    ks: &[usize],
    kind: learners::ModelKind,
) -> Option<String> {
    let k = if ks.contains(&10) {
        10
    } else {
        ks.iter().copied().max()?
    };
    let ndcg = |e: &Evaluation| e.at.iter().find(|a| a.k == k).map(|a| a.mean.ndcg);
    let (model, pop) = (ndcg(evaluation)?, ndcg(popularity)?);
    (model < pop).then(|| {
        format!(
            "warning: {} ranks below popularity on this split: nDCG@{k} {model:.4} against \
             {pop:.4} for --model pop; {}",
            kind.name(),
            match kind {
                learners::ModelKind::Ease => {
                    "on a small catalogue try --tune to fit its regularisation".to_owned()
                }
                _ => format!(
                    "on a small or implicit catalogue try --model ease, or --tune to fit {}'s \
                     regularisation",
                    kind.name()
                ),
            }
        )
    })
}

/// RMSE and MAE of the served rating model on the rated rows of a test file.
fn rating_metrics(served: &Served, rows: &[RawInteraction], file: &Path) -> Result<RatingMetrics> {
    let model = served
        .model
        .recommender()
        .rating_model()
        .ok_or_else(|| Error::Internal {
            what: "a rating learner served a model without ratings".to_owned(),
        })?;
    let (mut se, mut ae, mut n, mut unknown_users, mut unknown_items) = (0.0, 0.0, 0, 0, 0);
    for row in rows {
        let Some(r) = row.rating else { continue };
        let p = model.predict(
            served.matrix.user_id(&row.user),
            served.matrix.item_id(&row.item),
        );
        let e = f64::from(p.rating) - f64::from(r);
        se += e * e;
        ae += e.abs();
        n += 1;
        use crate::cf::PredictionBasis::{Unknown, UnknownItem, UnknownUser};
        unknown_users += usize::from(matches!(p.basis, UnknownUser | Unknown));
        unknown_items += usize::from(matches!(p.basis, UnknownItem | Unknown));
    }
    if n == 0 {
        return Err(Error::BadInput(format!(
            "--task rating: {} has no ratings to score (a rating column is found by its name, \
             or named with --rating-col)",
            file.display()
        )));
    }
    Ok(RatingMetrics {
        rmse: (se / n as f64).sqrt(),
        mae: ae / n as f64,
        rated: n,
        unknown_users,
        unknown_items,
    })
}

/// A training's inputs, read out of the data directory: the fit needs nothing else.
#[derive(Debug)]
pub struct TrainingData {
    snapshot: crate::store::Snapshot,
    matrix: crate::cf::InteractionMatrix,
    item_entity: Vec<Option<EntityId>>,
    graph: GraphData,
    /// The current version when the inputs were read.
    base_current: Option<u64>,
}

impl TrainingData {
    /// Fits `request.spec` (the data directory is not needed: another process may hold it).
    pub fn fit(
        &self,
        request: &TrainRequest,
        progress: &mut dyn FnMut(&EpochReport),
        cancel: &AtomicBool,
    ) -> Result<Fitted> {
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        let input = TrainInput {
            snapshot: &self.snapshot,
            matrix: &self.matrix,
            graph: &self.graph,
            item_entity: &self.item_entity,
            caller: request.caller,
        };
        let mut spec = request.spec.clone();
        let mut shrunk = Vec::new();
        // The fitted model, and its collapse (checked once: the note below says it too).
        let (mut fitted, model, collapsed) = loop {
            let fitted = spec.fit(&input, request.seed, progress, cancel)?;
            if cancel.load(Ordering::Relaxed) {
                return Err(Error::Cancelled);
            }
            let model = self.bound(&fitted)?;
            let collapsed = model
                .as_ref()
                .and_then(|m| collapse::check(fitted.header.kind, m.as_ref(), &self.matrix));
            // The shapes a too strong regularisation gives (not a catalogue whose items no two
            // users share, nor the popularity order, which a smaller one does not mend).
            let mendable = collapsed.filter(|c| {
                matches!(
                    c,
                    collapse::Collapse::Zero
                        | collapse::Collapse::OneOrder { .. }
                        | collapse::Collapse::NearOneOrder { .. }
                )
            });
            let smaller = match (
                request.shrink_collapsed_reg,
                spec.regularization(),
                mendable,
            ) {
                (true, Some(reg), Some(c)) if shrunk.len() < REG_SHRINKS && reg > 0.0 => {
                    spec.with_regularization(reg / 10.0).map(|s| (s, reg, c))
                }
                _ => None,
            };
            match smaller {
                Some((smaller, reg, collapse)) => {
                    shrunk.push((reg, collapse));
                    spec = smaller;
                }
                None => break (fitted, model, collapsed),
            }
        };
        if let (Some(&(first, collapse)), Some(last)) = (shrunk.first(), spec.regularization()) {
            fitted.notes.push(shrunk_reg_note(
                fitted.header.kind.name(),
                (first, collapse),
                last,
                &self.matrix,
            ));
        }
        if model.is_some()
            && let Some(note) = self.collapse_note(&fitted, collapsed)
        {
            fitted.notes.push(note);
        }
        if let Some(model) = &model {
            fitted.notes.extend(new_item_exposure_note(
                fitted.header.kind,
                model.as_ref(),
                &self.matrix,
                &self.item_entity,
            ));
        }
        if model.is_some() {
            fitted.notes.extend(tiny_catalogue_note(
                tune::users_with_interactions(&self.snapshot),
                self.snapshot.records.len(),
            ));
        }
        let ann = match &model {
            Some(model) if request.ann.wanted(model.n_items()) => {
                let (ann, note) = build_ann(model.as_ref(), &request.ann, request.seed)?;
                fitted.notes.extend(note);
                ann
            }
            _ => None,
        };
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        Ok(Fitted {
            trained: fitted,
            base_current: self.base_current,
            ann,
        })
    }

    /// The fitted recommender, ready to score (`None` for a graph embedding).
    fn bound(&self, fitted: &learners::Trained) -> Result<Option<Box<dyn Recommender>>> {
        if fitted.header.kind.is_graph_embedding() {
            return Ok(None);
        }
        let stored = StoredModel {
            header: fitted.header.clone(),
            arrays: fitted.arrays.clone(),
        };
        let binding = Binding {
            snapshot: &self.snapshot,
            matrix: &self.matrix,
            graph: &self.graph,
            item_entity: &self.item_entity,
        };
        Ok(match learners::load(stored, &binding)? {
            learners::Loaded::Recommender(model) => Some(model),
            learners::Loaded::Embeddings(_) => None,
        })
    }

    /// A note when the fitted model's scores do not tell its users apart (`collapsed`, what
    /// [`collapse::check`] found): its lists would be in arbitrary order, or the popularity
    /// order; or, collapsed or not, when a few far ratings stretched the scale its rating
    /// confidence divides by ([`collapse::stretched_scale`]).
    fn collapse_note(
        &self,
        fitted: &learners::Trained,
        collapsed: Option<collapse::Collapse>,
    ) -> Option<String> {
        if fitted.header.kind == learners::ModelKind::Popularity {
            return None;
        }
        let stretch = collapse::stretched_scale(&fitted.header, &self.matrix, self.snapshot.scale)
            .map(|s| collapse::stretch_text(&s, &self.matrix));
        match collapsed {
            // A warning, not a note: the model's lists mean little (kept under --quiet).
            Some(c) => Some(format!(
                "warning: {}",
                collapse::describe(c, &fitted.header, stretch)
            )),
            // Said even when the scores did not collapse: the ratings barely count.
            None => stretch.map(|text| format!("{}: {text}", fitted.header.kind.name())),
        }
    }
}

/// What `train` says when the default regularisation `first` collapsed the fit and it was
/// refitted at `last` ([`TrainRequest::shrink_collapsed_reg`]).
fn shrunk_reg_note(
    learner: &str,
    (first, collapse): (f32, collapse::Collapse),
    last: f32,
    matrix: &crate::cf::InteractionMatrix,
) -> String {
    let shape = match collapse {
        collapse::Collapse::Zero => format!(
            "it scored every item within {:.0e} of zero",
            collapse::COLLAPSED
        ),
        _ => "it ranked the items in about one order for every user".to_owned(),
    };
    format!(
        "{learner}: the default --reg {first} is too strong for this catalogue ({} users, {} \
         items, {} interactions): {shape}, so the fit was done again at --reg {last} (a tenth \
         at a time, at most {REG_SHRINKS} times); --reg R to choose another",
        matrix.n_users(),
        matrix.n_items(),
        matrix.nnz(),
    )
}

/// The approximate top-K index of `model` (its bytes) and a note saying what was built, or why
/// none was (a model that is not a dot product of factors, or whose factors cannot be indexed).
fn build_ann(
    model: &dyn Recommender,
    settings: &AnnSettings,
    seed: u64,
) -> Result<(Option<Vec<u8>>, Option<String>)> {
    let Some(factors) = model.factors() else {
        let note = (settings.mode == AnnMode::On).then(|| {
            "--ann on: this learner's scores are not a dot product of factors; top-K stays \
             exact"
                .to_owned()
        });
        return Ok((None, note));
    };
    let started = std::time::Instant::now();
    let mut index = match AnnIndex::build(&factors, &settings.params()) {
        Ok(index) => index,
        Err(e) => return Ok((None, Some(format!("{e}; top-K stays exact")))),
    };
    let built = started.elapsed().as_secs_f64();
    let cal = settings.calibration(seed);
    let got = index.calibrate(&factors, &cal);
    if !got.reached {
        return Ok((
            None,
            Some(format!(
                "approximate top-K index (HNSW, {}) over {} items: recall@{} against exact \
                 {:.3} on {} users at ef {}, below the target {}; top-K stays exact (raise \
                 --ann-ef-max or --ann-bands, or lower --ann-recall)",
                norm_bands(index.n_bands()),
                index.n_items(),
                cal.k,
                got.recall,
                got.users,
                got.ef,
                cal.target
            )),
        ));
    }
    let bytes = index.to_bytes().map_err(|e| Error::Internal {
        what: e.to_string(),
    })?;
    let note = format!(
        "approximate top-K index (HNSW {}, M {}, efConstruction {}, {}) over {} items built \
         in {:.1} s, {} MiB; ef {} chosen: recall@{} against exact {:.3} on {} users ({:.1} s \
         in all)",
        settings.metric.name(),
        settings.connections,
        settings.ef_construction,
        norm_bands(index.n_bands()),
        index.n_items(),
        built,
        bytes.len() / (1 << 20),
        got.ef,
        cal.k,
        got.recall,
        got.users,
        started.elapsed().as_secs_f64(),
    );
    Ok((Some(bytes), Some(note)))
}

/// Below this spread of an item's similarities to every other (max − min), `similar`'s order
/// means nothing.
const COLLAPSED_SPREAD: f32 = 1e-3;

/// Refuses the first row given in memory with an empty id, an id holding a control character
/// (a tab or a line break would break the batch file) or a rating that is not a finite number
/// or beyond [`crate::interactions::MAX_RATING`].
fn check_rows(rows: &[RawInteraction]) -> Result<()> {
    for (n, row) in rows.iter().enumerate() {
        for (what, id) in [("user", &row.user), ("item", &row.item)] {
            if id.is_empty() {
                return Err(Error::BadInput(format!(
                    "interaction {}: the {what} id is empty",
                    n + 1
                )));
            }
            if id.chars().any(char::is_control) {
                return Err(Error::BadInput(format!(
                    "interaction {}: the {what} id {id:?} holds a control character",
                    n + 1
                )));
            }
        }
        if let Some(r) = row.rating
            && !r.is_finite()
        {
            return Err(Error::BadInput(format!(
                "interaction {}: rating {r} is not a finite number",
                n + 1
            )));
        }
        if let Some(r) = row.rating
            && r.abs() > crate::interactions::MAX_RATING
        {
            return Err(Error::BadInput(format!(
                "interaction {}: rating {r:e} is implausibly large (kgrec refuses ratings \
                 beyond ±16777216, 2^24)",
                n + 1
            )));
        }
    }
    Ok(())
}

/// One job of a group commit applied to the store's state: its links resolved against the
/// graph, then its rows and links merged, all or nothing.
fn apply_job(
    index: &GraphIndex,
    state: &mut StoreState,
    rows: &[RawInteraction],
    links: Vec<ItemLink>,
    (scale, events): (Option<RatingScale>, Option<EventWeights>),
) -> Result<(ImportReport, Vec<ItemLink>)> {
    let events = check_events(state, events.as_ref(), rows)?;
    // Event strengths are checked against their weights, and set the scale below.
    if events.is_none() {
        check_scale(state, scale, rows)?;
    }
    check_time_units(state, rows)?;
    let (links, missing) = resolve_links(index, links)?;
    refuse_lost_links(index, state, &missing)?;
    refuse_foreign_links(index, state, (&links, &missing), rows)?;
    // Judged before the rows join the store: against what it held (event weights are chosen,
    // not stretched).
    let stretched = match scale.or(state.scale()) {
        Some(_) => None,
        None if events.is_some() || state.events().is_some() => None,
        None => stretch_note(state.records(), rows),
    };
    // Set before the rows join, so that they merge by the largest weight; put back if they fail.
    let before = state.events().cloned();
    let events_scale = events.as_ref().and_then(EventWeights::scale);
    if let Some(events) = events {
        state.declare_events(events);
    }
    let mut report = match state.apply(rows, &links) {
        Ok(report) => report,
        Err(e) => {
            state.reset_events(before);
            return Err(e.into());
        }
    };
    report.stretched_scale = stretched;
    if let Some(scale) = scale.or(events_scale) {
        state.declare_scale(scale);
    }
    // A bare token stored before the graph minted its IRI is the same link, not a new one.
    report
        .relinked
        .retain(|r| !matches!(index.resolve_entity(&r.old), Ok(Some((iri, _))) if iri == r.new));
    Ok((report, missing))
}

/// The graph's own spelling of `iri` when the graph lacks it as written: the IRI a prefixed
/// name (`dbr:Alien`) stands for there, the IRI percent-decoded or -encoded, or the one IRI
/// that differs from it in letter case alone (or by `http`/`https`, or a trailing `/`). `all`
/// caches the graph's entity IRIs, read only when needed.
fn graph_spelling(
    index: &GraphIndex,
    iri: &str,
    all: &mut Option<Vec<String>>,
) -> Result<Option<String>> {
    let entities = |all: &mut Option<Vec<String>>| -> Result<()> {
        if all.is_none() {
            *all = Some(index.entity_iris()?);
        }
        Ok(())
    };
    if let Some((_, local)) = prefixed_name(iri) {
        entities(all)?;
        let found = all.iter().flatten().find(|e| {
            e.strip_suffix(local)
                .is_some_and(|ns| ns.ends_with(['/', '#']))
        });
        if let Some(found) = found {
            return Ok(Some(found.clone()));
        }
    }
    let decoded = percent_encoding::percent_decode_str(iri)
        .decode_utf8()
        .map(|d| d.into_owned())
        .ok();
    let encoded =
        percent_encoding::utf8_percent_encode(iri, percent_encoding::CONTROLS).to_string();
    for other in decoded.into_iter().chain([encoded]) {
        if other != iri && index.entity_id(&other)?.is_some() {
            return Ok(Some(other));
        }
    }
    // Case, scheme and a trailing slash: one IRI of the graph alike under all three.
    let loose = |s: &str| {
        let s = s
            .strip_prefix("https://")
            .map_or(s.to_owned(), |r| format!("http://{r}"));
        s.trim_end_matches('/').to_lowercase()
    };
    let wanted = loose(iri);
    entities(all)?;
    let mut alike = all.iter().flatten().filter(|e| loose(e) == wanted);
    Ok(match (alike.next(), alike.next()) {
        (Some(one), None) => Some(one.clone()),
        _ => None,
    })
}

/// Refuses links that would replace an item's link to an entity of the graph by an IRI the
/// graph lacks (`missing`, as [`resolve_links`] found them): a typo (`Alien` written `alien`)
/// would silently take the item's graph part, paths and cold-start placement away. Each is
/// named with the graph's spelling when it has a near one.
fn refuse_lost_links(index: &GraphIndex, state: &StoreState, missing: &[ItemLink]) -> Result<()> {
    let lost: Vec<(&ItemLink, &str)> = missing
        .iter()
        .filter_map(|l| {
            let stored = state.link_of(&l.item)?;
            (stored.entity.is_some() && stored.iri != l.iri).then_some((l, stored.iri.as_str()))
        })
        .collect();
    let Some(&(first, _)) = lost.first() else {
        return Ok(());
    };
    let mut all = None;
    let mut named = Vec::new();
    for (link, stored) in lost.iter().take(5) {
        let near = graph_spelling(index, &link.iri, &mut all)?
            .map_or(String::new(), |n| format!("; did you mean <{n}>?"));
        named.push(format!(
            "item {:?} is linked to <{stored}>, in the graph, and would be relinked to <{}>, \
             which the graph lacks{near}",
            link.item, link.iri
        ));
    }
    let more = match lost.len() {
        n if n > 5 => format!(" (and {} more)", n - 5),
        _ => String::new(),
    };
    Err(Error::BadInput(format!(
        "{}{more}: a link to an IRI the graph lacks does not replace one to an entity it holds, \
         which would take the item's graph part and paths away; nothing was written. Correct \
         the IRI, or import the graph file that holds <{}> first (`kgrec import kg FILE`) and \
         then the links",
        named.join("; "),
        first.iri
    )))
}

/// Fewest links of a file [`refuse_foreign_links`] judges: fewer are a few new items.
const FOREIGN_LINKS_MIN: usize = 5;

/// Refuses links that look like another catalogue's: a graph is imported, yet none of their
/// IRIs is in it, none of their items is in the catalogue, and no row of the job names a known
/// user or item (a link file given to the wrong `--data`). Stored, they would add items no
/// model can rank, and items are never deleted (only retired).
fn refuse_foreign_links(
    index: &GraphIndex,
    state: &StoreState,
    (links, missing): (&[Link], &[ItemLink]),
    rows: &[RawInteraction],
) -> Result<()> {
    if links.len() < FOREIGN_LINKS_MIN || missing.len() < links.len() || state.items().is_empty() {
        return Ok(());
    }
    let triples = index.counts()?.triples;
    if triples == 0 {
        return Ok(());
    }
    let items: HashSet<&str> = state.items().iter().map(String::as_str).collect();
    let users: HashSet<&str> = state.users().iter().map(String::as_str).collect();
    if links.iter().any(|l| items.contains(l.item.as_str()))
        || rows
            .iter()
            .any(|r| items.contains(r.item.as_str()) || users.contains(r.user.as_str()))
    {
        return Ok(());
    }
    Err(Error::BadInput(format!(
        "none of the {} links' IRIs is in the graph ({triples} triples; the first: <{}>) and none \
         of their items ({:?}, ...) is in the catalogue ({} items): these links look like another \
         catalogue's, or meant for another --data directory; nothing was written (stored, they \
         would add {} items no model can rank, and items are never deleted). If they are new \
         items, import the graph file that holds their IRIs first (`kgrec import kg FILE`), then \
         the links",
        links.len(),
        missing[0].iri,
        links[0].item,
        items.len(),
        links.len()
    )))
}

/// The event weights to store after a job with `events` (the stored ones extended by the
/// kinds `events` adds), or `None` when the job brings none. Refused: a weight that differs
/// from the stored one for the same kind (stored strengths were weighed by it and cannot be
/// weighed again), event weights into a store of explicit ratings, and rated rows (ratings,
/// not events) into a store of event weights: a careful tool does not compare a 5-star rating
/// with a purchase's weight, and the largest-weight rule would let either override the other.
fn check_events(
    state: &StoreState,
    events: Option<&EventWeights>,
    rows: &[RawInteraction],
) -> Result<Option<EventWeights>> {
    let name = |names: &[String], k: usize| names.get(k).cloned().unwrap_or_default();
    match (events, state.events()) {
        (Some(given), Some(stored)) => match stored.extended(given) {
            Ok(all) => Ok(Some(all)),
            Err((kind, old, new)) => Err(Error::BadInput(format!(
                "--event-weights {kind}={new}: this data directory's strengths were weighed with \
                 {kind}={old} (its event weights: {stored}), and a stored strength cannot be \
                 weighed again; import with the stored weights (new kinds may be added), or \
                 import every file into a new data directory (--data NEW) with the new ones"
            ))),
        },
        (Some(given), None) => match state.records().iter().find(|r| r.rating.is_some()) {
            Some(r) => Err(Error::BadInput(format!(
                "--event-weights: this data directory holds explicit ratings (user {:?}, \
                     item {:?}: rating {}), and event weights ({given}) would be mixed with \
                     them, each pair keeping the larger; import the events into a new data \
                     directory (--data NEW)",
                name(state.users(), r.user.index()),
                name(state.items(), r.item.index()),
                r.rating.unwrap_or_default()
            ))),
            None => Ok(Some(given.clone())),
        },
        (None, Some(stored)) => match rows.iter().find(|r| r.rating.is_some()) {
            Some(r) => Err(Error::BadInput(format!(
                "rating {} (user {:?}, item {:?}): this data directory's strengths are event \
                 weights ({stored}), and ratings would be mixed with them; import the file \
                 with --event-col and --event-weights (posted rows: an \"event\" instead of a \
                 \"rating\"), or without its rating column",
                r.rating.unwrap_or_default(),
                r.user,
                r.item
            ))),
            // Unweighed rows would weigh as the top kind (rows without a rating weigh 1 under
            // `--confidence rating`, a stored event its share of the top weight).
            None if !rows.is_empty() => Err(Error::NoEvents {
                input: "the interactions".to_owned(),
                stored: stored.clone(),
                posted: true,
            }),
            None => Ok(None),
        },
        (None, None) => Ok(None),
    }
}

/// Refuses rows whose timestamps are in another unit than every stored one: seconds into a
/// store of milliseconds (kept as given by earlier versions, or under `--time-unit s`), or
/// numbers of 10¹¹ or more (milliseconds read as seconds under `--time-unit s`) into a store of
/// seconds, so that no import compares the two. A store that already mixes them is left be.
fn check_time_units(state: &mut StoreState, rows: &[RawInteraction]) -> Result<()> {
    use crate::interactions::MILLISECONDS;
    let stamps = || {
        rows.iter()
            .flat_map(|r| r.timestamp.into_iter().chain(r.stamps.iter().map(|s| s.0)))
    };
    let first_seconds = stamps().find(|&t| t < MILLISECONDS);
    let first_millis = stamps().find(|&t| t >= MILLISECONDS);
    if first_seconds.is_none() && first_millis.is_none() {
        return Ok(());
    }
    match (state.timestamp_units(), first_seconds, first_millis) {
        ((true, false), Some(t), _) => Err(Error::BadInput(format!(
            "timestamp {t} is in seconds, but this data directory's timestamps are all in \
             milliseconds (10^11 or more: kept as given by an earlier kgrec, or imported with \
             --time-unit s), and comparing the two would misjudge which row is newer: import \
             files in milliseconds with --time-unit s to keep its unit, or import everything \
             again into a new data directory (--data NEW), where milliseconds are stored as \
             seconds"
        ))),
        ((false, true), _, Some(t)) => Err(Error::BadInput(format!(
            "timestamp {t} looks like milliseconds (10^11 or more, after the year 5138 as \
             seconds), but this data directory's timestamps are in seconds: import with \
             --time-unit ms (or auto, the default) to convert them"
        ))),
        _ => Ok(()),
    }
}

/// Refuses a declared scale other than the stored one, a declared scale that a stored rating
/// falls outside, and a row rated outside the scale in force (declared, else stored).
fn check_scale(
    state: &StoreState,
    declared: Option<RatingScale>,
    rows: &[RawInteraction],
) -> Result<()> {
    let outside = |scale: RatingScale, r: Option<f32>| r.is_some_and(|x| !scale.contains(x));
    match (declared, state.scale()) {
        (Some(d), Some(s)) if d != s => {
            return Err(Error::BadInput(format!(
                "--rating-scale {d}: this data directory's ratings are on the scale {s}, \
                 declared by an earlier import"
            )));
        }
        (Some(d), None) => {
            if let Some(r) = state.records().iter().find(|r| outside(d, r.rating)) {
                let name = |names: &[String], k: usize| names.get(k).cloned().unwrap_or_default();
                return Err(Error::BadInput(format!(
                    "--rating-scale {d}: the data directory already holds rating {} (user {:?}, \
                     item {:?}), outside it",
                    r.rating.unwrap_or_default(),
                    name(state.users(), r.user.index()),
                    name(state.items(), r.item.index())
                )));
            }
        }
        _ => {}
    }
    let Some(scale) = declared.or(state.scale()) else {
        return Ok(());
    };
    match rows.iter().find(|r| outside(scale, r.rating)) {
        Some(r) => Err(Error::BadInput(format!(
            "rating {} (user {:?}, item {:?}) is outside the data's rating scale {scale}",
            r.rating.unwrap_or_default(),
            r.user,
            r.item
        ))),
        None => Ok(()),
    }
}

/// Output fields of ranked items, labelled in `labels` (a preference and, for one other than
/// the default, the RDF store: [`Engine::label_store`]).
fn describe(
    served: &Served,
    items: &[Scored],
    labels: (&LabelLangs, Option<&Store>),
) -> Result<Vec<RecommendedItem>> {
    let mut out = Vec::with_capacity(items.len());
    for (rank, s) in items.iter().enumerate() {
        let entity = served.item_entity.get(s.item.index()).copied().flatten();
        let ItemDetails { iri, label } =
            item_details(&served.snapshot, &served.index, entity, s.item, labels)?;
        out.push(RecommendedItem {
            item: item_name(&served.snapshot, s.item)?.to_owned(),
            rank: rank + 1,
            score: s.score,
            iri,
            label,
            graph_only: served.graph_placed().binary_search(&s.item.0).is_ok(),
        });
    }
    Ok(out)
}

/// A stored item whose id is a TSV graph's token naming another entity than the item's own
/// ([`Engine::items_beside_their_tokens`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenTwin {
    /// The item id.
    pub item: String,
    /// The IRI the graph minted for the id as a token (`urn:kgrec:CS101`).
    pub token_iri: String,
    /// The IRI the item is linked to, if any.
    pub linked: Option<String>,
}

/// An IRI a SPARQL query names that the graph does not hold ([`Engine::sparql_absent_iris`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsentIri {
    pub iri: String,
    /// The graph's nearest IRI, when it is a typo or two away.
    pub nearest: Option<String>,
    /// For a query that names graphs (`GRAPH`, `FROM`) and an IRI with no near one: the
    /// store's named graphs (the first [`NAMED_GRAPHS_LISTED`]) and how many it has, so that a
    /// mistyped or guessed graph name is answered with the names there are.
    pub named_graphs: Option<(Vec<String>, usize)>,
}

/// How many of the store's named graphs [`AbsentIri::named_graphs`] lists.
pub const NAMED_GRAPHS_LISTED: usize = 5;

/// The statements [`Engine::sparql_tagged_twins`] looks through at most.
const MAX_STATEMENTS_FOR_LITERAL_HINTS: usize = 5_000_000;

/// Graphs with more entities than this get absent-IRI hints from their predicates only.
const MAX_ENTITIES_FOR_HINTS: u64 = 200_000;

/// Every predicate of the store (literal-valued ones too), for "did you mean" hints.
fn distinct_predicates(store: &kgrec_kg::oxigraph::store::Store) -> Result<Vec<String>> {
    let query = "SELECT DISTINCT ?p WHERE { ?s ?p ?o }";
    let mut predicates = Vec::new();
    if let QueryResults::Solutions(rows) =
        kgrec_kg::store::query_store(store, query, CancellationToken::new())?
    {
        for row in rows {
            let row = row.map_err(kgrec_kg::KgError::from)?;
            if let Some(kgrec_kg::oxigraph::model::Term::NamedNode(p)) = row.get("p") {
                predicates.push(p.as_str().to_owned());
            }
        }
    }
    Ok(predicates)
}

/// [`Engine::sparql_cancellable`] on a store of the caller's own (one that
/// [`kgrec_kg::Detached::open`] opened in another process): the same errors, the same order of
/// variables.
pub fn sparql_on(
    store: &kgrec_kg::oxigraph::store::Store,
    query: &str,
    cancel: CancellationToken,
) -> Result<QueryResults<'static>> {
    worded(query, |query| {
        kgrec_kg::store::query_store(store, query, cancel)
    })
}

/// Runs `query` through `evaluate` with kgrec's wording: an empty query and syntax errors
/// explained, solutions in the query's variable order.
fn worded(
    query: &str,
    evaluate: impl FnOnce(&str) -> kgrec_kg::error::Result<QueryResults<'static>>,
) -> Result<QueryResults<'static>> {
    if crate::sparql_hints::is_blank(query) {
        return Err(Error::BadInput(
            "empty SPARQL query: give a SELECT, ASK, CONSTRUCT or DESCRIBE query".to_owned(),
        ));
    }
    match evaluate(query) {
        Err(kgrec_kg::KgError::BadQuery(message)) if message.starts_with("SPARQL syntax") => Err(
            Error::BadInput(crate::sparql_hints::explain(query, &message)),
        ),
        Ok(QueryResults::Solutions(solutions)) => {
            Ok(QueryResults::Solutions(in_query_order(query, solutions)))
        }
        other => Ok(other?),
    }
}

/// The solutions with their variables in the order the query first names them: `SELECT *`
/// came back as `?o ?p ?s` (the evaluator's order), the query's own is `?s ?p ?o`.
fn in_query_order(
    query: &str,
    solutions: kgrec_kg::oxigraph::sparql::QuerySolutionIter<'static>,
) -> kgrec_kg::oxigraph::sparql::QuerySolutionIter<'static> {
    use kgrec_kg::oxigraph::sparql::{QuerySolution, QuerySolutionIter, Variable};
    let given: Vec<Variable> = solutions.variables().to_vec();
    let first_use = |v: &Variable| crate::sparql_hints::first_use(query, v.as_str());
    let mut ordered = given.clone();
    // Stable: variables the text never names (none, in practice) keep their place at the end.
    ordered.sort_by_key(|v| first_use(v).unwrap_or(usize::MAX));
    if ordered == given {
        return solutions;
    }
    let variables: std::sync::Arc<[Variable]> = ordered.into();
    let shared = std::sync::Arc::clone(&variables);
    QuerySolutionIter::new(
        variables,
        solutions.map(move |solution| {
            solution.map(|s| {
                let values: Vec<_> = shared.iter().map(|v| s.get(v).cloned()).collect();
                QuerySolution::from((std::sync::Arc::clone(&shared), values))
            })
        }),
    )
}

/// Why the served model's lists mean little, when they do ([`collapse::check`], computed once
/// per served state): the one text every report of a collapse uses.
pub fn collapse_note(served: &Served) -> Option<String> {
    served
        .collapse
        .get_or_init(|| {
            collapse::check(
                served.model.header.kind,
                served.model.recommender(),
                &served.matrix,
            )
        })
        .map(|c| {
            let stretch = collapse::stretched_scale(
                &served.model.header,
                &served.matrix,
                served.snapshot.scale,
            )
            .map(|s| collapse::stretch_text(&s, &served.matrix));
            collapse::describe(c, &served.model.header, stretch)
        })
}

/// Why a list's order means little: the model collapsed ([`collapse_note`]), or, for a model
/// that did not, every score of the list is within [`collapse::COLLAPSED`] of zero because
/// the items left share nothing with the user's.
fn collapsed_note(
    served: &Served,
    list: &crate::serving::RankedList,
    user: &str,
) -> Option<String> {
    let header = &served.model.header;
    // An empty list has no order to call arbitrary.
    if header.kind == learners::ModelKind::Popularity
        || list.source == ListSource::Popularity
        || list.items.is_empty()
    {
        return None;
    }
    if let Some(note) = collapse_note(served) {
        return Some(note);
    }
    let flat = !list.items.is_empty()
        && list
            .items
            .iter()
            .all(|s| s.score.abs() < collapse::COLLAPSED);
    if !flat {
        return None;
    }
    let near = collapse::COLLAPSED;
    // A model that did not collapse scores the user's own items well; whether it does says
    // which of the two the list is.
    let model = served.model.recommender();
    let own_best = served
        .user_id(user)
        .filter(|u| u.index() < model.n_users())
        .and_then(|u| {
            let mut scores = vec![0.0f32; model.n_items()];
            model.score_items(u, &mut scores);
            let (items, _) = served.matrix.user_row(u);
            items
                .iter()
                .filter_map(|&i| scores.get(i as usize))
                .map(|s| s.abs())
                .reduce(f32::max)
        })
        .unwrap_or(0.0);
    Some(match header.kind {
        _ if own_best >= 10.0 * near => format!(
            "every score of this list is within {near:.0e} of zero: the items left for \
             {user} share nothing under model v{} {} with the ones they have (those score up to \
             {own_best:.3}), so the order of these is near-arbitrary",
            header.version,
            header.kind.name()
        ),
        _ => format!(
            "every score of this list is within {near:.0e} of zero: under model v{} {} the \
             user's items tie them to almost nothing (few other users have them), so the order \
             is near-arbitrary",
            header.version,
            header.kind.name()
        ),
    })
}

/// Why one item's score (`kgrec explain`) means little: the model collapsed
/// ([`collapse_note`]), or it scores every item within [`collapse::COLLAPSED`] of zero for
/// `user`, their own items included (their items tie them to almost nothing). `None` for a user
/// the model does not know (their list is the popular items) and for the popularity model.
pub fn collapsed_user_note(served: &Served, user: &str) -> Option<String> {
    let header = &served.model.header;
    if header.kind == learners::ModelKind::Popularity {
        return None;
    }
    let model = served.model.recommender();
    let u = served
        .user_id(user)
        .filter(|u| u.index() < model.n_users())?;
    // Their scores are the popularity fallback's ([`emptied_explain_note`]), not the model's.
    if emptied_user(served, user) {
        return None;
    }
    if let Some(note) = collapse_note(served) {
        return Some(format!(
            "{note}; so this item's score and rank are near-arbitrary"
        ));
    }
    let mut scores = vec![0.0f32; model.n_items()];
    model.score_items(u, &mut scores);
    let near = collapse::COLLAPSED;
    let flat = scores.len() > 1 && scores.iter().all(|s| s.abs() < near);
    flat.then(|| {
        format!(
            "model v{} {} scores every item within {near:.0e} of zero for {user}, their own \
             items too: their items tie them to almost nothing (few other users have them), so \
             this item's score and rank are near-arbitrary",
            header.version,
            header.kind.name(),
        )
    })
}

/// Why a stored user gets the popularity fallback when every interaction of theirs was removed
/// (`import interactions --remove`): the model has nothing of theirs to score from.
pub fn emptied_user_note(user: &str) -> String {
    format!(
        "user {user} has no interactions (all were removed): the list is the popularity \
         fallback, the most popular items scored by interaction count, not the model's"
    )
}

/// Whether `user` is stored but has no interactions left (all were removed with `import
/// interactions --remove` or `DELETE /v1/interactions`).
pub fn emptied_user(served: &Served, user: &str) -> bool {
    served
        .user_id(user)
        .is_some_and(|u| served.history(u).row().items.is_empty())
}

/// [`emptied_user_note`] for one item's explanation.
pub fn emptied_explain_note(user: &str) -> String {
    format!(
        "user {user} has no interactions (all were removed): the score is the popularity \
         fallback's, the item's interaction count, not the model's, and no path can start from \
         a history"
    )
}

/// Why a user the store knows gets the popularity fallback: they arrived after the served
/// model was trained and it could not fold them in (the CLI's stale-model note says as much on
/// standard error; an HTTP answer says it here).
fn not_folded_in_note(
    served: &Served,
    list: &crate::serving::RankedList,
    request: &RecommendRequest,
    unknown: bool,
) -> Option<String> {
    let header = &served.model.header;
    (list.source == ListSource::Popularity
        && !unknown
        && header.kind != learners::ModelKind::Popularity)
        .then(|| {
            format!(
                "user {} arrived after model v{} {} was trained and could not be folded in from \
                 their interactions (the model folds in no new users, or knows none of their \
                 items): the list is the most popular items, not the model's, until a model is \
                 trained with them (`kgrec train`, or POST /v1/admin/rebuild)",
                request.user,
                header.version,
                header.kind.name()
            )
        })
}

/// A batch whose lists hold fewer than `k` items (some, or every one empty): how many, and the
/// causes with counts (the items the model cannot rank, the retired ones, the exclude list or
/// filter when `scoped`, the users' own items), so that a short or empty file is not a silent
/// success.
fn short_lists_note(
    served: &Served,
    users: &[UserRecs],
    k: usize,
    retired: &[u32],
    scoped: bool,
) -> Option<String> {
    let short = users.iter().filter(|u| u.items.len() < k).count();
    if short == 0 {
        return None;
    }
    let empty = users.iter().filter(|u| u.items.is_empty()).count();
    let header = &served.model.header;
    let total = served.matrix.n_items();
    let rows = served.model.recommender().n_items().min(total);
    let unlearnt = unlearnt_items(served);
    let not_learnt = (total - rows) + unlearnt.len();
    let retired = retired
        .iter()
        .filter(|i| (**i as usize) < rows && unlearnt.binary_search(i).is_err())
        .count();
    let mut causes = Vec::new();
    if not_learnt > 0 {
        causes.push(format!(
            "{not_learnt} it cannot rank (no interactions when it was trained, or added since: \
             `kgrec train` learns those with interactions)"
        ));
    }
    if retired > 0 {
        causes.push(format!(
            "{retired} retired ({} offers them again)",
            availability::RESTORE
        ));
    }
    if scoped {
        causes.push("those the exclude list or filter leaves out".to_owned());
    }
    causes.push("each user's own items".to_owned());
    Some(format!(
        "{short} of the {} lists hold fewer than the {k} asked ({empty} hold none): of the data \
         directory's {total} items, model v{} {} leaves out {}",
        users.len(),
        header.version,
        header.kind.name(),
        causes.join(", ")
    ))
}

/// What can leave a user's list empty: the retired items (dense ids, ascending) and the user's
/// history (none for a user the model's matrix does not hold).
#[derive(Clone, Copy)]
struct EmptyListCauses<'a> {
    retired: &'a [u32],
    history: Option<&'a [u32]>,
}

impl EmptyListCauses<'_> {
    /// Why no item was left, with counts: of the data directory's items, those the model cannot
    /// rank (no interactions when it was trained, or added since), those retired, those in the
    /// user's history, those excluded. "They already have every item" only when that is so.
    fn describe(&self, served: &Served, request: &RecommendRequest) -> String {
        let header = &served.model.header;
        let total = served.matrix.n_items();
        let rows = served.model.recommender().n_items().min(total);
        let unlearnt = unlearnt_items(served);
        // Not ranked: past the model's rows (added since it was trained), or learnt nothing of.
        let not_learnt = (total - rows) + unlearnt.len();
        let rankable = |i: &u32| (*i as usize) < rows && unlearnt.binary_search(i).is_err();
        let retired = self.retired.iter().filter(|i| rankable(i)).count();
        let had = self.history.map_or(0, |h| {
            h.iter()
                .filter(|i| rankable(i) && self.retired.binary_search(i).is_err())
                .count()
        });
        let model = format!("model v{} {}", header.version, header.kind.name());
        let mut parts = Vec::new();
        if had > 0 {
            parts.push(format!("{had} in their history"));
        }
        if retired > 0 {
            parts.push(format!(
                "{retired} retired ({} offers them again)",
                availability::RESTORE
            ));
        }
        if !request.exclude.is_empty() {
            parts.push("the rest excluded by the exclude list".to_owned());
        }
        let ranked = rows - unlearnt.len();
        let mut said = match (parts.is_empty(), retired, had) {
            (false, 0, _) if not_learnt == 0 && request.exclude.is_empty() => {
                format!("they already have every item {model} can rank")
            }
            (true, ..) => format!("{model} can rank none of the data directory's {total} items"),
            _ => format!(
                "of the {ranked} item(s) {model} can rank, {}",
                parts.join(", ")
            ),
        };
        if not_learnt > 0 {
            said.push_str(&format!(
                "; {not_learnt} other item(s) of the data directory {model} cannot rank (no \
                 interactions when it was trained, or added since): `kgrec train` learns those \
                 with interactions"
            ));
        }
        said
    }
}

/// Users whose lists [`new_item_exposure_note`] looks at, at most (evenly spread over the ids).
const EXPOSURE_USERS: usize = 2_000;

/// The longest list [`new_item_exposure_note`] looks at.
const EXPOSURE_K: usize = 10;

/// How often the linked items nobody has interacted with, which a model places from the graph
/// alone (`cke`, `kg-ease`), are in the users' top lists, against the items with interactions;
/// said when a new item is recommended more than twice as often as the average item with
/// interactions, so that new items crowding the lists (a placement the validation favoured on
/// few rows, say) are seen, with the flag that holds them back. The lists are a top 10, or a
/// third of a typical user's candidates when that is fewer (a list holding every candidate
/// says nothing of the order).
fn new_item_exposure_note(
    kind: learners::ModelKind,
    model: &dyn Recommender,
    matrix: &crate::cf::InteractionMatrix,
    item_entity: &[Option<EntityId>],
) -> Option<String> {
    let remedy = match kind {
        learners::ModelKind::Cke if model.fused().is_some_and(|f| f.params.places_new_items()) => {
            "--cold-scale 0 keeps them out of the lists until their first interactions"
        }
        learners::ModelKind::KgEase => {
            "--cold-placement off scores them through their graph rows alone, below the items \
             they resemble"
        }
        _ => return None,
    };
    let n = matrix.n_items().min(model.n_items());
    let degrees = matrix.item_degrees();
    let (mut placed, mut unlearnt) = (Vec::new(), Vec::new());
    for i in 0..matrix.n_items() {
        let warm = degrees.get(i).is_some_and(|&d| d > 0);
        if warm && i < n {
            continue;
        }
        let linked = item_entity.get(i).copied().flatten().is_some();
        match i < n && linked && !model.item_blank(ItemId(i as u32)) {
            true => placed.push(i as u32),
            false => unlearnt.push(i as u32),
        }
    }
    let warm =
        n.saturating_sub(placed.len() + unlearnt.iter().filter(|&&i| (i as usize) < n).count());
    if placed.is_empty() || warm == 0 {
        return None;
    }
    let users: Vec<crate::ids::UserId> = {
        let all: Vec<_> = (0..matrix.n_users().min(model.n_users()))
            .map(|u| crate::ids::UserId(u as u32))
            .filter(|&u| !matrix.user_row(u).0.is_empty())
            .collect();
        let step = all.len().div_ceil(EXPOSURE_USERS).max(1);
        all.into_iter().step_by(step).collect()
    };
    let mut candidates: Vec<usize> = users
        .iter()
        .map(|&u| (warm + placed.len()).saturating_sub(matrix.user_row(u).0.len()))
        .collect();
    candidates.sort_unstable();
    let typical = candidates.get(candidates.len() / 2).copied().unwrap_or(0);
    let k = EXPOSURE_K.min(typical / 3);
    if k == 0 {
        return None;
    }
    let lists = crate::cf::recommend_all(model, matrix, &users, k, &unlearnt);
    let slots: usize = lists.iter().map(Vec::len).sum();
    let taken = lists
        .iter()
        .flatten()
        .filter(|s| placed.binary_search(&s.item.0).is_ok())
        .count();
    let per_new = taken as f64 / placed.len() as f64;
    let per_warm = (slots - taken) as f64 / warm as f64;
    if slots == 0 || per_new <= 2.0 * per_warm {
        return None;
    }
    Some(format!(
        "new items crowd the lists: the {} linked item(s) nobody has interacted with, which the \
         model placed from the graph alone, take {taken} of the {slots} top-{k} slots of {} \
         user(s)' lists ({:.0}%; they are {:.0}% of the items), {} as often as the average item \
         with interactions; {remedy}",
        placed.len(),
        users.len(),
        100.0 * taken as f64 / slots as f64,
        100.0 * placed.len() as f64 / (warm + placed.len()) as f64,
        match per_warm > 0.0 {
            true => format!("each {:.1}x", per_new / per_warm),
            false => "while no item with interactions is".to_owned(),
        },
    ))
}

/// A catalogue too small for any measure of its scores: fewer users with interactions than
/// tuning needs to hold rows out ([`MIN_TUNING_USERS`]). Said when a model is trained on it and
/// with each of its lists, so that a confident-looking order is not read as a prediction.
fn tiny_catalogue_note(users: usize, interactions: usize) -> Option<String> {
    (users < MIN_TUNING_USERS).then(|| {
        format!(
            "a tiny catalogue ({users} user(s) with interactions, {interactions} \
             interaction(s)): below {MIN_TUNING_USERS} users no rows can be held out to \
             measure a model (tuning refuses it), so nothing says these scores rank better \
             than chance; read the lists as what the data's links suggest, not as predictions"
        )
    })
}

/// What a list's order rests on, when it is worth saying: every score near zero
/// ([`collapsed_note`]), an empty list no filter or offset explains, and how ties were ranked.
fn list_notes(
    served: &Served,
    list: &crate::serving::RankedList,
    request: &RecommendRequest,
    causes: EmptyListCauses<'_>,
) -> Vec<String> {
    let header = &served.model.header;
    let collapsed = collapsed_note(served, list, &request.user);
    let said_collapsed = collapsed.is_some();
    let mut notes: Vec<String> = collapsed.into_iter().collect();
    let popular_model = header.kind == learners::ModelKind::Popularity;
    if !popular_model && !list.items.is_empty() {
        notes.extend(tiny_catalogue_note(
            header.users as usize,
            header.interactions as usize,
        ));
    }
    if list.items.is_empty() && request.filter.is_empty() && request.offset == 0 {
        notes.push(format!(
            "nothing to recommend to {}: {}",
            request.user,
            causes.describe(served, request)
        ));
    }
    let popular =
        list.source == ListSource::Popularity || header.kind == learners::ModelKind::Popularity;
    let ties = list
        .items
        .windows(2)
        .filter(|w| crate::cf::scores_tie(w[0].score, w[1].score))
        .count();
    let zeros = list.items.iter().filter(|s| s.score == 0.0).count();
    if !popular && zeros > 1 && !said_collapsed {
        notes.push(format!(
            "{zeros} item(s) of this list score exactly 0: nothing the user has ties them to \
             this model's items; they are ranked in the order the items were first imported"
        ));
    }
    if popular && ties > 0 {
        notes.push(format!(
            "{ties} item(s) of this list tie with the one above on interaction count; ties are \
             ranked in the order the items were first imported"
        ));
    }
    // Ties at a score other than 0 (those the note above covers): a content or neighbourhood
    // model ties items its users' histories relate alike (an all-tied list says so as a batch
    // does).
    // Scores within rounding noise of each other tie ([`crate::cf::scores_tie`]), as they
    // would print alike.
    let scored_ties = list
        .items
        .windows(2)
        .filter(|w| crate::cf::scores_tie(w[0].score, w[1].score) && w[0].score != 0.0)
        .count();
    if !popular && !said_collapsed && scored_ties > 0 {
        notes.push(format!(
            "{scored_ties} item(s) of this list score the same as the one above (to one part \
             in a million){}; tied items are not ranked by the model: exact ties in the order \
             they were first imported, the others by rounding noise",
            match scored_ties + 1 == list.items.len() {
                true => " (every item of the list ties)",
                false => "",
            }
        ));
    }
    notes
}

/// `1 norm band`, `44 norm bands`: an index's band count in notes and `stats`.
fn norm_bands(n: usize) -> String {
    match n {
        1 => "1 norm band".to_owned(),
        n => format!("{n} norm bands"),
    }
}

/// Which way a list's top-K was found, when the model has an approximate index (without one,
/// every list is exact and nothing is said).
fn topk_note(served: &Served, path: TopKPath) -> Option<String> {
    let ann = served.model.ann()?;
    Some(match path {
        TopKPath::Approximate => format!(
            "top-K: approximate (HNSW index, {} candidates{} rescored exactly{})",
            ann.ef(),
            if ann.n_bands() > 1 {
                format!(" per norm band, {} bands", ann.n_bands())
            } else {
                String::new()
            },
            ann.summary().recall.map_or(String::new(), |r| format!(
                "; recall@{} {r:.3} against exact when trained",
                ann.summary().recall_k
            ))
        ),
        TopKPath::ExactFallback => format!(
            "top-K: exact (the HNSW index's {} candidates held too few items this list may show)",
            ann.ef()
        ),
        TopKPath::Exact => "top-K: exact (the user was not trained with the model)".to_owned(),
    })
}

/// Whether `item` is linked to an entity of the graph.
fn is_linked(served: &Served, item: ItemId) -> bool {
    served
        .item_entity
        .get(item.index())
        .copied()
        .flatten()
        .is_some()
}

/// The items the served model learnt nothing about: no interactions in its training data and,
/// for the models that read the graph (cke, kg-ease), no linked entity, or one the model holds
/// nothing of ([`crate::cf::Recommender::item_blank`]: the entity has no edge in the graph).
fn unlearnt_items(served: &Served) -> &[u32] {
    served.unlearnt.get_or_init(|| {
        let rows = served.model.recommender().n_items();
        // A `cke` fitted with both graph weights at 0 is ALS on the items with interactions;
        // it places a linked item without them only by the nearest-items rule (not with
        // --cold-scale, nor in models stored before the rule applied there).
        let reads_graph = served.model.header.kind.reads_graph()
            && served
                .model
                .recommender()
                .fused()
                .is_none_or(|f| f.params.places_new_items());
        let model = served.model.recommender();
        served
            .item_bases(rows)
            .iter()
            .enumerate()
            .filter(|&(i, b)| {
                // A linked item counts as placed by the graph unless the model holds nothing of
                // it (its entity has no edge, so every user scores it 0).
                let placed = || {
                    served.item_entity.get(i).copied().flatten().is_some()
                        && !model.item_blank(ItemId(i as u32))
                };
                *b == Basis::Nothing && i < rows && !(reads_graph && placed())
            })
            .map(|(i, _)| i as u32)
            .collect()
    })
}

/// Why nothing can be served: no version at all, or only graph embeddings.
/// At a writable open, removes the model files a killed writer left (unlisted versions'
/// files, temporary files: [`ModelStore::remove_leftover_files`]), which only the next `train`
/// or prune removed before, so a killed `train` followed by imports alone kept hundreds of MB.
///
/// Safe against readers: the writable open holds the directory's exclusive lock, so no other
/// process has it open, and the files removed are of versions the database does not list, which
/// no reader opening after it will look for. A reader of a directory it may not write (read
/// through a copy of the database) holds the shared lock while it reads, which keeps a writer
/// out; only a directory without a `lock` file has no lock to share, and there a reader whose
/// listed version was pruned meanwhile gets `ModelGone` ("run the command again"), as with a
/// prune by `train`. Nothing is done when `models/` does not exist (nothing to clean; the
/// `models` tree is then not created by this open).
fn remove_leftover_model_files(dir: &DataDir) -> Result<()> {
    let models = dir.models_dir();
    if dir.read_through_copy().is_some() || !models.is_dir() {
        return Ok(());
    }
    ModelStore::open(dir.db(), &models)?.remove_leftover_files()?;
    Ok(())
}

fn no_recommender(store: &ModelStore) -> Result<Error> {
    let headers = store.list()?;
    if headers.is_empty() {
        return Ok(StoreError::NoModel.into());
    }
    let listed: Vec<String> = headers
        .iter()
        .map(|h| format!("v{} {}", h.version, h.kind.name()))
        .collect();
    Ok(Error::NoRecommender(format!(
        "no recommender trained yet: the stored versions are graph embeddings ({}); train a \
         recommender ({}) first",
        listed.join(", "),
        learners::recommender_names().join(", ")
    )))
}

/// The newest version with graph embeddings (its own, or a `cke` model's), if any.
fn newest_with_embeddings(store: &ModelStore) -> Result<Option<u64>> {
    Ok(store
        .list()?
        .iter()
        .rev()
        .find(|h| h.kind.is_graph_embedding() || h.kind == learners::ModelKind::Cke)
        .map(|h| h.version))
}

/// `v1 v2 ...` or `none`.
/// The learners `similar` can answer from, for a message: `a, b or c`.
fn similar_models() -> String {
    let names = learners::similar_names();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.join(", "),
    }
}

fn version_list(versions: &[u64]) -> String {
    if versions.is_empty() {
        return "none".to_owned();
    }
    versions
        .iter()
        .map(|v| format!("v{v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first `rows` IRIs of a dictionary of the graph index, as the export's first column.
fn iri_vocab(mut iris: Vec<String>, rows: usize, what: &str) -> Result<kgrec_kg::embed::Vocab> {
    if iris.len() < rows {
        return Err(Error::Corruption {
            what: format!(
                "the model has {rows} {what} rows but the graph index only {} {what} IRIs",
                iris.len()
            ),
        });
    }
    iris.truncate(rows);
    kgrec_kg::embed::Vocab::from_tokens(iris).ok_or_else(|| Error::Corruption {
        what: format!("the {what} dictionary holds an IRI twice"),
    })
}

/// Looks every linked IRI up in the graph; returns the links and those whose IRI it lacks.
fn resolve_links(index: &GraphIndex, links: Vec<ItemLink>) -> Result<(Vec<Link>, Vec<ItemLink>)> {
    let mut missing = Vec::new();
    let mut out = Vec::with_capacity(links.len());
    for link in links {
        // A bare token resolves to the IRI its TSV import minted; that IRI is what is stored.
        let (iri, entity) = match index.resolve_entity(&link.iri)? {
            Some((iri, e)) => (iri, Some(e)),
            None => {
                missing.push(link.clone());
                (link.iri, None)
            }
        };
        out.push(Link {
            item: link.item,
            iri,
            entity,
        });
    }
    Ok((out, missing))
}

/// An interaction file (and its link file) read to the end and cleaned, not yet written.
#[derive(Debug)]
pub struct ParsedInteractions {
    rows: Rows,
    links: Vec<ItemLink>,
    /// `--min-rating`, to count the stored rows below it.
    min_rating: Option<f32>,
    start: Instant,
    /// The file and how it was read, to read it again for a line number.
    file: PathBuf,
    options: ReadOptions,
}

/// Reads an interaction file and its link file to the end: `--min-rating` applied, repeated
/// pairs merged. Errors locate the bad line; nothing is written.
pub fn parse_interaction_file(request: &InteractionFile) -> Result<ParsedInteractions> {
    let start = Instant::now();
    if source::is_stdin(&request.file) && request.link.as_deref().is_some_and(source::is_stdin) {
        return Err(Error::BadInput(
            "FILE and --link cannot both be `-`: standard input holds one file".to_owned(),
        ));
    }
    let mut columns = request.columns.clone();
    columns.events |= request.events.is_some();
    let options = ReadOptions {
        format: request.format,
        columns,
        delimiter: request.delimiter,
        rating_scale: request.rating_scale,
        time_unit: request.time_unit,
        events: request.events.clone(),
        stored_events: false,
        caller: crate::interactions::Caller::Import,
    };
    let mut rows = read_rows(&request.file, &options, request.min_rating)?;
    let links = match request.link.as_deref() {
        Some(file) => {
            let read = read_link_file(file, &request.link_columns)?;
            rows.notes.extend(read.notes(&source::display_name(file)));
            rows.notes.extend(link_notes(file, &read.links));
            read.links
        }
        None => Vec::new(),
    };
    Ok(ParsedInteractions {
        rows,
        links,
        min_rating: request.min_rating,
        start,
        file: request.file.clone(),
        options,
    })
}

/// What a link file's reader noticed: item ids that start or end with white space.
pub fn link_notes(file: &Path, links: &[ItemLink]) -> Vec<String> {
    let spaced = crate::interactions::spaced_ids_note(
        file,
        links
            .iter()
            .map(|l| (crate::interactions::IdKind::Item, l.item.as_str())),
    );
    // Several items on one entity is allowed (editions of one film), but two ids typed for one
    // product look the same in every list: said, with the first such IRI.
    let mut by_iri: HashMap<&str, Vec<&str>> = HashMap::new();
    for l in links {
        by_iri
            .entry(l.iri.as_str())
            .or_default()
            .push(l.item.as_str());
    }
    let mut shared: Vec<(&str, Vec<&str>)> = by_iri
        .into_iter()
        .filter(|(_, items)| items.len() > 1)
        .collect();
    shared.sort_unstable();
    let shared = shared.first().map(|(iri, items)| {
        format!(
            "{}: {} IRI(s) are linked to more than one item, e.g. <{iri}> to {} (such items \
             share the entity's label and graph paths)",
            file.display(),
            shared.len(),
            items
                .iter()
                .take(3)
                .map(|i| format!("{i:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    // A value with blanks is read as a TSV graph's token (`blade runner`), which may as well
    // be a typo for an IRI: said, with the first such.
    let tokens: Vec<&ItemLink> = links
        .iter()
        .filter(|l| l.iri.starts_with(kgrec_kg::source::DEFAULT_TSV_BASE) && l.iri.contains("%20"))
        .collect();
    let tokens = tokens.first().map(|l| {
        format!(
            "{}: {} link value(s) with blanks are read as tokens of a TSV graph, not IRIs, e.g. \
             {:?} for item {:?} as <{}>",
            file.display(),
            tokens.len(),
            kgrec_kg::source::tsv_token_of(kgrec_kg::source::DEFAULT_TSV_BASE, &l.iri)
                .unwrap_or_default(),
            l.item,
            l.iri
        )
    });
    let invisible = crate::interactions::invisible_ids_note_in(
        &file.display().to_string(),
        "the file",
        links
            .iter()
            .map(|l| (crate::interactions::IdKind::Item, l.item.as_str())),
    );
    spaced
        .into_iter()
        .chain(invisible)
        .chain(shared)
        .chain(tokens)
        .collect()
}

/// Rows of an interaction file after the import's clean-ups.
#[derive(Debug)]
struct Rows {
    rows: Vec<RawInteraction>,
    read: usize,
    below_min_rating: usize,
    merged: usize,
    /// The reader's notes.
    notes: Vec<String>,
    /// Whether they name ratings far outside the file's own (then the store's range is not
    /// noted again).
    outliers_noted: bool,
    /// The file has a column of each row's kind of event, left unread (no `--event-weights`):
    /// a data directory that stores event weights reads the file again with them.
    unread_event: bool,
}

/// Words of the far-ratings note ([`outlier_note`]), by which a removal leaves it out.
const OUTLIER_WORDS: &str = "rating(s) far outside where nearly all ratings sit";

/// Ratings far outside where nearly all of a file's (or request's) ratings sit (a 99 among
/// 1 to 5), which stretch a scale inferred from the ratings: said, with `--rating-scale` as the
/// way to have them refused. From 10 ratings on: "nearly all" leaves out the lowest and highest
/// 1% (at least one each), and a rating is far when it lies beyond that range by more than the
/// range's own width (1 at least).
fn outlier_note(source: &str, rows: &[RawInteraction]) -> Option<String> {
    let mut ratings: Vec<f32> = rows.iter().filter_map(|r| r.rating).collect();
    let (lo, hi, span) = crate::cf::usual_ratings(&mut ratings)?;
    let far: Vec<f32> = ratings
        .iter()
        .copied()
        .filter(|&r| r > hi + span || r < lo - span)
        .collect();
    let (first, last) = (ratings.first()?, ratings.last()?);
    let shown: Vec<String> = far.iter().take(3).map(f32::to_string).collect();
    (!far.is_empty()).then(|| {
        format!(
            "{source}: {} {OUTLIER_WORDS} ({lo} to {hi}): {}; a scale inferred from the \
             ratings now runs {first}:{last}. If the scale is narrower, declare it with \
             --rating-scale MIN:MAX (a rating outside it is then an error naming its line), or \
             fix those rows",
            far.len(),
            shown.join(", ")
        )
    })
}

/// Ids of `rows` that look like numbers a spreadsheet wrote in scientific notation
/// ([`crate::interactions::lookalike::is_spreadsheet_number`]): how many user and item ids
/// (distinct), the first few, and how many rows share the first such item id.
fn spreadsheet_number_note(file: &Path, rows: &[RawInteraction]) -> Option<String> {
    use crate::interactions::lookalike::is_spreadsheet_number;
    let mut seen = HashSet::new();
    let mut shown: Vec<String> = Vec::new();
    for (what, id) in rows
        .iter()
        .flat_map(|r| [("user", &r.user), ("item", &r.item)])
    {
        if is_spreadsheet_number(id) && seen.insert((what, id.as_str())) && shown.len() < 3 {
            shown.push(format!("{what} {id:?}"));
        }
    }
    (!seen.is_empty()).then(|| {
        format!(
            "{}: {} id(s) look like numbers a spreadsheet wrote in scientific notation ({}{}): \
             their digits past the sixth are lost, so different users or items may have become \
             one; export the column as text (in the spreadsheet, format the cells as Text or as \
             a number with no decimals) and import again, or remove these rows with `kgrec import \
             interactions FILE --remove`",
            file.display(),
            seen.len(),
            shown.join(", "),
            match seen.len().saturating_sub(shown.len()) {
                0 => String::new(),
                n => format!(", and {n} more"),
            }
        )
    })
}

/// How many rated interactions a store holds before [`stretch_note`] judges new ratings by it.
const STRETCH_MIN_STORED: usize = 10;

/// New ratings far outside the range of the store's ratings so far (a 99 appended to a store
/// rated 1 to 5), which stretch the scale the store infers from its ratings; `None` when
/// there are none, or the store holds fewer than [`STRETCH_MIN_STORED`] ratings. Far, as for
/// one file ([`outlier_note`]): beyond the stored range by more than its width (1 at least).
/// One pass over the stored ratings (no sort), so that small HTTP writes stay cheap.
fn stretch_note(
    stored: &[crate::store::interactions::Record],
    rows: &[RawInteraction],
) -> Option<String> {
    if rows.iter().all(|r| r.rating.is_none()) {
        return None;
    }
    let (n, lo, hi) = stored.iter().filter_map(|r| r.rating).fold(
        (0usize, f32::INFINITY, f32::NEG_INFINITY),
        |(n, lo, hi), r| (n + 1, lo.min(r), hi.max(r)),
    );
    if n < STRETCH_MIN_STORED {
        return None;
    }
    let span = (hi - lo).max(1.0);
    let far: Vec<f32> = rows
        .iter()
        .filter_map(|r| r.rating)
        .filter(|&r| r > hi + span || r < lo - span)
        .collect();
    let first = far.iter().copied().fold(lo, f32::min);
    let last = far.iter().copied().fold(hi, f32::max);
    let shown: Vec<String> = far.iter().take(3).map(f32::to_string).collect();
    (!far.is_empty()).then(|| {
        format!(
            "{} rating(s) far outside the {n} ratings the data directory held ({lo} to {hi}): \
             {}; the scale inferred from the stored ratings now runs {first}:{last}, and rating \
             predictions are clipped to it. If that is a mistake, send the pairs again with \
             the intended rating and a later timestamp (the newer row replaces the stored one); \
             a scale declared with --rating-scale MIN:MAX (on `import interactions`) makes such \
             ratings errors",
            far.len(),
            shown.join(", ")
        )
    })
}

/// Timestamps that are not plausible seconds since 1970 once read (`--time-unit` converted
/// milliseconds already): values of 10¹² or more (the year 33658 in seconds, stored so only
/// under `--time-unit s`) or negative ones, kept as they are but said, since the time split
/// orders them among the store's seconds.
fn timestamp_note(file: &Path, rows: &[RawInteraction]) -> Option<String> {
    timestamp_note_in(&file.display().to_string(), rows)
}

/// [`timestamp_note`] for rows from `source` (a file, `POST /v1/interactions`): the HTTP
/// service says the same of the rows posted to it.
pub fn timestamp_note_in(source: &str, rows: &[RawInteraction]) -> Option<String> {
    let stamps = rows.iter().filter_map(|r| r.timestamp);
    let millis = stamps.clone().filter(|t| *t >= 1_000_000_000_000).count();
    let negative = stamps.filter(|t| *t < 0).count();
    let what = match (millis, negative) {
        (0, 0) => return None,
        (m, 0) => format!("{m} timestamp(s) look like milliseconds (10^12 or more)"),
        (0, n) => format!("{n} timestamp(s) are negative (before 1970)"),
        (m, n) => {
            format!("{m} timestamp(s) look like milliseconds (10^12 or more) and {n} are negative")
        }
    };
    Some(format!(
        "{}: {what}; kgrec stores seconds since 1970 and keeps these as read, so the time split \
         orders them among the store's seconds (--time-unit ms converts milliseconds)",
        source
    ))
}

/// Parses `file` to the end, keeps rows rated at least `min_rating`, merges repeated pairs.
fn read_rows(file: &Path, options: &ReadOptions, min_rating: Option<f32>) -> Result<Rows> {
    let parsed = read_file(file, options)?;
    let mut notes = parsed.notes();
    let unread_event = parsed.unread_event.is_some();
    let file = parsed.file.as_path();
    let mut rows = parsed.rows;
    let read = rows.len();
    // A unit given for timestamps the file does not have (as --min-rating without ratings).
    if options.time_unit != crate::interactions::TimeUnit::Auto
        && rows.iter().all(|row| row.timestamp.is_none())
    {
        notes.push(format!(
            "{}: no row has a timestamp, so --time-unit {} did nothing (a time column is found \
             by its name, or named with --time-col)",
            file.display(),
            options.time_unit.name()
        ));
    }
    if let Some(events) = &options.events {
        return read_events(file, rows, events, notes, min_rating);
    }
    if let Some(r) = min_rating
        && rows.iter().all(|row| row.rating.is_none())
    {
        notes.push(format!(
            "{}: no row has a rating, so --min-rating {r} kept every row (a rating column is \
             found by its name, or named with --rating-col)",
            file.display()
        ));
    }
    let (lowest, highest) = rows
        .iter()
        .filter_map(|row| row.rating)
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), r| {
            (lo.min(r), hi.max(r))
        });
    if min_rating.is_none() && lowest < highest {
        notes.push(format!(
            "{}: ratings from {lowest} to {highest}, and every row counts as an item the user \
             liked, whatever its rating (explanations say \"You liked\"); --min-rating R keeps \
             only the rows rated R or more",
            file.display()
        ));
    }
    notes.extend(timestamp_note(file, &rows));
    notes.extend(spreadsheet_number_note(file, &rows));
    let outliers = match options.rating_scale {
        None => outlier_note(&file.display().to_string(), &rows),
        Some(_) => None,
    };
    let outliers_noted = outliers.is_some();
    notes.extend(outliers);
    let below_min_rating = min_rating_filter(&mut rows, min_rating)?;
    if rows.is_empty() {
        return Err(Error::BadInput(format!(
            "{}: no row has a rating of at least {} ({read} rows read)",
            file.display(),
            min_rating.unwrap_or_default()
        )));
    }
    if let Some((n, example)) = rating_conflicts(&rows) {
        notes.push(conflict_note(&file.display().to_string(), n, &example));
    }
    let merged = merge_duplicates(&mut rows);
    Ok(Rows {
        rows,
        read,
        below_min_rating,
        merged,
        notes,
        outliers_noted,
        unread_event,
    })
}

/// Keeps the rows rated at least `min_rating` (`--min-rating`), if given; how many were dropped.
fn min_rating_filter(rows: &mut Vec<RawInteraction>, min_rating: Option<f32>) -> Result<usize> {
    match min_rating {
        Some(r) if !r.is_finite() => Err(Error::BadInput(format!(
            "--min-rating {r}: expected a finite number"
        ))),
        Some(r) => Ok(filter_min_rating(rows, r)),
        None => Ok(0),
    }
}

/// [`read_rows`] of a file read with `--event-weights`: rows of kinds weighted 0 dropped (a
/// note counts them), `--min-rating` applied to the weights, and each pair's rows merged by
/// the largest weight.
fn read_events(
    file: &Path,
    mut rows: Vec<RawInteraction>,
    events: &EventWeights,
    mut notes: Vec<String>,
    min_rating: Option<f32>,
) -> Result<Rows> {
    let read = rows.len();
    notes.push(format!(
        "{}: {read} rows by kind: {}",
        file.display(),
        events.rows_by_kind(rows.iter().map(|r| r.rating))
    ));
    rows.retain(|r| r.rating != Some(0.0));
    let dropped = read - rows.len();
    if dropped > 0 {
        notes.push(format!(
            "{}: {dropped} row(s) of the kinds weighted 0 ({}) dropped",
            file.display(),
            events.dropped().join(", ")
        ));
    }
    let below_min_rating = min_rating_filter(&mut rows, min_rating)?;
    if rows.is_empty() {
        return Err(Error::BadInput(format!(
            "{}: no row left to import ({read} rows read: {dropped} of kinds weighted 0, \
             {below_min_rating} below --min-rating)",
            file.display()
        )));
    }
    notes.extend(timestamp_note(file, &rows));
    let merged = merge_strongest(&mut rows);
    notes.push(format!(
        "{}: events weighed {events}: each pair's strength is the largest weight among its \
         events (what `train --confidence rating` weighs; --confidence count counts its rows)",
        file.display()
    ));
    Ok(Rows {
        rows,
        read,
        below_min_rating,
        merged,
        notes,
        outliers_noted: true,
        unread_event: false,
    })
}

/// The note of an import (a file's or a request's) whose rows named stored pairs without a
/// timestamp to judge them by ([`ImportReport::counted_by_the_larger`]), else `None`.
pub fn counted_by_the_larger_note(report: &ImportReport) -> Option<String> {
    let example = report.larger_example.as_ref()?;
    Some(format!(
        "{} stored pair(s) named by rows without a timestamp, or stored without one ({example}): \
         a repeat cannot be told from the same row imported again, so each keeps the larger of \
         its stored count and the rows' (rows timestamped after a pair's stored timestamp add \
         to its count)",
        report.counted_by_the_larger
    ))
}

/// An id the data directory does not hold at all, for `recommend` and `predict` alike; `hint`
/// names the stored id it looks like ([`lookalike_hint`]), or is empty.
pub fn unknown_id_note(kind: &str, id: &str, hint: &str) -> String {
    match hint {
        "" => format!("the data directory has no {kind} {id:?} at all (a typo?)"),
        hint => format!("the data directory has no {kind} {id:?}{hint}"),
    }
}

/// `; did you mean "0123"? ...` when one of `names` differs from `id` only by letter case,
/// leading zeros, Unicode normalisation, width or percent-encoding (ids are compared exactly),
/// else empty.
pub fn lookalike_hint(id: &str, names: &[String]) -> String {
    crate::interactions::lookalike::lookalike(id, names).map_or_else(String::new, |other| {
        format!(
            "; did you mean {other:?}? (ids are compared exactly, and the two differ only by \
             leading zeros, letter case, Unicode normalisation, character width, \
             percent-encoding or look-alike letters of another script)"
        )
    })
}

/// Words of the conflicting-duplicates note ([`conflict_note`]), by which a removal leaves it out.
const CONFLICT_WORDS: &str =
    "conflicting duplicate(s): the same user and item again with another rating";

/// The note of duplicate rows whose ratings disagree (see [`rating_conflicts`]).
fn conflict_note(source: &str, conflicts: usize, example: &str) -> String {
    format!(
        "{source}: {conflicts} {CONFLICT_WORDS} ({example}); the row with the latest timestamp \
         is kept, the later row on ties"
    )
}

/// Whether an import note is about the rows' ratings (conflicting duplicates, ratings far from
/// the rest) or their unread events, which a removal does not read.
pub(crate) fn is_rating_note(note: &str) -> bool {
    note.contains(CONFLICT_WORDS)
        || note.contains(OUTLIER_WORDS)
        || note.contains(crate::interactions::UNREAD_EVENT_WORDS)
}

#[cfg(test)]
pub(crate) mod testutil {
    #![allow(clippy::unwrap_used)]
    //! A data directory with the fixtures, for the unit tests of the engine and its parts.
    use super::*;
    use crate::learners::Overrides;

    /// A fixture file of this source tree.
    pub(crate) fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name)
    }

    /// An engine on a temporary data directory holding the fixtures and a trained model of
    /// learner `model` (seed 0).
    pub(crate) fn engine_with_fixtures(model: &str) -> (tempfile::TempDir, Engine) {
        let tmp = tempfile::tempdir().unwrap();
        let engine = Engine::create(&tmp.path().join("data")).unwrap();
        engine
            .import_kg(
                &[fixture("movies.ttl")],
                &ImportOptions::default(),
                &mut |_| {},
            )
            .unwrap();
        engine
            .import_interactions(&InteractionFile {
                file: fixture("interactions.tsv"),
                link: Some(fixture("links.tsv")),
                ..InteractionFile::default()
            })
            .unwrap();
        train_default(&engine, model);
        (tmp, engine)
    }

    /// Trains `model` with its defaults (seed 0, nothing pruned beyond the default keep).
    pub(crate) fn train_default(engine: &Engine, model: &str) {
        let request = TrainRequest {
            spec: ModelSpec::new(model, &Overrides::default()).unwrap(),
            ..TrainRequest::default()
        };
        engine
            .train(&request, &mut |_| {}, &AtomicBool::new(false))
            .unwrap();
    }
}

#[cfg(test)]
mod tests;

/// `(prefix, local)` when `iri` reads as a prefixed name (`ex:a1`) rather than an IRI: a
/// prefix of letters, digits, `_` or `-` that is no common IRI scheme (`http`, `urn`, ...)
/// nor one of the well-known prefixes a link may use (`dbr:`, expanded at import),
/// and a local part that does not start with `//`. RDF takes `ex:a1` as an absolute IRI of
/// scheme `ex`, so a link written so misses the graph's `<http://.../a1>`.
pub fn prefixed_name(iri: &str) -> Option<(&str, &str)> {
    const SCHEMES: [&str; 13] = [
        "http", "https", "urn", "mailto", "file", "ftp", "tag", "data", "doi", "info", "isbn",
        "tel", "geo",
    ];
    let (prefix, local) = iri.split_once(':')?;
    let named = prefix
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    (named
        && !local.is_empty()
        && !local.starts_with("//")
        && !SCHEMES.contains(&prefix.to_ascii_lowercase().as_str())
        && !kgrec_kg::filter::PREFIXES.iter().any(|(p, _)| *p == prefix))
    .then_some((prefix, local))
}
