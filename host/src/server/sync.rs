//! The task that keeps this server's memory in step with the store ([`crate::oauth::replica`]):
//! it waits for the store-wide versions to move (PostgreSQL announces each change with `NOTIFY`;
//! the versions are read again at least every [`POLL`], so a notice missed while the connection
//! was down is caught) and reads again what moved. Once a minute it also deletes expired flows and
//! assertion ids, and loads the keys again (retired keys past their tokens' lifetime are dropped).

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use crate::clock::now;
use crate::oauth::Core;
use crate::oauth::replica::SyncError;

/// The longest a change can go unnoticed when its notice is lost.
pub const POLL: Duration = Duration::from_secs(2);
/// How often the housekeeping runs.
const HOUSEKEEPING: Duration = Duration::from_secs(60);

/// Starts the task.
pub fn spawn(core: Arc<Core>) {
    tokio::spawn(async move {
        let mut housekeeping = tokio::time::Instant::now() + HOUSEKEEPING;
        // After a failure, a pause that doubles (up to 30 s) while failures go on.
        let mut pause = Duration::from_secs(1);
        loop {
            let seen = *core.loaded.lock().unwrap_or_else(PoisonError::into_inner);
            let failed = match core.store.wait_for_change(seen, POLL).await {
                Ok(versions) if versions != seen => match core.catch_up(versions).await {
                    Ok(()) => false,
                    Err(e) => {
                        tracing::warn!(error = %e, retry_in = ?pause, "cannot read the store's changes");
                        true
                    }
                },
                Ok(_) => false,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?pause, "cannot read the store's versions");
                    true
                }
            };
            if failed {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(30));
            } else {
                pause = Duration::from_secs(1);
            }
            if tokio::time::Instant::now() >= housekeeping {
                housekeeping = tokio::time::Instant::now() + HOUSEKEEPING;
                if let Err(e) = housekeep(&core).await {
                    tracing::warn!(error = %e, "housekeeping failed");
                }
            }
        }
    });
}

async fn housekeep(core: &Core) -> Result<(), SyncError> {
    let now = now();
    core.store.purge_expired(now).await?;
    let _guard = core.admin_lock.lock().await;
    core.reload_keys_locked(now).await
}
