//! The token endpoint's grants: client credentials, token exchange (RFC 8693), JWT bearer
//! (RFC 7523 §2.1) and refresh. Every issued scope goes through the policy engine.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::jwk::JwkSet;
use rand::RngCore as _;
use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tollgate_engine::{
    Actor, Client, Context, Decision, GrantType, Request, Subject, Target, User,
};

use super::client_auth::{self, AuthenticatedClient, verify_with_jwks};
use super::connections;
use super::tokens::verify_own_token;
use super::{
    ACCESS_TOKEN_TYPE, Core, JWT_BEARER, JWT_TOKEN_TYPE, OAuthError, Params, TOKEN_EXCHANGE,
    split_scope,
};
use crate::audit::Event;
use crate::config::ClientConfig;
use crate::directory::{ConnectionInfo, Directory, ResourceInfo};
use crate::store::TokenRecord;

/// A successful token response (RFC 6749 §5.1, RFC 8693 §2.2.1).
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    /// The access token (an RFC 9068 JWT).
    pub access_token: String,
    /// `Bearer`; a provider's own type for vaulted OAuth tokens; `N_A` for credentials that are
    /// not access tokens (RFC 8693 §2.2.1).
    pub token_type: std::borrow::Cow<'static, str>,
    /// Seconds until it expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    /// The granted scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// RFC 8693: what `access_token` is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
    /// A rotated refresh token, when the client may refresh.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// Handles a token request.
pub async fn token(core: &Core, params: &Params) -> Result<TokenResponse, OAuthError> {
    let grant_type = params.require("grant_type")?.to_owned();
    let client = client_auth::authenticate(core, params).await?;
    let result = match grant_type.as_str() {
        "client_credentials" => client_credentials(core, params, &client).await,
        TOKEN_EXCHANGE => token_exchange(core, params, &client).await,
        JWT_BEARER => jwt_bearer(core, params, &client).await,
        "refresh_token" => refresh(core, params, &client).await,
        "authorization_code" => authorization_code(core, params, &client).await,
        other => Err(OAuthError::unsupported_grant_type(format!(
            "unknown grant type `{}`",
            crate::audit::bounded(other, 64)
        ))),
    };
    if let Err(e) = &result {
        core.audit.record(Event::TokenRefused {
            client_id: client.config.client_id.clone(),
            grant_type: crate::audit::bounded(&grant_type, 64),
            error: e.error,
            description: e.error_description.clone(),
        });
    }
    result
}

fn require_grant(client: &AuthenticatedClient, name: &str) -> Result<(), OAuthError> {
    if client.config.is_public() && !crate::config::PUBLIC_CLIENT_GRANTS.contains(&name) {
        return Err(OAuthError::unauthorized_client(format!(
            "`{}` is a public client: it may use only authorization_code and refresh_token, not `{name}`",
            client.config.client_id
        )));
    }
    if client.config.grant_types.iter().any(|g| g == name) {
        Ok(())
    } else {
        Err(OAuthError::unauthorized_client(format!(
            "client `{}` may not use the `{name}` grant",
            client.config.client_id
        )))
    }
}

/// What a request names as its target: every `resource` (RFC 8707), then `audience` (RFC 8693).
fn named_targets(params: &Params) -> Vec<&str> {
    let mut named: Vec<&str> = params.resources.iter().map(String::as_str).collect();
    if let Some(audience) = params.get("audience") {
        named.push(audience);
    }
    named.dedup();
    named
}

/// The one resource a request names (RFC 8707 `resource`, or `audience` for token exchange).
fn resolve_resource<'d>(
    directory: &'d Directory,
    params: &Params,
    client: &AuthenticatedClient,
) -> Result<&'d ResourceInfo, OAuthError> {
    choose_resource(directory, &named_targets(params), &client.config, || None)
}

/// The resource of a request (token or authorization): the one it names; without one, the one
/// resource the client's configuration names, else what `fallback` finds.
pub(super) fn choose_resource<'d>(
    directory: &'d Directory,
    named: &[&str],
    client: &crate::config::ClientConfig,
    fallback: impl FnOnce() -> Option<&'d ResourceInfo>,
) -> Result<&'d ResourceInfo, OAuthError> {
    match named {
        [one] => directory
            .resource(one)
            .ok_or_else(|| OAuthError::invalid_target(format!("unknown resource `{one}`"))),
        [] => {
            let mut configured = client
                .allowed_scopes
                .keys()
                .filter_map(|id| directory.resources.get(id));
            match (configured.next(), configured.next()) {
                (Some(only), None) => Ok(only),
                _ => fallback().ok_or_else(|| {
                    OAuthError::invalid_target("name the resource with the `resource` parameter")
                }),
            }
        }
        _ => Err(OAuthError::invalid_target("name one resource per request")),
    }
}

