//! OAuth as plain functions over plain types (house style habit 7): the axum handlers only parse
//! HTTP into a [`Params`] and render what these return.

pub mod authorize;
pub mod cimd;
pub mod client_auth;
mod connections;
mod error;
mod grants;
pub mod registration;
mod tokens;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

pub use client_auth::AuthenticatedClient;
pub use error::OAuthError;
pub use grants::TokenResponse;

use crate::audit::Auditor;
use crate::config::{RegistrationSettings, TrustedIssuer};
use crate::directory::{Directory, SecretVerifier};
use crate::keys::KeyRing;
use crate::policy::PolicyEngine;
use crate::store::Store;
use crate::vault::Vault;

/// The grant type URNs of RFC 8693 and RFC 7523.
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 7523 §2.1.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// RFC 8693 token type of an access token.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// RFC 8693 token type of a JWT.
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
/// RFC 8693 token type of a refresh token.
pub const REFRESH_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:refresh_token";
/// The token type of an API key handed out from the vault.
pub const API_KEY_TOKEN_TYPE: &str = "urn:tollgate:params:oauth:token-type:api_key";
/// The token type of a certificate (PEM, or a service-account JSON) handed out from the vault.
pub const CERTIFICATE_TOKEN_TYPE: &str = "urn:tollgate:params:oauth:token-type:certificate";

/// Everything the OAuth functions work with.
#[derive(Debug)]
pub struct Core {
    /// This server's issuer identifier.
    pub issuer: String,
    /// The store.
    pub store: Arc<dyn Store>,
    /// The entities, as of the last change.
    pub directory: RwLock<Arc<Directory>>,
    /// The signing keys.
    pub keys: RwLock<Arc<KeyRing>>,
    /// The policy engine.
    pub policy: PolicyEngine,
    /// Client secret verification.
    pub secrets: SecretVerifier,
    /// Failed authentications, for backoff.
    pub throttle: crate::throttle::Throttle,
    /// Dynamic registrations per address.
    pub registrations: crate::throttle::RateLimit,
    /// Issuers trusted for the JWT bearer grant.
    pub trusted_issuers: Vec<TrustedIssuer>,
    /// Access token lifetime (seconds).
    pub access_ttl: i64,
    /// Refresh token lifetime (seconds), counted from the grant that started the family.
    pub refresh_ttl: i64,
    /// The longest an assertion may be valid (seconds).
    pub max_assertion_lifetime: i64,
    /// Whether a token exchange issues a refresh token.
    pub exchange_refresh: bool,
    /// The audit trail.
    pub audit: Auditor,
    /// The vault of connection credentials; `None` when no vault key is configured.
    pub vault: Option<Vault>,
    /// The HTTP client for connection providers.
    pub http: reqwest::Client,
    /// Connect flows under way, by `state`.
    pub connects: Mutex<HashMap<String, connections::PendingConnect>>,
    /// One provider refresh at a time per credential (providers rotate refresh tokens).
    pub refresh_locks: Mutex<RefreshLocks>,
    /// Client registration settings.
    pub registration: RegistrationSettings,
    /// Client ID metadata documents: fetching, checking, caching.
    pub metadata_documents: cimd::MetadataDocuments,
    /// Browser sessions and authorization requests under way.
    pub browser: authorize::Browser,
    /// Access tokens whose signature was verified already (token exchange, introspection).
    pub verified_tokens: tokens::VerifiedTokens,
    /// Revoked token ids, as in the store.
    pub revoked: tokens::Revoked,
}

impl Core {
    /// The current directory snapshot.
    pub fn directory(&self) -> Arc<Directory> {
        Arc::clone(
            &self
                .directory
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// The current keys.
    pub fn keys(&self) -> Arc<KeyRing> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The token endpoint URL.
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.issuer.trim_end_matches('/'))
    }

    /// Reads the entities again after a change made outside the admin API (client registration).
    pub async fn reload_directory(&self) -> Result<(), crate::store::StoreError> {
        let fresh = Directory::load(self.store.as_ref()).await?;
        *self
            .directory
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(fresh);
        Ok(())
    }

    /// Revokes every token of a family (a refresh session, or what an authorization code issued),
    /// in the store and then in memory.
    pub async fn revoke_family(
        &self,
        family: &str,
        now: i64,
    ) -> Result<(), crate::store::StoreError> {
        let revoked = self.store.revoke_family(family).await?;
        self.revoked.add(revoked, now);
        Ok(())
    }

    /// Where connection providers send users back to in the connect flow.
    pub fn connect_redirect_uri(&self) -> String {
        format!("{}/connections/callback", self.issuer.trim_end_matches('/'))
    }
}

