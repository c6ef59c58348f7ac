//! Policies in the console: the list, the editor (a form, or the policy as YAML), the preview of
//! a draft (what it would give or take away, and one request decided by the current and the draft
//! policies side by side), saving (enforced or as a dry run), deleting with a confirmation, and
//! each policy's history from the audit log with a diff.
//!
//! A draft goes through what the admin API's preview and save go through
//! ([`crate::admin::preview`], [`crate::admin::entities`]); every error comes back with its path
//! (`targets[0].scopes[1]`) and is shown next to the field it is about.

use std::collections::BTreeMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value};
use tollgate_engine::{ReachChange, ValidationError};

use super::chrome::{Chrome, Section, console_message, encode, query_param, when};
use super::home::{Pickers, Simulated, Simulation, Verdict};
use super::session::{Staff, changing, posted, signed_in};
use crate::admin::entities;
use crate::admin::error::AdminError;
use crate::admin::policies::{PolicyBody, entity};
use crate::admin::preview::{PreviewQuery, at_draft, preview, savable};
use crate::clock::now;
use crate::server::html::{console_page, see_other, store_failed};
use crate::server::session::Form;
use crate::server::state::AppState;
use crate::store::{AuditFilter, Kind, Source};

/// The most target and condition rows a posted form may carry.
const MAX_ROWS: usize = 64;
/// Empty rows the editor offers after the filled ones.
const SPARE_TARGETS: usize = 2;
const SPARE_CONDITIONS: usize = 3;

// ------------------------------------------------------------------------------------------
// The list

/// One policy in the list.
struct Row {
    id: String,
    name: String,
    mode: String,
    subject: String,
    grant_types: String,
    targets: String,
    declared: bool,
    changed: String,
}

#[derive(Template)]
#[template(path = "console/policies.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    notice: Option<String>,
}

fn summary_of(policy: &Value) -> (String, String, String) {
    let subject = policy.get("subject");
    let clients: Vec<&str> = subject
        .and_then(|s| s.get("clients"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let conditions = subject
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let mut who = if clients.is_empty() {
        "any client".to_owned()
    } else {
        clients.join(", ")
    };
    match conditions {
        0 => {}
        1 => who.push_str(", 1 condition"),
        n => who.push_str(&format!(", {n} conditions")),
    }
    let grants: Vec<&str> = policy
        .get("grantTypes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let grants = if grants.is_empty() {
        "all".to_owned()
    } else {
        grants.join(", ")
    };
    let targets: Vec<String> = policy
        .get("targets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|t| {
            let id = t
                .get("resource")
                .or_else(|| t.get("connection"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            match t.get("scopes") {
                Some(Value::String(all)) => format!("{id}: {all}"),
                Some(Value::Array(scopes)) => format!(
                    "{id}: {}",
                    scopes
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                _ => id.to_owned(),
            }
        })
        .collect();
    (who, grants, targets.join("; "))
}

/// `GET /console/policies`.
pub(super) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let staff = match signed_in(&state, &headers, "/console/policies").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let stored = match state.core.store.list_entities(Kind::Policy).await {
        Ok(stored) => stored,
        Err(e) => return store_failed(&e),
    };
    let mut rows = Vec::with_capacity(stored.len());
    for (id, body, source) in stored {
        let (subject, grant_types, targets) = summary_of(&body);
        let last = state
            .core
            .store
            .audit_search(
                &AuditFilter {
                    entity: Some(format!("policy:{id}")),
                    ..AuditFilter::default()
                },
                1,
            )
            .await;
        let changed = match last {
            Ok(records) => records
                .first()
                .map(|r| {
                    let by = r.body.get("by").and_then(Value::as_str).unwrap_or("—");
                    format!("{} by {by}", when(r.at))
                })
                .unwrap_or_else(|| "—".to_owned()),
            Err(e) => return store_failed(&e),
        };
        rows.push(Row {
            name: body
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            mode: body
                .get("mode")
                .and_then(Value::as_str)
                .unwrap_or("enforce")
                .to_owned(),
            id,
            subject,
            grant_types,
            targets,
            declared: source == Source::Config,
            changed,
        });
    }
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    let notice = match (
        query_param(query.as_deref(), "saved"),
        query_param(query.as_deref(), "deleted"),
    ) {
        (Some(id), _) => Some(format!("Policy {id} saved.")),
        (_, Some(id)) => Some(format!("Policy {id} deleted.")),
        _ => None,
    };
    console_page(
        StatusCode::OK,
        &ListPage {
            chrome: Chrome::of(&staff, Section::Policies),
            rows,
            notice,
        },
    )
}

// ------------------------------------------------------------------------------------------
// The editor's form

/// A target row: `resource:<id>` or `connection:<id>`, and its scopes (space-separated, or `*`).
#[derive(Debug, Clone, Default)]
struct TargetRow {
    target: String,
    scopes: String,
}

/// A condition row.
#[derive(Debug, Clone, Default)]
struct ConditionRow {
    key: String,
    op: String,
    value: String,
}

/// The editor's fields, as shown or as posted.
#[derive(Debug, Clone, Default)]
struct PolicyForm {
    /// The id of the policy being edited; empty for a new one.
    original: String,
    /// The edited policy as it was loaded ([`revision_of`]): a save refuses to overwrite a
    /// change made since.
    revision: String,
    id: String,
    name: String,
    description: String,
    mode: String,
    clients: Vec<String>,
    grant_types: Vec<String>,
    targets: Vec<TargetRow>,
    conditions: Vec<ConditionRow>,
    /// The policy as YAML.
    yaml: String,
}

/// A condition value as typed: JSON when it reads as a number, boolean, object, list or quoted
/// string; otherwise the text itself.
fn value_of(text: &str) -> Value {
    let text = text.trim();
    match serde_json::from_str::<Value>(text) {
        Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Object(_) | Value::Array(_))) => v,
        Ok(Value::String(s)) if text.starts_with('"') => Value::String(s),
        _ => Value::String(text.to_owned()),
    }
}

/// A condition value as the form shows it.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => {
            // Text that would read back as something else is shown quoted.
            if matches!(value_of(s), Value::String(_)) && s.trim() == s {
                s.clone()
            } else {
                Value::String(s.clone()).to_string()
            }
        }
        other => other.to_string(),
    }
}

