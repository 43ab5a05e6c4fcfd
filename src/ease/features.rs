//! The graph as rows of item features for `kg-ease`: a feature is one `(relation, direction,
//! neighbour entity)` of the entity an item is linked to (the item's one-hop facts, as
//! [`ItemGraph::neighbourhood`] lists them), kept when at least `min_items` items share it.
//! Knows nothing of the closed form.

use std::collections::HashMap;

use crate::fused::ItemGraph;

/// Item features in both directions of access, with how many items hold each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GraphFeatures {
    /// CSR by feature: feature `f`'s items are `items[feature_ptr[f]..feature_ptr[f + 1]]`.
    pub(crate) feature_ptr: Vec<usize>,
    pub(crate) items: Vec<u32>,
    /// CSR by item: item `i`'s features are `features[item_ptr[i]..item_ptr[i + 1]]`.
    pub(crate) item_ptr: Vec<usize>,
    pub(crate) features: Vec<u32>,
    /// `(group, neighbour)` of each feature ([`crate::fused::group_of`]'s group).
    pub(crate) keys: Vec<(u32, u32)>,
    /// Items linked to an entity with at least one fact.
    pub(crate) n_described: usize,
}

impl GraphFeatures {
    /// The feature rows with squared weights `weight_sq`, for [`super::gram::add_gram`].
    pub(crate) fn rows<'a>(&'a self, weight_sq: &'a [f64]) -> super::gram::WeightedRows<'a> {
        super::gram::WeightedRows {
            row_ptr: &self.feature_ptr,
            row_items: &self.items,
            item_ptr: &self.item_ptr,
            item_rows: &self.features,
            weight_sq: Some(weight_sq),
        }
    }

    /// The features of the first `n_items` items of `graph` shared by at least `min_items` of
    /// them, numbered in order of first appearance (item order, then the neighbourhood's
    /// order), so the same graph always gives the same rows.
    pub fn new(graph: &ItemGraph, n_items: usize, min_items: usize) -> Self {
        let n = n_items.min(graph.n_items());
        let mut count: HashMap<(u32, u32), u32> = HashMap::new();
        let mut n_described = 0;
        for item in 0..n {
            let facts = graph.neighbourhood(item);
            n_described += usize::from(!facts.is_empty());
            for &key in facts {
                *count.entry(key).or_default() += 1;
            }
        }
        let mut id: HashMap<(u32, u32), u32> = HashMap::new();
        let mut keys = Vec::new();
        let mut item_ptr = vec![0usize; n_items + 1];
        let mut features = Vec::new();
        for item in 0..n_items {
            let facts = if item < n {
                graph.neighbourhood(item)
            } else {
                &[]
            };
            for &key in facts {
                if count
                    .get(&key)
                    .is_some_and(|&c| c as usize >= min_items.max(1))
                {
                    let f = *id.entry(key).or_insert_with(|| {
                        keys.push(key);
                        (keys.len() - 1) as u32
                    });
                    features.push(f);
                }
            }
            features[item_ptr[item]..].sort_unstable();
            item_ptr[item + 1] = features.len();
        }
        let (feature_ptr, items) = transpose(&item_ptr, &features, keys.len());
        Self {
            feature_ptr,
            items,
            item_ptr,
            features,
            keys,
            n_described,
        }
    }

    /// Number of features kept.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no feature was kept.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// How many items hold feature `f`.
    pub fn items_of(&self, f: usize) -> &[u32] {
        &self.items[self.feature_ptr[f]..self.feature_ptr[f + 1]]
    }

    /// The features item `item` holds, ascending.
    pub fn features_of(&self, item: usize) -> &[u32] {
        match (self.item_ptr.get(item), self.item_ptr.get(item + 1)) {
            (Some(&lo), Some(&hi)) => &self.features[lo..hi],
            _ => &[],
        }
    }

    /// `(group, neighbour entity)` of feature `f`.
    pub fn key(&self, f: usize) -> (u32, u32) {
        self.keys[f]
    }

    /// Inverse document frequency of feature `f` among the described items, `ln(N / df)`:
    /// a fact every film has (its type) tells nothing, one two films share tells much.
    pub fn idf(&self, f: usize) -> f64 {
        let df = self.items_of(f).len().max(1) as f64;
        (self.n_described.max(1) as f64 / df).ln().max(0.0)
    }

    /// The sum over items of each item's feature weights squared, divided by the described
    /// items: the mean diagonal of `TᵀT` for rows weighing `weight_sq`.
    pub fn mean_diagonal(&self, weight_sq: &[f64]) -> f64 {
        let total: f64 = (0..self.len())
            .map(|f| weight_sq[f] * self.items_of(f).len() as f64)
            .sum();
        total / self.n_described.max(1) as f64
    }
}

/// The transpose of a CSR pattern: rows `0..ptr.len() - 1` holding `idx[ptr[r]..ptr[r + 1]]`
/// (each below `n`) become `n` rows holding the old row numbers, ascending.
pub(crate) fn transpose(ptr: &[usize], idx: &[u32], n: usize) -> (Vec<usize>, Vec<u32>) {
    let mut out_ptr = vec![0usize; n + 1];
    for &c in idx {
        out_ptr[c as usize + 1] += 1;
    }
    for c in 1..out_ptr.len() {
        out_ptr[c] += out_ptr[c - 1];
    }
    let mut fill = out_ptr.clone();
    let mut out = vec![0u32; idx.len()];
    for r in 0..ptr.len().saturating_sub(1) {
        for &c in &idx[ptr[r]..ptr[r + 1]] {
            out[fill[c as usize]] = r as u32;
            fill[c as usize] += 1;
        }
    }
    (out_ptr, out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use kgrec_kg::{EntityId, RelationId, Triple};

    fn t(h: u32, r: u32, t: u32) -> Triple {
        Triple::new(EntityId(h), RelationId(r), EntityId(t))
    }

    #[test]
    fn features_are_facts_at_least_two_items_share() {
        // Films 0, 1, 2 (entities 0, 1, 2); director 10 directed 0 and 1, 11 directed 2;
        // all three have genre 20; 1 is an award (relation 2) of 30 (inverse direction).
        let triples = vec![
            t(0, 0, 10),
            t(1, 0, 10),
            t(2, 0, 11),
            t(0, 1, 20),
            t(1, 1, 20),
            t(2, 1, 20),
            t(30, 2, 1),
        ];
        let links = vec![
            Some(EntityId(0)),
            Some(EntityId(1)),
            Some(EntityId(2)),
            None,
        ];
        let g = ItemGraph::new(31, 3, triples, links);
        let f = GraphFeatures::new(&g, 4, 2);
        assert_eq!(
            f.len(),
            2,
            "director 10 and genre 20; director 11 and the award are alone"
        );
        let director = f.features_of(0)[0] as usize;
        assert_eq!(f.key(director), (0, 10));
        assert_eq!(f.items_of(director), &[0, 1]);
        assert_eq!(f.features_of(2).len(), 1);
        assert!(
            f.features_of(3).is_empty(),
            "an unlinked item has no feature"
        );
        let genre = f.features_of(2)[0] as usize;
        assert_eq!(
            f.idf(genre),
            0.0,
            "a fact every described film has tells nothing"
        );
        assert!((f.idf(director) - (1.5f64).ln()).abs() < 1e-12);
        assert!((f.mean_diagonal(&[1.0, 1.0]) - 5.0 / 3.0).abs() < 1e-12);
        assert_eq!(GraphFeatures::new(&g, 4, 1).len(), 4);
    }
}
