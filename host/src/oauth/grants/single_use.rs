//! The single-use grants: an authorization code or a refresh token is taken once, and a second
//! use revokes everything it led to.

use crate::audit::Event;
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::oauth::secrets::token_hash;
use crate::oauth::state::Core;
use crate::store::TokenRecord;

/// The two single-use grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SingleUse {
    /// A refresh token (rotated on use).
    Refresh,
    /// An authorization code.
    Code,
}

/// Takes a refresh token or an authorization code for its one use: the record when it is this
/// client's, unexpired, unrevoked and not used before. A second use revokes its family, every
/// token it led to (RFC 6749 §4.1.2 for codes, §10.4 for rotated refresh tokens).
pub(super) async fn use_once(
    core: &Core,
    params: &Params,
    client: &AuthenticatedClient,
    token: &str,
    what: SingleUse,
) -> Result<TokenRecord, OAuthError> {
    let record = find(core, params, client, token, what).await?;
    take(core, params, record, what).await
}

/// The record of a refresh token or an authorization code when it is this client's, unexpired
/// and unrevoked, without using it: a grant that may refuse for a reason the client can mend
/// (a scope that needs a fresher sign-in) checks first and [`take`]s after.
pub(super) async fn find(
    core: &Core,
    params: &Params,
    client: &AuthenticatedClient,
    token: &str,
    what: SingleUse,
) -> Result<TokenRecord, OAuthError> {
    let (kind, name) = match what {
        SingleUse::Refresh => ("refresh", "refresh token"),
        SingleUse::Code => ("code", "authorization code"),
    };
    let invalid = || OAuthError::invalid_grant(format!("the {name} is not valid"));
    let id = token_hash(token);
    let record = core
        .store
        .get_token(&id)
        .await
        .map_err(OAuthError::from)?
        .filter(|r| r.kind == kind)
        .ok_or_else(invalid)?;
    // Issued before the client was last disabled or enabled: cut off, even though it is enabled
    // (disabling and enabling revoke recorded tokens; this covers one recorded meanwhile, by a
    // server that had not heard yet or from a consent given before).
    if record.client_id != client.config.client_id
        || record.revoked
        || record.expires_at <= params.now
        || !client.config.honours_token_issued_at(record.issued_at)
    {
        return Err(invalid());
    }
    // Used before: a replay, found before anything else is decided.
    if record.used {
        return Err(replayed(core, params, record, what).await);
    }
    Ok(record)
}

/// Uses a record [`find`] returned: it when this is its one use; a second use revokes its family.
pub(super) async fn take(
    core: &Core,
    params: &Params,
    record: TokenRecord,
    what: SingleUse,
) -> Result<TokenRecord, OAuthError> {
    if core
        .store
        .use_token(&record.id)
        .await
        .map_err(OAuthError::from)?
    {
        return Ok(record);
    }
    Err(replayed(core, params, record, what).await)
}

/// A second use: someone holds a copy. Revokes everything the record led to.
async fn replayed(
    core: &Core,
    params: &Params,
    record: TokenRecord,
    what: SingleUse,
) -> OAuthError {
    if let Err(e) = core.revoke_family(&record.family, params.now).await {
        return OAuthError::from(e);
    }
    let (client_id, family) = (record.client_id, record.family);
    core.audit.record(match what {
        SingleUse::Refresh => Event::RefreshReuse { client_id, family },
        SingleUse::Code => Event::CodeReplay { client_id, family },
    });
    OAuthError::invalid_grant(match what {
        SingleUse::Refresh => "the refresh token was already used; its session is revoked",
        SingleUse::Code => {
            "the authorization code was already used; the tokens it issued are revoked"
        }
    })
}
