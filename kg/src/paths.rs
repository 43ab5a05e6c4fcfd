//! Relation paths between entities: bounded bidirectional (meet-in-the-middle) search on the
//! [`Projection`], for explanations ("you liked X, directed by Y, who also directed Z").
//!
//! Graph-only: the sources are entities (the caller's history items' entities), the target is an
//! entity, and the caller ranks hops through a [`HopScorer`]. Nothing here knows users or models.
//!
//! The search:
//! - walks edges in both directions (a step `Forward` follows a triple head→tail, `Inverse`
//!   tail→head) and returns simple paths (no entity twice) of 1 to `max_hops` (≤ 3) hops that
//!   start in the source set and end at the target;
//! - never walks through a hub: a middle entity of a path has at most `hub_degree` edges (the
//!   endpoints may have any degree). This bounds the work per request and keeps out paths such as
//!   "X is a Film, and so is Y", which explain nothing;
//! - grows one side from the sources and one from the target, each at least one hop when
//!   `max_hops ≥ 2`; the third hop (for `max_hops = 3`) is grown from the side whose frontier has
//!   fewer edges, and the two sides are joined on their common entities. The source side does
//!   not depend on the target, so [`SourceSide`] is built once and joined with many targets;
//! - scores a path as the product of its hops' scores and returns the best `limit`, ties broken
//!   by the hops themselves, so the output is deterministic;
//! - stops growing either side once the optional `deadline` has passed: the paths found so far
//!   are returned and the side says it was cut short ([`SourceSide::truncated`]).

use std::cell::{Cell, OnceCell};
use std::collections::HashMap;
use std::time::Instant;

use crate::ids::{EntityId, RelationId, Triple};
use crate::projection::{Projection, Walk};

/// The longest path the search supports, in hops.
pub const MAX_HOPS: usize = 3;

/// Why a search cannot run as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// `max_hops` outside `1..=MAX_HOPS`.
    #[error("paths of {hops} hops: between 1 and {max} hops are supported")]
    Hops {
        /// The number asked for.
        hops: usize,
        /// The largest supported.
        max: usize,
    },
}

/// One hop of a path: from an entity along a relation, walked forward or inverse, to an entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Hop {
    pub from: EntityId,
    pub relation: RelationId,
    pub walk: Walk,
    pub to: EntityId,
}

impl Hop {
    /// The triple this hop walks: `(from, relation, to)` forward, `(to, relation, from)` inverse.
    pub fn triple(&self) -> Triple {
        match self.walk {
            Walk::Forward => Triple::new(self.from, self.relation, self.to),
            Walk::Inverse => Triple::new(self.to, self.relation, self.from),
        }
    }

    /// The same edge walked the other way.
    pub fn reversed(&self) -> Self {
        Self {
            from: self.to,
            relation: self.relation,
            walk: flip(self.walk),
            to: self.from,
        }
    }

    fn key(&self) -> (u32, u32, u8, u32) {
        (
            self.from.0,
            self.relation.0,
            walk_code(self.walk),
            self.to.0,
        )
    }
}

fn flip(walk: Walk) -> Walk {
    match walk {
        Walk::Forward => Walk::Inverse,
        Walk::Inverse => Walk::Forward,
    }
}

fn walk_code(walk: Walk) -> u8 {
    match walk {
        Walk::Forward => 0,
        Walk::Inverse => 1,
    }
}

/// How plausible or useful one hop is, for ranking paths; the caller's model decides.
/// Scores should lie in `(0, 1]`: a path's score is the product of its hops' scores, so longer
/// paths need better hops to win.
pub trait HopScorer {
    /// The score of `hop`.
    fn score(&self, hop: &Hop) -> f32;
}

/// A path found by the search: hops from a source entity to the target.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphPath {
    /// At least one hop; `hops[0].from` is a source, the last hop's `to` the target.
    pub hops: Vec<Hop>,
    /// The product of the hops' scores.
    pub score: f32,
}

impl GraphPath {
    /// The source entity the path starts at.
    pub fn start(&self) -> Option<EntityId> {
        self.hops.first().map(|h| h.from)
    }
}

