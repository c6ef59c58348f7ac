//! The browser session cookie, and the checks on every posted form: the session exists, the
//! form's CSRF token is the session's, and the `Origin` header (when sent) is this server.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use subtle::ConstantTimeEq as _;

use super::html::{expired, message_page, store_failed};
use super::http::media_type;
use super::state::AppState;
use crate::oauth::browser::Session;
use crate::oauth::state::Core;

/// The session cookie's name.
const COOKIE: &str = "tollgate_session";

/// The value of cookie `name`, when the request sends a non-empty one.
pub(super) fn cookie_named<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    cookie_named(headers, COOKIE).map(str::to_owned)
}

/// The browser's session (its cookie value and the session), while it lasts; the error page when
/// the store cannot say.
pub(super) async fn browser_session(
    core: &Core,
    headers: &HeaderMap,
    now: i64,
) -> Result<Option<(String, Session)>, Response> {
    let Some(cookie) = cookie_value(headers) else {
        return Ok(None);
    };
    match core.browser.session(&cookie, now).await {
        Ok(session) => Ok(session.map(|s| (cookie, s))),
        Err(e) => Err(store_failed(&e)),
    }
}

pub(super) fn set_cookie(state: &AppState, response: &mut Response, value: &str, max_age: i64) {
    let secure = if state.core.issuer.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie =
        format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The issuer's origin (`scheme://host[:port]`), which a form post's `Origin` must be.
pub(super) fn issuer_origin(issuer: &str) -> String {
    url::Url::parse(issuer)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// A posted form's session, checked: the cookie's session exists, the form's CSRF token is the
/// session's, and the `Origin` header (when sent) is this server.
pub(super) async fn checked_session(
    state: &AppState,
    headers: &HeaderMap,
    form: &Form,
    now: i64,
) -> Result<(String, Session), Response> {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
        && origin != issuer_origin(&state.core.issuer)
    {
        return Err(message_page(
            403,
            "This form came from another site",
            "The request was refused to protect your account.",
        ));
    }
    let cookie = cookie_value(headers).ok_or_else(expired)?;
    let session = state
        .core
        .browser
        .session(&cookie, now)
        .await
        .map_err(|e| store_failed(&e))?
        .ok_or_else(expired)?;
    let sent = form.one("csrf").unwrap_or_default();
    if !bool::from(sent.as_bytes().ct_eq(session.csrf.as_bytes())) {
        return Err(message_page(
            403,
            "This form is not valid",
            "The form's security token does not match your session.",
        ));
    }
    Ok((cookie, session))
}

/// A posted form with its checked session ([`checked_session`]); a body that is not a form is
/// answered as such.
pub(super) async fn posted_form(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
    now: i64,
) -> Result<(Form, String, Session), Response> {
    let form = Form::parse(headers, body).ok_or_else(super::html::bad_form)?;
    let (cookie, session) = checked_session(state, headers, &form, now).await?;
    Ok((form, cookie, session))
}

/// Signs in with a sign-in form's `username`, `password` and (for a user with a second factor)
/// `code`: every sign-in form of the server has those fields.
pub(super) async fn sign_in_with(
    state: &AppState,
    form: &Form,
    ip: Option<std::net::IpAddr>,
    now: i64,
) -> Result<crate::oauth::authorize::SignedIn, crate::oauth::authorize::LoginRefused> {
    crate::oauth::authorize::login(
        &state.core,
        form.one("username").unwrap_or_default(),
        form.one("password").unwrap_or_default(),
        form.one("code"),
        ip,
        now,
    )
    .await
}

/// A form body: repeated fields kept in order.
pub(super) struct Form(Vec<(String, String)>);

impl Form {
    pub(super) fn parse(headers: &HeaderMap, body: &Bytes) -> Option<Form> {
        media_type(headers)
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            .then(|| Form(form_urlencoded::parse(body).into_owned().collect()))
    }
    pub(super) fn one(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    pub(super) fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
}
