//! Users through the admin API: the body is a [`UserConfig`], as in the configuration file; its
//! `password` is stored as an argon2id hash and never returned.

use zeroize::Zeroizing;

use super::entities::{Entity, to_body};
use super::error::AdminError;
use crate::config::UserConfig;
use crate::store::Kind;

/// Splits off a user's password.
pub fn entity(mut user: UserConfig) -> Result<Entity, AdminError> {
    if user.sub.is_empty() {
        return Err(AdminError::invalid("body.sub", "must not be empty"));
    }
    let secret = user.password.take().map(Zeroizing::new);
    let body = to_body(&user)?;
    Ok(Entity {
        kind: Kind::User,
        id: user.sub,
        body,
        secret,
    })
}

/// What signing a user out everywhere ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedOut {
    /// Browser sessions ended (sign-in and console sessions).
    pub sessions: u64,
    /// Tokens revoked (codes, refresh tokens and the recorded access tokens of their sessions).
    pub tokens: usize,
}

/// Signs user `sub` out everywhere: every browser session (sign-in and console) ends, at every
/// server sharing the store, and every token issued for the user by a grant that carries one is
/// revoked (its refresh families with it: the next refresh fails). Clients' own
/// `client_credentials` tokens are not the user's. Resource servers that verify access tokens
/// themselves accept one until it expires.
pub async fn sign_out(
    core: &crate::oauth::state::Core,
    sub: &str,
    by: &str,
    now: i64,
) -> Result<SignedOut, AdminError> {
    if !core.directory().users.contains_key(sub) {
        return Err(AdminError::NotFound {
            kind: "user",
            id: sub.to_owned(),
        });
    }
    let mut sessions = 0;
    for kind in [
        crate::store::FlowKind::Session,
        crate::store::FlowKind::Console,
    ] {
        sessions += core.store.delete_flows_of(kind, sub).await?;
    }
    let revoked = core.store.revoke_user_tokens(sub).await?;
    let tokens = revoked.len();
    core.revoked.add(revoked, now);
    core.audit
        .record_at(
            now,
            crate::audit::Event::SignOut {
                sub: sub.to_owned(),
                sessions,
                tokens,
                by: by.to_owned(),
            },
        )
        .await;
    Ok(SignedOut { sessions, tokens })
}