/// The connection a token exchange names (by id in `resource` or `audience`), if it names one.
fn named_connection<'d>(directory: &'d Directory, params: &Params) -> Option<&'d ConnectionInfo> {
    match named_targets(params).as_slice() {
        [one] if directory.resource(one).is_none() => directory.connections.get(*one),
        _ => None,
    }
}

pub(super) fn engine_client(client: &AuthenticatedClient) -> Client {
    engine_client_of(&client.config)
}

/// The engine's view of a client.
pub(super) fn engine_client_of(c: &crate::config::ClientConfig) -> Client {
    Client {
        client_id: Some(c.client_id.clone()),
        name: c.name.clone(),
        tags: Some(c.tags.clone()),
        registration_type: Some(c.registration_type.clone()),
        status: Some(c.status.clone()),
        allowed_scopes: (!c.allowed_scopes.is_empty()).then(|| c.allowed_scopes.clone()),
        tenant_id: c.tenant_id.clone(),
    }
}

/// The engine request every grant starts from; grants with a user, claims or an actor set those.
fn engine_request(
    grant: GrantType,
    client: &AuthenticatedClient,
    resource: &ResourceInfo,
    requested_scopes: Option<Vec<String>>,
    params: &Params,
) -> Request {
    Request {
        grant_type: grant,
        client: Some(engine_client(client)),
        user: None,
        claims: None,
        actor: None,
        subject: None,
        target: Target::Resource(resource.id.clone()),
        requested_scopes,
        consented_scopes: None,
        context: Some(context(params)),
        explain: false,
    }
}

pub(super) fn engine_user(directory: &Directory, sub: &str) -> User {
    match directory.users.get(sub) {
        Some(u) => User {
            sub: Some(u.sub.clone()),
            roles: Some(u.roles.clone()),
            tenant_ids: Some(u.tenant_ids.clone()),
            permissions: Some(u.permissions.clone()),
        },
        None => User {
            sub: Some(sub.to_owned()),
            ..User::default()
        },
    }
}

pub(super) fn context(params: &Params) -> Context {
    Context {
        ip: params.ip,
        time: jiff::Timestamp::from_second(params.now).ok(),
    }
}

/// Runs the engine, audits the decision, and turns a refusal into the OAuth error.
fn decide(
    core: &Core,
    request: &Request,
    client_id: &str,
) -> Result<Decision<'static>, OAuthError> {
    let decision = decide_raw(core, request, client_id)?;
    if decision.permitted {
        return Ok(decision);
    }
    if decision
        .scopes
        .iter()
        .any(|s| s.reason == Some(tollgate_engine::Reason::UnknownTarget))
    {
        return Err(OAuthError::invalid_target(format!(
            "unknown target `{}`",
            request.target.id()
        )));
    }
    Err(OAuthError::invalid_scope(format!(
        "no requested scope may be granted to `{client_id}` on `{}`",
        request.target.id()
    )))
}

/// Runs the engine and audits the decision, permitted or not.
pub(super) fn decide_raw(
    core: &Core,
    request: &Request,
    client_id: &str,
) -> Result<Decision<'static>, OAuthError> {
    let (decision, version) = core.policy.decide(request).map_err(|e| match e {
        crate::runtime::RuntimeError::Trap(_) => {
            tracing::warn!(error = %e, "the policy engine ran past its deadline or limits");
            OAuthError::busy("the policy engine is busy; try again", 1)
        }
        other => {
            tracing::error!(error = %other, "the policy engine failed");
            OAuthError::server_error()
        }
    })?;
    core.audit.record(Event::Decision {
        client_id: client_id.to_owned(),
        grant_type: request.grant_type.as_str(),
        target: request.target.id().to_owned(),
        policy_version: version,
        decision: decision.clone(),
    });
    Ok(decision)
}

