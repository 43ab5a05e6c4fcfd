//! Rebuild jobs: one at a time, on a thread of their own, through the engine's three training
//! stages (read the inputs, fit, commit). Requests keep being served by the previous version
//! until the commit swaps it; the job's status is kept in memory for `GET /v1/admin/jobs/{id}`.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kgrec::{Engine, TrainRequest};
use serde::Serialize;

use super::error::ApiError;
use super::metrics::Metrics;

/// Finished jobs remembered (the oldest are forgotten first).
const KEPT_JOBS: usize = 100;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Reading, fitting or committing.
    Running,
    /// The new version is current.
    Done,
    /// Nothing was written; `error` says why.
    Failed,
}

/// What a job is doing while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Reading the interactions and the graph.
    Reading,
    /// Fitting the model (requests are served by the previous version).
    Fitting,
    /// Writing the version and making it current.
    Committing,
    /// Binding the new version for requests.
    Warming,
}

/// The error of a failed job.
#[derive(Debug, Clone, Serialize)]
pub struct JobError {
    /// As the HTTP errors' codes.
    pub code: &'static str,
    /// What happened.
    pub message: String,
}

/// A job as `GET /v1/admin/jobs/{id}` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
    /// The learner.
    pub model: &'static str,
    /// Its parameters, as the request gave them or as their defaults are.
    pub spec: serde_json::Value,
    pub seed: u64,
    pub keep: usize,
    /// Seconds since the Unix epoch.
    pub started_unix: u64,
    /// Wall time so far, or in all once finished.
    pub seconds: f64,
    /// The last epoch reported by the fit, of `epochs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epoch: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epochs: Option<usize>,
    /// The version written (done).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// The stored versions after it (done).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<u64>,
    /// Remarks of the fit.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<JobError>,
    #[serde(skip)]
    started: Option<Instant>,
}

#[derive(Debug, Default)]
struct Inner {
    next: u64,
    jobs: BTreeMap<u64, Job>,
    /// The running job and its cancel flag.
    running: Option<(u64, Arc<AtomicBool>)>,
}

/// The jobs of one server.
#[derive(Debug, Default)]
pub struct Jobs {
    inner: Mutex<Inner>,
}

