//! Interaction and model commands: `import interactions`, `train`, `recommend`, `eval`.
//!
//! Every input file is parsed to the end before the data directory is opened, so a bad file
//! (exit 2, `FILE:LINE: message`) leaves the directory exactly as it was.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::{emit, progress_bar};
use crate::cf::{
    Als, AlsParams, Bpr, BprParams, EpochReport, InteractionMatrix, Popularity, UserRecs,
    write_batch,
};
use crate::cli::{
    EvalArgs, FitArgs, ImportInteractionsArgs, ModelName, RecommendArgs, TextOrJson, TrainArgs,
};
use crate::datadir::{DataDir, OpenMode};
use crate::error::{Error, Result};
use crate::fused::{Attention, FusedParams, ItemGraph};
use crate::ids::UserId;
use crate::interactions::{
    Format, RawInteraction, filter_min_rating, merge_duplicates, parse_file, parse_link_file,
};
use crate::metrics::{Evaluation, by_user, evaluate};
use crate::recommend::{RankedList, Serving, bind, item_details, item_name, rank_users};
use crate::store::{
    ImportReport, InteractionStore, Link, Model, ModelHeader, ModelKind, ModelStore, Snapshot,
};
use kgrec_kg::GraphIndex;

fn json_text(value: &impl Serialize) -> Result<String> {
    serde_json::to_string_pretty(value).map_err(|e| Error::Corruption {
        what: e.to_string(),
    })
}

fn params_json(params: &impl Serialize) -> Result<String> {
    serde_json::to_string(params).map_err(|e| Error::Corruption {
        what: e.to_string(),
    })
}

fn interaction_format(name: Option<&str>, flag: &str) -> Result<Option<Format>> {
    name.map(|n| {
        n.parse::<Format>()
            .map_err(|e| Error::BadInput(format!("{flag} {n}: {e}")))
    })
    .transpose()
}

/// Rows of an interaction file after the import's clean-ups.
#[derive(Debug)]
struct Rows {
    rows: Vec<RawInteraction>,
    read: usize,
    below_min_rating: usize,
    merged: usize,
}

/// Parses `file` to the end, keeps rows rated at least `min_rating`, merges repeated pairs.
fn read_rows(file: &Path, format: Option<Format>, min_rating: Option<f32>) -> Result<Rows> {
    let mut rows = parse_file(file, format)?.rows;
    let read = rows.len();
    let below_min_rating = match min_rating {
        Some(r) if !r.is_finite() => {
            return Err(Error::BadInput(format!(
                "--min-rating {r}: expected a finite number"
            )));
        }
        Some(r) => filter_min_rating(&mut rows, r),
        None => 0,
    };
    if rows.is_empty() {
        return Err(Error::BadInput(format!(
            "{}: no row has a rating of at least {} ({read} rows read)",
            file.display(),
            min_rating.unwrap_or_default()
        )));
    }
    let merged = merge_duplicates(&mut rows);
    Ok(Rows {
        rows,
        read,
        below_min_rating,
        merged,
    })
}

/// `kgrec import interactions FILE [--format F] [--link LINK.tsv] [--min-rating R]`
pub fn import_interactions(data: &Path, args: &ImportInteractionsArgs, quiet: bool) -> Result<()> {
    let format = interaction_format(args.format.as_deref(), "--format")?;
    let bar = progress_bar(quiet, 0, "{spinner} {wide_msg}");
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar.set_message(format!("reading {}", args.file.display()));
    let start = Instant::now();
    let rows = read_rows(&args.file, format, args.min_rating)?;
    let links = args.link.as_deref().map(parse_link_file).transpose()?;

    bar.set_message("writing");
    let dir = DataDir::open(data, OpenMode::CreateIfMissing)?;
    let (links, not_in_graph) = resolve_links(&dir, links.unwrap_or_default())?;
    let report = InteractionStore::open(dir.db())?.import(&rows.rows, &links)?;
    bar.finish_and_clear();
    print_import(
        args,
        &rows,
        &report,
        not_in_graph,
        start.elapsed().as_secs_f64(),
    )
}

