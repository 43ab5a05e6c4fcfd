//! `Engine::tune`: reads the data directory's interactions, graph and links once, carves the
//! validation rows ([`crate::tune::carve`]), searches every learner's space on them
//! ([`crate::tune::search_space`]) and stores what it found (`store::tuning`), so that `train`
//! uses it. The fits run without holding the data directory.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::collapse::Collapse;
use super::{Engine, TrainRequest, TrainingData, poisoned};
use crate::error::{Error, Result};
use crate::ids::ItemId;
use crate::learners::{
    self, Binding, Knob, Learner, Loaded, ModelKind, ModelSpec, Overrides, TrainInput,
};
use crate::metrics::user_scores;
use crate::serving::rank_users;
use crate::store::{InteractionStore, ModelHeader, StoredModel, TunedLearner, TuningStore};
use crate::tune::split::{carve_whole, cold_target_items, whole_items};
use crate::tune::{
    Carved, Limits, Metric, MetricKind, Plan, Target, TrialReport, TuneRequest, carve,
    search_planned,
};

/// What to do when there are too few users to tune on: train, but not blindly with the
/// defaults, which on a catalogue this small may collapse to about one order for every user
/// (`train` warns of it and names the remedy of [`super::collapse::advice`]).
const TRAIN_INSTEAD: &str = "train instead (`kgrec train`), with your own flags where needed: \
     on a catalogue this small the defaults may give nearly every user the same list, which \
     `train` warns of as a collapse; then train again with the smaller --reg its warning \
     suggests, or with --model ease";

/// Fewer validation users than this and a choice would be noise.
pub const MIN_TUNING_USERS: usize = crate::ease::MIN_VALIDATION_USERS;

/// What a tuning found.
#[derive(Debug, Clone)]
pub struct TuneOutcome {
    /// Every learner tuned, in the order it was tuned.
    pub learners: Vec<TunedLearner>,
    /// The learner with the best validation metric.
    pub best: String,
    /// Users with validation rows.
    pub validation_users: usize,
    /// Items held out whole, the catalogue's linked items without interactions, and how many
    /// of those were estimated new.
    pub whole_items: (usize, usize, f64),
    /// Wall time of the whole tuning.
    pub seconds: f64,
    /// Learners left out because none of their trials could be fitted, with the first
    /// failure's message.
    pub failed: Vec<(String, String)>,
    /// Learners whose best draw beat the defaults by less than one standard error of the
    /// per-user differences: a gain within noise (see docs/tuning.md).
    pub within_noise: Vec<NoisyGain>,
    /// Learners that read a graph, tuned without their graph knobs because no linked item is
    /// in a graph (none imported, or no link into it).
    pub without_graph: Vec<String>,
    /// Learners whose earlier, better record on the same validation rows was kept instead of
    /// this run's (set by [`Engine::store_tuning`]; `learners` then holds the kept record).
    pub earlier_kept: Vec<EarlierKept>,
    /// Learners whose best draw with the graph on beat their best with it off by less than
    /// one standard error of the per-user differences: the graph-off draw was chosen
    /// (`gain` is the graph's, over the graph-off best).
    pub graph_within_noise: Vec<NoisyGain>,
    /// Learners whose cold rule was chosen again on the items held out whole (`auto` target),
    /// one line each: which rule, and its figure on those rows against the search's.
    pub cold_rules: Vec<String>,
    /// Learners whose defaults collapsed at the default --reg and were fitted again at a
    /// smaller one, as `train` refits them, one line each.
    pub refitted_defaults: Vec<String>,
    /// What the validation scored.
    pub target: Target,
    /// Earlier records on other validation rows (another metric, seed, split or store) that
    /// this run's replaced (set by [`Engine::store_tuning`]).
    pub replaced: Vec<TunedLearner>,
    /// The best learner's lead over the runner-up when it is within one standard error of the
    /// per-user differences (`gain` is the lead; the runner-up's name beside it): the two are
    /// alike on these rows, and the choice between them is a coin's.
    pub choice_within_noise: Option<(NoisyGain, String)>,
}

/// [`TuneOutcome::choice_within_noise`] from each learner's per-user figures.
fn choice_margin(best: &str, chosen: &[(String, f64, Vec<f64>)]) -> Option<(NoisyGain, String)> {
    let (_, _, best_users) = chosen.iter().find(|(name, ..)| name == best)?;
    let (runner, _, runner_users) = chosen
        .iter()
        .filter(|(name, ..)| name != best)
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    paired_gain(best, best_users, runner_users)
        .filter(|g| g.gain <= g.standard_error)
        .map(|g| (g, runner.clone()))
}

/// An earlier record kept over this run's for one learner.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EarlierKept {
    /// The learner.
    pub learner: String,
    /// The kept record's figure.
    pub kept_value: f64,
    /// This run's best figure, lower.
    pub this_run_value: f64,
    /// This run's trials.
    pub this_run_trials: usize,
}

/// A learner's tuning gain over its defaults that is smaller than its standard error.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NoisyGain {
    /// The learner.
    pub learner: String,
    /// The best draw's figure minus the defaults'.
    pub gain: f64,
    /// The standard error of the mean per-user difference (sd / √users).
    pub standard_error: f64,
    /// Validation users the figures average over.
    pub users: usize,
}

/// The gain of `best` over `defaults` (per-user figures of one metric, paired by user) when it
/// is positive but smaller than one standard error of the mean per-user difference; `None`
/// when it is clear of it (or no gain, or fewer than 2 users).
pub fn noisy_gain(learner: &str, best: &[f64], defaults: &[f64]) -> Option<NoisyGain> {
    paired_gain(learner, best, defaults).filter(|g| g.gain > 0.0 && g.gain < g.standard_error)
}

/// The mean per-user gain of `best` over `base` (paired by user) and its standard error;
/// `None` with fewer than 2 users or unpaired figures.
pub fn paired_gain(learner: &str, best: &[f64], base: &[f64]) -> Option<NoisyGain> {
    let n = best.len();
    if n < 2 || base.len() != n {
        return None;
    }
    let diffs: Vec<f64> = best.iter().zip(base).map(|(b, d)| b - d).collect();
    let mean = diffs.iter().sum::<f64>() / n as f64;
    let var = diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    Some(NoisyGain {
        learner: learner.to_owned(),
        gain: mean,
        standard_error: (var / n as f64).sqrt(),
        users: n,
    })
}

impl TuneOutcome {
    /// The best learner's record.
    pub fn best(&self) -> Option<&TunedLearner> {
        self.learners.iter().find(|l| l.learner == self.best)
    }

    /// A note when `record`'s choice leaves the catalogue's linked items that look new (the
    /// validation held some out whole) unranked: `cke` with both graph weights 0 and a
    /// `--cold-scale` (with the graph's terms off, only the nearest-items rule places them).
    /// The `auto` validation weighs them by their share of the catalogue, and the warm rows
    /// may outweigh them; `--target cold` scores them alone.
    pub fn new_items_left_out(&self, record: &TunedLearner) -> Option<String> {
        let (whole, unplaced, new) = self.whole_items;
        if self.target == Target::Cold || whole == 0 {
            return None;
        }
        let spec = ModelSpec::new(&record.learner, &record.overrides).ok()?;
        if !spec.kind().reads_graph() || graph_in_use(&spec) {
            return None;
        }
        Some(format!(
            "{}: the choice turns the graph's terms off and gives --cold-scale (which scales an \
             embedding only those terms train), so the model cannot rank the catalogue's \
             {unplaced} linked items without interactions ({new:.0} of them look new): on the \
             validation rows, where they count by their share, the draws that place them scored \
             lower; to tune for new items, add --target cold",
            record.learner
        ))
    }

