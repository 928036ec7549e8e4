//! The OpenAPI 3.1 document, with request and response schemas derived by `schemars` from the
//! very types the handlers deserialize, so the document cannot drift from the code.

use actix_web::{web, HttpResponse};
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{json, Map, Value};

use super::aircraft::*;
use super::inbox::*;
use super::reads::*;
use super::reports::{ClientErrorReport, ReportListQuery, StoredReport};
use super::CommandResponse;
use crate::problem::Problem;
use klg_projections::queries::aircraft::{AircraftView, HistoryEntry};
use klg_projections::queries::inbox::InboxFileView;
use klg_projections::queries::insights::{Insight, Recommendation};
use klg_projections::queries::search::SearchHit;
use klg_projections::queries::views::{ViewDef, ViewRows};
use klg_projections::queries::Page;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api-docs/openapi.json", web::get().to(document));
}

async fn document() -> HttpResponse {
    HttpResponse::Ok().json(openapi())
}

/// How an operation's request body is sent.
enum Body {
    None,
    Json(Value),
    Multipart,
}

struct Operation {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    body: Body,
    created: bool,
}

fn op(method: &'static str, path: &'static str, summary: &'static str, body: Body) -> Operation {
    Operation { method, path, summary, body, created: false }
}

/// Builds the whole document.
pub fn openapi() -> Value {
    let mut g = SchemaGenerator::new(
        SchemaSettings::draft2020_12().with(|s| s.definitions_path = "/components/schemas".into()),
    );
    let json_of = |schema: schemars::Schema| Body::Json(schema.to_value());
    let operations = vec![
        Operation {
            created: true,
            ..op(
                "post",
                "/api/v1/aircraft",
                "Register an aircraft",
                json_of(g.subschema_for::<RegisterAircraftRequest>()),
            )
        },
        op(
            "put",
            "/api/v1/aircraft/{id}",
            "Update aircraft details",
            json_of(g.subschema_for::<UpdateAircraftRequest>()),
        ),
        op("delete", "/api/v1/aircraft/{id}", "Decommission an aircraft (query: reason)", Body::None),
        op(
            "post",
            "/api/v1/aircraft/{id}/status",
            "Change operational status",
            json_of(g.subschema_for::<ChangeStatusRequest>()),
        ),
        op(
            "post",
            "/api/v1/aircraft/{id}/certificates",
            "Issue an airworthiness certificate",
            json_of(g.subschema_for::<IssueCertificateRequest>()),
        ),
        op(
            "post",
            "/api/v1/aircraft/{id}/flights",
            "Log a flight",
            json_of(g.subschema_for::<LogFlightRequest>()),
        ),
        Operation {
            created: true,
            ..op("post", "/api/inbox/files", "Receive a document (multipart)", Body::Multipart)
        },
        op(
            "post",
            "/api/inbox/files/{id}/classify",
            "Classify a document",
            json_of(g.subschema_for::<ClassifyRequest>()),
        ),
        op(
            "post",
            "/api/inbox/files/{id}/link",
            "Link a document to an aircraft",
            json_of(g.subschema_for::<LinkRequest>()),
        ),
        op(
            "post",
            "/api/inbox/files/{id}/process",
            "Mark a document processed",
            json_of(g.subschema_for::<ProcessRequest>()),
        ),
        op(
            "post",
            "/api/inbox/files/{id}/reject",
            "Reject a document",
            json_of(g.subschema_for::<RejectRequest>()),
        ),
        op(
            "post",
            "/api/inbox/files/{id}/archive",
            "Archive a processed or rejected document",
            json_of(g.subschema_for::<ArchiveRequest>()),
        ),
    ];
    let mut operations = operations;
    operations.push(op(
        "post",
        "/api/v1/streaming/events",
        "Receive an integration event (flight.completed, aircraft.status.changed, document.received); `id` makes it repeat-safe",
        json_of(g.subschema_for::<super::integration::IntegrationEvent>()),
    ));
    // The `data` of each integration event type, listed among the components.
    g.subschema_for::<super::integration::FlightCompleted>();
    g.subschema_for::<super::integration::StatusChanged>();
    g.subschema_for::<super::integration::DocumentReceived>();
    let command_response = g.subschema_for::<CommandResponse>().to_value();
    let problem = g.subschema_for::<Problem>().to_value();
    let mut paths = Map::new();
    for operation in operations {
        let entry = paths.entry(operation.path).or_insert_with(|| json!({}));
        entry[operation.method] = describe(&operation, &command_response, &problem);
    }
    for read in reads(&mut g) {
        let entry = paths.entry(read.path).or_insert_with(|| json!({}));
        entry[read.method] = describe_read(&read, &problem);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "KLG airworthiness control API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Commands on aircraft and inbox documents. Errors are RFC 9457 problem details."
        },
        "paths": paths,
        "components": { "schemas": g.take_definitions(true) }
    })
}

