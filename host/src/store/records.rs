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
