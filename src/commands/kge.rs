//! Graph-embedding commands: `kge train` and `kge eval` on link-prediction benchmark folders,
//! `train --model transe|rotate|transr` on the data directory's own graph, and `export embeddings`.
//!
//! `kgrec_kg::embed` trains, ranks and writes the export; this module only turns arguments into
//! hyper-parameters, draws the progress bar and prints. Arguments are checked before any work.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use indicatif::ProgressBar;
use kgrec_kg::embed::{
    self, Dataset, EpochReport, KgeModel, KgeParams, LinkPredictionReport, Matrix, Meta,
    ModelKind as KgeKind, Norm, RankMetrics, RowConstraint, RunError, Sampler, TrainOptions,
    TrainReport, Vocab,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::cf::{apply, reject};
use super::{emit, progress_bar};
use crate::cli::{
    CorruptionName, ExportEmbeddingsArgs, KgeEvalArgs, KgeFitArgs, KgeModelName, KgeTrainArgs,
    TextOrJson, TrainArgs,
};
use crate::datadir::{DataDir, OpenMode};
use crate::error::{Error, Result};
use crate::store::{Model, ModelHeader, ModelKind, ModelStore, StoreError};

/// Short enough that loss, speed and both MRRs fit an 80-column terminal.
const BAR_TEMPLATE: &str = "{prefix} [{bar:12}] {pos}/{len} {wide_msg}";

/// The tuned defaults of `model` with the flags of `fit` applied.
fn kge_params(model: KgeModelName, fit: &KgeFitArgs) -> Result<KgeParams> {
    let bad = |flag: &str| {
        Err(Error::BadInput(format!(
            "{flag} does not apply to --model {}",
            model.name()
        )))
    };
    let mut p = KgeParams::tuned(model.name())
        .ok_or_else(|| Error::BadInput(format!("--model {}: no such model", model.name())))?;
    if let Some(d) = fit.dim {
        p = p.dim(d);
    }
    if let Some(r) = fit.rel_dim {
        if model != KgeModelName::Transr {
            return bad("--rel-dim");
        }
        p = p.rel_dim(r);
    }
    p = apply(p, fit.epochs, KgeParams::epochs);
    p = apply(p, fit.negatives, KgeParams::negatives);
    p = apply(p, fit.batch_size, KgeParams::batch_size);
    p = apply(p, fit.lr, KgeParams::adam);
    if let Some(g) = fit.gamma {
        p = p.self_adversarial(g, 1.0);
    }
    if let Some(m) = fit.margin {
        p = p.margin(m);
        if model == KgeModelName::Transe {
            // Bordes et al.'s margin training keeps entities on the unit sphere.
            p = p.entity_constraint(RowConstraint::UnitSphere);
        }
    }
    if let Some(n) = fit.norm {
        if model == KgeModelName::Rotate {
            return bad("--norm");
        }
        let norm = Norm::from_p(u64::from(n))
            .ok_or_else(|| Error::BadInput(format!("--norm {n}: expected 1 or 2")))?;
        p = p.norm(norm);
    }
    Ok(p)
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
            e.triples_per_sec / 1000.0
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
    Ok(())
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

fn json_line(value: &impl Serialize) -> Result<String> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| Error::Corruption {
            what: e.to_string(),
        })
}

/// What `kge train --format json` prints.
#[derive(Debug, Serialize)]
struct TrainJson<'a> {
    dataset: &'a Path,
    out: Option<&'a Path>,
    dim: usize,
    seed: u64,
    #[serde(flatten)]
    report: &'a TrainReport,
}

