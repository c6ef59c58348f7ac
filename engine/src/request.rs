//! The request: everything a decision may look at, passed in by the caller.
//!
//! Every runtime reads a request by the rules here. A mapping of a request (`client.allowedScopes`,
//! `claims` at any depth) that names a key twice is refused rather than one of the values kept
//! (serde's maps keep the last): the component, which receives `allowedScopes` as a list of
//! entries, refuses a repeated target through [`Client::allowed_scopes_from_entries`] with the
//! same message.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt;
use std::net::IpAddr;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::error::RequestError;
use crate::path::Path;

/// The grant a token request uses. A refresh is evaluated under the grant that started the session.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", expecting = "a grant type name")]
pub enum GrantType {
    /// RFC 6749 §4.4: the client acting on its own behalf.
    ClientCredentials,
    /// RFC 6749 §4.1 with PKCE: a user present, consent applies.
    AuthorizationCode,
    /// RFC 8693: a subject token exchanged for another target.
    TokenExchange,
    /// RFC 7523 §2.1: a JWT assertion from a trusted issuer.
    JwtBearer,
}

impl GrantType {
    /// Every grant type, in the order of the policy document's names.
    pub const ALL: [GrantType; 4] = [
        GrantType::ClientCredentials,
        GrantType::AuthorizationCode,
        GrantType::TokenExchange,
        GrantType::JwtBearer,
    ];

    /// The name used in policy documents and requests.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::ClientCredentials => "client_credentials",
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::TokenExchange => "token_exchange",
            GrantType::JwtBearer => "jwt_bearer",
        }
    }

    /// Whether this grant type's requests may come without a user, and with one: no user under
    /// `client_credentials` (the client acts for itself), always one under `authorization_code`
    /// and `jwt_bearer` (the assertion's subject), either under `token_exchange` (the subject
    /// token's user, if it has one).
    pub fn user_presence(self) -> (bool, bool) {
        match self {
            GrantType::ClientCredentials => (true, false),
            GrantType::AuthorizationCode | GrantType::JwtBearer => (false, true),
            GrantType::TokenExchange => (true, true),
        }
    }

    /// Parses a policy-document grant type name.
    pub fn from_name(name: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == name)
    }

    /// RFC 8693's `grant_type` value at the token endpoint.
    pub const TOKEN_EXCHANGE_URN: &'static str = "urn:ietf:params:oauth:grant-type:token-exchange";

    /// RFC 7523's `grant_type` value at the token endpoint.
    pub const JWT_BEARER_URN: &'static str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

    /// The grant type a token endpoint `grant_type` value (RFC 6749 section 4) stands for:
    /// `client_credentials`, `authorization_code`, or the URNs of token exchange and JWT bearer.
    /// `None` for any other value, `refresh_token` included: a refresh is evaluated under the
    /// grant type that started the session, which the caller knows and the value does not say.
    pub fn from_oauth_grant_type(value: &str) -> Option<GrantType> {
        GrantType::ALL
            .into_iter()
            .find(|g| g.oauth_grant_type() == value)
    }

    /// The token endpoint's `grant_type` value for this grant type.
    pub fn oauth_grant_type(self) -> &'static str {
        match self {
            GrantType::ClientCredentials => "client_credentials",
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::TokenExchange => GrantType::TOKEN_EXCHANGE_URN,
            GrantType::JwtBearer => GrantType::JWT_BEARER_URN,
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for GrantType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A decision request: who asks (client, user, claims, actor), for what (target and scopes), and
/// in which context (address and time). The caller supplies time; the engine reads no clock.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a request (a mapping with `grantType` and `target`)"
)]
pub struct Request {
    /// The grant the token request uses.
    pub grant_type: GrantType,
    /// The OAuth client asking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<Client>,
    /// The user, when one is present (absent for autonomous agents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The inbound JWT's claims (`jwtClaims.*`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_claims"
    )]
    pub claims: Option<Value>,
    /// The acting party of a token exchange (`act`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    /// The subject token of a token exchange: whose token it is and for which audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Subject>,
    /// How the user authenticated (`auth.*`), when a user is present and the caller knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Auth>,
    /// The resource or connection asked for.
    pub target: Target,
    /// The scopes asked for; absent means everything policy allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_scopes: Option<Vec<String>>,
    /// The scopes the user consented to, when consent applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consented_scopes: Option<Vec<String>>,
    /// The request's address and time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
    /// Whether to explain every candidate policy that did not match (`notMatched`). Hot paths that
    /// only need the answer turn it off.
    #[serde(default = "default_explain")]
    pub explain: bool,
}

fn default_explain() -> bool {
    true
}

