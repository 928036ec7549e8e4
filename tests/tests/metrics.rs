//! `GET /metrics` exposes request counters by route pattern, latency histograms and the
//! subscriptions' lag in the Prometheus text format.

use awc::http::StatusCode;
use klg_tests::spawn_app;

#[actix_rt::test]
async fn metrics_count_requests_by_route_and_report_subscription_lag() {
    let app = spawn_app().await;
    let id = app.register_aircraft("RA-89601").await;
    klg_tests::wait_for_projections(&app.pool).await;
    app.get(&format!("/api/v1/aircraft/{id}")).await;
    app.get(&format!("/api/v1/aircraft/{}", uuid::Uuid::new_v4())).await;

    let mut response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let body = String::from_utf8(response.body().await.unwrap().to_vec()).unwrap();
    klg_tests::assert_has_lines(
        &body,
        &[
            "klg_http_requests_total{method=\"POST\",route=\"/api/v1/aircraft\",status=\"201\"} 1",
            "klg_http_requests_total{method=\"GET\",route=\"/api/v1/aircraft/{id}\",status=\"200\"} 1",
            "klg_http_requests_total{method=\"GET\",route=\"/api/v1/aircraft/{id}\",status=\"404\"} 1",
            "klg_http_request_duration_seconds_count{route=\"/api/v1/aircraft/{id}\"} 2",
            "klg_subscription_lag_events{subscription=\"projections\"} 0",
            "klg_subscription_events_handled{subscription=\"projections\"} 1",
            "klg_database_up 1",
        ],
    );
    assert!(!body.contains(&id), "ids must not become labels");
}