/// Limits of one search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathOptions {
    /// Longest path, in hops (1..=3).
    pub max_hops: usize,
    /// Entities with more edges than this are never middle entities of a path.
    pub hub_degree: usize,
    /// How many paths to return at most.
    pub limit: usize,
    /// When to stop searching (the paths found by then are returned); `None`: no clock.
    pub deadline: Option<Instant>,
}

impl Default for PathOptions {
    fn default() -> Self {
        Self {
            max_hops: MAX_HOPS,
            hub_degree: 500,
            limit: 3,
            deadline: None,
        }
    }
}

/// Partial paths grown between two looks at the clock: a look costs tens of nanoseconds, a
/// partial a few, so the deadline is overrun by microseconds at most.
const CLOCK_EVERY: u32 = 64;

/// The search's deadline, looked at every [`CLOCK_EVERY`] steps (and at the first); once it has
/// passed, it stays passed.
#[derive(Debug)]
struct Budget {
    deadline: Option<Instant>,
    ticks: Cell<u32>,
    expired: Cell<bool>,
}

impl Budget {
    fn new(deadline: Option<Instant>) -> Self {
        Self {
            deadline,
            ticks: Cell::new(0),
            expired: Cell::new(false),
        }
    }

    /// Whether the deadline has passed, looking at the clock every [`CLOCK_EVERY`] calls.
    fn tick(&self) -> bool {
        if self.expired.get() {
            return true;
        }
        let Some(deadline) = self.deadline else {
            return false;
        };
        let n = self.ticks.get();
        self.ticks.set(n.wrapping_add(1));
        if n.is_multiple_of(CLOCK_EVERY) && Instant::now() >= deadline {
            self.expired.set(true);
        }
        self.expired.get()
    }

    /// Whether the deadline has passed, looking at the clock now.
    fn check(&self) -> bool {
        if !self.expired.get() && self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.expired.set(true);
        }
        self.expired.get()
    }
}

impl PathOptions {
    /// Checks the limits.
    pub fn check(&self) -> Result<(), PathError> {
        if (1..=MAX_HOPS).contains(&self.max_hops) {
            Ok(())
        } else {
            Err(PathError::Hops {
                hops: self.max_hops,
                max: MAX_HOPS,
            })
        }
    }
}

/// The projection as compact adjacency lists for the search: every entity's steps (forward and
/// inverse) sorted by relation, direction and neighbour.
#[derive(Clone, Debug, Default)]
pub struct PathGraph {
    offsets: Vec<usize>,
    hops: Vec<(RelationId, Walk, EntityId)>,
}

impl PathGraph {
    /// Builds the adjacency lists of `projection` (repeated triples once).
    pub fn new(projection: &Projection) -> Self {
        let n = projection.n_entities();
        let mut offsets = Vec::with_capacity(n + 1);
        let mut hops = Vec::with_capacity(2 * projection.n_edges());
        offsets.push(0);
        for e in 0..n {
            let start = hops.len();
            hops.extend(
                projection
                    .steps(EntityId(e as u32))
                    .map(|s| (s.relation, s.walk, s.to)),
            );
            let mut steps = hops.split_off(start);
            steps.sort_unstable_by_key(|&(r, w, t)| (r.0, walk_code(w), t.0));
            // A triple stated twice is one edge: one path, not two.
            steps.dedup();
            hops.extend(steps);
            offsets.push(hops.len());
        }
        Self { offsets, hops }
    }

    /// Entities of the graph.
    pub fn n_entities(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Edges touching `entity`, both directions (0 for an entity outside the graph).
    pub fn degree(&self, entity: EntityId) -> usize {
        self.steps(entity).len()
    }

    fn steps(&self, entity: EntityId) -> &[(RelationId, Walk, EntityId)] {
        let e = entity.index();
        match (self.offsets.get(e), self.offsets.get(e + 1)) {
            (Some(&a), Some(&b)) => &self.hops[a..b],
            _ => &[],
        }
    }

    /// The entities next to `entity` (either direction, any relation), each once, ascending.
    pub fn neighbours(&self, entity: EntityId) -> Vec<EntityId> {
        let mut out: Vec<EntityId> = self.steps(entity).iter().map(|&(_, _, to)| to).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Hops leaving `entity`.
    fn hops_from(&self, entity: EntityId) -> impl Iterator<Item = Hop> + '_ {
        self.steps(entity)
            .iter()
            .map(move |&(relation, walk, to)| Hop {
                from: entity,
                relation,
                walk,
                to,
            })
    }

    /// The heads of the edges `(head, relation, tail)` that arrive at `tail`, ascending.
    pub fn heads(
        &self,
        relation: RelationId,
        tail: EntityId,
    ) -> impl Iterator<Item = EntityId> + '_ {
        let steps = self.steps(tail);
        let key = |&(r, w, _): &(RelationId, Walk, EntityId)| (r.0, walk_code(w));
        let wanted = (relation.0, walk_code(Walk::Inverse));
        let start = steps.partition_point(|s| key(s) < wanted);
        let end = steps.partition_point(|s| key(s) <= wanted);
        steps[start..end].iter().map(|&(_, _, head)| head)
    }

