//! The admin API under `/admin`: create, read, update and delete clients, users, resources,
//! connections and policies; simulate a decision; read the audit trail; the OpenAPI document.
//!
//! Bearer authentication with `TOLLGATE_ADMIN_TOKEN` (compared in constant time); without it the
//! API is off. A change that would make the policy document invalid is refused with every error and
//! changes nothing; an accepted change applies to the next decision. Entities declared by the
//! configuration file are owned by the file and read-only here.

use std::sync::{Arc, PoisonError};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::state::AppState;
use crate::audit::Event;
use crate::clock::now;
use crate::config::{
    ClientConfig, CredentialConfig, UserConfig, check_credential, stored_connection,
};
use crate::directory::{Directory, connection_document, hash_secret};
use crate::store::{Kind, Source};
use crate::vault::{Credential, Owner, SecretKind, Vault};

/// The admin API and `/metrics`. Every route is behind the admin bearer token, checked by a
/// layer before any extractor runs: an unauthenticated caller learns nothing about the
/// collections and makes the server parse nothing.
pub(super) fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/admin/openapi.json", get(openapi))
        .route("/admin/decide", post(decide))
        .route("/admin/audit", get(audit))
        .route("/admin/connections/{id}/credentials", get(list_credentials))
        .route(
            "/admin/connections/{id}/credentials/{owner}",
            axum::routing::put(put_credential).delete(delete_credential),
        )
        .route("/admin/{kind}", get(list).post(create))
        .route("/admin/{kind}/{id}", get(read).put(update).delete(remove))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), guard))
}

async fn guard(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match authorize(&state, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refused) => refused,
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

fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

#[expect(
    clippy::result_large_err,
    reason = "the error is the HTTP response itself, built only on the rejection path"
)]
fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), Response> {
    let Some(expected) = &state.admin_token else {
        return Err(problem(
            StatusCode::NOT_FOUND,
            "the admin API is off: set TOLLGATE_ADMIN_TOKEN",
        ));
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
        let mut response = problem(
            StatusCode::UNAUTHORIZED,
            "a valid admin bearer token is required",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer realm=\"tollgate-admin\""),
        );
        Err(response)
    }
}

#[expect(
    clippy::result_large_err,
    reason = "the error is the HTTP response itself, built only on the rejection path"
)]
fn kind_of(name: &str) -> Result<Kind, Response> {
    match name {
        "clients" => Ok(Kind::Client),
        "users" => Ok(Kind::User),
        "resources" => Ok(Kind::Resource),
        "connections" => Ok(Kind::Connection),
        "policies" => Ok(Kind::Policy),
        other => Err(problem(
            StatusCode::NOT_FOUND,
            format!(
                "unknown collection `{other}`; use clients, users, resources, connections or policies"
            ),
        )),
    }
}

/// The id an entity carries in its body.
fn id_field(kind: Kind) -> &'static str {
    match kind {
        Kind::Client => "clientId",
        Kind::User => "sub",
        _ => "id",
    }
}

/// Checks a body and splits off its secret (client `secret`, user `password`), which is stored
/// hashed and never returned.
#[expect(
    clippy::result_large_err,
    reason = "the error is the HTTP response itself, built only on the rejection path"
)]
fn checked(kind: Kind, mut body: Value) -> Result<(Value, Option<String>), Response> {
    let bad = |e: String| problem(StatusCode::BAD_REQUEST, e);
    match kind {
        Kind::Client => {
            let secret = body
                .get("secret")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let client: ClientConfig = serde_json::from_value(body.clone())
                .map_err(|e| bad(format!("invalid client: {e}")))?;
            let problems = client.problems("body");
            if !problems.is_empty() {
                return Err((
                    StatusCode::BAD_REQUEST,
                    Json(json!({ "error": "invalid client", "errors": problems })),
                )
                    .into_response());
            }
            body = serde_json::to_value(client).map_err(|e| bad(e.to_string()))?;
            Ok((body, secret))
        }
        Kind::User => {
            let password = body
                .get("password")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let user: UserConfig = serde_json::from_value(body.clone())
                .map_err(|e| bad(format!("invalid user: {e}")))?;
            body = serde_json::to_value(user).map_err(|e| bad(e.to_string()))?;
            Ok((body, password))
        }
        // A connection's provider client secret goes to the vault; its credentials have their
        // own endpoint.
        Kind::Connection => {
            let (doc, vault) = stored_connection(&body, "body").map_err(|errors| {
                (
                    StatusCode::BAD_REQUEST,
                    Json(json!({ "error": "invalid connection", "errors": errors })),
                )
                    .into_response()
            })?;
            if !vault.credentials.is_empty() {
                return Err(bad(
                    "put credentials with PUT /admin/connections/{id}/credentials/{owner}".into(),
                ));
            }
            let secret = vault.provider.and_then(|p| p.client_secret);
            Ok((doc, secret))
        }
        // Resources and policies are checked by the engine with the whole document.
        _ => Ok((body, None)),
    }
}

