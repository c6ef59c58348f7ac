//! Conditions: the compiled form of one `{ key, op, value/values }` and how it holds on a request.

use std::cmp::Ordering;
use std::net::IpAddr;

use ipnet::IpNet;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use crate::node::Node;
use crate::request::Request;

/// The attribute a condition reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    ClientId,
    ClientName,
    ClientTags,
    ClientRegistrationType,
    ClientStatus,
    UserSub,
    UserRoles,
    UserTenantIds,
    UserPermissions,
    /// `jwtClaims.<path>`, the path split into object member names.
    Claim(Vec<String>),
    ActorClientId,
    ActorSub,
    ClientTenantId,
    SubjectClientId,
    SubjectAudience,
    RequestIp,
    RequestTime,
    AuthMethods,
    AuthLevel,
    AuthAge,
}

/// Where a key's value comes from: the client's record, the user's, or the request itself (the
/// inbound token's claims, the exchange's parties, the address and time). Reach decides the first
/// two from the directory and the rest from what a grant type's requests can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Client,
    User,
    /// `jwtClaims.*`.
    Claims,
    /// `actor.*`, `subject.*`: only a token exchange has them.
    Exchange,
    /// `request.ip`, `request.time`.
    Context,
    /// `auth.*`: how the user authenticated; a fresh authentication can change it (step-up).
    Auth,
}

/// What kind of value a key holds, which decides the operators and operands it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyType {
    String,
    List,
    Json,
    Ip,
    Time,
    /// A whole number (`auth.age`).
    Number,
}

/// The fixed keys, as written in documents.
pub(crate) const FIXED_KEYS: [(&str, Key); 19] = [
    ("client.clientid", Key::ClientId),
    ("client.name", Key::ClientName),
    ("client.tags", Key::ClientTags),
    ("client.registrationType", Key::ClientRegistrationType),
    ("client.status", Key::ClientStatus),
    ("user.sub", Key::UserSub),
    ("user.roles", Key::UserRoles),
    ("user.tenantIds", Key::UserTenantIds),
    ("user.permissions", Key::UserPermissions),
    ("actor.clientid", Key::ActorClientId),
    ("actor.sub", Key::ActorSub),
    ("client.tenantId", Key::ClientTenantId),
    ("subject.clientid", Key::SubjectClientId),
    ("subject.audience", Key::SubjectAudience),
    ("request.ip", Key::RequestIp),
    ("request.time", Key::RequestTime),
    ("auth.methods", Key::AuthMethods),
    ("auth.level", Key::AuthLevel),
    ("auth.age", Key::AuthAge),
];

impl Key {
    pub(crate) fn source(&self) -> Source {
        match self {
            Key::ClientId
            | Key::ClientName
            | Key::ClientTags
            | Key::ClientRegistrationType
            | Key::ClientStatus
            | Key::ClientTenantId => Source::Client,
            Key::UserSub | Key::UserRoles | Key::UserTenantIds | Key::UserPermissions => {
                Source::User
            }
            Key::Claim(_) => Source::Claims,
            Key::ActorClientId | Key::ActorSub | Key::SubjectClientId | Key::SubjectAudience => {
                Source::Exchange
            }
            Key::RequestIp | Key::RequestTime => Source::Context,
            Key::AuthMethods | Key::AuthLevel | Key::AuthAge => Source::Auth,
        }
    }

    pub(crate) fn key_type(&self) -> KeyType {
        match self {
            Key::ClientId
            | Key::ClientName
            | Key::ClientRegistrationType
            | Key::ClientStatus
            | Key::UserSub
            | Key::ActorClientId
            | Key::ActorSub
            | Key::ClientTenantId
            | Key::SubjectClientId
            | Key::SubjectAudience
            | Key::AuthLevel => KeyType::String,
            Key::ClientTags
            | Key::UserRoles
            | Key::UserTenantIds
            | Key::UserPermissions
            | Key::AuthMethods => KeyType::List,
            Key::AuthAge => KeyType::Number,
            Key::Claim(_) => KeyType::Json,
            Key::RequestIp => KeyType::Ip,
            Key::RequestTime => KeyType::Time,
        }
    }

