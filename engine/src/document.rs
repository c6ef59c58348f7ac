//! Reading a policy document: JSON or YAML text (or an already parsed value) into checked, typed
//! parts, with every problem reported at once and each at its path.
//!
//! The `policies` list is read one element at a time (a serde seed), so a document of 100,000
//! policies never exists as one big value tree in memory.

use rustc_hash::FxHashMap as HashMap;
use std::borrow::Cow;
use std::fmt;

use serde::de::{
    Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::Value;

use crate::error::{LoadError, ValidationError};
use crate::eval::{Condition, FIXED_KEYS, Key, KeyType, OPS, Op, Operand, ValueSet, Window};
use crate::node::{Node, NodeSeed, Object, Spare};
use crate::request::GrantType;

/// Where a value sits in the document; rendered only when there is an error to report.
#[derive(Clone, Copy)]
pub(crate) enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    fn key(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }
    fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(Path::Root, key) => f.write_str(key),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// Collects validation errors.
#[derive(Default)]
pub(crate) struct Errors(Vec<ValidationError>);

impl Errors {
    fn add(&mut self, path: &Path<'_>, message: impl Into<String>) {
        self.0.push(ValidationError {
            path: path.to_string(),
            message: message.into(),
        });
    }
}

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

/// Which kind of target a policy target names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TargetKind {
    Resource,
    Connection,
}

impl TargetKind {
    fn noun(self) -> &'static str {
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

/// A document whose parts have all been checked.
#[derive(Debug, Default)]
pub(crate) struct Document<'a> {
    pub(crate) resources: Vec<TargetDef>,
    pub(crate) connections: Vec<TargetDef>,
    pub(crate) policies: Vec<Policy<'a>>,
}

/// Reads JSON or YAML text.
pub(crate) fn parse_text(text: &str) -> Result<Document<'_>, LoadError> {
    let mut reader = Reader::default();
    if text.trim_start().starts_with('{') {
        let mut de = serde_json::Deserializer::from_str(text);
        de.deserialize_map(&mut reader)
            .and_then(|()| de.end())
            .map_err(|e| LoadError::Syntax {
                format: "JSON",
                message: e.to_string(),
            })?;
    } else {
        parse_yaml(text, &mut reader)?;
    }
    reader.finish()
}

#[cfg(feature = "yaml")]
fn parse_yaml<'de>(text: &'de str, reader: &mut Reader<'de>) -> Result<(), LoadError> {
    serde_norway::Deserializer::from_str(text)
        .deserialize_map(reader)
        .map_err(|e| LoadError::Syntax {
            format: "YAML",
            message: e.to_string(),
        })
}

#[cfg(not(feature = "yaml"))]
fn parse_yaml(_text: &str, _reader: &mut Reader<'_>) -> Result<(), LoadError> {
    Err(LoadError::Syntax {
        format: "JSON",
        message: "a JSON document starts with `{` (YAML support is not built in)".into(),
    })
}

/// Reads an already parsed document (a JS object, a section of the server's configuration).
pub(crate) fn parse_value(value: Value) -> Result<Document<'static>, LoadError> {
    let mut reader = Reader::default();
    match value {
        Value::Object(_) => value
            .deserialize_map(&mut reader)
            .map_err(|e| LoadError::Syntax {
                format: "JSON",
                message: e.to_string(),
            })?,
        other => reader.errors.add(
            &Path::Root,
            format!(
                "the document must be a mapping, not {}",
                type_name(&Node::deserialize(other).unwrap_or(Node::Null))
            ),
        ),
    }
    reader.finish()
}

/// The document's top level, read as it streams by.
#[derive(Default)]
struct Reader<'de> {
    errors: Errors,
    seen: Vec<String>,
    version: Option<Node<'de>>,
    resources: Option<Node<'de>>,
    connections: Option<Node<'de>>,
    policies: Vec<Policy<'de>>,
}

