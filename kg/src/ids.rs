//! Dense identifiers of the graph layer. Public signatures take these newtypes, never bare integers.

use serde::{Deserialize, Serialize};

/// A dense id of a graph entity: an IRI that is a subject or an IRI object in the knowledge graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EntityId(pub u32);

/// A dense id of a relation: a predicate that has at least one IRI object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RelationId(pub u32);

impl EntityId {
    /// The id as an index into dense arrays.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl RelationId {
    /// The id as an index into dense arrays.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// An entity→entity edge typed by its relation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Triple {
    pub head: EntityId,
    pub relation: RelationId,
    pub tail: EntityId,
}

impl Triple {
    pub fn new(head: EntityId, relation: RelationId, tail: EntityId) -> Self {
        Self {
            head,
            relation,
            tail,
        }
    }
}
