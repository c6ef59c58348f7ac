//! The server configuration file (DESIGN.md, "Server configuration"): the policy document plus the
//! server's own sections. What the file declares is the source of truth for what it declares; the
//! admin API manages the rest.

mod client;
mod connection;

use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

pub use client::{
    ClientConfig, ClientStatus, GrantTypeName, PUBLIC_CLIENT_GRANTS, RegistrationType,
    SigningAlgorithm, TokenEndpointAuthMethod, UserConfig,
};
pub use connection::{
    ConnectionVault, CredentialConfig, CredentialError, ProviderAuthMethod, ProviderConfig,
    check_credential, split_connection, stored_connection,
};

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
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a configuration (a mapping)"
)]
pub struct ServerConfig {
    /// The issuer identifier (RFC 8414): the `iss` of every token.
    pub issuer: String,
    /// Where to listen.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The store: `sqlite://path` (created on first start), or `postgres://user@host/database`
    /// for several servers sharing one database (its schema is migrated at start).
    #[serde(default = "default_store")]
    pub store: String,
    /// Token lifetimes and signing.
    #[serde(default)]
    pub tokens: TokenSettings,
    /// Issuers whose JWTs the JWT bearer grant accepts (RFC 7523 §2.1).
    #[serde(default)]
    pub trusted_issuers: Vec<TrustedIssuer>,
    /// Authorization servers this server issues ID-JAGs for (as an enterprise identity provider,
    /// by token exchange with `requested_token_type` `urn:ietf:params:oauth:token-type:id-jag`).
    #[serde(default)]
    pub id_jag_audiences: Vec<IdJagAudience>,
    /// Where the audit log streams as JSON lines: `stdout`, a file path, or absent for the store only.
    #[serde(default)]
    pub audit_log: Option<String>,
    /// The vault of connection credentials.
    #[serde(default)]
    pub vault: VaultSettings,
    /// Serve the current policy document at `GET /policies/bundle` (with an ETag) for edge
    /// filters and JS runtimes. Anyone who reaches the server can read it: enable it where only
    /// your enforcement points can.
    #[serde(default)]
    pub publish_policy_bundle: bool,
    /// How clients unknown to the configuration may register: dynamic registration (RFC 7591)
    /// and client ID metadata documents.
    #[serde(default)]
    pub registration: RegistrationSettings,
    /// Browser sessions of signed-in users (the authorization endpoint's login).
    #[serde(default)]
    pub login: LoginSettings,
    /// Who may use the console (`/console`), by user `sub`, and its sessions.
    #[serde(default)]
    pub console: ConsoleSettings,
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
    /// Connections, as in the policy document, plus what the vault needs: `provider` (oauth) and
    /// `credentials` (see [`ConnectionVault`]).
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

/// Where the vault key comes from: `TOLLGATE_VAULT_KEY` (base64 of 32 bytes) wins over the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "vault settings (a mapping)"
)]
pub struct VaultSettings {
    /// A file holding the key as base64; generated (mode 0600) on first start when the vault is
    /// empty.
    #[serde(default)]
    pub key_file: Option<std::path::PathBuf>,
}

/// Client registration beyond the configuration file. Both are off by default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "registration settings (a mapping)"
)]
pub struct RegistrationSettings {
    /// Open dynamic client registration (RFC 7591) at `/register`, with RFC 7592 management.
    /// New clients are `registrationType: dcr` and `status: unverified` until an admin verifies
    /// them.
    #[serde(default)]
    pub dynamic: bool,
    /// Client ID metadata documents: an `https` URL as `client_id`, whose JSON document this
    /// server fetches (`registrationType: cimd`, `status: unverified`).
    #[serde(default)]
    pub metadata_documents: bool,
    /// Testing only: metadata documents may be fetched over `http` and from loopback, private
    /// and other special-use addresses (RFC 6890), which are otherwise refused.
    #[serde(default)]
    pub allow_local_metadata_documents: bool,
    /// RFC 7591 §3: when set (a literal or `env:VAR`), `/register` requires this bearer token
    /// (an initial access token) and registration is closed to everyone else.
    #[serde(default, skip_serializing)]
    pub initial_access_token: Option<String>,
    /// Registrations one address may make per hour (counted by each server process).
    #[serde(default = "default_registrations_per_hour")]
    pub registrations_per_hour: u32,
    /// Unverified dynamically registered clients kept at most; beyond, registration is refused
    /// until an administrator verifies or removes some.
    #[serde(default = "default_max_unverified")]
    pub max_unverified: usize,
}

