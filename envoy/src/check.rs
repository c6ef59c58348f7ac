//! What to do with a request, from its headers alone. Pure, so that the whole per-request
//! behaviour is tested natively; the proxy-wasm glue only reads headers and carries out the
//! verdict.

use crate::bearer::{self, Credentials};
use crate::challenge::Challenge;
use crate::config::Config;

/// The parts of a request the filter looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestHead<'a> {
    /// `:method` (absent only from a broken host).
    pub method: Option<&'a str>,
    /// `:path`, with its query.
    pub path: Option<&'a str>,
    /// Every `Authorization` header value, in order.
    pub authorization: &'a [&'a str],
}

/// What the filter does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Let it through: no route protects it.
    Continue,
    /// Answer it locally and stop it here.
    Respond(LocalReply),
}

/// A response the filter sends instead of forwarding the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalReply {
    /// The HTTP status code.
    pub status: u32,
    /// The `WWW-Authenticate` header value, for 401 and 403.
    pub www_authenticate: Option<String>,
}

impl LocalReply {
    fn challenge(challenge: Challenge<'_>, config: &Config) -> LocalReply {
        LocalReply {
            status: challenge.status(),
            www_authenticate: Some(challenge.header_value(config.resource_metadata.as_deref())),
        }
    }
}

/// Decides what to do with a request from its headers (after the reserved `x-tollgate-*` headers
/// are stripped). Fails closed: nothing reaches a protected route without a verified token.
pub fn check(config: &Config, request: &RequestHead<'_>) -> Verdict {
    let (Some(method), Some(path)) = (request.method, request.path) else {
        return Verdict::Respond(LocalReply {
            status: 400,
            www_authenticate: None,
        });
    };
    let Some(_route) = config.routes.find(method, path) else {
        return Verdict::Continue;
    };
    match bearer::extract(request.authorization) {
        Credentials::Missing => {
            Verdict::Respond(LocalReply::challenge(Challenge::MissingToken, config))
        }
        Credentials::Malformed => {
            // RFC 6750 would allow 400 `invalid_request` for a malformed credential; a 401
            // `invalid_token` sends every client down the same path: get a new token.
            Verdict::Respond(LocalReply::challenge(Challenge::InvalidToken, config))
        }
        Credentials::Bearer(_token) => {
            // Later (issue 9): verify the token: its signature against the JWKS (`config.jwks`,
            // inline or fetched from `jwks_cluster` and cached across workers with shared data),
            // `iss` = `config.issuer`, `aud` naming one of `config.audiences`, `exp`/`nbf` within
            // `config.clock_skew_seconds`; then require the route's scopes (403
            // `insufficient_scope` naming them, `Challenge::InsufficientScope`) and ask the policy
            // set (`config.policies`) for a live decision on `_route.resource`; on success set the
            // `x-tollgate-*` headers for the upstream and continue. `fail_open` applies only when
            // keys or policies are unavailable, never to a bad token. Until then no token can be
            // verified, so every token is refused.
            Verdict::Respond(LocalReply::challenge(Challenge::InvalidToken, config))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const METADATA: &str = "https://api.example.com/.well-known/oauth-protected-resource";

    fn config(resource_metadata: Option<&str>) -> Config {
        let mut config = json!({
            "issuer": "https://auth.example.com",
            "audiences": ["https://api.example.com"],
            "jwks": { "keys": [] },
            "routes": [
                { "prefix": "/api", "resource": "api", "scopes": ["items:read"] },
                { "prefix": "/mcp", "methods": ["POST"], "resource": "mcp" },
            ],
        });
        if let Some(url) = resource_metadata {
            config["resource_metadata"] = json!(url);
        }
        Config::parse(config.to_string().as_bytes()).unwrap()
    }

    fn head<'a>(method: &'a str, path: &'a str, authorization: &'a [&'a str]) -> RequestHead<'a> {
        RequestHead {
            method: Some(method),
            path: Some(path),
            authorization,
        }
    }

    fn reply(status: u32, header: &str) -> Verdict {
        Verdict::Respond(LocalReply {
            status,
            www_authenticate: Some(header.to_owned()),
        })
    }

    #[test]
    fn unprotected_requests_pass() {
        let config = config(Some(METADATA));
        assert_eq!(
            check(&config, &head("GET", "/health", &[])),
            Verdict::Continue
        );
        assert_eq!(check(&config, &head("GET", "/mcp", &[])), Verdict::Continue);
    }

    #[test]
    fn missing_token() {
        let config = config(Some(METADATA));
        let expected = reply(401, &format!("Bearer resource_metadata=\"{METADATA}\""));
        assert_eq!(check(&config, &head("GET", "/api/items", &[])), expected);
        assert_eq!(
            check(&config, &head("POST", "/mcp", &["Basic eDp5"])),
            expected
        );
        assert_eq!(
            check(&super::tests::config(None), &head("GET", "/api", &[])),
            reply(401, "Bearer")
        );
    }

    #[test]
    fn malformed_token() {
        let config = config(Some(METADATA));
        let expected = reply(
            401,
            &format!("Bearer error=\"invalid_token\", resource_metadata=\"{METADATA}\""),
        );
        for authorization in [&["Bearer"][..], &["Bearer a b"], &["Bearer x", "Bearer x"]] {
            assert_eq!(
                check(&config, &head("GET", "/api/items", authorization)),
                expected,
                "{authorization:?}"
            );
        }
    }

    #[test]
    fn every_token_is_refused_until_verification_exists() {
        let config = config(Some(METADATA));
        assert_eq!(
            check(
                &config,
                &head(
                    "GET",
                    "/api/items?x=1",
                    &["Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln"]
                )
            ),
            reply(
                401,
                &format!("Bearer error=\"invalid_token\", resource_metadata=\"{METADATA}\"")
            )
        );
    }

    #[test]
    fn missing_pseudo_headers_are_refused() {
        let config = config(None);
        let bad = Verdict::Respond(LocalReply {
            status: 400,
            www_authenticate: None,
        });
        assert_eq!(check(&config, &RequestHead::default()), bad);
        assert_eq!(
            check(
                &config,
                &RequestHead {
                    method: Some("GET"),
                    ..RequestHead::default()
                }
            ),
            bad
        );
    }
}