async fn list(State(state): State<AppState>, Path(kind): Path<String>) -> Response {
    let kind = match kind_of(&kind) {
        Ok(k) => k,
        Err(r) => return r,
    };
    match state.core.store.list_entities(kind).await {
        Ok(items) => Json(
            items
                .into_iter()
                .map(|(_, body, _)| body)
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => store_failure(&e),
    }
}

async fn read(State(state): State<AppState>, Path((kind, id)): Path<(String, String)>) -> Response {
    let kind = match kind_of(&kind) {
        Ok(k) => k,
        Err(r) => return r,
    };
    match state.core.store.get_entity(kind, &id).await {
        Ok(Some((body, _))) => Json(body).into_response(),
        Ok(None) => problem(
            StatusCode::NOT_FOUND,
            format!("no {} `{id}`", kind.as_str()),
        ),
        Err(e) => store_failure(&e),
    }
}

fn store_failure(e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "admin API store failure");
    problem(StatusCode::SERVICE_UNAVAILABLE, "the store is unavailable")
}

async fn create(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    let Some(Json(body)) = body else {
        return problem(StatusCode::BAD_REQUEST, "the body must be a JSON object");
    };
    let Some(id) = kind_of(&kind)
        .ok()
        .and_then(|k| body.get(id_field(k)))
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return match kind_of(&kind) {
            Err(r) => r,
            Ok(k) => problem(
                StatusCode::BAD_REQUEST,
                format!("the body needs `{}`", id_field(k)),
            ),
        };
    };
    write(state, kind, id, Some(body), true).await
}

async fn update(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    body: Option<Json<Value>>,
) -> Response {
    let Some(Json(body)) = body else {
        return problem(StatusCode::BAD_REQUEST, "the body must be a JSON object");
    };
    write(state, kind, id, Some(body), false).await
}

async fn remove(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
) -> Response {
    write(state, kind, id, None, false).await
}

