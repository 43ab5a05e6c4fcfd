//! The neighbourhood of a set of entities, fetched from a SPARQL 1.1 endpoint.
//!
//! Real item graphs live in large triple stores (DBpedia, Wikidata, a company's own store) that
//! nobody should copy whole. [`fetch`] asks an endpoint for the triples around the given IRIs,
//! hop by hop, with `CONSTRUCT` queries over batches of IRIs (`VALUES` blocks) sent as the
//! SPARQL 1.1 protocol's URL-encoded `POST`:
//!
//! - each request has a timeout, and the requests keep a polite pace (`interval` between starts)
//!   and say who sends them (`User-Agent`);
//! - a `429` or `5xx` answer, a timeout or a refused connection is retried with exponential
//!   backoff, a `Retry-After` in seconds being honoured;
//! - an answer as long as the endpoint's row cap (its `X-SPARQL-MaxRows` header, else
//!   `max_rows`: DBpedia's Virtuoso cuts at 10,000) may be cut short: the batch is split in two
//!   and each half asked again, and a single IRI is paged (`ORDER BY`, `LIMIT`, `OFFSET`);
//! - what arrives is appended to a checkpoint directory, batch by batch and synced, with the IRIs
//!   done: a fetch that stops (a kill, a server gone, Ctrl-C) continues where it stopped when run
//!   again with the same request, and a checkpoint of another request is refused.
//!
//! The result is an N-Triples file in the checkpoint directory that the caller imports as any
//! graph file (all or nothing), then removes the checkpoint.

use std::collections::{BTreeSet, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::{NamedNode, NamedOrBlankNode, Term, Triple};

/// Which literal objects a fetch keeps (IRIs are always kept; blank nodes never).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Literals {
    /// None: entity-to-entity triples only.
    None,
    /// Labels only (`rdfs:label`, `skos:prefLabel`, `schema:name`, `foaf:name`), so that
    /// explanations can name what they pass through.
    #[default]
    Labels,
    /// Every literal.
    All,
}

/// The predicates a fetch follows.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Predicates {
    /// Every predicate.
    #[default]
    All,
    /// Only these.
    Only(Vec<String>),
    /// Every predicate but these.
    Except(Vec<String>),
}

/// What to fetch and how politely.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FetchRequest {
    /// The endpoint's URL.
    pub url: String,
    /// The IRIs to start from (the linked items' entities).
    pub seeds: Vec<String>,
    /// How many hops out: 1 or 2.
    pub hops: u8,
    /// Also the triples that point at an entity (`?s ?p <entity>`), not only those from it.
    pub both_directions: bool,
    /// The predicates followed.
    pub predicates: Predicates,
    /// The literals kept.
    pub literals: Literals,
    /// IRIs per query.
    #[serde(skip)]
    pub batch: usize,
    /// Triples an answer may hold before it is taken as cut short, when the endpoint does not
    /// say (`X-SPARQL-MaxRows`).
    #[serde(skip)]
    pub max_rows: usize,
    /// Time allowed for one request.
    #[serde(skip)]
    pub timeout: Duration,
    /// Retries of one request after a failure that may pass.
    #[serde(skip)]
    pub retries: u32,
    /// The least time between the starts of two requests.
    #[serde(skip)]
    pub interval: Duration,
    /// The first backoff; each retry doubles it (at most a minute).
    #[serde(skip)]
    pub backoff: Duration,
    /// The `User-Agent` sent.
    #[serde(skip)]
    pub user_agent: String,
    /// Further headers sent with every request (`Authorization: Bearer KEY`): never written
    /// to the checkpoint.
    #[serde(skip)]
    pub headers: Vec<(String, String)>,
}

impl FetchRequest {
    /// A request for the 1-hop, outgoing neighbourhood of `seeds` with the polite defaults.
    pub fn new(url: &str, seeds: Vec<String>) -> Self {
        Self {
            url: url.to_owned(),
            seeds,
            hops: 1,
            both_directions: false,
            predicates: Predicates::All,
            literals: Literals::Labels,
            batch: 50,
            max_rows: 10_000,
            timeout: Duration::from_secs(60),
            retries: 5,
            interval: Duration::from_millis(250),
            backoff: Duration::from_millis(500),
            user_agent: format!(
                "kgrec/{} (knowledge-graph neighbourhood import; SPARQL 1.1 protocol)",
                env!("CARGO_PKG_VERSION")
            ),
            headers: Vec::new(),
        }
    }
}

