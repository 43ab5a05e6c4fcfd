//! `Engine::tune`: reads the data directory's interactions, graph and links once, carves the
//! validation rows ([`crate::tune::carve`]), searches every learner's space on them
//! ([`crate::tune::search_space`]) and stores what it found (`store::tuning`), so that `train`
//! uses it. The fits run without holding the data directory.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::{Engine, TrainRequest, TrainingData, poisoned};
use crate::error::{Error, Result};
use crate::ids::ItemId;
use crate::learners::{
    self, Binding, Learner, Loaded, ModelKind, ModelSpec, Overrides, TrainInput,
};
use crate::metrics::user_scores;
use crate::serving::rank_users;
use crate::store::{InteractionStore, StoredModel, TunedLearner, TuningStore};
use crate::tune::split::whole_items;
use crate::tune::{Carved, Metric, TrialReport, TuneRequest, carve, search_space};

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
    let n = best.len();
    if n < 2 || defaults.len() != n {
        return None;
    }
    let diffs: Vec<f64> = best.iter().zip(defaults).map(|(b, d)| b - d).collect();
    let mean = diffs.iter().sum::<f64>() / n as f64;
    let var = diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let se = (var / n as f64).sqrt();
    (mean > 0.0 && mean < se).then(|| NoisyGain {
        learner: learner.to_owned(),
        gain: mean,
        standard_error: se,
        users: n,
    })
}

impl TuneOutcome {
    /// The best learner's record.
    pub fn best(&self) -> Option<&TunedLearner> {
        self.learners.iter().find(|l| l.learner == self.best)
    }

    /// The items the validation held out whole, as a clause to follow what it held out per
    /// user (`, and every interaction of 64 linked items ...`); empty when it held none.
    pub fn whole_items_clause(&self) -> String {
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
        // One read of the inputs, with the graph and its text when any learner reads it.
        let probe = match learners.iter().any(|l| l.kind.reads_graph()) {
            true => ModelKind::Tfidf,
            false => ModelKind::Als,
        };
        let data = self.training_data(&TrainRequest {
            spec: ModelSpec::new(probe.name(), &Overrides::default())?,
            seed: request.seed,
            keep: 1,
            ann: crate::cf::ann::AnnSettings::default(),
        })?;
        // Items held out whole when the catalogue's linked items without interactions look new
        // (whatever learners are tuned, so every learner is scored on the same rows).
        let linked: Vec<bool> = match data.graph.counts.triples > 0 {
            true => data.item_entity.iter().map(Option::is_some).collect(),
            false => Vec::new(),
        };
        let whole = whole_items(&data.matrix, &linked, request.seed);
        let graph_linked = linked.iter().any(|l| *l);
        let carved = carve(
            &data.snapshot,
            request.split,
            request.holdout,
            request.seed,
            &whole.whole,
        )?;
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
        if carved.validation.len() < MIN_TUNING_USERS {
            return Err(Error::BadInput(format!(
                "too few users to tune on: {} of them have the {} items or more that validation \
                 rows are carved from, and tuning needs {MIN_TUNING_USERS}; train with the \
                 defaults (or your own flags) instead",
                carved.validation.len(),
                crate::tune::split::MIN_USER_ITEMS
            )));
        }
        Ok(TuningData {
            data,
            carved,
            learners,
            unseen,
            new_items: whole.new_items,
            unplaced: whole.unplaced,
            graph_linked,
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
    /// the learner it found best when `None`), or over the learner's defaults when it was not
    /// tuned or `use_tuning` is false (the default learner when none is named or tuned); and
    /// the tuning record used, if any. The CLI's `train` and the HTTP rebuild both ask here, so
    /// both lay a request's knobs over a tuning the same way.
    pub fn train_spec(
        &self,
        learner: Option<&str>,
        explicit: &Overrides,
        use_tuning: bool,
    ) -> Result<(ModelSpec, Option<TunedLearner>)> {
        let tuned = match use_tuning {
            true => self.tuned(learner)?,
            false => None,
        };
        Ok(match tuned {
            Some(t) => (
                ModelSpec::new(&t.learner, &t.overrides.over(explicit))?,
                Some(t),
            ),
            None => {
                let name = learner.unwrap_or_else(|| ModelSpec::default().kind().name());
                (ModelSpec::new(name, explicit)?, None)
            }
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
            // Per-user figures of the defaults and of the best draw so far, for the noise check.
            let mut defaults_users: Option<Vec<f64>> = None;
            let mut best_users: Option<(f64, Overrides, Vec<f64>)> = None;
            let mut evaluate = |o: &Overrides, epochs: Option<usize>, stop: &AtomicBool| {
                let full = Overrides {
                    epochs: epochs.or(o.epochs),
                    ..o.clone()
                };
                let spec = ModelSpec::new(name, &full)?;
                let ratings = explicit.then_some(&ratings);
                let validated = validate(
                    &spec,
                    (carved, data),
                    Scoring {
                        unseen,
                        metric: request.metric,
                        ratings,
                    },
                    request.seed,
                    stop,
                )?;
                Ok(validated.map(|(value, users)| {
                    if let Some(users) = users {
                        if defaults_users.is_none() && *o == Overrides::default() {
                            defaults_users = Some(users.clone());
                        }
                        if best_users.as_ref().is_none_or(|(best, _, _)| value > *best) {
                            best_users = Some((value, o.clone(), users));
                        }
                    }
                    value
                }))
            };
            let space = learner.tuning_space(carved.whole_items > 0, self.graph_linked);
            if space.len() < learner.tuning_space(carved.whole_items > 0, true).len() {
                without_graph.push(name.to_owned());
            }
            let result = search_space(
                name,
                &space,
                request.search,
                share,
                request.trials,
                request.seed,
                &mut evaluate,
                report,
                cancel,
            )?;
            if result.value == f64::NEG_INFINITY {
                let why = result
                    .first_failure
                    .unwrap_or_else(|| "no trial finished within the budget".to_owned());
                failed.push((name.to_owned(), why));
                continue;
            }
            if let (Some(defaults), Some((value, best, users))) = (&defaults_users, &best_users)
                && *best == result.best
                && *value == result.value
            {
                within_noise.extend(noisy_gain(name, users, defaults));
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
        Ok(TuneOutcome {
            learners: tuned,
            best,
            validation_users: carved.validation.len(),
            whole_items: self.whole_items(),
            seconds: started.elapsed().as_secs_f64(),
            failed,
            within_noise,
            without_graph,
            earlier_kept: Vec::new(),
        })
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

/// Fits `spec` on the carved training rows and scores it on the validation rows; `None` when
/// `stop` ended the fit.
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
    let input = TrainInput {
        snapshot: &carved.snapshot,
        matrix: &carved.matrix,
        graph: &data.graph,
        item_entity: &data.item_entity,
    };
    let trained = match spec.fit(&input, seed, &mut |_| {}, stop) {
        Err(Error::Cancelled) => return Ok(None),
        other => other?,
    };
    let kind = trained.header.kind;
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
    let Loaded::Recommender(model) = learners::load(stored, &binding)? else {
        return Err(Error::Internal {
            what: format!("{} did not load as a recommender", kind.name()),
        });
    };
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
                && !(kind.reads_graph() && data.item_entity.get(i).is_some_and(Option::is_some))
        })
        .map(|i| i as u32)
        .chain(unseen.iter().copied())
        .collect();
    unlearnt.sort_unstable();
    unlearnt.dedup();
    let users: Vec<_> = carved.validation.iter().map(|(u, _)| Some(*u)).collect();
    let lists = rank_users(model.as_ref(), &carved.matrix, &users, metric.k, &unlearnt);
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
