//! Item cold start: where a linked item nobody has interacted with is placed.
//!
//! Such an item has no collaborative evidence, only its place in the graph. It is put where the
//! items most like it in the graph sit: its `k` nearest warm linked items by the Jaccard overlap
//! of their graph neighbours (directors, actors, categories..., both directions). Its vector
//! takes the direction of their similarity-weighted mean and the weighted mean of their norms:
//! averaging vectors shrinks them towards the centre, where a new item would be scored like
//! nobody's taste, so the norm is restored to that of the items averaged. A cold item that
//! shares no neighbour with any warm item gets no vector (it scores 0, as an unlinked one does).

use rayon::prelude::*;

use super::ItemGraph;
use crate::cf::linalg::{axpy, dot};

/// The deduplicated, sorted neighbour entities of every item (empty for an unlinked item).
fn neighbour_sets(graph: &ItemGraph) -> Vec<Vec<u32>> {
    (0..graph.n_items())
        .map(|i| {
            let mut n: Vec<u32> = graph.neighbourhood(i).iter().map(|&(_, e)| e).collect();
            n.sort_unstable();
            n.dedup();
            n
        })
        .collect()
}

/// Vectors for the cold items: for every item `i` with `cold[i]`, `Some(y_i)` placed from its
/// `k` nearest items among those with `warm[j]` (rows of `y`, `d` wide), or `None` when it shares
/// no neighbour with any of them. Items that are not cold get `None`. Deterministic: ties in
/// similarity go to the lower item id.
pub(crate) fn place(
    graph: &ItemGraph,
    y: &[f32],
    warm: &[bool],
    cold: &[bool],
    k: usize,
    d: usize,
) -> Vec<Option<Vec<f32>>> {
    let sets = neighbour_sets(graph);
    let mut postings: Vec<Vec<u32>> = vec![Vec::new(); graph.n_entities()];
    for (j, set) in sets.iter().enumerate() {
        if warm.get(j).copied().unwrap_or(false) {
            for &e in set {
                postings[e as usize].push(j as u32);
            }
        }
    }
    (0..sets.len())
        .into_par_iter()
        .map(|i| {
            if !cold.get(i).copied().unwrap_or(false) || sets[i].is_empty() {
                return None;
            }
            // Every warm item once per neighbour it shares with i: run lengths are overlaps.
            let mut shared: Vec<u32> = sets[i]
                .iter()
                .flat_map(|&e| postings[e as usize].iter().copied())
                .filter(|&j| j as usize != i)
                .collect();
            shared.sort_unstable();
            let mut nearest: Vec<(f32, u32)> = shared
                .chunk_by(|a, b| a == b)
                .map(|run| {
                    let j = run[0];
                    let overlap = run.len();
                    let union = sets[i].len() + sets[j as usize].len() - overlap;
                    (overlap as f32 / union as f32, j)
                })
                .collect();
            if nearest.is_empty() {
                return None;
            }
            nearest.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            nearest.truncate(k.max(1));
            Some(blend(&nearest, y, d))
        })
        .collect()
}

/// `Σ w_j y_j / Σ w_j`, rescaled to the norm `Σ w_j |y_j| / Σ w_j`.
fn blend(nearest: &[(f32, u32)], y: &[f32], d: usize) -> Vec<f32> {
    let total: f32 = nearest.iter().map(|&(w, _)| w).sum();
    let mut mean = vec![0.0f32; d];
    let mut norm = 0.0f32;
    for &(w, j) in nearest {
        let row = &y[j as usize * d..(j as usize + 1) * d];
        axpy(w / total, row, &mut mean);
        norm += w / total * dot(row, row).sqrt();
    }
    let length = dot(&mean, &mean).sqrt();
    if length > 0.0 {
        mean.iter_mut().for_each(|v| *v *= norm / length);
    }
    mean
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use kgrec_kg::{EntityId, RelationId, Triple};

    use super::*;

    fn t(h: u32, r: u32, tl: u32) -> Triple {
        Triple::new(EntityId(h), RelationId(r), EntityId(tl))
    }

    /// Items 0..4 are films (entities 0..4), entities 10.. their attributes. Film 3 is cold and
    /// shares two attributes with film 0, one with film 1 and none with film 2; film 4 is cold
    /// and shares nothing with anyone.
    fn graph() -> ItemGraph {
        let triples = vec![
            t(0, 0, 10),
            t(0, 1, 11),
            t(1, 0, 10),
            t(1, 1, 12),
            t(2, 0, 13),
            t(3, 0, 10),
            t(3, 1, 11),
            t(3, 2, 14),
            t(4, 2, 15),
        ];
        let links = (0..5).map(|i| Some(EntityId(i))).collect();
        ItemGraph::new(16, 3, triples, links)
    }

    #[test]
    fn a_cold_item_takes_the_weighted_direction_and_mean_norm_of_its_nearest_warm_items() {
        let g = graph();
        let d = 2;
        // Film 0 points along x with norm 2, film 1 along y with norm 1, film 2 elsewhere.
        let y = vec![2.0, 0.0, 0.0, 1.0, -5.0, -5.0, 0.0, 0.0, 0.0, 0.0];
        let warm = [true, true, true, false, false];
        let cold = [false, false, false, true, true];
        let placed = place(&g, &y, &warm, &cold, 5, d);
        // Jaccard with film 3 ({10, 11, 14}): film 0 ({10, 11}) 2/3, film 1 ({10, 12}) 1/4.
        let (w0, w1) = (2.0f32 / 3.0, 0.25f32);
        let (a, b) = (w0 / (w0 + w1), w1 / (w0 + w1));
        let norm = a * 2.0 + b * 1.0;
        let dir = [a * 2.0, b * 1.0];
        let len = (dir[0] * dir[0] + dir[1] * dir[1]).sqrt();
        let want = [dir[0] * norm / len, dir[1] * norm / len];
        let got = placed[3].as_ref().expect("film 3 shares neighbours");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "got {got:?}, want {want:?}");
        }
        assert!(placed[4].is_none(), "film 4 shares no neighbour");
        assert!(placed[..3].iter().all(Option::is_none), "warm items stay");
    }

    #[test]
    fn only_the_k_nearest_count_and_ties_go_to_the_lower_id() {
        let g = graph();
        let y = vec![2.0, 0.0, 0.0, 1.0, -5.0, -5.0, 0.0, 0.0, 0.0, 0.0];
        let warm = [true, true, true, false, false];
        let cold = [false, false, false, true, false];
        // k = 1: film 0 alone, so film 3 copies it.
        let placed = place(&g, &y, &warm, &cold, 1, 2);
        assert_eq!(placed[3].as_deref(), Some(&[2.0f32, 0.0][..]));
        // Films 0 and 1 tie for a cold film that only has attribute 10.
        let tie = ItemGraph::new(
            16,
            3,
            vec![t(0, 0, 10), t(1, 0, 10), t(3, 0, 10)],
            (0..5).map(|i| Some(EntityId(i))).collect(),
        );
        let placed = place(&tie, &y, &warm, &cold, 1, 2);
        assert_eq!(placed[3].as_deref(), Some(&[2.0f32, 0.0][..]));
    }
}
