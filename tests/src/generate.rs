//! Random but valid policy documents and requests for the property tests.
//!
//! Everything is drawn from one small vocabulary (a handful of resources and connections, a few
//! client ids, names, tags, roles, tenants, permissions, claim paths, addresses, networks, times
//! and zones) so that policies match requests often and every operator meets both present and
//! absent data. Every condition key and operator appears, as do dry-run policies, `grantTypes`,
//! `subject.clients`, `"*"` scopes, resources and connections sharing an id, windows across
//! midnight and IANA zones with daylight saving.
//!
//! The strategies draw small raw choices (indexes, masks, small numbers) and build JSON from them
//! in `prop_map`, which keeps generation cheap in debug builds and lets proptest shrink a failing
//! case to fewer policies, fewer conditions and earlier pool entries.

use std::sync::LazyLock;

use jiff::tz::{Offset, TimeZone};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value, json};

/// One generated case: a valid policy document and several requests to decide against it.
pub type Case = (Value, Vec<Value>);

/// A document of up to 300 policies (most cases have far fewer) and 1 to 6 requests.
pub fn case() -> impl Strategy<Value = Case> {
    case_with(300, 6)
}

/// A document of up to `max_policies` policies and 1 to `max_requests` requests.
pub fn case_with(max_policies: usize, max_requests: usize) -> impl Strategy<Value = Case> {
    let small = max_policies.min(12);
    let medium = max_policies.min(60).max(small);
    let large = max_policies.max(medium);
    let policies = weighted(&[6, 3, 1]).prop_flat_map(move |size| match size {
        // Every range starts at 0 so that shrinking can drop any policy.
        0 => vec(policy(), 0..=small),
        1 => vec(policy(), 0..=medium),
        _ => vec(policy(), 0..=large),
    });
    (catalog(), policies, vec(request(), 1..=max_requests.max(1))).prop_map(
        |(catalog, policies, requests)| {
            let document = document(&catalog, &policies);
            let requests = requests.iter().map(|r| r.build(&catalog)).collect();
            (document, requests)
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Vocabulary

/// Resources: id, kind, the scopes a document may define (a subset, in a shuffled order).
/// `calendar` is also an oauth connection id: ids are unique per list, not across lists.
const RESOURCES: &[(&str, &str, &[&str])] = &[
    (
        "incidents-api",
        "api",
        &[
            "incidents:read",
            "incidents:write",
            "metrics:read",
            "runbook:execute",
            "incidents:admin",
            "audit:read",
        ],
    ),
    (
        "billing-api",
        "api",
        &[
            "ledger:read",
            "ledger:write",
            "ledger:admin",
            "metrics:read",
        ],
    ),
    (
        "analytics-mcp",
        "mcp",
        &["reports:read", "reports:write", "tools:call"],
    ),
    ("calendar", "mcp", &["calendar.read", "calendar.write"]),
    ("docs-mcp", "mcp", &["docs:read"]),
];

/// OAuth connections and the scopes they may define.
const OAUTH: &[(&str, &[&str])] = &[
    (
        "google-calendar",
        &[
            "https://www.googleapis.com/auth/calendar.readonly",
            "https://www.googleapis.com/auth/calendar",
        ],
    ),
    ("calendar", &["calendar.read", "events:write"]),
    ("github", &["repo", "read:org", "gist"]),
];

/// Scope-less connections.
const SCOPELESS: &[(&str, &str)] = &[
    ("pagerduty", "api_key"),
    ("bank-mtls", "certificate"),
    ("stripe", "api_key"),
];

/// Scopes no target defines.
const STRAY_SCOPES: &[&str] = &["nope:read", "*", "", "LEDGER:READ"];

/// Target ids no document defines.
const STRAY_TARGETS: &[&str] = &["ghost-api", "ghost-connection"];

const GRANT_TYPES: &[&str] = &[
    "client_credentials",
    "authorization_code",
    "token_exchange",
    "jwt_bearer",
];

const CLIENT_IDS: &[&str] = &[
    "ops-agent",
    "reconcile-worker",
    "analytics-mcp",
    "desktop-agent",
    "Ops-Agent",
    "https://agent.example/client.json",
];
const NAMES: &[&str] = &[
    "Ops agent",
    "Nightly reconciliation",
    "Analytics MCP",
    "Desktop agent",
    "",
];
const TAGS: &[&str] = &["internal", "external", "beta", "mcp", "agent"];
const REGISTRATION_TYPES: &[&str] = &["static", "dcr", "cimd"];
const STATUSES: &[&str] = &["verified", "unverified"];
const SUBS: &[&str] = &["u-1", "u-2", "u-42", "U-1"];
const ROLES: &[&str] = &["SRE", "analyst", "admin", "viewer", "sre"];
const TENANTS: &[&str] = &["corp_ops", "corp_finance", "acme"];
const PERMISSIONS: &[&str] = &["read:all", "write:incidents", "billing:admin"];

/// String keys: the key, values to compare with, and substrings for `contains`.
const STRING_KEYS: &[(&str, &[&str], &[&str])] = &[
    (
        "client.clientid",
        CLIENT_IDS,
        &["agent", "ops-", "-", "Agent", ""],
    ),
    (
        "client.name",
        NAMES,
        &["agent", "Agent", "MCP", " ", "Nightly"],
    ),
    (
        "client.registrationType",
        &["static", "dcr", "cimd", "Static"],
        &["c", "dcr", "st"],
    ),
    ("client.status", STATUSES, &["verified", "un"]),
    ("user.sub", SUBS, &["u-", "4", "U"]),
    ("actor.clientid", CLIENT_IDS, &["agent", "-", "worker"]),
    ("actor.sub", SUBS, &["u-", "2"]),
    ("client.tenantId", TENANTS, &["corp", "_", "acme"]),
    ("subject.clientid", CLIENT_IDS, &["agent", "-"]),
    ("subject.audience", AUDIENCES, &["https://", "example"]),
    ("auth.level", LEVELS, &["mfa", "urn:", "x"]),
];

/// Authentication levels (`acr`).
const LEVELS: &[&str] = &["urn:x:pwd", "urn:x:mfa", "urn:x:hwk", "URN:X:MFA"];

/// Authentication methods (`amr`).
const METHODS: &[&str] = &["pwd", "otp", "fed", "hwk", "OTP"];

/// Ages of an authentication, around the bounds conditions use.
const AGES: &[u64] = &[0, 1, 59, 60, 61, 299, 300, 301, 3600, u64::MAX];

/// Audiences a subject token may carry.
const AUDIENCES: &[&str] = &[
    "https://a.example",
    "https://b.example",
    "https://A.example",
];

/// List keys and their element pools.
const LIST_KEYS: &[(&str, &[&str])] = &[
    ("client.tags", TAGS),
    ("user.roles", ROLES),
    ("user.tenantIds", TENANTS),
    ("user.permissions", PERMISSIONS),
    ("auth.methods", METHODS),
];

/// Claim paths: dotted, nested, bracketed (both quotes), and names that contain dots, so that
/// `jwtClaims.a.b.c` and `jwtClaims['a.b'].c` read different claims.
const CLAIM_PATHS: &[&str] = &[
    "jwtClaims.dept",
    "jwtClaims.org.dept",
    "jwtClaims.org.level",
    "jwtClaims.org",
    "jwtClaims[\"https://x.io/roles\"]",
    "jwtClaims['a.b'].c",
    "jwtClaims[\"a.b\"]",
    "jwtClaims.a.b.c",
    "jwtClaims.a.b",
    "jwtClaims.org[\"x.y\"]",
    "jwtClaims.groups",
    "jwtClaims.level",
    "jwtClaims.admin",
    "jwtClaims.missing",
];

/// Scalars a claim condition compares with.
static CLAIM_OPERANDS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    vec![
        json!("finance"),
        json!("ops"),
        json!("SRE"),
        json!(5),
        json!(5.0),
        json!("5"),
        json!(true),
        json!("admin"),
        json!("fin"),
        json!(7),
        json!(-1),
        json!(1.5),
        json!(0),
        json!(false),
        json!(""),
        json!("eng"),
        json!(0.0),
        // 2^53 as a float: by value it is not the integer 2^53 + 1 that claims carry.
        json!(9_007_199_254_740_992.0),
        json!(u64::MAX),
        // 2^64 as a float: by value not `u64::MAX`.
        json!(18_446_744_073_709_551_616.0),
    ]
});

/// Elements of a claim condition's `values`: the scalars, plus lists and objects (allowed in
/// `values` on `jwtClaims`, compared by JSON equality).
static CLAIM_LIST_OPERANDS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    let mut all = CLAIM_OPERANDS.clone();
    all.extend([
        json!(["SRE", "admin"]),
        json!({ "dept": "ops" }),
        json!(["admin"]),
        json!([5.0, "5"]),
        json!({ "x": 1.0 }),
    ]);
    all
});

