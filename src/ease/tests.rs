#![allow(clippy::unwrap_used)]
use super::*;
use crate::cf::testutil::two_blocks;
use crate::cf::{IdMap, InteractionMatrix};
use crate::ids::{ItemId, UserId};
use kgrec_kg::{EntityId, RelationId, Triple};

fn go() -> AtomicBool {
    AtomicBool::new(false)
}

fn history(m: &InteractionMatrix, user: &str) -> Vec<u32> {
    m.user_row(m.user_id(user).unwrap()).0.to_vec()
}

#[test]
fn ease_ranks_the_missing_item_of_the_users_community_first() {
    let m = two_blocks();
    let ease = EaseParams::default().fit(&m, &go()).unwrap();
    let b = &ease.weights;
    assert_eq!(b.n_items(), 8);
    for i in 0..8 {
        assert_eq!(b.weight(i, i), 0.0);
    }
    let mut s = vec![0.0; 8];
    b.score(&history(&m, "u1"), &mut s);
    let a1 = m.item_id("a1").unwrap().index();
    let best_b = ["b0", "b1", "b2", "b3"]
        .map(|n| s[m.item_id(n).unwrap().index()])
        .into_iter()
        .fold(f32::MIN, f32::max);
    assert!(s[a1] > best_b, "{} vs {best_b}", s[a1]);
    assert!((b.score_one(&history(&m, "u1"), a1) - s[a1]).abs() < 1e-6);
    // λ = 55 × √(the mean item degree) (30 positives over 8 items).
    assert!((ease.lambda - 55.0 * (30.0f64 / 8.0).sqrt()).abs() < 1e-4);
    let again = EaseParams::default().fit(&m, &go()).unwrap();
    assert_eq!(again, ease);
}

#[test]
fn a_larger_lambda_shrinks_the_weights() {
    let m = two_blocks();
    let fit = |l: f32| {
        EaseParams {
            regularization: Regularization::Absolute(l),
            neighbours: None,
        }
        .fit(&m, &go())
        .unwrap()
    };
    let norm = |e: &Ease| -> f32 {
        let n = e.weights.n_items();
        (0..n * n)
            .map(|k| e.weights.weight(k / n, k % n).powi(2))
            .sum()
    };
    assert!(norm(&fit(100.0)) < norm(&fit(1.0)));
    assert_eq!(fit(5.0).lambda, 5.0);
}

#[test]
fn bad_parameters_empty_matrices_and_cancels_are_refused() {
    let m = two_blocks();
    for bad in [0.0, -1.0, f32::NAN] {
        let p = EaseParams {
            regularization: Regularization::Absolute(bad),
            neighbours: None,
        };
        assert!(matches!(p.fit(&m, &go()), Err(FitError::Params(_))));
        let p = EaseParams {
            regularization: Regularization::Scaled(bad),
            neighbours: None,
        };
        assert!(matches!(p.fit(&m, &go()), Err(FitError::Params(_))));
    }
    let cancelled = AtomicBool::new(true);
    assert!(matches!(
        EaseParams::default().fit(&m, &cancelled),
        Err(FitError::Cancelled)
    ));
    let kg = KgEaseParams {
        graph_weight: -1.0,
        ..KgEaseParams::default()
    };
    assert!(matches!(
        kg.fit(&m, &ItemGraph::default(), false, &go()),
        Err(FitError::Params(_))
    ));
    let empty = InteractionMatrix::from_ids(IdMap::new(), IdMap::new(), &[]).unwrap();
    assert!(matches!(
        EaseParams::default().fit(&empty, &go()),
        Err(FitError::Empty)
    ));
}

#[test]
fn a_catalogue_beyond_the_dense_limit_gets_the_sparse_approximation() {
    let mut items = IdMap::new();
    for i in 0..=MAX_DENSE_ITEMS {
        items.intern(&format!("i{i}")).unwrap();
    }
    let mut users = IdMap::new();
    users.intern("u").unwrap();
    users.intern("v").unwrap();
    let m = InteractionMatrix::from_ids(
        users,
        items,
        &[
            (UserId(0), ItemId(0), 1.0),
            (UserId(0), ItemId(1), 1.0),
            (UserId(1), ItemId(1), 1.0),
        ],
    )
    .unwrap();
    assert_eq!(
        Solver::for_items(None, MAX_DENSE_ITEMS + 1),
        Solver::Sparse(DEFAULT_NEIGHBOURS)
    );
    let fitted = EaseParams::default().fit(&m, &go()).unwrap();
    assert!(fitted.weights.is_sparse());
    // Item 0 and item 1 share a user: each weighs on the other, and nothing else is kept.
    assert!(fitted.weights.weight(0, 1) > 0.0);
    assert!(fitted.weights.weight(1, 0) > 0.0);
    assert_eq!(fitted.weights.stored_weights(), 2);
}

