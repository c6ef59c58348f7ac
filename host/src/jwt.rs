//! Why a JWT was refused, in this server's words: the reasons an `error_description` may give for
//! an assertion, a subject or actor token, or a token presented to the connect flow.
//!
//! The verifying library's own errors never reach a client as they are (`InvalidAudience`,
//! `ExpiredSignature`): [`JwtError::from`] says what each means for the token.

use jsonwebtoken::errors::{Error as LibraryError, ErrorKind};
use thiserror::Error;

/// Why a JWT is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JwtError {
    /// Not three base64url parts with a JSON header and payload.
    #[error("malformed JWT")]
    Malformed,
    /// The header names no key, and the key set has more than one.
    #[error("no `kid`")]
    NoKeyId,
    /// No key of the set has the header's `kid`.
    #[error("no key matches the JWT's `kid`")]
    NoKey,
    /// The key is published for another use than signatures (RFC 7517 §4.2).
    #[error("the key the JWT names is not a signing key (`use`)")]
    NotSigningKey,
    /// The header's `alg` is not the algorithm its key declares or is of.
    #[error("the JWT's `alg` is not the algorithm its key declares")]
    Algorithm,
    /// The key cannot verify anything (a JWK with missing or broken parameters).
    #[error("the key the JWT names is unusable")]
    UnusableKey,
    /// The signature does not verify with the key.
    #[error("the signature does not verify")]
    Signature,
    /// `exp` has passed.
    #[error("expired")]
    Expired,
    /// `nbf` has not come yet.
    #[error("not valid yet (`nbf`)")]
    NotYetValid,
    /// `aud` names none of the audiences this server accepts.
    #[error("meant for another audience (`aud`)")]
    Audience,
    /// `iss` is not the expected issuer.
    #[error("issued by another issuer")]
    Issuer,
    /// A claim the token must carry is missing or not of its type.
    #[error("the claim `{0}` is missing")]
    MissingClaim(String),
    /// A time claim is not a JSON number.
    #[error("`{0}` is not a number")]
    NotANumber(&'static str),
    /// An assertion valid for longer than the server accepts (RFC 7523 §3 item 4).
    #[error("it is valid for more than {0} seconds (`exp` too far ahead)")]
    TooLong(i64),
    /// An assertion issued in the future (`iat`).
    #[error("`iat` is in the future")]
    IssuedInFuture,
    /// The claims are not a JSON object.
    #[error("the claims are not a JSON object")]
    NotAnObject,
    /// The `typ` header says this is not an access token.
    #[error("not an access token")]
    NotAnAccessToken,
    /// The token was revoked.
    #[error("revoked")]
    Revoked,
}

impl From<&LibraryError> for JwtError {
    fn from(e: &LibraryError) -> JwtError {
        match e.kind() {
            ErrorKind::InvalidSignature => JwtError::Signature,
            ErrorKind::ExpiredSignature => JwtError::Expired,
            ErrorKind::ImmatureSignature => JwtError::NotYetValid,
            ErrorKind::InvalidAudience => JwtError::Audience,
            ErrorKind::InvalidIssuer => JwtError::Issuer,
            ErrorKind::MissingRequiredClaim(claim) => JwtError::MissingClaim(claim.clone()),
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => JwtError::Algorithm,
            ErrorKind::InvalidEcdsaKey
            | ErrorKind::InvalidEddsaKey
            | ErrorKind::InvalidRsaKey(_)
            | ErrorKind::InvalidKeyFormat
            | ErrorKind::MissingAlgorithm => JwtError::UnusableKey,
            // The token's structure, its encoding or its JSON; and anything the library may add.
            _ => JwtError::Malformed,
        }
    }
}

impl From<LibraryError> for JwtError {
    fn from(e: LibraryError) -> JwtError {
        JwtError::from(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_library_name_reaches_a_message() {
        for kind in [
            ErrorKind::InvalidSignature,
            ErrorKind::ExpiredSignature,
            ErrorKind::ImmatureSignature,
            ErrorKind::InvalidAudience,
            ErrorKind::InvalidIssuer,
            ErrorKind::InvalidAlgorithm,
            ErrorKind::InvalidToken,
            ErrorKind::InvalidSubject,
            ErrorKind::MissingRequiredClaim("exp".into()),
        ] {
            let message = JwtError::from(LibraryError::from(kind)).to_string();
            assert!(
                message
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .all(|word| !word.starts_with("Invalid") && !word.ends_with("Signature")),
                "{message}"
            );
            assert!(!message.starts_with(char::is_uppercase), "{message}");
        }
        assert_eq!(
            JwtError::from(LibraryError::from(ErrorKind::MissingRequiredClaim(
                "aud".into()
            )))
            .to_string(),
            "the claim `aud` is missing"
        );
    }
}
