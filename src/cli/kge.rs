//! Graph-embedding commands on link-prediction benchmark folders: `kge train` and `kge eval`.
//! No data directory is involved: `kgrec_kg::embed` trains, ranks and writes the export, the
//! library's registry gives the tuned parameters; this module draws the progress bar and prints.
//! Arguments are checked before any work.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use kgrec::kg::embed::{
    self, EpochReport, KgeParams, LinkPredictionReport, Meta, RankMetrics, Sampler, TrainOptions,
    TrainReport,
};
use kgrec::learners::{KgeKnobs, Overrides, apply, kge_params_for};
use kgrec::store::TrialRecord;
use kgrec::tune::kge::{KgeTuneRequest, kge_space, knobs_over, tune_kge};
use kgrec::tune::{SearchResult, TrialReport};
use kgrec::{Error, Result};
use serde::Serialize;

use super::args::{CorruptionName, KgeEvalArgs, KgeFitArgs, KgeTrainArgs, TextOrJson};
use super::{emit, json_text, progress_bar};

/// Short enough that loss, speed and both MRRs fit an 80-column terminal.
const BAR_TEMPLATE: &str = "{prefix} [{bar:12}] {pos}/{len} {wide_msg}";

/// The knobs `kge train` gives.
fn knobs(fit: &KgeFitArgs) -> KgeKnobs {
    KgeKnobs {
        dim: fit.dim,
        rel_dim: fit.rel_dim,
        epochs: fit.epochs,
        negatives: fit.negatives,
        batch_size: fit.batch_size,
        lr: fit.lr,
        gamma: fit.gamma,
        margin: fit.margin,
        norm: fit.norm,
    }
}

/// A per-epoch bar: loss, triples/s, and the validation MRR when the epoch validated.
fn epoch_bar(quiet: bool, epochs: usize, model: &str) -> ProgressBar {
    let bar = progress_bar(quiet, epochs as u64, BAR_TEMPLATE);
    bar.set_prefix(model.to_owned());
    bar
}

fn epoch_callback(bar: &ProgressBar) -> impl FnMut(&EpochReport) + Send + '_ {
    let mut best: Option<(f64, usize)> = None;
    move |e: &EpochReport| {
        bar.set_position(e.epoch as u64);
        let mut msg = format!(
            "loss {:.4} {:.0}k triples/s",
            e.loss,
            e.triples_per_sec.unwrap_or(0.0) / 1000.0
        );
        if let Some(m) = e.valid_mrr {
            if best.is_none_or(|(b, _)| m > b) {
                best = Some((m, e.epoch));
            }
            let _ = write!(msg, " MRR {m:.4}");
        }
        if let Some((b, at)) = best {
            let _ = write!(msg, " (best {b:.4}@{at})");
        }
        bar.set_message(msg);
    }
}

fn check_dataset_dir(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        return Err(Error::BadInput(format!(
            "--dataset {}: no such directory (expected train.txt, valid.txt, test.txt)",
            dir.display()
        )));
    }
    let missing: Vec<&str> = ["train.txt", "valid.txt", "test.txt"]
        .into_iter()
        .filter(|f| !dir.join(f).is_file())
        .collect();
    if !missing.is_empty() {
        return Err(Error::BadInput(format!(
            "--dataset {}: a link-prediction benchmark folder holds train.txt, valid.txt and \
             test.txt (head<TAB>relation<TAB>tail lines); this one lacks {}",
            dir.display(),
            missing.join(", ")
        )));
    }
    Ok(())
}

/// Distinct heads and tails of a benchmark's `train.txt` (0 when it cannot be read: loading
/// the data set then says why): the size the defaults scale with.
fn training_entities(dataset: &Path) -> usize {
    let Ok(file) = std::fs::File::open(dataset.join("train.txt")) else {
        return 0;
    };
    let mut seen = std::collections::HashSet::new();
    let lines = std::io::BufRead::lines(std::io::BufReader::new(file)).map_while(Result::ok);
    for (n, line) in lines.enumerate() {
        if n == 0 && kgrec::kg::source::is_tsv_header(&line) {
            continue;
        }
        let mut fields = line.split('\t');
        if let (Some(head), Some(_), Some(tail)) = (fields.next(), fields.next(), fields.next()) {
            seen.insert(head.to_owned());
            seen.insert(tail.to_owned());
        }
    }
    seen.len()
}

