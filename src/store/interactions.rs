//! The interaction store: users and items with dense ids, their interactions (count, rating,
//! timestamp) and the item→KG-entity links, in the sled tree `interactions`.
//!
//! Dense ids are append-only and stable across imports: a user or item keeps the id it got first.
//! Key layout (chunk numbers big-endian, values in `kgrec_kg::chunk`'s codec unless said):
//! - `U` chunk → user names `chunk * NAMES_PER_CHUNK ..`
//! - `I` chunk → item names, same numbering
//! - `L` chunk → one entry per item of the same chunk: empty (no link) or the entity id
//!   (`u32` little-endian, `u32::MAX` when the graph did not hold the IRI at import) then the IRI
//! - `X` chunk → interactions `chunk * RECORDS_PER_CHUNK ..`, fixed 24-byte records (raw bytes)
//! - `m:users`, `m:items`, `m:interactions`, `m:linked` → `u64` little-endian counts
//! - `m:scale` → the declared rating scale, two `f32` little-endian (absent: none declared)
//! - `m:events` → the event weights (`--event-weights`), a JSON object of kind → weight (absent:
//!   the ratings are no event weights): with them, a pair's rating is the largest weight among
//!   its events
//!
//! An import merges in memory ([`StoreState`]: read whole by [`InteractionStore::state`], or kept
//! by the writer between imports) and writes only the touched chunks and the new counts in one
//! `sled::Batch`, flushed before it returns; entries past the committed counts are never read, so
//! readers see the store before the import or after it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use kgrec_kg::EntityId;

use super::{Fnv, Result, StoreError, read_run, utf8, write_chunk, write_run};
use crate::cf::{IdMap, InteractionMatrix, PairFeedback};
use crate::ids::{ItemId, UserId};
use crate::interactions::{EventWeights, RatingScale, RawInteraction, lookalike};

const TREE: &str = "interactions";
const USERS: &[u8] = b"U";
const ITEMS: &[u8] = b"I";
const LINKS: &[u8] = b"L";
const RECORDS: &[u8] = b"X";
const META_USERS: &[u8] = b"m:users";
const META_ITEMS: &[u8] = b"m:items";
const META_INTERACTIONS: &[u8] = b"m:interactions";
const META_LINKED: &[u8] = b"m:linked";
const META_SCALE: &[u8] = b"m:scale";
const META_EVENTS: &[u8] = b"m:events";

/// Names (and links) per chunk. Tests use tiny chunks so that every boundary is crossed.
#[cfg(not(test))]
const NAMES_PER_CHUNK: usize = 4096;
#[cfg(test)]
const NAMES_PER_CHUNK: usize = 5;
/// Interaction records per chunk (24 bytes each: 384 KiB per chunk).
#[cfg(not(test))]
const RECORDS_PER_CHUNK: usize = 16_384;
#[cfg(test)]
const RECORDS_PER_CHUNK: usize = 7;
const RECORD_BYTES: usize = 24;
const NO_ENTITY: u32 = u32::MAX;

/// One stored interaction: a (user, item) pair, merged over every row that named it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Record {
    /// The user.
    pub user: UserId,
    /// The item.
    pub item: ItemId,
    /// How many rows named the pair: a pair's rows of one import summed; a later import adds
    /// its rows timestamped after the stored timestamp, and otherwise keeps the larger count
    /// (see [`Record::merged`]).
    pub count: u32,
    /// The most recent rating, if the rows had one.
    pub rating: Option<f32>,
    /// The most recent timestamp, if the rows had one.
    pub timestamp: Option<i64>,
}

impl Record {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.user.0.to_le_bytes());
        out.extend_from_slice(&self.item.0.to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.rating.unwrap_or(f32::NAN).to_le_bytes());
        out.extend_from_slice(&self.timestamp.unwrap_or(i64::MIN).to_le_bytes());
    }

    fn decode(b: &[u8; RECORD_BYTES]) -> Self {
        let word = |i: usize| [b[i], b[i + 1], b[i + 2], b[i + 3]];
        let rating = f32::from_le_bytes(word(12));
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&b[16..24]);
        let timestamp = i64::from_le_bytes(ts);
        Self {
            user: UserId(u32::from_le_bytes(word(0))),
            item: ItemId(u32::from_le_bytes(word(4))),
            count: u32::from_le_bytes(word(8)),
            rating: (!rating.is_nan()).then_some(rating),
            timestamp: (timestamp != i64::MIN).then_some(timestamp),
        }
    }

    /// Folds a later row of the same pair in: the most recent timestamp and the most recent
    /// rating win (as [`crate::interactions::merge_duplicates`] does within a file), but a row
    /// without a rating never erases a stored one. The count: rows with a timestamp later than
    /// the stored one are purchases after the stored ones and add to it; the other rows (at or
    /// before it, or without a timestamp, or any row when the pair has none stored) may be the
    /// stored ones read again, so the count is the larger of the stored one and theirs. So
    /// importing the same file again changes nothing, and a later file's repeats add up.
    /// `strongest`: the ratings are event weights, and the larger one is kept whatever the
    /// timestamps (the latest timestamp is kept all the same).
    fn merged(&self, row: &RawInteraction, strongest: bool) -> Self {
        let mut out = *self;
        let (later, rest) = row.split_at(self.timestamp);
        out.count = self.count.max(rest).saturating_add(later);
        if strongest {
            out.rating = crate::interactions::strongest(self.rating, row.rating);
            out.timestamp = self.timestamp.max(row.timestamp);
        } else if row.timestamp >= self.timestamp {
            out.timestamp = row.timestamp;
            out.rating = row.rating.or(self.rating);
        } else {
            out.rating = self.rating.or(row.rating);
        }
        out
    }

    /// Whether `row` names this stored pair with rows whose count can only be compared, not
    /// added (rows without a timestamp, or timed rows when the pair has no stored timestamp):
    /// a repeat cannot be told from the stored row read again.
    fn count_by_the_larger(&self, row: &RawInteraction) -> bool {
        row.untimed() > 0 || self.timestamp.is_none()
    }
}

/// `(any of 10¹¹ or more, any below)` of `units` and the timestamps `stamps`.
fn fold_units(units: (bool, bool), stamps: impl Iterator<Item = i64>) -> (bool, bool) {
    stamps.fold(units, |(big, small), t| {
        let millis = t >= crate::interactions::MILLISECONDS;
        (big || millis, small || !millis)
    })
}

/// An item's KG entity as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLink {
    /// The IRI the link file gave.
    pub iri: String,
    /// The entity, if the graph held the IRI when the link was imported.
    pub entity: Option<EntityId>,
}

/// One row of a link file, resolved against the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The external item id.
    pub item: String,
    /// The IRI.
    pub iri: String,
    /// The entity the graph has for the IRI, if any.
    pub entity: Option<EntityId>,
}

/// The committed counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InteractionCounts {
    /// Distinct users.
    pub users: u64,
    /// Distinct items.
    pub items: u64,
    /// Distinct (user, item) pairs.
    pub interactions: u64,
    /// Items with a link to an IRI.
    pub linked: u64,
}

