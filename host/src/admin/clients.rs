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
pub async fn disable(core: &Core, id: &str, by: &str, now: i64) -> Result<Value, AdminError> {
    let stored = set_client_state(
        core,
        id,
        "disable",
        move |client| {
            client.disabled = true;
            client.tokens_not_before = Some(client.tokens_not_before.unwrap_or(now).max(now));
        },
        by,
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
pub async fn enable(core: &Core, id: &str, by: &str, now: i64) -> Result<Value, AdminError> {
    let cut = now.saturating_sub(1);
    let stored = set_client_state(
        core,
        id,
        "enable",
        move |client| {
            client.disabled = false;
            client.tokens_not_before = Some(client.tokens_not_before.unwrap_or(cut).max(cut));
        },
        by,
        now,
    )
    .await?;
    core.revoke_client(id, now).await?;
    Ok(stored)
}

/// Marks a client verified (`true`) or unverified: what consent pages and `client.status`
/// conditions see. Returns the stored client.
pub async fn set_verified(
    core: &Core,
    id: &str,
    verified: bool,
    by: &str,
    now: i64,
) -> Result<Value, AdminError> {
    set_client_state(
        core,
        id,
        if verified { "verify" } else { "unverify" },
        move |client| {
            client.status = if verified {
                crate::config::ClientStatus::Verified
            } else {
                crate::config::ClientStatus::Unverified
            };
        },
        by,
        now,
    )
    .await
}

/// Gives a confidential client a new random secret, stored hashed, and returns it: the only time
/// it is seen. The old secret stops working at once (at every server, with the next directory
/// read); tokens already issued stay valid.
pub async fn rotate_secret(
    core: &Core,
    id: &str,
    by: &str,
    now: i64,
) -> Result<Zeroizing<String>, AdminError> {
    let directory = core.directory();
    let client = directory
        .clients
        .get(id)
        .ok_or_else(|| AdminError::NotFound {
            kind: "client",
            id: id.to_owned(),
        })?;
    if !matches!(
        client.token_endpoint_auth_method,
        crate::config::TokenEndpointAuthMethod::ClientSecretBasic
            | crate::config::TokenEndpointAuthMethod::ClientSecretPost
    ) {
        return Err(AdminError::invalid(
            "",
            format!("client `{id}` does not authenticate with a secret"),
        ));
    }
    drop(directory);
    let secret = Zeroizing::new(crate::oauth::secrets::random_id());
    let stored = secret.clone();
    set_client_state(
        core,
        id,
        "rotate-secret",
        move |client| {
            client.secret = Some(stored.to_string());
        },
        by,
        now,
    )
    .await?;
    Ok(secret)
}
