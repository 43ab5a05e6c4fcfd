//! The command line's arguments (clap). Names are the contract of PRODUCT.md; the acceptance
//! checks call them exactly. Learner names, their help and which flags they take come from the
//! library's model registry (`kgrec::learners`).

use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use kgrec::LabelLangs;
use kgrec::interactions::{ColumnRef, Delimiter};
use kgrec::learners::{LEARNERS, Overrides};
use std::path::PathBuf;

/// `--data` (or `KGREC_DATA`): any path but an empty one, which names no folder. An exported
/// `KGREC_DATA=` (empty) is refused by name rather than as a `--data` never given.
fn data_dir(value: &str) -> Result<PathBuf, String> {
    if !value.is_empty() {
        return Ok(PathBuf::from(value));
    }
    Err(match std::env::var_os("KGREC_DATA") {
        Some(v) if v.is_empty() => "KGREC_DATA is set but empty, which names no folder: unset it \
             (`unset KGREC_DATA`) to use ./kgrec-data, or set it (or --data) to the data \
             directory"
            .to_owned(),
        _ => "an empty path names no folder: give the data directory".to_owned(),
    })
}

#[derive(Debug, Parser)]
#[command(
    name = "kgrec",
    version,
    about = "Knowledge-graph-enhanced recommendations with explanations"
)]
pub struct Cli {
    /// The data directory [env: KGREC_DATA; default: ./kgrec-data; `demo`: a temporary one unless
    /// --data is given, whatever KGREC_DATA says].
    #[arg(
        long,
        global = true,
        env = "KGREC_DATA",
        hide_env = true,
        value_parser = data_dir
    )]
    pub data: Option<PathBuf>,
    /// Nothing but results and errors: no progress bars, summaries, notes or warnings (but one:
    /// a trained model that did not become current).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// When another kgrec process holds the data directory, wait up to SECONDS for it (600
    /// when no number is given) instead of failing at once. Without it, `train` waits up to
    /// 60 s (saying so), and readers (stats, sparql, recommend, explain, similar) up to 10 s,
    /// for a holder that is not a `kgrec serve`.
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        num_args = 0..=1,
        default_missing_value = "600",
        value_parser = seconds_to_wait
    )]
    pub wait: Option<f64>,
    /// The languages labels are shown in (of items in recommend, similar and explain, of the
    /// entities and relations of explanations, of `serve`'s answers by default): BCP 47 tags
    /// separated by commas, best first (`ru,en`). A tag matches itself and its subtags (`en`:
    /// en-GB; `zh-Hans`: zh-Hans-CN) and, if no label does, falls back to its shorter forms
    /// (`zh-CN`: zh; `zh-Hans-CN`: zh-Hans, zh); after the list come untagged labels, then any
    /// language (`*`, last, says so). Explanation sentences stay English, with these labels.
    /// [env: KGREC_LABEL_LANG; default: en]
    #[arg(
        long,
        global = true,
        env = "KGREC_LABEL_LANG",
        hide_env = true,
        value_name = "LANGS",
        value_parser = label_langs
    )]
    pub label_lang: Option<LabelLangs>,
    #[command(subcommand)]
    pub command: Command,
    /// `data` came from the environment variable KGREC_DATA, not from `--data` (`demo` leaves
    /// such a directory alone).
    #[arg(skip)]
    pub data_from_env: bool,
}

/// The command line with a bare `--wait` (one followed by something that is not a number of
/// seconds, such as the command: `kgrec --wait import kg x.nt`) written `--wait=600`, so that
/// the parser does not take the next word for its value.
pub fn with_bare_wait(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    let args: Vec<std::ffi::OsString> = args.into_iter().collect();
    let mut out = Vec::with_capacity(args.len());
    for (i, arg) in args.iter().enumerate() {
        let next_is_seconds = args
            .get(i + 1)
            .and_then(|next| next.to_str())
            .is_some_and(|next| next.parse::<f64>().is_ok());
        if i > 0 && arg == "--wait" && !next_is_seconds {
            out.push(std::ffi::OsString::from("--wait=600"));
        } else {
            out.push(arg.clone());
        }
    }
    out
}

/// Parses the command line (after [`with_bare_wait`]), exiting as clap does on an error. A flag
/// the command does not take is said with the command's own flags: clap's message would
/// print a usage line holding the flag it suggests, which then looks required.
pub fn parse(args: Vec<std::ffi::OsString>) -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let parsed = Cli::command()
        .try_get_matches_from(&args)
        .and_then(|matches| {
            let mut cli =
                Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut Cli::command()))?;
            cli.data_from_env =
                data_source(&matches) == Some(clap::parser::ValueSource::EnvVariable);
            Ok(cli)
        });
    match parsed {
        Ok(cli) => cli,
        Err(e) => match unknown_flag(&e, &args) {
            Some(message) => {
                eprintln!("{message}");
                std::process::exit(2)
            }
            None => e.exit(),
        },
    }
}

/// Where `--data`'s value came from: the command line, the environment, or nowhere (a global
/// option's value may be recorded with the subcommand).
fn data_source(matches: &clap::ArgMatches) -> Option<clap::parser::ValueSource> {
    matches
        .value_source("data")
        .or_else(|| matches.subcommand().and_then(|(_, sub)| data_source(sub)))
}

/// The message of an unknown flag (`recommend --epochs 3`): the command's flags and `--help`.
fn unknown_flag(e: &clap::Error, args: &[std::ffi::OsString]) -> Option<String> {
    use clap::CommandFactory;
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(flag)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    if !flag.starts_with('-') {
        return None;
    }
    let mut cmd = Cli::command();
    cmd.build();
    let mut path = vec![cmd.get_name().to_owned()];
    let name = flag.split('=').next().unwrap_or(flag);
    // The command the flag was given to: the (sub)commands named before it (`kgrec -v stats`:
    // `kgrec`'s flag, not `stats`').
    let at = args
        .iter()
        .position(|a| {
            a.to_str()
                .is_some_and(|a| a.split('=').next() == Some(name))
        })
        .unwrap_or(args.len());
    for arg in args.iter().take(at).skip(1).filter_map(|a| a.to_str()) {
        if arg.starts_with('-') {
            continue;
        }
        let Some(sub) = cmd.find_subcommand(arg).cloned() else {
            continue;
        };
        path.push(sub.get_name().to_owned());
        cmd = sub;
        if cmd.get_subcommands().next().is_none() {
            break;
        }
    }
    let flags = |global: bool| {
        cmd.get_arguments()
            .filter(|a| !a.is_hide_set() && a.is_global_set() == global)
            .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
            .filter_map(flag_name)
            .collect::<Vec<_>>()
    };
    let (own, global) = (flags(false), flags(true));
    let command = path.join(" ");
    let meant = match meant_flag(&cmd, name) {
        Some(meant) => format!(" (did you mean {meant}?)"),
        None => match e.get(ContextKind::SuggestedArg) {
            Some(ContextValue::String(meant)) => format!(" (did you mean {meant}?)"),
            _ => String::new(),
        },
    };
    let takes = match own.is_empty() {
        true => "it takes no flag of its own".to_owned(),
        false => format!("its flags are {}", own.join(", ")),
    };
    let globals = match global.is_empty() {
        true => String::new(),
        false => format!(" (and the global {})", global.join(", ")),
    };
    Some(format!(
        "error: unexpected argument '{name}': `{command}` has no such flag{meant}; \
         {takes}{globals}\n\n\
         For more information, try '{command} --help'."
    ))
}

/// How a flag is written in the list of a command's flags: `--user`, `-k` (short only),
/// `--quiet/-q` (both).
fn flag_name(arg: &clap::Arg) -> Option<String> {
    match (arg.get_long(), arg.get_short()) {
        (Some(long), Some(short)) => Some(format!("--{long}/-{short}")),
        (Some(long), None) => Some(format!("--{long}")),
        (None, Some(short)) => Some(format!("-{short}")),
        (None, None) => None,
    }
}

/// The short flag an unknown flag most likely meant, which clap's suggestion (long names
/// only) misses: `--k` for `-k`, and the usual names of a list's length (`--top`, `--limit`,
/// `-n`...) for the command's `-k`.
fn meant_flag(cmd: &clap::Command, name: &str) -> Option<String> {
    const LENGTHS: [&str; 8] = ["top", "topk", "top-k", "limit", "n", "num", "count", "size"];
    let bare = name.trim_start_matches('-');
    let mut chars = bare.chars();
    let short = match (chars.next(), chars.next()) {
        (Some(c), None) if name.starts_with("--") => Some(c),
        _ => None,
    };
    let shorts = || {
        cmd.get_arguments()
            .filter(|a| !a.is_hide_set())
            .filter_map(|a| a.get_short())
    };
    if let Some(c) = short.filter(|&c| shorts().any(|s| s == c)) {
        return Some(format!("-{c}"));
    }
    (LENGTHS.contains(&bare.to_ascii_lowercase().as_str()) && shorts().any(|s| s == 'k'))
        .then(|| "-k".to_owned())
}

