//! A connect flow under way, kept in the store until the browser comes back (to this server or
//! another sharing the store).

use serde::{Deserialize, Serialize};

/// How long a connect flow may take, in seconds.
pub(super) const CONNECT_TTL: i64 = 600;

/// What the vault seals a flow's PKCE verifier as (bound to the flow's `state`).
pub(super) const VERIFIER_LABEL: &str = "connect-verifier";

/// A connect flow waiting for the user's browser: first at Tollgate (signed in as `sub`, which
/// binds the flow to that browser session), then back from the provider. Stored under its
/// `state`, with `sub` as its owner.
#[derive(Serialize, Deserialize)]
pub(super) struct PendingConnect {
    pub(super) connection: String,
    pub(super) sub: String,
    /// The PKCE verifier, sealed with the vault key.
    pub(super) verifier: String,
    pub(super) scope: String,
    /// The provider's authorization URL, handed to the browser once it is bound.
    pub(super) provider_url: String,
    /// The SHA-256 of the Tollgate session cookie of the browser that confirmed the flow; the
    /// callback is honoured only from that browser, with `sub` still signed in (RFC 6749 §10.12,
    /// RFC 9700 §4.7: `state` bound to the user agent).
    pub(super) bound_to: Option<String>,
}

/// Connect flows one user may have under way at once.
pub(super) const MAX_CONNECTS_PER_USER: i64 = 8;
/// Connect flows under way at most.
pub(super) const MAX_CONNECTS: i64 = 10_000;

impl std::fmt::Debug for PendingConnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingConnect")
            .field("connection", &self.connection)
            .field("sub", &self.sub)
            .finish_non_exhaustive()
    }
}
