//! The admin API under `/admin`: create, read, update and delete clients, users, resources,
//! connections and policies; seal and remove connection credentials; simulate a decision; read
//! the audit trail; rotate the signing key; the OpenAPI document. And `/metrics`.
//!
//! Bearer authentication with `TOLLGATE_ADMIN_TOKEN` (compared in constant time); without it the
//! API is off (404). The handlers parse the request and render what the domain functions in
//! [`crate::admin`] return; every error is an [`AdminError`] rendered as JSON
//! ([`error`]).

mod credentials;
mod entities;
mod error;
mod extract;
mod openapi;
mod operations;
mod responses;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use subtle::ConstantTimeEq;

use crate::admin::error::AdminError;
use crate::server::state::AppState;

/// The admin API and `/metrics`. Every route but the OpenAPI document is behind the admin bearer
/// token, checked by a layer before any extractor runs: an unauthenticated caller learns nothing
/// about the collections and makes the server parse nothing.
pub(super) fn router(state: &AppState) -> Router<AppState> {
    let guarded = Router::new()
        .route("/metrics", get(metrics))
        .merge(operations::router())
        .merge(credentials::router())
        .merge(entities::router())
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), guard));
    Router::new()
        .route("/admin/openapi.json", get(openapi::document))
        .merge(guarded)
        .layer(axum::middleware::from_fn(log_response))
}

/// Logs every admin answer (target `tollgate::admin`, debug; a server error at error level), so
/// a run against the API can be checked for 5xx answers in the log.
async fn log_response(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    if response.status().is_server_error() {
        tracing::error!(target: "tollgate::admin", %method, %path, status, "admin answer");
    } else {
        tracing::debug!(target: "tollgate::admin", %method, %path, status, "admin answer");
    }
    response
}

async fn guard(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match authorize(&state, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refused) => refused.into_response(),
    }
}

fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), AdminError> {
    let Some(expected) = &state.admin_token else {
        return Err(AdminError::Off);
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Digests of equal length, so the comparison's time says nothing about the token's length.
    use sha2::Digest as _;
    let digest = |t: &str| sha2::Sha256::digest(t.as_bytes());
    if bool::from(digest(given).ct_eq(&digest(expected))) {
        Ok(())
    } else {
        Err(AdminError::Unauthorized)
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    match &state.metrics {
        Some(handle) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "metrics are not enabled").into_response(),
    }
}
