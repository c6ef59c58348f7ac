//! Verifying JWT access tokens (RFC 7519, RFC 9068): the JOSE envelope (RFC 7515), the signature
//! with a key of the set ([`crate::jwk`]), then the claims the filter relies on.
//!
//! Three algorithms, `ES256`, `RS256` and `EdDSA`, each verified only with a key of its own type.
//! `none`, the HMAC algorithms and every other `alg` are refused, as is a header with `crit` (no
//! extension is understood).
//!
//! Verification needs no randomness and no clock: the caller passes the time, so the same code
//! runs natively (tests) and inside the proxy-wasm sandbox.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value};
use thiserror::Error;

use crate::jwk::{Algorithm, KeySet};
use crate::signature::Host;

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
/// `exp` (required) and `nbf` against `now` (seconds since the epoch) with the leeway. The
/// signature's arithmetic is left to `host` when it offers it ([`crate::signature`]).
pub fn verify(
    token: &str,
    keys: &KeySet,
    expect: &Expect<'_>,
    now: i64,
    host: &dyn Host,
) -> Result<Verified, TokenError> {
    let payload = verify_signature(token, keys, host)?;
    let Ok(Value::Object(claims)) = serde_json::from_slice::<Value>(&payload) else {
        return Err(TokenError::Malformed("payload is not a JSON object"));
    };
    check_claims(claims, expect, now)
}

/// The JOSE layer alone: checks a compact JWS's header and signature, and returns its payload
/// decoded but unread. Crate-internal so that the RFC examples, whose payloads are no access
/// tokens, test the signature path without the claim checks in the way.
pub(crate) fn verify_signature(
    token: &str,
    keys: &KeySet,
    host: &dyn Host,
) -> Result<Vec<u8>, TokenError> {
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

    let mut candidates = keys.candidates(algorithm, header.kid.as_deref()).peekable();
    if candidates.peek().is_none() {
        return Err(TokenError::NoKey(header.kid.clone()));
    }
    if !candidates.any(|key| key.verify(signed.as_bytes(), &signature, host)) {
        return Err(TokenError::Signature);
    }

    URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| TokenError::Malformed("payload is not base64url"))
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
mod tests {
    use serde_json::json;