impl<'de> Visitor<'de> for &mut Reader<'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a policy document (a mapping with `version`, `resources`, `connections`, `policies`)",
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if self.seen.contains(&key) {
                self.errors.add(&Path::Root.key(&key), "duplicate key");
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            self.seen.push(key.clone());
            match key.as_str() {
                "version" => self.version = Some(map.next_value()?),
                "resources" => self.resources = Some(map.next_value()?),
                "connections" => self.connections = Some(map.next_value()?),
                "policies" => map.next_value_seed(PolicyList(self))?,
                other => {
                    self.errors.add(
                        &Path::Root.key(other),
                        format!(
                            "unknown key `{other}`; expected one of `version`, `resources`, `connections`, `policies`"
                        ),
                    );
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The `policies` list: each element is parsed into a small value, checked and dropped.
struct PolicyList<'r, 'de>(&'r mut Reader<'de>);

impl<'de> DeserializeSeed<'de> for PolicyList<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PolicyList<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of policies")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let reader = self.0;
        let path = Path::Root.key("policies");
        let mut index = 0;
        let mut spare = Spare::default();
        while let Some(value) = seq.next_element_seed(NodeSeed(&mut spare))? {
            if let Some(policy) = read_policy(&value, index, &path.index(index), &mut reader.errors)
            {
                reader.policies.push(policy);
            }
            spare.recycle(value);
            index += 1;
        }
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0
            .errors
            .add(&Path::Root.key("policies"), "must be a list, not a mapping");
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.0
            .errors
            .add(&Path::Root.key("policies"), "must be a list, not a string");
        Ok(())
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.not_a_list()
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.not_a_list()
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.not_a_list()
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.not_a_list()
    }
}

impl PolicyList<'_, '_> {
    fn not_a_list<E>(self) -> Result<(), E> {
        self.0
            .errors
            .add(&Path::Root.key("policies"), "must be a list, not a scalar");
        Ok(())
    }
}

impl<'de> Reader<'de> {
    fn finish(mut self) -> Result<Document<'de>, LoadError> {
        let errors = &mut self.errors;
        match &self.version {
            None => errors.add(
                &Path::Root.key("version"),
                "missing `version` (the only version is 1)",
            ),
            Some(v) if v.as_u64() == Some(1) => {}
            Some(v) => errors.add(
                &Path::Root.key("version"),
                format!(
                    "unsupported version `{}`; the only version is 1",
                    compact(v)
                ),
            ),
        }
        let resources = read_targets(self.resources.as_ref(), "resources", errors);
        let connections = read_targets(self.connections.as_ref(), "connections", errors);
        let document = Document {
            resources,
            connections,
            policies: self.policies,
        };
        check_references(&document, errors);
        // Report in document order: a policy's reference errors beside its own.
        errors.0.sort_by_key(|e| policy_position(&e.path));
        if errors.0.is_empty() {
            Ok(document)
        } else {
            Err(LoadError::Invalid(std::mem::take(&mut errors.0)))
        }
    }
}

/// `(0, 0)` for errors outside `policies`, `(1, i)` for those of `policies[i]`.
fn policy_position(path: &str) -> (u8, usize) {
    path.strip_prefix("policies[")
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(i, _)| i.parse().ok())
        .map_or((0, 0), |i| (1, i))
}

// ---- helpers over JSON values -------------------------------------------------------------------

fn type_name(v: &Node<'_>) -> &'static str {
    match v {
        Node::Null => "null",
        Node::Bool(_) => "a boolean",
        Node::Number(_) => "a number",
        Node::String(_) => "a string",
        Node::Array(_) => "a list",
        Node::Object(_) => "a mapping",
    }
}

/// Compact JSON (strings unquoted at the top level): how operands appear in messages.
fn compact(v: &Node<'_>) -> String {
    match v {
        Node::String(s) => s.to_string(),
        other => other.to_string(),
    }
}

fn object<'v, 'de>(
    v: &'v Node<'de>,
    path: &Path<'_>,
    errors: &mut Errors,
) -> Option<&'v Object<'de>> {
    match v {
        Node::Object(map) => Some(map),
        other => {
            errors.add(path, format!("must be a mapping, not {}", type_name(other)));
            None
        }
    }
}

/// Reports every key not in `allowed`, and every key written twice.
fn check_keys(map: &Object<'_>, allowed: &[&str], path: &Path<'_>, errors: &mut Errors) {
    // Bit i: allowed[i] was seen (the allowed lists are short).
    let mut seen: u64 = 0;
    for key in map.keys() {
        match allowed.iter().position(|k| *k == key) {
            Some(i) => {
                let bit = u32::try_from(i)
                    .ok()
                    .and_then(|i| 1_u64.checked_shl(i))
                    .unwrap_or(0);
                if seen & bit != 0 {
                    errors.add(&path.key(key), "duplicate key");
                }
                seen |= bit;
            }
            None => {
                let expected = allowed
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                errors.add(
                    &path.key(key),
                    format!("unknown key `{key}`; expected one of {expected}"),
                );
            }
        }
    }
}

fn required<'v, 'de>(
    map: &'v Object<'de>,
    key: &str,
    path: &Path<'_>,
    errors: &mut Errors,
) -> Option<&'v Node<'de>> {
    match map.get(key) {
        None | Some(Node::Null) => {
            errors.add(path, format!("missing `{key}`"));
            None
        }
        Some(v) => Some(v),
    }
}

fn string<'v>(v: &'v Node<'v>, path: &Path<'_>, errors: &mut Errors) -> Option<&'v str> {
    match v {
        Node::String(s) if s.is_empty() => {
            errors.add(path, "must not be empty");
            None
        }
        Node::String(s) => Some(s),
        other => {
            errors.add(path, format!("must be a string, not {}", type_name(other)));
            None
        }
    }
}

