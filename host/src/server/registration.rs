//! Client registration over JSON (RFC 7591, RFC 7592): `POST /register`, and the registration
//! endpoint of a registered client, `/register/{client_id}`, which its registration access
//! token reads, updates and deletes. Off (404) unless dynamic registration is enabled.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::http::{Peer, media_type, no_store};
use super::state::AppState;
use crate::clock::now;
use crate::oauth::registration::{self, RegistrationError};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/register", post(register)).route(
        "/register/{client_id}",
        get(read_registration)
            .put(update_registration)
            .delete(delete_registration),
    )
}

fn registration_error(e: &RegistrationError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (
        status,
        Json(json!({ "error": e.error, "error_description": e.description })),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
    }
    no_store(response)
}

fn json_body(
    headers: &HeaderMap,
    body: &Result<Bytes, BytesRejection>,
) -> Result<Value, RegistrationError> {
    let body = match body {
        Ok(body) => body,
        // Not axum's plain-text rejection: the registration error JSON.
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(RegistrationError {
                status: 413,
                error: "invalid_client_metadata",
                description: "the body is larger than the server accepts".into(),
            });
        }
        Err(_) => {
            return Err(RegistrationError {
                status: 400,
                error: "invalid_client_metadata",
                description: "the body could not be read".into(),
            });
        }
    };
    if !media_type(headers).eq_ignore_ascii_case("application/json") {
        return Err(RegistrationError {
            status: 400,
            error: "invalid_client_metadata",
            description: "the body must be application/json".into(),
        });
    }
    serde_json::from_slice(body).map_err(|e| RegistrationError {
        status: 400,
        error: "invalid_client_metadata",
        description: format!("the body is not JSON: {e}"),
    })
}

fn registration_off() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "dynamic client registration is not enabled on this server" })),
    )
        .into_response()
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_owned())
}

/// A registration answer: the client's metadata with `status`, never cached; or the error.
fn registration_answer(status: StatusCode, result: Result<Value, RegistrationError>) -> Response {
    match result {
        Ok(answer) => no_store((status, Json(answer)).into_response()),
        Err(e) => registration_error(&e),
    }
}

/// `POST /register` (RFC 7591).
async fn register(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !state.core.registration.dynamic {
        return registration_off();
    }
    let body = match json_body(&headers, &body) {
        Ok(body) => body,
        Err(e) => return registration_error(&e),
    };
    let bearer = bearer(&headers);
    registration_answer(
        StatusCode::CREATED,
        registration::register(
            &state.core,
            &body,
            bearer.as_deref(),
            peer.map(|p| p.ip()),
            now(),
        )
        .await,
    )
}

/// `GET /register/{client_id}` (RFC 7592 §2.1).
async fn read_registration(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Response {
    if !state.core.registration.dynamic {
        return registration_off();
    }
    registration_answer(
        StatusCode::OK,
        registration::read(&state.core, &client_id, bearer(&headers).as_deref()).await,
    )
}

/// `PUT /register/{client_id}` (RFC 7592 §2.2).
async fn update_registration(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !state.core.registration.dynamic {
        return registration_off();
    }
    let body = match json_body(&headers, &body) {
        Ok(body) => body,
        Err(e) => return registration_error(&e),
    };
    registration_answer(
        StatusCode::OK,
        registration::update(&state.core, &client_id, bearer(&headers).as_deref(), &body).await,
    )
}

/// `DELETE /register/{client_id}` (RFC 7592 §2.3).
async fn delete_registration(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Response {
    if !state.core.registration.dynamic {
        return registration_off();
    }
    match registration::delete(&state.core, &client_id, bearer(&headers).as_deref()).await {
        Ok(()) => no_store(StatusCode::NO_CONTENT.into_response()),
        Err(e) => registration_error(&e),
    }
}
