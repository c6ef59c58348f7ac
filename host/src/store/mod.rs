//! Storage behind a trait: SQLite by default (one file, created on first start, migrations
//! embedded); a PostgreSQL implementation joins behind the same trait.

mod error;
mod interface;
mod records;
mod sqlite;

pub use error::StoreError;
pub use interface::{Store, StoreFuture};
pub use records::{AuditRecord, CredentialRecord, Kind, Source, StoredKey, TokenRecord};
pub use sqlite::SqliteStore;
