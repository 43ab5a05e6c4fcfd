//! `kgrec-kg`: the knowledge-graph layer of kgrec.
//!
//! It imports RDF and TSV triples into an oxigraph store, keeps a dense entity/relation dictionary
//! and graph index in sled, and projects the graph into an in-memory adjacency structure for
//! embeddings and path search. It knows nothing of users, items or interactions: `kgrec` composes
//! it with those.
//!
//! Reading order: [`ids`] → [`source`] (one input file) → [`import`] (staging) → [`index`]
//! (sled dictionary and edges) → [`store`] (oxigraph + index, atomic commits) → [`projection`]
//! → [`paths`] (relation paths for explanations) → [`filter`] (which entities have given facts) → [`embed`] (TransE, RotatE, TransR and filtered link-prediction evaluation).
//! [`fsutil`] writes every file that must appear whole (snapshots, exports, user-named outputs).
//! [`numeric`] holds what every trainer of the workspace shares: seed derivation and the optimisers.

pub mod chunk;
pub mod embed;
pub mod encoding;
pub mod endpoint;
pub mod error;
pub mod filter;
pub mod fsutil;
#[cfg(test)]
mod fuzz;
pub mod ids;
pub mod import;
pub mod index;
pub mod integrity;
pub mod labels;
mod lenient;
mod literals;
pub mod numeric;
pub mod paths;
pub mod projection;
pub mod source;
pub mod store;
#[doc(hidden)]
pub mod testdata;
pub mod text;
pub mod watchdog;

pub use error::{KgError, Location};
pub use filter::{Condition, Facts, Filter, FilterError};
pub use ids::{EntityId, RelationId, Triple};
pub use import::{ImportOptions, ImportProgress};
pub use index::{GraphCounts, GraphIndex};
pub use labels::LabelLangs;
/// Re-exported so that callers use the same oxigraph as this crate.
pub use oxigraph;
pub use paths::{
    GraphPath, Hop, HopScorer, PathError, PathGraph, PathOptions, SourceSide, Specificity,
};
pub use projection::{Projection, Step, Walk};
pub use source::{InputFormat, SourceOptions};
pub use store::{Detached, ImportReport, KgStore};
