//! `kgrec tune`: hyper-parameters (and the learner) chosen on validation rows carved from the
//! data directory's own interactions, stored for `train`, then the best learner trained.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use kgrec::engine::TuneOutcome;
use kgrec::store::TunedLearner;
use kgrec::tune::{Metric, SplitKind, TrialReport, TuneRequest};
use kgrec::{Error, Result, TrainRequest};
use serde::Serialize;

use super::args::{SplitArg, TextOrJson, TuneArgs};
use super::models::{fit_and_commit, print_trained, reopen_to_store, tuned_note};
use super::{emit, json_text, notes, progress_bar};

/// The JSON of `tune --format json`.
#[derive(Serialize)]
struct TuneJson<'a> {
    metric: String,
    validation_users: usize,
    /// Items held out whole (every interaction to validation), so the cold-item rule is chosen
    /// on cold items.
    whole_items: usize,
    /// The catalogue's linked items without interactions, and how many look new.
    unplaced_items: usize,
    new_items: f64,
    seconds: f64,
    best: &'a str,
    learners: &'a [TunedLearner],
    /// The version trained with the best learner's choice (absent with --no-train).
    trained_version: Option<u64>,
}

/// `kgrec tune [--models M,...] [--budget 10m] [--trials N] [--metric ndcg@10] ...`
pub fn tune(data: &Path, args: &TuneArgs, quiet: bool) -> Result<()> {
    if args.keep == 0 {
        return Err(Error::BadInput(
            "--keep 0: keep at least 1 version".to_owned(),
        ));
    }
    if args.trials == Some(0) {
        return Err(Error::BadInput(
            "--trials 0: draw at least one (the defaults are always tried besides)".to_owned(),
        ));
    }
    let request = TuneRequest {
        models: args.models.iter().map(|m| m.trim().to_owned()).collect(),
        budget: args.budget,
        trials: args.trials,
        metric: Metric::parse(&args.metric)?,
        seed: args.seed,
        split: match args.split {
            SplitArg::Random => SplitKind::Random,
            SplitArg::Time => SplitKind::Time,
        },
        holdout: args.holdout,
        search: args.search.into(),
    };
    // Held while the inputs are read, not during the search.
    let inputs = super::open_engine(data)?.tuning_data(&request)?;
    let budget = request.budget.as_secs();
    let bar = progress_bar(
        quiet,
        budget,
        "{spinner} tuning [{bar:30}] {elapsed}/{len}s {wide_msg}",
    );
    let started = std::time::Instant::now();
    let mut report = |r: &TrialReport<'_>| {
        bar.set_position(started.elapsed().as_secs().min(budget));
        bar.set_message(format!(
            "{}: trial {:.4}, best {:.4}",
            r.learner, r.trial.value, r.best
        ));
    };
    let cancel = AtomicBool::new(false);
    let outcome = inputs.search(&request, &mut report, &cancel);
    bar.finish_and_clear();
    let outcome = outcome?;
    drop(inputs);
    let engine = reopen_to_store(data)?;
    // The best stored record: this run's, or an earlier one on the same validation rows.
    let best = super::writing(|| engine.store_tuning(&outcome))?;
    drop(engine);
    let mut outcome = outcome;
    if let Some(best) = &best {
        outcome.best = best.learner.clone();
    }
    let trained = match (&best, args.no_train) {
        (Some(best), false) => {
            let spec = kgrec::ModelSpec::new(&best.learner, &best.overrides)?;
            let trained = fit_and_commit(
                data,
                &TrainRequest {
                    spec,
                    seed: args.seed,
                    keep: args.keep,
                    ann: kgrec::cf::ann::AnnSettings::default(),
                },
                quiet,
            )?;
            notes(&trained.notes);
            Some(trained)
        }
        _ => None,
    };
    match args.format {
        TextOrJson::Json => emit(&json_text(&TuneJson {
            metric: request.metric.to_string(),
            validation_users: outcome.validation_users,
            whole_items: outcome.whole_items.0,
            unplaced_items: outcome.whole_items.1,
            new_items: outcome.whole_items.2,
            seconds: outcome.seconds,
            best: &outcome.best,
            learners: &outcome.learners,
            trained_version: trained.as_ref().map(|t| t.header.version),
        })?),
        TextOrJson::Text => {
            emit(&tuning_text(&outcome, best.as_ref(), &request))?;
            match (&trained, &best) {
                (Some(trained), Some(best)) => {
                    super::warn(&tuned_note(best, &trained.header));
                    print_trained(trained)
                }
                _ => Ok(()),
            }
        }
    }
}

/// The table of `tune`: per learner the defaults' and the tuned figure, then the choice.
fn tuning_text(
    outcome: &TuneOutcome,
    record: Option<&TunedLearner>,
    request: &TuneRequest,
) -> String {
    let (learners, best) = (&outcome.learners, &outcome.best);
    let mut out = String::new();
    let users = learners.first().map_or(0, |l| l.validation_users);
    let whole = outcome.whole_items_clause();
    let _ = writeln!(
        out,
        "tuned on validation rows of {users} users ({:.0}% of each one's items, {} split, seed \
         {}{whole}), {} search, {}:",
        request.holdout * 100.0,
        request.split.name(),
        request.seed,
        request.search.name(),
        // Rating learners are scored by -rmse on the held-out ratings, the others by the metric.
        learners
            .iter()
            .map(|l| l.metric.clone())
            .fold(Vec::<String>::new(), |mut names, m| {
                if !names.contains(&m) {
                    names.push(m);
                }
                names
            })
            .join(", ")
    );
    let _ = writeln!(
        out,
        "{:<8} {:>9} {:>9} {:>7} {:>8}  chosen",
        "learner", "defaults", "tuned", "trials", "seconds"
    );
    for l in learners {
        let chosen = match l.overrides.flags() {
            f if f.is_empty() => "the defaults".to_owned(),
            f => f,
        };
        let _ = writeln!(
            out,
            "{:<8} {:>9.4} {:>9.4} {:>7} {:>8.1}  {chosen}",
            l.learner,
            l.default_value,
            l.value,
            l.trials.len(),
            l.seconds
        );
    }
    // A learner of an earlier run on the same validation rows can stay best: said with its
    // figure, since the table above does not show it.
    let earlier = match record {
        Some(r) if !learners.iter().any(|l| l.learner == r.learner) => format!(
            " ({} {:.4} on the same validation rows, from an earlier tuning)",
            r.metric, r.value
        ),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "best: {best}{earlier}; `kgrec train` now trains it with these (train --model M: that \
         learner's choice; --untuned: the defaults)"
    );
    out
}