/// Everything the store holds, read at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// User names by dense id.
    pub users: Vec<String>,
    /// Item names by dense id.
    pub items: Vec<String>,
    /// One entry per item.
    pub links: Vec<Option<StoredLink>>,
    /// The interactions, in the order they were first imported.
    pub records: Vec<Record>,
    /// A hash of all of the above: equal fingerprints mean equal training data.
    pub fingerprint: u64,
    /// The rating scale declared at import (`--rating-scale`), if any.
    pub scale: Option<RatingScale>,
}

impl Snapshot {
    /// The interaction matrix of the store, whose dense ids are the store's: every pair a
    /// positive of confidence 1, carrying its stored rating and count
    /// ([`InteractionMatrix::feedback`]) for the learners that read them.
    pub fn matrix(&self) -> Result<InteractionMatrix> {
        let dictionary = |names: &[String], what: &str| {
            IdMap::from_names(names.to_vec())
                .map_err(|e| StoreError::corruption(format!("{what} dictionary"), e))
        };
        let entries: Vec<(UserId, ItemId, f32)> =
            self.records.iter().map(|r| (r.user, r.item, 1.0)).collect();
        let pairs: Vec<(UserId, ItemId)> = self.records.iter().map(|r| (r.user, r.item)).collect();
        let stored: Vec<PairFeedback> = self
            .records
            .iter()
            .map(|r| PairFeedback {
                rating: r.rating,
                count: r.count,
            })
            .collect();
        InteractionMatrix::from_ids(
            dictionary(&self.users, "user")?,
            dictionary(&self.items, "item")?,
            &entries,
        )
        .and_then(|m| m.with_feedback(&pairs, &stored))
        .map_err(|e| StoreError::corruption("interaction records", e))
    }

    /// The one value every stored rating has, when ratings are stored, all equal and no scale
    /// is declared: no scale can be inferred from them.
    pub fn single_rating(&self) -> Option<f32> {
        if self.scale.is_some() {
            return None;
        }
        let mut ratings = self.records.iter().filter_map(|r| r.rating);
        let first = ratings.next()?;
        ratings.all(|r| r == first).then_some(first)
    }

    /// The data's rating scale: the declared one (`true`), else the lowest and highest stored
    /// rating (`false`); `None` when neither exists.
    pub fn rating_scale(&self) -> Option<(RatingScale, bool)> {
        match self.scale {
            Some(s) => Some((s, true)),
            None => {
                RatingScale::infer(self.records.iter().filter_map(|r| r.rating)).map(|s| (s, false))
            }
        }
    }
}

/// An item whose stored link an import replaced with another IRI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relink {
    /// The external item id.
    pub item: String,
    /// The IRI stored before.
    pub old: String,
    /// The IRI stored now.
    pub new: String,
}

/// An IRI this import linked items to that other stored items already had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedIri {
    /// The IRI.
    pub iri: String,
    /// The items this import linked to it.
    pub items: Vec<String>,
    /// The stored items, not in this import's links, that already had it.
    pub others: Vec<String>,
}

/// What one import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Users seen for the first time.
    pub new_users: u64,
    /// Items seen for the first time.
    pub new_items: u64,
    /// The first few of them, in the order they were added.
    pub new_item_examples: Vec<String>,
    /// Pairs seen for the first time.
    pub new_interactions: u64,
    /// Known pairs whose rating, timestamp or count changed.
    pub updated_interactions: u64,
    /// Known pairs the rows left as they were.
    pub unchanged_interactions: u64,
    /// Of the updated pairs, those whose count rose: rows timestamped after the pair's stored
    /// timestamp (repeat purchases), or more rows than stored where they cannot be told apart.
    pub counts_raised: u64,
    /// Known pairs named by rows without a timestamp (or stored without one): their count is
    /// the larger of the stored one and the rows', since a repeat cannot be told from the same
    /// row imported again.
    pub counted_by_the_larger: u64,
    /// The first of them: `user, item`.
    pub larger_example: Option<String>,
    /// Of those, rows whose rating differs from the stored one but which are older (an earlier
    /// timestamp, or none where one is stored): the stored, newer rating is kept.
    pub older_ratings: u64,
    /// The first of them: `user, item: rating R (older), stored S kept`.
    pub older_example: Option<String>,
    /// Rows without a rating that named a stored pair with one: the stored rating is kept (a
    /// row without a rating never erases one), whether or not the row changed the pair otherwise.
    pub unrated_kept: u64,
    /// The first of them: `user, item: stored rating S kept`.
    pub unrated_example: Option<String>,
    /// Items whose link was set or changed.
    pub links_set: u64,
    /// Items the link file named that had no interactions: they join the catalogue (no
    /// history, a graph entity), so the knowledge-aware model can recommend them (item cold start).
    pub new_linked_items: u64,
    /// Items whose stored IRI the links replaced with another (the new link wins).
    pub relinked: Vec<Relink>,
    /// IRIs this import linked items to that other stored items (not in this import's links)
    /// had already: allowed (editions of one film), but all show the entity's label in lists.
    pub shared: Vec<SharedIri>,
    /// Users new to the store whose id differs from another's only by letter case, leading zeros, Unicode
    /// normalisation or width: how many, the first few as `(new, the one it looks like)`.
    pub lookalike_users: (u64, Vec<(String, String)>),
    /// The same for items.
    pub lookalike_items: (u64, Vec<(String, String)>),
    /// The counts after the import.
    pub counts: InteractionCounts,
    /// A note on the import's ratings that lie far outside the store's earlier ones, set by the
    /// engine before the rows are applied (see `kgrec::engine`'s `stretch_note`).
    pub stretched_scale: Option<String>,
}

/// What one removal ([`StoreState::remove`]) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoveReport {
    /// Stored pairs removed.
    pub removed: u64,
    /// Pairs asked for that the store does not hold (an unknown user or item, or a pair never
    /// stored or removed before).
    pub not_found: u64,
    /// The first few of them (`user, item`), in the order given.
    pub not_found_examples: Vec<(String, String)>,
    /// The counts after the removal.
    pub counts: InteractionCounts,
}

/// How many pairs not found a [`RemoveReport`] names.
const NOT_FOUND_NAMED: usize = 5;

/// The sled-backed interaction store.
#[derive(Debug, Clone)]
pub struct InteractionStore {
    tree: sled::Tree,
}

impl InteractionStore {
    /// Opens (or creates) the store inside `db`.
    pub fn open(db: &sled::Db) -> Result<Self> {
        Ok(Self {
            tree: db.open_tree(TREE)?,
        })
    }

    /// The committed counts (cheap: four keys).
    pub fn counts(&self) -> Result<InteractionCounts> {
        let [users, items, interactions, linked] = super::read_u64s(
            &self.tree,
            [META_USERS, META_ITEMS, META_INTERACTIONS, META_LINKED],
        )?;
        Ok(InteractionCounts {
            users,
            items,
            interactions,
            linked,
        })
    }

