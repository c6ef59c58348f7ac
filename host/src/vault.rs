//! The vault: downstream connection credentials (provider refresh tokens, API keys, certificates,
//! a provider's client secret) sealed with AES-256-GCM before they reach the store.
//!
//! The key comes from `TOLLGATE_VAULT_KEY` (base64 of 32 bytes) or from the configured key file
//! (generated on first start when the vault is empty). Each sealed value is bound to its row
//! (connection, owner, kind) as associated data, so a ciphertext moved to another row does not
//! open. The store keeps a sealed check value and the key's id: a wrong key is refused at start,
//! before anything is read or written.
//!
//! The same key seals the server's private signing keys ([`seal_signing_key`]): a copy of the
//! database alone then lets no one sign tokens.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngCore as _;
use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::store::{CredentialRecord, Source, Store, StoreError};

/// The environment variable holding the vault key (base64 of 32 bytes).
pub const KEY_ENV: &str = "TOLLGATE_VAULT_KEY";

const CHECK_PLAINTEXT: &[u8] = b"tollgate vault check v1";
const META_KEY_ID: &str = "vault_key_id";
const META_CHECK: &str = "vault_check";

/// Why the vault cannot be used.
#[derive(Debug, Error)]
pub enum VaultError {
    /// The key is not 32 bytes of base64.
    #[error("the vault key from {source_name} is not usable: {why}")]
    BadKey {
        /// Where the key came from.
        source_name: String,
        /// What is wrong.
        why: String,
    },
    /// The key does not open what the store holds.
    #[error(
        "the vault key (id {given}) does not open this store's vault, which was sealed with key {expected}; \
         nothing was read or changed. Start with the key the vault was sealed with, or re-encrypt with \
         `tollgate vault rotate-key`"
    )]
    WrongKey {
        /// The id the store records.
        expected: String,
        /// The id of the key given.
        given: String,
    },
    /// Credentials exist but no key is configured.
    #[error(
        "the store holds {0} sealed credential(s) but no vault key is configured: set {KEY_ENV} or `vault.keyFile`"
    )]
    NoKey(usize),
    /// A sealed value did not open (tampered with, or sealed for another row).
    #[error("the sealed credential of connection `{connection}` for `{owner}` does not open")]
    Corrupt {
        /// The connection.
        connection: String,
        /// The owner.
        owner: String,
    },
    /// The key file could not be read or written.
    #[error("vault key file `{path}`: {source}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The value is too large to seal.
    #[error("the credential is too large to seal")]
    TooLarge,
    /// A connection id or owner holds a NUL character, which the associated data cannot carry.
    #[error("a connection id or credential owner must not contain a NUL character")]
    NulInId,
    /// A signing key is sealed but no vault key is configured.
    #[error(
        "signing key `{kid}` is sealed with vault key {key_id}, but no vault key is configured: set {KEY_ENV} or `vault.keyFile`"
    )]
    SealedSigningKey {
        /// The signing key.
        kid: String,
        /// The vault key it is sealed with.
        key_id: String,
    },
    /// A sealed signing key did not open (tampered with, or sealed with another key).
    #[error(
        "signing key `{kid}` (sealed with vault key {key_id}) does not open with this vault key"
    )]
    SigningKeyDoesNotOpen {
        /// The signing key.
        kid: String,
        /// The vault key it says it is sealed with.
        key_id: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A 256-bit vault key. Its `Debug` shows only the key id.
pub struct VaultKey {
    cipher: Aes256Gcm,
    id: String,
}

impl std::fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultKey").field("id", &self.id).finish()
    }
}

