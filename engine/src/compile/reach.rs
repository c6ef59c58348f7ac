//! Reach: everything a client (with a user, or none) can obtain, and everyone who can obtain a
//! scope. The same rules as [`PolicySet::decide`], applied to every target and scope at once.
//!
//! A decision needs the whole request; reach knows only what the directory knows: the client's
//! record (`client.*`, and its configured scopes) and the user's (`user.*`). A condition on
//! what the request itself carries is decided only where the grant type settles it: a
//! `client_credentials` request carries no inbound token (`jwtClaims.*` absent), and only a token
//! exchange has an actor and a subject token (`actor.*`, `subject.*`); the address and time
//! (`request.*`), and the claims and parties where they can be present, are not decided here. A
//! policy whose other checks pass but which has such conditions is reported as *conditional*,
//! with those conditions, and grants only a request that meets them. So, for a request of that
//! client and user that a server can make under the grant type, a scope is granted by exactly the
//! policies listed `by` plus those of `conditional` whose conditions the request meets; anything
//! not listed is never granted. Asked without a user about a grant whose requests always carry
//! one (`authorization_code`, `jwt_bearer`), reach answers for any user: conditions on the user
//! become conditions listed. Consent, which narrows
//! further, and dry-run policies, which never grant, are left out.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{CompiledPolicy, PolicySet, TargetEntry};
use crate::condition::Source;
use crate::request::{Client, GrantType, Request, Target, User};

/// What a client, with a user or none, can obtain: per grant type, each target and scope and the
/// policies that give it. See [`PolicySet::reach`].
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reach<'set> {
    /// One entry per grant type asked about, in [`GrantType::ALL`] order, each listing only what
    /// can be obtained.
    pub grants: Vec<GrantReach<'set>>,
}

/// What can be obtained under one grant type.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantReach<'set> {
    /// The grant type.
    pub grant_type: GrantType,
    /// The targets with something obtainable: resources, then connections, each by id (an
    /// order that does not depend on how the document was assembled).
    pub targets: Vec<TargetReach<'set>>,
}

/// What can be obtained on one target.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetReach<'set> {
    /// The target: `{"resource": id}` or `{"connection": id}`.
    #[serde(flatten)]
    pub target: TargetName<'set>,
    /// A scoped target's obtainable scopes, in the order the target defines them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<ScopeReach<'set>>,
    /// A scope-less connection's credential: who gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<Grantors<'set>>,
}

/// A target by kind and id.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TargetName<'set> {
    /// An API or MCP server.
    Resource(&'set str),
    /// A vaulted downstream credential.
    Connection(&'set str),
}

/// One obtainable scope.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeReach<'set> {
    /// The scope.
    pub scope: &'set str,
    /// Who gives it.
    #[serde(flatten)]
    pub grantors: Grantors<'set>,
}

/// The policies that give a scope (or a credential).
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Grantors<'set> {
    /// Policies that give it whatever the request carries, by id.
    pub by: Vec<&'set str>,
    /// Policies that give it when the request meets their conditions on request data, by id.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditional: Vec<Conditional<'set>>,
}

impl Grantors<'_> {
    fn is_empty(&self) -> bool {
        self.by.is_empty() && self.conditional.is_empty()
    }

    /// Puts the policies in id order.
    fn sort(&mut self) {
        self.by.sort_unstable();
        self.conditional.sort_by(|a, b| a.policy.cmp(b.policy));
    }
}

/// A policy that gives something only to a request meeting some of its conditions.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conditional<'set> {
    /// The policy id.
    pub policy: &'set str,
    /// Its conditions on request data, as explanations name them (`condition 1: request.ip
    /// inCidr [10.0.0.0/8]`).
    pub conditions: Vec<&'set str>,
}

