//! The authorization endpoint (RFC 6749 §4.1 as OAuth 2.1 tightens it): PKCE with S256 only,
//! exact redirect URI matching, `state`, RFC 9207 `iss` on every response, RFC 8707 `resource`;
//! then the user's login and consent, where the user is offered only what the policies allow
//! and approves or denies each scope. Issued = requested ∩ client configuration ∩ policy ∩
//! consented, decided by the engine.
//!
//! Until the client's redirect URI is known to be registered, errors are shown to the user and
//! never sent anywhere (RFC 6749 §4.1.2.1); after, they go to the client.

use std::collections::HashMap;
use std::net::IpAddr;

use serde_json::{Value, json};
use tollgate_engine::{Auth, Context, Decision, GrantType, Request, Target};

use super::authorization_request::{Prompt, Validated};
use super::browser::Session;
use super::cimd::{CimdError, MetadataDocuments};
use super::error::OAuthError;
use super::params::split_scope;
use super::policy_input::{
    STEP_UP_GRACE_SECONDS, SignInCan, auth_claims, decide_raw, engine_auth, engine_client_of,
    engine_user, user_claims,
};
use super::second_factor;
use super::secrets::{random_id, token_hash};
use super::state::Core;
use super::targets::choose_resource;
use crate::audit::Event;
use crate::config::{ClientConfig, GrantTypeName};
use crate::directory::{Directory, ResourceInfo};
use crate::store::{Kind, TokenRecord};

/// How long an authorization code lives (seconds).
pub const CODE_TTL: i64 = 60;
/// Why an authorization request stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Shown to the user, never redirected: the client or its redirect URI cannot be trusted.
    Page {
        /// HTTP status.
        status: u16,
        /// What went wrong, for the page's title.
        title: &'static str,
        /// The details.
        message: String,
    },
    /// Sent back to the client: the full redirect URL (`error`, `error_description`, `state`,
    /// `iss`).
    Redirect(String),
}

fn page(message: impl Into<String>) -> AuthorizeError {
    AuthorizeError::Page {
        status: 400,
        title: "This sign-in link is not valid",
        message: message.into(),
    }
}

/// `redirect_uri` with `params` and this server's `iss` added to its query (RFC 9207).
pub fn redirect_url(core: &Core, redirect_uri: &str, params: &[(&str, &str)]) -> String {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (k, v) in params {
                    query.append_pair(k, v);
                }
                query.append_pair("iss", &core.issuer);
            }
            url.to_string()
        }
        // Registered redirect URIs are absolute URLs; this is not reached.
        Err(_) => redirect_uri.to_owned(),
    }
}

