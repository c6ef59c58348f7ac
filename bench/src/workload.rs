//! The generated workload: resources, policies and requests, in a neutral form that each engine's
//! translation reads, plus a deliberately naive evaluator of it (used to steer the request mix and
//! to test the translations without the engine).

use std::collections::{BTreeMap, BTreeSet};

use crate::rng::Rng;

/// A grant type, by its policy-document name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GrantType {
    /// `client_credentials`.
    ClientCredentials,
    /// `authorization_code`.
    AuthorizationCode,
    /// `token_exchange`.
    TokenExchange,
    /// `jwt_bearer`.
    JwtBearer,
}

impl GrantType {
    /// Every grant type.
    pub const ALL: [GrantType; 4] = [
        GrantType::ClientCredentials,
        GrantType::AuthorizationCode,
        GrantType::TokenExchange,
        GrantType::JwtBearer,
    ];

    /// The policy-document and request name.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::ClientCredentials => "client_credentials",
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::TokenExchange => "token_exchange",
            GrantType::JwtBearer => "jwt_bearer",
        }
    }
}

/// The share of requests that should be permitted.
pub const PERMITTED_TARGET: f64 = 0.25;

/// A resource: an API or MCP server with the scopes it defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// Its id (`res-0007`).
    pub id: String,
    /// The scopes it defines (3–8).
    pub scopes: Vec<String>,
}

/// An attribute a condition reads (only keys whose operators all three engines express exactly).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Attr {
    /// `user.roles` (list).
    UserRoles,
    /// `user.tenantIds` (list).
    UserTenantIds,
    /// `user.permissions` (list).
    UserPermissions,
    /// `client.tags` (list).
    ClientTags,
    /// `client.name` (string).
    ClientName,
    /// `client.status` (string).
    ClientStatus,
    /// `client.registrationType` (string).
    ClientRegistrationType,
    /// `jwtClaims.<name>` (a string claim in every generated request).
    Claim(String),
}

impl Attr {
    /// The Tollgate condition key.
    pub fn key(&self) -> String {
        match self {
            Attr::UserRoles => "user.roles".into(),
            Attr::UserTenantIds => "user.tenantIds".into(),
            Attr::UserPermissions => "user.permissions".into(),
            Attr::ClientTags => "client.tags".into(),
            Attr::ClientName => "client.name".into(),
            Attr::ClientStatus => "client.status".into(),
            Attr::ClientRegistrationType => "client.registrationType".into(),
            Attr::Claim(name) => format!("jwtClaims.{name}"),
        }
    }
}

/// A condition's operator and operand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// List attribute: the value is an element.
    Contains(String),
    /// List attribute: some element is one of the values; string attribute: it is one of them.
    In(Vec<String>),
    /// String attribute: equals the value.
    Equal(String),
}

/// One condition of a policy's subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// What it reads.
    pub attr: Attr,
    /// How it compares.
    pub op: Op,
}

/// A generated policy: one target, 1–3 scopes, 1–2 grant types, 1–3 conditions, maybe clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Its id (`p-000042`).
    pub id: String,
    /// `subject.clients`, when pinned.
    pub clients: Option<Vec<String>>,
    /// `subject.conditions`.
    pub conditions: Vec<Condition>,
    /// `grantTypes`.
    pub grant_types: Vec<GrantType>,
    /// Index into [`Workload::resources`].
    pub target: usize,
    /// The scopes it gives on that target.
    pub scopes: Vec<String>,
}

/// The user part of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserAttrs {
    /// `user.sub`.
    pub sub: String,
    /// `user.roles`.
    pub roles: Option<Vec<String>>,
    /// `user.tenantIds`.
    pub tenant_ids: Option<Vec<String>>,
    /// `user.permissions`.
    pub permissions: Option<Vec<String>>,
}

/// A generated request, engine-neutral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Req {
    /// The grant type.
    pub grant: GrantType,
    /// `client.clientid` (always present).
    pub client_id: String,
    /// `client.name`.
    pub client_name: Option<String>,
    /// `client.status`.
    pub client_status: Option<String>,
    /// `client.registrationType`.
    pub registration_type: Option<String>,
    /// `client.tags`.
    pub client_tags: Option<Vec<String>>,
    /// The user, absent for most `client_credentials` requests.
    pub user: Option<UserAttrs>,
    /// String claims of the inbound JWT.
    pub claims: Option<BTreeMap<String, String>>,
    /// Index into [`Workload::resources`].
    pub target: usize,
    /// `requestedScopes` (absent = everything allowed).
    pub requested: Option<Vec<String>>,
}

