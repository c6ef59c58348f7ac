//! The decision and its explanation.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// A policy id or scope name in a decision: borrowed from the policy set that made the decision
/// (no copy, no reference count), or owned (a decision read back from JSON or from another
/// runtime; see [`Decision::into_owned`]).
pub type Name<'set> = Cow<'set, str>;

/// The answer to a [`Request`](crate::Request): what is granted, and why.
///
/// The names in it borrow from the [`PolicySet`](crate::PolicySet) that made it, so a decision
/// costs no copy of them; [`Decision::into_owned`] detaches it from the set.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision<'set> {
    /// Whether a token (or credential) may be issued at all.
    pub permitted: bool,
    /// The granted scopes, in the order of [`Decision::scopes`].
    #[cfg_attr(feature = "utoipa", schema(value_type = Vec<String>))]
    pub granted: Vec<Name<'set>>,
    /// One entry per requested scope (or per allowed scope when none were requested).
    pub scopes: Vec<ScopeDecision<'set>>,
    /// The enforce-mode policies that matched, in document order.
    #[cfg_attr(feature = "utoipa", schema(value_type = Vec<String>))]
    pub matched: Vec<Name<'set>>,
    /// The dry-run policies that would have matched and what they would have added.
    pub dry_run: Vec<DryRun<'set>>,
    /// Each candidate policy that did not match, with its first failing check (only when the
    /// request asks for an explanation).
    pub not_matched: Vec<NotMatched<'set>>,
    /// Enforce-mode policies that would give refused scopes (or the refused scope-less
    /// connection) if the user authenticated again as they require: a fresh authentication, with
    /// these methods, at one of these levels. Only for a request with a user; in document order.
    #[serde(default)]
    pub step_up: Vec<StepUp<'set>>,
}

/// A policy that a stronger or fresher authentication of the user would make match: what it
/// would add, and what it needs. A fresh authentication that meets `methods`, `levels` and
/// `maxAge` makes every `auth.*` condition of the policy hold; its other conditions hold already.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepUp<'set> {
    /// The policy id.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub policy: Name<'set>,
    /// The refused scopes it would grant (empty for a scope-less connection, which it would
    /// permit).
    #[cfg_attr(feature = "utoipa", schema(value_type = Vec<String>))]
    pub scopes: Vec<Name<'set>>,
    /// Authentication methods the user must have used (`auth.methods contains`), as in `amr`.
    #[cfg_attr(feature = "utoipa", schema(value_type = Vec<String>))]
    pub methods: Vec<Name<'set>>,
    /// Authentication levels of which the user must reach one (`auth.level equal` / `in`), as
    /// OpenID Connect's and RFC 9470's `acr_values`; empty when any level will do.
    #[cfg_attr(feature = "utoipa", schema(value_type = Vec<String>))]
    pub levels: Vec<Name<'set>>,
    /// The greatest age, in seconds, the authentication may have (`auth.age lessThan`), as
    /// RFC 9470's `max_age`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
}

/// The verdict on one scope.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeDecision<'set> {
    /// The scope.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub scope: Name<'set>,
    /// Whether it is granted.
    pub granted: bool,
    /// The matched policies that give this scope, in document order.
    #[cfg_attr(feature = "utoipa", schema(value_type = Vec<String>))]
    pub by: Vec<Name<'set>>,
    /// Why it was not granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

/// Why a scope was not granted: the first check it failed.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The document does not define the requested target.
    UnknownTarget,
    /// The target does not define the scope.
    UnknownScope,
    /// No matching policy gives the scope.
    NotAllowed,
    /// The client's configuration does not permit the scope on this target.
    ClientConfig,
    /// The user did not consent to the scope.
    NotConsented,
}

impl Reason {
    /// The reason's name in decisions.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::UnknownTarget => "unknown_target",
            Reason::UnknownScope => "unknown_scope",
            Reason::NotAllowed => "not_allowed",
            Reason::ClientConfig => "client_config",
            Reason::NotConsented => "not_consented",
        }
    }
}