/// The error redirect for a request whose redirect URI is known.
pub fn error_redirect(
    core: &Core,
    redirect_uri: &str,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> AuthorizeError {
    let mut params = vec![("error", error), ("error_description", description)];
    if let Some(state) = state {
        params.push(("state", state));
    }
    AuthorizeError::Redirect(redirect_url(core, redirect_uri, &params))
}

/// Finds the client of a request: configured or registered, or described by a metadata document.
pub async fn find_client(
    core: &Core,
    directory: &Directory,
    client_id: &str,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<ClientConfig, UnknownClient> {
    if let Some(client) = directory.clients.get(client_id) {
        if client.disabled {
            return Err(UnknownClient::Disabled(client_id.to_owned()));
        }
        return Ok(client.clone());
    }
    if MetadataDocuments::looks_like_url(client_id) {
        return core
            .metadata_documents
            .client(client_id, ip, now)
            .await
            .map_err(UnknownClient::Document);
    }
    Err(UnknownClient::Unknown(client_id.to_owned()))
}

/// Why the client of a request is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnknownClient {
    /// Neither configured nor registered, and not a metadata document URL.
    #[error("unknown client `{0}`")]
    Unknown(String),
    /// A metadata document URL whose document cannot be used.
    #[error(transparent)]
    Document(CimdError),
    /// An administrator disabled the client.
    #[error("the client `{0}` is disabled")]
    Disabled(String),
}

/// Checks an authorization request (its raw query string).
/// `ip` is the caller's address (a metadata document fetched for the request counts against it).
pub async fn validate(
    core: &Core,
    query: &str,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<Validated, AuthorizeError> {
    let mut params: HashMap<String, String> = HashMap::new();
    let mut resources = Vec::new();
    let mut repeated = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k == "resource" {
            resources.push(v.into_owned());
        } else if params.insert(k.to_string(), v.into_owned()).is_some() {
            repeated = Some(k.into_owned());
        }
    }
    let get = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let client_id = get("client_id").ok_or_else(|| page("the request has no client_id"))?;
    let directory = core.directory();
    let client = find_client(core, &directory, client_id, ip, now)
        .await
        .map_err(|e| page(e.to_string()))?;
    let redirect_uri = match get("redirect_uri") {
        Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => uri.to_owned(),
        Some(uri) => {
            return Err(page(format!(
                "`{uri}` is not a redirect URI registered for this client"
            )));
        }
        None => match client.redirect_uris.as_slice() {
            [only] => only.clone(),
            _ => return Err(page("the request has no redirect_uri")),
        },
    };
    let state = get("state").map(str::to_owned);
    let fail = |error: &str, description: &str| {
        error_redirect(core, &redirect_uri, state.as_deref(), error, description)
    };
    if let Some(k) = repeated {
        return Err(fail(
            "invalid_request",
            &format!("the parameter `{k}` appears more than once"),
        ));
    }
    match get("response_type") {
        Some("code") => {}
        Some(other) => {
            return Err(fail(
                "unsupported_response_type",
                &format!("response_type `{other}` is not supported; use `code`"),
            ));
        }
        None => return Err(fail("invalid_request", "the request has no response_type")),
    }
    if !client.may_use(GrantTypeName::AuthorizationCode) {
        return Err(fail(
            "unauthorized_client",
            "this client may not use the authorization code grant",
        ));
    }
    let code_challenge = match (get("code_challenge"), get("code_challenge_method")) {
        (None, _) => {
            return Err(fail(
                "invalid_request",
                "PKCE is required: send code_challenge with code_challenge_method=S256",
            ));
        }
        (Some(_), Some("S256")) => get("code_challenge").unwrap_or_default(),
        (Some(_), None | Some("plain")) => {
            return Err(fail(
                "invalid_request",
                "code_challenge_method must be S256 (plain is not accepted)",
            ));
        }
        (Some(_), Some(other)) => {
            return Err(fail(
                "invalid_request",
                &format!("code_challenge_method `{other}` is not supported; use S256"),
            ));
        }
    };
    // BASE64URL(SHA-256(verifier)) without padding is always 43 characters.
    if code_challenge.len() != 43
        || !code_challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(fail(
            "invalid_request",
            "code_challenge is not a base64url SHA-256 digest",
        ));
    }
    let requested = split_scope(get("scope"));
    let resource = resolve_resource(&directory, &resources, &client, requested.as_deref())
        .map_err(|e| fail("invalid_target", &e.error_description))?;
    let max_age = match get("max_age") {
        None => None,
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            fail(
                "invalid_request",
                "max_age must be a whole number of seconds, 0 or more",
            )
        })?),
    };
    let mut prompt = Prompt::Default;
    for value in get("prompt")
        .unwrap_or_default()
        .split(' ')
        .filter(|v| !v.is_empty())
    {
        prompt = match (value, prompt) {
            ("login", Prompt::Default | Prompt::Login) => Prompt::Login,
            ("none", Prompt::Default | Prompt::None) => Prompt::None,
            ("consent" | "select_account", Prompt::Default | Prompt::Login) => prompt,
            ("login" | "none", _) => {
                return Err(fail(
                    "invalid_request",
                    "prompt=none cannot be combined with another prompt that shows a page",
                ));
            }
            (other, _) => {
                return Err(fail(
                    "invalid_request",
                    &format!("prompt `{other}` is not supported"),
                ));
            }
        };
    }
    Ok(Validated {
        client,
        redirect_uri,
        state,
        code_challenge: code_challenge.to_owned(),
        resource: resource.clone(),
        requested,
        max_age,
        prompt,
    })
}

