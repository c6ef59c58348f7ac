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
//!
//! This module holds the compiled set's layout and what its parts promise each other; [`index`]
//! builds it from a checked document (the compiled policies, the buckets, the anchors),
//! [`decide`] answers a request from it, and [`reach`] answers for every target and scope at once.

mod auth_needs;
mod decide;
mod index;
pub(crate) mod reach;
mod step_up;
pub(crate) mod summary;

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHasher};

use crate::condition::{Condition, Key, str_eq};
use crate::document::targets::TargetDef;
use crate::request::{GrantType, Request};

/// A short list kept on the stack natively; a plain `Vec` in WebAssembly, where code size counts
/// (the npm package has a size budget) and each `SmallVec` instantiation costs kilobytes.
#[cfg(not(target_family = "wasm"))]
type Small<T, const N: usize> = smallvec::SmallVec<[T; N]>;
#[cfg(target_family = "wasm")]
type Small<T, const N: usize> = Vec<T>;

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
    /// What a fresh authentication must meet for every `auth.*` condition to hold; `None` when the
    /// policy has no such condition, or one no authentication can be sure to meet.
    step_up: Option<auth_needs::Needs>,
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
    /// INVARIANT: ascending; the enforce-mode candidates with step-up needs.
    step_up: Vec<u32>,
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
    /// How many policies (enforce and dry-run) the set holds.
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    /// Whether the set holds no policy.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
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
            step_up: Vec::new(),
            buckets: Default::default(),
        }
    }
}

impl TargetEntry {
    /// The target's scopes, in its order, that `policy` gives (target index `t`), that `usable`
    /// accepts (the client's configuration, the consent) and that `granted` lacks: what a policy
    /// would add when the request named no scopes.
    fn scopes_beyond<'set>(
        &'set self,
        t: u32,
        policy: &CompiledPolicy,
        granted: &[crate::decision::Name<'_>],
        usable: impl Fn(&str) -> bool,
    ) -> Vec<crate::decision::Name<'set>> {
        self.scopes
            .iter()
            .enumerate()
            .filter(|(i, name)| {
                u16::try_from(*i).is_ok_and(|i| policy.gives_scope(t, i))
                    && usable(name)
                    && !granted.iter().any(|g| **g == ***name)
            })
            .map(|(_, name)| crate::decision::Name::Borrowed(&**name))
            .collect()
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
