//! A policy set compiled into an index, and the decision procedure over it.
//!
//! Per target and grant type, policies sit in a bucket. Inside a bucket a policy is filed under an
//! *anchor* when it has one: a value that some string or list attribute of the request must carry
//! for the policy to match (a value of its `subject.clients`, or of an `equal`/`in`/`contains`
//! condition on a typed key or a claim). A decision hashes the request's own values of the bucket's
//! keys, looks each hash up and evaluates only the policies found, plus the unanchored ones, so its
//! cost follows the number of policies that could match rather than the size of the set.
//!
//! The index only narrows: every policy it yields is then checked in full on the request's real
//! strings, so a hash collision (even a crafted one) can add work but never a grant.
//!
//! Each filed entry also carries fingerprints of up to three other single values the policy needs
//! (a second `contains`, a pinned client, ...). A candidate whose fingerprints are not all among the
//! request's own value hashes cannot match and is dropped before its policy is read, which keeps a
//! decision to a handful of cache misses at 100,000 policies.

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHasher};

/// A short list kept on the stack natively; a plain `Vec` in WebAssembly, where code size counts
/// (the npm package has a size budget) and each `SmallVec` instantiation costs kilobytes.
#[cfg(not(target_family = "wasm"))]
type Small<T, const N: usize> = smallvec::SmallVec<[T; N]>;
#[cfg(target_family = "wasm")]
type Small<T, const N: usize> = Vec<T>;

use crate::decision::{Decision, DryRun, NotMatched, Reason, ScopeDecision};
use crate::document::{self, Document, ScopeSpec, TargetDef, TargetKind};
use crate::error::LoadError;
use crate::eval::{Condition, Key, KeyType, Op, Operand, str_eq};
use crate::request::{GrantType, Name, Request, Target};

/// A loaded, validated and indexed policy document. Cheap to share between threads; decisions
/// take `&self`.
#[derive(Debug, Clone)]
pub struct PolicySet {
    policies: Vec<CompiledPolicy>,
    targets: Vec<TargetEntry>,
    resources: FxHashMap<Box<str>, u32>,
    connections: FxHashMap<Box<str>, u32>,
    /// Every key some policy is filed or fingerprinted under, with its hash seed.
    keys: Vec<(Key, u64)>,
    /// (bucket id, anchor hash) → the entries filed there, a range of `filed`.
    anchors: FxHashMap<(u32, u64), (u32, u32)>,
    /// Filed entries, each bucket's unanchored ones and each anchor's ones contiguous.
    filed: Vec<Filed>,
}

#[derive(Debug, Clone)]
struct CompiledPolicy {
    id: Box<str>,
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
    id: Box<str>,
    scoped: bool,
    scopes: Vec<Box<str>>,
    /// Scope name → index; filled only for more than [`TargetEntry::FEW_SCOPES`] scopes.
    scope_index: FxHashMap<Box<str>, u16>,
    /// INVARIANT: ascending; every policy (enforce or dry-run) with a target naming this one.
    candidates: Vec<u32>,
    /// Indexed by `GrantType::index`.
    buckets: [Bucket; 4],
}

/// The policies of one target under one grant type.
#[derive(Debug, Clone, Default)]
struct Bucket {
    /// The range of `PolicySet::filed` holding the policies with no anchor.
    unanchored: (u32, u32),
    /// Bit `i` (for `i < 63`): `PolicySet::keys[i]` is an anchor or fingerprint key here. Bit 63:
    /// some key from index 63 on is (all of them are then read).
    keys: u64,
    /// Every anchor hash filed in this bucket sets two bits; a request value whose bits are not
    /// both set has nothing filed, and its lookup is skipped.
    bloom: [u64; 8],
}

/// A policy filed in a bucket, with fingerprints of values the request must also carry.
#[derive(Debug, Clone, Copy)]
struct Filed {
    policy: u32,
    /// [`fingerprint`]s of anchor hashes; 0 is no fingerprint.
    also: [u32; 3],
}

/// An anchor: a key and the values of which the request must carry one for the policy to match.
struct Anchor<'p> {
    key: &'p Key,
    values: &'p [Box<str>],
}

/// The hash under which a value of a key is filed.
fn anchor_hash(seed: u64, value: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write_u64(seed);
    h.write(value.as_bytes());
    h.write_u8(0xff);
    h.finish()
}

