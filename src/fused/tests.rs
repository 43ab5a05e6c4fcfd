#![allow(clippy::unwrap_used)]
use super::*;
use crate::cf::{Als, InteractionMatrix};
use kgrec_kg::{EntityId, RelationId, Triple};

/// Two genres of films: films f0..f5 are `genre` → g0, films f6..f11 → g1. Users 0-5 watch
/// genre-0 films, users 6-11 genre-1 films. Film f5 and f11 have no interactions at all (cold).
fn world() -> (InteractionMatrix, ItemGraph) {
    world_with(true)
}

fn world_with(cold: bool) -> (InteractionMatrix, ItemGraph) {
    world_plus(cold, &[])
}

/// [`world_with`] plus the interactions `extra` (user, film).
fn world_plus(cold: bool, extra: &[(usize, usize)]) -> (InteractionMatrix, ItemGraph) {
    let mut pairs: Vec<(String, String)> = extra
        .iter()
        .map(|&(u, f)| (format!("u{u}"), format!("f{f}")))
        .collect();
    for u in 0..12 {
        let base = if u < 6 { 0 } else { 6 };
        for k in 0..5 {
            if k != u % 5 {
                pairs.push((format!("u{u}"), format!("f{}", base + k)));
            }
        }
    }
    // Register the cold films as items with no interactions.
    let items: Vec<String> = (0..12)
        .filter(|k| cold || (k % 6) != 5)
        .map(|k| format!("f{k}"))
        .collect();
    let users: Vec<String> = (0..12).map(|u| format!("u{u}")).collect();
    let user_map = crate::cf::IdMap::from_names(users).unwrap();
    let item_map = crate::cf::IdMap::from_names(items).unwrap();
    let entries: Vec<_> = pairs
        .iter()
        .map(|(u, i)| {
            (
                crate::ids::UserId(user_map.get(u).unwrap()),
                crate::ids::ItemId(item_map.get(i).unwrap()),
                1.0,
            )
        })
        .collect();
    let m = InteractionMatrix::from_ids(user_map, item_map, &entries).unwrap();
    // Entities: films 0..12, genres 12 and 13, plus a shared hub 14 every film links to.
    let mut triples = Vec::new();
    for f in 0..12u32 {
        let genre = if f < 6 { 12 } else { 13 };
        triples.push(Triple::new(EntityId(f), RelationId(0), EntityId(genre)));
        triples.push(Triple::new(EntityId(f), RelationId(1), EntityId(14)));
    }
    let links = (0..12)
        .filter(|k| cold || (k % 6) != 5)
        .map(|f| Some(EntityId(f)))
        .collect();
    (m, ItemGraph::new(15, 2, triples, links))
}

fn params() -> FusedParams {
    FusedParams::default()
        .factors(4)
        .regularization(0.5)
        .iterations(8)
        .kg_weight(1.0)
        .attention_epochs(20)
        .attention_lr(0.05)
}

#[test]
fn cold_items_get_vectors_from_their_genre() {
    let (m, g) = world();
    let model = params().cold_scale(1.0).fit(&m, &g, 7, |_| {}).unwrap();
    let mut s = vec![0.0; m.n_items()];
    // User 0 watches genre 0: cold film f5 (genre 0) must beat cold film f11 (genre 1).
    model.score_items(m.user_id("u0").unwrap(), &mut s);
    let score = |name: &str| s[m.item_id(name).unwrap().index()];
    assert!(
        score("f5") > score("f11"),
        "{} vs {}",
        score("f5"),
        score("f11")
    );
    model.score_items(m.user_id("u7").unwrap(), &mut s);
    let score = |name: &str| s[m.item_id(name).unwrap().index()];
    assert!(
        score("f11") > score("f5"),
        "{} vs {}",
        score("f11"),
        score("f5")
    );
    // At cold scale 1 a cold item's score is all graph, and the parts add up to the score.
    let (u0, f5) = (m.user_id("u0").unwrap(), m.item_id("f5").unwrap());
    let split = model.split(u0, f5);
    assert_eq!(split.cf, 0.0);
    assert!(split.kg != 0.0);
    model.score_items(u0, &mut s);
    assert!((split.cf + split.kg - s[f5.index()]).abs() < 1e-5);
    // At a smaller scale the score shrinks by that factor (the neighbourhood term aside).
    let half = params()
        .cold_scale(0.5)
        .attention(Attention::None)
        .fit(&m, &g, 7, |_| {})
        .unwrap();
    let full = params()
        .cold_scale(1.0)
        .attention(Attention::None)
        .fit(&m, &g, 7, |_| {})
        .unwrap();
    let (a, b) = (half.split(u0, f5), full.split(u0, f5));
    assert!(((a.cf + a.kg) - 0.5 * (b.cf + b.kg)).abs() < 1e-5);
}

