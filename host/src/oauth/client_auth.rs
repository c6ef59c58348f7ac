//! Client authentication at the token, introspection and revocation endpoints:
//! `client_secret_basic`, `client_secret_post`, `private_key_jwt` (RFC 7523 §2.2) and `none`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Validation, jwk::JwkSet};
use serde_json::Value;

use super::{Core, OAuthError, Params};
use crate::config::ClientConfig;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client whose authentication succeeded.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    /// Its configuration.
    pub config: ClientConfig,
    /// The method it used.
    pub method: &'static str,
}

/// Authenticates the client of a request. Exactly one method may be used.
pub async fn authenticate(core: &Core, params: &Params) -> Result<AuthenticatedClient, OAuthError> {
    let basic = params.authorization.as_deref().and_then(|h| {
        h.strip_prefix("Basic ")
            .or_else(|| h.strip_prefix("basic "))
    });
    let post_secret = params.get("client_secret");
    let assertion = params.get("client_assertion");
    let used = usize::from(basic.is_some())
        + usize::from(post_secret.is_some())
        + usize::from(assertion.is_some());
    if used > 1 {
        return Err(OAuthError::invalid_request(
            "use exactly one client authentication method",
        ));
    }
    let directory = core.directory();
    let unknown = || OAuthError::invalid_client("client authentication failed");

    if let Some(encoded) = basic {
        let fail = || OAuthError {
            challenge_basic: true,
            ..unknown()
        };
        let decoded = STANDARD.decode(encoded.trim()).map_err(|_| fail())?;
        let decoded = String::from_utf8(decoded).map_err(|_| fail())?;
        let (id, secret) = decoded.split_once(':').ok_or_else(fail)?;
        // RFC 6749 §2.3.1: both parts are form-urlencoded.
        let id = decode_component(id).ok_or_else(fail)?;
        let secret = decode_component(secret).ok_or_else(fail)?;
        if params.get("client_id").is_some_and(|body_id| body_id != id) {
            return Err(OAuthError::invalid_request(
                "`client_id` differs from the authenticated client",
            ));
        }
        let client = check_secret(
            core,
            params,
            &directory,
            &id,
            &secret,
            "client_secret_basic",
        )
        .await
        .map_err(|e| if e.status == 401 { fail() } else { e })?;
        return Ok(AuthenticatedClient {
            config: client,
            method: "client_secret_basic",
        });
    }
    if let Some(secret) = post_secret {
        let id = params.require("client_id")?;
        let client =
            check_secret(core, params, &directory, id, secret, "client_secret_post").await?;
        return Ok(AuthenticatedClient {
            config: client,
            method: "client_secret_post",
        });
    }
    if let Some(assertion) = assertion {
        if params.get("client_assertion_type") != Some(ASSERTION_TYPE) {
            return Err(OAuthError::invalid_request(format!(
                "`client_assertion_type` must be `{ASSERTION_TYPE}`"
            )));
        }
        let client = verify_client_assertion(core, params, assertion).await?;
        return Ok(AuthenticatedClient {
            config: client,
            method: "private_key_jwt",
        });
    }
    let id = params
        .get("client_id")
        .ok_or_else(|| OAuthError::invalid_client("client authentication is required"))?;
    let client = match directory.clients.get(id) {
        Some(client) => client.clone(),
        // A public client described by its metadata document.
        None if super::cimd::MetadataDocuments::looks_like_url(id) => core
            .metadata_documents
            .client(id, params.now)
            .await
            .map_err(|e| OAuthError::invalid_client(format!("client metadata document: {e}")))?,
        None => return Err(unknown()),
    };
    if client.token_endpoint_auth_method != "none" {
        return Err(unknown());
    }
    Ok(AuthenticatedClient {
        config: client,
        method: "none",
    })
}

fn decode_component(text: &str) -> Option<String> {
    let bytes: Vec<u8> = form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned().into_bytes())?;
    String::from_utf8(bytes).ok()
}

/// Checks a client secret: throttled per client and address (see [`crate::throttle`]); an
/// unknown client id, a client using another method and a wrong secret all pay the same argon2
/// verification and get the same answer.
async fn check_secret(
    core: &Core,
    params: &Params,
    directory: &crate::directory::Directory,
    id: &str,
    secret: &str,
    method: &str,
) -> Result<ClientConfig, OAuthError> {
    use crate::throttle::Principal;
    let fail = || OAuthError::invalid_client("client authentication failed");
    let principal = Principal::Client(id);
    let client = directory
        .clients
        .get(id)
        .filter(|c| c.token_endpoint_auth_method == method);
    let hash = client.and_then(|c| directory.client_secrets.get(&c.client_id));
    // While an address is backing off, its attempts are refused unchecked (not even against
    // the remembered digest, which would answer a right guess at memory speed).
    let wait = core.throttle.wait(principal, params.ip, params.now);
    if wait > 0 {
        return Err(OAuthError::throttled(wait));
    }
    if core
        .secrets
        .verify_async(hash.map(String::as_str), secret)
        .await
        && let Some(client) = client
    {
        core.throttle.succeeded(principal, params.ip);
        Ok(client.clone())
    } else {
        core.throttle.failed(principal, params.ip, params.now);
        Err(fail())
    }
}

