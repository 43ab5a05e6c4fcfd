//! `GET /metrics`: Prometheus text exposition (format 0.0.4), written by hand: requests and
//! their latency by route, method and status; the current model version; rebuilds and their
//! durations; interactions written, and the group commits that wrote them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kgrec::IngestStats;

/// Upper bounds of the latency histograms, in seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Upper bounds of the rebuild-duration histogram, in seconds.
const REBUILD_BUCKETS: [f64; 10] = [0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 7200.0];

/// A histogram: counts per bucket (not cumulative), sum and count.
#[derive(Debug, Clone, Default)]
struct Histogram {
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], value: f64) {
        if self.buckets.len() != bounds.len() {
            self.buckets = vec![0; bounds.len()];
        }
        if let Some(b) = bounds.iter().position(|&le| value <= le) {
            self.buckets[b] += 1;
        }
        self.sum += value;
        self.count += 1;
    }

    /// `name_bucket{labels,le=...}`, `name_sum`, `name_count` lines.
    fn write(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64]) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (b, le) in bounds.iter().enumerate() {
            cumulative += self.buckets.get(b).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// The service's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// `(route, method, status)` → latency histogram.
    requests: Mutex<BTreeMap<(String, String, u16), Histogram>>,
    /// `"done"` / `"failed"` → rebuild durations.
    rebuilds: Mutex<BTreeMap<&'static str, Histogram>>,
    interactions_written: AtomicU64,
    /// Reason → requests turned away by a guard or a limit (`unauthorized`, `rate_limited`,
    /// `body_too_large`; SPARQL's `sparql_busy`, `query_timeout`, `query_out_of_memory`,
    /// `result_too_large`).
    rejected: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// One answered request.
    pub fn request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        if let Ok(mut requests) = self.requests.lock() {
            requests
                .entry((route.to_owned(), method.to_owned(), status))
                .or_default()
                .observe(&LATENCY_BUCKETS, elapsed.as_secs_f64());
        }
    }

    /// One request turned away for `reason`.
    pub fn rejected(&self, reason: &'static str) {
        if let Ok(mut rejected) = self.rejected.lock() {
            *rejected.entry(reason).or_default() += 1;
        }
    }

    /// One finished rebuild.
    pub fn rebuild(&self, outcome: &'static str, seconds: f64) {
        if let Ok(mut rebuilds) = self.rebuilds.lock() {
            rebuilds
                .entry(outcome)
                .or_default()
                .observe(&REBUILD_BUCKETS, seconds);
        }
    }

    /// Interaction rows written to the store.
    pub fn interactions(&self, rows: u64) {
        self.interactions_written.fetch_add(rows, Ordering::Relaxed);
    }

    /// The exposition text; `model_version` is the current version (absent: none yet),
    /// `rebuild_running` whether a rebuild runs now, `ingest` what the engine's interaction
    /// writes did.
    pub fn render(
        &self,
        model_version: Option<u64>,
        rebuild_running: bool,
        ingest: &IngestStats,
    ) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP kgrec_http_requests_total HTTP requests answered, by route, method and status.\n\
             # TYPE kgrec_http_requests_total counter\n",
        );
        let requests = self.requests.lock().map(|r| r.clone()).unwrap_or_default();
        for ((route, method, status), h) in &requests {
            let _ = writeln!(
                out,
                "kgrec_http_requests_total{{{}}} {}",
                request_labels(route, method, *status),
                h.count
            );
        }
        out.push_str(
            "# HELP kgrec_http_request_duration_seconds Time to answer a request, by route, \
             method and status.\n\
             # TYPE kgrec_http_request_duration_seconds histogram\n",
        );
        for ((route, method, status), h) in &requests {
            h.write(
                &mut out,
                "kgrec_http_request_duration_seconds",
                &request_labels(route, method, *status),
                &LATENCY_BUCKETS,
            );
        }
        out.push_str(
            "# HELP kgrec_model_version The current model version (0: none yet).\n\
             # TYPE kgrec_model_version gauge\n",
        );
        let _ = writeln!(out, "kgrec_model_version {}", model_version.unwrap_or(0));
        out.push_str(
            "# HELP kgrec_rebuild_running Whether a rebuild runs now.\n\
             # TYPE kgrec_rebuild_running gauge\n",
        );
        let _ = writeln!(out, "kgrec_rebuild_running {}", u8::from(rebuild_running));
        out.push_str(
            "# HELP kgrec_rebuild_duration_seconds Rebuilds (read, fit, commit), by outcome.\n\
             # TYPE kgrec_rebuild_duration_seconds histogram\n",
        );
        let rebuilds = self.rebuilds.lock().map(|r| r.clone()).unwrap_or_default();
        for (outcome, h) in &rebuilds {
            h.write(
                &mut out,
                "kgrec_rebuild_duration_seconds",
                &format!("outcome=\"{outcome}\""),
                &REBUILD_BUCKETS,
            );
        }
        out.push_str(
            "# HELP kgrec_interactions_written_total Interaction rows written through POST \
             /v1/interactions.\n\
             # TYPE kgrec_interactions_written_total counter\n",
        );
        let _ = writeln!(
            out,
            "kgrec_interactions_written_total {}",
            self.interactions_written.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP kgrec_http_rejected_total Requests turned away by a guard or a limit, by \
             reason.\n\
             # TYPE kgrec_http_rejected_total counter\n",
        );
        let rejected = self.rejected.lock().map(|r| r.clone()).unwrap_or_default();
        for (reason, n) in &rejected {
            let _ = writeln!(out, "kgrec_http_rejected_total{{reason=\"{reason}\"}} {n}");
        }
        for (name, help, value) in [
            (
                "kgrec_interaction_writes_total",
                "Interaction writes acknowledged (each POST /v1/interactions is one), on disk \
                 before the answer.",
                ingest.writes,
            ),
            (
                "kgrec_interaction_group_commits_total",
                "Group commits: each wrote the interaction writes waiting at once together.",
                ingest.groups,
            ),
            (
                "kgrec_interaction_flushes_total",
                "Group commits that changed the store: one sled batch and one flush (fsync) \
                 each; writes / flushes is the batching.",
                ingest.flushes,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        }
        out
    }
}