fn key_seed(key: &Key) -> u64 {
    let mut h = FxHasher::default();
    key.hash(&mut h);
    h.finish()
}

/// 32 bits of an anchor hash, never 0.
fn fingerprint(h: u64) -> u32 {
    ((h >> 32) as u32) | 1
}

impl Bucket {
    fn bloom_bits(h: u64) -> [(usize, u64); 2] {
        let a = (h >> 55) as usize; // 9 bits: 0..512
        let b = ((h >> 46) & 0x1ff) as usize;
        [(a / 64, 1 << (a % 64)), (b / 64, 1 << (b % 64))]
    }

    fn bloom_add(&mut self, h: u64) {
        for (word, bit) in Bucket::bloom_bits(h) {
            if let Some(w) = self.bloom.get_mut(word) {
                *w |= bit;
            }
        }
    }

    fn may_hold(&self, h: u64) -> bool {
        Bucket::bloom_bits(h)
            .iter()
            .all(|&(word, bit)| self.bloom.get(word).is_some_and(|w| w & bit != 0))
    }

    fn reads_key(&self, i: usize) -> bool {
        self.keys & (1 << i.min(63)) != 0
    }
}

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

    fn compile(document: Document<'_>) -> PolicySet {
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
                let Some(&t) = map.get(&*target.id) else {
                    continue;
                };
                let Some(entry) = targets.get(t as usize) else {
                    continue;
                };
                let g = match &target.scopes {
                    None | Some(ScopeSpec::All) => Gives::All,
                    Some(ScopeSpec::List(list)) => {
                        let mut ix: Vec<u16> = list.iter().filter_map(|s| entry.scope(s)).collect();
                        ix.sort_unstable();
                        ix.dedup();
                        Gives::Scopes(ix)
                    }
                };
                gives.push((t, g));
            }
            gives.sort_by_key(|(t, _)| *t);
            compiled.push(CompiledPolicy {
                id: policy.id.into_boxed_str(),
                dry_run: policy.dry_run,
                grant_types: policy.grant_types,
                clients: policy
                    .clients
                    .map(|c| c.into_iter().map(String::into_boxed_str).collect()),
                conditions: policy.conditions,
                gives,
            });
        }

        let index = Index::build(&compiled, &mut targets);
        PolicySet {
            policies: compiled,
            targets,
            resources,
            connections,
            keys: index.keys,
            anchors: index.anchors,
            filed: index.filed,
        }
    }

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

/// A bucket's id: its target and grant type.
fn bucket_id(t: u32, g: usize) -> u32 {
    t.wrapping_mul(4).wrapping_add(g as u32)
}

