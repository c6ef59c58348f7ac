//! The configuration reader's tests: every key, every problem reported with its path.

use serde_json::json;

use super::*;

fn base() -> serde_json::Value {
    json!({
        "issuer": "https://auth.example.com",
        "audiences": ["https://api.example.com"],
        "jwks_cluster": "tollgate",
        "jwks_path": "/.well-known/jwks.json",
        "routes": [ { "prefix": "/api", "resource": "api", "scopes": ["items:read"] } ],
    })
}

/// A JWKS with one usable key.
fn jwks() -> serde_json::Value {
    json!({ "keys": [ crate::testing::eddsa().jwk("k") ] })
}

fn with(changes: serde_json::Value) -> serde_json::Value {
    let mut config = base();
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            config.as_object_mut().unwrap().remove(key);
        } else {
            config[key] = value.clone();
        }
    }
    config
}

fn parse(config: &serde_json::Value) -> Result<Config, ConfigError> {
    Config::parse(config.to_string().as_bytes())
}

/// The problems, as `path: message`.
fn problems(config: &serde_json::Value) -> Vec<String> {
    match parse(config) {
        Err(ConfigError::Invalid(problems)) => problems.iter().map(ToString::to_string).collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn minimal_configuration_and_defaults() {
    let config = parse(&base()).unwrap();
    assert_eq!(config.issuer, "https://auth.example.com");
    assert_eq!(config.audiences, ["https://api.example.com"]);
    match &config.jwks {
        Jwks::Remote(remote) => assert_eq!(
            *remote,
            Remote {
                cluster: "tollgate".into(),
                path: "/.well-known/jwks.json".into(),
                refresh_seconds: DEFAULT_JWKS_REFRESH_SECONDS,
            }
        ),
        other => panic!("expected a remote JWKS, got {other:?}"),
    }
    assert_eq!(config.token_cache_size, DEFAULT_TOKEN_CACHE_SIZE);
    assert_eq!(config.clock_skew_seconds, DEFAULT_CLOCK_SKEW_SECONDS);
    assert_eq!(config.resource_metadata, None);
    assert!(config.policies.is_none());
    assert!(!config.fail_open);
    assert_eq!(config.signatures, Signatures::Proxy);
    let routes = config.routes.routes();
    assert_eq!(routes.len(), 1);
    assert_eq!(routes[0].path, PathMatch::Prefix("/api".into()));
    assert_eq!(routes[0].methods, None);
    assert_eq!(routes[0].resource, "api");
    assert_eq!(routes[0].scopes, ["items:read"]);
}

#[test]
fn every_key() {
    let config = parse(&json!({
        "issuer": "https://auth.example.com",
        "audiences": ["https://a.example.com", "https://b.example.com"],
        "jwks": jwks(),
        "clock_skew_seconds": 5,
        "routes": [
            { "path": "/mcp", "methods": ["post", "GET"], "resource": "mcp", "scopes": [] },
            { "prefix": "/", "resource": "api" }
        ],
        "resource_metadata": "https://a.example.com/.well-known/oauth-protected-resource",
        "bundle_cluster": "tollgate",
        "bundle_path": "/v1/bundles/edge",
        "bundle_refresh_seconds": 10,
        "fail_open": true,
        "token_cache_size": 0,
        "signatures": "filter"
    }))
    .unwrap();
    assert!(matches!(&config.jwks, Jwks::Inline(keys) if keys.len() == 1));
    assert_eq!(config.clock_skew_seconds, 5);
    assert_eq!(
        config.resource_metadata.as_deref(),
        Some("https://a.example.com/.well-known/oauth-protected-resource")
    );
    match config.policies {
        Some(Policies::Bundle(remote)) => assert_eq!(
            remote,
            Remote {
                cluster: "tollgate".into(),
                path: "/v1/bundles/edge".into(),
                refresh_seconds: 10
            }
        ),
        other => panic!("expected a bundle source, got {other:?}"),
    }
    assert!(config.fail_open);
    assert_eq!(config.token_cache_size, 0);
    assert_eq!(config.signatures, Signatures::Filter);
    let routes = config.routes.routes();
    assert_eq!(routes[0].path, PathMatch::Exact("/mcp".into()));
    assert_eq!(
        routes[0].methods.as_deref(),
        Some(&["POST".to_owned(), "GET".to_owned()][..])
    );
    assert!(routes[1].scopes.is_empty());
}

#[test]
fn inline_jwks_as_text() {
    let config = parse(&with(json!({
        "jwks_cluster": null, "jwks_path": null,
        "jwks": jwks().to_string()
    })))
    .unwrap();
    assert!(matches!(&config.jwks, Jwks::Inline(keys) if keys.len() == 1));
}

#[test]
fn inline_jwks_needs_a_usable_key() {
    assert_eq!(
        problems(&with(json!({
            "jwks_cluster": null, "jwks_path": null,
            "jwks": { "keys": [ { "kty": "EC" }, { "kty": "oct", "k": "c2VjcmV0" } ] }
        }))),
        [
            "jwks.keys[0]: unsupported key type `EC`",
            "jwks.keys[1]: unsupported key type `oct`",
        ]
    );
    assert_eq!(
        problems(&with(json!({
            "jwks_cluster": null, "jwks_path": null, "jwks": { "keys": [] }
        }))),
        ["jwks: no usable signing key"]
    );
}

#[test]
fn empty_and_malformed_text() {
    assert!(matches!(Config::parse(b""), Err(ConfigError::Empty)));
    assert!(matches!(Config::parse(b" \n"), Err(ConfigError::Empty)));
    assert!(matches!(Config::parse(b"{"), Err(ConfigError::Syntax(_))));
    assert!(matches!(Config::parse(b"[]"), Err(ConfigError::Syntax(_))));
}

#[test]
fn unknown_keys_and_wrong_types_are_syntax_errors() {
    let Err(ConfigError::Syntax(message)) = parse(&with(json!({ "jwks_uri": "x" }))) else {
        panic!("expected a syntax error");
    };
    assert!(message.contains("unknown field `jwks_uri`"), "{message}");
    let Err(ConfigError::Syntax(message)) = parse(&with(json!({
        "routes": [ { "prefix": "/", "resource": "api", "scope": ["a"] } ]
    }))) else {
        panic!("expected a syntax error");
    };
    assert!(message.contains("unknown field `scope`"), "{message}");
    assert!(matches!(
        parse(&with(json!({ "audiences": "https://api.example.com" }))),
        Err(ConfigError::Syntax(_))
    ));
    assert!(matches!(
        parse(&with(json!({ "fail_open": "yes" }))),
        Err(ConfigError::Syntax(_))
    ));
    let Err(ConfigError::Syntax(message)) = parse(&with(json!({ "signatures": "boringssl" })))
    else {
        panic!("an unknown `signatures` is refused");
    };
    assert!(message.contains("unknown variant `boringssl`"), "{message}");
}

#[test]
fn all_missing_keys_reported_at_once() {
    assert_eq!(
        problems(&json!({})),
        [
            "issuer: is required",
            "audiences: is required",
            "jwks: the signing keys are required: set `jwks` or `jwks_cluster`",
            "routes: is required",
        ]
    );
}

#[test]
fn empty_values() {
    assert_eq!(
        problems(&with(
            json!({ "issuer": "", "audiences": [], "routes": [] })
        )),
        [
            "issuer: must not be empty",
            "audiences: must name at least one audience",
            "routes: must list at least one route",
        ]
    );
    assert_eq!(
        problems(&with(json!({ "audiences": ["a", ""] }))),
        ["audiences[1]: must not be empty"]
    );
}

#[test]
fn key_sources() {
    assert_eq!(
        problems(&with(json!({ "jwks": { "keys": [] } }))),
        ["jwks: set either `jwks` or `jwks_cluster`, not both"]
    );
    assert_eq!(
        problems(&with(json!({ "jwks_path": null }))),
        ["jwks_path: is required with `jwks_cluster`"]
    );
    assert_eq!(
        problems(&with(
            json!({ "jwks_path": "jwks.json", "jwks_refresh_seconds": 0 })
        )),
        [
            "jwks_path: `jwks.json` must start with `/`",
            "jwks_refresh_seconds: must be at least 1",
        ]
    );
    assert_eq!(
        problems(&with(json!({
            "jwks_cluster": null, "jwks_path": null, "jwks": { "kty": "EC" }
        }))),
        ["jwks: must be a JSON Web Key Set: an object with a `keys` array"]
    );
    assert_eq!(
        problems(&with(json!({
            "jwks_cluster": null, "jwks_refresh_seconds": 5, "jwks": jwks()
        }))),
        [
            "jwks_path: is only used with `jwks_cluster`",
            "jwks_refresh_seconds: is only used with `jwks_cluster`",
        ]
    );
}

#[test]
fn route_problems() {
    assert_eq!(
        problems(&with(json!({ "routes": [
            { "resource": "a" },
            { "prefix": "/a", "path": "/a", "resource": "a" },
            { "prefix": "api", "resource": "a" },
            { "path": "/a?x=1", "resource": "a" },
            { "prefix": "/b", "methods": [], "resource": "a" },
            { "prefix": "/c", "methods": ["GET", "BAD METHOD"], "resource": "a" },
            { "prefix": "/d" },
            { "prefix": "/e", "resource": "" },
            { "prefix": "/f", "resource": "a", "scopes": ["ok", "not ok", "", "a\"b"] },
        ] }))),
        [
            "routes[0]: `prefix` or `path` is required",
            "routes[1]: set either `prefix` or `path`, not both",
            "routes[2].prefix: `api` must start with `/`",
            "routes[3].path: `/a?x=1` must not contain a query or fragment (routes match the path only)",
            "routes[4].methods: must list at least one method (leave it out to cover every method)",
            "routes[5].methods[1]: `BAD METHOD` is not an HTTP method",
            "routes[6].resource: is required",
            "routes[7].resource: must not be empty",
            "routes[8].scopes[1]: `not ok` is not an OAuth scope (RFC 6749 section 3.3)",
            "routes[8].scopes[2]: `` is not an OAuth scope (RFC 6749 section 3.3)",
            "routes[8].scopes[3]: `a\"b` is not an OAuth scope (RFC 6749 section 3.3)",
        ]
    );
}

#[test]
fn overlapping_routes() {
    assert_eq!(
        problems(&with(json!({ "routes": [
            { "prefix": "/mcp", "methods": ["GET", "POST"], "resource": "a" },
            { "prefix": "/mcp", "methods": ["DELETE"], "resource": "b" },
            { "path": "/mcp", "resource": "c" },
            { "prefix": "/mcp", "methods": ["post"], "resource": "d" },
            { "path": "/mcp", "methods": ["GET"], "resource": "e" },
        ] }))),
        [
            "routes[3]: matches the same requests as `routes[0]` (same path, a method in common)",
            "routes[4]: matches the same requests as `routes[2]` (same path, a method in common)",
        ]
    );
}

#[test]
fn resource_metadata_must_be_a_plain_url() {
    for url in [
        "/.well-known/oauth-protected-resource",
        "ftp://x",
        "https://",
        "https://a b",
        "https://a\"b",
    ] {
        let found = problems(&with(json!({ "resource_metadata": url })));
        assert_eq!(found.len(), 1, "{url}: {found:?}");
        assert!(found[0].starts_with("resource_metadata: "), "{found:?}");
    }
    assert!(parse(&with(json!({ "resource_metadata": "http://127.0.0.1:8080/.well-known/oauth-protected-resource" }))).is_ok());
}

#[test]
fn policy_sources() {
    assert_eq!(
        problems(&with(json!({
            "policies": { "version": 1 }, "bundle_cluster": "tollgate", "bundle_path": "/b"
        }))),
        ["policies: set either `policies` or `bundle_cluster`, not both"]
    );
    assert_eq!(
        problems(&with(json!({ "bundle_cluster": "tollgate" }))),
        ["bundle_path: is required with `bundle_cluster`"]
    );
    assert_eq!(
        problems(&with(
            json!({ "bundle_path": "/b", "bundle_refresh_seconds": 5 })
        )),
        [
            "bundle_path: is only used with `bundle_cluster`",
            "bundle_refresh_seconds: is only used with `bundle_cluster`",
        ]
    );
    assert_eq!(
        problems(&with(json!({ "policies": "version: 1" }))),
        ["policies: must be a policy document (a JSON object)"]
    );
}

#[test]
fn inline_policies_are_loaded() {
    let document = json!({
        "version": 1,
        "resources": [ { "id": "api", "audience": "https://api.example.com", "kind": "api",
                         "scopes": ["items:read"] } ],
        "policies": [ { "id": "readers", "targets": [ { "resource": "api", "scopes": "*" } ] } ]
    });
    let config = parse(&with(json!({ "policies": document }))).unwrap();
    assert!(matches!(config.policies, Some(Policies::Inline(_))));
}

#[test]
fn inline_policy_errors_carry_their_path() {
    let document = json!({
        "version": 1,
        "resources": [ { "id": "api", "audience": "https://api.example.com", "kind": "api",
                         "scopes": ["items:read"] } ],
        "policies": [ { "id": "readers", "targets": [ { "resource": "nope", "scopes": "*" } ] } ]
    });
    let found = problems(&with(json!({ "policies": document })));
    assert!(!found.is_empty());
    assert!(
        found.iter().all(|p| p.starts_with("policies.policies[0]")),
        "{found:?}"
    );
}

#[test]
fn problems_from_several_sections_at_once() {
    let found = problems(&json!({
        "issuer": "https://auth.example.com",
        "audiences": [],
        "jwks": { "nokeys": true },
        "routes": [ { "prefix": "x", "resource": "a" } ],
        "resource_metadata": "nope",
    }));
    assert_eq!(found.len(), 4, "{found:?}");
}

#[test]
fn error_display() {
    let error = parse(&json!({ "audiences": [] })).unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with("the plugin configuration has 4 errors:\n  issuer: is required\n"),
        "{text}"
    );
}
