//! A second factor for local users: RFC 6238 time-based one-time codes (HMAC-SHA-1, six digits,
//! 30-second steps, one step either way for clock drift), and ten single-use recovery codes.
//!
//! What a user enrolled is sealed in the vault like a connection credential (AES-256-GCM with the
//! vault key, bound to its row; re-sealed when the vault key rotates), under the reserved
//! connection id [`VAULT_ID`]: the TOTP secret, the SHA-256 digests of the recovery codes not
//! used yet, and the last time step a code was accepted for, so that a code is accepted once
//! (RFC 6238 section 5.2) even across servers (changes are made under a store lock per user).
//! Without a vault key there is nowhere to keep a secret sealed, and enrolment is refused.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use totp_rs::{Builder, Secret, Totp};

use super::secrets::random_id;
use super::state::Core;
use crate::store::Source;
use crate::vault::{Credential, Owner, SecretKind, Vault, VaultError};

/// The connection id a second factor is kept under in the vault; `:` keeps it apart from every
/// configured connection id.
pub const VAULT_ID: &str = "tollgate:second-factor";

/// How many recovery codes an enrolment gives.
const RECOVERY_CODES: usize = 10;

/// Why a second factor cannot be used or set up.
#[derive(Debug, thiserror::Error)]
pub enum SecondFactorError {
    /// The server has no vault key.
    #[error("a second factor needs the vault key (`vault` in the configuration)")]
    NoVault,
    /// Nothing to confirm: no enrolment was started.
    #[error("start setting up the second factor first")]
    NotStarted,
    /// The vault or the store failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The store lock could not be taken.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// What the vault keeps for a user.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    /// The TOTP secret, base32.
    secret: String,
    /// Whether the user confirmed the enrolment with a code (until then it does not count).
    confirmed: bool,
    /// SHA-256 (hex) of each recovery code not used yet.
    recovery: Vec<String>,
    /// The last time step a code was accepted for.
    last_step: Option<u64>,
}

/// An enrolment under way: what the user's authenticator app needs.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The secret, base32, for typing in.
    pub secret: String,
    /// The `otpauth://` URL.
    pub url: String,
    /// The URL as a QR code, an SVG document.
    pub qr_svg: String,
}

fn vault(core: &Core) -> Result<&Vault, SecondFactorError> {
    core.vault.as_ref().ok_or(SecondFactorError::NoVault)
}

fn totp(secret: &str, account: &str, issuer: &str) -> Option<Totp> {
    let secret = Secret::try_from_base32(secret).ok()?;
    Builder::new()
        .with_secret(secret)
        .with_account_name(account.replace(':', "_"))
        .with_issuer(Some(issuer.replace(':', "_")))
        .build()
        .ok()
}

async fn read(core: &Core, sub: &str) -> Result<Option<Stored>, SecondFactorError> {
    let Some(opened) = vault(core)?
        .get(VAULT_ID, &Owner::User(sub.to_owned()))
        .await?
    else {
        return Ok(None);
    };
    Ok(serde_json::from_str(&opened.secret).ok())
}

async fn write(core: &Core, sub: &str, stored: &Stored, now: i64) -> Result<(), SecondFactorError> {
    let text = zeroize::Zeroizing::new(serde_json::to_string(stored).unwrap_or_default());
    vault(core)?
        .put(
            VAULT_ID,
            &Owner::User(sub.to_owned()),
            Credential {
                kind: SecretKind::SecondFactor,
                secret: &text,
                scope: None,
                source: Source::Connect,
            },
            now,
        )
        .await?;
    Ok(())
}

/// Whether the user has a confirmed second factor.
pub async fn enrolled(core: &Core, sub: &str) -> Result<bool, SecondFactorError> {
    if core.vault.is_none() {
        return Ok(false);
    }
    Ok(read(core, sub).await?.is_some_and(|s| s.confirmed))
}

