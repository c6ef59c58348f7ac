//! A policy set compiled into an index, and the decision procedure over it.
//!
//! Per target and grant type, policies sit in a bucket. Inside a bucket a policy is filed under an
//! *anchor* when it has one: a value that some string or list attribute of the request must carry
//! for the policy to match (its `subject.clients`, or its first `equal`/`in`/`contains` condition on
//! a typed key). A decision looks up the request's own values of each anchor key and evaluates only
//! the policies found, plus the unanchored ones, so its cost follows the number of policies that
//! could match rather than the size of the set.

use rustc_hash::FxHashMap;

use crate::decision::{Decision, DryRun, NotMatched, Reason, ScopeDecision};
use crate::document::{self, Document, ScopeSpec, TargetDef, TargetKind};
use crate::error::LoadError;
use crate::eval::{Attr, Condition, Key, KeyType, Op, Operand};
use crate::request::{GrantType, Name, Request, Target};

/// A loaded, validated and indexed policy document. Cheap to share between threads; decisions
/// take `&self`.
#[derive(Debug, Clone)]
pub struct PolicySet {
    policies: Vec<CompiledPolicy>,
    targets: Vec<TargetEntry>,
    resources: FxHashMap<Box<str>, u32>,
    connections: FxHashMap<Box<str>, u32>,
}

#[derive(Debug, Clone)]
struct CompiledPolicy {
    id: Name,
    dry_run: bool,
    /// `None`: every grant type.
    grant_types: Option<Vec<GrantType>>,
    /// `None`: every client. Sorted.
    clients: Option<Vec<Box<str>>>,
    conditions: Vec<Condition>,
    /// The scopes given per target index. INVARIANT: sorted by target index.
    gives: Vec<(u32, Gives)>,
}

/// What a policy gives one target.
#[derive(Debug, Clone)]
enum Gives {
    /// Every scope the target defines (or, for a scope-less connection, the credential).
    All,
    /// Indices into the target's scopes. INVARIANT: sorted, no duplicates.
    Scopes(Vec<u16>),
}

#[derive(Debug, Clone)]
struct TargetEntry {
    id: Name,
    scoped: bool,
    scopes: Vec<Name>,
    scope_index: FxHashMap<Box<str>, u16>,
    /// INVARIANT: ascending; every policy (enforce or dry-run) with a target naming this one.
    candidates: Vec<u32>,
    /// Indexed by `GrantType::index`.
    buckets: [Bucket; 4],
}

#[derive(Debug, Clone, Default)]
struct Bucket {
    /// Policies with no anchor. INVARIANT: ascending.
    unanchored: Vec<u32>,
    /// Per anchor key, the policies filed under each value.
    anchored: Vec<(Key, Filed)>,
}

/// Policies filed under each value of one anchor key.
type Filed = FxHashMap<Box<str>, Vec<u32>>;

impl PolicySet {
    /// Loads a policy document from JSON or YAML text (text starting with `{` is JSON). Every
    /// problem is reported at once.
    pub fn load(text: &str) -> Result<PolicySet, LoadError> {
        document::parse_text(text).map(PolicySet::compile)
    }

    /// Loads a policy document that is already a JSON value.
    pub fn from_value(value: serde_json::Value) -> Result<PolicySet, LoadError> {
        document::parse_value(value).map(PolicySet::compile)
    }

    /// How many policies (enforce and dry-run) the set holds.
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    /// Whether the set holds no policy.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    fn compile(document: Document) -> PolicySet {
        let Document {
            resources,
            connections,
            policies,
        } = document;
        let mut targets: Vec<TargetEntry> = Vec::with_capacity(resources.len() + connections.len());
        let index_of = |defs: Vec<TargetDef>, targets: &mut Vec<TargetEntry>| {
            let mut map = FxHashMap::default();
            for def in defs {
                map.insert(def.id.as_str().into(), to_u32(targets.len()));
                targets.push(TargetEntry::new(def));
            }
            map
        };
        let resources = index_of(resources, &mut targets);
        let connections = index_of(connections, &mut targets);