/// `--endpoint-header`'s value: `NAME: VALUE`.
fn endpoint_header(value: &str) -> Result<(String, String), String> {
    let (name, header) = value.split_once(':').ok_or_else(|| {
        format!("{value:?} is no header: write NAME: VALUE (e.g. 'Authorization: Bearer KEY')")
    })?;
    let name = name.trim();
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    match valid && !header.contains(['\r', '\n']) {
        true => Ok((name.to_owned(), header.trim().to_owned())),
        false => Err(format!(
            "{value:?} is no header: NAME is letters, digits and -, the value one line (e.g. \
             'Authorization: Bearer KEY')"
        )),
    }
}

/// `-k`'s value: a number of items (`-k -1` is a value refused here, not an unknown flag).
fn item_count(value: &str) -> Result<usize, String> {
    value.trim().parse::<usize>().map_err(|_| {
        format!("{value:?} is not a number of items: give a whole number from 1 (e.g. -k 10)")
    })
}

/// `--wait`'s value. A word there is most likely the command, taken as the value because
/// `--wait` came first without a number: say how to write that.
/// `--label-lang`: BCP 47 tags, best first.
fn label_langs(value: &str) -> Result<LabelLangs, String> {
    LabelLangs::parse(value).map_err(|e| match std::env::var("KGREC_LABEL_LANG") {
        Ok(v) if v == value => format!("{e} (the value of KGREC_LABEL_LANG)"),
        _ => e.to_string(),
    })
}

fn seconds_to_wait(value: &str) -> Result<f64, String> {
    value.parse::<f64>().map_err(|_| {
        format!(
            "expected a number of seconds; to wait the default 600 s, put --wait after the \
             command (`kgrec {value} --wait`) or write --wait=600"
        )
    })
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
    /// Train a recommender on the imported interactions (it becomes the current model), or
    /// graph embeddings of the imported graph (--model transe|rotate|transr: kept beside it).
    Train(TrainArgs),
    /// Choose hyper-parameters (and the learner) on validation rows carved from the imported
    /// interactions; `train` uses them from then on.
    Tune(TuneArgs),
    /// Make a stored recommender version the current model (a rollback, or a version a newer
    /// training overtook): recommend, explain, similar, predict and serve use it from then on.
    Use(UseArgs),
    /// Recommend items for one user, or for every user into a batch file.
    Recommend(RecommendArgs),
    /// Why an item is recommended to a user: score parts and relation paths from their history.
    Explain(ExplainArgs),
    /// Train on one interaction file and score top-K lists against another (temporary data directory).
    Eval(Box<EvalArgs>),
    /// Knowledge-graph embeddings on a link-prediction benchmark folder (train/valid/test.txt).
    #[command(subcommand)]
    Kge(KgeCommand),
    /// Write a stored model's graph embeddings as TSV tables.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Items like a given item: by the cosine of the model's item vectors (als, bpr, cke, ncf,
    /// svd, svdpp), its item-item weights (ease, kg-ease) or its neighbours (itemknn, tfidf).
    Similar(SimilarArgs),
    /// The rating a rating model (svd, svdpp) predicts for a user and an item, on the data's
    /// scale.
    Predict(PredictArgs),
    /// Serve the data directory over HTTP (JSON): recommendations with explanations, feedback,
    /// rebuilds, SPARQL, metrics. The server holds the directory until SIGTERM or Ctrl-C.
    Serve(ServeArgs),
    /// Runs the SPARQL queries of `kgrec serve` in a process of their own (started by serve).
    #[command(hide = true)]
    SparqlWorker(crate::server::worker::WorkerArgs),
}

#[derive(Debug, Args)]
pub struct UseArgs {
    /// The stored recommender version to make current (`kgrec stats` lists the versions).
    #[arg(long, value_name = "V", value_parser = parse_version)]
    pub model_version: u64,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0: any free port; the bound address is printed). An
    /// address beyond loopback needs --api-key (or --allow-open-writes).
    #[arg(long, default_value = "127.0.0.1:7878", value_parser = parse_addr)]
    pub addr: std::net::SocketAddr,
    /// Serve without writing: reads are answered, writes (POST /v1/interactions, POST
    /// /v1/admin/rebuild) get 403 `read_only`. The server reads a copy of the database taken
    /// at its start and does not hold the data directory, so `train` and imports may run
    /// beside it; it serves what was there at its start (restart it for a newer model). A
    /// directory this process may not write (a read-only mount) is served this way without
    /// the flag.
    #[arg(long)]
    pub read_only: bool,
    /// The largest request body accepted, in bytes (larger: 413).
    #[arg(long, default_value_t = 2 * 1024 * 1024)]
    pub max_body: usize,
    /// Requests worked on at once (health and metrics aside); more wait their turn.
    #[arg(long, default_value_t = 64)]
    pub max_in_flight: usize,
    /// On SIGTERM or Ctrl-C, how long requests in flight may take to finish before the server
    /// exits anyway.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub shutdown_grace: f64,
    /// How long the path search of one explained answer may take, in milliseconds; when it
    /// runs out, the paths found by then are given and the answer says "truncated": true.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub explain_timeout_ms: u64,
    /// How long one SPARQL query may run, in milliseconds; past it the query is cancelled and
    /// answered 503 (query_timeout).
    #[arg(long, value_name = "MS", default_value_t = 30_000)]
    pub sparql_timeout_ms: u64,
    /// The most rows (SELECT) or triples (CONSTRUCT, DESCRIBE) one SPARQL answer may have; a
    /// query with more gets a 400 (result_too_large) that says to add a LIMIT.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub sparql_max_rows: usize,
    /// Worker processes that run SPARQL queries, one query each at a time, at the lowest
    /// priority: a heavy query takes only what recommendations leave, and one that runs past
    /// its limit ends with its process. Each holds a copy of the graph in memory (default build).
    #[arg(
        long,
        visible_alias = "sparql-threads",
        value_name = "N",
        default_value_t = 1
    )]
    pub sparql_workers: usize,
    /// The memory one SPARQL query may take beyond the loaded graph, in MiB; a query that needs
    /// more is stopped and answered 503 (query_out_of_memory). 0: no cap.
    #[arg(long, value_name = "MIB", default_value_t = 2048)]
    pub sparql_memory_mb: u64,
    /// SPARQL queries that may wait for a worker; more get 503 (sparql_busy).
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub sparql_queue: usize,
    /// The key that writes (POST /v1/interactions) and admin routes need, sent as
    /// `Authorization: Bearer KEY` or `X-API-Key: KEY` (at least 16 characters). Without it
    /// writes are open, which `serve` allows on loopback only.
    #[arg(
        long,
        env = "KGREC_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub api_key: Option<String>,
    /// Read the API key from a file (keeps it out of the process list).
    #[arg(long, value_name = "PATH")]
    pub api_key_file: Option<std::path::PathBuf>,
    /// A key for reads (recommendations, explanations, similar items, models, SPARQL); the API
    /// key opens them too. Without it reads are open. Needs --api-key as well (else writes
    /// would stay open), unless --allow-open-writes.
    #[arg(
        long,
        env = "KGREC_READ_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub read_key: Option<String>,
    /// Read the read key from a file.
    #[arg(long, value_name = "PATH")]
    pub read_key_file: Option<std::path::PathBuf>,
    /// Routes that are open by default but should need a key too (a read key, or the API key).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "ROUTES")]
    pub guard: Vec<GuardedRoutes>,
    /// Listen beyond loopback, or guard reads with --read-key, although writes need no key
    /// (anyone who reaches the port can add interactions and start rebuilds).
    #[arg(long)]
    pub allow_open_writes: bool,
    /// Requests a second each client address may send (a burst of as many); more get 429 with
    /// Retry-After. 0: no limit. Health checks are not counted.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub rate_limit: u32,
    /// Log every request (one line each: request id, method, route, status, milliseconds).
    /// Without it only failures, rejections and server events are logged.
    #[arg(long)]
    pub access_log: bool,
    /// Log lines as text or as JSON objects (one a line), on standard error.
    #[arg(long, value_enum, default_value_t)]
    pub log_format: LogFormat,
    /// Put the request's path, with the user and item ids in it, in log lines; without it they
    /// carry the route's template (`/v1/users/{id}/recommendations`).
    #[arg(long)]
    pub log_user_ids: bool,
}