    /// Reads everything.
    pub fn load(&self) -> Result<Snapshot> {
        let Stored {
            users,
            items,
            links,
            records,
        } = self.read_all()?;
        let mut hash = Fnv::default();
        for name in users.iter().chain(&items) {
            hash.field(name.as_bytes());
        }
        for link in &links {
            hash.field(&encode_link(link.as_ref()));
        }
        let mut bytes = Vec::with_capacity(RECORD_BYTES);
        for r in &records {
            bytes.clear();
            r.encode(&mut bytes);
            hash.bytes(&bytes);
        }
        Ok(Snapshot {
            users,
            items,
            links,
            records,
            fingerprint: hash.finish(),
            scale: self.scale()?,
        })
    }

    /// The event weights stored by an import with `--event-weights`, if any.
    pub fn events(&self) -> Result<Option<EventWeights>> {
        let Some(bytes) = self.tree.get(META_EVENTS)? else {
            return Ok(None);
        };
        EventWeights::from_json(&bytes)
            .map(Some)
            .ok_or_else(|| StoreError::corruption("event weights", "not a JSON object of weights"))
    }

    /// The declared rating scale, if any.
    pub fn scale(&self) -> Result<Option<RatingScale>> {
        let Some(bytes) = self.tree.get(META_SCALE)? else {
            return Ok(None);
        };
        let bad = || StoreError::corruption("rating scale", format!("{} bytes", bytes.len()));
        let word = |k: usize| -> Result<f32> {
            let b: [u8; 4] = bytes
                .get(k..k + 4)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(bad)?;
            Ok(f32::from_le_bytes(b))
        };
        RatingScale::new(word(0)?, word(4)?)
            .map(Some)
            .ok_or_else(bad)
    }

    /// Reads everything into the state that imports update ([`StoreState`]).
    pub fn state(&self) -> Result<StoreState> {
        let Stored {
            users,
            items,
            links,
            records,
        } = self.read_all()?;
        let dictionary = |names: Vec<String>, what: &str| {
            IdMap::from_names(names)
                .map_err(|e| StoreError::corruption(format!("{what} dictionary"), e))
        };
        let users = dictionary(users, "user")?;
        let items = dictionary(items, "item")?;
        let position = records
            .iter()
            .enumerate()
            .map(|(k, r)| ((r.user.0, r.item.0), k))
            .collect();
        let linked = links.iter().filter(|l| l.is_some()).count() as u64;
        let unwritten = Unwritten {
            users_on_disk: users.len(),
            items_on_disk: items.len(),
            ..Unwritten::default()
        };
        Ok(StoreState {
            users,
            items,
            links,
            records,
            position,
            linked,
            by_iri: None,
            units: None,
            scale: self.scale()?,
            events: self.events()?,
            unwritten,
        })
    }

    fn read_all(&self) -> Result<Stored> {
        let counts = self.counts()?;
        let (n_users, n_items) = (counts.users as usize, counts.items as usize);
        let names = |prefix, n, what: &str| -> Result<Vec<String>> {
            read_run(&self.tree, prefix, n, NAMES_PER_CHUNK, what)?
                .into_iter()
                .map(|b| utf8(b, what))
                .collect()
        };
        let users = names(USERS, n_users, "user name")?;
        let items = names(ITEMS, n_items, "item name")?;
        let links = read_run(&self.tree, LINKS, n_items, NAMES_PER_CHUNK, "item link")?
            .into_iter()
            .map(decode_link)
            .collect::<Result<Vec<_>>>()?;
        let records = self.records(counts.interactions as usize, n_users, n_items)?;
        Ok(Stored {
            users,
            items,
            links,
            records,
        })
    }

