//! What `kgrec tune` found, in the sled tree `tuning`: per learner, the draw of its knobs that
//! did best on the validation rows (an [`Overrides`], so `train` rebuilds the learner from it as
//! from its own flags), the defaults' figure beside it and every trial; and which learner did
//! best of all.
//!
//! Key layout: `l:` learner name → [`TunedLearner`] (JSON: read by people through `stats` and
//! `tune --format json` as much as by kgrec); `best` → the best learner's name. A tuning run
//! writes all of its learners and `best` in one atomic batch.

use serde::{Deserialize, Serialize};

use super::{Result, StoreError};
use crate::learners::Overrides;

const TREE: &str = "tuning";
const LEARNER: &[u8] = b"l:";
const BEST: &[u8] = b"best";

/// One trial: a draw of the knobs fitted on the training rows and scored on the validation rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    /// The knobs drawn (the learner's defaults for the rest); empty for the defaults' trial.
    pub params: Overrides,
    /// Epochs it was fitted with, when successive halving gave it fewer than its draw.
    pub epochs: Option<usize>,
    /// The validation metric (−∞ for a draw the learner refused; stored as `null`).
    #[serde(with = "failed_as_null")]
    pub value: f64,
    /// Wall time of the fit and its scoring.
    pub fit_seconds: f64,
    /// The rung of successive halving (0 first; the last rung is the full draw).
    pub rung: u32,
    /// Whether the draw was fitted in full (the only trials the choice is made among).
    pub full: bool,
}

/// What tuning found for one learner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TunedLearner {
    /// The `--model` name.
    pub learner: String,
    /// The best full trial's knobs (empty: the defaults did best).
    pub overrides: Overrides,
    /// The validation metric, e.g. `ndcg@10`.
    pub metric: String,
    /// Its value for [`Self::overrides`].
    #[serde(with = "failed_as_null")]
    pub value: f64,
    /// Its value for the learner's defaults (the first trial of every tuning).
    #[serde(with = "failed_as_null")]
    pub default_value: f64,
    /// Every trial, in the order it ran.
    pub trials: Vec<TrialRecord>,
    /// The fingerprint of the interactions it was tuned on.
    pub fingerprint: u64,
    /// The seed of the validation carving, the draws and the fits.
    pub seed: u64,
    /// How the validation rows were carved (`random` or `time`).
    pub split: String,
    /// `halving` or `random`.
    pub search: String,
    /// Users with validation rows.
    pub validation_users: usize,
    /// Items the validation held out whole (the catalogue's items without interactions looked
    /// new); records stored before there were any hold 0.
    #[serde(default)]
    pub whole_items: usize,
    /// What the validation scored: `auto` (the catalogue as it is) or `cold` (`--target cold`:
    /// the rows of items held out whole alone). Records stored before it were `auto`.
    #[serde(default = "auto_target")]
    pub target: String,
    /// Seconds since the Unix epoch when the tuning ended.
    pub created_unix: u64,
    /// Wall time spent on this learner.
    pub seconds: f64,
}

fn auto_target() -> String {
    "auto".to_owned()
}

impl TunedLearner {
    /// Whether `other` was scored on the same validation rows with the same metric (the same
    /// interactions, carving, seed and users), so that their values compare.
    pub fn same_rows(&self, other: &TunedLearner) -> bool {
        self.fingerprint == other.fingerprint
            && self.seed == other.seed
            && self.split == other.split
            && self.metric == other.metric
            && self.validation_users == other.validation_users
            && self.whole_items == other.whole_items
            && self.target == other.target
    }
}

/// A metric that is not a number (a failed trial, −∞) as JSON `null`, and back: JSON has no
/// infinities, and `serde_json` would write one as `null` it cannot read back as a number.
mod failed_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        match v.is_finite() {
            true => s.serialize_f64(*v),
            false => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NEG_INFINITY))
    }
}

/// The sled-backed tuning record.
#[derive(Debug, Clone)]
pub struct TuningStore {
    tree: sled::Tree,
}

fn learner_key(name: &str) -> Vec<u8> {
    [LEARNER, name.as_bytes()].concat()
}

impl TuningStore {
    /// Opens (or creates) the record inside `db`.
    pub fn open(db: &sled::Db) -> Result<Self> {
        Ok(Self {
            tree: db.open_tree(TREE)?,
        })
    }

    /// The record inside `db` if a tuning ever stored one. Readers use this rather than
    /// [`Self::open`]: opening a tree that does not exist creates it, a write that a reader
    /// (`stats`, a `train` reading its inputs) must not make.
    pub fn open_existing(db: &sled::Db) -> Result<Option<Self>> {
        if !db
            .tree_names()
            .iter()
            .any(|name| name.as_ref() == TREE.as_bytes())
        {
            return Ok(None);
        }
        Self::open(db).map(Some)
    }

