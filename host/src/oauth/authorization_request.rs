//! An authorization request once checked: what the sign-in and consent steps carry along.

use crate::config::ClientConfig;
use crate::directory::ResourceInfo;

/// An authorization request whose client and redirect URI are known, and the rest checked.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Validated {
    /// The client.
    pub client: ClientConfig,
    /// The registered redirect URI.
    pub redirect_uri: String,
    /// `state`.
    pub state: Option<String>,
    /// The S256 challenge.
    pub code_challenge: String,
    /// The resource.
    pub resource: ResourceInfo,
    /// The requested scopes.
    pub requested: Option<Vec<String>>,
}
