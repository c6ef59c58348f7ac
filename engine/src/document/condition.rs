//! One condition of a policy's subject, `{ key, op, value | values }`: the key and its claim path,
//! the operator, and the operand each operator takes (a CIDR list, a time window, ...).

use super::fields::{
    Errors, backticked, check_keys, object, required, string, string_list, type_name,
};
use crate::condition::{Condition, FIXED_KEYS, Key, KeyType, OPS, Op, Operand, ValueSet, Window};
use crate::node::Node;
use crate::path::Path;

/// Reads one element of a policy's `subject.conditions`; `index` is its position there.
pub(super) fn read_condition(
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
    let raw = RawCondition {
        key: key?,
        key_text: key_text?,
        op: op?,
        op_text: op_text?,
        value: map.get("value"),
        values: map.get("values"),
    };
    let operand = read_operand(&raw, path, errors)?;
    let failed = explanation(index, raw.key_text, raw.op_text, raw.value, raw.values);
    Some(Condition {
        key: raw.key,
        op: raw.op,
        operand,
        failed,
    })
}

/// A condition as written, once its key and operator are known: what its operand is read against.
struct RawCondition<'c, 'de> {
    key: Key,
    /// The key and operator as written, for messages.
    key_text: &'c str,
    op: Op,
    op_text: &'c str,
    value: Option<&'c Node<'de>>,
    values: Option<&'c Node<'de>>,
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

/// The operand of a condition, checked against what its key and operator take.
fn read_operand(
    raw: &RawCondition<'_, '_>,
    path: &Path<'_>,
    errors: &mut Errors,
) -> Option<Operand> {
    let RawCondition {
        ref key,
        key_text,
        op,
        op_text,
        value,
        values,
    } = *raw;
    let key_type = key.key_type();
    let comparison = matches!(
        op,
        Op::Equal | Op::NotEqual | Op::In | Op::NotIn | Op::Contains | Op::Exists | Op::NotExists
    );
    let allowed = match key_type {
        KeyType::String | KeyType::List => comparison,
        KeyType::Json => comparison || matches!(op, Op::LessThan | Op::GreaterThan),
        KeyType::Ip => matches!(op, Op::InCidr | Op::Exists | Op::NotExists),
        KeyType::Time => matches!(op, Op::Between | Op::Exists | Op::NotExists),
        KeyType::Number => {
            matches!(
                op,
                Op::LessThan | Op::GreaterThan | Op::Exists | Op::NotExists
            )
        }
    };
    if !allowed {
        let hint = match key_type {
            KeyType::Ip => "; `request.ip` takes `inCidr`, `exists` or `notExists`",
            KeyType::Time => "; `request.time` takes `between`, `exists` or `notExists`",
            KeyType::Number => {
                "; `auth.age` takes `lessThan`, `greaterThan`, `exists` or `notExists`"
            }
            _ if op == Op::InCidr => "; `inCidr` applies to `request.ip` only",
            _ if matches!(op, Op::LessThan | Op::GreaterThan) => {
                "; it applies to `auth.age` and to `jwtClaims.*` only"
            }
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
        Op::LessThan | Op::GreaterThan => match (value, values) {
            (Some(Node::Number(n)), None) => Some(Operand::Number(n.clone())),
            (Some(other), None) => {
                errors.add(
                    &path.key("value"),
                    format!("must be a number, not {}", type_name(other)),
                );
                None
            }
            (None, Some(_)) => {
                errors.add(
                    &path.key("values"),
                    format!("`{op_text}` takes `value`, a number"),
                );
                None
            }
            _ => {
                errors.add(path, format!("`{op_text}` needs `value`, a number"));
                None
            }
        },
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

/// A `tz`: `Z` or `UTC`, a fixed offset `±HH:MM`, or an IANA name from the bundled database. Not
/// jiff's own time zone parser: it also accepts POSIX TZ strings (`EST5EDT,M3.2.0,M11.1.0`), which
/// DESIGN.md does not allow, so the narrower grammar is written out here.
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
    use std::borrow::Cow;

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
