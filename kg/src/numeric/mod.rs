//! Numerical building blocks shared by every trainer of the workspace (the graph embeddings here,
//! the recommenders of `kgrec`): one place for each.
//!
//! - [`kernel`]: one `dot`, `axpy` and `matvec` on `f32` rows, and the TransE kernel (the
//!   translation, the L1/L2 distance and its gradient) that the graph embeddings and `kgrec`'s
//!   fused model both train and score with.
//! - [`seed`]: how a fit's seed becomes independent, reproducible random streams.
//! - [`optim`]: Adagrad and Adam on the rows of a parameter table, updated lazily (only the rows a
//!   step has gradients for), one row at a time or a whole step's sparse rows at once.
//! - [`progress`]: the one `EpochReport` every fit's progress hook receives.

pub mod kernel;
pub mod optim;
pub mod progress;
pub mod seed;

pub use progress::{EpochClock, EpochReport};