/// The OAuth client, as far as policy is concerned.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a client (a mapping)"
)]
pub struct Client {
    /// `client.clientid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `client.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `client.tags`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// `client.registrationType`: `static`, `dcr` or `cimd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_type: Option<String>,
    /// `client.status`: `verified` or `unverified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The scopes the client's configuration permits, per target id. A target missing from the map
    /// is not limited by the client's configuration.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_allowed_scopes"
    )]
    pub allowed_scopes: Option<BTreeMap<String, Vec<String>>>,
    /// `client.tenantId`: the organisation an autonomous agent acts for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

/// The user behind the request.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a user (a mapping)"
)]
pub struct User {
    /// `user.sub`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// `user.roles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// `user.tenantIds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_ids: Option<Vec<String>>,
    /// `user.permissions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
}

/// The acting party of a token exchange (the `act` claim).
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "an actor (a mapping)"
)]
pub struct Actor {
    /// `actor.clientid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `actor.sub`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
}

/// The subject token of a token exchange, as far as policy is concerned.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a subject (a mapping)"
)]
pub struct Subject {
    /// `subject.clientid`: the client the subject token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `subject.audience`: the subject token's audience (its `aud`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
}

/// How the user authenticated: the methods, the level, and how long ago. The caller computes the
/// age from the authentication's time and the request's (the engine reads no clock).
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "an authentication (a mapping)"
)]
pub struct Auth {
    /// `auth.methods`: the methods used, as in an ID token's `amr` (`pwd`, `otp`, `fed`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    /// `auth.level`: the authentication context class reached, as in `acr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// `auth.age`: whole seconds since the user authenticated (0 when the authentication's time is
    /// after the request's).
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<u64>, minimum = 0))]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_age"
    )]
    pub age: Option<u64>,
}

impl Auth {
    /// How far an authentication's time may lie after the request's and still count (clocks of
    /// servers differ a little): its age is then 0.
    pub const CLOCK_SKEW_SECONDS: i64 = 60;

    /// The age of an authentication at `auth_time` (seconds since the epoch, as in `auth_time`)
    /// when the request happens at `now`: whole seconds, 0 when `auth_time` is later by at most
    /// [`Auth::CLOCK_SKEW_SECONDS`], and `None` (unknown: absent data never grants) when it is
    /// later than that: an authentication from the future is no authentication.
    pub fn age_at(auth_time: i64, now: jiff::Timestamp) -> Option<u64> {
        let age = now.as_second().saturating_sub(auth_time);
        if age < -Auth::CLOCK_SKEW_SECONDS {
            return None;
        }
        Some(u64::try_from(age).unwrap_or(0))
    }
}

/// What is asked for: a resource or a connection, by id.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a target (`{\"resource\": id}` or `{\"connection\": id}`)"
)]
pub enum Target {
    /// An API or MCP server.
    Resource(String),
    /// A vaulted downstream credential.
    Connection(String),
}

impl Target {
    /// The target's id.
    pub fn id(&self) -> &str {
        match self {
            Target::Resource(id) | Target::Connection(id) => id,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Resource(id) => write!(f, "resource `{id}`"),
            Target::Connection(id) => write!(f, "connection `{id}`"),
        }
    }
}

/// The request's context.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a context (a mapping)"
)]
pub struct Context {
    /// `request.ip`.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = "ip"))]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_ip"
    )]
    pub ip: Option<IpAddr>,
    /// `request.time`, an RFC 3339 instant.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_time"
    )]
    pub time: Option<jiff::Timestamp>,
}

fn deserialize_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<jiff::Timestamp>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    text.map(|t| {
        t.parse::<jiff::Timestamp>().map_err(|e| {
            serde::de::Error::custom(format_args!("`{t}` is not an RFC 3339 instant: {e}"))
        })
    })
    .transpose()
}

/// `auth.age`: a whole number of seconds, 0 or more.
fn deserialize_age<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    struct Age;
    impl Visitor<'_> for Age {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an age in whole seconds (0 or more)")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<u64>, E> {
            Ok(Some(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<u64>, E> {
            u64::try_from(v)
                .map(Some)
                .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
        }
        fn visit_none<E: de::Error>(self) -> Result<Option<u64>, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Option<u64>, E> {
            Ok(None)
        }
    }
    d.deserialize_any(Age)
}

/// `context.ip`: an IPv4 or IPv6 address, read without a copy of its text.
fn deserialize_ip<'de, D: Deserializer<'de>>(d: D) -> Result<Option<IpAddr>, D::Error> {
    struct Address;
    impl Visitor<'_> for Address {
        type Value = IpAddr;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an IP address")
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<IpAddr, E> {
            text.parse()
                .map_err(|_| E::custom(format_args!("`{text}` is not an IP address")))
        }
    }
    struct MaybeAddress;
    impl<'de> Visitor<'de> for MaybeAddress {
        type Value = Option<IpAddr>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an IP address")
        }
        fn visit_none<E: de::Error>(self) -> Result<Option<IpAddr>, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Option<IpAddr>, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<IpAddr>, D::Error> {
            d.deserialize_str(Address).map(Some)
        }
    }
    d.deserialize_option(MaybeAddress)
}