/// The resource of an authorization request: the one `resource` named (RFC 8707); without one,
/// the client's only configured resource, or the only resource that defines every requested
/// scope.
fn resolve_resource<'d>(
    directory: &'d Directory,
    named: &[String],
    client: &ClientConfig,
    requested: Option<&[String]>,
) -> Result<&'d ResourceInfo, OAuthError> {
    let named: Vec<&str> = named.iter().map(String::as_str).collect();
    choose_resource(directory, &named, client, || {
        let wanted = requested.filter(|w| !w.is_empty())?;
        let mut defining = directory
            .resources
            .values()
            .filter(|r| wanted.iter().all(|w| r.scopes.contains(w)));
        match (defining.next(), defining.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        }
    })
}

/// Why a sign-in failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefused {
    /// The user name or password is not correct.
    Wrong,
    /// Too many failures from this address: try again after this many seconds.
    Throttled(i64),
    /// The password could not be checked: the store is out of reach (nothing is counted
    /// against the user).
    Unavailable,
    /// The password is right, but the user has a second factor and the code is missing, wrong
    /// or used before (counted as a failure).
    Code,
}

/// A signed-in user and how: `pwd`, and `otp` when a second factor was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// The user.
    pub sub: String,
    /// The `amr` values of the sign-in.
    pub methods: Vec<String>,
}

