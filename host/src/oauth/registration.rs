//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592).
//!
//! Registration is open when enabled (MCP clients register themselves); what a registered client
//! may receive is still up to the policies: it is `registrationType: dcr` and `status:
//! unverified` until an admin verifies it, and policies can tell. It may use the authorization
//! code grant (and refresh) only. The registration access token is kept as a SHA-256 digest and
//! compared in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

use super::redirect_uri::check_redirect_uri;
use super::secrets::random_id;
use super::state::Core;
use crate::audit::Event;
use crate::config::{
    ClientConfig, ClientStatus, GrantTypeName, PUBLIC_CLIENT_GRANTS, RegistrationType,
    TokenEndpointAuthMethod,
};
use crate::directory::hash_secret;
use crate::store::{Kind, Source};

/// An RFC 7591 §3.2.2 / RFC 7592 error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationError {
    /// HTTP status.
    pub status: u16,
    /// `invalid_redirect_uri`, `invalid_client_metadata`, `invalid_token`, `server_error`.
    pub error: &'static str,
    /// Why.
    pub description: String,
}

impl RegistrationError {
    fn metadata(d: impl Into<String>) -> RegistrationError {
        RegistrationError {
            status: 400,
            error: "invalid_client_metadata",
            description: d.into(),
        }
    }
    fn redirect(d: impl Into<String>) -> RegistrationError {
        RegistrationError {
            status: 400,
            error: "invalid_redirect_uri",
            description: d.into(),
        }
    }
    /// RFC 7592 §2: a missing or wrong registration access token, or a client that is gone.
    fn token() -> RegistrationError {
        RegistrationError {
            status: 401,
            error: "invalid_token",
            description: "a valid registration access token for this client is required".into(),
        }
    }
    fn server() -> RegistrationError {
        RegistrationError {
            status: 500,
            error: "server_error",
            description: "the server could not complete the registration".into(),
        }
    }
}

fn store_failed(e: impl std::fmt::Display) -> RegistrationError {
    tracing::error!(error = %e, "client registration: store failure");
    RegistrationError::server()
}

impl From<crate::store::StoreError> for RegistrationError {
    /// 503 `temporarily_unavailable` when the database could not be reached in time, 500
    /// otherwise (logged, not returned).
    fn from(e: crate::store::StoreError) -> RegistrationError {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "client registration: the store is unavailable");
            RegistrationError {
                status: 503,
                error: "temporarily_unavailable",
                description: "the server cannot reach its database; try again".into(),
            }
        } else {
            store_failed(e)
        }
    }
}

impl From<crate::oauth::replica::SyncError> for RegistrationError {
    fn from(e: crate::oauth::replica::SyncError) -> RegistrationError {
        match e {
            crate::oauth::replica::SyncError::Store(e) => RegistrationError::from(e),
            other => store_failed(other),
        }
    }
}

/// The metadata this server keeps from a registration request.
struct Metadata {
    redirect_uris: Vec<String>,
    grant_types: Vec<GrantTypeName>,
    method: TokenEndpointAuthMethod,
    name: Option<String>,
}