/// Routes `--guard` can close.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GuardedRoutes {
    /// `/health/live`, `/health/ready` and `/openapi.json`.
    Health,
    /// `/metrics`.
    Metrics,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct SimilarArgs {
    /// The item's id, as in the interaction file.
    #[arg(long, value_parser = parse_id)]
    pub item: String,
    /// How many items.
    #[arg(short = 'k', default_value_t = 10, allow_negative_numbers = true, value_parser = item_count)]
    pub k: usize,
    #[arg(long, value_enum, default_value_t)]
    pub format: TextOrJson,
    /// Use this stored model version instead of the current one (see `stats`).
    #[arg(long, value_name = "V", value_parser = parse_version)]
    pub model_version: Option<u64>,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The user's id, as in the interaction file.
    #[arg(long, value_parser = parse_id)]
    pub user: String,
    /// The item's id, as in the interaction file.
    #[arg(long, value_parser = parse_id)]
    pub item: String,
    #[arg(long, value_enum, default_value_t)]
    pub format: TextOrJson,
    /// Use this stored model version instead of the current one (see `stats`).
    #[arg(long, value_name = "V", value_parser = parse_version)]
    pub model_version: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum KgeCommand {
    /// Train TransE, RotatE or TransR with early stopping on validation MRR; write the export.
    Train(Box<KgeTrainArgs>),
    /// Filtered link prediction of an export on the folder's test split (MRR, Hits@1/3/10, mean rank).
    Eval(KgeEvalArgs),
}

/// Which side of a training triple a negative replaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CorruptionName {
    /// Head or tail with probability ½.
    Uniform,
    /// The head more often for relations with many tails per head (Wang et al. 2014).
    Bernoulli,
}

/// The graph-embedding models.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum KgeModelName {
    /// Translations (Bordes et al. 2013).
    #[default]
    Transe,
    /// Rotations in the complex plane (Sun et al. 2019).
    Rotate,
    /// Translations in a relation-specific projected space (Lin et al. 2015).
    Transr,
}

impl KgeModelName {
    /// The name of `meta.json` and of `KgeParams::tuned`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Transe => "transe",
            Self::Rotate => "rotate",
            Self::Transr => "transr",
        }
    }
}

/// Hyper-parameters of a graph embedding; unset values take the tuned defaults of
/// `docs/kge-notes.md` ("CLI defaults"). The defaults below are a small graph's (UMLS); from
/// 5,000 entities in train.txt on, transe and rotate take the settings validated on FB15k-237:
/// dim 256, batch 1024, Adam 1e-3, validation on 3,000 triples every 10 epochs, and transe 64
/// negatives, γ 9, 150 epochs, patience 3; rotate 32 negatives, γ 12, 400 epochs, patience 2,
/// two plateau decays.
#[derive(Clone, Debug, Args)]
pub struct KgeFitArgs {
    /// Entity dimension (RotatE: complex coordinates) [default: transe 64, rotate 64, transr 32].
    #[arg(long)]
    pub dim: Option<usize>,
    /// TransR: relation-space dimension [default: the entity dimension].
    #[arg(long)]
    pub rel_dim: Option<usize>,
    /// Most epochs (early stopping may end sooner) [default: 200].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Negative entities per positive [default: 32].
    #[arg(long)]
    pub negatives: Option<usize>,
    /// Positives per mini-batch [default: 256].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Adam learning rate [default: transe 0.01, rotate 0.005, transr 0.01].
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f32>,
    /// Use the self-adversarial loss with this margin γ [default: transe 6, rotate 9].
    #[arg(long, conflicts_with = "margin", allow_negative_numbers = true)]
    pub gamma: Option<f32>,
    /// Use the margin-ranking loss with this margin [default: transr 3].
    #[arg(long, allow_negative_numbers = true)]
    pub margin: Option<f32>,
    /// TransE/TransR distance norm, 1 or 2 [default: 1].
    #[arg(long)]
    pub norm: Option<u8>,
}

#[derive(Debug, Args)]
pub struct KgeTrainArgs {
    /// A folder with train.txt, valid.txt and test.txt (`head<TAB>relation<TAB>tail`).
    #[arg(long)]
    pub dataset: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub model: KgeModelName,
    #[command(flatten)]
    pub fit: KgeFitArgs,
    /// Random seed; the same seed gives the same model for any thread count.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Validate every N epochs (0: no validation, no early stopping) [default: 10].
    #[arg(long)]
    pub validate_every: Option<usize>,
    /// Stop after this many validations without a better MRR [default: 3].
    #[arg(long)]
    pub patience: Option<usize>,
    /// On such a plateau, divide the learning rate by 10 and go on, up to N times, before
    /// stopping [default: 0].
    #[arg(long)]
    pub lr_decays: Option<usize>,
    /// Positives that share one draw of negative entities (1: independent negatives per
    /// positive, slower on large graphs) [default: 32].
    #[arg(long)]
    pub chunk_size: Option<usize>,
    /// Which side a negative replaces [default: bernoulli].
    #[arg(long, value_enum)]
    pub corrupt: Option<CorruptionName>,
    /// Validate on the first N triples of valid.txt only (0: all) [default: 0].
    #[arg(long)]
    pub valid_max: Option<usize>,
    /// Stop after the epoch that passes this many seconds (0: no limit).
    #[arg(long)]
    pub max_seconds: Option<f64>,
    /// Also evaluate the kept model on test.txt and print the figures.
    #[arg(long)]
    pub eval_test: bool,
    /// Search dimension, negatives, margin (γ for transe and rotate, the ranking margin for
    /// transr), learning rate, epochs and patience for this long (90s, 10m, 1h) on valid.txt,
    /// starting from the defaults, then train the best draw and keep it as without --tune.
    /// Flags given are kept fixed. test.txt is read only by --eval-test, after the search.
    #[arg(long, value_name = "BUDGET", value_parser = parse_budget)]
    pub tune: Option<std::time::Duration>,
    /// --tune: at most this many draws besides the defaults.
    #[arg(long, requires = "tune")]
    pub trials: Option<usize>,
    /// --tune: how the space is searched (as `kgrec tune --search`).
    #[arg(long, value_enum, default_value_t = SearchArg::Refine, requires = "tune")]
    pub search: SearchArg,
    /// Where to write entities.tsv, relations.tsv and meta.json (TransE also writes
    /// entity_embeddings.tsv and relation_embeddings.tsv, the peers' names).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace export files in --out that no earlier export's meta.json vouches for, or add
    /// the export to a folder of other files (links, special files and folders inside a data
    /// directory are refused all the same).
    #[arg(long)]
    pub force: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: TextOrJson,
}

#[derive(Debug, Args)]
pub struct KgeEvalArgs {
    /// The benchmark folder (train.txt, valid.txt, test.txt; all three filter the ranking).
    #[arg(long)]
    pub dataset: PathBuf,
    /// A folder written by `kge train --out` or `export embeddings` (meta.json, entities.tsv, relations.tsv).
    #[arg(long)]
    pub model_dir: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub format: TextOrJson,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// The entity and relation embeddings of a transe, rotate, transr or cke model (IRIs first).
    Embeddings(ExportEmbeddingsArgs),
}

#[derive(Debug, Args)]
pub struct ExportEmbeddingsArgs {
    /// The folder to write entities.tsv, relations.tsv and meta.json into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// The model version [default: the newest version that has graph embeddings (transe,
    /// rotate, transr or cke), else the current one].
    #[arg(long, value_parser = parse_version)]
    pub version: Option<u64>,
    /// Replace export files in --out that no earlier export's meta.json vouches for, or add
    /// the export to a folder of other files (links, special files and folders inside a data
    /// directory are refused all the same).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import RDF (N-Triples, Turtle, N-Quads, TriG, RDF/XML, each optionally .gz) or TSV triples.
    Kg(ImportKgArgs),
    /// Import user-item interactions (tsv, csv, movielens, recbole, kgat), optionally with item→IRI links;
    /// --remove takes a file's pairs back.
    Interactions(ImportInteractionsArgs),
    /// Add catalogue items with their links (`item_id<TAB>iri`, or `,` `;` `|`) and no interactions.
    Links(ImportLinksArgs),
}

