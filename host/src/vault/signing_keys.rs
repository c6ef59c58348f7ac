//! The server's private signing keys, sealed with the vault key: a copy of the database alone then
//! lets no one sign tokens.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use zeroize::Zeroizing;

use super::key::{VaultError, VaultKey};
use crate::store::Store;

/// How a sealed value starts in the store; a PEM starts with `-----BEGIN`.
const SEALED: &str = "vault:v1:";

/// `label` says what is sealed and `id` which one: a sealed value opens only as what it was sealed
/// as.
fn aad(label: &str, id: &str) -> Vec<u8> {
    format!("tollgate-vault/v1\0{label}\0{id}").into_bytes()
}

/// Whether a stored private signing key is sealed with a vault key.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED)
}

/// Seals a text with the vault key, bound to what it is (`label`) and which one (`id`), as it is
/// stored: `vault:v1:<key id>:<base64 of nonce and ciphertext>`.
pub fn seal_text(key: &VaultKey, label: &str, id: &str, text: &str) -> Result<String, VaultError> {
    let (mut raw, ciphertext) = key.seal(&aad(label, id), text.as_bytes())?;
    raw.extend_from_slice(&ciphertext);
    Ok(format!("{SEALED}{}:{}", key.id(), B64.encode(raw)))
}

/// Opens a text sealed by [`seal_text`] with the same `label` and `id`; `None` when it is not
/// sealed so, or not with this key. Returns the id of the key it names, for messages.
pub fn open_text<'s>(
    key: &VaultKey,
    label: &str,
    id: &str,
    stored: &'s str,
) -> Result<Zeroizing<String>, &'s str> {
    let sealed = stored.strip_prefix(SEALED).unwrap_or_default();
    let (sealed_with, body) = sealed.split_once(':').unwrap_or(("(unknown)", ""));
    let raw = B64.decode(body).map_err(|_| sealed_with)?;
    let (nonce, ciphertext) = raw.split_at(raw.len().min(12));
    let plain = key
        .open(&aad(label, id), nonce, ciphertext)
        .ok_or(sealed_with)?;
    String::from_utf8(plain.to_vec())
        .map(Zeroizing::new)
        .map_err(|_| sealed_with)
}

/// Seals a private signing key (PEM) with the vault key, bound to its `kid`.
pub fn seal_signing_key(key: &VaultKey, kid: &str, pem: &str) -> Result<String, VaultError> {
    seal_text(key, "signing-key", kid, pem)
}

/// Opens a stored private signing key: a PEM as it is, a sealed one with the vault key.
pub fn open_signing_key(
    key: Option<&VaultKey>,
    kid: &str,
    stored: &str,
) -> Result<Zeroizing<String>, VaultError> {
    if !is_sealed(stored) {
        return Ok(Zeroizing::new(stored.to_owned()));
    }
    let Some(key) = key else {
        let sealed_with = stored
            .strip_prefix(SEALED)
            .and_then(|s| s.split_once(':'))
            .map_or("(unknown)", |(id, _)| id);
        return Err(VaultError::SealedSigningKey {
            kid: kid.to_owned(),
            key_id: sealed_with.to_owned(),
        });
    };
    open_text(key, "signing-key", kid, stored).map_err(|sealed_with| {
        VaultError::SigningKeyDoesNotOpen {
            kid: kid.to_owned(),
            key_id: sealed_with.to_owned(),
        }
    })
}

/// Seals every signing key still stored as plain PEM (stored before a vault key was
/// configured), in one transaction. Returns how many were sealed.
pub async fn seal_signing_keys(key: &VaultKey, store: &dyn Store) -> Result<usize, VaultError> {
    let sealed = store
        .keys()
        .await?
        .into_iter()
        .filter(|k| !is_sealed(&k.private_pem))
        .map(|k| {
            Ok((
                k.kid.clone(),
                seal_signing_key(key, &k.kid, &k.private_pem)?,
            ))
        })
        .collect::<Result<Vec<_>, VaultError>>()?;
    if !sealed.is_empty() {
        store.rekey_vault(&[], &sealed, &[]).await?;
    }
    Ok(sealed.len())
}
