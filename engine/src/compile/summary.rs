//! What a policy change does, counted: [`PolicySet::compare_summary`] answers what
//! [`PolicySet::compare_changed`] answers, grouped per grant type, client, target and scope, with
//! the users counted (and a few named) instead of listed one by one. A change to a policy that
//! applies to everyone changes millions of (client, user) combinations; listing them is the cost
//! of the comparison, and no page shows them. Here each client's users are bit sets over the
//! directory: the work grows with the clients times the policies that match them, not with the
//! clients times the users.

use std::collections::BTreeMap;

use serde::Serialize;

use super::PolicySet;
use super::reach::user_options;
use crate::request::{Client, GrantType, Target, User};

/// Users as bits: bit 0 is "no user", bit `i + 1` the directory's user `i`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(len: usize) -> Bits {
        Bits(vec![0; len.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        if let Some(w) = self.0.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }
    fn or(&mut self, other: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }
    fn ones(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(i, &w)| {
            (0..64)
                .filter(move |b| w & (1 << b) != 0)
                .map(move |b| i * 64 + b)
        })
    }
    fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }
    /// `f` word by word over `self` and the others.
    fn map(len: usize, f: impl Fn(usize) -> u64) -> Bits {
        Bits((0..len.div_ceil(64)).map(f).collect())
    }
}

/// One (grant type, client) of one set: the users it holds the scope for with certainty, and
/// under conditions; and, per changed policy, the users that policy gives it to, with its
/// conditions.
#[derive(Debug, Clone)]
struct Standing<'set> {
    certain: Bits,
    conditional: Bits,
    changed: Vec<(&'set str, Vec<&'set str>, Bits)>,
}

impl<'set> Standing<'set> {
    /// What the changed policy `id` gives here: its conditions and users.
    fn part(&self, id: &str) -> Option<(&[&'set str], &Bits)> {
        self.changed
            .iter()
            .find(|(p, _, _)| *p == id)
            .map(|(_, c, bits)| (c.as_slice(), bits))
    }
}

/// Users counted: whether a request without a user is among them, how many users, and the first
/// few by `sub`.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsersCount {
    /// A request without a user.
    pub without_user: bool,
    /// How many users.
    pub users: usize,
    /// The first of them, in directory order.
    pub examples: Vec<String>,
}

impl UsersCount {
    /// Combinations counted: the users, and the request without one.
    pub fn combinations(&self) -> usize {
        self.users + usize::from(self.without_user)
    }
}

/// What changes for one client under one grant type, on one target and scope.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryRow {
    /// The grant type.
    pub grant_type: GrantType,
    /// The client's id.
    pub client: String,
    /// The target.
    #[serde(flatten)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Object))]
    pub target: Target,
    /// The scope; absent for a scope-less connection's credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Who would obtain more (none → conditional → certain).
    pub gained: UsersCount,
    /// Who would obtain less.
    pub lost: UsersCount,
    /// Who would obtain the same by other policies or under other conditions.
    pub changed: UsersCount,
}

/// A policy change, counted. See [`PolicySet::compare_summary`].
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReachSummary {
    /// Combinations that would obtain more: [`crate::ReachDiff::gained`]'s length.
    pub gained: usize,
    /// Combinations that would obtain less.
    pub lost: usize,
    /// Combinations that would obtain the same by other means.
    pub changed: usize,
    /// Per grant type, client, target and scope with a change: by target (as asked), scope (as
    /// defined), grant type, then client in directory order.
    pub rows: Vec<SummaryRow>,
}