/// Create (`create`), replace (`body`) or delete (`None`) one entity.
async fn write(
    state: AppState,
    kind: String,
    id: String,
    body: Option<Value>,
    create: bool,
) -> Response {
    let kind = match kind_of(&kind) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let core = &state.core;
    let _guard = state.admin_lock.lock().await;
    let existing = match core.store.get_entity(kind, &id).await {
        Ok(e) => e,
        Err(e) => return store_failure(&e),
    };
    match (&existing, create, &body) {
        (Some((_, Source::Config)), _, _) => {
            return problem(
                StatusCode::CONFLICT,
                format!(
                    "{} `{id}` is declared by the configuration file; change it there",
                    kind.as_str()
                ),
            );
        }
        (Some(_), true, _) => {
            return problem(
                StatusCode::CONFLICT,
                format!("{} `{id}` already exists", kind.as_str()),
            );
        }
        (None, false, _) => {
            return problem(
                StatusCode::NOT_FOUND,
                format!("no {} `{id}`", kind.as_str()),
            );
        }
        _ => {}
    }
    let (body, secret) = match body {
        Some(b) => match checked(kind, b) {
            Ok((b, s)) => (Some(b), s),
            Err(r) => return r,
        },
        None => (None, None),
    };
    if kind == Kind::Connection && secret.is_some() && core.vault.is_none() {
        return problem(
            StatusCode::BAD_REQUEST,
            "a provider client secret needs the vault: start the server with a vault key",
        );
    }
    if let Some(b) = &body
        && b.get(id_field(kind)).and_then(Value::as_str) != Some(id.as_str())
    {
        return problem(
            StatusCode::BAD_REQUEST,
            format!("`{}` in the body must be `{id}`", id_field(kind)),
        );
    }

    // The document after the change must load; otherwise nothing changes.
    let directory = core.directory();
    let mut new_doc = directory.document.clone();
    if matches!(kind, Kind::Resource | Kind::Connection | Kind::Policy) {
        let section = match kind {
            Kind::Resource => "resources",
            Kind::Connection => "connections",
            _ => "policies",
        };
        if let Some(Value::Array(items)) = new_doc.get_mut(section) {
            items.retain(|item| item.get("id").and_then(Value::as_str) != Some(id.as_str()));
            if let Some(b) = &body {
                items.push(connection_document(b.clone()).0);
            }
        }
    }
    let version = match core.policy.replace(&new_doc.to_string()) {
        Ok(v) => v,
        Err(errors) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": "the change would make the policy document invalid", "errors": errors })),
            )
                .into_response();
        }
    };
    let stored = async {
        match &body {
            Some(b) => {
                core.store.put_entity(kind, &id, b, Source::Admin).await?;
                match (&secret, &core.vault) {
                    (Some(secret), Some(vault)) if kind == Kind::Connection => {
                        vault
                            .put(
                                &id,
                                &Owner::Provider,
                                Credential {
                                    kind: SecretKind::ClientSecret,
                                    secret,
                                    scope: None,
                                    source: Source::Admin,
                                },
                                now(),
                            )
                            .await
                            .map_err(|e| crate::store::StoreError::Value(e.to_string()))?;
                    }
                    (Some(secret), _) => {
                        let hash = hash_secret(secret).map_err(crate::store::StoreError::Value)?;
                        core.store.put_secret(kind, &id, &hash).await?;
                    }
                    (None, _) => {}
                }
            }
            None => {
                core.store.delete_entity(kind, &id).await?;
            }
        }
        Directory::load(core.store.as_ref()).await
    }
    .await;
    let fresh = match stored {
        Ok(d) => d,
        Err(e) => {
            // Put the engine back on the stored document.
            let _ = core.policy.replace(&directory.document.to_string());
            return store_failure(&e);
        }
    };
    *core
        .directory
        .write()
        .unwrap_or_else(PoisonError::into_inner) = Arc::new(fresh);
    let action = match (&body, create) {
        (None, _) => "delete",
        (Some(_), true) => "create",
        (Some(_), false) => "update",
    };
    core.audit
        .record_now(Event::AdminChange {
            action,
            kind: kind.as_str().to_owned(),
            id: id.clone(),
            policy_version: version,
        })
        .await;
    match body {
        Some(b) => (
            if create {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            Json(b),
        )
            .into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// The vault and the kind of connection `id`, or the answer when the vault is off or there is no
/// such connection.
#[expect(
    clippy::result_large_err,
    reason = "the error is the HTTP response itself, built only on the rejection path"
)]
fn credential_target<'s>(state: &'s AppState, id: &str) -> Result<(&'s Vault, String), Response> {
    let vault = state.core.vault.as_ref().ok_or_else(|| {
        problem(
            StatusCode::CONFLICT,
            "the vault is off: start the server with a vault key (TOLLGATE_VAULT_KEY or vault.keyFile)",
        )
    })?;
    let directory = state.core.directory();
    let connection = directory
        .connections
        .get(id)
        .ok_or_else(|| problem(StatusCode::NOT_FOUND, format!("no connection `{id}`")))?;
    Ok((vault, connection.kind.clone()))
}

