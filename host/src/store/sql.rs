//! The store's operations in SQL, written once for both backends. The statements are the same
//! text for SQLite and PostgreSQL (`$n` parameters, `ON CONFLICT`, `RETURNING`, integers as
//! 64-bit, binary as bytes); what differs is left to each backend's hooks:
//!
//! - `announce(tx, topic, version)`: tell other servers of a change, in its transaction
//!   (PostgreSQL: `pg_notify`; SQLite: nothing, its one server applies its changes itself);
//! - `after_rekey()`: clean up after the vault key replaced sealed values (SQLite rewrites its WAL);
//! - `watch(seen, within)`: wait for a change ([`Store::wait_for_change`]);
//! - `named_lock(name)`: a store-wide lock ([`Store::lock`]).
//!
//! [`Store::wait_for_change`]: super::Store::wait_for_change
//! [`Store::lock`]: super::Store::lock

/// Implements [`super::Store`] for a backend: its type, its `sqlx` database, its row type and the
/// SQL expression of the current time in unix seconds.
macro_rules! sql_store {
    ($store:ty, $db:ty, $row:ty, $now:literal) => {
        impl $store {
            /// Bumps a topic's version in `tx` and announces it; returns the new version.
            async fn bump(
                tx: &mut sqlx::Transaction<'static, $db>,
                topic: $crate::store::records::Topic,
            ) -> Result<i64, $crate::store::error::StoreError> {
                let version: i64 = sqlx::query_scalar(
                    "UPDATE versions SET version = version + 1 WHERE topic = $1 RETURNING version",
                )
                .bind(topic.as_str())
                .fetch_one(&mut **tx)
                .await?;
                Self::announce(tx, topic, version).await?;
                Ok(version)
            }

            async fn count_evictable(
                tx: &mut sqlx::Transaction<'static, $db>,
                kind: &str,
            ) -> Result<i64, sqlx::Error> {
                sqlx::query_scalar("SELECT count(*) FROM flows WHERE kind = $1 AND evictable = 1")
                    .bind(kind)
                    .fetch_one(&mut **tx)
                    .await
            }

            /// Bounds an operation in time, whatever the database does: a connection that stops
            /// answering without closing (a partition, a failover dropping packets) fails the
            /// operation after `OPERATION_TIMEOUT` instead of holding it.
            fn bounded<'a, T: Send + 'a>(
                operation: impl std::future::Future<Output = Result<T, $crate::store::error::StoreError>> + Send + 'a,
            ) -> $crate::store::interface::StoreFuture<'a, T> {
                Box::pin(async move {
                    tokio::time::timeout($crate::store::interface::OPERATION_TIMEOUT, operation)
                        .await
                        .unwrap_or(Err($crate::store::error::StoreError::TimedOut))
                })
            }

            fn audit_record(
                row: &$row,
            ) -> Result<$crate::store::records::AuditRecord, $crate::store::error::StoreError> {
                use sqlx::Row as _;
                Ok($crate::store::records::AuditRecord {
                    seq: row.try_get("seq")?,
                    at: row.try_get("at")?,
                    event: row.try_get("event")?,
                    body: serde_json::from_str(row.try_get::<&str, _>("body")?)?,
                })
            }

            fn token_row(
                row: &$row,
            ) -> Result<$crate::store::records::TokenRecord, $crate::store::error::StoreError> {
                use sqlx::Row as _;
                Ok($crate::store::records::TokenRecord {
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

            fn credential_row(
                r: &$row,
            ) -> Result<$crate::store::records::CredentialRecord, $crate::store::error::StoreError> {
                use sqlx::Row as _;
                Ok($crate::store::records::CredentialRecord {
                    connection_id: r.try_get("connection_id")?,
                    owner: r.try_get("owner")?,
                    kind: r.try_get("kind")?,
                    key_id: r.try_get("key_id")?,
                    nonce: r.try_get("nonce")?,
                    ciphertext: r.try_get("ciphertext")?,
                    scope: r.try_get("scope")?,
                    source: $crate::store::records::Source::from_name(r.try_get("source")?),
                    updated_at: r.try_get("updated_at")?,
                })
            }

            fn flow_row(
                kind: $crate::store::records::FlowKind,
                r: &$row,
            ) -> Result<$crate::store::records::FlowRecord, $crate::store::error::StoreError> {
                use sqlx::Row as _;
                Ok($crate::store::records::FlowRecord {
                    kind,
                    id: r.try_get("id")?,
                    owner: r.try_get("owner")?,
                    body: r.try_get("body")?,
                    evictable: r.try_get::<i64, _>("evictable")? != 0,
                    expires_at: r.try_get("expires_at")?,
                })
            }

            /// `(id, expires_at)` of token rows.
            /// Runs `update` (an `UPDATE tokens ... RETURNING id, expires_at` taking `key` as `$1`
            /// and the new revocations version as `$2`) in `tx`; commits, and so announces the
            /// version, only when it revoked something. Returns the revoked ids and expiry times.
            async fn revoke_rows(
                mut tx: sqlx::Transaction<'static, $db>,
                update: &'static str,
                key: &str,
            ) -> Result<Vec<(String, i64)>, $crate::store::error::StoreError> {
                let version = Self::bump(&mut tx, $crate::store::records::Topic::Revocations).await?;
                let rows = sqlx::query(update)
                    .bind(key)
                    .bind(version)
                    .fetch_all(&mut *tx)
                    .await?;
                if rows.is_empty() {
                    return Ok(Vec::new());
                }
                let revoked = Self::ids_and_expiry(&rows)?;
                tx.commit().await?;
                Ok(revoked)
            }

            fn ids_and_expiry(rows: &[$row]) -> Result<Vec<(String, i64)>, $crate::store::error::StoreError> {
                use sqlx::Row as _;
                rows.iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .collect()
            }
        }

        impl $crate::store::interface::Store for $store {
            fn put_entity<'a>(
                &'a self,
                kind: $crate::store::records::Kind,
                id: &'a str,
                body: &'a serde_json::Value,
                source: $crate::store::records::Source,
            ) -> $crate::store::interface::StoreFuture<'a, ()> {
                Self::bounded(async move {
                    let mut tx = self.pool.begin().await?;
                    // Writing what is there already changes nothing (a restart with the same
                    // configuration), and bumps no version.
                    let done = sqlx::query(concat!(
                        "INSERT INTO entities (kind, id, body, source, updated_at) VALUES ($1, $2, $3, $4, ",
                        $now,
                        ") ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body, source = excluded.source, updated_at = excluded.updated_at \
                         WHERE entities.body <> excluded.body OR entities.source <> excluded.source"
                    ))
                    .bind(kind.as_str())
                    .bind(id)
                    .bind(body.to_string())
                    .bind(source.as_str())
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() > 0 {
                        Self::bump(&mut tx, $crate::store::records::Topic::Entities).await?;
                    }
                    tx.commit().await?;
                    Ok(())
                })
            }

            fn get_entity<'a>(
                &'a self,
                kind: $crate::store::records::Kind,
                id: &'a str,
            ) -> $crate::store::interface::StoreFuture<'a, Option<(serde_json::Value, $crate::store::records::Source)>> {
                Self::bounded(async move {
                    use sqlx::Row as _;
                    let row = sqlx::query("SELECT body, source FROM entities WHERE kind = $1 AND id = $2")
                        .bind(kind.as_str())
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                    row.map(|r| {
                        Ok((
                            serde_json::from_str(r.try_get::<&str, _>("body")?)?,
                            $crate::store::records::Source::from_name(r.try_get::<&str, _>("source")?),
                        ))
                    })
                    .transpose()
                })
            }

            fn list_entities(
                &self,
                kind: $crate::store::records::Kind,
            ) -> $crate::store::interface::StoreFuture<'_, Vec<(String, serde_json::Value, $crate::store::records::Source)>> {
                Self::bounded(async move {
                    use sqlx::Row as _;
                    let rows = sqlx::query(
                        "SELECT id, body, source FROM entities WHERE kind = $1 ORDER BY id",
                    )
                    .bind(kind.as_str())
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            Ok((
                                r.try_get("id")?,
                                serde_json::from_str(r.try_get::<&str, _>("body")?)?,
                                $crate::store::records::Source::from_name(r.try_get::<&str, _>("source")?),
                            ))
                        })
                        .collect()
                })
            }

            fn delete_entity<'a>(
                &'a self,
                kind: $crate::store::records::Kind,
                id: &'a str,
            ) -> $crate::store::interface::StoreFuture<'a, bool> {
                Self::bounded(async move {
                    let mut tx = self.pool.begin().await?;
                    let done = sqlx::query("DELETE FROM entities WHERE kind = $1 AND id = $2")
                        .bind(kind.as_str())
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM secrets WHERE kind = $1 AND id = $2")
                        .bind(kind.as_str())
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    if kind == $crate::store::records::Kind::Connection {
                        // A connection's credentials go with it.
                        let gone = sqlx::query("DELETE FROM credentials WHERE connection_id = $1")
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        if gone.rows_affected() > 0 {
                            Self::bump(&mut tx, $crate::store::records::Topic::Credentials).await?;
                        }
                    }
                    let existed = done.rows_affected() > 0;
                    if existed {
                        Self::bump(&mut tx, $crate::store::records::Topic::Entities).await?;
                    }
                    tx.commit().await?;
                    Ok(existed)
                })
            }

            fn prune_config<'a>(
                &'a self,
                kind: $crate::store::records::Kind,
                keep: &'a [String],
            ) -> $crate::store::interface::StoreFuture<'a, u64> {
                Self::bounded(async move {
                    use sqlx::Row as _;
                    let rows = sqlx::query(
                        "SELECT id FROM entities WHERE kind = $1 AND source = 'config'",
                    )
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

            fn put_secret<'a>(
                &'a self,
                kind: $crate::store::records::Kind,
                id: &'a str,
                hash: &'a str,
            ) -> $crate::store::interface::StoreFuture<'a, ()> {
                Self::bounded(async move {
                    let mut tx = self.pool.begin().await?;
                    let done = sqlx::query(
                        "INSERT INTO secrets (kind, id, hash) VALUES ($1, $2, $3) \
                         ON CONFLICT (kind, id) DO UPDATE SET hash = excluded.hash WHERE secrets.hash <> excluded.hash",
                    )
                    .bind(kind.as_str())
                    .bind(id)
                    .bind(hash)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() > 0 {
                        Self::bump(&mut tx, $crate::store::records::Topic::Entities).await?;
                    }
                    tx.commit().await?;
                    Ok(())
                })
            }

            fn get_secret<'a>(
                &'a self,
                kind: $crate::store::records::Kind,
                id: &'a str,
            ) -> $crate::store::interface::StoreFuture<'a, Option<String>> {
                Self::bounded(async move {
                    let hash = sqlx::query_scalar("SELECT hash FROM secrets WHERE kind = $1 AND id = $2")
                        .bind(kind.as_str())
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(hash)
                })
            }

            fn keys(&self) -> $crate::store::interface::StoreFuture<'_, Vec<$crate::store::records::StoredKey>> {
                Self::bounded(async move {
                    use sqlx::Row as _;
                    let rows = sqlx::query(
                        "SELECT kid, alg, private_pem, public_jwk, created_at, retired_at FROM signing_keys ORDER BY created_at DESC, kid",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            Ok($crate::store::records::StoredKey {
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

            fn rotate_in(&self, key: $crate::store::records::StoredKey) -> $crate::store::interface::StoreFuture<'_, ()> {
                Self::bounded(async move {
                    let mut tx = self.pool.begin().await?;
                    sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL")
                        .bind(key.created_at)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "INSERT INTO signing_keys (kid, alg, private_pem, public_jwk, created_at, retired_at) VALUES ($1, $2, $3, $4, $5, NULL)",
                    )
                    .bind(&key.kid)
                    .bind(&key.alg)
                    .bind(&key.private_pem)
                    .bind(key.public_jwk.to_string())
                    .bind(key.created_at)
                    .execute(&mut *tx)
                    .await?;
                    Self::bump(&mut tx, $crate::store::records::Topic::Keys).await?;
                    tx.commit().await?;
                    Ok(())
                })
            }

            fn drop_keys_retired_before(&self, before: i64) -> $crate::store::interface::StoreFuture<'_, u64> {
                Self::bounded(async move {
                    let mut tx = self.pool.begin().await?;
                    let done = sqlx::query(
                        "DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < $1",
                    )
                    .bind(before)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() > 0 {
                        Self::bump(&mut tx, $crate::store::records::Topic::Keys).await?;
                    }
                    tx.commit().await?;
                    Ok(done.rows_affected())
                })
            }

            fn insert_token<'a>(
                &'a self,
                t: &'a $crate::store::records::TokenRecord,
            ) -> $crate::store::interface::StoreFuture<'a, bool> {
                Self::bounded(async move {
                    let mut tx = self.pool.begin().await?;
                    // Under the family's lock: a token joining a family whose revocation (a
                    // replayed code or refresh token, at another server) committed first is
                    // refused; a revocation that comes after finds it.
                    Self::lock_family(&mut tx, &t.family).await?;
                    let revoked_version = if t.revoked {
                        // A token recorded as revoked (an access token revoked before it had a
                        // row) is a revocation like any other: bumped and announced.
                        Some(Self::bump(&mut tx, $crate::store::records::Topic::Revocations).await?)
                    } else {
                        None
                    };
                    let done = sqlx::query(
                        "INSERT INTO tokens (id, kind, client_id, sub, family, grant_type, target, scope, data, issued_at, expires_at, used, revoked, revoked_version) \
                         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 \
                         WHERE $13 = 1 OR NOT EXISTS (SELECT 1 FROM tokens WHERE family = $5 AND revoked = 1) \
                         ON CONFLICT (id) DO UPDATE SET revoked = 1, revoked_version = excluded.revoked_version \
                         WHERE excluded.revoked = 1",
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
                    .bind(revoked_version)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(t.revoked || done.rows_affected() == 1)
                })
            }

            fn get_token<'a>(
                &'a self,
                id: &'a str,
            ) -> $crate::store::interface::StoreFuture<'a, Option<$crate::store::records::TokenRecord>> {
                Self::bounded(async move {
                    let row = sqlx::query(
                        "SELECT id, kind, client_id, sub, family, grant_type, target, scope, data, issued_at, expires_at, used, revoked \
                         FROM tokens WHERE id = $1",
                    )
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.as_ref().map(Self::token_row).transpose()
                })
            }

            fn use_token<'a>(&'a self, id: &'a str) -> $crate::store::interface::StoreFuture<'a, bool> {
                Self::bounded(async move {
                    // One statement: of two servers using the same token at once, one changes
                    // the row and the other finds it used.
                    let done = sqlx::query("UPDATE tokens SET used = 1 WHERE id = $1 AND used = 0")
                        .bind(id)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() == 1)
                })
            }

            fn revoke_token<'a>(&'a self, id: &'a str) -> $crate::store::interface::StoreFuture<'a, bool> {
                Self::bounded(async move {
                    let mut tx = self.pool.begin().await?;
                    let version = Self::bump(&mut tx, $crate::store::records::Topic::Revocations).await?;
                    let done = sqlx::query(
                        "UPDATE tokens SET revoked = 1, revoked_version = $2 WHERE id = $1 AND revoked = 0",
                    )
                    .bind(id)
                    .bind(version)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        // Unknown or revoked already: nothing changed, nothing to announce.
                        return Ok(false);
                    }
                    tx.commit().await?;
                    Ok(true)
                })
            }

            fn revoke_family<'a>(
                &'a self,
                family: &'a str,
            ) -> $crate::store::interface::StoreFuture<'a, Vec<(String, i64)>> {
                Self::bounded(async move {
                    let mut tx = self.pool.begin().await?;
                    Self::lock_family(&mut tx, family).await?;
                    Self::revoke_rows(
                        tx,
                        "UPDATE tokens SET revoked = 1, revoked_version = $2 WHERE family = $1 AND revoked = 0 RETURNING id, expires_at",
                        family,
                    )
                    .await
                })
            }

            fn revoke_user_tokens<'a>(
                &'a self,
                sub: &'a str,
            ) -> $crate::store::interface::StoreFuture<'a, Vec<(String, i64)>> {
                Self::bounded(async move {
                    let tx = self.pool.begin().await?;
                    Self::revoke_rows(
                        tx,
                        "UPDATE tokens SET revoked = 1, revoked_version = $2 WHERE sub = $1 AND grant_type <> 'client_credentials' AND revoked = 0 RETURNING id, expires_at",
                        sub,
                    )
                    .await
                })
            }

            fn revoke_client_tokens<'a>(
                &'a self,
                client_id: &'a str,
            ) -> $crate::store::interface::StoreFuture<'a, Vec<(String, i64)>> {
                Self::bounded(async move {
                    let tx = self.pool.begin().await?;
                    Self::revoke_rows(
                        tx,
                        "UPDATE tokens SET revoked = 1, revoked_version = $2 WHERE client_id = $1 AND revoked = 0 RETURNING id, expires_at",
                        client_id,
                    )
                    .await
                })
            }

            fn revoked_tokens(&self, now: i64) -> $crate::store::interface::StoreFuture<'_, Vec<(String, i64)>> {
                Self::bounded(async move {
                    let rows = sqlx::query(
                        "SELECT id, expires_at FROM tokens WHERE revoked = 1 AND expires_at > $1",
                    )
                    .bind(now)
                    .fetch_all(&self.pool)
                    .await?;
                    Self::ids_and_expiry(&rows)
                })
            }

            fn revoked_since(
                &self,
                after: i64,
                now: i64,
            ) -> $crate::store::interface::StoreFuture<'_, Vec<(String, i64)>> {
                Self::bounded(async move {
                    let rows = sqlx::query(
                        "SELECT id, expires_at FROM tokens WHERE revoked_version > $1 AND expires_at > $2",
                    )
                    .bind(after)
                    .bind(now)
                    .fetch_all(&self.pool)
                    .await?;
                    Self::ids_and_expiry(&rows)
                })
            }

            fn use_assertion_id<'a>(
                &'a self,
                issuer: &'a str,
                jti: &'a str,
                expires_at: i64,
                now: i64,
            ) -> $crate::store::interface::StoreFuture<'a, bool> {
                Self::bounded(async move {
                    let mut tx = self.pool.begin().await?;
                    sqlx::query("DELETE FROM assertion_ids WHERE issuer = $1 AND jti = $2 AND expires_at < $3")
                        .bind(issuer)
                        .bind(jti)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    // Of two servers recording the same id at once, one inserts it.
                    let done = sqlx::query(
                        "INSERT INTO assertion_ids (issuer, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
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

            fn append_audit<'a>(
                &'a self,
                r: &'a $crate::store::records::NewAuditRecord<'a>,
            ) -> $crate::store::interface::StoreFuture<'a, i64> {
                Self::bounded(async move {
                    let seq = sqlx::query_scalar(
                        "INSERT INTO audit (at, event, client_id, sub, entity, body) \
                         VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq",
                    )
                    .bind(r.at)
                    .bind(r.event)
                    .bind(r.client_id)
                    .bind(r.sub)
                    .bind(r.entity.as_deref())
                    .bind(r.body.as_str())
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(seq)
                })
            }

            fn append_audit_batch<'a>(
                &'a self,
                events: &'a [$crate::store::records::NewAuditRecord<'a>],
            ) -> $crate::store::interface::StoreFuture<'a, ()> {
                // One multi-row INSERT per chunk: each statement is a round trip (to SQLite's
                // worker thread, or to the database server), so one per event would cost one
                // each. 6 × 150 bound values stay far below either database's limit.
                Self::bounded(async move {
                    let mut tx = self.pool.begin().await?;
                    for chunk in events.chunks(150) {
                        let mut insert = sqlx::QueryBuilder::<$db>::new(
                            "INSERT INTO audit (at, event, client_id, sub, entity, body) ",
                        );
                        insert.push_values(chunk, |mut row, r| {
                            row.push_bind(r.at)
                                .push_bind(r.event)
                                .push_bind(r.client_id)
                                .push_bind(r.sub)
                                .push_bind(r.entity.as_deref())
                                .push_bind(r.body.as_str());
                        });
                        insert.build().execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(())
                })
            }

            fn audit_since(
                &self,
                after: i64,
                limit: i64,
            ) -> $crate::store::interface::StoreFuture<'_, Vec<$crate::store::records::AuditRecord>> {
                Self::bounded(async move {
                    let rows = sqlx::query(
                        "SELECT seq, at, event, body FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
                    )
                    .bind(after)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(Self::audit_record).collect()
                })
            }

            fn audit_search<'a>(
                &'a self,
                filter: &'a $crate::store::records::AuditFilter,
                limit: i64,
            ) -> $crate::store::interface::StoreFuture<'a, Vec<$crate::store::records::AuditRecord>> {
                Self::bounded(async move {
                    let mut query = sqlx::QueryBuilder::<$db>::new(
                        "SELECT seq, at, event, body FROM audit WHERE 1 = 1",
                    );
                    if let Some(v) = &filter.client_id {
                        query.push(" AND client_id = ").push_bind(v.as_str());
                    }
                    if let Some(v) = &filter.sub {
                        query.push(" AND sub = ").push_bind(v.as_str());
                    }
                    if let Some(v) = &filter.entity {
                        query.push(" AND entity = ").push_bind(v.as_str());
                    }
                    if let Some(v) = &filter.event {
                        query.push(" AND event = ").push_bind(v.as_str());
                    }
                    if let Some(v) = filter.from {
                        query.push(" AND at >= ").push_bind(v);
                    }
                    if let Some(v) = filter.to {
                        query.push(" AND at <= ").push_bind(v);
                    }
                    if let Some(v) = filter.after {
                        query.push(" AND seq > ").push_bind(v);
                    }
                    if let Some(v) = filter.before {
                        query.push(" AND seq < ").push_bind(v);
                    }
                    query.push(if filter.oldest_first {
                        " ORDER BY seq ASC LIMIT "
                    } else {
                        " ORDER BY seq DESC LIMIT "
                    });
                    query.push_bind(limit);
                    let rows = query.build().fetch_all(&self.pool).await?;
                    rows.iter().map(Self::audit_record).collect()
                })
            }

            fn put_credential<'a>(
                &'a self,
                r: &'a $crate::store::records::CredentialRecord,
            ) -> $crate::store::interface::StoreFuture<'a, ()> {
                Self::bounded(async move {
                    let mut tx = self.pool.begin().await?;
                    sqlx::query(
                        "INSERT INTO credentials (connection_id, owner, kind, key_id, nonce, ciphertext, scope, source, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
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
                    .execute(&mut *tx)
                    .await?;
                    Self::bump(&mut tx, $crate::store::records::Topic::Credentials).await?;
                    tx.commit().await?;
                    Ok(())
                })
            }

            fn get_credential<'a>(
                &'a self,
                connection: &'a str,
                owner: &'a str,
            ) -> $crate::store::interface::StoreFuture<'a, Option<$crate::store::records::CredentialRecord>> {
                Self::bounded(async move {
                    let row = sqlx::query(
                        "SELECT connection_id, owner, kind, key_id, nonce, ciphertext, scope, source, updated_at \
                         FROM credentials WHERE connection_id = $1 AND owner = $2",
                    )
                    .bind(connection)
                    .bind(owner)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.as_ref().map(Self::credential_row).transpose()
                })
            }

            fn list_credentials(
                &self,
            ) -> $crate::store::interface::StoreFuture<'_, Vec<$crate::store::records::CredentialRecord>> {
                Self::bounded(async move {
                    let rows = sqlx::query(
                        "SELECT connection_id, owner, kind, key_id, nonce, ciphertext, scope, source, updated_at \
                         FROM credentials ORDER BY connection_id, owner",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(Self::credential_row).collect()
                })
            }

            fn delete_credential<'a>(
                &'a self,
                connection: &'a str,
                owner: &'a str,
            ) -> $crate::store::interface::StoreFuture<'a, bool> {
                Self::bounded(async move {
                    let mut tx = self.pool.begin().await?;
                    let done = sqlx::query("DELETE FROM credentials WHERE connection_id = $1 AND owner = $2")
                        .bind(connection)
                        .bind(owner)
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Ok(false);
                    }
                    Self::bump(&mut tx, $crate::store::records::Topic::Credentials).await?;
                    tx.commit().await?;
                    Ok(true)
                })
            }

            fn rekey_vault<'a>(
                &'a self,
                records: &'a [$crate::store::records::CredentialRecord],
                keys: &'a [(String, String)],
                meta: &'a [(&'a str, &'a str)],
            ) -> $crate::store::interface::StoreFuture<'a, ()> {
                Self::bounded(async move {
                    let mut tx = self.pool.begin().await?;
                    for r in records {
                        sqlx::query(
                            "UPDATE credentials SET key_id = $1, nonce = $2, ciphertext = $3 WHERE connection_id = $4 AND owner = $5",
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
                        sqlx::query("UPDATE signing_keys SET private_pem = $1 WHERE kid = $2")
                            .bind(private)
                            .bind(kid)
                            .execute(&mut *tx)
                            .await?;
                    }
                    for (key, value) in meta {
                        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                            .bind(key)
                            .bind(value)
                            .execute(&mut *tx)
                            .await?;
                    }
                    if !keys.is_empty() {
                        Self::bump(&mut tx, $crate::store::records::Topic::Keys).await?;
                    }
                    if !records.is_empty() {
                        Self::bump(&mut tx, $crate::store::records::Topic::Credentials).await?;
                    }
                    tx.commit().await?;
                    self.after_rekey().await
                })
            }

            fn get_meta<'a>(&'a self, key: &'a str) -> $crate::store::interface::StoreFuture<'a, Option<String>> {
                Self::bounded(async move {
                    let value = sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
                        .bind(key)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(value)
                })
            }

            fn put_meta<'a>(&'a self, key: &'a str, value: &'a str) -> $crate::store::interface::StoreFuture<'a, ()> {
                Self::bounded(async move {
                    sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                        .bind(key)
                        .bind(value)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                })
            }

            fn lock<'a>(&'a self, name: &'a str) -> $crate::store::interface::StoreFuture<'a, $crate::store::interface::ChangeLock> {
                Self::bounded(self.named_lock(name))
            }

            fn versions(&self) -> $crate::store::interface::StoreFuture<'_, $crate::store::records::Versions> {
                Self::bounded(async move {
                    let rows: Vec<(String, i64)> =
                        sqlx::query_as("SELECT topic, version FROM versions")
                            .fetch_all(&self.pool)
                            .await?;
                    let mut versions = $crate::store::records::Versions::default();
                    for (topic, version) in rows {
                        versions.set(&topic, version);
                    }
                    Ok(versions)
                })
            }

            fn wait_for_change<'a>(
                &'a self,
                seen: $crate::store::records::Versions,
                within: std::time::Duration,
            ) -> $crate::store::interface::StoreFuture<'a, $crate::store::records::Versions> {
                self.watch(seen, within)
            }

            fn put_flow<'a>(
                &'a self,
                flow: &'a $crate::store::records::FlowRecord,
                cap: i64,
                owner_cap: i64,
                now: i64,
            ) -> $crate::store::interface::StoreFuture<'a, ()> {
                Self::bounded(async move {
                    let kind = flow.kind.as_str();
                    let mut tx = self.pool.begin().await?;
                    sqlx::query(
                        "INSERT INTO flows (kind, id, owner, body, evictable, expires_at) VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (kind, id) DO UPDATE SET owner = excluded.owner, body = excluded.body, \
                         evictable = excluded.evictable, expires_at = excluded.expires_at",
                    )
                    .bind(kind)
                    .bind(&flow.id)
                    .bind(&flow.owner)
                    .bind(&flow.body)
                    .bind(i64::from(flow.evictable))
                    .bind(flow.expires_at)
                    .execute(&mut *tx)
                    .await?;
                    // One owner's flows beyond its cap: its own oldest go (a user signing in again
                    // and again, one browser opening request after request).
                    if let Some(owner) = &flow.owner {
                        sqlx::query(
                            "DELETE FROM flows WHERE kind = $1 AND id IN \
                             (SELECT id FROM flows WHERE kind = $1 AND owner = $2 AND id <> $3 \
                              ORDER BY expires_at DESC LIMIT $5 OFFSET $4)",
                        )
                        .bind(kind)
                        .bind(owner)
                        .bind(&flow.id)
                        .bind(owner_cap - 1)
                        .bind(i64::MAX)
                        .execute(&mut *tx)
                        .await?;
                    }
                    // The kind full of flows that may give way (a flood of new visitors): expired
                    // ones go, then those closest to expiry, as many as it is over. Signed-in
                    // sessions and connect flows never give way; they are bounded per owner.
                    if flow.evictable && Self::count_evictable(&mut tx, kind).await? > cap {
                        sqlx::query("DELETE FROM flows WHERE kind = $1 AND evictable = 1 AND expires_at <= $2")
                            .bind(kind)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        let over = Self::count_evictable(&mut tx, kind).await? - cap;
                        if over > 0 {
                            sqlx::query(
                                "DELETE FROM flows WHERE kind = $1 AND id IN \
                                 (SELECT id FROM flows WHERE kind = $1 AND evictable = 1 AND id <> $2 ORDER BY expires_at LIMIT $3)",
                            )
                            .bind(kind)
                            .bind(&flow.id)
                            .bind(over)
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                    tx.commit().await?;
                    Ok(())
                })
            }

            fn update_flow<'a>(
                &'a self,
                flow: &'a $crate::store::records::FlowRecord,
                owner: &'a str,
                now: i64,
            ) -> $crate::store::interface::StoreFuture<'a, bool> {
                Self::bounded(async move {
                    // Only a flow still there, still the same owner's: one taken in between by
                    // another server stays taken.
                    let done = sqlx::query(
                        "UPDATE flows SET owner = $4, body = $5 WHERE kind = $1 AND id = $2 AND owner = $3 AND expires_at > $6",
                    )
                    .bind(flow.kind.as_str())
                    .bind(&flow.id)
                    .bind(owner)
                    .bind(&flow.owner)
                    .bind(&flow.body)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                })
            }

            fn get_flow<'a>(
                &'a self,
                kind: $crate::store::records::FlowKind,
                id: &'a str,
                now: i64,
            ) -> $crate::store::interface::StoreFuture<'a, Option<$crate::store::records::FlowRecord>> {
                Self::bounded(async move {
                    let row = sqlx::query(
                        "SELECT id, owner, body, evictable, expires_at FROM flows WHERE kind = $1 AND id = $2 AND expires_at > $3",
                    )
                    .bind(kind.as_str())
                    .bind(id)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.as_ref().map(|r| Self::flow_row(kind, r)).transpose()
                })
            }

            fn take_flow<'a>(
                &'a self,
                kind: $crate::store::records::FlowKind,
                id: &'a str,
                owner: &'a str,
                now: i64,
            ) -> $crate::store::interface::StoreFuture<'a, Option<$crate::store::records::FlowRecord>> {
                Self::bounded(async move {
                    let row = sqlx::query(
                        "DELETE FROM flows WHERE kind = $1 AND id = $2 AND owner = $3 RETURNING id, owner, body, evictable, expires_at",
                    )
                    .bind(kind.as_str())
                    .bind(id)
                    .bind(owner)
                    .fetch_optional(&self.pool)
                    .await?;
                    let flow = row.as_ref().map(|r| Self::flow_row(kind, r)).transpose()?;
                    Ok(flow.filter(|f| f.expires_at > now))
                })
            }

            fn delete_flows_of<'a>(
                &'a self,
                kind: $crate::store::records::FlowKind,
                owner: &'a str,
            ) -> $crate::store::interface::StoreFuture<'a, u64> {
                Self::bounded(async move {
                    let done = sqlx::query("DELETE FROM flows WHERE kind = $1 AND owner = $2")
                        .bind(kind.as_str())
                        .bind(owner)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected())
                })
            }

            fn delete_flow<'a>(
                &'a self,
                kind: $crate::store::records::FlowKind,
                id: &'a str,
            ) -> $crate::store::interface::StoreFuture<'a, bool> {
                Self::bounded(async move {
                    let done = sqlx::query("DELETE FROM flows WHERE kind = $1 AND id = $2")
                        .bind(kind.as_str())
                        .bind(id)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() > 0)
                })
            }

            fn count_flows<'a>(
                &'a self,
                kind: $crate::store::records::FlowKind,
                owner: Option<&'a str>,
                now: i64,
            ) -> $crate::store::interface::StoreFuture<'a, i64> {
                Self::bounded(async move {
                    let count = sqlx::query_scalar(
                        "SELECT count(*) FROM flows WHERE kind = $1 AND expires_at > $2 AND ($3 IS NULL OR owner = $3)",
                    )
                    .bind(kind.as_str())
                    .bind(now)
                    .bind(owner)
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(count)
                })
            }

            fn purge_expired(&self, now: i64) -> $crate::store::interface::StoreFuture<'_, u64> {
                Self::bounded(async move {
                    let flows = sqlx::query("DELETE FROM flows WHERE expires_at <= $1")
                        .bind(now)
                        .execute(&self.pool)
                        .await?;
                    sqlx::query("DELETE FROM assertion_ids WHERE expires_at < $1")
                        .bind(now)
                        .execute(&self.pool)
                        .await?;
                    Ok(flows.rows_affected())
                })
            }
        }
    };
}

pub(super) use sql_store;