    /// The items the validation held out whole, as a clause to follow what it held out per
    /// user (`, and every interaction of 64 linked items ...`); empty when it held none.
    pub fn whole_items_clause(&self) -> String {
        if self.target == Target::Cold {
            return format!(
                ", --target cold: every interaction of {} linked items held out whole, and only \
                 those rows scored",
                self.whole_items.0
            );
        }
        match self.whole_items {
            (0, _, _) => String::new(),
            (whole, unplaced, new) => format!(
                ", and every interaction of {whole} linked items held out whole (of the \
                 catalogue's {unplaced} linked items without interactions, {new:.0} look new \
                 rather than rare)"
            ),
        }
    }
}

impl Engine {
    /// The learners `tune` tries when none is named: ALS and EASE, and the graph's two
    /// (`cke`, `kg-ease`) when items are linked to a graph.
    pub fn default_tune_models(&self) -> Result<Vec<String>> {
        let (triples, linked) = self.read(|dir| {
            let triples = dir.kg().counts()?.triples;
            Ok((triples, InteractionStore::open(dir.db())?.counts()?.linked))
        })?;
        let mut models = vec!["als".to_owned(), "ease".to_owned()];
        if triples > 0 && linked > 0 {
            models.extend(["cke".to_owned(), "kg-ease".to_owned()]);
        }
        Ok(models)
    }

    /// Tunes `request.models` on validation rows carved from the data directory's own
    /// interactions and stores the result; `report` hears every trial; raising `cancel` stops it
    /// ([`Error::Cancelled`], nothing stored). The same as [`Engine::tuning_data`], then
    /// [`TuningData::search`] and [`Engine::store_tuning`], which a caller that should not hold
    /// the data directory during the search (the CLI) calls one by one.
    pub fn tune(
        &self,
        request: &TuneRequest,
        report: &mut dyn FnMut(&TrialReport<'_>),
        cancel: &AtomicBool,
    ) -> Result<TuneOutcome> {
        let data = self.tuning_data(request)?;
        let mut outcome = data.search(request, report, cancel)?;
        if let Some(best) = self.store_tuning(&mut outcome)? {
            outcome.best = best.learner;
        }
        Ok(outcome)
    }

    /// Reads what `request` tunes on out of the data directory and carves the validation rows.
    pub fn tuning_data(&self, request: &TuneRequest) -> Result<TuningData> {
        let models = match request.models.is_empty() {
            true => self.default_tune_models()?,
            false => request.models.clone(),
        };
        let mut learners = Vec::new();
        for name in &models {
            let learner = learners::learner(name).ok_or_else(|| {
                Error::BadInput(format!(
                    "--models {name}: no such learner (expected some of {})",
                    learners::recommender_names().join(", ")
                ))
            })?;
            if !learner.recommender {
                return Err(Error::BadInput(format!(
                    "--models {name}: graph embeddings are not tuned by `kgrec tune` (they do not \
                     recommend); tune a recommender: {}",
                    learners::recommender_names().join(", ")
                )));
            }
            if !learners.iter().any(|l: &&Learner| l.kind == learner.kind) {
                learners.push(learner);
            }
        }
        // ALS first when a learner whose graph-off corner is ALS is tuned with it: that learner
        // then starts from ALS's best (`TuningData::search`).
        if learners.iter().any(|l| l.graph_off().is_some())
            && let Some(at) = learners.iter().position(|l| l.kind == ModelKind::Als)
        {
            let als = learners.remove(at);
            learners.insert(0, als);
        }
        // One read of the inputs, with the graph and its text when any learner reads it.
        let probe = match learners.iter().any(|l| l.kind.reads_graph()) {
            true => ModelKind::Tfidf,
            false => ModelKind::Als,
        };
        let data = self.training_data(&TrainRequest {
            spec: ModelSpec::new(probe.name(), &Overrides::default())?,
            seed: request.seed,
            keep: 1,
            ..TrainRequest::default()
        })?;
        // Items held out whole when the catalogue's linked items without interactions look new
        // (whatever learners are tuned, so every learner is scored on the same rows).
        let linked: Vec<bool> = match data.graph.counts.triples > 0 {
            true => data.item_entity.iter().map(Option::is_some).collect(),
            false => Vec::new(),
        };
        let graph_linked = linked.iter().any(|l| *l);
        let (whole, carved) = match request.target {
            Target::Auto => {
                let whole = whole_items(&data.matrix, &linked, request.seed);
                let carved = carve(
                    &data.snapshot,
                    request.split,
                    request.holdout,
                    request.seed,
                    &whole.whole,
                )?;
                (whole, carved)
            }
            Target::Cold => {
                if !graph_linked {
                    return Err(Error::BadInput(
                        "--target cold: no item is linked to an entity of a knowledge graph, so                          no learner can place a new item (import a graph and links, or drop                          --target cold)"
                            .to_owned(),
                    ));
                }
                let whole = cold_target_items(&data.matrix, &linked, request.seed);
                let carved = carve_whole(&data.snapshot, &whole.whole)?;
                (whole, carved)
            }
        };
        // With items held out whole, they stand for the catalogue's own items without
        // interactions, about which no validation row can say anything: lists leave those out
        // (as `kg-ease`'s own choice does).
        let unseen: Vec<u32> = match carved.whole_items {
            0 => Vec::new(),
            _ => (0..data.matrix.n_items())
                .filter(|&i| data.matrix.item_row(ItemId(i as u32)).0.is_empty())
                .map(|i| i as u32)
                .collect(),
        };
        if request.target == Target::Cold && carved.validation.len() < MIN_TUNING_USERS {
            return Err(Error::BadInput(format!(
                "--target cold: the {} linked items held out whole were chosen by {} users, and \
                 tuning needs {MIN_TUNING_USERS}; tune without --target cold",
                carved.whole_items,
                carved.validation.len()
            )));
        }
        if request.target == Target::Auto && carved.share_users == 0 && carved.whole_items > 0 {
            let rows: usize = carved.validation.iter().map(|(_, items)| items.len()).sum();
            return Err(Error::BadInput(format!(
                "too few users to tune on: no user has the {} items or more that validation rows \
                 are carved from, so the only validation rows would be the {rows} interactions \
                 of the {} linked item(s) held out whole (new-item rows alone, from {} users), \
                 too thin to choose on; {}",
                crate::tune::split::MIN_USER_ITEMS,
                carved.whole_items,
                carved.validation.len(),
                TRAIN_INSTEAD
            )));
        }
        if carved.validation.len() < MIN_TUNING_USERS {
            return Err(Error::BadInput(format!(
                "too few users to tune on: {} of them have the {} items or more that validation \
                 rows are carved from, and tuning needs {MIN_TUNING_USERS}; {}",
                carved.validation.len(),
                crate::tune::split::MIN_USER_ITEMS,
                TRAIN_INSTEAD
            )));
        }
        whole_list_cut_off(
            request.metric,
            &carved,
            data.matrix.n_items() - unseen.len(),
        )?;
        let items_with_interactions = items_with_interactions(&data.snapshot);
        Ok(TuningData {
            data,
            carved,
            learners,
            unseen,
            new_items: whole.new_items,
            unplaced: whole.unplaced,
            graph_linked,
            items_with_interactions,
        })
    }

    /// Stores what a search found: `train` uses it from now on. A learner's earlier record on
    /// the same validation rows (same interactions, carving and metric) that did better is kept
    /// (a short run does not undo a long one), and the best learner is chosen among every
    /// record on those rows, not only the ones this run tuned. `outcome.learners` becomes the
    /// records kept, and `outcome.earlier_kept` says which were earlier ones and what this run
    /// found instead.
    pub fn store_tuning(&self, outcome: &mut TuneOutcome) -> Result<Option<TunedLearner>> {
        self.check_writable()?;
        let _writer = self.inner.writer.lock().map_err(poisoned)?;
        self.read(|dir| {
            let store = TuningStore::open(dir.db())?;
            let earlier = store.all()?;
            let kept: Vec<TunedLearner> = outcome
                .learners
                .iter()
                .map(|new| {
                    earlier
                        .iter()
                        .find(|old| {
                            old.learner == new.learner
                                && old.same_rows(new)
                                && old.value > new.value
                        })
                        .unwrap_or(new)
                        .clone()
                })
                .collect();
            let comparable = earlier
                .iter()
                .filter(|old| !kept.iter().any(|k| k.learner == old.learner))
                .filter(|old| kept.first().is_some_and(|k| old.same_rows(k)))
                .chain(&kept);
            let best = best_of(comparable).cloned();
            let name = best
                .as_ref()
                .map_or_else(|| outcome.best.clone(), |t| t.learner.clone());
            // An earlier record of a tuned learner on other validation rows (another metric,
            // seed, split or store) gives way to this run's: said, never silent.
            outcome.replaced = earlier
                .iter()
                .filter(|old| {
                    kept.iter()
                        .any(|k| k.learner == old.learner && !old.same_rows(k))
                })
                .cloned()
                .collect();
            store.put(&kept, &name)?;
            outcome.earlier_kept = outcome
                .learners
                .iter()
                .zip(&kept)
                .filter(|(new, kept)| new != kept)
                .map(|(new, kept)| EarlierKept {
                    learner: new.learner.clone(),
                    kept_value: kept.value,
                    this_run_value: new.value,
                    this_run_trials: new.trials.len(),
                })
                .collect();
            // The noise check judged this run's best draw, not a record kept instead.
            outcome
                .within_noise
                .retain(|n| !outcome.earlier_kept.iter().any(|e| e.learner == n.learner));
            outcome.learners = kept;
            Ok(best)
        })
    }

    /// What the last tuning found for `learner`, or for the best learner when `None`.
    pub fn tuned(&self, learner: Option<&str>) -> Result<Option<TunedLearner>> {
        self.read(|dir| {
            let Some(store) = TuningStore::open_existing(dir.db())? else {
                return Ok(None);
            };
            let name = match learner {
                Some(name) => Some(name.to_owned()),
                None => store.best()?,
            };
            Ok(match name {
                Some(name) => store.get(&name)?,
                None => None,
            })
        })
    }

    /// The spec a training fits: `explicit` laid over what `kgrec tune` chose for `learner` (for
    /// the learner it found best when `None`), or over the learner's defaults for this
    /// catalogue ([`Learner::catalogue_defaults`]: the dimension grown with the items with
    /// interactions) when it was not tuned or `use_tuning` is false (the default learner when
    /// none is named or tuned); the tuning record used, if any; and the grown dimension, if
    /// it was. The CLI's `train` and `eval` and the HTTP rebuild all ask here, so all lay a
    /// request's knobs over a tuning, and size an untuned dimension, the same way.
    pub fn train_spec(
        &self,
        learner: Option<&str>,
        explicit: &Overrides,
        use_tuning: bool,
    ) -> Result<TrainSpec> {
        let tuned = match use_tuning {
            true => self.tuned(learner)?,
            false => None,
        };
        if let Some(t) = tuned {
            // A flag for another learner than the tuned choice, which the user did not name.
            if learner.is_none()
                && let Some((flag, takers)) = explicit.foreign_to(&t.learner)
            {
                let untuned = ModelSpec::default().kind().name();
                return Err(Error::BadInput(format!(
                    "{flag} does not apply to {learner}, the learner `kgrec tune` chose (train \
                     trains it when --model is not given): name a learner that takes {flag} \
                     with --model M ({}){}",
                    takers.join(", "),
                    match takers.contains(&untuned) {
                        true => format!(", or add --untuned to train the defaults ({untuned})"),
                        false => String::new(),
                    },
                    learner = t.learner,
                )));
            }
            return Ok(TrainSpec {
                spec: ModelSpec::new(&t.learner, &t.overrides.over(explicit))?,
                tuned: Some(t),
                sized: None,
                default_reg: false,
            });
        }
        let name = learner.unwrap_or_else(|| ModelSpec::default().kind().name());
        // Refused as it is, before the catalogue is counted (an unknown learner, a foreign
        // knob).
        let spec = ModelSpec::new(name, explicit)?;
        let default_reg = explicit.reg.is_none() && spec.regularization().is_some();
        let default = match (explicit.dim, spec.kind().learner().default_dim()) {
            (None, Some(default)) => default,
            _ => {
                return Ok(TrainSpec {
                    spec,
                    tuned: None,
                    sized: None,
                    default_reg,
                });
            }
        };
        let items = self.read(|dir| {
            Ok(items_with_interactions(
                &InteractionStore::open(dir.db())?.load()?,
            ))
        })?;
        let defaults = spec.kind().learner().catalogue_defaults(items);
        Ok(TrainSpec {
            spec: ModelSpec::new(name, &defaults.over(explicit))?,
            tuned: None,
            sized: defaults.dim.map(|dim| SizedDim {
                dim,
                default,
                items,
            }),
            default_reg,
        })
    }

    /// Every learner the last tunings tuned, and the best one's name.
    pub fn tuning(&self) -> Result<(Vec<TunedLearner>, Option<String>)> {
        self.read(|dir| match TuningStore::open_existing(dir.db())? {
            Some(store) => Ok((store.all()?, store.best()?)),
            None => Ok((Vec::new(), None)),
        })
    }
}

/// What a training fits, and why ([`Engine::train_spec`]).
#[derive(Debug, Clone)]
pub struct TrainSpec {
    /// The learner and its knobs.
    pub spec: ModelSpec,
    /// The tuning record laid under the flags, if one was.
    pub tuned: Option<TunedLearner>,
    /// The learner's default dimension grown with the catalogue, when it was (no tuning, no
    /// `--dim`, a catalogue above ml-100k's size).
    pub sized: Option<SizedDim>,
    /// Whether the regularisation is the learner's default (no tuning, no `--reg`): a fit
    /// that collapses at it may be refitted at a smaller one
    /// ([`crate::engine::TrainRequest::shrink_collapsed_reg`]).
    pub default_reg: bool,
}

/// A learner's default dimension grown with the catalogue
/// ([`crate::learners::space::sized_dim`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizedDim {
    /// The dimension fitted.
    pub dim: usize,
    /// The learner's default, chosen on ml-100k.
    pub default: usize,
    /// The catalogue's items with interactions.
    pub items: usize,
}

