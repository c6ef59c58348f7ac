//! The server's private signing keys, sealed with the vault key: a copy of the database alone then
//! lets no one sign tokens.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use zeroize::Zeroizing;

use super::key::{VaultError, VaultKey};
use crate::store::Store;

/// How a sealed signing key starts in the store; a PEM starts with `-----BEGIN`.
const SEALED_SIGNING_KEY: &str = "vault:v1:";

fn signing_key_aad(kid: &str) -> Vec<u8> {
    format!("tollgate-vault/v1\0signing-key\0{kid}").into_bytes()
}

/// Whether a stored private signing key is sealed with a vault key.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_SIGNING_KEY)
}

/// Seals a private signing key (PEM) with the vault key, bound to its `kid`, as it is stored:
/// `vault:v1:<key id>:<base64 of nonce and ciphertext>`.
pub fn seal_signing_key(key: &VaultKey, kid: &str, pem: &str) -> Result<String, VaultError> {
    let (mut raw, ciphertext) = key.seal(&signing_key_aad(kid), pem.as_bytes())?;
    raw.extend_from_slice(&ciphertext);
    Ok(format!(
        "{SEALED_SIGNING_KEY}{}:{}",
        key.id(),
        B64.encode(raw)
    ))
}

/// Opens a stored private signing key: a PEM as it is, a sealed one with the vault key.
pub fn open_signing_key(
    key: Option<&VaultKey>,
    kid: &str,
    stored: &str,
) -> Result<Zeroizing<String>, VaultError> {
    let Some(sealed) = stored.strip_prefix(SEALED_SIGNING_KEY) else {
        return Ok(Zeroizing::new(stored.to_owned()));
    };
    let (sealed_with, body) = sealed.split_once(':').unwrap_or(("(unknown)", ""));
    let Some(key) = key else {
        return Err(VaultError::SealedSigningKey {
            kid: kid.to_owned(),
            key_id: sealed_with.to_owned(),
        });
    };
    let unopened = || VaultError::SigningKeyDoesNotOpen {
        kid: kid.to_owned(),
        key_id: sealed_with.to_owned(),
    };
    let raw = B64.decode(body).map_err(|_| unopened())?;
    let (nonce, ciphertext) = raw.split_at(raw.len().min(12));
    let plain = key
        .open(&signing_key_aad(kid), nonce, ciphertext)
        .ok_or_else(unopened)?;
    String::from_utf8(plain.to_vec())
        .map(Zeroizing::new)
        .map_err(|_| unopened())
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
