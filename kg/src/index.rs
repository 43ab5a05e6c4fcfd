//! The graph index in sled: entity and relation dictionaries, entity→entity edges, labels, counts.
//!
//! Everything the recommender needs per request lives here, so that serving never loads the RDF
//! store. All keys live in one sled tree so that one import commits in one atomic batch.
//!
//! The dictionary and edges are append-only, so they are stored in fixed-size chunks (see
//! [`crate::chunk`]) rather than one key per IRI: an import of a million statements writes a few
//! hundred values instead of millions of keys, which is what makes it fast in sled.
//!
//! Key layout (chunk numbers big-endian):
//! - `E` chunk → IRIs of entities `chunk * ENTITY_CHUNK ..`
//! - `R` chunk → IRIs of relations `chunk * ENTITY_CHUNK ..`
//! - `L` chunk → labels of the same entities: rank byte + text, or empty for none
//! - `X` chunk → edges `chunk * EDGE_CHUNK ..`, each head, relation, tail as u32 little-endian
//! - `m` name → u64 little-endian (counts and bookkeeping)
//!
//! Entries past the committed counts are never read, so a chunk can only change atomically with
//! the counts that make it visible.

use crate::chunk;
use crate::error::{KgError, Result};
use crate::ids::{EntityId, RelationId, Triple};
use oxigraph::model::{NamedOrBlankNode, Quad, Term};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

const TREE: &str = "kg";
const ENTITIES: u8 = b'E';
const RELATIONS: u8 = b'R';
const LABELS: u8 = b'L';
const EDGES: u8 = b'X';
const META: u8 = b'm';

/// Entities (and relations, and labels) per chunk: small enough that rewriting the last chunk
/// on every import is cheap, large enough that a big graph needs few keys.
/// Tests use small chunks so that every boundary is crossed.
#[cfg(not(test))]
pub const ENTITY_CHUNK: usize = 4096;
#[cfg(test)]
pub const ENTITY_CHUNK: usize = 64;
/// Edges per chunk (12 bytes each).
#[cfg(not(test))]
pub const EDGE_CHUNK: usize = 65_536;
#[cfg(test)]
pub const EDGE_CHUNK: usize = 100;
const EDGE_BYTES: usize = 12;
/// The label rank meaning "no label".
const NO_LABEL: u8 = u8::MAX;

/// Counts kept with the index, updated in the same batch as the data they count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GraphCounts {
    /// Statements in the store (quads; one per triple when no named graphs are used).
    pub triples: u64,
    /// Entities in the dictionary.
    pub entities: u64,
    /// Relations in the dictionary.
    pub relations: u64,
    /// Statements whose object is a literal (labels, abstracts, numbers).
    pub literals: u64,
    /// Entity→entity edges, distinct over graphs.
    pub edges: u64,
    /// Statements of [`GraphCounts::triples`] in named graphs (N-Quads, TriG): a triple held by
    /// several graphs is one statement per graph. 0 for a directory imported before this was
    /// counted.
    pub named_graph_statements: u64,
}

/// Bookkeeping names under the `m` prefix.
pub(crate) mod meta {
    pub const TRIPLES: &str = "triples";
    pub const LITERALS: &str = "literals";
    pub const ENTITIES: &str = "entities";
    pub const RELATIONS: &str = "relations";
    pub const EDGES: &str = "edges";
    pub const NAMED: &str = "named graph statements";
    /// Which snapshot file holds the store (memory backend).
    #[cfg_attr(feature = "rocksdb", allow(dead_code))]
    pub const GENERATION: &str = "generation";
    /// Set while the RocksDB store may hold statements the index has not seen.
    #[cfg_attr(not(feature = "rocksdb"), allow(dead_code))]
    pub const PENDING: &str = "pending";
}

/// Predicates whose literal objects name an entity, best first.
pub(crate) const LABEL_PREDICATES: [&str; 6] = [
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://schema.org/name",
    "https://schema.org/name",
    "http://xmlns.com/foaf/0.1/name",
    "http://purl.org/dc/terms/title",
];