/// A credential owner from the path: `user:<sub>` or `tenant:<id>`.
#[expect(
    clippy::result_large_err,
    reason = "the error is the HTTP response itself, built only on the rejection path"
)]
fn credential_owner(text: &str) -> Result<Owner, Response> {
    match Owner::parse(text) {
        Some(o @ (Owner::User(_) | Owner::Tenant(_))) => Ok(o),
        _ => Err(problem(
            StatusCode::BAD_REQUEST,
            format!("owner `{text}` is neither `user:<sub>` nor `tenant:<id>`"),
        )),
    }
}

/// The credentials of a connection: owners, kinds and scopes, never the secrets.
async fn list_credentials(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let vault = match credential_target(&state, &id) {
        Ok((vault, _)) => vault,
        Err(r) => return r,
    };
    match vault.list(Some(&id)).await {
        Ok(list) => Json(list).into_response(),
        Err(e) => store_failure(&e),
    }
}

/// Seals a user's or tenant's credential: `{"apiKey": …}`, `{"certificate": …}` or
/// `{"refreshToken": …, "scope": …}`, as the connection's kind requires.
async fn put_credential(
    State(state): State<AppState>,
    Path((id, owner)): Path<(String, String)>,
    body: Option<Json<Value>>,
) -> Response {
    let (vault, kind) = match credential_target(&state, &id) {
        Ok(target) => target,
        Err(r) => return r,
    };
    let owner = match credential_owner(&owner) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let Some(Json(body)) = body else {
        return problem(StatusCode::BAD_REQUEST, "the body must be a JSON object");
    };
    let mut credential: CredentialConfig = match serde_json::from_value(body) {
        Ok(c) => c,
        Err(e) => return problem(StatusCode::BAD_REQUEST, format!("invalid credential: {e}")),
    };
    if credential.user.is_some()
        || credential.tenant.is_some()
        || credential.certificate_file.is_some()
    {
        return problem(
            StatusCode::BAD_REQUEST,
            "the owner is in the path; send only the secret (apiKey, certificate or refreshToken) and scope",
        );
    }
    match &owner {
        Owner::User(u) => credential.user = Some(u.clone()),
        Owner::Tenant(t) => credential.tenant = Some(t.clone()),
        Owner::Provider => {}
    }
    if let Err(why) = check_credential(&credential, &kind) {
        return problem(StatusCode::BAD_REQUEST, why);
    }
    let Some((secret_kind, secret)) = credential.secret_field() else {
        return problem(StatusCode::BAD_REQUEST, "the body holds no secret");
    };
    if let Err(e) = vault
        .put(
            &id,
            &owner,
            Credential {
                kind: secret_kind,
                secret,
                scope: credential.scope.as_deref(),
                source: Source::Admin,
            },
            now(),
        )
        .await
    {
        return store_failure(&e);
    }
    state
        .core
        .audit
        .record_now(Event::CredentialChange {
            action: "put",
            connection: id.clone(),
            owner: owner.to_string(),
        })
        .await;
    Json(json!({
        "connection": id,
        "owner": owner.to_string(),
        "kind": secret_kind.as_str(),
        "scope": credential.scope,
    }))
    .into_response()
}

