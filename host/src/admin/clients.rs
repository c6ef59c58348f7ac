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
    let stored = set_state(core, id, now, |client| {
        client.disabled = true;
        client.tokens_not_before = Some(now);
    })
    .await?;
    core.revoke_client(id, now).await?;
    Ok(stored)
}

/// Enables a client again. Nothing it held before comes back: the tokens of the time it was
/// disabled stay inactive (`tokensNotBefore` is kept) and it needs new ones. Returns the stored
/// client.
pub async fn enable(core: &Core, id: &str, now: i64) -> Result<Value, AdminError> {
    set_state(core, id, now, |client| client.disabled = false).await
}

async fn set_state(
    core: &Core,
    id: &str,
    now: i64,
    change: impl FnOnce(&mut ClientConfig),
) -> Result<Value, AdminError> {
    let Some((body, _)) = core.store.get_entity(Kind::Client, id).await? else {
        return Err(AdminError::NotFound {
            kind: "client",
            id: id.to_owned(),
        });
    };
    let mut client: ClientConfig = serde_json::from_value(body)
        .map_err(|e| AdminError::Store(crate::store::StoreError::Value(e.to_string())))?;
    change(&mut client);
    let entity = Entity {
        kind: Kind::Client,
        id: client.client_id.clone(),
        body: to_body(&client)?,
        secret: None,
    };
    set_client_state(core, id, entity, now).await
}