    /// Replaces the record of every learner in `tuned` and names `best`, atomically.
    pub fn put(&self, tuned: &[TunedLearner], best: &str) -> Result<()> {
        let mut batch = sled::Batch::default();
        for t in tuned {
            let bytes =
                serde_json::to_vec(t).map_err(|e| StoreError::corruption("tuning record", e))?;
            batch.insert(learner_key(&t.learner), bytes);
        }
        batch.insert(BEST, best.as_bytes());
        let _watch = kgrec_kg::watchdog::watch("write of the tuning results");
        self.tree.apply_batch(batch)?;
        self.tree.flush()?;
        Ok(())
    }

    /// What tuning found for `learner`, if it was tuned.
    pub fn get(&self, learner: &str) -> Result<Option<TunedLearner>> {
        let Some(bytes) = self.tree.get(learner_key(learner))? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::corruption(format!("tuning record of {learner}"), e))
    }

    /// The learner the last tuning found best.
    pub fn best(&self) -> Result<Option<String>> {
        let Some(bytes) = self.tree.get(BEST)? else {
            return Ok(None);
        };
        String::from_utf8(bytes.to_vec())
            .map(Some)
            .map_err(|e| StoreError::corruption("best tuned learner", e))
    }

    /// Every tuned learner, by name.
    pub fn all(&self) -> Result<Vec<TunedLearner>> {
        self.tree
            .scan_prefix(LEARNER)
            .map(|entry| {
                let (key, bytes) = entry?;
                serde_json::from_slice(&bytes).map_err(|e| {
                    StoreError::corruption(
                        format!("tuning record {}", String::from_utf8_lossy(&key)),
                        e,
                    )
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn record(learner: &str, value: f64) -> TunedLearner {
        TunedLearner {
            learner: learner.to_owned(),
            overrides: Overrides {
                dim: Some(32),
                reg: Some(12.5),
                ..Overrides::default()
            },
            metric: "ndcg@10".to_owned(),
            value,
            default_value: value / 2.0,
            trials: vec![TrialRecord {
                params: Overrides::default(),
                epochs: None,
                value: value / 2.0,
                fit_seconds: 0.1,
                rung: 0,
                full: true,
            }],
            fingerprint: 7,
            seed: 0,
            split: "random".to_owned(),
            search: "halving".to_owned(),
            validation_users: 10,
            whole_items: 0,
            target: "auto".to_owned(),
            created_unix: 1,
            seconds: 2.0,
        }
    }

    #[test]
    fn a_tuning_round_trips_and_replaces_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let store = TuningStore::open(&db).unwrap();
        assert_eq!(store.best().unwrap(), None);
        assert_eq!(store.get("als").unwrap(), None);
        store
            .put(&[record("als", 0.3), record("ease", 0.4)], "ease")
            .unwrap();
        assert_eq!(store.best().unwrap().as_deref(), Some("ease"));
        assert_eq!(store.get("als").unwrap(), Some(record("als", 0.3)));
        store.put(&[record("als", 0.35)], "als").unwrap();
        assert_eq!(store.best().unwrap().as_deref(), Some("als"));
        let all = store.all().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].value, 0.35);
    }

    #[test]
    fn readers_do_not_create_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        assert!(TuningStore::open_existing(&db).unwrap().is_none());
        assert!(
            !db.tree_names()
                .iter()
                .any(|n| n.as_ref() == TREE.as_bytes())
        );
        TuningStore::open(&db)
            .unwrap()
            .put(&[record("als", 0.3)], "als")
            .unwrap();
        let store = TuningStore::open_existing(&db).unwrap().unwrap();
        assert_eq!(store.best().unwrap().as_deref(), Some("als"));
    }

    #[test]
    fn a_failed_trial_round_trips_as_null() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let store = TuningStore::open(&db).unwrap();
        let mut r = record("als", 0.3);
        r.trials[0].value = f64::NEG_INFINITY;
        store.put(&[r.clone()], "als").unwrap();
        assert_eq!(store.get("als").unwrap(), Some(r));
    }

    #[test]
    fn bytes_that_do_not_decode_are_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let store = TuningStore::open(&db).unwrap();
        store
            .tree
            .insert(learner_key("als"), &b"{not json"[..])
            .unwrap();
        assert!(matches!(
            store.get("als"),
            Err(StoreError::Corruption { .. })
        ));
        assert!(store.all().is_err());
    }
}
