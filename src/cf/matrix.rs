//! The in-memory user×item interaction matrix: dense ids for the raw string ids, and the same
//! positives stored twice in CSR form (by user for user solves, scoring exclusions and sampling;
//! by item for item solves), each entry with a confidence value and, when the matrix comes from
//! the interaction store, the pair's stored rating and count ([`InteractionMatrix::feedback`]).

use std::collections::HashMap;

use crate::ids::{ItemId, UserId};
use crate::interactions::{RatingScale, RawInteraction};

/// A dictionary between external string ids and dense `u32` ids, in first-seen order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdMap {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

/// More distinct ids than a `u32` dense id can hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("more than {} distinct {what} ids", u32::MAX)]
pub struct TooManyIds {
    /// `"user"` or `"item"`.
    pub what: &'static str,
}

/// Why [`IdMap::from_names`] refused a list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DictionaryError {
    /// A name is listed twice.
    #[error("id {name:?} is listed at positions {first} and {second}")]
    Duplicate {
        /// The repeated name.
        name: String,
        /// Its first position.
        first: u32,
        /// Its second position.
        second: u32,
    },
    /// More names than dense ids.
    #[error(transparent)]
    TooMany(#[from] TooManyIds),
}

impl IdMap {
    /// An empty dictionary.
    pub fn new() -> Self {
        Self::default()
    }

    /// A dictionary whose dense ids are the positions in `names` (e.g. one loaded from a store).
    pub fn from_names(names: Vec<String>) -> Result<Self, DictionaryError> {
        if u32::try_from(names.len()).is_err() {
            return Err(TooManyIds { what: "dictionary" }.into());
        }
        let mut index = HashMap::with_capacity(names.len());
        for (id, name) in names.iter().enumerate() {
            if let Some(first) = index.insert(name.clone(), id as u32) {
                return Err(DictionaryError::Duplicate {
                    name: name.clone(),
                    first,
                    second: id as u32,
                });
            }
        }
        Ok(Self { names, index })
    }

    /// The dense id of `name`, assigning the next one if it is new.
    pub fn intern(&mut self, name: &str) -> Result<u32, TooManyIds> {
        if let Some(&id) = self.index.get(name) {
            return Ok(id);
        }
        let id = u32::try_from(self.names.len()).map_err(|_| TooManyIds { what: "dictionary" })?;
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), id);
        Ok(id)
    }

    /// The dense id of `name`, if known.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// The external id of dense id `id`.
    pub fn name(&self, id: u32) -> Option<&str> {
        self.names.get(id as usize).map(String::as_str)
    }

    /// How many ids are known.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no id is known.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The external ids in dense-id order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// How a positive's confidence value `r_ui` is set (ALS weights it as `1 + alpha * r_ui`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Confidence {
    /// Every positive counts 1, however often it was repeated.
    #[default]
    Binary,
    /// A positive counts as often as it occurred (merged duplicates add up).
    Counts,
}

/// Positives in compressed sparse rows: `ptr[r]..ptr[r + 1]` indexes `cols` and `vals`, columns sorted.
#[derive(Debug, Clone, PartialEq)]
struct Csr {
    ptr: Vec<usize>,
    cols: Vec<u32>,
    vals: Vec<f32>,
}

impl Csr {
    /// Builds from (row, col, value) triples, summing repeated cells.
    fn build(n_rows: usize, mut triples: Vec<(u32, u32, f32)>) -> Self {
        triples.sort_unstable_by_key(|&(r, c, _)| (r, c));
        let mut ptr = vec![0usize; n_rows + 1];
        let mut cols: Vec<u32> = Vec::with_capacity(triples.len());
        let mut vals: Vec<f32> = Vec::with_capacity(triples.len());
        let mut last: Option<(u32, u32)> = None;
        for (r, c, v) in triples {
            if last == Some((r, c)) {
                if let Some(x) = vals.last_mut() {
                    *x += v;
                }
                continue;
            }
            last = Some((r, c));
            ptr[r as usize + 1] += 1;
            cols.push(c);
            vals.push(v);
        }
        for r in 0..n_rows {
            ptr[r + 1] += ptr[r];
        }
        Self { ptr, cols, vals }
    }