/// A dry-run policy that would have matched.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DryRun<'set> {
    /// The policy id.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub policy: Name<'set>,
    /// Scopes it would add to `granted`.
    #[cfg_attr(feature = "utoipa", schema(value_type = Vec<String>))]
    pub would_add: Vec<Name<'set>>,
    /// Whether it would turn a refusal into a permitted decision.
    pub would_permit: bool,
}

/// A candidate policy that did not match.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotMatched<'set> {
    /// The policy id.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub policy: Name<'set>,
    /// The first failing check, e.g. `condition 0: user.roles contains admin`.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub failed: Name<'set>,
}

/// What a fresh authentication must meet to obtain some refused scopes: see
/// [`Decision::step_up_for`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepUpNeeds {
    /// Methods it must use.
    pub methods: Vec<String>,
    /// Levels of which it must reach one; empty: any level.
    pub levels: Vec<String>,
    /// The greatest age it may have, in seconds.
    pub max_age: Option<u64>,
}

impl Decision<'_> {
    /// What a fresh authentication of the user must meet for `missing` (refused scopes; for a
    /// scope-less connection, none) to be granted, by the decision's [`StepUp`] entries: the first
    /// entry that gives every missing scope alone, else all entries together (methods and levels
    /// joined, any level when one of them accepts any, the least age). `None` when the entries do
    /// not give every missing scope, or there are none.
    pub fn step_up_for<S: AsRef<str>>(&self, missing: &[S]) -> Option<StepUpNeeds> {
        let gives = |s: &StepUp<'_>, scope: &str| s.scopes.iter().any(|g| **g == *scope);
        let alone = self
            .step_up
            .iter()
            .find(|s| missing.iter().all(|m| gives(s, m.as_ref())));
        let chosen: Vec<&StepUp<'_>> = match alone {
            Some(s) => vec![s],
            None => self.step_up.iter().collect(),
        };
        let covered = missing
            .iter()
            .all(|m| chosen.iter().any(|s| gives(s, m.as_ref())));
        if chosen.is_empty() || !covered {
            return None;
        }
        let mut needs = StepUpNeeds::default();
        let add = |into: &mut Vec<String>, names: &[Name<'_>]| {
            for n in names {
                if !into.iter().any(|x| **x == **n) {
                    into.push(n.to_string());
                }
            }
        };
        for s in &chosen {
            add(&mut needs.methods, &s.methods);
            add(&mut needs.levels, &s.levels);
        }
        if chosen.iter().any(|s| s.levels.is_empty()) {
            needs.levels.clear();
        }
        needs.max_age = chosen.iter().filter_map(|s| s.max_age).min();
        Some(needs)
    }
}

fn owned(name: Name<'_>) -> Name<'static> {
    Cow::Owned(name.into_owned())
}

fn all_owned(names: Vec<Name<'_>>) -> Vec<Name<'static>> {
    names.into_iter().map(owned).collect()
}

impl Decision<'_> {
    /// The same decision with every name copied, so it outlives the policy set that made it (to
    /// keep it past a policy swap, or send it to another thread).
    pub fn into_owned(self) -> Decision<'static> {
        Decision {
            permitted: self.permitted,
            granted: all_owned(self.granted),
            scopes: self
                .scopes
                .into_iter()
                .map(|s| ScopeDecision {
                    scope: owned(s.scope),
                    granted: s.granted,
                    by: all_owned(s.by),
                    reason: s.reason,
                })
                .collect(),
            matched: all_owned(self.matched),
            dry_run: self
                .dry_run
                .into_iter()
                .map(|d| DryRun {
                    policy: owned(d.policy),
                    would_add: all_owned(d.would_add),
                    would_permit: d.would_permit,
                })
                .collect(),
            not_matched: self
                .not_matched
                .into_iter()
                .map(|n| NotMatched {
                    policy: owned(n.policy),
                    failed: owned(n.failed),
                })
                .collect(),
            step_up: self
                .step_up
                .into_iter()
                .map(|s| StepUp {
                    policy: owned(s.policy),
                    scopes: all_owned(s.scopes),
                    methods: all_owned(s.methods),
                    levels: all_owned(s.levels),
                    max_age: s.max_age,
                })
                .collect(),
        }
    }
}