#[derive(Debug, Args)]
pub struct ImportInteractionsArgs {
    /// The interaction file (`-`: standard input; gzip recognised); all or nothing.
    pub file: PathBuf,
    /// The format, overriding the guess from the extension and the first lines: tsv, csv,
    /// movielens, recbole, kgat.
    #[arg(long)]
    pub format: Option<String>,
    /// A link file tying items to knowledge-graph entities: `item_id<TAB>iri` with a header, or
    /// split by `,` `;` `|` (`-`: standard input).
    #[arg(long)]
    pub link: Option<PathBuf>,
    /// --link: the link file's item column, by header name or 1-based position [default: found
    /// by its name, or the one column beside the IRI's].
    #[arg(long, value_name = "NAME|N", requires = "link")]
    pub link_item_col: Option<ColumnRef>,
    /// --link: the link file's IRI column, by header name or 1-based position [default: found by
    /// its name: iri, uri, url, entity, ...].
    #[arg(long, value_name = "NAME|N", requires = "link")]
    pub link_iri_col: Option<ColumnRef>,
    /// Take the file's (user, item) pairs back instead of adding them (returns, mistakes): each
    /// stored pair is removed, whatever rating or time the row gives, all or nothing; the
    /// summary counts pairs removed and not found (naming the first few). Any format, column
    /// mapping, gzip or `-` reads as for an import. The next `train` no longer sees them. To
    /// keep a returned item as a weak signal instead, import it again with a low rating (the
    /// latest rating wins): svd/svdpp learn it as disliked, als and cke (default `--confidence
    /// rating`) weigh it least, but every ranking learner still counts it as a positive, and it
    /// is never recommended back to the user; only removal takes it out.
    #[arg(long, conflicts_with_all = ["link", "min_rating", "rating_scale", "event_weights"])]
    pub remove: bool,
    /// tsv/csv/recbole, with --event-weights: the column of each row's event kind (view,
    /// addtocart, purchase...), by header name or 1-based position [default: the column named
    /// event, event_type, action, behavior, behaviour or interaction_type].
    #[arg(long, value_name = "NAME|N", requires = "event_weights")]
    pub event_col: Option<ColumnRef>,
    /// Weigh each row by its kind of event, e.g. view=1,addtocart=3,transaction=5 (kinds
    /// matched exactly as written): the weight is the row's rating-like strength (what `train
    /// --confidence rating` weighs), and a pair's strength is the LARGEST weight among its
    /// events, in one file, across imports and over HTTP (a purchase is never lowered by a
    /// later view; --confidence count still counts rows). An event without a weight is an
    /// error naming its line; a weight of 0 drops the kind's rows (counted in a note). The
    /// weights are stored: a later import may add kinds but not change a weight, one without
    /// --event-weights is weighed with the stored ones (a file without an event column is
    /// refused), and `POST /v1/interactions` takes an "event" per row. Refused with
    /// --rating-col, and into a data directory of explicit ratings.
    #[arg(long, value_name = "KIND=W,...", conflicts_with = "rating_scale")]
    pub event_weights: Option<kgrec::interactions::EventWeights>,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// How the rows of an interaction file are read (`import interactions`, `eval`).
#[derive(Clone, Debug, Args)]
pub struct ReadArgs {
    /// Keep only rows whose rating is at least R (rows without a rating are kept).
    #[arg(long, value_name = "R", allow_negative_numbers = true, value_parser = parse_rating_threshold)]
    pub min_rating: Option<f32>,
    /// tsv/csv/recbole: the user column, by header name or 1-based position.
    #[arg(long, value_name = "NAME|N")]
    pub user_col: Option<ColumnRef>,
    /// tsv/csv/recbole: the item column, by header name or 1-based position.
    #[arg(long, value_name = "NAME|N")]
    pub item_col: Option<ColumnRef>,
    /// tsv/csv/recbole: the rating column, by header name or 1-based position.
    #[arg(long, value_name = "NAME|N")]
    pub rating_col: Option<ColumnRef>,
    /// tsv/csv/recbole: the time column (seconds or milliseconds since the epoch, see
    /// --time-unit, or ISO 8601), by header name or 1-based position.
    #[arg(long, value_name = "NAME|N")]
    pub time_col: Option<ColumnRef>,
    /// tsv/csv: the field delimiter (`,` `;` `|` `tab`, ...) [default: detected from the header].
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<Delimiter>,
    /// tsv/csv: the file has no header line; columns go by position (user 1 and item 2 unless
    /// --user-col N and --item-col N say otherwise; a rating or time only with --rating-col N,
    /// --time-col N).
    #[arg(long)]
    pub no_header: bool,
    /// tsv/csv: read rows with more fields than the header (or the first line) by their first
    /// fields, with a note [default: such a row is an error: a field holding the delimiter
    /// unquoted would otherwise split one value into two].
    #[arg(long)]
    pub ignore_extra_fields: bool,
    /// The ratings' scale, MIN:MAX (e.g. 1:5): a rating outside it is an error naming its file
    /// and line; stored by `import interactions`, so later imports are checked against it, and
    /// predicted ratings are clipped to it [default: inferred from the ratings, see `stats`].
    #[arg(long, value_name = "MIN:MAX")]
    pub rating_scale: Option<kgrec::interactions::RatingScale>,
    /// The unit of numeric timestamps: s (seconds since 1970), ms (milliseconds, converted), or
    /// auto: milliseconds when every timestamp is 10^11 or more (after the year 5138 as
    /// seconds), and a file mixing both is refused. kgrec stores seconds, so a store never
    /// compares milliseconds with seconds; ISO 8601 dates are dates whatever the unit.
    #[arg(long, value_name = "auto|s|ms", default_value_t = kgrec::interactions::TimeUnit::Auto)]
    pub time_unit: kgrec::interactions::TimeUnit,
}

impl ReadArgs {
    /// The column map these flags give.
    pub fn columns(&self) -> kgrec::interactions::ColumnMap {
        kgrec::interactions::ColumnMap {
            user: self.user_col.clone(),
            item: self.item_col.clone(),
            rating: self.rating_col.clone(),
            time: self.time_col.clone(),
            headerless: self.no_header,
            extra_fields_ignored: self.ignore_extra_fields,
            event: None,
            events: false,
        }
    }
}

#[derive(Debug, Args)]
pub struct ImportLinksArgs {
    /// The link file: `item_id<TAB>iri` with a header, or split by `,` `;` `|` (`-`: standard
    /// input; gzip recognised). With --retire or --restore: a list of item ids, one per line
    /// (a first line `item_id`, `sku`, ... is a header).
    pub file: PathBuf,
    /// The item column, by header name or 1-based position [default: found by its name, or
    /// the one column beside the IRI's].
    #[arg(long, value_name = "NAME|N")]
    pub item_col: Option<ColumnRef>,
    /// The IRI column, by header name or 1-based position [default: found by its name: iri,
    /// uri, url, entity, ...].
    #[arg(long, value_name = "NAME|N")]
    pub iri_col: Option<ColumnRef>,
    /// FILE lists items the catalogue no longer offers (sold, withdrawn): they are never
    /// recommended nor listed as similar from now on, without retraining; their interactions
    /// and links stay. All or nothing: an id the data directory does not hold refuses the list.
    #[arg(long, conflicts_with_all = ["restore", "item_col", "iri_col"])]
    pub retire: bool,
    /// FILE lists retired items to offer again (the reverse of --retire).
    #[arg(long, conflicts_with_all = ["item_col", "iri_col"])]
    pub restore: bool,
}

/// `--model`'s values: the registry's learners with their help and aliases.
fn learner_names() -> PossibleValuesParser {
    PossibleValuesParser::new(
        LEARNERS
            .iter()
            .map(|l| PossibleValue::new(l.name).help(l.about).aliases(l.aliases)),
    )
}

/// The model and its hyper-parameters; unset values take the tuned defaults of `docs/cf-notes.md`.
#[derive(Clone, Debug, Args)]
pub struct FitArgs {
    /// The learner [default: cke; for `train`, the learner `kgrec tune` found best when the
    /// data directory was tuned].
    #[arg(long, value_parser = learner_names())]
    pub model: Option<String>,
    /// Latent dimension [default: als and cke 16, bpr and ncf 64, svd 50, svdpp 20 up to
    /// MovieLens-100K's 1,682 items with interactions, above it that × (items / 1682)^0.75, at
    /// most 128 (`train` says so); transe, rotate, transr as `kge train --help` says].
    #[arg(long)]
    pub dim: Option<usize>,
    /// Epochs (ALS iterations) [default: als and cke 15, bpr 300, svd 40, svdpp 20; transe,
    /// rotate, transr as `kge train --help` says].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Random seed of the fit [default: 0] (pop, ease, itemknn and userknn have no randomness and refuse it).
    #[arg(long)]
    pub seed: Option<u64>,
    /// L2 regularisation [default: als 30, bpr 0.02, svd and svdpp 0.1 (factors and biases)]; ease, kg-ease: λ [default: 55 × the
    /// square root of the mean number of interactions of an item, see --reg-scale].
    #[arg(long, allow_negative_numbers = true)]
    pub reg: Option<f32>,
    /// ALS confidence slope in c = 1 + alpha·r [default: 4].
    #[arg(long, allow_negative_numbers = true)]
    pub alpha: Option<f32>,
    /// als, cke: what r in c = 1 + alpha·r is: binary (1 for every interaction), rating (the
    /// stored rating as a share of the rating scale's top, r/5 on 1-5; 1 where none is stored)
    /// or count (log2(1 + times seen): a pair's rows in a file add up, and a later import or
    /// post adds its rows timestamped after the pair's stored timestamp; rows without a
    /// timestamp raise it only to their own count). Data with one rating value or none weighs
    /// as binary [default: rating].
    #[arg(long, value_name = "VALUES", value_parser = ["binary", "rating", "count"])]
    pub confidence: Option<String>,
    /// BPR learning rate [default: 0.02]; svd, svdpp: SGD step [default: svd 0.01, svdpp 0.007];
    /// transe/rotate/transr: Adam learning rate (see `kge train --help`).
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f32>,
    /// cke: weight of the pull of a linked item's vector towards its entity's embedding
    /// (0 with --neighbour-weight 0 turns the graph's terms off: ALS, with new linked items
    /// still placed by --cold-neighbours) [default: 10]; kg-ease: weight α of
    /// the graph's feature rows (0: plain EASE) [default: chosen on validation rows carved from
    /// the training data among 0, 0.1, 0.25, 0.45, 0.7 and 1]; svd, svdpp: weight of the pull
    /// of a linked item's vector and bias towards its nearest rated items in the graph (0: off)
    /// [default: svd 3, svdpp 10].
    #[arg(long, allow_negative_numbers = true)]
    pub kg_weight: Option<f32>,
    /// cke: weight of the pull of a linked item's vector towards where its nearest items in the
    /// graph sit (0: none) [default: 10].
    #[arg(long, allow_negative_numbers = true)]
    pub neighbour_weight: Option<f32>,
    /// ncf: the scoring head: dot (p·q + b, the default), gmf (a learnt weight per dimension of
    /// p ⊙ q), mlp (an MLP over the user, item and graph vectors) or neumf (gmf and mlp side by
    /// side).
    #[arg(long, value_parser = ["dot", "gmf", "mlp", "neumf"])]
    pub head: Option<String>,
    /// cke: how an item's graph neighbourhood enters the score: none (default), uniform or
    /// learned.
    #[arg(long)]
    pub attention: Option<String>,
    /// cke: give a linked item nobody has interacted with its entity's embedding times this
    /// instead of the default, a place among the items most like it in the graph (see
    /// --cold-neighbours). The embedding is trained by the graph's terms: with --kg-weight 0
    /// --neighbour-weight 0 such items stay unranked.
    #[arg(long, allow_negative_numbers = true)]
    pub cold_scale: Option<f32>,
    /// cke: a linked item nobody has interacted with is placed where this many of the items
    /// with interactions that share the most graph neighbours with it sit [default: 5]; also
    /// with --kg-weight 0 --neighbour-weight 0 (the rule needs the graph and the fitted items,
    /// not the graph's training terms).
    #[arg(long)]
    pub cold_neighbours: Option<usize>,
    /// ease, kg-ease: λ as this multiple of the square root of the mean number of interactions
    /// of an item [default: 55]; --reg sets λ itself instead.
    #[arg(long)]
    pub reg_scale: Option<f32>,
    /// kg-ease: a graph feature's weight is --kg-weight × idf^p, idf = ln(described items /
    /// items sharing the feature) [default: 0.5].
    #[arg(long, value_name = "P")]
    pub idf_power: Option<f32>,
    /// kg-ease: how a linked item nobody has interacted with is scored: off (its graph rows
    /// alone), mean (the mean of the weights of the 5 items with interactions most like it in
    /// the graph), restored (that mean at their strength: new items rank among the items they
    /// resemble), halfway (between the two), or auto (the default: chosen on validation rows
    /// that hold out whole as many items as the catalogue's items without interactions hold new
    /// ones, beyond what rarity explains; none on a catalogue whose such items are merely rare).
    #[arg(long, value_name = "RULE")]
    pub cold_placement: Option<String>,
    /// ease, kg-ease: fit the sparse approximation, keeping N weights per item (each item
    /// regressed on its N most co-occurring items) [default: the exact dense form up to 10,000
    /// items, 256 above]; itemknn, userknn: the neighbours each item (user) keeps [default:
    /// itemknn 300, userknn 100]; svd, svdpp: the nearest rated items in the graph of the
    /// graph prior [default: 10].
    #[arg(long, value_name = "N")]
    pub neighbours: Option<usize>,
    /// kg-ease: also stack two-hop graph features (relation, relation, entity reached through a
    /// middle entity of at most 50 edges), weighing this times a one-hop feature's weight
    /// [default: 0, none].
    #[arg(long, value_name = "BETA")]
    pub two_hop: Option<f32>,
    /// kg-ease: scale each relation type's feature rows by (mean total / its total)^Q, a type's
    /// total being its squared weights times items summed: 1 gives every relation the same total
    /// weight [default: 0, weights as they are].
    #[arg(long, value_name = "Q")]
    pub relation_balance: Option<f32>,
    /// kg-ease: pull B towards GAMMA times each item's cosine with its 20 most similar items in
    /// the graph (weighted features), with the strength λ of the ridge [default: 0, none].
    #[arg(long, value_name = "GAMMA")]
    pub graph_prior: Option<f32>,
    /// kg-ease: stack the words of each linked item's own text literals (labels, abstracts;
    /// stop words of the literal's language dropped) as feature rows weighing TAU times a graph
    /// fact of the same idf; 0: none, no text read [default: 0.5].
    #[arg(long, value_name = "TAU")]
    pub text_weight: Option<f32>,
    /// itemknn, userknn: how two items (users) are compared: cosine, jaccard or bm25 [default:
    /// bm25].
    #[arg(long, value_name = "KERNEL")]
    pub similarity: Option<String>,
    /// itemknn, userknn: a similarity supported by c shared users (items) is multiplied by
    /// c / (c + S) [default: itemknn 25, userknn 0].
    #[arg(long, value_name = "S")]
    pub shrink: Option<f32>,
}

impl FitArgs {
    /// The learner with the knobs given; a knob or a `--seed` the learner does not use is
    /// refused.
    pub fn spec(&self) -> kgrec::Result<kgrec::ModelSpec> {
        let model = self.model.as_deref().unwrap_or("cke");
        let spec = kgrec::ModelSpec::new(model, &self.overrides())?;
        self.check_seed(spec.kind())?;
        Ok(spec)
    }

