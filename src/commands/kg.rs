//! Graph commands: `import kg`, `stats`, `sparql`, `demo`.

use super::{emit, progress_bar};
use crate::cli::{
    DemoArgs, FitArgs, ImportInteractionsArgs, ImportKgArgs, SparqlArgs, SparqlFormat, StatsArgs,
    TextOrJson, TrainArgs,
};
use crate::datadir::{DataDir, OpenMode};
use crate::error::{Error, Result};
use kgrec_kg::oxigraph::io::{RdfFormat, RdfSerializer};
use kgrec_kg::oxigraph::sparql::QueryResults;
use kgrec_kg::oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use kgrec_kg::{ImportOptions, ImportProgress, InputFormat, SourceOptions};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where progress goes: a bar on a terminal, nothing otherwise.
#[derive(Debug)]
pub struct Output {
    quiet: bool,
}

impl Output {
    pub fn new(quiet: bool) -> Self {
        Self { quiet }
    }

    fn bar(&self, length: u64, template: &str) -> indicatif::ProgressBar {
        progress_bar(self.quiet, length, template)
    }
}

fn stdout_error(e: std::io::Error) -> Error {
    Error::io("<stdout>", e)
}

/// `kgrec import kg FILE...`
pub fn import_kg(data: &Path, args: &ImportKgArgs, output: &Output) -> Result<()> {
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
    let mut dir = DataDir::open(data, OpenMode::CreateIfMissing)?;
    let bar = output.bar(0, "{spinner} [{bar:30}] {bytes}/{total_bytes} {wide_msg}");
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
    let report = dir.kg_mut().import(&args.files, &options, &mut progress)?;
    bar.finish_and_clear();
    let mut stderr = std::io::stderr().lock();
    for file in report.files.iter().filter(|f| f.skipped > 0) {
        let _ = writeln!(
            stderr,
            "{}: skipped {} bad statement(s); first: {}",
            file.file.display(),
            file.skipped,
            file.skipped_examples.join("; ")
        );
    }
    let c = report.counts;
    emit(&format!(
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

/// What `kgrec stats --format json` prints; key names are the contract.
#[derive(Debug, Serialize)]
pub struct Stats {
    pub triples: u64,
    pub entities: u64,
    pub relations: u64,
    pub literals: u64,
    pub edges: u64,
    pub users: u64,
    pub items: u64,
    pub interactions: u64,
    pub models: Vec<String>,
    pub data_dir: PathBuf,
    pub backend: &'static str,
}

pub fn collect_stats(dir: &DataDir) -> Result<Stats> {
    let c = dir.kg().counts()?;
    let (users, items, interactions, models) = super::cf::cf_stats(dir)?;
    Ok(Stats {
        triples: c.triples,
        entities: c.entities,
        relations: c.relations,
        literals: c.literals,
        edges: c.edges,
        users,
        items,
        interactions,
        models,
        data_dir: dir.path().to_owned(),
        backend: crate::datadir::BACKEND,
    })
}

/// `kgrec stats`
pub fn stats(data: &Path, args: &StatsArgs) -> Result<()> {
    let dir = DataDir::open(data, OpenMode::MustExist)?;
    let stats = collect_stats(&dir)?;
    match args.format {
        TextOrJson::Json => {
            let json = serde_json::to_string_pretty(&stats).map_err(|e| Error::Corruption {
                what: e.to_string(),
            })?;
            emit(&format!("{json}\n"))
        }
        TextOrJson::Text => print_stats(&stats),
    }
}

fn print_stats(s: &Stats) -> Result<()> {
    let rows = [
        (
            "data directory",
            format!("{} ({})", s.data_dir.display(), s.backend),
        ),
        ("triples", s.triples.to_string()),
        ("entities", s.entities.to_string()),
        ("relations", s.relations.to_string()),
        ("literals", s.literals.to_string()),
        ("entity edges", s.edges.to_string()),
        ("users", s.users.to_string()),
        ("items", s.items.to_string()),
        ("interactions", s.interactions.to_string()),
        ("models", s.models.len().to_string()),
    ];
    let text: String = rows
        .iter()
        .map(|(name, value)| format!("{name:<16}{value}\n"))
        .collect();
    emit(&text)
}

/// `kgrec sparql QUERY`
pub fn sparql(data: &Path, args: &SparqlArgs) -> Result<()> {
    let query = match (&args.query, &args.file) {
        (Some(q), _) => q.clone(),
        (None, Some(file)) => std::fs::read_to_string(file).map_err(|e| {
            Error::BadInput(format!("{}: cannot read the query: {e}", file.display()))
        })?,
        (None, None) => return Err(Error::BadInput("give a QUERY or --file Q.rq".to_owned())),
    };
    let dir = DataDir::open(data, OpenMode::MustExist)?;
    let results = dir.kg().query(&query)?;
    let stdout = std::io::stdout().lock();
    match write_results(results, args.format, std::io::BufWriter::new(stdout)) {
        // A reader that went away (`kgrec sparql ... | head`) is not a failure.
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

fn write_results(
    results: QueryResults<'_>,
    format: SparqlFormat,
    mut out: impl Write,
) -> Result<()> {
    let eval = |e| Error::Kg(kgrec_kg::KgError::Evaluation(e));
    let results_format = match format {
        SparqlFormat::Table => None,
        SparqlFormat::Json => Some(QueryResultsFormat::Json),
        SparqlFormat::Csv => Some(QueryResultsFormat::Csv),
        SparqlFormat::Tsv => Some(QueryResultsFormat::Tsv),
        SparqlFormat::Xml => Some(QueryResultsFormat::Xml),
    };
    match results {
        QueryResults::Graph(triples) => {
            let mut serializer = RdfSerializer::from_format(RdfFormat::NTriples).for_writer(out);
            for triple in triples {
                serializer
                    .serialize_triple(&triple.map_err(eval)?)
                    .map_err(stdout_error)?;
            }
            serializer
                .finish()
                .map_err(stdout_error)?
                .flush()
                .map_err(stdout_error)
        }
        QueryResults::Boolean(value) => match results_format {
            Some(f) => {
                QueryResultsSerializer::from_format(f)
                    .serialize_boolean_to_writer(&mut out, value)
                    .map_err(stdout_error)?;
                out.flush().map_err(stdout_error)
            }
            None => writeln!(out, "{value}").map_err(stdout_error),
        },
        QueryResults::Solutions(solutions) => {
            let variables = solutions.variables().to_vec();
            if let Some(f) = results_format {
                let mut serializer = QueryResultsSerializer::from_format(f)
                    .serialize_solutions_to_writer(&mut out, variables)
                    .map_err(stdout_error)?;
                for solution in solutions {
                    serializer
                        .serialize(&solution.map_err(eval)?)
                        .map_err(stdout_error)?;
                }
                serializer.finish().map_err(stdout_error)?;
                return out.flush().map_err(stdout_error);
            }
            let mut rows: Vec<Vec<String>> = Vec::new();
            for solution in solutions {
                let solution = solution.map_err(eval)?;
                rows.push(
                    variables
                        .iter()
                        .map(|v| solution.get(v).map(|t| t.to_string()).unwrap_or_default())
                        .collect(),
                );
            }
            let header: Vec<String> = variables.iter().map(|v| v.to_string()).collect();
            write_table(&header, &rows, &mut out).map_err(stdout_error)?;
            out.flush().map_err(stdout_error)
        }
    }
}

fn write_table(
    header: &[String],
    rows: &[Vec<String>],
    out: &mut impl Write,
) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String], out: &mut dyn Write| -> std::io::Result<()> {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
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

/// The fixtures of this source tree, where `cargo run -- demo` finds them.
fn default_fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// `kgrec demo`: imports the fixtures (graph, interactions, links), shows what the graph layer
/// sees, trains the default model and explains the recommendations of two users.
pub fn demo(data: Option<&Path>, args: &DemoArgs, output: &Output) -> Result<()> {
    let fixtures = args.fixtures.clone().unwrap_or_else(default_fixtures);
    let kg_file = fixtures.join("movies.ttl");
    if !kg_file.is_file() {
        return Err(Error::BadInput(format!(
            "{}: fixtures not found (run from the source tree or pass --fixtures DIR)",
            kg_file.display()
        )));
    }
    let temp;
    let temp_dir_used = data.is_none();
    let data = match data {
        Some(d) => d.to_owned(),
        None => {
            temp = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
            temp.path().join("kgrec-data")
        }
    };
    println!("kgrec demo: data directory {}", data.display());
    let import_args = ImportKgArgs {
        files: vec![kg_file],
        format: None,
        base: None,
        lenient: false,
    };
    import_kg(&data, &import_args, output)?;
    show_graph(&data)?;
    let interactions = ImportInteractionsArgs {
        file: fixtures.join("interactions.tsv"),
        format: None,
        link: Some(fixtures.join("links.tsv")),
        min_rating: None,
    };
    println!();
    super::cf::import_interactions(&data, &interactions, true)?;
    let train = TrainArgs {
        fit: FitArgs::default(),
        keep: 3,
    };
    super::cf::train(&data, &train, true)?;
    super::explain::demo_explanations(&data, 2)?;
    if temp_dir_used {
        println!("\n(the temporary data directory goes away now; pass --data DIR to keep it)");
    } else {
        println!(
            "\nquery it: kgrec --data {} sparql 'SELECT ...'; explain: kgrec --data {} explain --user ID --item ID",
            data.display(),
            data.display()
        );
    }
    Ok(())
}

/// The demo's look at the graph: counts and two films' neighbours.
fn show_graph(data: &Path) -> Result<()> {
    let dir = DataDir::open(data, OpenMode::MustExist)?;
    let stats = collect_stats(&dir)?;
    println!();
    print_stats(&stats)?;

    let index = dir.kg().index();
    let projection = kgrec_kg::Projection::from_index(index)?;
    let name = |id: kgrec_kg::EntityId| -> Result<String> {
        Ok(match index.label(id)? {
            Some(label) => label,
            None => index.entity_iri(id)?.unwrap_or_default(),
        })
    };
    for iri in [
        "http://dbpedia.org/resource/Toy_Story",
        "http://dbpedia.org/resource/Star_Wars_(film)",
    ] {
        let Some(film) = index.entity_id(iri)? else {
            continue;
        };
        println!("\n{} is linked to:", name(film)?);
        for step in projection.steps(film).take(8) {
            let relation = index.relation_iri(step.relation)?.unwrap_or_default();
            let relation = relation
                .rsplit(['/', '#'])
                .next()
                .unwrap_or_default()
                .to_owned();
            let arrow = match step.walk {
                kgrec_kg::Walk::Forward => format!("-{relation}->"),
                kgrec_kg::Walk::Inverse => format!("<-{relation}-"),
            };
            println!("  {arrow} {}", name(step.to)?);
        }
    }
    Ok(())
}
