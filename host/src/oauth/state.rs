//! Everything the OAuth functions work with: one [`Core`] per server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use super::browser::Browser;
use super::cimd::MetadataDocuments;
use super::token_cache::{Revoked, VerifiedTokens};
use crate::audit::Auditor;
use crate::config::{RegistrationSettings, SigningAlgorithm, TrustedIssuer};
use crate::directory::{Directory, SecretVerifier};
use crate::keys::KeyRing;
use crate::policy::PolicyEngine;
use crate::store::Store;
use crate::vault::Vault;

/// Everything the OAuth functions work with.
#[derive(Debug)]
pub struct Core {
    /// This server's issuer identifier.
    pub issuer: String,
    /// The store.
    pub store: Arc<dyn Store>,
    /// The entities, as of the last change.
    pub directory: RwLock<Arc<Directory>>,
    /// The signing keys.
    pub keys: RwLock<Arc<KeyRing>>,
    /// The policy engine.
    pub policy: PolicyEngine,
    /// Client secret verification.
    pub secrets: SecretVerifier,
    /// Failed authentications, for backoff.
    pub throttle: crate::throttle::Throttle,
    /// Dynamic registrations per address.
    pub registrations: crate::throttle::RateLimit,
    /// Issuers trusted for the JWT bearer grant.
    pub trusted_issuers: Vec<TrustedIssuer>,
    /// Authorization servers this server issues ID-JAGs for.
    pub id_jag_audiences: Vec<crate::config::IdJagAudience>,
    /// Access token lifetime (seconds).
    pub access_ttl: i64,
    /// Refresh token lifetime (seconds), counted from the grant that started the family.
    pub refresh_ttl: i64,
    /// The longest an assertion may be valid (seconds).
    pub max_assertion_lifetime: i64,
    /// Whether a token exchange issues a refresh token.
    pub exchange_refresh: bool,
    /// The audit trail.
    pub audit: Auditor,
    /// The vault of connection credentials; `None` when no vault key is configured.
    pub vault: Option<Vault>,
    /// The HTTP client for connection providers.
    pub http: reqwest::Client,
    /// One provider refresh at a time per credential (providers rotate refresh tokens).
    pub refresh_locks: Mutex<RefreshLocks>,
    /// Client registration settings.
    pub registration: RegistrationSettings,
    /// Client ID metadata documents: fetching, checking, caching.
    pub metadata_documents: MetadataDocuments,
    /// Browser sessions and authorization requests under way.
    pub browser: Browser,
    /// Access tokens whose signature was verified already (token exchange, introspection).
    pub verified_tokens: VerifiedTokens,
    /// Revoked token ids, as in the store.
    pub revoked: Revoked,
    /// Serializes changes to the entities and keys (admin API, client registration, and
    /// reloading what other servers changed): each checks the document, writes the store and
    /// swaps the directory as one step.
    pub admin_lock: tokio::sync::Mutex<()>,
    /// Serializes changes to second factors in this server (with the store's lock across
    /// servers): a one-time code is accepted once.
    pub second_factor_lock: tokio::sync::Mutex<()>,
    /// The store versions this server's directory, keys and revoked set reflect.
    pub loaded: Mutex<crate::store::Versions>,
    /// The algorithm of new signing keys (`tokens.signingAlgorithm`).
    pub signing_algorithm: SigningAlgorithm,
}

impl Core {
    /// The current directory snapshot.
    pub fn directory(&self) -> Arc<Directory> {
        Arc::clone(
            &self
                .directory
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// The current keys.
    pub fn keys(&self) -> Arc<KeyRing> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The token endpoint URL.
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.issuer.trim_end_matches('/'))
    }

    /// Revokes every token of a family (a refresh session, or what an authorization code issued),
    /// in the store and then in memory.
    pub async fn revoke_family(
        &self,
        family: &str,
        now: i64,
    ) -> Result<(), crate::store::StoreError> {
        let revoked = self.store.revoke_family(family).await?;
        self.revoked.add(revoked, now);
        Ok(())
    }

    /// Revokes every recorded token of a client, in the store and then in memory.
    pub async fn revoke_client(
        &self,
        client_id: &str,
        now: i64,
    ) -> Result<(), crate::store::StoreError> {
        let revoked = self.store.revoke_client_tokens(client_id).await?;
        self.revoked.add(revoked, now);
        Ok(())
    }

    /// Where connection providers send users back to in the connect flow.
    pub fn connect_redirect_uri(&self) -> String {
        format!("{}/connections/callback", self.issuer.trim_end_matches('/'))
    }
}

/// One lock per (connection, owner) whose provider token is being refreshed.
pub type RefreshLocks = HashMap<(String, String), Arc<tokio::sync::Mutex<()>>>;