    /// Every edge, once, as a triple (in head order).
    pub fn triples(&self) -> impl Iterator<Item = Triple> + '_ {
        (0..self.n_entities()).flat_map(move |e| {
            let head = EntityId(e as u32);
            self.steps(head)
                .iter()
                .filter(|(_, w, _)| *w == Walk::Forward)
                .map(move |&(r, _, tail)| Triple::new(head, r, tail))
        })
    }

    /// Whether `(head, relation, tail)` is an edge of the graph.
    pub fn contains(&self, triple: Triple) -> bool {
        self.steps(triple.head)
            .binary_search_by_key(
                &(triple.relation.0, walk_code(Walk::Forward), triple.tail.0),
                |&(r, w, t)| (r.0, walk_code(w), t.0),
            )
            .is_ok()
    }

    /// The source side of searches from `sources` (duplicates and entities outside the graph
    /// dropped); join it with targets through [`SourceSide::paths_to`].
    pub fn from_sources<'g, 's>(
        &'g self,
        sources: &[EntityId],
        options: PathOptions,
        scorer: &'s dyn HopScorer,
    ) -> Result<SourceSide<'g, 's>, PathError> {
        options.check()?;
        let mut starts: Vec<EntityId> = sources
            .iter()
            .copied()
            .filter(|e| e.index() < self.n_entities())
            .collect();
        starts.sort_unstable();
        starts.dedup();
        let budget = Budget::new(options.deadline);
        let layer0: Vec<Partial> = starts.iter().map(|&e| Partial::start(e)).collect();
        let layer1 = if options.max_hops >= 2 {
            Layer::new(self.expand(&layer0, options.hub_degree, &budget))
        } else {
            Layer::default()
        };
        Ok(SourceSide {
            graph: self,
            options,
            scorer,
            starts,
            layer1,
            layer2: OnceCell::new(),
            budget,
        })
    }

    /// Every one-hop extension of `partials` that stays simple, from endpoints and non-hubs
    /// only; fewer once the budget has run out.
    fn expand(&self, partials: &[Partial], hub_degree: usize, budget: &Budget) -> Vec<Partial> {
        let mut out = Vec::new();
        for p in partials {
            if budget.tick() {
                break;
            }
            let end = p.end();
            if p.len > 0 && self.degree(end) > hub_degree {
                continue;
            }
            for hop in self.hops_from(end) {
                if !p.visits(hop.to) {
                    out.push(p.push(hop));
                }
            }
        }
        out
    }

    /// Cost of growing `partials` by one hop: the edges of their expandable ends.
    fn frontier_cost(&self, partials: &[Partial], hub_degree: usize) -> usize {
        partials
            .iter()
            .map(|p| self.degree(p.end()))
            .filter(|&d| d <= hub_degree)
            .sum()
    }
}

/// Up to three hops inline: partial paths are copied, never allocated.
#[derive(Clone, Copy, Debug)]
struct Partial {
    first: EntityId,
    hops: [Hop; MAX_HOPS],
    len: u8,
}

const NO_HOP: Hop = Hop {
    from: EntityId(0),
    relation: RelationId(0),
    walk: Walk::Forward,
    to: EntityId(0),
};

impl Partial {
    fn start(entity: EntityId) -> Self {
        Self {
            first: entity,
            hops: [NO_HOP; MAX_HOPS],
            len: 0,
        }
    }

