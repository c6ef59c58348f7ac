//! Tollgate's proxy-wasm filter: enforcement at the edge for APIs and MCP servers behind Envoy
//! (or another proxy-wasm host).
//!
//! Per request, the filter
//!
//! 1. removes every client-sent `x-tollgate-*` header (the filter owns them: see
//!    [`headers::RESERVED_PREFIX`]);
//! 2. finds the protected route ([`route::RouteTable::find`]: an exact path beats the longest
//!    prefix; a method filter narrows a route); a request no route covers passes untouched;
//! 3. reads the bearer token from the `Authorization` header ([`bearer::extract`], RFC 6750) and
//!    answers 401 with an RFC 6750 / RFC 9728 challenge ([`challenge::Challenge`]) when it is
//!    missing or malformed;
//! 4. verifies the token ([`jwt::verify`]: ES256, RS256 or EdDSA against the keys of the JWKS,
//!    [`jwk::KeySet`]; `iss`, `aud`, `exp`, `nbf` with leeway; RSA and ECDSA signatures checked by
//!    Envoy's own crypto library when it offers it, [`signature`]), or finds it in the worker's cache
//!    of verified tokens ([`cache::TokenCache`], keyed by the token itself, entries expiring with
//!    the token); 401 `invalid_token` when it fails;
//! 5. requires the route's scopes in the token (403 `insufficient_scope` naming them);
//! 6. when policies are configured, asks the engine for a live decision with the token's claims
//!    ([`live`]): a policy change applies at once, even to tokens issued before it (403
//!    `insufficient_scope` when refused);
//! 7. forwards the request with `x-tollgate-sub`, `x-tollgate-client-id` and `x-tollgate-scope`.
//!
//! Keys and policies are inline in the configuration ([`config`]) or fetched from an Envoy
//! cluster on a tick and shared across workers ([`sync`]); until the first good fetch a request
//! with a token gets 503 (or passes untouched with `fail_open`).
//!
//! The per-request behaviour is a pure function ([`check::check`]) tested natively; the
//! proxy-wasm contexts only carry it out. Build the filter with
//! `cargo build -p tollgate-envoy --target wasm32-unknown-unknown --profile wasm` and load
//! `target/wasm32-unknown-unknown/wasm/tollgate_envoy.wasm` with `envoy.filters.http.wasm`
//! (runtime `envoy.wasm.runtime.v8`, the configuration as a `google.protobuf.StringValue`).

#![deny(missing_docs)]

// Layers, each importing only modules above it in this list (no cycles):
//   route, bearer, challenge, abi_headers, signature   leaves
//   jwk (signature) → jwt (jwk, signature) → identity (jwt) → headers, cache (identity, jwt)
//   config (jwk, route) → sync (config, jwk); live (jwt, route)
//   check (all of the above) → filter (the proxy-wasm glue)
pub mod abi_headers;
pub mod bearer;
pub mod cache;
pub mod challenge;
pub mod check;
pub mod config;
pub mod headers;
pub mod identity;
pub mod jwk;
pub mod jwt;
pub mod live;
pub mod route;
pub mod signature;
pub mod sync;

#[cfg(test)]
mod testing;

// `allow`, not `expect`: an expectation on a module is not met by the dead-code warnings of
// its items (rustc reports them unfulfilled), and marking every item would clutter the glue.
#[cfg_attr(
    not(target_arch = "wasm32"),
    allow(
        dead_code,
        reason = "only the wasm entry point constructs the contexts"
    )
)]
mod filter;

/// The entry point (`_initialize`), only in the wasm build: natively it would pull in the host
/// calls, which only a proxy-wasm host provides.
#[cfg(target_arch = "wasm32")]
mod entry {
    proxy_wasm::main! {{
        proxy_wasm::set_log_level(proxy_wasm::types::LogLevel::Info);
        proxy_wasm::set_root_context(|_| Box::new(crate::filter::Root::default()));
    }}
}
