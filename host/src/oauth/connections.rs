//! Connections: vaulted downstream credentials handed out by token exchange (RFC 8693) under
//! policy, and the connect flow that links a user's account at an OAuth provider.
//!
//! The subject token picks the credential: the user's own when a user is present, the tenant's
//! (the subject client's `tenantId`) for an autonomous agent. Connection policies decide whether,
//! and for `oauth` connections which scopes: Tollgate refreshes the vaulted provider token with the
//! narrowed `scope` and returns only that access token. API keys and certificates are returned
//! whole, with `issued_token_type` saying what they are.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use thiserror::Error;
use tollgate_engine::{Actor, GrantType, Request, Target, User};
use zeroize::Zeroizing;

use super::grants::{TokenResponse, context, decide_raw, engine_client, random_id};
use super::tokens::verify_own_token;
use super::{
    ACCESS_TOKEN_TYPE, API_KEY_TOKEN_TYPE, AuthenticatedClient, CERTIFICATE_TOKEN_TYPE, Core,
    OAuthError, Params, split_scope,
};
use crate::audit::Event;
use crate::config::ProviderConfig;
use crate::directory::{ConnectionInfo, Directory};
use crate::store::Source;
use crate::vault::{Credential, Owner, SecretKind};

/// How long a connect flow may take, in seconds.
const CONNECT_TTL: i64 = 600;

/// The party a connection token is asked for, from the verified subject token.
#[derive(Debug)]
pub(super) struct Subject {
    /// The subject token's `sub`.
    pub sub: String,
    /// The user, when one is present.
    pub user: Option<User>,
    /// The subject's custom claims (`jwtClaims.*`).
    pub claims: Map<String, Value>,
    /// The acting party.
    pub actor: Actor,
    /// The subject token as policies see it (`subject.clientid`, `subject.audience`): whose
    /// token it is picks a tenant credential.
    pub token: tollgate_engine::Subject,
}

/// Token exchange for a connection: decide, pick the credential, hand it out (audited either way).
pub(super) async fn exchange(
    core: &Core,
    params: &Params,
    client: &AuthenticatedClient,
    directory: &Directory,
    subject: Subject,
    connection: &ConnectionInfo,
) -> Result<TokenResponse, OAuthError> {
    let mut owner = None;
    let mut scope = None;
    let result = release(
        core, params, client, directory, &subject, connection, &mut owner, &mut scope,
    )
    .await;
    core.audit.record(Event::CredentialAccess {
        client_id: client.config.client_id.clone(),
        sub: subject.sub.clone(),
        connection: connection.id.clone(),
        owner: owner.map(|o: Owner| o.to_string()),
        scope,
        released: result.is_ok(),
        error: result.as_ref().err().map(|e| e.error_description.clone()),
    });
    result
}