fn poisoned<T>(_: T) -> ApiError {
    ApiError::internal("the job table's lock was poisoned by a panicking thread")
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Jobs {
    /// Starts a rebuild on a thread of its own and returns its id; `409` with the running job's
    /// id when one runs already.
    pub fn start(
        self: &Arc<Self>,
        engine: Engine,
        metrics: Arc<Metrics>,
        request: TrainRequest,
    ) -> Result<String, ApiError> {
        let cancel = Arc::new(AtomicBool::new(false));
        let id = {
            let mut inner = self.inner.lock().map_err(poisoned)?;
            if let Some((running, _)) = &inner.running {
                let mut error = ApiError::new(
                    axum::http::StatusCode::CONFLICT,
                    "rebuild_running",
                    format!(
                        "rebuild {running} is running; one rebuild runs at a time (follow it at \
                         /v1/admin/jobs/{running})"
                    ),
                );
                error.id = Some(running.to_string());
                return Err(error);
            }
            inner.next += 1;
            let id = inner.next;
            // Through text: `to_value` widens an f32 to the f64 nearest it (0.1 would read
            // 0.10000000149011612); its shortest text reads back as the number given.
            let spec = serde_json::to_string(&request.spec)
                .and_then(|text| serde_json::from_str(&text))
                .unwrap_or(serde_json::Value::Null);
            inner.jobs.insert(
                id,
                Job {
                    id: id.to_string(),
                    status: Status::Running,
                    stage: Some(Stage::Reading),
                    model: request.spec.kind().name(),
                    spec,
                    seed: request.seed,
                    keep: request.keep,
                    started_unix: now_unix(),
                    seconds: 0.0,
                    epoch: None,
                    epochs: None,
                    version: None,
                    versions: Vec::new(),
                    notes: Vec::new(),
                    error: None,
                    started: Some(Instant::now()),
                },
            );
            while inner.jobs.len() > KEPT_JOBS {
                inner.jobs.pop_first();
            }
            inner.running = Some((id, Arc::clone(&cancel)));
            id
        };
        let jobs = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name(format!("kgrec-rebuild-{id}"))
            .spawn(move || jobs.run(id, &engine, &metrics, &request, &cancel));
        if let Err(e) = spawned {
            self.finish(
                id,
                Err(ApiError::internal(format!("cannot start a thread: {e}"))),
            );
            return Err(ApiError::internal(format!(
                "cannot start the rebuild's thread: {e}"
            )));
        }
        Ok(id.to_string())
    }

    /// The job's body of work.
    fn run(
        &self,
        id: u64,
        engine: &Engine,
        metrics: &Metrics,
        request: &TrainRequest,
        cancel: &AtomicBool,
    ) {
        let start = Instant::now();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let inputs = engine.training_data(request)?;
            self.update(id, |job| job.stage = Some(Stage::Fitting));
            let mut progress = |r: &kgrec::cf::EpochReport| {
                self.update(id, |job| {
                    job.epoch = Some(r.epoch);
                    job.epochs = Some(r.epochs);
                });
            };
            let fitted = inputs.fit(request, &mut progress, cancel)?;
            self.update(id, |job| job.stage = Some(Stage::Committing));
            let trained = engine.commit(fitted, request.keep, cancel)?;
            self.update(id, |job| job.stage = Some(Stage::Warming));
            // Bind the new version now rather than in the next request.
            if !trained.header.kind.is_graph_embedding() {
                engine.served()?;
            }
            Ok::<_, kgrec::Error>(trained)
        }));
        let outcome = match outcome {
            Ok(Ok(trained)) => Ok(trained),
            Ok(Err(e)) => Err(ApiError::from(e)),
            Err(_) => Err(ApiError::internal(
                "the rebuild panicked; nothing was written",
            )),
        };
        metrics.rebuild(
            if outcome.is_ok() { "done" } else { "failed" },
            start.elapsed().as_secs_f64(),
        );
        self.finish(id, outcome);
    }

    fn update(&self, id: u64, f: impl FnOnce(&mut Job)) {
        if let Ok(mut inner) = self.inner.lock()
            && let Some(job) = inner.jobs.get_mut(&id)
        {
            f(job);
        }
    }

    fn finish(&self, id: u64, outcome: Result<kgrec::Trained, ApiError>) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.running.as_ref().is_some_and(|(r, _)| *r == id) {
            inner.running = None;
        }
        let Some(job) = inner.jobs.get_mut(&id) else {
            return;
        };
        job.stage = None;
        job.seconds = job.started.map_or(0.0, |s| s.elapsed().as_secs_f64());
        match outcome {
            Ok(trained) => {
                job.status = Status::Done;
                fitted_regularization(&mut job.spec, &trained.header.params);
                job.version = Some(trained.header.version);
                job.versions = trained.versions;
                job.notes = trained.notes;
            }
            Err(e) => {
                job.status = Status::Failed;
                job.error = Some(JobError {
                    code: e.code,
                    message: e.message,
                });
            }
        }
    }

    /// The job `id` (its `seconds` as of now while it runs).
    pub fn get(&self, id: &str) -> Result<Option<Job>, ApiError> {
        let Ok(id) = id.parse::<u64>() else {
            return Ok(None);
        };
        let inner = self.inner.lock().map_err(poisoned)?;
        Ok(inner.jobs.get(&id).map(|job| {
            let mut job = job.clone();
            if job.status == Status::Running {
                job.seconds = job.started.map_or(0.0, |s| s.elapsed().as_secs_f64());
            }
            job
        }))
    }

    /// Whether a rebuild runs now.
    pub fn running(&self) -> bool {
        self.inner.lock().is_ok_and(|i| i.running.is_some())
    }

    /// At shutdown: cancels the running job (a fit in progress is abandoned, nothing is
    /// written); one that is already writing its version is given up to `commit_wait` to
    /// finish. Returns the id and stage of a job left unfinished before its version was
    /// current, if any.
    pub fn shutdown(&self, commit_wait: Duration) -> Option<(String, Stage)> {
        let deadline = Instant::now() + commit_wait;
        loop {
            let (id, stage) = {
                let inner = self.inner.lock().ok()?;
                let (id, cancel) = inner.running.as_ref()?;
                cancel.store(true, Ordering::Relaxed);
                (*id, inner.jobs.get(id).and_then(|j| j.stage)?)
            };
            match stage {
                Stage::Warming => return None,
                Stage::Committing if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                _ => return Some((id.to_string(), stage)),
            }
        }
    }
}

/// A default `--reg` that collapsed the fit was refitted smaller
/// (`kgrec::engine::TrainRequest::shrink_collapsed_reg`): the job's `spec` then records the
/// value fitted (read from the stored model's parameters), so that sending it back trains the
/// same model, as docs/http.md says.
fn fitted_regularization(spec: &mut serde_json::Value, fitted_params: &str) {
    let Ok(fitted) = serde_json::from_str::<serde_json::Value>(fitted_params) else {
        return;
    };
    let Some(reg) = fitted.get("regularization").filter(|r| r.is_number()) else {
        return;
    };
    if let Some(slot) = spec
        .get_mut("params")
        .and_then(|p| p.get_mut("regularization"))
        .filter(|r| r.is_number())
    {
        *slot = reg.clone();
    }
}
