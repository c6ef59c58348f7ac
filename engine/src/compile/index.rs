//! Building a [`PolicySet`] from a checked document: each policy compiled (its targets resolved to
//! indices, its scopes to positions), then filed in the buckets of the targets it names, under its
//! rarest anchor, with fingerprints of the other values it needs.

use rustc_hash::FxHashMap;

use super::auth_needs;
use super::{
    CompiledPolicy, Filed, Gives, PolicySet, TargetEntry, anchor_hash, bucket_id, bucket_of,
    fingerprint, key_seed, to_u32,
};
use crate::condition::{Key, KeyType, Op, Operand};
use crate::document::policy::{ScopeSpec, TargetKind};
use crate::document::targets::TargetDef;
use crate::document::{self, Document};
use crate::error::LoadError;
use crate::request::GrantType;

/// An anchor: a key and the values of which the request must carry one for the policy to match.
struct Anchor<'p> {
    key: &'p Key,
    values: &'p [Box<str>],
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
                step_up: auth_needs::needs(&policy.conditions),
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
                if policy.step_up.is_some() && !policy.dry_run {
                    entry.step_up.push(p);
                }
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

impl CompiledPolicy {
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
}