#[test]
fn by_default_a_cold_item_sits_where_items_with_its_neighbourhood_sit() {
    let (m, g) = world();
    // Default: no cold scale. f5's neighbours (g0 and the hub) are exactly those of the warm films
    // f0..f4 and overlap a third with f6..f10's, so its 5 nearest are f0..f4, equally weighted:
    // it takes the direction of their mean vector and their mean norm, and so scores at least
    // their mean score (for a user they please) and close to it (they point alike).
    let model = params().fit(&m, &g, 7, |_| {}).unwrap();
    assert_eq!(model.params.cold_scale, None);
    assert_eq!(model.params.cold_neighbours, 5);
    let mut s = vec![0.0; m.n_items()];
    for (user, genre) in [("u0", 0), ("u7", 6)] {
        model.score_items(m.user_id(user).unwrap(), &mut s);
        let score = |k: usize| s[m.item_id(&format!("f{k}")).unwrap().index()];
        let warm_mean = (genre..genre + 5).map(score).sum::<f32>() / 5.0;
        let (own, other) = if genre == 0 { (5, 11) } else { (11, 5) };
        assert!(warm_mean > 0.0, "{user}: warm mean {warm_mean}");
        assert!(
            score(own) >= warm_mean * (1.0 - 1e-5) && score(own) <= 1.1 * warm_mean,
            "{user}: cold film {} vs warm mean {warm_mean}",
            score(own)
        );
        assert!(
            score(own) > score(other),
            "{user}: {} vs {}",
            score(own),
            score(other)
        );
    }
    // With one neighbour, f5 copies its nearest warm film (f0: the tie goes to the lower id).
    let one = params().cold_neighbours(1).fit(&m, &g, 7, |_| {}).unwrap();
    one.score_items(m.user_id("u0").unwrap(), &mut s);
    let score = |k: usize| s[m.item_id(&format!("f{k}")).unwrap().index()];
    assert!(
        (score(5) - score(0)).abs() < 1e-5,
        "{} vs {}",
        score(5),
        score(0)
    );
}

#[test]
fn the_neighbour_prior_pulls_a_little_known_item_towards_its_look_alikes() {
    // f5 (genre 0) has one interaction, from u7, a genre-1 user. On its own evidence it looks
    // like a genre-1 film; its look-alikes in the graph are the genre-0 films f0..f4.
    let (m, g) = world_plus(true, &[(7, 5)]);
    let fit = |w: f32| {
        params()
            .kg_weight(0.0)
            .neighbour_weight(w)
            .attention(Attention::None)
            .fit(&m, &g, 7, |_| {})
            .unwrap()
    };
    let margin = |model: &Fused| {
        let mut s = vec![0.0; m.n_items()];
        model.score_items(m.user_id("u0").unwrap(), &mut s);
        let u0 = s[m.item_id("f5").unwrap().index()];
        model.score_items(m.user_id("u8").unwrap(), &mut s);
        u0 - s[m.item_id("f5").unwrap().index()]
    };
    // How much more a genre-0 user (u0) than a genre-1 user (u8) likes f5.
    let (without, with) = (margin(&fit(0.0)), margin(&fit(20.0)));
    assert!(with > without + 0.05, "with {with}, without {without}");
}

#[test]
fn without_the_graph_it_is_als() {
    let (m, g) = world_with(false);
    let fused = params()
        .kg_weight(0.0)
        .neighbour_weight(0.0)
        .fit(&m, &g, 3, |_| {})
        .unwrap();
    let als = Als::params()
        .factors(4)
        .regularization(0.5)
        .iterations(8)
        .fit(&m, 3, |_| {})
        .unwrap();
    assert_eq!(fused.beta(), 0.0);
    let (a, b) = (fused.item_vectors(), &als.model.items);
    for (i, (ra, rb)) in a.outer_iter().zip(b.outer_iter()).enumerate() {
        for (p, q) in ra.iter().zip(rb.iter()) {
            assert!((p - q).abs() < 1e-3, "item {i}: {p} vs {q}");
        }
    }
}

