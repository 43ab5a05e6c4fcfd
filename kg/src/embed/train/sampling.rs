//! Negative sampling: which side of a positive is corrupted (uniformly, or Bernoulli after Wang
//! et al. 2014), the negative entities a chunk's positives share, and which of them count.

use rand::Rng;

use super::params::Sampler;
use crate::embed::dataset::Dataset;
use crate::embed::eval::FilterIndex;
use crate::embed::model::Side;
use crate::ids::{EntityId, Triple};

/// Per relation, the probability of corrupting the head.
pub(super) fn corruption_probabilities(data: &Dataset, sampler: Sampler) -> Vec<f32> {
    let nr = data.num_relations();
    if sampler == Sampler::Uniform {
        return vec![0.5; nr];
    }
    let mut heads_of: Vec<std::collections::HashMap<u32, u32>> = vec![Default::default(); nr];
    let mut tails_of: Vec<std::collections::HashMap<u32, u32>> = vec![Default::default(); nr];
    for t in &data.train {
        *heads_of[t.relation.index()].entry(t.head.0).or_default() += 1;
        *tails_of[t.relation.index()].entry(t.tail.0).or_default() += 1;
    }
    (0..nr)
        .map(|r| {
            // tph: mean tails per distinct head; hpt: mean heads per distinct tail.
            let n = heads_of[r].values().sum::<u32>() as f32;
            if n == 0.0 {
                return 0.5;
            }
            let tph = n / heads_of[r].len() as f32;
            let hpt = n / tails_of[r].len() as f32;
            tph / (tph + hpt)
        })
        .collect()
}

/// Draws a chunk's negative entities uniformly among `num_entities`: one set all of the chunk's
/// positives share.
pub(super) fn draw_negatives(rng: &mut impl Rng, num_entities: usize, negs: &mut [u32]) {
    for n in negs.iter_mut() {
        *n = rng.random_range(0..num_entities as u32);
    }
}

/// The side of a positive to corrupt: the head with probability `head_prob`.
pub(super) fn corrupted_side(rng: &mut impl Rng, head_prob: f32) -> Side {
    if rng.random::<f32>() < head_prob {
        Side::Head
    } else {
        Side::Tail
    }
}

/// Whether entity `e` on the open `side` of the positive `t` is a negative to learn from: not
/// the positive's own entity and, with a `filter` of the training triples, no training triple.
pub(super) fn usable_negative(t: Triple, side: Side, e: u32, filter: Option<&FilterIndex>) -> bool {
    let target = match side {
        Side::Tail => t.tail,
        Side::Head => t.head,
    };
    e != target.0
        && filter.is_none_or(|f| {
            let corrupted = match side {
                Side::Tail => Triple::new(t.head, t.relation, EntityId(e)),
                Side::Head => Triple::new(EntityId(e), t.relation, t.tail),
            };
            !f.contains(&corrupted)
        })
}