/// Whether and how a new token comes with a refresh token.
enum Refresh {
    /// Never (client credentials; an exchange unless `exchangeRefreshTokens`).
    None,
    /// A new family, when the client may refresh; `family` joins the tokens of the
    /// authorization code that started it, so a replayed code revokes them.
    Start { family: Option<String> },
    /// A family derived by token exchange: it ends when `subject` (its `jti`) is revoked and
    /// no later than `until`, the subject token's expiry.
    Derived { subject: Value, until: i64 },
    /// A rotation: the same family, the same absolute end (RFC 9700 §4.14.2: rotation never
    /// extends a grant's lifetime).
    Rotate {
        family: String,
        until: i64,
        subject: Option<Value>,
    },
}

/// What goes into a new token beyond what the decision grants.
struct Issue<'a> {
    client: &'a AuthenticatedClient,
    resource: &'a ResourceInfo,
    grant: GrantType,
    sub: String,
    scopes: Vec<String>,
    /// Extra claims (the subject's claims on exchange, `act`).
    extra: Map<String, Value>,
    refresh: Refresh,
    issued_token_type: Option<&'static str>,
}

async fn issue(core: &Core, params: &Params, i: Issue<'_>) -> Result<TokenResponse, OAuthError> {
    let jti = random_id();
    let scope = i.scopes.join(" ");
    let access_exp = params.now.saturating_add(core.access_ttl);
    let mut claims = i.extra.clone();
    for (k, v) in [
        ("iss", json!(core.issuer)),
        ("sub", json!(i.sub)),
        ("aud", json!(i.resource.audience)),
        ("client_id", json!(i.client.config.client_id)),
        ("scope", json!(scope)),
        ("iat", json!(params.now)),
        ("exp", json!(access_exp)),
        ("jti", json!(jti)),
    ] {
        claims.insert(k.to_owned(), v);
    }
    let access_token = core
        .keys()
        .sign("at+jwt", &Value::Object(claims))
        .map_err(|e| {
            tracing::error!(error = %e, "signing failed");
            OAuthError::server_error()
        })?;

    let may_refresh = i
        .client
        .config
        .grant_types
        .iter()
        .any(|g| g == "refresh_token");
    let fresh_until = params.now.saturating_add(core.refresh_ttl);
    // (family, absolute end, subject of a derived family) of the refresh token to issue.
    let (plan, code_family) = match i.refresh {
        Refresh::None => (None, None),
        Refresh::Start { family } if may_refresh => (Some((family, fresh_until, None)), None),
        Refresh::Start { family } => (None, family),
        Refresh::Derived { subject, until } if may_refresh => {
            (Some((None, fresh_until.min(until), Some(subject))), None)
        }
        Refresh::Derived { .. } => (None, None),
        Refresh::Rotate {
            family,
            until,
            subject,
        } => (Some((Some(family), until, subject)), None),
    };
    let mut refresh_token = None;
    if let Some((family, until, subject)) = plan {
        let token = random_id();
        let id = token_hash(&token);
        let family = family.unwrap_or_else(|| id.clone());
        let mut data = i.extra.clone();
        if let Some(subject) = subject {
            data.insert(SUBJECT_KEY.into(), subject);
        }
        let record = TokenRecord {
            id,
            kind: "refresh".into(),
            client_id: i.client.config.client_id.clone(),
            sub: Some(i.sub.clone()),
            family: family.clone(),
            grant_type: i.grant.as_str().into(),
            target: json!(i.resource.id),
            scope: scope.clone(),
            data: Value::Object(data),
            issued_at: params.now,
            expires_at: until,
            used: false,
            revoked: false,
        };
        core.store.insert_token(&record).await.map_err(|e| {
            tracing::error!(error = %e, "storing a refresh token failed");
            OAuthError::server_error()
        })?;
        // The access token joins the family, so revoking the family revokes it too.
        let access = TokenRecord {
            id: jti.clone(),
            kind: "access".into(),
            expires_at: access_exp,
            data: Value::Null,
            ..record
        };
        core.store
            .insert_token(&access)
            .await
            .map_err(|_| OAuthError::server_error())?;
        refresh_token = Some(token);
    } else if let Some(family) = code_family {
        // No refresh token, but the access token still joins the family of the code that
        // issued it, so a replayed code revokes it.
        let access = TokenRecord {
            id: jti.clone(),
            kind: "access".into(),
            client_id: i.client.config.client_id.clone(),
            sub: Some(i.sub.clone()),
            family,
            grant_type: i.grant.as_str().into(),
            target: json!(i.resource.id),
            scope: scope.clone(),
            data: Value::Null,
            issued_at: params.now,
            expires_at: access_exp,
            used: false,
            revoked: false,
        };
        core.store
            .insert_token(&access)
            .await
            .map_err(|_| OAuthError::server_error())?;
    }
    core.audit.record(Event::TokenIssued {
        client_id: i.client.config.client_id.clone(),
        sub: i.sub.clone(),
        grant_type: i.grant.as_str(),
        audience: i.resource.audience.clone(),
        scope: scope.clone(),
        jti,
    });
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: Some(core.access_ttl),
        scope: Some(scope),
        issued_token_type: i.issued_token_type,
        refresh_token,
    })
}

