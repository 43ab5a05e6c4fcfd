//! Row-level clean-ups applied at import: the `--min-rating` filter and duplicate merging.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::RawInteraction;

/// Keeps the rows whose rating is at least `min`; returns how many were dropped.
///
/// Rows without a rating are kept: formats without ratings (KGAT, a bare TSV) list positives only,
/// so there is nothing to filter them on.
pub fn filter_min_rating(rows: &mut Vec<RawInteraction>, min: f32) -> usize {
    let before = rows.len();
    rows.retain(|r| r.rating.is_none_or(|x| x >= min));
    before - rows.len()
}

/// Repeated (user, item) rows whose ratings disagree, which [`merge_duplicates`] settles by its
/// rule (the latest timestamp wins, the later row on ties): how many rows conflicted, and the
/// first pair's `user, item: earlier rating then later rating, kept K`. `None` without conflict.
pub fn rating_conflicts(rows: &[RawInteraction]) -> Option<(usize, String)> {
    /// A pair's rating and timestamp as the merge keeps them.
    type Kept = (Option<f32>, Option<i64>);
    /// The first conflict: the pair, the kept rating then, the row's rating.
    type Conflict<'a> = ((&'a str, &'a str), Option<f32>, Option<f32>);
    let mut kept: HashMap<(&str, &str), Kept> = HashMap::new();
    let mut conflicts = 0;
    let mut first: Option<Conflict<'_>> = None;
    for row in rows {
        let key = (row.user.as_str(), row.item.as_str());
        match kept.entry(key) {
            Entry::Vacant(v) => {
                v.insert((row.rating, row.timestamp));
            }
            Entry::Occupied(mut o) => {
                let (rating, timestamp) = *o.get();
                if rating.is_some() && row.rating.is_some() && rating != row.rating {
                    conflicts += 1;
                    first.get_or_insert((key, rating, row.rating));
                }
                o.insert(if row.timestamp >= timestamp {
                    (row.rating.or(rating), row.timestamp)
                } else {
                    (rating.or(row.rating), timestamp)
                });
            }
        }
    }
    let (key, before, after) = first?;
    let shown = |r: Option<f32>| r.map_or_else(|| "none".to_owned(), |r| r.to_string());
    let now = kept.get(&key).and_then(|(r, _)| *r);
    Some((
        conflicts,
        format!(
            "{}, {}: {} then {}, kept {}",
            key.0,
            key.1,
            shown(before),
            shown(after),
            shown(now)
        ),
    ))
}

/// Folds rows with the same (user, item) into the first one; returns how many rows were merged away.
///
/// The merged row keeps the first row's position, sums the counts (the confidence source for
/// implicit feedback), keeps each row's timestamp in `stamps` (a store adds the rows later than
/// a pair's stored timestamp to its count), and takes the timestamp of the most recent row (latest timestamp, later
/// line on ties) and the rating of the most recent row that has one: a re-rating replaces the
/// older opinion, a row without a rating never erases one.
pub fn merge_duplicates(rows: &mut Vec<RawInteraction>) -> usize {
    merge(rows, false)
}

/// [`merge_duplicates`] for rows whose ratings are event weights (`--event-weights`): the
/// merged row's rating is the largest of its rows' (a save then a view keeps the save's
/// weight; a purchase is never lowered by a later view); counts and timestamps as there.
pub fn merge_strongest(rows: &mut Vec<RawInteraction>) -> usize {
    merge(rows, true)
}

/// The rating of a pair whose stored or kept `kept` meets a row's `row` under the event
/// rule: the larger, a missing one never winning.
pub fn strongest(kept: Option<f32>, row: Option<f32>) -> Option<f32> {
    match (kept, row) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn merge(rows: &mut Vec<RawInteraction>, strongest_wins: bool) -> usize {
    let before = rows.len();
    let mut first: HashMap<(String, String), usize> = HashMap::with_capacity(rows.len());
    let mut out: Vec<RawInteraction> = Vec::with_capacity(rows.len());
    for row in rows.drain(..) {
        match first.entry((row.user.clone(), row.item.clone())) {
            Entry::Vacant(v) => {
                v.insert(out.len());
                out.push(row);
            }
            Entry::Occupied(o) => {
                let kept = &mut out[*o.get()];
                let mut stamps = kept.own_stamps();
                stamps.extend(row.own_stamps());
                kept.stamps = stamps;
                kept.count = kept.count.saturating_add(row.count);
                if strongest_wins {
                    kept.rating = strongest(kept.rating, row.rating);
                    kept.timestamp = kept.timestamp.max(row.timestamp);
                } else if row.timestamp >= kept.timestamp {
                    kept.timestamp = row.timestamp;
                    kept.rating = row.rating.or(kept.rating);
                } else {
                    kept.rating = kept.rating.or(row.rating);
                }
            }
        }
    }
    *rows = out;
    before - rows.len()
}