fn strings(body: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, RegistrationError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str().map(str::to_owned).ok_or_else(|| {
                    RegistrationError::metadata(format!("`{key}` must be a list of strings"))
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(RegistrationError::metadata(format!(
            "`{key}` must be a list of strings"
        ))),
    }
}

fn parse_metadata(body: &Value) -> Result<Metadata, RegistrationError> {
    let body = body
        .as_object()
        .ok_or_else(|| RegistrationError::metadata("the body must be a JSON object"))?;
    let redirect_uris = strings(body, "redirect_uris")?.unwrap_or_default();
    if redirect_uris.is_empty() {
        return Err(RegistrationError::redirect(
            "`redirect_uris` is required for the authorization code grant",
        ));
    }
    for uri in &redirect_uris {
        check_redirect_uri(uri).map_err(|e| RegistrationError::redirect(e.to_string()))?;
    }
    let names = strings(body, "grant_types")?.unwrap_or_else(|| vec!["authorization_code".into()]);
    let mut grant_types = Vec::with_capacity(names.len());
    for g in &names {
        match GrantTypeName::from_name(g) {
            Some(grant) if PUBLIC_CLIENT_GRANTS.contains(&grant) => grant_types.push(grant),
            _ => {
                return Err(RegistrationError::metadata(format!(
                    "grant type `{g}` is not available to registered clients; use authorization_code and refresh_token"
                )));
            }
        }
    }
    if !grant_types.contains(&GrantTypeName::AuthorizationCode) {
        return Err(RegistrationError::metadata(
            "registered clients use the authorization_code grant",
        ));
    }
    grant_types.sort();
    grant_types.dedup();
    if let Some(types) = strings(body, "response_types")?
        && types.iter().any(|t| t != "code")
    {
        return Err(RegistrationError::metadata(
            "only the `code` response type is supported",
        ));
    }
    let method = match body.get("token_endpoint_auth_method") {
        None | Some(Value::Null) => TokenEndpointAuthMethod::ClientSecretBasic,
        Some(Value::String(m)) => match TokenEndpointAuthMethod::from_name(m) {
            Some(
                method @ (TokenEndpointAuthMethod::None
                | TokenEndpointAuthMethod::ClientSecretBasic
                | TokenEndpointAuthMethod::ClientSecretPost),
            ) => method,
            _ => {
                return Err(RegistrationError::metadata(format!(
                    "token_endpoint_auth_method `{m}` is not supported for registration; use none, client_secret_basic or client_secret_post"
                )));
            }
        },
        Some(_) => {
            return Err(RegistrationError::metadata(
                "`token_endpoint_auth_method` must be a string",
            ));
        }
    };
    let name = match body.get("client_name") {
        None | Some(Value::Null) => None,
        Some(Value::String(n)) if n.chars().count() <= 200 => Some(n.clone()),
        Some(_) => {
            return Err(RegistrationError::metadata(
                "`client_name` must be a string of at most 200 characters",
            ));
        }
    };
    Ok(Metadata {
        redirect_uris,
        grant_types,
        method,
        name,
    })
}

/// The client's metadata as RFC 7591 §3.2.1 answers it.
fn describe(core: &Core, client: &ClientConfig) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("client_id".into(), json!(client.client_id));
    out.insert("redirect_uris".into(), json!(client.redirect_uris));
    out.insert("grant_types".into(), json!(client.grant_types));
    out.insert("response_types".into(), json!(["code"]));
    out.insert(
        "token_endpoint_auth_method".into(),
        json!(client.token_endpoint_auth_method),
    );
    if let Some(name) = &client.name {
        out.insert("client_name".into(), json!(name));
    }
    out.insert(
        "registration_client_uri".into(),
        json!(format!("{}/register/{}", core.issuer, client.client_id)),
    );
    out
}

fn token_key(client_id: &str) -> String {
    format!("registration_token:{client_id}")
}

fn digest(token: &str) -> String {
    B64.encode(Sha256::digest(token.as_bytes()))
}

/// Whether this registration may go ahead: the initial access token when one is configured
/// (RFC 7591 §3), the address's hourly count, and the cap on unverified clients.
fn admit(
    core: &Core,
    bearer: Option<&str>,
    ip: Option<std::net::IpAddr>,
    now: i64,
) -> Result<(), RegistrationError> {
    let settings = &core.registration;
    if let Some(configured) = &settings.initial_access_token {
        let expected = crate::config::resolve_secret(configured, "the initial access token")
            .map_err(|e| {
                tracing::error!(error = %e, "the initial access token cannot be read");
                RegistrationError {
                    status: 503,
                    error: "temporarily_unavailable",
                    description: "registration is not available".into(),
                }
            })?;
        let given = bearer.unwrap_or_default();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            digest(given).as_bytes(),
            digest(&expected).as_bytes(),
        )) {
            return Err(RegistrationError {
                status: 401,
                error: "invalid_token",
                description: "registration needs a valid initial access token".into(),
            });
        }
    }
    if !core
        .registrations
        .allow(ip, settings.registrations_per_hour, now)
    {
        return Err(RegistrationError {
            status: 429,
            error: "temporarily_unavailable",
            description: format!(
                "at most {} registrations per hour from one address",
                settings.registrations_per_hour
            ),
        });
    }
    room_for_one_more(core)
}

/// The cap on unverified registrations: checked on admission, and again under the admin lock
/// just before the client is written, so that concurrent registrations cannot pass it together.
fn room_for_one_more(core: &Core) -> Result<(), RegistrationError> {
    let unverified = core
        .directory()
        .clients
        .values()
        .filter(|c| {
            c.registration_type == RegistrationType::Dcr && c.status == ClientStatus::Unverified
        })
        .count();
    if unverified >= core.registration.max_unverified {
        return Err(RegistrationError {
            status: 403,
            error: "access_denied",
            description: "the server holds as many unverified registrations as it accepts; an administrator must verify or remove some first".into(),
        });
    }
    Ok(())
}

