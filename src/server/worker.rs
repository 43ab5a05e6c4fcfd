//! SPARQL in worker processes. `kgrec serve` runs every query in a child process of its own
//! binary (`kgrec sparql-worker`, a hidden command) that holds the graph, read-only: its
//! snapshot loaded into memory, or the RocksDB store opened beside the server's. A query that
//! never looks at its cancellation token (oxigraph's hash join builds its table from what it
//! read already, however long that takes) or grows without bound is ended with its process;
//! the server's threads, memory and request answers are never held by one.
//!
//! The protocol, over the child's standard input and output, is one frame per message: a
//! little-endian `u32` length, then the message encoded with bincode. The child answers
//! [`Reply::Ready`] once its graph is loaded, then one [`Reply`] per [`Ask`]. It runs at the
//! lowest priority (`SCHED_IDLE`), with a cap on its data segment
//! (`--sparql-memory-mb` beyond the loaded graph: an allocation past it aborts the process),
//! and cancels a query's token at its time limit, when the server answers 503; the server kills
//! it if the query has not stopped a quarter of a second later. It exits when its input closes or its parent dies.

use axum::http::StatusCode;
use kgrec::kg::Detached;
use kgrec::kg::oxigraph::sparql::CancellationToken;
use kgrec::kg::oxigraph::store::Store;
use kgrec::{Engine, Error};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{Mutex, Semaphore, mpsc};

use super::error::ApiError;
use super::sparql::{evaluate_on, timed_out};

/// How long past its time limit a cancelled query may take to stop before its worker is
/// killed (the client has had its 503 at the limit).
const CANCEL_GRACE: Duration = Duration::from_millis(250);

/// A query for a worker.
#[derive(Debug, Serialize, Deserialize)]
pub struct Ask {
    /// The query text.
    pub query: String,
    /// The `Accept` the results are negotiated against.
    pub accept: Option<String>,
    /// `--sparql-max-rows`.
    pub max_rows: u64,
    /// The time the query has left (`--sparql-timeout-ms` less its wait for a worker).
    pub timeout_ms: u64,
}

/// A worker's message.
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    /// The graph is loaded: queries may come.
    Ready,
    /// The results: their media type and bytes.
    Answer { content_type: String, body: Vec<u8> },
    /// An error answer.
    Refused {
        status: u16,
        code: String,
        message: String,
        retry_after: Option<String>,
    },
}

impl Reply {
    fn refused(error: &ApiError) -> Reply {
        Reply::Refused {
            status: error.status.as_u16(),
            code: error.code.to_owned(),
            message: error.message.clone(),
            retry_after: error
                .header
                .as_ref()
                .filter(|(name, _)| *name == "retry-after")
                .map(|(_, value)| value.clone()),
        }
    }
}

/// The codes a worker's error answers carry, as the server names them.
const CODES: [&str; 7] = [
    "bad_query",
    "read_only",
    "result_too_large",
    "query_timeout",
    "not_acceptable",
    "bad_parameter",
    "internal",
];

fn api_error(status: u16, code: &str, message: String, retry_after: Option<String>) -> ApiError {
    let code = CODES
        .iter()
        .find(|known| **known == code)
        .copied()
        .unwrap_or("sparql_error");
    ApiError {
        header: retry_after.map(|value| ("retry-after", value)),
        ..ApiError::new(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            message,
        )
    }
}

fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, String> {
    let body = bincode::serde::encode_to_vec(message, bincode::config::standard())
        .map_err(|e| format!("cannot encode a SPARQL worker message: {e}"))?;
    let len = u32::try_from(body.len())
        .map_err(|_| format!("a SPARQL worker message of {} bytes", body.len()))?;
    let mut frame = Vec::with_capacity(body.len() + 4);
    frame.extend_from_slice(&len.to_le_bytes());
    frame.extend_from_slice(&body);
    Ok(frame)
}