async fn client_credentials(
    core: &Core,
    params: &Params,
    client: &AuthenticatedClient,
) -> Result<TokenResponse, OAuthError> {
    require_grant(client, "client_credentials")?;
    let directory = core.directory();
    let resource = resolve_resource(&directory, params, client)?;
    let request = engine_request(
        GrantType::ClientCredentials,
        client,
        resource,
        split_scope(params.get("scope")),
        params,
    );
    let decision = decide(core, &request, &client.config.client_id)?;
    issue(
        core,
        params,
        Issue {
            client,
            resource,
            grant: GrantType::ClientCredentials,
            sub: client.config.client_id.clone(),
            scopes: decision.granted.iter().map(|s| s.to_string()).collect(),
            extra: Map::new(),
            refresh: Refresh::None,
            issued_token_type: None,
        },
    )
    .await
}

/// The subject token's claims as connection policies see them (`jwtClaims.*`): the custom claims
/// plus `client_id` and `scope`, so a policy can tell which client's token an MCP server exchanges.
fn connection_claims(subject: &Value) -> Map<String, Value> {
    let mut claims = custom_claims(subject);
    for key in ["client_id", "scope"] {
        if let Some(v) = subject.get(key) {
            claims.insert(key.to_owned(), v.clone());
        }
    }
    claims
}

/// Claims of a subject token that are not the registered ones: they become `jwtClaims.*`.
fn custom_claims(claims: &Value) -> Map<String, Value> {
    const REGISTERED: [&str; 9] = [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "nbf",
        "jti",
        "scope",
        "client_id",
    ];
    claims
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| !REGISTERED.contains(&k.as_str()) && k.as_str() != SUBJECT_KEY)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The reserved key under which a refresh record derived by exchange keeps its subject token
/// (`jti`, `client_id`, `aud`): never a claim, never shown to policies as one.
pub(super) const SUBJECT_KEY: &str = "tollgate:subject";

