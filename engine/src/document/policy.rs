//! One policy of the `policies` list: its id, mode, subject, grant types and targets.

use std::borrow::Cow;

use super::condition::read_condition;
use super::fields::{
    Errors, backticked, check_keys, cow_list, cow_string, object, optional_string, required,
    str_list, string, string_list, type_name,
};
use crate::condition::Condition;
use crate::node::Node;
use crate::path::Path;
use crate::request::GrantType;

/// Which kind of target a policy target names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TargetKind {
    Resource,
    Connection,
}

impl TargetKind {
    pub(super) fn noun(self) -> &'static str {
        match self {
            TargetKind::Resource => "resource",
            TargetKind::Connection => "connection",
        }
    }
}

/// The scopes a policy target gives.
#[derive(Debug, Clone)]
pub(crate) enum ScopeSpec<'a> {
    /// `"*"`: every scope the target defines.
    All,
    /// Listed scopes, in the order written.
    List(Vec<Cow<'a, str>>),
}

/// A policy target before its id is resolved. Its names borrow the document's text where they can:
/// they are only read while the set is compiled.
#[derive(Debug, Clone)]
pub(crate) struct PolicyTarget<'a> {
    pub(crate) kind: TargetKind,
    pub(crate) id: Cow<'a, str>,
    pub(crate) scopes: Option<ScopeSpec<'a>>,
}

/// A policy as written, checked except for its targets' references.
#[derive(Debug, Clone)]
pub(crate) struct Policy<'a> {
    /// The policy's position in the written `policies` list.
    pub(crate) index: usize,
    pub(crate) id: String,
    pub(crate) dry_run: bool,
    /// Sorted, without duplicates.
    pub(crate) clients: Option<Vec<String>>,
    pub(crate) conditions: Vec<Condition>,
    /// Without duplicates, in the order written.
    pub(crate) grant_types: Option<Vec<GrantType>>,
    pub(crate) targets: Vec<PolicyTarget<'a>>,
}

const POLICY_KEYS: &[&str] = &[
    "id",
    "name",
    "description",
    "mode",
    "subject",
    "grantTypes",
    "targets",
];

fn valid_slug(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Reads one element of `policies`.
pub(super) fn read_policy<'de>(
    value: &Node<'de>,
    index: usize,
    path: &Path<'_>,
    errors: &mut Errors,
) -> Option<Policy<'de>> {
    let map = object(value, path, errors)?;
    check_keys(map, POLICY_KEYS, path, errors);
    optional_string(map, "name", path, errors);
    optional_string(map, "description", path, errors);

    let id = required(map, "id", path, errors).and_then(|v| string(v, &path.key("id"), errors));
    if let Some(id) = id
        && !valid_slug(id)
    {
        errors.add(
            &path.key("id"),
            format!("`{id}` is not a valid policy id: use letters, digits, `-`, `_` and `.`, starting with a letter or digit"),
        );
    }

    let dry_run = match map.get("mode").filter(|v| !v.is_null()) {
        None => false,
        Some(v) => match string(v, &path.key("mode"), errors) {
            Some("enforce") => false,
            Some("dry-run") => true,
            Some(other) => {
                errors.add(
                    &path.key("mode"),
                    format!("unknown mode `{other}`; expected `enforce` or `dry-run`"),
                );
                false
            }
            None => false,
        },
    };

    let mut clients = None;
    let mut conditions = Vec::new();
    if let Some(subject) = map.get("subject").filter(|v| !v.is_null()) {
        let at = path.key("subject");
        if let Some(subject) = object(subject, &at, errors) {
            check_keys(subject, &["clients", "conditions"], &at, errors);
            if let Some(v) = subject.get("clients").filter(|v| !v.is_null()) {
                clients = string_list(v, &at.key("clients"), errors).map(|mut c| {
                    c.sort_unstable();
                    c
                });
            }
            if let Some(v) = subject.get("conditions").filter(|v| !v.is_null()) {
                let at = at.key("conditions");
                match v {
                    Node::Array(items) => {
                        for (i, item) in items.iter().enumerate() {
                            if let Some(c) = read_condition(item, i, &at.index(i), errors) {
                                conditions.push(c);
                            }
                        }
                    }
                    other => errors.add(&at, format!("must be a list, not {}", type_name(other))),
                }
            }
        }
    }

    let grant_types = map
        .get("grantTypes")
        .filter(|v| !v.is_null())
        .and_then(|v| {
            let at = path.key("grantTypes");
            let names = str_list(v, &at, errors)?;
            let mut out = Vec::with_capacity(names.len());
            for (i, name) in names.iter().enumerate() {
                match GrantType::from_name(name) {
                    Some(g) => out.push(g),
                    None => errors.add(
                        &at.index(i),
                        format!(
                            "unknown grant type `{name}`; expected one of {}",
                            backticked(&GrantType::ALL.map(GrantType::as_str))
                        ),
                    ),
                }
            }
            (out.len() == names.len()).then_some(out)
        });

    let mut targets = Vec::new();
    match required(map, "targets", path, errors) {
        Some(Node::Array(items)) if items.is_empty() => {
            errors.add(&path.key("targets"), "must not be empty");
        }
        Some(Node::Array(items)) => {
            let at = path.key("targets");
            for (i, item) in items.iter().enumerate() {
                if let Some(t) = read_policy_target(item, &at.index(i), errors) {
                    if targets
                        .iter()
                        .any(|o: &PolicyTarget<'_>| o.kind == t.kind && o.id == t.id)
                    {
                        errors.add(
                            &at.index(i),
                            format!(
                                "duplicate target: {} `{}` is named twice",
                                t.kind.noun(),
                                t.id
                            ),
                        );
                    }
                    targets.push(t);
                }
            }
        }
        Some(other) => errors.add(
            &path.key("targets"),
            format!("must be a list, not {}", type_name(other)),
        ),
        None => {}
    }

    // A policy with errors is still returned, so its targets are checked too and every error is
    // reported at once; the document as a whole is refused.
    Some(Policy {
        index,
        id: id.unwrap_or_default().to_owned(),
        dry_run,
        clients,
        conditions,
        grant_types,
        targets,
    })
}

fn read_policy_target<'de>(
    value: &Node<'de>,
    path: &Path<'_>,
    errors: &mut Errors,
) -> Option<PolicyTarget<'de>> {
    let map = object(value, path, errors)?;
    check_keys(map, &["resource", "connection", "scopes"], path, errors);
    let (kind, key) = match (map.contains_key("resource"), map.contains_key("connection")) {
        (true, false) => (TargetKind::Resource, "resource"),
        (false, true) => (TargetKind::Connection, "connection"),
        (true, true) => {
            errors.add(
                path,
                "a target names either a `resource` or a `connection`, not both",
            );
            return None;
        }
        (false, false) => {
            errors.add(path, "missing `resource` or `connection`");
            return None;
        }
    };
    let id = map
        .get(key)
        .and_then(|v| cow_string(v, &path.key(key), errors))?;
    let scopes = match map.get("scopes").filter(|v| !v.is_null()) {
        None => None,
        Some(Node::String(s)) if s == "*" => Some(ScopeSpec::All),
        Some(Node::String(s)) => {
            errors.add(
                &path.key("scopes"),
                format!("must be a list of scopes or `\"*\"`, not the string `{s}`"),
            );
            return None;
        }
        Some(v) => Some(ScopeSpec::List(cow_list(v, &path.key("scopes"), errors)?)),
    };
    Some(PolicyTarget { kind, id, scopes })
}
