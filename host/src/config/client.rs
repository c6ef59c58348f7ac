//! Clients and users as configured (in the file or through the admin API), and the closed sets
//! of values their fields take.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tollgate_engine::ValidationError;
use utoipa::ToSchema;

/// How a client authenticates at the token endpoint (RFC 7591 `token_endpoint_auth_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", expecting = "a token endpoint auth method")]
pub enum TokenEndpointAuthMethod {
    /// A secret in the `Authorization: Basic` header (RFC 6749 §2.3.1).
    #[default]
    ClientSecretBasic,
    /// A secret in the form body.
    ClientSecretPost,
    /// A JWT assertion signed with one of the client's keys (RFC 7523 §2.2).
    PrivateKeyJwt,
    /// Nothing but the client id: a public client, with PKCE.
    None,
}

/// How a client came to be known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase", expecting = "a registration type")]
pub enum RegistrationType {
    /// Declared by an administrator (configuration file or admin API).
    #[default]
    Static,
    /// Registered itself (RFC 7591 dynamic registration).
    Dcr,
    /// Described by a client ID metadata document at its `client_id` URL.
    Cimd,
}

/// Whether an administrator vouches for a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase", expecting = "a client status")]
pub enum ClientStatus {
    /// Vouched for.
    #[default]
    Verified,
    /// Not (yet): self-registered clients start here.
    Unverified,
}

/// A grant type a client may be allowed, by its short name (the policy document's names, plus
/// `refresh_token`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case", expecting = "a grant type")]
pub enum GrantTypeName {
    /// RFC 6749 §4.4.
    ClientCredentials,
    /// RFC 6749 §4.1 with PKCE.
    AuthorizationCode,
    /// RFC 8693.
    TokenExchange,
    /// RFC 7523 §2.1.
    JwtBearer,
    /// RFC 6749 §6.
    RefreshToken,
}

/// The algorithm this server signs its tokens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(expecting = "a signing algorithm")]
pub enum SigningAlgorithm {
    /// ECDSA on P-256 with SHA-256 (the default: small keys, fast signing).
    #[default]
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (2048-bit keys).
    RS256,
    /// Ed25519.
    EdDSA,
}