fn default_registrations_per_hour() -> u32 {
    20
}
fn default_max_unverified() -> usize {
    1_000
}

/// Browser sessions.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "login settings (a mapping)"
)]
pub struct LoginSettings {
    /// How long a signed-in session lasts, in seconds.
    #[serde(default = "default_session_ttl")]
    pub session_ttl: u64,
}

impl Default for LoginSettings {
    fn default() -> Self {
        LoginSettings {
            session_ttl: default_session_ttl(),
        }
    }
}

fn default_session_ttl() -> u64 {
    8 * 3600
}

/// The console's roles and sessions. Only users named here can sign in to `/console`: an
/// administrator changes things, an auditor reads everything and changes nothing. Roles come
/// from this file only (never the admin API), so that no API caller can grant itself one.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "console settings (a mapping)"
)]
pub struct ConsoleSettings {
    /// Users (`sub`, declared in this file) with the console role `administrator`.
    #[serde(default)]
    pub administrators: Vec<String>,
    /// Users (`sub`, declared in this file) with the console role `auditor`.
    #[serde(default)]
    pub auditors: Vec<String>,
    /// How long a console session lasts, in seconds (60 to 2,592,000).
    #[serde(default = "default_console_session_ttl")]
    pub session_ttl: u64,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        ConsoleSettings {
            administrators: Vec::new(),
            auditors: Vec::new(),
            session_ttl: default_console_session_ttl(),
        }
    }
}

fn default_console_session_ttl() -> u64 {
    4 * 3600
}

/// A console role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsoleRole {
    /// Reads and changes.
    Administrator,
    /// Reads only.
    Auditor,
}

impl ConsoleSettings {
    /// The settings as the server applies them: roles only for users this file declares (a user
    /// the admin API created or could replace gets none, so that the admin token cannot mint a
    /// console administrator; each one dropped is logged), and a session length between a minute
    /// and 30 days.
    pub fn applied(&self, users: &[UserConfig]) -> ConsoleSettings {
        let declared = |sub: &String| {
            let found = users.iter().any(|u| &u.sub == sub);
            if !found {
                tracing::warn!(
                    %sub,
                    "console: a role names a user the configuration file does not declare; ignored"
                );
            }
            found
        };
        ConsoleSettings {
            administrators: self
                .administrators
                .iter()
                .filter(|s| declared(s))
                .cloned()
                .collect(),
            auditors: self
                .auditors
                .iter()
                .filter(|s| declared(s))
                .cloned()
                .collect(),
            session_ttl: self.session_ttl.clamp(60, 30 * 86_400),
        }
    }

    /// The role of user `sub`; administrator wins when the file names someone twice.
    pub fn role_of(&self, sub: &str) -> Option<ConsoleRole> {
        if self.administrators.iter().any(|s| s == sub) {
            Some(ConsoleRole::Administrator)
        } else if self.auditors.iter().any(|s| s == sub) {
            Some(ConsoleRole::Auditor)
        } else {
            None
        }
    }
}

