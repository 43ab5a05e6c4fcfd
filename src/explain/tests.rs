#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The explainer on the fixtures, in a real data directory (sled + oxigraph, no mocks).

use super::*;
use crate::cli::{FitArgs, ImportInteractionsArgs, ImportKgArgs, ModelName, TrainArgs};
use crate::commands::{Output, import_interactions, import_kg, train};
use crate::datadir::{DataDir, OpenMode};
use crate::recommend::bind;
use crate::store::{InteractionStore, ModelStore};
use kgrec_kg::{Hop, RelationId};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// A data directory holding the fixtures and a trained model of kind `model`.
fn fixture_dir(model: ModelName) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let kg = ImportKgArgs {
        files: vec![fixture("movies.ttl")],
        format: None,
        base: None,
        lenient: false,
    };
    import_kg(data, &kg, &Output::new(true)).unwrap();
    let interactions = ImportInteractionsArgs {
        file: fixture("interactions.tsv"),
        format: None,
        link: Some(fixture("links.tsv")),
        min_rating: None,
    };
    import_interactions(data, &interactions, true).unwrap();
    let fit = FitArgs {
        model,
        dim: None,
        epochs: None,
        seed: 0,
        reg: None,
        alpha: None,
        lr: None,
        kg_weight: None,
        neighbour_weight: None,
        attention: None,
        cold_scale: None,
        cold_neighbours: None,
    };
    train(data, &TrainArgs { fit, keep: 1 }, true).unwrap();
    tmp
}

struct Loaded {
    dir: DataDir,
    snapshot: Snapshot,
    matrix: InteractionMatrix,
}

fn load(data: &Path) -> (Loaded, Serving) {
    let dir = DataDir::open(data, OpenMode::MustExist).unwrap();
    let snapshot = InteractionStore::open(dir.db()).unwrap().load().unwrap();
    let matrix = snapshot.matrix().unwrap();
    let stored = ModelStore::open(dir.db()).unwrap().load_current().unwrap();
    let serving = bind(stored, &snapshot, dir.kg().index()).unwrap();
    (
        Loaded {
            dir,
            snapshot,
            matrix,
        },
        serving,
    )
}

fn explainer<'a>(l: &'a Loaded, model: &'a Serving) -> Explainer<'a> {
    let rdf = l.dir.kg().rdf_store().unwrap();
    Explainer::new(l.dir.kg().index(), rdf, &l.snapshot, &l.matrix, model).unwrap()
}

/// Top-10 of user "1", explained.
fn explain_user_one(e: &Explainer<'_>) -> Explanation {
    e.recommend("1", 10, ExplainOptions::default()).unwrap()
}

#[test]
fn fused_explanations_have_checked_paths_and_parts_that_add_up() {
    let tmp = fixture_dir(ModelName::Cke);
    let (l, model) = load(tmp.path());
    let e = explainer(&l, &model);
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
            let liked = l.matrix.item_id(liked).unwrap();
            assert!(l.matrix.contains(UserId(0), liked));
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
    let tmp = fixture_dir(ModelName::Pop);
    let (l, model) = load(tmp.path());
    let e = explainer(&l, &model);
    let index = l.dir.kg().index();
    let entity = |iri: &str| index.entity_id(iri).unwrap().unwrap();
    let relation = |iri: &str| index.relation_id(iri).unwrap().unwrap();
    let toy_story = entity("http://dbpedia.org/resource/Toy_Story");
    let lasseter = entity("http://dbpedia.org/resource/John_Lasseter");
    let director = relation("http://dbpedia.org/ontology/director");
    let starring: RelationId = relation("http://dbpedia.org/ontology/starring");
    let user = e.user_id("1").unwrap();
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
        .checked_path("1", user, &history, &path(director, Walk::Forward))
        .unwrap()
        .expect("Toy Story is directed by John Lasseter");
    assert_eq!(real.text, "You liked Toy Story, directed by John Lasseter");
    assert_eq!(real.steps[1].direction, Some(Direction::Forward));
    // The same edge the wrong way round, and a relation the pair does not have: dropped.
    for (r, w) in [(director, Walk::Inverse), (starring, Walk::Forward)] {
        assert_eq!(
            e.checked_path("1", user, &history, &path(r, w)).unwrap(),
            None,
            "{r:?} {w:?}"
        );
    }
    // A history item the user does not have: dropped.
    let stranger = e.user_id("551").unwrap();
    assert!(!l.matrix.contains(stranger, e.item_id("1").unwrap()));
    assert_eq!(
        e.checked_path("551", stranger, &history, &path(director, Walk::Forward))
            .unwrap(),
        None
    );
}

#[test]
fn collaborative_models_split_nothing_and_still_find_paths() {
    let tmp = fixture_dir(ModelName::Als);
    let (l, model) = load(tmp.path());
    let e = explainer(&l, &model);
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
        .explain("1", Some(UserId(0)), &[], false, bad)
        .unwrap_err();
    assert!(err.is_bad_input(), "{err}");
    assert!(e.user_id("nobody").unwrap_err().is_bad_input());
    assert!(e.item_id("nothing").unwrap_err().is_bad_input());
}
