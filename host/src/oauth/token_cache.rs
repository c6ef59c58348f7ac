//! The caches that keep checking this server's own tokens cheap: tokens verified already, and
//! the revoked set.

use serde_json::Value;

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
/// costs no store round trip. Every revocation goes through the revocation endpoint and
/// [`Core::revoke_family`], which write the store first and then this set; it is loaded from the
/// store at start, and other servers' revocations are added as they are announced
/// ([`crate::oauth::replica`]).
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
    pub(super) fn get(&self, digest: &[u8; 32]) -> Option<std::sync::Arc<Value>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(digest)
            .map(|(_, claims)| std::sync::Arc::clone(claims))
    }

    pub(super) fn put(&self, digest: [u8; 32], exp: i64, claims: std::sync::Arc<Value>, now: i64) {
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
