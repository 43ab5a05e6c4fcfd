//! Dense identifiers of users and items. Public signatures take these newtypes, never bare integers.

use serde::{Deserialize, Serialize};

/// A dense id of a user, assigned on import.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UserId(pub u32);

/// A dense id of an item, assigned on import.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ItemId(pub u32);

impl UserId {
    /// The id as an index into dense arrays.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl ItemId {
    /// The id as an index into dense arrays.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}
