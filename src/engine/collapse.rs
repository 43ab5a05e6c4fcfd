//! Whether a model's scores say anything about its users: one check ([`check`]) over a sample
//! of users spread over the model's users, and one text ([`describe`]) that every place that
//! reports it (training, a list, a batch, similar items, an explanation, the HTTP answers) uses.
//!
//! First, a catalogue where no item has more than one interaction ([`Collapse::NoSharedItems`]):
//! no two users share an item, so a model that learns from interactions alone has nothing to
//! relate items by, whatever its settings (graph-reading models are not judged so: the graph
//! may relate the items).
//!
//! Then three shapes are told apart, most degenerate first:
//! - [`Collapse::Zero`]: every score of every sampled user lies within [`COLLAPSED`] of zero
//!   (a regularisation far too strong for the catalogue shrank every factor to nothing; a
//!   BM25-weighted neighbourhood whose similarities vanish);
//! - [`Collapse::OneOrder`]: every sampled user's scores are one and the same order up to
//!   scale — the centred score vectors of all of them have a cosine of at least
//!   [`ONE_ORDER_COSINE`] with each other — so every list is that order less the user's own
//!   items, whatever the scores print (the item vectors point about one way: their cosines are
//!   all near 1);
//! - [`Collapse::NearOneOrder`]: not quite one order, but nearly: the median cosine of pairs
//!   of sampled users' centred scores on the items neither has (what their lists order) is at
//!   least [`NEAR_ONE_ORDER_COSINE`] and one item tops the lists (the items they do not
//!   have, by score) of at least [`SHARED_TOP_SHARE`] of the sampled users, though their
//!   histories differ (on a small catalogue a too strong regularisation leaves a little of each
//!   user in the scores, not enough to change the list);
//! - [`Collapse::Popularity`]: for at least [`POPULARITY_SHARE`] of the sampled users with at
//!   least [`POPULARITY_MIN_CANDIDATES`] items left, the top [`POPULARITY_TOP`] of the items
//!   they do not have are the most popular of those, in popularity order (interaction counts
//!   compared, so ties in count are no mismatch): the model adds nothing to `--model pop`.
//!   A user counts only when the counts say something about the order: when more than
//!   [`POPULARITY_TIED`] of the items left are tied at or above the tenth most popular one's
//!   count (every item once, or one popular item and the rest flat), nearly any list "is" the
//!   popularity order, so such users are not looked at.
//!
//! All scores are looked at, the user's own items included: a user with one item left still
//! shows whether the model's scores differ.

use crate::cf::{InteractionMatrix, Recommender, Stretch};
use crate::ids::UserId;
use crate::learners::ModelKind;
use crate::store::ModelHeader;

/// Scores this close to zero, all of them, mean the model collapsed.
pub const COLLAPSED: f32 = 1e-3;

/// Users looked at, spread evenly over the model's users.
const SAMPLE: usize = 64;

/// Two users' centred score vectors at least this close in direction rank every item alike.
pub const ONE_ORDER_COSINE: f32 = 0.999;

/// The median cosine of users' centred score vectors at which, with one item topping most
/// lists ([`SHARED_TOP_SHARE`]), the scores are nearly one order. On ml-100k the default als
/// and cke give medians near 0.45.
pub const NEAR_ONE_ORDER_COSINE: f32 = 0.98;

/// The share of the sampled users (with two items or more left) whose list one item tops, for
/// [`Collapse::NearOneOrder`].
pub const SHARED_TOP_SHARE: f32 = 0.5;

/// Sampled users whose scores are compared pairwise for [`Collapse::NearOneOrder`].
const PAIRED: usize = 32;

/// The length of the list compared with the popularity order.
pub const POPULARITY_TOP: usize = 10;

/// Users with fewer items left than this tell nothing about the popularity order: on a short
/// list a personal order matches the popularity order by chance.
pub const POPULARITY_MIN_CANDIDATES: usize = POPULARITY_TOP;

/// The share of the (eligible) sampled users whose list must be the popularity order.
pub const POPULARITY_SHARE: f32 = 0.9;

/// Users with more candidates than this tied at or above the [`POPULARITY_TOP`]-th count are
/// not judged against the popularity order: their counts barely constrain the order.
pub const POPULARITY_TIED: usize = 2 * POPULARITY_TOP;

/// Eligible users needed before the popularity share is judged.
const POPULARITY_MIN_USERS: usize = 5;

