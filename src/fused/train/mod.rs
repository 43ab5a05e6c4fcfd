//! Fitting the fused model: alternating implicit-ALS half-steps (item rows pulled towards their
//! entity's embedding) with epochs of TransE on the graph (entity embeddings pulled towards the
//! items), then BPR on the attention keys and `β`. Every random choice derives from the seed and
//! a fixed partition of the work into chunks, so the same seed gives the same model on any
//! thread count.
//!
//! One file per stage:
//! - `params`: the hyper-parameters ([`FusedParams`], [`Attention`]) and their checks.
//! - `sampling`: the held-out positives of the attention stage, its hard negatives, and the
//!   corrupted triples of the TransE half.
//! - `gradients`: the TransE half's margin-loss gradients and the attention stage's BPR
//!   gradients (keys and `β`).
//! - `fit`: the alternating loop (ALS half-steps with the entity and nearest-item priors, TransE
//!   epochs, coupling), the attention stage, and the optimiser steps of both through the shared
//!   core (`kgrec_kg::numeric::optim`).

mod fit;
mod gradients;
mod params;
mod sampling;

#[cfg(test)]
pub(super) use gradients::attention_pair_for_tests;
pub use params::{Attention, FusedParams};
