//! Taking interactions back (returns, mistakes): `import interactions --remove` and
//! `DELETE /v1/interactions`. The pairs named are removed from the interaction store in one
//! batch, flushed before the call returns, all or nothing like an import; the store's
//! fingerprint changes with its records, so `stats`, tuned specs and the next `train` see the
//! store as it is now. Users and items keep their ids, names and links.

use std::time::Instant;

use super::{Engine, ParsedInteractions, Result, check_rows, poisoned};
use crate::interactions::RawInteraction;
use crate::store::{InteractionStore, RemoveReport};

/// What a removal did.
#[derive(Debug, Clone)]
pub struct InteractionsRemoved {
    /// Rows read from the file (or given).
    pub read: usize,
    /// Rows naming a pair an earlier row named too (removed once).
    pub merged: usize,
    /// What the store did: removed and not-found counts, the first pairs not found.
    pub report: RemoveReport,
    /// What the reader chose without being told (a guessed format, a detected delimiter).
    pub notes: Vec<String>,
    /// Wall time.
    pub seconds: f64,
}

impl Engine {
    /// Removes the interactions an interaction file read by
    /// [`super::parse_interaction_file`] names (its ratings and times are not read: a pair is
    /// removed whatever it holds).
    pub fn remove_parsed(&self, parsed: ParsedInteractions) -> Result<InteractionsRemoved> {
        self.check_writable()?;
        let ParsedInteractions {
            rows, start, links, ..
        } = parsed;
        if !links.is_empty() {
            return Err(super::Error::BadInput(
                "--remove takes interactions only: links are set by `import links`".to_owned(),
            ));
        }
        let report = self.remove_pairs(&rows.rows)?;
        Ok(InteractionsRemoved {
            read: rows.read,
            merged: rows.merged,
            report,
            // A removal reads no rating: notes about them would say nothing here.
            notes: rows
                .notes
                .into_iter()
                .filter(|n| !super::is_rating_note(n))
                .collect(),
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// Removes the interactions of the pairs `rows` name (given in memory, as
    /// `DELETE /v1/interactions` does): the ids are checked as [`Engine::add_interactions`]
    /// checks them, ratings and times are not read.
    pub fn remove_interactions(&self, rows: &[RawInteraction]) -> Result<InteractionsRemoved> {
        self.check_writable()?;
        check_rows(rows)?;
        let start = Instant::now();
        let report = self.remove_pairs(rows)?;
        let unique: std::collections::HashSet<(&str, &str)> = rows
            .iter()
            .map(|r| (r.user.as_str(), r.item.as_str()))
            .collect();
        Ok(InteractionsRemoved {
            read: rows.len(),
            merged: rows.len() - unique.len(),
            report,
            notes: Vec::new(),
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// Under the writer's lock (interaction writes queue behind it): removes the pairs from the
    /// kept store state, writes the one batch, and drops the served state so that the next
    /// request binds the store as it now is (the removed pairs are no longer the user's, so the
    /// items may be recommended again).
    fn remove_pairs(&self, rows: &[RawInteraction]) -> Result<RemoveReport> {
        let pairs: Vec<(String, String)> = rows
            .iter()
            .map(|r| (r.user.clone(), r.item.clone()))
            .collect();
        let mut writer = self.inner.writer.lock().map_err(poisoned)?;
        let (state, report) = self.read(|dir| {
            let store = InteractionStore::open(dir.db())?;
            let mut state = writer.take_state(&store)?;
            let report = state.remove(&pairs);
            // On an error the state is gone (the store may or may not hold the batch): the
            // next writer reads it again.
            Ok((store.write(state)?, report))
        })?;
        writer.interactions = Some(state);
        if report.removed > 0 {
            writer.revision += 1;
            self.invalidate_served()?;
        }
        Ok(report)
    }
}
