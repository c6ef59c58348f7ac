//! Reading a policy document: JSON or YAML text (or an already parsed value) into checked, typed
//! parts, with every problem reported at once and each at its path.
//!
//! The `policies` list is read one element at a time (a serde seed), so a document of 100,000
//! policies never exists as one big value tree in memory.
//!
//! This module reads the top level and checks what only the whole document can (unique policy
//! ids, references to targets and scopes); [`targets`] reads `resources` and `connections`,
//! [`policy`] one policy, [`condition`] one condition of a policy's subject, and [`fields`] holds
//! the readers of single values they all use.

mod condition;
mod fields;
pub(crate) mod policy;
pub(crate) mod targets;

use rustc_hash::FxHashMap as HashMap;
use std::fmt;

use serde::de::{
    Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::Value;

use crate::error::LoadError;
use crate::node::{Node, NodeSeed, Spare};
use crate::path::Path;
use fields::{Errors, compact, type_name};
use policy::{Policy, ScopeSpec, TargetKind, read_policy};
use targets::{TargetDef, read_targets};

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
