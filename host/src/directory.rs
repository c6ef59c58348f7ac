//! The in-memory view of the store's entities that every request reads: clients, users and
//! resources by id and audience. It is rebuilt from the store after every change (admin writes
//! are rare; token requests are not), and swapped atomically.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{ClientConfig, ProviderConfig, UserConfig};
use crate::store::{Kind, Store, StoreError};

/// A resource as the token endpoint needs it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ResourceInfo {
    /// Its id (the engine target).
    pub id: String,
    /// Its audience URI (RFC 8707 `resource`, the token's `aud`).
    pub audience: String,
    /// The scopes it defines.
    pub scopes: Vec<String>,
}

/// A connection as the token endpoint needs it.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// Its id (the engine target; the `resource` or `audience` that names it).
    pub id: String,
    /// `oauth`, `api_key` or `certificate`.
    pub kind: String,
    /// The scopes it defines (oauth).
    pub scopes: Vec<String>,
    /// Where its tokens are refreshed (oauth).
    pub provider: Option<ProviderConfig>,
}

/// A consistent snapshot of the entities.
#[derive(Debug, Default)]
pub struct Directory {
    /// Clients by id.
    pub clients: HashMap<String, ClientConfig>,
    /// Users by `sub`.
    pub users: HashMap<String, UserConfig>,
    /// Resources by id.
    pub resources: HashMap<String, ResourceInfo>,
    /// Resource ids by audience.
    pub audiences: HashMap<String, String>,
    /// Connections by id.
    pub connections: HashMap<String, ConnectionInfo>,
    /// Hashed client secrets by client id (argon2id PHC strings).
    pub client_secrets: HashMap<String, String>,
    /// The policy document assembled from the store.
    pub document: Value,
    /// The document as published at `/policies/bundle`, made on first request.
    bundle: std::sync::OnceLock<Bundle>,
    /// The document compiled natively, for reach ([`Directory::policy_set`]), made on first
    /// request.
    policy_set: std::sync::OnceLock<Result<std::sync::Arc<tollgate_engine::PolicySet>, String>>,
}

/// The policy document as text with its ETag (a hash of the text).
#[derive(Debug)]
pub struct Bundle {
    /// The JSON text.
    pub text: axum::body::Bytes,
    /// A strong ETag, quoted.
    pub etag: String,
}

impl Directory {
    /// The published form of this snapshot's document: serialized and hashed once per snapshot
    /// (snapshots are replaced, never changed), however often edge filters poll.
    pub fn bundle(&self) -> &Bundle {
        self.bundle.get_or_init(|| {
            let text = self.document.to_string();
            let etag = format!(
                "\"{}\"",
                Sha256::digest(text.as_bytes())
                    .iter()
                    .take(8)
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            );
            Bundle {
                text: text.into(),
                etag,
            }
        })
    }

    /// This snapshot with one client added or replaced (a registration): no store round trip
    /// and no policy reload.
    pub fn with_client(&self, client: ClientConfig, secret_hash: Option<String>) -> Directory {
        let mut clients = self.clients.clone();
        let mut client_secrets = self.client_secrets.clone();
        match secret_hash {
            Some(hash) => {
                client_secrets.insert(client.client_id.clone(), hash);
            }
            None => {
                client_secrets.remove(&client.client_id);
            }
        }
        clients.insert(client.client_id.clone(), client);
        Directory {
            clients,
            users: self.users.clone(),
            resources: self.resources.clone(),
            audiences: self.audiences.clone(),
            connections: self.connections.clone(),
            client_secrets,
            document: self.document.clone(),
            bundle: std::sync::OnceLock::new(),
            // The document is the same: so is its compiled form, when it was made.
            policy_set: self.policy_set.clone(),
        }
    }

