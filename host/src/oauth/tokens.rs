//! This server's own tokens: verification (for token exchange), introspection (RFC 7662) and
//! revocation (RFC 7009).

use serde_json::{Value, json};

use super::client_auth;
use super::grants::token_hash;
use super::{Core, OAuthError, Params};
use crate::audit::Event;

/// Tokens whose signature, type, issuer and required claims were verified already, by the
/// SHA-256 of the token. What made them valid cannot change for the same text; expiry and
/// revocation can, and are checked on every use. An MCP server exchanging the same user token for
/// several downstream calls pays for one ECDSA verification, not one per call.
#[derive(Debug, Default)]
pub struct VerifiedTokens {
    entries: std::sync::Mutex<std::collections::HashMap<TokenDigest, Verified>>,
}

/// The SHA-256 of a token.
type TokenDigest = [u8; 32];
/// A verified token's expiry and claims.
type Verified = (i64, std::sync::Arc<Value>);

/// The ids of revoked tokens until they expire, kept beside the store so that checking a token
/// costs no store round trip. Every revocation goes through [`Core::revoke_token`] and
/// [`Core::revoke_family`], which write the store first and then this set; it is loaded from the
/// store at start. (Several servers sharing one database would need to hear of each other's
/// revocations; the SQLite store is one process's.)
#[derive(Debug, Default)]
pub struct Revoked {
    ids: std::sync::RwLock<std::collections::HashMap<String, i64>>,
}

impl Revoked {
    /// Whether `id` was revoked.
    pub fn contains(&self, id: &str) -> bool {
        self.ids
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(id)
    }

    /// Adds revoked ids (with their expiry), dropping expired ones.
    pub fn add(&self, revoked: impl IntoIterator<Item = (String, i64)>, now: i64) {
        let mut ids = self
            .ids
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        ids.retain(|_, exp| *exp > now);
        ids.extend(revoked);
    }
}

/// Verified tokens remembered at most.
const MAX_VERIFIED: usize = 10_000;

impl VerifiedTokens {
    fn get(&self, digest: &[u8; 32]) -> Option<std::sync::Arc<Value>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(digest)
            .map(|(_, claims)| std::sync::Arc::clone(claims))
    }

    fn put(&self, digest: [u8; 32], exp: i64, claims: std::sync::Arc<Value>, now: i64) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= MAX_VERIFIED {
            entries.retain(|_, (exp, _)| *exp > now);
            if entries.len() >= MAX_VERIFIED {
                entries.clear();
            }
        }
        entries.insert(digest, (exp, claims));
    }
}

/// Verifies an access token this server issued: signature by one of its published keys, `iss`,
/// `exp`, and not revoked. Returns its claims.
pub async fn verify_own_token(core: &Core, token: &str, now: i64) -> Result<Value, String> {
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
        return Err("expired".into());
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if core.revoked.contains(jti) {
        return Err("revoked".into());
    }
    Ok(Value::clone(&claims))
}

/// What does not change for a token: signed by one of this server's keys, an access token, this
/// issuer, `sub` and `jti` present.
fn verify_signed(core: &Core, token: &str) -> Result<Value, String> {
    let (header, claims) = core.keys().verify_signature(token)?;
    if header
        .typ
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("at+jwt"))
    {
        return Err("not an access token".into());
    }
    if claims.get("iss").and_then(Value::as_str) != Some(core.issuer.as_str()) {
        return Err("issued by another issuer".into());
    }
    for required in ["sub", "jti"] {
        if !claims.get(required).is_some_and(Value::is_string) {
            return Err(format!("the claim `{required}` is missing"));
        }
    }
    Ok(claims)
}

/// RFC 7662: the caller must authenticate; an unknown, expired or revoked token is `active: false`,
/// and so is every token the caller is not entitled to (RFC 7662 §4): an access token is described
/// only to its own client or to a client that serves its audience, a refresh token only to its
/// own client.
pub async fn introspect(core: &Core, params: &Params) -> Result<Value, OAuthError> {
    let client = client_auth::authenticate(core, params).await?;
    if client.method == "none" {
        return Err(OAuthError::invalid_client(
            "introspection needs an authenticated client",
        ));
    }
    let token = params.require("token")?;
    if let Ok(claims) = verify_own_token(core, token, params.now).await {
        if !super::grants::entitled_to(&core.directory(), &client.config, &claims) {
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
        .map_err(|_| OAuthError::server_error())?;
    Ok(match record {
        Some(r)
            if r.kind == "refresh"
                && r.client_id == client.config.client_id
                && !r.revoked
                && !r.used
                && r.expires_at > params.now =>
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

/// RFC 7009: revokes an access token (by its `jti`) or a refresh token (with its whole family).
/// Unknown or foreign tokens are answered like revoked ones, so the endpoint reveals nothing.
pub async fn revoke(core: &Core, params: &Params) -> Result<(), OAuthError> {
    let client = client_auth::authenticate(core, params).await?;
    let token = params.require("token")?;
    // RFC 7009 §2.1: a hint that does not help is ignored; both kinds are looked up anyway.
    let store_error = |_| OAuthError::server_error();
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
        match core.store.get_token(jti).await.map_err(store_error)? {
            Some(_) => {
                core.store.revoke_token(jti).await.map_err(store_error)?;
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
                core.store
                    .insert_token(&record)
                    .await
                    .map_err(store_error)?;
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
    if let Some(record) = core.store.get_token(&id).await.map_err(store_error)?
        && record.kind == "refresh"
        && record.client_id == client.config.client_id
    {
        core.revoke_family(&record.family, params.now)
            .await
            .map_err(store_error)?;
        core.audit.record(Event::TokenRevoked {
            client_id: client.config.client_id.clone(),
            kind: "refresh",
            id: record.family,
        });
    }
    Ok(())
}