    fn transpose(&self, n_cols: usize) -> Self {
        let triples = (0..self.ptr.len() - 1)
            .flat_map(|r| (self.ptr[r]..self.ptr[r + 1]).map(move |k| (r, k)))
            .map(|(r, k)| (self.cols[k], r as u32, self.vals[k]))
            .collect();
        Self::build(n_cols, triples)
    }

    fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.ptr[r], self.ptr[r + 1]);
        (&self.cols[a..b], &self.vals[a..b])
    }
}

/// Implicit-feedback positives of users on items, with both directions of access.
#[derive(Debug, Clone, PartialEq)]
pub struct InteractionMatrix {
    users: IdMap,
    items: IdMap,
    by_user: Csr,
    by_item: Csr,
    feedback: Option<Feedback>,
}

/// The stored rating (NaN: none) and count of every entry, aligned with both CSR arrays.
#[derive(Debug, Clone)]
struct Feedback {
    user_ratings: Vec<f32>,
    user_counts: Vec<u32>,
    item_ratings: Vec<f32>,
    rated: usize,
}

impl PartialEq for Feedback {
    /// Ratings compare by their bits, so that the NaN of "no rating" equals itself.
    fn eq(&self, other: &Self) -> bool {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        self.user_counts == other.user_counts
            && self.rated == other.rated
            && bits(&self.user_ratings) == bits(&other.user_ratings)
            && bits(&self.item_ratings) == bits(&other.item_ratings)
    }
}

/// What a positive's stored feedback says: its rating, if it had one, and how many rows named it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairFeedback {
    /// The explicit rating.
    pub rating: Option<f32>,
    /// Rows that named the pair.
    pub count: u32,
}

/// Which stored value a confidence learner's values `r` (in `c = 1 + α·r`) are made of: the
/// `--confidence` knob ([`Weighting`] maps a pair's stored feedback to `r`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Value {
    /// 1 for every positive.
    #[default]
    Binary,
    /// The pair's count, as `log2(1 + count)` (1 for a count of 1).
    Count,
    /// The pair's rating, as its share of the scale's top (1 where it has none).
    Rating,
}

impl Value {
    /// The `--confidence` spellings.
    pub const NAMES: [&'static str; 3] = ["binary", "rating", "count"];

    /// Parses a `--confidence` spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "binary" => Some(Self::Binary),
            "rating" | "ratings" => Some(Self::Rating),
            "count" | "counts" => Some(Self::Count),
            _ => None,
        }
    }

    /// The `--confidence` spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Binary => "binary",
            Self::Rating => "rating",
            Self::Count => "count",
        }
    }
}

/// How a positive's stored feedback becomes its confidence value `r` (in `c = 1 + α·r`), the
/// rating range fixed from the training data so that a user folded in later is weighed alike.
/// Every mode gives 1 to a plain positive (a count of 1, a top rating, no rating), so `α`
/// means the same for all three and carries over between rating scales.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Weighting {
    /// Which stored value.
    pub value: Value,
    /// `[base, top]` of [`Value::Rating`]: a rating `r` weighs `(r − base)/(top − base)`,
    /// clipped to `[0, 1]`; `None`: every rating weighs 1 (the data has one rating value or
    /// none, so rating confidence is binary confidence).
    pub range: Option<(f32, f32)>,
}

impl Weighting {
    /// The weighting `value` takes on `matrix`: for [`Value::Rating`], `top` is the top of the
    /// `declared` scale (else of the stored ratings) and `base` its bottom when that is
    /// negative, else 0 (`r/5` on a 1–5 scale, `r/100` on 0–100). Ratings of one value only
    /// (all 1: clicks) leave no range: binary.
    pub fn resolve(
        value: Value,
        matrix: &InteractionMatrix,
        declared: Option<RatingScale>,
    ) -> Self {
        let range = match value {
            Value::Rating => {
                let ratings = matrix.feedback.iter().flat_map(|f| f.user_ratings.iter());
                RatingScale::infer(ratings.copied())
                    .map(|inferred| declared.unwrap_or(inferred))
                    .map(|s| (s.min().min(0.0), s.max()))
                    .filter(|(base, top)| top > base)
            }
            Value::Binary | Value::Count => None,
        };
        Self { value, range }
    }

