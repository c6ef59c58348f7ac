//! Client authentication as the token endpoint reads it: the presented credentials (the `Basic`
//! header, form secrets, a `client_assertion`), then a `private_key_jwt` assertion checked
//! against the client's JWK Set and its time window (RFC 7523 §3: `exp` in any JSON number form,
//! bounded lifetime, `iat` not in the future).
//!
//! The first byte picks the mode: even, the rest is a request (first line the `Authorization`
//! header, then the form body) and any assertion in it is checked; odd, the rest is the claims of
//! an assertion this target signs with the client's key, so the claim checks behind a valid
//! signature are reached too.

#![no_main]

use std::sync::LazyLock;

use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::JwkSet};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use tollgate::oauth::Params;
use tollgate::oauth::client_auth::{Presented, assertion_window, presented, verify_with_jwks};

const NOW: i64 = 1_800_000_000;
const AUDIENCE: &str = "https://as.example";
const CLIENT: &str = "agent";

struct Client {
    jwks: JwkSet,
    signing: EncodingKey,
}

static CLIENT_KEYS: LazyLock<Client> = LazyLock::new(|| {
    use base64::Engine as _;
    use p256::pkcs8::EncodePrivateKey as _;
    let secret = p256::SecretKey::from_slice(&[7u8; 32]).expect("a valid scalar");
    let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&secret.public_key(), false);
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let jwks = json!({ "keys": [{ "kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig",
        "x": b64(point.x().expect("x")), "y": b64(point.y().expect("y")) }] });
    let pem = secret.to_pkcs8_pem(Default::default()).expect("pem");
    Client {
        jwks: serde_json::from_value(jwks).expect("jwks"),
        signing: EncodingKey::from_ec_pem(pem.as_bytes()).expect("key"),
    }
});

fn check_assertion(assertion: &str) {
    let keys = &*CLIENT_KEYS;
    if let Ok(claims) = verify_with_jwks(assertion, &keys.jwks, &[AUDIENCE], Some(CLIENT), NOW) {
        // Verified: for this server, from this client, not expired, not before its time.
        let leeway = tollgate::oauth::client_auth::LEEWAY;
        let aud = &claims["aud"];
        assert!(aud == AUDIENCE || aud.as_array().is_some_and(|a| a.iter().any(|v| v == AUDIENCE)));
        assert_eq!(claims["iss"], CLIENT);
        let exp = claims["exp"].as_f64().expect("`exp` is required");
        assert!(exp >= (NOW - leeway) as f64);
        if let Ok(until) = assertion_window(&claims, NOW, 300) {
            // A bounded lifetime, issued in the past, and its jti remembered at most for the
            // longest lifetime plus the leeway.
            assert!(exp <= (NOW + 300) as f64);
            if let Some(iat) = claims.get("iat").and_then(Value::as_f64) {
                assert!(iat <= (NOW + leeway) as f64);
            }
            assert!(until <= NOW + 300 + leeway);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 1 {
        let Ok(claims) = serde_json::from_slice::<Value>(rest) else {
            return;
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("k1".into());
        if let Ok(assertion) = jsonwebtoken::encode(&header, &claims, &CLIENT_KEYS.signing) {
            check_assertion(&assertion);
        }
        return;
    }
    let (header, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (std::str::from_utf8(&rest[..i]).ok().map(str::to_owned), &rest[i + 1..]),
        None => (None, rest),
    };
    let Ok(params) = Params::parse(body, header, None, NOW) else {
        return;
    };
    match presented(&params) {
        Ok(Presented::Assertion(assertion)) => check_assertion(assertion),
        Ok(Presented::Basic { id, secret }) => {
            // What the header carried, decoded: never more than the header itself.
            assert!(id.len() + secret.len() <= params.authorization.as_deref().map_or(0, str::len));
        }
        Ok(_) | Err(_) => {}
    }
});
