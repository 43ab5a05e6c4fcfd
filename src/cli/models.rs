//! Interaction and model commands: `import interactions`, `train`, `recommend`, `eval`,
//! `export embeddings`, `similar`.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use kgrec::cf::PredictionBasis;
use kgrec::cf::{EpochReport, write_batch};
use kgrec::engine::BatchRecommendations;
use kgrec::explain::{display_width, pad_right};
use kgrec::interactions::source::display_name;
use kgrec::interactions::{Format, read_link_file};
use kgrec::metrics::Evaluation;
use kgrec::serving::ListSource;
use kgrec::store::{ModelHeader, TunedLearner};
use kgrec::{
    Engine, Error, EvalRequest, EvalTask, Filter, InteractionFile, InteractionsImported,
    RecommendRequest, Recommendations, Result, TrainRequest, Trained,
};
use serde::Serialize;

use super::args::{
    EvalArgs, ExportEmbeddingsArgs, ImportInteractionsArgs, ImportLinksArgs, PredictArgs,
    RecommendArgs, SimilarArgs, TaskName, TextOrJson, TrainArgs, UseArgs,
};
use super::{emit, json_text, notes, progress_bar, stale_note};

pub(super) fn interaction_format(name: Option<&str>, flag: &str) -> Result<Option<Format>> {
    name.map(|n| {
        n.parse::<Format>()
            .map_err(|e| Error::BadInput(format!("{flag} {n}: {e}")))
    })
    .transpose()
}

/// `kgrec import interactions FILE [--format F] [--link LINK.tsv] [--min-rating R]
/// [--user-col C] [--item-col C] [--rating-col C] [--time-col C] [--event-col C]
/// [--event-weights KIND=W,...] [--delimiter D]`
pub fn import_interactions(data: &Path, args: &ImportInteractionsArgs, quiet: bool) -> Result<()> {
    let format = interaction_format(args.format.as_deref(), "--format")?;
    if args.event_weights.is_some()
        && let Some(rating) = &args.read.rating_col
    {
        return Err(Error::BadInput(format!(
            "--rating-col {rating} and --event-weights: a pair's strength comes either from a \
             rating column or from the weights of its events, not both; drop --rating-col to \
             weigh the events, or --event-col/--event-weights to keep the ratings"
        )));
    }
    let mut columns = args.read.columns();
    columns.event = args.event_col.clone();
    columns.events = args.event_weights.is_some();
    let bar = progress_bar(quiet, 0, "{spinner} {wide_msg}");
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar.set_message(format!("importing {}", args.file.display()));
    let request = InteractionFile {
        file: args.file.clone(),
        format,
        link: args.link.clone(),
        link_columns: kgrec::interactions::LinkColumns::beside_interactions(
            args.link_item_col.clone(),
            args.link_iri_col.clone(),
        ),
        min_rating: args.read.min_rating,
        columns,
        delimiter: args.read.delimiter,
        rating_scale: args.read.rating_scale,
        time_unit: args.read.time_unit,
        events: args.event_weights.clone(),
    };
    // Every file is parsed to the end before the data directory is opened (or created), so a
    // bad file leaves nothing behind.
    let parsed = match kgrec::engine::parse_interaction_file(&request) {
        // A header and no rows is a quiet day of an export (a cron job's), not a bad file:
        // nothing to import, said in a note, and the data directory is not even opened.
        Err(Error::Interactions(kgrec::interactions::ParseError::HeaderOnly { file, line })) => {
            bar.finish_and_clear();
            let link = match &args.link {
                Some(_) => {
                    " (--link's file is not read either: `kgrec import links` imports links alone)"
                }
                None => "",
            };
            notes(&[format!(
                "{}:{line}: no rows after the header: nothing imported, the data directory is \
                 unchanged{link}",
                file.display()
            )]);
            return Ok(());
        }
        // Without even a header, the file may be an export that failed: refused (exit 2).
        Err(Error::Interactions(kgrec::interactions::ParseError::Empty { file })) => {
            bar.finish_and_clear();
            return Err(Error::BadInput(format!(
                "{}: the file is empty: refused, as a failed export leaves such a file (an export \
                 of a day without rows still writes its header, which is read as nothing to \
                 import)",
                file.display()
            )));
        }
        parsed => parsed,
    };
    let imported = parsed.and_then(|parsed| {
        super::with_new_engine(data, |engine| {
            let imported = engine.import_parsed(parsed)?;
            let spellings = graph_spellings(engine, &imported)?;
            Ok((imported, spellings))
        })
    });
    bar.finish_and_clear();
    let (imported, spellings) = imported?;
    print_import(&args.file, args.link.as_deref(), &imported, &spellings)
}

/// The graph's own spelling of the missing links the warning names ([`Engine::graph_spellings`]).
pub(super) fn graph_spellings(
    engine: &Engine,
    imported: &InteractionsImported,
) -> Result<Vec<Option<String>>> {
    let named = imported.missing.iter().take(NAMED).map(|l| l.iri.as_str());
    engine.graph_spellings(named)
}

/// `kgrec import links LINK.tsv`: catalogue items and their links, no interactions.
pub fn import_links(data: &Path, args: &ImportLinksArgs) -> Result<()> {
    if args.retire || args.restore {
        return change_availability(data, args);
    }
    // Parsed to the end before the data directory is opened, as interactions are.
    let columns =
        kgrec::interactions::LinkColumns::of_link_file(args.item_col.clone(), args.iri_col.clone());
    let read = read_link_file(&args.file, &columns)?;
    let name = display_name(&args.file);
    let said: Vec<String> = read
        .notes(&name)
        .into_iter()
        .chain(kgrec::engine::link_notes(&name, &read.links))
        .collect();
    let repeated = read.repeated.as_ref().map_or(0, |r| r.0);
    let links = read.links;
    // The notes once the data directory is open for writing: a read-only one is refused first.
    let (imported, spellings) = super::with_new_engine(data, |engine| {
        notes(&said);
        let imported = engine.import_links(links)?;
        let spellings = graph_spellings(engine, &imported)?;
        Ok((imported, spellings))
    })?;
    link_warnings(&name, &imported, &spellings);
    let report = &imported.report;
    let c = report.counts;
    super::summary(&format!(
        "imported links {}: {} links read{}; {} links set, {} new catalogue items, {} \
         relinked; store: {} users, {} items, {} interactions, {} linked items ({:.2} s)\n",
        name.display(),
        imported.read,
        match repeated {
            0 => String::new(),
            n => format!(" ({n} repeated row(s) read once)"),
        },
        report.links_set,
        report.new_linked_items,
        report.relinked.len(),
        c.users,
        c.items,
        c.interactions,
        c.linked,
        imported.seconds,
    ))
}

