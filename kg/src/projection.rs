//! The graph projection: entity→entity edges typed by relation, in memory, walkable both ways.
//!
//! Built from the sled index (never from the RDF store), it is what embeddings train on and what
//! explanation paths are searched in. Node index `i` is `EntityId(i)`, so no lookup table is
//! needed between the two.

use crate::error::{KgError, Result};
use crate::ids::{EntityId, RelationId, Triple};
use crate::index::GraphIndex;
use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

/// Which way an edge is walked: along the triple (head→tail) or against it (tail→head).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Walk {
    Forward,
    Inverse,
}

/// One step from an entity: the relation, the direction it is walked, the entity reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Step {
    pub relation: RelationId,
    pub walk: Walk,
    pub to: EntityId,
}

/// The in-memory projection of the knowledge graph.
#[derive(Clone, Debug, Default)]
pub struct Projection {
    graph: DiGraph<(), RelationId, u32>,
    n_relations: usize,
}

impl Projection {
    /// Builds the projection of `triples` over `n_entities` entities and `n_relations` relations.
    pub fn from_triples(n_entities: usize, n_relations: usize, triples: &[Triple]) -> Result<Self> {
        let mut graph = DiGraph::with_capacity(n_entities, triples.len());
        for _ in 0..n_entities {
            graph.add_node(());
        }
        for t in triples {
            if t.head.index() >= n_entities
                || t.tail.index() >= n_entities
                || t.relation.index() >= n_relations
            {
                return Err(KgError::corruption(format!(
                    "edge {t:?} outside {n_entities} entities / {n_relations} relations"
                )));
            }
            graph.add_edge(
                NodeIndex::new(t.head.index()),
                NodeIndex::new(t.tail.index()),
                t.relation,
            );
        }
        Ok(Self { graph, n_relations })
    }

    /// Builds the projection of everything the index holds.
    pub fn from_index(index: &GraphIndex) -> Result<Self> {
        let counts = index.counts()?;
        let triples = index.triples()?;
        Self::from_triples(
            counts.entities as usize,
            counts.relations as usize,
            &triples,
        )
    }

    pub fn n_entities(&self) -> usize {
        self.graph.node_count()
    }

    pub fn n_relations(&self) -> usize {
        self.n_relations
    }

    pub fn n_edges(&self) -> usize {
        self.graph.edge_count()
    }

    /// The petgraph graph itself, for algorithms that want it.
    pub fn graph(&self) -> &DiGraph<(), RelationId, u32> {
        &self.graph
    }

    /// Edges leaving `entity`, as (relation, tail).
    pub fn out_edges(&self, entity: EntityId) -> impl Iterator<Item = (RelationId, EntityId)> + '_ {
        self.edges(entity, Direction::Outgoing)
    }

    /// Edges arriving at `entity`, as (relation, head).
    pub fn in_edges(&self, entity: EntityId) -> impl Iterator<Item = (RelationId, EntityId)> + '_ {
        self.edges(entity, Direction::Incoming)
    }

    fn edges(
        &self,
        entity: EntityId,
        direction: Direction,
    ) -> impl Iterator<Item = (RelationId, EntityId)> + '_ {
        let node = NodeIndex::new(entity.index());
        let valid = entity.index() < self.graph.node_count();
        valid
            .then(|| self.graph.edges_directed(node, direction))
            .into_iter()
            .flatten()
            .map(move |edge| {
                let other = match direction {
                    Direction::Outgoing => edge.target(),
                    Direction::Incoming => edge.source(),
                };
                (*edge.weight(), EntityId(other.index() as u32))
            })
    }

    /// Every step from `entity`, forward along its out-edges then inverse along its in-edges.
    pub fn steps(&self, entity: EntityId) -> impl Iterator<Item = Step> + '_ {
        let forward = self.out_edges(entity).map(|(relation, to)| Step {
            relation,
            walk: Walk::Forward,
            to,
        });
        let inverse = self.in_edges(entity).map(|(relation, to)| Step {
            relation,
            walk: Walk::Inverse,
            to,
        });
        forward.chain(inverse)
    }

    /// Number of edges touching `entity` in either direction.
    pub fn degree(&self, entity: EntityId) -> usize {
        self.steps(entity).count()
    }

    /// Every edge as a triple.
    pub fn triples(&self) -> impl Iterator<Item = Triple> + '_ {
        self.graph.edge_references().map(|e| {
            Triple::new(
                EntityId(e.source().index() as u32),
                *e.weight(),
                EntityId(e.target().index() as u32),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn t(h: u32, r: u32, tail: u32) -> Triple {
        Triple::new(EntityId(h), RelationId(r), EntityId(tail))
    }

    #[test]
    fn walks_both_directions_and_keeps_parallel_relations() {
        // Toy Story -director-> Lasseter, Toy Story -producer-> Lasseter, Bug's Life -director-> Lasseter
        let p = Projection::from_triples(4, 2, &[t(0, 0, 1), t(0, 1, 1), t(2, 0, 1)]).unwrap();
        assert_eq!(p.n_edges(), 3);
        let mut out: Vec<_> = p.out_edges(EntityId(0)).collect();
        out.sort();
        assert_eq!(
            out,
            vec![(RelationId(0), EntityId(1)), (RelationId(1), EntityId(1))]
        );
        let mut inverse: Vec<_> = p.in_edges(EntityId(1)).collect();
        inverse.sort();
        assert_eq!(
            inverse,
            vec![
                (RelationId(0), EntityId(0)),
                (RelationId(0), EntityId(2)),
                (RelationId(1), EntityId(0))
            ]
        );
        assert_eq!(p.degree(EntityId(3)), 0);
        assert_eq!(p.degree(EntityId(99)), 0);
    }

    #[test]
    fn rejects_edges_outside_the_dictionary() {
        assert!(Projection::from_triples(2, 1, &[t(0, 0, 2)]).is_err());
        assert!(Projection::from_triples(2, 1, &[t(0, 1, 1)]).is_err());
    }
}
