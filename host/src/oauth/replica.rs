//! One server's memory in step with the store, whichever server changed it: the directory and the
//! compiled policy set, the signing keys and the revoked set.
//!
//! Every change bumps its topic's store-wide version in its own transaction
//! ([`crate::store::Store`]). [`Core::catch_up`] reads again each topic whose version moved past
//! what this server has loaded, under [`Core::admin_lock`] so that a change made here is never
//! overwritten by an older read. The policy set is compiled again only when the policy document
//! changed, and swapped atomically; the version decisions and audit events report is the store's
//! entities version, the same on every server.
//!
//! A change to entities or keys starts with [`Core::changing`]: this server's lock, the store's
//! change lock (one server at a time), and a catch-up, so the change is checked against what every
//! server stored before it.

use std::sync::{Arc, PoisonError};

use super::state::Core;
use crate::clock::now;
use crate::directory::Directory;
use crate::keys::KeyRing;
use crate::store::{ChangeLock, Versions};
use crate::vault::Vault;

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

/// Held while a change to entities or keys is made (see [`Core::changing`]).
pub struct Changing<'a> {
    _here: tokio::sync::MutexGuard<'a, ()>,
    _everywhere: ChangeLock,
}

impl std::fmt::Debug for Changing<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Changing").finish_non_exhaustive()
    }
}

impl Core {
    /// Starts a change to entities or keys: one at a time in this server and across the servers
    /// sharing the store, on a memory that has read whatever the others changed before. A
    /// catch-up that fails (an entity that does not read back) is logged and the change goes on:
    /// it may be the change that fixes it.
    pub async fn changing(&self) -> Result<Changing<'_>, SyncError> {
        let here = self.admin_lock.lock().await;
        let everywhere = self.store.lock(crate::store::CHANGES).await?;
        let versions = self.store.versions().await?;
        if let Err(e) = self.catch_up_locked(versions).await {
            tracing::warn!(error = %e, "changing on a memory that could not read every change");
        }
        Ok(Changing {
            _here: here,
            _everywhere: everywhere,
        })
    }

    /// Reads again what moved, a change just written to the store by the holder of `changing`
    /// included (a client registration), and records it as loaded.
    pub async fn catch_up_with(&self, _changing: &mut Changing<'_>) -> Result<(), SyncError> {
        let versions = self.store.versions().await?;
        self.catch_up_locked(versions).await
    }

    /// Reads again each topic whose version is past what this server has loaded.
    pub async fn catch_up(&self, versions: Versions) -> Result<(), SyncError> {
        let _guard = self.admin_lock.lock().await;
        self.catch_up_locked(versions).await
    }

    /// [`Core::catch_up`], with [`Core::admin_lock`] held by the caller. Each topic on its own,
    /// revocations first: one that cannot be read (an entity another version stored) holds up
    /// neither the others nor revocations. Returns the first failure.
    async fn catch_up_locked(&self, versions: Versions) -> Result<(), SyncError> {
        let loaded = *self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        let now = now();
        let mut first_failure = None;
        if versions.revocations > loaded.revocations {
            match self.store.revoked_since(loaded.revocations, now).await {
                Ok(revoked) => {
                    self.revoked.add(revoked, now);
                    self.mark_loaded(|l| l.revocations = versions.revocations);
                }
                Err(e) => first_failure = first_failure.or(Some(SyncError::from(e))),
            }
        }
        if versions.keys > loaded.keys {
            match self.reload_keys_locked(now).await {
                Ok(()) => self.mark_loaded(|l| l.keys = versions.keys),
                Err(e) => first_failure = first_failure.or(Some(e)),
            }
        }
        if versions.entities > loaded.entities {
            match Directory::load(self.store.as_ref()).await {
                Ok(fresh) => {
                    self.swap_directory(fresh, versions.entities);
                    self.mark_loaded(|l| l.entities = versions.entities);
                }
                Err(e) => first_failure = first_failure.or(Some(SyncError::from(e))),
            }
        }
        self.mark_loaded(|l| l.credentials = l.credentials.max(versions.credentials));
        first_failure.map_or(Ok(()), Err)
    }

    /// Swaps in a directory read at the entities version `version`, and its policy set: compiled
    /// again only when the document changed, relabelled otherwise.
    fn swap_directory(&self, fresh: Directory, version: i64) {
        let label = u64::try_from(version).unwrap_or_default();
        if fresh.document == self.directory().document {
            self.policy.relabel(label);
        } else if let Err(errors) = self.policy.replace(&fresh.document.to_string(), label) {
            // Changes are checked under the store's change lock, so a stored document that does
            // not load is one an older server accepted: keep deciding on the last good one, and
            // say so.
            tracing::error!(
                errors = errors.len(),
                first = %errors.first().map(ToString::to_string).unwrap_or_default(),
                "the stored policy document does not load; keeping the previous policy set"
            );
        }
        *self
            .directory
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(fresh);
    }

    fn mark_loaded(&self, update: impl FnOnce(&mut Versions)) {
        update(&mut self.loaded.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// Loads the signing keys again (dropping retired keys whose tokens have expired), with
    /// [`Core::admin_lock`] held by the caller.
    pub(crate) async fn reload_keys_locked(&self, now: i64) -> Result<(), SyncError> {
        let vault_key = self.vault.as_ref().map(Vault::key);
        let keys = KeyRing::load(
            self.store.as_ref(),
            self.signing_algorithm,
            now,
            self.access_ttl,
            vault_key,
        )
        .await?;
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
        Ok(())
    }
}
