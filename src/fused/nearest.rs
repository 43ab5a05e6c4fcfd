//! Items' nearest items in the graph: for a linked item, the warm linked items (those with
//! interactions) with the largest Jaccard overlap of graph neighbours (directors, actors,
//! categories..., both directions, deduplicated).
//!
//! The fused model uses them twice. Every warm item's vector is pulled towards the place its
//! nearest items mark (a prior beside its entity's embedding), and a linked item nobody has
//! interacted with is put at that place (item cold start). The place is the direction of the
//! similarity-weighted mean of their vectors at the weighted mean of their norms: averaging
//! vectors shrinks them towards the centre of the item space, where an item is nobody's best
//! match, so the norm is restored to that of the items averaged.

use rayon::prelude::*;

use super::ItemGraph;
use kgrec_kg::numeric::kernel::{axpy, dot};

/// Every linked item's nearest warm items, most similar first.
#[derive(Debug, Clone, Default)]
pub(crate) struct NearestItems {
    /// Per item: up to `k` of `(Jaccard similarity, warm item)`; empty for an item with no
    /// warm item sharing a neighbour, for an unlinked item, and for items not asked for.
    lists: Vec<Vec<(f32, u32)>>,
}

impl NearestItems {
    /// Entities shared by more warm items than this (`rdf:type Film`, the largest categories of
    /// a big catalogue) do not propose candidates, which bounds the work per item; they still
    /// count in the overlap of the candidates the other neighbours propose.
    const HUB: usize = 5_000;

    /// The `k` nearest warm items of every item `i` with `wanted[i]`, an item never its own
    /// neighbour. Deterministic: ties in similarity go to the lower item id.
    pub(crate) fn build(graph: &ItemGraph, warm: &[bool], wanted: &[bool], k: usize) -> Self {
        let sets: Vec<Vec<u32>> = (0..graph.n_items())
            .map(|i| graph.neighbour_entities(i))
            .collect();
        let mut postings: Vec<Vec<u32>> = vec![Vec::new(); graph.n_entities()];
        for (j, set) in sets.iter().enumerate() {
            if warm.get(j).copied().unwrap_or(false) {
                for &e in set {
                    postings[e as usize].push(j as u32);
                }
            }
        }
        let lists = (0..sets.len())
            .into_par_iter()
            .map(|i| {
                if k == 0 || !wanted.get(i).copied().unwrap_or(false) || sets[i].is_empty() {
                    return Vec::new();
                }
                // Every warm item once per proposing neighbour it shares with i (run lengths
                // are overlaps), plus the hubs it shares, looked up in its own set.
                let (proposing, hubs): (Vec<u32>, Vec<u32>) = sets[i]
                    .iter()
                    .partition(|&&e| postings[e as usize].len() <= Self::HUB);
                let mut shared: Vec<u32> = proposing
                    .iter()
                    .flat_map(|&e| postings[e as usize].iter().copied())
                    .filter(|&j| j as usize != i)
                    .collect();
                shared.sort_unstable();
                let mut nearest: Vec<(f32, u32)> = shared
                    .chunk_by(|a, b| a == b)
                    .map(|run| {
                        let j = run[0];
                        let other = &sets[j as usize];
                        let overlap = run.len()
                            + hubs
                                .iter()
                                .filter(|h| other.binary_search(h).is_ok())
                                .count();
                        let union = sets[i].len() + other.len() - overlap;
                        (overlap as f32 / union as f32, j)
                    })
                    .collect();
                // Most similar first, ties to the lower id: a total order, so selecting the k
                // best before sorting them gives the same list as sorting every candidate. The
                // list is kept for the whole fit: keep k entries, not the candidates' capacity
                // (thousands per item in a big catalogue: gigabytes over all items).
                let order =
                    |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
                if nearest.len() > k {
                    nearest.select_nth_unstable_by(k, order);
                    nearest.truncate(k);
                }
                nearest.sort_by(order);
                nearest.shrink_to_fit();
                nearest
            })
            .collect();
        Self { lists }
    }

    /// Item `i`'s nearest warm items, `(Jaccard similarity, item)`, most similar first.
    pub(crate) fn of(&self, i: usize) -> &[(f32, u32)] {
        self.lists.get(i).map_or(&[], Vec::as_slice)
    }

    /// The similarity-weighted mean of item `i`'s `k` nearest items' rows of `y` (`d` wide).
    /// `None` when it has none. The rating learners (`svd`, `svdpp`) pull an item's vector and
    /// bias towards it (with `d = 1` for the biases).
    pub(crate) fn mean(&self, i: usize, k: usize, y: &[f32], d: usize) -> Option<Vec<f32>> {
        let list = self.lists.get(i)?;
        let nearest = &list[..k.min(list.len())];
        let total: f32 = nearest.iter().map(|&(w, _)| w).sum();
        if nearest.is_empty() || total <= 0.0 {
            return None;
        }
        let mut mean = vec![0.0f32; d];
        for &(w, j) in nearest {
            let row = y.get(j as usize * d..(j as usize + 1) * d)?;
            axpy(w / total, row, &mut mean);
        }
        Some(mean)
    }

