//! `GET|POST /sparql`: the SPARQL 1.1 Protocol's query operation, read-only. The query comes as
//! `query=` (URL or form body) or as an `application/sparql-query` body; an update (`update=`,
//! `application/sparql-update`, or update text as the query) is a `400`. Results are negotiated
//! by `Accept`: SELECT and ASK as SPARQL results JSON (default), XML, CSV or TSV; CONSTRUCT and
//! DESCRIBE as N-Triples (default) or Turtle. Queries run in worker processes ([`worker`]), at
//! most `--sparql-timeout-ms` each: then the answer is a `503` (`query_timeout`).

use axum::body::Bytes;
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kgrec::kg::oxigraph::io::RdfFormat;
use kgrec::kg::oxigraph::sparql::results::QueryResultsFormat;
use kgrec::kg::oxigraph::sparql::{
    CancellationToken, QueryResults, QuerySolutionIter, QueryTripleIter, SparqlEvaluator,
};
use kgrec::kg::oxigraph::store::Store;
use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use super::error::ApiError;
use super::params::Query;
use super::{Shared, body_bytes, media_type, worker};

/// An iterator cut after `left` items; `over` says whether there was more.
struct Capped<I> {
    inner: I,
    left: usize,
    over: Rc<Cell<bool>>,
}

impl<I: Iterator> Iterator for Capped<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let item = self.inner.next()?;
        if self.left == 0 {
            self.over.set(true);
            return None;
        }
        self.left -= 1;
        Some(item)
    }
}

/// 400 for results over `--sparql-max-rows`.
fn too_many(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "result_too_large",
        format!(
            "the results have more than {max} rows (kgrec serve --sparql-max-rows): add a LIMIT, \
             or page with LIMIT and OFFSET"
        ),
    )
}

/// Media types of SELECT and ASK results, the server's preference first; aliases after.
const SOLUTION_TYPES: [(&str, QueryResultsFormat); 7] = [
    ("application/sparql-results+json", QueryResultsFormat::Json),
    ("application/sparql-results+xml", QueryResultsFormat::Xml),
    ("text/csv", QueryResultsFormat::Csv),
    ("text/tab-separated-values", QueryResultsFormat::Tsv),
    ("application/json", QueryResultsFormat::Json),
    ("application/xml", QueryResultsFormat::Xml),
    ("text/xml", QueryResultsFormat::Xml),
];

/// Media types of CONSTRUCT and DESCRIBE results.
const GRAPH_TYPES: [(&str, RdfFormat); 4] = [
    ("application/n-triples", RdfFormat::NTriples),
    ("text/turtle", RdfFormat::Turtle),
    ("application/rdf+xml", RdfFormat::RdfXml),
    ("text/plain", RdfFormat::NTriples),
];

/// The parameters the protocol's query operation takes that kgrec serves, then the result
/// format hints that common clients and servers add (SPARQLWrapper sends all three; Fuseki and
/// Virtuoso honour them): a hint takes the place of `Accept`.
const PARAMETERS: [&str; 6] = [
    "query",
    "default-graph-uri",
    "named-graph-uri",
    "format",
    "output",
    "results",
];

/// A format hint's value (a short name or a media type) as the `Accept` it stands for.
fn hinted_accept(params: &Query) -> Result<Option<&'static str>, ApiError> {
    let Some((name, value)) = PARAMETERS[3..]
        .iter()
        .find_map(|name| params.get(name).map(|value| (*name, value)))
    else {
        return Ok(None);
    };
    let accept = match value.trim().to_ascii_lowercase().as_str() {
        "json" | "srj" | "application/sparql-results+json" | "application/json" => {
            "application/sparql-results+json"
        }
        "xml"
        | "srx"
        | "application/sparql-results+xml"
        | "application/xml"
        | "text/xml"
        | "rdf"
        | "rdfxml"
        | "rdf+xml"
        | "application/rdf+xml" => "application/sparql-results+xml, application/rdf+xml",
        "csv" | "text/csv" => "text/csv",
        "tsv" | "text/tab-separated-values" => "text/tab-separated-values",
        "turtle" | "ttl" | "n3" | "text/turtle" | "text/n3" => "text/turtle",
        "nt" | "ntriples" | "n-triples" | "application/n-triples" | "text/plain" => {
            "application/n-triples"
        }
        other => {
            return Err(ApiError::bad_parameter(format!(
                "{name}={other}: the result formats are json, xml, csv, tsv, turtle and \
                 ntriples (or leave it out and send an Accept header)"
            )));
        }
    };
    Ok(Some(accept))
}

