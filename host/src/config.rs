//! The server configuration file (DESIGN.md, "Server configuration"): the policy document plus the
//! server's own sections. What the file declares is the source of truth for what it declares; the
//! admin API manages the rest.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

/// Why the configuration could not be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid configuration.
    #[error("`{path}` is not a valid configuration: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A secret names an environment variable that is not set.
    #[error("the secret of {what} names the environment variable `{var}`, which is not set")]
    MissingEnv {
        /// Whose secret.
        what: String,
        /// The variable.
        var: String,
    },
}

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerConfig {
    /// The issuer identifier (RFC 8414): the `iss` of every token.
    pub issuer: String,
    /// Where to listen.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The store: `sqlite://path` (created on first start).
    #[serde(default = "default_store")]
    pub store: String,
    /// Token lifetimes and signing.
    #[serde(default)]
    pub tokens: TokenSettings,
    /// Issuers whose JWTs the JWT bearer grant accepts (RFC 7523 §2.1).
    #[serde(default)]
    pub trusted_issuers: Vec<TrustedIssuer>,
    /// Where the audit log streams as JSON lines: `stdout`, a file path, or absent for the store only.
    #[serde(default)]
    pub audit_log: Option<String>,
    /// The policy document's version (1).
    #[serde(default = "default_version")]
    pub version: u64,
    /// OAuth clients.
    #[serde(default)]
    pub clients: Vec<ClientConfig>,
    /// Users.
    #[serde(default)]
    pub users: Vec<UserConfig>,
    /// Resources, as in the policy document.
    #[serde(default)]
    pub resources: Vec<Value>,
    /// Connections, as in the policy document.
    #[serde(default)]
    pub connections: Vec<Value>,
    /// Policies, as in the policy document.
    #[serde(default)]
    pub policies: Vec<Value>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_store() -> String {
    "sqlite://data/tollgate.db".into()
}

fn default_version() -> u64 {
    1
}

/// Token lifetimes and the signing algorithm.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenSettings {
    /// Access token lifetime in seconds.
    #[serde(default = "default_access_ttl")]
    pub access_token_ttl: u64,
    /// Refresh token lifetime in seconds.
    #[serde(default = "default_refresh_ttl")]
    pub refresh_token_ttl: u64,
    /// `ES256` (default), `RS256` or `EdDSA`.
    #[serde(default = "default_alg")]
    pub signing_algorithm: String,
}

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            access_token_ttl: default_access_ttl(),
            refresh_token_ttl: default_refresh_ttl(),
            signing_algorithm: default_alg(),
        }
    }
}

fn default_access_ttl() -> u64 {
    600
}
fn default_refresh_ttl() -> u64 {
    86_400
}
fn default_alg() -> String {
    "ES256".into()
}

/// An issuer trusted for the JWT bearer grant.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrustedIssuer {
    /// Its `iss`.
    pub issuer: String,
    /// Its public keys (a JWK Set).
    pub jwks: Value,
    /// The audience its assertions must carry; default: this server's issuer and token endpoint.
    #[serde(default)]
    pub audience: Option<String>,
}

/// An OAuth client as configured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientConfig {
    /// The client id.
    pub client_id: String,
    /// Display name (`client.name`).
    #[serde(default)]
    pub name: Option<String>,
    /// The secret: a literal (development) or `env:VAR`. Stored hashed; never returned.
    #[serde(default, skip_serializing)]
    pub secret: Option<String>,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none`.
    #[serde(default = "default_auth_method")]
    pub token_endpoint_auth_method: String,
    /// Grant types: `client_credentials`, `authorization_code`, `token_exchange`, `jwt_bearer`,
    /// `refresh_token`.
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// `client.tags`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// `static`, `dcr` or `cimd`.
    #[serde(default = "default_registration")]
    pub registration_type: String,
    /// `verified` or `unverified`.
    #[serde(default = "default_status")]
    pub status: String,
    /// The scopes the client may receive, per target id.
    #[serde(default)]
    pub allowed_scopes: BTreeMap<String, Vec<String>>,
    /// Redirect URIs (authorization code).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Public keys for `private_key_jwt` (a JWK Set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
}

fn default_auth_method() -> String {
    "client_secret_basic".into()
}
fn default_registration() -> String {
    "static".into()
}
fn default_status() -> String {
    "verified".into()
}

/// A user as configured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserConfig {
    /// Subject identifier.
    pub sub: String,
    /// Login name.
    #[serde(default)]
    pub username: Option<String>,
    /// Password: a literal (development) or `env:VAR`. Stored hashed; never returned.
    #[serde(default, skip_serializing)]
    pub password: Option<String>,
    /// `user.roles`.
    #[serde(default)]
    pub roles: Vec<String>,
    /// `user.tenantIds`.
    #[serde(default)]
    pub tenant_ids: Vec<String>,
    /// `user.permissions`.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Extra claims for `jwtClaims.*`.
    #[serde(default)]
    pub claims: serde_json::Map<String, Value>,
}

impl ServerConfig {
    /// Reads a YAML or JSON configuration file.
    pub fn from_file(path: &Path) -> Result<ServerConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        ServerConfig::from_text(&text).map_err(|message| ConfigError::Invalid {
            path: path.display().to_string(),
            message,
        })
    }

    /// Parses a YAML or JSON configuration.
    pub fn from_text(text: &str) -> Result<ServerConfig, String> {
        serde_norway::from_str(text).map_err(|e| e.to_string())
    }

    /// The policy-document part of the configuration.
    pub fn document(&self) -> Value {
        serde_json::json!({
            "version": self.version,
            "resources": self.resources,
            "connections": self.connections,
            "policies": self.policies,
        })
    }
}

/// Resolves a configured secret: `env:VAR` reads the environment, anything else is the literal.
pub fn resolve_secret(value: &str, what: &str) -> Result<String, ConfigError> {
    match value.strip_prefix("env:") {
        Some(var) => std::env::var(var).map_err(|_| ConfigError::MissingEnv {
            what: what.to_owned(),
            var: var.to_owned(),
        }),
        None => Ok(value.to_owned()),
    }
}