#[test]
fn sparse_weights_round_trip_through_the_stored_arrays_and_bad_ones_are_refused() {
    let (m, _) = with_cold_item();
    let n = m.n_items();
    let fitted = EaseParams {
        neighbours: Some(2),
        ..EaseParams::default()
    }
    .fit(&m, &go())
    .unwrap();
    let mut arrays = fitted.weights.to_arrays("weights");
    assert_eq!(arrays.len(), 3);
    let back = ItemWeights::from_arrays(n, &mut arrays, "weights")
        .unwrap()
        .unwrap();
    assert_eq!(back, fitted.weights);
    assert!(arrays.is_empty(), "taken out");
    assert_eq!(
        ItemWeights::from_arrays(n, &mut arrays, "weights"),
        Ok(None)
    );
    // Each way the arrays can break: a missing array, short offsets, an item out of range,
    // a value too many.
    for case in 0..4 {
        let mut arrays = fitted.weights.to_arrays("weights");
        let at = |arrays: &Vec<(String, Vec<f32>)>, name: &str| {
            arrays.iter().position(|(k, _)| k == name).unwrap()
        };
        match case {
            0 => {
                let k = at(&arrays, "weights.vals");
                arrays.remove(k);
            }
            1 => {
                let k = at(&arrays, "weights.ptr");
                arrays[k].1.pop();
            }
            2 => {
                let k = at(&arrays, "weights.cols");
                arrays[k].1[0] = f32::from_bits(n as u32);
            }
            _ => {
                let k = at(&arrays, "weights.vals");
                arrays[k].1.push(1.0);
            }
        }
        let err = ItemWeights::from_arrays(n, &mut arrays, "weights").unwrap_err();
        assert!(
            matches!(err, BadWeights::Sparse { .. }),
            "case {case}: {err}"
        );
    }
    // The dense form is named by its one array.
    let dense = EaseParams::default().fit(&m, &go()).unwrap();
    let mut arrays = dense.weights.to_arrays("weights");
    assert_eq!(arrays.len(), 1);
    assert_eq!(
        ItemWeights::from_arrays(n, &mut arrays, "weights"),
        Ok(Some(dense.weights.clone()))
    );
}

/// two_blocks plus an item `c` nobody has, linked to an entity that shares a director with
/// `a0` and `a2`'s entities; the b items are unlinked.
fn with_cold_item() -> (InteractionMatrix, ItemGraph) {
    let base = two_blocks();
    let mut items = IdMap::from_names(base.items().names().to_vec()).unwrap();
    let c = items.intern("c").unwrap();
    let users = IdMap::from_names(base.users().names().to_vec()).unwrap();
    let mut entries = Vec::new();
    for u in 0..base.n_users() {
        for &i in base.user_row(UserId(u as u32)).0 {
            entries.push((UserId(u as u32), ItemId(i), 1.0));
        }
    }
    let m = InteractionMatrix::from_ids(users, items, &entries).unwrap();
    let entity = |name: &str| Some(EntityId(m.item_id(name).unwrap().0));
    let mut links = vec![None; m.n_items()];
    for name in ["a0", "a2"] {
        links[m.item_id(name).unwrap().index()] = entity(name);
    }
    links[c as usize] = Some(EntityId(c));
    let director = EntityId(100);
    let triples = ["a0", "a2"]
        .iter()
        .map(|n| m.item_id(n).unwrap().0)
        .chain([c])
        .map(|e| Triple::new(EntityId(e), RelationId(0), director))
        .collect();
    let graph = ItemGraph::new(101, 1, triples, links);
    (m, graph)
}

