//! `kgrec`: a knowledge-graph-enhanced recommendation engine.
//!
//! This crate composes the graph layer (`kgrec-kg`) with users, interactions, collaborative
//! filtering, the model store and the command-line interface.
//!
//! Reading order: [`datadir`] (the folder that owns everything) → [`cli`] (the commands'
//! names and arguments) → [`commands`] (what each command does) → [`interactions`] (reading
//! feedback files) → [`cf`] (collaborative filtering and top-K) → [`metrics`] (evaluation) →
//! [`store`] (interactions and model versions in sled).

pub mod cf;
pub mod cli;
pub mod commands;
pub mod datadir;
pub mod error;
pub mod explain;
pub mod fused;
pub mod ids;
pub mod interactions;
pub mod metrics;
pub mod recommend;
pub mod store;

pub use error::{Error, Result};
pub use kgrec_kg as kg;
