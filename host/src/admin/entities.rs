//! Listing, reading, creating, replacing and deleting entities of every kind. A change is checked
//! against the whole policy document before anything is stored: a change that would make it
//! invalid is refused with every error and changes nothing; an accepted change applies to the
//! next decision. Entities the configuration file declares are the file's, read-only here.

use std::sync::{Arc, PoisonError};

use serde_json::Value;
use zeroize::Zeroizing;

use super::error::AdminError;
use crate::audit::Event;
use crate::directory::{Directory, connection_document, hash_secret};
use crate::oauth::state::Core;
use crate::store::{Kind, Source, StoreError, Versions};
use crate::vault::{Credential, Owner, SecretKind};

/// An entity as the admin API stores it: checked by its kind's module ([`super::clients`], …),
/// with its secret (a client's `secret`, a user's `password`, a connection provider's
/// `clientSecret`) split off. The secret is stored hashed or sealed, and never returned.
#[derive(Debug)]
pub struct Entity {
    /// What kind of entity.
    pub kind: Kind,
    /// Its id (`clientId`, `sub` or `id`).
    pub id: String,
    /// The body as stored and returned.
    pub body: Value,
    /// The secret, when the body carried one.
    pub secret: Option<Zeroizing<String>>,
}

/// The field that holds an entity's id in its body.
pub fn id_field(kind: Kind) -> &'static str {
    match kind {
        Kind::Client => "clientId",
        Kind::User => "sub",
        _ => "id",
    }
}

/// Who made a change through the admin API (bearer token), as the audit log names it.
pub const ADMIN_API: &str = "admin-api";

/// Who made a change through the console, as the audit log names them.
pub fn console_actor(sub: &str) -> String {
    format!("console:{sub}")
}

/// An entity's body as stored: its typed form, serialized.
pub fn to_body<T: serde::Serialize>(entity: &T) -> Result<Value, AdminError> {
    serde_json::to_value(entity).map_err(|e| AdminError::invalid("body", e.to_string()))
}

/// Every entity of a kind, as stored.
pub async fn list(core: &Core, kind: Kind) -> Result<Vec<Value>, AdminError> {
    Ok(core
        .store
        .list_entities(kind)
        .await?
        .into_iter()
        .map(|(_, body, _)| body)
        .collect())
}

/// One entity, as stored.
pub async fn read(core: &Core, kind: Kind, id: &str) -> Result<Value, AdminError> {
    match core.store.get_entity(kind, id).await? {
        Some((body, _)) => Ok(body),
        None => Err(AdminError::NotFound {
            kind: kind.as_str(),
            id: id.to_owned(),
        }),
    }
}

/// Creates an entity; refused when one of its kind has its id already.
pub async fn create(core: &Core, entity: Entity, by: &str, now: i64) -> Result<Value, AdminError> {
    let (kind, id) = (entity.kind, entity.id.clone());
    write(core, kind, &id, Change::Create(entity), by, now)
        .await
        .map(|body| body.unwrap_or_default())
}

/// Replaces entity `id`, which must exist and be the admin API's; the body must carry the same id.
pub async fn replace(
    core: &Core,
    id: &str,
    entity: Entity,
    by: &str,
    now: i64,
) -> Result<Value, AdminError> {
    write(core, entity.kind, id, Change::Replace(entity), by, now)
        .await
        .map(|body| body.unwrap_or_default())
}

/// Deletes entity `id`, which must exist and be the admin API's.
pub async fn delete(
    core: &Core,
    kind: Kind,
    id: &str,
    by: &str,
    now: i64,
) -> Result<(), AdminError> {
    write(core, kind, id, Change::Delete, by, now)
        .await
        .map(drop)
}