/// Why a fetch stopped.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// The request itself is wrong (before anything is sent).
    #[error("{0}")]
    BadRequest(String),
    /// The endpoint answered with an error that retrying did not cure.
    #[error(
        "{url}: HTTP {status} after {attempts} attempt(s){}: {body}",
        retry_hint(*status)
    )]
    Http {
        url: String,
        status: u16,
        attempts: u32,
        body: String,
    },
    /// The endpoint could not be reached (or did not answer in time) after every retry.
    #[error("{url}: {message} (after {attempts} attempt(s))")]
    Transport {
        url: String,
        message: String,
        attempts: u32,
    },
    /// The endpoint's answer is not RDF that parses.
    #[error(
        "{url}: the answer to a query about {first} is not readable RDF ({media_type}): {message}"
    )]
    Answer {
        url: String,
        first: String,
        media_type: String,
        message: String,
    },
    /// The checkpoint directory belongs to another request.
    #[error(
        "{}: a checkpoint of another fetch is there ({what} differs); remove the directory to \
         start this one afresh",
        dir.display()
    )]
    OtherCheckpoint { dir: PathBuf, what: &'static str },
    /// The checkpoint's files do not read back.
    #[error("{}: damaged checkpoint: {what}", path.display())]
    Corruption { path: PathBuf, what: String },
    /// Reading or writing the checkpoint failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Stopped by the caller; what was fetched is kept for the next run.
    #[error("cancelled: what was fetched is kept in {} for the next run", dir.display())]
    Cancelled { dir: PathBuf },
}

fn retry_hint(status: u16) -> &'static str {
    match status {
        400 => " (the endpoint refused the query: it may not support SPARQL 1.1 VALUES or POST)",
        401 | 403 => {
            " (the endpoint wants credentials or refuses this client: send them with \
             --endpoint-header 'Authorization: Bearer KEY', or another header it takes)"
        }
        404 => " (no SPARQL endpoint at that URL?)",
        _ => "",
    }
}

type Result<T, E = EndpointError> = std::result::Result<T, E>;

/// Where a fetch is, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchProgress {
    /// The hop being fetched (1-based).
    pub hop: u8,
    /// IRIs of this hop done (fetched now or in an earlier run).
    pub done: usize,
    /// IRIs of this hop.
    pub total: usize,
    /// Triples fetched so far, this run and earlier ones.
    pub triples: u64,
    /// Requests sent by this run.
    pub requests: u64,
    /// Retries made by this run.
    pub retries: u64,
}

/// What a fetch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The N-Triples file holding everything fetched (duplicates possible: a batch repeated
    /// after a kill).
    pub triples_file: PathBuf,
    /// Triples written to it, this run and earlier ones.
    pub triples: u64,
    /// IRIs expanded per hop.
    pub expanded: Vec<usize>,
    /// IRIs an earlier run had already done.
    pub resumed: usize,
    /// Requests sent by this run.
    pub requests: u64,
    /// Retries made by this run.
    pub retries: u64,
    /// Batches split because an answer reached the row cap.
    pub splits: u64,
    /// Entities whose own triples needed more than one page.
    pub paged: u64,
}

const REQUEST_FILE: &str = "request.json";
const TRIPLES_FILE: &str = "triples.nt";
const DONE_FILE: &str = "done.txt";
const LABELS: [&str; 4] = [
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://schema.org/name",
    "http://xmlns.com/foaf/0.1/name",
];
const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";

