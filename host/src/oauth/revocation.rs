//! Token revocation (RFC 7009).

use serde_json::Value;

use super::client_auth;
use super::error::OAuthError;
use super::own_tokens::verify_own_token;
use super::params::Params;
use super::secrets::token_hash;
use super::state::Core;
use crate::audit::Event;

/// RFC 7009: revokes an access token (by its `jti`) or a refresh token (with its whole family).
/// Unknown or foreign tokens are answered like revoked ones, so the endpoint reveals nothing.
pub async fn revoke(core: &Core, params: &Params) -> Result<(), OAuthError> {
    let client = client_auth::authenticate(core, params).await?;
    let token = params.require("token")?;
    // RFC 7009 §2.1: a hint that does not help is ignored; both kinds are looked up anyway.
    if let Ok(claims) = verify_own_token(core, token, params.now).await {
        if claims.get("client_id").and_then(Value::as_str) != Some(client.config.client_id.as_str())
        {
            return Ok(());
        }
        let jti = claims
            .get("jti")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .unwrap_or(params.now);
        match core.store.get_token(jti).await.map_err(OAuthError::from)? {
            Some(_) => {
                core.store
                    .revoke_token(jti)
                    .await
                    .map_err(OAuthError::from)?;
            }
            None => {
                let record = crate::store::TokenRecord {
                    id: jti.to_owned(),
                    kind: "access".into(),
                    client_id: client.config.client_id.clone(),
                    sub: claims.get("sub").and_then(Value::as_str).map(str::to_owned),
                    family: jti.to_owned(),
                    grant_type: String::new(),
                    target: Value::Null,
                    scope: claims
                        .get("scope")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    data: Value::Null,
                    issued_at: claims
                        .get("iat")
                        .and_then(Value::as_i64)
                        .unwrap_or(params.now),
                    expires_at: exp,
                    used: false,
                    revoked: true,
                };
                // Recorded revoked: always recorded (a revocation, whatever its family).
                let _recorded = core
                    .store
                    .insert_token(&record)
                    .await
                    .map_err(OAuthError::from)?;
            }
        }
        core.revoked.add([(jti.to_owned(), exp)], params.now);
        core.audit.record(Event::TokenRevoked {
            client_id: client.config.client_id.clone(),
            kind: "access",
            id: jti.to_owned(),
        });
        return Ok(());
    }
    let id = token_hash(token);
    if let Some(record) = core.store.get_token(&id).await.map_err(OAuthError::from)?
        && record.kind == "refresh"
        && record.client_id == client.config.client_id
    {
        core.revoke_family(&record.family, params.now)
            .await
            .map_err(OAuthError::from)?;
        core.audit.record(Event::TokenRevoked {
            client_id: client.config.client_id.clone(),
            kind: "refresh",
            id: record.family,
        });
    }
    Ok(())
}