/// Looks every linked IRI up in the graph; returns the links and how many IRIs it lacks.
fn resolve_links(
    dir: &DataDir,
    links: Vec<crate::interactions::ItemLink>,
) -> Result<(Vec<Link>, usize)> {
    let index = dir.kg().index();
    let mut missing = 0;
    let mut out = Vec::with_capacity(links.len());
    for link in links {
        // A bare token resolves to the IRI its TSV import minted; that IRI is what is stored.
        let (iri, entity) = match index.resolve_entity(&link.iri)? {
            Some((iri, e)) => (iri, Some(e)),
            None => (link.iri, None),
        };
        missing += usize::from(entity.is_none());
        out.push(Link {
            item: link.item,
            iri,
            entity,
        });
    }
    Ok((out, missing))
}

fn print_import(
    args: &ImportInteractionsArgs,
    rows: &Rows,
    report: &ImportReport,
    not_in_graph: usize,
    seconds: f64,
) -> Result<()> {
    let mut stderr = std::io::stderr().lock();
    if let Some(link) = &args.link {
        if not_in_graph > 0 {
            let _ = writeln!(
                stderr,
                "warning: {}: {not_in_graph} linked IRI(s) are not in the knowledge graph \
                 (the items stay collaborative-filtering only until the graph has them)",
                link.display()
            );
        }
        if report.new_linked_items > 0 {
            let _ = writeln!(
                stderr,
                "note: {}: {} linked item(s) have no interactions yet; they join the catalogue \
                 and the knowledge-graph model can recommend them",
                link.display(),
                report.new_linked_items
            );
        }
    }
    let c = report.counts;
    emit(&format!(
        "imported {}: {} rows read, {} below --min-rating, {} duplicates merged; {} new \
         interactions, {} updated, {} already present; {} links set; store: {} users, {} items, \
         {} interactions, {} linked items ({seconds:.2} s)\n",
        args.file.display(),
        rows.read,
        rows.below_min_rating,
        rows.merged,
        report.new_interactions,
        report.updated_interactions,
        report.unchanged_interactions,
        report.links_set,
        c.users,
        c.items,
        c.interactions,
        c.linked,
    ))
}

/// A fitted model with what the store records about it.
#[derive(Debug)]
struct Fitted {
    header: ModelHeader,
    model: Model,
}

/// Refuses a flag that the chosen model does not use.
pub(super) fn reject(given: bool, flag: &str, model: ModelName) -> Result<()> {
    if given {
        return Err(Error::BadInput(format!(
            "{flag} does not apply to --model {}",
            model_kind(model).name()
        )));
    }
    Ok(())
}

fn model_kind(model: ModelName) -> ModelKind {
    match model {
        ModelName::Cke => ModelKind::Cke,
        ModelName::Als => ModelKind::Als,
        ModelName::Bpr => ModelKind::Bpr,
        ModelName::Pop => ModelKind::Popularity,
        ModelName::Transe => ModelKind::TransE,
        ModelName::Rotate => ModelKind::RotatE,
        ModelName::Transr => ModelKind::TransR,
    }
}

