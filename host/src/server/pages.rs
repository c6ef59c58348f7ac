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

use super::html::{
    bad_form, expired, html_escape, layout, login_refused, message_page, page_response, see_other,
};
use super::http::{Peer, no_store};
use super::session::{Form, browser_session, checked_session, set_cookie};
use super::state::AppState;
use crate::clock::now;
use crate::oauth::authorization_request::Validated;
use crate::oauth::authorize::{self, AuthorizeError, Offer};
use crate::oauth::browser::Session;
use crate::oauth::registration::{self, RegistrationError};

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
    let verified = c.status == crate::config::ClientStatus::Verified;
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
    if c.registration_type != crate::config::RegistrationType::Static
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