/// A non-empty list of names to draw from.
#[derive(Debug, Clone)]
struct Vocab(Vec<String>);

impl Vocab {
    fn named(fixed: &[&str], prefix: &str, size: usize) -> Vocab {
        let size = size.max(1);
        let mut names: Vec<String> = fixed.iter().take(size).map(|s| (*s).to_owned()).collect();
        let mut i = 0;
        while names.len() < size {
            names.push(format!("{prefix}{i}"));
            i += 1;
        }
        Vocab(names)
    }

    fn pick(&self, rng: &mut Rng) -> String {
        pick(rng, &self.0)
    }

    fn pick_some(&self, rng: &mut Rng, k: usize) -> Vec<String> {
        pick_some(rng, &self.0, k)
    }
}

/// One element of a non-empty slice (the default value for an empty one).
fn pick<T: Clone + Default>(rng: &mut Rng, items: &[T]) -> T {
    items
        .get(rng.below(items.len()))
        .cloned()
        .unwrap_or_default()
}

/// `k` distinct elements of a slice, in random order.
fn pick_some<T: Clone + Into<String>>(rng: &mut Rng, items: &[T], k: usize) -> Vec<String> {
    rng.distinct(items.len(), k)
        .into_iter()
        .filter_map(|i| items.get(i).cloned().map(Into::into))
        .collect()
}

fn grant_type(rng: &mut Rng) -> GrantType {
    GrantType::ALL
        .get(rng.below(GrantType::ALL.len()))
        .copied()
        .unwrap_or(GrantType::AuthorizationCode)
}

/// The vocabularies policies and requests draw from. Their sizes grow with N, so a larger policy
/// set is also a more varied one, as in a real deployment with more teams, tenants and clients.
#[derive(Debug, Clone)]
struct Vocabulary {
    clients: Vocab,
    names: Vocab,
    statuses: Vocab,
    registration_types: Vocab,
    roles: Vocab,
    tenants: Vocab,
    permissions: Vocab,
    tags: Vocab,
    claim_names: Vocab,
    claim_values: Vocab,
}

const VERBS: [&str; 8] = [
    "read", "write", "admin", "delete", "list", "export", "import", "execute",
];

impl Vocabulary {
    fn for_size(n: usize) -> Vocabulary {
        Vocabulary {
            clients: Vocab::named(&[], "client-", (n / 20).max(20)),
            names: Vocab::named(&[], "App ", (n / 50).max(40)),
            statuses: Vocab::named(&["verified", "unverified"], "", 2),
            registration_types: Vocab::named(&["static", "dcr", "cimd"], "", 3),
            roles: Vocab::named(
                &[
                    "admin",
                    "SRE",
                    "analyst",
                    "developer",
                    "auditor",
                    "support",
                    "billing",
                    "security",
                    "viewer",
                    "editor",
                    "owner",
                    "oncall",
                ],
                "role-",
                (n / 100).max(40),
            ),
            tenants: Vocab::named(&[], "tenant_", (n / 100).max(40)),
            permissions: Vocab::named(&[], "perm:", (n / 50).max(60)),
            tags: Vocab::named(
                &[
                    "internal", "external", "partner", "agent", "mcp", "beta", "trusted", "legacy",
                    "batch", "mobile", "web", "cli",
                ],
                "tag-",
                (n / 200).max(30),
            ),
            claim_names: Vocab::named(&["dept", "org", "tier", "region", "team"], "c", 5),
            claim_values: Vocab::named(&[], "v", (n / 500).max(10)),
        }
    }

    /// The values an attribute takes.
    fn values(&self, attr: &Attr) -> &Vocab {
        match attr {
            Attr::UserRoles => &self.roles,
            Attr::UserTenantIds => &self.tenants,
            Attr::UserPermissions => &self.permissions,
            Attr::ClientTags => &self.tags,
            Attr::ClientName => &self.names,
            Attr::ClientStatus => &self.statuses,
            Attr::ClientRegistrationType => &self.registration_types,
            Attr::Claim(_) => &self.claim_values,
        }
    }

    /// An attribute for a condition, by rough real-world frequency.
    fn attr(&self, rng: &mut Rng) -> Attr {
        match rng.below(100) {
            0..25 => Attr::UserRoles,
            25..40 => Attr::UserTenantIds,
            40..55 => Attr::UserPermissions,
            55..65 => Attr::ClientTags,
            65..70 => Attr::ClientName,
            70..80 => Attr::ClientStatus,
            80..90 => Attr::ClientRegistrationType,
            _ => Attr::Claim(self.claim_names.pick(rng)),
        }
    }