#[expect(
    clippy::too_many_arguments,
    reason = "the owner and scope are reported back for the audit event whatever the outcome"
)]
async fn release(
    core: &Core,
    params: &Params,
    client: &AuthenticatedClient,
    directory: &Directory,
    subject: &Subject,
    connection: &ConnectionInfo,
    owner_out: &mut Option<Owner>,
    scope_out: &mut Option<String>,
) -> Result<TokenResponse, OAuthError> {
    let vault = core.vault.as_ref().ok_or_else(|| {
        OAuthError::invalid_target(format!(
            "connection `{}` is not available: this server has no vault key",
            connection.id
        ))
    })?;
    let secret_kind = SecretKind::for_connection(&connection.kind).ok_or_else(|| {
        OAuthError::invalid_target(format!(
            "connection `{}` holds no credentials",
            connection.id
        ))
    })?;
    let issued_type = match secret_kind {
        SecretKind::ApiKey => API_KEY_TOKEN_TYPE,
        SecretKind::Certificate => CERTIFICATE_TOKEN_TYPE,
        SecretKind::RefreshToken | SecretKind::ClientSecret => ACCESS_TOKEN_TYPE,
    };
    if let Some(asked) = params.get("requested_token_type")
        && asked != issued_type
    {
        return Err(OAuthError::invalid_request(format!(
            "connection `{}` issues `{issued_type}`, not `{asked}`",
            connection.id
        )));
    }
    let requested = split_scope(params.get("scope"));
    if secret_kind != SecretKind::RefreshToken && requested.is_some() {
        return Err(OAuthError::invalid_scope(format!(
            "connection `{}` is a `{}` connection: it has no scopes, leave `scope` out",
            connection.id, connection.kind
        )));
    }
    let request = Request {
        grant_type: GrantType::TokenExchange,
        client: Some(engine_client(client)),
        user: subject.user.clone(),
        claims: Some(Value::Object(subject.claims.clone())),
        actor: Some(subject.actor.clone()),
        subject: Some(subject.token.clone()),
        target: Target::Connection(connection.id.clone()),
        requested_scopes: requested,
        consented_scopes: None,
        context: Some(context(params)),
        explain: false,
    };
    let decision = decide_raw(core, &request, &client.config.client_id)?;
    if !decision.permitted {
        return Err(OAuthError::invalid_target(format!(
            "no policy lets `{}` obtain connection `{}`{}",
            client.config.client_id,
            connection.id,
            if secret_kind == SecretKind::RefreshToken {
                " with the requested scopes"
            } else {
                ""
            }
        )));
    }
    let subject_client = subject.token.client_id.as_deref().unwrap_or_default();
    let owner = match &subject.user {
        Some(_) => Owner::User(subject.sub.clone()),
        None => directory
            .clients
            .get(subject_client)
            .and_then(|c| c.tenant_id.clone())
            .map(Owner::Tenant)
            .ok_or_else(|| {
                OAuthError::invalid_target(format!(
                    "`{}` acts for no tenant (no `tenantId`), so it has no credential on connection `{}`",
                    subject_client, connection.id
                ))
            })?,
    };
    *owner_out = Some(owner.clone());
    // Tenants never see each other's credentials: a client that acts for a tenant receives only
    // that tenant's credentials, or those of users who belong to it. (A client without a tenant
    // got here only with a subject token it is entitled to exchange: its own, or one for a
    // resource it serves.)
    if let Some(tenant) = &client.config.tenant_id {
        let same_tenant = match &owner {
            Owner::Tenant(owner_tenant) => owner_tenant == tenant,
            Owner::User(sub) => directory
                .users
                .get(sub)
                .is_some_and(|u| u.tenant_ids.contains(tenant)),
            Owner::Provider => false,
        };
        if !same_tenant {
            return Err(OAuthError::invalid_target(format!(
                "`{}` acts for tenant `{tenant}`; the credential on connection `{}` belongs to `{owner}`, outside it",
                client.config.client_id, connection.id
            )));
        }
    }
    *owner_out = Some(owner.clone());
    let lock = refresh_lock(core, &connection.id, &owner);
    let _guard = lock.lock().await;
    let credential = vault
        .get(&connection.id, &owner)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, connection = %connection.id, "cannot open a vaulted credential");
            OAuthError::server_error()
        })?
        .filter(|c| c.kind == secret_kind)
        .ok_or_else(|| {
            OAuthError::invalid_target(format!(
                "there is no credential for `{owner}` on connection `{}`",
                connection.id
            ))
        })?;
    let released = |access_token: &str, token_type: &'static str| TokenResponse {
        access_token: access_token.to_owned(),
        token_type: "N_A".into(),
        expires_in: None,
        scope: None,
        issued_token_type: Some(token_type),
        refresh_token: None,
    };
    match secret_kind {
        SecretKind::ApiKey => Ok(released(&credential.secret, API_KEY_TOKEN_TYPE)),
        SecretKind::Certificate => Ok(released(&credential.secret, CERTIFICATE_TOKEN_TYPE)),
        SecretKind::RefreshToken | SecretKind::ClientSecret => {
            // Never ask the provider for more than the user's grant there holds.
            let held = split_scope(credential.scope.as_deref());
            let scopes: Vec<String> = decision
                .granted
                .iter()
                .map(|s| s.to_string())
                .filter(|s| held.as_ref().is_none_or(|h| h.contains(s)))
                .collect();
            if scopes.is_empty() {
                return Err(OAuthError::invalid_scope(format!(
                    "`{owner}`'s grant at the provider of `{}` holds none of the scopes policy allows",
                    connection.id
                )));
            }
            let provider = connection.provider.as_ref().ok_or_else(|| {
                OAuthError::invalid_target(format!(
                    "connection `{}` has no provider to refresh at",
                    connection.id
                ))
            })?;
            let scope = scopes.join(" ");
            *scope_out = Some(scope.clone());
            let tokens = provider_token(
                core,
                &connection.id,
                provider,
                vec![
                    ("grant_type", "refresh_token".to_owned()),
                    ("refresh_token", credential.secret.to_string()),
                    ("scope", scope.clone()),
                ],
            )
            .await
            .map_err(|e| match e {
                ProviderError::Refused { error, .. } if error == "invalid_grant" => {
                    OAuthError::invalid_grant(format!(
                        "the provider of `{}` no longer accepts `{owner}`'s grant: connect it again",
                        connection.id
                    ))
                }
                other => {
                    tracing::warn!(connection = %connection.id, error = %other, "provider refresh failed");
                    OAuthError::temporarily_unavailable(format!(
                        "the provider of `{}` could not be reached or refused: {other}",
                        connection.id
                    ))
                }
            })?;
            if let Some(rotated) = &tokens.refresh_token {
                vault
                    .put(
                        &connection.id,
                        &owner,
                        Credential {
                            kind: SecretKind::RefreshToken,
                            secret: rotated,
                            scope: credential.scope.as_deref(),
                            source: credential.source,
                        },
                        params.now,
                    )
                    .await
                    .map_err(|e| {
                        tracing::error!(error = %e, "cannot store a rotated provider refresh token");
                        OAuthError::server_error()
                    })?;
            }
            Ok(TokenResponse {
                access_token: tokens.access_token,
                token_type: tokens.token_type.unwrap_or_else(|| "Bearer".into()).into(),
                expires_in: tokens.expires_in,
                scope: Some(tokens.scope.unwrap_or(scope)),
                issued_token_type: Some(ACCESS_TOKEN_TYPE),
                refresh_token: None,
            })
        }
    }
}

