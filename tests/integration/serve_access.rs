//! `kgrec serve`'s guards end to end: keys by role, the bind check, per-client rate limits,
//! request ids and the rejected-request metrics.

use crate::common::*;
use crate::serve::trained;

const API_KEY: &str = "api-key-for-the-tests-0123456789";
const READ_KEY: &str = "read-key-for-the-tests-987654321";

fn interactions(data: &std::path::Path) -> u64 {
    stats(data)["interactions"].as_u64().unwrap()
}

/// Writes and admin without the API key (none or wrong: 401; the read key: 403) change
/// nothing; reads need the read key or the API key; health stays open; metrics, guarded,
/// need a key and count the rejections; every answer carries a request id.
#[test]
fn keys_open_what_their_role_allows_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let data = trained(tmp.path());
    let before = interactions(&data);
    let key_file = tmp.path().join("api.key");
    std::fs::write(&key_file, format!("{API_KEY}\n")).unwrap();
    let server = Server::start(
        &data,
        &[
            "--api-key-file",
            key_file.to_str().unwrap(),
            "--read-key",
            READ_KEY,
            "--guard",
            "metrics",
        ],
    );
    assert!(
        server.log().contains("writes and admin need the API key"),
        "{}",
        server.log()
    );
    let bearer = |key: &str| format!("Bearer {key}");
    let body = br#"[{"user": "intruder", "item": "1"}]"#;
    let wrong = bearer("api-key-for-the-tests-0123456780");
    let read = bearer(READ_KEY);
    for auth in [None, Some(wrong.as_str()), Some(read.as_str())] {
        let mut headers = vec![("Content-Type", "application/json")];
        headers.extend(auth.map(|a| ("Authorization", a)));
        // The read key is a valid key without the right: 403 says so; no key or a wrong one
        // is 401.
        let (status, code) = match auth == Some(read.as_str()) {
            true => (403, "forbidden"),
            false => (401, "unauthorized"),
        };
        let post = server.request("POST", "/v1/interactions", &headers, body);
        assert_eq!(post.status, status, "{auth:?}: {}", post.text());
        assert_eq!(post.error_code(), code);
        if status == 401 {
            assert_eq!(post.header("www-authenticate"), Some("Bearer"));
        }
        let rebuild = server.request("POST", "/v1/admin/rebuild", &headers, b"");
        assert_eq!(rebuild.status, status, "{auth:?}: {}", rebuild.text());
        let job = server.request("GET", "/v1/admin/jobs/1", &headers, b"");
        assert_eq!(job.status, status, "{auth:?}");
    }
    // The same answer whether the key is missing or wrong: nothing tells which.
    let missing = server.request("POST", "/v1/interactions", &[], body);
    let wrong_one = server.request("POST", "/v1/interactions", &[("X-API-Key", "x")], body);
    assert_eq!(missing.body, wrong_one.body);

    let recs = "/v1/users/1/recommendations?k=3";
    assert_eq!(server.get(recs).status, 401);
    assert_eq!(
        server
            .request("GET", recs, &[("Authorization", &read)], b"")
            .status,
        200
    );
    assert_eq!(
        server
            .request("GET", recs, &[("X-API-Key", API_KEY)], b"")
            .status,
        200
    );
    let sparql = "/sparql?query=ASK%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D";
    assert_eq!(server.get(sparql).status, 401);
    assert_eq!(
        server
            .request("GET", sparql, &[("X-API-Key", READ_KEY)], b"")
            .status,
        200
    );
    assert_eq!(server.get("/health/ready").status, 200);
    assert_eq!(server.get("/metrics").status, 401);

    // With the API key, a write goes through.
    let post = server.request(
        "POST",
        "/v1/interactions",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &bearer(API_KEY)),
        ],
        br#"[{"user": "welcome", "item": "1"}]"#,
    );
    assert_eq!(post.status, 200, "{}", post.text());

    let metrics = server.request("GET", "/metrics", &[("X-API-Key", READ_KEY)], b"");
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    let rejected = |reason: &str| {
        let prefix = format!("kgrec_http_rejected_total{{reason=\"{reason}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("{text}"))
            .to_owned()
    };
    assert_eq!(rejected("unauthorized"), "11", "{text}");
    assert_eq!(rejected("forbidden"), "3", "{text}");

    // Request ids: made up when absent, kept when given.
    let made = server.get("/health/live");
    let id = made.header("x-request-id").unwrap();
    assert!(id.len() >= 16, "{id}");
    assert_ne!(server.get("/health/live").header("x-request-id"), Some(id));
    let kept = server.request("GET", "/health/live", &[("X-Request-Id", "trace-42")], b"");
    assert_eq!(kept.header("x-request-id"), Some("trace-42"));
    assert!(server.terminate(30).success());
    assert_eq!(
        interactions(&data),
        before + 1,
        "only the keyed write landed"
    );
}