/// Values a claim may have in a request: scalars, lists (with duplicates and mixed types),
/// objects and null.
static CLAIM_VALUES: LazyLock<Vec<Value>> = LazyLock::new(|| {
    vec![
        json!("finance"),
        json!("ops"),
        json!(["SRE", "admin"]),
        json!(5),
        json!(5.0),
        json!(true),
        json!(null),
        json!(["ops"]),
        json!([]),
        json!("5"),
        json!([5, "5"]),
        json!({ "dept": "ops" }),
        json!(["finance", "finance"]),
        json!(7),
        json!(-0.0),
        json!(false),
        json!(1.5),
        json!("SRE"),
        json!([1.0, 7]),
        json!("fine"),
        json!({}),
        json!("admin"),
        json!(["SRE", ["admin"], { "x": 1 }]),
        json!(""),
        json!(9_007_199_254_740_993_u64),
        json!(0),
        json!(u64::MAX),
        json!([{ "dept": "ops" }, "ops"]),
    ]
});

const IPS: &[&str] = &[
    "10.1.2.3",
    "10.200.0.1",
    "192.168.1.10",
    "172.16.5.4",
    "8.8.8.8",
    "::1",
    "2001:db8::5",
    "2001:db8:1::1",
    "fe80::1",
    "::ffff:10.1.2.3",
    "::ffff:192.168.1.10",
    "::a01:203",
    "0.0.0.0",
    "255.255.255.255",
    "172.32.0.1",
];

const CIDRS: &[&str] = &[
    "10.0.0.0/8",
    "10.1.2.0/24",
    "10.1.2.3/32",
    "192.168.0.0/16",
    "172.16.0.0/12",
    "0.0.0.0/0",
    "2001:db8::/32",
    "2001:db8:1::/48",
    "::/0",
    "::1/128",
    "fe80::/10",
    "8.8.8.8/32",
    "::ffff:0:0/96",
    "10.1.2.0/31",
];

/// `HH:MM` values windows open and close at; request times cluster around them.
const CLOCK: &[&str] = &[
    "00:00", "06:00", "08:30", "09:00", "12:00", "17:00", "18:30", "22:00", "23:59", "23:00",
    "01:00",
];

const DAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Window zones: fixed offsets and IANA names (with daylight saving, half and quarter hours).
const ZONES: &[&str] = &[
    "Z",
    "+02:00",
    "-05:30",
    "+05:45",
    "+14:00",
    "-12:00",
    "+00:00",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "UTC",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Europe/London",
    "America/St_Johns",
];

/// Request dates: daylight-saving changes, every weekday, year ends, a leap day.
const DATES: &[(i16, i8, i8)] = &[
    (2026, 11, 23),
    (2026, 3, 29),
    (2026, 3, 8),
    (2026, 10, 25),
    (2026, 11, 1),
    (2026, 11, 24),
    (2026, 11, 25),
    (2026, 11, 26),
    (2026, 11, 27),
    (2026, 11, 28),
    (2026, 12, 31),
    (2027, 1, 1),
    (2024, 2, 29),
    (2026, 4, 5),
    (2026, 9, 27),
];

/// Offsets request times are written with, in seconds east of UTC.
const WRITTEN_OFFSETS: &[i32] = &[0, 7200, -19800, 20700, -28800, 46800];

// ---------------------------------------------------------------------------------------------
// Small helpers

