//! `kgrec serve` end to end: the real binary on the fixtures, over loopback HTTP.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::*;

/// The fixtures imported (graph, interactions with links), no model.
fn untrained(tmp: &Path) -> PathBuf {
    crate::cf::imported(tmp)
}

/// The fixtures imported and the default model (cke) trained: version 1.
pub fn trained(tmp: &Path) -> PathBuf {
    let data = untrained(tmp);
    ok(kgrec(&data).args(["train", "--quiet"]));
    data
}

/// A server on a trained copy of the fixtures (the directory lives as long as the `TempDir`).
fn serving_trained() -> (tempfile::TempDir, PathBuf, Server) {
    let tmp = tempfile::tempdir().unwrap();
    let data = trained(tmp.path());
    let server = Server::start(&data, &[]);
    (tmp, data, server)
}

/// Polls a rebuild job until it is no longer running; returns its last status.
pub fn wait_for_job(server: &Server, id: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let job = server.get(&format!("/v1/admin/jobs/{id}"));
        assert_eq!(job.status, 200, "{}", job.text());
        let job = job.json();
        if job["status"] != "running" {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} never ended: {job}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Items of a recommendation answer.
fn items(answer: &serde_json::Value) -> Vec<String> {
    answer["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item"].as_str().unwrap().to_owned())
        .collect()
}

/// Items of a recommendation answer, sorted.
fn sorted_items(answer: &serde_json::Value) -> Vec<String> {
    let mut items = items(answer);
    items.sort();
    items
}

/// A JSON answer without the service's `model_version`, to compare with the command line's.
fn without_version(mut answer: serde_json::Value) -> serde_json::Value {
    answer.as_object_mut().unwrap().remove("model_version");
    answer
}