    /// This snapshot's document compiled by the engine built into the server, whichever engine
    /// decides tokens: reach questions ([`crate::admin::reach`]) need the policy set itself, not
    /// one decision. Compiled once per snapshot, on first use; an error only if the document no
    /// longer loads (the deciding engine accepted it, so a bug).
    pub fn policy_set(&self) -> Result<&tollgate_engine::PolicySet, &str> {
        self.policy_set
            .get_or_init(|| {
                tollgate_engine::PolicySet::from_value(self.document.clone())
                    .map(std::sync::Arc::new)
                    .map_err(|e| {
                        let errors: Vec<String> =
                            e.errors().iter().map(ToString::to_string).collect();
                        errors.join("; ")
                    })
            })
            .as_ref()
            .map(|set| &**set)
            .map_err(String::as_str)
    }

    /// Reads every entity from the store.
    pub async fn load(store: &dyn Store) -> Result<Directory, StoreError> {
        let mut d = Directory::default();
        let unreadable = |kind, id: &str, e: serde_json::Error| StoreError::Entity {
            kind,
            id: id.to_owned(),
            why: e.to_string(),
        };
        for (id, body, _) in store.list_entities(Kind::Client).await? {
            let client: ClientConfig =
                serde_json::from_value(body).map_err(|e| unreadable("client", &id, e))?;
            if let Some(hash) = store.get_secret(Kind::Client, &id).await? {
                d.client_secrets.insert(id.clone(), hash);
            }
            d.clients.insert(id, client);
        }
        for (id, body, _) in store.list_entities(Kind::User).await? {
            let user = serde_json::from_value(body).map_err(|e| unreadable("user", &id, e))?;
            d.users.insert(id, user);
        }
        let resources: Vec<Value> = store
            .list_entities(Kind::Resource)
            .await?
            .into_iter()
            .map(|(_, b, _)| b)
            .collect();
        for r in &resources {
            let (Some(id), Some(audience)) = (
                r.get("id").and_then(Value::as_str),
                r.get("audience").and_then(Value::as_str),
            ) else {
                continue;
            };
            d.audiences.insert(audience.to_owned(), id.to_owned());
            d.resources.insert(
                id.to_owned(),
                ResourceInfo {
                    id: id.to_owned(),
                    audience: audience.to_owned(),
                    scopes: scopes_of(r),
                },
            );
        }
        let mut connections = Vec::new();
        for (id, body, _) in store.list_entities(Kind::Connection).await? {
            let declared = body.get("provider").is_some_and(|p| !p.is_null());
            let (document, provider) = connection_document(body);
            if declared && provider.is_none() {
                tracing::warn!(
                    connection = %id,
                    "the stored provider of this connection cannot be read: the connection has no provider (no connect flow, no refresh) until it is replaced through the admin API"
                );
            }
            d.connections.insert(
                id.clone(),
                ConnectionInfo {
                    kind: document
                        .get("kind")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    scopes: scopes_of(&document),
                    provider,
                    id,
                },
            );
            connections.push(document);
        }
        let policies: Vec<Value> = store
            .list_entities(Kind::Policy)
            .await?
            .into_iter()
            .map(|(_, b, _)| b)
            .collect();
        d.document = document(resources, connections, policies);
        Ok(d)
    }

    /// Finds a resource by id or audience.
    pub fn resource(&self, id_or_audience: &str) -> Option<&ResourceInfo> {
        self.resources.get(id_or_audience).or_else(|| {
            self.audiences
                .get(id_or_audience)
                .and_then(|id| self.resources.get(id))
        })
    }
}

/// The `scopes` a resource or connection entry defines (none when absent).
fn scopes_of(entry: &Value) -> Vec<String> {
    entry
        .get("scopes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Splits a stored connection into its policy-document entry and its provider.
pub fn connection_document(mut body: Value) -> (Value, Option<ProviderConfig>) {
    let provider = body
        .as_object_mut()
        .and_then(|o| o.remove("provider"))
        .and_then(|p| serde_json::from_value(p).ok());
    (body, provider)
}

/// The policy document for the engine.
pub fn document(resources: Vec<Value>, connections: Vec<Value>, policies: Vec<Value>) -> Value {
    serde_json::json!({ "version": 1, "resources": resources, "connections": connections, "policies": policies })
}

/// Hashes a secret or password with argon2id (a PHC string with its own salt).
pub fn hash_secret(secret: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2::Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
}

/// Whether `secret` matches an argon2id PHC string, paying the full argon2 cost.
pub fn verify_argon2(hash: &str, secret: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            argon2::Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// The hash of a random secret nobody knows: unknown clients and users are checked against it, so
/// the answer time does not tell which ids exist.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let mut bytes = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        hash_secret(&base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            bytes,
        ))
        .unwrap_or_default()
    })
}

