//! The client credentials grant (RFC 6749 §4.4): a confidential client for itself, no user.

use serde_json::Map;
use tollgate_engine::GrantType;

use super::allowed::require_grant;
use crate::config::GrantTypeName;
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;
use crate::oauth::issue::{Issue, Refresh, TokenResponse, issue};
use crate::oauth::params::{Params, split_scope};
use crate::oauth::policy_input::{decide, engine_request};
use crate::oauth::state::Core;
use crate::oauth::targets::resolve_resource;

pub(super) async fn grant(
    core: &Core,
    params: &Params,
    client: &AuthenticatedClient,
) -> Result<TokenResponse, OAuthError> {
    require_grant(client, GrantTypeName::ClientCredentials)?;
    let directory = core.directory();
    let resource = resolve_resource(&directory, params, client)?;
    let request = engine_request(
        GrantType::ClientCredentials,
        client,
        resource,
        split_scope(params.get("scope")),
        params,
    );
    let decision = decide(core, &request, &client.config.client_id)?;
    issue(
        core,
        params,
        Issue {
            client,
            resource,
            grant: GrantType::ClientCredentials,
            sub: client.config.client_id.clone(),
            scopes: decision.granted.iter().map(|s| s.to_string()).collect(),
            extra: Map::new(),
            refresh: Refresh::None,
            issued_token_type: None,
        },
    )
    .await
}