/// Fits the model `args` asks for on the store's interactions, with a progress bar per epoch.
fn fit(snapshot: &Snapshot, index: &GraphIndex, args: &FitArgs, quiet: bool) -> Result<Fitted> {
    if snapshot.records.is_empty() {
        return Err(crate::store::StoreError::NoInteractions.into());
    }
    let matrix = snapshot.matrix()?;
    let bar = progress_bar(
        quiet,
        0,
        "{spinner} training [{bar:30}] epoch {pos}/{len} {wide_msg}",
    );
    let mut last: Option<EpochReport> = None;
    let mut on_epoch = |r: &EpochReport| {
        bar.set_length(r.epochs as u64);
        bar.set_position(r.epoch as u64);
        bar.set_message(format!("loss {:.5}", r.loss));
        last = Some(*r);
    };
    let start = Instant::now();
    if args.model != ModelName::Cke {
        reject(args.kg_weight.is_some(), "--kg-weight", args.model)?;
        reject(
            args.neighbour_weight.is_some(),
            "--neighbour-weight",
            args.model,
        )?;
        reject(args.attention.is_some(), "--attention", args.model)?;
        reject(args.cold_scale.is_some(), "--cold-scale", args.model)?;
        reject(
            args.cold_neighbours.is_some(),
            "--cold-neighbours",
            args.model,
        )?;
    }
    let (model, params, dim) = match args.model {
        ModelName::Transe | ModelName::Rotate | ModelName::Transr => {
            return Err(Error::BadInput(format!(
                "--model {} is a graph embedding, not a recommender; use cke, als, bpr or pop",
                model_kind(args.model).name()
            )));
        }
        ModelName::Cke => {
            reject(args.lr.is_some(), "--lr", args.model)?;
            let mut p = FusedParams::default();
            p = apply(p, args.dim, FusedParams::factors);
            p = apply(p, args.epochs, FusedParams::iterations);
            p = apply(p, args.reg, FusedParams::regularization);
            p = apply(p, args.alpha, FusedParams::alpha);
            p = apply(p, args.kg_weight, FusedParams::kg_weight);
            p = apply(p, args.neighbour_weight, FusedParams::neighbour_weight);
            p = apply(p, args.cold_scale, FusedParams::cold_scale);
            p = apply(p, args.cold_neighbours, FusedParams::cold_neighbours);
            if args.cold_scale.is_some() && args.cold_neighbours.is_some() {
                return Err(Error::BadInput(
                    "--cold-neighbours places cold items only without --cold-scale; give one"
                        .to_owned(),
                ));
            }
            if let Some(a) = &args.attention {
                let mode = Attention::parse(a).ok_or_else(|| {
                    Error::BadInput(format!(
                        "--attention {a}: expected none, uniform or learned"
                    ))
                })?;
                p = p.attention(mode);
            }
            let graph = item_graph(snapshot, index)?;
            if graph.n_linked() == 0 || graph.triples().is_empty() {
                eprintln!(
                    "note: no item is linked to a knowledge-graph entity with edges; cke trains \
                     as plain ALS (import a graph with `import kg` and links with `import \
                     interactions --link`)"
                );
            }
            let fitted = p.fit(&matrix, &graph, args.seed, &mut on_epoch)?;
            let dim = fitted.params.factors;
            (
                Model::Fused(fitted.to_parts()),
                params_json(&fitted.params)?,
                dim,
            )
        }
        ModelName::Als => {
            reject(args.lr.is_some(), "--lr", args.model)?;
            let mut p = Als::params();
            p = apply(p, args.dim, AlsParams::factors);
            p = apply(p, args.epochs, AlsParams::iterations);
            p = apply(p, args.reg, AlsParams::regularization);
            p = apply(p, args.alpha, AlsParams::alpha);
            let fitted = p.fit(&matrix, args.seed, &mut on_epoch)?;
            factor_model(fitted.model, &fitted.params)?
        }
        ModelName::Bpr => {
            reject(args.alpha.is_some(), "--alpha", args.model)?;
            let mut p = Bpr::params();
            p = apply(p, args.dim, BprParams::factors);
            p = apply(p, args.epochs, BprParams::iterations);
            p = apply(p, args.reg, BprParams::regularization);
            p = apply(p, args.lr, BprParams::learning_rate);
            let fitted = p.fit(&matrix, args.seed, &mut on_epoch)?;
            factor_model(fitted.model, &fitted.params)?
        }
        ModelName::Pop => {
            for (given, flag) in [
                (args.dim.is_some(), "--dim"),
                (args.epochs.is_some(), "--epochs"),
                (args.reg.is_some(), "--reg"),
                (args.alpha.is_some(), "--alpha"),
                (args.lr.is_some(), "--lr"),
            ] {
                reject(given, flag, args.model)?;
            }
            (
                Model::Popularity(Popularity::fit(&matrix)),
                "{}".to_owned(),
                0,
            )
        }
    };
    bar.finish_and_clear();
    let created_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let header = ModelHeader {
        version: 0,
        kind: model_kind(args.model),
        params,
        seed: args.seed,
        fingerprint: snapshot.fingerprint,
        created_unix,
        users: matrix.n_users() as u64,
        items: matrix.n_items() as u64,
        interactions: matrix.nnz() as u64,
        dim: dim as u64,
        epochs: last.map_or(0, |r| r.epoch as u64),
        final_loss: last.map(|r| r.loss),
        fit_seconds: start.elapsed().as_secs_f64(),
        metrics: Vec::new(),
        arrays: Vec::new(),
    };
    Ok(Fitted { header, model })
}

