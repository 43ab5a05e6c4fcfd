//! `GET /openapi.json`: an OpenAPI 3.1 description of the service, written by hand beside the
//! handlers (a unit test checks that it lists exactly the routes the router serves).

use serde_json::{Value, json};

use super::params::{
    MAX_EXPLAINED_K, MAX_FILTER_VALUES, MAX_FILTERS, MAX_ID_BYTES, MAX_K, MAX_OFFSET,
};

/// A reference to a schema of `components`.
fn schema(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// A JSON answer of `schema`.
fn json_answer(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

/// The error answers, by status.
fn errors(statuses: &[(&str, &str)]) -> serde_json::Map<String, Value> {
    statuses
        .iter()
        .map(|(status, description)| {
            (
                (*status).to_owned(),
                json_answer(description, schema("Error")),
            )
        })
        .collect()
}

/// A path parameter.
fn path_id(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description,
           "schema": {"type": "string", "maxLength": MAX_ID_BYTES}})
}

/// A query parameter.
fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

fn operation(
    summary: &str,
    parameters: Vec<Value>,
    ok: (&str, Value),
    failures: &[(&str, &str)],
) -> Value {
    let mut responses = errors(failures);
    responses.insert(ok.0.to_owned(), ok.1);
    json!({"summary": summary, "parameters": parameters, "responses": responses})
}

/// `lang=` and `Accept-Language`: the languages of the answer's labels.
fn label_parameters() -> Vec<Value> {
    vec![
        query(
            "lang",
            "The languages labels are chosen in: BCP 47 tags, comma-separated, best first (ru,en; \
             a tag matches itself and its subtags, else falls back to its shorter forms, zh-CN \
             to zh, as RFC 4647 Lookup; then untagged labels, then any). Explanation text stays \
             English; build other languages from the steps. A tag that is not BCP 47 is a 400. Without it: the Accept-Language header, else the server's \
             --label-lang (default en).",
            json!({"type": "string", "example": "ru,en"}),
        ),
        json!({"name": "Accept-Language", "in": "header", "required": false,
               "description": "Used when lang= is absent: ranges by q-value (q=0 left out), up to *, each followed by its shorter forms (ru-RU, then ru); entries that are not well-formed are ignored.",
               "schema": {"type": "string"}, "example": "ru-RU, ru;q=0.9, en;q=0.5"}),
    ]
}

fn explain_parameters() -> Vec<Value> {
    vec![
        query(
            "paths",
            "Paths per item (0: score parts only).",
            json!({"type": "integer", "minimum": 0, "maximum": 10, "default": 3}),
        ),
        query(
            "hops",
            "Graph hops per path after the history step.",
            json!({"type": "integer", "minimum": 1, "maximum": 3, "default": 3}),
        ),
    ]
}