fn refresh_lock(core: &Core, connection: &str, owner: &Owner) -> Arc<tokio::sync::Mutex<()>> {
    let mut locks = core
        .refresh_locks
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    Arc::clone(
        locks
            .entry((connection.to_owned(), owner.to_string()))
            .or_default(),
    )
}

/// A provider's token response.
#[derive(Deserialize)]
struct ProviderTokens {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
}

impl std::fmt::Debug for ProviderTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderTokens")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Why a provider's token endpoint did not give tokens.
#[derive(Debug, Error)]
enum ProviderError {
    /// It answered with an OAuth error.
    #[error("the provider answered `{error}`{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Refused {
        error: String,
        description: Option<String>,
    },
    /// It could not be reached, or answered something else.
    #[error("{0}")]
    Transport(String),
}

/// Calls a provider's token endpoint with Tollgate's client credentials there.
async fn provider_token(
    core: &Core,
    connection: &str,
    provider: &ProviderConfig,
    mut form: Vec<(&'static str, String)>,
) -> Result<ProviderTokens, ProviderError> {
    let secret = match &core.vault {
        Some(vault) => vault
            .get(connection, &Owner::Provider)
            .await
            .map_err(|e| ProviderError::Transport(e.to_string()))?
            .map(|o| o.secret),
        None => None,
    };
    let mut request = core.http.post(&provider.token_endpoint);
    match (&secret, provider.token_endpoint_auth_method.as_str()) {
        (Some(secret), "client_secret_post") => {
            form.push(("client_id", provider.client_id.clone()));
            form.push(("client_secret", secret.to_string()));
        }
        (Some(secret), _) => {
            // RFC 6749 §2.3.1: both parts form-urlencoded before Basic encoding.
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            request = request.basic_auth(enc(&provider.client_id), Some(enc(secret)));
        }
        (None, _) => form.push(("client_id", provider.client_id.clone())),
    }
    let body = Zeroizing::new(
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
            .finish(),
    );
    let response = request
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| ProviderError::Transport(format!("cannot reach the provider: {e}")))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| ProviderError::Transport(format!("cannot read the provider's answer: {e}")))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|_| {
            ProviderError::Transport("the provider's token response is not valid JSON".into())
        });
    }
    #[derive(Deserialize)]
    struct ErrorBody {
        error: String,
        #[serde(default)]
        error_description: Option<String>,
    }
    match serde_json::from_slice::<ErrorBody>(&bytes) {
        Ok(e) => Err(ProviderError::Refused {
            error: e.error,
            description: e.error_description,
        }),
        Err(_) => Err(ProviderError::Transport(format!(
            "the provider answered HTTP {status}"
        ))),
    }
}

