//! Calls to a connection provider's token endpoint, with Tollgate's client credentials there.

use std::sync::{Arc, PoisonError};

use serde::Deserialize;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::config::{ProviderAuthMethod, ProviderConfig};
use crate::oauth::state::Core;
use crate::vault::Owner;

pub(super) fn refresh_lock(
    core: &Core,
    connection: &str,
    owner: &Owner,
) -> Arc<tokio::sync::Mutex<()>> {
    let mut locks = core
        .refresh_locks
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    Arc::clone(
        locks
            .entry((connection.to_owned(), owner.to_string()))
            .or_default(),
    )
}

/// A provider's token response.
#[derive(Deserialize)]
pub(super) struct ProviderTokens {
    pub(super) access_token: String,
    #[serde(default)]
    pub(super) token_type: Option<String>,
    #[serde(default)]
    pub(super) expires_in: Option<i64>,
    #[serde(default)]
    pub(super) scope: Option<String>,
    #[serde(default)]
    pub(super) refresh_token: Option<String>,
}

impl std::fmt::Debug for ProviderTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderTokens")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Why a provider's token endpoint did not give tokens.
#[derive(Debug, Error)]
pub(super) enum ProviderError {
    /// It answered with an OAuth error.
    #[error("the provider answered `{error}`{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Refused {
        error: String,
        description: Option<String>,
    },
    /// It could not be reached, or answered something else.
    #[error("{0}")]
    Transport(String),
}

/// Calls a provider's token endpoint with Tollgate's client credentials there.
pub(super) async fn provider_token(
    core: &Core,
    connection: &str,
    provider: &ProviderConfig,
    mut form: Vec<(&'static str, String)>,
) -> Result<ProviderTokens, ProviderError> {
    let secret = match &core.vault {
        Some(vault) => vault
            .get(connection, &Owner::Provider)
            .await
            .map_err(|e| ProviderError::Transport(e.to_string()))?
            .map(|o| o.secret),
        None => None,
    };
    let mut request = core.http.post(&provider.token_endpoint);
    match (&secret, provider.token_endpoint_auth_method) {
        (Some(secret), ProviderAuthMethod::ClientSecretPost) => {
            form.push(("client_id", provider.client_id.clone()));
            form.push(("client_secret", secret.to_string()));
        }
        (Some(secret), _) => {
            // RFC 6749 §2.3.1: both parts form-urlencoded before Basic encoding.
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            request = request.basic_auth(enc(&provider.client_id), Some(enc(secret)));
        }
        (None, _) => form.push(("client_id", provider.client_id.clone())),
    }
    let body = Zeroizing::new(
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
            .finish(),
    );
    let response = request
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| ProviderError::Transport(format!("cannot reach the provider: {e}")))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| ProviderError::Transport(format!("cannot read the provider's answer: {e}")))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|_| {
            ProviderError::Transport("the provider's token response is not valid JSON".into())
        });
    }
    #[derive(Deserialize)]
    struct ErrorBody {
        error: String,
        #[serde(default)]
        error_description: Option<String>,
    }
    match serde_json::from_slice::<ErrorBody>(&bytes) {
        Ok(e) => Err(ProviderError::Refused {
            error: e.error,
            description: e.error_description,
        }),
        Err(_) => Err(ProviderError::Transport(format!(
            "the provider answered HTTP {status}"
        ))),
    }
}