/// The target index and grant type index of a bucket id.
fn bucket_of(id: u32) -> (usize, usize) {
    ((id / 4) as usize, (id % 4) as usize)
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The index under construction.
struct Index {
    keys: Vec<(Key, u64)>,
    anchors: FxHashMap<(u32, u64), (u32, u32)>,
    filed: Vec<Filed>,
}

impl Index {
    fn build(compiled: &[CompiledPolicy], targets: &mut [TargetEntry]) -> Index {
        // Every policy's options, flat: policy `p`'s are `options[ranges[p]]`.
        let mut options: Vec<Anchor<'_>> = Vec::with_capacity(compiled.len() * 2);
        let mut ranges: Vec<(usize, usize)> = Vec::with_capacity(compiled.len());
        for policy in compiled {
            let start = options.len();
            policy.anchor_options(&mut options);
            ranges.push((start, options.len()));
        }
        // How many policies could file under each (key, value): a policy is filed under its
        // rarest option, so a request's lookups find few policies that do not match.
        let mut frequency: FxHashMap<(&Key, &str), u32> = FxHashMap::default();
        for anchor in &options {
            for v in anchor.values {
                *frequency.entry((anchor.key, v)).or_default() += 1;
            }
        }
        let cost = |a: &Anchor<'_>| -> u64 {
            a.values
                .iter()
                .map(|v| u64::from(frequency.get(&(a.key, &**v)).copied().unwrap_or(0)))
                .sum()
        };

        let mut keys: Vec<(Key, u64)> = Vec::new();
        let mut key_index = |key: &Key| -> (usize, u64) {
            match keys.iter().position(|(k, _)| k == key) {
                Some(i) => (i, keys.get(i).map_or(0, |(_, s)| *s)),
                None => {
                    let seed = key_seed(key);
                    keys.push((key.clone(), seed));
                    (keys.len() - 1, seed)
                }
            }
        };

        // (bucket id, anchor hash or none for an unanchored entry) of every filed entry.
        let mut entries: Vec<(u32, Option<u64>, Filed)> = Vec::with_capacity(compiled.len() * 2);
        for (p, (policy, &(start, end))) in compiled.iter().zip(&ranges).enumerate() {
            let p = to_u32(p);
            let own = options.get(start..end).unwrap_or_default();
            // The anchor: the rarest option (the first of equals).
            let chosen = own
                .iter()
                .enumerate()
                .min_by_key(|(_, a)| cost(a))
                .map(|(i, _)| i);
            let anchor = chosen.and_then(|i| own.get(i));
            // Fingerprints: the three rarest other options that name a single value (the first of
            // equals first), picked in one pass.
            let mut rarest: [Option<(u64, &str, &Key)>; 3] = [None; 3];
            for (i, a) in own.iter().enumerate() {
                let [value] = a.values else {
                    continue;
                };
                if Some(i) == chosen {
                    continue;
                }
                // Insert into the three rarest so far, behind those that cost no more; what is
                // behind it moves down one place (the fourth falls out).
                let c = cost(a);
                let mut item = Some((c, &**value, a.key));
                let mut shifting = false;
                for slot in &mut rarest {
                    shifting = shifting || slot.is_none_or(|(r, _, _)| c < r);
                    if shifting {
                        std::mem::swap(slot, &mut item);
                    }
                }
            }
            let mut filed = Filed {
                policy: p,
                also: [0; 3],
            };
            // The keys a request's lookup must read for this policy: bit i for `keys[i]`.
            let mut used_keys: u64 = 0;
            for (slot, &(_, value, key)) in filed.also.iter_mut().zip(rarest.iter().flatten()) {
                let (i, seed) = key_index(key);
                used_keys |= 1 << i.min(63);
                *slot = fingerprint(anchor_hash(seed, value));
            }
            // The anchor's values and the seed to hash them with.
            let anchor = anchor.map(|a| {
                let (i, seed) = key_index(a.key);
                used_keys |= 1 << i.min(63);
                (a.values, seed)
            });

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
                    let id = bucket_id(*t, g.index());
                    bucket.keys |= used_keys;
                    match anchor {
                        None => entries.push((id, None, filed)),
                        Some((values, seed)) => {
                            for v in values {
                                let h = anchor_hash(seed, v);
                                bucket.bloom_add(h);
                                entries.push((id, Some(h), filed));
                            }
                        }
                    }
                }
            }
        }

        // Lay the entries out contiguously, each group (a bucket's unanchored entries, an anchor's
        // entries) in policy order: count the groups, give each its range, then fill them in the
        // order the entries were made (a counting sort).
        let mut anchors: FxHashMap<(u32, u64), (u32, u32)> = FxHashMap::default();
        let mut unanchored_counts: Vec<u32> = vec![0; targets.len() * 4];
        for &(id, anchor, _) in &entries {
            let count = match anchor {
                Some(h) => Some(&mut anchors.entry((id, h)).or_default().1),
                None => unanchored_counts.get_mut(id as usize),
            };
            if let Some(count) = count {
                *count += 1;
            }
        }
        // Ranges start empty: (start, start); the fill moves the end up to start + count.
        let mut next = 0u32;
        for (t, entry) in targets.iter_mut().enumerate() {
            for (g, bucket) in entry.buckets.iter_mut().enumerate() {
                let n = unanchored_counts
                    .get(bucket_id(to_u32(t), g) as usize)
                    .copied()
                    .unwrap_or(0);
                bucket.unanchored = (next, next);
                next += n;
            }
        }
        for range in anchors.values_mut() {
            let n = range.1;
            *range = (next, next);
            next += n;
        }
        let mut filed: Vec<Filed> = vec![
            Filed {
                policy: 0,
                also: [0; 3],
            };
            next as usize
        ];
        for (id, anchor, entry) in entries {
            let end = match anchor {
                Some(h) => anchors.get_mut(&(id, h)).map(|range| &mut range.1),
                None => {
                    let (t, g) = bucket_of(id);
                    targets
                        .get_mut(t)
                        .and_then(|e| e.buckets.get_mut(g))
                        .map(|bucket| &mut bucket.unanchored.1)
                }
            };
            if let Some(end) = end
                && let Some(slot) = filed.get_mut(*end as usize)
            {
                *slot = entry;
                *end += 1;
            }
        }
        Index {
            keys,
            anchors,
            filed,
        }
    }
}

