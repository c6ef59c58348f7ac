//! The plugin configuration: the JSON string Envoy passes in `plugin_config.configuration`.
//!
//! ```json
//! {
//!   "issuer": "https://auth.example.com",
//!   "audiences": ["https://incidents.example.com"],
//!   "jwks_cluster": "tollgate", "jwks_path": "/.well-known/jwks.json",
//!   "resource_metadata": "https://incidents.example.com/.well-known/oauth-protected-resource",
//!   "routes": [
//!     { "prefix": "/v1/incidents", "methods": ["GET"], "resource": "incidents-api", "scopes": ["incidents:read"] },
//!     { "path": "/mcp", "resource": "incidents-mcp", "scopes": [] }
//!   ],
//!   "bundle_cluster": "tollgate", "bundle_path": "/v1/bundles/edge"
//! }
//! ```
//!
//! | key | meaning |
//! | --- | --- |
//! | `issuer` | required: the `iss` tokens must carry |
//! | `audiences` | required, non-empty: a token's `aud` must name one of them |
//! | `jwks` | the signing keys inline: a JWKS object (`{"keys": [...]}`) or its JSON text, with at least one usable key |
//! | `jwks_cluster`, `jwks_path` | or fetch the JWKS from this Envoy cluster and path (both required together) |
//! | `jwks_refresh_seconds` | how often to refetch the JWKS (default 300) |
//! | `clock_skew_seconds` | leeway on `exp` and `nbf` (default 60) |
//! | `routes` | required, non-empty: the protected routes (below); other requests pass untouched |
//! | `resource_metadata` | the RFC 9728 protected resource metadata URL named in every challenge |
//! | `policies` | an inline policy document (a JSON object) checked live per request |
//! | `bundle_cluster`, `bundle_path` | or pull signed policy bundles from this cluster and path |
//! | `bundle_refresh_seconds` | how often to poll for a new bundle (default 60) |
//! | `fail_open` | let requests through when keys or policies are unavailable (default false; never for a bad token) |
//! | `token_cache_size` | how many verified tokens each worker keeps (default 1024; 0 turns the cache off) |
//! | `signatures` | who checks RSA and ECDSA signatures: `"proxy"` (default; Envoy's own crypto library through its `verify_signature` foreign function, or the filter when the proxy has none) or `"filter"` (always the filter's own code) |
//!
//! A route has `prefix` or `path` (exactly one, starting with `/`), optional `methods`, a
//! `resource` (its id in the policy document) and `scopes` (the scopes a token needs there;
//! default none). Exactly one of `jwks` and `jwks_cluster` is required; `policies` and
//! `bundle_cluster` are optional and exclusive. Unknown keys are errors, and every problem
//! is reported at once with its path, e.g. `routes[2].prefix`.

use std::fmt;

use serde::Deserialize;
use thiserror::Error;
use tollgate_engine::PolicySet;

use crate::jwk::{JwksError, KeySet};
use crate::route::{PathMatch, Route, RouteTable};

/// `jwks_refresh_seconds` when not set.
pub const DEFAULT_JWKS_REFRESH_SECONDS: u64 = 300;
/// `bundle_refresh_seconds` when not set.
pub const DEFAULT_BUNDLE_REFRESH_SECONDS: u64 = 60;
/// `clock_skew_seconds` when not set.
pub const DEFAULT_CLOCK_SKEW_SECONDS: u64 = 60;
/// `token_cache_size` when not set.
pub const DEFAULT_TOKEN_CACHE_SIZE: usize = 1024;

