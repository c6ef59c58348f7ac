//! Verifying this server's own access tokens (token exchange, introspection, revocation), with
//! the caches that keep it cheap: tokens verified already, and the revoked set.

use serde_json::Value;

use super::state::Core;
use crate::jwt::JwtError;

/// Verifies an access token this server issued: signature by one of its published keys, `iss`,
/// `exp`, and not revoked. Returns its claims.
pub async fn verify_own_token(core: &Core, token: &str, now: i64) -> Result<Value, JwtError> {
    use sha2::{Digest, Sha256};
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let claims = match core.verified_tokens.get(&digest) {
        Some(claims) => claims,
        None => {
            let claims = std::sync::Arc::new(verify_signed(core, token)?);
            let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(now);
            core.verified_tokens
                .put(digest, exp, std::sync::Arc::clone(&claims), now);
            claims
        }
    };
    if claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_none_or(|exp| exp <= now)
    {
        return Err(JwtError::Expired);
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if core.revoked.contains(jti) {
        return Err(JwtError::Revoked);
    }
    // A disabled client's tokens, and those it held when it was last disabled, are inactive; so
    // are a deleted client's (a client known by its metadata document is in no directory).
    if let Some(client_id) = claims.get("client_id").and_then(Value::as_str) {
        match core.directory().clients.get(client_id) {
            Some(client) => {
                let issued_at = claims
                    .get("iat")
                    .and_then(Value::as_i64)
                    .unwrap_or(i64::MIN);
                if !client.honours_token_issued_at(issued_at) {
                    return Err(JwtError::Revoked);
                }
            }
            None if !super::cimd::MetadataDocuments::looks_like_url(client_id) => {
                return Err(JwtError::Revoked);
            }
            None => {}
        }
    }
    Ok(Value::clone(&claims))
}

/// What does not change for a token: signed by one of this server's keys, an access token, this
/// issuer, `sub` and `jti` present.
fn verify_signed(core: &Core, token: &str) -> Result<Value, JwtError> {
    let (header, claims) = core.keys().verify_signature(token)?;
    if header
        .typ
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("at+jwt"))
    {
        return Err(JwtError::NotAnAccessToken);
    }
    if claims.get("iss").and_then(Value::as_str) != Some(core.issuer.as_str()) {
        return Err(JwtError::Issuer);
    }
    for required in ["sub", "jti"] {
        if !claims.get(required).is_some_and(Value::is_string) {
            return Err(JwtError::MissingClaim(required.to_owned()));
        }
    }
    Ok(claims)
}
