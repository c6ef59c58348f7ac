//! Client authentication at the token, introspection and revocation endpoints:
//! `client_secret_basic`, `client_secret_post`, `private_key_jwt` (RFC 7523 §2.2) and `none`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Validation, jwk::JwkSet};
use serde_json::Value;

use super::cimd::MetadataDocuments;
use super::error::OAuthError;
use super::params::Params;
use super::state::Core;
use crate::config::{ClientConfig, TokenEndpointAuthMethod};
use crate::jwt::JwtError;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client whose authentication succeeded.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    /// Its configuration.
    pub config: ClientConfig,
    /// The method it used.
    pub method: TokenEndpointAuthMethod,
}

/// What a request presents to authenticate its client, read from the form and the
/// `Authorization` header before anything is checked. Exactly one method may be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented<'a> {
    /// `client_secret_basic`: the id and secret from the `Authorization` header, form-decoded.
    Basic {
        /// The client id.
        id: String,
        /// The secret.
        secret: String,
    },
    /// `client_secret_post`: `client_id` and `client_secret` in the form.
    Post {
        /// The client id.
        id: &'a str,
        /// The secret.
        secret: &'a str,
    },
    /// `private_key_jwt`: a `client_assertion` of the JWT bearer assertion type.
    Assertion(&'a str),
    /// `none`: only a `client_id` (a public client).
    Public(&'a str),
}

/// Why a request's client authentication cannot even be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// More than one method, a `client_id` that differs from the header's, a wrong assertion
    /// type, a secret without an id: `invalid_request`.
    Request(String),
    /// A `Basic` header that does not decode: `invalid_client` with a `Basic` challenge.
    Basic,
    /// Nothing that authenticates: `invalid_client`.
    Missing,
}

impl From<Unreadable> for OAuthError {
    fn from(e: Unreadable) -> OAuthError {
        match e {
            Unreadable::Request(why) => OAuthError::invalid_request(why),
            Unreadable::Basic => OAuthError {
                challenge_basic: true,
                ..OAuthError::invalid_client("client authentication failed")
            },
            Unreadable::Missing => OAuthError::invalid_client("client authentication is required"),
        }
    }
}

/// Reads what the request presents to authenticate its client (RFC 6749 §2.3.1, RFC 7523 §2.2).
pub fn presented(params: &Params) -> Result<Presented<'_>, Unreadable> {
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
        return Err(Unreadable::Request(
            "use exactly one client authentication method".into(),
        ));
    }
    if let Some(encoded) = basic {
        let decoded = STANDARD
            .decode(encoded.trim())
            .map_err(|_| Unreadable::Basic)?;
        let decoded = String::from_utf8(decoded).map_err(|_| Unreadable::Basic)?;
        let (id, secret) = decoded.split_once(':').ok_or(Unreadable::Basic)?;
        // RFC 6749 §2.3.1: both parts are form-urlencoded.
        let id = decode_component(id).ok_or(Unreadable::Basic)?;
        let secret = decode_component(secret).ok_or(Unreadable::Basic)?;
        if params.get("client_id").is_some_and(|body_id| body_id != id) {
            return Err(Unreadable::Request(
                "`client_id` differs from the authenticated client".into(),
            ));
        }
        return Ok(Presented::Basic { id, secret });
    }
    if let Some(secret) = post_secret {
        let id = params
            .get("client_id")
            .ok_or_else(|| Unreadable::Request("the parameter `client_id` is missing".into()))?;
        return Ok(Presented::Post { id, secret });
    }
    if let Some(assertion) = assertion {
        if params.get("client_assertion_type") != Some(ASSERTION_TYPE) {
            return Err(Unreadable::Request(format!(
                "`client_assertion_type` must be `{ASSERTION_TYPE}`"
            )));
        }
        return Ok(Presented::Assertion(assertion));
    }
    params
        .get("client_id")
        .map(Presented::Public)
        .ok_or(Unreadable::Missing)
}