/// A validated plugin configuration.
#[derive(Debug)]
pub struct Config {
    /// The `iss` tokens must carry.
    pub issuer: String,
    /// A token's `aud` must name one of these.
    pub audiences: Vec<String>,
    /// Where the token signing keys come from.
    pub jwks: Jwks,
    /// Leeway on `exp` and `nbf`, in seconds.
    pub clock_skew_seconds: u64,
    /// The protected routes.
    pub routes: RouteTable,
    /// The RFC 9728 protected resource metadata URL named in challenges.
    pub resource_metadata: Option<String>,
    /// Where the policies checked per request come from, if any.
    pub policies: Option<Policies>,
    /// Whether to let requests through when keys or policies are unavailable. Never applies to a
    /// token that is present and bad.
    pub fail_open: bool,
    /// How many verified tokens each worker caches (0: none).
    pub token_cache_size: usize,
    /// Who checks RSA and ECDSA signatures.
    pub signatures: Signatures,
}

/// Who checks RSA and ECDSA signatures (`EdDSA` signatures are always the filter's:
/// see [`crate::signature`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase", expecting = "`proxy` or `filter`")]
pub enum Signatures {
    /// The proxy's own crypto library when it offers one, the filter otherwise.
    #[default]
    Proxy,
    /// Always the filter's own code.
    Filter,
}

/// Where the token signing keys come from.
#[derive(Debug)]
pub enum Jwks {
    /// A JWKS given in the configuration, read at configure time.
    Inline(KeySet),
    /// A JWKS fetched over HTTP from an Envoy cluster.
    Remote(Remote),
}

/// Something fetched periodically over HTTP through an Envoy cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// The Envoy cluster name.
    pub cluster: String,
    /// The request path, starting with `/`.
    pub path: String,
    /// Seconds between fetches.
    pub refresh_seconds: u64,
}

/// Where the policies come from.
pub enum Policies {
    /// A document given in the configuration, loaded at configure time.
    Inline(PolicySet),
    /// Signed bundles pulled from the Tollgate server.
    Bundle(Remote),
}

impl fmt::Debug for Policies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Policies::Inline(_) => f.write_str("Inline(..)"),
            Policies::Bundle(remote) => f.debug_tuple("Bundle").field(remote).finish(),
        }
    }
}

/// Why a plugin configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// Envoy passed no configuration.
    #[error("the plugin configuration is empty")]
    Empty,
    /// Not JSON, an unknown key, or a value of the wrong type.
    #[error("the plugin configuration is not valid: {0}")]
    Syntax(String),
    /// Well-formed but wrong; every problem is listed.
    #[error("the plugin configuration has {} error{}:\n{}", .0.len(), if .0.len() == 1 { "" } else { "s" }, list(.0))]
    Invalid(Vec<ConfigProblem>),
}

/// One problem in the plugin configuration.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{path}: {message}")]
pub struct ConfigProblem {
    /// Where, e.g. `routes[2].prefix`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

fn list(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The configuration as written: shapes and types only; `Config::parse` checks the rest. Required
/// keys are optional here so that every missing one is reported, not only the first.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
struct RawConfig {
    issuer: Option<String>,
    audiences: Option<Vec<String>>,
    jwks: Option<serde_json::Value>,
    jwks_cluster: Option<String>,
    jwks_path: Option<String>,
    jwks_refresh_seconds: Option<u64>,
    clock_skew_seconds: Option<u64>,
    routes: Option<Vec<RawRoute>>,
    resource_metadata: Option<String>,
    policies: Option<serde_json::Value>,
    bundle_cluster: Option<String>,
    bundle_path: Option<String>,
    bundle_refresh_seconds: Option<u64>,
    #[serde(default)]
    fail_open: bool,
    token_cache_size: Option<usize>,
    #[serde(default)]
    signatures: Signatures,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a route object")]
struct RawRoute {
    prefix: Option<String>,
    path: Option<String>,
    methods: Option<Vec<String>>,
    resource: Option<String>,
    scopes: Option<Vec<String>>,
}

/// Collects problems while checking.
#[derive(Default)]
struct Problems(Vec<ConfigProblem>);

/// A section of the configuration is wrong, and its problems are already in [`Problems`].
#[derive(Debug)]
struct Reported;

/// What the keys of one remote source (`*_cluster`, `*_path`, `*_refresh_seconds`) say.
#[derive(Debug)]
enum RemoteSource {
    /// The cluster is not set (a path or interval given without it is reported).
    Absent,
    /// The cluster is set, but something about the source is wrong (reported).
    Invalid,
    /// A usable source.
    Valid(Remote),
}

impl Problems {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigProblem {
            path: path.into(),
            message: message.into(),
        });
    }

    /// The value of a required key, or a problem.
    fn required<T>(&mut self, path: &str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.add(path, "is required");
        }
        value
    }
}