    /// `--seed` is refused for a learner without randomness.
    pub fn check_seed(&self, kind: kgrec::ModelKind) -> kgrec::Result<()> {
        match self.seed.is_some() && !kind.uses_seed() {
            true => Err(kgrec::Error::BadInput(format!(
                "--seed does not apply to --model {}: its fit has no randomness (the same data \
                 gives the same model)",
                kind.name()
            ))),
            false => Ok(()),
        }
    }

    /// The seed of the fit.
    pub fn seed(&self) -> u64 {
        self.seed.unwrap_or(0)
    }

    /// The knobs given, for the model registry.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            dim: self.dim,
            epochs: self.epochs,
            reg: self.reg,
            alpha: self.alpha,
            confidence: self.confidence.clone(),
            lr: self.lr,
            kg_weight: self.kg_weight,
            neighbour_weight: self.neighbour_weight,
            attention: self.attention.clone(),
            cold_scale: self.cold_scale,
            cold_neighbours: self.cold_neighbours,
            reg_scale: self.reg_scale,
            idf_power: self.idf_power,
            cold_placement: self.cold_placement.clone(),
            neighbours: self.neighbours,
            two_hop: self.two_hop,
            relation_balance: self.relation_balance,
            graph_prior: self.graph_prior,
            text_weight: self.text_weight,
            similarity: self.similarity.clone(),
            shrink: self.shrink,
            head: self.head.clone(),
            // Graph-embedding knobs: `kge train` has its own flags (`KgeFitArgs`).
            negatives: None,
            gamma: None,
            margin: None,
            patience: None,
        }
    }
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub fit: FitArgs,
    /// How many model versions of the new one's kind to keep, the new one included:
    /// recommenders and graph embeddings (transe, rotate, transr) are kept and pruned apart;
    /// the versions pruned are named on stderr.
    #[arg(long, default_value_t = 3)]
    pub keep: usize,
    /// Train with the learner's defaults even when `kgrec tune` chose hyper-parameters for it
    /// (flags given are laid over the tuned ones otherwise).
    #[arg(long)]
    pub untuned: bool,
    #[command(flatten)]
    pub ann: AnnArgs,
}

