//! Knowledge-graph embeddings: TransE, RotatE and TransR trained on a link-prediction data set,
//! evaluated by filtered ranking, and exported as TSV tables.
//!
//! - [`dataset`]: benchmark folders and in-memory triples → dictionaries and splits.
//! - [`model`]: the trained parameters and the distance kernels.
//! - [`train`]: hyper-parameters (`TransE::params().dim(64)….check()?.fit(…)`), the parallel trainer.
//! - [`eval`]: filtered link prediction (MRR, Hits@k, mean rank).
//! - [`export`]: `entities.tsv` / `relations.tsv` / `meta.json`.
//! - [`run`]: plain-data entry points for the CLI (`kge train`, `kge eval`).

pub mod dataset;
pub mod eval;
pub mod export;
pub mod model;
pub mod run;
pub mod train;

pub use dataset::{Dataset, DatasetError, Vocab};
pub use eval::{FilterIndex, LinkPredictionReport, RankMetrics, evaluate};
pub use export::{
    EXPORT_FILES, ExportError, Meta, check_export_dir, is_export_dir, read_export, write_export,
};
pub use model::{KgeModel, Matrix, ModelKind, Norm, Side};
pub use run::{
    ExportEvaluation, RunError, TrainOptions, TrainReport, evaluate_export,
    evaluate_export_counted, train_benchmark, train_benchmark_until,
};
pub use train::{
    CheckedParams, EpochReport, FitResult, KgeParams, LARGE_GRAPH_ENTITIES, Loss, Optimizer,
    ParamsError, RotatE, RowConstraint, Sampler, TrainError, TransE, TransR,
};

#[cfg(test)]
mod tests;