    /// The confidence value of a positive with this stored `rating` (NaN: none) and `count`.
    pub fn weight(&self, rating: f32, count: u32) -> f32 {
        match (self.value, self.range) {
            (Value::Count, _) => (1.0 + count as f32).log2(),
            (Value::Rating, Some((base, top))) if !rating.is_nan() => {
                ((rating - base) / (top - base)).clamp(0.0, 1.0)
            }
            (Value::Rating, _) | (Value::Binary, _) => 1.0,
        }
    }

    /// The weighting a model's parameters JSON stored (`confidence`, `rating_range`: als, cke),
    /// `None` when they name no confidence.
    pub fn from_params(params: &str) -> Option<Self> {
        #[derive(serde::Deserialize)]
        struct Stored {
            confidence: Value,
            #[serde(default)]
            rating_range: Option<(f32, f32)>,
        }
        let stored: Stored = serde_json::from_str(params).ok()?;
        Some(Self {
            value: stored.confidence,
            range: stored.rating_range,
        })
    }

    /// Whether a few ratings far above where nearly all of `matrix`'s ratings sit set this
    /// rating weighting's top ([`Stretch`]): one 50 on a 1–3 store weighs every other
    /// positive at 3/50 or less, so confidence barely tells them from the implicit zeros. Far,
    /// as the import's outlier note judges it: above the 99th percentile by more than the
    /// 1st–99th percentile width (1 at least). `None` for other weightings, fewer than 10
    /// rated positives, or no such ratings.
    pub fn stretch(&self, matrix: &InteractionMatrix) -> Option<Stretch> {
        let (Value::Rating, Some((base, top))) = (self.value, self.range) else {
            return None;
        };
        let fb = matrix.feedback.as_ref()?;
        let mut ratings: Vec<f32> = fb
            .user_ratings
            .iter()
            .copied()
            .filter(|r| r.is_finite())
            .collect();
        let (lo, hi, width) = usual_ratings(&mut ratings)?;
        let n = ratings.len();
        let rows = ratings.iter().filter(|&&r| r > hi + width).count();
        if rows == 0 || top <= hi + width {
            return None;
        }
        let first = (0..matrix.n_users()).find_map(|u| {
            let at = span(&matrix.by_user, u);
            let (items, ratings) = (&matrix.by_user.cols[at.clone()], &fb.user_ratings[at]);
            let k = ratings.iter().position(|&r| r > hi + width)?;
            Some((u as u32, items[k]))
        })?;
        Some(Stretch {
            base,
            top,
            rows,
            rated: n,
            usual: (lo, hi),
            first,
        })
    }

    /// Whether every positive weighs 1 whatever its feedback.
    pub fn is_binary(&self) -> bool {
        match self.value {
            Value::Binary => true,
            Value::Rating => self.range.is_none(),
            Value::Count => false,
        }
    }
}

/// Where nearly all of `ratings` sit, sorting them in place: the values one percent in from
/// each end (at least one rating in) and the spread beyond which a rating is far from them
/// (their distance, at least 1): `(low, high, spread)`. `None` below 10 ratings, too few to tell.
/// The import's outlier note and the stretched-scale note at training time share it.
pub fn usual_ratings(ratings: &mut [f32]) -> Option<(f32, f32, f32)> {
    if ratings.len() < 10 {
        return None;
    }
    ratings.sort_by(f32::total_cmp);
    let n = ratings.len();
    let k = (n / 100).max(1);
    let (lo, hi) = (ratings[k], ratings[n - 1 - k]);
    Some((lo, hi, (hi - lo).max(1.0)))
}

/// A rating weighting's top set by a few far ratings ([`Weighting::stretch`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stretch {
    /// The weighting's bottom (0 unless ratings go below it).
    pub base: f32,
    /// The weighting's top: the highest rating.
    pub top: f32,
    /// Rated positives far above where nearly all ratings sit.
    pub rows: usize,
    /// Rated positives.
    pub rated: usize,
    /// Where nearly all ratings sit: the 1st and 99th percentile.
    pub usual: (f32, f32),
    /// The first far positive: dense (user, item) ids.
    pub first: (u32, u32),
}

