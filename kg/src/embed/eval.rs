//! Filtered link-prediction evaluation (the Bordes et al. 2013 protocol): each evaluated triple's
//! true tail is ranked among all entities for `(h, r, ?)` and its true head for `(?, r, t)`, after
//! removing every *other* known true answer (train + valid + test).
//!
//! Ties are ranked "realistically": `rank = 1 + #better + #equal / 2`, where `#equal` counts the
//! other unfiltered candidates whose distance equals the true answer's exactly. This is the
//! expected rank under random tie-breaking (PyKEEN's default); it neither rewards a model that
//! scores everything alike (optimistic rank) nor punishes ties it did not cause (pessimistic rank).
//! A NaN distance for the true answer ranks it last.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::model::{KgeModel, Matrix, ModelKind, Side};
use crate::ids::{EntityId, Triple};

/// The known true answers of every `(h, r, ?)` and `(?, r, t)` query.
#[derive(Clone, Debug, Default)]
pub struct FilterIndex {
    tails: HashMap<(u32, u32), Vec<u32>>,
    heads: HashMap<(u32, u32), Vec<u32>>,
}

impl FilterIndex {
    pub fn new<'a>(triples: impl IntoIterator<Item = &'a Triple>) -> Self {
        let mut f = Self::default();
        for t in triples {
            f.tails
                .entry((t.head.0, t.relation.0))
                .or_default()
                .push(t.tail.0);
            f.heads
                .entry((t.relation.0, t.tail.0))
                .or_default()
                .push(t.head.0);
        }
        for v in f.tails.values_mut().chain(f.heads.values_mut()) {
            v.sort_unstable();
            v.dedup();
        }
        f
    }

    /// The known answers of the query that leaves `side` of `t` open.
    pub fn answers(&self, t: &Triple, side: Side) -> &[u32] {
        let v = match side {
            Side::Tail => self.tails.get(&(t.head.0, t.relation.0)),
            Side::Head => self.heads.get(&(t.relation.0, t.tail.0)),
        };
        v.map_or(&[], Vec::as_slice)
    }

    pub fn contains(&self, t: &Triple) -> bool {
        self.answers(t, Side::Tail).binary_search(&t.tail.0).is_ok()
    }
}

/// Rank-based metrics over a set of queries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RankMetrics {
    pub count: usize,
    pub mrr: f64,
    /// Written `hits@1` (as `kge eval` writes its pooled figures); `hits_at_1` is read too.
    #[serde(rename = "hits@1", alias = "hits_at_1")]
    pub hits_at_1: f64,
    #[serde(rename = "hits@3", alias = "hits_at_3")]
    pub hits_at_3: f64,
    #[serde(rename = "hits@10", alias = "hits_at_10")]
    pub hits_at_10: f64,
    pub mean_rank: f64,
}

impl RankMetrics {
    pub fn from_ranks(ranks: impl IntoIterator<Item = f64>) -> Self {
        let mut m = Self::default();
        for r in ranks {
            m.count += 1;
            m.mrr += 1.0 / r;
            m.mean_rank += r;
            m.hits_at_1 += f64::from(u8::from(r <= 1.0));
            m.hits_at_3 += f64::from(u8::from(r <= 3.0));
            m.hits_at_10 += f64::from(u8::from(r <= 10.0));
        }
        if m.count > 0 {
            let n = m.count as f64;
            for x in [
                &mut m.mrr,
                &mut m.mean_rank,
                &mut m.hits_at_1,
                &mut m.hits_at_3,
                &mut m.hits_at_10,
            ] {
                *x /= n;
            }
        }
        m
    }
}

/// Filtered link-prediction results: head queries, tail queries, and both pooled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LinkPredictionReport {
    pub head: RankMetrics,
    pub tail: RankMetrics,
    pub both: RankMetrics,
}