impl VaultKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8], source_name: &str) -> Result<VaultKey, VaultError> {
        let cipher = Aes256Gcm::new_from_slice(bytes).map_err(|_| VaultError::BadKey {
            source_name: source_name.to_owned(),
            why: format!("it is {} bytes, a vault key is 32", bytes.len()),
        })?;
        let digest = Sha256::new()
            .chain_update(b"tollgate vault key id\0")
            .chain_update(bytes)
            .finalize();
        let id = digest
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        Ok(VaultKey { cipher, id })
    }

    /// A key from its base64 text (standard or URL-safe alphabet, padding optional).
    pub fn parse(text: &str, source_name: &str) -> Result<VaultKey, VaultError> {
        let text = text.trim();
        let bytes = Zeroizing::new(
            B64.decode(text)
                .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
                .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(text))
                .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
                .map_err(|_| VaultError::BadKey {
                    source_name: source_name.to_owned(),
                    why: "it is not base64".into(),
                })?,
        );
        VaultKey::from_bytes(&bytes, source_name)
    }

    /// A fresh random key and its base64 text.
    pub fn generate() -> Result<(VaultKey, Zeroizing<String>), VaultError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        let text = Zeroizing::new(B64.encode(bytes.as_ref()));
        Ok((VaultKey::from_bytes(bytes.as_ref(), "a new key")?, text))
    }

    /// The key's id: a hash prefix, safe to log and store.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>), VaultError> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // AES-GCM refuses only messages over 64 GiB.
        let ciphertext = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| VaultError::TooLarge)?;
        Ok((nonce.to_vec(), ciphertext))
    }

    fn open(&self, aad: &[u8], nonce: &[u8], ciphertext: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if nonce.len() != 12 {
            return None;
        }
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .ok()
            .map(Zeroizing::new)
    }
}

/// Reads the vault key: `TOLLGATE_VAULT_KEY` first, then the key file. A missing key file is
/// created with a new key when `create` is true (first start, empty vault).
pub fn load_key(key_file: Option<&Path>, create: bool) -> Result<Option<VaultKey>, VaultError> {
    if let Ok(text) = std::env::var(KEY_ENV)
        && !text.trim().is_empty()
    {
        return VaultKey::parse(&text, KEY_ENV).map(Some);
    }
    let Some(path) = key_file else {
        return Ok(None);
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(path)
                .map_err(|source| VaultError::KeyFile {
                    path: path.to_owned(),
                    source,
                })?
                .permissions()
                .mode();
            // A key others could read may have been copied: refuse rather than narrow quietly.
            if mode & 0o077 != 0 {
                return Err(VaultError::KeyFile {
                    path: path.to_owned(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::PermissionDenied,
                        format!(
                            "the vault key file is readable by others (mode {:o}); make it owner-only (chmod 600) and consider rotating the key",
                            mode & 0o777
                        ),
                    ),
                });
            }
            VaultKey::parse(&text, &format!("`{}`", path.display())).map(Some)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            write_new_key(path).map(Some)
        }
        Err(source) => Err(VaultError::KeyFile {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Generates a key into a new file, readable by its owner only.
pub fn write_new_key(path: &Path) -> Result<VaultKey, VaultError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let (key, text) = VaultKey::generate()?;
    let io = |source| VaultError::KeyFile {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::files::ensure_private_dir(dir).map_err(io)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.write_all(b"\n").map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(key)
}

/// What a credential is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    /// A provider refresh token (kind `oauth`).
    RefreshToken,
    /// An API key (kind `api_key`).
    ApiKey,
    /// A PEM certificate and key, or a service-account JSON (kind `certificate`).
    Certificate,
    /// The connection's own client secret at its provider.
    ClientSecret,
}

impl SecretKind {
    /// The name stored beside the sealed value.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::RefreshToken => "refresh_token",
            SecretKind::ApiKey => "api_key",
            SecretKind::Certificate => "certificate",
            SecretKind::ClientSecret => "client_secret",
        }
    }

    /// The kind of a stored name.
    pub fn from_name(name: &str) -> Option<SecretKind> {
        Some(match name {
            "refresh_token" => SecretKind::RefreshToken,
            "api_key" => SecretKind::ApiKey,
            "certificate" => SecretKind::Certificate,
            "client_secret" => SecretKind::ClientSecret,
            _ => return None,
        })
    }

    /// The credential kind a connection of `connection_kind` holds for its users and tenants.
    pub fn for_connection(connection_kind: &str) -> Option<SecretKind> {
        match connection_kind {
            "oauth" => Some(SecretKind::RefreshToken),
            "api_key" => Some(SecretKind::ApiKey),
            "certificate" => Some(SecretKind::Certificate),
            _ => None,
        }
    }
}

/// Whose credential: a user's, a tenant's, or the connection's own (its provider client secret).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    /// A user, by `sub`.
    User(String),
    /// A tenant (for autonomous agents).
    Tenant(String),
    /// The connection itself.
    Provider,
}