/// A list operand as the form shows it: its values separated by commas, or, when one of them
/// holds a comma or would read back as something else, the list as JSON.
fn list_text(values: &[Value]) -> String {
    let plain = values.iter().all(|v| match v {
        Value::String(s) => {
            !s.contains(',') && matches!(value_of(s), Value::String(ref t) if t == s)
        }
        _ => false,
    });
    if plain {
        values.iter().map(text_of).collect::<Vec<_>>().join(", ")
    } else {
        Value::Array(values.to_vec()).to_string()
    }
}

/// A list operand as typed: a JSON list, or values separated by commas.
fn list_of(text: &str) -> Vec<Value> {
    let text = text.trim();
    if text.starts_with('[')
        && let Ok(Value::Array(values)) = serde_json::from_str::<Value>(text)
    {
        return values;
    }
    text.split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(value_of)
        .collect()
}

impl PolicyForm {
    /// The editor's fields for a stored policy.
    fn of(original: &str, policy: &Value) -> PolicyForm {
        let text = |key: &str| {
            policy
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let list = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        };
        let subject = policy.get("subject");
        PolicyForm {
            original: original.to_owned(),
            revision: String::new(),
            id: text("id"),
            name: text("name"),
            description: text("description"),
            mode: policy
                .get("mode")
                .and_then(Value::as_str)
                .unwrap_or("enforce")
                .to_owned(),
            clients: list(subject.and_then(|s| s.get("clients"))),
            grant_types: list(policy.get("grantTypes")),
            targets: policy
                .get("targets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|t| TargetRow {
                    target: match (t.get("resource"), t.get("connection")) {
                        (Some(Value::String(id)), _) => format!("resource:{id}"),
                        (_, Some(Value::String(id))) => format!("connection:{id}"),
                        _ => String::new(),
                    },
                    scopes: match t.get("scopes") {
                        Some(Value::String(s)) => s.clone(),
                        Some(Value::Array(a)) => a
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(" "),
                        _ => String::new(),
                    },
                })
                .collect(),
            conditions: subject
                .and_then(|s| s.get("conditions"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|c| ConditionRow {
                    key: c
                        .get("key")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    op: c
                        .get("op")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    value: match (c.get("value"), c.get("values")) {
                        (Some(v), _) => text_of(v),
                        (_, Some(Value::Array(vs))) => list_text(vs),
                        _ => String::new(),
                    },
                })
                .collect(),
            yaml: serde_norway::to_string(policy).unwrap_or_default(),
        }
    }

    /// The fields of a posted form (rows beyond [`MAX_ROWS`] are not read).
    fn read(form: &Form) -> PolicyForm {
        let one = |k: &str| form.one(k).unwrap_or_default().trim().to_owned();
        let targets = (0..MAX_ROWS)
            .map(|i| TargetRow {
                target: one(&format!("target_{i}")),
                scopes: one(&format!("scopes_{i}")),
            })
            .collect::<Vec<_>>();
        let conditions = (0..MAX_ROWS)
            .map(|i| ConditionRow {
                key: one(&format!("cond_key_{i}")),
                op: one(&format!("cond_op_{i}")),
                value: one(&format!("cond_value_{i}")),
            })
            .collect::<Vec<_>>();
        PolicyForm {
            original: one("original"),
            revision: one("revision"),
            id: one("id"),
            name: one("name"),
            description: one("description"),
            mode: one("mode"),
            clients: form.all("client"),
            grant_types: form.all("grant_type"),
            targets,
            conditions,
            yaml: form.one("yaml").unwrap_or_default().to_owned(),
        }
    }

