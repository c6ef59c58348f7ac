//! What the store holds: entities by kind and source, signing keys, tokens, vault credentials and
//! the audit trail.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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

/// An audit event as the store appends it: its name, whom it concerns (the columns the audit
/// search filters on) and its body as JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditRecord<'a> {
    /// Unix seconds.
    pub at: i64,
    /// Event name.
    pub event: &'a str,
    /// The client it concerns.
    pub client_id: Option<&'a str>,
    /// The user it concerns.
    pub sub: Option<&'a str>,
    /// The entity an admin change changed (`policy:<id>`, …).
    pub entity: Option<String>,
    /// The event (JSON text).
    pub body: String,
}

/// Which audit events to read, newest first (oldest first with `oldest_first`). Every field
/// given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Events concerning this client.
    pub client_id: Option<String>,
    /// Events concerning this user.
    pub sub: Option<String>,
    /// Events changing this entity (`policy:<id>`, …).
    pub entity: Option<String>,
    /// Events of this name.
    pub event: Option<String>,
    /// At or after this time (unix seconds).
    pub from: Option<i64>,
    /// At or before this time (unix seconds).
    pub to: Option<i64>,
    /// With a sequence number above this.
    pub after: Option<i64>,
    /// With a sequence number below this.
    pub before: Option<i64>,
    /// Oldest first (a tail reading on from `after`), instead of newest first.
    pub oldest_first: bool,
}

/// What a change touched. Each topic has a store-wide version, bumped in the change's own
/// transaction, that replicas compare to know what to read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Clients, users, resources, connections, policies and their secrets.
    Entities,
    /// Signing keys.
    Keys,
    /// Revoked tokens.
    Revocations,
    /// Vault credentials.
    Credentials,
}

impl Topic {
    /// The topic's name in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Entities => "entities",
            Topic::Keys => "keys",
            Topic::Revocations => "revocations",
            Topic::Credentials => "credentials",
        }
    }
}

/// The store-wide version of each topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Versions {
    /// Entities (the policy-set version in decisions and audit events).
    pub entities: i64,
    /// Signing keys.
    pub keys: i64,
    /// Revocations.
    pub revocations: i64,
    /// Vault credentials.
    pub credentials: i64,
}

impl Versions {
    /// Sets a topic's version read from the store (unknown topics are ignored).
    pub(crate) fn set(&mut self, topic: &str, version: i64) {
        match topic {
            "entities" => self.entities = version,
            "keys" => self.keys = version,
            "revocations" => self.revocations = version,
            "credentials" => self.credentials = version,
            _ => {}
        }
    }
}

/// What kind of flow under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowKind {
    /// A browser session (by the SHA-256 of its cookie).
    Session,
    /// An authorization request waiting for its user.
    Request,
    /// A connect flow waiting for the user's browser.
    Connect,
    /// A console session (by the SHA-256 of its cookie).
    Console,
}

impl FlowKind {
    /// The kind's name in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            FlowKind::Session => "session",
            FlowKind::Request => "request",
            FlowKind::Connect => "connect",
            FlowKind::Console => "console",
        }
    }
}

/// A browser session, authorization request or connect flow under way, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRecord {
    /// What it is.
    pub kind: FlowKind,
    /// A session: the SHA-256 of its cookie; otherwise its random id.
    pub id: String,
    /// The user it is bounded for (connect flows).
    pub owner: Option<String>,
    /// The flow (JSON text; secrets in it sealed).
    pub body: String,
    /// Whether it may give way when its kind is full (anonymous sessions, requests).
    pub evictable: bool,
    /// Unix seconds.
    pub expires_at: i64,
}