/// Everyone who can obtain one scope (or a scope-less connection's credential). See
/// [`PolicySet::who_can`].
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Holders<'set, 'd> {
    /// One entry per grant type, client and user (or no user) that can obtain it: by grant type
    /// ([`GrantType::ALL`] order), then client and user in directory order, no user first.
    pub holders: Vec<Holder<'set, 'd>>,
}

/// A client, with a user or none, that can obtain the scope under a grant type.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Holder<'set, 'd> {
    /// The grant type.
    pub grant_type: GrantType,
    /// The client's id.
    pub client: &'d str,
    /// The user's `sub`; absent for a request without a user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<&'d str>,
    /// Who gives it.
    #[serde(flatten)]
    pub grantors: Grantors<'set>,
}

/// Why a [`PolicySet::who_can`] question has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReachError {
    /// The document defines no such target.
    #[error("the policy document defines no {0}")]
    UnknownTarget(Target),
    /// The target defines no such scope.
    #[error("{target} defines no scope `{scope}`")]
    UnknownScope {
        /// The target.
        target: Target,
        /// The scope.
        scope: String,
    },
    /// A scope was named for a connection without scopes (its credential is granted whole).
    #[error("{0} has no scopes: ask without one")]
    ScopeLess(Target),
    /// No scope was named for a scoped target.
    #[error("{0} has scopes: name one")]
    ScopeMissing(Target),
}

/// The users a grant type's requests can carry: (without a user, with each user).
pub(super) fn user_options(g: GrantType) -> (bool, bool) {
    g.user_presence()
}

/// Which attributes reach cannot decide for a grant type: the address and time always; the
/// inbound token's claims except under `client_credentials` (no token comes in); the exchange's
/// parties only under `token_exchange`; the user's attributes when the question names no user for
/// a grant whose requests always carry one (`any_user`: the answer then holds for any user who
/// meets the listed conditions). Everything else is decided: from the directory, or absent.
fn undecided(g: GrantType, any_user: bool) -> impl Fn(Source) -> bool {
    move |source| match source {
        Source::Client => false,
        Source::User => any_user,
        Source::Claims => g != GrantType::ClientCredentials,
        Source::Exchange => g == GrantType::TokenExchange,
        Source::Context => true,
        Source::Auth => g != GrantType::ClientCredentials,
    }
}

impl CompiledPolicy {
    /// Whether the conditions on attributes `from` holds for hold on `request`.
    fn holds_where(&self, from: impl Fn(Source) -> bool, request: &Request) -> bool {
        self.conditions
            .iter()
            .filter(|c| from(c.key.source()))
            .all(|c| c.holds(request))
    }

    /// The explanations of the conditions on attributes `undecided` holds for.
    fn undecided_conditions(&self, undecided: &impl Fn(Source) -> bool) -> Vec<&str> {
        self.conditions
            .iter()
            .filter(|c| undecided(c.key.source()))
            .map(|c| &*c.failed)
            .collect()
    }
}

/// Adds `policy` to `grantors`: to `by` when no condition is left undecided, else to
/// `conditional` with those conditions.
fn give<'set>(
    grantors: &mut Grantors<'set>,
    policy: &'set CompiledPolicy,
    conditions: Vec<&'set str>,
) {
    if conditions.is_empty() {
        grantors.by.push(&policy.id);
    } else {
        grantors.conditional.push(Conditional {
            policy: &policy.id,
            conditions,
        });
    }
}

/// A request with only what the directory knows: the client and the user.
fn probe(g: GrantType, client: Option<&Client>, user: Option<&User>, target: Target) -> Request {
    Request {
        grant_type: g,
        client: client.cloned(),
        user: user.cloned(),
        claims: None,
        actor: None,
        subject: None,
        auth: None,
        target,
        requested_scopes: None,
        consented_scopes: None,
        context: None,
        explain: false,
    }
}

