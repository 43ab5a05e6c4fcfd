//! The catalogue's retired items (sold, withdrawn, out of stock for good), in the sled tree
//! `retired`: one key per item, the item's external id as written in the interaction store;
//! the value is empty. A retired item keeps its interactions, its links and its place in every
//! model; serving skips it (recommendations, similar items) and reads the set at query time, so
//! a model trained before a retirement honours it without retraining.
//!
//! A change (retire or restore a list of items) is one atomic `sled::Batch`, flushed before the
//! call returns; a key that is not UTF-8 is a [`StoreError::Corruption`].

use super::{Result, StoreError};

const TREE: &str = "retired";

/// The sled-backed set of retired items.
#[derive(Debug, Clone)]
pub struct RetiredStore {
    tree: sled::Tree,
}

/// What one change of the set did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetiredChange {
    /// Items whose state changed (retired now, or restored now).
    pub changed: usize,
    /// Items already in the asked state (retired before, or never retired): nothing to do.
    pub unchanged: usize,
    /// Retired items after the change.
    pub retired: usize,
}

impl RetiredStore {
    /// Opens (creating if missing) the tree.
    pub fn open(db: &sled::Db) -> Result<Self> {
        Ok(Self {
            tree: db.open_tree(TREE)?,
        })
    }

    /// How many items are retired.
    pub fn len(&self) -> usize {
        self.tree.len()
    }

    /// Whether no item is retired.
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    /// The retired items' ids, sorted by their bytes.
    pub fn items(&self) -> Result<Vec<String>> {
        self.tree
            .iter()
            .keys()
            .map(|key| {
                let key = key?;
                String::from_utf8(key.to_vec()).map_err(|e| {
                    StoreError::corruption("retired item id", format!("not UTF-8: {e}"))
                })
            })
            .collect()
    }

    /// Whether `item` is retired.
    pub fn contains(&self, item: &str) -> Result<bool> {
        Ok(self.tree.contains_key(item.as_bytes())?)
    }

    /// Retires `items` (ids the caller checked against the store) in one batch.
    pub fn retire(&self, items: &[String]) -> Result<RetiredChange> {
        self.change(items, true)
    }

    /// Offers `items` again, in one batch.
    pub fn restore(&self, items: &[String]) -> Result<RetiredChange> {
        self.change(items, false)
    }

    fn change(&self, items: &[String], retire: bool) -> Result<RetiredChange> {
        let mut batch = sled::Batch::default();
        let mut seen = std::collections::HashSet::with_capacity(items.len());
        let mut change = RetiredChange::default();
        for item in items {
            if !seen.insert(item.as_str()) {
                continue;
            }
            if self.contains(item)? == retire {
                change.unchanged += 1;
                continue;
            }
            change.changed += 1;
            match retire {
                true => batch.insert(item.as_bytes(), &[] as &[u8]),
                false => batch.remove(item.as_bytes()),
            }
        }
        if change.changed > 0 {
            self.tree.apply_batch(batch)?;
            self.tree.flush()?;
        }
        change.retired = self.len();
        Ok(change)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn retire_restore_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path().join("db")).unwrap();
        let store = RetiredStore::open(&db).unwrap();
        assert!(store.is_empty());
        let change = store.retire(&ids(&["b", "a", "b"])).unwrap();
        assert_eq!(
            change,
            RetiredChange {
                changed: 2,
                unchanged: 0,
                retired: 2
            }
        );
        // Idempotent: retiring again changes nothing.
        let again = store.retire(&ids(&["a", "c"])).unwrap();
        assert_eq!((again.changed, again.unchanged, again.retired), (1, 1, 3));
        assert_eq!(store.items().unwrap(), ids(&["a", "b", "c"]));
        assert!(store.contains("b").unwrap());
        let restored = store.restore(&ids(&["b", "never"])).unwrap();
        assert_eq!(
            (restored.changed, restored.unchanged, restored.retired),
            (1, 1, 2)
        );
        assert!(!store.contains("b").unwrap());
        assert_eq!(store.items().unwrap(), ids(&["a", "c"]));
    }

    #[test]
    fn the_set_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            let db = sled::open(&path).unwrap();
            let store = RetiredStore::open(&db).unwrap();
            store.retire(&ids(&["item 7", "é-item"])).unwrap();
            store.restore(&ids(&["item 7"])).unwrap();
        }
        let db = sled::open(&path).unwrap();
        let store = RetiredStore::open(&db).unwrap();
        assert_eq!(store.items().unwrap(), ids(&["é-item"]));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn a_key_that_is_not_utf8_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path().join("db")).unwrap();
        db.open_tree(TREE)
            .unwrap()
            .insert([0xff, 0xfe], &[] as &[u8])
            .unwrap();
        let store = RetiredStore::open(&db).unwrap();
        assert!(matches!(store.items(), Err(StoreError::Corruption { .. })));
    }
}
