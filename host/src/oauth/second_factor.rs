//! A second factor for local users: RFC 6238 time-based one-time codes (HMAC-SHA-1, six digits,
//! 30-second steps, one step either way for clock drift), and ten single-use recovery codes.
//!
//! What a user enrolled is sealed in the vault like a connection credential (AES-256-GCM with the
//! vault key, bound to its row; re-sealed when the vault key rotates), under the reserved
//! connection id [`VAULT_ID`]: the TOTP secret, the SHA-256 digests of the recovery codes not
//! used yet, and the last time step a code was accepted for, so that a code is accepted once
//! (RFC 6238 section 5.2) even across servers (changes are made one at a time per user, in a
//! server and across servers), and the count of wrong codes in a row, shared by every server: ten
//! hold the second factor for a quarter of an hour.
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

/// Wrong codes in a row after which the second factor is held (every code refused) for
/// [`HOLD_SECONDS`]: at six digits and three valid steps, ten guesses have a chance of about 3 in
/// 100,000, and a guesser then waits a quarter of an hour, whatever address it comes from.
const MAX_WRONG_CODES: u32 = 10;
/// How long a second factor is held after [`MAX_WRONG_CODES`].
const HOLD_SECONDS: i64 = 900;

/// Why a second factor cannot be used or set up.
#[derive(Debug, thiserror::Error)]
pub enum SecondFactorError {
    /// The server has no vault key.
    #[error("a second factor needs the vault key (`vault` in the configuration)")]
    NoVault,
    /// Nothing to confirm: no enrolment was started.
    #[error("start setting up the second factor first")]
    NotStarted,
    /// A confirmed second factor exists; it is not replaced here.
    #[error("the user's second factor is already on")]
    AlreadyOn,
    /// The stored row is not a second factor this server can read: the sign-in fails closed.
    #[error("the stored second factor of `{0}` cannot be read")]
    Unreadable(String),
    /// The key could not be turned into an `otpauth` URL or a QR code.
    #[error("the key cannot be shown: {0}")]
    Show(String),
    /// The vault or the store failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The store lock could not be taken.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// What the vault keeps for a user.
#[derive(Clone, Serialize, Deserialize)]
struct Stored {
    /// The TOTP secret, base32.
    secret: String,
    /// Whether the user confirmed the enrolment with a code (until then it does not count).
    confirmed: bool,
    /// SHA-256 (hex) of each recovery code not used yet.
    recovery: Vec<String>,
    /// The last time step a code was accepted for.
    last_step: Option<u64>,
    /// Wrong codes in a row.
    #[serde(default)]
    wrong: u32,
    /// Every code is refused until then (Unix seconds).
    #[serde(default)]
    held_until: Option<i64>,
}

impl std::fmt::Debug for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stored")
            .field("confirmed", &self.confirmed)
            .field("recovery codes left", &self.recovery.len())
            .field("last_step", &self.last_step)
            .field("wrong", &self.wrong)
            .field("held_until", &self.held_until)
            .finish_non_exhaustive()
    }
}

/// An enrolment under way: what the user's authenticator app needs.
#[derive(Clone)]
pub struct Enrolment {
    /// The secret, base32, for typing in.
    pub secret: String,
    /// The `otpauth://` URL.
    pub url: String,
    /// The URL as a QR code, an SVG document.
    pub qr_svg: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment { .. }")
    }
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

/// Changes to one user's second factor happen one at a time: in this server (the mutex; the
/// SQLite store's lock is a no-op) and across servers (the store's named lock).
struct Guard<'c> {
    _local: tokio::sync::MutexGuard<'c, ()>,
    _store: crate::store::ChangeLock,
}

async fn guard<'c>(core: &'c Core, sub: &str) -> Result<Guard<'c>, SecondFactorError> {
    let local = core.second_factor_lock.lock().await;
    let store = core.store.lock(&format!("second-factor:{sub}")).await?;
    Ok(Guard {
        _local: local,
        _store: store,
    })
}

/// The stored second factor; a row that is not one (another kind, unreadable) is an error, so a
/// sign-in fails closed rather than skipping the code.
async fn read(core: &Core, sub: &str) -> Result<Option<Stored>, SecondFactorError> {
    let Some(opened) = vault(core)?
        .get(VAULT_ID, &Owner::User(sub.to_owned()))
        .await?
    else {
        return Ok(None);
    };
    if opened.kind != SecretKind::SecondFactor {
        return Err(SecondFactorError::Unreadable(sub.to_owned()));
    }
    serde_json::from_str(&opened.secret)
        .map(Some)
        .map_err(|_| SecondFactorError::Unreadable(sub.to_owned()))
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
    let issuer = url::Url::parse(&core.issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "Tollgate".to_owned());
    let code = totp(&secret, account, &issuer)
        .ok_or_else(|| SecondFactorError::Show("not a valid TOTP".to_owned()))?;
    let url = code
        .to_url()
        .map_err(|e| SecondFactorError::Show(e.to_string()))?;
    let qr_svg = qrcode::QrCode::new(url.as_bytes())
        .map_err(|e| SecondFactorError::Show(e.to_string()))?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(Enrolment {
        secret,
        url,
        qr_svg,
    })
}

