//! A bounded cache of verified tokens, so that a token seen before costs a hash and a lookup
//! instead of a signature check.
//!
//! Entries are keyed by the token itself, hashed with FxHash and compared in full, as Envoy's own
//! `jwt_authn` cache does: a SHA-256 of every token (~600 bytes) cost about 3 µs per request in
//! wasm, a quarter of the filter's warm path. Only verified tokens are inserted, so flooding the
//! table with colliding keys takes valid tokens. Entries expire with the token. One cache per Envoy worker: workers share nothing per request, and a
//! cross-worker cache would cost a host call and a copy on every lookup. The cache is emptied
//! whenever the signing keys change, so a token signed by a key that was withdrawn stops working
//! at once.

use std::collections::HashMap;
use std::rc::Rc;

use rustc_hash::FxBuildHasher;
use tollgate_engine::Request;

use crate::identity::Identity;
use crate::jwt::Verified;

/// A verified token, and what the live policy check builds from it once.
#[derive(Debug)]
pub struct Entry {
    /// The token's checked claims.
    pub verified: Verified,
    /// Who the token is from, as the upstream learns it: built once, shared by every request
    /// that presents the token.
    pub identity: Rc<Identity>,
    /// The engine request built from the claims (built on the first policy check, then only its
    /// target, requested scopes and context change per request).
    pub request: Option<Request>,
}

impl Entry {
    /// An entry for a token just verified.
    pub fn new(verified: Verified) -> Entry {
        Entry {
            identity: Rc::new(Identity::of(&verified)),
            verified,
            request: None,
        }
    }
}

/// The verified-token cache of one worker.
#[derive(Debug)]
pub struct TokenCache {
    entries: HashMap<Box<str>, Entry, FxBuildHasher>,
    capacity: usize,
}

impl TokenCache {
    /// A cache holding at most `capacity` tokens; 0 turns caching off.
    pub fn new(capacity: usize) -> TokenCache {
        TokenCache {
            entries: HashMap::default(),
            capacity,
        }
    }

    /// How many tokens are cached.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no token is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The live entry for a token, if cached. An expired entry is dropped.
    pub fn get_mut(&mut self, token: &str, now: i64, skew: u64) -> Option<&mut Entry> {
        let live = self.entries.get(token)?.verified.is_live(now, skew);
        if !live {
            self.entries.remove(token);
            return None;
        }
        self.entries.get_mut(token)
    }

    /// Caches a verified token. Returns the entry back when caching is off. When the cache is
    /// full, expired entries go first, then an arbitrary one.
    pub fn insert(
        &mut self,
        token: &str,
        entry: Entry,
        now: i64,
        skew: u64,
    ) -> Result<&mut Entry, Box<Entry>> {
        if self.capacity == 0 {
            return Err(Box::new(entry));
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(token) {
            self.entries.retain(|_, e| e.verified.is_live(now, skew));
            if self.entries.len() >= self.capacity
                && let Some(victim) = self.entries.keys().next().cloned()
            {
                self.entries.remove(&victim);
            }
        }
        Ok(self
            .entries
            .entry(token.into())
            .insert_entry(entry)
            .into_mut())
    }

    /// Forgets every token (the signing keys changed).
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;

    fn entry(exp: i64) -> Entry {
        Entry::new(Verified {
            exp,
            sub: None,
            client_id: None,
            scopes: Vec::new(),
            claims: Map::new(),
        })
    }

    #[test]
    fn entries_expire_with_the_token() {
        let mut cache = TokenCache::new(8);
        assert!(cache.insert("t", entry(100), 0, 10).is_ok());
        assert!(cache.get_mut("t", 50, 10).is_some());
        assert!(cache.get_mut("t", 109, 10).is_some(), "leeway");
        assert!(cache.get_mut("t", 110, 10).is_none());
        assert!(cache.is_empty(), "expired entries are dropped");
    }

    #[test]
    fn bounded() {
        let mut cache = TokenCache::new(3);
        for i in 0..10 {
            assert!(cache.insert(&i.to_string(), entry(100), 0, 0).is_ok());
            assert!(cache.len() <= 3);
        }
        assert!(cache.get_mut("9", 0, 0).is_some(), "the newest stays");
    }

    #[test]
    fn expired_entries_are_evicted_first() {
        let mut cache = TokenCache::new(2);
        assert!(cache.insert("old", entry(10), 0, 0).is_ok());
        assert!(cache.insert("live", entry(100), 0, 0).is_ok());
        assert!(cache.insert("new", entry(100), 50, 0).is_ok());
        assert!(cache.get_mut("live", 50, 0).is_some());
        assert!(cache.get_mut("new", 50, 0).is_some());
    }

    #[test]
    fn capacity_zero_caches_nothing() {
        let mut cache = TokenCache::new(0);
        assert!(cache.insert("t", entry(100), 0, 0).is_err());
        assert!(cache.is_empty());
    }

    #[test]
    fn clear() {
        let mut cache = TokenCache::new(2);
        assert!(cache.insert("t", entry(100), 0, 0).is_ok());
        cache.clear();
        assert!(cache.get_mut("t", 0, 0).is_none());
    }
}
