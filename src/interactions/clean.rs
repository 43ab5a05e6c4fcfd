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

/// Folds rows with the same (user, item) into the first one; returns how many rows were merged away.
///
/// The merged row keeps the first row's position, sums the counts (the confidence source for
/// implicit feedback), and takes the rating and timestamp of the most recent row (latest timestamp,
/// later line on ties): a re-rating replaces the older opinion.
pub fn merge_duplicates(rows: &mut Vec<RawInteraction>) -> usize {
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
                kept.count = kept.count.saturating_add(row.count);
                if row.timestamp >= kept.timestamp {
                    kept.timestamp = row.timestamp;
                    kept.rating = row.rating;
                }
            }
        }
    }
    *rows = out;
    before - rows.len()
}
