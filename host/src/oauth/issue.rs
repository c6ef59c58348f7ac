//! Issuing tokens: the access token (an RFC 9068 JWT) and, when the grant allows, a refresh
//! token in its family, both recorded, and the issue audited.

use serde::Serialize;
use serde_json::{Map, Value, json};
use tollgate_engine::GrantType;

use super::client_auth::AuthenticatedClient;
use super::error::OAuthError;
use super::params::Params;
use super::secrets::{random_id, token_hash};
use super::state::Core;
use super::token_claims::SUBJECT_KEY;
use crate::audit::Event;
use crate::config::GrantTypeName;
use crate::directory::ResourceInfo;
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

/// Whether and how a new token comes with a refresh token.
#[derive(Debug)]
pub enum Refresh {
    /// Never (client credentials; an exchange unless `exchangeRefreshTokens`).
    None,
    /// A new family, when the client may refresh.
    Start {
        /// Joins the tokens of the authorization code that started it, so a replayed code
        /// revokes them.
        family: Option<String>,
    },
    /// A family derived by token exchange.
    Derived {
        /// What the family keeps of its subject token (`jti`, `client_id`, `aud`): the family
        /// ends when that `jti` is revoked.
        subject: Value,
        /// The subject token's expiry: the family ends no later.
        until: i64,
    },
    /// A rotation (RFC 9700 §4.14.2: rotation never extends a grant's lifetime).
    Rotate {
        /// The same family.
        family: String,
        /// The same absolute end.
        until: i64,
        /// The subject of a derived family.
        subject: Option<Value>,
    },
}

/// What goes into a new token beyond what the decision grants.
#[derive(Debug)]
pub struct Issue<'a> {
    /// The client it is issued to.
    pub client: &'a AuthenticatedClient,
    /// The resource it is for (`aud`).
    pub resource: &'a ResourceInfo,
    /// The grant that issues it (a refresh: the grant that started the family).
    pub grant: GrantType,
    /// `sub`: the user, or the client itself.
    pub sub: String,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// Extra claims (the subject's claims on exchange, `act`).
    pub extra: Map<String, Value>,
    /// Whether a refresh token comes with it.
    pub refresh: Refresh,
    /// RFC 8693 `issued_token_type`, for an exchange.
    pub issued_token_type: Option<&'static str>,
}

/// Issues the tokens of a granted request.
pub async fn issue(
    core: &Core,
    params: &Params,
    i: Issue<'_>,
) -> Result<TokenResponse, OAuthError> {
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
        .contains(&GrantTypeName::RefreshToken);
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
        record_token(core, &record).await?;
        // The access token joins the family, so revoking the family revokes it too.
        let access = TokenRecord {
            id: jti.clone(),
            kind: "access".into(),
            expires_at: access_exp,
            data: Value::Null,
            ..record
        };
        record_token(core, &access).await?;
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
        record_token(core, &access).await?;
    }
    core.audit.record(Event::TokenIssued {
        client_id: i.client.config.client_id.clone(),
        sub: i.sub.clone(),
        grant_type: i.grant.as_str(),
        audience: i.resource.audience.clone(),
        scope: scope.clone(),
        jti,
        act: i.extra.get("act").cloned().map(Box::new),
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

/// Records an issued token. A token whose family was revoked first (the code or refresh token it
/// comes from was replayed meanwhile, perhaps at another server) is not issued.
async fn record_token(core: &Core, token: &TokenRecord) -> Result<(), OAuthError> {
    if core.store.insert_token(token).await? {
        Ok(())
    } else {
        Err(OAuthError::invalid_grant(
            "the grant was used again while this request was answered; everything it issued is revoked",
        ))
    }
}