/// Authenticates the client of a request. Exactly one method may be used. A disabled client is
/// refused once it has proved who it is (so the refusal tells nothing to anyone else).
pub async fn authenticate(core: &Core, params: &Params) -> Result<AuthenticatedClient, OAuthError> {
    let client = authenticate_any(core, params).await?;
    if client.config.disabled {
        // RFC 6749 §5.2: a client that authenticated with the `Basic` scheme gets its challenge.
        if client.method == TokenEndpointAuthMethod::ClientSecretBasic {
            return Err(OAuthError::from(Unreadable::Basic));
        }
        return Err(OAuthError::invalid_client("the client is disabled"));
    }
    Ok(client)
}

async fn authenticate_any(core: &Core, params: &Params) -> Result<AuthenticatedClient, OAuthError> {
    let directory = core.directory();
    let unknown = || OAuthError::invalid_client("client authentication failed");
    match presented(params)? {
        Presented::Basic { id, secret } => {
            let client = check_secret(
                core,
                params,
                &directory,
                &id,
                &secret,
                TokenEndpointAuthMethod::ClientSecretBasic,
            )
            .await
            .map_err(|e| {
                if e.status == 401 {
                    OAuthError::from(Unreadable::Basic)
                } else {
                    e
                }
            })?;
            Ok(AuthenticatedClient {
                config: client,
                method: TokenEndpointAuthMethod::ClientSecretBasic,
            })
        }
        Presented::Post { id, secret } => {
            let client = check_secret(
                core,
                params,
                &directory,
                id,
                secret,
                TokenEndpointAuthMethod::ClientSecretPost,
            )
            .await?;
            Ok(AuthenticatedClient {
                config: client,
                method: TokenEndpointAuthMethod::ClientSecretPost,
            })
        }
        Presented::Assertion(assertion) => {
            let client = verify_client_assertion(core, params, assertion).await?;
            Ok(AuthenticatedClient {
                config: client,
                method: TokenEndpointAuthMethod::PrivateKeyJwt,
            })
        }
        Presented::Public(id) => {
            let client = match directory.clients.get(id) {
                Some(client) => client.clone(),
                // A public client described by its metadata document.
                None if MetadataDocuments::looks_like_url(id) => core
                    .metadata_documents
                    .client(id, params.ip, params.now)
                    .await
                    .map_err(|e| {
                        OAuthError::invalid_client(format!("client metadata document: {e}"))
                    })?,
                None => return Err(unknown()),
            };
            if !client.is_public() {
                return Err(unknown());
            }
            Ok(AuthenticatedClient {
                config: client,
                method: TokenEndpointAuthMethod::None,
            })
        }
    }
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
    method: TokenEndpointAuthMethod,
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
    if client.token_endpoint_auth_method != TokenEndpointAuthMethod::PrivateKeyJwt {
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
    .map_err(|why| fail(&why.to_string()))?;
    if claims.get("sub").and_then(Value::as_str) != Some(id.as_str()) {
        return Err(fail("`sub` must be the client id"));
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty())
        .ok_or_else(|| fail("no `jti`"))?;
    let remember_until = assertion_window(&claims, params.now, core.max_assertion_lifetime)
        .map_err(|why| fail(&why.to_string()))?;
    if !first_use(core, &id, jti, remember_until, params.now).await? {
        return Err(fail("the assertion was already used"));
    }
    Ok(client.clone())
}

/// The clock skew allowed on `exp`, `nbf` and `iat` (seconds).
pub const LEEWAY: i64 = 60;

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
pub fn assertion_window(claims: &Value, now: i64, max_lifetime: i64) -> Result<i64, JwtError> {
    let exp = claims
        .get("exp")
        .and_then(seconds)
        .ok_or(JwtError::NotANumber("exp"))?;
    if exp.saturating_sub(now) > max_lifetime {
        return Err(JwtError::TooLong(max_lifetime));
    }
    if let Some(iat) = claims.get("iat") {
        let iat = seconds(iat).ok_or(JwtError::NotANumber("iat"))?;
        if iat > now.saturating_add(LEEWAY) {
            return Err(JwtError::IssuedInFuture);
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
        .map_err(OAuthError::from)
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
) -> Result<Value, JwtError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Malformed)?;
    let jwk = match &header.kid {
        Some(kid) => jwks.find(kid),
        None if jwks.keys.len() == 1 => jwks.keys.first(),
        None => None,
    }
    .ok_or(JwtError::NoKey)?;
    // A key published for another use, or declared for another algorithm, does not verify this
    // token (RFC 7517 §4.2, §4.4): the family check alone would let a key declared RS256
    // verify PS256.
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != jsonwebtoken::jwk::PublicKeyUse::Signature)
    {
        return Err(JwtError::NotSigningKey);
    }
    if let Some(declared) = jwk.common.key_algorithm
        && serde_json::to_value(declared).ok() != serde_json::to_value(header.alg).ok()
    {
        return Err(JwtError::Algorithm);
    }
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|_| JwtError::UnusableKey)?;
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
        .map_err(JwtError::from)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, reason = "test code")]

    use super::*;

    /// An ES256 JWT for `aud` signed by a fresh key, and that key's public JWK.
    fn signed() -> (String, Value) {
        let key = crate::keys::generate(crate::config::SigningAlgorithm::ES256, 0).expect("key");
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(key.kid.clone());
        let claims = serde_json::json!({ "iss": "c", "sub": "c", "aud": "https://as", "exp": 4_000_000_000_i64 });
        let encoding =
            jsonwebtoken::EncodingKey::from_ec_pem(key.private_pem.as_bytes()).expect("pem");
        let token = jsonwebtoken::encode(&header, &claims, &encoding).expect("signs");
        (token, key.public_jwk)
    }

    fn verify(token: &str, jwk: &Value) -> Result<Value, String> {
        let jwks: JwkSet =
            serde_json::from_value(serde_json::json!({ "keys": [jwk] })).expect("jwks");
        verify_with_jwks(token, &jwks, &["https://as"], Some("c"), 0).map_err(|e| e.to_string())
    }

    #[test]
    fn a_key_verifies_only_for_its_declared_use_and_algorithm() {
        let (token, jwk) = signed();
        verify(&token, &jwk).expect("the key as published verifies");
        let mut undeclared = jwk.clone();
        if let Some(map) = undeclared.as_object_mut() {
            map.remove("alg");
            map.remove("use");
        }
        verify(&token, &undeclared).expect("a key without `alg` and `use` verifies");
        let mut other_alg = jwk.clone();
        other_alg["alg"] = "ES384".into();
        assert_eq!(
            verify(&token, &other_alg).expect_err("declared ES384"),
            "the JWT's `alg` is not the algorithm its key declares"
        );
        let mut encryption = jwk;
        encryption["use"] = "enc".into();
        assert_eq!(
            verify(&token, &encryption).expect_err("an encryption key"),
            "the key the JWT names is not a signing key (`use`)"
        );
    }

    #[test]
    fn presented_credentials_are_read_before_anything_is_checked() {
        let params = |body: &str, header: Option<&str>| {
            Params::parse(body.as_bytes(), header.map(str::to_owned), None, 0).expect("form")
        };
        // `a%3Ab:s%20t` form-decodes to id `a:b`, secret `s t`.
        let basic = format!("Basic {}", STANDARD.encode("a%3Ab:s%20t"));
        assert_eq!(
            presented(&params("", Some(&basic))),
            Ok(Presented::Basic {
                id: "a:b".into(),
                secret: "s t".into()
            })
        );
        assert_eq!(
            presented(&params("client_id=x", Some(&basic))),
            Err(Unreadable::Request(
                "`client_id` differs from the authenticated client".into()
            ))
        );
        assert_eq!(
            presented(&params("", Some("Basic %%%"))),
            Err(Unreadable::Basic)
        );
        assert_eq!(
            presented(&params("client_id=x&client_secret=y", Some(&basic))),
            Err(Unreadable::Request(
                "use exactly one client authentication method".into()
            ))
        );
        assert_eq!(
            presented(&params("client_id=x&client_secret=y", None)),
            Ok(Presented::Post {
                id: "x",
                secret: "y"
            })
        );
        assert!(matches!(
            presented(&params(
                "client_assertion=j&client_assertion_type=other",
                None
            )),
            Err(Unreadable::Request(_))
        ));
        assert_eq!(
            presented(&params("client_id=pub", None)),
            Ok(Presented::Public("pub"))
        );
        assert_eq!(presented(&params("", None)), Err(Unreadable::Missing));
    }
}
