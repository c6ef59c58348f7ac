//! Users' and tenants' credentials of a connection, sealed in the vault: listed without their
//! secrets, put and removed. A credential's secret is never returned.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::AdminError;
use crate::audit::Event;
use crate::config::{CredentialConfig, check_credential};
use crate::oauth::state::Core;
use crate::store::Source;
use crate::vault::{Credential, CredentialInfo, Owner, SecretKind, Vault};

/// The secret a connection's kind holds: exactly one of `apiKey` (`api_key` connections),
/// `certificate` (`certificate`) or `refreshToken` with its `scope` (`oauth`).
#[derive(Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a credential (an object with `apiKey`, `certificate` or `refreshToken`)"
)]
pub struct CredentialBody {
    /// An API key.
    #[serde(default)]
    pub api_key: Option<String>,
    /// A PEM certificate and key, or a service-account JSON.
    #[serde(default)]
    pub certificate: Option<String>,
    /// A provider refresh token.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// The scopes the refresh token holds (space-separated).
    #[serde(default)]
    pub scope: Option<String>,
}

impl std::fmt::Debug for CredentialBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialBody")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// A sealed credential, as the answer to putting it (never the secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SealedCredential {
    /// The connection.
    pub connection: String,
    /// `user:<sub>` or `tenant:<id>`.
    pub owner: String,
    /// What it is.
    pub kind: SecretKind,
    /// The provider's scopes (refresh tokens), or null.
    pub scope: Option<String>,
}

/// The vault and the kind of connection `id`.
fn target<'c>(core: &'c Core, id: &str) -> Result<(&'c Vault, String), AdminError> {
    let vault = core.vault.as_ref().ok_or(AdminError::VaultOff)?;
    let directory = core.directory();
    let connection = directory
        .connections
        .get(id)
        .ok_or_else(|| AdminError::NotFound {
            kind: "connection",
            id: id.to_owned(),
        })?;
    Ok((vault, connection.kind.clone()))
}

/// A credential owner from the path: `user:<sub>` or `tenant:<id>`.
fn owner(text: &str) -> Result<Owner, AdminError> {
    match Owner::parse(text) {
        Some(o @ (Owner::User(_) | Owner::Tenant(_))) => Ok(o),
        _ => Err(AdminError::invalid(
            "owner",
            format!("`{text}` is neither `user:<sub>` nor `tenant:<id>`"),
        )),
    }
}

/// The credentials of a connection: owners, kinds and scopes, never the secrets.
pub async fn list(core: &Core, connection: &str) -> Result<Vec<CredentialInfo>, AdminError> {
    let (vault, _) = target(core, connection)?;
    Ok(vault.list(Some(connection)).await?)
}

/// Seals a user's or tenant's credential, replacing the one they had.
pub async fn put(
    core: &Core,
    connection: &str,
    owner_text: &str,
    body: CredentialBody,
    now: i64,
) -> Result<SealedCredential, AdminError> {
    let (vault, kind) = target(core, connection)?;
    let owner = owner(owner_text)?;
    let (user, tenant) = match &owner {
        Owner::User(u) => (Some(u.clone()), None),
        Owner::Tenant(t) => (None, Some(t.clone())),
        Owner::Provider => (None, None),
    };
    // The same rules as a credential in the configuration file.
    let credential = CredentialConfig {
        user,
        tenant,
        api_key: body.api_key,
        certificate: body.certificate,
        refresh_token: body.refresh_token,
        scope: body.scope,
        certificate_file: None,
    };
    check_credential(&credential, &kind)
        .map_err(|why| AdminError::invalid("body", why.to_string()))?;
    let (secret_kind, secret) = credential
        .secret_field()
        .ok_or_else(|| AdminError::invalid("body", "the body holds no secret"))?;
    let sealed = Credential {
        kind: secret_kind,
        secret,
        scope: credential.scope.as_deref(),
        source: Source::Admin,
    };
    vault.put(connection, &owner, sealed, now).await?;
    core.audit
        .record_at(
            now,
            Event::CredentialChange {
                action: "put",
                connection: connection.to_owned(),
                owner: owner.to_string(),
            },
        )
        .await;
    Ok(SealedCredential {
        connection: connection.to_owned(),
        owner: owner.to_string(),
        kind: secret_kind,
        scope: credential.scope.clone(),
    })
}

/// Removes a user's or tenant's credential.
pub async fn delete(
    core: &Core,
    connection: &str,
    owner_text: &str,
    now: i64,
) -> Result<(), AdminError> {
    let (vault, _) = target(core, connection)?;
    let owner = owner(owner_text)?;
    if !vault.delete(connection, &owner).await? {
        return Err(AdminError::NoCredential {
            connection: connection.to_owned(),
            owner: owner.to_string(),
        });
    }
    core.audit
        .record_at(
            now,
            Event::CredentialChange {
                action: "delete",
                connection: connection.to_owned(),
                owner: owner.to_string(),
            },
        )
        .await;
    Ok(())
}
