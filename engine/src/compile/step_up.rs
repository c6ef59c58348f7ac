//! Step-up: which refused scopes a fresher or stronger authentication of the user would obtain,
//! and what that authentication must be.
//!
//! A policy is a step-up candidate when every one of its `auth.*` conditions is one a fresh
//! authentication can be sure to meet, given what it asks for:
//!
//! | condition | a fresh authentication meets it with |
//! | --- | --- |
//! | `auth.methods contains` m (or every m of `values`) | those methods (`methods`) |
//! | `auth.level equal` l, `auth.level in` [l, ...] | one of those levels (`levels`, the intersection over the conditions) |
//! | `auth.age lessThan` n | an age of at most the greatest whole number below n (`maxAge`), n > 0 |
//! | `auth.* exists` | any authentication |
//!
//! Any other `auth.*` condition (`notIn`, `greaterThan`, ...) makes the policy no candidate: no
//! authentication the server can ask for is sure to meet it. On a request with a user, a candidate
//! of the target whose grant type, client and other conditions hold and whose `auth.*` conditions
//! do not all hold is reported with the refused scopes it gives (after the client's configuration
//! and the consent, which a new authentication does not change).

use super::{CompiledPolicy, PolicySet, TargetEntry};
use crate::condition::{Condition, Key, Op, Operand, Source};
use crate::decision::{Decision, Name, Reason, StepUp};
use crate::request::Request;

/// What a fresh authentication must meet for a policy's `auth.*` conditions to hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Needs {
    /// Every one of these methods. Sorted, no duplicates.
    methods: Vec<Box<str>>,
    /// One of these levels; `None`: any level.
    levels: Option<Vec<Box<str>>>,
    /// At most this age, in seconds.
    max_age: Option<u64>,
}

/// A policy's step-up needs: `None` when it has no `auth.*` condition, or one no fresh
/// authentication is sure to meet.
pub(super) fn needs(conditions: &[Condition]) -> Option<Needs> {
    let mut needs = Needs::default();
    let mut any = false;
    for c in conditions.iter().filter(|c| c.key.source() == Source::Auth) {
        any = true;
        match (&c.key, c.op, &c.operand) {
            (_, Op::Exists, _) => {}
            (Key::AuthMethods, Op::Contains, Operand::Values(set)) if set.only_strings() => {
                needs.methods.extend(set.strings().iter().cloned());
            }
            (Key::AuthLevel, Op::Equal | Op::In, Operand::Values(set)) if set.only_strings() => {
                let levels = match needs.levels.take() {
                    None => set.strings().to_vec(),
                    Some(before) => before
                        .into_iter()
                        .filter(|l| set.strings().contains(l))
                        .collect(),
                };
                if levels.is_empty() {
                    return None;
                }
                needs.levels = Some(levels);
            }
            (Key::AuthAge, Op::LessThan, Operand::Number(n)) => {
                let bound = greatest_whole_below(n)?;
                needs.max_age = Some(needs.max_age.map_or(bound, |m| m.min(bound)));
            }
            _ => return None,
        }
    }
    needs.methods.sort_unstable();
    needs.methods.dedup();
    any.then_some(needs)
}

/// The greatest whole number of seconds below `n`; `None` when no age is below it (`n` ≤ 0).
fn greatest_whole_below(n: &serde_json::Number) -> Option<u64> {
    if let Some(i) = n.as_u64() {
        return i.checked_sub(1);
    }
    if n.as_i64().is_some() {
        // A negative integer.
        return None;
    }
    let f = n.as_f64().filter(|f| *f > 0.0)?;
    // Every age is below 2^64 and anything beyond it.
    if f >= 18_446_744_073_709_551_616.0 {
        return Some(u64::MAX);
    }
    // A float in (0, 2^64): its whole part converts exactly (`ceil() - 1.0` would round back to
    // the float itself above 2^53).
    let whole = f.floor() as u64;
    Some(if f.fract() == 0.0 { whole - 1 } else { whole })
}

