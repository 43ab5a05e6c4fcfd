//! Top-K ranking metrics with exactly the definitions of `shared/eval/score_recs.py` (the reference
//! scorer), so in-process evaluation and the scorer agree:
//!
//! - averaged over the users with at least one test item; a user without a list scores 0;
//! - precision@K = hits / K, recall@K = hits / |test_u|;
//! - nDCG@K = DCG / IDCG with binary gains, IDCG over min(|test_u|, K) ideal hits;
//! - MAP@K = Σ precision@i at each hit i / min(|test_u|, K);
//! - hit@K = 1 if any hit, MRR@K = 1 / rank of the first hit;
//! - coverage@K = distinct items in the test users' top-K / distinct items of train ∪ test.
//!
//! Like the scorer, a list is used as given: only its first K entries count, and a repeated item
//! counts at every position (the scorer reports duplicates separately, and so does [`evaluate`]).

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

/// The metrics at one cut-off K.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AtK {
    /// The cut-off.
    pub k: usize,
    /// The per-user metrics averaged over the test users.
    pub mean: RankScores,
    /// Catalogue coverage.
    pub coverage: f64,
}

/// An evaluation of top-K lists against held-out positives.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaluation {
    /// Users with at least one test item (the denominator).
    pub users: usize,
    /// Of those, how many have a non-empty list.
    pub users_with_list: usize,
    /// The metrics per requested K, in request order.
    pub at: Vec<AtK>,
    /// Recommended items (within the largest K) that the user has in train.
    pub train_leaks: usize,
    /// Repeated items within lists.
    pub duplicates: usize,
}

impl Evaluation {
    /// The metrics at cut-off `k`, if it was requested.
    pub fn at(&self, k: usize) -> Option<&AtK> {
        self.at.iter().find(|a| a.k == k)
    }

    /// The metrics under the keys of `score_recs.py --json` (`precision@10`, `recall@10`,
    /// `ndcg@10`, `map@10`, `hit@10`, `mrr@10`, `coverage@10`, then the next cut-off), cut-offs
    /// in request order.
    pub fn named(&self) -> Vec<(String, f64)> {
        let mut out = Vec::with_capacity(7 * self.at.len());
        for at in &self.at {
            let s = at.mean;
            for (name, v) in [
                ("precision", s.precision),
                ("recall", s.recall),
                ("ndcg", s.ndcg),
                ("map", s.map),
                ("hit", s.hit),
                ("mrr", s.mrr),
                ("coverage", at.coverage),
            ] {
                out.push((format!("{name}@{}", at.k), v));
            }
        }
        out
    }

    /// The metric of key `key` of [`Evaluation::named`] (`ndcg@10`), if it was measured.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.named()
            .into_iter()
            .find_map(|(k, v)| (k == key).then_some(v))
    }
}

/// The per-user ranking metrics of one list at one K (and their means in [`AtK`]).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RankScores {
    /// hits / K.
    pub precision: f64,
    /// hits / |relevant|.
    pub recall: f64,
    /// DCG / IDCG.
    pub ndcg: f64,
    /// Average precision with denominator min(|relevant|, K).
    pub map: f64,
    /// 1 if any hit.
    pub hit: f64,
    /// 1 / rank of the first hit.
    pub mrr: f64,
}

impl RankScores {
    fn add(&mut self, o: &Self) {
        self.precision += o.precision;
        self.recall += o.recall;
        self.ndcg += o.ndcg;
        self.map += o.map;
        self.hit += o.hit;
        self.mrr += o.mrr;
    }

    fn scaled(self, f: f64) -> Self {
        Self {
            precision: self.precision * f,
            recall: self.recall * f,
            ndcg: self.ndcg * f,
            map: self.map * f,
            hit: self.hit * f,
            mrr: self.mrr * f,
        }
    }
}

