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
//!    missing or malformed.
//!
//! Token verification (signature, issuer, audience, expiry), the route's scopes and the live
//! policy check are not written yet: until they are, every token is refused with 401
//! `invalid_token`, so nothing reaches a protected route unverified. The configuration format is
//! in [`config`].
//!
//! The per-request behaviour is a pure function ([`check::check`]) tested natively; the
//! proxy-wasm contexts only carry it out. Build the filter with
//! `cargo build -p tollgate-envoy --target wasm32-unknown-unknown --profile wasm` and load
//! `target/wasm32-unknown-unknown/wasm/tollgate_envoy.wasm` with `envoy.filters.http.wasm`
//! (runtime `envoy.wasm.runtime.v8`, the configuration as a `google.protobuf.StringValue`).

#![deny(missing_docs)]

pub mod bearer;
pub mod challenge;
pub mod check;
pub mod config;
pub mod headers;
pub mod route;

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