fn read_only() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "read_only",
        "SPARQL Update is refused: this endpoint is read-only; the graph changes with `kgrec \
         import kg` while the server is stopped",
    )
}

/// The query of a URL query string or a form body, and the `Accept` its format hint stands for.
fn query_of_form(raw: Option<&str>) -> Result<(String, Option<&'static str>), ApiError> {
    // `update=` is refused as read-only before anything else is said of the request.
    if form_urlencoded::parse(raw.unwrap_or("").as_bytes()).any(|(k, _)| k == "update") {
        return Err(read_only());
    }
    let params = Query::parse(raw, &PARAMETERS, &[])?;
    if params.has("default-graph-uri") || params.has("named-graph-uri") {
        return Err(ApiError::bad_parameter(
            "default-graph-uri and named-graph-uri are not supported: queries run over the \
             union of the graph's statements",
        ));
    }
    let query = params.get("query").map(str::to_owned).ok_or_else(|| {
        ApiError::bad_parameter(
            "give the query as query=... (or POST it as application/sparql-query)",
        )
    })?;
    Ok((query, hinted_accept(&params)?))
}

/// `GET /sparql?query=...`
pub async fn get(
    axum::extract::State(state): axum::extract::State<Shared>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (query, hint) = query_of_form(raw.as_deref())?;
    run(state, query, hint, &headers).await
}

/// `POST /sparql` with a form (`query=...`) or an `application/sparql-query` body.
pub async fn post(
    axum::extract::State(state): axum::extract::State<Shared>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body_bytes(&state, body)?;
    let (query, hint) = match media_type(&headers).as_deref() {
        Some("application/x-www-form-urlencoded") => {
            Query::parse(raw.as_deref(), &[], &[])?;
            let text = std::str::from_utf8(&body)
                .map_err(|_| ApiError::bad_parameter("the form body is not UTF-8"))?;
            query_of_form(Some(text))?
        }
        Some("application/sparql-query") => {
            let params = Query::parse(raw.as_deref(), &PARAMETERS[1..], &[])?;
            if params.has("default-graph-uri") || params.has("named-graph-uri") {
                return Err(ApiError::bad_parameter(
                    "default-graph-uri and named-graph-uri are not supported",
                ));
            }
            let query = String::from_utf8(body.to_vec())
                .map_err(|_| ApiError::bad_parameter("the query is not UTF-8"))?;
            (query, hinted_accept(&params)?)
        }
        Some("application/sparql-update") => return Err(read_only()),
        other => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!(
                    "Content-Type {}: POST the query as application/sparql-query or as a form \
                     (application/x-www-form-urlencoded, query=...)",
                    other.unwrap_or("(none)")
                ),
            ));
        }
    };
    run(state, query, hint, &headers).await
}

/// 503 for a query stopped at the time limit.
pub(super) fn timed_out(limit: Duration) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "query_timeout",
        format!(
            "the query ran longer than the limit of {} ms (kgrec serve --sparql-timeout-ms) and \
             was cancelled; narrow it (LIMIT, more specific patterns)",
            limit.as_millis()
        ),
    )
}