impl Owner {
    /// Parses `user:<sub>`, `tenant:<id>` or `provider`.
    pub fn parse(text: &str) -> Option<Owner> {
        if text == "provider" {
            return Some(Owner::Provider);
        }
        let (kind, id) = text.split_once(':')?;
        if id.is_empty() {
            return None;
        }
        match kind {
            "user" => Some(Owner::User(id.to_owned())),
            "tenant" => Some(Owner::Tenant(id.to_owned())),
            _ => None,
        }
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Owner::User(sub) => write!(f, "user:{sub}"),
            Owner::Tenant(id) => write!(f, "tenant:{id}"),
            Owner::Provider => f.write_str("provider"),
        }
    }
}

/// A credential to seal.
#[derive(Clone, Copy)]
pub struct Credential<'a> {
    /// What it is.
    pub kind: SecretKind,
    /// The secret.
    pub secret: &'a str,
    /// For refresh tokens: the scopes the provider granted (space-separated).
    pub scope: Option<&'a str>,
    /// Who puts it there.
    pub source: Source,
}

impl std::fmt::Debug for Credential<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("kind", &self.kind)
            .field("scope", &self.scope)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// A credential taken out of the vault. The secret is wiped from memory when dropped.
#[derive(Debug)]
pub struct Opened {
    /// What it is.
    pub kind: SecretKind,
    /// The secret.
    pub secret: Zeroizing<String>,
    /// For refresh tokens: the scopes the provider granted (space-separated).
    pub scope: Option<String>,
    /// Who put it there.
    pub source: Source,
}

/// A credential as listed (never the secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialInfo {
    /// The connection.
    pub connection: String,
    /// `user:<sub>`, `tenant:<id>` or `provider`.
    pub owner: String,
    /// What it is.
    pub kind: String,
    /// For refresh tokens: the provider's scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `config` or `admin`.
    pub source: Source,
    /// Unix seconds.
    pub updated_at: i64,
}

/// The associated data binding a sealed value to its row. The fields are joined with NUL, which
/// is unambiguous because [`Vault::put`] refuses a connection id or owner containing one (the
/// kind is one of [`SecretKind`]'s names), so a ciphertext cannot be moved to another row whose
/// joined fields happen to match.
fn aad(connection: &str, owner: &str, kind: &str) -> Vec<u8> {
    format!("tollgate-vault/v1\0{connection}\0{owner}\0{kind}").into_bytes()
}

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

/// The vault over the store.
#[derive(Debug)]
pub struct Vault {
    key: VaultKey,
    store: Arc<dyn Store>,
}

impl Vault {
    /// Opens the vault with `key`: refuses a key that does not open what the store holds, and
    /// records the key's check value on first use.
    pub async fn open(key: VaultKey, store: Arc<dyn Store>) -> Result<Vault, VaultError> {
        verify_key(&key, store.as_ref()).await?;
        Ok(Vault { key, store })
    }

    /// Refuses to start when the store holds credentials and no key was given.
    pub async fn require_none_sealed(store: &dyn Store) -> Result<(), VaultError> {
        let n = store.list_credentials().await?.len();
        if n > 0 {
            return Err(VaultError::NoKey(n));
        }
        Ok(())
    }

    /// The key's id.
    pub fn key_id(&self) -> &str {
        self.key.id()
    }

    /// The vault key, which also seals the signing keys.
    pub fn key(&self) -> &VaultKey {
        &self.key
    }

    /// Seals and stores a credential (replacing the owner's previous one).
    pub async fn put(
        &self,
        connection: &str,
        owner: &Owner,
        credential: Credential<'_>,
        now: i64,
    ) -> Result<(), VaultError> {
        let Credential {
            kind,
            secret,
            scope,
            source,
        } = credential;
        let owner = owner.to_string();
        if connection.contains('\0') || owner.contains('\0') {
            return Err(VaultError::NulInId);
        }
        let (nonce, ciphertext) = self
            .key
            .seal(&aad(connection, &owner, kind.as_str()), secret.as_bytes())?;
        self.store
            .put_credential(&CredentialRecord {
                connection_id: connection.to_owned(),
                owner,
                kind: kind.as_str().to_owned(),
                key_id: self.key.id().to_owned(),
                nonce,
                ciphertext,
                scope: scope.map(str::to_owned),
                source,
                updated_at: now,
            })
            .await?;
        Ok(())
    }