fn decode<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    bincode::serde::decode_from_slice(body, bincode::config::standard())
        .map(|(message, _)| message)
        .map_err(|e| format!("a SPARQL worker message does not decode: {e}"))
}

// ---- The worker process ----------------------------------------------------------------

/// `kgrec sparql-worker`: loads the graph, says it is ready, answers queries until its input
/// closes.
pub fn worker_main(graph: &Detached, memory_mb: u64) -> kgrec::Result<()> {
    lower_priority();
    exit_with_parent();
    let mut input = std::io::BufReader::new(std::io::stdin().lock());
    let mut output = std::io::stdout().lock();
    let store = match graph.open() {
        Ok(store) => store,
        Err(e) => {
            let error = ApiError::internal(format!("the SPARQL worker cannot open the graph: {e}"));
            return send(&mut output, &Reply::refused(&error));
        }
    };
    if memory_mb > 0 {
        cap_memory(memory_mb);
    }
    send(&mut output, &Reply::Ready)?;
    loop {
        let mut len = [0u8; 4];
        match input.read_exact(&mut len) {
            Ok(()) => {}
            // The server closed our input: it is done with us.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(broken(e)),
        }
        let mut body = vec![0u8; u32::from_le_bytes(len) as usize];
        input.read_exact(&mut body).map_err(broken)?;
        let reply = match decode::<Ask>(&body) {
            Ok(ask) => answer(&store, &ask),
            Err(what) => Reply::refused(&ApiError::internal(what)),
        };
        send(&mut output, &reply)?;
    }
}

fn broken(e: std::io::Error) -> Error {
    Error::Internal {
        what: format!("SPARQL worker: the server's pipe broke: {e}"),
    }
}

fn send(output: &mut impl Write, reply: &Reply) -> kgrec::Result<()> {
    let frame = encode(reply).map_err(|what| Error::Internal { what })?;
    output.write_all(&frame).map_err(broken)?;
    output.flush().map_err(broken)
}

/// Answers one query within its time limit: the token is cancelled at the limit (a query that
/// does not notice is the server's to kill).
fn answer(store: &Store, ask: &Ask) -> Reply {
    let limit = Duration::from_millis(ask.timeout_ms);
    let cancel = CancellationToken::new();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watch = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            if finished.recv_timeout(limit) == Err(RecvTimeoutError::Timeout) {
                cancel.cancel();
            }
        })
    };
    let max_rows = usize::try_from(ask.max_rows).unwrap_or(usize::MAX);
    let result = evaluate_on(
        store,
        &ask.query,
        ask.accept.as_deref(),
        cancel.clone(),
        max_rows,
    );
    drop(done);
    let _ = watch.join();
    match result {
        Ok((content_type, body)) => Reply::Answer {
            content_type: content_type.to_owned(),
            body,
        },
        Err(_) if cancel.is_cancelled() => Reply::refused(&timed_out(limit)),
        Err(error) => Reply::refused(&error),
    }
}

/// `SCHED_IDLE` for this thread and the threads it starts: a query takes what the server's
/// threads leave. (`SCHED_BATCH` at nice 19 was not enough: under the kernel's EEVDF scheduler a
/// running nice-19 task may finish its slice before a woken request thread runs, which tripled
/// the recommendations' p99 during a heavy query; an idle-policy task is preempted at once.)
fn lower_priority() {
    use thread_priority::unix::{
        NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy,
        thread_native_id,
    };
    let lowest = set_thread_priority_and_policy(
        thread_native_id(),
        thread_priority::ThreadPriority::Min,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
    );
    if let Err(e) = lowest {
        crate::cli::warn(&format!(
            "note: the SPARQL worker keeps the normal priority: {e:?}"
        ));
    }
}

/// Ends this process when its parent ends (a query running then would never be read).
fn exit_with_parent() {
    let parent = std::os::unix::process::parent_id();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(250));
            if std::os::unix::process::parent_id() != parent {
                std::process::exit(0);
            }
        }
    });
}

