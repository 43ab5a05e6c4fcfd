//! `import kg --endpoint URL --around LINKS` against a SPARQL server that is not kgrec:
//! `rdflib-endpoint` from PyPI (RDFLib behind FastAPI), named by `KGREC_SPARQL_ENDPOINT_SERVER`
//! (`.ci/run` installs it; without it the test says so and passes, unless
//! `KGREC_REQUIRE_PYTHON` is set, as in CI). The server holds `kg-dbpedia.nt`; the import around
//! `link-dbpedia.tsv` (1 hop, both directions, entity-to-entity) must give the same triples as
//! that neighbourhood of the file import, also when the server is killed halfway and the same
//! command is run again once it is back. (The endpoint double of `kgrec-kg`'s unit tests covers
//! `429` with `Retry-After` and answers cut at a row cap.)

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

fn server_binary() -> Option<PathBuf> {
    match std::env::var_os("KGREC_SPARQL_ENDPOINT_SERVER") {
        Some(p) => Some(PathBuf::from(p)),
        None if std::env::var_os("KGREC_REQUIRE_PYTHON").is_some() => panic!(
            "KGREC_REQUIRE_PYTHON is set but KGREC_SPARQL_ENDPOINT_SERVER names no rdflib-endpoint"
        ),
        None => {
            eprintln!(
                "skipped: set KGREC_SPARQL_ENDPOINT_SERVER to rdflib-endpoint \
                 (python3 -m venv V && V/bin/pip install 'rdflib-endpoint[cli]')"
            );
            None
        }
    }
}

/// A running `rdflib-endpoint serve` on 127.0.0.1, killed on drop.
struct Endpoint {
    child: Child,
    port: u16,
}