    /// Opens an owner's credential.
    pub async fn get(&self, connection: &str, owner: &Owner) -> Result<Option<Opened>, VaultError> {
        let owner_text = owner.to_string();
        let Some(record) = self.store.get_credential(connection, &owner_text).await? else {
            return Ok(None);
        };
        self.open_record(&record).map(Some)
    }

    fn open_record(&self, record: &CredentialRecord) -> Result<Opened, VaultError> {
        let corrupt = || VaultError::Corrupt {
            connection: record.connection_id.clone(),
            owner: record.owner.clone(),
        };
        let kind = SecretKind::from_name(&record.kind).ok_or_else(corrupt)?;
        let plain = self
            .key
            .open(
                &aad(&record.connection_id, &record.owner, &record.kind),
                &record.nonce,
                &record.ciphertext,
            )
            .ok_or_else(corrupt)?;
        let secret = String::from_utf8(plain.to_vec()).map_err(|_| corrupt())?;
        Ok(Opened {
            kind,
            secret: Zeroizing::new(secret),
            scope: record.scope.clone(),
            source: record.source,
        })
    }

    /// Every credential (or a connection's), without secrets.
    pub async fn list(&self, connection: Option<&str>) -> Result<Vec<CredentialInfo>, VaultError> {
        Ok(self
            .store
            .list_credentials()
            .await?
            .into_iter()
            .filter(|r| connection.is_none_or(|c| c == r.connection_id))
            .map(|r| CredentialInfo {
                connection: r.connection_id,
                owner: r.owner,
                kind: r.kind,
                scope: r.scope,
                source: r.source,
                updated_at: r.updated_at,
            })
            .collect())
    }

    /// Removes a credential; whether it existed.
    pub async fn delete(&self, connection: &str, owner: &Owner) -> Result<bool, VaultError> {
        Ok(self
            .store
            .delete_credential(connection, &owner.to_string())
            .await?)
    }
}

async fn verify_key(key: &VaultKey, store: &dyn Store) -> Result<(), VaultError> {
    let expected = store.get_meta(META_KEY_ID).await?;
    let check = store.get_meta(META_CHECK).await?;
    let wrong = |expected: Option<String>| VaultError::WrongKey {
        expected: expected.unwrap_or_else(|| "(unknown)".into()),
        given: key.id().to_owned(),
    };
    match check {
        Some(check) => {
            let raw = B64.decode(check.as_bytes()).unwrap_or_default();
            let (nonce, ciphertext) = raw.split_at(raw.len().min(12));
            let opened = key.open(b"tollgate-vault/v1\0check", nonce, ciphertext);
            if opened.as_deref().map(Vec::as_slice) != Some(CHECK_PLAINTEXT) {
                return Err(wrong(expected));
            }
        }
        None => {
            // Sealed rows without a check value: the first must open.
            if let Some(first) = store.list_credentials().await?.into_iter().next()
                && key
                    .open(
                        &aad(&first.connection_id, &first.owner, &first.kind),
                        &first.nonce,
                        &first.ciphertext,
                    )
                    .is_none()
            {
                return Err(wrong(Some(first.key_id)));
            }
            let (id, check) = check_meta(key)?;
            store.put_meta(META_KEY_ID, &id).await?;
            store.put_meta(META_CHECK, &check).await?;
        }
    }
    Ok(())
}

fn check_meta(key: &VaultKey) -> Result<(String, String), VaultError> {
    let (nonce, ciphertext) = key.seal(b"tollgate-vault/v1\0check", CHECK_PLAINTEXT)?;
    let mut raw = nonce;
    raw.extend_from_slice(&ciphertext);
    Ok((key.id().to_owned(), B64.encode(raw)))
}

