//! `kgrec`: a knowledge-graph-enhanced recommendation engine.
//!
//! This crate composes the graph layer (`kgrec-kg`) with users, interactions, collaborative
//! filtering, the knowledge-aware models and the model store. Everything outside it — the
//! command line, the examples, the tests, the HTTP service — calls [`Engine`].
//!
//! Reading order: [`engine`] (the handle on a data directory and its operations) →
//! [`learners`] (the model registry: every learner, its parameters, fit and load) →
//! [`serving`] (a stored model bound for requests: top-K, fold-in, item details) →
//! [`explain`] (why an item is recommended) → [`datadir`] and [`store`] (what is kept on disk)
//! → [`interactions`] (reading feedback files) → [`cf`], [`ease`] and [`fused`] (the models' maths) →
//! [`metrics`] (evaluation).

pub mod cf;
pub mod content;
pub mod datadir;
pub mod ease;
pub mod engine;
pub mod error;
pub mod explain;
pub mod fused;
#[cfg(test)]
mod fuzzing;
pub mod ids;
pub mod interactions;
pub mod knn;
pub mod learners;
pub mod metrics;
pub mod serving;
mod sparql_hints;
pub mod store;
pub mod tune;

pub use engine::{
    Access, BatchRecommendations, BatchTimings, CurrentSet, EmbeddingsExported, Engine,
    EvalOutcome, EvalRequest, EvalTask, ExplainedJson, FilterSummary, IngestStats, InteractionFile,
    InteractionsImported, ListJson, ModelVersion, Neighbourhood, OpenOptions, RecommendRequest,
    Recommendations, RecommendedItem, SimilarItems, Stats, TrainRequest, Trained,
};
pub use error::{Error, Result};
pub use kgrec_kg as kg;
pub use kgrec_kg::{Filter, FilterError, LabelLangs};
pub use learners::{ModelKind, ModelSpec, Overrides};