    /// Drops empty rows, keeping the filled ones in order.
    fn compact(&mut self) {
        self.targets
            .retain(|t| !t.target.is_empty() || !t.scopes.is_empty());
        self.conditions
            .retain(|c| !c.key.is_empty() || !c.value.is_empty());
    }

    /// The policy the fields describe (after [`PolicyForm::compact`]), as the document has it.
    fn to_value(&self) -> Value {
        let mut policy = Map::new();
        policy.insert("id".into(), Value::from(self.id.clone()));
        if !self.name.is_empty() {
            policy.insert("name".into(), Value::from(self.name.clone()));
        }
        if !self.description.is_empty() {
            policy.insert("description".into(), Value::from(self.description.clone()));
        }
        if !self.mode.is_empty() && self.mode != "enforce" {
            policy.insert("mode".into(), Value::from(self.mode.clone()));
        }
        let mut subject = Map::new();
        if !self.clients.is_empty() {
            subject.insert("clients".into(), Value::from(self.clients.clone()));
        }
        if !self.conditions.is_empty() {
            let conditions: Vec<Value> = self
                .conditions
                .iter()
                .map(|c| {
                    let mut condition = Map::new();
                    condition.insert("key".into(), Value::from(c.key.clone()));
                    condition.insert("op".into(), Value::from(c.op.clone()));
                    match c.op.as_str() {
                        "exists" | "notExists" => {}
                        "in" | "notIn" | "inCidr" => {
                            condition.insert("values".into(), Value::from(list_of(&c.value)));
                        }
                        _ => {
                            condition.insert("value".into(), value_of(&c.value));
                        }
                    }
                    Value::Object(condition)
                })
                .collect();
            subject.insert("conditions".into(), Value::from(conditions));
        }
        if !subject.is_empty() {
            policy.insert("subject".into(), Value::Object(subject));
        }
        if !self.grant_types.is_empty() {
            policy.insert("grantTypes".into(), Value::from(self.grant_types.clone()));
        }
        let targets: Vec<Value> = self
            .targets
            .iter()
            .map(|t| {
                let mut target = Map::new();
                // Neither kind: the engine reports the target missing, at this row.
                if let Some((kind @ ("resource" | "connection"), id)) = t.target.split_once(':') {
                    target.insert(kind.into(), Value::from(id));
                }
                if t.scopes == "*" {
                    target.insert("scopes".into(), Value::from("*"));
                } else if !t.scopes.is_empty() {
                    // Scope names may hold commas (RFC 6749 §3.3): only spaces separate them.
                    let scopes: Vec<&str> = t.scopes.split_whitespace().collect();
                    target.insert("scopes".into(), Value::from(scopes));
                }
                Value::Object(target)
            })
            .collect();
        policy.insert("targets".into(), Value::from(targets));
        Value::Object(policy)
    }
}

/// Errors by the field they are about: `id`, `name`, `description`, `mode`, `clients`,
/// `grant_types`, `target_<row>`, `cond_<row>`, `yaml`, or `general`. Each message carries the
/// path the engine or the admin API gave it.
#[derive(Debug, Default)]
struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    fn push(&mut self, field: impl Into<String>, message: String) {
        self.0.entry(field.into()).or_default().push(message);
    }

    /// The errors about `field`.
    fn at(&self, field: &str) -> &[String] {
        self.0.get(field).map_or(&[], Vec::as_slice)
    }

    /// The errors about row `i` of `rows` (`target` or `cond`).
    fn row(&self, rows: &str, i: &usize) -> &[String] {
        self.at(&format!("{rows}_{i}"))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many there are.
    fn count(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }

    /// Files an error (path relative to the policy: `targets[0].scopes[1]`) under its field.
    fn file(&mut self, path: &str, message: &str, from_yaml: bool) {
        let shown = if path.is_empty() {
            message.to_owned()
        } else {
            format!("{path}: {message}")
        };
        if from_yaml {
            self.push("yaml", shown);
            return;
        }
        let index = |rest: &str| -> Option<usize> {
            rest.strip_prefix('[')?.split(']').next()?.parse().ok()
        };
        let field = if let Some(rest) = path.strip_prefix("targets") {
            index(rest).map_or_else(|| "general".to_owned(), |i| format!("target_{i}"))
        } else if let Some(rest) = path.strip_prefix("subject.conditions") {
            index(rest).map_or_else(|| "general".to_owned(), |i| format!("cond_{i}"))
        } else if path.starts_with("subject.clients") {
            "clients".to_owned()
        } else if path.starts_with("grantTypes") {
            "grant_types".to_owned()
        } else {
            match path {
                "id" | "name" | "description" | "mode" => path.to_owned(),
                _ => "general".to_owned(),
            }
        };
        self.push(field, shown);
    }
}

