//! The JWT bearer grant (RFC 7523 §2.1): an assertion from a trusted issuer about a user; from an
//! issuer marked `idJag`, an Identity Assertion JWT Authorization Grant (ID-JAG:
//! draft-ietf-oauth-identity-assertion-authz-grant, version -04 as the MCP enterprise-managed
//! authorization profile cites it; the rules below follow its section 4.4.1 and the profile's
//! sections 5 to 7).

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
use crate::oauth::targets::{named_targets, resolve_resource};
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
    // An ID-JAG is typed, and an ID-JAG issuer's assertions are nothing else.
    let typed_id_jag = unverified.header.typ.as_deref().is_some_and(|t| {
        let t = t.to_ascii_lowercase();
        t == ID_JAG_TYPE || t.strip_prefix("application/") == Some(ID_JAG_TYPE)
    });
    match (trusted.id_jag, typed_id_jag) {
        (true, false) => {
            return Err(OAuthError::invalid_grant(format!(
                "an assertion of this issuer must be an ID-JAG (`typ` `{ID_JAG_TYPE}`)"
            )));
        }
        (false, true) => {
            return Err(OAuthError::invalid_grant(
                "this issuer is not trusted for ID-JAGs",
            ));
        }
        _ => {}
    }
    let token_endpoint = core.token_endpoint();
    let audiences: Vec<&str> = match &trusted.audience {
        // An ID-JAG's audience is this server's issuer, and only it.
        _ if trusted.id_jag => vec![core.issuer.as_str()],
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
    let grant = if trusted.id_jag {
        Some(IdJag::read(&claims, core, client, &directory)?)
    } else {
        None
    };
    let resource = match grant.as_ref().and_then(|g| g.resource) {
        Some(bound) => {
            // The token is for the ID-JAG's resource: a request naming another is refused.
            for named in named_targets(params) {
                if directory.resource(named).map(|r| &r.id) != Some(&bound.id) {
                    return Err(OAuthError::invalid_target(format!(
                        "the ID-JAG is for `{}`, not `{named}`",
                        bound.audience
                    )));
                }
            }
            bound
        }
        None => resolve_resource(&directory, params, client)?,
    };
    // Requested ∩ the ID-JAG's scopes (∩ policy, below); without `scope`, the ID-JAG's.
    let requested = match (
        split_scope(params.get("scope")),
        grant.as_ref().and_then(|g| g.scopes.clone()),
    ) {
        (Some(asked), Some(allowed)) => {
            let both: Vec<String> = asked.into_iter().filter(|s| allowed.contains(s)).collect();
            if both.is_empty() {
                return Err(OAuthError::invalid_scope(
                    "none of the requested scopes is in the ID-JAG's `scope`",
                ));
            }
            Some(both)
        }
        (asked, None) => asked,
        (None, allowed) => allowed,
    };
    // The assertion says who the user is, not how this server saw them sign in.
    let extra = without_auth_claims(custom_claims(&claims));
    let request = Request {
        user: Some(engine_user(&directory, &sub)),
        claims: Some(Value::Object(extra.clone())),
        ..engine_request(GrantType::JwtBearer, client, resource, requested, params)
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
            // ID-JAG section 4.4.3: no refresh token; the client asks the identity provider for
            // a new ID-JAG instead.
            refresh: if grant.is_some() {
                Refresh::None
            } else {
                Refresh::Start { family: None }
            },
            issued_token_type: None,
        },
    )
    .await
}

/// The JWT `typ` of an ID-JAG.
const ID_JAG_TYPE: &str = "oauth-id-jag+jwt";

/// What an ID-JAG, once verified, binds the grant to.
struct IdJag<'d> {
    /// Its `resource`, one of this server's (the token's audience).
    resource: Option<&'d crate::directory::ResourceInfo>,
    /// Its `scope`, split.
    scopes: Option<Vec<String>>,
}

impl<'d> IdJag<'d> {
    /// The ID-JAG's own rules beyond the signature, issuer, expiry and `jti` that every assertion
    /// is checked for: `aud` is this server's issuer and nothing else, `client_id` is the
    /// authenticated client, `resource` (when present) is a resource of this server.
    fn read(
        claims: &Value,
        core: &Core,
        client: &AuthenticatedClient,
        directory: &'d crate::directory::Directory,
    ) -> Result<IdJag<'d>, OAuthError> {
        let only_us = match claims.get("aud") {
            Some(Value::String(aud)) => *aud == core.issuer,
            Some(Value::Array(list)) => {
                list.len() == 1 && list.first().and_then(Value::as_str) == Some(&core.issuer)
            }
            _ => false,
        };
        if !only_us {
            return Err(OAuthError::invalid_grant(
                "the ID-JAG's audience must be this server's issuer, alone",
            ));
        }
        if claims.get("client_id").and_then(Value::as_str) != Some(client.config.client_id.as_str())
        {
            return Err(OAuthError::invalid_grant(
                "the ID-JAG was issued to another client",
            ));
        }
        let resource = match claims.get("resource") {
            None | Some(Value::Null) => None,
            Some(Value::String(r)) => Some(directory.resource(r).ok_or_else(|| {
                OAuthError::invalid_grant(format!(
                    "the ID-JAG's resource `{r}` is not a resource of this server"
                ))
            })?),
            Some(_) => {
                return Err(OAuthError::invalid_grant(
                    "the ID-JAG's `resource` is not a string",
                ));
            }
        };
        let scopes = match claims.get("scope") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => split_scope(Some(s)),
            Some(_) => {
                return Err(OAuthError::invalid_grant(
                    "the ID-JAG's `scope` is not a string",
                ));
            }
        };
        Ok(IdJag { resource, scopes })
    }
}