impl Stretch {
    /// The weight of a rating at the usual top (`usual.1`), which the usual top would weigh 1.
    pub fn usual_weight(&self) -> f32 {
        ((self.usual.1 - self.base) / (self.top - self.base)).clamp(0.0, 1.0)
    }
}

impl InteractionMatrix {
    /// Builds from parsed rows; every row is a positive. Ids get dense numbers in first-seen order.
    pub fn from_rows(rows: &[RawInteraction], confidence: Confidence) -> Result<Self, TooManyIds> {
        let mut users = IdMap::new();
        let mut items = IdMap::new();
        let mut triples = Vec::with_capacity(rows.len());
        for r in rows {
            let u = users
                .intern(&r.user)
                .map_err(|_| TooManyIds { what: "user" })?;
            let i = items
                .intern(&r.item)
                .map_err(|_| TooManyIds { what: "item" })?;
            let v = match confidence {
                Confidence::Binary => 1.0,
                Confidence::Counts => r.count as f32,
            };
            triples.push((u, i, v));
        }
        let mut m = Self::from_triples(users, items, triples);
        if confidence == Confidence::Binary {
            // Repeated rows were summed while building; binary feedback caps them back to 1.
            m.by_user
                .vals
                .iter_mut()
                .chain(m.by_item.vals.iter_mut())
                .for_each(|v| *v = 1.0);
        }
        Ok(m)
    }