/// Fetches the neighbourhood `request` asks for into the checkpoint directory `dir` (created
/// if needed), continuing an earlier run of the same request found there.
pub fn fetch(
    request: &FetchRequest,
    dir: &Path,
    progress: &mut dyn FnMut(FetchProgress),
    cancel: &AtomicBool,
) -> Result<Fetched> {
    check(request)?;
    let mut checkpoint = Checkpoint::open(dir, request)?;
    let resumed = checkpoint.done.len();
    let mut client = Client::new(request);
    let mut expanded = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut frontier: Vec<String> = sorted_unique(request.seeds.iter().cloned());
    for hop in 1..=request.hops {
        seen.extend(frontier.iter().cloned());
        let todo: Vec<&String> = frontier
            .iter()
            .filter(|iri| !checkpoint.done.contains(*iri))
            .collect();
        let total = frontier.len();
        let mut done = total - todo.len();
        let mut report = |done: usize, checkpoint: &Checkpoint, client: &Client| {
            progress(FetchProgress {
                hop,
                done,
                total,
                triples: checkpoint.triples,
                requests: client.requests,
                retries: client.retries,
            })
        };
        report(done, &checkpoint, &client);
        for batch in todo.chunks(request.batch) {
            if cancel.load(Ordering::Relaxed) {
                return Err(EndpointError::Cancelled {
                    dir: dir.to_owned(),
                });
            }
            let triples = client.neighbourhood(batch, cancel, dir)?;
            checkpoint.append(&triples, batch)?;
            done += batch.len();
            report(done, &checkpoint, &client);
        }
        expanded.push(total);
        if hop < request.hops {
            frontier = checkpoint.next_frontier(&frontier, &seen, request.both_directions)?;
        }
    }
    Ok(Fetched {
        triples_file: dir.join(TRIPLES_FILE),
        triples: checkpoint.triples,
        expanded,
        resumed,
        requests: client.requests,
        retries: client.retries,
        splits: client.splits,
        paged: client.paged,
    })
}

fn check(request: &FetchRequest) -> Result<()> {
    let bad = |m: String| Err(EndpointError::BadRequest(m));
    if !(request.url.starts_with("http://") || request.url.starts_with("https://")) {
        return bad(format!(
            "--endpoint {}: expected an http:// or https:// URL of a SPARQL endpoint",
            request.url
        ));
    }
    if !(1..=2).contains(&request.hops) {
        return bad(format!("--hops {}: expected 1 or 2", request.hops));
    }
    if request.batch == 0 || request.max_rows == 0 {
        return bad("the batch size and the row cap must be at least 1".to_owned());
    }
    if request.seeds.is_empty() {
        return bad("no IRI to start from: the link file links no item".to_owned());
    }
    let predicates = match &request.predicates {
        Predicates::All => &[][..],
        Predicates::Only(p) | Predicates::Except(p) => p.as_slice(),
    };
    for iri in request.seeds.iter().chain(predicates) {
        if let Err(e) = NamedNode::new(iri.as_str()) {
            return bad(format!("{iri:?} is not an IRI: {e}"));
        }
    }
    Ok(())
}

fn sorted_unique(iris: impl Iterator<Item = String>) -> Vec<String> {
    iris.collect::<BTreeSet<_>>().into_iter().collect()
}

/// The checkpoint directory: the request, the triples so far, the IRIs done.
struct Checkpoint {
    dir: PathBuf,
    done: HashSet<String>,
    triples: u64,
}

