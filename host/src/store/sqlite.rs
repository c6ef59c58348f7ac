//! The SQLite store: one file in WAL mode. `synchronous = NORMAL`: a committed transaction is in
//! the WAL before the server acknowledges it, so it survives the process being killed (`kill -9`);
//! only an operating-system crash or power loss can take the last commits.

use std::str::FromStr;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::error::StoreError;
use super::interface::StoreFuture;
use super::records::{Topic, Versions};

/// The SQLite implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating when missing) the database at a `sqlite://path` URL and migrates it.
    pub async fn open(url: &str) -> Result<SqliteStore, StoreError> {
        let path = url
            .strip_prefix("sqlite://")
            .ok_or_else(|| StoreError::Unsupported(url.to_owned()))?;
        if let Some(dir) = std::path::Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            crate::files::ensure_private_dir(dir).map_err(|source| StoreError::Files {
                path: dir.to_owned(),
                source,
            })?;
        }
        // The database, its WAL and shared-memory files hold token hashes, sealed keys and the
        // audit trail: owner-only, whatever the umask (SQLite gives the -wal and -shm files the
        // database file's mode).
        let private = |p: &std::path::Path| {
            crate::files::restrict_file(p).map_err(|source| StoreError::Files {
                path: p.to_owned(),
                source,
            })
        };
        if path != ":memory:" && !path.starts_with("file::memory") {
            crate::files::touch_private(std::path::Path::new(path)).map_err(|source| {
                StoreError::Files {
                    path: path.into(),
                    source,
                }
            })?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(std::time::Duration::from_secs(5))
            .foreign_keys(true)
            // Deleted and replaced content is overwritten, not left in free space: a key sealed
            // in place or a revoked token's row leaves no readable copy in the file.
            .pragma("secure_delete", "on");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        for suffix in ["", "-wal", "-shm"] {
            private(std::path::Path::new(&format!("{path}{suffix}")))?;
        }
        Ok(SqliteStore { pool })
    }

    /// SQLite takes one writer at a time: a family's changes are serialized already.
    async fn lock_family(
        _tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
        _family: &str,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// SQLite's one server applies its own changes; nothing to announce.
    async fn announce(
        _tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
        _topic: Topic,
        _version: i64,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// The WAL still holds the pages as they were before a vault rekey (secrets sealed with the
    /// old key, or not sealed at all): write them back and empty it.
    async fn after_rekey(&self) -> Result<(), StoreError> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One server uses the file; its own locks serialize what it does.
    #[expect(
        clippy::unused_async,
        reason = "the same hook as PostgreSQL's, which awaits"
    )]
    async fn named_lock(&self, _name: &str) -> Result<super::interface::ChangeLock, StoreError> {
        Ok(Box::new(()))
    }

    /// Changes come from this server, or from a command (`tollgate keys rotate`) writing the
    /// same file: read the versions again once a second.
    fn watch(&self, seen: Versions, within: std::time::Duration) -> StoreFuture<'_, Versions> {
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + within;
            loop {
                let versions = super::interface::Store::versions(self).await?;
                let now = tokio::time::Instant::now();
                if versions != seen || now >= deadline {
                    return Ok(versions);
                }
                tokio::time::sleep((deadline - now).min(POLL)).await;
            }
        })
    }
}

/// How often the versions are read.
const POLL: std::time::Duration = std::time::Duration::from_secs(1);

super::sql::sql_store!(
    SqliteStore,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow,
    "unixepoch()"
);
