//! Keeps this server's memory in step with the store, whichever server changed it: the directory
//! and the compiled policy set, the signing keys and the revoked set.
//!
//! Every change bumps its topic's store-wide version in its own transaction
//! ([`crate::store::Store`]). This task waits for the versions to move (PostgreSQL announces
//! each change with `NOTIFY`; the versions are read again at least every [`POLL`], so a notice
//! missed while the connection was down is caught), then reads again what moved, under the admin
//! lock so that a change made here is never overwritten by an older read. The policy set is
//! compiled again only when the policy document changed, and swapped atomically; the version
//! decisions and audit events report is the store's entities version, the same on every server.

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use crate::clock::now;
use crate::config::SigningAlgorithm;
use crate::directory::Directory;
use crate::keys::KeyRing;
use crate::oauth::state::Core;
use crate::store::Versions;
use crate::vault::Vault;

/// The longest a change can go unnoticed when its notice is lost.
pub const POLL: Duration = Duration::from_secs(2);
/// How often expired flows are deleted and the keys read again (retired keys past their tokens'
/// lifetime are dropped then).
const HOUSEKEEPING: Duration = Duration::from_secs(60);

/// Starts the task.
pub fn spawn(core: Arc<Core>, alg: SigningAlgorithm) {
    tokio::spawn(async move {
        let mut housekeeping = tokio::time::Instant::now() + HOUSEKEEPING;
        loop {
            let seen = *core.loaded.lock().unwrap_or_else(PoisonError::into_inner);
            match core.store.wait_for_change(seen, POLL).await {
                Ok(versions) if versions != seen => {
                    if let Err(e) = catch_up(&core, alg, versions).await {
                        tracing::warn!(error = %e, "cannot read the store's changes; trying again");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the store's versions; trying again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            if tokio::time::Instant::now() >= housekeeping {
                housekeeping = tokio::time::Instant::now() + HOUSEKEEPING;
                if let Err(e) = housekeep(&core, alg).await {
                    tracing::warn!(error = %e, "housekeeping failed");
                }
            }
        }
    });
}

/// Why the store's changes could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The keys could not be loaded.
    #[error(transparent)]
    Keys(#[from] crate::keys::KeyError),
}

/// Reads again each topic whose version is past what this server has loaded.
pub async fn catch_up(
    core: &Core,
    alg: SigningAlgorithm,
    versions: Versions,
) -> Result<(), SyncError> {
    let _guard = core.admin_lock.lock().await;
    let loaded = *core.loaded.lock().unwrap_or_else(PoisonError::into_inner);
    let now = now();
    let mut done = loaded;
    if versions.entities > loaded.entities {
        let fresh = Directory::load(core.store.as_ref()).await?;
        let label = u64::try_from(versions.entities).unwrap_or_default();
        if fresh.document == core.directory().document {
            core.policy.relabel(label);
        } else if let Err(errors) = core.policy.replace(&fresh.document.to_string(), label) {
            // Two servers changed entities at once into a document that does not load: keep
            // deciding on the last good one until the next change.
            tracing::error!(
                errors = errors.len(),
                first = %errors.first().map(ToString::to_string).unwrap_or_default(),
                "the stored policy document does not load; keeping the previous policy set"
            );
        }
        *core
            .directory
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(fresh);
        done.entities = versions.entities;
    }
    if versions.keys > loaded.keys {
        let keys = load_keys(core, alg, now).await?;
        *core.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
        done.keys = versions.keys;
    }
    if versions.revocations > loaded.revocations {
        let revoked = core.store.revoked_since(loaded.revocations, now).await?;
        core.revoked.add(revoked, now);
        done.revocations = versions.revocations;
    }
    done.credentials = versions.credentials.max(loaded.credentials);
    *core.loaded.lock().unwrap_or_else(PoisonError::into_inner) = done;
    Ok(())
}

async fn load_keys(core: &Core, alg: SigningAlgorithm, now: i64) -> Result<KeyRing, SyncError> {
    let vault_key = core.vault.as_ref().map(Vault::key);
    Ok(KeyRing::load(core.store.as_ref(), alg, now, core.access_ttl, vault_key).await?)
}

async fn housekeep(core: &Core, alg: SigningAlgorithm) -> Result<(), SyncError> {
    let now = now();
    core.store.purge_expired(now).await?;
    let _guard = core.admin_lock.lock().await;
    let keys = load_keys(core, alg, now).await?;
    *core.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
    Ok(())
}
