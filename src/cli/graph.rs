//! Graph commands: `import kg`, `stats`, `sparql`, `demo`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use kgrec::kg::oxigraph::io::{RdfFormat, RdfSerializer};
use kgrec::kg::oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use kgrec::kg::oxigraph::sparql::{
    QueryEvaluationError, QueryResults, QuerySolutionIter, QueryTripleIter,
};
use kgrec::kg::{ImportOptions, ImportProgress, InputFormat, SourceOptions};
use kgrec::{Engine, Error, InteractionFile, Result, Stats, TrainRequest};

use super::args::{
    DemoArgs, ImportKgArgs, LiteralsArg, SparqlArgs, SparqlFormat, StatsArgs, TextOrJson,
};
use super::{emit, json_text, notes, progress_bar};

fn stdout_error(e: std::io::Error) -> Error {
    Error::io("<stdout>", e)
}

/// `kgrec import kg FILE...`
pub fn import_kg(data: &Path, args: &ImportKgArgs, quiet: bool) -> Result<()> {
    let format = args
        .format
        .as_deref()
        .map(|name| {
            InputFormat::from_name(name).ok_or_else(|| {
                Error::BadInput(format!(
                    "--format {name}: unknown syntax (expected nt, ttl, nq, trig, rdf or tsv)"
                ))
            })
        })
        .transpose()?;
    let options = ImportOptions {
        source: SourceOptions {
            format,
            base: args.base.clone(),
        },
        lenient: args.lenient,
    };
    if let Some(url) = &args.endpoint {
        return import_from_endpoint(data, url, args, options, quiet);
    }
    super::with_new_engine(data, |engine| {
        import_kg_into(engine, &args.files, &options, quiet)
    })
}

/// `kgrec import kg --endpoint URL --around LINKS`: fetches the linked items' neighbourhood
/// into a checkpoint folder beside the data directory (the data directory is not touched, so
/// readers go on and a failed fetch leaves nothing in it), then imports what was fetched as one
/// N-Triples file, all or nothing, and removes the checkpoint.
fn import_from_endpoint(
    data: &Path,
    url: &str,
    args: &ImportKgArgs,
    mut options: ImportOptions,
    quiet: bool,
) -> Result<()> {
    use kgrec::kg::endpoint::{FetchRequest, Literals, Predicates, fetch};
    let Some(around) = &args.around else {
        return Err(Error::BadInput(
            "--endpoint needs --around LINKS.tsv: the items whose graph to fetch".to_owned(),
        ));
    };
    let links = kgrec::interactions::parse_link_file(around)?;
    let seeds: Vec<String> = links.into_iter().map(|l| l.iri).collect();
    let predicates = match (&args.predicates, &args.exclude_predicates) {
        (Some(file), _) => Predicates::Only(predicate_file(file)?),
        (None, Some(file)) => Predicates::Except(predicate_file(file)?),
        (None, None) => Predicates::All,
    };
    let defaults = FetchRequest::new(url, seeds);
    let request = FetchRequest {
        hops: args.hops,
        both_directions: args.both_directions,
        predicates,
        literals: match args.literals {
            LiteralsArg::None => Literals::None,
            LiteralsArg::Labels => Literals::Labels,
            LiteralsArg::All => Literals::All,
        },
        batch: args.batch,
        max_rows: args.max_rows,
        timeout: std::time::Duration::from_secs(args.timeout),
        retries: args.retries,
        interval: std::time::Duration::from_millis(args.interval_ms),
        headers: args.endpoint_header.clone(),
        ..defaults
    };
    let checkpoint = args.checkpoint.clone().unwrap_or_else(|| {
        let mut name = data.as_os_str().to_owned();
        name.push(".fetch");
        PathBuf::from(name)
    });
    super::set_fetch_checkpoint(Some(&checkpoint));
    let bar = progress_bar(quiet, 0, "{spinner} [{bar:30}] {pos}/{len} {wide_msg}");
    let cancel = AtomicBool::new(false);
    let fetched = fetch(
        &request,
        &checkpoint,
        &mut |p| {
            bar.set_length(p.total as u64);
            bar.set_position(p.done as u64);
            bar.set_message(format!(
                "hop {}: {} triples, {} requests, {} retries",
                p.hop, p.triples, p.requests, p.retries
            ));
        },
        &cancel,
    );
    bar.finish_and_clear();
    let fetched = match fetched {
        Ok(fetched) => fetched,
        Err(e) => {
            use kgrec::kg::endpoint::EndpointError as E;
            if !matches!(e, E::BadRequest(_) | E::OtherCheckpoint { .. }) && checkpoint.exists() {
                super::warn(&format!(
                    "note: what was fetched is kept in {}: the same command continues from there",
                    checkpoint.display()
                ));
            }
            return Err(e.into());
        }
    };
    if fetched.resumed > 0 {
        super::warn(&format!(
            "note: continued the fetch kept in {}: {} IRI(s) were fetched by an earlier run",
            checkpoint.display(),
            fetched.resumed
        ));
    }
    super::warn(&format!(
        "note: fetched {} triple(s) around {} IRI(s) (per hop: {}) from {url} in {} request(s), \
         {} retried, {} batch(es) split at the row cap, {} entit(ies) paged",
        fetched.triples,
        fetched.expanded.first().copied().unwrap_or(0),
        fetched
            .expanded
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        fetched.requests,
        fetched.retries,
        fetched.splits,
        fetched.paged
    ));
    options.source.format = Some(InputFormat::Rdf(
        kgrec::kg::oxigraph::io::RdfFormat::NTriples,
    ));
    super::with_new_engine(data, |engine| {
        import_kg_into(
            engine,
            std::slice::from_ref(&fetched.triples_file),
            &options,
            quiet,
        )
    })?;
    super::set_fetch_checkpoint(None);
    std::fs::remove_dir_all(&checkpoint).map_err(|e| Error::io(&checkpoint, e))
}