/// [`string`], borrowing the document's text where the string does.
fn cow_string<'de>(v: &Node<'de>, path: &Path<'_>, errors: &mut Errors) -> Option<Cow<'de, str>> {
    match (string(v, path, errors), v) {
        (Some(_), Node::String(s)) => Some(s.clone()),
        _ => None,
    }
}

fn optional_string(map: &Object<'_>, key: &str, path: &Path<'_>, errors: &mut Errors) {
    if let Some(v) = map.get(key).filter(|v| !v.is_null()) {
        string(v, &path.key(key), errors);
    }
}

/// A non-empty list of distinct non-empty strings.
fn string_list(v: &Node<'_>, path: &Path<'_>, errors: &mut Errors) -> Option<Vec<String>> {
    list_of(v, path, errors, |s| String::from(&**s))
}

/// [`string_list`], borrowing the strings: for lists only read while loading.
fn str_list<'v>(v: &'v Node<'_>, path: &Path<'_>, errors: &mut Errors) -> Option<Vec<&'v str>> {
    list_of(v, path, errors, |s| &**s)
}

/// [`string_list`], borrowing the document's text where the strings do.
fn cow_list<'de>(
    v: &Node<'de>,
    path: &Path<'_>,
    errors: &mut Errors,
) -> Option<Vec<Cow<'de, str>>> {
    list_of(v, path, errors, Cow::clone)
}

