//! Token exchange (RFC 8693): a client presents a token of this server (the subject, and maybe an
//! actor) for a token on another resource, or for a vaulted connection credential. Who may
//! present whose token, and who may act, is decided here; what is granted, by the policies.

use serde_json::{Map, Value, json};
use tollgate_engine::{Actor, GrantType, Request};

use super::allowed::require_grant;
use crate::config::GrantTypeName;
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::connections;
use crate::oauth::error::OAuthError;
use crate::oauth::issue::{Issue, Refresh, TokenResponse, issue};
use crate::oauth::own_tokens::verify_own_token;
use crate::oauth::params::{Params, split_scope};
use crate::oauth::policy_input::SignInCan;
use crate::oauth::policy_input::{decide_with_step_up, engine_auth, engine_request, engine_user};
use crate::oauth::state::Core;
use crate::oauth::targets::{named_connection, resolve_resource};
use crate::oauth::token_claims::{
    audiences, connection_claims, custom_claims, entitled_to, may_act_allows, party_of, subject_of,
};
use crate::oauth::urn::{ACCESS_TOKEN_TYPE, ID_JAG_TOKEN_TYPE, JWT_TOKEN_TYPE};

pub(super) async fn grant(
    core: &Core,
    params: &Params,
    client: &AuthenticatedClient,
) -> Result<TokenResponse, OAuthError> {
    require_grant(client, GrantTypeName::TokenExchange)?;
    let subject_token = params.require("subject_token")?;
    let subject_type = params.require("subject_token_type")?;
    if subject_type != ACCESS_TOKEN_TYPE && subject_type != JWT_TOKEN_TYPE {
        return Err(OAuthError::invalid_request(format!(
            "unsupported `subject_token_type` `{subject_type}`"
        )));
    }
    // An ID-JAG for another authorization server: the identity provider's side.
    if params.get("requested_token_type") == Some(ID_JAG_TOKEN_TYPE) {
        return super::id_jag::issue_id_jag(core, params, client).await;
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
    // How the subject token's user signed in (its `auth_time`, `amr`, `acr`), carried on.
    let auth = user.as_ref().and_then(|_| engine_auth(&claims, params.now));
    let request = Request {
        user,
        claims: Some(Value::Object(claims.clone())),
        actor: Some(actor.clone()),
        subject: Some(subject_view),
        auth,
        ..engine_request(
            GrantType::TokenExchange,
            client,
            resource,
            requested,
            params,
        )
    };
    let can = SignInCan::of(core, request.user.as_ref().map(|_| subject_sub.as_str())).await;
    let decision = decide_with_step_up(core, &request, &client.config.client_id, params, can)?;
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
