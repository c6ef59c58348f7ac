//! Refresh (RFC 6749 §6, RFC 9700 §4.14): rotation, reuse detection, and policies applied again.

use serde_json::Value;
use tollgate_engine::{GrantType, Request};

use super::allowed::require_grant;
use super::single_use::{SingleUse, find, take};
use crate::config::GrantTypeName;
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;
use crate::oauth::issue::{Issue, Refresh, TokenResponse, issue};
use crate::oauth::params::{Params, split_scope};
use crate::oauth::policy_input::SignInCan;
use crate::oauth::policy_input::{decide_with_step_up, engine_auth, engine_request, engine_user};
use crate::oauth::state::Core;
use crate::oauth::token_claims::{SUBJECT_KEY, party_of, subject_of};

/// Refresh (RFC 6749 §6): rotated; a reused token revokes its family; re-evaluated against
/// today's policies under the grant that started the session; never wider than before; never
/// past the family's absolute end; a family derived by exchange ends with its subject token.
pub(super) async fn grant(
    core: &Core,
    params: &Params,
    client: &AuthenticatedClient,
) -> Result<TokenResponse, OAuthError> {
    require_grant(client, GrantTypeName::RefreshToken)?;
    let token = params.require("refresh_token")?;
    // Found now, used once the decision is made: a refusal (a scope that needs a fresher sign-in,
    // a policy that no longer gives anything) leaves the refresh token usable, so the client can
    // ask again for less. A replay is caught by `find`, and a race by `take`.
    let record = find(core, params, client, token, SingleUse::Refresh).await?;
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
                .map_err(OAuthError::from)?;
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
    // The session's sign-in, as old as it now is: a policy that wants a recent one stops giving
    // its scopes, and the client hears `insufficient_user_authentication`.
    let auth = user_present
        .then(|| engine_auth(&extra, params.now))
        .flatten();
    let actor = extra.get("act").map(party_of);
    let subject = derived_from.as_ref().map(subject_of);
    let mut claims = extra.clone();
    claims.remove("act");
    let request = Request {
        user,
        claims: Some(Value::Object(claims)),
        actor,
        subject,
        auth,
        ..engine_request(grant, client, resource, Some(requested), params)
    };
    let can = SignInCan::of(core, user_present.then_some(sub.as_str())).await;
    let decision = decide_with_step_up(core, &request, &client.config.client_id, params, can)?;
    let record = take(core, params, record, SingleUse::Refresh).await?;
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
