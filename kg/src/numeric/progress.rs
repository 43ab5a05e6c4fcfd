//! What every trainer of the workspace reports after each epoch, and the clock that times it.

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// One epoch's progress: the argument of every fit's progress hook (ALS, BPR, the fused model,
/// the graph embeddings).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// 1-based.
    pub epoch: usize,
    /// The most epochs the fit runs (early stopping may end it sooner).
    #[serde(default)]
    pub epochs: usize,
    /// The training loss of this epoch, as the learner defines it.
    pub loss: f64,
    /// Positive training triples processed per second in this epoch (graph embeddings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triples_per_sec: Option<f64>,
    /// Wall time of this epoch.
    pub seconds: f64,
    /// Wall time since the fit started.
    #[serde(default)]
    pub elapsed_seconds: f64,
    /// Filtered validation MRR, when this epoch validated (graph embeddings).
    pub valid_mrr: Option<f64>,
}

/// Times a fit's epochs: each [`EpochClock::report`] measures the epoch since the previous one.
#[derive(Clone, Copy, Debug)]
pub struct EpochClock {
    start: Instant,
    last: Instant,
    epochs: usize,
}

impl EpochClock {
    /// Starts the clock of a fit of at most `epochs` epochs.
    pub fn new(epochs: usize) -> Self {
        let now = Instant::now();
        Self {
            start: now,
            last: now,
            epochs,
        }
    }

    /// The report of epoch `epoch` (1-based) with its loss, timed since the last report.
    pub fn report(&mut self, epoch: usize, loss: f64) -> EpochReport {
        let now = Instant::now();
        let seconds = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        EpochReport {
            epoch,
            epochs: self.epochs,
            loss,
            triples_per_sec: None,
            seconds,
            elapsed_seconds: now.duration_since(self.start).as_secs_f64(),
            valid_mrr: None,
        }
    }
}
