//! What every part of the document reader uses: the error list, and small readers of one value
//! (a mapping, a string, a list of strings) that report what is wrong at the value's path.

use std::borrow::Cow;

use crate::error::ValidationError;
use crate::node::{Node, Object};
use crate::path::Path;

/// Collects validation errors.
#[derive(Default)]
pub(super) struct Errors(pub(super) Vec<ValidationError>);

impl Errors {
    pub(super) fn add(&mut self, path: &Path<'_>, message: impl Into<String>) {
        self.0.push(ValidationError {
            path: path.to_string(),
            message: message.into(),
        });
    }
}

pub(super) fn type_name(v: &Node<'_>) -> &'static str {
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
pub(super) fn compact(v: &Node<'_>) -> String {
    match v {
        Node::String(s) => s.to_string(),
        other => other.to_string(),
    }
}

pub(super) fn object<'v, 'de>(
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
pub(super) fn check_keys(map: &Object<'_>, allowed: &[&str], path: &Path<'_>, errors: &mut Errors) {
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

pub(super) fn required<'v, 'de>(
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

pub(super) fn string<'v>(v: &'v Node<'v>, path: &Path<'_>, errors: &mut Errors) -> Option<&'v str> {
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
pub(super) fn cow_string<'de>(
    v: &Node<'de>,
    path: &Path<'_>,
    errors: &mut Errors,
) -> Option<Cow<'de, str>> {
    match (string(v, path, errors), v) {
        (Some(_), Node::String(s)) => Some(s.clone()),
        _ => None,
    }
}

pub(super) fn optional_string(map: &Object<'_>, key: &str, path: &Path<'_>, errors: &mut Errors) {
    if let Some(v) = map.get(key).filter(|v| !v.is_null()) {
        string(v, &path.key(key), errors);
    }
}

/// A non-empty list of distinct non-empty strings.
pub(super) fn string_list(
    v: &Node<'_>,
    path: &Path<'_>,
    errors: &mut Errors,
) -> Option<Vec<String>> {
    list_of(v, path, errors, |s| String::from(&**s))
}

/// [`string_list`], borrowing the strings: for lists only read while loading.
pub(super) fn str_list<'v>(
    v: &'v Node<'_>,
    path: &Path<'_>,
    errors: &mut Errors,
) -> Option<Vec<&'v str>> {
    list_of(v, path, errors, |s| &**s)
}

/// [`string_list`], borrowing the document's text where the strings do.
pub(super) fn cow_list<'de>(
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

pub(super) fn backticked(names: &[&str]) -> String {
    names
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
