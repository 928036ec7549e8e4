//! The streaming views catalogue and the health of the read side (subscriptions, lag).

use std::time::Duration;

use actix_web::{get, web, HttpRequest, HttpResponse};
use klg_mirror::MIRROR;
use klg_projections::queries::views::{self, ViewDef, ViewRows};
use klg_projections::subscription::{lag, oldest_transaction_age};
use klg_projections::PROJECTIONS;
use serde_json::json;

use super::openapi::Denied;
use super::openapi::{Failures, Missing};
use crate::problem::ApiError;
use crate::startup::{AppState, ReadStoreKind};

/// Parameters of a view read that are not column filters.
const PAGING: [&str; 3] = ["limit", "offset", "min_position"];

/// What `GET /api/v1/streaming/views` answers.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Catalogue {
    pub views: Vec<ViewDef>,
}

/// The views catalogue
#[utoipa::path(
    security(("bearer" = ["viewer", "engineer", "auditor", "admin"])),
    responses(Denied, (status = 200, body = Catalogue)))]
#[get("/api/v1/streaming/views")]
pub async fn list_views() -> HttpResponse {
    HttpResponse::Ok().json(Catalogue { views: views::catalogue() })
}

/// The parameters of a view read besides its column filters (see [`PAGING`]).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ViewQuery {
    /// Default 100.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    #[param(minimum = 0)]
    offset: Option<i64>,
    min_position: Option<i64>,
}

/// Rows of one view
///
/// Any other query parameter `<column>=<value>` filters on that column of the view (see the
/// catalogue for the columns).
#[utoipa::path(
    security(("bearer" = ["viewer", "engineer", "auditor", "admin"])),
    params(("name" = String, Path, description = "A view of the catalogue"), ViewQuery),
    responses(Denied, (status = 200, body = ViewRows), Missing, Failures)
)]
#[get("/api/v1/streaming/views/{name}")]
pub async fn read_view(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect();
    let number = |name: &str| -> Result<Option<i64>, ApiError> {
        match pairs.iter().rev().find(|(k, _)| k == name) {
            Some((_, v)) => v.parse().map(Some).map_err(|_| ApiError::invalid(name, "must be an integer")),
            None => Ok(None),
        }
    };
    let (limit, offset, min_position) = (number("limit")?, number("offset")?, number("min_position")?);
    super::reads::await_position(&state, &req, min_position).await?;
    let filters: Vec<(String, String)> =
        pairs.iter().filter(|(k, _)| !PAGING.contains(&k.as_str())).cloned().collect();
    match views::read(&state.read.pool, &path, &filters, limit, offset).await? {
        Some(rows) => Ok(HttpResponse::Ok().json(rows)),
        None => {
            Err(ApiError::NotFound(format!("no view named {:?}; see /api/v1/streaming/views", path.as_str())))
        }
    }
}

/// Subscriptions further behind than this make the read side unhealthy.
pub const MAX_LAG_SECONDS: f64 = 60.0;

