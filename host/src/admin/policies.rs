//! Policies through the admin API, as in the policy document's `policies` section. The shape is
//! typed here; the engine checks the rest (condition keys and operands, that targets exist) with
//! the whole document and reports every error at once.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tollgate_engine::GrantType;
use utoipa::ToSchema;

use super::entities::{Entity, to_body};
use super::error::AdminError;
use crate::store::Kind;

/// Whether a policy grants or only records what it would have granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyMode {
    /// Grants (the default).
    Enforce,
    /// Grants nothing; decisions say what it would have added.
    DryRun,
}

/// Whom a policy applies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a subject (an object)"
)]
pub struct PolicySubject {
    /// Client ids; absent for any client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clients: Option<Vec<String>>,
    /// Conditions on the request, all of which must hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<PolicyCondition>>,
}

/// A condition's operator (the engine's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ConditionOp {
    /// The key's value is `value`.
    Equal,
    /// The key's value is not `value`.
    NotEqual,
    /// The key's value is one of `values`.
    In,
    /// The key's value is none of `values`.
    NotIn,
    /// The key's list holds `value`.
    Contains,
    /// The key has a value.
    Exists,
    /// The key has no value.
    NotExists,
    /// The address is in one of the CIDR blocks `values`.
    InCidr,
    /// The request time is inside the window `value` (`from`, `to`, `days`, `tz`).
    Between,
    /// The key's number (`auth.age`, a numeric claim) is below `value`.
    LessThan,
    /// The key's number is above `value`.
    GreaterThan,
}

/// One condition: a request key, an operator and its operand (`value` or `values`, as the
/// operator takes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, expecting = "a condition (an object)")]
pub struct PolicyCondition {
    /// A request key: `user.roles`, `client.tags`, `jwtClaims.<path>`, `request.ip`, …
    pub key: String,
    /// The operator.
    pub op: ConditionOp,
    /// The operand of a one-value operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// The operands of a list operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Value>>,
}

/// `"*"`: every scope the target defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum EveryScope {
    /// `"*"`.
    #[serde(rename = "*")]
    All,
}

/// The scopes a policy target gives: a list, or `"*"` for all the target defines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged, expecting = "a list of scopes or `\"*\"`")]
pub enum PolicyScopes {
    /// These scopes.
    Listed(Vec<String>),
    /// Every scope.
    Every(EveryScope),
}

/// What a policy gives: scopes on one resource or connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a target (an object with `resource` or `connection`)"
)]
pub struct PolicyTarget {
    /// A resource id (or `connection`, not both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// A connection id (or `resource`, not both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    /// The scopes given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<PolicyScopes>,
}

/// A policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a policy (an object with `id` and `targets`)"
)]
pub struct PolicyBody {
    /// The policy's id: letters, digits, `-`, `_` and `.`, starting with a letter or digit.
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    pub id: String,
    /// A display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `enforce` (the default) or `dry-run`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<PolicyMode>,
    /// Whom it applies to; absent for everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<PolicySubject>,
    /// The grant types it applies to; absent for all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<GrantType>>,
    /// What it gives (at least one).
    #[schema(min_items = 1)]
    pub targets: Vec<PolicyTarget>,
}

/// A policy as stored.
pub fn entity(policy: PolicyBody) -> Result<Entity, AdminError> {
    Ok(Entity {
        kind: Kind::Policy,
        body: to_body(&policy)?,
        id: policy.id,
        secret: None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, reason = "test code")]

    use super::*;

    /// The admin API's operator enum is a copy of the engine's names for the OpenAPI schema: it
    /// must name exactly the operators the engine takes, so that the API refuses none it accepts.
    #[test]
    fn the_condition_operators_are_the_engines() {
        let ops = [
            ConditionOp::Equal,
            ConditionOp::NotEqual,
            ConditionOp::In,
            ConditionOp::NotIn,
            ConditionOp::Contains,
            ConditionOp::Exists,
            ConditionOp::NotExists,
            ConditionOp::InCidr,
            ConditionOp::Between,
            ConditionOp::LessThan,
            ConditionOp::GreaterThan,
        ];
        // Every variant is listed above: adding one fails to compile here until it is.
        for op in ops {
            match op {
                ConditionOp::Equal
                | ConditionOp::NotEqual
                | ConditionOp::In
                | ConditionOp::NotIn
                | ConditionOp::Contains
                | ConditionOp::Exists
                | ConditionOp::NotExists
                | ConditionOp::InCidr
                | ConditionOp::Between
                | ConditionOp::LessThan
                | ConditionOp::GreaterThan => {}
            }
        }
        let names: Vec<String> = ops
            .iter()
            .map(|op| {
                serde_json::to_value(op)
                    .expect("serializes")
                    .as_str()
                    .expect("a name")
                    .to_owned()
            })
            .collect();
        let engine: Vec<String> = tollgate_engine::operator_names()
            .map(str::to_owned)
            .collect();
        assert_eq!(names, engine);
    }
}