    /// The place item `i`'s `k` nearest items mark among the rows of `y` (`d` wide): their
    /// weighted mean direction ([`Self::mean`]) at their weighted mean norm. `None` when it has
    /// none.
    pub(crate) fn place(&self, i: usize, k: usize, y: &[f32], d: usize) -> Option<Vec<f32>> {
        let mut mean = self.mean(i, k, y, d)?;
        let list = self.lists.get(i)?;
        let nearest = &list[..k.min(list.len())];
        let total: f32 = nearest.iter().map(|&(w, _)| w).sum();
        let mut norm = 0.0f32;
        for &(w, j) in nearest {
            let row = y.get(j as usize * d..(j as usize + 1) * d)?;
            norm += w / total * dot(row, row).sqrt();
        }
        let length = dot(&mean, &mean).sqrt();
        if length > 0.0 {
            mean.iter_mut().for_each(|v| *v *= norm / length);
        }
        Some(mean)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use kgrec_kg::{EntityId, RelationId, Triple};

    use super::*;

    fn t(h: u32, r: u32, tl: u32) -> Triple {
        Triple::new(EntityId(h), RelationId(r), EntityId(tl))
    }

    /// Items 0..4 are films (entities 0..4), entities 10.. their attributes. Film 3 shares two
    /// attributes with film 0, one with film 1 and none with film 2; film 4 shares nothing with
    /// anyone.
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

    /// Film 0 points along x with norm 2, film 1 along y with norm 1, film 2 elsewhere.
    const Y: [f32; 10] = [2.0, 0.0, 0.0, 1.0, -5.0, -5.0, 0.0, 0.0, 0.0, 0.0];
    const WARM: [bool; 5] = [true, true, true, false, false];

    #[test]
    fn the_place_is_the_weighted_direction_at_the_mean_norm_of_the_nearest_warm_items() {
        let near = NearestItems::build(&graph(), &WARM, &[true; 5], 5);
        // Jaccard with film 3 ({10, 11, 14}): film 0 ({10, 11}) 2/3, film 1 ({10, 12}) 1/4.
        let (w0, w1) = (2.0f32 / 3.0, 0.25f32);
        let (a, b) = (w0 / (w0 + w1), w1 / (w0 + w1));
        let norm = a * 2.0 + b * 1.0;
        let dir = [a * 2.0, b * 1.0];
        let len = (dir[0] * dir[0] + dir[1] * dir[1]).sqrt();
        let want = [dir[0] * norm / len, dir[1] * norm / len];
        let got = near.place(3, 5, &Y, 2).expect("film 3 shares neighbours");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "got {got:?}, want {want:?}");
        }
        assert!(near.place(4, 5, &Y, 2).is_none(), "film 4 shares nothing");
        // A warm item's nearest are the other warm items: film 0's is film 1 (1/3), never itself.
        assert_eq!(near.place(0, 5, &Y, 2).as_deref(), Some(&[0.0f32, 1.0][..]));
        // Items not asked for get nothing.
        let only_3 = NearestItems::build(&graph(), &WARM, &[false, false, false, true, false], 5);
        assert!(only_3.place(0, 5, &Y, 2).is_none());
        assert!(only_3.place(3, 5, &Y, 2).is_some());
    }

    #[test]
    fn only_the_k_nearest_count_and_ties_go_to_the_lower_id() {
        let near = NearestItems::build(&graph(), &WARM, &[true; 5], 5);
        // k = 1: film 0 alone, so film 3 copies it.
        assert_eq!(near.place(3, 1, &Y, 2).as_deref(), Some(&[2.0f32, 0.0][..]));
        // Films 0 and 1 tie for a film that only has attribute 10.
        let tie = ItemGraph::new(
            16,
            3,
            vec![t(0, 0, 10), t(1, 0, 10), t(3, 0, 10)],
            (0..5).map(|i| Some(EntityId(i))).collect(),
        );
        let near = NearestItems::build(&tie, &WARM, &[true; 5], 1);
        assert_eq!(near.place(3, 1, &Y, 2).as_deref(), Some(&[2.0f32, 0.0][..]));
    }

    #[test]
    fn a_hub_counts_in_the_overlap_but_proposes_no_candidate() {
        // Entity 20 is shared by more warm items than the hub limit; film 0 shares only the hub
        // with them, and one more attribute (21) with warm film 1.
        let n = NearestItems::HUB + 2;
        let mut triples: Vec<Triple> = (0..n as u32).map(|f| t(f, 0, n as u32)).collect();
        triples.push(t(0, 1, n as u32 + 1));
        triples.push(t(1, 1, n as u32 + 1));
        let links = (0..n as u32).map(|f| Some(EntityId(f))).collect();
        let g = ItemGraph::new(n + 2, 2, triples, links);
        let warm = vec![true; n];
        let mut wanted = vec![false; n];
        wanted[0] = true;
        let near = NearestItems::build(&g, &warm, &wanted, 3);
        // Only film 1 is proposed (through 21), and its overlap counts the hub: 2 of 2.
        assert_eq!(near.lists[0], vec![(1.0, 1)]);
    }
}
