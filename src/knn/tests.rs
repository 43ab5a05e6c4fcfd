#![allow(clippy::unwrap_used, clippy::panic)]
use super::*;
use crate::cf::testutil::two_blocks;
use crate::ids::ItemId;
use proptest::prelude::*;

/// The similarity of documents `a` and `b` (sets of terms) computed from the definitions in
/// `docs/model.md`, with nothing shared with the fast path.
fn brute(p: &KnnParams, docs: &[Vec<u32>], n_terms: usize, a: usize, b: usize) -> f64 {
    let n = docs.len() as f64;
    let shared: Vec<u32> = docs[a]
        .iter()
        .copied()
        .filter(|t| docs[b].contains(t))
        .collect();
    let c = shared.len() as f64;
    let (la, lb) = (docs[a].len() as f64, docs[b].len() as f64);
    let raw = match p.similarity {
        Similarity::Cosine => {
            if la * lb == 0.0 {
                0.0
            } else {
                c / (la * lb).sqrt()
            }
        }
        Similarity::Jaccard => {
            if la + lb - c == 0.0 {
                0.0
            } else {
                c / (la + lb - c)
            }
        }
        Similarity::Bm25 => {
            let df = |t: u32| docs.iter().filter(|d| d.contains(&t)).count() as f64;
            let active = docs.iter().filter(|d| !d.is_empty()).count().max(1) as f64;
            let mean = docs.iter().map(|d| d.len()).sum::<usize>() as f64 / active;
            let (k1, bb) = (f64::from(p.bm25_k1), f64::from(p.bm25_b));
            let w = |len: f64, t: u32| {
                let idf = n.ln() - df(t).ln_1p();
                (k1 + 1.0) / (k1 * ((1.0 - bb) + bb * len / mean.max(1.0)) + 1.0) * idf
            };
            let _ = n_terms;
            shared.iter().map(|&t| w(la, t) * w(lb, t)).sum()
        }
    };
    raw * c / (c + f64::from(p.shrink))
}

/// Documents as CSR both ways.
fn csr(docs: &[Vec<u32>], n_terms: usize) -> (Vec<usize>, Vec<u32>, Vec<usize>, Vec<u32>) {
    let mut doc_ptr = vec![0];
    let mut doc_terms = Vec::new();
    for d in docs {
        let mut d = d.clone();
        d.sort_unstable();
        doc_terms.extend(d);
        doc_ptr.push(doc_terms.len());
    }
    let mut term_ptr = vec![0];
    let mut term_docs = Vec::new();
    for t in 0..n_terms as u32 {
        for (k, d) in docs.iter().enumerate() {
            if d.contains(&t) {
                term_docs.push(k as u32);
            }
        }
        term_ptr.push(term_docs.len());
    }
    (doc_ptr, doc_terms, term_ptr, term_docs)
}

