//! Why a store operation failed, with the failure underneath kept as its source.

use thiserror::Error;

/// A store failure.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The store's location is not one this server can use.
    #[error("unsupported store `{0}`; use `sqlite://path` or `postgres://user@host/database`")]
    Unsupported(String),
    /// The database could not be reached when the server started.
    #[error("cannot connect to the database at {location}")]
    Unreachable {
        /// The database URL, without its password.
        location: String,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
    /// A file or directory of the store could not be created or restricted.
    #[error("cannot prepare `{path}`")]
    Files {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The database failed (unreachable, a constraint, a broken file).
    #[error("the database failed")]
    Database(#[from] sqlx::Error),
    /// An operation did not finish within [`super::interface::OPERATION_TIMEOUT`].
    #[error("the database did not answer in time")]
    TimedOut,
    /// The embedded migrations could not be applied.
    #[error("the database schema could not be migrated")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored JSON value does not read back.
    #[error("a stored value is not valid JSON")]
    Json(#[from] serde_json::Error),
    /// A stored entity is JSON but not of its kind's shape (a value an older version accepted).
    #[error(
        "the stored {kind} `{id}` cannot be read ({why}); fix or remove it through the admin API"
    )]
    Entity {
        /// `client` or `user`.
        kind: &'static str,
        /// Its id.
        id: String,
        /// What is wrong, with its path.
        why: String,
    },
    /// A value could not be prepared for storing (a secret that cannot be hashed, a credential
    /// that cannot be sealed).
    #[error("{0}")]
    Value(String),
}

impl StoreError {
    /// Whether the database could not be reached or did not answer in time (connection refused or
    /// lost, no connection free within the bound, a statement or lock past its timeout, the server
    /// shutting down): the request may succeed later, and is answered 503, not 500.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unreachable { .. } | StoreError::TimedOut => true,
            StoreError::Database(e) => unavailable(e),
            _ => false,
        }
    }
}

fn unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| unavailable_code(&code)),
        _ => false,
    }
}

/// PostgreSQL SQLSTATEs and SQLite result codes that mean "not now" rather than "never".
fn unavailable_code(code: &str) -> bool {
    // SQLite reports extended codes: the primary code is the low byte. SQLITE_BUSY (5) and
    // SQLITE_LOCKED (6): the file stayed locked past the busy timeout.
    if let Ok(sqlite) = code.parse::<i64>() {
        return matches!(sqlite & 0xff, 5 | 6);
    }
    // PostgreSQL. Class 08: connection exception; 53: insufficient resources (too many
    // connections); 57P01-57P03: the server is shutting down or starting; 57014: a statement
    // timed out; 55P03: a lock was not available in time; 40001/40P01: serialization failure or
    // deadlock (try again); 25006: a read-only transaction (a standby during failover).
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "57014" | "55P03" | "40001" | "40P01" | "25006"
        )
}