    /// Reads the attribute from a request.
    pub(crate) fn read<'r>(&self, r: &'r Request) -> Attr<'r> {
        let client = r.client.as_ref();
        let user = r.user.as_ref();
        let actor = r.actor.as_ref();
        let context = r.context.as_ref();
        let auth = r.auth.as_ref();
        let text = |s: Option<&'r String>| s.map_or(Attr::Absent, |s| Attr::Str(s));
        let list = |l: Option<&'r Vec<String>>| l.map_or(Attr::Absent, |l| Attr::List(l));
        match self {
            Key::ClientId => text(client.and_then(|c| c.client_id.as_ref())),
            Key::ClientName => text(client.and_then(|c| c.name.as_ref())),
            Key::ClientTags => list(client.and_then(|c| c.tags.as_ref())),
            Key::ClientRegistrationType => text(client.and_then(|c| c.registration_type.as_ref())),
            Key::ClientStatus => text(client.and_then(|c| c.status.as_ref())),
            Key::UserSub => text(user.and_then(|u| u.sub.as_ref())),
            Key::UserRoles => list(user.and_then(|u| u.roles.as_ref())),
            Key::UserTenantIds => list(user.and_then(|u| u.tenant_ids.as_ref())),
            Key::UserPermissions => list(user.and_then(|u| u.permissions.as_ref())),
            Key::ActorClientId => text(actor.and_then(|a| a.client_id.as_ref())),
            Key::ActorSub => text(actor.and_then(|a| a.sub.as_ref())),
            Key::ClientTenantId => text(client.and_then(|c| c.tenant_id.as_ref())),
            Key::SubjectClientId => text(r.subject.as_ref().and_then(|s| s.client_id.as_ref())),
            Key::SubjectAudience => text(r.subject.as_ref().and_then(|s| s.audience.as_ref())),
            Key::RequestIp => context.and_then(|c| c.ip).map_or(Attr::Absent, Attr::Ip),
            Key::RequestTime => context
                .and_then(|c| c.time)
                .map_or(Attr::Absent, Attr::Time),
            Key::AuthMethods => list(auth.and_then(|a| a.methods.as_ref())),
            Key::AuthLevel => text(auth.and_then(|a| a.level.as_ref())),
            Key::AuthAge => auth.and_then(|a| a.age).map_or(Attr::Absent, Attr::Whole),
            Key::Claim(path) => {
                let mut at = r.claims.as_ref();
                for name in path {
                    at = at.and_then(|v| v.as_object()).and_then(|o| member(o, name));
                }
                match at {
                    None | Some(Value::Null) => Attr::Absent,
                    Some(Value::String(s)) => Attr::Str(s),
                    Some(v) => Attr::Json(v),
                }
            }
        }
    }
}

impl<'r> Attr<'r> {
    /// Calls `f` with every string the attribute carries: a string, each element of a list, or
    /// each string element of a JSON array claim. These are the values the index files under.
    pub(crate) fn for_each_str(self, mut f: impl FnMut(&'r str)) {
        match self {
            Attr::Str(s) => f(s),
            Attr::List(list) => list.iter().for_each(|s| f(s)),
            Attr::Json(Value::Array(items)) => items.iter().filter_map(Value::as_str).for_each(f),
            Attr::Json(_) | Attr::Absent | Attr::Ip(_) | Attr::Time(_) | Attr::Whole(_) => {}
        }
    }

    /// The attribute as a number, when it is one: `auth.age`, or a numeric claim.
    fn number(self) -> Option<serde_json::Number> {
        match self {
            Attr::Whole(n) => Some(n.into()),
            Attr::Json(Value::Number(n)) => Some(n.clone()),
            _ => None,
        }
    }
}

/// A member of a claims object. Claims objects are small: comparing names in place is faster than
/// hashing the name with the map's DoS-resistant hasher.
fn member<'r>(object: &'r serde_json::Map<String, Value>, name: &str) -> Option<&'r Value> {
    if object.len() <= 16 {
        object
            .iter()
            .find(|(k, _)| k.as_str() == name)
            .map(|(_, v)| v)
    } else {
        object.get(name)
    }
}

