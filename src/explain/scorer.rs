//! How a model ranks the hops of explanation paths (see `docs/model.md`, "Explanations").
//!
//! The fused model scores a hop by how plausible its triple is under the TransE embeddings the
//! model trained, times the user's attention weight on the hop's relation and direction, times
//! the graph's [`Specificity`] of the entity reached. Models without graph embeddings use the
//! specificity alone, which prefers short paths through rare entities.

use std::borrow::Cow;

use ndarray::ArrayView1;

use kgrec_kg::numeric::kernel::{Norm, transe_distance as kernel_distance};
use kgrec_kg::{Hop, HopScorer, PathGraph, Specificity, Walk};

use crate::fused::{Fused, group_of};
use crate::ids::UserId;

/// Triples sampled to calibrate the distance scale.
const CALIBRATION_SAMPLE: usize = 4096;

/// The typical TransE distance `‖h + r − t‖₂` of the model's own triples (their median, over an
/// evenly spaced sample), so that a typical true triple scores `e^{-1}`; 1 without triples.
pub fn distance_scale(fused: &Fused) -> f32 {
    let triples = fused.graph().triples();
    let step = triples.len().div_ceil(CALIBRATION_SAMPLE).max(1);
    let mut distances: Vec<f32> = triples
        .iter()
        .step_by(step)
        .filter_map(|t| transe_distance(fused, t.head, t.relation, t.tail))
        .filter(|d| d.is_finite())
        .collect();
    if distances.is_empty() {
        return 1.0;
    }
    let mid = distances.len() / 2;
    distances.select_nth_unstable_by(mid, f32::total_cmp);
    let median = distances[mid];
    if median > 0.0 { median } else { 1.0 }
}

fn transe_distance(
    fused: &Fused,
    head: kgrec_kg::EntityId,
    relation: kgrec_kg::RelationId,
    tail: kgrec_kg::EntityId,
) -> Option<f32> {
    let h = fused.entity_vector(head)?;
    let r = fused.relation_vector(relation)?;
    let t = fused.entity_vector(tail)?;
    Some(kernel_distance(
        Norm::L2,
        &as_row(&h),
        &as_row(&r),
        &as_row(&t),
    ))
}

/// A row as a slice, copied only if its view is not contiguous.
fn as_row<'a>(v: &'a ArrayView1<'_, f32>) -> Cow<'a, [f32]> {
    v.as_slice()
        .map_or_else(|| Cow::Owned(v.to_vec()), Cow::Borrowed)
}

/// The fused model's hop score for one user.
#[derive(Debug)]
pub struct FusedHops<'a> {
    fused: &'a Fused,
    attention: Vec<f32>,
    scale: f32,
    specificity: Specificity<'a>,
}

impl<'a> FusedHops<'a> {
    /// The scorer of `user` (a user the model does not know weighs every relation alike).
    pub fn new(fused: &'a Fused, user: UserId, scale: f32, graph: &'a PathGraph) -> Self {
        use crate::cf::Recommender;
        let attention = if user.index() < fused.n_users() {
            fused.attention(&fused.user_vector(user))
        } else {
            Vec::new()
        };
        Self {
            fused,
            attention,
            scale,
            specificity: Specificity::new(graph),
        }
    }

    /// `exp(−‖h + r − t‖ / scale)` of the hop's triple; 0.5 when the model has no embedding for
    /// one of its parts (an entity the graph gained after training).
    fn plausibility(&self, hop: &Hop) -> f32 {
        let t = hop.triple();
        match transe_distance(self.fused, t.head, t.relation, t.tail) {
            Some(d) => (-d / self.scale).exp(),
            None => 0.5,
        }
    }

    fn attention(&self, hop: &Hop) -> f32 {
        let group = group_of(hop.relation, hop.walk == Walk::Inverse) as usize;
        self.attention.get(group).copied().unwrap_or(1.0)
    }
}

impl HopScorer for FusedHops<'_> {
    fn score(&self, hop: &Hop) -> f32 {
        self.plausibility(hop) * self.attention(hop) * self.specificity.score(hop)
    }
}