/// Notes on what loading the benchmark folder `dir` does beyond reading triples: a split's
/// first line skipped as a header (as `import kg` skips it), and, when `test` is scored, the
/// test triples whose entity or relation never occurs in train.txt (ranked all the same, with
/// the vectors they started with: the figures say so rather than leave them out).
fn dataset_notes(dir: &Path, test: bool) {
    for name in ["train.txt", "valid.txt", "test.txt"] {
        let path = dir.join(name);
        if let Some(header) = embed::dataset::header_line(&path) {
            super::warn(&format!(
                "note: {}:1: read as a header ({}) and skipped, not as a triple",
                path.display(),
                header.replace('\t', ", ")
            ));
        }
    }
    if !test {
        return;
    }
    // A data set that does not load is reported by the command itself.
    let Ok(dataset) = embed::Dataset::load(dir) else {
        return;
    };
    let unseen = dataset.test_unseen_in_train();
    if unseen.is_empty() {
        return;
    }
    let token = |vocab: &embed::Vocab, id: u32| vocab.token(id).unwrap_or("?").to_owned();
    let examples: Vec<String> = unseen
        .iter()
        .take(3)
        .map(|t| {
            format!(
                "{} {} {}",
                token(&dataset.entities, t.head.0),
                token(&dataset.relations, t.relation.0),
                token(&dataset.entities, t.tail.0)
            )
        })
        .collect();
    super::warn(&format!(
        "note: {} of the {} test triples have an entity or relation that never occurs in \
         {} (e.g. {}): they are ranked all the same, with vectors training never moved, so \
         they score near chance; remove them from test.txt to score only what was learnt",
        unseen.len(),
        dataset.test.len(),
        dir.join("train.txt").display(),
        examples.join("; ")
    ));
}

fn check_export_dir(dir: &Path) -> Result<()> {
    if !dir.join("meta.json").is_file() {
        return Err(Error::BadInput(format!(
            "--model-dir {}: not an embedding export (no meta.json; `kge train --out` and \
             `export embeddings` write entities.tsv, relations.tsv and meta.json)",
            dir.display()
        )));
    }
    Ok(())
}

/// What `kge train --format json` prints.
#[derive(Debug, Serialize)]
struct TrainJson<'a> {
    dataset: &'a Path,
    out: Option<&'a Path>,
    dim: usize,
    seed: u64,
    /// `--tune`: the search (every trial, the best draw, its and the defaults' validation MRR).
    #[serde(skip_serializing_if = "Option::is_none")]
    tuning: Option<TuningJson<'a>>,
    #[serde(flatten)]
    report: &'a TrainReport,
}

/// The search of `kge train --tune`.
#[derive(Debug, Serialize)]
struct TuningJson<'a> {
    search: &'static str,
    /// The best draw as `kge train` flags (empty: the defaults did best).
    best: String,
    best_valid_mrr: f64,
    default_valid_mrr: f64,
    trials: &'a [TrialRecord],
}

/// `kge train`'s parameters for `knobs` (a draw with the flags laid over it, or the flags
/// alone), the other flags applied.
fn params_of(
    args: &KgeTrainArgs,
    knobs: &KgeKnobs,
    patience: Option<usize>,
    entities: usize,
) -> Result<KgeParams> {
    let mut params = kge_params_for(args.model.name(), knobs, entities)?;
    params = apply(params, args.validate_every, KgeParams::validate_every);
    params = apply(params, args.patience.or(patience), KgeParams::patience);
    params = apply(params, args.lr_decays, KgeParams::lr_decays);
    params = apply(params, args.chunk_size, KgeParams::chunk_size);
    let sampler = args.corrupt.map(|c| match c {
        CorruptionName::Uniform => Sampler::Uniform,
        CorruptionName::Bernoulli => Sampler::Bernoulli,
    });
    params = apply(params, sampler, KgeParams::sampler);
    params = apply(params, args.valid_max, KgeParams::valid_max);
    Ok(apply(params, args.max_seconds, KgeParams::max_seconds))
}

/// `kge train --tune`: searches on valid.txt within the budget, a bar showing the best so far.
fn tune(
    args: &KgeTrainArgs,
    budget: Duration,
    entities: usize,
    quiet: bool,
) -> Result<SearchResult> {
    let explicit = knobs(&args.fit);
    let space = kge_space(args.model.name(), &explicit, args.patience.is_some())?;
    let request = KgeTuneRequest {
        model: args.model.name(),
        space: &space,
        budget,
        trials: args.trials,
        search: args.search.into(),
        seed: args.seed,
    };
    let template = TrainOptions {
        dataset_dir: args.dataset.clone(),
        out_dir: None,
        params: params_of(args, &explicit, None, entities)?,
        seed: args.seed,
        threads: args.threads,
        evaluate_test: false,
    };
    let params = |draw: &Overrides, epochs: Option<usize>| {
        params_of(
            args,
            &knobs_over(draw, epochs, &explicit),
            draw.patience,
            entities,
        )
    };
    let seconds = budget.as_secs().max(1);
    let bar = progress_bar(
        quiet,
        seconds,
        "{spinner} tuning [{bar:30}] {elapsed}/{len}s {wide_msg}",
    );
    let started = Instant::now();
    let mut count = 0usize;
    let mut report = |r: &TrialReport<'_>| {
        count += 1;
        bar.set_position(started.elapsed().as_secs().min(seconds));
        bar.set_message(format!(
            "trial {count}: validation MRR {:.4}, best {:.4}",
            r.trial.value, r.best
        ));
    };
    let cancel = AtomicBool::new(false);
    let found = tune_kge(&request, &template, &params, &mut report, &cancel);
    bar.finish_and_clear();
    found
}