/// Token lifetimes and the signing algorithm.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "token settings (a mapping)"
)]
pub struct TokenSettings {
    /// Access token lifetime in seconds.
    #[serde(default = "default_access_ttl")]
    pub access_token_ttl: u64,
    /// Refresh token lifetime in seconds.
    #[serde(default = "default_refresh_ttl")]
    pub refresh_token_ttl: u64,
    /// The algorithm of new signing keys.
    #[serde(default)]
    pub signing_algorithm: SigningAlgorithm,
    /// The longest an assertion (JWT bearer grant, `private_key_jwt`) may be valid, in seconds:
    /// one whose `exp` lies further ahead is refused (RFC 7523 §3 item 4). Default 300.
    #[serde(default = "default_assertion_lifetime")]
    pub max_assertion_lifetime: u64,
    /// Whether a token exchange issues a refresh token (to a client that may refresh). Off by
    /// default: an exchanged token lives as long as an access token, and a refresh family derived
    /// by exchange ends when its subject token is revoked or expires.
    #[serde(default)]
    pub exchange_refresh_tokens: bool,
}

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            access_token_ttl: default_access_ttl(),
            refresh_token_ttl: default_refresh_ttl(),
            signing_algorithm: SigningAlgorithm::default(),
            max_assertion_lifetime: default_assertion_lifetime(),
            exchange_refresh_tokens: false,
        }
    }
}

fn default_assertion_lifetime() -> u64 {
    300
}

fn default_access_ttl() -> u64 {
    600
}
fn default_refresh_ttl() -> u64 {
    86_400
}

/// An authorization server this server issues ID-JAGs for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "an ID-JAG audience (a mapping with `issuer` and `resources`)"
)]
pub struct IdJagAudience {
    /// Its issuer: the ID-JAG's `aud`, and the `audience` a token exchange names.
    pub issuer: String,
    /// The resources (ids in this configuration, their `audience` the resource's URI at that
    /// server) an ID-JAG for it may name; policies decide the scopes on them.
    pub resources: Vec<String>,
}

/// An issuer trusted for the JWT bearer grant.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a trusted issuer (a mapping)"
)]
pub struct TrustedIssuer {
    /// Its `iss`.
    pub issuer: String,
    /// Its public keys (a JWK Set).
    pub jwks: Value,
    /// The audience its assertions must carry; default: this server's issuer and token endpoint.
    #[serde(default)]
    pub audience: Option<String>,
    /// An enterprise identity provider whose assertions are Identity Assertion JWT Authorization
    /// Grants (ID-JAG, draft-ietf-oauth-identity-assertion-authz-grant, as the MCP
    /// enterprise-managed authorization profile uses it): each must be typed
    /// `oauth-id-jag+jwt`, name this server's issuer as its only audience and the authenticated
    /// client in `client_id`; its `resource` and `scope` bound the token issued.
    #[serde(default)]
    pub id_jag: bool,
}

impl ServerConfig {
    /// Reads a YAML or JSON configuration file.
    pub fn from_file(path: &Path) -> Result<ServerConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        ServerConfig::from_text(&text).map_err(|e| ConfigError::Invalid {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Parses a YAML or JSON configuration. An error names the path of what is wrong and where
    /// (`clients[0]: unknown field `client_id`, expected one of … at line 3 column 5`).
    pub fn from_text(text: &str) -> Result<ServerConfig, serde_norway::Error> {
        serde_norway::from_str(text)
    }

    /// The policy-document part of the configuration (connections without their vault part).
    pub fn document(&self) -> Value {
        let connections: Vec<Value> = self
            .connections
            .iter()
            .enumerate()
            .map(|(i, c)| {
                split_connection(c, &format!("connections[{i}]"))
                    .map(|(doc, _)| doc)
                    .unwrap_or_else(|_| c.clone())
            })
            .collect();
        serde_json::json!({
            "version": self.version,
            "resources": self.resources,
            "connections": connections,
            "policies": self.policies,
        })
    }

    /// The vault part of every configured connection, or every error with its path.
    pub fn connection_vaults(&self) -> Result<Vec<ConnectionVault>, Vec<String>> {
        let mut errors = Vec::new();
        let mut vaults = Vec::new();
        for (i, c) in self.connections.iter().enumerate() {
            match split_connection(c, &format!("connections[{i}]")) {
                Ok((_, v)) => vaults.push(v),
                Err(e) => errors.extend(e),
            }
        }
        if errors.is_empty() {
            Ok(vaults)
        } else {
            Err(errors)
        }
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
