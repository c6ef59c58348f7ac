//! The SQLite store: one file in WAL mode. `synchronous = NORMAL`: a committed transaction is in
//! the WAL before the server acknowledges it, so it survives the process being killed (`kill -9`);
//! only an operating-system crash or power loss can take the last commits.

use std::str::FromStr;

use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::error::StoreError;
use super::interface::{Store, StoreFuture};
use super::records::{AuditRecord, CredentialRecord, Kind, Source, StoredKey, TokenRecord};

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
}

fn token_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<TokenRecord, StoreError> {
    Ok(TokenRecord {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        client_id: row.try_get("client_id")?,
        sub: row.try_get("sub")?,
        family: row.try_get("family")?,
        grant_type: row.try_get("grant_type")?,
        target: serde_json::from_str(row.try_get::<&str, _>("target")?)?,
        scope: row.try_get("scope")?,
        data: serde_json::from_str(row.try_get::<&str, _>("data")?)?,
        issued_at: row.try_get("issued_at")?,
        expires_at: row.try_get("expires_at")?,
        used: row.try_get::<i64, _>("used")? != 0,
        revoked: row.try_get::<i64, _>("revoked")? != 0,
    })
}

impl Store for SqliteStore {
    fn put_entity<'a>(
        &'a self,
        kind: Kind,
        id: &'a str,
        body: &'a Value,
        source: Source,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO entities (kind, id, body, source, updated_at) VALUES (?, ?, ?, ?, unixepoch())
                 ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body, source = excluded.source, updated_at = excluded.updated_at",
            )
            .bind(kind.as_str())
            .bind(id)
            .bind(body.to_string())
            .bind(source.as_str())
            .execute(&self.pool)
            .await?;
            Ok(())
        })
    }

    fn get_entity<'a>(
        &'a self,
        kind: Kind,
        id: &'a str,
    ) -> StoreFuture<'a, Option<(Value, Source)>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT body, source FROM entities WHERE kind = ? AND id = ?")
                .bind(kind.as_str())
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
            row.map(|r| {
                Ok((
                    serde_json::from_str(r.try_get::<&str, _>("body")?)?,
                    Source::from_name(r.try_get::<&str, _>("source")?),
                ))
            })
            .transpose()
        })
    }

    fn list_entities(&self, kind: Kind) -> StoreFuture<'_, Vec<(String, Value, Source)>> {
        Box::pin(async move {
            let rows =
                sqlx::query("SELECT id, body, source FROM entities WHERE kind = ? ORDER BY id")
                    .bind(kind.as_str())
                    .fetch_all(&self.pool)
                    .await?;
            rows.iter()
                .map(|r| {
                    Ok((
                        r.try_get("id")?,
                        serde_json::from_str(r.try_get::<&str, _>("body")?)?,
                        Source::from_name(r.try_get::<&str, _>("source")?),
                    ))
                })
                .collect()
        })
    }

    fn delete_entity<'a>(&'a self, kind: Kind, id: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            let done = sqlx::query("DELETE FROM entities WHERE kind = ? AND id = ?")
                .bind(kind.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM secrets WHERE kind = ? AND id = ?")
                .bind(kind.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if kind == Kind::Connection {
                // A connection's credentials go with it.
                sqlx::query("DELETE FROM credentials WHERE connection_id = ?")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(done.rows_affected() > 0)
        })
    }

    fn prune_config<'a>(&'a self, kind: Kind, keep: &'a [String]) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT id FROM entities WHERE kind = ? AND source = 'config'")
                .bind(kind.as_str())
                .fetch_all(&self.pool)
                .await?;
            let mut pruned = 0;
            for row in rows {
                let id: String = row.try_get("id")?;
                if !keep.contains(&id) && self.delete_entity(kind, &id).await? {
                    pruned += 1;
                }
            }
            Ok(pruned)
        })
    }

    fn put_secret<'a>(&'a self, kind: Kind, id: &'a str, hash: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO secrets (kind, id, hash) VALUES (?, ?, ?)
                 ON CONFLICT (kind, id) DO UPDATE SET hash = excluded.hash",
            )
            .bind(kind.as_str())
            .bind(id)
            .bind(hash)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
    }

    fn get_secret<'a>(&'a self, kind: Kind, id: &'a str) -> StoreFuture<'a, Option<String>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT hash FROM secrets WHERE kind = ? AND id = ?")
                .bind(kind.as_str())
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
            Ok(row.map(|r| r.try_get("hash")).transpose()?)
        })
    }

    fn keys(&self) -> StoreFuture<'_, Vec<StoredKey>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT kid, alg, private_pem, public_jwk, created_at, retired_at FROM signing_keys ORDER BY created_at DESC, kid",
            )
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(StoredKey {
                        kid: r.try_get("kid")?,
                        alg: r.try_get("alg")?,
                        private_pem: r.try_get("private_pem")?,
                        public_jwk: serde_json::from_str(r.try_get::<&str, _>("public_jwk")?)?,
                        created_at: r.try_get("created_at")?,
                        retired_at: r.try_get("retired_at")?,
                    })
                })
                .collect()
        })
    }

    fn rotate_in(&self, key: StoredKey) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            sqlx::query("UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL")
                .bind(key.created_at)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO signing_keys (kid, alg, private_pem, public_jwk, created_at, retired_at) VALUES (?, ?, ?, ?, ?, NULL)",
            )
            .bind(&key.kid)
            .bind(&key.alg)
            .bind(&key.private_pem)
            .bind(key.public_jwk.to_string())
            .bind(key.created_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn drop_keys_retired_before(&self, before: i64) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let done = sqlx::query(
                "DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < ?",
            )
            .bind(before)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected())
        })
    }

    fn insert_token<'a>(&'a self, t: &'a TokenRecord) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO tokens (id, kind, client_id, sub, family, grant_type, target, scope, data, issued_at, expires_at, used, revoked)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&t.id)
            .bind(&t.kind)
            .bind(&t.client_id)
            .bind(&t.sub)
            .bind(&t.family)
            .bind(&t.grant_type)
            .bind(t.target.to_string())
            .bind(&t.scope)
            .bind(t.data.to_string())
            .bind(t.issued_at)
            .bind(t.expires_at)
            .bind(i64::from(t.used))
            .bind(i64::from(t.revoked))
            .execute(&self.pool)
            .await?;
            Ok(())
        })
    }

    fn get_token<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<TokenRecord>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT * FROM tokens WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(token_from_row).transpose()
        })
    }

    fn use_token<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let done = sqlx::query("UPDATE tokens SET used = 1 WHERE id = ? AND used = 0")
                .bind(id)
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    fn revoke_token<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let done = sqlx::query("UPDATE tokens SET revoked = 1 WHERE id = ?")
                .bind(id)
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    fn revoke_family<'a>(&'a self, family: &'a str) -> StoreFuture<'a, Vec<(String, i64)>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "UPDATE tokens SET revoked = 1 WHERE family = ? RETURNING id, expires_at",
            )
            .bind(family)
            .fetch_all(&self.pool)
            .await?;
            Ok(ids_and_expiry(&rows))
        })
    }

    fn revoked_tokens(&self, now: i64) -> StoreFuture<'_, Vec<(String, i64)>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT id, expires_at FROM tokens WHERE revoked = 1 AND expires_at > ?",
            )
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
            Ok(ids_and_expiry(&rows))
        })
    }

    fn use_assertion_id<'a>(
        &'a self,
        issuer: &'a str,
        jti: &'a str,
        expires_at: i64,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            sqlx::query("DELETE FROM assertion_ids WHERE expires_at < ?")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query(
                "INSERT OR IGNORE INTO assertion_ids (issuer, jti, expires_at) VALUES (?, ?, ?)",
            )
            .bind(issuer)
            .bind(jti)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(done.rows_affected() == 1)
        })
    }

    fn append_audit<'a>(&'a self, at: i64, event: &'a str, body: &'a str) -> StoreFuture<'a, i64> {
        Box::pin(async move {
            let done = sqlx::query("INSERT INTO audit (at, event, body) VALUES (?, ?, ?)")
                .bind(at)
                .bind(event)
                .bind(body)
                .execute(&self.pool)
                .await?;
            Ok(done.last_insert_rowid())
        })
    }

    fn append_audit_batch<'a>(
        &'a self,
        events: &'a [(i64, &'a str, String)],
    ) -> StoreFuture<'a, ()> {
        // One multi-row INSERT per chunk: each statement is a round trip to sqlx's SQLite worker
        // thread, so one per event would cost a thread hand-off each. 3 × 300 bound values stay
        // far below SQLite's limit.
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            for chunk in events.chunks(300) {
                let mut insert =
                    sqlx::QueryBuilder::<sqlx::Sqlite>::new("INSERT INTO audit (at, event, body) ");
                insert.push_values(chunk, |mut row, (at, event, body)| {
                    row.push_bind(*at)
                        .push_bind(*event)
                        .push_bind(body.as_str());
                });
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn audit_since(&self, after: i64, limit: i64) -> StoreFuture<'_, Vec<AuditRecord>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT seq, at, event, body FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
            )
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(AuditRecord {
                        seq: r.try_get("seq")?,
                        at: r.try_get("at")?,
                        event: r.try_get("event")?,
                        body: serde_json::from_str(r.try_get::<&str, _>("body")?)?,
                    })
                })
                .collect()
        })
    }

    fn get_meta<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<String>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT value FROM meta WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
            Ok(row.map(|r| r.try_get("value")).transpose()?)
        })
    }

    fn put_meta<'a>(&'a self, key: &'a str, value: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(key)
                .bind(value)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
    }

    fn put_credential<'a>(&'a self, r: &'a CredentialRecord) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO credentials (connection_id, owner, kind, key_id, nonce, ciphertext, scope, source, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (connection_id, owner) DO UPDATE SET kind = excluded.kind, key_id = excluded.key_id, \
                 nonce = excluded.nonce, ciphertext = excluded.ciphertext, scope = excluded.scope, \
                 source = excluded.source, updated_at = excluded.updated_at",
            )
            .bind(&r.connection_id)
            .bind(&r.owner)
            .bind(&r.kind)
            .bind(&r.key_id)
            .bind(&r.nonce)
            .bind(&r.ciphertext)
            .bind(&r.scope)
            .bind(r.source.as_str())
            .bind(r.updated_at)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
    }

    fn get_credential<'a>(
        &'a self,
        connection: &'a str,
        owner: &'a str,
    ) -> StoreFuture<'a, Option<CredentialRecord>> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT connection_id, owner, kind, key_id, nonce, ciphertext, scope, source, updated_at \
                 FROM credentials WHERE connection_id = ? AND owner = ?",
            )
            .bind(connection)
            .bind(owner)
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map(credential_row).transpose()
        })
    }

    fn list_credentials(&self) -> StoreFuture<'_, Vec<CredentialRecord>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT connection_id, owner, kind, key_id, nonce, ciphertext, scope, source, updated_at \
                 FROM credentials ORDER BY connection_id, owner",
            )
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(credential_row).collect()
        })
    }

    fn delete_credential<'a>(
        &'a self,
        connection: &'a str,
        owner: &'a str,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let done = sqlx::query("DELETE FROM credentials WHERE connection_id = ? AND owner = ?")
                .bind(connection)
                .bind(owner)
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() > 0)
        })
    }

    fn rekey_vault<'a>(
        &'a self,
        records: &'a [CredentialRecord],
        keys: &'a [(String, String)],
        meta: &'a [(&'a str, &'a str)],
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            for r in records {
                sqlx::query(
                    "UPDATE credentials SET key_id = ?, nonce = ?, ciphertext = ? WHERE connection_id = ? AND owner = ?",
                )
                .bind(&r.key_id)
                .bind(&r.nonce)
                .bind(&r.ciphertext)
                .bind(&r.connection_id)
                .bind(&r.owner)
                .execute(&mut *tx)
                .await?;
            }
            for (kid, private) in keys {
                sqlx::query("UPDATE signing_keys SET private_pem = ? WHERE kid = ?")
                    .bind(private)
                    .bind(kid)
                    .execute(&mut *tx)
                    .await?;
            }
            for (key, value) in meta {
                sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                    .bind(key)
                    .bind(value)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            // The WAL still holds the pages as they were before (secrets sealed with the old
            // key, or not sealed at all): write them back and empty it.
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
            Ok(())
        })
    }
}

/// `(id, expires_at)` of token rows.
fn ids_and_expiry(rows: &[sqlx::sqlite::SqliteRow]) -> Vec<(String, i64)> {
    rows.iter()
        .map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1)))
        .collect()
}

fn credential_row(r: &sqlx::sqlite::SqliteRow) -> Result<CredentialRecord, StoreError> {
    let source: String = r.try_get("source")?;
    Ok(CredentialRecord {
        connection_id: r.try_get("connection_id")?,
        owner: r.try_get("owner")?,
        kind: r.try_get("kind")?,
        key_id: r.try_get("key_id")?,
        nonce: r.try_get("nonce")?,
        ciphertext: r.try_get("ciphertext")?,
        scope: r.try_get("scope")?,
        source: Source::from_name(&source),
        updated_at: r.try_get("updated_at")?,
    })
}
