//! Connections: vaulted downstream credentials handed out by token exchange (RFC 8693) under
//! policy, and the connect flow that links a user's account at an OAuth provider.
//!
//! The subject token picks the credential: the user's own when a user is present, the tenant's
//! (the subject client's `tenantId`) for an autonomous agent. Connection policies decide whether,
//! and for `oauth` connections which scopes: Tollgate refreshes the vaulted provider token with the
//! narrowed `scope` and returns only that access token. API keys and certificates are returned
//! whole, with `issued_token_type` saying what they are.

mod exchange;
mod flow;
pub mod pending;
mod provider;

pub use exchange::{Subject, exchange};
pub use flow::{
    ConnectError, ConnectFlow, connect_callback, connect_confirm, connect_flow, connect_start,
};
