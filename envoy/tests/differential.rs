//! Differential test: the filter's verifier against tokens signed by `jsonwebtoken` (RustCrypto
//! backend), the crate the Tollgate server itself signs and verifies with. Tokens with random
//! claims of each algorithm (RS256, ES256, EdDSA) must verify; tampered payloads, truncated,
//! extended, zero and out-of-range signatures and other keys' signatures must be refused. On every case both
//! verifiers give an answer, and the answers must agree, with one exception that is asserted as
//! such: a JWKS holding a small-order ("weak") Ed25519 key, which `jsonwebtoken` trusts and the
//! filter's strict verification does not. Every token is also checked through the forms the
//! filter hands to Envoy's crypto library for RSA and ECDSA (`signature::ReadBack`), which must
//! give the filter's own answer; `tests/e2e/envoy.sh` sends the same kinds of signature to a
//! real Envoy.
//!
//! ECDSA signatures are malleable: if `(r, s)` is a valid P-256 signature, so is `(r, n - s)`.
//! Both verifiers accept either form (RFC 7518 asks for no low-S rule, unlike Bitcoin's
//! secp256k1). That is acceptable for bearer tokens: the variant can only be made from a genuine
//! token and carries the same claims under the same key, so it grants nothing the holder did not
//! already have. What it changes is the token's text, so nothing may identify a token by its
//! bytes for a security decision (a deny list must use `jti`); the filter's cache keys by the
//! text only to skip a signature check, and a variant just costs one more check and one more
//! cache entry.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a broken set-up fails the test"
)]

use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use proptest::prelude::*;
use serde_json::{Value, json};
use tollgate_envoy::jwk::KeySet;
use tollgate_envoy::jwt::{Expect, TokenError, verify};
use tollgate_envoy::signature::{Host, InFilter, ReadBack};

const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "https://api.example.com";
const LEEWAY: u64 = 60;

/// The order n of P-256's base point, big-endian.
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// The order L of Ed25519's base point, little-endian (as Ed25519 writes its scalars).
const ED25519_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

/// One signing key: how `jsonwebtoken` signs and verifies with it, and its public JWK.
struct Signer {
    alg: Algorithm,
    kid: &'static str,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Value,
}

fn rsa_signer(kid: &'static str, pem: &str) -> Signer {
    use rsa::pkcs8::DecodePrivateKey as _;
    use rsa::traits::PublicKeyParts as _;
    let public = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
        .expect("RSA test key")
        .to_public_key();
    let n = B64.encode(public.n().to_bytes_be());
    let e = B64.encode(public.e().to_bytes_be());
    Signer {
        alg: Algorithm::RS256,
        kid,
        encoding: EncodingKey::from_rsa_pem(pem.as_bytes()).expect("RSA PEM"),
        decoding: DecodingKey::from_rsa_components(&n, &e).expect("RSA components"),
        jwk: json!({ "kty": "RSA", "kid": kid, "alg": "RS256", "n": n, "e": e }),
    }
}