impl Checkpoint {
    fn open(dir: &Path, request: &FetchRequest) -> Result<Self> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| EndpointError::Io { path, source }
        };
        crate::fsutil::create_dirs(dir).map_err(io(dir))?;
        let request_path = dir.join(REQUEST_FILE);
        let saved = serde_json::to_string_pretty(request).map_err(|e| EndpointError::Io {
            path: request_path.clone(),
            source: std::io::Error::other(e),
        })?;
        match std::fs::read_to_string(&request_path) {
            Ok(text) => {
                let earlier: FetchRequest =
                    serde_json::from_str(&text).map_err(|e| EndpointError::Corruption {
                        path: request_path.clone(),
                        what: e.to_string(),
                    })?;
                if let Some(what) = difference(&earlier, request) {
                    return Err(EndpointError::OtherCheckpoint {
                        dir: dir.to_owned(),
                        what,
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                write_synced(&request_path, saved.as_bytes())?;
            }
            Err(e) => return Err(io(&request_path)(e)),
        }
        let triples_path = dir.join(TRIPLES_FILE);
        let triples = repair_tail(&triples_path)?;
        let done_path = dir.join(DONE_FILE);
        repair_tail(&done_path)?;
        let done = match File::open(&done_path) {
            Ok(f) => BufReader::new(f)
                .lines()
                .collect::<std::io::Result<HashSet<String>>>()
                .map_err(io(&done_path))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => HashSet::new(),
            Err(e) => return Err(io(&done_path)(e)),
        };
        Ok(Self {
            dir: dir.to_owned(),
            done,
            triples,
        })
    }

    /// Appends a batch's triples, then its IRIs as done, each synced: a kill between the two
    /// repeats the batch (its triples twice: harmless in a set of triples).
    fn append(&mut self, triples: &[Triple], batch: &[&String]) -> Result<()> {
        let mut text = String::new();
        for t in triples {
            text.push_str(&t.to_string());
            text.push_str(" .\n");
        }
        append_synced(&self.dir.join(TRIPLES_FILE), text.as_bytes())?;
        self.triples += triples.len() as u64;
        let mut names = String::new();
        for iri in batch {
            names.push_str(iri);
            names.push('\n');
        }
        append_synced(&self.dir.join(DONE_FILE), names.as_bytes())?;
        self.done.extend(batch.iter().map(|s| (*s).clone()));
        Ok(())
    }

    /// The IRIs one hop beyond `frontier` in the triples fetched so far, not seen before.
    /// Objects of `rdf:type` are classes, not neighbours: a class such as `dbo:Film` would pull
    /// in every film of the endpoint.
    fn next_frontier(
        &self,
        frontier: &[String],
        seen: &HashSet<String>,
        both_directions: bool,
    ) -> Result<Vec<String>> {
        let from: HashSet<&str> = frontier.iter().map(String::as_str).collect();
        let path = self.dir.join(TRIPLES_FILE);
        let file = File::open(&path).map_err(|source| EndpointError::Io {
            path: path.clone(),
            source,
        })?;
        let mut next = BTreeSet::new();
        for quad in RdfParser::from_format(RdfFormat::NTriples).for_reader(BufReader::new(file)) {
            let quad = quad.map_err(|e| EndpointError::Corruption {
                path: path.clone(),
                what: e.to_string(),
            })?;
            let NamedOrBlankNode::NamedNode(subject) = &quad.subject else {
                continue;
            };
            let Term::NamedNode(object) = &quad.object else {
                continue;
            };
            if quad.predicate.as_str() == RDF_TYPE {
                continue;
            }
            if from.contains(subject.as_str()) && !seen.contains(object.as_str()) {
                next.insert(object.as_str().to_owned());
            }
            if both_directions && from.contains(object.as_str()) && !seen.contains(subject.as_str())
            {
                next.insert(subject.as_str().to_owned());
            }
        }
        Ok(next.into_iter().collect())
    }
}

/// Which part of a request differs from a checkpoint's, if any.
fn difference(earlier: &FetchRequest, now: &FetchRequest) -> Option<&'static str> {
    if earlier.url != now.url {
        Some("the endpoint")
    } else if sorted_unique(earlier.seeds.iter().cloned())
        != sorted_unique(now.seeds.iter().cloned())
    {
        Some("the linked IRIs")
    } else if earlier.hops != now.hops {
        Some("--hops")
    } else if earlier.both_directions != now.both_directions {
        Some("--both-directions")
    } else if earlier.predicates != now.predicates {
        Some("the predicates")
    } else if earlier.literals != now.literals {
        Some("--literals")
    } else {
        None
    }
}

/// Cuts a file back to its last complete line (a kill mid-write leaves a torn one); returns
/// the number of lines kept.
fn repair_tail(path: &Path) -> Result<u64> {
    let io = |source| EndpointError::Io {
        path: path.to_owned(),
        source,
    };
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => f.read_to_end(&mut bytes).map_err(io)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io(e)),
    };
    let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if keep < bytes.len() {
        let f = OpenOptions::new().write(true).open(path).map_err(io)?;
        f.set_len(keep as u64).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    Ok(bytes[..keep].iter().filter(|&&b| b == b'\n').count() as u64)
}