    /// Builds from pairs of (external user, external item), each a positive of confidence 1.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, TooManyIds> {
        let rows: Vec<RawInteraction> = pairs
            .into_iter()
            .map(|(u, i)| RawInteraction {
                user: u.to_owned(),
                item: i.to_owned(),
                rating: None,
                timestamp: None,
                count: 1,
                stamps: Vec::new(),
            })
            .collect();
        Self::from_rows(&rows, Confidence::Binary)
    }

    /// Builds from dense ids already assigned elsewhere (e.g. the store's dictionaries); repeated
    /// cells add up. Every id in `entries` must be below the dictionaries' lengths.
    pub fn from_ids(
        users: IdMap,
        items: IdMap,
        entries: &[(UserId, ItemId, f32)],
    ) -> Result<Self, IdOutOfRange> {
        for &(u, i, _) in entries {
            if u.index() >= users.len() || i.index() >= items.len() {
                return Err(IdOutOfRange { user: u, item: i });
            }
        }
        let triples = entries.iter().map(|&(u, i, v)| (u.0, i.0, v)).collect();
        Ok(Self::from_triples(users, items, triples))
    }

    fn from_triples(users: IdMap, items: IdMap, triples: Vec<(u32, u32, f32)>) -> Self {
        let by_user = Csr::build(users.len(), triples);
        let by_item = by_user.transpose(items.len());
        Self {
            users,
            items,
            by_user,
            by_item,
            feedback: None,
        }
    }

    /// The matrix with each pair's stored feedback: `stored[k]` is the rating (NaN: none) and
    /// count of `entries[k]` as given to [`InteractionMatrix::from_ids`] (a pair given twice
    /// keeps its last).
    pub fn with_feedback(
        mut self,
        entries: &[(UserId, ItemId)],
        stored: &[PairFeedback],
    ) -> Result<Self, IdOutOfRange> {
        let n = self.nnz();
        let mut fb = Feedback {
            user_ratings: vec![f32::NAN; n],
            user_counts: vec![1; n],
            item_ratings: vec![f32::NAN; n],
            rated: 0,
        };
        let at = |csr: &Csr, r: u32, c: u32| {
            let (a, b) = (*csr.ptr.get(r as usize)?, *csr.ptr.get(r as usize + 1)?);
            csr.cols[a..b].binary_search(&c).ok().map(|k| a + k)
        };
        for (&(u, i), s) in entries.iter().zip(stored) {
            let (Some(ku), Some(ki)) = (at(&self.by_user, u.0, i.0), at(&self.by_item, i.0, u.0))
            else {
                return Err(IdOutOfRange { user: u, item: i });
            };
            let r = s.rating.filter(|r| r.is_finite()).unwrap_or(f32::NAN);
            fb.user_ratings[ku] = r;
            fb.item_ratings[ki] = r;
            fb.user_counts[ku] = s.count;
        }
        fb.rated = fb.user_ratings.iter().filter(|r| !r.is_nan()).count();
        self.feedback = Some(fb);
        Ok(self)
    }

    /// How many positives carry a rating.
    pub fn rated(&self) -> usize {
        self.feedback.as_ref().map_or(0, |f| f.rated)
    }

    /// The user's stored ratings, aligned with [`InteractionMatrix::user_row`]'s items (NaN: the
    /// pair has none; empty when the matrix carries no feedback).
    pub fn user_ratings(&self, user: UserId) -> &[f32] {
        match &self.feedback {
            Some(f) => &f.user_ratings[span(&self.by_user, user.index())],
            None => &[],
        }
    }

    /// The item's stored ratings, aligned with [`InteractionMatrix::item_row`]'s users.
    pub fn item_ratings(&self, item: ItemId) -> &[f32] {
        match &self.feedback {
            Some(f) => &f.item_ratings[span(&self.by_item, item.index())],
            None => &[],
        }
    }

    /// The user's stored counts, aligned with [`InteractionMatrix::user_row`]'s items (empty
    /// when the matrix carries no feedback).
    pub fn user_counts(&self, user: UserId) -> &[u32] {
        match &self.feedback {
            Some(f) => &f.user_counts[span(&self.by_user, user.index())],
            None => &[],
        }
    }

    /// The same positives with confidence values weighed by `weighting` from their stored
    /// feedback (the feedback kept): what a learner weighting confidence `1 + α·r` by counts or
    /// ratings trains on. Without stored feedback every value is 1.
    pub fn weighted(&self, weighting: &Weighting) -> Self {
        let mut out = self.clone();
        let Some(fb) = &self.feedback else {
            out.by_user
                .vals
                .iter_mut()
                .chain(out.by_item.vals.iter_mut())
                .for_each(|v| *v = 1.0);
            return out;
        };
        for (k, v) in out.by_user.vals.iter_mut().enumerate() {
            *v = weighting.weight(fb.user_ratings[k], fb.user_counts[k]);
        }
        // The by-item array holds the same entries transposed: find each one's by-user twin.
        for i in 0..self.n_items() {
            for k in self.by_item.ptr[i]..self.by_item.ptr[i + 1] {
                let u = self.by_item.cols[k] as usize;
                let (a, b) = (self.by_user.ptr[u], self.by_user.ptr[u + 1]);
                if let Ok(j) = self.by_user.cols[a..b].binary_search(&(i as u32)) {
                    out.by_item.vals[k] = out.by_user.vals[a + j];
                }
            }
        }
        out
    }

    /// Number of users.
    pub fn n_users(&self) -> usize {
        self.users.len()
    }

    /// Number of items.
    pub fn n_items(&self) -> usize {
        self.items.len()
    }

    /// Number of distinct (user, item) positives.
    pub fn nnz(&self) -> usize {
        self.by_user.cols.len()
    }

    /// The user dictionary.
    pub fn users(&self) -> &IdMap {
        &self.users
    }

    /// The item dictionary.
    pub fn items(&self) -> &IdMap {
        &self.items
    }

    /// The dense id of an external user id.
    pub fn user_id(&self, name: &str) -> Option<UserId> {
        self.users.get(name).map(UserId)
    }

    /// The dense id of an external item id.
    pub fn item_id(&self, name: &str) -> Option<ItemId> {
        self.items.get(name).map(ItemId)
    }

    /// The user's items (ascending dense ids) and their confidence values. Empty for unknown users.
    pub fn user_row(&self, user: UserId) -> (&[u32], &[f32]) {
        if user.index() >= self.n_users() {
            return (&[], &[]);
        }
        self.by_user.row(user.index())
    }

    /// The item's users (ascending dense ids) and their confidence values. Empty for unknown items.
    pub fn item_row(&self, item: ItemId) -> (&[u32], &[f32]) {
        if item.index() >= self.n_items() {
            return (&[], &[]);
        }
        self.by_item.row(item.index())
    }

    /// Whether the user has the item among their positives.
    pub fn contains(&self, user: UserId, item: ItemId) -> bool {
        self.user_row(user).0.binary_search(&item.0).is_ok()
    }

    /// Number of positives of each item (the popularity counts).
    pub fn item_degrees(&self) -> Vec<u32> {
        self.by_item
            .ptr
            .windows(2)
            .map(|w| (w[1] - w[0]) as u32)
            .collect()
    }

    /// The CSR arrays by user: (`ptr`, `items`, `values`), for tight loops in the trainers.
    pub(crate) fn user_csr(&self) -> (&[usize], &[u32], &[f32]) {
        (&self.by_user.ptr, &self.by_user.cols, &self.by_user.vals)
    }

    /// The CSR arrays by item: (`ptr`, `users`, `values`).
    pub(crate) fn item_csr(&self) -> (&[usize], &[u32], &[f32]) {
        (&self.by_item.ptr, &self.by_item.cols, &self.by_item.vals)
    }
}