impl Config {
    /// Parses and checks the plugin configuration (JSON text). An inline policy document is
    /// loaded here, so a bad one refuses the configuration instead of failing requests later.
    pub fn parse(bytes: &[u8]) -> Result<Config, ConfigError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ConfigError::Empty);
        }
        let raw: RawConfig =
            serde_json::from_slice(bytes).map_err(|e| ConfigError::Syntax(e.to_string()))?;
        let mut problems = Problems::default();

        let issuer = problems.required("issuer", raw.issuer);
        if issuer.as_deref() == Some("") {
            problems.add("issuer", "must not be empty");
        }
        let audiences = problems.required("audiences", raw.audiences);
        if let Some(audiences) = &audiences {
            if audiences.is_empty() {
                problems.add("audiences", "must name at least one audience");
            }
            for (i, audience) in audiences.iter().enumerate() {
                if audience.is_empty() {
                    problems.add(format!("audiences[{i}]"), "must not be empty");
                }
            }
        }

        let jwks = check_jwks(
            &mut problems,
            raw.jwks,
            raw.jwks_cluster,
            raw.jwks_path,
            raw.jwks_refresh_seconds,
        );
        let routes = check_routes(&mut problems, raw.routes);

        if let Some(url) = &raw.resource_metadata
            && let Err(message) = check_url(url)
        {
            problems.add("resource_metadata", message);
        }

        let policies = check_policies(
            &mut problems,
            raw.policies,
            raw.bundle_cluster,
            raw.bundle_path,
            raw.bundle_refresh_seconds,
        );

        match (issuer, audiences, jwks, routes, policies) {
            (Some(issuer), Some(audiences), Some(jwks), Some(routes), Ok(policies))
                if problems.0.is_empty() =>
            {
                Ok(Config {
                    issuer,
                    audiences,
                    jwks,
                    clock_skew_seconds: raw
                        .clock_skew_seconds
                        .unwrap_or(DEFAULT_CLOCK_SKEW_SECONDS),
                    routes,
                    resource_metadata: raw.resource_metadata,
                    policies,
                    fail_open: raw.fail_open,
                    token_cache_size: raw.token_cache_size.unwrap_or(DEFAULT_TOKEN_CACHE_SIZE),
                    signatures: raw.signatures,
                })
            }
            _ => Err(ConfigError::Invalid(problems.0)),
        }
    }
}

fn check_jwks(
    problems: &mut Problems,
    inline: Option<serde_json::Value>,
    cluster: Option<String>,
    path: Option<String>,
    refresh: Option<u64>,
) -> Option<Jwks> {
    let remote = check_remote(
        problems,
        ("jwks_cluster", cluster),
        ("jwks_path", path),
        ("jwks_refresh_seconds", refresh),
        DEFAULT_JWKS_REFRESH_SECONDS,
    );
    match (inline, remote) {
        (Some(_), RemoteSource::Invalid | RemoteSource::Valid(_)) => {
            problems.add("jwks", "set either `jwks` or `jwks_cluster`, not both");
            None
        }
        (Some(inline), RemoteSource::Absent) => match check_inline_jwks(inline) {
            Ok(jwks) => match KeySet::from_jwks(&jwks) {
                // Skipped keys are fine as long as one is usable: a JWKS may carry keys for
                // other consumers.
                Ok((keys, _skipped)) => Some(Jwks::Inline(keys)),
                Err(error) => {
                    match error {
                        JwksError::NoUsableKey(skipped) if !skipped.is_empty() => {
                            for key in skipped {
                                problems.add(format!("jwks.keys[{}]", key.index), key.why);
                            }
                        }
                        other => problems.add("jwks", other.to_string()),
                    }
                    None
                }
            },
            Err(message) => {
                problems.add("jwks", message);
                None
            }
        },
        (None, RemoteSource::Valid(remote)) => Some(Jwks::Remote(remote)),
        (None, RemoteSource::Invalid) => None,
        (None, RemoteSource::Absent) => {
            problems.add(
                "jwks",
                "the signing keys are required: set `jwks` or `jwks_cluster`",
            );
            None
        }
    }
}