/// The closed sets above spell themselves as in the configuration and in OAuth.
macro_rules! names {
    ($($ty:ident { $($variant:ident => $name:literal),+ $(,)? })+) => {$(
        impl $ty {
            /// The name, as written in the configuration and on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }

            /// The value a name spells, if any.
            pub fn from_name(name: &str) -> Option<$ty> {
                match name { $($name => Some($ty::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )+};
}

names! {
    TokenEndpointAuthMethod {
        ClientSecretBasic => "client_secret_basic",
        ClientSecretPost => "client_secret_post",
        PrivateKeyJwt => "private_key_jwt",
        None => "none",
    }
    RegistrationType { Static => "static", Dcr => "dcr", Cimd => "cimd" }
    ClientStatus { Verified => "verified", Unverified => "unverified" }
    GrantTypeName {
        ClientCredentials => "client_credentials",
        AuthorizationCode => "authorization_code",
        TokenExchange => "token_exchange",
        JwtBearer => "jwt_bearer",
        RefreshToken => "refresh_token",
    }
    SigningAlgorithm { ES256 => "ES256", RS256 => "RS256", EdDSA => "EdDSA" }
}

impl GrantTypeName {
    /// The policy engine's grant type; `None` for `refresh_token`, which is decided under the
    /// grant that started the session.
    pub fn engine(self) -> Option<tollgate_engine::GrantType> {
        use tollgate_engine::GrantType;
        match self {
            GrantTypeName::ClientCredentials => Some(GrantType::ClientCredentials),
            GrantTypeName::AuthorizationCode => Some(GrantType::AuthorizationCode),
            GrantTypeName::TokenExchange => Some(GrantType::TokenExchange),
            GrantTypeName::JwtBearer => Some(GrantType::JwtBearer),
            GrantTypeName::RefreshToken => None,
        }
    }
}

/// An OAuth client as configured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a client (a mapping)"
)]
pub struct ClientConfig {
    /// The client id.
    #[schema(min_length = 1)]
    pub client_id: String,
    /// Display name (`client.name`).
    #[serde(default)]
    pub name: Option<String>,
    /// The secret: a literal (development) or `env:VAR`. Stored hashed; never returned.
    #[serde(default, skip_serializing)]
    #[schema(write_only)]
    pub secret: Option<String>,
    /// How it authenticates at the token endpoint.
    #[serde(default)]
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// The grant types it may use.
    #[serde(default)]
    pub grant_types: Vec<GrantTypeName>,
    /// `client.tags`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// How it came to be known.
    #[serde(default)]
    pub registration_type: RegistrationType,
    /// Whether an administrator vouches for it.
    #[serde(default)]
    pub status: ClientStatus,
    /// The scopes the client may receive, per target id.
    #[serde(default)]
    pub allowed_scopes: BTreeMap<String, Vec<String>>,
    /// Redirect URIs (authorization code).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Public keys for `private_key_jwt` (a JWK Set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    /// The tenant this client acts for when no user is present: an autonomous agent's token
    /// exchanged for a connection gets that tenant's credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// The resources (ids) this client is the resource server for: it may exchange and introspect
    /// tokens whose audience is one of theirs. A client may always exchange and introspect its own
    /// tokens; no other client's without this.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serves: Vec<String>,
    /// Who is accountable for this client (a person, team or mailbox; free text): shown with it
    /// wherever clients are listed. Not a policy attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// A disabled client authenticates nowhere and obtains nothing; its tokens are inactive.
    /// Set by `POST /admin/clients/{id}/disable` and `/enable` (a replacement through the admin
    /// API keeps the stored value), or in the configuration file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Its tokens issued at or before this time (Unix seconds) are inactive, whether it is
    /// enabled again or not: set to the time of the last disabling, and kept by a replacement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_not_before: Option<i64>,
}

/// The grant types a public client (`none`: no secret, no key) may use: RFC 6749 §4.4 keeps client
/// credentials to confidential clients, and a token exchange or assertion by a client that proves
/// nothing about itself would let anyone holding a token or an assertion use it.
pub const PUBLIC_CLIENT_GRANTS: [GrantTypeName; 2] = [
    GrantTypeName::AuthorizationCode,
    GrantTypeName::RefreshToken,
];

impl ClientConfig {
    /// Whether a token of this client issued at `issued_at` (Unix seconds) is still good: the
    /// client is not disabled and did not revoke everything issued until then.
    pub fn honours_token_issued_at(&self, issued_at: i64) -> bool {
        !self.disabled && self.tokens_not_before.is_none_or(|cut| issued_at > cut)
    }

    /// Whether the client authenticates with nothing but its id.
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == TokenEndpointAuthMethod::None
    }

    /// Whether the client's configuration lists this grant.
    pub fn may_use(&self, grant: GrantTypeName) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Every problem with this client, each with its path below `path` (`clients[2]`).
    pub fn problems(&self, path: &str) -> Vec<ValidationError> {
        let mut problems = Vec::new();
        if self.client_id.is_empty() {
            problems.push(ValidationError {
                path: format!("{path}.clientId"),
                message: "must not be empty".into(),
            });
        }
        for (i, grant) in self.grant_types.iter().enumerate() {
            if self.is_public() && !PUBLIC_CLIENT_GRANTS.contains(grant) {
                problems.push(ValidationError {
                    path: format!("{path}.grantTypes[{i}]"),
                    message: format!(
                        "a public client (`tokenEndpointAuthMethod: none`) may use only authorization_code and refresh_token, not `{grant}`"
                    ),
                });
            }
        }
        problems
    }
}

/// A user as configured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a user (a mapping)"
)]
pub struct UserConfig {
    /// Subject identifier.
    #[schema(min_length = 1)]
    pub sub: String,
    /// Login name.
    #[serde(default)]
    pub username: Option<String>,
    /// Password: a literal (development) or `env:VAR`. Stored hashed; never returned.
    #[serde(default, skip_serializing)]
    #[schema(write_only)]
    pub password: Option<String>,
    /// `user.roles`.
    #[serde(default)]
    pub roles: Vec<String>,
    /// `user.tenantIds`.
    #[serde(default)]
    pub tenant_ids: Vec<String>,
    /// `user.permissions`.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Extra claims for `jwtClaims.*`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub claims: serde_json::Map<String, Value>,
}
