//! Storage behind a trait: SQLite by default (one file, created on first start, migrations
//! embedded); a PostgreSQL implementation joins behind the same trait.

mod sqlite;

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

pub use sqlite::SqliteStore;

/// A store failure.
#[derive(Debug, Error)]
#[error("store: {0}")]
pub struct StoreError(pub String);

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError(e.to_string())
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError(format!("corrupt JSON: {e}"))
    }
}

/// A boxed future of a store result (keeps the trait object-safe).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// What kind of entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// OAuth clients.
    Client,
    /// Users.
    User,
    /// Resources (APIs, MCP servers).
    Resource,
    /// Connections.
    Connection,
    /// Policies.
    Policy,
}

impl Kind {
    /// The kind's name in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Client => "client",
            Kind::User => "user",
            Kind::Resource => "resource",
            Kind::Connection => "connection",
            Kind::Policy => "policy",
        }
    }
}

/// Who declared an entity or credential: the configuration file owns what it declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The configuration file.
    Config,
    /// The admin API.
    Admin,
    /// A user's connect flow (credentials only).
    Connect,
}

impl Source {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Source::Config => "config",
            Source::Admin => "admin",
            Source::Connect => "connect",
        }
    }

    pub(crate) fn from_name(name: &str) -> Source {
        match name {
            "config" => Source::Config,
            "connect" => Source::Connect,
            _ => Source::Admin,
        }
    }
}

/// A sealed connection credential (see [`crate::vault`]); the store never sees it in clear.
#[derive(Debug, Clone)]
pub struct CredentialRecord {
    /// The connection.
    pub connection_id: String,
    /// `user:<sub>`, `tenant:<id>` or `provider`.
    pub owner: String,
    /// `refresh_token`, `api_key`, `certificate` or `client_secret`.
    pub kind: String,
    /// The id of the vault key that sealed it.
    pub key_id: String,
    /// The AES-GCM nonce.
    pub nonce: Vec<u8>,
    /// The sealed secret.
    pub ciphertext: Vec<u8>,
    /// For refresh tokens: the scopes the provider granted.
    pub scope: Option<String>,
    /// Who put it there.
    pub source: Source,
    /// Unix seconds.
    pub updated_at: i64,
}

/// A signing key.
#[derive(Debug, Clone)]
pub struct StoredKey {
    /// Key id.
    pub kid: String,
    /// `ES256`, `RS256` or `EdDSA`.
    pub alg: String,
    /// The private key: PKCS#8 PEM, or the PEM sealed with the vault key
    /// (`vault:v1:<key id>:<base64 of nonce and ciphertext>`, see [`crate::vault`]).
    pub private_pem: String,
    /// The public JWK (JSON).
    pub public_jwk: Value,
    /// Unix seconds.
    pub created_at: i64,
    /// When it stopped signing (unix seconds); `None` while active.
    pub retired_at: Option<i64>,
}

/// An issued access or refresh token, without the token itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    /// The access token's `jti`, or the SHA-256 (hex) of a refresh token.
    pub id: String,
    /// `access` or `refresh`.
    pub kind: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The user, when one is present.
    pub sub: Option<String>,
    /// The refresh family (the first refresh token's id; the access token's own id otherwise).
    pub family: String,
    /// The grant that started the session (engine name).
    pub grant_type: String,
    /// The engine target (JSON).
    pub target: Value,
    /// Space-separated scopes.
    pub scope: String,
    /// Claims and actor carried to refreshed tokens (JSON).
    pub data: Value,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// A rotated refresh token.
    pub used: bool,
    /// Revoked.
    pub revoked: bool,
}

/// An audit event as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Sequence number.
    pub seq: i64,
    /// Unix seconds.
    pub at: i64,
    /// Event name.
    pub event: String,
    /// The event (JSON).
    pub body: Value,
}

