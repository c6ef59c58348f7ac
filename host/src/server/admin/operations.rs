//! The admin API's operations that are not collections: simulating a decision, reach, reading
//! the audit trail and rotating the signing key. The handlers parse and render; the work is in
//! [`crate::admin`].

use crate::admin::entities::ADMIN_API;
use axum::Json;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use utoipa::IntoParams;

use super::extract::{AdminJson, AdminPath, JsonBytes};
use super::responses::{BadRequest, BodyRefused, Conflict, NotFound, Unauthorized, Unavailable};
use crate::admin::error::AdminError;
use crate::admin::keys::{RotateKeys, RotatedKey};
use crate::admin::preview::{self as preview_of, Preview, PreviewQuery};
use crate::admin::reach::{self as reach_of, ReachQuery};
use crate::admin::simulate::{self, Simulated};
use crate::clock::now;
use crate::server::state::AppState;
use crate::store::AuditRecord;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/decide", post(decide))
        .route("/admin/reach", post(reach))
        .route("/admin/preview", post(preview))
        .route("/admin/clients/{id}/disable", post(disable_client))
        .route("/admin/users/{sub}/sign-out", post(sign_out_user))
        .route(
            "/admin/users/{sub}/second-factor",
            axum::routing::delete(reset_second_factor),
        )
        .route("/admin/clients/{id}/enable", post(enable_client))
        .route("/admin/audit", get(audit))
        .route("/admin/keys/rotate", post(rotate_keys))
}

fn render<T: serde::Serialize>(result: Result<T, AdminError>) -> Response {
    match result {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Simulate a decision on the current policy set, with its explanation.
///
/// The body is a decision request as every runtime reads it (the engine's rules: a repeated
/// key is refused).
#[utoipa::path(
    post, path = "/admin/decide", tag = "decisions", operation_id = "decide",
    request_body = tollgate_engine::Request,
    responses(
        (status = 200, description = "the decision and the policy-set version", body = Simulated),
        BadRequest, Unauthorized, BodyRefused, Unavailable,
    ),
)]
pub async fn decide(State(state): State<AppState>, JsonBytes(body): JsonBytes) -> Response {
    let request = std::str::from_utf8(&body)
        .map_err(|_| AdminError::invalid("body", "the body is not UTF-8"))
        .and_then(|text| {
            tollgate_engine::parse_request(text)
                .map_err(|e| AdminError::invalid("body", e.to_string()))
        });
    render(request.and_then(|r| simulate::decide(&state.core, &r)))
}

/// What a client can obtain, or who can obtain a scope, on the current policy set.
///
/// `{"client": id}` (with `"user": sub` for requests with that user, `"grantType"` for one grant
/// type) answers `{client, user?, grants: [{grantType, targets: [{resource | connection,
/// scopes: [{scope, by, conditional?}] | credential: {by, conditional?}}]}]}`, under each grant
/// type the client may use; without a user, `authorization_code` and `jwt_bearer` (whose
/// requests always carry one) are answered for any user, the user's conditions listed.
/// `{"target": id, "scope": s}` (no scope for a scope-less connection; `{"resource": id}` or
/// `{"connection": id}` when both kinds share the id) answers `{resource | connection, scope,
/// holders: [{grantType, client, user?, by, conditional?}]}` over every registered client and
/// configured user (clients known only by a metadata document, and subjects the directory does
/// not hold, are not listed). `by` lists the policies that give it to any request the grant type
/// allows; `conditional` those that give it only to requests meeting the listed conditions (on
/// the address and time, the inbound token's claims, an exchange's parties). Consent and dry-run
/// policies are not counted. The answers are those of `tollgate policy reach`.
#[utoipa::path(
    post, path = "/admin/reach", tag = "decisions", operation_id = "reach",
    request_body = ReachQuery,
    responses(
        (status = 200, description = "the reach, with the policy-set version", body = Object),
        BadRequest, Unauthorized, BodyRefused, Unavailable,
        (status = 404, description = "no such client, user, resource or connection", body = super::error::ErrorBody),
    ),
)]
pub async fn reach(
    State(state): State<AppState>,
    AdminJson(query): AdminJson<ReachQuery>,
) -> Response {
    let core = std::sync::Arc::clone(&state.core);
    render(blocking(move || reach_of::on_directory(&core, &query)).await)
}

