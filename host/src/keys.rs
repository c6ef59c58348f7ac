//! Signing keys: generated on first start and stored, published at `jwks_uri`, rotated with
//! `tollgate keys rotate`. A retired key stays published (and accepted for this server's own
//! tokens) until every token it signed has expired.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::store::{Store, StoreError, StoredKey};

/// A key problem.
#[derive(Debug, Error)]
pub enum KeyError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An unsupported algorithm was asked for.
    #[error("unsupported signing algorithm `{0}`; use `ES256`, `RS256` or `EdDSA`")]
    Algorithm(String),
    /// Key material could not be generated or read.
    #[error("key material: {0}")]
    Material(String),
}

/// The keys in use: the active signing key and every published key.
pub struct KeyRing {
    active_kid: String,
    active_alg: Algorithm,
    encoding: EncodingKey,
    jwks: Value,
    decoding: HashMap<String, (Algorithm, DecodingKey)>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("active_kid", &self.active_kid)
            .finish_non_exhaustive()
    }
}

fn algorithm(name: &str) -> Result<Algorithm, KeyError> {
    match name {
        "ES256" => Ok(Algorithm::ES256),
        "RS256" => Ok(Algorithm::RS256),
        "EdDSA" => Ok(Algorithm::EdDSA),
        other => Err(KeyError::Algorithm(other.to_owned())),
    }
}

fn material(e: impl std::fmt::Display) -> KeyError {
    KeyError::Material(e.to_string())
}

/// Generates a key pair: PKCS#8 PEM and the public JWK (with its RFC 7638 thumbprint as `kid`).
pub fn generate(alg: &str, now: i64) -> Result<StoredKey, KeyError> {
    use p256::pkcs8::EncodePrivateKey as _;
    let mut rng = rand::rngs::OsRng;
    let (pem, mut jwk, thumb_input) = match alg {
        "ES256" => {
            let secret = p256::SecretKey::random(&mut rng);
            let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
                &secret.public_key(),
                false,
            );
            let (x, y) = (
                B64.encode(point.x().ok_or_else(|| material("no x coordinate"))?),
                B64.encode(point.y().ok_or_else(|| material("no y coordinate"))?),
            );
            let pem = secret
                .to_pkcs8_pem(Default::default())
                .map_err(material)?
                .to_string();
            let thumb = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
            (
                pem,
                json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y }),
                thumb,
            )
        }
        "RS256" => {
            use rsa::pkcs8::EncodePrivateKey as _;
            use rsa::traits::PublicKeyParts as _;
            let secret = rsa::RsaPrivateKey::new(&mut rng, 2048).map_err(material)?;
            let (n, e) = (
                B64.encode(secret.n().to_bytes_be()),
                B64.encode(secret.e().to_bytes_be()),
            );
            let pem = secret
                .to_pkcs8_pem(Default::default())
                .map_err(material)?
                .to_string();
            let thumb = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
            (pem, json!({ "kty": "RSA", "n": n, "e": e }), thumb)
        }
        "EdDSA" => {
            use ed25519_dalek::pkcs8::EncodePrivateKey as _;
            let secret = ed25519_dalek::SigningKey::generate(&mut rng);
            let x = B64.encode(secret.verifying_key().as_bytes());
            let pem = secret
                .to_pkcs8_pem(Default::default())
                .map_err(material)?
                .to_string();
            let thumb = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
            (
                pem,
                json!({ "kty": "OKP", "crv": "Ed25519", "x": x }),
                thumb,
            )
        }
        other => return Err(KeyError::Algorithm(other.to_owned())),
    };
    let kid = B64.encode(Sha256::digest(thumb_input.as_bytes()));
    if let Value::Object(map) = &mut jwk {
        map.insert("kid".into(), json!(kid));
        map.insert("alg".into(), json!(alg));
        map.insert("use".into(), json!("sig"));
    }
    Ok(StoredKey {
        kid,
        alg: alg.to_owned(),
        private_pem: pem,
        public_jwk: jwk,
        created_at: now,
        retired_at: None,
    })
}

impl KeyRing {
    /// Loads the stored keys, generating the first one with `alg` when there is none, and dropping
    /// retired keys whose tokens have all expired (`retention` seconds after retirement).
    pub async fn load(
        store: &dyn Store,
        alg: &str,
        now: i64,
        retention: i64,
    ) -> Result<KeyRing, KeyError> {
        algorithm(alg)?;
        store.drop_keys_retired_before(now - retention).await?;
        let mut keys = store.keys().await?;
        if !keys.iter().any(|k| k.retired_at.is_none()) {
            let key = generate(alg, now)?;
            store.rotate_in(key).await?;
            keys = store.keys().await?;
        }
        KeyRing::from_keys(&keys)
    }

    fn from_keys(keys: &[StoredKey]) -> Result<KeyRing, KeyError> {
        let active = keys
            .iter()
            .find(|k| k.retired_at.is_none())
            .ok_or_else(|| material("no active signing key"))?;
        let active_alg = algorithm(&active.alg)?;
        let encoding = match active_alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(active.private_pem.as_bytes()),
            Algorithm::RS256 => EncodingKey::from_rsa_pem(active.private_pem.as_bytes()),
            _ => EncodingKey::from_ed_pem(active.private_pem.as_bytes()),
        }
        .map_err(material)?;
        let mut decoding = HashMap::new();
        for key in keys {
            let jwk: jsonwebtoken::jwk::Jwk =
                serde_json::from_value(key.public_jwk.clone()).map_err(material)?;
            decoding.insert(
                key.kid.clone(),
                (
                    algorithm(&key.alg)?,
                    DecodingKey::from_jwk(&jwk).map_err(material)?,
                ),
            );
        }
        Ok(KeyRing {
            active_kid: active.kid.clone(),
            active_alg,
            encoding,
            jwks: json!({ "keys": keys.iter().map(|k| k.public_jwk.clone()).collect::<Vec<_>>() }),
            decoding,
        })
    }

    /// The JWK Set to publish.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    /// Signs claims as a JWT of the given `typ` with the active key.
    pub fn sign(&self, typ: &str, claims: &Value) -> Result<String, KeyError> {
        let mut header = Header::new(self.active_alg);
        header.kid = Some(self.active_kid.clone());
        header.typ = Some(typ.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(material)
    }

    /// The key that verifies a token this server signed, by the token header's `kid`.
    pub fn decoding_key(&self, kid: &str) -> Option<&(Algorithm, DecodingKey)> {
        self.decoding.get(kid)
    }
}