/// `kgrec kge train --dataset DIR [--model transe|rotate|transr] [--dim D] ... [--out DIR]
/// [--tune BUDGET]`
pub fn kge_train(args: &KgeTrainArgs, quiet: bool) -> Result<()> {
    check_dataset_dir(&args.dataset)?;
    let replaced = match &args.out {
        Some(out) => super::folder_out(out, args.force)?,
        None => Vec::new(),
    };
    let keeps_nothing = args.out.is_none() && !args.eval_test;
    let entities = training_entities(&args.dataset);
    let mut params = params_of(args, &knobs(&args.fit), None, entities)?;
    if keeps_nothing {
        // Bad parameters and a broken data set are reported as such first.
        params.clone().check().map_err(embed::RunError::from)?;
        embed::Dataset::load(&args.dataset).map_err(embed::RunError::from)?;
        return Err(Error::BadInput(
            "kge train without --out DIR or --eval-test would train and keep nothing: give \
             --out DIR to write the embeddings, --eval-test to score them on test.txt, or both"
                .to_owned(),
        ));
    }
    dataset_notes(&args.dataset, args.eval_test);
    let searched = match args.tune {
        Some(budget) => {
            let found = tune(args, budget, entities, quiet)?;
            params = params_of(
                args,
                &knobs_over(&found.best, None, &knobs(&args.fit)),
                found.best.patience,
                entities,
            )?;
            if !quiet && args.format == TextOrJson::Text {
                super::warn(&format!(
                    "tuned on valid.txt: {} trials, best validation MRR {:.4} ({}; the \
                     defaults: {:.4}); training it",
                    found.trials.len(),
                    found.value,
                    match found.best.is_empty() {
                        true => "the defaults".to_owned(),
                        false => found.best.flags(),
                    },
                    found.default_value
                ));
            }
            Some(found)
        }
        None => None,
    };
    let (dim, epochs) = (params.entity_dim(), params.epoch_limit());
    let opts = TrainOptions {
        dataset_dir: args.dataset.clone(),
        out_dir: args.out.clone(),
        params,
        seed: args.seed,
        threads: args.threads,
        evaluate_test: args.eval_test,
    };
    let bar = epoch_bar(quiet, epochs, args.model.name());
    let report = embed::train_benchmark(&opts, &mut epoch_callback(&bar));
    bar.finish_and_clear();
    let report = report?;
    if let Some(out) = &args.out {
        super::export_replaced_note(out, &replaced);
    }
    let tuning = searched.as_ref().map(|s| TuningJson {
        search: kgrec::tune::Search::from(args.search).name(),
        best: s.best.flags(),
        best_valid_mrr: s.value,
        default_valid_mrr: s.default_value,
        trials: &s.trials,
    });
    match args.format {
        TextOrJson::Json => emit(&json_text(&TrainJson {
            dataset: &args.dataset,
            out: args.out.as_deref(),
            dim,
            seed: args.seed,
            tuning,
            report: &report,
        })?),
        // --quiet: the test figures are a result, the training's summary is not.
        TextOrJson::Text if quiet => match &report.test {
            Some(test) => emit(&metrics_table(test)),
            None => Ok(()),
        },
        TextOrJson::Text => {
            let mut text = String::new();
            if let Some(t) = &tuning {
                text.push_str(&trials_text(t));
            }
            text.push_str(&train_text(args, dim, &report));
            emit(&text)
        }
    }
}

/// The trials of `kge train --tune`, one a line, in the order they ran.
fn trials_text(t: &TuningJson<'_>) -> String {
    let mut out = format!(
        "{:>5} {:>10} {:>8}  draw ({} search)\n",
        "trial", "valid MRR", "seconds", t.search
    );
    for (n, trial) in t.trials.iter().enumerate() {
        let value = match trial.value.is_finite() {
            true => format!("{:.4}", trial.value),
            false => "failed".to_owned(),
        };
        let draw = match trial.params.is_empty() {
            true => "(defaults)".to_owned(),
            false => trial.params.flags(),
        };
        let epochs = trial
            .epochs
            .map(|e| format!(" [{e} epochs of halving]"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:>5} {value:>10} {:>8.1}  {draw}{epochs}",
            n + 1,
            trial.fit_seconds
        );
    }
    let _ = writeln!(
        out,
        "best: {} (validation MRR {:.4}; the defaults {:.4})",
        match t.best.is_empty() {
            true => "the defaults",
            false => &t.best,
        },
        t.best_valid_mrr,
        t.default_valid_mrr
    );
    out
}

