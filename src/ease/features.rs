//! The graph as rows of item features for `kg-ease`: a feature is a path from the entity an
//! item is linked to. One hop: `(relation, direction, neighbour entity)`, the item's facts as
//! [`ItemGraph::neighbourhood`] lists them. Two hops (when asked): `(relation, direction,
//! relation, direction, entity)` through any middle entity of at most
//! [`FeatureOptions::max_middle_degree`] edges, the entity reached not the item's own. A feature
//! is kept when at least `min_items` items hold it. Knows nothing of the closed form.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::fused::ItemGraph;

/// The middle entities a two-hop feature may pass through have at most this many edges by
/// default: a hub (a category of hundreds of films) would give every film of it a feature for
/// every other, which costs `df²` in the Gram matrix and says what its one-hop fact says.
pub const TWO_HOP_MAX_DEGREE: usize = 50;

/// What a feature is: the path from an item's entity to the entity it ends at, by the
/// groups ([`crate::fused::group_of`]: relation and direction) of its steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeatureKey {
    /// `(group, neighbour)`: a fact of the item's entity.
    OneHop {
        /// Relation and direction.
        group: u32,
        /// The neighbour.
        end: u32,
    },
    /// A word of the item's own text literals (`kg-ease --text-weight`).
    Term {
        /// The term id ([`crate::content::item_terms`]).
        term: u32,
    },
    /// Two steps through any middle entity.
    TwoHop {
        /// The first step's group.
        first: u32,
        /// The second step's group.
        second: u32,
        /// The entity reached.
        end: u32,
    },
}

impl FeatureKey {
    /// The feature's relation type: its steps' groups (`u32::MAX` for a missing second).
    pub fn relation_type(self) -> (u32, u32) {
        match self {
            Self::OneHop { group, .. } => (group, u32::MAX),
            Self::Term { .. } => (u32::MAX, u32::MAX),
            Self::TwoHop { first, second, .. } => (first, second),
        }
    }

    /// Whether the path has two steps.
    pub fn is_two_hop(self) -> bool {
        matches!(self, Self::TwoHop { .. })
    }

    /// Whether the feature is a word of the item's text.
    pub fn is_term(self) -> bool {
        matches!(self, Self::Term { .. })
    }
}

/// Which features are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureOptions {
    /// A path becomes a feature when at least this many items hold it.
    pub min_items: usize,
    /// Two-hop paths too.
    pub two_hop: bool,
    /// A two-hop path's middle entity has at most this many edges.
    pub max_middle_degree: usize,
    /// The words of the items' text ([`ItemGraph::terms`]) too.
    pub terms: bool,
}

impl FeatureOptions {
    /// One-hop features shared by `min_items` items.
    pub fn one_hop(min_items: usize) -> Self {
        Self {
            min_items,
            two_hop: false,
            max_middle_degree: TWO_HOP_MAX_DEGREE,
            terms: false,
        }
    }
}

/// Item features in both directions of access, with how many items hold each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GraphFeatures {
    /// CSR by feature: feature `f`'s items are `items[feature_ptr[f]..feature_ptr[f + 1]]`.
    pub(crate) feature_ptr: Vec<usize>,
    pub(crate) items: Vec<u32>,
    /// CSR by item: item `i`'s features are `features[item_ptr[i]..item_ptr[i + 1]]`.
    pub(crate) item_ptr: Vec<usize>,
    pub(crate) features: Vec<u32>,
    /// The path of each feature.
    pub(crate) keys: Vec<FeatureKey>,
    /// Items linked to an entity with at least one fact.
    pub(crate) n_described: usize,
}

/// Every entity's edges in both directions, `(group, other entity)`, as CSR over the entities.
struct Adjacency {
    ptr: Vec<usize>,
    edges: Vec<(u32, u32)>,
}

