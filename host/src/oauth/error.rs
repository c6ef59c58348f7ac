//! OAuth error responses (RFC 6749 §5.2, RFC 8707 `invalid_target`).

use serde::Serialize;

/// An error the token, introspection or revocation endpoint returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OAuthError {
    /// HTTP status.
    #[serde(skip)]
    pub status: u16,
    /// The error code.
    pub error: &'static str,
    /// A human-readable description (never a secret).
    pub error_description: String,
    /// Whether to challenge with `WWW-Authenticate: Basic` (client authentication by header failed).
    #[serde(skip)]
    pub challenge_basic: bool,
    /// Seconds after which the client may try again (`Retry-After`), for 503 and 429 answers.
    #[serde(skip)]
    pub retry_after: Option<u32>,
    /// `insufficient_user_authentication`: acceptable authentication levels, space-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr_values: Option<String>,
    /// `insufficient_user_authentication`: the greatest acceptable age of the authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
}

impl OAuthError {
    fn new(status: u16, error: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError {
            status,
            error,
            error_description: description.into(),
            challenge_basic: false,
            retry_after: None,
            acr_values: None,
            max_age: None,
        }
    }
    /// `invalid_request`: malformed, missing or repeated parameters.
    pub fn invalid_request(d: impl Into<String>) -> OAuthError {
        OAuthError::new(400, "invalid_request", d)
    }
    /// `invalid_client`: client authentication failed (401).
    pub fn invalid_client(d: impl Into<String>) -> OAuthError {
        OAuthError::new(401, "invalid_client", d)
    }
    /// `invalid_grant`: the grant (subject token, assertion, refresh token) is invalid.
    pub fn invalid_grant(d: impl Into<String>) -> OAuthError {
        OAuthError::new(400, "invalid_grant", d)
    }
    /// `unauthorized_client`: the client may not use this grant type.
    pub fn unauthorized_client(d: impl Into<String>) -> OAuthError {
        OAuthError::new(400, "unauthorized_client", d)
    }
    /// `unsupported_grant_type`.
    pub fn unsupported_grant_type(d: impl Into<String>) -> OAuthError {
        OAuthError::new(400, "unsupported_grant_type", d)
    }
    /// `invalid_scope`: nothing requested may be granted.
    pub fn invalid_scope(d: impl Into<String>) -> OAuthError {
        OAuthError::new(400, "invalid_scope", d)
    }
    /// `invalid_target` (RFC 8707): the resource is unknown or not allowed.
    pub fn invalid_target(d: impl Into<String>) -> OAuthError {
        OAuthError::new(400, "invalid_target", d)
    }
    /// `temporarily_unavailable` (503): a downstream provider could not serve the request.
    pub fn temporarily_unavailable(d: impl Into<String>) -> OAuthError {
        OAuthError::new(503, "temporarily_unavailable", d)
    }
    /// `temporarily_unavailable` (503) with `Retry-After`: the server is busy (the policy
    /// engine ran past its deadline); the same request may succeed in `seconds`.
    pub fn busy(d: impl Into<String>, seconds: u32) -> OAuthError {
        OAuthError {
            retry_after: Some(seconds),
            ..OAuthError::new(503, "temporarily_unavailable", d)
        }
    }
    /// 429 `temporarily_unavailable` with `Retry-After`: too many failed authentications from
    /// this address; the next attempt is checked after `seconds`.
    pub fn throttled(seconds: i64) -> OAuthError {
        OAuthError {
            retry_after: Some(u32::try_from(seconds).unwrap_or(u32::MAX)),
            ..OAuthError::new(
                429,
                "temporarily_unavailable",
                format!("too many failed attempts; try again in {seconds} s"),
            )
        }
    }
    /// `invalid_request` (413): the body is larger than the server reads.
    pub fn too_large() -> OAuthError {
        OAuthError::new(
            413,
            "invalid_request",
            "the request body is larger than the server accepts",
        )
    }
    /// `insufficient_user_authentication` (RFC 9470 section 3, used here at the token endpoint
    /// too): what is asked for needs a more recent or stronger authentication of the user than
    /// the grant carries; the client sends the user through `/authorize` again with these
    /// `acr_values` and `max_age`.
    pub fn insufficient_user_authentication(
        d: impl Into<String>,
        acr_values: Vec<String>,
        max_age: Option<u64>,
    ) -> OAuthError {
        OAuthError {
            acr_values: (!acr_values.is_empty()).then(|| acr_values.join(" ")),
            max_age,
            ..OAuthError::new(400, "insufficient_user_authentication", d)
        }
    }
    /// `server_error`: something on our side failed (the details are logged, not returned).
    pub fn server_error() -> OAuthError {
        OAuthError::new(
            500,
            "server_error",
            "the server could not complete the request",
        )
    }
}

impl From<crate::store::StoreError> for OAuthError {
    /// A store failure: 503 `temporarily_unavailable` with `Retry-After` when the database could
    /// not be reached in time (the request may succeed in a moment), `server_error` otherwise.
    /// The details are logged, not returned.
    fn from(e: crate::store::StoreError) -> OAuthError {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "the store is unavailable");
            OAuthError::busy("the server cannot reach its database; try again", 2)
        } else {
            tracing::error!(error = %e, "the store failed");
            OAuthError::server_error()
        }
    }
}

impl From<crate::vault::VaultError> for OAuthError {
    /// A vault failure: as a store failure when the store failed underneath, `server_error`
    /// otherwise (logged).
    fn from(e: crate::vault::VaultError) -> OAuthError {
        match e {
            crate::vault::VaultError::Store(e) => OAuthError::from(e),
            other => {
                tracing::error!(error = %other, "the vault failed");
                OAuthError::server_error()
            }
        }
    }
}
