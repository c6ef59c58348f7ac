//! Verifying JWT access tokens (RFC 7519, RFC 9068) against a JSON Web Key Set (RFC 7517).
//!
//! Three algorithms, each tied to its key type so that a key can never be used with another
//! algorithm: `ES256` (`EC` keys on `P-256`), `RS256` (`RSA` keys of at least 2048 bits) and
//! `EdDSA` (`OKP` keys on `Ed25519`, verified strictly). `none`, the HMAC algorithms and every
//! other `alg` are refused, as is a header with `crit` (no extension is understood).
//!
//! Verification needs no randomness and no clock: the caller passes the time, so the same code
//! runs natively (tests) and inside the proxy-wasm sandbox.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::Sha256;
use thiserror::Error;

/// The smallest RSA modulus accepted, in bits (RFC 7518 section 3.3).
pub const MIN_RSA_BITS: usize = 2048;

/// A signature algorithm the filter accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// Ed25519.
    EdDsa,
}

impl Algorithm {
    fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "ES256" => Some(Algorithm::Es256),
            "RS256" => Some(Algorithm::Rs256),
            "EdDSA" => Some(Algorithm::EdDsa),
            _ => None,
        }
    }
}

enum Verifier {
    Es256(p256::ecdsa::VerifyingKey),
    Rs256(rsa::pkcs1v15::VerifyingKey<Sha256>),
    EdDsa(ed25519_dalek::VerifyingKey),
}

impl Verifier {
    fn algorithm(&self) -> Algorithm {
        match self {
            Verifier::Es256(_) => Algorithm::Es256,
            Verifier::Rs256(_) => Algorithm::Rs256,
            Verifier::EdDsa(_) => Algorithm::EdDsa,
        }
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        use p256::ecdsa::signature::Verifier as _;
        match self {
            Verifier::Es256(key) => p256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|sig| key.verify(message, &sig).is_ok()),
            Verifier::Rs256(key) => rsa::pkcs1v15::Signature::try_from(signature)
                .is_ok_and(|sig| key.verify(message, &sig).is_ok()),
            Verifier::EdDsa(key) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|sig| key.verify_strict(message, &sig).is_ok()),
        }
    }
}

struct Key {
    kid: Option<String>,
    verifier: Verifier,
}

/// The usable signing keys of a JWKS, ready to verify with.
pub struct KeySet {
    keys: Vec<Key>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.keys
                    .iter()
                    .map(|k| (k.kid.as_deref(), k.verifier.algorithm())),
            )
            .finish()
    }
}

/// Why a JWKS gives no usable key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JwksError {
    /// Not JSON, or no `keys` array.
    #[error("not a JSON Web Key Set: {0}")]
    Syntax(String),
    /// No key in the set can verify tokens; each skipped key says why.
    #[error("no usable signing key{}", list(.0))]
    NoUsableKey(Vec<SkippedKey>),
}

fn list(skipped: &[SkippedKey]) -> String {
    if skipped.is_empty() {
        return String::new();
    }
    let reasons: Vec<String> = skipped.iter().map(ToString::to_string).collect();
    format!(" ({})", reasons.join("; "))
}

/// A member of a JWKS the filter cannot use, and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("keys[{index}]: {why}")]
pub struct SkippedKey {
    /// Its index in `keys`.
    pub index: usize,
    /// Why it is skipped.
    pub why: String,
}