/// `kgrec import links --retire FILE` / `--restore FILE`: the list is read to the end before the
/// data directory is opened; the change is one write, or none when an id is unknown.
fn change_availability(data: &Path, args: &ImportLinksArgs) -> Result<()> {
    let list = kgrec::interactions::read_item_list(&args.file)?;
    let name = list.name.display().to_string();
    let done = match args.retire {
        true => "retired",
        false => "restored",
    };
    if let Some(header) = &list.header {
        super::warn(&format!(
            "note: {name}: first line {header:?} read as a header, not an item id"
        ));
    }
    let engine = super::open_engine(data)?;
    let changed = match args.retire {
        true => engine.retire_items(&list.items),
        false => engine.restore_items(&list.items),
    }?;
    let repeated = list.read - list.items.len();
    super::summary(&format!(
        "{done} items of {name}: {} item id(s) read{}; {} {done} now, {} already {}; {} of {} \
         items retired \
         ({:.2} s)\n",
        list.read,
        match repeated {
            0 => String::new(),
            n => format!(" ({n} repeated)"),
        },
        changed.changed,
        changed.unchanged,
        match args.retire {
            true => "retired",
            false => "offered",
        },
        changed.retired,
        changed.items,
        changed.seconds,
    ))
}

/// How many IRIs or items a warning names before it says "and N more".
const NAMED: usize = 5;

/// `a, b, c and 4 more`.
fn named_list(names: impl ExactSizeIterator<Item = String>) -> String {
    let total = names.len();
    let mut text = names.take(NAMED).collect::<Vec<_>>().join(", ");
    if total > NAMED {
        let _ = write!(text, " and {} more", total - NAMED);
    }
    text
}

/// How the graph's spelling `there` of a link's IRI differs from the one `given`
/// ([`kgrec::engine::Engine::graph_spellings`]).
fn spelling_difference(given: &str, there: &str) -> &'static str {
    let decoded = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    if decoded(given) == decoded(there) {
        match there.chars().count() < given.chars().count() {
            true => "percent-decoded",
            false => "percent-encoded",
        }
    } else if given.to_lowercase() == there.to_lowercase() {
        "in other letter case"
    } else {
        "written otherwise (http or https, a trailing /, or letter case)"
    }
}

