//! The OpenAPI document is derived from the routes: every registered route is documented (and
//! nothing else is), with the limits and enums the server enforces and the problem responses'
//! real fields; the served document is OpenAPI 3.1 and its references resolve.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use actix_web::dev::Service;
use actix_web::http::{Method, StatusCode};
use actix_web::test::{call_and_read_body_json, call_service, init_service, TestRequest};
use actix_web::{web, App, HttpResponse};
use klg_api::routes::{console, openapi};
use klg_domain::values::DocumentType;
use klg_projections::queries::MAX_PAGE_SIZE;
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

/// A schema with its `$ref` (if any) followed into the components.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => resolve(doc, &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")]),
        None => schema,
    }
}

/// Every operation of the document: (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut all = vec![];
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            all.push((method.clone(), path.clone(), operation));
        }
    }
    all
}

#[actix_rt::test]
async fn the_served_document_is_openapi_3_1_and_its_references_resolve() {
    let app = spawn_app().await;
    let reply = app.get(openapi::PATH).await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = &reply.body;
    assert_eq!(doc["openapi"], "3.1.0");
    let list = &doc["paths"]["/api/v1/aircraft"]["get"]["parameters"];
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for name in ["status", "type", "operator", "q", "sort", "limit", "cursor", "min_position"] {
        assert!(names.contains(&name), "aircraft list lacks parameter {name}: {names:?}");
    }
    // The airworthiness operations (directives, release to service, TMC), each with its roles.
    for (method, path) in [
        ("post", "/api/v1/aircraft/{id}/directives"),
        ("post", "/api/v1/aircraft/{id}/directives/compliance"),
        ("get", "/api/v1/aircraft/{id}/directives"),
        ("get", "/api/v1/directives/due"),
        ("post", "/api/v1/aircraft/{id}/release"),
        ("post", "/api/tmc"),
        ("post", "/api/tmc/from-document/{id}"),
        ("get", "/api/tmc"),
        ("get", "/api/tmc/{id}"),
        ("post", "/api/tmc/{id}/approve"),
        ("post", "/api/tmc/{id}/order"),
        ("post", "/api/tmc/{id}/receive"),
        ("post", "/api/tmc/{id}/install"),
        ("post", "/api/tmc/{id}/cancel"),
        ("post", "/api/tmc/{id}/reject"),
    ] {
        let operation = &doc["paths"][path][method];
        assert!(
            operation["security"][0]["bearer"].is_array(),
            "{method} {path} is not documented: {operation}"
        );
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
    check_parameters(doc);
    check_problem_responses(doc);
}

/// Routes that are registered but deliberately not operations of the document.
const UNDOCUMENTED: [(&str, &str); 3] = [
    // The document itself: it does not describe where it is found.
    ("get", openapi::PATH),
    // The web console's page and files: a program served to browsers, not API operations (public,
    // see `klg_api::routes::console`).
    ("get", console::INDEX),
    ("get", console::ASSETS),
];

/// What actix registered, read from the app's resource map (actix lists its routes nowhere
/// else: its `Debug` names each resource's pattern), each pattern probed with every method: a
/// method no handler takes falls through to the default service (here a 418) or, on a resource
/// with routes, answers 405; any other status means a handler took it (here without the app's
/// state, so most fail at once, changing nothing).
#[actix_rt::test]
async fn every_registered_route_is_documented_and_every_documented_route_is_registered() {
    let seen: Rc<RefCell<Option<actix_web::dev::ResourceMap>>> = Rc::default();
    let sink = seen.clone();
    // The very function the server builds its app with (`startup`), minus state and logging.
    let app = klg_api::routes::app(App::new()).default_service(web::to(HttpResponse::ImATeapot));
    let app = init_service(app.wrap_fn(move |req, srv| {
        sink.borrow_mut().get_or_insert_with(|| req.request().resource_map().clone());
        srv.call(req)
    }))
    .await;
    let doc: Value = call_and_read_body_json(&app, TestRequest::get().uri(openapi::PATH).to_request()).await;
    let map = seen.borrow_mut().take().expect("a request went through");
    let debug = format!("{map:?}");
    let patterns: BTreeSet<&str> = debug
        .split("patterns: Single(\"")
        .skip(1)
        .filter_map(|rest| rest.split_once("\")").map(|(pattern, _)| pattern))
        .filter(|pattern| pattern.starts_with('/'))
        .collect();
    assert!(patterns.contains("/api/v1/aircraft/{id}"), "no route patterns read from {debug}");
    let mut registered = BTreeSet::new();
    for pattern in patterns {
        let path = pattern.replace("{id}", "00000000-0000-0000-0000-000000000000").replace("{name}", "x");
        assert_eq!(map.match_pattern(&path).as_deref(), Some(pattern), "{path} is not routed to {pattern}");
        for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            let request = TestRequest::default().method(Method::from_bytes(method.as_bytes()).unwrap());
            let status = call_service(&app, request.uri(&path).to_request()).await.status();
            if !matches!(status, StatusCode::METHOD_NOT_ALLOWED | StatusCode::IM_A_TEAPOT) {
                registered.insert((method.to_lowercase(), pattern.to_owned()));
            }
        }
    }
    for (method, path) in UNDOCUMENTED {
        assert!(
            registered.remove(&(method.to_owned(), path.to_owned())),
            "{method} {path} is not registered"
        );
    }
    let documented: BTreeSet<(String, String)> =
        operations(&doc).into_iter().map(|(method, path, _)| (method, path)).collect();
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    assert!(undocumented.is_empty(), "registered but not documented: {undocumented:?}");
    let unregistered: Vec<_> = documented.difference(&registered).collect();
    assert!(unregistered.is_empty(), "documented but not registered: {unregistered:?}");
}