impl KeySet {
    /// Reads a JWKS from its JSON text (a fetched `jwks_uri` body).
    pub fn parse(bytes: &[u8]) -> Result<(KeySet, Vec<SkippedKey>), JwksError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| JwksError::Syntax(e.to_string()))?;
        KeySet::from_jwks(&value)
    }

    /// Reads a JWKS object. Keys the filter cannot use (other key types or curves, encryption
    /// keys, RSA keys under 2048 bits, malformed members) are skipped; the second value says why.
    /// At least one usable key is required.
    pub fn from_jwks(jwks: &Value) -> Result<(KeySet, Vec<SkippedKey>), JwksError> {
        let Some(Value::Array(members)) = jwks.get("keys") else {
            return Err(JwksError::Syntax("no `keys` array".to_owned()));
        };
        let mut keys = Vec::with_capacity(members.len());
        let mut skipped = Vec::new();
        for (i, member) in members.iter().enumerate() {
            match Key::from_jwk(member) {
                Ok(key) => keys.push(key),
                Err(why) => skipped.push(SkippedKey { index: i, why }),
            }
        }
        if keys.is_empty() {
            return Err(JwksError::NoUsableKey(skipped));
        }
        Ok((KeySet { keys }, skipped))
    }

    /// How many usable keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no key (never true for a set built by [`KeySet::from_jwks`]).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[derive(Deserialize)]
struct Jwk {
    kty: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

impl Key {
    fn from_jwk(member: &Value) -> Result<Key, String> {
        let jwk = Jwk::deserialize(member).map_err(|e| format!("not a JWK: {e}"))?;
        if let Some(use_) = &jwk.use_
            && use_ != "sig"
        {
            return Err(format!("`use` is `{use_}`, not `sig`"));
        }
        let verifier = match (jwk.kty.as_deref(), jwk.crv.as_deref()) {
            (Some("EC"), Some("P-256")) => {
                let x = member_bytes("x", jwk.x.as_deref(), Some(32))?;
                let y = member_bytes("y", jwk.y.as_deref(), Some(32))?;
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                    .map_err(|_| "`x`/`y` is not a point on P-256".to_owned())?;
                Verifier::Es256(key)
            }
            (Some("RSA"), _) => {
                let n = member_bytes("n", jwk.n.as_deref(), None)?;
                let e = member_bytes("e", jwk.e.as_deref(), None)?;
                let key = rsa::RsaPublicKey::new(
                    rsa::BigUint::from_bytes_be(&n),
                    rsa::BigUint::from_bytes_be(&e),
                )
                .map_err(|e| format!("not an RSA public key: {e}"))?;
                let bits = rsa::traits::PublicKeyParts::size(&key) * 8;
                if bits < MIN_RSA_BITS {
                    return Err(format!(
                        "RSA modulus of {bits} bits (at least {MIN_RSA_BITS})"
                    ));
                }
                Verifier::Rs256(rsa::pkcs1v15::VerifyingKey::new(key))
            }
            (Some("OKP"), Some("Ed25519")) => {
                let x = member_bytes("x", jwk.x.as_deref(), Some(32))?;
                let x: [u8; 32] = x.try_into().map_err(|_| "`x` is not 32 bytes".to_owned())?;
                let key = ed25519_dalek::VerifyingKey::from_bytes(&x)
                    .map_err(|_| "`x` is not an Ed25519 public key".to_owned())?;
                Verifier::EdDsa(key)
            }
            (kty, crv) => {
                return Err(format!(
                    "unsupported key type `{}`{}",
                    kty.unwrap_or("(none)"),
                    crv.map(|c| format!(" on `{c}`")).unwrap_or_default()
                ));
            }
        };
        if let Some(alg) = &jwk.alg
            && Algorithm::from_name(alg) != Some(verifier.algorithm())
        {
            return Err(format!("`alg` `{alg}` does not fit the key type"));
        }
        Ok(Key {
            kid: jwk.kid,
            verifier,
        })
    }
}

fn member_bytes(name: &str, value: Option<&str>, len: Option<usize>) -> Result<Vec<u8>, String> {
    let value = value.ok_or_else(|| format!("`{name}` is missing"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| format!("`{name}` is not base64url"))?;
    match len {
        Some(len) if bytes.len() != len => Err(format!("`{name}` is not {len} bytes")),
        _ => Ok(bytes),
    }
}

/// What a token must show besides a good signature.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// The required `iss`.
    pub issuer: &'a str,
    /// `aud` must name one of these.
    pub audiences: &'a [String],
    /// Leeway on `exp` and `nbf`, in seconds.
    pub clock_skew_seconds: u64,
}

/// A token that passed every check: its claims, and the ones the filter uses picked out.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// `exp`, in seconds since the epoch (fractions dropped).
    pub exp: i64,
    /// `sub`, when present.
    pub sub: Option<String>,
    /// `client_id` (RFC 9068), or `azp` when there is no `client_id`.
    pub client_id: Option<String>,
    /// The granted scopes: `scope` (a space-separated string, RFC 9068), or `scp` (a list).
    pub scopes: Vec<String>,
    /// Every claim of the payload.
    pub claims: Map<String, Value>,
}