/// A registered client may not take the name, or the id, of a client the administrator
/// configured: on the consent page the two would look the same. Names are compared as they look
/// ([`look_alike`]), so spaces and invisible characters do not make another name.
fn refuse_impostor_name(core: &Core, name: Option<&str>) -> Result<(), RegistrationError> {
    let Some(name) = name else {
        return Ok(());
    };
    let looks = look_alike(name);
    let taken = core.directory().clients.values().any(|c| {
        c.registration_type == RegistrationType::Static
            && (look_alike(&c.client_id) == looks
                || c.name.as_deref().is_some_and(|n| look_alike(n) == looks))
    });
    if taken {
        return Err(RegistrationError::metadata(format!(
            "`client_name` `{}` is the name of a configured client; choose another",
            crate::audit::bounded(name, 64)
        )));
    }
    Ok(())
}

/// A name as a reader sees it: lowercase, without white space (any, the no-break space included)
/// and without the characters that show nothing (zero-width and joiner characters, direction
/// marks and overrides, soft hyphen, variation selectors, tag characters). Letters from other
/// scripts that look like Latin ones (Cyrillic `а`) are not folded.
fn look_alike(name: &str) -> String {
    let invisible = |c: char| {
        matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}'
            | '\u{17B5}' | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{E0000}'..='\u{E007F}')
    };
    name.chars()
        .filter(|&c| !c.is_whitespace() && !c.is_control() && !invisible(c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// RFC 7591 §3: registers a client; answers 201 with its credentials.
pub async fn register(
    core: &Core,
    body: &Value,
    bearer: Option<&str>,
    ip: Option<std::net::IpAddr>,
    now: i64,
) -> Result<Value, RegistrationError> {
    // Everything a caller can make slow (the argon2 hash) or that needs no consistent view
    // happens before the admin lock, which admin changes and key rotation wait for.
    admit(core, bearer, ip, now)?;
    let m = parse_metadata(body)?;
    let client_id = uuid::Uuid::new_v4().to_string();
    let client = ClientConfig {
        client_id: client_id.clone(),
        name: m.name,
        secret: None,
        token_endpoint_auth_method: m.method,
        grant_types: m.grant_types,
        tags: Vec::new(),
        registration_type: RegistrationType::Dcr,
        status: ClientStatus::Unverified,
        allowed_scopes: Default::default(),
        redirect_uris: m.redirect_uris,
        jwks: None,
        tenant_id: None,
        serves: Vec::new(),
        owner: None,
        disabled: false,
        tokens_not_before: None,
    };
    let secret = (!client.is_public()).then(random_id);
    let registration_token = random_id();
    let entity = serde_json::to_value(&client).map_err(store_failed)?;
    let hash = match &secret {
        Some(secret) => {
            // argon2 off the async workers.
            let plain = zeroize::Zeroizing::new(secret.clone());
            Some(
                tokio::task::spawn_blocking(move || hash_secret(&plain))
                    .await
                    .map_err(|e| store_failed(e.to_string()))?
                    .map_err(store_failed)?,
            )
        }
        None => None,
    };
    let _changing = core.changing().await.map_err(RegistrationError::from)?;
    room_for_one_more(core)?;
    refuse_impostor_name(core, client.name.as_deref())?;
    core.store
        .put_entity(Kind::Client, &client_id, &entity, Source::Admin)
        .await
        .map_err(RegistrationError::from)?;
    if let Some(hashed) = &hash {
        core.store
            .put_secret(Kind::Client, &client_id, hashed)
            .await
            .map_err(RegistrationError::from)?;
    }
    core.store
        .put_meta(&token_key(&client_id), &digest(&registration_token))
        .await
        .map_err(RegistrationError::from)?;
    // The snapshot gains this one client: the cost does not grow with the number of clients
    // registered before (beyond copying the in-memory maps).
    let updated = core.directory().with_client(client.clone(), hash);
    *core
        .directory
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = std::sync::Arc::new(updated);
    core.audit.record(Event::ClientRegistration {
        action: "register",
        client_id: client_id.clone(),
    });
    let mut out = describe(core, &client);
    out.insert("client_id_issued_at".into(), json!(now));
    if let Some(secret) = secret {
        out.insert("client_secret".into(), json!(secret));
        out.insert("client_secret_expires_at".into(), json!(0));
    }
    out.insert(
        "registration_access_token".into(),
        json!(registration_token),
    );
    Ok(Value::Object(out))
}

/// Finds a registered client whose registration access token `bearer` is.
async fn authorized(
    core: &Core,
    client_id: &str,
    bearer: Option<&str>,
) -> Result<ClientConfig, RegistrationError> {
    let bearer = bearer.ok_or_else(RegistrationError::token)?;
    let stored = core
        .store
        .get_meta(&token_key(client_id))
        .await
        .map_err(RegistrationError::from)?
        .filter(|d| !d.is_empty())
        .ok_or_else(RegistrationError::token)?;
    if !bool::from(digest(bearer).as_bytes().ct_eq(stored.as_bytes())) {
        return Err(RegistrationError::token());
    }
    core.directory()
        .clients
        .get(client_id)
        // A disabled client cannot read, change or delete its registration (deleting it would
        // drop the record of what its disabling cut off).
        .filter(|c| c.registration_type == RegistrationType::Dcr && !c.disabled)
        .cloned()
        .ok_or_else(RegistrationError::token)
}

/// RFC 7592 §2.1: the client's current registration.
pub async fn read(
    core: &Core,
    client_id: &str,
    bearer: Option<&str>,
) -> Result<Value, RegistrationError> {
    let client = authorized(core, client_id, bearer).await?;
    Ok(Value::Object(describe(core, &client)))
}

/// RFC 7592 §2.2: replaces the client's metadata. The authentication method cannot change; new
/// redirect URIs put a verified client back to unverified, for an admin to look at again.
pub async fn update(
    core: &Core,
    client_id: &str,
    bearer: Option<&str>,
    body: &Value,
) -> Result<Value, RegistrationError> {
    // The checks a caller can make slow (the argon2 check of `client_secret`) come before the
    // admin lock; under it the registration is read again.
    authorized(core, client_id, bearer).await?;
    if body.get("client_id").and_then(Value::as_str) != Some(client_id) {
        return Err(RegistrationError::metadata(
            "the body's `client_id` must be the client's",
        ));
    }
    for forbidden in [
        "registration_access_token",
        "registration_client_uri",
        "client_id_issued_at",
        "client_secret_expires_at",
    ] {
        if body.get(forbidden).is_some() {
            return Err(RegistrationError::metadata(format!(
                "`{forbidden}` cannot be sent in an update"
            )));
        }
    }
    if let Some(secret) = body.get("client_secret") {
        let hash = core.directory().client_secrets.get(client_id).cloned();
        let matches = match secret.as_str() {
            Some(s) => core.secrets.verify_async(hash.as_deref(), s).await,
            None => false,
        };
        if !matches {
            return Err(RegistrationError::metadata(
                "`client_secret` does not match the client's secret",
            ));
        }
    }
    let m = parse_metadata(body)?;
    let mut changing = core.changing().await.map_err(RegistrationError::from)?;
    let current = authorized(core, client_id, bearer).await?;
    refuse_impostor_name(core, m.name.as_deref())?;
    if m.method != current.token_endpoint_auth_method {
        return Err(RegistrationError::metadata(format!(
            "the authentication method cannot change from `{}`; register a new client",
            current.token_endpoint_auth_method
        )));
    }
    let status = if m.redirect_uris == current.redirect_uris {
        current.status
    } else {
        ClientStatus::Unverified
    };
    let client = ClientConfig {
        name: m.name,
        grant_types: m.grant_types,
        redirect_uris: m.redirect_uris,
        status,
        ..current
    };
    let entity = serde_json::to_value(&client).map_err(store_failed)?;
    core.store
        .put_entity(Kind::Client, client_id, &entity, Source::Admin)
        .await
        .map_err(RegistrationError::from)?;
    core.catch_up_with(&mut changing)
        .await
        .map_err(RegistrationError::from)?;
    core.audit.record(Event::ClientRegistration {
        action: "update",
        client_id: client_id.to_owned(),
    });
    Ok(Value::Object(describe(core, &client)))
}

/// RFC 7592 §2.3: removes the client and its registration access token.
pub async fn delete(
    core: &Core,
    client_id: &str,
    bearer: Option<&str>,
) -> Result<(), RegistrationError> {
    let mut changing = core.changing().await.map_err(RegistrationError::from)?;
    authorized(core, client_id, bearer).await?;
    core.store
        .delete_entity(Kind::Client, client_id)
        .await
        .map_err(RegistrationError::from)?;
    core.store
        .put_meta(&token_key(client_id), "")
        .await
        .map_err(RegistrationError::from)?;
    core.catch_up_with(&mut changing)
        .await
        .map_err(RegistrationError::from)?;
    core.audit.record(Event::ClientRegistration {
        action: "delete",
        client_id: client_id.to_owned(),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::oauth::redirect_uri::check_redirect_uri;

    #[test]
    fn redirect_uris() {
        for ok in [
            "https://app.example.com/callback",
            "http://127.0.0.1:33418/callback",
            "http://[::1]/cb",
            "http://localhost:8000/cb",
            "com.example.app:/oauth2redirect",
            "cursor://anysphere.cursor-mcp/oauth/callback",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "/relative",
            "https://app.example.com/cb#frag",
            "http://app.example.com/cb",
            "javascript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }
}
