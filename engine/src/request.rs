//! The request: everything a decision may look at, passed in by the caller.

use std::net::IpAddr;

use serde::{Deserialize, Deserializer, Serialize};

/// The grant a token request uses. A refresh is evaluated under the grant that started the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

    /// Parses a policy-document grant type name.
    pub fn from_name(name: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == name)
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<serde_json::Value>,
    /// The acting party of a token exchange (`act`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    /// The subject token of a token exchange: whose token it is and for which audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Subject>,
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_scopes: Option<std::collections::BTreeMap<String, Vec<String>>>,
    /// `client.tenantId`: the organisation an autonomous agent acts for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

/// The user behind the request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Actor {
    /// `actor.clientid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `actor.sub`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
}

/// The subject token of a token exchange, as far as policy is concerned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subject {
    /// `subject.clientid`: the client the subject token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `subject.audience`: the subject token's audience (its `aud`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
}

/// What is asked for: a resource or a connection, by id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Context {
    /// `request.ip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// `request.time`, an RFC 3339 instant.
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
