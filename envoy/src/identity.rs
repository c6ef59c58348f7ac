//! Who a verified request is from. Its own module because the verified-token cache builds it,
//! the per-request check hands it on, and the header writer reads it: none of the three should
//! import another for it.

use crate::jwt::Verified;

/// Who a verified request is from: what the upstream learns through the `x-tollgate-*` headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The token's `sub`.
    pub sub: Option<String>,
    /// The token's client (`client_id`, else `azp`).
    pub client_id: Option<String>,
    /// The token's scopes, space-separated.
    pub scope: String,
}

impl Identity {
    /// The identity a verified token carries.
    pub fn of(verified: &Verified) -> Identity {
        Identity {
            sub: verified.sub.clone(),
            client_id: verified.client_id.clone(),
            scope: verified.scope(),
        }
    }
}
