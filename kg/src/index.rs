//! The graph index in sled: entity and relation dictionaries, entity→entity edges, labels, counts.
//!
//! Everything the recommender needs per request lives here, so that serving never loads the RDF
//! store. All keys live in one sled tree so that one import commits in one atomic batch.
//!
//! Key layout (ids big-endian so that sled's order is id order):
//! - `e` iri → entity id, `E` id → iri
//! - `r` iri → relation id, `R` id → iri
//! - `x` head relation tail → empty (edges between entities)
//! - `l` id → label rank byte + label text
//! - `m` name → u64 little-endian (counts and bookkeeping)

use crate::error::{KgError, Result};
use crate::ids::{EntityId, RelationId, Triple};
use oxigraph::model::{NamedOrBlankNode, Quad, Term};
use std::collections::{HashMap, HashSet};

const TREE: &str = "kg";
const ENTITY_BY_IRI: u8 = b'e';
const ENTITY_IRI: u8 = b'E';
const RELATION_BY_IRI: u8 = b'r';
const RELATION_IRI: u8 = b'R';
const EDGE: u8 = b'x';
const LABEL: u8 = b'l';
const META: u8 = b'm';

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
}

/// Bookkeeping names under the `m` prefix.
pub(crate) mod meta {
    pub const TRIPLES: &str = "triples";
    pub const LITERALS: &str = "literals";
    pub const ENTITIES: &str = "entities";
    pub const RELATIONS: &str = "relations";
    pub const EDGES: &str = "edges";
    /// Which snapshot file holds the store (memory backend).
    pub const GENERATION: &str = "generation";
    /// Set while the RocksDB store may hold statements the index has not seen.
    #[cfg_attr(not(feature = "rocksdb"), allow(dead_code))]
    pub const PENDING: &str = "pending";
}

/// Predicates whose literal objects name an entity, best first.
const LABEL_PREDICATES: [&str; 6] = [
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

fn key(prefix: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + rest.len());
    k.push(prefix);
    k.extend_from_slice(rest);
    k
}

fn decode_u32(bytes: &[u8], what: &str) -> Result<u32> {
    let array: [u8; 4] = bytes.try_into().map_err(|_| {
        KgError::corruption(format!("{what}: expected 4 bytes, found {}", bytes.len()))
    })?;
    Ok(u32::from_be_bytes(array))
}

fn decode_u64(bytes: &[u8], what: &str) -> Result<u64> {
    let array: [u8; 8] = bytes.try_into().map_err(|_| {
        KgError::corruption(format!("{what}: expected 8 bytes, found {}", bytes.len()))
    })?;
    Ok(u64::from_le_bytes(array))
}

fn decode_text(bytes: &[u8], what: &str) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| KgError::corruption(format!("{what}: not UTF-8")))
}

/// The sled-backed graph index.
#[derive(Clone, Debug)]
pub struct GraphIndex {
    tree: sled::Tree,
}

impl GraphIndex {
    /// Opens (or creates) the index inside `db`.
    pub fn open(db: &sled::Db) -> Result<Self> {
        Ok(Self {
            tree: db.open_tree(TREE)?,
        })
    }

