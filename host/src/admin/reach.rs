//! Reach over the directory: what a client (with a user or none) can obtain, and who can obtain a
//! scope. The engine answers ([`PolicySet::reach`], [`PolicySet::who_can`]); this adds what only
//! the server knows: the clients' and users' records, and the grant types each client may use
//! (a client is never listed under a grant type its configuration does not allow it). The admin
//! API (`POST /admin/reach`), the CLI (`tollgate policy reach`) and the console ask through
//! [`answer`], so the answers are the same everywhere.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tollgate_engine::{GrantReach, GrantType, Holder, PolicySet, ReachError, Target};
use utoipa::ToSchema;

use super::error::AdminError;
use crate::config::{ClientConfig, UserConfig};
use crate::oauth::policy_input::{engine_client_of, engine_user_of};

/// A reach question: what `client` can obtain (with `user`, under `grantType`), or who can
/// obtain `scope` on `target`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReachQuery {
    /// The client whose reach to list.
    #[serde(default)]
    pub client: Option<String>,
    /// With this user (its `sub`); absent: requests without a user.
    #[serde(default)]
    pub user: Option<String>,
    /// Only this grant type; absent: every grant type the client may use.
    #[serde(default)]
    pub grant_type: Option<GrantType>,
    /// The target whose holders to list: its id, or `{"resource": id}` / `{"connection": id}`
    /// when a resource and a connection share the id.
    #[serde(default)]
    #[schema(value_type = Option<serde_json::Value>)]
    pub target: Option<TargetRef>,
    /// The scope on that target (absent for a scope-less connection).
    #[serde(default)]
    pub scope: Option<String>,
}

/// A target by id alone, or by kind and id.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    untagged,
    expecting = "a target id, or `{\"resource\": id}` or `{\"connection\": id}`"
)]
pub enum TargetRef {
    /// A resource or connection id.
    Id(String),
    /// A resource or a connection.
    Kind(Target),
}

/// The directory reach reads: every client and user, in id order.
#[derive(Debug, Clone, Copy)]
pub struct Entities<'a> {
    /// The clients, sorted by id.
    pub clients: &'a [&'a ClientConfig],
    /// The users, sorted by `sub`.
    pub users: &'a [&'a UserConfig],
}

/// The answer about a client.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClientAnswer<'a, 'set> {
    client: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    grants: Vec<GrantReach<'set>>,
}

/// The answer about a target and scope.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TargetAnswer<'a, 'set, 'd> {
    #[serde(flatten)]
    target: &'a Target,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    holders: Vec<Holder<'set, 'd>>,
}

/// An answer as JSON (serializing these types cannot fail: string keys, no maps of other keys).
fn to_json(answer: &impl Serialize) -> Value {
    serde_json::to_value(answer).unwrap_or_default()
}

/// The engine grant types each client may use, by client id.
pub(crate) fn usable_grant_types<'a>(
    entities: Entities<'a>,
) -> std::collections::HashMap<&'a str, Vec<GrantType>> {
    entities
        .clients
        .iter()
        .map(|c| (c.client_id.as_str(), grant_types_of(c)))
        .collect()
}

/// The engine grant types a client may use (`refresh_token` is decided under its session's):
/// none while it is disabled.
pub(crate) fn grant_types_of(client: &ClientConfig) -> Vec<GrantType> {
    if client.disabled {
        return Vec::new();
    }
    GrantType::ALL
        .into_iter()
        .filter(|g| client.grant_types.iter().any(|n| n.engine() == Some(*g)))
        .collect()
}