impl SizedDim {
    /// What `train` and `eval` say of it.
    pub fn note(&self) -> String {
        use crate::learners::space::{DIM_CAP, DIM_EXPONENT, REFERENCE_ITEMS};
        format!(
            "dim {} sized to the catalogue: {} items with interactions, {:.1} times ml-100k's \
             {REFERENCE_ITEMS}, so the default {} grows to {} × {:.1}^{DIM_EXPONENT} (at most \
             {DIM_CAP}); --dim D to choose another",
            self.dim,
            self.items,
            self.items as f64 / REFERENCE_ITEMS as f64,
            self.default,
            self.default,
            self.items as f64 / REFERENCE_ITEMS as f64,
        )
    }
}

/// The items with at least one interaction: the catalogue's size the dimension follows (the
/// tuner's and `train`'s alike).
pub(crate) fn items_with_interactions(snapshot: &crate::store::Snapshot) -> usize {
    with_interactions(
        snapshot.items.len(),
        snapshot.records.iter().map(|r| r.item.0),
    )
}

/// The users with at least one interaction (`stats` counts the others: every interaction of
/// theirs was removed).
pub(crate) fn users_with_interactions(snapshot: &crate::store::Snapshot) -> usize {
    with_interactions(
        snapshot.users.len(),
        snapshot.records.iter().map(|r| r.user.0),
    )
}