/// Verifies secrets against argon2id hashes. A verified secret's SHA-256 is remembered per hash,
/// so later requests with the same secret compare digests in constant time instead of paying
/// argon2 again; a secret that does not match the remembered digest pays the full argon2 cost
/// (no short-cut to "no"). The memory holds digests only, never a secret. argon2 runs on the
/// blocking pool, at most one per core at a time, never on the async workers.
#[derive(Debug)]
pub struct SecretVerifier {
    verified: Mutex<HashMap<String, [u8; 32]>>,
    hashing: Arc<tokio::sync::Semaphore>,
}

impl Default for SecretVerifier {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        SecretVerifier {
            verified: Mutex::new(HashMap::new()),
            hashing: Arc::new(tokio::sync::Semaphore::new(cores)),
        }
    }
}

impl SecretVerifier {
    fn remembered(&self, hash: &str, digest: &[u8; 32]) -> bool {
        self.verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(hash)
            .is_some_and(|known| bool::from(known.ct_eq(digest)))
    }

    fn remember(&self, hash: &str, digest: [u8; 32]) {
        let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        if verified.len() >= 100_000 {
            verified.clear();
        }
        verified.insert(hash.to_owned(), digest);
    }

    /// Whether `secret` matches `hash`, on the calling thread (start-up).
    pub fn verify(&self, hash: &str, secret: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        if self.remembered(hash, &digest) {
            return true;
        }
        let ok = verify_argon2(hash, secret);
        if ok {
            self.remember(hash, digest);
        }
        ok
    }

    /// Whether `secret` matches `hash` (`None`: an unknown principal, checked against the decoy
    /// at the same cost and always false), with argon2 off the async workers.
    pub async fn verify_async(&self, hash: Option<&str>, secret: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        if let Some(hash) = hash
            && self.remembered(hash, &digest)
        {
            return true;
        }
        let ok = self
            .argon2(hash.unwrap_or_else(|| decoy_hash()), secret)
            .await
            && hash.is_some();
        if ok && let Some(hash) = hash {
            self.remember(hash, digest);
        }
        ok
    }

    /// argon2 on the blocking pool, behind the semaphore sized to the cores.
    pub async fn argon2(&self, hash: &str, secret: &str) -> bool {
        let Ok(permit) = Arc::clone(&self.hashing).acquire_owned().await else {
            return false;
        };
        let hash = hash.to_owned();
        let secret = zeroize::Zeroizing::new(secret.to_owned());
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            verify_argon2(&hash, &secret)
        })
        .await
        .unwrap_or(false)
    }
}

/// Shared, swappable directory.
pub type SharedDirectory = Arc<std::sync::RwLock<Arc<Directory>>>;

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, reason = "test code")]

    use super::*;
    use crate::store::{Source, SqliteStore};

    /// An entity an older version stored but this one cannot read stops the load with its kind,
    /// id and what is wrong, instead of serde's bare message.
    #[tokio::test]
    async fn an_unreadable_stored_client_is_named() {
        let dir = std::env::temp_dir().join(format!("tollgate-directory-{}", std::process::id()));
        let store = SqliteStore::open(&format!("sqlite://{}/t.db", dir.display()))
            .await
            .expect("store");
        let client = serde_json::json!({ "clientId": "old", "status": "suspended" });
        store
            .put_entity(Kind::Client, "old", &client, Source::Admin)
            .await
            .expect("stored");
        let message = Directory::load(&store)
            .await
            .expect_err("refused")
            .to_string();
        assert!(
            message.starts_with("the stored client `old` cannot be read"),
            "{message}"
        );
        assert!(message.contains("`suspended`"), "{message}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
