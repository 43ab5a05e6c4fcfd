//! The engine on the fixtures, in a real data directory (sled and oxigraph, no mocks): fold-in of
//! users who arrive after training, atomic swaps while other threads read, read-only opens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::testutil::engine_with_fixtures;
use super::*;
use crate::learners::Overrides;

fn row(user: &str, item: &str) -> RawInteraction {
    RawInteraction {
        user: user.to_owned(),
        item: item.to_owned(),
        rating: None,
        timestamp: None,
        count: 1,
    }
}

/// A user who arrives after training is folded in by ALS and cke (flagged), never offered
/// their own items, and ranked differently from the popularity list.
#[test]
fn new_users_are_folded_in_by_als_and_cke() {
    for model in ["als", "cke"] {
        let (_tmp, engine) = engine_with_fixtures(model);
        let served = engine.served().unwrap();
        let items: Vec<String> = served.snapshot.items.iter().take(6).cloned().collect();
        let rows = items.iter().take(3).map(|i| row("newcomer", i)).collect();
        engine.add_interactions(rows, Vec::new()).unwrap();
        let recs = engine
            .recommend(&RecommendRequest::new("newcomer", 5))
            .unwrap();
        assert_eq!(recs.source, ListSource::FoldedIn, "{model}");
        assert!(recs.stale, "{model}: the model predates the newcomer");
        assert_eq!(recs.items.len(), 5);
        for i in &recs.items {
            assert!(
                !items[..3].contains(&i.item),
                "{model}: {} is theirs",
                i.item
            );
        }
        // Someone nobody has heard of gets the popularity fallback.
        let stranger = engine
            .recommend(&RecommendRequest::new("stranger", 5))
            .unwrap();
        assert_eq!(stranger.source, ListSource::Popularity);
        // Explanations work for the folded-in user too.
        let request = RecommendRequest {
            explain: Some(ExplainOptions::default()),
            ..RecommendRequest::new("newcomer", 3)
        };
        let explained = engine.recommend(&request).unwrap().explanation.unwrap();
        assert!(explained.folded_in);
        for item in &explained.items {
            let p = item.score_parts;
            assert!((p.cf + p.kg - item.score).abs() < 1e-3, "{model}: {item:?}");
        }
    }
}

/// The exclude list is honoured and unknown ids in it are ignored.
#[test]
fn excluded_items_never_come_back() {
    let (_tmp, engine) = engine_with_fixtures("als");
    let first = engine.recommend(&RecommendRequest::new("1", 2)).unwrap();
    assert_eq!(first.source, ListSource::Model);
    let top = first.items[0].item.clone();
    let request = RecommendRequest {
        exclude: vec![top.clone(), "no-such-item".to_owned()],
        ..RecommendRequest::new("1", 2)
    };
    let second = engine.recommend(&request).unwrap();
    assert!(second.items.iter().all(|i| i.item != top));
    assert_eq!(
        second.items.first().map(|i| &i.item),
        first.items.get(1).map(|i| &i.item)
    );
}

/// Readers on other threads keep getting complete answers while a training swaps the model.
#[test]
fn requests_run_on_many_threads_while_a_training_swaps_the_model() {
    let (_tmp, engine) = engine_with_fixtures("als");
    let users = engine.users().unwrap();
    std::thread::scope(|scope| {
        for t in 0..3 {
            let engine = engine.clone();
            let users = users.clone();
            scope.spawn(move || {
                for user in users.iter().skip(t).step_by(3).cycle().take(60) {
                    let recs = engine.recommend(&RecommendRequest::new(user, 3)).unwrap();
                    let served = engine.served().unwrap();
                    let id = served.matrix.user_id(user).unwrap();
                    let left = served.matrix.n_items() - served.matrix.user_row(id).0.len();
                    assert_eq!(recs.items.len(), left.min(3), "{user}");
                }
            });
        }
        let request = TrainRequest {
            spec: ModelSpec::new("pop", &Overrides::default()).unwrap(),
            ..TrainRequest::default()
        };
        engine
            .train(&request, &mut |_| {}, &AtomicBool::new(false))
            .unwrap();
    });
    let (headers, current) = engine.models().unwrap();
    assert_eq!(headers.len(), 2);
    assert_eq!(
        engine.served().unwrap().model.header.version,
        current.unwrap()
    );
    assert_eq!(
        engine.served().unwrap().model.header.kind,
        crate::learners::ModelKind::Popularity
    );
}

/// A cancelled training writes nothing; a read-only engine refuses writes.
#[test]
fn cancelled_trainings_and_read_only_engines_write_nothing() {
    let (tmp, engine) = engine_with_fixtures("pop");
    let before = engine.models().unwrap();
    let err = engine
        .train(
            &TrainRequest::default(),
            &mut |_| {},
            &AtomicBool::new(true),
        )
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err}");
    assert_eq!(engine.models().unwrap().0.len(), before.0.len());
    drop(engine);
    let ro = Engine::open_read_only(&tmp.path().join("data")).unwrap();
    assert!(
        ro.add_interactions(vec![row("a", "b")], Vec::new())
            .is_err()
    );
    assert!(
        ro.train(
            &TrainRequest::default(),
            &mut |_| {},
            &AtomicBool::new(false)
        )
        .is_err()
    );
    assert_eq!(ro.stats().unwrap().users, 40);
}