/// The approximate top-K index a training builds for a dot-product model (als, bpr, svd).
#[derive(Debug, Args)]
pub struct AnnArgs {
    /// Build an HNSW index for approximate top-K, stored with the model version: `auto` when
    /// the catalogue has more items than --ann-threshold, `on` always, `off` never (exact
    /// top-K). Recommendations then rescore the index's candidates exactly and fall back to
    /// exact scoring when too few survive the user's items, exclusions and filters.
    #[arg(long, value_enum, default_value_t = AnnArg::Auto)]
    pub ann: AnnArg,
    /// Item count above which `--ann auto` builds the index.
    #[arg(long, default_value_t = kgrec::cf::ann::DEFAULT_THRESHOLD, value_name = "ITEMS")]
    pub ann_threshold: usize,
    /// The first number of candidates per request (HNSW's ef) tried when the index is
    /// calibrated: ef is doubled from here until recall@10 against exact scoring, on 200 sampled
    /// users, reaches --ann-recall.
    #[arg(long, default_value_t = kgrec::cf::ann::DEFAULT_EF_START, value_name = "N")]
    pub ann_ef: usize,
    /// The largest ef tried; when the recall is still short of --ann-recall there, no index is
    /// kept and top-K stays exact.
    #[arg(long, default_value_t = kgrec::cf::ann::DEFAULT_EF_MAX, value_name = "N")]
    pub ann_ef_max: usize,
    /// The recall@10 against exact scoring the index must reach to be used.
    #[arg(long, default_value_t = kgrec::cf::ann::DEFAULT_TARGET_RECALL, value_name = "R")]
    pub ann_recall: f64,
    /// Candidates kept per insertion while building (HNSW's efConstruction).
    #[arg(long, default_value_t = kgrec::cf::ann::AnnParams::default().ef_construction, value_name = "N")]
    pub ann_ef_construction: usize,
    /// Links per point and layer (HNSW's M, 2 to 256).
    #[arg(long, default_value_t = kgrec::cf::ann::AnnParams::default().connections, value_name = "M")]
    pub ann_m: usize,
    /// The space the graph is built in: `augmented`, cosine after norm augmentation, or `ip`,
    /// inner product directly (ip-NSW; measured no better, see docs/scale.md).
    #[arg(long, value_enum, default_value_t = AnnMetricArg::Augmented)]
    pub ann_metric: AnnMetricArg,
    /// Norm bands, one graph each (norm-range partitioning): the items, sorted by the norm of
    /// their factors and bias, are cut into N bands of equal size, each augmented with its own
    /// largest norm, built in parallel and searched by descending norm (a band that cannot
    /// beat the k-th best so far is skipped). `auto`: 1 up to 50,000 items, else one band per
    /// 25,000 items, each also cut where its norms would span more than 2x (docs/scale.md).
    #[arg(long, default_value_t = kgrec::cf::ann::AnnBands::Auto, value_name = "N|auto")]
    pub ann_bands: kgrec::cf::ann::AnnBands,
}

