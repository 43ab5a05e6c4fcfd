//! The popularity ranker: score = number of training positives of the item. It is the floor any
//! learnt model must beat and the answer for users with no history.

use crate::cf::{InteractionMatrix, Recommender};
use crate::ids::UserId;

/// Items ranked by their training positives.
#[derive(Debug, Clone, PartialEq)]
pub struct Popularity {
    n_users: usize,
    counts: Vec<f32>,
}

impl Popularity {
    /// Counts each item's positives.
    pub fn fit(matrix: &InteractionMatrix) -> Self {
        Self {
            n_users: matrix.n_users(),
            counts: matrix
                .item_degrees()
                .into_iter()
                .map(|c| c as f32)
                .collect(),
        }
    }

    /// A ranker from stored per-item scores (e.g. a model loaded from the model store).
    pub fn from_counts(n_users: usize, counts: Vec<f32>) -> Self {
        Self { n_users, counts }
    }

    /// The per-item scores.
    pub fn counts(&self) -> &[f32] {
        &self.counts
    }
}

impl Recommender for Popularity {
    fn n_users(&self) -> usize {
        self.n_users
    }

    fn n_items(&self) -> usize {
        self.counts.len()
    }

    fn score_items(&self, _user: UserId, out: &mut [f32]) {
        out.copy_from_slice(&self.counts);
    }
}
