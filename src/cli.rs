//! The command line: argument definitions (clap) and dispatch to the commands.
//!
//! Names are the contract of PRODUCT.md; the acceptance checks call them exactly.

use crate::commands;
use crate::error::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Where the data directory is when neither `--data` nor `KGREC_DATA` names one.
pub const DEFAULT_DATA_DIR: &str = "./kgrec-data";

#[derive(Debug, Parser)]
#[command(
    name = "kgrec",
    version,
    about = "Knowledge-graph-enhanced recommendations with explanations"
)]
pub struct Cli {
    /// The data directory [env: KGREC_DATA; default: ./kgrec-data; `demo`: a temporary one].
    #[arg(long, global = true, env = "KGREC_DATA", hide_env = true)]
    pub data: Option<PathBuf>,
    /// No progress bars or summaries on stderr.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import a knowledge graph or interactions into the data directory.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Counts of what the data directory holds.
    Stats(StatsArgs),
    /// Run a read-only SPARQL query against the knowledge graph.
    Sparql(SparqlArgs),
    /// Import the bundled fixtures into a temporary data directory and show what kgrec sees.
    Demo(DemoArgs),
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import RDF (N-Triples, Turtle, N-Quads, TriG, RDF/XML, each optionally .gz) or TSV triples.
    Kg(ImportKgArgs),
}

#[derive(Debug, Args)]
pub struct ImportKgArgs {
    /// Files to import; all or nothing.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The syntax, overriding the file extension: nt, ttl, nq, trig, rdf, tsv.
    #[arg(long)]
    pub format: Option<String>,
    /// Base IRI for relative IRIs, and the prefix of TSV tokens (default `urn:kgrec:`).
    #[arg(long)]
    pub base: Option<String>,
    /// Skip statements that do not parse instead of failing; report how many and where.
    #[arg(long)]
    pub lenient: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum TextOrJson {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[arg(long, value_enum, default_value_t)]
    pub format: TextOrJson,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum SparqlFormat {
    /// An aligned table (solutions) or N-Triples (graphs).
    #[default]
    Table,
    /// SPARQL 1.1 Query Results JSON.
    Json,
    /// SPARQL 1.1 Query Results CSV.
    Csv,
    /// SPARQL 1.1 Query Results TSV.
    Tsv,
    /// SPARQL Query Results XML.
    Xml,
}

#[derive(Debug, Args)]
pub struct SparqlArgs {
    /// The query text.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub query: Option<String>,
    /// Read the query from a file.
    #[arg(long)]
    pub file: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: SparqlFormat,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The fixtures folder (default: the `fixtures/` of this source tree).
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let output = commands::Output::new(cli.quiet);
    let data = cli
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    match cli.command {
        Command::Import(ImportCommand::Kg(args)) => commands::import_kg(&data, &args, &output),
        Command::Stats(args) => commands::stats(&data, &args),
        Command::Sparql(args) => commands::sparql(&data, &args),
        Command::Demo(args) => commands::demo(cli.data.as_deref(), &args, &output),
    }
}