/// A connect flow waiting for the user's browser: first at Tollgate (signed in as `sub`, which
/// binds the flow to that browser session), then back from the provider.
pub struct PendingConnect {
    connection: String,
    sub: String,
    verifier: Zeroizing<String>,
    scope: String,
    expires_at: i64,
    /// The provider's authorization URL, handed to the browser once it is bound.
    provider_url: String,
    /// The SHA-256 of the Tollgate session cookie of the browser that confirmed the flow; the
    /// callback is honoured only from that browser, with `sub` still signed in (RFC 6749 §10.12,
    /// RFC 9700 §4.7: `state` bound to the user agent).
    bound_to: Option<String>,
}

/// Connect flows one user may have under way at once.
const MAX_CONNECTS_PER_USER: usize = 8;
/// Connect flows under way at most.
const MAX_CONNECTS: usize = 10_000;

impl std::fmt::Debug for PendingConnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingConnect")
            .field("connection", &self.connection)
            .field("sub", &self.sub)
            .finish_non_exhaustive()
    }
}

/// Why a connect flow could not start or finish. `status` is the HTTP status to answer with.
#[derive(Debug, Error)]
#[error("{message}")]
pub struct ConnectError {
    /// HTTP status.
    pub status: u16,
    /// An OAuth-style error code.
    pub error: &'static str,
    /// What went wrong (never a secret).
    pub message: String,
}

impl ConnectError {
    fn new(status: u16, error: &'static str, message: impl Into<String>) -> ConnectError {
        ConnectError {
            status,
            error,
            message: message.into(),
        }
    }
}

