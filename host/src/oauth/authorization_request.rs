//! An authorization request once checked: what the sign-in and consent steps carry along.

use crate::config::ClientConfig;
use crate::directory::ResourceInfo;

/// An authorization request whose client and redirect URI are known, and the rest checked.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Validated {
    /// The client.
    pub client: ClientConfig,
    /// The registered redirect URI.
    pub redirect_uri: String,
    /// `state`.
    pub state: Option<String>,
    /// The S256 challenge.
    pub code_challenge: String,
    /// The resource.
    pub resource: ResourceInfo,
    /// The requested scopes.
    pub requested: Option<Vec<String>>,
    /// OpenID Connect `max_age` (RFC 9470 section 4): a sign-in older than this many seconds is
    /// asked for again.
    #[serde(default)]
    pub max_age: Option<u64>,
    /// What `prompt` asks for (OpenID Connect Core section 3.1.2.1).
    #[serde(default)]
    pub prompt: Prompt,
}

/// The `prompt` of an authorization request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Prompt {
    /// None given (or only `consent`, which this server always asks for): sign in when needed.
    #[default]
    Default,
    /// `login`: sign in again even with a signed-in session.
    Login,
    /// `none`: no page may be shown. This server always asks for consent, so the request fails:
    /// `login_required` without a signed-in session, `consent_required` with one.
    None,
}

impl Validated {
    /// Whether a session whose user signed in at `auth_time` must sign in again before consenting
    /// (`prompt=login`, or a sign-in older than `max_age`).
    pub fn wants_new_sign_in(&self, auth_time: Option<i64>, now: i64) -> bool {
        self.prompt == Prompt::Login
            || self.max_age.is_some_and(|max| {
                auth_time
                    .is_none_or(|t| now.saturating_sub(t) > i64::try_from(max).unwrap_or(i64::MAX))
            })
    }
}