    fn hops(&self) -> &[Hop] {
        &self.hops[..self.len as usize]
    }

    fn end(&self) -> EntityId {
        self.hops().last().map_or(self.first, |h| h.to)
    }

    fn visits(&self, entity: EntityId) -> bool {
        self.first == entity || self.hops().iter().any(|h| h.to == entity)
    }

    fn push(&self, hop: Hop) -> Self {
        let mut next = *self;
        next.hops[next.len as usize] = hop;
        next.len += 1;
        next
    }
}

/// Partials of one depth, indexed by their end entity, with their scores computed on first use.
#[derive(Debug, Default)]
struct Layer {
    partials: Vec<Partial>,
    by_end: HashMap<EntityId, Vec<usize>>,
    scores: Vec<Cell<f32>>,
}

impl Layer {
    fn new(partials: Vec<Partial>) -> Self {
        let mut by_end: HashMap<EntityId, Vec<usize>> = HashMap::new();
        for (i, p) in partials.iter().enumerate() {
            by_end.entry(p.end()).or_default().push(i);
        }
        let scores = partials.iter().map(|_| Cell::new(f32::NAN)).collect();
        Self {
            partials,
            by_end,
            scores,
        }
    }

    /// A layer only walked in order (the target side): no index by end entity.
    fn unindexed(partials: Vec<Partial>) -> Self {
        let scores = partials.iter().map(|_| Cell::new(f32::NAN)).collect();
        Self {
            partials,
            by_end: HashMap::new(),
            scores,
        }
    }

    fn ending_at(&self, entity: EntityId) -> &[usize] {
        self.by_end.get(&entity).map_or(&[], Vec::as_slice)
    }

    fn score(&self, i: usize, scorer: &dyn HopScorer) -> f32 {
        let cached = self.scores[i].get();
        if !cached.is_nan() {
            return cached;
        }
        let s = product(self.partials[i].hops(), scorer);
        self.scores[i].set(s);
        s
    }
}

fn product(hops: &[Hop], scorer: &dyn HopScorer) -> f32 {
    hops.iter().map(|h| scorer.score(h)).product()
}

/// The source half of searches from one set of entities, reusable across targets.
#[derive(Debug)]
pub struct SourceSide<'g, 's> {
    graph: &'g PathGraph,
    options: PathOptions,
    scorer: &'s dyn HopScorer,
    starts: Vec<EntityId>,
    layer1: Layer,
    /// Grown only when a target's side is the more expensive one to grow.
    layer2: OnceCell<Layer>,
    /// The deadline of every search from this side.
    budget: Budget,
}

impl std::fmt::Debug for dyn HopScorer + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HopScorer")
    }
}

impl SourceSide<'_, '_> {
    /// Whether the deadline has passed (looking at the clock now): a search from now on finds
    /// nothing, and [`SourceSide::truncated`] is set.
    pub fn expired(&self) -> bool {
        self.budget.check()
    }

    /// Whether a search from this side was cut short by the deadline (its paths, and those of
    /// every later search, may be fewer or worse than without one).
    pub fn truncated(&self) -> bool {
        self.budget.expired.get()
    }

    /// The best paths (at most `options.limit`) from the sources to `target`, best first; once
    /// the deadline has passed, the best of those found by then.
    pub fn paths_to(&self, target: EntityId) -> Vec<GraphPath> {
        self.paths_to_weighted(target, |_| 1.0)
    }

    /// [`SourceSide::paths_to`] with each path's score multiplied by its `weight` (what a
    /// caller knows better than the hop scores do: how much the path's source speaks for this
    /// target, how common its middle entities are), before the best are chosen; paths whose
    /// weight is 0 or less are left out.
    pub fn paths_to_weighted(
        &self,
        target: EntityId,
        weight: impl Fn(&GraphPath) -> f32,
    ) -> Vec<GraphPath> {
        let mut found = self.all_paths_to(target);
        found.retain_mut(|path| {
            let w = weight(path);
            path.score *= w;
            w > 0.0
        });
        best(found, self.options.limit)
    }