fn describe(operation: &Operation, command_response: &Value, problem: &Value) -> Value {
    let problem_response = |why: &str| json!({ "description": why, "content": { "application/problem+json": { "schema": problem } } });
    let success = if operation.created { "201" } else { "200" };
    let mut responses = json!({
        success: {
            "description": "Applied; `ETag` carries the new version",
            "content": { "application/json": { "schema": command_response } }
        },
        "400": problem_response("Malformed body"),
        "404": problem_response("Unknown aggregate"),
        "409": problem_response("A domain rule refuses the command"),
        "412": problem_response("If-Match does not match the current version"),
        "422": problem_response("Invalid field (see `errors`) or reused Idempotency-Key"),
        "503": problem_response("Database unavailable"),
    });
    if matches!(operation.body, Body::Json(_) | Body::Multipart) {
        responses["413"] = problem_response("Body too large");
        responses["415"] = problem_response("Wrong content type");
    }
    let mut parameters = vec![json!({
        "name": "Idempotency-Key", "in": "header", "required": false, "schema": { "type": "string", "maxLength": 255 },
        "description": "Repeat-safe key: a repeat with the same body returns the first response"
    })];
    if operation.path.contains("{id}") {
        parameters.push(json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } }));
        parameters.push(json!({
            "name": "If-Match", "in": "header", "required": false, "schema": { "type": "string" },
            "description": "Expected version as an ETag, e.g. \"3\""
        }));
    }
    let mut description = json!({
        "summary": operation.summary,
        "parameters": parameters,
        "responses": responses,
    });
    match &operation.body {
        Body::Json(schema) => {
            description["requestBody"] =
                json!({ "required": true, "content": { "application/json": { "schema": schema } } })
        }
        Body::Multipart => description["requestBody"] = multipart_body(),
        Body::None => {}
    }
    description
}

fn multipart_body() -> Value {
    json!({
        "required": true,
        "content": { "multipart/form-data": { "schema": {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": { "type": "string", "contentMediaType": "application/octet-stream" },
                "source": { "type": "string", "enum": ["upload", "email", "api"] },
                "sha256": { "type": "string", "pattern": "^[0-9a-fA-F]{64}$" }
            }
        } } }
    })
}

/// A read (or report) endpoint: query parameters from its query type, response from its view.
struct Read {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    query: Option<Value>,
    body: Option<Value>,
    response: Value,
}

fn read(path: &'static str, summary: &'static str, query: Option<Value>, response: Value) -> Read {
    Read { method: "get", path, summary, query, body: None, response }
}

/// The root schema of a query type, its definitions moved to the document's components.
fn query_of<T: schemars::JsonSchema>(g: &mut SchemaGenerator) -> Option<Value> {
    let mut root = g.root_schema_for::<T>().to_value();
    if let Some(object) = root.as_object_mut() {
        object.remove("components");
    }
    Some(root)
}

fn items_of(item: Value) -> Value {
    json!({ "type": "object", "properties": { "items": { "type": "array", "items": item } } })
}