/// Lower is better: the predicate's place in [`LABEL_PREDICATES`], then English, no language, other.
fn label_rank(predicate: &str, language: Option<&str>) -> Option<u8> {
    let place = LABEL_PREDICATES.iter().position(|p| *p == predicate)? as u8;
    let lang = match language {
        Some(l) if l.eq_ignore_ascii_case("en") || l.to_ascii_lowercase().starts_with("en-") => 0,
        None => 1,
        Some(_) => 2,
    };
    Some(place * 3 + lang)
}

fn chunk_key(prefix: u8, chunk: usize) -> [u8; 5] {
    let mut k = [prefix, 0, 0, 0, 0];
    k[1..].copy_from_slice(&(chunk as u32).to_be_bytes());
    k
}

fn meta_key(name: &str) -> Vec<u8> {
    let mut k = vec![META];
    k.extend_from_slice(name.as_bytes());
    k
}

fn decode_u64(bytes: &[u8], what: &str) -> Result<u64> {
    let array: [u8; 8] = bytes.try_into().map_err(|_| {
        KgError::corruption(format!("{what}: expected 8 bytes, found {}", bytes.len()))
    })?;
    Ok(u64::from_le_bytes(array))
}

fn text(bytes: &[u8], what: &str) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| KgError::corruption(format!("{what}: not UTF-8")))
}

/// IRI → entity id, shared by the readers that asked for it.
type EntityMap = Arc<HashMap<String, EntityId>>;

/// The sled-backed graph index.
#[derive(Clone, Debug)]
pub struct GraphIndex {
    tree: sled::Tree,
    /// IRI → entity id, built on first use (lookups by IRI are rare outside imports).
    entity_ids: Arc<Mutex<Option<EntityMap>>>,
}

impl GraphIndex {
    /// Opens (or creates) the index inside `db`.
    pub fn open(db: &sled::Db) -> Result<Self> {
        Ok(Self {
            tree: db.open_tree(TREE)?,
            entity_ids: Arc::default(),
        })
    }

    pub(crate) fn meta(&self, name: &str) -> Result<u64> {
        match self.tree.get(meta_key(name))? {
            Some(v) => decode_u64(&v, name),
            None => Ok(0),
        }
    }

    /// The counts as of the last committed import.
    pub fn counts(&self) -> Result<GraphCounts> {
        Ok(GraphCounts {
            triples: self.meta(meta::TRIPLES)?,
            entities: self.meta(meta::ENTITIES)?,
            relations: self.meta(meta::RELATIONS)?,
            literals: self.meta(meta::LITERALS)?,
            edges: self.meta(meta::EDGES)?,
            named_graph_statements: self.meta(meta::NAMED)?,
        })
    }

    /// Entry `id` of the chunked run under `prefix`, if `id` is below the committed `count`.
    fn entry(&self, prefix: u8, id: usize, count: &str) -> Result<Option<Vec<u8>>> {
        if id as u64 >= self.meta(count)? {
            return Ok(None);
        }
        let key = chunk_key(prefix, id / ENTITY_CHUNK);
        let chunk_bytes = self
            .tree
            .get(key)?
            .ok_or_else(|| KgError::corruption(format!("missing index chunk {key:?}")))?;
        Ok(Some(chunk::get(&chunk_bytes, id % ENTITY_CHUNK)?.to_vec()))
    }

    pub fn entity_iri(&self, id: EntityId) -> Result<Option<String>> {
        self.entry(ENTITIES, id.index(), meta::ENTITIES)?
            .map(|b| text(&b, "entity IRI"))
            .transpose()
    }

    pub fn relation_iri(&self, id: RelationId) -> Result<Option<String>> {
        self.entry(RELATIONS, id.index(), meta::RELATIONS)?
            .map(|b| text(&b, "relation IRI"))
            .transpose()
    }

    /// The best label the graph gives the entity, if any.
    pub fn label(&self, id: EntityId) -> Result<Option<String>> {
        match self.entry(LABELS, id.index(), meta::ENTITIES)? {
            Some(b) if b.first().is_some_and(|rank| *rank != NO_LABEL) => {
                text(&b[1..], "label").map(Some)
            }
            Some(b) if b.is_empty() => Ok(None),
            Some(_) => Ok(None),
            None => Ok(None),
        }
    }