/// A JWKS object, or its JSON text, with a `keys` array. The keys themselves are read when
/// tokens are verified.
fn check_inline_jwks(value: serde_json::Value) -> Result<serde_json::Value, String> {
    let value = match value {
        serde_json::Value::String(text) => {
            serde_json::from_str(&text).map_err(|e| format!("is not a JSON Web Key Set: {e}"))?
        }
        other => other,
    };
    match value.get("keys") {
        Some(serde_json::Value::Array(_)) => Ok(value),
        _ => Err("must be a JSON Web Key Set: an object with a `keys` array".to_owned()),
    }
}

fn check_remote(
    problems: &mut Problems,
    (cluster_key, cluster): (&str, Option<String>),
    (path_key, path): (&str, Option<String>),
    (refresh_key, refresh): (&str, Option<u64>),
    default_refresh: u64,
) -> RemoteSource {
    let Some(cluster) = cluster else {
        if path.is_some() {
            problems.add(path_key, format!("is only used with `{cluster_key}`"));
        }
        if refresh.is_some() {
            problems.add(refresh_key, format!("is only used with `{cluster_key}`"));
        }
        return RemoteSource::Absent;
    };
    let mut ok = true;
    if cluster.is_empty() {
        problems.add(cluster_key, "must not be empty");
        ok = false;
    }
    match &path {
        None => {
            problems.add(path_key, format!("is required with `{cluster_key}`"));
            ok = false;
        }
        Some(p) if !p.starts_with('/') => {
            problems.add(path_key, format!("`{p}` must start with `/`"));
            ok = false;
        }
        Some(_) => {}
    }
    if refresh == Some(0) {
        problems.add(refresh_key, "must be at least 1");
        ok = false;
    }
    match path {
        Some(path) if ok => RemoteSource::Valid(Remote {
            cluster,
            path,
            refresh_seconds: refresh.unwrap_or(default_refresh),
        }),
        _ => RemoteSource::Invalid,
    }
}

fn check_routes(problems: &mut Problems, routes: Option<Vec<RawRoute>>) -> Option<RouteTable> {
    let routes = problems.required("routes", routes)?;
    let before = problems.0.len();
    if routes.is_empty() {
        problems.add("routes", "must list at least one route");
    }
    let mut checked: Vec<Route> = Vec::with_capacity(routes.len());
    for (i, raw) in routes.into_iter().enumerate() {
        let Some(route) = check_route(problems, &format!("routes[{i}]"), raw) else {
            continue;
        };
        if let Some(j) = checked.iter().position(|earlier| earlier.overlaps(&route)) {
            problems.add(
                format!("routes[{i}]"),
                format!(
                    "matches the same requests as `routes[{j}]` (same path, a method in common)"
                ),
            );
        }
        checked.push(route);
    }
    (problems.0.len() == before).then(|| RouteTable::new(checked))
}