/// The audiences a token names (`aud`: a string or a list of strings).
pub(super) fn audiences(claims: &Value) -> Vec<&str> {
    match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether `client` may act on a token of this server: the token was issued to it, or its
/// audience is a resource the client serves (`serves`). RFC 8693 §2.1 and RFC 7662 §4 leave it to
/// the server to judge who may present whose token; this is that judgement.
pub(super) fn entitled_to(directory: &Directory, client: &ClientConfig, claims: &Value) -> bool {
    if claims.get("client_id").and_then(Value::as_str) == Some(client.client_id.as_str()) {
        return true;
    }
    let served: Vec<&str> = client
        .serves
        .iter()
        .filter_map(|id| directory.resources.get(id))
        .map(|r| r.audience.as_str())
        .collect();
    audiences(claims).iter().any(|aud| served.contains(aud))
}

/// The party a token or an `act` claim names: its `client_id` and `sub`.
fn party_of(claims: &Value) -> Actor {
    let text = |key: &str| claims.get(key).and_then(Value::as_str).map(str::to_owned);
    Actor {
        client_id: text("client_id"),
        sub: text("sub"),
    }
}

/// A subject token as policies see it (`subject.clientid`, `subject.audience`), from its claims
/// or from what a derived refresh family kept of them.
fn subject_of(claims: &Value) -> Subject {
    Subject {
        client_id: claims
            .get("client_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        audience: audiences(claims).first().map(|a| (*a).to_owned()),
    }
}

/// RFC 8693 §4.4: when the subject token says who may act for its subject (`may_act`), the
/// acting party must be one of them. Every member `may_act` names must match.
fn may_act_allows(subject: &Value, actor: &Actor) -> Option<bool> {
    let may_act = subject.get("may_act")?;
    let Some(may_act) = may_act.as_object() else {
        return Some(false);
    };
    let matches = |key: &str, have: Option<&String>| match may_act.get(key) {
        None => true,
        Some(Value::String(want)) => have.is_some_and(|h| h == want),
        Some(_) => false,
    };
    let actor_sub = actor.sub.as_ref().or(actor.client_id.as_ref());
    Some(
        !may_act.is_empty()
            && matches("client_id", actor.client_id.as_ref())
            && matches("sub", actor_sub),
    )
}

async fn token_exchange(
    core: &Core,
    params: &Params,
    client: &AuthenticatedClient,
) -> Result<TokenResponse, OAuthError> {
    require_grant(client, "token_exchange")?;
    let subject_token = params.require("subject_token")?;
    let subject_type = params.require("subject_token_type")?;
    if subject_type != ACCESS_TOKEN_TYPE && subject_type != JWT_TOKEN_TYPE {
        return Err(OAuthError::invalid_request(format!(
            "unsupported `subject_token_type` `{subject_type}`"
        )));
    }
    let directory = core.directory();
    let connection = named_connection(&directory, params);
    // A connection issues what it holds (checked there); a resource, an access token (a JWT).
    if let Some(requested) = params.get("requested_token_type")
        && connection.is_none()
        && requested != ACCESS_TOKEN_TYPE
        && requested != JWT_TOKEN_TYPE
    {
        return Err(OAuthError::invalid_request(format!(
            "unsupported `requested_token_type` `{requested}`"
        )));
    }
    let subject = verify_own_token(core, subject_token, params.now)
        .await
        .map_err(|why| {
            OAuthError::invalid_grant(format!("the subject token is not valid: {why}"))
        })?;
    let subject_client = subject
        .get("client_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !entitled_to(&directory, &client.config, &subject) {
        return Err(OAuthError::invalid_grant(format!(
            "`{}` may not exchange this subject token: it was issued to another client, for an audience `{}` does not serve",
            client.config.client_id, client.config.client_id
        )));
    }
    let actor = match params.get("actor_token") {
        Some(actor_token) => {
            let actor_type = params.require("actor_token_type")?;
            if actor_type != ACCESS_TOKEN_TYPE && actor_type != JWT_TOKEN_TYPE {
                return Err(OAuthError::invalid_request(format!(
                    "unsupported `actor_token_type` `{actor_type}`: this server verifies only its own access tokens"
                )));
            }
            let claims = verify_own_token(core, actor_token, params.now)
                .await
                .map_err(|why| {
                    OAuthError::invalid_grant(format!("the actor token is not valid: {why}"))
                })?;
            party_of(&claims)
        }
        None if params.get("actor_token_type").is_some() => {
            return Err(OAuthError::invalid_request(
                "`actor_token_type` without `actor_token`",
            ));
        }
        None => Actor {
            client_id: Some(client.config.client_id.clone()),
            sub: None,
        },
    };
    // The acting party is the authenticated client, unless the subject names another one that
    // may act for it: a caller cannot write someone else into `act`.
    match may_act_allows(&subject, &actor) {
        Some(true) => {}
        Some(false) => {
            return Err(OAuthError::invalid_grant(
                "the subject token's `may_act` does not name the acting party",
            ));
        }
        None if actor.client_id.as_deref() != Some(client.config.client_id.as_str()) => {
            return Err(OAuthError::invalid_grant(
                "the actor token was not issued to the authenticated client",
            ));
        }
        None => {}
    }
    let subject_sub = subject
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let subject_view = subject_of(&subject);
    // A user is present when the subject token was issued for someone other than its client.
    let user = (subject_sub != subject_client).then(|| engine_user(&directory, &subject_sub));
    if let Some(connection) = connection {
        return connections::exchange(
            core,
            params,
            client,
            &directory,
            connections::Subject {
                sub: subject_sub,
                user,
                claims: connection_claims(&subject),
                actor,
                token: subject_view,
            },
            connection,
        )
        .await;
    }
    let resource = resolve_resource(&directory, params, client)?;
    let subject_scopes: Vec<String> =
        split_scope(subject.get("scope").and_then(Value::as_str)).unwrap_or_default();
    let same_resource = audiences(&subject).contains(&resource.audience.as_str());
    let mut claims = custom_claims(&subject);
    let requested =
        split_scope(params.get("scope")).or_else(|| same_resource.then(|| subject_scopes.clone()));
    let request = Request {
        user,
        claims: Some(Value::Object(claims.clone())),
        actor: Some(actor.clone()),
        subject: Some(subject_view),
        ..engine_request(
            GrantType::TokenExchange,
            client,
            resource,
            requested,
            params,
        )
    };
    let decision = decide(core, &request, &client.config.client_id)?;
    // No widening through exchange: on the same resource, never more than the subject token had.
    let scopes: Vec<String> = decision
        .granted
        .iter()
        .map(|s| s.to_string())
        .filter(|s| !same_resource || subject_scopes.contains(s))
        .collect();
    if scopes.is_empty() {
        return Err(OAuthError::invalid_scope(
            "the exchange would not grant any scope the subject token holds",
        ));
    }
    // RFC 8693 §4.1: the acting party, nesting any earlier `act`.
    let mut act = Map::new();
    act.insert(
        "sub".into(),
        json!(
            actor
                .sub
                .clone()
                .or(actor.client_id.clone())
                .unwrap_or_default()
        ),
    );
    if let Some(id) = &actor.client_id {
        act.insert("client_id".into(), json!(id));
    }
    if let Some(prior) = subject.get("act") {
        act.insert("act".into(), prior.clone());
    }
    claims.insert("act".into(), Value::Object(act));
    issue(
        core,
        params,
        Issue {
            client,
            resource,
            grant: GrantType::TokenExchange,
            sub: subject_sub,
            scopes,
            extra: claims,
            refresh: if core.exchange_refresh {
                Refresh::Derived {
                    subject: json!({
                        "jti": subject.get("jti"),
                        "client_id": subject_client,
                        "aud": subject.get("aud"),
                    }),
                    until: subject
                        .get("exp")
                        .and_then(Value::as_i64)
                        .unwrap_or(params.now),
                }
            } else {
                Refresh::None
            },
            issued_token_type: Some(ACCESS_TOKEN_TYPE),
        },
    )
    .await
}

async fn jwt_bearer(
    core: &Core,
    params: &Params,
    client: &AuthenticatedClient,
) -> Result<TokenResponse, OAuthError> {
    require_grant(client, "jwt_bearer")?;
    let assertion = params.require("assertion")?;
    let unverified = jsonwebtoken::dangerous::insecure_decode::<Value>(assertion)
        .map_err(|_| OAuthError::invalid_grant("the assertion is not a JWT"))?;
    let iss = unverified
        .claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let trusted = core
        .trusted_issuers
        .iter()
        .find(|t| t.issuer == iss)
        .ok_or_else(|| OAuthError::invalid_grant("the assertion's issuer is not trusted"))?;
    let jwks: JwkSet = serde_json::from_value(trusted.jwks.clone())
        .map_err(|_| OAuthError::invalid_grant("the trusted issuer's keys are unusable"))?;
    let token_endpoint = core.token_endpoint();
    let audiences: Vec<&str> = match &trusted.audience {
        Some(a) => vec![a.as_str()],
        None => vec![core.issuer.as_str(), token_endpoint.as_str()],
    };
    let claims = verify_with_jwks(
        assertion,
        &jwks,
        &audiences,
        Some(&trusted.issuer),
        params.now,
    )
    .map_err(|why| OAuthError::invalid_grant(format!("the assertion is not valid: {why}")))?;
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or_else(|| OAuthError::invalid_grant("the assertion has no `sub`"))?
        .to_owned();
    // RFC 7523 §3 item 7 makes `jti` optional; without one an assertion could be replayed until it
    // expires, so this server requires it.
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty())
        .ok_or_else(|| OAuthError::invalid_grant("the assertion has no `jti`"))?;
    let remember_until =
        client_auth::assertion_window(&claims, params.now, core.max_assertion_lifetime).map_err(
            |why| OAuthError::invalid_grant(format!("the assertion is not valid: {why}")),
        )?;
    if !client_auth::first_use(core, &trusted.issuer, jti, remember_until, params.now).await? {
        return Err(OAuthError::invalid_grant("the assertion was already used"));
    }
    let directory = core.directory();
    let resource = resolve_resource(&directory, params, client)?;
    let extra = custom_claims(&claims);
    let request = Request {
        user: Some(engine_user(&directory, &sub)),
        claims: Some(Value::Object(extra.clone())),
        ..engine_request(
            GrantType::JwtBearer,
            client,
            resource,
            split_scope(params.get("scope")),
            params,
        )
    };
    let decision = decide(core, &request, &client.config.client_id)?;
    issue(
        core,
        params,
        Issue {
            client,
            resource,
            grant: GrantType::JwtBearer,
            sub,
            scopes: decision.granted.iter().map(|s| s.to_string()).collect(),
            extra,
            refresh: Refresh::Start { family: None },
            issued_token_type: None,
        },
    )
    .await
}

/// Refresh (RFC 6749 §6): rotated; a reused token revokes its family; re-evaluated against
/// today's policies under the grant that started the session; never wider than before; never
/// past the family's absolute end; a family derived by exchange ends with its subject token.
async fn refresh(
    core: &Core,
    params: &Params,
    client: &AuthenticatedClient,
) -> Result<TokenResponse, OAuthError> {
    require_grant(client, "refresh_token")?;
    let token = params.require("refresh_token")?;
    let record = use_once(core, params, client, token, SingleUse::Refresh).await?;
    let invalid = || OAuthError::invalid_grant("the refresh token is not valid");
    let grant = GrantType::from_name(&record.grant_type).ok_or_else(invalid)?;
    let mut extra = record.data.as_object().cloned().unwrap_or_default();
    let derived_from = extra.remove(SUBJECT_KEY);
    if let Some(subject) = &derived_from {
        let jti = subject
            .get("jti")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if jti.is_empty() || core.revoked.contains(jti) {
            core.revoke_family(&record.family, params.now)
                .await
                .map_err(|_| OAuthError::server_error())?;
            return Err(OAuthError::invalid_grant(
                "the token this session was exchanged from is revoked; so is the session",
            ));
        }
    }
    let directory = core.directory();
    let resource_id = record.target.as_str().unwrap_or_default();
    let resource = directory
        .resources
        .get(resource_id)
        .ok_or_else(|| OAuthError::invalid_target("the resource no longer exists"))?;
    let held: Vec<String> = split_scope(Some(&record.scope)).unwrap_or_default();
    let requested = match split_scope(params.get("scope")) {
        Some(asked) if asked.iter().any(|s| !held.contains(s)) => {
            return Err(OAuthError::invalid_scope("a refresh cannot add scopes"));
        }
        Some(asked) => asked,
        None => held,
    };
    let sub = record.sub.clone().unwrap_or_default();
    // A user is present as it was when the session started: for an exchanged session, when the
    // subject token was not its own client's; otherwise when the token is not the client's own.
    let user_present = match derived_from
        .as_ref()
        .and_then(|s| s.get("client_id"))
        .and_then(Value::as_str)
    {
        Some(subject_client) => sub != subject_client,
        None => sub != record.client_id,
    };
    let user = user_present.then(|| engine_user(&directory, &sub));
    let actor = extra.get("act").map(party_of);
    let subject = derived_from.as_ref().map(subject_of);
    let mut claims = extra.clone();
    claims.remove("act");
    let request = Request {
        user,
        claims: Some(Value::Object(claims)),
        actor,
        subject,
        ..engine_request(grant, client, resource, Some(requested), params)
    };
    let decision = decide(core, &request, &client.config.client_id)?;
    issue(
        core,
        params,
        Issue {
            client,
            resource,
            grant,
            sub,
            scopes: decision.granted.iter().map(|s| s.to_string()).collect(),
            extra,
            refresh: Refresh::Rotate {
                family: record.family,
                until: record.expires_at,
                subject: derived_from,
            },
            issued_token_type: None,
        },
    )
    .await
}

/// The authorization code grant (RFC 6749 §4.1.3 with RFC 7636): the code is single-use (a
/// replay revokes everything it issued), bound to its client, redirect URI and PKCE challenge,
/// and to its resource (RFC 8707). The policies decide again with what the user consented to,
/// so a policy removed since the consent page is honoured.
async fn authorization_code(
    core: &Core,
    params: &Params,
    client: &AuthenticatedClient,
) -> Result<TokenResponse, OAuthError> {
    require_grant(client, "authorization_code")?;
    let code = params.require("code")?;
    let record = use_once(core, params, client, code, SingleUse::Code).await?;
    let field = |k: &str| {
        record
            .data
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    if params.get("redirect_uri") != Some(field("redirect_uri")) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri must be the one of the authorization request",
        ));
    }
    let verifier = params
        .get("code_verifier")
        .ok_or_else(|| OAuthError::invalid_grant("PKCE: the code_verifier is missing"))?;
    if !super::authorize::pkce_matches(verifier, field("code_challenge")) {
        return Err(OAuthError::invalid_grant(
            "PKCE: the code_verifier does not match the code_challenge",
        ));
    }
    let directory = core.directory();
    let resource_id = record.target.as_str().unwrap_or_default();
    let resource = directory
        .resources
        .get(resource_id)
        .ok_or_else(|| OAuthError::invalid_target("the resource no longer exists"))?;
    for named in named_targets(params) {
        if directory.resource(named).map(|r| &r.id) != Some(&resource.id) {
            return Err(OAuthError::invalid_target(format!(
                "the code was issued for `{}`, not `{named}`",
                resource.audience
            )));
        }
    }
    let sub = record.sub.clone().unwrap_or_default();
    let consented = split_scope(Some(&record.scope)).unwrap_or_default();
    let claims = super::authorize::user_claims(&directory, &sub);
    let request = Request {
        user: Some(engine_user(&directory, &sub)),
        claims: Some(claims.clone()),
        consented_scopes: Some(consented.clone()),
        ..engine_request(
            GrantType::AuthorizationCode,
            client,
            resource,
            Some(consented),
            params,
        )
    };
    let decision = decide(core, &request, &client.config.client_id)?;
    issue(
        core,
        params,
        Issue {
            client,
            resource,
            grant: GrantType::AuthorizationCode,
            sub,
            scopes: decision.granted.iter().map(|s| s.to_string()).collect(),
            extra: claims.as_object().cloned().unwrap_or_default(),
            refresh: Refresh::Start {
                family: Some(record.family),
            },
            issued_token_type: None,
        },
    )
    .await
}