/// A non-empty list of distinct non-empty strings, each made into a `T` by `make`.
fn list_of<'v, 'de, T: AsRef<str>>(
    v: &'v Node<'de>,
    path: &Path<'_>,
    errors: &mut Errors,
    make: impl Fn(&'v Cow<'de, str>) -> T,
) -> Option<Vec<T>> {
    let Node::Array(items) = v else {
        errors.add(
            path,
            format!("must be a list of strings, not {}", type_name(v)),
        );
        return None;
    };
    if items.is_empty() {
        errors.add(path, "must not be empty");
        return None;
    }
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let at = path.index(i);
        match (string(item, &at, errors), item) {
            (Some(s), _) if out.iter().any(|o| o.as_ref() == s) => {
                errors.add(&at, format!("duplicate `{s}`"));
                ok = false;
            }
            (Some(_), Node::String(s)) => out.push(make(s)),
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

// ---- resources and connections ------------------------------------------------------------------

fn read_targets(
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

fn backticked(names: &[&str]) -> String {
    names
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---- policies -----------------------------------------------------------------------------------

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

fn read_policy<'de>(
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

/// Checks what only the whole document can: unique policy ids, and that targets and scopes exist.
fn check_references(document: &Document<'_>, errors: &mut Errors) {
    let resources: HashMap<&str, &TargetDef> = document
        .resources
        .iter()
        .map(|t| (t.id.as_str(), t))
        .collect();
    let connections: HashMap<&str, &TargetDef> = document
        .connections
        .iter()
        .map(|t| (t.id.as_str(), t))
        .collect();
    let mut first: HashMap<&str, usize> =
        HashMap::with_capacity_and_hasher(document.policies.len(), Default::default());
    for policy in &document.policies {
        // Policies that failed their own checks were dropped: report at the written index.
        let index = policy.index;
        let root = Path::Root.key("policies");
        let path = root.index(index);
        if policy.id.is_empty() {
            // Missing or malformed: already reported.
        } else if let Some(&earlier) = first.get(policy.id.as_str()) {
            errors.add(
                &path.key("id"),
                format!(
                    "duplicate policy id `{}` (first at `policies[{earlier}]`)",
                    policy.id
                ),
            );
        } else {
            first.insert(&policy.id, index);
        }
        for (t, target) in policy.targets.iter().enumerate() {
            let tpath = path.key("targets");
            let tpath = tpath.index(t);
            let noun = target.kind.noun();
            let known = match target.kind {
                TargetKind::Resource => resources.get(&*target.id),
                TargetKind::Connection => connections.get(&*target.id),
            };
            let Some(def) = known else {
                errors.add(
                    &tpath.key(noun),
                    format!("{noun} `{}` is not defined", target.id),
                );
                continue;
            };
            match (&target.scopes, def.scoped()) {
                (None, true) => errors.add(
                    &tpath,
                    format!(
                        "missing `scopes` for {noun} `{}` (a list of its scopes, or `\"*\"` for all)",
                        def.id
                    ),
                ),
                (Some(_), false) => errors.add(
                    &tpath.key("scopes"),
                    format!(
                        "connection `{}` is of kind `{}` and has no scopes; name it without `scopes`",
                        def.id, def.kind
                    ),
                ),
                (Some(ScopeSpec::List(scopes)), true) => {
                    for (s, scope) in scopes.iter().enumerate() {
                        if !def.scopes.iter().any(|d| *d == **scope) {
                            let spath = tpath.key("scopes");
                            errors.add(
                                &spath.index(s),
                                format!("scope `{scope}` is not defined by {noun} `{}`", def.id),
                            );
                        }
                    }
                }
                (Some(ScopeSpec::All), true) | (None, false) => {}
            }
        }
    }
}

// ---- conditions ---------------------------------------------------------------------------------

fn read_condition(
    value: &Node<'_>,
    index: usize,
    path: &Path<'_>,
    errors: &mut Errors,
) -> Option<Condition> {
    let map = object(value, path, errors)?;
    check_keys(map, &["key", "op", "value", "values"], path, errors);
    let key_text =
        required(map, "key", path, errors).and_then(|v| string(v, &path.key("key"), errors));
    let key = key_text.and_then(|k| match parse_key(k) {
        Ok(key) => Some(key),
        Err(message) => {
            errors.add(&path.key("key"), message);
            None
        }
    });
    let op_text =
        required(map, "op", path, errors).and_then(|v| string(v, &path.key("op"), errors));
    let op = op_text.and_then(|o| match OPS.iter().find(|(name, _)| *name == o) {
        Some((_, op)) => Some(*op),
        None => {
            let names: Vec<&str> = OPS.iter().map(|(n, _)| *n).collect();
            errors.add(
                &path.key("op"),
                format!(
                    "unknown operator `{o}`; expected one of {}",
                    backticked(&names)
                ),
            );
            None
        }
    });
    let (key, key_text, op, op_text) = (key?, key_text?, op?, op_text?);
    let value = map.get("value");
    let values = map.get("values");
    let operand = read_operand(&key, key_text, op, op_text, value, values, path, errors)?;
    Some(Condition {
        key,
        op,
        operand,
        failed: explanation(index, key_text, op_text, value, values),
    })
}

/// A condition's explanation when it is the first to fail: `condition 0: user.roles contains SRE`.
/// Made for every condition at load, so its pieces are put twice, once to measure it and once into
/// a string of that length: one allocation, no intermediate strings.
fn explanation(
    index: usize,
    key: &str,
    op: &str,
    value: Option<&Node<'_>>,
    values: Option<&Node<'_>>,
) -> Box<str> {
    fn compact(put: &mut dyn FnMut(&str), v: &Node<'_>) {
        match v {
            Node::String(s) => put(s),
            other => put(&other.to_string()),
        }
    }
    let pieces = |put: &mut dyn FnMut(&str)| {
        let mut digits = [0_u8; 20];
        put("condition ");
        put(decimal(index, &mut digits));
        put(": ");
        put(key);
        put(" ");
        put(op);
        match (value, values) {
            (Some(v), _) => {
                put(" ");
                compact(put, v);
            }
            (None, Some(Node::Array(items))) => {
                put(" [");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        put(", ");
                    }
                    compact(put, item);
                }
                put("]");
            }
            _ => {}
        }
    };
    let mut length = 0;
    pieces(&mut |s| length += s.len());
    let mut out = String::with_capacity(length);
    pieces(&mut |s| out.push_str(s));
    out.into_boxed_str()
}

/// `n` in decimal, written at the end of `digits`.
fn decimal(mut n: usize, digits: &mut [u8; 20]) -> &str {
    let mut start = digits.len();
    for slot in digits.iter_mut().rev() {
        // `n % 10` is a digit.
        *slot = b'0' + (n % 10) as u8;
        start -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(digits.get(start..).unwrap_or_default()).unwrap_or_default()
}

fn parse_key(text: &str) -> Result<Key, String> {
    if let Some((_, key)) = FIXED_KEYS.iter().find(|(name, _)| *name == text) {
        return Ok(key.clone());
    }
    if let Some(rest) = text.strip_prefix("jwtClaims") {
        return parse_claim_path(rest)
            .map(Key::Claim)
            .ok_or_else(|| format!("malformed claim path `{text}`; write `jwtClaims.name.sub` or `jwtClaims[\"https://x.io/name\"]`"));
    }
    let suggestion = FIXED_KEYS
        .iter()
        .map(|(name, _)| *name)
        .chain(["jwtClaims.<path>"])
        .min_by_key(|name| edit_distance(&text.to_ascii_lowercase(), &name.to_ascii_lowercase()))
        .unwrap_or("client.clientid");
    Err(format!(
        "unknown key `{text}`; did you mean `{suggestion}`?"
    ))
}

/// Parses the part after `jwtClaims`: a non-empty sequence of `.name` and `["name"]` / `['name']`.
fn parse_claim_path(mut rest: &str) -> Option<Vec<String>> {
    let mut segments = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let (name, tail) = after.split_at(end);
            if name.is_empty() || name.contains([']', '"', '\'']) {
                return None;
            }
            segments.push(name.to_owned());
            rest = tail;
        } else if let Some(after) = rest.strip_prefix('[') {
            let quote = after.chars().next().filter(|c| matches!(c, '"' | '\''))?;
            let inner = after.get(1..)?;
            let close = inner.find(quote)?;
            let (name, tail) = inner.split_at(close);
            let tail = tail.get(1..)?.strip_prefix(']')?;
            if name.is_empty() {
                return None;
            }
            segments.push(name.to_owned());
            rest = tail;
        } else {
            return None;
        }
    }
    (!segments.is_empty()).then_some(segments)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let above = row.get(j + 1).copied().unwrap_or(0);
            let left = row.get(j).copied().unwrap_or(0);
            let cost = if ca == *cb { diagonal } else { diagonal + 1 };
            diagonal = above;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = cost.min(above + 1).min(left + 1);
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site; the pieces are the condition's parts"
)]
fn read_operand(
    key: &Key,
    key_text: &str,
    op: Op,
    op_text: &str,
    value: Option<&Node<'_>>,
    values: Option<&Node<'_>>,
    path: &Path<'_>,
    errors: &mut Errors,
) -> Option<Operand> {
    let key_type = key.key_type();
    let allowed = match key_type {
        KeyType::String | KeyType::List | KeyType::Json => matches!(
            op,
            Op::Equal
                | Op::NotEqual
                | Op::In
                | Op::NotIn
                | Op::Contains
                | Op::Exists
                | Op::NotExists
        ),
        KeyType::Ip => matches!(op, Op::InCidr | Op::Exists | Op::NotExists),
        KeyType::Time => matches!(op, Op::Between | Op::Exists | Op::NotExists),
    };
    if !allowed {
        let hint = match key_type {
            KeyType::Ip => "; `request.ip` takes `inCidr`, `exists` or `notExists`",
            KeyType::Time => "; `request.time` takes `between`, `exists` or `notExists`",
            _ if op == Op::InCidr => "; `inCidr` applies to `request.ip` only",
            _ => "; `between` applies to `request.time` only",
        };
        errors.add(
            &path.key("op"),
            format!("operator `{op_text}` does not apply to `{key_text}`{hint}"),
        );
        return None;
    }
    if value.is_some() && values.is_some() {
        errors.add(path, "give either `value` or `values`, not both");
        return None;
    }
    let typed = matches!(key_type, KeyType::String | KeyType::List);
    match op {
        Op::Exists | Op::NotExists => {
            let given = if value.is_some() { "value" } else { "values" };
            if value.is_some() || values.is_some() {
                errors.add(&path.key(given), format!("`{op_text}` takes no operand"));
                return None;
            }
            Some(Operand::None)
        }
        Op::Equal | Op::NotEqual => match (value, values) {
            (Some(v), None) => {
                let v = scalar(v, typed, &path.key("value"), errors)?;
                Some(Operand::Values(ValueSet::new(std::slice::from_ref(v))))
            }
            (None, Some(vs)) if key_type == KeyType::String => {
                let _ = vs;
                errors.add(
                    &path.key("values"),
                    format!("`{op_text}` on `{key_text}` takes `value`, a string"),
                );
                None
            }
            (None, Some(vs)) => {
                let items = list(vs, typed, true, &path.key("values"), errors)?;
                Some(Operand::Values(ValueSet::new(items)))
            }
            _ => {
                errors.add(
                    path,
                    format!("`{op_text}` needs `value` (or `values`, a list)"),
                );
                None
            }
        },
        Op::In | Op::NotIn => match (value, values) {
            (None, Some(vs)) => {
                let items = list(vs, typed, false, &path.key("values"), errors)?;
                Some(Operand::Values(ValueSet::new(items)))
            }
            (Some(_), None) => {
                errors.add(
                    &path.key("value"),
                    format!("`{op_text}` takes `values`, a list"),
                );
                None
            }
            _ => {
                errors.add(path, format!("`{op_text}` needs `values`, a list"));
                None
            }
        },
        Op::Contains => match (value, values) {
            (Some(v), None) => {
                let v = scalar(v, typed, &path.key("value"), errors)?;
                Some(Operand::Values(ValueSet::new(std::slice::from_ref(v))))
            }
            (None, Some(vs)) => {
                let items = list(vs, typed, false, &path.key("values"), errors)?;
                Some(Operand::Values(ValueSet::new(items)))
            }
            _ => {
                errors.add(
                    path,
                    format!("`{op_text}` needs `value` (or `values`, a list)"),
                );
                None
            }
        },
        Op::InCidr => {
            let Some(vs) = values else {
                let at = if value.is_some() {
                    path.key("value")
                } else {
                    *path
                };
                errors.add(&at, "`inCidr` needs `values`, a list of CIDRs");
                return None;
            };
            let items = list(vs, true, false, &path.key("values"), errors)?;
            let mut nets = Vec::with_capacity(items.len());
            let at = path.key("values");
            for (i, item) in items.iter().enumerate() {
                let text = item.as_str().unwrap_or_default();
                match text.parse::<ipnet::IpNet>() {
                    Ok(net) => nets.push(net),
                    Err(_) => errors.add(
                        &at.index(i),
                        format!("`{text}` is not a CIDR (an address and a prefix length, such as `10.0.0.0/8` or `2001:db8::/32`)"),
                    ),
                }
            }
            (nets.len() == items.len()).then_some(Operand::Cidrs(nets))
        }
        Op::Between => {
            let Some(v) = value else {
                let at = if values.is_some() {
                    path.key("values")
                } else {
                    *path
                };
                errors.add(
                    &at,
                    "`between` needs `value`, a window such as `{from: \"22:00\", to: \"06:00\"}`",
                );
                return None;
            };
            read_window(v, &path.key("value"), errors).map(Operand::Window)
        }
    }
}

