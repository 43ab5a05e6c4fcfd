//! The engine on the fixtures, in a real data directory (sled and oxigraph, no mocks): fold-in of
//! users who arrive after training, atomic swaps while other threads read, read-only opens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::testutil::{engine_with_fixtures, train_default};
use super::*;
use crate::learners::Overrides;

fn row(user: &str, item: &str) -> RawInteraction {
    RawInteraction {
        user: user.to_owned(),
        item: item.to_owned(),
        rating: None,
        timestamp: None,
        count: 1,
        stamps: Vec::new(),
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
        // So does a newcomer whose only item is new since training: the model knows nothing
        // of it, and a fold-in would rank from zeros.
        engine
            .add_interactions(vec![row("ghost", "an-item-new-since-training")], Vec::new())
            .unwrap();
        let ghost = engine
            .recommend(&RecommendRequest::new("ghost", 5))
            .unwrap();
        assert_eq!(ghost.source, ListSource::Popularity, "{model}");
        assert_eq!(ghost.items.len(), 5, "{model}");
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
        train_default(&engine, "pop");
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

/// Raises its flag when dropped, so that threads looping until it is raised stop even when an
/// assertion of the scope's body fails (the scope waits for them before it panics).
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Once `add_interactions` has returned, the served state includes the rows, even while other
/// threads keep reading and trainings keep dropping the served state (a state bound from older
/// data takes in the writes that ended while it was bound before it is published).
#[test]
fn a_returned_write_is_served_at_once_under_concurrent_readers_and_rebinds() {
    let (_tmp, engine) = engine_with_fixtures("als");
    let fixture_users = engine.users().unwrap();
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let engine = engine.clone();
            let stop = &stop;
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    engine.recommend(&RecommendRequest::new("1", 3)).unwrap();
                }
            });
        }
        let trainer = engine.clone();
        let stop_training = &stop;
        scope.spawn(move || {
            let request = TrainRequest {
                spec: ModelSpec::new("als", &Overrides::default()).unwrap(),
                ..TrainRequest::default()
            };
            while !stop_training.load(Ordering::Relaxed) {
                trainer
                    .train(&request, &mut |_| {}, &AtomicBool::new(false))
                    .unwrap();
            }
        });
        let _stop = StopOnDrop(&stop);
        for n in 0..40 {
            let user = format!("online-{n}");
            engine
                .add_interactions(vec![row(&user, "1"), row(&user, "2")], Vec::new())
                .unwrap();
            let served = engine.served().unwrap();
            assert!(served.user_id(&user).is_some(), "{user} not served");
            let recs = engine.recommend(&RecommendRequest::new(&user, 30)).unwrap();
            assert!(recs.items.iter().all(|i| i.item != "1" && i.item != "2"));
            // Folded in, or trained with: a training that began after the write returned
            // read the user's rows and may have been published since.
            assert!(
                matches!(recs.source, ListSource::FoldedIn | ListSource::Model),
                "{user}: {:?}",
                recs.source
            );
            // A trained user's new item leaves their list at once too.
            let trained = &fixture_users[n % fixture_users.len()];
            let top = engine
                .recommend(&RecommendRequest::new(trained, 1))
                .unwrap();
            if let Some(item) = top.items.first() {
                engine
                    .add_interactions(vec![row(trained, &item.item)], Vec::new())
                    .unwrap();
                let next = engine
                    .recommend(&RecommendRequest::new(trained, 30))
                    .unwrap();
                assert!(
                    next.items.iter().all(|i| i.item != item.item),
                    "{}",
                    item.item
                );
            }
        }
    });
}