    pub(crate) fn meta(&self, name: &str) -> Result<u64> {
        match self.tree.get(key(META, name.as_bytes()))? {
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
        })
    }

    pub fn entity_id(&self, iri: &str) -> Result<Option<EntityId>> {
        self.tree
            .get(key(ENTITY_BY_IRI, iri.as_bytes()))?
            .map(|v| decode_u32(&v, "entity id").map(EntityId))
            .transpose()
    }

    pub fn entity_iri(&self, id: EntityId) -> Result<Option<String>> {
        self.tree
            .get(key(ENTITY_IRI, &id.0.to_be_bytes()))?
            .map(|v| decode_text(&v, "entity IRI"))
            .transpose()
    }

    pub fn relation_id(&self, iri: &str) -> Result<Option<RelationId>> {
        self.tree
            .get(key(RELATION_BY_IRI, iri.as_bytes()))?
            .map(|v| decode_u32(&v, "relation id").map(RelationId))
            .transpose()
    }

    pub fn relation_iri(&self, id: RelationId) -> Result<Option<String>> {
        self.tree
            .get(key(RELATION_IRI, &id.0.to_be_bytes()))?
            .map(|v| decode_text(&v, "relation IRI"))
            .transpose()
    }

    /// The best label the graph gives the entity, if any.
    pub fn label(&self, id: EntityId) -> Result<Option<String>> {
        match self.tree.get(key(LABEL, &id.0.to_be_bytes()))? {
            Some(v) if !v.is_empty() => decode_text(&v[1..], "label").map(Some),
            Some(_) => Err(KgError::corruption("empty label record")),
            None => Ok(None),
        }
    }

    /// Every entity IRI in id order.
    pub fn entity_iris(&self) -> Result<Vec<String>> {
        self.ordered_strings(ENTITY_IRI, "entity IRI")
    }

    /// Every relation IRI in id order.
    pub fn relation_iris(&self) -> Result<Vec<String>> {
        self.ordered_strings(RELATION_IRI, "relation IRI")
    }

    fn ordered_strings(&self, prefix: u8, what: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for entry in self.tree.scan_prefix([prefix]) {
            let (k, v) = entry?;
            let id = decode_u32(&k[1..], what)?;
            if id as usize != out.len() {
                return Err(KgError::corruption(format!(
                    "{what} ids are not dense: expected {}, found {id}",
                    out.len()
                )));
            }
            out.push(decode_text(&v, what)?);
        }
        Ok(out)
    }

    /// Every entity→entity edge, sorted by head, relation, tail.
    pub fn triples(&self) -> Result<Vec<Triple>> {
        let mut out = Vec::with_capacity(self.meta(meta::EDGES)? as usize);
        for entry in self.tree.scan_prefix([EDGE]) {
            let (k, _) = entry?;
            if k.len() != 13 {
                return Err(KgError::corruption(format!(
                    "edge key of {} bytes, expected 13",
                    k.len()
                )));
            }
            out.push(Triple::new(
                EntityId(decode_u32(&k[1..5], "edge head")?),
                RelationId(decode_u32(&k[5..9], "edge relation")?),
                EntityId(decode_u32(&k[9..13], "edge tail")?),
            ));
        }
        Ok(out)
    }

    /// Whether the edge (head, relation, tail) is in the graph.
    pub fn contains(&self, triple: Triple) -> Result<bool> {
        Ok(self.tree.contains_key(edge_key(triple))?)
    }

    /// Starts a batch of additions; nothing is visible until [`IndexWriter::commit`].
    pub(crate) fn writer(&self) -> Result<IndexWriter<'_>> {
        Ok(IndexWriter {
            index: self,
            batch: sled::Batch::default(),
            entities: HashMap::new(),
            relations: HashMap::new(),
            labels: HashMap::new(),
            next_entity: self.meta(meta::ENTITIES)?,
            next_relation: self.meta(meta::RELATIONS)?,
            new_edges: HashSet::new(),
            new_literals: 0,
            meta: HashMap::new(),
        })
    }

    /// Writes one bookkeeping value at once, outside any batch, and waits for the disk.
    #[cfg_attr(not(feature = "rocksdb"), allow(dead_code))]
    pub(crate) fn set_meta_now(&self, name: &str, value: u64) -> Result<()> {
        self.tree
            .insert(key(META, name.as_bytes()), &value.to_le_bytes())?;
        self.tree.flush()?;
        Ok(())
    }
}

fn edge_key(t: Triple) -> [u8; 13] {
    let mut k = [0u8; 13];
    k[0] = EDGE;
    k[1..5].copy_from_slice(&t.head.0.to_be_bytes());
    k[5..9].copy_from_slice(&t.relation.0.to_be_bytes());
    k[9..13].copy_from_slice(&t.tail.0.to_be_bytes());
    k
}