fn append_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| EndpointError::Io {
        path: path.to_owned(),
        source,
    };
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_data().map_err(io)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| EndpointError::Io {
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// The HTTP side: one agent, the pace, the retries and the splitting.
struct Client<'a> {
    request: &'a FetchRequest,
    agent: ureq::Agent,
    last_start: Option<Instant>,
    requests: u64,
    retries: u64,
    splits: u64,
    paged: u64,
}

/// One answer: its triples, the row cap that applied and whether it may have been cut there.
struct Answer {
    triples: Vec<Triple>,
    cap: usize,
    capped: bool,
}

impl<'a> Client<'a> {
    fn new(request: &'a FetchRequest) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(request.timeout))
            .http_status_as_error(false)
            .user_agent(request.user_agent.as_str())
            .build()
            .into();
        Self {
            request,
            agent,
            last_start: None,
            requests: 0,
            retries: 0,
            splits: 0,
            paged: 0,
        }
    }

    /// The triples around `batch`, splitting it while answers reach the row cap.
    fn neighbourhood(
        &mut self,
        batch: &[&String],
        cancel: &AtomicBool,
        dir: &Path,
    ) -> Result<Vec<Triple>> {
        let answer = self.ask(&query(self.request, batch, None), batch, cancel, dir)?;
        if !answer.capped {
            return Ok(answer.triples);
        }
        if batch.len() > 1 {
            self.splits += 1;
            let (a, b) = batch.split_at(batch.len() / 2);
            let mut triples = self.neighbourhood(a, cancel, dir)?;
            triples.extend(self.neighbourhood(b, cancel, dir)?);
            return Ok(triples);
        }
        // One entity with more triples than an answer holds: page through them (a page the
        // size of the cap; an endpoint that ignores OFFSET stops the paging when a page brings
        // nothing new).
        self.paged += 1;
        let page = answer.cap;
        let mut triples: Vec<Triple> = Vec::new();
        let mut have: HashSet<Triple> = HashSet::new();
        let mut offset = 0;
        loop {
            let answer = self.ask(
                &query(self.request, batch, Some((page, offset))),
                batch,
                cancel,
                dir,
            )?;
            let n = answer.triples.len();
            let before = triples.len();
            for t in answer.triples {
                if have.insert(t.clone()) {
                    triples.push(t);
                }
            }
            if n < page || triples.len() == before {
                break;
            }
            offset += page;
        }
        Ok(triples)
    }

