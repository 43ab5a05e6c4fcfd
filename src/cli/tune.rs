//! `kgrec tune`: hyper-parameters (and the learner) chosen on validation rows carved from the
//! data directory's own interactions, stored for `train`, then the best learner trained.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use kgrec::engine::{EarlierKept, NoisyGain, TuneOutcome};
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
    /// An estimate, rounded as the text rounds it.
    new_items: u64,
    seconds: f64,
    best: &'a str,
    /// The records kept: this run's, or an earlier better one on the same validation rows.
    learners: &'a [TunedLearner],
    /// Learners whose earlier record was kept, with what this run found.
    earlier_kept: &'a [EarlierKept],
    /// Earlier records on other validation rows that this run's replaced.
    replaced: &'a [TunedLearner],
    /// Learners whose gain over the defaults is within one standard error.
    within_noise: &'a [NoisyGain],
    /// Learners whose graph gained less than one standard error over their best draw with the
    /// graph off: that draw was chosen.
    graph_within_noise: &'a [NoisyGain],
    /// Learners whose cold rule was chosen on the items held out whole, one line each.
    cold_rules: &'a [String],
    /// Learners whose defaults collapsed and were fitted again at a smaller --reg, one line each.
    refitted_defaults: &'a [String],
    /// What the validation scored: `auto` or `cold` (`--target`).
    target: &'static str,
    /// Graph-reading learners tuned without their graph knobs (no linked item in a graph).
    without_graph: &'a [String],
    /// The version trained with the best learner's choice (absent with --no-train).
    trained_version: Option<u64>,
    /// The best learner's lead over the runner-up when within one standard error.
    #[serde(skip_serializing_if = "Option::is_none")]
    choice_within_noise: Option<ChoiceMargin<'a>>,
}

