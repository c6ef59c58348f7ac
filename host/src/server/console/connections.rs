//! Connections in the console: each connection and whose credentials the vault holds for it
//! (users, tenants; never a secret), when each was linked or last changed, and when it was last
//! handed out (from the audit log).

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::chrome::{Chrome, Section, when};
use super::session::signed_in;
use crate::server::html::{console_page, store_failed};
use crate::server::state::AppState;
use crate::store::AuditFilter;

/// One credential of a connection.
struct Held {
    owner: String,
    kind: String,
    scope: String,
    linked: String,
    last_used: String,
}

/// One connection.
struct Connection {
    id: String,
    kind: String,
    scopes: String,
    provider: String,
    credentials: Vec<Held>,
}

#[derive(Template)]
#[template(path = "console/connections.html")]
struct ConnectionsPage {
    chrome: Chrome,
    connections: Vec<Connection>,
    /// The server runs without a vault: no credentials to show.
    vault_off: bool,
}

/// Credential accesses read per connection to find when each owner's was last handed out.
const USES_READ: i64 = 1000;

/// `GET /console/connections`.
pub(super) async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let staff = match signed_in(&state, &headers, "/console/connections").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let directory = state.core.directory();
    let mut infos: Vec<_> = directory.connections.values().cloned().collect();
    drop(directory);
    infos.sort_by(|a, b| a.id.cmp(&b.id));
    let mut connections = Vec::with_capacity(infos.len());
    for info in infos {
        let mut credentials = Vec::new();
        if let Some(vault) = &state.core.vault {
            let held = match vault.list(Some(&info.id)).await {
                Ok(held) => held,
                Err(crate::vault::VaultError::Store(e)) => return store_failed(&e),
                Err(e) => {
                    tracing::warn!(error = %e, connection = %info.id, "credentials could not be listed");
                    Vec::new()
                }
            };
            let uses = match state
                .core
                .store
                .audit_search(
                    &AuditFilter {
                        entity: Some(format!("connection:{}", info.id)),
                        event: Some("credential_access".to_owned()),
                        ..AuditFilter::default()
                    },
                    USES_READ,
                )
                .await
            {
                Ok(uses) => uses,
                Err(e) => return store_failed(&e),
            };
            // Newest first: the first release seen per owner is its last use.
            let mut last: HashMap<String, i64> = HashMap::new();
            for u in &uses {
                if u.body.get("released").and_then(Value::as_bool) == Some(true)
                    && let Some(owner) = u.body.get("owner").and_then(Value::as_str)
                {
                    last.entry(owner.to_owned()).or_insert(u.at);
                }
            }
            for c in held.into_iter().filter(|c| c.owner != "provider") {
                credentials.push(Held {
                    last_used: last.get(&c.owner).map_or_else(
                        || {
                            if uses.len() < usize::try_from(USES_READ).unwrap_or(usize::MAX) {
                                "never".to_owned()
                            } else {
                                "not in the connection's last 1,000 requests".to_owned()
                            }
                        },
                        |at| when(*at),
                    ),
                    linked: when(c.updated_at),
                    scope: c.scope.unwrap_or_default(),
                    kind: c.kind,
                    owner: c.owner,
                });
            }
        }
        connections.push(Connection {
            scopes: info.scopes.join(" "),
            provider: info
                .provider
                .as_ref()
                .map(|p| p.issuer.clone().unwrap_or_else(|| p.token_endpoint.clone()))
                .unwrap_or_default(),
            id: info.id,
            kind: info.kind,
            credentials,
        });
    }
    console_page(
        StatusCode::OK,
        &ConnectionsPage {
            chrome: Chrome::of(&staff, Section::Connections),
            connections,
            vault_off: state.core.vault.is_none(),
        },
    )
}
