//! OAuth clients through the admin API: the body is a [`ClientConfig`], as in the configuration
//! file; its `secret` is stored as an argon2id hash and never returned.

use zeroize::Zeroizing;

use super::entities::{Entity, to_body};
use super::error::AdminError;
use crate::config::ClientConfig;
use crate::store::Kind;

/// Checks a client (every problem at once, each with its path under `body`) and splits off its
/// secret.
pub fn entity(mut client: ClientConfig) -> Result<Entity, AdminError> {
    let errors = client.problems("body");
    if !errors.is_empty() {
        return Err(AdminError::Problems {
            kind: "client",
            errors,
        });
    }
    let secret = client.secret.take().map(Zeroizing::new);
    let body = to_body(&client)?;
    Ok(Entity {
        kind: Kind::Client,
        id: client.client_id,
        body,
        secret,
    })
}