impl Verified {
    /// The scopes as one space-separated string (the `scope` claim's form).
    pub fn scope(&self) -> String {
        self.scopes.join(" ")
    }

    /// Whether the token is still within its lifetime at `now` (seconds), with the leeway.
    pub fn is_live(&self, now: i64, clock_skew_seconds: u64) -> bool {
        now < self.exp.saturating_add_unsigned(clock_skew_seconds)
    }
}

/// Why a token was refused. Every one answers 401 `invalid_token`; the reason is for logs.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TokenError {
    /// Not three base64url parts with a JSON header and payload.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// An `alg` other than ES256, RS256 and EdDSA.
    #[error("unsupported algorithm `{0}`")]
    Algorithm(String),
    /// The header has `crit`.
    #[error("critical header parameters are not supported")]
    Critical,
    /// The header's `typ` is not a JWT access token type.
    #[error("`typ` `{0}` is not a JWT access token")]
    Type(String),
    /// No key in the set fits the token's `kid` and `alg`.
    #[error("no signing key for `kid` {0:?}")]
    NoKey(Option<String>),
    /// No fitting key verifies the signature.
    #[error("bad signature")]
    Signature,
    /// `iss` is missing or not the configured issuer.
    #[error("wrong issuer")]
    Issuer,
    /// `aud` names none of the configured audiences.
    #[error("wrong audience")]
    Audience,
    /// `exp` is missing or past.
    #[error("expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("not yet valid")]
    NotYetValid,
    /// A claim has the wrong type (`sub` not a string, `scope` not a string...).
    #[error("claim `{0}` has the wrong type")]
    Claim(&'static str),
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    crit: Option<Value>,
}

/// Verifies a compact JWS access token: the signature with a key of `keys` (the one named by
/// `kid`, or any key of the token's algorithm when the token names none), then `iss`, `aud`,
/// `exp` (required) and `nbf` against `now` (seconds since the epoch) with the leeway.
pub fn verify(
    token: &str,
    keys: &KeySet,
    expect: &Expect<'_>,
    now: i64,
) -> Result<Verified, TokenError> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed("not three dot-separated parts"));
    };
    let header = URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|_| TokenError::Malformed("header is not base64url"))?;
    let header: Header = serde_json::from_slice(&header)
        .map_err(|_| TokenError::Malformed("header is not a JOSE header"))?;
    let algorithm = Algorithm::from_name(&header.alg).ok_or(TokenError::Algorithm(header.alg))?;
    if header.crit.is_some() {
        return Err(TokenError::Critical);
    }
    if let Some(typ) = header.typ {
        let media = typ.strip_prefix("application/").unwrap_or(&typ);
        if !media.eq_ignore_ascii_case("at+jwt") && !media.eq_ignore_ascii_case("jwt") {
            return Err(TokenError::Type(typ));
        }
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| TokenError::Malformed("signature is not base64url"))?;
    // The signing input is the first two parts as sent, dot included.
    let signed = token
        .get(..header_b64.len() + 1 + payload_b64.len())
        .ok_or(TokenError::Malformed("not three dot-separated parts"))?;

    let mut candidates = keys
        .keys
        .iter()
        .filter(|key| key.verifier.algorithm() == algorithm)
        .filter(|key| header.kid.is_none() || key.kid == header.kid)
        .peekable();
    if candidates.peek().is_none() {
        return Err(TokenError::NoKey(header.kid));
    }
    if !candidates.any(|key| key.verifier.verify(signed.as_bytes(), &signature)) {
        return Err(TokenError::Signature);
    }

    let payload = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| TokenError::Malformed("payload is not base64url"))?;
    let Ok(Value::Object(claims)) = serde_json::from_slice::<Value>(&payload) else {
        return Err(TokenError::Malformed("payload is not a JSON object"));
    };
    check_claims(claims, expect, now)
}

