//! Event logs: files whose rows say what kind of interaction each was (`view`, `addtocart`,
//! `transaction`), weighed by `--event-weights view=1,addtocart=3,transaction=5`. Each row's
//! weight becomes its rating-like strength, and a pair's strength is the largest weight among
//! its events (within a file, across imports and over HTTP): a purchase is never lowered by a
//! later view. A weight of 0 drops the kind's rows (counted in a note).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// The weight of each event kind, by its name exactly as the file writes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventWeights(BTreeMap<String, f32>);

// Every weight is finite by construction (`FromStr`, `from_json`), so equality is reflexive.
impl Eq for EventWeights {}

/// Why an `--event-weights` value is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{text:?}: {why}; give KIND=WEIGHT pairs separated by commas, e.g. \
     view=1,addtocart=3,transaction=5 (a weight of 0 drops the kind's rows)"
)]
pub struct BadEventWeights {
    /// The value given.
    pub text: String,
    /// What is wrong.
    pub why: String,
}

impl EventWeights {
    /// The weight of `event` (`None`: not a kind the weights name).
    pub fn get(&self, event: &str) -> Option<f32> {
        self.0.get(event).copied()
    }

    /// The kinds, in name order, with their weights.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f32)> {
        self.0.iter().map(|(k, w)| (k.as_str(), *w))
    }

    /// Whether no kind is named.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The kinds whose weight is 0: their rows are dropped.
    pub fn dropped(&self) -> Vec<&str> {
        self.iter()
            .filter(|(_, w)| *w == 0.0)
            .map(|(k, _)| k)
            .collect()
    }

    /// The scale of the strengths: the lowest positive weight to the highest (`None` when they
    /// are one value), stored as the data's declared rating scale, so that `train --confidence
    /// rating` weighs a strength as a share of the top weight whichever kinds are stored.
    pub fn scale(&self) -> Option<super::RatingScale> {
        let positive = self.0.values().copied().filter(|w| *w > 0.0);
        let lo = positive.clone().fold(f32::INFINITY, f32::min);
        let hi = positive.fold(f32::NEG_INFINITY, f32::max);
        super::RatingScale::new(lo, hi)
    }

    /// The known kinds, for messages: `view, addtocart, transaction`.
    pub fn known(&self) -> String {
        self.0
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The weights by ascending weight (ties in name order), for messages:
    /// `view=1, addtocart=3, transaction=5`.
    pub fn by_weight(&self) -> String {
        let mut pairs: Vec<(&str, f32)> = self.iter().collect();
        pairs.sort_by(|a, b| a.1.total_cmp(&b.1));
        pairs
            .iter()
            .map(|(k, w)| format!("{k}={w}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The message of an event the weights do not name: the known ones, and the one it looks
    /// like when it differs only by letter case or surrounding blanks.
    pub fn unknown(&self, event: &str) -> String {
        format!(
            "event {event:?} has no weight (--event-weights names {}){}; give it one, or a \
             weight of 0 to drop its rows",
            self.known(),
            self.lookalike(event)
        )
    }

    /// [`EventWeights::unknown`] of the weights a data directory stores, which the import (or
    /// the posted row) did not give: how to add the kind.
    pub fn unknown_stored(&self, event: &str) -> String {
        format!(
            "event {event:?} has no weight (this data directory's stored event weights name {}){}; \
             a kind is added by an import with --event-weights {self},{event}=W (W its weight, \
             0 to drop its rows; the stored kinds keep theirs)",
            self.known(),
            self.lookalike(event)
        )
    }

    /// `; did you mean "view"?` when `event` differs from a known kind only by letter case or
    /// surrounding blanks, else nothing.
    fn lookalike(&self, event: &str) -> String {
        let folded = event.trim().to_lowercase();
        self.0
            .keys()
            .find(|k| k.trim().to_lowercase() == folded)
            .map(|k| format!("; did you mean {k:?}? (event kinds are compared exactly)"))
            .unwrap_or_default()
    }

    /// This mapping with `other`'s kinds added: `Err` names the first kind both name with
    /// different weights (`kind`, this weight, `other`'s), since strengths already stored were
    /// weighed by this one.
    pub fn extended(&self, other: &Self) -> Result<Self, (String, f32, f32)> {
        let mut out = self.clone();
        for (kind, w) in other.iter() {
            match self.get(kind) {
                Some(stored) if stored != w => return Err((kind.to_owned(), stored, w)),
                Some(_) => {}
                None => {
                    out.0.insert(kind.to_owned(), w);
                }
            }
        }
        Ok(out)
    }

    /// How many rows of each kind `weights` (each row's weight, as read) holds, for the import's
    /// note: `view 300, addtocart 40, transaction 12, remove 0`, by descending count, ties in
    /// name order. A row carries its kind's weight only, so kinds of one weight are counted
    /// together (`click or view 300`).
    pub fn rows_by_kind(&self, weights: impl IntoIterator<Item = Option<f32>>) -> String {
        let mut counts: Vec<(Vec<&str>, f32, usize)> = Vec::new();
        for (kind, w) in self.iter() {
            match counts.iter_mut().find(|(_, cw, _)| *cw == w) {
                Some(entry) => entry.0.push(kind),
                None => counts.push((vec![kind], w, 0)),
            }
        }
        for w in weights.into_iter().flatten() {
            if let Some(entry) = counts.iter_mut().find(|(_, cw, _)| *cw == w) {
                entry.2 += 1;
            }
        }
        counts.sort_by_key(|c| std::cmp::Reverse(c.2));
        counts
            .iter()
            .map(|(kinds, _, n)| format!("{} {n}", kinds.join(" or ")))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The stored form (JSON object of kind → weight).
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_default()
    }

    /// Reads the stored form; `None` when it is not one.
    pub fn from_json(text: &[u8]) -> Option<Self> {
        let map: BTreeMap<String, f32> = serde_json::from_slice(text).ok()?;
        map.values()
            .all(|w| w.is_finite() && *w >= 0.0)
            .then_some(Self(map))
    }
}

impl fmt::Display for EventWeights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs: Vec<String> = self.iter().map(|(k, w)| format!("{k}={w}")).collect();
        f.write_str(&pairs.join(","))
    }
}

impl FromStr for EventWeights {
    type Err = BadEventWeights;

    fn from_str(text: &str) -> Result<Self, BadEventWeights> {
        let bad = |why: String| BadEventWeights {
            text: text.to_owned(),
            why,
        };
        let mut map = BTreeMap::new();
        for pair in text.split(',') {
            let Some((kind, weight)) = pair.rsplit_once('=') else {
                return Err(bad(format!("{pair:?} has no `=`")));
            };
            if kind.is_empty() {
                return Err(bad(format!("{pair:?} names no event kind")));
            }
            let w = weight
                .trim()
                .parse::<f32>()
                .ok()
                .filter(|w| w.is_finite() && *w >= 0.0 && *w <= super::MAX_RATING)
                .ok_or_else(|| {
                    bad(format!(
                        "the weight of {kind:?}, {weight:?}, is not a number from 0 to 16777216"
                    ))
                })?;
            if map.insert(kind.to_owned(), w).is_some() {
                return Err(bad(format!("{kind:?} is given twice")));
            }
        }
        if map.values().all(|w| *w == 0.0) {
            return Err(bad(
                "every weight is 0: every row would be dropped".to_owned()
            ));
        }
        Ok(Self(map))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn weights_parse_print_and_extend() {
        let w: EventWeights = "view=1,addtocart=3,transaction=5".parse().unwrap();
        assert_eq!(w.get("addtocart"), Some(3.0));
        assert_eq!(w.get("View"), None);
        assert_eq!(w.to_string(), "addtocart=3,transaction=5,view=1");
        assert!(w.unknown("View").contains("did you mean \"view\""));
        assert!(w.unknown("click").contains("addtocart, transaction, view"));
        assert_eq!(w.by_weight(), "view=1, addtocart=3, transaction=5");
        let stored = w.unknown_stored("click");
        assert!(
            stored.contains("stored event weights name addtocart, transaction, view"),
            "{stored}"
        );
        assert!(
            stored.contains("--event-weights addtocart=3,transaction=5,view=1,click=W"),
            "{stored}"
        );
        assert!(w.unknown_stored("View ").contains("did you mean \"view\""));
        for bad in [
            "view",
            "view=x",
            "view=-1",
            "view=1,view=2",
            "=1",
            "view=inf",
            "a=0",
        ] {
            assert!(bad.parse::<EventWeights>().is_err(), "{bad}");
        }
        let more: EventWeights = "view=1,save=2".parse().unwrap();
        assert_eq!(w.extended(&more).unwrap().get("save"), Some(2.0));
        let other: EventWeights = "view=2".parse().unwrap();
        assert_eq!(w.extended(&other), Err(("view".to_owned(), 1.0, 2.0)));
        assert_eq!(
            EventWeights::from_json(w.to_json().as_bytes()),
            Some(w.clone())
        );
        let dropping: EventWeights = "view=1,remove=0".parse().unwrap();
        assert_eq!(dropping.dropped(), vec!["remove"]);
        let rows = [Some(1.0), Some(5.0), Some(1.0), Some(3.0), None, Some(1.0)];
        assert_eq!(w.rows_by_kind(rows), "view 3, addtocart 1, transaction 1");
        let shared: EventWeights = "view=1,click=1,buy=5,remove=0".parse().unwrap();
        assert_eq!(
            shared.rows_by_kind([Some(1.0), Some(5.0), Some(1.0)]),
            "click or view 2, buy 1, remove 0"
        );
    }
}