/// A scalar operand; on the typed keys, a string.
fn scalar<'v>(
    v: &'v Node<'v>,
    typed: bool,
    path: &Path<'_>,
    errors: &mut Errors,
) -> Option<&'v Node<'v>> {
    match v {
        Node::String(_) => Some(v),
        Node::Number(_) | Node::Bool(_) if !typed => Some(v),
        other if typed => {
            errors.add(path, format!("must be a string, not {}", type_name(other)));
            None
        }
        other => {
            errors.add(
                path,
                format!(
                    "must be a string, number or boolean, not {}",
                    type_name(other)
                ),
            );
            None
        }
    }
}

/// A list operand; on the typed keys, of strings. `values` of `equal` may be empty (a list
/// attribute equal to the empty set); elsewhere an empty list could never hold, or always would.
fn list<'v>(
    v: &'v Node<'v>,
    typed: bool,
    may_be_empty: bool,
    path: &Path<'_>,
    errors: &mut Errors,
) -> Option<&'v [Node<'v>]> {
    let Node::Array(items) = v else {
        errors.add(path, format!("must be a list, not {}", type_name(v)));
        return None;
    };
    if items.is_empty() && !may_be_empty {
        errors.add(path, "must not be empty");
        return None;
    }
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        ok &= match item {
            Node::Null => {
                errors.add(&path.index(i), "must not be null");
                false
            }
            Node::Array(_) | Node::Object(_) if !typed => true,
            other => scalar(other, typed, &path.index(i), errors).is_some(),
        };
    }
    ok.then_some(items.as_slice())
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn read_window(v: &Node<'_>, path: &Path<'_>, errors: &mut Errors) -> Option<Window> {
    let map = object(v, path, errors)?;
    check_keys(map, &["from", "to", "days", "tz"], path, errors);
    let minute = |key: &str, errors: &mut Errors| -> Option<u16> {
        let at = path.key(key);
        let text = required(map, key, path, errors).and_then(|v| string(v, &at, errors))?;
        let parsed = text
            .split_once(':')
            .filter(|(h, m)| h.len() == 2 && m.len() == 2)
            .and_then(|(h, m)| Some((h.parse::<u16>().ok()?, m.parse::<u16>().ok()?)))
            .filter(|(h, m)| *h < 24 && *m < 60);
        match parsed {
            Some((h, m)) => Some(h * 60 + m),
            None => {
                errors.add(
                    &at,
                    format!("`{text}` is not a time of day `HH:MM` (00:00 to 23:59)"),
                );
                None
            }
        }
    };
    let from = minute("from", errors);
    let to = minute("to", errors);
    if let (Some(f), Some(t)) = (from, to)
        && f == t
    {
        errors.add(path, "`from` and `to` are equal, so the window is empty");
    }
    let mut days = Window::ALL_DAYS;
    if let Some(d) = map.get("days").filter(|v| !v.is_null()) {
        let at = path.key("days");
        days = 0;
        match string_list(d, &at, errors) {
            Some(names) => {
                for (i, name) in names.iter().enumerate() {
                    match DAYS.iter().position(|d| d == name) {
                        Some(bit) => days |= 1 << bit,
                        None => errors.add(
                            &at.index(i),
                            format!(
                                "unknown day `{name}`; expected one of {}",
                                backticked(&DAYS)
                            ),
                        ),
                    }
                }
            }
            None => return None,
        }
    }
    let tz = match map.get("tz").filter(|v| !v.is_null()) {
        None => Some(jiff::tz::TimeZone::UTC),
        Some(v) => {
            let at = path.key("tz");
            string(v, &at, errors).and_then(|name| match parse_tz(name) {
                Some(tz) => Some(tz),
                None => {
                    errors.add(
                        &at,
                        format!("unknown time zone `{name}`; use an offset such as `+02:00` or an IANA name such as `Europe/Berlin`"),
                    );
                    None
                }
            })
        }
    };
    Some(Window {
        from: from?,
        to: to?,
        days,
        tz: tz?,
    })
}