fn check_claims(
    claims: Map<String, Value>,
    expect: &Expect<'_>,
    now: i64,
) -> Result<Verified, TokenError> {
    if claims.get("iss").and_then(Value::as_str) != Some(expect.issuer) {
        return Err(TokenError::Issuer);
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => expect.audiences.contains(aud),
        Some(Value::Array(auds)) => auds
            .iter()
            .filter_map(Value::as_str)
            .any(|aud| expect.audiences.iter().any(|a| a == aud)),
        _ => false,
    };
    if !audience_ok {
        return Err(TokenError::Audience);
    }
    let skew = i64::try_from(expect.clock_skew_seconds).unwrap_or(i64::MAX);
    let exp = seconds(claims.get("exp")).ok_or(TokenError::Expired)?;
    if now >= exp.saturating_add(skew) {
        return Err(TokenError::Expired);
    }
    match claims.get("nbf") {
        None | Some(Value::Null) => {}
        nbf => {
            let nbf = seconds(nbf).ok_or(TokenError::Claim("nbf"))?;
            if now.saturating_add(skew) < nbf {
                return Err(TokenError::NotYetValid);
            }
        }
    }
    let sub = optional_string(&claims, "sub")?;
    let client_id = match optional_string(&claims, "client_id")? {
        Some(id) => Some(id),
        None => optional_string(&claims, "azp")?,
    };
    let scopes = match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::String(scope)), _) => scope.split(' ').filter(|s| !s.is_empty()).collect(),
        (Some(Value::Null) | None, Some(Value::Array(list))) => list
            .iter()
            .map(|s| s.as_str().ok_or(TokenError::Claim("scp")))
            .collect::<Result<Vec<&str>, _>>()?,
        (Some(Value::Null) | None, None | Some(Value::Null)) => Vec::new(),
        (Some(Value::Null) | None, Some(_)) => return Err(TokenError::Claim("scp")),
        (Some(_), _) => return Err(TokenError::Claim("scope")),
    };
    let scopes = scopes.into_iter().map(str::to_owned).collect();
    Ok(Verified {
        exp,
        sub,
        client_id,
        scopes,
        claims,
    })
}

/// A NumericDate (RFC 7519 section 2): seconds, possibly with a fraction (dropped).
fn seconds(value: Option<&Value>) -> Option<i64> {
    let value = value?;
    value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.is_finite() && f.abs() < 1e15)
            .map(|f| f.floor() as i64)
    })
}

