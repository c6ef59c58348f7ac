//! Token exchange for a connection: the policy decides, the subject token picks the credential
//! (a user's own, or a tenant's), and the credential is handed out, audited either way.

use serde_json::{Map, Value};
use tollgate_engine::{Actor, GrantType, Request, Target, User};

use super::provider::{ProviderError, provider_token, refresh_lock};
use crate::audit::Event;
use crate::directory::{ConnectionInfo, Directory};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;
use crate::oauth::issue::TokenResponse;
use crate::oauth::params::{Params, split_scope};
use crate::oauth::policy_input::{SignInCan, context, decide_raw, engine_auth, engine_client};
use crate::oauth::state::Core;
use crate::oauth::urn::{ACCESS_TOKEN_TYPE, API_KEY_TOKEN_TYPE, CERTIFICATE_TOKEN_TYPE};
use crate::vault::{Credential, Owner, SecretKind};

/// The party a connection token is asked for, from the verified subject token.
#[derive(Debug)]
pub struct Subject {
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
pub async fn exchange(
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
        // Not a kind any connection holds (`for_connection` never answers it).
        SecretKind::SecondFactor => {
            return Err(OAuthError::invalid_target(format!(
                "connection `{}` holds no credentials",
                connection.id
            )));
        }
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
        auth: subject
            .user
            .as_ref()
            .and_then(|_| engine_auth(&subject.claims, params.now)),
        target: Target::Connection(connection.id.clone()),
        requested_scopes: requested,
        consented_scopes: None,
        context: Some(context(params)),
        explain: false,
    };
    let decision = decide_raw(core, &request, &client.config.client_id)?;
    if !decision.permitted && !decision.step_up.is_empty() {
        let missing: Vec<&str> = decision
            .scopes
            .iter()
            .filter(|s| s.reason == Some(tollgate_engine::Reason::NotAllowed))
            .map(|s| &*s.scope)
            .collect();
        let can = SignInCan::of(core, subject.user.as_ref().map(|_| subject.sub.as_str())).await;
        if let Some(needs) = decision.step_up_for(&missing, |s| can.reaches(s)) {
            return Err(OAuthError::insufficient_user_authentication(
                format!(
                    "connection `{}` needs a more recent or stronger sign-in of the user",
                    connection.id
                ),
                needs.levels,
                needs.max_age,
            ));
        }
    }
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
    // A refresh at the provider spends the stored refresh token (providers rotate them): one
    // server at a time, across every server sharing the store.
    let _everywhere = if secret_kind == SecretKind::RefreshToken {
        Some(
            core.store
                .lock(&format!("credential {} {owner}", connection.id))
                .await?,
        )
    } else {
        None
    };
    let credential = vault
        .get(&connection.id, &owner)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, connection = %connection.id, "cannot open a vaulted credential");
            OAuthError::from(e)
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
        SecretKind::SecondFactor => Err(OAuthError::server_error()),
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
                        OAuthError::from(e)
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
