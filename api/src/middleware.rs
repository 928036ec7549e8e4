//! Cross-cutting HTTP behaviour: request ids, access logs, and problem+json for errors actix
//! produces itself.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError};
use uuid::Uuid;

use crate::extract::{id_header, RequestId};
use crate::problem::{ApiError, PROBLEM_JSON};

const REQUEST_ID: &str = "x-request-id";

/// Assigns the request id (the caller's `X-Request-Id` if well-formed), runs the request in a
/// `request` span carrying the request, correlation and causation ids and the actor (so every log
/// line of the request — command execution included — names them), logs the request and echoes
/// the id.
pub fn request_context<S, B>(
    req: ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    let request_id =
        id_header(req.headers(), REQUEST_ID).ok().flatten().unwrap_or_else(|| Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    // The route's pattern, found once (a regex walk over every resource): authentication and
    // the metrics read it from here.
    let route = MatchedRoute(req.match_pattern());
    req.extensions_mut().insert(route.clone());
    let header = |name| id_header(req.headers(), name).ok().flatten().unwrap_or_else(|| request_id.clone());
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        correlation_id = %header("x-correlation-id"),
        causation_id = %header("x-causation-id"),
        // Recorded by authentication: the calling token's name (absent on public routes).
        actor = tracing::field::Empty,
        method = %req.method(),
        path = req.path(),
    );
    let started = Instant::now();
    let response = span.in_scope(|| srv.call(req));
    let future = async move {
        let mut response = response.await?.map_into_boxed_body();
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert(HeaderName::from_static(REQUEST_ID), value);
        }
        let route = route.0.unwrap_or_else(|| "unmatched".to_owned());
        if let Some(state) = response.request().app_data::<actix_web::web::Data<crate::startup::AppState>>() {
            let method = response.request().method().as_str().to_owned();
            state.metrics.observe_request(&method, &route, response.status().as_u16(), started.elapsed());
        }
        tracing::info!(
            request_id,
            method = %response.request().method(),
            path = response.request().path(),
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
        Ok(response)
    };
    tracing::Instrument::instrument(future, span)
}

/// The pattern of the route a request matched (`None`: no route), set by [`request_context`].
#[derive(Debug, Clone)]
pub struct MatchedRoute(pub Option<String>);

/// Unknown routes get a 404 problem; a known path asked with a method none of its handlers
/// takes, a 405 (each handler is a resource guarded by its method, so such a request falls
/// through to here).
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    if req.resource_map().has_resource(req.path()) {
        let detail = format!("{} is not allowed on {}", req.method(), req.path());
        return ApiError::MethodNotAllowed(detail).error_response();
    }
    ApiError::NotFound(format!("no resource at {}", req.path())).error_response()
}

/// Errors actix answers by itself (405 on a known path) come out as problem+json too.
pub fn problem_for_bare_errors<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().handler(StatusCode::METHOD_NOT_ALLOWED, |res: ServiceResponse<B>| {
        let is_problem = res
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
        if is_problem {
            return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
        }
        let (req, _) = res.into_parts();
        let detail = format!("{} is not allowed on {}", req.method(), req.path());
        let problem = ApiError::MethodNotAllowed(detail).error_response();
        Ok(ErrorHandlerResponse::Response(ServiceResponse::new(req, problem).map_into_right_body()))
    })
}
