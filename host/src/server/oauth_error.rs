//! How an OAuth error answers over HTTP (RFC 6749 §5.2): its status, the JSON body, never cached,
//! with `WWW-Authenticate` when client authentication by header failed (§5.2 `invalid_client`)
//! and `Retry-After` when the client may try again later.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::http::no_store;
use crate::oauth::OAuthError;

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let challenge = self.challenge_basic;
        let retry_after = self.retry_after;
        let mut response = (status, Json(self)).into_response();
        let headers = response.headers_mut();
        if challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"tollgate\""),
            );
        }
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        no_store(response)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, reason = "test code")]

    use super::*;

    #[test]
    fn an_oauth_error_answers_with_its_status_body_and_headers() {
        let mut refused = OAuthError::invalid_client("client authentication failed");
        refused.challenge_basic = true;
        let response = refused.into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let headers = response.headers();
        assert_eq!(
            headers[header::WWW_AUTHENTICATE],
            "Basic realm=\"tollgate\""
        );
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert!(!headers.contains_key(header::RETRY_AFTER));

        let busy = OAuthError::busy("try again", 2).into_response();
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.headers()[header::RETRY_AFTER], "2");
        assert!(!busy.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}
