//! Built-in tuning (`kgrec tune`): every catalogue gets its own hyper-parameters.
//!
//! The protocol: validation rows are carved from the data directory's own interactions
//! ([`split`]: a share of every user's items, at random or their latest); each learner's knobs
//! are drawn from the space it declares beside them (`learners::space`); each draw is fitted on
//! the rest and scored by the chosen metric on the validation rows. The learner's defaults are
//! always the first trial, so tuning can only keep or improve on them (on validation). The
//! default search (`refine`) draws at random, then mostly near the best full trials;
//! successive halving on epochs and plain random draws are the others; all stop at the
//! wall-time budget. The data-directory side
//! (reading the inputs, storing the result) is `Engine::tune`.

pub mod kge;
pub mod split;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::learners::space::{Param, RESOURCE};
use crate::learners::{Knob, Overrides};
use crate::metrics::RankScores;
use crate::store::TrialRecord;

pub use split::{Carved, SplitKind, carve};

/// Survivors of a rung of successive halving: the best `1/ETA` go on with `ETA` times the epochs.
const ETA: usize = 3;

/// Rungs of one bracket: draws start at `1/ETA^(RUNGS-1)` of their epochs.
const RUNGS: u32 = 3;

/// The fewest epochs a partial fit of successive halving gets (`cke` spends its first two on
/// plain ALS sweeps).
const MIN_RUNG_EPOCHS: usize = 3;

/// `refine`: random draws before any draw is made near the best ones.
const REFINE_AFTER: usize = 10;

/// `refine`: the share of later draws that are random still (so a better region elsewhere can
/// be found).
const REFINE_EXPLORE: f64 = 0.2;

/// `refine`: parents are drawn among this many best full trials.
const REFINE_PARENTS: usize = 5;

/// `refine`: the step of a draw near a parent, as a share of each range's (log) width.
const REFINE_STEP: f64 = 0.08;

/// `refine` on a learner whose graph can be switched off ([`Plan::graph_off`]): the share of
/// its budget (and of `--trials`, when given) spent with the graph off, on the other knobs,
/// before the whole space.
pub const GRAPH_OFF_SHARE: f64 = 0.25;

/// What a search knows besides the learner's space.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Draws fitted in full right after the defaults, before any other (another learner's best,
    /// the graph off at the defaults): the search starts from the points known to be good.
    pub seeds: Vec<Overrides>,
    /// The overrides that switch the learner's graph off (`Learner::graph_off`) and the knobs
    /// that change nothing then (`Learner::graph_knobs`). `refine` then searches the other
    /// knobs with the graph off for [`GRAPH_OFF_SHARE`] of the budget, and afterwards draws
    /// the graph's knobs afresh near the best graph-off trial, besides refining the best ones.
    pub graph_off: Option<(Overrides, Vec<Knob>)>,
}

impl Plan {
    /// Whether `draw` has the graph off.
    pub fn is_graph_off(&self, draw: &Overrides) -> bool {
        self.graph_off
            .as_ref()
            .is_some_and(|(off, _)| draw.over(off) == *draw)
    }
}

/// How the tuner searches a learner's space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Search {
    /// Successive halving on epochs where the learner has them, else random draws.
    Halving,
    /// Independent random draws, each fitted in full.
    Random,
    /// Random draws first, then mostly draws near the best full trials so far (each knob a
    /// small log-normal step from one of the five best), each fitted in full.
    #[default]
    Refine,
}

impl Search {
    /// The `--search` spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Halving => "halving",
            Self::Random => "random",
            Self::Refine => "refine",
        }
    }
}

/// The validation metric: one of `score_recs.py`'s, at a cut-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// Which.
    pub kind: MetricKind,
    /// The cut-off.
    pub k: usize,
}

/// The metrics the tuner can maximise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// nDCG.
    Ndcg,
    /// Recall.
    Recall,
    /// Precision.
    Precision,
    /// Mean average precision.
    Map,
    /// Hit rate.
    Hit,
    /// Mean reciprocal rank.
    Mrr,
}

