//! The workload in Rego (v1 syntax) for regorus: each policy is one rule adding its scopes to the
//! partial set `allowed`; `granted` intersects it with the requested scopes. The input is the
//! Tollgate request JSON itself.
//!
//! ```rego
//! allowed contains s if {
//!     input.target.resource == "res-0007"
//!     input.grantType in {"authorization_code", "token_exchange"}
//!     input.client.clientId in {"client-12"}
//!     "SRE" in input.user.roles
//!     some s in ["res-0007:read", "res-0007:write"]
//! }
//! ```
//!
//! An undefined reference (absent attribute) makes the rule body fail, so absent data never grants.

use std::fmt::Write as _;

use regorus::{Engine, Value};

use crate::workload::{Attr, Condition, Op, Policy, Workload};

/// The rule queried for a decision.
pub const QUERY: &str = "data.tollgate.granted";

/// regorus's default limits (1 MiB, 20,000 lines per file) fit 1,000 generated rules per module.
pub const RULES_PER_MODULE: usize = 1_000;

/// Error loading or evaluating Rego.
pub type RegoError = Box<dyn std::error::Error + Send + Sync>;

fn lit(s: &str) -> String {
    // Rego string literals are JSON string literals.
    serde_json::Value::from(s).to_string()
}

fn set(values: &[String]) -> String {
    let items: Vec<String> = values.iter().map(|v| lit(v)).collect();
    format!("{{{}}}", items.join(", "))
}

const GRANTED: &str = r#"package tollgate

granted contains s if {
	some s in input.requestedScopes
	s in allowed
}

granted contains s if {
	not input.requestedScopes
	some s in allowed
}
"#;

/// The rule for one policy.
pub fn rule(w: &Workload, p: &Policy) -> String {
    let target = w.resources.get(p.target).map_or("", |r| r.id.as_str());
    let mut out = String::from("allowed contains s if {\n");
    // Writing to a String cannot fail.
    let _ = writeln!(out, "\tinput.target.resource == {}", lit(target));
    let grants: Vec<String> = p
        .grant_types
        .iter()
        .map(|g| g.as_str().to_owned())
        .collect();
    let _ = writeln!(out, "\tinput.grantType in {}", set(&grants));
    if let Some(clients) = &p.clients {
        let _ = writeln!(out, "\tinput.client.clientId in {}", set(clients));
    }
    for (i, c) in p.conditions.iter().enumerate() {
        let _ = writeln!(out, "\t{}", condition(i, c));
    }
    let scopes: Vec<String> = p.scopes.iter().map(|s| lit(s)).collect();
    let _ = writeln!(out, "\tsome s in [{}]\n}}", scopes.join(", "));
    out
}

fn condition(i: usize, c: &Condition) -> String {
    let path = match &c.attr {
        Attr::UserRoles => "input.user.roles".to_owned(),
        Attr::UserTenantIds => "input.user.tenantIds".to_owned(),
        Attr::UserPermissions => "input.user.permissions".to_owned(),
        Attr::ClientTags => "input.client.tags".to_owned(),
        Attr::ClientName => "input.client.name".to_owned(),
        Attr::ClientStatus => "input.client.status".to_owned(),
        Attr::ClientRegistrationType => "input.client.registrationType".to_owned(),
        Attr::Claim(name) => format!("input.claims[{}]", lit(name)),
    };
    let is_list = matches!(
        c.attr,
        Attr::UserRoles | Attr::UserTenantIds | Attr::UserPermissions | Attr::ClientTags
    );
    match (&c.op, is_list) {
        (Op::Contains(v), true) => format!("{} in {path}", lit(v)),
        (Op::In(vs), true) => format!("some x{i} in {path}\n\tx{i} in {}", set(vs)),
        (Op::Equal(v), false) => format!("{path} == {}", lit(v)),
        (Op::In(vs), false) => format!("{path} in {}", set(vs)),
        // Not drawn by the generator: list equality and substring tests.
        (Op::Equal(_), true) | (Op::Contains(_), false) => "false".to_owned(),
    }
}

/// The modules: `policies-NNNN.rego` with at most [`RULES_PER_MODULE`] rules each, then
/// `granted.rego`. Each is `(path, text)`.
pub fn modules(w: &Workload) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = w
        .policies
        .chunks(RULES_PER_MODULE)
        .enumerate()
        .map(|(i, chunk)| {
            let mut text = String::from("package tollgate\n\n");
            for p in chunk {
                text.push_str(&rule(w, p));
                text.push('\n');
            }
            (format!("policies-{i:04}.rego"), text)
        })
        .collect();
    out.push(("granted.rego".to_owned(), GRANTED.to_owned()));
    out
}

/// The request JSON as a regorus input value (built before timing starts).
pub fn input(request: &serde_json::Value) -> Result<Value, RegoError> {
    Ok(Value::from_json_str(&request.to_string())?)
}

/// A regorus engine with the modules loaded and prepared.
#[derive(Debug)]
pub struct Rego {
    engine: Engine,
}

impl Rego {
    /// Parses the modules, then evaluates the query once on an empty input so the one-time
    /// analysis regorus does before its first evaluation counts as loading.
    pub fn load(modules: Vec<(String, String)>) -> Result<Rego, RegoError> {
        let mut engine = Engine::new();
        for (path, text) in modules {
            engine.add_policy(path, text)?;
        }
        engine.set_input(Value::new_object());
        engine.eval_rule(QUERY.to_owned())?;
        Ok(Rego { engine })
    }

    /// Decides one request: the granted scopes (sorted).
    pub fn decide(&mut self, input: &Value) -> Result<Vec<String>, RegoError> {
        self.engine.set_input(input.clone());
        let value = self.engine.eval_rule(QUERY.to_owned())?;
        match value {
            Value::Undefined => Ok(Vec::new()),
            Value::Set(s) => Ok(s
                .iter()
                .filter_map(|v| v.as_string().ok().map(|s| s.to_string()))
                .collect()),
            other => Err(format!("`{QUERY}` is not a set: {other:?}").into()),
        }
    }
}