/// An attribute's value on one request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Attr<'r> {
    Absent,
    Str(&'r str),
    List(&'r [String]),
    /// A claim that is not a string: number, boolean, array or object.
    Json(&'r Value),
    Ip(IpAddr),
    Time(Timestamp),
    /// `auth.age`.
    Whole(u64),
}

/// A condition operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Equal,
    NotEqual,
    In,
    NotIn,
    Contains,
    Exists,
    NotExists,
    InCidr,
    Between,
    LessThan,
    GreaterThan,
}

pub(crate) const OPS: [(&str, Op); 11] = [
    ("equal", Op::Equal),
    ("notEqual", Op::NotEqual),
    ("in", Op::In),
    ("notIn", Op::NotIn),
    ("contains", Op::Contains),
    ("exists", Op::Exists),
    ("notExists", Op::NotExists),
    ("inCidr", Op::InCidr),
    ("between", Op::Between),
    ("lessThan", Op::LessThan),
    ("greaterThan", Op::GreaterThan),
];

/// The condition keys a policy document may use besides `jwtClaims.<path>`, in the order the
/// engine lists them (for editors offering them).
pub fn key_names() -> impl Iterator<Item = &'static str> {
    FIXED_KEYS.iter().map(|(name, _)| *name)
}

/// The operator names a policy document may use, in the order the engine lists them.
pub fn operator_names() -> impl Iterator<Item = &'static str> {
    OPS.iter().map(|(name, _)| *name)
}

/// A condition's operand, compiled.
#[derive(Debug, Clone)]
pub(crate) enum Operand {
    None,
    Values(ValueSet),
    Cidrs(Vec<IpNet>),
    Window(Window),
    /// The number of `lessThan` / `greaterThan`.
    Number(serde_json::Number),
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    pub(crate) key: Key,
    pub(crate) op: Op,
    pub(crate) operand: Operand,
    /// The explanation when this condition is the first to fail, e.g.
    /// `condition 0: user.roles contains SRE`.
    pub(crate) failed: Box<str>,
}