impl PolicySet {
    fn target_name<'set>(&self, t: u32, entry: &'set TargetEntry) -> TargetName<'set> {
        if self.resources.get(&*entry.id) == Some(&t) {
            TargetName::Resource(&entry.id)
        } else {
            TargetName::Connection(&entry.id)
        }
    }

    /// Everything `client` can obtain with `user` (or with no user), under `grant_type` or under
    /// each grant type: per target, each scope the enforce-mode policies give and the client's
    /// configuration permits, with the policies that give it (see the module documentation for
    /// what *conditional* means). Under `client_credentials` requests never carry a user, so
    /// `user` is not used there; under `token_exchange` no user means requests without one; under
    /// `authorization_code` and `jwt_bearer` no user means any user.
    pub fn reach(
        &self,
        client: &Client,
        user: Option<&User>,
        grant_type: Option<GrantType>,
    ) -> Reach<'_> {
        let grant_types: Vec<GrantType> =
            grant_type.map_or_else(|| GrantType::ALL.to_vec(), |g| vec![g]);
        let mut grants = Vec::with_capacity(grant_types.len());
        for g in grant_types {
            let user = if g == GrantType::ClientCredentials {
                None
            } else {
                user
            };
            let any_user = user.is_none() && !user_options(g).0;
            let undecided = undecided(g, any_user);
            // The target does not matter to a condition; one probe serves them all.
            let request = probe(g, Some(client), user, Target::Resource(String::new()));
            let mut targets = Vec::new();
            for (t, entry) in (0u32..).zip(&self.targets) {
                let configured = client
                    .allowed_scopes
                    .as_ref()
                    .and_then(|m| m.get(&*entry.id));
                let mut scopes: Vec<Grantors<'_>> = vec![Grantors::default(); entry.scopes.len()];
                let mut credential = Grantors::default();
                for policy in entry
                    .candidates
                    .iter()
                    .filter_map(|&p| self.policies.get(p as usize))
                {
                    // Decided conditions are read on the probe: the directory's attributes, and
                    // request data the grant type never carries (absent).
                    if policy.dry_run
                        || !policy.applies_to(g)
                        || !policy.client_ok(&request)
                        || !policy.holds_where(|source| !undecided(source), &request)
                    {
                        continue;
                    }
                    let conditions = policy.undecided_conditions(&undecided);
                    if !entry.scoped {
                        give(&mut credential, policy, conditions);
                        continue;
                    }
                    for (i, grantors) in scopes.iter_mut().enumerate() {
                        let Ok(ix) = u16::try_from(i) else { break };
                        if policy.gives_scope(t, ix) {
                            give(grantors, policy, conditions.clone());
                        }
                    }
                }
                let scopes: Vec<ScopeReach<'_>> = entry
                    .scopes
                    .iter()
                    .zip(scopes)
                    .filter(|(name, grantors)| {
                        !grantors.is_empty()
                            && configured.is_none_or(|list| list.iter().any(|s| s == &***name))
                    })
                    .map(|(name, mut grantors)| {
                        grantors.sort();
                        ScopeReach {
                            scope: name,
                            grantors,
                        }
                    })
                    .collect();
                credential.sort();
                let credential = (!credential.is_empty()).then_some(credential);
                if !scopes.is_empty() || credential.is_some() {
                    targets.push(TargetReach {
                        target: self.target_name(t, entry),
                        scopes,
                        credential,
                    });
                }
            }
            targets.sort_by(|a, b| a.target.cmp(&b.target));
            grants.push(GrantReach {
                grant_type: g,
                targets,
            });
        }
        Reach { grants }
    }

    /// Everyone in the directory (`clients`, `users`) who can obtain `scope` on `target` (no
    /// scope for a scope-less connection), under each grant type, with the policies that give it.
    /// Requests under `client_credentials` carry no user, under `authorization_code` and
    /// `jwt_bearer` always one, under `token_exchange` one or none; each combination is listed
    /// that [`PolicySet::reach`] would list the scope for. Clients without an id are skipped.
    pub fn who_can<'set, 'd>(
        &'set self,
        target: &Target,
        scope: Option<&str>,
        clients: &'d [Client],
        users: &'d [User],
    ) -> Result<Holders<'set, 'd>, ReachError> {
        let holders = self
            .holders(target, scope, clients, users)?
            .into_values()
            .collect();
        Ok(Holders { holders })
    }

    /// What [`PolicySet::who_can`] and [`PolicySet::who_can_by_policy`] read: the target, the
    /// scope, each client its configuration lets have the scope, and each user (and no user)
    /// with the probe their conditions are read on.
    pub(super) fn directory_probes<'set, 'd>(
        &'set self,
        target: &Target,
        scope: Option<&str>,
        clients: &'d [Client],
        users: &'d [User],
    ) -> Result<Probes<'set, 'd>, ReachError> {
        let found = match target {
            Target::Resource(id) => self.resources.get(id.as_str()),
            Target::Connection(id) => self.connections.get(id.as_str()),
        };
        let Some((t, entry)) =
            found.and_then(|&t| self.targets.get(t as usize).map(|entry| (t, entry)))
        else {
            return Err(ReachError::UnknownTarget(target.clone()));
        };
        let scope_ix = match (entry.scoped, scope) {
            (true, Some(name)) => {
                Some(entry.scope(name).ok_or_else(|| ReachError::UnknownScope {
                    target: target.clone(),
                    scope: name.to_owned(),
                })?)
            }
            (true, None) => return Err(ReachError::ScopeMissing(target.clone())),
            (false, Some(_)) => return Err(ReachError::ScopeLess(target.clone())),
            (false, None) => None,
        };
        let scope_name = scope_ix.and_then(|i| entry.scopes.get(i as usize));

        // Per client: whether its configuration permits the scope. Per user (and no user): the
        // probe its conditions are read on.
        let permits = |c: &Client| {
            scope_name.is_none_or(|name| {
                c.allowed_scopes
                    .as_ref()
                    .and_then(|m| m.get(&*entry.id))
                    .is_none_or(|list| list.iter().any(|s| s == &**name))
            })
        };
        let clients: Vec<(usize, &'d str, Request)> = clients
            .iter()
            .enumerate()
            .filter(|(_, c)| permits(c))
            .filter_map(|(i, c)| {
                let id = c.client_id.as_deref()?;
                Some((
                    i,
                    id,
                    probe(GrantType::ClientCredentials, Some(c), None, target.clone()),
                ))
            })
            .collect();
        let mut users_probed: Vec<(Option<usize>, Option<&'d str>, Request)> =
            Vec::with_capacity(users.len() + 1);
        users_probed.push((
            None,
            None,
            probe(GrantType::ClientCredentials, None, None, target.clone()),
        ));
        for (i, u) in users.iter().enumerate() {
            if let Some(sub) = u.sub.as_deref() {
                users_probed.push((
                    Some(i),
                    Some(sub),
                    probe(GrantType::ClientCredentials, None, Some(u), target.clone()),
                ));
            }
        }
        Ok(Probes {
            t,
            entry,
            scope_ix,
            clients,
            users: users_probed,
            empty: probe(GrantType::ClientCredentials, None, None, target.clone()),
        })
    }

    /// [`PolicySet::who_can`]'s holders by (grant type, client index, user index), each holder's
    /// policies in id order.
    fn holders<'set, 'd>(
        &'set self,
        target: &Target,
        scope: Option<&str>,
        clients: &'d [Client],
        users: &'d [User],
    ) -> Result<HolderMap<'set, 'd>, ReachError> {
        let probes = self.directory_probes(target, scope, clients, users)?;
        // (grant type, client index, user index) → who gives it. Conditions on the client and
        // on the user are separate: a policy's client part and user part are each read once.
        let mut found: HolderMap<'set, 'd> = BTreeMap::new();
        for policy in probes.giving(self) {
            let Some(matched) = probes.matched(policy) else {
                continue;
            };
            for (g, conditions) in &matched.grants {
                let (without, with) = user_options(*g);
                for &&(c, client_id, _) in &matched.clients {
                    for &&(u, sub, _) in &matched.users {
                        if (u.is_none() && !without) || (u.is_some() && !with) {
                            continue;
                        }
                        let holder = found.entry((g.index(), c, u)).or_insert_with(|| Holder {
                            grant_type: *g,
                            client: client_id,
                            user: sub,
                            grantors: Grantors::default(),
                        });
                        give(&mut holder.grantors, policy, conditions.clone());
                    }
                }
            }
        }
        for holder in found.values_mut() {
            holder.grantors.sort();
        }
        Ok(found)
    }

    /// Who can obtain `scope` on `target`, policy by policy: for each enforce-mode policy that
    /// gives it to someone in the directory, the grant types it gives it under (with the
    /// conditions on request data each leaves to the request), the clients it gives it to, and the
    /// users (for grant types whose requests carry one) and whether requests without a user
    /// qualify. The same answer as [`PolicySet::who_can`], factored: a combination holds the
    /// scope when some policy lists its grant type, its client, and its user (or, without a user,
    /// `withoutUser`, under a grant type whose requests may carry none). Its size grows with
    /// clients plus users, not with their product, so it answers for a large directory where the
    /// expanded list would not fit a page. Policies in id order; clients and users in directory
    /// order.
    pub fn who_can_by_policy<'set, 'd>(
        &'set self,
        target: &Target,
        scope: Option<&str>,
        clients: &'d [Client],
        users: &'d [User],
    ) -> Result<Vec<PolicyHolders<'set, 'd>>, ReachError> {
        let probes = self.directory_probes(target, scope, clients, users)?;
        let mut out = Vec::new();
        for policy in probes.giving(self) {
            let Some(matched) = probes.matched(policy) else {
                continue;
            };
            let with_user = matched.grants.iter().any(|(g, _)| user_options(*g).1);
            let without_user = matched.grants.iter().any(|(g, _)| user_options(*g).0)
                && matched.users.iter().any(|(u, _, _)| u.is_none());
            out.push(PolicyHolders {
                policy: &policy.id,
                grants: matched
                    .grants
                    .into_iter()
                    .map(|(grant_type, conditions)| PolicyGrant {
                        grant_type,
                        conditions,
                    })
                    .collect(),
                clients: matched.clients.iter().map(|(_, id, _)| *id).collect(),
                users: if with_user {
                    matched
                        .users
                        .iter()
                        .filter_map(|(_, sub, _)| *sub)
                        .collect()
                } else {
                    Vec::new()
                },
                without_user,
            });
        }
        out.sort_by(|a, b| a.policy.cmp(b.policy));
        Ok(out)
    }
}

/// The directory as [`PolicySet::who_can`] reads it for one target and scope.
pub(super) struct Probes<'set, 'd> {
    t: u32,
    entry: &'set TargetEntry,
    scope_ix: Option<u16>,
    /// (index, id, probe) of each client whose configuration permits the scope.
    clients: Vec<(usize, &'d str, Request)>,
    /// (index, sub, probe) of no user, then of each user.
    users: Vec<(Option<usize>, Option<&'d str>, Request)>,
    /// A request carrying nothing: request data a grant type never carries is read on it.
    empty: Request,
}

/// Who one policy gives the scope to, under which grant types.
pub(super) struct Matched<'p, 'set, 'd> {
    /// Each grant type it gives it under, with the conditions it leaves to the request.
    pub(super) grants: Vec<(GrantType, Vec<&'set str>)>,
    pub(super) clients: Vec<&'p (usize, &'d str, Request)>,
    pub(super) users: Vec<&'p (Option<usize>, Option<&'d str>, Request)>,
}

impl<'set, 'd> Probes<'set, 'd> {
    /// The enforce-mode candidate policies of the target that give the scope.
    pub(super) fn giving<'s>(
        &'s self,
        set: &'set PolicySet,
    ) -> impl Iterator<Item = &'set CompiledPolicy> + 's
    where
        'set: 's,
    {
        self.entry
            .candidates
            .iter()
            .filter_map(|&p| set.policies.get(p as usize))
            .filter(|policy| {
                let gives = match self.scope_ix {
                    Some(i) => policy.gives_scope(self.t, i),
                    None => policy.gives(self.t).is_some(),
                };
                !policy.dry_run && gives
            })
    }

    /// Whom `policy` gives the scope to: none when no client or no grant type qualifies.
    pub(super) fn matched<'p>(
        &'p self,
        policy: &'set CompiledPolicy,
    ) -> Option<Matched<'p, 'set, 'd>> {
        let clients: Vec<&(usize, &'d str, Request)> = self
            .clients
            .iter()
            .filter(|(_, _, r)| {
                policy.client_ok(r) && policy.holds_where(|s| s == Source::Client, r)
            })
            .collect();
        if clients.is_empty() {
            return None;
        }
        let users: Vec<&(Option<usize>, Option<&'d str>, Request)> = self
            .users
            .iter()
            .filter(|(_, _, r)| policy.holds_where(|s| s == Source::User, r))
            .collect();
        let mut grants = Vec::new();
        for g in GrantType::ALL {
            if !policy.applies_to(g) {
                continue;
            }
            // Request data this grant type never carries is absent: read on an empty probe.
            let undecided = undecided(g, false);
            let absent = |s: Source| !matches!(s, Source::Client | Source::User) && !undecided(s);
            if !policy.holds_where(absent, &self.empty) {
                continue;
            }
            let (without, with) = user_options(g);
            let anyone = users
                .iter()
                .any(|(u, _, _)| (u.is_none() && without) || (u.is_some() && with));
            if anyone {
                grants.push((g, policy.undecided_conditions(&undecided)));
            }
        }
        (!grants.is_empty()).then_some(Matched {
            grants,
            clients,
            users,
        })
    }
}