/// The warnings of a link file: IRIs the graph lacks (named, with the graph's own spelling
/// of each when it holds the IRI percent-decoded or -encoded: `spellings`, in order), items
/// whose IRI changed.
fn link_warnings(link: &Path, imported: &InteractionsImported, spellings: &[Option<String>]) {
    if imported.not_in_graph > 0 {
        super::warn(&format!(
            "warning: {}: {} linked IRI(s) are not in the knowledge graph: {}. Until a graph \
             file that has them is imported (`kgrec import kg FILE`; or is the IRI spelled \
             otherwise there?), those items are scored from who interacted with them alone: \
             the graph-aware models (cke, kg-ease, svd, ...) give them no graph part (an item \
             nobody has interacted with yet has nothing to be recommended by), and explanations \
             show no graph path through them (a user whose history holds only such items gets \
             none)",
            link.display(),
            imported.not_in_graph,
            named_list(imported.missing.iter().enumerate().map(|(k, l)| {
                let prefixed = kgrec::engine::prefixed_name(&l.iri);
                match (spellings.get(k).and_then(Option::as_ref), prefixed) {
                    (Some(there), Some((prefix, _))) => format!(
                        "<{}> (item {}; it looks like a prefixed name, but a link file holds \
                         full IRIs and `{prefix}:` is not a prefix kgrec knows: the graph has \
                         <{there}>: write that)",
                        l.iri, l.item
                    ),
                    (None, Some((prefix, local))) => format!(
                        "<{}> (item {}; it looks like a prefixed name, but a link file holds \
                         full IRIs and `{prefix}:` is not a prefix kgrec knows: write the IRI \
                         the prefix stands for in the graph file, <NAMESPACE{local}>)",
                        l.iri, l.item
                    ),
                    (Some(there), None) => format!(
                        "<{}> (item {}; the graph has <{there}>, the same IRI {}: write \
                             that)",
                        l.iri,
                        l.item,
                        spelling_difference(&l.iri, there)
                    ),
                    (None, None) => format!("<{}> (item {})", l.iri, l.item),
                }
            }))
        ));
    }
    let relinked = &imported.report.relinked;
    for r in relinked.iter().take(NAMED) {
        super::warn(&format!(
            "warning: {}: item {} was linked to <{}>; it is now linked to <{}> (the new link \
             replaces the stored one)",
            link.display(),
            r.item,
            r.old,
            r.new
        ));
    }
    if relinked.len() > NAMED {
        super::warn(&format!(
            "warning: {}: and {} more items linked to another IRI than before",
            link.display(),
            relinked.len() - NAMED
        ));
    }
    let shared = &imported.report.shared;
    if !shared.is_empty() {
        let items = |names: &[String]| {
            names
                .iter()
                .take(3)
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        super::warn(&format!(
            "note: {}: {} IRI(s) linked here were already linked to other stored items: {} \
             (allowed, e.g. editions of one film; such items share the entity's label and graph \
             paths, so a list can show both, and a twin of a history item can be recommended)",
            link.display(),
            shared.len(),
            named_list(shared.iter().map(|s| format!(
                "<{}> (here: {}; stored: {})",
                s.iri,
                items(&s.items),
                items(&s.others)
            )))
        ));
    }
}

/// The summary of an interaction import (stdout), its notes and its warnings (stderr).
pub(super) fn print_import(
    file: &Path,
    link: Option<&Path>,
    imported: &InteractionsImported,
    spellings: &[Option<String>],
) -> Result<()> {
    notes(&imported.notes);
    let report = &imported.report;
    if let Some(link) = link {
        let link = display_name(link);
        link_warnings(&link, imported, spellings);
        if report.new_linked_items > 0 {
            super::warn(&format!(
                "note: {}: {} linked item(s) have no interactions yet; they join the catalogue, \
                 and the models that read the graph (cke, kg-ease) can recommend those whose IRI \
                 the graph holds",
                link.display(),
                report.new_linked_items
            ));
        }
    }
    if let Some(example) = &report.older_example {
        super::warn(&format!(
            "note: {}: {} row(s) older than the stored one with another rating ({example}): \
             the newer, stored rating is kept (the latest timestamp wins; a row without one is \
             older than a stored row with one), and they count as already present",
            display_name(file).display(),
            report.older_ratings
        ));
    }
    for (what, found) in [
        ("user", &report.lookalike_users),
        ("item", &report.lookalike_items),
    ] {
        if let Some(note) = kgrec::interactions::lookalike::note(what, found) {
            super::warn(&format!("note: {}: {note}", display_name(file).display()));
        }
    }
    if let Some(example) = &report.unrated_example {
        super::warn(&format!(
            "note: {}: {} row(s) without a rating named a pair with a stored rating ({example}): \
             a row without a rating never erases one, so the stored ratings are kept",
            display_name(file).display(),
            report.unrated_kept
        ));
    }
    if let Some(note) = kgrec::engine::counted_by_the_larger_note(report) {
        super::warn(&format!("note: {}: {note}", display_name(file).display()));
    }
    let c = report.counts;
    super::summary(&format!(
        "imported {}: {} rows read, {} below --min-rating, {} duplicates merged; {} new \
         interactions, {} updated, {} already present, {} counts rose; {} links set; store: {} \
         users, {} items, {} interactions, {} linked items ({:.2} s)\n",
        display_name(file).display(),
        imported.read,
        imported.below_min_rating,
        imported.merged,
        report.new_interactions,
        report.updated_interactions,
        report.unchanged_interactions,
        report.counts_raised,
        report.links_set,
        c.users,
        c.items,
        c.interactions,
        c.linked,
        imported.seconds,
    ))
}

/// A cke model's joint iterations (what `--epochs` sets), read from its stored parameters.
fn cke_iterations(h: &ModelHeader) -> Option<u64> {
    if h.kind != kgrec::ModelKind::Cke {
        return None;
    }
    let params: serde_json::Value = serde_json::from_str(&h.params).ok()?;
    params.get("iterations")?.as_u64()
}

/// A per-epoch training bar.
fn epoch_progress(quiet: bool) -> (indicatif::ProgressBar, impl FnMut(&EpochReport)) {
    let bar = progress_bar(
        quiet,
        0,
        "{spinner} training [{bar:30}] epoch {pos}/{len} {wide_msg}",
    );
    let hook = {
        let bar = bar.clone();
        move |r: &EpochReport| {
            bar.set_length(r.epochs as u64);
            bar.set_position(r.epoch as u64);
            bar.set_message(format!("loss {:.5}", r.loss));
        }
    };
    (bar, hook)
}

/// `kgrec train [--model M] [--dim D] [--epochs N] [--seed S] [--keep N] [--untuned] ...`
pub fn train(data: &Path, args: &TrainArgs, quiet: bool) -> Result<()> {
    if args.keep == 0 {
        return Err(Error::BadInput(
            "--keep 0: keep at least 1 version".to_owned(),
        ));
    }
    // One open reads the tuning and the inputs (waiting for short readers).
    let engine = open_for_inputs(data)?;
    let kgrec::engine::TrainSpec {
        spec,
        tuned,
        sized,
        default_reg,
    } = train_spec(&engine, args)?;
    let request = TrainRequest {
        spec,
        seed: args.fit.seed(),
        keep: args.keep,
        ann: args.ann.settings(),
        shrink_collapsed_reg: default_reg,
        ..TrainRequest::default()
    };
    let inputs = engine.training_data(&request)?;
    drop(engine);
    let trained = fit_and_commit_inputs(data, &inputs, &request, quiet)?;
    notes(&trained.notes);
    notes(&sized.iter().map(|s| s.note()).collect::<Vec<_>>());
    if let Some(tuned) = tuned {
        super::warn(&tuned_note(&tuned, &trained.header));
        let explicit = args.fit.overrides();
        if !explicit.is_empty() {
            super::warn(&format!(
                "note: laid over them as given: {}",
                explicit.flags()
            ));
        }
    }
    print_trained(&trained)
}

/// The spec `train` fits ([`Engine::train_spec`]: the flags over what `kgrec tune` chose, or
/// over the defaults for this catalogue with `--untuned` or without a tuning), checked as the
/// flags are; the tuning record used, if any; and the dimension grown with the catalogue, if
/// it was.
fn train_spec(engine: &Engine, args: &TrainArgs) -> Result<kgrec::engine::TrainSpec> {
    let built = engine.train_spec(
        args.fit.model.as_deref(),
        &args.fit.overrides(),
        !args.untuned,
    )?;
    args.fit.check_seed(built.spec.kind())?;
    Ok(built)
}

/// What `train` says when it used a tuning.
pub(super) fn tuned_note(t: &TunedLearner, trained: &ModelHeader) -> String {
    let flags = match t.overrides.flags() {
        f if f.is_empty() => "its defaults, which no draw beat".to_owned(),
        f => f,
    };
    let stale = match t.fingerprint == trained.fingerprint {
        true => "",
        false => {
            "; the interactions changed since: `kgrec tune` again to follow them (--untuned: \
             the defaults)"
        }
    };
    format!(
        "note: {} with the hyper-parameters `kgrec tune` chose: {flags} ({} {} on validation \
         rows{}){stale}",
        t.learner,
        t.metric,
        super::figure(t.value),
        match t.default_value.is_finite() {
            true => format!(
                ", against {}",
                kgrec::metrics::with_the_defaults(t.default_value)
            ),
            false => format!("; {}", kgrec::metrics::with_the_defaults(t.default_value)),
        }
    )
}

/// Reads the inputs (holding the data directory only meanwhile), fits, and commits the new
/// version (waiting for other processes to release the directory).
pub(super) fn fit_and_commit(data: &Path, request: &TrainRequest, quiet: bool) -> Result<Trained> {
    let inputs = open_for_inputs(data)?.training_data(request)?;
    fit_and_commit_inputs(data, &inputs, request, quiet)
}

/// The data directory opened to read a training's inputs. It is held only while the inputs are
/// read and while the new version is written: other kgrec processes (recommend, stats, sparql,
/// imports) work during the fit. Without `--wait`, a `kgrec serve` holding it refuses at once
/// (as every command does), but other holders (short readers such as a `recommend` or a
/// `stats`) are waited for up to a minute, saying so at the start: on a loaded machine a stream
/// of readers can hold it for seconds.
fn open_for_inputs(data: &Path) -> Result<Engine> {
    super::open_through_short_hold(
        data,
        &kgrec::OpenOptions::default(),
        std::time::Duration::from_secs(READER_WAIT_SECONDS),
        |holder| {
            super::warn(&format!(
                "note: {holder} holds {}: waiting up to {READER_WAIT_SECONDS} s for it to \
                 release it (--wait SECONDS to wait longer)",
                data.display()
            ))
        },
        |_, _| {},
    )
}

/// How long `train` without `--wait` waits for a holder of the data directory that is not a
/// `kgrec serve` (the README and `--wait`'s help say so).
const READER_WAIT_SECONDS: u64 = 60;

/// Fits `inputs` (the directory is not held) and commits the new version.
fn fit_and_commit_inputs(
    data: &Path,
    inputs: &kgrec::engine::TrainingData,
    request: &TrainRequest,
    quiet: bool,
) -> Result<Trained> {
    let cancel = AtomicBool::new(false);
    let (bar, mut hook) = epoch_progress(quiet);
    let fitted = inputs.fit(request, &mut hook, &cancel);
    bar.finish_and_clear();
    let fitted = fitted?;
    super::writing(|| reopen_to_store(data)?.commit(fitted, request.keep, &cancel))
}

/// The data directory opened to store a result computed without it, waiting for a process
/// that holds it (as `--wait` says, else up to an hour) and saying so.
pub(super) fn reopen_to_store(data: &Path) -> Result<Engine> {
    match super::open_engine(data) {
        Err(Error::InUse { pid, .. }) => {
            super::warn(&format!(
                "note: waiting for process {pid} to release {} to store the result",
                data.display()
            ));
            Engine::open_with(
                data,
                &kgrec::OpenOptions {
                    wait: Some(super::wait().unwrap_or(std::time::Duration::from_secs(3600))),
                    ..kgrec::OpenOptions::default()
                },
            )
        }
        other => other,
    }
}

/// `kgrec use --model-version V`: makes a stored recommender version current.
pub fn use_version(data: &Path, args: &UseArgs) -> Result<()> {
    let engine = super::open_engine(data)?;
    let set = super::writing(|| engine.use_version(args.model_version))?;
    let h = &set.header;
    let was = match (&set.previous, &set.previous_header) {
        (Some(p), _) if *p == h.version => {
            return super::summary(&format!(
                "{} v{} is already the current model; nothing changed\n",
                h.kind.name(),
                h.version
            ));
        }
        (Some(_), Some(p)) => format!("was {} v{}", p.kind.name(), p.version),
        (Some(p), None) => format!("was v{p}"),
        (None, _) => "there was none".to_owned(),
    };
    super::summary(&format!(
        "{} v{} is now the current model ({was}; trained on {} users × {} items, {} \
         interactions): recommend, explain, similar, predict and serve use it\n",
        h.kind.name(),
        h.version,
        h.users,
        h.items,
        h.interactions
    ))
}

/// The summary line of a training.
pub(super) fn print_trained(t: &Trained) -> Result<()> {
    let h = &t.header;
    let versions: Vec<String> = t.versions.iter().map(|v| format!("v{v}")).collect();
    let loss = h
        .final_loss
        .map_or(String::new(), |l| format!(", final loss {l:.5}"));
    // A recommender that did not become current is the one thing `--quiet` still says: the
    // command succeeded, but `recommend` serves another model.
    if !t.current && !h.kind.is_graph_embedding() && super::quiet() {
        eprintln!(
            "warning: {} v{} is stored but not current: a model trained meanwhile stays \
             current (read this one with --model-version {} on recommend, explain, similar or \
             predict; make it current with `kgrec use --model-version {}`)",
            h.kind.name(),
            h.version,
            h.version,
            h.version
        );
    }
    let (on, role) = if !t.current && !h.kind.is_graph_embedding() {
        (
            format!(
                "{} users × {} items ({} interactions)",
                h.users, h.items, h.interactions
            ),
            "stored beside the current model, which it does not replace".to_owned(),
        )
    } else if h.kind.is_graph_embedding() {
        (
            "the knowledge graph".to_owned(),
            "kept beside the recommenders, whose current model it does not replace".to_owned(),
        )
    } else {
        (
            format!(
                "{} users × {} items ({} interactions)",
                h.users, h.items, h.interactions
            ),
            format!("current model v{}", h.version),
        )
    };
    // A closed form (ease, kg-ease) has neither a dimension nor epochs; popularity counts.
    let shape = if h.kind == kgrec::ModelKind::Popularity {
        "item popularity counted, ".to_owned()
    } else if h.dim == 0 && h.epochs == 0 {
        String::new()
    } else if let Some(iterations) = cke_iterations(h) {
        // `--epochs` sets cke's joint iterations; the graph embedding's own epochs (its
        // warm-up, then a few per iteration) count in the header's epochs too.
        format!(
            "dim {}, {iterations} iterations ({} epochs counting the graph embedding's){loss}, ",
            h.dim, h.epochs
        )
    } else {
        format!("dim {}, {} epochs{loss}, ", h.dim, h.epochs)
    };
    super::summary(&format!(
        "trained {} v{} on {on}: {shape}{:.2} s; {role} (stored: {})\n",
        h.kind.name(),
        h.version,
        h.fit_seconds,
        versions.join(" ")
    ))
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
    check_recommend_flags(args)?;
    let started = std::time::Instant::now();
    let engine = super::open_reader(data)?;
    let opened = started.elapsed();
    if args.explain {
        return super::explain::recommend_explained(&engine, args);
    }
    if args.all_users {
        let out = args
            .out
            .as_deref()
            .ok_or_else(|| Error::BadInput("--all-users needs --out RECS.tsv".to_owned()))?;
        let batch = engine.recommend_batch(&batch_request(args)?)?;
        if batch.stale {
            stale_note(&batch.model);
        }
        warn_unknown_excluded(&batch.unknown_excluded);
        batch_filter_note(batch.matching_items, &args.filter);
        return write_all_users(&batch, out, args.force, data, opened);
    }
    let recs = engine.recommend(&one_user_request(args)?)?;
    if recs.stale {
        stale_note(&recs.model);
    }
    warn_unknown_excluded(&recs.unknown_excluded);
    filter_notes(&recs, &args.filter);
    short_list_note(&recs, args);
    match args.format.unwrap_or_default() {
        TextOrJson::Json => emit(&json_text(&recs.list_json())?),
        TextOrJson::Text => emit(&list_text(&recs)),
    }
}

/// The request of `recommend --user ID` (k, exclude list, model version; unexplained).
pub(super) fn one_user_request(args: &RecommendArgs) -> Result<RecommendRequest> {
    let user = args
        .user
        .as_deref()
        .ok_or_else(|| Error::BadInput("give --user ID or --all-users".to_owned()))?;
    Ok(RecommendRequest {
        exclude: excluded_ids(&args.exclude)?,
        filter: Filter::parse(&args.filter)?,
        model_version: args.model_version,
        labels: super::label_langs(),
        ..RecommendRequest::new(user, args.k.unwrap_or(10))
    })
}

/// The request of `recommend --all-users` (k, the exclude list and filter every user's list
/// honours, model version).
pub(super) fn batch_request(args: &RecommendArgs) -> Result<kgrec::engine::BatchRequest> {
    Ok(kgrec::engine::BatchRequest {
        k: args.k.unwrap_or(20),
        model_version: args.model_version,
        exclude: excluded_ids(&args.exclude)?,
        filter: Filter::parse(&args.filter)?,
    })
}

/// A batch's filter (as given) and how many items pass it, on standard error.
pub(super) fn batch_filter_note(matching: Option<usize>, given: &[String]) {
    if let Some(n) = matching {
        super::warn(&format!(
            "note: every list filtered by {}: {}",
            given.join(" and "),
            match n {
                0 => "no item of the data directory matches, so every list is empty".to_owned(),
                1 => "1 item of the data directory matches".to_owned(),
                n => format!("{n} items of the data directory match"),
            }
        ));
    }
}

/// The filter (as given) and why the list is short, on standard error: the list itself stays
/// as it is.
pub(super) fn filter_notes(recs: &Recommendations, given: &[String]) {
    if let Some(filter) = &recs.filter {
        super::warn(&format!(
            "note: filtered by {}: {}",
            given.join(" and "),
            match filter.matching_items {
                1 => "1 item of the data directory matches".to_owned(),
                n => format!("{n} items of the data directory match"),
            }
        ));
    }
    if let Some(note) = &recs.note {
        match recs.arbitrary {
            true => super::caveat(&format!("warning: {note}")),
            false => super::warn(&format!("note: {note}")),
        }
    }
}

/// A list shorter than `-k` that no other note explains: the user has the rest (or excluded it).
pub(super) fn short_list_note(recs: &Recommendations, args: &RecommendArgs) {
    let k = args.k.unwrap_or(10);
    let shown = recs.items.len();
    // A note of the list's own (an empty list, a filter) says it already; the model's collapse
    // note and the top-K note do not.
    let said = recs.note.as_deref().is_some_and(|n| {
        !(n.starts_with("top-K: ")
            || n.starts_with("a tiny catalogue")
            || n.starts_with("model v") && n.contains(" collapsed"))
    });
    if said || shown == 0 || shown >= k || !args.filter.is_empty() {
        return;
    }
    super::warn(&format!(
        "note: {} of the {k} asked: every other item model v{} {} can rank is in {}'s history{}{}",
        match shown {
            1 => "1 item".to_owned(),
            n => format!("{n} items"),
        },
        recs.model.version,
        recs.model.kind.name(),
        recs.user,
        match args.exclude.is_empty() {
            true => "",
            false => " or excluded",
        },
        match recs.retired {
            0 => String::new(),
            1 => " or retired (1 item is retired: `kgrec import links --restore FILE` offers it \
                  again)"
                .to_owned(),
            n => format!(
                " or retired ({n} items are retired: `kgrec import links --restore FILE` offers \
                 them again)"
            ),
        }
    ));
}

/// The ids of `recommend --exclude` (the one place its values are read): each value a
/// comma-separated list with CSV quoting for an id that holds a comma (`--exclude
/// 'a,"https://x.org/d?ids=1,2"'`; surrounding blanks trimmed), or `@FILE`, one id per line
/// (blank lines and surrounding blanks ignored); the flag may be repeated. An empty or blank
/// entry (a stray comma) is refused.
pub(super) fn excluded_ids(values: &[String]) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for value in values {
        match value.strip_prefix('@') {
            // Read as `import links --retire FILE` reads its list: `-` is standard input, gzip
            // is recognised, a header line naming the item column is skipped; an empty file
            // excludes nothing (a job's quiet day).
            Some(file) => match kgrec::interactions::read_item_list(Path::new(file)) {
                Ok(list) => ids.extend(list.items),
                Err(kgrec::interactions::ParseError::Empty { .. }) => {}
                Err(e) => {
                    return Err(Error::BadInput(format!(
                        "--exclude @{file}: {e} (the file lists one item id per line)"
                    )));
                }
            },
            None => {
                let mut listed = kgrec::interactions::split_id_list(value);
                if listed.is_empty() {
                    listed.push(String::new());
                }
                for id in listed {
                    crate::cli::args::parse_id(&id)
                        .map_err(|e| Error::BadInput(format!("--exclude {value:?}: {e}")))?;
                    ids.push(id.trim().to_owned());
                }
            }
        }
    }
    Ok(ids)
}