/// `kgrec kge train --dataset DIR [--model transe|rotate|transr] [--dim D] ... [--out DIR]`
pub fn kge_train(args: &KgeTrainArgs, quiet: bool) -> Result<()> {
    check_dataset_dir(&args.dataset)?;
    let mut params = kge_params(args.model, &args.fit)?;
    params = apply(params, args.validate_every, KgeParams::validate_every);
    params = apply(params, args.patience, KgeParams::patience);
    params = apply(params, args.lr_decays, KgeParams::lr_decays);
    params = apply(params, args.chunk_size, KgeParams::chunk_size);
    let sampler = args.corrupt.map(|c| match c {
        CorruptionName::Uniform => Sampler::Uniform,
        CorruptionName::Bernoulli => Sampler::Bernoulli,
    });
    params = apply(params, sampler, KgeParams::sampler);
    params = apply(params, args.valid_max, KgeParams::valid_max);
    params = apply(params, args.max_seconds, KgeParams::max_seconds);
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
    match args.format {
        TextOrJson::Json => emit(&json_line(&TrainJson {
            dataset: &args.dataset,
            out: args.out.as_deref(),
            dim,
            seed: args.seed,
            report: &report,
        })?),
        TextOrJson::Text => emit(&train_text(args, dim, &report)),
    }
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
            "wrote {}: entities.tsv, relations.tsv, meta.json",
            dir.display()
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
    let report = embed::evaluate_export(&args.dataset, &args.model_dir)?;
    let meta_path = args.model_dir.join("meta.json");
    let meta: Meta = std::fs::read_to_string(&meta_path)
        .map_err(|e| Error::io(&meta_path, e))
        .and_then(|text| {
            serde_json::from_str(&text)
                .map_err(|e| Error::BadInput(format!("{}: {e}", meta_path.display())))
        })?;
    let b = report.both;
    match args.format {
        TextOrJson::Json => emit(&json_line(&EvalJson {
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

/// The hyper-parameters and shape a stored graph embedding keeps in its header: the `meta.json`
/// fields (which the store reads back) and the full settings.
#[derive(Debug, Serialize)]
struct StoredParams<'a> {
    #[serde(flatten)]
    meta: Meta,
    hyper: &'a KgeParams,
}

/// `kgrec train --model transe|rotate|transr`: embeds the data directory's graph (every
/// entity-to-entity triple trains; there is no validation split) and stores a model version.
pub(crate) fn train_on_graph(
    dir: &DataDir,
    args: &TrainArgs,
    model: KgeModelName,
    quiet: bool,
) -> Result<()> {
    let f = &args.fit;
    for (given, flag) in [
        (f.reg.is_some(), "--reg"),
        (f.alpha.is_some(), "--alpha"),
        (f.kg_weight.is_some(), "--kg-weight"),
        (f.neighbour_weight.is_some(), "--neighbour-weight"),
        (f.attention.is_some(), "--attention"),
        (f.cold_scale.is_some(), "--cold-scale"),
        (f.cold_neighbours.is_some(), "--cold-neighbours"),
    ] {
        reject(given, flag, f.model)?;
    }
    let fit_args = KgeFitArgs {
        dim: f.dim,
        rel_dim: None,
        epochs: f.epochs,
        negatives: None,
        batch_size: None,
        lr: f.lr,
        gamma: None,
        margin: None,
        norm: None,
    };
    let params = kge_params(model, &fit_args)?.validate_every(0);
    let epochs = params.epoch_limit();
    let checked = params.clone().check().map_err(RunError::from)?;

    let index = dir.kg().index();
    let triples = index.triples()?;
    if triples.is_empty() {
        return Err(Error::BadInput(
            "the knowledge graph has no entity-to-entity triples to embed; import one with \
             `kgrec import kg FILE`"
                .to_owned(),
        ));
    }
    let duplicate = |what: &str| Error::Corruption {
        what: format!("the {what} dictionary holds an IRI twice"),
    };
    let entities = Vocab::from_tokens(index.entity_iris()?).ok_or_else(|| duplicate("entity"))?;
    let relations =
        Vocab::from_tokens(index.relation_iris()?).ok_or_else(|| duplicate("relation"))?;
    let data = Dataset::with_vocabs(entities, relations, triples, Vec::new(), Vec::new())
        .map_err(RunError::from)?;

    let bar = epoch_bar(quiet, epochs, model.name());
    let mut rng = ChaCha8Rng::seed_from_u64(f.seed);
    let start = Instant::now();
    let fitted = checked.fit(&data, &mut rng, &mut epoch_callback(&bar));
    bar.finish_and_clear();
    let fitted = fitted.map_err(RunError::from)?;
    let kind = match fitted.model.kind() {
        KgeKind::TransE { .. } => ModelKind::TransE,
        KgeKind::RotatE => ModelKind::RotatE,
        KgeKind::TransR { .. } => ModelKind::TransR,
    };
    let stored = StoredParams {
        meta: Meta::of(&fitted.model),
        hyper: &params,
    };
    let header = ModelHeader {
        version: 0,
        kind,
        params: serde_json::to_string(&stored).map_err(|e| Error::Corruption {
            what: e.to_string(),
        })?,
        seed: f.seed,
        fingerprint: 0,
        created_unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        users: 0,
        items: 0,
        interactions: 0,
        dim: fitted.model.dim() as u64,
        epochs: fitted.epochs.len() as u64,
        final_loss: fitted.epochs.last().map(|e| e.loss),
        fit_seconds: start.elapsed().as_secs_f64(),
        metrics: Vec::new(),
        arrays: Vec::new(),
    };
    let h = header.clone();
    let store = ModelStore::open(dir.db())?;
    let version = store.write(header, &Model::Kge(fitted.model), args.keep)?;
    let versions: Vec<String> = store.versions()?.iter().map(|v| format!("v{v}")).collect();
    eprintln!(
        "note: {} is a graph embedding, not a recommender: `kgrec export embeddings --out DIR` \
         writes it; train cke, als, bpr or pop before `recommend`",
        model.name()
    );
    emit(&format!(
        "trained {} v{version} on the knowledge graph ({} entities, {} relations, {} triples): \
         dim {}, {} epochs, final loss {:.5}, {:.2} s; current model v{version} (stored: {})\n",
        h.kind.name(),
        data.num_entities(),
        data.num_relations(),
        data.train.len(),
        h.dim,
        h.epochs,
        h.final_loss.unwrap_or(f64::NAN),
        h.fit_seconds,
        versions.join(" ")
    ))
}

/// The cke model's TransE half (L2 translations, `docs/model.md`) as a graph-embedding model.
fn fused_embeddings(parts: &crate::fused::FusedParts, version: u64) -> Result<KgeModel> {
    let d = parts.dim;
    let bad = || {
        Error::from(StoreError::corruption(
            format!("model v{version}"),
            "the entity and relation tables are not rows of the model's dimension",
        ))
    };
    if d == 0 {
        return Err(bad());
    }
    let entity = Matrix::from_vec(parts.entities.len() / d, d, parts.entities.clone());
    let relation = Matrix::from_vec(parts.relations.len() / d, d, parts.relations.clone());
    let (Some(entity), Some(relation)) = (entity, relation) else {
        return Err(bad());
    };
    KgeModel::from_parts(
        KgeKind::TransE { norm: Norm::L2 },
        d,
        entity,
        relation,
        None,
    )
    .ok_or_else(bad)
}

/// The first `rows` IRIs of a dictionary of the graph index, as the export's first column.
fn iri_vocab(mut iris: Vec<String>, rows: usize, what: &str) -> Result<Vocab> {
    if iris.len() < rows {
        return Err(Error::Corruption {
            what: format!(
                "the model has {rows} {what} rows but the graph index only {} {what} IRIs",
                iris.len()
            ),
        });
    }
    iris.truncate(rows);
    Vocab::from_tokens(iris).ok_or_else(|| Error::Corruption {
        what: format!("the {what} dictionary holds an IRI twice"),
    })
}

/// `kgrec export embeddings --out DIR [--version V]`
pub fn export_embeddings(data: &Path, args: &ExportEmbeddingsArgs) -> Result<()> {
    let dir = DataDir::open(data, OpenMode::MustExist)?;
    let store = ModelStore::open(dir.db())?;
    let versions = store.versions()?;
    let version = match args.version {
        Some(v) if versions.contains(&v) => v,
        Some(v) => {
            let stored: Vec<String> = versions.iter().map(|v| format!("v{v}")).collect();
            return Err(Error::BadInput(format!(
                "--version {v}: no such model version (stored: {})",
                if stored.is_empty() {
                    "none".to_owned()
                } else {
                    stored.join(" ")
                }
            )));
        }
        None => store.current()?.ok_or(StoreError::NoModel)?,
    };
    let stored = store.load(version)?;
    let name = stored.header.kind.name();
    let model = match &stored.model {
        Model::Kge(m) => m.clone(),
        Model::Fused(parts) => fused_embeddings(parts, version)?,
        Model::Factors(_) | Model::Popularity(_) => {
            return Err(Error::BadInput(format!(
                "model v{version} {name} has no graph embeddings; train transe, rotate, transr \
                 or cke (or give --version)"
            )));
        }
    };
    let index = dir.kg().index();
    let entities = iri_vocab(index.entity_iris()?, model.num_entities(), "entity")?;
    let relations = iri_vocab(index.relation_iris()?, model.num_relations(), "relation")?;
    let out: PathBuf = args.out.clone();
    embed::write_export(&out, &model, &entities, &relations).map_err(RunError::from)?;
    emit(&format!(
        "wrote {}: {} entities, {} relations of model v{version} {name} ({} dim {}): \
         entities.tsv, relations.tsv, meta.json\n",
        out.display(),
        model.num_entities(),
        model.num_relations(),
        model.kind().name(),
        model.dim()
    ))
}
