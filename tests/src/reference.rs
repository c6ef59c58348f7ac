//! The reference evaluator: a deliberately naive reading of DESIGN.md ("Semantics") and the
//! engine's README ("Semantics notes"), written over raw JSON values.
//!
//! It shares no code with the engine and does nothing clever: every decision walks every policy,
//! every target and every condition, re-parsing whatever it needs (paths, CIDRs, windows, time
//! zones) each time. Its only job is to be obviously right, so that the property tests in
//! `tests/differential.rs` can check the indexed engine against it.
//!
//! The document is assumed valid (the generators only produce valid ones) and the request
//! well-formed. Where a malformed input is met anyway, the evaluator fails closed (the condition is
//! false), which the differential test then reports as a disagreement.

use std::net::IpAddr;

use serde_json::Value;

/// What the reference evaluator decides for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefDecision {
    /// Whether a token (or credential) may be issued.
    pub permitted: bool,
    /// The granted scopes, in `scopes` order.
    pub granted: Vec<String>,
    /// One entry per requested scope (or per allowed scope when none were requested).
    pub scopes: Vec<RefScope>,
    /// The matched enforce-mode policy ids, in document order.
    pub matched: Vec<String>,
    /// The matching dry-run policies, in document order.
    pub dry_run: Vec<RefDryRun>,
    /// Every candidate policy that did not match, with its first failing check (empty when the
    /// request sets `explain: false`).
    pub not_matched: Vec<RefNotMatched>,
    /// Enforce-mode policies a fresh authentication of the user would make give refused scopes.
    pub step_up: Vec<RefStepUp>,
}

/// A policy a fresh authentication would make match (see the engine README's "Step-up").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefStepUp {
    /// The policy id.
    pub policy: String,
    /// The refused scopes it would grant (empty for a scope-less connection).
    pub scopes: Vec<String>,
    /// The methods the authentication must use, sorted.
    pub methods: Vec<String>,
    /// The levels of which it must reach one, sorted; empty: any.
    pub levels: Vec<String>,
    /// The greatest age it may have.
    pub max_age: Option<u64>,
}

/// The verdict on one scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefScope {
    /// The scope.
    pub scope: String,
    /// Whether it is granted.
    pub granted: bool,
    /// The matched enforce-mode policies that give it, in document order.
    pub by: Vec<String>,
    /// Why it was not granted (`unknown_target`, `unknown_scope`, `not_allowed`, `client_config`,
    /// `not_consented`).
    pub reason: Option<&'static str>,
}

/// A dry-run policy that would have matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefDryRun {
    /// The policy id.
    pub policy: String,
    /// The scopes it would add to `granted`.
    pub would_add: Vec<String>,
    /// Whether it would turn a refusal into a permitted decision.
    pub would_permit: bool,
}

/// A candidate policy that did not match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefNotMatched {
    /// The policy id.
    pub policy: String,
    /// The first failing check, e.g. `condition 0: user.roles contains admin`.
    pub failed: String,
}

