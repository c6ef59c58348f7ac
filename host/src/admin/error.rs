//! Why an admin operation was refused or failed. The HTTP layer maps each variant to a status
//! (`server/admin/error.rs`); the messages follow the house style.

use thiserror::Error;
use tollgate_engine::ValidationError;

use crate::keys::KeyError;
use crate::store::StoreError;
use crate::vault::VaultError;

/// An admin operation's failure.
#[derive(Debug, Error)]
pub enum AdminError {
    /// No admin token is configured: the admin API is off.
    #[error("the admin API is off: set TOLLGATE_ADMIN_TOKEN")]
    Off,
    /// The bearer token is missing or wrong.
    #[error("a valid admin bearer token is required")]
    Unauthorized,
    /// The path names no collection.
    #[error("unknown collection `{0}`; use clients, users, resources, connections or policies")]
    UnknownCollection(String),
    /// No such entity.
    #[error("no {kind} `{id}`")]
    NotFound {
        /// `client`, `user`, `resource`, `connection` or `policy`.
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// No credential of that owner on that connection.
    #[error("no credential for `{owner}` on connection `{connection}`")]
    NoCredential {
        /// The connection.
        connection: String,
        /// `user:<sub>` or `tenant:<id>`.
        owner: String,
    },
    /// The entity exists already.
    #[error("{kind} `{id}` already exists")]
    Exists {
        /// The entity kind.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// The configuration file declares the entity: it is read-only here.
    #[error("{kind} `{id}` is declared by the configuration file; change it there")]
    Declared {
        /// The entity kind.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// Credentials need the vault, and the server runs without one.
    #[error(
        "the vault is off: start the server with a vault key (TOLLGATE_VAULT_KEY or vault.keyFile)"
    )]
    VaultOff,
    /// The body is not JSON (`content-type`).
    #[error("the body must be JSON (`content-type: application/json`)")]
    ContentType,
    /// The body is larger than the server reads.
    #[error("the body is too large")]
    TooLarge,
    /// One problem with the input, at `path` (`body.grantTypes[0]`, `owner`; empty for the whole
    /// body).
    #[error("{}", at(.path, .message))]
    Invalid {
        /// Where: `body` and the field path, or the path or query parameter.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Several problems with an entity, each with its path, reported at once.
    #[error("invalid {kind}")]
    Problems {
        /// The entity kind.
        kind: &'static str,
        /// Every problem.
        errors: Vec<ValidationError>,
    },
    /// The change would make the policy document invalid; nothing changed.
    #[error("the change would make the policy document invalid")]
    Document(Vec<ValidationError>),
    /// The engine could not decide.
    #[error("the decision could not be made")]
    Decide(#[source] crate::runtime::RuntimeError),
    /// The store failed.
    #[error("the store is unavailable")]
    Store(#[from] StoreError),
    /// The vault failed.
    #[error("the store is unavailable")]
    Vault(#[source] VaultError),
    /// A signing key could not be made or stored.
    #[error("the signing key could not be rotated")]
    Keys(#[source] KeyError),
}

fn at(path: &str, message: &str) -> String {
    if path.is_empty() {
        message.to_owned()
    } else {
        format!("`{path}`: {message}")
    }
}

impl AdminError {
    /// One problem at `path`.
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> AdminError {
        AdminError::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Every problem with the input, each with its path (empty for problems that are not the
    /// input's).
    pub fn errors(&self) -> Vec<ValidationError> {
        match self {
            AdminError::Invalid { path, message } => vec![ValidationError {
                path: path.clone(),
                message: message.clone(),
            }],
            AdminError::Problems { errors, .. } | AdminError::Document(errors) => errors.clone(),
            _ => Vec::new(),
        }
    }
}

impl From<VaultError> for AdminError {
    /// A credential the vault refuses to seal is the caller's problem; anything else is the
    /// vault's or the store's.
    fn from(e: VaultError) -> AdminError {
        match e {
            VaultError::NulInId => AdminError::invalid("", e.to_string()),
            VaultError::TooLarge => AdminError::invalid("body", e.to_string()),
            VaultError::Store(e) => AdminError::Store(e),
            other => AdminError::Vault(other),
        }
    }
}

impl From<KeyError> for AdminError {
    fn from(e: KeyError) -> AdminError {
        match e {
            KeyError::Store(e) => AdminError::Store(e),
            other => AdminError::Keys(other),
        }
    }
}

impl From<crate::oauth::replica::SyncError> for AdminError {
    fn from(e: crate::oauth::replica::SyncError) -> AdminError {
        match e {
            crate::oauth::replica::SyncError::Store(e) => AdminError::Store(e),
            crate::oauth::replica::SyncError::Keys(e) => AdminError::from(e),
        }
    }
}