fn es256_signer(kid: &'static str, scalar: u8) -> Signer {
    use p256::pkcs8::{EncodePrivateKey as _, LineEnding};
    let key = p256::ecdsa::SigningKey::from_slice(&[scalar; 32]).expect("P-256 scalar");
    let pem = key.to_pkcs8_pem(LineEnding::LF).expect("PKCS#8");
    let point = key.verifying_key().to_encoded_point(false);
    let x = B64.encode(point.x().expect("x"));
    let y = B64.encode(point.y().expect("y"));
    Signer {
        alg: Algorithm::ES256,
        kid,
        encoding: EncodingKey::from_ec_pem(pem.as_bytes()).expect("EC PEM"),
        decoding: DecodingKey::from_ec_components(&x, &y).expect("EC components"),
        jwk: json!({ "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "x": x, "y": y }),
    }
}

fn eddsa_signer(kid: &'static str, seed: u8) -> Signer {
    use ed25519_dalek::pkcs8::{EncodePrivateKey as _, spki::der::pem::LineEnding};
    let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
    let pem = key.to_pkcs8_pem(LineEnding::LF).expect("PKCS#8");
    let x = B64.encode(key.verifying_key().as_bytes());
    Signer {
        alg: Algorithm::EdDSA,
        kid,
        encoding: EncodingKey::from_ed_pem(pem.as_bytes()).expect("Ed25519 PEM"),
        decoding: DecodingKey::from_ed_components(&x).expect("Ed25519 components"),
        jwk: json!({ "kty": "OKP", "crv": "Ed25519", "kid": kid, "x": x }),
    }
}

const RSA_PEM: &str = include_str!("../src/testdata/rsa-test-key.pem");

/// The keys in the JWKS, one per algorithm.
static SIGNERS: LazyLock<[Signer; 3]> = LazyLock::new(|| {
    [
        rsa_signer("rsa", RSA_PEM),
        es256_signer("ec", 0x11),
        eddsa_signer("ed", 0x22),
    ]
});

/// Keys of the same algorithms under the same `kid`s that are not in the JWKS.
static IMPOSTORS: LazyLock<[Signer; 3]> = LazyLock::new(|| {
    [
        rsa_signer(
            "rsa",
            include_str!("../src/testdata/rsa-other-test-key.pem"),
        ),
        es256_signer("ec", 0x12),
        eddsa_signer("ed", 0x23),
    ]
});

static KEYS: LazyLock<KeySet> = LazyLock::new(|| {
    let jwks = json!({ "keys": SIGNERS.iter().map(|s| s.jwk.clone()).collect::<Vec<_>>() });
    let (set, skipped) = KeySet::from_jwks(&jwks).expect("key set");
    assert!(skipped.is_empty(), "{skipped:?}");
    set
});

fn now() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    i64::try_from(since.as_secs()).expect("seconds")
}

/// The filter's answer, checked in its own code; the same token checked through the forms handed
/// to a proxy's library (`signature::ReadBack`) must get the same answer.
fn ours(token: &str, keys: &KeySet, now: i64) -> Result<Value, TokenError> {
    let audiences = vec![AUDIENCE.to_owned()];
    let expect = Expect {
        issuer: ISSUER,
        audiences: &audiences,
        clock_skew_seconds: LEEWAY,
    };
    let answer =
        |host: &dyn Host| verify(token, keys, &expect, now, host).map(|v| Value::Object(v.claims));
    let own = answer(&InFilter);
    let read_back = ReadBack::default();
    assert_eq!(answer(&read_back), own, "the proxy's forms of {token}");
    assert_eq!(
        read_back.unreadable(),
        0,
        "a form of {token} the proxy could not read"
    );
    own
}

/// jsonwebtoken's answer, with the same expectations (it reads the clock itself).
fn theirs(token: &str, signer: &Signer) -> Result<Value, jsonwebtoken::errors::Error> {
    let mut validation = Validation::new(signer.alg);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.leeway = LEEWAY;
    validation.validate_nbf = true;
    jsonwebtoken::decode::<Value>(token, &signer.decoding, &validation).map(|data| data.claims)
}

fn sign(signer: &Signer, claims: &Value) -> String {
    let mut header = Header::new(signer.alg);
    header.kid = Some(signer.kid.to_owned());
    jsonwebtoken::encode(&header, claims, &signer.encoding).expect("jsonwebtoken signs")
}

fn signature_of(token: &str) -> Vec<u8> {
    let (_, signature) = token.rsplit_once('.').expect("three parts");
    B64.decode(signature).expect("base64url signature")
}

fn with_signature(token: &str, signature: &[u8]) -> String {
    let (input, _) = token.rsplit_once('.').expect("three parts");
    format!("{input}.{}", B64.encode(signature))
}

fn with_payload(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let payload = B64.encode(claims.to_string());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

/// Both verifiers refuse `token`, the filter for its signature.
fn both_refuse_the_signature(token: &str, signer: &Signer, what: &str) {
    assert_eq!(
        ours(token, &KEYS, now()),
        Err(TokenError::Signature),
        "{what}: {token}"
    );
    assert!(
        theirs(token, signer).is_err(),
        "{what}: jsonwebtoken accepted {token}"
    );
}

/// Signatures of the right algorithm that are not the key's over the input.
fn bad_signatures(signer: &Signer, genuine: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut bad = vec![
        ("empty".to_owned(), Vec::new()),
        ("zero".to_owned(), vec![0; genuine.len()]),
        (
            "truncated".to_owned(),
            genuine[..genuine.len() - 1].to_vec(),
        ),
        ("extended".to_owned(), [genuine, &[0]].concat()),
        ("a leading zero".to_owned(), [&[0], genuine].concat()),
        ("doubled".to_owned(), genuine.repeat(2)),
    ];
    for at in [0, genuine.len() / 2, genuine.len() - 1] {
        let mut flipped = genuine.to_vec();
        flipped[at] ^= 0x01;
        bad.push((format!("bit flipped at {at}"), flipped));
    }
    match signer.alg {
        Algorithm::ES256 => {
            let (r, s) = genuine.split_at(32);
            let ones = [0xff; 32];
            for (what, r, s) in [
                ("r = 0", &[0; 32][..], s),
                ("s = 0", r, &[0; 32][..]),
                ("r = n", &P256_ORDER[..], s),
                ("s = n", r, &P256_ORDER[..]),
                ("r = 2^256 - 1", &ones[..], s),
                ("s = 2^256 - 1", r, &ones[..]),
                ("r and s swapped", s, r),
            ] {
                bad.push((what.to_owned(), [r, s].concat()));
            }
        }
        Algorithm::EdDSA => {
            // S + L: the same scalar, not reduced. RFC 8032 requires S < L.
            let (r, s) = genuine.split_at(32);
            let mut unreduced = [0u8; 32];
            let mut carry = 0u16;
            for i in 0..32 {
                let sum = u16::from(s[i]) + u16::from(ED25519_ORDER[i]) + carry;
                unreduced[i] = sum.to_le_bytes()[0];
                carry = sum >> 8;
            }
            assert_eq!(carry, 0);
            bad.push(("S + L".to_owned(), [r, &unreduced[..]].concat()));
        }
        _ => {
            // RSA: the modulus itself and n - 1 are out of range or garbage; a signature must be
            // exactly as long as the modulus.
            let n = B64
                .decode(signer.jwk["n"].as_str().expect("n"))
                .expect("n bytes");
            bad.push(("the modulus".to_owned(), n.clone()));
            let mut below = n;
            if let Some(last) = below.last_mut() {
                *last = last.wrapping_sub(1);
            }
            bad.push(("n - 1".to_owned(), below));
        }
    }
    bad
}

/// The high-S and low-S forms of an ES256 signature: `(r, s)` and `(r, n - s)`, low first.
fn both_s_forms(genuine: &[u8]) -> [Vec<u8>; 2] {
    use p256::elliptic_curve::PrimeField as _;
    let signature = p256::ecdsa::Signature::from_slice(genuine).expect("ES256 signature");
    let low = signature.normalize_s().unwrap_or(signature);
    let (r, s) = low.split_scalars();
    let high = p256::ecdsa::Signature::from_scalars(r.to_repr(), (-*s).to_repr())
        .expect("n - s is in range");
    assert!(high.normalize_s().is_some(), "n - s of a low s is high");
    [low.to_vec(), high.to_vec()]
}

/// Seconds from now, well away from the edge of the leeway: at exactly `exp + leeway` the two
/// differ by design (the filter refuses from that second on, jsonwebtoken one second later).
fn offset() -> impl Strategy<Value = i64> {
    const EDGE: i64 = LEEWAY as i64 + 10;
    prop_oneof![-86_400..-EDGE, EDGE..86_400]
}

/// Claims the two verifiers read alike: `iss` and `aud` as expected, string claims without
/// control characters (the filter refuses those in claims it forwards), `exp` and `nbf` in the
/// past or the future.
fn claims() -> impl Strategy<Value = Value> {
    (
        "[a-z0-9-]{1,24}",
        "[a-z0-9-]{1,24}",
        prop::collection::vec("[a-z]{1,8}(:[a-z]{1,8})?", 0..5),
        offset(),
        prop::option::of(offset()),
        "\\PC{0,32}",
        any::<i32>(),
        any::<bool>(),
    )
        .prop_map(
            |(sub, client_id, scopes, exp_in, nbf_in, note, number, flag)| {
                let now = now();
                let mut claims = json!({
                    "iss": ISSUER, "aud": AUDIENCE, "sub": sub, "client_id": client_id,
                    "scope": scopes.join(" "), "iat": now, "exp": now + exp_in,
                    "note": note, "n": number, "flag": flag,
                });
                if let Some(nbf_in) = nbf_in {
                    claims["nbf"] = json!(now + nbf_in);
                }
                claims
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Every algorithm: the two agree on tokens with random claims (valid or expired or not yet
    /// valid), refuse the same tokens with their payload replaced or their signature damaged,
    /// and refuse the same tokens signed by a key that is not in the set.
    #[test]
    fn agree_with_jsonwebtoken(claims in claims(), which in 0usize..3) {
        let signer = &SIGNERS[which];
        let token = sign(signer, &claims);
        let (mine, reference) = (ours(&token, &KEYS, now()), theirs(&token, signer));
        prop_assert_eq!(mine.is_ok(), reference.is_ok(), "{:?} / {:?}", mine, reference);
        if let (Ok(mine), Ok(reference)) = (&mine, &reference) {
            prop_assert_eq!(mine, reference);
            prop_assert_eq!(mine, &claims);
        }

        let mut forged = claims.clone();
        forged["scope"] = json!("admin");
        both_refuse_the_signature(&with_payload(&token, &forged), signer, "payload replaced");

        let genuine = signature_of(&token);
        for (what, signature) in bad_signatures(signer, &genuine) {
            both_refuse_the_signature(&with_signature(&token, &signature), signer, &what);
        }

        let impostor = &IMPOSTORS[which];
        let foreign = sign(impostor, &claims);
        both_refuse_the_signature(&foreign, signer, "another key");
    }

    /// ES256 in both S forms verifies with both, as long as the claims do.
    #[test]
    fn ecdsa_high_and_low_s_both_verify(claims in claims()) {
        let signer = &SIGNERS[1];
        let token = sign(signer, &claims);
        let expected = ours(&token, &KEYS, now()).is_ok();
        for form in both_s_forms(&signature_of(&token)) {
            let token = with_signature(&token, &form);
            prop_assert_eq!(ours(&token, &KEYS, now()).is_ok(), expected);
            prop_assert_eq!(theirs(&token, signer).is_ok(), expected);
        }
    }
}

#[test]
fn valid_tokens_of_every_algorithm_verify() {
    let claims = json!({ "iss": ISSUER, "aud": AUDIENCE, "sub": "u-1", "exp": now() + 600 });
    for signer in SIGNERS.iter() {
        let token = sign(signer, &claims);
        assert_eq!(ours(&token, &KEYS, now()).as_ref(), Ok(&claims), "{token}");
        assert_eq!(theirs(&token, signer).ok().as_ref(), Some(&claims));
    }
}

/// The one known disagreement. An Ed25519 public key of small order (here the identity point)
/// lets anyone forge a signature that the plain Ed25519 equation accepts for every message:
/// R the identity and S zero. jsonwebtoken verifies with `VerifyingKey::verify` and accepts it;
/// the filter verifies with `verify_strict`, which refuses small-order keys and R.
#[test]
fn weak_ed25519_key_is_refused_where_jsonwebtoken_accepts() {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let x = B64.encode(identity);
    let keys = KeySet::from_jwks(&json!({ "keys": [
        { "kty": "OKP", "crv": "Ed25519", "kid": "weak", "x": x },
    ] }))
    .expect("the JWK itself is well-formed")
    .0;
    let claims = json!({ "iss": ISSUER, "aud": AUDIENCE, "scope": "admin", "exp": now() + 600 });
    let header = B64.encode(r#"{"alg":"EdDSA","kid":"weak","typ":"JWT"}"#);
    let payload = B64.encode(claims.to_string());
    let forged = format!(
        "{header}.{payload}.{}",
        B64.encode([&identity[..], &[0; 32]].concat())
    );

    assert_eq!(ours(&forged, &keys, now()), Err(TokenError::Signature));
    let weak = Signer {
        alg: Algorithm::EdDSA,
        kid: "weak",
        encoding: EncodingKey::from_ed_der(&[]),
        decoding: DecodingKey::from_ed_components(&x).expect("Ed25519 components"),
        jwk: Value::Null,
    };
    assert_eq!(theirs(&forged, &weak).ok().as_ref(), Some(&claims));
}