impl Condition {
    /// Whether the condition holds. Absent data makes every operator false but `notExists`.
    pub(crate) fn holds(&self, request: &Request) -> bool {
        let attr = self.key.read(request);
        match (self.op, &self.operand) {
            (Op::Exists, _) => !matches!(attr, Attr::Absent),
            (Op::NotExists, _) => matches!(attr, Attr::Absent),
            (_, _) if matches!(attr, Attr::Absent) => false,
            (Op::Equal, Operand::Values(set)) => set.equals(attr),
            (Op::NotEqual, Operand::Values(set)) => !set.equals(attr),
            (Op::In, Operand::Values(set)) => set.has_some(attr),
            (Op::NotIn, Operand::Values(set)) => !set.has_some(attr),
            (Op::Contains, Operand::Values(set)) => set.contained_in(attr),
            (Op::InCidr, Operand::Cidrs(nets)) => match attr {
                Attr::Ip(ip) => {
                    let ip = canonical_ip(ip);
                    nets.iter().any(|n| n.contains(&ip))
                }
                _ => false,
            },
            (Op::Between, Operand::Window(w)) => match attr {
                Attr::Time(t) => w.contains(t),
                _ => false,
            },
            (Op::LessThan, Operand::Number(n)) => attr
                .number()
                .is_some_and(|a| number_cmp(&a, n) == Some(Ordering::Less)),
            (Op::GreaterThan, Operand::Number(n)) => attr
                .number()
                .is_some_and(|a| number_cmp(&a, n) == Some(Ordering::Greater)),
            // INVARIANT: validation pairs every operator with its operand kind; any other pairing
            // cannot be evaluated and so does not hold (fail closed).
            _ => false,
        }
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:10.1.2.3`) is compared as the IPv4 address it carries.
pub(crate) fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The set `V` of a condition's `value` (one element) or `values`. Strings are kept apart so the
/// common case compares `&str` with `&str`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ValueSet {
    /// INVARIANT: sorted and without duplicates.
    strings: Vec<Box<str>>,
    /// Non-string values; INVARIANT: no two are JSON-equal.
    others: Vec<Value>,
}

impl ValueSet {
    pub(crate) fn new(values: &[Node<'_>]) -> ValueSet {
        let mut set = ValueSet::default();
        for v in values {
            match v {
                Node::String(s) => set.strings.push((**s).into()),
                other => {
                    let other = other.to_value();
                    if !set.others.iter().any(|o| json_eq(o, &other)) {
                        set.others.push(other);
                    }
                }
            }
        }
        set.strings.sort_unstable();
        set.strings.dedup();
        set
    }

    fn len(&self) -> usize {
        self.strings.len() + self.others.len()
    }

    pub(crate) fn strings(&self) -> &[Box<str>] {
        &self.strings
    }

    /// Whether every element of `V` is a string.
    pub(crate) fn only_strings(&self) -> bool {
        self.others.is_empty()
    }

    fn has_str(&self, s: &str) -> bool {
        if self.strings.len() <= 8 {
            self.strings.iter().any(|x| str_eq(x, s))
        } else {
            self.strings.binary_search_by(|x| (**x).cmp(s)).is_ok()
        }
    }

    fn has_json(&self, v: &Value) -> bool {
        match v {
            Value::String(s) => self.has_str(s),
            other => self.others.iter().any(|o| json_eq(o, other)),
        }
    }

    /// `equal`: the attribute, as a set, is `V`.
    fn equals(&self, attr: Attr<'_>) -> bool {
        match attr {
            Attr::Str(s) => self.len() == 1 && self.has_str(s),
            Attr::List(list) => {
                self.others.is_empty()
                    && list.iter().all(|e| self.has_str(e))
                    && self.strings.iter().all(|s| list.iter().any(|e| **s == **e))
            }
            Attr::Json(Value::Array(items)) => {
                items.iter().all(|e| self.has_json(e))
                    && self
                        .strings
                        .iter()
                        .all(|s| items.iter().any(|e| e.as_str() == Some(s)))
                    && self
                        .others
                        .iter()
                        .all(|o| items.iter().any(|e| json_eq(o, e)))
            }
            Attr::Json(v) => self.len() == 1 && self.has_json(v),
            Attr::Absent | Attr::Ip(_) | Attr::Time(_) | Attr::Whole(_) => false,
        }
    }

    /// `in`: the attribute (a string or value) is in `V`, or some element of a list attribute is.
    fn has_some(&self, attr: Attr<'_>) -> bool {
        match attr {
            Attr::Str(s) => self.has_str(s),
            Attr::List(list) => list.iter().any(|e| self.has_str(e)),
            Attr::Json(Value::Array(items)) => items.iter().any(|e| self.has_json(e)),
            Attr::Json(v) => self.has_json(v),
            Attr::Absent | Attr::Ip(_) | Attr::Time(_) | Attr::Whole(_) => false,
        }
    }

    /// `contains`: every element of `V` is a substring of a string attribute, or an element of a
    /// list attribute.
    fn contained_in(&self, attr: Attr<'_>) -> bool {
        match attr {
            Attr::Str(s) => self.others.is_empty() && self.strings.iter().all(|v| s.contains(&**v)),
            Attr::List(list) => {
                self.others.is_empty()
                    && self.strings.iter().all(|v| list.iter().any(|e| **v == **e))
            }
            Attr::Json(Value::Array(items)) => {
                self.strings
                    .iter()
                    .all(|v| items.iter().any(|e| e.as_str() == Some(v)))
                    && self
                        .others
                        .iter()
                        .all(|o| items.iter().any(|e| json_eq(o, e)))
            }
            Attr::Json(_) | Attr::Absent | Attr::Ip(_) | Attr::Time(_) | Attr::Whole(_) => false,
        }
    }
}

/// String equality without a call into `memcmp` for the short strings policies and requests are
/// made of (ids, roles, scopes): up to 16 bytes are compared as two overlapping 8-byte words.
#[inline]
pub(crate) fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    if a.len() > 16 {
        return a == b;
    }
    match (
        a.first_chunk::<8>(),
        a.last_chunk::<8>(),
        b.first_chunk::<8>(),
        b.last_chunk::<8>(),
    ) {
        (Some(a0), Some(a1), Some(b0), Some(b1)) => a0 == b0 && a1 == b1,
        _ => a.iter().zip(b).all(|(x, y)| x == y),
    }
}

/// JSON equality with numbers compared by value (`5` = `5.0`), exact and case-sensitive otherwise.
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => number_eq(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Numbers in order by value, exactly: integers of any size against each other and against floats
/// without rounding through `f64`; `None` only for a NaN, which JSON cannot write.
pub(crate) fn number_cmp(x: &serde_json::Number, y: &serde_json::Number) -> Option<Ordering> {
    fn integer(n: &serde_json::Number) -> Option<i128> {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    }
    /// An integer against a float, exactly.
    fn int_float(i: i128, f: f64) -> Option<Ordering> {
        if f.is_nan() {
            return None;
        }
        // Every i64/u64 lies strictly inside ±2^127; beyond that the float is the larger one.
        if f >= 1.7e38 {
            return Some(Ordering::Less);
        }
        if f <= -1.7e38 {
            return Some(Ordering::Greater);
        }
        let whole = f.floor();
        // A whole float below 2^127 in magnitude converts to i128 exactly.
        let w = whole as i128;
        Some(match i.cmp(&w) {
            Ordering::Equal if f > whole => Ordering::Less,
            other => other,
        })
    }
    match (integer(x), integer(y)) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        (Some(a), None) => int_float(a, y.as_f64()?),
        (None, Some(b)) => int_float(b, x.as_f64()?).map(Ordering::reverse),
        (None, None) => x.as_f64()?.partial_cmp(&y.as_f64()?),
    }
}

/// Numbers are equal by value, exactly: an integer equals a float only when the float is that very
/// integer (no rounding through `f64`, which cannot hold every integer above 2^53).
fn number_eq(x: &serde_json::Number, y: &serde_json::Number) -> bool {
    fn integer(n: &serde_json::Number) -> Option<i128> {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    }
    fn float_is(f: Option<f64>, i: i128) -> bool {
        // Whole floats below 2^127 convert to i128 exactly.
        f.is_some_and(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 1.7e38 && f as i128 == i)
    }
    match (integer(x), integer(y)) {
        (Some(a), Some(b)) => a == b,
        (Some(a), None) => float_is(y.as_f64(), a),
        (None, Some(b)) => float_is(x.as_f64(), b),
        (None, None) => x.as_f64() == y.as_f64(),
    }
}

/// A weekly time window `[from, to)` in a time zone.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    /// Minutes since local midnight.
    pub(crate) from: u16,
    pub(crate) to: u16,
    /// Bit `d` set: the window opens on weekday `d` (0 = Monday).
    pub(crate) days: u8,
    pub(crate) tz: TimeZone,
}

impl Window {
    pub(crate) const ALL_DAYS: u8 = 0b111_1111;

    fn contains(&self, t: Timestamp) -> bool {
        let local = self.tz.to_datetime(t);
        let minute =
            u16::from(local.hour().unsigned_abs()) * 60 + u16::from(local.minute().unsigned_abs());
        let day = local.weekday().to_monday_zero_offset().unsigned_abs();
        let opens_on = |d: u8| self.days & (1 << d) != 0;
        if self.from < self.to {
            self.from <= minute && minute < self.to && opens_on(day)
        } else {
            // Across midnight: the part after midnight belongs to the window opened the day before.
            (minute >= self.from && opens_on(day)) || (minute < self.to && opens_on((day + 6) % 7))
        }
    }
}