/// Re-encrypts every credential and every signing key from `old` to `new` in one transaction:
/// either all rows move to the new key or nothing changes. Signing keys stored unsealed are
/// sealed with `new`. Returns how many credentials were re-encrypted.
pub async fn rotate(
    old: &VaultKey,
    new: &VaultKey,
    store: &dyn Store,
) -> Result<usize, VaultError> {
    verify_key(old, store).await?;
    let mut records = store.list_credentials().await?;
    for record in &mut records {
        let aad = aad(&record.connection_id, &record.owner, &record.kind);
        let plain = old
            .open(&aad, &record.nonce, &record.ciphertext)
            .ok_or_else(|| VaultError::Corrupt {
                connection: record.connection_id.clone(),
                owner: record.owner.clone(),
            })?;
        let (nonce, ciphertext) = new.seal(&aad, &plain)?;
        record.nonce = nonce;
        record.ciphertext = ciphertext;
        record.key_id = new.id().to_owned();
    }
    let mut keys = Vec::new();
    for k in store.keys().await? {
        let pem = open_signing_key(Some(old), &k.kid, &k.private_pem)?;
        keys.push((k.kid.clone(), seal_signing_key(new, &k.kid, &pem)?));
    }
    let (id, check) = check_meta(new)?;
    store
        .rekey_vault(
            &records,
            &keys,
            &[(META_KEY_ID, id.as_str()), (META_CHECK, check.as_str())],
        )
        .await?;
    Ok(records.len())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, reason = "test code")]

    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_row() {
        let (key, _) = VaultKey::generate().expect("key");
        let (other, _) = VaultKey::generate().expect("key");
        let (nonce, ct) = key
            .seal(&aad("c", "user:u", "api_key"), b"s3cret")
            .expect("seals");
        assert_eq!(
            key.open(&aad("c", "user:u", "api_key"), &nonce, &ct)
                .as_deref()
                .map(Vec::as_slice),
            Some(&b"s3cret"[..])
        );
        assert!(
            key.open(&aad("c", "user:v", "api_key"), &nonce, &ct)
                .is_none()
        );
        assert!(
            other
                .open(&aad("c", "user:u", "api_key"), &nonce, &ct)
                .is_none()
        );
        assert!(!ct.windows(6).any(|w| w == b"s3cret"));
    }

    #[test]
    fn a_sealed_signing_key_opens_only_with_its_key_and_kid() {
        let (key, _) = VaultKey::generate().expect("key");
        let (other, _) = VaultKey::generate().expect("key");
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n";
        let sealed = seal_signing_key(&key, "k1", pem).expect("seals");
        assert!(is_sealed(&sealed) && !is_sealed(pem));
        assert!(sealed.starts_with(&format!("vault:v1:{}:", key.id())));
        assert!(!sealed.contains("BEGIN"));
        assert_eq!(
            open_signing_key(Some(&key), "k1", &sealed)
                .expect("opens")
                .as_str(),
            pem
        );
        // A plain PEM is read as it is, with or without a key.
        assert_eq!(
            open_signing_key(None, "k1", pem).expect("plain").as_str(),
            pem
        );
        // Another kid (a row swapped), another key, no key, a damaged value: refused.
        assert!(matches!(
            open_signing_key(Some(&key), "k2", &sealed),
            Err(VaultError::SigningKeyDoesNotOpen { .. })
        ));
        assert!(matches!(
            open_signing_key(Some(&other), "k1", &sealed),
            Err(VaultError::SigningKeyDoesNotOpen { .. })
        ));
        assert!(matches!(
            open_signing_key(None, "k1", &sealed),
            Err(VaultError::SealedSigningKey { .. })
        ));
        let damaged = format!("{}A", &sealed[..sealed.len() - 1]);
        assert!(open_signing_key(Some(&key), "k1", &damaged).is_err());
        assert!(open_signing_key(Some(&key), "k1", "vault:v1:").is_err());
    }

    #[test]
    fn keys_parse_from_base64_of_32_bytes_only() {
        let (key, text) = VaultKey::generate().expect("key");
        assert_eq!(VaultKey::parse(&text, "t").expect("parses").id(), key.id());
        let short = B64.encode([1u8; 16]);
        let err = VaultKey::parse(&short, "TOLLGATE_VAULT_KEY").expect_err("16 bytes");
        assert!(err.to_string().contains("16 bytes"), "{err}");
        assert!(VaultKey::parse("not base64!", "t").is_err());
        assert!(!format!("{key:?}").contains(text.as_str()));
    }

    #[test]
    fn owners_round_trip() {
        for text in ["user:u-1", "tenant:corp", "provider"] {
            assert_eq!(Owner::parse(text).expect("parses").to_string(), text);
        }
        assert!(Owner::parse("user:").is_none());
        assert!(Owner::parse("group:x").is_none());
    }
}