        let mut compiled: Vec<CompiledPolicy> = Vec::with_capacity(policies.len());
        for policy in policies {
            let mut gives = Vec::with_capacity(policy.targets.len());
            for target in &policy.targets {
                let map = match target.kind {
                    TargetKind::Resource => &resources,
                    TargetKind::Connection => &connections,
                };
                // INVARIANT: validation resolved every target and scope.
                let Some(&t) = map.get(target.id.as_str()) else {
                    continue;
                };
                let Some(entry) = targets.get(t as usize) else {
                    continue;
                };
                let g = match &target.scopes {
                    None | Some(ScopeSpec::All) => Gives::All,
                    Some(ScopeSpec::List(list)) => {
                        let mut ix: Vec<u16> = list
                            .iter()
                            .filter_map(|s| entry.scope_index.get(s.as_str()).copied())
                            .collect();
                        ix.sort_unstable();
                        ix.dedup();
                        Gives::Scopes(ix)
                    }
                };
                gives.push((t, g));
            }
            gives.sort_by_key(|(t, _)| *t);
            let compiled_policy = CompiledPolicy {
                id: policy.id.as_str().into(),
                dry_run: policy.dry_run,
                grant_types: policy.grant_types,
                clients: policy
                    .clients
                    .map(|c| c.into_iter().map(String::into_boxed_str).collect()),
                conditions: policy.conditions,
                gives,
            };
            compiled.push(compiled_policy);
        }