/// How many of `n` dense ids occur in `ids`.
fn with_interactions(n: usize, ids: impl Iterator<Item = u32>) -> usize {
    let mut seen = vec![false; n];
    for id in ids {
        if let Some(s) = seen.get_mut(id as usize) {
            *s = true;
        }
    }
    seen.iter().filter(|s| **s).count()
}

/// A tuning's inputs, read out of the data directory and carved: the search needs nothing else.
#[derive(Debug)]
pub struct TuningData {
    data: TrainingData,
    carved: Carved,
    learners: Vec<&'static Learner>,
    /// Items left out of validation lists: with items held out whole, the catalogue's own
    /// items without interactions.
    unseen: Vec<u32>,
    /// The catalogue's linked items without interactions estimated new.
    new_items: f64,
    /// The catalogue's linked items without interactions.
    unplaced: usize,
    /// Some item is linked to an entity of the graph: the graph knobs can matter.
    graph_linked: bool,
    /// Items with at least one interaction: the catalogue's size the dimension follows.
    items_with_interactions: usize,
}

impl TuningData {
    /// The learners it tunes, in order.
    pub fn learners(&self) -> Vec<&'static str> {
        self.learners.iter().map(|l| l.name).collect()
    }

    /// Items held out whole, the catalogue's linked items without interactions, and how many
    /// of those are estimated new (what decided the first).
    pub fn whole_items(&self) -> (usize, usize, f64) {
        (self.carved.whole_items, self.unplaced, self.new_items)
    }

    /// Searches every learner's space (the budget shared evenly); nothing is stored.
    pub fn search(
        &self,
        request: &TuneRequest,
        report: &mut dyn FnMut(&TrialReport<'_>),
        cancel: &AtomicBool,
    ) -> Result<TuneOutcome> {
        let started = Instant::now();
        let (data, carved, unseen) = (&self.data, &self.carved, &self.unseen);
        let share = request.budget / self.learners.len().max(1) as u32;
        let mut tuned = Vec::new();
        let mut failed = Vec::new();
        let (mut within_noise, mut without_graph) = (Vec::new(), Vec::new());
        let mut graph_within_noise = Vec::new();
        let mut cold_rules = Vec::new();
        let mut refitted_defaults = Vec::new();
        // Per learner its choice's figure per validation user (learner, figure, per user).
        let mut chosen_users: Vec<(String, f64, Vec<f64>)> = Vec::new();
        // ALS's choice, once tuned: where a learner's graph-off corner is ALS, its start.
        let mut als_best: Option<Overrides> = None;
        // The held-out rows' ratings, for the learners that predict ratings.
        let ratings: HashMap<(u32, u32), f32> = data
            .snapshot
            .records
            .iter()
            .filter_map(|r| r.rating.map(|x| ((r.user.0, r.item.0), x)))
            .collect();
        for learner in &self.learners {
            let name = learner.name;
            let learner_started = Instant::now();
            let explicit = learner.feedback == learners::Feedback::Explicit;
            let mut space = learner.tuning_space(carved.whole_items > 0, self.graph_linked);
            if ratings.is_empty() {
                space = crate::learners::space::without_ratings(space);
            }
            if space.len() < learner.tuning_space(carved.whole_items > 0, true).len() {
                without_graph.push(name.to_owned());
            }
            // The dimension follows the catalogue: its range grows with the items, and every
            // draw is laid over the learner's defaults for this catalogue, which `train` fits
            // without a tuning (the first trial, the defaults, is exactly that).
            let space = learner.sized_space(space, self.items_with_interactions);
            let defaults = learner.catalogue_defaults(self.items_with_interactions);
            let plan = plan(learner, &space, als_best.as_ref());
            // Per-user figures of the defaults and of the best draw so far, for the noise check,
            // and of the best full draws with the graph off and on, for the graph's.
            let mut defaults_users: Option<Vec<f64>> = None;
            let mut best_users: Option<(f64, Overrides, Vec<f64>)> = None;
            let mut best_off: Option<(f64, Overrides, Vec<f64>)> = None;
            let mut best_on: Option<(f64, Overrides, Vec<f64>)> = None;
            // Draws fitted again at a smaller --reg because the default one collapsed (the
            // draw, its epochs, the --reg fitted), as `train` refits its defaults.
            let mut refitted: Vec<(Overrides, Option<usize>, f32)> = Vec::new();
            let mut evaluate = |o: &Overrides, epochs: Option<usize>, stop: &AtomicBool| {
                let mut full = Overrides {
                    epochs: epochs.or(o.epochs),
                    ..defaults.over(o)
                };
                let mut spec = ModelSpec::new(name, &full)?;
                let ratings = explicit.then_some(&ratings);
                // A draw at the learner's default --reg (the defaults' trial) that collapses is
                // fitted again at a tenth, at most `REG_SHRINKS` times: the model `train`
                // would fit without a tuning (`TrainRequest::shrink_collapsed_reg`).
                let default_reg = full.reg.is_none().then(|| spec.regularization()).flatten();
                let mut shrunk = 0;
                let validated = loop {
                    let outcome = validate(
                        &spec,
                        (carved, data),
                        Scoring {
                            unseen,
                            metric: request.metric,
                            ratings,
                        },
                        request.seed,
                        stop,
                    );
                    match (outcome, default_reg) {
                        (Err(Error::Fit(crate::cf::FitError::Collapsed(_))), Some(reg))
                            if shrunk < super::REG_SHRINKS && reg > 0.0 =>
                        {
                            shrunk += 1;
                            full.reg = Some(reg / 10f32.powi(shrunk as i32));
                            spec = ModelSpec::new(name, &full)?;
                        }
                        (outcome, _) => break outcome?,
                    }
                };
                if let (true, Some(reg)) = (shrunk > 0 && validated.is_some(), full.reg) {
                    refitted.push((o.clone(), epochs, reg));
                }
                Ok(validated.map(|(value, users)| {
                    if let Some(users) = users {
                        if defaults_users.is_none() && *o == Overrides::default() {
                            defaults_users = Some(users.clone());
                        }
                        if epochs.is_none() && plan.graph_off.is_some() {
                            let side = match plan.is_graph_off(o) {
                                true => &mut best_off,
                                false => &mut best_on,
                            };
                            if side.as_ref().is_none_or(|(best, _, _)| value > *best) {
                                *side = Some((value, o.clone(), users.clone()));
                            }
                        }
                        if best_users.as_ref().is_none_or(|(best, _, _)| value > *best) {
                            best_users = Some((value, o.clone(), users));
                        }
                    }
                    value
                }))
            };
            // `cke`'s cold rule is chosen after the search, on one more fit of the choice: a
            // part of the learner's share is kept for it.
            let chooses_cold_rule = learner.kind == learners::ModelKind::Cke
                && request.target == Target::Auto
                && carved.whole_items > 0
                && self.graph_linked;
            let limits = Limits {
                search: request.search,
                budget: match chooses_cold_rule {
                    true => share.mul_f64(1.0 - COLD_RULE_SHARE),
                    false => share,
                },
                trials: request.trials,
                seed: request.seed,
            };
            let mut result =
                search_planned(name, &space, &limits, &plan, &mut evaluate, report, cancel)?;
            if result.value == f64::NEG_INFINITY {
                let why = result
                    .first_failure
                    .unwrap_or_else(|| "no trial finished within the budget".to_owned());
                failed.push((name.to_owned(), why));
                continue;
            }
            // The graph stays only where it pays: its best draw must beat the best with the graph
            // off by more than one standard error of the per-user differences.
            if let (Some((on_value, on, on_users)), Some((off_value, off, off_users))) =
                (&best_on, &best_off)
                && *on == result.best
                && *on_value == result.value
                && let Some(gain) = paired_gain(name, on_users, off_users)
                && gain.gain <= gain.standard_error
            {
                result.best = off.clone();
                result.value = *off_value;
                best_users = Some((*off_value, off.clone(), off_users.clone()));
                graph_within_noise.push(gain);
            }
            if let (Some(defaults), Some((value, best, users))) = (&defaults_users, &best_users)
                && *best == result.best
                && *value == result.value
            {
                within_noise.extend(noisy_gain(name, users, defaults));
            }
            // A draw fitted again at a smaller --reg is recorded with the --reg fitted, so that
            // `train` with the tuned choice fits what was measured.
            if let Some(note) = refitted_defaults_note(name, &defaults, &refitted, &mut result) {
                refitted_defaults.push(note);
            }
            // The choice as `train` fits it: laid over the catalogue's defaults (the defaults'
            // own trial, drawn as no knob, becomes the size-aware dimension).
            result.best = defaults.over(&result.best);
            // `cke`'s cold rule is judged on the items held out whole, whatever the graph's
            // terms: one fit of the choice, every rule laid on it.
            if chooses_cold_rule
                && result.value.is_finite()
                && let Some(cold) = choose_cold_rule(
                    &result.best,
                    (carved, data),
                    unseen,
                    request.metric,
                    (request.seed, learner_started + share),
                    cancel,
                )?
            {
                if cold.overrides != result.best {
                    result.trials.push(crate::store::TrialRecord {
                        params: cold.overrides.clone(),
                        epochs: None,
                        value: cold.value,
                        fit_seconds: cold.seconds,
                        rung: 0,
                        full: true,
                    });
                    result.best = cold.overrides;
                    result.value = cold.value;
                }
                cold_rules.push(cold.note);
            }
            if learner.kind == learners::ModelKind::Als {
                als_best = Some(result.best.clone());
            }
            // The choice's per-user figures, for the margin between learners (a ranking
            // figure, and only when they are the choice's: the cold rule may have moved it).
            if let Some((value, _, users)) = best_users.take()
                && value == result.value
                && !explicit
            {
                chosen_users.push((name.to_owned(), value, users));
            }
            tuned.push(TunedLearner {
                learner: name.to_owned(),
                overrides: result.best,
                metric: match explicit {
                    true => NEGATED_RMSE.to_owned(),
                    false => request.metric.to_string(),
                },
                value: result.value,
                default_value: result.default_value,
                trials: result.trials,
                fingerprint: data.snapshot.fingerprint,
                seed: request.seed,
                split: request.split.name().to_owned(),
                search: request.search.name().to_owned(),
                validation_users: carved.validation.len(),
                whole_items: carved.whole_items,
                target: request.target.name().to_owned(),
                created_unix: SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
                seconds: learner_started.elapsed().as_secs_f64(),
            });
        }
        if tuned.is_empty()
            && let Some((name, why)) = failed.first()
        {
            return Err(Error::BadInput(format!(
                "no trial of {name} could be fitted, the defaults' included: {why}"
            )));
        }
        let best = best_of(&tuned)
            .map(|t| t.learner.clone())
            .unwrap_or_default();
        let choice_within_noise = choice_margin(&best, &chosen_users);
        Ok(TuneOutcome {
            choice_within_noise,
            learners: tuned,
            best,
            validation_users: carved.validation.len(),
            whole_items: self.whole_items(),
            seconds: started.elapsed().as_secs_f64(),
            failed,
            within_noise,
            without_graph,
            earlier_kept: Vec::new(),
            graph_within_noise,
            cold_rules,
            refitted_defaults,
            target: request.target,
            replaced: Vec::new(),
        })
    }
}