/// The entries of row `r` of `csr` (empty for a row outside it).
fn span(csr: &Csr, r: usize) -> std::ops::Range<usize> {
    match (csr.ptr.get(r), csr.ptr.get(r + 1)) {
        (Some(&a), Some(&b)) => a..b,
        _ => 0..0,
    }
}

/// An entry of [`InteractionMatrix::from_ids`] names an id outside its dictionary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry ({user:?}, {item:?}) is outside the id dictionaries")]
pub struct IdOutOfRange {
    /// The entry's user.
    pub user: UserId,
    /// The entry's item.
    pub item: ItemId,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn raw(u: &str, i: &str, count: u32) -> RawInteraction {
        RawInteraction {
            user: u.into(),
            item: i.into(),
            rating: None,
            timestamp: None,
            count,
            stamps: Vec::new(),
        }
    }

    #[test]
    fn builds_both_directions() {
        let m = InteractionMatrix::from_pairs([("u", "b"), ("v", "a"), ("u", "a"), ("u", "b")])
            .unwrap();
        assert_eq!((m.n_users(), m.n_items(), m.nnz()), (2, 2, 3));
        let (u, b, a) = (
            m.user_id("u").unwrap(),
            m.item_id("b").unwrap(),
            m.item_id("a").unwrap(),
        );
        assert_eq!(
            m.user_row(u),
            (&[b.0, a.0][..], &[1.0, 1.0][..]),
            "binary caps a repeated pair at 1"
        );
        assert_eq!(m.item_row(a).0.len(), 2);
        assert!(m.contains(u, b) && !m.contains(m.user_id("v").unwrap(), b));
        assert_eq!(m.item_degrees(), vec![1, 2]);
        assert_eq!(m.user_row(UserId(99)).0.len(), 0);
    }

    #[test]
    fn counts_become_confidence() {
        let m = InteractionMatrix::from_rows(
            &[raw("u", "a", 3), raw("u", "a", 2), raw("u", "b", 1)],
            Confidence::Counts,
        )
        .unwrap();
        assert_eq!(m.user_row(UserId(0)).1, &[5.0, 1.0]);
        assert_eq!(m.item_row(ItemId(0)).1, &[5.0]);
    }

