//! The authorization code grant at the token endpoint (RFC 6749 §4.1.3, RFC 7636, RFC 8707).

use serde_json::Value;
use tollgate_engine::{GrantType, Request};

use super::allowed::require_grant;
use super::single_use::{SingleUse, use_once};
use crate::config::GrantTypeName;
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;
use crate::oauth::issue::{Issue, Refresh, TokenResponse, issue};
use crate::oauth::params::{Params, split_scope};
use crate::oauth::policy_input::{decide, engine_auth, engine_request, engine_user, user_claims};
use crate::oauth::secrets::pkce_matches;
use crate::oauth::state::Core;
use crate::oauth::targets::named_targets;
use crate::oauth::token_claims::without_auth_claims;

/// The authorization code grant (RFC 6749 §4.1.3 with RFC 7636): the code is single-use (a
/// replay revokes everything it issued), bound to its client, redirect URI and PKCE challenge,
/// and to its resource (RFC 8707). The policies decide again with what the user consented to,
/// so a policy removed since the consent page is honoured.
pub(super) async fn grant(
    core: &Core,
    params: &Params,
    client: &AuthenticatedClient,
) -> Result<TokenResponse, OAuthError> {
    require_grant(client, GrantTypeName::AuthorizationCode)?;
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
    if !pkce_matches(verifier, field("code_challenge")) {
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
    let claims = user_claims(&directory, &sub);
    // How the user signed in, kept with the code: the tokens say it (`auth_time`, `amr`, `acr`)
    // and policies see it (`auth.*`).
    let signed_in = record
        .data
        .get("auth")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut extra = without_auth_claims(claims.as_object().cloned().unwrap_or_default());
    extra.extend(signed_in.clone());
    let request = Request {
        user: Some(engine_user(&directory, &sub)),
        claims: Some(claims.clone()),
        auth: engine_auth(&signed_in, params.now),
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
            extra,
            refresh: Refresh::Start {
                family: Some(record.family),
            },
            issued_token_type: None,
        },
    )
    .await
}
