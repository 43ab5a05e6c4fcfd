//! [`fetch`] against an endpoint double: oxigraph's own SPARQL engine behind a minimal HTTP
//! loop on 127.0.0.1 that can answer `429` first and cut answers at a row cap, as public
//! endpoints do.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use oxigraph::io::{RdfFormat, RdfParser, RdfSerializer};
use oxigraph::model::{GraphNameRef, Triple};
use oxigraph::sparql::{QueryResults, SparqlEvaluator};
use oxigraph::store::Store;

use super::*;

const GRAPH: &str = r#"
<http://e/film1> <http://e/director> <http://e/lasseter> .
<http://e/film1> <http://www.w3.org/2000/01/rdf-schema#label> "Film one"@en .
<http://e/film1> <http://e/abstract> "A long text" .
<http://e/film1> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://e/Film> .
<http://e/film2> <http://e/director> <http://e/lasseter> .
<http://e/film2> <http://e/genre> <http://e/comedy> .
<http://e/film3> <http://e/genre> <http://e/comedy> .
<http://e/lasseter> <http://e/bornIn> <http://e/hollywood> .
<http://e/lasseter> <http://www.w3.org/2000/01/rdf-schema#label> "John"@en .
<http://e/comedy> <http://e/broader> <http://e/genre_all> .
<http://e/pixar> <http://e/founded> <http://e/lasseter> .
<http://e/other> <http://e/likes> <http://e/film1> .
<http://e/hollywood> <http://e/in> <http://e/usa> .
"#;

/// What the double does besides answering.
#[derive(Default)]
struct Behaviour {
    /// Answer `429 Retry-After: 1` to this many requests first.
    throttle_first: usize,
    /// Cut every answer at this many triples and say so in `X-SPARQL-MaxRows`.
    max_rows: Option<usize>,
}

struct Double {
    url: String,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Drop for Double {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop.
        let _ = TcpStream::connect(
            self.url
                .trim_start_matches("http://")
                .trim_end_matches("/sparql"),
        );
    }
}

fn serve(behaviour: Behaviour) -> Double {
    let store = Store::new().unwrap();
    for quad in RdfParser::from_format(RdfFormat::NTriples).for_reader(GRAPH.as_bytes()) {
        store.insert(&quad.unwrap()).unwrap();
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (count, halt) = (Arc::clone(&requests), Arc::clone(&stop));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            if halt.load(Ordering::Relaxed) {
                break;
            }
            let Ok(stream) = stream else { continue };
            let n = count.fetch_add(1, Ordering::Relaxed);
            answer(stream, &store, &behaviour, n);
        }
    });
    Double {
        url: format!("http://{addr}/sparql"),
        requests,
        stop,
    }
}

fn answer(mut stream: TcpStream, store: &Store, behaviour: &Behaviour, n: usize) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    if n < behaviour.throttle_first {
        let _ = stream.write_all(
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 4\r\nConnection: close\r\n\r\nslow",
        );
        return;
    }
    let query = form_urlencoded_query(&body);
    let results = SparqlEvaluator::new()
        .parse_query(&query)
        .unwrap()
        .on_store(store)
        .execute()
        .unwrap();
    let QueryResults::Graph(triples) = results else {
        panic!("not a CONSTRUCT")
    };
    let mut triples: Vec<Triple> = triples.map(Result::unwrap).collect();
    let mut extra = String::new();
    if let Some(cap) = behaviour.max_rows {
        triples.truncate(cap);
        extra = format!("X-SPARQL-MaxRows: {cap}\r\n");
    }
    let mut out = RdfSerializer::from_format(RdfFormat::NTriples).for_writer(Vec::new());
    for t in &triples {
        out.serialize_quad(t.as_ref().in_graph(GraphNameRef::DefaultGraph))
            .unwrap();
    }
    let text = out.finish().unwrap();
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/n-triples\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
        text.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&text);
}

