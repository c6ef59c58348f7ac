//! Connections as configured: the provider of an `oauth` connection, and the credentials the
//! configuration file puts in the vault.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// An OAuth connection's provider: where Tollgate refreshes the vaulted tokens and where users
/// connect their accounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a provider (a mapping)"
)]
pub struct ProviderConfig {
    /// The provider's token endpoint.
    pub token_endpoint: String,
    /// The provider's authorization endpoint (the connect flow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// The provider's issuer identifier: when set, an authorization response naming another
    /// issuer (RFC 9207 `iss`) is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Tollgate's client id at the provider.
    pub client_id: String,
    /// Tollgate's client secret at the provider: a literal (development) or `env:VAR`. Sealed in
    /// the vault; never returned.
    #[serde(default, skip_serializing)]
    #[schema(write_only)]
    pub client_secret: Option<String>,
    /// How Tollgate authenticates at the provider.
    #[serde(default)]
    pub token_endpoint_auth_method: ProviderAuthMethod,
    /// Scopes asked for in the connect flow beyond the connection's own (e.g. `offline_access`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_scopes: Vec<String>,
    /// Extra authorization request parameters (e.g. `prompt: consent`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub authorization_params: BTreeMap<String, String>,
}

/// How Tollgate authenticates at a provider's token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", expecting = "a provider auth method")]
pub enum ProviderAuthMethod {
    /// The secret in the `Authorization: Basic` header.
    #[default]
    ClientSecretBasic,
    /// The secret in the form body.
    ClientSecretPost,
}

/// A credential the configuration file puts in the vault: exactly one owner (`user` or `tenant`)
/// and the one secret the connection's kind holds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a credential (a mapping)"
)]
pub struct CredentialConfig {
    /// The user (`sub`) it belongs to.
    #[serde(default)]
    pub user: Option<String>,
    /// The tenant it belongs to (autonomous agents).
    #[serde(default)]
    pub tenant: Option<String>,
    /// `api_key` connections: the key (literal or `env:VAR`).
    #[serde(default)]
    pub api_key: Option<String>,
    /// `certificate` connections: PEM or service-account JSON (literal or `env:VAR`).
    #[serde(default)]
    pub certificate: Option<String>,
    /// `certificate` connections: a file holding it.
    #[serde(default)]
    pub certificate_file: Option<std::path::PathBuf>,
    /// `oauth` connections: a provider refresh token (literal or `env:VAR`).
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// `oauth` connections: the scopes that refresh token holds (space-separated).
    #[serde(default)]
    pub scope: Option<String>,
}

/// The secrets are wiped from memory with the credential.
impl Drop for CredentialConfig {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        self.api_key.zeroize();
        self.certificate.zeroize();
        self.refresh_token.zeroize();
    }
}

impl CredentialConfig {
    /// The secret as written (before `env:` resolution) and what it is; `certificateFile` is
    /// read by whoever loads the file.
    pub fn secret_field(&self) -> Option<(crate::vault::SecretKind, &str)> {
        use crate::vault::SecretKind;
        [
            (SecretKind::ApiKey, &self.api_key),
            (SecretKind::Certificate, &self.certificate),
            (SecretKind::RefreshToken, &self.refresh_token),
        ]
        .into_iter()
        .find_map(|(kind, value)| value.as_deref().map(|v| (kind, v)))
    }
}

/// The vault part of a configured connection.
#[derive(Debug, Clone, Default)]
pub struct ConnectionVault {
    /// The connection id.
    pub id: String,
    /// Its kind: `oauth`, `api_key` or `certificate`.
    pub kind: String,
    /// The provider (oauth).
    pub provider: Option<ProviderConfig>,
    /// Credentials declared in the file.
    pub credentials: Vec<CredentialConfig>,
}