fn kernel_strategy() -> impl Strategy<Value = KnnParams> {
    (
        0usize..3,
        1usize..8,
        prop_oneof![Just(0.0f32), 0.5f32..20.0],
    )
        .prop_map(|(s, k, shrink)| KnnParams {
            similarity: [Similarity::Cosine, Similarity::Jaccard, Similarity::Bm25][s],
            neighbours: k,
            shrink,
            ..KnnParams::item_defaults()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every kept neighbour's similarity is the brute-force one, and the kept ones are the
    /// `K` best by (similarity desc, id asc) among the positive ones.
    #[test]
    fn neighbours_match_brute_force(
        p in kernel_strategy(),
        sets in proptest::collection::vec(proptest::collection::btree_set(0u32..12, 0..7), 1..14),
    ) {
        let docs: Vec<Vec<u32>> = sets.into_iter().map(|s| s.into_iter().collect()).collect();
        let n_terms = 12;
        let (dp, dt, tp, td) = csr(&docs, n_terms);
        let (_, rows) = all_neighbours(&p, (&dp, &dt), (&tp, &td), &AtomicBool::new(false)).unwrap();
        for a in 0..docs.len() {
            let mut want: Vec<(u32, f64)> = (0..docs.len())
                .filter(|&b| b != a)
                .map(|b| (b as u32, brute(&p, &docs, n_terms, a, b)))
                .filter(|(_, s)| *s > 0.0)
                .collect();
            want.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
            let got: Vec<(u32, f32)> = rows.cols[rows.ptr[a]..rows.ptr[a + 1]]
                .iter()
                .copied()
                .zip(rows.vals[rows.ptr[a]..rows.ptr[a + 1]].iter().copied())
                .collect();
            prop_assert_eq!(got.len(), want.len().min(p.neighbours));
            prop_assert!(got.windows(2).all(|w| w[0].0 < w[1].0), "ascending ids");
            for &(b, s) in &got {
                let exact = brute(&p, &docs, n_terms, a, b as usize);
                prop_assert!((f64::from(s) - exact).abs() <= 1e-5 * exact.abs().max(1.0),
                    "doc {} neighbour {}: {} vs {}", a, b, s, exact);
            }
            // The weakest kept is at least as strong as the strongest left out (ties within
            // rounding may fall either way).
            if want.len() > p.neighbours {
                let cut = want[p.neighbours].1;
                let weakest = got.iter().map(|g| f64::from(g.1)).fold(f64::INFINITY, f64::min);
                prop_assert!(weakest >= cut - 1e-5 * cut.abs().max(1.0));
            }
        }
    }
}

#[test]
fn item_knn_ranks_the_held_out_item_of_the_users_community() {
    let m = two_blocks();
    for similarity in [Similarity::Cosine, Similarity::Jaccard, Similarity::Bm25] {
        let p = KnnParams {
            similarity,
            neighbours: 3,
            shrink: 1.0,
            ..KnnParams::item_defaults()
        };
        let fitted = p.fit_items(&m, &AtomicBool::new(false)).unwrap();
        let model = crate::ease::ItemToItem::neighbourhood(fitted.weights, &m, m.n_users());
        let (held, best_b) = crate::cf::testutil::held_out_scores(&model, &m);
        assert!(held > best_b, "{similarity:?}: {held} vs {best_b}");
        // `similar`: an item's neighbours are its community's items.
        let a0 = m.item_id("a0").unwrap();
        let mut sims = vec![0.0; m.n_items()];
        assert!(model.item_similarities(a0, &mut sims));
        let b0 = m.item_id("b0").unwrap();
        assert_eq!(sims[b0.index()], 0.0);
        assert!(sims[m.item_id("a1").unwrap().index()] > 0.0);
        assert_eq!(sims[a0.index()], 0.0, "an item is not its own neighbour");
    }
}

#[test]
fn user_knn_scores_trained_and_new_users_from_their_neighbours() {
    let m = two_blocks();
    let p = KnnParams {
        neighbours: 3,
        ..KnnParams::user_defaults()
    };
    let fitted = p.fit_users(&m, &AtomicBool::new(false)).unwrap();
    let model = UserKnn::new(fitted, &m, m.n_items());
    let (held, best_b) = crate::cf::testutil::held_out_scores(&model, &m);
    assert!(held > best_b, "{held} vs {best_b}");
    // A user who arrived later with two items of community b is placed among b's users.
    let items = [m.item_id("b0").unwrap().0, m.item_id("b1").unwrap().0];
    let mut items = items.to_vec();
    items.sort_unstable();
    let values = vec![1.0; items.len()];
    let row = UserRow {
        user: UserId(m.n_users() as u32),
        items: &items,
        values: &values,
        ratings: &[],
        counts: &[],
    };
    let mut out = vec![0.0; m.n_items()];
    assert_eq!(model.score_user(row, &mut out), Basis::FoldedIn);
    let b2 = out[m.item_id("b2").unwrap().index()];
    let a2 = out[m.item_id("a2").unwrap().index()];
    assert!(b2 > 0.0 && a2 == 0.0, "{b2} {a2}");
    let empty = UserRow {
        user: UserId(m.n_users() as u32),
        items: &[],
        values: &[],
        ratings: &[],
        counts: &[],
    };
    assert_eq!(model.score_user(empty, &mut out), Basis::NoPreference);
    let _ = ItemId(0);
}

#[test]
fn fits_are_deterministic_whatever_the_thread_count() {
    let m = two_blocks();
    let p = KnnParams::item_defaults();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let a = one.install(|| p.fit_items(&m, &AtomicBool::new(false)).unwrap());
    let b = p.fit_items(&m, &AtomicBool::new(false)).unwrap();
    assert_eq!(a, b);
}

#[test]
fn bad_params_and_cancel_are_refused() {
    let m = two_blocks();
    let zero = KnnParams {
        neighbours: 0,
        ..KnnParams::item_defaults()
    };
    assert!(matches!(
        zero.fit_items(&m, &AtomicBool::new(false)),
        Err(FitError::Params(_))
    ));
    let negative = KnnParams {
        shrink: -1.0,
        ..KnnParams::item_defaults()
    };
    assert!(negative.check().is_err());
    assert_eq!(
        KnnParams::item_defaults().fit_items(&m, &AtomicBool::new(true)),
        Err(FitError::Cancelled)
    );
}
