//! The JWT bearer grant (RFC 7523 §2.1): an assertion from a trusted issuer about a user.

use jsonwebtoken::jwk::JwkSet;
use serde_json::Value;
use tollgate_engine::{GrantType, Request};

use super::allowed::require_grant;
use crate::config::GrantTypeName;
use crate::oauth::client_auth::{self, AuthenticatedClient, verify_with_jwks};
use crate::oauth::error::OAuthError;
use crate::oauth::issue::{Issue, Refresh, TokenResponse, issue};
use crate::oauth::params::{Params, split_scope};
use crate::oauth::policy_input::{decide, engine_request, engine_user};
use crate::oauth::state::Core;
use crate::oauth::targets::resolve_resource;
use crate::oauth::token_claims::{custom_claims, without_auth_claims};

pub(super) async fn grant(
    core: &Core,
    params: &Params,
    client: &AuthenticatedClient,
) -> Result<TokenResponse, OAuthError> {
    require_grant(client, GrantTypeName::JwtBearer)?;
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
    // The assertion says who the user is, not how this server saw them sign in.
    let extra = without_auth_claims(custom_claims(&claims));
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