    /// The entity an IRI names, if the graph has it.
    pub fn entity_id(&self, iri: &str) -> Result<Option<EntityId>> {
        Ok(self.entity_map()?.get(iri).copied())
    }

    /// The entity a link names: the IRI itself, or — for a bare data-set token such as a RecBole
    /// `.link`'s `m.0abc`, which is not an absolute IRI — the IRI a TSV import mints for that token
    /// under the default base (`urn:kgrec:`), or for a prefixed name with a well-known prefix
    /// (`dbr:Toy_Story`, the prefixes of [`crate::filter::PREFIXES`]) its expansion. Returns the
    /// IRI found with its entity.
    pub fn resolve_entity(&self, name: &str) -> Result<Option<(String, EntityId)>> {
        if let Some(e) = self.entity_id(name)? {
            return Ok(Some((name.to_owned(), e)));
        }
        if let Some((prefix, local)) = name.split_once(':')
            && !local.starts_with("//")
            && let Some((_, namespace)) = crate::filter::PREFIXES.iter().find(|(p, _)| *p == prefix)
        {
            let iri = format!("{namespace}{local}");
            if let Some(e) = self.entity_id(&iri)? {
                return Ok(Some((iri, e)));
            }
        }
        if crate::source::is_absolute_iri(name) {
            return Ok(None);
        }
        let iri = crate::source::tsv_token_iri(crate::source::DEFAULT_TSV_BASE, name);
        Ok(self.entity_id(&iri)?.map(|e| (iri, e)))
    }