impl MetricKind {
    const ALL: [(Self, &'static str); 6] = [
        (Self::Ndcg, "ndcg"),
        (Self::Recall, "recall"),
        (Self::Precision, "precision"),
        (Self::Map, "map"),
        (Self::Hit, "hit"),
        (Self::Mrr, "mrr"),
    ];
}

impl Default for Metric {
    fn default() -> Self {
        Self {
            kind: MetricKind::Ndcg,
            k: 10,
        }
    }
}

impl Metric {
    /// `ndcg@10`, `recall@20`, ...
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || {
            Error::BadInput(format!(
                "--metric {text}: expected NAME@K with NAME one of {} and K a positive whole \
                 number, e.g. ndcg@10",
                MetricKind::ALL.map(|(_, n)| n).join(", ")
            ))
        };
        let (name, k) = text.split_once('@').ok_or_else(bad)?;
        let kind = MetricKind::ALL
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name.trim()))
            .map(|(kind, _)| *kind)
            .ok_or_else(bad)?;
        let k: usize = k.trim().parse().map_err(|_| bad())?;
        if k == 0 {
            return Err(bad());
        }
        Ok(Self { kind, k })
    }

    /// The metric's value in one user's scores.
    pub fn of(&self, scores: &RankScores) -> f64 {
        match self.kind {
            MetricKind::Ndcg => scores.ndcg,
            MetricKind::Recall => scores.recall,
            MetricKind::Precision => scores.precision,
            MetricKind::Map => scores.map,
            MetricKind::Hit => scores.hit,
            MetricKind::Mrr => scores.mrr,
        }
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = MetricKind::ALL
            .iter()
            .find(|(k, _)| *k == self.kind)
            .map_or("?", |(_, n)| n);
        write!(f, "{name}@{}", self.k)
    }
}

/// What `kgrec tune` is asked for.
#[derive(Debug, Clone)]
pub struct TuneRequest {
    /// The learners to tune (`--model` names); empty: every recommender the data suits.
    pub models: Vec<String>,
    /// Wall time for the whole search, shared evenly by the learners.
    pub budget: Duration,
    /// At most this many draws per learner (besides its defaults).
    pub trials: Option<usize>,
    /// What to maximise.
    pub metric: Metric,
    /// Seed of the carving, the draws and the fits.
    pub seed: u64,
    /// How validation rows are carved.
    pub split: SplitKind,
    /// The share of each user's items held out.
    pub holdout: f64,
    /// How each space is searched.
    pub search: Search,
    /// What the choice aims at: the catalogue as it is, or new items.
    pub target: Target,
}

/// What a tuning's validation scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    /// The catalogue as it is: a share of every user's items, and linked items held out whole
    /// in the share the catalogue's items without interactions are estimated new.
    #[default]
    Auto,
    /// New items (`--target cold`): linked items held out whole (as many as the catalogue has
    /// linked items without interactions, at least [`COLD_TARGET_SHARE`] of the linked ones),
    /// and only their rows scored, each ranked among all items.
    Cold,
}

/// `--target cold`: the least share of the linked items with interactions held out whole.
pub const COLD_TARGET_SHARE: f64 = 0.1;

impl Target {
    /// The `--target` spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Cold => "cold",
        }
    }
}

impl Default for TuneRequest {
    fn default() -> Self {
        Self {
            models: Vec::new(),
            budget: Duration::from_secs(600),
            trials: None,
            metric: Metric::default(),
            seed: 0,
            split: SplitKind::Random,
            holdout: 0.2,
            search: Search::Refine,
            target: Target::Auto,
        }
    }
}

/// One scored trial, as the search reports it while it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialReport<'a> {
    /// The learner.
    pub learner: &'a str,
    /// The trial.
    pub trial: &'a TrialRecord,
    /// The best full trial's value so far for this learner.
    pub best: f64,
    /// Seconds left of this learner's share of the budget.
    pub seconds_left: f64,
}

/// The search of one learner's space: its trials and the best full one.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    /// Every trial, in the order it ran (the defaults first).
    pub trials: Vec<TrialRecord>,
    /// The best full trial's knobs.
    pub best: Overrides,
    /// Its value.
    pub value: f64,
    /// The defaults' value.
    pub default_value: f64,
    /// Why the first failed trial failed (a draw the learner refused, a diverged fit).
    pub first_failure: Option<String>,
}