/// Beyond loopback, writes need a key: `serve` refuses to start without one (before it binds).
#[test]
fn an_open_service_is_refused_beyond_loopback() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    let out = run(kgrec(&data).args(["serve", "--addr", "0.0.0.0:0"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("refusing to listen on 0.0.0.0:0 without --api-key"),
        "{err}"
    );
    assert!(err.contains("--allow-open-writes"), "{err}");
    let short = run(kgrec(&data).args(["serve", "--api-key", "short"]));
    assert_eq!(short.status.code(), Some(2));
    assert!(stderr(&short).contains("at least 16"), "{}", stderr(&short));
    // The key never shows in --help, even when it comes from the environment.
    let help = run(kgrec(&data)
        .args(["serve", "--help"])
        .env("KGREC_API_KEY", API_KEY));
    assert!(!stdout(&help).contains(API_KEY));
    assert!(stdout(&help).contains("KGREC_API_KEY"));
}

/// `--rate-limit N`: a client over N requests a second gets 429 with Retry-After; health checks
/// are not counted.
#[test]
fn clients_over_their_rate_get_429() {
    let tmp = tempfile::tempdir().unwrap();
    let data = trained(tmp.path());
    let server = Server::start(&data, &["--rate-limit", "3"]);
    let statuses: Vec<u16> = (0..12)
        .map(|_| server.get("/v1/users/1/recommendations?k=2").status)
        .collect();
    assert!(statuses.contains(&200), "{statuses:?}");
    let limited = server.get("/v1/users/1/recommendations?k=2");
    assert_eq!(limited.status, 429, "{statuses:?}");
    assert_eq!(limited.error_code(), "rate_limited");
    assert!(limited.header("retry-after").is_some());
    for _ in 0..10 {
        assert_eq!(server.get("/health/live").status, 200);
    }
    assert!(server.terminate(30).success());
}

fn sparql_get(server: &Server, query: &str) -> HttpResponse {
    server.get(&format!("/sparql?query={}", form_encode(query)))
}

const EXPLODING: &str =
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }";