/// One policy's holders of a scope. See [`PolicySet::who_can_by_policy`].
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyHolders<'set, 'd> {
    /// The policy's id.
    pub policy: &'set str,
    /// The grant types it gives the scope under, in [`GrantType::ALL`] order.
    pub grants: Vec<PolicyGrant<'set>>,
    /// The clients it gives it to, by id.
    pub clients: Vec<&'d str>,
    /// The users it gives it to (under the grant types whose requests carry one), by `sub`.
    pub users: Vec<&'d str>,
    /// Whether it gives it to requests without a user (under the grant types that allow none).
    pub without_user: bool,
}

/// A grant type a policy gives a scope under, with the conditions it leaves to the request.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyGrant<'set> {
    /// The grant type.
    pub grant_type: GrantType,
    /// Its conditions on request data a request must meet (empty: none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<&'set str>,
}

/// Holders by (grant type index, client index, user index; no user first).
type HolderMap<'set, 'd> = BTreeMap<(usize, usize, Option<usize>), Holder<'set, 'd>>;

/// How a (grant type, client, user) stands towards a scope in a policy set.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// It cannot obtain the scope.
    None,
    /// It obtains the scope when the request meets some policy's conditions on request data.
    Conditional,
    /// It obtains the scope whatever the request carries.
    Certain,
}