/// A path under the admin API's `body.policy` as the editor shows it.
fn policy_path(path: &str) -> &str {
    path.strip_prefix("body.policy.")
        .or_else(|| path.strip_prefix("body.policy"))
        .or_else(|| path.strip_prefix("body."))
        .unwrap_or(path)
}

/// A stored policy's revision: the first 16 hex digits of the SHA-256 of its body.
fn revision_of(body: &Value) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(body.to_string().as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A policy value as the admin API would read it, or the error at its path.
fn typed(policy: &Value) -> Result<PolicyBody, ValidationError> {
    serde_path_to_error::deserialize(policy).map_err(|e| ValidationError {
        path: match e.path().to_string() {
            root if root == "." => String::new(),
            path => path,
        },
        message: e.into_inner().to_string(),
    })
}

// ------------------------------------------------------------------------------------------
// The editor's page

/// One line of a preview.
struct ChangeRow {
    grant_type: String,
    client: String,
    user: String,
    target: String,
    scope: String,
    before: String,
    after: String,
    by: String,
}

impl ChangeRow {
    fn of(c: &ReachChange) -> ChangeRow {
        let standing = |s: tollgate_engine::Standing| {
            serde_json::to_value(s)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        };
        let mut by = c.by.join(", ");
        for conditional in &c.conditional {
            if !by.is_empty() {
                by.push_str("; ");
            }
            by.push_str(&format!(
                "{} if {}",
                conditional.policy,
                conditional.conditions.join(" and ")
            ));
        }
        ChangeRow {
            grant_type: c.grant_type.as_str().to_owned(),
            client: c.client.clone(),
            user: c.user.clone().unwrap_or_else(|| "no user".to_owned()),
            target: c.target.id().to_owned(),
            scope: c
                .scope
                .clone()
                .unwrap_or_else(|| "the credential".to_owned()),
            before: standing(c.before),
            after: standing(c.after),
            by,
        }
    }
}

/// A preview's answer, as shown.
struct PreviewView {
    change: &'static str,
    /// Combinations gained, lost and changed in all.
    totals: (usize, usize, usize),
    /// Whether every combination is listed (`gained`, `lost`, `changed`); otherwise `counted`.
    listed: bool,
    gained: Vec<ChangeRow>,
    lost: Vec<ChangeRow>,
    changed: Vec<ChangeRow>,
    /// Per grant type, client, target and scope, the users counted (the first [`COUNTED`]).
    counted: Vec<CountedRow>,
}

/// Summary rows a preview shows at most.
const COUNTED: usize = 200;

/// One client's change on one scope under one grant type, counted.
struct CountedRow {
    grant_type: String,
    client: String,
    target: String,
    scope: String,
    gained: String,
    lost: String,
    changed: String,
}

impl CountedRow {
    fn of(r: &tollgate_engine::SummaryRow) -> CountedRow {
        let users = |u: &tollgate_engine::UsersCount| {
            let mut parts = Vec::new();
            if u.without_user {
                parts.push("no user".to_owned());
            }
            if u.users > 0 {
                let mut named = u.examples.join(", ");
                if u.users > u.examples.len() {
                    named.push_str(", …");
                }
                parts.push(format!(
                    "{} {} ({named})",
                    u.users,
                    if u.users == 1 { "user" } else { "users" }
                ));
            }
            parts.join("; ")
        };
        CountedRow {
            grant_type: r.grant_type.as_str().to_owned(),
            client: r.client.clone(),
            target: r.target.id().to_owned(),
            scope: r
                .scope
                .clone()
                .unwrap_or_else(|| "the credential".to_owned()),
            gained: users(&r.gained),
            lost: users(&r.lost),
            changed: users(&r.changed),
        }
    }
}

#[derive(Template)]
#[template(path = "console/policy_edit.html")]
struct EditPage {
    chrome: Chrome,
    pickers: Pickers,
    form: PolicyForm,
    errors: FieldErrors,
    /// Whether the YAML section is the one in use (opened).
    yaml_open: bool,
    /// A policy the configuration file declares: shown, not saved here.
    declared: bool,
    preview: Option<PreviewView>,
    sim: Simulation,
    simulated: Option<Simulated>,
    keys: Vec<&'static str>,
    operators: Vec<&'static str>,
    /// Indices of the target and condition rows to show (filled ones and spares).
    target_rows: Vec<usize>,
    condition_rows: Vec<usize>,
}

impl EditPage {
    fn result_problem(&self, field: &str) -> Option<&str> {
        self.simulated.as_ref()?.problem(field)
    }
    fn target(&self, i: &usize) -> TargetRow {
        self.form.targets.get(*i).cloned().unwrap_or_default()
    }
    fn condition(&self, i: &usize) -> ConditionRow {
        self.form.conditions.get(*i).cloned().unwrap_or_default()
    }
    fn known_client(&self, id: &str) -> bool {
        self.pickers.clients.iter().any(|c| c.value == id)
    }
    fn known_target(&self, value: &str) -> bool {
        self.pickers.targets.iter().any(|t| t.value == value)
    }
    fn has_client(&self, id: &str) -> bool {
        self.form.clients.iter().any(|c| c == id)
    }
    fn has_grant(&self, g: &str) -> bool {
        self.form.grant_types.iter().any(|c| c == g)
    }
    fn title(&self) -> String {
        if self.form.original.is_empty() {
            "New policy".to_owned()
        } else {
            format!("Policy {}", self.form.original)
        }
    }
}

#[allow(clippy::too_many_arguments, reason = "one page's parts")]
fn editor(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    form: PolicyForm,
    errors: FieldErrors,
    yaml_open: bool,
    declared: bool,
    preview: Option<PreviewView>,
    sim: Simulation,
    simulated: Option<Simulated>,
) -> Response {
    let directory = state.core.directory();
    let target_rows = (0..form.targets.len() + SPARE_TARGETS).collect();
    let condition_rows = (0..form.conditions.len() + SPARE_CONDITIONS).collect();
    console_page(
        status,
        &EditPage {
            chrome: Chrome::of(staff, Section::Policies),
            pickers: Pickers::of(&directory),
            form,
            errors,
            yaml_open,
            declared,
            preview,
            sim,
            simulated,
            keys: tollgate_engine::key_names().collect(),
            operators: tollgate_engine::operator_names().collect(),
            target_rows,
            condition_rows,
        },
    )
}

/// `GET /console/policies/new`.
pub(super) async fn new(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let staff = match signed_in(&state, &headers, "/console/policies/new").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let form = PolicyForm {
        mode: "enforce".to_owned(),
        yaml: "id: \ntargets:\n  - resource: \n    scopes: []\n".to_owned(),
        ..PolicyForm::default()
    };
    editor(
        &state,
        &staff,
        StatusCode::OK,
        form,
        FieldErrors::default(),
        false,
        false,
        None,
        Simulation::default(),
        None,
    )
}

/// `GET /console/policies/{id}`.
pub(super) async fn edit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let staff = match signed_in(
        &state,
        &headers,
        &format!("/console/policies/{}", encode(&id)),
    )
    .await
    {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (body, source) = match state.core.store.get_entity(Kind::Policy, &id).await {
        Ok(Some(found)) => found,
        Ok(None) => return no_policy(&id),
        Err(e) => return store_failed(&e),
    };
    editor(
        &state,
        &staff,
        StatusCode::OK,
        PolicyForm {
            revision: revision_of(&body),
            ..PolicyForm::of(&id, &body)
        },
        FieldErrors::default(),
        false,
        source == Source::Config,
        None,
        Simulation::default(),
        None,
    )
}

fn no_policy(id: &str) -> Response {
    console_message(
        StatusCode::NOT_FOUND,
        "No such policy",
        &format!("There is no policy {id}."),
    )
}

/// What the posted editor asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Preview,
    Save,
    SaveDryRun,
}