    /// Sends one query, retrying what may pass, and reads the answer.
    fn ask(
        &mut self,
        query: &str,
        batch: &[&String],
        cancel: &AtomicBool,
        dir: &Path,
    ) -> Result<Answer> {
        let url = &self.request.url;
        let mut attempt = 0u32;
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(EndpointError::Cancelled {
                    dir: dir.to_owned(),
                });
            }
            self.pace();
            self.requests += 1;
            attempt += 1;
            let mut post = self.agent.post(url).header(
                "Accept",
                "application/n-triples, text/turtle;q=0.9, application/rdf+xml;q=0.5",
            );
            for (name, value) in &self.request.headers {
                post = post.header(name.as_str(), value.as_str());
            }
            let sent = post.send_form([("query", query)]);
            let wait = match sent {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    if status == 200 {
                        return self.read(&mut response, batch);
                    }
                    let retry_after = response
                        .headers()
                        .get("Retry-After")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(|s| Duration::from_secs(s.min(600)));
                    let passing = status == 429 || (500..600).contains(&status);
                    if !passing || attempt > self.request.retries {
                        let body = response
                            .body_mut()
                            .with_config()
                            .limit(2_000)
                            .read_to_string()
                            .unwrap_or_default();
                        return Err(EndpointError::Http {
                            url: url.clone(),
                            status,
                            attempts: attempt,
                            body: body.trim().chars().take(300).collect(),
                        });
                    }
                    retry_after.unwrap_or_else(|| self.backoff(attempt))
                }
                Err(e) => {
                    if attempt > self.request.retries {
                        return Err(EndpointError::Transport {
                            url: url.clone(),
                            message: e.to_string(),
                            attempts: attempt,
                        });
                    }
                    self.backoff(attempt)
                }
            };
            self.retries += 1;
            sleep_unless_cancelled(wait, cancel);
        }
    }

    /// Reads a 200 answer in the syntax it declares.
    fn read(
        &mut self,
        response: &mut ureq::http::Response<ureq::Body>,
        batch: &[&String],
    ) -> Result<Answer> {
        let media_type = response
            .headers()
            .get("Content-Type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/n-triples")
            .to_owned();
        let cap = response
            .headers()
            .get("X-SPARQL-MaxRows")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(self.request.max_rows);
        let bad = |message: String| EndpointError::Answer {
            url: self.request.url.clone(),
            first: batch.first().map_or_else(String::new, |s| (*s).clone()),
            media_type: media_type.clone(),
            message,
        };
        let format = RdfFormat::from_media_type(&media_type)
            .ok_or_else(|| bad("not an RDF media type".to_owned()))?;
        let reader = response.body_mut().with_config().limit(u64::MAX).reader();
        let mut triples = Vec::new();
        for quad in RdfParser::from_format(format).for_reader(BufReader::new(reader)) {
            let quad = quad.map_err(|e| bad(e.to_string()))?;
            // Blank nodes cannot be matched across answers: leave them out.
            if matches!(quad.subject, NamedOrBlankNode::BlankNode(_))
                || matches!(quad.object, Term::BlankNode(_))
            {
                continue;
            }
            triples.push(Triple::from(quad));
        }
        Ok(Answer {
            capped: triples.len() >= cap,
            cap,
            triples,
        })
    }

    fn pace(&mut self) {
        if let Some(last) = self.last_start {
            let since = last.elapsed();
            if since < self.request.interval {
                std::thread::sleep(self.request.interval - since);
            }
        }
        self.last_start = Some(Instant::now());
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(10);
        (self.request.backoff * factor).min(Duration::from_secs(60))
    }
}

fn sleep_unless_cancelled(wait: Duration, cancel: &AtomicBool) {
    let end = Instant::now() + wait;
    while Instant::now() < end && !cancel.load(Ordering::Relaxed) {
        std::thread::sleep((end - Instant::now()).min(Duration::from_millis(100)));
    }
}

/// The `CONSTRUCT` query for `batch`; `page` = (limit, offset) pages one entity's triples.
fn query(request: &FetchRequest, batch: &[&String], page: Option<(usize, usize)>) -> String {
    let values: String = batch.iter().map(|iri| format!("<{iri}> ")).collect();
    let objects = match request.literals {
        Literals::None => "isIRI(?o)".to_owned(),
        Literals::Labels => format!(
            "isIRI(?o) || (isLiteral(?o) && ?p IN ({}))",
            LABELS.map(|l| format!("<{l}>")).join(", ")
        ),
        Literals::All => "!isBlank(?o)".to_owned(),
    };
    let predicates = match &request.predicates {
        Predicates::All => String::new(),
        Predicates::Only(p) => format!(
            " FILTER(?p IN ({}))",
            p.iter()
                .map(|p| format!("<{p}>"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Predicates::Except(p) => format!(
            " FILTER(?p NOT IN ({}))",
            p.iter()
                .map(|p| format!("<{p}>"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let outgoing = format!("VALUES ?s {{ {values}}} ?s ?p ?o . FILTER({objects}){predicates}");
    let body = match request.both_directions {
        false => outgoing,
        true => format!(
            "{{ {outgoing} }} UNION {{ VALUES ?o {{ {values}}} ?s ?p ?o . FILTER(isIRI(?s)){predicates} }}"
        ),
    };
    let modifiers = match page {
        None => String::new(),
        Some((limit, offset)) => format!(" ORDER BY ?s ?p ?o LIMIT {limit} OFFSET {offset}"),
    };
    format!("CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {body} }}{modifiers}")
}

#[cfg(test)]
mod tests;