/// A (grant type, client, user, target, scope) that stands differently in two policy sets. See
/// [`PolicySet::compare`].
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReachChange {
    /// The grant type.
    pub grant_type: GrantType,
    /// The client's id.
    pub client: String,
    /// The user's `sub`; absent for requests without a user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The target: `{"resource": id}` or `{"connection": id}`.
    #[serde(flatten)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Object))]
    pub target: Target,
    /// The scope; absent for a scope-less connection's credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// How it stands in the first set.
    pub before: Standing,
    /// How it stands in the second.
    pub after: Standing,
    /// The policies that give it in the second set (for a gain or a change) or in the first (for
    /// a loss), by id.
    pub by: Vec<String>,
    /// Policies that give it only to requests meeting the conditions listed, by id.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditional: Vec<ConditionalGrant>,
}

/// A policy that gives something only to requests meeting the conditions listed (an owned
/// [`Conditional`]).
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionalGrant {
    /// The policy id.
    pub policy: String,
    /// Its conditions that a request must meet.
    pub conditions: Vec<String>,
}

/// How a holder (or no holder) stands.
fn standing(holder: Option<&Holder<'_, '_>>) -> Standing {
    match holder {
        None => Standing::None,
        Some(h) if h.grantors.by.is_empty() => Standing::Conditional,
        Some(_) => Standing::Certain,
    }
}

