//! Signing test tokens natively with fixed keys (unit tests only: the filter itself never signs).

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