/// Fits and scores one draw: `(knobs, epochs override, stop)` → the metric, or `None` when
/// `stop` ended the fit first.
pub type Evaluate<'a> =
    dyn FnMut(&Overrides, Option<usize>, &AtomicBool) -> Result<Option<f64>> + 'a;

/// Searches `space` for at most `budget` of wall time (the defaults' trial always runs in full)
/// and `trials` draws, calling `evaluate` for every fit; `cancel` (Ctrl-C) ends it with
/// [`Error::Cancelled`]. Deterministic for a seed when `evaluate` is.
#[allow(clippy::too_many_arguments)]
pub fn search_space(
    learner: &str,
    space: &[Param],
    search: Search,
    budget: Duration,
    trials: Option<usize>,
    seed: u64,
    evaluate: &mut Evaluate<'_>,
    report: &mut dyn FnMut(&TrialReport<'_>),
    cancel: &AtomicBool,
) -> Result<SearchResult> {
    let limits = Limits {
        search,
        budget,
        trials,
        seed,
    };
    search_planned(
        learner,
        space,
        &limits,
        &Plan::default(),
        evaluate,
        report,
        cancel,
    )
}

/// How long and how a search runs.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How the space is searched.
    pub search: Search,
    /// Wall time (the defaults' trial runs in full whatever it is).
    pub budget: Duration,
    /// At most this many draws besides the defaults.
    pub trials: Option<usize>,
    /// Seed of the draws.
    pub seed: u64,
}