fn reads(g: &mut SchemaGenerator) -> Vec<Read> {
    vec![
        read(
            "/api/v1/aircraft",
            "List aircraft",
            query_of::<AircraftListQuery>(g),
            g.subschema_for::<Page<AircraftView>>().to_value(),
        ),
        read(
            "/api/v1/aircraft/{id}",
            "One aircraft (ETag = version)",
            query_of::<ItemQuery>(g),
            g.subschema_for::<AircraftView>().to_value(),
        ),
        read(
            "/api/v1/aircraft/{id}/history",
            "An aircraft's events",
            query_of::<PageQuery>(g),
            g.subschema_for::<Page<HistoryEntry>>().to_value(),
        ),
        read(
            "/api/inbox/files",
            "List documents, newest first",
            query_of::<InboxListQuery>(g),
            g.subschema_for::<Page<InboxFileView>>().to_value(),
        ),
        read(
            "/api/inbox/files/{id}",
            "One document",
            query_of::<ItemQuery>(g),
            g.subschema_for::<InboxFileView>().to_value(),
        ),
        read(
            "/api/inbox/files/{id}/content",
            "A document's bytes",
            query_of::<ItemQuery>(g),
            json!({ "type": "string", "contentMediaType": "application/octet-stream" }),
        ),
        read(
            "/api/v1/search",
            "Search aircraft and documents",
            query_of::<SearchQuery>(g),
            items_of(g.subschema_for::<SearchHit>().to_value()),
        ),
        read(
            "/api/v1/knowledge/insights",
            "What needs attention, and why",
            query_of::<InsightQuery>(g),
            items_of(g.subschema_for::<Insight>().to_value()),
        ),
        read(
            "/api/v1/recommendations",
            "What to do about it",
            query_of::<InsightQuery>(g),
            items_of(g.subschema_for::<Recommendation>().to_value()),
        ),
        read(
            "/api/v1/admin/client-errors",
            "Stored client error reports",
            query_of::<ReportListQuery>(g),
            items_of(g.subschema_for::<StoredReport>().to_value()),
        ),
        read(
            "/api/v1/streaming/views",
            "The views catalogue",
            None,
            json!({ "type": "object", "properties": { "views": { "type": "array", "items": g.subschema_for::<ViewDef>().to_value() } } }),
        ),
        read(
            "/api/v1/streaming/views/{name}",
            "Rows of one view (query: column=value filters, limit, offset)",
            None,
            g.subschema_for::<ViewRows>().to_value(),
        ),
        read(
            "/api/v1/streaming/health",
            "Read-side health (503 with problems)",
            None,
            json!({ "type": "object" }),
        ),
        Read {
            method: "post",
            path: "/api/v1/log-error",
            summary: "Report a client error",
            query: None,
            body: Some(g.subschema_for::<ClientErrorReport>().to_value()),
            response: json!({ "type": "object", "properties": { "id": { "type": "integer" } } }),
        },
    ]
}

fn describe_read(read: &Read, problem: &Value) -> Value {
    let mut parameters: Vec<Value> = vec![];
    for name in ["id", "name"] {
        if read.path.contains(&format!("{{{name}}}")) {
            parameters.push(
                json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }),
            );
        }
    }
    if let Some(query) = &read.query {
        let required: Vec<&str> = query["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (name, schema) in query["properties"].as_object().into_iter().flatten() {
            parameters.push(json!({ "name": name, "in": "query", "required": required.contains(&name.as_str()), "schema": schema }));
        }
    }
    let problem_response = |why: &str| json!({ "description": why, "content": { "application/problem+json": { "schema": problem } } });
    let success = if read.method == "post" { "202" } else { "200" };
    let mut description = json!({
        "summary": read.summary,
        "parameters": parameters,
        "responses": {
            success: { "description": "OK", "content": { "application/json": { "schema": read.response } } },
            "404": problem_response("Unknown resource"),
            "422": problem_response("Invalid parameter (see `errors`)"),
            "503": problem_response("Database unavailable, or projections behind `min_position`"),
        }
    });
    if let Some(body) = &read.body {
        description["requestBody"] =
            json!({ "required": true, "content": { "application/json": { "schema": body } } });
        description["responses"]["429"] = problem_response("Too many reports from this client");
    }
    description
}