impl Adjacency {
    fn new(graph: &ItemGraph) -> Self {
        let n = graph.n_entities();
        let mut ptr = vec![0usize; n + 1];
        for t in graph.triples() {
            ptr[t.head.index() + 1] += 1;
            ptr[t.tail.index() + 1] += 1;
        }
        for e in 1..ptr.len() {
            ptr[e] += ptr[e - 1];
        }
        let mut fill = ptr.clone();
        let mut edges = vec![(0u32, 0u32); ptr[n]];
        for t in graph.triples() {
            edges[fill[t.head.index()]] = (crate::fused::group_of(t.relation, false), t.tail.0);
            fill[t.head.index()] += 1;
            edges[fill[t.tail.index()]] = (crate::fused::group_of(t.relation, true), t.head.0);
            fill[t.tail.index()] += 1;
        }
        Self { ptr, edges }
    }

    fn of(&self, entity: u32) -> &[(u32, u32)] {
        let e = entity as usize;
        match (self.ptr.get(e), self.ptr.get(e + 1)) {
            (Some(&lo), Some(&hi)) => &self.edges[lo..hi],
            _ => &[],
        }
    }
}

/// The paths of `item` the options ask for, sorted and without repeats (two middles may lead
/// to the same two-hop path).
fn paths_of(
    graph: &ItemGraph,
    adjacency: Option<&Adjacency>,
    item: usize,
    options: FeatureOptions,
) -> Vec<FeatureKey> {
    let facts = graph.neighbourhood(item);
    let mut keys: Vec<FeatureKey> = facts
        .iter()
        .map(|&(group, end)| FeatureKey::OneHop { group, end })
        .collect();
    if let (Some(adjacency), Some(own)) = (adjacency, graph.entity_of(item)) {
        for &(first, middle) in facts {
            let next = adjacency.of(middle);
            if next.len() > options.max_middle_degree {
                continue;
            }
            keys.extend(
                next.iter()
                    .filter(|&&(_, end)| end != own.0)
                    .map(|&(second, end)| FeatureKey::TwoHop { first, second, end }),
            );
        }
    }
    if options.terms {
        keys.extend(
            graph
                .terms(item)
                .iter()
                .map(|&term| FeatureKey::Term { term }),
        );
    }
    keys.sort_unstable();
    keys.dedup();
    keys
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

    /// The one-hop features of the first `n_items` items of `graph` shared by at least
    /// `min_items` of them ([`GraphFeatures::with_options`]).
    pub fn new(graph: &ItemGraph, n_items: usize, min_items: usize) -> Self {
        Self::with_options(graph, n_items, FeatureOptions::one_hop(min_items))
    }

    /// The features `options` ask for of the first `n_items` items of `graph`, numbered in
    /// order of first appearance (item order, then the paths' order), so the same graph always
    /// gives the same rows.
    pub fn with_options(graph: &ItemGraph, n_items: usize, options: FeatureOptions) -> Self {
        let n = n_items.min(graph.n_items());
        let adjacency = options.two_hop.then(|| Adjacency::new(graph));
        let paths: Vec<Vec<FeatureKey>> = (0..n)
            .map(|item| paths_of(graph, adjacency.as_ref(), item, options))
            .collect();
        let mut count: HashMap<FeatureKey, u32> = HashMap::new();
        let mut n_described = 0;
        for keys in &paths {
            n_described += usize::from(!keys.is_empty());
            for &key in keys {
                *count.entry(key).or_default() += 1;
            }
        }
        let mut id: HashMap<FeatureKey, u32> = HashMap::new();
        let mut keys = Vec::new();
        let mut item_ptr = vec![0usize; n_items + 1];
        let mut features = Vec::new();
        for item in 0..n_items {
            for &key in paths.get(item).map_or(&[][..], Vec::as_slice) {
                if count
                    .get(&key)
                    .is_some_and(|&c| c as usize >= options.min_items.max(1))
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

    /// The path of feature `f`.
    pub fn key(&self, f: usize) -> FeatureKey {
        self.keys[f]
    }

    /// How many of the features are two-hop paths.
    pub fn two_hop_len(&self) -> usize {
        self.keys.iter().filter(|k| k.is_two_hop()).count()
    }

    /// How many of the features are words of the items' text.
    pub fn term_len(&self) -> usize {
        self.keys.iter().filter(|k| k.is_term()).count()
    }

    /// Inverse document frequency of feature `f` among the described items, `ln(N / df)`:
    /// a fact every film has (its type) tells nothing, one two films share tells much.
    pub fn idf(&self, f: usize) -> f64 {
        let df = self.items_of(f).len().max(1) as f64;
        (self.n_described.max(1) as f64 / df).ln().max(0.0)
    }

    /// Each feature's relation type (numbered in order of first appearance) and how many types
    /// there are.
    pub(crate) fn relation_types(&self) -> (Vec<usize>, usize) {
        let mut id: HashMap<(u32, u32), usize> = HashMap::new();
        let types = self
            .keys
            .iter()
            .map(|k| {
                let next = id.len();
                *id.entry(k.relation_type()).or_insert(next)
            })
            .collect();
        (types, id.len())
    }

    /// The prior for `B` of the graph: each of the first `n` items' `k` most similar items by
    /// the cosine of their weighted features (`F = Σ_f w_f² t_f t_fᵀ`, `F[a, j] / √(F[a, a]
    /// F[j, j])`), times `scale`; ties go to the lower item.
    pub(crate) fn prior(
        &self,
        weight_sq: &[f64],
        n: usize,
        k: usize,
        scale: f64,
    ) -> super::gram::Prior {
        let diagonal: Vec<f64> = (0..n)
            .map(|i| {
                self.features_of(i)
                    .iter()
                    .map(|&f| weight_sq[f as usize])
                    .sum()
            })
            .collect();
        let columns: Vec<Vec<(u32, f32)>> = (0..n)
            .into_par_iter()
            .map_init(
                || vec![0.0f64; n],
                |column, j| {
                    let mut touched = Vec::new();
                    for &f in self.features_of(j) {
                        let w = weight_sq[f as usize];
                        if w == 0.0 {
                            continue;
                        }
                        for &a in self.items_of(f as usize) {
                            let a = a as usize;
                            if a != j && a < n {
                                if column[a] == 0.0 {
                                    touched.push(a);
                                }
                                column[a] += w;
                            }
                        }
                    }
                    let mut best: Vec<(f64, u32)> = touched
                        .iter()
                        .map(|&a| {
                            let v = column[a] / (diagonal[a] * diagonal[j]).sqrt();
                            column[a] = 0.0;
                            (v, a as u32)
                        })
                        .collect();
                    let order =
                        |x: &(f64, u32), y: &(f64, u32)| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1));
                    if best.len() > k && k > 0 {
                        best.select_nth_unstable_by(k - 1, order);
                    }
                    best.truncate(k);
                    best.sort_unstable_by_key(|&(_, a)| a);
                    best.into_iter()
                        .map(|(v, a)| (a, (v * scale) as f32))
                        .collect()
                },
            )
            .collect();
        let mut prior = super::gram::Prior {
            ptr: vec![0],
            ..Default::default()
        };
        for column in columns {
            for (a, v) in column {
                prior.rows.push(a);
                prior.values.push(v);
            }
            prior.ptr.push(prior.rows.len());
        }
        prior
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
        assert_eq!(f.key(director), FeatureKey::OneHop { group: 0, end: 10 });
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

    #[test]
    fn text_words_are_features_when_asked_and_weigh_tau() {
        // Films 0 and 1 share director 10; film 2 has no fact. Words: 1 is in all three
        // films' text, 0 and 2 in one each.
        let links = vec![Some(EntityId(0)), Some(EntityId(1)), Some(EntityId(2))];
        let g = ItemGraph::new(11, 1, vec![t(0, 0, 10), t(1, 0, 10)], links).with_terms(vec![
            vec![0, 1],
            vec![1],
            vec![1, 2],
        ]);
        let plain = GraphFeatures::new(&g, 3, 2);
        assert_eq!((plain.len(), plain.term_len()), (1, 0));
        let options = FeatureOptions {
            terms: true,
            ..FeatureOptions::one_hop(2)
        };
        let f = GraphFeatures::with_options(&g, 3, options);
        assert_eq!((f.len(), f.term_len()), (2, 1));
        let word = f
            .keys
            .iter()
            .position(|k| *k == FeatureKey::Term { term: 1 })
            .unwrap();
        assert_eq!(f.items_of(word), &[0, 1, 2]);
        assert_eq!(f.n_described, 3, "film 2 is described by its words alone");
        let p = crate::ease::KgEaseParams {
            graph_weight: 2.0,
            idf_power: 0.0,
            text_weight: 0.25,
            ..Default::default()
        };
        let w = p.feature_weights(&f);
        assert!((w[word] - 0.25).abs() < 1e-12, "(τ·α)² = 0.5²: {w:?}");
        assert!((w[1 - word] - 4.0).abs() < 1e-12, "α² = 4: {w:?}");
    }

    #[test]
    fn two_hop_features_end_beyond_the_item_and_skip_hubs() {
        // Films 0..3 (entities 0..3); director 10 (relation 0) directed 0, 1, 2 and was born
        // (relation 1) in city 40; film 3 has only genre 20 (relation 2), which film 2 has too.
        let triples = vec![
            t(0, 0, 10),
            t(1, 0, 10),
            t(2, 0, 10),
            t(10, 1, 40),
            t(2, 2, 20),
            t(3, 2, 20),
        ];
        let links = (0..4).map(|e| Some(EntityId(e))).collect();
        let g = ItemGraph::new(41, 3, triples, links);
        let options = FeatureOptions {
            min_items: 2,
            two_hop: true,
            max_middle_degree: 10,
            terms: false,
        };
        let f = GraphFeatures::with_options(&g, 4, options);
        let keys_of = |f: &GraphFeatures, item: usize| -> Vec<FeatureKey> {
            f.features_of(item)
                .iter()
                .map(|&k| f.key(k as usize))
                .collect()
        };
        let (dir, dir_inv) = (crate::fused::group_of(RelationId(0), false), 1);
        let born = crate::fused::group_of(RelationId(1), false);
        let film0 = keys_of(&f, 0);
        assert!(film0.contains(&FeatureKey::TwoHop {
            first: dir,
            second: born,
            end: 40
        }));
        assert!(film0.contains(&FeatureKey::TwoHop {
            first: dir,
            second: dir_inv,
            end: 1
        }));
        assert!(
            !film0.contains(&FeatureKey::TwoHop {
                first: dir,
                second: dir_inv,
                end: 0
            }),
            "a path back to the item's own entity is no feature"
        );
        // Film 1 through its director reaches films 0 and 2, both reached by one more film.
        let shared_film = f
            .keys
            .iter()
            .position(|k| {
                *k == FeatureKey::TwoHop {
                    first: dir,
                    second: dir_inv,
                    end: 2,
                }
            })
            .unwrap();
        assert_eq!(f.items_of(shared_film), &[0, 1]);
        // Films 2 and 3 reach each other through the genre: one item each, so dropped.
        assert!(keys_of(&f, 3).iter().all(|k| !k.is_two_hop()));
        assert_eq!(
            f.two_hop_len(),
            4,
            "born in 40; directed by 10 with film 0, 1, 2"
        );
        assert_eq!(
            f.len() - f.two_hop_len(),
            GraphFeatures::new(&g, 4, 2).len()
        );
        assert_eq!(f.n_described, 4);
        // The director has four edges: a hub at a cap of 3, and only one-hop features remain.
        let capped = GraphFeatures::with_options(
            &g,
            4,
            FeatureOptions {
                max_middle_degree: 3,
                ..options
            },
        );
        assert_eq!(capped, GraphFeatures::new(&g, 4, 2));
    }
}