/// The pool element an index points at (pools are never empty; the fallback is only for safety).
fn pick<T: Clone + Default>(ix: &Index, pool: &[T]) -> T {
    if pool.is_empty() {
        return T::default();
    }
    pool.get(ix.index(pool.len())).cloned().unwrap_or_default()
}

fn pick_str(ix: &Index, pool: &[&'static str]) -> &'static str {
    pick(ix, pool)
}

/// The distinct pool elements the indexes point at, in first-seen order.
fn pick_distinct(ixs: &[Index], pool: &[&'static str]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for ix in ixs {
        let s = pick_str(ix, pool);
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn strings(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| json!(s)).collect())
}

/// The pool elements whose bit is set in `mask`, never empty (falls back to one element).
fn subset<T: Copy>(pool: &[T], mask: u32, fallback: usize) -> Vec<T> {
    let mut out: Vec<T> = pool
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << (i % 32)) != 0)
        .map(|(_, s)| *s)
        .collect();
    if out.is_empty()
        && let Some(first) = pool.get(fallback % pool.len().max(1))
    {
        out.push(*first);
    }
    out
}

/// A deterministic shuffle driven by `seed` (0 keeps the order), so shrinking tends to the
/// pool's order.
fn shuffle<T>(items: &mut [T], seed: u32) {
    if seed == 0 {
        return;
    }
    let mut state = u64::from(seed);
    for i in (1..items.len()).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let j = usize::try_from((state >> 33) % (i as u64 + 1)).unwrap_or(0);
        items.swap(i, j);
    }
}

/// A weighted choice among `weights.len()` alternatives, shrinking towards the first.
///
/// `prop_oneof!` would say this more directly, but it costs about 10 µs per arm per value in a
/// debug build, which made generating a few hundred policies per case far too slow; a single
/// integer costs about 1 µs.
fn weighted(weights: &'static [u32]) -> impl Strategy<Value = usize> + Clone {
    let total: u32 = weights.iter().sum();
    (0..total.max(1)).prop_map(move |mut x| {
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        0
    })
}

/// A JSON slot that may be absent (`None`), `null`, or a value: weights 3 : 1 : 8.
fn slot(value: BoxedStrategy<Value>) -> BoxedStrategy<Option<Value>> {
    (weighted(&[3, 1, 8]), value)
        .prop_map(|(choice, value)| match choice {
            0 => None,
            1 => Some(Value::Null),
            _ => Some(value),
        })
        .boxed()
}

/// `inner` behind a presence choice: absent, `null` or the value, with the given weights.
fn presence(
    weights: &'static [u32],
    inner: impl Strategy<Value = Value> + 'static,
) -> BoxedStrategy<Option<Value>> {
    (weighted(weights), inner)
        .prop_map(|(choice, value)| match choice {
            0 => None,
            1 => Some(Value::Null),
            _ => Some(value),
        })
        .boxed()
}

fn string_from(pool: &'static [&'static str]) -> BoxedStrategy<Value> {
    any::<Index>()
        .prop_map(move |ix| json!(pick_str(&ix, pool)))
        .boxed()
}

/// A list of 0 to 3 strings from the pool (duplicates allowed).
fn list_from(pool: &'static [&'static str]) -> BoxedStrategy<Value> {
    vec(any::<Index>(), 0..=3)
        .prop_map(move |ixs| Value::Array(ixs.iter().map(|ix| json!(pick_str(ix, pool))).collect()))
        .boxed()
}

fn insert(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value);
    }
}

fn clock(minute: u32) -> String {
    format!("{:02}:{:02}", (minute / 60) % 24, minute % 60)
}

