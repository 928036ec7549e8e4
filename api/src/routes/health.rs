//! Liveness and readiness. Readiness says which dependency is wrong, not just that one is.

use std::time::Duration;

use actix_web::{get, web, HttpResponse};
use serde_json::json;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::startup::AppState;

/// Documented like the rest of the API: probes and load balancers are clients too.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(live).service(ready);
}

/// Liveness: the process is up and serving HTTP
#[utoipa::path(
    security(()),
    responses((status = 200, description = "Up", body = serde_json::Value)))]
#[get("/health/live")]
async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Readiness: can the service do its job (database reachable, blob store writable)?
#[utoipa::path(
    security(()),
    responses(
    (status = 200, description = "Ready", body = serde_json::Value),
    (status = 503, description = "Not ready: `checks` says which dependency fails", body = serde_json::Value)
))]
#[get("/health/ready")]
async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let database = match tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.write.pool),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("PostgreSQL query failed: {e}")),
        Err(_) => Err("PostgreSQL did not answer within 2 s".to_owned()),
    };
    let blob_store = match tokio::time::timeout(Duration::from_secs(2), state.blobs.check_writable()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("{} refuses a write: {e}", state.blobs.location())),
        Err(_) => Err(format!("{} did not accept a write within 2 s", state.blobs.location())),
    };
    let check = |r: &Result<(), String>| match r {
        Ok(()) => json!({ "status": "ok" }),
        Err(reason) => json!({ "status": "failing", "reason": reason }),
    };
    let healthy = database.is_ok() && blob_store.is_ok();
    let body = json!({
        "status": if healthy { "ok" } else { "failing" },
        "checks": { "database": check(&database), "blob_store": check(&blob_store) }
    });
    if healthy {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
