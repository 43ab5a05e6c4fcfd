#![allow(clippy::unwrap_used)]
use super::*;
use crate::learners::Knob;
use crate::learners::space::{ALS, EASE, Param};

/// A toy objective: best at reg 10 and dim 64, and better with more epochs (up to the draw's).
fn objective(o: &Overrides, epochs: Option<usize>) -> f64 {
    let reg = f64::from(o.reg.unwrap_or(30.0));
    let dim = o.dim.unwrap_or(16) as f64;
    let full = o.epochs.unwrap_or(15) as f64;
    let ran = epochs.map_or(full, |e| e as f64);
    1.0 - (reg / 10.0).ln().powi(2) * 0.05 - (dim / 64.0).ln().powi(2) * 0.05 - 0.1 / ran.max(1.0)
}

fn run(search: Search, seed: u64, trials: Option<usize>) -> SearchResult {
    // ALS's numeric knobs: the searches are tested on a smooth objective of numbers, which
    // `--confidence` is not.
    let numeric: Vec<Param> = ALS
        .iter()
        .filter(|p| p.knob != Knob::Confidence)
        .copied()
        .collect();
    let mut evaluate = |o: &Overrides, e: Option<usize>, _: &AtomicBool| Ok(Some(objective(o, e)));
    search_space(
        "als",
        &numeric,
        search,
        Duration::from_secs(60),
        trials,
        seed,
        &mut evaluate,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap()
}

#[test]
fn the_defaults_run_first_and_the_best_full_trial_wins() {
    let result = run(Search::Halving, 1, Some(27));
    let first = &result.trials[0];
    assert!(first.params.is_empty() && first.full);
    assert_eq!(result.default_value, first.value);
    let best_full = result
        .trials
        .iter()
        .filter(|t| t.full)
        .map(|t| t.value)
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(result.value, best_full);
    assert!(result.value >= result.default_value);
    // Partial fits never decide: a trial with fewer epochs is never `full`.
    assert!(result.trials.iter().all(|t| t.full == t.epochs.is_none()));
    // 27 draws in brackets of 9: 9 + 3 + 1 fits each, plus the defaults.
    assert_eq!(result.trials.len(), 1 + 3 * 13);
}

#[test]
fn the_search_is_deterministic_for_a_seed() {
    // Everything but the fit times.
    let trials = |r: SearchResult| -> Vec<(Overrides, Option<usize>, f64)> {
        r.trials
            .into_iter()
            .map(|t| (t.params, t.epochs, t.value))
            .collect()
    };
    assert_eq!(
        trials(run(Search::Halving, 4, Some(18))),
        trials(run(Search::Halving, 4, Some(18)))
    );
    assert_ne!(
        trials(run(Search::Random, 4, Some(8))),
        trials(run(Search::Random, 5, Some(8)))
    );
}

#[test]
fn halving_spends_full_fits_on_the_better_draws() {
    // With the same number of draws, halving fits few in full, and those are the best draws.
    let halving = run(Search::Halving, 2, Some(9));
    let full = halving.trials.iter().filter(|t| t.full).count();
    assert_eq!(full, 2, "the defaults and one survivor");
    let random = run(Search::Random, 2, Some(9));
    assert_eq!(random.trials.len(), 10);
    // Same draws (same seed): the survivor is the best of the nine, as the random search finds.
    assert_eq!(halving.value, random.value);
}

#[test]
fn the_budget_stops_the_search_and_a_stopped_fit_is_not_a_trial() {
    let mut calls = 0;
    let mut evaluate = |_: &Overrides, _: Option<usize>, stop: &AtomicBool| {
        calls += 1;
        if calls == 1 {
            return Ok(Some(0.5));
        }
        // Every draw runs until the deadline stops it.
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(None)
    };
    let started = Instant::now();
    let result = search_space(
        "ease",
        EASE,
        Search::Random,
        Duration::from_millis(200),
        None,
        0,
        &mut evaluate,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(result.trials.len(), 1);
    assert_eq!(result.value, 0.5);
    assert!(result.best.is_empty(), "the defaults stay");
}

#[test]
fn cancel_ends_the_search_with_cancelled() {
    let cancel = AtomicBool::new(true);
    let mut evaluate = |_: &Overrides, _: Option<usize>, _: &AtomicBool| Ok(Some(0.1));
    let outcome = search_space(
        "ease",
        EASE,
        Search::Random,
        Duration::from_secs(10),
        None,
        0,
        &mut evaluate,
        &mut |_| {},
        &cancel,
    );
    assert!(matches!(outcome, Err(Error::Cancelled)), "{outcome:?}");
}

#[test]
fn metrics_parse_as_score_recs_names_them() {
    assert_eq!(Metric::parse("ndcg@10").unwrap(), Metric::default());
    assert_eq!(Metric::parse("Recall@20").unwrap().to_string(), "recall@20");
    for bad in ["ndcg", "ndcg@0", "auc@10", "ndcg@x"] {
        let err = Metric::parse(bad).unwrap_err().to_string();
        assert!(err.contains("NAME@K"), "{bad}: {err}");
    }
}

/// Random search of `space` for `trials` draws (10 s at most), seed 0, nothing reported.
fn random_search(
    learner: &str,
    space: &[Param],
    trials: usize,
    evaluate: &mut Evaluate<'_>,
) -> Result<SearchResult> {
    search_space(
        learner,
        space,
        Search::Random,
        Duration::from_secs(10),
        Some(trials),
        0,
        evaluate,
        &mut |_| {},
        &AtomicBool::new(false),
    )
}

#[test]
fn a_draw_the_learner_refuses_is_a_failed_trial_not_the_end() {
    let mut calls = 0;
    let mut evaluate = |o: &Overrides, _: Option<usize>, _: &AtomicBool| {
        calls += 1;
        match o.is_empty() {
            true => Ok(Some(0.3)),
            false if calls % 2 == 0 => Err(Error::BadInput("no such combination".to_owned())),
            false => Ok(Some(0.2)),
        }
    };
    let result = random_search("ease", EASE, 6, &mut evaluate).unwrap();
    assert_eq!(result.trials.len(), 7);
    assert_eq!(
        result
            .trials
            .iter()
            .filter(|t| t.value == f64::NEG_INFINITY)
            .count(),
        3
    );
    assert_eq!(result.value, 0.3);
}

#[test]
fn defaults_that_diverge_leave_the_search_to_the_draws_and_other_failures_end_it() {
    use crate::learners::space::RATING;
    let diverged = || {
        Error::Fit(crate::cf::FitError::Diverged {
            learning_rate: 0.01,
        })
    };
    let mut evaluate = |o: &Overrides, _: Option<usize>, _: &AtomicBool| match o.lr {
        Some(lr) if lr < 0.01 => Ok(Some(-1.0)),
        _ => Err(diverged()),
    };
    let result = random_search("svd", RATING, 20, &mut evaluate).unwrap();
    assert_eq!(result.default_value, f64::NEG_INFINITY);
    assert_eq!(result.value, -1.0, "{:?}", result.trials);
    assert!(result.best.lr.is_some_and(|lr| lr < 0.01));
    assert!(
        result
            .first_failure
            .as_deref()
            .is_some_and(|f| f.contains("diverged")),
        "{:?}",
        result.first_failure
    );
    // Data the learner cannot fit at all fails the defaults, and the search, at once.
    let mut calls = 0;
    let mut evaluate = |_: &Overrides, _: Option<usize>, _: &AtomicBool| {
        calls += 1;
        Err(Error::Fit(crate::cf::FitError::NoRatings))
    };
    let out = random_search("svd", RATING, 20, &mut evaluate);
    assert!(matches!(
        out,
        Err(Error::Fit(crate::cf::FitError::NoRatings))
    ));
    assert_eq!(calls, 1);
}

#[test]
fn refine_draws_near_the_best_after_its_random_start() {
    let result = run(Search::Refine, 3, Some(60));
    assert_eq!(result.trials.len(), 61);
    assert!(result.trials.iter().all(|t| t.full));
    // On a smooth objective the draws near the best do better than random draws: compare
    // the mean of the last 20 trials with the first 10 random ones.
    let mean = |ts: &[TrialRecord]| ts.iter().map(|t| t.value).sum::<f64>() / ts.len() as f64;
    assert!(
        mean(&result.trials[41..]) > mean(&result.trials[1..11]),
        "{} vs {}",
        mean(&result.trials[41..]),
        mean(&result.trials[1..11])
    );
    let random = run(Search::Random, 3, Some(60));
    assert!(
        result.value >= random.value,
        "{} < {}",
        result.value,
        random.value
    );
}

/// A plan's seeds run right after the defaults (once each, the defaults not again), and a
/// learner whose graph switches off draws its first share of `--trials` with the graph off,
/// on the other knobs only; the graph's knobs come after.
#[test]
fn seeds_run_first_and_the_graph_off_corner_is_searched_first() {
    use crate::learners::space::CKE;
    let off = Overrides {
        kg_weight: Some(0.0),
        neighbour_weight: Some(0.0),
        attention: Some("none".to_owned()),
        ..Overrides::default()
    };
    let als_best = Overrides {
        dim: Some(40),
        reg: Some(12.0),
        ..Overrides::default()
    };
    let plan = Plan {
        seeds: vec![
            als_best.over(&off),
            als_best.clone(),
            Overrides::default(),
            als_best.over(&off),
        ],
        graph_off: Some((
            off.clone(),
            vec![Knob::KgWeight, Knob::NeighbourWeight, Knob::Attention],
        )),
    };
    let limits = Limits {
        search: Search::Refine,
        budget: Duration::from_secs(600),
        trials: Some(20),
        seed: 4,
    };
    let mut evaluate = |o: &Overrides, e: Option<usize>, _: &AtomicBool| Ok(Some(objective(o, e)));
    let result = search_planned(
        "cke",
        CKE,
        &limits,
        &plan,
        &mut evaluate,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    let params: Vec<&Overrides> = result.trials.iter().map(|t| &t.params).collect();
    assert!(params[0].is_empty());
    assert_eq!(params[1], &als_best.over(&off));
    assert_eq!(params[2], &als_best);
    // The seeds count among the draws: 2 of them, then 18 more.
    assert_eq!(result.trials.len(), 1 + 20);
    // A quarter of 20 draws (5) with the graph off, the graph's knobs not drawn.
    for p in &params[3..8] {
        assert!(plan.is_graph_off(p), "{p:?}");
        assert_eq!(p.over(&off), **p);
    }
    assert!(params[8..].iter().any(|p| !plan.is_graph_off(p)));
}
