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

/// What resetting a user's second factor did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecondFactorReset {
    /// Whether the user had one (set up or being set up); it is gone either way.
    pub removed: bool,
}

/// Removes user `sub`'s second factor (a lost authenticator app and no recovery code left): the
/// next sign-in needs the password only, and the user can set up a new one at `/account`.
/// Audited as an admin change (`reset-second-factor`).
pub async fn reset_second_factor(
    core: &crate::oauth::state::Core,
    sub: &str,
    by: &str,
    now: i64,
) -> Result<SecondFactorReset, AdminError> {
    use crate::oauth::second_factor::{self, SecondFactorError};
    if !core.directory().users.contains_key(sub) {
        return Err(AdminError::NotFound {
            kind: "user",
            id: sub.to_owned(),
        });
    }
    let removed = match second_factor::remove(core, sub).await {
        Ok(removed) => removed,
        // Without a vault nothing can have been stored.
        Err(SecondFactorError::NoVault) => false,
        Err(SecondFactorError::Vault(e)) => return Err(e.into()),
        Err(SecondFactorError::Store(e)) => return Err(AdminError::Store(e)),
        Err(other) => {
            return Err(AdminError::Vault(crate::vault::VaultError::Corrupt {
                connection: second_factor::VAULT_ID.to_owned(),
                owner: format!("user:{sub}: {other}"),
            }));
        }
    };
    let versions = core.store.versions().await?;
    core.audit
        .record_at(
            now,
            crate::audit::Event::AdminChange {
                action: "reset-second-factor",
                kind: "user".to_owned(),
                id: sub.to_owned(),
                policy_version: u64::try_from(versions.entities).unwrap_or_default(),
                by: by.to_owned(),
                policy: None,
            },
        )
        .await;
    Ok(SecondFactorReset { removed })
}