/// Runs `query` on a SPARQL worker process and writes its results in the format negotiated
/// from `hint` (a format parameter's `Accept`) or else the `Accept` header, within the time
/// limit: past it, the answer is a 503 and a query that does not stop ends with its worker.
async fn run(
    state: Shared,
    query: String,
    hint: Option<&'static str>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let accept = match hint {
        Some(accept) => Some(accept.to_owned()),
        None => headers
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    let ask = worker::Ask {
        query,
        accept,
        max_rows: u64::try_from(state.sparql_max_rows).unwrap_or(u64::MAX),
        timeout_ms: u64::try_from(state.sparql_timeout.as_millis()).unwrap_or(u64::MAX),
    };
    // A task of its own: a client that hangs up does not drop the worker mid-query.
    let task = {
        let state = Arc::clone(&state);
        tokio::spawn(async move { state.sparql.ask(&state.engine, ask).await })
    };
    let answer = task
        .await
        .map_err(|_| ApiError::internal("the SPARQL task stopped before answering"))?;
    let (content_type, bytes) = answer.inspect_err(|error| {
        // The limits that turned a query away, for /metrics.
        if let code @ ("sparql_busy"
        | "query_timeout"
        | "query_out_of_memory"
        | "result_too_large") = error.code
        {
            state.metrics.rejected(code);
        }
    })?;
    let mut response = bytes.into_response();
    let value = match content_type.as_str() {
        "text/csv"
        | "text/tab-separated-values"
        | "text/turtle"
        | "text/plain"
        | "application/rdf+xml" => {
            format!("{content_type}; charset=utf-8")
        }
        other => other.to_owned(),
    };
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
    Ok(response)
}

/// Evaluates `query` on `store` (on the calling thread, which blocks) and writes its results
/// as `accept` prefers, at most `max` rows: the content type and the bytes.
pub(super) fn evaluate_on(
    store: &Store,
    query: &str,
    accept: Option<&str>,
    cancel: CancellationToken,
    max: usize,
) -> Result<(&'static str, Vec<u8>), ApiError> {
    let results = match kgrec::engine::sparql_on(store, query, cancel) {
        Ok(results) => results,
        Err(e) if e.exit_code() == 2 && is_update(query) => return Err(read_only()),
        Err(e) if e.exit_code() == 2 => {
            let mut error = ApiError::from(e);
            error.code = "bad_query";
            return Err(error);
        }
        Err(e) => return Err(e.into()),
    };
    let over = Rc::new(Cell::new(false));
    let mut out = Vec::new();
    let content_type = match results {
        QueryResults::Graph(triples) => {
            let (name, format) = negotiate(accept, &GRAPH_TYPES)?;
            let triples = QueryTripleIter::new(Capped {
                inner: triples,
                left: max,
                over: Rc::clone(&over),
            });
            crate::cli::graph::write_graph(triples, format, &mut out)?;
            name
        }
        QueryResults::Boolean(value) => {
            let (name, format) = negotiate(accept, &SOLUTION_TYPES)?;
            crate::cli::graph::write_boolean(value, format, &mut out)?;
            name
        }
        QueryResults::Solutions(solutions) => {
            let (name, format) = negotiate(accept, &SOLUTION_TYPES)?;
            let variables: Arc<[_]> = solutions.variables().into();
            let capped = Capped {
                inner: solutions,
                left: max,
                over: Rc::clone(&over),
            };
            let solutions = QuerySolutionIter::new(variables, capped);
            crate::cli::graph::write_solutions(solutions, format, &mut out)?;
            name
        }
    };
    if over.get() {
        return Err(too_many(max));
    }
    Ok((content_type, out))
}

/// Whether `text` parses as a SPARQL Update (it did not parse as a query). An empty text parses
/// as an empty update, but it is an empty query (said as such by the engine).
fn is_update(text: &str) -> bool {
    let blank = text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#')
    });
    !blank && SparqlEvaluator::new().parse_update(text).is_ok()
}

/// One media range of an `Accept` header: `type/subtype` (either may be `*`) and its `q`.
fn media_ranges(accept: &str) -> Vec<(String, String, f32)> {
    accept
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';');
            let (kind, sub) = parts.next()?.trim().split_once('/')?;
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((
                kind.trim().to_ascii_lowercase(),
                sub.trim().to_ascii_lowercase(),
                q,
            ))
        })
        .collect()
}