/// Records the draws of `refitted` (fitted again at a smaller --reg after the default one
/// collapsed: draw, epochs, --reg fitted) in `result`'s trials and choice with the --reg
/// fitted, and says so: `None` when no draw was refitted.
fn refitted_defaults_note(
    learner: &str,
    defaults: &Overrides,
    refitted: &[(Overrides, Option<usize>, f32)],
    result: &mut crate::tune::SearchResult,
) -> Option<String> {
    let refit_of = |params: &Overrides, epochs: Option<usize>| {
        refitted
            .iter()
            .find(|(draw, e, _)| draw == params && *e == epochs)
            .map(|&(_, _, reg)| reg)
    };
    for trial in &mut result.trials {
        if let Some(reg) = refit_of(&trial.params, trial.epochs) {
            trial.params.reg = Some(reg);
        }
    }
    if let Some(reg) = refit_of(&result.best, None) {
        result.best.reg = Some(reg);
    }
    let &(_, _, last) = refitted.iter().find(|(_, e, _)| e.is_none())?;
    let first = ModelSpec::new(learner, defaults)
        .ok()
        .and_then(|s| s.regularization())?;
    Some(format!(
        "{learner}: the default --reg {first} collapsed on the validation rows (every score \
         near zero, or one order for every user), so the defaults' trial was fitted again at \
         --reg {last}, as `train` does without a tuning"
    ))
}

/// Refuses a metric blind to the order within a list (recall, precision, hit rate) whose
/// cut-off reaches, for half the validation users or more, the number
/// of items they can be recommended (the `rankable` items less their training items): their
/// lists hold every candidate, so recall and hit rate are 1 for every setting, and the choice
/// among them would be arbitrary (`eval -k` warns of the same).
fn whole_list_cut_off(metric: Metric, carved: &Carved, rankable: usize) -> Result<()> {
    // Rank-weighted metrics still tell orders apart when a list holds every candidate.
    if matches!(
        metric.kind,
        MetricKind::Ndcg | MetricKind::Map | MetricKind::Mrr
    ) {
        return Ok(());
    }
    let mut candidates: Vec<usize> = carved
        .validation
        .iter()
        .map(|(u, _)| rankable.saturating_sub(carved.matrix.user_row(*u).0.len()))
        .collect();
    if candidates.is_empty() {
        return Ok(());
    }
    candidates.sort_unstable();
    let whole = candidates.iter().filter(|&&c| c <= metric.k).count();
    if whole * 2 < candidates.len() {
        return Ok(());
    }
    let median = candidates[candidates.len() / 2];
    Err(Error::BadInput(format!(
        "--metric {metric}: the catalogue has {rankable} items a list can hold, and for {whole} \
         of the {} validation users a list of {} holds every item they could be recommended \
         (all but their training items), so every setting scores about alike there and the \
         choice would be arbitrary; use a cut-off well below {median} (the median validation \
         user's candidates), or a metric of the order, e.g. --metric ndcg@10",
        candidates.len(),
        metric.k
    )))
}

/// How `learner`'s space is searched: a learner whose graph-off corner is ALS (`cke`) starts
/// from ALS's choice (`als`, when tuned in the same run: with the graph off, and with the
/// graph's default weights) and from its defaults with the graph off, and is searched with
/// the graph off first when `space` holds the graph's knobs.
/// The knobs held there are those of the graph's training terms
/// ([`Learner::graph_term_knobs`]): `cke`'s nearest-items cold rule is searched in that corner
/// too, judged on the items held out whole. (The size-aware dimension needs no seed: every
/// draw is laid over [`Learner::catalogue_defaults`], the first trial's.)
fn plan(
    learner: &Learner,
    space: &[crate::learners::space::Param],
    als: Option<&Overrides>,
) -> Plan {
    let Some(off) = learner.graph_off() else {
        return Plan::default();
    };
    let knobs = learner.graph_term_knobs();
    let graph = space.iter().any(|p| knobs.contains(&p.knob));
    // Without items held out whole (the catalogue's items without interactions look rare, not
    // new) the cold rule is not searched; its corner is then ALS exactly, new items left
    // unplaced (`--cold-scale 0`): placing rare items costs the warm rows (measured on the
    // Freebase graph's fold0: nDCG@10 0.4475 placed against 0.4586 not).
    let cold_searched = space.iter().any(|p| p.knob == Knob::ColdNeighbours);
    let off = match (graph, cold_searched, learner.kind) {
        (false, _, _) => Overrides::default(),
        (true, false, ModelKind::Cke) => Overrides {
            cold_scale: Some(0.0),
            ..off
        },
        (true, _, _) => off,
    };
    let mut seeds = Vec::new();
    if let Some(als) = als {
        seeds.push(als.over(&off));
        seeds.push(als.clone());
    }
    seeds.push(Overrides::default().over(&off));
    Plan {
        seeds,
        graph_off: graph.then(|| (off, knobs.to_vec())),
    }
}