fn train_text(args: &KgeTrainArgs, dim: usize, r: &TrainReport) -> String {
    let mut out = String::new();
    let seconds: f64 = r.epochs.iter().map(|e| e.seconds).sum();
    let rate = (r.num_train * r.epochs.len()) as f64 / seconds.max(1e-9);
    let _ = write!(
        out,
        "trained {} (dim {dim}, seed {}) on {}: {} entities, {} relations, {} training triples; \
         {} epochs in {:.2} s ({rate:.0} triples/s)",
        r.model,
        args.seed,
        args.dataset.display(),
        r.num_entities,
        r.num_relations,
        r.num_train,
        r.epochs.len(),
        r.train_seconds,
    );
    match (r.best_valid_mrr, r.best_epoch) {
        (Some(m), Some(e)) => {
            let _ = writeln!(out, "; best validation MRR {m:.4} at epoch {e} (kept)");
        }
        _ => {
            let _ = writeln!(out, "; no validation (the last epoch is kept)");
        }
    }
    if let Some(dir) = &args.out {
        let _ = writeln!(
            out,
            "wrote {}: {}",
            dir.display(),
            super::export_files(dir).join(", ")
        );
    }
    if let Some(test) = &r.test {
        let _ = writeln!(out, "test ({:.2} s):", r.eval_seconds.unwrap_or_default());
        out.push_str(&metrics_table(test));
    }
    out
}

fn metrics_table(r: &LinkPredictionReport) -> String {
    let mut out = format!(
        "{:<5} {:>7} {:>7} {:>7} {:>7} {:>9} {:>7}\n",
        "side", "MRR", "Hits@1", "Hits@3", "Hits@10", "mean rank", "ranks"
    );
    for (side, m) in [("head", r.head), ("tail", r.tail), ("both", r.both)] {
        let _ = writeln!(
            out,
            "{side:<5} {:>7.4} {:>7.4} {:>7.4} {:>7.4} {:>9.2} {:>7}",
            m.mrr, m.hits_at_1, m.hits_at_3, m.hits_at_10, m.mean_rank, m.count
        );
    }
    out
}

/// What `kge eval --format json` prints: the pooled figures at the top, then each side.
#[derive(Debug, Serialize)]
struct EvalJson<'a> {
    dataset: &'a Path,
    model_dir: &'a Path,
    model: String,
    dim: usize,
    mrr: f64,
    #[serde(rename = "hits@1")]
    hits_at_1: f64,
    #[serde(rename = "hits@3")]
    hits_at_3: f64,
    #[serde(rename = "hits@10")]
    hits_at_10: f64,
    mean_rank: f64,
    head: RankMetrics,
    tail: RankMetrics,
    both: RankMetrics,
}

/// `kgrec kge eval --dataset DIR --model-dir DIR [--format text|json]`
pub fn kge_eval(args: &KgeEvalArgs) -> Result<()> {
    check_dataset_dir(&args.dataset)?;
    check_export_dir(&args.model_dir)?;
    dataset_notes(&args.dataset, true);
    let counted = embed::evaluate_export_counted(&args.dataset, &args.model_dir)?;
    let report = counted.report;
    if counted.ranked < counted.test {
        super::warn(&format!(
            "note: {} of the {} test triples were skipped: the export has no embedding for \
             their head, relation or tail (the figures are over the {} ranked)",
            counted.test - counted.ranked,
            counted.test,
            counted.ranked
        ));
    }
    let meta_path = args.model_dir.join("meta.json");
    let meta: Meta = std::fs::read_to_string(&meta_path)
        .map_err(|e| Error::io(&meta_path, e))
        .and_then(|text| {
            serde_json::from_str(&text)
                .map_err(|e| Error::BadInput(format!("{}: {e}", meta_path.display())))
        })?;
    let b = report.both;
    match args.format {
        TextOrJson::Json => emit(&json_text(&EvalJson {
            dataset: &args.dataset,
            model_dir: &args.model_dir,
            model: meta.model,
            dim: meta.dim,
            mrr: b.mrr,
            hits_at_1: b.hits_at_1,
            hits_at_3: b.hits_at_3,
            hits_at_10: b.hits_at_10,
            mean_rank: b.mean_rank,
            head: report.head,
            tail: report.tail,
            both: report.both,
        })?),
        TextOrJson::Text => emit(&format!(
            "filtered link prediction on {} ({} triples ranked on both sides), {} dim {} from {}\n{}",
            args.dataset.join("test.txt").display(),
            report.head.count,
            meta.model,
            meta.dim,
            args.model_dir.display(),
            metrics_table(&report)
        )),
    }
}
