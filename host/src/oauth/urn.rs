//! The URNs of the grant and token types this server speaks (RFC 8693, RFC 7523), and its own.

/// RFC 8693 §2.1.
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 7523 §2.1.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// RFC 8693 token type of an access token.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// RFC 8693 token type of a JWT.
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
/// The token type of an Identity Assertion JWT Authorization Grant
/// (draft-ietf-oauth-identity-assertion-authz-grant).
pub const ID_JAG_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id-jag";
/// RFC 8693 token type of a refresh token.
pub const REFRESH_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:refresh_token";
/// The token type of an API key handed out from the vault.
pub const API_KEY_TOKEN_TYPE: &str = "urn:tollgate:params:oauth:token-type:api_key";
/// The token type of a certificate (PEM, or a service-account JSON) handed out from the vault.
pub const CERTIFICATE_TOKEN_TYPE: &str = "urn:tollgate:params:oauth:token-type:certificate";
