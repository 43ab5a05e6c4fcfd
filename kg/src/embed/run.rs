//! Plain-data entry points behind `kgrec kge train` and `kgrec kge eval`: load a benchmark folder,
//! train, evaluate, export, or evaluate an existing export. No printing; progress goes to a callback.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::dataset::{Dataset, DatasetError};
use super::eval::{FilterIndex, LinkPredictionReport, evaluate};
use super::export::{ExportError, read_export, write_export};
use super::train::{EpochReport, KgeParams, ParamsError, TrainError};
use crate::ids::{EntityId, RelationId, Triple};
use crate::source::{DEFAULT_TSV_BASE, tsv_token_iri};

/// What [`train_benchmark`] does.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// A folder with `train.txt`, `valid.txt`, `test.txt`.
    pub dataset_dir: PathBuf,
    /// Where to write the export; `None` to skip it.
    pub out_dir: Option<PathBuf>,
    pub params: KgeParams,
    pub seed: u64,
    /// Worker threads (0 = rayon's default pool).
    pub threads: usize,
    /// Evaluate the final model on the test split.
    pub evaluate_test: bool,
}

/// The outcome of [`train_benchmark`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainReport {
    pub model: String,
    pub num_entities: usize,
    pub num_relations: usize,
    pub num_train: usize,
    pub epochs: Vec<EpochReport>,
    pub best_epoch: Option<usize>,
    pub best_valid_mrr: Option<f64>,
    pub train_seconds: f64,
    pub test: Option<LinkPredictionReport>,
    pub eval_seconds: Option<f64>,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Params(#[from] ParamsError),
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error("cannot start {threads} worker threads: {message}")]
    Threads { threads: usize, message: String },
    /// Nothing to rank: the test split is empty, or no test triple's entities and relation are
    /// all in the export (an export of another graph).
    #[error(
        "{}: none of the {test} test triples can be ranked with the export in {} ({unknown} name \
         an entity or relation the export lacks): an export of another graph, or an empty test \
         split",
        dataset.display(),
        export.display()
    )]
    NothingToRank {
        dataset: std::path::PathBuf,
        export: std::path::PathBuf,
        test: usize,
        unknown: usize,
    },
}

impl RunError {
    /// Whether the user's input is at fault (a missing or malformed data set or export, a bad
    /// hyper-parameter) rather than the machine.
    pub fn is_bad_input(&self) -> bool {
        use std::io::ErrorKind;
        let missing = |e: &std::io::Error| {
            matches!(
                e.kind(),
                ErrorKind::NotFound | ErrorKind::NotADirectory | ErrorKind::IsADirectory
            )
        };
        match self {
            Self::Dataset(DatasetError::Io { source, .. }) => missing(source),
            Self::Dataset(_) | Self::Params(_) | Self::NothingToRank { .. } => true,
            Self::Export(ExportError::Io { source, .. }) => missing(source),
            Self::Export(ExportError::Write(e)) => e.is_bad_input(),
            Self::Export(
                ExportError::Parse { .. }
                | ExportError::Meta { .. }
                | ExportError::VocabMismatch { .. },
            ) => true,
            _ => false,
        }
    }
}

fn with_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> Result<T, RunError> {
    if threads == 0 {
        return Ok(f());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| RunError::Threads {
            threads,
            message: e.to_string(),
        })?;
    Ok(pool.install(f))
}

/// Loads the benchmark, trains, optionally evaluates on test and writes the export.
pub fn train_benchmark(
    opts: &TrainOptions,
    on_epoch: &mut (dyn FnMut(&EpochReport) + Send),
) -> Result<TrainReport, RunError> {
    train_benchmark_until(opts, on_epoch, &AtomicBool::new(false))
}

