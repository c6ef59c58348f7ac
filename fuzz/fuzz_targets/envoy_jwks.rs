//! The Envoy filter's JWK Set reader (`KeySet::parse`, a fetched `jwks_uri` body): any bytes,
//! and every key it accepts must then verify (or refuse) a token without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_envoy::jwk::KeySet;
use tollgate_envoy::jwt::{Expect, verify};

const TOKENS: [&str; 3] = [
    // ES256, RS256-shaped and EdDSA-shaped headers over a small payload, with junk signatures.
    "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJpIiwiYXVkIjoiYSIsImV4cCI6OX0.AAAA",
    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJpIiwiYXVkIjoiYSIsImV4cCI6OX0.AAAA",
    "eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJpIiwiYXVkIjoiYSIsImV4cCI6OX0.AAAA",
];

fuzz_target!(|data: &[u8]| {
    let Ok((set, skipped)) = KeySet::parse(data) else {
        return;
    };
    assert!(!set.is_empty());
    for s in &skipped {
        assert!(!s.to_string().is_empty());
    }
    let audiences = vec!["a".to_owned()];
    let expect = Expect { issuer: "i", audiences: &audiences, clock_skew_seconds: 0 };
    for token in TOKENS {
        assert!(verify(token, &set, &expect, 0).is_err());
    }
});
