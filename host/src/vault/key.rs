//! The vault key and why the vault cannot be used: where the key comes from (the environment or
//! a key file, generated on first start), and sealing and opening with it (AES-256-GCM).

use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::store::StoreError;

/// The environment variable holding the vault key (base64 of 32 bytes).
pub const KEY_ENV: &str = "TOLLGATE_VAULT_KEY";

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

    pub(super) fn seal(
        &self,
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), VaultError> {
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

    pub(super) fn open(
        &self,
        aad: &[u8],
        nonce: &[u8],
        ciphertext: &[u8],
    ) -> Option<Zeroizing<Vec<u8>>> {
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