impl TargetEntry {
    /// Up to this many scopes, a scope is found by comparing names in place.
    const FEW_SCOPES: usize = 16;

    /// The index of a scope the target defines. Few scopes: compared in place (the lengths are in
    /// the list itself, so only a same-length name is read); many: hashed.
    fn scope(&self, name: &str) -> Option<u16> {
        if self.scopes.len() <= TargetEntry::FEW_SCOPES {
            let i = self.scopes.iter().position(|s| str_eq(s, name))?;
            u16::try_from(i).ok()
        } else {
            self.scope_index.get(name).copied()
        }
    }

    fn new(def: TargetDef) -> TargetEntry {
        let scoped = def.scoped();
        let scopes: Vec<Box<str>> = def.scopes.iter().map(|s| s.as_str().into()).collect();
        // Only a target with many scopes looks them up by hash.
        let scope_index = if def.scopes.len() > TargetEntry::FEW_SCOPES {
            def.scopes
                .iter()
                .enumerate()
                .map(|(i, s)| (s.as_str().into(), u16::try_from(i).unwrap_or(u16::MAX)))
                .collect()
        } else {
            FxHashMap::default()
        };
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
                .is_some_and(|id| {
                    if clients.len() <= 8 {
                        clients.iter().any(|c| str_eq(c, id))
                    } else {
                        clients.binary_search_by(|c| (**c).cmp(id)).is_ok()
                    }
                }),
        }
    }

    /// Every way this policy could be filed: each a key and values of which the request must carry
    /// one (as a string, a list element or a string element of an array claim) for the policy to
    /// match.
    fn anchor_options<'p>(&'p self, options: &mut Vec<Anchor<'p>>) {
        static CLIENT_ID: Key = Key::ClientId;
        if let Some(clients) = &self.clients {
            options.push(Anchor {
                key: &CLIENT_ID,
                values: clients,
            });
        }
        for c in &self.conditions {
            let Operand::Values(set) = &c.operand else {
                continue;
            };
            let values = set.strings();
            // INVARIANT: a condition whose operand holds no string (a list attribute equal to the
            // empty set, say) gives no anchor.
            if values.is_empty() {
                continue;
            }
            // `each`: every value must be carried (each alone is an anchor); otherwise one of them.
            let each = match (c.key.key_type(), c.op) {
                // {a} = V and a ∈ V: the attribute is one of V's strings.
                (KeyType::String, Op::Equal | Op::In) => false,
                // Some element ∈ V: one of V's strings is an element.
                (KeyType::List, Op::In) => false,
                // Every element of V is an element (contains), or set(L) = V with V non-empty.
                (KeyType::List, Op::Contains | Op::Equal) => true,
                // A claim: a string in V, or an array with a string element in V (`in`) or with
                // every element of V (`equal`); only when V holds nothing but strings, as a
                // number in V could match without any string.
                (KeyType::Json, Op::In) if set.only_strings() => false,
                (KeyType::Json, Op::Equal) if set.only_strings() => true,
                _ => continue,
            };
            if each {
                for v in values {
                    options.push(Anchor {
                        key: &c.key,
                        values: std::slice::from_ref(v),
                    });
                }
            } else {
                options.push(Anchor {
                    key: &c.key,
                    values,
                });
            }
        }
    }

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
            None => entry
                .scopes
                .iter()
                .enumerate()
                .filter(|(i, name)| {
                    u16::try_from(*i).is_ok_and(|i| policy.gives_scope(t, i))
                        && configured(name)
                        && consents(name)
                        && !granted.iter().any(|g| **g == ***name)
                })
                .map(|(_, name)| Name::Borrowed(&**name))
                .collect(),
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
    }
}