    #[test]
    fn feedback_is_aligned_with_both_directions_and_becomes_values_on_request() {
        let names =
            |p: &str, n: u32| IdMap::from_names((0..n).map(|k| format!("{p}{k}")).collect());
        let entries = [
            (UserId(1), ItemId(0), 1.0),
            (UserId(0), ItemId(2), 1.0),
            (UserId(0), ItemId(1), 1.0),
        ];
        let pairs: Vec<(UserId, ItemId)> = entries.iter().map(|&(u, i, _)| (u, i)).collect();
        let stored = [
            PairFeedback {
                rating: Some(4.0),
                count: 2,
            },
            PairFeedback {
                rating: None,
                count: 1,
            },
            PairFeedback {
                rating: Some(2.5),
                count: 3,
            },
        ];
        let m =
            InteractionMatrix::from_ids(names("u", 2).unwrap(), names("i", 3).unwrap(), &entries)
                .unwrap()
                .with_feedback(&pairs, &stored)
                .unwrap();
        assert_eq!(m.rated(), 2);
        // User 0's items are 1 then 2 (sorted): ratings 2.5 then none.
        assert_eq!(m.user_row(UserId(0)).0, &[1, 2]);
        assert_eq!(m.user_ratings(UserId(0))[0], 2.5);
        assert!(m.user_ratings(UserId(0))[1].is_nan());
        assert_eq!(m.user_counts(UserId(0)), &[3, 1]);
        assert_eq!(m.item_ratings(ItemId(0)), &[4.0]);
        assert_eq!(
            m.user_row(UserId(0)).1,
            &[1.0, 1.0],
            "confidence stays binary"
        );
        // Ratings 2.5 and 4 (no scale declared): r/4; the unrated pair weighs 1.
        let rating = Weighting::resolve(Value::Rating, &m, None);
        assert_eq!(rating.range, Some((0.0, 4.0)));
        let by_rating = m.weighted(&rating);
        assert_eq!(by_rating.user_row(UserId(0)).1, &[0.625, 1.0]);
        assert_eq!(by_rating.item_row(ItemId(1)).1, &[0.625]);
        assert_eq!(by_rating.item_row(ItemId(0)).1, &[1.0]);
        // A declared 0-10 scale: r/10.
        let declared = Weighting::resolve(Value::Rating, &m, RatingScale::new(0.0, 10.0));
        assert_eq!(m.weighted(&declared).user_row(UserId(0)).1, &[0.25, 1.0]);
        let by_count = m.weighted(&Weighting::resolve(Value::Count, &m, None));
        assert_eq!(by_count.user_row(UserId(1)).1, &[3f32.log2()]);
        assert_eq!(by_count.item_row(ItemId(0)).1, &[3f32.log2()]);
        assert_eq!(by_count.user_row(UserId(0)).1, &[2.0, 1.0]);
        assert_eq!(m.weighted(&Weighting::default()), m);
        // A pair outside the matrix is refused.
        let plain =
            InteractionMatrix::from_ids(names("u", 2).unwrap(), names("i", 3).unwrap(), &entries)
                .unwrap();
        assert!(
            plain
                .with_feedback(&[(UserId(1), ItemId(2))], &stored[..1])
                .is_err()
        );
    }

    #[test]
    fn confidence_weights_give_a_plain_positive_one() {
        let rating = |range| Weighting {
            value: Value::Rating,
            range,
        };
        // A 1-5 scale: r/5, so the top rating weighs as a binary positive.
        let five = rating(Some((0.0, 5.0)));
        assert_eq!(five.weight(5.0, 1), 1.0);
        assert_eq!(five.weight(1.0, 1), 0.2);
        assert_eq!(five.weight(f32::NAN, 7), 1.0, "no rating: a plain positive");
        assert_eq!(five.weight(6.0, 1), 1.0, "clipped to the scale");
        // 0-100 points: the same shares as 0-5 stars.
        assert_eq!(rating(Some((0.0, 100.0))).weight(60.0, 1), 0.6);
        // A scale reaching below 0 counts from its bottom.
        let signed = rating(Some((-10.0, 10.0)));
        assert_eq!(signed.weight(-10.0, 1), 0.0);
        assert_eq!(signed.weight(0.0, 1), 0.5);
        // One rating value: binary, whatever the value.
        assert!(rating(None).is_binary());
        assert_eq!(rating(None).weight(3.0, 4), 1.0);
        // Counts: log2(1 + n), 1 for a single occurrence.
        let count = Weighting {
            value: Value::Count,
            range: None,
        };
        assert_eq!(count.weight(f32::NAN, 1), 1.0);
        assert_eq!(count.weight(2.0, 7), 3.0);
        assert!(!count.is_binary() && Weighting::default().is_binary());
        assert_eq!(Weighting::default().weight(1.0, 9), 1.0);
        for name in Value::NAMES {
            assert_eq!(Value::parse(name).map(Value::name), Some(name));
        }
        assert_eq!(Value::parse("stars"), None);
    }