#[test]
fn graph_rows_reach_an_item_nobody_has_and_weight_zero_is_ease() {
    let (m, graph) = with_cold_item();
    let c = m.item_id("c").unwrap().index();
    // Flat weights: the director is the only fact, so its idf is 0.
    let flat = KgEaseParams {
        graph_weight: 2.0,
        idf_power: 0.0,
        ..KgEaseParams::default()
    };
    let kg = flat.fit(&m, &graph, true, &go()).unwrap();
    assert_eq!(kg.features, 1, "the shared director");
    let mut s = vec![0.0; m.n_items()];
    kg.weights.score(&history(&m, "u1"), &mut s);
    assert!(
        s[c] > 0.0,
        "u1 has a0 and a2, which share c's director: {}",
        s[c]
    );
    let mut other = vec![0.0; m.n_items()];
    kg.weights.score(&history(&m, "u6"), &mut other);
    assert!(other[c].abs() < s[c] / 10.0, "u6 has only b items");

    let plain = EaseParams::default().fit(&m, &go()).unwrap();
    assert_eq!(kg.interaction_weights.as_ref(), Some(&plain.weights));
    assert_eq!(
        plain.weights.weight(m.item_id("a0").unwrap().index(), c),
        0.0
    );
    let off = KgEaseParams {
        graph_weight: 0.0,
        ..KgEaseParams::default()
    }
    .fit(&m, &graph, false, &go())
    .unwrap();
    assert_eq!(off.weights, plain.weights);
    assert_eq!(off.interaction_weights, None);
}

#[test]
fn idf_weights_leave_a_fact_every_item_shares_without_weight() {
    let (m, graph) = with_cold_item();
    let features = GraphFeatures::new(&graph, m.n_items(), 2);
    let p = KgEaseParams {
        idf_power: 1.0,
        ..KgEaseParams::default()
    };
    assert_eq!(
        p.feature_weights(&features),
        vec![0.0],
        "all three described items share it"
    );
    let flat = KgEaseParams {
        graph_weight: 2.0,
        idf_power: 0.0,
        ..KgEaseParams::default()
    }
    .feature_weights(&features);
    assert_eq!(flat, vec![4.0]);
}

/// Two relation types: relation 0 with features of 4 and of 3 items, relation 1 with one of 2.
fn two_relation_types() -> GraphFeatures {
    let triples = vec![
        Triple::new(EntityId(0), RelationId(0), EntityId(10)),
        Triple::new(EntityId(1), RelationId(0), EntityId(10)),
        Triple::new(EntityId(2), RelationId(0), EntityId(10)),
        Triple::new(EntityId(3), RelationId(0), EntityId(10)),
        Triple::new(EntityId(0), RelationId(0), EntityId(11)),
        Triple::new(EntityId(1), RelationId(0), EntityId(11)),
        Triple::new(EntityId(2), RelationId(0), EntityId(11)),
        Triple::new(EntityId(4), RelationId(1), EntityId(12)),
        Triple::new(EntityId(5), RelationId(1), EntityId(12)),
    ];
    let links = (0..6).map(|e| Some(EntityId(e))).collect();
    GraphFeatures::new(&ItemGraph::new(13, 2, triples, links), 6, 2)
}

#[test]
fn relation_balance_gives_every_relation_the_same_total_weight() {
    let features = two_relation_types();
    let flat = KgEaseParams {
        graph_weight: 1.0,
        idf_power: 0.0,
        ..KgEaseParams::default()
    };
    let total = |w: &[f64], group: u32| -> f64 {
        (0..features.len())
            .filter(|&f| features.key(f).relation_type().0 == group)
            .map(|f| w[f] * features.items_of(f).len() as f64)
            .sum()
    };
    let before = flat.feature_weights(&features);
    assert_eq!(before, vec![1.0; 3]);
    assert_eq!((total(&before, 0), total(&before, 2)), (7.0, 2.0));
    let equal = KgEaseParams {
        relation_balance: 1.0,
        ..flat
    }
    .feature_weights(&features);
    assert!((total(&equal, 0) - 4.5).abs() < 1e-12, "{equal:?}");
    assert!((total(&equal, 2) - 4.5).abs() < 1e-12, "{equal:?}");
    assert_eq!(
        equal[0], equal[1],
        "within a type, weights keep their ratios"
    );
    let half = KgEaseParams {
        relation_balance: 0.5,
        ..flat
    }
    .feature_weights(&features);
    assert!(half[2] > before[2] && half[2] < equal[2]);
    let bad = KgEaseParams {
        relation_balance: 1.5,
        ..flat
    };
    assert!(bad.check().is_err());
}

