//! Exact top-K over the whole catalogue, never returning an item of the user's training positives,
//! and the writer of the contract's batch file. Dot-product models are scored a block of users at a
//! time with one matrix product (`ndarray::dot`), other models through `score_items`; blocks run in
//! parallel. Selection keeps the K best in a heap whose worst turns most items away with one
//! comparison: O(m) per user plus O(accepted · log K).

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io::{self, Write};

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, Axis, s};
use rayon::prelude::*;

use super::{InteractionMatrix, Recommender};
use crate::ids::{ItemId, UserId};

/// Users scored per matrix product by models without factors: large enough for the product to
/// be efficient, small enough that a block's score matrix (`BLOCK × n_items` floats) stays
/// modest.
const BLOCK: usize = 256;

/// Users of a dot-product model scored together ([`factor_block`]): the item factors are
/// packed for the product once per block, so the larger the block, the less packing.
const FACTOR_BLOCK: usize = 1024;

/// Items per product of [`factor_block`] (`matrixmultiply`'s panel of columns): a block's
/// scores are kept `FACTOR_BLOCK × ITEM_TILE` at a time (4 MB), and each user's top K is fed
/// tile by tile while the tile is in cache.
const ITEM_TILE: usize = 1024;

/// One recommended item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// The item.
    pub item: ItemId,
    /// Its model score.
    pub score: f32,
}

/// Relative tolerance under which two scores tie ([`scores_tie`]): about eight f32 steps, so
/// the rounding noise of summing the same terms in another order (`3.2611003` against
/// `3.2610998`) ties, while any difference the model means does not.
pub const TIE_TOLERANCE: f32 = 1e-6;

/// Whether two list scores tie: `|a − b| ≤ 1e-6 · max(|a|, |b|)` ([`TIE_TOLERANCE`]). The one
/// rule of every tie note (CLI text and JSON, HTTP, the batch file's note), whatever precision
/// the output prints: scores that differ by float rounding only are tied, since their order
/// among themselves is noise, not the model's.
pub fn scores_tie(a: f32, b: f32) -> bool {
    a == b || (a - b).abs() <= TIE_TOLERANCE * a.abs().max(b.abs())
}

/// A score as lists rank it: NaN as −∞ (last).
#[inline]
fn rank_key(s: f32) -> f32 {
    if s.is_nan() { f32::NEG_INFINITY } else { s }
}

/// Best first; ties go to the smaller item id so lists are reproducible. NaN ranks last.
fn better(a: &Scored, b: &Scored) -> Ordering {
    rank_key(b.score)
        .total_cmp(&rank_key(a.score))
        .then(a.item.cmp(&b.item))
}

/// The `k` best of `scores` (indexed by item), skipping the sorted item ids in `exclude`.
pub fn top_k(scores: &[f32], k: usize, exclude: &[u32]) -> Vec<Scored> {
    let mut best = Best::new(k);
    offer_excluding(&mut best, scores, 0, exclude);
    best.into_sorted()
}

/// Offers the items `offset, offset + 1, …` with `scores` to `best`, skipping the sorted item
/// ids in `exclude` (ids outside the range are ignored): the runs of items between excluded
/// ids, each scanned in one tight loop.
fn offer_excluding(best: &mut Best, scores: &[f32], offset: usize, exclude: &[u32]) {
    let stop = offset + scores.len();
    let first = exclude.partition_point(|&e| (e as usize) < offset);
    let mut start = offset;
    for &e in exclude[first..].iter().chain(std::iter::once(&u32::MAX)) {
        let end = (e as usize).min(stop);
        if end > start {
            best.offer_run(start as u32, &scores[start - offset..end - offset]);
        }
        start = start.max(end.saturating_add(1));
        if start >= stop {
            break;
        }
    }
}

/// The `k` best of `scores` among the sorted item ids `among` (ids beyond `scores` are
/// skipped), skipping the sorted item ids in `exclude`: a filtered list costs a pass over the
/// candidates, not over the catalogue.
pub fn top_k_among(scores: &[f32], k: usize, among: &[u32], exclude: &[u32]) -> Vec<Scored> {
    let mut best = Best::new(k);
    let mut skip = exclude.iter().peekable();
    for &i in among {
        let Some(&score) = scores.get(i as usize) else {
            break;
        };
        while skip.next_if(|&&e| e < i).is_some() {}
        if skip.peek() == Some(&&i) {
            continue;
        }
        best.offer(i, score);
    }
    best.into_sorted()
}

