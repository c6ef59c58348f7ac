//! The filter's token verifier run natively, one token per algorithm: the cost of a token seen
//! for the first time, without V8 and without Envoy. BENCHMARKS.md §5 sets these figures beside
//! the same code in Envoy's V8 (`envoy/bench/bench.sh`, "checked in the filter") and beside
//! Envoy's BoringSSL (the default).
//!
//! `cargo bench -p tollgate-envoy --bench verify`

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "benchmark set-up: a broken set-up fails the run"
)]

use std::hint::black_box;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tollgate_envoy::jwk::KeySet;
use tollgate_envoy::jwt::{Expect, verify};
use tollgate_envoy::signature::InFilter;

const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "https://api.example.com";
const NOW: i64 = 1_800_000_000;

/// (algorithm name, JWK, token) for the three algorithms, with the claims of a Tollgate access
/// token.
fn tokens() -> Vec<(&'static str, Value, String)> {
    use p256::pkcs8::{EncodePrivateKey as _, LineEnding};
    use rsa::pkcs8::DecodePrivateKey as _;
    use rsa::traits::PublicKeyParts as _;

    let claims = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "u-42", "client_id": "agent",
        "scope": "items:read items:write", "iat": NOW - 10, "exp": NOW + 3600,
        "roles": ["SRE"], "jti": "0f7c2a5e-8a41-4d7e-9b0e-0d8f1c2b3a4d",
    });
    let sign = |alg, kid: &str, key: &EncodingKey| {
        let mut header = Header::new(alg);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, &claims, key).expect("signs")
    };

    let rsa_pem = include_str!("../src/testdata/rsa-test-key.pem");
    let rsa = rsa::RsaPrivateKey::from_pkcs8_pem(rsa_pem)
        .expect("RSA test key")
        .to_public_key();
    let rsa_jwk = json!({ "kty": "RSA", "kid": "rsa", "alg": "RS256",
        "n": B64.encode(rsa.n().to_bytes_be()), "e": B64.encode(rsa.e().to_bytes_be()) });
    let rsa_key = EncodingKey::from_rsa_pem(rsa_pem.as_bytes()).expect("RSA PEM");

    let ec = p256::ecdsa::SigningKey::from_slice(&[0x11; 32]).expect("P-256 scalar");
    let point = ec.verifying_key().to_encoded_point(false);
    let ec_jwk = json!({ "kty": "EC", "crv": "P-256", "kid": "ec", "alg": "ES256",
        "x": B64.encode(point.x().expect("x")), "y": B64.encode(point.y().expect("y")) });
    let ec_pem = ec.to_pkcs8_pem(LineEnding::LF).expect("PKCS#8");
    let ec_key = EncodingKey::from_ec_pem(ec_pem.as_bytes()).expect("EC PEM");

    let ed = ed25519_dalek::SigningKey::from_bytes(&[0x22; 32]);
    let ed_jwk = json!({ "kty": "OKP", "crv": "Ed25519", "kid": "ed",
        "x": B64.encode(ed.verifying_key().as_bytes()) });
    let ed_pem = {
        use ed25519_dalek::pkcs8::EncodePrivateKey as _;
        ed.to_pkcs8_pem(LineEnding::LF).expect("PKCS#8")
    };
    let ed_key = EncodingKey::from_ed_pem(ed_pem.as_bytes()).expect("Ed25519 PEM");

    vec![
        ("RS256", rsa_jwk, sign(Algorithm::RS256, "rsa", &rsa_key)),
        ("ES256", ec_jwk, sign(Algorithm::ES256, "ec", &ec_key)),
        ("EdDSA", ed_jwk, sign(Algorithm::EdDSA, "ed", &ed_key)),
    ]
}

fn bench(c: &mut Criterion) {
    let audiences = vec![AUDIENCE.to_owned()];
    let expect = Expect {
        issuer: ISSUER,
        audiences: &audiences,
        clock_skew_seconds: 60,
    };
    let mut group = c.benchmark_group("verify");
    for (alg, jwk, token) in tokens() {
        let (keys, _) = KeySet::from_jwks(&json!({ "keys": [jwk] })).expect("the JWKS");
        assert!(verify(&token, &keys, &expect, NOW, &InFilter).is_ok());
        group.bench_function(alg, |b| {
            b.iter(|| verify(black_box(&token), &keys, &expect, NOW, &InFilter))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
