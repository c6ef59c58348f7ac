//! Token introspection (RFC 7662).

use serde_json::{Value, json};

use super::client_auth;
use super::error::OAuthError;
use super::own_tokens::verify_own_token;
use super::params::Params;
use super::secrets::token_hash;
use super::state::Core;
use super::token_claims::entitled_to;
use crate::config::TokenEndpointAuthMethod;

/// RFC 7662: the caller must authenticate; an unknown, expired or revoked token is `active: false`,
/// and so is every token the caller is not entitled to (RFC 7662 §4): an access token is described
/// only to its own client or to a client that serves its audience, a refresh token only to its
/// own client.
pub async fn introspect(core: &Core, params: &Params) -> Result<Value, OAuthError> {
    let client = client_auth::authenticate(core, params).await?;
    if client.method == TokenEndpointAuthMethod::None {
        return Err(OAuthError::invalid_client(
            "introspection needs an authenticated client",
        ));
    }
    let token = params.require("token")?;
    if let Ok(claims) = verify_own_token(core, token, params.now).await {
        if !entitled_to(&core.directory(), &client.config, &claims) {
            return Ok(json!({ "active": false }));
        }
        let mut out = json!({ "active": true, "token_type": "Bearer" });
        if let (Value::Object(out), Value::Object(claims)) = (&mut out, claims) {
            out.extend(claims);
        }
        return Ok(out);
    }
    let record = core
        .store
        .get_token(&token_hash(token))
        .await
        .map_err(OAuthError::from)?;
    Ok(match record {
        Some(r)
            if r.kind == "refresh"
                && r.client_id == client.config.client_id
                && !r.revoked
                && !r.used
                && r.expires_at > params.now
                && client.config.honours_token_issued_at(r.issued_at) =>
        {
            json!({
                "active": true,
                "token_type": "refresh_token",
                "client_id": r.client_id,
                "sub": r.sub,
                "scope": r.scope,
                "iat": r.issued_at,
                "exp": r.expires_at,
                "iss": core.issuer,
            })
        }
        _ => json!({ "active": false }),
    })
}