/// Answers `query` on `set` over `entities`, as JSON: `{client, user?, grants}` or `{resource |
/// connection, scope?, holders}` (see [`tollgate_engine::Reach`] and [`tollgate_engine::Holders`]).
/// Asked without a user, `authorization_code` and `jwt_bearer` (whose requests always carry one)
/// are answered for any user, with the user's conditions listed.
///
/// Reach covers the directory: the registered clients and the configured users. A client known
/// only by its metadata document (`cimd`), or a subject the directory does not hold (an
/// assertion's or a subject token's), is not listed by `who_can`, though policies without client
/// lists or user conditions may grant to them.
pub fn answer(
    set: &PolicySet,
    entities: Entities<'_>,
    query: &ReachQuery,
) -> Result<Value, AdminError> {
    match (&query.client, &query.target) {
        (Some(client), None) => {
            if query.scope.is_some() {
                return Err(AdminError::invalid(
                    "body.scope",
                    "a scope goes with `target`, not with `client`",
                ));
            }
            client_reach(set, entities, client, query)
        }
        (None, Some(target)) => {
            for (field, given) in [
                ("body.user", query.user.is_some()),
                ("body.grantType", query.grant_type.is_some()),
            ] {
                if given {
                    return Err(AdminError::invalid(
                        field,
                        "goes with `client`, not with `target`",
                    ));
                }
            }
            holders(set, entities, target, query.scope.as_deref())
        }
        (Some(_), Some(_)) => Err(AdminError::invalid(
            "body",
            "ask about `client` or about `target`, not both",
        )),
        (None, None) => Err(AdminError::invalid(
            "body",
            "name a `client` (with `user` and `grantType`) or a `target` (with `scope`)",
        )),
    }
}

fn client_reach(
    set: &PolicySet,
    entities: Entities<'_>,
    client_id: &str,
    query: &ReachQuery,
) -> Result<Value, AdminError> {
    let client = entities
        .clients
        .iter()
        .find(|c| c.client_id == client_id)
        .ok_or_else(|| AdminError::NotFound {
            kind: "client",
            id: client_id.to_owned(),
        })?;
    let user = match &query.user {
        Some(sub) => Some(engine_user_of(
            entities
                .users
                .iter()
                .find(|u| u.sub == *sub)
                .ok_or_else(|| AdminError::NotFound {
                    kind: "user",
                    id: sub.clone(),
                })?,
        )),
        None => None,
    };
    let engine_client = engine_client_of(client);
    let usable = grant_types_of(client);
    let mut grants = Vec::new();
    for g in usable
        .into_iter()
        .filter(|g| query.grant_type.is_none_or(|asked| asked == *g))
    {
        let reach = set.reach(&engine_client, user.as_ref(), Some(g));
        grants.extend(reach.grants);
    }
    Ok(to_json(&ClientAnswer {
        client: client_id,
        user: query.user.as_deref(),
        grants,
    }))
}

fn holders(
    set: &PolicySet,
    entities: Entities<'_>,
    target: &TargetRef,
    scope: Option<&str>,
) -> Result<Value, AdminError> {
    let clients: Vec<tollgate_engine::Client> = entities
        .clients
        .iter()
        .map(|c| engine_client_of(c))
        .collect();
    let users: Vec<tollgate_engine::User> =
        entities.users.iter().map(|u| engine_user_of(u)).collect();
    let ask = |target: &Target| set.who_can(target, scope, &clients, &users);
    let (target, answer) = match target {
        TargetRef::Kind(target) => (target.clone(), ask(target)),
        TargetRef::Id(id) => {
            let resource = Target::Resource(id.clone());
            let connection = Target::Connection(id.clone());
            match (ask(&resource), ask(&connection)) {
                (Err(ReachError::UnknownTarget(_)), Err(ReachError::UnknownTarget(_))) => {
                    return Err(AdminError::NotFound {
                        kind: "resource or connection",
                        id: id.clone(),
                    });
                }
                (answer, Err(ReachError::UnknownTarget(_))) => (resource, answer),
                (Err(ReachError::UnknownTarget(_)), answer) => (connection, answer),
                _ => {
                    return Err(AdminError::invalid(
                        "body.target",
                        format!(
                            "a resource and a connection are both called `{id}`: name one as \
                             {{\"resource\": \"{id}\"}} or {{\"connection\": \"{id}\"}}"
                        ),
                    ));
                }
            }
        }
    };
    let mut found = answer.map_err(|e| unanswered(e, &target, "body.scope"))?;
    // Only under the grant types each client may use.
    let usable = usable_grant_types(entities);
    found.holders.retain(|h| {
        usable
            .get(h.client)
            .is_some_and(|grants| grants.contains(&h.grant_type))
    });
    Ok(to_json(&TargetAnswer {
        target: &target,
        scope,
        holders: found.holders,
    }))
}

