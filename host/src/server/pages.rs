//! The browser side of the authorization endpoint (sign-in and consent pages, plain
//! server-rendered HTML with no external assets) and client registration (RFC 7591, RFC 7592).
//!
//! Forms are protected by the session's CSRF token and by the `Origin` header when the browser
//! sends one; the session cookie is `HttpOnly`, `SameSite=Lax`, and `Secure` when the issuer is
//! https. Pages may not be framed.

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use subtle::ConstantTimeEq as _;

use super::endpoints::{Peer, html_escape, no_store};
use super::{AppState, now};
use crate::oauth::authorize::{self, AuthorizeError, Offer, Session, Validated};
use crate::oauth::registration::{self, RegistrationError};

const COOKIE: &str = "tollgate_session";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/authorize", get(authorize_page))
        .route("/login", post(login))
        .route("/consent", get(consent_page).post(consent))
        .route("/register", post(register))
        .route(
            "/register/{client_id}",
            get(read_registration)
                .put(update_registration)
                .delete(delete_registration),
        )
}

// ------------------------------------------------------------------------------------------
// Pages

/// A whole page around `body`.
pub(super) fn layout(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Tollgate</title>
<style>
:root {{ color-scheme: light dark; --fg:#1b1f24; --muted:#57606a; --bg:#f6f8fa; --card:#fff; --line:#d0d7de; --accent:#0b5cad; --warn-bg:#fff8c5; --warn-fg:#4d3800; --bad:#b42318; }}
@media (prefers-color-scheme: dark) {{ :root {{ --fg:#e6edf3; --muted:#9da7b3; --bg:#0d1117; --card:#161b22; --line:#30363d; --accent:#4493f8; --warn-bg:#3b2e00; --warn-fg:#f2cc60; --bad:#ff7b72; }} }}
* {{ box-sizing: border-box; }}
body {{ margin:0; font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg); background:var(--bg); }}
header {{ padding:1rem 1.5rem; font-weight:600; letter-spacing:.02em; }}
header span {{ color:var(--accent); }}
main {{ max-width:30rem; margin:1rem auto 3rem; padding:2rem; background:var(--card); border:1px solid var(--line); border-radius:12px; }}
h1 {{ font-size:1.35rem; line-height:1.3; margin:0 0 1rem; }}
p {{ margin:.5rem 0; }}
.muted {{ color:var(--muted); font-size:.9rem; }}
.client {{ border:1px solid var(--line); border-radius:8px; padding:.75rem 1rem; margin:1rem 0; }}
.client dl {{ display:grid; grid-template-columns:auto 1fr; gap:.25rem 1rem; margin:.5rem 0 0; font-size:.9rem; }}
.client dt {{ color:var(--muted); }} .client dd {{ margin:0; overflow-wrap:anywhere; }}
.badge {{ display:inline-block; padding:0 .5rem; border-radius:999px; font-size:.8rem; border:1px solid var(--line); }}
.warn {{ background:var(--warn-bg); color:var(--warn-fg); border-radius:8px; padding:.5rem .75rem; font-size:.9rem; }}
.error {{ color:var(--bad); font-weight:600; }}
label {{ display:block; font-weight:600; margin:1rem 0 .25rem; }}
input[type=text], input[type=password] {{ width:100%; padding:.6rem .7rem; font:inherit; color:inherit; background:transparent; border:1px solid var(--line); border-radius:6px; }}
fieldset {{ border:1px solid var(--line); border-radius:8px; margin:1rem 0; padding:.5rem 1rem 1rem; }}
legend {{ font-weight:600; padding:0 .25rem; }}
.scope {{ display:flex; gap:.6rem; align-items:flex-start; margin:.6rem 0 0; font-weight:400; }}
.scope input {{ margin-top:.3rem; width:1.1rem; height:1.1rem; }}
code {{ font-family:ui-monospace,SFMono-Regular,Menlo,monospace; font-size:.9em; }}
.actions {{ display:flex; gap:.75rem; margin-top:1.5rem; flex-wrap:wrap; }}
button {{ font:inherit; font-weight:600; padding:.6rem 1.2rem; border-radius:6px; border:1px solid var(--line); background:transparent; color:inherit; cursor:pointer; }}
button.primary {{ background:var(--accent); border-color:var(--accent); color:#fff; }}
:focus-visible {{ outline:3px solid var(--accent); outline-offset:2px; }}
</style>
</head>
<body>
<header><span aria-hidden="true">◆</span> Tollgate</header>
<main>
{body}
</main>
</body>
</html>
"#,
        title = html_escape(title),
    )
}

/// Adds the headers every page carries: never cached, never framed, no scripts, no referrer
/// for other sites.
pub(super) fn page_response(status: StatusCode, html: String) -> Response {
    let mut response = no_store(
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
    );
    let h = response.headers_mut();
    // No `form-action`: Chromium applies it to the redirect after the consent form, which goes to
    // the client.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // `same-origin`, not `no-referrer`: with `no-referrer` Chromium sends `Origin: null` on the
    // page's own form posts, and the origin check below needs the real one. The client's
    // redirect URI (another origin) still gets no referrer.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

pub(super) fn message_page(status: u16, title: &str, message: &str) -> Response {
    let body = format!(
        "<h1>{}</h1>\n<p>{}</p>\n<p class=\"muted\">Go back to the application and start again.</p>",
        html_escape(title),
        html_escape(message)
    );
    page_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        layout(title, &body),
    )
}

fn expired() -> Response {
    message_page(
        400,
        "This sign-in has expired",
        "The request is no longer valid in this browser.",
    )
}

pub(super) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    no_store(response)
}

fn stopped(e: AuthorizeError) -> Response {
    match e {
        AuthorizeError::Page {
            status,
            title,
            message,
        } => message_page(status, title, &message),
        AuthorizeError::Redirect(url) => see_other(&url),
    }
}

/// Who the client is, as the user should see it before trusting it.
fn client_card(p: &Validated) -> String {
    let c = &p.client;
    let name = c.name.clone().unwrap_or_else(|| c.client_id.clone());
    let (kind, origin) = match c.registration_type.as_str() {
        "cimd" => (
            "Client ID metadata document",
            url::Url::parse(&c.client_id)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned)),
        ),
        "dcr" => ("Registered itself (dynamic registration)", None),
        _ => ("Configured by your administrator", None),
    };
    let verified = c.status == "verified";
    let mut out = format!(
        "<section class=\"client\" aria-label=\"The application\">\n<strong>{}</strong> <span class=\"badge\">{}</span>\n<dl>\n",
        html_escape(&name),
        if verified { "Verified" } else { "Unverified" },
    );
    if let Some(host) = origin {
        out.push_str(&format!(
            "<dt>Published by</dt><dd><code>{}</code></dd>\n",
            html_escape(&host)
        ));
    }
    out.push_str(&format!(
        "<dt>Client ID</dt><dd><code>{}</code></dd>\n<dt>Registration</dt><dd>{}</dd>\n<dt>Access to</dt><dd><code>{}</code></dd>\n",
        html_escape(&c.client_id),
        kind,
        html_escape(&p.resource.audience),
    ));
    // A self-registered client's name proves nothing: show where the answer goes.
    if c.registration_type != "static"
        && let Some(host) = url::Url::parse(&p.redirect_uri)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
    {
        out.push_str(&format!(
            "<dt>Returns you to</dt><dd><code>{}</code></dd>\n",
            html_escape(&host)
        ));
    }
    out.push_str("</dl>\n");
    if !verified {
        out.push_str("<p class=\"warn\">Your administrator has not verified this application. Allow it only if you trust where it comes from.</p>\n");
    }
    out.push_str("</section>\n");
    out
}

fn hidden(request: &str, csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"request\" value=\"{}\">\n<input type=\"hidden\" name=\"csrf\" value=\"{}\">\n",
        html_escape(request),
        html_escape(csrf)
    )
}

fn login_page(p: &Validated, request: &str, csrf: &str, error: Option<&str>) -> Response {
    let name = p.client.name.as_deref().unwrap_or(&p.client.client_id);
    let mut body = format!(
        "<h1>Sign in to continue to {}</h1>\n{}",
        html_escape(name),
        client_card(p)
    );
    let status = match error {
        Some(e) => {
            body.push_str(&format!(
                "<p class=\"error\" role=\"alert\" id=\"login-error\">{}</p>\n",
                html_escape(e)
            ));
            StatusCode::UNAUTHORIZED
        }
        None => StatusCode::OK,
    };
    let described = if error.is_some() {
        " aria-describedby=\"login-error\""
    } else {
        ""
    };
    body.push_str(&format!(
        "<form method=\"post\" action=\"/login\">\n{}\
         <label for=\"username\">User name</label>\n\
         <input type=\"text\" id=\"username\" name=\"username\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required autofocus{described}>\n\
         <label for=\"password\">Password</label>\n\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required{described}>\n\
         <div class=\"actions\"><button type=\"submit\" class=\"primary\">Sign in</button></div>\n</form>\n",
        hidden(request, csrf)
    ));
    page_response(status, layout("Sign in", &body))
}

fn consent_html(
    p: &Validated,
    request: &str,
    session: &Session,
    user: &str,
    offer: &Offer,
) -> Response {
    let name = p.client.name.as_deref().unwrap_or(&p.client.client_id);
    let mut body = format!(
        "<h1>Allow {} to act for you?</h1>\n<p class=\"muted\">Signed in as <strong>{}</strong></p>\n{}",
        html_escape(name),
        html_escape(user),
        client_card(p)
    );
    body.push_str(&format!(
        "<form method=\"post\" action=\"/consent\">\n{}<fieldset>\n<legend>Choose what to allow</legend>\n",
        hidden(request, &session.csrf)
    ));
    for (i, scope) in offer.offered.iter().enumerate() {
        body.push_str(&format!(
            "<label class=\"scope\" for=\"scope-{i}\"><input type=\"checkbox\" id=\"scope-{i}\" name=\"scope\" value=\"{s}\" checked> <code>{s}</code></label>\n",
            s = html_escape(scope)
        ));
    }
    body.push_str("</fieldset>\n");
    if !offer.unavailable.is_empty() {
        body.push_str(&format!(
            "<p class=\"muted\">Also asked for, but not available to you: {}</p>\n",
            offer
                .unavailable
                .iter()
                .map(|s| format!("<code>{}</code>", html_escape(s)))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    body.push_str(
        "<div class=\"actions\">\
         <button type=\"submit\" class=\"primary\" name=\"decision\" value=\"allow\">Allow selected</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></div>\n</form>\n",
    );
    page_response(StatusCode::OK, layout("Allow access", &body))
}

// ------------------------------------------------------------------------------------------
// Cookies and form checks

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

/// The browser's session (its cookie value and the session), while it lasts.
pub(super) fn browser_session(
    core: &crate::oauth::Core,
    headers: &HeaderMap,
    now: i64,
) -> Option<(String, Session)> {
    cookie_value(headers).and_then(|c| core.browser.session(&c, now).map(|s| (c, s)))
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
fn issuer_origin(issuer: &str) -> String {
    url::Url::parse(issuer)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// A posted form's session, checked: the cookie's session exists, the form's CSRF token is the
/// session's, and the `Origin` header (when sent) is this server.
#[expect(
    clippy::result_large_err,
    reason = "the error is the HTTP response itself, built only on the rejection path"
)]
pub(super) fn checked_session(
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

/// A form body: repeated fields kept in order.
pub(super) struct Form(Vec<(String, String)>);

impl Form {
    pub(super) fn parse(headers: &HeaderMap, body: &Bytes) -> Option<Form> {
        let mime = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::trim)
            .unwrap_or_default();
        mime.eq_ignore_ascii_case("application/x-www-form-urlencoded")
            .then(|| Form(form_urlencoded::parse(body).into_owned().collect()))
    }
    pub(super) fn one(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

pub(super) fn bad_form() -> Response {
    message_page(400, "This form is not valid", "The form could not be read.")
}

// ------------------------------------------------------------------------------------------
// Handlers

/// `GET /authorize`: checks the request, then asks the user to sign in, or (already signed in)
/// for consent.
async fn authorize_page(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let core = &state.core;
    let now = now();
    let ip = peer.map(|p| p.ip());
    let validated =
        match authorize::validate(core, query.as_deref().unwrap_or_default(), ip, now).await {
            Ok(v) => v,
            Err(e) => return stopped(e),
        };
    let existing = browser_session(core, &headers, now);
    let (cookie, session, fresh) = match existing {
        Some((c, s)) => (c, s, false),
        None => {
            let (c, s) = core.browser.start(None, now);
            (c, s, true)
        }
    };
    let id = core.browser.begin(validated, &cookie, now);
    let Some(pending) = core.browser.pending(&id, &cookie, now) else {
        return expired();
    };
    let mut response = match &session.sub {
        Some(sub) => show_consent(
            &state,
            &id,
            &session,
            sub,
            &pending,
            peer.map(|p| p.ip()),
            now,
        ),
        None => login_page(&pending, &id, &session.csrf, None),
    };
    if fresh {
        set_cookie(&state, &mut response, &cookie, session.expires_at - now);
    }
    response
}

fn show_consent(
    state: &AppState,
    id: &str,
    session: &Session,
    sub: &str,
    pending: &Validated,
    ip: Option<IpAddr>,
    now: i64,
) -> Response {
    match authorize::offer(&state.core, pending, sub, ip, now) {
        Ok(offer) => {
            let directory = state.core.directory();
            let user = directory
                .users
                .get(sub)
                .and_then(|u| u.username.clone())
                .unwrap_or_else(|| sub.to_owned());
            consent_html(pending, id, session, &user, &offer)
        }
        Err(e) => {
            state.core.browser.finish(id);
            stopped(e)
        }
    }
}

/// `POST /login`: signs the user in and goes on to the consent page.
/// The message a refused sign-in shows.
pub(super) fn login_refused(refused: authorize::LoginRefused) -> String {
    match refused {
        authorize::LoginRefused::Wrong => "The user name or password is not correct.".to_owned(),
        authorize::LoginRefused::Throttled(seconds) => {
            format!("Too many failed sign-ins from this address. Try again in {seconds} seconds.")
        }
    }
}

async fn login(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let core = &state.core;
    let now = now();
    let Some(form) = Form::parse(&headers, &body) else {
        return bad_form();
    };
    let (cookie, session) = match checked_session(&state, &headers, &form, now) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let request = form.one("request").unwrap_or_default();
    let Some(pending) = core.browser.pending(request, &cookie, now) else {
        return expired();
    };
    let username = form.one("username").unwrap_or_default();
    let password = form.one("password").unwrap_or_default();
    let sub = match authorize::login(core, username, password, peer.map(|p| p.ip()), now).await {
        Ok(sub) => sub,
        Err(refused) => {
            return login_page(
                &pending,
                request,
                &session.csrf,
                Some(&login_refused(refused)),
            );
        }
    };
    // A new session id for the signed-in user (no fixation), with the request moved over.
    core.browser.end(&cookie);
    let (new_cookie, new_session) = core.browser.start(Some(sub), now);
    core.browser.rebind(request, &new_cookie);
    let mut response = see_other(&format!(
        "/consent?request={}",
        form_urlencoded::byte_serialize(request.as_bytes()).collect::<String>()
    ));
    set_cookie(
        &state,
        &mut response,
        &new_cookie,
        new_session.expires_at - now,
    );
    response
}

/// `GET /consent?request=…`: the consent page of a signed-in user.
async fn consent_page(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let core = &state.core;
    let now = now();
    let request = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "request")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let Some((cookie, session)) = browser_session(core, &headers, now) else {
        return expired();
    };
    let (Some(sub), Some(pending)) = (
        session.sub.clone(),
        core.browser.pending(&request, &cookie, now),
    ) else {
        return expired();
    };
    show_consent(
        &state,
        &request,
        &session,
        &sub,
        &pending,
        peer.map(|p| p.ip()),
        now,
    )
}

/// `POST /consent`: the user's answer; the browser goes back to the client.
async fn consent(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let core = &state.core;
    let now = now();
    let Some(form) = Form::parse(&headers, &body) else {
        return bad_form();
    };
    let (cookie, session) = match checked_session(&state, &headers, &form, now) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let request = form.one("request").unwrap_or_default().to_owned();
    let (Some(sub), Some(pending)) = (
        session.sub.clone(),
        core.browser.pending(&request, &cookie, now),
    ) else {
        return expired();
    };
    let allow = match form.one("decision") {
        Some("allow") => true,
        Some("deny") => false,
        _ => return bad_form(),
    };
    core.browser.finish(&request);
    let answer = authorize::consent(
        core,
        &pending,
        &sub,
        form.all("scope"),
        allow,
        peer.map(|p| p.ip()),
        now,
    )
    .await;
    match answer {
        Ok(url) => see_other(&url),
        Err(e) => stopped(e),
    }
}

// ------------------------------------------------------------------------------------------
// Registration

fn registration_error(e: &RegistrationError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (
        status,
        Json(json!({ "error": e.error, "error_description": e.description })),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
    }
    no_store(response)
}

fn json_body(headers: &HeaderMap, body: &Bytes) -> Result<Value, RegistrationError> {
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or_default();
    if !mime.eq_ignore_ascii_case("application/json") {
        return Err(RegistrationError {
            status: 400,
            error: "invalid_client_metadata",
            description: "the body must be application/json".into(),
        });
    }
    serde_json::from_slice(body).map_err(|e| RegistrationError {
        status: 400,
        error: "invalid_client_metadata",
        description: format!("the body is not JSON: {e}"),
    })
}

fn registration_off() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "dynamic client registration is not enabled on this server" })),
    )
        .into_response()
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_owned())
}

