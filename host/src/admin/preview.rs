//! A policy change previewed before it is saved: what it would give or take away, over every
//! client and user of the directory ([`PolicySet::compare`]), and optionally one request decided
//! by the current and the changed policy set side by side. Nothing is stored.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tollgate_engine::{
    Decision, PolicySet, ReachChange, ReachDiff, ReachSummary, Request, Target, ValidationError,
};
use utoipa::ToSchema;

use super::error::AdminError;
use super::policies::PolicyBody;
use super::reach::{Entities, sorted, usable_grant_types};
use crate::oauth::policy_input::engine_client_of;
use crate::store::{Kind, Source};

/// The most changed combinations a preview lists one by one.
pub const MAX_LISTED: usize = 1_000;

/// Users a summary row names (the rest are counted).
const EXAMPLES: usize = 5;

/// A draft change: a policy to create or replace (`policy`), or one to delete (`delete`), and
/// optionally a request to decide on both sides.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreviewQuery {
    /// The policy as it would be saved (created, or replacing the one with its id).
    #[serde(default)]
    pub policy: Option<PolicyBody>,
    /// The id of a policy to delete.
    #[serde(default)]
    pub delete: Option<String>,
    /// A request to decide with the current and with the changed policies.
    #[serde(default)]
    pub request: Option<Request>,
}

/// What the change would do.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    /// The version of the current policy set.
    pub policy_version: u64,
    /// `create`, `update` or `delete`.
    pub change: &'static str,
    /// What would change, counted per grant type, client, target and scope (users counted, a
    /// few named): always given, however many combinations change.
    pub summary: ReachSummary,
    /// Whether `gained`, `lost` and `changed` list every combination: only when at most
    /// [`MAX_LISTED`] change (otherwise they are empty and `summary` says what changes).
    pub listed: bool,
    /// Combinations that would obtain more: none → conditional → certain.
    pub gained: Vec<ReachChange>,
    /// Combinations that would obtain less.
    pub lost: Vec<ReachChange>,
    /// Combinations that would obtain the same by other policies or under other conditions.
    pub changed: Vec<ReachChange>,
    /// The request decided by the current and the changed policy set, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decisions: Option<SideBySide>,
}

/// One request decided twice.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SideBySide {
    /// By the current policies.
    pub current: Decision<'static>,
    /// By the policies after the change.
    pub draft: Decision<'static>,
}

/// The targets a policy (as a document value) names.
fn targets_of(policy: &Value) -> Vec<Target> {
    policy
        .get("targets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let resource = t.get("resource").and_then(Value::as_str);
            let connection = t.get("connection").and_then(Value::as_str);
            match (resource, connection) {
                (Some(id), None) => Some(Target::Resource(id.to_owned())),
                (None, Some(id)) => Some(Target::Connection(id.to_owned())),
                _ => None,
            }
        })
        .collect()
}