/// A query built to explode (every triple joined with every triple, four times) is answered
/// 503 at `--sparql-timeout-ms`, recommendations are answered all the while, and a second query
/// that finds the one worker busy and no queue gets 503 `sparql_busy`.
#[test]
fn an_exploding_query_is_bounded_and_recommendations_go_on() {
    let tmp = tempfile::tempdir().unwrap();
    let data = trained(tmp.path());
    let server = Server::start(
        &data,
        &[
            "--sparql-timeout-ms",
            "1500",
            "--sparql-workers",
            "1",
            "--sparql-queue",
            "0",
        ],
    );
    let addr = server.addr.clone();
    let heavy = std::thread::spawn(move || {
        let start = std::time::Instant::now();
        let path = format!("/sparql?query={}", form_encode(EXPLODING));
        let answer = http(&addr, "GET", &path, &[], b"").unwrap();
        (answer, start.elapsed())
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let busy = sparql_get(&server, "ASK { ?s ?p ?o }");
    assert_eq!(busy.status, 503, "{}", busy.text());
    assert_eq!(busy.error_code(), "sparql_busy");
    assert_eq!(busy.header("retry-after"), Some("1"));
    let mut answered = 0;
    while !heavy.is_finished() {
        let recs = server.get("/v1/users/1/recommendations?k=5");
        assert_eq!(recs.status, 200, "{}", recs.text());
        answered += 1;
    }
    let (answer, took) = heavy.join().unwrap();
    assert_eq!(answer.status, 503, "{}", answer.text());
    assert_eq!(answer.error_code(), "query_timeout");
    // Answered at the limit (1.5 s) and the quarter second a cancelled query gets to answer.
    assert!(took.as_secs_f64() < 3.0, "{took:?}");
    assert!(answered > 5, "{answered} recommendations during the query");
    // The query ignored its cancellation (the join builds from what it read already): its
    // worker was ended and another started, so the next query is answered, not `sparql_busy`.
    let start = std::time::Instant::now();
    let next = loop {
        let next = sparql_get(&server, "ASK { ?s ?p ?o }");
        if next.status != 503 || start.elapsed().as_secs() > 20 {
            break next;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(next.status, 200, "{}", next.text());
    assert!(next.text().contains("true"), "{}", next.text());
    assert!(start.elapsed().as_secs() < 10, "{:?}", start.elapsed());
    let metrics = server.get("/metrics").text();
    for reason in ["query_timeout", "sparql_busy"] {
        let line = format!("kgrec_http_rejected_total{{reason=\"{reason}\"}} ");
        assert!(
            metrics.lines().any(|l| l.starts_with(&line)),
            "{reason}: {metrics}"
        );
    }
    assert!(server.terminate(30).success());
}

/// A query that materialises a cross join (ORDER BY needs every row before the first) is
/// stopped at `--sparql-memory-mb` and answered 503 `query_out_of_memory`; the server stays up
/// and the next query is answered.
#[test]
fn a_query_past_the_memory_cap_is_stopped() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    let server = Server::start(
        &data,
        &["--sparql-memory-mb", "64", "--sparql-timeout-ms", "60000"],
    );
    let hungry =
        "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l } ORDER BY ?a ?d ?g ?j";
    let start = std::time::Instant::now();
    let answer = sparql_get(&server, hungry);
    assert_eq!(answer.status, 503, "{}", answer.text());
    assert_eq!(answer.error_code(), "query_out_of_memory");
    assert!(
        answer.text().contains("--sparql-memory-mb"),
        "{}",
        answer.text()
    );
    assert!(start.elapsed().as_secs() < 50, "{:?}", start.elapsed());
    let next = sparql_get(&server, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }");
    assert_eq!(next.status, 200, "{}", next.text());
    assert_eq!(server.get("/health/live").status, 200);
    assert!(server.terminate(30).success());
}

/// An answer over `--sparql-max-rows` is refused with a 400 that says to add a LIMIT; within it,
/// it is answered.
#[test]
fn answers_over_the_row_limit_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    let server = Server::start(&data, &["--sparql-max-rows", "5"]);
    let all = sparql_get(&server, "SELECT * WHERE { ?s ?p ?o }");
    assert_eq!(all.status, 400, "{}", all.text());
    assert_eq!(all.error_code(), "result_too_large");
    assert!(all.text().contains("LIMIT"));
    let triples = sparql_get(&server, "CONSTRUCT WHERE { ?s ?p ?o }");
    assert_eq!(triples.error_code(), "result_too_large");
    let five = sparql_get(&server, "SELECT * WHERE { ?s ?p ?o } LIMIT 5");
    assert_eq!(five.status, 200, "{}", five.text());
    assert_eq!(
        five.json()["results"]["bindings"].as_array().unwrap().len(),
        5
    );
    assert!(server.terminate(30).success());
}