    #[test]
    fn one_rating_value_weighs_as_binary() {
        let names =
            |p: &str, n: u32| IdMap::from_names((0..n).map(|k| format!("{p}{k}")).collect());
        let entries = [(UserId(0), ItemId(0), 1.0), (UserId(1), ItemId(1), 1.0)];
        let pairs: Vec<(UserId, ItemId)> = entries.iter().map(|&(u, i, _)| (u, i)).collect();
        let clicks = [PairFeedback {
            rating: Some(1.0),
            count: 1,
        }; 2];
        let m =
            InteractionMatrix::from_ids(names("u", 2).unwrap(), names("i", 2).unwrap(), &entries)
                .unwrap()
                .with_feedback(&pairs, &clicks)
                .unwrap();
        // Even against a declared 1-5 scale, one value says nothing about preference.
        for declared in [None, RatingScale::new(1.0, 5.0)] {
            let w = Weighting::resolve(Value::Rating, &m, declared);
            assert!(w.is_binary(), "{w:?}");
            assert_eq!(m.weighted(&w), m);
        }
        // A matrix without stored feedback weighs 1 everywhere.
        let plain =
            InteractionMatrix::from_ids(names("u", 2).unwrap(), names("i", 2).unwrap(), &entries)
                .unwrap();
        assert!(Weighting::resolve(Value::Rating, &plain, None).is_binary());
    }

    #[test]
    fn from_ids_checks_ranges() {
        let mut users = IdMap::new();
        users.intern("x").unwrap();
        let mut items = IdMap::new();
        items.intern("y").unwrap();
        assert!(
            InteractionMatrix::from_ids(
                users.clone(),
                items.clone(),
                &[(UserId(0), ItemId(1), 1.0)]
            )
            .is_err()
        );
        let m = InteractionMatrix::from_ids(users, items, &[(UserId(0), ItemId(0), 2.0)]).unwrap();
        assert_eq!(m.user_row(UserId(0)).1, &[2.0]);
    }

    proptest! {
        #[test]
        fn dictionary_round_trips(names in prop::collection::vec("\\PC{0,8}", 0..50)) {
            let mut map = IdMap::new();
            let ids: Vec<u32> = names.iter().map(|n| map.intern(n).unwrap()).collect();
            for (n, id) in names.iter().zip(&ids) {
                prop_assert_eq!(map.name(*id), Some(n.as_str()));
                prop_assert_eq!(map.get(n), Some(*id));
            }
            let distinct: std::collections::HashSet<_> = names.iter().collect();
            prop_assert_eq!(map.len(), distinct.len());
            prop_assert!(ids.iter().all(|&id| (id as usize) < map.len()));
            prop_assert_eq!(&IdMap::from_names(map.names().to_vec()).unwrap(), &map);
            if let Some(first) = map.names().first() {
                let mut dup = map.names().to_vec();
                dup.push(first.clone());
                prop_assert!(IdMap::from_names(dup).is_err());
            }
        }

        #[test]
        fn csr_by_item_is_the_transpose(pairs in prop::collection::vec((0u8..6, 0u8..6), 1..60)) {
            let names: Vec<(String, String)> = pairs.iter().map(|(u, i)| (u.to_string(), i.to_string())).collect();
            let m = InteractionMatrix::from_pairs(names.iter().map(|(u, i)| (u.as_str(), i.as_str()))).unwrap();
            let mut by_user = Vec::new();
            for u in 0..m.n_users() as u32 {
                let (items, _) = m.user_row(UserId(u));
                prop_assert!(items.windows(2).all(|w| w[0] < w[1]));
                by_user.extend(items.iter().map(|&i| (u, i)));
            }
            let mut by_item = Vec::new();
            for i in 0..m.n_items() as u32 {
                by_item.extend(m.item_row(ItemId(i)).0.iter().map(|&u| (u, i)));
            }
            by_item.sort_unstable();
            prop_assert_eq!(&by_user, &by_item);
            for (u, i) in &names {
                prop_assert!(m.contains(m.user_id(u).unwrap(), m.item_id(i).unwrap()));
            }
        }
    }
}
