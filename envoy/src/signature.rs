//! Signature checks handed to the proxy's own crypto library.
//!
//! Envoy lends its BoringSSL to wasm filters through the foreign function `verify_signature`
//! (`source/extensions/common/wasm/foreign.cc` in Envoy; 1.40 in the tests): a protobuf
//! `VerifySignatureArguments` in (the digest's name, the public key as a DER
//! SubjectPublicKeyInfo, the signature, the signed text), a `VerifySignatureResult` out. RSA
//! PKCS #1 v1.5 and ECDSA then run as native code instead of as big-integer and field arithmetic
//! compiled to wasm, which V8 runs about ten times slower (BENCHMARKS.md §5). Ed25519 cannot go
//! this way: the function always names a digest, which Ed25519 in BoringSSL refuses, so `EdDSA`
//! tokens are always checked in the filter.
//!
//! The filter decides what may reach the proxy: [`crate::jwk`] checks each signature's form first
//! (ECDSA `r` and `s` in `1..n`, then encoded as DER; an RSA signature exactly as long as the
//! modulus), so a malformed signature is refused by the same code whichever side checks it. A
//! proxy without the function (another proxy-wasm host, an older Envoy), or one that refuses the
//! arguments (Envoy answers `BadArgument` for a key it cannot import), leaves the check to the
//! filter's own code, which stays the reference. The unit and differential tests run every token
//! through the filter's code and through the forms a proxy gets, read back with RustCrypto
//! ([`ReadBack`]); BoringSSL itself is exercised by `tests/e2e/envoy.sh` against a real Envoy,
//! with valid and malformed signatures of every algorithm on both paths. Only public data crosses
//! (keys, signatures, the signed token parts), so nothing here needs constant time.

/// One signature for the proxy to check, with SHA-256 as the digest.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The public key: a DER SubjectPublicKeyInfo (RFC 5280), built once per JWK.
    pub key: &'a [u8],
    /// The signature as the library reads it: the RSA signature's bytes, or for ECDSA the DER
    /// `ECDSA-Sig-Value` (RFC 3279) of the JWS `r || s`.
    pub signature: &'a [u8],
    /// The signed text: the token's first two parts and the dot between them.
    pub text: &'a [u8],
}

/// Where the filter can have a signature checked outside its own code.
pub trait Host {
    /// `Some(valid)` when the host checked the signature; `None` when it cannot, and the filter
    /// checks it itself.
    fn verify_sha256(&self, request: &Request<'_>) -> Option<bool>;
}

/// No host: every signature is checked in the filter's own code (natively in the tests, and in
/// the proxy with `"signatures": "filter"`).
#[derive(Debug, Clone, Copy, Default)]
pub struct InFilter;

impl Host for InFilter {
    fn verify_sha256(&self, _request: &Request<'_>) -> Option<bool> {
        None
    }
}

/// A [`Host`] that reads the forms handed to a proxy (the DER SubjectPublicKeyInfo, the DER
/// ECDSA signature) with RustCrypto, the way a proxy's library reads them, and counts its calls
/// and the requests it could not read. The tests' reference for what reaches a proxy: every token
/// checked through it must get the answer the filter's own code gives, and every request must
/// read (an unreadable one would fall back to the filter and hide the encoding bug).
#[derive(Debug, Default)]
pub struct ReadBack {
    calls: std::cell::Cell<usize>,
    unreadable: std::cell::Cell<usize>,
}

impl ReadBack {
    /// How many signatures it was asked to check.
    pub fn calls(&self) -> usize {
        self.calls.get()
    }

    /// How many of those it could not read (a key or signature that is not the DER it should be).
    pub fn unreadable(&self) -> usize {
        self.unreadable.get()
    }

    fn read(request: &Request<'_>) -> Option<bool> {
        use p256::ecdsa::signature::Verifier as _;
        use p256::pkcs8::DecodePublicKey as _;
        if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(request.key) {
            let signature = p256::ecdsa::Signature::from_der(request.signature).ok()?;
            return Some(key.verify(request.text, &signature).is_ok());
        }
        let key = rsa::RsaPublicKey::from_public_key_der(request.key).ok()?;
        let key = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key);
        let signature = rsa::pkcs1v15::Signature::try_from(request.signature).ok()?;
        Some(key.verify(request.text, &signature).is_ok())
    }
}

impl Host for ReadBack {
    fn verify_sha256(&self, request: &Request<'_>) -> Option<bool> {
        self.calls.set(self.calls.get() + 1);
        let answer = ReadBack::read(request);
        if answer.is_none() {
            self.unreadable.set(self.unreadable.get() + 1);
        }
        answer
    }
}

/// The foreign function's name in Envoy.
pub const FOREIGN_FUNCTION: &str = "verify_signature";

/// `VerifySignatureArguments` (Envoy's `source/extensions/common/wasm/ext/verify_signature.proto`).
/// Field 5, `public_key_pem`, is the alternative to `public_key` and never sent.
#[derive(Clone, PartialEq, prost::Message)]
struct VerifySignatureArguments {
    #[prost(string, tag = "1")]
    hash_function: String,
    #[prost(bytes = "vec", tag = "2")]
    public_key: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    signature: Vec<u8>,
    #[prost(bytes = "vec", tag = "4")]
    text: Vec<u8>,
}

/// `VerifySignatureResult`: whether the signature is valid, and the library's reason when not.
#[derive(Clone, PartialEq, prost::Message)]
struct VerifySignatureResult {
    #[prost(bool, tag = "1")]
    result: bool,
    #[prost(string, tag = "2")]
    error: String,
}

/// The foreign function's arguments for `request`.
pub fn encode_arguments(request: &Request<'_>) -> Vec<u8> {
    prost::Message::encode_to_vec(&VerifySignatureArguments {
        hash_function: "sha256".to_owned(),
        public_key: request.key.to_vec(),
        signature: request.signature.to_vec(),
        text: request.text.to_vec(),
    })
}

/// What the foreign function answered: `Ok(valid)`, with the library's reason for an invalid
/// signature (empty when it gave none), or `Err` when the answer is not a
/// `VerifySignatureResult`. An empty answer is the message with every field at its default:
/// not valid.
pub fn decode_result(bytes: &[u8]) -> Result<(bool, String), prost::DecodeError> {
    let result: VerifySignatureResult = prost::Message::decode(bytes)?;
    Ok((result.result, result.error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_the_envoy_message() {
        let request = Request {
            key: b"KEY",
            signature: b"SIG",
            text: b"a.b",
        };
        // Each field as protobuf writes it: tag (field << 3 | 2, length-delimited), length, bytes.
        let expected = [
            &[0x0a, 6][..],
            b"sha256",
            &[0x12, 3],
            b"KEY",
            &[0x1a, 3],
            b"SIG",
            &[0x22, 3],
            b"a.b",
        ]
        .concat();
        assert_eq!(encode_arguments(&request), expected);
    }

    #[test]
    fn results_read() {
        assert_eq!(decode_result(&[0x08, 1]).unwrap(), (true, String::new()));
        let refused = [&[0x12, 4][..], b"nope"].concat();
        assert_eq!(decode_result(&refused).unwrap(), (false, "nope".to_owned()));
        assert_eq!(decode_result(&[]).unwrap(), (false, String::new()));
        assert!(decode_result(&[0x12, 9, b'x']).is_err());
    }
}