    fn records(&self, n: usize, n_users: usize, n_items: usize) -> Result<Vec<Record>> {
        let mut out = Vec::with_capacity(n);
        for c in 0..n.div_ceil(RECORDS_PER_CHUNK) {
            let what = || format!("interaction chunk {c}");
            let bytes = self
                .tree
                .get(super::chunk_key(RECORDS, c))?
                .ok_or_else(|| StoreError::corruption(what(), "missing"))?;
            let want = (n - c * RECORDS_PER_CHUNK).min(RECORDS_PER_CHUNK);
            let body = bytes.get(..want * RECORD_BYTES).ok_or_else(|| {
                StoreError::corruption(
                    what(),
                    format!("{} bytes, {} expected", bytes.len(), want * RECORD_BYTES),
                )
            })?;
            for raw in body.chunks_exact(RECORD_BYTES) {
                let raw: &[u8; RECORD_BYTES] = raw
                    .try_into()
                    .map_err(|_| StoreError::corruption(what(), "short record"))?;
                let r = Record::decode(raw);
                if r.user.index() >= n_users || r.item.index() >= n_items {
                    return Err(StoreError::corruption(
                        what(),
                        format!(
                            "record ({}, {}) outside the dictionaries",
                            r.user.0, r.item.0
                        ),
                    ));
                }
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Adds `rows` (already filtered and merged by the caller) and `links`, in one atomic batch:
    /// reads the whole store first ([`InteractionStore::state`]); a writer that keeps the state
    /// between imports calls [`StoreState::apply`] and [`InteractionStore::write`] instead.
    /// Users and items new to the store get the next dense ids in row order.
    pub fn import(&self, rows: &[RawInteraction], links: &[Link]) -> Result<ImportReport> {
        let mut state = self.state()?;
        let report = state.apply(rows, links)?;
        self.write(state)?;
        Ok(report)
    }

    /// Writes what [`StoreState::apply`] changed since the state was read or last written (the
    /// touched chunks and the counts) in one `sled::Batch`, then flushes it to disk; returns the
    /// state, now equal to the store. Nothing changed, nothing is written. On an error the
    /// state is gone: the store may or may not hold the batch, so read it again.
    pub fn write(&self, mut state: StoreState) -> Result<StoreState> {
        let Some(batch) = state.batch()? else {
            return Ok(state);
        };
        let _watch = kgrec_kg::watchdog::watch("write of the interactions");
        self.tree.apply_batch(batch)?;
        self.tree.flush()?;
        state.unwritten = Unwritten {
            users_on_disk: state.users.len(),
            items_on_disk: state.items.len(),
            ..Unwritten::default()
        };
        Ok(state)
    }
}

/// The store's contents as read.
struct Stored {
    users: Vec<String>,
    items: Vec<String>,
    links: Vec<Option<StoredLink>>,
    records: Vec<Record>,
}

/// The interaction store in memory, as a writer keeps it between imports: the dictionaries,
/// the links, the records and where each pair's record is, plus what changed since it was last
/// written. Valid while nothing else writes the store (the engine holds the data directory's
/// lock and is the one writer); [`InteractionStore::write`] turns the changes into the same
/// bytes an import that read the whole store would write.
#[derive(Debug, Clone)]
pub struct StoreState {
    users: IdMap,
    items: IdMap,
    links: Vec<Option<StoredLink>>,
    records: Vec<Record>,
    position: HashMap<(u32, u32), usize>,
    linked: u64,
    /// The items linked to each IRI, in item order: built by the first write that brings links
    /// (one scan) and kept up to date after, so a server's later writes with links do not scan
    /// every stored link.
    by_iri: Option<HashMap<String, Vec<u32>>>,
    /// Whether the records hold timestamps of 10¹¹ or more (milliseconds, stored as given by
    /// earlier versions or under `--time-unit s`) and below it (seconds): found by the first
    /// [`StoreState::timestamp_units`] (one scan), kept up to date by imports after.
    units: Option<(bool, bool)>,
    scale: Option<RatingScale>,
    /// The event weights (`m:events`): ratings are merged by the largest.
    events: Option<EventWeights>,
    unwritten: Unwritten,
}

/// What [`StoreState::apply`] changed that is not on disk yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Unwritten {
    /// Names on disk; those after are new.
    users_on_disk: usize,
    items_on_disk: usize,
    /// Link chunks with a link set.
    link_chunks: BTreeSet<usize>,
    /// Record chunks with a record added or changed.
    record_chunks: BTreeSet<usize>,
    /// The rating scale was declared.
    scale: bool,
    /// The event weights were set or extended.
    events: bool,
    /// Whether anything changed at all.
    changed: bool,
}

impl StoreState {
    /// The counts as the state has them (the committed ones once written).
    pub fn counts(&self) -> InteractionCounts {
        InteractionCounts {
            users: self.users.len() as u64,
            items: self.items.len() as u64,
            interactions: self.records.len() as u64,
            linked: self.linked,
        }
    }

    /// User names by dense id.
    pub fn users(&self) -> &[String] {
        self.users.names()
    }

    /// Item names by dense id.
    pub fn items(&self) -> &[String] {
        self.items.names()
    }

    /// The stored link of the item named `item`, if it is stored and linked.
    pub fn link_of(&self, item: &str) -> Option<&StoredLink> {
        let i = self.items.get(item)? as usize;
        self.links.get(i)?.as_ref()
    }

    /// The declared rating scale, if any.
    pub fn scale(&self) -> Option<RatingScale> {
        self.scale
    }

    /// Declares the rating scale (written with the next batch); the caller has checked every
    /// stored and incoming rating against it.
    pub fn declare_scale(&mut self, scale: RatingScale) {
        if self.scale != Some(scale) {
            self.scale = Some(scale);
            self.unwritten.scale = true;
            self.unwritten.changed = true;
        }
    }

    /// The event weights, if the store's ratings are event weights.
    pub fn events(&self) -> Option<&EventWeights> {
        self.events.as_ref()
    }

    /// Sets the event weights (written with the next batch): from then on a pair's rating is
    /// the largest weight among its events. The caller has checked them against the stored ones.
    pub fn declare_events(&mut self, events: EventWeights) {
        if self.events.as_ref() != Some(&events) {
            self.events = Some(events);
            self.unwritten.events = true;
            self.unwritten.changed = true;
        }
    }

    /// Puts back the event weights held before a [`StoreState::declare_events`] whose rows
    /// then failed to apply.
    pub fn reset_events(&mut self, events: Option<EventWeights>) {
        self.events = events;
    }

    /// Whether [`StoreState::apply`] changed anything not written yet.
    pub fn has_unwritten_changes(&self) -> bool {
        self.unwritten.changed
    }

    /// Whether the stored timestamps include milliseconds (10¹¹ or more, as kept by earlier
    /// versions or under `--time-unit s`) and seconds (below it): `(milliseconds, seconds)`.
    /// One scan the first time; imports keep it up to date after.
    pub fn timestamp_units(&mut self) -> (bool, bool) {
        let records = &self.records;
        *self.units.get_or_insert_with(|| {
            fold_units((false, false), records.iter().filter_map(|r| r.timestamp))
        })
    }

    /// The interactions, in the order they were first imported (a new pair is always appended,
    /// so the pairs added since a snapshot of `n` records are `records()[n..]` unless a
    /// [`StoreState::remove`] came between: a removal moves the records after it).
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The IRIs of `links` that items outside `links` have too, from the IRI index (built here
    /// the first time links are given).
    fn shared_iris(&mut self, links: &[Link]) -> Vec<SharedIri> {
        if links.is_empty() {
            return Vec::new();
        }
        let stored = &self.links;
        let by_iri = self.by_iri.get_or_insert_with(|| {
            let mut index: HashMap<String, Vec<u32>> = HashMap::new();
            for (i, link) in stored.iter().enumerate() {
                if let Some(link) = link {
                    index.entry(link.iri.clone()).or_default().push(i as u32);
                }
            }
            index
        });
        let mut given: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for l in links {
            given
                .entry(l.iri.as_str())
                .or_default()
                .push(l.item.as_str());
        }
        let named: HashSet<&str> = links.iter().map(|l| l.item.as_str()).collect();
        given
            .iter()
            .filter_map(|(iri, items)| {
                let others: Vec<String> = by_iri
                    .get(*iri)?
                    .iter()
                    .filter_map(|&i| self.items.name(i))
                    .filter(|other| !named.contains(other))
                    .map(str::to_owned)
                    .collect();
                (!others.is_empty()).then(|| SharedIri {
                    iri: (*iri).to_owned(),
                    items: items.iter().map(|i| (*i).to_owned()).collect(),
                    others,
                })
            })
            .collect()
    }

    /// Keeps the IRI index, once built, in step with item `i`'s link changing from `old` to
    /// `new` (each list stays in item order).
    fn reindex(&mut self, i: u32, old: Option<&str>, new: &str) {
        let Some(index) = &mut self.by_iri else {
            return;
        };
        if let Some(old) = old
            && let Some(items) = index.get_mut(old)
        {
            items.retain(|&j| j != i);
            if items.is_empty() {
                index.remove(old);
            }
        }
        let items = index.entry(new.to_owned()).or_default();
        if let Err(at) = items.binary_search(&i) {
            items.insert(at, i);
        }
    }

    /// Adds `rows` and `links` in memory, all or nothing: an error leaves the state as it was.
    /// Users and items new to the store get the next dense ids in row order, then the items
    /// only the links name. Nothing is written until [`InteractionStore::write`].
    pub fn apply(&mut self, rows: &[RawInteraction], links: &[Link]) -> Result<ImportReport> {
        self.check_capacity(rows, links, u32::MAX as usize)?;
        let (old_users, old_items, old_records) =
            (self.users.len(), self.items.len(), self.records.len());
        let mut report = ImportReport::default();
        let strongest = self.events.is_some();
        for row in rows {
            let u = intern(&mut self.users, &row.user, "users")?;
            let i = intern(&mut self.items, &row.item, "items")?;
            match self.position.get(&(u, i)) {
                Some(&k) => {
                    let merged = self.records[k].merged(row, strongest);
                    if self.records[k].count_by_the_larger(row) {
                        report.counted_by_the_larger += 1;
                        report
                            .larger_example
                            .get_or_insert_with(|| format!("{}, {}", row.user, row.item));
                    }
                    if merged.count > self.records[k].count {
                        report.counts_raised += 1;
                    }
                    if row.rating.is_none()
                        && let Some(stored) = self.records[k].rating
                    {
                        report.unrated_kept += 1;
                        report.unrated_example.get_or_insert_with(|| {
                            format!("{}, {}: stored rating {stored} kept", row.user, row.item)
                        });
                    }
                    if merged == self.records[k] {
                        report.unchanged_interactions += 1;
                        if !strongest && row.rating.is_some() && row.rating != merged.rating {
                            report.older_ratings += 1;
                            let shown = |r: Option<f32>| {
                                r.map_or_else(|| "none".to_owned(), |r| r.to_string())
                            };
                            report.older_example.get_or_insert_with(|| {
                                format!(
                                    "{}, {}: rating {} in an older row, stored {} kept",
                                    row.user,
                                    row.item,
                                    shown(row.rating),
                                    shown(merged.rating)
                                )
                            });
                        }
                    } else {
                        self.records[k] = merged;
                        self.unwritten.record_chunks.insert(k / RECORDS_PER_CHUNK);
                        report.updated_interactions += 1;
                    }
                }
                None => {
                    let k = self.records.len();
                    self.position.insert((u, i), k);
                    self.records.push(Record {
                        user: UserId(u),
                        item: ItemId(i),
                        count: row.count,
                        rating: row.rating,
                        timestamp: row.timestamp,
                    });
                    self.unwritten.record_chunks.insert(k / RECORDS_PER_CHUNK);
                }
            }
        }

        for link in links {
            let i = match self.items.get(&link.item) {
                Some(i) => i,
                None => {
                    report.new_linked_items += 1;
                    intern(&mut self.items, &link.item, "items")?
                }
            } as usize;
            if self.links.len() < self.items.len() {
                self.links.resize(self.items.len(), None);
            }
            let stored = Some(StoredLink {
                iri: link.iri.clone(),
                entity: link.entity,
            });
            if self.links[i] != stored {
                let old = self.links[i].as_ref().map(|l| l.iri.clone());
                match &old {
                    Some(old) if *old != link.iri => report.relinked.push(Relink {
                        item: link.item.clone(),
                        old: old.clone(),
                        new: link.iri.clone(),
                    }),
                    Some(_) => {}
                    None => self.linked += 1,
                }
                if old.as_deref() != Some(link.iri.as_str()) {
                    self.reindex(i as u32, old.as_deref(), &link.iri);
                }
                self.links[i] = stored;
                self.unwritten.link_chunks.insert(i / NAMES_PER_CHUNK);
                report.links_set += 1;
            }
        }

        self.links.resize(self.items.len(), None);
        report.shared = self.shared_iris(links);
        report.new_users = (self.users.len() - old_users) as u64;
        report.new_items = (self.items.len() - old_items) as u64;
        report.new_item_examples = self.items.names()[old_items..]
            .iter()
            .take(5)
            .cloned()
            .collect();
        report.new_interactions = (self.records.len() - old_records) as u64;
        if report.new_users > 0 {
            report.lookalike_users =
                lookalike::added_lookalikes(self.users.names(), old_users, |n| {
                    self.users.get(n).map(|u| u as usize)
                });
        }
        if report.new_items > 0 {
            report.lookalike_items =
                lookalike::added_lookalikes(self.items.names(), old_items, |n| {
                    self.items.get(n).map(|i| i as usize)
                });
        }
        report.counts = self.counts();
        if let Some(units) = &mut self.units {
            *units = fold_units(*units, rows.iter().filter_map(|r| r.timestamp));
        }
        self.unwritten.changed |= report.new_users
            + report.new_items
            + report.new_interactions
            + report.updated_interactions
            + report.links_set
            > 0;
        Ok(report)
    }

    /// Removes the stored interactions of the `(user, item)` pairs given, in memory (nothing is
    /// written until [`InteractionStore::write`], which writes the removal in one batch with
    /// the new count). The remaining records keep their order; users and items keep their dense
    /// ids and names (an item stays in the catalogue with its link, a user with no interaction
    /// left is still known). Pairs the store does not hold are counted, the first few named; a
    /// pair given twice is removed once and counted once.
    pub fn remove(&mut self, pairs: &[(String, String)]) -> RemoveReport {
        self.units = None;
        let mut report = RemoveReport::default();
        let mut gone: BTreeSet<usize> = BTreeSet::new();
        for (user, item) in pairs {
            let at = self
                .users
                .get(user)
                .zip(self.items.get(item))
                .and_then(|pair| self.position.get(&pair).copied());
            match at {
                Some(k) => {
                    gone.insert(k);
                }
                None => {
                    report.not_found += 1;
                    if report.not_found_examples.len() < NOT_FOUND_NAMED {
                        report.not_found_examples.push((user.clone(), item.clone()));
                    }
                }
            }
        }
        // Pairs given twice were found twice: counted once.
        report.removed = gone.len() as u64;
        if let Some(&first) = gone.first() {
            let old_len = self.records.len();
            let mut k = 0;
            self.records.retain(|_| {
                k += 1;
                !gone.contains(&(k - 1))
            });
            self.position.retain(|_, at| *at < first);
            for (k, r) in self.records.iter().enumerate().skip(first) {
                self.position.insert((r.user.0, r.item.0), k);
            }
            // Every chunk from the first removed record on moves, and those past the new end go.
            let chunks = first / RECORDS_PER_CHUNK..=(old_len - 1) / RECORDS_PER_CHUNK;
            self.unwritten.record_chunks.extend(chunks);
            self.unwritten.changed = true;
        }
        report.counts = self.counts();
        report
    }

    /// Refuses rows and links that would take a dictionary past `id_space` names (`u32` ids)
    /// before anything changes, so that [`StoreState::apply`] is all or nothing.
    fn check_capacity(
        &self,
        rows: &[RawInteraction],
        links: &[Link],
        id_space: usize,
    ) -> Result<()> {
        let room = |map: &IdMap| id_space.saturating_sub(map.len());
        if rows.len() + links.len() <= room(&self.users).min(room(&self.items)) {
            return Ok(());
        }
        let unknown = |map: &IdMap, names: &mut dyn Iterator<Item = &String>| {
            names
                .filter(|n| map.get(n).is_none())
                .collect::<HashSet<_>>()
                .len()
        };
        if unknown(&self.users, &mut rows.iter().map(|r| &r.user)) > room(&self.users) {
            return Err(StoreError::TooMany { what: "users" });
        }
        let mut item_names = rows
            .iter()
            .map(|r| &r.item)
            .chain(links.iter().map(|l| &l.item));
        if unknown(&self.items, &mut item_names) > room(&self.items) {
            return Err(StoreError::TooMany { what: "items" });
        }
        Ok(())
    }

    /// The batch that writes the changes since the last write, if there are any.
    fn batch(&self) -> Result<Option<sled::Batch>> {
        let unwritten = &self.unwritten;
        if !unwritten.changed {
            return Ok(None);
        }
        let mut batch = sled::Batch::default();
        let chunk_of = |n: usize| n / NAMES_PER_CHUNK;
        let names = [
            (
                USERS,
                self.users.names(),
                unwritten.users_on_disk,
                "user name",
            ),
            (
                ITEMS,
                self.items.names(),
                unwritten.items_on_disk,
                "item name",
            ),
        ];
        for (prefix, names, on_disk, what) in names {
            if names.len() > on_disk {
                write_run(
                    &mut batch,
                    prefix,
                    names,
                    chunk_of(on_disk),
                    NAMES_PER_CHUNK,
                    what,
                )?;
            }
        }
        // The link run covers every item: new items add (empty) entries.
        let mut link_chunks = unwritten.link_chunks.clone();
        if self.items.len() > unwritten.items_on_disk {
            link_chunks.extend(chunk_of(unwritten.items_on_disk)..=chunk_of(self.items.len() - 1));
        }
        for c in link_chunks {
            let end = ((c + 1) * NAMES_PER_CHUNK).min(self.links.len());
            let encoded: Vec<Vec<u8>> = self.links[c * NAMES_PER_CHUNK..end]
                .iter()
                .map(|l| encode_link(l.as_ref()))
                .collect();
            write_chunk(&mut batch, LINKS, c, &encoded, "item link")?;
        }
        for &c in &unwritten.record_chunks {
            // A chunk a removal emptied: past the count, never read again, so gone.
            if c * RECORDS_PER_CHUNK >= self.records.len() {
                batch.remove(super::chunk_key(RECORDS, c));
                continue;
            }
            let end = ((c + 1) * RECORDS_PER_CHUNK).min(self.records.len());
            let chunk = &self.records[c * RECORDS_PER_CHUNK..end];
            let mut bytes = Vec::with_capacity(chunk.len() * RECORD_BYTES);
            chunk.iter().for_each(|r| r.encode(&mut bytes));
            batch.insert(super::chunk_key(RECORDS, c), bytes);
        }
        let c = self.counts();
        for (key, value) in [
            (META_USERS, c.users),
            (META_ITEMS, c.items),
            (META_INTERACTIONS, c.interactions),
            (META_LINKED, c.linked),
        ] {
            batch.insert(key, &value.to_le_bytes());
        }
        if let Some(scale) = self.scale.filter(|_| unwritten.scale) {
            let mut bytes = scale.min().to_le_bytes().to_vec();
            bytes.extend_from_slice(&scale.max().to_le_bytes());
            batch.insert(META_SCALE, bytes);
        }
        if let Some(events) = self.events.as_ref().filter(|_| unwritten.events) {
            batch.insert(META_EVENTS, events.to_json().as_bytes());
        }
        Ok(Some(batch))
    }
}

/// The dense id of `name`, the next one if it is new.
fn intern(map: &mut IdMap, name: &str, what: &'static str) -> Result<u32> {
    map.intern(name).map_err(|_| StoreError::TooMany { what })
}

fn encode_link(link: Option<&StoredLink>) -> Vec<u8> {
    match link {
        None => Vec::new(),
        Some(l) => {
            let mut out = l.entity.map_or(NO_ENTITY, |e| e.0).to_le_bytes().to_vec();
            out.extend_from_slice(l.iri.as_bytes());
            out
        }
    }
}

fn decode_link(bytes: Vec<u8>) -> Result<Option<StoredLink>> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let (head, iri) = bytes
        .split_at_checked(4)
        .ok_or_else(|| StoreError::corruption("item link", "shorter than its entity id"))?;
    let entity = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    Ok(Some(StoredLink {
        iri: utf8(iri.to_vec(), "item link IRI")?,
        entity: (entity != NO_ENTITY).then_some(EntityId(entity)),
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::Strategy;

    fn row(user: &str, item: &str, rating: Option<f32>, ts: Option<i64>) -> RawInteraction {
        RawInteraction {
            user: user.to_owned(),
            item: item.to_owned(),
            rating,
            timestamp: ts,
            count: 1,
            stamps: Vec::new(),
        }
    }

    fn store() -> (sled::Db, InteractionStore) {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let store = InteractionStore::open(&db).unwrap();
        (db, store)
    }

    /// Rows of `user, item` at each of `times` (`None`: without a timestamp), merged as an
    /// import merges them.
    fn purchases(user: &str, item: &str, times: &[Option<i64>]) -> Vec<RawInteraction> {
        let mut rows: Vec<RawInteraction> =
            times.iter().map(|&t| row(user, item, None, t)).collect();
        crate::interactions::merge_duplicates(&mut rows);
        rows
    }

    #[test]
    fn later_purchases_add_to_the_count_and_a_reimport_changes_nothing() {
        let (_db, store) = store();
        let jan = purchases("c1", "p", &[Some(10), Some(11), Some(12)]);
        let feb = purchases("c1", "p", &[Some(20), Some(21)]);
        let both = purchases(
            "c1",
            "p",
            &[Some(10), Some(11), Some(12), Some(20), Some(21)],
        );
        let count = || store.load().unwrap().records[0].count;
        store.import(&jan, &[]).unwrap();
        assert_eq!(count(), 3);
        let r = store.import(&feb, &[]).unwrap();
        assert_eq!((r.updated_interactions, r.counts_raised), (1, 1));
        assert_eq!(r.counted_by_the_larger, 0);
        assert_eq!(count(), 5, "3 in January, 2 more in February");
        for again in [&feb, &jan, &both] {
            let r = store.import(again, &[]).unwrap();
            assert_eq!((r.unchanged_interactions, r.counts_raised), (1, 0));
            assert_eq!(count(), 5, "rows at or before the stored time were seen");
        }
        // Rows without a timestamp: the larger count, said.
        let untimed = purchases("c1", "p", &[None, None]);
        let r = store.import(&untimed, &[]).unwrap();
        assert_eq!((r.counts_raised, r.counted_by_the_larger), (0, 1));
        assert_eq!(r.larger_example.as_deref(), Some("c1, p"));
        assert_eq!(count(), 5);
        let many = purchases("c1", "p", &[None; 7]);
        let r = store.import(&many, &[]).unwrap();
        assert_eq!(r.counts_raised, 1);
        assert_eq!(
            count(),
            7,
            "more rows than stored where none can be told apart"
        );
        // One later row (an online post) adds one; the same row again adds nothing.
        let march = purchases("c1", "p", &[Some(30)]);
        store.import(&march, &[]).unwrap();
        assert_eq!(count(), 8);
        store.import(&march, &[]).unwrap();
        assert_eq!(count(), 8);
    }

    #[test]
    fn a_pair_stored_without_a_time_keeps_the_larger_count() {
        let (_db, store) = store();
        store
            .import(&purchases("c1", "p", &[None, None]), &[])
            .unwrap();
        let r = store
            .import(&purchases("c1", "p", &[Some(5)]), &[])
            .unwrap();
        assert_eq!(r.counted_by_the_larger, 1);
        assert_eq!(store.load().unwrap().records[0].count, 2);
        // Stored with a time from now on: later rows add.
        store
            .import(&purchases("c1", "p", &[Some(6)]), &[])
            .unwrap();
        assert_eq!(store.load().unwrap().records[0].count, 3);
    }

    #[test]
    fn ids_are_stable_across_imports_and_chunk_boundaries() {
        let (_db, store) = store();
        let first: Vec<RawInteraction> = (0..13)
            .map(|k| row(&format!("u{}", k % 6), &format!("i{k}"), Some(4.5), Some(k)))
            .collect();
        let r = store.import(&first, &[]).unwrap();
        assert_eq!((r.new_users, r.new_items, r.new_interactions), (6, 13, 13));
        let before = store.load().unwrap();

        let second = vec![
            row("u 7 ✓", "i3", None, None),
            row("u0", "i0", Some(1.0), Some(100)),
            row("1099511627776", "i99", Some(2.0), Some(5)),
        ];
        let r = store.import(&second, &[]).unwrap();
        assert_eq!(r.new_users, 2);
        assert_eq!(r.new_items, 1);
        assert_eq!(r.updated_interactions, 1);
        assert_eq!(r.counts.interactions, 15);
        let after = store.load().unwrap();
        assert_eq!(after.users[..6], before.users[..]);
        assert_eq!(after.items[..13], before.items[..]);
        assert_eq!(after.users[6], "u 7 ✓");
        assert_eq!(after.users[7], "1099511627776");
        assert_eq!(after.records[0].rating, Some(1.0), "the later rating wins");
        assert_eq!(after.records[1..13], before.records[1..]);
        assert_ne!(after.fingerprint, before.fingerprint);
        assert_eq!(store.counts().unwrap(), r.counts);
        let m = after.matrix().unwrap();
        assert_eq!((m.n_users(), m.n_items(), m.nnz()), (8, 14, 15));
    }

    #[test]
    fn removal_keeps_order_and_ids_rewrites_the_moved_chunks_and_drops_emptied_ones() {
        let (_db, store) = store();
        // 20 records: 3 chunks of 7.
        let rows: Vec<RawInteraction> = (0..20)
            .map(|k| {
                row(
                    &format!("u{}", k % 4),
                    &format!("i{k}"),
                    Some(k as f32),
                    Some(k),
                )
            })
            .collect();
        store.import(&rows, &[]).unwrap();
        let before = store.load().unwrap();
        let mut state = store.state().unwrap();
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(u, i)| ((*u).to_owned(), (*i).to_owned()))
                .collect()
        };
        let asked = pairs(&[
            ("u1", "i5"),
            ("u3", "i19"),
            ("u1", "i5"),
            ("u0", "i1"),
            ("nobody", "i2"),
            ("u2", "i18"),
            ("u2", "i6"),
            ("u2", "i6"),
        ]);
        let r = state.remove(&asked);
        assert_eq!(r.removed, 4, "i5, i19, i18 and i6 (i1 is u1's, not u0's)");
        assert_eq!(r.not_found, 2);
        assert_eq!(
            r.not_found_examples,
            pairs(&[("u0", "i1"), ("nobody", "i2")])
        );
        assert_eq!(r.counts.interactions, 16);
        store.write(state).unwrap();
        let after = store.load().unwrap();
        let kept: Vec<Record> = before
            .records
            .iter()
            .filter(|r| ![5, 6, 18, 19].contains(&r.item.0))
            .copied()
            .collect();
        assert_eq!(after.records, kept, "the others, in their order");
        assert_eq!((after.users, after.items), (before.users, before.items));
        assert_ne!(after.fingerprint, before.fingerprint);
        // 16 records fill chunks 0..=2; removing down to 7 leaves one chunk and no stale ones.
        let mut state = store.state().unwrap();
        let rest: Vec<(String, String)> = after
            .records
            .iter()
            .skip(7)
            .map(|r| (format!("u{}", r.user.0), format!("i{}", r.item.0)))
            .collect();
        assert_eq!(state.remove(&rest).removed, 9);
        store.write(state).unwrap();
        let chunks: Vec<Vec<u8>> = contents(&store)
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| k.starts_with(RECORDS))
            .collect();
        assert_eq!(chunks, [super::super::chunk_key(RECORDS, 0)]);
        // A pair removed can come back: appended, with the row's values.
        store
            .import(&[row("u1", "i5", Some(9.0), None)], &[])
            .unwrap();
        let back = store.load().unwrap();
        assert_eq!(back.records.len(), 8);
        assert_eq!(back.records[7].rating, Some(9.0));
        assert_eq!(&back.records[..7], &after.records[..7]);
        // The kept state and the store read again agree.
        let mut state = store.state().unwrap();
        assert_eq!(state.remove(&pairs(&[("u1", "i5")])).removed, 1);
        let state = store.write(state).unwrap();
        assert_eq!(state.records(), store.state().unwrap().records());
    }

    #[test]
    fn a_row_without_a_rating_never_erases_a_stored_one() {
        let (_db, store) = store();
        let rated = vec![
            row("u1", "m1", Some(2.0), None),
            row("u2", "m1", Some(4.0), None),
            row("u2", "m2", None, None),
        ];
        store.import(&rated, &[]).unwrap();
        let unrated = vec![
            row("u1", "m1", None, None),
            row("u2", "m1", None, Some(10)),
            row("u2", "m2", Some(5.0), None),
        ];
        let r = store.import(&unrated, &[]).unwrap();
        assert_eq!(r.unrated_kept, 2);
        assert_eq!(r.older_ratings, 0, "an unrated row is not an older rating");
        assert_eq!(
            r.unrated_example.as_deref(),
            Some("u1, m1: stored rating 2 kept")
        );
        // u1,m1 unchanged; u2,m1 took the timestamp; u2,m2 took its first rating.
        assert_eq!((r.unchanged_interactions, r.updated_interactions), (1, 2));
        let after = store.load().unwrap();
        let ratings: Vec<_> = after.records.iter().map(|r| r.rating).collect();
        assert_eq!(ratings, [Some(2.0), Some(4.0), Some(5.0)]);
        assert_eq!(after.records[1].timestamp, Some(10));
    }

    #[test]
    fn importing_the_same_rows_twice_changes_nothing() {
        let (_db, store) = store();
        let rows = vec![row("a", "x", Some(3.0), Some(1)), row("b", "x", None, None)];
        let links = vec![Link {
            item: "x".to_owned(),
            iri: "http://e/x".to_owned(),
            entity: Some(EntityId(7)),
        }];
        store.import(&rows, &links).unwrap();
        let before = store.load().unwrap();
        let r = store.import(&rows, &links).unwrap();
        assert_eq!(r.unchanged_interactions, 2);
        assert_eq!(r.new_interactions + r.updated_interactions + r.links_set, 0);
        assert_eq!(store.load().unwrap(), before);
        assert_eq!(
            before.links[0],
            Some(StoredLink {
                iri: "http://e/x".to_owned(),
                entity: Some(EntityId(7))
            })
        );
    }

    #[test]
    fn links_to_new_items_add_them_and_links_can_change() {
        let (_db, store) = store();
        let rows: Vec<RawInteraction> = (0..8)
            .map(|k| row("u", &format!("i{k}"), None, None))
            .collect();
        let link = |item: &str, iri: &str, entity| Link {
            item: item.to_owned(),
            iri: iri.to_owned(),
            entity,
        };
        let r = store
            .import(
                &rows,
                &[
                    link("i1", "http://e/a", None),
                    link("i6", "http://e/a", Some(EntityId(0))),
                    link("nope", "http://e/b", None),
                ],
            )
            .unwrap();
        assert_eq!(
            (
                r.links_set,
                r.new_linked_items,
                r.counts.linked,
                r.counts.items
            ),
            (3, 1, 3, 9)
        );
        assert_eq!(r.new_items, 9, "8 items with rows and 1 from the link file");
        assert_eq!(r.relinked, [], "the first links replace nothing");
        assert_eq!(
            r.shared,
            [],
            "items sharing an IRI within one import are not stored twins"
        );
        let r = store
            .import(
                &[],
                &[
                    link("i1", "http://e/c", Some(EntityId(3))),
                    link("i6", "http://e/a", Some(EntityId(5))),
                ],
            )
            .unwrap();
        assert_eq!(
            r.relinked,
            [Relink {
                item: "i1".to_owned(),
                old: "http://e/a".to_owned(),
                new: "http://e/c".to_owned()
            }],
            "a new entity for the same IRI (i6) is no relink"
        );
        let snap = store.load().unwrap();
        assert_eq!(snap.links[1].as_ref().unwrap().iri, "http://e/c");
        assert_eq!(snap.links[6].as_ref().unwrap().entity, Some(EntityId(5)));
        assert!(snap.links[0].is_none());
        // A later import linking two more items to i6's IRI names the stored twin, once.
        let r = store
            .import(
                &[],
                &[
                    link("i2", "http://e/a", None),
                    link("i3", "http://e/a", None),
                    link("i4", "http://e/z", None),
                ],
            )
            .unwrap();
        assert_eq!(
            r.shared,
            [SharedIri {
                iri: "http://e/a".to_owned(),
                items: vec!["i2".to_owned(), "i3".to_owned()],
                others: vec!["i6".to_owned()],
            }]
        );
    }

    /// Every key and value of the store's tree.
    fn contents(store: &InteractionStore) -> Vec<(Vec<u8>, Vec<u8>)> {
        store
            .tree
            .iter()
            .map(|kv| {
                let (k, v) = kv.unwrap();
                (k.to_vec(), v.to_vec())
            })
            .collect()
    }

    /// One import of the generated sequence: rows over a small universe (so pairs repeat and
    /// update) and the odd link, some to items no row names.
    fn import_strategy() -> impl Strategy<Value = (Vec<RawInteraction>, Vec<Link>)> {
        let row = (
            0u8..12,
            0u8..20,
            proptest::option::of(0u8..6),
            proptest::option::of(0i64..4),
            1u32..3,
        )
            .prop_map(|(u, i, rating, timestamp, count)| RawInteraction {
                user: format!("u{u}"),
                item: format!("i{i}"),
                rating: rating.map(f32::from),
                timestamp,
                count,
                stamps: Vec::new(),
            });
        let link =
            (0u8..24, 0u8..3, proptest::option::of(0u32..5)).prop_map(|(i, iri, entity)| Link {
                item: format!("i{i}"),
                iri: format!("http://e/{iri}"),
                entity: entity.map(EntityId),
            });
        (
            proptest::collection::vec(row, 0..25),
            proptest::collection::vec(link, 0..3),
        )
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// A writer that keeps its state between imports, and writes several imports at once,
        /// leaves the same bytes as one that reads the whole store for every import; its state
        /// stays what reading the store gives, and every import reports the same.
        #[test]
        fn kept_state_writes_the_bytes_of_the_full_path(
            imports in proptest::collection::vec(import_strategy(), 1..12),
            group in 1usize..4,
        ) {
            let (_full_db, full) = store();
            let (_kept_db, kept) = store();
            let mut state = kept.state().unwrap();
            for (n, (rows, links)) in imports.iter().enumerate() {
                let expected = full.import(rows, links).unwrap();
                proptest::prop_assert_eq!(state.apply(rows, links).unwrap(), expected);
                if (n + 1) % group == 0 || n + 1 == imports.len() {
                    state = kept.write(state).unwrap();
                    proptest::prop_assert_eq!(contents(&kept), contents(&full));
                    let reread = kept.state().unwrap();
                    proptest::prop_assert_eq!(&state.users, &reread.users);
                    proptest::prop_assert_eq!(&state.items, &reread.items);
                    proptest::prop_assert_eq!(&state.links, &reread.links);
                    proptest::prop_assert_eq!(&state.records, &reread.records);
                    proptest::prop_assert_eq!(&state.position, &reread.position);
                    proptest::prop_assert_eq!(state.counts(), kept.counts().unwrap());
                    proptest::prop_assert_eq!(&state.unwritten, &reread.unwritten);
                }
            }
        }
    }

    #[test]
    fn the_capacity_check_counts_distinct_new_names() {
        let (_db, store) = store();
        let mut state = store.state().unwrap();
        state.apply(&[row("a", "x", None, None)], &[]).unwrap();
        let rows = vec![
            row("a", "y", None, None),
            row("b", "y", None, None),
            row("b", "z", None, None),
        ];
        // Users: b is the one new name; items: y and z.
        assert!(state.check_capacity(&rows, &[], 3).is_ok());
        assert!(matches!(
            state.check_capacity(&rows, &[], 2),
            Err(StoreError::TooMany { what: "items" })
        ));
        assert!(matches!(
            state.check_capacity(&rows, &[], 1),
            Err(StoreError::TooMany { what: "users" })
        ));
        let link = Link {
            item: "w".to_owned(),
            iri: "http://e/w".to_owned(),
            entity: None,
        };
        assert!(matches!(
            state.check_capacity(&rows, &[link], 3),
            Err(StoreError::TooMany { what: "items" })
        ));
    }

    #[test]
    fn undecodable_bytes_are_corruption() {
        let (_db, store) = store();
        store
            .import(&[row("a", "x", None, None), row("b", "y", None, None)], &[])
            .unwrap();
        store
            .tree
            .insert(super::super::chunk_key(RECORDS, 0), &[1u8; 10][..])
            .unwrap();
        assert!(matches!(
            store.load().unwrap_err(),
            StoreError::Corruption { .. }
        ));
        let mut bad = Vec::new();
        Record {
            user: UserId(9),
            item: ItemId(0),
            count: 1,
            rating: None,
            timestamp: None,
        }
        .encode(&mut bad);
        bad.extend_from_slice(&bad.clone());
        store
            .tree
            .insert(super::super::chunk_key(RECORDS, 0), bad)
            .unwrap();
        assert!(matches!(
            store.load().unwrap_err(),
            StoreError::Corruption { .. }
        ));
    }
}