impl Endpoint {
    fn start(binary: &Path, graph: &Path, port: u16) -> Endpoint {
        let child = Command::new(binary)
            .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
            .arg(graph)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("rdflib-endpoint starts");
        let started = Instant::now();
        // Loading 51k triples takes RDFLib several seconds.
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "rdflib-endpoint did not listen within 2 minutes"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Endpoint { child, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `expected` without the triples that touch a percent-encoded IRI: RDFLib's SPARQL parser
/// does not match an IRI such as `<http://dbpedia.org/resource/Shall_We_Dance%3F_(1996_film)>`
/// written in a query (neither the `%3F` form nor a decoded one finds the stored triples), so
/// the server never answers for those entities. That is the server's bug, not the client's: the
/// comparison leaves those triples out, and checks they are few.
fn answerable(expected: &BTreeSet<String>) -> BTreeSet<String> {
    let kept: BTreeSet<String> = expected
        .iter()
        .filter(|line| {
            !line
                .split(' ')
                .take(3)
                .any(|term| term.starts_with('<') && term.contains('%'))
        })
        .cloned()
        .collect();
    assert!(
        expected.len() - kept.len() < expected.len() / 100,
        "{} of {} triples touch a percent-encoded IRI",
        expected.len() - kept.len(),
        expected.len()
    );
    kept
}

/// Every triple of a data directory, as sorted N-Triples lines.
fn all_triples(data: &Path) -> BTreeSet<String> {
    ok(kgrec(data).args(["sparql", "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"]))
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The entity-to-entity triples from or to one of `iris`, as sorted N-Triples lines.
fn around(data: &Path, iris: &[String], dir: &Path) -> BTreeSet<String> {
    let values: String = iris.iter().map(|i| format!("<{i}> ")).collect();
    let query = format!(
        "CONSTRUCT {{ ?s ?p ?o }} WHERE {{ \
           {{ VALUES ?s {{ {values}}} ?s ?p ?o . FILTER(isIRI(?o)) }} UNION \
           {{ VALUES ?o {{ {values}}} ?s ?p ?o . FILTER(isIRI(?s)) }} }}"
    );
    let file = dir.join("around.rq");
    std::fs::write(&file, query).unwrap();
    ok(kgrec(data).args(["sparql", "--file"]).arg(&file))
        .lines()
        .map(str::to_owned)
        .collect()
}

fn import_args(url: &str, links: &Path) -> Vec<String> {
    [
        "import",
        "kg",
        "--endpoint",
        url,
        "--around",
        links.to_str().unwrap(),
        "--both-directions",
        "--literals",
        "none",
        "--interval-ms",
        "0",
    ]
    .map(str::to_owned)
    .to_vec()
}

#[test]
fn an_endpoint_import_equals_the_file_import_and_resumes_after_the_server_dies() {
    let Some(server) = server_binary() else {
        return;
    };
    let (Some(nt), Some(links)) = (
        shared_dataset("ml-100k/kg-dbpedia.nt"),
        shared_dataset("ml-100k/link-dbpedia.tsv"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let iris: Vec<String> = std::fs::read_to_string(&links)
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').nth(1).map(str::to_owned))
        .collect();

    // The file import's neighbourhood of the linked items.
    let file_data = tmp.path().join("file");
    ok(kgrec(&file_data).args(["import", "kg"]).arg(&nt));
    let expected = answerable(&around(&file_data, &iris, tmp.path()));
    assert!(expected.len() > 10_000, "{}", expected.len());

    let port = free_port();
    let mut endpoint = Endpoint::start(&server, &nt, port);

    // In one go.
    let whole = tmp.path().join("whole");
    let out = run(kgrec(&whole).args(import_args(&endpoint.url(), &links)));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("fetched"), "{}", stderr(&out));
    assert_eq!(answerable(&all_triples(&whole)), expected);
    assert!(
        !tmp.path().join("whole.fetch").exists(),
        "the checkpoint is removed"
    );

    // Killed halfway: small batches, the server killed once a third of the IRIs are done.
    let resumed = tmp.path().join("resumed");
    let checkpoint = tmp.path().join("resumed.fetch");
    let mut args = import_args(&endpoint.url(), &links);
    args.extend(["--batch", "25", "--retries", "1"].map(str::to_owned));
    let child = kgrec(&resumed)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let done =
            std::fs::read_to_string(checkpoint.join("done.txt")).map_or(0, |t| t.lines().count());
        if done >= iris.len() / 3 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the fetch did not get a third of the way in 5 minutes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    endpoint.kill();
    let out = child.wait_with_output().unwrap();
    assert!(
        !out.status.success(),
        "the fetch cannot end without its server"
    );
    let said = stderr(&out);
    assert!(said.contains("the same command continues"), "{said}");
    assert!(!resumed.exists(), "nothing is imported from half a fetch");
    let half = std::fs::read_to_string(checkpoint.join("done.txt"))
        .unwrap()
        .lines()
        .count();
    assert!(half < iris.len(), "the fetch was stopped halfway ({half})");

    let endpoint = Endpoint::start(&server, &nt, port);
    let out = run(kgrec(&resumed).args(&args));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("continued the fetch"),
        "{}",
        stderr(&out)
    );
    assert_eq!(answerable(&all_triples(&resumed)), expected);
    assert!(!checkpoint.exists());
    drop(endpoint);
}

#[test]
fn endpoint_flags_are_checked_before_anything_is_fetched() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    // --around is required with --endpoint, and files conflict with it.
    let out = run(kgrec(&data).args(["import", "kg", "--endpoint", "http://127.0.0.1:9/"]));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--around"), "{}", stderr(&out));
    let links = tmp.path().join("links.tsv");
    std::fs::write(&links, "item\tiri\n1\thttp://e/a\n").unwrap();
    let out = run(kgrec(&data).args([
        "import",
        "kg",
        "--endpoint",
        "ftp://example.org/",
        "--around",
        links.to_str().unwrap(),
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("http://"), "{}", stderr(&out));
    assert!(!data.exists());
    // A predicate file that holds no IRI.
    let predicates = tmp.path().join("p.txt");
    std::fs::write(&predicates, "# nothing\nnot an iri\n").unwrap();
    let out = run(kgrec(&data).args([
        "import",
        "kg",
        "--endpoint",
        "http://127.0.0.1:9/",
        "--around",
        links.to_str().unwrap(),
        "--predicates",
        predicates.to_str().unwrap(),
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("p.txt:2"), "{}", stderr(&out));
    assert!(!data.exists());
}
