//! What to do with a request, from its headers, the keys and policies the worker holds, and the
//! time. Pure, so that the whole per-request behaviour is tested natively; the proxy-wasm glue
//! only reads headers and carries out the verdict.

use std::net::IpAddr;
use std::rc::Rc;

use tollgate_engine::PolicySet;

use crate::bearer::{self, Credentials};
use crate::cache::{Entry, TokenCache};
use crate::challenge::Challenge;
use crate::config::{Config, Jwks, Policies};
use crate::identity::Identity;
use crate::jwk::KeySet;
use crate::jwt::{self, Expect};
use crate::live;
use crate::signature::Host;

/// The parts of a request the filter looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestHead<'a> {
    /// `:method` (absent only from a broken host).
    pub method: Option<&'a str>,
    /// `:path`, with its query.
    pub path: Option<&'a str>,
    /// The request's `Authorization` header values, in order. The filter passes at most the first
    /// two: one value or several is all [`bearer::extract`] needs to know.
    pub authorization: &'a [&'a str],
}

/// What a worker holds from the remote sources (`jwks_cluster`, `bundle_cluster`): the last good
/// fetch of each, or nothing before the first. Inline sources live in the [`Config`].
#[derive(Debug, Default)]
pub struct Fetched {
    /// The signing keys from `jwks_cluster`.
    pub keys: Option<KeySet>,
    /// The policy set from `bundle_cluster`.
    pub policies: Option<PolicySet>,
}

/// What the filter does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Let it through untouched: no route protects it, or keys or policies are unavailable and
    /// the filter is configured to fail open.
    Continue,
    /// Let it through with the verified identity (the cached token's own).
    Authorized(Rc<Identity>),
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

    /// Keys or policies are not available yet: the token cannot be judged, so the answer is
    /// neither 401 nor 403.
    fn unavailable() -> LocalReply {
        LocalReply {
            status: 503,
            www_authenticate: None,
        }
    }
}