/// One lock per (connection, owner) whose provider token is being refreshed.
pub type RefreshLocks = HashMap<(String, String), Arc<tokio::sync::Mutex<()>>>;

/// The longest parameter value accepted (a token, an assertion, a URL), in bytes.
pub const MAX_PARAM_BYTES: usize = 16 * 1024;
/// The most scopes one request may name.
pub const MAX_SCOPES: usize = 64;
/// The longest scope name, in bytes.
pub const MAX_SCOPE_BYTES: usize = 256;
/// The most `resource` parameters one request may carry.
pub const MAX_RESOURCES: usize = 8;

/// Checks a `scope` value against the bounds (RFC 6749 §3.3 leaves them to the server), so no
/// request can make the policy engine or the store do unbounded work.
pub fn check_scope_bounds(scope: &str) -> Result<(), OAuthError> {
    let mut count = 0usize;
    for name in scope.split(' ').filter(|s| !s.is_empty()) {
        count += 1;
        if count > MAX_SCOPES {
            return Err(OAuthError::invalid_scope(format!(
                "at most {MAX_SCOPES} scopes may be requested at once"
            )));
        }
        if name.len() > MAX_SCOPE_BYTES {
            return Err(OAuthError::invalid_scope(format!(
                "a scope name is at most {MAX_SCOPE_BYTES} bytes long"
            )));
        }
        if name
            .chars()
            .any(|c| c == '"' || c == '\\' || c.is_control())
        {
            return Err(OAuthError::invalid_scope(
                "a scope name may not contain `\"`, `\\` or control characters (RFC 6749 §3.3)",
            ));
        }
    }
    Ok(())
}

/// The request as the OAuth functions see it.
#[derive(Debug, Clone, Default)]
pub struct Params {
    /// Form parameters; each appears once (repeats are refused when parsing).
    pub form: HashMap<String, String>,
    /// `resource` parameters (RFC 8707 allows several; Tollgate issues for one).
    pub resources: Vec<String>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The caller's address.
    pub ip: Option<IpAddr>,
    /// Now, in unix seconds.
    pub now: i64,
}

impl Params {
    /// Parses an `application/x-www-form-urlencoded` body. A parameter sent twice is an error
    /// (RFC 6749 §3.1), except `resource` (RFC 8707 §2).
    pub fn parse(
        body: &[u8],
        authorization: Option<String>,
        ip: Option<IpAddr>,
        now: i64,
    ) -> Result<Params, OAuthError> {
        let mut form = HashMap::new();
        let mut resources = Vec::new();
        for (key, value) in form_urlencoded::parse(body) {
            if key.len() > 64 {
                return Err(OAuthError::invalid_request(
                    "a parameter name is longer than 64 bytes",
                ));
            }
            if key == "scope" {
                check_scope_bounds(&value)?;
            }
            if value.len() > MAX_PARAM_BYTES {
                return Err(OAuthError::invalid_request(format!(
                    "the parameter `{key}` is longer than {MAX_PARAM_BYTES} bytes"
                )));
            }
            if key == "resource" {
                if resources.len() == MAX_RESOURCES {
                    return Err(OAuthError::invalid_target(format!(
                        "at most {MAX_RESOURCES} `resource` parameters"
                    )));
                }
                resources.push(value.into_owned());
                continue;
            }
            if form.insert(key.to_string(), value.into_owned()).is_some() {
                return Err(OAuthError::invalid_request(format!(
                    "the parameter `{key}` appears more than once"
                )));
            }
        }
        Ok(Params {
            form,
            resources,
            authorization,
            ip,
            now,
        })
    }

    /// A parameter, treating an empty value as absent (RFC 6749 §3.1).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.form
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A required parameter.
    pub fn require(&self, key: &str) -> Result<&str, OAuthError> {
        self.get(key)
            .ok_or_else(|| OAuthError::invalid_request(format!("the parameter `{key}` is missing")))
    }
}

/// Splits a `scope` parameter into its scopes (RFC 6749 §3.3), each once, in first-seen order.
pub fn split_scope(scope: Option<&str>) -> Option<Vec<String>> {
    scope.map(|s| {
        let mut out: Vec<String> = Vec::new();
        for name in s.split(' ').filter(|s| !s.is_empty()) {
            if !out.iter().any(|o| o == name) {
                out.push(name.to_owned());
            }
        }
        out
    })
}

pub use connections::{
    ConnectError, ConnectFlow, PendingConnect, connect_callback, connect_confirm, connect_flow,
    connect_start,
};
pub use grants::token;
pub use tokens::{Revoked, VerifiedTokens, introspect, revoke};
