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
    /// Import the bundled fixtures (into a temporary data directory unless --data is given),
    /// train the default model and show explained recommendations.
    Demo(DemoArgs),
    /// Train a model on the imported interactions; it becomes the current model.
    Train(TrainArgs),
    /// Recommend items for one user, or for every user into a batch file.
    Recommend(RecommendArgs),
    /// Why an item is recommended to a user: score parts and relation paths from their history.
    Explain(ExplainArgs),
    /// Train on one interaction file and score top-K lists against another (temporary data directory).
    Eval(EvalArgs),
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import RDF (N-Triples, Turtle, N-Quads, TriG, RDF/XML, each optionally .gz) or TSV triples.
    Kg(ImportKgArgs),
    /// Import user-item interactions (tsv, csv, movielens, recbole, kgat), optionally with item→IRI links.
    Interactions(ImportInteractionsArgs),
}

#[derive(Debug, Args)]
pub struct ImportInteractionsArgs {
    /// The interaction file; all or nothing.
    pub file: PathBuf,
    /// The format, overriding the file extension: tsv, csv, movielens, recbole, kgat.
    #[arg(long)]
    pub format: Option<String>,
    /// A link file (`item_id<TAB>iri` with a header) tying items to knowledge-graph entities.
    #[arg(long)]
    pub link: Option<PathBuf>,
    /// Keep only rows whose rating is at least R (rows without a rating are kept).
    #[arg(long, value_name = "R")]
    pub min_rating: Option<f32>,
}

/// The learners `train` and `eval` offer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ModelName {
    /// The knowledge-aware model: implicit ALS fused with TransE graph embeddings and relation
    /// attention (default; without a graph or links it is ALS).
    #[default]
    Cke,
    /// Implicit ALS (default: 16 factors, 15 iterations, reg 30, alpha 4).
    Als,
    /// BPR-MF (default: 64 factors, 300 epochs, lr 0.02, reg 0.02).
    Bpr,
    /// Item popularity.
    #[value(alias = "popularity")]
    Pop,
}

/// The model and its hyper-parameters; unset values take the tuned defaults of `docs/cf-notes.md`.
#[derive(Clone, Debug, Default, Args)]
pub struct FitArgs {
    #[arg(long, value_enum, default_value_t)]
    pub model: ModelName,
    /// Latent dimension [default: als 16, bpr 64].
    #[arg(long)]
    pub dim: Option<usize>,
    /// Epochs (ALS iterations) [default: als 15, bpr 300].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Random seed of the fit.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// L2 regularisation [default: als 30, bpr 0.02].
    #[arg(long)]
    pub reg: Option<f32>,
    /// ALS confidence slope in c = 1 + alpha·r [default: 4].
    #[arg(long)]
    pub alpha: Option<f32>,
    /// BPR learning rate [default: 0.02].
    #[arg(long)]
    pub lr: Option<f32>,
    /// cke: weight of the pull of a linked item's vector towards its entity's embedding
    /// (0 turns the graph off) [default: see docs/model.md].
    #[arg(long)]
    pub kg_weight: Option<f32>,
    /// cke: how an item's graph neighbourhood enters the score: none, uniform or learned.
    #[arg(long)]
    pub attention: Option<String>,
    /// cke: scale of the vector of a linked item nobody has interacted with (its entity's
    /// embedding times this): 1 recommends new catalogue items as readily as proven ones
    /// [default: 0.5].
    #[arg(long)]
    pub cold_scale: Option<f32>,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub fit: FitArgs,
    /// How many model versions to keep (the new one included).
    #[arg(long, default_value_t = 3)]
    pub keep: usize,
}

#[derive(Debug, Args)]
pub struct RecommendArgs {
    /// The user's id, as in the interaction file.
    #[arg(
        long,
        required_unless_present = "all_users",
        conflicts_with = "all_users"
    )]
    pub user: Option<String>,
    /// Every user of the data directory, into the batch file `--out`.
    #[arg(long, requires = "out")]
    pub all_users: bool,
    /// How many items per user [default: 10, with --all-users 20].
    #[arg(short = 'k')]
    pub k: Option<usize>,
    #[arg(long, value_enum, default_value_t)]
    pub format: TextOrJson,
    /// The batch file (`user_id<TAB>item_id<TAB>rank<TAB>score`; with --explain one
    /// explanation JSON per user and line).
    #[arg(long, requires = "all_users")]
    pub out: Option<PathBuf>,
    /// Explain every item: score parts and relation paths from the user's history.
    #[arg(long)]
    pub explain: bool,
    #[command(flatten)]
    pub paths: PathArgs,
}

/// How explanations search for paths.
#[derive(Clone, Copy, Debug, Args)]
pub struct PathArgs {
    /// Relation paths per item.
    #[arg(long = "paths", value_name = "N", default_value_t = 3)]
    pub paths: usize,
    /// Graph hops per path after the user's own item (1 to 3).
    #[arg(long, value_name = "H", default_value_t = 3)]
    pub hops: usize,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    /// Sentences ("You liked ..., directed by ..., who also directed ...").
    #[default]
    Text,
    /// The explanation JSON of PRODUCT.md.
    Json,
    /// A Graphviz digraph of the paths.
    Dot,
    /// The Graphviz digraph rendered to SVG by Graphviz's `dot` program.
    Svg,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The user's id, as in the interaction file.
    #[arg(long)]
    pub user: String,
    /// The item's id, as in the interaction file.
    #[arg(long)]
    pub item: String,
    #[arg(long, value_enum, default_value_t)]
    pub format: ExplainFormat,
    #[command(flatten)]
    pub paths: PathArgs,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Training interactions.
    #[arg(long)]
    pub train: PathBuf,
    /// Held-out interactions to score against.
    #[arg(long)]
    pub test: PathBuf,
    /// Cut-offs, comma-separated.
    #[arg(short = 'k', value_delimiter = ',', default_value = "10,20")]
    pub k: Vec<usize>,
    #[command(flatten)]
    pub fit: FitArgs,
    /// The interaction format of both files, overriding their extensions.
    #[arg(long)]
    pub input_format: Option<String>,
    /// Knowledge-graph files to import into the temporary data directory (for `--link`).
    #[arg(long, num_args = 1..)]
    pub kg: Vec<PathBuf>,
    /// A link file tying the training items to entities of `--kg`.
    #[arg(long)]
    pub link: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: TextOrJson,
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
        Command::Import(ImportCommand::Interactions(args)) => {
            commands::import_interactions(&data, &args, cli.quiet)
        }
        Command::Train(args) => commands::train(&data, &args, cli.quiet),
        Command::Recommend(args) => commands::recommend(&data, &args),
        Command::Explain(args) => commands::explain(&data, &args),
        Command::Eval(args) => commands::eval(&args, cli.quiet),
    }
}
