//! Items the catalogue no longer offers (sold, withdrawn): `import links --retire FILE`,
//! `import links --restore FILE` and `POST`/`DELETE /v1/items/retired`. The set lives in the
//! sled tree `retired` ([`crate::store::retired`]); a retired item keeps its interactions (users'
//! histories, the next training's signal) and its links (explanation paths may pass through
//! it), but is never recommended and never listed as similar. Serving reads the set at query
//! time (cached by the engine, dropped on every change), so the lists of a model trained before
//! a retirement skip the item at once and fill up to `k` from the next items.

/// What offers a retired item again, in every message that names it: the CLI command, and the
/// HTTP route for a directory `kgrec serve` holds (where the command is refused).
pub const RESTORE: &str =
    "`kgrec import links --restore FILE` (over HTTP: `DELETE /v1/items/retired`)";

use std::sync::Arc;
use std::time::Instant;

use super::{Engine, Error, Result, poisoned};
use crate::serving::Served;
use crate::store::{InteractionStore, RetiredChange, RetiredStore};

/// How many unknown ids an error names before it counts the rest.
const NAMED: usize = 5;

/// What retiring or restoring a list of items did.
#[derive(Debug, Clone)]
pub struct AvailabilityChanged {
    /// Ids given (repeats included).
    pub read: usize,
    /// Items retired now (or restored now).
    pub changed: usize,
    /// Items that already were in the asked state.
    pub unchanged: usize,
    /// Retired items after the change.
    pub retired: usize,
    /// Items of the store.
    pub items: usize,
    /// Wall time.
    pub seconds: f64,
}

impl Engine {
    /// Retires `items` (ids of the interaction store): never recommended, never similar, from
    /// the next request on, without retraining. All or nothing: an id the store does not hold
    /// refuses the call (the error names the first few and counts them) and nothing is written.
    /// Retiring a retired item changes nothing.
    pub fn retire_items(&self, items: &[String]) -> Result<AvailabilityChanged> {
        self.change_availability(items, true)
    }

    /// Offers `items` again (ids of the interaction store); restoring an item that is not
    /// retired changes nothing.
    pub fn restore_items(&self, items: &[String]) -> Result<AvailabilityChanged> {
        self.change_availability(items, false)
    }

    /// A note for an item that is retired (`None` for an offered one): why no list shows it and
    /// how to offer it again. `explain` of a retired item gives it.
    pub fn retired_note(&self, item: &str) -> Result<Option<String>> {
        let retired = self.retired_items()?;
        Ok(retired
            .binary_search_by(|r| r.as_str().cmp(item))
            .is_ok()
            .then(|| {
                format!(
                    "item {item:?} is retired (no longer offered): no list and no `similar` \
                     answer shows it; {RESTORE} offers it again"
                )
            }))
    }

    /// The retired items' ids (sorted).
    pub fn retired_items(&self) -> Result<Arc<Vec<String>>> {
        let mut cache = self.inner.retired.lock().map_err(poisoned)?;
        if let Some(items) = cache.as_ref() {
            return Ok(Arc::clone(items));
        }
        let items = Arc::new(self.read(|dir| Ok(RetiredStore::open(dir.db())?.items()?))?);
        *cache = Some(Arc::clone(&items));
        Ok(items)
    }

