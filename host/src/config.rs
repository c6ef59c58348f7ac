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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VaultSettings {
    /// A file holding the key as base64; generated (mode 0600) on first start when the vault is
    /// empty.
    #[serde(default)]
    pub key_file: Option<std::path::PathBuf>,
}

/// Client registration beyond the configuration file. Both are off by default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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

/// An OAuth connection's provider: where Tollgate refreshes the vaulted tokens and where users
/// connect their accounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderConfig {
    /// The provider's token endpoint.
    pub token_endpoint: String,
    /// The provider's authorization endpoint (the connect flow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// The provider's issuer identifier: when set, an authorization response naming another
    /// issuer (RFC 9207 `iss`) is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Tollgate's client id at the provider.
    pub client_id: String,
    /// Tollgate's client secret at the provider: a literal (development) or `env:VAR`. Sealed in
    /// the vault; never returned.
    #[serde(default, skip_serializing)]
    pub client_secret: Option<String>,
    /// `client_secret_basic` (default) or `client_secret_post`.
    #[serde(default = "default_provider_auth")]
    pub token_endpoint_auth_method: String,
    /// Scopes asked for in the connect flow beyond the connection's own (e.g. `offline_access`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_scopes: Vec<String>,
    /// Extra authorization request parameters (e.g. `prompt: consent`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub authorization_params: BTreeMap<String, String>,
}

fn default_provider_auth() -> String {
    "client_secret_basic".into()
}

/// A credential the configuration file puts in the vault: exactly one owner (`user` or `tenant`)
/// and the one secret the connection's kind holds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialConfig {
    /// The user (`sub`) it belongs to.
    #[serde(default)]
    pub user: Option<String>,
    /// The tenant it belongs to (autonomous agents).
    #[serde(default)]
    pub tenant: Option<String>,
    /// `api_key` connections: the key (literal or `env:VAR`).
    #[serde(default)]
    pub api_key: Option<String>,
    /// `certificate` connections: PEM or service-account JSON (literal or `env:VAR`).
    #[serde(default)]
    pub certificate: Option<String>,
    /// `certificate` connections: a file holding it.
    #[serde(default)]
    pub certificate_file: Option<std::path::PathBuf>,
    /// `oauth` connections: a provider refresh token (literal or `env:VAR`).
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// `oauth` connections: the scopes that refresh token holds (space-separated).
    #[serde(default)]
    pub scope: Option<String>,
}

/// The secrets are wiped from memory with the credential.
impl Drop for CredentialConfig {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        self.api_key.zeroize();
        self.certificate.zeroize();
        self.refresh_token.zeroize();
    }
}

impl CredentialConfig {
    /// The secret as written (before `env:` resolution) and what it is; `certificateFile` is
    /// read by whoever loads the file.
    pub fn secret_field(&self) -> Option<(crate::vault::SecretKind, &str)> {
        use crate::vault::SecretKind;
        [
            (SecretKind::ApiKey, &self.api_key),
            (SecretKind::Certificate, &self.certificate),
            (SecretKind::RefreshToken, &self.refresh_token),
        ]
        .into_iter()
        .find_map(|(kind, value)| value.as_deref().map(|v| (kind, v)))
    }
}

/// The vault part of a configured connection.
#[derive(Debug, Clone, Default)]
pub struct ConnectionVault {
    /// The connection id.
    pub id: String,
    /// Its kind: `oauth`, `api_key` or `certificate`.
    pub kind: String,
    /// The provider (oauth).
    pub provider: Option<ProviderConfig>,
    /// Credentials declared in the file.
    pub credentials: Vec<CredentialConfig>,
}

/// Splits a connection as written in the configuration or sent to the admin API into what the
/// policy document holds and what the vault holds. Every problem is reported with its path.
pub fn split_connection(
    value: &Value,
    path: &str,
) -> Result<(Value, ConnectionVault), Vec<String>> {
    let mut errors = Vec::new();
    let mut document = value.clone();
    let mut vault = ConnectionVault {
        id: value
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        kind: value
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        ..ConnectionVault::default()
    };
    if let Some(object) = document.as_object_mut() {
        if let Some(provider) = object.remove("provider") {
            match serde_json::from_value::<ProviderConfig>(provider) {
                Ok(p) if vault.kind == "oauth" => vault.provider = Some(p),
                Ok(_) => errors.push(format!(
                    "{path}.provider: only `oauth` connections have a provider"
                )),
                Err(e) => errors.push(format!("{path}.provider: {e}")),
            }
        }
        if let Some(credentials) = object.remove("credentials") {
            match serde_json::from_value::<Vec<CredentialConfig>>(credentials) {
                Ok(list) => {
                    for (i, c) in list.iter().enumerate() {
                        if let Err(why) = check_credential(c, &vault.kind) {
                            errors.push(format!("{path}.credentials[{i}]: {why}"));
                        }
                    }
                    vault.credentials = list;
                }
                Err(e) => errors.push(format!("{path}.credentials: {e}")),
            }
        }
    }
    if errors.is_empty() {
        Ok((document, vault))
    } else {
        Err(errors)
    }
}

