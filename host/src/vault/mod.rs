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

mod credential;
mod key;
mod signing_keys;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use zeroize::Zeroizing;

use crate::store::{CredentialRecord, Store};

use credential::aad;
pub use credential::{Credential, CredentialInfo, Opened, Owner, SecretKind};
pub use key::{KEY_ENV, VaultError, VaultKey, load_key, write_new_key};
pub use signing_keys::{
    is_sealed, open_signing_key, open_text, seal_signing_key, seal_signing_keys, seal_text,
};

const CHECK_PLAINTEXT: &[u8] = b"tollgate vault check v1";
const META_KEY_ID: &str = "vault_key_id";
const META_CHECK: &str = "vault_check";

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