/// The `query` field of a URL-encoded form.
fn form_urlencoded_query(body: &[u8]) -> String {
    let text = String::from_utf8(body.to_vec()).unwrap();
    let value = text
        .split('&')
        .find_map(|kv| kv.strip_prefix("query="))
        .unwrap()
        .replace('+', " ");
    percent_encoding::percent_decode_str(&value)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

fn request(url: &str, seeds: &[&str]) -> FetchRequest {
    FetchRequest {
        interval: Duration::ZERO,
        backoff: Duration::from_millis(10),
        ..FetchRequest::new(url, seeds.iter().map(|s| format!("http://e/{s}")).collect())
    }
}

/// The triples of a fetch, as a sorted set of N-Triples lines.
fn fetched(request: &FetchRequest) -> (Vec<String>, Fetched) {
    let dir = tempfile::tempdir().unwrap();
    let done = fetch(request, dir.path(), &mut |_| {}, &AtomicBool::new(false)).unwrap();
    (lines(&done.triples_file), done)
}

fn lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let set: BTreeSet<String> = text.lines().map(str::to_owned).collect();
    set.into_iter().collect()
}

fn has(lines: &[String], s: &str, p: &str, o: &str) -> bool {
    lines
        .iter()
        .any(|l| l.contains(&format!("<http://e/{s}>")) && l.contains(p) && l.contains(o))
}

#[test]
fn one_hop_outgoing_keeps_iris_and_labels_only() {
    let double = serve(Behaviour::default());
    let (lines, done) = fetched(&request(&double.url, &["film1", "film2"]));
    assert!(has(&lines, "film1", "director", "lasseter"));
    assert!(has(&lines, "film2", "genre", "comedy"));
    assert!(has(&lines, "film1", "label", "Film one"));
    // Not labels: other literals are left out by default.
    assert!(!lines.iter().any(|l| l.contains("A long text")));
    // Not outgoing from a seed, and not two hops out.
    assert!(!lines.iter().any(|l| l.contains("<http://e/other>")));
    assert!(!lines.iter().any(|l| l.contains("bornIn")));
    assert_eq!(done.expanded, vec![2]);
}

#[test]
fn both_directions_and_two_hops_reach_further_but_not_through_classes() {
    let double = serve(Behaviour::default());
    let mut r = request(&double.url, &["film1"]);
    r.both_directions = true;
    r.hops = 2;
    let (lines, done) = fetched(&r);
    // Incoming to the seed.
    assert!(has(&lines, "other", "likes", "film1"));
    // Second hop from the director, both ways.
    assert!(has(&lines, "lasseter", "bornIn", "hollywood"));
    assert!(has(&lines, "pixar", "founded", "lasseter"));
    assert!(has(&lines, "film2", "director", "lasseter"));
    // Three hops out is not fetched; the class Film was not expanded.
    assert!(!lines.iter().any(|l| l.contains("<http://e/usa>")));
    // Hop 2 expanded lasseter and other (film1's neighbours), not the class.
    assert_eq!(done.expanded, vec![1, 2]);
}

#[test]
fn predicates_can_be_chosen_or_excluded() {
    let double = serve(Behaviour::default());
    let mut r = request(&double.url, &["film1", "film2"]);
    r.predicates = Predicates::Only(vec!["http://e/genre".to_owned()]);
    r.literals = Literals::None;
    let (lines, _) = fetched(&r);
    assert_eq!(lines.len(), 1, "{lines:?}");
    r.predicates = Predicates::Except(vec!["http://e/genre".to_owned()]);
    let (lines, _) = fetched(&r);
    assert!(!lines.iter().any(|l| l.contains("genre")));
    assert!(has(&lines, "film2", "director", "lasseter"));
}

#[test]
fn a_429_with_retry_after_is_waited_out() {
    let double = serve(Behaviour {
        throttle_first: 2,
        ..Behaviour::default()
    });
    let start = Instant::now();
    let (lines, done) = fetched(&request(&double.url, &["film1"]));
    assert!(has(&lines, "film1", "director", "lasseter"));
    assert_eq!(done.retries, 2);
    assert_eq!(double.requests.load(Ordering::Relaxed), 3);
    // Retry-After: 1, twice (the backoff alone would be 10 and 20 ms).
    assert!(start.elapsed() >= Duration::from_secs(2));
}

#[test]
fn retries_run_out_with_the_status_named() {
    let double = serve(Behaviour {
        throttle_first: 100,
        ..Behaviour::default()
    });
    let mut r = request(&double.url, &["film1"]);
    r.retries = 0;
    let dir = tempfile::tempdir().unwrap();
    let e = fetch(&r, dir.path(), &mut |_| {}, &AtomicBool::new(false)).unwrap_err();
    assert!(matches!(e, EndpointError::Http { status: 429, .. }), "{e}");
}