    use super::*;
    use crate::signature::{InFilter, ReadBack};
    use crate::testing::*;

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
        both(|host| verify(token, &keys(), &expect, NOW, host))
    }

    /// `f`'s answer with the filter's own verifiers, after checking that the forms a proxy would
    /// get read back to the same answer.
    fn both<T: PartialEq + std::fmt::Debug>(f: impl Fn(&dyn Host) -> T) -> T {
        let read_back = ReadBack::default();
        let own = f(&InFilter);
        assert_eq!(f(&read_back), own, "the proxy's forms give another answer");
        assert_eq!(read_back.unreadable(), 0, "a form the proxy could not read");
        own
    }

    fn checked_signature(token: &str, keys: &KeySet) -> Result<Vec<u8>, TokenError> {
        both(|host| verify_signature(token, keys, host))
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

    /// A host that answers every signature the same way.
    struct Answers(Option<bool>);

    impl Host for Answers {
        fn verify_sha256(&self, _request: &crate::signature::Request<'_>) -> Option<bool> {
            self.0
        }
    }

    #[test]
    fn rsa_and_ecdsa_signatures_go_to_the_host() {
        let audiences = audiences();
        let expect = Expect {
            issuer: ISSUER,
            audiences: &audiences,
            clock_skew_seconds: 60,
        };
        for (key, kid, asked) in [
            (es256(), "ec-1", 1),
            (rs256(), "rsa-1", 1),
            (eddsa(), "ed-1", 0),
        ] {
            let token = key.sign(kid, &claims());
            let host = ReadBack::default();
            assert!(verify(&token, &keys(), &expect, NOW, &host).is_ok());
            assert_eq!(host.calls(), asked, "{kid}");
            assert_eq!(host.unreadable(), 0, "{kid}");
            // The host's answer is the answer (it is the proxy itself, trusted like the rest of
            // it); no answer leaves the check to the filter.
            let refused = verify(&token, &keys(), &expect, NOW, &Answers(Some(false)));
            assert_eq!(refused.is_err(), asked == 1, "{kid}");
            assert!(verify(&token, &keys(), &expect, NOW, &Answers(None)).is_ok());
            let forged = flip(&token, 2, 3);
            assert_eq!(
                verify(&forged, &keys(), &expect, NOW, &Answers(None)),
                Err(TokenError::Signature)
            );
            // A signature of the wrong form never reaches the host.
            let host = ReadBack::default();
            let (input, _) = token.rsplit_once('.').unwrap();
            let short = format!("{input}.{}", URL_SAFE_NO_PAD.encode([1u8; 63]));
            assert_eq!(
                verify(&short, &keys(), &expect, NOW, &host),
                Err(TokenError::Signature)
            );
            assert_eq!(host.calls(), 0, "{kid}");
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

    /// RFC 7515 Appendix A.3: ES256 (the key of A.3.1) over the payload of A.1, as printed.
    const RFC7515_A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const RFC7515_A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
    const RFC7515_A3_D: &str = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
    const RFC7515_A3: &str = concat!(
        "eyJhbGciOiJFUzI1NiJ9",
        ".",
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt",
        "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
        ".",
        "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA",
        "pmWQxfKTUJqPP3-Kg6NU1Q",
    );

    /// RFC 8037 Appendix A.4 (and A.5, its verification): Ed25519 with the key of A.1 over the
    /// text `Example of Ed25519 signing`, as printed.
    const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
    const RFC8037_A4: &str = concat!(
        "eyJhbGciOiJFZERTQSJ9",
        ".",
        "RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc",
        ".",
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg",
    );

    fn one_key(jwk: Value) -> KeySet {
        let (set, skipped) = KeySet::from_jwks(&json!({ "keys": [jwk] })).unwrap();
        assert!(skipped.is_empty(), "{skipped:?}");
        set
    }

    /// `token` with one base64url character of part `part` replaced by another.
    fn flip(token: &str, part: usize, at: usize) -> String {
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut chars: Vec<char> = parts[part].chars().collect();
        chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
        parts[part] = chars.into_iter().collect();
        parts.join(".")
    }

    #[test]
    fn rfc7515_a3_es256_vector() {
        // The printed private key is the one of the printed public key.
        let d = URL_SAFE_NO_PAD.decode(RFC7515_A3_D).unwrap();
        let point = p256::ecdsa::SigningKey::from_slice(&d)
            .unwrap()
            .verifying_key()
            .to_encoded_point(false);
        assert_eq!(URL_SAFE_NO_PAD.encode(point.x().unwrap()), RFC7515_A3_X);
        assert_eq!(URL_SAFE_NO_PAD.encode(point.y().unwrap()), RFC7515_A3_Y);

        let keys =
            one_key(json!({ "kty": "EC", "crv": "P-256", "x": RFC7515_A3_X, "y": RFC7515_A3_Y }));
        assert_eq!(
            checked_signature(RFC7515_A3, &keys).unwrap(),
            b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}"
        );
        // The public verifier gets past the signature to the claims: the example has no `aud`.
        let audiences = audiences();
        let expect = Expect {
            issuer: "joe",
            audiences: &audiences,
            clock_skew_seconds: 0,
        };
        assert_eq!(
            both(|host| verify(RFC7515_A3, &keys, &expect, 1_300_819_000, host)),
            Err(TokenError::Audience)
        );
        // One character off in the signature or the payload, and it no longer verifies.
        for (part, at) in [(2, 0), (2, 42), (2, 85), (1, 0), (1, 50)] {
            assert_eq!(
                checked_signature(&flip(RFC7515_A3, part, at), &keys),
                Err(TokenError::Signature),
                "part {part}, character {at}"
            );
        }
        // Not with another P-256 key, and not named as another algorithm.
        assert_eq!(
            checked_signature(RFC7515_A3, &one_key(es256().jwk("other"))),
            Err(TokenError::Signature)
        );
        let relabelled = RFC7515_A3.replacen("eyJhbGciOiJFUzI1NiJ9", "eyJhbGciOiJSUzI1NiJ9", 1);
        assert_eq!(
            checked_signature(&relabelled, &keys),
            Err(TokenError::NoKey(None))
        );
    }

    #[test]
    fn rfc8037_a4_ed25519_vector() {
        let d: [u8; 32] = URL_SAFE_NO_PAD
            .decode(RFC8037_D)
            .unwrap()
            .try_into()
            .unwrap();
        let signing = ed25519_dalek::SigningKey::from_bytes(&d);
        assert_eq!(
            URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes()),
            RFC8037_X
        );
        // Ed25519 is deterministic: A.4's signature is the one the printed key makes.
        let (input, signature) = RFC8037_A4.rsplit_once('.').unwrap();
        {
            use ed25519_dalek::Signer as _;
            assert_eq!(
                URL_SAFE_NO_PAD.encode(signing.sign(input.as_bytes()).to_bytes()),
                signature
            );
        }

        let keys = one_key(json!({ "kty": "OKP", "crv": "Ed25519", "x": RFC8037_X }));
        assert_eq!(
            checked_signature(RFC8037_A4, &keys).unwrap(),
            b"Example of Ed25519 signing"
        );
        // The payload is text, not claims: refused after the signature, for the payload.
        assert_eq!(
            check_with_keys(RFC8037_A4, &keys),
            Err(TokenError::Malformed("payload is not a JSON object"))
        );
        for (part, at) in [(2, 0), (2, 42), (2, 84), (1, 0), (1, 20)] {
            assert_eq!(
                checked_signature(&flip(RFC8037_A4, part, at), &keys),
                Err(TokenError::Signature),
                "part {part}, character {at}"
            );
        }
        assert_eq!(
            checked_signature(RFC8037_A4, &one_key(eddsa().jwk("other"))),
            Err(TokenError::Signature)
        );
    }

    fn check_with_keys(token: &str, keys: &KeySet) -> Result<Verified, TokenError> {
        let audiences = audiences();
        let expect = Expect {
            issuer: ISSUER,
            audiences: &audiences,
            clock_skew_seconds: 60,
        };
        both(|host| verify(token, keys, &expect, NOW, host))
    }
}