/// The store's items bound to the graph index: their linked entities (an IRI the graph did not
/// hold at import is looked up again) and the graph's entity→entity triples.
fn item_graph(snapshot: &Snapshot, index: &GraphIndex) -> Result<ItemGraph> {
    let counts = index.counts()?;
    let mut item_entity = Vec::with_capacity(snapshot.items.len());
    for i in 0..snapshot.items.len() {
        item_entity.push(match snapshot.links.get(i) {
            Some(Some(link)) => match link.entity {
                Some(e) => Some(e),
                None => index.resolve_entity(&link.iri)?.map(|(_, e)| e),
            },
            _ => None,
        });
    }
    Ok(ItemGraph::new(
        counts.entities as usize,
        counts.relations as usize,
        index.triples()?,
        item_entity,
    ))
}

/// A fitted dot-product model, its parameters as JSON, and its dimension.
fn factor_model(
    model: crate::cf::FactorModel,
    params: &impl Serialize,
) -> Result<(Model, String, usize)> {
    let dim = model.items.ncols();
    Ok((Model::Factors(model), params_json(params)?, dim))
}

/// `set(params, v)` when a flag gave `v`, else `params` unchanged.
pub(super) fn apply<P, T>(params: P, value: Option<T>, set: fn(P, T) -> P) -> P {
    match value {
        Some(v) => set(params, v),
        None => params,
    }
}

/// `kgrec train [--model cke|als|bpr|pop|transe|rotate|transr] [--dim D] [--epochs N] [--seed S] [--keep N] ...`
pub fn train(data: &Path, args: &TrainArgs, quiet: bool) -> Result<()> {
    if args.keep == 0 {
        return Err(Error::BadInput(
            "--keep 0: keep at least 1 version".to_owned(),
        ));
    }
    let dir = DataDir::open(data, OpenMode::MustExist)?;
    if let Some(model) = args.fit.model.graph_embedding() {
        return super::kge::train_on_graph(&dir, args, model, quiet);
    }
    let snapshot = InteractionStore::open(dir.db())?.load()?;
    let fitted = fit(&snapshot, dir.kg().index(), &args.fit, quiet)?;
    let store = ModelStore::open(dir.db())?;
    let h = fitted.header.clone();
    let version = store.write(fitted.header, &fitted.model, args.keep)?;
    let versions: Vec<String> = store.versions()?.iter().map(|v| format!("v{v}")).collect();
    let loss = h
        .final_loss
        .map_or(String::new(), |l| format!(", final loss {l:.5}"));
    emit(&format!(
        "trained {} v{version} on {} users × {} items ({} interactions): dim {}, {} epochs{loss}, \
         {:.2} s; current model v{version} (stored: {})\n",
        h.kind.name(),
        h.users,
        h.items,
        h.interactions,
        h.dim,
        h.epochs,
        h.fit_seconds,
        versions.join(" ")
    ))
}