/// What the app needs for `secret`: the URL and its QR code.
fn enrolment(core: &Core, secret: String, account: &str) -> Result<Enrolment, SecondFactorError> {
    let issuer = core
        .issuer
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let code = totp(&secret, account, issuer).ok_or(SecondFactorError::NotStarted)?;
    let url = code.to_url().unwrap_or_default();
    let qr_svg = qrcode::QrCode::new(url.as_bytes())
        .map(|qr| {
            qr.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default();
    Ok(Enrolment {
        secret,
        url,
        qr_svg,
    })
}

/// The enrolment under way (started, not confirmed), to show again after a wrong code.
pub async fn pending(
    core: &Core,
    sub: &str,
    account: &str,
) -> Result<Option<Enrolment>, SecondFactorError> {
    match read(core, sub).await?.filter(|s| !s.confirmed) {
        Some(stored) => enrolment(core, stored.secret, account).map(Some),
        None => Ok(None),
    }
}

/// Starts (or restarts) an enrolment for a user who has no confirmed second factor: a new
/// secret, stored unconfirmed. `account` names the user in the authenticator app.
pub async fn begin(
    core: &Core,
    sub: &str,
    account: &str,
    now: i64,
) -> Result<Enrolment, SecondFactorError> {
    let mut raw = zeroize::Zeroizing::new([0_u8; 20]);
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, raw.as_mut());
    let secret = Secret::from(*raw).to_base32();
    let enrolment = enrolment(core, secret, account)?;
    write(
        core,
        sub,
        &Stored {
            secret: enrolment.secret.clone(),
            confirmed: false,
            recovery: Vec::new(),
            last_step: None,
        },
        now,
    )
    .await?;
    Ok(enrolment)
}

fn digest(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Sha256::digest(normal.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The time step a six-digit code is valid for at `now`, one step either way (`None`: wrong).
fn check_code(stored: &Stored, code: &str, now: i64) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let totp = totp(&stored.secret, "user", "tollgate")?;
    totp.check(&code, u64::try_from(now).ok()?)
}

/// Confirms an enrolment with a code from the app; returns the recovery codes, shown once.
/// `Ok(None)`: the code is wrong.
pub async fn confirm(
    core: &Core,
    sub: &str,
    code: &str,
    now: i64,
) -> Result<Option<Vec<String>>, SecondFactorError> {
    let _lock = core.store.lock(&format!("second-factor:{sub}")).await?;
    let Some(mut stored) = read(core, sub).await?.filter(|s| !s.confirmed) else {
        return Err(SecondFactorError::NotStarted);
    };
    let Some(step) = check_code(&stored, code, now) else {
        return Ok(None);
    };
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let id = random_id();
            let short: String = id
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(10)
                .collect::<String>()
                .to_ascii_lowercase();
            format!(
                "{}-{}",
                short.get(..5).unwrap_or_default(),
                short.get(5..).unwrap_or_default()
            )
        })
        .collect();
    stored.confirmed = true;
    stored.recovery = codes.iter().map(|c| digest(c)).collect();
    stored.last_step = Some(step);
    write(core, sub, &stored, now).await?;
    Ok(Some(codes))
}

/// How a second factor was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// A code from the app, not used before.
    Code,
    /// A recovery code, now used up.
    RecoveryCode,
}

/// Checks a code (or a recovery code) for a user with a confirmed second factor. A code is
/// accepted once: a code for a time step at or before the last one accepted is refused (RFC 6238
/// section 5.2). `Ok(None)`: wrong, used before, or no second factor.
pub async fn verify(
    core: &Core,
    sub: &str,
    code: &str,
    now: i64,
) -> Result<Option<Verified>, SecondFactorError> {
    let _lock = core.store.lock(&format!("second-factor:{sub}")).await?;
    let Some(mut stored) = read(core, sub).await?.filter(|s| s.confirmed) else {
        return Ok(None);
    };
    if let Some(step) = check_code(&stored, code, now) {
        if stored.last_step.is_some_and(|last| step <= last) {
            return Ok(None);
        }
        stored.last_step = Some(step);
        write(core, sub, &stored, now).await?;
        return Ok(Some(Verified::Code));
    }
    let given = digest(code);
    let found = stored
        .recovery
        .iter()
        .position(|r| bool::from(r.as_bytes().ct_eq(given.as_bytes())));
    match found {
        Some(i) if code.chars().filter(char::is_ascii_alphanumeric).count() == 10 => {
            stored.recovery.remove(i);
            write(core, sub, &stored, now).await?;
            Ok(Some(Verified::RecoveryCode))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_rfc_6238_sha1_six_digits_thirty_seconds() {
        // RFC 6238 appendix B's SHA-1 secret, "12345678901234567890", in base32.
        let stored = Stored {
            secret: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ".into(),
            confirmed: true,
            recovery: Vec::new(),
            last_step: None,
        };
        // Appendix B at T = 59 s: 94287082 (8 digits); six digits are its last six.
        assert_eq!(check_code(&stored, "287082", 59), Some(1));
        assert_eq!(check_code(&stored, "287 082", 59), Some(1));
        // One step either way.
        assert_eq!(check_code(&stored, "287082", 89), Some(1));
        assert_eq!(check_code(&stored, "287082", 150), None);
        assert_eq!(check_code(&stored, "000000", 59), None);
        assert_eq!(check_code(&stored, "", 59), None);
        assert_eq!(check_code(&stored, "28708", 59), None);
    }

    #[test]
    fn recovery_codes_compare_without_dashes_or_case() {
        assert_eq!(digest("abcde-12345"), digest("ABCDE12345"));
        assert_ne!(digest("abcde-12345"), digest("abcde-12346"));
    }
}