/// Decides `request` against `document`, both as JSON.
pub fn evaluate(document: &Value, request: &Value) -> RefDecision {
    let explain = request
        .get("explain")
        .and_then(Value::as_bool)
        .unwrap_or(true);

    // The request's target: which list it lives in, and its id.
    let (target_list, target_key, target_id) = match request.get("target") {
        Some(t) if t.get("resource").is_some() => (
            "resources",
            "resource",
            t.get("resource").and_then(Value::as_str).unwrap_or(""),
        ),
        Some(t) => (
            "connections",
            "connection",
            t.get("connection").and_then(Value::as_str).unwrap_or(""),
        ),
        None => ("resources", "resource", ""),
    };

    // The scopes the request asks for, duplicates dropped, in request order (None = absent).
    let requested_scopes: Option<Vec<String>> = match request.get("requestedScopes") {
        Some(Value::Array(items)) => {
            let mut out: Vec<String> = Vec::new();
            for item in items {
                if let Some(s) = item.as_str()
                    && !out.iter().any(|o| o == s)
                {
                    out.push(s.to_owned());
                }
            }
            Some(out)
        }
        _ => None,
    };

    // Find the target's definition.
    let mut definition: Option<&Value> = None;
    for def in array(document.get(target_list)) {
        if def.get("id").and_then(Value::as_str) == Some(target_id) {
            definition = Some(def);
        }
    }
    let Some(definition) = definition else {
        // Unknown target: nothing matches, every requested scope is `unknown_target`.
        let scopes = requested_scopes
            .unwrap_or_default()
            .into_iter()
            .map(|scope| RefScope {
                scope,
                granted: false,
                by: Vec::new(),
                reason: Some("unknown_target"),
            })
            .collect();
        return RefDecision {
            permitted: false,
            granted: Vec::new(),
            scopes,
            matched: Vec::new(),
            dry_run: Vec::new(),
            not_matched: Vec::new(),
            step_up: Vec::new(),
        };
    };

    // The scopes the target defines, in definition order. Resources and `oauth` connections are
    // scoped; `api_key` and `certificate` connections are not.
    let scoped = target_list == "resources"
        || definition.get("kind").and_then(Value::as_str) == Some("oauth");
    let defined: Vec<String> = array(definition.get("scopes"))
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();

    // Walk every policy: is it a candidate (one of its targets names the request's target), and
    // does it match?
    let mut matched_enforce: Vec<&Value> = Vec::new();
    let mut matched_dry: Vec<&Value> = Vec::new();
    let mut not_matched: Vec<RefNotMatched> = Vec::new();
    for policy in array(document.get("policies")) {
        let mut candidate = false;
        for target in array(policy.get("targets")) {
            if target.get(target_key).and_then(Value::as_str) == Some(target_id) {
                candidate = true;
            }
        }
        if !candidate {
            continue;
        }
        let id = policy.get("id").and_then(Value::as_str).unwrap_or("");
        match first_failure(policy, request) {
            None => {
                if policy.get("mode").and_then(Value::as_str) == Some("dry-run") {
                    matched_dry.push(policy);
                } else {
                    matched_enforce.push(policy);
                }
            }
            Some(failed) => {
                if explain {
                    not_matched.push(RefNotMatched {
                        policy: id.to_owned(),
                        failed,
                    });
                }
            }
        }
    }

    let client_allows = |scope: &str| -> bool {
        match request
            .get("client")
            .and_then(|c| c.get("allowedScopes"))
            .and_then(|a| a.get(target_id))
        {
            Some(Value::Array(list)) => list.iter().any(|s| s.as_str() == Some(scope)),
            _ => true,
        }
    };
    let consented = |scope: &str| -> bool {
        match request.get("consentedScopes") {
            Some(Value::Array(list)) => list.iter().any(|s| s.as_str() == Some(scope)),
            _ => true,
        }
    };
    let is_defined = |scope: &str| defined.iter().any(|d| d == scope);
    let gives = |policy: &Value, scope: &str| -> bool {
        if !is_defined(scope) {
            return false;
        }
        for target in array(policy.get("targets")) {
            if target.get(target_key).and_then(Value::as_str) != Some(target_id) {
                continue;
            }
            match target.get("scopes") {
                Some(Value::String(star)) if star == "*" => return true,
                Some(Value::Array(list)) if list.iter().any(|s| s.as_str() == Some(scope)) => {
                    return true;
                }
                _ => {}
            }
        }
        false
    };
    let allowed = |scope: &str| matched_enforce.iter().any(|p| gives(p, scope));

    // What is requested: as asked, or everything allowed in the target's definition order.
    let requested: Vec<String> = match &requested_scopes {
        Some(list) => list.clone(),
        None => defined.iter().filter(|s| allowed(s)).cloned().collect(),
    };

    let mut scopes: Vec<RefScope> = Vec::new();
    let mut granted: Vec<String> = Vec::new();
    for scope in &requested {
        let by: Vec<String> = matched_enforce
            .iter()
            .filter(|p| gives(p, scope))
            .map(|p| policy_id(p))
            .collect();
        let reason = if !scoped || !is_defined(scope) {
            Some("unknown_scope")
        } else if by.is_empty() {
            Some("not_allowed")
        } else if !client_allows(scope) {
            Some("client_config")
        } else if !consented(scope) {
            Some("not_consented")
        } else {
            None
        };
        if reason.is_none() {
            granted.push(scope.clone());
        }
        scopes.push(RefScope {
            scope: scope.clone(),
            granted: reason.is_none(),
            by,
            reason,
        });
    }

    let permitted = if scoped {
        !granted.is_empty()
    } else {
        !matched_enforce.is_empty()
    };

    // Dry-run policies: what each would add on its own if it were enforced. With no requested
    // scopes, "requested" means everything allowed, and enforcing the policy would allow its own
    // scopes too, so they count as requested (in the target's definition order).
    let mut dry_run: Vec<RefDryRun> = Vec::new();
    for policy in &matched_dry {
        let candidates: Vec<String> = match &requested_scopes {
            Some(list) => list.clone(),
            None => defined
                .iter()
                .filter(|s| allowed(s) || gives(policy, s))
                .cloned()
                .collect(),
        };
        let mut would_add: Vec<String> = Vec::new();
        if scoped {
            for scope in &candidates {
                if gives(policy, scope)
                    && client_allows(scope)
                    && consented(scope)
                    && !granted.contains(scope)
                {
                    would_add.push(scope.clone());
                }
            }
        }
        let would_permit = !permitted && (!scoped || !would_add.is_empty());
        dry_run.push(RefDryRun {
            policy: policy_id(policy),
            would_add,
            would_permit,
        });
    }

    // Step-up: with a user, each enforce-mode candidate that did not match, whose grant type,
    // client and non-`auth.*` conditions pass, whose `auth.*` conditions a fresh authentication
    // can meet, and that would give refused scopes (or the refused scope-less connection).
    let mut step_up: Vec<RefStepUp> = Vec::new();
    let has_user = request.get("user").is_some_and(|u| !u.is_null());
    for policy in array(document.get("policies")) {
        let names_target = array(policy.get("targets"))
            .iter()
            .any(|t| t.get(target_key).and_then(Value::as_str) == Some(target_id));
        let enforce = policy.get("mode").and_then(Value::as_str) != Some("dry-run");
        let id = policy_id(policy);
        if !has_user
            || !names_target
            || !enforce
            || matched_enforce.iter().any(|p| policy_id(p) == id)
        {
            continue;
        }
        let Some(needs) = step_up_needs(policy, request) else {
            continue;
        };
        let scopes: Vec<String> = if scoped {
            let refused: Vec<String> = match &requested_scopes {
                Some(_) => scopes
                    .iter()
                    .filter(|s| s.reason == Some("not_allowed"))
                    .map(|s| s.scope.clone())
                    .collect(),
                None => defined
                    .iter()
                    .filter(|s| !granted.contains(s))
                    .cloned()
                    .collect(),
            };
            refused
                .into_iter()
                .filter(|s| gives(policy, s) && client_allows(s) && consented(s))
                .collect()
        } else {
            Vec::new()
        };
        if (scoped && scopes.is_empty()) || (!scoped && permitted) {
            continue;
        }
        step_up.push(RefStepUp {
            policy: id,
            scopes,
            methods: needs.0,
            levels: needs.1,
            max_age: needs.2,
        });
    }

    RefDecision {
        permitted,
        granted,
        scopes,
        matched: matched_enforce.iter().map(|p| policy_id(p)).collect(),
        dry_run,
        not_matched,
        step_up,
    }
}