/// Whether two holders have the same policies under the same conditions.
fn same_grantors(a: Option<&Holder<'_, '_>>, b: Option<&Holder<'_, '_>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.grantors.by == b.grantors.by
                && a.grantors.conditional.len() == b.grantors.conditional.len()
                && a.grantors
                    .conditional
                    .iter()
                    .zip(&b.grantors.conditional)
                    .all(|(x, y)| x.policy == y.policy && x.conditions == y.conditions)
        }
        _ => false,
    }
}

/// What changes between two policy sets over a directory. See [`PolicySet::compare`].
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReachDiff {
    /// What stands better in the second set (none → conditional → certain).
    pub gained: Vec<ReachChange>,
    /// What stands worse.
    pub lost: Vec<ReachChange>,
    /// What stands the same but by other policies or under other conditions (a conditional
    /// grant whose address range or time window changed, say).
    pub changed: Vec<ReachChange>,
}

impl PolicySet {
    /// The scopes of `target` (an empty list for a scope-less connection), or `None` when the set
    /// does not define it.
    fn scopes_of(&self, target: &Target) -> Option<(bool, Vec<&str>)> {
        let found = match target {
            Target::Resource(id) => self.resources.get(id.as_str()),
            Target::Connection(id) => self.connections.get(id.as_str()),
        }?;
        let entry = self.targets.get(*found as usize)?;
        Some((entry.scoped, entry.scopes.iter().map(|s| &**s).collect()))
    }