/// Whether a fit of `spec` learns anything of a linked item without interactions: the learners
/// that read the graph, but not `cke` with both graph weights 0 and `--cold-scale` (the
/// embedding it scales is trained only by the graph's terms).
fn graph_in_use(spec: &ModelSpec) -> bool {
    match spec {
        ModelSpec::Cke(p) => p.places_new_items(),
        other => other.kind().reads_graph(),
    }
}

/// The validation figure of the learners that predict ratings: minus the RMSE of the held-out
/// rows' ratings (the search maximises).
pub const NEGATED_RMSE: &str = "-rmse";

/// The record with the best validation figure; ties keep the earlier one. A ranking learner's
/// figure and a rating learner's (`-rmse`) do not compare: the ranking learners come first.
fn best_of<'a>(records: impl IntoIterator<Item = &'a TunedLearner>) -> Option<&'a TunedLearner> {
    let key = |t: &TunedLearner| (t.metric != NEGATED_RMSE, t.value);
    records.into_iter().fold(None, |best, t| match best {
        Some(b) if key(b) >= key(t) => Some(b),
        _ => Some(t),
    })
}

/// How [`validate`] scores a fit.
struct Scoring<'a> {
    /// Items no list ranks (the catalogue's own items without interactions, when items are
    /// held out whole).
    unseen: &'a [u32],
    /// The ranking metric.
    metric: Metric,
    /// The held-out ratings of a rating learner: scored by −RMSE instead.
    ratings: Option<&'a HashMap<(u32, u32), f32>>,
}

/// Validation users ranked between two looks at the deadline.
const VALIDATION_BLOCK: usize = 4_096;

/// Fits `spec` on the carved training rows and scores it on the validation rows; `None` when
/// `stop` ended the fit or its scoring.
fn validate(
    spec: &ModelSpec,
    (carved, data): (&Carved, &TrainingData),
    scoring: Scoring<'_>,
    seed: u64,
    stop: &AtomicBool,
) -> Result<Option<(f64, Option<Vec<f64>>)>> {
    let Scoring {
        unseen,
        metric,
        ratings,
    } = scoring;
    let Some((header, loaded)) = fit_carved(spec, (carved, data), seed, stop)? else {
        return Ok(None);
    };
    let kind = header.kind;
    let reads_graph = graph_in_use(spec);
    let Loaded::Recommender(model) = loaded else {
        return Err(Error::Internal {
            what: format!("{} did not load as a recommender", kind.name()),
        });
    };
    // A draw `train` would condemn as collapsed is never the one chosen: a failed trial. Not
    // a nearly-one-order one: on the carved rows, items held out whole (`--target cold`) may top
    // most lists by design; `train` still warns of it on all the rows.
    if let Some(c @ (Collapse::Zero | Collapse::OneOrder { .. })) =
        super::collapse::check(kind, model.as_ref(), &carved.matrix)
    {
        return Err(crate::cf::FitError::Collapsed(format!(
            "trial discarded: {}",
            super::collapse::describe(c, &header, None)
        ))
        .into());
    }
    if let (Some(ratings), Some(rating)) = (ratings, model.rating_model()) {
        let (mut se, mut n) = (0.0f64, 0usize);
        for (user, held) in &carved.validation {
            for item in held {
                if let Some(&r) = ratings.get(&(user.0, item.0)) {
                    let p = rating.predict(Some(*user), Some(*item));
                    se += (f64::from(p.rating) - f64::from(r)).powi(2);
                    n += 1;
                }
            }
        }
        return Ok(Some((-(se / n.max(1) as f64).sqrt(), None)));
    }
    // As serving does: an item the fit learnt nothing about (no interaction left, and no
    // linked entity for the graph's learners) is not ranked.
    let mut unlearnt: Vec<u32> = (0..carved.matrix.n_items())
        .filter(|&i| {
            carved.matrix.item_row(ItemId(i as u32)).0.is_empty()
                && !(reads_graph && data.item_entity.get(i).is_some_and(Option::is_some))
        })
        .map(|i| i as u32)
        .chain(unseen.iter().copied())
        .collect();
    unlearnt.sort_unstable();
    unlearnt.dedup();
    let users: Vec<_> = carved.validation.iter().map(|(u, _)| Some(*u)).collect();
    // Ranked a block of users at a time, so that the deadline also stops a slow scoring (a
    // learner without a matrix-product path, such as cke with attention, on a big catalogue).
    let mut lists = Vec::with_capacity(users.len());
    for block in users.chunks(VALIDATION_BLOCK) {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(None);
        }
        lists.extend(rank_users(
            model.as_ref(),
            &carved.matrix,
            block,
            metric.k,
            &unlearnt,
        ));
    }
    let per_user: Vec<f64> = carved
        .validation
        .iter()
        .zip(&lists)
        .map(|((_, held), list)| {
            let relevant: HashSet<ItemId> = held.iter().copied().collect();
            let ranked: Vec<ItemId> = list.items.iter().map(|s| s.item).collect();
            metric.of(&user_scores(&ranked, &relevant, metric.k))
        })
        .collect();
    let total: f64 = per_user.iter().sum();
    Ok(Some((
        total / carved.validation.len().max(1) as f64,
        Some(per_user),
    )))
}

/// `cke`'s cold rules tried on the items held out whole: the nearest-items rule with these
/// many neighbours, and (with the graph's terms on) the entity embedding at these scales.
const COLD_NEIGHBOURS: [usize; 8] = [1, 2, 3, 5, 8, 13, 20, 30];
const COLD_SCALES: [f32; 4] = [0.25, 0.5, 1.0, 2.0];

/// The part of `cke`'s share of the budget kept for choosing its cold rule after the search
/// (one fit of the choice, then a ranking of the validation users per rule).
const COLD_RULE_SHARE: f64 = 0.25;

/// A cold rule (`--cold-scale`, `--cold-neighbours`), its figure on the whole items' rows, on
/// every row, and per user on every row.
type ScoredRule = ((Option<f32>, usize), f64, f64, Vec<f64>);

/// A cold rule chosen on the items held out whole.
struct ColdChoice {
    /// The draw with that rule.
    overrides: Overrides,
    /// Its figure on every validation row (the search's measure).
    value: f64,
    /// Wall time of the fit and the rankings.
    seconds: f64,
    /// What was chosen, for the report.
    note: String,
}

/// `spec` fitted on the carved rows (its notes are not shown) and loaded as it would be served,
/// with its header; `None` when `stop` cancelled the fit.
fn fit_carved(
    spec: &ModelSpec,
    (carved, data): (&Carved, &TrainingData),
    seed: u64,
    stop: &AtomicBool,
) -> Result<Option<(ModelHeader, Loaded)>> {
    let input = TrainInput {
        snapshot: &carved.snapshot,
        matrix: &carved.matrix,
        graph: &data.graph,
        item_entity: &data.item_entity,
        caller: crate::interactions::Caller::default(),
    };
    let trained = match spec.fit(&input, seed, &mut |_| {}, stop) {
        Err(Error::Cancelled) => return Ok(None),
        other => other?,
    };
    let header = trained.header.clone();
    let stored = StoredModel {
        header: trained.header,
        arrays: trained.arrays,
    };
    let binding = Binding {
        snapshot: &carved.snapshot,
        matrix: &carved.matrix,
        graph: &data.graph,
        item_entity: &data.item_entity,
    };
    Ok(Some((header, learners::load(stored, &binding)?)))
}

