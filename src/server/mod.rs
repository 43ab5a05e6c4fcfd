//! `kgrec serve`: the HTTP service (axum on tokio), a module of the binary. The process owns the
//! data directory through one [`Engine`]; every handler calls the library's `Engine` API on
//! tokio's blocking pool, so requests in flight finish on the served state they started with
//! while a rebuild or new interactions swap it.
//!
//! Modules: [`api`] (recommendations, explanations, similar items, interactions, models,
//! rebuilds), [`sparql`] (the SPARQL 1.1 Protocol), [`metrics`] (Prometheus text), [`openapi`]
//! (the API's description), [`jobs`] (rebuilds on a thread of their own), [`params`] (query
//! strings, ids, limits), [`error`] (the error JSON and statuses). `docs/http.md` is the
//! reference for users.

mod access;
mod api;
mod error;
mod jobs;
mod metrics;
mod openapi;
mod params;
mod sparql;
mod uri_guard;
pub mod worker;

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kgrec::{Engine, Error, Result};
use tokio::sync::Semaphore;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};

use crate::cli::args::{GuardedRoutes, LogFormat, ServeArgs};
use access::{ClientLimits, Policy, Role, Verdict};
use error::ApiError;

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    engine: Engine,
    jobs: Arc<jobs::Jobs>,
    metrics: Arc<metrics::Metrics>,
    /// Requests worked on at once (the API's routes).
    in_flight: Semaphore,
    /// The largest body accepted.
    max_body: usize,
    /// Which keys open which routes.
    access: Policy,
    /// Requests a second per client, when limited.
    client_limits: Option<ClientLimits>,
    /// Every request is logged, not only failures and rejections.
    access_log: bool,
    /// Log lines carry paths with ids, not route templates.
    log_user_ids: bool,
    /// The time budget of one explained answer's path search.
    explain_budget: Duration,
    /// How long one SPARQL query may run.
    sparql_timeout: Duration,
    /// The most rows (or triples) one SPARQL answer may have.
    sparql_max_rows: usize,
    /// Where SPARQL queries run.
    sparql: worker::Pool,
    /// Writes are refused (`--read-only`, or a data directory this process may not write).
    read_only: bool,
    /// The languages of labels when a request names none (`--label-lang`).
    label_langs: kgrec::LabelLangs,
}

type Shared = Arc<AppState>;

/// The routes, in the order `openapi.json` lists them.
pub const ROUTES: [&str; 13] = [
    "/health/live",
    "/health/ready",
    "/metrics",
    "/openapi.json",
    "/v1/models",
    "/v1/users/{id}/recommendations",
    "/v1/users/{id}/explanations/{item}",
    "/v1/items/{id}/similar",
    "/v1/items/retired",
    "/v1/interactions",
    "/v1/admin/rebuild",
    "/v1/admin/jobs/{id}",
    "/sparql",
];

/// The service's router over `state`.
fn router(state: Shared) -> Router {
    let [
        live,
        ready,
        metrics,
        openapi,
        models,
        recs,
        explain,
        similar,
        retired,
        interactions,
        rebuild,
        job,
        sparql,
    ] = ROUTES;
    let api = Router::new()
        .route(models, get(api::models))
        .route(recs, get(api::recommendations))
        .route(explain, get(api::explanation))
        .route(similar, get(api::similar))
        .route(
            retired,
            get(api::retired_items)
                .post(api::change_availability)
                .delete(api::change_availability),
        )
        .route(
            interactions,
            post(api::interactions).delete(api::remove_interactions),
        )
        .route(rebuild, post(api::rebuild))
        .route(job, get(api::job))
        .route(sparql, get(sparql::get).post(sparql::post))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), limit))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), guard));
    let ops = Router::new()
        .route(live, get(api::live))
        .route(ready, get(api::ready))
        .route(metrics, get(api::metrics))
        .route(openapi, get(api::openapi))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), guard));
    ops.merge(api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(Arc::clone(&state), track))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(DefaultBodyLimit::max(state.max_body))
        .with_state(state)
}