/// A state bound while interactions were written takes them in before it is published; one
/// bound while a training committed is used once and not published.
#[test]
fn a_binding_overtaken_by_writes_catches_up_or_is_not_published() {
    let (_tmp, engine) = engine_with_fixtures("als");
    let retrain = || {
        engine
            .train(
                &TrainRequest::default(),
                &mut |_| {},
                &AtomicBool::new(false),
            )
            .unwrap()
    };
    retrain();
    let served = engine
        .served_bound_by(|| {
            let bound = engine.bind_version(None)?;
            engine.add_interactions(vec![row("late", "1"), row("1", "2")], Vec::new())?;
            Ok(bound)
        })
        .unwrap();
    assert!(
        served.snapshot.users.iter().all(|u| u != "late"),
        "bound before the write"
    );
    assert!(Arc::ptr_eq(&served, &engine.served().unwrap()), "published");
    let late = served.user_id("late").expect("the write was taken in");
    assert!(
        served
            .history(late)
            .contains(served.matrix.item_id("1").unwrap())
    );
    assert!(served.stale());

    retrain();
    let overtaken = engine
        .served_bound_by(|| {
            let bound = engine.bind_version(None)?;
            retrain();
            Ok(bound)
        })
        .unwrap();
    let current = engine.served().unwrap();
    assert!(!Arc::ptr_eq(&overtaken, &current), "not published");
    assert_ne!(overtaken.model.header.version, current.model.header.version);
}