/// RFC 7523 §3 for a client assertion: iss = sub = the client, aud names this server, exp
/// present and in the future, jti present and never seen, signed by one of the client's keys.
async fn verify_client_assertion(
    core: &Core,
    params: &Params,
    assertion: &str,
) -> Result<ClientConfig, OAuthError> {
    let fail = |why: &str| OAuthError::invalid_client(format!("client assertion refused: {why}"));
    let unverified = jsonwebtoken::dangerous::insecure_decode::<Value>(assertion)
        .map_err(|_| fail("not a JWT"))?;
    let id = unverified
        .claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or_else(|| fail("no `iss`"))?
        .to_owned();
    let directory = core.directory();
    let client = directory
        .clients
        .get(&id)
        .ok_or_else(|| fail("unknown client"))?;
    if client.token_endpoint_auth_method != "private_key_jwt" {
        return Err(fail("the client does not use private_key_jwt"));
    }
    if params.get("client_id").is_some_and(|c| c != id) {
        return Err(OAuthError::invalid_request(
            "`client_id` differs from the assertion's issuer",
        ));
    }
    let jwks: JwkSet = client
        .jwks
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| fail("the client has no keys"))?;
    let claims = verify_with_jwks(
        assertion,
        &jwks,
        &[core.issuer.as_str(), core.token_endpoint().as_str()],
        Some(&id),
        params.now,
    )
    .map_err(|why| fail(&why))?;
    if claims.get("sub").and_then(Value::as_str) != Some(id.as_str()) {
        return Err(fail("`sub` must be the client id"));
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty())
        .ok_or_else(|| fail("no `jti`"))?;
    let remember_until = assertion_window(&claims, params.now, core.max_assertion_lifetime)
        .map_err(|why| fail(&why))?;
    if !first_use(core, &id, jti, remember_until, params.now).await? {
        return Err(fail("the assertion was already used"));
    }
    Ok(client.clone())
}

/// The clock skew allowed on `exp`, `nbf` and `iat` (seconds).
pub(super) const LEEWAY: i64 = 60;

/// A JSON number claim (`exp`, `iat`) in whole seconds, whatever its JSON form: an integer, an
/// integer beyond `i64`, or a fraction (rounded up, so a fraction never shortens a lifetime).
fn seconds(claim: &Value) -> Option<i64> {
    let n = claim.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    if n.as_u64().is_some() {
        return Some(i64::MAX);
    }
    let f = n.as_f64()?.ceil();
    #[expect(
        clippy::cast_possible_truncation,
        reason = "clamped to the i64 range first; `as` saturates"
    )]
    Some(f.clamp(i64::MIN as f64, i64::MAX as f64) as i64)
}

/// RFC 7523 §3 items 4 and 6 for an assertion whose signature, `exp` and `nbf` were checked: its
/// `exp` no further than `max_lifetime` ahead, its `iat` (when present) not in the future.
/// Returns until when its `jti` must be remembered: while it can still be used.
pub(super) fn assertion_window(claims: &Value, now: i64, max_lifetime: i64) -> Result<i64, String> {
    let exp = claims
        .get("exp")
        .and_then(seconds)
        .ok_or("`exp` is not a number")?;
    if exp.saturating_sub(now) > max_lifetime {
        return Err(format!(
            "it is valid for more than {max_lifetime} seconds (`exp` too far ahead)"
        ));
    }
    if let Some(iat) = claims.get("iat") {
        let iat = seconds(iat).ok_or("`iat` is not a number")?;
        if iat > now.saturating_add(LEEWAY) {
            return Err("`iat` is in the future".into());
        }
    }
    Ok(exp
        .min(now.saturating_add(max_lifetime))
        .saturating_add(LEEWAY))
}

/// Records an assertion's `jti` for its issuer; false when it was already used (a replay).
pub(super) async fn first_use(
    core: &Core,
    issuer: &str,
    jti: &str,
    exp: i64,
    now: i64,
) -> Result<bool, OAuthError> {
    core.store
        .use_assertion_id(issuer, jti, exp, now)
        .await
        .map_err(|_| OAuthError::server_error())
}

/// Verifies a JWT against a JWK Set: signature by the key its `kid` names (or the only key), `exp`
/// required and in the future (60 s leeway), `nbf` respected, `aud` one of `audiences`, `iss`
/// equal to `issuer` when given. Returns the claims.
pub fn verify_with_jwks(
    token: &str,
    jwks: &JwkSet,
    audiences: &[&str],
    issuer: Option<&str>,
    _now: i64,
) -> Result<Value, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| format!("malformed JWT: {e}"))?;
    let jwk = match &header.kid {
        Some(kid) => jwks.find(kid),
        None if jwks.keys.len() == 1 => jwks.keys.first(),
        None => None,
    }
    .ok_or("no key matches the JWT's `kid`")?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| format!("unusable key: {e}"))?;
    let mut validation = Validation::new(header.alg);
    validation.set_audience(audiences);
    validation.set_required_spec_claims(&["exp", "aud"]);
    validation.validate_nbf = true;
    validation.leeway = LEEWAY.unsigned_abs();
    if let Some(iss) = issuer {
        validation.set_issuer(&[iss]);
    }
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| format!("{e}"))
}
