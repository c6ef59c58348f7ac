//! The key commands: `tollgate keys rotate` and `tollgate vault rotate-key`, over the domain
//! functions [`crate::keys::rotate`] and [`crate::vault::rotate`].

use std::path::Path;
use std::sync::Arc;

use crate::clock::now;
use crate::config::{ServerConfig, SigningAlgorithm};
use crate::server::StartError;
use crate::store::Store;
use crate::vault::Vault;

/// `tollgate vault rotate-key`: re-encrypts every credential with the key in `new_key_file`
/// (generated when the file does not exist) in one transaction. Returns the count and the new
/// key's id. The server must then start with the new key.
pub async fn rotate_vault_key(
    config_path: &Path,
    new_key_file: &Path,
) -> Result<(usize, String), StartError> {
    let config = ServerConfig::from_file(config_path)?;
    let store = crate::store::open(&config.store).await?;
    let old =
        crate::vault::load_key(config.vault.key_file.as_deref(), false)?.ok_or_else(|| {
            StartError::Other(format!(
                "no current vault key: set {} or `vault.keyFile`",
                crate::vault::KEY_ENV
            ))
        })?;
    let new = match std::fs::metadata(new_key_file) {
        Ok(_) => crate::vault::VaultKey::parse(
            &std::fs::read_to_string(new_key_file).map_err(|e| {
                StartError::Other(format!("cannot read `{}`: {e}", new_key_file.display()))
            })?,
            &format!("`{}`", new_key_file.display()),
        )?,
        Err(_) => crate::vault::write_new_key(new_key_file)?,
    };
    if new.id() == old.id() {
        return Err(StartError::Other(
            "the new key is the current key; nothing to do".into(),
        ));
    }
    let n = crate::vault::rotate(&old, &new, store.as_ref()).await?;
    Ok((n, new.id().to_owned()))
}

/// `tollgate keys rotate`: a new active key; the old one stays published until its tokens expire.
pub async fn rotate_keys(
    config_path: &Path,
    alg: Option<SigningAlgorithm>,
) -> Result<String, StartError> {
    let config = ServerConfig::from_file(config_path)?;
    let store: Arc<dyn Store> = crate::store::open(&config.store).await?;
    let alg = alg.unwrap_or(config.tokens.signing_algorithm);
    // The new key is sealed with the vault key, once that is known to be the store's.
    let vault = match crate::vault::load_key(config.vault.key_file.as_deref(), false)? {
        Some(key) => Some(Vault::open(key, Arc::clone(&store)).await?),
        None => None,
    };
    Ok(crate::keys::rotate(store.as_ref(), alg, vault.as_ref().map(Vault::key), now()).await?)
}