/// `offset` pages through the full list: ranks continue, and only the page is explained.
#[test]
fn offset_pages_through_the_list() {
    let (_tmp, engine) = engine_with_fixtures("cke");
    // Fixture user 1 has 22 of the 24 items: 2 are left to recommend.
    let full = engine.recommend(&RecommendRequest::new("1", 5)).unwrap();
    assert_eq!(full.items.len(), 2);
    let request = RecommendRequest {
        offset: 1,
        explain: Some(ExplainOptions::default()),
        ..RecommendRequest::new("1", 5)
    };
    let page = engine.recommend(&request).unwrap();
    assert_eq!(page.items, full.items[1..].to_vec());
    let explained = page.explanation.unwrap();
    let ranks: Vec<Option<usize>> = explained.items.iter().map(|i| i.rank).collect();
    assert_eq!(ranks, vec![Some(2)]);
    let names: Vec<&str> = explained.items.iter().map(|i| i.item.as_str()).collect();
    let expected: Vec<&str> = full.items[1..].iter().map(|i| i.item.as_str()).collect();
    assert_eq!(names, expected);
    // Past the end: an empty page, not an error.
    let request = RecommendRequest {
        offset: 10_000,
        ..RecommendRequest::new("1", 3)
    };
    assert!(engine.recommend(&request).unwrap().items.is_empty());
}

/// Once `add_interactions` has returned, the served state includes the rows, even while other
/// threads keep binding and reading it (a state bound from older data is never published
/// after the write).
#[test]
fn a_returned_write_is_served_at_once_under_concurrent_readers() {
    let (_tmp, engine) = engine_with_fixtures("als");
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..3 {
            let engine = engine.clone();
            let stop = &stop;
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    engine.recommend(&RecommendRequest::new("1", 3)).unwrap();
                }
            });
        }
        for n in 0..15 {
            let user = format!("online-{n}");
            engine
                .add_interactions(vec![row(&user, "1"), row(&user, "2")], Vec::new())
                .unwrap();
            let served = engine.served().unwrap();
            assert!(served.matrix.user_id(&user).is_some(), "{user} not served");
            let recs = engine.recommend(&RecommendRequest::new(&user, 30)).unwrap();
            assert!(recs.items.iter().all(|i| i.item != "1" && i.item != "2"));
        }
        stop.store(true, Ordering::Relaxed);
    });
}

/// Rows given in memory are checked before anything is written.
#[test]
fn bad_online_rows_are_refused_whole() {
    let (_tmp, engine) = engine_with_fixtures("pop");
    let before = engine.stats().unwrap();
    let nan = RawInteraction {
        rating: Some(f32::NAN),
        ..row("a", "b")
    };
    for (rows, needle) in [
        (
            vec![row("ok", "1"), row("", "1")],
            "interaction 2: the user id is empty",
        ),
        (vec![row("a", "x\ty")], "holds a control character"),
        (vec![nan], "not a finite number"),
    ] {
        let err = engine.add_interactions(rows, Vec::new()).unwrap_err();
        assert!(err.to_string().contains(needle), "{err}");
        assert_eq!(err.exit_code(), 2);
    }
    let after = engine.stats().unwrap();
    assert_eq!(
        (after.users, after.interactions),
        (before.users, before.interactions)
    );
}

/// Errors say whether the request named something missing or nothing can be served yet.
#[test]
fn errors_classify_missing_things_and_missing_models() {
    let (_tmp, engine) = engine_with_fixtures("als");
    let err = engine.similar("no-such-item", 3).unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = engine
        .explain("no-such-user", "1", ExplainOptions::default(), None)
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(!err.is_no_model());

    let tmp = tempfile::tempdir().unwrap();
    let empty = Engine::create(&tmp.path().join("data")).unwrap();
    let err = empty.served().unwrap_err();
    assert!(err.is_no_model(), "{err}");
    assert!(!err.is_not_found());
}

/// A cancel raised during the fit stops every learner at the next epoch boundary, with nothing
/// written.
#[test]
fn a_cancel_during_the_fit_stops_it_between_epochs() {
    let (_tmp, engine) = engine_with_fixtures("pop");
    let before = engine.models().unwrap().0.len();
    for model in ["als", "bpr", "cke", "transe"] {
        let cancel = AtomicBool::new(false);
        let mut seen = 0;
        let request = TrainRequest {
            spec: ModelSpec::new(model, &Overrides::default()).unwrap(),
            ..TrainRequest::default()
        };
        let err = engine
            .train(
                &request,
                &mut |r| {
                    seen = r.epoch;
                    if r.epoch == 2 {
                        cancel.store(true, Ordering::Relaxed);
                    }
                },
                &cancel,
            )
            .unwrap_err();
        assert!(matches!(err, Error::Cancelled), "{model}: {err}");
        assert_eq!(seen, 2, "{model}: stopped after the epoch that raised it");
        assert_eq!(
            engine.models().unwrap().0.len(),
            before,
            "{model}: nothing written"
        );
    }
}