#[test]
fn two_hop_features_weigh_beta_times_one_hop_ones() {
    let (m, graph) = with_cold_item();
    let p = KgEaseParams {
        graph_weight: 2.0,
        idf_power: 0.0,
        two_hop_weight: 0.5,
        ..KgEaseParams::default()
    };
    let features = p.features(&graph, m.n_items());
    // a0, a2 and c share the director: each reaches the two others through it.
    assert_eq!((features.len(), features.two_hop_len()), (4, 3));
    let w = p.feature_weights(&features);
    for (f, w) in w.iter().enumerate() {
        let expected = if features.key(f).is_two_hop() {
            1.0
        } else {
            4.0
        };
        assert_eq!(*w, expected);
    }
    let fitted = p.fit(&m, &graph, false, &go()).unwrap();
    assert_eq!((fitted.features, fitted.two_hop_features), (4, 3));
    let one_hop = KgEaseParams {
        two_hop_weight: 0.0,
        ..p
    };
    assert_eq!(one_hop.features(&graph, m.n_items()).len(), 1);
    assert_ne!(
        fitted.weights,
        one_hop.fit(&m, &graph, false, &go()).unwrap().weights
    );
}

#[test]
fn stored_weights_must_be_square() {
    assert!(ItemWeights::from_row_major(2, vec![0.0; 4]).is_ok());
    let err = ItemWeights::from_row_major(2, vec![0.0; 3]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "3 item weights for 2 items (expected items²)"
    );
    let w = ItemWeights::from_row_major(2, vec![0.0, 1.0, 2.0, 0.0]).unwrap();
    let mut col = vec![9.0; 2];
    w.column(0, &mut col);
    assert_eq!(col, vec![0.0, 2.0]);
    assert_eq!(w.weight(5, 0), 0.0);
}

#[test]
fn a_cold_item_is_placed_from_its_nearest_items_columns() {
    let (m, graph) = with_cold_item();
    let n = m.n_items();
    let (c, a0, a2) = ["c", "a0", "a2"]
        .map(|name| m.item_id(name).unwrap().index())
        .into();
    let fit = |placement| {
        KgEaseParams {
            placement,
            ..KgEaseParams::default()
        }
        .fit(&m, &graph, false, &go())
        .unwrap()
    };
    let off = fit(Placement::Off);
    assert_eq!(off.placed, 0);
    let mean = fit(Placement::Mean);
    assert_eq!(mean.placed, 1, "c alone has no interactions and a link");
    // c shares its one neighbour with a0 and a2 alike: the plain mean of their columns.
    let norm =
        |w: &ItemWeights, i: usize| (0..n).map(|r| w.weight(r, i).powi(2)).sum::<f32>().sqrt();
    for r in (0..n).filter(|&r| r != c) {
        let expected = 0.5 * (off.weights.weight(r, a0) + off.weights.weight(r, a2));
        assert!(
            (mean.weights.weight(r, c) - expected).abs() < 1e-6,
            "row {r}"
        );
        // Every other column is the fit's.
        assert_eq!(mean.weights.weight(r, a0), off.weights.weight(r, a0));
    }
    assert_eq!(mean.weights.weight(c, c), 0.0);
    let restored = fit(Placement::Restored);
    let target = 0.5 * (norm(&off.weights, a0) + norm(&off.weights, a2));
    assert!((norm(&restored.weights, c) - target).abs() < 1e-4 * target.max(1.0));
    assert!(norm(&restored.weights, c) >= norm(&mean.weights, c));
    // Halfway: the geometric mean of the two norms, in the same direction.
    let halfway = fit(Placement::Halfway);
    let between = (norm(&mean.weights, c) * norm(&restored.weights, c)).sqrt();
    assert!((norm(&halfway.weights, c) - between).abs() < 1e-4 * between.max(1.0));
    assert!(norm(&halfway.weights, c) > norm(&mean.weights, c) + 1e-6);
    // Too few users to hold any out: no choice is made, the given values stand.
    let chosen = choose_graph_weight(
        &KgEaseParams {
            choose_weight: true,
            choose_placement: true,
            ..KgEaseParams::default()
        },
        &m,
        &graph,
        0,
        &go(),
    )
    .unwrap();
    assert_eq!(chosen, None);
}