/// Caps the data segment at what the loaded graph takes now plus `memory_mb`: an allocation
/// beyond it fails, and the process aborts.
fn cap_memory(memory_mb: u64) {
    let now_kb = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix("VmData:")?
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
        });
    let Some(now_kb) = now_kb else {
        crate::cli::warn("note: the SPARQL worker's memory is not capped (no /proc/self/status)");
        return;
    };
    let cap = now_kb
        .saturating_mul(1024)
        .saturating_add(memory_mb.saturating_mul(1 << 20));
    if let Err(e) = rlimit::setrlimit(rlimit::Resource::DATA, cap, cap) {
        crate::cli::warn(&format!(
            "note: the SPARQL worker's memory is not capped: {e}"
        ));
    }
}

// ---- The server's side -----------------------------------------------------------------

/// A running worker.
#[derive(Debug)]
struct Worker {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    /// The graph it loaded.
    graph: Detached,
}

impl Worker {
    /// Starts a worker on `graph` and waits until it has loaded it.
    async fn start(graph: &Detached, memory_mb: u64) -> Result<Worker, String> {
        // `/proc/self/exe` is this very binary even if the file was replaced since it started.
        let exe = match std::path::Path::new("/proc/self/exe") {
            path if path.exists() => path.to_owned(),
            _ => std::env::current_exe()
                .map_err(|e| format!("cannot find the kgrec binary to run queries with: {e}"))?,
        };
        let mut command = Command::new(exe);
        command
            .arg0("kgrec")
            .args(["sparql-worker", "--memory-mb", &memory_mb.to_string()]);
        match graph {
            Detached::Empty => {}
            Detached::Snapshot(path) => {
                command.arg("--snapshot").arg(path);
            }
            Detached::RocksDb(path) => {
                command.arg("--rocksdb").arg(path);
            }
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start a SPARQL worker: {e}"))?;
        let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("a SPARQL worker started without its pipes".to_owned());
        };
        let mut worker = Worker {
            child,
            input,
            output: BufReader::new(output),
            graph: graph.clone(),
        };
        match worker.receive().await {
            Ok(Reply::Ready) => Ok(worker),
            Ok(Reply::Refused { message, .. }) => Err(message),
            Ok(Reply::Answer { .. }) => Err("a SPARQL worker answered before a query".to_owned()),
            Err(e) => Err(format!(
                "a SPARQL worker stopped while loading the graph ({}): {e}",
                worker.ended().await
            )),
        }
    }

    async fn receive(&mut self) -> std::io::Result<Reply> {
        let len = self.output.read_u32_le().await?;
        let mut body = vec![0u8; len as usize];
        self.output.read_exact(&mut body).await?;
        decode(&body).map_err(std::io::Error::other)
    }

    /// Sends `ask` and reads the reply; owns the worker meanwhile, so that a caller that stops
    /// waiting can hand the whole exchange on (a half-read reply is never dropped).
    async fn exchange(mut self, ask: Ask) -> (Worker, std::io::Result<Reply>) {
        let reply = async {
            let frame = encode(&ask).map_err(std::io::Error::other)?;
            self.input.write_all(&frame).await?;
            self.input.flush().await?;
            self.receive().await
        }
        .await;
        (self, reply)
    }

    /// Kills the process (if it still runs) and says how it ended.
    async fn ended(&mut self) -> String {
        let _ = self.child.start_kill();
        match self.child.wait().await {
            Ok(status) => status.to_string(),
            Err(e) => format!("unknown: {e}"),
        }
    }
}

/// How a worker that stopped mid-query ended, as the answer to that query.
fn stopped(status: Option<std::process::ExitStatus>, memory_mb: u64) -> ApiError {
    use std::os::unix::process::ExitStatusExt;
    match status {
        // An allocation past the cap aborts; the kernel's out-of-memory killer kills.
        Some(status) if matches!(status.signal(), Some(6 | 9)) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "query_out_of_memory",
            format!(
                "the query needed more memory than a SPARQL query may take ({memory_mb} MiB, \
                 kgrec serve --sparql-memory-mb) and was stopped; narrow it (LIMIT, more \
                 specific patterns, no ORDER BY over everything)"
            ),
        ),
        status => ApiError::internal(format!(
            "the SPARQL worker stopped during the query ({}); see the server's log",
            status.map_or_else(|| "status unknown".to_owned(), |s| s.to_string())
        )),
    }
}