/// Generated clients must not send what the server refuses: each `limit` carries the page
/// size's bounds, each document type parameter or field the domain's document types.
fn check_parameters(doc: &Value) {
    let mut limits = BTreeSet::new();
    for (method, path, operation) in operations(doc) {
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            let schema = resolve(doc, &parameter["schema"]);
            match parameter["name"].as_str().unwrap() {
                "limit" => {
                    assert_eq!(schema["minimum"], 1, "{method} {path}: limit {schema}");
                    assert_eq!(schema["maximum"], MAX_PAGE_SIZE, "{method} {path}: limit {schema}");
                    limits.insert(path.clone());
                }
                "document_type" => check_document_types(doc, schema, &format!("{method} {path}")),
                _ => {}
            }
        }
    }
    for list in [
        "/api/v1/aircraft",
        "/api/v1/aircraft/{id}/history",
        "/api/inbox/files",
        "/api/v1/search",
        "/api/v1/admin/client-errors",
        "/api/v1/streaming/views/{name}",
    ] {
        assert!(limits.contains(list), "GET {list} documents no `limit`");
    }
    let classify = &doc["components"]["schemas"]["ClassifyRequest"]["properties"]["document_type"];
    check_document_types(doc, resolve(doc, classify), "ClassifyRequest.document_type");
}

/// `schema` (possibly `T | null`) is the domain's `DocumentType`: exactly its values.
fn check_document_types(doc: &Value, schema: &Value, what: &str) {
    let schema = match schema["oneOf"].as_array() {
        Some(alternatives) => alternatives.iter().map(|s| resolve(doc, s)).find(|s| s["enum"].is_array()),
        None => Some(schema),
    }
    .unwrap_or_else(|| panic!("{what}: no enum in {schema}"));
    let expected = serde_json::to_value(<DocumentType as utoipa::PartialSchema>::schema()).unwrap();
    assert_eq!(schema["enum"], expected["enum"], "{what}");
    for value in schema["enum"].as_array().expect("enum") {
        serde_json::from_value::<DocumentType>(value.clone())
            .unwrap_or_else(|e| panic!("{what}: {value}: {e}"));
    }
}

/// Responses whose 4xx/5xx is not a problem: health reports answer 503 with the report.
const NOT_PROBLEMS: [(&str, &str, &str); 2] =
    [("get", "/health/ready", "503"), ("get", "/api/v1/streaming/health", "503")];

/// Every 4xx/5xx response is `application/problem+json` with the `Problem` schema, and that
/// schema has the fields the server sends.
fn check_problem_responses(doc: &Value) {
    let mut problems = 0;
    for (method, path, operation) in operations(doc) {
        for (status, response) in operation["responses"].as_object().expect("responses") {
            if !(status.starts_with('4') || status.starts_with('5'))
                || NOT_PROBLEMS.contains(&(method.as_str(), path.as_str(), status.as_str()))
            {
                continue;
            }
            let content = response["content"].as_object().expect("content");
            let keys: Vec<&String> = content.keys().collect();
            assert_eq!(keys, ["application/problem+json"], "{method} {path} {status}");
            let schema = &content["application/problem+json"]["schema"];
            assert_eq!(schema["$ref"], "#/components/schemas/Problem", "{method} {path} {status}");
            problems += 1;
        }
    }
    assert!(problems > 0);
    let schema = &doc["components"]["schemas"]["Problem"];
    let sent =
        serde_json::to_value(klg_api::problem::ApiError::invalid("field", "message").problem()).unwrap();
    let fields: BTreeSet<&String> =
        schema["properties"].as_object().expect("Problem properties").keys().collect();
    assert_eq!(
        fields,
        sent.as_object().unwrap().keys().collect(),
        "Problem schema vs what is sent: {schema}"
    );
    let mut required: Vec<&str> =
        schema["required"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    required.sort();
    assert_eq!(required, ["detail", "status", "title", "type"], "{schema}");
    let error = resolve(doc, &schema["properties"]["errors"]["items"]);
    let error_fields: BTreeSet<&String> =
        error["properties"].as_object().expect("errors items").keys().collect();
    assert_eq!(error_fields, sent["errors"][0].as_object().unwrap().keys().collect(), "{error}");
}