fn clock_minutes(text: &str) -> u32 {
    let (h, m) = text.split_once(':').unwrap_or(("0", "0"));
    h.parse::<u32>().unwrap_or(0) * 60 + m.parse::<u32>().unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// The catalog: which targets a document defines

/// The targets one document defines.
#[derive(Debug, Clone)]
struct Catalog {
    targets: Vec<TargetDef>,
}

#[derive(Debug, Clone)]
struct TargetDef {
    /// `resource` or `connection`.
    list: &'static str,
    id: &'static str,
    /// `api`, `mcp`, `oauth`, `api_key`, `certificate`.
    kind: &'static str,
    /// Defined scopes in definition order; empty for scope-less connections.
    scopes: Vec<&'static str>,
    /// Whether to write `name` / `description`.
    named: bool,
}

fn catalog() -> impl Strategy<Value = Catalog> {
    (
        vec(
            (any::<bool>(), 1u32..64, 0u32..8, any::<bool>()),
            RESOURCES.len(),
        ),
        1u32..8,
        1u32..8,
        0u32..4,
    )
        .prop_map(|(resources, oauth_mask, scopeless_mask, oauth_scopes)| {
            let mut targets = Vec::new();
            for (i, (&(id, kind, pool), &(include, mask, order, named))) in
                RESOURCES.iter().zip(resources.iter()).enumerate()
            {
                // Always at least the first resource.
                let forced = i == 0 && resources.iter().all(|r| !r.0);
                if !(include || forced) {
                    continue;
                }
                let mut scopes = subset(pool, mask, i);
                shuffle(&mut scopes, order);
                targets.push(TargetDef {
                    list: "resource",
                    id,
                    kind,
                    scopes,
                    named,
                });
            }
            // One or two of each connection kind.
            let oauth: Vec<_> = subset(OAUTH, oauth_mask, 0).into_iter().take(2).collect();
            for (i, (id, pool)) in oauth.into_iter().enumerate() {
                let mask = if oauth_scopes == 0 {
                    u32::MAX
                } else {
                    oauth_scopes
                };
                let mut scopes = subset(pool, mask, i);
                shuffle(&mut scopes, oauth_scopes);
                targets.push(TargetDef {
                    list: "connection",
                    id,
                    kind: "oauth",
                    scopes,
                    named: i == 1,
                });
            }
            for (id, kind) in subset(SCOPELESS, scopeless_mask, 0).into_iter().take(2) {
                targets.push(TargetDef {
                    list: "connection",
                    id,
                    kind,
                    scopes: Vec::new(),
                    named: false,
                });
            }
            Catalog { targets }
        })
}

// ---------------------------------------------------------------------------------------------
// Policies

/// A policy without its id (ids come from its position, so they stay unique while shrinking).
#[derive(Debug, Clone)]
struct PolicyRaw {
    /// 0..10: below 6 no `mode`, 6..8 `enforce`, 8.. `dry-run`.
    mode: u8,
    /// 0: no subject; 1: `{}`; 2: clients; 3: conditions; 4..: both.
    subject: u8,
    clients: Vec<Index>,
    conditions: Vec<Value>,
    /// `grantTypes` as a bit mask (0 = absent).
    grant_types: u32,
    /// (target, scope style, scope mask): style < 3 is `"*"`.
    targets: Vec<(Index, u8, u32)>,
    named: u8,
}

fn policy() -> impl Strategy<Value = PolicyRaw> {
    (
        0u8..10,
        0u8..8,
        vec(any::<Index>(), 1..=3),
        vec(condition(), 0..=3),
        (weighted(&[3, 2]), 1u32..16).prop_map(|(on, mask)| if on == 0 { 0 } else { mask }),
        vec((any::<Index>(), 0u8..12, 0u32..64), 1..=3),
        0u8..8,
    )
        .prop_map(
            |(mode, subject, clients, conditions, grant_types, targets, named)| PolicyRaw {
                mode,
                subject,
                clients,
                conditions,
                grant_types,
                targets,
                named,
            },
        )
}

fn document(catalog: &Catalog, policies: &[PolicyRaw]) -> Value {
    let mut resources = Vec::new();
    let mut connections = Vec::new();
    for t in &catalog.targets {
        let mut def = Map::new();
        def.insert("id".into(), json!(t.id));
        if t.list == "resource" {
            let path = if t.kind == "mcp" { "/mcp" } else { "" };
            def.insert(
                "audience".into(),
                json!(format!("https://{}.example.com{path}", t.id)),
            );
        }
        def.insert("kind".into(), json!(t.kind));
        if !t.scopes.is_empty() {
            def.insert("scopes".into(), strings(&t.scopes));
        }
        if t.named {
            def.insert("name".into(), json!(format!("The {}", t.id)));
            def.insert("description".into(), json!("generated"));
        }
        if t.list == "resource" {
            resources.push(Value::Object(def));
        } else {
            connections.push(Value::Object(def));
        }
    }

    let policies: Vec<Value> = policies
        .iter()
        .enumerate()
        .map(|(i, p)| policy_json(catalog, i, p))
        .collect();

    json!({
        "version": 1,
        "resources": resources,
        "connections": connections,
        "policies": policies,
    })
}

fn policy_json(catalog: &Catalog, index: usize, p: &PolicyRaw) -> Value {
    let mut out = Map::new();
    // Ids of several shapes: letters, digits, `-`, `_`, `.`, starting with a letter or digit.
    let id = match index % 4 {
        0 => format!("p{index}"),
        1 => format!("pol-{index}"),
        2 => format!("ops.agent_{index}"),
        _ => format!("{index}x"),
    };
    out.insert("id".into(), json!(id));
    if p.named == 1 {
        out.insert("name".into(), json!(format!("Policy {index}")));
        out.insert("description".into(), json!("a generated policy"));
    }
    match p.mode {
        0..6 => {}
        6..8 => {
            out.insert("mode".into(), json!("enforce"));
        }
        _ => {
            out.insert("mode".into(), json!("dry-run"));
        }
    }
    match p.subject {
        0 => {}
        1 => {
            out.insert("subject".into(), json!({}));
        }
        s => {
            let mut subject = Map::new();
            if s == 2 || s >= 4 {
                subject.insert(
                    "clients".into(),
                    strings(&pick_distinct(&p.clients, CLIENT_IDS)),
                );
            }
            if s >= 3 {
                subject.insert("conditions".into(), Value::Array(p.conditions.clone()));
            }
            out.insert("subject".into(), Value::Object(subject));
        }
    }
    if p.grant_types != 0 {
        let mut names = subset(GRANT_TYPES, p.grant_types, 0);
        shuffle(&mut names, p.grant_types);
        out.insert("grantTypes".into(), strings(&names));
    }
    // A policy names each target once (the engine refuses a target named twice).
    let mut named: Vec<(&str, &str)> = Vec::new();
    let targets: Vec<Value> = p
        .targets
        .iter()
        .filter_map(|(ix, style, mask)| {
            let t = pick(ix, &catalog.targets);
            if named.contains(&(t.list, t.id)) {
                return None;
            }
            named.push((t.list, t.id));
            let mut target = Map::new();
            target.insert(t.list.into(), json!(t.id));
            if !t.scopes.is_empty() {
                if *style < 3 {
                    target.insert("scopes".into(), json!("*"));
                } else {
                    let mut scopes = subset(&t.scopes, *mask, usize::from(*style));
                    shuffle(&mut scopes, u32::from(*style) - 3);
                    target.insert("scopes".into(), strings(&scopes));
                }
            }
            Some(Value::Object(target))
        })
        .collect();
    out.insert("targets".into(), Value::Array(targets));
    Value::Object(out)
}

// `pick` needs a Default; a missing target cannot happen (catalogs are never empty).
impl Default for TargetDef {
    fn default() -> Self {
        TargetDef {
            list: "resource",
            id: "",
            kind: "api",
            scopes: Vec::new(),
            named: false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Conditions

/// One condition, any key and any operator valid on it.
fn condition() -> BoxedStrategy<Value> {
    // Every family's raw parts are drawn and one family builds the condition (see `weighted`).
    (
        weighted(&[6, 5, 6, 2, 3, 3]),
        any::<Index>(),
        op_choice(),
        any::<Index>(),
        vec(any::<Index>(), 0..=3),
        any::<bool>(),
        window(),
    )
        .prop_map(|(family, key, op, one, many, flag, window)| match family {
            0 => string_condition(&key, op, &one, &many, flag),
            1 => list_condition(&key, op, &one, &many),
            2 => claim_condition(&key, op, &one, &many),
            3 => ip_condition(op, &many, &one),
            4 => time_condition(op, window),
            _ => number_condition(&key, op, &one),
        })
        .boxed()
}

/// `op` numbers shared by the string, list and claim families.
const EQUAL: u8 = 0;
const EQUAL_VALUES: u8 = 1;
const NOT_EQUAL: u8 = 2;
const NOT_EQUAL_VALUES: u8 = 3;
const IN: u8 = 4;
const NOT_IN: u8 = 5;
const CONTAINS: u8 = 6;
const CONTAINS_VALUES: u8 = 7;
const EXISTS: u8 = 8;
const NOT_EXISTS: u8 = 9;

/// An operator number, weighted: equal 3, equal with values 2, notEqual 2, notEqual with values
/// 1, in 3, notIn 2, contains 3, contains with values 2, exists 1, notExists 1.
fn op_choice() -> impl Strategy<Value = u8> + Clone {
    weighted(&[3, 2, 2, 1, 3, 2, 3, 2, 1, 1]).prop_map(|op| u8::try_from(op).unwrap_or(0))
}

/// Builds a condition of the string / list / claim families. `one` picks the `value`, `many` the
/// `values` (1 to 3 of them; `empty` turns an `equal` list into `[]`).
fn operator_condition(
    key: &str,
    op: u8,
    one: Value,
    many: Vec<Value>,
    contains_one: Value,
    contains_many: Vec<Value>,
) -> Value {
    match op {
        EQUAL => json!({ "key": key, "op": "equal", "value": one }),
        EQUAL_VALUES => json!({ "key": key, "op": "equal", "values": many }),
        NOT_EQUAL => json!({ "key": key, "op": "notEqual", "value": one }),
        NOT_EQUAL_VALUES => json!({ "key": key, "op": "notEqual", "values": many }),
        IN => json!({ "key": key, "op": "in", "values": nonempty(many, one) }),
        NOT_IN => json!({ "key": key, "op": "notIn", "values": nonempty(many, one) }),
        CONTAINS => json!({ "key": key, "op": "contains", "value": contains_one }),
        CONTAINS_VALUES => json!({
            "key": key, "op": "contains", "values": nonempty(contains_many, contains_one)
        }),
        EXISTS => json!({ "key": key, "op": "exists" }),
        _ => json!({ "key": key, "op": "notExists" }),
    }
}

fn nonempty(mut many: Vec<Value>, one: Value) -> Vec<Value> {
    if many.is_empty() {
        many.push(one);
    }
    many
}

fn string_condition(key: &Index, op: u8, one: &Index, many: &[Index], from_values: bool) -> Value {
    let (key, values, substrings) = pick(key, STRING_KEYS);
    // String keys take `equal` / `notEqual` with `value` only.
    let op = match op {
        EQUAL_VALUES => EQUAL,
        NOT_EQUAL_VALUES => NOT_EQUAL,
        other => other,
    };
    // `contains` operands: substrings, or now and then whole values.
    let contains_pool = if from_values { values } else { substrings };
    operator_condition(
        key,
        op,
        json!(pick_str(one, values)),
        many.iter().map(|ix| json!(pick_str(ix, values))).collect(),
        json!(pick_str(one, contains_pool)),
        many.iter()
            .map(|ix| json!(pick_str(ix, contains_pool)))
            .collect(),
    )
}

fn list_condition(key: &Index, op: u8, one: &Index, many: &[Index]) -> Value {
    let (key, pool) = pick(key, LIST_KEYS);
    let one = json!(pick_str(one, pool));
    // `equal` / `notEqual` may take an empty list; the others get at least one value.
    let many: Vec<Value> = many.iter().map(|ix| json!(pick_str(ix, pool))).collect();
    operator_condition(key, op, one.clone(), many.clone(), one, many)
}

fn claim_condition(path: &Index, op: u8, one: &Index, many: &[Index]) -> Value {
    let key = pick_str(path, CLAIM_PATHS);
    let one = pick(one, &CLAIM_OPERANDS);
    let many: Vec<Value> = many
        .iter()
        .map(|ix| pick(ix, &CLAIM_LIST_OPERANDS))
        .collect();
    operator_condition(key, op, one.clone(), many.clone(), one, many)
}

fn ip_condition(op: u8, many: &[Index], one: &Index) -> Value {
    match op {
        EXISTS => json!({ "key": "request.ip", "op": "exists" }),
        NOT_EXISTS => json!({ "key": "request.ip", "op": "notExists" }),
        _ => {
            let mut cidrs = pick_distinct(many, CIDRS);
            if cidrs.is_empty() {
                cidrs.push(pick_str(one, CIDRS));
            }
            json!({ "key": "request.ip", "op": "inCidr", "values": strings(&cidrs) })
        }
    }
}

/// Numbers `lessThan` / `greaterThan` compare with: around the ages, the claims' numbers, a
/// fraction, zero and below, and beyond `u64`.
static NUMBER_OPERANDS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    vec![
        json!(60),
        json!(300),
        json!(300.5),
        json!(1),
        json!(0),
        json!(-1),
        json!(0.5),
        json!(5),
        json!(5.0),
        json!(7),
        json!(1.5),
        json!(9_007_199_254_740_992.0),
        // 2^60 as a float: above 2^53, where `ceil() - 1.0` rounds back to the float.
        json!(1_152_921_504_606_846_976.0),
        json!(u64::MAX),
        json!(18_446_744_073_709_551_616.0),
    ]
});

/// `auth.age` (two times in three) or a claim, with `lessThan`, `greaterThan`, `exists` or
/// `notExists`.
fn number_condition(key: &Index, op: u8, one: &Index) -> Value {
    let code = key.index(3 * CLAIM_PATHS.len());
    let key = if code < 2 * CLAIM_PATHS.len() {
        "auth.age"
    } else {
        pick_str(key, CLAIM_PATHS)
    };
    let value = pick(one, &NUMBER_OPERANDS);
    match op % 6 {
        0 | 1 => json!({ "key": key, "op": "lessThan", "value": value }),
        2 | 3 => json!({ "key": key, "op": "greaterThan", "value": value }),
        4 => json!({ "key": key, "op": "exists" }),
        _ => json!({ "key": key, "op": "notExists" }),
    }
}

fn time_condition(op: u8, window: Value) -> Value {
    match op {
        EXISTS => json!({ "key": "request.time", "op": "exists" }),
        NOT_EXISTS => json!({ "key": "request.time", "op": "notExists" }),
        _ => json!({ "key": "request.time", "op": "between", "value": window }),
    }
}

/// A minute of the day from one number in `MINUTE_CODES`: three times in four one of the `CLOCK`
/// values (shrinking towards the first), otherwise any minute.
fn minute_of_day(code: u32) -> u32 {
    if code < 3000 {
        let ix = code as usize % CLOCK.len();
        CLOCK.get(ix).map_or(0, |c| clock_minutes(c))
    } else {
        (code - 3000) * 1440 / 1000
    }
}

/// The numbers `minute_of_day` reads.
const MINUTE_CODES: std::ops::Range<u32> = 0..4000;

/// A `between` window: ends from the clock pool or any minute, from ≠ to (either order), days
/// sometimes (in any order), a zone sometimes. Plain numbers keep it cheap to draw.
fn window() -> impl Strategy<Value = Value> + Clone {
    (
        MINUTE_CODES,
        MINUTE_CODES,
        0u32..256,
        0u32..(3 * ZONES.len() as u32),
    )
        .prop_map(|(from, to, days, tz)| {
            let from = minute_of_day(from);
            let to = minute_of_day(to);
            let to = if to == from { (to + 1) % 1440 } else { to };
            let mut window = Map::new();
            window.insert("from".into(), json!(clock(from)));
            window.insert("to".into(), json!(clock(to)));
            // Half the windows name days, in some order.
            if days >= 128 {
                let mut names = subset(DAYS, days - 128, days as usize);
                shuffle(&mut names, days % 8);
                window.insert("days".into(), strings(&names));
            }
            // Two thirds name a zone.
            if let Some(tz) = (tz as usize)
                .checked_sub(ZONES.len())
                .and_then(|ix| ZONES.get(ix % ZONES.len()))
            {
                window.insert("tz".into(), json!(tz));
            }
            Value::Object(window)
        })
}

// ---------------------------------------------------------------------------------------------
// Requests

/// Where a requested or consented scope comes from.
#[derive(Debug, Clone)]
enum ScopeFrom {
    /// A scope the request's target defines in this document.
    Defined(Index),
    /// A scope from the target's pool (possibly not defined in this document).
    Pool(Index),
    /// Any scope of any pool, or a scope no target defines.
    Stray(Index),
}

fn scope_from() -> impl Strategy<Value = ScopeFrom> + Clone {
    (weighted(&[6, 2, 1]), any::<Index>()).prop_map(|(from, ix)| match from {
        0 => ScopeFrom::Defined(ix),
        1 => ScopeFrom::Pool(ix),
        _ => ScopeFrom::Stray(ix),
    })
}

/// A request before it is tied to a document's catalog.
#[derive(Debug, Clone)]
struct RequestRaw {
    grant_type: Index,
    client: Option<Value>,
    /// (absent / null / list, entries: (for the request's target?, other target, mask)).
    allowed_scopes: (u8, Vec<(bool, Index, u32)>),
    user: Option<Value>,
    claims: Option<Value>,
    actor: Option<Value>,
    subject: Option<Value>,
    auth: Option<Value>,
    /// 0..8: a catalog target; 8: a pool id of the other list; 9: a stray id.
    target: (u8, Index),
    /// 0: absent, 1: null, else the list.
    requested: (u8, Vec<ScopeFrom>),
    consented: (u8, Vec<ScopeFrom>),
    context: Option<Value>,
    /// 0: absent, 1: true, 2: false.
    explain: u8,
}

fn request() -> impl Strategy<Value = RequestRaw> {
    (
        any::<Index>(),
        client(),
        (
            0u8..8,
            vec((any::<bool>(), any::<Index>(), 0u32..64), 1..=2),
        ),
        user(),
        claims(),
        actor(),
        (subject(), auth()),
        (0u8..10, any::<Index>()),
        (0u8..8, vec(scope_from(), 0..=4)),
        (0u8..8, vec(scope_from(), 0..=4)),
        context(),
        0u8..3,
    )
        .prop_map(
            |(
                grant_type,
                client,
                allowed_scopes,
                user,
                claims,
                actor,
                (subject, auth),
                target,
                requested,
                consented,
                context,
                explain,
            )| RequestRaw {
                grant_type,
                client,
                allowed_scopes,
                user,
                claims,
                actor,
                subject,
                auth,
                target,
                requested,
                consented,
                context,
                explain,
            },
        )
}

fn client() -> BoxedStrategy<Option<Value>> {
    let fields = (
        slot(string_from(CLIENT_IDS)),
        slot(string_from(NAMES)),
        slot(list_from(TAGS)),
        slot(string_from(REGISTRATION_TYPES)),
        slot(string_from(STATUSES)),
        slot(string_from(TENANTS)),
    )
        .prop_map(|(id, name, tags, registration, status, tenant)| {
            let mut c = Map::new();
            insert(&mut c, "clientId", id);
            insert(&mut c, "name", name);
            insert(&mut c, "tags", tags);
            insert(&mut c, "registrationType", registration);
            insert(&mut c, "status", status);
            insert(&mut c, "tenantId", tenant);
            Value::Object(c)
        });
    presence(&[1, 1, 12], fields)
}

fn user() -> BoxedStrategy<Option<Value>> {
    let fields = (
        slot(string_from(SUBS)),
        slot(list_from(ROLES)),
        slot(list_from(TENANTS)),
        slot(list_from(PERMISSIONS)),
    )
        .prop_map(|(sub, roles, tenants, permissions)| {
            let mut u = Map::new();
            insert(&mut u, "sub", sub);
            insert(&mut u, "roles", roles);
            insert(&mut u, "tenantIds", tenants);
            insert(&mut u, "permissions", permissions);
            Value::Object(u)
        });
    presence(&[3, 1, 10], fields)
}

fn actor() -> BoxedStrategy<Option<Value>> {
    let fields = (slot(string_from(CLIENT_IDS)), slot(string_from(SUBS))).prop_map(|(id, sub)| {
        let mut a = Map::new();
        insert(&mut a, "clientId", id);
        insert(&mut a, "sub", sub);
        Value::Object(a)
    });
    presence(&[4, 1, 5], fields)
}

fn subject() -> BoxedStrategy<Option<Value>> {
    let fields =
        (slot(string_from(CLIENT_IDS)), slot(string_from(AUDIENCES))).prop_map(|(id, audience)| {
            let mut s = Map::new();
            insert(&mut s, "clientId", id);
            insert(&mut s, "audience", audience);
            Value::Object(s)
        });
    presence(&[4, 1, 5], fields)
}

/// How the user authenticated: methods, level and age, each sometimes absent.
fn auth() -> BoxedStrategy<Option<Value>> {
    let fields = (
        slot(list_from(METHODS)),
        slot(string_from(LEVELS)),
        slot(any::<Index>().prop_map(|ix| json!(pick(&ix, AGES))).boxed()),
    )
        .prop_map(|(methods, level, age)| {
            let mut a = Map::new();
            insert(&mut a, "methods", methods);
            insert(&mut a, "level", level);
            insert(&mut a, "age", age);
            Value::Object(a)
        });
    presence(&[3, 1, 8], fields)
}

/// Claims: an object over the names the claim paths use, with values of every JSON type;
/// sometimes absent, `null`, or not an object at all.
fn claims() -> BoxedStrategy<Option<Value>> {
    let object = vec((0u8..6, any::<Index>(), any::<Index>()), 8..=8).prop_map(|slots| {
        let leaf = |ix: &Index| pick(ix, &CLAIM_VALUES);
        let mut c = Map::new();
        for (n, (state, a, b)) in slots.iter().enumerate() {
            if *state == 0 {
                continue;
            }
            let (name, value) = match n {
                0 => ("dept", leaf(a)),
                1 => (
                    "org",
                    if *state >= 2 {
                        let mut org = Map::new();
                        if state & 1 == 0 {
                            org.insert("dept".into(), leaf(a));
                        }
                        if *state >= 3 {
                            org.insert("level".into(), leaf(b));
                        }
                        if *state >= 4 {
                            org.insert("x.y".into(), leaf(b));
                        }
                        Value::Object(org)
                    } else {
                        leaf(a)
                    },
                ),
                2 => (
                    "https://x.io/roles",
                    if *state >= 3 {
                        json!(["SRE", "admin"])
                    } else {
                        leaf(a)
                    },
                ),
                3 => (
                    "a.b",
                    if *state >= 2 {
                        json!({ "c": leaf(a) })
                    } else {
                        leaf(a)
                    },
                ),
                4 => (
                    "a",
                    match state {
                        1 => leaf(a),
                        2 => json!({ "b": leaf(a) }),
                        _ => json!({ "b": { "c": leaf(b) } }),
                    },
                ),
                5 => ("groups", leaf(a)),
                6 => ("level", leaf(a)),
                _ => ("admin", leaf(a)),
            };
            c.insert(name.into(), value);
        }
        Value::Object(c)
    });
    (weighted(&[3, 1, 1, 12]), object)
        .prop_map(|(choice, object)| match choice {
            0 => None,
            1 => Some(Value::Null),
            2 => Some(json!(["dept"])),
            _ => Some(object),
        })
        .boxed()
}

fn context() -> BoxedStrategy<Option<Value>> {
    let fields = (slot(string_from(IPS)), slot(time())).prop_map(|(ip, time)| {
        let mut c = Map::new();
        insert(&mut c, "ip", ip);
        insert(&mut c, "time", time);
        Value::Object(c)
    });
    presence(&[1, 1, 10], fields)
}

/// An RFC 3339 instant, usually within a minute of a window edge in one of the window zones,
/// written with one of several offsets and sometimes with fractional seconds.
fn time() -> BoxedStrategy<Value> {
    (
        any::<Index>(),
        any::<Index>(),
        (weighted(&[3, 1]), any::<Index>(), 0u32..3, 0u32..1440),
        (weighted(&[3, 1]), 0i8..60),
        (weighted(&[3, 1]), 0i32..1_000_000_000),
        any::<Index>(),
    )
        .prop_map(|(date, zone, minute, second, nanos, written)| {
            // Within a minute of a window edge, or anywhere in the day.
            let minute = match minute {
                (0, ix, delta, _) => {
                    (clock_minutes(pick_str(&ix, CLOCK)) + 1440 + delta - 1) % 1440
                }
                (_, _, _, any_minute) => any_minute,
            };
            let second = if second.0 == 0 { 0 } else { second.1 };
            let nanos = if nanos.0 == 0 { 0 } else { nanos.1 };
            let (y, m, d) = pick(&date, DATES);
            let zone = zone_named(pick_str(&zone, ZONES));
            let hour = i8::try_from(minute / 60).unwrap_or(0);
            let min = i8::try_from(minute % 60).unwrap_or(0);
            let instant = jiff::civil::DateTime::new(y, m, d, hour, min, second, nanos)
                .and_then(|dt| dt.to_zoned(zone))
                .map(|z| z.timestamp())
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            let offset =
                Offset::from_seconds(pick(&written, WRITTEN_OFFSETS)).unwrap_or(Offset::UTC);
            json!(instant.display_with_offset(offset).to_string())
        })
        .boxed()
}

/// A zone from the `ZONES` pool as a jiff zone (used to place request times near window edges).
fn zone_named(name: &str) -> TimeZone {
    if name == "Z" {
        return TimeZone::UTC;
    }
    if let Some(rest) = name.strip_prefix(['+', '-']) {
        let sign = if name.starts_with('-') { -1 } else { 1 };
        let minutes = i32::try_from(clock_minutes(rest)).unwrap_or(0);
        return Offset::from_seconds(sign * minutes * 60)
            .map(TimeZone::fixed)
            .unwrap_or(TimeZone::UTC);
    }
    jiff::tz::db().get(name).unwrap_or(TimeZone::UTC)
}

/// Every scope any pool knows, plus strays.
static ALL_SCOPES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut all: Vec<&'static str> = Vec::new();
    let pools = RESOURCES
        .iter()
        .map(|r| r.2)
        .chain(OAUTH.iter().map(|o| o.1))
        .chain(std::iter::once(STRAY_SCOPES));
    for pool in pools {
        for s in pool {
            if !all.contains(s) {
                all.push(s);
            }
        }
    }
    all
});