/// `--exclude` ids that name no item: probably a typo, said aloud; when one of them may be
/// part of an id that holds a comma (several unknown ids), how to write such an id.
pub(super) fn warn_unknown_excluded(ids: &[String]) {
    if !ids.is_empty() {
        let comma = match ids.len() {
            1 => "",
            _ => {
                "; an id that holds a comma is quoted (--exclude 'a,\"b,c\"') or listed in a \
                 file, one id per line (--exclude @FILE)"
            }
        };
        super::warn(&format!(
            "warning: --exclude: no item {} in the data directory (ignored){comma}",
            ids.iter()
                .map(|i| format!("{i:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
}

/// A flag the chosen form of `recommend` would ignore is an error, not silence.
fn check_recommend_flags(args: &RecommendArgs) -> Result<()> {
    let refuse = |message: &str| Err(Error::BadInput(message.to_owned()));
    if args.all_users {
        if args.format.is_some() {
            return refuse(
                "--format sets how one user's list is printed; --all-users writes the batch file \
                 (TSV, or JSON lines with --explain)",
            );
        }
        if args.out.is_none() {
            return refuse("--all-users needs --out FILE (`--out -` for standard output)");
        }
        // The batch file is TSV, the explained one JSON lines: a name that says the other
        // format is refused rather than filled with what it does not say (`.jsonl.gz` too).
        let extension = args
            .out
            .as_deref()
            .map(|out| match out.extension() {
                Some(gz) if gz.eq_ignore_ascii_case("gz") => {
                    Path::new(out.file_stem().unwrap_or(gz))
                }
                _ => out,
            })
            .and_then(Path::extension)
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let json_name = matches!(extension.as_deref(), Some("jsonl" | "ndjson" | "json"));
        if json_name && !args.explain {
            return Err(Error::BadInput(format!(
                "--out {}: without --explain the batch file is TSV (user_id, item_id, rank, \
                 score), not JSON lines; name it .tsv, or add --explain for one explanation \
                 JSON per line",
                args.out.as_deref().unwrap_or(Path::new("")).display()
            )));
        }
        let table_name = matches!(extension.as_deref(), Some("tsv" | "tab" | "csv"));
        if table_name && args.explain {
            return Err(Error::BadInput(format!(
                "--out {}: with --explain the batch file is JSON lines (one explanation object \
                 per user), not a table; name it .jsonl, or leave out --explain for the TSV of \
                 user_id, item_id, rank, score",
                args.out.as_deref().unwrap_or(Path::new("")).display()
            )));
        }
    } else if args.out.is_some() {
        return refuse(
            "--out writes the batch file of --all-users; one user's list goes to standard output \
             (redirect it, or give --all-users)",
        );
    }
    if !args.explain
        && (args.paths.paths.is_some()
            || args.paths.hops.is_some()
            || args.paths.explain_timeout_ms.is_some())
    {
        return refuse(
            "--paths, --hops and --explain-timeout-ms shape explanations: give --explain",
        );
    }
    Ok(())
}

fn list_text(recs: &Recommendations) -> String {
    let mut out = String::new();
    let model = &recs.model;
    match recs.source {
        ListSource::Popularity if recs.emptied => {
            let _ = writeln!(
                out,
                "user {} has no interactions (all were removed), so model v{} {} has nothing \
                 to score from: the most popular items",
                recs.user,
                model.version,
                model.kind.name()
            );
        }
        ListSource::Popularity => {
            let _ = writeln!(
                out,
                "user {} is not in the model (v{} {}): the most popular items",
                recs.user,
                model.version,
                model.kind.name()
            );
        }
        ListSource::FoldedIn => {
            let _ = writeln!(
                out,
                "recommendations for user {} (model v{} {}; the user arrived after training and \
                 was folded in from their interactions)",
                recs.user,
                model.version,
                model.kind.name()
            );
        }
        ListSource::Model => {
            let _ = writeln!(
                out,
                "recommendations for user {} (model v{} {})",
                recs.user,
                model.version,
                model.kind.name()
            );
        }
    }
    let width = recs
        .items
        .iter()
        .map(|i| display_width(&i.item))
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        out,
        "rank  {:>9}  {}  label",
        "score",
        pad_right("item", width)
    );
    for i in &recs.items {
        let _ = writeln!(
            out,
            "{:>4}  {:>9.4}  {}  {}{}",
            i.rank,
            kgrec::explain::four_places(i.score),
            pad_right(&i.item, width),
            kgrec::explain::printable(i.label.as_deref().unwrap_or("")),
            if i.graph_only {
                "  (new: placed from the graph alone)"
            } else {
                ""
            }
        );
    }
    out
}

/// Writes the batch file and its summary, with where the time went: `opened` (the data
/// directory), the engine's load and scoring ([`BatchRecommendations::timings`]), the writing.
fn write_all_users(
    batch: &BatchRecommendations,
    out: &Path,
    force: bool,
    data: &Path,
    opened: std::time::Duration,
) -> Result<()> {
    let started = std::time::Instant::now();
    let written = super::write_out((out, super::OutKind::Batch), force, data, |w| {
        write_batch(w, &batch.users)
    })?;
    let writing = started.elapsed();
    collapsed_batch_note(batch.collapse.as_deref());
    batch_ties_note(batch);
    if let Some(note) = &batch.short_lists {
        super::warn(&format!("note: {note}"));
    }
    let rows: usize = batch.users.iter().map(|r| r.items.len()).sum();
    // The file's columns are the contract's: new items placed from the graph are said here
    // (one user's list marks them, and `--explain` flags them graph_only).
    if let (n @ 1.., items) = batch.graph_only {
        super::warn(&format!(
            "note: {n} of the {rows} rows name {items} new item(s) that model v{} {} placed from \
             the graph alone (nobody had interacted with them when it was trained); \
             `recommend --all-users --explain` flags them graph_only",
            batch.model.version,
            batch.model.kind.name()
        ));
    }
    let shown = &written.shown;
    let fallback = batch.users.iter().filter(|r| r.fallback).count();
    let emptied = batch.emptied.min(fallback);
    let late = match fallback - emptied {
        0 => String::new(),
        n => format!(
            "; {n} of them arrived after the model was trained and could not be folded in: \
             their lists are the most popular items, scored by interaction count, not by the \
             model"
        ),
    };
    let emptied = match emptied {
        0 => String::new(),
        n => format!(
            "; {n} of them have no interactions (all were removed): their lists are the \
             popularity fallback, the most popular items scored by interaction count"
        ),
    };
    let fallback = format!("{late}{emptied}");
    super::written_summary(
        &written,
        &format!(
            "wrote {shown} ({} users, {rows} rows, model v{} {}{fallback}) in {:.2} s: \
             opening {:.2} s, loading {:.2} s, scoring {:.2} s, writing {:.2} s\n",
            batch.users.len(),
            batch.model.version,
            batch.model.kind.name(),
            (opened + batch.timings.load + batch.timings.scoring + writing).as_secs_f64(),
            opened.as_secs_f64(),
            batch.timings.load.as_secs_f64(),
            batch.timings.scoring.as_secs_f64(),
            writing.as_secs_f64(),
        ),
    )
}

/// Lists whose adjacent items share a score (popularity counts tie often): one note for the
/// batch, as one user's list says it, so that the order within a tie is not read as meaning.
fn batch_ties_note(batch: &BatchRecommendations) {
    let pairs = |items: &[(String, f32)]| {
        items
            .windows(2)
            .filter(|w| kgrec::cf::scores_tie(w[0].1, w[1].1))
            .count()
    };
    let tied: Vec<usize> = batch
        .users
        .iter()
        .map(|r| pairs(&r.items))
        .filter(|&n| n > 0)
        .collect();
    if tied.is_empty() {
        return;
    }
    super::warn(&format!(
        "note: {} of the {} lists hold ties ({}, to one part in a million); tied items are not \
         ranked by the model: exact ties in the order they were first imported, the others by \
         rounding noise",
        tied.len(),
        batch.users.len(),
        match tied.iter().sum::<usize>() {
            1 => "1 item scores the same as the one above it".to_owned(),
            n => format!("{n} items score the same as the one above them"),
        }
    ));
}

/// A batch from a collapsed model says so ([`kgrec::engine::collapse_note`]), as one user's
/// list does.
pub(super) fn collapsed_batch_note(note: Option<&str>) {
    if let Some(note) = note {
        super::caveat(&format!("warning: {note}"));
    }
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
    /// Test users the training file does not know (their lists: the popularity fallback).
    #[serde(skip_serializing_if = "Option::is_none")]
    unknown_test_users: Option<usize>,
    /// The metrics of the known test users alone, when some are unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    known_users: Option<serde_json::Map<String, serde_json::Value>>,
}

fn metric_map(e: &Evaluation) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    m.insert("users".into(), e.users.into());
    m.insert("users_with_list".into(), e.users_with_list.into());
    for (key, v) in e.named() {
        m.insert(key, v.into());
    }
    m.insert("train_leaks".into(), e.train_leaks.into());
    m.insert("duplicates".into(), e.duplicates.into());
    m
}

/// `kgrec eval --train T --test S [-k 10,20] [--model M] [--format text|json]
/// [--kg FILE...] [--link LINK.tsv]`
pub fn eval(args: &EvalArgs, quiet: bool) -> Result<()> {
    if args.k.is_empty() || args.k.contains(&0) {
        return Err(Error::BadInput(
            "-k: give cut-offs of at least 1".to_owned(),
        ));
    }
    let stdin = Path::new("-");
    let from_stdin: Vec<&str> = [("--train", &args.train), ("--test", &args.test)]
        .into_iter()
        .chain(args.kg.iter().map(|f| ("--kg", f)))
        .chain(args.link.as_ref().map(|f| ("--link", f)))
        .filter(|(_, f)| f.as_path() == stdin)
        .map(|(flag, _)| flag)
        .collect();
    if from_stdin.len() > 1 {
        return Err(Error::BadInput(format!(
            "{} {} read standard input (`-`), which can be read once: give files for all but \
             one",
            from_stdin.join(" and "),
            if from_stdin.len() == 2 { "both" } else { "all" }
        )));
    }
    let format = interaction_format(args.input_format.as_deref(), "--input-format")?;
    let spec = args.fit.spec()?;
    if args.tune.is_some() && !args.fit.overrides().is_empty() {
        return Err(Error::BadInput(format!(
            "--tune chooses the hyper-parameters itself: drop {} (or drop --tune)",
            args.fit.overrides().flags()
        )));
    }
    let tune = args.tune.map(|budget| kgrec::tune::TuneRequest {
        models: args.fit.model.iter().cloned().collect(),
        budget,
        seed: args.fit.seed(),
        target: args.target.into(),
        ..kgrec::tune::TuneRequest::default()
    });
    // Accepted with every model (the contract's command line passes them to any), but only
    // the graph-aware learners read a graph: said rather than ignored in silence.
    if !spec.kind().reads_graph() && (!args.kg.is_empty() || args.link.is_some()) {
        super::warn(&format!(
            "note: --kg and --link give the graph-aware learners ({}) their knowledge graph; \
             --model {} uses neither (ignored)",
            kgrec::learners::graph_reader_names().join(", "),
            spec.kind().name()
        ));
    }
    let request = EvalRequest {
        train: args.train.clone(),
        test: args.test.clone(),
        read: kgrec::interactions::ReadOptions {
            format,
            columns: args.read.columns(),
            delimiter: args.read.delimiter,
            rating_scale: args.read.rating_scale,
            time_unit: args.read.time_unit,
            events: None,
            stored_events: false,
            caller: kgrec::interactions::Caller::Eval,
        },
        min_rating: args.read.min_rating,
        kg: args.kg.clone(),
        link: args.link.clone(),
        link_columns: kgrec::interactions::LinkColumns::beside_interactions(
            args.link_item_col.clone(),
            args.link_iri_col.clone(),
        ),
        train_request: TrainRequest {
            spec,
            seed: args.fit.seed(),
            keep: 1,
            ann: kgrec::cf::ann::AnnSettings::default(),
            caller: kgrec::interactions::Caller::Eval,
            // Set when the spec is built again on the training file (`flags`).
            shrink_collapsed_reg: false,
        },
        // Built again once the training file is read: the dimension follows its catalogue.
        flags: Some(args.fit.overrides()),
        // `-k 10,10` asks for one cut-off.
        ks: args.k.iter().fold(Vec::new(), |mut ks, &k| {
            if !ks.contains(&k) {
                ks.push(k);
            }
            ks
        }),
        tune,
        task: match args.task {
            TaskName::Ranking => EvalTask::Ranking,
            TaskName::Rating => EvalTask::Rating,
        },
    };
    let (bar, mut hook) = epoch_progress(quiet);
    let outcome = Engine::evaluate(&request, &mut hook);
    bar.finish_and_clear();
    // The library words its messages for eval (`Caller::Eval`: --input-format, --kg, --link).
    let outcome = outcome?;
    notes(&outcome.notes);
    // The test users' lists tie as a batch's do: the same note (`recommend --all-users`).
    batch_ties_note(&BatchRecommendations {
        graph_only: (0, 0),
        users: outcome.lists.clone(),
        model: outcome.model.clone(),
        stale: false,
        collapse: None,
        short_lists: None,
        emptied: 0,
        unknown_excluded: Vec::new(),
        matching_items: None,
        timings: Default::default(),
    });
    // Figures over a handful of test users are anecdotes: said even under -q, as they qualify
    // the result itself.
    let measured = match &outcome.rating {
        Some(r) => (r.rated, "rated test rows"),
        None => (outcome.evaluation.users, "test users"),
    };
    if measured.0 < FEW_TEST_USERS {
        super::caveat(&format!(
            "warning: only {} {}: each is {:.0}% of every figure below, so one more or one fewer \
             can move a metric by that much; read them as anecdotes, not measurements (at least \
             {FEW_TEST_USERS} give a figure a standard error worth the name)",
            measured.0,
            measured.1,
            100.0 / measured.0.max(1) as f64
        ));
    }
    let header: &ModelHeader = &outcome.model;
    let params = serde_json::from_str(&header.params).unwrap_or(serde_json::Value::Null);
    let metrics = match &outcome.rating {
        Some(r) => match serde_json::to_value(r) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        },
        None => metric_map(&outcome.evaluation),
    };
    let report = EvalJson {
        model: header.kind.name(),
        params,
        train: args.train.display().to_string(),
        test: args.test.display().to_string(),
        fit_seconds: header.fit_seconds,
        metrics,
        unknown_test_users: (outcome.unknown_users > 0).then_some(outcome.unknown_users),
        known_users: outcome.known.as_ref().map(metric_map),
    };
    if let (Some(r), TextOrJson::Text) = (&outcome.rating, args.format) {
        return emit(&format!(
            "model {} {} (fit {:.2} s); {} rated test rows ({} of unknown users, {} of unknown \
             items)\n  RMSE {:.4}  MAE {:.4}\n",
            report.model,
            report.params,
            report.fit_seconds,
            r.rated,
            r.unknown_users,
            r.unknown_items,
            r.rmse,
            r.mae
        ));
    }
    match args.format {
        TextOrJson::Json => emit(&json_text(&report)?),
        TextOrJson::Text => {
            let mut text = eval_text(&report, &outcome.evaluation);
            if outcome.unknown_users > 0 {
                let _ = writeln!(
                    text,
                    "{} of {} test users are not in the training file: their lists are the \
                     popularity fallback",
                    outcome.unknown_users, outcome.evaluation.users
                );
            }
            if let Some(known) = &outcome.known {
                let _ = writeln!(text, "known users only ({} users):", known.users);
                text.push_str(&metric_rows(known));
            }
            emit(&text)
        }
    }
}

/// Below this many test users (or rated test rows) `eval` warns that its figures are
/// anecdotes.
const FEW_TEST_USERS: usize = 30;

fn eval_text(report: &EvalJson, e: &Evaluation) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "model {} {} (fit {:.2} s); {} test users, {} with a list; training items in the \
         lists {}, repeated items {}",
        report.model,
        report.params,
        report.fit_seconds,
        e.users,
        e.users_with_list,
        e.train_leaks,
        e.duplicates
    );
    out.push_str(&metric_rows(e));
    out
}