/// The offered type the `Accept` header prefers (the most specific range that matches an
/// offer gives its `q`; ties go to the server's order); no header: the first offer. `406`
/// when nothing offered is acceptable.
fn negotiate<F: Copy>(
    accept: Option<&str>,
    offered: &[(&'static str, F)],
) -> Result<(&'static str, F), ApiError> {
    let ranges = match accept.map(str::trim) {
        None | Some("") => {
            return offered
                .first()
                .copied()
                .ok_or_else(|| ApiError::internal("nothing offered"));
        }
        Some(accept) => media_ranges(accept),
    };
    let mut best: Option<(f32, usize)> = None;
    for (n, (name, _)) in offered.iter().enumerate() {
        let Some((kind, sub)) = name.split_once('/') else {
            continue;
        };
        let q = ranges
            .iter()
            .filter_map(|(k, s, q)| {
                let specificity = match (k.as_str(), s.as_str()) {
                    (k, s) if k == kind && s == sub => 2,
                    (k, "*") if k == kind => 1,
                    ("*", "*") => 0,
                    _ => return None,
                };
                Some((specificity, *q))
            })
            .max_by_key(|(specificity, _)| *specificity)
            .map(|(_, q)| q);
        if let Some(q) = q
            && q > 0.0
            && best.is_none_or(|(b, _)| q > b)
        {
            best = Some((q, n));
        }
    }
    match best {
        Some((_, n)) => Ok(offered[n]),
        None => Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            format!(
                "Accept {}: these results come as {}",
                accept.unwrap_or(""),
                offered
                    .iter()
                    .map(|(name, _)| *name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn accept_headers_are_negotiated() {
        let pick = |accept: Option<&str>| negotiate(accept, &SOLUTION_TYPES).map(|(n, _)| n);
        assert_eq!(pick(None).unwrap(), "application/sparql-results+json");
        assert_eq!(
            pick(Some("*/*")).unwrap(),
            "application/sparql-results+json"
        );
        assert_eq!(pick(Some("text/csv")).unwrap(), "text/csv");
        assert_eq!(
            pick(Some("text/csv;q=0.5, application/sparql-results+xml")).unwrap(),
            "application/sparql-results+xml"
        );
        assert_eq!(pick(Some("text/*")).unwrap(), "text/csv");
        assert_eq!(pick(Some("application/json")).unwrap(), "application/json");
        assert_eq!(
            pick(Some("text/csv;q=0, */*;q=0.1")).unwrap(),
            "application/sparql-results+json"
        );
        let refused = pick(Some("image/png")).unwrap_err();
        assert_eq!(refused.status, StatusCode::NOT_ACCEPTABLE);
        let graph = negotiate(Some("text/turtle, */*;q=0.1"), &GRAPH_TYPES).unwrap();
        assert_eq!(graph.0, "text/turtle");
    }

    #[test]
    fn forms_give_the_query_and_refuse_updates() {
        assert_eq!(
            query_of_form(Some("query=ASK%20%7B%7D")).unwrap(),
            ("ASK {}".to_owned(), None)
        );
        assert_eq!(
            query_of_form(Some("query=ASK%7B%7D&format=json&output=json&results=json")).unwrap(),
            ("ASK{}".to_owned(), Some("application/sparql-results+json"))
        );
        assert_eq!(
            query_of_form(Some("query=ASK%7B%7D&output=png"))
                .unwrap_err()
                .code,
            "bad_parameter"
        );
        assert_eq!(
            query_of_form(Some("update=CLEAR%20ALL")).unwrap_err().code,
            "read_only"
        );
        // An empty text parses as an empty update, but it is an empty query.
        assert!(!is_update(""));
        assert!(!is_update("  # nothing\n"));
        assert!(is_update("CLEAR ALL"));
        assert_eq!(query_of_form(None).unwrap_err().code, "bad_parameter");
        assert_eq!(
            query_of_form(Some("query=ASK%7B%7D&default-graph-uri=x"))
                .unwrap_err()
                .code,
            "bad_parameter"
        );
    }
}
