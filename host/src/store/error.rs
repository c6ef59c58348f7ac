//! Why a store operation failed, with the failure underneath kept as its source.

use thiserror::Error;

/// A store failure.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The store's location is not one this server can use.
    #[error("unsupported store `{0}`; use `sqlite://path`")]
    Unsupported(String),
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