/// Starts (or restarts) an enrolment for a user who has no confirmed second factor: a new
/// secret, stored unconfirmed, shown once. `account` names the user in the authenticator app.
pub async fn begin(
    core: &Core,
    sub: &str,
    account: &str,
    now: i64,
) -> Result<Enrolment, SecondFactorError> {
    let _guard = guard(core, sub).await?;
    if read(core, sub).await?.is_some_and(|s| s.confirmed) {
        return Err(SecondFactorError::AlreadyOn);
    }
    let mut raw = zeroize::Zeroizing::new([0_u8; 20]);
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, raw.as_mut());
    let secret = Secret::from(*raw).to_base32();
    let account = if account.is_empty() { sub } else { account };
    let enrolment = enrolment(core, secret, account)?;
    write(
        core,
        sub,
        &Stored {
            secret: enrolment.secret.clone(),
            confirmed: false,
            recovery: Vec::new(),
            last_step: None,
            wrong: 0,
            held_until: None,
        },
        now,
    )
    .await?;
    Ok(enrolment)
}

/// Removes a user's second factor (an administrator's reset, a deleted user); whether there was
/// one.
pub async fn remove(core: &Core, sub: &str) -> Result<bool, SecondFactorError> {
    let _guard = guard(core, sub).await?;
    Ok(vault(core)?
        .delete(VAULT_ID, &Owner::User(sub.to_owned()))
        .await?)
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

/// Counts a wrong code; at [`MAX_WRONG_CODES`] in a row the second factor is held.
fn count_wrong(stored: &mut Stored, now: i64) {
    stored.wrong = stored.wrong.saturating_add(1);
    if stored.wrong >= MAX_WRONG_CODES {
        stored.wrong = 0;
        stored.held_until = Some(now.saturating_add(HOLD_SECONDS));
    }
}

/// Confirms an enrolment with a code from the app; returns the recovery codes, shown once.
/// `Ok(None)`: the code is wrong.
pub async fn confirm(
    core: &Core,
    sub: &str,
    code: &str,
    now: i64,
) -> Result<Option<Vec<String>>, SecondFactorError> {
    let _guard = guard(core, sub).await?;
    let Some(mut stored) = read(core, sub).await?.filter(|s| !s.confirmed) else {
        return Err(SecondFactorError::NotStarted);
    };
    let Some(step) = check_code(&stored, code, now) else {
        return Ok(None);
    };
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let short: String = random_id()
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

/// The answer to a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// Accepted.
    Accepted(Verified),
    /// Wrong, used before, or no second factor.
    Refused,
    /// Too many wrong codes in a row: every code is refused until the hold ends.
    Held,
}

/// Checks a code (or a recovery code) for a user with a confirmed second factor. A code is
/// accepted once: a code for a time step at or before the last one accepted is refused (RFC 6238
/// section 5.2); a recovery code is used up. Wrong codes in a row are counted in the stored row,
/// so across servers and addresses: at [`MAX_WRONG_CODES`] the second factor is held for
/// [`HOLD_SECONDS`].
pub async fn verify(
    core: &Core,
    sub: &str,
    code: &str,
    now: i64,
) -> Result<Checked, SecondFactorError> {
    let _guard = guard(core, sub).await?;
    let Some(mut stored) = read(core, sub).await?.filter(|s| s.confirmed) else {
        return Ok(Checked::Refused);
    };
    if stored.held_until.is_some_and(|until| now < until) {
        return Ok(Checked::Held);
    }
    let accepted = match check_code(&stored, code, now) {
        Some(step) if stored.last_step.is_none_or(|last| step > last) => {
            stored.last_step = Some(step);
            Some(Verified::Code)
        }
        Some(_) => None,
        None => {
            let given = digest(code);
            let found = stored
                .recovery
                .iter()
                .position(|r| bool::from(r.as_bytes().ct_eq(given.as_bytes())));
            match found {
                Some(i) if code.chars().filter(char::is_ascii_alphanumeric).count() == 10 => {
                    stored.recovery.remove(i);
                    Some(Verified::RecoveryCode)
                }
                _ => None,
            }
        }
    };
    match accepted {
        Some(verified) => {
            stored.wrong = 0;
            stored.held_until = None;
            write(core, sub, &stored, now).await?;
            Ok(Checked::Accepted(verified))
        }
        None => {
            count_wrong(&mut stored, now);
            write(core, sub, &stored, now).await?;
            Ok(if stored.held_until.is_some() {
                Checked::Held
            } else {
                Checked::Refused
            })
        }
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
            wrong: 0,
            held_until: None,
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
    fn ten_wrong_codes_in_a_row_hold_the_second_factor() {
        let mut stored = Stored {
            secret: String::new(),
            confirmed: true,
            recovery: Vec::new(),
            last_step: None,
            wrong: 0,
            held_until: None,
        };
        for _ in 0..9 {
            count_wrong(&mut stored, 1_000);
        }
        assert_eq!(stored.held_until, None);
        count_wrong(&mut stored, 1_000);
        assert_eq!(stored.held_until, Some(1_900));
        assert!(!format!("{stored:?}").contains("secret"));
    }

    #[test]
    fn recovery_codes_compare_without_dashes_or_case() {
        assert_eq!(digest("abcde-12345"), digest("ABCDE12345"));
        assert_ne!(digest("abcde-12345"), digest("abcde-12346"));
    }
}