impl PolicySet {
    /// The standings of every (grant type, client index) on `target` and `scope` over the
    /// directory: none when the set does not define them.
    fn standings<'set>(
        &'set self,
        changed: &[&str],
        target: &Target,
        scope: Option<&str>,
        clients: &[Client],
        users: &[User],
    ) -> BTreeMap<(usize, usize), Standing<'set>> {
        let width = users.len() + 1;
        let mut out: BTreeMap<(usize, usize), Standing<'set>> = BTreeMap::new();
        let Ok(probes) = self.directory_probes(target, scope, clients, users) else {
            return out;
        };
        for policy in probes.giving(self) {
            let Some(matched) = probes.matched(policy) else {
                continue;
            };
            let mut held = Bits::new(width);
            for (u, _, _) in &matched.users {
                held.set(u.map_or(0, |i| i + 1));
            }
            let is_changed = changed.contains(&&*policy.id);
            for (g, conditions) in &matched.grants {
                // Only what requests under this grant type can carry: no user, users, or both.
                let (without, with) = user_options(*g);
                let allowed = Bits::map(width, |w| {
                    let mut mask = if with { u64::MAX } else { 0 };
                    if w == 0 {
                        mask = if without { mask | 1 } else { mask & !1 };
                    }
                    mask
                });
                let mine = Bits::map(width, |w| {
                    held.0.get(w).copied().unwrap_or(0) & allowed.0.get(w).copied().unwrap_or(0)
                });
                for (c, _, _) in &matched.clients {
                    let entry = out.entry((g.index(), *c)).or_insert_with(|| Standing {
                        certain: Bits::new(width),
                        conditional: Bits::new(width),
                        changed: Vec::new(),
                    });
                    if conditions.is_empty() {
                        entry.certain.or(&mine);
                    } else {
                        entry.conditional.or(&mine);
                    }
                    if is_changed {
                        entry
                            .changed
                            .push((&*policy.id, conditions.clone(), mine.clone()));
                    }
                }
            }
        }
        out
    }

    /// What `draft` changes against this set, counted: [`PolicySet::compare_changed`]'s answer
    /// (the same combinations, as gained, lost or changed) grouped per grant type, client,
    /// target and scope, each group's users counted with up to `examples` named. `changed` names
    /// the policies created, replaced or deleted; the sets must differ in those only.
    pub fn compare_summary(
        &self,
        draft: &PolicySet,
        changed: &[&str],
        targets: &[Target],
        clients: &[Client],
        users: &[User],
        examples: usize,
    ) -> ReachSummary {
        let (clients, users) = self.concerned(draft, changed, clients, users);
        let width = users.len() + 1;
        let mut summary = ReachSummary::default();
        for target in targets {
            for scope in self.compared_scopes(draft, target) {
                let before = self.standings(changed, target, scope, &clients, &users);
                let after = draft.standings(changed, target, scope, &clients, &users);
                let keys: std::collections::BTreeSet<(usize, usize)> =
                    before.keys().chain(after.keys()).copied().collect();
                let none = Standing {
                    certain: Bits::new(width),
                    conditional: Bits::new(width),
                    changed: Vec::new(),
                };
                for key in keys {
                    let b = before.get(&key).unwrap_or(&none);
                    let a = after.get(&key).unwrap_or(&none);
                    let word = |bits: &Bits, w: usize| bits.0.get(w).copied().unwrap_or(0);
                    // Levels per user: certain 2, conditional 1, none 0.
                    let lost = Bits::map(width, |w| {
                        let (cb, kb) = (word(&b.certain, w), word(&b.conditional, w));
                        let (ca, ka) = (word(&a.certain, w), word(&a.conditional, w));
                        (cb & !ca) | (kb & !cb & !ca & !ka)
                    });
                    let gained = Bits::map(width, |w| {
                        let (cb, kb) = (word(&b.certain, w), word(&b.conditional, w));
                        let (ca, ka) = (word(&a.certain, w), word(&a.conditional, w));
                        (ca & !cb) | (ka & !ca & !cb & !kb)
                    });
                    // Same level, other grantors: where a changed policy's part differs.
                    let mut differs = Bits::new(width);
                    for id in changed {
                        match (b.part(id), a.part(id)) {
                            (None, None) => {}
                            (Some((_, bits)), None) | (None, Some((_, bits))) => differs.or(bits),
                            (Some((cb, bb)), Some((ca, ba))) => {
                                let same_conditions = cb == ca;
                                differs.or(&Bits::map(width, |w| {
                                    let (x, y) = (word(bb, w), word(ba, w));
                                    if same_conditions { x ^ y } else { x | y }
                                }));
                            }
                        }
                    }
                    let changed_bits = Bits::map(width, |w| {
                        word(&differs, w) & !word(&lost, w) & !word(&gained, w)
                    });
                    let count = |bits: &Bits| UsersCount {
                        without_user: bits.0.first().is_some_and(|w| w & 1 != 0),
                        users: bits.count()
                            - usize::from(bits.0.first().is_some_and(|w| w & 1 != 0)),
                        examples: bits
                            .ones()
                            .filter(|&i| i > 0)
                            .take(examples)
                            .filter_map(|i| users.get(i - 1).and_then(|u| u.sub.clone()))
                            .collect(),
                    };
                    let (gained, lost, changed_count) =
                        (count(&gained), count(&lost), count(&changed_bits));
                    if gained.combinations() + lost.combinations() + changed_count.combinations()
                        == 0
                    {
                        continue;
                    }
                    summary.gained += gained.combinations();
                    summary.lost += lost.combinations();
                    summary.changed += changed_count.combinations();
                    let (g, c) = key;
                    summary.rows.push(SummaryRow {
                        grant_type: GrantType::ALL
                            .get(g)
                            .copied()
                            .unwrap_or(GrantType::ClientCredentials),
                        client: clients
                            .get(c)
                            .and_then(|c| c.client_id.clone())
                            .unwrap_or_default(),
                        target: target.clone(),
                        scope: scope.map(str::to_owned),
                        gained,
                        lost,
                        changed: changed_count,
                    });
                }
            }
        }
        summary
    }
}
