//! The token endpoint (RFC 6749 §3.2): the grant is picked by `grant_type`, each in a module of
//! its own, and every issued scope goes through the policy engine.

mod allowed;
mod authorization_code;
mod client_credentials;
mod id_jag;
mod jwt_bearer;
mod refresh;
mod single_use;
mod token_exchange;

use super::client_auth;
use super::error::OAuthError;
use super::issue::TokenResponse;
use super::params::Params;
use super::state::Core;
use super::urn::{JWT_BEARER, TOKEN_EXCHANGE};
use crate::audit::Event;

/// Handles a token request.
pub async fn token(core: &Core, params: &Params) -> Result<TokenResponse, OAuthError> {
    let grant_type = params.require("grant_type")?.to_owned();
    let client = client_auth::authenticate(core, params).await?;
    let result = match grant_type.as_str() {
        "client_credentials" => client_credentials::grant(core, params, &client).await,
        TOKEN_EXCHANGE => token_exchange::grant(core, params, &client).await,
        JWT_BEARER => jwt_bearer::grant(core, params, &client).await,
        "refresh_token" => refresh::grant(core, params, &client).await,
        "authorization_code" => authorization_code::grant(core, params, &client).await,
        other => Err(OAuthError::unsupported_grant_type(format!(
            "unknown grant type `{}`",
            crate::audit::bounded(other, 64)
        ))),
    };
    if let Err(e) = &result {
        core.audit.record(Event::TokenRefused {
            client_id: client.config.client_id.clone(),
            grant_type: crate::audit::bounded(&grant_type, 64),
            error: e.error,
            description: e.error_description.clone(),
        });
    }
    result
}