async fn not_found(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no route {} (the routes are listed at /openapi.json)",
            request.uri().path()
        ),
    )
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} is not a method of {} (see /openapi.json)",
            request.method(),
            request.uri().path()
        ),
    )
}

/// Counts, times and logs every request by route template, method and status (failures and
/// rejections always, every request with `--access-log`); refuses a body whose declared length
/// is over the limit before it is read.
async fn track(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let path = state.log_user_ids.then(|| request.uri().path().to_owned());
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let response = match declared {
        Some(n) if n > state.max_body as u64 => {
            state.metrics.rejected("body_too_large");
            ApiError::too_large(state.max_body).into_response()
        }
        _ => next.run(request).await,
    };
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    state.metrics.request(&route, &method, status, elapsed);
    let target = path.as_deref().unwrap_or(&route);
    // Milliseconds to the microsecond: `0.277`, not `0.27654999999999996`.
    let ms = (elapsed.as_secs_f64() * 1e6).round() / 1e3;
    if status >= 500 && status != 503 {
        tracing::error!(request_id, method, target, status, ms, "request failed");
    } else if matches!(status, 401 | 413 | 429 | 503) {
        tracing::warn!(request_id, method, target, status, ms, "request rejected");
    } else if state.access_log {
        tracing::info!(request_id, method, target, status, ms, "request");
    }
    response
}

/// Per-client rate limits, then keys: a request the policy does not let in gets 429 or 401 and
/// goes no further.
async fn guard(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let role = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(Role::Read, |m| Role::of(m.as_str(), request.method()));
    if role != Role::Health
        && let Some(limits) = &state.client_limits
    {
        let client = request
            .extensions()
            .get::<ConnectInfo<uri_guard::Peer>>()
            .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0.0.ip());
        if let Err(wait) = limits.check(client) {
            state.metrics.rejected("rate_limited");
            return ApiError::rate_limited(wait).into_response();
        }
    }
    match state.access.check(role, request.headers()) {
        Verdict::Allowed
            if state.read_only && role == Role::Write && request.method() != Method::GET =>
        {
            state.metrics.rejected("read_only");
            ApiError::new(
                StatusCode::FORBIDDEN,
                "read_only",
                "this server is read-only (started with --read-only, or on a data directory it \
                 may not write): it takes no interactions and runs no rebuilds; send writes to \
                 a server that may write the data directory, or import and train with the \
                 command line, then restart this one to serve the new model",
            )
            .into_response()
        }
        Verdict::Allowed => next.run(request).await,
        Verdict::Unauthorized => {
            state.metrics.rejected("unauthorized");
            ApiError::unauthorized().into_response()
        }
        Verdict::Forbidden => {
            state.metrics.rejected("forbidden");
            ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "the read key reads only: writes and admin routes need the API key (--api-key)",
            )
            .into_response()
        }
    }
}

/// At most `--max-in-flight` API requests are worked on at once; the others wait their turn.
async fn limit(State(state): State<Shared>, request: Request, next: Next) -> Response {
    match state.in_flight.acquire().await {
        Ok(_permit) => next.run(request).await,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the server is shutting down",
        )
        .into_response(),
    }
}

/// Runs `f` (engine work, which blocks) on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::result::Result<T, ApiError> + Send + 'static,
) -> std::result::Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("the request's worker failed: {e}")))?
}

/// A request body, or the error its reading deserves (413 over the limit).
fn body_bytes(
    state: &AppState,
    body: std::result::Result<Bytes, BytesRejection>,
) -> std::result::Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(state.max_body)
        } else {
            ApiError::new(
                rejection.status(),
                "bad_body",
                format!(
                    "the request body could not be read: {}",
                    rejection.body_text()
                ),
            )
        }
    })
}

/// The media type of the request's `Content-Type`, lower case, without parameters.
fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let media = value.split(';').next()?.trim().to_ascii_lowercase();
    (!media.is_empty()).then_some(media)
}