/// The operations the server needs from its store.
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Creates or replaces an entity.
    fn put_entity<'a>(
        &'a self,
        kind: Kind,
        id: &'a str,
        body: &'a Value,
        source: Source,
    ) -> StoreFuture<'a, ()>;
    /// Reads an entity.
    fn get_entity<'a>(
        &'a self,
        kind: Kind,
        id: &'a str,
    ) -> StoreFuture<'a, Option<(Value, Source)>>;
    /// Every entity of a kind, ordered by id.
    fn list_entities(&self, kind: Kind) -> StoreFuture<'_, Vec<(String, Value, Source)>>;
    /// Deletes an entity (and its secret); whether it existed.
    fn delete_entity<'a>(&'a self, kind: Kind, id: &'a str) -> StoreFuture<'a, bool>;
    /// Deletes the config-declared entities of a kind that the configuration no longer declares.
    fn prune_config<'a>(&'a self, kind: Kind, keep: &'a [String]) -> StoreFuture<'a, u64>;

    /// Stores a secret hash.
    fn put_secret<'a>(&'a self, kind: Kind, id: &'a str, hash: &'a str) -> StoreFuture<'a, ()>;
    /// Reads a secret hash.
    fn get_secret<'a>(&'a self, kind: Kind, id: &'a str) -> StoreFuture<'a, Option<String>>;

    /// Every signing key, newest first.
    fn keys(&self) -> StoreFuture<'_, Vec<StoredKey>>;
    /// Adds a key and retires every other active key at `key.created_at`.
    fn rotate_in(&self, key: StoredKey) -> StoreFuture<'_, ()>;
    /// Deletes keys retired before `before` (their tokens have expired).
    fn drop_keys_retired_before(&self, before: i64) -> StoreFuture<'_, u64>;

    /// Records an issued token.
    fn insert_token<'a>(&'a self, token: &'a TokenRecord) -> StoreFuture<'a, ()>;
    /// Reads a token record.
    fn get_token<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<TokenRecord>>;
    /// Marks a refresh token used; false when it already was (a replay).
    fn use_token<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool>;
    /// Revokes one token; whether it existed.
    fn revoke_token<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool>;
    /// Revokes every token of a refresh family; returns their ids and expiry times.
    fn revoke_family<'a>(&'a self, family: &'a str) -> StoreFuture<'a, Vec<(String, i64)>>;
    /// The ids and expiry times of revoked tokens that have not expired yet.
    fn revoked_tokens(&self, now: i64) -> StoreFuture<'_, Vec<(String, i64)>>;

    /// Records an assertion id; false when it was seen before and has not expired.
    fn use_assertion_id<'a>(
        &'a self,
        issuer: &'a str,
        jti: &'a str,
        expires_at: i64,
        now: i64,
    ) -> StoreFuture<'a, bool>;

    /// Appends an audit event (its body as JSON text).
    fn append_audit<'a>(&'a self, at: i64, event: &'a str, body: &'a str) -> StoreFuture<'a, i64>;
    /// Appends several audit events (bodies as JSON text) in one transaction.
    fn append_audit_batch<'a>(
        &'a self,
        events: &'a [(i64, &'a str, String)],
    ) -> StoreFuture<'a, ()>;
    /// Audit events after `after`, oldest first, at most `limit`.
    fn audit_since(&self, after: i64, limit: i64) -> StoreFuture<'_, Vec<AuditRecord>>;

    /// Creates or replaces a sealed credential.
    fn put_credential<'a>(&'a self, record: &'a CredentialRecord) -> StoreFuture<'a, ()>;
    /// Reads a sealed credential.
    fn get_credential<'a>(
        &'a self,
        connection: &'a str,
        owner: &'a str,
    ) -> StoreFuture<'a, Option<CredentialRecord>>;
    /// Every sealed credential, ordered by connection and owner.
    fn list_credentials(&self) -> StoreFuture<'_, Vec<CredentialRecord>>;
    /// Deletes a credential; whether it existed.
    fn delete_credential<'a>(
        &'a self,
        connection: &'a str,
        owner: &'a str,
    ) -> StoreFuture<'a, bool>;
    /// Replaces the sealed values of these credentials, the private parts of these signing keys
    /// (`(kid, private)`) and writes the meta values, in one transaction (vault key rotation, and
    /// sealing signing keys stored before a vault key was configured).
    fn rekey_vault<'a>(
        &'a self,
        records: &'a [CredentialRecord],
        keys: &'a [(String, String)],
        meta: &'a [(&'a str, &'a str)],
    ) -> StoreFuture<'a, ()>;

    /// Reads a meta value.
    fn get_meta<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<String>>;
    /// Writes a meta value.
    fn put_meta<'a>(&'a self, key: &'a str, value: &'a str) -> StoreFuture<'a, ()>;
}
