//! Which target a request names: a resource by its audience or id (RFC 8707 `resource`, RFC 8693
//! `audience`), or a connection by id.

use super::client_auth::AuthenticatedClient;
use super::error::OAuthError;
use super::params::Params;
use crate::config::ClientConfig;
use crate::directory::{ConnectionInfo, Directory, ResourceInfo};

/// What a request names as its target: every `resource` (RFC 8707), then `audience` (RFC 8693).
pub fn named_targets(params: &Params) -> Vec<&str> {
    let mut named: Vec<&str> = params.resources.iter().map(String::as_str).collect();
    if let Some(audience) = params.get("audience") {
        named.push(audience);
    }
    named.dedup();
    named
}

/// The one resource a request names (RFC 8707 `resource`, or `audience` for token exchange).
pub fn resolve_resource<'d>(
    directory: &'d Directory,
    params: &Params,
    client: &AuthenticatedClient,
) -> Result<&'d ResourceInfo, OAuthError> {
    choose_resource(directory, &named_targets(params), &client.config, || None)
}

/// The resource of a request (token or authorization): the one it names; without one, the one
/// resource the client's configuration names, else what `fallback` finds.
pub fn choose_resource<'d>(
    directory: &'d Directory,
    named: &[&str],
    client: &ClientConfig,
    fallback: impl FnOnce() -> Option<&'d ResourceInfo>,
) -> Result<&'d ResourceInfo, OAuthError> {
    match named {
        [one] => directory
            .resource(one)
            .ok_or_else(|| OAuthError::invalid_target(format!("unknown resource `{one}`"))),
        [] => {
            let mut configured = client
                .allowed_scopes
                .keys()
                .filter_map(|id| directory.resources.get(id));
            match (configured.next(), configured.next()) {
                (Some(only), None) => Ok(only),
                _ => fallback().ok_or_else(|| {
                    OAuthError::invalid_target("name the resource with the `resource` parameter")
                }),
            }
        }
        _ => Err(OAuthError::invalid_target("name one resource per request")),
    }
}

/// The connection a token exchange names (by id in `resource` or `audience`), if it names one.
pub fn named_connection<'d>(
    directory: &'d Directory,
    params: &Params,
) -> Option<&'d ConnectionInfo> {
    match named_targets(params).as_slice() {
        [one] if directory.resource(one).is_none() => directory.connections.get(*one),
        _ => None,
    }
}
