//! Signing keys: generated on first start and stored, published at `jwks_uri`, rotated with
//! `tollgate keys rotate`. A retired key stays published (and accepted for this server's own
//! tokens) until every token it signed has expired.
//!
//! With a vault key configured, private keys are stored sealed with it ([`crate::vault`]), and
//! keys stored before it was configured are sealed at the next start. Without one they are
//! stored as PEM in the owner-only database (0600, see `files.rs`): there is no other secret to
//! seal them with, and one kept next to the database would protect nothing.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::config::SigningAlgorithm;
use crate::jwt::JwtError;
use crate::store::{Store, StoreError, StoredKey};
use crate::vault::{VaultError, VaultKey};

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
    /// A sealed key could not be opened, or a new one sealed.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// How the active key signs.
enum Signer {
    /// ES256 with ring: the key pair parsed once, P-256 with precomputed tables. (jsonwebtoken's
    /// RustCrypto backend re-derives the key pair, a second scalar multiplication, on every
    /// token, and its scalar multiplication has no tables: together 5–10 times the cost.)
    Es256 {
        pair: Box<ring::signature::EcdsaKeyPair>,
        rng: ring::rand::SystemRandom,
    },
    /// RS256 and EdDSA through jsonwebtoken.
    Jwt(EncodingKey),
}

