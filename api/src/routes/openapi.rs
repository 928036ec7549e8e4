//! The OpenAPI 3.1 document, with request and response schemas derived by `schemars` from the
//! very types the handlers deserialize, so the document cannot drift from the code.

use actix_web::{web, HttpResponse};
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{json, Map, Value};

use super::aircraft::*;
use super::inbox::*;
use super::CommandResponse;
use crate::problem::Problem;

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
    let command_response = g.subschema_for::<CommandResponse>().to_value();
    let problem = g.subschema_for::<Problem>().to_value();
    let mut paths = Map::new();
    for operation in operations {
        let entry = paths.entry(operation.path).or_insert_with(|| json!({}));
        entry[operation.method] = describe(&operation, &command_response, &problem);
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
