//! `GET /metrics`: Prometheus scrape endpoint.

use actix_web::{web, HttpResponse};
use klg_mirror::MIRROR;
use klg_projections::subscription::lag;
use klg_projections::PROJECTIONS;

use crate::metrics::gauge;
use crate::startup::AppState;

pub async fn scrape(state: web::Data<AppState>) -> HttpResponse {
    let mut out = String::new();
    state.metrics.render(&mut out);
    let names: Vec<&str> = if state.mirror.is_some() { vec![PROJECTIONS, MIRROR] } else { vec![PROJECTIONS] };
    let (mut lag_events, mut lag_seconds, mut handled) = (vec![], vec![], vec![]);
    let mut up = 1.0;
    for name in names {
        match lag(&state.pool, name).await {
            Ok(Some(l)) => {
                let labels = format!("{{subscription=\"{name}\"}}");
                lag_events.push((labels.clone(), l.lag_events as f64));
                lag_seconds.push((labels.clone(), l.lag_seconds));
                handled.push((labels, l.events_handled as f64));
            }
            Ok(None) => {}
            Err(_) => up = 0.0,
        }
    }
    gauge(
        &mut out,
        "klg_database_up",
        "Whether PostgreSQL answered the scrape's queries.",
        &[(String::new(), up)],
    );
    gauge(&mut out, "klg_subscription_lag_events", "Events stored but not yet handled.", &lag_events);
    gauge(&mut out, "klg_subscription_lag_seconds", "Age of the oldest event not yet handled.", &lag_seconds);
    gauge(
        &mut out,
        "klg_subscription_events_handled",
        "Events handled since the subscription started.",
        &handled,
    );
    crate::metrics::render_read_store(&state, &mut out).await;
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(out)
}
