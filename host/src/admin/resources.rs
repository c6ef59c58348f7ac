//! Resources through the admin API: an API or MCP server, as in the policy document's
//! `resources` section. The engine checks it with the whole document (unique ids and audiences).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entities::{Entity, to_body};
use super::error::AdminError;
use crate::store::Kind;

/// What a resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    /// An HTTP API.
    Api,
    /// An MCP server.
    Mcp,
}

/// A resource: the audience tokens for it carry, and the scopes it defines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a resource (an object with `id`, `audience`, `kind` and `scopes`)"
)]
pub struct ResourceBody {
    /// The resource's id, which policies name.
    #[schema(min_length = 1)]
    pub id: String,
    /// The audience (`aud`) of tokens for it; one resource per audience.
    pub audience: String,
    /// What it is.
    pub kind: ResourceKind,
    /// The scopes it defines.
    pub scopes: Vec<String>,
    /// A display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A resource as stored.
pub fn entity(resource: ResourceBody) -> Result<Entity, AdminError> {
    Ok(Entity {
        kind: Kind::Resource,
        body: to_body(&resource)?,
        id: resource.id,
        secret: None,
    })
}