/// The keys in use: the active signing key and every published key.
pub struct KeyRing {
    active_kid: String,
    active_alg: Algorithm,
    signer: Signer,
    jwks: Value,
    decoding: HashMap<String, (Algorithm, DecodingKey)>,
    /// ES256 public keys for ring, by `kid` (uncompressed SEC1 points).
    es256: HashMap<String, ring::signature::UnparsedPublicKey<Vec<u8>>>,
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

/// `tollgate keys rotate` and `POST /admin/keys/rotate`: a new active key of `alg`, sealed with
/// the vault key when there is one; the old key stays published until its tokens expire.
/// Returns the new key's `kid`.
pub async fn rotate(
    store: &dyn Store,
    alg: SigningAlgorithm,
    vault_key: Option<&VaultKey>,
    now: i64,
) -> Result<String, KeyError> {
    // An RSA key takes a good part of a second to generate: not on an async worker.
    let key = tokio::task::spawn_blocking(move || generate(alg, now))
        .await
        .map_err(|e| KeyError::Material(format!("key generation did not finish: {e}")))??;
    let key = as_stored(key, vault_key)?;
    let kid = key.kid.clone();
    store.rotate_in(key).await?;
    Ok(kid)
}

/// Generates a key pair as it is stored: sealed with the vault key when there is one.
pub fn generate_stored(
    alg: SigningAlgorithm,
    now: i64,
    vault_key: Option<&VaultKey>,
) -> Result<StoredKey, KeyError> {
    as_stored(generate(alg, now)?, vault_key)
}

/// A generated key as it is stored: its private key sealed with the vault key when there is one.
fn as_stored(mut key: StoredKey, vault_key: Option<&VaultKey>) -> Result<StoredKey, KeyError> {
    if let Some(vault_key) = vault_key {
        key.private_pem = crate::vault::seal_signing_key(vault_key, &key.kid, &key.private_pem)?;
    }
    Ok(key)
}

/// Generates a key pair: PKCS#8 PEM and the public JWK (with its RFC 7638 thumbprint as `kid`).
pub fn generate(alg: SigningAlgorithm, now: i64) -> Result<StoredKey, KeyError> {
    use p256::pkcs8::EncodePrivateKey as _;
    let mut rng = rand::rngs::OsRng;
    let (pem, mut jwk, thumb_input) = match alg {
        SigningAlgorithm::ES256 => {
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
        SigningAlgorithm::RS256 => {
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
        SigningAlgorithm::EdDSA => {
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
    };
    let kid = B64.encode(Sha256::digest(thumb_input.as_bytes()));
    if let Value::Object(map) = &mut jwk {
        map.insert("kid".into(), json!(kid));
        map.insert("alg".into(), json!(alg.as_str()));
        map.insert("use".into(), json!("sig"));
    }
    Ok(StoredKey {
        kid,
        alg: alg.as_str().to_owned(),
        private_pem: pem,
        public_jwk: jwk,
        created_at: now,
        retired_at: None,
    })
}

impl KeyRing {
    /// Loads the stored keys, generating the first one with `alg` when there is none, and dropping
    /// retired keys whose tokens have all expired (`retention` seconds after retirement). Sealed
    /// keys open with `vault_key`; with one, keys still stored as PEM are sealed first.
    pub async fn load(
        store: &dyn Store,
        alg: SigningAlgorithm,
        now: i64,
        retention: i64,
        vault_key: Option<&VaultKey>,
    ) -> Result<KeyRing, KeyError> {
        store
            .drop_keys_retired_before(now.saturating_sub(retention))
            .await?;
        let mut keys = store.keys().await?;
        if !keys.iter().any(|k| k.retired_at.is_none()) {
            let key = generate_stored(alg, now, vault_key)?;
            store.rotate_in(key).await?;
            keys = store.keys().await?;
        }
        if let Some(vault_key) = vault_key
            && keys
                .iter()
                .any(|k| !crate::vault::is_sealed(&k.private_pem))
        {
            let sealed = crate::vault::seal_signing_keys(vault_key, store).await?;
            tracing::info!(sealed, "sealed stored signing keys with the vault key");
            keys = store.keys().await?;
        }
        KeyRing::from_keys(&keys, vault_key)
    }

    fn from_keys(keys: &[StoredKey], vault_key: Option<&VaultKey>) -> Result<KeyRing, KeyError> {
        let active = keys
            .iter()
            .find(|k| k.retired_at.is_none())
            .ok_or_else(|| material("no active signing key"))?;
        let active_alg = algorithm(&active.alg)?;
        let private_pem =
            crate::vault::open_signing_key(vault_key, &active.kid, &active.private_pem)?;
        let signer = match active_alg {
            Algorithm::ES256 => {
                use p256::pkcs8::DecodePrivateKey as _;
                let secret = p256::SecretKey::from_pkcs8_pem(&private_pem).map_err(material)?;
                let public = secret.public_key().to_sec1_bytes();
                let rng = ring::rand::SystemRandom::new();
                let pair = ring::signature::EcdsaKeyPair::from_private_key_and_public_key(
                    &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    secret.to_bytes().as_slice(),
                    &public,
                    &rng,
                )
                .map_err(material)?;
                Signer::Es256 {
                    pair: Box::new(pair),
                    rng,
                }
            }
            Algorithm::RS256 => {
                Signer::Jwt(EncodingKey::from_rsa_pem(private_pem.as_bytes()).map_err(material)?)
            }
            _ => Signer::Jwt(EncodingKey::from_ed_pem(private_pem.as_bytes()).map_err(material)?),
        };
        let mut decoding = HashMap::new();
        let mut es256 = HashMap::new();
        for key in keys {
            if key.alg == "ES256" {
                let coordinate = |name: &str| {
                    key.public_jwk
                        .get(name)
                        .and_then(Value::as_str)
                        .and_then(|c| B64.decode(c).ok())
                        .filter(|c| c.len() == 32)
                        .ok_or_else(|| {
                            material(format!("key `{}` has no usable `{name}`", key.kid))
                        })
                };
                let mut point = vec![4u8];
                point.extend(coordinate("x")?);
                point.extend(coordinate("y")?);
                es256.insert(
                    key.kid.clone(),
                    ring::signature::UnparsedPublicKey::new(
                        &ring::signature::ECDSA_P256_SHA256_FIXED,
                        point,
                    ),
                );
            }
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
            signer,
            jwks: json!({ "keys": keys.iter().map(|k| k.public_jwk.clone()).collect::<Vec<_>>() }),
            decoding,
            es256,
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
        match &self.signer {
            Signer::Jwt(key) => jsonwebtoken::encode(&header, claims, key).map_err(material),
            Signer::Es256 { pair, rng } => {
                // RFC 7515 compact serialization: the signing input, then the signature (r || s).
                let mut token = B64.encode(serde_json::to_vec(&header).map_err(material)?);
                token.push('.');
                token.push_str(&B64.encode(serde_json::to_vec(claims).map_err(material)?));
                let signature = pair.sign(rng, token.as_bytes()).map_err(material)?;
                token.push('.');
                token.push_str(&B64.encode(signature.as_ref()));
                Ok(token)
            }
        }
    }

    /// Checks the signature of a token this server signed: the key is picked by the header's
    /// `kid` and must be of the header's `alg`. Returns the header and the claims; checking the
    /// claims (issuer, expiry, …) is the caller's.
    pub fn verify_signature(&self, token: &str) -> Result<(Header, Value), JwtError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Malformed)?;
        let kid = header.kid.as_deref().ok_or(JwtError::NoKeyId)?;
        let (alg, key) = self.decoding.get(kid).ok_or(JwtError::NoKey)?;
        if header.alg != *alg {
            return Err(JwtError::Algorithm);
        }
        let claims = match self.es256.get(kid) {
            Some(public) => {
                let mut parts = token.split('.');
                let (Some(h), Some(p), Some(sig), None) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                else {
                    return Err(JwtError::Malformed);
                };
                let signature = B64.decode(sig).map_err(|_| JwtError::Malformed)?;
                let signed = token
                    .get(..h.len() + 1 + p.len())
                    .ok_or(JwtError::Malformed)?;
                public
                    .verify(signed.as_bytes(), &signature)
                    .map_err(|_| JwtError::Signature)?;
                let payload = B64.decode(p).map_err(|_| JwtError::Malformed)?;
                serde_json::from_slice::<Value>(&payload).map_err(|_| JwtError::Malformed)?
            }
            None => {
                let mut validation = jsonwebtoken::Validation::new(*alg);
                validation.validate_exp = false;
                validation.validate_aud = false;
                validation.set_required_spec_claims::<&str>(&[]);
                jsonwebtoken::decode::<Value>(token, key, &validation)
                    .map_err(JwtError::from)?
                    .claims
            }
        };
        if !claims.is_object() {
            return Err(JwtError::NotAnObject);
        }
        Ok((header, claims))
    }
}
