//! Storage behind a trait: SQLite by default (one file, created on first start), PostgreSQL for
//! several servers sharing one database. Both run the same SQL ([`sql`]); their migrations are
//! embedded and applied at start.

mod error;
mod interface;
mod postgres;
mod records;
mod sql;
mod sqlite;

use std::sync::Arc;

pub use error::StoreError;
pub use interface::{CHANGES, ChangeLock, OPERATION_TIMEOUT, Store, StoreFuture};
pub use postgres::PostgresStore;
pub use records::{
    AuditFilter, AuditRecord, CredentialRecord, FlowKind, FlowRecord, Kind, NewAuditRecord, Source,
    StoredKey, TokenRecord, Topic, Versions,
};
pub use sqlite::SqliteStore;

/// Opens the store at `location`: `sqlite://path` or `postgres://…` (`postgresql://…`).
pub async fn open(location: &str) -> Result<Arc<dyn Store>, StoreError> {
    if location.starts_with("sqlite://") {
        Ok(Arc::new(SqliteStore::open(location).await?))
    } else if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(location).await?))
    } else {
        Err(StoreError::Unsupported(postgres::redact(location)))
    }
}