/// Signs a user in by user name (or `sub`) and password, and, when the user has set up a second
/// factor, a one-time `code` (or a recovery code), throttled per user name and address (see
/// [`crate::throttle`]; a wrong code counts as a failure). Unknown users cost the same argon2
/// verification as known ones, so the answer time does not tell which names exist; argon2 runs
/// off the async workers.
pub async fn login(
    core: &Core,
    username: &str,
    password: &str,
    code: Option<&str>,
    ip: Option<std::net::IpAddr>,
    now: i64,
) -> Result<SignedIn, LoginRefused> {
    use crate::throttle::Principal;
    let username = username.get(..username.len().min(256)).unwrap_or_default();
    let principal = Principal::User(username);
    let wait = core.throttle.wait(principal, ip, now);
    if wait > 0 {
        return Err(LoginRefused::Throttled(wait));
    }
    let directory = core.directory();
    let sub = directory
        .users
        .values()
        .find(|u| u.username.as_deref() == Some(username))
        .or_else(|| directory.users.get(username))
        .map(|u| u.sub.clone());
    let hash = match &sub {
        Some(sub) => match core.store.get_secret(Kind::User, sub).await {
            Ok(hash) => hash,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read a user's password hash");
                return Err(LoginRefused::Unavailable);
            }
        },
        None => None,
    };
    // Passwords are checked with argon2 every time (no digest cache as for client secrets), so
    // a user who signed in before answers no faster than one who does not exist.
    let ok = match &hash {
        Some(hash) => core.secrets.argon2(hash, password).await,
        None => {
            let _ = core
                .secrets
                .argon2(crate::directory::decoy_hash(), password)
                .await;
            false
        }
    };
    // The second factor, for a user who set one up: checked only after the password.
    let mut methods = vec!["pwd".to_owned()];
    if ok && let Some(sub) = &sub {
        match second_factor::enrolled(core, sub).await {
            Ok(false) => {}
            Ok(true) => {
                let given = code.map(str::trim).filter(|c| !c.is_empty());
                let verified = match given {
                    Some(given) => second_factor::verify(core, sub, given, now).await,
                    None => Ok(second_factor::Checked::Refused),
                };
                match verified {
                    Ok(second_factor::Checked::Accepted(_)) => methods.push("otp".to_owned()),
                    Ok(
                        checked @ (second_factor::Checked::Refused | second_factor::Checked::Held),
                    ) => {
                        if checked == second_factor::Checked::Held {
                            tracing::warn!(
                                sub = %sub,
                                "a second factor is held after too many wrong codes in a row"
                            );
                        }
                        core.throttle.failed(principal, ip, now);
                        core.audit.record(Event::Login {
                            username: username.to_owned(),
                            sub: None,
                            succeeded: false,
                        });
                        return Err(LoginRefused::Code);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot check a user's second factor");
                        return Err(LoginRefused::Unavailable);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read a user's second factor");
                return Err(LoginRefused::Unavailable);
            }
        }
    }
    if ok {
        core.throttle.succeeded(principal, ip);
    } else {
        core.throttle.failed(principal, ip, now);
    }
    // A name that is no user's may be a password typed in the wrong field: only a digest of it
    // is kept.
    let recorded = if sub.is_some() {
        username.to_owned()
    } else {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(username.as_bytes());
        format!(
            "unknown:{}",
            digest
                .iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
    };
    core.audit.record(Event::Login {
        username: recorded,
        sub: sub.clone().filter(|_| ok),
        succeeded: ok,
    });
    sub.filter(|_| ok)
        .map(|sub| SignedIn { sub, methods })
        .ok_or(LoginRefused::Wrong)
}

/// What the consent page offers: the scopes the policies allow this user and client, and the
/// requested ones they do not.
#[derive(Debug, Clone)]
pub struct Offer {
    /// Allowed, to approve or deny one by one.
    pub offered: Vec<String>,
    /// Requested but not available to this user and client.
    pub unavailable: Vec<String>,
    /// Requested scopes a new password sign-in would make available (a policy gives them only
    /// to a more recent sign-in): the user is asked to sign in again before consenting.
    pub sign_in_again: Vec<String>,
}

/// How the session's user signed in, as the tokens will say it (`auth_time`, `amr`, `acr`).
fn session_claims(session: &Session) -> Option<serde_json::Map<String, Value>> {
    session
        .auth_time
        .map(|auth_time| auth_claims(auth_time, &session.methods))
}

/// How the session's user signed in, for policies, at `now`.
fn session_auth(session: &Session, now: i64) -> Option<Auth> {
    session_claims(session).and_then(|claims| engine_auth(&claims, now))
}

fn decide(
    core: &Core,
    pending: &Validated,
    session: &Session,
    sub: &str,
    consented: Option<Vec<String>>,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<Decision<'static>, AuthorizeError> {
    let directory = core.directory();
    let request = Request {
        grant_type: GrantType::AuthorizationCode,
        client: Some(engine_client_of(&pending.client)),
        user: Some(engine_user(&directory, sub)),
        claims: Some(user_claims(&directory, sub)),
        actor: None,
        subject: None,
        auth: session_auth(session, now),
        target: Target::Resource(pending.resource.id.clone()),
        requested_scopes: pending.requested.clone(),
        consented_scopes: consented,
        context: Some(Context {
            ip,
            time: jiff::Timestamp::from_second(now).ok(),
        }),
        explain: false,
    };
    decide_raw(core, &request, &pending.client.client_id).map_err(|_| AuthorizeError::Page {
        status: 500,
        title: "Something went wrong",
        message: "The server could not decide on this request. Try again later.".into(),
    })
}

/// What to offer the user; when nothing can be consented, the client hears `access_denied`.
/// Requested scopes that a policy gives only to a more recent sign-in, and that a password
/// sign-in now would obtain, are `sign_in_again` (step-up; the caller asks for the password
/// again and comes back). What a password cannot give (a second factor, a level above one
/// factor the user has not set up) stays unavailable: [`SignInCan::reaches`].
pub fn offer(
    core: &Core,
    pending: &Validated,
    session: &Session,
    can: SignInCan,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<Offer, AuthorizeError> {
    let Some(sub) = session.sub.as_deref() else {
        return Err(page(
            "Sign in first: this browser session has no signed-in user.",
        ));
    };
    let decision = decide(core, pending, session, sub, None, ip, now)?;
    let offered: Vec<String> = decision.granted.iter().map(|s| s.to_string()).collect();
    let sign_in_again = sign_in_step_up(&decision, pending, session, can, now);
    if !sign_in_again.is_empty() {
        return Ok(Offer {
            offered,
            unavailable: Vec::new(),
            sign_in_again,
        });
    }
    if offered.is_empty() {
        return Err(error_redirect(
            core,
            &pending.redirect_uri,
            pending.state.as_deref(),
            "access_denied",
            "none of the requested scopes may be granted to this user and client",
        ));
    }
    let unavailable = decision
        .scopes
        .iter()
        .filter(|s| !s.granted)
        .map(|s| s.scope.to_string())
        .collect();
    Ok(Offer {
        offered,
        unavailable,
        sign_in_again: Vec::new(),
    })
}

/// The explicitly requested scopes, refused now, that a password sign-in at `now` would obtain.
/// Empty when the session's sign-in is from this very second (nothing fresher to ask for).
fn sign_in_step_up(
    decision: &Decision<'_>,
    pending: &Validated,
    session: &Session,
    can: SignInCan,
    now: i64,
) -> Vec<String> {
    let Some(requested) = &pending.requested else {
        return Vec::new();
    };
    // Just signed in: nothing fresher to ask for (see `STEP_UP_GRACE_SECONDS`).
    let grace = i64::try_from(STEP_UP_GRACE_SECONDS).unwrap_or(i64::MAX);
    if session
        .auth_time
        .is_some_and(|t| now.saturating_sub(t) < grace)
    {
        return Vec::new();
    }
    can.refused_scopes(decision)
        .into_iter()
        .filter(|scope| requested.iter().any(|r| r == scope))
        .map(str::to_owned)
        .collect()
}

/// The answer of the session's signed-in user: `approved` scopes when `allow`, nothing
/// otherwise. Issues a code for what the engine grants with the approved scopes as consented, or
/// `access_denied` when that is nothing. Returns where to send the browser.
pub async fn consent(
    core: &Core,
    pending: &Validated,
    session: &Session,
    approved: Vec<String>,
    allow: bool,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<String, AuthorizeError> {
    let Some(sub) = session.sub.as_deref() else {
        return Err(page(
            "Sign in first: this browser session has no signed-in user.",
        ));
    };
    let denied = |why: &str| {
        error_redirect(
            core,
            &pending.redirect_uri,
            pending.state.as_deref(),
            "access_denied",
            why,
        )
    };
    // Disabled since the request was made: no code.
    if core
        .directory()
        .clients
        .get(&pending.client.client_id)
        .is_some_and(|c| c.disabled)
    {
        return Err(denied("the client is disabled"));
    }
    if !allow {
        core.audit.record(Event::Consent {
            client_id: pending.client.client_id.clone(),
            sub: sub.to_owned(),
            resource: pending.resource.id.clone(),
            granted: String::new(),
        });
        return Err(denied("the user denied the request"));
    }
    let decision = decide(core, pending, session, sub, Some(approved), ip, now)?;
    let granted: Vec<String> = decision.granted.iter().map(|s| s.to_string()).collect();
    core.audit.record(Event::Consent {
        client_id: pending.client.client_id.clone(),
        sub: sub.to_owned(),
        resource: pending.resource.id.clone(),
        granted: granted.join(" "),
    });
    if granted.is_empty() {
        return Err(denied("the user approved none of the scopes"));
    }
    let code = random_id();
    let id = token_hash(&code);
    let record = TokenRecord {
        id: id.clone(),
        kind: "code".into(),
        client_id: pending.client.client_id.clone(),
        sub: Some(sub.to_owned()),
        family: id,
        grant_type: GrantType::AuthorizationCode.as_str().into(),
        target: json!(pending.resource.id),
        scope: granted.join(" "),
        data: json!({
            "redirect_uri": pending.redirect_uri,
            "code_challenge": pending.code_challenge,
            "auth": session_claims(session),
        }),
        issued_at: now,
        expires_at: now + CODE_TTL,
        used: false,
        revoked: false,
    };
    // A new family of its own: always recorded.
    let _recorded = core.store.insert_token(&record).await.map_err(|e| {
        let unavailable = e.is_unavailable();
        tracing::error!(error = %e, "storing an authorization code failed");
        AuthorizeError::Page {
            status: if unavailable { 503 } else { 500 },
            title: if unavailable {
                "Temporarily unavailable"
            } else {
                "Something went wrong"
            },
            message: "The server could not complete the request. Try again in a moment.".into(),
        }
    })?;
    let mut params = vec![("code", code.as_str())];
    if let Some(state) = &pending.state {
        params.push(("state", state));
    }
    Ok(redirect_url(core, &pending.redirect_uri, &params))
}
