//! Seeded synthetic catalogues, shared by `benches/ease_sparse.rs` and `examples/synth.rs`
//! (included by path in both: no user command, no library code).
//!
//! - **Items** have power-law popularity: item `i`'s weight is `1/(i+10)` (item 0 the most
//!   popular), and item `i` belongs to topic `i % topics`.
//! - **Users** have latent topic preferences: each draws two topics; four in five of their
//!   items come from those topics (by popularity within the topic), the rest from the whole
//!   catalogue. A user's item count is 1 + geometric: many users with one or two items, a few
//!   with dozens.
//! - **The graph** ([`Graph`]): typed entities with hubs and long tails whose links follow the
//!   topics, so the graph carries real signal (and some noise):
//!   - genre (few, hubs): topic `t`'s genre is `t % genres`, kept by 85 % of its items; 30 % of
//!     items get a second genre at random;
//!   - creator (many, a long tail): each topic has its own pool, an item's creator is drawn by
//!     Zipf-like popularity within its topic's pool (10 %: from another topic's pool);
//!   - label (hubs, no topic signal): Zipf-like over all items;
//!   - creators have a `label` edge too (entity-to-entity), and every entity an `rdfs:label`.
//!
//! Users are drawn one at a time ([`Generator::for_each_user`]) so writers can stream: memory
//! is a few vectors of the catalogue's size, never of the interactions'.
#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;
use std::io::{self, Write};

/// Topics of the ease_sparse bench.
pub const TOPICS: usize = 200;

/// Popularity weight of the item (or entity) of rank `i`.
fn weight(i: usize) -> f64 {
    1.0 / (i as f64 + 10.0)
}

/// Running sums of the weights of `ranks`.
fn cumulative(ranks: impl Iterator<Item = usize>) -> Vec<f64> {
    let mut total = 0.0;
    ranks
        .map(|i| {
            total += weight(i);
            total
        })
        .collect()
}

/// A rank drawn from `cdf` (a running sum of weights; not empty).
fn draw_rank(rng: &mut ChaCha8Rng, cdf: &[f64]) -> usize {
    let x = rng.random::<f64>() * cdf[cdf.len() - 1];
    cdf.partition_point(|&c| c < x).min(cdf.len() - 1)
}

/// The shape of a catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub users: usize,
    pub items: usize,
    /// The target; the count written is near it (a user drawing an item twice keeps it once).
    pub interactions: usize,
    /// At most `items` (every topic has an item).
    pub topics: usize,
    pub seed: u64,
}

/// One user's draw.
#[derive(Debug)]
pub struct UserDraw<'a> {
    pub user: u32,
    /// The two preferred topics (may be equal).
    pub topics: [usize; 2],
    /// Distinct items, in the order drawn (random with respect to popularity rank).
    pub items: &'a [u32],
}

/// Draws users one at a time; memory is O(items).
#[derive(Debug)]
pub struct Generator {
    spec: Spec,
    /// Running weights of the whole catalogue.
    all_cdf: Vec<f64>,
    /// Running weights within a topic (of the items' catalogue-wide ranks): topic `t`'s `k`-th
    /// item is `t + k·topics`.
    topic_cdf: Vec<Vec<f64>>,
}

impl Generator {
    pub fn new(spec: Spec) -> Self {
        assert!(spec.users > 0 && spec.items > 0, "empty catalogue");
        assert!(
            (1..=spec.items).contains(&spec.topics),
            "topics must be 1..=items"
        );
        let topic_cdf = (0..spec.topics)
            .map(|t| cumulative((t..spec.items).step_by(spec.topics)))
            .collect();
        Self {
            spec,
            all_cdf: cumulative(0..spec.items),
            topic_cdf,
        }
    }

    pub fn spec(&self) -> Spec {
        self.spec
    }

    /// Calls `each` with every user's items, user 0 first. Deterministic for the spec.
    pub fn for_each_user(&self, mut each: impl FnMut(&UserDraw<'_>)) {
        let Spec {
            users,
            items,
            interactions,
            topics,
            seed,
        } = self.spec;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // A little above the target: a user drawing an item twice keeps it once.
        let per_user = 1.05 * interactions as f64 / users as f64;
        let mut seen = HashSet::new();
        let mut kept = Vec::new();
        for u in 0..users {
            // 1 + geometric: many users with one or two items, a few with dozens.
            let mut n = 1;
            while rng.random::<f64>() < 1.0 - 1.0 / per_user && n < items / 4 {
                n += 1;
            }
            let own = [rng.random_range(0..topics), rng.random_range(0..topics)];
            seen.clear();
            kept.clear();
            for _ in 0..n {
                let item = if rng.random::<f64>() < 0.8 {
                    let t = own[rng.random_range(0..2)];
                    t + draw_rank(&mut rng, &self.topic_cdf[t]) * topics
                } else {
                    draw_rank(&mut rng, &self.all_cdf)
                };
                if seen.insert(item) {
                    kept.push(item as u32);
                }
            }
            each(&UserDraw {
                user: u as u32,
                topics: own,
                items: &kept,
            });
        }
    }

    /// Every `(user, item)` pair, distinct per user (small catalogues: the benches).
    pub fn pairs(&self) -> Vec<(u32, u32)> {
        let mut pairs = Vec::with_capacity(self.spec.interactions + self.spec.users);
        self.for_each_user(|d| pairs.extend(d.items.iter().map(|&i| (d.user, i))));
        pairs
    }
}

/// IRIs of the synthetic graph.
pub const BASE: &str = "http://synth.example/";
const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
const RDFS_LABEL: &str = "http://www.w3.org/2000/01/rdf-schema#label";

/// The typed item graph of a catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Graph {
    pub items: usize,
    pub topics: usize,
    /// Genre entities (hubs).
    pub genres: usize,
    /// Creators per topic (a long tail within each).
    pub creators_per_topic: usize,
    /// Label entities (hubs without topic signal).
    pub labels: usize,
    /// The share of items linked to the graph (the rest are items without a link).
    pub linked_share: f64,
    pub seed: u64,
}