/// [`search_space`] with a [`Plan`]: its seeds are fitted right after the defaults, and a
/// learner whose graph can be switched off is searched with it off first (`refine`).
pub fn search_planned(
    learner: &str,
    space: &[Param],
    limits: &Limits,
    plan: &Plan,
    evaluate: &mut Evaluate<'_>,
    report: &mut dyn FnMut(&TrialReport<'_>),
    cancel: &AtomicBool,
) -> Result<SearchResult> {
    let Limits {
        search,
        budget,
        trials,
        seed,
    } = *limits;
    let start = Instant::now();
    let deadline = start + budget;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ name_hash(learner));
    let mut state = SearchState {
        learner,
        trials: Vec::new(),
        best: (Overrides::default(), f64::NEG_INFINITY),
        deadline,
        first_failure: None,
    };
    // The defaults first, in full, whatever the budget: the baseline every draw must beat.
    let default_value = run_trial(
        &mut state,
        evaluate,
        &Overrides::default(),
        None,
        (0, true),
        None,
        cancel,
        report,
    )?
    .unwrap_or(f64::NEG_INFINITY);
    let max_draws = match space.is_empty() {
        true => 0,
        false => trials.unwrap_or(usize::MAX),
    };
    let halving = search == Search::Halving && space.iter().any(|p| p.knob == RESOURCE);
    let mut drawn = 0usize;
    // The seeds, in full, each once (a seed equal to the defaults or to an earlier seed is
    // not fitted again).
    for draw in &plan.seeds {
        if drawn >= max_draws || Instant::now() >= deadline {
            break;
        }
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        if draw.is_empty() || state.trials.iter().any(|t| t.params == *draw) {
            continue;
        }
        drawn += 1;
        if !run_full(&mut state, evaluate, draw, cancel, report)? {
            break;
        }
    }
    // `refine` with a graph that switches off: the other knobs with the graph off first.
    let graph_off = match search {
        Search::Refine => plan.graph_off.as_ref(),
        _ => None,
    };
    let off_until = start + budget.mul_f64(GRAPH_OFF_SHARE);
    let interaction: Vec<Param> = match graph_off {
        Some((_, knobs)) => space
            .iter()
            .filter(|p| !knobs.contains(&p.knob))
            .copied()
            .collect(),
        None => space.to_vec(),
    };
    let graph_params: Vec<Param> = space
        .iter()
        .filter(|p| !interaction.contains(p))
        .copied()
        .collect();
    let (mut drawn_off, mut drawn_on) = (0usize, 0usize);
    while drawn < max_draws && Instant::now() < deadline {
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        if !halving {
            let best_full = |state: &SearchState<'_>, only_off: bool| -> Vec<TrialRecord> {
                let mut full: Vec<TrialRecord> = state
                    .trials
                    .iter()
                    .filter(|t| t.full && (!only_off || plan.is_graph_off(&t.params)))
                    .cloned()
                    .collect();
                full.sort_by(|a, b| b.value.total_cmp(&a.value));
                full.truncate(REFINE_PARENTS);
                full
            };
            let near_one_of =
                |full: &[TrialRecord], space: &[Param], rng: &mut ChaCha8Rng| match full
                    .get(rng.random_range(0..full.len().max(1)))
                {
                    Some(parent) => Overrides::near(&parent.params, space, REFINE_STEP, rng),
                    None => Overrides::draw(space, rng),
                };
            let draw = match graph_off {
                // The graph off: the other knobs, refined among the graph-off trials.
                Some((off, _))
                    if Instant::now() < off_until
                        && trials.is_none_or(|t| {
                            drawn_off < (t as f64 * GRAPH_OFF_SHARE).ceil() as usize
                        }) =>
                {
                    drawn_off += 1;
                    let explore = drawn_off <= REFINE_AFTER.max(3 * interaction.len())
                        || rng.random::<f64>() < REFINE_EXPLORE;
                    let draw = match explore {
                        true => Overrides::draw(&interaction, &mut rng),
                        false => near_one_of(&best_full(&state, true), &interaction, &mut rng),
                    };
                    draw.over(off)
                }
                // Then the graph on: its knobs drawn afresh on the best graph-off trial's other
                // knobs (a step away), besides draws near the best trials of either kind.
                Some(_) => {
                    drawn_on += 1;
                    let explore = drawn_on <= REFINE_AFTER.max(3 * graph_params.len())
                        || rng.random::<f64>() < REFINE_EXPLORE;
                    match explore {
                        true => {
                            let mut best_off = best_full(&state, true);
                            best_off.truncate(1);
                            let base = near_one_of(&best_off, &interaction, &mut rng);
                            base.over(&Overrides::draw(&graph_params, &mut rng))
                        }
                        false => near_one_of(&best_full(&state, false), space, &mut rng),
                    }
                }
                None => {
                    let explore = search != Search::Refine
                        || drawn < REFINE_AFTER.max(3 * space.len())
                        || rng.random::<f64>() < REFINE_EXPLORE;
                    match explore {
                        true => Overrides::draw(space, &mut rng),
                        false => near_one_of(&best_full(&state, false), space, &mut rng),
                    }
                }
            };
            drawn += 1;
            if !run_full(&mut state, evaluate, &draw, cancel, report)? {
                break;
            }
            continue;
        }
        // One bracket of successive halving.
        let size = ETA.pow(RUNGS - 1).min(max_draws - drawn);
        let mut alive: Vec<(Overrides, f64)> = (0..size)
            .map(|_| (Overrides::draw(space, &mut rng), f64::NEG_INFINITY))
            .collect();
        drawn += size;
        let mut out_of_time = false;
        for rung in 0..RUNGS {
            let full = rung + 1 == RUNGS || alive.len() == 1;
            for entry in alive.iter_mut() {
                let epochs = entry.0.epochs.unwrap_or(1);
                let shrink = ETA.pow(RUNGS - 1 - rung);
                let given = (!full).then(|| epochs.div_ceil(shrink).max(MIN_RUNG_EPOCHS));
                match run_trial(
                    &mut state,
                    evaluate,
                    &entry.0,
                    given,
                    (rung, full),
                    Some(deadline),
                    cancel,
                    report,
                )? {
                    Some(v) => entry.1 = v,
                    None => {
                        out_of_time = true;
                        break;
                    }
                }
            }
            if out_of_time || full {
                break;
            }
            // The best third (at least one) goes on; ties keep the earlier draw.
            alive.sort_by(|a, b| b.1.total_cmp(&a.1));
            alive.truncate(alive.len().div_ceil(ETA));
        }
        if out_of_time {
            break;
        }
    }
    Ok(SearchResult {
        trials: state.trials,
        best: state.best.0,
        value: state.best.1,
        default_value,
        first_failure: state.first_failure,
    })
}