    fn condition(&self, rng: &mut Rng, attr: Attr) -> Condition {
        let values = self.values(&attr);
        let op = match attr {
            Attr::UserRoles | Attr::UserTenantIds | Attr::UserPermissions => {
                if rng.chance(0.7) {
                    Op::Contains(values.pick(rng))
                } else {
                    let k = rng.range(2, 3);
                    Op::In(values.pick_some(rng, k))
                }
            }
            Attr::ClientTags => Op::Contains(values.pick(rng)),
            Attr::ClientStatus | Attr::Claim(_) => Op::Equal(values.pick(rng)),
            Attr::ClientName | Attr::ClientRegistrationType => {
                if rng.chance(0.6) {
                    Op::Equal(values.pick(rng))
                } else {
                    // Two or three names, but never all of them (that would be `exists`).
                    let k = rng.range(2, 3).min(values.0.len().saturating_sub(1));
                    Op::In(values.pick_some(rng, k))
                }
            }
        };
        Condition { attr, op }
    }

    fn user(&self, rng: &mut Rng) -> UserAttrs {
        UserAttrs {
            sub: format!("u-{}", rng.below(1_000_000)),
            roles: (!rng.chance(0.05)).then(|| {
                let k = rng.range(1, 3);
                self.roles.pick_some(rng, k)
            }),
            tenant_ids: Some({
                let k = rng.range(1, 2);
                self.tenants.pick_some(rng, k)
            }),
            permissions: (!rng.chance(0.1)).then(|| {
                let k = rng.range(0, 4);
                self.permissions.pick_some(rng, k)
            }),
        }
    }
}

/// A generated policy set with its request stream.
#[derive(Debug, Clone)]
pub struct Workload {
    /// The number of policies.
    pub n: usize,
    /// `max(4, N/100)` resources.
    pub resources: Vec<Resource>,
    /// The policies, in document order.
    pub policies: Vec<Policy>,
    /// Policy indexes per resource index, in document order.
    pub by_target: Vec<Vec<usize>>,
    vocab: Vocabulary,
}

impl Workload {
    /// Generates `n` policies from `seed`, over `n / 100` resources (at least 4).
    pub fn generate(n: usize, seed: u64) -> Workload {
        Workload::generate_over(n, (n / 100).max(4), seed)
    }

    /// Generates `n` policies from `seed` over `targets` resources.
    pub fn generate_over(n: usize, targets: usize, seed: u64) -> Workload {
        let mut rng = Rng::new(seed);
        let vocab = Vocabulary::for_size(n);
        let resources: Vec<Resource> = (0..targets.max(1))
            .map(|i| {
                let k = rng.range(3, 8);
                Resource {
                    id: format!("res-{i:04}"),
                    scopes: pick_some(&mut rng, &VERBS, k)
                        .into_iter()
                        .map(|verb| format!("res-{i:04}:{verb}"))
                        .collect(),
                }
            })
            .collect();
        let mut policies = Vec::with_capacity(n);
        let mut by_target = vec![Vec::new(); resources.len()];
        for i in 0..n {
            let target = rng.below(resources.len());
            let defined = resources
                .get(target)
                .map(|r| r.scopes.as_slice())
                .unwrap_or(&[]);
            let k = rng.range(1, 3);
            let scopes = pick_some(&mut rng, defined, k);
            let k = rng.range(1, 2);
            let grant_types = rng
                .distinct(GrantType::ALL.len(), k)
                .into_iter()
                .filter_map(|g| GrantType::ALL.get(g).copied())
                .collect();
            let clients = rng.chance(1.0 / 3.0).then(|| {
                let k = rng.range(1, 2);
                vocab.clients.pick_some(&mut rng, k)
            });
            let mut conditions: Vec<Condition> = Vec::new();
            let wanted = rng.range(1, 3);
            while conditions.len() < wanted {
                let attr = vocab.attr(&mut rng);
                // Client status and registration type split clients in two or three: real
                // policies use them to narrow another condition, not alone.
                let weak = matches!(attr, Attr::ClientStatus | Attr::ClientRegistrationType);
                if !(weak && conditions.is_empty()) && conditions.iter().all(|c| c.attr != attr) {
                    conditions.push(vocab.condition(&mut rng, attr));
                }
            }
            if let Some(list) = by_target.get_mut(target) {
                list.push(i);
            }
            policies.push(Policy {
                id: format!("p-{i:06}"),
                clients,
                conditions,
                grant_types,
                target,
                scopes,
            });
        }
        Workload {
            n,
            resources,
            policies,
            by_target,
            vocab,
        }
    }