/// The SPARQL workers: `workers` processes, each answering one query at a time, and a queue of
/// `queue` queries waiting for one; a query that finds the queue full is a 503.
#[derive(Debug)]
pub struct Pool {
    /// One permit per query running or waiting.
    slots: Arc<Semaphore>,
    /// The idle workers; `None` stands for one to start. Exactly `workers` entries circulate.
    idle: Mutex<mpsc::Receiver<Option<Worker>>>,
    back: mpsc::Sender<Option<Worker>>,
    workers: usize,
    memory_mb: u64,
}

/// A worker taken from the pool; dropped, it goes back (or, gone, a replacement is started in
/// the background and goes back once its graph is loaded).
struct Lease {
    worker: Option<Worker>,
    /// Set when the worker died: the graph its replacement loads.
    replace: Option<Detached>,
    back: mpsc::Sender<Option<Worker>>,
    memory_mb: u64,
}

impl Lease {
    /// The worker goes back to the pool, ready for the next query.
    fn keep(&mut self, worker: Worker) {
        self.worker = Some(worker);
    }

    /// The worker is gone: another, on `graph`, takes its place.
    fn lost(&mut self, graph: Detached) {
        self.worker = None;
        self.replace = Some(graph);
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        match (self.worker.take(), self.replace.take()) {
            (Some(worker), _) => {
                let _ = self.back.try_send(Some(worker));
            }
            (None, Some(graph)) => {
                let back = self.back.clone();
                let memory_mb = self.memory_mb;
                tokio::spawn(async move {
                    let worker = match Worker::start(&graph, memory_mb).await {
                        Ok(worker) => Some(worker),
                        Err(e) => {
                            tracing::warn!("SPARQL worker not restarted: {e}");
                            None
                        }
                    };
                    let _ = back.send(worker).await;
                });
            }
            (None, None) => {
                let _ = self.back.try_send(None);
            }
        }
    }
}

impl Pool {
    /// `workers` processes (started by [`Pool::warm`] or at the first query), `queue` more
    /// queries waiting, each process's queries capped at `memory_mb` beyond its graph.
    pub fn new(workers: usize, queue: usize, memory_mb: u64) -> Pool {
        let (back, idle) = mpsc::channel(workers);
        for _ in 0..workers {
            let _ = back.try_send(None);
        }
        Pool {
            slots: Arc::new(Semaphore::new(workers + queue)),
            idle: Mutex::new(idle),
            back,
            workers,
            memory_mb,
        }
    }

    /// Starts the workers that have not started yet, so that the first queries do not wait
    /// for the graph to load.
    pub async fn warm(&self, engine: &Engine) {
        for _ in 0..self.workers {
            let Ok(mut lease) = self.lease().await else {
                return;
            };
            if lease.worker.is_none()
                && let Ok(graph) = engine.detached_graph()
            {
                match Worker::start(&graph, self.memory_mb).await {
                    Ok(worker) => lease.worker = Some(worker),
                    Err(e) => tracing::warn!("SPARQL worker not started: {e}"),
                }
            }
        }
    }

    async fn lease(&self) -> Result<Lease, ApiError> {
        let worker = self
            .idle
            .lock()
            .await
            .recv()
            .await
            .ok_or_else(|| ApiError::internal("the SPARQL workers are gone"))?;
        Ok(Lease {
            worker,
            replace: None,
            back: self.back.clone(),
            memory_mb: self.memory_mb,
        })
    }

