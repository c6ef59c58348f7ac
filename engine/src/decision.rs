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
    /// What one fresh authentication of the user must meet for `missing` (refused scopes; for a
    /// scope-less connection, none) to be granted, by the decision's [`StepUp`] entries that
    /// `usable` accepts (a caller leaves out what it cannot ask for): the first entry that gives
    /// every missing scope alone, else, per missing scope, the first entry that gives it. The
    /// needs of the entries taken are joined: every method, a level each of them accepts (`None`
    /// when they accept no level in common), the least age. `None` also when the entries do not
    /// give every missing scope, or there are none.
    pub fn step_up_for<S: AsRef<str>>(
        &self,
        missing: &[S],
        usable: impl Fn(&StepUp<'_>) -> bool,
    ) -> Option<StepUpNeeds> {
        let gives = |s: &StepUp<'_>, scope: &str| s.scopes.iter().any(|g| **g == *scope);
        let candidates: Vec<&StepUp<'_>> = self.step_up.iter().filter(|s| usable(s)).collect();
        let alone = candidates
            .iter()
            .find(|s| missing.iter().all(|m| gives(s, m.as_ref())));
        let mut chosen: Vec<&StepUp<'_>> = Vec::new();
        match alone {
            Some(s) => chosen.push(s),
            None => {
                for m in missing {
                    let first = candidates.iter().find(|s| gives(s, m.as_ref()))?;
                    if !chosen.iter().any(|c| std::ptr::eq(*c, *first)) {
                        chosen.push(first);
                    }
                }
            }
        }
        if chosen.is_empty() {
            return None;
        }
        let mut needs = StepUpNeeds::default();
        let mut levels: Option<Vec<String>> = None;
        for s in &chosen {
            for m in &s.methods {
                if !needs.methods.iter().any(|x| **x == **m) {
                    needs.methods.push(m.to_string());
                }
            }
            if !s.levels.is_empty() {
                levels = Some(match levels {
                    None => s.levels.iter().map(|l| l.to_string()).collect(),
                    Some(before) => before
                        .into_iter()
                        .filter(|l| s.levels.iter().any(|x| **x == **l))
                        .collect(),
                });
            }
        }
        if let Some(levels) = levels {
            if levels.is_empty() {
                return None;
            }
            needs.levels = levels;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        policy: &'static str,
        scopes: &[&'static str],
        methods: &[&'static str],
        levels: &[&'static str],
        max_age: Option<u64>,
    ) -> StepUp<'static> {
        let names = |l: &[&'static str]| l.iter().map(|s| Name::Borrowed(*s)).collect();
        StepUp {
            policy: Name::Borrowed(policy),
            scopes: names(scopes),
            methods: names(methods),
            levels: names(levels),
            max_age,
        }
    }

    fn decision(step_up: Vec<StepUp<'static>>) -> Decision<'static> {
        Decision {
            permitted: false,
            granted: Vec::new(),
            scopes: Vec::new(),
            matched: Vec::new(),
            dry_run: Vec::new(),
            not_matched: Vec::new(),
            step_up,
        }
    }

    fn needs(methods: &[&str], levels: &[&str], max_age: Option<u64>) -> Option<StepUpNeeds> {
        let owned = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect();
        Some(StepUpNeeds {
            methods: owned(methods),
            levels: owned(levels),
            max_age,
        })
    }

    #[test]
    fn one_authentication_for_the_missing_scopes() {
        let d = decision(vec![
            entry("a", &["write"], &["otp"], &[], Some(299)),
            entry("b", &["write", "admin"], &[], &["hwk", "mfa"], Some(59)),
            entry("c", &["admin"], &[], &["mfa"], None),
            entry("d", &["other"], &["fed"], &["x"], Some(1)),
        ]);
        let any = |_: &StepUp<'_>| true;
        // The first entry giving everything alone.
        assert_eq!(
            d.step_up_for(&["write"], any),
            needs(&["otp"], &[], Some(299))
        );
        assert_eq!(
            d.step_up_for(&["write", "admin"], any),
            needs(&[], &["hwk", "mfa"], Some(59))
        );
        // None alone: the first entry per scope, levels intersected, unrelated entries left out.
        let without_b = |s: &StepUp<'_>| *s.policy != *"b";
        assert_eq!(
            d.step_up_for(&["write", "admin"], without_b),
            needs(&["otp"], &["mfa"], Some(299))
        );
        // No level in common: no single authentication can do it.
        let d2 = decision(vec![
            entry("a", &["write"], &[], &["hwk"], None),
            entry("c", &["admin"], &[], &["mfa"], None),
        ]);
        assert_eq!(d2.step_up_for(&["write", "admin"], any), None);
        // A scope no usable entry gives; no entries at all.
        assert_eq!(d.step_up_for(&["delete"], any), None);
        assert_eq!(d.step_up_for(&["write"], |_| false), None);
        assert_eq!(decision(Vec::new()).step_up_for::<&str>(&[], any), None);
        // A scope-less connection: nothing missing but the connection, the first entry.
        assert_eq!(
            d.step_up_for::<&str>(&[], any),
            needs(&["otp"], &[], Some(299))
        );
    }
}