/// What a fresh authentication must be for a policy that did not match to match, when its grant
/// type, client and non-`auth.*` conditions pass and some `auth.*` condition fails: (methods,
/// levels, max age). `None` when the policy is no step-up candidate: it has no `auth.*`
/// condition, another check fails, its `auth.*` conditions all hold, or one of them is not of the
/// kinds a fresh authentication can be sure to meet (`auth.methods contains`, `auth.level equal` /
/// `in`, `auth.age lessThan` a positive number, `exists`).
fn step_up_needs(
    policy: &Value,
    request: &Value,
) -> Option<(Vec<String>, Vec<String>, Option<u64>)> {
    let grant_type = request
        .get("grantType")
        .and_then(Value::as_str)
        .unwrap_or("");
    if let Some(Value::Array(grant_types)) = policy.get("grantTypes")
        && !grant_types.iter().any(|g| g.as_str() == Some(grant_type))
    {
        return None;
    }
    let subject = policy.get("subject");
    if let Some(Value::Array(clients)) = subject.and_then(|s| s.get("clients")) {
        let id = request
            .get("client")
            .and_then(|c| c.get("clientId"))
            .and_then(Value::as_str);
        if !clients.iter().any(|c| id.is_some() && c.as_str() == id) {
            return None;
        }
    }
    let conditions = array(subject.and_then(|s| s.get("conditions")));
    let is_auth = |c: &Value| {
        c.get("key")
            .and_then(Value::as_str)
            .is_some_and(|k| k.starts_with("auth."))
    };
    if !conditions.iter().any(&is_auth) {
        return None;
    }
    if conditions
        .iter()
        .filter(|c| !is_auth(c))
        .any(|c| !condition_holds(c, request))
    {
        return None;
    }
    if conditions
        .iter()
        .filter(|c| is_auth(c))
        .all(|c| condition_holds(c, request))
    {
        return None;
    }
    let mut methods: Vec<String> = Vec::new();
    let mut levels: Option<Vec<String>> = None;
    let mut max_age: Option<u64> = None;
    for c in conditions.iter().filter(|c| is_auth(c)) {
        let key = c.get("key").and_then(Value::as_str).unwrap_or("");
        let op = c.get("op").and_then(Value::as_str).unwrap_or("");
        let operand: Vec<String> = match (c.get("values"), c.get("value")) {
            (Some(Value::Array(vs)), _) => vs
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            (_, Some(Value::String(v))) => vec![v.clone()],
            _ => Vec::new(),
        };
        match (key, op) {
            (_, "exists") => {}
            ("auth.methods", "contains") => methods.extend(operand),
            ("auth.level", "equal" | "in") => {
                let next: Vec<String> = match levels {
                    None => operand,
                    Some(before) => before.into_iter().filter(|l| operand.contains(l)).collect(),
                };
                if next.is_empty() {
                    return None;
                }
                levels = Some(next);
            }
            ("auth.age", "lessThan") => {
                let n = c.get("value")?;
                // The greatest whole number below n, for a positive n.
                let bound = match (n.as_u64(), n.as_i64(), n.as_f64()) {
                    (Some(u), _, _) => u.checked_sub(1)?,
                    (None, Some(_), _) => return None,
                    // Every age is below 2^64 and beyond: the greatest is u64::MAX.
                    (None, None, Some(f)) if f >= 18_446_744_073_709_551_616.0 => u64::MAX,
                    (None, None, Some(f)) if f > 0.0 => {
                        #[expect(
                            clippy::cast_possible_truncation,
                            clippy::cast_sign_loss,
                            reason = "a whole float in (0, 2^64) converts exactly"
                        )]
                        let whole = f.floor() as u64;
                        if f.floor() == f { whole - 1 } else { whole }
                    }
                    _ => return None,
                };
                max_age = Some(max_age.map_or(bound, |m: u64| m.min(bound)));
            }
            _ => return None,
        }
    }
    methods.sort();
    methods.dedup();
    let mut levels = levels.unwrap_or_default();
    levels.sort();
    levels.dedup();
    Some((methods, levels, max_age))
}

