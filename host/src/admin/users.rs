//! Users through the admin API: the body is a [`UserConfig`], as in the configuration file; its
//! `password` is stored as an argon2id hash and never returned.

use zeroize::Zeroizing;

use super::entities::{Entity, to_body};
use super::error::AdminError;
use crate::config::UserConfig;
use crate::store::Kind;

/// Splits off a user's password.
pub fn entity(mut user: UserConfig) -> Result<Entity, AdminError> {
    if user.sub.is_empty() {
        return Err(AdminError::invalid("body.sub", "must not be empty"));
    }
    let secret = user.password.take().map(Zeroizing::new);
    let body = to_body(&user)?;
    Ok(Entity {
        kind: Kind::User,
        id: user.sub,
        body,
        secret,
    })
}
