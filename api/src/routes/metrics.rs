//! `GET /metrics`: Prometheus scrape endpoint.

use actix_web::{get, web, HttpResponse};
use klg_mirror::MIRROR;
use klg_projections::subscription::lag;
use klg_projections::PROJECTIONS;

use super::openapi::Denied;
use crate::metrics::{read_store_state, set_read_store_gauges, set_store_gauges};
use crate::startup::AppState;

/// Prometheus scrape
///
/// Reads the subscriptions' lag (and the read store's), sets them as gauges, then renders every
/// metric of the process's recorder.
#[utoipa::path(
    security(("bearer" = ["viewer", "engineer", "auditor", "admin"])),
    responses(Denied,
    (status = 200, description = "Prometheus text format", content_type = "text/plain; version=0.0.4", body = String)
))]
#[get("/metrics")]
pub async fn scrape(state: web::Data<AppState>) -> HttpResponse {
    let names: Vec<&'static str> =
        if state.mirror.is_some() { vec![PROJECTIONS, MIRROR] } else { vec![PROJECTIONS] };
    let mut subscriptions = vec![];
    let mut database_up = true;
    for name in names {
        match lag(&state.pool, name).await {
            Ok(Some(l)) => subscriptions.push((name, l)),
            Ok(None) => {}
            Err(_) => database_up = false,
        }
    }
    let read_store = read_store_state(&state).await;
    // Set, then render, with no await in between (see `GAUGE_IDLE` in api/src/metrics.rs).
    set_store_gauges(database_up, &subscriptions);
    set_read_store_gauges(&read_store);
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(state.metrics.render())
}
