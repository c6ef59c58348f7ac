//! The Envoy filter's JWT verifier (`tollgate_envoy::jwt::verify`) against a key set with one key
//! of each algorithm. The first byte picks the mode:
//!
//! - 0 mod 3: the rest is a token as a client sends it;
//! - 1 mod 3: the rest is a payload, signed properly here with the key (ES256 or EdDSA) the second
//!   byte picks, so the claim checks behind a good signature are reached; such a token must never
//!   fail for its header, key or signature;
//! - 2 mod 3: a token with fixed good claims, signed with the picked key, whose signature is then
//!   replaced by the rest (zero, high-S, out-of-range, wrong lengths): it must never verify unless
//!   the bytes are a valid signature of that key over that input.

#![no_main]

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use tollgate_envoy::jwk::KeySet;
use tollgate_envoy::jwt::{Expect, TokenError, verify};

const NOW: i64 = 1_800_000_000;
const ISSUER: &str = "https://as.example";

struct Keys {
    es256: p256::ecdsa::SigningKey,
    rs256: rsa::pkcs1v15::SigningKey<sha2::Sha256>,
    eddsa: ed25519_dalek::SigningKey,
    set: KeySet,
    audiences: Vec<String>,
}

static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    use rsa::pkcs8::DecodePrivateKey as _;
    use rsa::traits::PublicKeyParts as _;
    let es256 = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).expect("scalar");
    let rsa = rsa::RsaPrivateKey::from_pkcs8_pem(include_str!("../../envoy/src/testdata/rsa-test-key.pem"))
        .expect("rsa key");
    let eddsa = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let point = es256.verifying_key().to_encoded_point(false);
    let jwks = json!({ "keys": [
        { "kty": "EC", "crv": "P-256", "kid": "ec", "alg": "ES256",
          "x": B64.encode(point.x().expect("x")), "y": B64.encode(point.y().expect("y")) },
        { "kty": "RSA", "kid": "rsa", "alg": "RS256",
          "n": B64.encode(rsa.n().to_bytes_be()), "e": B64.encode(rsa.e().to_bytes_be()) },
        { "kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": B64.encode(eddsa.verifying_key().as_bytes()) },
    ]});
    let (set, skipped) = KeySet::from_jwks(&jwks).expect("key set");
    assert!(skipped.is_empty());
    Keys {
        es256,
        rs256: rsa::pkcs1v15::SigningKey::new(rsa),
        eddsa,
        set,
        audiences: vec!["https://api.example".to_owned()],
    }
});

/// The token's signing input with `kid`'s algorithm, and its signature.
fn sign(which: u8, payload: &[u8]) -> (String, Vec<u8>) {
    use p256::ecdsa::signature::{SignatureEncoding as _, Signer as _};
    let keys = &*KEYS;
    let (alg, kid) = match which % 3 {
        0 => ("ES256", "ec"),
        1 => ("RS256", "rsa"),
        _ => ("EdDSA", "ed"),
    };
    let header = json!({ "alg": alg, "kid": kid, "typ": "at+jwt" });
    let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(payload));
    let signature = match which % 3 {
        0 => {
            let s: p256::ecdsa::Signature = keys.es256.sign(input.as_bytes());
            s.to_vec()
        }
        1 => keys.rs256.sign(input.as_bytes()).to_vec(),
        _ => keys.eddsa.sign(input.as_bytes()).to_vec(),
    };
    (input, signature)
}

/// Mode 2's token input and genuine signature for each key, signed once: an RSA signature costs
/// more than everything else an execution does.
static GENUINE: LazyLock<[(String, Vec<u8>); 3]> = LazyLock::new(|| {
    let claims = json!({ "iss": ISSUER, "aud": "https://api.example", "exp": NOW + 600, "sub": "u" });
    let claims = claims.to_string();
    [0, 1, 2].map(|which| sign(which, claims.as_bytes()))
});

fuzz_target!(|data: &[u8]| {
    let keys = &*KEYS;
    let expect = Expect { issuer: ISSUER, audiences: &keys.audiences, clock_skew_seconds: 60 };
    let [mode, which, rest @ ..] = data else {
        return;
    };
    match mode % 3 {
        0 => {
            if let Ok(token) = std::str::from_utf8(&data[1..]) {
                if let Ok(verified) = verify(token, &keys.set, &expect, NOW) {
                    assert!(verified.is_live(NOW, 60));
                }
            }
        }
        1 => {
            // ES256 or EdDSA: the claim checks do not depend on the algorithm, and an RSA
            // signature per execution (under the sanitizers) would cut the rate a hundredfold.
            // Modes 0 and 2 cover RSA.
            let (input, signature) = sign(if which % 2 == 0 { 0 } else { 2 }, rest);
            let token = format!("{input}.{}", B64.encode(signature));
            match verify(&token, &keys.set, &expect, NOW) {
                Err(TokenError::NoKey(_) | TokenError::Signature | TokenError::Algorithm(_)
                    | TokenError::Critical | TokenError::Type(_)) => {
                    panic!("a properly signed token was refused for its signature or header")
                }
                Err(TokenError::Malformed(why)) => {
                    assert!(why.starts_with("payload"), "{why}");
                }
                Ok(verified) => {
                    assert_eq!(verified.claims.get("iss").and_then(Value::as_str), Some(ISSUER));
                }
                Err(_) => {}
            }
        }
        _ => {
            let (input, genuine) = &GENUINE[usize::from(*which % 3)];
            let token = format!("{input}.{}", B64.encode(rest));
            let result = verify(&token, &keys.set, &expect, NOW);
            if rest == genuine.as_slice() {
                assert!(result.is_ok());
            } else if result.is_ok() {
                // Only another valid signature of the same key over the same input may pass:
                // for ECDSA, (r, n - s). RSA PKCS#1 v1.5 and strict Ed25519 have exactly one.
                assert_eq!(which % 3, 0, "a forged RSA or Ed25519 signature verified");
                assert_eq!(rest.len(), 64);
                assert_eq!(&rest[..32], &genuine[..32], "a forged ECDSA signature verified");
            } else {
                assert_eq!(result.unwrap_err(), TokenError::Signature);
            }
        }
    }
});