/// Graph weights 0 and a catalogue with items nobody interacted with (f5, f11, linked): the
/// fit is `als`'s to the bit (users, and the items with interactions), so that tuning `cke`
/// contains tuning `als`; with `--cold-scale` (nothing places the new items then) every row is.
#[test]
fn with_both_graph_weights_at_zero_it_fits_exactly_what_als_fits() {
    let (m, g) = world();
    let degrees = m.item_degrees();
    assert!(
        degrees.contains(&0),
        "the world has items without interactions"
    );
    let off = params()
        .kg_weight(0.0)
        .neighbour_weight(0.0)
        .attention(Attention::Uniform);
    let fused = off.clone().fit(&m, &g, 5, |_| {}).unwrap();
    let als = Als::params()
        .factors(4)
        .regularization(0.5)
        .iterations(8)
        .fit(&m, 5, |_| {})
        .unwrap();
    assert_eq!(fused.users, als.model.users);
    let warm: Vec<usize> = (0..m.n_items()).filter(|&i| degrees[i] > 0).collect();
    for &i in &warm {
        assert_eq!(
            fused.item_vectors().row(i),
            als.model.items.row(i),
            "item {i}"
        );
    }
    let (mut a, mut b) = (vec![0.0; m.n_items()], vec![0.0; m.n_items()]);
    for u in 0..m.n_users() {
        let user = crate::ids::UserId(u as u32);
        fused.score_items(user, &mut a);
        als.score_items(user, &mut b);
        for &i in &warm {
            assert_eq!(a[i], b[i], "user {u}, item {i}");
        }
    }
    let scaled = off.cold_scale(1.0).fit(&m, &g, 5, |_| {}).unwrap();
    assert!(!scaled.params.places_new_items());
    assert_eq!(scaled.item_vectors(), &als.model.items);
}

/// The cold rule needs the graph and the fitted items, not the graph's terms: with both graph
/// weights 0 a linked new item (f5, f11) is still placed among its nearest items with
/// interactions, its vector theirs (not zero, not ALS's residue), and ranks for the users of
/// its genre.
#[test]
fn with_both_graph_weights_at_zero_a_linked_new_item_is_placed_by_its_neighbours() {
    let (m, g) = world();
    let model = params()
        .kg_weight(0.0)
        .neighbour_weight(0.0)
        .attention(Attention::None)
        .fit(&m, &g, 5, |_| {})
        .unwrap();
    assert!(model.params.places_new_items());
    let degrees = m.item_degrees();
    let warm: Vec<bool> = degrees.iter().map(|&c| c > 0).collect();
    let linked: Vec<bool> = (0..m.n_items()).map(|i| g.entity_of(i).is_some()).collect();
    let near = nearest::NearestItems::build(&g, &warm, &linked, 5);
    let y = model.item_vectors();
    let flat: Vec<f32> = y.iter().copied().collect();
    for film in ["f5", "f11"] {
        let i = m.item_id(film).unwrap().index();
        assert_eq!(degrees[i], 0, "{film} is new");
        let want = near.place(i, 5, &flat, 4).unwrap();
        let got = y.row(i).to_vec();
        assert!(got.iter().any(|v| *v != 0.0), "{film}: {got:?}");
        assert_eq!(got, want, "{film}");
    }
    let mut s = vec![0.0; m.n_items()];
    model.score_items(m.user_id("u0").unwrap(), &mut s);
    let score = |name: &str| s[m.item_id(name).unwrap().index()];
    assert!(
        score("f5") > score("f11"),
        "{} vs {}",
        score("f5"),
        score("f11")
    );
    // A model stored before the rule applied with the graph off reads as not placing them.
    let old = FusedParams {
        cold_without_graph: false,
        ..model.params.clone()
    };
    assert!(!old.places_new_items());
    let json = serde_json::to_string(&model.params).unwrap();
    let json = json.replace(",\"cold_without_graph\":true", "");
    assert!(!json.contains("cold_without_graph"), "{json}");
    let read: FusedParams = serde_json::from_str(&json).unwrap();
    assert!(!read.cold_without_graph);
}

#[test]
fn same_seed_same_model_and_parts_round_trip() {
    let (m, g) = world();
    let a = params().fit(&m, &g, 11, |_| {}).unwrap();
    let b = params().fit(&m, &g, 11, |_| {}).unwrap();
    assert_eq!(a.to_parts(), b.to_parts());
    let back = Fused::from_parts(a.to_parts(), a.params.clone(), g.clone()).unwrap();
    assert_eq!(back.to_parts(), a.to_parts());
    let mut parts = a.to_parts();
    parts.entities.pop();
    assert!(Fused::from_parts(parts, a.params.clone(), g).is_err());
}

#[test]
fn thread_count_does_not_change_the_model() {
    let (m, g) = world();
    let fit_on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            params()
                .attention(Attention::Learned)
                .fit(&m, &g, 5, |_| {})
                .unwrap()
                .to_parts()
        })
    };
    assert_eq!(fit_on(1), fit_on(4));
}

#[test]
fn bad_parameters_are_refused() {
    let (m, g) = world();
    assert!(params().coupling(1.5).fit(&m, &g, 0, |_| {}).is_err());
    assert!(params().warmup(8).fit(&m, &g, 0, |_| {}).is_err());
    assert!(params().negatives(0).fit(&m, &g, 0, |_| {}).is_err());
    assert!(params().cold_neighbours(0).fit(&m, &g, 0, |_| {}).is_err());
}