struct SearchState<'a> {
    learner: &'a str,
    trials: Vec<TrialRecord>,
    best: (Overrides, f64),
    deadline: Instant,
    first_failure: Option<String>,
}

/// One draw fitted in full, stopped at the search's deadline; `false` when the deadline ended it.
fn run_full(
    state: &mut SearchState<'_>,
    evaluate: &mut Evaluate<'_>,
    draw: &Overrides,
    cancel: &AtomicBool,
    report: &mut dyn FnMut(&TrialReport<'_>),
) -> Result<bool> {
    let deadline = Some(state.deadline);
    let value = run_trial(
        state,
        evaluate,
        draw,
        None,
        (0, true),
        deadline,
        cancel,
        report,
    )?;
    Ok(value.is_some())
}

/// Runs one fit, stopped at `deadline` (none: never) or by `cancel`; `None` when the deadline
/// ended it.
#[allow(clippy::too_many_arguments)]
fn run_trial(
    state: &mut SearchState<'_>,
    evaluate: &mut Evaluate<'_>,
    draw: &Overrides,
    epochs: Option<usize>,
    (rung, full): (u32, bool),
    deadline: Option<Instant>,
    cancel: &AtomicBool,
    report: &mut dyn FnMut(&TrialReport<'_>),
) -> Result<Option<f64>> {
    let started = Instant::now();
    let stop = AtomicBool::new(false);
    let done = AtomicBool::new(false);
    // A watcher raises `stop` at the deadline or on `cancel`; the fit checks it every epoch.
    let outcome = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                if cancel.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
                    stop.store(true, Ordering::Relaxed);
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        let outcome = evaluate(draw, epochs, &stop);
        done.store(true, Ordering::Relaxed);
        outcome
    });
    let value = match outcome {
        Ok(Some(v)) => v,
        Ok(None) | Err(Error::Cancelled) if !cancel.load(Ordering::Relaxed) => return Ok(None),
        Ok(None) => return Err(Error::Cancelled),
        // A draw the learner refuses (a combination of knobs it cannot fit) is a failed trial,
        // ranked last, not the end of the search; so are the defaults when their fit diverges
        // (other learning rates may not) or collapse (a smaller regularisation may not).
        // Any other failure of the defaults is the data's.
        Err(e)
            if e.exit_code() == 2
                && (!draw.is_empty()
                    || matches!(
                        e,
                        Error::Fit(
                            crate::cf::FitError::Diverged { .. }
                                | crate::cf::FitError::NotFinite { .. }
                                | crate::cf::FitError::Collapsed(_)
                        )
                    )) =>
        {
            state.first_failure.get_or_insert_with(|| e.to_string());
            f64::NEG_INFINITY
        }
        Err(e) => return Err(e),
    };
    // A draw whose scores are not numbers (a diverged fit) ranks last.
    let value = if value.is_finite() {
        value
    } else {
        f64::NEG_INFINITY
    };
    let trial = TrialRecord {
        params: draw.clone(),
        epochs,
        value,
        fit_seconds: started.elapsed().as_secs_f64(),
        rung,
        full,
    };
    if full && value > state.best.1 {
        state.best = (draw.clone(), value);
    }
    report(&TrialReport {
        learner: state.learner,
        trial: &trial,
        best: state.best.1,
        seconds_left: state
            .deadline
            .saturating_duration_since(Instant::now())
            .as_secs_f64(),
    });
    state.trials.push(trial);
    Ok(Some(value))
}

/// A stable hash of a learner's name, so each learner draws its own sequence from one seed.
fn name_hash(name: &str) -> u64 {
    // FNV-1a.
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Whether `space` holds `knob`.
pub fn has_knob(space: &[Param], knob: Knob) -> bool {
    space.iter().any(|p| p.knob == knob)
}

#[cfg(test)]
mod tests;