        // How many policies could file under each (key, value): a policy is filed under its
        // rarest option, so a request's lookups find few policies that do not match.
        let options: Vec<Vec<Anchor>> = compiled
            .iter()
            .map(CompiledPolicy::anchor_options)
            .collect();
        let mut frequency: FxHashMap<(&Key, &str), u32> = FxHashMap::default();
        for anchor in options.iter().flatten() {
            for v in &anchor.values {
                *frequency.entry((&anchor.key, v)).or_default() += 1;
            }
        }
        let cost = |a: &Anchor| -> u64 {
            a.values
                .iter()
                .map(|v| u64::from(frequency.get(&(&a.key, &**v)).copied().unwrap_or(0)))
                .sum()
        };
        for (p, (policy, options)) in compiled.iter().zip(&options).enumerate() {
            let p = to_u32(p);
            let anchor = options.iter().min_by_key(|a| cost(a));
            for (t, _) in &policy.gives {
                let Some(entry) = targets.get_mut(*t as usize) else {
                    continue;
                };
                entry.candidates.push(p);
                for g in GrantType::ALL {
                    if !policy.applies_to(g) {
                        continue;
                    }
                    let Some(bucket) = entry.buckets.get_mut(g.index()) else {
                        continue;
                    };
                    bucket.file(p, anchor);
                }
            }
        }
        PolicySet {
            policies: compiled,
            targets,
            resources,
            connections,
        }
    }

    /// Decides one request.
    pub fn decide(&self, request: &Request) -> Decision {
        let found = match &request.target {
            Target::Resource(id) => self.resources.get(id.as_str()),
            Target::Connection(id) => self.connections.get(id.as_str()),
        };
        let Some(target) = found.and_then(|&t| self.targets.get(t as usize).map(|e| (t, e))) else {
            return unknown_target(request);
        };
        let (t, entry) = target;

        // Policies that match, in document order.
        let mut found = entry
            .buckets
            .get(request.grant_type.index())
            .map(|b| b.lookup(request))
            .unwrap_or_default();
        found.sort_unstable();
        found.dedup();
        let mut matched: Vec<&CompiledPolicy> = Vec::new();
        let mut dry: Vec<&CompiledPolicy> = Vec::new();
        let mut matched_ix: Vec<u32> = Vec::new();
        for p in found {
            let Some(policy) = self.policies.get(p as usize) else {
                continue;
            };
            if policy.client_ok(request) && policy.conditions.iter().all(|c| c.holds(request)) {
                matched_ix.push(p);
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
        decision.matched = matched.iter().map(|p| p.id.clone()).collect();
        if request.explain {
            decision.not_matched = entry
                .candidates
                .iter()
                .filter(|p| matched_ix.binary_search(p).is_err())
                .filter_map(|&p| self.policies.get(p as usize))
                .map(|policy| NotMatched {
                    policy: policy.id.clone(),
                    failed: policy.first_failure(request),
                })
                .collect();
        }
        decision
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl TargetEntry {
    fn new(def: TargetDef) -> TargetEntry {
        let scoped = def.scoped();
        let scopes: Vec<Name> = def.scopes.iter().map(|s| Name::from(s.as_str())).collect();
        let scope_index = def
            .scopes
            .iter()
            .enumerate()
            .map(|(i, s)| (s.as_str().into(), u16::try_from(i).unwrap_or(u16::MAX)))
            .collect();
        TargetEntry {
            id: def.id.as_str().into(),
            scoped,
            scopes,
            scope_index,
            candidates: Vec::new(),
            buckets: Default::default(),
        }
    }
}

/// An anchor: a key and the values under which a policy is filed.
struct Anchor {
    key: Key,
    values: Vec<Box<str>>,
}

impl CompiledPolicy {
    fn applies_to(&self, g: GrantType) -> bool {
        self.grant_types.as_ref().is_none_or(|gs| gs.contains(&g))
    }

    fn client_ok(&self, request: &Request) -> bool {
        match &self.clients {
            None => true,
            Some(clients) => request
                .client
                .as_ref()
                .and_then(|c| c.client_id.as_deref())
                .is_some_and(|id| clients.binary_search_by(|c| (**c).cmp(id)).is_ok()),
        }
    }

    /// Every way this policy could be filed: each a key and the values some request attribute
    /// must carry for the policy to match.
    fn anchor_options(&self) -> Vec<Anchor> {
        let mut options = Vec::new();
        if let Some(clients) = &self.clients {
            options.push(Anchor {
                key: Key::ClientId,
                values: clients.clone(),
            });
        }
        for c in &self.conditions {
            let Operand::Values(set) = &c.operand else {
                continue;
            };
            let strings = set.strings();
            let values: Vec<Box<str>> = match (c.key.key_type(), c.op) {
                // {a} = V and a ∈ V: the attribute is one of V's strings.
                (KeyType::String, Op::Equal | Op::In) => strings.to_vec(),
                // Some element ∈ V: one of V's strings is an element.
                (KeyType::List, Op::In) => strings.to_vec(),
                // Every element of V is an element (contains), or set(L) = V with V non-empty:
                // any one of V's strings is an element; the rarest is the best anchor.
                (KeyType::List, Op::Contains | Op::Equal) => strings.to_vec(),
                _ => continue,
            };
            // INVARIANT: a condition whose operand holds no string (a list attribute equal to the
            // empty set, say) gives no anchor.
            if values.is_empty() {
                continue;
            }
            let single =
                matches!(c.op, Op::Contains | Op::Equal) && c.key.key_type() == KeyType::List;
            if single {
                // Each value alone is a valid anchor for `contains`/`equal` on a list.
                for v in values {
                    options.push(Anchor {
                        key: c.key.clone(),
                        values: vec![v],
                    });
                }
            } else {
                options.push(Anchor {
                    key: c.key.clone(),
                    values,
                });
            }
        }
        options
    }

    /// The first check this policy fails on the request, for explanations.
    fn first_failure(&self, request: &Request) -> String {
        if let Some(gs) = &self.grant_types
            && !gs.contains(&request.grant_type)
        {
            let list: Vec<&str> = gs.iter().map(|g| g.as_str()).collect();
            return format!(
                "grant type: {} not in [{}]",
                request.grant_type,
                list.join(", ")
            );
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
            return format!("client: {id} not in [{}]", list.join(", "));
        }
        self.conditions
            .iter()
            .find(|c| !c.holds(request))
            .map_or_else(String::new, |c| c.failed.to_string())
    }

    fn gives(&self, target: u32) -> Option<&Gives> {
        self.gives
            .binary_search_by_key(&target, |(t, _)| *t)
            .ok()
            .and_then(|i| self.gives.get(i))
            .map(|(_, g)| g)
    }

    fn gives_scope(&self, target: u32, scope: u16) -> bool {
        match self.gives(target) {
            Some(Gives::All) => true,
            Some(Gives::Scopes(s)) => s.binary_search(&scope).is_ok(),
            None => false,
        }
    }
}

impl Bucket {
    fn file(&mut self, p: u32, anchor: Option<&Anchor>) {
        let Some(anchor) = anchor else {
            self.unanchored.push(p);
            return;
        };
        let map = match self.anchored.iter_mut().position(|(k, _)| *k == anchor.key) {
            Some(i) => self.anchored.get_mut(i).map(|(_, m)| m),
            None => {
                self.anchored
                    .push((anchor.key.clone(), FxHashMap::default()));
                self.anchored.last_mut().map(|(_, m)| m)
            }
        };
        if let Some(map) = map {
            for v in &anchor.values {
                let list = map.entry(v.clone()).or_default();
                // A policy is filed once per value; `in [a, a]` was deduplicated by the value set.
                if list.last() != Some(&p) {
                    list.push(p);
                }
            }
        }
    }

    /// The policies that could match: unanchored ones and those filed under a value the request
    /// carries. May hold duplicates; not sorted.
    fn lookup(&self, request: &Request) -> Vec<u32> {
        let mut out = self.unanchored.clone();
        for (key, map) in &self.anchored {
            match key.read(request) {
                Attr::Str(s) => {
                    if let Some(ps) = map.get(s) {
                        out.extend_from_slice(ps);
                    }
                }
                Attr::List(list) => {
                    for s in list {
                        if let Some(ps) = map.get(s.as_str()) {
                            out.extend_from_slice(ps);
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }
}

fn unknown_target(request: &Request) -> Decision {
    let scopes = request.requested_scopes.iter().flatten().fold(
        Vec::<ScopeDecision>::new(),
        |mut acc, s| {
            if !acc.iter().any(|d| *d.scope == **s) {
                acc.push(ScopeDecision {
                    scope: s.as_str().into(),
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
    }
}

/// The scopes of the decision: one entry per requested scope (or per allowed scope).
fn scoped_decision(
    entry: &TargetEntry,
    t: u32,
    request: &Request,
    matched: &[&CompiledPolicy],
    dry: &[&CompiledPolicy],
) -> Decision {
    let client_config = request
        .client
        .as_ref()
        .and_then(|c| c.allowed_scopes.as_ref())
        .and_then(|m| m.get(&*entry.id));
    let consented = request.consented_scopes.as_ref();
    let configured = |s: &str| client_config.is_none_or(|list| list.iter().any(|c| c == s));
    let consents = |s: &str| consented.is_none_or(|list| list.iter().any(|c| c == s));

    // (scope name, its index when the target defines it)
    let requested: Vec<(Name, Option<u16>)> = match &request.requested_scopes {
        Some(list) => {
            let mut out: Vec<(Name, Option<u16>)> = Vec::with_capacity(list.len());
            for s in list {
                if out.iter().any(|(n, _)| **n == **s) {
                    continue;
                }
                match entry.scope_index.get(s.as_str()) {
                    Some(&i) => out.push((
                        entry
                            .scopes
                            .get(i as usize)
                            .cloned()
                            .unwrap_or_else(|| s.as_str().into()),
                        Some(i),
                    )),
                    None => out.push((s.as_str().into(), None)),
                }
            }
            out
        }
        None => entry
            .scopes
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), u16::try_from(i).ok()))
            .filter(|(_, i)| i.is_some_and(|i| matched.iter().any(|p| p.gives_scope(t, i))))
            .collect(),
    };

    let mut scopes = Vec::with_capacity(requested.len());
    let mut granted = Vec::new();
    for (name, index) in &requested {
        let (by, reason) = match index {
            None => (Vec::new(), Some(Reason::UnknownScope)),
            Some(i) => {
                let by: Vec<Name> = matched
                    .iter()
                    .filter(|p| p.gives_scope(t, *i))
                    .map(|p| p.id.clone())
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
        if reason.is_none() {
            granted.push(name.clone());
        }
        scopes.push(ScopeDecision {
            scope: name.clone(),
            granted: reason.is_none(),
            by,
            reason,
        });
    }

    let permitted = !granted.is_empty();
    let mut dry_run = Vec::with_capacity(dry.len());
    for policy in dry {
        let would_add: Vec<Name> = match &request.requested_scopes {
            Some(_) => requested
                .iter()
                .filter_map(|(name, i)| i.map(|i| (name, i)))
                .filter(|(name, i)| {
                    policy.gives_scope(t, *i)
                        && configured(name)
                        && consents(name)
                        && !granted.iter().any(|g| g == *name)
                })
                .map(|(name, _)| name.clone())
                .collect(),
            // Nothing requested means everything allowed: what the dry-run policy would allow.
            None => entry
                .scopes
                .iter()
                .enumerate()
                .filter(|(i, name)| {
                    u16::try_from(*i).is_ok_and(|i| policy.gives_scope(t, i))
                        && configured(name)
                        && consents(name)
                        && !granted.iter().any(|g| g == *name)
                })
                .map(|(_, name)| name.clone())
                .collect(),
        };
        dry_run.push(DryRun {
            policy: policy.id.clone(),
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
    }
}

/// A scope-less connection: the credential as a whole, permitted when some policy matched.
fn scope_less_decision(
    request: &Request,
    matched: &[&CompiledPolicy],
    dry: &[&CompiledPolicy],
) -> Decision {
    let permitted = !matched.is_empty();
    let mut scopes: Vec<ScopeDecision> = Vec::new();
    for s in request.requested_scopes.iter().flatten() {
        if !scopes.iter().any(|d| *d.scope == **s) {
            scopes.push(ScopeDecision {
                scope: s.as_str().into(),
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
                policy: p.id.clone(),
                would_add: Vec::new(),
                would_permit: !permitted,
            })
            .collect(),
        not_matched: Vec::new(),
    }
}