/// Starts linking the bearer's account at an `oauth` connection's provider: returns the URL to
/// send the user's browser to (authorization code with PKCE S256 and `state`).
pub async fn connect_start(
    core: &Core,
    bearer: Option<&str>,
    connection_id: &str,
    now: i64,
) -> Result<String, ConnectError> {
    let token = bearer.ok_or_else(|| {
        ConnectError::new(
            401,
            "invalid_token",
            "send the user's Tollgate access token as a Bearer token",
        )
    })?;
    let claims = verify_own_token(core, token, now).await.map_err(|why| {
        ConnectError::new(
            401,
            "invalid_token",
            format!("the token is not valid: {why}"),
        )
    })?;
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let client_id = claims
        .get("client_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if sub.is_empty() || sub == client_id {
        return Err(ConnectError::new(
            403,
            "insufficient_user",
            "connecting an account needs a user's token, not a client's",
        ));
    }
    if core.vault.is_none() {
        return Err(ConnectError::new(
            503,
            "vault_unavailable",
            "this server has no vault key, so it cannot keep connected accounts",
        ));
    }
    let directory = core.directory();
    let connection = directory.connections.get(connection_id).ok_or_else(|| {
        ConnectError::new(
            404,
            "invalid_target",
            format!("no connection `{connection_id}`"),
        )
    })?;
    let (Some(provider), Some(authorize)) = (
        connection.provider.as_ref(),
        connection
            .provider
            .as_ref()
            .and_then(|p| p.authorization_endpoint.as_deref()),
    ) else {
        return Err(ConnectError::new(
            400,
            "invalid_target",
            format!(
                "connection `{connection_id}` has no provider authorization endpoint to connect at"
            ),
        ));
    };
    let state = random_id();
    let verifier = Zeroizing::new(random_id());
    let challenge = B64.encode(Sha256::digest(verifier.as_bytes()));
    let scope = connection
        .scopes
        .iter()
        .chain(&provider.authorization_scopes)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    let redirect_uri = core.connect_redirect_uri();
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs([
        ("response_type", "code"),
        ("client_id", provider.client_id.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("scope", scope.as_str()),
        ("state", state.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    query.extend_pairs(
        provider
            .authorization_params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let separator = if authorize.contains('?') { '&' } else { '?' };
    let provider_url = format!("{authorize}{separator}{}", query.finish());
    let mut pending = core.connects.lock().unwrap_or_else(PoisonError::into_inner);
    pending.retain(|_, p| p.expires_at > now);
    if pending.len() >= MAX_CONNECTS
        || pending.values().filter(|p| p.sub == sub).count() >= MAX_CONNECTS_PER_USER
    {
        return Err(ConnectError::new(
            429,
            "slow_down",
            "too many connect flows are under way; finish or let one expire first",
        ));
    }
    let start_url = format!(
        "{}/connections/start?flow={}",
        core.issuer.trim_end_matches('/'),
        form_urlencoded::byte_serialize(state.as_bytes()).collect::<String>()
    );
    pending.insert(
        state,
        PendingConnect {
            connection: connection_id.to_owned(),
            sub: sub.to_owned(),
            verifier,
            scope,
            expires_at: now + CONNECT_TTL,
            provider_url,
            bound_to: None,
        },
    );
    Ok(start_url)
}

/// A connect flow under way, as the confirmation page shows it.
#[derive(Debug, Clone)]
pub struct ConnectFlow {
    /// The connection being linked.
    pub connection: String,
    /// The Tollgate user it is linked for.
    pub sub: String,
}

fn unknown_flow() -> ConnectError {
    ConnectError::new(
        400,
        "invalid_request",
        "this connect flow is unknown, already finished or expired: start again",
    )
}

/// The flow behind a start link.
pub fn connect_flow(core: &Core, flow: &str, now: i64) -> Result<ConnectFlow, ConnectError> {
    core.connects
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(flow)
        .filter(|p| p.expires_at > now)
        .map(|p| ConnectFlow {
            connection: p.connection.clone(),
            sub: p.sub.clone(),
        })
        .ok_or_else(unknown_flow)
}

/// Binds a flow to the browser session that confirmed it (its cookie and signed-in user, which
/// must be the user who started the flow) and returns the provider URL to send it to.
pub fn connect_confirm(
    core: &Core,
    flow: &str,
    session_cookie: &str,
    session_sub: Option<&str>,
    now: i64,
) -> Result<String, ConnectError> {
    let mut pending = core.connects.lock().unwrap_or_else(PoisonError::into_inner);
    let p = pending
        .get_mut(flow)
        .filter(|p| p.expires_at > now)
        .ok_or_else(unknown_flow)?;
    if session_sub != Some(p.sub.as_str()) {
        return Err(ConnectError::new(
            403,
            "access_denied",
            "this connect link was started for another Tollgate account; nothing was linked",
        ));
    }
    p.bound_to = Some(super::grants::token_hash(session_cookie));
    Ok(p.provider_url.clone())
}

/// Finishes a connect flow at the redirect URI: exchanges the code at the provider (with the PKCE
/// verifier) and seals the refresh token for the user. Returns the connection and granted scopes.
/// Only the browser session that confirmed the flow, with the user who started it still signed
/// in, may finish it; any other callback links nothing and leaves the flow as it was.
pub async fn connect_callback(
    core: &Core,
    query: &HashMap<String, String>,
    session: Option<(&str, Option<&str>)>,
    now: i64,
) -> Result<(String, String), ConnectError> {
    let state = query
        .get("state")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ConnectError::new(400, "invalid_request", "the `state` parameter is missing")
        })?;
    let pending = {
        let mut flows = core.connects.lock().unwrap_or_else(PoisonError::into_inner);
        let p = flows
            .get(state)
            .filter(|p| p.expires_at > now)
            .ok_or_else(unknown_flow)?;
        let bound = match (&p.bound_to, session) {
            (Some(bound), Some((cookie, sub))) => {
                bool::from(subtle::ConstantTimeEq::ct_eq(
                    bound.as_bytes(),
                    super::grants::token_hash(cookie).as_bytes(),
                )) && sub == Some(p.sub.as_str())
            }
            _ => false,
        };
        if !bound {
            return Err(ConnectError::new(
                403,
                "access_denied",
                "this connect flow was started in another browser or for another Tollgate account; nothing was linked",
            ));
        }
        flows.remove(state).ok_or_else(unknown_flow)?
    };
    if let Some(error) = query.get("error") {
        return Err(ConnectError::new(
            400,
            "access_denied",
            format!(
                "the provider of `{}` answered `{error}`{}",
                pending.connection,
                query
                    .get("error_description")
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            ),
        ));
    }
    let code = query.get("code").filter(|c| !c.is_empty()).ok_or_else(|| {
        ConnectError::new(400, "invalid_request", "the `code` parameter is missing")
    })?;
    let directory = core.directory();
    let provider = directory
        .connections
        .get(&pending.connection)
        .and_then(|c| c.provider.as_ref())
        .ok_or_else(|| {
            ConnectError::new(
                404,
                "invalid_target",
                format!("connection `{}` is gone", pending.connection),
            )
        })?;
    // RFC 9207: a response naming another issuer than the provider's is a mix-up.
    if let (Some(expected), Some(iss)) = (&provider.issuer, query.get("iss"))
        && expected != iss
    {
        return Err(ConnectError::new(
            400,
            "invalid_request",
            format!("the response names issuer `{iss}`, not `{expected}`"),
        ));
    }
    let tokens = provider_token(
        core,
        &pending.connection,
        provider,
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.clone()),
            ("redirect_uri", core.connect_redirect_uri()),
            ("code_verifier", pending.verifier.to_string()),
        ],
    )
    .await
    .map_err(|e| ConnectError::new(502, "provider_error", e.to_string()))?;
    let refresh = tokens.refresh_token.as_ref().ok_or_else(|| {
        ConnectError::new(
            502,
            "provider_error",
            "the provider issued no refresh token: ask for offline access (`authorizationScopes`)",
        )
    })?;
    let scope = tokens.scope.clone().unwrap_or(pending.scope);
    let owner = Owner::User(pending.sub);
    let vault = core.vault.as_ref().ok_or_else(|| {
        ConnectError::new(503, "vault_unavailable", "this server has no vault key")
    })?;
    vault
        .put(
            &pending.connection,
            &owner,
            Credential {
                kind: SecretKind::RefreshToken,
                secret: refresh,
                scope: Some(&scope),
                source: Source::Connect,
            },
            now,
        )
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "cannot seal a connected account's token");
            ConnectError::new(500, "server_error", "the account could not be stored")
        })?;
    core.audit.record(Event::CredentialLinked {
        connection: pending.connection.clone(),
        owner: owner.to_string(),
        scope: scope.clone(),
    });
    Ok((pending.connection, scope))
}
