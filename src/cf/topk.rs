//! Exact top-K over the whole catalogue, never returning an item of the user's training positives,
//! and the writer of the contract's batch file. Dot-product models are scored a block of users at a
//! time with one matrix product (`ndarray::dot`), other models through `score_items`; blocks run in
//! parallel. Selection is a partial sort (`select_nth_unstable_by`), O(m) per user plus O(K log K).

use std::cmp::Ordering;
use std::io::{self, Write};

use ndarray::{Array2, Axis};
use rayon::prelude::*;

use super::{InteractionMatrix, Recommender};
use crate::ids::{ItemId, UserId};

/// Users scored per matrix product: large enough for the product to be efficient, small enough
/// that a block's score matrix (`BLOCK × n_items` floats) stays modest.
const BLOCK: usize = 256;

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

/// Best first; ties go to the smaller item id so lists are reproducible. NaN ranks last.
fn better(a: &Scored, b: &Scored) -> Ordering {
    let key = |s: f32| if s.is_nan() { f32::NEG_INFINITY } else { s };
    key(b.score)
        .total_cmp(&key(a.score))
        .then(a.item.cmp(&b.item))
}

/// The `k` best of `scores` (indexed by item), skipping the sorted item ids in `exclude`.
/// `buf` is scratch space reused across calls.
pub fn top_k(scores: &[f32], k: usize, exclude: &[u32], buf: &mut Vec<Scored>) -> Vec<Scored> {
    buf.clear();
    let mut skip = exclude.iter().peekable();
    for (i, &score) in scores.iter().enumerate() {
        let i = i as u32;
        while skip.next_if(|&&e| e < i).is_some() {}
        if skip.next_if_eq(&&i).is_some() {
            continue;
        }
        buf.push(Scored {
            item: ItemId(i),
            score,
        });
    }
    select(buf, k)
}

/// The `k` best of `scores` among the sorted item ids `among` (ids beyond `scores` are
/// skipped), skipping the sorted item ids in `exclude`: a filtered list costs a pass over the
/// candidates, not over the catalogue.
pub fn top_k_among(
    scores: &[f32],
    k: usize,
    among: &[u32],
    exclude: &[u32],
    buf: &mut Vec<Scored>,
) -> Vec<Scored> {
    buf.clear();
    let mut skip = exclude.iter().peekable();
    for &i in among {
        let Some(&score) = scores.get(i as usize) else {
            break;
        };
        while skip.next_if(|&&e| e < i).is_some() {}
        if skip.peek() == Some(&&i) {
            continue;
        }
        buf.push(Scored {
            item: ItemId(i),
            score,
        });
    }
    select(buf, k)
}

/// The `k` best of `buf`, best first.
pub(crate) fn select(buf: &mut Vec<Scored>, k: usize) -> Vec<Scored> {
    if k == 0 {
        return Vec::new();
    }
    if buf.len() > k {
        buf.select_nth_unstable_by(k - 1, better);
        buf.truncate(k);
    }
    buf.sort_unstable_by(better);
    buf.clone()
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
    top_k(&scores, k, train.user_row(user).0, &mut Vec::new())
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
    let n_items = model.n_items();
    users
        .par_chunks(BLOCK)
        .flat_map_iter(|block| {
            let mut buf = Vec::with_capacity(n_items);
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
                        Some(s) => top_k(s, k, skip, &mut buf),
                        None => top_k(&row.to_vec(), k, skip, &mut buf),
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect()
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
fn block_scores(model: &dyn Recommender, block: &[UserId]) -> Array2<f32> {
    let n_items = model.n_items();
    if let Some(f) = model.factors() {
        let dims = f.items.ncols();
        let mut user_rows = Array2::<f32>::zeros((block.len(), dims));
        for (mut row, &u) in user_rows.outer_iter_mut().zip(block) {
            // A user beyond the model's table keeps the zero row: only the bias ranks them.
            if u.index() < f.users.nrows() {
                row.assign(&f.users.row(u.index()));
            }
        }
        let mut scores = user_rows.dot(&f.items.t());
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
    let cold = top_k(popularity.counts(), k, &[], &mut Vec::new());
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
        let mut buf = Vec::new();
        assert_eq!(items(&top_k(&scores, 3, &[], &mut buf)), [1, 3, 4]);
        assert_eq!(items(&top_k(&scores, 3, &[1, 4], &mut buf)), [3, 0, 5]);
        assert_eq!(
            items(&top_k(&scores, 10, &[0, 1, 3, 4, 5], &mut buf)),
            [2],
            "NaN ranks last but still ranks"
        );
        assert!(top_k(&scores, 0, &[], &mut buf).is_empty());
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

    proptest! {
        #[test]
        fn top_k_equals_full_sort(scores in prop::collection::vec(-5i32..5, 1..60), k in 0usize..20, ex in prop::collection::btree_set(0u32..60, 0..10)) {
            let scores: Vec<f32> = scores.into_iter().map(|s| s as f32).collect();
            let exclude: Vec<u32> = ex.into_iter().collect();
            let mut all: Vec<Scored> = scores.iter().enumerate()
                .filter(|(i, _)| !exclude.contains(&(*i as u32)))
                .map(|(i, &score)| Scored { item: ItemId(i as u32), score }).collect();
            all.sort_by(better);
            all.truncate(k);
            prop_assert_eq!(top_k(&scores, k, &exclude, &mut Vec::new()), all);
        }

        #[test]
        fn top_k_among_equals_top_k_over_the_candidates(scores in prop::collection::vec(-5i32..5, 1..60), k in 0usize..20, among in prop::collection::btree_set(0u32..70, 0..30), ex in prop::collection::btree_set(0u32..60, 0..10)) {
            let scores: Vec<f32> = scores.into_iter().map(|s| s as f32).collect();
            let among: Vec<u32> = among.into_iter().collect();
            let exclude: Vec<u32> = ex.into_iter().collect();
            // Everything outside the candidates excluded, through the unfiltered path.
            let outside: Vec<u32> = (0..scores.len() as u32)
                .filter(|i| !among.contains(i) || exclude.contains(i))
                .collect();
            prop_assert_eq!(
                top_k_among(&scores, k, &among, &exclude, &mut Vec::new()),
                top_k(&scores, k, &outside, &mut Vec::new())
            );
        }
    }
}
