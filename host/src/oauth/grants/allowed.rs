//! Which grants a client may use.

use crate::config::{GrantTypeName, PUBLIC_CLIENT_GRANTS};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;

/// Refuses a grant the client may not use: every grant its configuration does not list, and for
/// a public client every grant but the authorization code and refresh.
pub(super) fn require_grant(
    client: &AuthenticatedClient,
    name: GrantTypeName,
) -> Result<(), OAuthError> {
    if client.config.is_public() && !PUBLIC_CLIENT_GRANTS.contains(&name) {
        return Err(OAuthError::unauthorized_client(format!(
            "`{}` is a public client: it may use only authorization_code and refresh_token, not `{name}`",
            client.config.client_id
        )));
    }
    if client.config.may_use(name) {
        Ok(())
    } else {
        Err(OAuthError::unauthorized_client(format!(
            "client `{}` may not use the `{name}` grant",
            client.config.client_id
        )))
    }
}