/// What `stats` reports about interactions and models: (users, items, interactions, models).
pub(crate) fn cf_stats(dir: &DataDir) -> Result<(u64, u64, u64, Vec<String>)> {
    let counts = InteractionStore::open(dir.db())?.counts()?;
    let store = ModelStore::open(dir.db())?;
    let current = store.current()?;
    let models = store
        .list()?
        .into_iter()
        .map(|h| {
            let mark = if Some(h.version) == current {
                " (current)"
            } else {
                ""
            };
            format!("v{} {}{mark}", h.version, h.kind.name())
        })
        .collect();
    Ok((counts.users, counts.items, counts.interactions, models))
}

/// One item of a JSON list; the fields of PRODUCT.md's explanation JSON minus paths and parts.
#[derive(Debug, Serialize)]
struct JsonItem<'a> {
    item: &'a str,
    rank: usize,
    score: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    iri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
}

#[derive(Debug, Serialize)]
struct JsonList<'a> {
    user: &'a str,
    items: Vec<JsonItem<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fallback: Option<&'static str>,
}

/// The store's interactions and the current model, as every reader needs them.
pub(super) struct Loaded {
    pub(super) snapshot: Snapshot,
    pub(super) matrix: InteractionMatrix,
    pub(super) model: Serving,
}

pub(super) fn load(dir: &DataDir) -> Result<Loaded> {
    let snapshot = InteractionStore::open(dir.db())?.load()?;
    let matrix = snapshot.matrix()?;
    let stored = ModelStore::open(dir.db())?.load_current()?;
    let model = bind(stored, &snapshot, dir.kg().index())?;
    if model.header.fingerprint != snapshot.fingerprint {
        eprintln!(
            "note: interactions were imported after model v{} was trained; it does not know them \
             yet (run `kgrec train`)",
            model.header.version
        );
    }
    Ok(Loaded {
        snapshot,
        matrix,
        model,
    })
}

/// `kgrec recommend --user ID [-k 10] [--format text|json]` and
/// `kgrec recommend --all-users [-k 20] --out RECS.tsv` (with `--explain`, see
/// [`super::explain`])
pub fn recommend(data: &Path, args: &RecommendArgs) -> Result<()> {
    if args.k == Some(0) {
        return Err(Error::BadInput(
            "-k 0: ask for at least one item".to_owned(),
        ));
    }
    let dir = DataDir::open(data, OpenMode::MustExist)?;
    let loaded = load(&dir)?;
    if args.explain {
        return super::explain::recommend_explained(&dir, &loaded, args);
    }
    if args.all_users {
        let out = args
            .out
            .as_deref()
            .ok_or_else(|| Error::BadInput("--all-users needs --out RECS.tsv".to_owned()))?;
        return recommend_all_users(&loaded, args.k.unwrap_or(20), out);
    }
    let user = args
        .user
        .as_deref()
        .ok_or_else(|| Error::BadInput("give --user ID or --all-users".to_owned()))?;
    let k = args.k.unwrap_or(10);
    let id = loaded.matrix.user_id(user);
    let list = rank_users(loaded.model.recommender(), &loaded.matrix, &[id], k)
        .pop()
        .unwrap_or(RankedList {
            items: Vec::new(),
            fallback: true,
        });
    let index = dir.kg().index();
    let mut items = Vec::with_capacity(list.items.len());
    for (rank, s) in list.items.iter().enumerate() {
        let details = item_details(&loaded.snapshot, index, s.item)?;
        items.push(JsonItem {
            item: item_name(&loaded.snapshot, s.item)?,
            rank: rank + 1,
            score: s.score,
            iri: details.iri,
            label: details.label,
        });
    }
    let json = JsonList {
        user,
        items,
        fallback: list.fallback.then_some("popularity"),
    };
    match args.format {
        TextOrJson::Json => emit(&format!("{}\n", json_text(&json)?)),
        TextOrJson::Text => emit(&list_text(&json, &loaded.model.header)),
    }
}

