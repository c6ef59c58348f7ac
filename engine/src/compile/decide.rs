//! The decision procedure: the policies of the request's target and grant type that could match
//! (from the index), each checked in full, then the scopes they give intersected with the
//! client's configuration and the user's consent, and every candidate that did not match explained.

use super::{
    Bucket, CompiledPolicy, Filed, PolicySet, Small, TargetEntry, anchor_hash, bucket_id,
    fingerprint,
};
use crate::condition::str_eq;
use crate::decision::{Decision, DryRun, Name, NotMatched, Reason, ScopeDecision};
use crate::request::{Request, Target};

impl PolicySet {
    /// Decides one request.
    pub fn decide(&self, request: &Request) -> Decision<'_> {
        let found = match &request.target {
            Target::Resource(id) => self.resources.get(id.as_str()),
            Target::Connection(id) => self.connections.get(id.as_str()),
        };
        let Some(target) = found.and_then(|&t| self.targets.get(t as usize).map(|e| (t, e))) else {
            return unknown_target(request);
        };
        let (t, entry) = target;
        let g = request.grant_type.index();

        // Policies that match, in document order.
        let found = entry
            .buckets
            .get(g)
            .map(|b| self.lookup(bucket_id(t, g), b, request))
            .unwrap_or_default();
        let mut matched: Small<&CompiledPolicy, 8> = Small::new();
        let mut dry: Small<&CompiledPolicy, 2> = Small::new();
        let mut matched_ix: Small<u32, 8> = Small::new();
        for p in found {
            let Some(policy) = self.policies.get(p as usize) else {
                continue;
            };
            if policy.client_ok(request) && policy.conditions.iter().all(|c| c.holds(request)) {
                if request.explain {
                    matched_ix.push(p);
                }
                if policy.dry_run {
                    dry.push(policy);
                } else {
                    matched.push(policy);
                }
            }
        }

        let mut decision = if entry.scoped {
            scoped_decision(entry, t, request, &matched, &dry)
        } else {
            scope_less_decision(request, &matched, &dry)
        };
        decision.matched = matched.iter().map(|p| Name::Borrowed(&*p.id)).collect();
        if !entry.step_up.is_empty() {
            decision.step_up = self.step_ups(entry, t, request, &decision);
        }
        if request.explain {
            decision.not_matched = entry
                .candidates
                .iter()
                .filter(|p| matched_ix.binary_search(p).is_err())
                .filter_map(|&p| self.policies.get(p as usize))
                .map(|policy| NotMatched {
                    policy: Name::Borrowed(&*policy.id),
                    failed: policy.first_failure(request),
                })
                .collect();
        }
        decision
    }

    /// The policies of a bucket that could match: unanchored ones and those filed under a value the
    /// request carries whose fingerprints the request carries too. Ascending, no duplicates.
    fn lookup(&self, id: u32, bucket: &Bucket, request: &Request) -> Small<u32, 16> {
        // First every value's fingerprint (a filed entry may name a value read later), and the
        // hashes worth looking up; then the lookups.
        let mut seen: Small<u32, 32> = Small::new();
        let mut probes: Small<u64, 16> = Small::new();
        for (i, (key, seed)) in self.keys.iter().enumerate() {
            if !bucket.reads_key(i) {
                continue;
            }
            key.read(request).for_each_str(|s| {
                let h = anchor_hash(*seed, s);
                seen.push(fingerprint(h));
                if bucket.may_hold(h) {
                    probes.push(h);
                }
            });
        }
        let carried = |f: &&Filed| f.also.iter().all(|&a| a == 0 || seen.contains(&a));
        let mut out: Small<u32, 16> = self
            .filed_range(bucket.unanchored)
            .iter()
            .filter(carried)
            .map(|f| f.policy)
            .collect();
        for h in probes {
            if let Some(&range) = self.anchors.get(&(id, h)) {
                out.extend(
                    self.filed_range(range)
                        .iter()
                        .filter(carried)
                        .map(|f| f.policy),
                );
            }
        }
        if out.len() > 1 {
            out.sort_unstable();
            out.dedup();
        }
        out
    }

    fn filed_range(&self, (start, end): (u32, u32)) -> &[Filed] {
        self.filed
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }
}

impl CompiledPolicy {
    /// The first check this policy fails on the request, for explanations.
    fn first_failure(&self, request: &Request) -> Name<'_> {
        if let Some(gs) = &self.grant_types
            && !gs.contains(&request.grant_type)
        {
            let list: Vec<&str> = gs.iter().map(|g| g.as_str()).collect();
            return Name::Owned(format!(
                "grant type: {} not in [{}]",
                request.grant_type,
                list.join(", ")
            ));
        }
        if let Some(clients) = &self.clients
            && !self.client_ok(request)
        {
            let id = request
                .client
                .as_ref()
                .and_then(|c| c.client_id.as_deref())
                .unwrap_or("absent");
            let list: Vec<&str> = clients.iter().map(|c| &**c).collect();
            return Name::Owned(format!("client: {id} not in [{}]", list.join(", ")));
        }
        self.conditions
            .iter()
            .find(|c| !c.holds(request))
            .map_or(Name::Borrowed(""), |c| Name::Borrowed(&*c.failed))
    }
}

