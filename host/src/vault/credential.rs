//! What the vault holds: credentials, their kinds and owners, and the row each is bound to.

use serde::Serialize;
use zeroize::Zeroizing;

use crate::store::Source;

/// What a credential is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    /// A provider refresh token (kind `oauth`).
    RefreshToken,
    /// An API key (kind `api_key`).
    ApiKey,
    /// A PEM certificate and key, or a service-account JSON (kind `certificate`).
    Certificate,
    /// The connection's own client secret at its provider.
    ClientSecret,
    /// A user's second factor (a TOTP secret and recovery codes), under the reserved connection
    /// id [`crate::oauth::second_factor::VAULT_ID`]: never a connection's.
    SecondFactor,
}

impl SecretKind {
    /// The name stored beside the sealed value.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::RefreshToken => "refresh_token",
            SecretKind::ApiKey => "api_key",
            SecretKind::Certificate => "certificate",
            SecretKind::ClientSecret => "client_secret",
            SecretKind::SecondFactor => "second_factor",
        }
    }

    /// The kind of a stored name.
    pub fn from_name(name: &str) -> Option<SecretKind> {
        Some(match name {
            "refresh_token" => SecretKind::RefreshToken,
            "api_key" => SecretKind::ApiKey,
            "certificate" => SecretKind::Certificate,
            "client_secret" => SecretKind::ClientSecret,
            "second_factor" => SecretKind::SecondFactor,
            _ => return None,
        })
    }

    /// The credential kind a connection of `connection_kind` holds for its users and tenants.
    pub fn for_connection(connection_kind: &str) -> Option<SecretKind> {
        match connection_kind {
            "oauth" => Some(SecretKind::RefreshToken),
            "api_key" => Some(SecretKind::ApiKey),
            "certificate" => Some(SecretKind::Certificate),
            _ => None,
        }
    }
}

/// Whose credential: a user's, a tenant's, or the connection's own (its provider client secret).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    /// A user, by `sub`.
    User(String),
    /// A tenant (for autonomous agents).
    Tenant(String),
    /// The connection itself.
    Provider,
}

impl Owner {
    /// Parses `user:<sub>`, `tenant:<id>` or `provider`.
    pub fn parse(text: &str) -> Option<Owner> {
        if text == "provider" {
            return Some(Owner::Provider);
        }
        let (kind, id) = text.split_once(':')?;
        if id.is_empty() {
            return None;
        }
        match kind {
            "user" => Some(Owner::User(id.to_owned())),
            "tenant" => Some(Owner::Tenant(id.to_owned())),
            _ => None,
        }
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Owner::User(sub) => write!(f, "user:{sub}"),
            Owner::Tenant(id) => write!(f, "tenant:{id}"),
            Owner::Provider => f.write_str("provider"),
        }
    }
}

/// A credential to seal.
#[derive(Clone, Copy)]
pub struct Credential<'a> {
    /// What it is.
    pub kind: SecretKind,
    /// The secret.
    pub secret: &'a str,
    /// For refresh tokens: the scopes the provider granted (space-separated).
    pub scope: Option<&'a str>,
    /// Who puts it there.
    pub source: Source,
}

impl std::fmt::Debug for Credential<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("kind", &self.kind)
            .field("scope", &self.scope)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// A credential taken out of the vault. The secret is wiped from memory when dropped.
#[derive(Debug)]
pub struct Opened {
    /// What it is.
    pub kind: SecretKind,
    /// The secret.
    pub secret: Zeroizing<String>,
    /// For refresh tokens: the scopes the provider granted (space-separated).
    pub scope: Option<String>,
    /// Who put it there.
    pub source: Source,
}

/// A credential as listed (never the secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialInfo {
    /// The connection.
    pub connection: String,
    /// `user:<sub>`, `tenant:<id>` or `provider`.
    pub owner: String,
    /// What it is.
    pub kind: String,
    /// For refresh tokens: the provider's scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `config` or `admin`.
    pub source: Source,
    /// Unix seconds.
    pub updated_at: i64,
}

/// The associated data binding a sealed value to its row. The fields are joined with NUL, which
/// is unambiguous because [`Vault::put`] refuses a connection id or owner containing one (the
/// kind is one of [`SecretKind`]'s names), so a ciphertext cannot be moved to another row whose
/// joined fields happen to match.
pub(super) fn aad(connection: &str, owner: &str, kind: &str) -> Vec<u8> {
    format!("tollgate-vault/v1\0{connection}\0{owner}\0{kind}").into_bytes()
}