/// Runs work that reads the whole directory (reach, previews) off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AdminError> + Send + 'static,
) -> Result<T, AdminError> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(AdminError::Decide(crate::runtime::RuntimeError::Trap(
            e.to_string(),
        )))
    })
}

/// Preview a policy change: what it would give and take away, before it is saved.
///
/// `{"policy": {...}}` previews creating the policy (or replacing the one with its id),
/// `{"delete": id}` deleting one; nothing is stored. The answer lists every (grant type, client,
/// user, target, scope) of the directory that would stand differently (`gained`, `lost`; each
/// with `before` and `after`: `none`, `conditional` or `certain`, and the policies that give it),
/// under the grant types each client may use. With `"request": {...}` (a decision request) it
/// also has that request decided by the current and the changed policies (`decisions.current`,
/// `decisions.draft`). A draft that would make the document invalid is refused with every error,
/// those in the draft at `body.policy…`.
#[utoipa::path(
    post, path = "/admin/preview", tag = "policies", operation_id = "preview",
    request_body = PreviewQuery,
    responses(
        (status = 200, description = "what the change would do", body = Preview),
        BadRequest, Unauthorized, BodyRefused, Unavailable,
        (status = 404, description = "no such policy to delete", body = super::error::ErrorBody),
        (status = 409, description = "the configuration file declares the policy: change it there", body = super::error::ErrorBody),
    ),
)]
pub async fn preview(
    State(state): State<AppState>,
    AdminJson(query): AdminJson<PreviewQuery>,
) -> Response {
    if let Err(e) = preview_of::savable(&state.core, &query).await {
        return e.into_response();
    }
    let core = std::sync::Arc::clone(&state.core);
    render(blocking(move || preview_of::preview(&core, query)).await)
}

/// Disable a client.
///
/// From now on it authenticates nowhere (token, introspection and revocation endpoints,
/// authorization requests) and obtains nothing; every token it holds is inactive at
/// introspection and exchange (the recorded ones are revoked, the rest cut off by
/// `tokensNotBefore`, set to now). Resource servers that verify its JWTs themselves accept them
/// until they expire. A client the configuration file declares is disabled there (409 here).
#[utoipa::path(
    post, path = "/admin/clients/{id}/disable", tag = "clients", operation_id = "disable_client",
    params(("id" = String, Path, description = "the client id")),
    responses(
        (status = 200, description = "the client, disabled", body = crate::config::ClientConfig),
        Unauthorized, NotFound, Conflict, Unavailable,
    ),
)]
pub async fn disable_client(
    State(state): State<AppState>,
    AdminPath(id): AdminPath<String>,
) -> Response {
    render(crate::admin::clients::disable(&state.core, &id, ADMIN_API, now()).await)
}

/// Sign a user out everywhere.
///
/// Every browser session of the user (sign-in and console) ends at every server, and every
/// token issued for the user by a grant that carries one is revoked: codes, refresh tokens (the
/// next refresh fails) and the access tokens recorded with them. Resource servers that verify
/// access tokens themselves accept one until it expires (`accessTokenTtl`).
#[utoipa::path(
    post, path = "/admin/users/{sub}/sign-out", tag = "users", operation_id = "sign_out_user",
    params(("sub" = String, Path, description = "the user's sub")),
    responses(
        (status = 200, description = "what was ended", body = crate::admin::users::SignedOut),
        Unauthorized, NotFound, Unavailable,
    ),
)]
pub async fn sign_out_user(
    State(state): State<AppState>,
    AdminPath(sub): AdminPath<String>,
) -> Response {
    render(crate::admin::users::sign_out(&state.core, &sub, ADMIN_API, now()).await)
}