fn policy_id(policy: &Value) -> String {
    policy
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// The elements of a JSON array, or nothing when the value is absent or not an array.
fn array(value: Option<&Value>) -> &[Value] {
    match value {
        Some(Value::Array(items)) => items,
        _ => &[],
    }
}

/// The first check of a candidate policy that fails for this request, as the decision words it:
/// grant type, then client, then each condition in order. `None` when the policy matches.
fn first_failure(policy: &Value, request: &Value) -> Option<String> {
    let grant_type = request
        .get("grantType")
        .and_then(Value::as_str)
        .unwrap_or("");
    if let Some(Value::Array(grant_types)) = policy.get("grantTypes")
        && !grant_types.iter().any(|g| g.as_str() == Some(grant_type))
    {
        return Some(format!(
            "grant type: {grant_type} not in [{}]",
            join_unquoted(grant_types)
        ));
    }

    let subject = policy.get("subject");
    if let Some(Value::Array(clients)) = subject.and_then(|s| s.get("clients")) {
        let client_id = request
            .get("client")
            .and_then(|c| c.get("clientId"))
            .and_then(Value::as_str);
        let listed = match client_id {
            Some(id) => clients.iter().any(|c| c.as_str() == Some(id)),
            None => false,
        };
        if !listed {
            return Some(format!(
                "client: {} not in [{}]",
                client_id.unwrap_or("absent"),
                join_unquoted(clients)
            ));
        }
    }

    let conditions = array(subject.and_then(|s| s.get("conditions")));
    for (index, condition) in conditions.iter().enumerate() {
        if !condition_holds(condition, request) {
            let key = condition.get("key").and_then(Value::as_str).unwrap_or("");
            let op = condition.get("op").and_then(Value::as_str).unwrap_or("");
            let operand = if let Some(Value::Array(values)) = condition.get("values") {
                format!(" [{}]", join_unquoted(values))
            } else if let Some(value) = condition.get("value") {
                format!(" {}", unquoted(value))
            } else {
                String::new()
            };
            return Some(format!("condition {index}: {key} {op}{operand}"));
        }
    }
    None
}

/// A JSON value as compact JSON, except that a string is shown without quotes.
fn unquoted(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn join_unquoted(values: &[Value]) -> String {
    values.iter().map(unquoted).collect::<Vec<_>>().join(", ")
}

/// Whether one condition holds for the request.
fn condition_holds(condition: &Value, request: &Value) -> bool {
    let key = condition.get("key").and_then(Value::as_str).unwrap_or("");
    let op = condition.get("op").and_then(Value::as_str).unwrap_or("");
    let attribute = attribute(request, key);

    // Absent data never grants: only `notExists` holds on it.
    let Some(attribute) = attribute else {
        return op == "notExists";
    };

    // The operand as a list of values: `value` as a one-element set, or `values`.
    let operand: Vec<Value> = match (condition.get("values"), condition.get("value")) {
        (Some(Value::Array(values)), _) => values.clone(),
        (_, Some(value)) => vec![value.clone()],
        _ => Vec::new(),
    };

    match op {
        "exists" => true,
        "notExists" => false,
        "equal" => equal(&attribute, &operand),
        "notEqual" => !equal(&attribute, &operand),
        "in" => is_in(&attribute, &operand),
        "notIn" => !is_in(&attribute, &operand),
        "contains" => contains(&attribute, &operand),
        "inCidr" => in_cidr(&attribute, &operand),
        "between" => match operand.first() {
            Some(window) => between(&attribute, window),
            None => false,
        },
        "lessThan" => compare(&attribute, operand.first()) == Some(std::cmp::Ordering::Less),
        "greaterThan" => compare(&attribute, operand.first()) == Some(std::cmp::Ordering::Greater),
        _ => false,
    }
}

/// `equal`: the attribute, as a set (a list as its elements, anything else as a one-element
/// set), is the operand as a set.
fn equal(attribute: &Value, operand: &[Value]) -> bool {
    let mine: Vec<Value> = match attribute {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let mine_in_operand = mine.iter().all(|m| operand.iter().any(|o| json_eq(m, o)));
    let operand_in_mine = operand.iter().all(|o| mine.iter().any(|m| json_eq(m, o)));
    mine_in_operand && operand_in_mine
}

/// `in`: the attribute (or, for a list, some element of it) is one of the operand's values.
fn is_in(attribute: &Value, operand: &[Value]) -> bool {
    match attribute {
        Value::Array(items) => items
            .iter()
            .any(|item| operand.iter().any(|o| json_eq(item, o))),
        other => operand.iter().any(|o| json_eq(other, o)),
    }
}

/// `contains`: on a string, every operand value is a string and a substring; on a list, every
/// operand value is an element; on anything else, false.
fn contains(attribute: &Value, operand: &[Value]) -> bool {
    match attribute {
        Value::String(s) => operand.iter().all(|o| match o {
            Value::String(sub) => s.contains(sub.as_str()),
            _ => false,
        }),
        Value::Array(items) => operand
            .iter()
            .all(|o| items.iter().any(|item| json_eq(item, o))),
        _ => false,
    }
}

/// JSON equality, exact and case-sensitive, with numbers compared by value at every depth.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => number_eq(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => false,
    }
}

/// The order of two numbers by value, exactly; `None` when either is not a number.
fn compare(attribute: &Value, operand: Option<&Value>) -> Option<std::cmp::Ordering> {
    let (Value::Number(a), Some(Value::Number(b))) = (attribute, operand) else {
        return None;
    };
    let as_int = |n: &serde_json::Number| -> Option<i128> {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    // An integer against a float: the float's whole part, then whether it has a fraction. The
    // floats met here lie well within ±2^127, where the whole part converts exactly.
    let int_float = |i: i128, f: f64| -> Option<std::cmp::Ordering> {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "the float is integral and within ±2^127, so the cast is exact"
        )]
        let whole = f.floor() as i128;
        Some(i.cmp(&whole).then(if f > f.floor() {
            std::cmp::Ordering::Less
        } else {
            std::cmp::Ordering::Equal
        }))
    };
    match (as_int(a), as_int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        (Some(x), None) => int_float(x, b.as_f64()?),
        (None, Some(y)) => int_float(y, a.as_f64()?).map(std::cmp::Ordering::reverse),
        (None, None) => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// Two JSON numbers are equal when they denote the same number (`5` = `5.0`, `0` = `-0.0`).
fn number_eq(x: &serde_json::Number, y: &serde_json::Number) -> bool {
    let as_int = |n: &serde_json::Number| -> Option<i128> {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    match (as_int(x), as_int(y)) {
        (Some(a), Some(b)) => a == b,
        (Some(i), None) => float_eq_int(y.as_f64(), i),
        (None, Some(i)) => float_eq_int(x.as_f64(), i),
        (None, None) => x.as_f64() == y.as_f64(),
    }
}

/// Whether a float is exactly the integer `i`.
fn float_eq_int(f: Option<f64>, i: i128) -> bool {
    let Some(f) = f else { return false };
    // Every i64/u64 is within ±2^64, well inside the range where `as` is exact for integral
    // floats; a float outside it cannot equal any of them.
    if f.fract() != 0.0 || f.abs() > 1.9e19 {
        return false;
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the float is integral and within ±2^64, so the cast is exact"
    )]
    let as_int = f as i128;
    as_int == i
}

/// The value of a condition key for this request, or `None` when it is absent (a missing
/// entity, a missing or `null` field, a claim path that leads nowhere or to `null`).
fn attribute(request: &Value, key: &str) -> Option<Value> {
    let field = |entity: &str, name: &str| -> Option<Value> {
        let value = request.get(entity)?.get(name)?;
        if value.is_null() {
            None
        } else {
            Some(value.clone())
        }
    };
    match key {
        "client.clientid" => field("client", "clientId"),
        "client.name" => field("client", "name"),
        "client.tags" => field("client", "tags"),
        "client.registrationType" => field("client", "registrationType"),
        "client.status" => field("client", "status"),
        "user.sub" => field("user", "sub"),
        "user.roles" => field("user", "roles"),
        "user.tenantIds" => field("user", "tenantIds"),
        "user.permissions" => field("user", "permissions"),
        "actor.clientid" => field("actor", "clientId"),
        "actor.sub" => field("actor", "sub"),
        "client.tenantId" => field("client", "tenantId"),
        "subject.clientid" => field("subject", "clientId"),
        "subject.audience" => field("subject", "audience"),
        "request.ip" => field("context", "ip"),
        "request.time" => field("context", "time"),
        "auth.methods" => field("auth", "methods"),
        "auth.level" => field("auth", "level"),
        "auth.age" => field("auth", "age"),
        other => {
            let path = claim_path(other.strip_prefix("jwtClaims")?)?;
            let mut at = request.get("claims")?;
            for segment in &path {
                // Resolution walks JSON objects only.
                at = match at {
                    Value::Object(map) => map.get(segment)?,
                    _ => return None,
                };
            }
            if at.is_null() { None } else { Some(at.clone()) }
        }
    }
}

/// Splits the part of a `jwtClaims` key after `jwtClaims` into its names: `.a.b` gives `a`, `b`;
/// `["x.y"].c` and `['x.y'].c` give `x.y`, `c`. `None` when it is not a path.
fn claim_path(mut rest: &str) -> Option<Vec<String>> {
    let mut segments = Vec::new();
    while !rest.is_empty() {
        if let Some(after_dot) = rest.strip_prefix('.') {
            let end = after_dot.find(['.', '[']).unwrap_or(after_dot.len());
            let (name, tail) = after_dot.split_at(end);
            if name.is_empty() {
                return None;
            }
            segments.push(name.to_owned());
            rest = tail;
        } else if let Some(after_bracket) = rest.strip_prefix('[') {
            let quote = after_bracket.chars().next()?;
            if quote != '"' && quote != '\'' {
                return None;
            }
            let inner = after_bracket.get(1..)?;
            let close = inner.find(quote)?;
            let (name, tail) = inner.split_at(close);
            segments.push(name.to_owned());
            rest = tail.get(1..)?.strip_prefix(']')?;
        } else {
            return None;
        }
    }
    if segments.is_empty() {
        None
    } else {
        Some(segments)
    }
}

/// `inCidr`: the address lies in one of the listed networks. An IPv4-mapped IPv6 address
/// (`::ffff:a.b.c.d`) is compared as the IPv4 address it carries; otherwise IPv4 addresses only
/// match IPv4 networks and IPv6 addresses IPv6 networks.
fn in_cidr(attribute: &Value, operand: &[Value]) -> bool {
    let Some(address) = attribute.as_str().and_then(|s| s.parse::<IpAddr>().ok()) else {
        return false;
    };
    let address = match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    };
    operand.iter().any(|cidr| {
        let Some((network, length)) = cidr.as_str().and_then(|c| c.split_once('/')) else {
            return false;
        };
        let (Ok(network), Ok(length)) = (network.parse::<IpAddr>(), length.parse::<u32>()) else {
            return false;
        };
        match (address, network) {
            (IpAddr::V4(a), IpAddr::V4(n)) if length <= 32 => {
                let mask = u32::MAX.checked_shl(32 - length).unwrap_or(0);
                u32::from(a) & mask == u32::from(n) & mask
            }
            (IpAddr::V6(a), IpAddr::V6(n)) if length <= 128 => {
                let mask = u128::MAX.checked_shl(128 - length).unwrap_or(0);
                u128::from(a) & mask == u128::from(n) & mask
            }
            _ => false,
        }
    })
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `between`: the instant, seen in the window's zone, falls in `[from, to)` on one of `days`.
/// Across midnight (`from > to`) the early-morning part belongs to the day the window opened.
fn between(attribute: &Value, window: &Value) -> bool {
    let Some(instant) = attribute
        .as_str()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
    else {
        return false;
    };
    let (Some(from), Some(to)) = (
        window.get("from").and_then(Value::as_str).and_then(minutes),
        window.get("to").and_then(Value::as_str).and_then(minutes),
    ) else {
        return false;
    };
    let Some(zone) = time_zone(window.get("tz").and_then(Value::as_str)) else {
        return false;
    };
    let local = instant.to_zoned(zone);
    let minute = i32::from(local.hour()) * 60 + i32::from(local.minute());
    let day = usize::try_from(local.weekday().to_monday_zero_offset()).unwrap_or(0);
    let previous_day = (day + 6) % 7;
    let on = |d: usize| match window.get("days") {
        Some(Value::Array(days)) => days
            .iter()
            .any(|name| name.as_str().is_some_and(|n| DAYS.get(d) == Some(&n))),
        _ => true,
    };
    if from < to {
        from <= minute && minute < to && on(day)
    } else {
        (minute >= from && on(day)) || (minute < to && on(previous_day))
    }
}

/// `HH:MM` as minutes since midnight.
fn minutes(text: &str) -> Option<i32> {
    let (h, m) = text.split_once(':')?;
    let h: i32 = h.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    Some(h * 60 + m)
}

/// A window's `tz`: absent or `Z` is UTC, `±HH:MM` a fixed offset, anything else an IANA name
/// looked up in jiff's bundled database.
fn time_zone(tz: Option<&str>) -> Option<jiff::tz::TimeZone> {
    let Some(tz) = tz else {
        return Some(jiff::tz::TimeZone::UTC);
    };
    if tz == "Z" {
        return Some(jiff::tz::TimeZone::UTC);
    }
    let sign = match tz.chars().next() {
        Some('+') => Some(1),
        Some('-') => Some(-1),
        _ => None,
    };
    if let Some(sign) = sign {
        let (h, m) = tz.get(1..)?.split_once(':')?;
        let h: i32 = h.parse().ok()?;
        let m: i32 = m.parse().ok()?;
        let offset = jiff::tz::Offset::from_seconds(sign * (h * 3600 + m * 60)).ok()?;
        return Some(jiff::tz::TimeZone::fixed(offset));
    }
    jiff::tz::db().get(tz).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(policies: Value) -> Value {
        json!({
            "version": 1,
            "resources": [
                { "id": "billing-api", "audience": "https://billing.example.com", "kind": "api",
                  "scopes": ["ledger:read", "ledger:write", "ledger:admin"] }
            ],
            "connections": [
                { "id": "pagerduty", "kind": "api_key" },
                { "id": "cal", "kind": "oauth", "scopes": ["cal.read", "cal.write"] }
            ],
            "policies": policies
        })
    }

    #[test]
    fn readme_example() {
        let d = doc(json!([{
            "id": "nightly-ledger",
            "subject": { "clients": ["reconcile-worker"] },
            "grantTypes": ["client_credentials"],
            "targets": [ { "resource": "billing-api", "scopes": ["ledger:read", "ledger:write"] } ]
        }]));
        let r = json!({
            "grantType": "client_credentials",
            "client": { "clientId": "reconcile-worker" },
            "target": { "resource": "billing-api" },
            "requestedScopes": ["ledger:read", "ledger:admin"]
        });
        let out = evaluate(&d, &r);
        assert!(out.permitted);
        assert_eq!(out.granted, ["ledger:read"]);
        assert_eq!(out.matched, ["nightly-ledger"]);
        assert_eq!(out.scopes[1].reason, Some("not_allowed"));

        let r = json!({
            "grantType": "token_exchange",
            "target": { "resource": "billing-api" },
        });
        let out = evaluate(&d, &r);
        assert!(!out.permitted);
        assert_eq!(
            out.not_matched[0].failed,
            "grant type: token_exchange not in [client_credentials]"
        );
    }

    #[test]
    fn absent_requested_means_allowed_in_definition_order() {
        let d = doc(json!([
            { "id": "a", "targets": [ { "resource": "billing-api", "scopes": ["ledger:admin"] } ] },
            { "id": "b", "targets": [ { "resource": "billing-api", "scopes": ["ledger:read"] } ] }
        ]));
        let r = json!({
            "grantType": "authorization_code",
            "target": { "resource": "billing-api" },
            "client": { "allowedScopes": { "billing-api": ["ledger:read", "ledger:admin"] } },
            "consentedScopes": ["ledger:admin"]
        });
        let out = evaluate(&d, &r);
        assert_eq!(out.granted, ["ledger:admin"]);
        assert_eq!(out.scopes.len(), 2);
        assert_eq!(out.scopes[0].scope, "ledger:read");
        assert_eq!(out.scopes[0].reason, Some("not_consented"));
    }

    #[test]
    fn scope_less_connection() {
        let d = doc(json!([
            { "id": "pd", "mode": "dry-run", "targets": [ { "connection": "pagerduty" } ] }
        ]));
        let r = json!({
            "grantType": "client_credentials",
            "target": { "connection": "pagerduty" },
            "requestedScopes": ["x"]
        });
        let out = evaluate(&d, &r);
        assert!(!out.permitted);
        assert_eq!(out.scopes[0].reason, Some("unknown_scope"));
        assert!(out.dry_run[0].would_permit);
    }

    #[test]
    fn numbers_compare_by_exact_value() {
        let eq = |a: Value, b: Value| json_eq(&a, &b);
        assert!(eq(json!(5), json!(5.0)));
        assert!(eq(json!(0), json!(-0.0)));
        assert!(eq(json!([1, { "x": 2.0 }]), json!([1.0, { "x": 2 }])));
        assert!(!eq(json!(5), json!("5")));
        // Beyond 2^53 a float cannot hold every integer; equality is still exact.
        assert!(!eq(
            json!(9_007_199_254_740_993_u64),
            json!(9_007_199_254_740_992.0)
        ));
        assert!(eq(
            json!(9_007_199_254_740_992_u64),
            json!(9_007_199_254_740_992.0)
        ));
        assert!(!eq(json!(u64::MAX), json!(18_446_744_073_709_551_616.0)));
        assert!(eq(json!(u64::MAX), json!(u64::MAX)));
    }

    #[test]
    fn operators() {
        let r = json!({
            "grantType": "jwt_bearer",
            "user": { "roles": ["SRE", "analyst"], "sub": null },
            "claims": { "org": { "dept": "ops" }, "a.b": { "c": 5 }, "n": 5.0 },
            "context": { "ip": "::ffff:10.1.2.3", "time": "2026-11-23T23:30:00+01:00" }
        });
        let holds = |c: Value| condition_holds(&c, &r);
        assert!(holds(
            json!({ "key": "user.roles", "op": "equal", "values": ["analyst", "SRE", "SRE"] })
        ));
        assert!(!holds(
            json!({ "key": "user.roles", "op": "equal", "value": "SRE" })
        ));
        assert!(holds(
            json!({ "key": "user.roles", "op": "contains", "value": "SRE" })
        ));
        assert!(!holds(
            json!({ "key": "user.sub", "op": "notEqual", "value": "x" })
        ));
        assert!(holds(json!({ "key": "user.sub", "op": "notExists" })));
        assert!(holds(
            json!({ "key": "jwtClaims.org.dept", "op": "contains", "value": "p" })
        ));
        assert!(holds(
            json!({ "key": "jwtClaims['a.b'].c", "op": "equal", "value": 5.0 })
        ));
        assert!(holds(
            json!({ "key": "jwtClaims.n", "op": "in", "values": [5] })
        ));
        assert!(!holds(
            json!({ "key": "jwtClaims.n", "op": "in", "values": ["5"] })
        ));
        assert!(!holds(json!({ "key": "jwtClaims.a.b.c", "op": "exists" })));
        assert!(holds(
            json!({ "key": "request.ip", "op": "inCidr", "values": ["10.0.0.0/8"] })
        ));
        assert!(!holds(
            json!({ "key": "request.ip", "op": "inCidr", "values": ["::/0"] })
        ));
        // 22:30 UTC on Monday 2026-11-23; 07:30 in Tokyo on Tuesday.
        assert!(holds(json!({ "key": "request.time", "op": "between",
            "value": { "from": "22:00", "to": "06:00", "days": ["mon"] } })));
        assert!(!holds(json!({ "key": "request.time", "op": "between",
            "value": { "from": "22:00", "to": "06:00", "days": ["tue"] } })));
        assert!(holds(json!({ "key": "request.time", "op": "between",
            "value": { "from": "07:30", "to": "07:31", "days": ["tue"], "tz": "Asia/Tokyo" } })));
        assert!(holds(json!({ "key": "request.time", "op": "between",
            "value": { "from": "17:00", "to": "01:00", "days": ["mon"], "tz": "-05:30" } })));
    }
}