impl RequestRaw {
    fn build(&self, catalog: &Catalog) -> Value {
        // The target: mostly one the document defines.
        let (list, id, defined, pool): (&str, &str, Vec<&str>, Vec<&str>) = match self.target.0 {
            0..8 => {
                let t = pick(&self.target.1, &catalog.targets);
                let pool = pool_of(t.list, t.id);
                (t.list, t.id, t.scopes.clone(), pool)
            }
            8 => {
                // A pool id, sometimes one this document leaves out.
                let ids: Vec<(&str, &str)> = RESOURCES
                    .iter()
                    .map(|r| ("resource", r.0))
                    .chain(OAUTH.iter().map(|o| ("connection", o.0)))
                    .chain(SCOPELESS.iter().map(|s| ("connection", s.0)))
                    .collect();
                let (list, id) = pick(&self.target.1, &ids);
                let defined = catalog
                    .targets
                    .iter()
                    .find(|t| t.list == list && t.id == id)
                    .map(|t| t.scopes.clone())
                    .unwrap_or_default();
                (list, id, defined, pool_of(list, id))
            }
            _ => {
                let id = pick_str(&self.target.1, STRAY_TARGETS);
                let list = if id.ends_with("api") {
                    "resource"
                } else {
                    "connection"
                };
                (list, id, Vec::new(), Vec::new())
            }
        };

        let scope = |from: &ScopeFrom| -> &'static str {
            match from {
                ScopeFrom::Defined(ix) if !defined.is_empty() => pick(ix, &defined),
                ScopeFrom::Pool(ix) if !pool.is_empty() => pick(ix, &pool),
                ScopeFrom::Defined(ix) | ScopeFrom::Pool(ix) | ScopeFrom::Stray(ix) => {
                    pick(ix, &ALL_SCOPES)
                }
            }
        };
        let scope_list = |(state, froms): &(u8, Vec<ScopeFrom>)| -> Option<Value> {
            match state {
                0..2 => None,
                2 => Some(Value::Null),
                _ => Some(Value::Array(
                    froms.iter().map(|f| json!(scope(f))).collect(),
                )),
            }
        };

