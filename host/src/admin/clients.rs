//! OAuth clients through the admin API: the body is a [`ClientConfig`], as in the configuration
//! file; its `secret` is stored as an argon2id hash and never returned.

use serde_json::Value;
use zeroize::Zeroizing;

use super::entities::{Entity, set_client_state, to_body};
use super::error::AdminError;
use crate::config::ClientConfig;
use crate::oauth::state::Core;
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

/// Disables a client: from now on it authenticates nowhere and obtains nothing, every token it
/// holds is inactive (the recorded ones revoked, in the store and at every server; the others cut
/// off by time: `tokensNotBefore` is set to now), and reach lists nothing for it. Returns the
/// stored client.
pub async fn disable(core: &Core, id: &str, now: i64) -> Result<Value, AdminError> {
    let stored = set_client_state(
        core,
        id,
        move |client| {
            client.disabled = true;
            client.tokens_not_before = Some(client.tokens_not_before.unwrap_or(now).max(now));
        },
        now,
    )
    .await?;
    core.revoke_client(id, now).await?;
    Ok(stored)
}

/// Enables a client again. Nothing it held comes back, nor anything issued for it while it was
/// disabled (by a server that had not heard yet, or from a consent given before): every token
/// issued before this second stays inactive and recorded ones are revoked again; it needs new
/// tokens. Returns the stored client.
pub async fn enable(core: &Core, id: &str, now: i64) -> Result<Value, AdminError> {
    let cut = now.saturating_sub(1);
    let stored = set_client_state(
        core,
        id,
        move |client| {
            client.disabled = false;
            client.tokens_not_before = Some(client.tokens_not_before.unwrap_or(cut).max(cut));
        },
        now,
    )
    .await?;
    core.revoke_client(id, now).await?;
    Ok(stored)
}