/// A registration answer: the client's metadata with `status`, never cached; or the error.
fn registration_answer(status: StatusCode, result: Result<Value, RegistrationError>) -> Response {
    match result {
        Ok(answer) => no_store((status, Json(answer)).into_response()),
        Err(e) => registration_error(&e),
    }
}

/// `POST /register` (RFC 7591).
async fn register(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !state.core.registration.dynamic {
        return registration_off();
    }
    let body = match json_body(&headers, &body) {
        Ok(body) => body,
        Err(e) => return registration_error(&e),
    };
    let bearer = bearer(&headers);
    let _guard = state.admin_lock.lock().await;
    registration_answer(
        StatusCode::CREATED,
        registration::register(
            &state.core,
            &body,
            bearer.as_deref(),
            peer.map(|p| p.ip()),
            now(),
        )
        .await,
    )
}

/// `GET /register/{client_id}` (RFC 7592 §2.1).
async fn read_registration(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Response {
    if !state.core.registration.dynamic {
        return registration_off();
    }
    registration_answer(
        StatusCode::OK,
        registration::read(&state.core, &client_id, bearer(&headers).as_deref()).await,
    )
}

/// `PUT /register/{client_id}` (RFC 7592 §2.2).
async fn update_registration(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    body: Bytes,
) -> Response {
    if !state.core.registration.dynamic {
        return registration_off();
    }
    let body = match json_body(&headers, &body) {
        Ok(body) => body,
        Err(e) => return registration_error(&e),
    };
    let _guard = state.admin_lock.lock().await;
    registration_answer(
        StatusCode::OK,
        registration::update(&state.core, &client_id, bearer(&headers).as_deref(), &body).await,
    )
}

/// `DELETE /register/{client_id}` (RFC 7592 §2.3).
async fn delete_registration(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Response {
    if !state.core.registration.dynamic {
        return registration_off();
    }
    let _guard = state.admin_lock.lock().await;
    match registration::delete(&state.core, &client_id, bearer(&headers).as_deref()).await {
        Ok(()) => no_store(StatusCode::NO_CONTENT.into_response()),
        Err(e) => registration_error(&e),
    }
}