    /// Every path the search finds from the sources to `target`, unranked.
    fn all_paths_to(&self, target: EntityId) -> Vec<GraphPath> {
        let g = self.graph;
        let hub = self.options.hub_degree;
        let scorer = self.scorer;
        let budget = &self.budget;
        if target.index() >= g.n_entities() || self.starts.is_empty() || budget.check() {
            return Vec::new();
        }
        // Target-side partials are walked from the target; reversed, they end at it.
        let back0 = [Partial::start(target)];
        let back1 = g.expand(&back0, hub, budget);
        let mut found: Vec<GraphPath> = Vec::new();
        let is_start = |e: EntityId| self.starts.binary_search(&e).is_ok();

        // One hop: a source next to the target.
        for b in &back1 {
            if is_start(b.end()) {
                let hops = reverse(b.hops());
                let score = product(&hops, scorer);
                found.push(GraphPath { hops, score });
            }
        }
        if self.options.max_hops >= 2 {
            // Two hops: a source-side hop and a target-side hop meeting at a middle entity.
            let back1 = Layer::unindexed(back1);
            self.meet(&self.layer1, &back1, &mut found);
            if self.options.max_hops >= 3 {
                let source_cost = g.frontier_cost(&self.layer1.partials, hub);
                let target_cost = g.frontier_cost(&back1.partials, hub);
                if target_cost <= source_cost {
                    // Grow the target side: one source hop and two target hops.
                    let back2 = Layer::unindexed(g.expand(&back1.partials, hub, budget));
                    self.meet(&self.layer1, &back2, &mut found);
                } else {
                    // Grow the source side (once for all targets): two source hops, one target hop.
                    let layer2 = self
                        .layer2
                        .get_or_init(|| Layer::new(g.expand(&self.layer1.partials, hub, budget)));
                    self.meet(layer2, &back1, &mut found);
                }
            }
        }
        found
    }
}

impl SourceSide<'_, '_> {
    /// Joins source partials with target partials that end at the same middle entity.
    fn meet(&self, sources: &Layer, targets: &Layer, found: &mut Vec<GraphPath>) {
        for (bi, b) in targets.partials.iter().enumerate() {
            if self.budget.tick() {
                return;
            }
            let meet = b.end();
            if self.graph.degree(meet) > self.options.hub_degree {
                continue;
            }
            for &fi in sources.ending_at(meet) {
                if let Some(hops) = join(&sources.partials[fi], b) {
                    let score = sources.score(fi, self.scorer) * targets.score(bi, self.scorer);
                    found.push(GraphPath { hops, score });
                }
            }
        }
    }
}

/// Hops walked from the target, reversed into hops walked towards it.
fn reverse(hops: &[Hop]) -> Vec<Hop> {
    hops.iter().rev().map(Hop::reversed).collect()
}

/// The source partial followed by the reversed target partial, if the result is simple and
/// every middle entity lies inside it (the caller checked the meeting entity's degree).
fn join(source: &Partial, target: &Partial) -> Option<Vec<Hop>> {
    let tail = reverse(target.hops());
    let mut seen: Vec<EntityId> = Vec::with_capacity(MAX_HOPS + 1);
    seen.push(source.first);
    for h in source.hops().iter().chain(&tail) {
        if seen.contains(&h.to) {
            return None;
        }
        seen.push(h.to);
    }
    let mut hops = source.hops().to_vec();
    hops.extend(tail);
    Some(hops)
}

/// The `limit` best paths, best first; equal scores ordered by their hops.
fn best(mut paths: Vec<GraphPath>, limit: usize) -> Vec<GraphPath> {
    let order = |a: &GraphPath, b: &GraphPath| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.hops.len().cmp(&b.hops.len()))
            .then_with(|| {
                let ka = a.hops.iter().map(Hop::key);
                let kb = b.hops.iter().map(Hop::key);
                ka.cmp(kb)
            })
    };
    if paths.len() > limit && limit > 0 {
        paths.select_nth_unstable_by(limit - 1, order);
        paths.truncate(limit);
    }
    paths.sort_unstable_by(order);
    paths.truncate(limit);
    paths
}

/// A scorer that knows only the graph: a hop into an entity with many edges says less than a hop
/// into a rare one, so each hop scores `1 / (1 + ln(1 + degree(to)))`.
#[derive(Debug, Clone, Copy)]
pub struct Specificity<'g> {
    graph: &'g PathGraph,
}