        let mut out = Map::new();
        out.insert(
            "grantType".into(),
            json!(pick_str(&self.grant_type, GRANT_TYPES)),
        );

        let mut client = self.client.clone();
        if let Some(Value::Object(c)) = &mut client {
            match self.allowed_scopes.0 {
                0..4 => {}
                4 => {
                    c.insert("allowedScopes".into(), Value::Null);
                }
                _ => {
                    let mut map = Map::new();
                    for (same, other, mask) in &self.allowed_scopes.1 {
                        let (key, scopes): (&str, Vec<&str>) = if *same {
                            let mut scopes = if pool.is_empty() {
                                Vec::new()
                            } else {
                                subset(&pool, *mask, 0)
                            };
                            // Now and then an empty list: the client may use nothing there.
                            if *mask >= 56 {
                                scopes.clear();
                            }
                            (id, scopes)
                        } else {
                            let t = pick(other, &catalog.targets);
                            (t.id, subset(&t.scopes, *mask, 0))
                        };
                        map.insert(key.into(), strings(&scopes));
                    }
                    c.insert("allowedScopes".into(), Value::Object(map));
                }
            }
        }
        insert(&mut out, "client", client);
        insert(&mut out, "user", self.user.clone());
        insert(&mut out, "claims", self.claims.clone());
        insert(&mut out, "actor", self.actor.clone());
        insert(&mut out, "subject", self.subject.clone());
        insert(&mut out, "auth", self.auth.clone());
        out.insert("target".into(), json!({ list: id }));
        insert(&mut out, "requestedScopes", scope_list(&self.requested));
        // Consent is less common than a requested list.
        let consented = match self.consented.0 {
            0..4 => None,
            state => scope_list(&(state - 3, self.consented.1.clone())),
        };
        insert(&mut out, "consentedScopes", consented);
        insert(&mut out, "context", self.context.clone());
        match self.explain {
            1 => {
                out.insert("explain".into(), json!(true));
            }
            2 => {
                out.insert("explain".into(), json!(false));
            }
            _ => {}
        }
        Value::Object(out)
    }
}