impl AnnArgs {
    pub fn settings(&self) -> kgrec::cf::ann::AnnSettings {
        kgrec::cf::ann::AnnSettings {
            mode: match self.ann {
                AnnArg::Auto => kgrec::cf::ann::AnnMode::Auto,
                AnnArg::On => kgrec::cf::ann::AnnMode::On,
                AnnArg::Off => kgrec::cf::ann::AnnMode::Off,
            },
            threshold: self.ann_threshold,
            ef_search: self.ann_ef,
            ef_max: self.ann_ef_max,
            target_recall: self.ann_recall,
            ef_construction: self.ann_ef_construction,
            connections: self.ann_m,
            metric: match self.ann_metric {
                AnnMetricArg::Ip => kgrec::cf::ann::AnnMetric::Ip,
                AnnMetricArg::Augmented => kgrec::cf::ann::AnnMetric::Augmented,
            },
            bands: self.ann_bands,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AnnMetricArg {
    Augmented,
    Ip,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AnnArg {
    Auto,
    On,
    Off,
}

#[derive(Debug, Args)]
pub struct TuneArgs {
    /// The learners to tune, comma-separated [default: als and ease, and cke and kg-ease when
    /// items are linked to a graph].
    #[arg(long, value_delimiter = ',')]
    pub models: Vec<String>,
    /// Wall time for the whole search, shared evenly by the learners: `90s`, `10m`, `1h`, or
    /// seconds.
    #[arg(long, default_value = "10m", value_parser = parse_budget)]
    pub budget: std::time::Duration,
    /// At most this many draws per learner, besides its defaults [default: as many as the
    /// budget allows].
    #[arg(long)]
    pub trials: Option<usize>,
    /// The validation metric to maximise (NAME@K: ndcg, recall, precision, map, hit, mrr).
    #[arg(long, default_value = "ndcg@10")]
    pub metric: String,
    /// Seed of the validation carving, the draws and the fits.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// How validation rows are carved from each user's items: `random` (a share of them) or
    /// `time` (their latest; every interaction needs a timestamp).
    #[arg(long, value_enum, default_value_t = SplitArg::Random)]
    pub split: SplitArg,
    /// The share of each user's items held out for validation (users with 5 items or more).
    #[arg(long, default_value_t = 0.2)]
    pub holdout: f64,
    /// `refine`: random draws, then mostly draws near the five best so far, each fitted in
    /// full; `random`: random draws, each fitted in full; `halving`: successive halving on
    /// epochs (many draws fitted briefly, the best third longer) for learners with epochs,
    /// random draws for the others.
    #[arg(long, value_enum, default_value_t = SearchArg::Refine)]
    pub search: SearchArg,
    /// What the choice aims at: `auto` (the catalogue as it is: a share of every user's items,
    /// and linked items held out whole as far as its items without interactions look new) or
    /// `cold` (new items: linked items held out whole, and only their rows scored).
    #[arg(long, value_enum, default_value_t = TargetArg::Auto)]
    pub target: TargetArg,
    /// Store what was found without training the best learner afterwards.
    #[arg(long)]
    pub no_train: bool,
    /// Model versions to keep when the best learner is trained (as `train --keep`).
    #[arg(long, default_value_t = 3, conflicts_with = "no_train")]
    pub keep: usize,
    #[arg(long, value_enum, default_value_t)]
    pub format: TextOrJson,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SplitArg {
    Random,
    Time,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    Auto,
    Cold,
}

impl From<TargetArg> for kgrec::tune::Target {
    fn from(t: TargetArg) -> Self {
        match t {
            TargetArg::Auto => Self::Auto,
            TargetArg::Cold => Self::Cold,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SearchArg {
    Halving,
    Random,
    Refine,
}

impl From<SearchArg> for kgrec::tune::Search {
    fn from(s: SearchArg) -> Self {
        match s {
            SearchArg::Halving => Self::Halving,
            SearchArg::Random => Self::Random,
            SearchArg::Refine => Self::Refine,
        }
    }
}

/// `90s`, `10m`, `1h`, `1h30m` or plain seconds.
fn parse_budget(text: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("{text:?}: expected a duration such as 90s, 10m, 1h or 1h30m");
    let zero = || {
        format!(
            "{text:?}: the budget must be positive (a tuning needs time to try anything), such \
             as 90s, 10m, 1h or 1h30m"
        )
    };
    if let Ok(seconds) = text.trim().parse::<f64>() {
        return match seconds.is_finite() {
            false => Err(bad()),
            true if seconds <= 0.0 => Err(zero()),
            true => Ok(std::time::Duration::from_secs_f64(seconds)),
        };
    }
    let mut total = 0.0f64;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            _ => return Err(bad()),
        };
        let n: f64 = number.parse().map_err(|_| bad())?;
        total += n * unit;
        number.clear();
    }
    if !number.is_empty() || text.trim().is_empty() {
        return Err(bad());
    }
    if total <= 0.0 {
        return Err(zero());
    }
    Ok(std::time::Duration::from_secs_f64(total))
}

#[derive(Debug, Args)]
pub struct RecommendArgs {
    /// The user's id, as in the interaction file.
    #[arg(
        long,
        required_unless_present = "all_users",
        conflicts_with = "all_users",
        value_parser = parse_id
    )]
    pub user: Option<String>,
    /// Every user of the data directory, into the batch file `--out`.
    #[arg(long, requires = "out")]
    pub all_users: bool,
    /// How many items per user [default: 10, with --all-users 20].
    #[arg(short = 'k', allow_negative_numbers = true, value_parser = item_count)]
    pub k: Option<usize>,
    /// One user's list as text or JSON [default: text].
    #[arg(long, value_enum)]
    pub format: Option<TextOrJson>,
    /// The batch file of --all-users (`user_id<TAB>item_id<TAB>rank<TAB>score`; with --explain
    /// one explanation JSON per user and line); `-` is standard output, a name ending in .gz
    /// is gzip-compressed. An existing file that is not a kgrec output of the same kind is not
    /// replaced without --force; a path inside any kgrec data directory is refused.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace the --out file even when it holds something other than a kgrec output of the
    /// same kind (never a file inside a data directory).
    #[arg(long, requires = "out")]
    pub force: bool,
    /// Explain every item: score parts and relation paths from the user's history.
    #[arg(long)]
    pub explain: bool,
    #[command(flatten)]
    pub paths: PathArgs,
    /// Items never to recommend to this user (with --all-users: to any user): comma-separated
    /// ids (an id holding a comma in double quotes: 'a,"b,c"'), or @FILE with one id per line;
    /// repeatable. Items the catalogue no longer offers are better retired once (`kgrec import
    /// links --retire FILE`): every list skips them.
    #[arg(long, value_name = "IDS|@FILE")]
    pub exclude: Vec<String>,
    /// Only items whose linked entity has this graph fact: PREDICATE=VALUE, any of several
    /// values as PREDICATE=VALUE|VALUE; repeat the flag for facts that must all hold. Terms are
    /// IRIs in <...>, prefixed names (rdf, rdfs, owl, xsd, skos, dct, dcterms, dc, foaf,
    /// schema, dbo, dbr, dbc, dbp, wd, wdt), literals in quotes ("1995"^^xsd:gYear,
    /// "Drama"@en) or tokens of a TSV graph. Example: --filter
    /// 'dct:subject=dbc:1990s_comedy_films' --filter 'rdf:type=dbo:Film'. With --all-users
    /// every user's list is filtered.
    #[arg(long, value_name = "PREDICATE=VALUE")]
    pub filter: Vec<String>,
    /// Serve this stored model version instead of the current one (see `stats`).
    #[arg(long, value_name = "V", value_parser = parse_version)]
    pub model_version: Option<u64>,
}

/// How explanations search for paths.
#[derive(Clone, Copy, Debug, Args)]
pub struct PathArgs {
    /// Relation paths per item [default: 3].
    #[arg(long = "paths", value_name = "N")]
    pub paths: Option<usize>,
    /// Graph hops per path after the user's own item, 1 to 3 [default: 3].
    #[arg(long, value_name = "H")]
    pub hops: Option<usize>,
    /// How long the path search may take, in milliseconds; when it runs out, the paths found
    /// by then are shown and the explanation says it was cut short ("truncated": true)
    /// [default: no limit].
    #[arg(long, value_name = "MS")]
    pub explain_timeout_ms: Option<u64>,
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
    #[arg(long, value_parser = parse_id)]
    pub user: String,
    /// The item's id, as in the interaction file.
    #[arg(long, value_parser = parse_id)]
    pub item: String,
    #[arg(long, value_enum, default_value_t)]
    pub format: ExplainFormat,
    #[command(flatten)]
    pub paths: PathArgs,
    /// Explain with this stored model version instead of the current one.
    #[arg(long, value_name = "V", value_parser = parse_version)]
    pub model_version: Option<u64>,
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
    #[arg(
        short = 'k',
        value_delimiter = ',',
        default_value = "10,20",
        allow_negative_numbers = true,
        value_parser = item_count
    )]
    pub k: Vec<usize>,
    #[command(flatten)]
    pub fit: FitArgs,
    /// The interaction format of both files, overriding their extensions.
    #[arg(long)]
    pub input_format: Option<String>,
    #[command(flatten)]
    pub read: ReadArgs,
    /// Knowledge-graph files to import into the temporary data directory (for `--link`).
    #[arg(long, num_args = 1..)]
    pub kg: Vec<PathBuf>,
    /// A link file tying the training items to entities of `--kg`.
    #[arg(long)]
    pub link: Option<PathBuf>,
    /// --link: the link file's item column, by header name or 1-based position [default: found
    /// by its name, or the one column beside the IRI's] (as `import interactions`).
    #[arg(long, value_name = "NAME|N", requires = "link")]
    pub link_item_col: Option<ColumnRef>,
    /// --link: the link file's IRI column, by header name or 1-based position [default: found by
    /// its name: iri, uri, url, entity, ...] (as `import interactions`).
    #[arg(long, value_name = "NAME|N", requires = "link")]
    pub link_iri_col: Option<ColumnRef>,
    /// Tune for this long on validation rows carved from the training file (as `kgrec tune`;
    /// --model: that learner only, else the learners `tune` tries), then train the choice on
    /// the whole training file and score it on the test file: `90s`, `10m`, `1h`.
    #[arg(long, value_name = "BUDGET", value_parser = parse_budget)]
    pub tune: Option<std::time::Duration>,
    /// --tune: what the choice aims at (as `kgrec tune --target`): `auto`, or `cold` when the
    /// model is meant for items new to the catalogue.
    #[arg(long, value_enum, default_value_t = TargetArg::Auto, requires = "tune")]
    pub target: TargetArg,
    /// What to score: `ranking` (top-K lists against the test positives) or `rating` (RMSE and
    /// MAE of the predicted ratings against the test file's ratings; svd, svdpp).
    #[arg(long, value_enum, default_value_t)]
    pub task: TaskName,
    #[arg(long, value_enum, default_value_t)]
    pub format: TextOrJson,
}

/// `eval --task`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum TaskName {
    /// Top-K lists: precision, recall, nDCG, MAP, hit rate, MRR, coverage.
    #[default]
    Ranking,
    /// Predicted ratings: RMSE and MAE.
    Rating,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["files", "endpoint"])))]
pub struct ImportKgArgs {
    /// Files to import; all or nothing. `-` reads standard input (name its syntax with
    /// --format; gzip is recognised by its magic bytes).
    #[arg(conflicts_with = "endpoint")]
    pub files: Vec<PathBuf>,
    /// Fetch the graph around the linked items from this SPARQL 1.1 endpoint instead of files
    /// (CONSTRUCT queries over batches of items, retried with backoff, split when an answer
    /// reaches the endpoint's row cap; resumable: what was fetched is kept in --checkpoint
    /// until the import succeeds, and the same command continues it).
    #[arg(long, value_name = "URL", requires = "around")]
    pub endpoint: Option<String>,
    /// --endpoint: the link file (item, IRI) whose IRIs to start from.
    #[arg(long, value_name = "LINKS", requires = "endpoint")]
    pub around: Option<PathBuf>,
    /// --endpoint: hops out from the linked entities: 1 or 2 (the second hop does not expand
    /// classes reached by rdf:type).
    #[arg(long, default_value_t = 1, requires = "endpoint")]
    pub hops: u8,
    /// --endpoint: also the triples pointing at an entity, not only those from it.
    #[arg(long, requires = "endpoint")]
    pub both_directions: bool,
    /// --endpoint: follow only the predicates listed in FILE (one IRI per line, `#` comments).
    #[arg(
        long,
        value_name = "FILE",
        requires = "endpoint",
        conflicts_with = "exclude_predicates"
    )]
    pub predicates: Option<PathBuf>,
    /// --endpoint: follow every predicate but those listed in FILE.
    #[arg(long, value_name = "FILE", requires = "endpoint")]
    pub exclude_predicates: Option<PathBuf>,
    /// --endpoint: which literal objects to keep: none, labels (rdfs:label, skos:prefLabel,
    /// schema:name, foaf:name) or all.
    #[arg(long, value_enum, default_value_t = LiteralsArg::Labels, requires = "endpoint")]
    pub literals: LiteralsArg,
    /// --endpoint: IRIs per query.
    #[arg(long, default_value_t = 50, requires = "endpoint")]
    pub batch: usize,
    /// --endpoint: an answer this long is taken as cut at the endpoint's row cap (when it does
    /// not send X-SPARQL-MaxRows): the batch is split, a single item paged.
    #[arg(long, default_value_t = 10_000, requires = "endpoint")]
    pub max_rows: usize,
    /// --endpoint: seconds allowed per request.
    #[arg(long, default_value_t = 60, requires = "endpoint")]
    pub timeout: u64,
    /// --endpoint: retries of a request after a 429, a 5xx, a timeout or a refused connection
    /// (exponential backoff from 0.5 s; a Retry-After in seconds is honoured).
    #[arg(long, default_value_t = 5, requires = "endpoint")]
    pub retries: u32,
    /// --endpoint: the least milliseconds between two requests (politeness).
    #[arg(long, default_value_t = 250, requires = "endpoint")]
    pub interval_ms: u64,
    /// --endpoint: a header sent with every request, `NAME: VALUE` (repeatable): credentials
    /// such as `Authorization: Bearer KEY` or `X-API-Key: KEY`. Also from the environment
    /// variable KGREC_ENDPOINT_HEADER (one header), which keeps a key out of the process list.
    #[arg(
        long,
        value_name = "NAME: VALUE",
        requires = "endpoint",
        env = "KGREC_ENDPOINT_HEADER",
        hide_env_values = true,
        value_parser = endpoint_header
    )]
    pub endpoint_header: Vec<(String, String)>,
    /// --endpoint: the checkpoint folder [default: the data directory's path + `.fetch`].
    #[arg(long, value_name = "DIR", requires = "endpoint")]
    pub checkpoint: Option<PathBuf>,
    /// The syntax, overriding the file extension: nt, ttl, nq, trig, rdf (RDF/XML; also xml,
    /// owl), tsv (also txt, kg).
    #[arg(long)]
    pub format: Option<String>,
    /// Base IRI for relative IRIs, and the prefix of TSV tokens (default `urn:kgrec:`).
    #[arg(long)]
    pub base: Option<String>,
    /// Skip statements that do not parse instead of failing; report how many, and the first 5
    /// as FILE:LINE:COL with the lines skipped. Turtle and TriG are cut into statements first, so
    /// a bad statement costs only itself (a long string never closed takes the rest of the file,
    /// and the warning says so).
    #[arg(long)]
    pub lenient: bool,
}