/// Written rows go into the served state's overlay: the same state keeps serving (no rebind),
/// a trained user's new items leave their list, a new user is folded in, the batch lists see
/// both; an item new to the store is stored but neither recommended nor explained until a
/// training binds it; links and trainings bind again.
#[test]
fn writes_update_the_served_state_without_rebinding_it() {
    let (_tmp, engine) = engine_with_fixtures("cke");
    let before = engine.served().unwrap();
    assert!(!before.stale());
    // Fixture user 1 was trained on and has 2 of the 24 items left to recommend.
    let top = engine.recommend(&RecommendRequest::new("1", 3)).unwrap();
    let taken = top.items[0].item.clone();
    let newcomer: Vec<String> = before.snapshot.items.iter().take(5).cloned().collect();
    let mut rows: Vec<RawInteraction> = newcomer.iter().map(|i| row("newcomer", i)).collect();
    rows.push(row("1", &taken));
    rows.push(row("1", "brand-new-item"));
    let written = engine.add_interactions(rows, Vec::new()).unwrap();
    assert_eq!((written.report.new_users, written.report.new_items), (1, 1));
    let served = engine.served().unwrap();
    assert!(
        Arc::ptr_eq(&before, &served),
        "the served state was bound again"
    );
    assert!(served.stale(), "the model predates the rows");

    let after = engine.recommend(&RecommendRequest::new("1", 3)).unwrap();
    assert_eq!(after.source, ListSource::Model);
    assert!(
        after.items.iter().all(|i| i.item != taken),
        "{taken} is theirs now"
    );
    assert_eq!(after.items[0].item, top.items[1].item);
    let folded = engine
        .recommend(&RecommendRequest::new("newcomer", 30))
        .unwrap();
    assert_eq!(folded.source, ListSource::FoldedIn);
    assert!(folded.items.iter().all(|i| !newcomer.contains(&i.item)));
    assert!(folded.items.iter().all(|i| i.item != "brand-new-item"));
    let (explained, _) = engine
        .explain(
            "newcomer",
            &folded.items[0].item,
            ExplainOptions::default(),
            None,
        )
        .unwrap();
    assert!(explained.folded_in);

    let batch = engine.recommend_all(30, None).unwrap();
    let lists: HashMap<&str, Vec<&str>> = batch
        .users
        .iter()
        .map(|u| {
            (
                u.user.as_str(),
                u.items.iter().map(|(i, _)| i.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(lists.len(), 41, "the 40 fixture users and the newcomer");
    assert!(!lists["1"].contains(&taken.as_str()));
    assert!(
        lists["newcomer"]
            .iter()
            .all(|i| !newcomer.iter().any(|n| n == i))
    );
    assert!(engine.users().unwrap().contains(&"newcomer".to_owned()));

    // The new item: stored, known to be new, not an unknown id.
    let err = engine
        .similar("brand-new-item", 3, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("added after the model was trained"), "{err}");
    let err = engine
        .explain("1", "brand-new-item", ExplainOptions::default(), None)
        .unwrap_err();
    assert!(err.to_string().contains("arrived after"), "{err}");
    assert_eq!(err.exit_code(), 2);
    let excluding = RecommendRequest {
        exclude: vec!["brand-new-item".to_owned()],
        ..RecommendRequest::new("1", 3)
    };
    assert!(
        engine
            .recommend(&excluding)
            .unwrap()
            .unknown_excluded
            .is_empty()
    );

    // A training binds again, and then the new item is the model's.
    engine
        .train(
            &TrainRequest::default(),
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
    let rebound = engine.served().unwrap();
    assert!(!Arc::ptr_eq(&served, &rebound));
    assert!(rebound.matrix.item_id("brand-new-item").is_some());
    assert!(!rebound.stale());
    // Links change what the model is bound to: they bind again too.
    let link = ItemLink {
        item: "brand-new-item".to_owned(),
        iri: "http://dbpedia.org/resource/Toy_Story".to_owned(),
    };
    engine
        .add_interactions(vec![row("3", "brand-new-item")], vec![link])
        .unwrap();
    assert!(!Arc::ptr_eq(&rebound, &engine.served().unwrap()));
}

/// Many threads writing single rows at once: every acknowledged row is stored (and survives
/// reopening), the writes were committed in groups (fewer flushes than writes), and a bad row
/// fails only its own caller.
#[test]
fn concurrent_writers_share_group_commits_and_every_acknowledged_row_is_stored() {
    let (tmp, engine) = engine_with_fixtures("als");
    let items = engine.served().unwrap().snapshot.items.clone();
    assert_eq!(items.len(), 24);
    let before = engine.stats().unwrap().interactions;
    let start = engine.ingest_stats();
    let (threads, per_thread) = (16, 24);
    let acknowledged: Vec<(String, String)> = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..threads)
            .map(|t| {
                let engine = engine.clone();
                let items = &items;
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    for n in 0..per_thread {
                        let user = format!("w{t}");
                        let item = items[(n * 7 + t) % 24].clone();
                        if n % 10 == 3 && t % 4 == 0 {
                            let bad = engine.add_interactions(vec![row(&user, "")], Vec::new());
                            assert_eq!(bad.unwrap_err().exit_code(), 2);
                        }
                        let r = engine
                            .add_interactions(vec![row(&user, &item)], Vec::new())
                            .unwrap();
                        assert_eq!(r.report.new_interactions, 1, "{user} {item}");
                        mine.push((user, item));
                    }
                    mine
                })
            })
            .collect();
        writers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let stats = engine.ingest_stats();
    let writes = stats.writes - start.writes;
    assert_eq!(writes, (threads * per_thread) as u64);
    assert_eq!(stats.rows - start.rows, writes);
    let flushes = stats.flushes - start.flushes;
    assert!(
        flushes >= 1 && flushes < writes,
        "{flushes} flushes for {writes} writes"
    );
    assert_eq!(
        engine.stats().unwrap().interactions,
        before + acknowledged.len() as u64
    );
    let served = engine.served().unwrap();
    for (user, item) in &acknowledged {
        let u = served.user_id(user).unwrap();
        let i = served.matrix.item_id(item).unwrap();
        assert!(served.history(u).contains(i), "{user} {item} not served");
    }
    drop((served, engine));
    let reopened = Engine::open(&tmp.path().join("data")).unwrap();
    let snapshot = reopened
        .read(|dir| Ok(InteractionStore::open(dir.db())?.load()?))
        .unwrap();
    let stored: HashSet<(&str, &str)> = snapshot
        .records
        .iter()
        .map(|r| {
            (
                snapshot.users[r.user.index()].as_str(),
                snapshot.items[r.item.index()].as_str(),
            )
        })
        .collect();
    for (user, item) in &acknowledged {
        assert!(
            stored.contains(&(user.as_str(), item.as_str())),
            "{user} {item} lost"
        );
    }
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
    let err = engine.similar("no-such-item", 3, None).unwrap_err();
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

/// The ids of a list, in order.
fn ids(recs: &Recommendations) -> Vec<String> {
    recs.items.iter().map(|i| i.item.clone()).collect()
}

/// The ids of a list, sorted.
fn sorted(recs: &Recommendations) -> Vec<String> {
    let mut ids = ids(recs);
    ids.sort();
    ids
}

/// A top-10 request for `user` restricted by `filter`.
fn filtered(user: &str, filter: &[&str]) -> RecommendRequest {
    RecommendRequest {
        filter: Filter::parse(filter).unwrap(),
        ..RecommendRequest::new(user, 10)
    }
}

const ANIMATED: &str = "dct:subject=dbc:1990s_American_animated_films";
const COMEDY: &str = "dct:subject=dbc:1990s_comedy_films";

/// The fixture's 1990s American animated films are Toy Story (item 1), The Lion King (71) and
/// Aladdin (95); the comedies among them Toy Story and Aladdin. User 653 has Toy Story, not the
/// other two.
#[test]
fn filters_keep_the_items_with_the_graph_facts_in_the_model_order() {
    let (_tmp, engine) = engine_with_fixtures("cke");
    let recs = engine.recommend(&filtered("653", &[ANIMATED])).unwrap();
    let got = sorted(&recs);
    assert_eq!(got, ["71", "95"]);
    let summary = recs.filter.as_ref().unwrap();
    assert_eq!(summary.matching_items, 3);
    assert_eq!(
        summary.conditions,
        [
            "<http://purl.org/dc/terms/subject>=<http://dbpedia.org/resource/Category:1990s_American_animated_films>"
        ]
    );
    // The fixture's 40 users × 24 items at the default regularisation give cke one direction:
    // the collapse note follows.
    let note = recs.note.as_deref().unwrap();
    assert!(
        note.starts_with(
            "only 2 items satisfy the filter outside the user's history and the excluded ones"
        ),
        "{note}"
    );
    // The same order and scores as the unfiltered list.
    let all = engine.recommend(&RecommendRequest::new("653", 24)).unwrap();
    let kept: Vec<&RecommendedItem> = all.items.iter().filter(|i| got.contains(&i.item)).collect();
    assert_eq!(recs.items.len(), kept.len());
    for (mine, theirs) in recs.items.iter().zip(kept) {
        assert_eq!((&mine.item, mine.score), (&theirs.item, theirs.score));
    }
    assert_eq!(recs.items[0].rank, 1);
    let json = serde_json::to_value(recs.list_json()).unwrap();
    assert_eq!(json["filter"]["matching_items"], 3, "{json}");
    assert!(json["note"].is_string(), "{json}");
    // Unfiltered answers carry no filter, and no note but the collapse's.
    let json = serde_json::to_value(all.list_json()).unwrap();
    assert!(
        json.get("filter").is_none()
            && json.get("note").is_none_or(|n| n
                .as_str()
                .is_some_and(|n| n.starts_with("model v1 cke collapsed"))),
        "{json}"
    );

    // Conditions AND together; values of one condition OR together.
    let both = engine
        .recommend(&filtered("653", &[ANIMATED, COMEDY]))
        .unwrap();
    assert_eq!(ids(&both), ["95"]);
    assert_eq!(both.filter.as_ref().unwrap().matching_items, 2);
    let either = engine
        .recommend(&filtered(
            "653",
            &["dct:subject=dbc:1990s_comedy_films|dbc:1990s_adventure_films"],
        ))
        .unwrap();
    let got = sorted(&either);
    assert_eq!(got, ["71", "95"], "653 has Toy Story and Jurassic Park");
    let stranger_either = engine
        .recommend(&filtered(
            "stranger",
            &["dct:subject=dbc:1990s_comedy_films|dbc:1990s_adventure_films"],
        ))
        .unwrap();
    assert_eq!(
        sorted(&stranger_either),
        ["1", "71", "82", "95"],
        "Jurassic Park is an adventure"
    );

    // With exclude, offset and explanations.
    let request = RecommendRequest {
        exclude: vec!["95".to_owned()],
        explain: Some(ExplainOptions::default()),
        ..filtered("653", &[ANIMATED])
    };
    let explained = engine.recommend(&request).unwrap();
    assert_eq!(ids(&explained), ["71"]);
    let explanation = explained.explanation.as_ref().unwrap();
    assert_eq!(explanation.items.len(), 1);
    assert_eq!(explanation.items[0].item, "71");
    let json = serde_json::to_value(explained.explained_json().unwrap()).unwrap();
    assert_eq!(json["items"][0]["item"], "71", "{json}");
    assert_eq!(json["filter"]["matching_items"], 3, "{json}");
    let second = RecommendRequest {
        offset: 1,
        k: 1,
        ..filtered("653", &[ANIMATED])
    };
    let second = engine.recommend(&second).unwrap();
    assert_eq!(ids(&second), [ids(&recs)[1].clone()]);
    assert_eq!(second.items[0].rank, 2);
    // A full page needs no note of the filter's (the collapse's is the model's).
    assert!(
        second
            .note
            .as_deref()
            .is_none_or(|n| n.starts_with("model v1 cke collapsed")),
        "{:?}",
        second.note
    );

    // The popularity fallback is filtered too.
    let stranger = engine
        .recommend(&filtered("stranger", &[ANIMATED]))
        .unwrap();
    assert_eq!(stranger.source, ListSource::Popularity);
    let got = sorted(&stranger);
    assert_eq!(got, ["1", "71", "95"]);
}

#[test]
fn a_filter_that_matches_nothing_is_an_empty_list_and_an_unknown_name_an_error() {
    let (_tmp, engine) = engine_with_fixtures("als");
    let none = engine
        .recommend(&filtered("653", &["dbo:director=dbr:Al_Pacino"]))
        .unwrap();
    assert!(none.items.is_empty());
    assert_eq!(
        none.note.as_deref(),
        Some("no entity of the graph satisfies the filter")
    );
    assert_eq!(none.filter.as_ref().unwrap().matching_items, 0);
    // User 1 has all three animated films.
    let theirs = engine.recommend(&filtered("1", &[ANIMATED])).unwrap();
    assert!(theirs.items.is_empty());
    assert_eq!(
        theirs.note.as_deref(),
        Some("every item that satisfies the filter (3 items) is in the user's history or excluded")
    );
    // Films are linked; their directors are not.
    let directors = engine
        .recommend(&filtered("653", &["rdfs:label=\"John Lasseter\"@en"]))
        .unwrap();
    assert!(directors.items.is_empty());
    assert!(
        directors
            .note
            .as_deref()
            .unwrap()
            .starts_with("no item is linked to the entities that satisfy the filter (1 entity"),
        "{:?}",
        directors.note
    );
    for (filter, needle) in [
        (
            "dbo:genre=dbr:Comedy_film",
            "the graph has no predicate dbo:genre",
        ),
        (
            "dct:subject=dbc:Comedy",
            "the graph has no entity dbc:Comedy",
        ),
    ] {
        let err = engine.recommend(&filtered("653", &[filter])).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{err}");
        assert!(err.to_string().contains(needle), "{err}");
    }
}

/// A user who arrives after training is folded in, and the filter applies to their list.
#[test]
fn folded_in_users_get_filtered_lists() {
    let (_tmp, engine) = engine_with_fixtures("als");
    engine
        .add_interactions(
            vec![row("newcomer", "1"), row("newcomer", "50")],
            Vec::new(),
        )
        .unwrap();
    let recs = engine
        .recommend(&filtered("newcomer", &[ANIMATED]))
        .unwrap();
    assert_eq!(recs.source, ListSource::FoldedIn);
    let got = sorted(&recs);
    assert_eq!(got, ["71", "95"]);
}

#[test]
fn an_exhausted_explain_budget_truncates_the_explanation_instead_of_failing() {
    let (_tmp, engine) = engine_with_fixtures("cke");
    let explain = |budget: Option<std::time::Duration>| {
        let request = RecommendRequest {
            explain: Some(ExplainOptions {
                budget,
                ..ExplainOptions::default()
            }),
            ..RecommendRequest::new("653", 2)
        };
        engine.recommend(&request).unwrap().explanation.unwrap()
    };
    let full = explain(None);
    assert!(!full.truncated);
    assert!(full.items.iter().any(|i| !i.paths.is_empty()), "{full:?}");
    assert_eq!(explain(Some(std::time::Duration::from_secs(3600))), full);
    let cut = explain(Some(std::time::Duration::ZERO));
    assert!(cut.truncated);
    assert!(cut.items.iter().all(|i| i.paths.is_empty()));
    let scored = |e: &crate::explain::Explanation| -> Vec<(String, f32)> {
        e.items.iter().map(|i| (i.item.clone(), i.score)).collect()
    };
    assert_eq!(scored(&cut), scored(&full), "the list itself is the same");
    assert_eq!(serde_json::to_value(&cut).unwrap()["truncated"], true);
    assert!(
        serde_json::to_value(&full)
            .unwrap()
            .get("truncated")
            .is_none()
    );
}

/// A catalogue item with no interactions and no entity in the graph gets no score from any
/// model: it is never recommended (it used to rank at 0, ahead of every negative score), while
/// a linked one stays a candidate of the models that read the graph.
#[test]
fn items_the_model_learnt_nothing_about_are_not_recommended() {
    for model in ["als", "bpr", "ease", "cke"] {
        let (_tmp, engine) = engine_with_fixtures(model);
        engine
            .import_links(vec![crate::interactions::ItemLink {
                item: "nothing-known".to_owned(),
                iri: "http://example.org/not-in-the-graph".to_owned(),
            }])
            .unwrap();
        train_default(&engine, model);
        let served = engine.served().unwrap();
        assert!(served.matrix.item_id("nothing-known").is_some(), "{model}");
        let n_items = served.snapshot.items.len();
        for user in engine.users().unwrap().iter().take(20) {
            let recs = engine
                .recommend(&RecommendRequest::new(user, n_items))
                .unwrap();
            assert!(
                recs.items.iter().all(|i| i.item != "nothing-known"),
                "{model}: {user} was recommended an item the model knows nothing of"
            );
            // Every other item the user does not have is still ranked.
            let had = served
                .history(served.user_id(user).unwrap())
                .row()
                .items
                .len();
            assert_eq!(recs.items.len(), n_items - 1 - had, "{model}: {user}");
        }
        let err = engine
            .explain(
                "1",
                "nothing-known",
                crate::explain::ExplainOptions::default(),
                None,
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("learnt nothing about it"), "{model}: {err}");
        let batch = engine.recommend_all(n_items, None).unwrap();
        assert!(
            batch
                .users
                .iter()
                .all(|u| u.items.iter().all(|(i, _)| i != "nothing-known")),
            "{model}: the batch file ranks it"
        );
    }
}

#[test]
fn millisecond_and_negative_timestamps_are_said() {
    let row = |t: i64| RawInteraction {
        user: "u".to_owned(),
        item: "i".to_owned(),
        rating: None,
        timestamp: Some(t),
        count: 1,
        stamps: Vec::new(),
    };
    let file = Path::new("t.tsv");
    assert_eq!(timestamp_note(file, &[row(978_300_760)]), None);
    let note = timestamp_note(file, &[row(1_700_000_000_000), row(5)]).unwrap();
    assert!(
        note.contains("1 timestamp(s) look like milliseconds"),
        "{note}"
    );
    let note = timestamp_note(file, &[row(-5)]).unwrap();
    assert!(note.contains("1 timestamp(s) are negative"), "{note}");
}

/// A link written `ex:a1` reads as a prefixed name; IRIs of common schemes and the well-known
/// prefixes (expanded at import) do not.
#[test]
fn prefixed_names_are_told_from_iris() {
    assert_eq!(prefixed_name("ex:a1"), Some(("ex", "a1")));
    assert_eq!(prefixed_name("my-ns:Band_1"), Some(("my-ns", "Band_1")));
    for iri in [
        "http://radio.example/a1",
        "https://x.org/a",
        "urn:kgrec:a1",
        "mailto:a@b.org",
        "dbr:Toy_Story",
        "ex:",
        "ex://host/a",
        "1x:a",
        "plain",
    ] {
        assert_eq!(prefixed_name(iri), None, "{iri}");
    }
}

/// #21: into a data directory that stores event weights, a file read without them is weighed
/// with the stored ones when it has an event column, and refused when it has none; rows given
/// in memory without an event are refused too. Refusals write nothing.
#[test]
fn imports_without_event_weights_into_weighted_stores_use_or_refuse() {
    let tmp = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let path = tmp.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let weights: EventWeights = "view=1,buy=5".parse().unwrap();
    let first = file("a.csv", "user,item,event\nu1,i1,buy\n");
    let later = file(
        "b.csv",
        "user,item,event\nu2,i1,view\nu2,i1,buy\nu3,i2,view\n",
    );
    let request = |path: &Path, events: Option<EventWeights>| InteractionFile {
        file: path.to_owned(),
        events,
        ..InteractionFile::default()
    };
    let (flagged, unflagged) = (tmp.path().join("flagged"), tmp.path().join("unflagged"));
    let fingerprint = |engine: &Engine| engine.stats().unwrap().fingerprint;
    let twin = Engine::create(&flagged).unwrap();
    twin.import_interactions(&request(&first, Some(weights.clone())))
        .unwrap();
    twin.import_interactions(&request(&later, Some(weights.clone())))
        .unwrap();
    let engine = Engine::create(&unflagged).unwrap();
    engine
        .import_interactions(&request(&first, Some(weights.clone())))
        .unwrap();
    let imported = engine.import_interactions(&request(&later, None)).unwrap();
    assert!(
        imported.notes[0].ends_with(
            "b.csv: no --event-weights: weighed with the directory's stored event weights \
             view=1, buy=5"
        ),
        "{:?}",
        imported.notes
    );
    assert_eq!(fingerprint(&engine), fingerprint(&twin));
    let before = fingerprint(&engine);
    let plain = file("c.csv", "user,item\nu4,i1\n");
    let err = engine
        .import_interactions(&request(&plain, None))
        .unwrap_err();
    assert!(
        matches!(&err, Error::NoEvents { input, stored, posted: false }
            if input.ends_with("c.csv") && *stored == weights),
        "{err}"
    );
    assert_eq!(err.exit_code(), 2);
    let err = engine
        .add_interactions(vec![row("u4", "i1")], Vec::new())
        .unwrap_err();
    assert!(
        matches!(&err, Error::NoEvents { posted: true, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("(view=1, buy=5)"), "{err}");
    let unknown = file("d.csv", "user,item,event\nu4,i1,click\n");
    let err = engine
        .import_interactions(&request(&unknown, None))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("stored event weights name buy, view"),
        "{err}"
    );
    assert_eq!(fingerprint(&engine), before, "refusals write nothing");
}