/// The message for a key written twice in a mapping of a request, whichever runtime reads it.
fn duplicate_key(path: &Path<'_>, key: &str) -> String {
    format!("{path}: duplicate key `{key}`")
}

/// Adds an entry to a map that must not name a key twice.
fn insert_once<V>(
    map: &mut BTreeMap<String, V>,
    path: &Path<'_>,
    key: String,
    value: V,
) -> Result<(), String> {
    match map.entry(key) {
        Entry::Occupied(entry) => Err(duplicate_key(path, entry.key())),
        Entry::Vacant(entry) => {
            entry.insert(value);
            Ok(())
        }
    }
}

/// Calls `f` with the path of `client.allowedScopes`.
fn at_allowed_scopes<T>(f: impl FnOnce(&Path<'_>) -> T) -> T {
    let client = Path::Root.key("client");
    f(&client.key("allowedScopes"))
}

impl Client {
    /// `allowedScopes` from `(target, scopes)` entries, as a runtime that does not read JSON
    /// receives them (the component's WIT list). A target given twice is refused with the error a
    /// JSON request gets for it.
    pub fn allowed_scopes_from_entries(
        entries: impl IntoIterator<Item = (String, Vec<String>)>,
    ) -> Result<BTreeMap<String, Vec<String>>, RequestError> {
        at_allowed_scopes(|path| {
            let mut map = BTreeMap::new();
            for (target, scopes) in entries {
                insert_once(&mut map, path, target, scopes).map_err(RequestError::Invalid)?;
            }
            Ok(map)
        })
    }
}

fn deserialize_allowed_scopes<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<BTreeMap<String, Vec<String>>>, D::Error> {
    struct AllowedScopes;
    impl<'de> Visitor<'de> for AllowedScopes {
        type Value = Option<BTreeMap<String, Vec<String>>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping of target ids to lists of scopes")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Self::Value, A::Error> {
            at_allowed_scopes(|path| {
                let mut map = BTreeMap::new();
                while let Some(target) = entries.next_key::<String>()? {
                    let scopes: Vec<String> = entries.next_value()?;
                    insert_once(&mut map, path, target, scopes).map_err(de::Error::custom)?;
                }
                Ok(Some(map))
            })
        }
    }
    d.deserialize_option(AllowedScopes)
}

/// `claims`: any JSON value, `null` as absent, and no mapping at any depth naming a key twice.
fn deserialize_claims<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    d.deserialize_option(MaybeClaims)
}

/// Reads claims given as JSON text apart from a request (the component's WIT request carries them
/// so), by the same rules as the `claims` of a JSON request.
pub(crate) fn claims_from_json(json: &str) -> Result<Option<Value>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    let claims = de.deserialize_option(MaybeClaims)?;
    de.end()?;
    Ok(claims)
}

/// `claims` or its absence.
struct MaybeClaims;

impl<'de> Visitor<'de> for MaybeClaims {
    type Value = Option<Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the claims (any JSON value)")
    }
    fn visit_none<E: de::Error>(self) -> Result<Option<Value>, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<Value>, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
        let root = Path::Root.key("claims");
        Claims(&root).deserialize(d).map(Some)
    }
}

/// One value of the claims, at its path: a `serde_json::Value`, read as its own visitor reads it
/// but refusing a mapping that names a key twice.
struct Claims<'p>(&'p Path<'p>);

impl<'de> DeserializeSeed<'de> for Claims<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Claims<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // As serde_json's own `Value` reads a number no JSON text can write (infinite or NaN).
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(Claims(&self.0.index(items.len())))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = entries.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(duplicate_key(self.0, &key)));
            }
            let value = entries.next_value_seed(Claims(&self.0.key(&key)))?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_endpoint_grant_types_map_both_ways() {
        for g in GrantType::ALL {
            assert_eq!(
                GrantType::from_oauth_grant_type(g.oauth_grant_type()),
                Some(g)
            );
        }
        assert_eq!(
            GrantType::from_oauth_grant_type("urn:ietf:params:oauth:grant-type:token-exchange"),
            Some(GrantType::TokenExchange)
        );
        assert_eq!(
            GrantType::from_oauth_grant_type("urn:ietf:params:oauth:grant-type:jwt-bearer"),
            Some(GrantType::JwtBearer)
        );
        // A refresh is judged under the grant that started the session; the policy names are not
        // token endpoint values.
        for other in [
            "refresh_token",
            "token_exchange",
            "jwt_bearer",
            "password",
            "",
        ] {
            assert_eq!(GrantType::from_oauth_grant_type(other), None, "{other}");
        }
    }
}