fn list_text(list: &JsonList<'_>, model: &ModelHeader) -> String {
    let mut out = String::new();
    if list.fallback.is_some() {
        let _ = writeln!(
            out,
            "user {} is not in the model (v{} {}): the most popular items",
            list.user,
            model.version,
            model.kind.name()
        );
    } else {
        let _ = writeln!(
            out,
            "recommendations for user {} (model v{} {})",
            list.user,
            model.version,
            model.kind.name()
        );
    }
    let width = list
        .items
        .iter()
        .map(|i| i.item.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(out, "rank  {:>9}  {:<width$}  label", "score", "item");
    for i in &list.items {
        let _ = writeln!(
            out,
            "{:>4}  {:>9.4}  {:<width$}  {}",
            i.rank,
            i.score,
            i.item,
            i.label.as_deref().unwrap_or("")
        );
    }
    out
}

fn recommend_all_users(loaded: &Loaded, k: usize, out: &Path) -> Result<()> {
    let users: Vec<Option<UserId>> = (0..loaded.matrix.n_users())
        .map(|u| Some(UserId(u as u32)))
        .collect();
    let lists = rank_users(loaded.model.recommender(), &loaded.matrix, &users, k);
    let recs = named(&loaded.snapshot, &loaded.snapshot.users, lists)?;
    // Written beside the target and renamed, so a reader never sees half a file.
    let file_name = out
        .file_name()
        .ok_or_else(|| Error::BadInput(format!("--out {}: not a file name", out.display())))?;
    let tmp = out.with_file_name(format!(".{}.tmp", file_name.to_string_lossy()));
    let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    write_batch(BufWriter::new(file), &recs).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, out).map_err(|e| Error::io(out, e))?;
    let rows: usize = recs.iter().map(|r| r.items.len()).sum();
    emit(&format!(
        "wrote {} ({} users, {rows} rows, model v{} {})\n",
        out.display(),
        recs.len(),
        loaded.model.header.version,
        loaded.model.header.kind.name()
    ))
}

/// Lists with external ids, for the batch file.
fn named(snapshot: &Snapshot, users: &[String], lists: Vec<RankedList>) -> Result<Vec<UserRecs>> {
    users
        .iter()
        .zip(lists)
        .map(|(user, list)| {
            let items = list
                .items
                .iter()
                .map(|s| Ok((item_name(snapshot, s.item)?.to_owned(), s.score)))
                .collect::<Result<Vec<_>>>()?;
            Ok(UserRecs {
                user: user.clone(),
                items,
            })
        })
        .collect()
}

/// The JSON of `kgrec eval`: the keys of `score_recs.py --json`, plus the model.
#[derive(Debug, Serialize)]
struct EvalJson {
    model: &'static str,
    params: serde_json::Value,
    train: String,
    test: String,
    fit_seconds: f64,
    #[serde(flatten)]
    metrics: serde_json::Map<String, serde_json::Value>,
}

fn metric_map(e: &Evaluation) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    m.insert("users".into(), e.users.into());
    m.insert("users_with_list".into(), e.users_with_list.into());
    for at in &e.at {
        let s = at.mean;
        for (name, v) in [
            ("precision", s.precision),
            ("recall", s.recall),
            ("ndcg", s.ndcg),
            ("map", s.map),
            ("hit", s.hit),
            ("mrr", s.mrr),
            ("coverage", at.coverage),
        ] {
            m.insert(format!("{name}@{}", at.k), v.into());
        }
    }
    m.insert("train_leaks".into(), e.train_leaks.into());
    m.insert("duplicates".into(), e.duplicates.into());
    m
}