/// `kgrec serve`: opens the data directory, binds the model, listens until SIGTERM or SIGINT,
/// then stops accepting, lets requests in flight finish (up to `--shutdown-grace`) and returns.
pub fn serve(data: &Path, args: &ServeArgs) -> Result<()> {
    if args.max_body == 0
        || args.max_in_flight == 0
        || args.sparql_timeout_ms == 0
        || args.sparql_max_rows == 0
        || args.sparql_workers == 0
    {
        return Err(Error::BadInput(
            "--max-body, --max-in-flight, --sparql-timeout-ms, --sparql-max-rows and \
             --sparql-workers must be at least 1"
                .to_owned(),
        ));
    }
    if !(args.shutdown_grace.is_finite() && args.shutdown_grace >= 0.0) {
        return Err(Error::BadInput(format!(
            "--shutdown-grace {}: expected a number of seconds of at least 0",
            args.shutdown_grace
        )));
    }
    let access = Policy::new(
        access::load_key(
            args.api_key.as_deref(),
            args.api_key_file.as_deref(),
            "api-key",
            "KGREC_API_KEY",
        )?
        .as_deref(),
        access::load_key(
            args.read_key.as_deref(),
            args.read_key_file.as_deref(),
            "read-key",
            "KGREC_READ_KEY",
        )?
        .as_deref(),
        args.guard.contains(&GuardedRoutes::Health),
        args.guard.contains(&GuardedRoutes::Metrics),
    );
    // A read-only server takes no writes, so no write key guards them.
    access::check_bind(args.addr, &access, args.allow_open_writes || args.read_only)?;
    init_logs(args.log_format);
    let (engine, read_only) = if args.read_only {
        (crate::cli::open_replica(data)?, true)
    } else {
        match crate::cli::open_engine(data) {
            Ok(engine) => (engine, false),
            Err(e) if e.is_unwritable() => {
                crate::cli::warn(&format!(
                    "note: {} is not writable by this process ({e})",
                    data.display()
                ));
                (crate::cli::open_replica(data)?, true)
            }
            Err(e) => return Err(e),
        }
    };
    if read_only {
        crate::cli::warn(
            "note: serving read-only: writes (POST /v1/interactions, POST /v1/admin/rebuild) \
             are refused with 403 read_only; the data directory is not held, and this server \
             answers from a copy taken now: restart it to serve a newer model or graph",
        );
    }
    // Bind the current model and build the explanation graph before listening: the first
    // requests do not pay for them, and a directory that cannot be served fails here.
    match engine.explainer(None) {
        Ok(explainer) => drop(explainer),
        Err(e) if e.is_no_model() => {
            crate::cli::warn(&format!(
                "note: {e}; /health/ready answers 503 until a model exists (POST /v1/admin/rebuild)"
            ));
        }
        Err(e) => return Err(e),
    }
    let state = Arc::new(AppState {
        engine,
        jobs: Arc::default(),
        metrics: Arc::default(),
        in_flight: Semaphore::new(args.max_in_flight),
        max_body: args.max_body,
        access,
        client_limits: ClientLimits::new(args.rate_limit),
        access_log: args.access_log,
        log_user_ids: args.log_user_ids,
        explain_budget: Duration::from_millis(args.explain_timeout_ms),
        sparql_timeout: Duration::from_millis(args.sparql_timeout_ms),
        sparql_max_rows: args.sparql_max_rows,
        sparql: worker::Pool::new(
            args.sparql_workers,
            args.sparql_queue,
            args.sparql_memory_mb,
        ),
        read_only,
        label_langs: crate::cli::label_langs(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("kgrec-http")
        .build()
        .map_err(|e| Error::Internal {
            what: format!("cannot start the HTTP runtime: {e}"),
        })?;
    let grace = Duration::from_secs_f64(args.shutdown_grace);
    let result = runtime.block_on(run(Arc::clone(&state), args.addr, data, grace));
    if let Some((id, stage)) = state.jobs.shutdown(Duration::from_secs(10)) {
        crate::cli::warn(&match stage {
            jobs::Stage::Committing => format!(
                "note: rebuild {id} was writing its version when the server stopped; the data \
                 directory holds the previous version or the new one, complete"
            ),
            _ => format!("note: rebuild {id} was cancelled by the shutdown; nothing was written"),
        });
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

async fn run(state: Shared, addr: SocketAddr, data: &Path, grace: Duration) -> Result<()> {
    let mut signals = Signals::register()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::BadInput(format!("--addr {addr}: cannot listen: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| Error::BadInput(format!("--addr {addr}: {e}")))?;
    // Said before the address, so that whoever waits for the address has read it too.
    crate::cli::warn(&format!("note: {}", state.access.describe(state.read_only)));
    // The first line of standard output is the address, for scripts and tests (port 0).
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening on http://{bound}");
    let _ = stdout.flush();
    drop(stdout);
    if !bound.ip().is_loopback() && !state.access.writes_guarded() && !state.read_only {
        crate::cli::warn(&format!(
            "WARNING: listening on {bound}, beyond this machine, with writes open \
             (--allow-open-writes): anyone who reaches the port can add interactions and start \
             rebuilds"
        ));
    }
    if state.client_limits.is_some() {
        // The limiter keeps one entry per client address seen; forget the idle ones.
        let forget = Arc::clone(&state);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                if let Some(limits) = &forget.client_limits {
                    limits.forget_idle();
                }
            }
        });
    }
    let warm = Arc::clone(&state);
    tokio::spawn(async move { warm.sparql.warm(&warm.engine).await });
    crate::cli::warn(&format!(
        "note: serving {} until SIGTERM or Ctrl-C",
        data.display()
    ));
    let stop = Arc::new(tokio::sync::Notify::new());
    let stopped = Arc::clone(&stop);
    let app = router(state).into_make_service_with_connect_info::<uri_guard::Peer>();
    // Request targets hyper would refuse with an empty body get the JSON error instead.
    let listener = uri_guard::GuardedListener(listener);
    let server =
        axum::serve(listener, app).with_graceful_shutdown(async move { stopped.notified().await });
    let mut server = tokio::spawn(async move { server.await });
    let ended = tokio::select! {
        ended = &mut server => Some(ended),
        () = signals.recv() => None,
    };
    let ended = match ended {
        Some(ended) => ended,
        None => {
            // Stop accepting; requests in flight finish (within the grace period).
            stop.notify_one();
            match tokio::time::timeout(grace, &mut server).await {
                Ok(ended) => ended,
                Err(_) => {
                    crate::cli::warn(&format!(
                        "warning: requests still in flight after {} s; exiting anyway",
                        grace.as_secs_f64()
                    ));
                    Ok(Ok(()))
                }
            }
        }
    };
    match ended {
        Ok(Ok(())) => {
            crate::cli::warn("note: stopped");
            Ok(())
        }
        Ok(Err(e)) => Err(Error::Internal {
            what: format!("the HTTP server failed: {e}"),
        }),
        Err(e) => Err(Error::Internal {
            what: format!("the HTTP server's task failed: {e}"),
        }),
    }
}

/// Log lines (request failures and rejections, `--access-log` lines) on standard error, as
/// text or JSON; `KGREC_LOG` (an `EnvFilter` directive, default `info`) picks the level.
fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KGREC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours for a terminal only: a log file gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    // A second subscriber (tests start servers in one process) is not an error worth failing.
    let _ = match format {
        LogFormat::Text => logs.try_init(),
        LogFormat::Json => logs.json().try_init(),
    };
}

/// SIGTERM and SIGINT (Ctrl-C), caught from the moment they are registered (before the
/// address is printed, so that a signal sent as soon as the server is up is never missed).
#[cfg(unix)]
struct Signals {
    term: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn register() -> Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let failed = |e: std::io::Error| Error::Internal {
            what: format!("cannot catch SIGTERM and SIGINT: {e}"),
        };
        Ok(Self {
            term: signal(SignalKind::terminate()).map_err(failed)?,
            interrupt: signal(SignalKind::interrupt()).map_err(failed)?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}

/// Ctrl-C, elsewhere.
#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn register() -> Result<Self> {
        Ok(Self)
    }

    async fn recv(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}