/// The best learner's lead over the runner-up, within noise.
#[derive(Debug, serde::Serialize)]
struct ChoiceMargin<'a> {
    runner_up: &'a str,
    gain: f64,
    standard_error: f64,
    users: usize,
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
        target: args.target.into(),
    };
    let begun = std::time::Instant::now();
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
    for (learner, why) in &outcome.failed {
        super::warn(&format!(
            "{learner} is left out: none of its trials could be fitted ({why})"
        ));
    }
    // A collapsed, diverged or refused draw is ranked last, never chosen: said, with how many.
    for tuned in &outcome.learners {
        let discarded = tuned
            .trials
            .iter()
            .filter(|t| t.value.is_infinite())
            .count();
        if discarded > 0 {
            super::warn(&format!(
                "note: {discarded} of the {} trials of {} were discarded (a fit that collapsed, \
                 diverged or that the learner refused); the choice is among the others",
                tuned.trials.len(),
                tuned.learner
            ));
        }
    }
    drop(inputs);
    let engine = reopen_to_store(data)?;
    // The best stored record: this run's, or an earlier one on the same validation rows.
    let mut outcome = outcome;
    // This run's fits, for the overrun note (storing may keep an earlier run's records instead).
    let this_run = outcome.learners.clone();
    let best = super::writing(|| engine.store_tuning(&mut outcome))?;
    drop(engine);
    if let Some(best) = &best {
        outcome.best = best.learner.clone();
    }
    let searched = begun.elapsed();
    let trained = match (&best, args.no_train) {
        (Some(best), false) => {
            let spec = kgrec::ModelSpec::new(&best.learner, &best.overrides)?;
            let trained = fit_and_commit(
                data,
                &TrainRequest {
                    spec,
                    seed: args.seed,
                    keep: args.keep,
                    ..TrainRequest::default()
                },
                quiet,
            )?;
            notes(&trained.notes);
            Some(trained)
        }
        _ => None,
    };
    if let Some(note) = overrun_note(request.budget, searched, begun.elapsed(), &this_run) {
        super::warn(&note);
    }
    match args.format {
        TextOrJson::Json => emit(&json_text(&TuneJson {
            metric: request.metric.to_string(),
            validation_users: outcome.validation_users,
            whole_items: outcome.whole_items.0,
            unplaced_items: outcome.whole_items.1,
            new_items: outcome.whole_items.2.round().max(0.0) as u64,
            seconds: outcome.seconds,
            best: &outcome.best,
            learners: &outcome.learners,
            earlier_kept: &outcome.earlier_kept,
            replaced: &outcome.replaced,
            within_noise: &outcome.within_noise,
            graph_within_noise: &outcome.graph_within_noise,
            cold_rules: &outcome.cold_rules,
            refitted_defaults: &outcome.refitted_defaults,
            target: outcome.target.name(),
            without_graph: &outcome.without_graph,
            trained_version: trained.as_ref().map(|t| t.header.version),
            choice_within_noise: choice_margin(&outcome).map(|(g, runner)| ChoiceMargin {
                runner_up: runner,
                gain: g.gain,
                standard_error: g.standard_error,
                users: g.users,
            }),
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
            "{:<8} {:>9} {:>9} {:>7} {:>8.1}  {chosen}",
            l.learner,
            super::figure(l.default_value),
            super::figure(l.value),
            l.trials.len(),
            l.seconds
        );
    }
    for r in &outcome.replaced {
        let chosen = match r.overrides.flags() {
            f if f.is_empty() => "the defaults".to_owned(),
            f => f,
        };
        let _ = writeln!(
            out,
            "{}: this run's record replaces an earlier tuning's ({} {:.4} with {chosen}), made on \
             other validation rows{}: `train` now uses this run's",
            r.learner,
            r.metric,
            r.value,
            match learners
                .iter()
                .any(|l| l.learner == r.learner && l.metric == r.metric)
            {
                true => " (another seed, split, holdout or store)",
                false => " (another metric)",
            }
        );
    }
    for e in &outcome.earlier_kept {
        let _ = writeln!(
            out,
            "{}: an earlier tuning's record is kept ({:.4} on the same validation rows; its row \
             above shows it): this run's best, {:.4} in {} trial(s), did not beat it",
            e.learner, e.kept_value, e.this_run_value, e.this_run_trials
        );
    }
    for n in &outcome.within_noise {
        let _ = writeln!(
            out,
            "{}: the gain over the defaults ({:+.4}) is within noise: smaller than its standard \
             error ({:.4}, per-user differences over {} validation users); the defaults may do \
             as well (more validation users, or --holdout, narrow it)",
            n.learner, n.gain, n.standard_error, n.users
        );
    }
    for n in &outcome.graph_within_noise {
        let _ = writeln!(
            out,
            "{}: the graph's gain over the best draw without it ({:+.4}) is not above its \
             standard error ({:.4}, per-user differences over {} validation users): the draw \
             without the graph is chosen",
            n.learner, n.gain, n.standard_error, n.users
        );
    }
    for line in outcome.cold_rules.iter().chain(&outcome.refitted_defaults) {
        let _ = writeln!(out, "{line}");
    }
    for record in &outcome.learners {
        if let Some(note) = outcome.new_items_left_out(record) {
            let _ = writeln!(out, "{note}");
        }
    }
    if outcome.target == kgrec::tune::Target::Cold {
        let _ = writeln!(
            out,
            "--target cold: only the rows of the items held out whole were scored, each ranked \
             among all items"
        );
    }
    if !outcome.without_graph.is_empty() {
        let _ = writeln!(
            out,
            "{}: no linked item is in a graph (none imported, or no link into it), so the graph \
             knobs (--kg-weight, --neighbour-weight, --attention, the cold-item rule, ...) were \
             left out of the search: they would change nothing",
            outcome.without_graph.join(", ")
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
    if let Some((g, runner)) = choice_margin(outcome) {
        let _ = writeln!(
            out,
            "{best}'s lead over {runner} ({:+.4}) is within one standard error ({:.4}, per-user \
             differences over {} validation users): the two are alike on these rows, and \
             `kgrec train --model {runner}` would do about as well",
            g.gain, g.standard_error, g.users
        );
    }
    out
}

/// The best learner's lead over the runner-up when within noise, and only when the best is
/// this run's (an earlier record kept as the best has no per-user figures here).
fn choice_margin(outcome: &TuneOutcome) -> Option<(&NoisyGain, &str)> {
    let (g, runner) = outcome.choice_within_noise.as_ref()?;
    (g.learner == outcome.best && outcome.earlier_kept.is_empty()).then_some((g, runner.as_str()))
}

/// Why tuning took longer than `--budget`, when it did by more than a few seconds: the search
/// (every learner's defaults are fitted in full, and a fit stops only between epochs) and the
/// training of the choice after it. `searched`: from the start to the end of the search;
/// `total`: to the end of the training too.
fn overrun_note(
    budget: std::time::Duration,
    searched: std::time::Duration,
    total: std::time::Duration,
    this_run: &[kgrec::store::TunedLearner],
) -> Option<String> {
    let slack = |d: std::time::Duration| d.as_secs_f64() > budget.as_secs_f64() * 1.05 + 1.0;
    if !slack(total) {
        return None;
    }
    let mut why = Vec::new();
    if slack(searched) {
        // The longest fit: the one that ran on most past its share.
        let longest = this_run
            .iter()
            .flat_map(|l| l.trials.iter().map(move |t| (l.learner.as_str(), t)))
            .max_by(|a, b| a.1.fit_seconds.total_cmp(&b.1.fit_seconds));
        why.push(format!(
            "the search took {:.0} s: every learner's defaults are fitted in full whatever the \
             budget (the baseline each draw must beat), and a fit stops only between epochs (a \
             one-step solve such as ease's, not at all){}",
            searched.as_secs_f64(),
            match longest {
                Some((learner, t)) => format!(
                    "; the longest fit, {learner}'s {}, took {:.0} s",
                    match t.params.is_empty() {
                        true => "defaults".to_owned(),
                        false => "draw".to_owned(),
                    },
                    t.fit_seconds
                ),
                None => String::new(),
            }
        ));
    }
    let training = total.saturating_sub(searched);
    if training.as_secs_f64() >= 1.0 {
        why.push(format!(
            "training the choice on every interaction took {:.0} s after the search (--no-train \
             skips it)",
            training.as_secs_f64()
        ));
    }
    // Past the slack while neither part is by itself (a budget under a second): both parts
    // are named to a tenth of a second, so the note never ends without a reason.
    if why.is_empty() {
        why.push(format!(
            "the search took {:.1} s (every learner's defaults are fitted in full whatever the \
             budget) and training the choice on every interaction {:.1} s after it",
            searched.as_secs_f64(),
            training.as_secs_f64()
        ));
    }
    Some(format!(
        "note: tuning took {:.0} s against --budget {} s: {}{}",
        total.as_secs_f64(),
        budget.as_secs_f64(),
        why.join("; "),
        match slack(searched) {
            true => " (fewer --models keep the search nearer its budget)",
            false => "",
        }
    ))
}
