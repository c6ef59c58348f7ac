//! Issuing an Identity Assertion JWT Authorization Grant (ID-JAG) by token exchange: this server
//! as the enterprise identity provider of the MCP enterprise-managed authorization profile
//! (draft-ietf-oauth-identity-assertion-authz-grant -04 section 4.3 as the profile cites it).
//!
//! A client presents its own access token for a user (`subject_token`), names the authorization
//! server it wants an ID-JAG for (`audience`, one of `idJagAudiences`) and the resource there
//! (`resource`, one of that server's configured resources), and gets a short JWT typed
//! `oauth-id-jag+jwt`: `iss` this server, `sub` the user, `aud` that authorization server,
//! `client_id` the client, `resource`, and the scopes the token-exchange policies give on that
//! resource. No refresh token. The other server then exchanges it at its token endpoint as a JWT
//! bearer assertion.

use serde_json::{Value, json};
use tollgate_engine::{GrantType, Request};

use crate::audit::Event;
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;
use crate::oauth::issue::TokenResponse;
use crate::oauth::own_tokens::verify_own_token;
use crate::oauth::params::{Params, split_scope};
use crate::oauth::policy_input::{
    SignInCan, decide_with_step_up, engine_auth, engine_request, engine_user,
};
use crate::oauth::secrets::random_id;
use crate::oauth::state::Core;
use crate::oauth::token_claims::{AUTH_CLAIMS, custom_claims, subject_of};
use crate::oauth::urn::{ACCESS_TOKEN_TYPE, ID_JAG_TOKEN_TYPE, JWT_TOKEN_TYPE};

/// How long an ID-JAG lives (seconds): long enough to be presented at once, no longer.
const ID_JAG_TTL: i64 = 300;

pub(super) async fn issue_id_jag(
    core: &Core,
    params: &Params,
    client: &AuthenticatedClient,
) -> Result<TokenResponse, OAuthError> {
    let subject_token = params.require("subject_token")?;
    let subject_type = params.require("subject_token_type")?;
    if subject_type != ACCESS_TOKEN_TYPE && subject_type != JWT_TOKEN_TYPE {
        return Err(OAuthError::invalid_request(format!(
            "unsupported `subject_token_type` `{subject_type}` for an ID-JAG: send this server's \
             access token for the user"
        )));
    }
    let subject = verify_own_token(core, subject_token, params.now)
        .await
        .map_err(|why| {
            OAuthError::invalid_grant(format!("the subject token is not valid: {why}"))
        })?;
    // The subject token must be the requesting client's own, and about a user.
    let text = |key: &str| subject.get(key).and_then(Value::as_str).unwrap_or_default();
    if text("client_id") != client.config.client_id {
        return Err(OAuthError::invalid_grant(
            "an ID-JAG is issued only for the client's own token",
        ));
    }
    let sub = text("sub").to_owned();
    if sub.is_empty() || sub == client.config.client_id {
        return Err(OAuthError::invalid_grant(
            "an ID-JAG is about a user: the subject token has none",
        ));
    }
    let audience = params.require("audience")?;
    let server = core
        .id_jag_audiences
        .iter()
        .find(|a| a.issuer == audience)
        .ok_or_else(|| {
            OAuthError::invalid_target(format!("this server issues no ID-JAG for `{audience}`"))
        })?;
    let directory = core.directory();
    let allowed: Vec<&crate::directory::ResourceInfo> = server
        .resources
        .iter()
        .filter_map(|id| directory.resources.get(id))
        .collect();
    // `audience` names the authorization server here; only `resource` names the resource.
    let named: Vec<&str> = params.resources.iter().map(String::as_str).collect();
    let resource = match named.as_slice() {
        [one] => allowed
            .iter()
            .find(|r| r.audience == *one || r.id == *one)
            .copied()
            .ok_or_else(|| {
                OAuthError::invalid_target(format!(
                    "`{one}` is not a resource of `{audience}` this server issues ID-JAGs for"
                ))
            })?,
        [] => match allowed.as_slice() {
            [only] => only,
            _ => {
                return Err(OAuthError::invalid_target(
                    "name the resource at that authorization server with `resource`",
                ));
            }
        },
        _ => return Err(OAuthError::invalid_target("name one resource per request")),
    };
    let claims = custom_claims(&subject);
    let request = Request {
        user: Some(engine_user(&directory, &sub)),
        claims: Some(Value::Object(claims.clone())),
        subject: Some(subject_of(&subject)),
        auth: engine_auth(&claims, params.now),
        ..engine_request(
            GrantType::TokenExchange,
            client,
            resource,
            split_scope(params.get("scope")),
            params,
        )
    };
    let can = SignInCan::of(core, Some(&sub)).await;
    let decision = decide_with_step_up(core, &request, &client.config.client_id, params, can)?;
    let scope = decision
        .granted
        .iter()
        .map(|s| s.as_ref())
        .collect::<Vec<&str>>()
        .join(" ");
    let jti = random_id();
    let mut body = serde_json::Map::new();
    for (k, v) in [
        ("iss", json!(core.issuer)),
        ("sub", json!(sub)),
        ("aud", json!(server.issuer)),
        ("client_id", json!(client.config.client_id)),
        ("jti", json!(jti)),
        ("iat", json!(params.now)),
        ("exp", json!(params.now.saturating_add(ID_JAG_TTL))),
        ("resource", json!(resource.audience)),
        ("scope", json!(scope)),
    ] {
        body.insert(k.to_owned(), v);
    }
    // How the user signed in, as the subject token says it (this server wrote it).
    for name in AUTH_CLAIMS {
        if let Some(v) = claims.get(name) {
            body.insert(name.to_owned(), v.clone());
        }
    }
    let id_jag = core
        .keys()
        .sign("oauth-id-jag+jwt", &Value::Object(body))
        .map_err(|e| {
            tracing::error!(error = %e, "signing failed");
            OAuthError::server_error()
        })?;
    core.audit.record(Event::TokenIssued {
        client_id: client.config.client_id.clone(),
        sub,
        grant_type: GrantType::TokenExchange.as_str(),
        audience: server.issuer.clone(),
        scope: scope.clone(),
        jti,
        act: None,
    });
    Ok(TokenResponse {
        access_token: id_jag,
        token_type: "N_A".into(),
        expires_in: Some(ID_JAG_TTL),
        scope: Some(scope),
        issued_token_type: Some(ID_JAG_TOKEN_TYPE),
        refresh_token: None,
    })
}