/// How a model's scores fail to tell its users apart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Collapse {
    /// No item has more than one interaction: no two users share an item, so a model of
    /// interactions alone scores every item a user does not have alike (or by noise).
    NoSharedItems,
    /// Every score of every sampled user is within [`COLLAPSED`] of zero.
    Zero,
    /// Every sampled user's scores are one order up to scale; `popularity`: that order's top
    /// is the popularity order.
    OneOrder { popularity: bool },
    /// Nearly one order: the median cosine of sampled users' centred scores, pairwise on the
    /// items neither has, is `median`, and one item tops `top` of the `looked` sampled users'
    /// lists.
    NearOneOrder {
        median: f32,
        top: usize,
        looked: usize,
        popularity: bool,
    },
    /// The lists of `matched` of `looked` sampled users are the popularity order.
    Popularity { matched: usize, looked: usize },
}

/// Checks `model` (trained on, or served with, `matrix`). `None` for the popularity model
/// itself, graph embeddings and models too small to judge (fewer than two items or no users).
pub fn check(
    kind: ModelKind,
    model: &dyn Recommender,
    matrix: &InteractionMatrix,
) -> Option<Collapse> {
    if kind == ModelKind::Popularity || kind.is_graph_embedding() {
        return None;
    }
    let n_users = model.n_users().min(matrix.n_users());
    let n_items = model.n_items();
    if n_users == 0 || n_items < 2 {
        return None;
    }
    let counts = item_counts(matrix, n_items);
    if !kind.reads_graph() && counts.iter().all(|&c| c <= 1) {
        return Some(Collapse::NoSharedItems);
    }
    let step = n_users.div_ceil(SAMPLE).max(1);
    let mut scores = vec![0.0f32; n_items];
    let mut zero = true;
    // The first user whose scores differ, with their items: users with the same items get
    // the same list from any model, so only users with other items are compared with them.
    let mut reference: Option<(Vec<f32>, Vec<u32>)> = None;
    let mut one_order = true;
    let mut compared = 0usize;
    // The raw scores and items of the first [`PAIRED`] sampled users, compared pairwise.
    let mut kept: Vec<(Vec<f32>, &[u32])> = Vec::new();
    // How many sampled users' lists each item tops, and how many users had a list of two.
    let mut tops = vec![0usize; n_items];
    let mut ranked = 0usize;
    let (mut looked, mut matched) = (0usize, 0usize);
    for u in (0..n_users).step_by(step) {
        let user = UserId(u as u32);
        model.score_items(user, &mut scores);
        zero &= scores.iter().all(|s| s.abs() < COLLAPSED);
        let (own, _) = matrix.user_row(user);
        if let Some(centred) = unit_centred(&scores) {
            match &reference {
                None => reference = Some((centred, own.to_vec())),
                Some((_, items)) if items == own => {}
                Some((r, _)) => {
                    let cos: f32 = r.iter().zip(&centred).map(|(a, b)| a * b).sum();
                    one_order &= cos >= ONE_ORDER_COSINE;
                    compared += 1;
                }
            }
        }
        if kept.len() < PAIRED {
            kept.push((scores.clone(), own));
        }
        if n_items.saturating_sub(own.len()) >= 2
            && let Some(top) = top_candidate(&scores, own)
        {
            tops[top] += 1;
            ranked += 1;
        }
        if n_items.saturating_sub(own.len()) >= POPULARITY_MIN_CANDIDATES
            && let Some(order) = popularity_order(&scores, own, &counts)
        {
            looked += 1;
            matched += usize::from(order);
        }
    }
    if zero {
        return Some(Collapse::Zero);
    }
    let popular =
        looked >= POPULARITY_MIN_USERS && matched as f32 >= POPULARITY_SHARE * looked as f32;
    if one_order && compared >= 1 {
        return Some(Collapse::OneOrder {
            popularity: popular,
        });
    }
    let top = tops.iter().copied().max().unwrap_or(0);
    // Pairs of users with other items, on the items neither has (what their lists order).
    let mut cosines: Vec<f32> = Vec::new();
    for (i, (a, own_a)) in kept.iter().enumerate() {
        for (b, own_b) in &kept[i + 1..] {
            if own_a != own_b
                && let Some(cos) = cosine_outside((a, own_a), (b, own_b))
            {
                cosines.push(cos);
            }
        }
    }
    if let Some(median) = median(&mut cosines)
        && median >= NEAR_ONE_ORDER_COSINE
        && ranked >= POPULARITY_MIN_USERS
        && top as f32 >= SHARED_TOP_SHARE * ranked as f32
    {
        return Some(Collapse::NearOneOrder {
            median,
            top,
            looked: ranked,
            popularity: popular,
        });
    }
    popular.then_some(Collapse::Popularity { matched, looked })
}