/// Why a who-can question has no answer: the target is not defined, or the scope (at
/// `scope_path`) does not fit it.
fn unanswered(e: ReachError, target: &Target, scope_path: &str) -> AdminError {
    match e {
        ReachError::UnknownTarget(_) => AdminError::NotFound {
            kind: match target {
                Target::Resource(_) => "resource",
                Target::Connection(_) => "connection",
            },
            id: target.id().to_owned(),
        },
        other => AdminError::invalid(scope_path, other.to_string()),
    }
}

/// One policy's holders of a scope under one grant type, as the console lists them: the clients
/// (only those that may use the grant type) and the users it gives the scope to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRow {
    /// The policy.
    pub policy: String,
    /// The grant type.
    pub grant_type: GrantType,
    /// Its conditions on request data (empty: it gives whatever the request carries).
    pub conditions: Vec<String>,
    /// The clients, by id.
    pub clients: Vec<String>,
    /// The users, by `sub` (none under `client_credentials`).
    pub users: Vec<String>,
    /// Whether requests without a user qualify.
    pub without_user: bool,
}

/// Who can obtain `scope` on `target`, policy by policy and grant type by grant type
/// ([`PolicySet::who_can_by_policy`]): the answer [`answer`] gives for a target, factored, so
/// that a directory of thousands of clients and users answers in one page. Only under the grant
/// types each client may use.
pub fn by_policy(
    set: &PolicySet,
    entities: Entities<'_>,
    target: &Target,
    scope: Option<&str>,
) -> Result<Vec<PolicyRow>, AdminError> {
    let clients: Vec<tollgate_engine::Client> = entities
        .clients
        .iter()
        .map(|c| engine_client_of(c))
        .collect();
    let users: Vec<tollgate_engine::User> =
        entities.users.iter().map(|u| engine_user_of(u)).collect();
    let found = set
        .who_can_by_policy(target, scope, &clients, &users)
        .map_err(|e| unanswered(e, target, "scope"))?;
    let usable = usable_grant_types(entities);
    let mut rows = Vec::new();
    for p in found {
        for grant in p.grants {
            let clients: Vec<String> = p
                .clients
                .iter()
                .filter(|c| {
                    usable
                        .get(**c)
                        .is_some_and(|g| g.contains(&grant.grant_type))
                })
                .map(|c| (*c).to_owned())
                .collect();
            if clients.is_empty() {
                continue;
            }
            let (without, with) = grant.grant_type.user_presence();
            let users: Vec<String> = if with {
                p.users.iter().map(|u| (*u).to_owned()).collect()
            } else {
                Vec::new()
            };
            let without_user = without && p.without_user;
            if users.is_empty() && !without_user {
                continue;
            }
            rows.push(PolicyRow {
                policy: p.policy.to_owned(),
                grant_type: grant.grant_type,
                conditions: grant.conditions.iter().map(|c| (*c).to_owned()).collect(),
                clients,
                users,
                without_user,
            });
        }
    }
    Ok(rows)
}

/// The directory's clients and users in id order, for [`answer`].
pub fn sorted<'a>(
    clients: impl Iterator<Item = &'a ClientConfig>,
    users: impl Iterator<Item = &'a UserConfig>,
) -> (Vec<&'a ClientConfig>, Vec<&'a UserConfig>) {
    let mut clients: Vec<&ClientConfig> = clients.collect();
    clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    let mut users: Vec<&UserConfig> = users.collect();
    users.sort_by(|a, b| a.sub.cmp(&b.sub));
    (clients, users)
}

/// Answers `query` on the server's current directory, with the policy-set version.
pub fn on_directory(
    core: &crate::oauth::state::Core,
    query: &ReachQuery,
) -> Result<Value, AdminError> {
    let directory = core.directory();
    let version = core.policy.version();
    let set = directory.policy_set().map_err(|message| {
        AdminError::Decide(crate::runtime::RuntimeError::Invalid(vec![
            tollgate_engine::ValidationError {
                path: String::new(),
                message: message.to_owned(),
            },
        ]))
    })?;
    let (clients, users) = sorted(directory.clients.values(), directory.users.values());
    let mut body = answer(
        set,
        Entities {
            clients: &clients,
            users: &users,
        },
        query,
    )?;
    if let Value::Object(fields) = &mut body {
        fields.insert("policyVersion".to_owned(), Value::from(version));
    }
    Ok(body)
}
