//! Training: hyper-parameters (params → check → fit), negative sampling, the two losses, the
//! optimisers and the deterministic data-parallel mini-batch loop.
//!
//! Parallelism and determinism: each mini-batch is cut into fixed-size *chunks* of positives (the
//! cut does not depend on the thread count). A chunk draws one set of negative entities that all
//! its positives share (DGL-KE's "chunked" negatives: one candidate row serves many positives,
//! which keeps it in cache), from an RNG seeded by `(seed, epoch, batch, chunk)`. Chunks run on
//! rayon against the same parameters and return sparse gradients; these are summed row by row in
//! chunk order and then applied, every touched row in parallel. The result is therefore bit-for-bit
//! the same for a given seed whatever the thread count.
//!
//! One file per stage, in the order a fit uses them:
//! - `params`: hyper-parameters (`KgeParams`, its checks and the CLI's tuned defaults).
//! - `init`: the starting model and the row norm constraints.
//! - `sampling`: which side of a positive is corrupted, the chunk's negatives, which count.
//! - `gradients`: the two losses and the analytic gradients of one chunk, as sparse rows.
//! - `optimizer`: the model's parameter matrices stepped by the shared optimiser core
//!   ([`crate::numeric::optim`]), with RotatE's phase step and the norm constraints.
//! - `fit`: the epoch loop (shuffle, chunked parallel gradients, step, validation, early stopping
//!   and plateau decay) and what it reports.

mod fit;
mod gradients;
mod init;
mod optimizer;
mod params;
mod sampling;

pub use fit::{EpochReport, FitResult, TrainError};
pub use params::{
    CheckedParams, KgeParams, LARGE_GRAPH_ENTITIES, LR_DECAY, Loss, Optimizer, ParamsError, RotatE,
    RowConstraint, Sampler, TransE, TransR,
};

#[cfg(test)]
mod tests;