/// `kgrec eval --train T --test S [-k 10,20] [--model als|bpr|pop] [--format text|json]
/// [--kg FILE...] [--link LINK.tsv]` (the graph is imported for the later KG-aware models; the
/// collaborative-filtering models do not read it)
pub fn eval(args: &EvalArgs, quiet: bool) -> Result<()> {
    if args.k.is_empty() || args.k.contains(&0) {
        return Err(Error::BadInput(
            "-k: give cut-offs of at least 1".to_owned(),
        ));
    }
    let format = interaction_format(args.input_format.as_deref(), "--input-format")?;
    let train_rows = read_rows(&args.train, format, None)?;
    let test_rows = parse_file(&args.test, format)?.rows;
    let links = args.link.as_deref().map(parse_link_file).transpose()?;

    let tmp = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let mut dir = DataDir::open(&tmp.path().join("data"), OpenMode::CreateIfMissing)?;
    if !args.kg.is_empty() {
        let options = kgrec_kg::ImportOptions {
            source: kgrec_kg::SourceOptions {
                format: None,
                base: None,
            },
            lenient: false,
        };
        dir.kg_mut().import(&args.kg, &options, &mut |_| {})?;
    }
    let (links, _) = resolve_links(&dir, links.unwrap_or_default())?;
    InteractionStore::open(dir.db())?.import(&train_rows.rows, &links)?;
    let snapshot = InteractionStore::open(dir.db())?.load()?;
    let fitted = fit(&snapshot, dir.kg().index(), &args.fit, quiet)?;
    ModelStore::open(dir.db())?.write(fitted.header, &fitted.model, 1)?;
    let loaded = load(&dir)?;

    let mut test_users: Vec<&str> = Vec::new();
    let mut seen = HashSet::new();
    for r in &test_rows {
        if seen.insert(r.user.as_str()) {
            test_users.push(&r.user);
        }
    }
    let ids: Vec<Option<UserId>> = test_users
        .iter()
        .map(|u| loaded.matrix.user_id(u))
        .collect();
    let max_k = args.k.iter().copied().max().unwrap_or(10);
    let lists = rank_users(loaded.model.recommender(), &loaded.matrix, &ids, max_k);
    let mut recs: HashMap<String, Vec<String>> = HashMap::with_capacity(lists.len());
    for (user, list) in test_users.iter().zip(lists) {
        let items = list
            .items
            .iter()
            .map(|s| item_name(&loaded.snapshot, s.item).map(str::to_owned))
            .collect::<Result<Vec<_>, _>>()?;
        recs.insert((*user).to_owned(), items);
    }
    let test = by_user(test_rows.into_iter().map(|r| (r.user, r.item)));
    let train = by_user(train_rows.rows.into_iter().map(|r| (r.user, r.item)));
    let evaluation = evaluate(&recs, &test, Some(&train), &args.k);

    let header = &loaded.model.header;
    let params = serde_json::from_str(&header.params).unwrap_or(serde_json::Value::Null);
    let report = EvalJson {
        model: header.kind.name(),
        params,
        train: args.train.display().to_string(),
        test: args.test.display().to_string(),
        fit_seconds: header.fit_seconds,
        metrics: metric_map(&evaluation),
    };
    match args.format {
        TextOrJson::Json => emit(&format!("{}\n", json_text(&report)?)),
        TextOrJson::Text => emit(&eval_text(&report, &evaluation)),
    }
}

fn eval_text(report: &EvalJson, e: &Evaluation) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "model {} {} (fit {:.2} s); {} test users, {} with a list; train leaks {}, duplicates {}",
        report.model,
        report.params,
        report.fit_seconds,
        e.users,
        e.users_with_list,
        e.train_leaks,
        e.duplicates
    );
    let _ = writeln!(
        out,
        "{:>4}  {:>9}  {:>7}  {:>7}  {:>7}  {:>7}  {:>7}  {:>8}",
        "K", "precision", "recall", "ndcg", "map", "hit", "mrr", "coverage"
    );
    for at in &e.at {
        let s = at.mean;
        let _ = writeln!(
            out,
            "{:>4}  {:>9.4}  {:>7.4}  {:>7.4}  {:>7.4}  {:>7.4}  {:>7.4}  {:>8.4}",
            at.k, s.precision, s.recall, s.ndcg, s.map, s.hit, s.mrr, at.coverage
        );
    }
    out
}
