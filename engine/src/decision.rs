//! The decision and its explanation.

use serde::{Deserialize, Serialize};

use crate::request::Name;

/// The answer to a [`Request`](crate::Request): what is granted, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// Whether a token (or credential) may be issued at all.
    pub permitted: bool,
    /// The granted scopes, in the order of [`Decision::scopes`].
    pub granted: Vec<Name>,
    /// One entry per requested scope (or per allowed scope when none were requested).
    pub scopes: Vec<ScopeDecision>,
    /// The enforce-mode policies that matched, in document order.
    pub matched: Vec<Name>,
    /// The dry-run policies that would have matched and what they would have added.
    pub dry_run: Vec<DryRun>,
    /// Each candidate policy that did not match, with its first failing check (only when the
    /// request asks for an explanation).
    pub not_matched: Vec<NotMatched>,
}

/// The verdict on one scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeDecision {
    /// The scope.
    pub scope: Name,
    /// Whether it is granted.
    pub granted: bool,
    /// The matched policies that give this scope, in document order.
    pub by: Vec<Name>,
    /// Why it was not granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

/// Why a scope was not granted: the first check it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The document does not define the requested target.
    UnknownTarget,
    /// The target does not define the scope.
    UnknownScope,
    /// No matching policy gives the scope.
    NotAllowed,
    /// The client's configuration does not permit the scope on this target.
    ClientConfig,
    /// The user did not consent to the scope.
    NotConsented,
}

impl Reason {
    /// The reason's name in decisions.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::UnknownTarget => "unknown_target",
            Reason::UnknownScope => "unknown_scope",
            Reason::NotAllowed => "not_allowed",
            Reason::ClientConfig => "client_config",
            Reason::NotConsented => "not_consented",
        }
    }
}

/// A dry-run policy that would have matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DryRun {
    /// The policy id.
    pub policy: Name,
    /// Scopes it would add to `granted`.
    pub would_add: Vec<Name>,
    /// Whether it would turn a refusal into a permitted decision.
    pub would_permit: bool,
}

/// A candidate policy that did not match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotMatched {
    /// The policy id.
    pub policy: Name,
    /// The first failing check, e.g. `condition 0: user.roles contains admin`.
    pub failed: String,
}
