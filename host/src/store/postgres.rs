//! The PostgreSQL store, for several servers sharing one database.
//!
//! The schema is migrated at start under PostgreSQL's advisory lock (sqlx's migrator takes it),
//! so replicas starting together migrate once. Each change bumps its topic's version and calls
//! `pg_notify` in its own transaction, so the notice goes out when, and only if, it commits; every
//! server listens on the channel, and reads the versions again when its listening connection
//! comes back and at least every few seconds in case a notice was missed.
//!
//! Every statement runs under a `statement_timeout` and a `lock_timeout`, and a connection is
//! waited for at most [`ACQUIRE_TIMEOUT`]: an unreachable or stuck database fails a request
//! within a bound instead of holding it.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use tokio::sync::watch;

use super::error::StoreError;
use super::interface::StoreFuture;
use super::records::{Topic, Versions};

/// The channel changes are announced on.
const CHANNEL: &str = "tollgate_changes";
/// Connections per server.
const MAX_CONNECTIONS: u32 = 16;
/// How long a request waits for a connection before it is answered 503.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// The longest one statement, or one wait for a lock, may take.
const STATEMENT_TIMEOUT: &str = "5s";

/// The PostgreSQL implementation of [`super::interface::Store`].
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// Counts notices (and reconnections of the listener); waiters wake on each.
    changes: Arc<watch::Sender<u64>>,
    listening: Arc<AtomicBool>,
}

impl PostgresStore {
    /// Connects to the database at a `postgres://` URL and migrates it.
    pub async fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| StoreError::Unsupported(redact(url)))?
            .application_name("tollgate")
            .options([
                ("statement_timeout", STATEMENT_TIMEOUT),
                ("lock_timeout", STATEMENT_TIMEOUT),
                ("idle_in_transaction_session_timeout", "30s"),
            ]);
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Unreachable {
                location: redact(url),
                source,
            })?;
        sqlx::migrate!("./migrations-postgres").run(&pool).await?;
        Ok(PostgresStore {
            pool,
            changes: Arc::new(watch::Sender::new(0)),
            listening: Arc::new(AtomicBool::new(false)),
        })
    }

    /// A transaction-level advisory lock on the family: tokens joining it and its revocation
    /// take turns.
    async fn lock_family(
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        family: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(family)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn announce(
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        topic: Topic,
        version: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(format!("{} {version}", topic.as_str()))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// PostgreSQL keeps no copy of replaced rows that a checkpoint would have to rewrite.
    #[expect(
        clippy::unused_async,
        reason = "the same hook as SQLite's, which awaits"
    )]
    async fn after_rekey(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// A session-level advisory lock on a connection of its own, closed when the guard is dropped:
    /// closing the session releases the lock, which must never go back to the pool still held.
    /// Waiting for it is bounded by the statement timeout.
    async fn named_lock(&self, name: &str) -> Result<super::interface::ChangeLock, StoreError> {
        let mut connection = self.pool.acquire().await?;
        connection.close_on_drop();
        sqlx::query("SELECT pg_advisory_lock(hashtextextended($1, 0))")
            .bind(format!("tollgate:{name}"))
            .execute(&mut *connection)
            .await?;
        Ok(Box::new(connection))
    }

    fn watch(&self, seen: Versions, within: Duration) -> StoreFuture<'_, Versions> {
        if !self.listening.swap(true, Ordering::AcqRel) {
            tokio::spawn(listen(self.pool.clone(), Arc::clone(&self.changes)));
        }
        Box::pin(async move {
            // Subscribed before the versions are read: a notice in between is not missed.
            let mut notices = self.changes.subscribe();
            let versions = super::interface::Store::versions(self).await?;
            if versions != seen {
                return Ok(versions);
            }
            let _ = tokio::time::timeout(within, notices.changed()).await;
            super::interface::Store::versions(self).await
        })
    }
}

/// Listens on the channel for as long as the server runs, connecting again (with a growing pause,
/// up to 5 s) whenever the connection is lost. Every notice, and every new connection (notices
/// sent while it was away are lost), wakes the waiters, who read the versions.
async fn listen(pool: PgPool, changes: Arc<watch::Sender<u64>>) {
    let wake = || changes.send_modify(|n| *n = n.wrapping_add(1));
    let mut pause = Duration::from_millis(100);
    loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => {
                listener.eager_reconnect(false);
                match listener.listen(CHANNEL).await {
                    Ok(()) => {
                        wake();
                        pause = Duration::from_millis(100);
                        loop {
                            match listener.try_recv().await {
                                Ok(Some(_)) => wake(),
                                Ok(None) => {
                                    tracing::warn!("lost the connection listening for changes");
                                    break;
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, "listening for changes failed");
                                    break;
                                }
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot listen for changes"),
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot connect to listen for changes"),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// A database URL without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            // Parameters may carry a password too.
            parsed.set_query(None);
            parsed.to_string()
        }
        Err(_) => "the configured store location (unreadable)".to_owned(),
    }
}

super::sql::sql_store!(
    PostgresStore,
    sqlx::Postgres,
    sqlx::postgres::PgRow,
    "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)"
);