impl PolicySet {
    /// The step-up candidates of `entry` (target index `t`) that would add to `decision`.
    pub(super) fn step_ups<'set>(
        &'set self,
        entry: &'set TargetEntry,
        t: u32,
        request: &Request,
        decision: &Decision<'set>,
    ) -> Vec<StepUp<'set>> {
        let refused_connection = !entry.scoped && !decision.permitted;
        let refused_scope = decision
            .scopes
            .iter()
            .any(|s| s.reason == Some(Reason::NotAllowed));
        let nothing_requested = request.requested_scopes.is_none();
        if request.user.is_none()
            || !(refused_connection || refused_scope || (entry.scoped && nothing_requested))
        {
            return Vec::new();
        }
        let client_config = request
            .client
            .as_ref()
            .and_then(|c| c.allowed_scopes.as_ref())
            .and_then(|m| m.get(&*entry.id));
        let configured = |s: &str| client_config.is_none_or(|list| list.iter().any(|c| c == s));
        let consents = |s: &str| {
            request
                .consented_scopes
                .as_ref()
                .is_none_or(|list| list.iter().any(|c| c == s))
        };
        let mut out = Vec::new();
        for policy in entry
            .step_up
            .iter()
            .filter_map(|&p| self.policies.get(p as usize))
        {
            let Some(needs) = &policy.step_up else {
                continue;
            };
            if !policy.would_match_after_step_up(request) {
                continue;
            }
            let scopes: Vec<Name<'set>> = if !entry.scoped {
                Vec::new()
            } else if nothing_requested {
                entry.scopes_beyond(t, policy, &decision.granted, |name| {
                    configured(name) && consents(name)
                })
            } else {
                decision
                    .scopes
                    .iter()
                    .filter(|s| s.reason == Some(Reason::NotAllowed))
                    .filter(|s| {
                        entry
                            .scope(&s.scope)
                            .is_some_and(|i| policy.gives_scope(t, i))
                            && configured(&s.scope)
                            && consents(&s.scope)
                    })
                    .map(|s| s.scope.clone())
                    .collect()
            };
            if entry.scoped && scopes.is_empty() {
                continue;
            }
            let names =
                |list: &'set [Box<str>]| list.iter().map(|s| Name::Borrowed(&**s)).collect();
            out.push(StepUp {
                policy: Name::Borrowed(&*policy.id),
                scopes,
                methods: names(&needs.methods),
                levels: needs.levels.as_deref().map(names).unwrap_or_default(),
                max_age: needs.max_age,
            });
        }
        out
    }
}

impl CompiledPolicy {
    /// Whether the policy would match if its `auth.*` conditions held, and does not now.
    fn would_match_after_step_up(&self, request: &Request) -> bool {
        self.applies_to(request.grant_type)
            && self.client_ok(request)
            && self
                .conditions
                .iter()
                .filter(|c| c.key.source() != Source::Auth)
                .all(|c| c.holds(request))
            && !self
                .conditions
                .iter()
                .filter(|c| c.key.source() == Source::Auth)
                .all(|c| c.holds(request))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Number;

    use super::*;

    #[test]
    fn the_greatest_whole_age_below_a_bound() {
        let below = |n: Number| greatest_whole_below(&n);
        assert_eq!(below(300.into()), Some(299));
        assert_eq!(below(1.into()), Some(0));
        assert_eq!(below(0.into()), None);
        assert_eq!(below((-5).into()), None);
        assert_eq!(below(Number::from_f64(300.5).unwrap()), Some(300));
        assert_eq!(below(Number::from_f64(300.0).unwrap()), Some(299));
        assert_eq!(below(Number::from_f64(0.25).unwrap()), Some(0));
        assert_eq!(below(Number::from_f64(-0.5).unwrap()), None);
        assert_eq!(
            below(Number::from_f64(1_152_921_504_606_846_976.0).unwrap()),
            Some(1_152_921_504_606_846_975)
        );
        assert_eq!(
            below(Number::from_f64(18_446_744_073_709_551_616.0).unwrap()),
            Some(u64::MAX)
        );
        assert_eq!(below(Number::from_f64(1e300).unwrap()), Some(u64::MAX));
    }
}