/// The `k` best of `buf` in any order of ids (the approximate index's candidates), best first,
/// ranked as [`top_k`] ranks.
pub(crate) fn select(buf: &mut Vec<Scored>, k: usize) -> Vec<Scored> {
    if k == 0 {
        return Vec::new();
    }
    if buf.len() > k {
        buf.select_nth_unstable_by(k - 1, better);
        buf.truncate(k);
    }
    buf.sort_unstable_by(better);
    std::mem::take(buf)
}

/// A [`Scored`] ordered by [`better`] turned around, so a max-heap keeps the worst on top.
#[derive(Debug, Clone, Copy)]
struct Worst(Scored);

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Worst {}

impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        better(&self.0, &other.0)
    }
}

/// The `k` best items offered so far, the worst of them at the top of a heap. Items must be
/// offered in increasing id order: then a score not above the worst kept one loses (a tie goes
/// to the smaller id, already kept), so most of a catalogue is turned away by one integer
/// comparison against `floor` and a pass costs O(m + accepted · log k), not a partial sort of m.
struct Best {
    heap: BinaryHeap<Worst>,
    k: usize,
    /// [`order_key`] of the worst item kept once `k` are kept; below that, nothing is refused.
    floor: i32,
    /// Once `k` are kept, a float that every score the heap would take is above (the worst
    /// kept score, a hair below it at ±0): a run of scores none of which is above it is
    /// turned away with one vectorised comparison ([`Best::offer_run`]).
    bar: Option<f32>,
}

/// Scores [`Best::offer_run`] turns away together when none is above the bar.
const CHUNK: usize = 16;

/// A score as an integer in the order lists rank by ([`better`]: NaN as −∞, then
/// `f32::total_cmp`, so −0 ranks below 0): the bits of a negative float are flipped.
#[inline(always)]
fn order_key(score: f32) -> i32 {
    let bits = rank_key(score).to_bits() as i32;
    bits ^ ((((bits >> 31) as u32) >> 1) as i32)
}

impl Best {
    fn new(k: usize) -> Self {
        Best {
            heap: BinaryHeap::with_capacity(k.saturating_add(1).min(1 << 16)),
            k,
            // No float maps to i32::MIN (that would be a NaN's bits) and every key is ≤ MAX.
            floor: if k == 0 { i32::MAX } else { i32::MIN },
            bar: None,
        }
    }

    #[inline(always)]
    fn offer(&mut self, item: u32, score: f32) {
        if order_key(score) <= self.floor {
            return;
        }
        let cand = Worst(Scored {
            item: ItemId(item),
            score,
        });
        if self.heap.len() < self.k {
            self.heap.push(cand);
            if self.heap.len() < self.k {
                return;
            }
        } else if let Some(mut worst) = self.heap.peek_mut() {
            *worst = cand;
        }
        if let Some(worst) = self.heap.peek() {
            self.floor = order_key(worst.0.score);
            // A score the heap takes ranks above the worst: as a float, it is above the
            // worst's value, or (the worst at ±0) at least +0 or −0.
            let worst = rank_key(worst.0.score);
            self.bar = Some(if worst == 0.0 {
                -f32::MIN_POSITIVE
            } else {
                worst
            });
        }
    }

    /// Offers the items `first, first + 1, …` with the scores of `run`: [`CHUNK`] at a time,
    /// a chunk with no score above [`Best::bar`] turned away by one comparison of all of it.
    #[inline]
    fn offer_run(&mut self, first: u32, run: &[f32]) {
        let mut chunks = run.chunks_exact(CHUNK);
        let mut id = first;
        for chunk in &mut chunks {
            let above = |bar: f32| chunk.iter().fold(false, |a, &s| a | (s > bar));
            if self.bar.is_none_or(above) {
                self.offer_each(id, chunk);
            }
            id = id.wrapping_add(CHUNK as u32);
        }
        self.offer_each(id, chunks.remainder());
    }

    /// Offers the items `first, first + 1, …` with the scores of `run`, one at a time.
    #[inline]
    fn offer_each(&mut self, first: u32, run: &[f32]) {
        for (i, &score) in (first..).zip(run) {
            self.offer(i, score);
        }
    }

