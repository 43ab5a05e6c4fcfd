//! Numerical building blocks shared by every trainer of the workspace (the graph embeddings here,
//! the recommenders of `kgrec`): one place for each.
//!
//! - [`seed`]: how a fit's seed becomes independent, reproducible random streams.

pub mod seed;