/// Reset a user's second factor.
///
/// For a user who lost the authenticator app and every recovery code: the second factor is
/// removed, the next sign-in needs the password only, and the user can set up a new one at
/// `/account`. Audited as `reset-second-factor`.
#[utoipa::path(
    delete, path = "/admin/users/{sub}/second-factor", tag = "users",
    operation_id = "reset_second_factor",
    params(("sub" = String, Path, description = "the user's sub")),
    responses(
        (status = 200, description = "whether there was one", body = crate::admin::users::SecondFactorReset),
        Unauthorized, NotFound, Unavailable,
    ),
)]
pub async fn reset_second_factor(
    State(state): State<AppState>,
    AdminPath(sub): AdminPath<String>,
) -> Response {
    render(crate::admin::users::reset_second_factor(&state.core, &sub, ADMIN_API, now()).await)
}

/// Enable a disabled client again.
///
/// Nothing it held comes back: the tokens it had when it was disabled stay inactive, and it
/// must obtain new ones.
#[utoipa::path(
    post, path = "/admin/clients/{id}/enable", tag = "clients", operation_id = "enable_client",
    params(("id" = String, Path, description = "the client id")),
    responses(
        (status = 200, description = "the client, enabled", body = crate::config::ClientConfig),
        Unauthorized, NotFound, Conflict, Unavailable,
    ),
)]
pub async fn enable_client(
    State(state): State<AppState>,
    AdminPath(id): AdminPath<String>,
) -> Response {
    render(crate::admin::clients::enable(&state.core, &id, ADMIN_API, now()).await)
}

/// Which audit events to read.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Events after this sequence number (default 0: from the first).
    pub after: Option<i64>,
    /// At most this many (default 100; clamped to 1..=1000).
    pub limit: Option<i64>,
}

impl AuditQuery {
    /// Reads `after` and `limit` from a query string; other parameters are ignored.
    fn parse(query: Option<&str>) -> Result<AuditQuery, AdminError> {
        let mut out = AuditQuery::default();
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let slot = match name.as_ref() {
                "after" => &mut out.after,
                "limit" => &mut out.limit,
                _ => continue,
            };
            *slot = Some(value.parse().map_err(|_| {
                AdminError::invalid(name.as_ref(), format!("`{value}` is not an integer"))
            })?);
        }
        Ok(out)
    }
}

/// Read audit events after a sequence number, oldest first.
#[utoipa::path(
    get, path = "/admin/audit", tag = "audit", operation_id = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "the events, oldest first", body = Vec<AuditRecord>),
        BadRequest, Unauthorized, Unavailable,
    ),
)]
pub async fn audit(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let events = match AuditQuery::parse(query.as_deref()) {
        Ok(q) => simulate::audit(&state.core, q.after.unwrap_or(0), q.limit.unwrap_or(100)).await,
        Err(e) => Err(e),
    };
    render(events)
}

/// Rotate the signing key.
///
/// A new active key (of the configured algorithm unless the body names one) signs from now on
/// and is published in the JWK Set at once; the old key stays published until every token it
/// signed has expired.
#[utoipa::path(
    post, path = "/admin/keys/rotate", tag = "keys", operation_id = "rotate_keys",
    request_body(content = Option<RotateKeys>, description = "optional: `{}` or `null` rotate to the configured algorithm"),
    responses(
        (status = 200, description = "the new active key", body = RotatedKey),
        BadRequest, Unauthorized, BodyRefused, Unavailable,
    ),
)]
pub async fn rotate_keys(
    State(state): State<AppState>,
    body: Option<AdminJson<Option<RotateKeys>>>,
) -> Response {
    let request = body.and_then(|AdminJson(r)| r).unwrap_or_default();
    render(crate::admin::keys::rotate(&state.core, request, now()).await)
}
