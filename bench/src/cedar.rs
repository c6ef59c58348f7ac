//! The workload in Cedar: one `permit` per policy, the scopes it gives in an `@scopes`
//! annotation, and the request attributes in the context.
//!
//! ```cedar
//! @id("p-000042")
//! @scopes("res-0007:read res-0007:write")
//! permit (
//!   principal == Client::"client-12",
//!   action in [Action::"authorization_code", Action::"token_exchange"],
//!   resource == Resource::"res-0007"
//! ) when {
//!   context has user && context.user has roles && context.user.roles.contains("SRE")
//! };
//! ```
//!
//! Cedar answers Allow/Deny and the determining policies; the granted scopes are the union of those
//! policies' `@scopes`, intersected with the requested scopes.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::str::FromStr;

use cedar_policy::{Authorizer, Context, Entities, EntityUid, PolicySet, Request};
use serde_json::{Map, Value, json};

use crate::workload::{Attr, Condition, Op, Policy, Req, Workload};

/// The annotation carrying a policy's scopes, space-separated.
pub const SCOPES_ANNOTATION: &str = "scopes";

/// A Cedar string literal (generated names never need more than these escapes).
fn lit(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn set(values: &[String]) -> String {
    let items: Vec<String> = values.iter().map(|v| lit(v)).collect();
    format!("[{}]", items.join(", "))
}

/// The Cedar text of one policy.
pub fn policy_text(w: &Workload, p: &Policy) -> String {
    let target = w.resources.get(p.target).map_or("", |r| r.id.as_str());
    let mut when: Vec<String> = Vec::new();
    let principal = match p.clients.as_deref() {
        None => "principal".to_owned(),
        Some([one]) => format!("principal == Client::{}", lit(one)),
        Some(many) => {
            let uids: Vec<String> = many.iter().map(|c| format!("Client::{}", lit(c))).collect();
            when.push(format!("principal in [{}]", uids.join(", ")));
            "principal".to_owned()
        }
    };
    let action = match p.grant_types.as_slice() {
        [one] => format!("action == Action::{}", lit(one.as_str())),
        many => {
            let uids: Vec<String> = many
                .iter()
                .map(|g| format!("Action::{}", lit(g.as_str())))
                .collect();
            format!("action in [{}]", uids.join(", "))
        }
    };
    when.extend(p.conditions.iter().map(condition));
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "@id({})\n@scopes({})\npermit (\n  {principal},\n  {action},\n  resource == Resource::{}\n)",
        lit(&p.id),
        lit(&p.scopes.join(" ")),
        lit(target),
    );
    if !when.is_empty() {
        let _ = write!(out, " when {{\n  {}\n}}", when.join(" &&\n  "));
    }
    out.push_str(";\n");
    out
}

/// `record has field && ...`: the guard that makes an absent attribute fail the condition rather
/// than raise an evaluation error.
fn condition(c: &Condition) -> String {
    let (guard, path) = match &c.attr {
        Attr::UserRoles => (
            "context has user && context.user has roles",
            "context.user.roles".to_owned(),
        ),
        Attr::UserTenantIds => (
            "context has user && context.user has tenantIds",
            "context.user.tenantIds".to_owned(),
        ),
        Attr::UserPermissions => (
            "context has user && context.user has permissions",
            "context.user.permissions".to_owned(),
        ),
        Attr::ClientTags => ("context.client has tags", "context.client.tags".to_owned()),
        Attr::ClientName => ("context.client has name", "context.client.name".to_owned()),
        Attr::ClientStatus => (
            "context.client has status",
            "context.client.status".to_owned(),
        ),
        Attr::ClientRegistrationType => (
            "context.client has registrationType",
            "context.client.registrationType".to_owned(),
        ),
        Attr::Claim(name) => {
            return match &c.op {
                Op::Equal(v) => format!(
                    "context has claims && context.claims has {name} && context.claims.{name} == {}",
                    lit(v)
                ),
                Op::In(vs) => format!(
                    "context has claims && context.claims has {name} && {}.contains(context.claims.{name})",
                    set(vs)
                ),
                // The generator never draws `contains` on a claim.
                Op::Contains(_) => "false".to_owned(),
            };
        }
    };
    let is_list = matches!(
        c.attr,
        Attr::UserRoles | Attr::UserTenantIds | Attr::UserPermissions | Attr::ClientTags
    );
    let test = match (&c.op, is_list) {
        (Op::Contains(v), true) => format!("{path}.contains({})", lit(v)),
        (Op::In(vs), true) => format!("{path}.containsAny({})", set(vs)),
        (Op::Equal(v), false) => format!("{path} == {}", lit(v)),
        (Op::In(vs), false) => format!("{}.contains({path})", set(vs)),
        // Not drawn by the generator: list equality and substring tests.
        (Op::Equal(_), true) | (Op::Contains(_), false) => "false".to_owned(),
    };
    format!("{guard} && {test}")
}

/// Every policy, in document order, as one Cedar text.
pub fn policies_text(w: &Workload) -> String {
    w.policies.iter().map(|p| policy_text(w, p)).collect()
}

/// The policies of each target as one text per target (the input of [`CedarIndexed`]).
pub fn per_target_texts(w: &Workload) -> Vec<(String, String)> {
    w.resources
        .iter()
        .zip(&w.by_target)
        .map(|(r, policies)| {
            let text = policies
                .iter()
                .filter_map(|&i| w.policies.get(i))
                .map(|p| policy_text(w, p))
                .collect();
            (r.id.clone(), text)
        })
        .collect()
}