fn paths() -> Value {
    let bad = ("400", "Bad parameters.");
    let no_model = ("503", "No model exists yet.");
    let read_only = (
        "403",
        "The read key on a write (`forbidden`), or a read-only server (`read_only`: started with \
         --read-only, or on a data directory it may not write).",
    );
    let mut recommendation_parameters = vec![
        path_id("id", "The user's id."),
        query(
            "k",
            &format!("Items per page (at most {MAX_EXPLAINED_K} with explain=true)."),
            json!({"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 10}),
        ),
        query(
            "offset",
            "Items skipped before the page (ranks continue).",
            json!({"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}),
        ),
        query(
            "explain",
            "Add score parts and relation paths to every item.",
            json!({"type": "boolean", "default": false}),
        ),
        query(
            "exclude",
            "Item ids never to recommend, comma-separated (repeatable); unknown ids are ignored.",
            json!({"type": "string"}),
        ),
        json!({"name": "filter", "in": "query", "required": false,
               "description": format!(
                   "Only items whose linked entity has a graph fact: PREDICATE=VALUE, several values as \
                    PREDICATE=V1|V2 (any of them). Repeat the parameter for facts that must all hold (at most \
                    {MAX_FILTERS}, of at most {MAX_FILTER_VALUES} values each). Terms: an IRI in <...>, a prefixed \
                    name (rdf, rdfs, owl, xsd, skos, dct, dcterms, dc, foaf, schema, dbo, dbr, dbc, dbp, wd, wdt), \
                    a literal in quotes (\"1995\"^^xsd:gYear, \"Drama\"@en) or a bare token of a TSV graph. \
                    An unknown predicate or value is a 400 (bad_filter); a filter no item satisfies gives an \
                    empty list and a note."),
               "schema": {"type": "array", "items": {"type": "string"}},
               "style": "form", "explode": true,
               "example": ["dct:subject=dbc:1990s_comedy_films|dbc:1990s_drama_films", "rdf:type=dbo:Film"]}),
    ];
    recommendation_parameters.extend(explain_parameters());
    recommendation_parameters.extend(label_parameters());
    let mut explanation_parameters = vec![
        path_id("id", "The user's id."),
        path_id("item", "The item's id."),
    ];
    explanation_parameters.extend(explain_parameters());
    explanation_parameters.extend(label_parameters());
    let mut similar_parameters = vec![
        path_id("id", "The item's id."),
        query(
            "k",
            "How many items.",
            json!({"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 10}),
        ),
    ];
    similar_parameters.extend(label_parameters());
    let sparql_answer = json!({
        "description": "SELECT/ASK results (JSON, XML, CSV, TSV) or CONSTRUCT/DESCRIBE triples (N-Triples, Turtle), by Accept.",
        "content": {
            "application/sparql-results+json": {}, "application/sparql-results+xml": {},
            "text/csv": {}, "text/tab-separated-values": {},
            "application/n-triples": {}, "text/turtle": {}
        }
    });
    let sparql_failures = [
        ("400", "A malformed query, or an update (read-only)."),
        ("406", "No acceptable result format."),
        ("413", "The body is too large."),
        ("415", "Neither a form nor application/sparql-query."),
        (
            "503",
            "The query ran past --sparql-timeout-ms and was cancelled (query_timeout).",
        ),
    ];
    json!({
        "/health/live": {"get": operation("The process answers.", vec![],
            ("200", json_answer("Live.", json!({"type": "object"}))), &[])},
        "/health/ready": {"get": operation("A model is loaded and requests can be served.", vec![],
            ("200", json_answer("Ready.", json!({"type": "object"}))), &[("503", "Not ready: no model yet.")])},
        "/metrics": {"get": {"summary": "Prometheus text: requests and latency by route and status, model version, rebuilds, interactions written and the group commits (flushes) that wrote them.",
            "responses": {"200": {"description": "Exposition format 0.0.4.", "content": {"text/plain": {}}}}}},
        "/openapi.json": {"get": operation("This document.", vec![],
            ("200", json_answer("OpenAPI 3.1.", json!({"type": "object"}))), &[])},
        "/v1/models": {"get": operation("Stored model versions, the current one, training metadata.", vec![],
            ("200", json_answer("Versions, oldest first.", schema("Models"))), &[bad])},
        "/v1/users/{id}/recommendations": {"get": operation(
            "One user's recommendations (the explanation JSON with explain=true); unknown users get the popular items, flagged fallback; users who arrived after training are folded in, flagged folded_in.",
            recommendation_parameters,
            ("200", json_answer("The list.", schema("Recommendations"))),
            &[("400", "Bad parameters, or a filter naming a predicate or value the graph does not hold (bad_filter)."), no_model])},
        "/v1/users/{id}/explanations/{item}": {"get": operation(
            "Why an item is (or would be) recommended to a user: score parts and relation paths.",
            explanation_parameters,
            ("200", json_answer("The explanation JSON with one item.", schema("Recommendations"))),
            &[bad, ("404", "Unknown user or item."), no_model])},
        "/v1/items/{id}/similar": {"get": operation(
            "Items most like an item by the cosine of the model's item vectors.",
            similar_parameters,
            ("200", json_answer("The similar items.", json!({"type": "object", "properties": {
                "item": {"type": "string"}, "similar": {"type": "array", "items": schema("Item")}}}))),
            &[bad, ("404", "Unknown item."), no_model])},
        "/v1/items/retired": {
            "get": {"summary": "The items the catalogue no longer offers (retired), sorted.",
                "responses": json_merge(errors(&[bad]), "200", json_answer("The retired items.", json!({"type": "object", "properties": {
                    "count": {"type": "integer"}, "items": {"type": "array", "items": {"type": "string"}}}})))},
            "post": {
            "summary": "Retire items (sold, withdrawn): from the next request on they are never recommended nor listed as similar, without retraining; their interactions and links stay. All or nothing: an unknown id refuses the array. On disk before the answer.",
            "requestBody": {"required": true, "content": {"application/json": {"schema":
                {"type": "array", "minItems": 1, "items": {"type": ["string", "integer"]}}}}},
            "responses": json_merge(errors(&[bad, read_only, ("413", "The body is too large."), ("415", "Not JSON.")]),
                "200", json_answer("What changed.", schema("AvailabilityChanged")))},
            "delete": {
            "summary": "Offer retired items again (the same array).",
            "requestBody": {"required": true, "content": {"application/json": {"schema":
                {"type": "array", "minItems": 1, "items": {"type": ["string", "integer"]}}}}},
            "responses": json_merge(errors(&[bad, read_only, ("413", "The body is too large."), ("415", "Not JSON.")]),
                "200", json_answer("What changed.", schema("AvailabilityChanged")))}},
        "/v1/interactions": {"post": {
            "summary": "Add interactions; on disk before the answer. The items leave the users' recommendations at once; new users are folded in on their next request.",
            "requestBody": {"required": true, "content": {"application/json": {"schema":
                {"type": "array", "minItems": 1, "items": schema("Interaction")}}}},
            "responses": json_merge(errors(&[bad, read_only, ("413", "The body is too large."), ("415", "Not JSON.")]),
                "200", json_answer("What the store did.", schema("InteractionsWritten")))},
            "delete": {
            "summary": "Take interactions back (returns): the pairs named are removed, all or nothing, on disk before the answer; rating and timestamp are ignored. Users and items stay known; the next training does not see the pairs.",
            "requestBody": {"required": true, "content": {"application/json": {"schema":
                {"type": "array", "minItems": 1, "items": schema("Interaction")}}}},
            "responses": json_merge(errors(&[bad, read_only, ("413", "The body is too large."), ("415", "Not JSON.")]),
                "200", json_answer("What the store did.", json!({"type": "object", "properties": {
                    "received": {"type": "integer"}, "merged": {"type": "integer"},
                    "removed_interactions": {"type": "integer"}, "not_found": {"type": "integer"},
                    "not_found_examples": {"type": "array", "items": {"type": "object", "properties": {
                        "user": {"type": "string"}, "item": {"type": "string"}}}},
                    "store": {"type": "object"}}})))}},
        "/v1/admin/rebuild": {"post": {
            "summary": "Train a new version on a background thread; requests are served by the previous version until it is committed.",
            "requestBody": {"required": false, "content": {"application/json": {"schema": schema("Rebuild")}}},
            "responses": json_merge(errors(&[bad, read_only, ("409", "A rebuild runs already; `id` names it.")]),
                "202", json_answer("The job.", json!({"type": "object", "properties": {
                    "id": {"type": "string"}, "status": {"type": "string"}}})))}},
        "/v1/admin/jobs/{id}": {"get": operation("A rebuild job.", vec![path_id("id", "The job's id.")],
            ("200", json_answer("The job.", schema("Job"))), &[("404", "Unknown job.")])},
        "/sparql": {
            "get": {"summary": "SPARQL 1.1 Protocol query (read-only).",
                "parameters": [query("query", "The query.", json!({"type": "string"}))],
                "responses": json_merge(errors(&sparql_failures), "200", sparql_answer.clone())},
            "post": {"summary": "SPARQL 1.1 Protocol query as a form (query=...) or an application/sparql-query body (read-only).",
                "requestBody": {"required": true, "content": {
                    "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {"query": {"type": "string"}}}},
                    "application/sparql-query": {"schema": {"type": "string"}}}},
                "responses": json_merge(errors(&sparql_failures), "200", sparql_answer)}
        }
    })
}

/// `map` with `status` → `answer` added.
fn json_merge(mut map: serde_json::Map<String, Value>, status: &str, answer: Value) -> Value {
    map.insert(status.to_owned(), answer);
    Value::Object(map)
}

fn schemas() -> Value {
    let node = json!({"type": "object", "properties": {
        "user": {"type": "string"}, "item": {"type": "string"},
        "iri": {"type": "string"}, "label": {"type": "string"}}});
    json!({
        "Error": {"type": "object", "required": ["error"], "properties": {
            "error": {"type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}}},
            "id": {"type": "string", "description": "The running job (409)."}}},
        "Item": {"type": "object", "required": ["item", "rank", "score"], "properties": {
            "item": {"type": "string"}, "rank": {"type": "integer"}, "score": {"type": "number"},
            "iri": {"type": "string"}, "label": {"type": "string"},
            "score_parts": {"type": "object", "properties": {"cf": {"type": "number"}, "kg": {"type": "number"}}},
            "paths": {"type": "array", "items": {"type": "object", "properties": {
                "score": {"type": "number"}, "text": {"type": "string"},
                "steps": {"type": "array", "items": {"type": "object", "properties": {
                    "from": node.clone(), "relation": {"type": "string"},
                    "direction": {"type": "string", "enum": ["forward", "inverse"]}, "to": node}}}}}},
            "in_history": {"type": "boolean"},
            "paths_note": {"type": "string", "description": "Why the paths shown are not the reason for the score (all weak, or found after ranking), or why none can exist."},
            "post_hoc": {"type": "boolean", "description": "The model scores from the interactions alone: the paths were found after ranking and weigh nothing in the score."},
            "graph_only": {"type": "boolean", "description": "Nobody had interacted with the item when the model was trained: the model placed it from the graph alone, and score_parts.kg holds the whole score."}}},
        "Recommendations": {"type": "object", "required": ["user", "items", "model_version"], "properties": {
            "user": {"type": "string"},
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
            "fallback": {"type": "string", "enum": ["popularity"]},
            "folded_in": {"type": "boolean"},
            "truncated": {"type": "boolean", "description": "The path search ran out of its time budget (--explain-timeout-ms): paths may be missing or not the best. Absent when it finished."},
            "filter": {"type": "object", "description": "What the request's filter= let through.", "properties": {
                "conditions": {"type": "array", "items": {"type": "string"}, "description": "The conditions with full IRIs."},
                "matching_items": {"type": "integer", "description": "Items whose entity satisfies every condition (the user's own and excluded ones included)."}}},
            "note": {"type": "string", "description": "Why a filtered page is empty or shorter than k."},
            "unknown_excluded": {"type": "array", "items": {"type": "string"}, "description": "Ids of exclude= that name no item (nothing was excluded for them). Absent when there are none."},
            "model_version": {"type": "integer"}}},
        "Interaction": {"type": "object", "required": ["user", "item"], "additionalProperties": false, "properties": {
            "user": {"type": ["string", "integer"]}, "item": {"type": ["string", "integer"]},
            "rating": {"type": "number"}, "timestamp": {"type": ["integer", "string"], "description": "Seconds since the Unix epoch, or an ISO 8601 date or date-time (2024-01-01, 2024-01-01T12:30:00Z; UTC without an offset)."},
            "event": {"type": "string", "description": "The kind of event (view, purchase...), instead of a rating, in a data directory imported with --event-weights: weighed by the stored weights, a pair keeping the largest weight among its events; an unknown kind is a 400 naming the known ones, a kind weighted 0 is dropped. Required there: a row without one is a 400 naming the stored weights."}}},
        "AvailabilityChanged": {"type": "object", "properties": {
            "received": {"type": "integer", "description": "Ids in the array (repeats included)."},
            "changed": {"type": "integer", "description": "Items retired (or restored) by this request."},
            "unchanged": {"type": "integer", "description": "Items already in the asked state."},
            "retired_items": {"type": "integer", "description": "Retired items after the change."},
            "items": {"type": "integer", "description": "Items of the store."}}},
        "InteractionsWritten": {"type": "object", "properties": {
            "received": {"type": "integer"}, "merged": {"type": "integer"},
            "new_interactions": {"type": "integer"}, "updated_interactions": {"type": "integer"},
            "unchanged_interactions": {"type": "integer"}, "new_users": {"type": "integer"},
            "counts_raised": {"type": "integer", "description": "Stored pairs whose count rose: rows timestamped after the pair's stored timestamp are repeat purchases and add to its count (a row at or before it, e.g. the same row sent again, adds nothing; a row without a timestamp raises the count only to its own)."},
            "older_ratings_kept_stored": {"type": "integer", "description": "Rows for a stored pair with another rating but an older timestamp: the stored, newer rating is kept (counted in unchanged_interactions)."},
            "unrated_kept_stored_rating": {"type": "integer", "description": "Rows without a rating for a stored pair that has one: a row without a rating never erases a stored rating (the pair counts as unchanged unless the row changed its timestamp)."},
            "notes": {"type": "array", "items": {"type": "string"}, "description": "Present when there is something to say: ids that start or end with white space (kept as sent), conflicting duplicates in the request and older rows."},
            "new_items": {"type": "integer"}, "store": {"type": "object"}}},
        "Rebuild": {"type": "object", "additionalProperties": false, "properties": {
            "model": {"type": "string", "description": "A learner by its --model name, with train's knobs in overrides. Without model and spec: the current model's learner and hyper-parameters again (with no model yet: the learner kgrec tune found best with its choice, else the default learner, cke)."},
            "overrides": {"type": "object", "description": "train's flags without dashes, - as _: dim, epochs, reg, alpha, confidence, lr, kg_weight, neighbour_weight, attention, cold_scale, cold_neighbours, reg_scale, idf_power, cold_placement, neighbours, two_hop, relation_balance, graph_prior, text_weight, similarity, shrink"},
            "spec": {"type": "object", "description": "A whole ModelSpec {\"model\", \"params\"} instead of model/overrides: the learner's own parameter names, as a job's \"spec\" shows them."},
            "seed": {"type": "integer", "default": 0},
            "keep": {"type": "integer", "minimum": 1, "default": 3}}},
        "Job": {"type": "object", "required": ["id", "status"], "properties": {
            "id": {"type": "string"}, "status": {"type": "string", "enum": ["running", "done", "failed"]},
            "stage": {"type": "string", "enum": ["reading", "fitting", "committing", "warming"]},
            "model": {"type": "string"}, "seconds": {"type": "number"},
            "epoch": {"type": "integer"}, "epochs": {"type": "integer"},
            "version": {"type": "integer"}, "notes": {"type": "array", "items": {"type": "string"}},
            "error": {"type": "object"}}},
        "Models": {"type": "object", "properties": {
            "current": {"type": ["integer", "null"]},
            "versions": {"type": "array", "items": {"type": "object"}}}}
    })
}

/// The document.
pub fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "kgrec",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Knowledge-graph-enhanced recommendations with explanations (docs/http.md). Errors are {\"error\": {\"code\", \"message\"}}."
        },
        "paths": paths(),
        "components": {"schemas": schemas()}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document lists exactly the routes the router serves.
    #[test]
    fn every_route_is_described() {
        let doc = document();
        let mut described: Vec<&str> = doc["paths"]
            .as_object()
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        described.sort_unstable();
        let mut served = super::super::ROUTES.to_vec();
        served.sort_unstable();
        assert_eq!(described, served);
    }
}