    /// `count` requests from `seed`. While the permitted share so far is below
    /// [`PERMITTED_TARGET`], the next request is aimed at one policy of its target (built to
    /// satisfy it); otherwise it is drawn at random from the vocabularies, re-drawn while it would
    /// be permitted. So the share stays near the target at every N.
    pub fn requests(&self, seed: u64, count: usize) -> Vec<Req> {
        let mut rng = Rng::new(seed);
        let mut out = Vec::with_capacity(count);
        let mut permitted = 0usize;
        for i in 0..count {
            let target = rng.below(self.resources.len());
            let behind = (permitted as f64) < PERMITTED_TARGET * (i + 1) as f64;
            let policy = self
                .by_target
                .get(target)
                .filter(|_| behind)
                .and_then(|list| list.get(rng.below(list.len())))
                .and_then(|&p| self.policies.get(p));
            let request = match policy {
                Some(policy) => self.aimed_request(&mut rng, policy),
                None => {
                    // Ahead of the target share: a random request that is refused (a large set
                    // permits many random requests by chance), within a bounded number of draws.
                    let mut request = self.random_request(&mut rng, target);
                    for _ in 0..100 {
                        if behind || self.granted(&request).is_empty() {
                            break;
                        }
                        request = self.random_request(&mut rng, target);
                    }
                    request
                }
            };
            if !self.granted(&request).is_empty() {
                permitted += 1;
            }
            out.push(request);
        }
        out
    }

    /// The share of purely random requests (no aiming, no re-drawing) that would be permitted:
    /// how often the policy set grants by chance, reported next to the steered share.
    pub fn random_permitted_share(&self, seed: u64, count: usize) -> f64 {
        let mut rng = Rng::new(seed);
        let permitted = (0..count)
            .filter(|_| {
                let target = rng.below(self.resources.len());
                !self
                    .granted(&self.random_request(&mut rng, target))
                    .is_empty()
            })
            .count();
        permitted as f64 / count.max(1) as f64
    }

    fn random_request(&self, rng: &mut Rng, target: usize) -> Req {
        let v = &self.vocab;
        let grant = grant_type(rng);
        let user = if grant == GrantType::ClientCredentials {
            None
        } else {
            (!rng.chance(0.05)).then(|| v.user(rng))
        };
        let claims = user.as_ref().map(|_| {
            let mut claims = BTreeMap::new();
            for name in &v.claim_names.0 {
                if rng.chance(0.5) {
                    claims.insert(name.clone(), v.claim_values.pick(rng));
                }
            }
            claims
        });
        let defined = self
            .resources
            .get(target)
            .map(|r| r.scopes.as_slice())
            .unwrap_or(&[]);
        Req {
            grant,
            client_id: v.clients.pick(rng),
            client_name: (!rng.chance(0.05)).then(|| v.names.pick(rng)),
            client_status: Some(
                if rng.chance(0.7) {
                    "verified"
                } else {
                    "unverified"
                }
                .into(),
            ),
            registration_type: Some(
                match rng.below(10) {
                    0..5 => "static",
                    5..8 => "dcr",
                    _ => "cimd",
                }
                .into(),
            ),
            client_tags: (!rng.chance(0.2)).then(|| {
                let k = rng.range(0, 3);
                v.tags.pick_some(rng, k)
            }),
            user,
            claims,
            target,
            requested: (!rng.chance(0.1)).then(|| {
                let k = rng.range(1, 3);
                pick_some(rng, defined, k)
            }),
        }
    }

    fn aimed_request(&self, rng: &mut Rng, policy: &Policy) -> Req {
        let mut r = self.random_request(rng, policy.target);
        let needs_user = policy.conditions.iter().any(|c| {
            matches!(
                c.attr,
                Attr::UserRoles | Attr::UserTenantIds | Attr::UserPermissions
            )
        });
        let with_user: Vec<GrantType> = policy
            .grant_types
            .iter()
            .copied()
            .filter(|g| !needs_user || *g != GrantType::ClientCredentials)
            .collect();
        r.grant = if with_user.is_empty() {
            pick_grant(rng, &policy.grant_types)
        } else {
            pick_grant(rng, &with_user)
        };
        if needs_user && r.user.is_none() {
            r.user = Some(self.vocab.user(rng));
        }
        if let Some(clients) = &policy.clients {
            r.client_id = pick(rng, clients);
        }
        for c in &policy.conditions {
            let value = match &c.op {
                Op::Contains(v) | Op::Equal(v) => v.clone(),
                Op::In(vs) => pick(rng, vs),
            };
            match &c.attr {
                Attr::UserRoles | Attr::UserTenantIds | Attr::UserPermissions => {
                    let user = r.user.get_or_insert_with(UserAttrs::default);
                    let list = match c.attr {
                        Attr::UserRoles => &mut user.roles,
                        Attr::UserTenantIds => &mut user.tenant_ids,
                        _ => &mut user.permissions,
                    };
                    let list = list.get_or_insert_with(Vec::new);
                    if !list.contains(&value) {
                        list.push(value);
                    }
                }
                Attr::ClientTags => {
                    let list = r.client_tags.get_or_insert_with(Vec::new);
                    if !list.contains(&value) {
                        list.push(value);
                    }
                }
                Attr::ClientName => r.client_name = Some(value),
                Attr::ClientStatus => r.client_status = Some(value),
                Attr::ClientRegistrationType => r.registration_type = Some(value),
                Attr::Claim(name) => {
                    r.claims
                        .get_or_insert_with(BTreeMap::new)
                        .insert(name.clone(), value);
                }
            }
        }
        if let Some(requested) = &mut r.requested {
            let wanted = pick(rng, &policy.scopes);
            if !requested.contains(&wanted) {
                let at = rng.below(requested.len() + 1);
                requested.insert(at.min(requested.len()), wanted);
            }
        }
        r
    }

