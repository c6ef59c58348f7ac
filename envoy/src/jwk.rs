//! Reading a JSON Web Key Set (RFC 7517) into the keys that verify tokens.
//!
//! Three key types, each tied to one algorithm so that a key can never be used with another:
//! `EC` keys on `P-256` verify `ES256`, `RSA` keys of at least 2048 bits verify `RS256`, and `OKP`
//! keys on `Ed25519` verify `EdDSA` (strictly). A member the filter cannot use (another key type or
//! curve, an encryption key, an `alg` that does not fit, a malformed value) is skipped, and the
//! reason kept for the log; a set needs one usable key.
//!
//! Verification needs no randomness: the same code runs natively (tests) and inside the proxy-wasm
//! sandbox.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::pkcs8::EncodePublicKey as _;
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;
use thiserror::Error;

use crate::signature::{Host, Request};

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
    /// The algorithm a JOSE `alg` names, if the filter accepts it.
    pub(crate) fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "ES256" => Some(Algorithm::Es256),
            "RS256" => Some(Algorithm::Rs256),
            "EdDSA" => Some(Algorithm::EdDsa),
            _ => None,
        }
    }
}

/// A public key, ready to verify signatures of its one algorithm.
pub(crate) enum Verifier {
    Es256 {
        key: p256::ecdsa::VerifyingKey,
        /// The key as a DER SubjectPublicKeyInfo, for the proxy's library.
        spki: Box<[u8]>,
    },
    Rs256 {
        key: rsa::pkcs1v15::VerifyingKey<Sha256>,
        /// The key as a DER SubjectPublicKeyInfo, for the proxy's library.
        spki: Box<[u8]>,
        /// The modulus' length in bytes: every signature's length.
        size: usize,
    },
    EdDsa(ed25519_dalek::VerifyingKey),
}

impl Verifier {
    pub(crate) fn algorithm(&self) -> Algorithm {
        match self {
            Verifier::Es256 { .. } => Algorithm::Es256,
            Verifier::Rs256 { .. } => Algorithm::Rs256,
            Verifier::EdDsa(_) => Algorithm::EdDsa,
        }
    }

    /// Whether `signature` (the JWS form: `r || s` for ECDSA) is this key's over `message`. The
    /// signature's form is checked here; the arithmetic is the `host`'s when it offers it
    /// (see [`crate::signature`]), this crate's own otherwise.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8], host: &dyn Host) -> bool {
        use p256::ecdsa::signature::Verifier as _;
        match self {
            Verifier::Es256 { key, spki } => {
                // `r` and `s` each 32 bytes and in 1..n, or no signature at all.
                let Ok(sig) = p256::ecdsa::Signature::from_slice(signature) else {
                    return false;
                };
                let der = sig.to_der();
                let request = Request {
                    key: spki,
                    signature: der.as_bytes(),
                    text: message,
                };
                host.verify_sha256(&request)
                    .unwrap_or_else(|| key.verify(message, &sig).is_ok())
            }
            Verifier::Rs256 { key, spki, size } => {
                if signature.len() != *size {
                    return false;
                }
                let request = Request {
                    key: spki,
                    signature,
                    text: message,
                };
                host.verify_sha256(&request).unwrap_or_else(|| {
                    rsa::pkcs1v15::Signature::try_from(signature)
                        .is_ok_and(|sig| key.verify(message, &sig).is_ok())
                })
            }
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

    /// The keys that may have signed a token of `algorithm` naming `kid`: the one with that
    /// `kid`, or every key of the algorithm when the token names none.
    pub(crate) fn candidates<'a>(
        &'a self,
        algorithm: Algorithm,
        kid: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Verifier> {
        self.keys
            .iter()
            .filter(move |key| key.verifier.algorithm() == algorithm)
            .filter(move |key| kid.is_none() || key.kid.as_deref() == kid)
            .map(|key| &key.verifier)
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
                let spki = key
                    .to_public_key_der()
                    .map_err(|e| format!("the key has no DER form: {e}"))?;
                Verifier::Es256 {
                    key,
                    spki: spki.into_vec().into_boxed_slice(),
                }
            }
            (Some("RSA"), _) => {
                let n = member_bytes("n", jwk.n.as_deref(), None)?;
                let e = member_bytes("e", jwk.e.as_deref(), None)?;
                let key = rsa::RsaPublicKey::new(
                    rsa::BigUint::from_bytes_be(&n),
                    rsa::BigUint::from_bytes_be(&e),
                )
                .map_err(|e| format!("not an RSA public key: {e}"))?;
                let size = rsa::traits::PublicKeyParts::size(&key);
                let bits = size * 8;
                if bits < MIN_RSA_BITS {
                    return Err(format!(
                        "RSA modulus of {bits} bits (at least {MIN_RSA_BITS})"
                    ));
                }
                let spki = key
                    .to_public_key_der()
                    .map_err(|e| format!("the key has no DER form: {e}"))?;
                Verifier::Rs256 {
                    key: rsa::pkcs1v15::VerifyingKey::new(key),
                    spki: spki.into_vec().into_boxed_slice(),
                    size,
                }
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

#[cfg(test)]
mod tests {
    use serde_json::{Map, json};

    use super::*;
    use crate::testing::{eddsa, es256};

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