/// A connection as the store keeps it: its policy-document entry plus its provider (whose
/// `clientSecret` never serializes), without its credentials; and the vault part beside it.
pub fn stored_connection(
    value: &Value,
    path: &str,
) -> Result<(Value, ConnectionVault), Vec<String>> {
    let (mut document, vault) = split_connection(value, path)?;
    if let (Some(object), Some(provider)) = (document.as_object_mut(), &vault.provider) {
        let provider =
            serde_json::to_value(provider).map_err(|e| vec![format!("{path}.provider: {e}")])?;
        object.insert("provider".into(), provider);
    }
    Ok((document, vault))
}

/// Checks one credential against its connection's kind.
pub fn check_credential(c: &CredentialConfig, kind: &str) -> Result<(), String> {
    match (&c.user, &c.tenant) {
        (Some(_), None) | (None, Some(_)) => {}
        _ => return Err("name exactly one owner: `user` or `tenant`".into()),
    }
    let given: Vec<&str> = [
        ("apiKey", c.api_key.is_some()),
        ("certificate", c.certificate.is_some()),
        ("certificateFile", c.certificate_file.is_some()),
        ("refreshToken", c.refresh_token.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, present)| present.then_some(name))
    .collect();
    let expected: &[&str] = match kind {
        "api_key" => &["apiKey"],
        "certificate" => &["certificate", "certificateFile"],
        "oauth" => &["refreshToken"],
        _ => return Err(format!("a `{kind}` connection cannot hold credentials")),
    };
    match given.as_slice() {
        [one] if expected.contains(one) => Ok(()),
        _ => Err(format!(
            "a `{kind}` connection's credential is one of: {}",
            expected.join(", ")
        )),
    }
    .and_then(|()| {
        if c.scope.is_some() && kind != "oauth" {
            Err("`scope` belongs to `oauth` credentials only".into())
        } else {
            Ok(())
        }
    })
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
            signing_algorithm: default_alg(),
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
    /// The tenant this client acts for when no user is present: an autonomous agent's token
    /// exchanged for a connection gets that tenant's credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// The resources (ids) this client is the resource server for: it may exchange and introspect
    /// tokens whose audience is one of theirs. A client may always exchange and introspect its own
    /// tokens; no other client's without this.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serves: Vec<String>,
}

/// The grant types a public client (`none`: no secret, no key) may use: RFC 6749 §4.4 keeps client
/// credentials to confidential clients, and a token exchange or assertion by a client that proves
/// nothing about itself would let anyone holding a token or an assertion use it.
pub const PUBLIC_CLIENT_GRANTS: [&str; 2] = ["authorization_code", "refresh_token"];

/// The grant type names a client may list.
pub const GRANT_TYPE_NAMES: [&str; 5] = [
    "client_credentials",
    "authorization_code",
    "token_exchange",
    "jwt_bearer",
    "refresh_token",
];

impl ClientConfig {
    /// Whether the client authenticates with nothing but its id.
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == "none"
    }

    /// Every problem with this client, each with its path below `path` (`clients[2]`).
    pub fn problems(&self, path: &str) -> Vec<String> {
        let mut problems = Vec::new();
        if self.client_id.is_empty() {
            problems.push(format!("{path}.clientId: must not be empty"));
        }
        if ![
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ]
        .contains(&self.token_endpoint_auth_method.as_str())
        {
            problems.push(format!(
                "{path}.tokenEndpointAuthMethod: `{}` is not one of client_secret_basic, client_secret_post, private_key_jwt, none",
                self.token_endpoint_auth_method
            ));
        }
        for (i, grant) in self.grant_types.iter().enumerate() {
            if !GRANT_TYPE_NAMES.contains(&grant.as_str()) {
                problems.push(format!(
                    "{path}.grantTypes[{i}]: unknown grant type `{grant}`; use {}",
                    GRANT_TYPE_NAMES.join(", ")
                ));
            } else if self.is_public() && !PUBLIC_CLIENT_GRANTS.contains(&grant.as_str()) {
                problems.push(format!(
                    "{path}.grantTypes[{i}]: a public client (`tokenEndpointAuthMethod: none`) may use only authorization_code and refresh_token, not `{grant}`"
                ));
            }
        }
        problems
    }
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