    /// Runs `ask` on a worker: its media type and bytes, or its error answer. 503
    /// (`sparql_busy`) when every worker is busy and the queue is full.
    pub async fn ask(&self, engine: &Engine, mut ask: Ask) -> Result<(String, Vec<u8>), ApiError> {
        // The time limit counts from now: waiting for a worker (one busy, or one starting
        // after a kill) takes from it.
        let limit = Duration::from_millis(ask.timeout_ms);
        let deadline = tokio::time::Instant::now() + limit;
        let slot = Arc::clone(&self.slots)
            .try_acquire_owned()
            .map_err(|_| ApiError {
                header: Some(("retry-after", "1".to_owned())),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "sparql_busy",
                    "every SPARQL worker is busy and the queue is full (kgrec serve \
                     --sparql-workers, --sparql-queue): try again shortly",
                )
            })?;
        let mut lease = self.lease().await?;
        let graph = engine.detached_graph()?;
        // A worker on another graph than the served one (the store was imported into since).
        if let Some(mut stale) = lease.worker.take_if(|worker| worker.graph != graph) {
            stale.ended().await;
        }
        let worker = match lease.worker.take() {
            Some(worker) => worker,
            None => Worker::start(&graph, self.memory_mb).await.map_err(|e| {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "sparql_unavailable", e)
            })?,
        };
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            lease.keep(worker);
            return Err(timed_out(limit));
        }
        ask.timeout_ms = u64::try_from(left.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut exchange = Box::pin(worker.exchange(ask));
        match tokio::time::timeout(left, &mut exchange).await {
            Ok((worker, Ok(reply))) => {
                lease.keep(worker);
                match reply {
                    Reply::Answer { content_type, body } => Ok((content_type, body)),
                    // Said with the configured limit (the worker knew the time left).
                    Reply::Refused { code, .. } if code == "query_timeout" => Err(timed_out(limit)),
                    Reply::Refused {
                        status,
                        code,
                        message,
                        retry_after,
                    } => Err(api_error(status, &code, message, retry_after)),
                    Reply::Ready => Err(ApiError::internal(
                        "the SPARQL worker said it was ready instead of answering",
                    )),
                }
            }
            Ok((mut worker, Err(_))) => {
                lease.lost(graph);
                let _ = worker.child.start_kill();
                let status = worker.child.wait().await.ok();
                Err(stopped(status, self.memory_mb))
            }
            Err(_) => {
                // Answered at the limit. The worker cancelled the query's token at the same
                // moment: a query that notices answers within the grace and its worker goes
                // back to the pool; one that does not (oxigraph's hash join builds its table
                // without looking at the token) is killed with its worker, and another starts.
                tokio::spawn(async move {
                    let _slot = slot;
                    match tokio::time::timeout(CANCEL_GRACE, exchange).await {
                        Ok((worker, Ok(_))) => lease.keep(worker),
                        Ok((mut worker, Err(_))) => {
                            worker.ended().await;
                            lease.lost(graph);
                        }
                        // Dropped with the exchange, the worker is killed (`kill_on_drop`).
                        Err(_) => lease.lost(graph),
                    }
                });
                Err(timed_out(limit))
            }
        }
    }
}

/// The command line of `kgrec sparql-worker`, which `kgrec serve` starts: the graph to load.
#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    /// An N-Quads snapshot to load.
    #[arg(long, conflicts_with = "rocksdb")]
    pub snapshot: Option<PathBuf>,
    /// A RocksDB store to open read-only.
    #[arg(long)]
    pub rocksdb: Option<PathBuf>,
    /// The memory a query may take beyond the loaded graph, in MiB (0: no cap).
    #[arg(long, default_value_t = 0)]
    pub memory_mb: u64,
}

/// `kgrec sparql-worker`.
pub fn run(args: &WorkerArgs) -> kgrec::Result<()> {
    let graph = match (&args.snapshot, &args.rocksdb) {
        (Some(path), _) => Detached::Snapshot(path.clone()),
        (None, Some(path)) => Detached::RocksDb(path.clone()),
        (None, None) => Detached::Empty,
    };
    worker_main(&graph, args.memory_mb)
}