/// A request in Cedar's terms, built before timing starts.
#[derive(Debug, Clone)]
pub struct CedarRequest {
    request: Request,
    target: String,
    requested: Option<Vec<String>>,
}

/// Error building a Cedar request (a bug in this crate when it happens).
pub type BuildError = Box<dyn std::error::Error + Send + Sync>;

/// Principal `Client::"<clientId>"`, action `Action::"<grant type>"`, resource
/// `Resource::"<target>"`, and a context record `{ client, user?, claims? }` holding the present
/// attributes only.
pub fn request(w: &Workload, r: &Req) -> Result<CedarRequest, BuildError> {
    let target = w.resources.get(r.target).map_or("", |t| t.id.as_str());
    let uid = |ty: &str, id: &str| -> Result<EntityUid, BuildError> {
        Ok(EntityUid::from_str(&format!("{ty}::{}", lit(id)))?)
    };
    let mut client = Map::new();
    let fields = [
        ("name", &r.client_name),
        ("status", &r.client_status),
        ("registrationType", &r.registration_type),
    ];
    for (key, value) in fields {
        if let Some(v) = value {
            client.insert(key.into(), json!(v));
        }
    }
    if let Some(tags) = &r.client_tags {
        client.insert("tags".into(), json!(tags));
    }
    let mut context = Map::new();
    context.insert("client".into(), Value::Object(client));
    if let Some(u) = &r.user {
        let mut user = Map::new();
        user.insert("sub".into(), json!(u.sub));
        let lists = [
            ("roles", &u.roles),
            ("tenantIds", &u.tenant_ids),
            ("permissions", &u.permissions),
        ];
        for (key, value) in lists {
            if let Some(v) = value {
                user.insert(key.into(), json!(v));
            }
        }
        context.insert("user".into(), Value::Object(user));
    }
    if let Some(claims) = &r.claims {
        context.insert("claims".into(), json!(claims));
    }
    let request = Request::new(
        uid("Client", &r.client_id)?,
        uid("Action", r.grant.as_str())?,
        uid("Resource", target)?,
        Context::from_json_value(Value::Object(context), None)?,
        None,
    )?;
    Ok(CedarRequest {
        request,
        target: target.to_owned(),
        requested: r.requested.clone(),
    })
}

/// What Cedar decided, in Tollgate's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CedarDecision {
    /// The granted scopes (request order; annotation order when nothing was requested).
    pub granted: Vec<String>,
    /// Evaluation errors Cedar reported (a translation bug when non-zero: the guards prevent them).
    pub errors: usize,
}

fn decide_with(
    authorizer: &Authorizer,
    set: &PolicySet,
    entities: &Entities,
    r: &CedarRequest,
) -> CedarDecision {
    let response = authorizer.is_authorized(&r.request, set, entities);
    let diagnostics = response.diagnostics();
    let mut allowed: Vec<&str> = Vec::new();
    for id in diagnostics.reason() {
        if let Some(scopes) = set.annotation(id, SCOPES_ANNOTATION) {
            for s in scopes.split(' ') {
                if !allowed.contains(&s) {
                    allowed.push(s);
                }
            }
        }
    }
    let granted = match &r.requested {
        Some(requested) => {
            let mut out: Vec<String> = Vec::with_capacity(requested.len());
            for s in requested {
                if allowed.contains(&s.as_str()) && !out.contains(s) {
                    out.push(s.clone());
                }
            }
            out
        }
        None => allowed.into_iter().map(str::to_owned).collect(),
    };
    CedarDecision {
        granted,
        errors: diagnostics.errors().count(),
    }
}

/// Cedar over the whole policy set: every decision evaluates every policy.
#[derive(Debug)]
pub struct Cedar {
    set: PolicySet,
    authorizer: Authorizer,
    entities: Entities,
}

impl Cedar {
    /// Parses the policies.
    pub fn load(text: &str) -> Result<Cedar, BuildError> {
        Ok(Cedar {
            set: PolicySet::from_str(text)?,
            authorizer: Authorizer::new(),
            entities: Entities::empty(),
        })
    }

    /// The number of policies loaded.
    pub fn len(&self) -> usize {
        self.set.policies().count()
    }

    /// Whether no policy is loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Decides one request.
    pub fn decide(&self, r: &CedarRequest) -> CedarDecision {
        decide_with(&self.authorizer, &self.set, &self.entities, r)
    }
}

/// Cedar behind the same per-target index Tollgate builds: only the request's target's policies
/// are evaluated.
#[derive(Debug)]
pub struct CedarIndexed {
    by_target: HashMap<String, PolicySet>,
    empty: PolicySet,
    authorizer: Authorizer,
    entities: Entities,
}

impl CedarIndexed {
    /// Parses each target's policies into its own policy set.
    pub fn load(per_target: &[(String, String)]) -> Result<CedarIndexed, BuildError> {
        let mut by_target = HashMap::with_capacity(per_target.len());
        for (target, text) in per_target {
            by_target.insert(target.clone(), PolicySet::from_str(text)?);
        }
        Ok(CedarIndexed {
            by_target,
            empty: PolicySet::new(),
            authorizer: Authorizer::new(),
            entities: Entities::empty(),
        })
    }

    /// Decides one request.
    pub fn decide(&self, r: &CedarRequest) -> CedarDecision {
        let set = self.by_target.get(&r.target).unwrap_or(&self.empty);
        decide_with(&self.authorizer, set, &self.entities, r)
    }
}