impl<'g> Specificity<'g> {
    pub fn new(graph: &'g PathGraph) -> Self {
        Self { graph }
    }

    /// The factor of one entity.
    pub fn of(&self, entity: EntityId) -> f32 {
        1.0 / (1.0 + (1.0 + self.graph.degree(entity) as f32).ln())
    }
}

impl HopScorer for Specificity<'_> {
    fn score(&self, hop: &Hop) -> f32 {
        self.of(hop.to)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn t(h: u32, r: u32, tail: u32) -> Triple {
        Triple::new(EntityId(h), RelationId(r), EntityId(tail))
    }

    /// 0 Toy Story, 1 Lasseter, 2 A Bug's Life, 3 Pixar, 4 Cars, 5 Film (a hub), 6 Hanks,
    /// 7 Apollo 13. Relations: 0 director, 1 studio, 2 type, 3 starring.
    fn movies() -> PathGraph {
        let triples = vec![
            t(0, 0, 1),
            t(2, 0, 1),
            t(0, 1, 3),
            t(2, 1, 3),
            t(4, 1, 3),
            t(0, 2, 5),
            t(2, 2, 5),
            t(4, 2, 5),
            t(7, 2, 5),
            t(0, 3, 6),
            t(7, 3, 6),
        ];
        PathGraph::new(&Projection::from_triples(8, 4, &triples).unwrap())
    }

    struct Uniform;
    impl HopScorer for Uniform {
        fn score(&self, _: &Hop) -> f32 {
            0.5
        }
    }

    fn options(max_hops: usize, hub_degree: usize, limit: usize) -> PathOptions {
        PathOptions {
            max_hops,
            hub_degree,
            limit,
            deadline: None,
        }
    }

    #[test]
    fn path_weights_reorder_and_drop_paths_before_the_best_are_chosen() {
        let g = movies();
        assert_eq!(g.neighbours(EntityId(0)), [1, 3, 5, 6].map(EntityId));
        assert_eq!(g.neighbours(EntityId(5)), [0, 2, 4, 7].map(EntityId));
        let side = g
            .from_sources(&[EntityId(0)], options(2, 10, 2), &Uniform)
            .unwrap();
        // Unweighted, the three paths tie and the lowest relation wins; weighted by their
        // middle entity, the type path (through Film, 5) goes first, the one through 1 is
        // dropped.
        let weighted = side.paths_to_weighted(EntityId(2), |p| match p.hops[0].to.0 {
            5 => 2.0,
            1 => 0.0,
            _ => 1.0,
        });
        let middles: Vec<u32> = weighted.iter().map(|p| p.hops[0].to.0).collect();
        assert_eq!(middles, [5, 3]);
        assert!((weighted[0].score - 0.5).abs() < 1e-6);
    }

    #[test]
    fn finds_two_hop_paths_through_shared_neighbours_but_not_through_hubs() {
        let g = movies();
        let side = g
            .from_sources(&[EntityId(0)], options(3, 3, 10), &Uniform)
            .unwrap();
        let paths = side.paths_to(EntityId(2));
        let middles: Vec<EntityId> = paths.iter().map(|p| p.hops[0].to).collect();
        // Via Lasseter and Pixar; Film has 4 edges > hub degree 3 and is not walked through.
        assert_eq!(middles, [EntityId(1), EntityId(3)]);
        for p in &paths {
            assert_eq!(p.hops.len(), 2);
            assert_eq!(p.hops[0].walk, Walk::Forward);
            assert_eq!(p.hops[1].walk, Walk::Inverse);
            assert!((p.score - 0.25).abs() < 1e-6);
        }
        // With a higher hub cap the type path appears too.
        let side = g
            .from_sources(&[EntityId(0)], options(2, 10, 10), &Uniform)
            .unwrap();
        assert_eq!(side.paths_to(EntityId(2)).len(), 3);
    }

    #[test]
    fn three_hop_paths_and_the_hop_limit() {
        let g = movies();
        // Apollo 13 → Hanks → Toy Story → Pixar → Cars is 4 hops; Toy Story → Pixar → Cars is 2.
        let side = g
            .from_sources(&[EntityId(7)], options(3, 3, 10), &Uniform)
            .unwrap();
        let paths = side.paths_to(EntityId(4));
        assert!(paths.is_empty(), "{paths:?}");
        // Toy Story has 4 edges: with a hub cap of 4 it may be walked through, and so may Film.
        let side = g
            .from_sources(&[EntityId(6)], options(3, 4, 10), &Uniform)
            .unwrap();
        // Hanks ← Toy Story → Pixar ← Cars, Hanks ← Toy Story → Film ← Cars,
        // Hanks ← Apollo 13 → Film ← Cars.
        let paths = side.paths_to(EntityId(4));
        assert_eq!(paths.len(), 3);
        assert!(paths.iter().all(|p| p.hops.len() == 3));
        let side = g
            .from_sources(&[EntityId(6)], options(3, 3, 10), &Uniform)
            .unwrap();
        assert!(
            side.paths_to(EntityId(4)).is_empty(),
            "Toy Story is a hub at 3"
        );
        let side = g
            .from_sources(&[EntityId(6)], options(2, 4, 10), &Uniform)
            .unwrap();
        assert!(side.paths_to(EntityId(4)).is_empty());
    }

    #[test]
    fn limit_scores_and_deterministic_order() {
        struct PreferStudio;
        impl HopScorer for PreferStudio {
            fn score(&self, hop: &Hop) -> f32 {
                if hop.relation == RelationId(1) {
                    0.9
                } else {
                    0.3
                }
            }
        }
        let g = movies();
        let side = g
            .from_sources(&[EntityId(0), EntityId(0)], options(3, 3, 1), &PreferStudio)
            .unwrap();
        let paths = side.paths_to(EntityId(2));
        assert_eq!(paths.len(), 1);
        assert_eq!(paths[0].hops[0].to, EntityId(3));
        assert!((paths[0].score - 0.81).abs() < 1e-6);
        assert_eq!(side.paths_to(EntityId(2)), paths);
    }

    #[test]
    fn bad_hops_and_odd_targets() {
        let g = movies();
        assert_eq!(
            g.from_sources(&[EntityId(0)], options(4, 3, 1), &Uniform)
                .unwrap_err(),
            PathError::Hops { hops: 4, max: 3 }
        );
        assert!(g.from_sources(&[], options(0, 3, 1), &Uniform).is_err());
        let side = g
            .from_sources(&[EntityId(0), EntityId(99)], options(3, 3, 5), &Uniform)
            .unwrap();
        assert!(side.paths_to(EntityId(99)).is_empty());
        assert!(side.paths_to(EntityId(0)).is_empty(), "no path to itself");
        assert!(g.contains(t(0, 0, 1)));
        assert!(!g.contains(t(1, 0, 0)));
        assert_eq!(g.degree(EntityId(5)), 4);
    }

    #[test]
    fn specificity_prefers_rare_middles() {
        let g = movies();
        let specificity = Specificity::new(&g);
        let side = g
            .from_sources(&[EntityId(0)], options(2, 10, 3), &specificity)
            .unwrap();
        let paths = side.paths_to(EntityId(2));
        // Lasseter (2 edges) before Pixar (3) before Film (4).
        let middles: Vec<u32> = paths.iter().map(|p| p.hops[0].to.0).collect();
        assert_eq!(middles, [1, 3, 5]);
    }

    #[test]
    fn heads_lists_the_edges_arriving_by_one_relation() {
        let g = movies();
        let heads = |r: u32, tail: u32| -> Vec<u32> {
            g.heads(RelationId(r), EntityId(tail))
                .map(|e| e.0)
                .collect()
        };
        assert_eq!(heads(2, 5), [0, 2, 4, 7], "every Film");
        assert_eq!(heads(0, 1), [0, 2], "directed by Lasseter");
        assert!(heads(1, 1).is_empty(), "Lasseter is no studio");
        assert!(heads(0, 0).is_empty(), "Toy Story is a head, not a tail");
        assert!(heads(0, 99).is_empty());
        let mut triples: Vec<Triple> = g.triples().collect();
        triples.sort_by_key(|t| (t.head.0, t.relation.0, t.tail.0));
        assert_eq!(triples.len(), 11);
        assert!(triples.iter().all(|t| g.contains(*t)));
    }

    #[test]
    fn a_passed_deadline_stops_the_search_and_says_so() {
        let g = movies();
        let unbounded = g
            .from_sources(&[EntityId(0)], options(3, 10, 10), &Uniform)
            .unwrap();
        let all = unbounded.paths_to(EntityId(2));
        assert_eq!(all.len(), 3);
        assert!(!unbounded.truncated() && !unbounded.expired());

        let far = PathOptions {
            deadline: Some(Instant::now() + std::time::Duration::from_secs(3600)),
            ..options(3, 10, 10)
        };
        let side = g.from_sources(&[EntityId(0)], far, &Uniform).unwrap();
        assert_eq!(side.paths_to(EntityId(2)), all);
        assert!(!side.truncated());

        let passed = PathOptions {
            deadline: Some(Instant::now()),
            ..options(3, 10, 10)
        };
        let side = g.from_sources(&[EntityId(0)], passed, &Uniform).unwrap();
        assert!(side.paths_to(EntityId(2)).is_empty());
        assert!(side.truncated() && side.expired());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn every_path_is_a_simple_chain_of_real_edges(
            edges in proptest::collection::vec((0u32..12, 0u32..3, 0u32..12), 0..40),
            sources in proptest::collection::vec(0u32..12, 1..4),
            target in 0u32..12,
            max_hops in 1usize..=3,
            hub in 2usize..8,
        ) {
            let triples: Vec<Triple> = edges.iter().map(|&(h, r, tl)| t(h, r, tl)).collect();
            let g = PathGraph::new(&Projection::from_triples(12, 3, &triples).unwrap());
            let sources: Vec<EntityId> = sources.into_iter().map(EntityId).collect();
            let side = g.from_sources(&sources, options(max_hops, hub, 50), &Uniform).unwrap();
            let paths = side.paths_to(EntityId(target));
            for p in &paths {
                prop_assert!(!p.hops.is_empty() && p.hops.len() <= max_hops);
                prop_assert!(sources.contains(&p.hops[0].from));
                prop_assert_eq!(p.hops.last().unwrap().to, EntityId(target));
                let mut seen = vec![p.hops[0].from];
                for (i, h) in p.hops.iter().enumerate() {
                    prop_assert!(triples.contains(&h.triple()), "{:?} is no edge", h);
                    if i > 0 {
                        prop_assert_eq!(h.from, p.hops[i - 1].to);
                        prop_assert!(g.degree(h.from) <= hub, "walked through a hub");
                    }
                    prop_assert!(!seen.contains(&h.to));
                    seen.push(h.to);
                }
            }
            let keys: std::collections::HashSet<Vec<(u32, u32, u8, u32)>> =
                paths.iter().map(|p| p.hops.iter().map(Hop::key).collect()).collect();
            prop_assert_eq!(keys.len(), paths.len(), "duplicate paths");
        }

        #[test]
        fn finds_every_short_path_a_brute_force_finds(
            edges in proptest::collection::vec((0u32..8, 0u32..2, 0u32..8), 0..20),
            source in 0u32..8,
            target in 0u32..8,
        ) {
            let triples: Vec<Triple> = edges.iter().map(|&(h, r, tl)| t(h, r, tl)).collect();
            let g = PathGraph::new(&Projection::from_triples(8, 2, &triples).unwrap());
            let side = g
                .from_sources(&[EntityId(source)], options(3, usize::MAX, usize::MAX), &Uniform)
                .unwrap();
            let found = side.paths_to(EntityId(target)).len();
            // Brute force: every simple walk of 1..=3 hops from source to target.
            fn walks(g: &PathGraph, at: EntityId, target: EntityId, seen: &mut Vec<EntityId>, left: usize) -> usize {
                let mut n = 0;
                for h in g.hops_from(at) {
                    if seen.contains(&h.to) { continue; }
                    if h.to == target { n += 1; continue; }
                    if left > 1 {
                        seen.push(h.to);
                        n += walks(g, h.to, target, seen, left - 1);
                        seen.pop();
                    }
                }
                n
            }
            let expected = if source == target { 0 } else { walks(&g, EntityId(source), EntityId(target), &mut vec![EntityId(source)], 3) };
            prop_assert_eq!(found, expected);
        }
    }
}