/// A validation or evaluation figure to four places, as every report prints one: `failed`
/// for a trial that was discarded or never finished (stored as minus infinity), and never
/// `-0.0000`.
pub fn figure(value: f64) -> String {
    match value.is_finite() {
        // Adding +0.0 turns -0.0 (and a negative that rounds to it) into +0.0.
        true => format!("{:.4}", (value * 1e4).round() / 1e4 + 0.0),
        false => "failed".to_owned(),
    }
}

/// How a tuning's best compares with the defaults on the same validation rows:
/// `0.3120 with the defaults`, or, when the defaults' own trial failed (`value` not finite),
/// that it failed (never "failed with the defaults", which reads as the best one failing).
pub fn with_the_defaults(value: f64) -> String {
    match value.is_finite() {
        true => format!("{} with the defaults", figure(value)),
        false => "the defaults' own fit failed (it collapsed, diverged or was refused)".to_owned(),
    }
}

/// Scores one user's ranked `list` against the `relevant` set at cut-off `k` (`k > 0`, relevant non-empty).
pub fn user_scores<T: Eq + Hash>(list: &[T], relevant: &HashSet<T>, k: usize) -> RankScores {
    if k == 0 || relevant.is_empty() {
        return RankScores::default();
    }
    let hits: Vec<usize> = list
        .iter()
        .take(k)
        .enumerate()
        .filter(|(_, it)| relevant.contains(*it))
        .map(|(i, _)| i)
        .collect();
    let discount = |i: usize| 1.0 / ((i + 2) as f64).log2();
    let idcg: f64 = (0..relevant.len().min(k)).map(discount).sum();
    let n_hits = hits.len() as f64;
    RankScores {
        precision: n_hits / k as f64,
        recall: n_hits / relevant.len() as f64,
        // Without a hit 0, not the -0.0 an empty float sum is (which prints as "-0.0000").
        ndcg: match hits.is_empty() {
            true => 0.0,
            false => hits.iter().map(|&i| discount(i)).sum::<f64>() / idcg,
        },
        map: match hits.is_empty() {
            true => 0.0,
            false => {
                hits.iter()
                    .enumerate()
                    .map(|(j, &i)| (j + 1) as f64 / (i + 1) as f64)
                    .sum::<f64>()
                    / relevant.len().min(k) as f64
            }
        },
        hit: if hits.is_empty() { 0.0 } else { 1.0 },
        mrr: hits.first().map_or(0.0, |&i| 1.0 / (i + 1) as f64),
    }
}

/// Groups (user, item) pairs into each user's item set.
pub fn by_user<T: Eq + Hash>(pairs: impl IntoIterator<Item = (T, T)>) -> HashMap<T, HashSet<T>> {
    let mut out: HashMap<T, HashSet<T>> = HashMap::new();
    for (u, i) in pairs {
        out.entry(u).or_default().insert(i);
    }
    out
}

