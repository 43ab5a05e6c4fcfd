//! How a model ranks the hops of explanation paths (see `docs/model.md`, "Explanations").
//!
//! The fused model scores a hop by how plausible its triple is under the TransE embeddings the
//! model trained, times the user's attention weight on the hop's relation and direction, times
//! the graph's [`Specificity`] of the entity reached. Models without graph embeddings use the
//! specificity alone, which prefers short paths through rare entities.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

use ndarray::ArrayView1;

use kgrec_kg::numeric::kernel::{Norm, transe_distance as kernel_distance};
use kgrec_kg::{EntityId, GraphPath, Hop, HopScorer, PathGraph, Specificity, Walk};

use crate::fused::{Fused, group_of};
use crate::ids::{ItemId, UserId};

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

/// How much a path's middle entities say about the items they join, as an inverse document
/// frequency over the items linked to the graph: a middle entity next to `c` of the `n` linked
/// items weighs `ln((1 + n) / c) / ln(1 + n)`, 1 for an entity next to one item (a director of
/// one other film), near 0 for a class or category next to nearly all of them (`rdf:type
/// dbo:Film`, "1997 films"), so that "a Movie, as is Ran" comes only after every more specific
/// path, and alone only when nothing more specific joins the two items. A path weighs the
/// product over its middle entities (every entity but the first and the last).
#[derive(Debug)]
pub struct MiddleIdf<'a> {
    graph: &'a PathGraph,
    /// `(entity, item)` of every linked item, ascending ([`crate::serving::entity_items`]).
    items: &'a [(EntityId, ItemId)],
    /// Distinct entities of `items`.
    n: usize,
    log_n: f32,
    cache: RefCell<HashMap<EntityId, f32>>,
}

impl<'a> MiddleIdf<'a> {
    /// The weights over `graph` with the linked items' entities: `items` holds `(entity,
    /// item)` pairs in ascending order (an entity of several items counts once).
    pub fn new(graph: &'a PathGraph, items: &'a [(EntityId, ItemId)]) -> Self {
        let n = 1 + items.windows(2).filter(|w| w[0].0 != w[1].0).count();
        let n = if items.is_empty() { 0 } else { n };
        Self {
            graph,
            items,
            n,
            log_n: (1.0 + n as f32).ln(),
            cache: RefCell::default(),
        }
    }

    fn is_item(&self, entity: EntityId) -> bool {
        self.items.binary_search_by_key(&entity, |p| p.0).is_ok()
    }

    /// The weight of one middle entity.
    pub fn of(&self, entity: EntityId) -> f32 {
        // Fewer than two items: nothing to tell apart.
        if self.n < 2 {
            return 1.0;
        }
        if let Some(w) = self.cache.borrow().get(&entity) {
            return *w;
        }
        let touched = self
            .graph
            .neighbours(entity)
            .iter()
            .filter(|&&e| self.is_item(e))
            .count()
            .max(1);
        let w = ((1.0 + self.n as f32) / touched as f32).ln() / self.log_n;
        self.cache.borrow_mut().insert(entity, w);
        w
    }

    /// The weight of a path: the product of its middle entities' weights.
    pub fn weight(&self, path: &GraphPath) -> f32 {
        let middles = path.hops.len().saturating_sub(1);
        path.hops[..middles].iter().map(|h| self.of(h.to)).product()
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use kgrec_kg::{Projection, RelationId, Triple};

    #[test]
    fn a_class_of_every_item_weighs_next_to_nothing_a_shared_director_much() {
        // Items 0..4, all of type 10; 0 and 1 share director 11.
        let mut triples: Vec<Triple> = (0..4)
            .map(|i| Triple::new(EntityId(i), RelationId(0), EntityId(10)))
            .collect();
        triples.push(Triple::new(EntityId(0), RelationId(1), EntityId(11)));
        triples.push(Triple::new(EntityId(1), RelationId(1), EntityId(11)));
        let projection = Projection::from_triples(12, 2, &triples).expect("valid triples");
        let graph = PathGraph::new(&projection);
        // Items 0..5 linked to entities 0..4 (items 4 and 0 share entity 0).
        let items = crate::serving::entity_items(&[0, 1, 2, 3, 0].map(|e| Some(EntityId(e))));
        let idf = MiddleIdf::new(&graph, &items);
        let class = idf.of(EntityId(10));
        let director = idf.of(EntityId(11));
        assert!(
            (class - (5.0f32 / 4.0).ln() / 5.0f32.ln()).abs() < 1e-6,
            "{class}"
        );
        assert!((director - (5.0f32 / 2.0).ln() / 5.0f32.ln()).abs() < 1e-6);
        assert!(class > 0.0 && class * 4.0 < director, "{class} {director}");
        // A one-hop path has no middle entity.
        let path = |middle: u32| GraphPath {
            hops: vec![
                Hop {
                    from: EntityId(0),
                    relation: RelationId(0),
                    walk: Walk::Forward,
                    to: EntityId(middle),
                },
                Hop {
                    from: EntityId(middle),
                    relation: RelationId(0),
                    walk: Walk::Inverse,
                    to: EntityId(1),
                },
            ],
            score: 1.0,
        };
        assert!((idf.weight(&path(10)) - class).abs() < 1e-6);
        let mut one_hop = path(10);
        one_hop.hops.truncate(1);
        assert_eq!(idf.weight(&one_hop), 1.0);
        // With one item there is nothing to weigh.
        let one = [(EntityId(0), ItemId(0))];
        assert_eq!(MiddleIdf::new(&graph, &one).of(EntityId(10)), 1.0);
    }
}
