//! The knowledge graph as the fused model sees it: which entity each item is linked to, the
//! entity→entity triples TransE trains on, and each linked entity's neighbourhood grouped by
//! relation and direction (the groups relation attention weighs).

use kgrec_kg::{EntityId, RelationId, Triple};

/// The attention group of a step: `2·relation` walked forward (the entity is the head),
/// `2·relation + 1` walked inverse (the entity is the tail).
pub fn group_of(relation: RelationId, inverse: bool) -> u32 {
    2 * relation.0 + u32::from(inverse)
}

/// Items bound to a knowledge graph.
#[derive(Debug, Clone, Default)]
pub struct ItemGraph {
    n_entities: usize,
    n_relations: usize,
    item_entity: Vec<Option<EntityId>>,
    triples: Vec<Triple>,
    /// Neighbourhoods of linked entities, CSR over all entities (unlinked ones are empty).
    ptr: Vec<usize>,
    /// `(group, neighbour)`, sorted within each entity.
    neighbours: Vec<(u32, u32)>,
    /// The distinct words of each item's own text literals, as term ids, ascending (empty
    /// unless [`ItemGraph::with_terms`] gave them: `kg-ease --text-weight`).
    terms: Vec<Vec<u32>>,
}

impl ItemGraph {
    /// Binds `item_entity` (one entry per item) to a graph of `n_entities` entities and
    /// `n_relations` relations. Links and triples that fall outside those counts (an entity the
    /// graph gained after a model was trained) are dropped, so a model can be bound to a newer
    /// graph without reading beyond its tables.
    pub fn new(
        n_entities: usize,
        n_relations: usize,
        triples: Vec<Triple>,
        item_entity: Vec<Option<EntityId>>,
    ) -> Self {
        let inside = |e: EntityId| e.index() < n_entities;
        let triples: Vec<Triple> = triples
            .into_iter()
            .filter(|t| inside(t.head) && inside(t.tail) && t.relation.index() < n_relations)
            .collect();
        let item_entity: Vec<Option<EntityId>> = item_entity
            .into_iter()
            .map(|e| e.filter(|&e| inside(e)))
            .collect();
        let mut linked = vec![false; n_entities];
        for e in item_entity.iter().flatten() {
            linked[e.index()] = true;
        }
        let mut degree = vec![0usize; n_entities + 1];
        for t in &triples {
            if linked[t.head.index()] {
                degree[t.head.index() + 1] += 1;
            }
            if linked[t.tail.index()] {
                degree[t.tail.index() + 1] += 1;
            }
        }
        for k in 1..degree.len() {
            degree[k] += degree[k - 1];
        }
        let ptr = degree;
        let mut fill = ptr.clone();
        let mut neighbours = vec![(0u32, 0u32); ptr[n_entities]];
        for t in &triples {
            if linked[t.head.index()] {
                neighbours[fill[t.head.index()]] = (group_of(t.relation, false), t.tail.0);
                fill[t.head.index()] += 1;
            }
            if linked[t.tail.index()] {
                neighbours[fill[t.tail.index()]] = (group_of(t.relation, true), t.head.0);
                fill[t.tail.index()] += 1;
            }
        }
        for e in 0..n_entities {
            neighbours[ptr[e]..ptr[e + 1]].sort_unstable();
        }
        Self {
            n_entities,
            n_relations,
            item_entity,
            triples,
            ptr,
            neighbours,
            terms: Vec::new(),
        }
    }

    /// The same graph with each item's text terms (`terms[i]`: item `i`'s distinct term ids).
    pub fn with_terms(mut self, terms: Vec<Vec<u32>>) -> Self {
        self.terms = terms;
        self
    }

    /// Item `item`'s text terms, ascending (empty without [`ItemGraph::with_terms`]).
    pub fn terms(&self, item: usize) -> &[u32] {
        self.terms.get(item).map_or(&[], Vec::as_slice)
    }

    /// Entities of the graph.
    pub fn n_entities(&self) -> usize {
        self.n_entities
    }

    /// Relations of the graph.
    pub fn n_relations(&self) -> usize {
        self.n_relations
    }

    /// Attention groups: two per relation (forward and inverse).
    pub fn n_groups(&self) -> usize {
        2 * self.n_relations
    }

    /// Items bound.
    pub fn n_items(&self) -> usize {
        self.item_entity.len()
    }

    /// The entity item `item` is linked to, if any.
    pub fn entity_of(&self, item: usize) -> Option<EntityId> {
        self.item_entity.get(item).copied().flatten()
    }

    /// Number of linked items.
    pub fn n_linked(&self) -> usize {
        self.item_entity.iter().flatten().count()
    }

    /// The entity→entity triples.
    pub fn triples(&self) -> &[Triple] {
        &self.triples
    }

    /// The neighbourhood of item `item`'s entity as `(group, neighbour entity)`, sorted by group;
    /// empty for an unlinked item.
    pub fn neighbourhood(&self, item: usize) -> &[(u32, u32)] {
        match self.entity_of(item) {
            Some(e) => &self.neighbours[self.ptr[e.index()]..self.ptr[e.index() + 1]],
            None => &[],
        }
    }

    /// The distinct neighbour entities of item `item`'s entity, both directions, sorted; empty
    /// for an unlinked item.
    pub fn neighbour_entities(&self, item: usize) -> Vec<u32> {
        let mut n: Vec<u32> = self.neighbourhood(item).iter().map(|&(_, e)| e).collect();
        n.sort_unstable();
        n.dedup();
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, r: u32, t: u32) -> Triple {
        Triple {
            head: EntityId(h),
            relation: RelationId(r),
            tail: EntityId(t),
        }
    }

    #[test]
    fn neighbourhoods_group_both_directions_and_drop_what_lies_outside() {
        // film 0 --director(0)--> 2, film 1 --director(0)--> 2, 3 --award(1)--> film 0,
        // and an edge to entity 9 that lies outside a 5-entity binding.
        let g = ItemGraph::new(
            5,
            2,
            vec![t(0, 0, 2), t(1, 0, 2), t(3, 1, 0), t(0, 1, 9)],
            vec![
                Some(EntityId(0)),
                Some(EntityId(1)),
                None,
                Some(EntityId(7)),
            ],
        );
        assert_eq!(g.triples().len(), 3);
        assert_eq!(g.neighbourhood(0), &[(0, 2), (3, 3)]);
        assert_eq!(g.neighbour_entities(0), vec![2, 3]);
        assert_eq!(g.neighbourhood(1), &[(0, 2)]);
        assert!(g.neighbourhood(2).is_empty());
        assert_eq!(g.entity_of(3), None, "a link beyond the graph is dropped");
        assert_eq!(g.n_linked(), 2);
        assert_eq!(g.n_groups(), 4);
    }
}