/// The scope pool of a target id: what documents may define for it.
fn pool_of(list: &str, id: &str) -> Vec<&'static str> {
    if list == "resource" {
        RESOURCES
            .iter()
            .find(|r| r.0 == id)
            .map(|r| r.2.to_vec())
            .unwrap_or_default()
    } else {
        OAUTH
            .iter()
            .find(|o| o.0 == id)
            .map(|o| o.1.to_vec())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    #[test]
    fn generates_every_key_and_operator() {
        let mut runner = TestRunner::deterministic();
        let strategy = case();
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..300 {
            let (doc, requests) = strategy.new_tree(&mut runner).unwrap().current();
            assert!(!requests.is_empty());
            for p in doc["policies"].as_array().unwrap() {
                for c in p["subject"]["conditions"].as_array().into_iter().flatten() {
                    let key = c["key"].as_str().unwrap();
                    let family = if key.starts_with("jwtClaims") {
                        "jwtClaims"
                    } else {
                        key
                    };
                    seen.insert(format!("{family} {}", c["op"].as_str().unwrap()));
                }
            }
        }
        for op in [
            "equal",
            "notEqual",
            "in",
            "notIn",
            "contains",
            "exists",
            "notExists",
        ] {
            for key in ["client.clientid", "user.roles", "jwtClaims", "actor.sub"] {
                assert!(seen.contains(&format!("{key} {op}")), "{key} {op}");
            }
        }
        assert!(seen.contains("request.ip inCidr"));
        assert!(seen.contains("request.time between"));
        for seen_here in [
            "auth.age lessThan",
            "auth.age greaterThan",
            "jwtClaims lessThan",
            "auth.methods contains",
            "auth.level in",
        ] {
            assert!(seen.contains(seen_here), "{seen_here}");
        }
    }
}
