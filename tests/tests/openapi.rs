//! The served OpenAPI document covers every command route and its references resolve.

use awc::http::StatusCode;
use klg_tests::spawn_app;
use serde_json::Value;

fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[actix_rt::test]
async fn the_openapi_document_lists_every_command_and_its_references_resolve() {
    let app = spawn_app().await;
    let reply = app.get("/api-docs/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = &reply.body;
    assert_eq!(doc["openapi"], "3.1.0");
    for (path, method) in [
        ("/api/v1/aircraft", "post"),
        ("/api/v1/aircraft/{id}", "put"),
        ("/api/v1/aircraft/{id}", "delete"),
        ("/api/v1/aircraft/{id}/status", "post"),
        ("/api/v1/aircraft/{id}/certificates", "post"),
        ("/api/v1/aircraft/{id}/flights", "post"),
        ("/api/inbox/files", "post"),
        ("/api/inbox/files/{id}/classify", "post"),
        ("/api/inbox/files/{id}/link", "post"),
        ("/api/inbox/files/{id}/process", "post"),
        ("/api/inbox/files/{id}/reject", "post"),
        ("/api/inbox/files/{id}/archive", "post"),
        ("/api/v1/aircraft", "get"),
        ("/api/v1/aircraft/{id}", "get"),
        ("/api/v1/aircraft/{id}/history", "get"),
        ("/api/inbox/files", "get"),
        ("/api/inbox/files/{id}", "get"),
        ("/api/inbox/files/{id}/content", "get"),
        ("/api/v1/search", "get"),
        ("/api/v1/knowledge/insights", "get"),
        ("/api/v1/recommendations", "get"),
        ("/api/v1/log-error", "post"),
        ("/api/v1/admin/client-errors", "get"),
        ("/api/v1/streaming/views", "get"),
        ("/api/v1/streaming/views/{name}", "get"),
        ("/api/v1/streaming/health", "get"),
    ] {
        assert!(doc["paths"][path][method]["responses"].is_object(), "{method} {path} missing");
    }
    let list = &doc["paths"]["/api/v1/aircraft"]["get"]["parameters"];
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for name in ["status", "type", "operator", "q", "sort", "limit", "cursor", "min_position"] {
        assert!(names.contains(&name), "aircraft list lacks parameter {name}: {names:?}");
    }
    let register = &doc["components"]["schemas"]["RegisterAircraftRequest"];
    assert_eq!(register["additionalProperties"], false, "unknown fields must be refused: {register}");
    let mut all = vec![];
    refs(doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected ref {r}"));
        assert!(doc["components"]["schemas"][name].is_object(), "dangling ref {r}");
    }
}
