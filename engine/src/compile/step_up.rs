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
use crate::condition::Source;
use crate::decision::{Decision, Name, Reason, StepUp};
use crate::request::Request;

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