/// Evaluates ranked lists (`recs[user]`, best first) against `test` at each of `ks`; `train`, when
/// given, widens the coverage catalogue and is checked for leaks; `rankable` (the items the
/// model could put in a list, such as linked items in neither file) widens the catalogue too,
/// so coverage never exceeds 1. Users are summed in their order, so the same lists give the
/// same figures to the last bit.
pub fn evaluate<T: Eq + Hash + Ord>(
    recs: &HashMap<T, Vec<T>>,
    test: &HashMap<T, HashSet<T>>,
    train: Option<&HashMap<T, HashSet<T>>>,
    rankable: &HashSet<T>,
    ks: &[usize],
) -> Evaluation {
    let mut test_users: Vec<(&T, &HashSet<T>)> =
        test.iter().filter(|(_, rel)| !rel.is_empty()).collect();
    test_users.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let n = test_users.len();
    let mut catalog: HashSet<&T> = test.values().flatten().collect();
    if let Some(train) = train {
        catalog.extend(train.values().flatten());
    }
    catalog.extend(rankable);
    let max_k = ks.iter().copied().max().unwrap_or(0);
    let train_leaks = match train {
        Some(train) => recs
            .iter()
            .map(|(u, list)| {
                train.get(u).map_or(0, |seen| {
                    list.iter()
                        .take(max_k)
                        .filter(|i| seen.contains(*i))
                        .count()
                })
            })
            .sum(),
        None => 0,
    };
    let duplicates = recs
        .values()
        .map(|l| l.len() - l.iter().collect::<HashSet<_>>().len())
        .sum();
    let at = ks
        .iter()
        .map(|&k| {
            let mut sum = RankScores::default();
            let mut seen: HashSet<&T> = HashSet::new();
            for &(u, rel) in &test_users {
                let list = recs.get(u).map_or(&[][..], Vec::as_slice);
                seen.extend(list.iter().take(k));
                sum.add(&user_scores(list, rel, k));
            }
            AtK {
                k,
                mean: sum.scaled(if n == 0 { 0.0 } else { 1.0 / n as f64 }),
                coverage: seen.len() as f64 / catalog.len().max(1) as f64,
            }
        })
        .collect();
    let users_with_list = test_users
        .iter()
        .filter(|(u, _)| recs.get(*u).is_some_and(|l| !l.is_empty()))
        .count();
    Evaluation {
        users: n,
        users_with_list,
        at,
        train_leaks,
        duplicates,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The look read "against failed with the defaults": a failed default trial is said as
    /// such, never as a figure named "failed".
    #[test]
    fn the_defaults_clause_says_a_failed_fit_in_words() {
        assert_eq!(with_the_defaults(0.31204), "0.3120 with the defaults");
        let failed = with_the_defaults(f64::NEG_INFINITY);
        assert!(
            failed.starts_with("the defaults' own fit failed"),
            "{failed}"
        );
        assert!(!failed.contains("failed with the defaults"), "{failed}");
    }

    /// A list without a hit scores +0.0 (an empty float sum is -0.0, which printed as
    /// "-0.0000" in tune's table), and `figure` never prints a negative zero.
    #[test]
    fn a_list_without_a_hit_scores_positive_zero() {
        let s = user_scores(&["a", "b"], &set(&["c"]), 10);
        assert!(s.ndcg == 0.0 && s.ndcg.is_sign_positive(), "{}", s.ndcg);
        assert!(s.map == 0.0 && s.map.is_sign_positive(), "{}", s.map);
        assert_eq!(figure(-0.0), "0.0000");
        assert_eq!(figure(-0.00001), "0.0000");
        assert_eq!(figure(f64::NEG_INFINITY), "failed");
        assert_eq!(figure(-0.9512), "-0.9512");
        assert_eq!(figure(0.25), "0.2500");
    }

    fn set(items: &[&'static str]) -> HashSet<&'static str> {
        items.iter().copied().collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// List [a, x, b, y, z], relevant {a, b, c}: hits at positions 0 and 2.
    #[test]
    fn single_user_hand_computed() {
        let list = ["a", "x", "b", "y", "z"];
        let rel = set(&["a", "b", "c"]);
        let s = user_scores(&list, &rel, 5);
        assert!(close(s.precision, 2.0 / 5.0));
        assert!(close(s.recall, 2.0 / 3.0));
        let dcg = 1.0 + 1.0 / 4f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2() + 1.0 / 4f64.log2();
        assert!(close(s.ndcg, dcg / idcg));
        assert!(close(s.map, (1.0 + 2.0 / 3.0) / 3.0));
        assert!(close(s.hit, 1.0) && close(s.mrr, 1.0));

        // At K = 2 only "a" hits; IDCG and the MAP denominator use min(|rel|, K) = 2.
        let s = user_scores(&list, &rel, 2);
        assert!(close(s.precision, 0.5));
        assert!(close(s.ndcg, 1.0 / (1.0 + 1.0 / 3f64.log2())));
        assert!(close(s.map, 1.0 / 2.0));

        // First hit at rank 3.
        let s = user_scores(&["x", "y", "b"], &rel, 3);
        assert!(close(s.mrr, 1.0 / 3.0) && close(s.map, (1.0 / 3.0) / 3.0));
        assert!(close(s.ndcg, 0.5 / (1.0 + 1.0 / 3f64.log2() + 0.5)));

        // A single relevant item found first is perfect.
        let s = user_scores(&["c", "x"], &set(&["c"]), 2);
        assert!(
            close(s.ndcg, 1.0)
                && close(s.map, 1.0)
                && close(s.recall, 1.0)
                && close(s.precision, 0.5)
        );
    }

    #[test]
    fn averages_over_test_users_and_counts_missing_lists_as_zero() {
        let test = HashMap::from([("u", set(&["a"])), ("v", set(&["b", "c"])), ("w", set(&[]))]);
        let train = HashMap::from([("u", set(&["d"])), ("v", set(&["e"]))]);
        let recs = HashMap::from([("u", vec!["a", "d", "a"]), ("x", vec!["q"])]);
        let e = evaluate(&recs, &test, Some(&train), &HashSet::new(), &[1, 2]);
        assert_eq!(
            (e.users, e.users_with_list),
            (2, 1),
            "w has no test item; v has no list"
        );
        let at1 = e.at(1).unwrap();
        assert!(
            close(at1.mean.ndcg, 0.5) && close(at1.mean.hit, 0.5) && close(at1.mean.precision, 0.5)
        );
        assert!(
            close(at1.coverage, 1.0 / 5.0),
            "catalogue a,b,c,d,e; u's top-1 is a; x is not a test user"
        );
        let at2 = e.at(2).unwrap();
        assert!(close(at2.mean.precision, 0.25) && close(at2.mean.recall, 0.5));
        assert!(close(at2.coverage, 2.0 / 5.0));
        assert_eq!(e.train_leaks, 1, "d is u's train item");
        assert_eq!(e.duplicates, 1);
        assert!(e.at(3).is_none());
        let keys: Vec<String> = e.named().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys.len(), 14);
        assert_eq!(
            (keys[0].as_str(), keys[13].as_str()),
            ("precision@1", "coverage@2")
        );
        assert_eq!(e.get("recall@2"), Some(at2.mean.recall));
        assert_eq!(e.get("mrr@1"), Some(at1.mean.mrr));
        assert_eq!(e.get("ndcg@3"), None);
        let without_train = evaluate(&recs, &test, None, &HashSet::new(), &[1]);
        assert!(close(without_train.at[0].coverage, 1.0 / 3.0));
        assert_eq!(without_train.train_leaks, 0);
    }

    /// A list may hold rankable items in neither file (linked items placed from a graph): the
    /// catalogue counts them, so coverage stays at most 1.
    #[test]
    fn rankable_items_widen_the_catalogue() {
        let test = HashMap::from([("u", set(&["a"]))]);
        let train = HashMap::from([("u", set(&["b"]))]);
        let recs = HashMap::from([("u", vec!["x", "y", "a"])]);
        let narrow = evaluate(&recs, &test, Some(&train), &HashSet::new(), &[3]);
        assert!(
            close(narrow.at[0].coverage, 3.0 / 2.0),
            "the old denominator"
        );
        let wide = evaluate(
            &recs,
            &test,
            Some(&train),
            &set(&["a", "b", "x", "y", "z"]),
            &[3],
        );
        assert!(close(wide.at[0].coverage, 3.0 / 5.0));
    }

    #[test]
    fn empty_test_is_zero_not_nan() {
        let e = evaluate::<&str>(
            &HashMap::new(),
            &HashMap::new(),
            None,
            &HashSet::new(),
            &[10],
        );
        assert_eq!(
            e.at[0],
            AtK {
                k: 10,
                ..AtK::default()
            }
        );
        assert_eq!(by_user([("u", "a"), ("u", "b"), ("u", "a")])["u"].len(), 2);
    }
}