/// `import kg --literals`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LiteralsArg {
    None,
    Labels,
    All,
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
#[command(group(clap::ArgGroup::new("the_query").required(true).args(["query", "file"])))]
pub struct SparqlArgs {
    /// The query text (or --file FILE).
    pub query: Option<String>,
    /// Read the query from a file.
    #[arg(long)]
    pub file: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: SparqlFormat,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// A fixtures folder (movies.ttl, interactions.tsv, links.tsv) instead of the ones built
    /// into the binary.
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
}

/// A model version as `stats` prints it (`v3`) or as a number (`3`).
/// `IP:PORT`, or `HOST:PORT` with a name the system resolves (`localhost:7878`); of a name's
/// addresses the first IPv4 one.
fn parse_addr(text: &str) -> std::result::Result<std::net::SocketAddr, String> {
    use std::net::ToSocketAddrs;
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    let addrs: Vec<std::net::SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| format!("{text:?}: expected HOST:PORT, as 127.0.0.1:7878 ({e})"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("{text:?}: the name resolves to no address"))
}

/// `--min-rating R`: a finite number; a decimal comma (`3,5`) is said with the way out.
fn parse_rating_threshold(text: &str) -> std::result::Result<f32, String> {
    match text.trim().parse::<f32>() {
        Ok(r) if r.is_finite() => Ok(r),
        _ => Err(format!(
            "{text:?} is not a number{}",
            match kgrec::interactions::decimal_comma_hint(text) {
                hint if hint.is_empty() => String::new(),
                hint => hint
                    .split(" (e.g.")
                    .next()
                    .unwrap_or(&hint)
                    .replace("write it", "write --min-rating"),
            }
        )),
    }
}

/// A user or item id given on the command line: never empty nor white space only, as no import
/// stores such an id (HTTP answers 400 to one).
pub(crate) fn parse_id(text: &str) -> std::result::Result<String, String> {
    if text.trim().is_empty() {
        let what = match text.is_empty() {
            true => "empty",
            false => "white space only",
        };
        return Err(format!(
            "the id is {what}: no import stores such an id; give the id as in the interaction \
             file (a list such as --exclude a,b takes no empty entry)"
        ));
    }
    Ok(text.to_owned())
}

fn parse_version(text: &str) -> std::result::Result<u64, String> {
    let digits = text.strip_prefix(['v', 'V']).unwrap_or(text);
    digits
        .parse::<u64>()
        .map_err(|_| format!("{text:?}: expected a version such as 3 or v3 (see `kgrec stats`)"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn a_decimal_comma_in_min_rating_is_said() {
        assert_eq!(parse_rating_threshold("3.5"), Ok(3.5));
        let err = parse_rating_threshold("3,5").unwrap_err();
        assert!(
            err.contains("decimal comma") && err.contains("--min-rating 3.5"),
            "{err}"
        );
        assert!(!parse_rating_threshold("x").unwrap_err().contains("comma"));
        assert!(parse_rating_threshold("NaN").is_err());
    }

    #[test]
    fn serve_addresses_take_a_host_name() {
        assert_eq!(
            parse_addr("localhost:18138").unwrap(),
            "127.0.0.1:18138".parse::<std::net::SocketAddr>().unwrap()
        );
        assert_eq!(parse_addr("[::1]:80").unwrap().port(), 80);
        assert!(parse_addr("localhost").unwrap_err().contains("HOST:PORT"));
    }

    /// Words of a shell command line: whitespace-separated, with '...' and "..." quoting.
    fn shell_words(line: &str) -> Vec<String> {
        let (mut words, mut word, mut quote, mut any) = (Vec::new(), String::new(), None, false);
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word.push(c),
                (None, '\'' | '"') => {
                    quote = Some(c);
                    any = true;
                }
                (None, c) if c.is_whitespace() => {
                    if any || !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                        any = false;
                    }
                }
                (None, c) => word.push(c),
            }
        }
        if any || !word.is_empty() {
            words.push(word);
        }
        words
    }

    /// Every `kgrec ...` (and `cargo run --release -- ...`) command in the README's code blocks
    /// parses with today's arguments: the docs cannot drift from the flags.
    #[test]
    fn every_command_in_the_readme_parses() {
        let readme = include_str!("../../README.md");
        let mut commands = Vec::new();
        let mut in_block = false;
        let mut pending = String::new();
        for line in readme.lines() {
            if line.trim_start().starts_with("```") {
                in_block = !in_block;
                continue;
            }
            if !in_block {
                continue;
            }
            let line = line.split(" # ").next().unwrap_or("").trim_end();
            if let Some(head) = line.strip_suffix('\\') {
                pending.push_str(head);
                pending.push(' ');
                continue;
            }
            pending.push_str(line);
            let full = std::mem::take(&mut pending);
            for part in full.split("&&") {
                let part = part.split(" > ").next().unwrap_or("").trim();
                let args = if let Some(rest) = part.strip_prefix("cargo run --release -- ") {
                    format!("kgrec {rest}")
                } else if part.starts_with("kgrec ") {
                    part.to_owned()
                } else {
                    continue;
                };
                commands.push(args);
            }
        }
        assert!(commands.len() >= 10, "{commands:?}");
        for command in commands {
            let words = shell_words(&command);
            if let Err(e) = Cli::try_parse_from(&words) {
                panic!("README: `{command}` does not parse: {e}");
            }
        }
    }

    #[test]
    fn shell_words_keep_quoted_spaces() {
        assert_eq!(
            shell_words("kgrec sparql 'SELECT ?d { }' --format json"),
            ["kgrec", "sparql", "SELECT ?d { }", "--format", "json"]
        );
    }

    #[test]
    fn a_bare_wait_before_the_command_waits_the_default() {
        let words = |line: &str| -> Vec<std::ffi::OsString> {
            line.split(' ').map(std::ffi::OsString::from).collect()
        };
        let parsed = |line: &str| Cli::try_parse_from(with_bare_wait(words(line))).unwrap();
        assert_eq!(parsed("kgrec --wait import kg x.nt").wait, Some(600.0));
        assert_eq!(parsed("kgrec --wait recommend --user 1").wait, Some(600.0));
        assert_eq!(parsed("kgrec --wait 5 stats").wait, Some(5.0));
        assert_eq!(parsed("kgrec stats --wait").wait, Some(600.0));
        assert_eq!(parsed("kgrec stats").wait, None);
    }
}