fn check_route(problems: &mut Problems, at: &str, raw: RawRoute) -> Option<Route> {
    let before = problems.0.len();
    let path = match (raw.prefix, raw.path) {
        (Some(_), Some(_)) => {
            problems.add(at, "set either `prefix` or `path`, not both");
            None
        }
        (None, None) => {
            problems.add(at, "`prefix` or `path` is required");
            None
        }
        (Some(prefix), None) => check_route_path(problems, &format!("{at}.prefix"), &prefix)
            .then_some(PathMatch::Prefix(prefix)),
        (None, Some(path)) => check_route_path(problems, &format!("{at}.path"), &path)
            .then_some(PathMatch::Exact(path)),
    };
    let methods = raw.methods.map(|methods| {
        if methods.is_empty() {
            problems.add(
                format!("{at}.methods"),
                "must list at least one method (leave it out to cover every method)",
            );
        }
        let mut upper: Vec<String> = Vec::with_capacity(methods.len());
        for (i, method) in methods.iter().enumerate() {
            if method.is_empty() || !method.bytes().all(is_tchar) {
                problems.add(
                    format!("{at}.methods[{i}]"),
                    format!("`{method}` is not an HTTP method"),
                );
            }
            let method = method.to_ascii_uppercase();
            if !upper.contains(&method) {
                upper.push(method);
            }
        }
        upper
    });
    let resource = problems.required(&format!("{at}.resource"), raw.resource);
    if resource.as_deref() == Some("") {
        problems.add(format!("{at}.resource"), "must not be empty");
    }
    let scopes = raw.scopes.unwrap_or_default();
    for (i, scope) in scopes.iter().enumerate() {
        if scope.is_empty() || !scope.bytes().all(is_scope_char) {
            problems.add(
                format!("{at}.scopes[{i}]"),
                format!("`{scope}` is not an OAuth scope (RFC 6749 section 3.3)"),
            );
        }
    }
    match (path, resource) {
        (Some(path), Some(resource)) if problems.0.len() == before => Some(Route {
            path,
            methods,
            resource,
            scopes,
        }),
        _ => None,
    }
}

fn check_route_path(problems: &mut Problems, at: &str, path: &str) -> bool {
    if !path.starts_with('/') {
        problems.add(at, format!("`{path}` must start with `/`"));
        false
    } else if path.contains(['?', '#']) {
        problems.add(
            at,
            format!("`{path}` must not contain a query or fragment (routes match the path only)"),
        );
        false
    } else {
        true
    }
}

/// The URL goes into a header as a quoted string: an absolute http(s) URL with nothing that would
/// need escaping there.
fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(rest)
            if !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\') =>
        {
            Ok(())
        }
        _ => Err(format!(
            "`{url}` must be an absolute `https://` (or `http://`) URL without spaces, quotes or backslashes"
        )),
    }
}

fn check_policies(
    problems: &mut Problems,
    inline: Option<serde_json::Value>,
    cluster: Option<String>,
    path: Option<String>,
    refresh: Option<u64>,
) -> Result<Option<Policies>, Reported> {
    let remote = check_remote(
        problems,
        ("bundle_cluster", cluster),
        ("bundle_path", path),
        ("bundle_refresh_seconds", refresh),
        DEFAULT_BUNDLE_REFRESH_SECONDS,
    );
    match (inline, remote) {
        (Some(_), RemoteSource::Invalid | RemoteSource::Valid(_)) => {
            problems.add(
                "policies",
                "set either `policies` or `bundle_cluster`, not both",
            );
            Err(Reported)
        }
        (Some(document), RemoteSource::Absent) => {
            if !document.is_object() {
                problems.add("policies", "must be a policy document (a JSON object)");
                return Err(Reported);
            }
            match PolicySet::from_value(document) {
                Ok(set) => Ok(Some(Policies::Inline(set))),
                Err(error) => {
                    for e in error.errors() {
                        let path = if e.path.is_empty() {
                            "policies".to_owned()
                        } else {
                            format!("policies.{}", e.path)
                        };
                        problems.add(path, e.message);
                    }
                    Err(Reported)
                }
            }
        }
        (None, RemoteSource::Valid(remote)) => Ok(Some(Policies::Bundle(remote))),
        (None, RemoteSource::Invalid) => Err(Reported),
        (None, RemoteSource::Absent) => Ok(None),
    }
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 6749 section 3.3 `scope-token` characters: `%x21 / %x23-5B / %x5D-7E`.
fn is_scope_char(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

#[cfg(test)]
mod tests;
