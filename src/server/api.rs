//! The JSON routes: health, models, recommendations, explanations, similar items, interactions,
//! rebuilds and their jobs, metrics and the OpenAPI document.

use std::collections::HashSet;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{ACCEPT_LANGUAGE, CONTENT_TYPE, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kgrec::explain::ExplainOptions;
use kgrec::interactions::RawInteraction;
use kgrec::store::ModelHeader;
use kgrec::{Filter, LabelLangs, ModelSpec, Overrides, RecommendRequest, TrainRequest};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::params::{
    MAX_EXPLAINED_K, MAX_FILTER_VALUES, MAX_FILTERS, MAX_K, MAX_OFFSET, Query, check_id,
};
use super::{AppState, Shared, blocking, body_bytes, media_type};

/// The header naming the model version that answered.
const MODEL_VERSION: &str = "kgrec-model-version";

/// A JSON answer with `status`.
fn json(status: StatusCode, value: &impl Serialize) -> Result<Response, ApiError> {
    let body = serde_json::to_string(value)
        .map_err(|e| ApiError::internal(format!("the answer does not serialise: {e}")))?;
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

/// An answer's fields followed by the version of the model that gave it.
#[derive(Debug, Serialize)]
struct Versioned<'a, T: Serialize> {
    #[serde(flatten)]
    answer: &'a T,
    model_version: u64,
}

/// A JSON object answer from `answer` with `"model_version"` added, and the version's header.
fn with_version(answer: &impl Serialize, version: u64) -> Result<Response, ApiError> {
    let mut response = json(
        StatusCode::OK,
        &Versioned {
            answer,
            model_version: version,
        },
    )?;
    response
        .headers_mut()
        .insert(MODEL_VERSION, HeaderValue::from(version));
    Ok(response)
}

/// Path segments, or a 400 that says what is wrong with them.
fn segments<T>(path: Result<Path<T>, PathRejection>) -> Result<T, ApiError> {
    path.map(|Path(p)| p).map_err(|e| {
        // A raw `%` before two hex digits (`50%off` is kept, `sku%A1` is not) is read as an
        // escape, and the bytes it makes need not be UTF-8.
        let escape = match &e {
            PathRejection::FailedToDeserializePathParams(f) => matches!(
                f.kind(),
                axum::extract::path::ErrorKind::InvalidUtf8InPathParam { .. }
            ),
            _ => false,
        };
        let hint = match escape {
            true => {
                ": a `%` in a path starts an escape (`%XX`, one byte in hex) and these bytes are \
                 not UTF-8 text; write a `%` that is part of an id as `%25` (percent-encode \
                 the id)"
            }
            false => "",
        };
        ApiError::bad_parameter(format!("bad path: {}{hint}", e.body_text()))
    })
}

/// The route's one id (checked; `what` names it) and its query string (`allowed` parameters,
/// `repeatable` ones more than once).
fn id_and_query(
    what: &str,
    path: Result<Path<String>, PathRejection>,
    raw: Option<&str>,
    allowed: &[&str],
    repeatable: &[&str],
) -> Result<(String, Query), ApiError> {
    let id = segments(path)?;
    check_id(what, &id)?;
    Ok((id, Query::parse(raw, allowed, repeatable)?))
}

/// `GET /health/live`: the process answers.
pub async fn live() -> Result<Response, ApiError> {
    json(StatusCode::OK, &serde_json::json!({"status": "live"}))
}

/// `GET /health/ready`: a model is bound and requests can be served (503 until then).
pub async fn ready(State(state): State<Shared>) -> Result<Response, ApiError> {
    let served = blocking(move || Ok(state.engine.served())).await?;
    match served {
        Ok(served) => json(
            StatusCode::OK,
            &serde_json::json!({
                "status": "ready",
                "model": {
                    "version": served.model.header.version,
                    "model": served.model.header.kind.name(),
                },
            }),
        ),
        Err(e) => {
            let mut error = ApiError::from(e);
            error.status = StatusCode::SERVICE_UNAVAILABLE;
            Err(error)
        }
    }
}

/// One stored version as `/v1/models` shows it.
#[derive(Debug, Serialize)]
struct ModelJson {
    version: u64,
    model: &'static str,
    /// Whether it can recommend (graph embeddings cannot).
    recommender: bool,
    current: bool,
    params: serde_json::Value,
    seed: u64,
    created_unix: u64,
    users: u64,
    items: u64,
    interactions: u64,
    dim: u64,
    epochs: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    final_loss: Option<f64>,
    fit_seconds: f64,
    metrics: serde_json::Map<String, serde_json::Value>,
}

impl ModelJson {
    fn of(h: &ModelHeader, current: Option<u64>) -> Self {
        Self {
            version: h.version,
            model: h.kind.name(),
            recommender: !h.kind.is_graph_embedding(),
            current: current == Some(h.version),
            params: serde_json::from_str(&h.params).unwrap_or(serde_json::Value::Null),
            seed: h.seed,
            created_unix: h.created_unix,
            users: h.users,
            items: h.items,
            interactions: h.interactions,
            dim: h.dim,
            epochs: h.epochs,
            final_loss: h.final_loss,
            fit_seconds: h.fit_seconds,
            metrics: h
                .metrics
                .iter()
                .map(|(k, v)| (k.clone(), (*v).into()))
                .collect(),
        }
    }
}

/// `GET /v1/models`: the stored versions (oldest first), the current one, their training
/// metadata.
pub async fn models(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    Query::parse(raw.as_deref(), &[], &[])?;
    let (headers, current) = blocking(move || Ok(state.engine.models()?)).await?;
    let versions: Vec<ModelJson> = headers.iter().map(|h| ModelJson::of(h, current)).collect();
    json(
        StatusCode::OK,
        &serde_json::json!({"current": current, "versions": versions}),
    )
}

/// `paths=` and `hops=` of explained answers, within the server's time budget.
fn explain_options(query: &Query, state: &AppState) -> Result<ExplainOptions, ApiError> {
    let default = ExplainOptions::default();
    Ok(ExplainOptions {
        paths: query.number("paths", default.paths, 0..=10)?,
        hops: query.number("hops", default.hops, 1..=3)?,
        budget: Some(state.explain_budget),
        ..default
    })
}

/// The languages of an answer's labels: `lang=` (a tag that is not BCP 47 is a 400), else the
/// `Accept-Language` header (what is not well-formed in it is ignored), else `--label-lang`.
fn label_langs(
    query: &Query,
    headers: &HeaderMap,
    state: &AppState,
) -> Result<LabelLangs, ApiError> {
    if let Some(list) = query.get("lang") {
        return LabelLangs::parse(list).map_err(|e| ApiError::bad_parameter(format!("lang: {e}")));
    }
    Ok(headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(LabelLangs::from_accept_language)
        .unwrap_or_else(|| state.label_langs.clone()))
}

/// `answer` marked as depending on `Accept-Language` (for caches).
fn varies_by_language(answer: Result<Response, ApiError>) -> Result<Response, ApiError> {
    let mut response = answer?;
    response
        .headers_mut()
        .append(VARY, HeaderValue::from_static("accept-language"));
    Ok(response)
}

/// The `filter=` conditions (one per parameter, all of which must hold), parsed and bounded.
fn filter(query: &Query) -> Result<Filter, ApiError> {
    let texts = query.all("filter");
    if texts.len() > MAX_FILTERS {
        return Err(ApiError::bad_parameter(format!(
            "{} filter= conditions: at most {MAX_FILTERS} (each may list several values,              PREDICATE=V1|V2)",
            texts.len()
        )));
    }
    let filter = Filter::parse(&texts).map_err(|e| ApiError::from(kgrec::Error::from(e)))?;
    if let Some(c) = filter
        .conditions()
        .iter()
        .find(|c| c.values().count() > MAX_FILTER_VALUES)
    {
        return Err(ApiError::bad_parameter(format!(
            "filter {:?} lists {} values: at most {MAX_FILTER_VALUES}",
            c.text(),
            c.values().count()
        )));
    }
    Ok(filter)
}

/// `GET /v1/users/{id}/recommendations?k=10&offset=0&explain=false&exclude=ID,ID&paths=3&hops=3&filter=P=V&lang=ru,en`
pub async fn recommendations(
    State(state): State<Shared>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (user, query) = id_and_query(
        "user",
        path,
        raw.as_deref(),
        &[
            "k", "offset", "explain", "exclude", "paths", "hops", "filter", "lang",
        ],
        &["exclude", "filter"],
    )?;
    let explain = query.flag("explain", false)?;
    if !explain && (query.has("paths") || query.has("hops")) {
        return Err(ApiError::bad_parameter(
            "paths= and hops= shape explanations: give explain=true",
        ));
    }
    let max_k = if explain { MAX_EXPLAINED_K } else { MAX_K };
    let k = query.number("k", 10, 1..=max_k)?;
    let offset = query.number("offset", 0, 0..=MAX_OFFSET)?;
    let exclude = query.list("exclude");
    for item in &exclude {
        check_id("excluded item", item)?;
    }
    let request = RecommendRequest {
        offset,
        exclude,
        filter: filter(&query)?,
        explain: explain
            .then(|| explain_options(&query, &state))
            .transpose()?,
        labels: label_langs(&query, &headers, &state)?,
        ..RecommendRequest::new(user, k)
    };
    // A plain request on a bound model reads memory only: answered in place, it saves two
    // thread hand-offs (which, with the CPUs busy, cost more than the answer); anything that
    // may bind a model, search paths or read labels from the RDF store goes to the blocking
    // pool.
    let recs = if request.explain.is_none()
        && request.model_version.is_none()
        && request.labels.is_default()
        && state.engine.is_served()
    {
        state.engine.recommend(&request)?
    } else {
        blocking(move || Ok(state.engine.recommend(&request)?)).await?
    };
    let version = recs.model.version;
    varies_by_language(match recs.explained_json() {
        Some(explained) => with_version(&explained, version),
        None => with_version(&recs.list_json(), version),
    })
}

/// `GET /v1/users/{id}/explanations/{item}?paths=3&hops=3&lang=ru,en`: `Engine::explain_in`.
pub async fn explanation(
    State(state): State<Shared>,
    path: Result<Path<(String, String)>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (user, item) = segments(path)?;
    check_id("user", &user)?;
    check_id("item", &item)?;
    let query = Query::parse(raw.as_deref(), &["paths", "hops", "lang"], &[])?;
    let options = explain_options(&query, &state)?;
    let langs = label_langs(&query, &headers, &state)?;
    let (explanation, header) = blocking(move || {
        Ok(state
            .engine
            .explain_in(&user, &item, options, None, &langs)?)
    })
    .await?;
    varies_by_language(with_version(&explanation, header.version))
}

/// `GET /v1/items/{id}/similar?k=10&lang=ru,en`: `Engine::similar_in`.
pub async fn similar(
    State(state): State<Shared>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (item, query) = id_and_query("item", path, raw.as_deref(), &["k", "lang"], &[])?;
    let k = query.number("k", 10, 1..=MAX_K)?;
    let langs = label_langs(&query, &headers, &state)?;
    let similar = blocking(move || Ok(state.engine.similar_in(&item, k, None, &langs)?)).await?;
    varies_by_language(json(StatusCode::OK, &similar))
}

/// An id given as a JSON string or a whole number.
#[derive(Debug)]
struct Id(String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Id;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an id: a string or a whole number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Id, E> {
                Ok(Id(v.to_owned()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// One posted interaction.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InteractionJson {
    user: Id,
    item: Id,
    /// Read wide, so that a rating too large for the stored 32-bit float is named as such.
    rating: Option<f64>,
    /// Seconds since the Unix epoch, or an ISO 8601 date or date-time (as the CLI reads them).
    timestamp: Option<Timestamp>,
    /// The kind of event (`view`, `purchase`), weighed by the data directory's event weights
    /// (`import interactions --event-weights`) instead of a rating.
    event: Option<String>,
}

/// A timestamp given as seconds since 1970 or as an ISO 8601 string (`2024-01-01`,
/// `2024-01-01T12:30:00Z`), as an imported file may give it; `.1`: it was a date (never taken
/// for milliseconds).
#[derive(Debug, Clone, Copy)]
struct Timestamp(i64, bool);

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a timestamp: seconds since 1970 or an ISO 8601 date or date-time \
                     (2024-01-01, 2024-01-01T12:30:00Z)",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                kgrec::interactions::parse_iso(v)
                    .map(|t| Timestamp(t, true))
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Timestamp, E> {
                i64::try_from(v)
                    .map(|t| Timestamp(t, false))
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Ok(Timestamp(v, false))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// A JSON body, or 415 for another media type (no `Content-Type` is taken as JSON).
fn json_body(headers: &HeaderMap) -> Result<(), ApiError> {
    match media_type(headers).as_deref() {
        None | Some("application/json") => Ok(()),
        Some(other) if other.ends_with("+json") => Ok(()),
        Some(other) => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("Content-Type {other}: send application/json"),
        )),
    }
}

/// 400 for a body that is not the JSON expected, with serde's line and column.
fn bad_json(e: &serde_json::Error, expected: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_json",
        format!("the body is not {expected}: {e}"),
    )
}

/// The body of `POST` and `DELETE /v1/interactions`: a non-empty JSON array of interactions
/// with well-formed ids (no query parameters); `at_least`: what an empty array is told to send.
fn interaction_array(
    state: &Shared,
    raw: Option<&str>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    at_least: &str,
) -> Result<Vec<InteractionJson>, ApiError> {
    Query::parse(raw, &[], &[])?;
    json_body(headers)?;
    let body = body_bytes(state, body)?;
    let expected = "a JSON array of {\"user\", \"item\", \"rating\"?, \"timestamp\"?, \"event\"?}";
    let rows: Vec<InteractionJson> =
        serde_json::from_slice(&body).map_err(|e| bad_json(&e, expected))?;
    if rows.is_empty() {
        return Err(ApiError::bad_parameter(format!(
            "the array is empty: {at_least}"
        )));
    }
    for (n, row) in rows.iter().enumerate() {
        check_id(&format!("user of interaction {}", n + 1), &row.user.0)?;
        check_id(&format!("item of interaction {}", n + 1), &row.item.0)?;
    }
    Ok(rows)
}

/// `POST /v1/interactions`: a JSON array of `{user, item, rating?, timestamp?}`, written (and
/// flushed to disk) before the answer; the users' lists leave the items at once and users new to
/// the store are folded in on their next request.
pub async fn interactions(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let rows = interaction_array(
        &state,
        raw.as_deref(),
        &headers,
        body,
        "post at least one interaction",
    )?;
    // Rows naming their event are weighed by the stored weights, a pair keeping the largest.
    let weights = match rows.iter().any(|r| r.event.is_some()) {
        true => {
            let shared = state.clone();
            let stored = blocking(move || Ok(shared.engine.event_weights()?)).await?;
            Some(stored.ok_or_else(|| {
                ApiError::bad_parameter(
                    "an interaction names an \"event\", but this data directory has no event \
                     weights: import an event file with `kgrec import interactions FILE \
                     --event-weights KIND=W,...` first, or send a \"rating\"",
                )
            })?)
        }
        false => None,
    };
    let mut dropped = 0usize;
    let mut raw_rows = Vec::with_capacity(rows.len());
    for (n, row) in rows.into_iter().enumerate() {
        // Seconds since 1970 is the contract; milliseconds would be read as dates after the
        // year 5000 (a file import notes them; a posted row is refused, saying why). A date is
        // a date, never milliseconds.
        let timestamp = row.timestamp.map(|t| t.0);
        if let Some(Timestamp(t, false)) = row.timestamp
            && t > kgrec::interactions::MILLISECONDS
        {
            return Err(ApiError::bad_parameter(format!(
                "interaction {}: timestamp {t} looks like milliseconds; send seconds since \
                 1970 (e.g. {})",
                n + 1,
                t / 1000
            )));
        }
        // As a file import: a time more than a year ahead is refused, naming the row.
        if let Some(t) = timestamp
            && kgrec::interactions::far_future(t)
        {
            return Err(ApiError::bad_parameter(format!(
                "interaction {}: timestamp {t} is more than a year after now: timestamps say \
                 when an interaction happened, and one far in the future (a \"no end\" \
                 9999-12-31, a mistyped year) would make every later real event of the pair \
                 look already seen; correct it, or leave it out",
                n + 1
            )));
        }
        let rating = match row.rating {
            Some(r) if !(r as f32).is_finite() => {
                return Err(ApiError::bad_parameter(format!(
                    "interaction {}: rating {r:e} is out of range (ratings are 32-bit floats: at \
                     most about 3.4e38)",
                    n + 1
                )));
            }
            Some(r) if r.abs() > f64::from(kgrec::interactions::MAX_RATING) => {
                return Err(ApiError::bad_parameter(format!(
                    "interaction {}: rating {r:e} is implausibly large (kgrec refuses ratings \
                     beyond ±16777216, 2^24)",
                    n + 1
                )));
            }
            r => r.map(|r| r as f32),
        };
        let rating = match (&weights, row.event.as_deref(), rating) {
            (_, Some(_), Some(_)) => {
                return Err(ApiError::bad_parameter(format!(
                    "interaction {}: both an \"event\" and a \"rating\": a pair's strength \
                     comes from the weight of its events here; send one",
                    n + 1
                )));
            }
            (Some(_), None, Some(r)) => {
                return Err(ApiError::bad_parameter(format!(
                    "interaction {}: rating {r} among events: this data directory's strengths \
                     are event weights; send an \"event\" instead",
                    n + 1
                )));
            }
            (Some(w), Some(event), None) => match w.get(event) {
                Some(0.0) => {
                    dropped += 1;
                    continue;
                }
                Some(weight) => Some(weight),
                None => {
                    return Err(ApiError::bad_parameter(format!(
                        "interaction {}: {}",
                        n + 1,
                        w.unknown_stored(event)
                    )));
                }
            },
            // Stored without a weight, the row would weigh as the top kind.
            (Some(w), None, None) => {
                return Err(ApiError::from(kgrec::Error::NoEvents {
                    input: format!("POST /v1/interactions: interaction {}", n + 1),
                    stored: w.clone(),
                    posted: true,
                }));
            }
            (_, _, rating) => rating,
        };
        raw_rows.push(RawInteraction {
            user: row.user.0,
            item: row.item.0,
            rating,
            timestamp,
            count: 1,
            stamps: Vec::new(),
        });
    }
    let received = raw_rows.len();
    // Ids are kept as sent, as a file import keeps them, and said the same way.
    let ids = || {
        raw_rows.iter().flat_map(|r| {
            [
                (kgrec::interactions::IdKind::User, r.user.as_str()),
                (kgrec::interactions::IdKind::Item, r.item.as_str()),
            ]
        })
    };
    let spaced = kgrec::interactions::spaced_ids_note_in(
        "POST /v1/interactions",
        ("the posted rows", "the rows also have"),
        ids(),
    );
    let invisible = kgrec::interactions::invisible_ids_note_in(
        "POST /v1/interactions",
        "the posted rows",
        ids(),
    );
    let negative = kgrec::engine::timestamp_note_in("POST /v1/interactions", &raw_rows);
    let metrics = std::sync::Arc::clone(&state.metrics);
    let dropped = (dropped > 0)
        .then(|| format!("{dropped} row(s) of event kinds weighted 0 dropped (not stored)"));
    let imported = blocking(move || {
        // No row names an event: into a directory of event weights, the first one is refused
        // by name.
        Ok(state
            .engine
            .add_weighed_interactions(raw_rows, Vec::new(), weights)
            .map_err(|e| match e {
                kgrec::Error::NoEvents { stored, posted, .. } => kgrec::Error::NoEvents {
                    input: "POST /v1/interactions: interaction 1".to_owned(),
                    stored,
                    posted,
                },
                e => e,
            })?)
    })
    .await?;
    metrics.interactions(received as u64);
    let r = &imported.report;
    // What the engine noticed, the older rows it kept stored, then the spaced ids.
    let older = r.older_example.as_ref().map(|e| {
        format!(
            "{} row(s) older than the stored one with another rating ({e}): the newer, stored \
             rating is kept (the latest timestamp wins)",
            r.older_ratings
        )
    });
    let unrated = r.unrated_example.as_ref().map(|e| {
        format!(
            "{} row(s) without a rating named a pair with a stored rating ({e}): a row without \
             a rating never erases one, so the stored ratings are kept",
            r.unrated_kept
        )
    });
    let larger = kgrec::engine::counted_by_the_larger_note(r);
    // In a catalogue linked to a graph, an item first seen here has no link: a typo'd id, or
    // a new product whose link is still to import.
    let unlinked = (r.new_items > 0 && r.counts.linked > 0).then(|| {
        let shown: Vec<String> = r
            .new_item_examples
            .iter()
            .map(|i| format!("{i:?}"))
            .collect();
        format!(
            "{} item(s) new to the data directory, not linked to the graph: {}{} (a typo? a new \
             item joins the catalogue with its first interaction; `kgrec import links` links it)",
            r.new_items,
            shown.join(", "),
            if r.new_items as usize > shown.len() {
                ", ..."
            } else {
                ""
            }
        )
    });
    let notes: Vec<String> = imported
        .notes
        .iter()
        .cloned()
        .chain(older)
        .chain(unrated)
        .chain(larger)
        .chain(unlinked)
        .chain(dropped)
        .chain(negative)
        .chain(spaced)
        .chain(invisible)
        .collect();
    let mut answer = serde_json::json!({
            "received": received,
            "merged": imported.merged,
            "new_interactions": r.new_interactions,
            "updated_interactions": r.updated_interactions,
            "unchanged_interactions": r.unchanged_interactions,
            "counts_raised": r.counts_raised,
            "older_ratings_kept_stored": r.older_ratings,
            "unrated_kept_stored_rating": r.unrated_kept,
            "notes": notes,
            "new_users": r.new_users,
            "new_items": r.new_items,
            "store": {
                "users": r.counts.users,
                "items": r.counts.items,
                "interactions": r.counts.interactions,
            },
    });
    // Present when there is something to say.
    if notes.is_empty()
        && let Some(map) = answer.as_object_mut()
    {
        map.remove("notes");
    }
    json(StatusCode::OK, &answer)
}

/// `DELETE /v1/interactions`: takes interactions back (returns). The body is the array `POST`
/// takes (`rating` and `timestamp` are read and ignored: a stored pair is removed whatever it
/// holds); removed all or nothing and flushed to disk before the answer, which counts the pairs
/// removed and those the store did not hold (naming the first few). Users and items stay known;
/// the next request is answered from the store as it now is, and the next training does not
/// see the pairs.
pub async fn remove_interactions(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let rows = interaction_array(
        &state,
        raw.as_deref(),
        &headers,
        body,
        "name at least one interaction to remove",
    )?;
    let pairs: Vec<RawInteraction> = rows
        .into_iter()
        .map(|row| RawInteraction {
            user: row.user.0,
            item: row.item.0,
            rating: None,
            timestamp: None,
            count: 1,
            stamps: Vec::new(),
        })
        .collect();
    let removed = blocking(move || Ok(state.engine.remove_interactions(&pairs)?)).await?;
    let r = &removed.report;
    let not_found: Vec<serde_json::Value> = r
        .not_found_examples
        .iter()
        .map(|(user, item)| serde_json::json!({"user": user, "item": item}))
        .collect();
    let answer = serde_json::json!({
        "received": removed.read,
        "merged": removed.merged,
        "removed_interactions": r.removed,
        "not_found": r.not_found,
        "not_found_examples": not_found,
        "store": {
            "users": r.counts.users,
            "items": r.counts.items,
            "interactions": r.counts.interactions,
        },
    });
    json(StatusCode::OK, &answer)
}

/// The body of `POST` and `DELETE /v1/items/retired`: a non-empty JSON array of item ids
/// (strings or whole numbers; no query parameters).
fn item_array(
    state: &Shared,
    raw: Option<&str>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Vec<String>, ApiError> {
    Query::parse(raw, &[], &[])?;
    json_body(headers)?;
    let body = body_bytes(state, body)?;
    let ids: Vec<Id> = serde_json::from_slice(&body)
        .map_err(|e| bad_json(&e, "a JSON array of item ids (\"item1\", ...)"))?;
    if ids.is_empty() {
        return Err(ApiError::bad_parameter(
            "the array is empty: name at least one item",
        ));
    }
    for (n, id) in ids.iter().enumerate() {
        check_id(&format!("item {}", n + 1), &id.0)?;
    }
    Ok(ids.into_iter().map(|id| id.0).collect())
}

/// `POST /v1/items/retired`: a JSON array of item ids the catalogue no longer offers (sold,
/// withdrawn); from the next request on they are neither recommended nor similar, without
/// retraining. All or nothing: an unknown id refuses the array (400) and nothing changes.
/// `DELETE /v1/items/retired`: the same array, offered again.
pub async fn change_availability(
    State(state): State<Shared>,
    method: axum::http::Method,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let items = item_array(&state, raw.as_deref(), &headers, body)?;
    let retire = method == axum::http::Method::POST;
    let changed = blocking(move || match retire {
        true => Ok(state.engine.retire_items(&items)?),
        false => Ok(state.engine.restore_items(&items)?),
    })
    .await?;
    json(
        StatusCode::OK,
        &serde_json::json!({
            "received": changed.read,
            "changed": changed.changed,
            "unchanged": changed.unchanged,
            "retired_items": changed.retired,
            "items": changed.items,
        }),
    )
}

/// `GET /v1/items/retired`: the retired items' ids, sorted.
pub async fn retired_items(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    Query::parse(raw.as_deref(), &[], &[])?;
    let items = blocking(move || Ok(state.engine.retired_items()?)).await?;
    json(
        StatusCode::OK,
        &serde_json::json!({"count": items.len(), "items": items.as_slice()}),
    )
}

/// The optional body of `POST /v1/admin/rebuild`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RebuildJson {
    /// A learner by its `--model` name, with `train`'s knobs in `overrides`.
    model: Option<String>,
    overrides: Option<serde_json::Value>,
    /// A whole `ModelSpec` (`{"model": ..., "params": {...}}`) instead.
    spec: Option<serde_json::Value>,
    seed: Option<u64>,
    keep: Option<usize>,
}

/// Deserialises `value` as `T` and refuses keys of an object (at the top and in `"params"`)
/// that `T` does not write back: serde would drop a misspelt knob silently. The refusal lists
/// `accepted` (with the nearest, when one is close) when the caller gives it.
fn strict<T: serde::de::DeserializeOwned + Serialize>(
    value: serde_json::Value,
    what: &str,
    accepted: &[String],
) -> Result<T, ApiError> {
    let parsed: T = serde_json::from_value(value.clone()).map_err(|e| bad_json(&e, what))?;
    let back = serde_json::to_value(&parsed)
        .map_err(|e| ApiError::internal(format!("{what} does not serialise: {e}")))?;
    let unknown = |given: &serde_json::Value, known: &serde_json::Value| -> Option<String> {
        let (Some(given), Some(known)) = (given.as_object(), known.as_object()) else {
            return None;
        };
        let known: HashSet<&String> = known.keys().collect();
        given.keys().find(|k| !known.contains(k)).cloned()
    };
    let field = unknown(&value, &back).or_else(|| unknown(&value["params"], &back["params"]));
    match field {
        Some(field) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_json",
            format!(
                "{what}: unknown field {field:?}{}",
                accepted_names(&field, accepted)
            ),
        )),
        None => Ok(parsed),
    }
}