    /// The dense ids of the retired items `served` knows, sorted (for exclusion lists).
    pub fn retired_ids(&self, served: &Served) -> Result<Vec<u32>> {
        let retired = self.retired_items()?;
        let mut ids: Vec<u32> = retired
            .iter()
            .filter_map(|name| served.matrix.item_id(name))
            .map(|id| id.0)
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    fn change_availability(&self, items: &[String], retire: bool) -> Result<AvailabilityChanged> {
        self.check_writable()?;
        let start = Instant::now();
        let verb = if retire { "retire" } else { "restore" };
        if items.is_empty() {
            return Err(Error::BadInput(format!(
                "no item ids to {verb}: give at least one"
            )));
        }
        // The writer's lock: no import changes the item dictionary while the ids are checked,
        // and one change of the set at a time.
        let mut writer = self.inner.writer.lock().map_err(poisoned)?;
        let result = self.read(|dir| {
            let store = InteractionStore::open(dir.db())?;
            let state = writer.take_state(&store)?;
            let known: std::collections::HashSet<&str> =
                state.items().iter().map(String::as_str).collect();
            let mut unknown: Vec<&str> = Vec::new();
            for item in items {
                if !known.contains(item.as_str()) && !unknown.contains(&item.as_str()) {
                    unknown.push(item);
                }
            }
            let stored = state.items().len();
            if !unknown.is_empty() {
                let hint = lookalike_or_shape(&unknown, state.items());
                writer.interactions = Some(state);
                return Err(unknown_items(verb, &unknown, hint));
            }
            writer.interactions = Some(state);
            let retired = RetiredStore::open(dir.db())?;
            let change: RetiredChange = match retire {
                true => retired.retire(items)?,
                false => retired.restore(items)?,
            };
            Ok((change, stored))
        });
        // Whatever happened to the batch, the cached set is read again.
        *self.inner.retired.lock().map_err(poisoned)? = None;
        let (change, stored) = result?;
        Ok(AvailabilityChanged {
            read: items.len(),
            changed: change.changed,
            unchanged: change.unchanged,
            retired: change.retired,
            items: stored,
            seconds: start.elapsed().as_secs_f64(),
        })
    }
}

/// The error of ids the store does not hold: the first few named, the rest counted.
fn unknown_items(verb: &str, unknown: &[&str], hint: String) -> Error {
    let mut named = unknown
        .iter()
        .take(NAMED)
        .map(|i| format!("{i:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    if unknown.len() > NAMED {
        named.push_str(&format!(" and {} more", unknown.len() - NAMED));
    }
    Error::BadInput(format!(
        "cannot {verb}: {} item id(s) the data directory does not hold: {named}{hint}; nothing \
         was changed",
        unknown.len()
    ))
}

/// Why ids may be unknown: a line holding a delimiter (the file is not one id per line), or a
/// stored id that differs only in letter case.
fn lookalike_or_shape(unknown: &[&str], stored: &[String]) -> String {
    if let Some(line) = unknown.iter().find(|u| u.contains([',', '\t', ';'])) {
        return format!(
            " (the list takes one item id per line; {line:?} looks like a row of a table: \
             keep only the item column)"
        );
    }
    for u in unknown.iter().take(NAMED) {
        let hint = super::lookalike_hint(u, stored);
        if !hint.is_empty() {
            return format!(" ({u:?}{})", hint.trim_start_matches(';'));
        }
    }
    String::new()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::testutil::engine_with_fixtures;
    use super::*;
    use crate::RecommendRequest;

    fn items(engine: &Engine, user: &str, k: usize) -> Vec<String> {
        engine
            .recommend(&RecommendRequest::new(user, k))
            .unwrap()
            .items
            .into_iter()
            .map(|i| i.item)
            .collect()
    }

    #[test]
    fn retired_items_are_skipped_at_query_time_and_after_a_reopen() {
        let (tmp, engine) = engine_with_fixtures("ease");
        // A user the store does not know: the popular items, from the whole catalogue.
        let before = items(&engine, "stranger", 6);
        let similar_before = engine.similar(&before[0], 5, None).unwrap();
        let like = similar_before
            .similar
            .iter()
            .map(|s| s.item.clone())
            .find(|s| *s != before[1])
            .unwrap();
        let retired = vec![before[1].clone(), like.clone()];
        let changed = engine.retire_items(&retired).unwrap();
        assert_eq!((changed.changed, changed.retired), (2, 2));
        let after = items(&engine, "stranger", 6);
        assert_eq!(after.len(), 6);
        assert!(
            !after.contains(&before[1]) && !after.contains(&like),
            "{after:?}"
        );
        let similar_after = engine.similar(&before[0], 5, None).unwrap();
        assert!(similar_after.similar.iter().all(|s| s.item != like));
        let batch = engine.recommend_all(6, None).unwrap();
        assert!(
            batch
                .users
                .iter()
                .all(|u| u.items.iter().all(|(i, _)| !retired.contains(i)))
        );
        // Unknown ids: refused, named, nothing written.
        let err = engine
            .retire_items(&[before[0].clone(), "no-such".to_owned()])
            .unwrap_err();
        assert!(err.to_string().contains("\"no-such\""), "{err}");
        assert_eq!(engine.retired_items().unwrap().len(), 2);
        assert_eq!(engine.stats().unwrap().retired_items, 2);
        // On disk: a new engine on the directory honours the set.
        let path = tmp.path().join("data");
        drop(engine);
        let engine = Engine::open(&path).unwrap();
        assert_eq!(items(&engine, "stranger", 6), after);
        let restored = engine.restore_items(&retired).unwrap();
        assert_eq!((restored.changed, restored.retired), (2, 0));
        assert_eq!(items(&engine, "stranger", 6), before);
    }
}