fn request_labels(route: &str, method: &str, status: u16) -> String {
    format!(
        "route=\"{}\",method=\"{}\",status=\"{status}\"",
        escape(route),
        escape(method)
    )
}

/// A label value: backslash, double quote and line feed escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_counts_requests_rebuilds_and_interactions() {
        let m = Metrics::default();
        m.request("/health/live", "GET", 200, Duration::from_millis(2));
        m.request("/health/live", "GET", 200, Duration::from_millis(20));
        m.request(
            "/v1/users/{id}/recommendations",
            "GET",
            400,
            Duration::from_micros(100),
        );
        m.rebuild("done", 1.5);
        m.interactions(5);
        m.rejected("unauthorized");
        m.rejected("unauthorized");
        let ingest = IngestStats {
            writes: 4,
            rows: 5,
            groups: 2,
            flushes: 1,
        };
        let text = m.render(Some(3), false, &ingest);
        assert!(
            text.contains("kgrec_http_rejected_total{reason=\"unauthorized\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "kgrec_http_requests_total{route=\"/health/live\",method=\"GET\",status=\"200\"} 2"
            ),
            "{text}"
        );
        assert!(text.contains(
            "kgrec_http_request_duration_seconds_bucket{route=\"/health/live\",method=\"GET\",status=\"200\",le=\"0.0025\"} 1"
        ), "{text}");
        assert!(text.contains(
            "kgrec_http_request_duration_seconds_bucket{route=\"/health/live\",method=\"GET\",status=\"200\",le=\"+Inf\"} 2"
        ), "{text}");
        assert!(text.contains("status=\"400\"} 1"), "{text}");
        assert!(text.contains("kgrec_model_version 3\n"), "{text}");
        assert!(
            text.contains("kgrec_rebuild_duration_seconds_count{outcome=\"done\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("kgrec_interactions_written_total 5\n"),
            "{text}"
        );
        for line in [
            "kgrec_interaction_writes_total 4\n",
            "kgrec_interaction_group_commits_total 2\n",
            "kgrec_interaction_flushes_total 1\n",
            "# TYPE kgrec_interaction_flushes_total counter\n",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
