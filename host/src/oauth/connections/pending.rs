//! A connect flow under way, kept in the server's state until the browser comes back.

use zeroize::Zeroizing;

/// How long a connect flow may take, in seconds.
pub(super) const CONNECT_TTL: i64 = 600;

/// A connect flow waiting for the user's browser: first at Tollgate (signed in as `sub`, which
/// binds the flow to that browser session), then back from the provider.
pub struct PendingConnect {
    pub(super) connection: String,
    pub(super) sub: String,
    pub(super) verifier: Zeroizing<String>,
    pub(super) scope: String,
    pub(super) expires_at: i64,
    /// The provider's authorization URL, handed to the browser once it is bound.
    pub(super) provider_url: String,
    /// The SHA-256 of the Tollgate session cookie of the browser that confirmed the flow; the
    /// callback is honoured only from that browser, with `sub` still signed in (RFC 6749 §10.12,
    /// RFC 9700 §4.7: `state` bound to the user agent).
    pub(super) bound_to: Option<String>,
}

/// Connect flows one user may have under way at once.
pub(super) const MAX_CONNECTS_PER_USER: usize = 8;
/// Connect flows under way at most.
pub(super) const MAX_CONNECTS: usize = 10_000;

impl std::fmt::Debug for PendingConnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingConnect")
            .field("connection", &self.connection)
            .field("sub", &self.sub)
            .finish_non_exhaustive()
    }
}
