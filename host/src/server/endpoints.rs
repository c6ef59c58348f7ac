//! OAuth endpoints: token, introspection, revocation, JWKS and RFC 8414 metadata; plus metrics.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::http::{Peer, media_type, no_store};
use super::state::AppState;
use crate::clock::now;
use crate::oauth::{self, OAuthError, Params};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/token", post(token))
        .route("/introspect", post(introspect))
        .route("/revoke", post(revoke))
        .route("/jwks", get(jwks))
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/healthz", get(|| async { "ok" }))
        .route("/connections/{id}/connect", post(connect_start))
        .route("/policies/bundle", get(bundle))
}

/// The current policy document for edge filters and JS runtimes, with an ETag (a hash of the
/// document) so pollers get 304 until a policy changes. Off unless `publishPolicyBundle` is set.
async fn bundle(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.publish_bundle {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "the policy bundle is not published (publishPolicyBundle)" })),
        )
            .into_response();
    }
    let directory = state.core.directory();
    let bundle = directory.bundle();
    let etag = &bundle.etag;
    let version = state.core.policy.version().to_string();
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag.as_str()))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/json")],
            bundle.text.clone(),
        )
            .into_response()
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&version) {
        h.insert("x-tollgate-policy-version", v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// A body the server would not read (too large, or cut off) as the OAuth error it is, not
/// axum's plain-text rejection.
fn unreadable_body(e: &BytesRejection) -> OAuthError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        OAuthError::too_large()
    } else {
        OAuthError::invalid_request("the request body could not be read")
    }
}

/// Parses the form request every OAuth endpoint takes.
fn params(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    body: &Bytes,
) -> Result<Params, OAuthError> {
    if !media_type(headers).eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request(
            "the request body must be `application/x-www-form-urlencoded`",
        ));
    }
    let mut authorizations = headers.get_all(header::AUTHORIZATION).iter();
    let authorization = match (authorizations.next(), authorizations.next()) {
        (_, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "more than one `Authorization` header",
            ));
        }
        (Some(v), None) => Some(
            v.to_str()
                .map_err(|_| OAuthError::invalid_request("the `Authorization` header is not text"))?
                .to_owned(),
        ),
        (None, None) => None,
    };
    Params::parse(body, authorization, peer.map(|p| p.ip()), now())
}

fn measure(endpoint: &'static str, started: std::time::Instant, status: StatusCode) {
    metrics::counter!("tollgate_requests_total", "endpoint" => endpoint, "status" => status.as_u16().to_string()).increment(1);
    metrics::histogram!("tollgate_request_duration_seconds", "endpoint" => endpoint)
        .record(started.elapsed().as_secs_f64());
}

/// The shape every form endpoint shares: parse, run the OAuth function, render (never cached),
/// count.
async fn form_endpoint<T, F, Fut>(
    endpoint: &'static str,
    state: AppState,
    peer: Option<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    run: F,
    render: fn(T) -> Response,
) -> Response
where
    F: FnOnce(std::sync::Arc<crate::oauth::Core>, Params) -> Fut,
    Fut: std::future::Future<Output = Result<T, OAuthError>>,
{
    let started = std::time::Instant::now();
    // Admission: while the audit queue is near full, refuse rather than accept work whose
    // events might not be recorded.
    if state.core.audit.saturated() {
        let response =
            OAuthError::busy("the server is catching up on its audit trail; try again", 1)
                .into_response();
        measure(endpoint, started, response.status());
        return response;
    }
    let result = match body
        .map_err(|e| unreadable_body(&e))
        .and_then(|body| params(&headers, peer, &body))
    {
        Ok(p) => run(std::sync::Arc::clone(&state.core), p).await,
        Err(e) => Err(e),
    };
    let response = match result {
        Ok(answer) => no_store(render(answer)),
        Err(e) => e.into_response(),
    };
    measure(endpoint, started, response.status());
    response
}

async fn token(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    form_endpoint(
        "token",
        state,
        peer,
        headers,
        body,
        |core, p| async move { oauth::token(&core, &p).await },
        |t| Json(t).into_response(),
    )
    .await
}

async fn introspect(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    form_endpoint(
        "introspect",
        state,
        peer,
        headers,
        body,
        |core, p| async move { oauth::introspect(&core, &p).await },
        |a| Json(a).into_response(),
    )
    .await
}

async fn revoke(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    form_endpoint(
        "revoke",
        state,
        peer,
        headers,
        body,
        |core, p| async move { oauth::revoke(&core, &p).await },
        |()| StatusCode::OK.into_response(),
    )
    .await
}

async fn jwks(State(state): State<AppState>) -> Response {
    let keys = state.core.keys();
    let mut response = Json(keys.jwks().clone()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// RFC 8414 authorization server metadata, with what MCP clients look for (PKCE S256, RFC 9207,
/// registration, client ID metadata documents).
async fn metadata(State(state): State<AppState>) -> Response {
    let core = &state.core;
    let issuer = &core.issuer;
    let directory = core.directory();
    let scopes: std::collections::BTreeSet<&str> = directory
        .resources
        .values()
        .flat_map(|r| &r.scopes)
        .map(String::as_str)
        .collect();
    let mut body = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "introspection_endpoint": format!("{issuer}/introspect"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [
            "authorization_code",
            "client_credentials",
            "refresh_token",
            oauth::TOKEN_EXCHANGE,
            oauth::JWT_BEARER,
        ],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "EdDSA"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        // RFC 8414 §2: required when the methods above include `private_key_jwt`.
        "introspection_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "EdDSA"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "EdDSA"],
        "client_id_metadata_document_supported": core.registration.metadata_documents,
    });
    // The MCP enterprise-managed authorization profile, as the identity provider: this server
    // issues ID-JAGs by token exchange.
    if !core.id_jag_audiences.is_empty()
        && let Some(o) = body.as_object_mut()
    {
        o.insert(
            "identity_chaining_requested_token_types_supported".into(),
            json!([crate::oauth::urn::ID_JAG_TOKEN_TYPE]),
        );
    }
    // The MCP enterprise-managed authorization profile: this server accepts ID-JAGs.
    if core.trusted_issuers.iter().any(|t| t.id_jag)
        && let Some(o) = body.as_object_mut()
    {
        o.insert(
            "authorization_grant_profiles_supported".into(),
            json!(["urn:ietf:params:oauth:grant-profile:id-jag"]),
        );
    }
    if core.registration.dynamic
        && let Some(o) = body.as_object_mut()
    {
        o.insert(
            "registration_endpoint".into(),
            json!(format!("{issuer}/register")),
        );
    }
    let mut response = Json(body).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    response
}

/// Starts linking the bearer user's account at a connection's provider: answers with the URL to
/// send the user's browser to.
async fn connect_start(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match oauth::connect_start(&state.core, bearer, &id, now()).await {
        Ok(url) => no_store(Json(json!({ "authorization_url": url })).into_response()),
        Err(e) => {
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            let mut response = (
                status,
                Json(json!({ "error": e.error, "error_description": e.message })),
            )
                .into_response();
            if status == StatusCode::UNAUTHORIZED
                && let Ok(value) = HeaderValue::from_str(&format!(
                    "Bearer error=\"{}\", error_description=\"{}\"",
                    e.error,
                    e.message.replace('"', "'")
                ))
            {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
            no_store(response)
        }
    }
}
