#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The explainer on the fixtures, in a real data directory (sled + oxigraph, no mocks).

use super::*;
use crate::engine::testutil::engine_with_fixtures as fixture_engine;
use kgrec_kg::{Hop, RelationId};

/// Top-10 of user "1", explained.
fn explain_user_one(e: &Explainer) -> Explanation {
    e.recommend("1", 10, ExplainOptions::default()).unwrap()
}

#[test]
fn fused_explanations_have_checked_paths_and_parts_that_add_up() {
    let (_tmp, engine) = fixture_engine("cke");
    let e = engine.explainer(None).unwrap();
    let served = engine.served().unwrap();
    let explanation = explain_user_one(&e);
    // User 1 has 22 of the 24 fixture items: two are left to recommend.
    assert_eq!(explanation.items.len(), 2);
    let with_paths = explanation
        .items
        .iter()
        .filter(|i| !i.paths.is_empty())
        .count();
    assert!(with_paths > 0, "{explanation:#?}");
    for item in &explanation.items {
        let parts = item.score_parts;
        assert!(
            (parts.cf + parts.kg - item.score).abs() < 1e-3,
            "{item:?}: parts do not add up"
        );
        assert!(item.paths.len() <= 3);
        for p in &item.paths {
            assert!(p.steps.len() >= 2 && p.steps.len() <= 4, "{p:?}");
            assert_eq!(p.steps[0].relation, "interacted");
            assert_eq!(p.steps[0].from.user.as_deref(), Some("1"));
            let liked = p.steps[0].to.item.as_deref().unwrap();
            let liked = served.matrix.item_id(liked).unwrap();
            assert!(served.matrix.contains(UserId(0), liked));
            assert_eq!(p.steps.last().unwrap().to.iri, item.iri);
            assert!(p.text.starts_with("You liked "), "{}", p.text);
            for w in p.steps.windows(2) {
                assert_eq!(w[0].to.iri, w[1].from.iri);
            }
        }
        let scores: Vec<f32> = item.paths.iter().map(|p| p.score).collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    }
    // Deterministic.
    assert_eq!(explain_user_one(&e), explanation);
}

#[test]
fn a_step_that_is_not_a_triple_of_the_store_drops_the_path() {
    let (_tmp, engine) = fixture_engine("pop");
    let e = engine.explainer(None).unwrap();
    let served = engine.served().unwrap();
    let index = &served.index;
    let entity = |iri: &str| index.entity_id(iri).unwrap().unwrap();
    let relation = |iri: &str| index.relation_id(iri).unwrap().unwrap();
    let toy_story = entity("http://dbpedia.org/resource/Toy_Story");
    let lasseter = entity("http://dbpedia.org/resource/John_Lasseter");
    let director = relation("http://dbpedia.org/ontology/director");
    let starring: RelationId = relation("http://dbpedia.org/ontology/starring");
    let user = served.history(e.user_id("1").unwrap());
    let history: HashMap<EntityId, ItemId> =
        [(toy_story, e.item_id("1").unwrap())].into_iter().collect();
    let path = |relation, walk| GraphPath {
        hops: vec![Hop {
            from: toy_story,
            relation,
            walk,
            to: lasseter,
        }],
        score: 1.0,
    };
    let real = e
        .checked_path("1", &user, &history, &path(director, Walk::Forward))
        .unwrap()
        .expect("Toy Story is directed by John Lasseter");
    assert_eq!(real.text, "You liked Toy Story, directed by John Lasseter");
    assert_eq!(real.steps[1].direction, Some(Direction::Forward));
    // The same edge the wrong way round, and a relation the pair does not have: dropped.
    for (r, w) in [(director, Walk::Inverse), (starring, Walk::Forward)] {
        assert_eq!(
            e.checked_path("1", &user, &history, &path(r, w)).unwrap(),
            None,
            "{r:?} {w:?}"
        );
    }
    // A history item the user does not have: dropped.
    let stranger = served.history(e.user_id("551").unwrap());
    assert!(!stranger.contains(e.item_id("1").unwrap()));
    assert_eq!(
        e.checked_path("551", &stranger, &history, &path(director, Walk::Forward))
            .unwrap(),
        None
    );
}

#[test]
fn collaborative_models_split_nothing_and_still_find_paths() {
    let (_tmp, engine) = fixture_engine("als");
    let e = engine.explainer(None).unwrap();
    let explanation = explain_user_one(&e);
    assert!(explanation.items.iter().any(|i| !i.paths.is_empty()));
    for item in &explanation.items {
        assert_eq!(item.score_parts.kg, 0.0);
        assert!((item.score_parts.cf - item.score).abs() < 1e-4);
    }
    let bad = ExplainOptions {
        hops: 4,
        ..ExplainOptions::default()
    };
    let err = e
        .explain("1", Some(UserId(0)), &[], ListSource::Model, bad)
        .unwrap_err();
    assert!(err.is_bad_input(), "{err}");
    assert!(e.user_id("nobody").unwrap_err().is_bad_input());
    assert!(e.item_id("nothing").unwrap_err().is_bad_input());
}