/// `; did you mean "epochs"? accepted: ...` for an unknown key among `accepted` (nothing when
/// the caller has no list).
fn accepted_names(field: &str, accepted: &[String]) -> String {
    if accepted.is_empty() {
        return String::new();
    }
    // Keys of the rebuild's body itself, put inside "overrides" by mistake.
    if matches!(field, "seed" | "keep" | "model" | "spec") {
        return format!(
            "; {field:?} is a key of the request body itself, beside \"overrides\" \
             ({{\"model\": ..., \"{field}\": ..., \"overrides\": {{...}}}})"
        );
    }
    let near = accepted
        .iter()
        .map(|a| (strsim::osa_distance(field, a), a))
        .filter(|(d, a)| *d <= (a.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| format!("; did you mean {a:?}?"))
        .unwrap_or_default();
    format!("{near} (accepted: {})", accepted.join(", "))
}

/// The keys of `"overrides"`: `train`'s flags without dashes, `-` as `_` (`reg_scale`).
fn override_keys() -> Vec<String> {
    kgrec::learners::Knob::ALL
        .map(|k| k.flag().trim_start_matches('-').replace('-', "_"))
        .to_vec()
}

/// A message of [`ModelSpec::new`] in the request's words: its `--flag`s become the keys of
/// `"overrides"` (`--reg-scale` → `"reg_scale"`), `--model` the `"model"` key.
fn in_request_words(message: &str) -> String {
    let mut out = message.replace("--model ", "\"model\" ");
    // Longest first: `--reg` must not eat the start of `--reg-scale`.
    let mut flags = kgrec::learners::Knob::ALL.map(kgrec::learners::Knob::flag);
    flags.sort_by_key(|f| std::cmp::Reverse(f.len()));
    for flag in flags {
        let key = flag.trim_start_matches('-').replace('-', "_");
        out = out.replace(flag, &format!("\"{key}\""));
    }
    out
}

/// `POST /v1/admin/rebuild` (optional body `{"model", "overrides", "seed", "keep"}` or
/// `{"spec", "seed", "keep"}`; default: the current model's learner and hyper-parameters, the
/// default learner when there is no model yet) → `202 {"id": ...}`; `409` while one runs.
pub async fn rebuild(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    Query::parse(raw.as_deref(), &[], &[])?;
    let body = body_bytes(&state, body)?;
    let expected = "a JSON object {\"model\"?, \"overrides\"?, \"spec\"?, \"seed\"?, \"keep\"?}";
    let given: RebuildJson = if body.iter().all(u8::is_ascii_whitespace) {
        RebuildJson::default()
    } else {
        json_body(&headers)?;
        serde_json::from_slice(&body).map_err(|e| bad_json(&e, expected))?
    };
    // The second: the regularisation is the learner's default, so a fit that collapses at it
    // is refitted smaller (as `kgrec train` does).
    let (spec, shrink_collapsed_reg) = match (given.model, given.overrides, given.spec) {
        (Some(_), _, Some(_)) | (None, Some(_), Some(_)) => {
            return Err(ApiError::bad_parameter(
                "give \"model\" (with \"overrides\") or \"spec\", not both",
            ));
        }
        (None, Some(_), None) => {
            return Err(ApiError::bad_parameter(
                "\"overrides\" applies to a \"model\": name the learner",
            ));
        }
        (None, None, Some(spec)) => (strict::<ModelSpec>(spec, "spec", &[])?, false),
        (model, overrides, None) => {
            let overrides = match overrides {
                Some(o) => strict::<Overrides>(o, "overrides", &override_keys())?,
                None => Overrides::default(),
            };
            match model {
                // Named as the request names it (the engine's message names `--model`).
                Some(model) if kgrec::learners::learner(&model).is_none() => {
                    return Err(ApiError::bad_parameter(format!(
                        "model {model:?}: no such learner (expected one of {})",
                        kgrec::learners::names().join(", ")
                    )));
                }
                // As `kgrec train --model M`: what `kgrec tune` chose for M, if it was tuned,
                // with the request's overrides laid over it.
                Some(model) => {
                    let engine = state.engine.clone();
                    let built =
                        blocking(move || Ok(engine.train_spec(Some(&model), &overrides, true)))
                            .await?;
                    let built = built.map_err(|e| match e {
                        kgrec::Error::BadInput(message) => {
                            ApiError::bad_parameter(in_request_words(&message))
                        }
                        other => other.into(),
                    })?;
                    (built.spec, built.default_reg)
                }
                // A refresh: the current model's learner and hyper-parameters again; when there
                // is none yet, the learner `kgrec tune` found best with its choice, else the
                // default learner.
                None => {
                    let engine = state.engine.clone();
                    blocking(move || {
                        let (headers, current) = engine.models()?;
                        Ok(match headers.iter().find(|h| Some(h.version) == current) {
                            Some(header) => (ModelSpec::of_header(header)?, false),
                            None => {
                                let built = engine.train_spec(None, &Overrides::default(), true)?;
                                (built.spec, built.default_reg)
                            }
                        })
                    })
                    .await?
                }
            }
        }
    };
    let default = TrainRequest::default();
    let request = TrainRequest {
        spec,
        seed: given.seed.unwrap_or(default.seed),
        keep: given.keep.unwrap_or(default.keep),
        ann: default.ann,
        shrink_collapsed_reg,
        ..TrainRequest::default()
    };
    if request.keep == 0 {
        return Err(ApiError::bad_parameter("keep: keep at least 1 version"));
    }
    // As `train --seed` with pop: refused, not ignored.
    if given.seed.is_some() && !request.spec.kind().uses_seed() {
        return Err(ApiError::bad_parameter(format!(
            "seed: the {} learner has no randomness, so a seed does not apply to it",
            request.spec.kind().name()
        )));
    }
    let id = state.jobs.start(
        state.engine.clone(),
        std::sync::Arc::clone(&state.metrics),
        request,
    )?;
    let mut response = json(
        StatusCode::ACCEPTED,
        &serde_json::json!({"id": id, "status": "running"}),
    )?;
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/admin/jobs/{id}")) {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, location);
    }
    Ok(response)
}

/// `GET /v1/admin/jobs/{id}` → `{"status": "running|done|failed", ...}`.
pub async fn job(
    State(state): State<Shared>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let id = segments(path)?;
    Query::parse(raw.as_deref(), &[], &[])?;
    match state.jobs.get(&id)? {
        Some(job) => json(StatusCode::OK, &job),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_job",
            format!(
                "no job {:?} (jobs are numbered from 1 and kept in memory while the server runs)",
                id.chars().take(64).collect::<String>()
            ),
        )),
    }
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(state): State<Shared>) -> Result<Response, ApiError> {
    let engine = state.engine.clone();
    let current = blocking(move || Ok(engine.models()?.1)).await?;
    let text = state
        .metrics
        .render(current, state.jobs.running(), &state.engine.ingest_stats());
    let mut response = text.into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}

/// `GET /openapi.json`.
pub async fn openapi() -> Result<Response, ApiError> {
    json(StatusCode::OK, &super::openapi::document())
}