/// A predicate list: one IRI per line, angle brackets optional, blank lines and `#` comments
/// skipped.
fn predicate_file(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut iris = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let iri = line
            .strip_prefix('<')
            .and_then(|l| l.strip_suffix('>'))
            .unwrap_or(line);
        if iri.contains(char::is_whitespace) || !iri.contains(':') {
            return Err(Error::BadInput(format!(
                "{}:{}: {line:?} is not an IRI (one predicate IRI per line)",
                path.display(),
                n + 1
            )));
        }
        iris.push(iri.to_owned());
    }
    if iris.is_empty() {
        return Err(Error::BadInput(format!(
            "{}: no predicate IRI in the file",
            path.display()
        )));
    }
    Ok(iris)
}

fn import_kg_into(
    engine: &Engine,
    files: &[PathBuf],
    options: &ImportOptions,
    quiet: bool,
) -> Result<()> {
    let bar = progress_bar(
        quiet,
        0,
        "{spinner} [{bar:30}] {bytes}/{total_bytes} {wide_msg}",
    );
    let start = std::time::Instant::now();
    let mut progress = |event: ImportProgress<'_>| match event {
        ImportProgress::Reading {
            file,
            bytes_read,
            bytes_total,
            statements,
        } => {
            bar.set_length(bytes_total);
            bar.set_position(bytes_read);
            let rate = statements as f64 / start.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "{}: {statements} statements, {rate:.0}/s",
                file.display()
            ));
        }
        ImportProgress::Writing { statements } => {
            bar.set_message(format!("writing {statements} statements"));
        }
    };
    let report = engine.import_kg(files, options, &mut progress)?;
    bar.finish_and_clear();
    // `.txt` and `.kg` name no syntax of their own: say how they were read.
    if options.source.format.is_none() {
        for file in files {
            let name = file.to_string_lossy().to_ascii_lowercase();
            let name = name.strip_suffix(".gz").unwrap_or(&name);
            if name.ends_with(".txt") || name.ends_with(".kg") {
                super::warn(&format!(
                    "note: {}: read as TSV triples (head, relation, tail) by its extension; \
                     --format names another syntax",
                    file.display()
                ));
            }
        }
    }
    for file in files
        .iter()
        .filter(|f| InputFormat::is_n3(f, &options.source))
    {
        super::warn(&format!(
            "note: {}: read as Turtle by its extension .n3 ({}; --format names another syntax)",
            file.display(),
            kgrec::kg::source::N3_SUBSET
        ));
    }
    // A TSV graph whose tokens are the catalogue's item ids: its facts reach no item unless
    // the items are linked to those tokens' entities.
    let tsv = files
        .iter()
        .any(|f| options.source.format.or(InputFormat::guess(f).0) == Some(InputFormat::Tsv));
    if tsv && options.source.base.is_none() {
        let (items, total) = engine.items_beside_their_tokens(5)?;
        if total > 0 {
            super::warn(&format!(
                "warning: {total} of the catalogue's item ids are tokens of the TSV graph, whose \
                 entities are not the items' linked ones: {}. Facts about those tokens reach no \
                 item; to tie them, link the items to those IRIs (`kgrec import links`, a \
                 link file may give the bare token), or write the graph with the items' IRIs",
                items
                    .iter()
                    .map(|t| match &t.linked {
                        Some(l) => format!("{} (graph <{}>; linked to <{l}>)", t.item, t.token_iri),
                        None => format!("{} (graph <{}>; not linked)", t.item, t.token_iri),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
                    + &match total.saturating_sub(items.len()) {
                        0 => String::new(),
                        more => format!(" and {more} more"),
                    }
            ));
        }
    }
    for file in files {
        if let Some(header) = kgrec::engine::tsv_graph::header(file, options.source.format) {
            super::warn(&format!(
                "note: {}:1: read as a header ({}) and skipped, not as a triple",
                file.display(),
                header.replace('\t', ", ")
            ));
        }
        if let Some(note) =
            kgrec::engine::tsv_graph::numeric_tails_note(file, options.source.format)
        {
            super::warn(&format!("note: {note}"));
        }
    }
    for file in report.files.iter().filter(|f| f.skipped > 0) {
        let mut text = format!(
            "warning: {}: --lenient skipped {} bad statement(s):",
            file.file.display(),
            file.skipped
        );
        for example in &file.skipped_examples {
            text.push_str("\n  ");
            text.push_str(example);
        }
        let unnamed = file.skipped - file.skipped_examples.len() as u64;
        if unnamed > 0 {
            text.push_str(&format!("\n  and {unnamed} more"));
        }
        super::warn(&text);
    }
    for file in report
        .files
        .iter()
        .filter(|f| f.read == 0 && f.skipped == 0)
    {
        super::warn(&format!(
            "note: {}: no statement (the file is empty, or holds only comments and directives)",
            file.file.display()
        ));
    }
    for file in report.files.iter().filter(|f| f.ill_typed > 0) {
        super::warn(&kgrec::kg::import::ill_typed_warning(
            &file.file,
            file.ill_typed,
            &file.ill_typed_examples,
        ));
    }
    if report.blank_node_statements > 0 {
        super::warn(&format!(
            "note: {} statement(s) have a blank node as subject or object: SPARQL sees them, but \
             the recommendation graph, whose entities are IRIs, leaves them out (give those \
             nodes IRIs to have recommendations and explanations use them)",
            report.blank_node_statements
        ));
    }
    if let (n @ 1.., Some(first)) = &report.repeated_blank_nodes {
        super::warn(&format!(
            "note: {n} added statement(s) lead to a new blank node where the graph already had \
             one from the same subject and predicate (the first: {first}): blank nodes are \
             local to each file, so a file imported again after an edit or under another name \
             adds its blank-node structures beside the earlier ones rather than replacing them. \
             To replace them, import into a fresh data directory (every graph file again), or \
             give those nodes IRIs"
        ));
    }
    let c = report.counts;
    super::summary(&format!(
        "imported {} file(s): {} read, {} added, {} already present; graph: {} triples, {} entities, \
         {} relations, {} literals ({:.2} s)\n",
        report.files.len(),
        report.read,
        report.added,
        report.already_present,
        c.triples,
        c.entities,
        c.relations,
        c.literals,
        report.seconds
    ))
}

/// `kgrec stats`
pub fn stats(data: &Path, args: &StatsArgs) -> Result<()> {
    let stats = super::open_reader(data)?.stats()?;
    match args.format {
        TextOrJson::Json => emit(&json_text(&stats)?),
        TextOrJson::Text => emit(&stats_text(&stats)),
    }
}

/// The statement count, and when named graphs hold some of them, what that count means.
fn triples_text(s: &Stats) -> String {
    match s.named_graph_statements {
        0 => s.triples.to_string(),
        named => format!(
            "{} ({named} in named graphs: a triple that several graphs hold counts once per \
             graph, as SPARQL over the union of the graphs returns it; SELECT DISTINCT counts \
             it once)",
            s.triples
        ),
    }
}

fn stats_text(s: &Stats) -> String {
    let rows = [
        (
            "data directory",
            format!("{} ({})", s.data_dir.display(), s.backend),
        ),
        ("triples", triples_text(s)),
        ("entities", s.entities.to_string()),
        ("relations", s.relations.to_string()),
        ("literals", s.literals.to_string()),
        ("entity edges", s.edges.to_string()),
        (
            "users",
            match s.users_without_interactions {
                0 => s.users.to_string(),
                n => format!(
                    "{} ({n} with no interactions left: all were removed; they stay known and \
                     get the most popular items)",
                    s.users
                ),
            },
        ),
        (
            "items",
            match s.retired_items {
                0 => s.items.to_string(),
                r => format!(
                    "{} ({r} retired: no longer offered, never recommended)",
                    s.items
                ),
            },
        ),
        ("interactions", s.interactions.to_string()),
        (
            "rating scale",
            match s.rating_scale {
                Some(r) if r.declared => format!("{}:{} (declared)", r.min, r.max),
                Some(r) => format!("{}:{} (inferred from the ratings)", r.min, r.max),
                None => match s.single_rating {
                    Some(value) => format!(
                        "none: every stored rating is {value} (one distinct value, so no scale \
                         can be inferred; declare one with import --rating-scale MIN:MAX)"
                    ),
                    None => "none (no rating stored)".to_owned(),
                },
            },
        ),
        (
            "event weights",
            match &s.event_weights {
                Some(w) => {
                    let pairs: Vec<String> = w.iter().map(|(k, w)| format!("{k}={w}")).collect();
                    format!(
                        "{} (a pair's strength: the largest weight among its events)",
                        pairs.join(",")
                    )
                }
                None => "none (import interactions --event-weights)".to_owned(),
            },
        ),
        ("models", s.models.len().to_string()),
    ];
    let mut text: String = rows
        .iter()
        .map(|(name, value)| format!("{name:<16}{value}\n"))
        .collect();
    for model in &s.models {
        text.push_str(&format!("{:<16}{model}\n", ""));
    }
    text.push_str(&format!(
        "{:<16}{}{}\n",
        "fingerprint",
        s.fingerprint,
        match (&s.model_fingerprint, s.stale) {
            (Some(_), false) => " (interactions; the current model was trained on these)",
            (Some(_), true) => " (interactions; the current model's is different: stale)",
            (None, _) => " (interactions)",
        }
    ));
    if let Some(note) = &s.stale_note {
        text.push_str(&format!("{:<16}{note}\n", "stale model"));
    }
    for (i, t) in s.tuned.iter().enumerate() {
        text.push_str(&format!(
            "{:<16}{}{}{}: {} {} on validation ({}), {} trial(s): {}\n",
            if i == 0 { "tuned" } else { "" },
            t.learner,
            match (t.best, t.compared) {
                (true, _) => " (best)",
                (false, true) => "",
                (false, false) => {
                    " (tuned on other validation rows, e.g. before interactions changed: not \
                     compared with the best)"
                }
            },
            match t.fingerprint == s.fingerprint {
                true => "",
                false => " (tuned on other interactions than the store holds now)",
            },
            t.metric,
            kgrec::metrics::figure(t.value),
            kgrec::metrics::with_the_defaults(t.default_value),
            t.trials,
            if t.flags.is_empty() {
                "the defaults"
            } else {
                &t.flags
            }
        ));
    }
    text
}

/// `kgrec sparql QUERY`
pub fn sparql(data: &Path, args: &SparqlArgs) -> Result<()> {
    // A file's name where the query goes (`kgrec sparql q.rq`, or curl's `@q.rq`).
    if let Some((q, (name, at))) = args
        .query
        .as_ref()
        .and_then(|q| Some((q, query_file_name(q)?)))
    {
        return Err(Error::BadInput(format!(
            "{q:?} is a file name, not a query{}: read a query from a file with --file {name}",
            if at {
                " (kgrec reads no `@FILE` as curl does)"
            } else {
                ""
            }
        )));
    }
    let query = match (&args.query, &args.file) {
        (Some(q), _) => q.clone(),
        (None, Some(file)) if file == Path::new("-") => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut text).map_err(
                |e| Error::BadInput(format!("standard input: cannot read the query: {e}")),
            )?;
            text
        }
        (None, Some(file)) => std::fs::read_to_string(file).map_err(|e| {
            // curl's `@FILE` under --file: the file is there without the `@`.
            let unprefixed = file
                .to_str()
                .and_then(|f| f.strip_prefix('@'))
                .filter(|f| Path::new(f).is_file());
            Error::BadInput(match unprefixed {
                Some(f) => format!(
                    "{}: cannot read the query: {e}; --file takes the file's name without curl's \
                     `@`: --file {f}",
                    file.display()
                ),
                None => format!("{}: cannot read the query: {e}", file.display()),
            })
        })?,
        (None, None) => return Err(Error::BadInput("give a QUERY or --file Q.rq".to_owned())),
    };
    let engine = super::open_reader(data)?;
    let results = match engine.sparql(&query) {
        // A data file where the query goes: its name in the command that imports it.
        Err(Error::BadInput(message)) => {
            let file = args.file.as_deref().filter(|f| *f != Path::new("-"));
            return Err(Error::BadInput(
                match (file, Engine::sparql_rdf_data(&query)) {
                    (Some(file), Some(kind)) => {
                        let name = file.display().to_string();
                        format!(
                            "{name}: this looks like RDF data ({kind}), not a SPARQL query: \
                             `kgrec import kg {}` imports it",
                            kgrec::interactions::shell_word(&name)
                        )
                    }
                    _ => message,
                },
            ));
        }
        results => results?,
    };
    for note in Engine::sparql_notes(&query) {
        super::warn(&format!("note: {note}"));
    }
    let stdout = EndsWithNewline::new(std::io::BufWriter::new(std::io::stdout().lock()));
    match write_results(results, args.format, stdout) {
        // A reader that went away (`kgrec sparql ... | head`) is not a failure.
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Ok(false) => {
            // Nothing found: say which of the query's IRIs the graph does not hold.
            for absent in engine.sparql_absent_iris(&query)? {
                super::warn(&absent_iri_note(&absent));
            }
            // A plain string compared with literals the graph holds only language-tagged.
            for (plain, tagged) in engine.sparql_tagged_twins(&query)? {
                super::warn(&format!(
                    "note: the query compares with the plain string {plain:?}, but the graph holds \
                     it only with a language tag ({}), and a plain literal never equals a tagged \
                     one: write {}, or compare STR(?x) = {plain:?}",
                    tagged.join(", "),
                    tagged[0]
                ));
            }
            Ok(())
        }
        Ok(true) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A writer that can end its output with a line break if the last byte written was not one:
/// the results formats end JSON, XML and a CSV/TSV boolean without one, and a terminal prompt
/// then starts on the last line.
struct EndsWithNewline<W: Write> {
    inner: W,
    last: Option<u8>,
}

impl<W: Write> EndsWithNewline<W> {
    fn new(inner: W) -> Self {
        Self { inner, last: None }
    }

    fn finish_line(&mut self) -> std::io::Result<()> {
        if self.last.is_some_and(|b| b != b'\n') {
            self.write_all(b"\n")?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Write for EndsWithNewline<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        if n > 0 {
            self.last = Some(buf[n - 1]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes the results; whether they held anything (a row, a triple, `true`).
fn write_results<W: Write>(
    results: QueryResults<'_>,
    format: SparqlFormat,
    mut out: EndsWithNewline<W>,
) -> Result<bool> {
    let found = write_results_to(results, format, &mut out)?;
    out.finish_line().map_err(stdout_error)?;
    Ok(found)
}

fn write_results_to(
    results: QueryResults<'_>,
    format: SparqlFormat,
    mut out: impl Write,
) -> Result<bool> {
    let results_format = match format {
        SparqlFormat::Table => None,
        SparqlFormat::Json => Some(QueryResultsFormat::Json),
        SparqlFormat::Csv => Some(QueryResultsFormat::Csv),
        SparqlFormat::Tsv => Some(QueryResultsFormat::Tsv),
        SparqlFormat::Xml => Some(QueryResultsFormat::Xml),
    };
    match (results, results_format) {
        (QueryResults::Graph(_), Some(_)) => Err(Error::BadInput(format!(
            "--format {}: that is a format of SELECT and ASK results; a CONSTRUCT or DESCRIBE \
             query returns triples, which `--format table` (the default) writes as N-Triples",
            format_name(format)
        ))),
        (QueryResults::Graph(triples), None) => {
            // Said on stderr: standard output stays a valid (empty) N-Triples file.
            let written = write_graph(triples, RdfFormat::NTriples, &mut out)?;
            if written == 0 {
                super::warn(
                    "note: no triple matched (a DESCRIBE of an IRI the graph does not hold, or a \
                     CONSTRUCT whose pattern found nothing)",
                );
            }
            Ok(written > 0)
        }
        (QueryResults::Boolean(value), Some(f)) => {
            write_boolean(value, f, &mut out)?;
            Ok(value)
        }
        (QueryResults::Boolean(value), None) => {
            writeln!(out, "{value}").map_err(stdout_error)?;
            Ok(value)
        }
        (QueryResults::Solutions(solutions), Some(f)) => {
            Ok(write_solutions(solutions, f, &mut out)? > 0)
        }
        (QueryResults::Solutions(solutions), None) => {
            let variables = solutions.variables().to_vec();
            let mut rows: Vec<Vec<String>> = Vec::new();
            for solution in solutions {
                let solution = solution.map_err(evaluation_error)?;
                rows.push(
                    variables
                        .iter()
                        .map(|v| solution.get(v).map(table_cell).unwrap_or_default())
                        .collect(),
                );
            }
            let header: Vec<String> = variables.iter().map(|v| v.to_string()).collect();
            write_table(&header, &rows, &mut out).map_err(stdout_error)?;
            out.flush().map_err(stdout_error)?;
            Ok(!rows.is_empty())
        }
    }
}

fn evaluation_error(e: QueryEvaluationError) -> Error {
    Error::Kg(kgrec_kg::KgError::Evaluation(e))
}

/// Writes SELECT solutions in a SPARQL results format (`kgrec sparql --format`, `/sparql`);
/// returns how many it wrote.
pub(crate) fn write_solutions(
    solutions: QuerySolutionIter<'_>,
    format: QueryResultsFormat,
    out: &mut dyn Write,
) -> Result<u64> {
    let variables = solutions.variables().to_vec();
    let mut serializer = QueryResultsSerializer::from_format(format)
        .serialize_solutions_to_writer(&mut *out, variables)
        .map_err(stdout_error)?;
    let mut written = 0;
    for solution in solutions {
        serializer
            .serialize(&solution.map_err(evaluation_error)?)
            .map_err(stdout_error)?;
        written += 1;
    }
    serializer.finish().map_err(stdout_error)?;
    out.flush().map_err(stdout_error)?;
    Ok(written)
}

/// Writes an ASK answer in a SPARQL results format.
pub(crate) fn write_boolean(
    value: bool,
    format: QueryResultsFormat,
    out: &mut dyn Write,
) -> Result<()> {
    QueryResultsSerializer::from_format(format)
        .serialize_boolean_to_writer(&mut *out, value)
        .map_err(stdout_error)?;
    out.flush().map_err(stdout_error)
}

/// Writes the triples of a CONSTRUCT or DESCRIBE query in an RDF format.
/// Returns how many triples it wrote.
pub(crate) fn write_graph(
    triples: QueryTripleIter<'_>,
    format: RdfFormat,
    out: &mut dyn Write,
) -> Result<u64> {
    let mut serializer = RdfSerializer::from_format(format).for_writer(&mut *out);
    let mut written = 0;
    for triple in triples {
        serializer
            .serialize_triple(&triple.map_err(evaluation_error)?)
            .map_err(stdout_error)?;
        written += 1;
    }
    serializer
        .finish()
        .map_err(stdout_error)?
        .flush()
        .map_err(stdout_error)?;
    Ok(written)
}

fn format_name(format: SparqlFormat) -> &'static str {
    match format {
        SparqlFormat::Table => "table",
        SparqlFormat::Json => "json",
        SparqlFormat::Csv => "csv",
        SparqlFormat::Tsv => "tsv",
        SparqlFormat::Xml => "xml",
    }
}

/// The file a SPARQL `QUERY` argument names instead of holding a query (`q.rq`, an existing
/// file, or either behind curl's `@`), and whether it came with the `@`.
fn query_file_name(query: &str) -> Option<(String, bool)> {
    let q = query.trim();
    if q.is_empty() || q.contains(char::is_whitespace) {
        return None;
    }
    let names_file = |name: &str| {
        Path::new(name).is_file() || [".rq", ".sparql", ".txt"].iter().any(|e| name.ends_with(e))
    };
    match q.strip_prefix('@') {
        Some(name) if !name.is_empty() && names_file(name) => Some((name.to_owned(), true)),
        _ if names_file(q) => Some((q.to_owned(), false)),
        _ => None,
    }
}

/// A term as the table shows it: numbers and booleans bare (`10`, not
/// `"10"^^<http://www.w3.org/2001/XMLSchema#integer>`), anything else as N-Triples writes it.
fn table_cell(term: &kgrec::kg::oxigraph::model::Term) -> String {
    use kgrec::kg::oxigraph::model::{Term, vocab::xsd};
    match term {
        Term::Literal(l)
            if [
                xsd::INTEGER,
                xsd::DECIMAL,
                xsd::DOUBLE,
                xsd::FLOAT,
                xsd::INT,
                xsd::LONG,
                xsd::BOOLEAN,
            ]
            .contains(&l.datatype()) =>
        {
            l.value().to_owned()
        }
        other => other.to_string(),
    }
}

fn write_table(
    header: &[String],
    rows: &[Vec<String>],
    out: &mut impl Write,
) -> std::io::Result<()> {
    use kgrec::explain::{display_width, pad_right};
    let mut widths: Vec<usize> = header.iter().map(|h| display_width(h)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(display_width(cell));
        }
    }
    let line = |cells: &[String], out: &mut dyn Write| -> std::io::Result<()> {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, &w)| pad_right(c, w))
            .collect();
        writeln!(out, "{}", padded.join(" | ").trim_end())
    };
    line(header, out)?;
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    writeln!(out, "{}", rule.join("-+-"))?;
    for row in rows {
        line(row, out)?;
    }
    writeln!(
        out,
        "({} row{})",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    )
}

/// The fixtures built into the binary, so that `kgrec demo` runs from an installed binary
/// anywhere: (file name, contents).
const FIXTURES: [(&str, &str); 3] = [
    ("movies.ttl", include_str!("../../fixtures/movies.ttl")),
    (
        "interactions.tsv",
        include_str!("../../fixtures/interactions.tsv"),
    ),
    ("links.tsv", include_str!("../../fixtures/links.tsv")),
];

/// `kgrec demo`: imports the fixtures (graph, interactions, links), shows what the graph layer
/// sees, trains the default model and explains the recommendations of two users.
///
/// Interrupted or failing, it leaves nothing behind: its temporary folder goes on the list a
/// Ctrl-C empties, and a `--data` directory is taken back as a failed first import is, until
/// the training is stored; from then on the directory is complete.
pub fn demo(data: Option<&Path>, args: &DemoArgs) -> Result<()> {
    let temp = kgrec::datadir::scratch_dir("kgrec-demo-")?;
    let fixtures = match &args.fixtures {
        Some(dir) => {
            let kg_file = dir.join("movies.ttl");
            if !kg_file.is_file() {
                return Err(Error::BadInput(format!(
                    "{}: fixtures not found (--fixtures DIR needs movies.ttl, interactions.tsv \
                     and links.tsv; without --fixtures the demo uses its built-in copy)",
                    kg_file.display()
                )));
            }
            dir.clone()
        }
        None => {
            let dir = temp.path().join("fixtures");
            kgrec::kg::fsutil::create_dirs(&dir).map_err(|e| Error::io(&dir, e))?;
            for (name, text) in FIXTURES {
                let path = dir.join(name);
                std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
            }
            dir
        }
    };
    let data = match data {
        Some(d) => {
            let occupied = std::fs::read_dir(d).is_ok_and(|mut entries| entries.next().is_some());
            if occupied {
                return Err(Error::BadInput(format!(
                    "{}: the demo imports its fixtures into a new or empty data directory, and \
                     this one is not empty; give another --data DIR, or \
                     none for a temporary one",
                    d.display()
                )));
            }
            d.to_owned()
        }
        None => temp.path().join("kgrec-data"),
    };
    emit(&format!("kgrec demo: data directory {}\n", data.display()))?;
    let trained = super::with_engine_made(&data, |engine| fill_demo(engine, &fixtures))?;
    super::DEMO_STORED.store(true, std::sync::atomic::Ordering::SeqCst);
    notes(&trained.notes);
    super::models::print_trained(&trained)?;
    super::explain::demo_explanations(&super::open_engine(&data)?, 2)?;
    // Advice, not results: on standard error, and silent under -q.
    if data.starts_with(temp.path()) {
        super::warn("note: the temporary data directory goes away now; pass --data DIR to keep it");
    } else {
        super::warn(&format!(
            "note: query it: kgrec --data {} sparql 'SELECT ...'; explain: kgrec --data {} \
             explain --user ID --item ID",
            data.display(),
            data.display()
        ));
    }
    Ok(())
}

/// The demo's writes into its new data directory: the fixtures' graph, interactions and links
/// (shown as they come), then the trained model.
fn fill_demo(engine: &Engine, fixtures: &Path) -> Result<kgrec::Trained> {
    import_kg_into(
        engine,
        &[fixtures.join("movies.ttl")],
        &ImportOptions::default(),
        false,
    )?;
    show_graph(engine)?;
    emit("\n")?;
    let imported = engine.import_interactions(&InteractionFile {
        file: fixtures.join("interactions.tsv"),
        link: Some(fixtures.join("links.tsv")),
        ..InteractionFile::default()
    })?;
    super::models::print_import(
        &fixtures.join("interactions.tsv"),
        Some(&fixtures.join("links.tsv")),
        &imported,
        &super::models::graph_spellings(engine, &imported)?,
    )?;
    // The default regularisation (30) was chosen on catalogues of ml-100k's size; on the
    // bundled 40 × 24 catalogue, 94 % dense, it squeezes cke into one order for every user (the
    // collapse note says so). The demo trains with --reg 3 and says why.
    let overrides = kgrec::learners::Overrides {
        reg: Some(3.0),
        ..kgrec::learners::Overrides::default()
    };
    let request = TrainRequest {
        spec: kgrec::ModelSpec::new("cke", &overrides)?,
        ..TrainRequest::default()
    };
    super::warn(
        "note: the demo trains cke with --reg 3: the default 30 suits catalogues the size of \
         MovieLens-100K and flattens this 40-user one into one order for everybody; `kgrec tune` \
         chooses for your own data",
    );
    engine.train(&request, &mut |_| {}, &AtomicBool::new(false))
}

/// The demo's look at the graph: counts and two films' neighbours.
fn show_graph(engine: &Engine) -> Result<()> {
    emit("\n")?;
    emit(&stats_text(&engine.stats()?))?;
    for iri in [
        "http://dbpedia.org/resource/Toy_Story",
        "http://dbpedia.org/resource/Star_Wars_(film)",
    ] {
        let Some(n) = engine.neighbourhood(iri, 8)? else {
            continue;
        };
        let printable = kgrec::explain::printable;
        emit(&format!("\n{} is linked to:\n", printable(&n.name)))?;
        for (relation, forward, to) in n.steps {
            let arrow = if forward {
                format!("-{relation}->")
            } else {
                format!("<-{relation}-")
            };
            emit(&format!("  {arrow} {}\n", printable(&to)))?;
        }
    }
    Ok(())
}

/// The note for an IRI of a query that found nothing which the store holds nowhere: with the
/// nearest IRI it holds, or, for a query that names graphs, the store's named graphs.
fn absent_iri_note(absent: &kgrec::engine::AbsentIri) -> String {
    let iri = &absent.iri;
    if let Some(near) = &absent.nearest {
        return format!("note: the graph has no <{iri}>: did you mean <{near}>?");
    }
    match &absent.named_graphs {
        Some((_, 0)) => format!(
            "note: the graph has no <{iri}>, and the store has no named graph: every statement \
             is in the default graph (query it without GRAPH or FROM)"
        ),
        Some((names, total)) => format!(
            "note: the graph has no <{iri}>, nor a named graph of that name; the store's named \
             graphs: {}{}",
            names
                .iter()
                .map(|n| format!("<{n}>"))
                .collect::<Vec<_>>()
                .join(", "),
            match total.saturating_sub(names.len()) {
                0 => String::new(),
                more => format!(" and {more} more"),
            }
        ),
        None => format!("note: the graph has no <{iri}>"),
    }
}