    /// The IRIs of `ids`, in the given order (each chunk read once); an id outside the
    /// dictionary is corruption.
    pub fn entity_iris_of(&self, ids: &[EntityId]) -> Result<Vec<String>> {
        let n = self.meta(meta::ENTITIES)? as usize;
        let mut chunks: HashMap<usize, Vec<Vec<u8>>> = HashMap::new();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let i = id.index();
            if i >= n {
                return Err(KgError::corruption(format!(
                    "entity {} is not in the dictionary of {n}",
                    id.0
                )));
            }
            let c = i / ENTITY_CHUNK;
            let entries = match chunks.entry(c) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let count = (n - c * ENTITY_CHUNK).min(ENTITY_CHUNK);
                    e.insert(self.run_chunk(ENTITIES, c, count)?)
                }
            };
            let entry = entries
                .get(i % ENTITY_CHUNK)
                .ok_or_else(|| KgError::corruption(format!("missing index chunk {c}")))?;
            out.push(text(entry, "entity IRI")?);
        }
        Ok(out)
    }

    /// The relation an IRI names, if the graph has it.
    pub fn relation_id(&self, iri: &str) -> Result<Option<RelationId>> {
        Ok(self
            .relation_iris()?
            .iter()
            .position(|r| r == iri)
            .map(|i| RelationId(i as u32)))
    }

    fn entity_map(&self) -> Result<Arc<HashMap<String, EntityId>>> {
        let mut cache = self
            .entity_ids
            .lock()
            .map_err(|_| KgError::corruption("entity map lock poisoned"))?;
        if let Some(map) = cache.as_ref() {
            return Ok(Arc::clone(map));
        }
        let map: HashMap<String, EntityId> = self
            .entity_iris()?
            .into_iter()
            .enumerate()
            .map(|(i, iri)| (iri, EntityId(i as u32)))
            .collect();
        let map = Arc::new(map);
        *cache = Some(Arc::clone(&map));
        Ok(map)
    }

    fn forget_cached_maps(&self) {
        if let Ok(mut cache) = self.entity_ids.lock() {
            *cache = None;
        }
    }

    /// The first `count` entries of the chunked run under `prefix`.
    fn run(&self, prefix: u8, count: usize) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::with_capacity(count);
        for c in 0..count.div_ceil(ENTITY_CHUNK) {
            let key = chunk_key(prefix, c);
            let bytes = self
                .tree
                .get(key)?
                .ok_or_else(|| KgError::corruption(format!("missing index chunk {key:?}")))?;
            let want = (count - c * ENTITY_CHUNK).min(ENTITY_CHUNK);
            let entries = chunk::entries(&bytes)?;
            if entries.len() < want {
                return Err(KgError::corruption(format!(
                    "index chunk {key:?} holds {} entries, {want} expected",
                    entries.len()
                )));
            }
            out.extend(entries[..want].iter().map(|e| e.to_vec()));
        }
        Ok(out)
    }

    /// Every entity IRI in id order.
    pub fn entity_iris(&self) -> Result<Vec<String>> {
        let n = self.meta(meta::ENTITIES)? as usize;
        self.run(ENTITIES, n)?
            .into_iter()
            .map(|b| text(&b, "entity IRI"))
            .collect()
    }

    /// Every entity's best label ([`GraphIndex::label`]) in id order, read in one pass.
    pub fn labels(&self) -> Result<Vec<Option<String>>> {
        let n = self.meta(meta::ENTITIES)? as usize;
        self.run(LABELS, n)?
            .into_iter()
            .map(|b| match b.split_first() {
                Some((rank, rest)) if *rank != NO_LABEL => text(rest, "label").map(Some),
                _ => Ok(None),
            })
            .collect()
    }

    /// Every relation's label in id order: the best label ([`GraphIndex::label`]) the graph
    /// gives the relation's IRI as a subject (`wdt:P57 rdfs:label "director"@en`), else `None`.
    /// An IRI's labels are indexed whatever the IRI is used as, so a directory imported before
    /// relation labels were read has them too.
    pub fn relation_labels(&self) -> Result<Vec<Option<String>>> {
        let entities = self.entity_map()?;
        self.relation_iris()?
            .iter()
            .map(|iri| match entities.get(iri) {
                Some(&id) => self.label(id),
                None => Ok(None),
            })
            .collect()
    }

    /// Every relation IRI in id order.
    pub fn relation_iris(&self) -> Result<Vec<String>> {
        let n = self.meta(meta::RELATIONS)? as usize;
        self.run(RELATIONS, n)?
            .into_iter()
            .map(|b| text(&b, "relation IRI"))
            .collect()
    }

    /// Every entity→entity edge, in the order imports added them.
    pub fn triples(&self) -> Result<Vec<Triple>> {
        let n = self.meta(meta::EDGES)? as usize;
        let mut out = Vec::with_capacity(n);
        for c in 0..n.div_ceil(EDGE_CHUNK) {
            let key = chunk_key(EDGES, c);
            let bytes = self
                .tree
                .get(key)?
                .ok_or_else(|| KgError::corruption(format!("missing edge chunk {c}")))?;
            let want = (n - c * EDGE_CHUNK).min(EDGE_CHUNK);
            if bytes.len() < want * EDGE_BYTES {
                return Err(KgError::corruption(format!(
                    "edge chunk {c} holds {} bytes, {} expected",
                    bytes.len(),
                    want * EDGE_BYTES
                )));
            }
            for e in bytes[..want * EDGE_BYTES].chunks_exact(EDGE_BYTES) {
                let word = |i: usize| u32::from_le_bytes([e[i], e[i + 1], e[i + 2], e[i + 3]]);
                out.push(Triple::new(
                    EntityId(word(0)),
                    RelationId(word(4)),
                    EntityId(word(8)),
                ));
            }
        }
        Ok(out)
    }

    /// Starts a batch of additions; nothing is visible until [`IndexWriter::commit`].
    pub(crate) fn writer(&self) -> Result<IndexWriter<'_>> {
        let entity_ids = (*self.entity_map()?).clone();
        let relation_iris = self.relation_iris()?;
        let relation_ids = relation_iris
            .iter()
            .enumerate()
            .map(|(i, iri)| (iri.clone(), RelationId(i as u32)))
            .collect();
        let edges: HashSet<Triple> = self.triples()?.into_iter().collect();
        Ok(IndexWriter {
            index: self,
            old_entities: entity_ids.len(),
            old_relations: relation_iris.len(),
            old_edges: edges.len(),
            entity_ids,
            new_entity_iris: Vec::new(),
            relation_ids,
            new_relation_iris: Vec::new(),
            edges,
            new_edges: Vec::new(),
            labels: HashMap::new(),
            new_literals: 0,
            meta: HashMap::new(),
        })
    }

    /// Writes one bookkeeping value at once, outside any batch, and waits for the disk.
    #[cfg_attr(not(feature = "rocksdb"), allow(dead_code))]
    pub(crate) fn set_meta_now(&self, name: &str, value: u64) -> Result<()> {
        let _watch = crate::watchdog::watch("write of the graph index");
        self.tree.insert(meta_key(name), &value.to_le_bytes())?;
        self.tree.flush()?;
        Ok(())
    }
}

