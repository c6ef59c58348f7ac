//! A connection's credentials: `/admin/connections/{id}/credentials` lists them (never the
//! secrets), `…/credentials/{owner}` seals or removes one. The handlers render what
//! [`crate::admin::credentials`] returns.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::extract::{AdminJson, AdminPath};
use super::responses::{BadRequest, BodyRefused, Conflict, NotFound, Unauthorized, Unavailable};
use crate::admin::credentials::{self, CredentialBody, SealedCredential};
use crate::clock::now;
use crate::server::state::AppState;
use crate::vault::CredentialInfo;

/// The credential routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/connections/{id}/credentials", get(list))
        .route(
            "/admin/connections/{id}/credentials/{owner}",
            axum::routing::put(put).delete(delete),
        )
}

/// List a connection's credentials: owners, kinds and scopes, never the secrets.
#[utoipa::path(
    get, path = "/admin/connections/{id}/credentials", tag = "credentials",
    operation_id = "list_credentials",
    params(("id" = String, Path, description = "the connection")),
    responses(
        (status = 200, description = "the credentials, without their secrets", body = Vec<CredentialInfo>),
        Unauthorized, NotFound, Conflict, Unavailable,
    ),
)]
pub async fn list(State(state): State<AppState>, AdminPath(id): AdminPath<String>) -> Response {
    match credentials::list(&state.core, &id).await {
        Ok(list) => Json(list).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Seal a user's or tenant's credential: `{"apiKey"}`, `{"certificate"}` or `{"refreshToken",
/// "scope"}`, as the connection's kind requires.
#[utoipa::path(
    put, path = "/admin/connections/{id}/credentials/{owner}", tag = "credentials",
    operation_id = "put_credential",
    params(
        ("id" = String, Path, description = "the connection"),
        ("owner" = String, Path, description = "`user:<sub>` or `tenant:<id>`"),
    ),
    request_body = CredentialBody,
    responses(
        (status = 200, description = "sealed; the secret is never returned", body = SealedCredential),
        BadRequest, Unauthorized, NotFound, Conflict, BodyRefused, Unavailable,
    ),
)]
pub async fn put(
    State(state): State<AppState>,
    AdminPath((id, owner)): AdminPath<(String, String)>,
    AdminJson(body): AdminJson<CredentialBody>,
) -> Response {
    match credentials::put(&state.core, &id, &owner, body, now()).await {
        Ok(sealed) => Json(sealed).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Remove a user's or tenant's credential.
#[utoipa::path(
    delete, path = "/admin/connections/{id}/credentials/{owner}", tag = "credentials",
    operation_id = "delete_credential",
    params(
        ("id" = String, Path, description = "the connection"),
        ("owner" = String, Path, description = "`user:<sub>` or `tenant:<id>`"),
    ),
    responses(
        (status = 204, description = "removed"),
        BadRequest, Unauthorized, NotFound, Conflict, Unavailable,
    ),
)]
pub async fn delete(
    State(state): State<AppState>,
    AdminPath((id, owner)): AdminPath<(String, String)>,
) -> Response {
    match credentials::delete(&state.core, &id, &owner, now()).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}