/// The two single-use grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SingleUse {
    /// A refresh token (rotated on use).
    Refresh,
    /// An authorization code.
    Code,
}

/// Takes a refresh token or an authorization code for its one use: the record when it is this
/// client's, unexpired, unrevoked and not used before. A second use revokes its family, every
/// token it led to (RFC 6749 §4.1.2 for codes, §10.4 for rotated refresh tokens).
async fn use_once(
    core: &Core,
    params: &Params,
    client: &AuthenticatedClient,
    token: &str,
    what: SingleUse,
) -> Result<TokenRecord, OAuthError> {
    let (kind, name) = match what {
        SingleUse::Refresh => ("refresh", "refresh token"),
        SingleUse::Code => ("code", "authorization code"),
    };
    let invalid = || OAuthError::invalid_grant(format!("the {name} is not valid"));
    let id = token_hash(token);
    let record = core
        .store
        .get_token(&id)
        .await
        .map_err(|_| OAuthError::server_error())?
        .filter(|r| r.kind == kind)
        .ok_or_else(invalid)?;
    if record.client_id != client.config.client_id
        || record.revoked
        || record.expires_at <= params.now
    {
        return Err(invalid());
    }
    if core
        .store
        .use_token(&id)
        .await
        .map_err(|_| OAuthError::server_error())?
    {
        return Ok(record);
    }
    // Used before: someone holds a copy.
    core.revoke_family(&record.family, params.now)
        .await
        .map_err(|_| OAuthError::server_error())?;
    let (client_id, family) = (record.client_id, record.family);
    core.audit.record(match what {
        SingleUse::Refresh => Event::RefreshReuse { client_id, family },
        SingleUse::Code => Event::CodeReplay { client_id, family },
    });
    Err(OAuthError::invalid_grant(match what {
        SingleUse::Refresh => "the refresh token was already used; its session is revoked",
        SingleUse::Code => {
            "the authorization code was already used; the tokens it issued are revoked"
        }
    }))
}

pub(super) fn random_id() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    B64.encode(bytes)
}

/// Refresh tokens are stored by the SHA-256 of the token, never the token.
pub(crate) fn token_hash(token: &str) -> String {
    B64.encode(Sha256::digest(token.as_bytes()))
}