/// Splits a connection as written in the configuration or sent to the admin API into what the
/// policy document holds and what the vault holds. Every problem is reported with its path.
pub fn split_connection(
    value: &Value,
    path: &str,
) -> Result<(Value, ConnectionVault), Vec<String>> {
    let mut errors = Vec::new();
    let mut document = value.clone();
    let mut vault = ConnectionVault {
        id: value
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        kind: value
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        ..ConnectionVault::default()
    };
    // The vault keeps the server's own rows (users' second factors) under ids with a `:`: no
    // connection may take one of them.
    if vault.id.contains(':') {
        errors.push(format!(
            "{path}.id: `:` is reserved for the server's own vault rows; a connection id cannot \
             contain it"
        ));
    }
    if let Some(object) = document.as_object_mut() {
        if let Some(provider) = object.remove("provider") {
            match serde_json::from_value::<ProviderConfig>(provider) {
                Ok(p) if vault.kind == "oauth" => vault.provider = Some(p),
                Ok(_) => errors.push(format!(
                    "{path}.provider: only `oauth` connections have a provider"
                )),
                Err(e) => errors.push(format!("{path}.provider: {e}")),
            }
        }
        if let Some(credentials) = object.remove("credentials") {
            match serde_json::from_value::<Vec<CredentialConfig>>(credentials) {
                Ok(list) => {
                    for (i, c) in list.iter().enumerate() {
                        if let Err(why) = check_credential(c, &vault.kind) {
                            errors.push(format!("{path}.credentials[{i}]: {why}"));
                        }
                    }
                    vault.credentials = list;
                }
                Err(e) => errors.push(format!("{path}.credentials: {e}")),
            }
        }
    }
    if errors.is_empty() {
        Ok((document, vault))
    } else {
        Err(errors)
    }
}

/// A connection as the store keeps it: its policy-document entry plus its provider (whose
/// `clientSecret` never serializes), without its credentials; and the vault part beside it.
pub fn stored_connection(
    value: &Value,
    path: &str,
) -> Result<(Value, ConnectionVault), Vec<String>> {
    let (mut document, vault) = split_connection(value, path)?;
    if let (Some(object), Some(provider)) = (document.as_object_mut(), &vault.provider) {
        let provider =
            serde_json::to_value(provider).map_err(|e| vec![format!("{path}.provider: {e}")])?;
        object.insert("provider".into(), provider);
    }
    Ok((document, vault))
}

/// Checks one credential against its connection's kind.
pub fn check_credential(c: &CredentialConfig, kind: &str) -> Result<(), CredentialError> {
    match (&c.user, &c.tenant) {
        (Some(_), None) | (None, Some(_)) => {}
        _ => return Err(CredentialError::Owner),
    }
    let given: Vec<&str> = [
        ("apiKey", c.api_key.is_some()),
        ("certificate", c.certificate.is_some()),
        ("certificateFile", c.certificate_file.is_some()),
        ("refreshToken", c.refresh_token.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, present)| present.then_some(name))
    .collect();
    let expected: &'static [&'static str] = match kind {
        "api_key" => &["apiKey"],
        "certificate" => &["certificate", "certificateFile"],
        "oauth" => &["refreshToken"],
        _ => return Err(CredentialError::NoCredentials(kind.to_owned())),
    };
    match given.as_slice() {
        [one] if expected.contains(one) => {}
        _ => {
            return Err(CredentialError::Secret {
                kind: kind.to_owned(),
                expected,
            });
        }
    }
    if c.scope.is_some() && kind != "oauth" {
        return Err(CredentialError::Scope);
    }
    Ok(())
}

/// Why a credential does not fit its connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Neither or both of `user` and `tenant`.
    #[error("name exactly one owner: `user` or `tenant`")]
    Owner,
    /// A connection kind that holds no credentials.
    #[error("a `{0}` connection cannot hold credentials")]
    NoCredentials(String),
    /// Not exactly one secret field, or one of another kind.
    #[error("a `{kind}` connection's credential is one of: {}", expected.join(", "))]
    Secret {
        /// The connection's kind.
        kind: String,
        /// The secret fields that kind takes.
        expected: &'static [&'static str],
    },
    /// `scope` on a credential other than `oauth`.
    #[error("`scope` belongs to `oauth` credentials only")]
    Scope,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_connection_id_may_not_take_the_vaults_reserved_form() {
        let errors = split_connection(
            &json!({ "id": "tollgate:second-factor", "kind": "api_key" }),
            "connections[2]",
        )
        .expect_err("refused");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("connections[2].id: `:` is reserved"),
            "{errors:?}"
        );
        assert!(split_connection(&json!({ "id": "github", "kind": "api_key" }), "c").is_ok());
    }
}