    /// The scopes a comparison of this set with `draft` goes through on `target`: those either
    /// set defines (a target or scope only one defines is obtainable by nobody in the other), or
    /// `[None]` for a scope-less connection.
    pub(super) fn compared_scopes<'a>(
        &'a self,
        draft: &'a PolicySet,
        target: &Target,
    ) -> Vec<Option<&'a str>> {
        let (before_def, after_def) = (self.scopes_of(target), draft.scopes_of(target));
        let scoped = before_def
            .as_ref()
            .or(after_def.as_ref())
            .is_some_and(|(scoped, _)| *scoped);
        if !scoped {
            return vec![None];
        }
        let mut scopes: Vec<Option<&str>> = Vec::new();
        for (_, list) in [before_def, after_def].into_iter().flatten() {
            for s in list {
                if !scopes.contains(&Some(s)) {
                    scopes.push(Some(s));
                }
            }
        }
        scopes
    }

    /// The policy named `id`.
    fn policy_named(&self, id: &str) -> Option<&CompiledPolicy> {
        self.policies.iter().find(|p| &*p.id == id)
    }

    /// [`PolicySet::compare`] when the caller knows which policies differ between the two sets
    /// (`changed`: the ids of the policies created, replaced or deleted). Only the clients and
    /// users that one of those policies, in either set, can match are compared: any other
    /// combination is given by the same policies in both sets and cannot differ. The answer is
    /// [`PolicySet::compare`]'s over the whole directory, in a fraction of the time when the
    /// changed policies name their clients or condition on their users.
    pub fn compare_changed(
        &self,
        draft: &PolicySet,
        changed: &[&str],
        targets: &[Target],
        clients: &[Client],
        users: &[User],
    ) -> ReachDiff {
        let (clients, users) = self.concerned(draft, changed, clients, users);
        self.compare(draft, targets, &clients, &users)
    }

    /// The clients and users that one of the `changed` policies, in this set or in `draft`, can
    /// match (its client part, its user part): the only ones whose reach can differ.
    pub(super) fn concerned(
        &self,
        draft: &PolicySet,
        changed: &[&str],
        clients: &[Client],
        users: &[User],
    ) -> (Vec<Client>, Vec<User>) {
        let versions: Vec<&CompiledPolicy> = changed
            .iter()
            .flat_map(|id| [self.policy_named(id), draft.policy_named(id)])
            .flatten()
            .collect();
        let empty = Target::Resource(String::new());
        let clients: Vec<Client> = clients
            .iter()
            .filter(|c| {
                let probe = probe(GrantType::ClientCredentials, Some(c), None, empty.clone());
                versions
                    .iter()
                    .any(|p| p.client_ok(&probe) && p.holds_where(|s| s == Source::Client, &probe))
            })
            .cloned()
            .collect();
        let users: Vec<User> = users
            .iter()
            .filter(|u| {
                let probe = probe(GrantType::ClientCredentials, None, Some(u), empty.clone());
                versions
                    .iter()
                    .any(|p| p.holds_where(|s| s == Source::User, &probe))
            })
            .cloned()
            .collect();
        (clients, users)
    }

    /// What `draft` changes against this set over a directory, on each of `targets`: every
    /// (grant type, client, user, scope) of [`PolicySet::who_can`] that stands differently, as
    /// gained or lost, or that stands the same by other policies or conditions, as changed. A target or scope only one of the sets defines counts as obtainable by
    /// nobody in the other. Pass the targets the change can touch (those the changed policies
    /// name, before and after); the rest cannot differ.
    pub fn compare(
        &self,
        draft: &PolicySet,
        targets: &[Target],
        clients: &[Client],
        users: &[User],
    ) -> ReachDiff {
        let mut diff = ReachDiff::default();
        for target in targets {
            for scope in self.compared_scopes(draft, target) {
                // Compared in place: only a combination that differs is copied out.
                // A target or scope one set does not define: nobody holds it there.
                let before = self
                    .holders(target, scope, clients, users)
                    .unwrap_or_default();
                let after = draft
                    .holders(target, scope, clients, users)
                    .unwrap_or_default();
                let keys: std::collections::BTreeSet<_> =
                    before.keys().chain(after.keys()).copied().collect();
                for key in keys {
                    let (b, a) = (before.get(&key), after.get(&key));
                    let (sb, sa) = (standing(b), standing(a));
                    if sb == sa && same_grantors(b, a) {
                        continue;
                    }
                    let Some(holder) = a.or(b) else { continue };
                    let from = if sa >= sb { a } else { b };
                    let change = ReachChange {
                        grant_type: holder.grant_type,
                        client: holder.client.to_owned(),
                        user: holder.user.map(str::to_owned),
                        target: target.clone(),
                        scope: scope.map(str::to_owned),
                        before: sb,
                        after: sa,
                        by: from
                            .map(|h| h.grantors.by.iter().map(|p| (*p).to_owned()).collect())
                            .unwrap_or_default(),
                        conditional: from
                            .map(|h| {
                                h.grantors
                                    .conditional
                                    .iter()
                                    .map(|c| ConditionalGrant {
                                        policy: c.policy.to_owned(),
                                        conditions: c
                                            .conditions
                                            .iter()
                                            .map(|t| (*t).to_owned())
                                            .collect(),
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    };
                    match sa.cmp(&sb) {
                        std::cmp::Ordering::Greater => diff.gained.push(change),
                        std::cmp::Ordering::Less => diff.lost.push(change),
                        std::cmp::Ordering::Equal => diff.changed.push(change),
                    }
                }
            }
        }
        diff
    }
}