/// Evaluates `triples` against all entities, filtering the answers known to `filter`.
pub fn evaluate(
    model: &KgeModel,
    triples: &[Triple],
    filter: &FilterIndex,
) -> LinkPredictionReport {
    let ranks = filtered_ranks(model, triples, filter);
    LinkPredictionReport {
        head: RankMetrics::from_ranks(ranks.iter().map(|r| r.0)),
        tail: RankMetrics::from_ranks(ranks.iter().map(|r| r.1)),
        both: RankMetrics::from_ranks(ranks.iter().flat_map(|r| [r.0, r.1])),
    }
}

/// The filtered `(head rank, tail rank)` of each triple, in input order.
pub fn filtered_ranks(
    model: &KgeModel,
    triples: &[Triple],
    filter: &FilterIndex,
) -> Vec<(f64, f64)> {
    let mut out = vec![(0.0, 0.0); triples.len()];
    match model.kind() {
        ModelKind::TransR { .. } => {
            // One projection of all entities per relation (a single matrix product) is far cheaper
            // than projecting every candidate of every query.
            let mut by_rel: HashMap<u32, Vec<usize>> = HashMap::new();
            for (i, t) in triples.iter().enumerate() {
                by_rel.entry(t.relation.0).or_default().push(i);
            }
            let mut rels: Vec<_> = by_rel.into_iter().collect();
            rels.sort_unstable_by_key(|(r, _)| *r);
            let entities = model.entity_matrix().to_array();
            for (r, idx) in rels {
                let Some(proj) = model.projection_matrix() else {
                    break;
                };
                let Some(rel_dim) = proj.cols().checked_div(model.dim()) else {
                    break;
                };
                let m = Matrix::from_vec(rel_dim, model.dim(), proj.row(r as usize).to_vec())
                    .map(|m| m.to_array())
                    .unwrap_or_default();
                let projected = Matrix::from_array(entities.dot(&m.t()));
                let ranks: Vec<_> = idx
                    .par_iter()
                    .map_init(
                        || Scratch::new(model, &projected),
                        |s, &i| rank_triple(model, &projected, &triples[i], filter, s),
                    )
                    .collect();
                for (i, rk) in idx.into_iter().zip(ranks) {
                    out[i] = rk;
                }
            }
        }
        _ => {
            let cands = model.entity_matrix();
            triples
                .par_iter()
                .map_init(
                    || Scratch::new(model, cands),
                    |s, t| rank_triple(model, cands, t, filter, s),
                )
                .collect_into_vec(&mut out);
        }
    }
    out
}

struct Scratch {
    q: Vec<f32>,
    dist: Vec<f32>,
}

impl Scratch {
    fn new(model: &KgeModel, cands: &Matrix) -> Self {
        Self {
            q: vec![0.0; model.space_dim()],
            dist: vec![0.0; cands.rows()],
        }
    }
}

fn rank_triple(
    model: &KgeModel,
    cands: &Matrix,
    t: &Triple,
    filter: &FilterIndex,
    s: &mut Scratch,
) -> (f64, f64) {
    let head = rank_side(model, cands, t, Side::Head, filter, s);
    let tail = rank_side(model, cands, t, Side::Tail, filter, s);
    (head, tail)
}

fn rank_side(
    model: &KgeModel,
    cands: &Matrix,
    t: &Triple,
    side: Side,
    filter: &FilterIndex,
    s: &mut Scratch,
) -> f64 {
    let (anchor, target) = match side {
        Side::Tail => (t.head, t.tail),
        Side::Head => (t.tail, t.head),
    };
    model.query_from(side, cands.row(anchor.index()), t.relation, &mut s.q);
    for (e, d) in s.dist.iter_mut().enumerate() {
        *d = model.dist(&s.q, cands.row(e));
    }
    rank_of(&s.dist, target, filter.answers(t, side))
}