    /// Best first.
    fn into_sorted(self) -> Vec<Scored> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|w| w.0)
            .collect()
    }
}

/// The top `k` items for one user, excluding the user's positives in `train`.
pub fn recommend_user(
    model: &dyn Recommender,
    train: &InteractionMatrix,
    user: UserId,
    k: usize,
) -> Vec<Scored> {
    let mut scores = vec![0.0f32; model.n_items()];
    model.score_items(user, &mut scores);
    top_k(&scores, k, train.user_row(user).0)
}

/// The top `k` items for each of `users` (same order), excluding each user's positives in `train`
/// and the sorted dense ids `exclude` (items no user may get).
pub fn recommend_all(
    model: &dyn Recommender,
    train: &InteractionMatrix,
    users: &[UserId],
    k: usize,
    exclude: &[u32],
) -> Vec<Vec<Scored>> {
    if let Some(f) = dot_product(model) {
        return users
            .par_chunks(FACTOR_BLOCK)
            .flat_map_iter(|block| factor_block(f, train, block, k, exclude))
            .collect();
    }
    users
        .par_chunks(BLOCK)
        .flat_map_iter(|block| {
            let mut merged = Vec::new();
            let scores = block_scores(model, block);
            block
                .iter()
                .zip(scores.axis_iter(Axis(0)))
                .map(|(&u, row)| {
                    let own = train.user_row(u).0;
                    let skip = if exclude.is_empty() {
                        own
                    } else {
                        merge_sorted(own, exclude, &mut merged);
                        &merged
                    };
                    match row.as_slice() {
                        Some(s) => top_k(s, k, skip),
                        None => top_k(&row.to_vec(), k, skip),
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// [`recommend_all`]'s lists for a block of users of a dot-product model: the block's scores
/// are computed [`ITEM_TILE`] items at a time (the same products, so the same bits, as
/// [`user_scores`]), each user's K best kept across the tiles.
fn factor_block(
    f: super::FactorView<'_>,
    train: &InteractionMatrix,
    block: &[UserId],
    k: usize,
    exclude: &[u32],
) -> Vec<Vec<Scored>> {
    let n_items = f.items.nrows();
    let user_rows = user_rows(f, block);
    let mut merged: Vec<Vec<u32>> = Vec::new();
    if !exclude.is_empty() {
        merged = block
            .iter()
            .map(|&u| {
                let mut out = Vec::new();
                merge_sorted(train.user_row(u).0, exclude, &mut out);
                out
            })
            .collect();
    }
    let skip = |j: usize, u: UserId| match merged.get(j) {
        Some(m) => m.as_slice(),
        None => train.user_row(u).0,
    };
    let mut best: Vec<Best> = block.iter().map(|_| Best::new(k)).collect();
    let mut tile = Array2::<f32>::zeros((block.len(), ITEM_TILE.min(n_items)));
    for start in (0..n_items).step_by(ITEM_TILE) {
        let end = (start + ITEM_TILE).min(n_items);
        let items = f.items.slice(s![start..end, ..]);
        let mut scores = tile.slice_mut(s![.., ..end - start]);
        general_mat_mul(1.0, &user_rows, &items.t(), 0.0, &mut scores);
        if let Some(bias) = f.item_bias {
            scores += &bias.slice(s![start..end]);
        }
        for (j, (row, &u)) in scores.outer_iter().zip(block).enumerate() {
            let skip = skip(j, u);
            match row.as_slice() {
                Some(s) => offer_excluding(&mut best[j], s, start, skip),
                None => offer_excluding(&mut best[j], &row.to_vec(), start, skip),
            }
        }
    }
    best.into_iter().map(Best::into_sorted).collect()
}

/// The users' factor rows, one per user of `block`; a user beyond the model's table keeps a
/// zero row (only the bias ranks them).
fn user_rows(f: super::FactorView<'_>, block: &[UserId]) -> Array2<f32> {
    let mut rows = Array2::<f32>::zeros((block.len(), f.items.ncols()));
    for (mut row, &u) in rows.outer_iter_mut().zip(block) {
        if u.index() < f.users.nrows() {
            row.assign(&f.users.row(u.index()));
        }
    }
    rows
}

/// `a` and `b`, sorted and distinct, into `out` (cleared first): the ids a list skips when a
/// user's own items and a request's exclusions both apply.
pub(crate) fn merge_sorted(a: &[u32], b: &[u32], out: &mut Vec<u32>) {
    out.clear();
    out.extend_from_slice(a);
    out.extend_from_slice(b);
    out.sort_unstable();
    out.dedup();
}

/// Scores of every item for one user the model was trained with, computed as the batch path
/// computes them (so one user's list equals their line of the batch file, to the last bit).
pub fn user_scores(model: &dyn Recommender, user: UserId) -> Vec<f32> {
    block_scores(model, &[user]).row(0).to_vec()
}

/// Scores of every item for a block of users, one row per user.
/// The model's scores as a dot product of factors, when they are one: its factors, or a `cke`
/// model's without attention ([`crate::fused::Fused::dot_factors`]), so a block of users is one
/// matrix product.
fn dot_product(model: &dyn Recommender) -> Option<super::FactorView<'_>> {
    model
        .factors()
        .or_else(|| model.fused().and_then(crate::fused::Fused::dot_factors))
}

fn block_scores(model: &dyn Recommender, block: &[UserId]) -> Array2<f32> {
    let n_items = model.n_items();
    if let Some(f) = dot_product(model) {
        let mut scores = user_rows(f, block).dot(&f.items.t());
        if let Some(bias) = f.item_bias {
            scores += &bias;
        }
        return scores;
    }
    let mut scores = Array2::<f32>::zeros((block.len(), n_items));
    for (mut row, &u) in scores.outer_iter_mut().zip(block) {
        if let Some(s) = row.as_slice_mut() {
            model.score_items(u, s);
        }
    }
    scores
}

/// One user's list with external ids, as the batch file holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecs {
    /// The external user id.
    pub user: String,
    /// (external item id, score), best first.
    pub items: Vec<(String, f32)>,
    /// The model could not score the user: the items are the most popular, their scores
    /// interaction counts.
    pub fallback: bool,
}

/// Top-K for users named by external id, in the given order: users `train` knows are scored by
/// `model` (in blocks, their training items excluded); users it does not know get `train`'s most
/// popular items (the answer for a user with no history, as the `implicit` peer gives).
pub fn recommend_named<'a>(
    model: &dyn Recommender,
    train: &InteractionMatrix,
    users: impl IntoIterator<Item = &'a str>,
    k: usize,
) -> Vec<UserRecs> {
    let users: Vec<&str> = users.into_iter().collect();
    let known: Vec<UserId> = users.iter().filter_map(|u| train.user_id(u)).collect();
    let mut lists = recommend_all(model, train, &known, k, &[]).into_iter();
    let popularity = super::Popularity::fit(train);
    let cold = top_k(popularity.counts(), k, &[]);
    let name = |list: Vec<Scored>| -> Vec<(String, f32)> {
        list.into_iter()
            .filter_map(|s| {
                train
                    .items()
                    .name(s.item.0)
                    .map(|n| (n.to_owned(), s.score))
            })
            .collect()
    };
    users
        .into_iter()
        .map(|u| {
            let (list, fallback) = match train.user_id(u) {
                Some(_) => (lists.next().unwrap_or_default(), false),
                None => (cold.clone(), true),
            };
            UserRecs {
                user: u.to_owned(),
                items: name(list),
                fallback,
            }
        })
        .collect()
}

/// Writes the batch file of PRODUCT.md: header `user_id<TAB>item_id<TAB>rank<TAB>score`, then each
/// user's list, rank 1 = best.
pub fn write_batch<W: Write>(mut out: W, recs: &[UserRecs]) -> io::Result<()> {
    writeln!(out, "user_id\titem_id\trank\tscore")?;
    for r in recs {
        for (rank, (item, score)) in r.items.iter().enumerate() {
            writeln!(out, "{}\t{item}\t{}\t{score}", r.user, rank + 1)?;
        }
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::cf::{FactorModel, Popularity};
    use ndarray::{Array1, array};
    use proptest::prelude::*;

    fn items(v: &[Scored]) -> Vec<u32> {
        v.iter().map(|s| s.item.0).collect()
    }

    #[test]
    fn near_ties_within_rounding_noise_tie_and_real_gaps_do_not() {
        // The scores of the report: ease and tfidf rows that print alike.
        assert!(scores_tie(0.013_154_577, 0.013_154_576_5));
        assert!(scores_tie(3.261_100_3, 3.261_099_8));
        assert!(scores_tie(-2.5, -2.500_001));
        assert!(scores_tie(0.0, 0.0));
        assert!(
            !scores_tie(0.013_15, 0.013_18),
            "print alike at 4 places, ranked apart"
        );
        assert!(!scores_tie(1.0, 1.000_01));
        assert!(!scores_tie(0.0, 1e-30), "0 ties only 0");
        assert!(!scores_tie(f32::NAN, f32::NAN));
    }

    #[test]
    fn top_k_excludes_orders_and_breaks_ties() {
        let scores = [0.5, 3.0, f32::NAN, 3.0, 1.0, -1.0];
        assert_eq!(items(&top_k(&scores, 3, &[])), [1, 3, 4]);
        assert_eq!(items(&top_k(&scores, 3, &[1, 4])), [3, 0, 5]);
        assert_eq!(
            items(&top_k(&scores, 10, &[0, 1, 3, 4, 5])),
            [2],
            "NaN ranks last but still ranks"
        );
        assert!(top_k(&scores, 0, &[]).is_empty());
    }

    #[test]
    fn batch_path_matches_single_user_path() {
        let m = InteractionMatrix::from_pairs([
            ("a", "x"),
            ("a", "y"),
            ("b", "y"),
            ("c", "z"),
            ("c", "w"),
        ])
        .unwrap();
        let model = FactorModel {
            users: array![[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]],
            items: array![[0.1, 0.9], [0.8, 0.2], [0.3, 0.3], [1.0, 1.0]],
            item_bias: Some(Array1::from(vec![0.0, 0.1, 0.0, -2.0])),
        };
        let users: Vec<UserId> = (0..3).map(UserId).collect();
        let all = recommend_all(&model, &m, &users, 2, &[]);
        for (&u, list) in users.iter().zip(&all) {
            assert_eq!(list, &recommend_user(&model, &m, u, 2));
            assert!(
                list.iter().all(|s| !m.contains(u, s.item)),
                "a training item leaked"
            );
        }
        assert_eq!(
            items(&all[0]),
            [2, 3],
            "user a has x,y; z scores 0.3 > w at -1"
        );
        let pop = Popularity::fit(&m);
        assert_eq!(
            items(&recommend_all(&pop, &m, &[UserId(1)], 4, &[])[0]),
            [0, 2, 3],
            "popularity: y excluded, ties by id"
        );
    }

    /// Over more users than a block and more items than a tile, with exclusions on both sides
    /// of a tile's edge, the tiled batch lists are the single-user lists to the last bit.
    #[test]
    fn tiled_batch_matches_single_user_scores_across_blocks_and_tiles() {
        let (n, m, d, k) = (FACTOR_BLOCK + 37, ITEM_TILE + 45, 5, 7);
        let model = FactorModel {
            users: Array2::from_shape_fn((n, d), |(u, c)| {
                ((u * 31 + c * 7) % 19) as f32 / 7.0 - 1.3
            }),
            items: Array2::from_shape_fn((m, d), |(i, c)| {
                ((i * 17 + c * 11) % 23) as f32 / 5.0 - 2.1
            }),
            item_bias: Some(Array1::from_shape_fn(m, |i| (i % 5) as f32 * 0.1)),
        };
        let names = |p: &str, n: usize| {
            crate::cf::IdMap::from_names((0..n).map(|k| format!("{p}{k}")).collect()).unwrap()
        };
        // Every user has the items around the first tile's edge and a few of its own.
        let entries: Vec<(UserId, ItemId, f32)> = (0..n)
            .flat_map(|u| {
                [ITEM_TILE - 1, ITEM_TILE, u % m, (u * 7) % m]
                    .map(|i| (UserId(u as u32), ItemId(i as u32), 1.0))
            })
            .collect();
        let train = InteractionMatrix::from_ids(names("u", n), names("i", m), &entries).unwrap();
        let users: Vec<UserId> = (0..n as u32).map(UserId).collect();
        let exclude = [3, ITEM_TILE as u32 - 2, ITEM_TILE as u32 + 1];
        let lists = recommend_all(&model, &train, &users, k, &exclude);
        assert_eq!(lists.len(), n);
        let mut skip = Vec::new();
        for (&u, list) in users.iter().zip(&lists) {
            merge_sorted(train.user_row(u).0, &exclude, &mut skip);
            let alone = top_k(&user_scores(&model, u), k, &skip);
            assert_eq!(bits(list), bits(&alone), "user {u:?}");
            assert_eq!(list.len(), k);
        }
    }

    #[test]
    fn names_lists_gives_cold_users_popularity_and_writes_the_batch_file() {
        let m = InteractionMatrix::from_pairs([("u 1", "é"), ("u 1", "b"), ("v", "c"), ("w", "c")])
            .unwrap();
        let pop = Popularity::fit(&m);
        let recs = recommend_named(&pop, &m, ["v", "new", "u 1"], 2);
        fn items(r: &UserRecs) -> Vec<&str> {
            r.items.iter().map(|(i, _)| i.as_str()).collect()
        }
        assert_eq!(
            recs.iter().map(|r| r.user.as_str()).collect::<Vec<_>>(),
            ["v", "new", "u 1"]
        );
        assert_eq!(
            items(&recs[0]),
            ["é", "b"],
            "v's own c is excluded; ties by dense id"
        );
        assert_eq!(
            items(&recs[1]),
            ["c", "é"],
            "an unknown user gets the most popular items"
        );
        assert_eq!(items(&recs[2]), ["c"]);
        let mut out = Vec::new();
        write_batch(&mut out, &recs[2..]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "user_id\titem_id\trank\tscore\nu 1\tc\t1\t2\n"
        );
    }

    #[test]
    fn order_key_orders_as_lists_rank() {
        let ranked = [
            f32::INFINITY,
            3.0,
            1e-30,
            0.0,
            -0.0,
            -1e-30,
            -2.0,
            f32::NEG_INFINITY,
        ];
        for w in ranked.windows(2) {
            assert!(order_key(w[0]) > order_key(w[1]), "{} above {}", w[0], w[1]);
        }
        assert_eq!(order_key(f32::NAN), order_key(f32::NEG_INFINITY));
        assert!(order_key(f32::NEG_INFINITY) > i32::MIN);
    }

    /// A list as (item, score bits): NaN equals itself, −0 differs from 0.
    fn bits(list: &[Scored]) -> Vec<(u32, u32)> {
        list.iter().map(|s| (s.item.0, s.score.to_bits())).collect()
    }

    /// A drawn small integer as a score, with the awkward floats among them.
    fn special(s: i32) -> f32 {
        match s {
            -5 => f32::NAN,
            -6 => f32::NEG_INFINITY,
            -7 => -0.0,
            s => s as f32,
        }
    }

    proptest! {
        #[test]
        fn top_k_equals_full_sort(scores in prop::collection::vec(-7i32..5, 1..150), k in 0usize..20, ex in prop::collection::btree_set(0u32..150, 0..10)) {
            // Small integers tie often; -5, -6 and -7 stand for NaN, −∞ and −0. Runs longer
            // than a chunk of `Best::offer_run` are turned away whole.
            let scores: Vec<f32> = scores.into_iter().map(special).collect();
            let exclude: Vec<u32> = ex.into_iter().collect();
            let mut all: Vec<Scored> = scores.iter().enumerate()
                .filter(|(i, _)| !exclude.contains(&(*i as u32)))
                .map(|(i, &score)| Scored { item: ItemId(i as u32), score }).collect();
            all.sort_by(better);
            all.truncate(k);
            prop_assert_eq!(bits(&top_k(&scores, k, &exclude)), bits(&all));
        }

        #[test]
        fn top_k_among_equals_top_k_over_the_candidates(scores in prop::collection::vec(-7i32..5, 1..60), k in 0usize..20, among in prop::collection::btree_set(0u32..70, 0..30), ex in prop::collection::btree_set(0u32..60, 0..10)) {
            let scores: Vec<f32> = scores.into_iter().map(special).collect();
            let among: Vec<u32> = among.into_iter().collect();
            let exclude: Vec<u32> = ex.into_iter().collect();
            // Everything outside the candidates excluded, through the unfiltered path.
            let outside: Vec<u32> = (0..scores.len() as u32)
                .filter(|i| !among.contains(i) || exclude.contains(i))
                .collect();
            prop_assert_eq!(
                bits(&top_k_among(&scores, k, &among, &exclude)),
                bits(&top_k(&scores, k, &outside))
            );
        }
    }
}