/// Additions to the index staged in memory and written in one atomic sled batch.
pub(crate) struct IndexWriter<'a> {
    index: &'a GraphIndex,
    old_entities: usize,
    old_relations: usize,
    old_edges: usize,
    entity_ids: HashMap<String, EntityId>,
    new_entity_iris: Vec<String>,
    relation_ids: HashMap<String, RelationId>,
    new_relation_iris: Vec<String>,
    edges: HashSet<Triple>,
    new_edges: Vec<Triple>,
    labels: HashMap<EntityId, (u8, String)>,
    new_literals: u64,
    meta: HashMap<&'static str, u64>,
}

impl std::fmt::Debug for IndexWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexWriter")
            .field("new_entities", &self.new_entity_iris.len())
            .field("new_relations", &self.new_relation_iris.len())
            .field("new_edges", &self.new_edges.len())
            .finish()
    }
}

impl IndexWriter<'_> {
    fn entity(&mut self, iri: &str) -> Result<EntityId> {
        if let Some(id) = self.entity_ids.get(iri) {
            return Ok(*id);
        }
        let id = EntityId(u32::try_from(self.entity_ids.len()).map_err(|_| {
            KgError::BadArgument("the graph would exceed 2^32 entities".to_owned())
        })?);
        self.entity_ids.insert(iri.to_owned(), id);
        self.new_entity_iris.push(iri.to_owned());
        Ok(id)
    }

    fn relation(&mut self, iri: &str) -> Result<RelationId> {
        if let Some(id) = self.relation_ids.get(iri) {
            return Ok(*id);
        }
        let id = RelationId(u32::try_from(self.relation_ids.len()).map_err(|_| {
            KgError::BadArgument("the graph would exceed 2^32 relations".to_owned())
        })?);
        self.relation_ids.insert(iri.to_owned(), id);
        self.new_relation_iris.push(iri.to_owned());
        Ok(id)
    }

    /// Indexes one statement that is new to the store. Blank nodes are not entities.
    pub fn add(&mut self, quad: &Quad) -> Result<()> {
        let head = match &quad.subject {
            NamedOrBlankNode::NamedNode(n) => Some(self.entity(n.as_str())?),
            _ => None,
        };
        match &quad.object {
            Term::NamedNode(object) => {
                let tail = self.entity(object.as_str())?;
                let relation = self.relation(quad.predicate.as_str())?;
                if let Some(head) = head {
                    // The same edge comes twice when two named graphs hold it.
                    let edge = Triple::new(head, relation, tail);
                    if self.edges.insert(edge) {
                        self.new_edges.push(edge);
                    }
                }
            }
            Term::Literal(literal) => {
                self.new_literals += 1;
                if let (Some(head), Some(rank)) = (
                    head,
                    label_rank(quad.predicate.as_str(), literal.language()),
                ) {
                    let better = self.labels.get(&head).is_none_or(|(best, _)| rank < *best);
                    if better {
                        self.labels.insert(head, (rank, literal.value().to_owned()));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Statements with literal objects added so far.
    pub fn new_literals(&self) -> u64 {
        self.new_literals
    }

    /// Records a bookkeeping value to write with the batch.
    pub fn set_meta(&mut self, name: &'static str, value: u64) {
        self.meta.insert(name, value);
    }

    /// Rewrites the chunks of a string run from the one holding entry `old` to the end.
    fn append_strings(
        &self,
        batch: &mut sled::Batch,
        prefix: u8,
        old: usize,
        new: &[String],
    ) -> Result<()> {
        if new.is_empty() {
            return Ok(());
        }
        let first = old / ENTITY_CHUNK;
        let mut entries: Vec<Vec<u8>> = if old.is_multiple_of(ENTITY_CHUNK) {
            Vec::new()
        } else {
            self.index.run_chunk(prefix, first, old % ENTITY_CHUNK)?
        };
        entries.extend(new.iter().map(|s| s.as_bytes().to_vec()));
        for (i, piece) in entries.chunks(ENTITY_CHUNK).enumerate() {
            let bytes = chunk::encode(piece.iter().map(|e| e.as_slice()))?;
            batch.insert(&chunk_key(prefix, first + i), bytes);
        }
        Ok(())
    }

    /// Writes every staged addition in one atomic batch and waits until it is on disk.
    pub fn commit(mut self) -> Result<()> {
        let mut batch = sled::Batch::default();
        let n_entities = self.old_entities + self.new_entity_iris.len();
        self.append_strings(
            &mut batch,
            ENTITIES,
            self.old_entities,
            &self.new_entity_iris,
        )?;
        self.append_strings(
            &mut batch,
            RELATIONS,
            self.old_relations,
            &self.new_relation_iris,
        )?;
        self.write_labels(&mut batch, n_entities)?;
        self.write_edges(&mut batch)?;

        let mut meta = std::mem::take(&mut self.meta);
        meta.insert(meta::ENTITIES, n_entities as u64);
        meta.insert(
            meta::RELATIONS,
            (self.old_relations + self.new_relation_iris.len()) as u64,
        );
        meta.insert(meta::EDGES, (self.old_edges + self.new_edges.len()) as u64);
        for (name, value) in meta {
            batch.insert(meta_key(name), &value.to_le_bytes());
        }
        let _watch = crate::watchdog::watch("write of the graph index");
        self.index.tree.apply_batch(batch)?;
        self.index.tree.flush()?;
        self.index.forget_cached_maps();
        Ok(())
    }

    /// Rewrites the label chunks that new entities or better labels touch.
    fn write_labels(&self, batch: &mut sled::Batch, n_entities: usize) -> Result<()> {
        let mut touched: Vec<usize> = self
            .labels
            .keys()
            .map(|e| e.index() / ENTITY_CHUNK)
            .collect();
        if n_entities > self.old_entities {
            touched.extend(self.old_entities / ENTITY_CHUNK..n_entities.div_ceil(ENTITY_CHUNK));
        }
        touched.sort_unstable();
        touched.dedup();
        for c in touched {
            let start = c * ENTITY_CHUNK;
            let end = (start + ENTITY_CHUNK).min(n_entities);
            let old_in_chunk = self.old_entities.saturating_sub(start).min(ENTITY_CHUNK);
            let mut entries = if old_in_chunk > 0 {
                self.index.run_chunk(LABELS, c, old_in_chunk)?
            } else {
                Vec::new()
            };
            entries.resize(end - start, vec![NO_LABEL]);
            for (i, entry) in entries.iter_mut().enumerate() {
                if let Some((rank, label)) = self.labels.get(&EntityId((start + i) as u32)) {
                    let old_rank = entry.first().copied().unwrap_or(NO_LABEL);
                    if *rank < old_rank {
                        let mut v = Vec::with_capacity(1 + label.len());
                        v.push(*rank);
                        v.extend_from_slice(label.as_bytes());
                        *entry = v;
                    }
                }
            }
            let bytes = chunk::encode(entries.iter().map(|e| e.as_slice()))?;
            batch.insert(&chunk_key(LABELS, c), bytes);
        }
        Ok(())
    }

    fn write_edges(&self, batch: &mut sled::Batch) -> Result<()> {
        if self.new_edges.is_empty() {
            return Ok(());
        }
        let first = self.old_edges / EDGE_CHUNK;
        let kept = self.old_edges % EDGE_CHUNK;
        let mut bytes = if kept > 0 {
            let old = self
                .index
                .tree
                .get(chunk_key(EDGES, first))?
                .ok_or_else(|| KgError::corruption(format!("missing edge chunk {first}")))?;
            old.get(..kept * EDGE_BYTES)
                .ok_or_else(|| KgError::corruption(format!("edge chunk {first} is short")))?
                .to_vec()
        } else {
            Vec::new()
        };
        bytes.reserve(self.new_edges.len() * EDGE_BYTES);
        for e in &self.new_edges {
            bytes.extend_from_slice(&e.head.0.to_le_bytes());
            bytes.extend_from_slice(&e.relation.0.to_le_bytes());
            bytes.extend_from_slice(&e.tail.0.to_le_bytes());
        }
        for (i, piece) in bytes.chunks(EDGE_CHUNK * EDGE_BYTES).enumerate() {
            batch.insert(&chunk_key(EDGES, first + i), piece);
        }
        Ok(())
    }
}

impl GraphIndex {
    /// The first `count` entries of chunk `c` under `prefix`.
    fn run_chunk(&self, prefix: u8, c: usize, count: usize) -> Result<Vec<Vec<u8>>> {
        let key = chunk_key(prefix, c);
        let bytes = self
            .tree
            .get(key)?
            .ok_or_else(|| KgError::corruption(format!("missing index chunk {key:?}")))?;
        let entries = chunk::entries(&bytes)?;
        entries
            .get(..count)
            .map(|e| e.iter().map(|x| x.to_vec()).collect())
            .ok_or_else(|| {
                KgError::corruption(format!(
                    "index chunk {key:?} holds {} entries, {count} expected",
                    entries.len()
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use oxigraph::model::{Literal, NamedNode};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn iri(s: &str) -> NamedNode {
        NamedNode::new(format!("http://e/{s}")).unwrap()
    }

    fn edge(h: &str, r: &str, t: &str) -> Quad {
        Quad::new(
            iri(h),
            iri(r),
            iri(t),
            oxigraph::model::GraphName::DefaultGraph,
        )
    }

    #[test]
    fn labels_prefer_rdfs_label_in_english_and_survive_later_imports() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let index = GraphIndex::open(&db).unwrap();
        let label = |s: &str, p: &str, lit: Literal| {
            Quad::new(
                iri(s),
                NamedNode::new(p).unwrap(),
                lit,
                oxigraph::model::GraphName::DefaultGraph,
            )
        };
        let mut w = index.writer().unwrap();
        w.add(&label(
            "a",
            "http://xmlns.com/foaf/0.1/name",
            Literal::new_simple_literal("foaf A"),
        ))
        .unwrap();
        w.add(&label(
            "a",
            LABEL_PREDICATES[0],
            Literal::new_language_tagged_literal("A fr", "fr").unwrap(),
        ))
        .unwrap();
        w.add(&label(
            "a",
            LABEL_PREDICATES[0],
            Literal::new_language_tagged_literal("A en", "en").unwrap(),
        ))
        .unwrap();
        w.add(&edge("b", "p", "c")).unwrap();
        w.commit().unwrap();
        let a = index.entity_id("http://e/a").unwrap().unwrap();
        assert_eq!(index.label(a).unwrap().as_deref(), Some("A en"));
        assert_eq!(
            index
                .label(index.entity_id("http://e/b").unwrap().unwrap())
                .unwrap(),
            None
        );

        // A worse label later does not replace a better one; a first label is taken.
        let mut w = index.writer().unwrap();
        w.add(&label(
            "a",
            "http://schema.org/name",
            Literal::new_simple_literal("schema A"),
        ))
        .unwrap();
        w.add(&label(
            "c",
            "http://schema.org/name",
            Literal::new_simple_literal("C"),
        ))
        .unwrap();
        w.commit().unwrap();
        assert_eq!(index.label(a).unwrap().as_deref(), Some("A en"));
        let c = index.entity_id("http://e/c").unwrap().unwrap();
        assert_eq!(index.label(c).unwrap().as_deref(), Some("C"));
    }

    #[test]
    fn relations_take_the_labels_their_iris_are_given() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let index = GraphIndex::open(&db).unwrap();
        let mut w = index.writer().unwrap();
        w.add(&edge("film", "P57", "mann")).unwrap();
        w.add(&edge("film", "P161", "pacino")).unwrap();
        // The label comes in a later import than the edges that use the relation.
        w.commit().unwrap();
        let mut w = index.writer().unwrap();
        for (text, lang) in [("regisseur", "de"), ("director", "en")] {
            w.add(&Quad::new(
                iri("P57"),
                NamedNode::new(LABEL_PREDICATES[0]).unwrap(),
                Literal::new_language_tagged_literal(text, lang).unwrap(),
                oxigraph::model::GraphName::DefaultGraph,
            ))
            .unwrap();
        }
        w.commit().unwrap();
        let relations = index.relation_iris().unwrap();
        let labels = index.relation_labels().unwrap();
        assert_eq!(relations.len(), labels.len());
        let label_of = |name: &str| {
            let i = relations.iter().position(|r| r == name).unwrap();
            labels[i].clone()
        };
        assert_eq!(label_of("http://e/P57").as_deref(), Some("director"));
        assert_eq!(label_of("http://e/P161"), None);
    }

    #[test]
    fn an_uncommitted_writer_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let index = GraphIndex::open(&db).unwrap();
        let mut w = index.writer().unwrap();
        w.add(&edge("a", "p", "b")).unwrap();
        drop(w);
        assert_eq!(index.counts().unwrap(), GraphCounts::default());
        assert_eq!(index.entity_id("http://e/a").unwrap(), None);
        assert!(index.triples().unwrap().is_empty());
    }

    #[test]
    fn a_chunk_cut_short_on_disk_is_reported_as_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let index = GraphIndex::open(&db).unwrap();
        let mut w = index.writer().unwrap();
        w.add(&edge("a", "p", "b")).unwrap();
        w.commit().unwrap();
        index
            .tree
            .insert(chunk_key(ENTITIES, 0), &[1u8, 0][..])
            .unwrap();
        let err = index.entity_iris().unwrap_err();
        assert!(matches!(err, KgError::Corruption { .. }), "{err}");
        index
            .tree
            .insert(chunk_key(EDGES, 0), &[1u8; 5][..])
            .unwrap();
        assert!(matches!(
            index.triples().unwrap_err(),
            KgError::Corruption { .. }
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Against a BTreeMap model: ids are dense, stable across batches, and round-trip.
        #[test]
        fn dictionary_matches_a_btreemap_model(
            batches in proptest::collection::vec(
                proptest::collection::vec((0u16..5000, 0u8..4, 0u16..5000), 0..400), 1..5)
        ) {
            let dir = tempfile::tempdir().unwrap();
            let db = sled::open(dir.path()).unwrap();
            let index = GraphIndex::open(&db).unwrap();
            let mut model: BTreeMap<String, u32> = BTreeMap::new();
            let mut model_edges: HashSet<(u32, u32, u32)> = HashSet::new();
            let mut relations: BTreeMap<String, u32> = BTreeMap::new();
            for batch in &batches {
                let mut w = index.writer().unwrap();
                for (h, r, t) in batch {
                    let (h, r, t) = (format!("n{h}"), format!("r{r}"), format!("n{t}"));
                    w.add(&edge(&h, &r, &t)).unwrap();
                    let id = |k: &str, m: &mut BTreeMap<String, u32>| {
                        let next = m.len() as u32;
                        *m.entry(format!("http://e/{k}")).or_insert(next)
                    };
                    let (hi, ti) = (id(&h, &mut model), id(&t, &mut model));
                    let ri = id(&r, &mut relations);
                    model_edges.insert((hi, ri, ti));
                }
                w.commit().unwrap();
                let counts = index.counts().unwrap();
                prop_assert_eq!(counts.entities as usize, model.len());
                prop_assert_eq!(counts.relations as usize, relations.len());
                prop_assert_eq!(counts.edges as usize, model_edges.len());
            }
            let iris = index.entity_iris().unwrap();
            for (iri, id) in &model {
                prop_assert_eq!(index.entity_id(iri).unwrap(), Some(EntityId(*id)));
                prop_assert_eq!(&iris[*id as usize], iri);
                let back = index.entity_iri(EntityId(*id)).unwrap();
                prop_assert_eq!(back.as_deref(), Some(iri.as_str()));
            }
            prop_assert_eq!(index.entity_iri(EntityId(model.len() as u32)).unwrap(), None);
            let edges: HashSet<(u32, u32, u32)> = index.triples().unwrap().into_iter()
                .map(|t| (t.head.0, t.relation.0, t.tail.0)).collect();
            prop_assert_eq!(edges, model_edges);
        }
    }
}