/// The realistic filtered rank of `target` given every candidate's distance (lower is better).
pub(crate) fn rank_of(dist: &[f32], target: EntityId, known: &[u32]) -> f64 {
    let n = dist.len();
    let Some(&dt) = dist.get(target.index()) else {
        return n as f64;
    };
    if dt.is_nan() {
        return n as f64;
    }
    let (mut better, mut equal) = (0usize, 0usize);
    for &d in dist {
        better += usize::from(d < dt);
        equal += usize::from(d == dt);
    }
    equal -= 1; // the target itself
    for &o in known {
        if o == target.0 {
            continue;
        }
        match dist.get(o as usize) {
            Some(&d) if d < dt => better -= 1,
            Some(&d) if d == dt => equal -= 1,
            _ => {}
        }
    }
    1.0 + better as f64 + equal as f64 / 2.0
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::embed::model::Norm;
    use crate::ids::RelationId;

    fn t(h: u32, r: u32, tl: u32) -> Triple {
        Triple::new(EntityId(h), RelationId(r), EntityId(tl))
    }

    #[test]
    fn realistic_rank_with_ties_and_filter() {
        let dist = [0.5, 0.1, 0.5, 0.3, 0.5];
        // Better: 1 and 3; tied: 2 and 4 → 1 + 2 + 2/2.
        assert_eq!(rank_of(&dist, EntityId(0), &[]), 4.0);
        // Filtering the known answers 1 (better) and 2 (tied) leaves 1 better and 1 tied.
        assert_eq!(rank_of(&dist, EntityId(0), &[0, 1, 2]), 2.5);
        assert_eq!(rank_of(&dist, EntityId(1), &[]), 1.0);
        assert_eq!(rank_of(&[f32::NAN, 0.0], EntityId(0), &[]), 2.0);
    }

    /// Entities on a line at 0, 1, 2, 3 and one relation "+1" (TransE L1, dim 1).
    fn line_model() -> KgeModel {
        KgeModel::from_parts(
            ModelKind::TransE { norm: Norm::L1 },
            1,
            Matrix::from_vec(4, 1, vec![0.0, 1.0, 2.0, 3.0]).unwrap(),
            Matrix::from_vec(1, 1, vec![1.0]).unwrap(),
            None,
        )
        .unwrap()
    }

    #[test]
    fn filtered_ranks_on_a_tiny_graph() {
        let model = line_model();
        // (0, r, 1) is exact on both sides.
        let exact = t(0, 0, 1);
        // (0, r, 2): tail query q = 1 → distances [1, 0, 1, 2]: entity 1 is better, entity 0 ties.
        // Head query q = 2 - 1 = 1 → distances [1, 0, 1, 2] from the head's view: target 0 at
        // distance 1, entity 1 better, entity 2 tied.
        let tied = t(0, 0, 2);
        let unfiltered = FilterIndex::new(&[]);
        let ranks = filtered_ranks(&model, &[exact, tied], &unfiltered);
        assert_eq!(ranks, vec![(1.0, 1.0), (2.5, 2.5)]);
        // Knowing (0, r, 1) and (1, r, 2) removes the better candidate on each side.
        let known = [exact, tied, t(1, 0, 2)];
        let filter = FilterIndex::new(&known);
        let ranks = filtered_ranks(&model, &[tied], &filter);
        assert_eq!(ranks, vec![(1.5, 1.5)]);
        let report = evaluate(&model, &[exact, tied], &filter);
        assert_eq!(report.both.count, 4);
        assert!((report.tail.mrr - (1.0 + 1.0 / 1.5) / 2.0).abs() < 1e-12);
        assert_eq!(report.both.hits_at_1, 0.5);
        assert_eq!(report.both.hits_at_3, 1.0);
        assert!((report.both.mean_rank - 1.25).abs() < 1e-12);
    }

    #[test]
    fn filter_index_answers() {
        let f = FilterIndex::new(&[t(0, 0, 1), t(0, 0, 2), t(3, 0, 2), t(0, 0, 1)]);
        assert_eq!(f.answers(&t(0, 0, 9), Side::Tail), &[1, 2]);
        assert_eq!(f.answers(&t(9, 0, 2), Side::Head), &[0, 3]);
        assert!(f.contains(&t(3, 0, 2)));
        assert!(!f.contains(&t(2, 0, 3)));
    }
}
