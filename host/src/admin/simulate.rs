//! Decisions on the current policy set without issuing anything, and the audit trail: the admin
//! API's reads that are not entities.

use serde::Serialize;
use tollgate_engine::{Decision, Request};
use utoipa::ToSchema;

use super::error::AdminError;
use crate::oauth::state::Core;
use crate::runtime::RuntimeError;
use crate::store::AuditRecord;

/// A simulated decision.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Simulated {
    /// The version of the policy set that decided.
    pub policy_version: u64,
    /// The decision, with its explanation.
    pub decision: Decision<'static>,
}

/// Decides `request` on the current policy set, with the explanation; nothing is issued or
/// recorded.
pub fn decide(core: &Core, request: &Request) -> Result<Simulated, AdminError> {
    match core.policy.decide(request) {
        Ok((decision, policy_version)) => Ok(Simulated {
            policy_version,
            decision,
        }),
        Err(RuntimeError::Request(message)) => Err(AdminError::invalid("body", message)),
        Err(e) => Err(AdminError::Decide(e)),
    }
}

/// The most audit events one read returns.
pub const MAX_AUDIT_EVENTS: i64 = 1000;

/// Audit events after sequence number `after`, oldest first, at most `limit` (clamped to
/// 1..=[`MAX_AUDIT_EVENTS`]).
pub async fn audit(core: &Core, after: i64, limit: i64) -> Result<Vec<AuditRecord>, AdminError> {
    Ok(core
        .store
        .audit_since(after, limit.clamp(1, MAX_AUDIT_EVENTS))
        .await?)
}