impl Graph {
    /// Sizes that follow the catalogue: 20 genres (fewer for few topics), about 8 items per
    /// creator, 50 labels, 95 % of items linked.
    pub fn for_catalogue(spec: &Spec) -> Self {
        Self {
            items: spec.items,
            topics: spec.topics,
            genres: spec.topics.clamp(1, 20),
            creators_per_topic: (spec.items / (8 * spec.topics)).max(1),
            labels: 50,
            linked_share: 0.95,
            seed: spec.seed ^ 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// The item's IRI.
    pub fn item_iri(item: usize) -> String {
        format!("{BASE}item/{item}")
    }

    /// Writes the graph as N-Triples to `kg` and `item_id<TAB>iri` lines (with the header) to
    /// `links`, item ids named by `item_id`. Returns the triples and links written.
    pub fn write(
        &self,
        kg: &mut impl Write,
        links: &mut impl Write,
        item_id: impl Fn(usize) -> String,
    ) -> io::Result<(u64, u64)> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let creator_cdf = cumulative(0..self.creators_per_topic);
        let label_cdf = cumulative(0..self.labels);
        let (mut triples, mut linked) = (0u64, 0u64);
        let o = |name: &str| format!("<{BASE}ontology/{name}>");
        let (genre_p, creator_p, label_p) = (o("genre"), o("creator"), o("label"));
        writeln!(links, "item_id\tiri")?;
        for item in 0..self.items {
            if rng.random::<f64>() >= self.linked_share {
                continue;
            }
            let topic = item % self.topics;
            let s = format!("<{}>", Self::item_iri(item));
            writeln!(kg, "{s} <{RDF_TYPE}> {} .", o("Item"))?;
            let genre = match rng.random::<f64>() < 0.85 {
                true => topic % self.genres,
                false => rng.random_range(0..self.genres),
            };
            writeln!(kg, "{s} {genre_p} <{BASE}genre/{genre}> .")?;
            triples += 2;
            if rng.random::<f64>() < 0.3 {
                let second = rng.random_range(0..self.genres);
                if second != genre {
                    writeln!(kg, "{s} {genre_p} <{BASE}genre/{second}> .")?;
                    triples += 1;
                }
            }
            let pool = match rng.random::<f64>() < 0.9 {
                true => topic,
                false => rng.random_range(0..self.topics),
            };
            let creator = pool * self.creators_per_topic + draw_rank(&mut rng, &creator_cdf);
            writeln!(kg, "{s} {creator_p} <{BASE}creator/{creator}> .")?;
            let label = draw_rank(&mut rng, &label_cdf);
            writeln!(kg, "{s} {label_p} <{BASE}label/{label}> .")?;
            writeln!(kg, "{s} <{RDFS_LABEL}> \"Item {item}\" .")?;
            triples += 3;
            writeln!(links, "{}\t{}", item_id(item), Self::item_iri(item))?;
            linked += 1;
        }
        for g in 0..self.genres {
            writeln!(kg, "<{BASE}genre/{g}> <{RDF_TYPE}> {} .", o("Genre"))?;
            writeln!(kg, "<{BASE}genre/{g}> <{RDFS_LABEL}> \"Genre {g}\" .")?;
            triples += 2;
        }
        for c in 0..self.topics * self.creators_per_topic {
            writeln!(kg, "<{BASE}creator/{c}> <{RDF_TYPE}> {} .", o("Creator"))?;
            writeln!(kg, "<{BASE}creator/{c}> <{RDFS_LABEL}> \"Creator {c}\" .")?;
            let label = draw_rank(&mut rng, &label_cdf);
            writeln!(kg, "<{BASE}creator/{c}> {label_p} <{BASE}label/{label}> .")?;
            triples += 3;
        }
        for l in 0..self.labels {
            writeln!(kg, "<{BASE}label/{l}> <{RDF_TYPE}> {} .", o("Label"))?;
            writeln!(kg, "<{BASE}label/{l}> <{RDFS_LABEL}> \"Label {l}\" .")?;
            triples += 2;
        }
        Ok((triples, linked))
    }
}