/// The best-scored item not in `own` (ascending), the lower id on a tie; `None` when every item
/// is the user's.
fn top_candidate(scores: &[f32], own: &[u32]) -> Option<usize> {
    (0..scores.len())
        .filter(|&i| u32::try_from(i).is_ok_and(|i| own.binary_search(&i).is_err()))
        .reduce(|best, i| match scores[i] > scores[best] {
            true => i,
            false => best,
        })
}

/// The cosine of two users' scores, each less its mean, over the items neither user has;
/// `None` when fewer than three such items are left or the scores barely differ there.
fn cosine_outside((a, own_a): (&[f32], &[u32]), (b, own_b): (&[f32], &[u32])) -> Option<f32> {
    let both: Vec<usize> = (0..a.len().min(b.len()))
        .filter(|&i| {
            u32::try_from(i)
                .is_ok_and(|i| own_a.binary_search(&i).is_err() && own_b.binary_search(&i).is_err())
        })
        .collect();
    if both.len() < 3 {
        return None;
    }
    let x = unit_centred(&both.iter().map(|&i| a[i]).collect::<Vec<_>>())?;
    let y = unit_centred(&both.iter().map(|&i| b[i]).collect::<Vec<_>>())?;
    Some(x.iter().zip(&y).map(|(p, q)| p * q).sum())
}