/// Additions to the index staged in memory and written in one atomic sled batch.
pub(crate) struct IndexWriter<'a> {
    index: &'a GraphIndex,
    batch: sled::Batch,
    entities: HashMap<String, EntityId>,
    relations: HashMap<String, RelationId>,
    labels: HashMap<EntityId, (u8, String)>,
    next_entity: u64,
    next_relation: u64,
    new_edges: HashSet<[u8; 13]>,
    new_literals: u64,
    meta: HashMap<&'static str, u64>,
}

impl std::fmt::Debug for IndexWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexWriter")
            .field("new_entities", &self.entities.len())
            .field("new_relations", &self.relations.len())
            .finish()
    }
}

impl IndexWriter<'_> {
    fn entity(&mut self, iri: &str) -> Result<EntityId> {
        if let Some(id) = self.entities.get(iri) {
            return Ok(*id);
        }
        if let Some(id) = self.index.entity_id(iri)? {
            return Ok(id);
        }
        let id = EntityId(u32::try_from(self.next_entity).map_err(|_| {
            KgError::BadArgument("the graph would exceed 2^32 entities".to_owned())
        })?);
        self.next_entity += 1;
        self.batch
            .insert(key(ENTITY_BY_IRI, iri.as_bytes()), &id.0.to_be_bytes());
        self.batch
            .insert(key(ENTITY_IRI, &id.0.to_be_bytes()), iri.as_bytes());
        self.entities.insert(iri.to_owned(), id);
        Ok(id)
    }

    fn relation(&mut self, iri: &str) -> Result<RelationId> {
        if let Some(id) = self.relations.get(iri) {
            return Ok(*id);
        }
        if let Some(id) = self.index.relation_id(iri)? {
            return Ok(id);
        }
        let id = RelationId(u32::try_from(self.next_relation).map_err(|_| {
            KgError::BadArgument("the graph would exceed 2^32 relations".to_owned())
        })?);
        self.next_relation += 1;
        self.batch
            .insert(key(RELATION_BY_IRI, iri.as_bytes()), &id.0.to_be_bytes());
        self.batch
            .insert(key(RELATION_IRI, &id.0.to_be_bytes()), iri.as_bytes());
        self.relations.insert(iri.to_owned(), id);
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
                    let k = edge_key(Triple::new(head, relation, tail));
                    // The same edge may come twice within one batch (two named graphs).
                    if !self.new_edges.contains(&k) && !self.index.tree.contains_key(k)? {
                        self.batch.insert(&k, &[]);
                        self.new_edges.insert(k);
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

    /// Writes every staged addition in one atomic batch and waits until it is on disk.
    pub fn commit(mut self) -> Result<()> {
        for (entity, (rank, label)) in std::mem::take(&mut self.labels) {
            let k = key(LABEL, &entity.0.to_be_bytes());
            let keep_old = match self.index.tree.get(&k)? {
                Some(old) => old.first().is_some_and(|old_rank| *old_rank <= rank),
                None => false,
            };
            if !keep_old {
                let mut v = Vec::with_capacity(1 + label.len());
                v.push(rank);
                v.extend_from_slice(label.as_bytes());
                self.batch.insert(k, v);
            }
        }
        let edges = self.index.meta(meta::EDGES)? + self.new_edges.len() as u64;
        let mut meta = std::mem::take(&mut self.meta);
        meta.insert(meta::ENTITIES, self.next_entity);
        meta.insert(meta::RELATIONS, self.next_relation);
        meta.insert(meta::EDGES, edges);
        for (name, value) in meta {
            self.batch
                .insert(key(META, name.as_bytes()), &value.to_le_bytes());
        }
        self.index.tree.apply_batch(self.batch)?;
        self.index.tree.flush()?;
        Ok(())
    }
}
