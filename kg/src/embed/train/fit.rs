//! The training loop: per epoch a seeded shuffle, mini-batches cut into fixed chunks whose
//! gradients are computed in parallel and applied in chunk order, then validation with early
//! stopping and plateau decay.

use std::time::Instant;

use rand::RngCore;
use rand::seq::SliceRandom;
use rayon::prelude::*;

use super::gradients::{ChunkGrad, Ctx, Scratch, chunk_gradient};
use super::init::init_model;
use super::optimizer::OptState;
use std::sync::atomic::{AtomicBool, Ordering};

use super::params::{CheckedParams, LR_DECAY};
use super::sampling::corruption_probabilities;
use crate::embed::dataset::Dataset;
use crate::embed::eval::{FilterIndex, evaluate};
use crate::embed::model::KgeModel;
use crate::numeric::seed::rng_from;

pub use crate::numeric::EpochReport;

/// What [`CheckedParams::fit`] returns.
#[derive(Clone, Debug)]
pub struct FitResult {
    /// The model of the best validation, or the last one without validation.
    pub model: KgeModel,
    pub epochs: Vec<EpochReport>,
    pub best_epoch: Option<usize>,
    pub best_valid_mrr: Option<f64>,
    pub train_seconds: f64,
}

/// Why training failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    #[error("the data set has no entities, relations or training triples")]
    EmptyDataset,
    #[error("the loss became non-finite in epoch {epoch}; lower the learning rate")]
    Diverged { epoch: usize },
    /// The caller's cancel flag was raised: the fit stopped between two epochs.
    #[error("the fit was cancelled")]
    Cancelled,
}

impl CheckedParams {
    /// Trains on `data.train`. Every random choice derives from one `u64` drawn from `rng`.
    pub fn fit(
        &self,
        data: &Dataset,
        rng: &mut dyn RngCore,
        on_epoch: &mut dyn FnMut(&EpochReport),
    ) -> Result<FitResult, TrainError> {
        self.fit_cancellable(data, rng, on_epoch, &AtomicBool::new(false))
    }

    /// [`Self::fit`] that stops with [`TrainError::Cancelled`] at the first epoch boundary
    /// after `cancel` is raised.
    pub fn fit_cancellable(
        &self,
        data: &Dataset,
        rng: &mut dyn RngCore,
        on_epoch: &mut dyn FnMut(&EpochReport),
        cancel: &AtomicBool,
    ) -> Result<FitResult, TrainError> {
        let p = &self.0;
        let (ne, nr) = (data.num_entities(), data.num_relations());
        if ne == 0 || nr == 0 || data.train.is_empty() {
            return Err(TrainError::EmptyDataset);
        }
        let seed = rng.next_u64();
        let mut init_rng = rng_from(seed, &[0x1417]);
        let mut model = init_model(p, ne, nr, &mut init_rng);
        let mut state = OptState::new(&model, p.optimizer);
        let head_prob = corruption_probabilities(data, p.sampler);
        let train_filter = p.filtered_negatives.then(|| FilterIndex::new(&data.train));
        let valid_filter = (p.validate_every > 0 && !data.valid.is_empty())
            .then(|| FilterIndex::new(data.all_triples()));
        let valid = match p.valid_max {
            0 => &data.valid[..],
            n => &data.valid[..n.min(data.valid.len())],
        };
        let ctx = Ctx {
            p,
            head_prob: &head_prob,
            train_filter: train_filter.as_ref(),
            num_entities: ne,
        };

        let mut order: Vec<u32> = (0..data.train.len() as u32).collect();
        let mut reports = Vec::new();
        let (mut best, mut best_mrr, mut best_epoch, mut bad) = (None, f64::NEG_INFINITY, None, 0);
        let mut decays_left = p.lr_decays;
        let start = Instant::now();
        for epoch in 1..=p.epochs {
            let t0 = Instant::now();
            order.shuffle(&mut rng_from(seed, &[epoch as u64, 0x5eed]));
            let mut loss = 0.0;
            for (b, batch) in order.chunks(p.batch_size).enumerate() {
                let scale = 1.0 / batch.len() as f32;
                let rot = model.rotation_table();
                let grads: Vec<ChunkGrad> = batch
                    .par_chunks(p.chunk_size)
                    .enumerate()
                    .map_init(
                        || Scratch::new(&model, p),
                        |s, (c, chunk)| {
                            let mut rng = rng_from(seed, &[epoch as u64, b as u64, c as u64]);
                            chunk_gradient(&ctx, &model, &rot, data, chunk, scale, &mut rng, s)
                        },
                    )
                    .collect();
                loss += grads.iter().map(|g| g.loss).sum::<f64>();
                state.apply(&mut model, &grads, p);
            }
            let loss = loss / data.train.len() as f64;
            if !loss.is_finite() {
                return Err(TrainError::Diverged { epoch });
            }
            let seconds = t0.elapsed().as_secs_f64();
            let mut report = EpochReport {
                epoch,
                epochs: p.epochs,
                loss,
                triples_per_sec: Some(data.train.len() as f64 / seconds.max(1e-9)),
                seconds,
                elapsed_seconds: start.elapsed().as_secs_f64(),
                valid_mrr: None,
            };
            let mut stop = p.max_seconds > 0.0 && start.elapsed().as_secs_f64() >= p.max_seconds;
            if let Some(filter) = &valid_filter
                && (epoch % p.validate_every == 0 || epoch == p.epochs || stop)
            {
                let mrr = evaluate(&model, valid, filter).both.mrr;
                report.valid_mrr = Some(mrr);
                if mrr > best_mrr {
                    (best_mrr, best_epoch, bad) = (mrr, Some(epoch), 0);
                    best = Some(model.clone());
                } else {
                    bad += 1;
                    if bad >= p.patience && decays_left > 0 {
                        decays_left -= 1;
                        bad = 0;
                        state.lr_scale /= LR_DECAY;
                    }
                    stop |= bad >= p.patience;
                }
            }
            on_epoch(&report);
            if cancel.load(Ordering::Relaxed) {
                return Err(TrainError::Cancelled);
            }
            reports.push(report);
            if stop {
                break;
            }
        }
        Ok(FitResult {
            model: best.unwrap_or(model),
            epochs: reports,
            best_epoch,
            best_valid_mrr: best_epoch.map(|_| best_mrr),
            train_seconds: start.elapsed().as_secs_f64(),
        })
    }
}
