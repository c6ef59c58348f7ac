//! The connect flow: linking a user's account at an OAuth provider, bound to the browser session
//! of the user who started it.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::Value;
use sha2::{Digest, Sha256};
use thiserror::Error;
use zeroize::Zeroizing;

use super::pending::{
    CONNECT_TTL, MAX_CONNECTS, MAX_CONNECTS_PER_USER, PendingConnect, VERIFIER_LABEL,
};
use super::provider::provider_token;
use crate::audit::Event;
use crate::oauth::own_tokens::verify_own_token;
use crate::oauth::secrets::{random_id, token_hash};
use crate::oauth::state::Core;
use crate::store::{FlowKind, FlowRecord, Source, StoreError};
use crate::vault::{Credential, Owner, SecretKind};

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

impl From<StoreError> for ConnectError {
    fn from(e: StoreError) -> ConnectError {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "the store is unavailable");
            ConnectError::new(
                503,
                "temporarily_unavailable",
                "the server cannot complete this step right now; try again in a moment",
            )
        } else {
            tracing::error!(error = %e, "the store failed");
            ConnectError::new(
                500,
                "server_error",
                "the server could not complete this step",
            )
        }
    }
}

/// A stored flow that does not read back (a value of another version): as if it were gone.
fn read_flow(flow: &FlowRecord) -> Result<PendingConnect, ConnectError> {
    serde_json::from_str(&flow.body).map_err(|_| unknown_flow())
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
    let Some(vault) = core.vault.as_ref() else {
        return Err(ConnectError::new(
            503,
            "vault_unavailable",
            "this server has no vault key, so it cannot keep connected accounts",
        ));
    };
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
    // Built in a block: the serializer is not `Send` and must be gone before the next await.
    let provider_url = {
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
        format!("{authorize}{separator}{}", query.finish())
    };
    let store = core.store.as_ref();
    if store.count_flows(FlowKind::Connect, None, now).await? >= MAX_CONNECTS
        || store.count_flows(FlowKind::Connect, Some(sub), now).await? >= MAX_CONNECTS_PER_USER
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
    let sealed =
        crate::vault::seal_text(vault.key(), VERIFIER_LABEL, &state, &verifier).map_err(|e| {
            tracing::error!(error = %e, "cannot seal a connect flow's verifier");
            ConnectError::new(500, "server_error", "the connect flow could not be started")
        })?;
    let pending = PendingConnect {
        connection: connection_id.to_owned(),
        sub: sub.to_owned(),
        verifier: sealed,
        scope,
        provider_url,
        bound_to: None,
    };
    store
        .put_flow(
            &FlowRecord {
                kind: FlowKind::Connect,
                id: state,
                owner: Some(sub.to_owned()),
                body: serde_json::to_string(&pending).map_err(StoreError::from)?,
                evictable: false,
                expires_at: now + CONNECT_TTL,
            },
            MAX_CONNECTS,
            MAX_CONNECTS_PER_USER,
            now,
        )
        .await?;
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
pub async fn connect_flow(core: &Core, flow: &str, now: i64) -> Result<ConnectFlow, ConnectError> {
    let stored = core
        .store
        .get_flow(FlowKind::Connect, flow, now)
        .await?
        .ok_or_else(unknown_flow)?;
    let p = read_flow(&stored)?;
    Ok(ConnectFlow {
        connection: p.connection,
        sub: p.sub,
    })
}

/// Binds a flow to the browser session that confirmed it (its cookie and signed-in user, which
/// must be the user who started the flow) and returns the provider URL to send it to.
pub async fn connect_confirm(
    core: &Core,
    flow: &str,
    session_cookie: &str,
    session_sub: Option<&str>,
    now: i64,
) -> Result<String, ConnectError> {
    let mut stored = core
        .store
        .get_flow(FlowKind::Connect, flow, now)
        .await?
        .ok_or_else(unknown_flow)?;
    let mut p = read_flow(&stored)?;
    if session_sub != Some(p.sub.as_str()) {
        return Err(ConnectError::new(
            403,
            "access_denied",
            "this connect link was started for another Tollgate account; nothing was linked",
        ));
    }
    p.bound_to = Some(token_hash(session_cookie));
    stored.body = serde_json::to_string(&p).map_err(StoreError::from)?;
    // Only if it is still there: a flow finished meanwhile (at another server) stays finished.
    if !core.store.update_flow(&stored, &p.sub, now).await? {
        return Err(unknown_flow());
    }
    Ok(p.provider_url)
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
    // Checked on a read, then taken, and the binding checked again on what was taken: the flow
    // may have been confirmed again (by the same user, in another browser) in between.
    let bound = |p: &PendingConnect| match (&p.bound_to, session) {
        (Some(bound), Some((cookie, sub))) => {
            bool::from(subtle::ConstantTimeEq::ct_eq(
                bound.as_bytes(),
                token_hash(cookie).as_bytes(),
            )) && sub == Some(p.sub.as_str())
        }
        _ => false,
    };
    let elsewhere = || {
        ConnectError::new(
            403,
            "access_denied",
            "this connect flow was started in another browser or for another Tollgate account; nothing was linked",
        )
    };
    let stored = core
        .store
        .get_flow(FlowKind::Connect, state, now)
        .await?
        .ok_or_else(unknown_flow)?;
    let p = read_flow(&stored)?;
    if !bound(&p) {
        return Err(elsewhere());
    }
    // Taken away as one step: of two callbacks (a replay, two servers), one goes on.
    let taken = core
        .store
        .take_flow(FlowKind::Connect, state, &p.sub, now)
        .await?
        .ok_or_else(unknown_flow)?;
    let pending = read_flow(&taken)?;
    if !bound(&pending) {
        return Err(elsewhere());
    }
    let vault = core.vault.as_ref().ok_or_else(|| {
        ConnectError::new(503, "vault_unavailable", "this server has no vault key")
    })?;
    let verifier = crate::vault::open_text(vault.key(), VERIFIER_LABEL, state, &pending.verifier)
        .map_err(|_| unknown_flow())?;
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
            ("code_verifier", verifier.to_string()),
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
