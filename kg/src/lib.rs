//! `kgrec-kg`: the knowledge-graph layer of kgrec.
//!
//! It imports RDF and TSV triples into an oxigraph store, keeps a dense entity/relation dictionary,
//! projects the graph into a compact adjacency structure, trains knowledge-graph embeddings and
//! evaluates them. It knows nothing of users, items or interactions: `kgrec` composes it with those.

pub mod embed;
pub mod ids;

pub use ids::{EntityId, RelationId, Triple};