/// Changes a stored client's state (disabled, token cut-off; which [`replace`] keeps from the
/// stored record) with `change`, read and written under the admin lock: the disable and enable
/// actions. Returns the stored body.
pub async fn set_client_state(
    core: &Core,
    id: &str,
    action: &'static str,
    change: impl FnOnce(&mut crate::config::ClientConfig) + Send + 'static,
    by: &str,
    now: i64,
) -> Result<Value, AdminError> {
    write(
        core,
        Kind::Client,
        id,
        Change::State(action, Box::new(change)),
        by,
        now,
    )
    .await
    .map(Option::unwrap_or_default)
}

/// A client's fields only the disable and enable actions change.
const CLIENT_STATE: [&str; 2] = ["disabled", "tokensNotBefore"];

/// A change of a stored client's state, applied to the record read under the lock.
type StateChange = Box<dyn FnOnce(&mut crate::config::ClientConfig) + Send>;

enum Change {
    Create(Entity),
    Replace(Entity),
    /// A change of a client's state by an action (`disable`, `rotate-secret`, …), as the audit
    /// log names it.
    State(&'static str, StateChange),
    Delete,
}

impl Change {
    fn action(&self) -> &'static str {
        match self {
            Change::Create(_) => "create",
            Change::Replace(_) => "update",
            Change::State(action, _) => action,
            Change::Delete => "delete",
        }
    }
}

/// Applies one change under the admin lock: the document after it must load, then the store is
/// written and the directory swapped; on a store failure the engine goes back to the stored
/// document. Returns the stored body (none for a deletion).
async fn write(
    core: &Core,
    kind: Kind,
    id: &str,
    change: Change,
    by: &str,
    now: i64,
) -> Result<Option<Value>, AdminError> {
    let _changing = core.changing().await?;
    let existing = core.store.get_entity(kind, id).await?;
    let (noun, owned_id) = (kind.as_str(), id.to_owned());
    match (&existing, &change) {
        (Some((_, Source::Config)), _) => {
            return Err(AdminError::Declared {
                kind: noun,
                id: owned_id,
            });
        }
        (Some(_), Change::Create(_)) => {
            return Err(AdminError::Exists {
                kind: noun,
                id: owned_id,
            });
        }
        (None, Change::Replace(_) | Change::State(..) | Change::Delete) => {
            return Err(AdminError::NotFound {
                kind: noun,
                id: owned_id,
            });
        }
        _ => {}
    }
    if let Change::Replace(e) = &change
        && e.id != id
    {
        return Err(AdminError::invalid(
            format!("body.{}", id_field(kind)),
            format!("must be `{id}`, the id in the path"),
        ));
    }
    let action = change.action();
    let mut entity = match change {
        Change::Create(e) => Some(e),
        Change::State(_, apply) => {
            let Some((stored, _)) = &existing else {
                return Err(AdminError::NotFound {
                    kind: noun,
                    id: owned_id,
                });
            };
            let mut client: crate::config::ClientConfig = serde_json::from_value(stored.clone())
                .map_err(|e| AdminError::Store(StoreError::Value(e.to_string())))?;
            apply(&mut client);
            // A new secret (the rotate action) is split off as a posted one is.
            let secret = client.secret.take().map(Zeroizing::new);
            Some(Entity {
                kind: Kind::Client,
                id: id.to_owned(),
                body: to_body(&client)?,
                secret,
            })
        }
        Change::Replace(mut e) => {
            // A client's state is the disable and enable actions' to change: a replacement keeps
            // the stored one (so that it cannot bring back tokens a disabling cut off).
            if kind == Kind::Client
                && let Some((stored, _)) = &existing
                && let Value::Object(body) = &mut e.body
            {
                for field in CLIENT_STATE {
                    match stored.get(field) {
                        Some(value) => {
                            body.insert(field.to_owned(), value.clone());
                        }
                        None => {
                            body.remove(field);
                        }
                    }
                }
            }
            Some(e)
        }
        Change::Delete => None,
    };
    // A new client starts enabled, honouring no token issued before it existed (a deleted client
    // of the same id may have held some); the actions change that.
    if let (Kind::Client, Some(e), None) = (kind, entity.as_mut(), &existing)
        && let Value::Object(body) = &mut e.body
    {
        body.remove("disabled");
        body.insert(
            "tokensNotBefore".to_owned(),
            Value::from(now.saturating_sub(1)),
        );
    }
    if kind == Kind::Connection
        && entity.as_ref().is_some_and(|e| e.secret.is_some())
        && core.vault.is_none()
    {
        return Err(AdminError::invalid(
            "body.provider.clientSecret",
            "a provider client secret needs the vault: start the server with a vault key",
        ));
    }

    // The document after the change must load; otherwise nothing changes.
    let directory = core.directory();
    let mut document = directory.document.clone();
    if let Some(section) = section(kind)
        && let Some(Value::Array(items)) = document.get_mut(section)
    {
        items.retain(|item| item.get("id").and_then(Value::as_str) != Some(id));
        if let Some(e) = &entity {
            items.push(connection_document(e.body.clone()).0);
        }
    }
    let before = core.policy.version();
    core.policy
        .replace(&document.to_string(), before)
        .map_err(AdminError::Document)?;
    let (fresh, versions) = match store(core, kind, id, entity.as_ref(), now).await {
        Ok(fresh) => fresh,
        Err(e) => {
            // Put the engine back on the stored document.
            let _ = core.policy.replace(&directory.document.to_string(), before);
            return Err(e);
        }
    };
    // The store-wide version of the entities is the policy-set version every server reports.
    let version = u64::try_from(versions.entities).unwrap_or_default();
    core.policy.relabel(version);
    *core
        .directory
        .write()
        .unwrap_or_else(PoisonError::into_inner) = Arc::new(fresh);
    core.loaded
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entities = versions.entities;
    core.audit
        .record_at(
            now,
            Event::AdminChange {
                action,
                kind: kind.as_str().to_owned(),
                id: id.to_owned(),
                policy_version: version,
                by: by.to_owned(),
                policy: entity
                    .as_ref()
                    .filter(|e| e.kind == Kind::Policy)
                    .map(|e| Box::new(e.body.clone())),
            },
        )
        .await;
    Ok(entity.map(|e| e.body))
}