/// The metric table of `e`: a header line, then one line per cut-off.
fn metric_rows(e: &Evaluation) -> String {
    let mut out = String::new();
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

/// `kgrec export embeddings --out DIR [--version V]`
pub fn export_embeddings(data: &Path, args: &ExportEmbeddingsArgs) -> Result<()> {
    super::refuse_inside_data_dir(&args.out, data)?;
    let before = super::folder_out(&args.out, args.force)?;
    let engine = super::open_reader(data)?;
    let e = engine.export_embeddings(args.version, &args.out)?;
    let written = super::export_files(&args.out);
    super::export_replaced_note(&args.out, &before);
    super::summary(&format!(
        "wrote {}: {} entities, {} relations of model v{} {} ({} dim {}): {}\n",
        args.out.display(),
        e.entities,
        e.relations,
        e.version,
        e.kind.name(),
        e.model,
        e.dim,
        written.join(", ")
    ))
}

/// `kgrec predict --user ID --item ID [--format text|json]`
pub fn predict(data: &Path, args: &PredictArgs) -> Result<()> {
    let engine = super::open_reader(data)?;
    let p = engine.predict(&args.user, &args.item, args.model_version)?;
    let model = format!("model v{} {}", p.model.version, p.model.kind.name());
    let flag = match p.basis {
        PredictionBasis::Trained => None,
        PredictionBasis::UnknownUser => Some(format!(
            "user {} is unknown to {model}: the global mean plus the item's bias",
            p.user
        )),
        PredictionBasis::UnknownItem => Some(format!(
            "item {} is unknown to {model}: the global mean plus the user's bias",
            p.item
        )),
        PredictionBasis::Unknown => Some(format!(
            "user {} and item {} are unknown to {model}: the global mean",
            p.user, p.item
        )),
        PredictionBasis::GraphNeighbours => Some(format!(
            "item {} had no ratings when {model} was trained: its bias and vector are those of \
             its nearest rated items in the knowledge graph",
            p.item
        )),
    };
    if let Some(flag) = &flag {
        super::warn(&format!("note: {flag}"));
    }
    for (kind, id, stored, hint) in [
        ("user", &p.user, p.user_stored, &p.user_hint),
        ("item", &p.item, p.item_stored, &p.item_hint),
    ] {
        if !stored {
            super::warn(&format!(
                "warning: {}; the prediction is for an unknown {kind}",
                kgrec::engine::unknown_id_note(kind, id, hint)
            ));
        }
    }
    match args.format {
        TextOrJson::Json => emit(&json_text(&p)?),
        TextOrJson::Text => emit(&format!(
            "user {} item {}: predicted rating {:.3} on the scale {}:{} ({model}{})\n",
            p.user,
            p.item,
            p.rating,
            p.scale.0,
            p.scale.1,
            if flag.is_some() { ", flagged" } else { "" }
        )),
    }
}

/// `kgrec similar --item ID [-k 10] [--format text|json]`
pub fn similar(data: &Path, args: &SimilarArgs) -> Result<()> {
    if args.k == 0 {
        return Err(Error::BadInput(
            "-k 0: ask for at least one item".to_owned(),
        ));
    }
    let engine = super::open_reader(data)?;
    let found = engine.similar_in(
        &args.item,
        args.k,
        args.model_version,
        &super::label_langs(),
    )?;
    let model = format!("model v{} {}", found.model.version, found.model.kind.name());
    if found.graph_only {
        super::warn(&format!(
            "note: item {} had no interactions when {model} was trained: its vector, and so \
             these similarities, come from the graph alone",
            found.item
        ));
    }
    // Why the order means little: said even with --quiet.
    if let Some(note) = &found.note {
        super::caveat(&format!("note: {note}"));
    }
    if found.left_out > 0 {
        super::warn(&format!(
            "note: {} item(s) left out: {model} learnt nothing about them (no interactions when \
             it was trained{}, or added since)",
            found.left_out,
            if found.model.kind == kgrec::ModelKind::Cke {
                " and no linked entity with an edge in the graph"
            } else {
                ""
            }
        ));
    }
    match args.format {
        TextOrJson::Json => emit(&json_text(&found)?),
        TextOrJson::Text => {
            let mut out = format!("items like {} ({model})\n", found.item);
            let width = found
                .similar
                .iter()
                .map(|i| display_width(&i.item))
                .max()
                .unwrap_or(0);
            for i in &found.similar {
                let _ = writeln!(
                    out,
                    "{:>4}  {:>7.4}  {}  {}{}",
                    i.rank,
                    kgrec::explain::four_places(i.score),
                    pad_right(&i.item, width),
                    kgrec::explain::printable(i.label.as_deref().unwrap_or("")),
                    if i.graph_only {
                        "  (from the graph alone)"
                    } else {
                        ""
                    }
                );
            }
            if found.similar.is_empty() {
                out.push_str("(no other item the model learnt)\n");
            }
            emit(&out)
        }
    }
}