#[test]
fn health_and_readiness_before_and_after_a_model() {
    let tmp = tempfile::tempdir().unwrap();
    let data = untrained(tmp.path());
    let server = Server::start(&data, &[]);

    let live = server.get("/health/live");
    assert_eq!(live.status, 200, "{}", live.text());
    assert_eq!(live.json()["status"], "live");
    let ready = server.get("/health/ready");
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert_eq!(ready.error_code(), "no_model");
    let recs = server.get("/v1/users/1/recommendations");
    assert_eq!(recs.status, 503, "{}", recs.text());
    assert_eq!(recs.error_code(), "no_model");
    let models = server.get("/v1/models").json();
    assert_eq!(models["current"], serde_json::Value::Null);
    assert_eq!(models["versions"], serde_json::json!([]));

    // A rebuild with the default learner makes it ready.
    let started = server.request("POST", "/v1/admin/rebuild", &[], b"");
    assert_eq!(started.status, 202, "{}", started.text());
    let id = started.json()["id"].as_str().unwrap().to_owned();
    let job = wait_for_job(&server, &id);
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["model"], "cke", "{job}");
    assert_eq!(job["version"], 1, "{job}");

    let ready = server.get("/health/ready");
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert_eq!(ready.json()["model"]["version"], 1);
    let models = server.get("/v1/models").json();
    assert_eq!(models["current"], 1, "{models}");
    let v1 = &models["versions"][0];
    assert_eq!(v1["model"], "cke", "{models}");
    assert_eq!(v1["current"], true, "{models}");
    assert_eq!(v1["users"], 40, "{models}");
    assert!(v1["params"]["factors"].is_number(), "{models}");
    let recs = server.get("/v1/users/1/recommendations?k=2");
    assert_eq!(recs.status, 200, "{}", recs.text());
    assert_eq!(recs.header("kgrec-model-version"), Some("1"));

    let metrics = server.get("/metrics");
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = metrics.text();
    for needle in [
        "kgrec_http_requests_total{route=\"/health/ready\",method=\"GET\",status=\"503\"} 1",
        "kgrec_http_requests_total{route=\"/health/ready\",method=\"GET\",status=\"200\"} 1",
        "kgrec_http_request_duration_seconds_bucket{route=\"/v1/users/{id}/recommendations\",method=\"GET\",status=\"200\",le=\"+Inf\"} 1",
        "kgrec_model_version 1\n",
        "kgrec_rebuild_duration_seconds_count{outcome=\"done\"} 1\n",
        "kgrec_interactions_written_total 0\n",
    ] {
        assert!(text.contains(needle), "{needle} not in\n{text}");
    }

    let openapi = server.get("/openapi.json").json();
    assert_eq!(openapi["openapi"], "3.1.0");
    for route in [
        "/v1/users/{id}/recommendations",
        "/v1/interactions",
        "/v1/admin/rebuild",
        "/sparql",
    ] {
        assert!(openapi["paths"][route].is_object(), "{route}");
    }

    // The data directory is the server's: the command line is refused, with the way in.
    let out = run(kgrec(&data).args(["stats"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let pid = server.child.id();
    assert!(
        err.contains(&format!("is in use by process {pid}")),
        "{err}"
    );
    assert!(err.contains("`kgrec serve`"), "{err}");
    assert!(err.contains("HTTP API"), "{err}");

    let status = server.terminate(30);
    assert!(status.success(), "{status}");
}

/// With and without explanations, the answers are the command line's JSON for the same user
/// (plus `model_version`); explanations of one item, similar items, exclude and offset.
#[test]
fn recommendations_explanations_and_similar_items() {
    let tmp = tempfile::tempdir().unwrap();
    let data = trained(tmp.path());
    let cli_list: serde_json::Value = serde_json::from_str(&ok(kgrec(&data).args([
        "recommend",
        "--user",
        "1",
        "-k",
        "5",
        "--format",
        "json",
    ])))
    .unwrap();
    let cli_explained: serde_json::Value = serde_json::from_str(&ok(kgrec(&data).args([
        "recommend",
        "--user",
        "1",
        "-k",
        "5",
        "--explain",
        "--format",
        "json",
    ])))
    .unwrap();
    let cli_item: serde_json::Value = serde_json::from_str(&ok(kgrec(&data).args([
        "explain", "--user", "1", "--item", "423", "--format", "json",
    ])))
    .unwrap();
    let server = Server::start(&data, &[]);

    let list = server.get("/v1/users/1/recommendations?k=5");
    assert_eq!(list.status, 200, "{}", list.text());
    let list = list.json();
    assert_eq!(list["model_version"], 1);
    assert_eq!(without_version(list.clone()), cli_list);
    let first = &list["items"][0];
    assert!(first.get("paths").is_none() && first.get("score_parts").is_none());

    let explained = server.get("/v1/users/1/recommendations?k=5&explain=true");
    assert_eq!(explained.status, 200, "{}", explained.text());
    let explained = explained.json();
    assert_eq!(without_version(explained.clone()), cli_explained);
    let with_paths = explained["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| !i["paths"].as_array().unwrap().is_empty())
        .count();
    assert!(with_paths > 0, "{explained}");
    for item in explained["items"].as_array().unwrap() {
        assert!(item["score_parts"]["cf"].is_number(), "{item}");
        for path in item["paths"].as_array().unwrap() {
            assert_eq!(path["steps"][0]["from"]["user"], "1", "{path}");
        }
    }

    let one = server.get("/v1/users/1/explanations/423");
    assert_eq!(one.status, 200, "{}", one.text());
    assert_eq!(without_version(one.json()), cli_item);
    let unknown_user = server.get("/v1/users/nobody/explanations/423");
    assert_eq!(unknown_user.status, 404, "{}", unknown_user.text());
    assert_eq!(unknown_user.error_code(), "unknown_user");
    let unknown_item = server.get("/v1/users/1/explanations/nothing");
    assert_eq!(unknown_item.status, 404);
    assert_eq!(unknown_item.error_code(), "unknown_item");

    let similar = server.get("/v1/items/1/similar?k=3");
    assert_eq!(similar.status, 200, "{}", similar.text());
    let similar = similar.json();
    assert_eq!(similar["item"], "1");
    assert_eq!(similar["similar"].as_array().unwrap().len(), 3);
    assert!(
        similar["similar"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["item"] != "1")
    );
    let missing = server.get("/v1/items/nothing/similar");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error_code(), "unknown_item");

    // exclude and offset page through the same list.
    let all = items(&list);
    let excluded = server
        .get(&format!(
            "/v1/users/1/recommendations?k=5&exclude={}",
            all[0]
        ))
        .json();
    assert!(!items(&excluded).contains(&all[0]), "{excluded}");
    let page = server
        .get("/v1/users/1/recommendations?k=1&offset=1")
        .json();
    assert_eq!(items(&page), all[1..2].to_vec());
    assert_eq!(page["items"][0]["rank"], 2);

    // A user the store does not know: the popular items, flagged.
    let stranger = server.get("/v1/users/stranger/recommendations?k=3").json();
    assert_eq!(stranger["fallback"], "popularity", "{stranger}");
    // Its note says how ties on interaction count were ranked, as the command line does.
    let scores: Vec<f64> = stranger["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["score"].as_f64().unwrap())
        .collect();
    let tied = scores.windows(2).any(|w| w[0] == w[1]);
    let says_ties = stranger["note"]
        .as_str()
        .is_some_and(|n| n.contains("tie with"));
    assert_eq!(says_ties, tied, "{stranger}");
    assert!(server.terminate(30).success());
}

/// Two new users post the same items with mirrored ratings: the default model (rating
/// confidence) folds them in apart, from the ratings the posts carried.
#[test]
fn posted_ratings_weigh_in_a_fold_in() {
    let (_tmp, _data, server) = serving_trained();
    let items = ["1", "50", "181", "172", "174", "96"];
    let mut body = Vec::new();
    for (user, high) in [("fan-a", 0..3), ("fan-b", 3..6)] {
        for (k, item) in items.iter().enumerate() {
            let rating = if high.contains(&k) { 5 } else { 1 };
            body.push(serde_json::json!({"user": user, "item": item, "rating": rating}));
        }
    }
    let answer = server.post_json("/v1/interactions", &serde_json::to_string(&body).unwrap());
    assert_eq!(answer.status, 200, "{}", answer.text());
    let list = |user: &str| {
        let recs = server
            .get(&format!("/v1/users/{user}/recommendations?k=5"))
            .json();
        assert_eq!(recs["folded_in"], true, "{recs}");
        recs["items"].clone()
    };
    assert_ne!(list("fan-a"), list("fan-b"));
    assert!(server.terminate(30).success());
}

/// A new user posts 5 interactions; the next request folds them in, without those items. An
/// item an existing user posts leaves their list at once.
#[test]
fn a_new_user_is_folded_in_at_once() {
    let (_tmp, _data, server) = serving_trained();
    let posted = ["1", "50", "181", "172", "174"];
    let body: Vec<serde_json::Value> = posted
        .iter()
        .enumerate()
        .map(|(n, item)| serde_json::json!({"user": "newcomer", "item": item, "rating": 5, "timestamp": 1_700_000_000 + n}))
        .collect();
    let answer = server.post_json("/v1/interactions", &serde_json::to_string(&body).unwrap());
    assert_eq!(answer.status, 200, "{}", answer.text());
    let answer = answer.json();
    assert_eq!(answer["new_interactions"], 5, "{answer}");
    assert_eq!(answer["new_users"], 1, "{answer}");

    let recs = server.get("/v1/users/newcomer/recommendations?k=10");
    assert_eq!(recs.status, 200, "{}", recs.text());
    let recs = recs.json();
    assert_eq!(recs["folded_in"], true, "{recs}");
    assert!(recs.get("fallback").is_none(), "{recs}");
    assert_eq!(recs["items"].as_array().unwrap().len(), 10);
    for item in items(&recs) {
        assert!(
            !posted.contains(&item.as_str()),
            "{item} was posted: {recs}"
        );
    }
    let explained = server
        .get("/v1/users/newcomer/recommendations?k=3&explain=true")
        .json();
    assert_eq!(explained["folded_in"], true, "{explained}");

    // A trained user's top item, posted (ids may be numbers), is gone from the next list, and
    // the model still ranks the rest (user 1 has 2 of the 24 fixture items left).
    let before = server.get("/v1/users/1/recommendations?k=2").json();
    assert!(before.get("folded_in").is_none(), "{before}");
    let before = items(&before);
    assert_eq!(before.len(), 2);
    let top: u64 = before[0].parse().unwrap();
    let answer = server.post_json(
        "/v1/interactions",
        &format!(r#"[{{"user": 1, "item": {top}}}]"#),
    );
    assert_eq!(answer.status, 200, "{}", answer.text());
    let after = server.get("/v1/users/1/recommendations?k=2").json();
    assert!(after.get("folded_in").is_none(), "{after}");
    assert_eq!(items(&after), before[1..], "{before:?} -> {after}");

    // An item new to the store is stored, but the served model learns of it at the next
    // rebuild: never recommended, and its explanation says why.
    let answer = server.post_json("/v1/interactions", r#"[{"user": 1, "item": "brand-new"}]"#);
    assert_eq!(answer.json()["new_items"], 1);
    assert_eq!(
        items(&server.get("/v1/users/1/recommendations?k=2").json()),
        before[1..]
    );
    let why = server.get("/v1/users/1/explanations/brand-new");
    assert_eq!(
        (why.status, why.error_code().as_str()),
        (400, "bad_request")
    );
    assert!(why.text().contains("rebuild"), "{}", why.text());

    let metrics = server.get("/metrics").text();
    for line in [
        "kgrec_interactions_written_total 7\n",
        "kgrec_interaction_writes_total 3\n",
        "kgrec_interaction_flushes_total 3\n",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    // A changed rating in an older row keeps the stored, newer one, and says so (it was
    // counted as unchanged in silence).
    // An ISO 8601 timestamp is read as the CLI reads it (2020-09-13: before the stored one).
    let older = r#"[{"user": "newcomer", "item": "1", "rating": 2, "timestamp": "2020-09-13"}]"#;
    let answer = server.post_json("/v1/interactions", older).json();
    assert_eq!(answer["older_ratings_kept_stored"], 1, "{answer}");
    let said = answer["notes"].to_string();
    assert!(
        said.contains("newcomer, 1: rating 2 in an older row, stored 5 kept"),
        "{answer}"
    );
    assert!(server.terminate(30).success());
}

/// Interactions acknowledged with 200 survive `kill -9`: 8 clients post single interactions at
/// once (so the server commits them in groups) and the server is killed while they still post;
/// after a restart every acknowledged interaction is there (and none that was never posted).
#[test]
fn acknowledged_interactions_survive_kill_9() {
    let tmp = tempfile::tempdir().unwrap();
    let data = trained(tmp.path());
    let catalogue: Vec<String> = std::fs::read_to_string(fixture("interactions.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(1).unwrap().to_owned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(catalogue.len(), 24);
    let server = Server::start(&data, &[]);
    let addr = server.addr.clone();
    let clients = 8;
    let acknowledged = AtomicUsize::new(0);
    let posted: Vec<(Vec<String>, Vec<String>)> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..clients)
            .map(|c| {
                let (addr, catalogue, acknowledged) = (&addr, &catalogue, &acknowledged);
                scope.spawn(move || {
                    let (mut attempted, mut acked) = (Vec::new(), Vec::new());
                    for item in catalogue.iter().cycle().skip(c * 3).take(catalogue.len()) {
                        let body = format!(r#"[{{"user": "durable-{c}", "item": "{item}"}}]"#);
                        attempted.push(item.clone());
                        let headers = [("Content-Type", "application/json")];
                        match http(addr, "POST", "/v1/interactions", &headers, body.as_bytes()) {
                            Ok(answer) if answer.status == 200 => {
                                acked.push(item.clone());
                                acknowledged.fetch_add(1, Ordering::SeqCst);
                            }
                            Ok(answer) => panic!("{}: {}", answer.status, answer.text()),
                            Err(_) => break,
                        }
                    }
                    (attempted, acked)
                })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(120);
        while acknowledged.load(Ordering::SeqCst) < 60 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        server.kill9();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let acked: usize = posted.iter().map(|(_, a)| a.len()).sum();
    assert!(acked >= 60, "only {acked} acknowledged");

    let server = Server::start(&data, &[]);
    for (c, (attempted, acked)) in posted.iter().enumerate() {
        let recs = server
            .get(&format!("/v1/users/durable-{c}/recommendations?k=24"))
            .json();
        // The list is every catalogue item the user does not have: the rest is stored.
        let listed = items(&recs);
        let stored: BTreeSet<&String> = catalogue.iter().filter(|i| !listed.contains(i)).collect();
        for item in acked {
            assert!(
                stored.contains(item),
                "durable-{c} {item} acknowledged, lost: {recs}"
            );
        }
        for item in &stored {
            assert!(
                attempted.contains(item),
                "durable-{c} {item} never posted: {recs}"
            );
        }
        if !acked.is_empty() {
            assert_eq!(recs["folded_in"], true, "{recs}");
        }
    }
    assert!(server.terminate(30).success());
}

/// A rebuild while readers keep asking: every answer is 2xx, and the served version changes
/// from the old one to the new one.
#[test]
fn a_rebuild_swaps_the_model_under_load_without_errors() {
    let (_tmp, _data, server) = serving_trained();
    let stop = AtomicBool::new(false);
    let answered = AtomicUsize::new(0);
    let versions = std::sync::Mutex::new(BTreeSet::new());
    let failures = std::sync::Mutex::new(Vec::new());
    let deadline = Instant::now() + Duration::from_secs(120);
    std::thread::scope(|scope| {
        for t in 0..3 {
            let (server, stop, answered, versions, failures) =
                (&server, &stop, &answered, &versions, &failures);
            scope.spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    let user = (n * 3 + t) % 40 + 1;
                    let explain = if n % 4 == 0 { "&explain=true" } else { "" };
                    let answer =
                        server.get(&format!("/v1/users/{user}/recommendations?k=3{explain}"));
                    if answer.status / 100 == 2 {
                        let v = answer.json()["model_version"].as_u64().unwrap();
                        versions.lock().unwrap().insert(v);
                    } else {
                        failures.lock().unwrap().push(answer.text());
                    }
                    answered.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
            });
        }
        // Readers first, then the rebuild, then readers until it is done and a little after.
        while answered.load(Ordering::Relaxed) < 30 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let started = server.post_json("/v1/admin/rebuild", r#"{"model": "als", "seed": 7}"#);
        assert_eq!(started.status, 202, "{}", started.text());
        let id = started.json()["id"].as_str().unwrap().to_owned();
        let job = wait_for_job(&server, &id);
        assert_eq!(job["status"], "done", "{job}");
        assert_eq!(job["version"], 2, "{job}");
        let after = answered.load(Ordering::Relaxed);
        while answered.load(Ordering::Relaxed) < after + 30 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        stop.store(true, Ordering::Relaxed);
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "non-2xx answers: {failures:?}");
    let versions = versions.into_inner().unwrap();
    assert_eq!(versions, BTreeSet::from([1, 2]), "versions served");
    let models = server.get("/v1/models").json();
    assert_eq!(models["current"], 2, "{models}");
    assert_eq!(models["versions"][1]["model"], "als", "{models}");
    assert_eq!(models["versions"][1]["seed"], 7, "{models}");
    // A rebuild with no body refreshes the current learner (als here, not the default cke).
    let refresh = server.request("POST", "/v1/admin/rebuild", &[], b"");
    assert_eq!(refresh.status, 202, "{}", refresh.text());
    let job = wait_for_job(&server, refresh.json()["id"].as_str().unwrap());
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["model"], "als", "{job}");
    let models = server.get("/v1/models").json();
    assert_eq!(models["current"], 3, "{models}");
    assert!(server.terminate(30).success());
}

/// One rebuild at a time (409 naming the running job); SIGTERM during a long rebuild stops the
/// server promptly with status 0 and writes nothing.
#[test]
fn one_rebuild_at_a_time_and_shutdown_abandons_it() {
    let (_tmp, data, server) = serving_trained();
    let long = r#"{"model": "bpr", "overrides": {"epochs": 1000000}}"#;
    let started = server.post_json("/v1/admin/rebuild", long);
    assert_eq!(started.status, 202, "{}", started.text());
    let id = started.json()["id"].as_str().unwrap().to_owned();
    let second = server.post_json("/v1/admin/rebuild", "{}");
    assert_eq!(second.status, 409, "{}", second.text());
    assert_eq!(second.error_code(), "rebuild_running");
    assert_eq!(second.json()["id"], id.as_str());
    // Served meanwhile by version 1.
    let recs = server.get("/v1/users/1/recommendations?k=2");
    assert_eq!(recs.status, 200, "{}", recs.text());
    assert_eq!(recs.json()["model_version"], 1);
    let job = server.get(&format!("/v1/admin/jobs/{id}")).json();
    assert_eq!(job["status"], "running", "{job}");
    // The record shows the defaults as they were given (0.02), not as an f32 widened (0.0199999...).
    assert_eq!(job["spec"]["params"]["learning_rate"], 0.02, "{job}");
    assert_eq!(server.get("/v1/admin/jobs/999").status, 404);
    // Bad specs are refused before any job starts.
    for (body, needle) in [
        (r#"{"model": "nope"}"#, "no such learner"),
        (
            r#"{"model": "als", "overrides": {"dimm": 3}}"#,
            "unknown field \"dimm\"",
        ),
        (
            r#"{"model": "pop", "overrides": {"dim": 3}}"#,
            "\"dim\" does not apply to \"model\" pop",
        ),
        (r#"{"model": "als", "colour": 1}"#, "unknown field `colour`"),
        (r#"{"keep": 0}"#, "keep at least 1"),
        (r#"{"model": "pop", "seed": 4}"#, "a seed does not apply"),
        (r#"{"model": "als", "overrides": {"dim": 0}}"#, "factors"),
    ] {
        let refused = server.post_json("/v1/admin/rebuild", body);
        assert_eq!(refused.status, 400, "{body}: {}", refused.text());
        let message = refused.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains(needle), "{body}: {message}");
    }

    let start = Instant::now();
    let status = server.terminate(30);
    assert!(status.success(), "{status}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        stats(&data)["models"],
        serde_json::json!(["v1 cke (current)"])
    );
}

/// A bad request and the error it must get.
struct Bad {
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, &'static str)>,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
}

impl Bad {
    /// A request with a JSON `Content-Type` (replaced by [`Bad::header`]).
    fn new(method: &'static str, path: &str, body: &[u8], status: u16, code: &'static str) -> Self {
        Self {
            method,
            path: path.to_owned(),
            headers: vec![("Content-Type", "application/json")],
            body: body.to_vec(),
            status,
            code,
        }
    }

    fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.retain(|(k, _)| *k != name);
        self.headers.push((name, value));
        self
    }
}

/// Bad requests each get a clear 4xx, and the server keeps serving.
#[test]
fn bad_requests_get_clear_errors_and_the_server_keeps_serving() {
    let (_tmp, _data, server) = serving_trained();
    let long_id = "x".repeat(10 * 1024);
    let huge = vec![b'['; 10 * 1024 * 1024];
    let json = |body: &[u8], status, code| Bad::new("POST", "/v1/interactions", body, status, code);
    let get = |path: &str, status, code| Bad::new("GET", path, b"", status, code);
    let bad = "bad_parameter";
    let cases = [
        json(b"[{\"user\": \"a\", ", 400, "bad_json"),
        json(br#"{"user": "a", "item": "1"}"#, 400, "bad_json"),
        json(
            br#"[{"user": "a", "item": "1", "colour": "red"}]"#,
            400,
            "bad_json",
        ),
        json(
            br#"[{"user": "a", "item": "1", "rating": "five"}]"#,
            400,
            "bad_json",
        ),
        json(br#"[{"user": "", "item": "1"}]"#, 400, bad),
        json(
            br#"[{"user": "a", "item": "1", "timestamp": 1709287200000}]"#,
            400,
            bad,
        ),
        json(b"[]", 400, bad),
        json(b"[]", 415, "unsupported_media_type").header("Content-Type", "text/plain"),
        json(
            format!(r#"[{{"user": "{long_id}", "item": "1"}}]"#).as_bytes(),
            400,
            bad,
        ),
        json(&huge, 413, "body_too_large"),
        get("/v1/users/1/recommendations?k=-1", 400, bad),
        get("/v1/users/1/recommendations?k=0", 400, bad),
        get("/v1/users/1/recommendations?k=1000000000000", 400, bad),
        get("/v1/users/1/recommendations?k=500&explain=true", 400, bad),
        get("/v1/users/1/recommendations?offset=-3", 400, bad),
        get("/v1/users/1/recommendations?explain=perhaps", 400, bad),
        get("/v1/users/1/recommendations?kk=3", 400, bad),
        get("/v1/users/1/recommendations?paths=2", 400, bad),
        get(
            "/v1/users/1/recommendations?filter=genre:Comedy",
            400,
            "bad_filter",
        ),
        get(
            "/v1/users/1/recommendations?filter=nope:x=y",
            400,
            "bad_filter",
        ),
        get(
            &format!(
                "/v1/users/1/recommendations?{}",
                vec!["filter=rdf:type=dbo:Film"; 17].join("&")
            ),
            400,
            bad,
        ),
        get(&format!("/v1/users/{long_id}/recommendations"), 400, bad),
        get(&format!("/v1/items/{long_id}/similar"), 400, bad),
        get("/v1/items/1/similar?k=100000", 400, bad),
        get(
            &format!(
                "/sparql?query={}",
                form_encode("INSERT DATA { <http://e/a> <http://e/b> <http://e/c> }")
            ),
            400,
            "read_only",
        ),
        Bad::new("POST", "/sparql", b"CLEAR ALL", 400, "read_only")
            .header("Content-Type", "application/sparql-update"),
        Bad::new("POST", "/sparql", b"update=CLEAR%20ALL", 400, "read_only")
            .header("Content-Type", "application/x-www-form-urlencoded"),
        get("/sparql?query=SELEC%20nonsense", 400, "bad_query"),
        get("/sparql", 400, bad),
        get("/sparql?query=ASK%7B%7D", 406, "not_acceptable").header("Accept", "image/png"),
        get("/v1/nothing", 404, "not_found"),
        Bad::new("DELETE", "/v1/models", b"", 405, "method_not_allowed"),
        get("/v1/admin/jobs/none", 404, "unknown_job"),
    ];
    for Bad {
        method,
        path,
        headers,
        body,
        status,
        code,
    } in cases
    {
        let shown = path.chars().take(80).collect::<String>();
        let answer = server.request(method, &path, &headers, &body);
        assert_eq!(answer.status, status, "{method} {shown}: {}", answer.text());
        assert_eq!(
            answer.error_code(),
            code,
            "{method} {shown}: {}",
            answer.text()
        );
        let message = answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.len() < 1000, "{method} {shown}: {message}");
        // Still serving.
        let recs = server.get("/v1/users/1/recommendations?k=1");
        assert_eq!(recs.status, 200, "after {method} {shown}: {}", recs.text());
    }
    // The error JSON says what was wrong.
    let unknown = server.post_json(
        "/v1/interactions",
        r#"[{"user": "a", "item": "1", "colour": "red"}]"#,
    );
    assert!(
        unknown.text().contains("unknown field `colour`"),
        "{}",
        unknown.text()
    );
    let k = server.get("/v1/users/1/recommendations?k=-1");
    assert!(
        k.text()
            .contains("k=-1: expected a whole number from 1 to 1000"),
        "{}",
        k.text()
    );
    // A rating too large for the stored float is named as such, not as "inf".
    let huge = server.post_json(
        "/v1/interactions",
        r#"[{"user": "a", "item": "1", "rating": 1e308}]"#,
    );
    assert_eq!(huge.status, 400, "{}", huge.text());
    assert!(
        huge.text().contains("rating 1e308 is out of range"),
        "{}",
        huge.text()
    );
    // White space alone is no id, as in a file.
    let blank = server.post_json("/v1/interactions", r#"[{"user": "   ", "item": "1"}]"#);
    assert_eq!(blank.status, 400, "{}", blank.text());
    assert!(
        blank.text().contains("white space only"),
        "{}",
        blank.text()
    );
    // An excluded id that names no item is said, as the command line warns of it.
    let recs = server.get("/v1/users/1/recommendations?k=3&exclude=50,NOPE");
    assert_eq!(recs.status, 200, "{}", recs.text());
    assert_eq!(recs.json()["unknown_excluded"], serde_json::json!(["NOPE"]));
    let plain = server.get("/v1/users/1/recommendations?k=3&exclude=50");
    assert!(
        plain.json().get("unknown_excluded").is_none(),
        "{}",
        plain.text()
    );
    assert!(server.terminate(30).success());
}

/// `/sparql` answers as `kgrec sparql` does, by GET, by form and by query body, in every
/// negotiated format.
#[test]
fn sparql_protocol_answers_as_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    let select = "SELECT ?film ?director WHERE { ?film <http://dbpedia.org/ontology/director> ?director } ORDER BY ?film ?director";
    let cli: serde_json::Value = serde_json::from_str(&ok(
        kgrec(&data).args(["sparql", "--format", "json", select])
    ))
    .unwrap();
    assert!(cli["results"]["bindings"].as_array().unwrap().len() > 10);
    let cli_csv = ok(kgrec(&data).args(["sparql", "--format", "csv", select]));
    let server = Server::start(&data, &[]);
    let encoded: String = form_encode(select);

    let get = server.request(
        "GET",
        &format!("/sparql?query={encoded}"),
        &[("Accept", "application/sparql-results+json")],
        b"",
    );
    assert_eq!(get.status, 200, "{}", get.text());
    assert_eq!(
        get.header("content-type"),
        Some("application/sparql-results+json")
    );
    assert_eq!(get.json(), cli);
    let form = server.request(
        "POST",
        "/sparql",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("query={encoded}").as_bytes(),
    );
    assert_eq!(form.status, 200, "{}", form.text());
    assert_eq!(form.json(), cli);
    let body = server.request(
        "POST",
        "/sparql",
        &[
            ("Content-Type", "application/sparql-query"),
            ("Accept", "text/csv"),
        ],
        select.as_bytes(),
    );
    assert_eq!(body.status, 200, "{}", body.text());
    assert_eq!(body.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(body.text(), cli_csv);
    for (accept, media) in [
        (
            "application/sparql-results+xml",
            "application/sparql-results+xml",
        ),
        (
            "text/tab-separated-values",
            "text/tab-separated-values; charset=utf-8",
        ),
        (
            "text/csv;q=0.2, application/sparql-results+xml;q=0.9",
            "application/sparql-results+xml",
        ),
    ] {
        let answer = server.request(
            "GET",
            &format!("/sparql?query={encoded}"),
            &[("Accept", accept)],
            b"",
        );
        assert_eq!(answer.status, 200, "{accept}: {}", answer.text());
        assert_eq!(answer.header("content-type"), Some(media), "{accept}");
        assert!(answer.text().contains("John_Lasseter"), "{accept}");
    }
    let ask = server.get(&format!(
        "/sparql?query={}",
        form_encode("ASK { ?s ?p ?o }")
    ));
    assert_eq!(ask.json()["boolean"], true, "{}", ask.text());

    let construct = form_encode(
        "CONSTRUCT { ?f <http://e/by> ?d } WHERE { ?f <http://dbpedia.org/ontology/director> ?d }",
    );
    let nt = server.get(&format!("/sparql?query={construct}"));
    assert_eq!(nt.status, 200, "{}", nt.text());
    assert_eq!(nt.header("content-type"), Some("application/n-triples"));
    assert!(nt.text().lines().count() > 10 && nt.text().lines().all(|l| l.ends_with(" .")));
    let ttl = server.request(
        "GET",
        &format!("/sparql?query={construct}"),
        &[("Accept", "text/turtle")],
        b"",
    );
    assert_eq!(
        ttl.header("content-type"),
        Some("text/turtle; charset=utf-8")
    );
    assert!(ttl.text().contains("<http://e/by>"), "{}", ttl.text());
    let refused = server.request(
        "GET",
        &format!("/sparql?query={construct}"),
        &[("Accept", "application/sparql-results+json")],
        b"",
    );
    assert_eq!(refused.status, 406, "{}", refused.text());
    assert!(server.terminate(30).success());
}

const ANIMATED: &str = "dct:subject=dbc:1990s_American_animated_films";
const COMEDY: &str = "dct:subject=dbc:1990s_comedy_films";

/// A recommendation path with `filter=` parameters (encoded) after `query`.
fn filtered(user: &str, query: &str, filters: &[&str]) -> String {
    let mut path = format!("/v1/users/{user}/recommendations?{query}");
    for f in filters {
        path.push_str(&format!("&filter={}", form_encode(f)));
    }
    path
}

/// `filter=` keeps the items whose entity has the graph facts: two conditions at once (AND),
/// several values of one (OR), with exclude and explain, as the command line answers; a filter
/// that matches nothing is an empty 200 with a note; an unknown predicate or value a 400 that
/// names it. (Fixtures: the 1990s American animated films are items 1, 71 and 95, the comedies
/// among them 1 and 95; user 653 has item 1.)
#[test]
fn filters_restrict_recommendations_by_graph_facts() {
    let tmp = tempfile::tempdir().unwrap();
    let data = trained(tmp.path());
    let cli: serde_json::Value = serde_json::from_str(&ok(kgrec(&data).args([
        "recommend",
        "--user",
        "653",
        "--filter",
        ANIMATED,
        "--filter",
        COMEDY,
        "--format",
        "json",
    ])))
    .unwrap();
    let server = Server::start(&data, &[]);

    let both = server.get(&filtered("653", "k=5", &[ANIMATED, COMEDY]));
    assert_eq!(both.status, 200, "{}", both.text());
    let both = both.json();
    assert_eq!(items(&both), ["95"], "{both}");
    assert_eq!(both["filter"]["matching_items"], 2, "{both}");
    assert_eq!(
        both["filter"]["conditions"][1],
        "<http://purl.org/dc/terms/subject>=<http://dbpedia.org/resource/Category:1990s_comedy_films>"
    );
    assert!(
        both["note"].as_str().unwrap().contains("only 1 item"),
        "{both}"
    );
    assert_eq!(without_version(both.clone()), cli);

    let either = server
        .get(&filtered(
            "653",
            "k=5",
            &["dct:subject=dbc:1990s_comedy_films|dbc:1990s_adventure_films"],
        ))
        .json();
    let got = sorted_items(&either);
    assert_eq!(got, ["71", "95"], "{either}");
    // Full IRIs in angle brackets work as well as prefixed names.
    let full = server
        .get(&filtered(
            "653",
            "k=5",
            &["<http://purl.org/dc/terms/subject>=<http://dbpedia.org/resource/Category:1990s_American_animated_films>"],
        ))
        .json();
    let got = sorted_items(&full);
    assert_eq!(got, ["71", "95"], "{full}");

    let explained = server.get(&filtered("653", "k=5&explain=true&exclude=95", &[ANIMATED]));
    assert_eq!(explained.status, 200, "{}", explained.text());
    let explained = explained.json();
    assert_eq!(items(&explained), ["71"], "{explained}");
    assert!(
        explained["items"][0]["score_parts"].is_object(),
        "{explained}"
    );
    assert_eq!(explained["filter"]["matching_items"], 3, "{explained}");
    assert!(explained.get("truncated").is_none(), "{explained}");

    let stranger = server.get(&filtered("stranger", "k=5", &[ANIMATED])).json();
    assert_eq!(stranger["fallback"], "popularity", "{stranger}");
    let got = sorted_items(&stranger);
    assert_eq!(got, ["1", "71", "95"], "{stranger}");

    let nothing = server.get(&filtered("653", "k=5", &["dbo:director=dbr:Al_Pacino"]));
    assert_eq!(nothing.status, 200, "{}", nothing.text());
    let nothing = nothing.json();
    assert_eq!(nothing["items"], serde_json::json!([]), "{nothing}");
    assert_eq!(
        nothing["note"], "no entity of the graph satisfies the filter",
        "{nothing}"
    );

    for (filter, needles) in [
        (
            "dbo:genre=dbr:Comedy_film",
            &[
                "the graph has no predicate dbo:genre",
                "relations in the graph include",
            ][..],
        ),
        (
            "dct:subject=dbc:Comedy_films",
            &[
                "the graph has no entity dbc:Comedy_films",
                "values of dct:subject include dbc:1990s_comedy_films",
            ][..],
        ),
    ] {
        let refused = server.get(&filtered("653", "k=5", &[ANIMATED, filter]));
        assert_eq!(refused.status, 400, "{filter}: {}", refused.text());
        assert_eq!(refused.error_code(), "bad_filter");
        let text = refused.text();
        for needle in needles {
            assert!(text.contains(needle), "{filter}: {text}");
        }
    }
    assert!(server.terminate(30).success());
}

/// An explain budget of 0 ms answers 200 with score parts, no paths and "truncated": true; a
/// SPARQL query past its time limit is cancelled and answered 503, and the server serves on.
#[test]
fn time_limits_truncate_explanations_and_cancel_sparql_queries() {
    let tmp = tempfile::tempdir().unwrap();
    let data = trained(tmp.path());
    let server = Server::start(
        &data,
        &["--explain-timeout-ms", "0", "--sparql-timeout-ms", "1"],
    );
    let explained = server.get("/v1/users/653/recommendations?k=3&explain=true");
    assert_eq!(explained.status, 200, "{}", explained.text());
    let explained = explained.json();
    assert_eq!(explained["truncated"], true, "{explained}");
    assert_eq!(
        explained["items"].as_array().unwrap().len(),
        2,
        "{explained}"
    );
    for item in explained["items"].as_array().unwrap() {
        assert_eq!(item["paths"], serde_json::json!([]), "{item}");
        assert!(item["score_parts"]["cf"].is_number(), "{item}");
    }
    let one = server.get("/v1/users/653/explanations/71").json();
    assert_eq!(one["truncated"], true, "{one}");

    let cross_join = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }";
    let started = Instant::now();
    let slow = server.get(&format!("/sparql?query={}", form_encode(cross_join)));
    assert_eq!(slow.status, 503, "{}", slow.text());
    assert_eq!(slow.error_code(), "query_timeout");
    assert!(
        slow.text().contains("--sparql-timeout-ms"),
        "{}",
        slow.text()
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "answered after {:?}",
        started.elapsed()
    );
    let live = server.get("/health/live");
    assert_eq!(live.status, 200);
    let recs = server.get("/v1/users/653/recommendations?k=1");
    assert_eq!(recs.status, 200, "{}", recs.text());
    assert!(server.terminate(30).success());
}

/// SIGTERM while a request is in flight (its body half sent): the server stops accepting, the
/// request finishes with 200 and is written, and the server exits with status 0.
#[test]
fn sigterm_lets_the_request_in_flight_finish() {
    use std::io::{Read, Write};
    let tmp = tempfile::tempdir().unwrap();
    let data = trained(tmp.path());
    let before = stats(&data)["interactions"].as_u64().unwrap();
    let server = Server::start(&data, &[]);
    let body = br#"[{"user": "late", "item": "1"}, {"user": "late", "item": "50"}]"#;
    let mut stream = std::net::TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "POST /v1/interactions HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        server.addr,
        body.len()
    )
    .unwrap();
    stream.write_all(&body[..10]).unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.sigterm();
    // Soon no new connection is answered (refused, or closed unanswered).
    let deadline = Instant::now() + Duration::from_secs(20);
    while http(&server.addr, "GET", "/health/live", &[], b"").is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting 20 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    stream.write_all(&body[10..]).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let status = server.wait(30);
    assert!(status.success(), "{status}");
    assert_eq!(stats(&data)["interactions"].as_u64().unwrap(), before + 2);
}

/// A rebuild naming a tuned learner trains it with the tuning's choice, as `kgrec train
/// --model M` does; with no model yet, a bodiless rebuild trains the learner tuning found best.
#[test]
fn a_rebuild_uses_what_tune_chose() {
    let tmp = tempfile::tempdir().unwrap();
    let data = untrained(tmp.path());
    let tuned: serde_json::Value = serde_json::from_str(&ok(kgrec(&data).args([
        "tune",
        "--models",
        "als",
        "--trials",
        "6",
        "--budget",
        "60s",
        "--no-train",
        "--format",
        "json",
    ])))
    .unwrap();
    ok(kgrec(&data).args(["train", "--model", "als", "--quiet"]));
    let server = Server::start(&data, &[]);
    let started = server.post_json("/v1/admin/rebuild", r#"{"model": "als"}"#);
    assert_eq!(started.status, 202, "{}", started.text());
    let job = wait_for_job(&server, started.json()["id"].as_str().unwrap());
    assert_eq!(job["status"], "done", "{job}");
    let models = server.get("/v1/models").json();
    assert!(server.terminate(30).success());
    let params = |m: &serde_json::Value, version: u64| {
        m["versions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["version"] == version)
            .map(|v| v["params"].clone())
            .unwrap()
    };
    assert_eq!(
        params(&models, 2),
        params(&models, 1),
        "HTTP and CLI train the same tuned spec; tuning chose {}",
        tuned["learners"][0]["overrides"]
    );
}