    /// The granted scopes by the semantics of the engine README, evaluated naively. All generated
    /// targets are resources and no request carries client configuration or consent, so this is
    /// `requested ∩ allowed`, in request order (target order when nothing was requested).
    pub fn granted(&self, r: &Req) -> Vec<String> {
        let Some(resource) = self.resources.get(r.target) else {
            return Vec::new();
        };
        let mut allowed: BTreeSet<&str> = BTreeSet::new();
        for p in self.by_target.get(r.target).into_iter().flatten() {
            if let Some(p) = self.policies.get(*p)
                && p.matches(r)
            {
                allowed.extend(p.scopes.iter().map(String::as_str));
            }
        }
        let mut out: Vec<String> = Vec::new();
        let candidates = r.requested.as_ref().unwrap_or(&resource.scopes);
        for s in candidates {
            if allowed.contains(s.as_str()) && !out.contains(s) {
                out.push(s.clone());
            }
        }
        out
    }
}

fn pick_grant(rng: &mut Rng, grants: &[GrantType]) -> GrantType {
    grants
        .get(rng.below(grants.len()))
        .copied()
        .unwrap_or(GrantType::AuthorizationCode)
}

/// What an attribute is in a request.
enum Value<'a> {
    Absent,
    Str(&'a str),
    List(&'a [String]),
}

impl Policy {
    /// Whether the policy matches the request (its target is assumed to be the request's).
    pub fn matches(&self, r: &Req) -> bool {
        self.grant_types.contains(&r.grant)
            && self
                .clients
                .as_ref()
                .is_none_or(|clients| clients.contains(&r.client_id))
            && self.conditions.iter().all(|c| c.holds(r))
    }
}

impl Condition {
    /// Whether the condition holds; absent attributes never satisfy one.
    pub fn holds(&self, r: &Req) -> bool {
        let user = r.user.as_ref();
        fn list(l: Option<&Vec<String>>) -> Value<'_> {
            l.map_or(Value::Absent, |l| Value::List(l))
        }
        fn text(s: Option<&String>) -> Value<'_> {
            s.map_or(Value::Absent, |s| Value::Str(s))
        }
        let value = match &self.attr {
            Attr::UserRoles => list(user.and_then(|u| u.roles.as_ref())),
            Attr::UserTenantIds => list(user.and_then(|u| u.tenant_ids.as_ref())),
            Attr::UserPermissions => list(user.and_then(|u| u.permissions.as_ref())),
            Attr::ClientTags => list(r.client_tags.as_ref()),
            Attr::ClientName => text(r.client_name.as_ref()),
            Attr::ClientStatus => text(r.client_status.as_ref()),
            Attr::ClientRegistrationType => text(r.registration_type.as_ref()),
            Attr::Claim(name) => text(r.claims.as_ref().and_then(|c| c.get(name))),
        };
        match (&self.op, value) {
            (_, Value::Absent) => false,
            (Op::Contains(v), Value::List(l)) => l.contains(v),
            (Op::Contains(v), Value::Str(s)) => s.contains(v.as_str()),
            (Op::In(vs), Value::List(l)) => l.iter().any(|x| vs.contains(x)),
            (Op::In(vs), Value::Str(s)) => vs.iter().any(|v| v == s),
            (Op::Equal(v), Value::Str(s)) => v == s,
            (Op::Equal(v), Value::List(l)) => !l.is_empty() && l.iter().all(|x| x == v),
        }
    }
}
