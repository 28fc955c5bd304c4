//! The handlers. Each reads the latest report (a pointer clone) and
//! serialises its own copy.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use super::OpsState;
use crate::{AlertSnapshot, ComponentHealth, Diagnostic, Level, Readiness};

/// Every path served, for the 404 body.
const PATHS: [&str; 5] = [
    "/health",
    "/health/live",
    "/health/ready",
    "/metrics",
    "/alerts",
];

/// The router: the five `GET` paths (and `HEAD`), 404 for unknown paths,
/// 405 for other methods on known ones. Mount it in another router, or
/// serve it with [`serve`](super::serve).
pub fn router(state: OpsState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/alerts", get(alerts))
        .fallback(not_found)
        .with_state(state)
}

#[derive(Serialize)]
struct HealthBody<'a> {
    status: &'static str,
    level: Option<Level>,
    reasons: &'a [String],
    components: &'a [ComponentHealth],
    alerts: &'a [AlertSnapshot],
    diagnostics: &'a [Diagnostic],
    readiness: Option<&'a Readiness>,
    generated_ms: Option<u64>,
}

fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn health(State(state): State<OpsState>) -> Response {
    let Some(report) = state.latest() else {
        let body = HealthBody {
            status: "starting",
            level: None,
            reasons: &[],
            components: &[],
            alerts: &[],
            diagnostics: &[],
            readiness: None,
            generated_ms: None,
        };
        return json(StatusCode::SERVICE_UNAVAILABLE, &body);
    };
    let failing = report.level.is_failing();
    let body = HealthBody {
        status: if failing { "failing" } else { "ok" },
        level: Some(report.level),
        reasons: &report.reasons,
        components: &report.components,
        alerts: &report.alerts,
        diagnostics: &report.diagnostics,
        readiness: Some(&report.readiness),
        generated_ms: report.generated_ms,
    };
    let status = if failing {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    json(status, &body)
}

#[derive(Serialize)]
struct Status {
    status: &'static str,
}

async fn live() -> Response {
    json(StatusCode::OK, &Status { status: "live" })
}

async fn ready(State(state): State<OpsState>) -> Response {
    match state.latest() {
        Some(report) => {
            let status = if report.readiness.ready {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            json(status, &report.readiness)
        }
        None => json(StatusCode::SERVICE_UNAVAILABLE, &Readiness::default()),
    }
}

async fn metrics(State(state): State<OpsState>) -> Response {
    match &state.prometheus {
        Some(handle) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            handle.render(),
        )
            .into_response(),
        None => json(
            StatusCode::NOT_FOUND,
            &Status {
                status: "metrics are not enabled",
            },
        ),
    }
}

#[derive(Serialize)]
struct AlertsBody<'a> {
    active: &'a [AlertSnapshot],
    history: &'a [AlertSnapshot],
}

async fn alerts(State(state): State<OpsState>) -> Response {
    let report = state.latest().unwrap_or_default();
    json(
        StatusCode::OK,
        &AlertsBody {
            active: &report.alerts,
            history: &report.history,
        },
    )
}

#[derive(Serialize)]
struct NotFound {
    error: &'static str,
    paths: [&'static str; 5],
}

async fn not_found() -> Response {
    json(
        StatusCode::NOT_FOUND,
        &NotFound {
            error: "not found",
            paths: PATHS,
        },
    )
}