/// A string claim that goes into a request header: control characters are refused so that the
/// header stays well-formed.
fn optional_string(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, TokenError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.chars().any(char::is_control) => Ok(Some(s.clone())),
        Some(_) => Err(TokenError::Claim(name)),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Signing test tokens natively with fixed keys.

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use p256::ecdsa::signature::Signer as _;
    use p256::pkcs8::DecodePrivateKey as _;
    use rsa::traits::PublicKeyParts as _;
    use serde_json::{Value, json};

    /// A signing key with its public JWK.
    pub(crate) enum TestKey {
        Es256(p256::ecdsa::SigningKey),
        Rs256(
            Box<rsa::pkcs1v15::SigningKey<sha2::Sha256>>,
            rsa::RsaPublicKey,
        ),
        EdDsa(ed25519_dalek::SigningKey),
    }

    pub(crate) fn es256() -> TestKey {
        TestKey::Es256(p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap())
    }

    pub(crate) fn rs256() -> TestKey {
        let private =
            rsa::RsaPrivateKey::from_pkcs8_pem(include_str!("testdata/rsa-test-key.pem")).unwrap();
        let public = private.to_public_key();
        TestKey::Rs256(Box::new(rsa::pkcs1v15::SigningKey::new(private)), public)
    }

    pub(crate) fn eddsa() -> TestKey {
        TestKey::EdDsa(ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]))
    }

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    impl TestKey {
        pub(crate) fn alg(&self) -> &'static str {
            match self {
                TestKey::Es256(_) => "ES256",
                TestKey::Rs256(..) => "RS256",
                TestKey::EdDsa(_) => "EdDSA",
            }
        }

        pub(crate) fn jwk(&self, kid: &str) -> Value {
            match self {
                TestKey::Es256(key) => {
                    let point = key.verifying_key().to_encoded_point(false);
                    json!({ "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
                            "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap()) })
                }
                TestKey::Rs256(_, public) => {
                    json!({ "kty": "RSA", "kid": kid, "alg": "RS256",
                            "n": b64(&public.n().to_bytes_be()), "e": b64(&public.e().to_bytes_be()) })
                }
                TestKey::EdDsa(key) => {
                    json!({ "kty": "OKP", "crv": "Ed25519", "kid": kid,
                            "x": b64(key.verifying_key().as_bytes()) })
                }
            }
        }

        /// A token over `header` (merged over `alg` and `kid`) and `claims`.
        pub(crate) fn sign_with_header(&self, kid: &str, header: Value, claims: &Value) -> String {
            let mut full = json!({ "alg": self.alg(), "kid": kid, "typ": "at+jwt" });
            if let (Some(full), Value::Object(extra)) = (full.as_object_mut(), header) {
                for (k, v) in extra {
                    if v.is_null() {
                        full.remove(&k);
                    } else {
                        full.insert(k, v);
                    }
                }
            }
            let signing_input = format!(
                "{}.{}",
                b64(full.to_string().as_bytes()),
                b64(claims.to_string().as_bytes())
            );
            let signature = match self {
                TestKey::Es256(key) => {
                    let sig: p256::ecdsa::Signature = key.sign(signing_input.as_bytes());
                    sig.to_bytes().to_vec()
                }
                TestKey::Rs256(key, _) => {
                    use rsa::signature::SignatureEncoding as _;
                    key.sign(signing_input.as_bytes()).to_vec()
                }
                TestKey::EdDsa(key) => key.sign(signing_input.as_bytes()).to_bytes().to_vec(),
            };
            format!("{signing_input}.{}", b64(&signature))
        }

        pub(crate) fn sign(&self, kid: &str, claims: &Value) -> String {
            self.sign_with_header(kid, json!({}), claims)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::testing::*;
    use super::*;

    const NOW: i64 = 1_800_000_000;
    const ISSUER: &str = "https://auth.example.com";

    fn audiences() -> Vec<String> {
        vec!["https://api.example.com".to_owned()]
    }

    fn claims() -> Value {
        json!({
            "iss": ISSUER, "aud": "https://api.example.com", "sub": "u-1",
            "client_id": "agent", "scope": "items:read items:write",
            "iat": NOW - 10, "exp": NOW + 300,
        })
    }

    fn keys() -> KeySet {
        let jwks = json!({ "keys": [
            es256().jwk("ec-1"), rs256().jwk("rsa-1"), eddsa().jwk("ed-1"),
        ] });
        KeySet::from_jwks(&jwks).unwrap().0
    }

    fn check(token: &str) -> Result<Verified, TokenError> {
        let audiences = audiences();
        let expect = Expect {
            issuer: ISSUER,
            audiences: &audiences,
            clock_skew_seconds: 60,
        };
        verify(token, &keys(), &expect, NOW)
    }

    #[test]
    fn every_algorithm_verifies() {
        for (key, kid) in [(es256(), "ec-1"), (rs256(), "rsa-1"), (eddsa(), "ed-1")] {
            let verified = check(&key.sign(kid, &claims())).unwrap();
            assert_eq!(verified.sub.as_deref(), Some("u-1"));
            assert_eq!(verified.client_id.as_deref(), Some("agent"));
            assert_eq!(verified.scopes, ["items:read", "items:write"]);
            assert_eq!(verified.scope(), "items:read items:write");
            assert_eq!(verified.exp, NOW + 300);
        }
    }

    #[test]
    fn token_without_kid_tries_keys_of_its_algorithm() {
        let token = es256().sign_with_header("", json!({ "kid": null }), &claims());
        assert!(check(&token).is_ok());
    }

    #[test]
    fn unknown_kid_and_wrong_key() {
        assert_eq!(
            check(&es256().sign("other", &claims())),
            Err(TokenError::NoKey(Some("other".into())))
        );
        // A key of the right type and kid, but another key signed.
        let other = TestKey::Es256(p256::ecdsa::SigningKey::from_slice(&[8u8; 32]).unwrap());
        assert_eq!(
            check(&other.sign("ec-1", &claims())),
            Err(TokenError::Signature)
        );
        // The kid of an RSA key on an ES256 token: the algorithm decides the key type.
        assert_eq!(
            check(&es256().sign("rsa-1", &claims())),
            Err(TokenError::NoKey(Some("rsa-1".into())))
        );
    }

    #[test]
    fn tampered_payload_fails() {
        let token = rs256().sign("rsa-1", &claims());
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(
            json!({ "iss": ISSUER, "aud": "https://api.example.com", "exp": NOW + 300,
                    "scope": "admin" })
            .to_string(),
        );
        parts[1] = &forged;
        assert_eq!(check(&parts.join(".")), Err(TokenError::Signature));
    }

    #[test]
    fn refused_algorithms_and_headers() {
        let key = es256();
        assert_eq!(
            check(&key.sign_with_header("ec-1", json!({ "alg": "none" }), &claims())),
            Err(TokenError::Algorithm("none".into()))
        );
        assert_eq!(
            check(&key.sign_with_header("ec-1", json!({ "alg": "HS256" }), &claims())),
            Err(TokenError::Algorithm("HS256".into()))
        );
        assert_eq!(
            check(&key.sign_with_header("ec-1", json!({ "crit": ["exp"] }), &claims())),
            Err(TokenError::Critical)
        );
        assert_eq!(
            check(&key.sign_with_header("ec-1", json!({ "typ": "dpop+jwt" }), &claims())),
            Err(TokenError::Type("dpop+jwt".into()))
        );
        for typ in ["JWT", "at+jwt", "application/at+JWT"] {
            assert!(check(&key.sign_with_header("ec-1", json!({ "typ": typ }), &claims())).is_ok());
        }
    }

    #[test]
    fn malformed_tokens() {
        for token in ["", "a.b", "a.b.c.d", "!!.e30.sig", "e30.e30.e30"] {
            assert!(
                matches!(check(token), Err(TokenError::Malformed(_))),
                "{token}"
            );
        }
    }

    fn with(changes: Value) -> Value {
        let mut claims = claims();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        claims
    }

    #[test]
    fn issuer_audience_and_time() {
        let key = eddsa();
        let check_with = |changes| check(&key.sign("ed-1", &with(changes)));
        assert_eq!(
            check_with(json!({ "iss": "https://evil.example.com" })),
            Err(TokenError::Issuer)
        );
        assert_eq!(check_with(json!({ "iss": null })), Err(TokenError::Issuer));
        assert_eq!(
            check_with(json!({ "aud": "https://other.example.com" })),
            Err(TokenError::Audience)
        );
        assert!(
            check_with(json!({ "aud": ["https://other.example.com", "https://api.example.com"] }))
                .is_ok()
        );
        assert_eq!(
            check_with(json!({ "aud": null })),
            Err(TokenError::Audience)
        );
        assert_eq!(check_with(json!({ "exp": null })), Err(TokenError::Expired));
        assert_eq!(
            check_with(json!({ "exp": NOW - 61 })),
            Err(TokenError::Expired)
        );
        assert!(
            check_with(json!({ "exp": NOW - 59 })).is_ok(),
            "within the leeway"
        );
        assert!(check_with(json!({ "exp": (NOW + 10) as f64 + 0.5 })).is_ok());
        assert_eq!(
            check_with(json!({ "nbf": NOW + 61 })),
            Err(TokenError::NotYetValid)
        );
        assert!(check_with(json!({ "nbf": NOW + 59 })).is_ok());
        assert_eq!(
            check_with(json!({ "nbf": "soon" })),
            Err(TokenError::Claim("nbf"))
        );
    }

    #[test]
    fn claims_used_by_the_filter() {
        let key = es256();
        let check_with = |changes| check(&key.sign("ec-1", &with(changes)));
        let v = check_with(
            json!({ "scope": null, "scp": ["a", "b"], "client_id": null, "azp": "web" }),
        )
        .unwrap();
        assert_eq!(v.scopes, ["a", "b"]);
        assert_eq!(v.client_id.as_deref(), Some("web"));
        let v = check_with(json!({ "scope": "  a   b ", "sub": null })).unwrap();
        assert_eq!(v.scopes, ["a", "b"]);
        assert_eq!(v.sub, None);
        assert!(
            check_with(json!({ "scope": null }))
                .unwrap()
                .scopes
                .is_empty()
        );
        assert_eq!(
            check_with(json!({ "scope": ["a"] })),
            Err(TokenError::Claim("scope"))
        );
        assert_eq!(
            check_with(json!({ "sub": 5 })),
            Err(TokenError::Claim("sub"))
        );
        assert_eq!(
            check_with(json!({ "sub": "u\r\nx-admin: 1" })),
            Err(TokenError::Claim("sub"))
        );
    }

    #[test]
    fn unusable_keys_are_skipped() {
        let jwks = json!({ "keys": [
            { "kty": "oct", "k": "c2VjcmV0" },
            { "kty": "EC", "crv": "P-384", "x": "AA", "y": "AA" },
            { "kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA" },
            { "kty": "RSA", "n": "AQAB", "e": "AQAB" },
            { "kty": "RSA", "e": "AQAB", "n": URL_SAFE_NO_PAD.encode(
                [&[0xc0u8][..], &[0u8; 126], &[1u8]].concat()) },
            es256().jwk("enc") .as_object().unwrap().clone().into_iter()
                .chain([("use".to_owned(), json!("enc"))]).collect::<Map<_, _>>(),
            { "kty": "OKP", "crv": "Ed25519", "alg": "ES256", "x": eddsa().jwk("x")["x"] },
            eddsa().jwk("ok"),
        ] });
        let (set, skipped) = KeySet::from_jwks(&jwks).unwrap();
        assert_eq!(set.len(), 1);
        let skipped: Vec<String> = skipped.iter().map(ToString::to_string).collect();
        assert_eq!(
            skipped,
            [
                "keys[0]: unsupported key type `oct`",
                "keys[1]: unsupported key type `EC` on `P-384`",
                "keys[2]: `x` is not 32 bytes",
                "keys[3]: not an RSA public key: invalid modulus",
                "keys[4]: RSA modulus of 1024 bits (at least 2048)",
                "keys[5]: `use` is `enc`, not `sig`",
                "keys[6]: `alg` `ES256` does not fit the key type",
            ]
        );
        assert!(matches!(
            KeySet::from_jwks(&json!({ "keys": [] })),
            Err(JwksError::NoUsableKey(_))
        ));
        assert!(matches!(
            KeySet::parse(b"{\"nokeys\": 1}"),
            Err(JwksError::Syntax(_))
        ));
        assert!(matches!(
            KeySet::parse(b"<html>"),
            Err(JwksError::Syntax(_))
        ));
    }
}