/// [`train_benchmark`] that stops between two epochs once `cancel` is raised
/// ([`TrainError::Cancelled`]; nothing is evaluated or written then).
pub fn train_benchmark_until(
    opts: &TrainOptions,
    on_epoch: &mut (dyn FnMut(&EpochReport) + Send),
    cancel: &AtomicBool,
) -> Result<TrainReport, RunError> {
    let data = Dataset::load(&opts.dataset_dir)?;
    let params = opts.params.clone().check()?;
    with_threads(opts.threads, || -> Result<TrainReport, RunError> {
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        let fit = params.fit_cancellable(&data, &mut rng, on_epoch, cancel)?;
        let (test, eval_seconds) = if opts.evaluate_test {
            let t0 = Instant::now();
            let filter = FilterIndex::new(data.all_triples());
            let report = evaluate(&fit.model, &data.test, &filter);
            (Some(report), Some(t0.elapsed().as_secs_f64()))
        } else {
            (None, None)
        };
        if let Some(dir) = &opts.out_dir {
            write_export(dir, &fit.model, &data.entities, &data.relations)?;
        }
        Ok(TrainReport {
            model: params.kind().name().to_owned(),
            num_entities: data.num_entities(),
            num_relations: data.num_relations(),
            num_train: data.train.len(),
            epochs: fit.epochs,
            best_epoch: fit.best_epoch,
            best_valid_mrr: fit.best_valid_mrr,
            train_seconds: fit.train_seconds,
            test,
            eval_seconds,
        })
    })?
}

/// Filtered test-split evaluation of an export against a benchmark folder. Tokens are matched by
/// name (a TSV graph imported into a data directory exports its tokens as `urn:kgrec:` IRIs,
/// matched to the bare tokens too); test triples with a token the export lacks are skipped (as
/// PyKEEN does), and the filter keeps every known triple whose tokens the export has.
pub fn evaluate_export(
    dataset_dir: &Path,
    model_dir: &Path,
) -> Result<LinkPredictionReport, RunError> {
    evaluate_export_counted(dataset_dir, model_dir).map(|e| e.report)
}

/// [`evaluate_export`] with how many test triples it ranked.
#[derive(Debug, Clone)]
pub struct ExportEvaluation {
    /// The metrics.
    pub report: LinkPredictionReport,
    /// Test triples whose tokens the export has (those ranked).
    pub ranked: usize,
    /// Test triples of the benchmark.
    pub test: usize,
}

/// [`evaluate_export`], also saying how many test triples were skipped.
pub fn evaluate_export_counted(
    dataset_dir: &Path,
    model_dir: &Path,
) -> Result<ExportEvaluation, RunError> {
    let data = Dataset::load(dataset_dir)?;
    let (model, entities, relations) = read_export(model_dir)?;
    let find = |vocab: &super::dataset::Vocab, token: &str| {
        vocab
            .get(token)
            .or_else(|| vocab.get(&tsv_token_iri(DEFAULT_TSV_BASE, token)))
            .or_else(|| {
                let bare = token.strip_prefix('<')?.strip_suffix('>')?;
                vocab.get(bare)
            })
    };
    let map = |t: &Triple| -> Option<Triple> {
        let tok = |id: EntityId| data.entities.token(id.0).and_then(|s| find(&entities, s));
        let rel = data
            .relations
            .token(t.relation.0)
            .and_then(|s| find(&relations, s))?;
        Some(Triple::new(
            EntityId(tok(t.head)?),
            RelationId(rel),
            EntityId(tok(t.tail)?),
        ))
    };
    let known: Vec<Triple> = data.all_triples().filter_map(map).collect();
    let test: Vec<Triple> = data.test.iter().filter_map(map).collect();
    if test.is_empty() {
        return Err(RunError::NothingToRank {
            dataset: dataset_dir.to_owned(),
            export: model_dir.to_owned(),
            test: data.test.len(),
            unknown: data.test.len(),
        });
    }
    let filter = FilterIndex::new(&known);
    Ok(ExportEvaluation {
        report: evaluate(&model, &test, &filter),
        ranked: test.len(),
        test: data.test.len(),
    })
}
