//! Signing key rotation through the admin API: a new active key, sealed with the vault key when
//! there is one, published at once; the old key stays published (and accepted for this server's
//! own tokens) until every token it signed has expired.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::AdminError;
use crate::audit::Event;
use crate::config::SigningAlgorithm;
use crate::oauth::state::Core;
use crate::vault::Vault;

/// What to rotate to.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "an object (`algorithm` is optional)"
)]
pub struct RotateKeys {
    /// The new key's algorithm; the configured `tokens.signingAlgorithm` when absent.
    #[serde(default)]
    pub algorithm: Option<SigningAlgorithm>,
}

/// The new active key.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RotatedKey {
    /// Its key id (the RFC 7638 thumbprint), as in the JWK Set and token headers.
    pub kid: String,
    /// Its algorithm.
    pub algorithm: SigningAlgorithm,
}

/// Rotates to a new signing key ([`crate::keys::rotate`], as `tollgate keys rotate` does), then
/// loads the key ring again so this server signs with the new key and publishes it right away.
/// Other servers on the same store hear of it and load it too.
pub async fn rotate(core: &Core, request: RotateKeys, now: i64) -> Result<RotatedKey, AdminError> {
    let algorithm = request.algorithm.unwrap_or(core.signing_algorithm);
    let vault_key = core.vault.as_ref().map(Vault::key);
    // One rotation at a time, and not in the middle of an entity change, here or at another
    // server sharing the store.
    let _changing = core.changing().await?;
    let kid = crate::keys::rotate(core.store.as_ref(), algorithm, vault_key, now).await?;
    // Recorded as soon as the new key is stored: it becomes active here or at the next reload
    // even when loading it below fails.
    core.audit
        .record_at(
            now,
            Event::KeyRotation {
                kid: kid.clone(),
                algorithm: algorithm.as_str(),
            },
        )
        .await;
    core.reload_keys_locked(now).await?;
    Ok(RotatedKey { kid, algorithm })
}