#[test]
fn answers_cut_at_the_row_cap_are_split_and_paged_to_the_whole() {
    let full = {
        let double = serve(Behaviour::default());
        let mut r = request(&double.url, &["film1", "film2", "film3", "lasseter"]);
        r.literals = Literals::All;
        fetched(&r).0
    };
    let double = serve(Behaviour {
        max_rows: Some(2),
        ..Behaviour::default()
    });
    let mut r = request(&double.url, &["film1", "film2", "film3", "lasseter"]);
    r.literals = Literals::All;
    let (lines, done) = fetched(&r);
    assert_eq!(lines, full);
    assert!(done.splits > 0 && done.paged > 0, "{done:?}");
}

#[test]
fn a_stopped_fetch_resumes_and_refuses_another_request() {
    let double = serve(Behaviour::default());
    let seeds = ["film1", "film2", "film3", "lasseter", "comedy"];
    let (whole, _) = fetched(&request(&double.url, &seeds));
    let dir = tempfile::tempdir().unwrap();
    let mut r = request(&double.url, &seeds);
    r.batch = 1;
    // Cancel after the second batch.
    let cancel = AtomicBool::new(false);
    let mut batches = 0;
    let e = fetch(
        &r,
        dir.path(),
        &mut |p| {
            batches = p.done;
            if p.done >= 2 {
                cancel.store(true, Ordering::Relaxed);
            }
        },
        &cancel,
    )
    .unwrap_err();
    assert!(matches!(e, EndpointError::Cancelled { .. }), "{e}");
    assert_eq!(batches, 2);
    // A torn last line, as a kill mid-write leaves.
    let triples = dir.path().join(TRIPLES_FILE);
    let mut f = OpenOptions::new().append(true).open(&triples).unwrap();
    f.write_all(b"<http://e/torn> <http://e/p").unwrap();
    drop(f);
    // Another request is refused, the checkpoint left as it was.
    let mut other = r.clone();
    other.hops = 2;
    let e = fetch(&other, dir.path(), &mut |_| {}, &AtomicBool::new(false)).unwrap_err();
    assert!(
        matches!(e, EndpointError::OtherCheckpoint { what: "--hops", .. }),
        "{e}"
    );
    // The same request continues: three batches left, the same triples in the end.
    let before = double.requests.load(Ordering::Relaxed);
    let done = fetch(&r, dir.path(), &mut |_| {}, &AtomicBool::new(false)).unwrap();
    assert_eq!(done.resumed, 2);
    assert_eq!(double.requests.load(Ordering::Relaxed) - before, 3);
    assert_eq!(lines(&done.triples_file), whole);
}

#[test]
fn bad_requests_are_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = AtomicBool::new(false);
    for (r, says) in [
        (
            FetchRequest::new("ftp://x", vec!["http://e/a".into()]),
            "http://",
        ),
        (FetchRequest::new("http://127.0.0.1:9/q", vec![]), "no IRI"),
        (
            FetchRequest::new("http://127.0.0.1:9/q", vec!["not an iri".into()]),
            "not an IRI",
        ),
        (
            FetchRequest {
                hops: 3,
                ..FetchRequest::new("http://127.0.0.1:9/q", vec!["http://e/a".into()])
            },
            "--hops",
        ),
    ] {
        let e = fetch(&r, &dir.path().join("c"), &mut |_| {}, &cancel).unwrap_err();
        assert!(e.to_string().contains(says), "{e}");
    }
}

#[test]
fn an_endpoint_that_is_not_there_fails_after_its_retries() {
    // Bind and drop: nothing listens on the port.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut r = request(&format!("http://127.0.0.1:{port}/sparql"), &["a"]);
    r.retries = 2;
    let dir = tempfile::tempdir().unwrap();
    let e = fetch(&r, dir.path(), &mut |_| {}, &AtomicBool::new(false)).unwrap_err();
    assert!(
        matches!(e, EndpointError::Transport { attempts: 3, .. }),
        "{e}"
    );
}