/// `cke` with items held out whole (`auto` target): its cold knobs change only the vectors of
/// linked items without interactions, so the choice's draw is fitted once, every cold rule
/// laid on it ([`crate::fused::Fused::with_cold_rule`]), and the rule with the best figure on
/// the whole items' rows alone (each user's held-out whole items ranked among the lists the
/// validation ranks) kept, among the rules that cost every row no more than one standard
/// error of the per-user differences against the draw's own; ties keep the draw's own rule,
/// which comes first. The graph's terms
/// were chosen on every row; the placing of new items is judged where new items are. `None`
/// when the fit was stopped.
fn choose_cold_rule(
    best: &Overrides,
    (carved, data): (&Carved, &TrainingData),
    unseen: &[u32],
    metric: Metric,
    (seed, deadline): (u64, Instant),
    cancel: &AtomicBool,
) -> Result<Option<ColdChoice>> {
    let started = Instant::now();
    let spec = ModelSpec::new("cke", best)?;
    let ModelSpec::Cke(params) = &spec else {
        return Ok(None);
    };
    let Some((_, Loaded::Recommender(model))) = fit_carved(&spec, (carved, data), seed, cancel)?
    else {
        return Ok(None);
    };
    let Some(fused) = model.fused() else {
        return Ok(None);
    };
    let m = carved.matrix.n_items();
    let warm: Vec<bool> = (0..m)
        .map(|i| !carved.matrix.item_row(ItemId(i as u32)).0.is_empty())
        .collect();
    // Held out whole: no interaction left in the carved rows, some in the data.
    let whole: HashSet<ItemId> = (0..m)
        .filter(|&i| !warm[i] && !data.matrix.item_row(ItemId(i as u32)).0.is_empty())
        .map(|i| ItemId(i as u32))
        .collect();
    let own = (
        best.cold_scale,
        best.cold_neighbours.unwrap_or(params.cold_neighbours),
    );
    let mut rules = vec![own];
    rules.extend(COLD_NEIGHBOURS.iter().map(|&k| (None, k)));
    if params.uses_graph() {
        rules.extend(
            COLD_SCALES
                .iter()
                .map(|&s| (Some(s), params.cold_neighbours)),
        );
    }
    let users: Vec<_> = carved.validation.iter().map(|(u, _)| Some(*u)).collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    // (rule, figure on the whole items' rows, figure on every row, per user on every row)
    let mut scored: Vec<ScoredRule> = Vec::new();
    let distinct = rules
        .iter()
        .enumerate()
        .filter(|(n, r)| !rules[..*n].contains(r))
        .count();
    for rule in rules {
        if scored.iter().any(|(r, ..)| *r == rule) {
            continue;
        }
        // The search's own rule is always scored; the others while the share lasts.
        if !scored.is_empty() && Instant::now() >= deadline {
            break;
        }
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        let placed = fused
            .with_cold_rule(rule.0, rule.1, &warm)
            .map_err(|e| Error::Internal {
                what: e.to_string(),
            })?;
        let places = placed.params.places_new_items();
        let mut unlearnt: Vec<u32> = (0..m)
            .filter(|&i| {
                !(warm[i] || places && data.item_entity.get(i).is_some_and(Option::is_some))
            })
            .map(|i| i as u32)
            .chain(unseen.iter().copied())
            .collect();
        unlearnt.sort_unstable();
        unlearnt.dedup();
        let lists = rank_users(&placed, &carved.matrix, &users, metric.k, &unlearnt);
        let (mut on_whole, mut on_all) = (Vec::new(), Vec::new());
        for ((_, held), list) in carved.validation.iter().zip(&lists) {
            let ranked: Vec<ItemId> = list.items.iter().map(|s| s.item).collect();
            let relevant: HashSet<ItemId> = held.iter().copied().collect();
            on_all.push(metric.of(&user_scores(&ranked, &relevant, metric.k)));
            let new: HashSet<ItemId> = relevant.intersection(&whole).copied().collect();
            if !new.is_empty() {
                on_whole.push(metric.of(&user_scores(&ranked, &new, metric.k)));
            }
        }
        let value = mean(&on_all);
        scored.push((rule, mean(&on_whole), value, on_all));
    }
    let Some((_, own_whole, _, own_users)) = scored.first() else {
        return Ok(None);
    };
    // A rule that costs every row more than one standard error of the per-user differences
    // (new items ranked above the warm rows' own) is not chosen, whatever it finds.
    let affordable = |users: &[f64]| {
        paired_gain("cke", users, own_users).is_none_or(|g| g.gain >= -g.standard_error)
    };
    let Some((rule, whole_value, value, _)) =
        scored
            .iter()
            .filter(|s| affordable(&s.3))
            .fold(None, |b: Option<&(_, f64, f64, _)>, s| match b {
                Some(b) if b.1 >= s.1 => Some(b),
                _ => Some(s),
            })
    else {
        return Ok(None);
    };
    let (rule, whole_value, value, own_whole) = (*rule, *whole_value, *value, *own_whole);
    let overrides = match rule {
        (Some(scale), _) => Overrides {
            cold_scale: Some(scale),
            cold_neighbours: None,
            ..best.clone()
        },
        (None, k) => Overrides {
            cold_scale: None,
            cold_neighbours: Some(k),
            ..best.clone()
        },
    };
    let name = match rule {
        (Some(scale), _) => format!("--cold-scale {scale}"),
        (None, k) => format!("--cold-neighbours {k}"),
    };
    let tried = match scored.len() < distinct {
        true => format!(
            " ({} of the {distinct} rules scored before cke's share of the budget ran out)",
            scored.len()
        ),
        false => String::new(),
    };
    Ok(Some(ColdChoice {
        overrides,
        value,
        seconds: started.elapsed().as_secs_f64(),
        note: format!(
            "cke: cold rule {name} chosen on the rows of the {} items with none left in training \
             (those held out whole, and those whose every row was held out): {metric} \
             {whole_value:.4} on them, the search's rule {own_whole:.4}; {value:.4} on every row, \
             where no rule may cost more than one standard error{tried}",
            whole.len()
        ),
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn record(learner: &str, overrides: Overrides) -> TunedLearner {
        TunedLearner {
            learner: learner.to_owned(),
            overrides,
            metric: "ndcg@10".to_owned(),
            value: 0.4,
            default_value: 0.3,
            trials: Vec::new(),
            fingerprint: 1,
            seed: 0,
            split: "random".to_owned(),
            search: "refine".to_owned(),
            validation_users: 100,
            whole_items: 64,
            target: "auto".to_owned(),
            created_unix: 0,
            seconds: 1.0,
        }
    }

    fn outcome(whole_items: usize, target: Target) -> TuneOutcome {
        TuneOutcome {
            learners: Vec::new(),
            best: "cke".to_owned(),
            validation_users: 100,
            whole_items: (whole_items, 141, 71.0),
            seconds: 1.0,
            failed: Vec::new(),
            within_noise: Vec::new(),
            without_graph: Vec::new(),
            earlier_kept: Vec::new(),
            graph_within_noise: Vec::new(),
            cold_rules: Vec::new(),
            refitted_defaults: Vec::new(),
            target,
            replaced: Vec::new(),
            choice_within_noise: None,
        }
    }

    /// A data directory of 200 users × 30 items each, over a catalogue of `items` items, every
    /// one of them with interactions, and 100 linked items without any (which do not count).
    fn catalogue(items: usize) -> (tempfile::TempDir, Engine) {
        let tmp = tempfile::tempdir().unwrap();
        let engine = Engine::create(&tmp.path().join("data")).unwrap();
        let rows = (0..200)
            .flat_map(|u| {
                (0..30).map(move |j| crate::interactions::RawInteraction {
                    user: format!("u{u}"),
                    item: format!("i{}", (u * 30 + j) % items),
                    rating: None,
                    timestamp: None,
                    count: 1,
                    stamps: Vec::new(),
                })
            })
            .collect();
        let links = (0..100)
            .map(|i| crate::interactions::ItemLink {
                item: format!("new{i}"),
                iri: format!("http://example.org/new{i}"),
            })
            .collect();
        engine
            .write_interactions(rows, links, (None, None), true)
            .unwrap();
        (tmp, engine)
    }

    fn untuned(engine: &Engine, learner: Option<&str>, explicit: &Overrides) -> TrainSpec {
        engine.train_spec(learner, explicit, true).unwrap()
    }

    fn factors(spec: &ModelSpec) -> Option<u64> {
        serde_json::to_value(spec).unwrap()["params"]["factors"].as_u64()
    }

    /// Without a tuning or `--dim`, `train` on a catalogue above ml-100k's size fits the
    /// size-aware dimension (and says from what); `--dim` wins; learners without one are
    /// untouched.
    #[test]
    fn an_untuned_train_on_a_big_catalogue_gets_the_sized_dimension() {
        let (_tmp, engine) = catalogue(3_000);
        let als = untuned(&engine, Some("als"), &Overrides::default());
        let dim = learners::space::sized_dim(16, 3_000);
        assert_eq!(dim, 25);
        assert_eq!(factors(&als.spec), Some(25));
        assert_eq!(
            als.sized,
            Some(SizedDim {
                dim: 25,
                default: 16,
                items: 3_000
            })
        );
        let note = als.sized.unwrap().note();
        assert!(
            note.contains("dim 25") && note.contains("3000 items"),
            "{note}"
        );
        // The default learner too, and bpr from its own default.
        assert_eq!(
            factors(&untuned(&engine, None, &Overrides::default()).spec),
            Some(25)
        );
        let bpr = untuned(&engine, Some("bpr"), &Overrides::default());
        assert_eq!(
            factors(&bpr.spec),
            Some(learners::space::sized_dim(64, 3_000) as u64)
        );
        // Other flags keep the sized dimension; `--dim` replaces it, even the default's value.
        let reg = Overrides {
            reg: Some(5.0),
            ..Overrides::default()
        };
        assert_eq!(factors(&untuned(&engine, Some("als"), &reg).spec), Some(25));
        let given = Overrides {
            dim: Some(16),
            ..Overrides::default()
        };
        let als16 = untuned(&engine, Some("als"), &given);
        assert_eq!((factors(&als16.spec), als16.sized), (Some(16), None));
        assert_eq!(
            untuned(&engine, Some("ease"), &Overrides::default()).sized,
            None
        );
        // The stored model has it.
        let trained = engine
            .train(
                &TrainRequest {
                    spec: als.spec,
                    ..TrainRequest::default()
                },
                &mut |_| {},
                &AtomicBool::new(false),
            )
            .unwrap();
        assert_eq!(trained.header.dim, 25);
    }

    /// Up to ml-100k's size the default dimension stays (the ml-100k figures stand).
    #[test]
    fn ml_100k_sized_catalogues_keep_the_default_dimension() {
        let (_tmp, engine) = catalogue(1_650);
        // The store holds more items than ml-100k, but the linked ones have no interaction.
        assert_eq!(engine.stats().unwrap().items, 1_750);
        for learner in ["als", "cke"] {
            let built = untuned(&engine, Some(learner), &Overrides::default());
            assert_eq!((factors(&built.spec), built.sized), (Some(16), None));
        }
        let bpr = untuned(&engine, Some("bpr"), &Overrides::default());
        assert_eq!((factors(&bpr.spec), bpr.sized), (Some(64), None));
    }

    /// The tuner's first trial ("the defaults") is what an untuned `train` fits: with no
    /// draw besides it, the choice stored is exactly the untuned spec.
    #[test]
    fn the_tuners_defaults_trial_is_what_train_fits_untuned() {
        let (_tmp, engine) = catalogue(3_000);
        let outcome = engine
            .tune(
                &TuneRequest {
                    models: vec!["als".to_owned()],
                    trials: Some(0),
                    budget: std::time::Duration::from_secs(600),
                    ..TuneRequest::default()
                },
                &mut |_| {},
                &AtomicBool::new(false),
            )
            .unwrap();
        let record = outcome.best().unwrap();
        assert_eq!(record.trials.len(), 1);
        assert!(record.trials[0].params.is_empty(), "the defaults' trial");
        let train = engine
            .train_spec(Some("als"), &Overrides::default(), false)
            .unwrap();
        assert_eq!(
            ModelSpec::new("als", &record.overrides).unwrap(),
            train.spec
        );
        assert_eq!(factors(&train.spec), Some(25));
        // `train` with the tuning fits the same.
        let tuned = engine
            .train_spec(Some("als"), &Overrides::default(), true)
            .unwrap();
        assert!(tuned.tuned.is_some());
        assert_eq!(tuned.spec, train.spec);
    }

    /// No seed for the size-aware dimension (every draw is laid over the catalogue's defaults,
    /// the first trial's); `cke` starts from ALS's choice, with the graph off and on, then from
    /// its defaults with the graph off.
    #[test]
    fn cke_starts_from_als_choice_and_its_defaults_with_the_graph_off() {
        let als = learners::learner("als").unwrap();
        let space = als.tuning_space(false, false);
        assert_eq!(plan(als, &space, None), Plan::default());
        let cke = learners::learner("cke").unwrap();
        let space = cke.tuning_space(false, true);
        let off = Overrides {
            cold_scale: Some(0.0),
            ..cke.graph_off().unwrap()
        };
        let chosen = Overrides {
            dim: Some(90),
            reg: Some(20.0),
            ..Overrides::default()
        };
        let plan = plan(cke, &space, Some(&chosen));
        assert_eq!(
            plan.seeds,
            vec![
                chosen.over(&off),
                chosen.clone(),
                Overrides::default().over(&off)
            ]
        );
    }

    /// A choice that turns `cke`'s graph terms off and gives `--cold-scale` cannot rank new
    /// items: said when the catalogue has some (items were held out whole), not for the cold
    /// target, not with the graph on, not with the graph off under the nearest-items rule
    /// (which places them), not for learners that never read a graph.
    #[test]
    fn a_graph_off_choice_with_new_items_in_the_catalogue_is_named() {
        let nearest = Overrides {
            kg_weight: Some(0.0),
            neighbour_weight: Some(0.0),
            ..Overrides::default()
        };
        assert!(
            outcome(64, Target::Auto)
                .new_items_left_out(&record("cke", nearest.clone()))
                .is_none()
        );
        let off = Overrides {
            cold_scale: Some(1.0),
            ..nearest
        };
        let note = outcome(64, Target::Auto)
            .new_items_left_out(&record("cke", off.clone()))
            .unwrap();
        assert!(
            note.contains("141 linked items without interactions")
                && note.contains("--target cold"),
            "{note}"
        );
        assert!(
            outcome(0, Target::Auto)
                .new_items_left_out(&record("cke", off.clone()))
                .is_none()
        );
        assert!(
            outcome(64, Target::Cold)
                .new_items_left_out(&record("cke", off))
                .is_none()
        );
        assert!(
            outcome(64, Target::Auto)
                .new_items_left_out(&record("cke", Overrides::default()))
                .is_none()
        );
        assert!(
            outcome(64, Target::Auto)
                .new_items_left_out(&record("als", Overrides::default()))
                .is_none()
        );
    }
}
