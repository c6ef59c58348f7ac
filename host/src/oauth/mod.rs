//! OAuth as plain functions over plain types (house style habit 7): the axum handlers only parse
//! HTTP into a [`Params`] and render what these return.
//!
//! The modules, each importing only ones listed before it:
//!
//! | module | what |
//! | --- | --- |
//! | [`urn`], [`error`], [`params`], [`secrets`] | grant and token type URNs; OAuth errors; the request form and its bounds; random ids, digests, PKCE |
//! | [`redirect_uri`], [`cimd`] | redirect URI rules; client ID metadata documents |
//! | [`authorize`] (its browser sessions), [`connections`] (flows under way), [`own_tokens`] (its caches), [`state`] | the server's state, [`Core`] |
//! | [`client_auth`], [`token_claims`], [`targets`], [`policy_input`], [`issue`] | client authentication; reading tokens; the named target; the engine's input; issuing |
//! | [`grants`], [`introspection`], [`revocation`], [`registration`] | the endpoints' functions |

pub mod authorization_request;
pub mod authorize;
pub mod browser;
pub mod cimd;
pub mod client_auth;
pub mod connections;
pub mod error;
pub mod grants;
pub mod introspection;
pub mod issue;
pub mod own_tokens;
pub mod params;
pub mod policy_input;
pub mod redirect_uri;
pub mod registration;
pub mod replica;
pub mod revocation;
pub mod second_factor;
pub mod secrets;
pub mod state;
pub mod targets;
pub mod token_cache;
pub mod token_claims;
pub mod urn;

pub use client_auth::AuthenticatedClient;
pub use connections::{
    ConnectError, ConnectFlow, connect_callback, connect_confirm, connect_flow, connect_start,
};
pub use error::OAuthError;
pub use grants::token;
pub use introspection::introspect;
pub use issue::TokenResponse;
pub use params::{
    MAX_PARAM_BYTES, MAX_RESOURCES, MAX_SCOPE_BYTES, MAX_SCOPES, Params, check_scope_bounds,
    split_scope,
};
pub use revocation::revoke;
pub use state::{Core, RefreshLocks};
pub use token_cache::{Revoked, VerifiedTokens};
pub use urn::{
    ACCESS_TOKEN_TYPE, API_KEY_TOKEN_TYPE, CERTIFICATE_TOKEN_TYPE, JWT_BEARER, JWT_TOKEN_TYPE,
    REFRESH_TOKEN_TYPE, TOKEN_EXCHANGE,
};