/// The median of `values` (sorted in place); `None` when there are none.
fn median(values: &mut [f32]) -> Option<f32> {
    values.sort_by(f32::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// Each item's interaction count (items the matrix does not hold count 0).
fn item_counts(matrix: &InteractionMatrix, n_items: usize) -> Vec<u32> {
    let mut counts = matrix.item_degrees();
    counts.resize(n_items, 0);
    counts
}

/// `scores` less their mean, of length 1; `None` when they barely differ.
fn unit_centred(scores: &[f32]) -> Option<Vec<f32>> {
    let mean = scores.iter().sum::<f32>() / scores.len() as f32;
    let centred: Vec<f32> = scores.iter().map(|s| s - mean).collect();
    let norm = centred.iter().map(|c| c * c).sum::<f32>().sqrt();
    (norm > COLLAPSED).then(|| centred.into_iter().map(|c| c / norm).collect())
}

/// Whether the top [`POPULARITY_TOP`] of the items not in `own` (ascending) by `scores` have
/// the interaction counts of the most popular such items, in that order; `None` when the counts
/// barely constrain that order (more than [`POPULARITY_TIED`] items tied at or above the
/// [`POPULARITY_TOP`]-th count), so a match would say nothing.
fn popularity_order(scores: &[f32], own: &[u32], counts: &[u32]) -> Option<bool> {
    let candidates: Vec<u32> = (0..scores.len() as u32)
        .filter(|i| own.binary_search(i).is_err())
        .collect();
    let top = POPULARITY_TOP.min(candidates.len());
    let mut by_score = candidates.clone();
    by_score.sort_by(|&a, &b| {
        scores[b as usize]
            .total_cmp(&scores[a as usize])
            .then(a.cmp(&b))
    });
    let mut by_count: Vec<u32> = candidates.iter().map(|&i| counts[i as usize]).collect();
    by_count.sort_unstable_by(|a, b| b.cmp(a));
    let boundary = *by_count.get(top.checked_sub(1)?)?;
    if by_count.iter().take_while(|&&c| c >= boundary).count() > POPULARITY_TIED {
        return None;
    }
    let matched = by_score
        .iter()
        .take(top)
        .map(|&i| counts[i as usize])
        .eq(by_count.into_iter().take(top));
    Some(matched)
}

/// What to train instead: a neighbourhood model's similarities vanish (BM25 weighs an item
/// most users have at zero or less), the content model's texts are near-identical (it has no
/// regularisation), the others' regularisation is too strong (a tenth of the model's own is
/// suggested).
pub fn advice(header: &ModelHeader) -> String {
    let bm25 = header.params.to_ascii_lowercase().contains("\"bm25\"");
    match header.kind {
        ModelKind::ItemKnn | ModelKind::UserKnn if bm25 => {
            "its similarities vanish on this catalogue, as BM25 weighs an item that nearly every \
             user has at zero or less; train again with --similarity cosine"
                .to_owned()
        }
        // Content only: no regularisation, the similarities are the texts' cosines.
        ModelKind::Tfidf => {
            "its items' texts in the graph are near-identical (the same few words, such as \
             labels that differ only by a number), so every item is about as similar to every \
             other; give the items distinct text (abstracts, descriptions, labelled neighbours \
             such as categories) and train again, or use an interaction model (--model ease)"
                .to_owned()
        }
        ModelKind::ItemKnn | ModelKind::UserKnn => {
            "few of its users share items, so its neighbourhoods hold almost nothing; more \
             interactions, or a factor model (--model als), may do better"
                .to_owned()
        }
        // `kgrec tune` needs that many users with enough items: below it, only the flag helps.
        _ if header.users < crate::engine::MIN_TUNING_USERS as u64 => format!(
            "its regularisation is too strong for this catalogue; train again with {}",
            suggested_reg(&header.params)
        ),
        _ => format!(
            "its regularisation is too strong for this catalogue; train again with {}, or run \
             `kgrec tune`",
            suggested_reg(&header.params)
        ),
    }
}

/// A smaller regularisation than the one in use, from the `regularization` of a learner's
/// parameters JSON: a number (als, bpr, cke, svd) or ease's `{"absolute": λ}` (`--reg`) or
/// `{"scaled": s}` (`--reg-scale`). A tenth of the value in use is suggested; when the value
/// cannot be read, no number is (never the value already in use).
fn suggested_reg(params: &str) -> String {
    let value = serde_json::from_str::<serde_json::Value>(params).ok();
    let reg = value.as_ref().and_then(|v| v.get("regularization"));
    let (flag, current) = match reg {
        Some(r) if r.is_number() => ("--reg", r.as_f64()),
        Some(r) => match (r.get("absolute"), r.get("scaled")) {
            (Some(a), _) => ("--reg", a.as_f64()),
            (None, Some(s)) => ("--reg-scale", s.as_f64()),
            (None, None) => ("--reg", None),
        },
        None => ("--reg", None),
    };
    match current {
        Some(c) if c > 0.0 => format!("a smaller {flag} (e.g. {}) than the {c} in use", c / 10.0),
        _ => format!("a smaller {flag}"),
    }
}

/// The stretched rating scale a model's `--confidence rating` weighting divides by
/// ([`crate::cf::Weighting::stretch`]), when the scale was inferred (a declared scale is the
/// user's word): `None` for other weightings, declared scales and unstretched ones.
pub fn stretched_scale(
    header: &ModelHeader,
    matrix: &InteractionMatrix,
    declared: Option<crate::interactions::RatingScale>,
) -> Option<Stretch> {
    if declared.is_some() {
        return None;
    }
    crate::cf::Weighting::from_params(&header.params)?.stretch(matrix)
}

/// What a stretched rating scale does and what to do about it: the train-time note, and the
/// cause a collapse note names instead of the regularisation.
pub fn stretch_text(stretch: &Stretch, matrix: &InteractionMatrix) -> String {
    let (lo, hi) = stretch.usual;
    let (u, i) = stretch.first;
    let pair = match (matrix.users().name(u), matrix.items().name(i)) {
        (Some(u), Some(i)) => format!("; the first: user {u:?}, item {i:?}"),
        _ => String::new(),
    };
    format!(
        "the rating scale inferred from the stored ratings runs to {top}, stretched by {rows} of \
         {rated} rated interactions far above where nearly all ratings sit ({lo} to {hi}{pair}): \
         --confidence rating weighs a rating by its share of the scale's top, so a {hi} weighs \
         {weight:.2} and the ratings barely weigh anything. If those rows are mistakes, take them \
         back with `kgrec import interactions FILE --remove` (FILE naming their user and item) \
         and declare the scale at the next import (--rating-scale {lo}:{hi}, which refuses such \
         a rating naming its line); else train with --confidence binary",
        top = stretch.top,
        rows = stretch.rows,
        rated = stretch.rated,
        weight = stretch.usual_weight(),
    )
}

/// The one sentence every report of a collapse uses; `stretch`: the model's rating weighting
/// was stretched by a few far ratings ([`stretched_scale`]), named as the cause instead of the
/// regularisation.
pub fn describe(collapse: Collapse, header: &ModelHeader, stretch: Option<String>) -> String {
    let why = |header: &ModelHeader| match &stretch {
        Some(text) => format!("the likely cause: {text}"),
        None => advice(header),
    };
    // A model being trained has no version yet.
    let model = match header.version {
        0 => format!("the {} model", header.kind.name()),
        v => format!("model v{v} {}", header.kind.name()),
    };
    match collapse {
        Collapse::NoSharedItems => format!(
            "{model} has nothing to relate items by: no item has more than one interaction (no \
             two users share an item), so it scores the items a user does not have alike and \
             its lists are in arbitrary order; no setting changes that — it needs items that \
             several users have, or a model that reads the graph (--model kg-ease or cke) with \
             linked items"
        ),
        Collapse::Zero => format!(
            "{model} collapsed: it scores every item within {COLLAPSED:.0e} of zero for its \
             users, so its lists are in near-arbitrary order ({})",
            why(header)
        ),
        Collapse::OneOrder { popularity } => format!(
            "{model} collapsed to one direction: it ranks every item in one order for every \
             user (its item vectors all point about one way{}), so each list is that order less \
             the user's own items and is in near-arbitrary order for the user, however much the \
             scores differ ({})",
            match popularity {
                true => "; the order is the popularity order",
                false => "",
            },
            why(header)
        ),
        Collapse::NearOneOrder {
            median,
            top,
            looked,
            popularity,
        } => format!(
            "{model} collapsed to nearly one direction: it ranks the items in about one order \
             for every user (the median cosine between users' mean-centred scores is \
             {median:.3}), so one item tops {top} of the {looked} users' lists looked at \
             however their histories differ{}, and each list says little about its user ({})",
            match popularity {
                true => "; the order is the popularity order",
                false => "",
            },
            why(header)
        ),
        Collapse::Popularity { matched, looked } => format!(
            "{model} lists the most popular items in popularity order for {matched} of {looked} \
             users looked at: its lists are what `--model pop` gives, not personal ({})",
            why(header)
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A model whose scores are the popularity counts plus `personal` times a user-and-item
    /// pattern: 0 gives one order for all, a little keeps the popular items first but tells
    /// users apart further down, a lot is a personal order.
    #[derive(Debug)]
    struct Made {
        counts: Vec<f32>,
        users: usize,
        personal: f32,
        /// The item ranks the personal part applies to (below the top ten).
        from: usize,
    }

    impl Recommender for Made {
        fn n_users(&self) -> usize {
            self.users
        }
        fn n_items(&self) -> usize {
            self.counts.len()
        }
        fn score_items(&self, user: UserId, out: &mut [f32]) {
            for (i, o) in out.iter_mut().enumerate() {
                let pattern = ((i * 7 + user.index() * 13) % 11) as f32 / 11.0;
                let weight = if i >= self.from { self.personal } else { 0.0 };
                *o = self.counts[i] / 100.0 + weight * pattern;
            }
        }
    }

    /// 40 users × 60 items; item i has 40 − i/2 interactions (so counts fall with i), each user
    /// the items of a few rows of a pattern.
    fn data() -> (InteractionMatrix, Vec<f32>) {
        let names: Vec<(String, String)> = (0..40)
            .flat_map(|u| {
                (0..60)
                    .filter(move |i| (u + i) % 9 == 0 || *i < 40 - (u % 40))
                    .map(move |i| (format!("u{u}"), format!("i{i:02}")))
            })
            .collect();
        let matrix =
            InteractionMatrix::from_pairs(names.iter().map(|(u, i)| (u.as_str(), i.as_str())))
                .unwrap();
        let counts: Vec<f32> = matrix.item_degrees().iter().map(|&c| c as f32).collect();
        (matrix, counts)
    }

    #[test]
    fn popularity_order_is_told_from_one_order_and_a_personal_one() {
        let (matrix, counts) = data();
        let n_items = counts.len();
        let one = Made {
            counts: counts.clone(),
            users: 40,
            personal: 0.0,
            from: 0,
        };
        assert_eq!(
            check(ModelKind::Als, &one, &matrix),
            Some(Collapse::OneOrder { popularity: true })
        );
        // Told apart only on the last items: no longer one order, still the popular ones
        // first for every user (their top ten are the popularity order).
        let popular = Made {
            counts: counts.clone(),
            users: 40,
            personal: 0.001,
            from: n_items - 3,
        };
        assert!(matches!(
            check(ModelKind::Als, &popular, &matrix),
            Some(
                Collapse::Popularity { .. }
                    | Collapse::OneOrder { popularity: true }
                    | Collapse::NearOneOrder {
                        popularity: true,
                        ..
                    }
            )
        ));
        let personal = Made {
            counts,
            users: 40,
            personal: 5.0,
            from: 0,
        };
        assert_eq!(check(ModelKind::Als, &personal, &matrix), None);
    }

    /// 21 users × 12 items: user `a` has every item (so item `iNN` is dense id NN), the others
    /// two of items 1..=11 each, never item 0.
    fn small() -> InteractionMatrix {
        let mut names: Vec<(String, String)> = (0..12)
            .map(|i| ("a".to_owned(), format!("i{i:02}")))
            .collect();
        for u in 0..20 {
            for i in [u % 10 + 1, (u * 3) % 10 + 1] {
                names.push((format!("u{u:02}"), format!("i{i:02}")));
            }
        }
        InteractionMatrix::from_pairs(names.iter().map(|(u, i)| (u.as_str(), i.as_str()))).unwrap()
    }

    /// Scores of one order (item 0 first) with a little of each user in them: not one order to
    /// 0.999, but item 0 tops every list and the users' scores are nearly parallel; with a lot
    /// of each user, neither.
    #[test]
    fn nearly_one_order_with_a_shared_top_item_is_told() {
        let matrix = small();
        let counts: Vec<f32> = (0..12).map(|i| (12 - i) as f32 * 100.0).collect();
        let near = Made {
            counts: counts.clone(),
            users: 21,
            personal: 0.6,
            from: 0,
        };
        let found = check(ModelKind::Als, &near, &matrix);
        assert!(
            matches!(
                found,
                Some(Collapse::NearOneOrder { median, top, looked, .. })
                    if (NEAR_ONE_ORDER_COSINE..ONE_ORDER_COSINE).contains(&median)
                        && top == looked
            ),
            "{found:?}"
        );
        let personal = Made {
            counts,
            users: 21,
            personal: 20.0,
            from: 0,
        };
        assert_eq!(check(ModelKind::Als, &personal, &matrix), None);
    }

    #[test]
    fn the_top_candidate_skips_the_users_items_and_the_median_is_the_middle() {
        assert_eq!(top_candidate(&[9.0, 1.0, 3.0, 3.0], &[0]), Some(2));
        assert_eq!(top_candidate(&[9.0, 1.0], &[0, 1]), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn popularity_order_compares_counts_not_items() {
        // Items 0..4 with counts 5, 3, 3, 1; the user has item 0.
        let counts = [5, 3, 3, 1];
        assert_eq!(
            popularity_order(&[9.0, 0.5, 0.6, 0.1], &[0], &counts),
            Some(true)
        );
        assert_eq!(
            popularity_order(&[9.0, 0.5, 0.1, 0.6], &[0], &counts),
            Some(false)
        );
    }

    #[test]
    fn flat_counts_say_nothing_about_the_popularity_order() {
        // 40 items, every one once: any list would match.
        let flat = vec![1u32; 40];
        let scores: Vec<f32> = (0..40).map(|i| i as f32).collect();
        assert_eq!(popularity_order(&scores, &[0], &flat), None);
        // One popular item and the rest flat: still too many tied at the tenth count.
        let mut one = flat.clone();
        one[5] = 30;
        assert_eq!(popularity_order(&scores, &[0], &one), None);
        // Distinct counts: judged.
        let distinct: Vec<u32> = (0..40).map(|i| 40 - i).collect();
        assert_eq!(popularity_order(&scores, &[0], &distinct), Some(false));
    }

    #[test]
    fn the_suggested_regularisation_is_never_the_one_in_use() {
        assert_eq!(
            suggested_reg(r#"{"regularization":{"absolute":1.0}}"#),
            "a smaller --reg (e.g. 0.1) than the 1 in use"
        );
        assert_eq!(
            suggested_reg(r#"{"regularization":{"scaled":0.5}}"#),
            "a smaller --reg-scale (e.g. 0.05) than the 0.5 in use"
        );
        assert_eq!(
            suggested_reg(r#"{"regularization":30.0}"#),
            "a smaller --reg (e.g. 3) than the 30 in use"
        );
        assert_eq!(suggested_reg("{}"), "a smaller --reg");
    }

    #[test]
    fn centred_scores_of_one_order_share_a_direction() {
        let a = unit_centred(&[1.0, 2.0, 3.0]).unwrap();
        let b = unit_centred(&[10.0, 20.0, 30.0]).unwrap();
        let cos: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!(cos > ONE_ORDER_COSINE);
        assert!(unit_centred(&[1.0, 1.0, 1.0]).is_none());
    }
}