/// Read-side health
///
/// PostgreSQL reachable, each subscription's position and lag; 503 with the reasons in
/// `problems` when something is wrong.
#[utoipa::path(
    security(("bearer" = ["viewer", "engineer", "auditor", "admin"])),
    responses(Denied,
    (status = 200, description = "Healthy", body = serde_json::Value),
    (status = 503, description = "Something is wrong: see `problems`", body = serde_json::Value)
))]
#[get("/api/v1/streaming/health")]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let mut problems: Vec<String> = vec![];
    let checked = tokio::time::timeout(Duration::from_secs(3), async {
        let projector = lag(&state.pool, PROJECTIONS).await?;
        let oldest = oldest_transaction_age(&state.pool).await?;
        Ok::<_, sqlx::Error>((projector, oldest))
    })
    .await;
    let (database, projector, oldest) = match checked {
        Ok(Ok((projector, oldest))) => (json!({"status": "ok"}), projector, Some(oldest)),
        Ok(Err(e)) => {
            problems.push(format!("PostgreSQL query failed: {e}"));
            (json!({"status": "failing", "reason": e.to_string()}), None, None)
        }
        Err(_) => {
            problems.push("PostgreSQL did not answer within 3 s".into());
            (json!({"status": "failing", "reason": "timeout"}), None, None)
        }
    };
    let local = state.projector.lock().map(|s| s.clone()).unwrap_or_default();
    if let Some(error) = &local.last_error {
        problems.push(format!("projector: {error}"));
    }
    if let Some(p) = &projector {
        if p.lag_seconds > MAX_LAG_SECONDS {
            problems.push(format!(
                "projector is {:.0} s ({} events) behind the log",
                p.lag_seconds, p.lag_events
            ));
        }
    }
    let mirror = mirror_health(&state, &mut problems).await;
    let read_store = read_store_health(&state, &mut problems).await;
    let flink = flink_health(&state, &mut problems).await;
    let body = json!({
        "status": if problems.is_empty() { "ok" } else { "failing" },
        "problems": problems,
        "read_store": read_store,
        "database": database,
        "subscriptions": [{
            "name": PROJECTIONS,
            "position": projector,
            "leader_in_this_process": local.leader,
            "last_batch_at": local.last_batch_at,
            "last_error": local.last_error,
        }],
        "oldest_open_transaction_seconds": oldest,
        "mirror": mirror,
        "flink": flink,
    });
    if problems.is_empty() {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// The mirror's broker connection, position and lag; adds what is wrong to `problems`.
async fn mirror_health(state: &AppState, problems: &mut Vec<String>) -> serde_json::Value {
    let Some(mirror) = &state.mirror else {
        return json!({ "status": "disabled", "reason": "REDPANDA_BROKERS is not set; events wait in the log" });
    };
    let before = problems.len();
    let broker = mirror.relay.broker_status(Duration::from_secs(2)).await;
    if !broker.reachable {
        problems.push(format!(
            "mirror: broker {} unreachable: {}",
            mirror.relay.config().brokers,
            broker.detail
        ));
    }
    let position = lag(&state.pool, MIRROR).await.ok().flatten();
    if let Some(p) = &position {
        if p.lag_seconds > MAX_LAG_SECONDS {
            problems
                .push(format!("mirror is {:.0} s ({} events) behind the log", p.lag_seconds, p.lag_events));
        }
    }
    let local = mirror.status.lock().map(|s| s.clone()).unwrap_or_default();
    if let Some(error) = &local.last_error {
        problems.push(format!("mirror: {error}"));
    }
    json!({
        "status": if problems.len() == before { "ok" } else { "failing" },
        "brokers": mirror.relay.config().brokers,
        "broker": broker,
        "topics": mirror.relay.config().topics.all(),
        "position": position,
        "leader_in_this_process": local.leader,
        "last_batch_at": local.last_batch_at,
        "last_error": local.last_error,
    })
}

/// Which read store serves reads, whether it answers, and (RisingWave) how far behind it is.
async fn read_store_health(state: &AppState, problems: &mut Vec<String>) -> serde_json::Value {
    if state.read.kind == ReadStoreKind::Embedded {
        return json!({ "kind": state.read.name(), "status": "ok" });
    }
    let checked = tokio::time::timeout(
        Duration::from_secs(3),
        klg_projections::risingwave::lag(&state.pool, &state.read.pool),
    )
    .await;
    let (status, detail) = match checked {
        Ok(Ok(lag)) => {
            if lag.lag_seconds > MAX_LAG_SECONDS {
                problems.push(format!(
                    "read store is {:.0} s ({} events) behind",
                    lag.lag_seconds, lag.lag_events
                ));
            }
            ("ok", json!(lag))
        }
        Ok(Err(e)) => {
            problems.push(format!("read store (RisingWave) unreachable: {e}"));
            ("failing", json!(e.to_string()))
        }
        Err(_) => {
            problems.push("read store (RisingWave) did not answer within 3 s".into());
            ("failing", json!("timeout"))
        }
    };
    json!({ "kind": state.read.name(), "status": status, "ingestion": detail })
}

/// The statistics jobs Flink should be running (their sinks' names appear in the job names).
pub const FLINK_JOBS: [&str; 3] =
    ["aircraft_event_stats_hourly", "fleet_utilization_daily", "inbox_intake_hourly"];

/// Each statistics job's state, from Flink's REST API (`/jobs/overview`).
async fn flink_health(state: &AppState, problems: &mut Vec<String>) -> serde_json::Value {
    let Some(url) = &state.flink_rest_url else {
        return json!({ "status": "disabled", "reason": "FLINK_REST_URL is not set; statistics come from PostgreSQL" });
    };
    let overview = format!("{}/jobs/overview", url.trim_end_matches('/'));
    let client = awc::Client::builder().timeout(Duration::from_secs(2)).finish();
    let fetched = match client.get(&overview).send().await {
        Ok(mut response) if response.status().is_success() => {
            response.json::<serde_json::Value>().await.map_err(|e| e.to_string())
        }
        Ok(response) => Err(format!("{overview} answered {}", response.status())),
        Err(e) => Err(format!("{overview}: {e}")),
    };
    let jobs = match fetched {
        Ok(body) => body["jobs"].as_array().cloned().unwrap_or_default(),
        Err(reason) => {
            problems.push(format!("Flink unreachable: {reason}"));
            return json!({ "status": "failing", "url": url, "reason": reason });
        }
    };
    let before = problems.len();
    let report: Vec<serde_json::Value> = FLINK_JOBS
        .iter()
        .map(|name| {
            let job = jobs
                .iter()
                .filter(|j| j["name"].as_str().is_some_and(|n| n.contains(name)))
                .max_by_key(|j| j["start-time"].as_i64());
            let state = job.and_then(|j| j["state"].as_str()).unwrap_or("MISSING");
            if state != "RUNNING" {
                problems.push(format!("Flink job {name} is {state}"));
            }
            json!({ "name": name, "state": state, "id": job.map(|j| j["jid"].clone()) })
        })
        .collect();
    json!({ "status": if problems.len() == before { "ok" } else { "failing" }, "url": url, "jobs": report })
}
