//! The `resources` and `connections` sections: the targets a document defines and their scopes.

use rustc_hash::FxHashMap as HashMap;

use super::fields::{
    Errors, backticked, check_keys, object, optional_string, required, string, string_list,
    type_name,
};
use crate::node::Node;
use crate::path::Path;

/// A resource or connection the document defines.
#[derive(Debug, Clone)]
pub(crate) struct TargetDef {
    pub(crate) id: String,
    /// `api`, `mcp`, `oauth`, `api_key` or `certificate`.
    pub(crate) kind: &'static str,
    /// Empty for scope-less connections.
    pub(crate) scopes: Vec<String>,
}

impl TargetDef {
    pub(crate) fn scoped(&self) -> bool {
        !matches!(self.kind, "api_key" | "certificate")
    }
}

/// Reads the `resources` or `connections` section: every entry checked, the valid ones kept.
pub(super) fn read_targets(
    value: Option<&Node<'_>>,
    section: &'static str,
    errors: &mut Errors,
) -> Vec<TargetDef> {
    let path = Path::Root.key(section);
    let items = match value {
        None | Some(Node::Null) => return Vec::new(),
        Some(Node::Array(items)) => items,
        Some(other) => {
            errors.add(&path, format!("must be a list, not {}", type_name(other)));
            return Vec::new();
        }
    };
    let is_resource = section == "resources";
    let mut out: Vec<TargetDef> = Vec::with_capacity(items.len());
    let mut first_id: HashMap<String, usize> = HashMap::default();
    let mut first_audience: HashMap<String, usize> = HashMap::default();
    for (i, item) in items.iter().enumerate() {
        let at = path.index(i);
        let Some(map) = object(item, &at, errors) else {
            continue;
        };
        let allowed: &[&str] = if is_resource {
            &["id", "audience", "kind", "scopes", "name", "description"]
        } else {
            &["id", "kind", "scopes", "name", "description"]
        };
        check_keys(map, allowed, &at, errors);
        optional_string(map, "name", &at, errors);
        optional_string(map, "description", &at, errors);
        let id = required(map, "id", &at, errors).and_then(|v| string(v, &at.key("id"), errors));
        if let Some(id) = id {
            if let Some(first) = first_id.get(id) {
                errors.add(
                    &at.key("id"),
                    format!(
                        "duplicate {} id `{id}` (first at `{section}[{first}]`)",
                        &section[..section.len() - 1]
                    ),
                );
            } else {
                first_id.insert(id.to_owned(), i);
            }
        }
        if is_resource {
            let audience = required(map, "audience", &at, errors)
                .and_then(|v| string(v, &at.key("audience"), errors));
            if let Some(audience) = audience {
                if let Some(first) = first_audience.get(audience) {
                    errors.add(
                        &at.key("audience"),
                        format!("duplicate audience `{audience}` (first at `resources[{first}]`)"),
                    );
                } else {
                    first_audience.insert(audience.to_owned(), i);
                }
            }
        }
        let kinds: &[&'static str] = if is_resource {
            &["api", "mcp"]
        } else {
            &["oauth", "api_key", "certificate"]
        };
        let kind = required(map, "kind", &at, errors)
            .and_then(|v| string(v, &at.key("kind"), errors))
            .and_then(|k| match kinds.iter().find(|known| **known == k) {
                Some(known) => Some(*known),
                None => {
                    errors.add(
                        &at.key("kind"),
                        format!("unknown kind `{k}`; expected one of {}", backticked(kinds)),
                    );
                    None
                }
            });
        // With an unknown kind, whether `scopes` belongs is unknown too: only the kind is reported.
        let scoped = kind.map(|k| !matches!(k, "api_key" | "certificate"));
        let scopes = match (map.get("scopes").filter(|v| !v.is_null()), scoped) {
            (_, None) => None,
            (Some(v), Some(true)) => string_list(v, &at.key("scopes"), errors),
            (None, Some(true)) => {
                errors.add(&at, "missing `scopes`");
                None
            }
            (Some(_), Some(false)) => {
                errors.add(
                    &at.key("scopes"),
                    format!(
                        "a connection of kind `{}` has no scopes",
                        kind.unwrap_or("")
                    ),
                );
                None
            }
            (None, Some(false)) => Some(Vec::new()),
        };
        if let (Some(id), Some(kind), Some(scopes)) = (id, kind, scopes) {
            out.push(TargetDef {
                id: id.to_owned(),
                kind,
                scopes,
            });
        }
    }
    out
}