fn parse_tz(name: &str) -> Option<jiff::tz::TimeZone> {
    if name == "Z" || name == "UTC" {
        return Some(jiff::tz::TimeZone::UTC);
    }
    if let Some(sign) = name.chars().next().filter(|c| matches!(c, '+' | '-')) {
        let (h, m) = name.get(1..)?.split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m) = (h.parse::<i32>().ok()?, m.parse::<i32>().ok()?);
        if h > 23 || m > 59 {
            return None;
        }
        let seconds = (h * 3600 + m * 60) * if sign == '-' { -1 } else { 1 };
        return jiff::tz::Offset::from_seconds(seconds)
            .ok()
            .map(jiff::tz::TimeZone::fixed);
    }
    jiff::tz::db().get(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explanations_write_the_index_in_decimal() {
        let mut digits = [0_u8; 20];
        assert_eq!(decimal(0, &mut digits), "0");
        assert_eq!(decimal(7, &mut digits), "7");
        assert_eq!(decimal(1_203, &mut digits), "1203");
        assert_eq!(decimal(usize::MAX, &mut digits), usize::MAX.to_string());

        let values = Node::Array(vec![
            Node::String(Cow::Borrowed("a")),
            Node::Number(3.into()),
        ]);
        let text = explanation(12, "user.roles", "in", None, Some(&values));
        assert_eq!(&*text, "condition 12: user.roles in [a, 3]");
        let one = Node::String(Cow::Borrowed("SRE"));
        let text = explanation(0, "user.roles", "contains", Some(&one), None);
        assert_eq!(&*text, "condition 0: user.roles contains SRE");
    }
}
