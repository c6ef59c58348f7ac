//! The agents directory: every client (how it registered, verified or not, tags, tenant, owner,
//! state), one client's reach and recent activity, and the administrator's actions on it: verify
//! or unverify, disable or enable, rotate its secret (shown once).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::audit::Line;
use super::chrome::{Chrome, Section, console_message, encode, query_param};
use super::home::{ReachRow, errors_text, reach_rows};
use super::session::{changing, signed_in};
use crate::admin::clients;
use crate::admin::error::AdminError;
use crate::admin::reach::{ReachQuery, on_directory};
use crate::clock::now;
use crate::config::{ClientConfig, ClientStatus, RegistrationType};
use crate::server::html::{console_page, see_other, store_failed};
use crate::server::state::AppState;
use crate::store::{AuditFilter, Kind, Source};

/// A client as the directory lists it.
struct Agent {
    id: String,
    name: String,
    registration: &'static str,
    verified: bool,
    tags: String,
    tenant: String,
    owner: String,
    disabled: bool,
    grant_types: String,
}

impl Agent {
    fn of(c: &ClientConfig) -> Agent {
        Agent {
            id: c.client_id.clone(),
            name: c.name.clone().unwrap_or_default(),
            registration: match c.registration_type {
                RegistrationType::Static => "an administrator",
                RegistrationType::Dcr => "dynamic registration",
                RegistrationType::Cimd => "metadata document",
            },
            verified: c.status == ClientStatus::Verified,
            tags: c.tags.join(", "),
            tenant: c.tenant_id.clone().unwrap_or_default(),
            owner: c.owner.clone().unwrap_or_default(),
            disabled: c.disabled,
            grant_types: c
                .grant_types
                .iter()
                .map(|g| {
                    serde_json::to_value(g)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

#[derive(Template)]
#[template(path = "console/agents.html")]
struct ListPage {
    chrome: Chrome,
    agents: Vec<Agent>,
}

/// `GET /console/agents`.
pub(super) async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let staff = match signed_in(&state, &headers, "/console/agents").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let directory = state.core.directory();
    let mut agents: Vec<Agent> = directory.clients.values().map(Agent::of).collect();
    agents.sort_by(|a, b| a.id.cmp(&b.id));
    console_page(
        StatusCode::OK,
        &ListPage {
            chrome: Chrome::of(&staff, Section::Agents),
            agents,
        },
    )
}

#[derive(Template)]
#[template(path = "console/agent.html")]
struct AgentPage {
    chrome: Chrome,
    agent: Agent,
    /// Declared by the configuration file: no actions here.
    declared: bool,
    /// Whether it authenticates with a secret (one can be rotated).
    has_secret: bool,
    reach: Vec<ReachRow>,
    reach_error: Option<String>,
    activity: Vec<Line>,
    notice: Option<String>,
}

/// Recent events shown for one client.
const ACTIVITY: i64 = 50;

/// `GET /console/agents/{id}`.
pub(super) async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let staff = match signed_in(
        &state,
        &headers,
        &format!("/console/agents/{}", encode(&id)),
    )
    .await
    {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(client) = state.core.directory().clients.get(&id).cloned() else {
        return no_agent(&id);
    };
    let declared = match state.core.store.get_entity(Kind::Client, &id).await {
        Ok(found) => matches!(found, Some((_, Source::Config))),
        Err(e) => return store_failed(&e),
    };
    let core = std::sync::Arc::clone(&state.core);
    let query_client = id.clone();
    let answered = tokio::task::spawn_blocking(move || {
        on_directory(
            &core,
            &ReachQuery {
                client: Some(query_client),
                ..ReachQuery::default()
            },
        )
    })
    .await;
    let (reach, reach_error) = match answered {
        Ok(Ok(answer)) => (reach_rows(&answer), None),
        Ok(Err(e)) => (Vec::new(), Some(errors_text(&e))),
        Err(_) => (
            Vec::new(),
            Some("The reach could not be computed.".to_owned()),
        ),
    };
    let activity = match state
        .core
        .store
        .audit_search(
            &AuditFilter {
                client_id: Some(id.clone()),
                ..AuditFilter::default()
            },
            ACTIVITY,
        )
        .await
    {
        Ok(records) => records.iter().map(Line::of).collect(),
        Err(e) => return store_failed(&e),
    };
    let notice = query_param(query.as_deref(), "done").map(|done| match done.as_str() {
        "verify" => "Marked verified.".to_owned(),
        "unverify" => "Marked unverified.".to_owned(),
        "disable" => "Disabled: it obtains nothing, and its tokens are inactive.".to_owned(),
        "enable" => "Enabled. Its earlier tokens stay inactive: it needs new ones.".to_owned(),
        _ => String::new(),
    });
    console_page(
        StatusCode::OK,
        &AgentPage {
            chrome: Chrome::of(&staff, Section::Agents),
            has_secret: matches!(
                client.token_endpoint_auth_method,
                crate::config::TokenEndpointAuthMethod::ClientSecretBasic
                    | crate::config::TokenEndpointAuthMethod::ClientSecretPost
            ),
            agent: Agent::of(&client),
            declared,
            reach,
            reach_error,
            activity,
            notice: notice.filter(|n| !n.is_empty()),
        },
    )
}

fn no_agent(id: &str) -> Response {
    console_message(
        StatusCode::NOT_FOUND,
        "No such agent",
        &format!("There is no client {id}."),
    )
}

#[derive(Template)]
#[template(path = "console/secret.html")]
struct SecretPage<'a> {
    chrome: Chrome,
    id: &'a str,
    secret: &'a str,
}

/// `POST /console/agents/{id}/{action}`: `verify`, `unverify`, `disable`, `enable` or
/// `rotate-secret`, by an administrator.
pub(super) async fn act(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let path = format!("/console/agents/{}", encode(&id));
    let staff = match changing(&state, &headers, &body, &path).await {
        Ok((staff, _)) => staff,
        Err(r) => return r,
    };
    let (core, by, now) = (&state.core, staff.actor(), now());
    let done = match action.as_str() {
        "verify" => clients::set_verified(core, &id, true, &by, now)
            .await
            .map(drop),
        "unverify" => clients::set_verified(core, &id, false, &by, now)
            .await
            .map(drop),
        "disable" => clients::disable(core, &id, &by, now).await.map(drop),
        "enable" => clients::enable(core, &id, &by, now).await.map(drop),
        "rotate-secret" => match clients::rotate_secret(core, &id, &by, now).await {
            Ok(secret) => {
                return console_page(
                    StatusCode::OK,
                    &SecretPage {
                        chrome: Chrome::of(&staff, Section::Agents),
                        id: &id,
                        secret: &secret,
                    },
                );
            }
            Err(e) => Err(e),
        },
        _ => {
            return console_message(
                StatusCode::NOT_FOUND,
                "No such action",
                "Agents can be verified, unverified, disabled, enabled, or given a new secret.",
            );
        }
    };
    match done {
        Ok(()) => see_other(&format!("{path}?done={action}")),
        Err(AdminError::NotFound { .. }) => no_agent(&id),
        Err(AdminError::Store(e)) => store_failed(&e),
        Err(e) => console_message(
            StatusCode::CONFLICT,
            "Nothing was changed",
            &errors_text(&e),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::html::hostile::{TEXT, assert_escaped};

    #[test]
    fn the_agent_page_escapes_what_clients_registered() {
        let agent = Agent {
            id: TEXT.to_owned(),
            name: TEXT.to_owned(),
            registration: "dynamic registration",
            verified: false,
            tags: TEXT.to_owned(),
            tenant: TEXT.to_owned(),
            owner: TEXT.to_owned(),
            disabled: false,
            grant_types: TEXT.to_owned(),
        };
        let html = AgentPage {
            chrome: Chrome {
                name: TEXT.to_owned(),
                role: "auditor",
                csrf: TEXT.to_owned(),
                can_change: false,
                section: Section::Agents,
            },
            agent,
            declared: false,
            has_secret: true,
            reach: vec![ReachRow {
                grant_type: TEXT.to_owned(),
                subject: TEXT.to_owned(),
                user: TEXT.to_owned(),
                scope: TEXT.to_owned(),
                by: vec![TEXT.to_owned()],
                conditional: vec![TEXT.to_owned()],
            }],
            reach_error: None,
            activity: vec![Line {
                seq: 1,
                at: TEXT.to_owned(),
                event: TEXT.to_owned(),
                client: TEXT.to_owned(),
                user: TEXT.to_owned(),
                summary: TEXT.to_owned(),
            }],
            notice: None,
        }
        .render()
        .expect("render");
        assert_escaped(&html);
        // An auditor is offered no action.
        assert!(!html.contains("/disable"), "{html}");
        assert_eq!(html.matches("<h1").count(), 1);
    }
}
