//! Connections through the admin API: a downstream credential the vault holds per user or tenant,
//! as in the policy document's `connections` section, with the provider of an `oauth` connection.
//! The provider's `clientSecret` is sealed in the vault and never returned; users' and tenants'
//! credentials have their own endpoint ([`super::credentials`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::entities::{Entity, to_body};
use super::error::AdminError;
use crate::config::ProviderConfig;
use crate::store::Kind;

/// What a connection holds for its users and tenants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionKind {
    /// Provider refresh tokens, refreshed by Tollgate; has scopes and a provider.
    Oauth,
    /// API keys.
    ApiKey,
    /// Certificates or service-account keys.
    Certificate,
}

/// A connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a connection (an object with `id` and `kind`)"
)]
pub struct ConnectionBody {
    /// The connection's id, which policies name.
    #[schema(min_length = 1)]
    pub id: String,
    /// What it holds.
    pub kind: ConnectionKind,
    /// The scopes it defines (`oauth` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// A display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The provider of an `oauth` connection; its `clientSecret` is sealed and never returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderConfig>,
    /// Refused here: credentials have their own endpoint.
    #[serde(default, skip_serializing)]
    #[schema(ignore)]
    pub credentials: Option<Value>,
}

/// Checks a connection and splits off its provider's client secret.
pub fn entity(mut connection: ConnectionBody) -> Result<Entity, AdminError> {
    if connection.credentials.is_some() {
        return Err(AdminError::invalid(
            "body.credentials",
            "put credentials with PUT /admin/connections/{id}/credentials/{owner}",
        ));
    }
    if connection.provider.is_some() && connection.kind != ConnectionKind::Oauth {
        return Err(AdminError::invalid(
            "body.provider",
            "only `oauth` connections have a provider",
        ));
    }
    let secret = connection
        .provider
        .as_mut()
        .and_then(|p| p.client_secret.take())
        .map(Zeroizing::new);
    Ok(Entity {
        kind: Kind::Connection,
        body: to_body(&connection)?,
        id: connection.id,
        secret,
    })
}