/// Decides what to do with a request (after the reserved `x-tollgate-*` headers are stripped),
/// at time `now`, with `signatures` doing the signature arithmetic when it can (the proxy's
/// library; [`crate::signature`]). `ip` gives the downstream address; it is asked for only when a live policy
/// check runs. Fails closed: nothing reaches a protected route without a verified token unless
/// `fail_open` is set and keys or policies are missing, and `fail_open` never lets a bad token
/// through.
pub fn check(
    config: &Config,
    request: &RequestHead<'_>,
    fetched: &Fetched,
    cache: &mut TokenCache,
    signatures: &dyn Host,
    now: jiff::Timestamp,
    ip: impl FnOnce() -> Option<IpAddr>,
) -> Verdict {
    let (Some(method), Some(path)) = (request.method, request.path) else {
        return Verdict::Respond(LocalReply {
            status: 400,
            www_authenticate: None,
        });
    };
    let Some(route) = config.routes.find(method, path) else {
        return Verdict::Continue;
    };
    let token = match bearer::extract(request.authorization) {
        Credentials::Missing => {
            return Verdict::Respond(LocalReply::challenge(Challenge::MissingToken, config));
        }
        Credentials::Malformed => {
            // RFC 6750 would allow 400 `invalid_request` for a malformed credential; a 401
            // `invalid_token` sends every client down the same path: get a new token.
            return Verdict::Respond(LocalReply::challenge(Challenge::InvalidToken, config));
        }
        Credentials::Bearer(token) => token,
    };
    let unavailable = || {
        if config.fail_open {
            Verdict::Continue
        } else {
            Verdict::Respond(LocalReply::unavailable())
        }
    };

    let keys = match &config.jwks {
        Jwks::Inline(keys) => keys,
        Jwks::Remote(_) => match &fetched.keys {
            Some(keys) => keys,
            None => return unavailable(),
        },
    };
    let seconds = now.as_second();
    let skew = config.clock_skew_seconds;
    let mut uncached = None;
    if cache.get_mut(token, seconds, skew).is_none() {
        let expect = Expect {
            issuer: &config.issuer,
            audiences: &config.audiences,
            clock_skew_seconds: skew,
        };
        match jwt::verify(token, keys, &expect, seconds, signatures) {
            Ok(verified) => {
                if let Err(entry) = cache.insert(token, Entry::new(verified), seconds, skew) {
                    uncached = Some(entry);
                }
            }
            Err(_) => {
                return Verdict::Respond(LocalReply::challenge(Challenge::InvalidToken, config));
            }
        }
    }
    let Some(entry) = uncached
        .as_deref_mut()
        .or_else(|| cache.get_mut(token, seconds, skew))
    else {
        // Just inserted and live: not reached. Refusing is the safe answer all the same.
        return Verdict::Respond(LocalReply::challenge(Challenge::InvalidToken, config));
    };

    let insufficient = || {
        Verdict::Respond(LocalReply::challenge(
            Challenge::InsufficientScope {
                scopes: &route.scopes,
            },
            config,
        ))
    };
    if !route
        .scopes
        .iter()
        .all(|scope| entry.verified.scopes.contains(scope))
    {
        return insufficient();
    }

    let policies = match &config.policies {
        None => None,
        Some(Policies::Inline(set)) => Some(set),
        Some(Policies::Bundle(_)) => match &fetched.policies {
            Some(set) => Some(set),
            None => return unavailable(),
        },
    };
    if let Some(policies) = policies {
        if entry.request.is_none() {
            entry.request = live::request_for(&entry.verified);
        }
        // `None`: the token names a grant type the engine does not know; it cannot be judged.
        let live = entry
            .request
            .as_mut()
            .map_or(live::Live::Refused, |request| {
                live::permits(policies, request, route, Some(now), ip())
            });
        match live {
            live::Live::Permitted => {}
            live::Live::Refused => return insufficient(),
            live::Live::StepUp { levels, max_age } => {
                return Verdict::Respond(LocalReply::challenge(
                    Challenge::InsufficientUserAuthentication {
                        acr_values: &levels,
                        max_age,
                    },
                    config,
                ));
            }
        }
    }

    Verdict::Authorized(Rc::clone(&entry.identity))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::signature::InFilter;
    use crate::testing::{TestKey, es256};

    const METADATA: &str = "https://api.example.com/.well-known/oauth-protected-resource";
    const NOW: i64 = 1_800_000_000;

    fn policies() -> Value {
        json!({
            "version": 1,
            "resources": [
                { "id": "api", "audience": "https://api.example.com", "kind": "api",
                  "scopes": ["items:read", "items:write"] },
                { "id": "mcp", "audience": "https://api.example.com/mcp", "kind": "mcp",
                  "scopes": ["tools"] },
            ],
            "policies": [
                { "id": "agents-read", "subject": { "clients": ["agent"] },
                  "targets": [ { "resource": "api", "scopes": ["items:read"] },
                               { "resource": "mcp", "scopes": "*" } ] },
            ]
        })
    }

    fn base(resource_metadata: Option<&str>) -> Value {
        let mut config = json!({
            "issuer": "https://auth.example.com",
            "audiences": ["https://api.example.com"],
            "jwks": { "keys": [ es256().jwk("k1") ] },
            "routes": [
                { "prefix": "/api", "resource": "api", "scopes": ["items:read"] },
                { "prefix": "/api/write", "resource": "api", "scopes": ["items:write"] },
                { "prefix": "/mcp", "methods": ["POST"], "resource": "mcp" },
            ],
        });
        if let Some(url) = resource_metadata {
            config["resource_metadata"] = json!(url);
        }
        config
    }

    fn parse(config: &Value) -> Config {
        Config::parse(config.to_string().as_bytes()).unwrap()
    }

    fn config(resource_metadata: Option<&str>) -> Config {
        parse(&base(resource_metadata))
    }

    fn claims() -> Value {
        json!({
            "iss": "https://auth.example.com", "aud": "https://api.example.com",
            "sub": "u-1", "client_id": "agent", "scope": "items:read items:write",
            "exp": NOW + 300,
        })
    }

    fn token(key: &TestKey, changes: Value) -> String {
        let mut claims = claims();
        for (k, v) in changes.as_object().unwrap() {
            claims[k] = v.clone();
        }
        key.sign("k1", &claims)
    }

    fn now() -> jiff::Timestamp {
        jiff::Timestamp::from_second(NOW).unwrap()
    }

    fn head<'a>(method: &'a str, path: &'a str, authorization: &'a [&'a str]) -> RequestHead<'a> {
        RequestHead {
            method: Some(method),
            path: Some(path),
            authorization,
        }
    }

    /// Checks with nothing fetched and a fresh cache.
    fn run(config: &Config, head: &RequestHead<'_>) -> Verdict {
        let mut cache = TokenCache::new(16);
        check(
            config,
            head,
            &Fetched::default(),
            &mut cache,
            &InFilter,
            now(),
            || None,
        )
    }

    /// [`check`] with the filter's own signature checks and no downstream address.
    fn decide(
        config: &Config,
        request: &RequestHead<'_>,
        fetched: &Fetched,
        cache: &mut TokenCache,
        now: jiff::Timestamp,
    ) -> Verdict {
        check(config, request, fetched, cache, &InFilter, now, || None)
    }

    fn bearer(token: &str) -> String {
        format!("Bearer {token}")
    }

    fn reply(status: u32, header: &str) -> Verdict {
        Verdict::Respond(LocalReply {
            status,
            www_authenticate: Some(header.to_owned()),
        })
    }

    fn invalid_token() -> Verdict {
        reply(
            401,
            &format!("Bearer error=\"invalid_token\", resource_metadata=\"{METADATA}\""),
        )
    }

    fn authorized(scope: &str) -> Verdict {
        Verdict::Authorized(Rc::new(Identity {
            sub: Some("u-1".into()),
            client_id: Some("agent".into()),
            scope: scope.into(),
        }))
    }

    #[test]
    fn unprotected_requests_pass() {
        let config = config(Some(METADATA));
        assert_eq!(
            run(&config, &head("GET", "/health", &[])),
            Verdict::Continue
        );
        assert_eq!(run(&config, &head("GET", "/mcp", &[])), Verdict::Continue);
    }

    #[test]
    fn missing_token() {
        let config = config(Some(METADATA));
        let expected = reply(401, &format!("Bearer resource_metadata=\"{METADATA}\""));
        assert_eq!(run(&config, &head("GET", "/api/items", &[])), expected);
        assert_eq!(
            run(&config, &head("POST", "/mcp", &["Basic eDp5"])),
            expected
        );
        assert_eq!(
            run(&super::tests::config(None), &head("GET", "/api", &[])),
            reply(401, "Bearer")
        );
    }

    #[test]
    fn malformed_token() {
        let config = config(Some(METADATA));
        for authorization in [&["Bearer"][..], &["Bearer a b"], &["Bearer x", "Bearer x"]] {
            assert_eq!(
                run(&config, &head("GET", "/api/items", authorization)),
                invalid_token(),
                "{authorization:?}"
            );
        }
    }

    #[test]
    fn good_token_is_authorized() {
        let config = config(Some(METADATA));
        let auth = bearer(&token(&es256(), json!({})));
        assert_eq!(
            run(&config, &head("GET", "/api/items?x=1", &[&auth])),
            authorized("items:read items:write")
        );
        assert_eq!(
            run(&config, &head("POST", "/mcp", &[&auth])),
            authorized("items:read items:write")
        );
    }

    #[test]
    fn bad_tokens_are_invalid() {
        let config = config(Some(METADATA));
        let other_key = TestKey::Es256(p256::ecdsa::SigningKey::from_slice(&[3u8; 32]).unwrap());
        for token in [
            "eyJhbGciOiJFUzI1NiJ9.e30.c2ln".to_owned(),
            other_key.sign("k1", &claims()),
            token(&es256(), json!({ "exp": NOW - 120 })),
            token(&es256(), json!({ "aud": "https://other.example.com" })),
            token(&es256(), json!({ "iss": "https://evil.example.com" })),
            token(&es256(), json!({ "nbf": NOW + 600 })),
        ] {
            let auth = bearer(&token);
            assert_eq!(
                run(&config, &head("GET", "/api/items", &[&auth])),
                invalid_token(),
                "{token}"
            );
        }
    }

    #[test]
    fn missing_scope_is_insufficient() {
        let config = config(Some(METADATA));
        let auth = bearer(&token(&es256(), json!({ "scope": "items:read" })));
        assert_eq!(
            run(&config, &head("GET", "/api/write/x", &[&auth])),
            reply(
                403,
                &format!(
                    "Bearer error=\"insufficient_scope\", scope=\"items:write\", \
                     resource_metadata=\"{METADATA}\""
                )
            )
        );
        assert_eq!(
            run(&config, &head("GET", "/api/items", &[&auth])),
            authorized("items:read")
        );
    }

    #[test]
    fn live_policy_check() {
        let mut config = base(None);
        config["policies"] = policies();
        let config = parse(&config);
        let agent = bearer(&token(&es256(), json!({})));
        let other = bearer(&token(&es256(), json!({ "client_id": "other" })));
        // The token has items:write, but no policy gives the agent that scope any more.
        assert_eq!(
            run(&config, &head("GET", "/api/write", &[&agent])),
            reply(
                403,
                "Bearer error=\"insufficient_scope\", scope=\"items:write\""
            )
        );
        assert_eq!(
            run(&config, &head("GET", "/api/items", &[&agent])),
            authorized("items:read items:write")
        );
        assert_eq!(
            run(&config, &head("GET", "/api/items", &[&other])),
            reply(
                403,
                "Bearer error=\"insufficient_scope\", scope=\"items:read\""
            )
        );
        // A route without scopes: any permission on the resource.
        assert_eq!(
            run(&config, &head("POST", "/mcp", &[&agent])),
            authorized("items:read items:write")
        );
        assert_eq!(
            run(&config, &head("POST", "/mcp", &[&other])),
            reply(403, "Bearer error=\"insufficient_scope\"")
        );
    }

    #[test]
    fn remote_sources_fail_closed_until_fetched() {
        let mut remote = base(None);
        remote["jwks"] = Value::Null;
        remote.as_object_mut().unwrap().remove("jwks");
        remote["jwks_cluster"] = json!("tollgate");
        remote["jwks_path"] = json!("/jwks");
        remote["bundle_cluster"] = json!("tollgate");
        remote["bundle_path"] = json!("/bundle");
        let config = parse(&remote);
        let auth = bearer(&token(&es256(), json!({})));
        let authorization = [auth.as_str()];
        let request = head("GET", "/api/items", &authorization);
        let unavailable = Verdict::Respond(LocalReply {
            status: 503,
            www_authenticate: None,
        });
        let mut cache = TokenCache::new(16);
        let mut fetched = Fetched::default();
        assert_eq!(
            decide(&config, &request, &fetched, &mut cache, now()),
            unavailable
        );
        // A missing token is still a missing token.
        assert_eq!(
            check(
                &config,
                &head("GET", "/api", &[]),
                &fetched,
                &mut cache,
                &InFilter,
                now(),
                || None
            ),
            reply(401, "Bearer")
        );
        fetched.keys = Some(
            KeySet::from_jwks(&json!({ "keys": [es256().jwk("k1")] }))
                .unwrap()
                .0,
        );
        assert_eq!(
            decide(&config, &request, &fetched, &mut cache, now()),
            unavailable,
            "keys but no policies yet"
        );
        fetched.policies = Some(PolicySet::from_value(policies()).unwrap());
        assert_eq!(
            decide(&config, &request, &fetched, &mut cache, now()),
            authorized("items:read items:write")
        );

        remote["fail_open"] = json!(true);
        let config = parse(&remote);
        let nothing = Fetched::default();
        assert_eq!(
            decide(&config, &request, &nothing, &mut cache, now()),
            Verdict::Continue
        );
        // fail_open never lets a bad token through once keys are there.
        let keys_only = Fetched {
            keys: fetched.keys.take(),
            policies: None,
        };
        let bad = bearer(&token(&es256(), json!({ "exp": NOW - 3600 })));
        assert_eq!(
            check(
                &config,
                &head("GET", "/api", &[&bad]),
                &keys_only,
                &mut cache,
                &InFilter,
                now(),
                || None
            ),
            reply(401, "Bearer error=\"invalid_token\"")
        );
        assert_eq!(
            decide(&config, &request, &keys_only, &mut cache, now()),
            Verdict::Continue,
            "policies unavailable, fail open"
        );
    }

    #[test]
    fn verified_tokens_are_cached_until_they_expire() {
        let config = config(None);
        let mut cache = TokenCache::new(16);
        let auth = bearer(&token(&es256(), json!({ "exp": NOW + 10 })));
        let authorization = [auth.as_str()];
        let request = head("GET", "/api/items", &authorization);
        let fetched = Fetched::default();
        assert!(matches!(
            decide(&config, &request, &fetched, &mut cache, now()),
            Verdict::Authorized(_)
        ));
        assert_eq!(cache.len(), 1);
        assert!(matches!(
            decide(&config, &request, &fetched, &mut cache, now()),
            Verdict::Authorized(_)
        ));
        assert_eq!(cache.len(), 1);
        // Past exp + leeway, the cached entry is dropped and the token refused.
        let later = jiff::Timestamp::from_second(NOW + 10 + 60).unwrap();
        assert_eq!(
            decide(&config, &request, &fetched, &mut cache, later),
            reply(401, "Bearer error=\"invalid_token\"")
        );
        assert!(cache.is_empty());
    }

    #[test]
    fn no_cache() {
        let mut config = base(None);
        config["token_cache_size"] = json!(0);
        let config = parse(&config);
        let mut cache = TokenCache::new(config.token_cache_size);
        let auth = bearer(&token(&es256(), json!({})));
        for _ in 0..2 {
            assert!(matches!(
                check(
                    &config,
                    &head("GET", "/api", &[&auth]),
                    &Fetched::default(),
                    &mut cache,
                    &InFilter,
                    now(),
                    || None
                ),
                Verdict::Authorized(_)
            ));
        }
        assert!(cache.is_empty());
    }

    #[test]
    fn downstream_address_is_read_only_for_a_policy_check() {
        let config = config(None);
        let auth = bearer(&token(&es256(), json!({})));
        let mut cache = TokenCache::new(16);
        let verdict = check(
            &config,
            &head("GET", "/api", &[&auth]),
            &Fetched::default(),
            &mut cache,
            &InFilter,
            now(),
            || panic!("no policy check, no address lookup"),
        );
        assert!(matches!(verdict, Verdict::Authorized(_)));
    }

    #[test]
    fn missing_pseudo_headers_are_refused() {
        let config = config(None);
        let bad = Verdict::Respond(LocalReply {
            status: 400,
            www_authenticate: None,
        });
        assert_eq!(run(&config, &RequestHead::default()), bad);
        assert_eq!(
            run(
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