/// `POST /console/policies/save`: the editor's buttons. `action` is `preview`, `save` or
/// `save-dry-run`, each with a `yaml-` prefix for the YAML section's.
pub(super) async fn save(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = "/console/policies";
    let (staff, posted_form) = match posted(&state, &headers, &body, path).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let asked = posted_form.one("action").unwrap_or("preview");
    let (from_yaml, action) = match asked.strip_prefix("yaml-") {
        Some(rest) => (true, rest),
        None => (false, asked),
    };
    let action = match action {
        "save" => Action::Save,
        "save-dry-run" => Action::SaveDryRun,
        _ => Action::Preview,
    };
    // A preview changes nothing; a save is an administrator's.
    if action != Action::Preview && !staff.is_administrator() {
        return super::session::read_only();
    }
    let mut form = PolicyForm::read(&posted_form);
    let sim = Simulation::read(|name| posted_form.one(name).map(str::to_owned));
    form.compact();
    let mut errors = FieldErrors::default();

    // The draft, from the section whose button was pressed.
    let draft: Option<Value> = if from_yaml {
        match serde_norway::from_str::<Value>(&form.yaml) {
            Ok(value @ Value::Object(_)) => Some(value),
            Ok(_) => {
                errors.push(
                    "yaml",
                    "The YAML must be one policy (a mapping).".to_owned(),
                );
                None
            }
            Err(e) => {
                errors.push("yaml", format!("The YAML does not read: {e}"));
                None
            }
        }
    } else {
        Some(form.to_value())
    };
    let mut draft = draft.and_then(|d| match typed(&d) {
        Ok(policy) => Some(policy),
        Err(e) => {
            errors.file(&e.path, &e.message, from_yaml);
            None
        }
    });
    if let Some(policy) = &mut draft {
        if action == Action::SaveDryRun {
            policy.mode = Some(crate::admin::policies::PolicyMode::DryRun);
        }
        if !form.original.is_empty() && policy.id != form.original {
            errors.file(
                "id",
                &format!(
                    "a saved policy keeps its id (`{}`): create a new policy to use another",
                    form.original
                ),
                from_yaml,
            );
        }
    }
    // Show what was posted, in both sections.
    if let Some(policy) = &draft
        && let Ok(value) = serde_json::to_value(policy)
    {
        let original = std::mem::take(&mut form.original);
        let revision = std::mem::take(&mut form.revision);
        let yaml = std::mem::take(&mut form.yaml);
        form = PolicyForm {
            revision,
            ..PolicyForm::of(&original, &value)
        };
        if from_yaml && !errors.is_empty() {
            form.yaml = yaml;
        }
    }
    let declared = match state.core.store.get_entity(Kind::Policy, &form.id).await {
        Ok(Some((_, Source::Config))) => true,
        Ok(_) => false,
        Err(e) => return store_failed(&e),
    };
    let fail = |form: PolicyForm, errors: FieldErrors, preview: Option<PreviewView>| {
        editor(
            &state,
            &staff,
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            errors,
            from_yaml,
            declared,
            preview,
            sim.clone(),
            None,
        )
    };
    let Some(policy) = draft.filter(|_| errors.is_empty()) else {
        return fail(form, errors, None);
    };

    match action {
        Action::Preview => {
            let query = PreviewQuery {
                policy: Some(policy),
                delete: None,
                request: None,
            };
            // A policy the file declares is previewed too (the page says it is saved there).
            let directory = state.core.directory();
            let request = sim.asked().then(|| sim.request(&directory)).transpose();
            let (request, problems) = match request {
                Ok(request) => (request, Vec::new()),
                Err(problems) => (None, problems),
            };
            drop(directory);
            let core = std::sync::Arc::clone(&state.core);
            let query = PreviewQuery { request, ..query };
            let answered = tokio::task::spawn_blocking(move || preview(&core, query)).await;
            let answer = match answered {
                Ok(Ok(answer)) => answer,
                Ok(Err(e)) => {
                    for problem in e.errors() {
                        errors.file(policy_path(&problem.path), &problem.message, from_yaml);
                    }
                    if errors.is_empty() {
                        errors.push("general", super::home::errors_text(&e));
                    }
                    return fail(form, errors, None);
                }
                Err(_) => {
                    errors.push("general", "The preview could not be computed.".to_owned());
                    return fail(form, errors, None);
                }
            };
            let simulated = if sim.asked() {
                Some(match &answer.decisions {
                    Some(both) => Simulated {
                        current: Some(Verdict::of(&both.current)),
                        draft: Some(Verdict::of(&both.draft)),
                        problems: Vec::new(),
                    },
                    None => Simulated {
                        current: None,
                        draft: None,
                        problems,
                    },
                })
            } else {
                None
            };
            let view = PreviewView {
                change: answer.change,
                totals: (
                    answer.summary.gained,
                    answer.summary.lost,
                    answer.summary.changed,
                ),
                listed: answer.listed,
                gained: answer.gained.iter().map(ChangeRow::of).collect(),
                lost: answer.lost.iter().map(ChangeRow::of).collect(),
                changed: answer.changed.iter().map(ChangeRow::of).collect(),
                counted: answer
                    .summary
                    .rows
                    .iter()
                    .take(COUNTED)
                    .map(CountedRow::of)
                    .collect(),
            };
            editor(
                &state,
                &staff,
                StatusCode::OK,
                form,
                errors,
                from_yaml,
                declared,
                Some(view),
                sim.clone(),
                simulated,
            )
        }
        Action::Save | Action::SaveDryRun => {
            // Another administrator's change since this one opened the policy is not overwritten
            // unseen. Checked before the save takes the admin lock: two saves in the same
            // instant can still pass it, one after the other.
            if !form.original.is_empty() {
                let stored = match state
                    .core
                    .store
                    .get_entity(Kind::Policy, &form.original)
                    .await
                {
                    Ok(stored) => stored,
                    Err(e) => return store_failed(&e),
                };
                if let Some((body, _)) = stored
                    && revision_of(&body) != form.revision
                {
                    errors.push(
                        "general",
                        format!(
                            "Policy {} has changed since you opened it: open it again to see the \
                             change (its history has it), then make yours.",
                            form.original
                        ),
                    );
                    return fail(form, errors, None);
                }
            }
            let id = policy.id.clone();
            let others = state
                .core
                .directory()
                .document
                .get("policies")
                .and_then(Value::as_array)
                .map_or(0, |p| {
                    p.iter()
                        .filter(|p| p.get("id").and_then(Value::as_str) != Some(id.as_str()))
                        .count()
                });
            let now = now();
            let actor = staff.actor();
            let saved = match entity(policy) {
                Ok(e) if form.original.is_empty() => {
                    entities::create(&state.core, e, &actor, now).await
                }
                Ok(e) => entities::replace(&state.core, &id, e, &actor, now).await,
                Err(e) => Err(e),
            };
            match saved {
                Ok(_) => see_other(&format!("/console/policies?saved={}", encode(&id))),
                Err(e) => {
                    match &e {
                        AdminError::Exists { .. } => {
                            errors.file("id", &e.to_string(), from_yaml);
                        }
                        AdminError::Store(failed) => return store_failed(failed),
                        _ => {
                            for problem in e.errors() {
                                let at = at_draft(problem, Some(others));
                                errors.file(policy_path(&at.path), &at.message, from_yaml);
                            }
                            if errors.is_empty() {
                                errors.push("general", super::home::errors_text(&e));
                            }
                        }
                    }
                    fail(form, errors, None)
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Deleting

#[derive(Template)]
#[template(path = "console/policy_delete.html")]
struct DeletePage {
    chrome: Chrome,
    id: String,
    lost: Vec<ChangeRow>,
    changed: Vec<ChangeRow>,
    /// When too many change to list: the combinations lost in all, and per client counted.
    unlisted: Option<(usize, Vec<CountedRow>)>,
    error: Option<String>,
}

/// `GET /console/policies/{id}/delete`: what deleting it would take away, and the confirmation.
pub(super) async fn confirm_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/console/policies/{}/delete", encode(&id));
    let staff = match signed_in(&state, &headers, &path).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let query = PreviewQuery {
        policy: None,
        delete: Some(id.clone()),
        request: None,
    };
    let (lost, changed, unlisted, error) = match savable(&state.core, &query).await {
        Err(AdminError::Store(e)) => return store_failed(&e),
        Err(e) => (Vec::new(), Vec::new(), None, Some(e.to_string())),
        Ok(()) => {
            let core = std::sync::Arc::clone(&state.core);
            match tokio::task::spawn_blocking(move || preview(&core, query)).await {
                Ok(Ok(answer)) => (
                    answer.lost.iter().map(ChangeRow::of).collect(),
                    answer.changed.iter().map(ChangeRow::of).collect(),
                    (!answer.listed).then(|| {
                        (
                            answer.summary.lost,
                            answer
                                .summary
                                .rows
                                .iter()
                                .filter(|r| r.lost.combinations() > 0)
                                .take(COUNTED)
                                .map(CountedRow::of)
                                .collect(),
                        )
                    }),
                    None,
                ),
                Ok(Err(AdminError::NotFound { .. })) => return no_policy(&id),
                Ok(Err(e)) => (Vec::new(), Vec::new(), None, Some(e.to_string())),
                Err(_) => (
                    Vec::new(),
                    Vec::new(),
                    None,
                    Some("The preview could not be computed.".to_owned()),
                ),
            }
        }
    };
    console_page(
        StatusCode::OK,
        &DeletePage {
            chrome: Chrome::of(&staff, Section::Policies),
            id,
            lost,
            changed,
            unlisted,
            error,
        },
    )
}

/// `POST /console/policies/{id}/delete`.
pub(super) async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let path = format!("/console/policies/{}/delete", encode(&id));
    let staff = match changing(&state, &headers, &body, &path).await {
        Ok((staff, _)) => staff,
        Err(r) => return r,
    };
    match entities::delete(&state.core, Kind::Policy, &id, &staff.actor(), now()).await {
        Ok(()) => see_other(&format!("/console/policies?deleted={}", encode(&id))),
        Err(AdminError::NotFound { .. }) => no_policy(&id),
        Err(AdminError::Store(e)) => store_failed(&e),
        Err(e) => console_message(
            StatusCode::CONFLICT,
            "The policy was not deleted",
            &super::home::errors_text(&e),
        ),
    }
}

// ------------------------------------------------------------------------------------------
// History

/// One line of a diff.
struct DiffLine {
    /// `ins`, `del` or `same`.
    tag: &'static str,
    text: String,
}

/// One change in a policy's history.
struct Version {
    at: String,
    by: String,
    action: String,
    policy_version: String,
    diff: Vec<DiffLine>,
}

#[derive(Template)]
#[template(path = "console/policy_history.html")]
struct HistoryPage {
    chrome: Chrome,
    id: String,
    versions: Vec<Version>,
}

/// The lines of `after` against `before`.
fn diff(before: &str, after: &str) -> Vec<DiffLine> {
    similar::TextDiff::from_lines(before, after)
        .iter_all_changes()
        .map(|change| DiffLine {
            tag: match change.tag() {
                similar::ChangeTag::Insert => "ins",
                similar::ChangeTag::Delete => "del",
                similar::ChangeTag::Equal => "same",
            },
            text: change.value().trim_end_matches('\n').to_owned(),
        })
        .collect()
}

/// The most changes the history shows.
const HISTORY: i64 = 200;

/// `GET /console/policies/{id}/history`: its changes from the audit log, newest first, each with
/// what it changed.
pub(super) async fn history(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/console/policies/{}/history", encode(&id));
    let staff = match signed_in(&state, &headers, &path).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let records = match state
        .core
        .store
        .audit_search(
            &AuditFilter {
                entity: Some(format!("policy:{id}")),
                ..AuditFilter::default()
            },
            HISTORY,
        )
        .await
    {
        Ok(records) => records,
        Err(e) => return store_failed(&e),
    };
    // Oldest first to diff each against the one before; shown newest first.
    let yaml_of = |r: &crate::store::AuditRecord| {
        r.body
            .get("policy")
            .map(|p| serde_norway::to_string(p).unwrap_or_default())
            .unwrap_or_default()
    };
    let mut versions = Vec::with_capacity(records.len());
    let mut before = String::new();
    for r in records.iter().rev() {
        let after = yaml_of(r);
        let text = |k: &str| {
            r.body
                .get(k)
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .unwrap_or_default()
        };
        versions.push(Version {
            at: when(r.at),
            by: text("by"),
            action: text("action"),
            policy_version: text("policy_version"),
            diff: diff(&before, &after),
        });
        before = after;
    }
    versions.reverse();
    console_page(
        StatusCode::OK,
        &HistoryPage {
            chrome: Chrome::of(&staff, Section::Policies),
            id,
            versions,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::html::hostile::{TEXT, assert_escaped};

    #[test]
    fn a_form_reads_back_as_the_policy_it_shows() {
        let policy = serde_json::json!({
            "id": "p1", "name": "Billing", "mode": "dry-run",
            "subject": {"clients": ["a", "b"], "conditions": [
                {"key": "user.roles", "op": "contains", "value": "admin"},
                {"key": "request.ip", "op": "inCidr", "values": ["10.0.0.0/8", "::1/128"]},
                {"key": "user.roles", "op": "in", "values": ["a,b", "c"]},
                {"key": "jwtClaims.n", "op": "notIn", "values": [1, "1", {"x": [1, 2]}]},
                {"key": "jwtClaims.level", "op": "equal", "value": 3},
                {"key": "jwtClaims.code", "op": "equal", "value": "3"},
                {"key": "user.sub", "op": "exists"},
                {"key": "request.time", "op": "between", "value": {"from": "09:00", "to": "17:00"}}
            ]},
            "grantTypes": ["client_credentials"],
            "targets": [{"resource": "billing", "scopes": ["read", "write"]},
                        {"connection": "gh", "scopes": "*"},
                        {"resource": "odd", "scopes": ["a,b", "c"]}]
        });
        let mut form = PolicyForm::of("p1", &policy);
        form.compact();
        assert_eq!(form.to_value(), policy);
    }

    #[test]
    fn errors_go_to_the_field_they_are_about() {
        let mut errors = FieldErrors::default();
        errors.file("targets[1].scopes[0]", "no such scope", false);
        errors.file("subject.conditions[2].key", "unknown key", false);
        errors.file("id", "bad id", false);
        errors.file("", "whole", false);
        assert_eq!(
            errors.row("target", &1),
            ["targets[1].scopes[0]: no such scope"]
        );
        assert_eq!(
            errors.row("cond", &2),
            ["subject.conditions[2].key: unknown key"]
        );
        assert_eq!(errors.at("id"), ["id: bad id"]);
        assert_eq!(errors.at("general"), ["whole"]);
        assert_eq!(errors.count(), 4);
        assert_eq!(policy_path("body.policy.targets[0]"), "targets[0]");
        assert_eq!(policy_path("body.policy"), "");
    }

    #[test]
    fn the_editor_escapes_every_name() {
        let hostile = serde_json::json!({
            "id": TEXT, "name": TEXT, "description": TEXT,
            "subject": {"clients": [TEXT], "conditions": [{"key": TEXT, "op": "equal", "value": TEXT}]},
            "targets": [{"resource": TEXT, "scopes": [TEXT]}]
        });
        let mut errors = FieldErrors::default();
        errors.file("targets[0]", TEXT, false);
        let page = EditPage {
            chrome: Chrome {
                name: TEXT.to_owned(),
                role: "administrator",
                csrf: TEXT.to_owned(),
                can_change: true,
                section: Section::Policies,
            },
            pickers: Pickers {
                targets: vec![super::super::home::Choice {
                    value: TEXT.to_owned(),
                    label: TEXT.to_owned(),
                }],
                clients: Vec::new(),
                users: Vec::new(),
                grant_types: Vec::new(),
                scopes: vec![TEXT.to_owned()],
            },
            form: PolicyForm::of(TEXT, &hostile),
            errors,
            yaml_open: false,
            declared: false,
            preview: None,
            sim: Simulation::default(),
            simulated: None,
            keys: vec![],
            operators: vec![],
            target_rows: vec![0, 1],
            condition_rows: vec![0, 1],
        };
        let html = page.render().expect("render");
        assert_escaped(&html);
        assert_eq!(html.matches("<h1").count(), 1);
    }
}
