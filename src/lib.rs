//! `kgrec`: a knowledge-graph-enhanced recommendation engine.
//!
//! This crate composes the graph layer (`kgrec-kg`) with users, interactions, collaborative
//! filtering, the model store and the command-line interface.

pub mod cf;
pub mod ids;
pub mod interactions;
pub mod metrics;

pub use kgrec_kg as kg;