fn unknown_target(request: &Request) -> Decision<'static> {
    let scopes = request.requested_scopes.iter().flatten().fold(
        Vec::<ScopeDecision<'static>>::new(),
        |mut acc, s| {
            if !acc.iter().any(|d| *d.scope == **s) {
                acc.push(ScopeDecision {
                    scope: Name::Owned(s.clone()),
                    granted: false,
                    by: Vec::new(),
                    reason: Some(Reason::UnknownTarget),
                });
            }
            acc
        },
    );
    Decision {
        permitted: false,
        granted: Vec::new(),
        scopes,
        matched: Vec::new(),
        dry_run: Vec::new(),
        not_matched: Vec::new(),
        step_up: Vec::new(),
    }
}

/// The scopes of the decision: one entry per requested scope (or per allowed scope).
fn scoped_decision<'set>(
    entry: &'set TargetEntry,
    t: u32,
    request: &Request,
    matched: &[&'set CompiledPolicy],
    dry: &[&'set CompiledPolicy],
) -> Decision<'set> {
    let client_config = request
        .client
        .as_ref()
        .and_then(|c| c.allowed_scopes.as_ref())
        .and_then(|m| m.get(&*entry.id));
    let consented = request.consented_scopes.as_ref();
    let configured = |s: &str| client_config.is_none_or(|list| list.iter().any(|c| c == s));
    let consents = |s: &str| consented.is_none_or(|list| list.iter().any(|c| c == s));

    // (scope name, its index when the target defines it)
    let requested: Small<(&str, Option<u16>), 8> = match &request.requested_scopes {
        Some(list) => {
            let mut out: Small<(&str, Option<u16>), 8> = Small::new();
            for s in list {
                if !out.iter().any(|(n, _)| str_eq(n, s)) {
                    out.push((s.as_str(), entry.scope(s)));
                }
            }
            out
        }
        None => entry
            .scopes
            .iter()
            .enumerate()
            .map(|(i, s)| (&**s, u16::try_from(i).ok()))
            .filter(|(_, i)| i.is_some_and(|i| matched.iter().any(|p| p.gives_scope(t, i))))
            .collect(),
    };
    // A scope name in the decision: the target's own when it defines the scope, else a copy of
    // the request's.
    let name_of = |name: &str, index: Option<u16>| -> Name<'set> {
        index
            .and_then(|i| entry.scopes.get(i as usize))
            .map_or_else(|| Name::Owned(name.to_owned()), |s| Name::Borrowed(&**s))
    };

    let mut scopes = Vec::with_capacity(requested.len());
    let mut granted = Vec::new();
    for &(name, index) in &requested {
        let (by, reason) = match index {
            None => (Vec::new(), Some(Reason::UnknownScope)),
            Some(i) => {
                let by: Vec<Name<'set>> = matched
                    .iter()
                    .filter(|p| p.gives_scope(t, i))
                    .map(|p| Name::Borrowed(&*p.id))
                    .collect();
                let reason = if by.is_empty() {
                    Some(Reason::NotAllowed)
                } else if !configured(name) {
                    Some(Reason::ClientConfig)
                } else if !consents(name) {
                    Some(Reason::NotConsented)
                } else {
                    None
                };
                (by, reason)
            }
        };
        let scope = name_of(name, index);
        if reason.is_none() {
            granted.push(scope.clone());
        }
        scopes.push(ScopeDecision {
            scope,
            granted: reason.is_none(),
            by,
            reason,
        });
    }

    let permitted = !granted.is_empty();
    let mut dry_run = Vec::with_capacity(dry.len());
    for policy in dry {
        let would_add: Vec<Name<'set>> = match &request.requested_scopes {
            Some(_) => requested
                .iter()
                .filter_map(|&(name, i)| i.map(|i| (name, i)))
                .filter(|&(name, i)| {
                    policy.gives_scope(t, i)
                        && configured(name)
                        && consents(name)
                        && !granted.iter().any(|g| **g == *name)
                })
                .map(|(name, i)| name_of(name, Some(i)))
                .collect(),
            // Nothing requested means everything allowed: what the dry-run policy would allow.
            None => entry.scopes_beyond(t, policy, &granted, |name| {
                configured(name) && consents(name)
            }),
        };
        dry_run.push(DryRun {
            policy: Name::Borrowed(&*policy.id),
            would_permit: !permitted && !would_add.is_empty(),
            would_add,
        });
    }

    Decision {
        permitted,
        granted,
        scopes,
        matched: Vec::new(),
        dry_run,
        not_matched: Vec::new(),
        step_up: Vec::new(),
    }
}

/// A scope-less connection: the credential as a whole, permitted when some policy matched.
fn scope_less_decision<'set>(
    request: &Request,
    matched: &[&'set CompiledPolicy],
    dry: &[&'set CompiledPolicy],
) -> Decision<'set> {
    let permitted = !matched.is_empty();
    let mut scopes: Vec<ScopeDecision<'set>> = Vec::new();
    for s in request.requested_scopes.iter().flatten() {
        if !scopes.iter().any(|d| *d.scope == **s) {
            scopes.push(ScopeDecision {
                scope: Name::Owned(s.clone()),
                granted: false,
                by: Vec::new(),
                reason: Some(Reason::UnknownScope),
            });
        }
    }
    Decision {
        permitted,
        granted: Vec::new(),
        scopes,
        matched: Vec::new(),
        dry_run: dry
            .iter()
            .map(|p| DryRun {
                policy: Name::Borrowed(&*p.id),
                would_add: Vec::new(),
                would_permit: !permitted,
            })
            .collect(),
        not_matched: Vec::new(),
        step_up: Vec::new(),
    }
}