/// The policy document's section of a kind; clients and users are not in the document.
fn section(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Resource => Some("resources"),
        Kind::Connection => Some("connections"),
        Kind::Policy => Some("policies"),
        Kind::Client | Kind::User => None,
    }
}

/// Writes the change and its secret, and reads the directory back.
async fn store(
    core: &Core,
    kind: Kind,
    id: &str,
    entity: Option<&Entity>,
    now: i64,
) -> Result<(Directory, Versions), AdminError> {
    match entity {
        Some(entity) => {
            core.store
                .put_entity(kind, id, &entity.body, Source::Admin)
                .await?;
            match (&entity.secret, &core.vault) {
                (Some(secret), Some(vault)) if kind == Kind::Connection => {
                    let credential = Credential {
                        kind: SecretKind::ClientSecret,
                        secret,
                        scope: None,
                        source: Source::Admin,
                    };
                    vault.put(id, &Owner::Provider, credential, now).await?;
                }
                (Some(secret), _) => {
                    let hash = hash_secret(secret).map_err(|e| StoreError::Value(e.to_string()))?;
                    core.store.put_secret(kind, id, &hash).await?;
                }
                (None, _) => {}
            }
        }
        None => {
            core.store.delete_entity(kind, id).await?;
            // A deleted user's second factor goes too: a user created again under the same
            // `sub` starts without one.
            if kind == Kind::User {
                match crate::oauth::second_factor::remove(core, id).await {
                    Ok(_) | Err(crate::oauth::second_factor::SecondFactorError::NoVault) => {}
                    Err(e) => tracing::warn!(error = %e, "a deleted user's second factor stays"),
                }
            }
        }
    }
    // The versions first: what is read after them is at least as new.
    let versions = core.store.versions().await?;
    Ok((Directory::load(core.store.as_ref()).await?, versions))
}