#[test]
fn attention_gradient_matches_finite_differences() {
    let (m, g) = world();
    let mut model = params().attention_epochs(0).fit(&m, &g, 5, |_| {}).unwrap();
    model.beta = 0.7;
    for (k, v) in model.keys.iter_mut().enumerate() {
        *v = ((k * 37 % 11) as f32 - 5.0) * 0.1;
    }
    let (u, i, j) = (2usize, 1usize, 7usize);
    let gk = model.keys.len();
    let mut grad = vec![0.0f32; gk + 1];
    super::train::attention_pair_for_tests(&model, u, i, j, &mut grad);
    let loss_at = |model: &Fused| {
        let mut sink = vec![0.0f32; gk + 1];
        super::train::attention_pair_for_tests(model, u, i, j, &mut sink)
    };
    let h = 1e-3f32;
    for k in (0..gk).step_by(3).chain([gk]) {
        let mut plus = model.clone();
        let mut minus = model.clone();
        if k == gk {
            plus.beta += h;
            minus.beta -= h;
        } else {
            plus.keys.as_slice_mut().unwrap()[k] += h;
            minus.keys.as_slice_mut().unwrap()[k] -= h;
        }
        let numeric = (loss_at(&plus) - loss_at(&minus)) / (2.0 * f64::from(h));
        assert!(
            (numeric - f64::from(grad[k])).abs() < 2e-3,
            "parameter {k}: numeric {numeric} vs analytic {}",
            grad[k]
        );
    }
}

/// Another cold rule laid on a fitted model places the new items as a fit with that rule does,
/// and leaves every other row as it was: with the graph's terms on and off.
#[test]
fn a_cold_rule_laid_on_a_fit_is_the_fit_with_that_rule() {
    let (m, g) = world();
    let warm: Vec<bool> = m.item_degrees().iter().map(|&c| c > 0).collect();
    let close = |a: &Fused, b: &Fused| {
        for (i, (ra, rb)) in a
            .item_vectors()
            .outer_iter()
            .zip(b.item_vectors().outer_iter())
            .enumerate()
        {
            for (p, q) in ra.iter().zip(rb.iter()) {
                assert!((p - q).abs() < 1e-5, "item {i}: {p} vs {q}");
            }
        }
        assert_eq!(a.params, b.params);
    };
    for base in [params(), params().kg_weight(0.0).neighbour_weight(0.0)] {
        let fitted = base.clone().fit(&m, &g, 7, |_| {}).unwrap();
        let one = base
            .clone()
            .cold_neighbours(1)
            .fit(&m, &g, 7, |_| {})
            .unwrap();
        close(&fitted.with_cold_rule(None, 1, &warm).unwrap(), &one);
        let back = one.with_cold_rule(None, 5, &warm).unwrap();
        close(&back, &fitted);
    }
    let on = params().fit(&m, &g, 7, |_| {}).unwrap();
    let scaled = params().cold_scale(1.0).fit(&m, &g, 7, |_| {}).unwrap();
    close(&on.with_cold_rule(Some(1.0), 5, &warm).unwrap(), &scaled);
}

/// Batch scoring (a matrix product without attention, per user with it) gives each user the
/// list their own scores give, and a score is its two parts' sum, with attention too.
#[test]
fn batch_lists_are_the_users_own_scores_with_and_without_attention() {
    let (m, g) = world();
    for attention in [Attention::None, Attention::Uniform] {
        let model = params()
            .attention(attention)
            .fit(&m, &g, 7, |_| {})
            .unwrap();
        assert_eq!(
            model.dot_factors().is_some(),
            attention == Attention::None || model.beta == 0.0
        );
        let users: Vec<_> = (0..m.n_users())
            .map(|u| crate::ids::UserId(u as u32))
            .collect();
        let batch = crate::cf::recommend_all(&model, &m, &users, 4, &[]);
        let mut s = vec![0.0; m.n_items()];
        for (&u, list) in users.iter().zip(&batch) {
            model.score_items(u, &mut s);
            let own = crate::cf::top_k(&s, 4, m.user_row(u).0);
            assert_eq!(list.len(), own.len());
            for (a, b) in list.iter().zip(&own) {
                assert!(
                    (a.score - b.score).abs() < 1e-5,
                    "{attention:?}: {a:?} {b:?}"
                );
            }
            for (i, score) in s.iter().enumerate() {
                let split = model.split(u, crate::ids::ItemId(i as u32));
                assert!((split.cf + split.kg - score).abs() < 1e-5, "{attention:?}");
            }
        }
    }
}