/// An error of the changed document, at the draft's own path (`body.policy…`) when it is in the
/// changed policy.
pub(crate) fn at_draft(mut error: ValidationError, index: Option<usize>) -> ValidationError {
    if let Some(i) = index {
        let prefix = format!("policies[{i}]");
        if let Some(rest) = error.path.strip_prefix(&prefix)
            && (rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
        {
            error.path = format!("body.policy{rest}");
        }
    }
    error
}

/// Refuses a preview of a change the save would refuse: one to a policy the configuration file
/// declares (read-only through the admin API).
pub async fn savable(
    core: &crate::oauth::state::Core,
    query: &PreviewQuery,
) -> Result<(), AdminError> {
    let id = match (&query.policy, &query.delete) {
        (Some(policy), None) => &policy.id,
        (None, Some(id)) => id,
        _ => return Ok(()),
    };
    if let Some((_, Source::Config)) = core.store.get_entity(Kind::Policy, id).await? {
        return Err(AdminError::Declared {
            kind: "policy",
            id: id.clone(),
        });
    }
    Ok(())
}

/// Previews `query` on the current directory.
pub fn preview(
    core: &crate::oauth::state::Core,
    query: PreviewQuery,
) -> Result<Preview, AdminError> {
    let directory = core.directory();
    let policy_version = core.policy.version();
    let current = directory.policy_set().map_err(|message| {
        AdminError::Decide(crate::runtime::RuntimeError::Invalid(vec![
            ValidationError {
                path: String::new(),
                message: message.to_owned(),
            },
        ]))
    })?;

    let mut document = directory.document.clone();
    let Some(Value::Array(policies)) = document.get_mut("policies") else {
        return Err(AdminError::invalid(
            "",
            "the policy document has no policies section",
        ));
    };
    let position = |id: &str, policies: &[Value]| {
        policies
            .iter()
            .position(|p| p.get("id").and_then(Value::as_str) == Some(id))
    };
    // As the save does it: the old version out, the new one at the end.
    let (change, old, new, index, id) = match (query.policy, query.delete) {
        (Some(policy), None) => {
            let body = super::entities::to_body(&policy)?;
            let old = position(&policy.id, policies).map(|i| policies.remove(i));
            let index = policies.len();
            policies.push(body.clone());
            let change = if old.is_some() { "update" } else { "create" };
            (change, old, Some(body), Some(index), policy.id)
        }
        (None, Some(id)) => {
            let Some(i) = position(&id, policies) else {
                return Err(AdminError::NotFound { kind: "policy", id });
            };
            let old = policies.remove(i);
            ("delete", Some(old), None, None, id)
        }
        (Some(_), Some(_)) => {
            return Err(AdminError::invalid(
                "body",
                "preview `policy` or `delete`, not both",
            ));
        }
        (None, None) => {
            return Err(AdminError::invalid(
                "body",
                "name the change: `policy` (to create or replace) or `delete` (an id)",
            ));
        }
    };
    let draft = PolicySet::from_value(document).map_err(|e| {
        AdminError::Document(
            e.errors()
                .into_iter()
                .map(|err| at_draft(err, index))
                .collect(),
        )
    })?;

    let mut targets: Vec<Target> = Vec::new();
    for target in old.iter().chain(new.iter()).flat_map(targets_of) {
        if !targets.contains(&target) {
            targets.push(target);
        }
    }
    let (clients, users) = sorted(directory.clients.values(), directory.users.values());
    let entities = Entities {
        clients: &clients,
        users: &users,
    };
    let engine_clients: Vec<tollgate_engine::Client> =
        clients.iter().map(|c| engine_client_of(c)).collect();
    let engine_users: Vec<tollgate_engine::User> = users
        .iter()
        .map(|u| crate::oauth::policy_input::engine_user_of(u))
        .collect();
    // Only under the grant types each client may use, as reach lists them.
    let grants = usable_grant_types(entities);
    let usable = |client: &str, g: tollgate_engine::GrantType| {
        grants.get(client).is_some_and(|gs| gs.contains(&g))
    };
    // Counted first: cheap however many combinations change (only what the changed policy
    // matches, in either version, can change).
    let mut summary = current.compare_summary(
        &draft,
        &[id.as_str()],
        &targets,
        &engine_clients,
        &engine_users,
        EXAMPLES,
    );
    summary.rows.retain(|r| usable(&r.client, r.grant_type));
    summary.gained = summary.rows.iter().map(|r| r.gained.combinations()).sum();
    summary.lost = summary.rows.iter().map(|r| r.lost.combinations()).sum();
    summary.changed = summary.rows.iter().map(|r| r.changed.combinations()).sum();
    let listed = summary.gained + summary.lost + summary.changed <= MAX_LISTED;
    let mut diff = if listed {
        // Listed over the clients and users that change only (each combination's standing is
        // its own: the rest of the directory does not bear on it), so a small change to a policy
        // that applies to everyone lists as fast as it counts.
        let every = current.compare_summary(
            &draft,
            &[id.as_str()],
            &targets,
            &engine_clients,
            &engine_users,
            usize::MAX,
        );
        let changing: std::collections::HashSet<&str> =
            every.rows.iter().map(|r| r.client.as_str()).collect();
        let subs: std::collections::HashSet<&str> = every
            .rows
            .iter()
            .flat_map(|r| [&r.gained, &r.lost, &r.changed])
            .flat_map(|u| u.examples.iter().map(String::as_str))
            .collect();
        let few_clients: Vec<tollgate_engine::Client> = engine_clients
            .iter()
            .filter(|c| {
                c.client_id
                    .as_deref()
                    .is_some_and(|id| changing.contains(id))
            })
            .cloned()
            .collect();
        let few_users: Vec<tollgate_engine::User> = engine_users
            .iter()
            .filter(|u| u.sub.as_deref().is_some_and(|sub| subs.contains(sub)))
            .cloned()
            .collect();
        current.compare_changed(&draft, &[id.as_str()], &targets, &few_clients, &few_users)
    } else {
        ReachDiff::default()
    };
    let usable = |c: &ReachChange| usable(&c.client, c.grant_type);
    diff.gained.retain(usable);
    diff.lost.retain(usable);
    diff.changed.retain(usable);

    let decisions = query.request.map(|request| SideBySide {
        current: current.decide(&request).into_owned(),
        draft: draft.decide(&request).into_owned(),
    });
    Ok(Preview {
        policy_version,
        change,
        summary,
        listed,
        gained: diff.gained,
        lost: diff.lost,
        changed: diff.changed,
        decisions,
    })
}