async fn delete_credential(
    State(state): State<AppState>,
    Path((id, owner)): Path<(String, String)>,
) -> Response {
    let (vault, _) = match credential_target(&state, &id) {
        Ok(target) => target,
        Err(r) => return r,
    };
    let owner = match credential_owner(&owner) {
        Ok(o) => o,
        Err(r) => return r,
    };
    match vault.delete(&id, &owner).await {
        Ok(true) => {
            state
                .core
                .audit
                .record_now(Event::CredentialChange {
                    action: "delete",
                    connection: id.clone(),
                    owner: owner.to_string(),
                })
                .await;
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(false) => problem(
            StatusCode::NOT_FOUND,
            format!("no credential for `{owner}` on connection `{id}`"),
        ),
        Err(e) => store_failure(&e),
    }
}

/// Simulates a decision on the current policy set, with its explanation.
async fn decide(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let text = String::from_utf8_lossy(&body);
    let request = match tollgate_engine::parse_request(&text) {
        Ok(r) => r,
        Err(e) => return problem(StatusCode::BAD_REQUEST, e.to_string()),
    };
    match state.core.policy.decide(&request) {
        Ok((decision, version)) => {
            Json(json!({ "policyVersion": version, "decision": decision })).into_response()
        }
        Err(e) => problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    #[serde(default)]
    after: i64,
    #[serde(default = "default_limit")]
    limit: i64,
}

fn default_limit() -> i64 {
    100
}

async fn audit(State(state): State<AppState>, Query(q): Query<AuditQuery>) -> Response {
    match state
        .core
        .store
        .audit_since(q.after, q.limit.clamp(1, 1000))
        .await
    {
        Ok(events) => Json(events).into_response(),
        Err(e) => store_failure(&e),
    }
}

async fn openapi() -> Response {
    let entity = |name: &str| {
        json!({
            "get": { "summary": format!("List {name}"), "responses": { "200": { "description": "every item" } } },
            "post": { "summary": format!("Create one of {name}"), "requestBody": { "required": true, "content": { "application/json": {} } },
                      "responses": { "201": { "description": "created" }, "400": { "description": "invalid; every error listed" }, "409": { "description": "exists or declared by the configuration file" } } }
        })
    };
    let item = |name: &str| {
        json!({
            "parameters": [ { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } } ],
            "get": { "summary": format!("Read one of {name}"), "responses": { "200": { "description": "the item" }, "404": { "description": "no such item" } } },
            "put": { "summary": format!("Replace one of {name}"), "requestBody": { "required": true, "content": { "application/json": {} } },
                     "responses": { "200": { "description": "replaced" }, "400": { "description": "invalid" }, "404": { "description": "no such item" } } },
            "delete": { "summary": format!("Delete one of {name}"), "responses": { "204": { "description": "deleted" }, "404": { "description": "no such item" } } }
        })
    };
    let mut paths = serde_json::Map::new();
    for name in ["clients", "users", "resources", "connections", "policies"] {
        paths.insert(format!("/admin/{name}"), entity(name));
        paths.insert(format!("/admin/{name}/{{id}}"), item(name));
    }
    paths.insert(
        "/admin/connections/{id}/credentials".into(),
        json!({ "get": { "summary": "A connection's vaulted credentials: owner, kind, scope, source; never the secret",
                         "parameters": [ { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } } ],
                         "responses": { "200": { "description": "the credentials" }, "404": { "description": "no such connection" }, "409": { "description": "the vault is off" } } } }),
    );
    paths.insert(
        "/admin/connections/{id}/credentials/{owner}".into(),
        json!({ "parameters": [ { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } },
                                { "name": "owner", "in": "path", "required": true, "description": "user:<sub> or tenant:<id>", "schema": { "type": "string" } } ],
                "put": { "summary": "Seal a credential: {apiKey}, {certificate} or {refreshToken, scope}, as the connection's kind requires",
                         "requestBody": { "required": true, "content": { "application/json": {} } },
                         "responses": { "200": { "description": "sealed" }, "400": { "description": "invalid" }, "404": { "description": "no such connection" } } },
                "delete": { "summary": "Remove a credential", "responses": { "204": { "description": "removed" }, "404": { "description": "no such credential" } } } }),
    );
    paths.insert(
        "/admin/decide".into(),
        json!({ "post": { "summary": "Simulate a decision (engine request JSON in, decision with explanation out)",
                          "requestBody": { "required": true, "content": { "application/json": {} } },
                          "responses": { "200": { "description": "the decision and the policy-set version" }, "400": { "description": "invalid request" } } } }),
    );
    paths.insert(
        "/admin/audit".into(),
        json!({ "get": { "summary": "Audit events after a sequence number",
                         "parameters": [ { "name": "after", "in": "query", "schema": { "type": "integer" } }, { "name": "limit", "in": "query", "schema": { "type": "integer" } } ],
                         "responses": { "200": { "description": "events, oldest first" } } } }),
    );
    Json(json!({
        "openapi": "3.1.0",
        "info": { "title": "Tollgate admin API", "version": env!("CARGO_PKG_VERSION") },
        "components": { "securitySchemes": { "admin": { "type": "http", "scheme": "bearer" } } },
        "security": [ { "admin": [] } ],
        "paths": paths,
    }))
    .into_response()
}
